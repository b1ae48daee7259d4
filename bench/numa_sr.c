/* SPDX-License-Identifier: MIT */
/*
 * numa_sr: one ring per NUMA node, each on a thread pinned to a CPU of its
 * node, reading a file of its node's page cache into fixed buffers of a
 * registered pool (sr_read_fixed, BATCH at a time).  local: each ring's
 * pool is on its own node (sr_pool_create_on_node(..., SR_POOL_NODE_LOCAL));
 * remote: on the next node, so every byte the kernel copies crosses the
 * interconnect.  On a machine with one node only local runs (remote says
 * so and exits 3).
 *
 *   numa_sr local|remote BUF_KIB OPS_PER_RING [WARMUP]
 *
 * Prints one line: numa_sr mode=... nodes=N rings=N ns_per_op=... (wall
 * clock per op of all rings together) cpu_ns_per_op=... mib_per_s=...
 * setup_ns=...
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include <safer-ring.h>

#include "bench.h"

#define BATCH 8
#define NODES_MAX 64

struct ring_thread {
	pthread_t thr;
	int node, cpu, pool_node;
	size_t bufsz;
	unsigned long long ops, warmup;
	pthread_barrier_t *ready;
};

static int count_nodes(void)
{
	char path[64];
	int n = 0;

	for (;; n++) {
		snprintf(path, sizeof(path), "/sys/devices/system/node/node%d", n);
		if (access(path, F_OK))
			break;
	}
	return n ? n : 1;
}

/* The first CPU of node (its cpulist), or -1. */
static int node_cpu(int node)
{
	char path[80];
	FILE *f;
	int cpu = -1;

	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/cpulist", node);
	f = fopen(path, "r");
	if (!f)
		return node == 0 ? 0 : -1;
	if (fscanf(f, "%d", &cpu) != 1)
		cpu = -1;
	fclose(f);
	return cpu;
}

static void die_sr(const char *what)
{
	bench_die("numa_sr: %s: %s", what, sr_last_error());
}

static void rounds(struct sr_ring *ring, int fd, struct sr_buf **bufs, size_t bufsz, unsigned long long n)
{
	for (unsigned long long done = 0; done < n; done += BATCH) {
		struct sr_read_fixed_submitted sub[BATCH];

		for (unsigned i = 0; i < BATCH; i++) {
			struct sr_read_fixed_op op = sr_read_fixed(fd, bufs[i], (uint64_t)i * bufsz);

			if (sr_submit(ring, &op, &sub[i]) < 0)
				die_sr("sr_submit");
		}
		for (unsigned i = 0; i < BATCH; i++) {
			struct sr_read_fixed_completed c;

			if (sr_wait(ring, &sub[i], &c) < 0)
				die_sr("sr_wait");
			if (c.res != (int)bufsz)
				bench_die("numa_sr: read %d bytes, want %zu", c.res, bufsz);
		}
	}
}

static void *ring_main(void *arg)
{
	struct ring_thread *t = arg;
	struct sr_buf *bufs[BATCH];
	struct sr_ring *ring;
	struct sr_pool *pool;
	cpu_set_t one;
	char *src;
	int fd;

	CPU_ZERO(&one);
	CPU_SET(t->cpu, &one);
	if (pthread_setaffinity_np(pthread_self(), sizeof(one), &one))
		bench_die("numa_sr: cannot run on CPU %d", t->cpu);
	/* The file's pages: written here, so on this node. */
	fd = memfd_create("numa_sr", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)(BATCH * t->bufsz)))
		bench_die("numa_sr: memfd");
	src = mmap(NULL, BATCH * t->bufsz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (src == MAP_FAILED)
		bench_die("numa_sr: mmap");
	memset(src, 0x42, BATCH * t->bufsz);
	munmap(src, BATCH * t->bufsz);
	if (sr_ring_create(&ring, NULL) < 0)
		die_sr("sr_ring_create");
	pool = sr_pool_create_on_node(BATCH, t->bufsz, 0, t->pool_node);
	if (!pool)
		die_sr("sr_pool_create_on_node");
	for (unsigned i = 0; i < BATCH; i++)
		if (!(bufs[i] = sr_pool_take(pool)))
			die_sr("sr_pool_take");
	if (sr_ring_register_pool(ring, pool) < 0)
		die_sr("sr_ring_register_pool");
	rounds(ring, fd, bufs, t->bufsz, t->warmup);
	pthread_barrier_wait(t->ready);	/* the clock starts */
	rounds(ring, fd, bufs, t->bufsz, t->ops);
	pthread_barrier_wait(t->ready);	/* ... and stops */
	if (sr_ring_destroy(ring) < 0)
		die_sr("sr_ring_destroy");
	for (unsigned i = 0; i < BATCH; i++)
		sr_pool_put(bufs[i]);
	sr_pool_destroy(pool);
	close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	static struct ring_thread t[NODES_MAX];
	pthread_barrier_t ready;
	unsigned long long ops, warmup;
	uint64_t s0, t0, t1, c0, c1;
	size_t bufsz;
	bool remote;
	int nodes;

	if (argc < 4 || (strcmp(argv[1], "local") && strcmp(argv[1], "remote")))
		bench_die("usage: numa_sr local|remote BUF_KIB OPS_PER_RING [WARMUP]");
	remote = !strcmp(argv[1], "remote");
	bufsz = (size_t)bench_num("BUF_KIB", argv[2]) * 1024;
	ops = (bench_num("OPS_PER_RING", argv[3]) + BATCH - 1) / BATCH * BATCH;
	warmup = argc > 4 ? (bench_num("WARMUP", argv[4]) + BATCH - 1) / BATCH * BATCH : 0;
	if (!bufsz || !ops)
		bench_die("numa_sr: BUF_KIB and OPS_PER_RING must be at least 1");
	nodes = count_nodes();
	if (nodes > NODES_MAX)
		nodes = NODES_MAX;
	if (remote && nodes < 2) {
		fprintf(stderr, "numa_sr: this machine has one NUMA node: no pool is remote\n");
		return 3;
	}
	s0 = bench_now_ns();
	pthread_barrier_init(&ready, NULL, (unsigned)nodes + 1);
	for (int n = 0; n < nodes; n++) {
		t[n] = (struct ring_thread){ .node = n, .cpu = node_cpu(n), .bufsz = bufsz, .ops = ops,
					     .warmup = warmup, .ready = &ready,
					     .pool_node = remote ? (n + 1) % nodes : SR_POOL_NODE_LOCAL };
		if (t[n].cpu < 0)
			bench_die("numa_sr: node %d has no CPU", n);
		if (pthread_create(&t[n].thr, NULL, ring_main, &t[n]))
			bench_die("numa_sr: pthread_create");
	}
	pthread_barrier_wait(&ready);
	t0 = bench_now_ns();
	c0 = bench_cpu_ns();
	pthread_barrier_wait(&ready);
	t1 = bench_now_ns();
	c1 = bench_cpu_ns();
	for (int n = 0; n < nodes; n++)
		pthread_join(t[n].thr, NULL);
	printf("numa_sr mode=%s nodes=%d rings=%d buf_kib=%zu ns_per_op=%.1f cpu_ns_per_op=%.1f mib_per_s=%.1f "
	       "setup_ns=%llu\n", argv[1], nodes, nodes, bufsz / 1024, (double)(t1 - t0) / (double)(ops * nodes),
	       (double)(c1 - c0) / (double)(ops * nodes),
	       (double)(ops * nodes * bufsz) / (1 << 20) / ((double)(t1 - t0) / 1e9), (unsigned long long)(t0 - s0));
	return 0;
}
