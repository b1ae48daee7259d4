/* SPDX-License-Identifier: MIT */
/*
 * ops_liburing: the raw liburing baselines of the paths workload
 * (bench/ops.h lists the paths; bench/ops_sr.c is the other side).
 *
 *   ops_liburing PATH wait|batch|loop|control_alloc BATCH OPS [WARMUP]
 *
 *   wait    io_uring_get_sqe + io_uring_prep_PATH per op, io_uring_submit,
 *           then each completion on its own with io_uring_wait_cqe +
 *           io_uring_cqe_seen: what the checked API does (sr_wait on each
 *           handle), so its baseline.  Buffers are plain memory: an array
 *           (read, write, send), a free stack (pool), registered with
 *           io_uring_register_buffers (fixed), a buffer ring registered
 *           with io_uring_register_buf_ring and refilled with
 *           io_uring_buf_ring_add + io_uring_buf_ring_cq_advance (recv).
 *   batch   the same SQEs, io_uring_submit_and_wait(ring, BATCH), then the
 *           completions in batches with io_uring_for_each_cqe +
 *           io_uring_cq_advance: the baseline of the _raw variants.
 *   loop    path cb: an event loop, io_uring_submit_and_wait(ring, 1) then
 *           io_uring_for_each_cqe, each completion handed to the function
 *           its request points to: the baseline of sr_submit_cb + sr_ring_run.
 *   control_alloc  path read, wait, plus one malloc + free per op:
 *           bench/gates.py runs it to prove that its allocation count sees
 *           allocations.
 *
 * The ring walks safer-ring's setup ladder (bench/ops.h), so both sides get
 * the same flags.  Setup and WARMUP ops (default OPS / 10) are not timed.
 * Prints one line like ops_sr's.
 */
#include "ops.h"

#define USAGE "ops_liburing read|write|pool|fixed|recv|send|accept|cb wait|batch|loop|control_alloc " \
	"BATCH OPS [WARMUP]"
#define BGID 1

struct ctx;

struct req {			/* path cb: a request knows what handles its completion */
	void (*fn)(struct req *q, int res);
	struct ctx *c;
	unsigned i;
};

struct ctx {
	struct io_uring ring;
	unsigned batch;
	int fd;
	int peer;
	unsigned seq, expect;
	unsigned done;
	bool settle;				/* OPS_SETTLE (bench/ops.h) */
	unsigned char *bufs[OPS_MAX_BATCH];
	unsigned char *stack[OPS_MAX_BATCH];	/* pool: the free buffers */
	unsigned nfree;
	struct io_uring_buf_ring *br;		/* recv: the buffer ring */
	unsigned char *group;			/* ... and its buffers */
	unsigned nbufs;
	struct sockaddr_un addr;
	socklen_t addrlen;
	int clients[OPS_MAX_BATCH];
	struct req req[OPS_MAX_BATCH];
};

static struct io_uring_sqe *get_sqe(struct ctx *c)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&c->ring);

	if (!sqe)
		bench_die("ops_liburing: SQ full");
	return sqe;
}

static void submit(struct ctx *c)
{
	int ret = io_uring_submit(&c->ring);

	if (ret != (int)c->batch)
		bench_die("ops_liburing: io_uring_submit: %d", ret);
}

static struct io_uring_cqe *wait_one(struct ctx *c)
{
	struct io_uring_cqe *cqe;
	int ret = io_uring_wait_cqe(&c->ring, &cqe);

	if (ret < 0)
		bench_die("ops_liburing: io_uring_wait_cqe: %s", strerror(-ret));
	return cqe;
}

static inline void check_read(int res, int want, const unsigned char *got, const unsigned char *sent, uint64_t off)
{
	if (res != want || got != sent || *got != ops_pattern(off))
		bench_die("ops_liburing: read at %llu completed with %d", (unsigned long long)off, res);
}

/* Batch mode: the batch's completions, checked by check(c, cqe). */
static void reap_batch(struct ctx *c, bool submit_first, void (*check)(struct ctx *, struct io_uring_cqe *))
{
	struct io_uring_cqe *cqe;
	unsigned head, seen = 0;
	int ret;

	ret = io_uring_submit_and_wait(&c->ring, c->batch);
	if (ret < 0 || (submit_first && ret != (int)c->batch))
		bench_die("ops_liburing: io_uring_submit_and_wait: %d", ret);
	while (seen < c->batch) {
		unsigned n = 0;

		io_uring_for_each_cqe(&c->ring, head, cqe) {
			check(c, cqe);
			if (++n == c->batch - seen)
				break;
		}
		io_uring_cq_advance(&c->ring, n);
		seen += n;
		if (seen < c->batch)
			wait_one(c);
	}
}

