/* SPDX-License-Identifier: MIT */
/* wait.c - waiting, descriptors, a thread, the clock and a seed for the
 * Linux platforms. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "linux.h"

static struct ivc_linux_base *base(struct ivc_plat *p)
{
	return (struct ivc_linux_base *)p;
}

int ivc_linux_base_init(struct ivc_linux_base *b)
{
	pthread_condattr_t ca;

	b->evfd = -1;
	b->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (b->wakefd < 0)
		return -errno;
	pthread_mutex_init(&b->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&b->cond, &ca);
	pthread_condattr_destroy(&ca);
	return 0;
}

void ivc_linux_base_destroy(struct ivc_linux_base *b)
{
	if (b->wakefd < 0)
		return;
	close(b->wakefd);
	pthread_cond_destroy(&b->cond);
	pthread_mutex_destroy(&b->lock);
}

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

int ivc_linux_wait(struct ivc_plat *p, struct ivc_plat_store *s, int ms)
{
	struct ivc_linux_base *b = base(p);
	struct pollfd pfd[3] = { { .fd = b->wakefd, .events = POLLIN },
				 { .fd = b->evfd, .events = POLLIN },
				 { .fd = s ? ivc_linux_store_fd(s) : -1, .events = POLLIN } };
	uint64_t v;
	int r;

	do
		r = poll(pfd, 3, ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (pfd[0].revents && read(b->wakefd, &v, sizeof v) < 0) {
		/* EAGAIN: another waiter took it; nothing else can fail */
	}
	return r > 0;
}

void ivc_linux_wake(struct ivc_plat *p)
{
	uint64_t one = 1;

	if (write(base(p)->wakefd, &one, sizeof one) < 0) {
		/* EAGAIN: the counter is full, so a wake-up is pending anyway */
	}
}

void ivc_linux_lock(struct ivc_plat *p)
{
	pthread_mutex_lock(&base(p)->lock);
}

void ivc_linux_unlock(struct ivc_plat *p)
{
	pthread_mutex_unlock(&base(p)->lock);
}

int ivc_linux_cond_wait(struct ivc_plat *p, int ms)
{
	struct ivc_linux_base *b = base(p);
	struct timespec t;

	if (ms < 0)
		return pthread_cond_wait(&b->cond, &b->lock) ? -EINVAL : 0;
	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (long)(ms % 1000) * 1000000;
	if (t.tv_nsec >= 1000000000) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000;
	}
	int r = pthread_cond_timedwait(&b->cond, &b->lock, &t);
	return r == 0 || r == ETIMEDOUT ? 0 : -r;
}

void ivc_linux_cond_broadcast(struct ivc_plat *p)
{
	pthread_cond_broadcast(&base(p)->cond);
}

/* A note is an eventfd holding 0 (clear) or more (set). */
struct ivc_plat_note {
	int fd;
};

int ivc_linux_note_new(struct ivc_plat *p, struct ivc_plat_note **out)
{
	struct ivc_plat_note *n = malloc(sizeof *n);

	(void)p;
	if (!n)
		return -ENOMEM;
	n->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (n->fd < 0) {
		int err = -errno;
		free(n);
		return err;
	}
	*out = n;
	return 0;
}

void ivc_linux_note_free(struct ivc_plat_note *n)
{
	if (!n)
		return;
	close(n->fd);
	free(n);
}

int ivc_linux_note_fd(const struct ivc_plat_note *n)
{
	return n->fd;
}

void ivc_linux_note_set(struct ivc_plat_note *n)
{
	uint64_t one = 1;

	if (write(n->fd, &one, sizeof one) < 0) {
		/* EAGAIN: the counter is full, so it is set */
	}
}

void ivc_linux_note_clear(struct ivc_plat_note *n)
{
	uint64_t v;

	if (read(n->fd, &v, sizeof v) < 0) {
		/* EAGAIN: it was clear */
	}
}

/* An epoll set: the descriptor ivc_fd() returns. */
struct ivc_plat_waitset {
	int epfd;
};

static int ep_add(int epfd, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) ? -errno : 0;
}

int ivc_linux_waitset_new(struct ivc_plat *p, struct ivc_plat_store *s, struct ivc_plat_note *n,
			  struct ivc_plat_waitset **out)
{
	struct ivc_plat_waitset *ws = malloc(sizeof *ws);
	int err;

	if (!ws)
		return -ENOMEM;
	ws->epfd = epoll_create1(EPOLL_CLOEXEC);
	err = ws->epfd < 0 ? -errno : ep_add(ws->epfd, base(p)->evfd);
	if (!err && s)
		err = ep_add(ws->epfd, ivc_linux_store_fd(s));
	if (!err && n)
		err = ep_add(ws->epfd, n->fd);
	if (err) {
		if (ws->epfd >= 0)
			close(ws->epfd);
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

int ivc_linux_waitset_fd(const struct ivc_plat_waitset *ws)
{
	return ws->epfd;
}

struct thread_arg {
	void (*fn)(void *);
	void *arg;
};

static void *thread_main(void *v)
{
	struct thread_arg a = *(struct thread_arg *)v;

	free(v);
	a.fn(a.arg);
	return NULL;
}

int ivc_linux_thread_start(struct ivc_plat *p, void (*fn)(void *), void *arg)
{
	struct ivc_linux_base *b = base(p);
	struct thread_arg *a;
	int r;

	if (b->thread_on)
		return -EBUSY;
	a = malloc(sizeof *a);
	if (!a)
		return -ENOMEM;
	*a = (struct thread_arg){ fn, arg };
	r = pthread_create(&b->thread, NULL, thread_main, a);
	if (r) {
		free(a);
		return -r;
	}
	b->thread_on = true;
	return 0;
}

void ivc_linux_thread_join(struct ivc_plat *p)
{
	struct ivc_linux_base *b = base(p);

	if (!b->thread_on)
		return;
	pthread_join(b->thread, NULL);
	b->thread_on = false;
}

int64_t ivc_linux_now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

void ivc_linux_nap(unsigned us)
{
	struct timespec t = { .tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000 };

	clock_nanosleep(CLOCK_MONOTONIC, 0, &t, NULL); /* EINTR: a shorter nap */
}

int64_t ivc_linux_wall_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Request nonces must differ between processes of one domain: two that
 * collide overwrite each other's request. Time and pid only where the
 * kernel has no random bytes yet. */
uint64_t ivc_linux_seed(void)
{
	struct timespec t;
	uint64_t r;

	if (getrandom(&r, sizeof r, GRND_NONBLOCK) == (ssize_t)sizeof r)
		return r;
	clock_gettime(CLOCK_REALTIME, &t);
	return ((uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec) ^
	       ((uint64_t)getpid() << 20);
}
