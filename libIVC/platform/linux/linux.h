/* SPDX-License-Identifier: MIT */
/*
 * linux.h - what the two Linux platforms (sim, xen) share: XenStore through
 * libxenstore (the sim host speaks the same wire protocol), waiting through
 * poll and epoll, the monotonic clock, a mutex. Each platform's ops table
 * points at these, with small wrappers where a platform's own handle is
 * involved.
 */
#ifndef IVC_PLATFORM_LINUX_H
#define IVC_PLATFORM_LINUX_H

#include <pthread.h>
#include <stdbool.h>

#include "../platform.h"

/* What both Linux platforms keep in their handle, as its first member (the
 * shared functions below reach it by casting the handle). */
struct ivc_linux_base {
	pthread_mutex_t lock; /* the library's lock(): its pump, its lists */
	pthread_cond_t cond;  /* on CLOCK_MONOTONIC */
	int evfd;             /* the event channel device */
	int wakefd;           /* an eventfd: wake() */
	pthread_t thread;
	bool thread_on;
};
int ivc_linux_base_init(struct ivc_linux_base *b);
void ivc_linux_base_destroy(struct ivc_linux_base *b);

/* XenStore (store.c). */
int ivc_linux_store_open(struct ivc_plat *p, struct ivc_plat_store **out);
void ivc_linux_store_close(struct ivc_plat_store *s);
struct xs_handle;
int ivc_linux_store_wrap(struct xs_handle *xs, void *owner, struct ivc_plat_store **out);
void *ivc_linux_store_owner(const struct ivc_plat_store *s);
int ivc_linux_store_fd(const struct ivc_plat_store *s);
int ivc_linux_store_read(struct ivc_plat_store *s, uint32_t txn, const char *path, char **val);
int ivc_linux_store_write(struct ivc_plat_store *s, uint32_t txn, const char *path,
			  const char *val);
int ivc_linux_store_mkdir(struct ivc_plat_store *s, uint32_t txn, const char *path);
int ivc_linux_store_rm(struct ivc_plat_store *s, uint32_t txn, const char *path);
int ivc_linux_store_dir(struct ivc_plat_store *s, uint32_t txn, const char *path, char ***ents,
			unsigned *n);
int ivc_linux_store_get_perms(struct ivc_plat_store *s, uint32_t txn, const char *path,
			      struct ivc_plat_perm **perms, unsigned *n);
int ivc_linux_store_set_perms(struct ivc_plat_store *s, uint32_t txn, const char *path,
			      const struct ivc_plat_perm *perms, unsigned n);
int ivc_linux_store_txn_start(struct ivc_plat_store *s, uint32_t *txn);
int ivc_linux_store_txn_end(struct ivc_plat_store *s, uint32_t txn, bool abort);
int ivc_linux_store_watch(struct ivc_plat_store *s, const char *path, const char *token);
int ivc_linux_store_unwatch(struct ivc_plat_store *s, const char *path, const char *token);
int ivc_linux_store_event(struct ivc_plat_store *s, char *token, size_t tsize, char *path,
			  size_t psize);

/* Waiting, descriptors, threads (wait.c). */
int ivc_linux_wait_fd(int fd, int ms);
int ivc_linux_wait(struct ivc_plat *p, struct ivc_plat_store *s, int ms);
void ivc_linux_wake(struct ivc_plat *p);
void ivc_linux_lock(struct ivc_plat *p);
void ivc_linux_unlock(struct ivc_plat *p);
int ivc_linux_cond_wait(struct ivc_plat *p, int ms);
void ivc_linux_cond_broadcast(struct ivc_plat *p);
int ivc_linux_note_new(struct ivc_plat *p, struct ivc_plat_note **out);
void ivc_linux_note_free(struct ivc_plat_note *n);
int ivc_linux_note_fd(const struct ivc_plat_note *n);
void ivc_linux_note_set(struct ivc_plat_note *n);
void ivc_linux_note_clear(struct ivc_plat_note *n);
int ivc_linux_waitset_new(struct ivc_plat *p, struct ivc_plat_store *s, struct ivc_plat_note *n,
			  struct ivc_plat_waitset **out);
void ivc_linux_waitset_free(struct ivc_plat_waitset *ws);
int ivc_linux_waitset_fd(const struct ivc_plat_waitset *ws);
int ivc_linux_thread_start(struct ivc_plat *p, void (*fn)(void *), void *arg);
void ivc_linux_thread_join(struct ivc_plat *p);
int64_t ivc_linux_now_ns(void);
void ivc_linux_nap(unsigned us);
int64_t ivc_linux_wall_ms(void);
uint64_t ivc_linux_seed(void);

/* The entries of a Linux platform's ops table that are the same for both
 * (wait, wake and store_event too, where the platform has no better way:
 * ivc_linux_wait, ivc_linux_wake, ivc_linux_store_event). */
#define IVC_LINUX_COMMON_OPS                                                                       \
	.store_read = ivc_linux_store_read, .store_write = ivc_linux_store_write,                  \
	.store_mkdir = ivc_linux_store_mkdir, .store_rm = ivc_linux_store_rm,                      \
	.store_dir = ivc_linux_store_dir, .store_get_perms = ivc_linux_store_get_perms,            \
	.store_set_perms = ivc_linux_store_set_perms,                                              \
	.store_txn_start = ivc_linux_store_txn_start, .store_txn_end = ivc_linux_store_txn_end,    \
	.store_watch = ivc_linux_store_watch, .store_unwatch = ivc_linux_store_unwatch,            \
	.lock = ivc_linux_lock, .unlock = ivc_linux_unlock, .cond_wait = ivc_linux_cond_wait,      \
	.cond_broadcast = ivc_linux_cond_broadcast, .note_new = ivc_linux_note_new,                \
	.note_free = ivc_linux_note_free, .note_fd = ivc_linux_note_fd,                            \
	.note_set = ivc_linux_note_set, .note_clear = ivc_linux_note_clear,                        \
	.waitset_new = ivc_linux_waitset_new, .waitset_free = ivc_linux_waitset_free,              \
	.waitset_fd = ivc_linux_waitset_fd, .thread_start = ivc_linux_thread_start,                \
	.thread_join = ivc_linux_thread_join, .now_ns = ivc_linux_now_ns, .nap = ivc_linux_nap,    \
	.wall_ms = ivc_linux_wall_ms, .seed = ivc_linux_seed

#endif