/* --- read, write, fixed ------------------------------------------------------------ */

/* wait mode: user_data is the buffer; batch mode: its index + 1 (as the _raw variants do). */
static void prep_rw(struct ctx *c, enum ops_path path, bool by_index)
{
	for (unsigned i = 0; i < c->batch; i++) {
		struct io_uring_sqe *sqe = get_sqe(c);

		if (path == P_READ)
			io_uring_prep_read(sqe, c->fd, c->bufs[i], OPS_MSG, (uint64_t)i * OPS_MSG);
		else if (path == P_WRITE)
			io_uring_prep_write(sqe, c->fd, c->bufs[i], OPS_MSG, (uint64_t)i * OPS_MSG);
		else
			io_uring_prep_read_fixed(sqe, c->fd, c->bufs[i], OPS_MSG, (uint64_t)i * OPS_MSG, (int)i);
		if (by_index)
			io_uring_sqe_set_data64(sqe, i + 1);
		else
			io_uring_sqe_set_data(sqe, c->bufs[i]);
	}
}

static void read_wait(struct ctx *c, enum ops_path path)
{
	prep_rw(c, path, false);
	submit(c);
	for (unsigned i = 0; i < c->batch; i++) {
		struct io_uring_cqe *cqe = wait_one(c);

		check_read(cqe->res, OPS_MSG, io_uring_cqe_get_data(cqe), c->bufs[i], (uint64_t)i * OPS_MSG);
		io_uring_cqe_seen(&c->ring, cqe);
	}
}

static void rd_wait(void *arg)
{
	read_wait(arg, P_READ);
}

static void fixed_wait(void *arg)
{
	read_wait(arg, P_FIXED);
}

static void check_read_batch(struct ctx *c, struct io_uring_cqe *cqe)
{
	unsigned i = (unsigned)cqe->user_data - 1;

	if (cqe->res != OPS_MSG || *c->bufs[i] != ops_pattern((uint64_t)i * OPS_MSG))
		bench_die("ops_liburing: read %u completed with %d", i, cqe->res);
}

static void rd_batch(void *arg)
{
	prep_rw(arg, P_READ, true);
	reap_batch(arg, true, check_read_batch);
}

static void fixed_batch(void *arg)
{
	prep_rw(arg, P_FIXED, true);
	reap_batch(arg, true, check_read_batch);
}

static void wr_wait(void *arg)
{
	struct ctx *c = arg;

	prep_rw(c, P_WRITE, false);
	submit(c);
	if (c->settle)
		ops_settle(c->ring.ring_fd, c->batch);
	for (unsigned i = 0; i < c->batch; i++) {
		struct io_uring_cqe *cqe = wait_one(c);

		if (cqe->res != OPS_MSG || io_uring_cqe_get_data(cqe) != c->bufs[i])
			bench_die("ops_liburing: write %u completed with %d", i, cqe->res);
		io_uring_cqe_seen(&c->ring, cqe);
	}
}

static void check_write_batch(struct ctx *c, struct io_uring_cqe *cqe)
{
	if (cqe->res != OPS_MSG)
		bench_die("ops_liburing: write completed with %d", cqe->res);
}

static void wr_batch(void *arg)
{
	prep_rw(arg, P_WRITE, true);
	reap_batch(arg, true, check_write_batch);
}

/* --- pool: a buffer off a free stack for each read, back on it after ------------------- */

static void pool_wait(void *arg)
{
	struct ctx *c = arg;
	unsigned i;

	for (i = 0; i < c->batch; i++) {
		struct io_uring_sqe *sqe = get_sqe(c);
		unsigned char *b;

		if (!c->nfree)
			bench_die("ops_liburing: the pool is empty");
		b = c->stack[--c->nfree];
		c->bufs[i] = b;
		io_uring_prep_read(sqe, c->fd, b, OPS_PAGE, (uint64_t)i * OPS_PAGE);
		io_uring_sqe_set_data(sqe, b);
	}
	submit(c);
	for (i = 0; i < c->batch; i++) {
		struct io_uring_cqe *cqe = wait_one(c);
		unsigned char *b = io_uring_cqe_get_data(cqe);

		check_read(cqe->res, OPS_PAGE, b, c->bufs[i], (uint64_t)i * OPS_PAGE);
		c->stack[c->nfree++] = b;
		io_uring_cqe_seen(&c->ring, cqe);
	}
}

