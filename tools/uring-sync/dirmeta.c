/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
/*
 * Phase C (dir.h): the metadata of every directory, from a fresh look at
 * both sides (listing the source moved its atime, and every entry made
 * moved the destination's mtime), once nothing will be created in it any
 * more.  The source is the directory's first; the destination root that
 * no SRC/ maps to keeps its own metadata (only a mode made writable for
 * the run is given back).
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "dir.h"
#include "meta.h"

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
	us_op_opendir(j->w, &j->op[0], j->src->root->fd, rel);
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
	m->created = j->dir->dst_new;
	m->old_mode = j->dir->made_writable ? j->dir->dst_mode : 0;
	m->dry = us_c->o.dry_run;
	m->done = dmeta_done;
	us_meta_start(j, m);
}

/*
 * Reported as changed: what differed before this run; not the mtime that
 * only moved because entries were made or replaced in the directory (a dry
 * run, which changes nothing, must count the same).
 */
static void dmeta_done(struct us_job *j)
{
	unsigned changed = j->meta->changed;
	const struct statx_timestamp *a = &j->st.stx_mtime, *b = &j->dir->dst_mtime;

	if ((changed & US_CH_TIMES) && a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec)
		changed &= ~US_CH_TIMES;
	if (changed && !j->dir->dst_new) {
		us_item("meta", j->dir->rel, NULL, "/");
		atomic_fetch_add(&us_c->s.updated, 1);
	}
	dmeta_finish(j);
}

void us_dmeta_start(struct us_worker *w, struct us_dir *d)
{
	struct us_job *j;
	unsigned i;

	if (atomic_load(&d->failed) || (us_c->o.dry_run && d->dst_new))
		return;
	for (i = 0; i < d->nsrc && d->srcs[i].only; i++)
		;
	if (i == d->nsrc || d->no_meta) {
		if (d->made_writable && !us_c->o.dry_run && fchmodat(us_c->dst_root, d->rel[0] ? d->rel : ".",
								     d->dst_mode & 07777, 0) < 0) {
			atomic_fetch_add(&us_c->s.errors, 1);
			us_fail(us_c->dst_prefix, d->rel, NULL, "give the mode back", -errno);
		}
		return;
	}
	j = us_job_new(w, US_J_DIRMETA, dmeta_finish);
	if (!j) {
		us_fail(us_c->dst_prefix, d->rel, NULL, "metadata", -ENOMEM);
		atomic_fetch_add(&us_c->s.errors, 1);
		return;
	}
	j->dir = d;
	j->rel_dir = d->rel;
	j->src = &d->srcs[i];
	dmeta_start(j);
}
