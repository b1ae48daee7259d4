/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
/*
 * --link-dest DIR (linkdest.h): a file about to be copied is looked up
 * at the same path below each DIR in turn; the first that is unchanged
 * (a regular file of the same size and modification time whose kept
 * metadata, as meta.c compares it in a dry run, is the source's) is hard
 * linked in its place instead, as rsync does.  No match: nomatch goes on
 * with the copy.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linkdest.h"
#include "meta.h"
#include "place.h"

static void probe(struct us_job *j);

static void placed(struct us_job *j)
{
	char *from = us_relpath(us_c->o.link_dest[j->ld_next], us_job_rel(j));

	j->placed = true;
	atomic_fetch_add(&us_c->s.linked, 1);
	us_count_made(j);
	us_item("link", j->dir->rel, j->ent->name, from ? from : "?");
	free(from);
	us_job_done(j);
}

static void compared(struct us_job *j)
{
	if (j->meta->changed || j->meta->err || us_stopped()) {
		j->ld_next++;
		probe(j);
		return;
	}
	if (us_c->o.dry_run) {
		placed(j);
		return;
	}
	us_dir_prepare(j);
	us_place_link_from(j, us_c->link_dest[j->ld_next], us_job_rel(j), placed);
}

static bool same_time(const struct statx_timestamp *a, const struct statx_timestamp *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

static void stated(struct us_opc *o, int res)
{
	struct us_job *j = o->owner;
	struct us_meta *m;

	if (res < 0 || !S_ISREG(o->stx.stx_mode) || o->stx.stx_size != j->st.stx_size ||
	    !same_time(&o->stx.stx_mtime, &j->st.stx_mtime) || !(m = us_meta_new(j))) {
		j->ld_next++;
		probe(j);
		return;
	}
	m->src = (struct us_ref){ .fd = -1, .dirfd = j->sdirfd, .name = j->sname };
	m->dst = (struct us_ref){ .fd = -1, .dirfd = us_c->link_dest[j->ld_next], .name = us_job_rel(j) };
	m->sst = &j->st;
	m->dst_st = o->stx;
	m->dry = true;
	m->done = compared;
	us_meta_start(j, m);
}

static void probe(struct us_job *j)
{
	while (j->ld_next < us_c->o.nlink_dest && us_c->link_dest[j->ld_next] < 0)
		j->ld_next++;
	if (j->ld_next >= us_c->o.nlink_dest || us_stopped()) {
		j->ld_nomatch(j);
		return;
	}
	j->op[0].fn = stated;
	j->op[0].owner = j;
	us_op_statx(j->w, &j->op[0], us_c->link_dest[j->ld_next], us_job_rel(j), AT_SYMLINK_NOFOLLOW);
}

void us_linkdest_try(struct us_job *j, us_job_fn nomatch)
{
	j->ld_next = 0;
	j->ld_nomatch = nomatch;
	probe(j);
}
