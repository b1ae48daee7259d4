/* SPDX-License-Identifier: MIT */
/*
 * ops_sr: the paths people use, through safer-ring (bench/ops.h lists them).
 *
 *   ops_sr PATH checked|raw BATCH OPS [WARMUP]
 *
 *   checked  the typed API: sr_PATH() + sr_submit() per op, then sr_wait()
 *            on each op's handle (multishot paths: sr_wait on the stream,
 *            once per completion); owned buffers (struct sr_buf), a pool
 *            (sr_pool_take / sr_pool_put around each op), fixed buffers
 *            (sr_ring_register_buffers), a buffer group (each buffer
 *            recycled with sr_bufgroup_recycle).  Path cb: sr_submit_cb()
 *            per op, then sr_ring_run() delivers each completion to a
 *            callback.  Baseline: ops_liburing PATH wait (cb: loop).
 *   raw      the untracked variants, where there are: sr_read_raw,
 *            sr_write_raw, sr_read_fixed_raw, sr_send_raw,
 *            sr_multishot_accept_raw, then
 *            io_uring_submit_and_wait(sr_ring_uring(ring), BATCH) and the
 *            completions in batches with sr_raw_reap (sr_raw_wait when none
 *            is ready).  Baseline: ops_liburing PATH batch.
 *
 * The ring comes from sr_ring_create(&ring, NULL).  Setup and WARMUP ops
 * (default OPS / 10) are not timed.  Prints one line:
 *   ops path=read prog=sr_checked batch=32 ops=N setup_flags=0x... setup_ns=S ns=T
 *       ns_per_op=X cpu_ns_per_op=C
 */
#include <safer-ring.h>
#include "ops.h"

#define USAGE "ops_sr read|write|pool|fixed|recv|send|accept|cb checked|raw BATCH OPS [WARMUP]"

struct ctx;

struct req {			/* path cb: what a callback gets */
	struct ctx *c;
	unsigned i;
};

struct ctx {
	struct sr_ring *ring;
	unsigned batch;
	int fd;			/* the file, the socket or the listener */
	int peer;		/* recv, send: the socket's other end */
	unsigned seq, expect;	/* recv: the next datagram to send, and to receive */
	unsigned done;		/* cb: callbacks run in this round */
	bool settle;		/* OPS_SETTLE (bench/ops.h) */
	struct sr_buf *bufs[OPS_MAX_BATCH];
	void *raw[OPS_MAX_BATCH];	/* raw: the buffers' bytes, as plain pointers */
	struct sr_pool *pool;
	struct sr_bufgroup *group;
	struct sr_read_submitted rd[OPS_MAX_BATCH];
	struct sr_write_submitted wr[OPS_MAX_BATCH];
	struct sr_read_fixed_submitted rf[OPS_MAX_BATCH];
	struct sr_send_submitted sd[OPS_MAX_BATCH];
	struct sr_recv_multishot_submitted recv;
	struct sr_multishot_accept_submitted accept;
	struct sockaddr_un addr;
	socklen_t addrlen;
	int clients[OPS_MAX_BATCH];
	struct req req[OPS_MAX_BATCH];
	struct io_uring_cqe cqes[OPS_MAX_BATCH];
};

static void die_sr(const char *what)
{
	bench_die("ops_sr: %s: %s", what, sr_last_error());
}

/* A completed read: its result, its buffer and the first byte it read. */
static inline void check_read(int res, int want, struct sr_buf *got, struct sr_buf *sent, uint64_t off)
{
	if (res != want || got != sent || *(unsigned char *)sr_buf_data(got) != ops_pattern(off))
		bench_die("ops_sr: read at %llu completed with %d (buffer %p, submitted %p)",
			  (unsigned long long)off, res, (void *)got, (void *)sent);
}

static inline void check_raw_read(const struct io_uring_cqe *cqe, int want, void *const *raw, size_t unit)
{
	unsigned i = (unsigned)cqe->user_data - 1;

	if (cqe->res != want || *(unsigned char *)raw[i] != ops_pattern((uint64_t)i * unit))
		bench_die("ops_sr: raw read %u completed with %d", i, cqe->res);
}

static inline void check_res(int res, int want, const char *what)
{
	if (res != want)
		bench_die("ops_sr: %s completed with %d, not %d", what, res, want);
}

