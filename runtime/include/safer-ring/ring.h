/* SPDX-License-Identifier: MIT */
/*
 * safer-ring runtime: rings, op slots, submission and completion plumbing.
 *
 * Nothing here knows about individual opcodes; the generated api.h builds
 * each op's typed functions on the inline helpers below.  Members whose
 * names start with an underscore are private: they are in the header only
 * so that the submit and complete paths can be inlined.
 */
#ifndef SAFER_RING_RING_H
#define SAFER_RING_RING_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <liburing.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Contract between generated code and this runtime; see generator/srgen/__init__.py. */
#define SR_GEN_ABI 1

/* liburing 2.4+ has version macros; without them, assume 2.3 (the oldest we support). */
#ifdef IO_URING_VERSION_MAJOR
#define SR__LIBURING_AT_LEAST(a, b) \
	(IO_URING_VERSION_MAJOR > (a) || (IO_URING_VERSION_MAJOR == (a) && IO_URING_VERSION_MINOR >= (b)))
#else
#define SR__LIBURING_AT_LEAST(a, b) ((a) < 2 || ((a) == 2 && (b) <= 3))
#endif

#ifdef __cplusplus
#define SR__STATIC_ASSERT(c, m) static_assert(c, m)
#else
#define SR__STATIC_ASSERT(c, m) _Static_assert(c, m)
#endif

#define sr__likely(x)	__builtin_expect(!!(x), 1)
#define sr__unlikely(x)	__builtin_expect(!!(x), 0)
#define sr__cold	__attribute__((cold, noinline))

struct sr_ring;
struct sr_buf;
struct sr_bufgroup;
struct sr_slot;

/* A submitted op: which slot, and which use of it. */
struct sr_handle {
	uint32_t slot;
	uint32_t gen;
};

/* What every completion carries. */
struct sr_cqe {
	int32_t res;
	uint32_t flags;		/* IORING_CQE_F_* */
};

/* Builder header: first member of every struct sr_NAME_op. */
struct sr_op {
	struct io_uring_sqe _sqe;	/* image copied into the SQ at submit */
	uint16_t _op;			/* SR_OP_* */
	uint8_t _state;			/* SR__OP_READY, SR__OP_SPENT */
	uint8_t _fixed;			/* fd is a registered-file index */
};

enum {
	SR__OP_READY = 0x5a,
	SR__OP_SPENT = 0xa5,
};

/* Fallback policy when the running kernel lacks an op (see features.h). */
enum sr_policy {
	SR_POLICY_GRACEFUL = 0,	/* take the spec's fallback chain */
	SR_POLICY_WARN,		/* the same, logged once per op */
	SR_POLICY_STRICT,	/* fail with an error naming the kernel needed */
};

/* Op table entry (generated/src/op_table.c). */
struct sr_op_info {
	const char *name;
	uint8_t opcode;
	uint8_t shape;		/* SR_SHAPE_* */
	uint8_t fd_kind;	/* SR_FD_* */
	uint8_t result;		/* SR_RESULT_* */
	uint32_t kernel;	/* major<<16 | minor<<8 | patch */
	uint32_t setup_any;	/* IORING_SETUP_* of which one is needed, or 0 */
	const char *helper;	/* reference liburing helper, or NULL */
	const char *helper_since;
	const char *lifetimes;	/* human summary of memory lifetimes */
	const char *fallback;	/* human summary of the fallback chain */
	const char *doc;
	int16_t fallback_op;	/* first alternate SR_OP_*, or -1 */
	uint8_t fallback_how;	/* SR_FB_* */
	uint8_t has_syscall;	/* chain ends in a syscall */
	/* Completion-time work: return buffers, copy results.  NULL for ops
	 * without memory.  final: this CQE ends the op's use of its memory. */
	void (*finish)(struct sr_ring *r, struct sr_slot *s, int res, uint32_t cflags, bool final);
};

enum { SR_SHAPE_SINGLE, SR_SHAPE_MULTISHOT, SR_SHAPE_NOTIF };
enum { SR_FD_NONE, SR_FD_FILE, SR_FD_SOCKET, SR_FD_ANY };
enum { SR_RESULT_STATUS, SR_RESULT_BYTES, SR_RESULT_FD, SR_RESULT_SLOT, SR_RESULT_COUNT,
       SR_RESULT_MASK, SR_RESULT_INDEX, SR_RESULT_VALUE };
