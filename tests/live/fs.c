/* SPDX-License-Identifier: MIT */
/*
 * Live round trips: opening and closing (plain and direct descriptors),
 * the registered file table, statx, namespace changes and xattrs.  Each
 * op's effect is checked with ordinary syscalls, or, for a registered
 * slot, by reading the file through that slot.
 */
#include "live.h"

#include <linux/openat2.h>
#include <sys/xattr.h>

static const char text[] = "hello, ring world";	/* 17 bytes */

/* t->dir opened as a directory, for the *at ops' dfd. */
static int dir_fd(struct live *t)
{
	return live_keep_fd(t, open(t->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
}

/* Read slot through r and check it holds text. */
static int slot_holds_text(struct live *t, struct sr_file f)
{
	struct sr_buf *b = live_keep_buf(t, sr_buf_alloc(64));
	int res = 0;

	LIVE_CHECK(t, b);
	LIVE_EQ(t, lh_read_slot(t->ring, f, b, 0, &res), 0);
	LIVE_EQ(t, res, 17);
	LIVE_CHECK(t, memcmp(sr_buf_data(b), text, 17) == 0);
	return LIVE_PASS;
}

int live_openat(struct live *t)
{
	int dfd = dir_fd(t), fd;
	struct sr_openat_submitted sub;
	struct sr_openat_completed c;
	struct sr_openat_op op;
	char path[256], back[8], name[8] = "new";
	struct stat st;

	LIVE_CHECK(t, dfd >= 0);
	/* Relative to dfd, so the directory fd is used too. */
	op = sr_openat(dfd, name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0640);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	memcpy(name, "bad", 4);	/* the path was copied at submit */
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_CHECK(t, c.res >= 0);
	fd = live_keep_fd(t, c.res);
	LIVE_EQ(t, fstat(fd, &st), 0);
	LIVE_CHECK(t, S_ISREG(st.st_mode));
	LIVE_EQ(t, st.st_mode & 0777, 0640);
	LIVE_EQ(t, write(fd, "opened", 6), 6);
	live_path(t, "new", path, sizeof(path));
	LIVE_EQ(t, lh_slurp(path, back, sizeof(back)), 6);
	LIVE_CHECK(t, memcmp(back, "opened", 6) == 0);

	/* O_EXCL again: the flags reach the kernel. */
	op = sr_openat(AT_FDCWD, path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0640);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, -EEXIST);
	return LIVE_PASS;
}

int live_openat2(struct live *t)
{
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_NO_SYMLINKS };
	int fd = live_file(t, "f", text, 17), nfd;
	struct sr_openat2_submitted sub;
	struct sr_openat2_completed c;
	struct sr_openat2_op op;
	char path[256], link[256], back[32];

	LIVE_CHECK(t, fd >= 0);
	live_path(t, "f", path, sizeof(path));
	live_path(t, "l", link, sizeof(link));
	LIVE_EQ(t, symlink(path, link), 0);
	op = sr_openat2(AT_FDCWD, path, &how);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_CHECK(t, c.res >= 0);
	nfd = live_keep_fd(t, c.res);
	LIVE_EQ(t, read(nfd, back, sizeof(back)), 17);
	LIVE_CHECK(t, memcmp(back, text, 17) == 0);

	/* RESOLVE_NO_SYMLINKS refuses the link: the open_how was read. */
	op = sr_openat2(AT_FDCWD, link, &how);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, -ELOOP);
	return LIVE_PASS;
}

int live_openat_direct(struct live *t)
{
	int fd = live_file(t, "f", text, 17);
	struct sr_openat_direct_submitted sub;
	struct sr_openat_direct_completed c;
	struct sr_openat_direct_op op;
	char path[256];

	LIVE_CHECK(t, fd >= 0);
	LIVE_EQ(t, sr_ring_register_files(t->ring, 4), 0);
	live_path(t, "f", path, sizeof(path));
	op = sr_openat_direct(AT_FDCWD, path, O_RDONLY, 0, 2);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 0);
	LIVE_EQ(t, sr_file_slot(c.file), 2);
	return slot_holds_text(t, c.file);
}

