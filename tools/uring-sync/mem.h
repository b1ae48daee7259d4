/* SPDX-License-Identifier: MIT */
/*
 * uring-sync: a worker's data buffers and splice pipes, counted against
 * its share of --max-memory and --max-open.
 */
#ifndef URING_SYNC_MEM_H
#define URING_SYNC_MEM_H

#include "ops.h"

#define US_CHUNK	(512u << 10)	/* largest single read/write; a buffer class's top */

/* A pipe for splice: file to pipe moves page references, pipe to file copies once. */
struct us_pipe {
	int r, w;
	unsigned cap;
	struct us_pipe *next;
};

void *us_mem_get(struct us_worker *w, size_t len, unsigned *cls);
void us_mem_put(struct us_worker *w, void *mem, unsigned cls);
bool us_mem_room(struct us_worker *w, size_t len);
struct us_pipe *us_pipe_get(struct us_worker *w);
void us_pipe_put(struct us_worker *w, struct us_pipe *p, bool broken);
void us_mem_destroy(struct us_worker *w);

#endif
