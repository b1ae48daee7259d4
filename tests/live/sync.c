/* SPDX-License-Identifier: MIT */
/*
 * Live round trips: syncing, sizing and advice.  fsync and
 * sync_file_range are proved by the page cache going from dirty to clean
 * (/proc/kpageflags, root only), fadvise by pages leaving the page cache
 * (mincore), madvise by MADV_DONTNEED zeroing anonymous pages.  Where the
 * page cache cannot show it (tmpfs, no root), the kernel's own error for
 * a pipe still shows the request reached the real syscall.
 */
#include "live.h"

#include <sys/mman.h>

#define PG ((size_t)sysconf(_SC_PAGESIZE))

/*
 * A file of npages pages, each written by its own pwrite(2): one write
 * per page keeps each page in its own folio, so advice about part of the
 * file can take effect on just that part (a large folio is all or none).
 */
static int paged_file(struct live *t, const char *name, unsigned npages)
{
	int fd = live_file(t, name, NULL, 0);
	char *page = malloc(PG);
	unsigned i;

	for (i = 0; fd >= 0 && page && i < npages; i++) {
		memset(page, 'a' + (int)i, PG);
		if (pwrite(fd, page, PG, (off_t)(i * PG)) != (ssize_t)PG)
			break;
	}
	free(page);
	return i == npages ? fd : -1;
}

int live_fsync(struct live *t)
{
	int fd = paged_file(t, "f", 1), p[2], dirty;
	struct sr_fsync_submitted sub;
	struct sr_fsync_completed c;
	struct sr_fsync_op op;

	LIVE_CHECK(t, fd >= 0 && lh_pipe(t, p) == 0);
	dirty = lh_page_dirty(fd, 0);
	LIVE_CHECK(t, dirty != 0);	/* just written: dirty, or we cannot tell */
	op = sr_fsync(fd);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 0);
	if (dirty > 0)
		LIVE_EQ(t, lh_page_dirty(fd, 0), 0);

	/* fdatasync: dirty the page again, sync with IORING_FSYNC_DATASYNC. */
	LIVE_EQ(t, pwrite(fd, "z", 1, 0), 1);
	if (dirty > 0)
		LIVE_EQ(t, lh_page_dirty(fd, 0), 1);
	op = sr_fsync(fd);
	sr_fsync_set_fsync_flags(&op, SR_IORING_FSYNC_DATASYNC);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 0);
	if (dirty > 0)
		LIVE_EQ(t, lh_page_dirty(fd, 0), 0);

	/* A pipe has no fsync: only a real fsync call reports -EINVAL. */
	op = sr_fsync(p[1]);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, -EINVAL);
	return LIVE_PASS;
}

int live_sync_file_range(struct live *t)
{
	int fd = paged_file(t, "f", 2), p[2], dirty;
	struct sr_sync_file_range_submitted sub;
	struct sr_sync_file_range_completed c;
	struct sr_sync_file_range_op op;

	LIVE_CHECK(t, fd >= 0 && lh_pipe(t, p) == 0);
	dirty = lh_page_dirty(fd, 0);
	LIVE_CHECK(t, dirty != 0);
	/* Only the first page: the second must stay dirty. */
	op = sr_sync_file_range(fd, PG, 0);
	sr_sync_file_range_set_flags(&op, SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
				     SYNC_FILE_RANGE_WAIT_AFTER);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 0);
	if (dirty > 0) {
		LIVE_EQ(t, lh_page_dirty(fd, 0), 0);
		LIVE_EQ(t, lh_page_dirty(fd, PG), 1);
	}

	/* sync_file_range(2) on a pipe is -ESPIPE. */
	op = sr_sync_file_range(p[1], PG, 0);
	sr_sync_file_range_set_flags(&op, SYNC_FILE_RANGE_WRITE);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, -ESPIPE);
	return LIVE_PASS;
}

int live_fallocate(struct live *t)
{
	int fd = live_file(t, "f", NULL, 0);
	struct sr_fallocate_submitted sub;
	struct sr_fallocate_completed c;
	struct sr_fallocate_op op;
	struct stat st;

	LIVE_CHECK(t, fd >= 0);
	op = sr_fallocate(fd, 0, 0, 1 << 20);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 0);
	LIVE_EQ(t, fstat(fd, &st), 0);
	LIVE_EQ(t, st.st_size, 1 << 20);
	LIVE_CHECK(t, st.st_blocks * 512 >= 1 << 20);

	/* KEEP_SIZE past the end: blocks, but no change of size. */
	op = sr_fallocate(fd, FALLOC_FL_KEEP_SIZE, 1 << 20, 1 << 20);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 0);
	LIVE_EQ(t, fstat(fd, &st), 0);
	LIVE_EQ(t, st.st_size, 1 << 20);
	LIVE_CHECK(t, st.st_blocks * 512 >= 2 << 20);
	return LIVE_PASS;
}

