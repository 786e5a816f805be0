/* SPDX-License-Identifier: MIT */
/* start.c - from boot.S to the program's main, and the way out. */
#include <stdint.h> /* before Xen's headers, which use it */
#include <xen/arch-x86/hvm/start_info.h>
#include <xen/sched.h>

#include "guest.h"
#include "runtime.h"
#include "xen.h"

int main(int argc, char **argv);
void guest_start(uint32_t start_info);

void (*runtime_exit_hook)(void);

__attribute__((noreturn)) void exit(int code)
{
	struct sched_shutdown s = { .reason = code ? SHUTDOWN_crash : SHUTDOWN_poweroff };

	char v[16];

	if (runtime_exit_hook) {
		void (*hook)(void) = runtime_exit_hook;
		runtime_exit_hook = NULL; /* once, even if it exits */
		hook();
	}
	snprintf(v, sizeof v, "%d", code);
	xs_write("data/exit-code", v); /* best effort: the console says it too */
	printf("guest: exit %d\n", code);
	console_flush();
	for (;;)
		hypercall2(__HYPERVISOR_sched_op, SCHEDOP_shutdown, (unsigned long)&s);
}

#define MAX_ARGS 32

/* argv: "guest", then the command line's words (a copy, cut at spaces). */
static char *argv[MAX_ARGS + 1];
static char words[1024];

static int split(char **v)
{
	int n = 0;

	v[n++] = "guest";
	snprintf(words, sizeof words, "%s", guest_cmdline());
	for (char *w = words; *w && n < MAX_ARGS;) {
		size_t len = strcspn(w, " ");
		if (len)
			v[n++] = w;
		w += len;
		while (*w == ' ')
			*w++ = 0;
	}
	v[n] = NULL;
	return n;
}

void guest_start(uint32_t start_info)
{
	const struct hvm_start_info *si = (const void *)(uintptr_t)start_info;

	int err;

	trap_init();
	hypercall_init();
	console_init();
	if (si->magic != XEN_HVM_START_MAGIC_VALUE) {
		puts("guest: not started by Xen's PVH entry (bad start_info magic)");
		exit(125);
	}
	mem_init(si);
	if ((err = events_init()) || (err = gnt_init())) {
		printf("guest: no shared info or grant table (%d)\n", err);
		exit(125);
	}
	xenstore_init();
	exit(main(split(argv), argv));
}
