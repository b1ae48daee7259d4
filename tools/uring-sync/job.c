/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
/*
 * Jobs and the fd budget.
 *
 * A job is one entry, directory or link being worked on, driven by the
 * completions of its ops.  It ends with us_job_done, which hands it to
 * the end its kind set (entry, listing, link, directory metadata): the
 * layers below never call up into the ones that start jobs.
 *
 * Files take two fds from their worker's share of --max-open and wait on
 * the worker's list when it is used up; the fds come back as that
 * worker's own files complete, so the wait always ends.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "job.h"

struct us_job *us_job_new(struct us_worker *w, enum us_kind kind, us_job_fn finish)
{
	struct us_job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->kind = kind;
	j->w = w;
	j->owner = w;
	j->finish = finish;
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
	free(j->tmppath);
	free(j->meta);
	free(j->ranges);
	free(j->writers);
	atomic_fetch_sub(&o->njobs, 1);
	if (j->w != o)
		us_wake();
	free(j);
}

void us_job_done(struct us_job *j)
{
	j->finish(j);
}

const char *us_job_rel(struct us_job *j)
{
	if (!j->rel)
		j->rel = us_relpath(j->rel_dir, j->rel_name);
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
	if (strcmp(side, "src") || !j->src)
		us_fail(us_c->dst_prefix, us_job_rel(j), NULL, what, err);
	else if (j->sname && j->rel_name && j->sname != j->rel_name)
		us_fail(j->src->root->prefix, j->rel_dir, j->sname, what, err);	/* copied under another name */
	else
		us_fail(j->src->root->prefix, us_job_rel(j), NULL, what, err);
}

/* Phase A: n directories or entries are finished. */
void us_work_done(long n)
{
	if (atomic_fetch_sub(&us_c->work, n) == n)
		us_wake();
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

/* Wait for fd budget: resume runs when there is some (us_fd_resume), or after a stop. */
void us_fd_wait(struct us_job *j, us_job_fn resume)
{
	struct us_worker *w = j->owner;

	j->resume = resume;
	j->next = NULL;
	if (w->fdwait_tail)
		w->fdwait_tail->next = j;
	else
		w->fdwait = j;
	w->fdwait_tail = j;
}

/* Resume jobs that wait for fd budget, as far as it goes. */
void us_fd_resume(struct us_worker *w)
{
	while (w->fdwait && (atomic_load(&w->fds) >= 2 || us_stopped())) {
		struct us_job *j = w->fdwait;

		w->fdwait = j->next;
		if (!w->fdwait)
			w->fdwait_tail = NULL;
		j->next = NULL;
		w->did_work = true;
		j->resume(j);
	}
}

/* The entry is in place (or would be, in a dry run): --stats counts it as made if it was not there. */
void us_count_made(struct us_job *j)
{
	if (!j->dst_exists || (j->dst.stx_mode & S_IFMT) != (j->st.stx_mode & S_IFMT))
		atomic_fetch_add(&us_c->s.made[us_type_index(j->st.stx_mode)], 1);
}
