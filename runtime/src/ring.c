/* SPDX-License-Identifier: MIT */
/*
 * Ring lifecycle, op slots, and the completion paths that are too rare
 * or too large to inline: multishot queues, two-phase (zero-copy) ops,
 * callbacks, cancellation, and teardown with ops in flight.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "fallback.h"

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

/* --- errors ------------------------------------------------------------------ */

static __thread char sr__errbuf[512];
static __thread int sr__errcode;

int sr__begin_error(void)
{
	return sr__errcode ? sr__errcode : -EINVAL;
}

int sr__fail(int err, const char *fmt, ...)
{
	va_list ap;
	int n;

	sr__errcode = err;
	va_start(ap, fmt);
	n = vsnprintf(sr__errbuf, sizeof(sr__errbuf), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(sr__errbuf) - 24 && err < 0)
		snprintf(sr__errbuf + n, sizeof(sr__errbuf) - (size_t)n, " (%s)", strerrorname_np(-err) ?: "?");
	if (getenv("SR_DEBUG"))
		fprintf(stderr, "safer-ring: %s\n", sr__errbuf);
	return err;
}

const char *sr_last_error(void)
{
	return sr__errbuf[0] ? sr__errbuf : "no error";
}

struct sr__ring_ext *sr__ext(struct sr_ring *r)
{
	return r->_ext;
}

const char *sr__op_name(unsigned op)
{
	return op < sr_op_count ? sr_op_table[op].name : "?";
}

#define op_name sr__op_name

int sr__not_owner(const struct sr_ring *r, const char *fn)
{
	if (r->_owner == SR__OWNER_FORKED)
		return sr__fail(-EPERM, "%s: the ring was inherited across fork(): it is the parent's; the "
				"child may only release its copy with sr_ring_destroy", fn);
	if (!r->_owner)
		return sr__fail(-EPERM, "%s: the ring is released (sr_ring_release); the thread taking it "
				"over calls sr_ring_acquire first", fn);
	return sr__fail(-EPERM, "%s: the ring belongs to another thread; call it from its owner, or hand "
			"it over (sr_ring_release, then sr_ring_acquire in the new thread)", fn);
}

int sr__ring_use(const struct sr_ring *r, const char *fn)
{
	return sr__owned(r) ? 0 : sr__not_owner(r, fn);
}

/* Called from a completion callback of this ring: what must wait for it cannot. */
static int in_callback(const struct sr_ring *r, const char *fn)
{
	return sr__fail(-EDEADLK, "%s: called from a completion callback of this ring, which it would "
			"wait for; return from the callback first (sr_ring_stop ends sr_ring_run)", fn);
}

int sr__stalled(struct sr_ring *r)
{
	(void)r;
	return sr__fail(-ENOMEM, "ring: out of memory to record a completion; it stays in the completion "
			"queue: free memory, then wait or poll again");
}

/* --- slots -------------------------------------------------------------------- */

static void slots_init_range(struct sr_ring *r, uint32_t from, uint32_t to)
{
	for (uint32_t i = from; i < to; i++) {
		r->_slots[i]._base = i;
		r->_slots[i]._state = SR__SLOT_INFLIGHT;
		r->_slots[i]._next = i + 1 < to ? i + 1 : r->_free;
		r->_slotx[i]._qhead = r->_slotx[i]._qtail = SR__NONE;
		r->_slotx[i]._resv = SR__NONE;
	}
	r->_free = from;
}

static int slots_init(struct sr_ring *r, unsigned n)
{
	r->_slots = sr__calloc(n, sizeof(*r->_slots));
	r->_slotx = sr__calloc(n, sizeof(*r->_slotx));
	if (!r->_slots || !r->_slotx)
		return -ENOMEM;
	r->_nslots = n;
	r->_free = SR__NONE;
	slots_init_range(r, 0, n);
	return 0;
}

/* Double the slot table; returns the first new (free) slot, or SR__NONE. */
uint32_t sr__slot_grow(struct sr_ring *r)
{
	uint32_t old = r->_nslots, n = old * 2;
	struct sr_slot *s;
	struct sr_slotx *x;

	if (r->_ext->max_inflight && n > r->_ext->max_inflight)
		n = r->_ext->max_inflight;
	if (n > SR__MAX_SLOTS)
		n = SR__MAX_SLOTS;
	if (n <= old) {
		sr__fail(-EBUSY, "ring: %u ops in flight, the limit; wait for some to complete", old);
		return SR__NONE;
	}
	s = sr__realloc(r->_slots, n * sizeof(*s));
	if (s)
		r->_slots = s;
	x = s ? sr__realloc(r->_slotx, n * sizeof(*x)) : NULL;
	if (!x) {
		sr__fail(-ENOMEM, "ring: out of memory growing the op table to %u slots", n);
		return SR__NONE;
	}
	r->_slotx = x;
	memset(s + old, 0, (n - old) * sizeof(*s));
	memset(x + old, 0, (n - old) * sizeof(*x));
	r->_nslots = n;
	slots_init_range(r, old, n);
	return old;
}

void *sr__store(struct sr_ring *r, uint32_t idx, size_t size)
{
	struct sr_slotx *x = &r->_slotx[idx];
	size_t cap;
	void *p;

	if (size <= x->_store_cap)
		return x->_store;
	cap = size < 256 ? 256 : (size + 63) & ~(size_t)63;
	if (cap > UINT32_MAX)
		return NULL;
	/* The slot was free until now: nothing in the kernel points here. */
	p = sr__malloc(cap);
	if (!p)
		return NULL;
	free(x->_store);
	x->_store = p;
	x->_store_cap = (uint32_t)cap;
	return p;
}

int sr__abort(struct sr_ring *r, uint32_t idx, struct io_uring_sqe *sqe, int err, const char *fn)
{
	struct sr_slotx *x = &r->_slotx[idx];

	/* A fallback op was being built in the backend's staging SQE (and
	 * holds a job); a native one in the SQE we just took, the last one. */
	if (sqe && sr__fb_staging(r, sqe))
		sr__fb_abort(r);
	else if (sqe)
		r->_uring.sq.sqe_tail--;
	if (x->_resv != SR__NONE) {
		sr__item_free(r, x->_resv);
		x->_resv = SR__NONE;
	}
	if (x->_deliver) {
		x->_deliver = NULL;
		r->_ext->cbs--;
	}
	sr__free_slot(r, idx);
	if (err == -ENOMEM)
		return sr__fail(err, "%s: out of memory for the op's bookkeeping; nothing was submitted", fn);
	return err;
}

/* --- items: queued completions ------------------------------------------------ */

