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
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/sysmacros.h>

#include "dir.h"
#include "link.h"
#include "progress.h"
#include "setup.h"
#include "worker.h"

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

static void cleanup(struct us_ctx *c)
{
	us_dirs_free();
	us_links_free();
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
	ret = us_open_roots(c, setup, &sst, &dst_st, &created);
	sr_ring_destroy(setup);
	if (ret < 0 || us_budgets(c) < 0) {
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

		if (s > 0 && s != SIGUSR1) {
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
	if (c->o.verbose || c->show_progress) {
		char b[32];
		double t = us_now() - start;

		us_human(b, sizeof(b), (double)atomic_load(&c->s.bytes_done));
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
