/* SPDX-License-Identifier: MIT */
/*
 * The ring API: submitting, polling, running callbacks, waiting from an
 * outer event loop, and handing a ring to another thread.  Creation is
 * setup.c's, destruction teardown.c's.
 */
#define _GNU_SOURCE
#include <sys/eventfd.h>
#include <unistd.h>

#include "backend.h"

int sr_ring_submit(struct sr_ring *r)
{
	int ret = sr__ring_use(r, __func__);

	return ret ? ret : sr__submit(r, __func__);
}

int sr_ring_poll(struct sr_ring *r)
{
	int ret = sr__ring_use(r, __func__);

	return ret ? ret : sr__interrupted(sr__wait_some(r, false), __func__);
}

int sr_ring_run_once(struct sr_ring *r, int timeout_ms)
{
	int ret = sr__ring_use(r, __func__);

	if (ret)
		return ret;
	if (r->_ext->delivering)
		return sr__in_callback(r, __func__);
	return sr__interrupted(sr__run_once(r, timeout_ms, __func__), __func__);
}

int sr_ring_run(struct sr_ring *r)
{
	int ret = sr__ring_use(r, __func__);

	if (ret)
		return ret;
	if (r->_ext->delivering)
		return sr__in_callback(r, __func__);
	__atomic_store_n(&r->_stop, false, __ATOMIC_RELAXED);
	while (!__atomic_load_n(&r->_stop, __ATOMIC_RELAXED) && r->_ext->cbs) {
		ret = sr__wait_some(r, true);
		if (ret < 0)
			return sr__interrupted(ret, __func__);
		/* A callback called fork(): in the child the ring is the parent's. */
		if (sr__unlikely(r->_owner == SR__OWNER_FORKED))
			return sr__not_owner(r, __func__);
	}
	return 0;
}

/* Any thread, and signal handlers: the loop stops when it next wakes. */
void sr_ring_stop(struct sr_ring *r)
{
	__atomic_store_n(&r->_stop, true, __ATOMIC_RELAXED);
}

int sr_ring_fd(const struct sr_ring *r)
{
	if (r->_uring_up)
		return r->_uring.ring_fd;
	return sr__be(r)->fd(r);
}

int sr_ring_eventfd(struct sr_ring *r)
{
	int fd, ret;

	ret = sr__ring_use(r, __func__);
	if (ret)
		return ret;
	if (r->_eventfd >= 0)
		return r->_eventfd;
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0)
		return sr__err(-errno, "eventfd failed");
	if (r->_uring_up) {
		ret = io_uring_register_eventfd(&r->_uring, fd);
		if (ret < 0) {
			close(fd);
			return sr__err(ret, "registering the eventfd failed");
		}
	}
	r->_eventfd = fd;
	return fd;
}

unsigned sr_ring_inflight(const struct sr_ring *r)
{
	unsigned n = 0;

	if (sr__ring_use(r, __func__))
		return 0;
	for (unsigned i = 0; i < r->_nslots; i++)
		n += r->_slots[i]._ud != 0;
	return n;
}

int sr_ring_discard(struct sr_ring *r)
{
	int ret = sr__ring_use(r, __func__);

	return ret ? ret : sr__discard(r);
}

static sr__cold struct io_uring *no_uring(void)
{
	sr__fail(-EOPNOTSUPP, "sr_ring_uring: the ring runs without io_uring (sr_ring_backend says why)");
	return NULL;
}

struct io_uring *sr_ring_uring(struct sr_ring *r)
{
	if (sr__unlikely(!sr__owned(r))) {
		sr__not_owner(r, __func__);
		return NULL;
	}
	return sr__likely(r->_uring_up) ? &r->_uring : no_uring();
}

bool sr_ring_native(const struct sr_ring *r, unsigned op)
{
	return op < sr_op_count && sr__be(r)->native(r, op);
}

const char *sr_ring_backend(const struct sr_ring *r)
{
	return r->_uring_up ? "io_uring" : "fallback";
}

int sr_ring_release(struct sr_ring *r)
{
	int ret = sr__ring_use(r, __func__);

	if (ret)
		return ret;
	if (r->_ext->delivering)
		return sr__in_callback(r, __func__);
	__atomic_store_n(&r->_owner, 0, __ATOMIC_RELEASE);
	return 0;
}

int sr_ring_acquire(struct sr_ring *r)
{
	uintptr_t me = sr__self(), none = 0;

	if (r->_owner == me)
		return 0;
	if (r->_owner == SR__OWNER_FORKED || r->_owner == SR__OWNER_TRACING)
		return sr__not_owner(r, __func__);
	if (__atomic_load_n(&r->_owner, __ATOMIC_RELAXED))
		return sr__err(-EBUSY, "the ring belongs to another thread; its owner "
				"sr_ring_release()s it first");
	if (r->_uring_up && (r->_setup_flags & SR_IORING_SETUP_SINGLE_ISSUER) && me != r->_ext->creator)
		return sr__err(-EPERM, "the ring was set up with IORING_SETUP_SINGLE_ISSUER, "
				"so the kernel takes its submissions only from the thread that created it; create "
				"rings to be handed over with SR_RING_MOVABLE");
	if (!__atomic_compare_exchange_n(&r->_owner, &none, me, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return sr__err(-EBUSY, "the ring belongs to another thread; its owner "
				"sr_ring_release()s it first");
	return 0;
}