uint32_t sr__item_alloc(struct sr_ring *r)
{
	struct sr__ring_ext *x = r->_ext;
	uint32_t i;

	if (x->free_item == SR__NONE) {
		uint32_t old = x->nitems, n = old ? old * 2 : 32;
		struct sr__item *it = sr__realloc(x->items, n * sizeof(*it));

		if (!it)
			return SR__NONE;
		for (uint32_t k = old; k < n; k++)
			it[k].next = k + 1 < n ? k + 1 : SR__NONE;
		x->items = it;
		x->nitems = n;
		x->free_item = old;
	}
	i = x->free_item;
	x->free_item = x->items[i].next;
	x->items[i].next = SR__NONE;
	return i;
}

void sr__item_free(struct sr_ring *r, uint32_t i)
{
	struct sr__ring_ext *x = r->_ext;

	x->items[i].next = x->free_item;
	x->free_item = i;
}

/* Append a completion, in item i, to a FIFO of items (head/tail indexes). */
static void fifo_push(struct sr_ring *r, uint32_t *head, uint32_t *tail, uint32_t i, uint32_t slot,
		      int32_t res, uint32_t cflags)
{
	struct sr__item *it = &r->_ext->items[i];

	it->res = res;
	it->cflags = cflags;
	it->slot = slot;
	it->fgen = r->_slotx[slot]._fgen[0];
	if (*tail == SR__NONE)
		*head = i;
	else
		r->_ext->items[*tail].next = i;
	*tail = i;
}

static bool fifo_pop(struct sr_ring *r, uint32_t *head, uint32_t *tail, struct sr__item *out)
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

/* --- completion paths ------------------------------------------------------------ */

/*
 * A callback op, or a multishot one: the item its final completion will
 * be queued in is taken now, where running out of memory can still fail
 * the submit (the items of a stream's other completions are taken as they
 * come: a stream has no bound).
 */
int sr__track(struct sr_ring *r, uint32_t idx, sr__deliver_fn deliver, void (*cb)(void), void *arg)
{
	struct sr_slotx *x = &r->_slotx[idx];
	uint32_t i = sr__item_alloc(r);

	if (i == SR__NONE)
		return -ENOMEM;
	x->_resv = i;
	if (deliver) {
		x->_deliver = deliver;
		x->_cb = cb;
		x->_cb_arg = arg;
		r->_ext->cbs++;
	}
	return 0;
}

void sr__deliver_pending(struct sr_ring *r)
{
	struct sr__ring_ext *x = r->_ext;
	struct sr__item it;

	if (x->delivering)
		return;		/* the outer loop delivers; keep the order */
	x->delivering++;
	while (fifo_pop(r, &x->dq_head, &x->dq_tail, &it)) {
		struct sr_slot *s = &r->_slots[it.slot];
		bool final = true;

		if (s->_flags & SR__SF_MULTI) {
			s->_res = it.res;
			s->_cflags = it.cflags;
			final = !(it.cflags & IORING_CQE_F_MORE);
		}
		r->_slotx[it.slot]._fgen[0] = it.fgen;
		r->_slotx[it.slot]._deliver(r, it.slot);
		/* The callback may have grown the table: index again. */
		if (final) {
			x->cbs--;
			r->_slotx[it.slot]._deliver = NULL;
			r->_slots[it.slot]._state = SR__SLOT_INFLIGHT;
			sr__free_slot(r, it.slot);
		} else if (r->_slotx[it.slot]._fb) {
			sr__fb_consumed(r, it.slot);
		}
	}
	x->delivering--;
}

/*
 * Account a completion to slot idx by the op's shape: queue multishot
 * items, keep a two-phase op's result until its notification, hand
 * callbacks their delivery.  Kernel CQEs and the fallback backend's
 * completions both end here.  False when a queued completion needs an
 * item and there is no memory for it: nothing has changed, and the caller
 * keeps the completion for a later try (a ring being destroyed drops a
 * stream's non-final items instead: nobody will take them).
 */
bool sr__complete(struct sr_ring *r, uint32_t idx, int32_t res, uint32_t cf)
{
	struct sr_slot *s = &r->_slots[idx];
	struct sr_slotx *x = &r->_slotx[idx];
	uint8_t flags = s->_flags;
	uint32_t item = SR__NONE;
	bool final;

	if (flags & SR__SF_NOTIF)
		final = (cf & IORING_CQE_F_NOTIF) || !(cf & IORING_CQE_F_MORE);
	else if (flags & SR__SF_MULTI)
		final = !(cf & IORING_CQE_F_MORE);
	else
		final = true;
	if (final && (flags & (SR__SF_MULTI | SR__SF_CB))) {
		item = x->_resv;
		x->_resv = SR__NONE;
	} else if (flags & SR__SF_MULTI) {
		item = sr__item_alloc(r);
		if (item == SR__NONE && r->_state != SR__RING_CLOSING)
			return false;
	}
	if ((flags & SR__SF_NOTIF) && !(cf & IORING_CQE_F_NOTIF)) {
		x->_res0 = res;
		x->_cflags0 = cf;
		s->_flags |= SR__SF_GOTRES;
		if (final) {
			res = 0;	/* no notification will follow */
			cf = 0;
		}
	}
	if (flags & SR__SF_FINISH)
		sr_op_table[sr__slot_op(s)].finish(r, idx, res, cf, final);
	if (flags & SR__SF_MULTI) {
		if (item == SR__NONE)
			return true;	/* a closing ring's stream item: dropped */
		if (flags & SR__SF_CB) {
			fifo_push(r, &r->_ext->dq_head, &r->_ext->dq_tail, item, idx, res, cf);
		} else {
			fifo_push(r, &x->_qhead, &x->_qtail, item, idx, res, cf);
			if (final)
				s->_state = SR__SLOT_DONE;
		}
		return true;
	}
	if (!final)
		return true;
	s->_res = res;
	s->_cflags = cf;
	/* A callback slot stays in flight until its callback ran: it is never
	 * DONE for a waiter to consume. */
	if (flags & SR__SF_CB)
		fifo_push(r, &r->_ext->dq_head, &r->_ext->dq_tail, item, idx, res, cf);
	else
		s->_state = SR__SLOT_DONE;
	return true;
}

/* Keep a raw op's CQE met while reaping for tracked ones; false: no memory. */
static bool raw_keep(struct sr_ring *r, const struct io_uring_cqe *cqe)
{
	if (r->_rawq_tail - r->_rawq_head == r->_rawq_cap) {
		unsigned n = r->_rawq_cap ? r->_rawq_cap * 2 : 64;
		struct io_uring_cqe *q = sr__malloc(n * sizeof(*q));

		if (!q)
			return r->_state == SR__RING_CLOSING;	/* nobody reaps them any more */
		for (unsigned i = 0; i < r->_rawq_tail - r->_rawq_head; i++)
			q[i] = r->_rawq[(r->_rawq_head + i) % r->_rawq_cap];
		free(r->_rawq);
		r->_rawq = q;
		r->_rawq_tail -= r->_rawq_head;
		r->_rawq_head = 0;
		r->_rawq_cap = n;
	}
	r->_rawq[r->_rawq_tail++ % r->_rawq_cap] = *cqe;
	return true;
}

