/* SPDX-License-Identifier: MIT */
/*
 * Every allocation the library makes goes through here, so a test can make
 * any one of them fail: SR_FAIL_ALLOC=N fails the N-th (counting from 1 in
 * the process), SR_FAIL_ALLOC=N+ that one and every later one.  The library
 * must then return -ENOMEM from the call that can still say so, and lose
 * nothing (docs/safety.md, "Out of memory").
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "base.h"

static long fail_at = -1;	/* 0: count only */
static bool fail_after;
static long allocs;
static long mappings;	/* live sr__mmap mappings: munmap leaves no trace LSan sees */
static pthread_once_t fail_once = PTHREAD_ONCE_INIT;

static void fail_init(void)
{
	const char *s = getenv("SR_FAIL_ALLOC");
	char *end;
	long n;

	if (!s || !*s)
		return;
	n = strtol(s, &end, 10);
	if (n < 0 || (*end && strcmp(end, "+")))
		return;
	fail_after = *end == '+';
	fail_at = n;
}

/* Does this allocation fail on purpose? */
static bool injected(void)
{
	long n;

	pthread_once(&fail_once, fail_init);
	if (sr__likely(fail_at < 0))
		return false;
	n = __atomic_add_fetch(&allocs, 1, __ATOMIC_RELAXED);
	if (n == fail_at || (fail_after && n > fail_at)) {
		errno = ENOMEM;
		return true;
	}
	return false;
}

/* Tests: fail the n-th allocation from now, as SR_FAIL_ALLOC would (once). */
void sr__fail_alloc_in(long n)
{
	pthread_once(&fail_once, fail_init);
	fail_after = false;
	__atomic_store_n(&fail_at, __atomic_load_n(&allocs, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

/* How many allocations were made (while SR_FAIL_ALLOC is set). */
long sr__alloc_count(void)
{
	return __atomic_load_n(&allocs, __ATOMIC_RELAXED);
}

void *sr__malloc(size_t n)
{
	return injected() ? NULL : malloc(n);
}

void *sr__calloc(size_t n, size_t size)
{
	return injected() ? NULL : calloc(n, size);
}

void *sr__realloc(void *p, size_t n)
{
	return injected() ? NULL : realloc(p, n);
}

void *sr__memalign(size_t align, size_t n)
{
	void *p;

	if (injected() || posix_memalign(&p, align, n ? n : 1))
		return NULL;
	return p;
}

void *sr__mmap(size_t n)
{
	void *p;

	if (injected())
		return NULL;
	p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	__atomic_add_fetch(&mappings, 1, __ATOMIC_RELAXED);
	return p;
}

void sr__munmap(void *p, size_t n)
{
	munmap(p, n);
	__atomic_sub_fetch(&mappings, 1, __ATOMIC_RELAXED);
}

/* How many of the library's mappings are live (the tests' leak check). */
long sr__mappings(void)
{
	return __atomic_load_n(&mappings, __ATOMIC_RELAXED);
}
