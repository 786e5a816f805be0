/* SPDX-License-Identifier: MIT */
/*
 * trap.c - CPU exceptions: an IDT whose 32 entries (boot.S's stubs) end
 * in guest_trap, which prints the vector, where it happened and the
 * registers that say why, then ends the guest with code 126. Without
 * it, a fault is a triple fault: the domain just dies.
 */
#include <stdint.h> /* before Xen's headers, which use it */
#include <xen/sched.h>

#include "guest.h"
#include "runtime.h"
#include "xen.h"

struct trap_frame {
	uint64_t vector, error, rip, cs, rflags, rsp, ss;
};

struct idt_entry {
	uint16_t off0, sel;
	uint8_t ist, type;
	uint16_t off1;
	uint32_t off2, zero;
} __attribute__((packed));

extern const uint64_t trap_stubs[32];
static struct idt_entry idt[32];

void guest_trap(const struct trap_frame *f);

void trap_init(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) d = { sizeof idt - 1, (uint64_t)(uintptr_t)idt };

	for (int i = 0; i < 32; i++) {
		uint64_t a = trap_stubs[i];
		idt[i] =
		    (struct idt_entry){ (uint16_t)a,         0x08, 0, 0x8e, (uint16_t)(a >> 16),
					(uint32_t)(a >> 32), 0 };
	}
	__asm__ volatile("lidt %0" : : "m"(d));
}

static const char *const names[32] = {
	[0] = "divide error", [3] = "breakpoint",       [6] = "invalid opcode",
	[8] = "double fault", [12] = "stack fault",     [13] = "general protection",
	[14] = "page fault",  [17] = "alignment check",
};

void guest_trap(const struct trap_frame *f)
{
	static int nested;
	uint64_t cr2;

	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	if (nested++) { /* a fault while reporting one: a crash, said no more */
		struct sched_shutdown sd = { .reason = SHUTDOWN_crash };
		for (;;)
			hypercall2(__HYPERVISOR_sched_op, SCHEDOP_shutdown, (unsigned long)&sd);
	}
	printf("guest: exception %llu (%s) at rip %llx, error code %llx, cr2 %llx, rsp %llx\n",
	       (unsigned long long)f->vector,
	       f->vector < 32 && names[f->vector] ? names[f->vector] : "?",
	       (unsigned long long)f->rip, (unsigned long long)f->error, (unsigned long long)cr2,
	       (unsigned long long)f->rsp);
	exit(126);
}
