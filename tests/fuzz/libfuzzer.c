/* SPDX-License-Identifier: MIT */
/*
 * api-fuzz under libFuzzer: the same sequences, each choice taken from the
 * input (two bytes a choice; an exhausted input reads as zeros).  A
 * disagreement with the model aborts, so libFuzzer keeps the input.
 *   make api-fuzz-libfuzzer FUZZ_SECONDS=600
 */
#include "fz.h"

#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

void fz_report_failure(int feat, uint64_t seed, unsigned step, const char *msg)
{
	(void)seed;
	fprintf(stderr, "api-fuzz: FAIL step=%u [%s] %s\n", step, fz_feature_names[feat], msg);
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (getenv("FZ_VERBOSE"))
		fz_opts.verbose = 1;
	if (fz_init()) {
		fprintf(stderr, "api-fuzz: setup failed\n");
		abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fz_run_sequence(0, data, size);
	return 0;
}
