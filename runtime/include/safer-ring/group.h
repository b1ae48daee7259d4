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

#include "buf.h"

#ifdef __cplusplus
extern "C" {
#endif

struct io_uring_buf_ring;

struct sr_bufgroup {
	struct sr_ring *_ring;		/* NULL once detached: its ring was destroyed with buffers out */
	struct io_uring_buf_ring *_br;	/* kernel-shared ring of buffer addresses */
	struct sr_buf *_bufs;		/* one struct sr_buf per buffer */
	void *_mem;			/* the buffers, one region */
	size_t _size;			/* bytes per buffer */
	unsigned _nbufs;
	unsigned _out;			/* handed to the caller, not yet recycled */
	uint16_t *_free;		/* user-space mode: ids of the buffers to pick from */
	unsigned _nfree;
	int _lock;			/* user-space mode: guards _free (backend threads pick) */
	uint8_t _mode;			/* SR__GROUP_*: who holds the free buffers */
	uint16_t _bgid;
	uint32_t _magic;
	struct sr_bufgroup *_next;	/* the ring's list of groups */
	/* Send groups: buffer id = queue position & (_nbufs - 1). */
	struct sr_buf **_q;		/* by id: the caller's buffer queued there */
	uint32_t _qhead, _qtail;	/* positions _qhead.._qtail-1 are queued, oldest first */
	uint32_t _taken;		/* user-space mode: the backend took the positions before this */
	uint8_t _send;			/* a send group */
	uint8_t _busy;			/* a send_bundle is in flight on it */
};

#define SR__GROUP_MAGIC 0x47727570u

enum {
	SR__GROUP_RING,		/* a kernel buffer ring (IORING_REGISTER_PBUF_RING, 5.19) */
	SR__GROUP_LEGACY,	/* buffers handed over with PROVIDE_BUFFERS (5.7) */
	SR__GROUP_USER,		/* a free list the fallback backend picks from */
};

/* The mode groups of this ring get. */
int sr__group_mode(const struct sr_ring *r);

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

/* --- private ---------------------------------------------------------------- */

int sr__group_check(struct sr_ring *r, const struct sr_bufgroup *g, const char *fn, const char *arg);
/* ... and of the kind the op needs (send: a send group), free for it (one send_bundle at a time). */
int sr__group_check_for(struct sr_ring *r, const struct sr_bufgroup *g, bool send, const char *fn,
			const char *arg);
/*
 * A send_bundle's completion: the buffers it took, oldest first (the
 * first, and how many), given back.  The last completion of the op (no
 * F_MORE) frees the group for the next send_bundle.
 */
void sr__group_take_sent(struct sr_bufgroup *g, int32_t res, uint32_t cflags, struct sr_buf **first,
			 unsigned *n);
/* Do send groups of this ring use the kernel's buffer ring (it has send bundles)? */
bool sr__send_groups_native(const struct sr_ring *r);
/* User-space mode, a backend worker: the queued buffers not yet taken, as
 * iovecs (up to max); the first's id and how many, or -1. */
int sr__group_pick_send(struct sr_bufgroup *g, struct iovec *iov, unsigned max, unsigned *n);
void sr__group_unpick_send(struct sr_bufgroup *g, unsigned n);
/* sr_buf_free of a group's buffer (only a detached group takes it so). */
int sr__group_buf_free(struct sr_buf *b);
struct sr_buf *sr__group_take(struct sr_bufgroup *g, int32_t res, uint32_t cflags);
/* User-space mode, any thread: pick a free buffer (its id, or -1), or put one back. */
int sr__group_pick(struct sr_bufgroup *g);
void sr__group_unpick(struct sr_bufgroup *g, unsigned bid);

static inline unsigned sr__group_id(const struct sr_bufgroup *g)
{
	return g->_bgid;
}

#ifdef __cplusplus
}
#endif

#endif
