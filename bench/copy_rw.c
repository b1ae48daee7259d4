/* SPDX-License-Identifier: MIT */
/*
 * copy_rw: the blocking baseline of the file copy workload.
 *
 *   copy_rw [--sync] [--bs BYTES] SRC DST
 *
 * Copies SRC to DST (created or truncated) with a read(2)/write(2) loop
 * over one buffer of BS bytes (default 128 KiB, as cat uses); with --sync,
 * an fsync(2) of DST ends the copy.  Prints one line:
 *   copy prog=rw bytes=N setup_ns=S ns=T
 */
#include <fcntl.h>
#include <unistd.h>
#include "bench.h"

int main(int argc, char **argv)
{
	unsigned long long bs = 128 << 10, total = 0;
	bool do_sync = false;
	uint64_t t0, t1, t2;
	int src, dst, arg = 1;
	char *buf;

	for (; arg < argc && argv[arg][0] == '-'; arg++) {
		if (!strcmp(argv[arg], "--sync"))
			do_sync = true;
		else if (!strcmp(argv[arg], "--bs") && arg + 1 < argc)
			bs = bench_num("--bs", argv[++arg]);
		else
			bench_die("copy_rw: unknown option %s", argv[arg]);
	}
	if (argc - arg != 2 || !bs || bs > (1 << 30))
		bench_die("usage: copy_rw [--sync] [--bs BYTES] SRC DST");

	t0 = bench_now_ns();
	src = open(argv[arg], O_RDONLY | O_CLOEXEC);
	if (src < 0)
		bench_die("copy_rw: %s: %s", argv[arg], strerror(errno));
	dst = open(argv[arg + 1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (dst < 0)
		bench_die("copy_rw: %s: %s", argv[arg + 1], strerror(errno));
	buf = aligned_alloc(4096, (bs + 4095) & ~4095ULL);
	if (!buf)
		bench_die("copy_rw: out of memory");
	t1 = bench_now_ns();

	for (;;) {
		ssize_t n = read(src, buf, bs), done = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			bench_die("copy_rw: read: %s", strerror(errno));
		if (n == 0)
			break;
		while (done < n) {
			ssize_t w = write(dst, buf + done, (size_t)(n - done));

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				bench_die("copy_rw: write: %s", strerror(errno));
			done += w;
		}
		total += (unsigned long long)n;
	}
	if (do_sync && fsync(dst) < 0)
		bench_die("copy_rw: fsync: %s", strerror(errno));
	t2 = bench_now_ns();

	printf("copy prog=rw bytes=%llu setup_ns=%llu ns=%llu\n", total,
	       (unsigned long long)(t1 - t0), (unsigned long long)(t2 - t1));
	close(dst);
	close(src);
	return 0;
}