/* CQEs off the inline path: ops with more than a plain completion, the
 * runtime's own requests, and raw ops. */
bool sr__reap_special(struct sr_ring *r, const struct io_uring_cqe *cqe)
{
	uint64_t ud = cqe->user_data;
	uint32_t idx = (uint32_t)(ud & SR__UD_SLOT_MASK);
	struct sr_slot *s;

	if (!(ud & SR__UD_TRACKED))
		return raw_keep(r, cqe);
	if ((ud & SR__UD_OP_MASK) == SR__UD_OP_MASK) {
		if (((ud >> SR__UD_KIND_SHIFT) & 0xff) != SR__UDK_IGNORE && !sr__fb_cqe(r, cqe))
			return false;
		r->_ext->internal_cqes++;
		return true;
	}
	s = idx < r->_nslots ? &r->_slots[idx] : NULL;
	if (!s || s->_ud != ud || s->_state != SR__SLOT_INFLIGHT) {
		r->_ext->stale_cqes++;
		return true;
	}
	return sr__complete(r, idx, cqe->res, cqe->flags);
}

int sr__raw_reap_slow(struct sr_ring *r, struct io_uring_cqe *out, unsigned max)
{
	unsigned n = 0;
	int ret = 0, fret = 0;

	if (!sr__owned(r))
		return sr__not_owner(r, "sr_raw_reap");
	/* Pull everything ready into the queue first, then hand out in order. */
	if (r->_uring_up)
		ret = sr__reap_ready(r);
	if (r->_fb)
		fret = sr__fb_reap(r, false);
	while (n < max && r->_rawq_head != r->_rawq_tail)
		out[n++] = r->_rawq[r->_rawq_head++ % r->_rawq_cap];
	sr__deliver_pending(r);
	if (!n && (ret == -ENOMEM || fret == -ENOMEM))
		return -ENOMEM;
	return (int)n;
}

int sr_raw_wait(struct sr_ring *r, struct io_uring_cqe *out, unsigned max)
{
	for (;;) {
		int n = sr_raw_reap(r, out, max);
		int ret;

		if (n < 0)
			return n;
		if (n) {
			sr__deliver_pending(r);
			return n;
		}
		/* Raw ops are refused without io_uring: waiting would be forever. */
		if (!r->_uring_up) {
			char why[320];

			return sr__fail(-EOPNOTSUPP, "sr_raw_wait: no raw op can be in flight; %s",
					sr__no_uring_why("ring", why, sizeof(why)));
		}
		if (!r->_fb) {
			sr__cq_publish(r);
			ret = io_uring_submit_and_wait(&r->_uring, 1);
		} else {
			ret = sr__wait_some(r, true);
		}
		if (ret < 0 && ret != -EBUSY && ret != -EAGAIN && ret != -ETIME)
			return ret == -EINTR ? ret : sr__fail(ret, "sr_raw_wait: io_uring_enter failed");
	}
}

/*
 * Submit and block until a CQE is ready (timeout_ms < 0: however long it
 * takes; -ETIME when the time ran out).  The fallback backend's threads
 * wake this wait through its internal poll on their eventfd (a CQE), which
 * works with DEFER_TASKRUN, where polling the ring fd would not.
 */
static int kernel_wait(struct sr_ring *r, int timeout_ms)
{
	struct __kernel_timespec ts;
	struct io_uring_cqe *cqe;

	/*
	 * valgrind runs one thread at a time and keeps this one running while
	 * it sleeps in io_uring_enter, so the backend's threads could never
	 * post: under valgrind, wait in slices, polling their eventfd.
	 */
	if (sr__unlikely(r->_fb && RUNNING_ON_VALGRIND)) {
		for (int waited = 0;; waited++) {
			struct pollfd p = { .fd = sr__fb_fd(r), .events = POLLIN };
			int ret;

			sr__cq_publish(r);
			ret = io_uring_sq_ready(&r->_uring) ? io_uring_submit(&r->_uring) :
							      io_uring_get_events(&r->_uring);
			if (ret < 0 && ret != -EBUSY && ret != -EAGAIN)
				return ret;
			if (sr__cq_has(r) || poll(&p, 1, 1) > 0)
				return 0;
			if (timeout_ms >= 0 && waited >= timeout_ms)
				return -ETIME;
		}
	}
	sr__cq_publish(r);
	if (timeout_ms < 0)
		return io_uring_submit_and_wait(&r->_uring, 1);
	if (io_uring_sq_ready(&r->_uring))
		io_uring_submit(&r->_uring);
	ts.tv_sec = timeout_ms / 1000;
	ts.tv_nsec = (long long)(timeout_ms % 1000) * 1000000;
	return io_uring_wait_cqe_timeout(&r->_uring, &cqe, &ts);
}

/*
 * Hand queued SQEs to the kernel; with block, wait until at least one
 * completion is ready.  CQEs stay in the CQ for the caller to take; the
 * fallback backend's completions are accounted here.  Returns how many
 * fallback completions were processed, or a negative error.
 */
int sr__enter(struct sr_ring *r, bool block)
{
	int ret, n = 0;

	if (sr__unlikely(r->_ext->capture))
		return sr__fail(-EINVAL, "ring: a capture ring never submits; it cannot wait");
	if (r->_fb) {
		sr__fb_submit(r);
		n = sr__fb_reap(r, block && !r->_uring_up);
		if (n > 0)
			sr__deliver_pending(r);
	}
	if (!r->_uring_up || n)
		return n;
	sr__cq_publish(r);
	if (block)
		ret = kernel_wait(r, -1);
	else if (io_uring_sq_ready(&r->_uring))
		ret = io_uring_submit(&r->_uring);
	else
		ret = io_uring_get_events(&r->_uring);
	if (ret < 0 && ret != -EBUSY && ret != -EAGAIN && ret != -ETIME) {
		if (ret == -EINTR)
			return ret;
		return sr__fail(ret, "ring: io_uring_enter failed");
	}
	return 0;
}

/* Reap the kernel's CQEs and the backend's completions: how many, or -ENOMEM. */
static int reap_all(struct sr_ring *r, bool fb_block)
{
	int n = 0, ret;

	if (r->_uring_up) {
		n = sr__reap_ready(r);
		if (n < 0)
			return n;
	}
	if (r->_fb) {
		ret = sr__fb_reap(r, fb_block && !n);
		if (ret < 0)
			return ret;
		n += ret;
	}
	return n;
}

/*
 * Submit what is queued and reap what is ready; with block, wait for at
 * least one completion first.  Returns the number of completions
 * processed, or a negative error (-EINTR when a signal interrupted,
 * -ENOMEM when a completion could not be recorded: it is kept).
 */
