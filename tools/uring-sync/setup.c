/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
/*
 * Before anything is written (setup.h): SRC opened, DST checked against
 * it and made if missing, and the budgets of fds and memory shared out
 * between the workers.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/sysmacros.h>

#include "mem.h"
#include "setup.h"

/* One op on the setup ring, waited for (a syscall where the kernel lacks the op). */
static int setup_statx(struct sr_ring *r, int dfd, const char *path, int flags, struct statx *st)
{
	struct sr_statx_op op = sr_statx(dfd, path, flags, STATX_BASIC_STATS);
	struct sr_statx_submitted sub;
	struct sr_statx_completed done;
	int ret;

	if (!sr_ring_native(r, SR_OP_STATX))
		return statx(dfd, path, flags, STATX_BASIC_STATS, st) < 0 ? -errno : 0;
	ret = sr_submit(r, &op, &sub);
	if (ret < 0 || (ret = sr_wait(r, &sub, &done)) < 0)
		return ret;
	if (done.res >= 0)
		*st = done.statxbuf;
	return done.res;
}

static int setup_opendir(struct sr_ring *r, const char *path)
{
	struct sr_openat_op op = sr_openat(AT_FDCWD, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	struct sr_openat_submitted sub;
	struct sr_openat_completed done;
	int ret;

	if (!sr_ring_native(r, SR_OP_OPENAT))
		return (ret = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ? -errno : ret;
	ret = sr_submit(r, &op, &sub);
	if (ret < 0 || (ret = sr_wait(r, &sub, &done)) < 0)
		return ret;
	return done.res;
}

static int setup_mkdir(struct sr_ring *r, const char *path)
{
	struct sr_mkdirat_op op = sr_mkdirat(AT_FDCWD, path, 0700);
	struct sr_mkdirat_submitted sub;
	struct sr_mkdirat_completed done;
	int ret;

	if (!sr_ring_native(r, SR_OP_MKDIRAT))
		return mkdir(path, 0700) < 0 ? -errno : 0;
	ret = sr_submit(r, &op, &sub);
	if (ret < 0 || (ret = sr_wait(r, &sub, &done)) < 0)
		return ret;
	return done.res;
}

/* Undo mountinfo's octal escapes (\040 for a space) in place. */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
		    s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = 0;
}

static bool under(const char *p, const char *top)
{
	size_t n = strlen(top);

	if (!strcmp(top, "/"))
		return true;
	return !strncmp(p, top, n) && (p[n] == '/' || !p[n]);
}

/*
 * Where a canonical absolute path lies inside its filesystem: the mount
 * that holds it (the longest mount point above it) gives the device and
 * the directory of that filesystem mounted there (a bind mount's root).
 */
static char *fs_path(const char *abs, char *dev, size_t devlen)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[8192], best_root[4096] = "", best_mp[4096] = "";
	size_t best = 0;
	char *out;

	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		char mm[64], root[4096], mp[4096];

		if (sscanf(line, "%*d %*d %63s %4095s %4095s", mm, root, mp) != 3)
			continue;
		unescape(root);
		unescape(mp);
		/* A later mount on the same point hides the earlier: take the last. */
		if (under(abs, mp) && strlen(mp) >= best) {
			best = strlen(mp);
			snprintf(best_root, sizeof(best_root), "%s", root);
			snprintf(best_mp, sizeof(best_mp), "%s", mp);
			snprintf(dev, devlen, "%s", mm);
		}
	}
	fclose(f);
	if (!best)
		return NULL;
	out = malloc(strlen(best_root) + strlen(abs) + 2);
	if (out)
		sprintf(out, "%s%s", strcmp(best_root, "/") ? best_root : "",
			strcmp(best_mp, "/") ? abs + strlen(best_mp) : abs);
	if (out && !*out)
		strcpy(out, "/");
	return out;
}

/*
 * DST must not be SRC or inside it: compared by canonical path, by the
 * paths inside their filesystems (a bind mount of a directory of SRC is
 * still inside SRC), and by device and inode of every existing ancestor
 * of DST.  The walk also never enters the destination (walk.c).
 */
