/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
/*
 * Directories in phase A (dir.h): a directory is listed by one worker
 * (openat2 of both sides on its ring, getdents64 as a system call: io_uring
 * has no op for it), filtered, cleared of what --delete removes, and then
 * published; any worker claims its entries (worker.c).  Open directories
 * hold their fds from a fixed number of directory slots; the last of its
 * entries to finish closes it.
 *
 * A directory has one source, or several when SRCs are merged (several
 * SRC/ into one DST, or a named SRC beside them): each is the same path
 * below another root, and the first source to have a name gives it.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <sys/xattr.h>

#include "delete.h"
#include "dir.h"
#include "filter.h"
#include "names.h"
#include "place.h"

static void dir_free_listing(struct us_dir *d)
{
	free(d->ents);
	free(d->names);
	free(d->dnames);
	free(d->merge);
	free(d->dst.slot);
	d->ents = NULL;
	d->names = d->dnames = NULL;
	d->merge = NULL;
	d->dst.slot = NULL;
}

static void close_sources(struct us_worker *w, struct us_dir *d, const int *fds)
{
	for (unsigned i = 0; i < d->nsrc; i++)
		if (fds[i] >= 0 && !d->srcs[i].only)
			us_close_async(w, fds[i]);
}

/* An entry (or the lister) is done with a directory; the last one closes it. */
void us_dir_put(struct us_worker *w, struct us_dir *d)
{
	if (atomic_fetch_sub(&d->refs, 1) != 1)
		return;
	close_sources(w, d, d->sfds);
	for (unsigned i = 0; i < d->nsrc; i++)
		d->sfds[i] = -1;
	us_close_async(w, d->dfd);
	d->dfd = -1;
	dir_free_listing(d);
	pthread_mutex_lock(&us_c->lock);
	us_c->dirs_open--;
	pthread_cond_broadcast(&us_c->cond);
	pthread_mutex_unlock(&us_c->lock);
}

/* Remember a directory for phase C and queue it for listing. */
int us_dir_add(struct us_dir *d, bool list)
{
	struct us_ctx *c = us_c;
	int ret = 0;

	pthread_mutex_lock(&c->lock);
	if (c->ndirs == c->capdirs) {
		size_t n = c->capdirs ? c->capdirs * 2 : 256;
		struct us_dir **nd = realloc(c->dirs, n * sizeof(*nd));

		if (!nd) {
			ret = -ENOMEM;
			goto out;
		}
		c->dirs = nd;
		c->capdirs = n;
	}
	c->dirs[c->ndirs++] = d;
	atomic_fetch_add(&c->s.dirs, 1);
	if (list) {
		d->qnext = c->dirq;
		c->dirq = d;
		atomic_fetch_add(&c->work, 1);
		pthread_cond_broadcast(&c->cond);
	}
out:
	pthread_mutex_unlock(&c->lock);
	return ret;
}

/*
 * A directory and its sources: the root's are the SRCs (srcs, n); a
 * subdirectory's are those of its parent that have it as a directory.
 */
struct us_dir *us_dir_new(struct us_dir *parent, const struct us_ent *e, const struct us_src *srcs, unsigned n)
{
	struct us_dir *d = calloc(1, sizeof(*d));
	unsigned k = 0;

	if (!d)
		return NULL;
	d->rel = parent ? us_relpath(parent->rel, e->name) : strdup("");
	if (!d->rel)
		goto nomem;
	if (parent) {
		uint64_t mask = parent->merge ? parent->merge[e - parent->ents] : 0;

		n = 1 + (unsigned)__builtin_popcountll(mask & ~(1ULL << e->src));
		srcs = parent->srcs;
	}
	d->nsrc = n;
	d->srcs = n == 1 ? &d->src1 : calloc(n, sizeof(*d->srcs));
	d->sfds = n == 1 ? &d->sfd1 : calloc(n, sizeof(*d->sfds));
	if (!d->srcs || !d->sfds)
		goto nomem;
	if (!parent) {
		memcpy(d->srcs, srcs, n * sizeof(*srcs));
	} else {
		uint64_t mask = parent->merge ? parent->merge[e - parent->ents] : 0;

		d->srcs[k++] = (struct us_src){ .root = srcs[e->src].root, .dev = srcs[e->src].dev };
		for (unsigned i = 0; i < 64 && i < parent->nsrc; i++)
			if ((mask >> i & 1) && i != e->src)
				d->srcs[k++] = (struct us_src){ .root = srcs[i].root, .dev = srcs[i].dev };
	}
	for (unsigned i = 0; i < n; i++)
		d->sfds[i] = -1;
	d->dfd = -1;
	d->transfer = true;
	return d;
nomem:
	us_dir_free(d);
	return NULL;
}

void us_dir_free(struct us_dir *d)
{
	if (!d)
		return;
	dir_free_listing(d);
	if (d->srcs != &d->src1)
		free(d->srcs);
	if (d->sfds != &d->sfd1)
		free(d->sfds);
	free(d->rel);
	free(d);
}

static void dirlist_opened(struct us_opc *o, int res);

