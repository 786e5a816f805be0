/* SPDX-License-Identifier: MIT */
/* heap.h - the guest's heap (heap.c), under malloc() and friends. */
#ifndef GUEST_HEAP_H
#define GUEST_HEAP_H

#include <stddef.h>
#include <stdint.h>

/* One heap over [start, end) (a second call starts another: tests). */
void heap_init(uintptr_t start, uintptr_t end);
/* align: a power of two, at least 16; NULL when nothing fits. */
void *heap_alloc(size_t align, size_t size);
void heap_free(void *p);
size_t heap_usable(const void *p); /* at least what was asked */
size_t heap_total(void);           /* the first block's size, at init */
int heap_check(uintptr_t start, uintptr_t end);

#endif