enum { SR_FB_SAME, SR_FB_REARM, SR_FB_NOTIF };

extern const struct sr_op_info sr_op_table[];
extern const unsigned sr_op_count;
extern const unsigned sr_op_table_abi;

typedef void (*sr__deliver_fn)(struct sr_ring *r, struct sr_slot *s);

/* One in-flight op.  The first 32 bytes are all submit and reap touch. */
struct sr_slot {
	uint32_t _gen;		/* bumped each time the slot is freed */
	uint16_t _op;
	uint8_t _state;		/* SR__SLOT_* */
	uint8_t _flags;		/* SR__SF_*: anything beyond a plain single CQE */
	int32_t _res;
	uint32_t _cflags;
	uint64_t _ud;		/* the user_data this use of the slot carries */
	uint32_t _next;		/* free list link */
	uint32_t _store_cap;
	/* cold */
	uint32_t _qhead;	/* multishot: queued completions (item pool indexes) */
	uint32_t _qtail;
	int32_t _res0;		/* two-phase ops: the result CQE's res */
	uint32_t _cflags0;
	void *_store;		/* op storage: copies, results, iovecs (grown, reused) */
	sr__deliver_fn _deliver;	/* callback trampoline, or NULL when waited */
	void (*_cb)(void);	/* the typed callback, cast back by _deliver */
	void *_cb_arg;
	void *_aux;		/* provided-buffer group of the op */
	struct sr_buf *_lent[2];	/* owned buffers of simple ops */
};

enum {
	SR__SLOT_FREE = 0,
	SR__SLOT_INFLIGHT,	/* in the SQ or the kernel (or the fallback backend) */
	SR__SLOT_DONE,		/* final completion arrived; waiting to be consumed */
};

enum {
	SR__SF_FINISH	= 1 << 0,	/* call the op's finish at completion */
	SR__SF_MULTI	= 1 << 1,	/* multishot: several completions */
	SR__SF_NOTIF	= 1 << 2,	/* result, then notification */
	SR__SF_CB	= 1 << 3,	/* deliver through a callback */
	SR__SF_GOTRES	= 1 << 4,	/* two-phase: result CQE seen */
	SR__SF_FALLBACK	= 1 << 5,	/* running on the fallback path */
	SR__SF_CANCEL	= 1 << 6,	/* cancel requested */
};

/* user_data: bit 63 marks ops the runtime tracks; raw ops keep it clear. */
#define SR__UD_TRACKED		(1ULL << 63)
#define SR__UD_INTERNAL		(~0ULL >> 1)	/* the runtime's own untracked SQEs */
#define SR__NONE		UINT32_MAX

#define SR__NATIVE_WORDS	4	/* room for 256 ops in the feature bitmap */

struct sr__ring_ext;
struct sr__fallback;

struct sr_ring {
	struct io_uring _uring;
	uint64_t _native[SR__NATIVE_WORDS];	/* per op: runs natively (one bit test) */
	struct sr_slot *_slots;
	uint32_t _nslots;
	uint32_t _free;		/* free slot list head */
	uint32_t _inflight;	/* slots not free */
	uint32_t _state;	/* SR__RING_* */
	int _policy;		/* enum sr_policy */
	unsigned _flags;	/* SR_RING_* asked for */
	unsigned _setup_flags;	/* IORING_SETUP_* the kernel accepted */
	unsigned _features;	/* IORING_FEAT_* */
	int _eventfd;
	bool _uring_up;		/* _uring is a live kernel ring */
	bool _stop;
	struct sr__fallback *_fb;	/* fallback backend, or NULL */
	struct sr__ring_ext *_ext;	/* everything the inline paths never touch */
	/* Completions of raw ops met while reaping for tracked ones. */
	struct io_uring_cqe *_rawq;
	uint32_t _rawq_head, _rawq_tail, _rawq_cap;
};

enum {
	SR__RING_LIVE = 1,
	SR__RING_CLOSING,
};

