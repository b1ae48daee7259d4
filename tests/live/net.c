/* SPDX-License-Identifier: MIT */
/*
 * Live round trips: sockets on 127.0.0.1.  Connections are real (port 0,
 * read back with getsockname), and every send or receive is checked by
 * the bytes arriving on the other end through plain syscalls.
 */
#include "live.h"

#include <netinet/in.h>
#include <netinet/ip.h>

/* A TCP pair: c (client) connected to s (server side). */
static int tcp_pair(struct live *t, int *c, int *s)
{
	int l;

	return live_tcp_pair(t, &l, c, s);
}

/* A client socket connected to listener address a (not yet accepted). */
static int tcp_client(struct live *t, const struct sockaddr_in *a)
{
	int fd = live_keep_fd(t, socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));

	if (fd < 0 || connect(fd, (const struct sockaddr *)a, sizeof(*a)))
		return -1;
	return fd;
}

/*
 * An unconnected UDP sender and a receiver bound to rx_addr.  The sender
 * is bound too, so its port is known before it sends.
 */
static int udp_pair(struct live *t, int *tx, int *rx, struct sockaddr_in *rx_addr)
{
	struct sockaddr_in self = lh_loopback(0);
	socklen_t len = sizeof(*rx_addr);

	*tx = live_keep_fd(t, socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
	*rx = live_keep_fd(t, socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
	*rx_addr = lh_loopback(0);
	if (*tx < 0 || *rx < 0 || bind(*tx, (struct sockaddr *)&self, sizeof(self)) ||
	    bind(*rx, (struct sockaddr *)rx_addr, sizeof(*rx_addr)) ||
	    getsockname(*rx, (struct sockaddr *)rx_addr, &len))
		return -1;
	return 0;
}

/* Read exactly n bytes from fd within a second; 0 on success. */
static int recv_all(int fd, char *out, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r;

		if (!lh_readable(fd, 1000))
			return -1;
		r = recv(fd, out + got, n - got, 0);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/* --- socket setup ops --------------------------------------------------------------- */

int live_socket(struct live *t)
{
	struct sockaddr_in a;
	struct sr_socket_submitted sub;
	struct sr_socket_completed c;
	struct sr_socket_op op;
	int l, fd, s, v;
	socklen_t len = sizeof(v);
	char back[8];

	LIVE_EQ(t, live_listener(t, &l, &a), 0);
	op = sr_socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_CHECK(t, c.res >= 0);
	fd = live_keep_fd(t, c.res);
	LIVE_EQ(t, getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len), 0);
	LIVE_EQ(t, v, AF_INET);
	LIVE_EQ(t, getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len), 0);
	LIVE_EQ(t, v, SOCK_STREAM);
	LIVE_CHECK(t, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	/* A working TCP socket: it connects, and bytes cross. */
	LIVE_EQ(t, connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	s = live_keep_fd(t, accept4(l, NULL, NULL, SOCK_CLOEXEC));
	LIVE_CHECK(t, s >= 0);
	LIVE_EQ(t, send(fd, "sock", 4, 0), 4);
	LIVE_EQ(t, recv_all(s, back, 4), 0);
	LIVE_CHECK(t, memcmp(back, "sock", 4) == 0);
	return LIVE_PASS;
}

static struct sr_buf *bytes_buf(struct live *t, const void *mem, size_t n);

/*
 * Send "slot" through registered slot with sendmsg (Linux 5.3, so the
 * check does not depend on a newer op than the one under test), and see it
 * arrive at rx.
 */
static int udp_slot_works(struct live *t, struct sr_file f)
{
	struct sr_buf *b = live_buf(t, "slot"), *name;
	struct sr_sendmsg_submitted sub;
	struct sr_sendmsg_completed c;
	struct sr_sendmsg_op op;
	struct sockaddr_in a = lh_loopback(0);
	socklen_t len = sizeof(a);
	int rx = live_keep_fd(t, socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
	struct sr_msg m;
	char back[8];

	LIVE_CHECK(t, b && rx >= 0);
	LIVE_EQ(t, bind(rx, (struct sockaddr *)&a, sizeof(a)), 0);
	LIVE_EQ(t, getsockname(rx, (struct sockaddr *)&a, &len), 0);
	name = bytes_buf(t, &a, sizeof(a));
	LIVE_CHECK(t, name);
	memset(&m, 0, sizeof(m));
	m.name = name;
	m.iov[0] = b;
	m.iovlen = 1;
	op = sr_sendmsg(0, &m);
	sr_sendmsg_set_file(&op, f);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 4);
	LIVE_CHECK(t, lh_readable(rx, 1000));
	LIVE_EQ(t, recv(rx, back, sizeof(back), 0), 4);
	LIVE_CHECK(t, memcmp(back, "slot", 4) == 0);
	return LIVE_PASS;
}

int live_socket_direct(struct live *t)
{
	struct sr_socket_direct_submitted sub;
	struct sr_socket_direct_completed c;
	struct sr_socket_direct_op op;

	LIVE_EQ(t, sr_ring_register_files(t->ring, 4), 0);
	op = sr_socket_direct(AF_INET, SOCK_DGRAM, 0, 2);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 0);
	LIVE_EQ(t, sr_file_slot(c.file), 2);
	return udp_slot_works(t, c.file);
}

int live_socket_direct_alloc(struct live *t)
{
	int fd = live_keep_fd(t, socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
	struct sr_socket_direct_alloc_submitted sub;
	struct sr_socket_direct_alloc_completed c;
	struct sr_socket_direct_alloc_op op;

	LIVE_CHECK(t, fd >= 0);
	LIVE_EQ(t, sr_ring_register_files(t->ring, 4), 0);
	/* Slot 0 is taken, so the kernel has to pick 1. */
	LIVE_EQ(t, sr_ring_files_set(t->ring, 0, fd, NULL), 0);
	op = sr_socket_direct_alloc(AF_INET, SOCK_DGRAM, 0);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 1);
	LIVE_EQ(t, sr_file_slot(c.file), 1);
	return udp_slot_works(t, c.file);
}

int live_bind(struct live *t)
{
	int fd = live_keep_fd(t, socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
	int fd2 = live_keep_fd(t, socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
	struct sockaddr_in a = lh_loopback(0), got;
	socklen_t len = sizeof(got);
	struct sr_bind_submitted sub;
	struct sr_bind_completed c;
	struct sr_bind_op op;

	LIVE_CHECK(t, fd >= 0 && fd2 >= 0);
	op = sr_bind(fd, (struct sockaddr *)&a, sizeof(a));
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	a.sin_addr.s_addr = htonl(INADDR_ANY);	/* copied at submit */
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 0);
	LIVE_EQ(t, getsockname(fd, (struct sockaddr *)&got, &len), 0);
	LIVE_EQ(t, got.sin_family, AF_INET);
	LIVE_EQ(t, ntohl(got.sin_addr.s_addr), INADDR_LOOPBACK);
	LIVE_CHECK(t, got.sin_port != 0);

	/* Listening there, the port is taken: binding it again fails. */
	LIVE_EQ(t, listen(fd, 4), 0);
	op = sr_bind(fd2, (struct sockaddr *)&got, sizeof(got));
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, -EADDRINUSE);
	return LIVE_PASS;
}

int live_listen(struct live *t)
{
	int fd = live_keep_fd(t, socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)), cl, s, v = 0;
	struct sockaddr_in a = lh_loopback(0);
	socklen_t len = sizeof(a), vlen = sizeof(v);
	struct sr_listen_submitted sub;
	struct sr_listen_completed c;
	struct sr_listen_op op;

	LIVE_CHECK(t, fd >= 0);
	LIVE_EQ(t, bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	LIVE_EQ(t, getsockname(fd, (struct sockaddr *)&a, &len), 0);
	op = sr_listen(fd, 4);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 0);
	LIVE_EQ(t, getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &vlen), 0);
	LIVE_EQ(t, v, 1);
	/* Someone can connect now, and be accepted. */
	cl = tcp_client(t, &a);
	LIVE_CHECK(t, cl >= 0);
	s = live_keep_fd(t, accept4(fd, NULL, NULL, SOCK_CLOEXEC));
	LIVE_CHECK(t, s >= 0);
	LIVE_EQ(t, lh_peer_port(s), lh_port(cl));
	return LIVE_PASS;
}

