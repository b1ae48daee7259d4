/* SPDX-License-Identifier: MIT */
/*
 * echo_liburing_mshot: raw liburing doing what the echo_server example does.
 *
 *   echo_liburing_mshot [--port N]
 *
 * A single-threaded TCP echo server on 127.0.0.1:N (default 0: a free
 * port), built like examples/echo_server.c but on liburing alone: one
 * multishot accept; per connection one multishot recv whose chunks land in
 * buffers the kernel picks from one buffer ring the whole server shares
 * (4096 buffers of 16 KiB, as echo_server's defaults); each chunk goes back
 * out with a send (MSG_NOSIGNAL | MSG_WAITALL, one at a time per
 * connection, in order), and its buffer goes back to the ring when that
 * send completes.  So echo_server against this measures what safer-ring
 * costs, and this against echo_liburing (recv into a buffer of each
 * connection's own, then send) what the design costs.
 *
 * It prints "listening on 127.0.0.1:PORT" as its first line and runs until
 * SIGTERM or SIGINT.  The ring walks safer-ring's setup ladder (bench/ops.h).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include "ops.h"

#define NBUFS		4096
#define BUF_SIZE	(16 << 10)
#define BGID		1
#define QCAP		NBUFS		/* a connection never holds more chunks than there are buffers */

enum { OP_ACCEPT, OP_RECV, OP_SEND };

struct conn {
	int fd;
	bool receiving, sending, done;
	unsigned qhead, qlen;		/* chunks received, not sent yet: buffer ids and lengths */
	uint16_t *qbid;
	unsigned *qlen_of;
};

static struct io_uring ring;
static struct io_uring_buf_ring *br;
static unsigned char *bufs;
static volatile sig_atomic_t stop;
static int lfd;

static void on_signal(int sig)
{
	stop = 1;
}

static struct io_uring_sqe *get_sqe(void)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

	if (!sqe) {
		io_uring_submit(&ring);
		sqe = io_uring_get_sqe(&ring);
		if (!sqe)
			bench_die("echo_liburing_mshot: SQ full");
	}
	return sqe;
}

/* user_data: the connection's address, the op in its low bits. */
static void set_data(struct io_uring_sqe *sqe, struct conn *c, unsigned op)
{
	io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)c | op);
}

static void arm_accept(void)
{
	struct io_uring_sqe *sqe = get_sqe();

	io_uring_prep_multishot_accept(sqe, lfd, NULL, NULL, SOCK_CLOEXEC);
	set_data(sqe, NULL, OP_ACCEPT);
}

static void arm_recv(struct conn *c)
{
	struct io_uring_sqe *sqe = get_sqe();

	io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = BGID;
	set_data(sqe, c, OP_RECV);
	c->receiving = true;
}

static void recycle(unsigned bid)
{
	io_uring_buf_ring_add(br, bufs + (size_t)bid * BUF_SIZE, BUF_SIZE, (unsigned short)bid,
			      io_uring_buf_ring_mask(NBUFS), 0);
	io_uring_buf_ring_advance(br, 1);
}

static void send_next(struct conn *c)
{
	struct io_uring_sqe *sqe = get_sqe();
	unsigned bid = c->qbid[c->qhead];

	io_uring_prep_send(sqe, c->fd, bufs + (size_t)bid * BUF_SIZE, c->qlen_of[c->qhead],
			   MSG_NOSIGNAL | MSG_WAITALL);
	set_data(sqe, c, OP_SEND);
	c->sending = true;
}

static void drop(struct conn *c)
{
	while (c->qlen) {
		recycle(c->qbid[c->qhead]);
		c->qhead = (c->qhead + 1) % QCAP;
		c->qlen--;
	}
}

/* Close a connection once nothing of it is in flight. */
static void check_done(struct conn *c)
{
	if (!c->done || c->receiving || c->sending)
		return;
	drop(c);
	close(c->fd);
	free(c->qbid);
	free(c->qlen_of);
	free(c);
}

