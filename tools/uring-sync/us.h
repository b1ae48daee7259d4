/* SPDX-License-Identifier: MIT */
/*
 * uring-sync: a tree copier on safer-ring.  Shared definitions.
 *
 * The copy runs in three phases, each spread over the worker threads (one
 * ring per thread):
 *   A. walk and copy: directories are listed, every entry is stat'ed and
 *      copied (files through a pipeline of io_uring ops, large files split
 *      into ranges any worker may take);
 *   B. hard links: every extra name of an inode seen twice is linked to
 *      the copy of the first;
 *   C. directory metadata: owner, mode, xattrs/ACLs and times of every
 *      directory, once nothing will be created in it any more.
 */
#ifndef URING_SYNC_US_H
#define URING_SYNC_US_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <safer-ring.h>

#define US_NAME		"uring-sync"
#define US_VERSION	"0.1.0"

/* Errors of our own, beside -errno values. */
#define US_ECHANGED	1000	/* the source changed size while being copied */
#define US_EDIFFERS	1001	/* compared content differs */

/* Temporary names: ".~us-" and 16 hex digits (a rerun removes leftovers). */
#define US_TMP_PREFIX	".~us-"
#define US_TMP_LEN	21

/* Copy geometry. */
#define US_CHUNK	(512u << 10)	/* largest single read/write */
#define US_RANGE	(16u << 20)	/* a large file is split in ranges of this size */
#define US_SPLIT_MIN	(32u << 20)	/* files from this size are shared between workers */
#define US_RANGE_QD	4		/* chunks in flight per range */
#define US_SPLICE_MIN	(64u << 10)	/* files from this size are copied with splice */
#define US_DIRECT_MIN	(16u << 20)	/* files from this size are written with O_DIRECT */
#define US_NCLASS	8		/* buffer size classes: 4 KiB << 0..7 (4 KiB..512 KiB) */

enum us_stop {
	US_RUNNING = 0,
	US_STOP_NOSPC,		/* the destination is full */
	US_STOP_SIGNAL,		/* SIGINT, SIGTERM or SIGHUP */
	US_STOP_FATAL,		/* a worker could not start */
};

struct us_opts {
	unsigned jobs;
	unsigned max_open;
	size_t max_memory;
	bool dry_run;
	bool verify;
	bool checksum;
	bool one_fs;
	bool verbose;
	bool quiet;
	int progress;		/* -1: when stderr is a terminal */
};

/* A set of names (a directory listing), for lookups by name. */
struct us_nameset {
	const char **slot;
	unsigned mask;		/* capacity - 1; 0 when empty */
};

struct us_ent {
	const char *name;
	unsigned char d_type;
	bool in_dst;		/* the destination directory has this name */
};

struct us_dir {
	char *rel;		/* relative to the roots: "" for the root, else "a/b" */
	bool dst_new;		/* created by this run (or would be, in a dry run) */
	atomic_bool failed;	/* not listed or not created: no metadata applied */
	int sfd, dfd;		/* open while entries are in flight */
	struct us_ent *ents;
	unsigned nents, claimed;	/* claimed: first unclaimed entry (under the lock) */
	char *names;		/* storage of the source names */
	char *dnames;		/* storage of the destination names */
	struct us_nameset dst;	/* names in the pre-existing destination directory */
	atomic_uint refs;	/* entries in flight, +1 while being listed */
	/* The destination as new entries see it. */
	gid_t dst_gid;
	mode_t dst_mode;	/* of a pre-existing destination directory */
	bool dst_setgid;
	bool dst_default_acl;	/* a pre-existing default ACL, removed before the first create */
	atomic_bool prepared;
	struct us_dir *qnext;	/* to-list stack, or published list */
};

/* Hard link groups: the first name seen of an inode with several links. */
struct us_hlink {
	uint64_t dev, ino;
	char *rel;		/* destination-relative path of the copy */
	atomic_int state;	/* 0 pending, 1 copied, -1 failed */
	struct us_hlink *next;
};

