/* SPDX-License-Identifier: MIT */
/*
 * Rings: creating, submitting, waiting, running callbacks, handing a
 * ring to another thread, tearing it down.  The per-op API (sr_NAME,
 * sr_submit, sr_wait, ...) is generated: safer-ring/api.h.
 */
#ifndef SAFER_RING_RING_H
#define SAFER_RING_RING_H

#include <safer-ring/inline.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Fallback policy when the running kernel lacks an op (see caps.h). */
enum sr_policy {
	SR_POLICY_GRACEFUL = 0,	/* take the spec's fallback chain */
	SR_POLICY_WARN,		/* the same, logged once per op */
	SR_POLICY_STRICT,	/* fail with an error naming the kernel needed */
};

struct sr_ring_params {
	unsigned entries;	/* SQ size; 0: 256 */
	unsigned cq_entries;	/* CQ size; 0: kernel default (2 x entries) */
	unsigned flags;		/* SR_RING_* */
	enum sr_policy policy;
	const char *disable;	/* comma-separated op names treated as missing */
	unsigned max_inflight;	/* 0: grow as needed */
};

enum {
	SR_RING_NO_LADDER	= 1 << 0,	/* plain setup, no optional setup flags */
	SR_RING_EVENTFD		= 1 << 1,	/* register an eventfd (sr_ring_eventfd) */
	SR_RING_FALLBACK	= 1 << 2,	/* run everything on the fallback backend */
	SR_RING_R_DISABLED	= 1 << 3,	/* tests: create the ring disabled */
	SR_RING_SQE128		= 1 << 4,	/* 128-byte SQEs (nop128, uring_cmd128) */
	SR_RING_CQE32		= 1 << 5,	/* 32-byte CQEs */
	SR_RING_CAPTURE		= 1 << 6,	/* tests: every op builds natively, nothing is submitted */
	SR_RING_SQ_NOFLUSH	= 1 << 7,	/* a full SQ fails the submit (-EBUSY) instead of being flushed */
	SR_RING_MOVABLE		= 1 << 8,	/* may be handed to another thread: no single-issuer setup */
	/*
	 * An op the ring runs by a system call (its fallback route) makes
	 * that call on the submitting thread, inside the submit, instead of
	 * handing it to a worker thread and back: cheaper for calls that take
	 * microseconds (statx, openat, mkdirat of a cached entry).  Its
	 * completion is delivered by the next run or wait like a CQE, never
	 * inside the submit.  Calls that may wait for another party (a
	 * socket, a pipe, a child, a futex: the spec's sleeps, wait and
	 * queued_at_submit routes) still go to a worker; reads and writes of
	 * regular files and block devices do not.  An inline call blocks the
	 * thread as the call itself would (an openat of a FIFO).
	 */
	SR_RING_FB_INLINE	= 1 << 9,
	SR_RING__ALL		= (1 << 10) - 1,
};

/*
 * A ring belongs to the thread that creates it (docs/safety.md): every
 * call on it, its ops, handles, files and groups comes from that thread,
 * or fails with -EPERM.  sr_ring_release and sr_ring_acquire hand it over.
 */
int sr_ring_create(struct sr_ring **ringp, const struct sr_ring_params *p);
/* Cancel what is in flight, wait until the kernel is done with every
 * buffer, free the ring.  -EDEADLK from one of the ring's own callbacks. */
int sr_ring_destroy(struct sr_ring *r);
/* The same, giving up after timeout_ms with -ETIMEDOUT: nothing is freed,
 * the ring stays closing (no new ops); destroy it again to go on. */
int sr_ring_destroy_timeout(struct sr_ring *r, int timeout_ms);
/* The owner lets go of the ring; then another thread sr_ring_acquire()s it. */
int sr_ring_release(struct sr_ring *r);
int sr_ring_acquire(struct sr_ring *r);
int sr_ring_submit(struct sr_ring *r);
int sr_ring_poll(struct sr_ring *r);
int sr_ring_run(struct sr_ring *r);
int sr_ring_run_once(struct sr_ring *r, int timeout_ms);
/* From any thread or a signal handler: sr_ring_run returns when it next wakes. */
void sr_ring_stop(struct sr_ring *r);
int sr_ring_fd(const struct sr_ring *r);
int sr_ring_eventfd(struct sr_ring *r);
unsigned sr_ring_inflight(const struct sr_ring *r);
int sr_ring_discard(struct sr_ring *r);
struct io_uring *sr_ring_uring(struct sr_ring *r);
bool sr_ring_native(const struct sr_ring *r, unsigned op);
const char *sr_ring_backend(const struct sr_ring *r);

