/* SPDX-License-Identifier: MIT */
/*
 * The fallback backend interface used by ring.c.  An op the ring cannot
 * run natively enters here at submit (sr__fb_begin) with its SQE image;
 * what happens next depends on the ring's policy and the op's chain.
 */
#ifndef SAFER_RING_FALLBACK_H
#define SAFER_RING_FALLBACK_H

#include "internal.h"

int sr__fb_create(struct sr_ring *r, const struct sr_ring_params *p);
struct io_uring_sqe *sr__fb_begin(struct sr_ring *r, struct sr_op *op, unsigned opid, uint32_t *idxp);
void sr__fb_abort(struct sr_ring *r, uint32_t idx);
int sr__fb_cancel(struct sr_ring *r, uint32_t idx);
unsigned sr__fb_reap(struct sr_ring *r, bool block);
int sr__fb_wait(struct sr_ring *r, int timeout_ms);
void sr__fb_kick(struct sr_ring *r);
int sr__fb_fd(const struct sr_ring *r);
void sr__fb_set_eventfd(struct sr_ring *r, int fd);
void sr__fb_destroy(struct sr_ring *r);
/* The fallback this ring would take for op ("fallback: ..."), or false. */
bool sr__fb_route(const struct sr_ring *r, unsigned op, char *buf, size_t len);

#endif
