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
 *
 * Files: route.c (which route an op takes), jobs.c (jobs and their
 * completion records), threads.c (workers, the epoll poller, the cancel
 * signal), emulate.c (starting jobs; timers, polls, cancels), chain.c
 * (IO_LINK chains), stage.c (submit: staging, commit, start), backend.c
 * (the hooks the core calls, reaping, whole rings), sys.c (system-call
 * shims of the routes).  Only these files include this header.
 */
#ifndef SR_SRC_FALLBACK_H
#define SR_SRC_FALLBACK_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/types.h>
#include <unistd.h>

#include "../backend.h"

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

/* --- small helpers ------------------------------------------------------------ */


static inline unsigned sqe_size(const struct sr_ring *r)
{
	return r->_uring_up ? 1U << r->_sqe_shift : 64;
}

static inline struct io_uring_sqe *jsqe(struct job *j)
{
	return (struct io_uring_sqe *)j->sqe;
}


static inline void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static inline void kick(int fd)
{
	uint64_t one = 1;

	if (fd >= 0 && write(fd, &one, sizeof(one)) < 0)
		(void)0;	/* the counter is full: it is readable anyway */
}

static inline void drain_fd(int fd)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) > 0)
		;
}

static inline uint64_t job_tag(const struct job *j)
{
	return ((uint64_t)j->gen << 32) | j->id;
}

static inline uint64_t job_kud(const struct job *j)
{
	return SR__UD_INTERNAL | ((uint64_t)SR__UDK_JOB << SR__UD_KIND_SHIFT) |
	       ((uint64_t)(j->gen & JOB_ID_MASK) << 40) | j->id;
}

static inline bool rec_room(const struct job *j)
{
	/* May a stream post one more non-final completion now?  One record
	 * is always kept for the final one. */
	return j->nrec < JOB_RECS - 1;
}

/*
 * Links between jobs (a chain's next op, a link timer's op) hold the
 * generation of the job they name: a job that ended and was freed, maybe
 * reused by another op, is no longer what the link meant.
 */
static inline void link_after(struct job *a, struct job *b)
{
	a->chain = b;
	a->chain_gen = b ? b->gen : 0;
}

static inline struct job *chained(const struct job *a)
{
	return a->chain && a->chain->gen == a->chain_gen ? a->chain : NULL;
}

static inline void set_target(struct job *t, struct job *a)
{
	t->target = a;
	t->target_gen = a ? a->gen : 0;
}

static inline struct job *target_of(const struct job *t)
{
	return t->target && t->target->gen == t->target_gen ? t->target : NULL;
}

/* Jobs queue up in a singly linked list through ->next. */
static inline void queue_push(struct job **head, struct job **tail, struct job *j)
{
	j->next = NULL;
	if (*tail)
		(*tail)->next = j;
	else
		*head = j;
	*tail = j;
}

static inline struct job *queue_pop(struct job **head, struct job **tail)
{
	struct job *j = *head;

	if (j) {
		*head = j->next;
		if (!*head)
			*tail = NULL;
	}
	return j;
}

/* --- the backend's own functions, by file --------------------------------------- */

/* route.c */
const struct sr_fb_route *sr__fb_pick(const struct sr_ring *r, unsigned op);
bool sr__fb_native(const struct sr_ring *r, unsigned op);
bool sr__fb_kernel_has(const struct sr_ring *r, unsigned op);
void sr__fb_warn_once(unsigned op, const char *why, const struct sr_fb_route *rt);

/* jobs.c */
void sr__fb_done_remove(struct sr__fallback *fb, struct job *j);
void sr__fb_epoll_forget(struct sr__fallback *fb, struct job *j);
int sr__fb_job_drain(struct sr_ring *r, struct job *j);
void sr__fb_job_result(struct sr__fallback *fb, struct job *j, int32_t res, uint32_t cflags);
struct job *sr__fb_job_spare(struct sr__fallback *fb);
struct job *sr__fb_next_pending(struct sr__fallback *fb);
void sr__fb_pend(struct sr__fallback *fb, struct job *j);
void sr__fb_post(struct sr__fallback *fb, struct job *j, int32_t res, uint32_t cflags, bool final);
void sr__fb_post_cancel_request(struct sr__fallback *fb, struct job *target);
bool sr__fb_rearm_waits(const struct job *j);
void sr__fb_spare_release(struct sr__fallback *fb);
bool sr__fb_spare_take(struct sr__fallback *fb, unsigned n);

/* threads.c */
void sr__fb_signals_init(void);
void sr__fb_cancel_job(struct sr_ring *r, struct job *j);
bool sr__fb_epoll_wait_for(struct sr__fallback *fb, struct job *j, int fd);
void sr__fb_rewait(struct sr__fallback *fb, struct job *j);
bool sr__fb_start_poller(struct sr__fallback *fb);
void sr__fb_timer_ticks(struct sr__fallback *fb, struct job *j);
void sr__fb_wait_asleep(struct sr__fallback *fb, struct job *j);
void sr__fb_wait_or_run(struct sr__fallback *fb, struct job *j);

/* emulate.c */
void sr__fb_job_start(struct sr_ring *r, struct job *j);
int sr__fb_timer_start(struct sr__fallback *fb, struct job *j);
void sr__fb_to_kernel(struct sr_ring *r, struct job *j);

/* chain.c: ending a chain (a submit, or the kernel entered) */
void sr__fb_chain_end(struct sr_ring *r);
void sr__fb_unlink(struct sr_ring *r, uint32_t idx);
void sr__fb_chain_next(struct sr_ring *r, struct job *j, int32_t res);
void sr__fb_chain_stash(struct sr_ring *r);
void sr__fb_link_timer_join(struct sr__fallback *fb, struct job *t, struct job *pred);
struct job *sr__fb_pull_chain(struct sr_ring *r, struct job **lastp);
unsigned sr__fb_queued_chain(struct sr_ring *r, unsigned *startp);
bool sr__fb_queued_chain_ok(struct sr_ring *r);

/* stage.c: the hooks of submit (core.h says what each does) */
struct io_uring_sqe *sr__fb_begin(struct sr_ring *r, struct sr_op *op, unsigned opid, uint32_t *idxp);
void sr__fb_commit(struct sr_ring *r, uint32_t idx, struct io_uring_sqe *sqe);
bool sr__fb_staging(struct sr_ring *r, const struct io_uring_sqe *sqe);
void sr__fb_abort(struct sr_ring *r);
int sr__fb_submit(struct sr_ring *r);
int sr__fb_discard(struct sr_ring *r);

/* backend.c */
struct sr__fallback *sr__fb_get(struct sr_ring *r);

#endif
