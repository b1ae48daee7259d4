/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
/*
 * uring-sync SRC DST: make DST a copy of the tree SRC (the contents of
 * SRC, as rsync -aHAX SRC/ DST/ does), on io_uring through safer-ring.
 *
 * This file: options, and the run: setup, the worker threads, signals,
 * the summary and the exit status.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/sysmacros.h>

#include "dir.h"
#include "dump.h"
#include "filter.h"
#include "link.h"
#include "method.h"
#include "opts.h"
#include "progress.h"
#include "setup.h"
#include "worker.h"

/* Everything is freed, so that leak checkers see a clean exit. */
static void cleanup(struct us_ctx *c)
{
	us_dirs_free();
	us_links_free();
	us_setup_free(c);
	us_filter_free(c->o.filter);
	free(c->o.link_dest);
	free(c->workers);
	free(c->groups);
	if (c->nworkers)
		pthread_barrier_destroy(&c->barrier);
}

int main(int argc, char **argv)
{
	static struct us_ctx ctx;
	struct us_ctx *c = &ctx;
	struct sr_ring *setup;
	struct us_dir *root;
	sigset_t sigs;
	double start;
	int ret, sig = 0;

	us_c = c;
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->out_lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	us_parse_opts(&c->o, argc, argv);
	c->dst_arg = c->o.args[c->o.nargs - 1];
	c->dst_root = -1;
	c->euid = geteuid();
	c->egid = getegid();
	c->root = c->euid == 0;
	c->ngroups = getgroups(0, NULL);
	if (c->ngroups > 0) {
		c->groups = calloc((size_t)c->ngroups, sizeof(gid_t));
		if (!c->groups || getgroups(c->ngroups, c->groups) < 0)
			c->ngroups = 0;
	} else {
		c->ngroups = 0;
	}
	c->show_progress = !c->o.quiet && (c->o.progress == 1 || (c->o.progress == -1 && isatty(2)));
	/* Modes are given exactly, with no umask in the way. */
	umask(0);

	ret = sr_ring_create(&setup, &(struct sr_ring_params){ .flags = SR_RING_FB_INLINE });
	if (ret < 0) {
		us_msg("%s", sr_last_error());
		return 2;
	}
	ret = us_setup(c, setup, &root);
	sr_ring_destroy(setup);
	if (ret < 0) {
		cleanup(c);
		return 2;
	}
	if (!root) {		/* every SRC skipped (a directory without -r) */
		cleanup(c);
		return 0;
	}
	us_method_init();
	if (us_budgets(c) < 0) {
		us_dir_free(root);
		cleanup(c);
		return 2;
	}
	pthread_barrier_init(&c->barrier, NULL, c->nworkers);
	us_dir_add(root, true);

	/* Signals go to this thread only: workers finish or undo what they are doing. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR1);	/* dump the rings (dump.c) */
	sigaddset(&sigs, SIGUSR2);	/* the last worker is done */
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	c->main_thread = pthread_self();
	start = us_now();
	atomic_store(&c->running, c->nworkers);
	for (unsigned i = 0; i < c->nworkers; i++) {
		struct us_worker *w = &c->workers[i];

		if (pthread_create(&w->thr, NULL, us_worker_main, w)) {
			us_msg("cannot start worker threads");
			return 2;
		}
	}
	for (;;) {
		struct timespec ts = { 0, 200 * 1000000 };
		int s = sigtimedwait(&sigs, NULL, &ts);

		if (s == SIGUSR1)
			us_dump_request(c);
		else if (s > 0 && s != SIGUSR2) {
			sig = s;
			us_set_stop(US_STOP_SIGNAL);
		}
		if (!atomic_load(&c->running))
			break;
		if (c->show_progress)
			us_progress(start, false);
	}
	for (unsigned i = 0; i < c->nworkers; i++)
		pthread_join(c->workers[i].thr, NULL);
	if (c->show_progress)
		us_progress(start, true);
	if (c->o.stats)
		us_stats_print(us_now() - start);
	else if (c->o.verbose && !c->o.quiet)
		us_summary(us_now() - start);
	switch (atomic_load(&c->stop)) {
	case US_STOP_NOSPC:
		ret = 3;
		break;
	case US_STOP_SIGNAL:
		us_msg("stopped by signal %d (%s); run again to finish", sig, strsignal(sig));
		ret = 4;
		break;
	case US_STOP_FATAL:
		ret = 2;
		break;
	default:
		ret = atomic_load(&c->s.errors) ? 1 : 0;
		break;
	}
	cleanup(c);
	return ret;
}
