/* SPDX-License-Identifier: MIT */
/*
 * NUMA-aware pools: a pool's mapping is bound to one node with mbind(2)
 * before its pages are first touched (or locked), so every page is
 * allocated there.  Raw system calls: libnuma is not needed.  A kernel
 * built without NUMA (ENOSYS) has one node, 0, and nothing to bind.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "res.h"

#ifndef MPOL_BIND
#define MPOL_BIND 2
#endif
#ifndef MPOL_MF_STRICT
#define MPOL_MF_STRICT (1 << 0)
#endif
#ifndef MPOL_MF_MOVE
#define MPOL_MF_MOVE (1 << 1)
#endif

#define NODES_MAX 1024		/* CONFIG_NODES_SHIFT is at most 10 */

/* Does the machine have node (sysfs, or: only node 0 without NUMA)? */
static bool node_exists(int node, char *have, size_t len)
{
	char path[64];
	FILE *f = fopen("/sys/devices/system/node/online", "r");

	snprintf(have, len, "0");
	if (f) {
		if (!fgets(have, (int)len, f))
			snprintf(have, len, "0");
		fclose(f);
		have[strcspn(have, "\n")] = 0;
	} else if (access("/sys/devices/system/node", F_OK)) {
		return node == 0;	/* no NUMA in this kernel */
	}
	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d", node);
	return access(path, F_OK) == 0;
}

int sr__numa_bind(void *mem, size_t len, int *nodep)
{
	int node = *nodep;
	unsigned long mask[NODES_MAX / (8 * sizeof(unsigned long))] = { 0 };
	char have[128];
	unsigned cpu;

	if (node == SR_POOL_NODE_LOCAL) {
		unsigned n = 0;

		if (syscall(SYS_getcpu, &cpu, &n, NULL))
			return sr__fail(-errno, "sr_pool_create_on_node: cannot tell the calling CPU's node (getcpu)");
		node = *nodep = (int)n;
	}
	/* node_exists first: it also fills in the nodes the message lists. */
	if (!node_exists(node, have, sizeof(have)) || node < 0 || node >= NODES_MAX)
		return sr__fail(-EINVAL, "sr_pool_create_on_node: NUMA node %d does not exist on this machine (its nodes: %s)",
				node, have);
	mask[node / (8 * sizeof(unsigned long))] = 1UL << (node % (8 * sizeof(unsigned long)));
	if (syscall(SYS_mbind, mem, len, MPOL_BIND, mask, (unsigned long)NODES_MAX + 1, MPOL_MF_STRICT | MPOL_MF_MOVE)) {
		if (errno == ENOSYS && node == 0)
			return 0;	/* one node: every page is on it */
		return sr__fail(-errno, "sr_pool_create_on_node: cannot bind %zu bytes to NUMA node %d (mbind)", len, node);
	}
	return 0;
}

struct sr_pool *sr_pool_create_on_node(unsigned nbufs, size_t size, unsigned flags, int node)
{
	if (node < SR_POOL_NODE_LOCAL) {
		sr__err(-EINVAL, "NUMA node %d does not exist (a node number, or SR_POOL_NODE_LOCAL)", node);
		return NULL;
	}
	return sr__pool_create(nbufs, size, flags, node);
}