/* --- public ring API (ring.c) ---------------------------------------------- */

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
};

int sr_ring_create(struct sr_ring **ringp, const struct sr_ring_params *p);
int sr_ring_destroy(struct sr_ring *r);
int sr_ring_submit(struct sr_ring *r);
int sr_ring_poll(struct sr_ring *r);
int sr_ring_run(struct sr_ring *r);
int sr_ring_run_once(struct sr_ring *r, int timeout_ms);
void sr_ring_stop(struct sr_ring *r);
int sr_ring_fd(const struct sr_ring *r);
int sr_ring_eventfd(struct sr_ring *r);
unsigned sr_ring_inflight(const struct sr_ring *r);
int sr_ring_discard(struct sr_ring *r);
struct io_uring *sr_ring_uring(struct sr_ring *r);
bool sr_ring_native(const struct sr_ring *r, unsigned op);
const char *sr_ring_backend(const struct sr_ring *r);

/* The last error message of this thread: op, argument, and what to do. */
const char *sr_last_error(void);

/* --- private helpers used by generated code --------------------------------- */

int sr__fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3), cold));
int sr__op_state_error(const struct sr_op *op, const char *fn) sr__cold;
int sr__handle_error(struct sr_ring *r, const struct sr_handle *h, unsigned op, const char *fn) sr__cold;
int sr__begin_slow(struct sr_ring *r, struct sr_op *op, unsigned opid, struct io_uring_sqe **sqep,
		   struct sr_slot **slotp);
struct sr_slot *sr__slot_grow(struct sr_ring *r);
struct io_uring_sqe *sr__sqe_slow(struct sr_ring *r);
int sr__wait_some(struct sr_ring *r, bool block);
void sr__reap_slow(struct sr_ring *r, struct sr_slot *s, const struct io_uring_cqe *cqe);
void sr__reap_other(struct sr_ring *r, const struct io_uring_cqe *cqe);
void sr__commit_fallback(struct sr_ring *r, struct sr_slot *s, struct io_uring_sqe *sqe);
void *sr__store(struct sr_ring *r, struct sr_slot *s, size_t size);
int sr__cancel(struct sr_ring *r, const struct sr_handle *h, unsigned op, const char *fn);
int sr__target(struct sr_ring *r, const struct sr_handle *h, const char *fn, const char *arg, uint64_t *ud);
int sr__raw_unavailable(struct sr_ring *r, unsigned op);
int sr__set_sqe_flags(struct sr_op *op, unsigned flags, const char *fn);
int sr__abort(struct sr_ring *r, struct sr_slot *s, struct io_uring_sqe *sqe, int err, const char *fn);
int sr__next(struct sr_ring *r, const struct sr_handle *h, unsigned op, const char *fn, bool block,
	     struct sr_slot **sp);
void sr__next_done(struct sr_ring *r, struct sr_slot *s);
void sr__cb_added(struct sr_ring *r);

static inline size_t sr__align16(size_t n)
{
	return (n + 15) & ~(size_t)15;
}

/* --- SQE field stores ------------------------------------------------------- */

/*
 * The spec carries field offsets (generated ops.h), so ops newer than the
 * installed headers' struct io_uring_sqe can still be built.  memcpy keeps
 * the stores free of aliasing trouble and compiles to one mov each.
 */
#define SR__SQE_PUT(bits)							\
static inline void sr__sqe_put##bits(struct io_uring_sqe *sqe, unsigned off,	\
				     uint##bits##_t v)				\
{										\
	memcpy((char *)sqe + off, &v, sizeof(v));				\
}										\
static inline void sr__sqe_or##bits(struct io_uring_sqe *sqe, unsigned off,	\
				    uint##bits##_t v)				\
{										\
	uint##bits##_t cur;							\
	memcpy(&cur, (char *)sqe + off, sizeof(cur));				\
	cur |= v;								\
	memcpy((char *)sqe + off, &cur, sizeof(cur));				\
}
SR__SQE_PUT(8)
SR__SQE_PUT(16)
SR__SQE_PUT(32)
SR__SQE_PUT(64)
#undef SR__SQE_PUT

