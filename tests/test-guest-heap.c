/* SPDX-License-Identifier: MIT */
/*
 * test-guest-heap.c - the guest's heap (guest/lib/heap.c) on the host,
 * over a 4 MiB arena: every result aligned as asked (16 to 64 KiB) and
 * inside the arena, heap_usable at least the size asked, no two live
 * blocks overlapping (each filled with its own pattern, checked when it
 * is freed), heap_check after every operation of a long fixed-seed
 * random sequence, NULL only when no free gap could hold the request
 * (the gaps computed from the live blocks alone), bad alignments and
 * sizes refused, and once everything is freed, in any order, the heap is
 * one free block again. usage: test-guest-heap [SEED [OPS]]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"

#define ARENA (4u << 20)
#define HDR 16u
#define SLOTS 512

/* Allocated (ASan sees a stray write past it), page aligned; the heap
 * over it deliberately off a 16-byte boundary at both ends. */
static unsigned char *arena;
static uintptr_t lo, hi;
static int failures;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);            \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			failures++;                                                                \
		}                                                                                  \
	} while (0)
/* After the first few failures of the random run the rest is noise. */
#define BAIL()                                                                                     \
	do {                                                                                       \
		if (failures > 20) {                                                               \
			fprintf(stderr, "too many failures\n");                                    \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

static uint64_t rng;

static uint64_t next(void)
{
	/* splitmix64: fixed seed, same run everywhere */
	uint64_t z = (rng += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

static size_t below(size_t n)
{
	return (size_t)(next() % n);
}

struct live {
	unsigned char *p;
	size_t size, usable, align;
	uint32_t tag; /* the pattern's seed */
};

static struct live slot[SLOTS];
static unsigned nlive;
static uint32_t tags;

/* A word per 8 bytes (payloads are 16-aligned, sizes multiples of 16),
 * different for every block and every offset in it. */
static uint64_t pat(uint32_t tag, size_t i)
{
	return ((uint64_t)tag << 32 | (uint32_t)i) * 0x9e3779b97f4a7c15u;
}

static void fill(struct live *l)
{
	uint64_t *w = (uint64_t *)(void *)l->p;

	for (size_t i = 0; i < l->usable / 8; i++)
		w[i] = pat(l->tag, i);
}

static int intact(const struct live *l)
{
	const uint64_t *w = (const uint64_t *)(const void *)l->p;

	for (size_t i = 0; i < l->usable / 8; i++)
		if (w[i] != pat(l->tag, i))
			return 0;
	return 1;
}

static void heap_ok(const char *after)
{
	CHECK(heap_check(lo, hi) == 0, "heap_check fails after %s", after);
}

static uintptr_t first_blk(void)
{
	return (lo + 15) & ~(uintptr_t)15;
}

static uintptr_t sentinel(void)
{
	return (hi & ~(uintptr_t)15) - HDR;
}

/* A block as the heap lays it out: its header before the payload. */
static uintptr_t blk_lo(const struct live *l)
{
	return (uintptr_t)l->p - HDR;
}

static uintptr_t blk_hi(const struct live *l)
{
	return (uintptr_t)l->p + l->usable;
}

/* Checks a fresh result against the request and every live block. */
static int fresh_ok(const struct live *n)
{
	int ok = 1;
	uintptr_t p = (uintptr_t)n->p;

	if (p % n->align || p % 16) {
		CHECK(0, "%p not aligned to %zu", (void *)n->p, n->align);
		ok = 0;
	}
	if (n->usable < n->size) {
		CHECK(0, "heap_usable %zu < %zu asked", n->usable, n->size);
		ok = 0;
	}
	if (blk_lo(n) < first_blk() || blk_hi(n) > sentinel()) {
		CHECK(0, "block [%#jx, %#jx) outside the heap", (uintmax_t)blk_lo(n),
		      (uintmax_t)blk_hi(n));
		ok = 0;
	}
	for (unsigned i = 0; i < SLOTS; i++) {
		const struct live *l = &slot[i];
		if (!l->p || l == n)
			continue;
		if (blk_lo(n) < blk_hi(l) && blk_lo(l) < blk_hi(n)) {
			CHECK(0, "new block [%#jx, %#jx) overlaps live [%#jx, %#jx)",
			      (uintmax_t)blk_lo(n), (uintmax_t)blk_hi(n), (uintmax_t)blk_lo(l),
			      (uintmax_t)blk_hi(l));
			ok = 0;
		}
	}
	return ok;
}

static int by_addr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t) * (unsigned char *const *)a,
		  y = (uintptr_t) * (unsigned char *const *)b;

	return x < y ? -1 : x > y;
}

/*
 * Free neighbours merge at once, so the free blocks are exactly the gaps
 * between live blocks. Returns the largest gap (bytes, header included);
 * the live blocks and gaps must tile the heap.
 */
static size_t largest_gap(void)
{
	static unsigned char *sorted[SLOTS];
	unsigned n = 0;
	size_t best = 0, sum = 0;
	uintptr_t at = first_blk();

	for (unsigned i = 0; i < SLOTS; i++)
		if (slot[i].p)
			sorted[n++] = slot[i].p;
	qsort(sorted, n, sizeof *sorted, by_addr);
	for (unsigned i = 0; i < n; i++) {
		uintptr_t b = (uintptr_t)sorted[i] - HDR;
		size_t u = heap_usable(sorted[i]);
		if (b > at) {
			best = b - at > best ? b - at : best;
			sum += b - at;
		}
		sum += HDR + u;
		at = b + HDR + u;
	}
	if (sentinel() > at) {
		best = sentinel() - at > best ? sentinel() - at : best;
		sum += sentinel() - at;
	}
	CHECK(sum == heap_total(), "live blocks and gaps add up to %zu, heap is %zu", sum,
	      heap_total());
	return best;
}

/* NULL is right only when no gap could hold the block with any slack
 * the alignment may cost (up to align + the 32-byte minimum block). */
static void null_ok(size_t align, size_t size)
{
	size_t need = ((size + 15) & ~(size_t)15) + HDR, gap = largest_gap();

	need = need < 32 ? 32 : need;
	if (align == 16)
		CHECK(gap < need, "NULL for %zu bytes with a %zu-byte free block", size, gap);
	else
		CHECK(gap < need + align + 32,
		      "NULL for %zu bytes at %zu with a %zu-byte free block", size, align, gap);
}

static void release(struct live *l)
{
	CHECK(intact(l), "block %p (%zu bytes, tag %u) overwritten while live", (void *)l->p,
	      l->size, l->tag);
	CHECK(heap_usable(l->p) == l->usable, "heap_usable changed: %zu -> %zu", l->usable,
	      heap_usable(l->p));
	heap_free(l->p);
	l->p = NULL;
	nlive--;
}

static int take(struct live *l, size_t align, size_t size)
{
	l->p = heap_alloc(align, size);
	if (!l->p)
		return 0;
	l->size = size;
	l->align = align;
	l->usable = heap_usable(l->p);
	l->tag = ++tags;
	nlive++;
	if (!fresh_ok(l)) {
		/* Filling it would wreck whatever it overlaps: drop it. */
		l->p = NULL;
		nlive--;
		return 0;
	}
	fill(l);
	return 1;
}

/* The whole heap is one free block: the largest possible block fits,
 * at the heap's first payload, and one more byte does not. */
static void one_block(const char *when)
{
	size_t max = heap_total() - HDR;
	void *p = heap_alloc(16, max);

	CHECK(p == (void *)(first_blk() + HDR), "%s: heap_alloc(16, %zu) = %p, not one free block",
	      when, max, p);
	if (p) {
		memset(p, 0x5a, max);
		heap_ok("the largest block");
		CHECK(heap_alloc(16, 1) == NULL, "%s: something left beside the largest block",
		      when);
		heap_free(p);
	}
	CHECK(heap_alloc(16, max + 1) == NULL, "%s: more than the heap fits", when);
	heap_ok(when);
}

static void init(void)
{
	memset(slot, 0, sizeof slot);
	nlive = 0;
	heap_init(lo, hi);
	heap_ok("heap_init");
}

/* Too small to hold anything, and bad requests. */
static void test_edges(void)
{
	heap_init(lo, lo + 100);
	CHECK(heap_total() == 0, "a 100-byte region gives a %zu-byte heap", heap_total());
	CHECK(heap_alloc(16, 0) == NULL, "alloc from an empty heap");
	heap_free(NULL);

	init();
	CHECK(heap_total() == sentinel() - first_blk(), "heap_total %zu", heap_total());
	CHECK(heap_total() % 16 == 0, "heap_total %zu", heap_total());
	size_t bad[] = { 0, 1, 8, 24, 48, 4095, (size_t)1 << (sizeof(size_t) * 8 - 1) | 16 };
	for (unsigned i = 0; i < sizeof bad / sizeof *bad; i++)
		CHECK(heap_alloc(bad[i], 16) == NULL, "align %zu accepted", bad[i]);
	/* A power of two, but no address in the heap has it. */
	CHECK(heap_alloc((size_t)1 << (sizeof(size_t) * 8 - 1), 16) == NULL, "align 2^63");
	CHECK(heap_alloc(16, heap_total()) == NULL, "the heap's size plus a header");
	CHECK(heap_alloc(16, SIZE_MAX) == NULL, "SIZE_MAX");
	CHECK(heap_alloc(16, SIZE_MAX - 15) == NULL, "SIZE_MAX - 15");
	CHECK(heap_alloc(4096, heap_total() - HDR) == NULL, "the whole heap, page aligned");
	heap_free(NULL);
	heap_ok("refused requests");
	one_block("after refused requests");
}

/* Sizes 0..300 and alignments 16..64 KiB, one each, then freed. */
static void test_align(void)
{
	init();
	for (size_t align = 16; align <= 65536; align *= 2)
		for (size_t size = 0; size <= 300; size += 13) {
			struct live *l = &slot[0];
			CHECK(take(l, align, size), "heap_alloc(%zu, %zu) failed", align, size);
			heap_ok("an aligned alloc");
			if (l->p)
				release(l);
			heap_ok("an aligned free");
		}
	one_block("after aligned allocs");
}

/* Three neighbours freed in all six orders: each time one block again. */
static void test_merge(void)
{
	static const int order[6][3] = { { 0, 1, 2 }, { 0, 2, 1 }, { 1, 0, 2 },
					 { 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 } };
	for (int o = 0; o < 6; o++) {
		init();
		for (int i = 0; i < 3; i++)
			CHECK(take(&slot[i], 16, 1000), "alloc %d", i);
		CHECK(slot[1].p == slot[0].p + slot[0].usable + HDR &&
			  slot[2].p == slot[1].p + slot[1].usable + HDR,
		      "first fit did not place three blocks side by side");
		for (int i = 0; i < 3; i++) {
			if (slot[order[o][i]].p)
				release(&slot[order[o][i]]);
			heap_ok("a free in the merge test");
			largest_gap();
		}
		one_block("after three frees");
	}
}

/* Small blocks until NULL, then freed in random order. */
static void test_exhaust(void)
{
	static struct live many[(ARENA / 48) + 16];
	size_t cap = sizeof many / sizeof *many - 1;
	size_t n = 0;

	init();
	while (n < cap) {
		many[n].p = heap_alloc(16, 20);
		if (!many[n].p)
			break;
		many[n].usable = heap_usable(many[n].p);
		many[n].size = 20;
		many[n].tag = ++tags;
		fill(&many[n]);
		n++;
	}
	CHECK(n > ARENA / 64, "only %zu 20-byte blocks in %u bytes", n, ARENA);
	CHECK(n < cap, "never ran out");
	heap_ok("exhaustion");
	/* What is left is under 48 bytes: maybe one 32-byte block (size 0). */
	many[n].p = heap_alloc(16, 0);
	if (many[n].p) {
		many[n].usable = heap_usable(many[n].p);
		many[n].size = 0;
		many[n].tag = ++tags;
		fill(&many[n]);
		n++;
	}
	CHECK(heap_alloc(16, 0) == NULL, "alloc from a full heap");
	CHECK(heap_alloc(4096, 1) == NULL, "aligned alloc from a full heap");
	heap_ok("allocs from a full heap");
	for (size_t i = n; i > 1; i--) {
		size_t j = below(i);
		struct live t = many[i - 1];
		many[i - 1] = many[j];
		many[j] = t;
	}
	for (size_t i = 0; i < n; i++) {
		CHECK(intact(&many[i]), "block %zu overwritten", i);
		heap_free(many[i].p);
		/* The walk costs O(blocks): every 64th free, and the last few. */
		if (i % 64 == 0 || n - i < 64)
			heap_ok("a free after exhaustion");
		if (failures)
			break;
	}
	one_block("after exhaustion");
}

static size_t pick_size(size_t *align)
{
	size_t r = below(100);

	*align = 16;
	if (r < 50)
		return below(257); /* small, 0 included */
	if (r < 75)
		return below(8193);
	if (r < 90) {
		/* page-aligned, one to sixteen pages, sometimes a bit over */
		size_t pages = 1 + below(16);
		*align = 4096;
		return 4096 * pages + (below(4) == 0 ? below(4096) : 0);
	}
	if (r < 97) {
		*align = (size_t)32 << below(12); /* 32 .. 64 KiB */
		return below(20000);
	}
	return 65536 + below(200000); /* large: runs the heap out */
}

static void test_random(unsigned long ops)
{
	unsigned long allocs = 0, frees = 0, nulls = 0;

	init();
	for (unsigned long op = 0; op < ops; op++) {
		struct live *l = &slot[below(SLOTS)];
		char what[64];

		/* A live slot is usually freed: 7 times in 8, but only every
		 * other time in the phases that press the heap to its end. */
		size_t keep = (op / 20000) % 2 ? 2 : 8;

		if (l->p && below(keep) != 0) {
			release(l);
			frees++;
			snprintf(what, sizeof what, "op %lu (free)", op);
		} else {
			size_t align, size = pick_size(&align);
			if (l->p) {
				release(l);
				frees++;
			}
			if (take(l, align, size)) {
				allocs++;
			} else if (!failures) {
				nulls++;
				null_ok(align, size);
			}
			snprintf(what, sizeof what, "op %lu (alloc %zu at %zu)", op, size, align);
		}
		heap_ok(what);
		BAIL();
		/* Every now and then: everything live still intact. */
		if (op % 4096 == 0)
			for (unsigned i = 0; i < SLOTS; i++)
				if (slot[i].p)
					CHECK(intact(&slot[i]), "op %lu: slot %u overwritten", op,
					      i);
		/* ... and now and then everything freed, in random order. */
		if (op % 50000 == 49999 || op + 1 == ops) {
			for (unsigned left = nlive; left; left--) {
				unsigned i;
				do
					i = (unsigned)below(SLOTS);
				while (!slot[i].p);
				release(&slot[i]);
				frees++;
				heap_ok("a free emptying the heap");
			}
			one_block("after emptying the heap");
			BAIL();
		}
	}
	printf("random: %lu ops, %lu allocs, %lu frees, %lu NULL\n", ops, allocs, frees, nulls);
	CHECK(nulls > 0, "the random run never ran the heap out");
	CHECK(allocs > ops / 4, "only %lu allocs", allocs);
}

int main(int argc, char **argv)
{
	unsigned long ops = 200000;

	rng = argc > 1 ? strtoull(argv[1], NULL, 0) : 1;
	if (argc > 2)
		ops = strtoul(argv[2], NULL, 0);
	arena = aligned_alloc(4096, ARENA);
	if (!arena) {
		perror("aligned_alloc");
		return 1;
	}
	lo = (uintptr_t)arena + 5;
	hi = (uintptr_t)arena + ARENA - 3;
	test_edges();
	test_align();
	test_merge();
	test_exhaust();
	test_random(ops);
	free(arena);
	if (failures) {
		printf("FAIL: %d failures\n", failures);
		return 1;
	}
	printf("ok - guest heap\n");
	return 0;
}
