/* SPDX-License-Identifier: MIT */
/*
 * Live round trips between rings: msg_ring and its variants post into a
 * second ring, which reads the CQE with sr_raw_wait (it is not one of
 * its own tracked ops).  Also nop128, which needs a 128-byte SQE ring.
 */
#include "live.h"

/* Run body with a second ring, destroyed afterwards whatever happens. */
static int with_ring2(struct live *t, int (*body)(struct live *t, struct sr_ring *r2))
{
	struct sr_ring *r2;
	int ret;

	if (lh_ring(&r2))
		LIVE_FAIL(t, "cannot create a second ring: %s", sr_last_error());
	ret = body(t, r2);
	sr_ring_destroy(r2);
	return ret;
}

static int msg_ring_body(struct live *t, struct sr_ring *r2)
{
	struct sr_msg_ring_submitted sub;
	struct sr_msg_ring_completed c;
	struct sr_msg_ring_op op;
	struct io_uring_cqe cqe;
	int p[2];

	LIVE_CHECK(t, lh_pipe(t, p) == 0);
	op = sr_msg_ring(sr_ring_fd(r2), 0x1234, 0xabcdef);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 0);
	/* The other ring sees user_data = data, res = len. */
	LIVE_EQ(t, sr_raw_wait(r2, &cqe, 1), 1);
	LIVE_EQ(t, cqe.user_data, 0xabcdef);
	LIVE_EQ(t, cqe.res, 0x1234);
	LIVE_EQ(t, cqe.flags, 0);
	LIVE_EQ(t, sr_raw_reap(r2, &cqe, 1), 0);	/* exactly one */

	/* Bit 63 of the data is safer-ring's own: refused, nothing posted. */
	op = sr_msg_ring(sr_ring_fd(r2), 1, 1ULL << 63);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), -EINVAL);

	/* Not a ring: the kernel refuses to post there. */
	op = sr_msg_ring(p[0], 1, 1);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, -EBADFD);
	return LIVE_PASS;
}

int live_msg_ring(struct live *t)
{
	return with_ring2(t, msg_ring_body);
}

static int msg_ring_cqe_flags_body(struct live *t, struct sr_ring *r2)
{
	struct sr_msg_ring_cqe_flags_submitted sub;
	struct sr_msg_ring_cqe_flags_completed c;
	struct sr_msg_ring_cqe_flags_op op;
	struct io_uring_cqe cqe;
	const unsigned flags = 5U << 16;	/* any bits the target will not misread */

	op = sr_msg_ring_cqe_flags(sr_ring_fd(r2), 77, 0x5151, flags);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 0);
	LIVE_EQ(t, sr_raw_wait(r2, &cqe, 1), 1);
	LIVE_EQ(t, cqe.user_data, 0x5151);
	LIVE_EQ(t, cqe.res, 77);
	LIVE_EQ(t, cqe.flags, flags);
	return LIVE_PASS;
}

int live_msg_ring_cqe_flags(struct live *t)
{
	return with_ring2(t, msg_ring_cqe_flags_body);
}

static int msg_ring_fd_body(struct live *t, struct sr_ring *r2)
{
	int fd = live_file(t, "f", "passed between rings", 20), res = 0;
	struct sr_buf *b = live_keep_buf(t, sr_buf_alloc(64));
	struct sr_msg_ring_fd_submitted sub;
	struct sr_msg_ring_fd_completed c;
	struct sr_msg_ring_fd_op op;
	struct io_uring_cqe cqe;
	struct sr_file h;

	LIVE_CHECK(t, fd >= 0 && b);
	LIVE_EQ(t, sr_ring_register_files(t->ring, 4), 0);
	LIVE_EQ(t, sr_ring_files_set(t->ring, 1, fd, NULL), 0);
	LIVE_EQ(t, sr_ring_register_files(r2, 4), 0);
	/* Our slot 1 into the other ring's slot 2. */
	op = sr_msg_ring_fd(sr_ring_fd(r2), 1, 2, 0x77);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 0);
	LIVE_EQ(t, sr_raw_wait(r2, &cqe, 1), 1);
	LIVE_EQ(t, cqe.user_data, 0x77);
	LIVE_CHECK(t, cqe.res >= 0);
	/* The other ring reads the file through its slot 2 (filled from outside:
	 * it asks for the slot's handle). */
	LIVE_EQ(t, sr_ring_file_handle(r2, 2, &h), 0);
	LIVE_EQ(t, lh_read_slot(r2, h, b, 0, &res), 0);
	LIVE_EQ(t, res, 20);
	LIVE_CHECK(t, memcmp(sr_buf_data(b), "passed between rings", 20) == 0);
	return LIVE_PASS;
}