/*
 * What a ring has done since it was created (sr_ring_stats).  Counted
 * off the per-op fast paths: ops and completions the inline code takes
 * whole are seen in the kernel's ring counters, the rest where the
 * runtime handles them anyway.
 */
struct sr_ring_stats {
	/* By route.  io_uring: the kernel's SQ and CQ counters (modulo 2^32),
	 * the runtime's own requests and the fallback's kernel routes among them. */
	uint64_t sqes_submitted;	/* SQEs handed to the kernel */
	uint64_t cqes_reaped;		/* CQEs consumed from the kernel's CQ */
	uint64_t fallback_ops;		/* ops the fallback backend took */
	uint64_t fallback_completions;	/* completions it posted (multishot items each) */
	uint64_t enters;		/* submits and waits the runtime took to the kernel or backend */
	uint64_t cq_overflows;		/* CQEs the kernel dropped (its overflow counter); with
					 * IORING_FEAT_NODROP it holds them back instead, and
					 * sr_ring_dump's cq says overflow_held=yes */
	uint64_t enobufs;		/* completions with -ENOBUFS */
	uint64_t cancellations;		/* completions with -ECANCELED */
	uint64_t inflight;		/* ops in flight now */
};
/* Fill st (size: sizeof(*st), so later fields can be added); 0 or -errno. */
int sr_ring_stats(struct sr_ring *r, struct sr_ring_stats *st, size_t size);
/* Everything in the ring at a glance: backend, flags, queues, ops in
 * flight with their buffers, buffer groups, registered resources. */
int sr_ring_dump(struct sr_ring *r, FILE *out);
/* The same as one JSON object (one line). */
int sr_ring_dump_json(struct sr_ring *r, FILE *out);
/*
 * Ages and chains in the dump: on, each enter notes the time and the chain
 * place of the ops it hands to the kernel (the fallback backend: of each op
 * it takes), and sr_ring_dump shows each op's age and chain.  A trace (or
 * SR_DEBUG=1) notes the same, and SR_AGES=1 in the environment turns it on
 * for every ring created; off, enters pay one test and ops nothing.
 */
int sr_ring_set_ages(struct sr_ring *r, bool on);

/*
 * Tracing: every submit and completion, with op name, result and route.
 * SR_DEBUG=1 in the environment traces every ring to stderr; or give a
 * ring a callback.  Ops are seen where they cross into the kernel (each
 * enter: the SQEs it hands over, then the CQEs it finds) and where the
 * fallback backend starts and finishes them, so tracing costs the
 * per-op paths nothing, on or off.
 */
enum sr_trace_kind {
	SR_TRACE_SUBMIT = 1,
	SR_TRACE_COMPLETE,
};
struct sr_trace_event {
	enum sr_trace_kind kind;
	const char *op;		/* the op's name; "raw" for sr_NAME_raw ops */
	const char *route;	/* "native" or "fallback" */
	uint32_t slot;		/* the op's slot (raw ops: 0) */
	uint64_t user_data;	/* as the kernel sees it (raw ops: yours) */
	int fd;			/* submit: the SQE's fd */
	int32_t res;		/* complete: the result */
	uint32_t flags;		/* complete: the CQE flags */
};
typedef void (*sr_trace_fn)(struct sr_ring *r, const struct sr_trace_event *ev, void *arg);
/* Trace r to fn (NULL: tracing off, SR_DEBUG's stderr included).  fn runs
 * inside the ring's own calls: every call it makes on r fails (-EDEADLK). */
int sr_ring_set_trace(struct sr_ring *r, sr_trace_fn fn, void *arg);

/* The last error message of this thread: op, argument, and what to do. */
const char *sr_last_error(void);

/*
 * Raw completions: ops queued with sr_NAME_raw() carry your user_data.
 * sr_raw_reap(r, out, max) (inline, safer-ring/inline.h) copies out up to
 * max of their CQEs without entering the kernel: how many, or a negative
 * error; completions of tracked ops met on the way are accounted to them.
 */
/* Block until at least one raw completion is there; copy out up to max:
 * how many, or a negative error. */
int sr_raw_wait(struct sr_ring *r, struct io_uring_cqe *out, unsigned max);

#ifdef __cplusplus
}
#endif

#endif