int live_ftruncate(struct live *t)
{
	int fd = live_file(t, "f", "hello, ring world", 17);
	struct sr_ftruncate_submitted sub;
	struct sr_ftruncate_completed c;
	struct sr_ftruncate_op op;
	struct stat st;
	char back[32];

	LIVE_CHECK(t, fd >= 0);
	op = sr_ftruncate(fd, 5);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 0);
	LIVE_EQ(t, fstat(fd, &st), 0);
	LIVE_EQ(t, st.st_size, 5);
	LIVE_EQ(t, pread(fd, back, sizeof(back), 0), 5);
	LIVE_CHECK(t, memcmp(back, "hello", 5) == 0);

	/* Growing needs the full 64-bit length: 5 GiB (sparse). */
	op = sr_ftruncate(fd, 5LL << 30);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 0);
	LIVE_EQ(t, fstat(fd, &st), 0);
	LIVE_EQ(t, st.st_size, 5LL << 30);
	return LIVE_PASS;
}

int live_fadvise(struct live *t)
{
	int fd = paged_file(t, "f", 4), p[2];
	struct sr_fadvise_submitted sub;
	struct sr_fadvise_completed c;
	struct sr_fadvise_op op;
	bool seen;

	LIVE_CHECK(t, fd >= 0 && lh_pipe(t, p) == 0);
	LIVE_EQ(t, fsync(fd), 0);	/* clean pages can be dropped */
	seen = lh_writeback(fd);	/* tmpfs ignores DONTNEED */
	if (seen)
		LIVE_EQ(t, lh_resident(fd, 4), 4);
	/* The first two pages only. */
	op = sr_fadvise(fd, 0, 2 * PG, POSIX_FADV_DONTNEED);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 0);
	if (seen)
		LIVE_EQ(t, lh_resident(fd, 4), 2);
	/* posix_fadvise(2) on a pipe is -ESPIPE: a real fadvise call says so. */
	op = sr_fadvise(p[0], 0, PG, POSIX_FADV_DONTNEED);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, -ESPIPE);
	return LIVE_PASS;
}

int live_fadvise64(struct live *t)
{
	int fd = paged_file(t, "f", 3), p[2];
	struct sr_fadvise64_submitted sub;
	struct sr_fadvise64_completed c;
	struct sr_fadvise64_op op;
	bool seen;

	LIVE_CHECK(t, fd >= 0 && lh_pipe(t, p) == 0);
	LIVE_EQ(t, fsync(fd), 0);
	seen = lh_writeback(fd);
	if (seen)
		LIVE_EQ(t, lh_resident(fd, 3), 3);
	/* 4 GiB + 1 page: cut to 32 bits it would be one page, and drop one. */
	op = sr_fadvise64(fd, 0, (1LL << 32) + PG, POSIX_FADV_DONTNEED);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 0);
	if (seen)
		LIVE_EQ(t, lh_resident(fd, 3), 0);
	/* posix_fadvise(2) on a pipe is -ESPIPE: a real fadvise call says so. */
	op = sr_fadvise64(p[0], 0, PG, POSIX_FADV_DONTNEED);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, -ESPIPE);
	return LIVE_PASS;
}

static int madvise_body(struct live *t, unsigned char *m)
{
	struct sr_madvise_submitted sub;
	struct sr_madvise_completed c;
	struct sr_madvise_op op;

	memset(m, 0xaa, 3 * PG);
	/* The first two pages: they read back as zeros, the third keeps its bytes. */
	op = sr_madvise(m, 2 * PG, MADV_DONTNEED);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 0);
	LIVE_EQ(t, m[0], 0);
	LIVE_EQ(t, m[2 * PG - 1], 0);
	LIVE_EQ(t, m[2 * PG], 0xaa);
	return LIVE_PASS;
}

int live_madvise(struct live *t)
{
	unsigned char *m = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int ret;

	LIVE_CHECK(t, m != MAP_FAILED);
	ret = madvise_body(t, m);
	munmap(m, 3 * PG);
	return ret;
}

/* 4 GiB + 2 pages of address space; only two pages are ever touched. */
#define BIG ((1ULL << 32) + 2 * PG)

static int madvise64_body(struct live *t, unsigned char *m)
{
	struct sr_madvise64_submitted sub;
	struct sr_madvise64_completed c;
	struct sr_madvise64_op op;

	m[0] = 0xaa;
	m[BIG - 1] = 0xbb;
	/* Cut to 32 bits the length would be 2 pages and miss the last byte. */
	op = sr_madvise64(m, (off_t)BIG, MADV_DONTNEED);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 0);
	LIVE_EQ(t, m[0], 0);
	LIVE_EQ(t, m[BIG - 1], 0);
	return LIVE_PASS;
}

int live_madvise64(struct live *t)
{
	unsigned char *m = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
				-1, 0);
	int ret;

	if (m == MAP_FAILED)
		LIVE_SKIP(t, "cannot reserve 4 GiB of address space: %s", strerror(errno));
	ret = madvise64_body(t, m);
	munmap(m, BIG);
	return ret;
}
