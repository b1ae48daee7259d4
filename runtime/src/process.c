/* SPDX-License-Identifier: MIT */
/*
 * What is per process: ring ids, the list of live rings, and fork().
 * After fork() every ring is the parent's: the child's copies are marked
 * so that every call on them fails (docs/safety.md, "fork()"), and only
 * their memory may be released.
 */
#define _GNU_SOURCE
#include <pthread.h>

#include "core.h"

static pthread_mutex_t rings_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sr__ring_ext *rings;	/* live rings, through ext->reg_next */
static uint64_t last_ring_id;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

/* The thread pointer, as sr__self reads it inline where it can. */
uintptr_t sr__self_slow(void)
{
#if defined(__has_builtin)
#if __has_builtin(__builtin_thread_pointer)
	return (uintptr_t)__builtin_thread_pointer();
#else
	return (uintptr_t)pthread_self();
#endif
#else
	return (uintptr_t)pthread_self();
#endif
}

static void fork_prepare(void)
{
	pthread_mutex_lock(&rings_lock);
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&rings_lock);
}

/* The only thread of the child owns none of the parent's rings. */
static void fork_child(void)
{
	for (struct sr__ring_ext *x = rings; x; x = x->reg_next)
		x->ring->_owner = SR__OWNER_FORKED;
	pthread_mutex_unlock(&rings_lock);
}

static void fork_init(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

/* A new ring: its id (never 0, never reused) and its place in the list. */
void sr__ring_register(struct sr_ring *r)
{
	pthread_once(&fork_once, fork_init);
	r->_id = __atomic_add_fetch(&last_ring_id, 1, __ATOMIC_RELAXED);
	r->_ext->ring = r;
	pthread_mutex_lock(&rings_lock);
	r->_ext->reg_next = rings;
	if (rings)
		rings->reg_prev = r->_ext;
	rings = r->_ext;
	pthread_mutex_unlock(&rings_lock);
}

void sr__ring_unregister(struct sr_ring *r)
{
	struct sr__ring_ext *x = r->_ext;

	pthread_mutex_lock(&rings_lock);
	if (x->reg_prev)
		x->reg_prev->reg_next = x->reg_next;
	else if (rings == x)
		rings = x->reg_next;
	if (x->reg_next)
		x->reg_next->reg_prev = x->reg_prev;
	x->reg_next = x->reg_prev = NULL;
	pthread_mutex_unlock(&rings_lock);
}

void sr__count_error(struct sr_ring *r, int32_t res)
{
	if (res == -ENOBUFS)
		r->_ext->st.enobufs++;
	else if (res == -ECANCELED)
		r->_ext->st.canceled++;
}