int live_openat2_direct(struct live *t)
{
	struct open_how how = { .flags = O_RDONLY, .resolve = RESOLVE_NO_SYMLINKS };
	int fd = live_file(t, "f", text, 17);
	struct sr_openat2_direct_submitted sub;
	struct sr_openat2_direct_completed c;
	struct sr_openat2_direct_op op;
	char path[256];
	int slot;

	LIVE_CHECK(t, fd >= 0);
	LIVE_EQ(t, sr_ring_register_files(t->ring, 4), 0);
	/* Take slot 0 so the kernel's allocation is visible: it must pick 1. */
	LIVE_EQ(t, sr_ring_files_set(t->ring, 0, fd, NULL), 0);
	live_path(t, "f", path, sizeof(path));
	op = sr_openat2_direct(AT_FDCWD, path, &how, SR_IORING_FILE_INDEX_ALLOC);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 1);
	slot = c.res;
	LIVE_EQ(t, sr_file_slot(c.file), slot);
	return slot_holds_text(t, c.file);
}

int live_close(struct live *t)
{
	int fd = live_file(t, "f", text, 17), victim;
	struct sr_close_submitted sub;
	struct sr_close_completed c;
	struct sr_close_op op;
	char path[256];

	LIVE_CHECK(t, fd >= 0);
	live_path(t, "f", path, sizeof(path));
	victim = open(path, O_RDONLY | O_CLOEXEC);	/* not kept: the op closes it */
	LIVE_CHECK(t, victim >= 0);
	op = sr_close(victim);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 0);
	errno = 0;
	LIVE_EQ(t, fcntl(victim, F_GETFD), -1);
	LIVE_EQ(t, errno, EBADF);
	return LIVE_PASS;
}

int live_close_direct(struct live *t)
{
	int fd = live_file(t, "f", text, 17), ret;
	struct sr_buf *b = live_keep_buf(t, sr_buf_alloc(64));
	struct sr_close_direct_submitted sub;
	struct sr_close_direct_completed c;
	struct sr_close_direct_op op;
	struct sr_file h;
	int res = 0;

	LIVE_CHECK(t, fd >= 0 && b);
	LIVE_EQ(t, sr_ring_register_files(t->ring, 4), 0);
	LIVE_EQ(t, sr_ring_files_set(t->ring, 1, fd, &h), 0);
	ret = slot_holds_text(t, h);
	if (ret != LIVE_PASS)
		return ret;
	op = sr_close_direct(1);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 0);
	/* The slot is empty now: the old handle is refused before the kernel sees it. */
	LIVE_EQ(t, lh_read_slot(t->ring, h, b, 0, &res), -EBADF);
	LIVE_CHECK(t, strstr(sr_last_error(), "slot 1 has changed"));
	op = sr_close_direct(1);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, -EBADF);
	return LIVE_PASS;
}

int live_files_update(struct live *t)
{
	int fd = live_file(t, "f", text, 17);
	struct sr_buf *b = live_keep_buf(t, sr_buf_alloc(64));
	struct sr_files_update_submitted sub;
	struct sr_files_update_completed c;
	struct sr_files_update_op op;
	int fds[2];
	struct sr_file h;

	LIVE_CHECK(t, fd >= 0 && b);
	LIVE_EQ(t, sr_ring_register_files(t->ring, 4), 0);
	fds[0] = fd;
	fds[1] = fd;
	/* Slots 2 and 3. */
	op = sr_files_update(fds, 2, 2);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	/* The array is copied: scribbling on it now must not matter. */
	fds[0] = fds[1] = -1;
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 2);
	/* No handle came back: ask for the slots' (files_update moved them on). */
	LIVE_EQ(t, sr_ring_file_handle(t->ring, 2, &h), 0);
	if (slot_holds_text(t, h) != LIVE_PASS)
		return LIVE_FAIL;
	LIVE_EQ(t, sr_ring_file_handle(t->ring, 3, &h), 0);
	return slot_holds_text(t, h);
}

