/* SPDX-License-Identifier: MIT */
/*
 * uring-sync: the run's context (options, counters, shared queues) and
 * messages.  The bottom layer: every other file includes this one.
 *
 * The modules, each calling only those below it (tests/uring-sync/layers.py
 * checks that no call or include goes in a circle, and that no source file
 * is over 700 lines):
 *
 *   main                  options, the run, the exit status
 *   setup, progress       checks and budgets before the run; the status line
 *   worker                threads and their loops, the three phases
 *   dump                  SIGUSR1: each worker's ring on stderr, from its loop
 *   entry                 entries of listed directories, by type
 *   dir, link             directories (listing, metadata); hard links
 *   file                  regular files: quick check, open, verify, place
 *   copy, meta            their content (ranges and chunks); metadata
 *   place                 names in the destination: temporary, then final
 *   job, mem              jobs and their fd budget; buffers and pipes
 *   ops                   io_uring ops (the runtime makes the system call where the ring lacks one)
 *   ctx                   this header: the context and messages
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
#ifndef URING_SYNC_CTX_H
#define URING_SYNC_CTX_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <safer-ring.h>

#define US_NAME		"uring-sync"
#define US_VERSION	"0.1.0"

/* Errors of our own, beside -errno values. */
#define US_ECHANGED	1000	/* the source changed size while being copied */
#define US_EDIFFERS	1001	/* compared content differs */

enum us_stop {
	US_RUNNING = 0,
	US_STOP_NOSPC,		/* the destination is full */
	US_STOP_SIGNAL,		/* SIGINT, SIGTERM or SIGHUP */
	US_STOP_FATAL,		/* a worker could not start */
};

struct us_filter;

struct us_opts {
	unsigned jobs;
	unsigned max_open;
	size_t max_memory;
	bool dry_run;
	bool verify;
	bool checksum;
	bool one_fs;
	bool quiet;
	bool update;		/* -u: skip files newer in the destination */
	bool del;		/* --delete */
	bool delete_excluded;
	bool stats;
	bool partial;
	bool direct;		/* --direct: O_DIRECT both ways */
	bool pin;		/* --pin: each worker on its own CPU */
	int verbose;		/* -v, -vv */
	int progress;		/* -1: when stderr is a terminal */
	/* What is kept (rsync's -r -l -p -t -g -o -D -H -A -X): all unless some are named. */
	bool recursive, links, perms, times, group, owner, devices, specials, hard_links, acls, xattrs;
	const char **link_dest;	/* --link-dest DIRs, relative to DST unless absolute */
	unsigned nlink_dest;
	struct us_filter *filter;
	char **args;		/* SRC... DST */
	int nargs;
	mode_t umask;		/* the caller's: for what is made without -p */
};

/* Kinds of entries, as --stats counts them. */
enum { US_T_REG, US_T_DIR, US_T_LINK, US_T_DEV, US_T_SPECIAL, US_T_N };

static inline unsigned us_type_index(mode_t m)
{
	return S_ISREG(m) ? US_T_REG : S_ISDIR(m) ? US_T_DIR : S_ISLNK(m) ? US_T_LINK :
	       S_ISCHR(m) || S_ISBLK(m) ? US_T_DEV : US_T_SPECIAL;
}

struct us_stats {
	atomic_ullong files[US_T_N];	/* entries of the source copied, by kind */
	atomic_ullong made[US_T_N];	/* entries that did not exist in the destination */
	atomic_ullong total_size;	/* of regular files and symlinks */
	atomic_ullong entries;		/* non-directory entries seen */
	atomic_ullong entries_done;
	atomic_ullong bytes_todo;	/* bytes of files that need copying */
	atomic_ullong bytes_done;
	atomic_ullong copied;		/* files copied */
	atomic_ullong linked;
	atomic_ullong created;		/* other entries made */
	atomic_ullong updated;		/* entries whose metadata was fixed */
	atomic_ullong deleted;		/* entries removed by --delete */
	atomic_ullong dirs;
	atomic_ullong errors;
};

/*
 * A directory the walk opens source paths beneath: a SRC/ itself, or the
 * parent of a named SRC.  Open for the whole run.
 */
struct us_root {
	int fd;
	const char *prefix;	/* how paths beneath it are shown in messages */
};

struct us_worker;
struct us_dir;
struct us_range;
struct us_hlink;
struct us_linkreq;

struct us_ctx {
	struct us_opts o;
	const char *dst_arg;
	const char *dst_prefix;		/* how paths in the destination are shown */
	struct us_root *roots;
	unsigned nroots;
	int dst_root;
	uint64_t dst_dev, dst_ino;	/* the destination root, never entered as a source directory */
	int *link_dest;			/* --link-dest directories, open */
	bool root;
	uid_t euid;
	gid_t egid;
	gid_t *groups;
	int ngroups;
	atomic_bool no_tmpfile;		/* O_TMPFILE unsupported at the destination */
	atomic_bool no_direct;		/* O_DIRECT unsupported at the destination */
	atomic_bool no_clone;		/* FICLONE unsupported at the destination */
	atomic_int stop;		/* enum us_stop */
	atomic_int phase;
	unsigned nworkers;
	struct us_worker *workers;
	atomic_uint running;		/* workers not finished */
	pthread_t main_thread;		/* woken with SIGUSR2 when the last worker ends */
	atomic_uint dump_gen;		/* SIGUSR1s taken: each worker dumps its ring (dump.c) */
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

/* ctx.c */
extern struct us_ctx *us_c;
void us_set_stop(int why);
void us_wake(void);
static inline bool us_stopped(void)
{
	return atomic_load_explicit(&us_c->stop, memory_order_relaxed) != US_RUNNING;
}

/* Messages on stderr, changes on stdout (with -v or -n). */
void us_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void us_fail(const char *side_root, const char *rel, const char *name, const char *what, int err);
void us_item(const char *action, const char *rel, const char *name, const char *extra);
void us_item_how(const char *action, const char *rel, const char *name, const char *how);
void us_bar_clear(void);
char *us_relpath(const char *dir, const char *name);
void us_esc(char *out, size_t outsz, const char *s);

#endif