int sr__wait_some(struct sr_ring *r, bool block)
{
	int n, ret;

	if (sr__unlikely(r->_ext->capture))
		return sr__fail(-EINVAL, "ring: a capture ring never submits; it cannot wait");
	if (r->_fb)
		sr__fb_submit(r);
	n = reap_all(r, block && !r->_uring_up);
	if (n) {
		if (n > 0 && r->_uring_up && io_uring_sq_ready(&r->_uring))
			io_uring_submit(&r->_uring);
		sr__deliver_pending(r);
		return n;
	}
	if (r->_uring_up) {
		sr__cq_publish(r);
		if (block)
			ret = kernel_wait(r, -1);
		else if (io_uring_sq_ready(&r->_uring))
			ret = io_uring_submit(&r->_uring);
		else
			ret = io_uring_get_events(&r->_uring);
		if (ret < 0 && ret != -EBUSY && ret != -EAGAIN && ret != -ETIME) {
			if (ret == -EINTR)
				return ret;
			return sr__fail(ret, "ring: io_uring_enter failed");
		}
		n = reap_all(r, false);
	}
	sr__deliver_pending(r);
	return n;
}

/* Recount the SQ room from the kernel's head. */
static void sq_recount(struct sr_ring *r)
{
	struct io_uring_sq *sq = &r->_uring.sq;

	r->_sq_limit = io_uring_smp_load_acquire(sq->khead) + sq->ring_entries;
}

/* The counted room ran out: read the kernel's head again, and flush if full. */
struct io_uring_sqe *sr__sqe_refill(struct sr_ring *r)
{
	sq_recount(r);
	if (r->_uring.sq.sqe_tail == r->_sq_limit)
		return sr__sqe_slow(r);
	return sr__get_sqe(r);
}

/*
 * Submit the queued SQEs up to (not including) position end, leaving the
 * rest queued, until the SQ has room.  Returns whether it has.
 */
static bool flush_for_room(struct sr_ring *r, unsigned end)
{
	struct io_uring_sq *sq = &r->_uring.sq;

	for (int i = 0; i < 64; i++) {
		unsigned tail = sq->sqe_tail;
		int ret;

		sr__cq_publish(r);
		sq->sqe_tail = end;	/* liburing submits up to sqe_tail */
		ret = io_uring_submit(&r->_uring);
		sq->sqe_tail = tail;
		if (ret == -EBUSY || ret == -EAGAIN) {
			/* CQ backlog: make room, then retry */
			if (sr__reap_ready(r) < 0)
				return false;
		}
		else if (ret < 0 && ret != -EINTR) {
			sr__fail(ret, "ring: submitting a full SQ failed");
			return false;
		}
		sq_recount(r);
		if (sq->sqe_tail != r->_sq_limit)
			return true;
	}
	sr__fail(-EBUSY, "ring: the SQ stays full");
	return false;
}

struct io_uring_sqe *sr__sqe_slow(struct sr_ring *r)
{
	struct io_uring_sq *sq = &r->_uring.sq;
	unsigned end = sq->sqe_tail;

	if (r->_flags & SR_RING_SQ_NOFLUSH) {
		sr__fail(-EBUSY, "ring: the SQ is full (SR_RING_SQ_NOFLUSH): sr_ring_submit, then submit again");
		return NULL;
	}
	if (r->_ext->capture) {
		sr__fail(-EBUSY, "ring: capture ring SQ is full; call sr_ring_discard");
		return NULL;
	}
	/*
	 * The kernel ends a chain where a submission ends: in an open chain
	 * only what was queued before it is submitted.  A chain that fills
	 * the SQ on its own cannot be kept whole.
	 */
	if (r->_ext->chain_queued) {
		end = r->_ext->chain_sq_start;
		if ((int)(end - sq->sqe_head) <= 0) {
			sr__fail(-EBUSY, "sr_chain_add: the SQ is full after %u ops of the chain, and submitting "
				 "them now would end the chain there (the kernel ends a chain with a "
				 "submission); the %u queued run as a shorter chain: create the ring with more "
				 "entries, or make the chain shorter", r->_ext->chain_queued,
				 r->_ext->chain_queued);
			return NULL;
		}
	}
	/* The SQ is full: hand it to the kernel and take the freed entry. */
	if (!flush_for_room(r, end))
		return NULL;
	return sr__get_sqe(r);
}

/* --- handles ------------------------------------------------------------------- */

int sr__op_state_error(const struct sr_op *op, const char *fn)
{
	if (op->_state == SR__OP_SPENT)
		return sr__fail(-EALREADY, "%s: this %s op was already submitted; build a new one with sr_%s()",
				fn, op_name(op->_op), op_name(op->_op));
	return sr__fail(-EINVAL, "%s: not an op built by sr_%s() (uninitialized or corrupted)",
			fn, op_name(op->_op));
}

int sr__handle_error(struct sr_ring *r, const struct sr_handle *h, unsigned op, const char *fn)
{
	uint32_t idx = (uint32_t)(h->_ud & SR__UD_SLOT_MASK);
	unsigned hop = (unsigned)((h->_ud & SR__UD_OP_MASK) >> SR__UD_OP_SHIFT);
	struct sr_slot *s;

	if (!sr__owned(r))
		return sr__not_owner(r, fn);
	if (!(h->_ud & SR__UD_TRACKED) || !h->_ring)
		return sr__fail(-EINVAL, "%s: not a handle from sr_%s_submit (zeroed, or from a failed submit)",
				fn, op_name(op));
	if (h->_ring != r->_id)
		return sr__fail(-EXDEV, "%s: the %s handle belongs to another ring (or to one destroyed since); "
				"wait on it with the ring it was submitted to", fn, op_name(hop < sr_op_count ? hop : op));
	if (idx >= r->_nslots)
		return sr__fail(-EINVAL, "%s: not a handle from sr_%s_submit on this ring", fn, op_name(op));
	if (hop != op)
		return sr__fail(-EINVAL, "%s: the handle is for a %s op, not %s", fn, op_name(hop), op_name(op));
	s = &r->_slots[idx];
	if (s->_ud != h->_ud)
		return sr__fail(-ESTALE, "%s: stale handle: that %s op was already completed and consumed; "
				"each submitted op is waited (or polled to completion) once", fn, op_name(op));
	if (s->_flags & SR__SF_CB)
		return sr__fail(-EINVAL, "%s: this %s op delivers to its callback; run the ring "
				"(sr_ring_run/_poll) instead of waiting on it", fn, op_name(op));
	return sr__fail(-EINVAL, "%s: bad handle", fn);
}

/*
 * A batch of one: a plain op was submitted just now and its CQE is not
 * there.  Submitting alone often completes it (a NOP, a ready socket), so,
 * like io_uring_submit + io_uring_wait_cqe, wait only if not.  Kept apart
 * from sr__not_done so the common case pays for no more than it uses.
 * Returns whether a CQE is ready; the caller checks it is the op's.
 */
