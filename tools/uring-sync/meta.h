/* SPDX-License-Identifier: MIT */
/*
 * uring-sync: metadata of one entry made equal to the source's: owner,
 * extended attributes and ACLs, mode, times.
 */
#ifndef URING_SYNC_META_H
#define URING_SYNC_META_H

#include "job.h"

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
	bool created;		/* made by this run (a directory: its xattrs are compared) */
	mode_t old_mode;	/* the mode of the entry it replaces, if any (without -p) */
	bool dry;		/* only find what differs */
	bool chowned;		/* the owner was changed: setuid/setgid bits need setting again */
	char *sl, *dl;		/* names: source, destination (NUL-separated) */
	ssize_t sll, dll;
	char *cur;		/* the source name being copied */
	int slen;		/* its value's length */
	struct sr_buf *vs, *vd;	/* value buffers */
	unsigned changed;	/* US_CH_* */
	int err;
	us_job_fn done;
	struct us_opc op[2];
	unsigned pending;
};

struct us_meta *us_meta_new(struct us_job *j);
void us_meta_start(struct us_job *j, struct us_meta *m);
void us_meta_fresh(struct us_job *j, struct us_meta *m, mode_t mode);
void us_inplace_meta(struct us_job *j);
bool us_xattr_wanted(const char *name);
ssize_t us_listxattr(const struct us_ref *ref, char **out);

#endif
