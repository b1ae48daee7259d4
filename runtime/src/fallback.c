/* SPDX-License-Identifier: MIT */
/*
 * The fallback backend: ops the ring cannot run natively, and whole rings
 * when io_uring cannot be set up at all.
 *
 * Every such op becomes a job.  What a job does comes from its route in
 * the generated op table (spec: fallback):
 *   kernel   the SQE, converted to an alternate opcode, goes to the kernel
 *            under a user_data of the backend's own;
 *   syscall  a worker thread makes the system call on the SQE image, after
 *            epoll says the descriptor is ready when the route waits;
 *   emulate  timers (timerfd), polls (epoll) and the requests that act on
 *            other requests (cancel, remove, update) are done here.
 * A route may stand for a multishot op (re-armed after each completion
 * is taken) or a zero-copy one (result, then a notification), so the
 * caller sees the completion shape the spec gives the op.
 *
 * Threads: the ring's owner submits, cancels and reaps; worker threads run
 * system calls; one poller thread waits in epoll.  All job state is under
 * fb->lock.  Completions go through a queue to the owner, who accounts
 * them to slots exactly as kernel CQEs are.  On a ring with io_uring an
 * internal POLL_ADD on the queue's eventfd wakes the owner from
 * io_uring_enter; without io_uring the owner waits on that eventfd.
 *
 * IO_LINK chains that involve a fallback op run here, one op after the
 * other; native ops in such a chain are handed to the kernel in turn.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <linux/sockios.h>
#include <safer-ring/caps.h>

#include "fallback.h"

#define MAX_WORKERS	64
#define JOB_ID_MASK	0x7fffffU
#define WAKE_TAG	(~0ULL)
#define LINKS		(SR_IOSQE_IO_LINK | SR_IOSQE_IO_HARDLINK)

enum {
	J_FREE,
	J_PARKED,	/* in a chain, waiting for the op before it */
	J_WAIT,		/* in epoll: readiness, a timer, a poll */
	J_QUEUED,	/* waiting for a worker */
	J_RUNNING,	/* a worker is in its system call */
	J_KERNEL,	/* its SQE is with the kernel */
	J_HELD,		/* re-armed stream: waits until its last item is taken */
	J_ENDED,	/* final completion posted */
};

enum { K_KERNEL, K_SYSCALL, K_EMULATE };

/*
 * A job's completions wait for the owner in the job itself: no memory is
 * needed to post one, so a completion is never lost for want of it.  A
 * stream that runs ahead pauses when its records are nearly full (the last
 * is kept for the final completion) and goes on once the owner took them.
 */
#define JOB_RECS	4

struct rec {
	int32_t res;
	uint32_t cflags;
	bool final;
};

struct job {
	uint32_t id, gen;
	uint32_t slot;
	uint64_t ud;		/* the slot's user_data: completions are for it */
	const struct sr_fb_route *rt;	/* NULL: a native op run as is (in a chain) */
	uint8_t state, kind, emu;
	uint8_t link;		/* the op's IOSQE_IO_LINK / _HARDLINK */
	bool cancel;		/* cancellation asked */
	bool interrupting;	/* counted in fb->cancelling */
	bool in_epoll;
	bool proxy;		/* an emulation handed to the kernel: its own SQE runs there */
	bool report_usage;	/* zero-copy stand-in: say the data was copied (it was) */
	bool pending;		/* committed, waiting for the next submit (as an SQE waits in the SQ) */
	bool enobufs;		/* a stream that goes on after -ENOBUFS ... */
	bool starved;		/* ... and now waits for its group to get a buffer back */
	int fd;			/* a duplicate the job owns (waits, runs on), or -1 */
	int ufd;		/* the descriptor as the caller gave it (cancel by fd) */
	int tfd;		/* timerfd, or -1 */
	int install;		/* a registered file to get a descriptor for first, or -1 */
	uint32_t events;	/* epoll events waited for */
	uint64_t left;		/* re-armed: completions left, 0 without a limit */
	uint64_t count;		/* timeout: completions to wait for (0: time only) */
	uint64_t count_base;
	int32_t extra;		/* cancel emulation: requests cancelled here */
	struct sr_bufgroup *group;	/* the op selects a buffer from it */
	pthread_t thread;
	pid_t tid;
	bool has_thread;
	struct job *next;	/* run queue, free list */
	struct job *chain;	/* the op linked after this one (valid while its gen is chain_gen) */
	struct job *target;	/* link timer: the op it times */
	uint32_t chain_gen, target_gen;	/* a freed (and reused) job is never followed */
	struct job *cnext;	/* list of timeouts with a completion count */
	struct job *dnext;	/* list of jobs with records for the owner */
	struct rec recs[JOB_RECS];	/* completions for the owner, in order */
	uint8_t rhead, nrec;
	bool in_done;		/* on the done list */
	bool cancel_req;	/* a link timer fired: the owner cancels the job */
	bool rearm_later;	/* a stream paused with full records: go on when taken */
	uint64_t ticks;		/* a repeating timer's expirations not yet posted */
	unsigned char sqe[128];	/* the SQE image that runs (exec op's layout) */
};

struct sr__fallback {
	pthread_mutex_t lock;
	pthread_cond_t work;
	struct job **jobs;
	uint32_t njobs;
	struct job *free;
	struct job *runq, *runq_tail;
	unsigned nthreads, idle, cancelling;
	pthread_t threads[MAX_WORKERS];
	pthread_t poller;
	bool poller_up, stop;
	int epfd;		/* the poller's epoll */
	int notify;		/* eventfd: completions are queued */
	int pwake;		/* eventfd: wake the poller */
	struct job *done_head, *done_tail;	/* jobs with records or a cancel request */
	struct job *spare;	/* jobs taken at submit for the op being built (and its chain) */
	uint32_t cap;		/* room in jobs[] */
	/* owner thread only */
	struct sr_ring *r;
	bool wake_armed;
	unsigned live;		/* jobs: while there are any, the wake-up poll is armed */
	unsigned reaped;	/* completions accounted by this reap */
	unsigned long items_total;	/* completions accounted (timeouts with a count) */
	struct job *counters;
	struct job *pend_head, *pend_tail;	/* jobs to start at the next submit, in order */
	bool chain_open;	/* the last op had IO_LINK: the next joins it */
	struct job *chain_last;	/* the chain's last op, while it lives */
	bool chain_failed;	/* ... or how it ended */
	uint64_t native_saved[SR__NATIVE_WORDS];
	const struct sr_fb_route *stage_rt;
	uint16_t stage_op;
	bool stage_pull;	/* native SQEs queued in an open chain join the new op's */
	bool stage_rearm;	/* the op goes on after -ENOBUFS */
	unsigned cq_head, cq_tail;	/* rings without io_uring: an always empty CQ */
	unsigned char stage[128] __attribute__((aligned(64)));
};

static int sr__fb_signal;	/* interrupts a worker's system call to cancel it (0: none) */

