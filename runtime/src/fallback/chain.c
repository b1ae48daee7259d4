/* SPDX-License-Identifier: MIT */
/*
 * IO_LINK chains with a fallback op in them run here, one op after the
 * other; native ops queued in such a chain are pulled out of the SQ and
 * handed to the kernel in turn.
 */
#define _GNU_SOURCE

#include "fallback.h"

/* --- the chain ------------------------------------------------------------------------ */

/* A chain member ended with res: start what follows, or cancel it. */
void sr__fb_chain_next(struct sr_ring *r, struct job *j, int32_t res)
{
	struct sr__fallback *fb = r->_fb;
	struct job *next = chained(j);
	bool failed = res < 0 && !(j->link & SR_IOSQE_IO_HARDLINK);

	/* A link timeout drops out of the chain: the op it timed goes on. */
	if (j->emu == SR_EMU_LINK_TIMER)
		return;
	link_after(j, NULL);
	if (next && next->emu == SR_EMU_LINK_TIMER) {
		struct job *t = next;

		/* The op won the race: its timer ends with -ECANCELED. */
		next = chained(t);
		link_after(t, NULL);
		set_target(t, NULL);
		if (fb->chain_last == t)
			fb->chain_last = j;
		if (t->state == J_WAIT || t->state == J_PARKED) {
			sr__fb_epoll_forget(fb, t);
			close_fd(&t->tfd);
			sr__fb_post(fb, t, -ECANCELED, 0, true);
		}
	}
	if (fb->chain_last == j) {
		fb->chain_last = NULL;
		fb->chain_failed = failed;
	}
	if (!next)
		return;
	if (failed) {
		next->cancel = true;
		sr__fb_post(fb, next, -ECANCELED, 0, true);
	} else {
		sr__fb_job_start(r, next);
	}
}

/* Queued native SQEs at the SQ's tail that end in an open link: the
 * chain the new op joins.  Raw SQEs cannot be taken over. */
unsigned sr__fb_queued_chain(struct sr_ring *r, unsigned *startp)
{
	struct io_uring_sq *sq = &r->_uring.sq;
	unsigned start = sq->sqe_tail;

	*startp = start;
	if (!r->_uring_up)
		return 0;
	while (start != sq->sqe_head) {
		struct io_uring_sqe *sqe = (struct io_uring_sqe *)((char *)sq->sqes +
			((size_t)((start - 1) & sq->ring_mask) << r->_sqe_shift));

		if (!(sqe->flags & LINKS))
			break;
		start--;
	}
	*startp = start;
	return sq->sqe_tail - start;
}

bool sr__fb_queued_chain_ok(struct sr_ring *r)
{
	struct io_uring_sq *sq = &r->_uring.sq;
	unsigned start, n = sr__fb_queued_chain(r, &start);

	for (unsigned i = 0; i < n; i++) {
		struct io_uring_sqe *sqe = (struct io_uring_sqe *)((char *)sq->sqes +
			((size_t)((start + i) & sq->ring_mask) << r->_sqe_shift));
		uint64_t ud = sqe->user_data;
		uint32_t idx = (uint32_t)(ud & SR__UD_SLOT_MASK);

		if (!(ud & SR__UD_TRACKED) || (ud & SR__UD_OP_MASK) == SR__UD_OP_MASK || idx >= r->_nslots ||
		    r->_slots[idx]._ud != ud)
			return false;
	}
	return true;
}

/* Take the queued chain out of the SQ: its ops become jobs run in order. */
struct job *sr__fb_pull_chain(struct sr_ring *r, struct job **lastp)
{
	struct sr__fallback *fb = r->_fb;
	struct io_uring_sq *sq = &r->_uring.sq;
	unsigned start, n = sr__fb_queued_chain(r, &start);
	struct job *head = NULL, *last = NULL;

	for (unsigned i = 0; i < n; i++) {
		struct io_uring_sqe *sqe = (struct io_uring_sqe *)((char *)sq->sqes +
			((size_t)((start + i) & sq->ring_mask) << r->_sqe_shift));
		uint32_t idx = (uint32_t)(sqe->user_data & SR__UD_SLOT_MASK);
		struct job *j = sr__fb_job_spare(fb);

		j->slot = idx;
		j->ud = sqe->user_data;
		j->kind = K_KERNEL;
		j->link = sqe->flags & LINKS;
		j->state = J_PARKED;
		memcpy(j->sqe, sqe, sqe_size(r));
		r->_slots[idx]._flags |= SR__SF_FALLBACK;
		r->_slotx[idx]._fb = j;
		if (last)
			link_after(last, j);
		else
			head = j;
		last = j;
	}
	sq->sqe_tail = start;
	*lastp = last;
	return head;
}

void sr__fb_chain_stash(struct sr_ring *r)
{
	struct sr__fallback *fb = r->_fb;

	if (fb->chain_open)
		return;
	fb->chain_open = true;
	memcpy(fb->native_saved, r->_native, sizeof(r->_native));
	/* Every op now comes to sr__fb_begin and joins the chain. */
	memset(r->_native, 0, sizeof(r->_native));
}

void sr__fb_chain_end(struct sr_ring *r)
{
	struct sr__fallback *fb = r->_fb;

	if (!fb || !fb->chain_open)
		return;
	fb->chain_open = false;
	fb->chain_last = NULL;
	if (r->_state == SR__RING_LIVE)
		memcpy(r->_native, fb->native_saved, sizeof(r->_native));
}

/* A link timeout appended to an op that already started times it from now. */
void sr__fb_link_timer_join(struct sr__fallback *fb, struct job *t, struct job *pred)
{
	int ret;

	set_target(t, pred);
	if (pred->state == J_PARKED)
		return;		/* started along with pred */
	ret = sr__fb_timer_start(fb, t);
	if (ret < 0)
		sr__fb_post(fb, t, ret, 0, true);
}

void sr__fb_unlink(struct sr_ring *r, uint32_t idx)
{
	struct sr__fallback *fb = r->_fb;
	struct job *j = r->_slotx[idx]._fb;

	if (!fb || !j)
		return;
	pthread_mutex_lock(&fb->lock);
	j->link = 0;
	if (fb->chain_open && fb->chain_last == j)
		sr__fb_chain_end(r);
	pthread_mutex_unlock(&fb->lock);
}
