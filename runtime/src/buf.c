/* SPDX-License-Identifier: MIT */
/* Owned buffers and the lending of buffer arrays and messages. */
#define _GNU_SOURCE
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "res.h"

#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#else
#define VALGRIND_MAKE_MEM_DEFINED(p, n) ((void)(p), (void)(n))
#endif

static const char *op_name(unsigned op)
{
	if (op == SR__OP_GROUP)
		return "its provided-buffer group (for the kernel to pick)";
	if (op == SR__OP_SENDQ)
		return "a send group's queue (until a send_bundle's completion gives it back)";
	return sr__op_name(op);
}

/* Why sr__buf_live() said no. */
#define NOT_LIVE "not a live buffer (freed, a copy of one, or not from sr_buf_alloc/_wrap)"

/*
 * Is b a buffer the caller may touch now?  0, or an error naming fn and
 * why not: not a buffer, lent to an op, or back in its pool.
 */
static int buf_usable(const struct sr_buf *b, const char *fn)
{
	if (!sr__buf_live(b))
		return sr__fail(-EINVAL, "%s: " NOT_LIVE, fn);
	if (b->_flags & SR__BUF_HOME)
		return sr__fail(-EINVAL, "%s: the buffer is back in its pool (sr_pool_put); take one with "
				"sr_pool_take", fn);
	if (b->_flags & SR__BUF_LENT)
		return sr__fail(-EBUSY, "%s: the buffer is lent to %s (in flight); its bytes are the kernel's "
				"until that op completes (with a callback: until its callback runs)", fn,
				op_name(b->_lent_op));
	return 0;
}

static struct sr_buf *buf_new(void *data, size_t cap, size_t len, uint32_t flags)
{
	struct sr_buf *b = sr__calloc(1, sizeof(*b));

	if (!b) {
		sr__fail(-ENOMEM, "sr_buf: out of memory");
		return NULL;
	}
	b->_data = data;
	b->_cap = cap;
	b->_len = len;
	b->_flags = flags;
	b->_magic = SR__BUF_MAGIC;
	b->_self = b;
	return b;
}

struct sr_buf *sr_buf_alloc(size_t cap)
{
	long page = sysconf(_SC_PAGESIZE);
	struct sr_buf *b;
	void *p = sr__memalign((size_t)page, cap);

	if (!p) {
		sr__err(-ENOMEM, "out of memory for %zu bytes", cap);
		return NULL;
	}
	b = buf_new(p, cap, 0, SR__BUF_OWNS);
	if (!b)
		free(p);
	return b;
}

struct sr_buf *sr_buf_wrap(void *mem, size_t cap, size_t len)
{
	if (!mem && cap) {
		sr__err(-EINVAL, "NULL memory with capacity %zu", cap);
		return NULL;
	}
	if (len > cap) {
		sr__err(-EINVAL, "len %zu exceeds capacity %zu", len, cap);
		return NULL;
	}
	return buf_new(mem, cap, len, 0);
}

struct sr_buf *sr_buf_wrap_const(const void *mem, size_t len)
{
	if (!mem && len) {
		sr__err(-EINVAL, "NULL memory with length %zu", len);
		return NULL;
	}
	return buf_new((void *)mem, len, len, SR__BUF_RDONLY);
}

int sr_buf_free(struct sr_buf *b)
{
	if (!b)
		return 0;
	if (!sr__buf_live(b))
		return sr__err(-EINVAL, NOT_LIVE);
	if (b->_flags & SR__BUF_LENT)
		return sr__err(-EBUSY, "the buffer is lent to %s (in flight); it comes back when "
				"that op completes (with a callback: when its callback runs): wait for it or "
				"cancel it, then free", op_name(b->_lent_op));
	if (b->_flags & SR__BUF_REGISTERED)
		return sr__err(-EBUSY, "the buffer is registered with a ring; "
				"sr_ring_unregister_buffers first");
	if (b->_flags & SR__BUF_GROUP)
		return sr__group_buf_free(b);
	if (b->_flags & SR__BUF_POOLED)
		return sr__err(-EINVAL, "the buffer belongs to a pool; give it back with sr_pool_put");
	b->_magic = 0;
	b->_self = NULL;
	if (b->_flags & SR__BUF_OWNS)
		free(b->_data);
	free(b);
	return 0;
}

void *(sr_buf_data)(struct sr_buf *b)
{
	if (buf_usable(b, "sr_buf_data"))
		return NULL;
	if (b->_flags & SR__BUF_RDONLY) {
		sr__err(-EINVAL, "read-only buffer; use sr_buf_cdata");
		return NULL;
	}
	return b->_data;
}

