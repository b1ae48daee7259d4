/* SPDX-License-Identifier: MIT */
/*
 * Provided-buffer groups over a kernel buffer ring (IORING_REGISTER_PBUF_RING,
 * 5.19), or, where there is none, over a list of free buffers the fallback
 * backend picks from.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "res.h"

int sr__group_mode(const struct sr_ring *r)
{
	/* A capture ring never submits: the kernel never picks from its
	 * groups, and it could not wait for PROVIDE_BUFFERS either. */
	if (r->_ext->capture)
		return SR__GROUP_USER;
	if (sr__register_ok(r, SR_IORING_REGISTER_PBUF_RING))
		return SR__GROUP_RING;
	if (r->_uring_up && sr__be(r)->native(r, SR_OP_PROVIDE_BUFFERS) && sr__be(r)->native(r, SR_OP_REMOVE_BUFFERS))
		return SR__GROUP_LEGACY;
	return SR__GROUP_USER;
}

/* Legacy mode: hand nr buffers from bid on to the kernel and wait for it. */
static int legacy_provide(struct sr_ring *r, struct sr_bufgroup *g, unsigned bid, unsigned nr)
{
	struct sr_provide_buffers_op op = sr_provide_buffers((char *)g->_mem + (size_t)bid * g->_size,
							     (int)g->_size, (int)nr, g->_bgid, (int)bid);
	struct sr_provide_buffers_submitted sub;
	struct sr_provide_buffers_completed c;
	int ret = sr_provide_buffers_submit(r, &op, &sub);

	if (!ret)
		ret = sr_provide_buffers_wait(r, &sub, &c);
	return ret ? ret : c.res < 0 ? c.res : 0;
}

struct sr_bufgroup *sr_bufgroup_create(struct sr_ring *r, unsigned nbufs, size_t size)
{
	struct sr__ring_ext *x = r->_ext;
	struct io_uring_buf_reg reg;
	struct sr_bufgroup *g;
	size_t ring_bytes;
	int ret;

	ret = sr__ring_adds(r, __func__);
	if (ret)
		return NULL;
	if (!nbufs || (nbufs & (nbufs - 1)) || nbufs > 32768 || !size || size > INT32_MAX) {
		sr__err(-EINVAL, "%u buffers of %zu bytes: the count must be a power of two "
			"up to 32768 and the size 1..2 GiB", nbufs, size);
		return NULL;
	}
	g = sr__calloc(1, sizeof(*g));
	if (!g) {
		sr__err(-ENOMEM, "out of memory");
		return NULL;
	}
	g->_mode = (uint8_t)sr__group_mode(r);
	g->_bufs = sr__calloc(nbufs, sizeof(*g->_bufs));
	ring_bytes = nbufs * sizeof(struct io_uring_buf);
	if (g->_mode == SR__GROUP_USER)
		g->_free = sr__calloc(nbufs, sizeof(*g->_free));
	else if (g->_mode == SR__GROUP_RING)
		g->_br = sr__mmap(ring_bytes);
	g->_mem = sr__memalign((size_t)sysconf(_SC_PAGESIZE), nbufs * size);
	if (!g->_bufs || (g->_mode == SR__GROUP_RING && !g->_br) || (g->_mode == SR__GROUP_USER && !g->_free) ||
	    !g->_mem) {
		sr__err(-ENOMEM, "out of memory for %u buffers of %zu bytes", nbufs, size);
		goto fail;
	}
	g->_ring = r;
	g->_size = size;
	g->_nbufs = nbufs;
	g->_bgid = x->next_bgid++;
	for (unsigned i = 0; i < nbufs; i++) {
		struct sr_buf *b = &g->_bufs[i];

		b->_data = (char *)g->_mem + (size_t)i * size;
		b->_cap = size;
		b->_magic = SR__BUF_MAGIC;
		b->_self = b;
		b->_flags = SR__BUF_GROUP;
		b->_group = g;
		sr__buf_lend(r, b, SR__OP_GROUP);
	}
	if (g->_mode == SR__GROUP_USER) {
		for (unsigned i = 0; i < nbufs; i++)
			g->_free[i] = (uint16_t)(nbufs - 1 - i);	/* picked lowest id first */
		g->_nfree = nbufs;
		goto done;
	}
	if (g->_mode == SR__GROUP_LEGACY) {
		ret = legacy_provide(r, g, 0, nbufs);
		if (ret) {
			sr__err(ret, "the kernel refused buffer group %u (PROVIDE_BUFFERS)", g->_bgid);
			goto fail;
		}
		goto done;
	}
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (unsigned long)g->_br;
	reg.ring_entries = nbufs;
	reg.bgid = g->_bgid;
	ret = io_uring_register_buf_ring(&r->_uring, &reg, 0);
	if (ret) {
		sr__err(ret, "registering buffer ring %u failed", g->_bgid);
		goto fail;
	}
	io_uring_buf_ring_init(g->_br);
	for (unsigned i = 0; i < nbufs; i++)
		io_uring_buf_ring_add(g->_br, g->_bufs[i]._data, (unsigned)size, (unsigned short)i,
				      io_uring_buf_ring_mask(nbufs), (int)i);
	io_uring_buf_ring_advance(g->_br, (int)nbufs);
done:
	g->_magic = SR__GROUP_MAGIC;
	g->_self = g;
	g->_next = x->groups;
	x->groups = g;
	return g;
fail:
	if (g->_br)
		sr__munmap(g->_br, ring_bytes);
	for (unsigned i = 0; g->_bufs && i < nbufs; i++)
		sr__buf_unpoison(&g->_bufs[i]);
	free(g->_free);
	free(g->_mem);
	free(g->_bufs);
	free(g);
	return NULL;
}

