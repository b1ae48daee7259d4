/* SPDX-License-Identifier: MIT */
/*
 * System calls the generated routes use where libc has no single call.
 */
#define _GNU_SOURCE
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <linux/sockios.h>

#include "fallback.h"

/* --- system calls the routes use where libc has no single call ------------------------------ */

long sr__preadv2(int fd, const struct iovec *iov, int n, long long off, int flags)
{
	long ret = preadv2(fd, iov, n, (off_t)off, flags);

	if (ret < 0 && errno == ESPIPE && off != -1)
		ret = preadv2(fd, iov, n, -1, flags);
	return ret;
}

long sr__pwritev2(int fd, const struct iovec *iov, int n, long long off, int flags)
{
	long ret = pwritev2(fd, iov, n, (off_t)off, flags);

	if (ret < 0 && errno == ESPIPE && off != -1)
		ret = pwritev2(fd, iov, n, -1, flags);
	return ret;
}

int sr__connect(int fd, const struct sockaddr *addr, unsigned len)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	socklen_t sl = sizeof(int);
	int err = 0;

	if (connect(fd, addr, len) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return -1;
	/* A non-blocking socket: io_uring completes when the connection does. */
	while (poll(&p, 1, -1) == 0)
		;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0)
		return -1;
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

int sr__cmd_sock(int cmd_op, int fd, int level, int optname, void *optval, int optlen)
{
	socklen_t len = (socklen_t)optlen;
	int v;

	switch (cmd_op) {
	case SR_SOCKET_URING_OP_SIOCINQ:
		return ioctl(fd, SIOCINQ, &v) < 0 ? -1 : v;
	case SR_SOCKET_URING_OP_SIOCOUTQ:
		return ioctl(fd, SIOCOUTQ, &v) < 0 ? -1 : v;
	case SR_SOCKET_URING_OP_GETSOCKOPT:
		return getsockopt(fd, level, optname, optval, &len) < 0 ? -1 : (int)len;
	case SR_SOCKET_URING_OP_SETSOCKOPT:
		return setsockopt(fd, level, optname, optval, len);
	}
	errno = EINVAL;
	return -1;
}
