/* SPDX-License-Identifier: MIT */
/*
 * ivc-rendezvousd - the rendezvous daemon of libIVC's brokered mode
 * (protocol-spec section 9.11), in dom0. See ivc-rendezvousd(8).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "broker.h"

#ifndef IVC_POLICY_PATH
#define IVC_POLICY_PATH "/etc/ivc/rendezvous.policy"
#endif

static void usage(FILE *f)
{
	fprintf(f, "usage: ivc-rendezvousd [-f] [--pidfile FILE] [--syslog] [--policy FILE]\n"
		   "                       [--max-channels N] [-v] [-q]\n"
		   "       ivc-rendezvousd --check-policy FILE\n"
		   "\n"
		   "Brokers libIVC channels by name under /rendezvous in XenStore (run mkrenddir\n"
		   "first). -f stays in the foreground and logs to stderr; otherwise it returns\n"
		   "once it is serving. SIGHUP reloads the policy; SIGTERM stops. See\n"
		   "ivc-rendezvousd(8).\n");
}

struct args {
	bool foreground, syslog;
	const char *pidfile, *policy, *check;
	unsigned max_chans;
	int verbosity;
};

static int parse_args(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "pidfile", required_argument, NULL, 'p' },
		{ "syslog", no_argument, NULL, 's' },
		{ "policy", required_argument, NULL, 'P' },
		{ "check-policy", required_argument, NULL, 'c' },
		{ "max-channels", required_argument, NULL, 'm' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int o;
	uint32_t n;

	*a = (struct args){ .max_chans = 4096, .verbosity = LOG_INFO };
	while ((o = getopt_long(argc, argv, "fvqh", opts, NULL)) != -1)
		switch (o) {
		case 'f':
			a->foreground = true;
			break;
		case 'p':
			a->pidfile = optarg;
			break;
		case 's':
			a->syslog = true;
			break;
		case 'P':
			a->policy = optarg;
			break;
		case 'c':
			a->check = optarg;
			break;
		case 'm':
			if (ivc__parse_u32(optarg, 1u << 20, &n) || n == 0) {
				fprintf(stderr, "ivc-rendezvousd: --max-channels: want 1 to %u\n",
					1u << 20);
				return 2;
			}
			a->max_chans = n;
			break;
		case 'v':
			a->verbosity = LOG_DEBUG;
			break;
		case 'q':
			a->verbosity = LOG_WARNING;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	return 0;
}

/* The policy named, else the installed one, else the built-in default.
 * *path: the file it came from (NULL: the default), for reloads. */
static struct policy *load_policy(const char *named, const char **path)
{
	*path = named ? named : access(IVC_POLICY_PATH, F_OK) == 0 ? IVC_POLICY_PATH : NULL;
	return *path ? policy_load(*path, stderr) : policy_default();
}

/* SIGHUP: the same file again (a file that went is an error, not a
 * reason to allow everything), or the installed one if there was none. */
static struct policy *reload_policy(const char **path)
{
	char *errs = NULL, *line, *save = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&errs, &size);
	struct policy *p;

	if (!f)
		return NULL;
	/* Its complaints go to our log (stderr may be /dev/null by now). */
	if (!*path && access(IVC_POLICY_PATH, F_OK) == 0)
		*path = IVC_POLICY_PATH;
	p = *path ? policy_load(*path, f) : policy_default();
	fclose(f);
	for (line = strtok_r(errs, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		logmsg(LOG_ERR, "%s", line);
	free(errs);
	return p;
}

/* Detaches; the parent exits once the child says it serves (or failed). */
static int daemonize(int *ready)
{
	int fds[2];
	pid_t pid;
	char c = 0;

	if (pipe(fds))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(fds[1]);
		exit(read(fds[0], &c, 1) == 1 && c == '1' ? 0 : 1);
	}
	close(fds[0]);
	setsid();
	if (chdir("/"))
		return -errno;
	int null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
	*ready = fds[1];
	return 0;
}

/* systemd's readiness protocol (sd_notify(3)): one datagram "READY=1" to
 * $NOTIFY_SOCKET, a path or, with a leading '@', an abstract name. Done
 * here rather than with libsystemd, which a minimal dom0 may lack. */
