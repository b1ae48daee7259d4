/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
/*
 * The io_uring ops uring-sync uses, each behind one function that takes a
 * continuation.  Every op goes through safer-ring's typed API with a
 * callback; when the worker's ring cannot run the opcode (ftruncate
 * before 6.9, the xattr ops before 5.19, or SR_DISABLE), the request goes
 * to sysops.c instead and the continuation runs from the worker's
 * deferred list, so callers never see the difference and never run
 * re-entered.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/openat2.h>

#include "ops.h"
#include "sysops.h"

void us_defer(struct us_worker *w, struct us_opc *o, int res)
{
	o->w = w;
	o->dres = res;
	o->dnext = NULL;
	if (w->dtail)
		w->dtail->dnext = o;
	else
		w->dhead = o;
	w->dtail = o;
}

void us_run_deferred(struct us_worker *w)
{
	while (w->dhead) {
		struct us_opc *o = w->dhead;

		w->dhead = o->dnext;
		if (!w->dhead)
			w->dtail = NULL;
		o->fn(o, o->dres);
	}
}

/* Which ops run natively on this worker's ring: the rest go to sysops.c. */
void us_ops_init(struct us_worker *w)
{
	for (unsigned op = 0; op < SR_OP__COUNT; op++)
		w->native[op] = sr_ring_native(w->ring, op);
}

/* The ring lacks the op: the system call, its result deferred. */
static void sys(struct us_worker *w, struct us_opc *o, const struct us_sysreq *rq)
{
	us_defer(w, o, us_sys_run(rq));
}

/* A submit that failed (no memory, an op refused): the op completes with that error. */
static void submitted(struct us_worker *w, struct us_opc *o, int ret)
{
	if (ret < 0)
		us_defer(w, o, ret);
	else
		w->ops++;
}

/* Callbacks: count the op out and hand the result on. */
#define US_CB(opname)									\
static void cb_##opname(struct sr_ring *r, struct sr_##opname##_completed *c, void *arg)	\
{											\
	struct us_opc *o = arg;								\
	(void)r;									\
	o->w->ops--;									\
	o->fn(o, c->res);								\
}
US_CB(openat)
US_CB(openat2)
US_CB(mkdirat)
US_CB(symlinkat)
US_CB(linkat)
US_CB(renameat)
US_CB(unlinkat)
US_CB(ftruncate)
US_CB(fallocate)
US_CB(fsync)
US_CB(fadvise)
US_CB(splice)
US_CB(fsetxattr)
US_CB(setxattr)
#undef US_CB

static void cb_statx(struct sr_ring *r, struct sr_statx_completed *c, void *arg)
{
	struct us_opc *o = arg;

	(void)r;
	o->w->ops--;
	if (c->res >= 0)
		o->stx = c->statxbuf;
	o->fn(o, c->res);
}

#define US_CB_BUF(opname, field)							\
static void cb_##opname(struct sr_ring *r, struct sr_##opname##_completed *c, void *arg)	\
{											\
	struct us_opc *o = arg;								\
	(void)r;									\
	o->w->ops--;									\
	o->buf = c->field;								\
	o->fn(o, c->res);								\
}
US_CB_BUF(read, buf)
US_CB_BUF(write, buf)
US_CB_BUF(fgetxattr, value)
US_CB_BUF(getxattr, value)
#undef US_CB_BUF

#define US_STATX_MASK (STATX_TYPE | STATX_MODE | STATX_NLINK | STATX_UID | STATX_GID | STATX_ATIME | \
		       STATX_MTIME | STATX_INO | STATX_SIZE | STATX_BLOCKS)

void us_op_statx(struct us_worker *w, struct us_opc *o, int dfd, const char *path, int flags)
{
	o->w = w;
	if (!w->native[SR_OP_STATX]) {
		sys(w, o, &(struct us_sysreq){ .op = SR_OP_STATX, .dfd = dfd, .path = path, .flags = flags,
					       .mask = US_STATX_MASK, .stx = &o->stx });
		return;
	}
	struct sr_statx_op op = sr_statx(dfd, path, flags, US_STATX_MASK);
	submitted(w, o, sr_submit_cb(w->ring, &op, cb_statx, o, NULL));
}

