/* SPDX-License-Identifier: MIT */
/*
 * What the two sides of the paths workload share (bench/ops_sr.c, the
 * checked API and the _raw variants; bench/ops_liburing.c, raw liburing):
 * the paths, their files and sockets, the setup-flag ladder, the op loop
 * and the result line.  Everything here runs identically on both sides,
 * so the difference of two programs is the difference of their ring code.
 *
 *   read    64-byte reads from a page-cached file into owned buffers
 *   write   64-byte writes from owned buffers to a page-cached file
 *   pool    4 KiB reads into a pool buffer taken per op and put back after
 *   fixed   64-byte reads into registered (fixed) buffers
 *   recv    64-byte datagrams from a multishot recv on a buffer group,
 *           each buffer recycled after use
 *   send    64-byte sends on a stream socket (the peer drains them)
 *   accept  connections from a multishot accept (the fd closed after use)
 *   cb      the read path, each completion delivered to a callback
 *
 * A round queues BATCH ops (or makes BATCH events for the multishot
 * paths: datagrams, connections), then consumes BATCH completions,
 * checking each result (and, for reads, the first byte read) on the way.
 *
 * OPS_SETTLE=1 in the environment (bench/gates.py sets it for the write
 * path at batches over 1): the checked API and its baseline submit each batch and wait, with
 * one io_uring_enter of their own outside either library, until all of it
 * has completed before they consume it.  Buffered writes complete on
 * io-wq, so otherwise how often a wait finds nothing yet, and with it the
 * count of instructions and enters, follows the worker's timing.
 */
#ifndef SR_BENCH_OPS_H
#define SR_BENCH_OPS_H

#include <fcntl.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>
#include <liburing.h>
#include "bench.h"

#define OPS_MSG		64	/* bytes per read, write, send and datagram */
#define OPS_PAGE	4096	/* bytes per pool buffer */
#define OPS_MAX_BATCH	256
#define OPS_ENTRIES	256	/* SQ entries, on both sides (sr_ring_create's default) */

enum ops_path { P_READ, P_WRITE, P_POOL, P_FIXED, P_RECV, P_SEND, P_ACCEPT, P_CB, P_NPATHS };

static const char *const ops_path_names[P_NPATHS] = {
	"read", "write", "pool", "fixed", "recv", "send", "accept", "cb",
};

struct ops_args {
	enum ops_path path;
	const char *mode;
	unsigned batch;
	unsigned long long ops, warmup;
	bool settle;		/* OPS_SETTLE: wait for each whole batch before consuming it */
};

/*
 * The setup flags safer-ring's ladder (spec/ring.yaml, setup_ladder) tries
 * in turn, best first: a liburing baseline walks the same rungs so that it
 * gets what sr_ring_create gets on the same kernel.  bench/gates.py checks
 * that both sides print the same setup_flags.
 */
static const unsigned ops_ladder[] = {
	IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
	IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
	0,
};

static inline void ops_queue_init(struct io_uring *ring, unsigned entries, const char *who)
{
	int ret = -EINVAL;

	for (size_t i = 0; i < sizeof(ops_ladder) / sizeof(ops_ladder[0]) && ret == -EINVAL; i++) {
		struct io_uring_params p;

		memset(&p, 0, sizeof(p));
		p.flags = ops_ladder[i];
		ret = io_uring_queue_init_params(entries, ring, &p);
	}
	if (ret < 0)
		bench_die("%s: io_uring_queue_init_params: %s", who, strerror(-ret));
}

static inline void ops_parse(int argc, char **argv, const char *usage, struct ops_args *a)
{
	unsigned i;

	if (argc < 5)
		bench_die("usage: %s", usage);
	for (i = 0; i < P_NPATHS && strcmp(argv[1], ops_path_names[i]); i++)
		;
	if (i == P_NPATHS)
		bench_die("unknown path %s; usage: %s", argv[1], usage);
	a->path = (enum ops_path)i;
	a->mode = argv[2];
	a->batch = (unsigned)bench_num("BATCH", argv[3]);
	a->ops = bench_num("OPS", argv[4]);
	a->warmup = argc > 5 ? bench_num("WARMUP", argv[5]) : a->ops / 10;
	if (!a->batch || a->batch > OPS_MAX_BATCH || a->ops % a->batch || a->warmup % a->batch)
		bench_die("BATCH must be 1..%d and divide OPS and WARMUP", OPS_MAX_BATCH);
	a->settle = getenv("OPS_SETTLE") && !strcmp(getenv("OPS_SETTLE"), "1");
}

/*
 * OPS_SETTLE: wait until n more completions than the CQ head the kernel was
 * last told about are posted (the caller has handed its head back, and n
 * ops are in flight).
 */
