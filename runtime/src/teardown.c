/* SPDX-License-Identifier: MIT */
/*
 * Destroying a ring: cancel what is in flight, wait until the kernel (and
 * the fallback backend) is done with every buffer, then free; in a fork()
 * child, only release the copy.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"

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

static const char *busy_why(const struct sr_slot *s)
{
	if ((s->_flags & SR__SF_NOTIF) && (s->_flags & SR__SF_GOTRES))
		return " (sent; the kernel holds its buffer until the peer has the data: its notification)";
	if (s->_flags & SR__SF_FALLBACK)
		return " (on the fallback backend)";
	return "";
}

/*
 * "12 ops in flight: 10 send_zc (sent; ...), 2 read": alike ops counted
 * together, so that a thousand of them still make one line.
 */
static void describe_busy(struct sr_ring *r, char *buf, size_t len)
{
	struct { unsigned op, n; const char *why; } kind[8];
	unsigned n = count_busy(r), nk = 0;
	bool more = false;
	size_t at;

	for (unsigned i = 0; i < r->_nslots; i++) {
		const struct sr_slot *s = &r->_slots[i];
		const char *why = busy_why(s);
		unsigned op = sr__slot_op(s), k = 0;

		if (!s->_ud || s->_state != SR__SLOT_INFLIGHT)
			continue;
		while (k < nk && (kind[k].op != op || kind[k].why != why))
			k++;
		if (k < nk) {
			kind[k].n++;
		} else if (nk < 8) {
			kind[nk].op = op;
			kind[nk].n = 1;
			kind[nk++].why = why;
		} else {
			more = true;
		}
	}
	at = (size_t)snprintf(buf, len, "%u op%s in flight:", n, n == 1 ? "" : "s");
	for (unsigned k = 0; k < nk && at < len; k++) {
		char count[16] = "";

		if (kind[k].n > 1)
			snprintf(count, sizeof(count), "%u ", kind[k].n);
		at += (size_t)snprintf(buf + at, len - at, "%s %s%s%s", k ? "," : "", count,
				       sr__op_name(kind[k].op), kind[k].why);
	}
	if (more && at < len)
		snprintf(buf + at, len - at, ", ...");
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

		/* A callback run here called fork(): in the child the ring is
		 * the parent's (its copy is released by destroying it again). */
		if (sr__unlikely(r->_owner == SR__OWNER_FORKED))
			return sr__not_owner(r, fn);
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
					sr__be(r)->cancel(r, i);
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
		sr__run_once(r, left < 0.1 ? (int)(left * 1000) + 1 : 100, fn);
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
	sr__be(r)->destroy(r);
	if (r->_eventfd >= 0)
		close(r->_eventfd);
	for (unsigned i = 0; i < r->_nslots; i++)
		free(r->_slotx[i]._store);
	free(x->opinfo);
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
	/* A completion waiting for its callback may have had its finish
	 * already: giving the same buffers back twice changes nothing. */
	for (unsigned i = 0; i < r->_nslots; i++) {
		struct sr_slot *s = &r->_slots[i];

		if (s->_ud && s->_state == SR__SLOT_INFLIGHT && (s->_flags & SR__SF_FINISH))
			sr_op_table[sr__slot_op(s)].finish(r, i, -ECANCELED, 0, true);
	}
	sr__be(r)->forget(r);
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
	if (r->_owner == SR__OWNER_FORKED && x->delivering)
		return sr__fail(-EDEADLK, "%s: called in a child of fork() from a completion callback of "
				"the ring: return from the callback first, then release the copy", fn);
	if (r->_owner == SR__OWNER_FORKED)
		return destroy_forked(r);
	ret = sr__ring_use(r, fn);
	if (ret)
		return ret;
	if (x->delivering)
		return sr__in_callback(r, fn);
	if (x->destroying)
		return sr__fail(-EALREADY, "%s: already being destroyed", fn);
	if (r->_state != SR__RING_CLOSING) {
		r->_state = SR__RING_CLOSING;
		/* Every submit now takes the slow path, which refuses a closing ring. */
		memset(r->_native, 0, sizeof(r->_native));
		sr__discard(r);
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
