/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
/*
 * The system calls behind ops the ring cannot run (sysops.h).  Results
 * are those the io_uring op would give: the count or fd, or -errno.
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <sys/xattr.h>

#include "sysops.h"

static int res(long ret)
{
	return ret < 0 ? -errno : (int)ret;
}

int us_sys_run(const struct us_sysreq *q)
{
	loff_t oi = q->off, oo = q->off_out;

	switch (q->op) {
	case SR_OP_STATX:
		return res(statx(q->dfd, q->path, q->flags, q->mask, q->stx));
	case SR_OP_OPENAT:
		return res(openat(q->dfd, q->path, q->flags, q->mode));
	case SR_OP_OPENAT2:
		return res(syscall(SYS_openat2, q->dfd, q->path, q->how, sizeof(struct open_how)));
	case SR_OP_CLOSE:
		return res(close(q->fd));
	case SR_OP_READ:
		return res(pread(q->fd, q->buf, q->len, (off_t)q->off));
	case SR_OP_WRITE:
		return res(pwrite(q->fd, q->cbuf, q->len, (off_t)q->off));
	case SR_OP_MKDIRAT:
		return res(mkdirat(q->dfd, q->path, q->mode));
	case SR_OP_SYMLINKAT:
		return res(symlinkat(q->path2, q->dfd, q->path));
	case SR_OP_LINKAT:
		return res(linkat(q->dfd, q->path, q->dfd2, q->path2, q->flags));
	case SR_OP_RENAMEAT:
		return res(renameat(q->dfd, q->path, q->dfd2, q->path2));
	case SR_OP_UNLINKAT:
		return res(unlinkat(q->dfd, q->path, q->flags));
	case SR_OP_FTRUNCATE:
		return res(ftruncate(q->fd, (off_t)q->len));
	case SR_OP_FALLOCATE:
		return res(fallocate(q->fd, 0, 0, (off_t)q->len));
	case SR_OP_FSYNC:
		return res(fdatasync(q->fd));
	case SR_OP_FADVISE:
		return -posix_fadvise(q->fd, 0, 0, q->advice);
	case SR_OP_SPLICE:
		return res(splice(q->fd, q->off < 0 ? NULL : &oi, q->fd_out, q->off_out < 0 ? NULL : &oo,
				  q->len, 0));
	case SR_OP_FGETXATTR:
		return res(fgetxattr(q->fd, q->name, q->buf, q->len));
	case SR_OP_FSETXATTR:
		return res(fsetxattr(q->fd, q->name, q->cbuf, q->len, 0));
	/* By path: the l* calls, right for symlinks too (io_uring's path ops follow them). */
	case SR_OP_GETXATTR:
		return res(lgetxattr(q->path, q->name, q->buf, q->len));
	case SR_OP_SETXATTR:
		return res(lsetxattr(q->path, q->name, q->cbuf, q->len, 0));
	default:
		return -ENOSYS;
	}
}
