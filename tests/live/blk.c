/* SPDX-License-Identifier: MIT */
/*
 * Live round trips: block device commands (uring_cmd on a block device).
 *
 * They need a device whose contents may go: SR_TEST_BLOCKDEV names one
 * (the qemu guests of check-kernels have a spare NVMe namespace), else,
 * as root, a loop device over a file in the scenario's directory (a
 * discard punches a hole there, which reads back as zeros).  Zone commands
 * need a zoned device: SR_TEST_ZONED_BLOCKDEV (a zoned NVMe namespace in
 * the guests newer than this machine; a kernel built without
 * CONFIG_BLK_DEV_ZONED has none).  Without one the scenario skips and
 * says how to give it one.
 */
#include "live.h"

#include <linux/blkzoned.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>

#define DEV_BYTES (8u << 20)

/* A loop device over a DEV_BYTES file in t->dir, detached when its last fd closes. */
static int loop_dev(struct live *t, char *why, size_t wlen)
{
	char path[256], dev[64];
	int ctl, back, fd = -1;

	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		snprintf(why, wlen, "no block device to write: /dev/loop-control: %s (set SR_TEST_BLOCKDEV to a "
			 "device whose contents may go, or run as root)", strerror(errno));
		return -2;
	}
	live_path(t, "loop.img", path, sizeof(path));
	back = live_keep_fd(t, open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600));
	if (back < 0 || ftruncate(back, DEV_BYTES)) {
		close(ctl);
		return -1;
	}
	/* Another process may take the free device first: try the next one. */
	for (int tries = 0; tries < 16 && fd < 0; tries++) {
		struct loop_config cfg;
		int n = ioctl(ctl, LOOP_CTL_GET_FREE);

		if (n < 0)
			break;
		snprintf(dev, sizeof(dev), "/dev/loop%d", n);
		fd = open(dev, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		memset(&cfg, 0, sizeof(cfg));
		cfg.fd = (unsigned)back;
		cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR;
		if (!ioctl(fd, LOOP_CONFIGURE, &cfg))
			break;
		if (errno != EBUSY) {
			snprintf(why, wlen, "no block device to write: LOOP_CONFIGURE on %s: %s (set SR_TEST_BLOCKDEV)",
				 dev, strerror(errno));
			close(fd);
			close(ctl);
			return -2;
		}
		close(fd);
		fd = -1;
	}
	close(ctl);
	if (fd < 0) {
		snprintf(why, wlen, "no block device to write: no free loop device (set SR_TEST_BLOCKDEV)");
		return -2;
	}
	return live_keep_fd(t, fd);
}

/*
 * A block device open for reading and writing, and its size: >= 0, or -2
 * (skip, why says so), or -1 (a setup error).
 */
static int blockdev(struct live *t, const char *env, char *why, size_t wlen, uint64_t *bytes)
{
	const char *path = getenv(env);
	struct stat st;
	int fd;

	if (path && *path) {
		fd = live_keep_fd(t, open(path, O_RDWR | O_CLOEXEC));
		if (fd < 0 && (errno == EACCES || errno == EPERM)) {
			snprintf(why, wlen, "%s=%s: %s (running as uid %u)", env, path, strerror(errno), (unsigned)getuid());
			return -2;
		}
		if (fd < 0 || fstat(fd, &st) || !S_ISBLK(st.st_mode)) {
			snprintf(why, wlen, "%s=%s: not a block device open for writing (%s)", env, path,
				 fd < 0 ? strerror(errno) : "not a block device");
			return -1;
		}
	} else if (!strcmp(env, "SR_TEST_BLOCKDEV")) {
		fd = loop_dev(t, why, wlen);
		if (fd < 0)
			return fd;
	} else {
		snprintf(why, wlen, "no zoned block device: set %s to a zoned device whose zones may all be "
			 "reset (the guests of make check-kernels newer than this machine have one)", env);
		return -2;
	}
	if (ioctl(fd, BLKGETSIZE64, bytes)) {
		snprintf(why, wlen, "BLKGETSIZE64: %s", strerror(errno));
		return -1;
	}
	return fd;
}

