/* SPDX-License-Identifier: MIT */
/*
 * The core: op slots and queued completions (slots.c), the one way into
 * the kernel and the SQ's room (queue.c), accounting and delivering
 * completions (complete.c), the slow halves of submit and of handles
 * (submit.c), and the process's list of rings (process.c).  Calls
 * detection and base; reaches the fallback backend only through the
 * hooks below.
 */
#ifndef SR_SRC_CORE_H
#define SR_SRC_CORE_H

#include "detect.h"

/*
 * The fallback backend, as the core calls it (runtime/src/fallback/,
 * chosen at setup).  Every hook is harmless on a ring that never used
 * the backend.  An op the ring cannot run natively enters with begin (a
 * staging SQE for the generated code to prepare) and commit, and leaves
 * as completions on its slot, the same ones the kernel would have posted.
 */
struct sr__backend {
	const char *name;
	struct io_uring_sqe *(*begin)(struct sr_ring *r, struct sr_op *op, unsigned opid, uint32_t *idxp);
	void (*commit)(struct sr_ring *r, uint32_t idx, struct io_uring_sqe *sqe);
	/* Is sqe the staging SQE (the op being built is a fallback one)? */
	bool (*staging)(struct sr_ring *r, const struct io_uring_sqe *sqe);
	void (*abort)(struct sr_ring *r);
	/* A submit: end an open chain, start the jobs committed since the
	 * last one (how many); discard: complete them with -ECANCELED. */
	int (*submit)(struct sr_ring *r);
	int (*discard)(struct sr_ring *r);
	/* Account finished jobs to their slots; block: wait for one first
	 * (rings without io_uring).  Completions accounted, or -EINTR, -ENOMEM. */
	int (*reap)(struct sr_ring *r, bool block);
	/* Rings without io_uring: wait up to timeout_ms for a completion. */
	int (*wait)(struct sr_ring *r, int timeout_ms);
	/* A CQE of the backend's own kernel requests; false: no memory to
	 * record it (it stays in the CQ). */
	bool (*cqe)(struct sr_ring *r, const struct io_uring_cqe *cqe);
	int (*cancel)(struct sr_ring *r, uint32_t idx);
	/* A target op the backend runs: true with *ud its kernel user_data
	 * while the kernel has it; false when the op acting on it must be
	 * emulated. */
	bool (*target)(struct sr_ring *r, uint32_t idx, uint64_t *ud);
	/* A re-armed stream's item was taken: ask again. */
	void (*consumed)(struct sr_ring *r, uint32_t idx);
	/* A chain's last op runs in the backend: it links to nothing after all. */
	void (*unlink)(struct sr_ring *r, uint32_t idx);
	/* A buffer went back to group g: streams paused by -ENOBUFS go on. */
	void (*group_refilled)(struct sr_ring *r, struct sr_bufgroup *g);
	/* Is op native here, looking through an open chain? */
	bool (*native)(const struct sr_ring *r, unsigned op);
	/* The eventfd its completions wake (-1: none yet). */
	int (*fd)(const struct sr_ring *r);
	void (*destroy)(struct sr_ring *r);
	/* fork() child: release the copy without threads, locks or the shared epoll set. */
	void (*forget)(struct sr_ring *r);
};

static inline const struct sr__backend *sr__be(const struct sr_ring *r)
{
	return r->_ext->be;
}

/*
 * The hooks on the core's paths that every wait takes: a ring that never
 * used the backend (r->_fb is made with its first fallback op) pays one
 * test instead of a call.
 */
static inline int sr__be_submit(struct sr_ring *r)
{
	return r->_fb ? sr__be(r)->submit(r) : 0;
}

static inline int sr__be_reap(struct sr_ring *r, bool block)
{
	return r->_fb ? sr__be(r)->reap(r, block) : 0;
}

/* --- process.c: ring ids and the list of live rings (fork() marks them) ------ */

void sr__ring_register(struct sr_ring *r);
void sr__ring_unregister(struct sr_ring *r);

/* --- slots.c ------------------------------------------------------------------ */

int sr__slots_init(struct sr_ring *r, unsigned n);
/*
 * The one slot acquire off the inline path: the next free slot, the table
 * doubled when none is free; SR__NONE (with a message) at the ring's limit
 * or without memory.  The caller takes it (sr__slot_take) once nothing
 * else can fail.
 */
uint32_t sr__slot_grow(struct sr_ring *r);

static inline uint32_t sr__slot_next(struct sr_ring *r)
{
	return sr__likely(r->_free != SR__NONE) ? r->_free : sr__slot_grow(r);
}
bool sr__items_grow(struct sr_ring *r);
/* Under valgrind's memcheck (buf.c): rings get SR__RING_MEMCHECK. */
bool sr__memcheck(void);

/* In the delivery queue, an entry that is a single-shot callback op's slot
 * (its result in the slot, its link in _resv), not an item. */
#define SR__DQ_SLOT	0x80000000u

/* A free item (its next is SR__NONE), or SR__NONE without memory. */
static inline uint32_t sr__item_alloc(struct sr_ring *r)
{
	struct sr__ring_ext *x = r->_ext;
	uint32_t i;

	if (x->free_item == SR__NONE && !sr__items_grow(r))
		return SR__NONE;
	i = x->free_item;
	x->free_item = x->items[i].next;
	x->items[i].next = SR__NONE;
	return i;
}

static inline void sr__item_free(struct sr_ring *r, uint32_t i)
{
	struct sr__ring_ext *x = r->_ext;

	x->items[i].next = x->free_item;
	x->free_item = i;
}

