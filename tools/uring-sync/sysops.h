/* SPDX-License-Identifier: MIT */
/*
 * uring-sync: the system-call stand-in for ops a worker's ring cannot run
 * (the kernel lacks the opcode, or SR_DISABLE names it), and for the one
 * variant io_uring has no op for (xattrs of a symlink by path).
 *
 * The whole interface is one request in, one result out (-errno on
 * failure); ops.c defers the result to the op's continuation, so callers
 * never run re-entered.  It copies what safer-ring's spec-driven fallback
 * does on its worker threads; it goes away when the runtime can run those
 * routes inline on the submitting thread (see README, "io_uring OR
 * SYSCALL").
 */
#ifndef URING_SYNC_SYSOPS_H
#define URING_SYNC_SYSOPS_H

#include "ctx.h"

struct us_sysreq {
	unsigned op;		/* SR_OP_* */
	int fd, dfd, dfd2;	/* fd: the file (fd_in for splice); dfd, dfd2: directories */
	int fd_out;
	const char *path, *path2;
	const char *name;	/* xattr name */
	int flags;
	mode_t mode;
	int64_t off, off_out;	/* -1: none (splice) */
	uint64_t len;
	void *buf;
	const void *cbuf;
	struct statx *stx;
	unsigned mask;		/* statx */
	int advice;
	const void *how;	/* openat2 */
};

int us_sys_run(const struct us_sysreq *rq);

#endif
