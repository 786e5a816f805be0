/* SPDX-License-Identifier: MIT */
/* xen.h - hypercalls through the page Xen fills (hypercall.c). */
#ifndef GUEST_XEN_H
#define GUEST_XEN_H

#include <stdint.h>
#include <xen/xen.h>

extern char hypercall_page[4096];

void hypercall_init(void);

/* Up to three arguments (rdi, rsi, rdx); the stub of call `nr` is at
 * hypercall_page + 32 * nr. */
static inline long hypercall3(unsigned nr, unsigned long a1, unsigned long a2, unsigned long a3)
{
	register unsigned long d __asm__("rdi") = a1, s __asm__("rsi") = a2, x __asm__("rdx") = a3;
	long ret;

	__asm__ volatile("call *%[fn]"
			 : "=a"(ret), "+r"(d), "+r"(s), "+r"(x)
			 : [fn] "r"(hypercall_page + 32 * nr)
			 : "memory", "rcx", "r11", "r8", "r9", "r10");
	return ret;
}

#define hypercall2(nr, a1, a2) hypercall3((nr), (a1), (a2), 0)

/* HVM parameter `index` of this domain, or 0. */
uint64_t hvm_param(uint32_t index);

#endif
