/* SPDX-License-Identifier: MIT */
/*
 * The hooks the core calls (core.h), reaping records into slots, the
 * backend's kernel requests, and whole rings without io_uring.
 */
#define _GNU_SOURCE

#include "fallback.h"

static struct sr__fallback *fb_new(struct sr_ring *r)
{
	struct sr__fallback *fb = sr__calloc(1, sizeof(*fb));
	pthread_mutexattr_t ma;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = WAKE_TAG };

	if (!fb)
		return NULL;
	/* Recursive: the owner may reap (and so come back here) while it
	 * takes an SQE for a job. */
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&fb->lock, &ma);
	pthread_mutexattr_destroy(&ma);
	pthread_cond_init(&fb->work, NULL);
	fb->r = r;
	if (sr__under_valgrind())
		r->_flags |= SR__RING_SLICED;
	fb->epfd = epoll_create1(EPOLL_CLOEXEC);
	fb->notify = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	fb->pwake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fb->epfd < 0 || fb->notify < 0 || fb->pwake < 0 ||
	    epoll_ctl(fb->epfd, EPOLL_CTL_ADD, fb->pwake, &ev) < 0) {
		close_fd(&fb->epfd);
		close_fd(&fb->notify);
		close_fd(&fb->pwake);
		pthread_mutex_destroy(&fb->lock);
		pthread_cond_destroy(&fb->work);
		free(fb);
		return NULL;
	}
	sr__fb_signals_init();
	return fb;
}

struct sr__fallback *sr__fb_get(struct sr_ring *r)
{
	if (!r->_fb)
		r->_fb = fb_new(r);
	return r->_fb;
}

static bool sr__fb_target(struct sr_ring *r, uint32_t idx, uint64_t *ud)
{
	struct job *j = r->_slotx[idx]._fb;

	/* Only a job that runs in the kernel as one request per op can be
	 * named there; held streams and the backend's own work cannot. */
	if (j->kind == K_KERNEL && (!j->rt || j->rt->how != SR_FB_REARM) && j->state == J_KERNEL) {
		*ud = job_kud(j);
		return true;
	}
	return false;
}

static int sr__fb_cancel(struct sr_ring *r, uint32_t idx)
{
	struct sr__fallback *fb = r->_fb;
	struct job *j = r->_slotx[idx]._fb;

	if (!fb || !j)
		return 0;
	pthread_mutex_lock(&fb->lock);
	sr__fb_cancel_job(r, j);
	pthread_mutex_unlock(&fb->lock);
	return 0;
}

/* --- completions -------------------------------------------------------------------------- */

static bool sr__fb_cqe(struct sr_ring *r, const struct io_uring_cqe *cqe)
{
	struct sr__fallback *fb = r->_fb;
	uint64_t ud = cqe->user_data;
	uint32_t id = (uint32_t)(ud & JOB_ID_MASK);
	struct job *j;
	int32_t res = cqe->res;

	if (!fb)
		return true;
	if (((ud >> SR__UD_KIND_SHIFT) & 0xff) == SR__UDK_WAKE) {
		fb->wake_armed = false;
		return true;
	}
	pthread_mutex_lock(&fb->lock);
	if (id >= fb->njobs || ((fb->jobs[id]->gen & JOB_ID_MASK) != ((ud >> 40) & JOB_ID_MASK)) ||
	    fb->jobs[id]->state != J_KERNEL) {
		r->_ext->stale_cqes++;
		pthread_mutex_unlock(&fb->lock);
		return true;
	}
	j = fb->jobs[id];
	if (j->install >= 0) {
		/* The descriptor for the registered file: now the job can run. */
		j->install = -1;
		if (res < 0) {
			sr__fb_post(fb, j, res == -EINVAL ? -EBADF : res, 0, true);
		} else {
			j->fd = res;
			jsqe(j)->flags &= (uint8_t)~SR_IOSQE_FIXED_FILE;
			sr__sqe_put32(jsqe(j), SR_SQE_FD, (uint32_t)res);
			j->state = J_PARKED;
			sr__fb_job_start(r, j);
		}
		pthread_mutex_unlock(&fb->lock);
		return true;
	}
	if (j->proxy && j->emu == SR_EMU_CANCEL && j->extra)
		res = res >= 0 ? res + j->extra : j->extra;
	if ((!j->rt || j->rt->how == SR_FB_SAME) && !(res == -ENOBUFS && j->enobufs)) {
		bool more = cqe->flags & IORING_CQE_F_MORE;

		/* The kernel's own shape.  A kernel multishot is not held back:
		 * when the job's records are nearly full, the owner (this thread)
		 * takes them first; without memory for that, the CQE waits. */
		if (more && !rec_room(j) && sr__fb_job_drain(r, j) < 0) {
			pthread_mutex_unlock(&fb->lock);
			return false;
		}
		sr__fb_post(fb, j, res, cqe->flags, !more);
	} else {
		sr__fb_job_result(fb, j, res, cqe->flags);
	}
	pthread_mutex_unlock(&fb->lock);
	return true;
}

