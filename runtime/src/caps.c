/* SPDX-License-Identifier: MIT */
/*
 * Capability detection.  Everything per-op comes from the generated op
 * table (kernel versions, required setup flags); this file only gathers
 * facts about the running system (once per process) and compares.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/utsname.h>

#include "detect.h"

static struct sr_caps caps;
static pthread_once_t caps_once = PTHREAD_ONCE_INIT;

int sr_kernel_parse(const char *s, struct sr_kver *out)
{
	unsigned long v[3] = { 0, 0, 0 };
	const char *p = s;
	int i;

	if (!s)
		return sr__fail(-EINVAL, "kernel version: none given");
	for (i = 0; i < 3; i++) {
		char *end;

		if (!isdigit((unsigned char)*p))
			break;
		v[i] = strtoul(p, &end, 10);
		if (v[i] > 65535)
			return sr__fail(-EINVAL, "kernel version '%s': component %lu is out of range", s, v[i]);
		p = end;
		if (*p != '.')
			{ i++; break; }
		p++;
	}
	/* Need at least major.minor, and after that only a suffix that does
	 * not start with a digit or a dot ("-arch1-1", "+", "-generic"). */
	if (i < 2 || (*p && (isdigit((unsigned char)*p) || *p == '.')) || p[-1] == '.')
		return sr__fail(-EINVAL, "kernel version '%s' is not of the form X.Y[.Z][suffix]", s);
	out->major = (unsigned)v[0];
	out->minor = (unsigned)v[1];
	out->patch = (unsigned)v[2];
	return 0;
}

static int read_int_file(const char *path)
{
	FILE *f = fopen(path, "r");
	int v = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%d", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static int read_seccomp(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	int v = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Seccomp: %d", &v) == 1)
			break;
	fclose(f);
	return v;
}

void sr__classify(struct sr_caps *c, int err)
{
	c->setup_errno = err;
	switch (-err) {
	case ENOSYS:
		if (c->seccomp == 2)
			snprintf(c->setup_why, sizeof(c->setup_why),
				 "io_uring_setup is blocked by a seccomp filter (Seccomp: 2), as in Docker's default profile");
		else
			snprintf(c->setup_why, sizeof(c->setup_why),
				 "io_uring_setup does not exist: the kernel has no io_uring (CONFIG_IO_URING=n or older than 5.1)");
		break;
	case EPERM:
	case EACCES:
		if (c->io_uring_disabled == 2)
			snprintf(c->setup_why, sizeof(c->setup_why), "kernel.io_uring_disabled=2 turns io_uring off for everyone");
		else if (c->io_uring_disabled == 1)
			snprintf(c->setup_why, sizeof(c->setup_why),
				 "kernel.io_uring_disabled=1 limits io_uring to CAP_SYS_ADMIN and the io_uring_group");
		else
			snprintf(c->setup_why, sizeof(c->setup_why),
				 "io_uring_setup was refused (EPERM) by a security policy (LSM or seccomp errno rule)");
		break;
	case ENOMEM:
		snprintf(c->setup_why, sizeof(c->setup_why),
			 "no memory for the rings; before 5.12 they count against RLIMIT_MEMLOCK (%llu bytes here)",
			 (unsigned long long)c->memlock_cur);
		break;
	case EINVAL:
		snprintf(c->setup_why, sizeof(c->setup_why), "every setup-flag rung was refused (EINVAL)");
		break;
	default:
		snprintf(c->setup_why, sizeof(c->setup_why), "io_uring_setup failed: %s", strerror(-err));
	}
}

/* May this rung be tried on the (possibly simulated) kernel? */
bool sr__rung_allowed(const struct sr_caps *c, uint32_t flags)
{
	for (unsigned i = 0; i < sr_setup_flag_count; i++)
		if ((flags & (1U << sr_setup_flag_table[i].bit)) &&
		    sr_setup_flag_table[i].kernel > sr_kver_code(c->kernel))
			return false;
	return true;
}

/* Walk the spec's setup ladder; EINVAL drops to the next rung. */
int sr__ladder_init(struct io_uring *ring, unsigned entries, unsigned extra, unsigned cq_entries,
		       bool ladder, unsigned forbid, unsigned *accepted, unsigned *tried, const struct sr_caps *c)
{
	int ret = -EINVAL;

	*tried = 0;
	for (unsigned i = ladder ? 0 : sr_setup_ladder_len - 1; i < sr_setup_ladder_len; i++) {
		struct io_uring_params p;
		uint32_t flags = sr_setup_ladder[i] | extra;

		if (!sr__rung_allowed(c, sr_setup_ladder[i]) || (sr_setup_ladder[i] & forbid))
			continue;
		(*tried)++;
		memset(&p, 0, sizeof(p));
		p.flags = flags;
		if (cq_entries) {
			p.flags |= IORING_SETUP_CQSIZE;
			p.cq_entries = cq_entries;
		}
		ret = io_uring_queue_init_params(entries, ring, &p);
		if (ret == 0) {
			*accepted = p.flags;
			return (int)p.features;
		}
		if (ret != -EINVAL)
			return ret;
	}
	return ret;
}

