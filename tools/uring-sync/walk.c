/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
/*
 * The workers: one thread and one ring each, running the three phases.
 *
 * Phase A.  A directory is listed by one worker (openat2 of both sides on
 * the ring, getdents64 as a syscall: io_uring has no op for it) and then
 * published; any worker claims its entries in batches, stats them on its
 * ring and copies them, each entry a small state machine driven by
 * completion callbacks, up to max_jobs per worker at once.
 *
 * Budgets, so that neither EMFILE nor memory can stall or crash a run:
 * open directories hold two fds each from a fixed set of directory slots;
 * files take two fds from their worker's share of --max-open, and wait on
 * the worker's list when it is used up (the fds come back as that
 * worker's own files complete, so the wait always ends); data buffers
 * come from the worker's share of --max-memory (mem.c).
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "us.h"

/* --- small helpers ------------------------------------------------------------------ */

void us_wake(void)
{
	pthread_mutex_lock(&us_c->lock);
	pthread_cond_broadcast(&us_c->cond);
	pthread_mutex_unlock(&us_c->lock);
}

void us_tmpname(char *buf)
{
	unsigned long long seq = atomic_fetch_add(&us_c->tmp_seq, 1);

	snprintf(buf, US_TMP_LEN + 1, US_TMP_PREFIX "%08x%08llx", (unsigned)getpid(), seq & 0xffffffffULL);
}

