/* SPDX-License-Identifier: MIT */
/*
 * api-fuzz: one sequence.  Rings (io_uring or the fallback backend, mixed),
 * ops in flight, plain and pool buffers, buffer groups, registered files,
 * chains and callbacks, driven by random steps on two threads, each call's
 * answer predicted by a model of who owns what and checked, with the
 * visible state (lent buffers, pool and group counts, ops in flight) after
 * every step.  docs/safety.md is the contract; where it leaves a choice
 * open, the reading taken here is written next to the check.
 */
#include "fz.h"

#include <execinfo.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *const fz_feature_names[FT_COUNT] = {
	[FT_BASIC] = "basic", [FT_STALE] = "stale", [FT_IDENTITY] = "identity", [FT_POOL] = "pool",
	[FT_GROUP] = "group", [FT_CALLBACK] = "callback", [FT_THREAD] = "thread", [FT_HANDOVER] = "handover",
	[FT_FORK] = "fork", [FT_PEER] = "peer", [FT_TEARDOWN] = "teardown", [FT_OOM] = "oom",
	[FT_CRASH] = "crash",
};

struct fz_opts fz_opts = { .feat = ~0u, .min_steps = 10, .max_steps = 40 };
struct fz_progress *fz_progress;

#define ON(f) ((fz_opts.feat >> (f)) & 1)

enum { TH_MAIN, TH_HELPER, TH_PEER, TH_CHILD };
static __thread int self_th;

/* --- the model ------------------------------------------------------------------- */

struct mring {
	struct sr_ring *r;
	bool used, live;
	unsigned inc;		/* incarnation, unique within the sequence */
	bool fallback, movable;
	int owner;		/* the thread that may call, or -1 while released */
	int creator;
	int depth;		/* its callbacks running on the stack */
	bool closing;		/* inside sr_ring_destroy, or after a timed-out destroy */
	bool files;		/* a file table of FZ_NFSLOT slots */
	int fslot[FZ_NFSLOT];	/* what each slot holds: -1, or file 0/1 */
	int regpool;		/* the pool registered with it, or -1 */
	bool regbufs;		/* plain buffers registered with it */
	bool stopped;		/* sr_ring_stop was called: the next sr_ring_run may return early */
	int ngroups;
};

enum { OP_FREE, OP_INFLIGHT, OP_CONSUMED, OP_DEAD };

struct mop {
	int state;
	int kind;
	int ring;
	unsigned inc;
	bool cb;
	int action;		/* what its callback does (A_*) */
	union fz_sub sub;
	int buf;		/* plain buffer lent, or -1 */
	int pool, pidx;		/* pool buffer lent (pool -1: none) */
	bool autoret;
	int chan;		/* channel it reads or polls, or -1 */
	int group;		/* group it picks from, or -1 */
	int src, off, len;	/* reads: file and offset; reads and writes: the natural result */
	int target;		/* timeout_remove: the timeout */
	int fslot;		/* reads of a registered file: its slot, or -1 */
	bool chain;
	bool busy;		/* a wait or poll on it is under way (a callback runs inside it) */
	/* What its next completion is. */
	bool certain;		/* it comes without anything more from the driver */
	int nres, res[4];	/* acceptable results */
	bool cancel_req;
	/* streams */
	int pend;		/* bytes of an item certain to come */
	int pend_opt;		/* bytes of an item that may come (a cancel raced it) */
	bool end_certain;
	int end_res;
};

struct mbuf {
	struct sr_buf *b;
	size_t cap;
	int op;			/* lent to, or -1 */
	int regring;		/* registered with (a fixed buffer of) this ring, or -1 */
};

enum { PB_IDLE, PB_TAKEN };
struct mpbuf {
	struct sr_buf *b;	/* NULL until first taken */
	int state;
	int op;			/* lent to, or -1 */
	bool autoret;
};

struct mpool {
	struct sr_pool *p;
	bool live;
	int regring;		/* ring index it is registered with, or -1 */
	unsigned reginc;
	struct mpbuf e[FZ_POOLN];
	bool peer;		/* the peer thread shares it now */
};

struct mgroup {
	struct sr_bufgroup *g;
	bool live;
	int ring;
	unsigned inc;
	int n;
	size_t size;
	int out;		/* items with the caller */
	int claimed;		/* items certain to come to a stream */
	int streams;		/* ops in flight that can pick from it */
	bool detached;		/* its ring was destroyed while items were out */
	struct sr_buf *back[8];	/* items recycled (and not handed out since) */
	int nback;
};

struct mitem {
	bool used;
	int group;
	struct sr_buf *b;
	int len;
	uint8_t data[64];
};

struct mchan {
	int rfd, wfd;
	bool sock;
	uint8_t q[FZ_CHANQ];	/* bytes written and not read yet */
	int qn;
	int reader;		/* the op reading or polling it, or -1 */
	uint8_t next;
};

struct mfh {
	bool used;
	int ring;
	unsigned inc;
	int slot, file;
	struct sr_file h;
	bool valid;		/* the slot still holds what the handle names */
};

enum {
	A_NONE, A_DESTROY, A_RUN, A_RUN_ONCE, A_RELEASE, A_DESTROY_TMO, A_POLL_RING, A_SUBMIT, A_SUBMIT_CB,
	A_WAIT, A_POLL_OP, A_CANCEL, A_POOL, A_GROUP, A_FILES, A_NACT
};
static const char *const act_names[A_NACT] = {
	"none", "sr_ring_destroy", "sr_ring_run", "sr_ring_run_once", "sr_ring_release",
	"sr_ring_destroy_timeout", "sr_ring_poll", "submit", "submit_cb", "wait", "poll", "cancel",
	"pool take/put", "group", "files_set",
};

static struct {
	uint64_t seed;
	unsigned step;
	const char *call;
	struct fz_src src;	/* one draw per step from here ... */
	struct fz_src ssrc;	/* ... seeds the step's own choices */
	struct mring ring[FZ_MAXRING];
	unsigned next_inc;
	struct mop op[FZ_MAXOP];
	struct mbuf buf[FZ_NBUF];
	struct mpool pool[FZ_NPOOL];
	struct mgroup grp[FZ_MAXGROUP];
	struct mitem item[FZ_MAXITEM];
	struct mchan chan[FZ_NCHAN];
	struct mfh fh[FZ_MAXFH];
	int stack[16];		/* rings whose callback runs, innermost last */
	int nstack;
	bool in_child;
	int child_fd;		/* fork child: where its failure message goes */
	int chain_err;		/* the first error of the chain being built */
} S;

/* Scratch files: two with known contents (A, B), one to write to, /dev/null. */
#define FZ_FILE_SIZE 4096
static int file_fd[2] = { -1, -1 }, write_fd = -1, null_fd = -1;

static uint8_t pat(int file, int i)
{
	return (uint8_t)(file * 131 + i * 7 + (i >> 8) + 1);
}

/* --- output and failure -------------------------------------------------------------------- */

