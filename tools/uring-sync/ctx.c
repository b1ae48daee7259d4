/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
/*
 * The run's context: one per process, reached through us_c.  What is
 * shared between the workers lives here, under c->lock where it is not
 * atomic.
 *
 * Messages: failures on stderr (path and reason), changes on stdout (with
 * -v or -n), one whole line at a time under out_lock, the progress line
 * cleared first.  Control characters and backslashes in names are
 * printed as \ooo, so every path is one line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"

struct us_ctx *us_c;

/* The first reason to stop wins; a full destination says so once. */
void us_set_stop(int why)
{
	int none = US_RUNNING;

	if (!atomic_compare_exchange_strong(&us_c->stop, &none, why))
		return;
	if (why == US_STOP_NOSPC)
		us_msg("%s: no space left on the destination; stopping (no partial file is left under "
		       "a final name)", us_c->dst_arg);
	us_wake();
}

/* Work arrived, budget came back, or the run ends: every waiting worker looks again. */
void us_wake(void)
{
	pthread_mutex_lock(&us_c->lock);
	pthread_cond_broadcast(&us_c->cond);
	pthread_mutex_unlock(&us_c->lock);
}

/* --- messages ------------------------------------------------------------------------ */

void us_esc(char *out, size_t outsz, const char *s)
{
	size_t o = 0;

	for (; s && *s && o + 5 < outsz; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch < 0x20 || ch == 0x7f || ch == '\\')
			o += (size_t)snprintf(out + o, outsz - o, "\\%03o", ch);
		else
			out[o++] = (char)ch;
	}
	out[o] = 0;
}

/* Under out_lock. */
void us_bar_clear(void)
{
	if (us_c->bar_shown) {
		fputs("\r\033[K", stderr);
		us_c->bar_shown = false;
	}
}

void us_msg(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&us_c->out_lock);
	us_bar_clear();
	fputs(US_NAME ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	pthread_mutex_unlock(&us_c->out_lock);
}

static const char *reason(int err)
{
	if (err == US_ECHANGED)
		return "the file changed size while being copied";
	if (err == US_EDIFFERS)
		return "the content differs";
	return strerror(-err);
}

char *us_relpath(const char *dir, const char *name)
{
	size_t a = dir ? strlen(dir) : 0, b = name ? strlen(name) : 0;
	char *p = malloc(a + b + 2);

	if (!p)
		return NULL;
	memcpy(p, dir ? dir : "", a);
	if (a && b)
		p[a++] = '/';
	memcpy(p + a, name ? name : "", b);
	p[a + b] = 0;
	return p;
}

void us_fail(const char *root, const char *rel, const char *name, const char *what, int err)
{
	char *r = us_relpath(rel, name), path[8400];
	size_t n;

	snprintf(path, sizeof(path), "%s", root);
	n = strlen(path);
	if (r && *r) {
		if (n && path[n - 1] != '/' && n + 1 < sizeof(path))
			path[n++] = '/';
		us_esc(path + n, sizeof(path) - n, r);
	}
	free(r);
	if (err)
		us_msg("%s: %s: %s", path, what, reason(err));
	else
		us_msg("%s: %s", path, what);
}

/*
 * One change, on stdout, with -v or -n: the action, the path, and extra
 * (a symlink's target, a link's first name; "/" marks a directory), or
 * after a tab how it was done.
 */
static void item(const char *action, const char *rel, const char *name, const char *extra, const char *how)
{
	char *r, path[8400], ext[8400];
	const char *sep = "";

	if (!us_c->o.verbose && !us_c->o.dry_run)
		return;
	r = us_relpath(rel, name);
	us_esc(path, sizeof(path), r ? r : "?");
	free(r);
	ext[0] = 0;
	if (extra && !strcmp(extra, "/")) {
		sep = "/";
	} else if (extra) {
		sep = !strcmp(action, "link") ? " => " : " -> ";
		us_esc(ext, sizeof(ext), extra);
	}
	if (!path[0])
		snprintf(path, sizeof(path), ".");
	pthread_mutex_lock(&us_c->out_lock);
	us_bar_clear();
	if (how)
		printf("%-7s %s%s%s\t(%s)\n", action, path, sep, ext, how);
	else
		printf("%-7s %s%s%s\n", action, path, sep, ext);
	pthread_mutex_unlock(&us_c->out_lock);
}

void us_item(const char *action, const char *rel, const char *name, const char *extra)
{
	item(action, rel, name, extra, NULL);
}

void us_item_how(const char *action, const char *rel, const char *name, const char *how)
{
	item(action, rel, name, NULL, how);
}