static void detect(void)
{
	struct sr_caps *c = &caps;
	struct utsname u;
	struct rlimit rl;
	struct io_uring ring;
	const char *env;
	int ret;

	uname(&u);
	snprintf(c->release, sizeof(c->release), "%s", u.release);
	if (sr_kernel_parse(c->release, &c->running) < 0)
		memset(&c->running, 0, sizeof(c->running));
	c->kernel = c->running;
	env = getenv("SR_KERNEL");
	if (env && *env) {
		struct sr_kver k;

		if (sr_kernel_parse(env, &k) < 0)
			snprintf(c->env_error, sizeof(c->env_error), "SR_KERNEL=%.40s is not a kernel version; ignored", env);
		else if (sr_kver_code(k) > sr_kver_code(c->running))
			snprintf(c->env_error, sizeof(c->env_error),
				 "SR_KERNEL=%.20s is newer than the running %.40s; a newer kernel cannot be simulated; "
				 "ignored", env, c->release);
		else {
			c->kernel = k;
			c->simulated = true;
		}
	}
	env = getenv("SR_DISABLE");
	if (env)
		snprintf(c->disable, sizeof(c->disable), "%s", env);
	c->policy = -1;
	env = getenv("SR_POLICY");
	if (env && *env) {
		if (!strcmp(env, "graceful"))
			c->policy = SR_POLICY_GRACEFUL;
		else if (!strcmp(env, "warn"))
			c->policy = SR_POLICY_WARN;
		else if (!strcmp(env, "strict"))
			c->policy = SR_POLICY_STRICT;
		else
			snprintf(c->env_error, sizeof(c->env_error), "SR_POLICY=%.40s: use graceful, warn or strict; "
				 "ignored", env);
	}
	env = getenv("SR_BACKEND");
	if (env && *env) {
		if (!strcmp(env, "fallback"))
			c->force_fallback = true;
		else if (strcmp(env, "uring"))
			snprintf(c->env_error, sizeof(c->env_error), "SR_BACKEND=%.40s: use uring or fallback; ignored", env);
	}
	c->io_uring_disabled = read_int_file("/proc/sys/kernel/io_uring_disabled");
	c->seccomp = read_seccomp();
	if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0) {
		c->memlock_cur = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : rl.rlim_cur;
		c->memlock_max = rl.rlim_max == RLIM_INFINITY ? UINT64_MAX : rl.rlim_max;
	}
	ret = sr__ladder_init(&ring, 8, 0, 0, true, 0, &c->setup_flags, &c->ladder_tried, c);
	if (ret < 0) {
		sr__classify(c, ret);
		return;
	}
	c->features = (unsigned)ret;
	struct io_uring_probe *p = io_uring_get_probe_ring(&ring);
	if (p) {
		c->have_probe = true;
		c->last_op = p->last_op;
		for (unsigned i = 0; i < 256 && i <= p->last_op && i < p->ops_len; i++)
			c->opcode_ok[i] = !!(p->ops[i].flags & IO_URING_OP_SUPPORTED);
		io_uring_free_probe(p);
	}
	io_uring_queue_exit(&ring);
	if (c->env_error[0])
		fprintf(stderr, "safer-ring: %s\n", c->env_error);
}

const struct sr_caps *sr_caps_get(void)
{
	pthread_once(&caps_once, detect);
	return &caps;
}

static bool disabled(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; p && *p;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		if (len == n && !strncmp(p, name, n))
			return true;
		p = e ? e + 1 : NULL;
	}
	return false;
}

static void kver_text(const struct sr_caps *c, char *buf, size_t len)
{
	if (c->simulated)
		snprintf(buf, len, "%u.%u (simulated by SR_KERNEL; really %s)", c->kernel.major, c->kernel.minor,
			 c->release);
	else
		snprintf(buf, len, "%s", c->release);
}

/* Why the ring runs without io_uring, after "what: ". */
const char *sr__no_uring_why(const char *what, char *buf, size_t len)
{
	const struct sr_caps *c = sr_caps_get();

	if (c->force_fallback)
		snprintf(buf, len, "%s: SR_BACKEND=fallback runs the ring without io_uring", what);
	else if (c->setup_errno)
		snprintf(buf, len, "%s: io_uring is unavailable: %s", what, c->setup_why);
	else
		snprintf(buf, len, "%s: the ring runs without io_uring", what);
	return buf;
}

