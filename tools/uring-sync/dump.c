/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
/*
 * SIGUSR1: each worker writes its ring's state to stderr (sr_ring_dump).
 * The main thread takes the signal synchronously (sigtimedwait, main.c)
 * and only raises a counter; each worker dumps its own ring from its own
 * loop, where the ring is its to use, the next time it looks (its waits on
 * the ring end within US_WAIT_MS).  Nothing runs in a signal handler.
 *
 * URING_SYNC_DUMP=json dumps one JSON object a line (sr_ring_dump_json);
 * set (to json or text), it also has the rings note each op's age and
 * chain for the dump (sr_ring_set_ages).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dump.h"
#include "worker.h"

void us_dump_init(struct us_worker *w)
{
	const char *v = getenv("URING_SYNC_DUMP");

	if (v && *v)
		sr_ring_set_ages(w->ring, true);
}

void us_dump_request(struct us_ctx *c)
{
	atomic_fetch_add(&c->dump_gen, 1);
	pthread_mutex_lock(&c->lock);
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

void us_dump_check(struct us_worker *w)
{
	struct us_ctx *c = w->c;
	unsigned gen = atomic_load(&c->dump_gen);
	const char *v;

	if (gen == w->dump_seen || !w->ring)
		return;
	w->dump_seen = gen;
	v = getenv("URING_SYNC_DUMP");
	pthread_mutex_lock(&c->out_lock);
	fflush(stdout);
	fprintf(stderr, "uring-sync: worker %u: ring (SIGUSR1), %u op(s) of the copy in flight:\n", w->id, w->ops);
	if (v && !strcmp(v, "json"))
		sr_ring_dump_json(w->ring, stderr);
	else
		sr_ring_dump(w->ring, stderr);
	pthread_mutex_unlock(&c->out_lock);
}
