/* SPDX-License-Identifier: MIT */
/*
 * The backend's threads: system-call workers, the epoll poller (timers,
 * polls, readiness), and the signal that interrupts a worker's blocked
 * system call to cancel it.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "fallback.h"

static int sr__fb_signal;	/* interrupts a worker's system call to cancel it (0: none) */

static void on_signal(int sig)
{
	(void)sig;	/* only here to make a blocked system call return EINTR */
}

/* Cancelling a job in a blocking system call interrupts its worker with a
 * real-time signal; only one nobody handles is taken. */
static void signal_init(void)
{
	struct sigaction sa, old;
	int sig = SIGRTMIN + 7;

	if (sigaction(sig, NULL, &old) || old.sa_handler != SIG_DFL)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: the call returns EINTR */
	sigemptyset(&sa.sa_mask);
	if (!sigaction(sig, &sa, NULL))
		sr__fb_signal = sig;
}

void sr__fb_signals_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, signal_init);
}

static void block_signals(void)
{
	sigset_t all;

	sigfillset(&all);
	if (sr__fb_signal)
		sigdelset(&all, sr__fb_signal);
	pthread_sigmask(SIG_SETMASK, &all, NULL);
}

/* A backend thread starts with every signal blocked (it unblocks its own). */
static bool start_thread(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	bool ok;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ok = pthread_create(t, NULL, fn, arg) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ok;
}

static void *worker_main(void *arg);

/* Another worker when none is idle.  False: there is no worker at all
 * (none could be started), so nothing would run the queue. */
static bool spawn_worker(struct sr__fallback *fb)
{
	if (fb->idle || fb->nthreads >= MAX_WORKERS)
		return true;
	if (start_thread(&fb->threads[fb->nthreads], worker_main, fb))
		fb->nthreads++;
	return fb->nthreads > 0;
}

static void enqueue(struct sr__fallback *fb, struct job *j)
{
	if (!spawn_worker(fb)) {
		sr__fb_post(fb, j, -EAGAIN, 0, true);	/* no thread to run it (thread limits) */
		return;
	}
	j->state = J_QUEUED;
	queue_push(&fb->runq, &fb->runq_tail, j);
	pthread_cond_signal(&fb->work);
}

/*
 * Copy j's SQE into sqe for its system call, with a buffer of its group
 * picked into it.  Returns the buffer id, -1 without a group, or -ENOBUFS
 * (the group is empty: the job has its result).
 */
static int job_prepare(struct sr__fallback *fb, struct job *j, unsigned char *sqe, size_t len)
{
	struct sr_bufgroup *g = j->group;
	uint32_t want;
	int bid;

	memcpy(sqe, j->sqe, len);
	if (!g)
		return -1;
	want = sr__sqe_get32((struct io_uring_sqe *)sqe, SR_SQE_LEN);
	bid = sr__group_pick(g);
	if (bid < 0) {
		sr__fb_job_result(fb, j, -ENOBUFS, 0);
		return -ENOBUFS;
	}
	sr__sqe_put64((struct io_uring_sqe *)sqe, SR_SQE_ADDR, (uintptr_t)g->_bufs[bid]._data);
	sr__sqe_put32((struct io_uring_sqe *)sqe, SR_SQE_LEN, want && want < g->_size ? want : (uint32_t)g->_size);
	return bid;
}

/* The system call of j returned res (lock held): its result, or wait again. */
static void job_ran(struct sr__fallback *fb, struct job *j, int32_t res, int bid)
{
	uint32_t cf = 0;

	if (res == -EINTR && j->cancel)
		res = -ECANCELED;
	if (bid >= 0 && res <= 0)
		sr__group_unpick(j->group, (unsigned)bid);
	else if (bid >= 0)
		cf = IORING_CQE_F_BUFFER | ((uint32_t)bid << IORING_CQE_BUFFER_SHIFT);
	/* Readiness raced with another reader: wait again. */
	if ((res == -EAGAIN || res == -EWOULDBLOCK) && j->rt->wait && j->fd >= 0 && !j->cancel) {
		sr__fb_rewait(fb, j);
		return;
	}
	sr__fb_job_result(fb, j, res, cf);
}