/* Record a completion in item i. */
static inline void sr__item_fill(struct sr_ring *r, uint32_t i, uint32_t slot, int32_t res, uint32_t cflags)
{
	struct sr__item *it = &r->_ext->items[i];

	it->res = res;
	it->cflags = cflags;
	it->slot = slot;
	it->fgen = r->_slotx[slot]._fgen[0];
}

/* Append a completion, in item i, to a FIFO of items (head/tail indexes). */
static inline void sr__fifo_push(struct sr_ring *r, uint32_t *head, uint32_t *tail, uint32_t i,
				 uint32_t slot, int32_t res, uint32_t cflags)
{
	sr__item_fill(r, i, slot, res, cflags);
	if (*tail == SR__NONE)
		*head = i;
	else
		r->_ext->items[*tail].next = i;
	*tail = i;
}

static inline bool sr__fifo_pop(struct sr_ring *r, uint32_t *head, uint32_t *tail, struct sr__item *out)
{
	uint32_t i = *head;

	if (i == SR__NONE)
		return false;
	*out = r->_ext->items[i];
	*head = out->next;
	if (*head == SR__NONE)
		*tail = SR__NONE;
	sr__item_free(r, i);
	return true;
}

/* --- queue.c ------------------------------------------------------------------- */

/* The SQE at position i of the SQ. */
static inline struct io_uring_sqe *sr__sq_at(struct sr_ring *r, unsigned i)
{
	struct io_uring_sq *sq = &r->_uring.sq;

	return (struct io_uring_sqe *)((char *)sq->sqes + ((size_t)(i & sq->ring_mask) << r->_sqe_shift));
}

/* sr_ring_submit: start the backend's jobs, hand the SQ to the kernel. */
int sr__submit(struct sr_ring *r, const char *fn);
/* Hand queued SQEs to the kernel; with block, wait for a completion
 * (the backend's are accounted): how many of those, or an error. */
int sr__enter(struct sr_ring *r, bool block);
/* Under any valgrind tool (its waits then go in slices: SR__RING_SLICED). */
bool sr__under_valgrind(void);

/* --- trace.c: SR_DEBUG and sr_ring_set_trace -------------------------------- */

/* The SQEs queued since the last trace, then (after the kernel) its CQEs. */
void sr__trace_sq(struct sr_ring *r) sr__cold;
void sr__trace_cq(struct sr_ring *r) sr__cold;
/* An op of the fallback backend: started (fd) or completed (res). */
void sr__trace_fb(struct sr_ring *r, enum sr_trace_kind kind, uint32_t idx, int fd, int32_t res, uint32_t cflags) sr__cold;
/* Ring setup: SR_DEBUG=1 traces to stderr, SR_AGES=1 notes ages. */
void sr__trace_init(struct sr_ring *r);

/*
 * What a watching ring notes of each op as an enter hands it over (or the
 * fallback backend starts it): for sr_ring_dump, never read on the per-op
 * paths.  Valid while ud is the slot's user_data.
 */
struct sr__opinfo {
	uint64_t ud;
	uint64_t ns;		/* CLOCK_MONOTONIC of the enter that submitted it */
	uint32_t first;		/* a chain: the slot of its first op (else SR__NONE) */
	uint16_t pos;		/* ... and the op's place in it, from 0 */
	uint8_t link;		/* IOSQE_IO_LINK / _HARDLINK of the op's SQE */
};
/* Note the time the fallback backend took slot idx's op (its commit). */
void sr__note_fb(struct sr_ring *r, uint32_t idx) sr__cold;
/* The note of slot idx's current op, or NULL. */
const struct sr__opinfo *sr__opinfo(const struct sr_ring *r, uint32_t idx);
/* Walk SQ positions [from, to): each tracked op's chain (first slot, place)
 * as fn sees it; the SQEs an enter hands over, or those still queued. */
void sr__sq_chains(struct sr_ring *r, uint32_t from, uint32_t to,
		   void (*fn)(struct sr_ring *r, uint32_t slot, uint64_t ud, uint32_t first, uint16_t pos,
			      uint8_t link, void *arg),
		   void *arg);

/* sr_ring_stats: a failed completion on the runtime's path (sr__complete);
 * the test and branch are all a successful one pays (process.c). */
void sr__count_error(struct sr_ring *r, int32_t res) sr__cold;
static inline void sr__count_done(struct sr_ring *r, int32_t res)
{
	if (sr__unlikely(res < 0))
		sr__count_error(r, res);
}
/* Submit what is queued and reap what is ready; with block, wait for at
 * least one completion first.  Completions processed, or an error. */
int sr__wait_some(struct sr_ring *r, bool block);
/* The same, waiting at most timeout_ms (< 0: no limit): sr_ring_run_once. */
int sr__run_once(struct sr_ring *r, int timeout_ms, const char *fn);
/* An SQE for a request of the runtime's own, in front of an open chain. */
struct io_uring_sqe *sr__sqe_internal(struct sr_ring *r);
/* Queue a cancel of the request with user_data ud (-EBUSY: no room). */
int sr__push_cancel(struct sr_ring *r, uint64_t ud);
/* Complete queued-but-unsubmitted ops with -ECANCELED and drop their SQEs. */
int sr__discard(struct sr_ring *r);

/* --- complete.c ----------------------------------------------------------------- */

/* Account a completion to slot idx by the op's shape; false: no memory
 * to record it, nothing changed (the caller keeps it). */
bool sr__complete(struct sr_ring *r, uint32_t idx, int32_t res, uint32_t cflags);
/* Run the callbacks of the completions queued for them, in order. */
void sr__deliver_pending(struct sr_ring *r);

#endif
