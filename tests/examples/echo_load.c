/* SPDX-License-Identifier: MIT */
/*
 * echo_load: drive an echo server with many concurrent TCP connections and
 * check every byte that comes back.  A plain epoll client, independent of
 * safer-ring, so it tests the server from the outside.
 *
 *   echo_load --port N [--host ADDR] [--conns N] [--size N | --max-size N]
 *             [--messages N | --duration SECONDS] [--timeout SECONDS] [--seed N]
 *
 * Every connection is opened first; only when all are established does
 * traffic start, so the server holds --conns connections at once.  Each
 * connection then sends a message (--size bytes, or a random size from 1 to
 * --max-size), reads the echo back while it is still sending, and compares
 * it; then the next message.  After the last one it shuts down its sending
 * side and expects the server to close the connection with nothing extra.
 *
 * Message bytes are windows of one random pattern at a start that differs
 * per connection and message: lost, repeated, reordered or crossed bytes
 * all mismatch, and nothing has to be generated or stored per message.
 *
 * Prints one summary line; exits 0 when every byte came back right within
 * --timeout, 1 otherwise, 2 for bad arguments.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PATTERN_LEN ((1u << 20) + 4099)	/* longer than any message; not a power of two */
#define MAX_MSG (1u << 20)

enum { CONNECTING, WAITING, RUNNING, SHUTTING, DONE, FAILED };

struct lconn {
	int fd;
	int state;
	uint64_t rng;
	unsigned long msgs;	/* messages verified */
	uint32_t start;		/* where the current message starts in the pattern */
	uint32_t size, sent, got;
};

