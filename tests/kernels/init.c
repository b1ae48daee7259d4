/* SPDX-License-Identifier: MIT */
/*
 * sr-init: PID 1 of the test guest (tests/kernels/run.sh boots it).
 *
 * It prepares what the conformance scenarios expect of a machine (proc,
 * sysfs, devices, a /tmp on a real disk filesystem, loopback networking),
 * runs every test listed in /sr/tests, one after another with a time
 * limit each, and powers the machine off.  Results go to the second
 * serial port (/dev/ttyS1), kept apart from the kernel's console on
 * ttyS0 so that a kernel message can never land in the middle of a
 * result line.  Every test's output sits between two marker lines:
 *
 *   ==== sr-init begin NAME ====
 *   ... the program's stdout and stderr ...
 *   ==== sr-init end NAME status=exit:0 ms=1234 ====
 *
 * status is exit:N, signal:N, timeout or exec-failed.  Anything wrong
 * with the machine itself is reported as a line "sr-init: ERROR: ...",
 * which the host treats as a failure: a scenario that fails because the
 * guest lacked something must never look like a kernel difference, and
 * must never pass unnoticed either.
 *
 * /sr/tests holds one test a line: NAME TIMEOUT_SECONDS PROGRAM [ARGS...]
 * (blank lines and lines starting with # are ignored).
 *
 * The kernel command line names the spare block devices run.sh attached:
 * sr.blockdev=PATH (any block device the block command scenarios may
 * overwrite) and sr.zoned=PATH (a zoned one); they are handed to the tests
 * as SR_TEST_BLOCKDEV and SR_TEST_ZONED_BLOCKDEV once they have appeared.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/sysmacros.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define RESULTS_TTY "/dev/ttyS1"
#define TESTS_FILE "/sr/tests"
/*
 * The scratch disk run.sh attaches (an ext4 image); the first that appears.
 * An NVMe namespace is named by its id: the kernel numbers nvme0nK in the
 * order it finds namespaces, which need not be theirs.
 */
static const char *const scratch_disks[] = { "nvme-nsid:1", "/dev/vda", "/dev/sda" };
#define DISK_WAIT_MS 20000

static int out = -1;		/* the results port */
static unsigned errors;

static void say(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* One write per line: the line reaches the port whole. */
	if (write(out, line, (size_t)n) < 0)
		(void)0;
}

