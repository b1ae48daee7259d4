/* SPDX-License-Identifier: MIT */
/*
 * file_copy: copy one file through the ring, several chunks in flight.
 *
 *   file_copy [--splice] [--registered] [--sync] [--bufsize N] [--depth N] SRC DST
 *
 * The copy runs on --depth slots.  A slot takes the next chunk of the
 * source, fills itself from the source, drains into the destination at
 * the same offset, and takes the next chunk, so reads and writes of
 * different chunks overlap.  A short read or write carries on from where
 * it stopped.  Three ways to move the bytes:
 *
 *   (default)     read and write through owned buffers, one per slot
 *   --registered  the same buffers registered with the ring (read_fixed,
 *                 write_fixed): the kernel maps them once, not per op
 *   --splice      splice source -> pipe -> destination, a pipe per slot:
 *                 the data never passes through user space
 *
 * Holes in a sparse source are found with SEEK_DATA/SEEK_HOLE and stay
 * holes.  A source that is not a regular file (a pipe, a terminal) is read
 * in order, one read at a time, and written behind as it arrives.
 *
 * The copy goes to a temporary file next to DST that is renamed over DST
 * only when complete (fsynced first with --sync), so DST is never partial;
 * on any error or on SIGINT/SIGTERM the temporary file is removed.  On a
 * terminal, progress goes to stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <safer-ring.h>

enum mode { MODE_RW, MODE_FIXED, MODE_SPLICE };
static const char *const mode_name[] = { "read/write", "registered buffers", "splice" };

struct copy;

struct slot {
	struct copy *cp;
	struct sr_buf *buf;	/* MODE_RW, MODE_FIXED */
	int pipe[2];		/* MODE_SPLICE */
	uint64_t off;		/* where the bytes in hand go, and the next read of the chunk */
	uint64_t want;		/* bytes of the chunk not read yet */
	uint64_t have;		/* bytes in the buffer or the pipe, to be written at off */
	bool busy;		/* an op is in flight */
};

