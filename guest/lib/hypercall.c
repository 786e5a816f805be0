/* SPDX-License-Identifier: MIT */
/* hypercall.c - finding Xen (CPUID leaves 0x40000000+) and asking it to
 * fill our hypercall page through the MSR it names. */
#include <stdint.h> /* before Xen's headers, which use it */
#include <xen/hvm/hvm_op.h>

#include "xen.h"

static void cpuid(uint32_t leaf, uint32_t r[4])
{
	__asm__ volatile("cpuid"
			 : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "0"(leaf), "2"(0));
}

static void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

void hypercall_init(void)
{
	uint32_t r[4], base;

	/* "XenVMMXenVMM" in ebx, ecx, edx; other hypervisors may come first. */
	for (base = 0x40000000; base < 0x40010000; base += 0x100) {
		cpuid(base, r);
		if (r[1] == 0x566e6558 && r[2] == 0x65584d4d && r[3] == 0x4d4d566e)
			break;
	}
	cpuid(base + 2, r); /* eax: pages, ebx: the MSR */
	wrmsr(r[1], (uint64_t)(uintptr_t)hypercall_page);
}

uint64_t hvm_param(uint32_t index)
{
	struct xen_hvm_param p = { .domid = DOMID_SELF, .index = index };

	if (hypercall2(__HYPERVISOR_hvm_op, HVMOP_get_param, (unsigned long)&p))
		return 0;
	return p.value;
}