/* --- small helpers --------------------------------------------------------------- */

static unsigned sqe_size(const struct sr_ring *r)
{
	return r->_uring_up ? 1U << r->_sqe_shift : 64;
}

static struct io_uring_sqe *jsqe(struct job *j)
{
	return (struct io_uring_sqe *)j->sqe;
}

static bool bit(const uint64_t *map, unsigned op)
{
	return (map[op >> 6] >> (op & 63)) & 1;
}

bool sr__fb_native(const struct sr_ring *r, unsigned op)
{
	if (r->_fb && r->_fb->chain_open)
		return bit(r->_fb->native_saved, op);
	return sr__native(r, op);
}

static const char *op_name(unsigned op)
{
	return op < sr_op_count ? sr_op_table[op].name : "?";
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void kick(int fd)
{
	uint64_t one = 1;

	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0)
		(void)0;	/* the counter is full: it is readable anyway */
}

static void drain_fd(int fd)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) > 0)
		;
}

static uint64_t job_tag(const struct job *j)
{
	return ((uint64_t)j->gen << 32) | j->id;
}

static uint64_t job_kud(const struct job *j)
{
	return SR__UD_INTERNAL | ((uint64_t)SR__UDK_JOB << SR__UD_KIND_SHIFT) |
	       ((uint64_t)(j->gen & JOB_ID_MASK) << 40) | j->id;
}

/*
 * May the backend hand an emulated op's own SQE to the kernel (for targets
 * the kernel runs)?  Only if the ring runs the op natively: SR_KERNEL's
 * simulated kernel lacks what it lacks.  Cancellation is the exception:
 * like the runtime's own cancels (sr_NAME_cancel, teardown) it uses what
 * the running kernel has, since nothing else reaches a native request.
 */
static bool kernel_has(const struct sr_ring *r, unsigned op)
{
	const struct sr_caps *c = sr_caps_get();

	if (!r->_uring_up)
		return false;
	if (!sr_op_table[op].nroutes || sr_op_table[op].routes[0].emulate != SR_EMU_CANCEL)
		return sr__fb_native(r, op);
	return sr_op_table[op].kernel <= sr_kver_code(c->running) &&
	       (!c->have_probe || c->opcode_ok[sr_op_table[op].opcode]);
}

static bool groups_user(const struct sr_ring *r)
{
	return sr__group_mode(r) == SR__GROUP_USER;
}

/* Are the groups op picks from kept in user space (the backend picks)? */
static bool op_groups_user(const struct sr_ring *r, const struct sr_op_info *o)
{
	if (o->selects_buffer == SR__SELECT_SEND)
		return !sr__send_groups_native(r);
	return groups_user(r);
}

/*
 * A system call younger than io_uring (futex_waitv, 5.16): a real kernel
 * has it unless trying it gives ENOSYS; a simulated one by its date.
 */
static bool syscall_missing(const struct sr_fb_route *rt)
{
	const struct sr_caps *c = sr_caps_get();

	if (rt->engine != SR_FB_SYSCALL || !rt->sys_present)
		return false;
	return c->simulated ? rt->sys_kernel > sr_kver_code(c->kernel) : !rt->sys_present();
}

const char *sr__fb_none_why(const struct sr_ring *r, unsigned op, char *buf, size_t len)
{
	const struct sr_fb_route *rt = sr__fb_pick(r, op);

	if (rt)
		return rt->text;
	snprintf(buf, len, "none of its routes works on this ring");
	for (unsigned i = 0; op < sr_op_count && i < sr_op_table[op].nroutes; i++) {
		rt = &sr_op_table[op].routes[i];
		if (syscall_missing(rt)) {
			snprintf(buf, len, "%s is missing from this kernel (it came in Linux %u.%u)", rt->text,
				 rt->sys_kernel >> 16, (rt->sys_kernel >> 8) & 0xff);
			break;
		}
		if (rt->emulate == SR_EMU_CANCEL && r && r->_uring_up) {
			snprintf(buf, len, "an emulated cancel by descriptor cannot find the kernel's requests "
				 "on this ring");
			break;
		}
	}
	return buf;
}

const struct sr_fb_route *sr__fb_pick(const struct sr_ring *r, unsigned op)
{
	const struct sr_op_info *o;

	if (!r || op >= sr_op_count)
		return NULL;
	o = &sr_op_table[op];
	for (unsigned i = 0; i < o->nroutes; i++) {
		const struct sr_fb_route *rt = &o->routes[i];

		switch (rt->engine) {
		case SR_FB_KERNEL:
			if (!r->_uring_up || !sr__fb_native(r, rt->exec_op) ||
			    (rt->setup_all & r->_setup_flags) != rt->setup_all)
				continue;
			/* The kernel picks from kernel buffer rings only. */
			if (o->selects_buffer && op_groups_user(r, o))
				continue;
			return rt;
		case SR_FB_SYSCALL:
		case SR_FB_EMULATE:
			/* ... and the backend from its own lists only. */
			if (o->selects_buffer && !op_groups_user(r, o))
				continue;
			/* Only the backend's own file table can be read without the kernel. */
			if (rt->emulate == SR_EMU_FD_INSTALL && r->_uring_up)
				continue;
			/* A cancel by descriptor must find the kernel's requests
			 * too, which only the kernel's own (5.19) can: the backend
			 * knows no descriptor of theirs.  Judged on the kernel
			 * the ring believes in, so SR_KERNEL shows it. */
			if (rt->emulate == SR_EMU_CANCEL && r->_uring_up && o->fd_kind != SR_FD_NONE &&
			    (o->kernel > sr_kver_code(sr_caps_get()->kernel) || !kernel_has(r, op)))
				continue;
			if (syscall_missing(rt))
				continue;
			return rt;
		default:
			return rt;
		}
	}
	return NULL;
}

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
static struct job *job_spare(struct sr__fallback *fb)
{
	struct job *j = fb->spare;

	fb->spare = j->next;
	j->next = NULL;
	return j;
}

static void epoll_forget(struct sr__fallback *fb, struct job *j)
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
static void done_remove(struct sr__fallback *fb, struct job *j)
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

	done_remove(fb, j);
	if (j->pending)
		unpend(fb, j);
	epoll_forget(fb, j);
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

/* May a stream post one more non-final completion now?  One record is
 * always kept for the final one. */
static bool rec_room(const struct job *j)
{
	return j->nrec < JOB_RECS - 1;
}

/* Queue a completion for the owner.  final: the job posts nothing more. */
static void post(struct sr__fallback *fb, struct job *j, int32_t res, uint32_t cflags, bool final)
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

/*
 * Links between jobs (a chain's next op, a link timer's op) hold the
 * generation of the job they name: a job that ended and was freed, maybe
 * reused by another op, is no longer what the link meant.
 */
static void link_after(struct job *a, struct job *b)
{
	a->chain = b;
	a->chain_gen = b ? b->gen : 0;
}

static struct job *chained(const struct job *a)
{
	return a->chain && a->chain->gen == a->chain_gen ? a->chain : NULL;
}