void us_op_openat(struct us_worker *w, struct us_opc *o, int dfd, const char *path, int flags, mode_t mode)
{
	o->w = w;
	if (!w->native[SR_OP_OPENAT]) {
		sys(w, o, &(struct us_sysreq){ .op = SR_OP_OPENAT, .dfd = dfd, .path = path,
					       .flags = flags | O_CLOEXEC, .mode = mode });
		return;
	}
	struct sr_openat_op op = sr_openat(dfd, path, flags | O_CLOEXEC, mode);
	submitted(w, o, sr_submit_cb(w->ring, &op, cb_openat, o, NULL));
}

/*
 * Directories are opened below a root and never through a symlink: a
 * directory swapped for a link during the copy cannot lead outside.
 */
void us_op_opendir(struct us_worker *w, struct us_opc *o, int dfd, const char *path)
{
	struct open_how how = {
		.flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};

	o->w = w;
	if (!w->native[SR_OP_OPENAT2]) {
		sys(w, o, &(struct us_sysreq){ .op = SR_OP_OPENAT2, .dfd = dfd, .path = path, .how = &how });
		return;
	}
	struct sr_openat2_op op = sr_openat2(dfd, path, &how);
	submitted(w, o, sr_submit_cb(w->ring, &op, cb_openat2, o, NULL));
}

/* Fire and forget: nothing waits for this close, so it needs no job. */
static void cb_close_free(struct sr_ring *r, struct sr_close_completed *c, void *arg)
{
	struct us_worker *w = arg;

	(void)r;
	(void)c;
	w->ops--;
}

void us_close_async(struct us_worker *w, int fd)
{
	struct sr_close_op op = sr_close(fd);

	if (fd < 0)
		return;
	if (!w->native[SR_OP_CLOSE] || sr_submit_cb(w->ring, &op, cb_close_free, w, NULL) < 0)
		us_sys_run(&(struct us_sysreq){ .op = SR_OP_CLOSE, .fd = fd });
	else
		w->ops++;
}

void us_op_read(struct us_worker *w, struct us_opc *o, int fd, struct sr_buf *b, uint64_t off)
{
	o->w = w;
	o->buf = b;
	if (!w->native[SR_OP_READ]) {
		sys(w, o, &(struct us_sysreq){ .op = SR_OP_READ, .fd = fd, .buf = sr_buf_data(b),
					       .len = sr_buf_cap(b), .off = (int64_t)off });
		return;
	}
	struct sr_read_op op = sr_read(fd, b, off);
	submitted(w, o, sr_submit_cb(w->ring, &op, cb_read, o, NULL));
}

void us_op_write(struct us_worker *w, struct us_opc *o, int fd, struct sr_buf *b, uint64_t off)
{
	o->w = w;
	o->buf = b;
	if (!w->native[SR_OP_WRITE]) {
		sys(w, o, &(struct us_sysreq){ .op = SR_OP_WRITE, .fd = fd, .cbuf = sr_buf_data(b),
					       .len = sr_buf_len(b), .off = (int64_t)off });
		return;
	}
	struct sr_write_op op = sr_write(fd, b, off);
	submitted(w, o, sr_submit_cb(w->ring, &op, cb_write, o, NULL));
}

void us_op_mkdirat(struct us_worker *w, struct us_opc *o, int dfd, const char *path, mode_t mode)
{
	o->w = w;
	if (!w->native[SR_OP_MKDIRAT]) {
		sys(w, o, &(struct us_sysreq){ .op = SR_OP_MKDIRAT, .dfd = dfd, .path = path, .mode = mode });
		return;
	}
	struct sr_mkdirat_op op = sr_mkdirat(dfd, path, mode);
	submitted(w, o, sr_submit_cb(w->ring, &op, cb_mkdirat, o, NULL));
}

void us_op_symlinkat(struct us_worker *w, struct us_opc *o, const char *target, int dfd, const char *path)
{
	o->w = w;
	if (!w->native[SR_OP_SYMLINKAT]) {
		sys(w, o, &(struct us_sysreq){ .op = SR_OP_SYMLINKAT, .dfd = dfd, .path = path, .path2 = target });
		return;
	}
	struct sr_symlinkat_op op = sr_symlinkat(target, dfd, path);
	submitted(w, o, sr_submit_cb(w->ring, &op, cb_symlinkat, o, NULL));
}

