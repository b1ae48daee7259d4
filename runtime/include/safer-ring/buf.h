/* SPDX-License-Identifier: MIT */
/*
 * Owned buffers.  An op that reads or writes user memory takes a struct
 * sr_buf, lends it to the kernel at submit and gives it back exactly when
 * its lifetime class says (completion, or the zero-copy notification).
 * While lent, the bytes are out of reach: sr_buf_data() returns NULL,
 * sr_buf_free() and a second submit are refused with a message that names
 * the op holding it, and in ASan builds the memory is poisoned.
 */
#ifndef SAFER_RING_BUF_H
#define SAFER_RING_BUF_H

#include <safer-ring/inline.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Allocate a page-aligned buffer of cap bytes (len 0). */
struct sr_buf *sr_buf_alloc(size_t cap);
/* Wrap memory the caller owns and keeps alive while the buffer exists. */
struct sr_buf *sr_buf_wrap(void *mem, size_t cap, size_t len);
/* Wrap read-only memory: usable by ops that only read it (write, send). */
struct sr_buf *sr_buf_wrap_const(const void *mem, size_t len);
/* Free; -EBUSY (and nothing freed) while lent or registered. */
int sr_buf_free(struct sr_buf *b);
/* The bytes, or NULL while the kernel holds them. */
void *sr_buf_data(struct sr_buf *b);
const void *sr_buf_cdata(const struct sr_buf *b);
/* The checks inline; a buffer that fails one gets its message from the
 * library's sr_buf_data. */
static inline void *sr__buf_data(struct sr_buf *b)
{
	if (sr__likely(sr__buf_live(b) &&
		       !(b->_flags & (SR__BUF_LENT | SR__BUF_HOME | SR__BUF_RDONLY))))
		return b->_data;
	return (sr_buf_data)(b);
}
#define sr_buf_data(b) sr__buf_data(b)
size_t sr_buf_cap(const struct sr_buf *b);
size_t sr_buf_len(const struct sr_buf *b);
/* Set the valid length (the bytes a write sends); -EBUSY while lent. */
int sr_buf_set_len(struct sr_buf *b, size_t len);
/*
 * The part of the buffer the next op uses: len bytes from off.  A read
 * fills from off (after it the valid length is off + the bytes read); a
 * write sends from off (len 0: up to the valid length).  The window
 * applies to one op and is reset when that op gives the buffer back.
 */
int sr_buf_set_window(struct sr_buf *b, size_t off, size_t len);
bool sr_buf_is_lent(const struct sr_buf *b);
/* Which op holds it ("read"), or NULL. */
const char *sr_buf_holder(const struct sr_buf *b);

/*
 * A message for sendmsg/recvmsg: owned buffers for the name, the control
 * data and the payload.  The description is read at submit; the msghdr the
 * kernel sees is built in op storage, so this struct need not outlive the
 * submit call.
 */
#define SR_MSG_MAX_IOV SR__MSG_MAX_IOV	/* 8 */

struct sr_msg {
	struct sr_buf *name;		/* peer address, or NULL */
	struct sr_buf *control;		/* ancillary data, or NULL */
	struct sr_buf *iov[SR_MSG_MAX_IOV];
	unsigned iovlen;
};

#ifdef __cplusplus
}
#endif

#endif
