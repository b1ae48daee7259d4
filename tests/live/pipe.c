/* SPDX-License-Identifier: MIT */
/*
 * Live round trips on pipes: creating them (plain and direct), moving
 * data with splice and tee, and multishot reads into a buffer group.
 */
#include "live.h"

static const char text[] = "hello, ring world";	/* 17 bytes */

int live_pipe(struct live *t)
{
	struct sr_pipe_submitted sub;
	struct sr_pipe_completed c;
	struct sr_pipe_op op;
	char back[8];

	op = sr_pipe();
	sr_pipe_set_pipe_flags(&op, O_CLOEXEC | O_NONBLOCK);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 0);
	LIVE_CHECK(t, c.fds[0] >= 0 && c.fds[1] >= 0 && c.fds[0] != c.fds[1]);
	live_keep_fd(t, c.fds[0]);
	live_keep_fd(t, c.fds[1]);
	/* Both ends work, and are the two ends of one pipe. */
	LIVE_EQ(t, write(c.fds[1], "piped", 5), 5);
	LIVE_EQ(t, read(c.fds[0], back, sizeof(back)), 5);
	LIVE_CHECK(t, memcmp(back, "piped", 5) == 0);
	/* The flags reached pipe2: close-on-exec, and an empty read does not block. */
	LIVE_CHECK(t, fcntl(c.fds[0], F_GETFD) & FD_CLOEXEC);
	LIVE_CHECK(t, fcntl(c.fds[1], F_GETFL) & O_NONBLOCK);
	LIVE_CHECK(t, read(c.fds[0], back, sizeof(back)) == -1 && errno == EAGAIN);
	return LIVE_PASS;
}

int live_pipe_direct(struct live *t)
{
	struct sr_buf *in = live_buf(t, "direct pipe");
	struct sr_buf *out = live_keep_buf(t, sr_buf_alloc(64));
	struct sr_pipe_direct_submitted sub;
	struct sr_pipe_direct_completed c;
	struct sr_pipe_direct_op op;
	int res = 0;

	LIVE_CHECK(t, in && out);
	LIVE_EQ(t, sr_ring_register_files(t->ring, 8), 0);
	/* From slot 4: the read end goes to slot 4, the write end to slot 5. */
	op = sr_pipe_direct(4);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 0);
	LIVE_EQ(t, c.fds[0], 4);
	LIVE_EQ(t, c.fds[1], 5);
	LIVE_CHECK(t, sr_file_slot(c.files[0]) == 4 && sr_file_slot(c.files[1]) == 5);
	LIVE_EQ(t, lh_write_slot(t->ring, c.files[1], in, (__u64)-1, &res), 0);
	LIVE_EQ(t, res, 11);
	LIVE_EQ(t, lh_read_slot(t->ring, c.files[0], out, (__u64)-1, &res), 0);
	LIVE_EQ(t, res, 11);
	LIVE_CHECK(t, memcmp(sr_buf_data(out), "direct pipe", 11) == 0);
	return LIVE_PASS;
}

int live_splice(struct live *t)
{
	int fd = live_file(t, "f", text, 17), g = live_file(t, "g", NULL, 0), p[2];
	struct sr_splice_submitted sub;
	struct sr_splice_completed c;
	struct sr_splice_op op;
	char back[32];

	LIVE_CHECK(t, fd >= 0 && g >= 0 && lh_pipe(t, p) == 0);
	/* File (from offset 7) into the pipe... */
	op = sr_splice(fd, 7, p[1], -1, 10);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 10);
	/* ...and out of the pipe into another file at offset 3. */
	op = sr_splice(p[0], -1, g, 3, 10);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 10);
	LIVE_EQ(t, pread(g, back, sizeof(back), 0), 13);
	LIVE_CHECK(t, memcmp(back, "\0\0\0ring world", 13) == 0);
	/* The pipe was drained. */
	LIVE_CHECK(t, !lh_readable(p[0], 0));
	return LIVE_PASS;
}

int live_tee(struct live *t)
{
	int p1[2], p2[2];
	struct sr_tee_submitted sub;
	struct sr_tee_completed c;
	struct sr_tee_op op;
	char back[16];

	LIVE_CHECK(t, lh_pipe(t, p1) == 0 && lh_pipe(t, p2) == 0);
	LIVE_EQ(t, write(p1[1], "tee data", 8), 8);
	op = sr_tee(p1[0], p2[1], 8);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 8);
	LIVE_EQ(t, read(p2[0], back, sizeof(back)), 8);
	LIVE_CHECK(t, memcmp(back, "tee data", 8) == 0);
	/* tee duplicates: the source pipe still holds the data. */
	LIVE_EQ(t, read(p1[0], back, sizeof(back)), 8);
	LIVE_CHECK(t, memcmp(back, "tee data", 8) == 0);
	return LIVE_PASS;
}

int live_read_multishot(struct live *t)
{
	struct sr_bufgroup *g = sr_bufgroup_create(t->ring, 4, 64);
	struct sr_read_multishot_submitted sub;
	struct sr_read_multishot_completed c;
	struct sr_read_multishot_op op;
	static const char *const chunk[2] = { "first", "second!" };
	int p[2];

	LIVE_CHECK(t, g && lh_pipe(t, p) == 0);
	op = sr_read_multishot(p[0], g);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_CHECK(t, sr_ring_submit(t->ring) >= 0);
	/* One write per completion: wait for each before the next write. */
	for (int i = 0; i < 2; i++) {
		size_t n = strlen(chunk[i]);

		LIVE_EQ(t, write(p[1], chunk[i], n), n);
		LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
		LIVE_EQ(t, c.res, n);
		LIVE_CHECK(t, c.more && c.buf);
		LIVE_EQ(t, sr_buf_len(c.buf), n);
		LIVE_CHECK(t, memcmp(sr_buf_data(c.buf), chunk[i], n) == 0);
		LIVE_EQ(t, sr_bufgroup_recycle(g, c.buf), 0);
	}
	LIVE_EQ(t, sr_cancel(t->ring, &sub), 0);
	do {
		LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
		if (c.buf)
			LIVE_EQ(t, sr_bufgroup_recycle(g, c.buf), 0);
	} while (c.more);
	LIVE_EQ(t, c.res, -ECANCELED);
	LIVE_EQ(t, sr_bufgroup_available(g), 4);
	return LIVE_PASS;
}
