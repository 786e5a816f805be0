/* SPDX-License-Identifier: MIT */
/* runtime.h - what the runtime's files share. */
#ifndef GUEST_RUNTIME_H
#define GUEST_RUNTIME_H

#include <stddef.h>

void console_init(void);
void console_write(const char *s, size_t n);
void console_flush(void);
void xenstore_init(void);

#endif
