/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
/*
 * The command line (opts.h), in rsync's spelling: options anywhere among
 * the operands (-- ends them), -a and its parts, --no-OPTION, filters in
 * the order given.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "filter.h"
#include "opts.h"

static const char usage_text[] =
"Usage: " US_NAME " [OPTION]... SRC... DST\n"
"Copy files and directory trees with every piece of metadata, on io_uring:\n"
"what rsync -aHAX SRC... DST does on one machine, with the same options.\n"
"\n"
"SRC is copied into DST (as DST/NAME); SRC/, with a trailing slash, copies\n"
"the contents of SRC into DST.  With one SRC that is not a directory, DST may\n"
"name the copy itself.  DST is made if it is missing (its parent must exist).\n"
"Options may come anywhere; -- ends them.\n"
"\n"
"What is kept: everything (-aHAX) unless some of these are given, then those:\n"
"  -a, --archive          -rlptgoD (as rsync: without -H, -A, -X)\n"
"  -r, --recursive        descend into directories\n"
"  -l, --links            copy symlinks as symlinks\n"
"  -p, --perms            permissions\n"
"  -t, --times            modification times (and access times)\n"
"  -g, --group            group (as root, or a group you are in)\n"
"  -o, --owner            owner (as root)\n"
"  -D                     --devices (device files, as root) and --specials\n"
"                         (FIFOs, sockets)\n"
"  -H, --hard-links       hard links stay hard links\n"
"  -A, --acls             POSIX ACLs (implies -p)\n"
"  -X, --xattrs           extended attributes\n"
"  --no-OPTION            one of them off: --no-recursive, --no-links,\n"
"                         --no-perms, --no-times, --no-group, --no-owner,\n"
"                         --no-devices, --no-specials, --no-D, --no-hard-links,\n"
"                         --no-acls, --no-xattrs\n"
"\n"
"What is copied:\n"
"  -u, --update           skip files that are newer in DST\n"
"  -c, --checksum         files of the same size are compared by content, not\n"
"                         by modification time\n"
"      --delete           delete entries of DST that SRC lacks (in the\n"
"                         directories copied); -n lists them\n"
"      --delete-excluded  also delete excluded entries of DST (implies --delete)\n"
"      --exclude=PATTERN  skip names that match PATTERN\n"
"      --include=PATTERN  do not skip them\n"
"      --exclude-from=FILE, --include-from=FILE\n"
"                         patterns from FILE, one a line (- for stdin)\n"
"  -f, --filter=RULE      a rule: '- PATTERN', '+ PATTERN', or '!' (clear);\n"
"                         the first rule that matches decides\n"
"  -x, --one-file-system  do not cross filesystem boundaries (mount points\n"
"                         are made, empty)\n"
"      --link-dest=DIR    hard link files that are unchanged in DIR (relative\n"
"                         to DST) instead of copying them; up to 20\n"
"\n"
"How:\n"
"  -n, --dry-run          change nothing; list what would be done\n"
"      --partial          keep the data of an interrupted file (in .~us-partial\n"
"                         beside it) and resume from it on the next run\n"
"      --direct           read and write file data with OPT_DIRECT: the copy\n"
"                         leaves the page cache alone\n"
"      --verify           flush each copied file, drop it from the page cache\n"
"                         and compare it with the source before it gets its name\n"
"  -j, --jobs N           worker threads, each with its own ring (default: the\n"
"                         number of CPUs); large files are split between them\n"
"      --max-open N       at most N file descriptors open at once (default\n"
"                         1024, lowered to fit RLIMIT_NOFILE)\n"
"      --max-memory SIZE  at most SIZE bytes of file data in flight (default\n"
"                         64M; suffixes K, M, G)\n"
"      --pin              each worker thread (and its ring's kernel threads) on\n"
"                         a CPU of its own: for machines nobody else uses\n"
"  -W, --whole-file, --numeric-ids, -h, --human-readable\n"
"                         accepted for rsync's sake: that is what this tool does\n"
"\n"
"Output:\n"
"  -v, --verbose          list every change as it is made (with how each file\n"
"                         is copied), and a summary\n"
"  -q, --quiet            errors only\n"
"      --progress         the progress line (bytes done and total, rate, ETA,\n"
"                         files to check) even when stderr is not a terminal;\n"
"                         also --info=progress2, and -P (--partial --progress)\n"
"      --no-progress      never the progress line\n"
"      --stats            counts and sizes at the end, as rsync --stats\n"
"      --help             this text\n"
"  -V, --version          the version\n"
"\n"
"Exit status: 0 all copied; 1 some entries failed (each is reported with its\n"
"path and reason, the rest is copied); 2 usage or setup error; 3 stopped\n"
"because the destination is full; 4 stopped by a signal.  An interrupted run\n"
"leaves no partial file under a final name; run it again to finish.  SIGUSR1\n"
"writes each worker's ring state to stderr and the copy goes on.\n";

void us_usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, US_NAME ": ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry '" US_NAME " --help' for more information.\n");
	exit(2);
}

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

/* The parts of -aHAX, each an option letter (long ones: 256 + index). */
enum {
	K_R, K_L, K_P, K_T, K_G, K_O, K_DEV, K_SPEC, K_H, K_A, K_X, K_NKEEP
};