void us_op_linkat(struct us_worker *w, struct us_opc *o, int ofd, const char *oldp, int nfd, const char *newp,
		  int flags)
{
	o->w = w;
	if (!w->native[SR_OP_LINKAT]) {
		sys(w, o, &(struct us_sysreq){ .op = SR_OP_LINKAT, .dfd = ofd, .path = oldp, .dfd2 = nfd,
					       .path2 = newp, .flags = flags });
		return;
	}
	struct sr_linkat_op op = sr_linkat(ofd, oldp, nfd, newp);
	sr_linkat_set_flags(&op, flags);
	submitted(w, o, sr_submit_cb(w->ring, &op, cb_linkat, o, NULL));
}

void us_op_renameat(struct us_worker *w, struct us_opc *o, int ofd, const char *oldp, int nfd, const char *newp)
{
	o->w = w;
	if (!w->native[SR_OP_RENAMEAT]) {
		sys(w, o, &(struct us_sysreq){ .op = SR_OP_RENAMEAT, .dfd = ofd, .path = oldp, .dfd2 = nfd,
					       .path2 = newp });
		return;
	}
	struct sr_renameat_op op = sr_renameat(ofd, oldp, nfd, newp);
	submitted(w, o, sr_submit_cb(w->ring, &op, cb_renameat, o, NULL));
}

void us_op_unlinkat(struct us_worker *w, struct us_opc *o, int dfd, const char *path, int flags)
{
	o->w = w;
	if (!w->native[SR_OP_UNLINKAT]) {
		sys(w, o, &(struct us_sysreq){ .op = SR_OP_UNLINKAT, .dfd = dfd, .path = path, .flags = flags });
		return;
	}
	struct sr_unlinkat_op op = sr_unlinkat(dfd, path);
	sr_unlinkat_set_flags(&op, flags);
	submitted(w, o, sr_submit_cb(w->ring, &op, cb_unlinkat, o, NULL));
}

void us_op_ftruncate(struct us_worker *w, struct us_opc *o, int fd, uint64_t len)
{
	o->w = w;
	if (!w->native[SR_OP_FTRUNCATE]) {
		sys(w, o, &(struct us_sysreq){ .op = SR_OP_FTRUNCATE, .fd = fd, .len = len });
		return;
	}
	struct sr_ftruncate_op op = sr_ftruncate(fd, (loff_t)len);
	submitted(w, o, sr_submit_cb(w->ring, &op, cb_ftruncate, o, NULL));
}

void us_op_fallocate(struct us_worker *w, struct us_opc *o, int fd, uint64_t len)
{
	o->w = w;
	if (!w->native[SR_OP_FALLOCATE]) {
		sys(w, o, &(struct us_sysreq){ .op = SR_OP_FALLOCATE, .fd = fd, .len = len });
		return;
	}
	struct sr_fallocate_op op = sr_fallocate(fd, 0, 0, len);
	submitted(w, o, sr_submit_cb(w->ring, &op, cb_fallocate, o, NULL));
}

/* fdatasync. */
void us_op_fsync(struct us_worker *w, struct us_opc *o, int fd)
{
	struct sr_fsync_op op = sr_fsync(fd);

	o->w = w;
	if (!w->native[SR_OP_FSYNC]) {
		sys(w, o, &(struct us_sysreq){ .op = SR_OP_FSYNC, .fd = fd });
		return;
	}
	sr_fsync_set_fsync_flags(&op, IORING_FSYNC_DATASYNC);
	submitted(w, o, sr_submit_cb(w->ring, &op, cb_fsync, o, NULL));
}

void us_op_fadvise(struct us_worker *w, struct us_opc *o, int fd, int advice)
{
	o->w = w;
	if (!w->native[SR_OP_FADVISE]) {
		sys(w, o, &(struct us_sysreq){ .op = SR_OP_FADVISE, .fd = fd, .advice = advice });
		return;
	}
	struct sr_fadvise_op op = sr_fadvise(fd, 0, 0, advice);
	submitted(w, o, sr_submit_cb(w->ring, &op, cb_fadvise, o, NULL));
}

