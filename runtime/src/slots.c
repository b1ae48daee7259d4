/* SPDX-License-Identifier: MIT */
/*
 * Op slots: the table of ops in flight (grown by doubling up to the
 * ring's limit), each slot's storage, and the pool of queued completions
 * (multishot items, callback deliveries).  Taking a slot on the hot path
 * is inline (safer-ring/inline.h); the slow half is submit.c's.
 */
#define _GNU_SOURCE
#include <stdlib.h>

#include "core.h"

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

int sr__slots_init(struct sr_ring *r, unsigned n)
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
	if (sqe && sr__be(r)->staging(r, sqe))
		sr__be(r)->abort(r);
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

void sr__track_cb(struct sr_ring *r, uint32_t idx, sr__deliver_fn deliver, void (*cb)(void), void *arg)
{
	struct sr_slotx *x = &r->_slotx[idx];

	x->_deliver = deliver;
	x->_cb = cb;
	x->_cb_arg = arg;
	r->_ext->cbs++;
}

/* The item pool is empty: double it.  False without memory (or past the
 * indexes the delivery queue can tell from slots). */
bool sr__items_grow(struct sr_ring *r)
{
	struct sr__ring_ext *x = r->_ext;
	uint32_t old = x->nitems, n = old ? old * 2 : 32;
	struct sr__item *it = n <= SR__DQ_SLOT ? sr__realloc(x->items, n * sizeof(*it)) : NULL;

	if (!it)
		return false;
	for (uint32_t k = old; k < n; k++)
		it[k].next = k + 1 < n ? k + 1 : SR__NONE;
	x->items = it;
	x->nitems = n;
	x->free_item = old;
	return true;
}