const void *sr_buf_cdata(const struct sr_buf *b)
{
	if (buf_usable(b, "sr_buf_cdata"))
		return NULL;
	return b->_data;
}

size_t sr_buf_cap(const struct sr_buf *b)
{
	return b->_cap;
}

size_t sr_buf_len(const struct sr_buf *b)
{
	return b->_len;
}

int sr_buf_set_len(struct sr_buf *b, size_t len)
{
	int ret = buf_usable(b, "sr_buf_set_len");

	if (ret)
		return ret;
	if (len > b->_cap)
		return sr__err(-EINVAL, "%zu is beyond the capacity %zu", len, b->_cap);
	b->_len = len;
	return 0;
}

int sr_buf_set_window(struct sr_buf *b, size_t off, size_t len)
{
	int ret = buf_usable(b, "sr_buf_set_window");

	if (ret)
		return ret;
	if (off > b->_cap || len > b->_cap - off)
		return sr__err(-EINVAL, "%zu bytes at %zu run past the capacity %zu", len, off,
				b->_cap);
	b->_off = off;
	b->_win = len;
	return 0;
}

bool sr_buf_is_lent(const struct sr_buf *b)
{
	return b->_flags & SR__BUF_LENT;
}

const char *sr_buf_holder(const struct sr_buf *b)
{
	return (b->_flags & SR__BUF_LENT) ? op_name(b->_lent_op) : NULL;
}

int sr__buf_bad(const struct sr_buf *b, int dir, unsigned op, const char *fn, const char *arg)
{
	if (!b)
		return sr__fail(-EINVAL, "%s: %s: NULL buffer; make one with sr_buf_alloc or sr_buf_wrap", fn, arg);
	if (!sr__buf_live(b))
		return sr__fail(-EINVAL, "%s: %s: " NOT_LIVE, fn, arg);
	if (b->_flags & SR__BUF_HOME)
		return sr__fail(-EINVAL, "%s: %s: the buffer is back in its pool (sr_pool_put); take one with "
				"sr_pool_take", fn, arg);
	if (b->_flags & SR__BUF_LENT)
		return sr__fail(-EBUSY, "%s: %s: the buffer is lent to %s (in flight); wait for that op or use "
				"another buffer", fn, arg, op_name(b->_lent_op));
	if (dir == SR__OUT && (b->_flags & SR__BUF_RDONLY))
		return sr__fail(-EINVAL, "%s: %s: read-only buffer (sr_buf_wrap_const), but %s writes into it",
				fn, arg, op_name(op));
	return sr__fail(-EINVAL, "%s: %s: bad buffer", fn, arg);
}

void sr__kernel_wrote(const void *p, size_t n)
{
	if (p && n)
		VALGRIND_MAKE_MEM_DEFINED(p, n);
}

/* Is memcheck watching?  Only it answers the request (-1; other tools 0). */
bool sr__memcheck(void)
{
#if __has_include(<valgrind/memcheck.h>)
	char probe = 0;

	return RUNNING_ON_VALGRIND && (long)VALGRIND_MAKE_MEM_DEFINED(&probe, 1) == -1;
#else
	return false;
#endif
}

/* A buffer that belongs to a pool or a group goes home when it is returned. */
void sr__buf_returned(struct sr_buf *b)
{
	if (b->_flags & SR__BUF_RETURN_POOL) {
		b->_flags &= ~SR__BUF_RETURN_POOL;
		sr_pool_put(b);
	}
}

/* --- buffer arrays (readv, writev) ------------------------------------------------ */

int sr__bufvec_check(struct sr_ring *r, struct sr_buf *const *bufs, unsigned n, int dir, bool fixed,
		     unsigned op, const char *fn, const char *arg)
{
	if (!bufs || n == 0)
		return sr__fail(-EINVAL, "%s: %s: no buffers", fn, arg);
	if (n > IOV_MAX)
		return sr__fail(-EINVAL, "%s: %s: %u buffers; at most IOV_MAX (%d)", fn, arg, n, IOV_MAX);
	for (unsigned i = 0; i < n; i++) {
		int ret = sr__buf_check(bufs[i], dir, op, fn, arg);

		if (ret)
			return ret;
		if (fixed) {
			ret = sr__buf_check_fixed(r, bufs[i], fn, arg);
			if (ret)
				return ret;
			if (bufs[i]->_reg_index != bufs[0]->_reg_index)
				return sr__fail(-EINVAL, "%s: %s: buffers %u and 0 are different registered buffers; "
						"a fixed vectored op uses one", fn, arg, i);
		}
	}
	return 0;
}

static void untake(struct sr_buf **bufs, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		sr__buf_unpoison(bufs[i]);
		bufs[i]->_flags &= ~SR__BUF_LENT;
		bufs[i]->_lent_ring = NULL;
	}
}

