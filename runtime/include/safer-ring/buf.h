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

#include <sys/socket.h>
#include <sys/uio.h>
#include "ring.h"

#ifdef __cplusplus
extern "C" {
#endif

struct sr_pool;

struct sr_buf {
	void *_data;
	size_t _cap;
	size_t _len;
	size_t _off;		/* I/O window of the next op: start ... */
	size_t _win;		/* ... and length (0: to the capacity, or the valid length) */
	uint32_t _flags;	/* SR__BUF_* */
	uint16_t _lent_op;	/* SR_OP_* holding it, while lent */
	uint16_t _reg_index;	/* registered (fixed) buffer index */
	struct sr_ring *_lent_ring;
	struct sr_ring *_reg_ring;	/* ring it is registered with, or NULL */
	struct sr_pool *_pool;	/* pool it belongs to, or NULL */
	struct sr_bufgroup *_group;	/* group it belongs to, or NULL */
	uint32_t _pool_index;
	uint32_t _magic;
};

enum {
	SR__BUF_LENT		= 1 << 0,
	SR__BUF_OWNS		= 1 << 1,	/* _data was allocated by sr_buf_alloc */
	SR__BUF_REGISTERED	= 1 << 2,
	SR__BUF_POOLED		= 1 << 3,
	SR__BUF_RDONLY		= 1 << 4,	/* wraps const memory: never lent for writing */
	SR__BUF_GROUP		= 1 << 5,	/* belongs to a provided-buffer group */
	SR__BUF_RETURN_POOL	= 1 << 6,	/* go back to the pool when the op ends */
	SR__BUF_HOME		= 1 << 7,	/* a pool buffer in its pool: not the caller's */
};

#define SR__BUF_MAGIC 0x5262756fu
/* _lent_op of a group's buffer waiting in the group for the kernel to pick. */
#define SR__OP_GROUP 0xffffu
/* _lent_op of a caller's buffer queued in a send group. */
#define SR__OP_SENDQ 0xfffeu

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
#define SR_MSG_MAX_IOV 8

struct sr_msg {
	struct sr_buf *name;		/* peer address, or NULL */
	struct sr_buf *control;		/* ancillary data, or NULL */
	struct sr_buf *iov[SR_MSG_MAX_IOV];
	unsigned iovlen;
};

/* --- private: lending, used by generated submit/finish code ------------------ */

/* A buffer the kernel will write into: const-qualified pointers do not match. */
#define SR__OUT_BUF(b) _Generic((b), struct sr_buf *: (b), void *: (struct sr_buf *)(b))

/* Where a msghdr op keeps the kernel-facing message (in op storage). */
struct sr__msg_store {
	struct msghdr hdr;
	struct iovec iov[SR_MSG_MAX_IOV];
	struct sr_buf *bufs[SR_MSG_MAX_IOV];
	struct sr_buf *name;
	struct sr_buf *control;
	unsigned n;
};

int sr__bufvec_check(struct sr_ring *r, struct sr_buf *const *bufs, unsigned n, int dir, bool fixed,
		     unsigned op, const char *fn, const char *arg);
int sr__bufvec_take(struct sr_ring *r, struct iovec *iov, struct sr_buf **keep, struct sr_buf *const *bufs,
		    unsigned n, int dir, unsigned op, const char *fn, const char *arg);
void sr__bufvec_return(struct sr_buf **bufs, unsigned n, bool out, int res);
int sr__msg_check(struct sr_ring *r, const struct sr_msg *m, int dir, bool fixed, unsigned op, const char *fn,
		  const char *arg);
int sr__msg_take(struct sr_ring *r, struct sr__msg_store *st, const struct sr_msg *m, int dir, unsigned op,
		 const char *fn, const char *arg);
void sr__msg_return(struct sr__msg_store *st, bool out, int res);

int sr__buf_bad(const struct sr_buf *b, int dir, unsigned op, const char *fn, const char *arg) sr__cold;
void sr__buf_returned(struct sr_buf *b);
/* The kernel filled these bytes: tell memory checkers (valgrind) they are defined. */
void sr__kernel_wrote(const void *p, size_t n);

/* ASan builds: a lent buffer's bytes are poisoned, so a stray access is reported. */
#if defined(__SANITIZE_ADDRESS__)
#define SR__ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SR__ASAN 1
#endif
#endif
#ifdef SR__ASAN
void __asan_poison_memory_region(void const volatile *addr, size_t size);
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
static inline void sr__buf_poison(struct sr_buf *b)
{
	__asan_poison_memory_region(b->_data, b->_cap);
}
static inline void sr__buf_unpoison(struct sr_buf *b)
{
	__asan_unpoison_memory_region(b->_data, b->_cap);
}
#else
static inline void sr__buf_poison(struct sr_buf *b)
{
	(void)b;
}
static inline void sr__buf_unpoison(struct sr_buf *b)
{
	(void)b;
}
#endif

enum { SR__IN = 0, SR__OUT = 1 };

/* Can this buffer be lent now?  Cheap test first, message on the cold path. */
static inline int sr__buf_check(const struct sr_buf *b, int dir, unsigned op, const char *fn,
				const char *arg)
{
	if (sr__unlikely(!b || b->_magic != SR__BUF_MAGIC ||
			 (b->_flags & (SR__BUF_LENT | SR__BUF_HOME | (dir == SR__OUT ? SR__BUF_RDONLY : 0)))))
		return sr__buf_bad(b, dir, op, fn, arg);
	return 0;
}

static inline void sr__buf_lend(struct sr_ring *r, struct sr_buf *b, unsigned op)
{
	b->_flags |= SR__BUF_LENT;
	b->_lent_op = (uint16_t)op;
	b->_lent_ring = r;
	/* Not for the fallback backend: its system calls go through ASan's checks. */
	if (!r->_fb_building)
		sr__buf_poison(b);
}

/* Give a buffer back.  out: the kernel wrote n bytes of data into it. */
static inline void sr__buf_return(struct sr_buf *b, bool out, long n)
{
	sr__buf_unpoison(b);
	b->_flags &= ~SR__BUF_LENT;
	b->_lent_ring = NULL;
	if (out) {
		size_t got = n > 0 ? (size_t)n : 0;

		/* Data now runs from the start to the end of what was read. */
		b->_len = b->_off + got < b->_cap ? b->_off + got : b->_cap;
		sr__kernel_wrote((char *)b->_data + b->_off, b->_len - b->_off);
	}
	b->_off = 0;
	b->_win = 0;
	if (sr__unlikely(b->_flags & (SR__BUF_RETURN_POOL | SR__BUF_GROUP)))
		sr__buf_returned(b);
}

/* Where the kernel reads or writes: the start of the I/O window. */
static inline void *sr__buf_io_ptr(const struct sr_buf *b)
{
	return (char *)b->_data + b->_off;
}

/* Length the kernel may use: the window, else the capacity to fill or the
 * valid bytes to send (both from the window's start). */
static inline uint32_t sr__buf_io_len(const struct sr_buf *b, int dir)
{
	size_t n = b->_win ? b->_win : dir == SR__OUT ? b->_cap - b->_off :
		   b->_len > b->_off ? b->_len - b->_off : 0;

	return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

#ifdef __cplusplus
}
#endif

#endif
