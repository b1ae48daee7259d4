/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
/*
 * Metadata of one entry, made equal to the source's: owner, extended
 * attributes (POSIX ACLs are the system.posix_acl_* attributes), mode,
 * times, in that order: chown clears setuid bits and file capabilities
 * (security.capability), and every change but the times moves ctime only.
 *
 * Listing attributes and fchown/fchmod/utimensat have no io_uring op and
 * are plain syscalls; each value is read and written with fgetxattr/
 * fsetxattr on an open file, or getxattr/setxattr by path otherwise
 * (l*xattr syscalls for symlinks, which io_uring's path ops follow).
 * With dry set, nothing is changed: the differences are only noted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <linux/limits.h>

#include "meta.h"

/*
 * What -X and -A copy, as rsync: user.* (and as root trusted.* and
 * security.*), and the POSIX ACLs, which are system.posix_acl_*.
 */
bool us_xattr_wanted(const char *name)
{
	if (!strncmp(name, "system.", 7))
		return us_c->o.acls && (!strcmp(name, "system.posix_acl_access") ||
					!strcmp(name, "system.posix_acl_default"));
	if (!us_c->o.xattrs)
		return false;
	return !strncmp(name, "user.", 5) ||
	       (us_c->root && (!strncmp(name, "trusted.", 8) || !strncmp(name, "security.", 9)));
}

#ifndef SYS_listxattrat
#define SYS_listxattrat 465	/* Linux 6.13; the same number on every architecture */
#endif

static atomic_bool no_listxattrat;

/*
 * listxattr has no io_uring op.  By name in a directory: listxattrat
 * (6.13) where the kernel has it, else through /proc/self/fd, which
 * costs a walk of the magic link every time.
 */
static ssize_t list_raw(const struct us_ref *ref, char *buf, size_t len)
{
	char path[4200];
	ssize_t n;
	int ret;

	if (ref->fd >= 0)
		return (n = flistxattr(ref->fd, buf, len)) < 0 ? -errno : n;
	if (!atomic_load_explicit(&no_listxattrat, memory_order_relaxed)) {
		n = syscall(SYS_listxattrat, ref->dirfd, ref->name, AT_SYMLINK_NOFOLLOW, buf, len);
		if (n >= 0 || errno != ENOSYS)
			return n < 0 ? -errno : n;
		atomic_store(&no_listxattrat, true);
	}
	ret = us_proc_path(path, sizeof(path), ref->dirfd, ref->name);
	if (ret < 0)
		return ret;
	n = llistxattr(path, buf, len);
	return n < 0 ? -errno : n;
}

/*
 * The names of the attributes we copy, NUL-separated, in a malloc'ed
 * list (*out is NULL when there are none).  A filesystem without xattrs
 * has none.
 */
ssize_t us_listxattr(const struct us_ref *ref, char **out)
{
	char small[1024], *buf = small, *res;
	size_t cap = sizeof(small);
	ssize_t n, kept = 0;

	*out = NULL;
	for (;;) {
		n = list_raw(ref, buf, cap);
		if (n != -ERANGE)
			break;
		n = list_raw(ref, NULL, 0);
		if (n < 0)
			break;
		if (buf != small)
			free(buf);
		cap = (size_t)n + 256;
		buf = malloc(cap);
		if (!buf)
			return -ENOMEM;
	}
	if (n == -ENOTSUP || n <= 0) {
		if (buf != small)
			free(buf);
		return n == -ENOTSUP ? 0 : n;
	}
	res = malloc((size_t)n);
	if (!res) {
		kept = -ENOMEM;
		goto out;
	}
	for (char *p = buf; p < buf + n; p += strlen(p) + 1) {
		size_t l = strlen(p) + 1;

		if (!us_xattr_wanted(p))
			continue;
		memcpy(res + kept, p, l);
		kept += (ssize_t)l;
	}
	if (kept)
		*out = res;
	else
		free(res);
out:
	if (buf != small)
		free(buf);
	return kept;
}

