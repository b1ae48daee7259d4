/* SPDX-License-Identifier: MIT */
/*
 * Starting a job by its route: to the kernel, to a worker, or emulated
 * here (timers, polls, and requests that act on other requests).
 */
#define _GNU_SOURCE
#include <limits.h>

#include "fallback.h"

/* --- starting jobs (owner thread, lock held) -------------------------------------------- */

static int timer_arm(struct job *j, const struct __kernel_timespec *ts, uint32_t tflags)
{
	struct itimerspec its;
	int clock = (tflags & SR_IORING_TIMEOUT_BOOTTIME) ? CLOCK_BOOTTIME :
		    (tflags & SR_IORING_TIMEOUT_REALTIME) ? CLOCK_REALTIME : CLOCK_MONOTONIC;

	/* The kernel's test: 10^9 ns and more are taken as they are (a
	 * ktime adds them up), so they are carried into seconds here. */
	if (!ts || ts->tv_sec < 0 || ts->tv_nsec < 0)
		return -EINVAL;
	if (j->tfd < 0) {
		j->tfd = timerfd_create(clock, TFD_CLOEXEC | TFD_NONBLOCK);
		if (j->tfd < 0)
			return -errno;
	}
	memset(&its, 0, sizeof(its));
	/* Saturating, as the kernel's ktime does. */
	its.it_value.tv_sec = ts->tv_sec > LLONG_MAX - ts->tv_nsec / 1000000000 ? LLONG_MAX :
			      ts->tv_sec + ts->tv_nsec / 1000000000;
	its.it_value.tv_nsec = ts->tv_nsec % 1000000000;
	/* A zero relative time means now; timerfd would read it as "disarm". */
	if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
		its.it_value.tv_nsec = 1;
	if (j->rt && j->rt->how == SR_FB_REARM)
		its.it_interval = its.it_value;
	if (timerfd_settime(j->tfd, (tflags & SR_IORING_TIMEOUT_ABS) ? TFD_TIMER_ABSTIME : 0, &its, NULL) < 0)
		return -errno;
	return 0;
}

int sr__fb_timer_start(struct sr__fallback *fb, struct job *j)
{
	const struct io_uring_sqe *sqe = jsqe(j);
	const struct __kernel_timespec *ts = (const void *)(uintptr_t)sr__sqe_get64(sqe, SR_SQE_ADDR);
	int ret = timer_arm(j, ts, sr__sqe_get32(sqe, SR_SQE_TIMEOUT_FLAGS));

	j->events = EPOLLIN;
	if (ret < 0)
		return ret;
	/* Not one-shot: a repeating timer keeps firing while items wait. */
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = job_tag(j) };

	if (!sr__fb_start_poller(fb))
		return -EAGAIN;
	if (epoll_ctl(fb->epfd, EPOLL_CTL_ADD, j->tfd, &ev) < 0)
		return -errno;
	j->in_epoll = true;
	j->state = J_WAIT;
	return 0;
}

static struct job *find_job(struct sr__fallback *fb, uint64_t ud, int emu)
{
	for (uint32_t k = 0; k < fb->njobs; k++) {
		struct job *x = fb->jobs[k];

		if (x->state != J_FREE && x->state != J_ENDED && x->ud == ud && (emu < 0 || x->emu == emu))
			return x;
	}
	return NULL;
}

/* Hand the job's SQE to the kernel under the backend's user_data. */
void sr__fb_to_kernel(struct sr_ring *r, struct job *j)
{
	struct io_uring_sqe *sqe = sr__sqe_internal(r);

	if (!sqe) {
		sr__fb_post(r->_fb, j, -EBUSY, 0, true);
		return;
	}
	memcpy(sqe, j->sqe, sqe_size(r));
	sqe->flags &= (uint8_t)~(LINKS | SR_IOSQE_IO_DRAIN);
	/* A multishot op's len 0 means "the whole buffer" to the kernels
	 * that have it; older ones read at most len into a provided buffer
	 * (Debian's 5.10: the re-armed recv and read got 0 bytes). */
	if ((sqe->flags & SR_IOSQE_BUFFER_SELECT) && !sqe->len) {
		const struct sr_bufgroup *g = j->group ? j->group : r->_slotx[j->slot]._aux;

		if (g)
			sqe->len = (uint32_t)g->_size;
	}
	sqe->user_data = job_kud(j);
	j->state = J_KERNEL;
}

