/* SPDX-License-Identifier: MIT */
/*
 * Registration: fixed buffers and the registered (direct) file table.
 * A registered sr_buf is its own fixed-buffer handle: the _fixed ops take
 * it and fill in the index; it cannot be freed or unregistered while lent.
 * A registered file is a struct sr_file: its slot and the generation the
 * slot had when the file went in.  Closing, replacing or unregistering
 * moves the slot on, so a handle kept too long is refused (it never
 * reaches the file that took the slot's place).
 */
#ifndef SAFER_RING_FILES_H
#define SAFER_RING_FILES_H

#include <safer-ring/inline.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Register bufs as the ring's fixed buffers, index i for bufs[i]. */
int sr_ring_register_buffers(struct sr_ring *r, struct sr_buf *const *bufs, unsigned n);
/* -EBUSY (nothing changes) while any registered buffer is lent. */
int sr_ring_unregister_buffers(struct sr_ring *r);

/* A registered file (struct sr_file, its fields private): its slot and generation. */
/* A sparse table of nslots registered files (direct descriptors). */
int sr_ring_register_files(struct sr_ring *r, unsigned nslots);
int sr_ring_unregister_files(struct sr_ring *r);
/* Put fd into slot (fd -1: clear it); out (may be NULL) gets its handle. */
int sr_ring_files_set(struct sr_ring *r, unsigned slot, int fd, struct sr_file *out);
unsigned sr_ring_files_count(const struct sr_ring *r);
/*
 * The handle of whatever is in slot now, for slots filled where no handle
 * came back (files_update, or msg_ring_fd from another ring).  A handle
 * got this way is as good as the caller's knowledge of what is there.
 */
int sr_ring_file_handle(struct sr_ring *r, unsigned slot, struct sr_file *out);

static inline unsigned sr_file_slot(struct sr_file f)
{
	return f._slot;
}

static inline bool sr_file_valid(struct sr_file f)
{
	return f._gen != 0;
}

#ifdef __cplusplus
}
#endif

#endif