static void error(const char *fmt, ...)
{
	char msg[900];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	say("sr-init: ERROR: %s", msg);
	errors++;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void mount_or_error(const char *src, const char *dst, const char *type, unsigned long flags,
			   const char *data)
{
	mkdir(dst, 0755);
	if (mount(src, dst, type, flags, data))
		error("mount %s on %s (%s): %s", src, dst, type, strerror(errno));
}

/* The results port, raw: no \n to \r\n, no echo, nothing read. */
static void open_results(void)
{
	struct termios tio;

	out = open(RESULTS_TTY, O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (out < 0) {
		/* Without the port nothing reaches the host; say so on the console. */
		out = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
		error("cannot open %s (%s); results follow on the console", RESULTS_TTY, strerror(errno));
		return;
	}
	if (tcgetattr(out, &tio) == 0) {
		cfmakeraw(&tio);
		cfsetospeed(&tio, B115200);
		tcsetattr(out, TCSANOW, &tio);
	}
}

/*
 * A disk's device path: "nvme-nsid:N" is the NVMe namespace with id N
 * (its /dev name, found in /sys/block), anything else a path as it is.
 * NULL when it is not there (yet).
 */
static const char *disk_path(const char *spec, char *path, size_t len)
{
	unsigned nsid;
	struct dirent *e;
	DIR *d;

	if (sscanf(spec, "nvme-nsid:%u", &nsid) != 1)
		return access(spec, F_OK) ? NULL : spec;
	d = opendir("/sys/block");
	if (!d)
		return NULL;
	while ((e = readdir(d))) {
		char attr[300], val[32];
		ssize_t n;
		int fd;

		if (strncmp(e->d_name, "nvme", 4))
			continue;
		snprintf(attr, sizeof(attr), "/sys/block/%s/nsid", e->d_name);
		fd = open(attr, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, val, sizeof(val) - 1);
		close(fd);
		val[n > 0 ? n : 0] = 0;
		if ((unsigned)strtoul(val, NULL, 10) == nsid && strlen(e->d_name) + 6 <= len) {
			memcpy(path, "/dev/", 5);
			memcpy(path + 5, e->d_name, strlen(e->d_name) + 1);
			closedir(d);
			return access(path, F_OK) ? NULL : path;
		}
	}
	closedir(d);
	return NULL;
}

/*
 * /tmp on ext4 from the scratch disk: the scenarios need user xattrs
 * (tmpfs has them only from Linux 6.6) and a filesystem that writes back
 * (fsync and sync_file_range check that pages go clean; tmpfs never
 * writes back, so on tmpfs those checks could not fail).
 */
static void mount_scratch(void)
{
	long long deadline = now_ms() + DISK_WAIT_MS;
	const char *disk = NULL;
	char path[64];

	/* Disks are probed asynchronously; wait for the first to appear. */
	while (!disk) {
		for (unsigned i = 0; i < sizeof(scratch_disks) / sizeof(scratch_disks[0]); i++)
			if ((disk = disk_path(scratch_disks[i], path, sizeof(path))))
				break;
		if (disk || now_ms() > deadline)
			break;
		usleep(20000);
	}
	if (!disk) {
		error("no scratch disk (%s, %s or %s) after %d ms: the kernel needs NVMe, virtio-blk or SATA "
		      "built in, not as a module; /tmp is tmpfs instead", scratch_disks[0], scratch_disks[1],
		      scratch_disks[2], DISK_WAIT_MS);
		mount_or_error("tmpfs", "/tmp", "tmpfs", 0, "mode=1777");
		return;
	}
	mkdir("/tmp", 01777);
	if (mount(disk, "/tmp", "ext4", 0, "user_xattr")) {
		error("mount %s on /tmp (ext4): %s; /tmp is tmpfs instead", disk, strerror(errno));
		mount_or_error("tmpfs", "/tmp", "tmpfs", 0, "mode=1777");
		return;
	}
	chmod("/tmp", 01777);
	say("sr-init: /tmp is ext4 on %s", disk);
}

/*
 * The fsync and sync_file_range scenarios read page flags from
 * /proc/kpageflags to see dirty pages go clean; without it they quietly
 * check less than on the host.
 */
static void check_kpageflags(void)
{
	int fd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		error("/proc/kpageflags: %s: the fsync and sync_file_range scenarios cannot see dirty pages "
		      "(CONFIG_PROC_PAGE_MONITOR)", strerror(errno));
	else
		close(fd);
}

/* The value of KEY=VALUE on the kernel command line, into out; 0 if there. */
static int cmdline_value(const char *key, char *value, size_t len)
{
	char line[2048], *save = NULL, *w;
	size_t klen = strlen(key);
	int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, line, sizeof(line) - 1);

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -1;
	line[n] = 0;
	for (w = strtok_r(line, " \n", &save); w; w = strtok_r(NULL, " \n", &save))
		if (!strncmp(w, key, klen) && w[klen] == '=') {
			snprintf(value, len, "%s", w + klen + 1);
			return 0;
		}
	return -1;
}

/*
 * A spare block device run.sh attached (sr.KEY= on the command line): wait
 * for it to appear, check it (zoned: the kernel says it is), export it as
 * ENV.  Named but missing is an error of the guest.
 */
static void spare_disk(const char *key, const char *env, bool zoned)
{
	long long deadline = now_ms() + DISK_WAIT_MS;
	char spec[128], buf[64], attr[256], model[32] = "";
	const char *path;
	struct stat st;
	int fd;

	if (cmdline_value(key, spec, sizeof(spec)))
		return;
	while (!(path = disk_path(spec, buf, sizeof(buf))) && now_ms() < deadline)
		usleep(20000);
	if (!path || stat(path, &st) || !S_ISBLK(st.st_mode)) {
		error("%s=%s: no such block device after %d ms (the kernel needs its driver built in)", key, spec,
		      DISK_WAIT_MS);
		return;
	}
	if (zoned) {
		snprintf(attr, sizeof(attr), "/sys/dev/block/%u:%u/queue/zoned", major(st.st_rdev), minor(st.st_rdev));
		fd = open(attr, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t n = read(fd, model, sizeof(model) - 1);

			model[n > 0 ? n : 0] = 0;
			model[strcspn(model, "\n")] = 0;
			close(fd);
		}
		if (!model[0] || !strcmp(model, "none")) {
			error("%s=%s: not a zoned device (%s: %s; the kernel needs CONFIG_BLK_DEV_ZONED)", key, path,
			      attr, model[0] ? model : "unreadable");
			return;
		}
	}
	setenv(env, path, 1);
	say("sr-init: %s=%s%s%s", env, path, zoned ? " zoned " : "", model);
}

/* Bring lo up; Linux then gives it 127.0.0.1/8 and ::1 by itself. */
static void loopback_up(void)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0) {
		error("socket(AF_INET): %s", strerror(errno));
		return;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) || (ifr.ifr_flags |= IFF_UP, ioctl(s, SIOCSIFFLAGS, &ifr)))
		error("bringing up lo: %s", strerror(errno));
	close(s);
}

