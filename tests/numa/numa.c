/* SPDX-License-Identifier: MIT */
/*
 * sr-numa: pools on NUMA nodes, checked page by page (make check-numa).
 *
 * For every node the machine has, pools made with sr_pool_create_on_node
 * (plain and SR_POOL_LOCKED) and, pinned to each CPU in turn, with
 * SR_POOL_NODE_LOCAL; every buffer is written, then move_pages(2) in query
 * mode (nodes NULL) says where each page is.  A node the machine lacks
 * must be refused with an error naming it.  Prints
 *
 *   numa: nodes=N pages_on_requested_node=P%
 *
 * and exits 0 when P is 100 (and N is --nodes=N when given).
 *
 * Run as PID 1 (tests/numa/run.sh boots it as the init of a qemu guest
 * with two nodes), it mounts what it needs, says so on the console and
 * powers the machine off.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <safer-ring.h>

#define NBUFS 8
#define BUFSZ (64 * 1024)

static long pages_total, pages_right;
static int problems;
static bool quiet;	/* the control: a problem is expected */

static void __attribute__((format(printf, 1, 2))) problem(const char *fmt, ...)
{
	va_list ap;

	problems++;
	if (quiet)
		return;
	va_start(ap, fmt);
	printf("numa: FAIL: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
}

static int count_nodes(void)
{
	DIR *d = opendir("/sys/devices/system/node");
	struct dirent *e;
	int n = 0;

	if (!d)
		return 1;	/* a kernel without NUMA: one node */
	while ((e = readdir(d)))
		n += !strncmp(e->d_name, "node", 4) && e->d_name[4] >= '0' && e->d_name[4] <= '9';
	closedir(d);
	return n ? n : 1;
}

/* Write every buffer of p, then ask where each page is. */
static void check_pool(struct sr_pool *p, int want, const char *what)
{
	long page = sysconf(_SC_PAGESIZE);
	struct sr_buf *b[NBUFS];
	void *pages[NBUFS * (BUFSZ / 4096)];
	int status[NBUFS * (BUFSZ / 4096)];
	unsigned long n = 0;
	long right = 0;

	for (int i = 0; i < NBUFS; i++) {
		b[i] = sr_pool_take(p);
		if (!b[i]) {
			problem("%s: buffer %d: no buffer", what, i);
			return;
		}
		memset(sr_buf_data(b[i]), 0x5a, sr_buf_cap(b[i]));
		for (size_t off = 0; off < sr_buf_cap(b[i]) && n < sizeof(pages) / sizeof(pages[0]); off += page)
			pages[n++] = (char *)sr_buf_data(b[i]) + off;
	}
	if (syscall(SYS_move_pages, 0, n, pages, NULL, status, 0)) {
		if (errno != ENOSYS || want != 0) {
			problem("%s: move_pages failed (errno %d) for node %d", what, errno, want);
			goto out;
		}
		for (unsigned long i = 0; i < n; i++)
			status[i] = 0;	/* no NUMA: everything is on node 0 */
	}
	for (unsigned long i = 0; i < n; i++)
		right += status[i] == want;
	if (right != (long)n)
		problem("%s: only %d pages of %d on the requested node", what, (int)right, (int)n);
	pages_total += (long)n;
	pages_right += right;
out:
	for (int i = 0; i < NBUFS; i++)
		sr_pool_put(b[i]);
}

static void on_node(int node, unsigned flags)
{
	char what[64];
	struct sr_pool *p = sr_pool_create_on_node(NBUFS, BUFSZ, flags, node);

	snprintf(what, sizeof(what), "node %d%s", node, flags ? " locked" : "");
	if (!p) {
		problem("%s: refused: %s", what, sr_last_error());
		return;
	}
	if (sr_pool_node(p) != node)
		problem("%s: sr_pool_node says %d, want %d", what, sr_pool_node(p), node);
	check_pool(p, node, what);
	sr_pool_destroy(p);
}

/* Pinned to cpu: a SR_POOL_NODE_LOCAL pool lands on the CPU's node. */
static void on_cpu(int cpu)
{
	unsigned c = 0, node = 0;
	char what[64];
	cpu_set_t set;
	struct sr_pool *p;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return;	/* not a CPU we may run on */
	syscall(SYS_getcpu, &c, &node, NULL);
	snprintf(what, sizeof(what), "cpu %d local", cpu);
	p = sr_pool_create_on_node(NBUFS, BUFSZ, 0, SR_POOL_NODE_LOCAL);
	if (!p) {
		problem("%s: refused: %s", what, sr_last_error());
		return;
	}
	if (sr_pool_node(p) != (int)node)
		problem("%s: sr_pool_node says %d, the CPU is on %d", what, sr_pool_node(p), (int)node);
	check_pool(p, (int)node, what);
	sr_pool_destroy(p);
}

/* The guest: the bench row's program (bench/numa_sr.c), when run.sh put it
 * there, both ways, for a run that shows it works on two nodes (times
 * under TCG say nothing about a real interconnect). */
static void guest_bench(void)
{
	const char *modes[] = { "local", "remote" };

	if (access("/numa_sr", X_OK))
		return;
	for (int i = 0; i < 2; i++) {
		char *argv[] = { "/numa_sr", (char *)modes[i], "64", "512", "64", NULL };
		char line[512];
		int p[2], st = -1;
		pid_t pid;
		FILE *f;

		fflush(stdout);
		if (pipe(p) || (pid = fork()) < 0) {
			problem("bench: cannot run /numa_sr");
			return;
		}
		if (pid == 0) {	/* no shell in the guest */
			dup2(p[1], 1);
			dup2(p[1], 2);
			close(p[0]);
			execv(argv[0], argv);
			_exit(127);
		}
		close(p[1]);
		f = fdopen(p[0], "r");
		while (f && fgets(line, sizeof(line), f))
			printf("numa: bench: %s", line);
		if (f)
			fclose(f);
		waitpid(pid, &st, 0);
		if (st != 0)
			problem("bench: /numa_sr %s: status %d", modes[i], st);
	}
}

static void guest_setup(void)
{
	int fd;

	mkdir("/proc", 0755);
	mkdir("/sys", 0755);
	mkdir("/dev", 0755);
	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	fd = open("/dev/console", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
}

int main(int argc, char **argv)
{
	bool init = getpid() == 1;
	int nodes, want = 0, ncpu;
	const char *err;

	if (init)
		guest_setup();
	for (int i = 1; i < argc; i++)
		if (!strncmp(argv[i], "--nodes=", 8))
			want = atoi(argv[i] + 8);
	nodes = count_nodes();
	for (int n = 0; n < nodes; n++) {
		on_node(n, 0);
		on_node(n, SR_POOL_LOCKED);
	}
	if (nodes > 1) {
		/* The check itself tells nodes apart: node 0's pages are not on
		 * the last node. */
		struct sr_pool *p = sr_pool_create_on_node(NBUFS, BUFSZ, 0, 0);
		long t = pages_total, r = pages_right;
		int bad = problems;

		if (p) {
			quiet = true;
			check_pool(p, nodes - 1, "control");
			quiet = false;
			sr_pool_destroy(p);
		}
		if (!p || pages_right != r || problems != bad + 1)
			problem("control: node 0's pages were not told from node %d's", nodes - 1);
		else
			printf("numa: control: node 0's pages are not on node %d, as it should be\n", nodes - 1);
		pages_total = t;
		pages_right = r;
		problems = bad;
	}
	ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
	for (int c = 0; c < ncpu && c < 64; c++)
		on_cpu(c);
	if (sr_pool_create_on_node(1, 4096, 0, nodes + 3)) {
		problem("node %d: a node the machine lacks was accepted", nodes + 3);
	} else {
		char want_msg[64];

		err = sr_last_error();
		snprintf(want_msg, sizeof(want_msg), "NUMA node %d does not exist", nodes + 3);
		if (!strstr(err, want_msg))
			problem("missing node: the error does not name node %d: %s", nodes + 3, err);
		printf("numa: a missing node: %s\n", err);
	}
	if (init)
		guest_bench();
	if (want && nodes != want)
		problem("the machine has %d nodes, want %d", nodes, want);
	printf("numa: nodes=%d pages_on_requested_node=%ld%%\n", nodes,
	       pages_total ? pages_right * 100 / pages_total : 0);
	printf("numa: %s (%ld pages checked)\n", problems ? "FAIL" : "ok", pages_total);
	fflush(stdout);
	if (init) {
		sync();
		reboot(RB_POWER_OFF);
	}
	return problems || !pages_total ? 1 : 0;
}