int live_fixed_fd_install(struct live *t)
{
	int fd = live_file(t, "f", text, 17), nfd;
	struct sr_fixed_fd_install_submitted sub;
	struct sr_fixed_fd_install_completed c;
	struct sr_fixed_fd_install_op op;
	struct stat a, b;
	char back[32];

	LIVE_CHECK(t, fd >= 0);
	LIVE_EQ(t, sr_ring_register_files(t->ring, 4), 0);
	LIVE_EQ(t, sr_ring_files_set(t->ring, 2, fd, NULL), 0);
	op = sr_fixed_fd_install(2);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_CHECK(t, c.res >= 0 && c.res != fd);
	nfd = live_keep_fd(t, c.res);
	LIVE_EQ(t, fstat(fd, &a), 0);
	LIVE_EQ(t, fstat(nfd, &b), 0);
	LIVE_CHECK(t, a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	LIVE_EQ(t, pread(nfd, back, sizeof(back), 0), 17);
	LIVE_CHECK(t, memcmp(back, text, 17) == 0);
	/* Without IORING_FIXED_FD_NO_CLOEXEC the new fd is close-on-exec. */
	LIVE_CHECK(t, fcntl(nfd, F_GETFD) & FD_CLOEXEC);
	return LIVE_PASS;
}

int live_statx(struct live *t)
{
	int fd = live_file(t, "f", text, 17), dfd = dir_fd(t);
	struct sr_statx_submitted sub;
	struct sr_statx_completed c;
	struct sr_statx_op op;
	char path[256], link[256];
	struct stat st;

	LIVE_CHECK(t, fd >= 0 && dfd >= 0);
	LIVE_EQ(t, fstat(fd, &st), 0);
	op = sr_statx(dfd, "f", 0, STATX_BASIC_STATS);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 0);
	LIVE_CHECK(t, c.statxbuf.stx_mask & STATX_SIZE);
	LIVE_EQ(t, c.statxbuf.stx_size, 17);
	LIVE_EQ(t, c.statxbuf.stx_ino, st.st_ino);
	LIVE_CHECK(t, S_ISREG(c.statxbuf.stx_mode));

	/* AT_SYMLINK_NOFOLLOW describes the link itself. */
	live_path(t, "f", path, sizeof(path));
	live_path(t, "l", link, sizeof(link));
	LIVE_EQ(t, symlink(path, link), 0);
	op = sr_statx(AT_FDCWD, link, AT_SYMLINK_NOFOLLOW, STATX_TYPE);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 0);
	LIVE_CHECK(t, S_ISLNK(c.statxbuf.stx_mode));
	return LIVE_PASS;
}

int live_renameat(struct live *t)
{
	int fd = live_file(t, "a", text, 17), dfd = dir_fd(t);
	struct sr_renameat_submitted sub;
	struct sr_renameat_completed c;
	struct sr_renameat_op op;
	char pa[256], pb[256], back[32];
	struct stat st;

	LIVE_CHECK(t, fd >= 0 && dfd >= 0 && live_file(t, "c", "other", 5) >= 0);
	live_path(t, "a", pa, sizeof(pa));
	live_path(t, "b", pb, sizeof(pb));
	op = sr_renameat(AT_FDCWD, pa, dfd, "b");
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 0);
	LIVE_CHECK(t, stat(pa, &st) == -1 && errno == ENOENT);
	LIVE_EQ(t, lh_slurp(pb, back, sizeof(back)), 17);
	LIVE_CHECK(t, memcmp(back, text, 17) == 0);

	/* RENAME_NOREPLACE onto an existing name: the flags reach the kernel. */
	op = sr_renameat(dfd, "b", dfd, "c");
	sr_renameat_set_flags(&op, RENAME_NOREPLACE);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, -EEXIST);
	LIVE_EQ(t, stat(pb, &st), 0);
	return LIVE_PASS;
}

