/* SPDX-License-Identifier: MIT */
/*
 * Ops the running kernel cannot do.  This runtime fails them at submit
 * with an error naming the op, the kernel it needs and the kernel that
 * is running (the STRICT policy).
 */
#include <stdio.h>
#include <safer-ring/caps.h>

#include "fallback.h"

int sr__fb_create(struct sr_ring *r, const struct sr_ring_params *p)
{
	const struct sr_caps *c = sr_caps_get();

	(void)r;
	(void)p;
	if (c->setup_errno)
		return sr__fail(c->setup_errno, "sr_ring_create: %s", c->setup_why);
	return sr__fail(-EOPNOTSUPP, "sr_ring_create: this build has no fallback backend");
}

struct io_uring_sqe *sr__fb_begin(struct sr_ring *r, struct sr_op *op, unsigned opid, uint32_t *idxp)
{
	char why[200];

	(void)op;
	(void)idxp;
	sr__fail(-EOPNOTSUPP, "sr_%s_submit: %s", sr_op_table[opid].name,
		 sr__op_missing(r, opid, why, sizeof(why)));
	return NULL;
}

void sr__commit_fallback(struct sr_ring *r, uint32_t idx, struct io_uring_sqe *sqe)
{
	(void)r;
	(void)idx;
	(void)sqe;
}

void sr__fb_abort(struct sr_ring *r, uint32_t idx)
{
	(void)r;
	(void)idx;
}

int sr__fb_cancel(struct sr_ring *r, uint32_t idx)
{
	(void)r;
	(void)idx;
	return 0;
}

unsigned sr__fb_reap(struct sr_ring *r, bool block)
{
	(void)r;
	(void)block;
	return 0;
}

int sr__fb_wait(struct sr_ring *r, int timeout_ms)
{
	(void)r;
	(void)timeout_ms;
	return 0;
}

void sr__fb_kick(struct sr_ring *r)
{
	(void)r;
}

int sr__fb_fd(const struct sr_ring *r)
{
	(void)r;
	return -1;
}

void sr__fb_set_eventfd(struct sr_ring *r, int fd)
{
	(void)r;
	(void)fd;
}

void sr__fb_destroy(struct sr_ring *r)
{
	(void)r;
}

bool sr__fb_route(const struct sr_ring *r, unsigned op, char *buf, size_t len)
{
	(void)r;
	(void)op;
	(void)buf;
	(void)len;
	return false;
}