int live_msg_ring_fd(struct live *t)
{
	return with_ring2(t, msg_ring_fd_body);
}

static int msg_ring_fd_alloc_body(struct live *t, struct sr_ring *r2)
{
	int fd = live_file(t, "f", "into a free slot", 16), res = 0;
	struct sr_buf *b = live_keep_buf(t, sr_buf_alloc(64));
	struct sr_msg_ring_fd_alloc_submitted sub;
	struct sr_msg_ring_fd_alloc_completed c;
	struct sr_msg_ring_fd_alloc_op op;
	struct io_uring_cqe cqe;
	struct sr_file h;

	LIVE_CHECK(t, fd >= 0 && b);
	LIVE_EQ(t, sr_ring_register_files(t->ring, 2), 0);
	LIVE_EQ(t, sr_ring_files_set(t->ring, 1, fd, NULL), 0);
	/* The other ring has one free slot: the kernel picks it, and says which
	 * to both rings. */
	LIVE_EQ(t, sr_ring_register_files(r2, 1), 0);
	op = sr_msg_ring_fd_alloc(sr_ring_fd(r2), 1, 0x99);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 0);
	LIVE_EQ(t, sr_raw_wait(r2, &cqe, 1), 1);
	LIVE_EQ(t, cqe.user_data, 0x99);
	LIVE_EQ(t, cqe.res, 0);
	LIVE_EQ(t, sr_ring_file_handle(r2, 0, &h), 0);
	LIVE_EQ(t, lh_read_slot(r2, h, b, 0, &res), 0);
	LIVE_EQ(t, res, 16);
	LIVE_CHECK(t, memcmp(sr_buf_data(b), "into a free slot", 16) == 0);
	/* No free slot left: -ENFILE, and nothing posted there. */
	op = sr_msg_ring_fd_alloc(sr_ring_fd(r2), 1, 0x9a);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, -ENFILE);
	LIVE_EQ(t, sr_raw_reap(r2, &cqe, 1), 0);
	/* Bit 63 of the data is safer-ring's own: refused at submit. */
	op = sr_msg_ring_fd_alloc(sr_ring_fd(r2), 1, 1ULL << 63);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), -EINVAL);
	return LIVE_PASS;
}

int live_msg_ring_fd_alloc(struct live *t)
{
	return with_ring2(t, msg_ring_fd_alloc_body);
}

int live_nop128(struct live *t)
{
	struct sr_nop128_submitted sub[2];
	struct sr_nop128_completed c;
	struct sr_nop_submitted nsub;
	struct sr_nop_completed nc;
	struct sr_nop128_op op;
	struct sr_nop_op nop;

	/* Big and normal SQEs mixed: each completes on its own. */
	op = sr_nop128();
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub[0]), 0);
	nop = sr_nop();
	LIVE_EQ(t, sr_submit(t->ring, &nop, &nsub), 0);
	op = sr_nop128();
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub[1]), 0);
	for (int i = 0; i < 2; i++) {
		LIVE_EQ(t, sr_wait(t->ring, &sub[i], &c), 0);
		LIVE_EQ(t, c.res, 0);
	}
	LIVE_EQ(t, sr_wait(t->ring, &nsub, &nc), 0);
	LIVE_EQ(t, nc.res, 0);
	return LIVE_PASS;
}
