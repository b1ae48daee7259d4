/* SPDX-License-Identifier: MIT */
/*
 * nop_liburing: the raw liburing baselines of the NOP workload.
 *
 *   nop_liburing wait|batch|control_alloc BATCH OPS [WARMUP]
 *
 * Each round queues BATCH NOPs, submits them and consumes their BATCH
 * completions, checking res == 0 on each, until OPS ops are done.
 *
 *   wait    io_uring_submit, then each completion on its own with
 *           io_uring_wait_cqe + io_uring_cqe_seen.  This is what the checked
 *           API does (sr_wait on each op's handle): its baseline.
 *   batch   io_uring_submit_and_wait(ring, BATCH), then all completions at
 *           once with io_uring_for_each_cqe + io_uring_cq_advance.  This is
 *           what the _raw variant does (sr_raw_reap): its baseline.
 *   control_alloc  wait, plus one malloc + free per op: bench/gates.py runs
 *           it to prove that its allocation count sees allocations.
 *
 * The ring is set up as sr_ring_create sets up its own (256 entries, the
 * first rung of safer-ring's setup ladder the kernel takes: bench/ops.h),
 * so both do the same kernel work.  Ring setup and WARMUP ops (default
 * OPS / 10) are not timed.  Prints one line:
 *   nop prog=liburing_wait batch=32 ops=N setup_flags=0x... setup_ns=S ns=T ns_per_op=X
 *       cpu_ns_per_op=C
 * (setup_ns: ring creation; cpu_ns_per_op: process CPU time in the timed loop)
 */
#include "ops.h"

#define MAX_BATCH 256

static void round_wait(struct io_uring *ring, unsigned batch)
{
	struct io_uring_cqe *cqe;
	unsigned i;
	int ret;

	for (i = 0; i < batch; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

		if (!sqe)
			bench_die("nop_liburing: SQ full");
		io_uring_prep_nop(sqe);
		sqe->user_data = i + 1;
	}
	ret = io_uring_submit(ring);
	if (ret != (int)batch)
		bench_die("nop_liburing: io_uring_submit: %d", ret);
	for (i = 0; i < batch; i++) {
		ret = io_uring_wait_cqe(ring, &cqe);
		if (ret < 0)
			bench_die("nop_liburing: io_uring_wait_cqe: %s", strerror(-ret));
		if (cqe->res != 0)
			bench_die("nop_liburing: nop completed with %d", cqe->res);
		io_uring_cqe_seen(ring, cqe);
	}
}

static void round_batch(struct io_uring *ring, unsigned batch)
{
	struct io_uring_cqe *cqe;
	unsigned i, head, seen = 0;
	int ret;

	for (i = 0; i < batch; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

		if (!sqe)
			bench_die("nop_liburing: SQ full");
		io_uring_prep_nop(sqe);
		sqe->user_data = i + 1;
	}
	ret = io_uring_submit_and_wait(ring, batch);
	if (ret != (int)batch)
		bench_die("nop_liburing: io_uring_submit_and_wait: %d", ret);
	while (seen < batch) {
		unsigned n = 0;

		io_uring_for_each_cqe(ring, head, cqe) {
			if (cqe->res != 0)
				bench_die("nop_liburing: nop completed with %d", cqe->res);
			n++;
		}
		io_uring_cq_advance(ring, n);
		seen += n;
		if (seen < batch) {
			/* Not reached with NOPs, which complete at submission. */
			ret = io_uring_wait_cqe(ring, &cqe);
			if (ret < 0)
				bench_die("nop_liburing: io_uring_wait_cqe: %s", strerror(-ret));
		}
	}
}

static void *volatile sink;

static void round_control_alloc(struct io_uring *ring, unsigned batch)
{
	unsigned i;

	for (i = 0; i < batch; i++) {
		sink = malloc(64);
		free(sink);
	}
	round_wait(ring, batch);
}

int main(int argc, char **argv)
{
	struct io_uring ring;
	void (*round)(struct io_uring *, unsigned);
	unsigned long long ops, warmup, done;
	unsigned batch;
	uint64_t s0, setup_end, t0, t1, c0, c1;
	const char *name;

	if (argc < 4)
		bench_die("usage: nop_liburing wait|batch|control_alloc BATCH OPS [WARMUP]");
	if (!strcmp(argv[1], "wait")) {
		round = round_wait;
		name = "liburing_wait";
	} else if (!strcmp(argv[1], "batch")) {
		round = round_batch;
		name = "liburing_batch";
	} else if (!strcmp(argv[1], "control_alloc")) {
		round = round_control_alloc;
		name = "liburing_control_alloc";
	} else {
		bench_die("nop_liburing: unknown mode %s", argv[1]);
	}
	batch = (unsigned)bench_num("BATCH", argv[2]);
	ops = bench_num("OPS", argv[3]);
	warmup = argc > 4 ? bench_num("WARMUP", argv[4]) : ops / 10;
	if (!batch || batch > MAX_BATCH || ops % batch || warmup % batch)
		bench_die("nop_liburing: BATCH must be 1..%d and divide OPS and WARMUP", MAX_BATCH);

	s0 = bench_now_ns();
	ops_queue_init(&ring, OPS_ENTRIES, "nop_liburing");
	setup_end = bench_now_ns();

	for (done = 0; done < warmup; done += batch)
		round(&ring, batch);
	c0 = bench_cpu_ns();
	t0 = bench_now_ns();
	for (done = 0; done < ops; done += batch)
		round(&ring, batch);
	t1 = bench_now_ns();
	c1 = bench_cpu_ns();

	printf("nop prog=%s batch=%u ops=%llu setup_flags=0x%x setup_ns=%llu ns=%llu ns_per_op=%.3f "
	       "cpu_ns_per_op=%.3f\n",
	       name, batch, ops, ring.flags, (unsigned long long)(setup_end - s0), (unsigned long long)(t1 - t0),
	       (double)(t1 - t0) / (double)ops, (double)(c1 - c0) / (double)ops);
	io_uring_queue_exit(&ring);
	return 0;
}
