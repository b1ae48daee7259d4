/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
/*
 * How each regular file's content is copied (method.h), chosen per file
 * and shown with -v:
 *
 *   clone            source and destination on one filesystem that shares
 *                    blocks (btrfs, XFS, ...): one FICLONE ioctl makes the
 *                    copy, holes and all, without moving data;
 *   copy_file_range  otherwise on one filesystem, and where the filesystem
 *                    copies by itself (NFS, SMB, Ceph: on the server): the
 *                    kernel moves the pages from one file to the other with
 *                    no pipe and no user buffer, 3x faster than the splice
 *                    pipeline for a cached 256 MiB file on ext4, measured
 *                    here.  io_uring has no op for it: the worker's thread
 *                    makes the call, a piece of at most US_CFR_STEP at a
 *                    time, between completions of its ring (a large file's
 *                    ranges spread over the workers as usual);
 *   splice           between filesystems, files from 64 KiB: source pages go
 *                    to a pipe by reference and are copied once into the
 *                    destination;
 *   read/write       between filesystems, small files, and what cannot
 *                    splice, through pool buffers;
 * with O_DIRECT writes for large files without holes (the page cache is
 * not filled with pages nobody reads), and with --direct O_DIRECT both
 * ways, through the pipeline.
 * URING_SYNC_COPY=clone|copy_file_range|splice|read-write forces one where
 * it can work (tests, measurements).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <linux/fs.h>

#include "method.h"

#define US_SPLICE_FROM	(64u << 10)
#define US_DIRECT_FROM	(16u << 20)

/* Filesystems that copy a copy_file_range by themselves. */
#define NFS_MAGIC	0x6969
#define SMB2_MAGIC	0xfe534d42
#define CIFS_MAGIC	0xff534d42
#define CEPH_MAGIC	0x00c36400

static int forced = -1;		/* URING_SYNC_COPY */
static bool offload;		/* the destination's filesystem copies by itself */

/*
 * Does the destination's filesystem clone?  One empty unnamed file cloned
 * into another says so before any file is picked a method (they vanish
 * when closed); where it cannot be tried, the first real clone tells.
 */
static void probe_clone(void)
{
	int a, b;

	if (us_c->dst_root < 0 || us_c->o.dry_run)
		return;
	a = openat(us_c->dst_root, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	b = a < 0 ? -1 : openat(us_c->dst_root, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (b >= 0 && ioctl(b, FICLONE, a) < 0 && errno != EPERM && errno != EACCES)
		atomic_store(&us_c->no_clone, true);
	if (a >= 0)
		close(a);
	if (b >= 0)
		close(b);
}

void us_method_init(void)
{
	const char *env = getenv("URING_SYNC_COPY");
	struct statfs fs;

	if (env && *env) {
		if (!strcmp(env, "clone"))
			forced = US_M_CLONE;
		else if (!strcmp(env, "copy_file_range"))
			forced = US_M_CFR;
		else if (!strcmp(env, "splice"))
			forced = US_M_SPLICE;
		else if (!strcmp(env, "read-write"))
			forced = US_M_RW;
		else
			us_msg("URING_SYNC_COPY=%s: use clone, copy_file_range, splice or read-write; ignored", env);
	}
	if (us_c->dst_root >= 0 && fstatfs(us_c->dst_root, &fs) == 0)
		offload = fs.f_type == NFS_MAGIC || (unsigned)fs.f_type == SMB2_MAGIC ||
			  (unsigned)fs.f_type == CIFS_MAGIC || fs.f_type == CEPH_MAGIC;
	probe_clone();
}

static bool sparse(const struct statx *st)
{
	return (st->stx_mask & STATX_BLOCKS) && st->stx_blocks * 512 < st->stx_size;
}

/* Before the files are opened: the method, and whether each side is O_DIRECT. */
void us_method_pick(struct us_job *j)
{
	const struct statx *s = &j->st;
	bool same_fs = makedev(s->stx_dev_major, s->stx_dev_minor) == us_c->dst_dev;
	int m;

	j->direct_src = us_c->o.direct;
	atomic_store(&j->direct, !atomic_load(&us_c->no_direct) &&
		     (us_c->o.direct || (s->stx_size >= US_DIRECT_FROM && !sparse(s))));
	if (forced >= 0)
		m = forced;
	else if (us_c->o.direct)
		m = US_M_RW;
	else if (same_fs && !atomic_load(&us_c->no_clone) && s->stx_size)
		m = US_M_CLONE;
	else if ((same_fs || offload) && s->stx_size)
		m = US_M_CFR;
	else
		m = s->stx_size >= US_SPLICE_FROM && !atomic_load(&j->direct) ? US_M_SPLICE : US_M_RW;
	if (m == US_M_CLONE || m == US_M_CFR)
		atomic_store(&j->direct, false);
	if (m == US_M_SPLICE && atomic_load(&j->direct))
		m = US_M_RW;		/* O_DIRECT writes come from aligned buffers */
	j->method = (unsigned char)m;
}

/*
 * The clone, on the worker's thread (an ioctl has no io_uring op); it
 * takes no time.  False when the filesystem cannot: the file is copied
 * otherwise, and where it never can, clone is not tried again.
 */
bool us_clone(struct us_job *j)
{
	if (ioctl(j->dfd, FICLONE, j->sfd) == 0)
		return true;
	if (errno == EOPNOTSUPP || errno == ENOTTY || errno == EINVAL || errno == ENOSYS)
		atomic_store(&us_c->no_clone, true);
	us_method_fallback(j);
	return false;
}

/* The method does not work for this file: the ring's pipeline does it. */
void us_method_fallback(struct us_job *j)
{
	j->method = j->st.stx_size >= US_SPLICE_FROM && !atomic_load(&j->direct) ? US_M_SPLICE : US_M_RW;
}

const char *us_method_name(const struct us_job *j, char *buf, size_t len)
{
	static const char *name[] = { "read/write", "splice", "copy_file_range", "clone" };

	if (!j->st.stx_size) {
		snprintf(buf, len, "empty");
		return buf;
	}
	snprintf(buf, len, "%s%s%s%s", name[j->method], j->direct_src ? ", O_DIRECT" :
		 j->direct_used ? ", O_DIRECT writes" : "", j->sparse ? ", holes kept" : "",
		 j->prealloc ? ", preallocated" : "");
	return buf;
}
