/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
/*
 * Include/exclude rules (filter.h).  Paths are relative to the root of
 * the transfer, as the destination sees them ("dir/file"), without a
 * leading or trailing slash.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "filter.h"

struct us_rule {
	char *pat;		/* without the leading / and trailing / */
	bool include;
	bool anchored;		/* a leading /: from the root of the transfer */
	bool dir_only;		/* a trailing /: directories only */
	bool whole;		/* a / or ** inside: matched against the path, not the last name */
};

struct us_filter {
	struct us_rule *r;
	unsigned n, cap;
	bool dir_rules;		/* some rule needs to know whether a name is a directory */
};

/* [...] at p (after the '['); *endp past the ']'.  A class never matches '/'. */
static bool class_match(const char *p, char c, const char **endp)
{
	bool neg = false, hit = false;
	const char *start;

	if (*p == '!' || *p == '^') {
		neg = true;
		p++;
	}
	start = p;
	for (; *p && (*p != ']' || p == start); p++) {
		char lo = *p, hi;

		if (lo == '\\' && p[1])
			lo = *++p;
		hi = lo;
		if (p[1] == '-' && p[2] && p[2] != ']') {
			hi = p[2];
			p += 2;
			if (hi == '\\' && p[1])
				hi = *++p;
		}
		if (c >= lo && c <= hi)
			hit = true;
	}
	if (*p != ']') {		/* no closing ]: a plain '[' */
		*endp = NULL;
		return false;
	}
	*endp = p + 1;
	return c != '/' && hit != neg;
}

/* Shell-like matching where * and ? stop at '/', and ** does not. */
bool us_wildmatch(const char *p, const char *s)
{
	for (; *p; p++, s++) {
		const char *end;

		switch (*p) {
		case '?':
			if (!*s || *s == '/')
				return false;
			break;
		case '*': {
			bool any = p[1] == '*';

			while (*p == '*')
				p++;
			if (!*p)
				return any || !strchr(s, '/');
			for (;; s++) {
				if (us_wildmatch(p, s))
					return true;
				if (!*s || (!any && *s == '/'))
					return false;
			}
		}
		case '[':
			if (!*s)
				return false;
			if (class_match(p + 1, *s, &end)) {
				p = end - 1;
				break;
			}
			if (end)
				return false;
			if (*s != '[')		/* an unclosed [ is itself */
				return false;
			break;
		case '\\':
			if (p[1])
				p++;
			/* fall through */
		default:
			if (*p != *s)
				return false;
		}
	}
	return !*s;
}

static int push(struct us_filter **fp, const char *pat, size_t len, bool include, bool dir_only_extra)
{
	struct us_filter *f = *fp;
	struct us_rule *r;

	if (!f && !(f = *fp = calloc(1, sizeof(*f))))
		return -ENOMEM;
	if (f->n == f->cap) {
		unsigned n = f->cap ? f->cap * 2 : 16;
		struct us_rule *nr = realloc(f->r, n * sizeof(*nr));

		if (!nr)
			return -ENOMEM;
		f->r = nr;
		f->cap = n;
	}
	r = &f->r[f->n];
	*r = (struct us_rule){ .include = include, .dir_only = dir_only_extra };
	if (len && pat[0] == '/') {
		r->anchored = true;
		pat++;
		len--;
	}
	if (len > 1 && pat[len - 1] == '/') {
		r->dir_only = true;
		len--;
	}
	r->pat = strndup(pat, len);
	if (!r->pat)
		return -ENOMEM;
	r->whole = strchr(r->pat, '/') || strstr(r->pat, "**");
	if (r->dir_only)
		f->dir_rules = true;
	f->n++;
	return 0;
}

static void clear(struct us_filter *f)
{
	for (unsigned i = 0; f && i < f->n; i++)
		free(f->r[i].pat);
	if (f) {
		f->n = 0;
		f->dir_rules = false;
	}
}