bool sr__enter_one(struct sr_ring *r, uint64_t ud)
{
	uint32_t idx = (uint32_t)(ud & SR__UD_SLOT_MASK);

	/* Only a live handle whose CQE is still to come may block: the
	 * kernel has its op (one reaped earlier is in its slot already). */
	if (r->_fb || (r->_flags & SR_RING_CAPTURE) || !r->_uring_up || idx >= r->_nslots ||
	    r->_slots[idx]._ud != ud || r->_slots[idx]._state == SR__SLOT_DONE)
		return false;
	if (io_uring_submit(&r->_uring) < 0)
		return false;
	if (sr__cq_has(r))
		return true;
	return io_uring_submit_and_wait(&r->_uring, 1) >= 0 && sr__cq_has(r);
}

/*
 * The slow half of sr__wait_done: the op is not done yet.  Entering the
 * kernel leaves the new CQEs in the CQ: when ours is first, it is taken
 * there (the batch case: wait in submission order); otherwise everything
 * before it is reaped into its slots.
 */
int sr__not_done(struct sr_ring *r, const struct sr_handle *h, unsigned op, const char *fn, bool block)
{
	uint64_t want = sr__want(h, op);
	uint32_t idx = (uint32_t)(want & SR__UD_SLOT_MASK);

	/*
	 * The usual way here: an op submitted just now (a batch of one), no
	 * CQE yet.  Enter once, and take its CQE from the CQ head.
	 */
	if (block && r->_uring_up && !(want & SR__UD_SLOW) && !sr__cq_has(r) && sr__enter_one(r, want) &&
	    sr__cq_head(r)->user_data == want) {
		const struct io_uring_cqe *cqe = sr__cq_head(r);

		r->_slots[idx]._res = cqe->res;
		r->_slots[idx]._cflags = cqe->flags;
		r->_slots[idx]._state = SR__SLOT_DONE;
		r->_cqh++;
		return 0;
	}

	for (;;) {
		struct sr_slot *s;
		int ret;

		idx = sr__slot_of(r, h, op);
		if (idx == SR__NONE || (r->_slots[idx]._flags & SR__SF_CB))
			return sr__handle_error(r, h, op, fn);
		s = &r->_slots[idx];
		if (s->_state == SR__SLOT_DONE)
			return 0;
		if (r->_uring_up && sr__cq_has(r)) {
			const struct io_uring_cqe *cqe = sr__cq_head(r);

			if (cqe->user_data == want && !s->_flags) {
				s->_res = cqe->res;
				s->_cflags = cqe->flags;
				s->_state = SR__SLOT_DONE;
				r->_cqh++;
				return 0;
			}
			ret = sr__reap_ready(r);
			sr__deliver_pending(r);
			if (ret < 0)
				return ret;
			continue;
		}
		ret = sr__enter(r, block);
		if (ret < 0)
			return ret;
		if (!block && !ret && r->_slots[idx]._state != SR__SLOT_DONE &&
		    (!r->_uring_up || !sr__cq_has(r)))
			return -EAGAIN;
	}
}

int sr__target(struct sr_ring *r, struct sr_op *op, const struct sr_handle *h, const char *fn, const char *arg,
	       uint64_t *ud)
{
	uint32_t idx = (uint32_t)(h->_ud & SR__UD_SLOT_MASK);

	if (h->_ring != r->_id && h->_ring && (h->_ud & SR__UD_TRACKED))
		return sr__fail(-EXDEV, "%s: %s: the target op belongs to another ring (or to one destroyed "
				"since); an op acts only on ops of its own ring", fn, arg);
	if (!(h->_ud & SR__UD_TRACKED) || h->_ring != r->_id || idx >= r->_nslots)
		return sr__fail(-EINVAL, "%s: %s: not a handle from a submit on this ring (zeroed, or from a "
				"failed submit)", fn, arg);
	if (r->_slots[idx]._ud != h->_ud)
		return sr__fail(-ESTALE, "%s: %s: stale handle: the target op was already completed and "
				"consumed", fn, arg);
	*ud = h->_ud;
	/* The kernel knows a fallback op only by the backend's user_data, and
	 * not at all while the backend itself runs it. */
	if (r->_slotx[idx]._fb && !sr__fb_target(r, idx, ud))
		op->_slow |= SR__SLOW_BACKEND;
	return 0;
}

int sr__set_sqe_flags(struct sr_op *op, unsigned flags, const char *fn)
{
	if (flags & ~SR_IOSQE_USER_MASK)
		return sr__fail(-EINVAL, "%s: flags 0x%x: only IOSQE_IO_LINK, _IO_HARDLINK, _IO_DRAIN and "
				"_ASYNC are set by hand; fixed files, buffer groups and skipped CQEs have typed "
				"setters", fn, flags & ~SR_IOSQE_USER_MASK);
	op->_sqe_flags = (uint8_t)((op->_sqe_flags & ~SR_IOSQE_USER_MASK) | flags);
	op->_special |= SR__SPECIAL_SET;
	return 0;
}

int sr__raw_unavailable(struct sr_ring *r, unsigned op)
{
	char why[160];

	return sr__fail(-EOPNOTSUPP, "sr_%s_raw: %s; the checked sr_%s() can take its fallback",
			op_name(op), sr__op_missing(r, op, why, sizeof(why)), op_name(op));
}

/* --- submit (slow path) ----------------------------------------------------------------- */


/* The uncommon part of commit: hand-set flags, personality, fixed file, fallback. */
void sr__commit_special(struct sr_ring *r, struct sr_op *op, uint32_t idx, struct io_uring_sqe *sqe)
{
	struct sr_slot *s = &r->_slots[idx];

	sqe->flags |= op->_sqe_flags;
	sqe->personality = op->_personality;
	if (op->_special & SR__SPECIAL_FALLBACK) {
		s->_flags |= SR__SF_FALLBACK;
		sr__fb_commit(r, idx, sqe);
		return;
	}
	sqe->user_data = s->_ud;
}

struct sr__begun sr__begin_slow(struct sr_ring *r, struct sr_op *op, unsigned opid)
{
	struct sr__begun b = { NULL, NULL, 0 };
	uint32_t idx;

	if (r->_state != SR__RING_LIVE) {
		sr__fail(-ESHUTDOWN, "sr_%s_submit: the ring is being destroyed", op_name(opid));
		return b;
	}
	/* The generated submit checked the handle (sr__file_check). */
	if (op->_slow & SR__SLOW_FIXED_FILE) {
		op->_sqe_flags |= SR_IOSQE_FIXED_FILE;
		op->_special |= SR__SPECIAL_SET;
	}
	/* Not native, or a fallback op's IO_LINK chain is open (the native
	 * bitmap is cleared meanwhile): the backend takes it. */
	if (!sr__native(r, opid) || (op->_slow & (SR__SLOW_BACKEND | SR__SLOW_REARM))) {
		b.sqe = sr__fb_begin(r, op, opid, &b.idx);
		if (b.sqe)
			b.slot = &r->_slots[b.idx];
		return b;
	}
	idx = r->_free;
	if (idx == SR__NONE && (idx = sr__slot_grow(r)) == SR__NONE)
		return b;
	b.sqe = sr__get_sqe(r);
	if (!b.sqe)
		return b;
	sr__slot_take(r, idx);
	b.idx = idx;
	b.slot = &r->_slots[idx];
	return b;
}