static void vlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void vlog(const char *fmt, ...)
{
	va_list ap;

	if (!fz_opts.verbose)
		return;
	fprintf(stderr, "  [T%d] ", self_th);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void fail(int feat, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void fail(int feat, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int n;

	n = snprintf(msg, sizeof(msg), "[T%d] ", self_th);
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	if (S.in_child) {
		char line[1100];
		int len = snprintf(line, sizeof(line), "%d fork child: %s", feat, msg);

		if (write(S.child_fd, line, (size_t)len) < 0)
			(void)0;
		_exit(1);
	}
	fz_report_failure(feat, S.seed, S.step, msg);
}

static const char *ename(int e)
{
	static __thread char buf[16];
	const char *n;

	if (e >= 0) {
		snprintf(buf, sizeof(buf), "%d", e);
		return buf;
	}
	n = strerrorname_np(-e);
	if (n)
		return n;
	snprintf(buf, sizeof(buf), "%d", e);
	return buf;
}

/* The contract's own codes come with a message naming the problem (its errno name, the way sr__fail writes it). */
static bool contract_code(int e)
{
	return e == -EXDEV || e == -ESTALE || e == -EPERM || e == -EDEADLK || e == -EBUSY || e == -ESHUTDOWN ||
	       e == -ETIMEDOUT;
}

static void check_msg(int feat, const char *call, int e)
{
	char want[32];

	if (!contract_code(e))
		return;
	snprintf(want, sizeof(want), "(%s)", ename(e));
	if (!strstr(sr_last_error(), want))
		fail(feat, "%s returned %s but sr_last_error() does not say so: \"%s\"", call, ename(e), sr_last_error());
}

/*
 * Allocations failed on purpose (oom.c) during this step or the one
 * before: a call may answer -ENOMEM then, having changed nothing
 * (docs/safety.md section 6); a completion it could not record comes later.
 */
static unsigned oom_window, oom_prev;

static bool oom_ok(int got)
{
	return got == -ENOMEM && fz_oom_fired() > oom_window;
}

static void check_msg(int feat, const char *call, int e);

static bool oom_taken(const char *call, int got)
{
	if (!oom_ok(got))
		return false;
	vlog("%s -> ENOMEM (an allocation failed on purpose)", call);
	check_msg(FT_OOM, call, got);
	return true;
}

/* A call returned got; the contract says want.  False: it ran out of memory instead. */
static bool expect(int feat, const char *call, int got, int want)
{
	if (got != want && oom_taken(call, got))
		return false;
	vlog("%s -> %s%s%s", call, ename(got), got == want ? "" : ", expected ", got == want ? "" : ename(want));
	if (got != want)
		fail(feat, "%s returned %s, expected %s (last error: %s)", call, ename(got), ename(want), sr_last_error());
	if (want < 0)
		check_msg(feat, call, got);
	return true;
}

/* Refused, with any error: where the contract does not name the code. */
static void expect_refused(int feat, const char *call, int got)
{
	vlog("%s -> %s (expected an error)", call, ename(got));
	if (got >= 0)
		fail(feat, "%s returned %d, expected it to be refused", call, got);
}

static bool expect_ok_count(int feat, const char *call, int got)
{
	if (oom_taken(call, got))
		return false;
	vlog("%s -> %d", call, got);
	if (got < 0)
		fail(feat, "%s returned %s, expected a count (last error: %s)", call, ename(got), sr_last_error());
	return true;
}

/* NULL-returning calls: the errno is the name in sr_last_error(). */
static void expect_null_err(int feat, const char *call, const void *p, int want)
{
	char n[32];

	snprintf(n, sizeof(n), "(%s)", ename(want));
	vlog("%s -> %p (expected NULL, %s)", call, p, ename(want));
	if (p)
		fail(feat, "%s succeeded, expected %s", call, ename(want));
	if (fz_oom_fired() > oom_window && strstr(sr_last_error(), "(ENOMEM)"))
		return;
	if (!strstr(sr_last_error(), n))
		fail(feat, "%s returned NULL but sr_last_error() does not say %s: \"%s\"", call, ename(want),
		     sr_last_error());
}

/* --- choices ----------------------------------------------------------------------------- */

static unsigned rnd(unsigned n)
{
	return n ? (unsigned)(fz_src_next(&S.ssrc) % n) : 0;
}

static bool chance(unsigned pct)
{
	return rnd(100) < pct;
}

/* --- threads: the helper runs whole steps; calls are serialized --------------------------- */

static struct {
	pthread_t t;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	void (*fn)(void *);
	void *arg;
	bool up;
} helper = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

static void *helper_main(void *a)
{
	(void)a;
	self_th = TH_HELPER;
	pthread_mutex_lock(&helper.mu);
	for (;;) {
		void (*fn)(void *);

		while (!helper.fn)
			pthread_cond_wait(&helper.cv, &helper.mu);
		fn = helper.fn;
		pthread_mutex_unlock(&helper.mu);
		fn(helper.arg);
		pthread_mutex_lock(&helper.mu);
		helper.fn = NULL;
		pthread_cond_broadcast(&helper.cv);
	}
	return NULL;
}

static void run_on(int th, void (*fn)(void *), void *arg)
{
	if (th == self_th) {
		fn(arg);
		return;
	}
	pthread_mutex_lock(&helper.mu);
	helper.fn = fn;
	helper.arg = arg;
	pthread_cond_broadcast(&helper.cv);
	while (helper.fn)
		pthread_cond_wait(&helper.cv, &helper.mu);
	pthread_mutex_unlock(&helper.mu);
}

int fz_init(void)
{
	void *warm[2];

	/* backtrace() loads libgcc on its first call: here, not in a hung fork child. */
	backtrace(warm, 2);
	char path[] = "/tmp/sr-fuzz-XXXXXX";
	uint8_t data[FZ_FILE_SIZE];

	for (int f = 0; f < 2; f++) {
		int fd = mkstemp(path);

		if (fd < 0)
			return -1;
		unlink(path);
		strcpy(path + strlen(path) - 6, "XXXXXX");
		for (int i = 0; i < FZ_FILE_SIZE; i++)
			data[i] = pat(f, i);
		if (pwrite(fd, data, sizeof(data), 0) != (ssize_t)sizeof(data))
			return -1;
		file_fd[f] = fd;
	}
	write_fd = mkstemp(path);
	if (write_fd < 0)
		return -1;
	unlink(path);
	null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null_fd < 0)
		return -1;
	if (ON(FT_THREAD) && !helper.up) {
		if (pthread_create(&helper.t, NULL, helper_main, NULL))
			return -1;
		helper.up = true;
	}
	return 0;
}

void fz_where(uint64_t *seed, unsigned *step, const char **call)
{
	*seed = S.seed;
	*step = S.step;
	*call = S.call;
}

/* --- model helpers --------------------------------------------------------------------------- */

static const char *rname(int ri)
{
	static __thread char buf[4][48];
	static __thread int k;
	char *b = buf[k++ & 3];

	snprintf(b, 48, "ring%d#%u(%s)", ri, S.ring[ri].inc, S.ring[ri].fallback ? "fallback" : "io_uring");
	return b;
}

/* The op still names its ring's live incarnation. */
static bool op_ring_live(const struct mop *o)
{
	const struct mring *m = &S.ring[o->ring];

	return m->live && m->inc == o->inc;
}

static bool ring_usable(int ri)
{
	return S.ring[ri].live && !S.ring[ri].closing && S.ring[ri].owner == self_th;
}

/* A random ring this thread may call; -1 when none. */
static int pick_ring(void)
{
	int c[FZ_MAXRING], n = 0;

	for (int i = 0; i < FZ_MAXRING; i++)
		if (ring_usable(i))
			c[n++] = i;
	return n ? c[rnd((unsigned)n)] : -1;
}

static int nlive(void)
{
	int n = 0;

	for (int i = 0; i < FZ_MAXRING; i++)
		n += S.ring[i].live;
	return n;
}

static int op_alloc(int kind, int ri)
{
	int oi = -1;

	for (int i = 0; i < FZ_MAXOP; i++)
		if (S.op[i].state == OP_FREE) {
			oi = i;
			break;
		}
	if (oi < 0) {
		/* Full: forget a consumed or dead op (its handle is the oldest kept). */
		for (int i = 0; i < FZ_MAXOP; i++)
			if (S.op[i].state == OP_CONSUMED || S.op[i].state == OP_DEAD) {
				oi = i;
				break;
			}
	}
	if (oi < 0)
		return -1;
	memset(&S.op[oi], 0, sizeof(S.op[oi]));
	S.op[oi].kind = kind;
	S.op[oi].ring = ri;
	S.op[oi].inc = S.ring[ri].inc;
	S.op[oi].buf = S.op[oi].pool = S.op[oi].chan = S.op[oi].group = S.op[oi].target = S.op[oi].fslot = -1;
	return oi;
}

static int ops_free(void)
{
	int n = 0;

	for (int i = 0; i < FZ_MAXOP; i++)
		n += S.op[i].state != OP_INFLIGHT;
	return n;
}

static void set_res1(struct mop *o, int res)
{
	o->nres = 1;
	o->res[0] = res;
}

static void add_res(struct mop *o, int res)
{
	for (int i = 0; i < o->nres; i++)
		if (o->res[i] == res)
			return;
	if (o->nres < 4)
		o->res[o->nres++] = res;
}

static bool res_ok(const struct mop *o, int res)
{
	for (int i = 0; i < o->nres; i++)
		if (o->res[i] == res)
			return true;
	return false;
}

static const char *res_list(const struct mop *o)
{
	static __thread char buf[96];
	int n = 0;

	buf[0] = 0;
	for (int i = 0; i < o->nres; i++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "%s%s", i ? " or " : "", ename(o->res[i]));
	return buf;
}

static bool is_stream(int kind)
{
	return kind == K_RECVMS || kind == K_READMS;
}

static struct sr_ring *R(int ri)
{
	return S.ring[ri].r;
}

/* Is a group item, by pointer, out with the caller? */
static int item_find(const struct sr_buf *b)
{
	for (int i = 0; i < FZ_MAXITEM; i++)
		if (S.item[i].used && S.item[i].b == b)
			return i;
	return -1;
}

static int chan_free_reader(bool sock_ok, bool pipe_ok)
{
	int c[FZ_NCHAN], n = 0;

	for (int i = 0; i < FZ_NCHAN; i++)
		if (S.chan[i].reader < 0 && ((S.chan[i].sock && sock_ok) || (!S.chan[i].sock && pipe_ok)))
			c[n++] = i;
	return n ? c[rnd((unsigned)n)] : -1;
}

static bool op_certain(const struct mop *o);

/* A plain buffer no op holds. */
static int pick_free_buf(void)
{
	int c[FZ_NBUF], n = 0;

	for (int i = 0; i < FZ_NBUF; i++)
		if (S.buf[i].op < 0)
			c[n++] = i;
	return n ? c[rnd((unsigned)n)] : -1;
}

static int pick_lent_buf(void)
{
	int c[FZ_NBUF], n = 0;

	/* Lent to an op that cannot have completed: lent for sure. */
	for (int i = 0; i < FZ_NBUF; i++)
		if (S.buf[i].op >= 0 && !op_certain(&S.op[S.buf[i].op]))
			c[n++] = i;
	return n ? c[rnd((unsigned)n)] : -1;
}

/* A pool buffer the caller holds and no op has: pool*FZ_POOLN+index, or -1. */
static int pick_taken_pbuf(bool need_registered_with, int ri)
{
	int c[FZ_NPOOL * FZ_POOLN], n = 0;

	for (int p = 0; p < FZ_NPOOL; p++) {
		if (!S.pool[p].live)
			continue;
		if (need_registered_with && !(S.pool[p].regring == ri && S.pool[p].reginc == S.ring[ri].inc))
			continue;
		for (int i = 0; i < FZ_POOLN; i++)
			if (S.pool[p].e[i].state == PB_TAKEN && S.pool[p].e[i].op < 0)
				c[n++] = p * FZ_POOLN + i;
	}
	return n ? c[rnd((unsigned)n)] : -1;
}

/* The buffer an op lent, for messages and checks. */
static struct sr_buf *op_buf(const struct mop *o)
{
	if (o->buf >= 0)
		return S.buf[o->buf].b;
	if (o->pool >= 0)
		return S.pool[o->pool].e[o->pidx].b;
	return NULL;
}

/* --- completions ------------------------------------------------------------------------------- */

static void pool_buf_back(struct mop *o)
{
	struct mpbuf *e;

	if (o->pool < 0)
		return;
	e = &S.pool[o->pool].e[o->pidx];
	if (e->op == (int)(o - S.op)) {
		e->op = -1;
		if (e->autoret) {
			e->state = PB_IDLE;
			e->autoret = false;
		}
	}
	o->pool = -1;
}

static void check_data(const struct mop *o, const uint8_t *p, int n, const char *what)
{
	for (int i = 0; i < n; i++) {
		uint8_t want;

		if (o->kind == K_READC || is_stream(o->kind))
			want = S.chan[o->chan].q[i];
		else
			want = pat(o->src, o->off + i);
		if (p[i] != want)
			fail(FT_BASIC, "%s on %s: byte %d of %d is 0x%02x, expected 0x%02x (%s)", fz_kind_names[o->kind],
			     rname(o->ring), i, n, p[i], want, what);
	}
}

static void chan_pop(struct mchan *c, int n)
{
	memmove(c->q, c->q + n, (size_t)(c->qn - n));
	c->qn -= n;
}

/* A single-shot op's completion: result, buffer back, data. */
static void complete_single(int oi, const struct fz_done *d, const char *how)
{
	struct mop *o = &S.op[oi];
	struct sr_buf *b = op_buf(o);

	if (!res_ok(o, d->res))
		fail(FT_BASIC, "%s %s on %s completed with %s, expected %s", how, fz_kind_names[o->kind], rname(o->ring),
		     ename(d->res), res_list(o));
	if (b) {
		if (d->buf != b)
			fail(FT_BASIC, "%s %s on %s gave back buffer %p, expected %p", how, fz_kind_names[o->kind],
			     rname(o->ring), (void *)d->buf, (void *)b);
		if (o->autoret) {
			/* Back in its pool: not the caller's any more (docs/safety.md section 2). */
			if (ON(FT_POOL) && !S.pool[o->pool].peer && sr_buf_data(b))
				fail(FT_POOL, "%s on %s: the buffer went back to its pool (auto return), yet sr_buf_data() "
				     "still gives its bytes", fz_kind_names[o->kind], rname(o->ring));
		} else {
			const uint8_t *p = sr_buf_data(b);

			if (sr_buf_is_lent(b) || !p)
				fail(FT_BASIC, "%s %s on %s: the buffer is not back (lent %d, data %p)", how,
				     fz_kind_names[o->kind], rname(o->ring), sr_buf_is_lent(b), (const void *)p);
			if ((o->kind == K_READF || o->kind == K_READC || o->kind == K_READFX) && d->res > 0) {
				if (sr_buf_len(b) != (size_t)d->res)
					fail(FT_BASIC, "%s on %s read %d bytes but the buffer's length is %zu",
					     fz_kind_names[o->kind], rname(o->ring), d->res, sr_buf_len(b));
				check_data(o, p, d->res, how);
			}
		}
	}
	if (o->kind == K_READC && d->res > 0)
		chan_pop(&S.chan[o->chan], d->res);
	if (o->chan >= 0 && S.chan[o->chan].reader == oi)
		S.chan[o->chan].reader = -1;
	if (o->buf >= 0)
		S.buf[o->buf].op = -1;
	o->buf = -1;
	pool_buf_back(o);
	o->state = OP_CONSUMED;
}

static void stream_end(int oi)
{
	struct mop *o = &S.op[oi];

	if (o->group >= 0) {
		struct mgroup *g = &S.grp[o->group];

		g->streams--;
		if (o->pend)
			g->claimed--;
		if (o->pend_opt)
			g->claimed--;
	}
	o->pend = o->pend_opt = 0;
	if (S.chan[o->chan].reader == oi)
		S.chan[o->chan].reader = -1;
	o->state = OP_CONSUMED;
}

/* An item or the end of a stream. */
static void complete_stream(int oi, const struct fz_done *d, const char *how)
{
	struct mop *o = &S.op[oi];
	struct mgroup *g = &S.grp[o->group >= 0 ? o->group : 0];
	struct mchan *c = &S.chan[o->chan];

	if (d->res > 0 && o->group < 0)
		fail(FT_BASIC, "%s %s on %s: an item of %d bytes after its group was destroyed", how,
		     fz_kind_names[o->kind], rname(o->ring), d->res);
	if (d->res > 0) {
		int want = o->pend ? o->pend : o->pend_opt;
		const uint8_t *p;
		int it = -1;

		if (!want || d->res != want || !d->more || !d->buf)
			fail(FT_BASIC, "%s %s on %s: an item of %d bytes (more %d, buf %p), expected %s", how,
			     fz_kind_names[o->kind], rname(o->ring), d->res, d->more, (void *)d->buf,
			     want ? "that many bytes" : "no item");
		p = sr_buf_data(d->buf);
		if (!p || sr_buf_is_lent(d->buf) || sr_buf_len(d->buf) != (size_t)d->res)
			fail(FT_BASIC, "%s %s on %s: the item's buffer is not usable (data %p, lent %d, len %zu)", how,
			     fz_kind_names[o->kind], rname(o->ring), (const void *)p, sr_buf_is_lent(d->buf),
			     sr_buf_len(d->buf));
		check_data(o, p, d->res, how);
		if (item_find(d->buf) >= 0)
			fail(FT_BASIC, "%s %s on %s: the group handed out buffer %p, which the caller still holds", how,
			     fz_kind_names[o->kind], rname(o->ring), (void *)d->buf);
		for (int i = 0; i < FZ_MAXITEM; i++)
			if (!S.item[i].used) {
				it = i;
				break;
			}
		if (it < 0)
			fail(FT_BASIC, "driver: too many items out");
		S.item[it].used = true;
		S.item[it].group = o->group;
		S.item[it].b = d->buf;
		S.item[it].len = d->res;
		memcpy(S.item[it].data, p, (size_t)d->res);
		for (int i = 0; i < g->nback; i++)
			if (g->back[i] == d->buf)
				g->back[i] = g->back[--g->nback];
		chan_pop(c, d->res);
		g->claimed--;
		g->out++;
		o->pend = o->pend_opt = 0;
		return;
	}
	if (d->more || d->buf || !o->end_certain || d->res != o->end_res || o->pend)
		fail(FT_BASIC, "%s %s on %s: completion %s (more %d, buf %p), expected %s%s", how,
		     fz_kind_names[o->kind], rname(o->ring), ename(d->res), d->more, (void *)d->buf,
		     o->pend ? "an item first" : o->end_certain ? "the end with " : "nothing",
		     o->pend || !o->end_certain ? "" : ename(o->end_res));
	stream_end(oi);
}

static void complete(int oi, const struct fz_done *d, const char *how)
{
	if (is_stream(S.op[oi].kind))
		complete_stream(oi, d, how);
	else
		complete_single(oi, d, how);
}

/* --- the visible state, checked after every step ------------------------------------------------ */

static bool op_certain(const struct mop *o)
{
	return is_stream(o->kind) ? (o->pend || o->end_certain) : o->certain;
}

static unsigned model_inflight(int ri)
{
	unsigned n = 0;

	for (int i = 0; i < FZ_MAXOP; i++)
		n += S.op[i].state == OP_INFLIGHT && S.op[i].ring == ri && S.op[i].inc == S.ring[ri].inc;
	return n;
}

static void check_state(const char *when)
{
	for (int i = 0; i < FZ_NBUF; i++) {
		struct mbuf *m = &S.buf[i];
		bool lent = sr_buf_is_lent(m->b);
		void *p = sr_buf_data(m->b);

		if (m->op < 0 && (lent || !p))
			fail(FT_BASIC, "%s: buffer %d (%p) is lent to no op, yet lent %d, data %p (holder %s)", when, i,
			     (void *)m->b, lent, p, sr_buf_holder(m->b) ?: "none");
		if (m->op >= 0 && !op_certain(&S.op[m->op]) && (!lent || p))
			fail(FT_BASIC, "%s: buffer %d is lent to %s on %s (in flight), yet lent %d, data %p", when, i,
			     fz_kind_names[S.op[m->op].kind], rname(S.op[m->op].ring), lent, p);
	}
	for (int pi = 0; pi < FZ_NPOOL; pi++) {
		struct mpool *mp = &S.pool[pi];
		int idle = 0, maybe = 0, lo;
		unsigned avail;

		if (!mp->live)
			continue;
		for (int i = 0; i < FZ_POOLN; i++) {
			struct mpbuf *e = &mp->e[i];

			if (e->state == PB_IDLE) {
				idle++;
				/* Back in the pool: every use is refused (docs/safety.md section 2). */
				if (e->b && !mp->peer && ON(FT_POOL) && sr_buf_data(e->b))
					fail(FT_POOL, "%s: pool %d buffer %p was given back, yet sr_buf_data() still gives "
					     "its bytes", when, pi, (void *)e->b);
				continue;
			}
			if (e->op >= 0 && e->autoret && op_certain(&S.op[e->op]))
				maybe++;
			if (e->op < 0 && (sr_buf_is_lent(e->b) || !sr_buf_data(e->b)))
				fail(FT_BASIC, "%s: pool %d buffer %p is the caller's, yet lent %d, data %p", when, pi,
				     (void *)e->b, sr_buf_is_lent(e->b), sr_buf_data(e->b));
			if (e->op >= 0 && !op_certain(&S.op[e->op]) && !sr_buf_is_lent(e->b))
				fail(FT_BASIC, "%s: pool %d buffer %p is lent to %s (in flight), yet not lent", when, pi,
				     (void *)e->b, fz_kind_names[S.op[e->op].kind]);
		}
		lo = mp->peer ? idle - 2 : idle;
		avail = sr_pool_available(mp->p);
		if ((int)avail < lo || (int)avail > idle + maybe)
			fail(FT_BASIC, "%s: sr_pool_available(pool %d) is %u, expected %d..%d", when, pi, avail,
			     lo < 0 ? 0 : lo, idle + maybe);
	}
	for (int gi = 0; gi < FZ_MAXGROUP; gi++) {
		struct mgroup *g = &S.grp[gi];
		unsigned avail;

		if (!g->live || g->detached || !ring_usable(g->ring))
			continue;
		avail = sr_bufgroup_available(g->g);
		if ((int)avail > g->n - g->out || (int)avail < g->n - g->out - g->claimed)
			fail(FT_BASIC, "%s: sr_bufgroup_available(group %d on %s) is %u, expected %d..%d", when, gi,
			     rname(g->ring), avail, g->n - g->out - g->claimed, g->n - g->out);
	}
	for (int i = 0; i < FZ_MAXITEM; i++) {
		struct mitem *it = &S.item[i];
		const uint8_t *p;

		if (!it->used)
			continue;
		p = sr_buf_data(it->b);
		if (!p || sr_buf_is_lent(it->b) || sr_buf_len(it->b) != (size_t)it->len || memcmp(p, it->data, (size_t)it->len))
			fail(S.grp[it->group].detached ? FT_GROUP : FT_BASIC, "%s: group item %p the caller holds%s is "
			     "not intact (data %p, lent %d, len %zu of %d)", when, (void *)it->b,
			     S.grp[it->group].detached ? " (its ring was destroyed)" : "", (const void *)p,
			     sr_buf_is_lent(it->b), sr_buf_len(it->b), it->len);
	}
	for (int ri = 0; ri < FZ_MAXRING; ri++) {
		unsigned got, want;

		if (!ring_usable(ri))
			continue;
		got = sr_ring_inflight(R(ri));
		want = model_inflight(ri);
		if (got != want)
			fail(FT_BASIC, "%s: sr_ring_inflight(%s) is %u, the model has %u", when, rname(ri), got, want);
	}
}

/* --- primitives: one call each, its answer predicted ------------------------------------------ */

/* The bytes in a channel now (after an op that may have read some was cancelled by a destroy). */
static void chan_resync(int ci)
{
	struct mchan *c = &S.chan[ci];
	int n = 0;

	if (ioctl(c->rfd, FIONREAD, &n) < 0 || n > c->qn)
		fail(FT_BASIC, "channel %d holds %d bytes, but only %d were written and not read", ci, n, c->qn);
	chan_pop(c, c->qn - n);
}

/* The ring is gone (destroyed): what the model knows follows. */
static void model_ring_gone(int ri)
{
	struct mring *m = &S.ring[ri];

	for (int i = 0; i < FZ_MAXOP; i++) {
		struct mop *o = &S.op[i];

		if (o->state != OP_INFLIGHT || o->ring != ri || o->inc != m->inc)
			continue;
		o->state = OP_DEAD;
		if (o->buf >= 0)
			S.buf[o->buf].op = -1;
		o->buf = -1;
		pool_buf_back(o);
		if (is_stream(o->kind) && o->group >= 0) {
			S.grp[o->group].streams--;
			S.grp[o->group].claimed -= (o->pend ? 1 : 0) + (o->pend_opt ? 1 : 0);
		}
		if (o->chan >= 0 && S.chan[o->chan].reader == i) {
			S.chan[o->chan].reader = -1;
			chan_resync(o->chan);
		}
	}
	for (int gi = 0; gi < FZ_MAXGROUP; gi++) {
		struct mgroup *g = &S.grp[gi];

		if (!g->live || g->detached || g->ring != ri || g->inc != m->inc)
			continue;
		/* docs/safety.md section 2: items out keep the group (detached) until given back. */
		if (g->out)
			g->detached = true;
		else
			g->live = false;
	}
	for (int pi = 0; pi < FZ_NPOOL; pi++)
		if (S.pool[pi].live && S.pool[pi].regring == ri && S.pool[pi].reginc == m->inc)
			S.pool[pi].regring = -1;
	for (int i = 0; i < FZ_NBUF; i++)
		if (S.buf[i].regring == ri)
			S.buf[i].regring = -1;
	m->regbufs = false;
	for (int i = 0; i < FZ_MAXFH; i++)
		if (S.fh[i].used && S.fh[i].ring == ri && S.fh[i].inc == m->inc)
			S.fh[i].valid = false;
	m->live = false;
	m->closing = false;
	m->r = NULL;
	m->owner = -1;
	m->files = false;
	m->regpool = -1;
	m->ngroups = 0;
	m->depth = 0;
}

/* Destroy (or destroy with a deadline) is under way: whatever is in flight may end cancelled. */
static void model_ring_closing(int ri)
{
	S.ring[ri].closing = true;
	for (int i = 0; i < FZ_MAXOP; i++) {
		struct mop *o = &S.op[i];

		if (o->state != OP_INFLIGHT || o->ring != ri || o->inc != S.ring[ri].inc)
			continue;
		if (is_stream(o->kind)) {
			if (o->pend) {
				o->pend_opt = o->pend;
				o->pend = 0;
			}
			o->end_certain = true;
			o->end_res = -ECANCELED;
		} else {
			if (!o->certain)
				o->nres = 0;
			add_res(o, -ECANCELED);
			o->certain = true;
		}
	}
}

static int ring_slot(void)
{
	for (int i = 0; i < FZ_MAXRING; i++)
		if (!S.ring[i].used)
			return i;
	for (int i = 0; i < FZ_MAXRING; i++)
		if (!S.ring[i].live)
			return i;
	return -1;
}

static int do_create(bool fallback, bool movable)
{
	struct sr_ring_params p = { .entries = 8u << rnd(3) };
	struct sr_ring *r = NULL;
	int ri = ring_slot(), ret;
	char call[96];

	if (ri < 0)
		return -1;
	if (fallback)
		p.flags |= SR_RING_FALLBACK;
#if FZ_HAVE_HANDOVER
	if (movable)
		p.flags |= SR_RING_MOVABLE;
#else
	movable = false;
#endif
	S.call = "sr_ring_create";
	ret = sr_ring_create(&r, &p);
	snprintf(call, sizeof(call), "sr_ring_create(ring%d, %s%s, %u entries)", ri, fallback ? "fallback" : "io_uring",
		 movable ? ", movable" : "", p.entries);
	if (!expect(FT_BASIC, call, ret, 0))
		return -1;
	memset(&S.ring[ri], 0, sizeof(S.ring[ri]));
	S.ring[ri].r = r;
	S.ring[ri].used = S.ring[ri].live = true;
	S.ring[ri].inc = ++S.next_inc;
	S.ring[ri].fallback = fallback;
	S.ring[ri].movable = movable;
	S.ring[ri].owner = S.ring[ri].creator = self_th;
	S.ring[ri].regpool = -1;
	for (int i = 0; i < FZ_NFSLOT; i++)
		S.ring[ri].fslot[i] = -1;
	if (strcmp(sr_ring_backend(r), fallback ? "fallback" : "io_uring"))
		fail(FT_BASIC, "%s runs on %s", rname(ri), sr_ring_backend(r));
	return ri;
}

static void item_drop(int it);

static void do_recycle(int it, int feat)
{
	struct mitem *m = &S.item[it];
	struct mgroup *g = &S.grp[m->group];
	char call[96];

	snprintf(call, sizeof(call), "sr_bufgroup_recycle(group %d%s, %p)", m->group, g->detached ? " (detached)" : "",
		 (void *)m->b);
	S.call = "sr_bufgroup_recycle";
	if (!expect(feat, call, sr_bufgroup_recycle(g->g, m->b), 0))
		return;
	if (g->nback < 8)
		g->back[g->nback++] = m->b;
	item_drop(it);
}

/* An item went back (recycled or freed): a detached group goes with its last one. */
static void item_drop(int it)
{
	struct mgroup *g = &S.grp[S.item[it].group];

	S.item[it].used = false;
	g->out--;
	if (g->detached && !g->out) {
		g->live = false;
		g->detached = false;
	}
}

static void do_destroy(int ri, int feat)
{
	char call[64];

	/* Without the group feature, no item is held across the destroy. */
	if (!ON(FT_GROUP))
		for (int i = 0; i < FZ_MAXITEM; i++)
			if (S.item[i].used && S.grp[S.item[i].group].ring == ri && !S.grp[S.item[i].group].detached)
				do_recycle(i, FT_BASIC);
	snprintf(call, sizeof(call), "sr_ring_destroy(%s)", rname(ri));
	model_ring_closing(ri);
	S.call = "sr_ring_destroy";
	for (int tries = 0; !expect(feat, call, sr_ring_destroy(R(ri)), 0); tries++)
		if (tries == 3)
			fail(FT_OOM, "%s: still -ENOMEM after %d tries", call, tries + 1);
	model_ring_gone(ri);
}

static void do_wait(int oi, const char *how)
{
	struct mop *o = &S.op[oi];
	struct fz_done d;
	char call[96];
	int ret;

	snprintf(call, sizeof(call), "%swait(%s op%d on %s)", how, fz_kind_names[o->kind], oi, rname(o->ring));
	S.call = "wait";
	o->busy = true;
	ret = fz_op_wait(R(o->ring), o->kind, &o->sub, true, &d);
	o->busy = false;
	if (!expect(FT_BASIC, call, ret, 0))
		return;
	vlog("  res %s more %d buf %p", ename(d.res), d.more, (void *)d.buf);
	complete(oi, &d, "wait:");
}

static void do_poll(int oi, const char *how)
{
	struct mop *o = &S.op[oi];
	bool maybe = op_certain(o) || o->pend_opt;
	struct fz_done d;
	char call[96];
	int ret;

	snprintf(call, sizeof(call), "%spoll(%s op%d on %s)", how, fz_kind_names[o->kind], oi, rname(o->ring));
	S.call = "poll";
	o->busy = true;
	ret = fz_op_wait(R(o->ring), o->kind, &o->sub, false, &d);
	o->busy = false;
	if (!maybe || ret == -EAGAIN) {
		expect(FT_BASIC, call, ret, -EAGAIN);
		return;
	}
	if (!expect(FT_BASIC, call, ret, 0))
		return;
	vlog("  res %s more %d buf %p", ename(d.res), d.more, (void *)d.buf);
	complete(oi, &d, "poll:");
}

static void model_cancel(int oi);

static void do_cancel(int oi, const char *how)
{
	struct mop *o = &S.op[oi];
	char call[96];

	snprintf(call, sizeof(call), "%scancel(%s op%d on %s)", how, fz_kind_names[o->kind], oi, rname(o->ring));
	S.call = "cancel";
	if (!expect(FT_BASIC, call, fz_op_cancel(R(o->ring), o->kind, &o->sub), 0))
		return;
	model_cancel(oi);
}

/* A cancel of the op was asked for: it may end cancelled (for sure, if nothing else could end it). */
static void model_cancel(int oi)
{
	struct mop *o = &S.op[oi];

	if (is_stream(o->kind)) {
		if (o->pend) {
			o->pend_opt = o->pend;
			o->pend = 0;
		}
		o->end_certain = true;
		o->end_res = -ECANCELED;
	} else {
		if (!o->certain)
			o->nres = 0;
		add_res(o, -ECANCELED);
		o->certain = true;
	}
	o->cancel_req = true;
	/* A timeout_remove aimed at it may now find it gone. */
	for (int i = 0; i < FZ_MAXOP; i++)
		if (S.op[i].state == OP_INFLIGHT && (S.op[i].kind == K_TREM || S.op[i].kind == K_ACANCEL) &&
		    S.op[i].target == oi) {
			add_res(&S.op[i], -ENOENT);
			add_res(&S.op[i], -EALREADY);
		}
}

/* Ops of this ring the driver may wait on (block: their completion is certain). */
static int pick_op(int ri, bool want_cb, bool need_certain)
{
	int c[FZ_MAXOP], n = 0;

	for (int i = 0; i < FZ_MAXOP; i++) {
		struct mop *o = &S.op[i];

		if (o->state != OP_INFLIGHT || o->ring != ri || o->inc != S.ring[ri].inc || o->cb != want_cb || o->busy)
			continue;
		if (need_certain && !op_certain(o))
			continue;
		c[n++] = i;
	}
	return n ? c[rnd((unsigned)n)] : -1;
}

/* May sr_ring_run(ri) return?  Only when every callback op's completion is certain. */
static bool run_may_return(int ri)
{
	for (int i = 0; i < FZ_MAXOP; i++) {
		struct mop *o = &S.op[i];

		if (o->state == OP_INFLIGHT && o->ring == ri && o->inc == S.ring[ri].inc && o->cb && !op_certain(o))
			return false;
	}
	return true;
}

static bool blocked_waits(int ri)
{
	for (int i = 0; i < FZ_MAXOP; i++) {
		struct mop *o = &S.op[i];

		if (o->state == OP_INFLIGHT && o->ring == ri && o->inc == S.ring[ri].inc && !o->cb && !op_certain(o))
			return true;
	}
	return false;
}

static void do_run(int ri, int how)
{
	char call[64];
	int ret;

	switch (how) {
	case 0:
		snprintf(call, sizeof(call), "sr_ring_poll(%s)", rname(ri));
		S.call = "sr_ring_poll";
		expect_ok_count(FT_BASIC, call, sr_ring_poll(R(ri)));
		break;
	case 1:
	case 2:
		snprintf(call, sizeof(call), "sr_ring_run_once(%s, %d)", rname(ri), how - 1);
		S.call = "sr_ring_run_once";
		expect_ok_count(FT_BASIC, call, sr_ring_run_once(R(ri), how - 1));
		break;
	default:
		if (!run_may_return(ri))
			return;
		snprintf(call, sizeof(call), "sr_ring_run(%s)", rname(ri));
		S.call = "sr_ring_run";
		ret = sr_ring_run(R(ri));
		if (!expect(FT_BASIC, call, ret, 0) || !S.ring[ri].live)
			return;
		if (S.ring[ri].stopped) {
			S.ring[ri].stopped = false;
			return;
		}
		for (int i = 0; i < FZ_MAXOP; i++) {
			struct mop *o = &S.op[i];

			if (o->state == OP_INFLIGHT && o->ring == ri && o->inc == S.ring[ri].inc && o->cb)
				fail(FT_BASIC, "%s returned with the callback of %s op%d not run", call,
				     fz_kind_names[o->kind], i);
		}
	}
}

/* --- submitting ---------------------------------------------------------------------------- */

struct sub_args {
	int ri, kind;
	bool cb;
	int action;
	int buf;		/* plain buffer, or -1 */
	int pbuf;		/* pool*FZ_POOLN+index, or -1 */
	struct sr_buf *rawbuf;	/* misuse: a buffer the model does not lend (given back to its pool) */
	int chan, group, fh, target;
	int src, off, len;
	bool badfd;
	struct sr_chain *ch;
	int expect;		/* 0, or the error the contract names; 1: refused, any error */
	int feat;		/* the feature of the check */
};

static struct __kernel_timespec ts_short = { .tv_nsec = 20000 };
static struct __kernel_timespec ts_long = { .tv_sec = 60 };
static struct __kernel_timespec ts_link = { .tv_nsec = 50000 };

static void sub_init(struct sub_args *a, int ri, int kind)
{
	memset(a, 0, sizeof(*a));
	a->ri = ri;
	a->kind = kind;
	a->buf = a->pbuf = a->chan = a->group = a->fh = a->target = -1;
	a->feat = FT_BASIC;
}

static struct sr_buf *arg_buf(const struct sub_args *a)
{
	if (a->rawbuf)
		return a->rawbuf;
	if (a->buf >= 0)
		return S.buf[a->buf].b;
	if (a->pbuf >= 0)
		return S.pool[a->pbuf / FZ_POOLN].e[a->pbuf % FZ_POOLN].b;
	return NULL;
}

static size_t arg_cap(const struct sub_args *a)
{
	struct sr_buf *b = arg_buf(a);

	return b ? sr_buf_cap(b) : 0;
}

#define SUBMIT(NAME, OPV, SUBF)									\
	do {											\
		if (a->ch)									\
			ret = sr_chain_add(a->ch, &(OPV), &o->sub.SUBF);			\
		else if (a->cb)									\
			ret = sr_##NAME##_submit_cb(r, &(OPV), cbfn_##NAME, arg, &o->sub.SUBF);	\
		else										\
			ret = sr_##NAME##_submit(r, &(OPV), &o->sub.SUBF);			\
	} while (0)

/* Typed callbacks of the kinds that take one. */
#define cbfn_nop fz_cb_nop_fn
#define cbfn_read fz_cb_read_fn
#define cbfn_timeout fz_cb_timeout_fn
#define cbfn_poll_add fz_cb_poll_fn
#define cbfn_write NULL
#define cbfn_timeout_remove NULL
#define cbfn_recv_multishot NULL
#define cbfn_read_multishot NULL
#define cbfn_read_fixed NULL
#define cbfn_write_fixed NULL
#define cbfn_link_timeout NULL
#define cbfn_async_cancel NULL

/*
 * Build and submit one op as the arguments say; check the answer; on
 * success the model lends what it lent and expects what comes.  Returns
 * the op, or -1 when it was (rightly) refused.
 */
static int do_submit(struct sub_args *a)
{
	struct sr_ring *r = R(a->ri);
	struct sr_buf *b = arg_buf(a);
	int oi = op_alloc(a->kind, a->ri), ret = -EINVAL;
	void *arg = (void *)(intptr_t)oi;
	bool was_lent = b && sr_buf_is_lent(b);
	struct mop *o;
	char call[160];
	int fd;

	if (oi < 0)
		return -1;
	/* After a chain's first error, every add returns it and adds nothing. */
	if (a->ch && S.chain_err && a->expect != 1)
		a->expect = S.chain_err;
	o = &S.op[oi];
	memset(&o->sub, 0, sizeof(o->sub));
	S.call = fz_kind_names[a->kind];
	switch (a->kind) {
	case K_NOP: {
		struct sr_nop_op op = sr_nop();

		SUBMIT(nop, op, nop);
		break;
	}
	case K_READF: {
		struct sr_read_op op = sr_read(a->fh >= 0 ? 0 : file_fd[a->src], b, (__u64)a->off);

		if (a->fh >= 0)
			sr_read_set_file(&op, S.fh[a->fh].h);
		SUBMIT(read, op, read);
		break;
	}
	case K_READC: {
		struct sr_read_op op = sr_read(S.chan[a->chan].rfd, b, (__u64)-1);

		SUBMIT(read, op, read);
		break;
	}
	case K_WRITEF: {
		struct sr_write_op op;

		fd = a->badfd ? -1 : a->off >= 0 ? write_fd : null_fd;
		op = sr_write(fd, b, a->off >= 0 ? (__u64)a->off : 0);
		SUBMIT(write, op, write);
		break;
	}
	case K_POLL: {
		struct sr_poll_add_op op = sr_poll_add(S.chan[a->chan].rfd, POLLIN);

		SUBMIT(poll_add, op, poll_add);
		break;
	}
	case K_TMO:
	case K_TMOL: {
		struct sr_timeout_op op = sr_timeout(a->kind == K_TMO ? &ts_short : &ts_long);

		SUBMIT(timeout, op, timeout);
		break;
	}
	case K_TREM: {
		struct sr_timeout_remove_op op = sr_timeout_remove(fz_op_handle(S.op[a->target].kind, &S.op[a->target].sub));

		SUBMIT(timeout_remove, op, timeout_remove);
		break;
	}
	case K_RECVMS: {
		struct sr_recv_multishot_op op = sr_recv_multishot(S.chan[a->chan].rfd, S.grp[a->group].g);

		SUBMIT(recv_multishot, op, recv_multishot);
		break;
	}
	case K_READMS: {
		struct sr_read_multishot_op op = sr_read_multishot(S.chan[a->chan].rfd, S.grp[a->group].g);

		SUBMIT(read_multishot, op, read_multishot);
		break;
	}
	case K_READFX: {
		struct sr_read_fixed_op op = sr_read_fixed(file_fd[0], b, 0);

		SUBMIT(read_fixed, op, read_fixed);
		break;
	}
	case K_WRITEFX: {
		struct sr_write_fixed_op op = sr_write_fixed(write_fd, b, (__u64)a->off);

		SUBMIT(write_fixed, op, write_fixed);
		break;
	}
	case K_LTMO:
		ret = sr_chain_timeout(a->ch, &ts_link, &o->sub.link_timeout);
		break;
	case K_ACANCEL: {
		struct sr_async_cancel_op op = sr_async_cancel(fz_op_handle(S.op[a->target].kind, &S.op[a->target].sub));

		SUBMIT(async_cancel, op, async_cancel);
		break;
	}
	}
	snprintf(call, sizeof(call), "%s%s%s(%s%s%s) -> op%d", a->ch ? "sr_chain_add " : "submit", a->cb ? "_cb " : " ",
		 fz_kind_names[a->kind], rname(a->ri), a->fh >= 0 ? ", registered file" : "",
		 a->group >= 0 ? ", group" : "", oi);
	if (a->expect == 1) {
		expect_refused(a->feat, call, ret);
	} else if (!expect(a->feat, call, ret, a->expect)) {
		if (a->ch && !S.chain_err)
			S.chain_err = ret;
	}
	if (ret) {
		if (a->ch && !S.chain_err)
			S.chain_err = ret;
		/* Refused: nothing lent, nothing in flight (the latter is checked after the step). */
		if (b && !was_lent && sr_buf_is_lent(b))
			fail(a->feat, "%s was refused (%s) but left its buffer lent to %s", call, ename(ret),
			     sr_buf_holder(b) ?: "?");
		return -1;
	}
	o->state = OP_INFLIGHT;
	o->cb = a->cb;
	o->action = a->action;
	o->chain = a->ch != NULL;
	o->src = a->src;
	o->off = a->off;
	if (a->buf >= 0) {
		o->buf = a->buf;
		S.buf[a->buf].op = oi;
	}
	if (a->pbuf >= 0) {
		struct mpbuf *e = &S.pool[a->pbuf / FZ_POOLN].e[a->pbuf % FZ_POOLN];

		o->pool = a->pbuf / FZ_POOLN;
		o->pidx = a->pbuf % FZ_POOLN;
		o->autoret = e->autoret;
		e->op = oi;
	}
	switch (a->kind) {
	case K_NOP:
		o->certain = true;
		set_res1(o, 0);
		break;
	case K_READF:
	case K_READFX:
		if (a->fh >= 0) {
			o->src = S.fh[a->fh].file;
			o->fslot = S.fh[a->fh].slot;
		}
		o->certain = true;
		set_res1(o, (int)(arg_cap(a) < (size_t)(FZ_FILE_SIZE - a->off) ? arg_cap(a) : (size_t)(FZ_FILE_SIZE - a->off)));
		break;
	case K_WRITEF:
	case K_WRITEFX:
		o->certain = true;
		set_res1(o, a->badfd ? -EBADF : a->len);
		break;
	case K_READC:
	case K_POLL:
		o->chan = a->chan;
		S.chan[a->chan].reader = oi;
		if (S.chan[a->chan].qn) {
			int n = S.chan[a->chan].qn;

			o->certain = true;
			set_res1(o, a->kind == K_POLL ? POLLIN : (int)((size_t)n < arg_cap(a) ? (size_t)n : arg_cap(a)));
		}
		break;
	case K_TMO:
		o->certain = true;
		set_res1(o, -ETIME);
		break;
	case K_TMOL:
		break;
	case K_TREM:
		o->certain = true;
		o->target = a->target;
		set_res1(o, 0);
		S.op[a->target].certain = true;
		set_res1(&S.op[a->target], -ECANCELED);
		S.op[a->target].cancel_req = true;
		break;
	case K_RECVMS:
	case K_READMS:
		o->chan = a->chan;
		o->group = a->group;
		S.chan[a->chan].reader = oi;
		S.grp[a->group].streams++;
		/*
		 * The kernel picks a buffer when it first tries the op, data or
		 * not, and ends the stream with -ENOBUFS if the group is dry then:
		 * have it tried now, while the group has a buffer for it.
		 */
		expect(FT_BASIC, "sr_ring_submit (arm the stream)", sr_ring_submit(r) < 0 ? -1 : 0, 0);
		break;
	case K_LTMO:
		o->certain = true;
		set_res1(o, -ETIME);
		break;
	case K_ACANCEL:
		/* Found and cancelled; or, when the target may have ended, not found or too late. */
		o->certain = true;
		set_res1(o, 0);
		if (op_certain(&S.op[a->target]) || S.op[a->target].cancel_req) {
			add_res(o, -ENOENT);
			add_res(o, -EALREADY);
		}
		model_cancel(a->target);
		o->target = a->target;
		break;
	}
	return oi;
}

/* --- ordinary steps ----------------------------------------------------------------------------- */

/* A buffer for an op: plain (free), or a pool buffer the caller holds. */
static bool pick_op_buf(struct sub_args *a)
{
	if (chance(30)) {
		a->pbuf = pick_taken_pbuf(false, -1);
		if (a->pbuf >= 0)
			return true;
	}
	a->buf = pick_free_buf();
	return a->buf >= 0;
}

static void set_write_len(struct sub_args *a)
{
	struct sr_buf *b = arg_buf(a);
	char call[64];

	a->len = (int)rnd((unsigned)(sr_buf_cap(b) < 600 ? sr_buf_cap(b) : 600) + 1);
	snprintf(call, sizeof(call), "sr_buf_set_len(%p, %d)", (void *)b, a->len);
	expect(FT_BASIC, call, sr_buf_set_len(b, (size_t)a->len), 0);
}

/* Sometimes a pool buffer goes back by itself when its op ends. */
static void maybe_autoret(struct sub_args *a)
{
	struct mpbuf *e;
	bool on;

	if (a->pbuf < 0)
		return;
	e = &S.pool[a->pbuf / FZ_POOLN].e[a->pbuf % FZ_POOLN];
	on = chance(50);
	expect(FT_BASIC, on ? "sr_buf_set_auto_return(on)" : "sr_buf_set_auto_return(off)",
	       sr_buf_set_auto_return(e->b, on), 0);
	e->autoret = on;
}

static int pick_fh(int ri, bool valid)
{
	int c[FZ_MAXFH], n = 0;

	for (int i = 0; i < FZ_MAXFH; i++)
		if (S.fh[i].used && S.fh[i].ring == ri && S.fh[i].inc == S.ring[ri].inc && S.fh[i].valid == valid)
			c[n++] = i;
	return n ? c[rnd((unsigned)n)] : -1;
}

static int pick_group(int ri)
{
	int c[FZ_MAXGROUP], n = 0;

	for (int i = 0; i < FZ_MAXGROUP; i++)
		if (S.grp[i].live && !S.grp[i].detached && S.grp[i].ring == ri && S.grp[i].inc == S.ring[ri].inc)
			c[n++] = i;
	return n ? c[rnd((unsigned)n)] : -1;
}

static int submit_random(int ri, bool in_cb)
{
	struct sub_args a;
	int kind = (int)rnd(K_LTMO);

	if (ops_free() < 8)
		return -1;
	sub_init(&a, ri, kind);
	switch (kind) {
	case K_NOP:
	case K_TMO:
		break;
	case K_TMOL:
		if (in_cb)
			return -1;
		break;
	case K_READF:
		if (!pick_op_buf(&a))
			return -1;
		maybe_autoret(&a);
		a.src = (int)rnd(2);
		if (chance(30) && (a.fh = pick_fh(ri, true)) >= 0)
			a.src = S.fh[a.fh].file;
		a.off = (int)rnd((unsigned)(FZ_FILE_SIZE - arg_cap(&a) + 1));
		break;
	case K_WRITEF:
		if (!pick_op_buf(&a))
			return -1;
		maybe_autoret(&a);
		set_write_len(&a);
		a.off = chance(50) ? 8192 + (int)rnd(16) * 512 : -1;
		break;
	case K_READC:
	case K_POLL:
		if (in_cb)
			return -1;
		a.chan = chan_free_reader(true, true);
		if (a.chan < 0)
			return -1;
		if (kind == K_READC) {
			if (!pick_op_buf(&a))
				return -1;
			maybe_autoret(&a);
		}
		break;
	case K_TREM:
		a.target = -1;
		for (int i = 0; i < FZ_MAXOP; i++) {
			struct mop *t = &S.op[i];

			if (t->state == OP_INFLIGHT && t->kind == K_TMOL && t->ring == ri && t->inc == S.ring[ri].inc &&
			    !t->cancel_req)
				a.target = i;
		}
		if (a.target < 0)
			return -1;
		break;
	case K_RECVMS:
	case K_READMS:
		if (in_cb)
			return -1;
		a.group = pick_group(ri);
		a.chan = chan_free_reader(kind == K_RECVMS, kind == K_READMS);
		if (a.group < 0 || a.chan < 0 || S.chan[a.chan].qn ||
		    S.grp[a.group].n - S.grp[a.group].out - S.grp[a.group].claimed <= 0)
			return -1;
		break;
	case K_READFX:
	case K_WRITEFX:
		if (S.ring[ri].regbufs) {
			for (int i = 0; i < FZ_NBUF; i++)
				if (S.buf[i].regring == ri && S.buf[i].op < 0 && chance(60))
					a.buf = i;
			if (a.buf < 0)
				return -1;
		} else if ((a.pbuf = pick_taken_pbuf(true, ri)) < 0) {
			/* A buffer registered nowhere: refused (it must be a fixed buffer of the ring). */
			if (chance(80) || (a.buf = pick_free_buf()) < 0 || S.buf[a.buf].regring >= 0)
				return -1;
			if (kind == K_WRITEFX)
				set_write_len(&a);
			a.expect = 1;
			return do_submit(&a);
		}
		maybe_autoret(&a);
		if (kind == K_WRITEFX) {
			set_write_len(&a);
			a.off = 8192 + (int)rnd(16) * 4096;
		}
		break;
	}
	/* Callbacks for the kinds that have them here; their callbacks act (section 3). */
	if ((kind == K_NOP || kind == K_READF || kind == K_TMO || kind == K_TMOL || kind == K_READC ||
	     kind == K_POLL) && chance(40)) {
		a.cb = true;
		a.action = !in_cb && ON(FT_CALLBACK) && chance(80) ? 1 + (int)rnd(A_NACT - 1) : A_NONE;
	}
	return do_submit(&a);
}

static void st_submit(void)
{
	int ri = pick_ring(), oi;

	if (ri < 0 || (oi = submit_random(ri, false)) < 0)
		return;
	/* A callback that acts: often run it now, while its ring is not closing. */
	if (S.op[oi].cb && S.op[oi].action != A_NONE && chance(60) && S.ring[ri].live)
		do_run(ri, 1 + (int)rnd(3));
}

/* A callback that acts (section 3), delivered at once: a nop or a short timeout, then run. */
static void st_callback(void)
{
	int ri = pick_ring(), oi;
	struct sub_args a;

	if (ri < 0 || ops_free() < 8)
		return;
	sub_init(&a, ri, chance(70) ? K_NOP : K_TMO);
	a.cb = true;
	a.action = 1 + (int)rnd(A_NACT - 1);
	if ((oi = do_submit(&a)) < 0)
		return;
	do_run(ri, run_may_return(ri) && chance(50) ? 3 : 2);
}

static void st_wait(void)
{
	int ri = pick_ring(), oi;

	if (ri < 0 || (oi = pick_op(ri, false, true)) < 0)
		return;
	do_wait(oi, "");
}

static void st_poll(void)
{
	int ri = pick_ring(), oi;

	if (ri < 0 || (oi = pick_op(ri, false, false)) < 0)
		return;
	do_poll(oi, "");
}

static bool cancellable(const struct mop *o)
{
	return !o->chain && o->kind != K_TREM && o->kind != K_LTMO && o->kind != K_ACANCEL;
}

static void st_cancel(void)
{
	int ri = pick_ring(), oi;

	if (ri < 0)
		return;
	oi = pick_op(ri, chance(30), false);
	if (oi < 0 || !cancellable(&S.op[oi]))
		return;
	do_cancel(oi, "");
}

static void st_run(void)
{
	int ri = pick_ring();

	if (ri >= 0)
		do_run(ri, (int)rnd(4));
}

static void feed(int ci, int k, int oi)
{
	struct mchan *c = &S.chan[ci];
	uint8_t data[64];
	char call[64];

	for (int i = 0; i < k; i++)
		data[i] = c->next++;
	snprintf(call, sizeof(call), "write(channel %d, %d bytes)", ci, k);
	vlog("%s", call);
	if (write(c->wfd, data, (size_t)k) != k)
		fail(FT_BASIC, "%s failed: %s", call, strerror(errno));
	memcpy(c->q + c->qn, data, (size_t)k);
	c->qn += k;
	if (oi < 0)
		return;
	switch (S.op[oi].kind) {
	case K_READC:
		S.op[oi].certain = true;
		set_res1(&S.op[oi], (int)((size_t)c->qn < sr_buf_cap(op_buf(&S.op[oi])) ? (size_t)c->qn :
					 sr_buf_cap(op_buf(&S.op[oi]))));
		break;
	case K_POLL:
		S.op[oi].certain = true;
		set_res1(&S.op[oi], POLLIN);
		break;
	}
}

static void st_feed(void)
{
	int ci = (int)rnd(FZ_NCHAN), oi = S.chan[ci].reader, k = 1 + (int)rnd(48);
	struct mop *o = oi >= 0 ? &S.op[oi] : NULL;
	struct mgroup *g;

	if (!o) {
		if (S.chan[ci].qn + k <= 64)
			feed(ci, k, -1);
		return;
	}
	if (o->chain || o->cancel_req || S.ring[o->ring].owner != self_th || S.ring[o->ring].closing)
		return;
	if (!is_stream(o->kind)) {
		if (!o->certain)
			feed(ci, k, oi);
		return;
	}
	if (o->pend || o->pend_opt || o->end_certain || o->group < 0)
		return;
	g = &S.grp[o->group];
	if (k > (int)g->size)
		return;
	if (g->n - g->out - g->claimed > 0) {
		feed(ci, k, -1);
		o->pend = k;
		g->claimed++;
		return;
	}
	if (g->claimed)
		return;
	/* The group is dry: the stream ends with -ENOBUFS and the data stays; wait at once, before
	 * anything is recycled, so that is what happens. */
	feed(ci, k, -1);
	o->end_certain = true;
	o->end_res = -ENOBUFS;
	do_wait(oi, "dry: ");
}

static void do_group_create(int ri, const char *how);

/* A stream that hands an item out, in one step: a group, a stream on a channel, data, the item. */
static void st_stream_item(void)
{
	int ri = pick_ring(), gi, oi = -1;
	struct sub_args a;

	if (ri < 0 || ops_free() < 8)
		return;
	if ((gi = pick_group(ri)) < 0) {
		do_group_create(ri, "");
		if ((gi = pick_group(ri)) < 0)
			return;
	}
	for (int i = 0; i < FZ_MAXOP; i++) {
		struct mop *o = &S.op[i];

		if (o->state == OP_INFLIGHT && is_stream(o->kind) && o->group == gi && !o->end_certain && !o->pend &&
		    !o->pend_opt)
			oi = i;
	}
	if (S.grp[gi].n - S.grp[gi].out - S.grp[gi].claimed <= 0)
		return;
	if (oi < 0) {
		sub_init(&a, ri, chance(50) ? K_RECVMS : K_READMS);
		a.group = gi;
		a.chan = chan_free_reader(a.kind == K_RECVMS, a.kind == K_READMS);
		if (a.chan < 0 || S.chan[a.chan].qn)
			return;
		if ((oi = do_submit(&a)) < 0)
			return;
	}
	if (S.grp[gi].n - S.grp[gi].out - S.grp[gi].claimed <= 0)
		return;
	feed(S.op[oi].chan, 1 + (int)rnd(48), -1);
	S.op[oi].pend = S.chan[S.op[oi].chan].qn;
	S.grp[gi].claimed++;
	do_wait(oi, "");
}

static void st_create(void)
{
	bool fb = chance(50);

	if (nlive() >= 4)
		return;
	do_create(fb, ON(FT_HANDOVER) && chance(50));
}

static void st_destroy(void)
{
	int ri = pick_ring();

	if (ri < 0 || nlive() <= 1)
		return;
	/* Often the ring whose group has items out (docs/safety.md section 2: they stay valid). */
	if (ON(FT_GROUP) && chance(70))
		for (int i = 0; i < FZ_MAXITEM; i++)
			if (S.item[i].used && !S.grp[S.item[i].group].detached && ring_usable(S.grp[S.item[i].group].ring))
				ri = S.grp[S.item[i].group].ring;
	/* Sometimes wait for what is certain first; the rest is cancelled by the destroy. */
	if (chance(30))
		for (int oi; (oi = pick_op(ri, false, true)) >= 0;)
			do_wait(oi, "before destroy: ");
	do_destroy(ri, FT_BASIC);
}

static bool cancellable(const struct mop *o);

/* An op aimed at another: timeout_remove of a long timeout, or async_cancel of any op. */
static void st_target(void)
{
	int ri = pick_ring();
	struct sub_args a;

	if (ri < 0)
		return;
	if (chance(50)) {
		sub_init(&a, ri, K_TREM);
		for (int i = 0; i < FZ_MAXOP; i++) {
			struct mop *t = &S.op[i];

			if (t->state == OP_INFLIGHT && t->kind == K_TMOL && t->ring == ri &&
			    t->inc == S.ring[ri].inc && !t->cancel_req && !t->busy)
				a.target = i;
		}
	} else {
		sub_init(&a, ri, K_ACANCEL);
		a.target = pick_op(ri, chance(30), false);
		if (a.target >= 0 && !cancellable(&S.op[a.target]))
			a.target = -1;
	}
	if (a.target >= 0)
		do_submit(&a);
}

/* --- pools --------------------------------------------------------------------------------------- */

static int pool_idle(int pi)
{
	int n = 0;

	for (int i = 0; i < FZ_POOLN; i++)
		n += S.pool[pi].e[i].state == PB_IDLE;
	return n;
}

static void do_pool_create(int pi)
{
	struct mpool *mp = &S.pool[pi];

	S.call = "sr_pool_create";
	mp->p = sr_pool_create(FZ_POOLN, 4096, 0);
	vlog("sr_pool_create(pool %d) -> %p", pi, (void *)mp->p);
	if (!mp->p && fz_oom_fired() > oom_window && strstr(sr_last_error(), "(ENOMEM)")) {
		mp->live = false;
		return;
	}
	if (!mp->p)
		fail(FT_BASIC, "sr_pool_create failed: %s", sr_last_error());
	memset(mp->e, 0, sizeof(mp->e));
	for (int i = 0; i < FZ_POOLN; i++)
		mp->e[i].op = -1;
	mp->live = true;
	mp->regring = -1;
	mp->peer = false;
}

static void do_pool_take(int pi, const char *how)
{
	struct mpool *mp = &S.pool[pi];
	int idle = pool_idle(pi), slot = -1;
	struct sr_buf *b;

	S.call = "sr_pool_take";
	b = sr_pool_take(mp->p);
	vlog("%ssr_pool_take(pool %d) -> %p", how, pi, (void *)b);
	if (!b) {
		if (idle > (mp->peer ? 2 : 0))
			fail(FT_BASIC, "sr_pool_take(pool %d) returned NULL with %d buffers in the pool: %s", pi, idle,
			     sr_last_error());
		return;
	}
	for (int i = 0; i < FZ_POOLN; i++)
		if (mp->e[i].b == b)
			slot = i;
	if (slot >= 0) {
		struct mpbuf *e = &mp->e[slot];

		if (e->state == PB_TAKEN) {
			/* Only an auto-return buffer whose op has ended may be back already. */
			if (e->op < 0 || !e->autoret || !op_certain(&S.op[e->op]))
				fail(FT_BASIC, "sr_pool_take(pool %d) handed out %p, which the caller still holds", pi,
				     (void *)b);
			S.op[e->op].pool = -1;
		}
	} else {
		for (int i = 0; i < FZ_POOLN && slot < 0; i++)
			if (!mp->e[i].b && mp->e[i].state == PB_IDLE)
				slot = i;
		if (slot < 0)
			fail(FT_BASIC, "sr_pool_take(pool %d) handed out %p, not one of its buffers in the pool", pi,
			     (void *)b);
		mp->e[slot].b = b;
	}
	mp->e[slot].state = PB_TAKEN;
	mp->e[slot].op = -1;
	mp->e[slot].autoret = false;
	if (!sr_buf_data(b) || sr_buf_is_lent(b) || sr_buf_len(b) != 0 || sr_buf_cap(b) != 4096)
		fail(FT_BASIC, "a buffer fresh from pool %d: data %p, lent %d, len %zu, cap %zu", pi, sr_buf_data(b),
		     sr_buf_is_lent(b), sr_buf_len(b), sr_buf_cap(b));
}

static void do_pool_put(int pi, int i, const char *how)
{
	struct mpbuf *e = &S.pool[pi].e[i];
	char call[80];

	snprintf(call, sizeof(call), "%ssr_pool_put(pool %d, %p)", how, pi, (void *)e->b);
	S.call = "sr_pool_put";
	if (e->op >= 0) {
		expect(FT_BASIC, call, sr_pool_put(e->b), -EBUSY);
		return;
	}
	expect(FT_BASIC, call, sr_pool_put(e->b), 0);
	e->state = PB_IDLE;
	e->autoret = false;
}

static bool pool_settled(int pi)
{
	for (int i = 0; i < FZ_POOLN; i++) {
		struct mpbuf *e = &S.pool[pi].e[i];

		if (e->state == PB_TAKEN && e->op >= 0 && e->autoret && op_certain(&S.op[e->op]))
			return false;	/* may be back already, or not */
	}
	return true;
}

static void do_pool_destroy(int pi, int feat)
{
	struct mpool *mp = &S.pool[pi];
	bool busy = pool_idle(pi) != FZ_POOLN || mp->regring >= 0;
	char call[48];

	if (!pool_settled(pi) || mp->peer)
		return;
	snprintf(call, sizeof(call), "sr_pool_destroy(pool %d)", pi);
	S.call = "sr_pool_destroy";
	expect(feat, call, sr_pool_destroy(mp->p), busy ? -EBUSY : 0);
	if (!busy) {
		mp->live = false;
		mp->p = NULL;
	}
}

static void do_register_pool(int ri, int pi)
{
	struct mpool *mp = &S.pool[pi];
	char call[80];
	int want = mp->regring >= 0 || S.ring[ri].regpool >= 0 || S.ring[ri].regbufs ? -EBUSY : 0;

	snprintf(call, sizeof(call), "sr_ring_register_pool(%s, pool %d)", rname(ri), pi);
	S.call = "sr_ring_register_pool";
	if (expect(FT_BASIC, call, sr_ring_register_pool(R(ri), mp->p), want) && !want) {
		mp->regring = ri;
		mp->reginc = S.ring[ri].inc;
		S.ring[ri].regpool = pi;
	}
}

static void do_unregister(int ri)
{
	int pi = S.ring[ri].regpool, want = 0, ret;
	bool either = false;
	char call[64];

	snprintf(call, sizeof(call), "sr_ring_unregister_buffers(%s)", rname(ri));
	if (S.ring[ri].regbufs) {
		/*
		 * Refused while one is lent to an op of this ring; lent to another
		 * ring's op (not fixed there), the contract leaves it open.
		 */
		for (int i = 0; i < FZ_NBUF; i++) {
			struct mbuf *m = &S.buf[i];

			if (m->regring != ri || m->op < 0)
				continue;
			if (op_certain(&S.op[m->op]))
				return;	/* may be back by now */
			if (S.op[m->op].ring == ri)
				want = -EBUSY;
			else
				either = true;
		}
		S.call = "sr_ring_unregister_buffers";
		ret = sr_ring_unregister_buffers(R(ri));
		if (either && !want && ret == -EBUSY)
			want = -EBUSY;
		if (expect(FT_BASIC, call, ret, want) && !want) {
			for (int i = 0; i < FZ_NBUF; i++)
				if (S.buf[i].regring == ri)
					S.buf[i].regring = -1;
			S.ring[ri].regbufs = false;
		}
		return;
	}
	if (pi < 0) {
		want = -ENXIO;
	} else {
		for (int i = 0; i < FZ_POOLN; i++) {
			struct mpbuf *e = &S.pool[pi].e[i];

			if (e->op >= 0 && S.op[e->op].ring == ri) {
				if (op_certain(&S.op[e->op]))
					return;	/* may be back by now */
				want = -EBUSY;
			}
		}
	}
	S.call = "sr_ring_unregister_buffers";
	if (expect(FT_BASIC, call, sr_ring_unregister_buffers(R(ri)), want) && !want) {
		S.pool[pi].regring = -1;
		S.ring[ri].regpool = -1;
	}
}

static void st_pool(void)
{
	int pi = (int)rnd(FZ_NPOOL), ri;
	struct mpool *mp = &S.pool[pi];

	if (!mp->live) {
		do_pool_create(pi);
		return;
	}
	switch (rnd(7)) {
	case 0:
	case 1:
		do_pool_take(pi, "");
		break;
	case 2:
	case 3: {
		int i = (int)rnd(FZ_POOLN);

		if (mp->e[i].state == PB_TAKEN && (mp->e[i].op < 0 || !op_certain(&S.op[mp->e[i].op])))
			do_pool_put(pi, i, "");
		break;
	}
	case 4:
		if (pool_idle(pi) == FZ_POOLN || chance(30))
			do_pool_destroy(pi, FT_BASIC);
		break;
	case 5:
		if ((ri = pick_ring()) >= 0 && !mp->peer)
			do_register_pool(ri, pi);
		break;
	case 6:
		if ((ri = pick_ring()) >= 0)
			do_unregister(ri);
		break;
	}
}

/* Plain buffers as a ring's fixed buffers. */
static void st_regbufs(void)
{
	int ri = pick_ring(), idx[2], n = 0, want;
	struct sr_buf *bufs[2];
	char call[96];

	if (ri < 0)
		return;
	if (chance(30)) {
		do_unregister(ri);
		return;
	}
	for (int k = 0; k < 2 && (k == 0 || chance(50)); k++) {
		int i = pick_free_buf();

		if (i < 0 || (n && idx[0] == i))
			break;
		idx[n] = i;
		bufs[n++] = S.buf[i].b;
	}
	if (!n)
		return;
	want = S.ring[ri].regpool >= 0 || S.ring[ri].regbufs ? -EBUSY : 0;
	for (int k = 0; k < n; k++)
		if (S.buf[idx[k]].regring >= 0)
			want = want ? want : 1;	/* registered with a ring already: refused */
	snprintf(call, sizeof(call), "sr_ring_register_buffers(%s, %d buffers)", rname(ri), n);
	S.call = "sr_ring_register_buffers";
	if (want == 1) {
		expect_refused(FT_BASIC, call, sr_ring_register_buffers(R(ri), bufs, (unsigned)n));
		return;
	}
	if (!expect(FT_BASIC, call, sr_ring_register_buffers(R(ri), bufs, (unsigned)n), want) || want)
		return;
	for (int k = 0; k < n; k++)
		S.buf[idx[k]].regring = ri;
	S.ring[ri].regbufs = true;
}

/* --- groups --------------------------------------------------------------------------------------- */

static void do_group_create(int ri, const char *how)
{
	int gi = -1;
	struct mgroup *g;
	unsigned n = 1u << rnd(3);

	for (int i = 0; i < FZ_MAXGROUP; i++)
		if (!S.grp[i].live) {
			gi = i;
			break;
		}
	if (gi < 0 || S.ring[ri].ngroups >= 2)
		return;
	g = &S.grp[gi];
	S.call = "sr_bufgroup_create";
	g->g = sr_bufgroup_create(R(ri), n, 64);
	vlog("%ssr_bufgroup_create(%s, %u x 64) -> %p", how, rname(ri), n, (void *)g->g);
	if (!g->g && fz_oom_fired() > oom_window && strstr(sr_last_error(), "(ENOMEM)"))
		return;
	if (!g->g)
		fail(FT_BASIC, "sr_bufgroup_create(%s) failed: %s", rname(ri), sr_last_error());
	g->live = true;
	g->detached = false;
	g->ring = ri;
	g->inc = S.ring[ri].inc;
	g->n = (int)n;
	g->size = 64;
	g->out = g->claimed = g->streams = g->nback = 0;
	S.ring[ri].ngroups++;
	if (sr_bufgroup_available(g->g) != n)
		fail(FT_BASIC, "a new group of %u buffers has %u available", n, sr_bufgroup_available(g->g));
}

static void do_group_destroy(int gi, const char *how)
{
	struct mgroup *g = &S.grp[gi];
	int want = g->out ? -EBUSY : 0, ret;
	bool ending = false;
	char call[80];

	/*
	 * A stream that can still pick keeps the group (-EBUSY); one that was
	 * cancelled keeps it until its last completion is in, which the
	 * runtime may have reaped already or not: either answer, then.
	 */
	for (int i = 0; i < FZ_MAXOP; i++) {
		struct mop *o = &S.op[i];

		if (o->state != OP_INFLIGHT || !is_stream(o->kind) || o->group != gi)
			continue;
		if (o->end_certain && !o->pend)
			ending = true;
		else
			want = -EBUSY;
	}
	snprintf(call, sizeof(call), "%ssr_bufgroup_destroy(group %d on %s)", how, gi, rname(g->ring));
	S.call = "sr_bufgroup_destroy";
	ret = sr_bufgroup_destroy(g->g);
	if (ending && !want && ret == -EBUSY)
		want = -EBUSY;
	if (!expect(FT_BASIC, call, ret, want) || want)
		return;
	/* Gone: the streams still to be waited on end with no item. */
	for (int i = 0; i < FZ_MAXOP; i++) {
		struct mop *o = &S.op[i];

		if (o->state != OP_INFLIGHT || !is_stream(o->kind) || o->group != gi)
			continue;
		if (o->pend_opt)
			g->claimed--;
		o->pend_opt = 0;
		g->streams--;
		o->group = -1;
	}
	g->live = false;
	S.ring[g->ring].ngroups--;
}

/* An item out with the caller, of a group this thread may touch. */
static int pick_item(bool detached)
{
	int c[FZ_MAXITEM], n = 0;

	for (int i = 0; i < FZ_MAXITEM; i++) {
		struct mgroup *g;

		if (!S.item[i].used)
			continue;
		g = &S.grp[S.item[i].group];
		if (g->detached != detached || (!detached && !ring_usable(g->ring)))
			continue;
		c[n++] = i;
	}
	return n ? c[rnd((unsigned)n)] : -1;
}

static void st_group(void)
{
	int ri = pick_ring(), gi, it;

	switch (rnd(5)) {
	case 0:
		if (ri >= 0)
			do_group_create(ri, "");
		break;
	case 1:
		if (ri >= 0 && (gi = pick_group(ri)) >= 0)
			do_group_destroy(gi, "");
		break;
	default:
		if ((it = pick_item(false)) >= 0)
			do_recycle(it, FT_BASIC);
		break;
	}
}

/* Items of groups whose ring was destroyed: still the caller's (docs/safety.md section 2). */
static void st_group_detached(void)
{
	int it = pick_item(true);
	char call[80];

	if (it < 0)
		return;
	if (chance(50)) {
		do_recycle(it, FT_GROUP);
		return;
	}
	snprintf(call, sizeof(call), "sr_buf_free(item %p of a detached group)", (void *)S.item[it].b);
	S.call = "sr_buf_free";
	expect(FT_GROUP, call, sr_buf_free(S.item[it].b), 0);
	item_drop(it);
}

/* --- registered files -------------------------------------------------------------------------------- */

/*
 * A slot changes while ops that named it may not have reached the kernel
 * yet (the kernel looks the slot up when it issues the SQE): they may fail
 * with -EBADF.  They must not read another file: the data check stays.
 */
static void fslot_changed(int ri, int slot)
{
	for (int i = 0; i < FZ_MAXOP; i++) {
		struct mop *o = &S.op[i];

		if (o->state == OP_INFLIGHT && o->ring == ri && o->inc == S.ring[ri].inc && o->fslot >= 0 &&
		    (slot < 0 || o->fslot == slot))
			add_res(o, -EBADF);
	}
}

static void fh_invalidate(int ri, int slot)
{
	for (int i = 0; i < FZ_MAXFH; i++)
		if (S.fh[i].used && S.fh[i].ring == ri && S.fh[i].inc == S.ring[ri].inc &&
		    (slot < 0 || S.fh[i].slot == slot))
			S.fh[i].valid = false;
}

static void do_files_set(int ri, int slot, int file, const char *how)
{
	struct mring *m = &S.ring[ri];
	struct sr_file h;
	char call[80];
	int fi = -1;

	snprintf(call, sizeof(call), "%ssr_ring_files_set(%s, slot %d, %s)", how, rname(ri), slot,
		 file < 0 ? "clear" : file ? "file B" : "file A");
	S.call = "sr_ring_files_set";
	if (!expect(FT_BASIC, call, sr_ring_files_set(R(ri), (unsigned)slot, file < 0 ? -1 : file_fd[file], &h),
		    m->files ? 0 : -EINVAL) || !m->files)
		return;
	fh_invalidate(ri, slot);
	fslot_changed(ri, slot);
	m->fslot[slot] = file;
	if (file < 0)
		return;
	for (int i = 0; i < FZ_MAXFH; i++)
		if (!S.fh[i].used || (!S.fh[i].valid && fi < 0))
			fi = i;
	if (fi < 0)
		fi = (int)rnd(FZ_MAXFH);
	S.fh[fi].used = true;
	S.fh[fi].ring = ri;
	S.fh[fi].inc = m->inc;
	S.fh[fi].slot = slot;
	S.fh[fi].file = file;
	S.fh[fi].h = h;
	S.fh[fi].valid = true;
}

static void st_files(void)
{
	int ri = pick_ring();
	struct mring *m;
	char call[64];

	if (ri < 0)
		return;
	m = &S.ring[ri];
	switch (!m->files && chance(70) ? 0 : rnd(6)) {
	case 0:
		snprintf(call, sizeof(call), "sr_ring_register_files(%s, %d)", rname(ri), FZ_NFSLOT);
		S.call = "sr_ring_register_files";
		if (expect(FT_BASIC, call, sr_ring_register_files(R(ri), FZ_NFSLOT), m->files ? -EBUSY : 0))
			m->files = true;
		break;
	case 1:
		snprintf(call, sizeof(call), "sr_ring_unregister_files(%s)", rname(ri));
		S.call = "sr_ring_unregister_files";
		if (!expect(FT_BASIC, call, sr_ring_unregister_files(R(ri)), m->files ? 0 : -ENXIO))
			break;
		fh_invalidate(ri, -1);
		fslot_changed(ri, -1);
		m->files = false;
		for (int i = 0; i < FZ_NFSLOT; i++)
			m->fslot[i] = -1;
		break;
	case 2:
	case 3:
	case 4:
		do_files_set(ri, (int)rnd(FZ_NFSLOT), (int)rnd(2), "");
		break;
	case 5:
		do_files_set(ri, (int)rnd(FZ_NFSLOT), -1, "");
		break;
	}
}

/* --- chains ---------------------------------------------------------------------------------------- */

static int chain_member(int ri, struct sr_chain *ch, int kind, bool badfd)
{
	struct sub_args a;

	sub_init(&a, ri, kind);
	a.ch = ch;
	if (kind == K_READF || kind == K_WRITEF) {
		a.buf = pick_free_buf();
		if (a.buf < 0)
			return -2;
	}
	if (kind == K_READF) {
		a.src = (int)rnd(2);
		a.off = (int)rnd((unsigned)(FZ_FILE_SIZE - arg_cap(&a) + 1));
	} else if (kind == K_WRITEF) {
		set_write_len(&a);
		a.off = 8192 + (int)rnd(16) * 512;
		a.badfd = badfd;
	}
	return do_submit(&a);
}

static void st_chain(void)
{
	int ri = pick_ring(), pattern = (int)rnd(4), n = 2 + (int)rnd(2), first = -1, oi;
	bool hard = chance(30);
	struct sr_chain ch;
	char call[64];

	if (ri < 0 || ops_free() < 10)
		return;
	vlog("sr_chain_begin(%s%s), pattern %d", rname(ri), hard ? ", hard" : "", pattern);
	S.call = "sr_chain";
	S.chain_err = 0;
	sr_chain_begin(R(ri), &ch, hard ? SR_CHAIN_HARD : 0);
	switch (pattern) {
	case 0:	/* every member succeeds */
		for (int i = 0; i < n; i++)
			chain_member(ri, &ch, (int)rnd(3), false);
		break;
	case 1:	/* the first fails: a soft chain cancels the rest, a hard one runs them */
		first = chain_member(ri, &ch, K_WRITEF, true);
		for (int i = 1; i < n && first >= 0 && !S.chain_err; i++) {
			oi = chain_member(ri, &ch, (int)rnd(3), false);
			if (oi >= 0 && !hard)
				set_res1(&S.op[oi], -ECANCELED);
		}
		break;
	case 2: {	/* a read of an empty pipe, bounded by a link timeout */
		struct sub_args a;
		int ci = chan_free_reader(false, true);

		if (ci < 0 || S.chan[ci].qn)
			break;
		sub_init(&a, ri, K_READC);
		a.ch = &ch;
		a.chan = ci;
		if ((a.buf = pick_free_buf()) < 0)
			break;
		oi = do_submit(&a);
		if (oi < 0)
			break;
		sub_init(&a, ri, K_LTMO);
		a.ch = &ch;
		if (do_submit(&a) >= 0) {
			S.op[oi].certain = true;
			set_res1(&S.op[oi], -ECANCELED);
		} else {
			S.op[oi].chain = false;	/* a read alone, blocked */
		}
		break;
	}
	case 3: {	/* a member is refused (its buffer is lent): the chain stops there */
		struct sub_args a;
		int lent = pick_lent_buf();

		chain_member(ri, &ch, K_NOP, false);
		if (lent < 0)
			break;
		sub_init(&a, ri, K_WRITEF);
		a.ch = &ch;
		a.rawbuf = S.buf[lent].b;
		a.expect = -EBUSY;
		do_submit(&a);
		/* Nothing more is added after a refusal. */
		sub_init(&a, ri, K_NOP);
		a.ch = &ch;
		do_submit(&a);
		break;
	}
	}
	snprintf(call, sizeof(call), "sr_chain_end(%s)", rname(ri));
	expect(FT_BASIC, call, sr_chain_end(&ch), S.chain_err);
}

/* --- misuse: stale handles within a ring ------------------------------------------------------------ */

static int pick_consumed(int ri)
{
	int c[FZ_MAXOP], n = 0;

	for (int i = 0; i < FZ_MAXOP; i++)
		if (S.op[i].state == OP_CONSUMED && S.op[i].ring == ri && S.op[i].inc == S.ring[ri].inc)
			c[n++] = i;
	return n ? c[rnd((unsigned)n)] : -1;
}

static void st_stale(void)
{
	int ri = pick_ring(), oi;
	struct fz_done d;
	char call[96];

	if (ri < 0)
		return;
	switch (rnd(6)) {
	case 0:
	case 1:	/* a consumed op: wait, poll, cancel */
		if ((oi = pick_consumed(ri)) < 0)
			return;
		switch (rnd(3)) {
		case 0:
			snprintf(call, sizeof(call), "wait(consumed %s op%d on %s)", fz_kind_names[S.op[oi].kind], oi, rname(ri));
			S.call = "wait(stale)";
			expect(FT_STALE, call, fz_op_wait(R(ri), S.op[oi].kind, &S.op[oi].sub, true, &d), -ESTALE);
			break;
		case 1:
			snprintf(call, sizeof(call), "poll(consumed %s op%d on %s)", fz_kind_names[S.op[oi].kind], oi, rname(ri));
			S.call = "poll(stale)";
			expect(FT_STALE, call, fz_op_wait(R(ri), S.op[oi].kind, &S.op[oi].sub, false, &d), -ESTALE);
			break;
		default:
			snprintf(call, sizeof(call), "cancel(consumed %s op%d on %s)", fz_kind_names[S.op[oi].kind], oi,
				 rname(ri));
			S.call = "cancel(stale)";
			expect(FT_STALE, call, fz_op_cancel(R(ri), S.op[oi].kind, &S.op[oi].sub), -ESTALE);
			break;
		}
		break;
	case 2: {	/* a timeout_remove or async_cancel aimed at a consumed op (reading: -ESTALE, section 1) */
		struct sub_args a;
		bool trem = chance(50);

		sub_init(&a, ri, trem ? K_TREM : K_ACANCEL);
		for (int i = 0; i < FZ_MAXOP; i++)
			if (S.op[i].state == OP_CONSUMED && (!trem || S.op[i].kind == K_TMO || S.op[i].kind == K_TMOL) &&
			    S.op[i].ring == ri && S.op[i].inc == S.ring[ri].inc)
				a.target = i;
		if (a.target < 0)
			return;
		a.expect = -ESTALE;
		a.feat = FT_STALE;
		do_submit(&a);
		break;
	}
	case 3: {	/* a registered-file handle whose slot changed */
		struct sub_args a;

		sub_init(&a, ri, K_READF);
		if ((a.fh = pick_fh(ri, false)) < 0 || (a.buf = pick_free_buf()) < 0)
			return;
		a.expect = -EBADF;
		a.feat = FT_STALE;
		do_submit(&a);
		break;
	}
	case 4: {	/* an item recycled twice, or into another group */
		int gi = pick_group(ri), it;

		if (gi < 0)
			return;
		if (S.grp[gi].nback && chance(60)) {
			struct sr_buf *b = S.grp[gi].back[rnd((unsigned)S.grp[gi].nback)];

			snprintf(call, sizeof(call), "sr_bufgroup_recycle(group %d, %p) again", gi, (void *)b);
			S.call = "sr_bufgroup_recycle(again)";
			expect_refused(FT_STALE, call, sr_bufgroup_recycle(S.grp[gi].g, b));
		} else if ((it = pick_item(false)) >= 0 && S.item[it].group != gi) {
			snprintf(call, sizeof(call), "sr_bufgroup_recycle(group %d, item of group %d)", gi, S.item[it].group);
			S.call = "sr_bufgroup_recycle(wrong group)";
			expect_refused(FT_STALE, call, sr_bufgroup_recycle(S.grp[gi].g, S.item[it].b));
		}
		break;
	}
	case 5:	/* waiting on an op that delivers to its callback: refused (no code in the contract) */
		if ((oi = pick_op(ri, true, false)) < 0)
			return;
		snprintf(call, sizeof(call), "%s(callback %s op%d on %s)", chance(50) ? "wait" : "poll",
			 fz_kind_names[S.op[oi].kind], oi, rname(ri));
		S.call = "wait(callback op)";
		expect_refused(FT_STALE, call, fz_op_wait(R(ri), S.op[oi].kind, &S.op[oi].sub, call[0] == 'w', &d));
		break;
	}
}

/* --- misuse: identity (section 1) -------------------------------------------------------------------- */

/* An op whose handle belongs to another ring, or to a ring since destroyed. */
static int pick_foreign_op(int ri, int kind)
{
	int c[FZ_MAXOP], n = 0;

	for (int i = 0; i < FZ_MAXOP; i++) {
		struct mop *o = &S.op[i];

		if (o->state == OP_FREE || (kind >= 0 && o->kind != kind && !(kind == K_TMOL && o->kind == K_TMO)))
			continue;
		if (o->ring == ri && o->inc == S.ring[ri].inc)
			continue;
		c[n++] = i;
	}
	return n ? c[rnd((unsigned)n)] : -1;
}

static void st_identity(void)
{
	int ri = pick_ring(), oi;
	struct sub_args a;
	struct fz_done d;
	char call[128];
	bool foreign_fh = false;

	if (ri < 0)
		return;
	/* Registered files of other rings are rarer than op handles: when there is one, often it. */
	for (int i = 0; i < FZ_MAXFH; i++)
		foreign_fh |= S.fh[i].used && !(S.fh[i].ring == ri && S.fh[i].inc == S.ring[ri].inc);
	switch (foreign_fh && chance(40) ? 3 : rnd(7)) {
	case 0:
	case 1:	/* wait, poll or cancel with another ring's handle */
		if ((oi = pick_foreign_op(ri, -1)) < 0)
			return;
		snprintf(call, sizeof(call), "%%s(%s, handle of %s op%d of %s%s)", rname(ri), fz_kind_names[S.op[oi].kind], oi,
			 rname(S.op[oi].ring), op_ring_live(&S.op[oi]) ? "" : ", destroyed");
		switch (rnd(3)) {
		case 0:
			/* A wrong match on a ring with a blocked op would hang: poll there. */
			if (!blocked_waits(ri)) {
				char c2[160];

				snprintf(c2, sizeof(c2), call, "wait");
				S.call = "wait(foreign handle)";
				expect(FT_IDENTITY, c2, fz_op_wait(R(ri), S.op[oi].kind, &S.op[oi].sub, true, &d), -EXDEV);
				break;
			}
			/* fall through */
		case 1: {
			char c2[160];

			snprintf(c2, sizeof(c2), call, "poll");
			S.call = "poll(foreign handle)";
			expect(FT_IDENTITY, c2, fz_op_wait(R(ri), S.op[oi].kind, &S.op[oi].sub, false, &d), -EXDEV);
			break;
		}
		default: {
			char c2[160];

			snprintf(c2, sizeof(c2), call, "cancel");
			S.call = "cancel(foreign handle)";
			expect(FT_IDENTITY, c2, fz_op_cancel(R(ri), S.op[oi].kind, &S.op[oi].sub), -EXDEV);
			break;
		}
		}
		break;
	case 2:	/* a timeout_remove or async_cancel aimed at another ring's op */
		if (chance(50)) {
			sub_init(&a, ri, K_TREM);
			a.target = pick_foreign_op(ri, K_TMOL);
		} else {
			sub_init(&a, ri, K_ACANCEL);
			a.target = pick_foreign_op(ri, -1);
		}
		if (a.target < 0)
			return;
		a.expect = -EXDEV;
		a.feat = FT_IDENTITY;
		do_submit(&a);
		break;
	case 3:	/* a registered file of another ring */
		/* Most dangerous: one naming a slot that holds a file here. */
		for (int r2 = 0; r2 < FZ_MAXRING; r2++)
			for (int i = 0; i < FZ_MAXFH && ring_usable(r2) && S.ring[r2].files && r2 != ri; i++)
				if (S.fh[i].used && !(S.fh[i].ring == r2 && S.fh[i].inc == S.ring[r2].inc) &&
				    S.ring[r2].fslot[S.fh[i].slot] >= 0)
					ri = r2;
		sub_init(&a, ri, K_READF);
		for (int i = 0; i < FZ_MAXFH; i++)
			if (S.fh[i].used && !(S.fh[i].ring == ri && S.fh[i].inc == S.ring[ri].inc) &&
			    (a.fh < 0 || S.ring[ri].fslot[S.fh[i].slot] >= 0 || chance(30)))
				a.fh = i;
		if (a.fh < 0 || (a.buf = pick_free_buf()) < 0)
			return;
		/* Often with a file in that slot here too, the case where a match would read it. */
		if (chance(60)) {
			if (!S.ring[ri].files) {
				snprintf(call, sizeof(call), "sr_ring_register_files(%s, %d)", rname(ri), FZ_NFSLOT);
				if (!expect(FT_BASIC, call, sr_ring_register_files(R(ri), FZ_NFSLOT), 0))
					return;
				S.ring[ri].files = true;
			}
			if (S.ring[ri].fslot[S.fh[a.fh].slot] < 0)
				do_files_set(ri, S.fh[a.fh].slot, 1 - S.fh[a.fh].file, "");
		}
		a.expect = -EXDEV;
		a.feat = FT_IDENTITY;
		do_submit(&a);
		break;
	case 4: {	/* a buffer group of another ring (or of a destroyed one) */
		int gi = -1, ci;

		for (int i = 0; i < FZ_MAXGROUP; i++)
			if (S.grp[i].live && !(S.grp[i].ring == ri && S.grp[i].inc == S.ring[ri].inc) && chance(60))
				gi = i;
		if (gi < 0)
			return;
		sub_init(&a, ri, chance(50) ? K_RECVMS : K_READMS);
		a.group = gi;
		if ((a.chan = ci = chan_free_reader(a.kind == K_RECVMS, a.kind == K_READMS)) < 0)
			return;
		a.expect = -EXDEV;
		a.feat = FT_IDENTITY;
		do_submit(&a);
		break;
	}
	case 5: {	/* a fixed op with a pool or a buffer registered with another ring */
		int pb = -1, b = -1;

		for (int p = 0; p < FZ_NPOOL; p++)
			if (S.pool[p].live && S.pool[p].regring >= 0 && S.pool[p].regring != ri)
				for (int i = 0; i < FZ_POOLN; i++)
					if (S.pool[p].e[i].state == PB_TAKEN && S.pool[p].e[i].op < 0)
						pb = p * FZ_POOLN + i;
		for (int i = 0; i < FZ_NBUF; i++)
			if (S.buf[i].regring >= 0 && S.buf[i].regring != ri && S.buf[i].op < 0 && (pb < 0 || chance(50)))
				b = i;
		if (pb < 0 && b < 0)
			return;
		sub_init(&a, ri, chance(50) ? K_READFX : K_WRITEFX);
		if (b >= 0)
			a.buf = b;
		else
			a.pbuf = pb;
		a.off = 8192;
		a.expect = -EXDEV;
		a.feat = FT_IDENTITY;
		do_submit(&a);
		break;
	}
	case 6: {	/* a copy of a buffer's struct (free, lent or a pool's): never the buffer */
		struct sr_buf copy, *orig = NULL;
		int b = chance(50) ? pick_free_buf() : pick_lent_buf(), pb, it;

		/* ... or of a group's, with an item of the group out. */
		if (chance(30) && (it = pick_item(false)) >= 0) {
			struct mgroup *mg = &S.grp[S.item[it].group];
			struct sr_bufgroup gcopy;

			memcpy(&gcopy, mg->g, sizeof(gcopy));
			if (chance(50)) {
				snprintf(call, sizeof(call), "sr_bufgroup_recycle(copy of group %d, %p)", S.item[it].group,
					 (void *)S.item[it].b);
				expect(FT_IDENTITY, call, sr_bufgroup_recycle(&gcopy, S.item[it].b), -EINVAL);
			} else {
				snprintf(call, sizeof(call), "sr_bufgroup_destroy(copy of group %d)", S.item[it].group);
				expect(FT_IDENTITY, call, sr_bufgroup_destroy(&gcopy), -EINVAL);
			}
			return;
		}
		if (b >= 0)
			orig = S.buf[b].b;
		else if ((pb = pick_taken_pbuf(false, ri)) >= 0)
			orig = S.pool[pb / FZ_POOLN].e[pb % FZ_POOLN].b;
		if (!orig)
			return;
		memcpy(&copy, orig, sizeof(copy));
		switch (rnd(4)) {
		case 0:
			sub_init(&a, ri, chance(50) ? K_READF : K_WRITEF);
			a.src = 0;
			a.rawbuf = &copy;
			a.expect = -EINVAL;
			a.feat = FT_IDENTITY;
			S.call = "submit(copy of a buffer)";
			do_submit(&a);
			break;
		case 1:
			snprintf(call, sizeof(call), "sr_buf_free(copy of %p)", (void *)orig);
			expect(FT_IDENTITY, call, sr_buf_free(&copy), -EINVAL);
			break;
		case 2:
			snprintf(call, sizeof(call), "sr_pool_put(copy of %p)", (void *)orig);
			expect(FT_IDENTITY, call, sr_pool_put(&copy), -EINVAL);
			break;
		default:
			snprintf(call, sizeof(call), "sr_buf_set_len(copy of %p, 1)", (void *)orig);
			expect(FT_IDENTITY, call, sr_buf_set_len(&copy, 1), -EINVAL);
			break;
		}
		break;
	}
	}
}

/* --- misuse: pool buffers after they went back (section 2) --------------------------------------------- */

static void st_pool_misuse(void)
{
	int pi = (int)rnd(FZ_NPOOL), i = (int)rnd(FZ_POOLN), ri;
	struct mpool *mp = &S.pool[pi];
	struct mpbuf *e = &mp->e[i];
	char call[96];

	if (!mp->live || mp->peer)
		return;
	if (chance(30)) {
		/* Destroy with buffers taken or lent: -EBUSY, nothing unmapped. */
		if (pool_idle(pi) == FZ_POOLN)
			do_pool_take(pi, "to destroy the pool under it: ");
		if (pool_idle(pi) < FZ_POOLN)
			do_pool_destroy(pi, FT_POOL);
		return;
	}
	/* A buffer given back: take one and put it back when there is none. */
	for (int k = 0; k < FZ_POOLN && (e->state != PB_IDLE || !e->b); k++)
		e = &mp->e[(i + k) % FZ_POOLN];
	if (e->state != PB_IDLE || !e->b) {
		do_pool_take(pi, "to give it back: ");
		for (int k = 0; k < FZ_POOLN; k++)
			if (mp->e[k].state == PB_TAKEN && mp->e[k].op < 0) {
				e = &mp->e[k];
				do_pool_put(pi, k, "");
				break;
			}
	}
	if (e->state != PB_IDLE || !e->b)
		return;
	switch (rnd(6)) {
	case 0:
		vlog("sr_buf_data(given-back %p) -> %p", (void *)e->b, sr_buf_data(e->b));
		if (sr_buf_data(e->b))
			fail(FT_POOL, "sr_buf_data() of a pool buffer given back with sr_pool_put gives its bytes");
		break;
	case 1:
		snprintf(call, sizeof(call), "sr_buf_set_len(given-back %p, 10)", (void *)e->b);
		expect_refused(FT_POOL, call, sr_buf_set_len(e->b, 10));
		break;
	case 2:
		snprintf(call, sizeof(call), "sr_buf_set_window(given-back %p, 0, 10)", (void *)e->b);
		expect_refused(FT_POOL, call, sr_buf_set_window(e->b, 0, 10));
		break;
	case 3:
		snprintf(call, sizeof(call), "sr_pool_put(given-back %p) again", (void *)e->b);
		expect_refused(FT_POOL, call, sr_pool_put(e->b));
		break;
	default: {	/* an op with it */
		struct sub_args a;

		if ((ri = pick_ring()) < 0)
			return;
		if (mp->regring == ri && mp->reginc == S.ring[ri].inc && chance(50)) {
			sub_init(&a, ri, K_READFX);
		} else {
			sub_init(&a, ri, K_READF);
			a.src = 0;
		}
		a.rawbuf = e->b;
		a.expect = 1;
		a.feat = FT_POOL;
		S.call = "submit(given-back pool buffer)";
		do_submit(&a);
		if (sr_pool_available(mp->p) < (unsigned)pool_idle(pi) && pool_settled(pi))
			fail(FT_POOL, "a refused op with a given-back buffer took it out of pool %d", pi);
		break;
	}
	}
}

/* --- callbacks (section 3) ----------------------------------------------------------------------------- */

/* A ring this thread may call, for an action: the ring itself, one up the stack, or another. */
static int action_target(int self)
{
	if (chance(20) && S.nstack > 1) {
		int ri = S.stack[rnd((unsigned)S.nstack)];

		if (ring_usable(ri))
			return ri;
	}
	if (chance(25)) {
		int ri = pick_ring();

		if (ri >= 0)
			return ri;
	}
	return self;
}

static void do_action(int self, int act)
{
	int t = action_target(self), oi, pi;
	char call[96];
	int ret;

	if (!ring_usable(t))
		return;
	vlog("callback action %s on %s (depth %d)", act_names[act], rname(t), S.ring[t].depth);
	switch (act) {
	case A_DESTROY:
		if (S.ring[t].depth) {
			snprintf(call, sizeof(call), "in a callback: sr_ring_destroy(%s)", rname(t));
			S.call = "sr_ring_destroy (in a callback)";
			expect(FT_CALLBACK, call, sr_ring_destroy(R(t)), -EDEADLK);
		} else if (nlive() > 1) {
			do_destroy(t, FT_CALLBACK);
		}
		break;
#if FZ_HAVE_DESTROY_TIMEOUT
	case A_DESTROY_TMO:
		if (S.ring[t].depth) {
			snprintf(call, sizeof(call), "in a callback: sr_ring_destroy_timeout(%s, 1000)", rname(t));
			S.call = "sr_ring_destroy_timeout (in a callback)";
			expect(FT_CALLBACK, call, sr_ring_destroy_timeout(R(t), 1000), -EDEADLK);
		}
		break;
#endif
#if FZ_HAVE_HANDOVER
	case A_RELEASE:
		if (S.ring[t].depth) {
			snprintf(call, sizeof(call), "in a callback: sr_ring_release(%s)", rname(t));
			S.call = "sr_ring_release (in a callback)";
			expect(FT_CALLBACK, call, sr_ring_release(R(t)), -EDEADLK);
		}
		break;
#endif
	case A_RUN:
		if (S.ring[t].depth) {
			snprintf(call, sizeof(call), "in a callback: sr_ring_run(%s)", rname(t));
			S.call = "sr_ring_run (in a callback)";
			/* On code that blocks here, only a certain callback lets the hang end. */
			expect(FT_CALLBACK, call, sr_ring_run(R(t)), -EDEADLK);
		} else {
			do_run(t, 3);
		}
		break;
	case A_RUN_ONCE:
		if (S.ring[t].depth) {
			snprintf(call, sizeof(call), "in a callback: sr_ring_run_once(%s, 0)", rname(t));
			S.call = "sr_ring_run_once (in a callback)";
			expect(FT_CALLBACK, call, sr_ring_run_once(R(t), 0), -EDEADLK);
		} else {
			do_run(t, 1);
		}
		break;
	case A_POLL_RING:
		/* Reaps; callbacks of rings up the stack run later, in order (checked at delivery). */
		snprintf(call, sizeof(call), "in a callback: sr_ring_poll(%s)", rname(t));
		S.call = "sr_ring_poll (in a callback)";
		ret = sr_ring_poll(R(t));
		expect_ok_count(FT_CALLBACK, call, ret);
		break;
	case A_SUBMIT:
	case A_SUBMIT_CB: {
		struct sub_args a;

		if (ops_free() < 8)
			break;
		sub_init(&a, t, chance(70) ? K_NOP : K_READF);
		if (a.kind == K_READF && (a.buf = pick_free_buf()) < 0)
			a.kind = K_NOP;
		if (a.kind == K_READF) {
			a.src = (int)rnd(2);
			a.off = 0;
		}
		a.cb = act == A_SUBMIT_CB;
		a.feat = FT_CALLBACK;
		do_submit(&a);
		break;
	}
	case A_WAIT:
		if ((oi = pick_op(t, false, true)) >= 0)
			do_wait(oi, "in a callback: ");
		break;
	case A_POLL_OP:
		if ((oi = pick_op(t, false, false)) >= 0)
			do_poll(oi, "in a callback: ");
		break;
	case A_CANCEL:
		if ((oi = pick_op(t, chance(30), false)) >= 0 && cancellable(&S.op[oi]))
			do_cancel(oi, "in a callback: ");
		break;
	case A_POOL:
		pi = (int)rnd(FZ_NPOOL);
		if (!S.pool[pi].live)
			break;
		do_pool_take(pi, "in a callback: ");
		for (int i = 0; i < FZ_POOLN; i++)
			if (S.pool[pi].e[i].state == PB_TAKEN && S.pool[pi].e[i].op < 0 && chance(50)) {
				do_pool_put(pi, i, "in a callback: ");
				break;
			}
		break;
	case A_GROUP: {
		int it = pick_item(false);

		if (it >= 0 && S.grp[S.item[it].group].ring == t && chance(50)) {
			do_recycle(it, FT_CALLBACK);
			break;
		}
		do_group_create(t, "in a callback: ");
		if ((oi = pick_group(t)) >= 0 && chance(50))
			do_group_destroy(oi, "in a callback: ");
		break;
	}
	case A_FILES:
		if (S.ring[t].files)
			do_files_set(t, (int)rnd(FZ_NFSLOT), (int)rnd(2), "in a callback: ");
		break;
	}
}

void fz_delivered(struct sr_ring *r, void *arg, const struct fz_done *d)
{
	int oi = (int)(intptr_t)arg, ri;
	const char *saved = S.call;
	struct mop *o;

	if (oi < 0 || oi >= FZ_MAXOP || S.op[oi].state != OP_INFLIGHT || !S.op[oi].cb)
		fail(FT_CALLBACK, "a callback ran for op%d, which has no callback in flight", oi);
	o = &S.op[oi];
	ri = o->ring;
	if (!op_ring_live(o) || S.ring[ri].r != r)
		fail(FT_CALLBACK, "the callback of %s op%d ran with ring %p, the op's ring is %s (%p)",
		     fz_kind_names[o->kind], oi, (void *)r, rname(ri), (void *)S.ring[ri].r);
	if (S.in_child)
		fail(FT_FORK, "the callback of %s op%d of inherited %s ran in the fork child", fz_kind_names[o->kind], oi,
		     rname(ri));
	if (S.ring[ri].owner != self_th)
		fail(FT_THREAD, "the callback of %s op%d on %s ran on thread %d; the ring's owner is %d",
		     fz_kind_names[o->kind], oi, rname(ri), self_th, S.ring[ri].owner);
	if (S.ring[ri].depth)
		fail(FT_CALLBACK, "the callback of %s op%d on %s ran inside another callback of that ring",
		     fz_kind_names[o->kind], oi, rname(ri));
	vlog("callback: %s op%d on %s: res %s buf %p", fz_kind_names[o->kind], oi, rname(ri), ename(d->res),
	     (void *)d->buf);
	complete(oi, d, "callback of");
	S.ring[ri].depth++;
	S.stack[S.nstack++] = ri;
	if (!S.ring[ri].closing) {
		if (o->action != A_NONE)
			do_action(ri, o->action);
	} else if (o->action == A_SUBMIT || o->action == A_SUBMIT_CB) {
		struct sr_nop_op op = sr_nop();
		struct sr_nop_submitted sub;
		char call[64];

		snprintf(call, sizeof(call), "in a callback during destroy: submit nop(%s)", rname(ri));
		expect(FT_CALLBACK, call, sr_nop_submit(r, &op, &sub), -ESHUTDOWN);
	}
	S.nstack--;
	if (S.ring[ri].live && S.ring[ri].r == r)
		S.ring[ri].depth--;
	S.call = saved;
}

/* --- threads (section 4) ---------------------------------------------------------------------------- */

/* A ring this thread does not own (owned by the other thread, or released). */
static int pick_foreign_ring(void)
{
	int c[FZ_MAXRING], n = 0;

	for (int i = 0; i < FZ_MAXRING; i++)
		if (S.ring[i].live && !S.ring[i].closing && S.ring[i].owner != self_th)
			c[n++] = i;
	return n ? c[rnd((unsigned)n)] : -1;
}

static void st_foreign(void)
{
	int ri = pick_foreign_ring(), oi, b, it;
	struct sub_args a;
	struct fz_done d;
	char call[128];
	const char *who;

	if (ri < 0)
		return;
	who = S.ring[ri].owner < 0 ? "released" : "owned by another thread";
	switch (rnd(13)) {
	case 12:	/* the one call any thread may make */
		vlog("sr_ring_stop(%s, %s)", rname(ri), who);
		S.call = "sr_ring_stop (foreign thread)";
		sr_ring_stop(R(ri));
		S.ring[ri].stopped = true;
		break;
	case 0:
		sub_init(&a, ri, K_NOP);
		a.expect = -EPERM;
		a.feat = FT_THREAD;
		do_submit(&a);
		break;
	case 1:
		sub_init(&a, ri, K_READF);
		if ((b = pick_free_buf()) < 0)
			break;
		a.buf = b;
		a.src = 1;
		a.expect = -EPERM;
		a.feat = FT_THREAD;
		do_submit(&a);
		break;
	case 2:
		if ((oi = pick_op(ri, false, true)) < 0)
			break;
		snprintf(call, sizeof(call), "wait(%s op%d of %s, %s)", fz_kind_names[S.op[oi].kind], oi, rname(ri), who);
		S.call = "wait (foreign thread)";
		expect(FT_THREAD, call, fz_op_wait(R(ri), S.op[oi].kind, &S.op[oi].sub, true, &d), -EPERM);
		break;
	case 3:
		if ((oi = pick_op(ri, false, false)) < 0)
			break;
		snprintf(call, sizeof(call), "poll(%s op%d of %s, %s)", fz_kind_names[S.op[oi].kind], oi, rname(ri), who);
		S.call = "poll (foreign thread)";
		expect(FT_THREAD, call, fz_op_wait(R(ri), S.op[oi].kind, &S.op[oi].sub, false, &d), -EPERM);
		break;
	case 4:
		if ((oi = pick_op(ri, chance(30), false)) < 0)
			break;
		snprintf(call, sizeof(call), "cancel(%s op%d of %s, %s)", fz_kind_names[S.op[oi].kind], oi, rname(ri), who);
		S.call = "cancel (foreign thread)";
		expect(FT_THREAD, call, fz_op_cancel(R(ri), S.op[oi].kind, &S.op[oi].sub), -EPERM);
		break;
	case 5:
		snprintf(call, sizeof(call), "sr_ring_poll(%s, %s)", rname(ri), who);
		S.call = "sr_ring_poll (foreign thread)";
		expect(FT_THREAD, call, sr_ring_poll(R(ri)), -EPERM);
		break;
	case 6:
		snprintf(call, sizeof(call), "sr_ring_run_once(%s, 0, %s)", rname(ri), who);
		S.call = "sr_ring_run_once (foreign thread)";
		expect(FT_THREAD, call, sr_ring_run_once(R(ri), 0), -EPERM);
		break;
	case 7:
		snprintf(call, sizeof(call), "sr_ring_destroy(%s, %s)", rname(ri), who);
		S.call = "sr_ring_destroy (foreign thread)";
		expect(FT_THREAD, call, sr_ring_destroy(R(ri)), -EPERM);
		break;
	case 8: {
		struct sr_bufgroup *g;

		snprintf(call, sizeof(call), "sr_bufgroup_create(%s, %s)", rname(ri), who);
		S.call = "sr_bufgroup_create (foreign thread)";
		g = sr_bufgroup_create(R(ri), 2, 64);
		expect_null_err(FT_THREAD, call, g, -EPERM);
		break;
	}
	case 9:
		it = -1;
		for (int i = 0; i < FZ_MAXITEM; i++)
			if (S.item[i].used && !S.grp[S.item[i].group].detached && S.grp[S.item[i].group].ring == ri)
				it = i;
		if (it < 0)
			break;
		snprintf(call, sizeof(call), "sr_bufgroup_recycle(group of %s, %s)", rname(ri), who);
		S.call = "sr_bufgroup_recycle (foreign thread)";
		expect(FT_THREAD, call, sr_bufgroup_recycle(S.grp[S.item[it].group].g, S.item[it].b), -EPERM);
		break;
	case 10:
		snprintf(call, sizeof(call), "sr_ring_files_set(%s, slot 0, %s)", rname(ri), who);
		S.call = "sr_ring_files_set (foreign thread)";
		expect(FT_THREAD, call, sr_ring_files_set(R(ri), 0, file_fd[0], NULL), -EPERM);
		break;
	case 11:
		snprintf(call, sizeof(call), "sr_ring_submit(%s, %s)", rname(ri), who);
		S.call = "sr_ring_submit (foreign thread)";
		expect(FT_THREAD, call, sr_ring_submit(R(ri)), -EPERM);
		break;
	}
}

#if FZ_HAVE_HANDOVER
static void do_release(void *arg)
{
	int ri = (int)(intptr_t)arg;
	struct mring *m = &S.ring[ri];
	char call[96];

	if (m->owner == self_th) {
		snprintf(call, sizeof(call), "sr_ring_release(%s)", rname(ri));
		S.call = "sr_ring_release";
		expect(FT_HANDOVER, call, sr_ring_release(R(ri)), 0);
		m->owner = -1;
	} else {
		snprintf(call, sizeof(call), "sr_ring_release(%s, %s)", rname(ri),
			 m->owner < 0 ? "released" : "owned by another thread");
		S.call = "sr_ring_release (not the owner)";
		expect(FT_HANDOVER, call, sr_ring_release(R(ri)), -EPERM);
	}
}

static void do_acquire(void *arg)
{
	int ri = (int)(intptr_t)arg, want;
	struct mring *m = &S.ring[ri];
	char call[96];

	if (m->owner == self_th) {
		/* Its own ring: the contract does not say; either answer, and it stays its own. */
		snprintf(call, sizeof(call), "sr_ring_acquire(%s, already its own)", rname(ri));
		S.call = "sr_ring_acquire (own)";
		vlog("%s -> %s", call, ename(sr_ring_acquire(R(ri))));
		return;
	}
	if (m->owner >= 0) {
		snprintf(call, sizeof(call), "sr_ring_acquire(%s, owned by thread %d)", rname(ri), m->owner);
		S.call = "sr_ring_acquire (owned)";
		expect_refused(FT_HANDOVER, call, sr_ring_acquire(R(ri)));
		return;
	}
	/* A single-issuer ring (native, not SR_RING_MOVABLE) is the creating thread's for good. */
	want = m->movable || m->fallback || m->creator == self_th ? 0 : -EPERM;
	snprintf(call, sizeof(call), "sr_ring_acquire(%s%s)", rname(ri), m->movable ? ", movable" : "");
	S.call = "sr_ring_acquire";
	if (expect(FT_HANDOVER, call, sr_ring_acquire(R(ri)), want) && !want)
		m->owner = self_th;
}

static void st_handover(void)
{
	int ri = (int)rnd(FZ_MAXRING);
	struct mring *m = &S.ring[ri];

	if (!m->live || m->closing)
		return;
	/* From the main thread, often a whole hand-over from one thread to the other. */
	if (self_th == TH_MAIN && helper.up && m->owner >= 0 && chance(60)) {
		int to = 1 - m->owner;

		run_on(m->owner, do_release, (void *)(intptr_t)ri);
		run_on(to, do_acquire, (void *)(intptr_t)ri);
		return;
	}
	if (m->owner < 0 || chance(50))
		(m->owner == self_th || m->owner >= 0 ? do_release : do_acquire)((void *)(intptr_t)ri);
	else
		do_acquire((void *)(intptr_t)ri);
}
#endif

#if FZ_HAVE_DESTROY_TIMEOUT
static void st_destroy_timeout(void)
{
	int ri = pick_ring(), ms = chance(50) ? 1000 : (int)rnd(2), ret;
	struct sr_nop_op op = sr_nop();
	struct sr_nop_submitted sub;
	char call[64];

	if (ri < 0 || nlive() <= 1)
		return;
	if (!ON(FT_GROUP))
		for (int i = 0; i < FZ_MAXITEM; i++)
			if (S.item[i].used && S.grp[S.item[i].group].ring == ri && !S.grp[S.item[i].group].detached)
				do_recycle(i, FT_BASIC);
	snprintf(call, sizeof(call), "sr_ring_destroy_timeout(%s, %d)", rname(ri), ms);
	model_ring_closing(ri);
	S.call = "sr_ring_destroy_timeout";
	ret = sr_ring_destroy_timeout(R(ri), ms);
	if (ret == -ETIMEDOUT && ms < 1000) {
		expect(FT_TEARDOWN, call, ret, -ETIMEDOUT);
		/* Closing: no new ops; destroy goes on from there (section 7). */
		snprintf(call, sizeof(call), "submit nop(%s, closing)", rname(ri));
		expect(FT_TEARDOWN, call, sr_nop_submit(R(ri), &op, &sub), -ESHUTDOWN);
		snprintf(call, sizeof(call), "sr_ring_destroy(%s, closing)", rname(ri));
		S.call = "sr_ring_destroy (after a timeout)";
		expect(FT_TEARDOWN, call, sr_ring_destroy(R(ri)), 0);
	} else {
		expect(FT_TEARDOWN, call, ret, 0);
	}
	model_ring_gone(ri);
}
#endif

/* --- fork (section 5) ---------------------------------------------------------------------------------- */

static void child_probe(int ri)
{
	struct sr_nop_op op = sr_nop();
	struct sr_nop_submitted sub;
	struct fz_done d;
	char call[96];
	int oi;

	snprintf(call, sizeof(call), "child: submit nop(inherited %s)", rname(ri));
	expect(FT_FORK, call, sr_nop_submit(R(ri), &op, &sub), -EPERM);
	snprintf(call, sizeof(call), "child: sr_ring_poll(inherited %s)", rname(ri));
	expect(FT_FORK, call, sr_ring_poll(R(ri)), -EPERM);
	snprintf(call, sizeof(call), "child: sr_ring_run_once(inherited %s, 0)", rname(ri));
	expect(FT_FORK, call, sr_ring_run_once(R(ri), 0), -EPERM);
	if ((oi = pick_op(ri, false, true)) >= 0) {
		snprintf(call, sizeof(call), "child: wait(%s op%d of inherited %s)", fz_kind_names[S.op[oi].kind], oi,
			 rname(ri));
		expect(FT_FORK, call, fz_op_wait(R(ri), S.op[oi].kind, &S.op[oi].sub, true, &d), -EPERM);
	}
	if ((oi = pick_op(ri, chance(30), false)) >= 0) {
		snprintf(call, sizeof(call), "child: cancel(%s op%d of inherited %s)", fz_kind_names[S.op[oi].kind], oi,
			 rname(ri));
		expect(FT_FORK, call, fz_op_cancel(R(ri), S.op[oi].kind, &S.op[oi].sub), -EPERM);
	}
	if (S.ring[ri].files) {
		snprintf(call, sizeof(call), "child: sr_ring_files_set(inherited %s)", rname(ri));
		expect(FT_FORK, call, sr_ring_files_set(R(ri), 0, file_fd[1], NULL), -EPERM);
	}
}

/*
 * The child's hang guard: it writes where it was stuck to the parent, which
 * tells a hang of the library from one inside libasan.  GCC 12's ASan has
 * no fork handler (LLVM added one in 18: llvm-project#75290), so a child
 * forked while another thread (the peer starting, a fallback worker) held
 * its allocator lock deadlocks in its first malloc or free; glibc's malloc
 * does not, so that hang says nothing about the library.
 */
static void child_hang(int sig)
{
	static const char head[] = "hang\n";
	void *frames[16];
	int n = backtrace(frames, 16);

	(void)sig;
	if (write(S.child_fd, head, sizeof(head) - 1) < 0)
		_exit(3);
	backtrace_symbols_fd(frames, n, S.child_fd);
	_exit(3);
}

/* After "hang": the frames, innermost first: backtrace's own (libasan
 * intercepts it), child_hang's, the signal trampoline's in libc, then where
 * the child was.  Stuck in libasan (past any frames in libc)? */
static bool hang_in_asan(const char *frames)
{
	bool past_signal = false;

	for (const char *l = frames; *l;) {
		const char *end = strchr(l, '\n');
		size_t len = end ? (size_t)(end - l) : strlen(l);
		bool libc = memmem(l, len, "libc.so", 7) != NULL;

		if (past_signal && !libc)
			return memmem(l, len, "libasan", 7) != NULL;
		past_signal |= libc;
		l += len + (end != NULL);
	}
	return false;
}

static void child_main(void)
{
	bool lent[FZ_NBUF], probe_first;
	struct sr_ring *nr;
	struct sr_ring_params p = { .entries = 8 };
	struct sr_nop_op op = sr_nop();
	struct sr_nop_submitted sub;
	struct sr_nop_completed c;

	S.in_child = true;
	self_th = TH_CHILD;
	fz_oom_disarm();
	signal(SIGALRM, child_hang);
	/* A hang guard, not a speed test: the child's work takes milliseconds. */
	alarm(20);
	/* Half the time the child destroys its copies first: the parent's ops must
	 * still complete (fallback rings share the parent's epoll set). */
	probe_first = chance(50);
	for (int ri = 0; ri < FZ_MAXRING; ri++)
		if (probe_first && S.ring[ri].live && !S.ring[ri].closing && chance(70))
			child_probe(ri);
	/* Pools work in the child (their locks are not left held by fork). */
	for (int pi = 0; pi < FZ_NPOOL; pi++) {
		struct sr_buf *b;

		if (!S.pool[pi].live)
			continue;
		b = sr_pool_take(S.pool[pi].p);
		if (b)
			expect(FT_FORK, "child: sr_pool_put", sr_pool_put(b), 0);
		else if (pool_idle(pi) > (S.pool[pi].peer ? 2 : 0))
			fail(FT_FORK, "child: sr_pool_take(pool %d) found none of its %d buffers: %s", pi, pool_idle(pi),
			     sr_last_error());
	}
	/* New rings work. */
	if (chance(50))
		p.flags = SR_RING_FALLBACK;
	expect(FT_FORK, "child: sr_ring_create", sr_ring_create(&nr, &p), 0);
	expect(FT_FORK, "child: submit nop(new ring)", sr_nop_submit(nr, &op, &sub), 0);
	expect(FT_FORK, "child: wait nop(new ring)", sr_nop_wait(nr, &sub, &c), 0);
	expect(FT_FORK, "child: sr_ring_destroy(new ring)", sr_ring_destroy(nr), 0);
	/* Destroying the child's copy releases it, without waiting for anything. */
	for (int i = 0; i < FZ_NBUF; i++)
		lent[i] = S.buf[i].op >= 0 && S.op[S.buf[i].op].state == OP_INFLIGHT;
	for (int ri = 0; ri < FZ_MAXRING; ri++) {
		char call[64];

		if (!S.ring[ri].live || !chance(80))
			continue;
		snprintf(call, sizeof(call), "child: sr_ring_destroy(inherited %s)", rname(ri));
		S.call = "sr_ring_destroy (fork child)";
		expect(FT_FORK, call, sr_ring_destroy(R(ri)), 0);
		for (int i = 0; i < FZ_NBUF; i++)
			if (lent[i] && S.op[S.buf[i].op].ring == ri && (sr_buf_is_lent(S.buf[i].b) || !sr_buf_data(S.buf[i].b)))
				fail(FT_FORK, "child: buffer %d is still lent to %s after the child destroyed inherited %s", i,
				     sr_buf_holder(S.buf[i].b) ?: "?", rname(ri));
	}
	_exit(0);
}

static void st_fork(void)
{
	int pfd[2], status = 0;
	char msg[4096];
	ssize_t n;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC))
		fail(FT_FORK, "pipe2: %s", strerror(errno));
	vlog("fork()");
	S.call = "fork";
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		fail(FT_FORK, "fork: %s", strerror(errno));
	if (!pid) {
		close(pfd[0]);
		S.child_fd = pfd[1];
		child_main();
	}
	close(pfd[1]);
	for (int waited = 0;; waited++) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			break;
		if (waited > 25000) {	/* 25 s: past the child's own 20 s guard */
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			close(pfd[0]);
			fail(FT_FORK, "the fork child hung (in %s)", "its calls on inherited rings");
		}
		usleep(1000);
	}
	n = read(pfd[0], msg, sizeof(msg) - 1);
	if (n > 0 && !strncmp(msg, "hang\n", 5)) {
		ssize_t more;

		while (n < (ssize_t)sizeof(msg) - 1 && (more = read(pfd[0], msg + n, sizeof(msg) - 1 - (size_t)n)) > 0)
			n += more;
		msg[n] = 0;
		close(pfd[0]);
		if (hang_in_asan(msg + 5)) {
			fprintf(stderr, "api-fuzz: note: seed=%llu step=%u: the fork child deadlocked inside libasan "
				"(no fork handler in GCC 12's ASan), not counted; its stack:\n%s", (unsigned long long)S.seed, S.step,
				msg + 5);
			return;
		}
		fail(FT_FORK, "the fork child hung for 20 s; its stack:\n%s", msg + 5);
	}
	close(pfd[0]);
	if (n > 0) {
		int feat = atoi(msg);
		char *text = strchr(msg, ' ');

		msg[n] = 0;
		fail(feat, "%s", text ? text + 1 : msg);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail(FT_FORK, "the fork child %s %d", WIFSIGNALED(status) ? "died of signal" : "exited with",
		     WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	/*
	 * The parent goes on: its ops complete as if nothing happened.  Reads
	 * and polls that wait for data get it now, and are waited for (on the
	 * fallback backend the child shares the parent's epoll set).
	 */
	if (!chance(70))
		return;
	for (int oi = 0; oi < FZ_MAXOP; oi++) {
		struct mop *o = &S.op[oi];

		if (o->state != OP_INFLIGHT || (o->kind != K_READC && o->kind != K_POLL) || o->certain || o->cb ||
		    o->chain || o->busy || !ring_usable(o->ring))
			continue;
		feed(o->chan, 1 + (int)rnd(32), oi);
		do_wait(oi, "after fork: ");
	}
}

/* --- a peer thread: its own ring, a pool shared, concurrently (section 4) ------------------------------ */

static struct {
	pthread_t t;
	bool running;
	int pool;
	bool fallback;
	unsigned iters;
	char err[512];
} peer;

static void *peer_main(void *arg)
{
	struct sr_ring_params p = { .entries = 8, .flags = peer.fallback ? SR_RING_FALLBACK : 0 };
	struct sr_pool *pool = S.pool[peer.pool].p;
	struct sr_ring *r;
	int ret;

	(void)arg;
	self_th = TH_PEER;
	if ((ret = sr_ring_create(&r, &p))) {
		if (ret != -ENOMEM || !fz_oom_fired())
			snprintf(peer.err, sizeof(peer.err), "peer: sr_ring_create -> %s", ename(ret));
		return NULL;
	}
	for (unsigned i = 0; i < peer.iters && !peer.err[0]; i++) {
		struct sr_buf *b = sr_pool_take(pool);
		struct sr_write_submitted s;
		struct sr_write_completed c;
		struct sr_write_op w;
		bool autoret = i & 1;

		if (!b)
			continue;	/* the main thread holds them: fine */
		if (!sr_buf_data(b) || sr_buf_is_lent(b)) {
			snprintf(peer.err, sizeof(peer.err), "peer: a buffer fresh from the pool is not usable");
			break;
		}
		memset(sr_buf_data(b), 'p', 64);
		sr_buf_set_len(b, 64);
		if (autoret)
			sr_buf_set_auto_return(b, true);
		w = sr_write(null_fd, b, 0);
		if ((ret = sr_submit(r, &w, &s)) == -ENOMEM && fz_oom_fired()) {
			sr_pool_put(b);
			continue;
		}
		while (!ret && (ret = sr_wait(r, &s, &c)) == -ENOMEM && fz_oom_fired())
			ret = 0;	/* the completion comes with the next wait */
		if (ret || c.res != 64) {
			snprintf(peer.err, sizeof(peer.err), "peer: write -> %s, res %d: %s", ename(ret), c.res,
				 sr_last_error());
			break;
		}
		if (!autoret && (ret = sr_pool_put(b))) {
			snprintf(peer.err, sizeof(peer.err), "peer: sr_pool_put -> %s", ename(ret));
			break;
		}
	}
	if ((ret = sr_ring_destroy(r)) && !peer.err[0])
		snprintf(peer.err, sizeof(peer.err), "peer: sr_ring_destroy -> %s", ename(ret));
	return NULL;
}

static void peer_join(void)
{
	if (!peer.running)
		return;
	vlog("join the peer thread");
	S.call = "pthread_join(peer)";
	pthread_join(peer.t, NULL);
	peer.running = false;
	S.pool[peer.pool].peer = false;
	if (peer.err[0])
		fail(FT_PEER, "%s", peer.err);
}

static void st_peer(void)
{
	int pi = (int)rnd(FZ_NPOOL);

	if (peer.running) {
		if (chance(50))
			peer_join();
		return;
	}
	if (!S.pool[pi].live || self_th != TH_MAIN)
		return;
	peer.pool = pi;
	peer.fallback = chance(50);
	peer.iters = 20 + rnd(100);
	peer.err[0] = 0;
	S.pool[pi].peer = true;
	vlog("start a peer thread on pool %d (%s, %u writes)", pi, peer.fallback ? "fallback" : "io_uring", peer.iters);
	if (pthread_create(&peer.t, NULL, peer_main, NULL))
		fail(FT_PEER, "pthread_create: %s", strerror(errno));
	peer.running = true;
}

/* --- the sequence --------------------------------------------------------------------------------- */

struct step {
	int feat;
	unsigned weight;
	void (*fn)(void);
	const char *name;
};

static const struct step steps[] = {
	{ FT_BASIC, 14, st_submit, "submit" },
	{ FT_BASIC, 10, st_wait, "wait" },
	{ FT_BASIC, 5, st_poll, "poll" },
	{ FT_BASIC, 4, st_cancel, "cancel" },
	{ FT_BASIC, 3, st_target, "timeout_remove/async_cancel" },
	{ FT_BASIC, 7, st_feed, "feed" },
	{ FT_BASIC, 5, st_run, "run" },
	{ FT_BASIC, 2, st_create, "create" },
	{ FT_BASIC, 2, st_destroy, "destroy" },
	{ FT_BASIC, 6, st_pool, "pool" },
	{ FT_BASIC, 5, st_group, "group" },
	{ FT_BASIC, 4, st_files, "files" },
	{ FT_BASIC, 3, st_chain, "chain" },
	{ FT_BASIC, 3, st_stream_item, "stream item" },
	{ FT_BASIC, 2, st_regbufs, "register buffers" },
	{ FT_STALE, 4, st_stale, "stale" },
	{ FT_CALLBACK, 4, st_callback, "callback" },
	{ FT_IDENTITY, 5, st_identity, "identity" },
	{ FT_POOL, 3, st_pool_misuse, "pool misuse" },
	{ FT_GROUP, 2, st_group_detached, "detached group" },
	{ FT_THREAD, 4, st_foreign, "foreign thread" },
#if FZ_HAVE_HANDOVER
	{ FT_HANDOVER, 3, st_handover, "handover" },
#endif
#if FZ_HAVE_DESTROY_TIMEOUT
	{ FT_TEARDOWN, 1, st_destroy_timeout, "destroy_timeout" },
#endif
	{ FT_PEER, 1, st_peer, "peer" },
};
#define NSTEPS (sizeof(steps) / sizeof(steps[0]))

static const struct step *pick_step(void)
{
	unsigned total = 0, x;

	for (unsigned i = 0; i < NSTEPS; i++)
		if (ON(steps[i].feat))
			total += steps[i].weight;
	x = rnd(total);
	for (unsigned i = 0; i < NSTEPS; i++) {
		if (!ON(steps[i].feat))
			continue;
		if (x < steps[i].weight)
			return &steps[i];
		x -= steps[i].weight;
	}
	return &steps[0];
}

static void run_step(void *arg)
{
	const struct step *st = arg;

	st->fn();
	check_state(st->name);
}

static void setup(void)
{
	for (int i = 0; i < FZ_NCHAN; i++) {
		int fds[2];
		struct mchan *c = &S.chan[i];

		c->sock = i >= 4;
		if (c->sock ? socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) : pipe2(fds, O_CLOEXEC))
			fail(FT_BASIC, "driver: cannot make channel %d: %s", i, strerror(errno));
		c->rfd = fds[0];
		c->wfd = fds[1];
		c->reader = -1;
		c->next = (uint8_t)(i * 40);
	}
	for (int i = 0; i < FZ_NBUF; i++) {
		S.buf[i].cap = 64u << rnd(4);
		S.buf[i].b = sr_buf_alloc(S.buf[i].cap);
		S.buf[i].op = -1;
		S.buf[i].regring = -1;
		if (!S.buf[i].b)
			fail(FT_BASIC, "sr_buf_alloc(%zu) failed: %s", S.buf[i].cap, sr_last_error());
	}
	for (int i = 0; i < FZ_NPOOL; i++)
		do_pool_create(i);
}