static bool in_list(const char *list, ssize_t len, const char *name)
{
	for (const char *p = list; p && p < list + len; p += strlen(p) + 1)
		if (!strcmp(p, name))
			return true;
	return false;
}

static bool in_groups(gid_t g)
{
	if (g == us_c->egid)
		return true;
	for (int i = 0; i < us_c->ngroups; i++)
		if (us_c->groups[i] == g)
			return true;
	return false;
}

static void warn(struct us_job *j, struct us_meta *m, const char *what, int err)
{
	m->err = m->err ? m->err : err;
	us_job_fail(j, "dst", what, err);
}

/* The job's metadata state, cleared. */
struct us_meta *us_meta_new(struct us_job *j)
{
	if (!j->meta)
		j->meta = calloc(1, sizeof(*j->meta));
	else
		memset(j->meta, 0, sizeof(*j->meta));
	return j->meta;
}

/*
 * A new entry, made with mode: its owner is us, and the directory's
 * group if that is setgid; it may replace an older entry (without -p,
 * whose mode it keeps).
 */
void us_meta_fresh(struct us_job *j, struct us_meta *m, mode_t mode)
{
	struct statx *d = &m->dst_st;

	m->fresh = true;
	m->created = true;
	m->old_mode = j->dst_exists ? j->dst.stx_mode : 0;
	memset(d, 0, sizeof(*d));
	d->stx_uid = us_c->euid;
	d->stx_gid = j->dir->dst_setgid ? j->dir->dst_gid : us_c->egid;
	d->stx_mode = (uint16_t)mode;
}

static void inplace_meta_done(struct us_job *j)
{
	if (j->meta->changed) {
		us_item("meta", j->dir->rel, j->ent->name, NULL);
		atomic_fetch_add(&us_c->s.updated, 1);
	}
	us_job_done(j);
}

/* The destination entry is right but for metadata: fix it where it is. */
void us_inplace_meta(struct us_job *j)
{
	struct us_meta *m = us_meta_new(j);
	bool lnk = S_ISLNK(j->st.stx_mode);

	if (!m) {
		us_job_fail(j, "dst", "metadata", -ENOMEM);
		us_job_done(j);
		return;
	}
	m->src = (struct us_ref){ .fd = -1, .dirfd = j->sdirfd, .name = j->sname, .symlink = lnk };
	m->dst = (struct us_ref){ .fd = -1, .dirfd = j->dir->dfd, .name = j->ent->name, .symlink = lnk };
	m->sst = &j->st;
	m->dst_st = j->dst;
	m->fresh = false;
	m->dry = us_c->o.dry_run;
	m->done = inplace_meta_done;
	j->placed = true;
	us_meta_start(j, m);
}

static void meta_rest(struct us_job *j);
static void meta_owner(struct us_job *j);
static void meta_get(struct us_job *j);
static void got_src(struct us_opc *o, int res);
static void got_dst(struct us_opc *o, int res);
static void set_done(struct us_opc *o, int res);
static void do_set(struct us_job *j);

void us_meta_start(struct us_job *j, struct us_meta *m)
{
	j->meta = m;
	m->changed = 0;
	m->err = 0;
	m->sl = m->dl = NULL;
	m->vs = m->vd = NULL;
	m->sll = us_listxattr(&m->src, &m->sl);
	if (m->sll < 0) {
		us_job_fail(j, "src", "list xattrs", (int)m->sll);
		m->err = (int)m->sll;
		m->sll = 0;
	}
	m->dll = 0;
	if (!m->fresh) {
		m->dll = us_listxattr(&m->dst, &m->dl);
		if (m->dll < 0) {
			warn(j, m, "list xattrs", (int)m->dll);
			m->dll = 0;
		}
	}
	m->cur = m->sll > 0 ? m->sl : NULL;
	meta_owner(j);
	meta_get(j);
}