int live_connect(struct live *t)
{
	int l, fd = live_keep_fd(t, socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)), s;
	struct sr_connect_submitted sub;
	struct sr_connect_completed c;
	struct sr_connect_op op;
	struct sockaddr_in a;
	char back[8];

	LIVE_CHECK(t, fd >= 0);
	LIVE_EQ(t, live_listener(t, &l, &a), 0);
	op = sr_connect(fd, (struct sockaddr *)&a, sizeof(a));
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 0);
	LIVE_EQ(t, lh_peer_port(fd), ntohs(a.sin_port));
	s = live_keep_fd(t, accept4(l, NULL, NULL, SOCK_CLOEXEC));
	LIVE_CHECK(t, s >= 0);
	LIVE_EQ(t, lh_peer_port(s), lh_port(fd));
	LIVE_EQ(t, send(fd, "conn", 4, 0), 4);
	LIVE_EQ(t, recv_all(s, back, 4), 0);
	LIVE_CHECK(t, memcmp(back, "conn", 4) == 0);
	return LIVE_PASS;
}

/* --- accepting ------------------------------------------------------------------------ */

int live_accept(struct live *t)
{
	struct sr_accept_submitted sub;
	struct sr_accept_completed c;
	struct sr_accept_op op;
	const struct sockaddr_in *peer;
	struct sockaddr_in a;
	int l, cl, fd;
	char back[8];

	LIVE_EQ(t, live_listener(t, &l, &a), 0);
	op = sr_accept(l);
	sr_accept_set_flags(&op, SOCK_CLOEXEC);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_poll(t->ring, &sub, &c), -EAGAIN);	/* nobody yet */
	cl = tcp_client(t, &a);
	LIVE_CHECK(t, cl >= 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_CHECK(t, c.res >= 0);
	fd = live_keep_fd(t, c.res);
	LIVE_CHECK(t, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	/* The peer address is the client's. */
	LIVE_EQ(t, c.addrlen, sizeof(struct sockaddr_in));
	peer = (const struct sockaddr_in *)&c.addr;
	LIVE_EQ(t, peer->sin_family, AF_INET);
	LIVE_EQ(t, ntohl(peer->sin_addr.s_addr), INADDR_LOOPBACK);
	LIVE_EQ(t, ntohs(peer->sin_port), lh_port(cl));
	LIVE_EQ(t, send(cl, "acc", 3, 0), 3);
	LIVE_EQ(t, recv_all(fd, back, 3), 0);
	LIVE_CHECK(t, memcmp(back, "acc", 3) == 0);
	return LIVE_PASS;
}

int live_accept_direct(struct live *t)
{
	struct sr_buf *b = live_keep_buf(t, sr_buf_alloc(64));
	struct sr_accept_direct_submitted sub;
	struct sr_accept_direct_completed c;
	struct sr_accept_direct_op op;
	struct sockaddr_in a;
	int l, cl, res = 0;

	LIVE_CHECK(t, b);
	LIVE_EQ(t, live_listener(t, &l, &a), 0);
	LIVE_EQ(t, sr_ring_register_files(t->ring, 4), 0);
	op = sr_accept_direct(l, 3);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	cl = tcp_client(t, &a);
	LIVE_CHECK(t, cl >= 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 0);
	LIVE_EQ(t, c.addrlen, sizeof(struct sockaddr_in));
	LIVE_EQ(t, ntohs(((const struct sockaddr_in *)&c.addr)->sin_port), lh_port(cl));
	/* Slot 3 holds the accepted connection: read the client's bytes through it. */
	LIVE_EQ(t, send(cl, "direct", 6, 0), 6);
	LIVE_EQ(t, sr_file_slot(c.file), 3);
	LIVE_EQ(t, lh_read_slot(t->ring, c.file, b, (__u64)-1, &res), 0);
	LIVE_EQ(t, res, 6);
	LIVE_CHECK(t, memcmp(sr_buf_data(b), "direct", 6) == 0);
	return LIVE_PASS;
}

int live_multishot_accept(struct live *t)
{
	struct sr_multishot_accept_submitted sub;
	struct sr_multishot_accept_completed c;
	struct sr_multishot_accept_op op;
	struct sockaddr_in a;
	int l;

	LIVE_EQ(t, live_listener(t, &l, &a), 0);
	op = sr_multishot_accept(l);
	sr_multishot_accept_set_flags(&op, SOCK_CLOEXEC);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_poll(t->ring, &sub, &c), -EAGAIN);
	/* Two clients, one completion each, both from the one request. */
	for (int i = 0; i < 2; i++) {
		int cl = tcp_client(t, &a), fd;

		LIVE_CHECK(t, cl >= 0);
		LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
		LIVE_CHECK(t, c.res >= 0 && c.more);
		fd = live_keep_fd(t, c.res);
		LIVE_EQ(t, lh_peer_port(fd), lh_port(cl));
	}
	LIVE_EQ(t, sr_cancel(t->ring, &sub), 0);
	do {
		LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
		if (c.res >= 0)
			live_keep_fd(t, c.res);
	} while (c.more);
	LIVE_EQ(t, c.res, -ECANCELED);
	return LIVE_PASS;
}