static void set_target(struct job *t, struct job *a)
{
	t->target = a;
	t->target_gen = a ? a->gen : 0;
}

static struct job *target_of(const struct job *t)
{
	return t->target && t->target->gen == t->target_gen ? t->target : NULL;
}

static void post_cancel_request(struct sr__fallback *fb, struct job *target)
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
static bool rearm_waits(const struct job *j)
{
	return sr_op_table[j->rt->exec_op].result == SR_RESULT_MASK;
}

static void rewait(struct sr__fallback *fb, struct job *j);

/*
 * A route produced a result: post what the op's own shape would have.  A
 * re-armed stream posts an item with F_MORE and goes on (J_HELD while it
 * waits to be asked again); a two-phase route posts the result with F_MORE
 * and then the notification, as the zero-copy op does once the data is
 * sent.
 */
static void job_result(struct sr__fallback *fb, struct job *j, int32_t res, uint32_t cflags)
{
	uint8_t how = j->rt ? j->rt->how : SR_FB_SAME;

	/* Every buffer of the group is out: the stream pauses (an item says
	 * so) and goes on when the owner sees one come back. */
	if (res == -ENOBUFS && j->enobufs && !j->cancel) {
		post(fb, j, res, cflags | IORING_CQE_F_MORE, false);
		j->state = J_HELD;
		j->starved = true;
		return;
	}
	if (how == SR_FB_NOTIF) {
		if (res >= 0) {
			post(fb, j, res, cflags | IORING_CQE_F_MORE, false);
			post(fb, j, j->report_usage ? (int32_t)SR_IORING_NOTIF_USAGE_ZC_COPIED : 0, IORING_CQE_F_NOTIF, true);
		} else {
			post(fb, j, res, cflags, true);
		}
		return;
	}
	if (how == SR_FB_REARM && !j->cancel && more_while(j->rt, res) && j->left != 1) {
		if (j->left)
			j->left--;
		post(fb, j, res, cflags | IORING_CQE_F_MORE, false);
		j->state = J_HELD;
		/* Kernel routes are re-armed by the owner when it reaps the item;
		 * timerfds repeat by themselves; a stream whose records are
		 * nearly full waits for the owner to take them. */
		if (!rearm_waits(j) && j->kind != K_KERNEL && j->tfd < 0) {
			if (rec_room(j))
				rewait(fb, j);
			else
				j->rearm_later = true;
		}
		return;
	}
	post(fb, j, res, cflags & ~IORING_CQE_F_MORE, true);
}

/* --- threads ------------------------------------------------------------------------ */

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

static void block_signals(void)
{
	sigset_t all;

	sigfillset(&all);
	if (sr__fb_signal)
		sigdelset(&all, sr__fb_signal);
	pthread_sigmask(SIG_SETMASK, &all, NULL);
}

static void *worker_main(void *arg);

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

/* Jobs queue up in a singly linked list through ->next. */
static void queue_push(struct job **head, struct job **tail, struct job *j)
{
	j->next = NULL;
	if (*tail)
		(*tail)->next = j;
	else
		*head = j;
	*tail = j;
}

static struct job *queue_pop(struct job **head, struct job **tail)
{
	struct job *j = *head;

	if (j) {
		*head = j->next;
		if (!*head)
			*tail = NULL;
	}
	return j;
}

static void enqueue(struct sr__fallback *fb, struct job *j)
{
	if (!spawn_worker(fb)) {
		post(fb, j, -EAGAIN, 0, true);	/* no thread to run it (thread limits) */
		return;
	}
	j->state = J_QUEUED;
	queue_push(&fb->runq, &fb->runq_tail, j);
	pthread_cond_signal(&fb->work);
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
		rewait(fb, j);
		return;
	}
	job_result(fb, j, res, bid >= 0 ? IORING_CQE_F_BUFFER | ((uint32_t)bid << IORING_CQE_BUFFER_SHIFT) : 0);
}

static void *worker_main(void *arg)
{
	struct sr__fallback *fb = arg;
	unsigned char sqe[128] __attribute__((aligned(64)));

	block_signals();
	pthread_mutex_lock(&fb->lock);
	for (;;) {
		struct job *j;
		int bid = -1;
		int32_t res;
		uint32_t cf = 0;

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
		memcpy(sqe, j->sqe, sizeof(sqe));
		if (j->group && j->group->_send) {
			send_job(fb, j, (struct io_uring_sqe *)sqe);
			continue;
		}
		if (j->group) {
			struct sr_bufgroup *g = j->group;
			uint32_t want = sr__sqe_get32((struct io_uring_sqe *)sqe, SR_SQE_LEN);

			bid = sr__group_pick(g);
			if (bid < 0) {
				j->has_thread = false;
				job_result(fb, j, -ENOBUFS, 0);
				continue;
			}
			sr__sqe_put64((struct io_uring_sqe *)sqe, SR_SQE_ADDR, (uintptr_t)g->_bufs[bid]._data);
			sr__sqe_put32((struct io_uring_sqe *)sqe, SR_SQE_LEN,
				      want && want < g->_size ? want : (uint32_t)g->_size);
		}
		pthread_mutex_unlock(&fb->lock);
		res = j->rt->sys((struct io_uring_sqe *)sqe);
		pthread_mutex_lock(&fb->lock);
		j->has_thread = false;
		if (j->interrupting) {
			j->interrupting = false;
			fb->cancelling--;
		}
		if (res == -EINTR && j->cancel)
			res = -ECANCELED;
		if (bid >= 0 && res <= 0)
			sr__group_unpick(j->group, (unsigned)bid);
		else if (bid >= 0)
			cf = IORING_CQE_F_BUFFER | ((uint32_t)bid << IORING_CQE_BUFFER_SHIFT);
		/* Readiness raced with another reader: wait again. */
		if ((res == -EAGAIN || res == -EWOULDBLOCK) && j->rt->wait && j->fd >= 0 && !j->cancel) {
			rewait(fb, j);
			continue;
		}
		job_result(fb, j, res, cf);
	}
	pthread_mutex_unlock(&fb->lock);
	return NULL;
}

/* Post a repeating timer's expirations, as far as its records have room. */
static void timer_ticks(struct sr__fallback *fb, struct job *j)
{
	while (j->ticks && j->state == J_WAIT && rec_room(j)) {
		j->ticks--;
		job_result(fb, j, -ETIME, 0);
		if (j->state == J_HELD)
			j->state = J_WAIT;	/* the timerfd repeats by itself */
	}
	if (j->state == J_ENDED)
		epoll_forget(fb, j);
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
			post_cancel_request(fb, a);
		}
		epoll_forget(fb, j);
		post(fb, j, -ETIME, 0, true);
		return;
	}
	j->ticks += n;
	timer_ticks(fb, j);
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

				job_result(fb, j, (int32_t)mask, 0);
				if (j->state == J_ENDED)
					epoll_forget(fb, j);
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
static bool start_poller(struct sr__fallback *fb)
{
	if (!fb->poller_up)
		fb->poller_up = start_thread(&fb->poller, poller_main, fb);
	if (!fb->poller_up)
		errno = EAGAIN;
	return fb->poller_up;
}