static void on_recv(struct conn *c, int res, unsigned flags)
{
	if (!(flags & IORING_CQE_F_MORE))
		c->receiving = false;
	if (flags & IORING_CQE_F_BUFFER) {
		unsigned bid = flags >> IORING_CQE_BUFFER_SHIFT;

		if (res <= 0 || c->done) {
			recycle(bid);
		} else {
			unsigned at = (c->qhead + c->qlen) % QCAP;

			c->qbid[at] = (uint16_t)bid;
			c->qlen_of[at] = (unsigned)res;
			c->qlen++;
			if (!c->sending)
				send_next(c);
		}
	} else if (res == 0 || (res < 0 && res != -ENOBUFS)) {
		c->done = true;		/* EOF, or the connection broke */
	}
	if (!c->receiving && !c->done)
		arm_recv(c);		/* out of buffers, or the kernel ended the stream */
	check_done(c);
}

static void on_send(struct conn *c, int res)
{
	unsigned len = c->qlen_of[c->qhead];

	c->sending = false;
	recycle(c->qbid[c->qhead]);
	c->qhead = (c->qhead + 1) % QCAP;
	c->qlen--;
	if (res < 0 || (unsigned)res != len) {
		/* MSG_WAITALL sends everything or fails: the peer went away. */
		c->done = true;
		drop(c);
	} else if (c->qlen) {
		send_next(c);
	}
	check_done(c);
}

static void on_accept(int res, unsigned flags)
{
	if (!(flags & IORING_CQE_F_MORE))
		arm_accept();
	if (res >= 0) {
		struct conn *c = calloc(1, sizeof(*c));

		if (!c || !(c->qbid = malloc(QCAP * sizeof(*c->qbid))) ||
		    !(c->qlen_of = malloc(QCAP * sizeof(*c->qlen_of))))
			bench_die("echo_liburing_mshot: out of memory");
		c->fd = res;
		arm_recv(c);
	}
}

static int listen_on(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	socklen_t len = sizeof(sa);
	int one = 1, fd;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4096) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		bench_die("echo_liburing_mshot: listen on port %d: %s", port, strerror(errno));
	printf("listening on 127.0.0.1:%d\n", ntohs(sa.sin_port));
	fflush(stdout);
	return fd;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct io_uring_buf_reg reg;
	void *mem;
	int port = 0, ret;

	if (argc == 3 && !strcmp(argv[1], "--port"))
		port = (int)bench_num("--port", argv[2]);
	else if (argc != 1)
		bench_die("usage: echo_liburing_mshot [--port N]");
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	ops_queue_init(&ring, 1024, "echo_liburing_mshot");	/* echo_server's ring size */
	if (posix_memalign(&mem, 4096, NBUFS * sizeof(struct io_uring_buf)) ||
	    posix_memalign((void **)&bufs, 4096, (size_t)NBUFS * BUF_SIZE))
		bench_die("echo_liburing_mshot: out of memory");
	br = mem;
	memset(&reg, 0, sizeof(reg));
	reg.ring_addr = (uintptr_t)br;
	reg.ring_entries = NBUFS;
	reg.bgid = BGID;
	ret = io_uring_register_buf_ring(&ring, &reg, 0);
	if (ret < 0)
		bench_die("echo_liburing_mshot: io_uring_register_buf_ring: %s", strerror(-ret));
	io_uring_buf_ring_init(br);
	for (unsigned i = 0; i < NBUFS; i++)
		io_uring_buf_ring_add(br, bufs + (size_t)i * BUF_SIZE, BUF_SIZE, (unsigned short)i,
				      io_uring_buf_ring_mask(NBUFS), (int)i);
	io_uring_buf_ring_advance(br, NBUFS);

	lfd = listen_on(port);
	arm_accept();
	while (!stop) {
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;

		ret = io_uring_submit_and_wait(&ring, 1);
		if (ret < 0 && ret != -EINTR)
			bench_die("echo_liburing_mshot: io_uring_submit_and_wait: %s", strerror(-ret));
		io_uring_for_each_cqe(&ring, head, cqe) {
			uint64_t ud = io_uring_cqe_get_data64(cqe);
			struct conn *c = (struct conn *)(uintptr_t)(ud & ~(uint64_t)3);

			seen++;
			switch (ud & 3) {
			case OP_ACCEPT:
				on_accept(cqe->res, cqe->flags);
				break;
			case OP_RECV:
				on_recv(c, cqe->res, cqe->flags);
				break;
			default:
				on_send(c, cqe->res);
				break;
			}
		}
		io_uring_cq_advance(&ring, seen);
	}
	io_uring_queue_exit(&ring);
	close(lfd);
	return 0;
}
