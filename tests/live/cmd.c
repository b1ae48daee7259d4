/* SPDX-License-Identifier: MIT */
/*
 * Live round trips: uring_cmd on sockets.  SOCKET_URING_OP_SIOCINQ on a
 * TCP socket with bytes queued returns how many; cmd_sock's getsockopt and
 * setsockopt are checked against getsockopt(2).
 */
#include "live.h"

/* A connected TCP server socket with n bytes waiting to be read. */
static int queued(struct live *t, size_t n)
{
	static const char data[] = "0123456789";
	int l, c, s;

	if (n > sizeof(data) - 1 || live_tcp_pair(t, &l, &c, &s) || send(c, data, n, 0) != (ssize_t)n ||
	    !lh_readable(s, 1000))
		return -1;
	return s;
}

/*
 * The opcode is older than sockets' support for commands, which came with
 * cmd_sock (6.7): before that a socket answers -EOPNOTSUPP.  Under
 * SR_KERNEL the real, newer kernel still answers.
 */
static bool sockets_refuse_commands(void)
{
	return sr_kver_code(sr_caps_get()->kernel) < sr_op_table[SR_OP_CMD_SOCK].kernel;
}

int live_cmd_sock(struct live *t)
{
	int s = queued(t, 5), val = 0, one = 1;
	socklen_t len = sizeof(val);
	struct sr_cmd_sock_submitted sub;
	struct sr_cmd_sock_completed c;
	struct sr_cmd_sock_op op;

	LIVE_CHECK(t, s >= 0);
	op = sr_cmd_sock(SR_SOCKET_URING_OP_SIOCINQ, s, 0, 0, NULL, 0);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 5);

	/* getsockopt: res is the option's length, the value lands in optval. */
	op = sr_cmd_sock(SR_SOCKET_URING_OP_GETSOCKOPT, s, SOL_SOCKET, SO_TYPE, &val, sizeof(val));
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, sizeof(val));
	LIVE_EQ(t, val, SOCK_STREAM);

	/* setsockopt, seen by getsockopt(2). */
	op = sr_cmd_sock(SR_SOCKET_URING_OP_SETSOCKOPT, s, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 0);
	val = 0;
	LIVE_EQ(t, getsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &val, &len), 0);
	LIVE_EQ(t, val, 1);
	return LIVE_PASS;
}

int live_uring_cmd(struct live *t)
{
	int s = queued(t, 7);
	struct sr_uring_cmd_submitted sub;
	struct sr_uring_cmd_completed c;
	struct sr_uring_cmd_op op;

	LIVE_CHECK(t, s >= 0);
	op = sr_uring_cmd(SR_SOCKET_URING_OP_SIOCINQ, s);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	if (sockets_refuse_commands())
		LIVE_CHECK(t, c.res == 7 || c.res == -EOPNOTSUPP);
	else
		LIVE_EQ(t, c.res, 7);
	return LIVE_PASS;
}

int live_uring_cmd128(struct live *t)
{
	int s = queued(t, 9);
	struct sr_uring_cmd128_submitted sub;
	struct sr_uring_cmd128_completed c;
	struct sr_uring_cmd128_op op;

	LIVE_CHECK(t, s >= 0);
	op = sr_uring_cmd128(SR_SOCKET_URING_OP_SIOCINQ, s);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	if (sockets_refuse_commands())
		LIVE_CHECK(t, c.res == 9 || c.res == -EOPNOTSUPP);
	else
		LIVE_EQ(t, c.res, 9);
	return LIVE_PASS;
}
