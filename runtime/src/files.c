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

#include "res.h"

int sr_ring_register_buffers(struct sr_ring *r, struct sr_buf *const *bufs, unsigned n)
{
	struct sr__ring_ext *x = r->_ext;
	struct iovec *iov;
	int ret;

	ret = sr__ring_adds(r, __func__);
	if (ret)
		return ret;
	if (x->nregbufs || x->reg_pool)
		return sr__err(-EBUSY, "the ring already has fixed buffers; "
				"sr_ring_unregister_buffers first");
	if (!n || n > 16384)
		return sr__err(-EINVAL, "%u buffers; 1..16384", n);
	for (unsigned i = 0; i < n; i++) {
		struct sr_buf *b = bufs[i];

		if (!sr__buf_live(b))
			return sr__err(-EINVAL, "bufs[%u] is not a live buffer", i);
		if (b->_flags & SR__BUF_REGISTERED)
			return sr__err(b->_reg_ring == r ? -EINVAL : -EBUSY, "bufs[%u] "
					"is already registered with %s", i, b->_reg_ring == r ? "this ring (twice in "
					"the list?)" : "another ring");
		if (b->_flags & (SR__BUF_RDONLY | SR__BUF_GROUP | SR__BUF_POOLED))
			return sr__err(-EINVAL, "bufs[%u] is read-only, in a group or "
					"in a pool (a pool registers whole: sr_ring_register_pool)", i);
	}
	iov = sr__calloc(n, sizeof(*iov));
	x->regbufs = sr__calloc(n, sizeof(*x->regbufs));
	if (!iov || !x->regbufs) {
		free(iov);
		free(x->regbufs);
		x->regbufs = NULL;
		return sr__err(-ENOMEM, "out of memory");
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
			return sr__err(ret, "the kernel could not pin the buffers "
					"(RLIMIT_MEMLOCK %llu bytes?)", (unsigned long long)sr_caps_get()->memlock_cur);
		return sr__err(ret, "the kernel refused the buffers");
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

	ret = sr__ring_use(r, __func__);
	if (ret)
		return ret;
	if (x->reg_pool) {
		ret = sr__pool_lent_check(r, x->reg_pool);
		if (ret)
			return ret;
		ret = r->_uring_up ? io_uring_unregister_buffers(&r->_uring) : 0;
		if (ret)
			return sr__err(ret, "the kernel refused");
		sr__pool_unregistered(r, x->reg_pool);
		return 0;
	}
	if (!x->nregbufs)
		return sr__err(-ENXIO, "no fixed buffers are registered");
	for (unsigned i = 0; i < x->nregbufs; i++)
		if (x->regbufs[i]->_flags & SR__BUF_LENT)
			return sr__err(-EBUSY, "fixed buffer %u is lent to %s (in "
					"flight); wait for it first", i, sr__op_name(x->regbufs[i]->_lent_op));
	ret = r->_uring_up ? io_uring_unregister_buffers(&r->_uring) : 0;
	if (ret)
		return sr__err(ret, "the kernel refused");
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
	if ((b->_flags & SR__BUF_REGISTERED) && b->_reg_ring != r)
		return sr__fail(-EXDEV, "%s: %s: the buffer is registered with another ring; a fixed op uses "
				"buffers registered with its own ring", fn, arg);
	if (!(b->_flags & SR__BUF_REGISTERED))
		return sr__fail(-EINVAL, "%s: %s: the buffer is not registered with this ring; "
				"sr_ring_register_buffers first, or use the non-fixed op", fn, arg);
	return 0;
}

/* Forget the table: its descriptors (fallback rings) and every slot's generation. */
static void files_forget(struct sr_ring *r)
{
	struct sr__ring_ext *x = r->_ext;

	if (x->ufiles)
		for (unsigned i = 0; i < x->nfiles; i++)
			if (x->ufiles[i] >= 0)
				close(x->ufiles[i]);
	free(x->ufiles);
	free(x->file_gen);
	x->ufiles = NULL;
	x->file_gen = NULL;
	x->nfiles = 0;
}

int sr_ring_register_files(struct sr_ring *r, unsigned nslots)
{
	struct sr__ring_ext *x = r->_ext;
	int ret;

	ret = sr__ring_adds(r, __func__);
	if (ret)
		return ret;
	if (x->nfiles)
		return sr__err(-EBUSY, "a file table is already registered");
	if (!nslots || nslots > 1U << 20)
		return sr__err(-EINVAL, "%u slots; 1..%u", nslots, 1U << 20);
	x->file_gen = sr__calloc(nslots, sizeof(*x->file_gen));
	if (!x->file_gen)
		return sr__err(-ENOMEM, "out of memory");
	if (!r->_uring_up) {
		x->ufiles = sr__malloc(nslots * sizeof(int));
		if (!x->ufiles) {
			files_forget(r);
			return sr__err(-ENOMEM, "out of memory");
		}
		for (unsigned i = 0; i < nslots; i++)
			x->ufiles[i] = -1;
		x->nfiles = nslots;
		return 0;
	}
	ret = io_uring_register_files_sparse(&r->_uring, nslots);
	if (ret == -EINVAL) {
		/*
		 * IORING_RSRC_REGISTER_SPARSE is 5.19, and a kernel may have
		 * IORING_REGISTER_FILES2 without it (Debian's 5.10.y refuses
		 * it with EINVAL); a table of -1 entries is sparse since 5.5.
		 */
		int *fds = sr__malloc(nslots * sizeof(int));

		if (!fds) {
			files_forget(r);
			return sr__err(-ENOMEM, "out of memory");
		}
		for (unsigned i = 0; i < nslots; i++)
			fds[i] = -1;
		ret = io_uring_register_files(&r->_uring, fds, nslots);
		free(fds);
	}
	if (ret) {
		files_forget(r);
		return sr__err(ret, "the kernel refused a table of %u slots", nslots);
	}
	x->nfiles = nslots;
	return 0;
}

int sr_ring_unregister_files(struct sr_ring *r)
{
	int ret;

	ret = sr__ring_use(r, __func__);
	if (ret)
		return ret;
	if (!r->_ext->nfiles)
		return sr__err(-ENXIO, "no file table is registered");
	if (r->_uring_up) {
		ret = io_uring_unregister_files(&r->_uring);
		if (ret)
			return sr__err(ret, "the kernel refused");
	}
	files_forget(r);
	return 0;
}

int sr_ring_files_set(struct sr_ring *r, unsigned slot, int fd, struct sr_file *out)
{
	struct sr__ring_ext *x = r->_ext;
	int ret;

	if (out)
		*out = sr__file_handle(r, false, 0, 0);
	ret = sr__ring_use(r, __func__);
	if (ret)
		return ret;
	if (slot >= x->nfiles)
		return sr__err(-EINVAL, "slot %u is outside the table (%u slots)", slot, x->nfiles);
	if (x->ufiles) {
		int dup = fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;

		if (fd >= 0 && dup < 0)
			return sr__err(-errno, "cannot hold fd %d for slot %u", fd, slot);
		if (x->ufiles[slot] >= 0)
			close(x->ufiles[slot]);
		x->ufiles[slot] = dup;
	} else {
		ret = io_uring_register_files_update(&r->_uring, slot, &fd, 1);
		if (ret < 0)
			return sr__err(ret, "updating slot %u failed", slot);
	}
	if (fd < 0) {
		sr__file_closed(r, slot);
		return 0;
	}
	ret = (int)sr__file_installed(r, slot);
	if (out)
		*out = sr__file_handle(r, true, slot, (uint32_t)ret);
	return 0;
}

int sr_ring_file_handle(struct sr_ring *r, unsigned slot, struct sr_file *out)
{
	struct sr__ring_ext *x = r->_ext;
	int ret;

	*out = sr__file_handle(r, false, 0, 0);
	ret = sr__ring_use(r, __func__);
	if (ret)
		return ret;
	if (slot >= x->nfiles)
		return sr__err(-EINVAL, "slot %u is outside the table (%u slots)", slot, x->nfiles);
	/* A slot filled from outside (another ring) is news to us: it gets a
	 * generation now, which also retires any handle to what was there. */
	if (!x->file_gen[slot])
		sr__file_installed(r, slot);
	*out = sr__file_handle(r, true, slot, x->file_gen[slot]);
	return 0;
}

/* Generations come from one counter per ring, so a handle from an earlier
 * table (or an earlier occupant) never matches a later one. */
uint32_t sr__file_installed(struct sr_ring *r, uint32_t slot)
{
	struct sr__ring_ext *x = r->_ext;

	if (slot >= x->nfiles)
		return 0;
	if (!++x->file_epoch)
		x->file_epoch = 1;
	x->file_gen[slot] = x->file_epoch;
	return x->file_epoch;
}

void sr__file_closed(struct sr_ring *r, uint32_t slot)
{
	if (slot < r->_ext->nfiles)
		r->_ext->file_gen[slot] = 0;
}

void sr__files_all_changed(struct sr_ring *r)
{
	for (uint32_t i = 0; i < r->_ext->nfiles; i++)
		if (r->_ext->file_gen[i])
			sr__file_installed(r, i);
}

int sr__file_check(struct sr_ring *r, uint32_t slot, uint32_t gen, uint64_t ring, const char *fn)
{
	struct sr__ring_ext *x = r->_ext;

	if (gen && ring != r->_id)
		return sr__fail(-EXDEV, "%s: the registered-file handle belongs to another ring (or to one "
				"destroyed since); it would reach whatever this ring has in slot %u", fn, slot);
	if (!x->nfiles)
		return sr__fail(-EBADF, "%s: a registered file was set but the ring has no file table (never "
				"registered, or unregistered since)", fn);
	if (!gen)
		return sr__fail(-EBADF, "%s: the registered-file handle is empty (from a failed op?)", fn);
	if (slot >= x->nfiles || x->file_gen[slot] != gen)
		return sr__fail(-EBADF, "%s: registered file slot %u has changed since the handle was made (closed, "
				"replaced or unregistered); it would reach another file", fn, slot);
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

	if (x->reg_pool)
		sr__pool_unregistered(r, x->reg_pool);
	for (unsigned i = 0; i < x->nregbufs; i++) {
		x->regbufs[i]->_flags &= ~SR__BUF_REGISTERED;
		x->regbufs[i]->_reg_ring = NULL;
	}
	free(x->regbufs);
	x->regbufs = NULL;
	x->nregbufs = 0;
	files_forget(r);
}
