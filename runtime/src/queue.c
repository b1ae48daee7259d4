/* SPDX-License-Identifier: MIT */
/*
 * The queues: the one way into the kernel (enter), the SQ's room, the
 * runtime's own SQEs, and every wait built on them (for a handle, for
 * some completions, for raw ones, with a timeout).
 */
#define _GNU_SOURCE
#include <poll.h>
#include <string.h>

#include "core.h"

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

enum enter_mode {
	ENTER_SUBMIT,	/* hand the queued SQEs over (no system call when there are none) */
	ENTER_POLL,	/* the same, or else collect what is ready (task work included) */
	ENTER_WAIT,	/* submit, then sleep until a CQE is ready */
};

/*
 * valgrind runs one thread at a time and keeps this one running while it
 * sleeps in io_uring_enter, so no other thread of the process runs until
 * a CQE comes: not the fallback backend's, and not the program's own (a
 * thread that writes what a recv waits for, a watchdog).  Under memcheck
 * every ring, and under any other tool a ring with the fallback backend,
 * waits in slices, polling the backend's eventfd (SR__RING_SLICED).
 */
static sr__cold int enter_sliced(struct sr_ring *r, int timeout_ms)
{
	for (int waited = 0;; waited++) {
		struct pollfd p = { .fd = sr__be(r)->fd(r), .events = POLLIN };
		int ret;

		sr__cq_publish(r);
		ret = io_uring_sq_ready(&r->_uring) ? io_uring_submit(&r->_uring) : io_uring_get_events(&r->_uring);
		if (ret < 0 && ret != -EBUSY && ret != -EAGAIN)
			return ret;
		if (sr__cq_has(r) || poll(&p, 1, 1) > 0)
			return 0;
		if (timeout_ms >= 0 && waited >= timeout_ms)
			return -ETIME;
	}
}

bool sr__under_valgrind(void)
{
	return RUNNING_ON_VALGRIND;
}

/*
 * The one way into the kernel, in the manner of liburing's
 * _io_uring_get_cqe: publish the CQ head (its room may be what the kernel
 * waits for), hand the queued SQEs over and, for ENTER_WAIT, sleep until
 * a CQE is ready, at most timeout_ms (< 0: no limit).  CQEs stay in the
 * CQ for the caller.  The fallback backend's threads wake the wait
 * through its poll on their eventfd (a CQE), which works with
 * DEFER_TASKRUN, where polling the ring fd would not.
 *
 * Returns io_uring_enter's answer: >= 0; -ETIME (time ran out); -EINTR
 * (a signal); -EBUSY or -EAGAIN (the CQ is full: reap, then again); or
 * another error, which enter_error turns into a message.
 * enter_published: the same, for a caller that has just published the
 * CQ head (sr__cq_has found the CQ empty).
 */
static inline __attribute__((always_inline)) int enter_kernel(struct sr_ring *r, enum enter_mode mode,
								int timeout_ms)
{
	struct __kernel_timespec ts;
	struct io_uring_cqe *cqe;

	if (mode == ENTER_WAIT && sr__unlikely(r->_flags & SR__RING_SLICED))
		return enter_sliced(r, timeout_ms);
	if (mode == ENTER_SUBMIT || (mode == ENTER_POLL && io_uring_sq_ready(&r->_uring)))
		return io_uring_submit(&r->_uring);
	if (mode == ENTER_POLL)
		return io_uring_get_events(&r->_uring);
	if (timeout_ms < 0)
		return io_uring_submit_and_wait(&r->_uring, 1);
	if (io_uring_sq_ready(&r->_uring))
		io_uring_submit(&r->_uring);
	ts.tv_sec = timeout_ms / 1000;
	ts.tv_nsec = (long long)(timeout_ms % 1000) * 1000000;
	return io_uring_wait_cqe_timeout(&r->_uring, &cqe, &ts);
}

/* Watching: the SQEs going in, the CQEs that came (trace.c). */
static sr__cold __attribute__((noinline)) int enter_traced(struct sr_ring *r, enum enter_mode mode, int timeout_ms)
{
	int ret;

	sr__trace_sq(r);
	ret = enter_kernel(r, mode, timeout_ms);
	if (r->_ext->trace)
		sr__trace_cq(r);
	return ret;
}

static inline __attribute__((always_inline)) int enter_published(struct sr_ring *r, enum enter_mode mode,
								   int timeout_ms)
{
	struct sr__ring_ext *e = r->_ext;

	e->st.enters++;
	if (sr__unlikely(e->watch))
		return enter_traced(r, mode, timeout_ms);
	return enter_kernel(r, mode, timeout_ms);
}