static inline uint64_t sr__sqe_get64(const struct io_uring_sqe *sqe, unsigned off)
{
	uint64_t v;

	memcpy(&v, (const char *)sqe + off, sizeof(v));
	return v;
}

static inline uint32_t sr__sqe_get32(const struct io_uring_sqe *sqe, unsigned off)
{
	uint32_t v;

	memcpy(&v, (const char *)sqe + off, sizeof(v));
	return v;
}

/* What every prep helper does first: clear all but user_data, set the opcode. */
static inline void sr__sqe_init(struct io_uring_sqe *sqe, uint8_t opcode)
{
	memset(sqe, 0, 32);
	memset((char *)sqe + 40, 0, 24);
	sqe->opcode = opcode;
}

/* Direct-descriptor index encoding: slot + 1, and ALLOC stays ALLOC. */
static inline uint32_t sr__file_index(uint32_t idx)
{
	return idx == UINT32_MAX ? idx : idx + 1;
}

/* --- the hot path ---------------------------------------------------------------- */

static inline bool sr__native(const struct sr_ring *r, unsigned op)
{
	return (r->_native[op >> 6] >> (op & 63)) & 1;
}

static inline void sr__op_begin(struct sr_op *op, unsigned opid, uint8_t opcode)
{
	memset(&op->_sqe, 0, sizeof(op->_sqe));
	op->_sqe.opcode = opcode;
	op->_op = (uint16_t)opid;
	op->_state = SR__OP_READY;
	op->_fixed = 0;
}

/*
 * Take a slot and an SQE and copy the op's image in.  Fails only when the
 * op cannot run at all; a full SQ is flushed, a full slot table grows.
 */
static inline int sr__begin(struct sr_ring *r, struct sr_op *op, unsigned opid,
			    struct io_uring_sqe **sqep, struct sr_slot **slotp)
{
	struct io_uring_sqe *sqe;
	struct sr_slot *s;
	uint32_t idx;

	if (sr__unlikely(!sr__native(r, opid) || op->_fixed))
		return sr__begin_slow(r, op, opid, sqep, slotp);
	idx = r->_free;
	if (sr__unlikely(idx == SR__NONE)) {
		s = sr__slot_grow(r);
		if (!s)
			return -ENOMEM;
		idx = (uint32_t)(s - r->_slots);
	}
	sqe = io_uring_get_sqe(&r->_uring);
	if (sr__unlikely(!sqe)) {
		sqe = sr__sqe_slow(r);
		if (!sqe)
			return -EBUSY;
	}
	s = &r->_slots[idx];
	r->_free = s->_next;
	r->_inflight++;
	s->_op = (uint16_t)opid;
	s->_state = SR__SLOT_INFLIGHT;
	s->_flags = 0;
	s->_deliver = NULL;
	memcpy(sqe, &op->_sqe, sizeof(*sqe));
	*sqep = sqe;
	*slotp = s;
	return 0;
}

/* Stamp user_data, poison the builder, hand out the handle. */
static inline void sr__commit(struct sr_ring *r, struct sr_op *op, struct sr_slot *s,
			      struct io_uring_sqe *sqe, struct sr_handle *h)
{
	uint32_t idx = (uint32_t)(s - r->_slots);
	uint64_t ud = SR__UD_TRACKED | ((uint64_t)s->_gen << 32) | idx;

	s->_ud = ud;
	op->_state = SR__OP_SPENT;
	h->slot = idx;
	h->gen = s->_gen;
	if (sr__unlikely(s->_flags & SR__SF_FALLBACK)) {
		sr__commit_fallback(r, s, sqe);
		return;
	}
	sqe->user_data = ud;
}

/* Account one CQE to its slot. */
static inline void sr__reap_one(struct sr_ring *r, const struct io_uring_cqe *cqe)
{
	uint64_t ud = cqe->user_data;
	struct sr_slot *s;

	if (sr__unlikely(!(ud & SR__UD_TRACKED))) {
		sr__reap_other(r, cqe);
		return;
	}
	s = &r->_slots[(uint32_t)ud];
	if (sr__likely(!s->_flags && s->_ud == ud)) {
		s->_res = cqe->res;
		s->_cflags = cqe->flags;
		s->_state = SR__SLOT_DONE;
		return;
	}
	sr__reap_slow(r, s, cqe);
}

/* Reap every CQE that is ready, without entering the kernel. */
static inline unsigned sr__reap_ready(struct sr_ring *r)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;

	io_uring_for_each_cqe(&r->_uring, head, cqe) {
		sr__reap_one(r, cqe);
		n++;
	}
	if (n)
		io_uring_cq_advance(&r->_uring, n);
	return n;
}

/* Validate a handle: right op, still this use of the slot. */
static inline struct sr_slot *sr__slot_of(struct sr_ring *r, const struct sr_handle *h,
					  unsigned op)
{
	struct sr_slot *s;

	if (sr__unlikely(h->slot >= r->_nslots))
		return NULL;
	s = &r->_slots[h->slot];
	if (sr__unlikely(s->_gen != h->gen || s->_op != op || s->_state == SR__SLOT_FREE))
		return NULL;
	return s;
}

/* Wait until a single-shot or two-phase op is done. */
static inline int sr__wait_done(struct sr_ring *r, const struct sr_handle *h, unsigned op,
				const char *fn, struct sr_slot **sp)
{
	struct sr_slot *s = sr__slot_of(r, h, op);
	int ret;

	if (sr__unlikely(!s || (s->_flags & SR__SF_CB)))
		return sr__handle_error(r, h, op, fn);
	while (s->_state != SR__SLOT_DONE) {
		ret = sr__wait_some(r, true);
		if (sr__unlikely(ret < 0))
			return ret;
		s = &r->_slots[h->slot];	/* a callback may have grown the table */
	}
	*sp = s;
	return 0;
}

/* Non-blocking variant: -EAGAIN while the op is in flight. */
static inline int sr__poll_done(struct sr_ring *r, const struct sr_handle *h, unsigned op,
				const char *fn, struct sr_slot **sp)
{
	struct sr_slot *s = sr__slot_of(r, h, op);
	int ret;

	if (sr__unlikely(!s || (s->_flags & SR__SF_CB)))
		return sr__handle_error(r, h, op, fn);
	if (s->_state != SR__SLOT_DONE) {
		ret = sr__wait_some(r, false);
		if (sr__unlikely(ret < 0))
			return ret;
		s = &r->_slots[h->slot];
		if (s->_state != SR__SLOT_DONE)
			return -EAGAIN;
	}
	*sp = s;
	return 0;
}

/* Free a slot whose final completion has been consumed. */
static inline void sr__free_slot(struct sr_ring *r, struct sr_slot *s)
{
	s->_gen = (s->_gen + 1) & 0x7fffffff;
	s->_state = SR__SLOT_FREE;
	s->_next = r->_free;
	r->_free = (uint32_t)(s - r->_slots);
	r->_inflight--;
}

/* --- raw completions ----------------------------------------------------------- */

unsigned sr__raw_reap_slow(struct sr_ring *r, struct io_uring_cqe *out, unsigned max);

/*
 * Copy out up to max completions of ops queued with sr_NAME_raw() (their
 * user_data is yours) without entering the kernel.  Completions of
 * tracked ops met on the way are accounted to their slots.
 */
static inline unsigned sr_raw_reap(struct sr_ring *r, struct io_uring_cqe *out, unsigned max)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0, seen = 0;

	if (sr__unlikely(r->_rawq_head != r->_rawq_tail || !r->_uring_up))
		return sr__raw_reap_slow(r, out, max);
	io_uring_for_each_cqe(&r->_uring, head, cqe) {
		if (n == max)
			break;
		seen++;
		if (sr__unlikely((cqe->user_data & SR__UD_TRACKED) || cqe->user_data == SR__UD_INTERNAL)) {
			sr__reap_one(r, cqe);
			continue;
		}
		out[n++] = *cqe;
	}
	io_uring_cq_advance(&r->_uring, seen);
	return n;
}

/* Block until at least one raw completion is there; copy out up to max. */
int sr_raw_wait(struct sr_ring *r, struct io_uring_cqe *out, unsigned max);

#ifdef __cplusplus
}
#endif

#endif