/*
 * Raw paths: submit, wait for the whole batch and reap it, as liburing's
 * baseline does (io_uring_submit_and_wait on the ring underneath, which
 * sr_ring_uring gives out for this).  Each reap asks for all that is ready,
 * so the CQ head it leaves is the kernel's too: liburing's wait for a
 * count reads that head.
 */
static void submit_wait_reap(struct ctx *c, void (*check)(struct ctx *, const struct io_uring_cqe *))
{
	unsigned seen = 0;
	int ret = io_uring_submit_and_wait(sr_ring_uring(c->ring), c->batch);

	if (ret < 0)
		bench_die("ops_sr: io_uring_submit_and_wait: %s", strerror(-ret));
	while (seen < c->batch) {
		unsigned n = sr_raw_reap(c->ring, c->cqes, OPS_MAX_BATCH);

		if (!n) {
			ret = sr_raw_wait(c->ring, c->cqes, OPS_MAX_BATCH);
			if (ret < 0)
				die_sr("sr_raw_wait");
			n = (unsigned)ret;
		}
		for (unsigned i = 0; i < n; i++)
			check(c, &c->cqes[i]);
		seen += n;
	}
	if (seen != c->batch)
		bench_die("ops_sr: %u raw completions in a batch of %u", seen, c->batch);
}

/* --- read --------------------------------------------------------------------------- */

static void read_checked(void *arg)
{
	struct ctx *c = arg;
	unsigned i;

	for (i = 0; i < c->batch; i++) {
		struct sr_read_op op = sr_read(c->fd, c->bufs[i], (uint64_t)i * OPS_MSG);

		if (sr_submit(c->ring, &op, &c->rd[i]) < 0)
			die_sr("sr_submit");
	}
	for (i = 0; i < c->batch; i++) {
		struct sr_read_completed done;

		if (sr_wait(c->ring, &c->rd[i], &done) < 0)
			die_sr("sr_wait");
		check_read(done.res, OPS_MSG, done.buf, c->bufs[i], (uint64_t)i * OPS_MSG);
	}
}

static void check_read_raw(struct ctx *c, const struct io_uring_cqe *cqe)
{
	check_raw_read(cqe, OPS_MSG, c->raw, OPS_MSG);
}

static void read_raw(void *arg)
{
	struct ctx *c = arg;

	for (unsigned i = 0; i < c->batch; i++) {
		if (sr_read_raw(c->ring, c->fd, c->raw[i], OPS_MSG, (uint64_t)i * OPS_MSG, i + 1) < 0)
			die_sr("sr_read_raw");
	}
	submit_wait_reap(c, check_read_raw);
}

/* --- write -------------------------------------------------------------------------- */

static void write_checked(void *arg)
{
	struct ctx *c = arg;
	unsigned i;

	for (i = 0; i < c->batch; i++) {
		struct sr_write_op op = sr_write(c->fd, c->bufs[i], (uint64_t)i * OPS_MSG);

		if (sr_submit(c->ring, &op, &c->wr[i]) < 0)
			die_sr("sr_submit");
	}
	if (c->settle) {
		/* sr_ring_submit hands the CQ head back too, which the wait counts from. */
		if (sr_ring_submit(c->ring) < 0)
			die_sr("sr_ring_submit");
		ops_settle(sr_ring_fd(c->ring), c->batch);
	}
	for (i = 0; i < c->batch; i++) {
		struct sr_write_completed done;

		if (sr_wait(c->ring, &c->wr[i], &done) < 0)
			die_sr("sr_wait");
		if (done.res != OPS_MSG || done.buf != c->bufs[i])
			bench_die("ops_sr: write %u completed with %d", i, done.res);
	}
}

static void check_write_raw(struct ctx *c, const struct io_uring_cqe *cqe)
{
	check_res(cqe->res, OPS_MSG, "a raw write");
}

static void write_raw(void *arg)
{
	struct ctx *c = arg;

	for (unsigned i = 0; i < c->batch; i++) {
		if (sr_write_raw(c->ring, c->fd, c->raw[i], OPS_MSG, (uint64_t)i * OPS_MSG, i + 1) < 0)
			die_sr("sr_write_raw");
	}
	submit_wait_reap(c, check_write_raw);
}

