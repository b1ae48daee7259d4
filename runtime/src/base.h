/* SPDX-License-Identifier: MIT */
/*
 * The runtime's bottom layer: errors, allocation, and the ring's private
 * state.  Every other file of runtime/src includes this (through the
 * header of its own layer); it includes nothing of the runtime but the
 * public headers.  docs/architecture.md has the layers and what each may
 * call.
 */
#ifndef SR_SRC_BASE_H
#define SR_SRC_BASE_H

/*
 * The library is built with -fvisibility=hidden: what the public headers
 * declare (the API and the inline contract) is its interface, with
 * default visibility; runtime/libsafer-ring.map then exports only the
 * listed symbols.  Everything declared in runtime/src stays hidden.
 */
#pragma GCC visibility push(default)
#include <safer-ring.h>
#pragma GCC visibility pop

/* --- err.c ------------------------------------------------------------------ */

/*
 * Fail the calling function: sr_last_error() gets "sr_ring_submit: fmt
 * ... (EBUSY)" with the function's own name in front; returns err.
 * Helpers that report for a caller name it themselves with sr__fail.
 */
#define sr__err(err, fmt, ...) sr__fail((err), "%s: " fmt, __func__, ##__VA_ARGS__)

/* The op's name, for messages ("?" when out of range). */
const char *sr__op_name(unsigned op);
/* 0 when the calling thread may use r (its owner), else -EPERM with a message. */
int sr__ring_use(const struct sr_ring *r, const char *fn);
/* sr__ring_use, and -ESHUTDOWN once a destroy has begun: for calls that
 * give the ring something new to hold (groups, registrations). */
int sr__ring_adds(const struct sr_ring *r, const char *fn);
/* A wait's error as a public call returns it: the layers below leave an
 * interrupted wait (-EINTR) without a message, and name no call in theirs
 * ("ring: ..."); this says it for fn and puts fn's name in. */
int sr__interrupted(int ret, const char *fn);
/* fn was called from a completion callback of r: -EDEADLK with a message. */
int sr__in_callback(const struct sr_ring *r, const char *fn) sr__cold;

/* The ABI the generated op table was made for (generated/src/op_table.c). */
extern const unsigned sr_op_table_abi;

/* --- mem.c: every allocation of the library (SR_FAIL_ALLOC makes them fail) -- */

void *sr__malloc(size_t n);
void *sr__calloc(size_t n, size_t size);
void *sr__realloc(void *p, size_t n);
void *sr__memalign(size_t align, size_t n);
void *sr__mmap(size_t n);
void sr__munmap(void *p, size_t n);
long sr__mappings(void);
long sr__alloc_count(void);
void sr__fail_alloc_in(long n);

/* --- the ring's private state ------------------------------------------------ */

/* A queued completion: multishot items waiting for sr_NAME_wait, and
 * callback deliveries waiting for the reap loop to finish. */
struct sr__item {
	int32_t res;
	uint32_t cflags;
	uint32_t slot;
	uint32_t next;
	uint32_t fgen;		/* a multishot direct op's file generation for this item */
};

struct sr__backend;

/* Ring-private state that the inline paths never touch. */
struct sr__ring_ext {
	struct sr_ring *ring;
	struct sr__ring_ext *reg_next, *reg_prev;	/* the process's live rings (process.c) */
	const struct sr__backend *be;	/* the fallback backend's hooks (core.h) */
	uintptr_t creator;		/* the thread that set the ring up */
	struct sr__item *items;		/* pool of queued completions */
	uint32_t nitems, free_item;
	uint32_t dq_head, dq_tail;	/* callback deliveries: item indexes, or SR__DQ_SLOT | slot */
	unsigned max_inflight;
	unsigned cbs;			/* slots delivering to callbacks */
	unsigned delivering;		/* nesting depth of the delivery loop: callbacks run */
	bool destroying;		/* sr_ring_destroy is on the stack */
	unsigned long stale_cqes;	/* CQEs for slots no longer tracked (a bug if not 0) */
	unsigned long internal_cqes;	/* CQEs of the runtime's own requests */
	struct sr_bufgroup *groups;
	uint16_t next_bgid;
	struct sr_buf **regbufs;	/* registered buffers, by index */
	struct sr_pool *reg_pool;	/* or a registered pool */
	unsigned nregbufs;
	unsigned nfiles;		/* registered file table size */
	int *ufiles;			/* fallback backend rings: the table's descriptors (-1: empty) */
	uint32_t *file_gen;		/* per slot: the generation of what is in it (0: empty) */
	uint32_t file_epoch;		/* the last generation handed out */
	bool capture;			/* tests: build SQEs, never submit */
	unsigned chain_queued;		/* ops of an open chain before the one being added */
	unsigned chain_sq_start;	/* the SQ position of the open chain's first SQE */
	struct {		/* sr_ring_stats: counted off the inline paths */
		uint64_t fallback, enters, enobufs, canceled;
	} st;
	void (*trace)(struct sr_ring *r, const struct sr_trace_event *ev, void *arg);	/* or NULL */
	void *trace_arg;
	uint32_t trace_sq, trace_cq;	/* SQ and CQ positions traced up to */
	/* Watching (a trace, or sr_ring_set_ages): each enter reads back the
	 * SQEs it hands over and notes, per slot, when and in which chain
	 * (trace.c); sr_ring_dump shows it.  Off: enters test one bool. */
	bool watch, ages;
	struct sr__opinfo *opinfo;	/* by slot, nopinfo of them, or NULL */
	uint32_t nopinfo;
	char kernel_text[65];
	char disable[256];		/* ops the ring treats as missing */
};

#endif