/*
 * A send bundle on a worker (fb->lock held): every buffer queued in its
 * send group and not taken yet goes out in one sendmsg(2), which the op's
 * system call makes with the message in its SQE's addr.  As the kernel
 * does, what it took is used up whatever the result; only a readiness
 * race puts it back.
 */
static void send_job(struct sr__fallback *fb, struct job *j, struct io_uring_sqe *sqe)
{
	struct sr_bufgroup *g = j->group;
	unsigned max = g->_nbufs < IOV_MAX ? g->_nbufs : IOV_MAX, n = 0;
	struct iovec *iov;
	struct msghdr msg;
	int32_t res;
	int bid = -1;

	pthread_mutex_unlock(&fb->lock);
	iov = malloc(max * sizeof(*iov));
	if (!iov) {
		res = -ENOMEM;
	} else if ((bid = sr__group_pick_send(g, iov, max, &n)) < 0) {
		res = -ENOBUFS;
	} else {
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = iov;
		msg.msg_iovlen = n;
		sr__sqe_put64(sqe, SR_SQE_ADDR, (uintptr_t)&msg);
		res = j->rt->sys(sqe);
	}
	free(iov);
	pthread_mutex_lock(&fb->lock);
	j->has_thread = false;
	if (j->interrupting) {
		j->interrupting = false;
		fb->cancelling--;
	}
	if (res == -EINTR && j->cancel)
		res = -ECANCELED;
	if ((res == -EAGAIN || res == -EWOULDBLOCK) && j->rt->wait && j->fd >= 0 && !j->cancel) {
		if (bid >= 0)
			sr__group_unpick_send(g, n);
		sr__fb_rewait(fb, j);
		return;
	}
	sr__fb_job_result(fb, j, res, bid >= 0 ? IORING_CQE_F_BUFFER | ((uint32_t)bid << IORING_CQE_BUFFER_SHIFT) : 0);
}

static void *worker_main(void *arg)
{
	struct sr__fallback *fb = arg;
	unsigned char sqe[128] __attribute__((aligned(64)));

	block_signals();
	pthread_mutex_lock(&fb->lock);
	for (;;) {
		struct job *j;
		int32_t res;
		int bid;

		while (!fb->stop && !fb->runq) {
			fb->idle++;
			pthread_cond_wait(&fb->work, &fb->lock);
			fb->idle--;
		}
		if (fb->stop)
			break;
		j = queue_pop(&fb->runq, &fb->runq_tail);
		j->state = J_RUNNING;
		j->thread = pthread_self();
		j->tid = gettid();
		j->has_thread = true;
		if (j->group && j->group->_send) {
			memcpy(sqe, j->sqe, sizeof(sqe));
			send_job(fb, j, (struct io_uring_sqe *)sqe);
			continue;
		}
		bid = job_prepare(fb, j, sqe, sizeof(sqe));
		if (bid == -ENOBUFS) {
			j->has_thread = false;
			continue;
		}
		pthread_mutex_unlock(&fb->lock);
		res = j->rt->sys((struct io_uring_sqe *)sqe);
		pthread_mutex_lock(&fb->lock);
		j->has_thread = false;
		if (j->interrupting) {
			j->interrupting = false;
			fb->cancelling--;
		}
		job_ran(fb, j, res, bid);
	}
	pthread_mutex_unlock(&fb->lock);
	return NULL;
}

/* A regular file or block device: no peer to wait for. */
static bool plain_file(int fd)
{
	struct stat st;

	return fd >= 0 && !fstat(fd, &st) && (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode));
}

/*
 * SR_RING_FB_INLINE: the owner makes a call that does not sleep itself
 * (a call that waits for readiness only on a plain file),
 * lock held (a cancel cannot find it running), and its completion waits
 * on the done list for the next reap like any other.
 */