void us_op_splice(struct us_worker *w, struct us_opc *o, int fd_in, int64_t off_in, int fd_out, int64_t off_out,
		  unsigned len)
{
	o->w = w;
	if (!w->native[SR_OP_SPLICE]) {
		sys(w, o, &(struct us_sysreq){ .op = SR_OP_SPLICE, .fd = fd_in, .off = off_in, .fd_out = fd_out,
					       .off_out = off_out, .len = len });
		return;
	}
	struct sr_splice_op op = sr_splice(fd_in, off_in, fd_out, off_out, len);
	submitted(w, o, sr_submit_cb(w->ring, &op, cb_splice, o, NULL));
}

/*
 * An entry named in a directory fd, as a path the path-based calls
 * accept: the kernel resolves /proc/self/fd/N to the directory itself.
 */
int us_proc_path(char *buf, size_t len, int dirfd, const char *name)
{
	int n = snprintf(buf, len, "/proc/self/fd/%d/%s", dirfd, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/*
 * Extended attributes: fgetxattr/fsetxattr on an open file, getxattr/
 * setxattr by path for entries we have no fd for; a symlink's by the
 * l*xattr system calls, since io_uring's path xattr ops follow symlinks.
 */
void us_op_getxattr(struct us_worker *w, struct us_opc *o, const struct us_ref *ref, const char *name,
		    struct sr_buf *b)
{
	char path[4200];
	int ret;

	o->w = w;
	o->buf = b;
	if (ref->fd >= 0 && w->native[SR_OP_FGETXATTR]) {
		struct sr_fgetxattr_op op = sr_fgetxattr(ref->fd, name, b);
		submitted(w, o, sr_submit_cb(w->ring, &op, cb_fgetxattr, o, NULL));
		return;
	}
	if (ref->fd >= 0) {
		sys(w, o, &(struct us_sysreq){ .op = SR_OP_FGETXATTR, .fd = ref->fd, .name = name,
					       .buf = sr_buf_data(b), .len = sr_buf_cap(b) });
		return;
	}
	ret = us_proc_path(path, sizeof(path), ref->dirfd, ref->name);
	if (ret < 0) {
		us_defer(w, o, ret);
		return;
	}
	if (ref->symlink || !w->native[SR_OP_GETXATTR]) {
		sys(w, o, &(struct us_sysreq){ .op = SR_OP_GETXATTR, .path = path, .name = name,
					       .buf = sr_buf_data(b), .len = sr_buf_cap(b) });
		return;
	}
	struct sr_getxattr_op op = sr_getxattr(name, b, path);
	submitted(w, o, sr_submit_cb(w->ring, &op, cb_getxattr, o, NULL));
}

void us_op_setxattr(struct us_worker *w, struct us_opc *o, const struct us_ref *ref, const char *name,
		    const void *value, unsigned len)
{
	char path[4200];
	int ret;

	o->w = w;
	if (ref->fd >= 0 && w->native[SR_OP_FSETXATTR]) {
		struct sr_fsetxattr_op op = sr_fsetxattr(ref->fd, name, value, 0, len);
		submitted(w, o, sr_submit_cb(w->ring, &op, cb_fsetxattr, o, NULL));
		return;
	}
	if (ref->fd >= 0) {
		sys(w, o, &(struct us_sysreq){ .op = SR_OP_FSETXATTR, .fd = ref->fd, .name = name, .cbuf = value,
					       .len = len });
		return;
	}
	ret = us_proc_path(path, sizeof(path), ref->dirfd, ref->name);
	if (ret < 0) {
		us_defer(w, o, ret);
		return;
	}
	if (ref->symlink || !w->native[SR_OP_SETXATTR]) {
		sys(w, o, &(struct us_sysreq){ .op = SR_OP_SETXATTR, .path = path, .name = name, .cbuf = value,
					       .len = len });
		return;
	}
	struct sr_setxattr_op op = sr_setxattr(name, value, path, 0, len);
	submitted(w, o, sr_submit_cb(w->ring, &op, cb_setxattr, o, NULL));
}
