/* SPDX-License-Identifier: MIT */
/*
 * safer-ring: io_uring with ownership-checked, typed operations.
 *
 * One include for everything: the runtime (rings, buffers, groups,
 * registration, capabilities) and the generated per-op API.
 */
#ifndef SAFER_RING_H
#define SAFER_RING_H

#include <safer-ring/ring.h>
#include <safer-ring/buf.h>
#include <safer-ring/pool.h>
#include <safer-ring/group.h>
#include <safer-ring/files.h>
#include <safer-ring/caps.h>
#include <safer-ring/api.h>
#include <safer-ring/chain.h>

#endif
