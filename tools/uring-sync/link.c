/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
/*
 * Hard links (link.h).  In phase A, the first name seen of an inode with
 * several links is copied (its job is the group's leader); every further
 * name is recorded.  Phase B links each recorded name to the leader's
 * copy, or leaves it alone if it already is that inode; an entry in the
 * way is replaced (place.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "link.h"
#include "place.h"


/* The first name of a multiply-linked inode is copied; the others wait for phase B. */
bool us_link_register(struct us_job *j)
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
		h->mode = j->st.stx_mode;
		h->next = c->hl[i];
		c->hl[i] = h;
		c->hl_count++;
		j->leader = h;
	}
out:
	pthread_mutex_unlock(&c->lock);
	return follower;
}

/* --- phase B ----------------------------------------------------------------------------- */

static void link_stated(struct us_opc *o, int res);

static void link_finish(struct us_job *j)
{
	us_job_free(j);
}

static void link_placed(struct us_job *j)
{
	atomic_fetch_add(&us_c->s.linked, 1);
	us_count_made(j);
	us_item("link", j->lr->rel, NULL, j->lr->leader->rel);
	link_finish(j);
}

void us_link_start(struct us_worker *w, struct us_linkreq *lr)
{
	struct us_job *j = us_job_new(w, US_J_LINK, link_finish);

	if (!j) {
		us_fail(us_c->dst_prefix, lr->rel, NULL, "link", -ENOMEM);
		atomic_fetch_add(&us_c->s.errors, 1);
		return;
	}
	j->lr = lr;
	j->rel_dir = lr->rel;
	us_place_at(j, us_c->dst_root, lr->rel);
	if (us_c->dst_root < 0) {
		/* A dry run into a destination that does not exist yet. */
		j->st.stx_mode = (uint16_t)lr->leader->mode;
		us_count_made(j);
		atomic_fetch_add(&us_c->s.linked, 1);
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
		atomic_fetch_add(&us_c->s.linked, 1);
		us_count_made(j);
		us_item("link", j->lr->rel, NULL, j->lr->leader->rel);
		link_finish(j);
		return;
	}
	if (j->dst_exists && S_ISDIR(j->dst.stx_mode)) {
		us_job_fail(j, "dst", "a directory is in the way of the link", -EISDIR);
		link_finish(j);
		return;
	}
	us_place_link(j, j->lr->leader->rel, link_placed);
}

/* Everything is freed at the end, so that leak checkers see a clean exit. */
void us_links_free(void)
{
	struct us_ctx *c = us_c;

	for (size_t i = 0; c->hl && i <= c->hl_mask; i++)
		for (struct us_hlink *h = c->hl[i], *n; h; h = n) {
			n = h->next;
			free(h->rel);
			free(h);
		}
	free(c->hl);
	c->hl = NULL;
	for (size_t i = 0; i < c->nlinks; i++)
		free(c->links[i].rel);
	free(c->links);
	c->links = NULL;
	c->nlinks = 0;
}
