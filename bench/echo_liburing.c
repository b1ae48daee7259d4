/* SPDX-License-Identifier: MIT */
/*
 * echo_liburing: the raw liburing baseline of the echo workload.
 *
 *   echo_liburing [--port N]
 *
 * A single-threaded TCP echo server on 127.0.0.1:N (default 0: a free
 * port).  It prints "listening on 127.0.0.1:PORT" as its first line and
 * runs until SIGTERM or SIGINT.  One accept is always armed; each
 * connection loops recv -> send (all of what was received) -> recv with a
 * 64 KiB buffer of its own.  The ring is set up as sr_ring_create sets up
 * its own on this kernel (SINGLE_ISSUER | DEFER_TASKRUN | TASKRUN_FLAG).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <liburing.h>
#include "bench.h"

#define BUF_SIZE (64 << 10)

enum { OP_ACCEPT = 1, OP_RECV, OP_SEND };

struct conn {
	int fd;
	int op;
	unsigned len;		/* bytes received, being sent */
	unsigned sent;
	char buf[BUF_SIZE];
};

static struct io_uring ring;
static volatile sig_atomic_t stop;
static struct conn accept_req = { .fd = -1, .op = OP_ACCEPT };

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
			bench_die("echo_liburing: SQ full");
	}
	return sqe;
}

static void queue_accept(int lfd)
{
	struct io_uring_sqe *sqe = get_sqe();

	io_uring_prep_accept(sqe, lfd, NULL, NULL, SOCK_CLOEXEC);
	io_uring_sqe_set_data(sqe, &accept_req);
}

static void queue_recv(struct conn *c)
{
	struct io_uring_sqe *sqe = get_sqe();

	io_uring_prep_recv(sqe, c->fd, c->buf, BUF_SIZE, 0);
	io_uring_sqe_set_data(sqe, c);
	c->op = OP_RECV;
}

static void queue_send(struct conn *c)
{
	struct io_uring_sqe *sqe = get_sqe();

	io_uring_prep_send(sqe, c->fd, c->buf + c->sent, c->len - c->sent, MSG_NOSIGNAL);
	io_uring_sqe_set_data(sqe, c);
	c->op = OP_SEND;
}

static void close_conn(struct conn *c)
{
	close(c->fd);
	free(c);
}

static int listen_on(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	socklen_t len = sizeof(sa);
	int one = 1, fd;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1024) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		bench_die("echo_liburing: listen on port %d: %s", port, strerror(errno));
	printf("listening on 127.0.0.1:%d\n", ntohs(sa.sin_port));
	fflush(stdout);
	return fd;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct io_uring_params p;
	int port = 0, lfd, ret;

	if (argc == 3 && !strcmp(argv[1], "--port"))
		port = (int)bench_num("--port", argv[2]);
	else if (argc != 1)
		bench_die("usage: echo_liburing [--port N]");
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
	ret = io_uring_queue_init_params(1024, &ring, &p);
	if (ret < 0)
		bench_die("echo_liburing: io_uring_queue_init_params: %s", strerror(-ret));
	lfd = listen_on(port);
	queue_accept(lfd);

	while (!stop) {
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;

		ret = io_uring_submit_and_wait(&ring, 1);
		if (ret < 0 && ret != -EINTR)
			bench_die("echo_liburing: io_uring_submit_and_wait: %s", strerror(-ret));
		io_uring_for_each_cqe(&ring, head, cqe) {
			struct conn *c = io_uring_cqe_get_data(cqe);
			int res = cqe->res;

			seen++;
			if (c->op == OP_ACCEPT) {
				struct conn *nc;

				queue_accept(lfd);
				if (res < 0)
					continue;
				nc = malloc(sizeof(*nc));
				if (!nc)
					bench_die("echo_liburing: out of memory");
				setsockopt(res, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
				nc->fd = res;
				queue_recv(nc);
			} else if (res <= 0) {
				close_conn(c);		/* peer closed, or an error */
			} else if (c->op == OP_RECV) {
				c->len = (unsigned)res;
				c->sent = 0;
				queue_send(c);
			} else {
				c->sent += (unsigned)res;
				if (c->sent < c->len)
					queue_send(c);
				else
					queue_recv(c);
			}
		}
		io_uring_cq_advance(&ring, seen);
	}
	io_uring_queue_exit(&ring);
	close(lfd);
	return 0;
}