int live_multishot_accept_direct(struct live *t)
{
	struct sr_buf *b = live_keep_buf(t, sr_buf_alloc(64));
	struct sr_multishot_accept_direct_submitted sub;
	struct sr_multishot_accept_direct_completed c;
	struct sr_multishot_accept_direct_op op;
	static const char *const msg[2] = { "first", "second" };
	struct sockaddr_in a;
	int l, slot[2], res = 0;

	LIVE_CHECK(t, b);
	LIVE_EQ(t, live_listener(t, &l, &a), 0);
	LIVE_EQ(t, sr_ring_register_files(t->ring, 4), 0);
	op = sr_multishot_accept_direct(l);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_poll(t->ring, &sub, &c), -EAGAIN);
	for (int i = 0; i < 2; i++) {
		int cl = tcp_client(t, &a);
		size_t n = strlen(msg[i]);

		LIVE_CHECK(t, cl >= 0);
		LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
		LIVE_CHECK(t, c.res >= 0 && c.res < 4 && c.more);
		slot[i] = c.res;
		/* The slot the kernel picked is this client's connection. */
		LIVE_EQ(t, send(cl, msg[i], n, 0), n);
		LIVE_EQ(t, sr_file_slot(c.file), slot[i]);
		LIVE_EQ(t, lh_read_slot(t->ring, c.file, b, (__u64)-1, &res), 0);
		LIVE_EQ(t, res, n);
		LIVE_CHECK(t, memcmp(sr_buf_data(b), msg[i], n) == 0);
	}
	LIVE_CHECK(t, slot[0] != slot[1]);
	LIVE_EQ(t, sr_cancel(t->ring, &sub), 0);
	do {
		LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	} while (c.more);
	LIVE_EQ(t, c.res, -ECANCELED);
	return LIVE_PASS;
}