static inline __attribute__((always_inline)) int enter(struct sr_ring *r, enum enter_mode mode, int timeout_ms)
{
	sr__cq_publish(r);
	return enter_published(r, mode, timeout_ms);
}

/* An enter's answer for callers that only go on: a full CQ (reaping makes
 * room) and a timeout are not errors, a signal is -EINTR, anything else
 * fails naming fn. */
static int enter_error(int ret, const char *fn)
{
	if (ret >= 0 || ret == -EBUSY || ret == -EAGAIN || ret == -ETIME)
		return 0;
	if (ret == -EINTR)
		return ret;
	return sr__fail(ret, "%s: io_uring_enter failed", fn);
}

int sr__submit(struct sr_ring *r, const char *fn)
{
	int ret, started;

	if (r->_ext->capture)
		return 0;
	started = sr__be_submit(r);
	if (!r->_uring_up) {
		r->_ext->st.enters++;
		return started;
	}
	ret = enter(r, ENTER_SUBMIT, 0);
	if (ret < 0 && ret != -EBUSY && ret != -EAGAIN && ret != -EINTR)
		return sr__fail(ret, "%s: io_uring_enter failed", fn);
	return (ret < 0 ? 0 : ret) + started;
}

static int capture_wait(void)
{
	return sr__fail(-EINVAL, "ring: a capture ring never submits; it cannot wait");
}

/*
 * Hand queued SQEs to the kernel; with block, wait until at least one
 * completion is ready.  CQEs stay in the CQ for the caller to take; the
 * fallback backend's completions are accounted here.  Returns how many
 * fallback completions were processed, or a negative error.
 */
int sr__enter(struct sr_ring *r, bool block)
{
	int n;

	if (sr__unlikely(r->_ext->capture))
		return capture_wait();
	sr__be_submit(r);
	if (!r->_uring_up)
		r->_ext->st.enters++;
	n = sr__be_reap(r, block && !r->_uring_up);
	if (n > 0)
		sr__deliver_pending(r);
	if (!r->_uring_up || n)
		return n;
	return enter_error(enter(r, block ? ENTER_WAIT : ENTER_POLL, -1), "ring");
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
	ret = sr__be_reap(r, fb_block && !n);
	if (ret < 0)
		return ret;
	return n + ret;
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
		return capture_wait();
	/* A wait whose callback called fork() goes on in the child too. */
	if (sr__unlikely(r->_owner == SR__OWNER_FORKED))
		return sr__not_owner(r, "ring");
	sr__be_submit(r);
	/* An empty CQ and no backend: nothing to reap before the enter. */
	if (r->_uring_up && !r->_fb && !sr__cq_has(r))
		n = 0;
	else
		n = reap_all(r, block && !r->_uring_up);
	if (n) {
		if (n > 0 && r->_uring_up && io_uring_sq_ready(&r->_uring))
			enter(r, ENTER_SUBMIT, 0);
		sr__deliver_pending(r);
		return n;
	}
	if (r->_uring_up) {
		/* The reap found the CQ empty: it published the head. */
		ret = enter_error(enter_published(r, block ? ENTER_WAIT : ENTER_POLL, -1), "ring");
		if (ret)
			return ret;
		n = reap_all(r, false);
	}
	sr__deliver_pending(r);
	return n;
}

int sr__run_once(struct sr_ring *r, int timeout_ms, const char *fn)
{
	int ret;

	if (timeout_ms < 0)
		return sr__wait_some(r, true);
	ret = sr__wait_some(r, false);
	if (ret != 0 || timeout_ms == 0)
		return ret;
	if (!r->_uring_up) {
		ret = sr__be(r)->wait(r, timeout_ms);
		if (ret == -EINTR)
			return sr__fail(ret, "%s: interrupted by a signal", fn);
		if (ret < 0)
			return ret;
		return sr__wait_some(r, false);
	}
	ret = enter(r, ENTER_WAIT, timeout_ms);
	if (ret < 0 && ret != -ETIME && ret != -EINTR)
		return sr__fail(ret, "%s: waiting failed", fn);
	if (ret == -EINTR)
		return sr__fail(ret, "%s: interrupted by a signal", fn);
	return sr__wait_some(r, false);
}