/* --- pool: a buffer taken for each read and put back after ------------------------------ */

static void pool_checked(void *arg)
{
	struct ctx *c = arg;
	unsigned i;

	for (i = 0; i < c->batch; i++) {
		struct sr_buf *b = sr_pool_take(c->pool);
		struct sr_read_op op;

		if (!b)
			die_sr("sr_pool_take");
		c->bufs[i] = b;
		op = sr_read(c->fd, b, (uint64_t)i * OPS_PAGE);
		if (sr_submit(c->ring, &op, &c->rd[i]) < 0)
			die_sr("sr_submit");
	}
	for (i = 0; i < c->batch; i++) {
		struct sr_read_completed done;

		if (sr_wait(c->ring, &c->rd[i], &done) < 0)
			die_sr("sr_wait");
		check_read(done.res, OPS_PAGE, done.buf, c->bufs[i], (uint64_t)i * OPS_PAGE);
		if (sr_pool_put(done.buf) < 0)
			die_sr("sr_pool_put");
	}
}

/* --- fixed: registered buffers -------------------------------------------------------- */

static void fixed_checked(void *arg)
{
	struct ctx *c = arg;
	unsigned i;

	for (i = 0; i < c->batch; i++) {
		struct sr_read_fixed_op op = sr_read_fixed(c->fd, c->bufs[i], (uint64_t)i * OPS_MSG);

		if (sr_submit(c->ring, &op, &c->rf[i]) < 0)
			die_sr("sr_submit");
	}
	for (i = 0; i < c->batch; i++) {
		struct sr_read_fixed_completed done;

		if (sr_wait(c->ring, &c->rf[i], &done) < 0)
			die_sr("sr_wait");
		check_read(done.res, OPS_MSG, done.buf, c->bufs[i], (uint64_t)i * OPS_MSG);
	}
}

static void fixed_raw(void *arg)
{
	struct ctx *c = arg;

	for (unsigned i = 0; i < c->batch; i++) {
		if (sr_read_fixed_raw(c->ring, c->fd, c->raw[i], OPS_MSG, (uint64_t)i * OPS_MSG, (int)i, i + 1) < 0)
			die_sr("sr_read_fixed_raw");
	}
	submit_wait_reap(c, check_read_raw);
}

/* --- recv: a multishot stream on a buffer group -------------------------------------- */

static void recv_checked(void *arg)
{
	struct ctx *c = arg;

	ops_send_msgs(c->peer, c->batch, &c->seq);
	for (unsigned i = 0; i < c->batch; i++) {
		struct sr_recv_multishot_completed done;

		if (sr_wait(c->ring, &c->recv, &done) < 0)
			die_sr("sr_wait");
		if (done.res != OPS_MSG || !done.more || !done.buf ||
		    *(unsigned char *)sr_buf_data(done.buf) != (unsigned char)c->expect++)
			bench_die("ops_sr: recv completed with %d (more %d, buffer %p)", done.res, done.more,
				  (void *)done.buf);
		if (sr_bufgroup_recycle(c->group, done.buf) < 0)
			die_sr("sr_bufgroup_recycle");
	}
}

/* --- send ------------------------------------------------------------------------------ */

static void send_checked(void *arg)
{
	struct ctx *c = arg;
	unsigned i;

	for (i = 0; i < c->batch; i++) {
		struct sr_send_op op = sr_send(c->fd, c->bufs[i]);

		if (sr_submit(c->ring, &op, &c->sd[i]) < 0)
			die_sr("sr_submit");
	}
	for (i = 0; i < c->batch; i++) {
		struct sr_send_completed done;

		if (sr_wait(c->ring, &c->sd[i], &done) < 0)
			die_sr("sr_wait");
		if (done.res != OPS_MSG || done.buf != c->bufs[i])
			bench_die("ops_sr: send %u completed with %d", i, done.res);
	}
	ops_drain(c->peer, (size_t)c->batch * OPS_MSG);
}

static void check_send_raw(struct ctx *c, const struct io_uring_cqe *cqe)
{
	check_res(cqe->res, OPS_MSG, "a raw send");
}