int live_unlinkat(struct live *t)
{
	int fd = live_file(t, "f", text, 17), dfd = dir_fd(t);
	struct sr_unlinkat_submitted sub;
	struct sr_unlinkat_completed c;
	struct sr_unlinkat_op op;
	char path[256], dir[256];
	struct stat st;

	LIVE_CHECK(t, fd >= 0 && dfd >= 0);
	live_path(t, "f", path, sizeof(path));
	live_path(t, "d", dir, sizeof(dir));
	LIVE_EQ(t, mkdir(dir, 0755), 0);
	op = sr_unlinkat(AT_FDCWD, path);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 0);
	LIVE_CHECK(t, stat(path, &st) == -1 && errno == ENOENT);

	/* A directory: refused without AT_REMOVEDIR, removed with it. */
	op = sr_unlinkat(dfd, "d");
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, -EISDIR);
	LIVE_EQ(t, stat(dir, &st), 0);
	op = sr_unlinkat(dfd, "d");
	sr_unlinkat_set_flags(&op, AT_REMOVEDIR);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 0);
	LIVE_CHECK(t, stat(dir, &st) == -1 && errno == ENOENT);
	return LIVE_PASS;
}

int live_mkdirat(struct live *t)
{
	int dfd = dir_fd(t);
	struct sr_mkdirat_submitted sub;
	struct sr_mkdirat_completed c;
	struct sr_mkdirat_op op;
	char path[256];
	struct stat st;

	LIVE_CHECK(t, dfd >= 0);
	live_path(t, "d", path, sizeof(path));
	op = sr_mkdirat(AT_FDCWD, path, 0750);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 0);
	LIVE_EQ(t, stat(path, &st), 0);
	LIVE_CHECK(t, S_ISDIR(st.st_mode));
	LIVE_EQ(t, st.st_mode & 0777, 0750);

	/* Relative to dfd, inside the new directory. */
	op = sr_mkdirat(dfd, "d/e", 0700);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 0);
	live_path(t, "d/e", path, sizeof(path));
	LIVE_EQ(t, stat(path, &st), 0);
	LIVE_CHECK(t, S_ISDIR(st.st_mode));
	return LIVE_PASS;
}

int live_symlinkat(struct live *t)
{
	int fd = live_file(t, "f", text, 17), dfd = dir_fd(t);
	struct sr_symlinkat_submitted sub;
	struct sr_symlinkat_completed c;
	struct sr_symlinkat_op op;
	char link[256], target[64], back[32];
	struct stat st;

	LIVE_CHECK(t, fd >= 0 && dfd >= 0);
	op = sr_symlinkat("f", dfd, "l");
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 0);
	live_path(t, "l", link, sizeof(link));
	LIVE_EQ(t, lstat(link, &st), 0);
	LIVE_CHECK(t, S_ISLNK(st.st_mode));
	LIVE_EQ(t, readlink(link, target, sizeof(target)), 1);
	LIVE_EQ(t, target[0], 'f');
	LIVE_EQ(t, lh_slurp(link, back, sizeof(back)), 17);
	LIVE_CHECK(t, memcmp(back, text, 17) == 0);
	return LIVE_PASS;
}

int live_linkat(struct live *t)
{
	int fd = live_file(t, "a", text, 17), dfd = dir_fd(t);
	struct sr_linkat_submitted sub;
	struct sr_linkat_completed c;
	struct sr_linkat_op op;
	char pa[256], pb[256];
	struct stat sa, sb;

	LIVE_CHECK(t, fd >= 0 && dfd >= 0);
	live_path(t, "a", pa, sizeof(pa));
	live_path(t, "b", pb, sizeof(pb));
	op = sr_linkat(AT_FDCWD, pa, dfd, "b");
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 0);
	LIVE_EQ(t, stat(pa, &sa), 0);
	LIVE_EQ(t, stat(pb, &sb), 0);
	LIVE_EQ(t, sa.st_ino, sb.st_ino);
	LIVE_EQ(t, sb.st_nlink, 2);
	return LIVE_PASS;
}

/* --- xattrs: user.* attributes on a file in t->dir ------------------------- */

