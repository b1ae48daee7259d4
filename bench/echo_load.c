/* SPDX-License-Identifier: MIT */
/*
 * echo_load: the load generator of the echo workload.
 *
 *   echo_load --port N [--conns C] [--size BYTES] [--duration S] [--warmup S]
 *
 * Opens C connections (default 16) to 127.0.0.1:N and keeps one request of
 * BYTES bytes (default 64) in flight on each: send it, read the whole echo
 * back, check it, send the next.  After a warmup of S seconds (default
 * 0.5) it measures for the duration (default 2 s), then stops.  A request
 * is counted when its echo completes inside the measured window; its
 * latency runs from its send to the end of its echo.  Single-threaded,
 * non-blocking sockets with epoll.  Prints one line:
 *   echo conns=C size=B requests=R total=A seconds=T rps=X mean_us=..
 *        p50_us=.. p99_us=.. p999_us=..
 * (requests: in the measured window; total: all, warmup included)
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include "bench.h"

struct client {
	int fd;
	uint32_t seq;
	size_t sent, got;
	uint64_t start_ns;
	char *out, *in;
};

static size_t size;
static uint64_t *lat;		/* latencies of measured requests, ns */
static size_t nlat, caplat;
static uint64_t total;		/* every completed request, warmup included */

static void record(uint64_t ns)
{
	if (nlat == caplat) {
		caplat = caplat ? caplat * 2 : 1 << 16;
		lat = realloc(lat, caplat * sizeof(*lat));
		if (!lat)
			bench_die("echo_load: out of memory");
	}
	lat[nlat++] = ns;
}

/* Fill the next request: its connection and sequence number, then a pattern. */
static void make_request(struct client *c, unsigned id)
{
	c->seq++;
	for (size_t i = 0; i < size; i++)
		c->out[i] = (char)('a' + (i + c->seq + id) % 26);
	memcpy(c->out, &c->seq, size < 4 ? size : 4);
	c->sent = c->got = 0;
}

/* Send what is left of the request; the socket buffer takes it at once. */
static void push(struct client *c)
{
	while (c->sent < size) {
		ssize_t n = send(c->fd, c->out + c->sent, size - c->sent, MSG_NOSIGNAL);

		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			bench_die("echo_load: send: %s", strerror(errno));
		c->sent += (size_t)n;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double pct_us(double p)
{
	size_t i;

	if (!nlat)
		return 0;
	i = (size_t)(p * (double)(nlat - 1) + 0.5);
	return (double)lat[i] / 1000.0;
}

static double seconds_arg(const char *what, const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || v < 0)
		bench_die("%s: not a number of seconds: %s", what, s);
	return v;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	unsigned conns = 16, port = 0;
	double duration = 2, warmup = 0.5, sum = 0;
	struct epoll_event events[256];
	struct client *cl;
	uint64_t t_start, t_end, now;
	int epfd;

	size = 64;
	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			bench_die("echo_load: %s needs a value", argv[i]);
		if (!strcmp(argv[i], "--port"))
			port = (unsigned)bench_num("--port", v);
		else if (!strcmp(argv[i], "--conns"))
			conns = (unsigned)bench_num("--conns", v);
		else if (!strcmp(argv[i], "--size"))
			size = bench_num("--size", v);
		else if (!strcmp(argv[i], "--duration"))
			duration = seconds_arg("--duration", v);
		else if (!strcmp(argv[i], "--warmup"))
			warmup = seconds_arg("--warmup", v);
		else
			bench_die("usage: echo_load --port N [--conns C] [--size BYTES] [--duration S] [--warmup S]");
		i++;
	}
	if (!port || !conns || conns > 4096 || !size || size > (16 << 10) || duration <= 0)
		bench_die("echo_load: need --port, 1..4096 connections, 1..16K bytes, a duration");
	signal(SIGPIPE, SIG_IGN);

	epfd = epoll_create1(EPOLL_CLOEXEC);
	cl = calloc(conns, sizeof(*cl));
	if (epfd < 0 || !cl)
		bench_die("echo_load: setup: %s", strerror(errno));
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (unsigned i = 0; i < conns; i++) {
		struct client *c = &cl[i];
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };
		int one = 1;

		c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			bench_die("echo_load: connect to 127.0.0.1:%u: %s", port, strerror(errno));
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (fcntl(c->fd, F_SETFL, O_NONBLOCK) < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0)
			bench_die("echo_load: setup: %s", strerror(errno));
		c->out = malloc(size);
		c->in = malloc(size);
		if (!c->out || !c->in)
			bench_die("echo_load: out of memory");
	}

	/* Connections are up: the clock starts with the first requests. */
	now = bench_now_ns();
	t_start = now + (uint64_t)(warmup * 1e9);
	t_end = t_start + (uint64_t)(duration * 1e9);
	for (unsigned i = 0; i < conns; i++) {
		make_request(&cl[i], i);
		cl[i].start_ns = bench_now_ns();
		push(&cl[i]);
	}
	while (now < t_end) {
		int n = epoll_wait(epfd, events, 256, 100);

		if (n < 0 && errno != EINTR)
			bench_die("echo_load: epoll_wait: %s", strerror(errno));
		for (int e = 0; e < n; e++) {
			unsigned id = events[e].data.u32;
			struct client *c = &cl[id];
			ssize_t got = recv(c->fd, c->in + c->got, size - c->got, 0);

			if (got < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (got <= 0)
				bench_die("echo_load: connection %u: %s", id,
					  got ? strerror(errno) : "closed by the server");
			c->got += (size_t)got;
			if (c->got < size)
				continue;
			if (memcmp(c->in, c->out, size))
				bench_die("echo_load: connection %u: the echo differs from the request", id);
			total++;
			now = bench_now_ns();
			if (now >= t_start && now < t_end)
				record(now - c->start_ns);
			make_request(c, id);
			c->start_ns = bench_now_ns();
			push(c);
		}
		now = bench_now_ns();
	}

	qsort(lat, nlat, sizeof(*lat), cmp_u64);
	for (size_t i = 0; i < nlat; i++)
		sum += (double)lat[i];
	printf("echo conns=%u size=%zu requests=%zu total=%llu seconds=%.3f rps=%.1f mean_us=%.2f "
	       "p50_us=%.2f p99_us=%.2f p999_us=%.2f\n", conns, size, nlat,
	       (unsigned long long)total, duration,
	       (double)nlat / duration, nlat ? sum / (double)nlat / 1000.0 : 0.0,
	       pct_us(0.50), pct_us(0.99), pct_us(0.999));
	for (unsigned i = 0; i < conns; i++)
		close(cl[i].fd);
	return 0;
}