/* --- recv: multishot on a buffer ring ------------------------------------------------ */

static void recv_wait(void *arg)
{
	struct ctx *c = arg;
	int mask = io_uring_buf_ring_mask(c->nbufs);

	ops_send_msgs(c->peer, c->batch, &c->seq);
	for (unsigned i = 0; i < c->batch; i++) {
		struct io_uring_cqe *cqe = wait_one(c);
		unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
		unsigned char *b = c->group + (size_t)bid * OPS_MSG;

		if (cqe->res != OPS_MSG || !(cqe->flags & IORING_CQE_F_MORE) ||
		    !(cqe->flags & IORING_CQE_F_BUFFER) || bid >= c->nbufs || *b != (unsigned char)c->expect++)
			bench_die("ops_liburing: recv completed with %d (flags 0x%x)", cqe->res, cqe->flags);
		io_uring_buf_ring_add(c->br, b, OPS_MSG, (unsigned short)bid, mask, 0);
		io_uring_buf_ring_cq_advance(&c->ring, c->br, 1);
	}
}

/* --- send --------------------------------------------------------------------------- */

static void prep_send(struct ctx *c)
{
	for (unsigned i = 0; i < c->batch; i++) {
		struct io_uring_sqe *sqe = get_sqe(c);

		io_uring_prep_send(sqe, c->fd, c->bufs[i], OPS_MSG, 0);
		io_uring_sqe_set_data(sqe, c->bufs[i]);
	}
}

static void send_wait(void *arg)
{
	struct ctx *c = arg;

	prep_send(c);
	submit(c);
	for (unsigned i = 0; i < c->batch; i++) {
		struct io_uring_cqe *cqe = wait_one(c);

		if (cqe->res != OPS_MSG || io_uring_cqe_get_data(cqe) != c->bufs[i])
			bench_die("ops_liburing: send %u completed with %d", i, cqe->res);
		io_uring_cqe_seen(&c->ring, cqe);
	}
	ops_drain(c->peer, (size_t)c->batch * OPS_MSG);
}

static void check_send_batch(struct ctx *c, struct io_uring_cqe *cqe)
{
	if (cqe->res != OPS_MSG)
		bench_die("ops_liburing: send completed with %d", cqe->res);
}

static void send_batch(void *arg)
{
	struct ctx *c = arg;

	prep_send(c);
	reap_batch(c, true, check_send_batch);
	ops_drain(c->peer, (size_t)c->batch * OPS_MSG);
}

/* --- accept: multishot ---------------------------------------------------------------- */

static void accept_wait(void *arg)
{
	struct ctx *c = arg;

	ops_connect(&c->addr, c->addrlen, c->clients, c->batch);
	for (unsigned i = 0; i < c->batch; i++) {
		struct io_uring_cqe *cqe = wait_one(c);

		if (cqe->res < 0 || !(cqe->flags & IORING_CQE_F_MORE))
			bench_die("ops_liburing: accept completed with %d (flags 0x%x)", cqe->res, cqe->flags);
		close(cqe->res);
		io_uring_cqe_seen(&c->ring, cqe);
	}
	ops_close(c->clients, c->batch);
}

static void check_accept_batch(struct ctx *c, struct io_uring_cqe *cqe)
{
	if (cqe->res < 0 || !(cqe->flags & IORING_CQE_F_MORE))
		bench_die("ops_liburing: accept completed with %d (flags 0x%x)", cqe->res, cqe->flags);
	close(cqe->res);
}

static void accept_batch(void *arg)
{
	struct ctx *c = arg;

	ops_connect(&c->addr, c->addrlen, c->clients, c->batch);
	reap_batch(c, false, check_accept_batch);
	ops_close(c->clients, c->batch);
}

/* --- cb: an event loop that calls each request's function ------------------------------- */

