/* SPDX-License-Identifier: MIT */
/*
 * Tracing (SR_DEBUG=1, sr_ring_set_trace).  The per-op paths are inline
 * and stay as they are: ops are traced where they cross the ring's edge.
 * Before each kernel enter the SQEs queued since the last one are read
 * back from the SQ; after it, the CQEs the CQ gained since the last trace
 * are read (a CQE stays in place until the kernel has posted a whole CQ
 * more, and with DEFER_TASKRUN it posts only inside an enter).  The
 * fallback backend reports its own ops as it starts and finishes them.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core.h"

static void trace_stderr(struct sr_ring *r, const struct sr_trace_event *ev, void *arg)
{
	(void)arg;
	if (ev->kind == SR_TRACE_SUBMIT)
		fprintf(stderr, "sr[%p]: submit %s slot=%u fd=%d route=%s\n", (void *)r, ev->op, ev->slot, ev->fd,
			ev->route);
	else
		fprintf(stderr, "sr[%p]: complete %s slot=%u res=%d%s%s flags=%#x route=%s\n", (void *)r, ev->op,
			ev->slot, ev->res, ev->res < 0 ? " " : "", ev->res < 0 ? strerror(-ev->res) : "", ev->flags,
			ev->route);
}

/*
 * The caller's trace function runs inside the ring's own calls (an enter;
 * a fallback job starting or completing, the backend's lock held), so
 * the ring takes no call while it runs: every one is refused as from a
 * non-owner, with EDEADLK (err.c).  A destroy from there would free the
 * ring under the call that is tracing.
 */
static void trace_call(struct sr_ring *r, const struct sr_trace_event *ev)
{
	uintptr_t owner = r->_owner;

	r->_owner = SR__OWNER_TRACING;
	r->_ext->trace(r, ev, r->_ext->trace_arg);
	if (r->_owner == SR__OWNER_TRACING)	/* not a child's copy, forked in there */
		r->_owner = owner;
}

void sr__trace_init(struct sr_ring *r)
{
	const char *v = getenv("SR_DEBUG");

	if (v && *v && strcmp(v, "0"))
		r->_ext->trace = trace_stderr;
	v = getenv("SR_AGES");
	r->_ext->ages = v && *v && strcmp(v, "0");
	r->_ext->watch = r->_ext->trace || r->_ext->ages;
	if (r->_uring_up) {
		r->_ext->trace_sq = r->_uring.sq.sqe_tail;
		r->_ext->trace_cq = r->_cqh;
	}
}

/* Watching starts: the SQEs queued and not yet handed over are seen at
 * the next enter. */
static void watch_start(struct sr_ring *r)
{
	if (!r->_ext->watch && r->_uring_up)
		r->_ext->trace_sq = io_uring_smp_load_acquire(r->_uring.sq.khead);
}

int sr_ring_set_trace(struct sr_ring *r, sr_trace_fn fn, void *arg)
{
	int ret = sr__ring_use(r, __func__);

	if (ret)
		return ret;
	if (fn && !r->_ext->trace && r->_uring_up) {
		/* Queued SQEs and unconsumed CQEs are traced from now on. */
		watch_start(r);
		r->_ext->trace_cq = r->_cqh;
	}
	r->_ext->trace = fn;
	r->_ext->trace_arg = arg;
	r->_ext->watch = fn || r->_ext->ages;
	return 0;
}