int live_shutdown(struct live *t)
{
	struct sr_shutdown_submitted sub;
	struct sr_shutdown_completed c;
	struct sr_shutdown_op op;
	int cl, s;
	char back[4];

	LIVE_EQ(t, tcp_pair(t, &cl, &s), 0);
	op = sr_shutdown(cl, SHUT_WR);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 0);
	/* The server sees end of file; the other direction still works. */
	LIVE_CHECK(t, lh_readable(s, 1000));
	LIVE_EQ(t, recv(s, back, sizeof(back), 0), 0);
	LIVE_EQ(t, send(s, "x", 1, 0), 1);
	LIVE_EQ(t, recv_all(cl, back, 1), 0);
	LIVE_CHECK(t, send(cl, "y", 1, MSG_NOSIGNAL) == -1 && errno == EPIPE);
	return LIVE_PASS;
}

/* --- send and receive ---------------------------------------------------------------- */

int live_send(struct live *t)
{
	struct sr_buf *b = live_buf(t, "ping");
	struct sr_send_submitted sub;
	struct sr_send_completed c;
	struct sr_send_op op;
	int cl, s;
	char back[8];

	LIVE_CHECK(t, b);
	LIVE_EQ(t, tcp_pair(t, &cl, &s), 0);
	op = sr_send(cl, b);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_CHECK(t, sr_buf_is_lent(b));
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 4);
	LIVE_CHECK(t, c.buf == b && !sr_buf_is_lent(b));
	LIVE_EQ(t, recv_all(s, back, 4), 0);
	LIVE_CHECK(t, memcmp(back, "ping", 4) == 0);
	return LIVE_PASS;
}