static void dirlist_start(struct us_job *j)
{
	struct us_dir *d = j->dir;
	const char *rel = d->rel[0] ? d->rel : ".";

	j->pending = 1;
	j->op[0].fn = dirlist_opened;
	j->op[0].owner = j;
	j->op[1].fn = dirlist_opened;
	j->op[1].owner = j;
	j->sfd = -1;
	if (!(us_c->o.dry_run && d->dst_new)) {
		j->pending++;
		us_op_opendir(j->w, &j->op[1], us_c->dst_root, rel);
	}
	if (d->srcs[0].only) {
		j->sfd = d->srcs[0].root->fd;
		dirlist_opened(&j->op[0], j->sfd);
		return;
	}
	us_op_opendir(j->w, &j->op[0], d->srcs[0].root->fd, rel);
}

static void dirlist_fail(struct us_job *j, const char *side, const char *what, int err)
{
	struct us_dir *d = j->dir;

	atomic_store(&d->failed, true);
	us_job_fail(j, side, what, err);
	close_sources(j->w, d, d->sfds);
	for (unsigned i = 0; i < d->nsrc; i++)
		d->sfds[i] = -1;
	if (j->dfd >= 0)
		us_close_async(j->w, j->dfd);
	d->dfd = -1;
	dir_free_listing(d);
	pthread_mutex_lock(&us_c->lock);
	us_c->dirs_open--;
	us_c->listing--;
	pthread_cond_broadcast(&us_c->cond);
	pthread_mutex_unlock(&us_c->lock);
	us_work_done(1);
	us_job_free(j);
}

/* The further sources of a merged directory, opened here (rare enough to wait for). */
static int open_more(struct us_job *j)
{
	struct us_dir *d = j->dir;
	struct open_how how = {
		.flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};

	for (unsigned i = 1; i < d->nsrc; i++) {
		long fd;

		if (d->srcs[i].only) {
			d->sfds[i] = d->srcs[i].root->fd;
			continue;
		}
		fd = syscall(SYS_openat2, d->srcs[i].root->fd, d->rel[0] ? d->rel : ".", &how, sizeof(how));
		/* A later source where the name is not a directory after all gives nothing. */
		if (fd < 0 && errno != ENOENT && errno != ENOTDIR && errno != ELOOP)
			return -errno;
		d->sfds[i] = (int)fd;
	}
	return 0;
}

static bool dirish(unsigned char t)
{
	return t == DT_DIR || t == DT_UNKNOWN;
}

