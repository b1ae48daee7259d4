/* SPDX-License-Identifier: MIT */
/*
 * Buffer pools.  The buffers are one mapping, carved into equal page-aligned
 * pieces; the free list is a stack under a lock, so rings on different
 * threads can share a pool.  Registration hands the mapping to the kernel
 * as a few large fixed buffers (at most 1 GiB each, the kernel's limit),
 * so any two buffers of the pool can be in one fixed vectored op.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "res.h"

#define POOL_MAGIC 0x506f6f6cu
#define REGION_MAX (1UL << 30)

struct sr_pool {
	int lock;		/* pool_lock: 0 free, 1 held, 2 held with waiters */
	struct sr_pool *reg_next, *reg_prev;	/* live pools: their locks are held across fork() */
	void *mem;
	size_t size;		/* bytes per buffer (whole pages) */
	size_t map_len;
	unsigned nbufs;
	unsigned nfree;
	unsigned *free;		/* indexes of free buffers (a stack) */
	struct sr_buf *bufs;
	struct sr_ring *reg_ring;	/* registered with, or NULL */
	bool locked;
	uint32_t magic;
	int node;		/* the NUMA node of its pages, or SR__NODE_ANY (numa.c) */
};

static void pool_register(struct sr_pool *p);

/*
 * The pool's lock: a futex (Drepper, "Futexes Are Tricky", mutex 2).  A
 * take or put holds it for a few stores, so the uncontended case, one
 * atomic each way and no call, is what counts; pthread_mutex_lock and
 * _unlock cost a take and a put about 50 instructions more.
 */
static void futex(int *addr, int op, int val)
{
	syscall(SYS_futex, addr, op | FUTEX_PRIVATE_FLAG, val, NULL, NULL, 0);
}

/* Contended halves out of line: take and put then save no registers. */
static sr__cold void pool_lock_wait(struct sr_pool *p, int c)
{
	if (c != 2)
		c = __atomic_exchange_n(&p->lock, 2, __ATOMIC_ACQUIRE);
	while (c != 0) {
		futex(&p->lock, FUTEX_WAIT, 2);
		c = __atomic_exchange_n(&p->lock, 2, __ATOMIC_ACQUIRE);
	}
}

static sr__cold void pool_wake(struct sr_pool *p)
{
	futex(&p->lock, FUTEX_WAKE, 1);
}

static inline void pool_lock(struct sr_pool *p)
{
	int c = 0;

	if (sr__unlikely(!__atomic_compare_exchange_n(&p->lock, &c, 1, false, __ATOMIC_ACQUIRE,
						      __ATOMIC_RELAXED)))
		pool_lock_wait(p, c);
}

static inline void pool_unlock(struct sr_pool *p)
{
	if (sr__unlikely(__atomic_exchange_n(&p->lock, 0, __ATOMIC_RELEASE) == 2))
		pool_wake(p);
}

struct sr_pool *sr_pool_create(unsigned nbufs, size_t size, unsigned flags)
{
	return sr__pool_create(nbufs, size, flags, SR__NODE_ANY);
}