static int check_dst_outside(const char *src, const struct statx *sst, const char *dst)
{
	char *s = realpath(src, NULL), *d = NULL, *copy = strdup(dst), *p;
	int bad = 0;

	if (!s || !copy) {
		free(s);
		free(copy);
		return -ENOMEM;
	}
	/* The longest existing prefix of DST, canonical, plus the rest. */
	for (p = copy + strlen(copy); !d;) {
		char keep = *p;

		*p = 0;
		d = realpath(*copy ? copy : ".", NULL);
		*p = keep;
		if (d) {
			char *full = malloc(strlen(d) + strlen(p) + 2);

			if (!full)
				break;
			sprintf(full, "%s%s%s", d, *p && *p != '/' ? "/" : "", p);
			free(d);
			d = full;
			break;
		}
		while (p > copy && *--p != '/')
			;
		if (p == copy && !d) {
			d = realpath(".", NULL);
			if (d) {
				char *full = malloc(strlen(d) + strlen(copy) + 2);

				if (full)
					sprintf(full, "%s/%s", d, copy);
				free(d);
				d = full;
			}
			break;
		}
	}
	if (!d) {
		free(s);
		free(copy);
		return -ENOMEM;
	}
	size_t sl = strlen(s);

	if (!strcmp(s, "/") || !strcmp(s, d) || (!strncmp(s, d, sl) && d[sl] == '/'))
		bad = 1;
	if (!bad) {
		char sdev[64] = "", ddev[64] = "", *sf = fs_path(s, sdev, sizeof(sdev)),
		     *df = fs_path(d, ddev, sizeof(ddev));

		if (sf && df && !strcmp(sdev, ddev) && under(df, sf))
			bad = 1;
		free(sf);
		free(df);
	}
	/* Every existing ancestor of DST (and DST) against SRC's device and inode. */
	for (char *q = d + strlen(d); !bad && q >= d; q--) {
		struct stat st;

		if (*q != '/' && q != d + strlen(d))
			continue;
		char keep = *q;

		*q = 0;
		if (stat(*d ? d : "/", &st) == 0 && st.st_ino == sst->stx_ino &&
		    major(st.st_dev) == sst->stx_dev_major && minor(st.st_dev) == sst->stx_dev_minor)
			bad = 1;
		*q = keep;
	}
	free(s);
	free(d);
	free(copy);
	return bad;
}

/* The descriptors open now (the listing's own one not counted). */
static unsigned open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	if (!d)
		return 8;
	while (readdir(d))
		n++;
	closedir(d);
	return n > 3 ? n - 3 : 0;	/* ., .. and the listing */
}