struct copy {
	struct sr_ring *ring;
	enum mode mode;
	int src, dst;
	bool stream;		/* the source is not a regular file */
	size_t chunk;		/* bytes a slot moves at once */
	unsigned depth, busy;
	struct slot *slots;
	uint64_t size;		/* of a regular source, at the start */
	uint64_t pos;		/* regular: where the next chunk starts */
	uint64_t ext_end;	/* regular: end of the data extent pos is in */
	uint64_t eof;		/* where a read found the end (a source that shrank) */
	uint64_t stream_pos;	/* stream: bytes read so far */
	bool reading;		/* stream: the one read is in flight */
	bool stream_eof;
	uint64_t copied, skipped;	/* data bytes written, hole bytes left out */
	int error;		/* the first error, negative errno */
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

static void copy_fail(struct copy *cp, const char *what, int err)
{
	if (!cp->error) {
		if (err == -ESHUTDOWN || err == -ECANCELED || interrupted)
			err = -EINTR;	/* the ring is going away after a signal */
		else
			fprintf(stderr, "file_copy: %s: %s\n", what, strerror(-err));
		cp->error = err;
	}
}

/* The next chunk of a regular source, skipping holes: false when none is left. */
static bool next_chunk(struct copy *cp, uint64_t *off, uint64_t *len)
{
	uint64_t end = cp->eof < cp->size ? cp->eof : cp->size;

	while (cp->pos < end && cp->pos >= cp->ext_end) {
		off_t data = lseek(cp->src, (off_t)cp->pos, SEEK_DATA);
		off_t hole;

		if (data < 0 && errno == ENXIO) {	/* only a hole is left */
			cp->skipped += end - cp->pos;
			cp->pos = end;
			return false;
		}
		if (data < 0) {				/* no SEEK_DATA here: all data */
			cp->ext_end = end;
			break;
		}
		hole = lseek(cp->src, data, SEEK_HOLE);
		cp->skipped += (uint64_t)data - cp->pos;
		cp->pos = (uint64_t)data;
		cp->ext_end = hole < 0 ? end : (uint64_t)hole;
	}
	if (cp->pos >= end)
		return false;
	*off = cp->pos;
	*len = cp->ext_end - cp->pos < cp->chunk ? cp->ext_end - cp->pos : cp->chunk;
	if (cp->pos + *len > end)
		*len = end - cp->pos;
	cp->pos += *len;
	return true;
}

/* --- one slot: fill from the source, drain to the destination ------------------------- */

static void fill(struct slot *s);
static void drain(struct slot *s);

static void slot_next(struct slot *s)
{
	struct copy *cp = s->cp;

	if (cp->error || interrupted)
		return;
	if (cp->stream) {
		/* Streams are read in order, one read at a time. */
		if (cp->reading || cp->stream_eof)
			return;
		cp->reading = true;
		s->want = cp->chunk;
		fill(s);
	} else if (next_chunk(cp, &s->off, &s->want)) {
		fill(s);
	}
}

/* An idle slot takes over the stream's next read. */
static void stream_kick(struct copy *cp)
{
	for (unsigned i = 0; i < cp->depth; i++)
		if (!cp->slots[i].busy) {
			slot_next(&cp->slots[i]);
			return;
		}
}

static void on_fill(struct slot *s, int res)
{
	struct copy *cp = s->cp;

	s->busy = false;
	cp->busy--;
	if (res < 0) {
		copy_fail(cp, "reading the source", res);
		return;
	}
	if (cp->error || interrupted)
		return;
	if (cp->stream) {
		cp->reading = false;
		if (res == 0) {
			cp->stream_eof = true;
			return;
		}
		s->off = cp->stream_pos;
		cp->stream_pos += (uint64_t)res;
		s->have = (uint64_t)res;
		s->want = 0;
		drain(s);
		stream_kick(cp);	/* the next read overlaps this write */
		return;
	}
	if (res == 0) {
		/* The source ended early: it shrank since we looked at its size. */
		if (s->off < cp->eof)
			cp->eof = s->off;
		slot_next(s);
		return;
	}
	/* A read fills the whole buffer; only the chunk's bytes count. */
	s->have = (uint64_t)res < s->want ? (uint64_t)res : s->want;
	s->want -= s->have;
	drain(s);
}

static void on_drain(struct slot *s, int res)
{
	struct copy *cp = s->cp;

	s->busy = false;
	cp->busy--;
	if (res <= 0) {
		copy_fail(cp, "writing the copy", res < 0 ? res : -EIO);
		return;
	}
	if (cp->error || interrupted)
		return;
	cp->copied += (uint64_t)res;
	s->off += (uint64_t)res;
	s->have -= (uint64_t)res;
	if (s->have) {
		/* A short write: the rest goes next.  A pipe keeps it by itself;
		 * a buffer moves it to the front. */
		if (cp->mode != MODE_SPLICE) {
			char *p = sr_buf_data(s->buf);

			memmove(p, p + res, s->have);
		}
		drain(s);
	} else if (s->want) {
		fill(s);		/* the rest of a chunk a short read left */
	} else {
		slot_next(s);
	}
}

/* Completion callbacks: one per op type, all into on_fill / on_drain. */
static void read_done(struct sr_ring *r, struct sr_read_completed *c, void *arg)
{
	on_fill(arg, c->res);
}

static void read_fixed_done(struct sr_ring *r, struct sr_read_fixed_completed *c, void *arg)
{
	on_fill(arg, c->res);
}

static void splice_in_done(struct sr_ring *r, struct sr_splice_completed *c, void *arg)
{
	on_fill(arg, c->res);
}

static void write_done(struct sr_ring *r, struct sr_write_completed *c, void *arg)
{
	on_drain(arg, c->res);
}

static void write_fixed_done(struct sr_ring *r, struct sr_write_fixed_completed *c, void *arg)
{
	on_drain(arg, c->res);
}

static void splice_out_done(struct sr_ring *r, struct sr_splice_completed *c, void *arg)
{
	on_drain(arg, c->res);
}

static void submitted(struct slot *s, int ret)
{
	if (ret < 0) {
		/* The library's message names the op and what to do. */
		if (!s->cp->error && !interrupted)
			fprintf(stderr, "file_copy: %s\n", sr_last_error());
		if (!s->cp->error)
			s->cp->error = ret;
		return;
	}
	s->busy = true;
	s->cp->busy++;
}

static void fill(struct slot *s)
{
	struct copy *cp = s->cp;
	__u64 off = cp->stream ? (__u64)-1 : s->off;	/* -1: the file position */
	int ret;

	if (cp->mode == MODE_RW) {
		struct sr_read_op op = sr_read(cp->src, s->buf, off);

		ret = sr_submit_cb(cp->ring, &op, read_done, s, NULL);
	} else if (cp->mode == MODE_FIXED) {
		struct sr_read_fixed_op op = sr_read_fixed(cp->src, s->buf, off);

		ret = sr_submit_cb(cp->ring, &op, read_fixed_done, s, NULL);
	} else {
		struct sr_splice_op op = sr_splice(cp->src, cp->stream ? -1 : (int64_t)s->off, s->pipe[1], -1,
						   (unsigned)s->want);

		ret = sr_submit_cb(cp->ring, &op, splice_in_done, s, NULL);
	}
	submitted(s, ret);
}

static void drain(struct slot *s)
{
	struct copy *cp = s->cp;
	int ret;

	if (cp->mode == MODE_RW) {
		struct sr_write_op op;

		sr_buf_set_len(s->buf, s->have);	/* the bytes the write sends */
		op = sr_write(cp->dst, s->buf, s->off);
		ret = sr_submit_cb(cp->ring, &op, write_done, s, NULL);
	} else if (cp->mode == MODE_FIXED) {
		struct sr_write_fixed_op op;

		sr_buf_set_len(s->buf, s->have);
		op = sr_write_fixed(cp->dst, s->buf, s->off);
		ret = sr_submit_cb(cp->ring, &op, write_fixed_done, s, NULL);
	} else {
		struct sr_splice_op op = sr_splice(s->pipe[0], -1, cp->dst, (int64_t)s->off, (unsigned)s->have);

		ret = sr_submit_cb(cp->ring, &op, splice_out_done, s, NULL);
	}
	submitted(s, ret);
}

/* --- progress on a terminal --------------------------------------------------------------- */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *human(double v, char *buf, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	unsigned u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
	return buf;
}

static void progress(const struct copy *cp, double start, bool final)
{
	double t = now() - start;
	char a[32], b[32], c[32];

	if (final && cp->skipped) {
		fprintf(stderr, "\rfile_copy: copied %s, %s of it holes, in %.2f s (%s)\033[K\n",
			human((double)(cp->copied + cp->skipped), a, sizeof(a)),
			human((double)cp->skipped, b, sizeof(b)), t, mode_name[cp->mode]);
	} else if (final) {
		fprintf(stderr, "\rfile_copy: copied %s in %.2f s, %s/s (%s)\033[K\n",
			human((double)cp->copied, a, sizeof(a)), t,
			human(t > 0 ? (double)cp->copied / t : 0, b, sizeof(b)), mode_name[cp->mode]);
	} else if (cp->stream) {
		fprintf(stderr, "\rfile_copy: %s, %s/s\033[K", human((double)cp->copied, a, sizeof(a)),
			human(t > 0 ? (double)cp->copied / t : 0, c, sizeof(c)));
	} else {
		fprintf(stderr, "\rfile_copy: %s of %s (%.0f%%), %s/s\033[K",
			human((double)(cp->copied + cp->skipped), a, sizeof(a)), human((double)cp->size, b, sizeof(b)),
			cp->size ? 100.0 * (double)(cp->copied + cp->skipped) / (double)cp->size : 100.0,
			human(t > 0 ? (double)cp->copied / t : 0, c, sizeof(c)));
	}
}

/* --- setup and the end of the copy ----------------------------------------------------------- */

static int make_slots(struct copy *cp)
{
	struct sr_buf **bufs = calloc(cp->depth, sizeof(*bufs));
	int ret = -1;

	cp->slots = calloc(cp->depth, sizeof(*cp->slots));
	if (!cp->slots || !bufs) {
		fprintf(stderr, "file_copy: out of memory\n");
		goto out;
	}
	for (unsigned i = 0; i < cp->depth; i++) {
		struct slot *s = &cp->slots[i];
		int cap;

		s->cp = cp;
		s->pipe[0] = s->pipe[1] = -1;
		if (cp->mode != MODE_SPLICE) {
			bufs[i] = s->buf = sr_buf_alloc(cp->chunk);
			if (!s->buf) {
				fprintf(stderr, "file_copy: %s\n", sr_last_error());
				goto out;
			}
			continue;
		}
		if (pipe2(s->pipe, O_CLOEXEC) < 0) {
			fprintf(stderr, "file_copy: pipe: %s\n", strerror(errno));
			goto out;
		}
		/* A pipe holds 64 KiB unless asked for more, and an unprivileged
		 * user may get less than asked: chunks fit what we got. */
		fcntl(s->pipe[1], F_SETPIPE_SZ, (int)(cp->chunk < INT_MAX ? cp->chunk : INT_MAX));
		cap = fcntl(s->pipe[1], F_GETPIPE_SZ);
		if (cap > 0 && (size_t)cap < cp->chunk)
			cp->chunk = (size_t)cap;
	}
	if (cp->mode == MODE_FIXED && sr_ring_register_buffers(cp->ring, bufs, cp->depth) < 0) {
		fprintf(stderr, "file_copy: %s\n", sr_last_error());
		goto out;
	}
	ret = 0;
out:
	free(bufs);
	return ret;
}

static void free_slots(struct copy *cp)
{
	for (unsigned i = 0; cp->slots && i < cp->depth; i++) {
		sr_buf_free(cp->slots[i].buf);
		if (cp->slots[i].pipe[0] >= 0) {
			close(cp->slots[i].pipe[0]);
			close(cp->slots[i].pipe[1]);
		}
	}
	free(cp->slots);
}

/* fsync through the ring, waiting for it: the synchronous style of the API. */
static int ring_fsync(struct sr_ring *ring, int fd)
{
	struct sr_fsync_op op = sr_fsync(fd);
	struct sr_fsync_submitted sub;
	struct sr_fsync_completed done;
	int ret = sr_submit(ring, &op, &sub);

	if (ret == 0)
		ret = sr_wait(ring, &sub, &done);
	if (ret < 0) {
		fprintf(stderr, "file_copy: %s\n", sr_last_error());
		return ret;
	}
	if (done.res < 0)
		fprintf(stderr, "file_copy: fsync: %s\n", strerror(-done.res));
	return done.res;
}

static int parse_size(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -1;
	if (*end == 'K' || *end == 'k')
		v <<= 10, end++;
	else if (*end == 'M' || *end == 'm')
		v <<= 20, end++;
	if (*end || v < 1 || v > max)
		return -1;
	*out = v;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: file_copy [--splice] [--registered] [--sync] [--bufsize N] [--depth N] SRC DST\n"
		"  --splice      move the data with splice through pipes, never through user space\n"
		"  --registered  read and write through buffers registered with the ring\n"
		"  --sync        fsync the copy before renaming it into place, and its directory after\n"
		"  --bufsize N   bytes per chunk, e.g. 4096, 128K, 1M (default 128K)\n"
		"  --depth N     chunks in flight, 1..256 (default 8)\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "splice", no_argument, NULL, 's' },
		{ "registered", no_argument, NULL, 'r' },
		{ "sync", no_argument, NULL, 'y' },
		{ "bufsize", required_argument, NULL, 'b' },
		{ "depth", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct copy cp = { .mode = MODE_RW, .src = -1, .dst = -1, .chunk = 128 << 10, .depth = 8,
			   .eof = UINT64_MAX };
	struct sr_ring_params params = { .entries = 256 };
	unsigned long long v;
	bool sync = false, tty = isatty(STDERR_FILENO);
	const char *src, *dst;
	char *tmp = NULL, *dircopy = NULL, *basecopy = NULL;
	const char *dir = ".";
	struct sigaction sa = { .sa_handler = on_signal };
	struct stat st, dst_st;
	double start, last = 0;
	mode_t mask;
	int opt, ret = 1;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
		case 'r':
			if (cp.mode != MODE_RW) {
				fprintf(stderr, "file_copy: --splice and --registered exclude each other\n");
				return 2;
			}
			cp.mode = opt == 's' ? MODE_SPLICE : MODE_FIXED;
			break;
		case 'y':
			sync = true;
			break;
		case 'b':
			if (parse_size(optarg, 1ULL << 30, &v) < 0)
				goto bad_arg;
			cp.chunk = (size_t)v;
			break;
		case 'd':
			if (parse_size(optarg, 256, &v) < 0)
				goto bad_arg;
			cp.depth = (unsigned)v;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "file_copy: %s\n", argc - optind < 2 ? "SRC and DST are required" : "too many arguments");
		usage(stderr);
		return 2;
	}
	src = argv[optind];
	dst = argv[optind + 1];