/* Made by sr_bufgroup_create(_send) at this address, and not freed. */
static bool group_live(const struct sr_bufgroup *g)
{
	return g && g->_magic == SR__GROUP_MAGIC && g->_self == g;
}

static bool group_in_use(struct sr_ring *r, struct sr_bufgroup *g)
{
	for (unsigned i = 0; i < r->_nslots; i++)
		/* _aux is set by ops that pick from a group only (and not
		 * cleared when the slot is reused by another op). */
		if (r->_slots[i]._ud && r->_slots[i]._state == SR__SLOT_INFLIGHT && r->_slotx[i]._aux == g &&
		    sr_op_table[sr__slot_op(&r->_slots[i])].selects_buffer)
			return true;
	return false;
}

/* Take the group's buffers back from the kernel (not in a fork child:
 * the kernel ring is the parent's). */
static void group_unregister(struct sr_ring *r, struct sr_bufgroup *g)
{
	if (g->_mode == SR__GROUP_RING && r->_owner != SR__OWNER_FORKED)
		io_uring_unregister_buf_ring(&r->_uring, g->_bgid);
}

static void group_free(struct sr_bufgroup *g)
{
	for (unsigned i = 0; g->_bufs && i < g->_nbufs; i++) {
		sr__buf_unpoison(&g->_bufs[i]);
		g->_bufs[i]._magic = 0;
		g->_bufs[i]._self = NULL;
	}
	if (g->_br)
		sr__munmap(g->_br, g->_nbufs * sizeof(struct io_uring_buf));
	free(g->_free);
	free(g->_mem);
	free(g->_bufs);
	free(g->_q);
	g->_magic = 0;
	g->_self = NULL;
	free(g);
}

/* A send group's queued buffers go back to the caller (no op can take them any more). */
static void send_group_return_all(struct sr_bufgroup *g)
{
	for (; g->_qhead != g->_qtail; g->_qhead++) {
		struct sr_buf **slot = &g->_q[g->_qhead & (g->_nbufs - 1)];

		if (*slot)
			sr__buf_return(*slot, false, 0);
		*slot = NULL;
	}
	g->_taken = g->_qhead;
}

