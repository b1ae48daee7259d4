/* SPDX-License-Identifier: MIT */
/*
 * The slow halves of submit (a full SQ, a table to grow, the fallback
 * backend, flags to apply) and of handles: what is wrong with a builder,
 * a handle or a target, and cancelling by handle.  The fast halves are
 * inline (safer-ring/inline.h).
 */
#define _GNU_SOURCE

#include "core.h"

struct sr__begun sr__begin_slow(struct sr_ring *r, struct sr_op *op, unsigned opid)
{
	struct sr__begun b = { NULL, NULL, 0 };
	uint32_t idx;

	if (r->_state != SR__RING_LIVE) {
		sr__fail(-ESHUTDOWN, "sr_%s_submit: the ring is being destroyed", sr__op_name(opid));
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
		b.sqe = sr__be(r)->begin(r, op, opid, &b.idx);
		if (b.sqe) {
			b.slot = &r->_slots[b.idx];
			r->_ext->st.fallback++;
		}
		return b;
	}
	idx = sr__slot_next(r);
	if (idx == SR__NONE)
		return b;
	b.sqe = sr__get_sqe(r);
	if (!b.sqe)
		return b;
	sr__slot_take(r, idx);
	b.idx = idx;
	b.slot = &r->_slots[idx];
	return b;
}

/* The uncommon part of commit: hand-set flags, personality, fixed file, fallback. */
void sr__commit_special(struct sr_ring *r, struct sr_op *op, uint32_t idx, struct io_uring_sqe *sqe)
{
	struct sr_slot *s = &r->_slots[idx];

	sqe->flags |= op->_sqe_flags;
	sqe->personality = op->_personality;
	if (op->_special & SR__SPECIAL_FALLBACK) {
		s->_flags |= SR__SF_FALLBACK;
		sr__be(r)->commit(r, idx, sqe);
		return;
	}
	sqe->user_data = s->_ud;
}

int sr__op_state_error(const struct sr_op *op, const char *fn)
{
	if (op->_state == SR__OP_SPENT)
		return sr__fail(-EALREADY, "%s: this %s op was already submitted; build a new one with sr_%s()",
				fn, sr__op_name(op->_op), sr__op_name(op->_op));
	return sr__fail(-EINVAL, "%s: not an op built by sr_%s() (uninitialized or corrupted)",
			fn, sr__op_name(op->_op));
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
				fn, sr__op_name(op));
	if (h->_ring != r->_id)
		return sr__fail(-EXDEV, "%s: the %s handle belongs to another ring (or to one destroyed since); "
				"wait on it with the ring it was submitted to", fn, sr__op_name(hop < sr_op_count ? hop : op));
	if (idx >= r->_nslots)
		return sr__fail(-EINVAL, "%s: not a handle from sr_%s_submit on this ring", fn, sr__op_name(op));
	if (hop != op)
		return sr__fail(-EINVAL, "%s: the handle is for a %s op, not %s", fn, sr__op_name(hop), sr__op_name(op));
	s = &r->_slots[idx];
	if (s->_ud != h->_ud)
		return sr__fail(-ESTALE, "%s: stale handle: that %s op was already completed and consumed; "
				"each submitted op is waited (or polled to completion) once", fn, sr__op_name(op));
	if (s->_flags & SR__SF_CB)
		return sr__fail(-EINVAL, "%s: this %s op delivers to its callback; run the ring "
				"(sr_ring_run/_poll) instead of waiting on it", fn, sr__op_name(op));
	return sr__fail(-EINVAL, "%s: bad handle", fn);
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
	if (r->_slotx[idx]._fb && !sr__be(r)->target(r, idx, ud))
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
			sr__op_name(op), sr__op_missing(r, op, why, sizeof(why)), sr__op_name(op));
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
		return sr__be(r)->cancel(r, idx);
	if (sr__push_cancel(r, s->_ud))
		return sr__fail(-EBUSY, "%s: no room to queue the cancel request", fn);
	return 0;
}
