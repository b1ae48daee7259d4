/* SPDX-License-Identifier: MIT */
/*
 * Jobs: taken at submit, freed after their final completion; the
 * records in which they post completions for the owner, in order.
 */
#define _GNU_SOURCE

#include "fallback.h"

/* --- jobs ------------------------------------------------------------------------ */

/* A fresh job from the free list, or a new one (the table grows by doubling). */
static struct job *job_new(struct sr__fallback *fb)
{
	struct job *j = fb->free;
	uint32_t id, gen;

	if (j) {
		fb->free = j->next;
	} else {
		if (fb->njobs > JOB_ID_MASK)
			return NULL;
		if (fb->njobs == fb->cap) {
			uint32_t n = fb->cap ? fb->cap * 2 : 16;
			struct job **jobs = sr__realloc(fb->jobs, n * sizeof(*jobs));

			if (!jobs)
				return NULL;
			fb->jobs = jobs;
			fb->cap = n;
		}
		j = sr__calloc(1, sizeof(*j));
		if (!j)
			return NULL;
		j->id = fb->njobs;
		fb->jobs[fb->njobs++] = j;
	}
	id = j->id;
	gen = j->gen + 1;
	fb->live++;
	memset(j, 0, sizeof(*j));
	j->id = id;
	j->gen = gen;
	j->fd = j->ufd = j->tfd = j->install = -1;
	return j;
}

/* A job taken but never used (the submit failed): back to the free list. */
static void job_unused(struct sr__fallback *fb, struct job *j)
{
	j->state = J_FREE;
	j->gen++;
	fb->live--;
	j->next = fb->free;
	fb->free = j;
}

/* One of the jobs taken at submit. */
struct job *sr__fb_job_spare(struct sr__fallback *fb)
{
	struct job *j = fb->spare;

	fb->spare = j->next;
	j->next = NULL;
	return j;
}

void sr__fb_epoll_forget(struct sr__fallback *fb, struct job *j)
{
	int fd = j->tfd >= 0 ? j->tfd : j->fd;

	if (j->in_epoll && fd >= 0)
		epoll_ctl(fb->epfd, EPOLL_CTL_DEL, fd, NULL);
	j->in_epoll = false;
}

static void unpend(struct sr__fallback *fb, struct job *j)
{
	struct job *prev = NULL;

	for (struct job *q = fb->pend_head; q; prev = q, q = q->next)
		if (q == j) {
			if (prev)
				prev->next = q->next;
			else
				fb->pend_head = q->next;
			if (fb->pend_tail == q)
				fb->pend_tail = prev;
			break;
		}
	j->pending = false;
}

/* Take j off the done list. */
void sr__fb_done_remove(struct sr__fallback *fb, struct job *j)
{
	struct job *prev = NULL;

	if (!j->in_done)
		return;
	for (struct job *q = fb->done_head; q; prev = q, q = q->dnext)
		if (q == j) {
			if (prev)
				prev->dnext = q->dnext;
			else
				fb->done_head = q->dnext;
			if (fb->done_tail == q)
				fb->done_tail = prev;
			break;
		}
	j->in_done = false;
}

static void job_free(struct sr__fallback *fb, struct job *j)
{
	struct sr_ring *r = fb->r;

	sr__fb_done_remove(fb, j);
	if (j->pending)
		unpend(fb, j);
	sr__fb_epoll_forget(fb, j);
	close_fd(&j->fd);
	close_fd(&j->tfd);
	if (j->slot < r->_nslots && r->_slotx[j->slot]._fb == j)
		r->_slotx[j->slot]._fb = NULL;
	if (fb->chain_last == j)
		fb->chain_last = NULL;
	for (struct job **pp = &fb->counters; *pp; pp = &(*pp)->cnext)
		if (*pp == j) {
			*pp = j->cnext;
			break;
		}
	job_unused(fb, j);
}

/* Put a job on the owner's done list, and wake the owner for the first. */
static void done_push(struct sr__fallback *fb, struct job *j)
{
	if (j->in_done)
		return;
	j->in_done = true;
	j->dnext = NULL;
	if (fb->done_tail)
		fb->done_tail->dnext = j;
	else
		fb->done_head = j;
	fb->done_tail = j;
	if (fb->done_head == j) {
		kick(fb->notify);
		if (!fb->r->_uring_up)
			kick(fb->r->_eventfd);
	}
}

/* Queue a completion for the owner.  final: the job posts nothing more. */
void sr__fb_post(struct sr__fallback *fb, struct job *j, int32_t res, uint32_t cflags, bool final)
{
	struct rec *rc;

	/* By construction a stream stops at JOB_RECS - 1 (rec_room), which
	 * leaves room for its final completion, and a two-phase op posts two. */
	if (j->nrec == JOB_RECS)
		return;
	rc = &j->recs[(j->rhead + j->nrec++) % JOB_RECS];
	rc->res = res;
	rc->cflags = cflags;
	rc->final = final;
	if (final)
		j->state = J_ENDED;
	done_push(fb, j);
}

void sr__fb_post_cancel_request(struct sr__fallback *fb, struct job *target)
{
	target->cancel_req = true;
	done_push(fb, target);
}

static bool more_while(const struct sr_fb_route *rt, int32_t res)
{
	switch (rt->more_while) {
	case SR_FB_MORE_POSITIVE:
		return res > 0;
	case SR_FB_MORE_NONNEG:
		return res >= 0;
	case SR_FB_MORE_ETIME:
		return res == -ETIME;
	default:
		return false;
	}
}