static void notify_ready(void)
{
	const char *e = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n = e ? strlen(e) : 0;
	int fd;

	if (n < 2 || n >= sizeof sa.sun_path || (e[0] != '/' && e[0] != '@'))
		return;
	memcpy(sa.sun_path, e, n);
	if (e[0] == '@')
		sa.sun_path[0] = 0;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, "READY=1", 7, 0, (struct sockaddr *)&sa,
		   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)) < 0)
		logmsg(LOG_WARNING, "cannot tell systemd we are ready: %s", strerror(errno));
	close(fd);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int serve(struct broker *b, int sigfd, const char *policy_path)
{
	int64_t tick = now_ms();
	int err;

	for (;;) {
		struct pollfd p[2] = { { broker_fd(b), POLLIN, 0 }, { sigfd, POLLIN, 0 } };
		struct signalfd_siginfo si;

		if (poll(p, 2, 1000) < 0 && errno != EINTR)
			return -errno;
		if (p[0].revents & (POLLERR | POLLHUP | POLLNVAL)) {
			logmsg(LOG_ERR, "lost the XenStore connection");
			return -EPIPE;
		}
		if ((p[0].revents & POLLIN) && (err = broker_events(b))) {
			logmsg(LOG_ERR, "lost the XenStore connection: %s", strerror(-err));
			return err;
		}
		if ((p[1].revents & POLLIN) && read(sigfd, &si, sizeof si) == sizeof si) {
			if (si.ssi_signo != SIGHUP) {
				logmsg(LOG_INFO, "stopping (signal %u)", si.ssi_signo);
				return 0;
			}
			struct policy *np = reload_policy(&policy_path);
			if (np) {
				broker_set_policy(b, np);
				logmsg(LOG_INFO, "policy reloaded");
			} else
				logmsg(LOG_ERR, "policy not reloaded: the file has errors (the old "
						"policy stays)");
		}
		if (now_ms() - tick >= 1000) {
			if ((err = broker_tick(b))) {
				logmsg(LOG_ERR, "lost the XenStore connection: %s", strerror(-err));
				return err;
			}
			tick = now_ms();
		}
	}
}

int main(int argc, char **argv)
{
	struct broker_opts bo = { 0 };
	struct broker *b = NULL;
	struct args a;
	sigset_t sigs;
	int err, sigfd, ready = -1;

	err = parse_args(argc, argv, &a);
	if (err)
		return err;
	if (a.check) {
		struct policy *p = policy_load(a.check, stderr);
		if (p)
			printf("%s: %d rules, fine\n", a.check, p->n);
		policy_free(p);
		return p ? 0 : 1;
	}
	log_setup(a.syslog || !a.foreground ? LOG_TO_SYSLOG : LOG_TO_STDERR, a.verbosity);
	bo.max_chans = a.max_chans;
	const char *policy_path;
	bo.policy = load_policy(a.policy, &policy_path);
	if (!bo.policy)
		return 1;
	if (!a.foreground && (err = daemonize(&ready)) < 0) {
		fprintf(stderr, "ivc-rendezvousd: cannot detach: %s\n", strerror(-err));
		return 1;
	}
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	sigfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	err = sigfd < 0 ? -errno : broker_open(&b, &bo);
	if (!err)
		err = broker_start(b);
	if (err) {
		logmsg(LOG_ERR, "cannot start: %s", strerror(-err));
		if (b)
			broker_close(b);
		else
			policy_free(bo.policy);
		return 1;
	}
	if (a.pidfile) {
		FILE *f = fopen(a.pidfile, "w");
		if (f) {
			fprintf(f, "%d\n", (int)getpid());
			fclose(f);
		} else
			logmsg(LOG_WARNING, "pidfile %s: %s", a.pidfile, strerror(errno));
	}
	logmsg(LOG_INFO, "serving /rendezvous (policy: %s)",
	       bo.policy->path ? bo.policy->path : "built-in default, everything allowed");
	notify_ready();
	if (ready >= 0) {
		if (write(ready, "1", 1) != 1)
			logmsg(LOG_WARNING, "could not tell the parent we are up");
		close(ready);
	}
	err = serve(b, sigfd, policy_path);
	broker_close(b);
	if (a.pidfile)
		unlink(a.pidfile);
	return err ? 1 : 0;
}