struct sr_pool *sr__pool_create(unsigned nbufs, size_t size, unsigned flags, int node)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	struct sr_pool *p;

	if (!nbufs || !size || size > REGION_MAX || flags & ~SR_POOL_LOCKED) {
		sr__err(-EINVAL, "%u buffers of %zu bytes (flags 0x%x): need at least one buffer, "
			"1 byte..1 GiB each, flags SR_POOL_LOCKED only", nbufs, size, flags);
		return NULL;
	}
	size = (size + page - 1) & ~(page - 1);
	if ((size_t)nbufs > SIZE_MAX / size) {
		sr__err(-EINVAL, "%u buffers of %zu bytes do not fit the address space", nbufs, size);
		return NULL;
	}
	p = sr__calloc(1, sizeof(*p));
	if (!p) {
		sr__err(-ENOMEM, "out of memory");
		return NULL;
	}
	p->size = size;
	p->nbufs = nbufs;
	p->map_len = size * nbufs;
	p->mem = sr__mmap(p->map_len);
	p->free = sr__calloc(nbufs, sizeof(*p->free));
	p->bufs = sr__calloc(nbufs, sizeof(*p->bufs));
	if (!p->mem || !p->free || !p->bufs) {
		sr__err(-ENOMEM, "out of memory for %u buffers of %zu bytes", nbufs, size);
		goto fail;
	}
	if (node != SR__NODE_ANY && sr__numa_bind(p->mem, p->map_len, &node))
		goto fail;
	p->node = node;
	if ((flags & SR_POOL_LOCKED) && mlock(p->mem, p->map_len)) {
		sr__err(-errno, "cannot lock %zu bytes in memory (RLIMIT_MEMLOCK is %llu bytes)",
			p->map_len, (unsigned long long)sr_caps_get()->memlock_cur);
		goto fail;
	}
	p->locked = flags & SR_POOL_LOCKED;
	for (unsigned i = 0; i < nbufs; i++) {
		struct sr_buf *b = &p->bufs[i];

		b->_data = (char *)p->mem + (size_t)i * size;
		b->_cap = size;
		b->_flags = SR__BUF_POOLED | SR__BUF_HOME;
		b->_pool = p;
		b->_pool_index = i;
		b->_magic = SR__BUF_MAGIC;
		b->_self = b;
		p->free[i] = nbufs - 1 - i;	/* taken lowest first */
	}
	p->nfree = nbufs;
	p->magic = POOL_MAGIC;
	pool_register(p);
	return p;
fail:
	if (p->mem)
		sr__munmap(p->mem, p->map_len);
	free(p->free);
	free(p->bufs);
	free(p);
	return NULL;
}

static bool pool_ok(const struct sr_pool *p)
{
	return p && p->magic == POOL_MAGIC;
}

int sr_pool_node(const struct sr_pool *p)
{
	return pool_ok(p) && p->node >= 0 ? p->node : -1;
}

/*
 * fork(): a pool lock held by another thread at that moment would stay
 * held for ever in the child.  Every pool is locked around fork(), so the
 * child gets them free and consistent.
 */
static pthread_mutex_t pools_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sr_pool *pools;
static pthread_once_t pools_once = PTHREAD_ONCE_INIT;

static void pools_prepare(void)
{
	pthread_mutex_lock(&pools_lock);
	for (struct sr_pool *p = pools; p; p = p->reg_next)
		pool_lock(p);
}

static void pools_after(void)
{
	for (struct sr_pool *p = pools; p; p = p->reg_next)
		pool_unlock(p);
	pthread_mutex_unlock(&pools_lock);
}

static void pools_init(void)
{
	pthread_atfork(pools_prepare, pools_after, pools_after);
}

static void pool_register(struct sr_pool *p)
{
	pthread_once(&pools_once, pools_init);
	pthread_mutex_lock(&pools_lock);
	p->reg_next = pools;
	if (pools)
		pools->reg_prev = p;
	pools = p;
	pthread_mutex_unlock(&pools_lock);
}

static void pool_unregister(struct sr_pool *p)
{
	pthread_mutex_lock(&pools_lock);
	if (p->reg_prev)
		p->reg_prev->reg_next = p->reg_next;
	else if (pools == p)
		pools = p->reg_next;
	if (p->reg_next)
		p->reg_next->reg_prev = p->reg_prev;
	pthread_mutex_unlock(&pools_lock);
}