int us_budgets(struct us_ctx *c)
{
	struct us_opts *o = &c->o;
	struct rlimit rl;
	unsigned reserve, per, want;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (!o->jobs)
		o->jobs = cpus > 0 ? (unsigned)(cpus > 64 ? 64 : cpus) : 1;
	/* What is open now (stdio, the roots), one ring per worker, a little slack. */
	reserve = open_fds() + o->jobs + 4;
	want = o->max_open ? o->max_open : 1024;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rlim_t need = (rlim_t)want + reserve;

		if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
			rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need : rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
			getrlimit(RLIMIT_NOFILE, &rl);
		}
		if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)want + reserve) {
			unsigned fit = rl.rlim_cur > reserve ? (unsigned)rl.rlim_cur - reserve : 0;

			if (o->max_open && o->verbose)
				us_msg("--max-open %u lowered to %u to fit the open file limit (ulimit -n %llu)",
				       o->max_open, fit, (unsigned long long)rl.rlim_cur);
			want = fit;
		}
	}
	/* Two fds per open directory, two per file in flight, each worker at least one file. */
	if (want < 6) {
		us_msg("too few file descriptors: --max-open %u (and ulimit -n) leaves %u; at least 6 are needed",
		       o->max_open ? o->max_open : 1024, want);
		return -1;
	}
	o->max_open = want;
	c->dirs_open_max = want / 16;
	if (c->dirs_open_max < 2)
		c->dirs_open_max = 2;
	if (c->dirs_open_max > 64)
		c->dirs_open_max = 64;
	if (c->dirs_open_max > 2 * o->jobs + 2)
		c->dirs_open_max = 2 * o->jobs + 2;
	while ((want - 2 * c->dirs_open_max) / o->jobs < 2 && o->jobs > 1)
		o->jobs--;
	if (o->max_memory < (size_t)2 * US_CHUNK) {
		us_msg("--max-memory must be at least %u KiB", 2 * US_CHUNK / 1024);
		return -1;
	}
	while (o->jobs > 1 && o->max_memory / o->jobs < (size_t)2 * US_CHUNK)
		o->jobs--;
	per = (want - 2 * c->dirs_open_max) / o->jobs;
	c->nworkers = o->jobs;
	c->workers = calloc(o->jobs, sizeof(*c->workers));
	if (!c->workers) {
		us_msg("out of memory");
		return -1;
	}
	for (unsigned i = 0; i < o->jobs; i++) {
		struct us_worker *w = &c->workers[i];

		w->c = c;
		w->id = i;
		/*
		 * The worker's share of --max-memory: pipes for splice (each holds
		 * up to a chunk, and costs two fds), the rest for buffers, of
		 * which a compare needs two chunks.
		 */
		size_t share = o->max_memory / o->jobs;

		w->max_pipes = per >= 64 ? 8 : per >= 24 ? 2 : 0;
		if (w->max_pipes > (share - 2 * (size_t)US_CHUNK) / US_CHUNK)
			w->max_pipes = (unsigned)((share - 2 * (size_t)US_CHUNK) / US_CHUNK);
		w->mem_budget = share - (size_t)w->max_pipes * US_CHUNK;
		atomic_store(&w->fds, (int)per);
		/* Entries in flight; those that need fds wait for them beyond the budget. */
		w->max_jobs = 128;
	}
	return 0;
}

/* SRC open and stat'ed, DST checked, made if missing, and open; -1 after a message. */
int us_open_roots(struct us_ctx *c, struct sr_ring *setup, struct statx *sst, struct statx *dst_st,
		      bool *created)
{
	int ret;

	c->src_root = setup_opendir(setup, c->src_arg);
	if (c->src_root < 0) {
		us_msg("%s: %s", c->src_arg, c->src_root == -ENOTDIR ? "not a directory (SRC must be a directory)" :
		       strerror(-c->src_root));
		return -1;
	}
	ret = setup_statx(setup, c->src_root, "", AT_EMPTY_PATH, sst);
	if (ret < 0) {
		us_msg("%s: stat: %s", c->src_arg, strerror(-ret));
		return -1;
	}
	c->src_dev = makedev(sst->stx_dev_major, sst->stx_dev_minor);
	ret = check_dst_outside(c->src_arg, sst, c->dst_arg);
	if (ret) {
		us_msg(ret > 0 ? "%s: the destination is inside the source %s; refusing to copy a tree into itself" :
		       "%s: cannot check the destination against %s", c->dst_arg, c->src_arg);
		return -1;
	}
	ret = setup_statx(setup, AT_FDCWD, c->dst_arg, 0, dst_st);
	if (ret == -ENOENT) {
		if (!c->o.dry_run) {
			ret = setup_mkdir(setup, c->dst_arg);
			if (ret < 0) {
				us_msg("%s: make directory: %s", c->dst_arg, strerror(-ret));
				return -1;
			}
		}
		*created = true;
	} else if (ret < 0) {
		us_msg("%s: stat: %s", c->dst_arg, strerror(-ret));
		return -1;
	} else if (!S_ISDIR(dst_st->stx_mode)) {
		us_msg("%s: exists and is not a directory", c->dst_arg);
		return -1;
	}
	c->dst_root = -1;
	if (!(*created && c->o.dry_run)) {
		c->dst_root = setup_opendir(setup, c->dst_arg);
		if (c->dst_root < 0) {
			us_msg("%s: open: %s", c->dst_arg, strerror(-c->dst_root));
			return -1;
		}
		if (*created)
			setup_statx(setup, c->dst_root, "", AT_EMPTY_PATH, dst_st);
	}
	return 0;
}