static unsigned hash(const char *s)
{
	unsigned h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/*
 * The source names, merged and filtered, as entries.  Names of several
 * sources: the first to have a name gives it (seen maps names to entry
 * + 1, or to ~0 when filtered out); where it is a directory in later
 * sources too, they are merged into its subdirectory.
 */
static int build_entries(struct us_dir *d, struct us_list *l, const unsigned *first)
{
	unsigned *seen = NULL, mask = 0, n = 0, si = 0;
	const char **seen_name = NULL;
	char path[8192], *p = l->names;
	size_t rl = strlen(d->rel);
	bool filtering = us_filter_active(us_c->o.filter);
	int ret = 0;

	d->ents = calloc(l->n ? l->n : 1, sizeof(*d->ents));
	if (!d->ents)
		return -ENOMEM;
	if (d->nsrc > 1) {
		for (mask = 15; mask < l->n * 2; mask = mask * 2 + 1)
			;
		seen = calloc(mask + 1, sizeof(*seen));
		seen_name = calloc(mask + 1, sizeof(*seen_name));
		d->merge = calloc(l->n ? l->n : 1, sizeof(*d->merge));
		if (!seen || !seen_name || !d->merge) {
			ret = -ENOMEM;
			goto out;
		}
	}
	memcpy(path, d->rel, rl);
	if (rl)
		path[rl++] = '/';
	for (unsigned i = 0; i < l->n; i++, p += strlen(p) + 1) {
		unsigned slot = 0;
		enum us_fres f;

		while (si + 1 < d->nsrc && i >= first[si + 1])
			si++;
		if (seen) {
			for (slot = hash(p) & mask; seen[slot]; slot = (slot + 1) & mask)
				if (!strcmp(seen_name[slot], p))
					break;
			if (seen[slot]) {
				unsigned k = seen[slot] - 1;
				bool had_dir = seen[slot] != ~0u && dirish(d->ents[k].d_type);

				/* Given by an earlier source: a directory in both is merged. */
				if (had_dir && dirish(l->types[i]) && si < 64)
					d->merge[k] |= 1ULL << si;
				/* A directory wins over another type (it may have contents), as in rsync. */
				if (had_dir || l->types[i] != DT_DIR)
					continue;
			} else {
				seen_name[slot] = p;
				seen[slot] = ~0u;
			}
		}
		f = US_F_INCLUDED;
		if (filtering) {
			snprintf(path + rl, sizeof(path) - rl, "%s", p);
			f = us_filter_check(us_c->o.filter, path, l->types[i] == DT_UNKNOWN ? US_F_UNKNOWN :
					    l->types[i] == DT_DIR ? US_F_DIR : US_F_NOTDIR);
			if (f == US_F_EXCLUDED)
				continue;
		}
		if (seen && seen[slot] != ~0u) {	/* a directory in place of an earlier non-directory */
			d->ents[seen[slot] - 1] = (struct us_ent){ .name = p, .d_type = l->types[i], .src = si };
			continue;
		}
		d->ents[n] = (struct us_ent){ .name = p, .d_type = l->types[i], .check_type = f == US_F_NEEDTYPE,
					      .src = si };
		if (seen)
			seen[slot] = n + 1;
		n++;
	}
	d->nents = n;
out:
	free(seen);
	free(seen_name);
	return ret;
}

static void dirlist_opened(struct us_opc *o, int res)
{
	struct us_job *j = o->owner;
	struct us_dir *d = j->dir;
	struct us_list sl = { 0 }, dl = { 0 };
	unsigned *first = NULL;
	int ret;

	if (o == &j->op[0])
		j->sfd = res >= 0 ? res : -1;
	else
		j->dfd = res >= 0 ? res : -1;
	if (res < 0 && !j->err)
		j->err = res, j->step = o == &j->op[0] ? 1 : 2;
	if (--j->pending)
		return;
	d->sfds[0] = j->sfd;
	d->dfd = j->dfd;
	j->sfd = -1;
	if (j->err) {
		ret = j->err;
		j->err = 0;
		dirlist_fail(j, j->step == 1 ? "src" : "dst", "open directory", ret);
		return;
	}
	ret = open_more(j);
	if (ret < 0) {
		dirlist_fail(j, "src", "open directory", ret);
		return;
	}
	if (d->nsrc > 1 && !(first = calloc(d->nsrc, sizeof(*first)))) {
		dirlist_fail(j, "src", "list directory", -ENOMEM);
		return;
	}
	for (unsigned i = 0; i < d->nsrc && !ret; i++) {
		const struct us_src *s = &d->srcs[i];

		if (first)
			first[i] = sl.n;
		if (d->sfds[i] < 0)
			continue;
		ret = s->only ? us_list_add(&sl, s->as ? s->as : s->only, s->type) : us_list_read(&sl, d->sfds[i]);
	}
	if (!ret)
		ret = build_entries(d, &sl, first);
	free(first);
	free(sl.types);
	d->names = sl.names;
	if (ret < 0) {
		dirlist_fail(j, "src", "list directory", ret);
		return;
	}
	if (!d->dst_new) {
		ret = us_list_read(&dl, d->dfd);
		d->dnames = dl.names;
		if (!ret && dl.n && (ret = us_nameset_init(&d->dst, dl.n)) == 0)
			for (char *p = dl.names; p < dl.names + dl.len; p += strlen(p) + 1)
				us_nameset_insert(&d->dst, p);
		if (ret < 0) {
			free(dl.types);
			dirlist_fail(j, "dst", "list directory", ret);
			return;
		}
		for (unsigned i = 0; i < d->nents; i++)
			d->ents[i].in_dst = us_nameset_has(&d->dst, d->ents[i].name);
		d->has_partial = us_nameset_has(&d->dst, US_PARTIAL_DIR);
		/* Leftovers of an interrupted run, and with --delete what SRC lacks. */
		us_delete_extras(j, &dl);
		free(dl.types);
		d->dst_default_acl = fgetxattr(d->dfd, "system.posix_acl_default", NULL, 0) > 0;
	}
	/* The lister's reference, and one per entry. */
	atomic_store(&d->refs, d->nents + 1);
	pthread_mutex_lock(&us_c->lock);
	if (d->nents) {
		/* Pushed in front: the newest directory's entries are claimed first (depth first). */
		d->qnext = us_c->pub;
		us_c->pub = d;
		us_c->unclaimed += d->nents;
		atomic_fetch_add(&us_c->work, d->nents);
	}
	us_c->listing--;
	pthread_cond_broadcast(&us_c->cond);
	pthread_mutex_unlock(&us_c->lock);
	j->dfd = -1;
	us_dir_put(j->w, d);
	us_work_done(1);
	us_job_free(j);
}

/* List d (claimed from the queue, its directory slot taken): a job of this worker. */
void us_dir_list(struct us_worker *w, struct us_dir *d)
{
	struct us_ctx *c = us_c;
	struct us_job *j = us_job_new(w, US_J_DIRLIST, us_job_free);

	if (!j) {
		atomic_store(&d->failed, true);
		us_fail(c->dst_prefix, d->rel, NULL, "list directory", -ENOMEM);
		atomic_fetch_add(&c->s.errors, 1);
		pthread_mutex_lock(&c->lock);
		c->dirs_open--;
		c->listing--;
		pthread_mutex_unlock(&c->lock);
		us_work_done(1);
		return;
	}
	j->dir = d;
	j->rel_dir = d->rel;
	j->src = &d->srcs[0];
	dirlist_start(j);
}

/* Everything is freed at the end, so that leak checkers see a clean exit. */
void us_dirs_free(void)
{
	struct us_ctx *c = us_c;

	for (size_t i = 0; i < c->ndirs; i++)
		us_dir_free(c->dirs[i]);
	free(c->dirs);
	c->dirs = NULL;
	c->ndirs = 0;
}
