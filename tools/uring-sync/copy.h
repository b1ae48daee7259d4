/* SPDX-License-Identifier: MIT */
/*
 * uring-sync: the content of regular files, as byte ranges copied (or
 * compared) in chunks, several in flight per range; the ranges of a large
 * file go to a shared queue so that every worker copies part of it.
 */
#ifndef URING_SYNC_COPY_H
#define URING_SYNC_COPY_H

#include "job.h"
#include "mem.h"

#define US_RANGE	(16u << 20)	/* a large file is split in ranges of this size */
#define US_SPLIT_MIN	(32u << 20)	/* files from this size are shared between workers */
#define US_RANGE_QD	4		/* chunks in flight per range */
#define US_CFR_STEP	(8u << 20)	/* most one copy_file_range call copies */
#define US_DIO_ALIGN	4096u		/* O_DIRECT offsets and lengths */

/* A byte range of a file to copy or compare. */
struct us_range {
	struct us_job *job;
	uint64_t off, end, next;
	uint64_t gap;		/* the first byte a chunk stopped short of (--partial) */
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

int us_ranges_add(struct us_job *j, uint64_t off, uint64_t end, unsigned *cap);
int us_ranges_build(struct us_job *j, bool sparse, uint64_t size);
void us_ranges_start(struct us_job *j, bool comparing, us_job_fn done);
void us_range_pump(struct us_worker *w);
bool us_take_shared_range(struct us_worker *w);
bool us_direct_off(struct us_job *j);
uint64_t us_copied_prefix(const struct us_job *j);
void us_copy_destroy(struct us_worker *w);

#endif
