/* SPDX-License-Identifier: MIT */
/*
 * Live round trips: reads and writes, plain, vectored and through
 * registered (fixed) buffers.  Every write is checked by reading the file
 * back with pread(2); every read against what was put there with write(2).
 */
#include "live.h"

static const char text[] = "hello, ring world";	/* 17 bytes */

int live_write(struct live *t)
{
	int fd = live_file(t, "f", "xxxxxxxxxxxx", 12);
	struct sr_buf *b = live_buf(t, "written");
	struct sr_write_submitted sub;
	struct sr_write_completed c;
	struct sr_write_op op;
	char back[32];

	LIVE_CHECK(t, fd >= 0 && b);
	/* At offset 2, so the bytes around it show the offset was honoured. */
	op = sr_write(fd, b, 2);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_CHECK(t, sr_buf_is_lent(b));
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 7);
	LIVE_CHECK(t, c.buf == b && !sr_buf_is_lent(b));
	LIVE_EQ(t, pread(fd, back, sizeof(back), 0), 12);
	LIVE_CHECK(t, memcmp(back, "xxwrittenxxx", 12) == 0);
	return LIVE_PASS;
}

int live_readv(struct live *t)
{
	int fd = live_file(t, "f", text, 17);
	struct sr_buf *b0 = live_keep_buf(t, sr_buf_alloc(5));
	struct sr_buf *b1 = live_keep_buf(t, sr_buf_alloc(64));
	struct sr_buf *bufs[2] = { b0, b1 };
	struct sr_readv_submitted sub;
	struct sr_readv_completed c;
	struct sr_readv_op op;

	LIVE_CHECK(t, fd >= 0 && b0 && b1);
	op = sr_readv(fd, bufs, 2, 0);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_CHECK(t, sr_buf_is_lent(b0) && sr_buf_is_lent(b1));
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 17);
	LIVE_CHECK(t, !sr_buf_is_lent(b0) && !sr_buf_is_lent(b1));
	/* The first buffer fills to its capacity, the rest goes to the second. */
	LIVE_EQ(t, sr_buf_len(b0), 5);
	LIVE_EQ(t, sr_buf_len(b1), 12);
	LIVE_CHECK(t, memcmp(sr_buf_data(b0), "hello", 5) == 0);
	LIVE_CHECK(t, memcmp(sr_buf_data(b1), ", ring world", 12) == 0);
	return LIVE_PASS;
}

int live_writev(struct live *t)
{
	int fd = live_file(t, "f", NULL, 0);
	struct sr_buf *b0 = live_buf(t, "vec");
	struct sr_buf *b1 = live_buf(t, "tored");
	struct sr_buf *bufs[2] = { b0, b1 };
	struct sr_writev_submitted sub;
	struct sr_writev_completed c;
	struct sr_writev_op op;
	char back[32];

	LIVE_CHECK(t, fd >= 0 && b0 && b1);
	op = sr_writev(fd, bufs, 2, 0);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_CHECK(t, sr_buf_is_lent(b0) && sr_buf_is_lent(b1));
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 8);
	LIVE_CHECK(t, !sr_buf_is_lent(b0) && !sr_buf_is_lent(b1));
	LIVE_EQ(t, pread(fd, back, sizeof(back), 0), 8);
	LIVE_CHECK(t, memcmp(back, "vectored", 8) == 0);
	return LIVE_PASS;
}

int live_read_fixed(struct live *t)
{
	int fd = live_file(t, "f", text, 17);
	struct sr_buf *b = live_keep_buf(t, sr_buf_alloc(64));
	struct sr_read_fixed_submitted sub;
	struct sr_read_fixed_completed c;
	struct sr_read_fixed_op op;

	LIVE_CHECK(t, fd >= 0 && b);
	LIVE_EQ(t, sr_ring_register_buffers(t->ring, &b, 1), 0);
	op = sr_read_fixed(fd, b, 7);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_CHECK(t, sr_buf_is_lent(b));
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 10);
	LIVE_CHECK(t, c.buf == b && !sr_buf_is_lent(b));
	LIVE_EQ(t, sr_buf_len(b), 10);
	LIVE_CHECK(t, memcmp(sr_buf_data(b), "ring world", 10) == 0);
	LIVE_EQ(t, sr_ring_unregister_buffers(t->ring), 0);
	return LIVE_PASS;
}

int live_write_fixed(struct live *t)
{
	int fd = live_file(t, "f", NULL, 0);
	struct sr_buf *b = live_buf(t, "fixed write");
	struct sr_write_fixed_submitted sub;
	struct sr_write_fixed_completed c;
	struct sr_write_fixed_op op;
	char back[32];

	LIVE_CHECK(t, fd >= 0 && b);
	LIVE_EQ(t, sr_ring_register_buffers(t->ring, &b, 1), 0);
	op = sr_write_fixed(fd, b, 0);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_CHECK(t, sr_buf_is_lent(b));
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 11);
	LIVE_CHECK(t, c.buf == b && !sr_buf_is_lent(b));
	LIVE_EQ(t, pread(fd, back, sizeof(back), 0), 11);
	LIVE_CHECK(t, memcmp(back, "fixed write", 11) == 0);
	LIVE_EQ(t, sr_ring_unregister_buffers(t->ring), 0);
	return LIVE_PASS;
}

/*
 * The _fixed vectored ops want every iovec inside one registered buffer,
 * and an sr_buf is registered whole: the only iovec array the checked API
 * accepts is the registered buffer itself, once.
 */
int live_readv_fixed(struct live *t)
{
	int fd = live_file(t, "f", text, 17);
	struct sr_buf *b = live_keep_buf(t, sr_buf_alloc(64));
	struct sr_readv_fixed_submitted sub;
	struct sr_readv_fixed_completed c;
	struct sr_readv_fixed_op op;

	LIVE_CHECK(t, fd >= 0 && b);
	LIVE_EQ(t, sr_ring_register_buffers(t->ring, &b, 1), 0);
	op = sr_readv_fixed(fd, &b, 1, 0);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_CHECK(t, sr_buf_is_lent(b));
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 17);
	LIVE_CHECK(t, !sr_buf_is_lent(b));
	LIVE_EQ(t, sr_buf_len(b), 17);
	LIVE_CHECK(t, memcmp(sr_buf_data(b), text, 17) == 0);
	LIVE_EQ(t, sr_ring_unregister_buffers(t->ring), 0);
	return LIVE_PASS;
}

int live_writev_fixed(struct live *t)
{
	int fd = live_file(t, "f", "0123456789", 10);
	struct sr_buf *b = live_buf(t, "fixv");
	struct sr_writev_fixed_submitted sub;
	struct sr_writev_fixed_completed c;
	struct sr_writev_fixed_op op;
	char back[32];

	LIVE_CHECK(t, fd >= 0 && b);
	LIVE_EQ(t, sr_ring_register_buffers(t->ring, &b, 1), 0);
	op = sr_writev_fixed(fd, &b, 1, 3);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_CHECK(t, sr_buf_is_lent(b));
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 4);
	LIVE_CHECK(t, !sr_buf_is_lent(b));
	LIVE_EQ(t, pread(fd, back, sizeof(back), 0), 10);
	LIVE_CHECK(t, memcmp(back, "012fixv789", 10) == 0);
	LIVE_EQ(t, sr_ring_unregister_buffers(t->ring), 0);
	return LIVE_PASS;
}