static unsigned char *pattern;	/* PATTERN_LEN random bytes, twice in a row */
static struct lconn *conns;
static unsigned nconns, nconnected, nfinished, nfailed;
static unsigned fixed_size, max_size = 65536;
static unsigned long messages = 10;
static double duration, timeout_s = 60;
static unsigned long long bytes;
static bool stop_sending;
static int epfd;

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fail(struct lconn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(struct lconn *c, const char *fmt, ...)
{
	va_list ap;

	if (nfailed++ < 10) {
		fprintf(stderr, "echo_load: connection %ld, message %lu: ", (long)(c - conns), c->msgs);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	c->state = FAILED;
	close(c->fd);
	c->fd = -1;
	nfinished++;
}

static void next_message(struct lconn *c)
{
	if (stop_sending || (!duration && c->msgs >= messages)) {
		/* Done sending: the server must close after echoing everything. */
		shutdown(c->fd, SHUT_WR);
		c->state = SHUTTING;
		return;
	}
	c->size = fixed_size ? fixed_size : 1 + (uint32_t)(splitmix(&c->rng) % max_size);
	c->start = (uint32_t)(splitmix(&c->rng) % PATTERN_LEN);
	c->sent = c->got = 0;
}

/* Write and read as far as the socket allows (edge-triggered). */
static void progress(struct lconn *c)
{
	static unsigned char in[MAX_MSG];

	while (c->state == RUNNING || c->state == SHUTTING) {
		bool blocked_w = true, blocked_r = true;
		ssize_t n;

		if (c->state == RUNNING && c->sent < c->size) {
			n = send(c->fd, pattern + c->start + c->sent, c->size - c->sent, MSG_NOSIGNAL);
			if (n > 0) {
				c->sent += (uint32_t)n;
				blocked_w = false;
			} else if (n < 0 && errno != EAGAIN) {
				fail(c, "send: %s", strerror(errno));
				return;
			}
		}
		/* In SHUTTING, read one byte more than nothing: any byte is extra. */
		n = recv(c->fd, in, c->state == RUNNING ? c->size - c->got : 1, 0);
		if (n > 0 && c->state == SHUTTING) {
			fail(c, "%zd unexpected byte(s) after the last message", n);
			return;
		} else if (n > 0) {
			if (memcmp(in, pattern + c->start + c->got, (size_t)n)) {
				size_t i = 0;

				while (in[i] == pattern[c->start + c->got + i])
					i++;
				fail(c, "byte %zu of %u differs (got 0x%02x, sent 0x%02x)", c->got + i, c->size,
				     in[i], pattern[c->start + c->got + i]);
				return;
			}
			c->got += (uint32_t)n;
			bytes += (unsigned long long)n;
			blocked_r = false;
			if (c->got == c->size) {
				c->msgs++;
				next_message(c);
			}
		} else if (n == 0 && c->state == SHUTTING) {
			c->state = DONE;
			close(c->fd);
			c->fd = -1;
			nfinished++;
			return;
		} else if (n == 0) {
			fail(c, "the server closed the connection after %u of %u bytes", c->got, c->size);
			return;
		} else if (errno != EAGAIN) {
			fail(c, "recv: %s", strerror(errno));
			return;
		}
		if (blocked_w && blocked_r)
			return;
	}
}

static int parse_num(const char *s, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v < 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: echo_load --port N [--host ADDR] [--conns N] [--size N | --max-size N]\n"
		"                 [--messages N | --duration SECONDS] [--timeout SECONDS] [--seed N]\n"
		"  --conns N        concurrent connections (default 1000)\n"
		"  --size N         every message N bytes (1..%u)\n"
		"  --max-size N     random message sizes 1..N (default 65536)\n"
		"  --messages N     messages per connection (default 10)\n"
		"  --duration S     instead: keep sending for S seconds\n"
		"  --timeout S      give up (exit 1) after S seconds (default 60)\n", MAX_MSG);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "conns", required_argument, NULL, 'c' },
		{ "size", required_argument, NULL, 's' },
		{ "max-size", required_argument, NULL, 'm' },
		{ "messages", required_argument, NULL, 'n' },
		{ "duration", required_argument, NULL, 'd' },
		{ "timeout", required_argument, NULL, 't' },
		{ "seed", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct sockaddr_in addr = { .sin_family = AF_INET };
	const char *host = "127.0.0.1";
	double port = -1, v, start, deadline, t, elapsed;
	uint64_t seed = 1, s;
	struct epoll_event evs[256];
	struct rlimit rl;
	int opt;

	nconns = 1000;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'H':
			host = optarg;
			break;
		case 'p':
			if (parse_num(optarg, 65535, &port) < 0 || port < 1)
				goto bad;
			break;
		case 'c':
			if (parse_num(optarg, 1000000, &v) < 0 || v < 1)
				goto bad;
			nconns = (unsigned)v;
			break;
		case 's':
			if (parse_num(optarg, MAX_MSG, &v) < 0 || v < 1)
				goto bad;
			fixed_size = (unsigned)v;
			break;
		case 'm':
			if (parse_num(optarg, MAX_MSG, &v) < 0 || v < 1)
				goto bad;
			max_size = (unsigned)v;
			break;
		case 'n':
			if (parse_num(optarg, 1e12, &v) < 0)
				goto bad;
			messages = (unsigned long)v;
			break;
		case 'd':
			if (parse_num(optarg, 1e6, &duration) < 0 || duration <= 0)
				goto bad;
			break;
		case 't':
			if (parse_num(optarg, 1e6, &timeout_s) < 0 || timeout_s <= 0)
				goto bad;
			break;
		case 'S':
			if (parse_num(optarg, 1e18, &v) < 0)
				goto bad;
			seed = (uint64_t)v;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || port < 0 || inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
		fprintf(stderr, "echo_load: %s\n", optind != argc ? "unexpected argument" :
			port < 0 ? "--port is required" : "--host must be an IPv4 address");
		usage(stderr);
		return 2;
	}
	addr.sin_port = htons((uint16_t)port);

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < nconns + 16) {
		fprintf(stderr, "echo_load: %u connections need more descriptors than RLIMIT_NOFILE (%llu)\n", nconns,
			(unsigned long long)rl.rlim_cur);
		return 1;
	}
	pattern = malloc(2 * (size_t)PATTERN_LEN);
	conns = calloc(nconns, sizeof(*conns));
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!pattern || !conns || epfd < 0) {
		perror("echo_load");
		return 1;
	}
	s = seed;
	for (size_t i = 0; i < PATTERN_LEN; i += 8) {
		uint64_t w = splitmix(&s);

		memcpy(pattern + i, &w, PATTERN_LEN - i < 8 ? PATTERN_LEN - i : 8);
	}
	memcpy(pattern + PATTERN_LEN, pattern, PATTERN_LEN);

	start = now();
	deadline = start + timeout_s;
	for (unsigned i = 0; i < nconns; i++) {
		struct lconn *c = &conns[i];
		struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c };

		c->rng = seed * 0x100000001b3ULL + i;
		c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (c->fd < 0 || (connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 && errno != EINPROGRESS) ||
		    epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
			fprintf(stderr, "echo_load: connection %u: connect to %s:%u: %s\n", i, host, (unsigned)port,
				strerror(errno));
			return 1;
		}
	}

	while (nfinished < nconns) {
		int n;

		t = now();
		if (duration && !stop_sending && nconnected == nconns && t - start >= duration)
			stop_sending = true;
		if (t >= deadline)
			break;
		n = epoll_wait(epfd, evs, 256, (int)((deadline - t) * 1000) + 1 < 100 ?
			       (int)((deadline - t) * 1000) + 1 : 100);
		if (n < 0 && errno != EINTR) {
			perror("echo_load: epoll_wait");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			struct lconn *c = evs[i].data.ptr;
			int err = 0;
			socklen_t len = sizeof(err);

			if (c->state == CONNECTING) {
				if (!(evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
					continue;
				getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
				if (err) {
					fail(c, "connect: %s", strerror(err));
					continue;
				}
				c->state = WAITING;
				/* Traffic starts when every connection is up. */
				if (++nconnected == nconns) {
					if (duration)
						start = now();
					for (unsigned k = 0; k < nconns; k++)
						if (conns[k].state == WAITING) {
							conns[k].state = RUNNING;
							next_message(&conns[k]);
							progress(&conns[k]);
						}
				}
				continue;
			}
			progress(c);
		}
	}
	elapsed = now() - start;

	unsigned long long msgs = 0;
	for (unsigned i = 0; i < nconns; i++)
		msgs += conns[i].msgs;
	printf("echo_load: %u connections, %llu messages, %llu bytes echoed and checked in %.2f s: "
	       "%.0f msg/s, %.1f MiB/s each way, %u failed\n", nconns, msgs, bytes, elapsed,
	       elapsed > 0 ? (double)msgs / elapsed : 0, elapsed > 0 ? (double)bytes / elapsed / 1048576 : 0,
	       nfailed);
	if (nfinished < nconns) {
		unsigned st[FAILED + 1] = { 0 };

		for (unsigned i = 0; i < nconns; i++)
			st[conns[i].state]++;
		fprintf(stderr, "echo_load: timed out after %.0f s: %u connecting, %u waiting, %u running, "
			"%u waiting for the server to close\n", timeout_s, st[CONNECTING], st[WAITING], st[RUNNING],
			st[SHUTTING]);
		return 1;
	}
	free(conns);
	free(pattern);
	close(epfd);
	return nfailed ? 1 : 0;

bad:
	for (const struct option *o = opts; o->name; o++)
		if (o->val == opt)
			fprintf(stderr, "echo_load: bad value '%s' for --%s\n", optarg, o->name);
	usage(stderr);
	return 2;
}