static void send_raw(void *arg)
{
	struct ctx *c = arg;

	for (unsigned i = 0; i < c->batch; i++) {
		if (sr_send_raw(c->ring, c->fd, c->raw[i], OPS_MSG, 0, i + 1) < 0)
			die_sr("sr_send_raw");
	}
	submit_wait_reap(c, check_send_raw);
	ops_drain(c->peer, (size_t)c->batch * OPS_MSG);
}

/* --- accept: a multishot stream of connections ---------------------------------------- */

static void accept_checked(void *arg)
{
	struct ctx *c = arg;

	ops_connect(&c->addr, c->addrlen, c->clients, c->batch);
	for (unsigned i = 0; i < c->batch; i++) {
		struct sr_multishot_accept_completed done;

		if (sr_wait(c->ring, &c->accept, &done) < 0)
			die_sr("sr_wait");
		if (done.res < 0 || !done.more)
			bench_die("ops_sr: accept completed with %d (more %d)", done.res, done.more);
		close(done.res);
	}
	ops_close(c->clients, c->batch);
}

static void check_accept_raw(struct ctx *c, const struct io_uring_cqe *cqe)
{
	if (cqe->res < 0 || !(cqe->flags & IORING_CQE_F_MORE))
		bench_die("ops_sr: raw accept completed with %d (flags 0x%x)", cqe->res, cqe->flags);
	close(cqe->res);
}

static void accept_raw(void *arg)
{
	struct ctx *c = arg;

	ops_connect(&c->addr, c->addrlen, c->clients, c->batch);
	submit_wait_reap(c, check_accept_raw);
	ops_close(c->clients, c->batch);
}

/* --- cb: reads delivered to a callback by sr_ring_run ------------------------------------ */

static void on_read(struct sr_ring *r, struct sr_read_completed *done, void *arg)
{
	struct req *q = arg;

	check_read(done->res, OPS_MSG, done->buf, q->c->bufs[q->i], (uint64_t)q->i * OPS_MSG);
	q->c->done++;
}

static void cb_checked(void *arg)
{
	struct ctx *c = arg;

	for (unsigned i = 0; i < c->batch; i++) {
		struct sr_read_op op = sr_read(c->fd, c->bufs[i], (uint64_t)i * OPS_MSG);

		if (sr_submit_cb(c->ring, &op, on_read, &c->req[i], NULL) < 0)
			die_sr("sr_submit_cb");
	}
	c->done = 0;
	if (sr_ring_run(c->ring) < 0)
		die_sr("sr_ring_run");
	if (c->done != c->batch)
		bench_die("ops_sr: sr_ring_run returned after %u of %u callbacks", c->done, c->batch);
}

/* --- setup ------------------------------------------------------------------------------ */

static void owned_bufs(struct ctx *c, size_t size, bool fill)
{
	for (unsigned i = 0; i < c->batch; i++) {
		c->bufs[i] = sr_buf_alloc(size);
		if (!c->bufs[i])
			die_sr("sr_buf_alloc");
		c->raw[i] = sr_buf_data(c->bufs[i]);
		if (fill) {
			memset(c->raw[i], 0xa0 + (int)(i & 15), size);
			if (sr_buf_set_len(c->bufs[i], size) < 0)
				die_sr("sr_buf_set_len");
		}
	}
}