/* A step of its own choosing on the thread that owns what it needs. */
static void create_initial(void *arg)
{
	(void)arg;
	do_create(chance(50), ON(FT_HANDOVER) && chance(30));
}

static void teardown_ring(void *arg)
{
	int ri = (int)(intptr_t)arg;

	if (chance(50))
		do_run(ri, 3);	/* callbacks run (and act) before the ring closes */
	if (S.ring[ri].live && chance(40))
		for (int oi; (oi = pick_op(ri, false, true)) >= 0;)
			do_wait(oi, "teardown: ");
	if (S.ring[ri].live)
		do_destroy(ri, FT_BASIC);
}

#if FZ_HAVE_HANDOVER
static void acquire_ring(void *arg)
{
	int ri = (int)(intptr_t)arg;
	char call[64];

	snprintf(call, sizeof(call), "teardown: sr_ring_acquire(%s)", rname(ri));
	S.call = "sr_ring_acquire (teardown)";
	expect(FT_HANDOVER, call, sr_ring_acquire(R(ri)), 0);
	S.ring[ri].owner = self_th;
}
#endif

static void teardown(void)
{
	S.step++;
	vlog("teardown");
	for (int ri = 0; ri < FZ_MAXRING; ri++) {
		if (!S.ring[ri].live)
			continue;
#if FZ_HAVE_HANDOVER
		if (S.ring[ri].owner < 0)
			run_on(S.ring[ri].creator, acquire_ring, (void *)(intptr_t)ri);
#endif
		if (S.ring[ri].closing) {
			/* A destroy that timed out: finish it. */
			S.call = "sr_ring_destroy (teardown)";
			expect(FT_TEARDOWN, "teardown: sr_ring_destroy(closing ring)", sr_ring_destroy(R(ri)), 0);
			model_ring_gone(ri);
			continue;
		}
		run_on(S.ring[ri].owner, teardown_ring, (void *)(intptr_t)ri);
	}
	peer_join();
	check_state("teardown");
	for (int i = 0; i < FZ_MAXITEM; i++)
		if (S.item[i].used)
			do_recycle(i, FT_GROUP);
	for (int gi = 0; gi < FZ_MAXGROUP; gi++)
		if (S.grp[gi].live)
			fail(FT_BASIC, "driver: group %d outlived its ring", gi);
	for (int pi = 0; pi < FZ_NPOOL; pi++) {
		if (!S.pool[pi].live)
			continue;
		for (int i = 0; i < FZ_POOLN; i++)
			if (S.pool[pi].e[i].state == PB_TAKEN)
				do_pool_put(pi, i, "teardown: ");
		if (sr_pool_available(S.pool[pi].p) != FZ_POOLN)
			fail(FT_BASIC, "teardown: pool %d has %u of its %d buffers back", pi, sr_pool_available(S.pool[pi].p),
			     FZ_POOLN);
		do_pool_destroy(pi, FT_BASIC);
		if (S.pool[pi].live)
			fail(FT_BASIC, "teardown: pool %d could not be destroyed", pi);
	}
	for (int i = 0; i < FZ_NBUF; i++) {
		char call[48];

		snprintf(call, sizeof(call), "teardown: sr_buf_free(buffer %d)", i);
		expect(FT_BASIC, call, sr_buf_free(S.buf[i].b), 0);
	}
	for (int i = 0; i < FZ_NCHAN; i++) {
		close(S.chan[i].rfd);
		close(S.chan[i].wfd);
	}
}

