/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
/*
 * Per-worker data buffers.  Sizes come in classes (4 KiB to 512 KiB,
 * powers of two); freed blocks stay on their class's free list for the
 * next file.  Everything a worker holds, free or in flight, counts
 * against its share of --max-memory: when a block does not fit, free
 * blocks of other classes are released first, and when that is not
 * enough the caller waits until one of its own writes completes.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mem.h"

static unsigned class_of(size_t len)
{
	unsigned c = 0;

	while (c < US_NCLASS - 1 && ((size_t)4096 << c) < len)
		c++;
	return c;
}

static size_t class_size(unsigned c)
{
	return (size_t)4096 << c;
}

/* The free list's link lives in the block's first bytes. */
static void *pop(struct us_worker *w, unsigned c)
{
	void *m = w->free_mem[c];

	if (m)
		memcpy(&w->free_mem[c], m, sizeof(void *));
	return m;
}

static void release_one(struct us_worker *w, unsigned c)
{
	void *m = pop(w, c);

	free(m);
	w->mem_used -= class_size(c);
}

bool us_mem_room(struct us_worker *w, size_t len)
{
	unsigned c = class_of(len);
	size_t have = w->mem_budget - w->mem_used;

	if (w->free_mem[c] || have >= class_size(c))
		return true;
	for (unsigned i = 0; i < US_NCLASS; i++)
		for (void *m = w->free_mem[i]; m && have < class_size(c); memcpy(&m, m, sizeof(m)))
			have += class_size(i);
	return have >= class_size(c);
}

void *us_mem_get(struct us_worker *w, size_t len, unsigned *cls)
{
	unsigned c = class_of(len);
	size_t sz = class_size(c);
	void *m = pop(w, c);

	*cls = c;
	if (m)
		return m;
	for (unsigned i = US_NCLASS; w->mem_used + sz > w->mem_budget && i-- > 0;)
		while (w->free_mem[i] && w->mem_used + sz > w->mem_budget)
			release_one(w, i);
	if (w->mem_used + sz > w->mem_budget)
		return NULL;
	if (posix_memalign(&m, 4096, sz))
		return NULL;
	w->mem_used += sz;
	return m;
}

void us_mem_put(struct us_worker *w, void *mem, unsigned cls)
{
	if (!mem)
		return;
	memcpy(mem, &w->free_mem[cls], sizeof(void *));
	w->free_mem[cls] = mem;
}

/*
 * Pipes for splice, made on demand up to max_pipes, each paying two fds
 * out of the worker's share; a pipe that failed midway may hold data and
 * is closed instead of reused.
 */
struct us_pipe *us_pipe_get(struct us_worker *w)
{
	struct us_pipe *p = w->pipes;
	int fds[2], have;

	if (p) {
		w->pipes = p->next;
		return p;
	}
	if (w->npipes >= w->max_pipes)
		return NULL;
	have = atomic_load(&w->fds);
	/* Leave room for two files: pipes are a speed-up, files must go on. */
	do {
		if (have < 6)
			return NULL;
	} while (!atomic_compare_exchange_weak(&w->fds, &have, have - 2));
	p = calloc(1, sizeof(*p));
	if (!p || pipe2(fds, O_CLOEXEC) < 0) {
		free(p);
		atomic_fetch_add(&w->fds, 2);
		w->max_pipes = w->npipes;	/* do not try again */
		return NULL;
	}
	p->r = fds[0];
	p->w = fds[1];
	/* A chunk at once; the default 64 KiB where the limit forbids more. */
	int cap = fcntl(p->w, F_SETPIPE_SZ, US_CHUNK);

	p->cap = cap > 0 ? (unsigned)cap : (unsigned)fcntl(p->w, F_GETPIPE_SZ);
	if ((int)p->cap <= 0)
		p->cap = 65536;
	w->npipes++;
	return p;
}

void us_pipe_put(struct us_worker *w, struct us_pipe *p, bool broken)
{
	if (broken) {
		close(p->r);
		close(p->w);
		free(p);
		w->npipes--;
		atomic_fetch_add(&w->fds, 2);
		return;
	}
	p->next = w->pipes;
	w->pipes = p;
}

void us_mem_destroy(struct us_worker *w)
{
	while (w->pipes) {
		struct us_pipe *p = w->pipes;

		w->pipes = p->next;
		us_pipe_put(w, p, true);
	}
	for (unsigned c = 0; c < US_NCLASS; c++)
		while (w->free_mem[c])
			release_one(w, c);
}