static void on_read(struct req *q, int res)
{
	struct ctx *c = q->c;

	check_read(res, OPS_MSG, c->bufs[q->i], c->bufs[q->i], (uint64_t)q->i * OPS_MSG);
	c->done++;
}

static void cb_loop(void *arg)
{
	struct ctx *c = arg;

	for (unsigned i = 0; i < c->batch; i++) {
		struct io_uring_sqe *sqe = get_sqe(c);

		io_uring_prep_read(sqe, c->fd, c->bufs[i], OPS_MSG, (uint64_t)i * OPS_MSG);
		io_uring_sqe_set_data(sqe, &c->req[i]);
	}
	c->done = 0;
	while (c->done < c->batch) {
		struct io_uring_cqe *cqe;
		unsigned head, n = 0;
		int ret = io_uring_submit_and_wait(&c->ring, 1);

		if (ret < 0)
			bench_die("ops_liburing: io_uring_submit_and_wait: %s", strerror(-ret));
		io_uring_for_each_cqe(&c->ring, head, cqe) {
			struct req *q = io_uring_cqe_get_data(cqe);

			q->fn(q, cqe->res);
			n++;
		}
		io_uring_cq_advance(&c->ring, n);
	}
}

/* --- the allocation gate's control -------------------------------------------------- */

static void *volatile sink;

static void control_alloc(void *arg)
{
	struct ctx *c = arg;

	for (unsigned i = 0; i < c->batch; i++) {
		sink = malloc(64);
		free(sink);
	}
	rd_wait(c);
}

/* --- setup -------------------------------------------------------------------------- */

static unsigned char *page_alloc(size_t size)
{
	void *p = NULL;

	if (posix_memalign(&p, 4096, size))
		bench_die("ops_liburing: out of memory");
	memset(p, 0, size);
	return p;
}

static void plain_bufs(struct ctx *c, size_t size, bool fill)
{
	for (unsigned i = 0; i < c->batch; i++) {
		c->bufs[i] = page_alloc(size);
		if (fill)
			memset(c->bufs[i], 0xa0 + (int)(i & 15), size);
	}
}

static void setup(struct ctx *c, enum ops_path path, bool batch_mode)
{
	struct io_uring_sqe *sqe;
	int sv[2], ret;

	switch (path) {
	case P_READ:
	case P_CB:
		c->fd = ops_file((size_t)OPS_MAX_BATCH * OPS_MSG);
		plain_bufs(c, OPS_MSG, false);
		for (unsigned i = 0; i < c->batch; i++)
			c->req[i] = (struct req){ on_read, c, i };
		break;
	case P_WRITE:
		c->fd = ops_file((size_t)OPS_MAX_BATCH * OPS_MSG);
		plain_bufs(c, OPS_MSG, true);
		break;
	case P_POOL:
		c->fd = ops_file((size_t)OPS_MAX_BATCH * OPS_PAGE);
		for (unsigned i = 0; i < c->batch; i++)
			c->stack[c->nfree++] = page_alloc(OPS_PAGE);
		break;
	case P_FIXED: {
		struct iovec iov[OPS_MAX_BATCH];

		c->fd = ops_file((size_t)OPS_MAX_BATCH * OPS_MSG);
		plain_bufs(c, OPS_MSG, false);
		for (unsigned i = 0; i < c->batch; i++)
			iov[i] = (struct iovec){ c->bufs[i], OPS_MSG };
		ret = io_uring_register_buffers(&c->ring, iov, c->batch);
		if (ret < 0)
			bench_die("ops_liburing: io_uring_register_buffers: %s", strerror(-ret));
		break;
	}
	case P_RECV: {
		struct io_uring_buf_reg reg;

		c->nbufs = 8;
		while (c->nbufs < 2 * c->batch)
			c->nbufs *= 2;
		ops_socketpair(SOCK_DGRAM, sv);
		c->fd = sv[0];
		c->peer = sv[1];
		c->br = (struct io_uring_buf_ring *)page_alloc(c->nbufs * sizeof(struct io_uring_buf));
		c->group = page_alloc((size_t)c->nbufs * OPS_MSG);
		memset(&reg, 0, sizeof(reg));
		reg.ring_addr = (uintptr_t)c->br;
		reg.ring_entries = c->nbufs;
		reg.bgid = BGID;
		ret = io_uring_register_buf_ring(&c->ring, &reg, 0);
		if (ret < 0)
			bench_die("ops_liburing: io_uring_register_buf_ring: %s", strerror(-ret));
		io_uring_buf_ring_init(c->br);
		for (unsigned i = 0; i < c->nbufs; i++)
			io_uring_buf_ring_add(c->br, c->group + (size_t)i * OPS_MSG, OPS_MSG, (unsigned short)i,
					      io_uring_buf_ring_mask(c->nbufs), (int)i);
		io_uring_buf_ring_advance(c->br, (int)c->nbufs);
		sqe = get_sqe(c);
		io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
		sqe->flags |= IOSQE_BUFFER_SELECT;
		sqe->buf_group = BGID;
		ret = io_uring_submit(&c->ring);
		if (ret != 1)
			bench_die("ops_liburing: io_uring_submit: %d", ret);
		break;
	}
	case P_SEND:
		ops_socketpair(SOCK_STREAM, sv);
		c->fd = sv[0];
		c->peer = sv[1];
		plain_bufs(c, OPS_MSG, true);
		break;
	case P_ACCEPT:
		c->fd = ops_listener(&c->addr, &c->addrlen);
		sqe = get_sqe(c);
		io_uring_prep_multishot_accept(sqe, c->fd, NULL, NULL, 0);
		if (batch_mode)
			io_uring_sqe_set_data64(sqe, 1);
		ret = io_uring_submit(&c->ring);
		if (ret != 1)
			bench_die("ops_liburing: io_uring_submit: %d", ret);
		break;
	case P_NPATHS:
		break;
	}
}

