/*
 * Daemon-wide settings (C xenstored 4.17's default quotas) and the generation counter, apart
 * from main() so that tests/fuzz-xsd.c runs the daemon in-process with the same defaults.
 */
#include "xsd.h"

struct xsd_config xsd_cfg = {
	.quota_nodes = 1000,
	.quota_watches = 128,
	.quota_trans = 10,
	.quota_entry_size = 2048,
	.quota_perms = 5,
	.priv_domid = 0,
	.keep_orphans = false,
};
uint64_t xsd_generation;
