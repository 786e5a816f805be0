/* SPDX-License-Identifier: MIT */
/*
 * boot.S - the PVH entry. Xen starts us in 32-bit protected mode, paging
 * off, flat segments, %ebx = the physical address of hvm_start_info
 * (xen/arch-x86/hvm/start_info.h). We map the first 4 GiB one to one
 * with 2 MiB pages (the toolstack puts the console and XenStore pages
 * just below 4 GiB), enter long mode and call guest_start(start_info).
 */
#define XEN_ELFNOTE_PHYS32_ENTRY 18

	/* Where Xen enters a PVH guest (xen/elfnote.h). */
	.section .note.Xen, "a", @note
	.align 4
	.long 4, 4, XEN_ELFNOTE_PHYS32_ENTRY
	.asciz "Xen"
	.align 4
	.long pvh_start

	.code32
	.section .text.boot, "ax", @progbits
	.globl pvh_start
pvh_start:
	cld
	movl %ebx, %esi
	lgdt gdt_desc
	/* Four PDs: 2048 x 2 MiB, present, writable, large. */
	movl $pd, %edi
	xorl %ecx, %ecx
1:	movl %ecx, %eax
	shll $21, %eax
	orl $0x83, %eax
	movl %eax, (%edi,%ecx,8)
	movl $0, 4(%edi,%ecx,8)
	incl %ecx
	cmpl $2048, %ecx
	jb 1b
	/* PDPT[0..3] -> the four PDs */
	movl $pdpt, %edi
	movl $pd, %eax
	orl $3, %eax
	xorl %ecx, %ecx
2:	movl %eax, (%edi,%ecx,8)
	addl $4096, %eax
	incl %ecx
	cmpl $4, %ecx
	jb 2b
	movl $pdpt, %eax
	orl $3, %eax
	movl %eax, pml4
	movl %cr4, %eax
	orl $0x20, %eax			/* PAE */
	movl %eax, %cr4
	movl $pml4, %eax
	movl %eax, %cr3
	movl $0xc0000080, %ecx		/* EFER */
	rdmsr
	orl $0x100, %eax		/* LME */
	wrmsr
	movl %cr0, %eax
	orl $0x80000001, %eax		/* PG, PE */
	movl %eax, %cr0
	ljmp $0x08, $long_mode

	.code64
long_mode:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw %ax, %fs
	movw %ax, %gs
	movq $stack_top, %rsp
	movl %esi, %edi
	call guest_start
3:	hlt
	jmp 3b

	/* Exceptions: each stub pushes an error code (0 where the CPU
	 * pushes none) and its vector, then guest_trap(frame) (trap.c)
	 * says what happened on the console and ends the guest, instead of
	 * the silent triple fault a guest without an IDT gets. */
	.macro TRAP n, err
	.align 16
trap_\n:
	.if \err == 0
	pushq $0
	.endif
	pushq $\n
	jmp trap_common
	.endm
	.irp n, 0, 1, 2, 3, 4, 5, 6, 7, 9, 15, 16, 18, 19, 20, 22, 23, 24, 25, 26, 27, 28, 31
	TRAP \n, 0
	.endr
	.irp n, 8, 10, 11, 12, 13, 14, 17, 21, 29, 30
	TRAP \n, 1
	.endr
trap_common:
	movq %rsp, %rdi
	andq $-16, %rsp
	call guest_trap
4:	hlt
	jmp 4b

	.section .rodata.boot, "a"
	.align 8
	.globl trap_stubs
trap_stubs:
	.irp n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	.quad trap_\n
	.endr

	.align 16
gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* 0x08: 64-bit code */
	.quad 0x00cf92000000ffff	/* 0x10: data */
gdt_end:
gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt

	/* Xen fills this page with its hypercall stubs (hypercall.c). */
	.section .text.hypercall, "ax", @progbits
	.align 4096
	.globl hypercall_page
hypercall_page:
	.skip 4096

	.section .bss.boot, "aw", @nobits
	.align 4096
pml4:	.skip 4096
pdpt:	.skip 4096
pd:	.skip 4 * 4096
	.skip 262144			/* the stack: 256 KiB */
stack_top:

	.section .note.GNU-stack, "", @progbits
