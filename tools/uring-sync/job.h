/* SPDX-License-Identifier: MIT */
/*
 * uring-sync: jobs (an entry, a directory listing, a hard link, a
 * directory's metadata), what they work on (directories and their
 * entries), and the fd budget they take from their worker.
 */
#ifndef URING_SYNC_JOB_H
#define URING_SYNC_JOB_H

#include "ops.h"

/* Temporary names: ".~us-" and 16 hex digits (a rerun removes leftovers). */
#define US_TMP_PREFIX	".~us-"
#define US_TMP_LEN	21

/* A set of names (a directory listing), for lookups by name. */
struct us_nameset {
	const char **slot;
	unsigned mask;		/* capacity - 1; 0 when empty */
};

/* A source of a directory's entries: the same path below each of its roots. */
struct us_src {
	const struct us_root *root;
	const char *only;	/* a named SRC: the one entry this source gives (at the top) */
	const char *as;		/* and its name in the destination, if another (one file to DST) */
	uint64_t dev;		/* -x: the filesystem of the SRC */
	unsigned char type;	/* only: its d_type */
};

struct us_ent {
	const char *name;	/* in the destination (and the source, but for as) */
	unsigned char d_type;
	bool in_dst;		/* the destination directory has this name */
	bool check_type;	/* the filter needs its type: decided once it is stat'ed */
	uint32_t src;		/* its source: index in the directory's srcs */
};

struct us_dir {
	char *rel;		/* relative to the roots: "" for the root, else "a/b" */
	bool dst_new;		/* created by this run (or would be, in a dry run) */
	bool transfer;		/* its entries are all SRC's: --delete applies */
	bool no_meta;		/* the destination root that no SRC/ maps to: its metadata stays */
	atomic_bool failed;	/* not listed or not created: no metadata applied */
	struct us_src *srcs;	/* one; several are merged, the first to have a name wins */
	unsigned nsrc;
	int *sfds;		/* open while entries are in flight, one per source (-1: none) */
	int dfd;
	struct us_ent *ents;
	unsigned nents, claimed;	/* claimed: first unclaimed entry (under the lock) */
	char *names;		/* storage of the source names */
	char *dnames;		/* storage of the destination names */
	uint64_t *merge;	/* several sources: per entry, those where it is a directory */
	struct us_nameset dst;	/* names in the pre-existing destination directory */
	atomic_uint refs;	/* entries in flight, +1 while being listed */
	/* The destination as new entries see it. */
	gid_t dst_gid;
	mode_t dst_mode;	/* of a pre-existing destination directory */
	struct statx_timestamp dst_mtime;	/* and its mtime before this run changed anything in it */
	bool dst_setgid;
	bool dst_default_acl;	/* a pre-existing default ACL, removed before the first create */
	bool made_writable;	/* by us_dir_prepare: phase C gives dst_mode back */
	bool has_partial;	/* the destination has .~us-partial (partial.c) */
	atomic_bool prepared;
	struct us_dir *qnext;	/* to-list stack, or published list */
	struct us_src src1;	/* storage when there is one source */
	int sfd1;
};

enum us_kind {
	US_J_ENTRY,		/* an entry of a listed directory */
	US_J_DIRLIST,		/* list a directory */
	US_J_LINK,		/* phase B: one extra hard link */
	US_J_DIRMETA,		/* phase C: one directory's metadata */
};

struct us_meta;
struct us_writer;

typedef void (*us_job_fn)(struct us_job *j);

struct us_job {
	enum us_kind kind;
	struct us_worker *w;	/* the worker running it now */
	struct us_worker *owner;	/* the worker that started it (its budgets) */
	us_job_fn finish;	/* the job is over (us_job_done): its kind's end */
	us_job_fn resume;	/* fd budget came back (us_fd_wait) */
	const char *rel_dir, *rel_name;	/* where it is, for messages */
	struct us_dir *dir;
	const struct us_ent *ent;
	const struct us_src *src;	/* where it comes from */
	int sdirfd;		/* the source directory, and the entry's name in it */
	const char *sname;
	char *rel;		/* for messages, built on first use */
	struct statx st, dst;
	bool dst_exists;
	int sfd, dfd;		/* the files' fds */
	unsigned fds_held;	/* fd budget taken */
	bool tmpfile;		/* dfd is an O_TMPFILE */
	bool tmp_named;		/* the temporary name (tmppath) exists */
	bool placed;		/* the destination entry is in place (made now, or found right) */
	bool counted;		/* in the progress line's count of entries */
	/* Its name in the destination (place.c). */
	int pl_dirfd;
	const char *pl_name;	/* may have directories in it: then so has tmppath */
	int pl_from_dirfd;
	const char *pl_from;	/* a hard link to this entry (in pl_from_dirfd) */
	bool pl_via_tmp;
	us_job_fn placed_fn;
	char tmpname[US_TMP_LEN + 1];
	char *tmppath;		/* the temporary, when pl_name has directories */
	char *target;		/* symlink target */
	int err;		/* first failure, already reported */
	int step;
	unsigned pending;	/* ops of a parallel step still out */
	struct us_opc op[3];
	struct us_meta *meta;
	struct us_hlink *leader;	/* this job copies the first name of a link group */
	/* Content (copy.c): the ranges to copy or compare. */
	struct us_range *ranges;
	unsigned nranges;
	atomic_uint ranges_left;
	atomic_int copy_err;
	atomic_bool copy_err_dst;	/* copy_err came from the destination */
	us_job_fn ranges_done;	/* the last range is finished */
	bool comparing;		/* the ranges compare instead of copy */
	atomic_bool no_splice;	/* the source refused splice: read and write */
	atomic_bool cfr_done;	/* copy_file_range worked for this file */
	struct us_writer *writers;	/* per worker */
	atomic_bool direct;	/* the destination is written with O_DIRECT */
	unsigned char method;	/* enum us_method (method.c) */
	bool direct_src;	/* the source is read with O_DIRECT (--direct) */
	bool direct_used;	/* some of it was written with O_DIRECT */
	bool sparse;		/* only its data was copied: the holes stay holes */
	bool prealloc;		/* its blocks were allocated first (fallocate) */
	uint64_t resume_at;	/* --partial: the data from an earlier run goes this far */
	uint64_t tail;		/* O_DIRECT: the unaligned end, written afterwards, buffered */
	bool verifying;		/* the compare is --verify's, of a fresh copy */
	/* --link-dest (linkdest.c). */
	unsigned ld_next;
	us_job_fn ld_nomatch;
	/* Phase B. */
	struct us_linkreq *lr;
	struct us_job *next;	/* a worker's wait list */
};

struct us_job *us_job_new(struct us_worker *w, enum us_kind kind, us_job_fn finish);
void us_job_free(struct us_job *j);
void us_job_done(struct us_job *j);
void us_job_fail(struct us_job *j, const char *side, const char *what, int err);
const char *us_job_rel(struct us_job *j);
void us_work_done(long n);
void us_count_made(struct us_job *j);

bool us_fd_take(struct us_job *j, unsigned n);
void us_fd_give(struct us_job *j);
void us_fd_wait(struct us_job *j, us_job_fn resume);
void us_fd_resume(struct us_worker *w);

#endif