static bool run_inline(struct sr__fallback *fb, struct job *j)
{
	unsigned char sqe[128] __attribute__((aligned(64)));
	int bid;

	/* A send bundle's sendmsg(2) goes on a worker: it may block on its peer. */
	if (!(fb->r->_flags & SR_RING_FB_INLINE) || j->rt->sleeps || fb->r->_owner != sr__self() ||
	    (j->rt->wait && !plain_file(j->fd)) || (j->group && j->group->_send))
		return false;
	j->state = J_RUNNING;
	bid = job_prepare(fb, j, sqe, sizeof(sqe));
	if (bid != -ENOBUFS)
		job_ran(fb, j, j->rt->sys((struct io_uring_sqe *)sqe), bid);
	return true;
}

/* Post a repeating timer's expirations, as far as its records have room. */
void sr__fb_timer_ticks(struct sr__fallback *fb, struct job *j)
{
	while (j->ticks && j->state == J_WAIT && rec_room(j)) {
		j->ticks--;
		sr__fb_job_result(fb, j, -ETIME, 0);
		if (j->state == J_HELD)
			j->state = J_WAIT;	/* the timerfd repeats by itself */
	}
	if (j->state == J_ENDED)
		sr__fb_epoll_forget(fb, j);
}

static void timer_fired(struct sr__fallback *fb, struct job *j)
{
	uint64_t n = 0;

	if (read(j->tfd, &n, sizeof(n)) != sizeof(n) || !n)
		return;
	if (j->emu == SR_EMU_LINK_TIMER) {
		struct job *a = target_of(j);

		/* The linked op loses: it is cancelled, and the chain goes on
		 * from it (the timer drops out). */
		if (a) {
			link_after(a, chained(j));
			link_after(j, NULL);
			set_target(j, NULL);
			if (fb->chain_last == j)
				fb->chain_last = a;
			sr__fb_post_cancel_request(fb, a);
		}
		sr__fb_epoll_forget(fb, j);
		sr__fb_post(fb, j, -ETIME, 0, true);
		return;
	}
	j->ticks += n;
	sr__fb_timer_ticks(fb, j);
}

static void *poller_main(void *arg)
{
	struct sr__fallback *fb = arg;
	struct epoll_event ev[64];

	block_signals();
	for (;;) {
		int n = epoll_wait(fb->epfd, ev, 64, fb->cancelling ? 10 : -1);

		pthread_mutex_lock(&fb->lock);
		if (fb->stop) {
			pthread_mutex_unlock(&fb->lock);
			break;
		}
		for (int i = 0; i < n; i++) {
			uint64_t tag = ev[i].data.u64;
			struct job *j;

			if (tag == WAKE_TAG) {
				drain_fd(fb->pwake);
				continue;
			}
			if ((uint32_t)tag >= fb->njobs)
				continue;
			j = fb->jobs[(uint32_t)tag];
			if (j->gen != (uint32_t)(tag >> 32) || j->state != J_WAIT)
				continue;
			if (j->tfd >= 0) {
				timer_fired(fb, j);
			} else if (j->kind == K_SYSCALL) {
				enqueue(fb, j);
			} else {
				uint32_t mask = ev[i].events & (j->events | EPOLLERR | EPOLLHUP);

				sr__fb_job_result(fb, j, (int32_t)mask, 0);
				if (j->state == J_ENDED)
					sr__fb_epoll_forget(fb, j);
			}
		}
		/* A signal can land just before the system call starts: repeat it. */
		if (fb->cancelling && sr__fb_signal)
			for (uint32_t k = 0; k < fb->njobs; k++)
				if (fb->jobs[k]->state == J_RUNNING && fb->jobs[k]->cancel && fb->jobs[k]->has_thread)
					pthread_kill(fb->jobs[k]->thread, sr__fb_signal);
		pthread_mutex_unlock(&fb->lock);
	}
	return NULL;
}

/* The epoll thread, started with the first wait.  False (errno EAGAIN)
 * when it cannot be. */
bool sr__fb_start_poller(struct sr__fallback *fb)
{
	if (!fb->poller_up)
		fb->poller_up = start_thread(&fb->poller, poller_main, fb);
	if (!fb->poller_up)
		errno = EAGAIN;
	return fb->poller_up;
}

/* Wait in epoll (again): readiness for a system call, or a poll. */
bool sr__fb_epoll_wait_for(struct sr__fallback *fb, struct job *j, int fd)
{
	struct epoll_event ev = { .events = j->events | EPOLLONESHOT, .data.u64 = job_tag(j) };

	if (!sr__fb_start_poller(fb))
		return false;
	if (epoll_ctl(fb->epfd, j->in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) < 0)
		return false;
	j->in_epoll = true;
	j->state = J_WAIT;
	return true;
}