/* "2 lent (read, send), 1 taken" */
static void describe_out(struct sr_pool *p, char *buf, size_t len)
{
	unsigned lent = 0, taken = 0;
	size_t at;

	for (unsigned i = 0; i < p->nbufs; i++) {
		lent += !!(p->bufs[i]._flags & SR__BUF_LENT);
		taken += !(p->bufs[i]._flags & (SR__BUF_HOME | SR__BUF_LENT));
	}
	at = (size_t)snprintf(buf, len, "%u lent", lent);
	for (unsigned i = 0, shown = 0; i < p->nbufs && at < len && lent; i++) {
		if (!(p->bufs[i]._flags & SR__BUF_LENT))
			continue;
		if (shown++ == 6) {
			at += (size_t)snprintf(buf + at, len - at, ", ...");
			break;
		}
		at += (size_t)snprintf(buf + at, len - at, "%s%s", shown == 1 ? " (to " : ", ",
				       sr__op_name(p->bufs[i]._lent_op));
	}
	if (lent && at < len)
		at += (size_t)snprintf(buf + at, len - at, ")");
	if (at < len)
		snprintf(buf + at, len - at, ", %u taken", taken);
}

int sr_pool_destroy(struct sr_pool *p)
{
	char what[256];
	unsigned out;

	if (!p)
		return 0;
	if (!pool_ok(p))
		return sr__err(-EINVAL, "not a live pool");
	pool_lock(p);
	out = p->nbufs - p->nfree;
	if (out)
		describe_out(p, what, sizeof(what));
	pool_unlock(p);
	if (out)
		return sr__err(-EBUSY, "%u buffer(s) are not back: %s; wait for the ops, then "
				"sr_pool_put the buffers", out, what);
	if (p->reg_ring)
		return sr__err(-EBUSY, "the pool is registered with a ring; "
				"sr_ring_unregister_buffers first");
	pool_unregister(p);
	for (unsigned i = 0; i < p->nbufs; i++) {
		p->bufs[i]._magic = 0;
		p->bufs[i]._self = NULL;
	}
	p->magic = 0;
	sr__munmap(p->mem, p->map_len);
	free(p->free);
	free(p->bufs);
	free(p);
	return 0;
}

struct sr_buf *sr_pool_take(struct sr_pool *p)
{
	struct sr_buf *b = NULL;

	if (!pool_ok(p)) {
		sr__err(-EINVAL, "not a live pool");
		return NULL;
	}
	pool_lock(p);
	if (p->nfree) {
		b = &p->bufs[p->free[--p->nfree]];
		b->_flags &= ~SR__BUF_HOME;
	}
	pool_unlock(p);
	if (!b) {
		sr__err(-ENOBUFS, "all %u buffers are taken; put one back (sr_pool_put, or auto "
			"return) or make the pool bigger", p->nbufs);
		return NULL;
	}
	b->_len = 0;
	b->_off = 0;
	b->_win = 0;
	return b;
}

/* The pool's own struct for this buffer, the only one at bufs + its index
 * (so no flag or bound test): a copy is not the buffer, and putting one back
 * would free the original while the caller still holds it. */
static bool pool_buf_ok(const struct sr_buf *b)
{
	return sr__buf_live(b) && pool_ok(b->_pool) &&
	       (uintptr_t)b - (uintptr_t)b->_pool->bufs == (uintptr_t)b->_pool_index * sizeof(*b);
}

int sr_pool_put(struct sr_buf *b)
{
	struct sr_pool *p;

	if (!pool_buf_ok(b))
		return sr__err(-EINVAL, "not a buffer of a live pool (a copy of a pool buffer's struct is not one)");
	if (b->_flags & SR__BUF_LENT)
		return sr__err(-EBUSY, "the buffer is lent to %s (in flight); it can go back once that "
				"op completes (sr_buf_set_auto_return does that by itself)", sr_buf_holder(b));
	p = b->_pool;
	pool_lock(p);
	if (b->_flags & SR__BUF_HOME) {
		pool_unlock(p);
		return sr__err(-EALREADY, "the buffer is already back in its pool");
	}
	b->_flags = (b->_flags & ~SR__BUF_RETURN_POOL) | SR__BUF_HOME;
	p->free[p->nfree++] = b->_pool_index;
	pool_unlock(p);
	return 0;
}