/* --- multishot streams ---------------------------------------------------------- */

int sr__next(struct sr_ring *r, const struct sr_handle *h, unsigned op, const char *fn, bool block,
	     uint32_t *idxp)
{
	struct sr__item it;
	uint32_t idx;
	int ret;

	if (!sr__owned(r))
		return sr__not_owner(r, fn);
	for (;;) {
		idx = sr__slot_of(r, h, op);
		if (idx == SR__NONE || (r->_slots[idx]._flags & SR__SF_CB))
			return sr__handle_error(r, h, op, fn);
		if (r->_slotx[idx]._qhead != SR__NONE)
			break;
		if (r->_slots[idx]._state == SR__SLOT_DONE)
			return sr__fail(-EINVAL, "%s: internal: finished stream without items", fn);
		/* A re-armed stream (fallback) asks again only now, so what the
		 * caller did with the last item (drain the fd) counts. */
		if (r->_slotx[idx]._fb)
			sr__fb_consumed(r, idx);
		ret = sr__wait_some(r, block);
		if (ret < 0)
			return ret;
		if (!block && r->_slotx[idx]._qhead == SR__NONE)
			return -EAGAIN;
	}
	fifo_pop(r, &r->_slotx[idx]._qhead, &r->_slotx[idx]._qtail, &it);
	r->_slots[idx]._res = it.res;
	r->_slots[idx]._cflags = it.cflags;
	r->_slotx[idx]._fgen[0] = it.fgen;
	*idxp = idx;
	return 0;
}

void sr__next_done(struct sr_ring *r, uint32_t idx)
{
	struct sr_slot *s = &r->_slots[idx];

	if (!(s->_cflags & IORING_CQE_F_MORE) && r->_slotx[idx]._qhead == SR__NONE &&
	    s->_state == SR__SLOT_DONE) {
		s->_state = SR__SLOT_INFLIGHT;
		sr__free_slot(r, idx);
	}
}

/* --- the runtime's own SQEs ----------------------------------------------------------- */

static struct io_uring_sqe *sq_at(struct sr_ring *r, unsigned i)
{
	struct io_uring_sq *sq = &r->_uring.sq;

	return (struct io_uring_sqe *)((char *)sq->sqes + ((size_t)(i & sq->ring_mask) << r->_sqe_shift));
}

/*
 * An SQE for a request of the runtime's own.  Queued SQEs that end in an
 * open IO_LINK chain (the caller is still adding to it) move up one place
 * so the request goes in front of the chain instead of joining it.
 */
struct io_uring_sqe *sr__sqe_internal(struct sr_ring *r)
{
	struct io_uring_sq *sq = &r->_uring.sq;
	size_t size = (size_t)1 << r->_sqe_shift;
	struct io_uring_sqe *sqe = sr__get_sqe(r);
	unsigned tail, start;

	if (!sqe)
		return NULL;
	tail = sq->sqe_tail - 1;	/* where the new SQE is */
	for (start = tail; start != sq->sqe_head &&
	     (sq_at(r, start - 1)->flags & (IOSQE_IO_LINK | IOSQE_IO_HARDLINK)); start--)
		;
	if (start == tail)
		return sqe;
	for (unsigned i = tail; i != start; i--)
		memcpy(sq_at(r, i), sq_at(r, i - 1), size);
	sqe = sq_at(r, start);
	memset(sqe, 0, size);
	return sqe;
}

/* --- cancellation ------------------------------------------------------------------- */

int sr__push_cancel(struct sr_ring *r, uint64_t ud)
{
	struct io_uring_sqe *sqe = sr__sqe_internal(r);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_cancel64(sqe, ud, 0);
	sqe->user_data = SR__UD_INTERNAL;
	return 0;
}

int sr__cancel(struct sr_ring *r, const struct sr_handle *h, unsigned op, const char *fn)
{
	uint32_t idx;
	struct sr_slot *s;

	if (!sr__owned(r))
		return sr__not_owner(r, fn);
	idx = sr__slot_of(r, h, op);
	if (idx == SR__NONE)
		return sr__handle_error(r, h, op, fn);
	s = &r->_slots[idx];
	if (s->_state != SR__SLOT_INFLIGHT)
		return 0;	/* already completed: nothing to cancel */
	s->_flags |= SR__SF_CANCEL;
	if (s->_flags & SR__SF_FALLBACK)
		return sr__fb_cancel(r, idx);
	if (sr__push_cancel(r, s->_ud))
		return sr__fail(-EBUSY, "%s: no room to queue the cancel request", fn);
	return 0;
}

/* Complete queued-but-unsubmitted ops with -ECANCELED and drop their SQEs. */
static int discard(struct sr_ring *r)
{
	struct io_uring_sq *sq = &r->_uring.sq;
	int n = 0;

	/* Each is a final completion, which has its item reserved: this
	 * cannot run out of memory. */
	for (unsigned i = sq->sqe_head; r->_uring_up && i != sq->sqe_tail; i++) {
		struct io_uring_sqe *sqe = sq_at(r, i);
		struct io_uring_cqe fake;

		if (!(sqe->user_data & SR__UD_TRACKED))
			continue;
		memset(&fake, 0, sizeof(fake));
		fake.user_data = sqe->user_data;
		fake.res = -ECANCELED;
		sr__reap_one(r, &fake);
		n += (sqe->user_data & SR__UD_OP_MASK) != SR__UD_OP_MASK;
	}
	if (r->_uring_up)
		sq->sqe_tail = sq->sqe_head;
	if (r->_fb) {
		n += sr__fb_discard(r);
		sr__fb_reap(r, false);
	}
	sr__deliver_pending(r);
	return n;
}

int sr_ring_discard(struct sr_ring *r)
{
	int ret = sr__ring_use(r, "sr_ring_discard");

	return ret ? ret : discard(r);
}

/* --- public ring API -------------------------------------------------------------- */