/* Re-arm a held stream: its last item was taken (or, for timers, at once). */
static void rearm(struct sr_ring *r, struct job *j)
{
	struct sr__fallback *fb = r->_fb;

	/* A stream starved of buffers goes on only when one comes back. */
	if (j->state != J_HELD || j->starved)
		return;
	if (!rec_room(j)) {
		j->rearm_later = true;
		return;
	}
	j->rearm_later = false;
	if (j->kind == K_KERNEL)
		sr__fb_to_kernel(r, j);
	else
		sr__fb_rewait(fb, j);
}

static void sr__fb_consumed(struct sr_ring *r, uint32_t idx)
{
	struct sr__fallback *fb = r->_fb;
	struct job *j = r->_slotx[idx]._fb;

	if (!fb || !j)
		return;
	/* starved is the workers' to set: read it under the lock (rearm does).
	 * An item the worker posted that the owner has not taken yet is not
	 * consumed: asking again now would report the same readiness twice. */
	pthread_mutex_lock(&fb->lock);
	if (!j->nrec)
		rearm(r, j);
	pthread_mutex_unlock(&fb->lock);
}

/* A buffer went back to group g: streams paused by -ENOBUFS go on. */
static void sr__fb_group_refilled(struct sr_ring *r, struct sr_bufgroup *g)
{
	struct sr__fallback *fb = r->_fb;

	if (!fb)
		return;
	pthread_mutex_lock(&fb->lock);
	for (uint32_t k = 0; k < fb->njobs; k++) {
		struct job *j = fb->jobs[k];

		if (j->state == J_HELD && j->starved && j->group == g) {
			j->starved = false;
			rearm(r, j);
		}
	}
	pthread_mutex_unlock(&fb->lock);
}

/* Timeouts with a count end when that many other completions were seen. */
static void check_counts(struct sr_ring *r)
{
	struct sr__fallback *fb = r->_fb;
	unsigned long now = (r->_uring_up ? r->_cqh - r->_ext->internal_cqes : 0) + fb->items_total;

	for (struct job *j = fb->counters, *n; j; j = n) {
		n = j->cnext;
		if (j->state == J_WAIT && now - j->count_base >= j->count) {
			sr__fb_epoll_forget(fb, j);
			close_fd(&j->tfd);
			sr__fb_post(fb, j, 0, 0, true);
		}
	}
}

static void arm_wake(struct sr_ring *r)
{
	struct sr__fallback *fb = r->_fb;
	struct io_uring_sqe *sqe;

	if (!r->_uring_up || fb->wake_armed || !fb->live)
		return;
	sqe = sr__sqe_internal(r);
	if (!sqe)
		return;		/* the next reap tries again */
	io_uring_prep_poll_add(sqe, fb->notify, POLLIN);
	sqe->user_data = SR__UD_INTERNAL | ((uint64_t)SR__UDK_WAKE << SR__UD_KIND_SHIFT);
	fb->wake_armed = true;
}

static int sr__fb_reap(struct sr_ring *r, bool block)
{
	struct sr__fallback *fb = r->_fb;
	struct job *j;
	int ret = 0;

	if (!fb)
		return 0;
	pthread_mutex_lock(&fb->lock);
	while (block && !fb->done_head) {
		struct pollfd p = { .fd = fb->notify, .events = POLLIN };

		pthread_mutex_unlock(&fb->lock);
		if (poll(&p, 1, -1) < 0 && errno == EINTR)
			return -EINTR;
		pthread_mutex_lock(&fb->lock);
		if (!fb->done_head)
			drain_fd(fb->notify);
	}
	drain_fd(fb->notify);
	fb->reaped = 0;
	/* Jobs that post while these are handled (chains, cancels) are handled too. */
	while ((j = fb->done_head)) {
		if (j->cancel_req) {
			j->cancel_req = false;
			sr__fb_cancel_job(r, j);
		}
		ret = sr__fb_job_drain(r, j);
		if (ret < 0)
			break;
		if (ret)
			continue;	/* ended and freed */
		sr__fb_done_remove(fb, j);
		if (j->state == J_HELD && j->starved) {
			if (sr_bufgroup_available(j->group)) {
				j->starved = false;
				rearm(r, j);	/* buffers came back before the -ENOBUFS was seen */
			}
		} else if (j->rearm_later || (j->state == J_HELD && j->rt && !sr__fb_rearm_waits(j))) {
			rearm(r, j);	/* a kernel route's stream goes on (a timeout keeps its period) */
		}
		if (j->ticks)
			sr__fb_timer_ticks(fb, j);
	}
	if (fb->counters)
		check_counts(r);
	if (fb->done_head)
		kick(fb->notify);
	arm_wake(r);
	pthread_mutex_unlock(&fb->lock);
	if (ret < 0 && !fb->reaped)
		return sr__stalled(r);
	return (int)fb->reaped;
}