/*
 * One rule: "- PAT", "+ PAT" (or "-_PAT"), "exclude PAT", "include PAT",
 * "!"; a bare PAT takes include_default, or is an error when that is
 * negative (--filter wants the kind spelled out).
 */
static int add(struct us_filter **fp, const char *rule, int include_default, const char **err)
{
	bool include;
	const char *pat = rule;
	size_t len;

	if (!strcmp(rule, "!")) {
		clear(*fp);
		return 0;
	}
	if ((rule[0] == '-' || rule[0] == '+') && (rule[1] == ' ' || rule[1] == '_')) {
		include = rule[0] == '+';
		pat = rule + 2;
	} else if (!strncmp(rule, "exclude ", 8) || !strncmp(rule, "include ", 8)) {
		include = rule[0] == 'i';
		pat = rule + 8;
	} else if (include_default < 0) {
		*err = "not a rule this tool knows (+ PATTERN, - PATTERN, include PATTERN, exclude PATTERN, "
		       "or !; modifiers, merge files and other rule kinds are not supported)";
		return -EINVAL;
	} else {
		include = include_default;
	}
	len = strlen(pat);
	if (!len) {
		*err = "an empty pattern";
		return -EINVAL;
	}
	/* A final slash and three stars: the directory itself, and everything in it. */
	if (len >= 4 && !strcmp(pat + len - 4, "/***")) {
		int ret = push(fp, pat, len - 3, include, true);

		return ret < 0 ? ret : push(fp, pat, len - 1, include, false);
	}
	return push(fp, pat, len, include, false);
}

int us_filter_add(struct us_filter **f, const char *rule, bool include_default, const char **err)
{
	return add(f, rule, include_default, err);
}

/* --filter RULE: the rule kind must be spelled out. */
int us_filter_rule(struct us_filter **f, const char *rule, const char **err)
{
	return add(f, rule, -1, err);
}

/* Rules from a file ("-" for stdin): one per line; blank lines and lines starting with ; or # are skipped. */
int us_filter_add_file(struct us_filter **f, const char *path, bool include_default, const char **err)
{
	FILE *in = strcmp(path, "-") ? fopen(path, "re") : stdin;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int ret = 0;

	if (!in) {
		*err = strerror(errno);
		return -errno;
	}
	while (!ret && (n = getline(&line, &cap, in)) >= 0) {
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = 0;
		if (!n || line[0] == ';' || line[0] == '#')
			continue;
		ret = add(f, line, include_default, err);
	}
	free(line);
	if (in != stdin)
		fclose(in);
	return ret;
}

bool us_filter_active(const struct us_filter *f)
{
	return f && f->n;
}

static bool rule_matches(const struct us_rule *r, const char *path)
{
	const char *base;

	if (r->anchored)
		return us_wildmatch(r->pat, path);
	if (!r->whole) {
		base = strrchr(path, '/');
		return us_wildmatch(r->pat, base ? base + 1 : path);
	}
	/* The path, and every tail of it that starts at a directory boundary. */
	for (const char *p = path; p; p = strchr(p, '/')) {
		if (*p == '/')
			p++;
		if (us_wildmatch(r->pat, p))
			return true;
	}
	return false;
}

enum us_fres us_filter_check(const struct us_filter *f, const char *path, enum us_ftype type)
{
	if (!f || !f->n)
		return US_F_INCLUDED;
	if (type == US_F_UNKNOWN && f->dir_rules)
		return US_F_NEEDTYPE;
	for (unsigned i = 0; i < f->n; i++) {
		const struct us_rule *r = &f->r[i];

		if (r->dir_only && type != US_F_DIR)
			continue;
		if (rule_matches(r, path))
			return r->include ? US_F_INCLUDED : US_F_EXCLUDED;
	}
	return US_F_INCLUDED;
}

void us_filter_free(struct us_filter *f)
{
	clear(f);
	if (f)
		free(f->r);
	free(f);
}
