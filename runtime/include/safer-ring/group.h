/* SPDX-License-Identifier: MIT */
/*
 * Provided-buffer groups: buffers the kernel picks for recv, read and
 * their multishot forms (IOSQE_BUFFER_SELECT).  A group owns its buffers;
 * a completion hands one to the caller (struct sr_buf *) until the caller
 * recycles it, and while the kernel holds a buffer it counts as lent.
 * Without kernel buffer rings (before 5.19) the buffers are handed to the
 * kernel with PROVIDE_BUFFERS (5.7) instead; without either (or on a ring
 * without io_uring) the group keeps its free buffers itself and the
 * fallback backend picks one for each completion the same way.
 */
#ifndef SAFER_RING_GROUP_H
#define SAFER_RING_GROUP_H

#include <safer-ring/inline.h>

#ifdef __cplusplus
extern "C" {
#endif

/* nbufs (a power of two, at most 32768) buffers of size bytes each. */
struct sr_bufgroup *sr_bufgroup_create(struct sr_ring *r, unsigned nbufs, size_t size);
/* -EBUSY while buffers are out with the caller or an op can still pick one. */
int sr_bufgroup_destroy(struct sr_bufgroup *g);
/*
 * Give a buffer the group handed out back to the kernel.  When the ring
 * was destroyed with buffers out, the group stays for them: each one given
 * back here (or with sr_buf_free) is released, and the last frees the group.
 */
int sr_bufgroup_recycle(struct sr_bufgroup *g, struct sr_buf *b);
unsigned sr_bufgroup_id(const struct sr_bufgroup *g);
unsigned sr_bufgroup_available(const struct sr_bufgroup *g);

#ifdef __cplusplus
}
#endif

#endif