int sr_buf_set_auto_return(struct sr_buf *b, bool on)
{
	if (!pool_buf_ok(b))
		return sr__err(-EINVAL, "not a buffer of a live pool");
	if (b->_flags & SR__BUF_HOME)
		return sr__err(-EINVAL, "the buffer is in its pool, not taken");
	if (b->_flags & SR__BUF_LENT)
		return sr__err(-EBUSY, "the buffer is lent to %s (in flight)", sr_buf_holder(b));
	if (on)
		b->_flags |= SR__BUF_RETURN_POOL;
	else
		b->_flags &= ~SR__BUF_RETURN_POOL;
	return 0;
}

unsigned sr_pool_available(const struct sr_pool *p)
{
	unsigned n;

	if (!pool_ok(p))
		return 0;
	pool_lock((struct sr_pool *)p);
	n = p->nfree;
	pool_unlock((struct sr_pool *)p);
	return n;
}

unsigned sr_pool_count(const struct sr_pool *p)
{
	return pool_ok(p) ? p->nbufs : 0;
}

size_t sr_pool_buf_size(const struct sr_pool *p)
{
	return pool_ok(p) ? p->size : 0;
}

/* --- registration ------------------------------------------------------------------ */

int sr_ring_register_pool(struct sr_ring *r, struct sr_pool *p)
{
	struct sr__ring_ext *x = r->_ext;
	unsigned per = (unsigned)(REGION_MAX / (pool_ok(p) ? p->size : 1)), nreg;
	struct iovec *iov;
	int ret;

	ret = sr__ring_adds(r, __func__);
	if (ret)
		return ret;
	if (!pool_ok(p))
		return sr__err(-EINVAL, "not a live pool");
	if (x->nregbufs || x->reg_pool)
		return sr__err(-EBUSY, "the ring already has fixed buffers; "
				"sr_ring_unregister_buffers first");
	if (p->reg_ring)
		return sr__err(-EBUSY, "the pool is registered with another ring");
	nreg = (p->nbufs + per - 1) / per;
	iov = sr__calloc(nreg, sizeof(*iov));
	if (!iov)
		return sr__err(-ENOMEM, "out of memory");
	for (unsigned k = 0; k < nreg; k++) {
		unsigned first = k * per, n = p->nbufs - first < per ? p->nbufs - first : per;

		iov[k].iov_base = p->bufs[first]._data;
		iov[k].iov_len = (size_t)n * p->size;
	}
	/* A ring on the fallback backend hands plain memory to its system calls. */
	ret = r->_uring_up ? io_uring_register_buffers(&r->_uring, iov, nreg) : 0;
	free(iov);
	if (ret == -ENOMEM)
		return sr__err(ret, "the kernel could not pin %zu bytes (RLIMIT_MEMLOCK %llu "
				"bytes?)", p->map_len, (unsigned long long)sr_caps_get()->memlock_cur);
	if (ret)
		return sr__err(ret, "the kernel refused the pool's memory");
	for (unsigned i = 0; i < p->nbufs; i++) {
		p->bufs[i]._flags |= SR__BUF_REGISTERED;
		p->bufs[i]._reg_ring = r;
		p->bufs[i]._reg_index = (uint16_t)(i / per);
	}
	p->reg_ring = r;
	x->reg_pool = p;
	return 0;
}

/* May the pool be unregistered from r?  Not while a buffer is lent to an op of r. */
int sr__pool_lent_check(struct sr_ring *r, struct sr_pool *p)
{
	for (unsigned i = 0; i < p->nbufs; i++)
		if ((p->bufs[i]._flags & SR__BUF_LENT) && p->bufs[i]._lent_ring == r)
			return sr__fail(-EBUSY, "sr_ring_unregister_buffers: pool buffer %u is lent to %s (in flight); "
					"wait for it first", i, sr_buf_holder(&p->bufs[i]));
	return 0;
}

void sr__pool_unregistered(struct sr_ring *r, struct sr_pool *p)
{
	for (unsigned i = 0; i < p->nbufs; i++) {
		p->bufs[i]._flags &= ~SR__BUF_REGISTERED;
		p->bufs[i]._reg_ring = NULL;
	}
	p->reg_ring = NULL;
	r->_ext->reg_pool = NULL;
}
