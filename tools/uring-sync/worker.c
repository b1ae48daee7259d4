/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
/*
 * The workers (worker.h): one thread and one ring each, running the three
 * phases.  In phase A a worker, in turn: runs the completions deferred by
 * syscall stand-ins, resumes jobs that waited for fds, keeps its ranges
 * busy and takes shared ones, claims entries of listed directories and
 * directories to list; then waits on its ring if it has ops in flight,
 * or on the context's condition if there is nothing it could start.
 * Phases B and C claim the items of an array one by one.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <time.h>
#include <liburing.h>

#include "copy.h"
#include "dir.h"
#include "dump.h"
#include "entry.h"
#include "link.h"
#include "worker.h"

#define US_IOWQ_MAX	8	/* io-wq threads for a ring's blocking ops */

/* Claim a batch of unclaimed entries of a published directory; false when there are none. */
static bool claim_entries(struct us_worker *w)
{
	struct us_ctx *c = us_c;
	unsigned room = w->max_jobs - atomic_load(&w->njobs), from, k;
	struct us_dir *d;

	if ((int)room <= 0)
		return false;
	if (room > 16)
		room = 16;
	pthread_mutex_lock(&c->lock);
	while ((d = c->pub) && d->claimed == d->nents)
		c->pub = d->qnext;
	if (!d) {
		pthread_mutex_unlock(&c->lock);
		return false;
	}
	from = d->claimed;
	k = d->nents - from < room ? d->nents - from : room;
	d->claimed += k;
	c->unclaimed -= k;
	if (d->claimed == d->nents)
		c->pub = d->qnext;
	pthread_mutex_unlock(&c->lock);
	/* The claimed entries hold their references: d and its listing stay. */
	for (unsigned i = 0; i < k; i++)
		us_entry_start(w, d, &d->ents[from + i]);
	w->did_work = true;
	return true;
}

/* List the next queued directory, if a directory slot is free and the entries listed so far are few. */
static bool claim_dir(struct us_worker *w)
{
	struct us_ctx *c = us_c;
	struct us_dir *d;

	if (atomic_load(&w->njobs) >= w->max_jobs)
		return false;
	pthread_mutex_lock(&c->lock);
	d = c->dirq;
	if (!d || c->dirs_open >= c->dirs_open_max || c->unclaimed > 4096) {
		pthread_mutex_unlock(&c->lock);
		return false;
	}
	c->dirq = d->qnext;
	c->dirs_open++;
	c->listing++;
	pthread_mutex_unlock(&c->lock);
	w->did_work = true;
	us_dir_list(w, d);
	return true;
}

static bool take_ranges(struct us_worker *w)
{
	bool any = false;

	/* After a stop every queued range is taken, to be counted out of its file. */
	while ((us_stopped() || (w->nactive < 2 && us_mem_room(w, US_CHUNK))) && us_take_shared_range(w))
		any = true;
	return any;
}

/* Is there anything this worker could start now?  Under the lock. */
static bool claimable(struct us_worker *w)
{
	struct us_ctx *c = us_c;

	return (c->pub && atomic_load(&w->njobs) < w->max_jobs) || c->rangeq ||
	       (c->dirq && c->dirs_open < c->dirs_open_max && c->unclaimed <= 4096) ||
	       (w->fdwait && atomic_load(&w->fds) >= 2);
}

static int run_ring(struct us_worker *w)
{
	int ret;

	us_dump_check(w);
	ret = sr_ring_run_once(w->ring, US_WAIT_MS);
	if (ret < 0 && ret != -EINTR && ret != -ETIME) {
		us_msg("worker %u: %s", w->id, sr_last_error());
		us_set_stop(US_STOP_FATAL);
		return ret;
	}
	return 0;
}

static void phase_a(struct us_worker *w)
{
	struct us_ctx *c = us_c;

	for (;;) {
		bool done;

		w->did_work = false;
		us_run_deferred(w);
		us_fd_resume(w);
		us_range_pump(w);
		if (take_ranges(w))
			us_range_pump(w);
		if (!us_stopped()) {
			while (claim_entries(w))
				;
			while (claim_dir(w))
				;
		}
		if (w->dhead || w->did_work)
			continue;
		if (w->ops) {
			if (run_ring(w) < 0)
				return;
			continue;
		}
		/* Nothing of ours in flight on this ring. */
		pthread_mutex_lock(&c->lock);
		if (us_stopped())
			done = !w->nactive && !w->fdwait && !c->rangeq;
		else
			done = atomic_load(&c->work) == 0;
		if (!done && !claimable(w)) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 20 * 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&c->cond, &c->lock, &ts);
		}
		pthread_mutex_unlock(&c->lock);
		us_dump_check(w);
		if (done)
			return;
	}
}

