/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
/*
 * What the user sees of the run (progress.h): the progress line on
 * stderr, redrawn in place, the summary (-v) and --stats.
 *
 * The line, as rsync's --info=progress2 gives it: bytes copied and the
 * bytes of the files that need copying (known so far: "+" while the walk
 * still finds some), the percentage, the rate since the start, the time
 * left, and the entries still to check out of those found (to-chk, or
 * ir-chk while the walk goes on).
 */
#include <stdio.h>
#include <string.h>
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

/* 1234567 as 1,234,567. */
static const char *commas(char *buf, size_t len, unsigned long long v)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%llu", v), o = 0;

	for (int i = 0; i < n && o + 2 < (int)len; i++) {
		if (i && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o] = 0;
	return buf;
}

static void hms(char *buf, size_t len, double secs)
{
	unsigned s = secs > 359999 ? 359999 : (unsigned)secs;

	snprintf(buf, len, "%u:%02u:%02u", s / 3600, s / 60 % 60, s % 60);
}

void us_progress(double start, bool final)
{
	struct us_ctx *c = us_c;
	unsigned long long done = atomic_load(&c->s.bytes_done), todo = atomic_load(&c->s.bytes_todo);
	unsigned long long fd = atomic_load(&c->s.entries_done), fs = atomic_load(&c->s.entries);
	double t = us_now() - start, rate = t > 0 ? (double)done / t : 0;
	char a[32], b[32], r[32], left[32], what[40];
	int phase = atomic_load(&c->phase), pct;
	bool scanned;

	pthread_mutex_lock(&c->lock);
	scanned = !c->dirq && !c->listing && !c->unclaimed;
	pthread_mutex_unlock(&c->lock);
	if (todo < done)
		todo = done;
	pct = todo ? (int)(done * 100 / todo) : 100;
	us_human(a, sizeof(a), (double)done);
	us_human(b, sizeof(b), (double)todo);
	us_human(r, sizeof(r), rate);
	if (final)
		hms(left, sizeof(left), t);
	else if (rate > 0)
		hms(left, sizeof(left), (double)(todo - done) / rate);
	else
		snprintf(left, sizeof(left), "-:--:--");
	if (final)
		snprintf(what, sizeof(what), "%llu/%llu entries", fd, fs);
	else if (phase == 1)
		snprintf(what, sizeof(what), "linking");
	else if (phase == 2)
		snprintf(what, sizeof(what), "directory metadata");
	else
		snprintf(what, sizeof(what), "%s=%llu/%llu", scanned ? "to-chk" : "ir-chk", fs - fd, fs);
	pthread_mutex_lock(&c->out_lock);
	fprintf(stderr, "\r\033[K%s / %s%s  %3d%%  %s/s  %s%s  %s", a, b, scanned ? "" : "+", pct, r,
		final ? "" : "ETA ", left, what);
	if (final)
		fputc('\n', stderr);
	c->bar_shown = !final;
	fflush(stderr);
	pthread_mutex_unlock(&c->out_lock);
}

/* One line at the end, with -v (or after the progress line). */
void us_summary(double secs)
{
	struct us_ctx *c = us_c;
	bool dry = c->o.dry_run;
	char b[32];

	us_human(b, sizeof(b), (double)(dry ? atomic_load(&c->s.bytes_todo) : atomic_load(&c->s.bytes_done)));
	us_msg("%s%llu copied (%s), %llu linked, %llu other entries made, %llu updated, %llu deleted, "
	       "%llu directories, %llu errors, %.2f s", dry ? "dry run, would be: " : "",
	       atomic_load(&c->s.copied), b, atomic_load(&c->s.linked), atomic_load(&c->s.created),
	       atomic_load(&c->s.updated), atomic_load(&c->s.deleted), atomic_load(&c->s.dirs),
	       atomic_load(&c->s.errors), secs);
}

static void by_kind(char *buf, size_t len, atomic_ullong *n)
{
	static const char *name[US_T_N] = { "reg", "dir", "link", "dev", "special" };
	unsigned long long total = 0;
	char num[32];
	size_t o = 0;

	for (int i = 0; i < US_T_N; i++)
		total += atomic_load(&n[i]);
	o += (size_t)snprintf(buf + o, len - o, "%s", commas(num, sizeof(num), total));
	for (int i = 0, first = 1; i < US_T_N && o < len; i++) {
		if (!atomic_load(&n[i]))
			continue;
		o += (size_t)snprintf(buf + o, len - o, "%s%s: %s", first ? " (" : ", ", name[i],
				      commas(num, sizeof(num), atomic_load(&n[i])));
		first = 0;
	}
	if (total && o + 1 < len)
		snprintf(buf + o, len - o, ")");
}

/* --stats: rsync's figures, those that mean something for a copy on one machine. */
void us_stats_print(double secs)
{
	struct us_ctx *c = us_c;
	unsigned long long copied = c->o.dry_run ? atomic_load(&c->s.bytes_todo) : atomic_load(&c->s.bytes_done);
	char line[256], n1[32], n2[32], n3[32];

	pthread_mutex_lock(&c->out_lock);
	us_bar_clear();
	by_kind(line, sizeof(line), c->s.files);
	printf("\nNumber of files: %s\n", line);
	by_kind(line, sizeof(line), c->s.made);
	printf("Number of created files: %s\n", line);
	printf("Number of deleted files: %s\n", commas(n1, sizeof(n1), atomic_load(&c->s.deleted)));
	printf("Number of regular files transferred: %s\n", commas(n1, sizeof(n1), atomic_load(&c->s.copied)));
	printf("Number of hard links made: %s\n", commas(n1, sizeof(n1), atomic_load(&c->s.linked)));
	printf("Number of entries whose metadata was updated: %s\n",
	       commas(n1, sizeof(n1), atomic_load(&c->s.updated)));
	printf("Total file size: %s bytes\n", commas(n1, sizeof(n1), atomic_load(&c->s.total_size)));
	printf("Total transferred file size: %s bytes\n", commas(n1, sizeof(n1), atomic_load(&c->s.bytes_todo)));
	printf("Literal data: %s bytes\n", commas(n1, sizeof(n1), copied));
	printf("Matched data: 0 bytes\n");
	printf("Errors: %s\n", commas(n1, sizeof(n1), atomic_load(&c->s.errors)));
	printf("\ncopied %s bytes in %.2f seconds  %s bytes/sec\n", commas(n2, sizeof(n2), copied), secs,
	       commas(n3, sizeof(n3), secs > 0 ? (unsigned long long)((double)copied / secs) : copied));
	printf("total size is %s%s\n", commas(n1, sizeof(n1), atomic_load(&c->s.total_size)),
	       c->o.dry_run ? " (DRY RUN)" : "");
	fflush(stdout);
	pthread_mutex_unlock(&c->out_lock);
}