struct us_linkreq {
	struct us_hlink *leader;
	char *rel;
};

struct us_worker;
struct us_job;
struct us_opc;

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

/* A byte range of a file to copy or compare. */
struct us_range {
	struct us_job *job;
	uint64_t off, end, next;
	unsigned inflight;
	bool shared;		/* in the global queue: any worker may take it */
	struct us_range *qnext;	/* global queue, or a worker's active list */
};

/*
 * A worker's splice writes to one file go one at a time: buffered writes
 * to a file serialize on its inode lock anyway, and concurrent ones spin
 * on it (io_uring hashes plain writes per file in io-wq, but not splice's
 * output side).  One slot per worker, touched only by that worker.
 */
struct us_writer {
	bool writing;
	struct us_chunk *wq, *wq_tail;
};

/* A pipe for splice: file to pipe moves page references, pipe to file copies once. */
struct us_pipe {
	int r, w;
	unsigned cap;
	struct us_pipe *next;
};

/*
 * One piece of a range in flight: read into mem, then written from it
 * (a short read or write goes on from where it stopped); or, comparing,
 * both sides read, into mem and mem2.
 */
struct us_chunk {
	struct us_opc op, op2;
	struct us_range *rg;
	uint64_t off;
	uint32_t len, rd, wr;
	unsigned cls, cls2;
	void *mem, *mem2;
	struct us_pipe *pipe;	/* copying by splice through this pipe, or by read and write */
	int got;		/* compare: reads completed */
	int res1, res2;
	struct us_chunk *next;
};

/* Extended attributes and owner/mode/times of one entry, made equal to the source's. */
struct us_ref {
	int fd;			/* >= 0: the open file */
	int dirfd;		/* else name in dirfd */
	const char *name;
	bool symlink;		/* never followed; xattrs by l*xattr syscalls */
};

enum {
	US_CH_XATTR = 1 << 0,
	US_CH_OWNER = 1 << 1,
	US_CH_MODE = 1 << 2,
	US_CH_TIMES = 1 << 3,
};

struct us_meta {
	struct us_ref src, dst;
	const struct statx *sst;
	struct statx dst_st;	/* the destination as it is; or, when fresh, as it was created */
	bool fresh;		/* created by this run: no xattrs to compare */
	bool dry;		/* only find what differs */
	bool chowned;		/* the owner was changed: setuid/setgid bits need setting again */
	char *sl, *dl;		/* names: source, destination (NUL-separated) */
	ssize_t sll, dll;
	char *cur;		/* the source name being copied */
	int slen;		/* its value's length */
	struct sr_buf *vs, *vd;	/* value buffers */
	unsigned changed;	/* US_CH_* */
	int err;
	void (*done)(struct us_job *j);
	struct us_opc op[2];
	unsigned pending;
};

enum us_kind {
	US_J_ENTRY,		/* an entry of a listed directory */
	US_J_DIRLIST,		/* list a directory */
	US_J_LINK,		/* phase B: one extra hard link */
	US_J_DIRMETA,		/* phase C: one directory's metadata */
};