int sr_ring_create(struct sr_ring **ringp, const struct sr_ring_params *p)
{
	static const struct sr_ring_params defaults;
	struct sr_ring *r;
	unsigned entries, nslots;
	int ret;

	*ringp = NULL;
	if (sr_op_table_abi != SR_GEN_ABI)
		return sr__fail(-EINVAL, "sr_ring_create: the op table was generated for ABI %u, the runtime "
				"is ABI %u; regenerate with make generate", sr_op_table_abi, SR_GEN_ABI);
	if (!p)
		p = &defaults;
	entries = p->entries ? p->entries : 256;
	r = sr__calloc(1, sizeof(*r));
	if (!r)
		return sr__fail(-ENOMEM, "sr_ring_create: out of memory");
	r->_ext = sr__calloc(1, sizeof(*r->_ext));
	if (!r->_ext) {
		free(r);
		return sr__fail(-ENOMEM, "sr_ring_create: out of memory");
	}
	r->_ext->free_item = SR__NONE;
	r->_ext->dq_head = r->_ext->dq_tail = SR__NONE;
	r->_ext->max_inflight = p->max_inflight;
	r->_ext->next_bgid = 1;
	r->_ext->capture = p->flags & SR_RING_CAPTURE;
	r->_ext->creator = sr__self();
	r->_owner = sr__self();
	r->_policy = sr_caps_get()->policy >= 0 ? sr_caps_get()->policy : (int)p->policy;
	r->_flags = p->flags;
	r->_eventfd = -1;
	ret = sr__setup(r, entries, p);
	if (ret < 0)
		goto fail;
	nslots = entries * 2 < 64 ? 64 : entries * 2;
	if (p->max_inflight && nslots > p->max_inflight)
		nslots = p->max_inflight;	/* the table never grows past it either */
	ret = slots_init(r, nslots);
	if (ret < 0) {
		ret = sr__fail(ret, "sr_ring_create: out of memory for %u op slots", nslots);
		goto fail;
	}
	if (p->flags & SR_RING_EVENTFD) {
		ret = sr_ring_eventfd(r);
		if (ret < 0)
			goto fail;
	}
	r->_state = SR__RING_LIVE;
	sr__ring_register(r);
	*ringp = r;
	return 0;
fail:
	if (r->_uring_up)
		io_uring_queue_exit(&r->_uring);
	sr__fb_destroy(r);
	if (r->_eventfd >= 0)
		close(r->_eventfd);
	free(r->_slots);
	free(r->_slotx);
	free(r->_ext);
	free(r);
	return ret;
}

int sr_ring_submit(struct sr_ring *r)
{
	int ret, started = 0;

	ret = sr__ring_use(r, "sr_ring_submit");
	if (ret)
		return ret;
	if (r->_ext->capture)
		return 0;
	if (r->_fb)
		started = sr__fb_submit(r);
	if (!r->_uring_up)
		return started;
	sr__cq_publish(r);
	ret = io_uring_submit(&r->_uring);
	if (ret < 0 && ret != -EBUSY && ret != -EAGAIN && ret != -EINTR)
		return sr__fail(ret, "sr_ring_submit: io_uring_enter failed");
	return (ret < 0 ? 0 : ret) + started;
}

int sr_ring_poll(struct sr_ring *r)
{
	int ret = sr__ring_use(r, "sr_ring_poll");

	return ret ? ret : sr__wait_some(r, false);
}

static int run_once(struct sr_ring *r, int timeout_ms)
{
	int ret;

	if (timeout_ms < 0)
		return sr__wait_some(r, true);
	ret = sr__wait_some(r, false);
	if (ret != 0 || timeout_ms == 0)
		return ret;
	if (r->_fb && !r->_uring_up) {
		ret = sr__fb_wait(r, timeout_ms);
		if (ret < 0)
			return ret;
		return sr__wait_some(r, false);
	}
	ret = kernel_wait(r, timeout_ms);
	if (ret < 0 && ret != -ETIME && ret != -EINTR)
		return sr__fail(ret, "sr_ring_run_once: waiting failed");
	if (ret == -EINTR)
		return sr__fail(ret, "sr_ring_run_once: interrupted by a signal");
	return sr__wait_some(r, false);
}

int sr_ring_run_once(struct sr_ring *r, int timeout_ms)
{
	int ret = sr__ring_use(r, "sr_ring_run_once");

	if (ret)
		return ret;
	if (r->_ext->delivering)
		return in_callback(r, "sr_ring_run_once");
	return run_once(r, timeout_ms);
}

