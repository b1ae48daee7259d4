/* SPDX-License-Identifier: MIT */
/* Runtime-internal declarations shared by the runtime's .c files. */
#ifndef SAFER_RING_INTERNAL_H
#define SAFER_RING_INTERNAL_H

#include <safer-ring.h>

/* A queued completion: multishot items waiting for sr_NAME_wait, and
 * callback deliveries waiting for the reap loop to finish. */
struct sr__item {
	int32_t res;
	uint32_t cflags;
	uint32_t slot;
	uint32_t next;
	uint32_t fgen;		/* a multishot direct op's file generation for this item */
};

/* Ring-private state that the inline paths never touch. */
struct sr__ring_ext {
	struct sr_ring *ring;
	struct sr__ring_ext *reg_next, *reg_prev;	/* the process's live rings (process.c) */
	uintptr_t creator;		/* the thread that set the ring up */
	struct sr__item *items;		/* pool of queued completions */
	uint32_t nitems, free_item;
	uint32_t dq_head, dq_tail;	/* callback deliveries (item indexes) */
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
	char kernel_text[65];
	char disable[256];		/* ops the ring treats as missing */
};

struct sr__ring_ext *sr__ext(struct sr_ring *r);

/* mem.c: every allocation of the library (SR_FAIL_ALLOC makes them fail). */
void *sr__malloc(size_t n);
void *sr__calloc(size_t n, size_t size);
void *sr__realloc(void *p, size_t n);
void *sr__memalign(size_t align, size_t n);
void *sr__mmap(size_t n);
long sr__alloc_count(void);

/* process.c: ring ids and the list of live rings (fork() marks them). */
void sr__ring_register(struct sr_ring *r);
void sr__ring_unregister(struct sr_ring *r);

/* caps.c */
void sr__caps_native(struct sr_ring *r, const char *disable, bool all);
int sr__setup(struct sr_ring *r, unsigned entries, const struct sr_ring_params *p);
const char *sr__op_missing(const struct sr_ring *r, unsigned op, char *buf, size_t len);
const char *sr__no_uring_why(const char *what, char *buf, size_t len);
/* The ring's kernel has this IORING_REGISTER_* operation (as simulated by SR_KERNEL). */
bool sr__register_ok(const struct sr_ring *r, unsigned code);

/* ring.c */
int sr__enter(struct sr_ring *r, bool block);
/* false: no memory to record it; nothing changed (the caller keeps it). */
bool sr__complete(struct sr_ring *r, uint32_t idx, int32_t res, uint32_t cflags);
/* 0 when the calling thread may use r (its owner), else -EPERM with a message. */
int sr__ring_use(const struct sr_ring *r, const char *fn);
/* The op's name, for messages ("?" when out of range). */
const char *sr__op_name(unsigned op);
struct io_uring_sqe *sr__sqe_internal(struct sr_ring *r);
int sr__push_cancel(struct sr_ring *r, uint64_t ud);
uint32_t sr__item_alloc(struct sr_ring *r);
void sr__item_free(struct sr_ring *r, uint32_t i);
void sr__deliver_pending(struct sr_ring *r);

/* buf.c / group.c / files.c teardown */
void sr__groups_destroy(struct sr_ring *r);
void sr__files_destroy(struct sr_ring *r);
/* pool.c: unregistering a pool */
int sr__pool_lent_check(struct sr_ring *r, struct sr_pool *p);
void sr__pool_unregistered(struct sr_ring *r, struct sr_pool *p);

/* The descriptor in a fallback ring's file table slot, or -1. */
int sr__file_fd(struct sr_ring *r, unsigned slot);

#endif
