/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
/*
 * The io_uring ops uring-sync uses, each behind one function that takes a
 * continuation.  Every op goes through safer-ring's typed API with a
 * callback.  Where the worker's ring cannot run the opcode (ftruncate
 * before 6.9, the xattr ops before 5.19, SR_DISABLE, or no io_uring), the
 * runtime's fallback makes the system call: on this thread, as the ring
 * is SR_RING_FB_INLINE, for the calls that do not wait for another party.
 * A failed submit, and the l*xattr calls io_uring has no op for, complete
 * from the worker's deferred list, so callers never run re-entered.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/openat2.h>

#include "ops.h"
#include <sys/xattr.h>

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

static int sys_res(long ret)
{
	return ret < 0 ? -errno : (int)ret;
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
	struct sr_statx_op op = sr_statx(dfd, path, flags, US_STATX_MASK);
	submitted(w, o, sr_submit_cb(w->ring, &op, cb_statx, o, NULL));
}

void us_op_openat(struct us_worker *w, struct us_opc *o, int dfd, const char *path, int flags, mode_t mode)
{
	o->w = w;
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
	if (sr_submit_cb(w->ring, &op, cb_close_free, w, NULL) < 0)
		close(fd);
	else
		w->ops++;
}

void us_op_read(struct us_worker *w, struct us_opc *o, int fd, struct sr_buf *b, uint64_t off)
{
	o->w = w;
	o->buf = b;
	struct sr_read_op op = sr_read(fd, b, off);
	submitted(w, o, sr_submit_cb(w->ring, &op, cb_read, o, NULL));
}

void us_op_write(struct us_worker *w, struct us_opc *o, int fd, struct sr_buf *b, uint64_t off)
{
	o->w = w;
	o->buf = b;
	struct sr_write_op op = sr_write(fd, b, off);
	submitted(w, o, sr_submit_cb(w->ring, &op, cb_write, o, NULL));
}

void us_op_mkdirat(struct us_worker *w, struct us_opc *o, int dfd, const char *path, mode_t mode)
{
	o->w = w;
	struct sr_mkdirat_op op = sr_mkdirat(dfd, path, mode);
	submitted(w, o, sr_submit_cb(w->ring, &op, cb_mkdirat, o, NULL));
}

void us_op_symlinkat(struct us_worker *w, struct us_opc *o, const char *target, int dfd, const char *path)
{
	o->w = w;
	struct sr_symlinkat_op op = sr_symlinkat(target, dfd, path);
	submitted(w, o, sr_submit_cb(w->ring, &op, cb_symlinkat, o, NULL));
}

void us_op_linkat(struct us_worker *w, struct us_opc *o, int ofd, const char *oldp, int nfd, const char *newp,
		  int flags)
{
	o->w = w;
	struct sr_linkat_op op = sr_linkat(ofd, oldp, nfd, newp);
	sr_linkat_set_flags(&op, flags);
	submitted(w, o, sr_submit_cb(w->ring, &op, cb_linkat, o, NULL));
}

void us_op_renameat(struct us_worker *w, struct us_opc *o, int ofd, const char *oldp, int nfd, const char *newp)
{
	o->w = w;
	struct sr_renameat_op op = sr_renameat(ofd, oldp, nfd, newp);
	submitted(w, o, sr_submit_cb(w->ring, &op, cb_renameat, o, NULL));
}

void us_op_unlinkat(struct us_worker *w, struct us_opc *o, int dfd, const char *path, int flags)
{
	o->w = w;
	struct sr_unlinkat_op op = sr_unlinkat(dfd, path);
	sr_unlinkat_set_flags(&op, flags);
	submitted(w, o, sr_submit_cb(w->ring, &op, cb_unlinkat, o, NULL));
}

void us_op_ftruncate(struct us_worker *w, struct us_opc *o, int fd, uint64_t len)
{
	o->w = w;
	struct sr_ftruncate_op op = sr_ftruncate(fd, (loff_t)len);
	submitted(w, o, sr_submit_cb(w->ring, &op, cb_ftruncate, o, NULL));
}

void us_op_fallocate(struct us_worker *w, struct us_opc *o, int fd, uint64_t len)
{
	o->w = w;
	struct sr_fallocate_op op = sr_fallocate(fd, 0, 0, len);
	submitted(w, o, sr_submit_cb(w->ring, &op, cb_fallocate, o, NULL));
}

/* fdatasync. */
void us_op_fsync(struct us_worker *w, struct us_opc *o, int fd)
{
	struct sr_fsync_op op = sr_fsync(fd);

	o->w = w;
	sr_fsync_set_fsync_flags(&op, IORING_FSYNC_DATASYNC);
	submitted(w, o, sr_submit_cb(w->ring, &op, cb_fsync, o, NULL));
}

void us_op_fadvise(struct us_worker *w, struct us_opc *o, int fd, int advice)
{
	o->w = w;
	struct sr_fadvise_op op = sr_fadvise(fd, 0, 0, advice);
	submitted(w, o, sr_submit_cb(w->ring, &op, cb_fadvise, o, NULL));
}

void us_op_splice(struct us_worker *w, struct us_opc *o, int fd_in, int64_t off_in, int fd_out, int64_t off_out,
		  unsigned len)
{
	o->w = w;
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
	if (ref->fd >= 0) {
		struct sr_fgetxattr_op op = sr_fgetxattr(ref->fd, name, b);
		submitted(w, o, sr_submit_cb(w->ring, &op, cb_fgetxattr, o, NULL));
		return;
	}
	ret = us_proc_path(path, sizeof(path), ref->dirfd, ref->name);
	if (ret < 0) {
		us_defer(w, o, ret);
		return;
	}
	if (ref->symlink) {
		us_defer(w, o, sys_res(lgetxattr(path, name, sr_buf_data(b), sr_buf_cap(b))));
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
	if (ref->fd >= 0) {
		struct sr_fsetxattr_op op = sr_fsetxattr(ref->fd, name, value, 0, len);
		submitted(w, o, sr_submit_cb(w->ring, &op, cb_fsetxattr, o, NULL));
		return;
	}
	ret = us_proc_path(path, sizeof(path), ref->dirfd, ref->name);
	if (ret < 0) {
		us_defer(w, o, ret);
		return;
	}
	if (ref->symlink) {
		us_defer(w, o, sys_res(lsetxattr(path, name, value, len, 0)));
		return;
	}
	struct sr_setxattr_op op = sr_setxattr(name, value, path, 0, len);
	submitted(w, o, sr_submit_cb(w->ring, &op, cb_setxattr, o, NULL));
}