/*
 * A version is a hint, the probe a fact: an op that is its opcode's first
 * form (not a flag variant, which the probe cannot show) runs on a real
 * kernel whose probe lists the opcode, whatever the release says.  Stable
 * series carry later io_uring: Debian's 5.10.223 has shutdown, renameat
 * and unlinkat (mainline 5.11).  A simulated kernel (SR_KERNEL) has only
 * its version: the probe read is the machine's.
 */
bool sr__probe_has(unsigned op)
{
	const struct sr_caps *c = sr_caps_get();
	const struct sr_op_info *o = &sr_op_table[op];

	if (c->simulated || !c->have_probe || !c->opcode_ok[o->opcode])
		return false;
	for (unsigned x = 0; x < sr_op_count; x++)
		if (sr_op_table[x].opcode == o->opcode && sr_op_table[x].kernel < o->kernel)
			return false;
	return true;
}

/* Why op cannot run natively for reasons of its own, or NULL. */
static const char *own_reason(const struct sr_ring *r, unsigned op, char *buf, size_t len)
{
	const struct sr_caps *c = sr_caps_get();
	const struct sr_op_info *o;
	char kv[120];

	if (op >= sr_op_count) {
		snprintf(buf, len, "op %u does not exist", op);
		return buf;
	}
	o = &sr_op_table[op];
	kver_text(c, kv, sizeof(kv));
	if (!r || !r->_uring_up)
		return sr__no_uring_why(o->name, buf, len);
	if (o->kernel > sr_kver_code(c->kernel) && !sr__probe_has(op)) {
		snprintf(buf, len, "%s needs Linux %u.%u; running %s", o->name, o->kernel >> 16,
			 (o->kernel >> 8) & 0xff, kv);
		return buf;
	}
	if (c->have_probe && !c->opcode_ok[o->opcode]) {
		snprintf(buf, len, "%s: the kernel's opcode probe lacks opcode %u (running %s)", o->name,
			 o->opcode, kv);
		return buf;
	}
	if (o->setup_any && !(r->_setup_flags & o->setup_any)) {
		char names[160] = "";

		for (unsigned i = 0; i < sr_setup_flag_count; i++)
			if (o->setup_any & (1U << sr_setup_flag_table[i].bit)) {
				if (names[0])
					strncat(names, " or ", sizeof(names) - strlen(names) - 1);
				strncat(names, sr_setup_flag_table[i].name, sizeof(names) - strlen(names) - 1);
			}
		snprintf(buf, len, "%s needs a ring set up with %s", o->name, names);
		return buf;
	}
	if (disabled(c->disable, o->name) || (r->_ext && disabled(r->_ext->disable, o->name))) {
		snprintf(buf, len, "%s is disabled (SR_DISABLE or the ring's disable list)", o->name);
		return buf;
	}
	return NULL;
}

const char *sr_op_unavailable(const struct sr_ring *r, unsigned op, char *buf, size_t len)
{
	const char *why = own_reason(r, op, buf, len);

	if (why || !r || !r->_uring_up || r->_policy == SR_POLICY_STRICT || op >= sr_op_count)
		return why;
	/*
	 * An op that acts on this one (timeout_update on a timeout) but runs
	 * on the fallback backend reaches only what the backend runs: this
	 * op goes there too.
	 */
	for (unsigned x = 0; x < sr_op_count; x++) {
		const struct sr_op_info *o = &sr_op_table[x];
		char xwhy[200];

		for (unsigned k = 0; k < o->ntargets; k++)
			if (o->targets[k] == op && own_reason(r, x, xwhy, sizeof(xwhy))) {
				snprintf(buf, len, "%s runs on the fallback backend with %s, which acts on it (%s)",
					 sr__op_name(op), o->name, xwhy);
				return buf;
			}
	}
	return NULL;
}

const char *sr__op_missing(const struct sr_ring *r, unsigned op, char *buf, size_t len)
{
	const char *why = sr_op_unavailable(r, op, buf, len);

	if (!why)
		snprintf(buf, len, "%s is not available on this ring", sr__op_name(op));
	return buf;
}

int sr_op_lookup(const char *name)
{
	for (unsigned op = 0; name && op < sr_op_count; op++)
		if (!strcmp(sr_op_table[op].name, name))
			return (int)op;
	return sr__err(-ENOENT, "no op is named '%s' (generated/docs/ops.md lists them)", name ? name : "(null)");
}

bool sr__register_ok(const struct sr_ring *r, unsigned code)
{
	if (!r->_uring_up)
		return false;
	for (unsigned i = 0; i < sr_register_count; i++)
		if (sr_register_table[i].code == code)
			return sr_register_table[i].kernel <= sr_kver_code(sr_caps_get()->kernel);
	return false;
}

