/* SPDX-License-Identifier: MIT */
/*
 * quickstart: the README's example.  Reads a file through the checked API
 * and shows what the ownership rules do: while the kernel holds the
 * buffer, the program cannot touch, free or reuse it.
 *
 *   quickstart [FILE]      (default: /etc/os-release)
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <safer-ring.h>

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/etc/os-release";
	struct sr_ring *ring;
	struct sr_buf *buf;
	int fd, ret;

	ret = sr_ring_create(&ring, NULL);
	if (ret < 0) {
		fprintf(stderr, "quickstart: %s\n", sr_last_error());
		return 1;
	}
	buf = sr_buf_alloc(4096);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (!buf || fd < 0) {
		perror(path);
		sr_ring_destroy(ring);
		return 1;
	}

	/* Building -> Submitted: the buffer is lent to the kernel. */
	struct sr_read_op op = sr_read(fd, buf, 0);
	struct sr_read_submitted sub;
	ret = sr_submit(ring, &op, &sub);
	if (ret < 0) {
		fprintf(stderr, "quickstart: %s\n", sr_last_error());
		return 1;
	}

	/* While it is lent, the API refuses to hand out the bytes or free it. */
	if (!sr_buf_data(buf))
		printf("while in flight: %s\n", sr_last_error());
	if (sr_buf_free(buf) < 0)
		printf("while in flight: %s\n", sr_last_error());

	/* Submitted -> Completed: the buffer comes back with the data. */
	struct sr_read_completed done;
	ret = sr_wait(ring, &sub, &done);
	if (ret < 0 || done.res < 0) {
		fprintf(stderr, "quickstart: read: %s\n", ret < 0 ? sr_last_error() : "failed");
		return 1;
	}
	printf("read %d bytes of %s on %s:\n%.*s", done.res, path, sr_ring_backend(ring),
	       (int)sr_buf_len(done.buf), (const char *)sr_buf_data(done.buf));

	close(fd);
	sr_buf_free(buf);
	sr_ring_destroy(ring);
	return 0;
}
