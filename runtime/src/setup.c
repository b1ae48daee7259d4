/* SPDX-License-Identifier: MIT */
/*
 * Creating a ring: the setup-flag ladder, the backend (io_uring, or the
 * fallback backend for the whole ring), the native-op bitmap the inline
 * submit tests, the slot table.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "backend.h"

static void caps_native(struct sr_ring *r, const char *disable, bool all)
{
	char buf[200];

	memset(r->_native, 0, sizeof(r->_native));
	if (disable)
		snprintf(r->_ext->disable, sizeof(r->_ext->disable), "%s", disable);
	for (unsigned op = 0; op < sr_op_count; op++)
		if (all || !sr_op_unavailable(r, op, buf, sizeof(buf)))
			r->_native[op >> 6] |= 1ULL << (op & 63);
}

/*
 * Set the ring up: io_uring down the spec's ladder of setup flags, or
 * the fallback backend (asked for, or io_uring cannot be set up).
 */
static int setup(struct sr_ring *r, unsigned entries, const struct sr_ring_params *p)
{
	const struct sr_caps *c = sr_caps_get();
	unsigned extra = 0, forbid = 0, optional, tried;
	int ret;

	snprintf(r->_ext->kernel_text, sizeof(r->_ext->kernel_text), "%s", c->release);
	if (p->flags & SR_RING_R_DISABLED)
		extra |= IORING_SETUP_R_DISABLED;
	if (p->flags & SR_RING_SQE128)
		extra |= IORING_SETUP_SQE128;
	if (p->flags & SR_RING_CQE32)
		extra |= IORING_SETUP_CQE32;
	/* A capture ring only builds SQEs: SR_BACKEND does not apply to it. */
	if (p->flags & SR_RING_CAPTURE) {
		if (c->setup_errno)
			return sr__fail(c->setup_errno, "sr_ring_create: a capture ring needs io_uring: %s",
					c->setup_why);
	} else if (c->force_fallback || (p->flags & SR_RING_FALLBACK) || c->setup_errno) {
		return sr__fb_create(r, p);
	}
	/*
	 * A ring that may change threads: the kernel ties a single-issuer
	 * ring to its creator, and with cooperative task work the ops a
	 * former owner submitted would complete only when it next enters the
	 * kernel.
	 */
	if (p->flags & SR_RING_MOVABLE)
		forbid = SR_IORING_SETUP_SINGLE_ISSUER | SR_IORING_SETUP_DEFER_TASKRUN |
			 SR_IORING_SETUP_COOP_TASKRUN | SR_IORING_SETUP_TASKRUN_FLAG;
	/*
	 * 128-byte SQEs and 32-byte CQEs are 5.19: a kernel without them
	 * refuses every rung (EINVAL; Debian's 5.10 does).  The ring comes up
	 * without them, and the ops that need them say so at submit ("needs a
	 * ring set up with IORING_SETUP_SQE128"); a simulated kernel older
	 * than the flags gets that same ring.
	 */
	optional = extra & (IORING_SETUP_SQE128 | IORING_SETUP_CQE32);
	if (optional && !sr__rung_allowed(c, optional)) {
		extra &= ~optional;
		optional = 0;
	}
	ret = sr__ladder_init(&r->_uring, entries, extra, p->cq_entries, !(p->flags & SR_RING_NO_LADDER), forbid,
			  &r->_setup_flags, &tried, c);
	if (ret == -EINVAL && optional)
		ret = sr__ladder_init(&r->_uring, entries, extra & ~optional, p->cq_entries,
				  !(p->flags & SR_RING_NO_LADDER), forbid, &r->_setup_flags, &tried, c);
	if (ret < 0) {
		struct sr_caps tmp = *c;

		sr__classify(&tmp, ret);
		return sr__fail(ret, "sr_ring_create: %s", tmp.setup_why);
	}
	r->_features = (unsigned)ret;
	r->_uring_up = true;
	r->_cqes = r->_uring.cq.cqes;
	r->_cq_mask = r->_uring.cq.ring_mask;
	r->_cqh = r->_cqt = *r->_uring.cq.khead;
	r->_cqe_shift = (r->_uring.flags & IORING_SETUP_CQE32) ? 5 : 4;
	r->_sqe_shift = (r->_uring.flags & IORING_SETUP_SQE128) ? 7 : 6;
	caps_native(r, p->disable, p->flags & SR_RING_CAPTURE);
	return 0;
}

int sr_ring_create(struct sr_ring **ringp, const struct sr_ring_params *p)
{
	static const struct sr_ring_params defaults;
	struct sr_ring *r;
	unsigned entries, nslots;
	int ret;

	*ringp = NULL;
	if (sr_op_table_abi != SR_GEN_ABI)
		return sr__err(-EINVAL, "the op table was generated for ABI %u, the runtime "
				"is ABI %u; regenerate with make generate", sr_op_table_abi, SR_GEN_ABI);
	if (!p)
		p = &defaults;
	if (p->flags & ~SR_RING__ALL)
		return sr__err(-EINVAL, "unknown flags %#x (SR_RING_* known to this library: %#x)",
			       p->flags & ~SR_RING__ALL, SR_RING__ALL);
	entries = p->entries ? p->entries : 256;
	r = sr__calloc(1, sizeof(*r));
	if (!r)
		return sr__err(-ENOMEM, "out of memory");
	r->_ext = sr__calloc(1, sizeof(*r->_ext));
	if (!r->_ext) {
		free(r);
		return sr__err(-ENOMEM, "out of memory");
	}
	r->_ext->be = &sr__fallback_backend;
	r->_ext->free_item = SR__NONE;
	r->_ext->dq_head = r->_ext->dq_tail = SR__NONE;
	r->_ext->max_inflight = p->max_inflight;
	r->_ext->next_bgid = 1;
	r->_ext->capture = p->flags & SR_RING_CAPTURE;
	r->_ext->creator = sr__self();
	r->_owner = sr__self();
	r->_policy = sr_caps_get()->policy >= 0 ? sr_caps_get()->policy : (int)p->policy;
	r->_flags = p->flags | (sr__memcheck() ? SR__RING_MEMCHECK | SR__RING_SLICED : 0);
	r->_eventfd = -1;
	ret = setup(r, entries, p);
	if (ret < 0)
		goto fail;
	nslots = entries * 2 < 64 ? 64 : entries * 2;
	if (p->max_inflight && nslots > p->max_inflight)
		nslots = p->max_inflight;	/* the table never grows past it either */
	ret = sr__slots_init(r, nslots);
	if (ret < 0) {
		ret = sr__err(ret, "out of memory for %u op slots", nslots);
		goto fail;
	}
	if (p->flags & SR_RING_EVENTFD) {
		ret = sr_ring_eventfd(r);
		if (ret < 0)
			goto fail;
	}
	sr__trace_init(r);
	r->_state = SR__RING_LIVE;
	sr__ring_register(r);
	*ringp = r;
	return 0;
fail:
	if (r->_uring_up)
		io_uring_queue_exit(&r->_uring);
	sr__be(r)->destroy(r);
	if (r->_eventfd >= 0)
		close(r->_eventfd);
	free(r->_slots);
	free(r->_slotx);
	free(r->_ext);
	free(r);
	return ret;
}