/*
 * Requests that act on other requests.  Targets the backend runs are
 * handled here; native targets are the kernel's business, so the op's
 * own SQE goes to the kernel when it has the op (SR_KERNEL only
 * simulates an older one).
 */
static void emulate_now(struct sr_ring *r, struct job *j)
{
	struct sr__fallback *fb = r->_fb;
	struct io_uring_sqe *sqe = jsqe(j);
	uint64_t target = sr__sqe_get64(sqe, SR_SQE_ADDR);
	unsigned op = (unsigned)((j->ud & SR__UD_OP_MASK) >> SR__UD_OP_SHIFT);
	struct job *x;

	switch (j->emu) {
	case SR_EMU_COMPLETE:
		sr__fb_post(fb, j, 0, 0, true);
		return;
	case SR_EMU_FD_INSTALL:
		if (!r->_uring_up) {
			/* job_prepare turned the slot into a descriptor we hold. */
			bool keep = sr__sqe_get32(sqe, SR_SQE_INSTALL_FD_FLAGS) & SR_IORING_FIXED_FD_NO_CLOEXEC;
			int nfd = fcntl(j->fd, keep ? F_DUPFD : F_DUPFD_CLOEXEC, 0);

			sr__fb_post(fb, j, nfd < 0 ? -errno : nfd, 0, true);
			return;
		}
		break;
	case SR_EMU_CANCEL: {
		uint32_t cf = sr__sqe_get32(sqe, SR_SQE_CANCEL_FLAGS);
		bool by_fd = cf & SR_IORING_ASYNC_CANCEL_FD, any = cf & SR_IORING_ASYNC_CANCEL_ANY;
		bool all = (cf & SR_IORING_ASYNC_CANCEL_ALL) || any;
		int fd = (int)sr__sqe_get32(sqe, SR_SQE_FD);
		int n = 0;

		/* As the kernel: a descriptor that is not open is -EBADF. */
		if (by_fd && !(cf & SR_IORING_ASYNC_CANCEL_FD_FIXED) && fcntl(fd, F_GETFD) < 0) {
			sr__fb_post(fb, j, -EBADF, 0, true);
			return;
		}
		for (uint32_t k = 0; k < fb->njobs && (all || !n); k++) {
			x = fb->jobs[k];
			if (x == j || x->state == J_FREE || x->state == J_ENDED || x->cancel)
				continue;
			if (any || (by_fd ? x->ufd == fd && fd >= 0 : x->ud == target)) {
				sr__fb_cancel_job(r, x);
				n++;
			}
		}
		if ((n && !all) || !sr__fb_kernel_has(r, op)) {
			sr__fb_post(fb, j, n ? (all ? n : 0) : -ENOENT, 0, true);
			return;
		}
		j->extra = n;
		break;
	}
	case SR_EMU_TIMER_REMOVE:
	case SR_EMU_POLL_REMOVE:
		x = find_job(fb, target, j->emu == SR_EMU_TIMER_REMOVE ? SR_EMU_TIMER : SR_EMU_POLL);
		if (x) {
			sr__fb_cancel_job(r, x);
			sr__fb_post(fb, j, 0, 0, true);
			return;
		}
		break;
	case SR_EMU_TIMER_UPDATE:
		x = find_job(fb, target, SR_EMU_TIMER);
		if (x) {
			const struct __kernel_timespec *ts = (const void *)(uintptr_t)sr__sqe_get64(sqe, SR_SQE_ADDR2);

			sr__fb_post(fb, j, x->tfd >= 0 ? timer_arm(x, ts, sr__sqe_get32(sqe, SR_SQE_TIMEOUT_FLAGS)) : -ENOENT,
			     0, true);
			return;
		}
		break;
	case SR_EMU_POLL_UPDATE:
		x = find_job(fb, target, SR_EMU_POLL);
		if (x) {
			if (sr__sqe_get32(sqe, SR_SQE_LEN) & SR_IORING_POLL_UPDATE_EVENTS) {
				x->events = sr__sqe_get32(sqe, SR_SQE_POLL32_EVENTS) & 0xffff;
				if (x->state == J_WAIT)
					sr__fb_epoll_wait_for(fb, x, x->fd);
			}
			sr__fb_post(fb, j, 0, 0, true);
			return;
		}
		break;
	}
	/* Not the backend's: the kernel's.  A target the backend hands to the
	 * kernel is known there by its own user_data. */
	x = find_job(fb, target, -1);
	if (!sr__fb_kernel_has(r, op) || (x && x->state != J_KERNEL)) {
		sr__fb_post(fb, j, -ENOENT, 0, true);
		return;
	}
	if (x && j->emu != SR_EMU_CANCEL)
		sr__sqe_put64(sqe, SR_SQE_ADDR, job_kud(x));
	j->proxy = true;
	sr__fb_to_kernel(r, j);
}