	cp.src = open(src, O_RDONLY | O_CLOEXEC);
	if (cp.src < 0 || fstat(cp.src, &st) < 0) {
		fprintf(stderr, "file_copy: cannot open %s: %s\n", src, strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		fprintf(stderr, "file_copy: %s is a directory\n", src);
		goto out;
	}
	cp.stream = !S_ISREG(st.st_mode);
	cp.size = cp.stream ? 0 : (uint64_t)st.st_size;
	mask = umask(0);
	umask(mask);

	/* From here on, a signal must not leave the temporary file behind. */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* Past RLIMIT_FSIZE, a write should fail (EFBIG), not kill us mid-copy. */
	signal(SIGXFSZ, SIG_IGN);

	if (stat(dst, &dst_st) == 0 && S_ISDIR(dst_st.st_mode)) {
		fprintf(stderr, "file_copy: %s is a directory; name the copy\n", dst);
		goto out;
	}
	/* The copy is made under a temporary name in DST's directory. */
	dircopy = strdup(dst);
	basecopy = strdup(dst);
	if (!dircopy || !basecopy || asprintf(&tmp, "%s/.%s.XXXXXX", (dir = dirname(dircopy)),
					      basename(basecopy)) < 0) {
		tmp = NULL;
		fprintf(stderr, "file_copy: out of memory\n");
		goto out;
	}
	cp.dst = mkostemp(tmp, O_CLOEXEC);
	if (cp.dst < 0) {
		fprintf(stderr, "file_copy: cannot create a temporary file in %s: %s\n", dir, strerror(errno));
		free(tmp);
		tmp = NULL;
		goto out;
	}

	/* Holes stay holes: the copy starts as one, the size of the source. */
	if (!cp.stream && ftruncate(cp.dst, (off_t)cp.size) < 0) {
		fprintf(stderr, "file_copy: cannot make the copy %llu bytes long: %s\n",
			(unsigned long long)cp.size, strerror(errno));
		goto out;
	}
	if (sr_ring_create(&cp.ring, &params) < 0) {
		fprintf(stderr, "file_copy: %s\n", sr_last_error());
		goto out;
	}
	if (make_slots(&cp) < 0)
		goto out;

	start = now();
	for (unsigned i = 0; i < cp.depth; i++)
		slot_next(&cp.slots[i]);
	while (cp.busy) {
		int n = sr_ring_run_once(cp.ring, 100);

		if (n < 0 && n != -EINTR) {
			fprintf(stderr, "file_copy: %s\n", sr_last_error());
			copy_fail(&cp, "waiting for completions", n);
			break;
		}
		if (interrupted)
			break;	/* sr_ring_destroy cancels and waits for what is in flight */
		if (tty && now() - last >= 0.1) {
			progress(&cp, start, false);
			last = now();
		}
	}
	if (interrupted) {
		fprintf(stderr, "%sfile_copy: interrupted; %s is unchanged\n", tty ? "\n" : "", dst);
		ret = 128 + interrupted;
		goto out;
	}
	if (cp.error)
		goto out;
	if (!cp.stream && cp.eof < cp.size) {
		fprintf(stderr, "file_copy: warning: %s shrank from %llu to %llu bytes during the copy\n", src,
			(unsigned long long)cp.size, (unsigned long long)cp.eof);
		if (ftruncate(cp.dst, (off_t)cp.eof) < 0) {
			fprintf(stderr, "file_copy: %s: %s\n", tmp, strerror(errno));
			goto out;
		}
	}
	if (fchmod(cp.dst, (S_ISREG(st.st_mode) ? st.st_mode & 07777 : 0666) & ~mask) < 0) {
		fprintf(stderr, "file_copy: chmod: %s\n", strerror(errno));
		goto out;
	}
	if (sync && ring_fsync(cp.ring, cp.dst) < 0)
		goto out;
	if (rename(tmp, dst) < 0) {
		fprintf(stderr, "file_copy: cannot rename the copy to %s: %s\n", dst, strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	if (sync) {
		/* The rename is durable once the directory is. */
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dfd < 0 || ring_fsync(cp.ring, dfd) < 0)
			fprintf(stderr, "file_copy: warning: could not fsync the directory of %s\n", dst);
		if (dfd >= 0)
			close(dfd);
	}
	if (tty)
		progress(&cp, start, true);
	ret = 0;
out:
	sr_ring_destroy(cp.ring);
	free_slots(&cp);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	free(dircopy);
	free(basecopy);
	if (cp.dst >= 0)
		close(cp.dst);
	if (cp.src >= 0)
		close(cp.src);
	return ret;

bad_arg:
	fprintf(stderr, "file_copy: bad value '%s' for --%s\n", optarg, opt == 'b' ? "bufsize" : "depth");
	usage(stderr);
	return 2;
}