/* Wait in epoll (again): readiness for a system call, or a poll. */
static bool epoll_wait_for(struct sr__fallback *fb, struct job *j, int fd)
{
	struct epoll_event ev = { .events = j->events | EPOLLONESHOT, .data.u64 = job_tag(j) };

	if (!start_poller(fb))
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
static void wait_or_run(struct sr__fallback *fb, struct job *j)
{
	if (j->rt->wait && j->fd >= 0 && !ready_now(j->fd, j->events) && epoll_wait_for(fb, j, j->fd))
		return;
	enqueue(fb, j);
}

static void rewait(struct sr__fallback *fb, struct job *j)
{
	if (j->kind == K_SYSCALL)
		wait_or_run(fb, j);
	else if (!epoll_wait_for(fb, j, j->fd))
		post(fb, j, -errno, 0, true);
}

/* --- starting jobs (owner thread, lock held) -------------------------------------------- */

static void job_start(struct sr_ring *r, struct job *j);

static int timer_arm(struct job *j, const struct __kernel_timespec *ts, uint32_t tflags)
{
	struct itimerspec its;
	int clock = (tflags & SR_IORING_TIMEOUT_BOOTTIME) ? CLOCK_BOOTTIME :
		    (tflags & SR_IORING_TIMEOUT_REALTIME) ? CLOCK_REALTIME : CLOCK_MONOTONIC;

	if (!ts || ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000)
		return -EINVAL;
	if (j->tfd < 0) {
		j->tfd = timerfd_create(clock, TFD_CLOEXEC | TFD_NONBLOCK);
		if (j->tfd < 0)
			return -errno;
	}
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = ts->tv_sec;
	its.it_value.tv_nsec = ts->tv_nsec;
	/* A zero relative time means now; timerfd would read it as "disarm". */
	if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
		its.it_value.tv_nsec = 1;
	if (j->rt && j->rt->how == SR_FB_REARM)
		its.it_interval = its.it_value;
	if (timerfd_settime(j->tfd, (tflags & SR_IORING_TIMEOUT_ABS) ? TFD_TIMER_ABSTIME : 0, &its, NULL) < 0)
		return -errno;
	return 0;
}

static int timer_start(struct sr__fallback *fb, struct job *j)
{
	const struct io_uring_sqe *sqe = jsqe(j);
	const struct __kernel_timespec *ts = (const void *)(uintptr_t)sr__sqe_get64(sqe, SR_SQE_ADDR);
	int ret = timer_arm(j, ts, sr__sqe_get32(sqe, SR_SQE_TIMEOUT_FLAGS));

	j->events = EPOLLIN;
	if (ret < 0)
		return ret;
	/* Not one-shot: a repeating timer keeps firing while items wait. */
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = job_tag(j) };

	if (!start_poller(fb))
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

static void cancel_job(struct sr_ring *r, struct job *j);
static int job_drain(struct sr_ring *r, struct job *j);

bool sr__fb_target(struct sr_ring *r, uint32_t idx, uint64_t *ud)
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

/* Hand the job's SQE to the kernel under the backend's user_data. */
static void to_kernel(struct sr_ring *r, struct job *j)
{
	struct io_uring_sqe *sqe = sr__sqe_internal(r);

	if (!sqe) {
		post(r->_fb, j, -EBUSY, 0, true);
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
		post(fb, j, 0, 0, true);
		return;
	case SR_EMU_FD_INSTALL:
		if (!r->_uring_up) {
			/* job_prepare turned the slot into a descriptor we hold. */
			bool keep = sr__sqe_get32(sqe, SR_SQE_INSTALL_FD_FLAGS) & SR_IORING_FIXED_FD_NO_CLOEXEC;
			int nfd = fcntl(j->fd, keep ? F_DUPFD : F_DUPFD_CLOEXEC, 0);

			post(fb, j, nfd < 0 ? -errno : nfd, 0, true);
			return;
		}
		break;
	case SR_EMU_CANCEL: {
		uint32_t cf = sr__sqe_get32(sqe, SR_SQE_CANCEL_FLAGS);
		bool by_fd = cf & SR_IORING_ASYNC_CANCEL_FD, any = cf & SR_IORING_ASYNC_CANCEL_ANY;
		bool all = (cf & SR_IORING_ASYNC_CANCEL_ALL) || any;
		int fd = (int)sr__sqe_get32(sqe, SR_SQE_FD);
		int n = 0;

		for (uint32_t k = 0; k < fb->njobs && (all || !n); k++) {
			x = fb->jobs[k];
			if (x == j || x->state == J_FREE || x->state == J_ENDED || x->cancel)
				continue;
			if (any || (by_fd ? x->ufd == fd && fd >= 0 : x->ud == target)) {
				cancel_job(r, x);
				n++;
			}
		}
		if ((n && !all) || !kernel_has(r, op)) {
			post(fb, j, n ? (all ? n : 0) : -ENOENT, 0, true);
			return;
		}
		j->extra = n;
		break;
	}
	case SR_EMU_TIMER_REMOVE:
	case SR_EMU_POLL_REMOVE:
		x = find_job(fb, target, j->emu == SR_EMU_TIMER_REMOVE ? SR_EMU_TIMER : SR_EMU_POLL);
		if (x) {
			cancel_job(r, x);
			post(fb, j, 0, 0, true);
			return;
		}
		break;
	case SR_EMU_TIMER_UPDATE:
		x = find_job(fb, target, SR_EMU_TIMER);
		if (x) {
			const struct __kernel_timespec *ts = (const void *)(uintptr_t)sr__sqe_get64(sqe, SR_SQE_ADDR2);

			post(fb, j, x->tfd >= 0 ? timer_arm(x, ts, sr__sqe_get32(sqe, SR_SQE_TIMEOUT_FLAGS)) : -ENOENT,
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
					epoll_wait_for(fb, x, x->fd);
			}
			post(fb, j, 0, 0, true);
			return;
		}
		break;
	}
	/* Not the backend's: the kernel's.  A target the backend hands to the
	 * kernel is known there by its own user_data. */
	x = find_job(fb, target, -1);
	if (!kernel_has(r, op) || (x && x->state != J_KERNEL)) {
		post(fb, j, -ENOENT, 0, true);
		return;
	}
	if (x && j->emu != SR_EMU_CANCEL)
		sr__sqe_put64(sqe, SR_SQE_ADDR, job_kud(x));
	j->proxy = true;
	to_kernel(r, j);
}

/* Get a plain descriptor for the registered file the job names. */
static void install_first(struct sr_ring *r, struct job *j)
{
	struct io_uring_sqe *sqe = sr__sqe_internal(r);

	if (!sqe) {
		post(r->_fb, j, -EBUSY, 0, true);
		return;
	}
	sr_prep_fixed_fd_install(sqe, j->install, 0);
	sqe->user_data = job_kud(j);
	j->state = J_KERNEL;
}

static void job_start(struct sr_ring *r, struct job *j)
{
	struct sr__fallback *fb = r->_fb;
	int ret;

	/* Only a job waiting for its turn starts: a chain member cancelled
	 * while it waited has ended already (its record is posted), and
	 * starting it would queue a job about to be freed. */
	if (j->state != J_PARKED)
		return;
	if (j->extra && j->emu == SR_EMU_NONE) {
		post(fb, j, j->extra, 0, true);	/* its setup failed; its turn is now */
		return;
	}
	if (chained(j) && chained(j)->emu == SR_EMU_LINK_TIMER && chained(j)->state == J_PARKED) {
		struct job *t = chained(j);

		set_target(t, j);
		ret = timer_start(fb, t);
		if (ret < 0)
			post(fb, t, ret, 0, true);
	}
	switch (j->kind) {
	case K_KERNEL:
		to_kernel(r, j);
		return;
	case K_SYSCALL:
		if (j->install >= 0) {
			install_first(r, j);
			return;
		}
		wait_or_run(fb, j);
		return;
	}
	switch (j->emu) {
	case SR_EMU_TIMER:
		ret = timer_start(fb, j);
		if (ret < 0) {
			post(fb, j, ret, 0, true);
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
		post(fb, j, -EINVAL, 0, true);
		return;
	case SR_EMU_POLL:
		if (epoll_wait_for(fb, j, j->fd))
			return;
		if (errno == EPERM)	/* regular files: always ready, as poll(2) says */
			post(fb, j, (int32_t)(j->events & (EPOLLIN | EPOLLOUT | EPOLLRDNORM | EPOLLWRNORM)), 0, true);
		else
			post(fb, j, -errno, 0, true);
		return;
	default:
		emulate_now(r, j);
	}
}

/* --- the chain ------------------------------------------------------------------------ */

/* A chain member ended with res: start what follows, or cancel it. */
static void chain_next(struct sr_ring *r, struct job *j, int32_t res)
{
	struct sr__fallback *fb = r->_fb;
	struct job *next = chained(j);
	bool failed = res < 0 && !(j->link & SR_IOSQE_IO_HARDLINK);

	/* A link timeout drops out of the chain: the op it timed goes on. */
	if (j->emu == SR_EMU_LINK_TIMER)
		return;
	link_after(j, NULL);
	if (next && next->emu == SR_EMU_LINK_TIMER) {
		struct job *t = next;

		/* The op won the race: its timer ends with -ECANCELED. */
		next = chained(t);
		link_after(t, NULL);
		set_target(t, NULL);
		if (fb->chain_last == t)
			fb->chain_last = j;
		if (t->state == J_WAIT || t->state == J_PARKED) {
			epoll_forget(fb, t);
			close_fd(&t->tfd);
			post(fb, t, -ECANCELED, 0, true);
		}
	}
	if (fb->chain_last == j) {
		fb->chain_last = NULL;
		fb->chain_failed = failed;
	}
	if (!next)
		return;
	if (failed) {
		next->cancel = true;
		post(fb, next, -ECANCELED, 0, true);
	} else {
		job_start(r, next);
	}
}

/* Queued native SQEs at the SQ's tail that end in an open link: the
 * chain the new op joins.  Raw SQEs cannot be taken over. */
static unsigned queued_chain(struct sr_ring *r, unsigned *startp)
{
	struct io_uring_sq *sq = &r->_uring.sq;
	unsigned start = sq->sqe_tail;

	*startp = start;
	if (!r->_uring_up)
		return 0;
	while (start != sq->sqe_head) {
		struct io_uring_sqe *sqe = (struct io_uring_sqe *)((char *)sq->sqes +
			((size_t)((start - 1) & sq->ring_mask) << r->_sqe_shift));

		if (!(sqe->flags & LINKS))
			break;
		start--;
	}
	*startp = start;
	return sq->sqe_tail - start;
}

static bool queued_chain_ok(struct sr_ring *r)
{
	struct io_uring_sq *sq = &r->_uring.sq;
	unsigned start, n = queued_chain(r, &start);

	for (unsigned i = 0; i < n; i++) {
		struct io_uring_sqe *sqe = (struct io_uring_sqe *)((char *)sq->sqes +
			((size_t)((start + i) & sq->ring_mask) << r->_sqe_shift));
		uint64_t ud = sqe->user_data;
		uint32_t idx = (uint32_t)(ud & SR__UD_SLOT_MASK);

		if (!(ud & SR__UD_TRACKED) || (ud & SR__UD_OP_MASK) == SR__UD_OP_MASK || idx >= r->_nslots ||
		    r->_slots[idx]._ud != ud)
			return false;
	}
	return true;
}

/* Take the queued chain out of the SQ: its ops become jobs run in order. */
static struct job *pull_chain(struct sr_ring *r, struct job **lastp)
{
	struct sr__fallback *fb = r->_fb;
	struct io_uring_sq *sq = &r->_uring.sq;
	unsigned start, n = queued_chain(r, &start);
	struct job *head = NULL, *last = NULL;

	for (unsigned i = 0; i < n; i++) {
		struct io_uring_sqe *sqe = (struct io_uring_sqe *)((char *)sq->sqes +
			((size_t)((start + i) & sq->ring_mask) << r->_sqe_shift));
		uint32_t idx = (uint32_t)(sqe->user_data & SR__UD_SLOT_MASK);
		struct job *j = job_spare(fb);

		j->slot = idx;
		j->ud = sqe->user_data;
		j->kind = K_KERNEL;
		j->link = sqe->flags & LINKS;
		j->state = J_PARKED;
		memcpy(j->sqe, sqe, sqe_size(r));
		r->_slots[idx]._flags |= SR__SF_FALLBACK;
		r->_slotx[idx]._fb = j;
		if (last)
			link_after(last, j);
		else
			head = j;
		last = j;
	}
	sq->sqe_tail = start;
	*lastp = last;
	return head;
}

static void chain_stash(struct sr_ring *r)
{
	struct sr__fallback *fb = r->_fb;

	if (fb->chain_open)
		return;
	fb->chain_open = true;
	memcpy(fb->native_saved, r->_native, sizeof(r->_native));
	/* Every op now comes to sr__fb_begin and joins the chain. */
	memset(r->_native, 0, sizeof(r->_native));
}

void sr__fb_chain_end(struct sr_ring *r)
{
	struct sr__fallback *fb = r->_fb;

	if (!fb || !fb->chain_open)
		return;
	fb->chain_open = false;
	fb->chain_last = NULL;
	if (r->_state == SR__RING_LIVE)
		memcpy(r->_native, fb->native_saved, sizeof(r->_native));
}

/* --- submit ---------------------------------------------------------------------------- */

static void warn_once(unsigned op, const char *why, const struct sr_fb_route *rt)
{
	static unsigned char warned[256];

	if (__atomic_exchange_n(&warned[op & 255], 1, __ATOMIC_RELAXED))
		return;
	fprintf(stderr, "safer-ring: %s; using its fallback: %s\n", why, rt->text);
}

static struct sr__fallback *fb_new(struct sr_ring *r)
{
	struct sr__fallback *fb = sr__calloc(1, sizeof(*fb));
	pthread_mutexattr_t ma;
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = WAKE_TAG };
	static pthread_once_t sig_once = PTHREAD_ONCE_INIT;

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
	pthread_once(&sig_once, signal_init);
	return fb;
}

static struct sr__fallback *fb_get(struct sr_ring *r)
{
	if (!r->_fb)
		r->_fb = fb_new(r);
	return r->_fb;
}

static void spare_release(struct sr__fallback *fb);

/* Take n jobs for the op being built; false (nothing taken) without memory. */
static bool spare_take(struct sr__fallback *fb, unsigned n)
{
	pthread_mutex_lock(&fb->lock);
	for (unsigned i = 0; i < n; i++) {
		struct job *j = job_new(fb);

		if (!j) {
			pthread_mutex_unlock(&fb->lock);
			spare_release(fb);
			return false;
		}
		j->next = fb->spare;
		fb->spare = j;
	}
	pthread_mutex_unlock(&fb->lock);
	return true;
}

static void spare_release(struct sr__fallback *fb)
{
	pthread_mutex_lock(&fb->lock);
	while (fb->spare)
		job_unused(fb, job_spare(fb));
	pthread_mutex_unlock(&fb->lock);
}

struct io_uring_sqe *sr__fb_begin(struct sr_ring *r, struct sr_op *op, unsigned opid, uint32_t *idxp)
{
	const struct sr_fb_route *rt = NULL;
	struct sr__fallback *fb;
	bool native = sr__fb_native(r, opid);
	char why[200];
	uint32_t idx;
	unsigned need, n;

	if (r->_ext->capture) {
		sr__fail(-EOPNOTSUPP, "sr_%s_submit: %s", op_name(opid), sr__op_missing(r, opid, why, sizeof(why)));
		return NULL;
	}
	if (native && (op->_slow & SR__SLOW_BACKEND)) {
		/* Its target is the backend's: the backend acts on it. */
		const struct sr_op_info *o = &sr_op_table[opid];

		for (unsigned i = 0; i < o->nroutes && !rt; i++)
			if (o->routes[i].engine == SR_FB_EMULATE)
				rt = &o->routes[i];
		if (!rt) {
			sr__fail(-EOPNOTSUPP, "sr_%s_submit: its target runs on the fallback backend, which "
				 "cannot carry out %s", op_name(opid), op_name(opid));
			return NULL;
		}
	} else if (!native) {
		rt = sr__fb_pick(r, opid);
		sr__op_missing(r, opid, why, sizeof(why));
		if (r->_policy == SR_POLICY_STRICT) {
			sr__fail(-EOPNOTSUPP, "sr_%s_submit: %s (policy STRICT takes no fallback)", op_name(opid), why);
			return NULL;
		}
		if (!rt || rt->engine == SR_FB_NONE) {
			char none[160];

			sr__fail(-EOPNOTSUPP, "sr_%s_submit: %s; no fallback: %s", op_name(opid), why,
				 sr__fb_none_why(r, opid, none, sizeof(none)));
			return NULL;
		}
		if (rt->engine != SR_FB_KERNEL && op->_personality) {
			sr__fail(-EOPNOTSUPP, "sr_%s_submit: %s, and a personality cannot apply to its fallback "
				 "(%s)", op_name(opid), why, rt->text);
			return NULL;
		}
		if (rt->engine == SR_FB_SYSCALL && (op->_slow & SR__SLOW_FIXED_FILE) && r->_uring_up &&
		    !sr__fb_native(r, SR_OP_FIXED_FD_INSTALL)) {
			sr__fail(-EOPNOTSUPP, "sr_%s_submit: %s, and its fallback (%s) needs a plain descriptor for "
				 "the registered file, which takes fixed_fd_install (Linux 6.8)", op_name(opid), why,
				 rt->text);
			return NULL;
		}
	} else {
		/* A native op in a fallback op's chain; a link timeout there is
		 * emulated, since the op it times is the backend's. */
		const struct sr_op_info *o = &sr_op_table[opid];

		for (unsigned i = 0; i < o->nroutes; i++)
			if (o->routes[i].emulate == SR_EMU_LINK_TIMER)
				rt = &o->routes[i];
	}
	fb = fb_get(r);
	if (!fb) {
		sr__fail(-ENOMEM, "sr_%s_submit: out of memory for the fallback backend", op_name(opid));
		return NULL;
	}
	fb->stage_pull = false;
	need = 1;
	if (!fb->chain_open && (n = queued_chain(r, &idx))) {
		if (!queued_chain_ok(r)) {
			sr__fail(-EINVAL, "sr_%s_submit: %s runs on its fallback and cannot join an IO_LINK chain "
				 "that has raw SQEs in it", op_name(opid), op_name(opid));
			return NULL;
		}
		fb->stage_pull = true;
		need += n;
	}
	/* Every job the commit needs is taken now, while the submit can fail. */
	if (!spare_take(fb, need)) {
		sr__fail(-ENOMEM, "sr_%s_submit: out of memory for the fallback job", op_name(opid));
		return NULL;
	}
	idx = r->_free;
	if (idx == SR__NONE && (idx = sr__slot_grow(r)) == SR__NONE) {
		spare_release(fb);
		return NULL;
	}
	sr__slot_take(r, idx);
	if (r->_policy == SR_POLICY_WARN && !native)
		warn_once(opid, why, rt);
	fb->stage_rt = rt;
	fb->stage_rearm = op->_slow & SR__SLOW_REARM;
	fb->stage_op = (uint16_t)opid;
	memset(fb->stage, 0, sizeof(fb->stage));
	op->_special |= SR__SPECIAL_FALLBACK;
	r->_fb_building = true;
	*idxp = idx;
	return (struct io_uring_sqe *)fb->stage;
}

bool sr__fb_staging(struct sr_ring *r, const struct io_uring_sqe *sqe)
{
	return r->_fb && sqe == (const struct io_uring_sqe *)r->_fb->stage;
}

void sr__fb_abort(struct sr_ring *r)
{
	r->_fb_building = false;
	if (r->_fb)
		spare_release(r->_fb);
}

/* Fill in a job from the staged SQE: route, descriptor, buffer group, limits. */
static int job_prepare(struct sr_ring *r, struct job *j, const struct io_uring_sqe *stage)
{
	const struct sr_fb_route *rt = j->rt;
	struct io_uring_sqe *sqe = jsqe(j);
	int fd;

	memcpy(j->sqe, stage, sizeof(j->sqe));
	sqe->flags &= (uint8_t)~(LINKS | SR_IOSQE_IO_DRAIN);
	if (!rt) {
		j->kind = K_KERNEL;
		return 0;
	}
	if (rt->repeat_bits)
		j->left = rt->repeat_bits == 64 ? sr__sqe_get64(stage, rt->repeat_off) :
			  sr__sqe_get32(stage, rt->repeat_off);
	if (rt->how == SR_FB_NOTIF)
		j->report_usage = sr__sqe_get16(stage, SR_SQE_IOPRIO) & SR_IORING_SEND_ZC_REPORT_USAGE;
	for (unsigned i = 0; i < rt->nxform; i++)
		rt->xform[i](sqe);
	if (rt->engine == SR_FB_KERNEL) {
		j->kind = K_KERNEL;
		return 0;
	}
	j->kind = rt->engine == SR_FB_SYSCALL ? K_SYSCALL : K_EMULATE;
	j->emu = rt->emulate;
	fd = (int)sr__sqe_get32(sqe, SR_SQE_FD);
	j->ufd = fd;
	if ((sqe->flags & SR_IOSQE_FIXED_FILE) && r->_uring_up) {
		/* A system call needs a descriptor: the kernel installs one
		 * for the registered file first.  Emulations hand their own
		 * SQE to the kernel, which knows the table. */
		if (j->kind == K_SYSCALL)
			j->install = fd;
		return 0;
	}
	if (sqe->flags & SR_IOSQE_FIXED_FILE) {
		fd = sr__file_fd(r, (unsigned)fd);
		if (fd < 0)
			return -EBADF;
		sqe->flags &= (uint8_t)~SR_IOSQE_FIXED_FILE;
	}
	if (sqe->flags & SR_IOSQE_BUFFER_SELECT) {
		j->group = r->_slotx[j->slot]._aux;
		if (!j->group || j->group->_mode != SR__GROUP_USER)
			return -EINVAL;
	}
	if (j->emu == SR_EMU_TIMER)
		j->count = sr__sqe_get32(sqe, SR_SQE_OFF);
	if (j->emu == SR_EMU_POLL)
		j->events = sr__sqe_get32(sqe, SR_SQE_POLL32_EVENTS) & 0xffff;
	else if (rt->wait)
		j->events = rt->wait == SR_FB_WAIT_IN ? EPOLLIN : EPOLLOUT;
	/* Waiting, or a registered file: the job holds its own reference to
	 * the file, as the kernel would, and runs on it. */
	if (j->events || (stage->flags & SR_IOSQE_FIXED_FILE)) {
		if (fd < 0)
			return -EBADF;
		j->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (j->fd < 0)
			return -errno;
		sr__sqe_put32(sqe, SR_SQE_FD, (uint32_t)j->fd);
	}
	return 0;
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
static void wait_asleep(struct sr__fallback *fb, struct job *j)
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

/* Committed jobs start at the next submit, as their SQEs would reach the kernel. */
static void pend(struct sr__fallback *fb, struct job *j)
{
	j->pending = true;
	queue_push(&fb->pend_head, &fb->pend_tail, j);
}

/* The next committed job still to start, or NULL. */
static struct job *next_pending(struct sr__fallback *fb)
{
	struct job *j;

	while ((j = queue_pop(&fb->pend_head, &fb->pend_tail))) {
		j->pending = false;
		if (j->state == J_PARKED && !j->cancel)
			return j;
	}
	return NULL;
}

int sr__fb_submit(struct sr_ring *r)
{
	struct sr__fallback *fb = r->_fb;
	struct job *j;
	int started = 0;

	if (!fb)
		return 0;
	pthread_mutex_lock(&fb->lock);
	sr__fb_chain_end(r);
	while ((j = next_pending(fb))) {
		job_start(r, j);
		started++;
		if (j->kind == K_SYSCALL && j->rt && j->rt->queued_at_submit)
			wait_asleep(fb, j);
	}
	pthread_mutex_unlock(&fb->lock);
	return started;
}

int sr__fb_discard(struct sr_ring *r)
{
	struct sr__fallback *fb = r->_fb;
	struct job *j;
	int n = 0;

	if (!fb)
		return 0;
	pthread_mutex_lock(&fb->lock);
	while ((j = next_pending(fb))) {
		j->cancel = true;
		post(fb, j, -ECANCELED, 0, true);
		n++;
	}
	sr__fb_chain_end(r);
	pthread_mutex_unlock(&fb->lock);
	return n;
}

/* A link timeout appended to an op that already started times it from now. */
static void link_timer_join(struct sr__fallback *fb, struct job *t, struct job *pred)
{
	int ret;

	set_target(t, pred);
	if (pred->state == J_PARKED)
		return;		/* started along with pred */
	ret = timer_start(fb, t);
	if (ret < 0)
		post(fb, t, ret, 0, true);
}

void sr__fb_commit(struct sr_ring *r, uint32_t idx, struct io_uring_sqe *stage)
{
	struct sr__fallback *fb = r->_fb;
	struct job *j, *head = NULL, *pred = NULL;
	bool timer;
	int err;

	r->_fb_building = false;
	pthread_mutex_lock(&fb->lock);
	if (fb->stage_pull)
		head = pull_chain(r, &pred);
	else if (fb->chain_open)
		pred = fb->chain_last;
	j = job_spare(fb);
	j->slot = idx;
	j->ud = r->_slots[idx]._ud;
	j->rt = fb->stage_rt;
	j->link = stage->flags & LINKS;
	j->state = J_PARKED;
	r->_slotx[idx]._fb = j;
	err = job_prepare(r, j, stage);
	if (fb->stage_rearm) {
		j->enobufs = true;
		j->group = r->_slotx[idx]._aux;
	}
	if (err < 0) {
		/* It fails with err when its turn comes. */
		j->kind = K_EMULATE;
		j->emu = SR_EMU_NONE;
		j->extra = err;
	}
	timer = j->emu == SR_EMU_LINK_TIMER;
	if (pred) {
		link_after(pred, j);
		if (timer)
			link_timer_join(fb, j, pred);
	} else if (fb->chain_open && (timer || fb->chain_failed)) {
		/* What it is linked to has ended: failed, or (a link timeout)
		 * finished before the timer could start. */
		j->cancel = true;
		post(fb, j, -ECANCELED, 0, true);
	} else {
		pend(fb, j);
	}
	if (head)
		pend(fb, head);
	/* A link timeout that found its op gone leaves the chain as it was. */
	if (pred || !timer || !fb->chain_open)
		fb->chain_last = j;
	if (j->link)
		chain_stash(r);
	else
		sr__fb_chain_end(r);
	pthread_mutex_unlock(&fb->lock);
}

/* --- cancel ------------------------------------------------------------------------------ */

static void cancel_job(struct sr_ring *r, struct job *j)
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
		post(fb, j, -ECANCELED, 0, true);
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
		epoll_forget(fb, j);
		close_fd(&j->tfd);
		post(fb, j, -ECANCELED, 0, true);
	}
}

