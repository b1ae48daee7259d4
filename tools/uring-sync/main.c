/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
/*
 * uring-sync SRC DST: make DST a copy of the tree SRC (the contents of
 * SRC, as rsync -aHAX SRC/ DST/ does), on io_uring through safer-ring.
 *
 * This file: options, the checks before anything is written, budgets,
 * the worker threads, signals, the progress bar and messages.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/sysmacros.h>

#include "us.h"

struct us_ctx *us_c;

static const char usage_text[] =
"Usage: " US_NAME " [OPTION]... SRC DST\n"
"Make the directory DST a copy of the directory tree SRC: its contents, with\n"
"every piece of metadata (what rsync -aHAX SRC/ DST/ copies), on io_uring.\n"
"DST is created if missing (its parent must exist); entries of DST that SRC\n"
"lacks are left alone.\n"
"\n"
"Options:\n"
"  -j, --jobs N         worker threads, each with its own ring (default: the\n"
"                       number of CPUs); large files are split between them\n"
"      --max-open N     at most N file descriptors open at once (default 1024,\n"
"                       lowered to fit RLIMIT_NOFILE)\n"
"      --max-memory SIZE  at most SIZE bytes of file data in flight, buffers\n"
"                       and pipes (default 64M; suffixes K, M, G)\n"
"  -n, --dry-run        change nothing; list what would be done\n"
"  -c, --checksum       decide by content, not by size and mtime: files of\n"
"                       the same size are compared byte for byte\n"
"      --verify         after copying a file, flush it, drop it from the page\n"
"                       cache and compare it with the source before it gets\n"
"                       its final name\n"
"  -x, --one-file-system  do not cross filesystem boundaries (mount points are\n"
"                       made, empty)\n"
"  -v, --verbose        list every change as it is made, and a summary\n"
"  -q, --quiet          no progress bar and no summary; errors only\n"
"      --progress       show the progress bar even when stderr is not a terminal\n"
"      --no-progress    never show it\n"
"  -h, --help           this text\n"
"  -V, --version        the version\n"
"\n"
"Exit status: 0 all copied; 1 some entries failed (each is reported with its\n"
"path and reason); 2 usage or setup error; 3 stopped because the destination\n"
"is full; 4 stopped by a signal.  An interrupted run leaves no partial file\n"
"under a final name; run it again to finish.\n";

/* --- messages -------------------------------------------------------------------------- */

/* Control characters and backslashes as \ooo, so every path is one line. */
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

static void bar_clear(void)
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
	bar_clear();
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

/* One change, on stdout, with -v or -n. */
void us_item(const char *action, const char *rel, const char *name, const char *extra)
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
	bar_clear();
	printf("%-7s %s%s%s\n", action, path, sep, ext);
	pthread_mutex_unlock(&us_c->out_lock);
}

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

/* --- progress ---------------------------------------------------------------------------- */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void human(char *buf, size_t len, double v)
{
	static const char *u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	unsigned i = 0;

	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	snprintf(buf, len, i ? "%.1f %s" : "%.0f %s", v, u[i]);
}

static void progress(double start, bool final)
{
	struct us_ctx *c = us_c;
	unsigned long long done = atomic_load(&c->s.bytes_done), todo = atomic_load(&c->s.bytes_todo);
	unsigned long long fd = atomic_load(&c->s.entries_done), fs = atomic_load(&c->s.entries);
	double t = now() - start, rate = t > 0 ? (double)done / t : 0;
	char a[32], b[32], r[32], eta[32] = "";
	bool scanned;
	int phase = atomic_load(&c->phase);

	pthread_mutex_lock(&c->lock);
	scanned = !c->dirq && !c->listing && !c->unclaimed;
	pthread_mutex_unlock(&c->lock);
	human(a, sizeof(a), (double)done);
	human(b, sizeof(b), (double)todo);
	human(r, sizeof(r), rate);
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

/* --- setup ----------------------------------------------------------------------------------- */

static int parse_size(const char *s, size_t *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (end == s)
		return -1;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	default: break;
	}
	if (*end == 'i' || *end == 'B')
		end += *end == 'i' && end[1] == 'B' ? 2 : 1;
	if (*end)
		return -1;
	*out = (size_t)v;
	return 0;
}

static int parse_uint(const char *s, unsigned *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (end == s || *end || v == 0 || v > 1u << 30)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static void usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, US_NAME ": ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry '" US_NAME " --help' for more information.\n");
	exit(2);
}

