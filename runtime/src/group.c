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

	ret = sr__ring_use(r, __func__);
	if (ret)
		return NULL;
	if (r->_state != SR__RING_LIVE) {
		sr__err(-ESHUTDOWN, "the ring is being destroyed");
		return NULL;
	}
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
	g->_next = x->groups;
	x->groups = g;
	return g;
fail:
	if (g->_br)
		munmap(g->_br, ring_bytes);
	for (unsigned i = 0; g->_bufs && i < nbufs; i++)
		sr__buf_unpoison(&g->_bufs[i]);
	free(g->_free);
	free(g->_mem);
	free(g->_bufs);
	free(g);
	return NULL;
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
	for (unsigned i = 0; i < g->_nbufs; i++) {
		sr__buf_unpoison(&g->_bufs[i]);
		g->_bufs[i]._magic = 0;
	}
	if (g->_br)
		munmap(g->_br, g->_nbufs * sizeof(struct io_uring_buf));
	free(g->_free);
	free(g->_mem);
	free(g->_bufs);
	g->_magic = 0;
	free(g);
}

int sr_bufgroup_destroy(struct sr_bufgroup *g)
{
	struct sr_ring *r;
	struct sr_bufgroup **pp;
	int ret;

	if (!g || g->_magic != SR__GROUP_MAGIC)
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
	if (group_in_use(r, g))
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

int sr_bufgroup_recycle(struct sr_bufgroup *g, struct sr_buf *b)
{
	unsigned bid;

	int ret;

	if (!g || g->_magic != SR__GROUP_MAGIC)
		return sr__err(-EINVAL, "not a live buffer group");
	if (!b || b < g->_bufs || b >= g->_bufs + g->_nbufs)
		return sr__err(-EINVAL, "the buffer is not from group %u", g->_bgid);
	if (g->_ring && (ret = sr__ring_use(g->_ring, __func__)))
		return ret;
	if ((b->_flags & SR__BUF_LENT) && b->_lent_op == SR__OP_GROUP)
		return sr__err(-EALREADY, "the buffer is already back in group %u", g->_bgid);
	if (b->_flags & SR__BUF_LENT)
		return sr__err(-EBUSY, "the buffer is lent to %s (in flight); recycle it once "
				"that op completes", sr__op_name(b->_lent_op));
	if (!g->_ring)
		return detached_return(g, b);
	bid = (unsigned)(b - g->_bufs);
	if (g->_mode == SR__GROUP_LEGACY) {
		/* Handed back without waiting for the CQE, which only says it
		 * went in (groups are sized, so the kernel has room for it). */
		struct io_uring_sqe *sqe = sr__sqe_internal(g->_ring);

		if (!sqe)
			return sr__err(-EBUSY, "no room in the SQ to hand the buffer back");
		sr_prep_provide_buffers(sqe, b->_data, (int)g->_size, 1, g->_bgid, (int)bid);
		sqe->user_data = SR__UD_INTERNAL;
	}
	b->_len = 0;
	sr__buf_lend(g->_ring, b, SR__OP_GROUP);
	g->_out--;
	if (g->_mode == SR__GROUP_USER) {
		sr__group_unpick(g, bid);
		goto refilled;
	}
	if (g->_mode == SR__GROUP_LEGACY)
		goto refilled;
	io_uring_buf_ring_add(g->_br, b->_data, (unsigned)g->_size, (unsigned short)bid,
			      io_uring_buf_ring_mask(g->_nbufs), 0);
	io_uring_buf_ring_advance(g->_br, 1);
refilled:
	/* A stream that stopped for want of a buffer can go on now. */
	if (g->_ring->_fb)
		sr__be(g->_ring)->group_refilled(g->_ring, g);
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
	return g->_nbufs - g->_out;
}

int sr__group_check(struct sr_ring *r, const struct sr_bufgroup *g, const char *fn, const char *arg)
{
	if (!g || g->_magic != SR__GROUP_MAGIC)
		return sr__fail(-EINVAL, "%s: %s: not a live buffer group (sr_bufgroup_create)", fn, arg);
	if (g->_ring != r)
		return sr__fail(-EXDEV, "%s: %s: the buffer group belongs to another ring (or to one destroyed "
				"since); an op picks from groups of its own ring", fn, arg);
	return 0;
}

/* sr_buf_free of a group's buffer: only a detached group takes it back so. */
int sr__group_buf_free(struct sr_buf *b)
{
	struct sr_bufgroup *g = b->_group;

	if (g && g->_magic == SR__GROUP_MAGIC && !g->_ring)
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
	sr__kernel_wrote(b->_data, b->_len);
	g->_out++;
	return b;
}