int live_sendto(struct live *t)
{
	struct sr_buf *b = live_buf(t, "to you");
	struct sr_sendto_submitted sub;
	struct sr_sendto_completed c;
	struct sr_sendto_op op;
	struct sockaddr_in a, from;
	socklen_t flen = sizeof(from);
	int tx, rx;
	char back[16];

	LIVE_CHECK(t, b);
	LIVE_EQ(t, udp_pair(t, &tx, &rx, &a), 0);
	op = sr_sendto(tx, b, (struct sockaddr *)&a, sizeof(a));
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	memset(&a, 0, sizeof(a));	/* copied at submit */
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 6);
	LIVE_CHECK(t, c.buf == b && !sr_buf_is_lent(b));
	LIVE_CHECK(t, lh_readable(rx, 1000));
	LIVE_EQ(t, recvfrom(rx, back, sizeof(back), 0, (struct sockaddr *)&from, &flen), 6);
	LIVE_CHECK(t, memcmp(back, "to you", 6) == 0);
	LIVE_EQ(t, ntohs(from.sin_port), lh_port(tx));
	return LIVE_PASS;
}

int live_recv(struct live *t)
{
	struct sr_buf *b = live_keep_buf(t, sr_buf_alloc(64));
	struct sr_recv_submitted sub;
	struct sr_recv_completed c;
	struct sr_recv_op op;
	int cl, s;

	LIVE_CHECK(t, b);
	LIVE_EQ(t, tcp_pair(t, &cl, &s), 0);
	op = sr_recv(s, b);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_poll(t->ring, &sub, &c), -EAGAIN);
	LIVE_EQ(t, send(cl, "pong", 4, 0), 4);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 4);
	LIVE_CHECK(t, c.buf == b && !sr_buf_is_lent(b));
	LIVE_EQ(t, sr_buf_len(b), 4);
	LIVE_CHECK(t, memcmp(sr_buf_data(b), "pong", 4) == 0);
	return LIVE_PASS;
}

int live_recv_multishot(struct live *t)
{
	struct sr_bufgroup *g = sr_bufgroup_create(t->ring, 4, 64);
	struct sr_recv_multishot_submitted sub;
	struct sr_recv_multishot_completed c;
	struct sr_recv_multishot_op op;
	static const char *const chunk[2] = { "alpha", "beta" };
	int cl, s;

	LIVE_CHECK(t, g);
	LIVE_EQ(t, tcp_pair(t, &cl, &s), 0);
	op = sr_recv_multishot(s, g);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_poll(t->ring, &sub, &c), -EAGAIN);
	for (int i = 0; i < 2; i++) {
		size_t n = strlen(chunk[i]);

		LIVE_EQ(t, send(cl, chunk[i], n, 0), n);
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

/* --- messages ------------------------------------------------------------------------ */

/* An owned buffer holding n bytes of mem. */
static struct sr_buf *bytes_buf(struct live *t, const void *mem, size_t n)
{
	struct sr_buf *b = live_keep_buf(t, sr_buf_alloc(n));

	if (b) {
		memcpy(sr_buf_data(b), mem, n);
		sr_buf_set_len(b, n);
	}
	return b;
}

int live_sendmsg(struct live *t)
{
	struct sr_buf *d0 = live_buf(t, "scat"), *d1 = live_buf(t, "tered"), *name;
	struct sr_sendmsg_submitted sub;
	struct sr_sendmsg_completed c;
	struct sr_sendmsg_op op;
	struct sockaddr_in a;
	struct sr_msg m;
	int tx, rx;
	char back[16];

	LIVE_EQ(t, udp_pair(t, &tx, &rx, &a), 0);
	name = bytes_buf(t, &a, sizeof(a));
	LIVE_CHECK(t, d0 && d1 && name);
	/* Unconnected: the destination comes from the message's name. */
	memset(&m, 0, sizeof(m));
	m.name = name;
	m.iov[0] = d0;
	m.iov[1] = d1;
	m.iovlen = 2;
	op = sr_sendmsg(tx, &m);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_CHECK(t, sr_buf_is_lent(d0) && sr_buf_is_lent(d1) && sr_buf_is_lent(name));
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 9);
	LIVE_CHECK(t, !sr_buf_is_lent(d0) && !sr_buf_is_lent(d1) && !sr_buf_is_lent(name));
	/* One datagram with both pieces. */
	LIVE_CHECK(t, lh_readable(rx, 1000));
	LIVE_EQ(t, recv(rx, back, sizeof(back), 0), 9);
	LIVE_CHECK(t, memcmp(back, "scattered", 9) == 0);
	return LIVE_PASS;
}

