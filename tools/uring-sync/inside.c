/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
/*
 * Is DST inside a SRC directory (inside.h)?  A copy of a tree into itself
 * would never end.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "inside.h"

/* Undo mountinfo's octal escapes (\040 for a space) in place. */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' &&
		    s[3] <= '7') {
			*o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = 0;
}

static bool under(const char *p, const char *top)
{
	size_t n = strlen(top);

	if (!strcmp(top, "/"))
		return true;
	return !strncmp(p, top, n) && (p[n] == '/' || !p[n]);
}

/*
 * Where a canonical absolute path lies inside its filesystem: the mount
 * that holds it (the longest mount point above it) gives the device and
 * the directory of that filesystem mounted there (a bind mount's root).
 */
static char *fs_path(const char *abs, char *dev, size_t devlen)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[8192], best_root[4096] = "", best_mp[4096] = "";
	size_t best = 0;
	char *out;

	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f)) {
		char mm[64], root[4096], mp[4096];

		if (sscanf(line, "%*d %*d %63s %4095s %4095s", mm, root, mp) != 3)
			continue;
		unescape(root);
		unescape(mp);
		/* A later mount on the same point hides the earlier: take the last. */
		if (under(abs, mp) && strlen(mp) >= best) {
			best = strlen(mp);
			snprintf(best_root, sizeof(best_root), "%s", root);
			snprintf(best_mp, sizeof(best_mp), "%s", mp);
			snprintf(dev, devlen, "%s", mm);
		}
	}
	fclose(f);
	if (!best)
		return NULL;
	out = malloc(strlen(best_root) + strlen(abs) + 2);
	if (out)
		sprintf(out, "%s%s", strcmp(best_root, "/") ? best_root : "",
			strcmp(best_mp, "/") ? abs + strlen(best_mp) : abs);
	if (out && !*out)
		strcpy(out, "/");
	return out;
}

/*
 * DST must not be SRC or inside it: compared by canonical path, by the
 * paths inside their filesystems (a bind mount of a directory of SRC is
 * still inside SRC), and by device and inode of every existing ancestor
 * of DST.  The walk also never enters the destination (walk.c).
 */
int us_dst_inside(const char *src, const struct statx *sst, const char *dst)
{
	char *s = realpath(src, NULL), *d = NULL, *copy = strdup(dst), *p;
	int bad = 0;

	if (!s || !copy) {
		free(s);
		free(copy);
		return -ENOMEM;
	}
	/* The longest existing prefix of DST, canonical, plus the rest. */
	for (p = copy + strlen(copy); !d;) {
		char keep = *p;

		*p = 0;
		d = realpath(*copy ? copy : ".", NULL);
		*p = keep;
		if (d) {
			char *full = malloc(strlen(d) + strlen(p) + 2);

			if (!full)
				break;
			sprintf(full, "%s%s%s", d, *p && *p != '/' ? "/" : "", p);
			free(d);
			d = full;
			break;
		}
		while (p > copy && *--p != '/')
			;
		if (p == copy && !d) {
			d = realpath(".", NULL);
			if (d) {
				char *full = malloc(strlen(d) + strlen(copy) + 2);

				if (full)
					sprintf(full, "%s/%s", d, copy);
				free(d);
				d = full;
			}
			break;
		}
	}
	if (!d) {
		free(s);
		free(copy);
		return -ENOMEM;
	}
	size_t sl = strlen(s);

	if (!strcmp(s, "/") || !strcmp(s, d) || (!strncmp(s, d, sl) && d[sl] == '/'))
		bad = 1;
	if (!bad) {
		char sdev[64] = "", ddev[64] = "", *sf = fs_path(s, sdev, sizeof(sdev)),
		     *df = fs_path(d, ddev, sizeof(ddev));

		if (sf && df && !strcmp(sdev, ddev) && under(df, sf))
			bad = 1;
		free(sf);
		free(df);
	}
	/* Every existing ancestor of DST (and DST) against SRC's device and inode. */
	for (char *q = d + strlen(d); !bad && q >= d; q--) {
		struct stat st;

		if (*q != '/' && q != d + strlen(d))
			continue;
		char keep = *q;

		*q = 0;
		if (stat(*d ? d : "/", &st) == 0 && st.st_ino == sst->stx_ino &&
		    major(st.st_dev) == sst->stx_dev_major && minor(st.st_dev) == sst->stx_dev_minor)
			bad = 1;
		*q = keep;
	}
	free(s);
	free(d);
	free(copy);
	return bad;
}