int sr__fb_cancel(struct sr_ring *r, uint32_t idx)
{
	struct sr__fallback *fb = r->_fb;
	struct job *j = r->_slotx[idx]._fb;

	if (!fb || !j)
		return 0;
	pthread_mutex_lock(&fb->lock);
	cancel_job(r, j);
	pthread_mutex_unlock(&fb->lock);
	return 0;
}

/* --- completions -------------------------------------------------------------------------- */

bool sr__fb_cqe(struct sr_ring *r, const struct io_uring_cqe *cqe)
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
			post(fb, j, res == -EINVAL ? -EBADF : res, 0, true);
		} else {
			j->fd = res;
			jsqe(j)->flags &= (uint8_t)~SR_IOSQE_FIXED_FILE;
			sr__sqe_put32(jsqe(j), SR_SQE_FD, (uint32_t)res);
			j->state = J_PARKED;
			job_start(r, j);
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
		if (more && !rec_room(j) && job_drain(r, j) < 0) {
			pthread_mutex_unlock(&fb->lock);
			return false;
		}
		post(fb, j, res, cqe->flags, !more);
	} else {
		job_result(fb, j, res, cqe->flags);
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
		to_kernel(r, j);
	else
		rewait(fb, j);
}

void sr__fb_consumed(struct sr_ring *r, uint32_t idx)
{
	struct sr__fallback *fb = r->_fb;
	struct job *j = r->_slotx[idx]._fb;

	if (!fb || !j)
		return;
	/* starved is the workers' to set: read it under the lock (rearm does). */
	pthread_mutex_lock(&fb->lock);
	rearm(r, j);
	pthread_mutex_unlock(&fb->lock);
}