int sr_ring_run(struct sr_ring *r)
{
	int ret = sr__ring_use(r, "sr_ring_run");

	if (ret)
		return ret;
	if (r->_ext->delivering)
		return in_callback(r, "sr_ring_run");
	__atomic_store_n(&r->_stop, false, __ATOMIC_RELAXED);
	while (!__atomic_load_n(&r->_stop, __ATOMIC_RELAXED) && r->_ext->cbs) {
		ret = sr__wait_some(r, true);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Any thread, and signal handlers: the loop stops when it next wakes. */
void sr_ring_stop(struct sr_ring *r)
{
	__atomic_store_n(&r->_stop, true, __ATOMIC_RELAXED);
}

int sr_ring_fd(const struct sr_ring *r)
{
	if (r->_uring_up)
		return r->_uring.ring_fd;
	return r->_fb ? sr__fb_fd(r) : -1;
}

int sr_ring_eventfd(struct sr_ring *r)
{
	int fd, ret;

	ret = sr__ring_use(r, "sr_ring_eventfd");
	if (ret)
		return ret;
	if (r->_eventfd >= 0)
		return r->_eventfd;
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0)
		return sr__fail(-errno, "sr_ring_eventfd: eventfd failed");
	if (r->_uring_up) {
		ret = io_uring_register_eventfd(&r->_uring, fd);
		if (ret < 0) {
			close(fd);
			return sr__fail(ret, "sr_ring_eventfd: registering the eventfd failed");
		}
	}
	r->_eventfd = fd;
	return fd;
}

unsigned sr_ring_inflight(const struct sr_ring *r)
{
	unsigned n = 0;

	if (sr__ring_use(r, "sr_ring_inflight"))
		return 0;
	for (unsigned i = 0; i < r->_nslots; i++)
		n += r->_slots[i]._ud != 0;
	return n;
}

struct io_uring *sr_ring_uring(struct sr_ring *r)
{
	if (sr__unlikely(!sr__owned(r))) {
		sr__not_owner(r, "sr_ring_uring");
		return NULL;
	}
	return r->_uring_up ? &r->_uring : NULL;
}

bool sr_ring_native(const struct sr_ring *r, unsigned op)
{
	return op < sr_op_count && sr__fb_native(r, op);
}

const char *sr_ring_backend(const struct sr_ring *r)
{
	return r->_uring_up ? "io_uring" : "fallback";
}

/* --- threads ------------------------------------------------------------------------ */

int sr_ring_release(struct sr_ring *r)
{
	int ret = sr__ring_use(r, "sr_ring_release");

	if (ret)
		return ret;
	if (r->_ext->delivering)
		return in_callback(r, "sr_ring_release");
	__atomic_store_n(&r->_owner, 0, __ATOMIC_RELEASE);
	return 0;
}

int sr_ring_acquire(struct sr_ring *r)
{
	uintptr_t me = sr__self(), none = 0;

	if (r->_owner == me)
		return 0;
	if (r->_owner == SR__OWNER_FORKED)
		return sr__not_owner(r, "sr_ring_acquire");
	if (__atomic_load_n(&r->_owner, __ATOMIC_RELAXED))
		return sr__fail(-EBUSY, "sr_ring_acquire: the ring belongs to another thread; its owner "
				"sr_ring_release()s it first");
	if (r->_uring_up && (r->_setup_flags & SR_IORING_SETUP_SINGLE_ISSUER) && me != r->_ext->creator)
		return sr__fail(-EPERM, "sr_ring_acquire: the ring was set up with IORING_SETUP_SINGLE_ISSUER, "
				"so the kernel takes its submissions only from the thread that created it; create "
				"rings to be handed over with SR_RING_MOVABLE");
	if (!__atomic_compare_exchange_n(&r->_owner, &none, me, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return sr__fail(-EBUSY, "sr_ring_acquire: the ring belongs to another thread; its owner "
				"sr_ring_release()s it first");
	return 0;
}

/* --- teardown ------------------------------------------------------------------------ */

static unsigned count_busy(struct sr_ring *r)
{
	unsigned n = 0;

	for (unsigned i = 0; i < r->_nslots; i++)
		n += r->_slots[i]._ud && r->_slots[i]._state == SR__SLOT_INFLIGHT;
	return n;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "3 ops: send_zc (waits for its notification), read" */
static void describe_busy(struct sr_ring *r, char *buf, size_t len)
{
	size_t at;
	unsigned n = count_busy(r), shown = 0;

	at = (size_t)snprintf(buf, len, "%u op%s in flight:", n, n == 1 ? "" : "s");
	for (unsigned i = 0; i < r->_nslots && at < len; i++) {
		const struct sr_slot *s = &r->_slots[i];
		const char *why = "";

		if (!s->_ud || s->_state != SR__SLOT_INFLIGHT)
			continue;
		if (shown++ == 8) {
			at += (size_t)snprintf(buf + at, len - at, " ...");
			break;
		}
		if ((s->_flags & SR__SF_NOTIF) && (s->_flags & SR__SF_GOTRES))
			why = " (sent; the kernel holds its buffer until the peer has the data: its notification)";
		else if (s->_flags & SR__SF_FALLBACK)
			why = " (on the fallback backend)";
		at += (size_t)snprintf(buf + at, len - at, "%s %s%s", shown > 1 ? "," : "",
				       op_name(sr__slot_op(s)), why);
	}
}

/*
 * Cancel everything in flight and wait until the kernel has posted every
 * CQE: only then is no request left that could write into memory the
 * caller frees after we return.  Ops that ignore cancellation are waited
 * for, with a note on stderr every few seconds saying which; with a
 * deadline (timeout_ms >= 0), -ETIMEDOUT once it passes.
 */
static int drain(struct sr_ring *r, int timeout_ms, const char *fn)
{
	double start = now_s(), last_cancel = -1, last_note = start;
	char what[512];

	for (;;) {
		double t = now_s(), left = 1e9;

		if (!count_busy(r))
			return 0;
		if (timeout_ms >= 0) {
			left = (double)timeout_ms / 1000 - (t - start);
			if (left <= 0 && last_cancel >= 0) {
				describe_busy(r, what, sizeof(what));
				return sr__fail(-ETIMEDOUT, "%s: gave up after %d ms with %s; nothing was freed "
						"(the ring stays closing: destroy it again to go on waiting)",
						fn, timeout_ms, what);
			}
		}
		if (t - last_cancel >= 1.0) {
			for (unsigned i = 0; i < r->_nslots; i++) {
				struct sr_slot *s = &r->_slots[i];

				if (!s->_ud || s->_state != SR__SLOT_INFLIGHT)
					continue;
				if (s->_flags & SR__SF_FALLBACK)
					sr__fb_cancel(r, i);
				else
					sr__push_cancel(r, s->_ud);
			}
			last_cancel = t;
		}
		if (t - last_note >= 5.0) {
			describe_busy(r, what, sizeof(what));
			fprintf(stderr, "safer-ring: %s has waited %.0f s for %s\n", fn, t - start, what);
			last_note = t;
		}
		/* A closing ring's completions never need new memory (see
		 * sr__complete): this cannot stall. */
		run_once(r, left < 0.1 ? (int)(left * 1000) + 1 : 100);
	}
}

/* Free what the ring holds; every op is done (or, forked, never ours). */
static void ring_free(struct sr_ring *r)
{
	struct sr__ring_ext *x = r->_ext;

	sr__ring_unregister(r);
	/* Groups with buffers still out are kept for them (group.c). */
	sr__groups_destroy(r);
	sr__files_destroy(r);
	if (r->_uring_up)
		io_uring_queue_exit(&r->_uring);
	sr__fb_destroy(r);
	if (r->_eventfd >= 0)
		close(r->_eventfd);
	for (unsigned i = 0; i < r->_nslots; i++)
		free(r->_slotx[i]._store);
	free(r->_slots);
	free(r->_slotx);
	free(x->items);
	free(r->_rawq);
	free(x);
	free(r);
}

/*
 * The child's copy of a ring inherited across fork(): the kernel ring, the
 * epoll set and the threads are the parent's.  Nothing is submitted or
 * waited for; the memory the ops hold becomes the child's again.
 */
static int destroy_forked(struct sr_ring *r)
{
	for (unsigned i = 0; i < r->_nslots; i++) {
		struct sr_slot *s = &r->_slots[i];

		if (s->_ud && s->_state == SR__SLOT_INFLIGHT && (s->_flags & SR__SF_FINISH))
			sr_op_table[sr__slot_op(s)].finish(r, i, -ECANCELED, 0, true);
	}
	sr__fb_forget(r);
	ring_free(r);
	return 0;
}

static int ring_destroy(struct sr_ring *r, int timeout_ms, const char *fn)
{
	struct sr__ring_ext *x;
	int ret;

	if (!r)
		return 0;
	x = r->_ext;
	if (r->_owner == SR__OWNER_FORKED)
		return destroy_forked(r);
	ret = sr__ring_use(r, fn);
	if (ret)
		return ret;
	if (x->delivering)
		return in_callback(r, fn);
	if (x->destroying)
		return sr__fail(-EALREADY, "%s: already being destroyed", fn);
	if (r->_state != SR__RING_CLOSING) {
		r->_state = SR__RING_CLOSING;
		/* Every submit now takes the slow path, which refuses a closing ring. */
		memset(r->_native, 0, sizeof(r->_native));
		discard(r);
	}
	if (!x->capture) {
		x->destroying = true;
		ret = drain(r, timeout_ms, fn);
		x->destroying = false;
		if (ret)
			return ret;
	}
	ring_free(r);
	return 0;
}

int sr_ring_destroy(struct sr_ring *r)
{
	return ring_destroy(r, -1, "sr_ring_destroy");
}

int sr_ring_destroy_timeout(struct sr_ring *r, int timeout_ms)
{
	return ring_destroy(r, timeout_ms < 0 ? 0 : timeout_ms, "sr_ring_destroy_timeout");
}