struct us_job {
	enum us_kind kind;
	struct us_worker *w;	/* the worker running it now */
	struct us_worker *owner;	/* the worker that started it (its budgets) */
	struct us_dir *dir;
	const struct us_ent *ent;
	char *rel;		/* for messages, built on first use */
	struct statx st, dst;
	bool dst_exists;
	int sfd, dfd;		/* the files' fds */
	unsigned fds_held;	/* fd budget taken */
	bool tmpfile;		/* dfd is an O_TMPFILE */
	bool tmp_named;		/* tmpname exists in the directory */
	bool placed;		/* the destination entry is in place (made now, or found right) */
	bool dir_done;		/* counted out of its directory */
	char tmpname[US_TMP_LEN + 1];
	char *target;		/* symlink target */
	int err;		/* first failure, already reported */
	atomic_bool copy_err_dst;	/* copy_err came from the destination */
	int step;
	unsigned pending;	/* ops of a parallel step still out */
	struct us_opc op[3];
	struct us_meta *meta;
	struct us_hlink *leader;	/* this job copies the first name of a link group */
	/* Content: the ranges to copy or compare. */
	struct us_range *ranges;
	unsigned nranges;
	atomic_uint ranges_left;
	atomic_int copy_err;
	bool comparing;		/* the ranges compare instead of copy */
	atomic_bool no_splice;	/* the source refused splice: read and write */
	struct us_writer *writers;	/* per worker */
	atomic_bool direct;	/* the destination is written with O_DIRECT */
	uint64_t tail;		/* O_DIRECT: the unaligned end, written afterwards, buffered */
	bool verifying;		/* the compare is --verify's, of a fresh copy */
	bool differs;
	/* Phase B and C. */
	struct us_linkreq *lr;
	struct us_job *next;	/* a worker's wait list */
};

struct us_worker {
	struct us_ctx *c;
	unsigned id;
	pthread_t thr;
	struct sr_ring *ring;
	bool nat_ftruncate, nat_fallocate, nat_xattr, nat_linkat, nat_symlinkat, nat_mkdirat,
	     nat_renameat, nat_unlinkat, nat_openat2, nat_statx, nat_fadvise, nat_openat, nat_close,
	     nat_read, nat_write, nat_fsync, nat_splice;
	unsigned ops;		/* ops in flight on this ring */
	atomic_uint njobs;	/* jobs this worker started and not finished */
	unsigned max_jobs;
	atomic_int fds;		/* free fd budget */
	struct us_opc *dhead, *dtail;	/* deferred completions */
	/* Buffers: per-class free lists, counted against mem_budget. */
	size_t mem_used, mem_budget;
	void *free_mem[US_NCLASS];
	struct us_chunk *free_chunks;
	struct us_pipe *pipes;	/* idle pipes */
	unsigned npipes, max_pipes;
	struct us_range *active;	/* ranges this worker pumps */
	unsigned nactive;
	struct us_job *fdwait;	/* jobs waiting for fd budget */
	struct us_job *fdwait_tail;
	bool did_work;
};

struct us_stats {
	atomic_ullong entries;		/* non-directory entries seen */
	atomic_ullong entries_done;
	atomic_ullong bytes_todo;	/* bytes of files that need copying */
	atomic_ullong bytes_done;
	atomic_ullong copied;		/* files copied */
	atomic_ullong linked;
	atomic_ullong created;		/* other entries made */
	atomic_ullong updated;		/* entries whose metadata was fixed */
	atomic_ullong dirs;
	atomic_ullong errors;
};

struct us_ctx {
	struct us_opts o;
	const char *src_arg, *dst_arg;
	int src_root, dst_root;
	uint64_t src_dev;
	uint64_t dst_dev, dst_ino;	/* the destination root, never entered as a source directory */
	bool root;
	uid_t euid;
	gid_t egid;
	gid_t *groups;
	int ngroups;
	atomic_bool no_tmpfile;		/* O_TMPFILE unsupported at the destination */
	atomic_bool no_direct;		/* O_DIRECT unsupported at the destination */
	atomic_int stop;		/* enum us_stop */
	atomic_int phase;
	unsigned nworkers;
	struct us_worker *workers;
	atomic_uint running;		/* workers not finished */
	pthread_t main_thread;		/* woken with SIGUSR1 when the last worker ends */
	pthread_barrier_t barrier;

