/* SPDX-License-Identifier: MIT */
/*
 * api-fuzz: random sequences of API calls over several rings, two threads
 * and both backends, checked against a model of who owns what
 * (docs/safety.md is the contract).  See tests/fuzz/README.md.
 */
#ifndef SR_FUZZ_H
#define SR_FUZZ_H

#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <safer-ring.h>

/* Parts of the contract the runtime may not have yet (mk/fuzz.mk detects them). */
#ifndef FZ_HAVE_HANDOVER
#define FZ_HAVE_HANDOVER 0	/* sr_ring_release / sr_ring_acquire / SR_RING_MOVABLE */
#endif
#ifndef FZ_HAVE_DESTROY_TIMEOUT
#define FZ_HAVE_DESTROY_TIMEOUT 0	/* sr_ring_destroy_timeout */
#endif
#ifndef FZ_HAVE_FAIL_ALLOC
#define FZ_HAVE_FAIL_ALLOC 0	/* SR_FAIL_ALLOC=N: the runtime fails its N-th allocation */
#endif

/* Features: each step and each check belongs to one; a failure names it. */
enum {
	FT_BASIC,	/* ops, waits, polls, cancels, pools, groups, files, chains, callbacks, destroy */
	FT_STALE,	/* consumed handles, double waits and recycles, stale file handles (within a ring) */
	FT_IDENTITY,	/* handles, files, groups, fixed buffers of another ring or a destroyed one */
	FT_POOL,	/* pool buffers after sr_pool_put; pool destroy with buffers taken or lent */
	FT_GROUP,	/* group items held across ring destroy, then used and recycled */
	FT_CALLBACK,	/* calls from completion callbacks */
	FT_THREAD,	/* calls from a thread that is not the ring's owner; rings owned by thread 1 */
	FT_HANDOVER,	/* sr_ring_release / sr_ring_acquire */
	FT_FORK,	/* fork() with rings in flight */
	FT_PEER,	/* a second thread with its own ring sharing a pool, concurrently */
	FT_TEARDOWN,	/* sr_ring_destroy_timeout */
	FT_OOM,		/* failing allocations (SR_FAIL_ALLOC) */
	FT_CRASH,	/* (a sequence crashed or hung: reported by the runner) */
	FT_COUNT
};
extern const char *const fz_feature_names[FT_COUNT];

/* Limits of one sequence. */
#define FZ_MAXRING	5
#define FZ_MAXOP	96
#define FZ_NBUF		6
#define FZ_NPOOL	2
#define FZ_POOLN	4
#define FZ_MAXGROUP	6
#define FZ_MAXITEM	24
#define FZ_NCHAN	6	/* 4 pipes, 2 socketpairs */
#define FZ_NFSLOT	4
#define FZ_MAXFH	16
#define FZ_CHANQ	256

enum kind {
	K_NOP, K_READF, K_WRITEF, K_READC, K_POLL, K_TMO, K_TMOL, K_TREM, K_RECVMS, K_READMS,
	K_READFX, K_WRITEFX, K_LTMO, K_ACANCEL, K_NKIND
};
extern const char *const fz_kind_names[K_NKIND];

union fz_sub {
	struct sr_nop_submitted nop;
	struct sr_read_submitted read;
	struct sr_write_submitted write;
	struct sr_poll_add_submitted poll_add;
	struct sr_timeout_submitted timeout;
	struct sr_timeout_remove_submitted timeout_remove;
	struct sr_recv_multishot_submitted recv_multishot;
	struct sr_read_multishot_submitted read_multishot;
	struct sr_read_fixed_submitted read_fixed;
	struct sr_write_fixed_submitted write_fixed;
	struct sr_link_timeout_submitted link_timeout;
	struct sr_async_cancel_submitted async_cancel;
};

/* A completion as the driver sees it, whatever the op. */
struct fz_done {
	int res;
	unsigned flags;
	bool more;
	struct sr_buf *buf;
};

/* ops.c: the typed calls behind one switch */
int fz_op_wait(struct sr_ring *r, int kind, union fz_sub *s, bool block, struct fz_done *d);
int fz_op_cancel(struct sr_ring *r, int kind, union fz_sub *s);
/* The handle of a submitted op (a target for timeout_remove, async_cancel). */
struct sr_handle fz_op_handle(int kind, const union fz_sub *s);
/* The typed callbacks, each forwarding to fz_delivered(). */
void fz_delivered(struct sr_ring *r, void *arg, const struct fz_done *d);
void fz_cb_nop_fn(struct sr_ring *r, struct sr_nop_completed *c, void *arg);
void fz_cb_read_fn(struct sr_ring *r, struct sr_read_completed *c, void *arg);
void fz_cb_timeout_fn(struct sr_ring *r, struct sr_timeout_completed *c, void *arg);
void fz_cb_poll_fn(struct sr_ring *r, struct sr_poll_add_completed *c, void *arg);

/* The source of choices: a seeded generator, or a libFuzzer input. */
struct fz_src {
	uint64_t s[4];
	const uint8_t *data;
	size_t len, pos;
	bool bytes;
};
void fz_src_seed(struct fz_src *src, uint64_t seed);
uint64_t fz_src_next(struct fz_src *src);

/* oom.c: fail the library's allocations (FZ_WRAP builds) */
extern const bool fz_oom_available;
/* After `after` more allocations succeed, fail the next n. */
void fz_oom_arm(unsigned after, unsigned n);
void fz_oom_disarm(void);
unsigned fz_oom_fired(void);

/* seq.c */
struct fz_opts {
	unsigned feat;		/* FT_* bits enabled */
	int verbose;
	unsigned min_steps, max_steps;
};
extern struct fz_opts fz_opts;

/* Per-process setup (scratch files, the helper thread); once. */
int fz_init(void);
/*
 * Run one sequence.  Returns the number of steps; on a disagreement with
 * the model it calls fz_report_failure() (the runner's) and never returns.
 */
unsigned fz_run_sequence(uint64_t seed, const uint8_t *data, size_t len);
/* What the sequence is doing now (for hang reports). */
void fz_where(uint64_t *seed, unsigned *step, const char **call);
/* Where the runner wants the step number and name kept (shared with it), or NULL. */
struct fz_progress {
	volatile unsigned step;
	char name[40];
};
extern struct fz_progress *fz_progress;

/* run.c (or the libFuzzer glue): a sequence disagreed with the model. */
void fz_report_failure(int feature, uint64_t seed, unsigned step, const char *msg) __attribute__((noreturn));

#endif
