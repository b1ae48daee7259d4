/* SPDX-License-Identifier: MIT */
/*
 * The status report: what a ring does with each op (the same route
 * decision submit takes), and names of flag bits.
 */
#define _GNU_SOURCE
#include <stdio.h>

#include "backend.h"

const char *sr_op_status(const struct sr_ring *r, unsigned op, char *buf, size_t len)
{
	const struct sr_fb_route *rt;
	char why[200], none[200];

	if (!sr_op_unavailable(r, op, why, sizeof(why))) {
		snprintf(buf, len, "native");
		return buf;
	}
	switch (sr__route(r, op, &rt, why, none, sizeof(why))) {
	case SR__ROUTE_FALLBACK:
		snprintf(buf, len, "fallback: %s", rt->text);
		break;
	case SR__ROUTE_STRICT:
		snprintf(buf, len, "unavailable: %s (policy STRICT takes no fallback)", why);
		break;
	case SR__ROUTE_NONE:
		snprintf(buf, len, "unavailable: %s; no fallback: %s", why, none);
		break;
	}
	return buf;
}

const char *sr_flag_names(const void *table, unsigned count, uint32_t bits, char *buf, size_t len)
{
	const struct sr_flag_info *t = table;
	size_t used = 0;

	buf[0] = 0;
	for (unsigned i = 0; i < count && used + 1 < len; i++)
		if (bits & (1U << t[i].bit))
			used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? " " : "", t[i].name);
	if (!used)
		snprintf(buf, len, "none");
	return buf;
}

/* --- the generated tables, as programs read them (caps.h, ops.h) ----------------- */

const struct sr_op_info *sr_op_table_get(void)
{
	return sr_op_table;
}

unsigned sr_op_count_get(void)
{
	return sr_op_count;
}

#define TABLE(name, type)				\
const type *name##_get(void)				\
{							\
	return name;					\
}
#define COUNT(name)					\
unsigned name##_get(void)				\
{							\
	return name;					\
}
TABLE(sr_setup_flag_table, struct sr_flag_info)
COUNT(sr_setup_flag_count)
TABLE(sr_feature_table, struct sr_flag_info)
COUNT(sr_feature_count)
TABLE(sr_enter_flag_table, struct sr_flag_info)
COUNT(sr_enter_flag_count)
TABLE(sr_register_table, struct sr_register_info)
COUNT(sr_register_count)
TABLE(sr_setup_ladder, uint32_t)
COUNT(sr_setup_ladder_len)
