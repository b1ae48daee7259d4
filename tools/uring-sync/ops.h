/* SPDX-License-Identifier: MIT */
/*
 * uring-sync: a worker's state, and the io_uring ops it runs, each behind
 * one function that takes a continuation.
 */
#ifndef URING_SYNC_OPS_H
#define URING_SYNC_OPS_H

#include "ctx.h"

#define US_NCLASS	8	/* buffer size classes: 4 KiB << 0..7 (4 KiB..512 KiB) */

struct us_opc;
struct us_job;
struct us_chunk;
struct us_pipe;

/*
 * A worker: one thread and its ring.  Everything here is touched by that
 * thread only, except what is atomic (budgets other workers give back).
 */
struct us_worker {
	struct us_ctx *c;
	unsigned id;
	pthread_t thr;
	struct sr_ring *ring;
	unsigned dump_seen;	/* the dump_gen last dumped (dump.c) */
	unsigned ops;		/* ops in flight on this ring */
	atomic_uint njobs;	/* jobs this worker started and not finished */
	unsigned max_jobs;
	atomic_int fds;		/* free fd budget */
	struct us_opc *dhead, *dtail;	/* deferred completions */
	/* Buffers (mem.c): per-class free lists, counted against mem_budget. */
	size_t mem_used, mem_budget;
	void *free_mem[US_NCLASS];
	struct us_chunk *free_chunks;
	struct us_pipe *pipes;	/* idle pipes */
	unsigned npipes, max_pipes;
	struct us_range *active;	/* ranges this worker pumps (copy.c) */
	unsigned nactive;
	struct us_job *fdwait;	/* jobs waiting for fd budget (job.c) */
	struct us_job *fdwait_tail;
	bool did_work;
};

/*
 * One io_uring op of a job: its continuation and the results that come
 * back in the completion.  An op whose opcode the kernel lacks runs as a
 * plain syscall and completes through the same continuation, from the
 * worker's deferred list.
 */
typedef void (*us_cont)(struct us_opc *o, int res);

struct us_opc {
	us_cont fn;
	struct us_worker *w;
	void *owner;		/* the job, range or chunk */
	struct statx stx;	/* statx result */
	struct sr_buf *buf;	/* a buffer given back at completion */
	int dres;		/* deferred: the result */
	struct us_opc *dnext;
};

/* An entry whose xattrs are read or written: an open file, or a name in a directory. */
struct us_ref {
	int fd;			/* >= 0: the open file */
	int dirfd;		/* else name in dirfd */
	const char *name;
	bool symlink;		/* never followed; xattrs by l*xattr syscalls */
};

void us_defer(struct us_worker *w, struct us_opc *o, int res);
void us_run_deferred(struct us_worker *w);
void us_op_statx(struct us_worker *w, struct us_opc *o, int dfd, const char *path, int flags);
void us_op_openat(struct us_worker *w, struct us_opc *o, int dfd, const char *path, int flags, mode_t mode);
void us_op_opendir(struct us_worker *w, struct us_opc *o, int dfd, const char *path);
void us_close_async(struct us_worker *w, int fd);
void us_op_read(struct us_worker *w, struct us_opc *o, int fd, struct sr_buf *b, uint64_t off);
void us_op_write(struct us_worker *w, struct us_opc *o, int fd, struct sr_buf *b, uint64_t off);
void us_op_mkdirat(struct us_worker *w, struct us_opc *o, int dfd, const char *path, mode_t mode);
void us_op_symlinkat(struct us_worker *w, struct us_opc *o, const char *target, int dfd, const char *path);
void us_op_linkat(struct us_worker *w, struct us_opc *o, int ofd, const char *op, int nfd, const char *np,
		  int flags);
void us_op_renameat(struct us_worker *w, struct us_opc *o, int ofd, const char *op, int nfd, const char *np);
void us_op_unlinkat(struct us_worker *w, struct us_opc *o, int dfd, const char *path, int flags);
void us_op_ftruncate(struct us_worker *w, struct us_opc *o, int fd, uint64_t len);
void us_op_fallocate(struct us_worker *w, struct us_opc *o, int fd, uint64_t len);
void us_op_fsync(struct us_worker *w, struct us_opc *o, int fd);
void us_op_fadvise(struct us_worker *w, struct us_opc *o, int fd, int advice);
void us_op_splice(struct us_worker *w, struct us_opc *o, int fd_in, int64_t off_in, int fd_out, int64_t off_out,
		  unsigned len);
void us_op_getxattr(struct us_worker *w, struct us_opc *o, const struct us_ref *ref, const char *name,
		    struct sr_buf *b);
void us_op_setxattr(struct us_worker *w, struct us_opc *o, const struct us_ref *ref, const char *name,
		    const void *value, unsigned len);
int us_proc_path(char *buf, size_t len, int dirfd, const char *name);

#endif
