/* SPDX-License-Identifier: MIT */
/* Helpers shared by the live scenarios (see live.h). */
#include "live.h"

#include <linux/magic.h>
#include <poll.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <time.h>

int lh_pipe(struct live *t, int fds[2])
{
	if (pipe2(fds, O_CLOEXEC))
		return -1;
	live_keep_fd(t, fds[0]);
	live_keep_fd(t, fds[1]);
	return 0;
}

int lh_socketpair(struct live *t, int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -1;
	live_keep_fd(t, sv[0]);
	live_keep_fd(t, sv[1]);
	return 0;
}

int lh_readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1 && (p.revents & POLLIN);
}

double lh_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int lh_ring(struct sr_ring **r)
{
	struct sr_ring_params p = { .entries = 16 };

	return sr_ring_create(r, &p);
}

struct sockaddr_in lh_loopback(in_port_t port)
{
	struct sockaddr_in a;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = port;
	return a;
}

unsigned lh_port(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	if (getsockname(fd, (struct sockaddr *)&a, &len))
		return 0;
	return ntohs(a.sin_port);
}

unsigned lh_peer_port(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	if (getpeername(fd, (struct sockaddr *)&a, &len))
		return 0;
	return ntohs(a.sin_port);
}

bool lh_writeback(int fd)
{
	struct statfs sf;

	return fstatfs(fd, &sf) == 0 && sf.f_type != TMPFS_MAGIC && sf.f_type != RAMFS_MAGIC;
}

int lh_page_dirty(int fd, off_t off)
{
	long ps = sysconf(_SC_PAGESIZE);
	uint64_t ent, flags;
	volatile char *p;
	int pm, kf, ret = -1;

	if (!lh_writeback(fd))
		return -1;
	p = mmap(NULL, (size_t)ps, PROT_READ, MAP_SHARED, fd, off);
	if (p == MAP_FAILED)
		return -1;
	(void)p[0];	/* fault it in so pagemap has its frame */
	pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	kf = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	if (pm >= 0 && kf >= 0 &&
	    pread(pm, &ent, sizeof(ent), (off_t)((uintptr_t)p / (uintptr_t)ps * sizeof(ent))) == sizeof(ent) &&
	    (ent >> 63)) {
		uint64_t pfn = ent & ((1ULL << 55) - 1);

		/* Without CAP_SYS_ADMIN the frame number reads as 0. */
		if (pfn && pread(kf, &flags, sizeof(flags), (off_t)(pfn * sizeof(flags))) == sizeof(flags))
			ret = (flags >> 4) & 1;	/* KPF_DIRTY */
	}
	if (pm >= 0)
		close(pm);
	if (kf >= 0)
		close(kf);
	munmap((void *)p, (size_t)ps);
	return ret;
}

int lh_resident(int fd, unsigned npages)
{
	long ps = sysconf(_SC_PAGESIZE);
	unsigned char vec[64];
	void *p;
	int n = 0;

	if (npages > sizeof(vec))
		return -1;
	/* Mapping without touching: mincore then reports the page cache. */
	p = mmap(NULL, (size_t)ps * npages, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -1;
	if (mincore(p, (size_t)ps * npages, vec))
		n = -1;
	for (unsigned i = 0; n >= 0 && i < npages; i++)
		n += vec[i] & 1;
	munmap(p, (size_t)ps * npages);
	return n;
}

ssize_t lh_slurp(const char *path, char *out, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, out, cap);
	close(fd);
	return n;
}

int lh_read_slot(struct sr_ring *r, struct sr_file f, struct sr_buf *b, __u64 off, int *res)
{
	struct sr_read_op op = sr_read(0, b, off);
	struct sr_read_submitted sub;
	struct sr_read_completed c;
	int ret;

	sr_read_set_file(&op, f);
	ret = sr_submit(r, &op, &sub);
	if (ret)
		return ret;
	ret = sr_wait(r, &sub, &c);
	*res = c.res;
	return ret;
}

int lh_write_slot(struct sr_ring *r, struct sr_file f, struct sr_buf *b, __u64 off, int *res)
{
	struct sr_write_op op = sr_write(0, b, off);
	struct sr_write_submitted sub;
	struct sr_write_completed c;
	int ret;

	sr_write_set_file(&op, f);
	ret = sr_submit(r, &op, &sub);
	if (ret)
		return ret;
	ret = sr_wait(r, &sub, &c);
	*res = c.res;
	return ret;
}
