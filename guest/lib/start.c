/* SPDX-License-Identifier: MIT */
/* start.c - from boot.S to the program's main, and the way out. */
#include <stdint.h> /* before Xen's headers, which use it */
#include <xen/arch-x86/hvm/start_info.h>
#include <xen/sched.h>

#include "guest.h"
#include "runtime.h"
#include "xen.h"

int main(void);
void guest_start(uint32_t start_info);

__attribute__((noreturn)) void exit(int code)
{
	struct sched_shutdown s = { .reason = code ? SHUTDOWN_crash : SHUTDOWN_poweroff };

	char v[16];

	snprintf(v, sizeof v, "%d", code);
	xs_write("data/exit-code", v); /* best effort: the console says it too */
	printf("guest: exit %d\n", code);
	console_flush();
	for (;;)
		hypercall2(__HYPERVISOR_sched_op, SCHEDOP_shutdown, (unsigned long)&s);
}

void guest_start(uint32_t start_info)
{
	const struct hvm_start_info *si = (const void *)(uintptr_t)start_info;

	hypercall_init();
	console_init();
	xenstore_init();
	if (si->magic != XEN_HVM_START_MAGIC_VALUE) {
		puts("guest: not started by Xen's PVH entry (bad start_info magic)");
		exit(125);
	}
	exit(main());
}