int sr__bufvec_take(struct sr_ring *r, struct iovec *iov, struct sr_buf **keep, struct sr_buf *const *bufs,
		    unsigned n, int dir, unsigned op, const char *fn, const char *arg)
{
	for (unsigned i = 0; i < n; i++) {
		struct sr_buf *b = bufs[i];

		if (b->_flags & SR__BUF_LENT) {
			untake(keep, i);
			return sr__fail(-EINVAL, "%s: %s: buffer %u appears twice (or is lent elsewhere)", fn, arg, i);
		}
		iov[i].iov_base = sr__buf_io_ptr(b);
		iov[i].iov_len = sr__buf_io_len(b, dir);
		keep[i] = b;
		sr__buf_lend(r, b, op);
	}
	return 0;
}

void sr__bufvec_return(struct sr_buf **bufs, unsigned n, bool out, int res)
{
	size_t left = res > 0 ? (size_t)res : 0;

	for (unsigned i = 0; i < n; i++) {
		size_t room = sr__buf_io_len(bufs[i], SR__OUT);
		size_t got = left < room ? left : room;

		left -= got;
		sr__buf_return(bufs[i], out, (long)got);
	}
}

/* --- messages (sendmsg, recvmsg) -------------------------------------------------------- */

int sr__msg_check(struct sr_ring *r, const struct sr_msg *m, int dir, bool fixed, unsigned op, const char *fn,
		  const char *arg)
{
	int ret;

	if (!m)
		return sr__fail(-EINVAL, "%s: %s: NULL message", fn, arg);
	if (m->iovlen > SR_MSG_MAX_IOV)
		return sr__fail(-EINVAL, "%s: %s: %u data buffers; at most SR_MSG_MAX_IOV (%d)", fn, arg,
				m->iovlen, SR_MSG_MAX_IOV);
	if (fixed && !m->iovlen)
		return sr__fail(-EINVAL, "%s: %s: a fixed-buffer message needs at least one data buffer", fn, arg);
	for (unsigned i = 0; i < m->iovlen; i++) {
		ret = sr__buf_check(m->iov[i], dir, op, fn, arg);
		if (ret)
			return ret;
		if (fixed) {
			ret = sr__buf_check_fixed(r, m->iov[i], fn, arg);
			if (ret)
				return ret;
			if (m->iov[i]->_reg_index != m->iov[0]->_reg_index)
				return sr__fail(-EINVAL, "%s: %s: data buffers %u and 0 are different registered buffers; "
						"a fixed-buffer message uses one", fn, arg, i);
		}
	}
	if (m->name && (ret = sr__buf_check(m->name, dir, op, fn, arg)))
		return ret;
	if (m->control && (ret = sr__buf_check(m->control, dir, op, fn, arg)))
		return ret;
	return 0;
}

int sr__msg_take(struct sr_ring *r, struct sr__msg_store *st, const struct sr_msg *m, int dir, unsigned op,
		 const char *fn, const char *arg)
{
	int ret;

	memset(&st->hdr, 0, sizeof(st->hdr));
	st->n = 0;
	st->name = st->control = NULL;
	ret = sr__bufvec_take(r, st->iov, st->bufs, m->iov, m->iovlen, dir, op, fn, arg);
	if (ret)
		return ret;
	st->n = m->iovlen;
	if (m->name) {
		if (m->name->_flags & SR__BUF_LENT)
			goto dup;
		st->name = m->name;
		sr__buf_lend(r, m->name, op);
		st->hdr.msg_name = m->name->_data;
		st->hdr.msg_namelen = (socklen_t)(dir == SR__OUT ? m->name->_cap : m->name->_len);
	}
	if (m->control) {
		if (m->control->_flags & SR__BUF_LENT)
			goto dup;
		st->control = m->control;
		sr__buf_lend(r, m->control, op);
		st->hdr.msg_control = m->control->_data;
		st->hdr.msg_controllen = dir == SR__OUT ? m->control->_cap : m->control->_len;
	}
	st->hdr.msg_iov = st->iov;
	st->hdr.msg_iovlen = st->n;
	return 0;
dup:
	untake(st->bufs, st->n);
	if (st->name)
		untake(&st->name, 1);
	return sr__fail(-EINVAL, "%s: %s: a buffer appears twice in the message", fn, arg);
}

void sr__msg_return(struct sr__msg_store *st, bool out, int res)
{
	sr__bufvec_return(st->bufs, st->n, out, res);
	if (st->name)
		sr__buf_return(st->name, out, out && res >= 0 ? (long)st->hdr.msg_namelen : 0);
	if (st->control)
		sr__buf_return(st->control, out, out && res >= 0 ? (long)st->hdr.msg_controllen : 0);
}