static void link_item(struct us_worker *w, size_t i)
{
	us_link_start(w, &us_c->links[i]);
}

static void dmeta_item(struct us_worker *w, size_t i)
{
	us_dmeta_start(w, us_c->dirs[i]);
}

/* Phases B and C: items of an array, claimed one by one, up to max_jobs at once. */
static void phase_items(struct us_worker *w, size_t n, void (*start)(struct us_worker *w, size_t i))
{
	bool exhausted = false;

	for (;;) {
		us_run_deferred(w);
		us_fd_resume(w);
		while (!exhausted && !us_stopped() && atomic_load(&w->njobs) < w->max_jobs) {
			size_t i = atomic_fetch_add(&us_c->claim, 1);

			if (i >= n) {
				exhausted = true;
				break;
			}
			start(w, i);
		}
		if (w->dhead)
			continue;
		if (w->ops) {
			if (run_ring(w) < 0)
				return;
			continue;
		}
		if ((exhausted || us_stopped()) && !atomic_load(&w->njobs) && !w->fdwait)
			return;
	}
}

static void barrier(bool reset_claim)
{
	if (pthread_barrier_wait(&us_c->barrier) == PTHREAD_BARRIER_SERIAL_THREAD && reset_claim)
		atomic_store(&us_c->claim, 0);
	pthread_barrier_wait(&us_c->barrier);
}

/*
 * A worker's share of the machine: at most max_jobs entries in flight on
 * its ring (claim_entries), at most US_IOWQ_MAX kernel threads running its
 * blocking ops (statx, openat, mkdirat... go to io-wq, one thread each
 * otherwise: 30 and more on a 2-CPU machine, which only contend), and with
 * --pin its thread on one CPU of the allowed set, the i-th for worker i.
 */
static void bound(struct us_worker *w)
{
	struct io_uring *u = sr_ring_uring(w->ring);
	unsigned max[2] = { 0, US_IOWQ_MAX };	/* bounded (file I/O) as it is; unbounded */
	cpu_set_t allowed, one;
	unsigned k = 0;

	if (u)
		io_uring_register_iowq_max_workers(u, max);
	if (!us_c->o.pin || sched_getaffinity(0, sizeof(allowed), &allowed) < 0)
		return;
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &allowed) || k++ != w->id % (unsigned)CPU_COUNT(&allowed))
			continue;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		pthread_setaffinity_np(pthread_self(), sizeof(one), &one);
		if (u)
			io_uring_register_iowq_aff(u, sizeof(one), &one);
		return;
	}
}

void *us_worker_main(void *arg)
{
	struct us_worker *w = arg;
	struct us_ctx *c = w->c;
	struct sr_ring_params p = { .entries = 256, .flags = SR_RING_FB_INLINE };
	int ret = sr_ring_create(&w->ring, &p);

	if (ret < 0) {
		us_msg("worker %u: %s", w->id, sr_last_error());
		us_set_stop(US_STOP_FATAL);
		w->ring = NULL;
	} else {
		us_dump_init(w);
		bound(w);
		phase_a(w);
	}
	barrier(true);
	if (w->ring && !us_stopped()) {
		atomic_store(&c->phase, 1);
		phase_items(w, c->nlinks, link_item);
	}
	barrier(true);
	if (w->ring && !us_stopped()) {
		atomic_store(&c->phase, 2);
		phase_items(w, c->ndirs, dmeta_item);
	}
	/* What is still in flight (closes) completes before the ring goes. */
	while (w->ring && (w->ops || w->dhead)) {
		us_run_deferred(w);
		if (w->ops && run_ring(w) < 0)
			break;
	}
	if (w->ring)
		sr_ring_destroy(w->ring);
	us_copy_destroy(w);
	us_mem_destroy(w);
	if (atomic_fetch_sub(&c->running, 1) == 1)
		pthread_kill(c->main_thread, SIGUSR2);
	return NULL;
}