static void setup(struct ctx *c, enum ops_path path, bool raw)
{
	int sv[2];

	switch (path) {
	case P_READ:
	case P_CB:
		c->fd = ops_file((size_t)OPS_MAX_BATCH * OPS_MSG);
		owned_bufs(c, OPS_MSG, false);
		for (unsigned i = 0; i < c->batch; i++)
			c->req[i] = (struct req){ c, i };
		break;
	case P_WRITE:
		c->fd = ops_file((size_t)OPS_MAX_BATCH * OPS_MSG);
		owned_bufs(c, OPS_MSG, true);
		break;
	case P_POOL:
		c->fd = ops_file((size_t)OPS_MAX_BATCH * OPS_PAGE);
		c->pool = sr_pool_create(c->batch, OPS_PAGE, 0);
		if (!c->pool)
			die_sr("sr_pool_create");
		break;
	case P_FIXED:
		c->fd = ops_file((size_t)OPS_MAX_BATCH * OPS_MSG);
		owned_bufs(c, OPS_MSG, false);
		if (sr_ring_register_buffers(c->ring, c->bufs, c->batch) < 0)
			die_sr("sr_ring_register_buffers");
		break;
	case P_RECV: {
		unsigned nbufs = 8;
		struct sr_recv_multishot_op op;

		while (nbufs < 2 * c->batch)
			nbufs *= 2;
		ops_socketpair(SOCK_DGRAM, sv);
		c->fd = sv[0];
		c->peer = sv[1];
		c->group = sr_bufgroup_create(c->ring, nbufs, OPS_MSG);
		if (!c->group)
			die_sr("sr_bufgroup_create");
		op = sr_recv_multishot(c->fd, c->group);
		if (sr_submit(c->ring, &op, &c->recv) < 0)
			die_sr("sr_submit recv_multishot");
		break;
	}
	case P_SEND:
		ops_socketpair(SOCK_STREAM, sv);
		c->fd = sv[0];
		c->peer = sv[1];
		owned_bufs(c, OPS_MSG, true);
		break;
	case P_ACCEPT:
		c->fd = ops_listener(&c->addr, &c->addrlen);
		if (raw) {
			if (sr_multishot_accept_raw(c->ring, c->fd, NULL, NULL, 0, 1) < 0)
				die_sr("sr_multishot_accept_raw");
			if (sr_ring_submit(c->ring) < 0)
				die_sr("sr_ring_submit");
		} else {
			struct sr_multishot_accept_op op = sr_multishot_accept(c->fd);

			if (sr_submit(c->ring, &op, &c->accept) < 0)
				die_sr("sr_submit multishot_accept");
		}
		break;
	case P_NPATHS:
		break;
	}
}

/* After the run (untimed): the written bytes are in the file. */
static void verify(struct ctx *c, enum ops_path path)
{
	unsigned char got[OPS_MSG];

	if (path != P_WRITE)
		return;
	for (unsigned i = 0; i < c->batch; i++) {
		if (pread(c->fd, got, OPS_MSG, (off_t)i * OPS_MSG) != OPS_MSG ||
		    memcmp(got, c->raw[i], OPS_MSG))
			bench_die("ops_sr: the file does not hold what write %u wrote", i);
	}
}

int main(int argc, char **argv)
{
	static void (*const checked[P_NPATHS])(void *) = {
		[P_READ] = read_checked, [P_WRITE] = write_checked, [P_POOL] = pool_checked,
		[P_FIXED] = fixed_checked, [P_RECV] = recv_checked, [P_SEND] = send_checked,
		[P_ACCEPT] = accept_checked, [P_CB] = cb_checked,
	};
	static void (*const raw[P_NPATHS])(void *) = {
		[P_READ] = read_raw, [P_WRITE] = write_raw, [P_FIXED] = fixed_raw,
		[P_SEND] = send_raw, [P_ACCEPT] = accept_raw,
	};
	static struct ctx c;
	struct ops_args a;
	void (*round)(void *);
	uint64_t s0, s1;
	bool is_raw;

	ops_parse(argc, argv, USAGE, &a);
	is_raw = !strcmp(a.mode, "raw");
	if (!is_raw && strcmp(a.mode, "checked"))
		bench_die("ops_sr: unknown mode %s; usage: %s", a.mode, USAGE);
	round = is_raw ? raw[a.path] : checked[a.path];
	if (!round)
		bench_die("ops_sr: path %s has no _raw variant", ops_path_names[a.path]);
	c.batch = a.batch;
	c.settle = a.settle;
	if (a.settle && (a.path != P_WRITE || is_raw))
		bench_die("ops_sr: OPS_SETTLE is for the write path's checked mode");

	s0 = bench_now_ns();
	if (sr_ring_create(&c.ring, NULL) < 0)
		die_sr("sr_ring_create");
	setup(&c, a.path, is_raw);
	s1 = bench_now_ns();

	ops_loop(&a, is_raw ? "sr_raw" : "sr_checked", sr_ring_uring(c.ring)->flags, s1 - s0, round, &c);
	verify(&c, a.path);
	if (sr_ring_destroy(c.ring) < 0)
		die_sr("sr_ring_destroy");
	return 0;
}
