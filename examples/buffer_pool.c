/* SPDX-License-Identifier: MIT */
/*
 * buffer_pool: a buffer pool shared by two rings on two threads.
 *
 *	buffer_pool [--bufs N] [--bufsize N] [--registered] SRC DST
 *
 * A reader thread fills buffers taken from one pool (read, or read_fixed
 * when --registered registers the pool with its ring) and passes them
 * through a pipe to a writer thread, whose ring writes each one at its
 * offset and, being set to auto return, gives it back to the pool when the
 * write completes (or fails); the writer waits on its ring's eventfd and
 * the pipe together.  When every buffer is out, the reader waits
 * for one to come back: the pool's size bounds the memory in flight, and
 * no I/O allocates.  Prints what the pool did:
 *
 *	buffer_pool: 5000007 bytes in 39 buffers of 131072 (pool of 8, ran dry 12 times)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <safer-ring.h>

struct hand {
	struct sr_buf *buf;	/* NULL: the end (res says how it ended) */
	off_t off;
	int res;
};

struct copy {
	struct sr_pool *pool;
	int src, dst;
	int pipe[2];		/* reader -> writer: struct hand */
	bool registered;
	unsigned long long bytes, chunks, dry;
	pthread_mutex_t lock;	/* the first error: */
	int err;		/* negative errno */
	char why[256];
};

static void set_err(struct copy *c, int err, const char *what)
{
	pthread_mutex_lock(&c->lock);
	if (!c->err) {
		c->err = err;
		snprintf(c->why, sizeof(c->why), "%s (%s)", what, strerror(-err));
	}
	pthread_mutex_unlock(&c->lock);
}

static void hand_over(struct copy *c, struct sr_buf *b, off_t off, int res)
{
	struct hand h;

	memset(&h, 0, sizeof(h));	/* no uninitialised padding into the pipe */
	h.buf = b;
	h.off = off;
	h.res = res;
	if (write(c->pipe[1], &h, sizeof(h)) != sizeof(h))
		abort();	/* a pipe write of a few bytes cannot be short */
}

/* Read SRC chunk by chunk into pool buffers; hand each to the writer. */
static void *reader(void *arg)
{
	struct copy *c = arg;
	struct sr_ring *r;
	off_t off = 0;
	int ret;

	ret = sr_ring_create(&r, NULL);
	if (ret) {
		set_err(c, ret, sr_last_error());
		hand_over(c, NULL, 0, ret);
		return NULL;
	}
	if (c->registered && (ret = sr_ring_register_pool(r, c->pool))) {
		set_err(c, ret, sr_last_error());
		goto out;
	}
	for (;;) {
		struct sr_buf *b = sr_pool_take(c->pool);
		int res;

		if (!b) {
			/* Every buffer is out: wait for the writer to give one back. */
			c->dry++;
			while (!(b = sr_pool_take(c->pool)))
				usleep(200);
		}
		if (c->registered) {
			struct sr_read_fixed_op op = sr_read_fixed(c->src, b, (__u64)off);
			struct sr_read_fixed_submitted sub;
			struct sr_read_fixed_completed done;

			ret = sr_submit(r, &op, &sub);
			if (!ret)
				ret = sr_wait(r, &sub, &done);
			res = ret ? ret : done.res;
		} else {
			struct sr_read_op op = sr_read(c->src, b, (__u64)off);
			struct sr_read_submitted sub;
			struct sr_read_completed done;

			ret = sr_submit(r, &op, &sub);
			if (!ret)
				ret = sr_wait(r, &sub, &done);
			res = ret ? ret : done.res;
		}
		if (res <= 0) {
			sr_pool_put(b);
			if (res < 0)
				set_err(c, res, "reading SRC");
			ret = res;
			break;
		}
		hand_over(c, b, off, res);
		off += res;
	}
out:
	if (c->registered)
		sr_ring_unregister_buffers(r);
	sr_ring_destroy(r);
	hand_over(c, NULL, 0, ret);
	return NULL;
}

static void on_write(struct sr_ring *r, struct sr_write_completed *done, void *arg)
{
	struct copy *c = arg;

	(void)r;
	/* The buffer is back in the pool already (auto return). */
	if (done->res < 0)
		set_err(c, done->res, "writing DST");
}

/*
 * Write each buffer at its offset as it arrives; completions go to
 * on_write, and each buffer goes back to the pool as its write completes.
 * The ring's eventfd and the pipe are waited on together.
 */