/* Get a plain descriptor for the registered file the job names. */
static void install_first(struct sr_ring *r, struct job *j)
{
	struct io_uring_sqe *sqe = sr__sqe_internal(r);

	if (!sqe) {
		sr__fb_post(r->_fb, j, -EBUSY, 0, true);
		return;
	}
	sr_prep_fixed_fd_install(sqe, j->install, 0);
	sqe->user_data = job_kud(j);
	j->state = J_KERNEL;
}

void sr__fb_job_start(struct sr_ring *r, struct job *j)
{
	struct sr__fallback *fb = r->_fb;
	int ret;

	/* Only a job waiting for its turn starts: a chain member cancelled
	 * while it waited has ended already (its record is posted), and
	 * starting it would queue a job about to be freed. */
	if (j->state != J_PARKED)
		return;
	if (sr__unlikely(r->_ext->trace != NULL))
		sr__trace_fb(r, SR_TRACE_SUBMIT, j->slot, j->ufd, 0, 0);
	if (j->extra && j->emu == SR_EMU_NONE) {
		sr__fb_post(fb, j, j->extra, 0, true);	/* its setup failed; its turn is now */
		return;
	}
	if (chained(j) && chained(j)->emu == SR_EMU_LINK_TIMER && chained(j)->state == J_PARKED) {
		struct job *t = chained(j);

		set_target(t, j);
		ret = sr__fb_timer_start(fb, t);
		if (ret < 0)
			sr__fb_post(fb, t, ret, 0, true);
	}
	switch (j->kind) {
	case K_KERNEL:
		sr__fb_to_kernel(r, j);
		return;
	case K_SYSCALL:
		if (j->install >= 0) {
			install_first(r, j);
			return;
		}
		sr__fb_wait_or_run(fb, j);
		return;
	}
	switch (j->emu) {
	case SR_EMU_TIMER:
		ret = sr__fb_timer_start(fb, j);
		if (ret < 0) {
			sr__fb_post(fb, j, ret, 0, true);
			return;
		}
		if (j->count) {
			j->count_base = (r->_uring_up ? r->_cqh - r->_ext->internal_cqes : 0) + fb->items_total;
			j->cnext = fb->counters;
			fb->counters = j;
		}
		return;
	case SR_EMU_LINK_TIMER:
		/* Started with the op it times; alone, it has nothing to time. */
		sr__fb_post(fb, j, -EINVAL, 0, true);
		return;
	case SR_EMU_POLL:
		if (sr__fb_epoll_wait_for(fb, j, j->fd))
			return;
		if (errno == EPERM)	/* regular files: always ready, as poll(2) says */
			sr__fb_post(fb, j, (int32_t)(j->events & (EPOLLIN | EPOLLOUT | EPOLLRDNORM | EPOLLWRNORM)), 0, true);
		else
			sr__fb_post(fb, j, -errno, 0, true);
		return;
	default:
		emulate_now(r, j);
	}
}