/* Recount the SQ room from the kernel's head. */
static void sq_recount(struct sr_ring *r)
{
	struct io_uring_sq *sq = &r->_uring.sq;

	r->_sq_limit = io_uring_smp_load_acquire(sq->khead) + sq->ring_entries;
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

		sq->sqe_tail = end;	/* liburing submits up to sqe_tail */
		ret = enter(r, ENTER_SUBMIT, 0);
		sq->sqe_tail = tail;
		if (ret == -EBUSY || ret == -EAGAIN) {
			/* CQ backlog: make room, then retry */
			if (sr__reap_ready(r) < 0)
				return false;
		} else if (ret < 0 && ret != -EINTR) {
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

/* The SQ is full: flush it (a part of it in an open chain), or say why not. */
static sr__cold struct io_uring_sqe *sqe_slow(struct sr_ring *r)
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
	if (!flush_for_room(r, end))
		return NULL;
	return sr__get_sqe(r);
}

/* The counted room ran out: read the kernel's head again, and flush if full. */
struct io_uring_sqe *sr__sqe_refill(struct sr_ring *r)
{
	sq_recount(r);
	if (r->_uring.sq.sqe_tail == r->_sq_limit)
		return sqe_slow(r);
	return sr__get_sqe(r);
}

/*
 * A batch of one: a plain op was submitted just now and its CQE is not
 * there.  Submitting alone often completes it (a NOP, a ready socket), so,
 * like io_uring_submit + io_uring_wait_cqe, wait only if not.  Kept apart
 * from sr__not_done so the common case pays for no more than it uses.
 * Returns whether a CQE is ready; the caller checks it is the op's.
 */
int sr__enter_for(struct sr_ring *r, uint64_t ud, const char *fn)
{
	uint32_t idx = (uint32_t)(ud & SR__UD_SLOT_MASK);
	int ret;

	/* Only a live handle whose CQE is still to come may block: the
	 * kernel has its op (one reaped earlier is in its slot already).  A
	 * callback's completion is its callback's: waiting is refused. */
	if (r->_fb || (r->_flags & SR_RING_CAPTURE) || !r->_uring_up || idx >= r->_nslots ||
	    r->_slots[idx]._ud != ud || r->_slots[idx]._state == SR__SLOT_DONE ||
	    (r->_slots[idx]._flags & SR__SF_CB))
		return 0;
	/* Callers found the CQ empty just now, which published its head. */
	if (enter_published(r, ENTER_SUBMIT, 0) < 0)
		return 0;
	if (sr__cq_has(r))
		return 1;
	ret = enter_published(r, ENTER_WAIT, -1);
	if (sr__unlikely(ret == -EINTR))
		return sr__interrupted(ret, fn);
	return ret >= 0 && sr__cq_has(r);
}

/* Programs built with the headers of before sr__enter_for call this one. */
bool sr__enter_one(struct sr_ring *r, uint64_t ud)
{
	return sr__enter_for(r, ud, "sr_wait") > 0;
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
	     (sr__sq_at(r, start - 1)->flags & (IOSQE_IO_LINK | IOSQE_IO_HARDLINK)); start--)
		;
	if (start == tail)
		return sqe;
	for (unsigned i = tail; i != start; i--)
		memcpy(sr__sq_at(r, i), sr__sq_at(r, i - 1), size);
	sqe = sr__sq_at(r, start);
	memset(sqe, 0, size);
	return sqe;
}

int sr__push_cancel(struct sr_ring *r, uint64_t ud)
{
	struct io_uring_sqe *sqe = sr__sqe_internal(r);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_cancel64(sqe, ud, 0);
	sqe->user_data = SR__UD_INTERNAL;
	return 0;
}

/* Complete queued-but-unsubmitted ops with -ECANCELED and drop their SQEs. */
int sr__discard(struct sr_ring *r)
{
	struct io_uring_sq *sq = &r->_uring.sq;
	int n = 0;

	/* Each is a final completion, which has its item reserved: this
	 * cannot run out of memory. */
	for (unsigned i = sq->sqe_head; r->_uring_up && i != sq->sqe_tail; i++) {
		struct io_uring_sqe *sqe = sr__sq_at(r, i);
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
	n += sr__be(r)->discard(r);
	sr__be_reap(r, false);
	sr__deliver_pending(r);
	return n;
}

/* --- raw completions --------------------------------------------------------------- */

int sr__raw_reap_slow(struct sr_ring *r, struct io_uring_cqe *out, unsigned max)
{
	unsigned n = 0;
	int ret = 0, fret;

	if (!sr__owned(r))
		return sr__not_owner(r, "sr_raw_reap");
	/* Pull everything ready into the queue first, then hand out in order. */
	if (r->_uring_up)
		ret = sr__reap_ready(r);
	fret = sr__be_reap(r, false);
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

			return sr__err(-EOPNOTSUPP, "no raw op can be in flight; %s",
				       sr__no_uring_why("ring", why, sizeof(why)));
		}
		/* The backend's completions are accounted while waiting. */
		ret = r->_fb ? sr__wait_some(r, true) : enter_error(enter(r, ENTER_WAIT, -1), __func__);
		if (ret < 0)
			return sr__interrupted(ret, __func__);
	}
}
