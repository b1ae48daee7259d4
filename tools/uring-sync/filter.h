/* SPDX-License-Identifier: MIT */
/*
 * uring-sync: include/exclude rules, rsync's common subset: "+ PATTERN"
 * and "- PATTERN" (--include, --exclude, their -from files, --filter),
 * "!" to clear the list; a leading / anchors a pattern at the root of the
 * transfer, a trailing / matches directories only, a pattern with a / or
 * "**" in it matches the whole path (at any directory boundary unless
 * anchored), others the last component; * matches within a component,
 * ** across them, ? one character, [...] a class; a final "/" and three
 * stars stand for the directory and everything in it.  The first rule
 * that matches decides; none: included.
 */
#ifndef URING_SYNC_FILTER_H
#define URING_SYNC_FILTER_H

#include <stdbool.h>

enum us_ftype {
	US_F_NOTDIR,
	US_F_DIR,
	US_F_UNKNOWN,		/* not known yet: US_F_NEEDTYPE may come back */
};

enum us_fres {
	US_F_INCLUDED,
	US_F_EXCLUDED,
	US_F_NEEDTYPE,		/* a rule for directories only: stat it, then ask again */
};

struct us_filter;

int us_filter_add(struct us_filter **f, const char *rule, bool include_default, const char **err);
int us_filter_rule(struct us_filter **f, const char *rule, const char **err);
int us_filter_add_file(struct us_filter **f, const char *path, bool include_default, const char **err);
bool us_filter_active(const struct us_filter *f);
enum us_fres us_filter_check(const struct us_filter *f, const char *path, enum us_ftype type);
bool us_wildmatch(const char *pat, const char *s);
void us_filter_free(struct us_filter *f);

#endif