unsigned fz_run_sequence(uint64_t seed, const uint8_t *data, size_t len)
{
	unsigned nsteps, nrings, oom_step = 0, oom_after = 0, oom_burst = 0;

	memset(&S, 0, sizeof(S));
	memset(&peer, 0, sizeof(peer));
	S.seed = seed;
	fz_src_seed(&S.src, seed);
	if (data) {
		S.src.bytes = true;
		S.src.data = data;
		S.src.len = len;
	}
	S.ssrc = S.src;
	S.call = "setup";
	self_th = TH_MAIN;
	nsteps = fz_opts.min_steps + rnd(fz_opts.max_steps - fz_opts.min_steps + 1);
	nrings = 2 + rnd(2);
	if (fz_opts.verbose)
		fprintf(stderr, "api-fuzz: seed %llu: %u rings, %u steps\n", (unsigned long long)seed, nrings, nsteps);
	/* Some sequences fail one allocation of the library, or a few in a row (section 6). */
	if (ON(FT_OOM) && fz_oom_available && chance(25)) {
		oom_step = 1 + rnd(nsteps);
		oom_after = chance(50) ? rnd(4) : rnd(24);
		oom_burst = chance(70) ? 1 : 2 + rnd(7);
	}
	oom_window = oom_prev = fz_oom_fired();
	setup();
	for (unsigned i = 0; i < nrings; i++)
		run_on(ON(FT_THREAD) && chance(25) ? TH_HELPER : TH_MAIN, create_initial, NULL);
	for (S.step = 1; S.step <= nsteps; S.step++) {
		const struct step *st;
		int th = TH_MAIN;

		/* Each step's choices come from a generator seeded by one draw, so a different
		 * outcome of one step does not shift the choices of the next. */
		if (!S.src.bytes)
			fz_src_seed(&S.ssrc, fz_src_next(&S.src));
		oom_window = oom_prev;
		oom_prev = fz_oom_fired();
		if (S.step == oom_step) {
			if (fz_opts.verbose)
				fprintf(stderr, "step %u: allocations: %u succeed, then %u fail\n", S.step, oom_after, oom_burst);
			fz_oom_arm(oom_after, oom_burst);
		}
		if (ON(FT_FORK) && rnd(1000) >= 997) {
			if (fz_opts.verbose)
				fprintf(stderr, "step %u: fork\n", S.step);
			st_fork();
			continue;
		}
		st = pick_step();
		if (ON(FT_THREAD) && st->fn != st_peer && chance(st->fn == st_foreign ? 50 : 20))
			th = TH_HELPER;
		if (fz_opts.verbose)
			fprintf(stderr, "step %u [T%d]: %s\n", S.step, th, st->name);
		S.call = st->name;
		if (fz_progress) {
			fz_progress->step = S.step;
			snprintf(fz_progress->name, sizeof(fz_progress->name), "%s on T%d", st->name, th);
		}
		run_on(th, run_step, (void *)st);
	}
	oom_window = oom_prev;
	teardown();
	fz_oom_disarm();
	if (fz_opts.verbose && oom_step)
		fprintf(stderr, "allocations failed on purpose so far: %u\n", fz_oom_fired());
	return nsteps;
}
