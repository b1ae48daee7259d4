/* SPDX-License-Identifier: MIT */
/*
 * api-fuzz: failing the library's allocations.  The driver is linked with
 * -Wl,--wrap for the allocation functions the runtime calls, so a sequence
 * can make the N-th allocation from some point fail (and a few after it):
 * per sequence, in-process, also where the runtime has no hook of its own.
 * Built without FZ_WRAP (the libFuzzer build), nothing fails.
 */
#include "fz.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>

static atomic_uint armed;	/* allocations left before the first failure, +1; 0: off */
static atomic_uint burst;	/* failures left once failing */
static atomic_uint fired;

#ifdef FZ_WRAP
const bool fz_oom_available = true;

static bool fail_now(void *caller)
{
	unsigned a = atomic_load_explicit(&armed, memory_order_relaxed);

	while (a > 1) {
		if (atomic_compare_exchange_weak(&armed, &a, a - 1))
			return false;
	}
	if (a == 0)
		return false;
	/* a == 1: failing, for the burst. */
	for (unsigned b = atomic_load(&burst); b;) {
		if (atomic_compare_exchange_weak(&burst, &b, b - 1)) {
			if (b == 1)
				atomic_store(&armed, 0);
			atomic_fetch_add(&fired, 1);
			if (fz_opts.verbose)
				fprintf(stderr, "  allocation failed on purpose (called from %p)\n",
					caller);
			errno = ENOMEM;
			return true;
		}
	}
	return false;
}

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
int __real_posix_memalign(void **p, size_t align, size_t n);
void *__real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
int __wrap_posix_memalign(void **p, size_t align, size_t n);
void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);

void *__wrap_malloc(size_t n)
{
	return fail_now(__builtin_return_address(0)) ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
	return fail_now(__builtin_return_address(0)) ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
	return fail_now(__builtin_return_address(0)) ? NULL : __real_realloc(p, n);
}

int __wrap_posix_memalign(void **p, size_t align, size_t n)
{
	return fail_now(__builtin_return_address(0)) ? ENOMEM : __real_posix_memalign(p, align, n);
}

void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	/* Only anonymous memory: a failing mapping of a ring would not be "memory". */
	if ((flags & MAP_ANONYMOUS) && fail_now(__builtin_return_address(0)))
		return MAP_FAILED;
	return __real_mmap(addr, len, prot, flags, fd, off);
}
#else
const bool fz_oom_available = false;
#endif

void fz_oom_arm(unsigned after, unsigned n)
{
	atomic_store(&burst, n);
	atomic_store(&armed, after + 1);
}

void fz_oom_disarm(void)
{
	atomic_store(&armed, 0);
	atomic_store(&burst, 0);
}

unsigned fz_oom_fired(void)
{
	return atomic_load(&fired);
}