int live_recvmsg(struct live *t)
{
	struct sr_buf *d0 = live_keep_buf(t, sr_buf_alloc(4)), *d1 = live_keep_buf(t, sr_buf_alloc(64));
	struct sr_buf *name = live_keep_buf(t, sr_buf_alloc(sizeof(struct sockaddr_in)));
	struct sr_buf *control = live_keep_buf(t, sr_buf_alloc(256));
	struct sr_recvmsg_submitted sub;
	struct sr_recvmsg_completed c;
	struct sr_recvmsg_op op;
	struct sockaddr_in a, from;
	struct in_pktinfo pi;
	struct cmsghdr *cm;
	struct msghdr h;
	struct sr_msg m;
	int tx, rx, one = 1, found = 0;

	LIVE_CHECK(t, d0 && d1 && name && control);
	LIVE_EQ(t, udp_pair(t, &tx, &rx, &a), 0);
	/* Ask for IP_PKTINFO, so the control buffer gets something too. */
	LIVE_EQ(t, setsockopt(rx, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)), 0);
	memset(&m, 0, sizeof(m));
	m.name = name;
	m.control = control;
	m.iov[0] = d0;
	m.iov[1] = d1;
	m.iovlen = 2;
	op = sr_recvmsg(rx, &m);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_poll(t->ring, &sub, &c), -EAGAIN);
	LIVE_EQ(t, sendto(tx, "datagram", 8, 0, (struct sockaddr *)&a, sizeof(a)), 8);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 8);
	LIVE_EQ(t, c.msg_flags & MSG_TRUNC, 0);
	LIVE_CHECK(t, !sr_buf_is_lent(d0) && !sr_buf_is_lent(d1));
	LIVE_CHECK(t, !sr_buf_is_lent(name) && !sr_buf_is_lent(control));
	/* The data, scattered over both buffers. */
	LIVE_EQ(t, sr_buf_len(d0), 4);
	LIVE_EQ(t, sr_buf_len(d1), 4);
	LIVE_CHECK(t, memcmp(sr_buf_data(d0), "data", 4) == 0);
	LIVE_CHECK(t, memcmp(sr_buf_data(d1), "gram", 4) == 0);
	/* The sender's address. */
	LIVE_EQ(t, sr_buf_len(name), sizeof(from));
	memcpy(&from, sr_buf_data(name), sizeof(from));
	LIVE_EQ(t, from.sin_family, AF_INET);
	LIVE_EQ(t, ntohs(from.sin_port), lh_port(tx));
	/* The ancillary data: an IP_PKTINFO naming 127.0.0.1. */
	LIVE_CHECK(t, sr_buf_len(control) >= CMSG_LEN(sizeof(pi)));
	memset(&h, 0, sizeof(h));
	h.msg_control = sr_buf_data(control);
	h.msg_controllen = sr_buf_len(control);
	for (cm = CMSG_FIRSTHDR(&h); cm; cm = CMSG_NXTHDR(&h, cm)) {
		if (cm->cmsg_level != IPPROTO_IP || cm->cmsg_type != IP_PKTINFO)
			continue;
		memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
		LIVE_EQ(t, ntohl(pi.ipi_addr.s_addr), INADDR_LOOPBACK);
		found = 1;
	}
	LIVE_CHECK(t, found);

	/* Too small for the datagram: MSG_TRUNC comes back in msg_flags. */
	memset(&m, 0, sizeof(m));
	m.iov[0] = d0;
	m.iovlen = 1;
	op = sr_recvmsg(rx, &m);
	LIVE_EQ(t, sendto(tx, "datagram", 8, 0, (struct sockaddr *)&a, sizeof(a)), 8);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 4);
	LIVE_CHECK(t, c.msg_flags & MSG_TRUNC);
	LIVE_CHECK(t, memcmp(sr_buf_data(d0), "data", 4) == 0);
	return LIVE_PASS;
}

