/* SPDX-License-Identifier: MIT */
/* uring-sync: how a regular file's content is copied. */
#ifndef URING_SYNC_METHOD_H
#define URING_SYNC_METHOD_H

#include "job.h"

enum us_method {
	US_M_RW,		/* read into pool buffers, write from them */
	US_M_SPLICE,		/* splice through the worker's pipes */
	US_M_CFR,		/* copy_file_range, on the worker's thread */
	US_M_CLONE,		/* FICLONE: the filesystem shares the blocks */
};

void us_method_init(void);
void us_method_pick(struct us_job *j);
bool us_clone(struct us_job *j);
void us_method_fallback(struct us_job *j);
const char *us_method_name(const struct us_job *j, char *buf, size_t len);

#endif