void sr__fb_unlink(struct sr_ring *r, uint32_t idx)
{
	struct sr__fallback *fb = r->_fb;
	struct job *j = r->_slotx[idx]._fb;

	if (!fb || !j)
		return;
	pthread_mutex_lock(&fb->lock);
	j->link = 0;
	if (fb->chain_open && fb->chain_last == j)
		sr__fb_chain_end(r);
	pthread_mutex_unlock(&fb->lock);
}

/* A buffer went back to group g: streams paused by -ENOBUFS go on. */
void sr__fb_group_refilled(struct sr_ring *r, struct sr_bufgroup *g)
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
			epoll_forget(fb, j);
			close_fd(&j->tfd);
			post(fb, j, 0, 0, true);
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

/*
 * Hand j's records to its slot, in order (owner thread, lock held).
 * Returns 1 when the final one freed the job, 0 when all were taken, or
 * -ENOMEM when one could not be recorded: it stays first, nothing lost.
 */
static int job_drain(struct sr_ring *r, struct job *j)
{
	struct sr__fallback *fb = r->_fb;

	while (j->nrec) {
		struct rec rc = j->recs[j->rhead];
		struct sr_slot *s = &r->_slots[j->slot];

		if (s->_ud == j->ud && s->_state == SR__SLOT_INFLIGHT) {
			if (!sr__complete(r, j->slot, rc.res, rc.cflags))
				return -ENOMEM;
			fb->items_total++;
			fb->reaped++;
		}
		j->rhead = (uint8_t)((j->rhead + 1) % JOB_RECS);
		j->nrec--;
		if (rc.final) {
			chain_next(r, j, rc.res);
			job_free(fb, j);
			return 1;
		}
	}
	return 0;
}

