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

#include "../platform.h"

/* XenStore (store.c). */
int ivc_linux_store_open(struct ivc_plat *p, struct ivc_plat_store **out);
void ivc_linux_store_close(struct ivc_plat_store *s);
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
int ivc_linux_store_events(struct ivc_plat_store *s);
int ivc_linux_store_wait(struct ivc_plat_store *s, int ms);

/* Waiting (wait.c). */
int ivc_linux_wait_fd(int fd, int ms);
int ivc_linux_waitset_new(struct ivc_plat *p, struct ivc_plat_waitset **out);
void ivc_linux_waitset_free(struct ivc_plat_waitset *ws);
int ivc_linux_waitset_add_fd(struct ivc_plat_waitset *ws, int fd);
void ivc_linux_waitset_del_fd(struct ivc_plat_waitset *ws, int fd);
int ivc_linux_waitset_wait(struct ivc_plat_waitset *ws, int ms);
int ivc_linux_waitset_fd(const struct ivc_plat_waitset *ws);
int64_t ivc_linux_now_ms(void);
uint64_t ivc_linux_seed(void);

/* The entries of a Linux platform's ops table that are the same for both;
 * the platform adds evtchn_wait, waitset_add/del and lock/unlock (they
 * need its handle). */
#define IVC_LINUX_COMMON_OPS                                                                       \
	.store_open = ivc_linux_store_open, .store_close = ivc_linux_store_close,                  \
	.store_read = ivc_linux_store_read, .store_write = ivc_linux_store_write,                  \
	.store_mkdir = ivc_linux_store_mkdir, .store_rm = ivc_linux_store_rm,                      \
	.store_dir = ivc_linux_store_dir, .store_get_perms = ivc_linux_store_get_perms,            \
	.store_set_perms = ivc_linux_store_set_perms,                                              \
	.store_txn_start = ivc_linux_store_txn_start, .store_txn_end = ivc_linux_store_txn_end,    \
	.store_watch = ivc_linux_store_watch, .store_unwatch = ivc_linux_store_unwatch,            \
	.store_events = ivc_linux_store_events, .store_wait = ivc_linux_store_wait,                \
	.waitset_new = ivc_linux_waitset_new, .waitset_free = ivc_linux_waitset_free,              \
	.waitset_wait = ivc_linux_waitset_wait, .waitset_fd = ivc_linux_waitset_fd,                \
	.now_ms = ivc_linux_now_ms, .seed = ivc_linux_seed

/* waitset_add/del for a platform whose handle has one event fd. */
static inline int ivc_linux_waitset_add(struct ivc_plat_waitset *ws, int evfd,
					struct ivc_plat_store *s)
{
	return ivc_linux_waitset_add_fd(ws, s ? ivc_linux_store_fd(s) : evfd);
}

static inline void ivc_linux_waitset_del(struct ivc_plat_waitset *ws, int evfd,
					 struct ivc_plat_store *s)
{
	ivc_linux_waitset_del_fd(ws, s ? ivc_linux_store_fd(s) : evfd);
}

#endif
