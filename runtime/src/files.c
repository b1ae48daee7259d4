/* SPDX-License-Identifier: MIT */
/*
 * Fixed buffers and the registered file table.  A ring on the fallback
 * backend keeps both itself: fixed buffers are plain memory to its system
 * calls, and the file table holds duplicates of the descriptors set.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"

int sr_ring_register_buffers(struct sr_ring *r, struct sr_buf *const *bufs, unsigned n)
{
	struct sr__ring_ext *x = r->_ext;
	struct iovec *iov;
	int ret;

	if (x->nregbufs)
		return sr__fail(-EBUSY, "sr_ring_register_buffers: the ring already has fixed buffers; "
				"sr_ring_unregister_buffers first");
	if (!n || n > 16384)
		return sr__fail(-EINVAL, "sr_ring_register_buffers: %u buffers; 1..16384", n);
	for (unsigned i = 0; i < n; i++) {
		struct sr_buf *b = bufs[i];

		if (!b || b->_magic != SR__BUF_MAGIC)
			return sr__fail(-EINVAL, "sr_ring_register_buffers: bufs[%u] is not a live buffer", i);
		if (b->_flags & (SR__BUF_REGISTERED | SR__BUF_RDONLY | SR__BUF_GROUP))
			return sr__fail(-EINVAL, "sr_ring_register_buffers: bufs[%u] is registered, read-only or "
					"in a group", i);
	}
	iov = calloc(n, sizeof(*iov));
	x->regbufs = calloc(n, sizeof(*x->regbufs));
	if (!iov || !x->regbufs) {
		free(iov);
		free(x->regbufs);
		x->regbufs = NULL;
		return sr__fail(-ENOMEM, "sr_ring_register_buffers: out of memory");
	}
	for (unsigned i = 0; i < n; i++) {
		iov[i].iov_base = bufs[i]->_data;
		iov[i].iov_len = bufs[i]->_cap;
	}
	ret = r->_uring_up ? io_uring_register_buffers(&r->_uring, iov, n) : 0;
	free(iov);
	if (ret) {
		free(x->regbufs);
		x->regbufs = NULL;
		if (ret == -ENOMEM)
			return sr__fail(ret, "sr_ring_register_buffers: the kernel could not pin the buffers "
					"(RLIMIT_MEMLOCK %llu bytes?)", (unsigned long long)sr_caps_get()->memlock_cur);
		return sr__fail(ret, "sr_ring_register_buffers: the kernel refused the buffers");
	}
	for (unsigned i = 0; i < n; i++) {
		bufs[i]->_flags |= SR__BUF_REGISTERED;
		bufs[i]->_reg_ring = r;
		bufs[i]->_reg_index = (uint16_t)i;
		x->regbufs[i] = bufs[i];
	}
	x->nregbufs = n;
	return 0;
}

int sr_ring_unregister_buffers(struct sr_ring *r)
{
	struct sr__ring_ext *x = r->_ext;
	int ret;

	if (!x->nregbufs)
		return sr__fail(-ENXIO, "sr_ring_unregister_buffers: no fixed buffers are registered");
	for (unsigned i = 0; i < x->nregbufs; i++)
		if (x->regbufs[i]->_flags & SR__BUF_LENT)
			return sr__fail(-EBUSY, "sr_ring_unregister_buffers: fixed buffer %u is lent to %s (in "
					"flight); wait for it first", i, sr_op_table[x->regbufs[i]->_lent_op].name);
	ret = r->_uring_up ? io_uring_unregister_buffers(&r->_uring) : 0;
	if (ret)
		return sr__fail(ret, "sr_ring_unregister_buffers: the kernel refused");
	for (unsigned i = 0; i < x->nregbufs; i++) {
		x->regbufs[i]->_flags &= ~SR__BUF_REGISTERED;
		x->regbufs[i]->_reg_ring = NULL;
	}
	free(x->regbufs);
	x->regbufs = NULL;
	x->nregbufs = 0;
	return 0;
}

int sr__buf_check_fixed(struct sr_ring *r, const struct sr_buf *b, const char *fn, const char *arg)
{
	if (!(b->_flags & SR__BUF_REGISTERED) || b->_reg_ring != r)
		return sr__fail(-EINVAL, "%s: %s: the buffer is not registered with this ring; "
				"sr_ring_register_buffers first, or use the non-fixed op", fn, arg);
	return 0;
}

static void files_close(struct sr_ring *r)
{
	struct sr__ring_ext *x = r->_ext;

	if (!x->ufiles)
		return;
	for (unsigned i = 0; i < x->nfiles; i++)
		if (x->ufiles[i] >= 0)
			close(x->ufiles[i]);
	free(x->ufiles);
	x->ufiles = NULL;
	x->nfiles = 0;
}

int sr_ring_register_files(struct sr_ring *r, unsigned nslots)
{
	int ret;

	if (r->_ext->nfiles)
		return sr__fail(-EBUSY, "sr_ring_register_files: a file table is already registered");
	if (!nslots || nslots > 1U << 20)
		return sr__fail(-EINVAL, "sr_ring_register_files: %u slots; 1..%u", nslots, 1U << 20);
	if (!r->_uring_up) {
		r->_ext->ufiles = malloc(nslots * sizeof(int));
		if (!r->_ext->ufiles)
			return sr__fail(-ENOMEM, "sr_ring_register_files: out of memory");
		for (unsigned i = 0; i < nslots; i++)
			r->_ext->ufiles[i] = -1;
		r->_ext->nfiles = nslots;
		return 0;
	}
	ret = io_uring_register_files_sparse(&r->_uring, nslots);
	if (ret)
		return sr__fail(ret, "sr_ring_register_files: the kernel refused a table of %u slots", nslots);
	r->_ext->nfiles = nslots;
	return 0;
}

int sr_ring_unregister_files(struct sr_ring *r)
{
	int ret;

	if (!r->_ext->nfiles)
		return sr__fail(-ENXIO, "sr_ring_unregister_files: no file table is registered");
	if (!r->_uring_up) {
		files_close(r);
		return 0;
	}
	ret = io_uring_unregister_files(&r->_uring);
	if (ret)
		return sr__fail(ret, "sr_ring_unregister_files: the kernel refused");
	r->_ext->nfiles = 0;
	return 0;
}

int sr_ring_files_set(struct sr_ring *r, unsigned slot, int fd)
{
	int ret;

	if (slot >= r->_ext->nfiles)
		return sr__fail(-EINVAL, "sr_ring_files_set: slot %u is outside the table (%u slots)", slot,
				r->_ext->nfiles);
	if (r->_ext->ufiles) {
		int dup = fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;

		if (fd >= 0 && dup < 0)
			return sr__fail(-errno, "sr_ring_files_set: cannot hold fd %d for slot %u", fd, slot);
		if (r->_ext->ufiles[slot] >= 0)
			close(r->_ext->ufiles[slot]);
		r->_ext->ufiles[slot] = dup;
		return 0;
	}
	ret = io_uring_register_files_update(&r->_uring, slot, &fd, 1);
	if (ret < 0)
		return sr__fail(ret, "sr_ring_files_set: updating slot %u failed", slot);
	return 0;
}

int sr__file_fd(struct sr_ring *r, unsigned slot)
{
	if (!r->_ext->ufiles || slot >= r->_ext->nfiles)
		return -1;
	return r->_ext->ufiles[slot];
}

unsigned sr_ring_files_count(const struct sr_ring *r)
{
	return r->_ext->nfiles;
}

void sr__files_destroy(struct sr_ring *r)
{
	struct sr__ring_ext *x = r->_ext;

	for (unsigned i = 0; i < x->nregbufs; i++) {
		x->regbufs[i]->_flags &= ~SR__BUF_REGISTERED;
		x->regbufs[i]->_reg_ring = NULL;
	}
	free(x->regbufs);
	x->regbufs = NULL;
	x->nregbufs = 0;
	files_close(r);
}
