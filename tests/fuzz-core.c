/* SPDX-License-Identifier: MIT */
/* libFuzzer entry: `make fuzz` for a long run; make check runs a smoke. */
#include <stddef.h>
#include <stdint.h>

#include "fuzzops.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	th_fuzz_one(data, size);
	return 0;
}
