/* SPDX-License-Identifier: MIT */
/*
 * Typed IO_LINK chains and cancelling many ops at once.  A chain sets the
 * link flag on each op as it is added and takes it off the last one at the
 * end: in the SQ while the SQE is still queued, or in the fallback backend
 * when the op runs there.
 */
#define _GNU_SOURCE

#include "backend.h"

void sr_chain_begin(struct sr_ring *r, struct sr_chain *ch, unsigned flags)
{
	memset(ch, 0, sizeof(*ch));
	ch->_ring = r;
	ch->_link = (flags & SR_CHAIN_HARD) ? SR_IOSQE_IO_HARDLINK : SR_IOSQE_IO_LINK;
	if (flags & ~SR_CHAIN_HARD)
		ch->_err = sr__err(-EINVAL, "flags 0x%x: only SR_CHAIN_HARD", flags & ~SR_CHAIN_HARD);
	if (!ch->_err)
		ch->_err = sr__ring_use(r, __func__);
	if (ch->_err)
		return;
	/* Where the chain starts in the SQ: a full SQ submits only what is
	 * before it (the kernel ends a chain where a submission ends). */
	r->_ext->chain_sq_start = r->_uring_up ? r->_uring.sq.sqe_tail : 0;
}

int sr__chain_prep(struct sr_chain *ch, struct sr_op *op)
{
	if (ch->_err)
		return ch->_err;
	if (op->_state != SR__OP_READY)
		return 0;	/* the submit says what is wrong */
	op->_sqe_flags |= ch->_link;
	op->_special |= SR__SPECIAL_SET;
	/* A full SQ is not flushed while this op is added (see sr__sqe_slow). */
	ch->_ring->_ext->chain_queued = ch->_n;
	return 0;
}

int sr__chain_added(struct sr_chain *ch, int ret, const struct sr_handle *h)
{
	ch->_ring->_ext->chain_queued = 0;
	if (ch->_err)
		return ch->_err;
	if (ret) {
		ch->_err = ret;
		return ret;
	}
	ch->_last = h->_ud;
	ch->_n++;
	return 0;
}

int sr_chain_timeout(struct sr_chain *ch, const struct __kernel_timespec *ts, struct sr_link_timeout_submitted *sub)
{
	struct sr_link_timeout_op op = sr_link_timeout(ts);

	if (!ch->_err && !ch->_n)
		ch->_err = sr__err(-EINVAL, "the chain is empty: a link timeout bounds the op "
				   "added before it");
	return sr_chain_add(ch, &op, sub);
}

/* Take the link off the chain's last op, so what comes next is not chained to it. */
int sr_chain_end(struct sr_chain *ch)
{
	struct sr_ring *r = ch->_ring;
	uint32_t idx = (uint32_t)(ch->_last & SR__UD_SLOT_MASK);
	int ret = sr__ring_use(r, __func__);

	if (ret)
		return ret;
	if (ch->_n && idx < r->_nslots && r->_slots[idx]._ud == ch->_last) {
		if (r->_slotx[idx]._fb) {
			sr__be(r)->unlink(r, idx);
		} else if (r->_uring_up) {
			struct io_uring_sq *sq = &r->_uring.sq;

			/* Still queued: it is among the last SQEs (submitted
			 * already, the kernel ended the chain there). */
			for (unsigned i = sq->sqe_tail; i != sq->sqe_head; i--) {
				struct io_uring_sqe *sqe = (struct io_uring_sqe *)((char *)sq->sqes +
					((size_t)((i - 1) & sq->ring_mask) << r->_sqe_shift));

				if (sqe->user_data == ch->_last) {
					sqe->flags &= (uint8_t)~(SR_IOSQE_IO_LINK | SR_IOSQE_IO_HARDLINK);
					break;
				}
			}
		}
	}
	ch->_n = 0;
	return ch->_err;
}

/*
 * Ask for the cancel of each op in flight (fd < 0), or of each that runs
 * on a fallback job on fd; how many were asked for.  The runtime knows
 * every op in flight; a callback may grow the table meanwhile, so the
 * count is read each time.
 */
static int cancel_slots(struct sr_ring *r, int fd, const char *fn)
{
	int n = 0;

	for (uint32_t i = 0; i < r->_nslots; i++) {
		struct sr_slot *s = &r->_slots[i];
		struct sr_handle h = { s->_ud, r->_id };

		if (!s->_ud || s->_state != SR__SLOT_INFLIGHT || (s->_flags & SR__SF_CANCEL))
			continue;
		if (fd >= 0 && (!r->_slotx[i]._fb || sr__fb_job_fd(r->_slotx[i]._fb) != fd))
			continue;
		if (sr__cancel(r, &h, sr__slot_op(s), fn) == 0)
			n++;
	}
	return n;
}

int sr_ring_cancel_fd(struct sr_ring *r, int fd)
{
	struct sr_async_cancel_fd_op op = sr_async_cancel_fd(fd);
	struct sr_async_cancel_fd_submitted sub;
	struct sr_async_cancel_fd_completed c;
	int ret;

	sr_async_cancel_fd_set_flags(&op, SR_IORING_ASYNC_CANCEL_ALL);
	ret = sr_submit(r, &op, &sub);
	if (!ret)
		ret = sr_wait(r, &sub, &c);
	if (ret)
		return ret;
	if (c.res < 0 && c.res != -ENOENT)
		return sr__err(c.res, "the cancel request for fd %d failed", fd);
	ret = c.res == -ENOENT ? 0 : c.res;
	/* On io_uring the kernel's cancel cannot see the ops that run on the
	 * fallback backend's threads: ask for each of those on fd. */
	if (fd >= 0 && r->_uring_up && r->_fb)
		ret += cancel_slots(r, fd, "sr_ring_cancel_fd");
	return ret;
}

int sr_ring_cancel_all(struct sr_ring *r)
{
	int n, ret = sr__ring_use(r, __func__);

	if (ret)
		return ret;
	n = cancel_slots(r, -1, __func__);
	sr_ring_submit(r);
	return n;
}
