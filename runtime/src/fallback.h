/* SPDX-License-Identifier: MIT */
/*
 * The fallback backend, as ring.c sees it.  An op the ring cannot run
 * natively enters at submit (sr__fb_begin hands out a staging SQE, the
 * generated code prepares it, sr__fb_commit takes it) and leaves as
 * completions on its slot, the same ones the kernel would have posted.
 * Each op takes the first route of its spec chain that works on this
 * ring: an alternate opcode, a system call on a worker thread (after
 * epoll readiness on pollable descriptors), or an emulation.
 */
#ifndef SAFER_RING_FALLBACK_H
#define SAFER_RING_FALLBACK_H

#include "internal.h"

/* A ring with no io_uring at all: every op takes a fallback route. */
int sr__fb_create(struct sr_ring *r, const struct sr_ring_params *p);
void sr__fb_destroy(struct sr_ring *r);
/* fork() child: release the copy without threads, locks or the shared epoll set. */
void sr__fb_forget(struct sr_ring *r);

struct io_uring_sqe *sr__fb_begin(struct sr_ring *r, struct sr_op *op, unsigned opid, uint32_t *idxp);
void sr__fb_commit(struct sr_ring *r, uint32_t idx, struct io_uring_sqe *sqe);
/* Is sqe the staging SQE (the op being built is a fallback one)? */
bool sr__fb_staging(struct sr_ring *r, const struct io_uring_sqe *sqe);
void sr__fb_abort(struct sr_ring *r);

int sr__fb_cancel(struct sr_ring *r, uint32_t idx);
/* A CQE of the backend's own kernel requests; false: no memory to record
 * it (it stays in the CQ). */
bool sr__fb_cqe(struct sr_ring *r, const struct io_uring_cqe *cqe);
/* Account finished routes to their slots; block: wait for one first
 * (rings without io_uring).  Returns completions accounted, or -EINTR. */
int sr__fb_reap(struct sr_ring *r, bool block);
/* Rings without io_uring: wait up to timeout_ms for a completion. */
int sr__fb_wait(struct sr_ring *r, int timeout_ms);
/* A re-armed stream's item was taken: ask again. */
void sr__fb_consumed(struct sr_ring *r, uint32_t idx);
/* A chain's last op runs in the backend: it links to nothing after all. */
void sr__fb_unlink(struct sr_ring *r, uint32_t idx);
/* A buffer went back to group g: streams paused by -ENOBUFS go on. */
void sr__fb_group_refilled(struct sr_ring *r, struct sr_bufgroup *g);
/* Entering the kernel ends an open IO_LINK chain, as it does for SQEs. */
void sr__fb_chain_end(struct sr_ring *r);
/* A submit: end an open chain and start the jobs committed since the
 * last one (how many); discard: complete them with -ECANCELED instead. */
int sr__fb_submit(struct sr_ring *r);
int sr__fb_discard(struct sr_ring *r);
int sr__fb_fd(const struct sr_ring *r);
/* Is op native here, looking through an open chain? */
bool sr__fb_native(const struct sr_ring *r, unsigned op);

/* A target op the backend runs: true with *ud its kernel user_data while
 * the kernel has it; false when the op acting on it must be emulated. */
bool sr__fb_target(struct sr_ring *r, uint32_t idx, uint64_t *ud);

/* The route this ring takes for op, or NULL (native ops, or no route). */
const struct sr_fb_route *sr__fb_pick(const struct sr_ring *r, unsigned op);
/* A real kernel's probe lists op's opcode, and op is its first form (caps.c). */
bool sr__probe_has(unsigned op);
/* Why op has no route here, or its NONE route's text. */
const char *sr__fb_none_why(const struct sr_ring *r, unsigned op, char *buf, size_t len);

#endif