int sr_bufgroup_destroy(struct sr_bufgroup *g)
{
	struct sr_ring *r;
	struct sr_bufgroup **pp;
	int ret;

	if (!group_live(g))
		return sr__err(-EINVAL, "not a live buffer group");
	r = g->_ring;
	if (!r)
		return sr__err(-EBUSY, "its ring was destroyed while %u buffer(s) were out; "
				"the group goes away when the last comes back (sr_bufgroup_recycle or sr_buf_free)",
				g->_out);
	ret = sr__ring_use(r, __func__);
	if (ret)
		return ret;
	if (g->_out)
		return sr__err(-EBUSY, "%u buffer(s) are still out; recycle them first", g->_out);
	if (group_in_use(r, g) || g->_busy)
		return sr__err(-EBUSY, "an op in flight can still pick from this group; "
				"wait for it or cancel it first");
	if (g->_mode == SR__GROUP_LEGACY) {
		/* The kernel still has every buffer's address: take them back
		 * before the memory goes. */
		struct sr_remove_buffers_op op = sr_remove_buffers((int)g->_nbufs, g->_bgid);
		struct sr_remove_buffers_submitted sub;
		struct sr_remove_buffers_completed c;

		ret = sr_remove_buffers_submit(r, &op, &sub);
		if (!ret)
			ret = sr_remove_buffers_wait(r, &sub, &c);
		if (ret || c.res < 0)
			return sr__err(ret ? ret : c.res, "the kernel would not give back group "
					"%u's buffers (REMOVE_BUFFERS)", g->_bgid);
	}
	for (pp = &r->_ext->groups; *pp; pp = &(*pp)->_next)
		if (*pp == g) {
			*pp = g->_next;
			break;
		}
	group_unregister(r, g);
	if (g->_send)
		send_group_return_all(g);	/* still queued: the caller's again */
	group_free(g);
	return 0;
}

/*
 * Ring teardown: every op is done, so the kernel no longer uses any group.
 * A group with buffers out is detached instead of freed: its buffers stay
 * the caller's until given back, and the last one back frees it.
 */
void sr__groups_destroy(struct sr_ring *r)
{
	while (r->_ext->groups) {
		struct sr_bufgroup *g = r->_ext->groups;

		r->_ext->groups = g->_next;
		group_unregister(r, g);
		if (g->_send)
			send_group_return_all(g);
		if (!g->_out) {
			group_free(g);
			continue;
		}
		g->_ring = NULL;
		g->_next = NULL;
		for (unsigned i = 0; i < g->_nbufs; i++)
			if ((g->_bufs[i]._flags & SR__BUF_LENT) && g->_bufs[i]._lent_op == SR__OP_GROUP)
				g->_bufs[i]._lent_ring = NULL;
	}
}

/* A buffer out of a detached group comes back: release it, and the group with the last. */
static int detached_return(struct sr_bufgroup *g, struct sr_buf *b)
{
	b->_flags |= SR__BUF_LENT;	/* never usable again */
	b->_lent_op = SR__OP_GROUP;
	if (--g->_out == 0)
		group_free(g);
	return 0;
}

/* The index of b in g, or -1: b must be one of g's buffers exactly (not
 * a pointer into one, whose fields would be others' bytes, nor a copy). */
static long group_index(const struct sr_bufgroup *g, const struct sr_buf *b)
{
	uintptr_t off = (uintptr_t)b - (uintptr_t)g->_bufs;

	if (off >= (uintptr_t)g->_nbufs * sizeof(*b) || off % sizeof(*b))
		return -1;
	return (long)(off / sizeof(*b));
}

int sr_bufgroup_recycle(struct sr_bufgroup *g, struct sr_buf *b)
{
	struct sr_ring *r;
	long bid;

	if (sr__unlikely(!group_live(g)))
		return sr__err(-EINVAL, "not a live buffer group");
	bid = group_index(g, b);
	if (sr__unlikely(bid < 0))
		return sr__err(-EINVAL, "the buffer is not from group %u", g->_bgid);
	r = g->_ring;
	if (sr__unlikely(r && !sr__owned(r)))
		return sr__not_owner(r, __func__);
	if (sr__unlikely(b->_flags & SR__BUF_LENT)) {
		if (b->_lent_op == SR__OP_GROUP)
			return sr__err(-EALREADY, "the buffer is already back in group %u", g->_bgid);
		return sr__err(-EBUSY, "the buffer is lent to %s (in flight); recycle it once "
				"that op completes", sr__op_name(b->_lent_op));
	}
	if (sr__unlikely(!r))
		return detached_return(g, b);
	if (g->_mode == SR__GROUP_LEGACY) {
		/* Handed back without waiting for the CQE, which only says it
		 * went in (groups are sized, so the kernel has room for it). */
		struct io_uring_sqe *sqe = sr__sqe_internal(r);

		if (!sqe)
			return sr__err(-EBUSY, "no room in the SQ to hand the buffer back");
		sr_prep_provide_buffers(sqe, b->_data, (int)g->_size, 1, g->_bgid, (int)bid);
		sqe->user_data = SR__UD_INTERNAL;
	}
	b->_len = 0;
	sr__buf_lend(r, b, SR__OP_GROUP);
	g->_out--;
	if (g->_mode == SR__GROUP_RING) {
		io_uring_buf_ring_add(g->_br, b->_data, (unsigned)g->_size, (unsigned short)bid,
				      io_uring_buf_ring_mask(g->_nbufs), 0);
		io_uring_buf_ring_advance(g->_br, 1);
	} else if (g->_mode == SR__GROUP_USER) {
		sr__group_unpick(g, (unsigned)bid);
	}
	/* A stream that stopped for want of a buffer can go on now. */
	if (r->_fb)
		sr__be(r)->group_refilled(r, g);
	return 0;
}