static void parse_opts(struct us_opts *o, int argc, char **argv)
{
	enum { O_MAX_OPEN = 256, O_MAX_MEM, O_VERIFY, O_PROGRESS, O_NO_PROGRESS };
	static const struct option lo[] = {
		{ "jobs", required_argument, NULL, 'j' },
		{ "max-open", required_argument, NULL, O_MAX_OPEN },
		{ "max-memory", required_argument, NULL, O_MAX_MEM },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "checksum", no_argument, NULL, 'c' },
		{ "verify", no_argument, NULL, O_VERIFY },
		{ "one-file-system", no_argument, NULL, 'x' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "progress", no_argument, NULL, O_PROGRESS },
		{ "no-progress", no_argument, NULL, O_NO_PROGRESS },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	int opt;

	*o = (struct us_opts){ .max_open = 0, .max_memory = 64u << 20, .progress = -1 };
	while ((opt = getopt_long(argc, argv, "+j:ncxvqhV", lo, NULL)) != -1) {
		switch (opt) {
		case 'j':
			if (parse_uint(optarg, &o->jobs) || o->jobs > 256)
				usage_error("--jobs: '%s' is not a number from 1 to 256", optarg);
			break;
		case O_MAX_OPEN:
			if (parse_uint(optarg, &o->max_open))
				usage_error("--max-open: '%s' is not a positive number", optarg);
			break;
		case O_MAX_MEM:
			if (parse_size(optarg, &o->max_memory))
				usage_error("--max-memory: '%s' is not a size (like 64M)", optarg);
			break;
		case 'n': o->dry_run = true; break;
		case 'c': o->checksum = true; break;
		case O_VERIFY: o->verify = true; break;
		case 'x': o->one_fs = true; break;
		case 'v': o->verbose = true; break;
		case 'q': o->quiet = true; break;
		case O_PROGRESS: o->progress = 1; break;
		case O_NO_PROGRESS: o->progress = 0; break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		case 'V':
			printf(US_NAME " " US_VERSION " (safer-ring)\n");
			exit(0);
		default:
			fprintf(stderr, "Try '" US_NAME " --help' for more information.\n");
			exit(2);
		}
	}
}

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

static int budgets(struct us_ctx *c)
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
static int open_roots(struct us_ctx *c, struct sr_ring *setup, struct statx *sst, struct statx *dst_st,
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

/* Everything is freed, so that leak checkers see a clean exit. */
static void cleanup(struct us_ctx *c)
{
	for (size_t i = 0; i < c->ndirs; i++) {
		free(c->dirs[i]->ents);
		free(c->dirs[i]->names);
		free(c->dirs[i]->dnames);
		free(c->dirs[i]->dst.slot);
		free(c->dirs[i]->rel);
		free(c->dirs[i]);
	}
	free(c->dirs);
	for (size_t i = 0; c->hl && i <= c->hl_mask; i++)
		for (struct us_hlink *h = c->hl[i], *n; h; h = n) {
			n = h->next;
			free(h->rel);
			free(h);
		}
	free(c->hl);
	for (size_t i = 0; i < c->nlinks; i++)
		free(c->links[i].rel);
	free(c->links);
	free(c->workers);
	free(c->groups);
	if (c->src_root >= 0)
		close(c->src_root);
	if (c->dst_root >= 0)
		close(c->dst_root);
	if (c->nworkers)
		pthread_barrier_destroy(&c->barrier);
}

int main(int argc, char **argv)
{
	static struct us_ctx ctx;
	struct us_ctx *c = &ctx;
	struct sr_ring *setup;
	struct statx sst, dst_st;
	struct us_dir *root;
	sigset_t sigs;
	double start;
	bool created = false;
	int ret, sig = 0;

	us_c = c;
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->out_lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	parse_opts(&c->o, argc, argv);
	if (argc - optind != 2)
		usage_error("%s", argc - optind < 2 ? "missing SRC or DST" : "too many arguments");
	c->src_arg = argv[optind];
	c->dst_arg = argv[optind + 1];
	c->src_root = c->dst_root = -1;
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

	ret = sr_ring_create(&setup, NULL);
	if (ret < 0) {
		us_msg("%s", sr_last_error());
		return 2;
	}
	ret = open_roots(c, setup, &sst, &dst_st, &created);
	sr_ring_destroy(setup);
	if (ret < 0 || budgets(c) < 0) {
		cleanup(c);
		return 2;
	}
	pthread_barrier_init(&c->barrier, NULL, c->nworkers);
	root = us_dir_new(NULL, NULL);
	if (!root) {
		us_msg("out of memory");
		cleanup(c);
		return 2;
	}
	root->dst_new = created;
	if (!(created && c->o.dry_run)) {
		root->dst_setgid = dst_st.stx_mode & S_ISGID;
		root->dst_gid = dst_st.stx_gid;
		root->dst_mode = dst_st.stx_mode;
		c->dst_dev = makedev(dst_st.stx_dev_major, dst_st.stx_dev_minor);
		c->dst_ino = dst_st.stx_ino;
	}
	if (created)
		us_item("mkdir", "", NULL, "/");
	us_dir_add(root, true);

	/* Signals go to this thread only: workers finish or undo what they are doing. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR1);	/* the last worker is done */
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	c->main_thread = pthread_self();
	start = now();
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

		if (s > 0 && s != SIGUSR1) {
			sig = s;
			us_set_stop(US_STOP_SIGNAL);
		}
		if (!atomic_load(&c->running))
			break;
		if (c->show_progress)
			progress(start, false);
	}
	for (unsigned i = 0; i < c->nworkers; i++)
		pthread_join(c->workers[i].thr, NULL);
	if (c->show_progress)
		progress(start, true);
	if (c->o.verbose || c->show_progress) {
		char b[32];
		double t = now() - start;

		human(b, sizeof(b), (double)atomic_load(&c->s.bytes_done));
		us_msg("%llu copied, %llu linked, %llu other entries made, %llu updated, %llu directories, %s in "
		       "%.2f s, %llu errors", atomic_load(&c->s.copied), atomic_load(&c->s.linked),
		       atomic_load(&c->s.created), atomic_load(&c->s.updated), atomic_load(&c->s.dirs), b, t,
		       atomic_load(&c->s.errors));
	}
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
