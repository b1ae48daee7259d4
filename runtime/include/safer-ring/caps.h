/* SPDX-License-Identifier: MIT */
/*
 * What the running system offers: kernel version, opcode probe, features,
 * the setup flags the kernel accepts, and the reasons io_uring may be
 * unavailable (seccomp, kernel.io_uring_disabled, RLIMIT_MEMLOCK).
 * Detected once per process; SR_KERNEL, SR_DISABLE, SR_BACKEND and SR_POLICY in the
 * environment override it so every path can be tested on one kernel.
 */
#ifndef SAFER_RING_CAPS_H
#define SAFER_RING_CAPS_H

#include <safer-ring/inline.h>

#ifdef __cplusplus
extern "C" {
#endif

struct sr_kver {
	unsigned major, minor, patch;
};

/* Parse the leading "X.Y[.Z]" of a release string ("5.15.0-105-generic");
 * -EINVAL (and a message) for anything else. */
int sr_kernel_parse(const char *release, struct sr_kver *out);

static inline uint32_t sr_kver_code(struct sr_kver v)
{
	return (v.major << 16) | (v.minor << 8) | (v.patch > 255 ? 255 : v.patch);
}

struct sr_caps {
	char release[65];		/* uname -r */
	struct sr_kver running;		/* parsed from release */
	struct sr_kver kernel;		/* what ops are checked against (SR_KERNEL may lower it) */
	bool simulated;			/* kernel comes from SR_KERNEL */
	bool force_fallback;		/* SR_BACKEND=fallback */
	int policy;			/* SR_POLICY=graceful|warn|strict: every ring's policy, or -1 */
	int io_uring_disabled;		/* /proc/sys/kernel/io_uring_disabled, or -1 */
	int seccomp;			/* Seccomp: of /proc/self/status, or -1 */
	uint64_t memlock_cur;		/* RLIMIT_MEMLOCK, UINT64_MAX for unlimited */
	uint64_t memlock_max;
	int setup_errno;		/* 0, or the io_uring_setup failure */
	char setup_why[200];		/* what that failure means here */
	unsigned features;		/* IORING_FEAT_* */
	unsigned setup_flags;		/* the ladder rung the kernel accepted */
	unsigned ladder_tried;		/* rungs tried before it */
	bool have_probe;
	unsigned last_op;		/* the probe's last opcode */
	uint8_t opcode_ok[256];		/* per opcode: the probe says supported */
	char disable[256];		/* SR_DISABLE */
	char env_error[200];		/* a bad SR_* variable, reported once */
};

/*
 * Every op's metadata (struct sr_op_info, safer-ring/inline.h), by op id:
 * sr_op_table[op] for op < sr_op_count: name, opcode, kernel, liburing
 * helper, memory lifetimes, fallback chain.  Both names are calls into
 * the library: a program compiled before ops were added sees the
 * library's table, never a copy of its old size (docs/abi.md).
 */
const struct sr_op_info *sr_op_table_get(void);
unsigned sr_op_count_get(void);
#ifndef SR__BUILDING_LIBRARY
#define sr_op_table (sr_op_table_get())
#define sr_op_count (sr_op_count_get())
#else
extern const struct sr_op_info sr_op_table[];
extern const unsigned sr_op_count;
#endif

/* The process-wide capabilities (detected on first use). */
const struct sr_caps *sr_caps_get(void);

/* The SR_OP_* named name ("send_zc"), or -ENOENT. */
int sr_op_lookup(const char *name);

/* Why an op cannot run natively on this ring ("needs Linux 6.19; running 6.18.44"),
 * or NULL when it can. */
const char *sr_op_unavailable(const struct sr_ring *r, unsigned op, char *buf, size_t len);

/* What the ring does with an op: "native", "fallback: <route>" or
 * "unavailable: <why>". */
const char *sr_op_status(const struct sr_ring *r, unsigned op, char *buf, size_t len);

/* Names of set bits from a flag table (sr_setup_flag_table, sr_feature_table). */
const char *sr_flag_names(const void *table, unsigned count, uint32_t bits, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif
