/* SPDX-License-Identifier: MIT */
/*
 * safer-ring: the inline contract.
 *
 * What the generated inline API (safer-ring/api.h) needs from the
 * runtime, and nothing else: the layouts of the structs its inline code
 * reads and writes (rings, slots, buffers, groups, registered files, op
 * builders and handles), the inline fast paths of submit and wait, and
 * the sr__ functions those call.  Every member whose name starts with an
 * underscore, and every sr__ name, is private: programs use the public
 * headers (safer-ring.h), which include this one.
 *
 * This header is an ABI promise (docs/abi.md): the sr__ functions
 * declared here are exported by libsafer-ring.so.0 (runtime/libsafer-ring.map,
 * "the inline contract"), because programs compiled against these headers
 * call them; changing one, or a layout here, is an incompatible change.
 * The last section declares what only the generated op table inside the
 * library uses; those are not exported.
 */
#ifndef SAFER_RING_INLINE_H
#define SAFER_RING_INLINE_H

/*
 * liburing.h needs POSIX and GNU declarations (sigset_t, cpu_set_t,
 * loff_t); like liburing itself, ask for them when the program has not,
 * before any system header locks the feature set in.
 */
#if !defined(_GNU_SOURCE) && !defined(__cplusplus)
#define _GNU_SOURCE 1
#endif

#include <liburing.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Contract between generated code and this runtime; see generator/srgen/__init__.py. */
#define SR_GEN_ABI 2

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
/* The hot paths of submit and wait: inline whatever the compiler's size
 * heuristics say (a call costs the hot path more than the code it saves). */
#define sr__always_inline	inline __attribute__((always_inline))

struct sr_ring;
struct sr_buf;
struct sr_bufgroup;
struct sr_slot;

/*
 * A submitted op.  It holds the op's user_data, which names the slot, the
 * slot's generation and the op, and the id of the ring it belongs to: a
 * stale, forged or foreign handle never matches.
 */
struct sr_handle {
	uint64_t _ud;
	uint64_t _ring;		/* the ring's id (never reused in the process) */
};

/* What every completion carries. */
struct sr_cqe {
	int32_t res;
	uint32_t flags;		/* IORING_CQE_F_* */
};

/* Builder header: first member of every struct sr_NAME_op. */
struct sr_op {
	uint16_t _op;			/* SR_OP_* */
	uint8_t _state;			/* SR__OP_READY, SR__OP_SPENT */
	uint8_t _special;		/* any of the below is set: submit takes the slow path */
	uint8_t _sqe_flags;		/* IOSQE_* from sr_NAME_set_sqe_flags */
	uint8_t _slow;			/* SR__SLOW_*: submit takes the slow path */
	uint16_t _personality;
};

enum {
	SR__OP_READY = 0x5a,
	SR__OP_SPENT = 0xa5,
};

enum {
	SR__SLOW_FIXED_FILE = 1 << 0,	/* the fd argument is a registered-file index */
	SR__SLOW_BACKEND = 1 << 1,	/* its target runs on the fallback backend: so must it */
	SR__SLOW_REARM = 1 << 2,	/* a stream that goes on after -ENOBUFS (the backend re-arms it) */
};

enum {
	SR__SPECIAL_SET = 1 << 0,	/* flags, personality or a fixed file to apply */
	SR__SPECIAL_FALLBACK = 1 << 1,	/* the op runs on the fallback path */
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
	const struct sr_fb_route *routes;	/* the fallback chain, flattened, best first */
	uint8_t nroutes;
	uint8_t selects_buffer;	/* the kernel picks the buffer from a provided-buffer group:
				 * SR__SELECT_FILL to fill, SR__SELECT_SEND from a send group */
	uint8_t ntargets;
	const uint16_t *targets;	/* SR_OP_* this op can act on (remove, update) */
	/* Completion-time work: return buffers, mark results written.  NULL
	 * for ops without memory.  final: this CQE ends the op's use of it. */
	void (*finish)(struct sr_ring *r, uint32_t idx, int res, uint32_t cflags, bool final);
};

enum { SR_SHAPE_SINGLE, SR_SHAPE_MULTISHOT, SR_SHAPE_NOTIF };
enum { SR_FD_NONE, SR_FD_FILE, SR_FD_SOCKET, SR_FD_ANY };
enum { SR__SELECT_NONE, SR__SELECT_FILL, SR__SELECT_SEND };
enum { SR_RESULT_STATUS, SR_RESULT_BYTES, SR_RESULT_FD, SR_RESULT_SLOT, SR_RESULT_COUNT,
       SR_RESULT_MASK, SR_RESULT_INDEX, SR_RESULT_VALUE };
/* A way to run an op the ring cannot run natively (generated from the spec). */
struct sr_fb_route {
	uint8_t engine;		/* SR_FB_KERNEL, _SYSCALL, _EMULATE, _NONE */
	uint8_t how;		/* SR_FB_SAME, _REARM (stands for a multishot op), _NOTIF (for a zero-copy one) */
	uint8_t wait;		/* SR_FB_WAIT_*: readiness to wait for on a pollable fd first */
	uint8_t emulate;	/* SR_EMU_* */
	uint8_t more_while;	/* SR_FB_MORE_*: re-armed streams go on while the result is this */
	uint8_t queued_at_submit;	/* the system call must be asleep before submit returns */
	uint8_t repeat_bits;	/* re-armed: size of the repeat limit in the op's own SQE, or 0 */
	uint8_t sleeps;		/* the call may wait for another party: never run on the owner's thread */
	uint16_t repeat_off;	/* ... and its offset */
	uint16_t exec_op;	/* the op whose SQE layout runs */
	uint8_t nxform;
	uint32_t setup_all;	/* IORING_SETUP_* the ring needs for this route */
	void (*xform[3])(struct io_uring_sqe *sqe);	/* this op's SQE -> exec_op's */
	int (*sys)(const struct io_uring_sqe *sqe);	/* the system call, on exec_op's SQE */
	const char *text;	/* for people: "accept4(2) after readability (re-armed)" */
	uint32_t sys_kernel;	/* a system call younger than io_uring: its kernel, and ... */
	int (*sys_present)(void);	/* ... whether the running kernel has it (tried), or NULL */
};

enum { SR_FB_KERNEL = 1, SR_FB_SYSCALL, SR_FB_EMULATE, SR_FB_NONE };
enum { SR_FB_SAME, SR_FB_REARM, SR_FB_NOTIF };
enum { SR_FB_WAIT_NONE, SR_FB_WAIT_IN, SR_FB_WAIT_OUT };
enum { SR_FB_MORE_NONE, SR_FB_MORE_POSITIVE, SR_FB_MORE_NONNEG, SR_FB_MORE_ETIME };
enum { SR_EMU_NONE, SR_EMU_COMPLETE, SR_EMU_TIMER, SR_EMU_LINK_TIMER, SR_EMU_TIMER_REMOVE, SR_EMU_TIMER_UPDATE,
       SR_EMU_CANCEL, SR_EMU_POLL, SR_EMU_POLL_REMOVE, SR_EMU_POLL_UPDATE, SR_EMU_FD_INSTALL };

typedef void (*sr__deliver_fn)(struct sr_ring *r, uint32_t idx);

/*
 * One in-flight op, the part submit and reap touch: 32 bytes, so two
 * slots share a cache line and indexing is a shift.
 */
struct sr_slot {
	uint64_t _ud;		/* user_data of the op in this slot; 0 when free */
	uint64_t _base;		/* the next use's user_data, but for op and SLOW bits */
	int32_t _res;
	uint32_t _cflags;
	uint8_t _state;		/* SR__SLOT_*: INFLIGHT unless a completion waits in _res */
	uint8_t _flags;		/* SR__SF_*: anything beyond a plain single CQE */
	uint16_t _pad;
	uint32_t _next;		/* free list link; the delivery queue's for a callback op */
};

/* The rest of a slot (a parallel array): only ops that need it touch it. */
struct sr_slotx {
	void *_store;		/* op storage: copies, results, iovecs (grown, reused) */
	uint32_t _store_cap;
	uint32_t _qhead;	/* multishot: queued completions (item pool indexes) */
	uint32_t _qtail;
	uint32_t _resv;		/* the item reserved for the final completion, or SR__NONE */
	int32_t _res0;		/* two-phase ops: the result CQE's res */
	uint32_t _cflags0;
	sr__deliver_fn _deliver;	/* callback trampoline */
	void (*_cb)(void);	/* the typed callback, cast back by _deliver */
	void *_cb_arg;
	void *_aux;		/* provided-buffer group of the op */
	void *_fb;		/* the fallback backend's job for the op, or NULL */
	uint32_t _fslot;	/* direct-descriptor ops: the slot asked for */
	uint32_t _fgen[2];	/* ... and the generations of the slots filled */
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
	SR__SF_DFIN	= 1 << 7,	/* a callback op whose deliver gives its buffers back:
					 * its finish is not called at completion */
};

/*
 * user_data of tracked ops: bit 63 set, the slot's generation (bits 32-62),
 * the op (bits 24-31), a bit saying the op needs more than a plain single
 * completion (bit 23) and the slot index (bits 0-22).  The generation
 * advances by adding 1 << 32: its wrap runs off the top of the word and
 * never touches the low bits, and bit 63 is ORed back in.  Raw ops have bit
 * 63 cleared.  The runtime's own requests carry op 0xff (no op has it) and
 * the slow bit: a kind in bits 32-39 and an id in the low bits.
 */
#define SR__UD_TRACKED		(1ULL << 63)
#define SR__UD_GEN_STEP		(1ULL << 32)
#define SR__UD_OP_SHIFT		24
#define SR__UD_OP_MASK		(0xffULL << SR__UD_OP_SHIFT)
#define SR__UD_SLOW		(1ULL << 23)
#define SR__UD_SLOT_MASK	0x7fffffULL
#define SR__UD_INTERNAL		(SR__UD_TRACKED | SR__UD_SLOW | SR__UD_OP_MASK)
#define SR__UD_KIND_SHIFT	32
enum {
	SR__UDK_IGNORE = 0,	/* cancel requests: their CQE means nothing */
	SR__UDK_WAKE,		/* the fallback backend's wake-up poll */
	SR__UDK_JOB,		/* a request the fallback backend runs in the kernel */
};
#define SR__MAX_SLOTS		(1U << 23)
#define SR__NONE		UINT32_MAX

#define SR__NATIVE_WORDS	4	/* room for 256 ops in the feature bitmap */

struct sr__ring_ext;
struct sr__fallback;

struct sr_ring {
	struct io_uring _uring;
	uint64_t _native[SR__NATIVE_WORDS];	/* per op: runs natively (one bit test) */
	/*
	 * Every call checks that it comes from the owner (the thread pointer,
	 * sr__self), and every handle that it carries this ring's id.  The
	 * owner is 0 while the ring is released, SR__OWNER_FORKED in a child.
	 */
	uintptr_t _owner;
	uint64_t _id;
	struct sr_slot *_slots;
	struct sr_slotx *_slotx;
	uint32_t _free;		/* free slot list head, SR__NONE when empty */
	uint32_t _nslots;
	/*
	 * The rings as this process sees them.  Only the ring's owner takes
	 * SQEs and consumes CQEs, so the free SQ room and the CQ tail are read
	 * from the kernel only when the counted ones run out, and the CQ head
	 * is handed back to the kernel in batches (sr__cq_publish).
	 */
	struct io_uring_cqe *_cqes;
	uint32_t _cq_mask;
	uint32_t _cqh;		/* CQ head: next CQE to consume */
	uint32_t _cqt;		/* CQ tail as last read */
	uint8_t _cqe_shift;	/* log2 of the CQE size */
	uint8_t _sqe_shift;	/* log2 of the SQE size */
	uint32_t _sq_limit;	/* sqe_tail may grow up to here without reading the kernel's head */
	uint32_t _state;	/* SR__RING_* */
	int _policy;		/* enum sr_policy */
	unsigned _flags;	/* SR_RING_* asked for */
	unsigned _setup_flags;	/* IORING_SETUP_* the kernel accepted */
	unsigned _features;	/* IORING_FEAT_* */
	int _eventfd;
	bool _uring_up;		/* _uring is a live kernel ring */
	bool _stop;
	bool _fb_building;	/* an op for the fallback backend is being built */
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

/* In _flags, beside the SR_RING_* asked for: the ring was made under
 * valgrind's memcheck, which is told what the kernel wrote. */
#define SR__RING_MEMCHECK	(1U << 31)
/* ... and its waits go in slices (made under memcheck, or a fallback
 * backend under any valgrind tool: queue.c, enter_sliced). */
#define SR__RING_SLICED		(1U << 30)

/* The owner of a ring inherited across fork(): no thread of the child. */
#define SR__OWNER_FORKED	((uintptr_t)1)
/* The owner while the ring's trace callback runs: no thread may call in. */
#define SR__OWNER_TRACING	((uintptr_t)2)

/*
 * This thread, as ring owners are recorded: the thread pointer, read in
 * one instruction where the compiler can (the library's own copy reads
 * the same register, so inline and out-of-line checks agree).
 */
uintptr_t sr__self_slow(void);

static inline uintptr_t sr__self(void)
{
#if defined(__has_builtin)
#if __has_builtin(__builtin_thread_pointer)
	return (uintptr_t)__builtin_thread_pointer();
#else
	return sr__self_slow();
#endif
#else
	return sr__self_slow();
#endif
}

/* Is the calling thread the ring's owner? */
static inline bool sr__owned(const struct sr_ring *r)
{
	return sr__likely(r->_owner == sr__self());
}

/* --- the sr__ functions inline code calls (exported) ------------------------- */

int sr__fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3), cold));
/* The error code sr__begin failed with (it returns NULL). */
int sr__begin_error(void) sr__cold;
int sr__op_state_error(const struct sr_op *op, const char *fn) sr__cold;
int sr__handle_error(struct sr_ring *r, const struct sr_handle *h, unsigned op, const char *fn) sr__cold;
/* A slot and an SQE for an op (see sr__begin); sqe NULL on error. */
struct sr__begun {
	struct io_uring_sqe *sqe;
	struct sr_slot *slot;
	uint32_t idx;
};
struct sr__begun sr__begin_slow(struct sr_ring *r, struct sr_op *op, unsigned opid);
void sr__commit_special(struct sr_ring *r, struct sr_op *op, uint32_t idx, struct io_uring_sqe *sqe);
struct io_uring_sqe *sr__sqe_refill(struct sr_ring *r);
bool sr__reap_special(struct sr_ring *r, const struct io_uring_cqe *cqe);
/* A CQE could not be recorded for want of memory: -ENOMEM, and the
 * ring's waits report it until a reap gets through. */
int sr__stalled(struct sr_ring *r) sr__cold;
void *sr__store(struct sr_ring *r, uint32_t idx, size_t size);
int sr__cancel(struct sr_ring *r, const struct sr_handle *h, unsigned op, const char *fn);
int sr__target(struct sr_ring *r, struct sr_op *op, const struct sr_handle *h, const char *fn, const char *arg,
	       uint64_t *ud);
int sr__raw_unavailable(struct sr_ring *r, unsigned op);
int sr__set_sqe_flags(struct sr_op *op, unsigned flags, const char *fn);
int sr__abort(struct sr_ring *r, uint32_t idx, struct io_uring_sqe *sqe, int err, const char *fn);
int sr__next(struct sr_ring *r, const struct sr_handle *h, unsigned op, const char *fn, bool block,
	     uint32_t *idxp);
void sr__next_done(struct sr_ring *r, uint32_t idx);
/* A callback op, or a multishot one: reserve what its completions need
 * (-ENOMEM: the submit must abort). */
int sr__track(struct sr_ring *r, uint32_t idx, sr__deliver_fn deliver, void (*cb)(void), void *arg);
/* A single-shot callback op: its completion queues through its own slot (cannot fail). */
void sr__track_cb(struct sr_ring *r, uint32_t idx, sr__deliver_fn deliver, void (*cb)(void), void *arg);
/* Not called from the ring's owner thread: -EPERM with a message. */
int sr__not_owner(const struct sr_ring *r, const char *fn) sr__cold;
int sr__not_done(struct sr_ring *r, const struct sr_handle *h, unsigned op, const char *fn, bool block);
bool sr__enter_one(struct sr_ring *r, uint64_t ud);
/* The same, telling a signal apart: 1 a CQE is ready, 0 none (the caller
 * takes the general path), -EINTR (with a message naming fn). */
int sr__enter_for(struct sr_ring *r, uint64_t ud, const char *fn);

static inline size_t sr__align16(size_t n)
{
	return (n + 15) & ~(size_t)15;
}

/* IO_LINK chains: what sr_chain_add (a macro, safer-ring/chain.h) calls. */
struct sr_chain;
int sr__chain_prep(struct sr_chain *ch, struct sr_op *op);
int sr__chain_added(struct sr_chain *ch, int ret, const struct sr_handle *h);

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

static inline uint16_t sr__sqe_get16(const struct io_uring_sqe *sqe, unsigned off)
{
	uint16_t v;

	memcpy(&v, (const char *)sqe + off, sizeof(v));
	return v;
}

static inline uint8_t sr__sqe_get8(const struct io_uring_sqe *sqe, unsigned off)
{
	return ((const uint8_t *)sqe)[off];
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

static inline void sr__op_begin(struct sr_op *op, unsigned opid)
{
	op->_op = (uint16_t)opid;
	op->_state = SR__OP_READY;
	op->_special = 0;
	op->_sqe_flags = 0;
	op->_slow = 0;
	op->_personality = 0;
}

/*
 * The next free SQE.  Only this ring's owner takes SQEs, so the free room
 * is counted here and the kernel's head is read again only when the count
 * runs out (liburing's get_sqe reads it every time).
 */
static inline struct io_uring_sqe *sr__get_sqe(struct sr_ring *r)
{
	struct io_uring_sq *sq = &r->_uring.sq;
	unsigned tail = sq->sqe_tail;

	struct io_uring_sqe *sqe;

	if (sr__unlikely(tail == r->_sq_limit))
		return sr__sqe_refill(r);
	sq->sqe_tail = tail + 1;
	sqe = (struct io_uring_sqe *)((char *)sq->sqes + ((size_t)(tail & sq->ring_mask) << r->_sqe_shift));
	if (!sqe)
		__builtin_unreachable();	/* only the refill fails */
	return sqe;
}

/* Hand the consumed CQ entries back to the kernel. */
static inline void sr__cq_publish(struct sr_ring *r)
{
	io_uring_smp_store_release(r->_uring.cq.khead, r->_cqh);
}

/* Is a CQE ready?  The kernel's tail is read only when the known ones are used up. */
static inline bool sr__cq_has(struct sr_ring *r)
{
	if (sr__likely(r->_cqh != r->_cqt))
		return true;
	sr__cq_publish(r);
	r->_cqt = io_uring_smp_load_acquire(r->_uring.cq.ktail);
	return r->_cqh != r->_cqt;
}

static inline const struct io_uring_cqe *sr__cq_head(const struct sr_ring *r)
{
	return (const struct io_uring_cqe *)((char *)r->_cqes +
					     ((size_t)(r->_cqh & r->_cq_mask) << r->_cqe_shift));
}

/*
 * Is a CQE at the CQ head?  When the CQ is empty and the caller blocks,
 * enter the kernel once for the op of user_data want.  1 ready, 0 not
 * (the caller takes the general path), -EINTR (sr__enter_for).
 */
static sr__always_inline int sr__head_ready(struct sr_ring *r, uint64_t want, const char *fn, bool block)
{
	if (sr__cq_has(r))
		return 1;
	return block ? sr__enter_for(r, want, fn) : 0;
}

/* The op a slot holds, from its user_data. */
static inline unsigned sr__slot_op(const struct sr_slot *s)
{
	return (unsigned)((s->_ud & SR__UD_OP_MASK) >> SR__UD_OP_SHIFT);
}

/* Take the free slot idx (its user_data is set at commit; a free slot's
 * state is always INFLIGHT). */
static inline void sr__slot_take(struct sr_ring *r, uint32_t idx)
{
	r->_free = r->_slots[idx]._next;
}

/*
 * Take a slot and an SQE for an op.  The SQE to prepare is a kernel SQE,
 * or a staging one when the op takes its fallback; NULL with an error.
 * The common case (a native op, a free slot, SQ room counted) is inline;
 * the rest (fallback, a full SQ to flush, a table to grow) is not.
 */
static sr__always_inline struct sr__begun sr__begin(struct sr_ring *r, struct sr_op *op, unsigned opid)
{
	struct io_uring_sq *sq = &r->_uring.sq;
	uint32_t idx = r->_free;
	unsigned tail = sq->sqe_tail;
	struct sr__begun b;

	if (sr__unlikely(!sr__native(r, opid) || op->_slow || idx == SR__NONE || tail == r->_sq_limit))
		return sr__begin_slow(r, op, opid);
	sq->sqe_tail = tail + 1;
	b.slot = &r->_slots[idx];
	r->_free = b.slot->_next;
	b.sqe = (struct io_uring_sqe *)((char *)sq->sqes + ((size_t)(tail & sq->ring_mask) << r->_sqe_shift));
	b.idx = idx;
	/* Never NULL here: only the slow path fails (the caller's test of
	 * sqe then belongs to it alone). */
	if (!b.sqe)
		__builtin_unreachable();
	return b;
}

/*
 * Give the op its user_data (generation, op, slot, and whether it needs
 * more than a plain completion), spend the builder, hand out the handle
 * (with the ring's id).  Set flags, per-op personality and the fallback
 * path go through sr__commit_special.
 */
static sr__always_inline void sr__commit(struct sr_ring *r, struct sr_op *op, unsigned opid, struct sr__begun b,
			      struct io_uring_sqe *sqe, struct sr_handle *h, unsigned flags)
{
	struct sr_slot *s = b.slot;
	uint32_t idx = b.idx;
	uint64_t ud = s->_base | SR__UD_TRACKED | ((uint64_t)opid << SR__UD_OP_SHIFT) |
		      (flags ? SR__UD_SLOW : 0);

	s->_flags = (uint8_t)flags;
	s->_ud = ud;
	h->_ud = ud;
	h->_ring = r->_id;
	op->_state = SR__OP_SPENT;
	if (sr__unlikely(op->_special)) {
		sr__commit_special(r, op, idx, sqe);
		return;
	}
	sqe->user_data = ud;
}

/*
 * Account one CQE to its slot.  False: it could not be recorded (no
 * memory for a queued completion); it stays in the CQ for a later try.
 */
static inline bool sr__reap_one(struct sr_ring *r, const struct io_uring_cqe *cqe)
{
	uint64_t ud = cqe->user_data;
	uint32_t idx = (uint32_t)(ud & SR__UD_SLOT_MASK);
	struct sr_slot *s;

	if (sr__unlikely((ud & (SR__UD_TRACKED | SR__UD_SLOW)) != SR__UD_TRACKED || idx >= r->_nslots))
		return sr__reap_special(r, cqe);
	s = &r->_slots[idx];
	if (sr__likely(s->_ud == ud)) {
		s->_res = cqe->res;
		s->_cflags = cqe->flags;
		s->_state = SR__SLOT_DONE;
	}
	return true;
}

/*
 * Reap every CQE that is ready, without entering the kernel.  Returns how
 * many, or -ENOMEM when one could not be recorded (it stays in the CQ).
 * Each CQE is copied and consumed before it is accounted: accounting may
 * queue SQEs, which may reap (a full SQ), and must not see it again.  A
 * CQE that cannot be recorded fails before anything else happened, so
 * putting it back is safe.
 */
static inline int sr__reap_ready(struct sr_ring *r)
{
	int n = 0;

	while (sr__cq_has(r)) {
		for (; r->_cqh != r->_cqt; n++) {
			struct io_uring_cqe cqe = *sr__cq_head(r);

			r->_cqh++;
			if (sr__unlikely(!sr__reap_one(r, &cqe))) {
				r->_cqh--;
				return sr__stalled(r);
			}
		}
	}
	return n;
}

/* The user_data a live handle for op has: the handle's op bits replaced
 * by op's, so a handle forged for another op does not match. */
static inline uint64_t sr__want(const struct sr_handle *h, unsigned op)
{
	return (h->_ud & ~SR__UD_OP_MASK) | SR__UD_TRACKED | ((uint64_t)op << SR__UD_OP_SHIFT);
}

/* The slot of a live handle for op, or SR__NONE. */
static inline uint32_t sr__slot_of(const struct sr_ring *r, const struct sr_handle *h, unsigned op)
{
	uint64_t want = sr__want(h, op);
	uint32_t idx = (uint32_t)(want & SR__UD_SLOT_MASK);

	if (sr__unlikely(h->_ring != r->_id || idx >= r->_nslots || r->_slots[idx]._ud != want))
		return SR__NONE;
	return idx;
}

/*
 * Wait (or, without block, check) until a single-shot or two-phase op is
 * done.  The common case is the op's own CQE at the head of the CQ: the
 * exact user_data proves the handle live (only the runtime makes user_data
 * with bit 63), so it is taken straight from there.
 */
static inline int sr__wait_done(struct sr_ring *r, const struct sr_handle *h, unsigned op,
				const char *fn, bool block, bool plain, uint32_t *idxp, struct sr_cqe *e)
{
	uint64_t want = sr__want(h, op);
	uint32_t idx;

	/* Another ring's handle (or another thread) never gets this far. */
	if (sr__unlikely(h->_ring != r->_id || !sr__owned(r))) {
		e->res = 0;
		e->flags = 0;
		return sr__handle_error(r, h, op, fn);
	}
	/*
	 * A plain op (one CQE, nothing to give back) whose CQE is next: the
	 * exact user_data (this op's, so a handle of another op never matches)
	 * is only ever made by this ring for this use of the slot, so it proves
	 * the handle live, and the completion needs nothing but res and flags.
	 * The compare is with the slow bit clear: the CQE of an op that needs
	 * more (a callback) never matches and goes the long way.  Waiting on
	 * the op just submitted enters the kernel for it first.
	 */
	if (plain) {
		int ready = sr__head_ready(r, want & ~SR__UD_SLOW, fn, block);
		const struct io_uring_cqe *cqe;

		if (sr__unlikely(ready < 0)) {
			e->res = 0;
			e->flags = 0;
			return ready;
		}
		cqe = sr__cq_head(r);
		if (ready && sr__likely(cqe->user_data == (want & ~SR__UD_SLOW))) {
			e->res = cqe->res;
			e->flags = cqe->flags;
			r->_cqh++;
			*idxp = (uint32_t)(want & SR__UD_SLOT_MASK);
			return 0;
		}
	}
	idx = (uint32_t)(want & SR__UD_SLOT_MASK);
	if (idx >= r->_nslots || r->_slots[idx]._ud != want || r->_slots[idx]._state != SR__SLOT_DONE) {
		int ret = sr__not_done(r, h, op, fn, block);

		if (ret)
			return ret;
	}
	e->res = r->_slots[idx]._res;
	e->flags = r->_slots[idx]._cflags;
	r->_slots[idx]._state = SR__SLOT_INFLIGHT;	/* the state of a free slot */
	*idxp = idx;
	return 0;
}

/*
 * An op's completion straight from the CQ head, entering the kernel once
 * for it when nothing is ready; the exact user_data proves the handle
 * live, as in sr__wait_done.
 * - !multi: a single-shot op whose completion gives owned buffers back
 *   (slot flags exactly SR__SF_FINISH); the flags keep callback, fallback
 *   and cancelled ops (and errors, which are counted) on the general path.
 * - multi: a stream's next completion, not its last (F_MORE) nor an error,
 *   with nothing to do at completion (slot flags exactly SR__SF_MULTI: no
 *   callback, finish, cancel or fallback, which a slot with a fallback job
 *   always has) and nothing queued before it; the slot is checked first,
 *   as a stream with items queued must not wait in the kernel.
 * Returns 1 when taken (*idxp, *e; the caller finishes the op), 0 for the
 * general path, or -EINTR when a signal cut the wait short.
 */
static sr__always_inline int
sr__take_head(struct sr_ring *r, const struct sr_handle *h, unsigned op, const char *fn, bool block, bool multi,
	      uint32_t *idxp, struct sr_cqe *e)
{
	uint64_t want = sr__want(h, op);
	uint32_t idx = (uint32_t)(want & SR__UD_SLOT_MASK);
	const struct io_uring_cqe *cqe;
	int ready;

	if (sr__unlikely(h->_ring != r->_id || !sr__owned(r)))
		return 0;
	if (multi && sr__unlikely(idx >= r->_nslots || r->_slots[idx]._ud != want ||
				 r->_slots[idx]._flags != SR__SF_MULTI || r->_slotx[idx]._qhead != SR__NONE))
		return 0;
	ready = sr__head_ready(r, want, fn, block);
	if (ready <= 0)
		return ready;
	cqe = sr__cq_head(r);
	if (sr__unlikely(cqe->user_data != want || cqe->res < 0 ||
			 (multi ? !(cqe->flags & IORING_CQE_F_MORE) : r->_slots[idx]._flags != SR__SF_FINISH)))
		return 0;
	e->res = cqe->res;
	e->flags = cqe->flags;
	r->_cqh++;
	*idxp = idx;
	return 1;
}

/* Free a slot whose final completion has been consumed. */
static sr__always_inline void sr__free_slot(struct sr_ring *r, uint32_t idx)
{
	struct sr_slot *s = &r->_slots[idx];

	/* A zero user_data marks the slot free; the generation moves on. */
	s->_ud = 0;
	s->_base += SR__UD_GEN_STEP;
	s->_next = r->_free;
	r->_free = idx;
}

/* --- raw completions ----------------------------------------------------------- */

int sr__raw_reap_slow(struct sr_ring *r, struct io_uring_cqe *out, unsigned max);

/*
 * Copy out up to max completions of ops queued with sr_NAME_raw() (their
 * user_data is yours) without entering the kernel: how many, or a
 * negative error.  Completions of tracked ops met on the way are
 * accounted to their slots.
 */
static inline int sr_raw_reap(struct sr_ring *r, struct io_uring_cqe *out, unsigned max)
{
	/*
	 * The CQ's fields live in locals during the loop: a store to out[]
	 * may alias the ring's fields, which would otherwise be reloaded for
	 * every CQE.
	 */
	const char *cqes = (const char *)r->_cqes;
	uint32_t head = r->_cqh, tail = r->_cqt, mask = r->_cq_mask;
	unsigned shift = r->_cqe_shift, n = 0;

	/* A ring without io_uring has an empty CQ here (no raw op runs there). */
	if (sr__unlikely(r->_rawq_head != r->_rawq_tail || !sr__owned(r)))
		return sr__raw_reap_slow(r, out, max);
	while (n < max) {
		const struct io_uring_cqe *cqe;

		if (head == tail) {
			io_uring_smp_store_release(r->_uring.cq.khead, head);
			tail = io_uring_smp_load_acquire(r->_uring.cq.ktail);
			if (head == tail)
				break;
		}
		cqe = (const struct io_uring_cqe *)(cqes + ((size_t)(head & mask) << shift));
		head++;
		if (sr__unlikely(cqe->user_data & SR__UD_TRACKED)) {
			struct io_uring_cqe copy = *cqe;

			r->_cqh = head;
			r->_cqt = tail;
			if (sr__unlikely(!sr__reap_one(r, &copy))) {
				r->_cqh--;
				sr__stalled(r);
				return n ? (int)n : -ENOMEM;
			}
			head = r->_cqh;
			tail = r->_cqt;
			continue;
		}
		out[n++] = *cqe;
	}
	r->_cqh = head;
	r->_cqt = tail;
	return (int)n;
}

/* --- owned buffers ---------------------------------------------------------- */

struct sr_pool;
struct sr_msg;

struct sr_buf {
	void *_data;
	size_t _cap;
	size_t _len;
	size_t _off;		/* I/O window of the next op: start ... */
	size_t _win;		/* ... and length (0: to the capacity, or the valid length) */
	uint32_t _flags;	/* SR__BUF_* */
	uint16_t _lent_op;	/* SR_OP_* holding it, while lent */
	uint16_t _reg_index;	/* registered (fixed) buffer index */
	struct sr_ring *_lent_ring;
	struct sr_ring *_reg_ring;	/* ring it is registered with, or NULL */
	struct sr_pool *_pool;	/* pool it belongs to, or NULL */
	struct sr_bufgroup *_group;	/* group it belongs to, or NULL */
	uint32_t _pool_index;
	uint32_t _magic;	/* SR__BUF_MAGIC: what headers before _self check */
	/* Its own address, set where the library makes it: a copy of the
	 * struct (memcpy, assignment) is not a buffer, or the copy could be
	 * lent while the original is freed under the kernel. */
	const struct sr_buf *_self;
};

enum {
	SR__BUF_LENT		= 1 << 0,
	SR__BUF_OWNS		= 1 << 1,	/* _data was allocated by sr_buf_alloc */
	SR__BUF_REGISTERED	= 1 << 2,
	SR__BUF_POOLED		= 1 << 3,
	SR__BUF_RDONLY		= 1 << 4,	/* wraps const memory: never lent for writing */
	SR__BUF_GROUP		= 1 << 5,	/* belongs to a provided-buffer group */
	SR__BUF_RETURN_POOL	= 1 << 6,	/* go back to the pool when the op ends */
	SR__BUF_HOME		= 1 << 7,	/* a pool buffer in its pool: not the caller's */
};

#define SR__BUF_MAGIC 0x5262756fu

/* Made by the library at this address, and not freed. */
static sr__always_inline bool sr__buf_live(const struct sr_buf *b)
{
	return b && b->_self == b;
}
/* _lent_op of a group's buffer waiting in the group for the kernel to pick. */
#define SR__OP_GROUP 0xffffu
/* _lent_op of a caller's buffer queued in a send group. */
#define SR__OP_SENDQ 0xfffeu

#define SR__MSG_MAX_IOV 8	/* SR_MSG_MAX_IOV (safer-ring/buf.h) */

/* A buffer the kernel will write into: const-qualified pointers do not match. */
#define SR__OUT_BUF(b) _Generic((b), struct sr_buf *: (b), void *: (struct sr_buf *)(b))

/* Where a msghdr op keeps the kernel-facing message (in op storage). */
struct sr__msg_store {
	struct msghdr hdr;
	struct iovec iov[SR__MSG_MAX_IOV];
	struct sr_buf *bufs[SR__MSG_MAX_IOV];
	struct sr_buf *name;
	struct sr_buf *control;
	unsigned n;
};

int sr__bufvec_check(struct sr_ring *r, struct sr_buf *const *bufs, unsigned n, int dir, bool fixed,
		     unsigned op, const char *fn, const char *arg);
int sr__bufvec_take(struct sr_ring *r, struct iovec *iov, struct sr_buf **keep, struct sr_buf *const *bufs,
		    unsigned n, int dir, unsigned op, const char *fn, const char *arg);
int sr__msg_check(struct sr_ring *r, const struct sr_msg *m, int dir, bool fixed, unsigned op, const char *fn,
		  const char *arg);
int sr__msg_take(struct sr_ring *r, struct sr__msg_store *st, const struct sr_msg *m, int dir, unsigned op,
		 const char *fn, const char *arg);

int sr__buf_bad(const struct sr_buf *b, int dir, unsigned op, const char *fn, const char *arg) sr__cold;
void sr__buf_returned(struct sr_buf *b);
/* The kernel filled these bytes: tell memory checkers (valgrind) they are
 * defined.  Inline code asks only on rings with SR__RING_MEMCHECK. */
void sr__kernel_wrote(const void *p, size_t n);

/* ASan builds: a lent buffer's bytes are poisoned, so a stray access is reported. */
#if defined(__SANITIZE_ADDRESS__)
#define SR__ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SR__ASAN 1
#endif
#endif
#ifdef SR__ASAN
void __asan_poison_memory_region(void const volatile *addr, size_t size);
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
static inline void sr__buf_poison(struct sr_buf *b)
{
	__asan_poison_memory_region(b->_data, b->_cap);
}
static inline void sr__buf_unpoison(struct sr_buf *b)
{
	__asan_unpoison_memory_region(b->_data, b->_cap);
}
#else
static inline void sr__buf_poison(struct sr_buf *b)
{
	(void)b;
}
static inline void sr__buf_unpoison(struct sr_buf *b)
{
	(void)b;
}
#endif

enum { SR__IN = 0, SR__OUT = 1 };

/* Can this buffer be lent now?  Cheap test first, message on the cold path. */
static sr__always_inline int sr__buf_check(const struct sr_buf *b, int dir, unsigned op, const char *fn,
				const char *arg)
{
	if (sr__unlikely(!sr__buf_live(b) ||
			 (b->_flags & (SR__BUF_LENT | SR__BUF_HOME | (dir == SR__OUT ? SR__BUF_RDONLY : 0)))))
		return sr__buf_bad(b, dir, op, fn, arg);
	return 0;
}

static sr__always_inline void sr__buf_lend(struct sr_ring *r, struct sr_buf *b, unsigned op)
{
	b->_flags |= SR__BUF_LENT;
	b->_lent_op = (uint16_t)op;
	b->_lent_ring = r;
	/* Not for the fallback backend: its system calls go through ASan's checks. */
	if (!r->_fb_building)
		sr__buf_poison(b);
}

/* The kernel wrote [p, p+n) for ring r: memcheck is told only on rings
 * made under it (and when the ring is unknown). */
static sr__always_inline void sr__kernel_wrote_for(const struct sr_ring *r, const void *p, size_t n)
{
	if (sr__unlikely(!r || (r->_flags & SR__RING_MEMCHECK)))
		sr__kernel_wrote(p, n);
}

/* Give a buffer back.  out: the kernel wrote n bytes of data into it. */
static sr__always_inline void sr__buf_return(struct sr_buf *b, bool out, long n)
{
	const struct sr_ring *r = b->_lent_ring;

	sr__buf_unpoison(b);
	b->_flags &= ~SR__BUF_LENT;
	b->_lent_ring = NULL;
	if (out) {
		size_t got = n > 0 ? (size_t)n : 0;

		/* Data now runs from the start to the end of what was read. */
		b->_len = b->_off + got < b->_cap ? b->_off + got : b->_cap;
		sr__kernel_wrote_for(r, (char *)b->_data + b->_off, b->_len - b->_off);
	}
	b->_off = 0;
	b->_win = 0;
	if (sr__unlikely(b->_flags & (SR__BUF_RETURN_POOL | SR__BUF_GROUP)))
		sr__buf_returned(b);
}

/* Where the kernel reads or writes: the start of the I/O window. */
static inline void *sr__buf_io_ptr(const struct sr_buf *b)
{
	return (char *)b->_data + b->_off;
}

/* Length the kernel may use: the window, else the capacity to fill or the
 * valid bytes to send (both from the window's start). */
static inline uint32_t sr__buf_io_len(const struct sr_buf *b, int dir)
{
	size_t n = b->_win ? b->_win : dir == SR__OUT ? b->_cap - b->_off :
		   b->_len > b->_off ? b->_len - b->_off : 0;

	return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

/* --- provided-buffer groups -------------------------------------------------- */

struct io_uring_buf_ring;

struct sr_bufgroup {
	struct sr_ring *_ring;		/* NULL once detached: its ring was destroyed with buffers out */
	struct io_uring_buf_ring *_br;	/* kernel-shared ring of buffer addresses */
	struct sr_buf *_bufs;		/* one struct sr_buf per buffer */
	void *_mem;			/* the buffers, one region */
	size_t _size;			/* bytes per buffer */
	unsigned _nbufs;
	unsigned _out;			/* handed to the caller, not yet recycled */
	uint16_t *_free;		/* user-space mode: ids of the buffers to pick from */
	unsigned _nfree;
	int _lock;			/* user-space mode: guards _free (backend threads pick) */
	uint8_t _mode;			/* SR__GROUP_*: who holds the free buffers */
	uint16_t _bgid;
	uint32_t _magic;
	struct sr_bufgroup *_next;	/* the ring's list of groups */
	/* Send groups: buffer id = queue position & (_nbufs - 1). */
	struct sr_buf **_q;		/* by id: the caller's buffer queued there */
	uint32_t _qhead, _qtail;	/* positions _qhead.._qtail-1 are queued, oldest first */
	uint32_t _taken;		/* user-space mode: the backend took the positions before this */
	uint8_t _send;			/* a send group */
	uint8_t _busy;			/* a send_bundle is in flight on it */
	/* Its own address: a copy of the struct is not the group (its
	 * counts would go stale and let the original be destroyed early). */
	const struct sr_bufgroup *_self;
};

#define SR__GROUP_MAGIC 0x47727570u

enum {
	SR__GROUP_RING,		/* a kernel buffer ring (IORING_REGISTER_PBUF_RING, 5.19) */
	SR__GROUP_LEGACY,	/* buffers handed over with PROVIDE_BUFFERS (5.7) */
	SR__GROUP_USER,		/* a free list the fallback backend picks from */
};

int sr__group_check(struct sr_ring *r, const struct sr_bufgroup *g, const char *fn, const char *arg);
/* ... and of the kind the op needs (send: a send group), free for it (one send_bundle at a time). */
int sr__group_check_for(struct sr_ring *r, const struct sr_bufgroup *g, bool send, const char *fn,
			const char *arg);
struct sr_buf *sr__group_take(struct sr_bufgroup *g, int32_t res, uint32_t cflags);
/*
 * A send_bundle's completion: the buffers it took, oldest first (the
 * first, and how many), given back.  The last completion of the op (no
 * F_MORE) frees the group for the next send_bundle.
 */
void sr__group_take_sent(struct sr_bufgroup *g, int32_t res, uint32_t cflags, struct sr_buf **first,
			 unsigned *n);

static inline unsigned sr__group_id(const struct sr_bufgroup *g)
{
	return g->_bgid;
}

/* --- registered files ------------------------------------------------------------ */

struct sr_file {
	uint32_t _slot;
	uint32_t _gen;		/* 0: no file */
	uint64_t _ring;		/* the ring's id: a handle never reaches another ring's table */
};

int sr__buf_check_fixed(struct sr_ring *r, const struct sr_buf *b, const char *fn, const char *arg);
int sr__file_check(struct sr_ring *r, uint32_t slot, uint32_t gen, uint64_t ring, const char *fn);

static inline struct sr_file sr__file_handle(const struct sr_ring *r, bool ok, uint32_t slot, uint32_t gen)
{
	struct sr_file f = { ok ? slot : 0, ok ? gen : 0, ok ? r->_id : 0 };

	return f;
}

/* --- the generated op table's own needs (inside the library, not exported) ------ */

/* System calls of fallback routes that libc has no single function for. */
struct sockaddr;
int sr__connect(int fd, const struct sockaddr *addr, unsigned len);
int sr__cmd_sock(int cmd_op, int fd, int level, int optname, void *optval, int optlen);
/* preadv2/pwritev2, but streams (pipes, sockets) ignore the offset, as in io_uring. */
long sr__preadv2(int fd, const struct iovec *iov, int n, long long off, int flags);
long sr__pwritev2(int fd, const struct iovec *iov, int n, long long off, int flags);
/* Completion-time work of ops with memory or registered files. */
void sr__bufvec_return(struct sr_buf **bufs, unsigned n, bool out, int res);
void sr__msg_return(struct sr__msg_store *st, bool out, int res);
uint32_t sr__file_installed(struct sr_ring *r, uint32_t slot);
void sr__file_closed(struct sr_ring *r, uint32_t slot);
void sr__files_all_changed(struct sr_ring *r);

#ifdef __cplusplus
}
#endif

#endif