static void group_lock(struct sr_bufgroup *g)
{
	while (__atomic_exchange_n(&g->_lock, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&g->_lock, __ATOMIC_RELAXED))
			sched_yield();
}

static void group_unlock(struct sr_bufgroup *g)
{
	__atomic_store_n(&g->_lock, 0, __ATOMIC_RELEASE);
}

int sr__group_pick(struct sr_bufgroup *g)
{
	int bid = -1;

	group_lock(g);
	if (g->_nfree)
		bid = g->_free[--g->_nfree];
	group_unlock(g);
	/* The backend's system call writes here (ASan checks those writes). */
	if (bid >= 0)
		sr__buf_unpoison(&g->_bufs[bid]);
	return bid;
}

void sr__group_unpick(struct sr_bufgroup *g, unsigned bid)
{
	sr__buf_poison(&g->_bufs[bid]);
	group_lock(g);
	g->_free[g->_nfree++] = (uint16_t)bid;
	group_unlock(g);
}

unsigned sr_bufgroup_id(const struct sr_bufgroup *g)
{
	return g->_bgid;
}

unsigned sr_bufgroup_available(const struct sr_bufgroup *g)
{
	return g->_send ? g->_nbufs - (g->_qtail - g->_qhead) : g->_nbufs - g->_out;
}

int sr__group_check(struct sr_ring *r, const struct sr_bufgroup *g, const char *fn, const char *arg)
{
	if (!group_live(g))
		return sr__fail(-EINVAL, "%s: %s: not a live buffer group (sr_bufgroup_create)", fn, arg);
	if (g->_ring != r)
		return sr__fail(-EXDEV, "%s: %s: the buffer group belongs to another ring (or to one destroyed "
				"since); an op picks from groups of its own ring", fn, arg);
	return 0;
}

int sr__group_check_for(struct sr_ring *r, const struct sr_bufgroup *g, bool send, const char *fn,
			const char *arg)
{
	int ret = sr__group_check(r, g, fn, arg);

	if (ret)
		return ret;
	if (send && !g->_send)
		return sr__fail(-EINVAL, "%s: %s: a group of buffers to fill (sr_bufgroup_create); this op sends "
				"the buffers queued in a send group (sr_bufgroup_create_send)", fn, arg);
	if (!send && g->_send)
		return sr__fail(-EINVAL, "%s: %s: a send group holds the caller's queued data; this op fills "
				"buffers of a group made with sr_bufgroup_create", fn, arg);
	if (send && g->_busy)
		return sr__fail(-EBUSY, "%s: %s: a send_bundle is already taking from this send group; one at a "
				"time (a stream's bytes go in one order): wait for its last completion", fn, arg);
	return 0;
}

/* --- send groups ----------------------------------------------------------------------- */

bool sr__send_groups_native(const struct sr_ring *r)
{
	if (!r->_uring_up || r->_ext->capture || !sr__register_ok(r, SR_IORING_REGISTER_PBUF_RING))
		return false;
	for (unsigned op = 0; op < sr_op_count; op++)
		if (sr_op_table[op].selects_buffer == SR__SELECT_SEND && !sr__be(r)->native(r, op))
			return false;
	return true;
}

struct sr_bufgroup *sr_bufgroup_create_send(struct sr_ring *r, unsigned nbufs)
{
	struct sr__ring_ext *x = r->_ext;
	struct io_uring_buf_reg reg;
	struct sr_bufgroup *g;
	int ret;

