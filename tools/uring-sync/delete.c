/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
/*
 * A listed destination directory, before its entries are copied
 * (delete.h): temporaries an interrupted run left are removed, and with
 * --delete every name the source lacks (a directory with everything in
 * it), unless the filter excludes it (--delete-excluded: even then).
 * A dry run lists what would go.  These are system calls on the lister's
 * thread: deletions are rare, and a tree is removed depth first through
 * the fds of its directories, never through a path that could be swapped
 * for a symlink.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "delete.h"
#include "filter.h"
#include "place.h"

static void fail(const char *rel, const char *what, int err)
{
	atomic_fetch_add(&us_c->s.errors, 1);
	us_fail(us_c->dst_prefix, rel, NULL, what, err);
}

static unsigned char type_at(int dfd, const char *name)
{
	struct stat st;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return DT_UNKNOWN;
	return S_ISDIR(st.st_mode) ? DT_DIR : DT_REG;
}

/* Kept by --delete (not --delete-excluded): a name the filter excludes. */
static bool protected(int dfd, const char *name, const char *rel, unsigned char *type)
{
	enum us_fres f;

	if (us_c->o.delete_excluded || !us_filter_active(us_c->o.filter))
		return false;
	f = us_filter_check(us_c->o.filter, rel, *type == DT_DIR ? US_F_DIR : *type == DT_UNKNOWN ? US_F_UNKNOWN :
			    US_F_NOTDIR);
	if (f == US_F_NEEDTYPE) {
		*type = type_at(dfd, name);
		f = us_filter_check(us_c->o.filter, rel, *type == DT_DIR ? US_F_DIR : US_F_NOTDIR);
	}
	return f == US_F_EXCLUDED;
}

/*
 * name in dfd, shown as rel; a directory with everything in it, deepest
 * first, but for what the filter protects: a directory that keeps some
 * stays, as with rsync, which is not a failure.
 */
static bool remove_tree(int dfd, const char *name, const char *rel, unsigned char type)
{
	bool dry = us_c->o.dry_run, kept = false;

	if (type == DT_UNKNOWN)
		type = type_at(dfd, name);
	if (type == DT_DIR) {
		struct us_list l = { 0 };
		int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), ret;
		unsigned i = 0;

		if (fd < 0) {
			fail(rel, "open directory to delete", -errno);
			return false;
		}
		ret = us_list_read(&l, fd);
		if (ret < 0)
			fail(rel, "list directory to delete", ret);
		for (char *p = l.names; !ret && p && p < l.names + l.len; p += strlen(p) + 1, i++) {
			char *sub = us_relpath(rel, p);

			if (!sub) {
				fail(rel, "delete", -ENOMEM);
				break;
			}
			unsigned char t = l.types[i];

			if (protected(fd, p, sub, &t))
				kept = true;
			else if (!remove_tree(fd, p, sub, t))
				kept = true;
			free(sub);
		}
		us_list_free(&l);
		close(fd);
		if (kept) {
			us_msg("cannot delete non-empty directory: %s", rel);
			return false;
		}
		us_item("delete", rel, NULL, "/");
		if (!dry && unlinkat(dfd, name, AT_REMOVEDIR) < 0) {
			fail(rel, "delete", -errno);
			return false;
		}
	} else {
		us_item("delete", rel, NULL, NULL);
		if (!dry && unlinkat(dfd, name, 0) < 0) {
			fail(rel, "delete", -errno);
			return false;
		}
	}
	atomic_fetch_add(&us_c->s.deleted, 1);
	return true;
}

/* With --delete, a non-empty directory in the way of an entry goes, with everything in it. */
bool us_delete_in_way(struct us_job *j)
{
	return remove_tree(j->dir->dfd, j->ent->name, us_job_rel(j), DT_DIR);
}

static int src_names(struct us_dir *d, struct us_nameset *ns)
{
	if (ns->slot)
		return 0;
	if (us_nameset_init(ns, d->nents) < 0)
		return -ENOMEM;
	for (unsigned i = 0; i < d->nents; i++)
		us_nameset_insert(ns, d->ents[i].name);
	return 0;
}

void us_delete_extras(struct us_job *j, const struct us_list *dst)
{
	struct us_dir *d = j->dir;
	bool del = us_c->o.del && d->transfer;
	struct us_nameset src = { 0 };
	char path[8192];
	size_t rl = strlen(d->rel);
	unsigned i = 0;

	memcpy(path, d->rel, rl);
	if (rl)
		path[rl++] = '/';
	for (char *p = dst->names; p && p < dst->names + dst->len; p += strlen(p) + 1, i++) {
		unsigned char t = dst->types[i];

		if (!us_is_tmpname(p) && (!del || !strcmp(p, US_PARTIAL_DIR)))
			continue;
		if (src_names(d, &src) < 0) {
			fail(d->rel, "delete", -ENOMEM);
			break;
		}
		if (us_nameset_has(&src, p))
			continue;
		snprintf(path + rl, sizeof(path) - rl, "%s", p);
		if (us_is_tmpname(p)) {
			/* A leftover temporary of an interrupted run (unless the filter protects the name). */
			if (protected(d->dfd, p, path, &t))
				continue;
			if (!us_c->o.dry_run && unlinkat(d->dfd, p, 0) < 0 && errno != ENOENT)
				fail(path, "remove leftover temporary", -errno);
			continue;
		}
		if (protected(d->dfd, p, path, &t))
			continue;
		if (!us_c->o.dry_run)
			us_dir_prepare(j);
		remove_tree(d->dfd, p, path, t);
	}
	free(src.slot);
}