static int sr__fb_wait(struct sr_ring *r, int timeout_ms)
{
	struct pollfd p = { .fd = r->_fb ? r->_fb->notify : -1, .events = POLLIN };

	if (!r->_fb)
		return 0;
	if (poll(&p, 1, timeout_ms) < 0)
		return errno == EINTR ? -EINTR : sr__fail(-errno, "ring: waiting for the fallback backend failed");
	return 0;
}

static int sr__fb_fd(const struct sr_ring *r)
{
	return r->_fb ? r->_fb->notify : -1;
}

/* --- whole rings -------------------------------------------------------------------------- */

int sr__fb_create(struct sr_ring *r, const struct sr_ring_params *p)
{
	const struct sr_caps *c = sr_caps_get();
	bool asked = c->force_fallback || (p->flags & SR_RING_FALLBACK);

	if (!asked && r->_policy == SR_POLICY_STRICT)
		return sr__fail(c->setup_errno, "sr_ring_create: %s (policy STRICT takes no fallback backend)",
				c->setup_why);
	r->_fb = fb_new(r);
	if (!r->_fb)
		return sr__fail(-ENOMEM, "sr_ring_create: out of memory for the fallback backend");
	if (!asked && r->_policy == SR_POLICY_WARN)
		fprintf(stderr, "safer-ring: %s; the ring runs on the fallback backend (system calls)\n",
			c->setup_why);
	memset(r->_native, 0, sizeof(r->_native));
	/* The inline wait path looks at the CQ first: give it an empty one. */
	r->_uring.cq.khead = &r->_fb->cq_head;
	r->_uring.cq.ktail = &r->_fb->cq_tail;
	if (p->disable)
		snprintf(r->_ext->disable, sizeof(r->_ext->disable), "%s", p->disable);
	return 0;
}

/* Its memory and descriptors; the threads are gone (or, after fork(), never were ours). */
static void fb_free(struct sr_ring *r)
{
	struct sr__fallback *fb = r->_fb;

	for (uint32_t k = 0; k < fb->njobs; k++) {
		close_fd(&fb->jobs[k]->fd);
		close_fd(&fb->jobs[k]->tfd);
		free(fb->jobs[k]);
	}
	free(fb->jobs);
	close_fd(&fb->epfd);
	close_fd(&fb->notify);
	close_fd(&fb->pwake);
	free(fb);
	r->_fb = NULL;
}

static void sr__fb_destroy(struct sr_ring *r)
{
	struct sr__fallback *fb = r->_fb;

	if (!fb)
		return;
	pthread_mutex_lock(&fb->lock);
	fb->stop = true;
	pthread_cond_broadcast(&fb->work);
	pthread_mutex_unlock(&fb->lock);
	kick(fb->pwake);
	for (unsigned i = 0; i < fb->nthreads; i++)
		pthread_join(fb->threads[i], NULL);
	if (fb->poller_up)
		pthread_join(fb->poller, NULL);
	pthread_mutex_destroy(&fb->lock);
	pthread_cond_destroy(&fb->work);
	fb_free(r);
}

/*
 * The child's copy after fork(): no thread of the backend exists here, its
 * lock may have been held by one, and the epoll set is shared with the
 * parent (a descriptor removed here would be removed there).  Only the
 * child's memory and its copies of the descriptors are released.
 */
static void sr__fb_forget(struct sr_ring *r)
{
	if (r->_fb)
		fb_free(r);
}

void sr__fb_describe(struct sr_ring *r, struct sr__fb_info *info)
{
	struct sr__fallback *fb = r->_fb;

	memset(info, 0, sizeof(*info));
	if (!fb)
		return;
	pthread_mutex_lock(&fb->lock);
	info->threads = fb->nthreads;
	info->idle = fb->idle;
	info->cancelling = fb->cancelling;
	info->poller = fb->poller_up;
	pthread_mutex_unlock(&fb->lock);
	info->jobs = fb->live;
	info->completions = fb->items_total;
}

int sr__fb_job_fd(const void *job)
{
	return ((const struct job *)job)->ufd;
}

void sr__fb_job_chain(struct sr_ring *r, const void *job, struct sr__fb_chain *c)
{
	const struct job *j = job;
	const struct job *next;

	pthread_mutex_lock(&r->_fb->lock);
	next = chained(j);
	c->link = j->link;
	c->next = next ? next->slot : SR__NONE;
	c->pending = j->pending;
	pthread_mutex_unlock(&r->_fb->lock);
}

const struct sr__backend sr__fallback_backend = {
	.name = "fallback",
	.begin = sr__fb_begin,
	.commit = sr__fb_commit,
	.staging = sr__fb_staging,
	.abort = sr__fb_abort,
	.submit = sr__fb_submit,
	.discard = sr__fb_discard,
	.reap = sr__fb_reap,
	.wait = sr__fb_wait,
	.cqe = sr__fb_cqe,
	.cancel = sr__fb_cancel,
	.target = sr__fb_target,
	.consumed = sr__fb_consumed,
	.unlink = sr__fb_unlink,
	.group_refilled = sr__fb_group_refilled,
	.native = sr__fb_native,
	.fd = sr__fb_fd,
	.destroy = sr__fb_destroy,
	.forget = sr__fb_forget,
};
