/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
/*
 * The progress line (progress.h), on stderr, redrawn in place.
 */
#include <stdio.h>
#include <time.h>

#include "progress.h"

double us_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void us_human(char *buf, size_t len, double v)
{
	static const char *u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	unsigned i = 0;

	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	snprintf(buf, len, i ? "%.1f %s" : "%.0f %s", v, u[i]);
}

void us_progress(double start, bool final)
{
	struct us_ctx *c = us_c;
	unsigned long long done = atomic_load(&c->s.bytes_done), todo = atomic_load(&c->s.bytes_todo);
	unsigned long long fd = atomic_load(&c->s.entries_done), fs = atomic_load(&c->s.entries);
	double t = us_now() - start, rate = t > 0 ? (double)done / t : 0;
	char a[32], b[32], r[32], eta[32] = "";
	bool scanned;
	int phase = atomic_load(&c->phase);

	pthread_mutex_lock(&c->lock);
	scanned = !c->dirq && !c->listing && !c->unclaimed;
	pthread_mutex_unlock(&c->lock);
	us_human(a, sizeof(a), (double)done);
	us_human(b, sizeof(b), (double)todo);
	us_human(r, sizeof(r), rate);
	if (final)
		;
	else if (phase == 1)
		snprintf(eta, sizeof(eta), "  linking");
	else if (phase == 2)
		snprintf(eta, sizeof(eta), "  directory metadata");
	else if (scanned && rate > 0 && todo >= done) {
		unsigned s = (unsigned)((double)(todo - done) / rate);

		snprintf(eta, sizeof(eta), "  ETA %u:%02u:%02u", s / 3600, s / 60 % 60, s % 60);
	} else if (!scanned) {
		snprintf(eta, sizeof(eta), "  scanning");
	}
	pthread_mutex_lock(&c->out_lock);
	fprintf(stderr, "\r\033[K%llu/%llu%s files  %s/%s%s  %s/s%s", fd, fs, scanned ? "" : "+", a, b,
		scanned ? "" : "+", r, eta);
	if (final)
		fputc('\n', stderr);
	c->bar_shown = !final;
	fflush(stderr);
	pthread_mutex_unlock(&c->out_lock);
}