static void run_test(char *name, int timeout_s, char **argv)
{
	long long start = now_ms(), deadline = start + (long long)timeout_s * 1000;
	char status[64];
	int ws = 0;
	pid_t pid, got;

	say("==== sr-init begin %s ====", name);
	pid = fork();
	if (pid < 0) {
		error("fork: %s", strerror(errno));
		say("==== sr-init end %s status=exec-failed ms=0 ====", name);
		return;
	}
	if (pid == 0) {
		/* Its own process group, so a timeout kills everything it started. */
		setpgid(0, 0);
		dup2(out, 1);
		dup2(out, 2);
		if (chdir("/tmp"))
			_exit(126);
		execv(argv[0], argv);
		dprintf(2, "sr-init: ERROR: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid);
	for (;;) {
		got = waitpid(pid, &ws, WNOHANG);
		if (got == pid)
			break;
		if (now_ms() > deadline) {
			kill(-pid, SIGKILL);
			waitpid(pid, &ws, 0);
			snprintf(status, sizeof(status), "timeout");
			goto done;
		}
		usleep(10000);
	}
	if (WIFEXITED(ws))
		snprintf(status, sizeof(status), "exit:%d", WEXITSTATUS(ws));
	else
		snprintf(status, sizeof(status), "signal:%d", WTERMSIG(ws));
	if (WIFEXITED(ws) && WEXITSTATUS(ws) == 127)
		snprintf(status, sizeof(status), "exec-failed");
done:
	/* Whatever the test's children left behind in its group goes too. */
	kill(-pid, SIGKILL);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	say("==== sr-init end %s status=%s ms=%lld ====", name, status, now_ms() - start);
}

static void run_all(void)
{
	FILE *f = fopen(TESTS_FILE, "r");
	char line[1024];
	unsigned n = 0;

	if (!f) {
		error("cannot open %s: %s", TESTS_FILE, strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		char *argv[32], *save = NULL, *name, *tmo, *tok;
		int argc = 0;

		line[strcspn(line, "\n")] = 0;
		name = strtok_r(line, " \t", &save);
		if (!name || name[0] == '#')
			continue;
		tmo = strtok_r(NULL, " \t", &save);
		while ((tok = strtok_r(NULL, " \t", &save)) && argc < 31)
			argv[argc++] = tok;
		argv[argc] = NULL;
		if (!tmo || atoi(tmo) <= 0 || !argc) {
			error("%s: bad line for %s: want NAME TIMEOUT PROGRAM [ARGS...]", TESTS_FILE, name);
			continue;
		}
		run_test(name, atoi(tmo), argv);
		n++;
	}
	fclose(f);
	if (!n)
		error("%s lists no tests", TESTS_FILE);
}

int main(void)
{
	struct utsname u;
	long long t0;

	mount_or_error("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	open_results();
	t0 = now_ms();
	say("==== sr-init start ====");
	mount_or_error("proc", "/proc", "proc", 0, NULL);
	mount_or_error("sysfs", "/sys", "sysfs", 0, NULL);
	mount_scratch();
	spare_disk("sr.blockdev", "SR_TEST_BLOCKDEV", false);
	spare_disk("sr.zoned", "SR_TEST_ZONED_BLOCKDEV", true);
	check_kpageflags();
	loopback_up();
	setenv("PATH", "/sr", 1);
	setenv("HOME", "/tmp", 1);
	setenv("TMPDIR", "/tmp", 1);
	uname(&u);
	say("sr-init: release=%s machine=%s ready_ms=%lld", u.release, u.machine, now_ms() - t0);
	run_all();
	sync();
	say("==== sr-init done errors=%u ====", errors);
	if (out >= 0)
		tcdrain(out);
	reboot(RB_POWER_OFF);
	/* Still here: reboot(2) failed.  PID 1 must not exit (that panics). */
	say("sr-init: ERROR: reboot(RB_POWER_OFF): %s", strerror(errno));
	for (;;)
		pause();
}
