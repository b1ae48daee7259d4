/* SPDX-License-Identifier: MIT */
/*
 * A program compiled once against the headers of today, then run against
 * a library regenerated from a spec with an op and a variant added
 * (tests/abi/regen.py).  Every path whose constants are compiled in: op
 * ids (a read's completion goes through the op table by id), the inline
 * submit and wait, owned buffers given back, copies and results in op
 * storage (statx), callbacks, multishot items, a fallback route, the
 * op table by index and the status report.  Prints "ok N" (N: the ops
 * the library has) or what went wrong.
 */
#include <safer-ring.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHECK(c) do { if (!(c)) { printf("FAILED line %d: %s (%s)\n", __LINE__, #c, sr_last_error()); \
	exit(1); } } while (0)

static int called;

static void on_nop(struct sr_ring *r, struct sr_nop_completed *c, void *arg)
{
	(void)r;
	called += c->res == 0 && arg == &called;
}

static void run(unsigned flags)
{
	struct sr_ring_params p = { .flags = flags };
	struct sr_ring *ring;
	char path[] = "/tmp/sr-abi-XXXXXX", st[64];
	int fd = mkstemp(path);

	called = 0;
	CHECK(fd >= 0 && write(fd, "hello, abi", 10) == 10);
	CHECK(sr_ring_create(&ring, &p) == 0);

	struct sr_buf *buf = sr_buf_alloc(64);
	struct sr_read_op rd = sr_read(fd, buf, 0);
	struct sr_read_submitted rs;
	struct sr_read_completed rc;

	CHECK(sr_submit(ring, &rd, &rs) == 0);
	CHECK(sr_buf_data(buf) == NULL && !strcmp(sr_buf_holder(buf), "read"));
	CHECK(sr_wait(ring, &rs, &rc) == 0 && rc.res == 10 && rc.buf == buf);
	CHECK(!memcmp(sr_buf_data(buf), "hello, abi", 10) && sr_buf_len(buf) == 10);
	CHECK(sr_wait(ring, &rs, &rc) == -ESTALE);

	struct sr_statx_op sx = sr_statx(AT_FDCWD, path, 0, STATX_SIZE);
	struct sr_statx_submitted ss;
	struct sr_statx_completed sc;

	CHECK(sr_submit(ring, &sx, &ss) == 0 && sr_wait(ring, &ss, &sc) == 0);
	CHECK(sc.res == 0 && sc.statxbuf.stx_size == 10);

	struct sr_nop_op nop = sr_nop();
	CHECK(sr_submit_cb(ring, &nop, on_nop, &called, NULL) == 0);
	CHECK(sr_ring_run(ring) == 0 && called == 1);

	struct __kernel_timespec ts = { 0, 1000000 };
	struct sr_timeout_multishot_op tm = sr_timeout_multishot(&ts);
	struct sr_timeout_multishot_submitted tms;
	struct sr_timeout_multishot_completed tmc;
	int items = 0;

	sr_timeout_multishot_set_count(&tm, 2);
	CHECK(sr_submit(ring, &tm, &tms) == 0);
	do {
		CHECK(sr_wait(ring, &tms, &tmc) == 0 && tmc.res == -ETIME);
		items++;
	} while (tmc.more);
	CHECK(items == 2);

	CHECK(!strcmp(sr_op_table[SR_OP_READ].name, "read") && !strcmp(sr_op_table[SR_OP_NOP].name, "nop"));
	CHECK(sr_op_lookup("statx") == SR_OP_STATX);
	CHECK(!strcmp(sr_op_status(ring, SR_OP_READ, st, sizeof(st)),
		      (flags & SR_RING_FALLBACK) ? "fallback: read(2)" : "native") ||
	      !strncmp(st, "fallback:", 9));
	CHECK(sr_buf_free(buf) == 0 && sr_ring_destroy(ring) == 0);
	close(fd);
	unlink(path);
}

int main(void)
{
	run(0);
	run(SR_RING_FALLBACK);
	/* The library's op count, read at run time, against the one compiled in. */
	printf("ok %u %u\n", sr_op_count, (unsigned)SR_OP__COUNT);
	return 0;
}
