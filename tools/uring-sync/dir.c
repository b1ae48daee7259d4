/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
/*
 * Directories (dir.h).
 *
 * Phase A: a directory is listed by one worker (openat2 of both sides on
 * its ring, getdents64 as a syscall: io_uring has no op for it) and then
 * published; any worker claims its entries (worker.c).  Open directories
 * hold two fds each from a fixed number of directory slots; the last of
 * its entries to finish closes it.
 *
 * Phase C: the metadata of every directory, from a fresh look at both
 * sides, once nothing will be created in it any more.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/xattr.h>

#include "dir.h"
#include "meta.h"
#include "place.h"

static unsigned name_hash(const char *s)
{
	unsigned h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static int nameset_build(struct us_nameset *ns, char *names, size_t len, unsigned n)
{
	unsigned cap = 16;

	while (cap < n * 2)
		cap <<= 1;
	ns->slot = calloc(cap, sizeof(*ns->slot));
	if (!ns->slot)
		return -ENOMEM;
	ns->mask = cap - 1;
	for (char *p = names; p < names + len; p += strlen(p) + 1) {
		unsigned i = name_hash(p) & ns->mask;

		while (ns->slot[i])
			i = (i + 1) & ns->mask;
		ns->slot[i] = p;
	}
	return 0;
}

static bool nameset_has(const struct us_nameset *ns, const char *name)
{
	if (!ns->slot)
		return false;
	for (unsigned i = name_hash(name) & ns->mask; ns->slot[i]; i = (i + 1) & ns->mask)
		if (!strcmp(ns->slot[i], name))
			return true;
	return false;
}

/*
 * Read a whole directory with getdents64: names (without . and ..) into
 * one NUL-separated buffer, their d_type into types if given.
 */
static int list_names(int fd, char **namesp, size_t *lenp, unsigned char **typesp, unsigned *np)
{
	char buf[32768];
	size_t cap = 4096, len = 0, tcap = 256;
	unsigned n = 0;
	char *names = malloc(cap);
	unsigned char *types = typesp ? malloc(tcap) : NULL;

	if (!names || (typesp && !types))
		goto nomem;
	for (;;) {
		long got = syscall(SYS_getdents64, fd, buf, sizeof(buf));

		if (got < 0) {
			int err = -errno;

			free(names);
			free(types);
			return err;
		}
		if (got == 0)
			break;
		for (long off = 0; off < got;) {
			struct dirent64 *de = (struct dirent64 *)(buf + off);
			size_t l = strlen(de->d_name) + 1;

			off += de->d_reclen;
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			if (len + l > cap) {
				char *nn;

				while (len + l > cap)
					cap *= 2;
				nn = realloc(names, cap);
				if (!nn)
					goto nomem;
				names = nn;
			}
			memcpy(names + len, de->d_name, l);
			len += l;
			if (types) {
				if (n == tcap) {
					unsigned char *nt = realloc(types, tcap *= 2);

					if (!nt)
						goto nomem;
					types = nt;
				}
				types[n] = de->d_type;
			}
			n++;
		}
	}
	*namesp = names;
	*lenp = len;
	if (typesp)
		*typesp = types;
	*np = n;
	return 0;
nomem:
	free(names);
	free(types);
	return -ENOMEM;
}

static void dir_free_listing(struct us_dir *d)
{
	free(d->ents);
	free(d->names);
	free(d->dnames);
	free(d->dst.slot);
	d->ents = NULL;
	d->names = d->dnames = NULL;
	d->dst.slot = NULL;
}