/*
 * Does a re-armed stream ask again only once its item was taken?  Readiness
 * reports do (a poll re-armed at once on a still-readable fd would report
 * the same data again before the caller could drain it); accepts, reads and
 * timers go on at once, as the kernel's multishot ops do.
 */
bool sr__fb_rearm_waits(const struct job *j)
{
	return sr_op_table[j->rt->exec_op].result == SR_RESULT_MASK;
}

/*
 * A route produced a result: post what the op's own shape would have.  A
 * re-armed stream posts an item with F_MORE and goes on (J_HELD while it
 * waits to be asked again); a two-phase route posts the result with F_MORE
 * and then the notification, as the zero-copy op does once the data is
 * sent.
 */
void sr__fb_job_result(struct sr__fallback *fb, struct job *j, int32_t res, uint32_t cflags)
{
	uint8_t how = j->rt ? j->rt->how : SR_FB_SAME;

	/* Every buffer of the group is out: the stream pauses (an item says
	 * so) and goes on when the owner sees one come back. */
	if (res == -ENOBUFS && j->enobufs && !j->cancel) {
		sr__fb_post(fb, j, res, cflags | IORING_CQE_F_MORE, false);
		j->state = J_HELD;
		j->starved = true;
		return;
	}
	if (how == SR_FB_NOTIF) {
		if (res >= 0) {
			sr__fb_post(fb, j, res, cflags | IORING_CQE_F_MORE, false);
			sr__fb_post(fb, j, j->report_usage ? (int32_t)SR_IORING_NOTIF_USAGE_ZC_COPIED : 0, IORING_CQE_F_NOTIF, true);
		} else {
			sr__fb_post(fb, j, res, cflags, true);
		}
		return;
	}
	if (how == SR_FB_REARM && !j->cancel && more_while(j->rt, res) && j->left != 1) {
		if (j->left)
			j->left--;
		sr__fb_post(fb, j, res, cflags | IORING_CQE_F_MORE, false);
		j->state = J_HELD;
		/* Kernel routes are re-armed by the owner when it reaps the item;
		 * timerfds repeat by themselves; a stream whose records are
		 * nearly full waits for the owner to take them. */
		if (!sr__fb_rearm_waits(j) && j->kind != K_KERNEL && j->tfd < 0) {
			if (rec_room(j))
				sr__fb_rewait(fb, j);
			else
				j->rearm_later = true;
		}
		return;
	}
	/*
	 * Cancelled while this item was being read (the system call won the
	 * race): an item like the others, then -ECANCELED ends the stream,
	 * as the kernel's multishot ops do.  A final item carrying data has
	 * another meaning (a repeat limit reached).  api-fuzz seed 18755.
	 */
	if (how == SR_FB_REARM && j->cancel && more_while(j->rt, res) && j->left != 1 && rec_room(j)) {
		sr__fb_post(fb, j, res, cflags | IORING_CQE_F_MORE, false);
		sr__fb_post(fb, j, -ECANCELED, 0, true);
		return;
	}
	sr__fb_post(fb, j, res, cflags & ~IORING_CQE_F_MORE, true);
}

/* Take n jobs for the op being built; false (nothing taken) without memory. */
bool sr__fb_spare_take(struct sr__fallback *fb, unsigned n)
{
	pthread_mutex_lock(&fb->lock);
	for (unsigned i = 0; i < n; i++) {
		struct job *j = job_new(fb);

		if (!j) {
			pthread_mutex_unlock(&fb->lock);
			sr__fb_spare_release(fb);
			return false;
		}
		j->next = fb->spare;
		fb->spare = j;
	}
	pthread_mutex_unlock(&fb->lock);
	return true;
}

void sr__fb_spare_release(struct sr__fallback *fb)
{
	pthread_mutex_lock(&fb->lock);
	while (fb->spare)
		job_unused(fb, sr__fb_job_spare(fb));
	pthread_mutex_unlock(&fb->lock);
}

/* Committed jobs start at the next submit, as their SQEs would reach the kernel. */
void sr__fb_pend(struct sr__fallback *fb, struct job *j)
{
	j->pending = true;
	queue_push(&fb->pend_head, &fb->pend_tail, j);
}

/* The next committed job still to start, or NULL. */
struct job *sr__fb_next_pending(struct sr__fallback *fb)
{
	struct job *j;

	while ((j = queue_pop(&fb->pend_head, &fb->pend_tail))) {
		j->pending = false;
		if (j->state == J_PARKED && !j->cancel)
			return j;
	}
	return NULL;
}

/*
 * Hand j's records to its slot, in order (owner thread, lock held).
 * Returns 1 when the final one freed the job, 0 when all were taken, or
 * -ENOMEM when one could not be recorded: it stays first, nothing lost.
 */
int sr__fb_job_drain(struct sr_ring *r, struct job *j)
{
	struct sr__fallback *fb = r->_fb;

	while (j->nrec) {
		struct rec rc = j->recs[j->rhead];
		struct sr_slot *s = &r->_slots[j->slot];

		if (s->_ud == j->ud && s->_state == SR__SLOT_INFLIGHT) {
			if (sr__unlikely(r->_ext->trace != NULL))
				sr__trace_fb(r, SR_TRACE_COMPLETE, j->slot, -1, rc.res, rc.cflags);
			if (!sr__complete(r, j->slot, rc.res, rc.cflags))
				return -ENOMEM;
			fb->items_total++;
			fb->reaped++;
		}
		j->rhead = (uint8_t)((j->rhead + 1) % JOB_RECS);
		j->nrec--;
		if (rc.final) {
			sr__fb_chain_next(r, j, rc.res);
			job_free(fb, j);
			return 1;
		}
	}
	return 0;
}