int sr__fb_reap(struct sr_ring *r, bool block)
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
			cancel_job(r, j);
		}
		ret = job_drain(r, j);
		if (ret < 0)
			break;
		if (ret)
			continue;	/* ended and freed */
		done_remove(fb, j);
		if (j->state == J_HELD && j->starved) {
			if (sr_bufgroup_available(j->group)) {
				j->starved = false;
				rearm(r, j);	/* buffers came back before the -ENOBUFS was seen */
			}
		} else if (j->rearm_later || (j->state == J_HELD && j->rt && !rearm_waits(j))) {
			rearm(r, j);	/* a kernel route's stream goes on (a timeout keeps its period) */
		}
		if (j->ticks)
			timer_ticks(fb, j);
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

int sr__fb_wait(struct sr_ring *r, int timeout_ms)
{
	struct pollfd p = { .fd = r->_fb ? r->_fb->notify : -1, .events = POLLIN };

	if (!r->_fb)
		return 0;
	if (poll(&p, 1, timeout_ms) < 0)
		return errno == EINTR ? -EINTR : sr__fail(-errno, "ring: waiting for the fallback backend failed");
	return 0;
}

int sr__fb_fd(const struct sr_ring *r)
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

static void fb_free(struct sr_ring *r);

void sr__fb_destroy(struct sr_ring *r)
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

