/* SPDX-License-Identifier: MIT */
/* wait.c - waiting, the clock and a seed for the Linux platforms. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "linux.h"

/* An epoll set: its fd is what ivc_listener_fd() and a watched channel's
 * ivc_chan_fd() return. */
struct ivc_plat_waitset {
	int epfd;
};

/* Waits until `fd` is readable or ms pass; 1 readable, 0 not, <0 error. */
int ivc_linux_wait_fd(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int r;

	do
		r = poll(&pfd, 1, ms);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

int ivc_linux_waitset_new(struct ivc_plat *p, struct ivc_plat_waitset **out)
{
	struct ivc_plat_waitset *ws = malloc(sizeof *ws);

	(void)p;
	if (!ws)
		return -ENOMEM;
	ws->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (ws->epfd < 0) {
		int err = -errno;
		free(ws);
		return err;
	}
	*out = ws;
	return 0;
}

void ivc_linux_waitset_free(struct ivc_plat_waitset *ws)
{
	if (!ws)
		return;
	close(ws->epfd);
	free(ws);
}

int ivc_linux_waitset_add_fd(struct ivc_plat_waitset *ws, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN };

	return epoll_ctl(ws->epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

void ivc_linux_waitset_del_fd(struct ivc_plat_waitset *ws, int fd)
{
	epoll_ctl(ws->epfd, EPOLL_CTL_DEL, fd, NULL);
}

int ivc_linux_waitset_wait(struct ivc_plat_waitset *ws, int ms)
{
	return ivc_linux_wait_fd(ws->epfd, ms);
}

int ivc_linux_waitset_fd(const struct ivc_plat_waitset *ws)
{
	return ws->epfd;
}

int64_t ivc_linux_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Request nonces must differ between processes of one domain. */
uint64_t ivc_linux_seed(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return ((uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec) ^
	       ((uint64_t)getpid() << 20);
}
