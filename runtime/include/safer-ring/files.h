/* SPDX-License-Identifier: MIT */
/*
 * Registration: fixed buffers and the registered (direct) file table.
 * A registered sr_buf is its own fixed-buffer handle: the _fixed ops take
 * it and fill in the index; it cannot be freed or unregistered while lent.
 */
#ifndef SAFER_RING_FILES_H
#define SAFER_RING_FILES_H

#include "buf.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Register bufs as the ring's fixed buffers, index i for bufs[i]. */
int sr_ring_register_buffers(struct sr_ring *r, struct sr_buf *const *bufs, unsigned n);
/* -EBUSY (nothing changes) while any registered buffer is lent. */
int sr_ring_unregister_buffers(struct sr_ring *r);

/* A sparse table of nslots registered files (direct descriptors). */
int sr_ring_register_files(struct sr_ring *r, unsigned nslots);
int sr_ring_unregister_files(struct sr_ring *r);
/* Put fd (or -1 to clear) into slot. */
int sr_ring_files_set(struct sr_ring *r, unsigned slot, int fd);
unsigned sr_ring_files_count(const struct sr_ring *r);

/* --- private ---------------------------------------------------------------- */

int sr__buf_check_fixed(struct sr_ring *r, const struct sr_buf *b, const char *fn, const char *arg);

#ifdef __cplusplus
}
#endif

#endif
