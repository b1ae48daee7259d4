/* SPDX-License-Identifier: MIT */
/*
 * Live round trips: uring_cmd on sockets.  SOCKET_URING_OP_SIOCINQ on a
 * TCP socket with bytes queued returns how many; cmd_sock's getsockopt and
 * setsockopt are checked against getsockopt(2), cmd_getsockname against
 * getsockname(2) and getpeername(2).  (Block device commands: blk.c.)
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

/* cmd_getsockname once: res, and the address and length it gave. */
static int getsockname_cmd(struct live *t, struct sr_cmd_getsockname_op *op, struct sockaddr_in *a,
			   socklen_t *len)
{
	struct sr_cmd_getsockname_submitted sub;
	struct sr_cmd_getsockname_completed c;

	if (sr_submit(t->ring, op, &sub) || sr_wait(t->ring, &sub, &c))
		return INT32_MIN;
	memcpy(a, &c.sockaddr, sizeof(*a));
	*len = c.sockaddr_len;
	return c.res;
}

int live_cmd_getsockname(struct live *t)
{
	struct sr_cmd_getsockname_op op;
	struct sockaddr_in a;
	socklen_t len = 0;
	struct sr_file f;
	int l, c, s, p[2];

	LIVE_EQ(t, live_tcp_pair(t, &l, &c, &s), 0);
	/* Our end, then the peer's, as getsockname(2) and getpeername(2) see them. */
	op = sr_cmd_getsockname(c, 0);
	LIVE_EQ(t, getsockname_cmd(t, &op, &a, &len), 0);
	LIVE_EQ(t, len, sizeof(a));
	LIVE_EQ(t, a.sin_family, AF_INET);
	LIVE_EQ(t, ntohs(a.sin_port), lh_port(c));
	op = sr_cmd_getsockname(c, 1);
	LIVE_EQ(t, getsockname_cmd(t, &op, &a, &len), 0);
	LIVE_EQ(t, ntohs(a.sin_port), lh_port(s));
	/* A registered socket, which may have no descriptor at all.  Where the
	 * op runs as getsockname(2) on io_uring before 6.8, the library cannot
	 * get a descriptor for the slot, and says so at submit. */
	LIVE_EQ(t, sr_ring_register_files(t->ring, 2), 0);
	LIVE_EQ(t, sr_ring_files_set(t->ring, 1, s, &f), 0);
	op = sr_cmd_getsockname(-1, 0);
	sr_cmd_getsockname_set_file(&op, f);
	{
		struct sr_cmd_getsockname_submitted sub;
		struct sr_cmd_getsockname_completed done;
		int ret = sr_submit(t->ring, &op, &sub);

		if (ret == -EOPNOTSUPP && strstr(sr_last_error(), "fixed_fd_install")) {
			/* the documented refusal */
		} else {
			LIVE_EQ(t, ret, 0);
			LIVE_EQ(t, sr_wait(t->ring, &sub, &done), 0);
			LIVE_EQ(t, done.res, 0);
			memcpy(&a, &done.sockaddr, sizeof(a));
			LIVE_EQ(t, ntohs(a.sin_port), lh_port(s));
		}
	}
	/* peer is 0 or 1; anything else is refused. */
	op = sr_cmd_getsockname(c, 2);
	LIVE_EQ(t, getsockname_cmd(t, &op, &a, &len), -EINVAL);
	/* Not a socket: refused (the error is the kernel's: ENOTSOCK or EOPNOTSUPP). */
	LIVE_CHECK(t, lh_pipe(t, p) == 0);
	op = sr_cmd_getsockname(p[0], 0);
	LIVE_CHECK(t, getsockname_cmd(t, &op, &a, &len) < 0);
	return LIVE_PASS;
}
