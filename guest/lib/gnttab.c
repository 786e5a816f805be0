/* SPDX-License-Identifier: MIT */
/*
 * gnttab.c - the grant table, version 1, mapped into the hole with
 * XENMEM_add_to_physmap: granting our pages (entries we write) and
 * mapping peers' grants into the hole (GNTTABOP_map_grant_ref).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h> /* before Xen's headers, which use it */
#include <xen/grant_table.h>
#include <xen/memory.h>

#include "guest.h"
#include "runtime.h"
#include "xen.h"

#define FRAMES 4u
#define NREFS (FRAMES * 4096u / sizeof(grant_entry_v1_t))

static volatile grant_entry_v1_t *gt;
static uint8_t used[NREFS / 8];

int gnt_init(void)
{
	uint64_t pfn = mem_hole_alloc(FRAMES);

	if (!pfn)
		return -ENOMEM;
	for (unsigned i = 0; i < FRAMES; i++) {
		struct xen_add_to_physmap x = { .domid = DOMID_SELF,
						.space = XENMAPSPACE_grant_table,
						.idx = i,
						.gpfn = pfn + i };
		if (hypercall2(__HYPERVISOR_memory_op, XENMEM_add_to_physmap, (unsigned long)&x))
			return -EIO;
	}
	gt = (volatile grant_entry_v1_t *)(uintptr_t)(pfn << 12);
	for (unsigned r = 0; r < GNTTAB_NR_RESERVED_ENTRIES; r++)
		used[r / 8] |= (uint8_t)(1u << (r % 8)); /* the toolstack's */
	return 0;
}

int gnt_grant(uint32_t domid, uint64_t pfn, bool readonly, uint32_t *ref)
{
	if (!gt)
		return -ENOSYS;
	for (uint32_t r = 0; r < NREFS; r++) {
		if (used[r / 8] >> (r % 8) & 1)
			continue;
		used[r / 8] |= (uint8_t)(1u << (r % 8));
		gt[r].domid = (domid_t)domid;
		gt[r].frame = (uint32_t)pfn;
		/* domid and frame before the flags that make them valid */
		__atomic_thread_fence(__ATOMIC_RELEASE);
		gt[r].flags = GTF_permit_access | (readonly ? GTF_readonly : 0);
		*ref = r;
		return 0;
	}
	return -ENOSPC;
}

/* Ends access unless the peer maps the page now: 0, or -EBUSY. */
int gnt_end(uint32_t ref)
{
	volatile uint16_t *f = &gt[ref].flags;
	uint16_t old = *f;

	do
		if (old & (GTF_reading | GTF_writing))
			return -EBUSY;
	while (!__atomic_compare_exchange_n(f, &old, 0, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
	used[ref / 8] &= (uint8_t) ~(1u << (ref % 8));
	return 0;
}

/* Gives back access ended by gnt_end (the entry still holds the rest). */
void gnt_regrant(uint32_t ref, bool readonly)
{
	used[ref / 8] |= (uint8_t)(1u << (ref % 8));
	__atomic_store_n(&gt[ref].flags, GTF_permit_access | (readonly ? GTF_readonly : 0),
			 __ATOMIC_RELEASE);
}

static int gnt_errno(int16_t st)
{
	switch (st) {
	case GNTST_okay:
		return 0;
	case GNTST_bad_gntref:
		return -EINVAL;
	case GNTST_bad_domain:
		return -ESRCH;
	case GNTST_no_device_space:
		return -ENOMEM;
	case GNTST_general_error: /* granted to another, or read-only */
	case GNTST_permission_denied:
		return -EPERM;
	default:
		return -EIO;
	}
}

int gnt_map(uint32_t domid, uint32_t ref, uint64_t pfn, bool readonly, uint32_t *handle)
{
	struct gnttab_map_grant_ref m = {
		.host_addr = pfn << 12,
		.flags = GNTMAP_host_map | (readonly ? GNTMAP_readonly : 0),
		.ref = ref,
		.dom = (domid_t)domid,
	};
	long r =
	    hypercall3(__HYPERVISOR_grant_table_op, GNTTABOP_map_grant_ref, (unsigned long)&m, 1);

	if (r)
		return (int)r;
	*handle = m.handle;
	return gnt_errno(m.status);
}

int gnt_unmap(uint64_t pfn, uint32_t handle)
{
	struct gnttab_unmap_grant_ref u = { .host_addr = pfn << 12, .handle = handle };
	long r =
	    hypercall3(__HYPERVISOR_grant_table_op, GNTTABOP_unmap_grant_ref, (unsigned long)&u, 1);

	return r ? (int)r : gnt_errno(u.status);
}
