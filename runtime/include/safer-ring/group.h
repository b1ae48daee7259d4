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
 *
 * Send groups (sr_bufgroup_create_send) run the other way, for send
 * bundles: the caller queues its own buffers, holding data, in order; a
 * send_bundle takes as many queued buffers as it can, oldest first, and
 * its completion gives back every buffer it took (sent, or not all of it
 * when res says less), oldest first.  A queued buffer is lent: out of
 * reach until it comes back.  One send_bundle at a time per send group
 * (a stream's bytes go in one order).  The kernel's buffer ring is used
 * where the kernel has send bundles (6.10); elsewhere the fallback
 * backend sends the queue with sendmsg(2).
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
/* Buffers the group can still hand out (a send group: still take in its queue). */
unsigned sr_bufgroup_available(const struct sr_bufgroup *g);

/* A send group whose queue holds up to nbufs (a power of two, at most 32768) buffers. */
struct sr_bufgroup *sr_bufgroup_create_send(struct sr_ring *r, unsigned nbufs);
/*
 * Queue b's bytes (its valid length, or its window) at the end of a send
 * group; b is lent until a send_bundle's completion gives it back.
 * -ENOBUFS when the queue is full.
 */
int sr_bufgroup_queue(struct sr_bufgroup *g, struct sr_buf *b);
/* Buffers queued and not yet given back. */
unsigned sr_bufgroup_queued(const struct sr_bufgroup *g);

#ifdef __cplusplus
}
#endif

#endif