	pthread_mutex_t lock;
	pthread_cond_t cond;		/* work arrived, budget returned, or all done */
	/* Phase A work, under the lock. */
	struct us_dir *dirq;		/* directories to list (a stack: depth first) */
	struct us_dir *pub;		/* listed directories with unclaimed entries */
	struct us_range *rangeq, *rangeq_tail;	/* shared ranges of large files */
	atomic_long work;		/* directories and entries not finished */
	unsigned unclaimed;		/* entries of published directories not claimed yet */
	unsigned listing;		/* directories being listed */
	unsigned dirs_open, dirs_open_max;
	/* All directories, for phase C. */
	struct us_dir **dirs;
	size_t ndirs, capdirs;
	/* Hard links. */
	struct us_hlink **hl;
	size_t hl_mask, hl_count;
	struct us_linkreq *links;
	size_t nlinks, caplinks;
	atomic_size_t claim;		/* phases B and C: next item */

	struct us_stats s;
	pthread_mutex_t out_lock;	/* stdout/stderr lines and the progress bar */
	bool bar_shown;
	bool show_progress;
	atomic_ullong tmp_seq;
};

/* main.c */
extern struct us_ctx *us_c;
void us_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void us_fail(const char *side_root, const char *rel, const char *name, const char *what, int err);
void us_item(const char *action, const char *rel, const char *name, const char *extra);
char *us_relpath(const char *dir, const char *name);
void us_esc(char *out, size_t outsz, const char *s);
void us_set_stop(int why);
static inline bool us_stopped(void)
{
	return atomic_load_explicit(&us_c->stop, memory_order_relaxed) != US_RUNNING;
}

/* ops.c: the io_uring ops, with their syscall fallbacks. */
void us_defer(struct us_worker *w, struct us_opc *o, int res);
void us_run_deferred(struct us_worker *w);
void us_op_statx(struct us_worker *w, struct us_opc *o, int dfd, const char *path, int flags);
void us_op_openat(struct us_worker *w, struct us_opc *o, int dfd, const char *path, int flags, mode_t mode);
void us_op_opendir(struct us_worker *w, struct us_opc *o, int dfd, const char *path);
void us_op_close(struct us_worker *w, struct us_opc *o, int fd);
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
void us_worker_probe(struct us_worker *w);
int us_proc_path(char *buf, size_t len, int dirfd, const char *name);

/* mem.c: per-worker buffers. */
void *us_mem_get(struct us_worker *w, size_t len, unsigned *cls);
void us_mem_put(struct us_worker *w, void *mem, unsigned cls);
bool us_mem_room(struct us_worker *w, size_t len);
void us_mem_destroy(struct us_worker *w);
struct us_chunk *us_chunk_get(struct us_worker *w);
void us_chunk_put(struct us_worker *w, struct us_chunk *ch);
struct us_pipe *us_pipe_get(struct us_worker *w);
void us_pipe_put(struct us_worker *w, struct us_pipe *p, bool broken);

/* meta.c */
void us_meta_start(struct us_job *j, struct us_meta *m);
bool us_xattr_wanted(const char *name);
ssize_t us_listxattr(const struct us_ref *ref, char **out);

/* copy.c: content of regular files. */
void us_file_start(struct us_job *j);
void us_range_pump(struct us_worker *w);
bool us_take_shared_range(struct us_worker *w);

/* walk.c: phases A to C. */
void *us_worker_main(void *arg);
void us_job_free(struct us_job *j);
void us_entry_finish(struct us_job *j);
bool us_fd_take(struct us_job *j, unsigned n);
void us_fd_give(struct us_job *j);
void us_wake(void);
void us_dir_prepare(struct us_job *j);
void us_fd_wait(struct us_job *j);
void us_entry_abort(struct us_job *j);
void us_inplace_meta(struct us_job *j);
struct us_meta *us_meta_new(struct us_job *j);
void us_fresh_stat(struct us_job *j, struct statx *d, mode_t mode);
struct us_dir *us_dir_new(struct us_dir *parent, const char *name);
int us_dir_add(struct us_dir *d, bool list);
void us_job_fail(struct us_job *j, const char *side, const char *what, int err);
const char *us_job_rel(struct us_job *j);
void us_tmpname(char *buf);
bool us_is_tmpname(const char *name);

#endif
