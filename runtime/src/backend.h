/* SPDX-License-Identifier: MIT */
/*
 * The fallback backend (runtime/src/fallback/) as the layers above it see
 * it: its hooks, for setup to give a ring; whole rings without io_uring;
 * and the route decision that submit and sr_op_status share.
 */
#ifndef SR_SRC_BACKEND_H
#define SR_SRC_BACKEND_H

#include "res.h"

extern const struct sr__backend sr__fallback_backend;

/* A ring with no io_uring at all: every op takes a fallback route. */
int sr__fb_create(struct sr_ring *r, const struct sr_ring_params *p);

/* What a ring does with an op it cannot run natively. */
enum sr__route_kind {
	SR__ROUTE_FALLBACK,	/* *rtp runs it */
	SR__ROUTE_STRICT,	/* not native, and the policy takes no fallback */
	SR__ROUTE_NONE,		/* not native, and no route works on this ring */
};

/*
 * The one route decision, for an op the ring does not run natively: a
 * fallback route (*rtp), or why not.  why (len bytes) gets why the op is
 * not native; none (len bytes), for SR__ROUTE_NONE, why no route works.
 */
enum sr__route_kind sr__route(const struct sr_ring *r, unsigned op, const struct sr_fb_route **rtp, char *why,
			      char *none, size_t len);

/* For sr_ring_dump: the backend's threads and jobs, and a job's descriptor
 * as the caller gave it. */
struct sr__fb_info {
	unsigned threads, idle, jobs, cancelling;
	uint64_t completions;		/* posted to the ring since it was created */
	bool poller;
};
void sr__fb_describe(struct sr_ring *r, struct sr__fb_info *info);
int sr__fb_job_fd(const void *job);
/* A job's place in a chain: its link flag, the slot of the op linked after
 * it (SR__NONE: none), and whether it waits for the next submit. */
struct sr__fb_chain {
	uint8_t link;
	bool pending;
	uint32_t next;
};
void sr__fb_job_chain(struct sr_ring *r, const void *job, struct sr__fb_chain *c);

#endif
