/* SPDX-License-Identifier: MIT */
/*
 * fuzzops.h - interprets a byte string as a hostile peer's actions
 * interleaved with a victim's calls into the core, and checks that every
 * answer of the victim is one the API allows (and that a protocol error
 * stays sticky). Memory errors are caught by guard pages and ASan.
 * Shared by the libFuzzer target and the deterministic run in make check.
 */
#ifndef IVC_TEST_FUZZOPS_H
#define IVC_TEST_FUZZOPS_H

#include <stddef.h>
#include <stdint.h>

/* Runs one input; aborts (via TH_FAIL) on a contract violation. */
void th_fuzz_one(const uint8_t *data, size_t size);

#endif
