/* SPDX-License-Identifier: MIT */
/*
 * copy_liburing: the raw liburing baseline of the file copy workload.
 *
 *   copy_liburing [--sync] [--bs BYTES] [--qd N] SRC DST
 *
 * Copies SRC to DST (created or truncated) with QD buffers of BS bytes
 * (default 8 x 128 KiB) in flight: each buffer reads a chunk at its
 * offset, then writes it at the same offset, then takes the next chunk.
 * With --sync, an IORING_OP_FSYNC of DST ends the copy.  The ring is set up
 * as sr_ring_create sets up its own on this kernel (SINGLE_ISSUER |
 * DEFER_TASKRUN | TASKRUN_FLAG).  Prints one line:
 *   copy prog=liburing bytes=N setup_ns=S ns=T
 * where ns covers the copy (and fsync), not the ring setup.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <liburing.h>
#include "bench.h"

enum { IDLE, READING, WRITING };

struct chunk {
	char *buf;
	off_t off;		/* where this chunk starts in both files */
	unsigned len;		/* bytes of the chunk still to read */
	unsigned have;		/* bytes read into buf, being written */
	unsigned written;	/* of those, bytes written so far */
	int state;
};

static struct io_uring ring;
static int src_fd, dst_fd;

static struct io_uring_sqe *get_sqe(void)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

	if (!sqe)
		bench_die("copy_liburing: SQ full");
	return sqe;
}

static void queue_read(struct chunk *c)
{
	struct io_uring_sqe *sqe = get_sqe();

	io_uring_prep_read(sqe, src_fd, c->buf + c->have, c->len - c->have, c->off + c->have);
	io_uring_sqe_set_data(sqe, c);
	c->state = READING;
}

static void queue_write(struct chunk *c)
{
	struct io_uring_sqe *sqe = get_sqe();

	io_uring_prep_write(sqe, dst_fd, c->buf + c->written, c->have - c->written, c->off + c->written);
	io_uring_sqe_set_data(sqe, c);
	c->state = WRITING;
}

int main(int argc, char **argv)
{
	unsigned long long bs = 128 << 10, qd = 8;
	struct io_uring_params p;
	struct chunk *chunks;
	struct stat st;
	off_t next = 0, size;
	unsigned inflight = 0, i;
	bool do_sync = false;
	uint64_t t0, t1, t2;
	int ret, arg = 1;

	for (; arg < argc && argv[arg][0] == '-'; arg++) {
		if (!strcmp(argv[arg], "--sync"))
			do_sync = true;
		else if (!strcmp(argv[arg], "--bs") && arg + 1 < argc)
			bs = bench_num("--bs", argv[++arg]);
		else if (!strcmp(argv[arg], "--qd") && arg + 1 < argc)
			qd = bench_num("--qd", argv[++arg]);
		else
			bench_die("copy_liburing: unknown option %s", argv[arg]);
	}
	if (argc - arg != 2 || !bs || bs > (1 << 30) || !qd || qd > 256)
		bench_die("usage: copy_liburing [--sync] [--bs BYTES] [--qd 1..256] SRC DST");

	t0 = bench_now_ns();
	src_fd = open(argv[arg], O_RDONLY | O_CLOEXEC);
	if (src_fd < 0 || fstat(src_fd, &st) < 0)
		bench_die("copy_liburing: %s: %s", argv[arg], strerror(errno));
	dst_fd = open(argv[arg + 1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (dst_fd < 0)
		bench_die("copy_liburing: %s: %s", argv[arg + 1], strerror(errno));
	size = st.st_size;
	chunks = calloc(qd, sizeof(*chunks));
	for (i = 0; chunks && i < qd; i++)
		if (!(chunks[i].buf = aligned_alloc(4096, (bs + 4095) & ~4095ULL)))
			chunks = NULL;
	if (!chunks)
		bench_die("copy_liburing: out of memory");
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
	ret = io_uring_queue_init_params((unsigned)qd * 2, &ring, &p);
	if (ret < 0)
		bench_die("copy_liburing: io_uring_queue_init_params: %s", strerror(-ret));
	t1 = bench_now_ns();

	for (;;) {
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;

		/* Every idle buffer takes the next chunk. */
		for (i = 0; i < qd && next < size; i++) {
			struct chunk *c = &chunks[i];

			if (c->state != IDLE)
				continue;
			c->off = next;
			c->len = (unsigned)(size - next < (off_t)bs ? size - next : (off_t)bs);
			c->have = c->written = 0;
			next += c->len;
			queue_read(c);
			inflight++;
		}
		if (!inflight)
			break;
		ret = io_uring_submit_and_wait(&ring, 1);
		if (ret < 0 && ret != -EINTR)
			bench_die("copy_liburing: io_uring_submit_and_wait: %s", strerror(-ret));
		io_uring_for_each_cqe(&ring, head, cqe) {
			struct chunk *c = io_uring_cqe_get_data(cqe);

			seen++;
			if (cqe->res < 0)
				bench_die("copy_liburing: %s: %s", c->state == READING ? "read" : "write",
					  strerror(-cqe->res));
			if (c->state == READING) {
				if (cqe->res == 0)
					bench_die("copy_liburing: %s shrank while copying", argv[arg]);
				c->have += (unsigned)cqe->res;
				queue_write(c);
			} else {
				c->written += (unsigned)cqe->res;
				if (c->written < c->have) {
					queue_write(c);	/* short write: the rest */
				} else if (c->have < c->len) {
					queue_read(c);	/* short read: the rest */
				} else {
					c->state = IDLE;
					inflight--;
				}
			}
		}
		io_uring_cq_advance(&ring, seen);
	}
	if (do_sync) {
		struct io_uring_cqe *cqe;

		io_uring_prep_fsync(get_sqe(), dst_fd, 0);
		ret = io_uring_submit_and_wait(&ring, 1);
		if (ret >= 0)
			ret = io_uring_wait_cqe(&ring, &cqe);
		if (ret < 0 || cqe->res < 0)
			bench_die("copy_liburing: fsync: %s", strerror(ret < 0 ? -ret : -cqe->res));
		io_uring_cqe_seen(&ring, cqe);
	}
	t2 = bench_now_ns();

	printf("copy prog=liburing bytes=%lld setup_ns=%llu ns=%llu\n", (long long)size,
	       (unsigned long long)(t1 - t0), (unsigned long long)(t2 - t1));
	io_uring_queue_exit(&ring);
	close(dst_fd);
	close(src_fd);
	return 0;
}
