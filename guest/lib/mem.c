/* SPDX-License-Identifier: MIT */
/*
 * mem.c - the domain's memory: its map (from the PVH start info, or
 * XENMEM_memory_map), the heap over the RAM past the image, and a hole
 * of guest-physical frames with nothing behind them, where Xen maps the
 * shared info page, the grant table and the pages peers grant us.
 *
 * The heap itself is heap.c.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h> /* before Xen's headers, which use it */
#include <xen/arch-x86/hvm/start_info.h>
#include <xen/memory.h>

#include "guest.h"
#include "heap.h"
#include "runtime.h"
#include "xen.h"

#define PAGE 4096u
#define RAM 1u /* E820 / XEN_HVM_MEMMAP_TYPE_RAM */
#define MAX_REGIONS 32
#define HOLE_PAGES 16384u /* 64 MiB: shared info, grant table, peers' pages */
#define LOW_4G 0x100000000ull

extern char _end[]; /* guest.ld: the image's last byte + 1 */

static struct region {
	uint64_t addr, size;
	uint32_t type;
} region[MAX_REGIONS];
static unsigned nregions;
static char cmdline[1024];

/* ---- the map --------------------------------------------------------- */

struct e820 {
	uint64_t addr, size;
	uint32_t type;
} __attribute__((packed));

static void add_region(uint64_t addr, uint64_t size, uint32_t type)
{
	if (nregions < MAX_REGIONS && size)
		region[nregions++] = (struct region){ addr, size, type };
}

static void read_map(const struct hvm_start_info *si)
{
	if (si->version >= 1 && si->memmap_paddr && si->memmap_entries) {
		const struct hvm_memmap_table_entry *m = (const void *)(uintptr_t)si->memmap_paddr;
		for (uint32_t i = 0; i < si->memmap_entries; i++)
			add_region(m[i].addr, m[i].size, m[i].type);
		return;
	}
	static struct e820 e[MAX_REGIONS];
	struct xen_memory_map mm = { .nr_entries = MAX_REGIONS };

	set_xen_guest_handle(mm.buffer, e);
	if (hypercall2(__HYPERVISOR_memory_op, XENMEM_memory_map, (unsigned long)&mm) == 0)
		for (unsigned i = 0; i < mm.nr_entries; i++)
			add_region(e[i].addr, e[i].size, e[i].type);
}

const char *guest_cmdline(void)
{
	return cmdline;
}

int guest_arg(const char *key, char *buf, size_t cap)
{
	size_t k = strlen(key);

	for (const char *w = cmdline; *w;) {
		size_t n = strcspn(w, " ");
		if (n > k && w[k] == '=' && !strncmp(w, key, k)) {
			size_t v = n - k - 1 < cap ? n - k - 1 : cap - 1;
			if (cap) {
				memcpy(buf, w + k + 1, v);
				buf[v] = 0;
			}
			return 0;
		}
		w += n;
		while (*w == ' ')
			w++;
	}
	return -ENOENT;
}

/* ---- the hole -------------------------------------------------------- */

static uint64_t hole_pfn; /* 0: none */
static uint8_t hole_used[HOLE_PAGES / 8];

static bool overlaps(uint64_t a, uint64_t n)
{
	for (unsigned i = 0; i < nregions; i++)
		if (a < region[i].addr + region[i].size && region[i].addr < a + n)
			return true;
	return false;
}

/* Just past the RAM below 4 GiB, on a 2 MiB boundary, if nothing the
 * map names is there. */
static void hole_init(void)
{
	uint64_t top = 0;

	for (unsigned i = 0; i < nregions; i++)
		if (region[i].type == RAM && region[i].addr < LOW_4G &&
		    region[i].addr + region[i].size > top)
			top = region[i].addr + region[i].size;
	top = (top + 0x1fffff) & ~0x1fffffull;
	if (top + (uint64_t)HOLE_PAGES * PAGE <= 0xf0000000ull &&
	    !overlaps(top, (uint64_t)HOLE_PAGES * PAGE))
		hole_pfn = top / PAGE;
}

static bool hole_bit(uint32_t i)
{
	return hole_used[i / 8] >> (i % 8) & 1;
}

uint64_t mem_hole_alloc(uint32_t npages)
{
	if (!hole_pfn || !npages || npages > HOLE_PAGES)
		return 0;
	for (uint32_t i = 0, run = 0; i < HOLE_PAGES; i++) {
		run = hole_bit(i) ? 0 : run + 1;
		if (run == npages) {
			for (uint32_t k = i + 1 - npages; k <= i; k++)
				hole_used[k / 8] |= (uint8_t)(1u << (k % 8));
			return hole_pfn + i + 1 - npages;
		}
	}
	return 0;
}

void mem_hole_free(uint64_t pfn, uint32_t npages)
{
	for (uint64_t k = pfn - hole_pfn; k < pfn - hole_pfn + npages && k < HOLE_PAGES; k++)
		hole_used[k / 8] &= (uint8_t) ~(1u << (k % 8));
}

/* ---- start ----------------------------------------------------------- */

void mem_init(const struct hvm_start_info *si)
{
	uintptr_t start = ((uintptr_t)_end + PAGE - 1) & ~(uintptr_t)(PAGE - 1);

	/* The start info sits past the image, where the heap goes: what we
	 * keep of it is copied first. */
	read_map(si);
	if (si->cmdline_paddr) {
		const char *c = (const char *)(uintptr_t)si->cmdline_paddr;
		size_t n = 0;
		while (n + 1 < sizeof cmdline && c[n])
			n++;
		memcpy(cmdline, c, n);
	}
	for (unsigned i = 0; i < nregions; i++)
		if (region[i].type == RAM && region[i].addr <= start &&
		    start < region[i].addr + region[i].size) {
			uint64_t end = region[i].addr + region[i].size;
			heap_init(start, (uintptr_t)(end < LOW_4G ? end : LOW_4G));
		}
	hole_init();
}
