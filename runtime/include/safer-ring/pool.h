/* SPDX-License-Identifier: MIT */
/*
 * Buffer pools: nbufs page-aligned buffers of one size, allocated once
 * (optionally locked in memory).  Taking a buffer never allocates: an
 * empty pool says so.  A pool may be shared by rings on different
 * threads.  Registered with a ring (sr_ring_register_pool), every buffer
 * of the pool is a fixed buffer there, and buffers of one pool may be
 * mixed in one fixed vectored op.
 */
#ifndef SAFER_RING_POOL_H
#define SAFER_RING_POOL_H

#include <safer-ring/inline.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
	SR_POOL_LOCKED = 1 << 0,	/* mlock the buffers (RLIMIT_MEMLOCK applies) */
};

/* nbufs buffers of size bytes each (size is rounded up to whole pages). */
struct sr_pool *sr_pool_create(unsigned nbufs, size_t size, unsigned flags);
/*
 * The same, with every page on NUMA node node (SR_POOL_NODE_LOCAL: the
 * node of the CPU the caller runs on), bound there with mbind(2) before
 * the pages are first touched.  A node the machine does not have is an
 * error (EINVAL) naming it.
 */
#define SR_POOL_NODE_LOCAL (-1)
struct sr_pool *sr_pool_create_on_node(unsigned nbufs, size_t size, unsigned flags, int node);
/* The node a pool's pages are bound to, or -1 (sr_pool_create: none). */
int sr_pool_node(const struct sr_pool *p);
/* -EBUSY (nothing freed) while any buffer is taken or the pool is registered. */
int sr_pool_destroy(struct sr_pool *p);
/* A free buffer (len 0), or NULL when all are taken (sr_last_error says so). */
struct sr_buf *sr_pool_take(struct sr_pool *p);
/* Give a taken buffer back; -EBUSY while an op holds it. */
int sr_pool_put(struct sr_buf *b);
/*
 * on: when the op the buffer is lent to ends (completes, fails or is
 * cancelled), the buffer goes back to its pool by itself; for buffers
 * whose contents are not needed afterwards (sends, writes).
 */
int sr_buf_set_auto_return(struct sr_buf *b, bool on);
unsigned sr_pool_available(const struct sr_pool *p);
unsigned sr_pool_count(const struct sr_pool *p);
size_t sr_pool_buf_size(const struct sr_pool *p);

/* Register every buffer of the pool as fixed buffers of r (io_uring
 * registers whole regions: one per GiB of pool). */
int sr_ring_register_pool(struct sr_ring *r, struct sr_pool *p);

#ifdef __cplusplus
}
#endif

#endif