int sr_ring_set_ages(struct sr_ring *r, bool on)
{
	int ret = sr__ring_use(r, __func__);

	if (ret)
		return ret;
	if (on)
		watch_start(r);
	r->_ext->ages = on;
	r->_ext->watch = on || r->_ext->trace;
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The note for slot idx, the table grown to the slot table (NULL: no memory;
 * the op goes unnoted). */
static struct sr__opinfo *note_at(struct sr_ring *r, uint32_t idx)
{
	struct sr__ring_ext *e = r->_ext;

	if (idx >= e->nopinfo) {
		uint32_t n = r->_nslots > idx ? r->_nslots : idx + 1;
		struct sr__opinfo *t = realloc(e->opinfo, (size_t)n * sizeof(*t));

		if (!t)
			return NULL;
		memset(t + e->nopinfo, 0, (size_t)(n - e->nopinfo) * sizeof(*t));
		e->opinfo = t;
		e->nopinfo = n;
	}
	return &e->opinfo[idx];
}

const struct sr__opinfo *sr__opinfo(const struct sr_ring *r, uint32_t idx)
{
	const struct sr__ring_ext *e = r->_ext;

	if (idx >= e->nopinfo || !e->opinfo[idx].ud || e->opinfo[idx].ud != r->_slots[idx]._ud)
		return NULL;
	return &e->opinfo[idx];
}

void sr__note_fb(struct sr_ring *r, uint32_t idx)
{
	struct sr__opinfo *n = note_at(r, idx);

	if (n)
		*n = (struct sr__opinfo){ .ud = r->_slots[idx]._ud, .ns = now_ns(), .first = SR__NONE };
}

/* A kernel user_data as an op: false for the runtime's own requests. */
static bool decode(uint64_t ud, struct sr_trace_event *ev);

void sr__sq_chains(struct sr_ring *r, uint32_t from, uint32_t to,
		   void (*fn)(struct sr_ring *r, uint32_t slot, uint64_t ud, uint32_t first, uint16_t pos,
			      uint8_t link, void *arg),
		   void *arg)
{
	struct io_uring_sq *sq = &r->_uring.sq;
	uint32_t first = SR__NONE;
	uint16_t pos = 0;
	bool open = false;	/* the SQE before linked to this one */

	for (; from != to; from++) {
		const struct io_uring_sqe *sqe =
			(const void *)((char *)sq->sqes + ((size_t)(from & *sq->kring_mask) << r->_sqe_shift));
		uint8_t link = sqe->flags & (IOSQE_IO_LINK | IOSQE_IO_HARDLINK);
		struct sr_trace_event ev = { 0 };
		bool ours = decode(sqe->user_data, &ev) && (sqe->user_data & SR__UD_TRACKED);

		if (!open) {
			/* A chain starts here (or the op is alone). */
			first = link && ours ? ev.slot : SR__NONE;
			pos = 0;
		}
		if (ours)
			fn(r, ev.slot, sqe->user_data, open || link ? first : SR__NONE, pos, link, arg);
		pos++;
		open = link != 0;
	}
}

static void note_sqe(struct sr_ring *r, uint32_t slot, uint64_t ud, uint32_t first, uint16_t pos, uint8_t link,
		     void *arg)
{
	struct sr__opinfo *n = slot < r->_nslots ? note_at(r, slot) : NULL;	/* not a forged user_data */

	if (n)
		*n = (struct sr__opinfo){ .ud = ud, .ns = *(uint64_t *)arg, .first = first, .pos = pos, .link = link };
}

/* A kernel user_data as an op: false for the runtime's own requests. */
static bool decode(uint64_t ud, struct sr_trace_event *ev)
{
	if ((ud & SR__UD_INTERNAL) == SR__UD_INTERNAL)
		return false;
	ev->user_data = ud;
	ev->route = "native";
	if (!(ud & SR__UD_TRACKED)) {
		ev->op = "raw";
		ev->slot = 0;
	} else {
		ev->op = sr__op_name((unsigned)((ud & SR__UD_OP_MASK) >> SR__UD_OP_SHIFT));
		ev->slot = (uint32_t)(ud & SR__UD_SLOT_MASK);
	}
	return true;
}

void sr__trace_sq(struct sr_ring *r)
{
	struct sr__ring_ext *e = r->_ext;
	struct io_uring_sq *sq = &r->_uring.sq;
	uint32_t tail = sq->sqe_tail;

	if (e->trace_sq != tail) {
		uint64_t ns = now_ns();

		sr__sq_chains(r, e->trace_sq, tail, note_sqe, &ns);
	}
	if (!e->trace)
		e->trace_sq = tail;
	for (; e->trace && e->trace_sq != tail; e->trace_sq++) {
		const struct io_uring_sqe *sqe =
			(const void *)((char *)sq->sqes + ((size_t)(e->trace_sq & *sq->kring_mask) << r->_sqe_shift));
		struct sr_trace_event ev = { .kind = SR_TRACE_SUBMIT };

		if (!decode(sqe->user_data, &ev))
			continue;
		ev.fd = sqe->fd;
		trace_call(r, &ev);
	}
}

void sr__trace_cq(struct sr_ring *r)
{
	struct sr__ring_ext *e = r->_ext;
	uint32_t tail = io_uring_smp_load_acquire(r->_uring.cq.ktail);

	if (tail - e->trace_cq > r->_cq_mask + 1) {
		/* More were posted than the CQ holds since the last look. */
		fprintf(stderr, "sr[%p]: trace: %u completions passed untraced\n", (void *)r,
			tail - e->trace_cq - (r->_cq_mask + 1));
		e->trace_cq = tail - (r->_cq_mask + 1);
	}
	for (; e->trace && e->trace_cq != tail; e->trace_cq++) {
		const struct io_uring_cqe *cqe =
			(const void *)((char *)r->_cqes + ((size_t)(e->trace_cq & r->_cq_mask) << r->_cqe_shift));
		struct sr_trace_event ev = { .kind = SR_TRACE_COMPLETE, .fd = -1 };

		if (!decode(cqe->user_data, &ev))
			continue;
		ev.res = cqe->res;
		ev.flags = cqe->flags;
		trace_call(r, &ev);
	}
}

void sr__trace_fb(struct sr_ring *r, enum sr_trace_kind kind, uint32_t idx, int fd, int32_t res, uint32_t cflags)
{
	struct sr_trace_event ev = {
		.kind = kind,
		.op = sr__op_name(sr__slot_op(&r->_slots[idx])),
		.route = "fallback",
		.slot = idx,
		.user_data = r->_slots[idx]._ud,
		.fd = kind == SR_TRACE_SUBMIT ? fd : -1,
		.res = res,
		.flags = cflags,
	};

	trace_call(r, &ev);
}