enum {
	OPT_MAX_OPEN = 256, OPT_MAX_MEM, OPT_VERIFY, OPT_PROGRESS, OPT_NO_PROGRESS, OPT_INFO, OPT_DELETE, OPT_DELETE_EXCLUDED,
	OPT_EXCLUDE, OPT_INCLUDE, OPT_EXCLUDE_FROM, OPT_INCLUDE_FROM, OPT_STATS, OPT_LINK_DEST, OPT_PARTIAL, OPT_DIRECT,
	OPT_HELP, OPT_NUMERIC, OPT_DEVICES, OPT_SPECIALS, OPT_PIN,
	OPT_NO = 512,		/* OPT_NO + K_*: --no-... */
};

static const struct option longopts[] = {
	{ "archive", no_argument, NULL, 'a' },
	{ "recursive", no_argument, NULL, 'r' },
	{ "links", no_argument, NULL, 'l' },
	{ "perms", no_argument, NULL, 'p' },
	{ "times", no_argument, NULL, 't' },
	{ "group", no_argument, NULL, 'g' },
	{ "owner", no_argument, NULL, 'o' },
	{ "devices", no_argument, NULL, OPT_DEVICES },
	{ "specials", no_argument, NULL, OPT_SPECIALS },
	{ "hard-links", no_argument, NULL, 'H' },
	{ "acls", no_argument, NULL, 'A' },
	{ "xattrs", no_argument, NULL, 'X' },
	{ "no-recursive", no_argument, NULL, OPT_NO + K_R },
	{ "no-links", no_argument, NULL, OPT_NO + K_L },
	{ "no-perms", no_argument, NULL, OPT_NO + K_P },
	{ "no-times", no_argument, NULL, OPT_NO + K_T },
	{ "no-group", no_argument, NULL, OPT_NO + K_G },
	{ "no-owner", no_argument, NULL, OPT_NO + K_O },
	{ "no-devices", no_argument, NULL, OPT_NO + K_DEV },
	{ "no-specials", no_argument, NULL, OPT_NO + K_SPEC },
	{ "no-D", no_argument, NULL, OPT_NO + K_NKEEP },
	{ "no-hard-links", no_argument, NULL, OPT_NO + K_H },
	{ "no-acls", no_argument, NULL, OPT_NO + K_A },
	{ "no-xattrs", no_argument, NULL, OPT_NO + K_X },
	{ "update", no_argument, NULL, 'u' },
	{ "checksum", no_argument, NULL, 'c' },
	{ "delete", no_argument, NULL, OPT_DELETE },
	{ "delete-excluded", no_argument, NULL, OPT_DELETE_EXCLUDED },
	{ "exclude", required_argument, NULL, OPT_EXCLUDE },
	{ "include", required_argument, NULL, OPT_INCLUDE },
	{ "exclude-from", required_argument, NULL, OPT_EXCLUDE_FROM },
	{ "include-from", required_argument, NULL, OPT_INCLUDE_FROM },
	{ "filter", required_argument, NULL, 'f' },
	{ "one-file-system", no_argument, NULL, 'x' },
	{ "link-dest", required_argument, NULL, OPT_LINK_DEST },
	{ "dry-run", no_argument, NULL, 'n' },
	{ "partial", no_argument, NULL, OPT_PARTIAL },
	{ "direct", no_argument, NULL, OPT_DIRECT },
	{ "verify", no_argument, NULL, OPT_VERIFY },
	{ "jobs", required_argument, NULL, 'j' },
	{ "max-open", required_argument, NULL, OPT_MAX_OPEN },
	{ "max-memory", required_argument, NULL, OPT_MAX_MEM },
	{ "pin", no_argument, NULL, OPT_PIN },
	{ "whole-file", no_argument, NULL, 'W' },
	{ "numeric-ids", no_argument, NULL, OPT_NUMERIC },
	{ "human-readable", no_argument, NULL, 'h' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "progress", no_argument, NULL, OPT_PROGRESS },
	{ "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
	{ "info", required_argument, NULL, OPT_INFO },
	{ "stats", no_argument, NULL, OPT_STATS },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, 'V' },
	{ 0 }
};