static bool all_bytes(const unsigned char *p, size_t n, unsigned char v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

static int discard(struct live *t, int fd, uint64_t off, uint64_t len)
{
	struct sr_cmd_discard_submitted sub;
	struct sr_cmd_discard_completed c;
	struct sr_cmd_discard_op op = sr_cmd_discard(fd, off, len);

	if (sr_submit(t->ring, &op, &sub) || sr_wait(t->ring, &sub, &c))
		return INT32_MIN;
	return c.res;
}

int live_cmd_discard(struct live *t)
{
	static unsigned char buf[64 << 10];
	char why[256];
	uint64_t bytes = 0;
	int fd = blockdev(t, "SR_TEST_BLOCKDEV", why, sizeof(why), &bytes), ro;
	char path[64];

	if (fd == -2)
		LIVE_SKIP(t, "%s", why);
	if (fd < 0)
		LIVE_FAIL(t, "%s", why);
	LIVE_CHECK(t, bytes >= sizeof(buf));
	/* A pattern on the device, written through. */
	memset(buf, 0xab, sizeof(buf));
	LIVE_EQ(t, pwrite(fd, buf, sizeof(buf), 0), sizeof(buf));
	LIVE_EQ(t, fsync(fd), 0);
	/* Discard 8 KiB in the middle: the page cache forgets it, the device deallocates it. */
	LIVE_EQ(t, discard(t, fd, 16384, 8192), 0);
	LIVE_EQ(t, pread(fd, buf, sizeof(buf), 0), sizeof(buf));
	LIVE_CHECK(t, all_bytes(buf, 16384, 0xab));
	if (!all_bytes(buf + 16384, 8192, 0)) {
		char attr[160], lim[64] = "";
		struct stat st;
		int afd;

		fstat(fd, &st);
		snprintf(attr, sizeof(attr), "/sys/dev/block/%u:%u/queue/discard_granularity", major(st.st_rdev),
			 minor(st.st_rdev));
		afd = open(attr, O_RDONLY | O_CLOEXEC);
		if (afd >= 0) {
			ssize_t n = read(afd, lim, sizeof(lim) - 1);

			lim[n > 0 ? n - 1 : 0] = 0;
			close(afd);
		}
		LIVE_FAIL(t, "after the discard, byte 16384 is %02x, byte 24575 %02x (discard_granularity %s)",
			  buf[16384], buf[24575], lim);
	}
	LIVE_CHECK(t, all_bytes(buf + 24576, sizeof(buf) - 24576, 0xab));
	/* Boundaries: the range must be in logical blocks, and on the device. */
	LIVE_EQ(t, discard(t, fd, 100, 4096), -EINVAL);
	LIVE_EQ(t, discard(t, fd, bytes - 4096, 8192), -EINVAL);
	/* Only for a device open for writing (as BLKDISCARD). */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ro = live_keep_fd(t, open(path, O_RDONLY | O_CLOEXEC));
	LIVE_CHECK(t, ro >= 0);
	LIVE_EQ(t, discard(t, ro, 0, 4096), -EBADF);
	return LIVE_PASS;
}

/* The write pointer of the zone at sector, or -1. */
static int64_t write_pointer(int fd, uint64_t sector)
{
	struct blk_zone_report *rep = calloc(1, sizeof(*rep) + sizeof(struct blk_zone));
	int64_t wp = -1;

	if (!rep)
		return -1;
	rep->sector = sector;
	rep->nr_zones = 1;
	if (!ioctl(fd, BLKREPORTZONE, rep) && rep->nr_zones == 1)
		wp = (int64_t)rep->zones[0].wp;
	free(rep);
	return wp;
}

int live_cmd_zone_reset_all(struct live *t)
{
	struct sr_cmd_zone_reset_all_submitted sub;
	struct sr_cmd_zone_reset_all_completed c;
	struct sr_cmd_zone_reset_all_op op;
	unsigned zone_sectors = 0, nzones = 0;
	char why[256];
	uint64_t bytes = 0;
	int fd = blockdev(t, "SR_TEST_ZONED_BLOCKDEV", why, sizeof(why), &bytes), dfd;
	char path[64];
	void *data;

	if (fd == -2)
		LIVE_SKIP(t, "%s", why);
	if (fd < 0)
		LIVE_FAIL(t, "%s", why);
	if (ioctl(fd, BLKGETZONESZ, &zone_sectors) || !zone_sectors || ioctl(fd, BLKGETNRZONES, &nzones) || nzones < 2)
		LIVE_FAIL(t, "SR_TEST_ZONED_BLOCKDEV: not a zoned device with two zones or more (zone size %u "
			  "sectors, %u zones)", zone_sectors, nzones);
	/* Sequential zones take direct writes at their write pointer: 4 KiB into
	 * the first two zones moves both pointers. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	dfd = live_keep_fd(t, open(path, O_RDWR | O_DIRECT | O_CLOEXEC));
	LIVE_CHECK(t, dfd >= 0 && !posix_memalign(&data, 4096, 4096));
	memset(data, 0x5a, 4096);
	for (unsigned z = 0; z < 2; z++) {
		int64_t wp = write_pointer(fd, (uint64_t)z * zone_sectors);

		LIVE_CHECK(t, wp >= 0);
		if (pwrite(dfd, data, 4096, wp * 512) != 4096) {
			free(data);
			LIVE_FAIL(t, "writing zone %u at its write pointer: %s", z, strerror(errno));
		}
		LIVE_EQ(t, write_pointer(fd, (uint64_t)z * zone_sectors), wp + 8);
	}
	free(data);
	op = sr_cmd_zone_reset_all(fd);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 0);
	/* Every write pointer is back at its zone's start. */
	for (unsigned z = 0; z < nzones; z++)
		LIVE_EQ(t, write_pointer(fd, (uint64_t)z * zone_sectors), (int64_t)z * zone_sectors);
	/* Only for a device open for writing. */
	dfd = live_keep_fd(t, open(path, O_RDONLY | O_CLOEXEC));
	LIVE_CHECK(t, dfd >= 0);
	op = sr_cmd_zone_reset_all(dfd);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, -EBADF);
	return LIVE_PASS;
}