int live_recvmsg_multishot(struct live *t)
{
	struct sr_bufgroup *g = sr_bufgroup_create(t->ring, 4, 256);
	struct sr_recvmsg_multishot_submitted sub;
	struct sr_recvmsg_multishot_completed c;
	struct sr_recvmsg_multishot_op op;
	static const char *const dgram[2] = { "one", "two!" };
	struct msghdr h;
	struct sockaddr_in a;
	int tx, rx;

	LIVE_CHECK(t, g);
	LIVE_EQ(t, udp_pair(t, &tx, &rx, &a), 0);
	/* Only the lengths matter: room for the sender's address, no control. */
	memset(&h, 0, sizeof(h));
	h.msg_namelen = sizeof(struct sockaddr_in);
	op = sr_recvmsg_multishot(rx, &h, g);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_poll(t->ring, &sub, &c), -EAGAIN);
	for (int i = 0; i < 2; i++)
		LIVE_EQ(t, sendto(tx, dgram[i], strlen(dgram[i]), 0, (struct sockaddr *)&a, sizeof(a)),
			strlen(dgram[i]));
	/* One completion per datagram, in order, each a struct io_uring_recvmsg_out. */
	for (int i = 0; i < 2; i++) {
		struct io_uring_recvmsg_out *o;
		const struct sockaddr_in *from;

		LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
		LIVE_CHECK(t, c.res > 0 && c.more && c.buf);
		LIVE_EQ(t, sr_buf_len(c.buf), c.res);
		o = io_uring_recvmsg_validate(sr_buf_data(c.buf), c.res, &h);
		LIVE_CHECK(t, o);
		LIVE_EQ(t, io_uring_recvmsg_payload_length(o, c.res, &h), strlen(dgram[i]));
		LIVE_CHECK(t, memcmp(io_uring_recvmsg_payload(o, &h), dgram[i], strlen(dgram[i])) == 0);
		LIVE_EQ(t, o->namelen, sizeof(struct sockaddr_in));
		from = io_uring_recvmsg_name(o);
		LIVE_EQ(t, ntohs(from->sin_port), lh_port(tx));
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

/* --- zero copy: the buffer comes back only with the notification ---------------------- */

int live_send_zc(struct live *t)
{
	struct sr_buf *b = live_buf(t, "zero copy!");
	struct sr_send_zc_submitted sub;
	struct sr_send_zc_completed c;
	struct sr_send_zc_op op;
	int cl, s;
	char back[16];

	LIVE_CHECK(t, b);
	LIVE_EQ(t, tcp_pair(t, &cl, &s), 0);
	op = sr_send_zc(cl, b);
	sr_send_zc_set_zc_flags(&op, SR_IORING_SEND_ZC_REPORT_USAGE);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_CHECK(t, sr_buf_is_lent(b));
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 10);
	/* REPORT_USAGE: the notification says whether the kernel had to copy. */
	LIVE_CHECK(t, c.notif == 0 || c.notif == SR_IORING_NOTIF_USAGE_ZC_COPIED);
	LIVE_CHECK(t, c.buf == b && !sr_buf_is_lent(b));
	LIVE_EQ(t, recv_all(s, back, 10), 0);
	LIVE_CHECK(t, memcmp(back, "zero copy!", 10) == 0);

	/* With a destination (send_set_addr) on an unconnected socket: every
	 * route carries it (sendto, as native op or system call). */
	{
		struct sockaddr_in a;
		int tx, rx;

		LIVE_EQ(t, udp_pair(t, &tx, &rx, &a), 0);
		op = sr_send_zc(tx, b);
		sr_send_zc_set_addr(&op, (const struct sockaddr *)&a, sizeof(a));
		LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
		LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
		LIVE_EQ(t, c.res, 10);
		LIVE_CHECK(t, lh_readable(rx, 1000));
		LIVE_EQ(t, recv(rx, back, sizeof(back), MSG_DONTWAIT), 10);
		LIVE_CHECK(t, memcmp(back, "zero copy!", 10) == 0);
	}
	return LIVE_PASS;
}