	ret = sr__ring_adds(r, __func__);
	if (ret)
		return NULL;
	if (!nbufs || (nbufs & (nbufs - 1)) || nbufs > 32768) {
		sr__err(-EINVAL, "a queue of %u buffers: the count must be a power of two up to 32768", nbufs);
		return NULL;
	}
	g = sr__calloc(1, sizeof(*g));
	if (!g) {
		sr__err(-ENOMEM, "out of memory");
		return NULL;
	}
	g->_send = 1;
	g->_mode = sr__send_groups_native(r) ? SR__GROUP_RING : SR__GROUP_USER;
	g->_nbufs = nbufs;
	g->_q = sr__calloc(nbufs, sizeof(*g->_q));
	if (g->_mode == SR__GROUP_RING)
		g->_br = sr__mmap(nbufs * sizeof(struct io_uring_buf));
	if (!g->_q || (g->_mode == SR__GROUP_RING && !g->_br)) {
		sr__err(-ENOMEM, "out of memory for a queue of %u buffers", nbufs);
		goto fail;
	}
	g->_ring = r;
	g->_bgid = x->next_bgid++;
	if (g->_mode == SR__GROUP_RING) {
		memset(&reg, 0, sizeof(reg));
		reg.ring_addr = (unsigned long)g->_br;
		reg.ring_entries = nbufs;
		reg.bgid = g->_bgid;
		ret = io_uring_register_buf_ring(&r->_uring, &reg, 0);
		if (ret) {
			sr__err(ret, "registering buffer ring %u failed", g->_bgid);
			goto fail;
		}
		io_uring_buf_ring_init(g->_br);
	}
	g->_magic = SR__GROUP_MAGIC;
	g->_self = g;
	g->_next = x->groups;
	x->groups = g;
	return g;
fail:
	if (g->_br)
		sr__munmap(g->_br, nbufs * sizeof(struct io_uring_buf));
	free(g->_q);
	free(g);
	return NULL;
}

int sr_bufgroup_queue(struct sr_bufgroup *g, struct sr_buf *b)
{
	const unsigned mask = g ? g->_nbufs - 1 : 0;
	uint32_t len;
	int ret;

	if (!group_live(g) || !g->_send)
		return sr__err(-EINVAL, "not a live send group (sr_bufgroup_create_send)");
	if (!g->_ring)
		return sr__err(-ESHUTDOWN, "the send group's ring was destroyed");
	ret = sr__ring_adds(g->_ring, __func__);
	if (ret)
		return ret;
	ret = sr__buf_check(b, SR__IN, SR__OP_SENDQ, __func__, "b");
	if (ret)
		return ret;
	len = sr__buf_io_len(b, SR__IN);
	if (!len)
		return sr__err(-EINVAL, "nothing to send: the buffer's valid length (or window) is 0 (sr_buf_set_len)");
	if (g->_qtail - g->_qhead == g->_nbufs)
		return sr__err(-ENOBUFS, "the send group's queue is full (%u buffers); a send_bundle's completion "
			       "gives some back", g->_nbufs);
	g->_q[g->_qtail & mask] = b;
	sr__buf_lend(g->_ring, b, SR__OP_SENDQ);
	if (g->_mode == SR__GROUP_RING) {
		io_uring_buf_ring_add(g->_br, sr__buf_io_ptr(b), len, (unsigned short)(g->_qtail & mask),
				      io_uring_buf_ring_mask(g->_nbufs), 0);
		io_uring_buf_ring_advance(g->_br, 1);
		g->_qtail++;
		return 0;
	}
	/* The backend's workers read the queue: publish under the lock. */
	group_lock(g);
	g->_qtail++;
	group_unlock(g);
	return 0;
}

unsigned sr_bufgroup_queued(const struct sr_bufgroup *g)
{
	return g->_send ? g->_qtail - g->_qhead : 0;
}

/* IORING_REGISTER_PBUF_STATUS (6.8): where the kernel's head of the buffer ring is. */
struct sr__buf_status {
	uint32_t buf_group;
	uint32_t head;
	uint32_t resv[8];
};

/* Where the kernel stopped taking: a queue position, or -1 if it cannot say. */
static int64_t kernel_head(struct sr_bufgroup *g)
{
	struct sr__buf_status st;

	memset(&st, 0, sizeof(st));
	st.buf_group = g->_bgid;
	if (syscall(__NR_io_uring_register, g->_ring->_uring.ring_fd, SR_IORING_REGISTER_PBUF_STATUS, &st, 1) < 0)
		return -1;
	/* The kernel counts positions in 16 bits. */
	return (int64_t)g->_qhead + (uint16_t)(st.head - g->_qhead);
}

