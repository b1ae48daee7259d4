/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
/*
 * Before anything is written (setup.h): the SRCs opened, DST checked
 * against them and made if missing, the root directory of the copy, and
 * the budgets of fds and memory shared out between the workers.
 *
 * rsync's rules for paths: SRC/ (or SRC/., or /) copies the contents of
 * SRC into DST; SRC copies SRC itself, as DST/NAME; one SRC that is not
 * a directory may be copied to DST itself, when DST is not a directory
 * and has no trailing slash.  Several SRCs are merged into DST, the
 * first to have a name giving it.
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

#include "dir.h"
#include "inside.h"
#include "mem.h"
#include "setup.h"

/* One op on the setup ring, waited for (the runtime's system call where the kernel lacks the op). */
static int setup_statx(struct sr_ring *r, int dfd, const char *path, int flags, struct statx *st)
{
	struct sr_statx_op op = sr_statx(dfd, path, flags, STATX_BASIC_STATS);
	struct sr_statx_submitted sub;
	struct sr_statx_completed done;
	int ret;

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

	ret = sr_submit(r, &op, &sub);
	if (ret < 0 || (ret = sr_wait(r, &sub, &done)) < 0)
		return ret;
	return done.res;
}

static int setup_mkdir(struct sr_ring *r, const char *path, mode_t mode)
{
	struct sr_mkdirat_op op = sr_mkdirat(AT_FDCWD, path, mode);
	struct sr_mkdirat_submitted sub;
	struct sr_mkdirat_completed done;
	int ret;

	ret = sr_submit(r, &op, &sub);
	if (ret < 0 || (ret = sr_wait(r, &sub, &done)) < 0)
		return ret;
	return done.res;
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


/* SRC/, SRC/. and SRC/..: the contents of SRC. */
static bool contents_arg(const char *a)
{
	size_t n = strlen(a);
	const char *base = strrchr(a, '/');

	if (n && a[n - 1] == '/')
		return true;
	base = base ? base + 1 : a;
	return !strcmp(base, ".") || !strcmp(base, "..");
}

/* path as parent and name; the parent "" when path has no slash (then "." opens it). */
static char *split(const char *path, const char **name)
{
	const char *slash = strrchr(path, '/');

	*name = slash ? slash + 1 : path;
	if (!slash)
		return strdup("");
	return strndup(path, slash == path ? 1 : (size_t)(slash - path));
}

static unsigned char dtype(mode_t m)
{
	return S_ISDIR(m) ? DT_DIR : S_ISREG(m) ? DT_REG : S_ISLNK(m) ? DT_LNK : S_ISCHR(m) ? DT_CHR :
	       S_ISBLK(m) ? DT_BLK : S_ISFIFO(m) ? DT_FIFO : S_ISSOCK(m) ? DT_SOCK : DT_UNKNOWN;
}

static struct us_root *root_at(struct us_ctx *c, struct sr_ring *r, char *prefix, const char *open_path)
{
	int fd;

	for (unsigned i = 0; i < c->nroots; i++)
		if (!strcmp(c->roots[i].prefix, prefix)) {
			free(prefix);
			return &c->roots[i];
		}
	fd = setup_opendir(r, *open_path ? open_path : ".");
	if (fd < 0) {
		us_msg("%s: %s", *open_path ? open_path : ".", strerror(-fd));
		free(prefix);
		return NULL;
	}
	c->roots[c->nroots] = (struct us_root){ .fd = fd, .prefix = prefix };
	return &c->roots[c->nroots++];
}

/* One SRC as a source of the root; false (after a message) if it cannot be copied. */
static bool add_source(struct us_ctx *c, struct sr_ring *r, const char *a, struct us_src *s, struct statx *st)
{
	struct us_root *root;
	const char *name;
	char *parent;
	int ret;

	if (contents_arg(a)) {
		size_t n = strlen(a);
		char *prefix;

		while (n > 1 && a[n - 1] == '/')
			n--;
		prefix = strndup(a, n);
		if (!prefix || !(root = root_at(c, r, prefix, a)))
			return false;
		ret = setup_statx(r, root->fd, "", AT_EMPTY_PATH, st);
		if (ret < 0) {
			us_msg("%s: stat: %s", a, strerror(-ret));
			return false;
		}
		if (!c->o.recursive) {
			if (c->o.verbose)
				us_msg("skipping directory %s", a);
			return false;
		}
		*s = (struct us_src){ .root = root, .dev = makedev(st->stx_dev_major, st->stx_dev_minor) };
		return true;
	}
	parent = split(a, &name);
	if (!parent || !(root = root_at(c, r, parent, parent)))
		return false;
	ret = setup_statx(r, root->fd, name, AT_SYMLINK_NOFOLLOW, st);
	if (ret < 0) {
		us_msg("%s: %s", a, strerror(-ret));
		return false;
	}
	*s = (struct us_src){ .root = root, .only = name, .type = dtype(st->stx_mode),
			      .dev = makedev(st->stx_dev_major, st->stx_dev_minor) };
	return true;
}

/* --link-dest DIRs, relative to DST unless absolute; one that cannot be opened is skipped. */
static int open_link_dest(struct us_ctx *c, struct sr_ring *r, const char *dst)
{
	c->link_dest = calloc(c->o.nlink_dest + 1, sizeof(*c->link_dest));
	if (!c->link_dest) {
		us_msg("out of memory");
		return -1;
	}
	for (unsigned i = 0; i < c->o.nlink_dest; i++) {
		const char *dir = c->o.link_dest[i];
		char *path = dir[0] == '/' ? strdup(dir) : us_relpath(dst, dir);

		c->link_dest[i] = path ? setup_opendir(r, path) : -ENOMEM;
		if (c->link_dest[i] < 0)
			us_msg("--link-dest %s: %s; not used", path ? path : dir, strerror(-c->link_dest[i]));
		free(path);
	}
	return 0;
}

/*
 * The SRCs, checked and opened; DST checked against them, made if
 * missing, and opened; *rootp the root of the copy, NULL when there is
 * nothing to copy.  -1 after a message: nothing can be copied.
 */
int us_setup(struct us_ctx *c, struct sr_ring *r, struct us_dir **rootp)
{
	int nsrc = c->o.nargs - 1, n = 0, ret;
	const char *dst = c->o.args[nsrc], *dname;
	struct us_src *srcs = calloc((size_t)nsrc, sizeof(*srcs));
	struct statx *sst = calloc((size_t)nsrc, sizeof(*sst)), dst_st;
	bool contents = false, created = false, slash = dst[strlen(dst) - 1] == '/';
	struct us_dir *root = NULL;
	char *dparent = NULL;

	*rootp = NULL;
	c->dst_root = -1;
	c->roots = calloc((size_t)nsrc, sizeof(*c->roots));
	if (!srcs || !sst || !c->roots) {
		us_msg("out of memory");
		goto fail;
	}
	for (int i = 0; i < nsrc; i++) {
		bool skipped = !c->o.recursive && contents_arg(c->o.args[i]);

		if (add_source(c, r, c->o.args[i], &srcs[n], &sst[n])) {
			contents |= !srcs[n].only;
			n++;
		} else if (!skipped) {
			atomic_fetch_add(&c->s.errors, 1);
		}
	}
	if (!n && atomic_load(&c->s.errors))
		goto fail;
	ret = setup_statx(r, AT_FDCWD, dst, 0, &dst_st);
	if (n == 1 && nsrc == 1 && srcs[0].only && srcs[0].type != DT_DIR && !slash &&
	    (ret == -ENOENT || (ret == 0 && !S_ISDIR(dst_st.stx_mode)))) {
		/* One file to DST itself: the root of the copy is DST's directory. */
		dparent = split(dst, &dname);
		if (!dparent) {
			us_msg("out of memory");
			goto fail;
		}
		if (strcmp(dname, srcs[0].only))
			srcs[0].as = dname;
		c->dst_prefix = dparent;
		dst = *dparent ? dparent : ".";
		ret = setup_statx(r, AT_FDCWD, dst, 0, &dst_st);
	} else {
		c->dst_prefix = dst;
	}
	if (ret == 0 && !S_ISDIR(dst_st.stx_mode)) {
		us_msg(nsrc > 1 ? "%s: not a directory (DST must be one when there are several SRCs)" :
		       "%s: exists and is not a directory", dst);
		goto fail;
	}
	if (ret < 0 && ret != -ENOENT) {
		us_msg("%s: %s", dst, strerror(-ret));
		goto fail;
	}
	for (int i = 0; i < n; i++) {
		const char *arg = srcs[i].only ? NULL : srcs[i].root->prefix;
		char *path = NULL;

		if (srcs[i].only && srcs[i].type == DT_DIR)
			arg = path = us_relpath(*srcs[i].root->prefix ? srcs[i].root->prefix : ".", srcs[i].only);
		ret = arg ? us_dst_inside(arg, &sst[i], dst) : 0;
		if (ret)
			us_msg(ret > 0 ? "%s: the destination is inside the source %s; refusing to copy a tree into "
			       "itself" : "%s: cannot check the destination against %s", dst, arg);
		free(path);
		if (ret)
			goto fail;
	}
	if (setup_statx(r, AT_FDCWD, dst, 0, &dst_st) == -ENOENT) {
		created = true;
		/* Made for the contents of a SRC/: its mode comes later; else as mkdir(1) would. */
		ret = c->o.dry_run ? 0 : setup_mkdir(r, dst, contents ? 0700 : 0777 & ~c->o.umask);
		if (ret < 0) {
			us_msg("%s: make directory: %s", dst, strerror(-ret));
			goto fail;
		}
		atomic_fetch_add(&c->s.made[US_T_DIR], 1);
		us_item("mkdir", "", NULL, "/");
	}
	if (!(created && c->o.dry_run)) {
		c->dst_root = setup_opendir(r, dst);
		if (c->dst_root < 0 || setup_statx(r, c->dst_root, "", AT_EMPTY_PATH, &dst_st) < 0) {
			us_msg("%s: open: %s", dst, strerror(c->dst_root < 0 ? -c->dst_root : EIO));
			goto fail;
		}
	}
	if (open_link_dest(c, r, dst) < 0)
		goto fail;
	if (n && !(root = us_dir_new(NULL, NULL, srcs, (unsigned)n))) {
		us_msg("out of memory");
		goto fail;
	}
	if (root) {
		root->dst_new = created;
		root->transfer = contents;
		if (contents)
			atomic_fetch_add(&c->s.files[US_T_DIR], 1);
		root->no_meta = !contents;
		if (!(created && c->o.dry_run)) {
			root->dst_setgid = dst_st.stx_mode & S_ISGID;
			root->dst_gid = dst_st.stx_gid;
			root->dst_mode = dst_st.stx_mode;
			root->dst_mtime = dst_st.stx_mtime;
			c->dst_dev = makedev(dst_st.stx_dev_major, dst_st.stx_dev_minor);
			c->dst_ino = dst_st.stx_ino;
		}
	}
	*rootp = root;
	free(srcs);
	free(sst);
	return 0;
fail:
	free(srcs);
	free(sst);
	return -1;
}

/* What setup opened and made, given back. */
void us_setup_free(struct us_ctx *c)
{
	for (unsigned i = 0; i < c->nroots; i++) {
		close(c->roots[i].fd);
		free((char *)c->roots[i].prefix);
	}
	free(c->roots);
	if (c->dst_prefix && c->dst_prefix != c->o.args[c->o.nargs - 1])
		free((char *)c->dst_prefix);
	if (c->dst_root >= 0)
		close(c->dst_root);
	for (unsigned i = 0; c->link_dest && i < c->o.nlink_dest; i++)
		if (c->link_dest[i] >= 0)
			close(c->link_dest[i]);
	free(c->link_dest);
}
