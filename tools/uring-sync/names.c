/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
/*
 * Directory listings and sets of names (names.h).  getdents64 has no
 * io_uring op: a listing is a system call on the worker's thread.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "names.h"

int us_list_add(struct us_list *l, const char *name, unsigned char type)
{
	size_t len = strlen(name) + 1;

	if (l->len + len > l->cap) {
		size_t cap = l->cap ? l->cap : 4096;
		char *nn;

		while (l->len + len > cap)
			cap *= 2;
		nn = realloc(l->names, cap);
		if (!nn)
			return -ENOMEM;
		l->names = nn;
		l->cap = cap;
	}
	if (l->n == l->tcap) {
		unsigned cap = l->tcap ? l->tcap * 2 : 256;
		unsigned char *nt = realloc(l->types, cap);

		if (!nt)
			return -ENOMEM;
		l->types = nt;
		l->tcap = cap;
	}
	memcpy(l->names + l->len, name, len);
	l->len += len;
	l->types[l->n++] = type;
	return 0;
}

/* Every name of the directory fd but . and .., appended. */
int us_list_read(struct us_list *l, int fd)
{
	char buf[32768];

	for (;;) {
		long got = syscall(SYS_getdents64, fd, buf, sizeof(buf));

		if (got < 0)
			return -errno;
		if (got == 0)
			return 0;
		for (long off = 0; off < got;) {
			struct dirent64 *de = (struct dirent64 *)(buf + off);
			int ret;

			off += de->d_reclen;
			if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
				continue;
			ret = us_list_add(l, de->d_name, de->d_type);
			if (ret < 0)
				return ret;
		}
	}
}

void us_list_free(struct us_list *l)
{
	free(l->names);
	free(l->types);
	*l = (struct us_list){ 0 };
}

static unsigned name_hash(const char *s)
{
	unsigned h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* Room for n names; the names themselves must outlive the set. */
int us_nameset_init(struct us_nameset *ns, unsigned n)
{
	unsigned cap = 16;

	while (cap < n * 2)
		cap <<= 1;
	ns->slot = calloc(cap, sizeof(*ns->slot));
	if (!ns->slot)
		return -ENOMEM;
	ns->mask = cap - 1;
	return 0;
}

/* False if the set has the name already. */
bool us_nameset_insert(struct us_nameset *ns, const char *name)
{
	unsigned i = name_hash(name) & ns->mask;

	for (; ns->slot[i]; i = (i + 1) & ns->mask)
		if (!strcmp(ns->slot[i], name))
			return false;
	ns->slot[i] = name;
	return true;
}

bool us_nameset_has(const struct us_nameset *ns, const char *name)
{
	if (!ns->slot)
		return false;
	for (unsigned i = name_hash(name) & ns->mask; ns->slot[i]; i = (i + 1) & ns->mask)
		if (!strcmp(ns->slot[i], name))
			return true;
	return false;
}