static void filter_opt(struct us_opts *o, int opt, const char *arg)
{
	const char *err = "";
	int ret;

	switch (opt) {
	case OPT_EXCLUDE: ret = us_filter_add(&o->filter, arg, false, &err); break;
	case OPT_INCLUDE: ret = us_filter_add(&o->filter, arg, true, &err); break;
	case OPT_EXCLUDE_FROM: ret = us_filter_add_file(&o->filter, arg, false, &err); break;
	case OPT_INCLUDE_FROM: ret = us_filter_add_file(&o->filter, arg, true, &err); break;
	default: ret = us_filter_rule(&o->filter, arg, &err); break;
	}
	if (ret < 0) {
		fprintf(stderr, US_NAME ": %s%s: %s\n", opt == OPT_EXCLUDE_FROM || opt == OPT_INCLUDE_FROM ? "" :
			"filter rule ", arg, err);
		fprintf(stderr, "Try '" US_NAME " --help' for more information.\n");
		exit(2);
	}
}

void us_parse_opts(struct us_opts *o, int argc, char **argv)
{
	/* The parts of -aHAX named so far, in order: +1 on, -1 off. */
	signed char keep[K_NKEEP] = { 0 };
	bool any_on = false;
	int opt;

	*o = (struct us_opts){ .max_memory = 64u << 20, .progress = -1 };
	if (argc == 2 && !strcmp(argv[1], "-h")) {
		fputs(usage_text, stdout);
		exit(0);
	}
	while ((opt = getopt_long(argc, argv, "arlptgoDHAXucf:xnj:WhvqPV", longopts, NULL)) != -1) {
		int on = -1;

		switch (opt) {
		case 'a':
			for (int k = K_R; k <= K_SPEC; k++)
				keep[k] = 1;
			any_on = true;
			break;
		case 'r': on = K_R; break;
		case 'l': on = K_L; break;
		case 'p': on = K_P; break;
		case 't': on = K_T; break;
		case 'g': on = K_G; break;
		case 'o': on = K_O; break;
		case 'D': keep[K_DEV] = keep[K_SPEC] = 1; any_on = true; break;
		case OPT_DEVICES: on = K_DEV; break;
		case OPT_SPECIALS: on = K_SPEC; break;
		case 'H': on = K_H; break;
		case 'A': on = K_A; keep[K_P] = 1; break;
		case 'X': on = K_X; break;
		case 'u': o->update = true; break;
		case 'c': o->checksum = true; break;
		case OPT_DELETE: o->del = true; break;
		case OPT_DELETE_EXCLUDED: o->del = o->delete_excluded = true; break;
		case OPT_EXCLUDE: case OPT_INCLUDE: case OPT_EXCLUDE_FROM: case OPT_INCLUDE_FROM: case 'f':
			filter_opt(o, opt, optarg);
			break;
		case 'x': o->one_fs = true; break;
		case OPT_LINK_DEST:
			if (o->nlink_dest == 20)
				us_usage_error("--link-dest %s: at most 20 are allowed", optarg);
			o->link_dest = realloc(o->link_dest, (o->nlink_dest + 1) * sizeof(*o->link_dest));
			if (!o->link_dest)
				us_usage_error("%s", "out of memory");
			o->link_dest[o->nlink_dest++] = optarg;
			break;
		case 'n': o->dry_run = true; break;
		case OPT_PARTIAL: o->partial = true; break;
		case OPT_DIRECT: o->direct = true; break;
		case OPT_VERIFY: o->verify = true; break;
		case OPT_PIN: o->pin = true; break;
		case 'j':
			if (parse_uint(optarg, &o->jobs) || o->jobs > 256)
				us_usage_error("--jobs: '%s' is not a number from 1 to 256", optarg);
			break;
		case OPT_MAX_OPEN:
			if (parse_uint(optarg, &o->max_open))
				us_usage_error("--max-open: '%s' is not a positive number", optarg);
			break;
		case OPT_MAX_MEM:
			if (parse_size(optarg, &o->max_memory))
				us_usage_error("--max-memory: '%s' is not a size (like 64M)", optarg);
			break;
		case 'W': case OPT_NUMERIC: case 'h': break;
		case 'v': o->verbose++; break;
		case 'q': o->quiet = true; break;
		case 'P': o->partial = true; o->progress = 1; break;
		case OPT_PROGRESS: o->progress = 1; break;
		case OPT_NO_PROGRESS: o->progress = 0; break;
		case OPT_INFO:
			if (!strcmp(optarg, "progress2"))
				o->progress = 1;
			else if (!strcmp(optarg, "stats") || !strcmp(optarg, "stats2"))
				o->stats = true;
			else
				us_usage_error("--info=%s: only progress2 and stats are known", optarg);
			break;
		case OPT_STATS: o->stats = true; break;
		case OPT_HELP:
			fputs(usage_text, stdout);
			exit(0);
		case 'V':
			printf(US_NAME " " US_VERSION " (safer-ring)\n");
			exit(0);
		default:
			if (opt >= OPT_NO && opt < OPT_NO + K_NKEEP) {
				keep[opt - OPT_NO] = -1;
				break;
			}
			if (opt == OPT_NO + K_NKEEP) {		/* --no-D */
				keep[K_DEV] = keep[K_SPEC] = -1;
				break;
			}
			fprintf(stderr, "Try '" US_NAME " --help' for more information.\n");
			exit(2);
		}
		if (on >= 0) {
			keep[on] = 1;
			any_on = true;
		}
	}
	/* Nothing named: everything (-aHAX); --no-... alone takes parts away from everything. */
	for (int k = 0; k < K_NKEEP; k++)
		if (!keep[k])
			keep[k] = any_on ? -1 : 1;
	o->recursive = keep[K_R] > 0;
	o->links = keep[K_L] > 0;
	o->perms = keep[K_P] > 0;
	o->times = keep[K_T] > 0;
	o->group = keep[K_G] > 0;
	o->owner = keep[K_O] > 0;
	o->devices = keep[K_DEV] > 0;
	o->specials = keep[K_SPEC] > 0;
	o->hard_links = keep[K_H] > 0;
	o->acls = keep[K_A] > 0;
	o->xattrs = keep[K_X] > 0;
	if (o->acls)
		o->perms = true;
	if (o->del && !o->recursive)
		us_usage_error("%s", "--delete works only with --recursive (-r)");
	o->args = argv + optind;
	o->nargs = argc - optind;
	if (o->nargs < 2)
		us_usage_error("%s", o->nargs ? "missing DST" : "missing SRC and DST");
	o->umask = umask(0);
	umask(o->umask);
}
