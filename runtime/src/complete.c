/* SPDX-License-Identifier: MIT */
/*
 * Completions: accounting each one to its slot by the op's shape (single,
 * multishot items, result-then-notification, callbacks), for kernel CQEs
 * and the fallback backend's alike; delivering callbacks; and the slow
 * halves of waiting for an op or the next item of a stream.  The common
 * case, an op's own CQE at the CQ head, is inline (safer-ring/inline.h).
 */
#define _GNU_SOURCE
#include <stdlib.h>

#include "core.h"

/*
 * Queue entry e (an item, or SR__DQ_SLOT | slot) for delivery.  A slot in
 * the queue links to the next entry through its free-list link, unused
 * while the slot is (it is freed only once delivered); the tail's link is
 * not kept: an entry is in the queue once, so the tail is known by name.
 */
static sr__always_inline void dq_push(struct sr_ring *r, uint32_t e)
{
	struct sr__ring_ext *x = r->_ext;
	uint32_t t = x->dq_tail;

	if (t == SR__NONE)
		x->dq_head = e;
	else if (t & SR__DQ_SLOT)
		r->_slots[t & ~SR__DQ_SLOT]._next = e;
	else
		x->items[t].next = e;
	x->dq_tail = e;
}

void sr__deliver_pending(struct sr_ring *r)
{
	struct sr__ring_ext *x = r->_ext;
	uint32_t e;

	if (x->delivering)
		return;		/* the outer loop delivers; keep the order */
	x->delivering++;
	while ((e = x->dq_head) != SR__NONE) {
		uint32_t slot = e & ~SR__DQ_SLOT;
		bool final = true;

		if (e == x->dq_tail)
			x->dq_head = x->dq_tail = SR__NONE;
		else
			x->dq_head = e & SR__DQ_SLOT ? r->_slots[slot]._next : x->items[e].next;
		if (!(e & SR__DQ_SLOT)) {
			struct sr__item it = x->items[e];

			sr__item_free(r, e);
			slot = it.slot;
			if (r->_slots[slot]._flags & SR__SF_MULTI) {
				r->_slots[slot]._res = it.res;
				r->_slots[slot]._cflags = it.cflags;
				final = !(it.cflags & IORING_CQE_F_MORE);
			}
			r->_slotx[slot]._fgen[0] = it.fgen;
		}
		r->_slotx[slot]._deliver(r, slot);
		/* The callback may have grown the table: index again. */
		if (final) {
			x->cbs--;
			r->_slotx[slot]._deliver = NULL;
			r->_slots[slot]._state = SR__SLOT_INFLIGHT;
			sr__free_slot(r, slot);
		} else if (r->_slotx[slot]._fb && r->_owner != SR__OWNER_FORKED) {
			sr__be(r)->consumed(r, slot);
		}
		/* A callback that called fork() returns in the child too, where
		 * the ring is the parent's: the rest is not the child's to run. */
		if (sr__unlikely(r->_owner == SR__OWNER_FORKED))
			break;
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
static sr__always_inline bool complete(struct sr_ring *r, uint32_t idx, int32_t res, uint32_t cf)
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
	sr__count_done(r, res);
	if ((flags & SR__SF_NOTIF) && !(cf & IORING_CQE_F_NOTIF)) {
		x->_res0 = res;
		x->_cflags0 = cf;
		s->_flags |= SR__SF_GOTRES;
		if (final) {
			res = 0;	/* no notification will follow */
			cf = 0;
		}
	}
	if ((flags & (SR__SF_FINISH | SR__SF_DFIN)) == SR__SF_FINISH)
		sr_op_table[sr__slot_op(s)].finish(r, idx, res, cf, final);
	if (flags & SR__SF_MULTI) {
		if (item == SR__NONE)
			return true;	/* a closing ring's stream item: dropped */
		if (flags & SR__SF_CB) {
			sr__item_fill(r, item, idx, res, cf);
			dq_push(r, item);
		} else {
			sr__fifo_push(r, &x->_qhead, &x->_qtail, item, idx, res, cf);
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
	if (!(flags & SR__SF_CB)) {
		s->_state = SR__SLOT_DONE;
	} else if (item == SR__NONE) {
		dq_push(r, SR__DQ_SLOT | idx);
	} else {	/* an item from sr__track (a program built before sr__track_cb) */
		sr__item_fill(r, item, idx, res, cf);
		dq_push(r, item);
	}
	return true;
}

bool sr__complete(struct sr_ring *r, uint32_t idx, int32_t res, uint32_t cf)
{
	return complete(r, idx, res, cf);
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

/* Never inlined: sr__reap_special's common case then saves no registers. */
static __attribute__((noinline)) bool reap_other(struct sr_ring *r, const struct io_uring_cqe *cqe)
{
	uint64_t ud = cqe->user_data;
	uint32_t idx = (uint32_t)(ud & SR__UD_SLOT_MASK);
	struct sr_slot *s;

	if (!(ud & SR__UD_TRACKED))
		return raw_keep(r, cqe);
	if ((ud & SR__UD_OP_MASK) == SR__UD_OP_MASK) {
		if (((ud >> SR__UD_KIND_SHIFT) & 0xff) != SR__UDK_IGNORE && !sr__be(r)->cqe(r, cqe))
			return false;
		r->_ext->internal_cqes++;
		return true;
	}
	s = idx < r->_nslots ? &r->_slots[idx] : NULL;
	if (!s || s->_ud != ud || s->_state != SR__SLOT_INFLIGHT) {
		r->_ext->stale_cqes++;
		return true;
	}
	return complete(r, idx, cqe->res, cqe->flags);
}

/*
 * CQEs off the inline path: ops with more than a plain completion, the
 * runtime's own requests, and raw ops.  The callback path's common case,
 * a live single-shot op whose deliver gives its buffers back
 * (SR__SF_DFIN), is queued here as complete() would, without the
 * registers the general case needs.  (A runtime request's user_data,
 * its op bits all ones, matches no slot's.)
 */
bool sr__reap_special(struct sr_ring *r, const struct io_uring_cqe *cqe)
{
	uint64_t ud = cqe->user_data;
	uint32_t idx = (uint32_t)(ud & SR__UD_SLOT_MASK);

	if (sr__likely((ud & SR__UD_TRACKED) && idx < r->_nslots)) {
		struct sr_slot *s = &r->_slots[idx];

		/* A failed op goes the general way, which counts it: no call
		 * here, so no registers to save. */
		if (sr__likely(s->_ud == ud && s->_state == SR__SLOT_INFLIGHT &&
			       (s->_flags & (SR__SF_DFIN | SR__SF_MULTI | SR__SF_NOTIF)) == SR__SF_DFIN &&
			       cqe->res >= 0)) {
			s->_res = cqe->res;
			s->_cflags = cqe->flags;
			dq_push(r, SR__DQ_SLOT | idx);
			return true;
		}
	}
	return reap_other(r, cqe);
}

/* --- waiting for an op, or a stream's next item ------------------------------------ */

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
	if (block && r->_uring_up && !(want & SR__UD_SLOW) && !sr__cq_has(r)) {
		int ready = sr__enter_for(r, want, fn);

		if (ready < 0)
			return ready;
		if (ready && sr__cq_head(r)->user_data == want) {
			const struct io_uring_cqe *cqe = sr__cq_head(r);

			r->_slots[idx]._res = cqe->res;
			r->_slots[idx]._cflags = cqe->flags;
			r->_slots[idx]._state = SR__SLOT_DONE;
			r->_cqh++;
			return 0;
		}
	}

	for (;;) {
		struct sr_slot *s;
		int ret;

		/* A callback run on the way called fork(): in the child the ring
		 * is the parent's, and its CQ too. */
		if (sr__unlikely(r->_owner == SR__OWNER_FORKED))
			return sr__not_owner(r, fn);
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
			return sr__interrupted(ret, fn);
		if (!block && !ret && r->_slots[idx]._state != SR__SLOT_DONE &&
		    (!r->_uring_up || !sr__cq_has(r)))
			return -EAGAIN;
	}
}

/*
 * The common case of a stream's next completion: nothing queued for it,
 * and its own CQE, one that is not the last (F_MORE) nor an error, at the
 * CQ head (after one enter, when blocking and the CQ is empty).  It is
 * taken from there instead of being queued as an item and popped again.
 * True: taken into the slot; false: the general way.
 */
static bool next_at_head(struct sr_ring *r, const struct sr_handle *h, unsigned op, const char *fn, bool block,
			 uint32_t idx, int *err)
{
	uint64_t want = sr__want(h, op);
	struct sr_slot *s = &r->_slots[idx];
	const struct io_uring_cqe *cqe;
	uint32_t cf;
	int ready;

	if (!r->_uring_up || (s->_flags & ~SR__SF_FINISH) != SR__SF_MULTI || r->_slotx[idx]._fb)
		return false;
	ready = sr__head_ready(r, want, fn, block);
	if (ready <= 0) {
		*err = ready;
		return false;
	}
	cqe = sr__cq_head(r);
	cf = cqe->flags;
	if (cqe->user_data != want || cqe->res < 0 || !(cf & IORING_CQE_F_MORE))
		return false;
	s->_res = cqe->res;
	s->_cflags = cf;
	r->_cqh++;
	if (s->_flags & SR__SF_FINISH)
		sr_op_table[op].finish(r, idx, s->_res, cf, false);
	return true;
}

int sr__next(struct sr_ring *r, const struct sr_handle *h, unsigned op, const char *fn, bool block,
	     uint32_t *idxp)
{
	struct sr__item it;
	uint32_t idx;
	int ret;

	if (!sr__owned(r))
		return sr__not_owner(r, fn);
	idx = sr__slot_of(r, h, op);
	if (idx != SR__NONE && r->_slotx[idx]._qhead == SR__NONE) {
		ret = 0;
		if (next_at_head(r, h, op, fn, block, idx, &ret)) {
			*idxp = idx;
			return 0;
		}
		if (ret < 0)
			return ret;
	}
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
			sr__be(r)->consumed(r, idx);
		ret = sr__wait_some(r, block);
		if (ret < 0)
			return sr__interrupted(ret, fn);
		if (!block && r->_slotx[idx]._qhead == SR__NONE)
			return -EAGAIN;
	}
	sr__fifo_pop(r, &r->_slotx[idx]._qhead, &r->_slotx[idx]._qtail, &it);
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
