/* SPDX-License-Identifier: MIT */
/*
 * heap.c - the guest's heap: first fit over one free list with boundary
 * tags. A block is a 16-byte header (the previous block's size, its own
 * size with a used bit) and a payload aligned to 16; free neighbours
 * merge at once, so two free blocks are never adjacent; a sentinel block
 * (used) ends the heap. Pure code: a host test drives it
 * (tests/test-guest-heap.c).
 */
#include <errno.h>
#include <string.h>

#include "heap.h"

struct blk {
	size_t prev;                       /* the size of the block before, 0 for the first */
	size_t size;                       /* with USED */
	struct blk *next_free, *prev_free; /* while free: the payload */
};
#define HDR 16u
#define USED 1u
#define MIN_BLK 32u

static struct blk *free_list;
static size_t heap_bytes;

static size_t bsize(const struct blk *b)
{
	return b->size & ~(size_t)USED;
}

static struct blk *after(struct blk *b)
{
	return (struct blk *)((char *)b + bsize(b));
}

static void unlink_free(struct blk *b)
{
	if (b->prev_free)
		b->prev_free->next_free = b->next_free;
	else
		free_list = b->next_free;
	if (b->next_free)
		b->next_free->prev_free = b->prev_free;
}

static void link_free(struct blk *b)
{
	b->size &= ~(size_t)USED;
	b->prev_free = NULL;
	b->next_free = free_list;
	if (free_list)
		free_list->prev_free = b;
	free_list = b;
}

/* Cuts b at `at` bytes: the tail becomes a block of its own (free). */
static struct blk *split(struct blk *b, size_t at)
{
	struct blk *t = (struct blk *)((char *)b + at);

	t->size = bsize(b) - at;
	t->prev = at;
	after(t)->prev = t->size;
	b->size = at | (b->size & USED);
	return t;
}

void heap_init(uintptr_t start, uintptr_t end)
{
	free_list = NULL;
	heap_bytes = 0;
	start = (start + 15) & ~(uintptr_t)15;
	end &= ~(uintptr_t)15;
	if (end < start + 4 * MIN_BLK)
		return;
	struct blk *b = (struct blk *)start, *sentinel = (struct blk *)(end - HDR);

	b->prev = 0;
	b->size = (size_t)((uintptr_t)sentinel - start);
	sentinel->prev = b->size;
	sentinel->size = HDR | USED;
	heap_bytes = b->size;
	link_free(b);
}

void *heap_alloc(size_t align, size_t size)
{
	if (size > heap_bytes || align < 16 || (align & (align - 1)))
		return NULL;
	size_t need = ((size + 15) & ~(size_t)15) + HDR;
	need = need < MIN_BLK ? MIN_BLK : need;
	for (struct blk *b = free_list; b; b = b->next_free) {
		uintptr_t pay = (uintptr_t)b + HDR, p = (pay + align - 1) & ~(uintptr_t)(align - 1);
		while (p != pay && p - pay < MIN_BLK)
			p += align; /* room for the gap to be a free block */
		if (p - HDR + need > (uintptr_t)b + bsize(b))
			continue;
		unlink_free(b);
		if (p != pay) {
			struct blk *front = b;
			b = split(front, p - pay);
			link_free(front);
		}
		if (bsize(b) - need >= MIN_BLK)
			link_free(split(b, need));
		b->size |= USED;
		return (void *)p;
	}
	return NULL;
}

void heap_free(void *p)
{
	if (!p)
		return;
	struct blk *b = (struct blk *)((char *)p - HDR), *n = after(b);

	b->size &= ~(size_t)USED;
	if (!(n->size & USED)) {
		unlink_free(n);
		b->size += bsize(n);
		after(b)->prev = b->size;
	}
	if (b->prev) {
		struct blk *pr = (struct blk *)((char *)b - b->prev);
		if (!(pr->size & USED)) {
			unlink_free(pr);
			pr->size += bsize(b);
			after(pr)->prev = pr->size;
			b = pr;
		}
	}
	link_free(b);
}

size_t heap_usable(const void *p)
{
	return bsize((const struct blk *)((const char *)p - HDR)) - HDR;
}

size_t heap_total(void)
{
	return heap_bytes;
}

/* Walks the heap and the free list: 0, or -EIO at the first thing that
 * does not add up (for tests). */
int heap_check(uintptr_t start, uintptr_t end)
{
	size_t nfree = 0, listed = 0;
	struct blk *b = (struct blk *)((start + 15) & ~(uintptr_t)15), *prev = NULL;
	uintptr_t stop = (end & ~(uintptr_t)15) - HDR;

	for (; (uintptr_t)b < stop; prev = b, b = after(b)) {
		if (bsize(b) < MIN_BLK || bsize(b) % 16 || (uintptr_t)b + bsize(b) > stop)
			return -EIO;
		if (b->prev != (prev ? bsize(prev) : 0))
			return -EIO;
		if (!(b->size & USED)) {
			if (prev && !(prev->size & USED))
				return -EIO; /* two free blocks side by side */
			nfree++;
		}
	}
	if ((uintptr_t)b != stop || !(b->size & USED) || b->prev != (prev ? bsize(prev) : 0))
		return -EIO;
	for (struct blk *f = free_list; f; f = f->next_free, listed++)
		if ((f->size & USED) || listed > nfree ||
		    (f->next_free && f->next_free->prev_free != f))
			return -EIO;
	return listed == nfree ? 0 : -EIO;
}