static void *writer(void *arg)
{
	struct sr_ring_params p = { .flags = SR_RING_EVENTFD };
	struct copy *c = arg;
	struct pollfd pf[2];
	struct sr_ring *r;
	int ret;

	ret = sr_ring_create(&r, &p);
	if (ret)
		set_err(c, ret, sr_last_error());
	pf[0] = (struct pollfd){ .fd = c->pipe[0], .events = POLLIN };
	pf[1] = (struct pollfd){ .fd = ret ? -1 : sr_ring_eventfd(r), .events = POLLIN };
	for (;;) {
		struct hand h;

		if (poll(pf, 2, -1) < 0)
			continue;	/* EINTR */
		if (pf[1].revents & POLLIN) {
			uint64_t n;

			if (read(pf[1].fd, &n, sizeof(n)) < 0)
				(void)0;	/* reset; completions are reaped below anyway */
			sr_ring_poll(r);
		}
		if (!(pf[0].revents & (POLLIN | POLLHUP)))
			continue;
		if (read(c->pipe[0], &h, sizeof(h)) != sizeof(h) || !h.buf)
			break;
		if (ret) {
			sr_pool_put(h.buf);
			continue;
		}
		sr_buf_set_auto_return(h.buf, true);
		struct sr_write_op op = sr_write(c->dst, h.buf, (__u64)h.off);

		if (sr_submit_cb(r, &op, on_write, c, NULL)) {
			set_err(c, -EIO, sr_last_error());
			sr_buf_set_auto_return(h.buf, false);
			sr_pool_put(h.buf);
			continue;
		}
		sr_ring_submit(r);
		c->bytes += (unsigned long long)h.res;
		c->chunks++;
	}
	if (!ret) {
		sr_ring_run(r);		/* the writes still in flight */
		sr_ring_destroy(r);
	}
	return NULL;
}

static void usage(const char *why)
{
	fprintf(stderr, "buffer_pool: %s\nusage: buffer_pool [--bufs N] [--bufsize N] [--registered] SRC DST\n", why);
	exit(2);
}

static unsigned long number(const char *s, const char *what)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (!*s || *end || !v || v > (1UL << 30))
		usage(what);
	return v;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "bufs", required_argument, NULL, 'n' },
		{ "bufsize", required_argument, NULL, 's' },
		{ "registered", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	struct copy c = { .src = -1, .dst = -1, .lock = PTHREAD_MUTEX_INITIALIZER };
	unsigned long nbufs = 8, size = 128 * 1024;
	pthread_t rt, wt;
	size_t bufsize;
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o == 'n')
			nbufs = number(optarg, "--bufs wants a number of buffers, 1 or more");
		else if (o == 's')
			size = number(optarg, "--bufsize wants a size in bytes, 1 to 1 GiB");
		else if (o == 'r')
			c.registered = true;
		else
			usage("unknown option");
	}
	if (argc - optind != 2)
		usage("want SRC and DST");
	c.src = open(argv[optind], O_RDONLY | O_CLOEXEC);
	if (c.src < 0) {
		fprintf(stderr, "buffer_pool: %s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	c.dst = open(argv[optind + 1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (c.dst < 0) {
		fprintf(stderr, "buffer_pool: %s: %s\n", argv[optind + 1], strerror(errno));
		return 1;
	}
	c.pool = sr_pool_create((unsigned)nbufs, size, 0);
	if (!c.pool || pipe2(c.pipe, O_CLOEXEC)) {
		fprintf(stderr, "buffer_pool: %s\n", c.pool ? strerror(errno) : sr_last_error());
		return 1;
	}
	bufsize = sr_pool_buf_size(c.pool);	/* whole pages */
	pthread_create(&wt, NULL, writer, &c);
	pthread_create(&rt, NULL, reader, &c);
	pthread_join(rt, NULL);
	pthread_join(wt, NULL);
	/* Every buffer is back: the writes gave theirs back as they completed. */
	if (sr_pool_available(c.pool) != sr_pool_count(c.pool) && !c.err)
		set_err(&c, -EIO, "buffers missing from the pool");
	if (sr_pool_destroy(c.pool) && !c.err)
		set_err(&c, -EBUSY, sr_last_error());
	close(c.src);
	if (close(c.dst) && !c.err)
		set_err(&c, -errno, "closing DST");
	if (c.err) {
		fprintf(stderr, "buffer_pool: %s\n", c.why);
		return 1;
	}
	printf("buffer_pool: %llu bytes in %llu buffers of %zu (pool of %lu, ran dry %llu times)%s\n", c.bytes,
	       c.chunks, bufsize, nbufs, c.dry, c.registered ? ", registered" : "");
	return 0;
}