/* Is fd ready for events right now?  (Saves a trip through the poller.) */
static bool ready_now(int fd, uint32_t events)
{
	struct pollfd p = { .fd = fd, .events = (short)events };

	return poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLOUT | POLLERR | POLLHUP));
}

/* A system call that waits for readiness: run it now if the descriptor is
 * ready, else wait in epoll. */
void sr__fb_wait_or_run(struct sr__fallback *fb, struct job *j)
{
	if (j->rt->wait && j->fd >= 0 && !ready_now(j->fd, j->events) && sr__fb_epoll_wait_for(fb, j, j->fd))
		return;
	if (run_inline(fb, j))
		return;
	enqueue(fb, j);
}

void sr__fb_rewait(struct sr__fallback *fb, struct job *j)
{
	if (j->kind == K_SYSCALL)
		sr__fb_wait_or_run(fb, j);
	else if (!sr__fb_epoll_wait_for(fb, j, j->fd))
		sr__fb_post(fb, j, -errno, 0, true);
}

/*
 * Is thread tid of this process blocked in a system call other than a
 * wait for lock (the backend's own mutex)?  /proc/self/task/TID/syscall
 * says "running", or the call's number and arguments.
 */
static bool thread_blocked(pid_t tid, const void *lock)
{
	char path[64], buf[256];
	unsigned long nr, arg0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;	/* cannot tell: do not wait */
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return true;
	buf[n] = 0;
	if (sscanf(buf, "%lu %lx", &nr, &arg0) != 2)
		return false;	/* "running" */
	return !(nr == SYS_futex && arg0 == (uintptr_t)lock);
}

/*
 * io_uring queues some waits at submission (a futex wake right after the
 * submit finds the waiter).  The fallback's system call must be asleep
 * before submit returns, or has already finished.
 */
void sr__fb_wait_asleep(struct sr__fallback *fb, struct job *j)
{
	uint32_t gen = j->gen;

	/* Up to 2 s: a slow machine (an emulated CPU) takes a while to get there. */
	for (int i = 0; i < 40000; i++) {
		bool running = j->state == J_RUNNING && j->has_thread;
		pid_t tid = j->tid;

		if (j->gen != gen || (j->state != J_QUEUED && !running))
			return;
		pthread_mutex_unlock(&fb->lock);
		if (running && thread_blocked(tid, &fb->lock)) {
			pthread_mutex_lock(&fb->lock);
			return;
		}
		usleep(50);
		pthread_mutex_lock(&fb->lock);
	}
}

/* --- cancel ------------------------------------------------------------------------------ */

void sr__fb_cancel_job(struct sr_ring *r, struct job *j)
{
	struct sr__fallback *fb = r->_fb;

	if (j->state == J_FREE || j->state == J_ENDED)
		return;
	j->cancel = true;
	switch (j->state) {
	case J_QUEUED:
		for (struct job **pp = &fb->runq; *pp; pp = &(*pp)->next)
			if (*pp == j) {
				*pp = j->next;
				if (fb->runq_tail == j) {
					fb->runq_tail = NULL;
					for (struct job *q = fb->runq; q; q = q->next)
						fb->runq_tail = q;
				}
				break;
			}
		sr__fb_post(fb, j, -ECANCELED, 0, true);
		break;
	case J_RUNNING:
		if (!j->interrupting)
			fb->cancelling++;
		j->interrupting = true;
		if (sr__fb_signal && j->has_thread)
			pthread_kill(j->thread, sr__fb_signal);
		kick(fb->pwake);	/* the poller repeats the signal */
		break;
	case J_KERNEL:
		if (sr__push_cancel(r, job_kud(j)) < 0)
			j->cancel = false;	/* no room now: a later cancel retries */
		break;
	default:	/* parked, waiting, held */
		sr__fb_epoll_forget(fb, j);
		close_fd(&j->tfd);
		sr__fb_post(fb, j, -ECANCELED, 0, true);
	}
}