/* An entry (or the lister) is done with a directory; the last one closes it. */
void us_dir_put(struct us_worker *w, struct us_dir *d)
{
	if (atomic_fetch_sub(&d->refs, 1) != 1)
		return;
	us_close_async(w, d->sfd);
	us_close_async(w, d->dfd);
	d->sfd = d->dfd = -1;
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

struct us_dir *us_dir_new(struct us_dir *parent, const char *name)
{
	struct us_dir *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->rel = parent ? us_relpath(parent->rel, name) : strdup("");
	if (!d->rel) {
		free(d);
		return NULL;
	}
	d->sfd = d->dfd = -1;
	return d;
}

static void dir_fail_msg(struct us_dir *d, const char *name, const char *what, int err)
{
	atomic_fetch_add(&us_c->s.errors, 1);
	us_fail(us_c->dst_arg, d->rel, name, what, err);
}

static void dirlist_opened(struct us_opc *o, int res);

static void dirlist_start(struct us_job *j)
{
	struct us_dir *d = j->dir;
	const char *rel = d->rel[0] ? d->rel : ".";

	j->pending = 1;
	j->op[0].fn = dirlist_opened;
	j->op[0].owner = j;
	j->op[0].dres = 0;
	j->op[1].fn = dirlist_opened;
	j->op[1].owner = j;
	if (!(us_c->o.dry_run && d->dst_new)) {
		j->pending = 2;
		us_op_opendir(j->w, &j->op[1], us_c->dst_root, rel);
	}
	us_op_opendir(j->w, &j->op[0], us_c->src_root, rel);
}

static void dirlist_fail(struct us_job *j, const char *side, const char *what, int err)
{
	struct us_dir *d = j->dir;

	atomic_store(&d->failed, true);
	us_job_fail(j, side, what, err);
	if (j->sfd >= 0)
		us_close_async(j->w, j->sfd);
	if (j->dfd >= 0)
		us_close_async(j->w, j->dfd);
	dir_free_listing(d);
	pthread_mutex_lock(&us_c->lock);
	us_c->dirs_open--;
	us_c->listing--;
	pthread_cond_broadcast(&us_c->cond);
	pthread_mutex_unlock(&us_c->lock);
	us_work_done(1);
	us_job_free(j);
}

/* Leftover temporaries of an interrupted run, unless the source has that name. */
static void remove_leftovers(struct us_job *j, struct us_dir *d, char *dn, size_t dlen)
{
	for (char *p = dn; p < dn + dlen; p += strlen(p) + 1) {
		bool in_src = false;

		if (!us_is_tmpname(p))
			continue;
		for (unsigned i = 0; i < d->nents && !in_src; i++)
			in_src = !strcmp(d->ents[i].name, p);
		if (in_src || us_c->o.dry_run)
			continue;
		if (unlinkat(d->dfd, p, 0) < 0 && errno != ENOENT)
			dir_fail_msg(d, p, "remove leftover temporary", -errno);
	}
	(void)j;
}

static void dirlist_opened(struct us_opc *o, int res)
{
	struct us_job *j = o->owner;
	struct us_dir *d = j->dir;
	unsigned char *types = NULL;
	size_t len, dlen;
	unsigned n, dn;
	char *p;
	int ret;

	if (o == &j->op[0])
		j->sfd = res >= 0 ? res : -1;
	else
		j->dfd = res >= 0 ? res : -1;
	if (res < 0 && !j->err)
		j->err = res, j->step = o == &j->op[0] ? 1 : 2;
	if (--j->pending)
		return;
	if (j->err) {
		ret = j->err;
		j->err = 0;
		dirlist_fail(j, j->step == 1 ? "src" : "dst", "open directory", ret);
		return;
	}
	d->sfd = j->sfd;
	d->dfd = j->dfd;
	ret = list_names(j->sfd, &d->names, &len, &types, &n);
	if (ret < 0) {
		dirlist_fail(j, "src", "list directory", ret);
		return;
	}
	d->ents = calloc(n ? n : 1, sizeof(*d->ents));
	if (!d->ents) {
		free(types);
		dirlist_fail(j, "src", "list directory", -ENOMEM);
		return;
	}
	p = d->names;
	for (unsigned i = 0; i < n; i++, p += strlen(p) + 1) {
		d->ents[i].name = p;
		d->ents[i].d_type = types[i];
	}
	free(types);
	d->nents = n;
	if (!d->dst_new) {
		ret = list_names(j->dfd, &d->dnames, &dlen, NULL, &dn);
		if (ret < 0) {
			dirlist_fail(j, "dst", "list directory", ret);
			return;
		}
		if (dn && nameset_build(&d->dst, d->dnames, dlen, dn) < 0) {
			dirlist_fail(j, "dst", "list directory", -ENOMEM);
			return;
		}
		for (unsigned i = 0; i < n; i++)
			d->ents[i].in_dst = nameset_has(&d->dst, d->ents[i].name);
		remove_leftovers(j, d, d->dnames, dlen);
		d->dst_default_acl = fgetxattr(j->dfd, "system.posix_acl_default", NULL, 0) > 0;
	}
	/* The lister's reference, and one per entry. */
	atomic_store(&d->refs, n + 1);
	pthread_mutex_lock(&us_c->lock);
	if (n) {
		/* Pushed in front: the newest directory's entries are claimed first (depth first). */
		d->qnext = us_c->pub;
		us_c->pub = d;
		us_c->unclaimed += n;
		atomic_fetch_add(&us_c->work, n);
	}
	us_c->listing--;
	pthread_cond_broadcast(&us_c->cond);
	pthread_mutex_unlock(&us_c->lock);
	j->sfd = j->dfd = -1;
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
		us_fail(c->src_arg, d->rel, NULL, "list directory", -ENOMEM);
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
	dirlist_start(j);
}

/* Everything is freed at the end, so that leak checkers see a clean exit. */
void us_dirs_free(void)
{
	struct us_ctx *c = us_c;

	for (size_t i = 0; i < c->ndirs; i++) {
		dir_free_listing(c->dirs[i]);
		free(c->dirs[i]->rel);
		free(c->dirs[i]);
	}
	free(c->dirs);
	c->dirs = NULL;
	c->ndirs = 0;
}

/* --- phase C: directory metadata ------------------------------------------------------ */

static void dmeta_opened(struct us_opc *o, int res);
static void dmeta_stated(struct us_opc *o, int res);
static void dmeta_done(struct us_job *j);
static void dmeta_finish(struct us_job *j);


static void dmeta_start(struct us_job *j)
{
	const char *rel = j->dir->rel[0] ? j->dir->rel : ".";

	if (us_stopped()) {
		dmeta_finish(j);
		return;
	}
	if (!us_fd_take(j, 2)) {
		us_fd_wait(j, dmeta_start);
		return;
	}
	j->pending = 2;
	j->op[0].fn = dmeta_opened;
	j->op[0].owner = j;
	j->op[1].fn = dmeta_opened;
	j->op[1].owner = j;
	us_op_opendir(j->w, &j->op[0], us_c->src_root, rel);
	us_op_opendir(j->w, &j->op[1], us_c->dst_root, rel);
}

static void dmeta_finish(struct us_job *j)
{
	if (j->sfd >= 0)
		us_close_async(j->w, j->sfd);
	if (j->dfd >= 0)
		us_close_async(j->w, j->dfd);
	j->sfd = j->dfd = -1;
	us_job_free(j);
}

static void dmeta_opened(struct us_opc *o, int res)
{
	struct us_job *j = o->owner;
	bool src = o == &j->op[0];

	if (res >= 0)
		*(src ? &j->sfd : &j->dfd) = res;
	else if (!j->err)
		us_job_fail(j, src ? "src" : "dst", "open directory", res);
	if (--j->pending)
		return;
	if (j->err) {
		dmeta_finish(j);
		return;
	}
	/*
	 * Both sides as they are now: listing the source changed its atime
	 * (relatime), and the destination's mtime moved with every entry made.
	 */
	j->pending = 2;
	j->op[0].fn = dmeta_stated;
	j->op[1].fn = dmeta_stated;
	us_op_statx(j->w, &j->op[0], j->sfd, "", AT_EMPTY_PATH);
	us_op_statx(j->w, &j->op[1], j->dfd, "", AT_EMPTY_PATH);
}

static void dmeta_stated(struct us_opc *o, int res)
{
	struct us_job *j = o->owner;
	bool src = o == &j->op[0];
	struct us_meta *m;

	if (res >= 0)
		*(src ? &j->st : &j->dst) = o->stx;
	else if (!j->err)
		us_job_fail(j, src ? "src" : "dst", "stat", res);
	if (--j->pending)
		return;
	if (j->err) {
		dmeta_finish(j);
		return;
	}
	m = us_meta_new(j);
	if (!m) {
		us_job_fail(j, "dst", "metadata", -ENOMEM);
		dmeta_finish(j);
		return;
	}
	m->src = (struct us_ref){ .fd = j->sfd, .dirfd = -1 };
	m->dst = (struct us_ref){ .fd = j->dfd, .dirfd = -1 };
	m->sst = &j->st;
	m->dst_st = j->dst;
	m->fresh = false;
	m->dry = us_c->o.dry_run;
	m->done = dmeta_done;
	us_meta_start(j, m);
}

static void dmeta_done(struct us_job *j)
{
	if (j->meta->changed && !j->dir->dst_new) {
		us_item("meta", j->dir->rel, NULL, "/");
		atomic_fetch_add(&us_c->s.updated, 1);
	}
	dmeta_finish(j);
}

void us_dmeta_start(struct us_worker *w, struct us_dir *d)
{
	struct us_job *j;

	if (atomic_load(&d->failed) || (us_c->o.dry_run && d->dst_new))
		return;
	j = us_job_new(w, US_J_DIRMETA, dmeta_finish);
	if (!j) {
		us_fail(us_c->dst_arg, d->rel, NULL, "metadata", -ENOMEM);
		atomic_fetch_add(&us_c->s.errors, 1);
		return;
	}
	j->dir = d;
	j->rel_dir = d->rel;
	dmeta_start(j);
}

