/* SPDX-License-Identifier: MIT */
/*
 * Resources a ring's ops use: owned buffers (buf.c), pools (pool.c),
 * registered buffers and files (files.c), provided-buffer groups
 * (group.c).  Calls the core, detection and base.
 */
#ifndef SR_SRC_RES_H
#define SR_SRC_RES_H

#include "core.h"

/* --- pool.c: unregistering a pool ------------------------------------------- */

/* A pool on a NUMA node (sr_pool_create_on_node), or anywhere (SR__NODE_ANY). */
#define SR__NODE_ANY (-2)
struct sr_pool *sr__pool_create(unsigned nbufs, size_t size, unsigned flags, int node);
/* numa.c: bind [mem, mem+len) to *node (SR_POOL_NODE_LOCAL: the caller's,
 * stored back) before it is touched; 0 or -errno (a message names the node). */
int sr__numa_bind(void *mem, size_t len, int *node);

int sr__pool_lent_check(struct sr_ring *r, struct sr_pool *p);
void sr__pool_unregistered(struct sr_ring *r, struct sr_pool *p);

/* --- files.c ------------------------------------------------------------------- */

/* The descriptor in a fallback ring's file table slot, or -1. */
int sr__file_fd(struct sr_ring *r, unsigned slot);
/* Ring teardown: registered buffers and the file table. */
void sr__files_destroy(struct sr_ring *r);

/* --- group.c ------------------------------------------------------------------- */

/* The mode groups of this ring get (SR__GROUP_*). */
int sr__group_mode(const struct sr_ring *r);
/* User-space mode, any thread: pick a free buffer (its id, or -1), or put one back. */
int sr__group_pick(struct sr_bufgroup *g);
void sr__group_unpick(struct sr_bufgroup *g, unsigned bid);
/* sr_buf_free of a group's buffer (only a detached group takes it so). */
int sr__group_buf_free(struct sr_buf *b);
/* Do send groups of this ring use the kernel's buffer ring (it has send bundles)? */
bool sr__send_groups_native(const struct sr_ring *r);
/* User-space mode, a backend worker: the queued buffers not yet taken, as
 * iovecs (up to max); the first's id and how many, or -1. */
int sr__group_pick_send(struct sr_bufgroup *g, struct iovec *iov, unsigned max, unsigned *n);
void sr__group_unpick_send(struct sr_bufgroup *g, unsigned n);
/* Ring teardown: free the groups, detach those with buffers out. */
void sr__groups_destroy(struct sr_ring *r);

#endif