bool us_is_tmpname(const char *name)
{
	if (strncmp(name, US_TMP_PREFIX, sizeof(US_TMP_PREFIX) - 1) || strlen(name) != US_TMP_LEN)
		return false;
	for (const char *p = name + sizeof(US_TMP_PREFIX) - 1; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

const char *us_job_rel(struct us_job *j)
{
	if (!j->rel) {
		if (j->kind == US_J_ENTRY)
			j->rel = us_relpath(j->dir->rel, j->ent->name);
		else if (j->kind == US_J_LINK)
			j->rel = strdup(j->lr->rel);
		else
			j->rel = strdup(j->dir->rel);
	}
	return j->rel ? j->rel : "?";
}

/*
 * Report a failure of this entry (path and reason) and remember it.
 * Running out of space stops the whole copy, reported once; what fails
 * after a stop is a consequence and is not reported.
 */
void us_job_fail(struct us_job *j, const char *side, const char *what, int err)
{
	if (!j->err)
		j->err = err;
	if (err == -ENOSPC || err == -EDQUOT) {
		us_set_stop(US_STOP_NOSPC);
		return;
	}
	if (us_stopped() && (err == -ECANCELED || err == -EINTR))
		return;
	atomic_fetch_add(&us_c->s.errors, 1);
	us_fail(strcmp(side, "src") ? us_c->dst_arg : us_c->src_arg, us_job_rel(j), NULL, what, err);
}

bool us_fd_take(struct us_job *j, unsigned n)
{
	int have = atomic_load(&j->owner->fds);

	while (have >= (int)n)
		if (atomic_compare_exchange_weak(&j->owner->fds, &have, have - (int)n)) {
			j->fds_held += n;
			return true;
		}
	return false;
}

void us_fd_give(struct us_job *j)
{
	if (!j->fds_held)
		return;
	atomic_fetch_add(&j->owner->fds, (int)j->fds_held);
	j->fds_held = 0;
	if (j->w != j->owner)
		us_wake();
}

/* Wait for fd budget: the job resumes where it stopped (resume_fd_waiters). */
void us_fd_wait(struct us_job *j)
{
	struct us_worker *w = j->owner;

	j->next = NULL;
	if (w->fdwait_tail)
		w->fdwait_tail->next = j;
	else
		w->fdwait = j;
	w->fdwait_tail = j;
}

static struct us_job *job_new(struct us_worker *w, enum us_kind kind)
{
	struct us_job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->kind = kind;
	j->w = w;
	j->owner = w;
	j->sfd = j->dfd = -1;
	atomic_fetch_add(&w->njobs, 1);
	return j;
}

void us_job_free(struct us_job *j)
{
	struct us_worker *o = j->owner;

	us_fd_give(j);
	free(j->rel);
	free(j->target);
	free(j->meta);
	free(j->ranges);
	free(j->writers);
	atomic_fetch_sub(&o->njobs, 1);
	if (j->w != o)
		us_wake();
	free(j);
}

static void work_done(long n)
{
	if (atomic_fetch_sub(&us_c->work, n) == n)
		us_wake();
}

/* --- directories ---------------------------------------------------------------------- */

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
static void dir_put(struct us_worker *w, struct us_dir *d)
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

/*
 * Before the first entry is created in a directory that existed before
 * this run: a default ACL there would be inherited by every new entry
 * (phase C puts the source's back), and without root a read-only
 * directory from an earlier run must be writable for now (phase C
 * restores its mode too).
 */
void us_dir_prepare(struct us_job *j)
{
	struct us_dir *d = j->dir;

	if (d->dst_new || atomic_load(&d->prepared))
		return;
	pthread_mutex_lock(&us_c->lock);
	if (!atomic_load(&d->prepared)) {
		if (d->dst_default_acl && fremovexattr(d->dfd, "system.posix_acl_default") < 0 &&
		    errno != ENODATA)
			dir_fail_msg(d, NULL, "remove default ACL for now", -errno);
		/* Root writes anywhere; others need write and search permission here. */
		if (!us_c->root && (d->dst_mode & 0300) != 0300 && fchmod(d->dfd, (d->dst_mode & 07777) | 0700) < 0)
			dir_fail_msg(d, NULL, "make writable for now", -errno);
		atomic_store(&d->prepared, true);
	}
	pthread_mutex_unlock(&us_c->lock);
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
	work_done(1);
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
	dir_put(j->w, d);
	work_done(1);
	us_job_free(j);
}

/* --- entries ---------------------------------------------------------------------------- */

static void entry_stated(struct us_opc *o, int res);
static void entry_dispatch(struct us_job *j);
static char *read_link(int dirfd, const char *name, size_t hint, int *err);

static void entry_start(struct us_worker *w, struct us_dir *d, const struct us_ent *e)
{
	struct us_job *j = job_new(w, US_J_ENTRY);

	if (!j) {
		us_fail(us_c->src_arg, d->rel, e->name, "start", -ENOMEM);
		atomic_fetch_add(&us_c->s.errors, 1);
		dir_put(w, d);
		work_done(1);
		return;
	}
	j->dir = d;
	j->ent = e;
	/*
	 * A symlink is read before it is stat'ed: readlink may update its
	 * atime (relatime), and the copy gets the atime the source has after.
	 */
	if (e->d_type == DT_LNK) {
		int err = 0;

		j->target = read_link(d->sfd, e->name, 256, &err);
	}
	j->pending = 1;
	j->op[0].fn = entry_stated;
	j->op[0].owner = j;
	j->op[1].fn = entry_stated;
	j->op[1].owner = j;
	if (e->in_dst) {
		j->pending = 2;
		us_op_statx(w, &j->op[1], d->dfd, e->name, AT_SYMLINK_NOFOLLOW);
	}
	us_op_statx(w, &j->op[0], d->sfd, e->name, AT_SYMLINK_NOFOLLOW);
}

void us_entry_finish(struct us_job *j)
{
	struct us_worker *w = j->w;
	struct us_dir *d = j->dir;

	if (j->leader)
		atomic_store(&j->leader->state, j->placed || us_c->o.dry_run ? 1 : -1);
	if (!S_ISDIR(j->st.stx_mode))
		atomic_fetch_add(&us_c->s.entries_done, 1);
	if (j->sfd >= 0)
		us_close_async(w, j->sfd);
	if (j->dfd >= 0)
		us_close_async(w, j->dfd);
	j->sfd = j->dfd = -1;
	dir_put(w, d);
	us_job_free(j);
	work_done(1);
}

/* A temporary name made for this entry is removed when the entry fails. */
static void entry_abort_done(struct us_opc *o, int res)
{
	(void)res;
	us_entry_finish(o->owner);
}

void us_entry_abort(struct us_job *j)
{
	if (j->tmp_named) {
		j->tmp_named = false;
		j->op[2].fn = entry_abort_done;
		j->op[2].owner = j;
		us_op_unlinkat(j->w, &j->op[2], j->dir->dfd, j->tmpname, 0);
		return;
	}
	us_entry_finish(j);
}

static void entry_stated(struct us_opc *o, int res)
{
	struct us_job *j = o->owner;

	if (o == &j->op[0]) {
		if (res < 0)
			j->step = res;
		else
			j->st = o->stx;
	} else if (res >= 0) {
		j->dst = o->stx;
		j->dst_exists = true;
	} else if (res != -ENOENT) {
		us_job_fail(j, "dst", "stat", res);
	}
	if (--j->pending)
		return;
	if (j->step < 0) {
		us_job_fail(j, "src", j->step == -ENOENT ? "vanished before it was copied" : "stat", j->step);
		us_entry_finish(j);
		return;
	}
	if (j->err) {
		us_entry_finish(j);
		return;
	}
	j->step = 0;
	entry_dispatch(j);
}

/* The first name of a multiply-linked inode is copied; the others wait for phase B. */
static bool hardlink_follower(struct us_job *j)
{
	struct us_ctx *c = us_c;
	uint64_t dev = makedev(j->st.stx_dev_major, j->st.stx_dev_minor), ino = j->st.stx_ino;
	struct us_hlink *h;
	size_t i;
	bool follower = false;

	pthread_mutex_lock(&c->lock);
	if (!c->hl || c->hl_count * 2 >= c->hl_mask + 1) {
		size_t n = c->hl_mask ? (c->hl_mask + 1) * 4 : 1024;
		struct us_hlink **t = calloc(n, sizeof(*t));

		if (t) {
			for (size_t k = 0; k <= c->hl_mask && c->hl; k++)
				for (h = c->hl[k]; h;) {
					struct us_hlink *nx = h->next;
					size_t b = (h->ino * 0x9e3779b97f4a7c15ULL ^ h->dev) & (n - 1);

					h->next = t[b];
					t[b] = h;
					h = nx;
				}
			free(c->hl);
			c->hl = t;
			c->hl_mask = n - 1;
		}
	}
	if (!c->hl)
		goto out;
	i = (ino * 0x9e3779b97f4a7c15ULL ^ dev) & c->hl_mask;
	for (h = c->hl[i]; h; h = h->next)
		if (h->dev == dev && h->ino == ino)
			break;
	if (h) {
		if (c->nlinks == c->caplinks) {
			size_t n = c->caplinks ? c->caplinks * 2 : 256;
			struct us_linkreq *nl = realloc(c->links, n * sizeof(*nl));

			if (!nl)
				goto out;
			c->links = nl;
			c->caplinks = n;
		}
		c->links[c->nlinks].leader = h;
		c->links[c->nlinks].rel = strdup(us_job_rel(j));
		if (c->links[c->nlinks].rel) {
			c->nlinks++;
			follower = true;
		}
		goto out;
	}
	h = calloc(1, sizeof(*h));
	if (h && !(h->rel = strdup(us_job_rel(j)))) {
		free(h);
		h = NULL;
	}
	if (h) {
		h->dev = dev;
		h->ino = ino;
		h->next = c->hl[i];
		c->hl[i] = h;
		c->hl_count++;
		j->leader = h;
	}
out:
	pthread_mutex_unlock(&c->lock);
	return follower;
}

/* Where a new entry's owner comes from: us, and the directory's group if it is setgid. */
void us_fresh_stat(struct us_job *j, struct statx *d, mode_t mode)
{
	memset(d, 0, sizeof(*d));
	d->stx_uid = us_c->euid;
	d->stx_gid = j->dir->dst_setgid ? j->dir->dst_gid : us_c->egid;
	d->stx_mode = (uint16_t)mode;
}

/* --- entries: directories ---------------------------------------------------------------- */

static void subdir_made(struct us_opc *o, int res);

static void subdir_push(struct us_job *j, bool created)
{
	struct us_dir *d = j->dir, *sd = us_dir_new(d, j->ent->name);
	bool mountpoint = us_c->o.one_fs &&
			  makedev(j->st.stx_dev_major, j->st.stx_dev_minor) != us_c->src_dev;

	if (!sd) {
		us_job_fail(j, "src", "queue directory", -ENOMEM);
		us_entry_finish(j);
		return;
	}
	sd->dst_new = created;
	if (created) {
		sd->dst_setgid = d->dst_setgid;
		sd->dst_gid = d->dst_setgid ? d->dst_gid : us_c->egid;
	} else {
		sd->dst_setgid = j->dst.stx_mode & S_ISGID;
		sd->dst_gid = j->dst.stx_gid;
		sd->dst_mode = j->dst.stx_mode;
	}
	if (created)
		us_item("mkdir", d->rel, j->ent->name, "/");
	/* With --one-file-system, a mount point is made, empty (as rsync -x does). */
	if (us_dir_add(sd, !mountpoint) < 0) {
		us_job_fail(j, "src", "queue directory", -ENOMEM);
		free(sd->rel);
		free(sd);
	}
	us_entry_finish(j);
}

static void subdir_mkdir(struct us_job *j)
{
	us_dir_prepare(j);
	j->op[0].fn = subdir_made;
	j->op[0].owner = j;
	us_op_mkdirat(j->w, &j->op[0], j->dir->dfd, j->ent->name, 0700);
}

static void subdir_cleared(struct us_opc *o, int res)
{
	struct us_job *j = o->owner;

	if (res < 0) {
		us_job_fail(j, "dst", "remove the non-directory in the way", res);
		us_entry_finish(j);
		return;
	}
	subdir_mkdir(j);
}

static void subdir_made(struct us_opc *o, int res)
{
	struct us_job *j = o->owner;

	if (res < 0) {
		us_job_fail(j, "dst", "make directory", res);
		us_entry_finish(j);
		return;
	}
	subdir_push(j, true);
}

static void entry_dir(struct us_job *j)
{
	if (makedev(j->st.stx_dev_major, j->st.stx_dev_minor) == us_c->dst_dev && j->st.stx_ino == us_c->dst_ino) {
		/* The destination seen from inside the source (through a bind mount). */
		us_job_fail(j, "src", "is the destination directory; not copied into itself", 0);
		us_entry_finish(j);
		return;
	}
	if (j->dst_exists && S_ISDIR(j->dst.stx_mode)) {
		subdir_push(j, false);
		return;
	}
	if (us_c->o.dry_run) {
		subdir_push(j, true);
		return;
	}
	if (j->dst_exists) {
		us_dir_prepare(j);
		j->op[0].fn = subdir_cleared;
		j->op[0].owner = j;
		us_op_unlinkat(j->w, &j->op[0], j->dir->dfd, j->ent->name, 0);
		return;
	}
	subdir_mkdir(j);
}

/* --- entries: symlinks and special files ------------------------------------------------------ */

static void other_made(struct us_opc *o, int res);
static void other_meta_done(struct us_job *j);
static void other_placed(struct us_opc *o, int res);
static void inplace_meta_done(struct us_job *j);

struct us_meta *us_meta_new(struct us_job *j)
{
	if (!j->meta)
		j->meta = calloc(1, sizeof(*j->meta));
	return j->meta;
}

/* The destination entry is right but for metadata: fix it where it is. */
void us_inplace_meta(struct us_job *j)
{
	struct us_meta *m = us_meta_new(j);
	bool lnk = S_ISLNK(j->st.stx_mode);

	if (!m) {
		us_job_fail(j, "dst", "metadata", -ENOMEM);
		us_entry_finish(j);
		return;
	}
	m->src = (struct us_ref){ .fd = -1, .dirfd = j->dir->sfd, .name = j->ent->name, .symlink = lnk };
	m->dst = (struct us_ref){ .fd = -1, .dirfd = j->dir->dfd, .name = j->ent->name, .symlink = lnk };
	m->sst = &j->st;
	m->dst_st = j->dst;
	m->fresh = false;
	m->dry = us_c->o.dry_run;
	m->done = inplace_meta_done;
	j->placed = true;
	us_meta_start(j, m);
}

static void inplace_meta_done(struct us_job *j)
{
	if (j->meta->changed) {
		us_item("meta", j->dir->rel, j->ent->name, NULL);
		atomic_fetch_add(&us_c->s.updated, 1);
	}
	us_entry_finish(j);
}

static char *read_link(int dirfd, const char *name, size_t hint, int *err)
{
	size_t cap = hint + 2 > 256 ? hint + 2 : 256;

	for (;;) {
		char *buf = malloc(cap);
		ssize_t n;

		if (!buf) {
			*err = -ENOMEM;
			return NULL;
		}
		n = readlinkat(dirfd, name, buf, cap);
		if (n < 0) {
			*err = -errno;
			free(buf);
			return NULL;
		}
		if ((size_t)n < cap) {
			buf[n] = 0;
			return buf;
		}
		free(buf);
		cap *= 2;
	}
}

static void other_create(struct us_job *j);

static void other_cleared(struct us_opc *o, int res)
{
	struct us_job *j = o->owner;

	if (res < 0) {
		us_job_fail(j, "dst", res == -ENOTEMPTY ? "a non-empty directory is in the way" :
			    "remove the directory in the way", res);
		us_entry_finish(j);
		return;
	}
	j->dst_exists = false;
	if (S_ISREG(j->st.stx_mode))
		us_file_start(j);
	else
		other_create(j);
}

static void relink_stated(struct us_opc *o, int res);

static void entry_other(struct us_job *j)
{
	mode_t t = j->st.stx_mode & S_IFMT;
	int err = 0;

	if (t != S_IFLNK && j->target) {
		free(j->target);
		j->target = NULL;
	}
	if (t == S_IFLNK && !j->target) {
		/* The listing did not say it was a link: read it, then stat it again. */
		j->target = read_link(j->dir->sfd, j->ent->name, j->st.stx_size, &err);
		if (!j->target) {
			us_job_fail(j, "src", "read symlink", err);
			us_entry_finish(j);
			return;
		}
		j->op[0].fn = relink_stated;
		j->op[0].owner = j;
		us_op_statx(j->w, &j->op[0], j->dir->sfd, j->ent->name, AT_SYMLINK_NOFOLLOW);
		return;
	}
	if (t == S_IFLNK && strlen(j->target) != j->st.stx_size && !j->step) {
		/* Changed between the read and the stat: read it again, once. */
		free(j->target);
		j->target = NULL;
		j->step = 1;
		entry_other(j);
		return;
	}
	if (j->dst_exists && (j->dst.stx_mode & S_IFMT) == t) {
		bool same;

		if (t == S_IFLNK) {
			/* Read only when the lengths agree: reading moves the link's atime. */
			char *have = j->dst.stx_size != strlen(j->target) ? NULL :
				     read_link(j->dir->dfd, j->ent->name, j->dst.stx_size, &err);

			same = have && !strcmp(have, j->target);
			free(have);
		} else if (t == S_IFCHR || t == S_IFBLK) {
			same = j->st.stx_rdev_major == j->dst.stx_rdev_major &&
			       j->st.stx_rdev_minor == j->dst.stx_rdev_minor;
		} else {
			same = true;
		}
		if (same) {
			us_inplace_meta(j);
			return;
		}
	}
	if (us_c->o.dry_run) {
		us_item(t == S_IFLNK ? "symlink" : "special", j->dir->rel, j->ent->name, j->target);
		us_entry_finish(j);
		return;
	}
	us_dir_prepare(j);
	if (j->dst_exists && S_ISDIR(j->dst.stx_mode)) {
		j->op[0].fn = other_cleared;
		j->op[0].owner = j;
		us_op_unlinkat(j->w, &j->op[0], j->dir->dfd, j->ent->name, AT_REMOVEDIR);
		return;
	}
	other_create(j);
}

static void relink_stated(struct us_opc *o, int res)
{
	struct us_job *j = o->owner;

	if (res < 0) {
		us_job_fail(j, "src", "stat", res);
		us_entry_finish(j);
		return;
	}
	if (!S_ISLNK(o->stx.stx_mode)) {
		us_job_fail(j, "src", "changed type while being copied", 0);
		us_entry_finish(j);
		return;
	}
	j->st = o->stx;
	j->step = 1;
	entry_other(j);
}

/* Made under a temporary name, given its metadata, then renamed into place. */
static void other_create(struct us_job *j)
{
	mode_t t = j->st.stx_mode & S_IFMT;

	us_tmpname(j->tmpname);
	j->op[0].fn = other_made;
	j->op[0].owner = j;
	if (t == S_IFLNK) {
		us_op_symlinkat(j->w, &j->op[0], j->target, j->dir->dfd, j->tmpname);
		return;
	}
	/* mknod has no io_uring op. */
	int ret = mknodat(j->dir->dfd, j->tmpname, t | (j->st.stx_mode & 0777),
			  makedev(j->st.stx_rdev_major, j->st.stx_rdev_minor));
	us_defer(j->w, &j->op[0], ret < 0 ? -errno : 0);
}

static void other_made(struct us_opc *o, int res)
{
	struct us_job *j = o->owner;
	struct us_meta *m;
	bool lnk = S_ISLNK(j->st.stx_mode);

	if (res < 0) {
		us_job_fail(j, "dst", lnk ? "make symlink" : "make special file", res);
		us_entry_finish(j);
		return;
	}
	j->tmp_named = true;
	if (us_stopped() || !(m = us_meta_new(j))) {
		if (!us_stopped())
			us_job_fail(j, "dst", "metadata", -ENOMEM);
		us_entry_abort(j);
		return;
	}
	m->src = (struct us_ref){ .fd = -1, .dirfd = j->dir->sfd, .name = j->ent->name, .symlink = lnk };
	m->dst = (struct us_ref){ .fd = -1, .dirfd = j->dir->dfd, .name = j->tmpname, .symlink = lnk };
	m->sst = &j->st;
	us_fresh_stat(j, &m->dst_st, lnk ? 0777 : (j->st.stx_mode & 0777));
	m->fresh = true;
	m->dry = false;
	m->done = other_meta_done;
	us_meta_start(j, m);
}

static void other_meta_done(struct us_job *j)
{
	if (us_stopped()) {
		us_entry_abort(j);
		return;
	}
	j->op[0].fn = other_placed;
	j->op[0].owner = j;
	us_op_renameat(j->w, &j->op[0], j->dir->dfd, j->tmpname, j->dir->dfd, j->ent->name);
}

static void other_placed(struct us_opc *o, int res)
{
	struct us_job *j = o->owner;

	if (res < 0) {
		us_job_fail(j, "dst", "rename into place", res);
		us_entry_abort(j);
		return;
	}
	j->tmp_named = false;
	j->placed = true;
	atomic_fetch_add(&us_c->s.created, 1);
	us_item(S_ISLNK(j->st.stx_mode) ? "symlink" : "special", j->dir->rel, j->ent->name, j->target);
	us_entry_finish(j);
}

static void entry_dispatch(struct us_job *j)
{
	mode_t t = j->st.stx_mode & S_IFMT;

	if (us_stopped()) {
		us_entry_finish(j);
		return;
	}
	if (t != S_IFDIR)
		atomic_fetch_add(&us_c->s.entries, 1);
	if (t == S_IFDIR) {
		entry_dir(j);
		return;
	}
	if (j->st.stx_nlink > 1 && hardlink_follower(j)) {
		us_entry_finish(j);
		return;
	}
	if (t == S_IFREG) {
		if (j->dst_exists && S_ISDIR(j->dst.stx_mode) && !us_c->o.dry_run) {
			/* Only an empty directory is removed to make way. */
			us_dir_prepare(j);
			j->op[0].fn = other_cleared;
			j->op[0].owner = j;
			us_op_unlinkat(j->w, &j->op[0], j->dir->dfd, j->ent->name, AT_REMOVEDIR);
			return;
		}
		us_file_start(j);
		return;
	}
	entry_other(j);
}

/* --- phase B: hard links ------------------------------------------------------------------------ */

static void link_stated(struct us_opc *o, int res);
static void link_done(struct us_opc *o, int res);
static void link_renamed(struct us_opc *o, int res);

static void link_finish(struct us_job *j)
{
	us_job_free(j);
}

static void link_start(struct us_worker *w, struct us_linkreq *lr)
{
	struct us_job *j = job_new(w, US_J_LINK);

	if (!j) {
		us_fail(us_c->dst_arg, lr->rel, NULL, "link", -ENOMEM);
		atomic_fetch_add(&us_c->s.errors, 1);
		return;
	}
	j->lr = lr;
	if (us_c->dst_root < 0) {
		/* A dry run into a destination that does not exist yet. */
		us_item("link", lr->rel, NULL, lr->leader->rel);
		link_finish(j);
		return;
	}
	if (atomic_load(&lr->leader->state) != 1) {
		char what[4200];

		snprintf(what, sizeof(what), "not linked: its first name %s was not copied", lr->leader->rel);
		us_job_fail(j, "dst", what, 0);
		link_finish(j);
		return;
	}
	j->pending = 2;
	j->op[0].fn = link_stated;
	j->op[0].owner = j;
	j->op[1].fn = link_stated;
	j->op[1].owner = j;
	us_op_statx(w, &j->op[0], us_c->dst_root, lr->rel, AT_SYMLINK_NOFOLLOW);
	us_op_statx(w, &j->op[1], us_c->dst_root, lr->leader->rel, AT_SYMLINK_NOFOLLOW);
}

static void link_stated(struct us_opc *o, int res)
{
	struct us_job *j = o->owner;

	if (o == &j->op[0]) {
		j->dst_exists = res >= 0;
		if (res >= 0)
			j->dst = o->stx;
		else if (res != -ENOENT)
			j->err = res;
	} else {
		if (res >= 0)
			j->st = o->stx;
		else
			j->step = res;
	}
	if (--j->pending)
		return;
	if (j->err) {
		int err = j->err;

		j->err = 0;
		us_job_fail(j, "dst", "stat", err);
		link_finish(j);
		return;
	}
	if (j->step < 0) {
		/* In a dry run the first name may not exist yet: it would be copied. */
		if (!us_c->o.dry_run) {
			us_job_fail(j, "dst", "stat the first name", j->step);
			link_finish(j);
			return;
		}
	} else if (j->dst_exists && j->dst.stx_ino == j->st.stx_ino &&
		   j->dst.stx_dev_major == j->st.stx_dev_major && j->dst.stx_dev_minor == j->st.stx_dev_minor) {
		link_finish(j);
		return;
	}
	if (us_c->o.dry_run) {
		us_item("link", j->lr->rel, NULL, j->lr->leader->rel);
		link_finish(j);
		return;
	}
	if (j->dst_exists && S_ISDIR(j->dst.stx_mode)) {
		us_job_fail(j, "dst", "a directory is in the way of the link", -EISDIR);
		link_finish(j);
		return;
	}
	j->op[0].fn = link_done;
	if (!j->dst_exists) {
		us_op_linkat(j->w, &j->op[0], us_c->dst_root, j->lr->leader->rel, us_c->dst_root, j->lr->rel, 0);
		return;
	}
	/* Replace the existing entry: link under a temporary name in its directory, then rename. */
	const char *slash = strrchr(j->lr->rel, '/');
	size_t dl = slash ? (size_t)(slash - j->lr->rel) + 1 : 0;

	free(j->target);
	j->target = malloc(dl + US_TMP_LEN + 1);
	if (!j->target) {
		us_job_fail(j, "dst", "link", -ENOMEM);
		link_finish(j);
		return;
	}
	memcpy(j->target, j->lr->rel, dl);
	us_tmpname(j->target + dl);
	j->tmp_named = true;
	us_op_linkat(j->w, &j->op[0], us_c->dst_root, j->lr->leader->rel, us_c->dst_root, j->target, 0);
}

static void link_done(struct us_opc *o, int res)
{
	struct us_job *j = o->owner;

	if (res == -EEXIST && !j->tmp_named) {
		/* Made since we looked: replace it. */
		j->dst_exists = true;
		j->op[0].dres = 0;
		j->pending = 1;
		j->dst.stx_mode = S_IFREG;
		j->dst.stx_ino = 0;
		link_stated(&j->op[1], 0);
		return;
	}
	if (res < 0) {
		us_job_fail(j, "dst", "link", res);
		link_finish(j);
		return;
	}
	if (j->tmp_named) {
		j->op[0].fn = link_renamed;
		us_op_renameat(j->w, &j->op[0], us_c->dst_root, j->target, us_c->dst_root, j->lr->rel);
		return;
	}
	atomic_fetch_add(&us_c->s.linked, 1);
	us_item("link", j->lr->rel, NULL, j->lr->leader->rel);
	link_finish(j);
}

static void link_renamed(struct us_opc *o, int res)
{
	struct us_job *j = o->owner;

	if (res < 0) {
		us_job_fail(j, "dst", "rename link into place", res);
		unlinkat(us_c->dst_root, j->target, 0);
	} else {
		atomic_fetch_add(&us_c->s.linked, 1);
		us_item("link", j->lr->rel, NULL, j->lr->leader->rel);
	}
	link_finish(j);
}

/* --- phase C: directory metadata ------------------------------------------------------------------- */

static void dmeta_opened(struct us_opc *o, int res);
static void dmeta_stated(struct us_opc *o, int res);
static void dmeta_done(struct us_job *j);


static void dmeta_start(struct us_job *j)
{
	const char *rel = j->dir->rel[0] ? j->dir->rel : ".";

	if (!us_fd_take(j, 2)) {
		us_fd_wait(j);
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

static void dmeta_begin(struct us_worker *w, struct us_dir *d)
{
	struct us_job *j;

	if (atomic_load(&d->failed) || (us_c->o.dry_run && d->dst_new))
		return;
	j = job_new(w, US_J_DIRMETA);
	if (!j) {
		us_fail(us_c->dst_arg, d->rel, NULL, "metadata", -ENOMEM);
		atomic_fetch_add(&us_c->s.errors, 1);
		return;
	}
	j->dir = d;
	dmeta_start(j);
}

/* --- the worker loop ----------------------------------------------------------------------------------- */

/* Resume jobs that wait for fd budget, as far as it goes. */
static void resume_fd_waiters(struct us_worker *w)
{
	while (w->fdwait && (atomic_load(&w->fds) >= 2 || us_stopped())) {
		struct us_job *j = w->fdwait;

		w->fdwait = j->next;
		if (!w->fdwait)
			w->fdwait_tail = NULL;
		j->next = NULL;
		w->did_work = true;
		if (j->kind == US_J_DIRMETA) {
			if (us_stopped())
				dmeta_finish(j);
			else
				dmeta_start(j);
		} else {
			us_file_start(j);
		}
	}
}

/* Claim a batch of unclaimed entries of a published directory; false when there are none. */
static bool claim_entries(struct us_worker *w)
{
	struct us_ctx *c = us_c;
	unsigned room = w->max_jobs - atomic_load(&w->njobs), from, k;
	struct us_dir *d;

	if ((int)room <= 0)
		return false;
	if (room > 16)
		room = 16;
	pthread_mutex_lock(&c->lock);
	while ((d = c->pub) && d->claimed == d->nents)
		c->pub = d->qnext;
	if (!d) {
		pthread_mutex_unlock(&c->lock);
		return false;
	}
	from = d->claimed;
	k = d->nents - from < room ? d->nents - from : room;
	d->claimed += k;
	c->unclaimed -= k;
	if (d->claimed == d->nents)
		c->pub = d->qnext;
	pthread_mutex_unlock(&c->lock);
	/* The claimed entries hold their references: d and its listing stay. */
	for (unsigned i = 0; i < k; i++)
		entry_start(w, d, &d->ents[from + i]);
	w->did_work = true;
	return true;
}

/* List the next queued directory, if a directory slot is free and the entries listed so far are few. */
static bool claim_dir(struct us_worker *w)
{
	struct us_ctx *c = us_c;
	struct us_dir *d;
	struct us_job *j;

	if (atomic_load(&w->njobs) >= w->max_jobs)
		return false;
	pthread_mutex_lock(&c->lock);
	d = c->dirq;
	if (!d || c->dirs_open >= c->dirs_open_max || c->unclaimed > 4096) {
		pthread_mutex_unlock(&c->lock);
		return false;
	}
	c->dirq = d->qnext;
	c->dirs_open++;
	c->listing++;
	pthread_mutex_unlock(&c->lock);
	w->did_work = true;
	j = job_new(w, US_J_DIRLIST);
	if (!j) {
		atomic_store(&d->failed, true);
		us_fail(c->src_arg, d->rel, NULL, "list directory", -ENOMEM);
		atomic_fetch_add(&c->s.errors, 1);
		pthread_mutex_lock(&c->lock);
		c->dirs_open--;
		c->listing--;
		pthread_mutex_unlock(&c->lock);
		work_done(1);
		return true;
	}
	j->dir = d;
	dirlist_start(j);
	return true;
}

static bool take_ranges(struct us_worker *w)
{
	bool any = false;

	/* After a stop every queued range is taken, to be counted out of its file. */
	while ((us_stopped() || (w->nactive < 2 && us_mem_room(w, US_CHUNK))) && us_take_shared_range(w))
		any = true;
	return any;
}

/* Is there anything this worker could start now?  Under the lock. */
static bool claimable(struct us_worker *w)
{
	struct us_ctx *c = us_c;

	return (c->pub && atomic_load(&w->njobs) < w->max_jobs) || c->rangeq ||
	       (c->dirq && c->dirs_open < c->dirs_open_max && c->unclaimed <= 4096) ||
	       (w->fdwait && atomic_load(&w->fds) >= 2);
}

static int run_ring(struct us_worker *w)
{
	int ret = sr_ring_run_once(w->ring, -1);

	if (ret < 0 && ret != -EINTR) {
		us_msg("worker %u: %s", w->id, sr_last_error());
		us_set_stop(US_STOP_FATAL);
		return ret;
	}
	return 0;
}

static void phase_a(struct us_worker *w)
{
	struct us_ctx *c = us_c;

	for (;;) {
		bool done;

		w->did_work = false;
		us_run_deferred(w);
		resume_fd_waiters(w);
		us_range_pump(w);
		if (take_ranges(w))
			us_range_pump(w);
		if (!us_stopped()) {
			while (claim_entries(w))
				;
			while (claim_dir(w))
				;
		}
		if (w->dhead || w->did_work)
			continue;
		if (w->ops) {
			if (run_ring(w) < 0)
				return;
			continue;
		}
		/* Nothing of ours in flight on this ring. */
		pthread_mutex_lock(&c->lock);
		if (us_stopped())
			done = !w->nactive && !w->fdwait && !c->rangeq;
		else
			done = atomic_load(&c->work) == 0;
		if (!done && !claimable(w)) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 20 * 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&c->cond, &c->lock, &ts);
		}
		pthread_mutex_unlock(&c->lock);
		if (done)
			return;
	}
}

static void link_item(struct us_worker *w, size_t i)
{
	link_start(w, &us_c->links[i]);
}

static void dmeta_item(struct us_worker *w, size_t i)
{
	dmeta_begin(w, us_c->dirs[i]);
}

/* Phases B and C: items of an array, claimed one by one, up to max_jobs at once. */
static void phase_items(struct us_worker *w, size_t n, void (*start)(struct us_worker *w, size_t i))
{
	bool exhausted = false;

	for (;;) {
		us_run_deferred(w);
		resume_fd_waiters(w);
		while (!exhausted && !us_stopped() && atomic_load(&w->njobs) < w->max_jobs) {
			size_t i = atomic_fetch_add(&us_c->claim, 1);

			if (i >= n) {
				exhausted = true;
				break;
			}
			start(w, i);
		}
		if (w->dhead)
			continue;
		if (w->ops) {
			if (run_ring(w) < 0)
				return;
			continue;
		}
		if ((exhausted || us_stopped()) && !atomic_load(&w->njobs) && !w->fdwait)
			return;
	}
}

static void barrier(bool reset_claim)
{
	if (pthread_barrier_wait(&us_c->barrier) == PTHREAD_BARRIER_SERIAL_THREAD && reset_claim)
		atomic_store(&us_c->claim, 0);
	pthread_barrier_wait(&us_c->barrier);
}

void *us_worker_main(void *arg)
{
	struct us_worker *w = arg;
	struct us_ctx *c = w->c;
	struct sr_ring_params p = { .entries = 256 };
	int ret = sr_ring_create(&w->ring, &p);

	if (ret < 0) {
		us_msg("worker %u: %s", w->id, sr_last_error());
		us_set_stop(US_STOP_FATAL);
		w->ring = NULL;
	} else {
		us_worker_probe(w);
		phase_a(w);
	}
	barrier(true);
	if (w->ring && !us_stopped()) {
		atomic_store(&c->phase, 1);
		phase_items(w, c->nlinks, link_item);
	}
	barrier(true);
	if (w->ring && !us_stopped()) {
		atomic_store(&c->phase, 2);
		phase_items(w, c->ndirs, dmeta_item);
	}
	/* What is still in flight (closes) completes before the ring goes. */
	while (w->ring && (w->ops || w->dhead)) {
		us_run_deferred(w);
		if (w->ops && run_ring(w) < 0)
			break;
	}
	if (w->ring)
		sr_ring_destroy(w->ring);
	us_mem_destroy(w);
	if (atomic_fetch_sub(&c->running, 1) == 1)
		pthread_kill(c->main_thread, SIGUSR1);
	return NULL;
}