static void advance(struct us_job *j)
{
	struct us_meta *m = j->meta;

	m->cur += strlen(m->cur) + 1;
	if (m->cur >= m->sl + m->sll)
		m->cur = NULL;
	meta_get(j);
}

static struct sr_buf *grow(struct sr_buf **b)
{
	sr_buf_free(*b);
	*b = sr_buf_alloc(XATTR_SIZE_MAX);
	return *b;
}

static void meta_get(struct us_job *j)
{
	struct us_meta *m = j->meta;

	if (!m->cur || us_stopped()) {
		meta_rest(j);
		return;
	}
	if (!m->vs && !(m->vs = sr_buf_alloc(4096))) {
		warn(j, m, "xattr buffer", -ENOMEM);
		meta_rest(j);
		return;
	}
	m->op[0].fn = got_src;
	m->op[0].owner = j;
	us_op_getxattr(j->w, &m->op[0], &m->src, m->cur, m->vs);
}

static void got_src(struct us_opc *o, int res)
{
	struct us_job *j = o->owner;
	struct us_meta *m = j->meta;
	char what[300];

	if (res == -ERANGE && sr_buf_cap(m->vs) < XATTR_SIZE_MAX && grow(&m->vs)) {
		meta_get(j);
		return;
	}
	if (res == -ENODATA) {		/* removed since it was listed */
		advance(j);
		return;
	}
	if (res < 0) {
		snprintf(what, sizeof(what), "read xattr %s", m->cur);
		us_job_fail(j, "src", what, res);
		m->err = res;
		advance(j);
		return;
	}
	m->slen = res;
	if (!m->fresh && in_list(m->dl, m->dll, m->cur)) {
		if (!m->vd && !(m->vd = sr_buf_alloc(sr_buf_cap(m->vs)))) {
			warn(j, m, "xattr buffer", -ENOMEM);
			advance(j);
			return;
		}
		m->op[1].fn = got_dst;
		m->op[1].owner = j;
		us_op_getxattr(j->w, &m->op[1], &m->dst, m->cur, m->vd);
		return;
	}
	do_set(j);
}

static void do_set(struct us_job *j)
{
	struct us_meta *m = j->meta;

	m->changed |= US_CH_XATTR;
	if (m->dry) {
		advance(j);
		return;
	}
	m->op[0].fn = set_done;
	m->op[0].owner = j;
	us_op_setxattr(j->w, &m->op[0], &m->dst, m->cur, sr_buf_data(m->vs), (unsigned)m->slen);
}

static void got_dst(struct us_opc *o, int res)
{
	struct us_job *j = o->owner;
	struct us_meta *m = j->meta;

	if (res == -ERANGE && sr_buf_cap(m->vd) < XATTR_SIZE_MAX && grow(&m->vd)) {
		m->op[1].fn = got_dst;
		us_op_getxattr(j->w, &m->op[1], &m->dst, m->cur, m->vd);
		return;
	}
	if (res == m->slen && !memcmp(sr_buf_data(m->vs), sr_buf_data(m->vd), (size_t)res)) {
		advance(j);
		return;
	}
	do_set(j);
}

static void set_done(struct us_opc *o, int res)
{
	struct us_job *j = o->owner;
	struct us_meta *m = j->meta;
	char what[300];

	if (res < 0) {
		if (res == -ENOSPC || res == -EDQUOT)
			us_set_stop(US_STOP_NOSPC);
		snprintf(what, sizeof(what), "set xattr %s", m->cur);
		warn(j, m, what, res);
	}
	advance(j);
}