int live_fsetxattr(struct live *t)
{
	int fd = live_file(t, "f", text, 17);
	struct sr_fsetxattr_submitted sub;
	struct sr_fsetxattr_completed c;
	struct sr_fsetxattr_op op;
	char value[16] = "value1", back[32];

	LIVE_CHECK(t, fd >= 0);
	op = sr_fsetxattr(fd, "user.sr", value, 0, 6);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	memcpy(value, "XXXXXX", 6);	/* copied at submit: this must not show */
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	if (c.res == -EOPNOTSUPP)
		LIVE_SKIP(t, "%s does not support user xattrs", t->dir);
	LIVE_EQ(t, c.res, 0);
	LIVE_EQ(t, fgetxattr(fd, "user.sr", back, sizeof(back)), 6);
	LIVE_CHECK(t, memcmp(back, "value1", 6) == 0);

	/* XATTR_CREATE on an existing name: the flags reach the kernel. */
	op = sr_fsetxattr(fd, "user.sr", "value2", XATTR_CREATE, 6);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, -EEXIST);
	return LIVE_PASS;
}

int live_setxattr(struct live *t)
{
	int fd = live_file(t, "f", text, 17);
	struct sr_setxattr_submitted sub;
	struct sr_setxattr_completed c;
	struct sr_setxattr_op op;
	char path[256], back[32];

	LIVE_CHECK(t, fd >= 0);
	live_path(t, "f", path, sizeof(path));
	op = sr_setxattr("user.sr", "by path", path, 0, 7);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	if (c.res == -EOPNOTSUPP)
		LIVE_SKIP(t, "%s does not support user xattrs", t->dir);
	LIVE_EQ(t, c.res, 0);
	LIVE_EQ(t, getxattr(path, "user.sr", back, sizeof(back)), 7);
	LIVE_CHECK(t, memcmp(back, "by path", 7) == 0);

	/* XATTR_REPLACE of a missing name. */
	op = sr_setxattr("user.missing", "x", path, XATTR_REPLACE, 1);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, -ENODATA);
	return LIVE_PASS;
}

int live_fgetxattr(struct live *t)
{
	int fd = live_file(t, "f", text, 17);
	struct sr_buf *b = live_keep_buf(t, sr_buf_alloc(64));
	struct sr_fgetxattr_submitted sub;
	struct sr_fgetxattr_completed c;
	struct sr_fgetxattr_op op;

	LIVE_CHECK(t, fd >= 0 && b);
	if (fsetxattr(fd, "user.sr", "fget me", 7, 0))
		LIVE_SKIP(t, "%s: no user xattrs: %s", t->dir, strerror(errno));
	op = sr_fgetxattr(fd, "user.sr", b);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_CHECK(t, sr_buf_is_lent(b));
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 7);
	LIVE_CHECK(t, c.value == b && !sr_buf_is_lent(b));
	LIVE_EQ(t, sr_buf_len(b), 7);
	LIVE_CHECK(t, memcmp(sr_buf_data(b), "fget me", 7) == 0);

	op = sr_fgetxattr(fd, "user.missing", b);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, -ENODATA);
	LIVE_CHECK(t, !sr_buf_is_lent(b));
	return LIVE_PASS;
}

int live_getxattr(struct live *t)
{
	int fd = live_file(t, "f", text, 17);
	struct sr_buf *b = live_keep_buf(t, sr_buf_alloc(64));
	struct sr_getxattr_submitted sub;
	struct sr_getxattr_completed c;
	struct sr_getxattr_op op;
	char path[256];

	LIVE_CHECK(t, fd >= 0 && b);
	live_path(t, "f", path, sizeof(path));
	if (setxattr(path, "user.sr", "get by path", 11, 0))
		LIVE_SKIP(t, "%s: no user xattrs: %s", t->dir, strerror(errno));
	op = sr_getxattr("user.sr", b, path);
	LIVE_EQ(t, sr_submit(t->ring, &op, &sub), 0);
	LIVE_CHECK(t, sr_buf_is_lent(b));
	LIVE_EQ(t, sr_wait(t->ring, &sub, &c), 0);
	LIVE_EQ(t, c.res, 11);
	LIVE_CHECK(t, c.value == b && !sr_buf_is_lent(b));
	LIVE_EQ(t, sr_buf_len(b), 11);
	LIVE_CHECK(t, memcmp(sr_buf_data(b), "get by path", 11) == 0);
	return LIVE_PASS;
}
