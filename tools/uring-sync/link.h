/* SPDX-License-Identifier: MIT */
/* uring-sync: hard links: groups found in phase A, linked in phase B. */
#ifndef URING_SYNC_LINK_H
#define URING_SYNC_LINK_H

#include "job.h"

/* Hard link groups: the first name seen of an inode with several links. */
struct us_hlink {
	uint64_t dev, ino;
	mode_t mode;
	char *rel;		/* destination-relative path of the copy */
	atomic_int state;	/* 0 pending, 1 copied, -1 failed */
	struct us_hlink *next;
};

/* A further name of a group, linked in phase B. */
struct us_linkreq {
	struct us_hlink *leader;
	char *rel;
};

bool us_link_register(struct us_job *j);
void us_link_start(struct us_worker *w, struct us_linkreq *lr);
void us_links_free(void);

#endif
