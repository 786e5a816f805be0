/* SPDX-License-Identifier: MIT */
/* runtime.h - what the runtime's files (and the guest platform of
 * libIVC, libIVC/platform/guest) share. 0 or a negative errno unless
 * said otherwise. */
#ifndef GUEST_RUNTIME_H
#define GUEST_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hvm_start_info;

/* trap.c: exceptions end the guest with code 126, said on the console. */
void trap_init(void);

/* console.c */
void console_init(void);
void console_write(const char *s, size_t n);
void console_flush(void);

/* mem.c: the memory map, the heap's place, the command line, and the hole: guest-physical
 * frames with nothing behind them for Xen to map pages into (0: none). */
void mem_init(const struct hvm_start_info *si);
uint64_t mem_hole_alloc(uint32_t npages);
void mem_hole_free(uint64_t pfn, uint32_t npages);

/* events.c: shared info, the clock, event channels (all masked; waiting
 * is SCHEDOP_poll until a listed port is pending or deadline_ns, Xen's
 * system time, passes; 0: no deadline). */
int events_init(void);
uint64_t guest_wall_ms(void);
void evt_mask(uint32_t port);
bool evt_test_and_clear(uint32_t port);
bool evt_is_pending(uint32_t port);
int evt_alloc_unbound(uint32_t remote, uint32_t *port);
int evt_bind(uint32_t remote, uint32_t remote_port, uint32_t *port);
int evt_send(uint32_t port);
int evt_close(uint32_t port);
int evt_status(uint32_t port, uint32_t *state, uint32_t *remote, uint32_t *remote_port);
int evt_poll(const uint32_t *ports, unsigned n, uint64_t deadline_ns);

/* gnttab.c: grant table v1. */
int gnt_init(void);
int gnt_grant(uint32_t domid, uint64_t pfn, bool readonly, uint32_t *ref);
int gnt_end(uint32_t ref); /* -EBUSY while the peer maps it */
void gnt_regrant(uint32_t ref, bool readonly);
int gnt_map(uint32_t domid, uint32_t ref, uint64_t pfn, bool readonly, uint32_t *handle);
int gnt_unmap(uint64_t pfn, uint32_t handle);

/* xenstore.c: requests (reply: the payload, NUL-terminated, the
 * caller's to free; NULL: not wanted), watches, and their events, taken
 * by token prefix (the prefix is cut from the token handed back). */
void xenstore_init(void);
uint32_t xs_evtchn(void);
int xs_pump(void);
int xs_call(uint32_t type, uint32_t txn, const char *payload, uint32_t len, char **reply,
	    uint32_t *rlen);
/* The payload a, NUL, then b (NULL: none), with its NUL if b_nul (a
 * written value has none). -E2BIG above XenStore's payload limit. */
int xs_call_str(uint32_t type, uint32_t txn, const char *a, const char *b, bool b_nul, char **reply,
		uint32_t *rlen);
int xs_watch(const char *path, const char *token);
int xs_unwatch(const char *path, const char *token);
int xs_event_take(const char *prefix, char *token, size_t tsize, char *path, size_t psize);
bool xs_event_ready(const char *prefix);
void xs_unwatch_all(const char *prefix);

/* start.c: run by exit() before the domain shuts down (the platform
 * ends what a dying process's kernel would end for it). */
extern void (*runtime_exit_hook)(void);

#endif