static void verify(struct ctx *c, enum ops_path path)
{
	unsigned char got[OPS_MSG];

	if (path != P_WRITE)
		return;
	for (unsigned i = 0; i < c->batch; i++) {
		if (pread(c->fd, got, OPS_MSG, (off_t)i * OPS_MSG) != OPS_MSG || memcmp(got, c->bufs[i], OPS_MSG))
			bench_die("ops_liburing: the file does not hold what write %u wrote", i);
	}
}

int main(int argc, char **argv)
{
	static void (*const wait[P_NPATHS])(void *) = {
		[P_READ] = rd_wait, [P_WRITE] = wr_wait, [P_POOL] = pool_wait, [P_FIXED] = fixed_wait,
		[P_RECV] = recv_wait, [P_SEND] = send_wait, [P_ACCEPT] = accept_wait,
	};
	static void (*const batch[P_NPATHS])(void *) = {
		[P_READ] = rd_batch, [P_WRITE] = wr_batch, [P_FIXED] = fixed_batch,
		[P_SEND] = send_batch, [P_ACCEPT] = accept_batch,
	};
	static struct ctx c;
	struct ops_args a;
	void (*round)(void *) = NULL;
	const char *prog = NULL;
	uint64_t s0, s1;

	ops_parse(argc, argv, USAGE, &a);
	if (!strcmp(a.mode, "wait")) {
		round = wait[a.path];
		prog = "liburing_wait";
	} else if (!strcmp(a.mode, "batch")) {
		round = batch[a.path];
		prog = "liburing_batch";
	} else if (!strcmp(a.mode, "loop")) {
		round = a.path == P_CB ? cb_loop : NULL;
		prog = "liburing_loop";
	} else if (!strcmp(a.mode, "control_alloc")) {
		round = a.path == P_READ ? control_alloc : NULL;
		prog = "liburing_control_alloc";
	} else {
		bench_die("ops_liburing: unknown mode %s; usage: %s", a.mode, USAGE);
	}
	if (!round)
		bench_die("ops_liburing: path %s has no mode %s", ops_path_names[a.path], a.mode);
	c.batch = a.batch;
	c.settle = a.settle;
	if (a.settle && (a.path != P_WRITE || strcmp(a.mode, "wait")))
		bench_die("ops_liburing: OPS_SETTLE is for the write path's wait mode");

	s0 = bench_now_ns();
	ops_queue_init(&c.ring, OPS_ENTRIES, "ops_liburing");
	setup(&c, a.path, !strcmp(a.mode, "batch"));
	s1 = bench_now_ns();

	ops_loop(&a, prog, c.ring.flags, s1 - s0, round, &c);
	verify(&c, a.path);
	io_uring_queue_exit(&c.ring);
	return 0;
}
