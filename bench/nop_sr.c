/* SPDX-License-Identifier: MIT */
/*
 * nop_sr: the NOP workload through safer-ring.
 *
 *   nop_sr checked|raw BATCH OPS [WARMUP]
 *
 * Each round queues BATCH NOPs, submits them and consumes their BATCH
 * completions, checking res == 0 on each, until OPS ops are done.
 *
 *   checked  the typed API: sr_nop() + sr_submit() per op, then sr_wait()
 *            on each op's handle (the first wait submits the batch).
 *            Baseline: nop_liburing wait.
 *   raw      the untracked variant: sr_nop_raw() per op,
 *            io_uring_submit_and_wait(sr_ring_uring(ring), BATCH), then
 *            the completions in batches with sr_raw_reap().
 *            Baseline: nop_liburing batch.
 *
 * The ring comes from sr_ring_create(&ring, NULL).  Ring setup and WARMUP
 * ops (default OPS / 10) are not timed.  Prints one line:
 *   nop prog=sr_checked batch=32 ops=N setup_flags=0x... setup_ns=S ns=T ns_per_op=X
 *       cpu_ns_per_op=C
 * (setup_ns: ring creation; cpu_ns_per_op: process CPU time in the timed loop)
 */
#include <safer-ring.h>
#include "bench.h"

#define MAX_BATCH 256

static struct sr_nop_submitted subs[MAX_BATCH];
static struct io_uring_cqe cqes[MAX_BATCH];

static void round_checked(struct sr_ring *ring, unsigned batch)
{
	unsigned i;

	for (i = 0; i < batch; i++) {
		struct sr_nop_op op = sr_nop();

		if (sr_submit(ring, &op, &subs[i]) < 0)
			bench_die("nop_sr: %s", sr_last_error());
	}
	for (i = 0; i < batch; i++) {
		struct sr_nop_completed done;

		if (sr_wait(ring, &subs[i], &done) < 0)
			bench_die("nop_sr: %s", sr_last_error());
		if (done.res != 0)
			bench_die("nop_sr: nop completed with %d", done.res);
	}
}

static void round_raw(struct sr_ring *ring, unsigned batch)
{
	unsigned i, seen = 0;
	int ret;

	for (i = 0; i < batch; i++) {
		if (sr_nop_raw(ring, i + 1) < 0)
			bench_die("nop_sr: %s", sr_last_error());
	}
	ret = io_uring_submit_and_wait(sr_ring_uring(ring), batch);
	if (ret != (int)batch)
		bench_die("nop_sr: io_uring_submit_and_wait: %d", ret);
	while (seen < batch) {
		unsigned n = sr_raw_reap(ring, cqes, batch - seen);

		if (!n) {
			/* Not reached with NOPs, which complete at submission. */
			ret = sr_raw_wait(ring, cqes, batch - seen);
			if (ret < 0)
				bench_die("nop_sr: %s", sr_last_error());
			n = (unsigned)ret;
		}
		for (i = 0; i < n; i++) {
			if (cqes[i].res != 0)
				bench_die("nop_sr: nop completed with %d", cqes[i].res);
		}
		seen += n;
	}
}

int main(int argc, char **argv)
{
	struct sr_ring *ring;
	void (*round)(struct sr_ring *, unsigned);
	unsigned long long ops, warmup, done;
	unsigned batch;
	uint64_t s0, setup_end, t0, t1, c0, c1;
	const char *name;

	if (argc < 4)
		bench_die("usage: nop_sr checked|raw BATCH OPS [WARMUP]");
	if (!strcmp(argv[1], "checked")) {
		round = round_checked;
		name = "sr_checked";
	} else if (!strcmp(argv[1], "raw")) {
		round = round_raw;
		name = "sr_raw";
	} else {
		bench_die("nop_sr: unknown mode %s", argv[1]);
	}
	batch = (unsigned)bench_num("BATCH", argv[2]);
	ops = bench_num("OPS", argv[3]);
	warmup = argc > 4 ? bench_num("WARMUP", argv[4]) : ops / 10;
	if (!batch || batch > MAX_BATCH || ops % batch || warmup % batch)
		bench_die("nop_sr: BATCH must be 1..%d and divide OPS and WARMUP", MAX_BATCH);

	s0 = bench_now_ns();
	if (sr_ring_create(&ring, NULL) < 0)
		bench_die("nop_sr: %s", sr_last_error());
	setup_end = bench_now_ns();

	for (done = 0; done < warmup; done += batch)
		round(ring, batch);
	c0 = bench_cpu_ns();
	t0 = bench_now_ns();
	for (done = 0; done < ops; done += batch)
		round(ring, batch);
	t1 = bench_now_ns();
	c1 = bench_cpu_ns();

	printf("nop prog=%s batch=%u ops=%llu setup_flags=0x%x setup_ns=%llu ns=%llu ns_per_op=%.3f "
	       "cpu_ns_per_op=%.3f\n",
	       name, batch, ops, sr_ring_uring(ring)->flags, (unsigned long long)(setup_end - s0),
	       (unsigned long long)(t1 - t0),
	       (double)(t1 - t0) / (double)ops, (double)(c1 - c0) / (double)ops);
	sr_ring_destroy(ring);
	return 0;
}