/* The position after the buffers that hold the first res bytes from the head. */
static uint32_t cover(const struct sr_bufgroup *g, int32_t res)
{
	uint32_t p = g->_qhead;
	long left = res;

	while (left > 0 && p != g->_qtail) {
		left -= (long)sr__buf_io_len(g->_q[p & (g->_nbufs - 1)], SR__IN);
		p++;
	}
	return p;
}

void sr__group_take_sent(struct sr_bufgroup *g, int32_t res, uint32_t cflags, struct sr_buf **first,
			 unsigned *n)
{
	const unsigned mask = g->_nbufs - 1;
	bool final = !(cflags & IORING_CQE_F_MORE);
	uint32_t end = g->_qhead;

	*first = NULL;
	*n = 0;
	if (g->_mode == SR__GROUP_USER) {
		/* The backend's worker took them (one op at a time). */
		group_lock(g);
		end = g->_taken;
		group_unlock(g);
	} else if (!final) {
		/* Asked with MSG_WAITALL: a bundle that goes on sent all it took. */
		end = (cflags & IORING_CQE_F_BUFFER) ? cover(g, res) : g->_qhead;
	} else {
		/* The last one may have stopped short, failed or been cancelled
		 * after taking buffers (a send takes them for good when it picks
		 * them): the kernel's head says how many, whatever the CQE says. */
		int64_t h = kernel_head(g);

		end = h >= 0 ? (uint32_t)h : (cflags & IORING_CQE_F_BUFFER) ? cover(g, res) : g->_qhead;
	}
	if (end - g->_qhead > g->_qtail - g->_qhead)
		end = g->_qtail;
	if (end != g->_qhead)
		*first = g->_q[g->_qhead & mask];
	*n = end - g->_qhead;
	while (g->_qhead != end) {
		struct sr_buf **slot = &g->_q[g->_qhead & mask];

		sr__buf_return(*slot, false, 0);
		*slot = NULL;
		g->_qhead++;
	}
	if (final)
		g->_busy = 0;
}

int sr__group_pick_send(struct sr_bufgroup *g, struct iovec *iov, unsigned max, unsigned *n)
{
	const unsigned mask = g->_nbufs - 1;
	uint32_t start, count;

	group_lock(g);
	start = g->_taken;
	count = g->_qtail - start;
	if (count > max)
		count = max;
	for (uint32_t i = 0; i < count; i++) {
		struct sr_buf *b = g->_q[(start + i) & mask];

		iov[i].iov_base = sr__buf_io_ptr(b);
		iov[i].iov_len = sr__buf_io_len(b, SR__IN);
		/* sendmsg(2) reads them now (ASan checks those reads). */
		sr__buf_unpoison(b);
	}
	g->_taken = start + count;
	group_unlock(g);
	*n = count;
	return count ? (int)(start & mask) : -1;
}

void sr__group_unpick_send(struct sr_bufgroup *g, unsigned n)
{
	group_lock(g);
	g->_taken -= n;
	for (uint32_t i = 0; i < n; i++)
		sr__buf_poison(g->_q[(g->_taken + i) & (g->_nbufs - 1)]);
	group_unlock(g);
}

/* sr_buf_free of a group's buffer: only a detached group takes it back so. */
int sr__group_buf_free(struct sr_buf *b)
{
	struct sr_bufgroup *g = b->_group;

	if (group_live(g) && !g->_ring && group_index(g, b) >= 0)
		return detached_return(g, b);
	return sr__fail(-EINVAL, "sr_buf_free: the buffer belongs to a buffer group; give it back with "
			"sr_bufgroup_recycle");
}

struct sr_buf *sr__group_take(struct sr_bufgroup *g, int32_t res, uint32_t cflags)
{
	struct sr_buf *b;
	unsigned bid;

	if (!(cflags & IORING_CQE_F_BUFFER))
		return NULL;
	bid = cflags >> IORING_CQE_BUFFER_SHIFT;
	if (bid >= g->_nbufs)
		return NULL;
	b = &g->_bufs[bid];
	sr__buf_unpoison(b);
	b->_flags &= ~SR__BUF_LENT;
	b->_lent_ring = NULL;
	b->_len = res > 0 ? (size_t)res : 0;
	sr__kernel_wrote_for(g->_ring, b->_data, b->_len);
	g->_out++;
	return b;
}