static void remove_extras(struct us_job *j)
{
	struct us_meta *m = j->meta;
	char path[4200], what[300];

	for (char *p = m->dl; p && p < m->dl + m->dll; p += strlen(p) + 1) {
		int ret;

		if (in_list(m->sl, m->sll, p))
			continue;
		m->changed |= US_CH_XATTR;
		if (m->dry)
			continue;
		if (m->dst.fd >= 0) {
			ret = fremovexattr(m->dst.fd, p);
		} else {
			ret = us_proc_path(path, sizeof(path), m->dst.dirfd, m->dst.name);
			if (!ret)
				ret = lremovexattr(path, p);
		}
		if (ret < 0 && errno != ENODATA) {
			snprintf(what, sizeof(what), "remove xattr %s", p);
			warn(j, m, what, -errno);
		}
	}
}

static bool same_time(const struct statx_timestamp *a, const struct statx_timestamp *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/* Owner first: chown clears setuid/setgid bits and file capabilities, set after it. */
static void meta_owner(struct us_job *j)
{
	struct us_meta *m = j->meta;
	const struct statx *s = m->sst, *d = &m->dst_st;
	const struct us_ref *r = &m->dst;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;

	m->chowned = false;
	if (us_c->o.owner && us_c->root && s->stx_uid != d->stx_uid)
		uid = s->stx_uid;
	if (us_c->o.group && s->stx_gid != d->stx_gid && (us_c->root || in_groups(s->stx_gid)))
		gid = s->stx_gid;
	if (uid == (uid_t)-1 && gid == (gid_t)-1)
		return;
	m->changed |= US_CH_OWNER;
	if (m->dry)
		return;
	if ((r->fd >= 0 ? fchown(r->fd, uid, gid) : fchownat(r->dirfd, r->name, uid, gid, AT_SYMLINK_NOFOLLOW)) < 0)
		warn(j, m, "set owner", -errno);
	else
		m->chowned = true;
}

/*
 * The mode to give: the source's with -p; without, as rsync: an entry
 * made now gets the source's permission bits under the umask, or those of
 * the entry it replaces; an entry that was there keeps its own (old_mode:
 * a directory made writable for the run).
 */
static mode_t want_mode(const struct us_meta *m)
{
	if (us_c->o.perms)
		return m->sst->stx_mode & 07777;
	if (m->fresh || m->created)
		return m->old_mode ? m->old_mode & 07777 : m->sst->stx_mode & 0777 & ~us_c->o.umask;
	return (m->old_mode ? m->old_mode : m->dst_st.stx_mode) & 07777;
}

static void meta_rest(struct us_job *j)
{
	struct us_meta *m = j->meta;
	const struct statx *s = m->sst, *d = &m->dst_st;
	const struct us_ref *r = &m->dst;
	int ret;

	if (us_stopped())
		goto out;
	remove_extras(j);
	if (!r->symlink) {
		mode_t want = want_mode(m), have = d->stx_mode & 07777;

		if (want != have)
			m->changed |= US_CH_MODE;
		if (!m->dry && (want != have || (m->chowned && (want & 06000)))) {
			ret = r->fd >= 0 ? fchmod(r->fd, want) : fchmodat(r->dirfd, r->name, want, 0);
			if (ret < 0)
				warn(j, m, "set mode", -errno);
		}
	}
	if (us_c->o.times && (m->fresh || !same_time(&s->stx_mtime, &d->stx_mtime))) {
		struct timespec ts[2] = {
			{ .tv_sec = s->stx_atime.tv_sec, .tv_nsec = s->stx_atime.tv_nsec },
			{ .tv_sec = s->stx_mtime.tv_sec, .tv_nsec = s->stx_mtime.tv_nsec },
		};

		if (!m->fresh)
			m->changed |= US_CH_TIMES;
		if (!m->dry) {
			ret = r->fd >= 0 ? futimens(r->fd, ts) :
			      utimensat(r->dirfd, r->name, ts, AT_SYMLINK_NOFOLLOW);
			if (ret < 0)
				warn(j, m, "set times", -errno);
		}
	}
out:
	free(m->sl);
	free(m->dl);
	m->sl = m->dl = NULL;
	sr_buf_free(m->vs);
	sr_buf_free(m->vd);
	m->vs = m->vd = NULL;
	m->done(j);
}