int live_send_zc_fixed(struct live *t)
{
	struct sr_buf *b = live_buf(t, "fixed zc");
	struct sr_send_zc_fixed_submitted sub;
	struct sr_send_zc_fixed_completed c;
	struct sr_send_zc_fixed_op op;
	int cl, s;
	char back[16];

	LIVE_CHECK(t, b);
	LIVE_EQ(t, tcp_pair(t, &cl, &s), 0);
	LIVE_EQ(t, sr_ring_register_buffers(t->ring, &b, 1), 0);
	op = sr_send_zc_fixed(cl, b);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_CHECK(t, sr_buf_is_lent(b));
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 8);
	LIVE_CHECK(t, c.buf == b && !sr_buf_is_lent(b));
	LIVE_EQ(t, recv_all(s, back, 8), 0);
	LIVE_CHECK(t, memcmp(back, "fixed zc", 8) == 0);
	LIVE_EQ(t, sr_ring_unregister_buffers(t->ring), 0);
	return LIVE_PASS;
}

int live_sendmsg_zc(struct live *t)
{
	struct sr_buf *d0 = live_buf(t, "msg "), *d1 = live_buf(t, "zero copy");
	struct sr_sendmsg_zc_submitted sub;
	struct sr_sendmsg_zc_completed c;
	struct sr_sendmsg_zc_op op;
	struct sr_msg m;
	int cl, s;
	char back[16];

	LIVE_CHECK(t, d0 && d1);
	LIVE_EQ(t, tcp_pair(t, &cl, &s), 0);
	memset(&m, 0, sizeof(m));
	m.iov[0] = d0;
	m.iov[1] = d1;
	m.iovlen = 2;
	op = sr_sendmsg_zc(cl, &m);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_CHECK(t, sr_buf_is_lent(d0) && sr_buf_is_lent(d1));
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 13);
	LIVE_CHECK(t, !sr_buf_is_lent(d0) && !sr_buf_is_lent(d1));
	LIVE_EQ(t, recv_all(s, back, 13), 0);
	LIVE_CHECK(t, memcmp(back, "msg zero copy", 13) == 0);
	return LIVE_PASS;
}

int live_sendmsg_zc_fixed(struct live *t)
{
	struct sr_buf *b = live_buf(t, "registered msg");
	struct sr_sendmsg_zc_fixed_submitted sub;
	struct sr_sendmsg_zc_fixed_completed c;
	struct sr_sendmsg_zc_fixed_op op;
	struct sr_msg m;
	int cl, s;
	char back[16];

	LIVE_CHECK(t, b);
	LIVE_EQ(t, tcp_pair(t, &cl, &s), 0);
	memset(&m, 0, sizeof(m));
	m.iov[0] = b;
	m.iovlen = 1;
	/* Not registered yet: refused before anything reaches the kernel. */
	op = sr_sendmsg_zc_fixed(cl, &m);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), -EINVAL);
	LIVE_CHECK(t, !sr_buf_is_lent(b));
	LIVE_EQ(t, sr_ring_register_buffers(t->ring, &b, 1), 0);
	/* The buffer index is the registered buffer's own. */
	op = sr_sendmsg_zc_fixed(cl, &m);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_CHECK(t, sr_buf_is_lent(b));
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 14);
	LIVE_CHECK(t, !sr_buf_is_lent(b));
	LIVE_EQ(t, recv_all(s, back, 14), 0);
	LIVE_CHECK(t, memcmp(back, "registered msg", 14) == 0);
	LIVE_EQ(t, sr_ring_unregister_buffers(t->ring), 0);
	return LIVE_PASS;
}