static inline void ops_settle(int ring_fd, unsigned n)
{
	long ret;

	do
		ret = syscall(__NR_io_uring_enter, ring_fd, 0, n, IORING_ENTER_GETEVENTS, NULL, 0);
	while (ret < 0 && errno == EINTR);
	if (ret < 0)
		bench_die("io_uring_enter (OPS_SETTLE): %s", strerror(errno));
}

/* The byte at offset off of every file the paths read. */
static inline unsigned char ops_pattern(uint64_t off)
{
	return (unsigned char)(off * 131 + (off >> 9) + 7);
}

/* An unlinked file of size pattern bytes in $TMPDIR (default /tmp), in the page cache. */
static inline int ops_file(size_t size)
{
	const char *dir = getenv("TMPDIR");
	unsigned char chunk[4096];
	char path[4096];
	size_t done;
	int fd;

	snprintf(path, sizeof(path), "%s/sr-bench-ops-XXXXXX", dir && *dir ? dir : "/tmp");
	fd = mkstemp(path);
	if (fd < 0)
		bench_die("mkstemp %s: %s", path, strerror(errno));
	unlink(path);
	for (done = 0; done < size; done += sizeof(chunk)) {
		for (size_t i = 0; i < sizeof(chunk); i++)
			chunk[i] = ops_pattern(done + i);
		if (write(fd, chunk, sizeof(chunk)) != (ssize_t)sizeof(chunk))
			bench_die("writing %s: %s", path, strerror(errno));
	}
	return fd;
}

static inline void ops_socketpair(int type, int sv[2])
{
	if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) < 0)
		bench_die("socketpair: %s", strerror(errno));
}

/* n datagrams of OPS_MSG bytes, the first byte of each the next of *seq. */
static inline void ops_send_msgs(int fd, unsigned n, unsigned *seq)
{
	unsigned char msg[OPS_MSG];

	memset(msg, 0x5a, sizeof(msg));
	for (unsigned i = 0; i < n; i++) {
		msg[0] = (unsigned char)(*seq)++;
		if (send(fd, msg, sizeof(msg), 0) != (ssize_t)sizeof(msg))
			bench_die("send to the recv path's socket: %s", strerror(errno));
	}
}

/* Read exactly n bytes (what the send path sent). */
static inline void ops_drain(int fd, size_t n)
{
	static char sink[OPS_MAX_BATCH * OPS_MSG];

	while (n) {
		ssize_t got = read(fd, sink, n < sizeof(sink) ? n : sizeof(sink));

		if (got <= 0)
			bench_die("draining the send path's socket: %s", got ? strerror(errno) : "EOF");
		n -= (size_t)got;
	}
}

/* A listening AF_UNIX stream socket with an abstract name of this process's own. */
static inline int ops_listener(struct sockaddr_un *a, socklen_t *len)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	/* a->sun_path[0] stays 0: an abstract address. */
	snprintf(a->sun_path + 1, sizeof(a->sun_path) - 1, "sr-bench-ops-%d", (int)getpid());
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(a->sun_path + 1));
	if (fd < 0 || bind(fd, (struct sockaddr *)a, *len) < 0 || listen(fd, 4096) < 0)
		bench_die("listening socket: %s", strerror(errno));
	return fd;
}

static inline void ops_connect(const struct sockaddr_un *a, socklen_t len, int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		fds[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fds[i] < 0 || connect(fds[i], (const struct sockaddr *)a, len) < 0)
			bench_die("connect: %s", strerror(errno));
	}
}

static inline void ops_close(int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		close(fds[i]);
}

/* Warm up, then time the rounds; print the result line. */
static inline void ops_loop(const struct ops_args *a, const char *prog, unsigned setup_flags,
			    uint64_t setup_ns, void (*round)(void *), void *ctx)
{
	unsigned long long done;
	uint64_t t0, t1, c0, c1;

	for (done = 0; done < a->warmup; done += a->batch)
		round(ctx);
	c0 = bench_cpu_ns();
	t0 = bench_now_ns();
	for (done = 0; done < a->ops; done += a->batch)
		round(ctx);
	t1 = bench_now_ns();
	c1 = bench_cpu_ns();
	printf("ops path=%s prog=%s batch=%u ops=%llu setup_flags=0x%x setup_ns=%llu ns=%llu "
	       "ns_per_op=%.3f cpu_ns_per_op=%.3f\n",
	       ops_path_names[a->path], prog, a->batch, a->ops, setup_flags,
	       (unsigned long long)setup_ns, (unsigned long long)(t1 - t0),
	       (double)(t1 - t0) / (double)a->ops, (double)(c1 - c0) / (double)a->ops);
}

#endif
