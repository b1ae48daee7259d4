/* SPDX-License-Identifier: MIT */
/*
 * echo_epoll: the epoll baseline of the echo workload.
 *
 *   echo_epoll [--port N]
 *
 * A single-threaded TCP echo server on 127.0.0.1:N (default 0: a free
 * port), with non-blocking sockets and level-triggered epoll.  It prints
 * "listening on 127.0.0.1:PORT" as its first line and runs until SIGTERM
 * or SIGINT.  A readable connection is read once into its 64 KiB buffer
 * and all of it is written back; a write that would block waits for
 * EPOLLOUT.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include "bench.h"

#define BUF_SIZE (64 << 10)
#define MAX_EVENTS 256

struct conn {
	int fd;
	unsigned len;		/* bytes read, being written */
	unsigned sent;
	char buf[BUF_SIZE];
};

static volatile sig_atomic_t stop;
static int epfd;
static struct conn listener = { .fd = -1 };

static void on_signal(int sig)
{
	stop = 1;
}

static void watch(int op, struct conn *c, unsigned events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };

	if (epoll_ctl(epfd, op, c->fd, &ev) < 0)
		bench_die("echo_epoll: epoll_ctl: %s", strerror(errno));
}

static void close_conn(struct conn *c)
{
	close(c->fd);		/* also leaves the epoll set */
	free(c);
}

/* Write what is left; false when the connection is gone. */
static bool flush(struct conn *c)
{
	while (c->sent < c->len) {
		ssize_t n = send(c->fd, c->buf + c->sent, c->len - c->sent, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			watch(EPOLL_CTL_MOD, c, EPOLLOUT);
			return true;
		}
		if (n < 0)
			return false;
		c->sent += (unsigned)n;
	}
	return true;
}

static void on_accept(void)
{
	for (;;) {
		int fd = accept4(listener.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;

		if (fd < 0)
			return;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &(int){ 1 }, sizeof(int));
		c = malloc(sizeof(*c));
		if (!c)
			bench_die("echo_epoll: out of memory");
		c->fd = fd;
		c->len = c->sent = 0;
		watch(EPOLL_CTL_ADD, c, EPOLLIN);
	}
}

static void on_conn(struct conn *c, unsigned events)
{
	ssize_t n;

	if (c->sent < c->len) {		/* waiting for EPOLLOUT */
		if (!flush(c))
			close_conn(c);
		else if (c->sent == c->len)
			watch(EPOLL_CTL_MOD, c, EPOLLIN);
		return;
	}
	n = recv(c->fd, c->buf, BUF_SIZE, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		close_conn(c);
		return;
	}
	c->len = (unsigned)n;
	c->sent = 0;
	if (!flush(c))
		close_conn(c);
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct sigaction sig = { .sa_handler = on_signal };
	struct epoll_event events[MAX_EVENTS];
	socklen_t len = sizeof(sa);
	int port = 0, one = 1;

	if (argc == 3 && !strcmp(argv[1], "--port"))
		port = (int)bench_num("--port", argv[2]);
	else if (argc != 1)
		bench_die("usage: echo_epoll [--port N]");
	sigaction(SIGTERM, &sig, NULL);
	sigaction(SIGINT, &sig, NULL);
	signal(SIGPIPE, SIG_IGN);

	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	listener.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (listener.fd < 0 || setsockopt(listener.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(listener.fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(listener.fd, 1024) < 0 ||
	    getsockname(listener.fd, (struct sockaddr *)&sa, &len) < 0)
		bench_die("echo_epoll: listen on port %d: %s", port, strerror(errno));
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0)
		bench_die("echo_epoll: epoll_create1: %s", strerror(errno));
	watch(EPOLL_CTL_ADD, &listener, EPOLLIN);
	printf("listening on 127.0.0.1:%d\n", ntohs(sa.sin_port));
	fflush(stdout);

	while (!stop) {
		int n = epoll_wait(epfd, events, MAX_EVENTS, -1);

		if (n < 0 && errno != EINTR)
			bench_die("echo_epoll: epoll_wait: %s", strerror(errno));
		for (int i = 0; i < n; i++) {
			struct conn *c = events[i].data.ptr;

			if (c == &listener)
				on_accept();
			else
				on_conn(c, events[i].events);
		}
	}
	close(epfd);
	close(listener.fd);
	return 0;
}