/*
 * The child's copy after fork(): no thread of the backend exists here, its
 * lock may have been held by one, and the epoll set is shared with the
 * parent (a descriptor removed here would be removed there).  Only the
 * child's memory and its copies of the descriptors are released.
 */
void sr__fb_forget(struct sr_ring *r)
{
	if (r->_fb)
		fb_free(r);
}

/* --- system calls the routes use where libc has no single call ------------------------------ */

long sr__preadv2(int fd, const struct iovec *iov, int n, long long off, int flags)
{
	long ret = preadv2(fd, iov, n, (off_t)off, flags);

	if (ret < 0 && errno == ESPIPE && off != -1)
		ret = preadv2(fd, iov, n, -1, flags);
	return ret;
}

long sr__pwritev2(int fd, const struct iovec *iov, int n, long long off, int flags)
{
	long ret = pwritev2(fd, iov, n, (off_t)off, flags);

	if (ret < 0 && errno == ESPIPE && off != -1)
		ret = pwritev2(fd, iov, n, -1, flags);
	return ret;
}

int sr__connect(int fd, const struct sockaddr *addr, unsigned len)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	socklen_t sl = sizeof(int);
	int err = 0;

	if (connect(fd, addr, len) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return -1;
	/* A non-blocking socket: io_uring completes when the connection does. */
	while (poll(&p, 1, -1) == 0)
		;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0)
		return -1;
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

int sr__cmd_sock(int cmd_op, int fd, int level, int optname, void *optval, int optlen)
{
	socklen_t len = (socklen_t)optlen;
	int v;

	switch (cmd_op) {
	case SR_SOCKET_URING_OP_SIOCINQ:
		return ioctl(fd, SIOCINQ, &v) < 0 ? -1 : v;
	case SR_SOCKET_URING_OP_SIOCOUTQ:
		return ioctl(fd, SIOCOUTQ, &v) < 0 ? -1 : v;
	case SR_SOCKET_URING_OP_GETSOCKOPT:
		return getsockopt(fd, level, optname, optval, &len) < 0 ? -1 : (int)len;
	case SR_SOCKET_URING_OP_SETSOCKOPT:
		return setsockopt(fd, level, optname, optval, len);
	}
	errno = EINVAL;
	return -1;
}
