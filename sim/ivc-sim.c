/* SPDX-License-Identifier: MIT */
/*
 * ivc-sim - run Linux processes as Xen domains on one host.
 *
 *   ivc-sim start [--owner PID]         start a simulated host (ivc-simd);
 *                                       with an owner, it stops when that
 *                                       process exits
 *   ivc-sim stop                        end it and every domain in it
 *   ivc-sim run --domid N [--name NAME] -- CMD [ARGS...]
 *                                       run CMD as domain N; when CMD exits
 *                                       (in any way) the domain dies
 *   ivc-sim destroy DOMID               destroy a domain as `xl destroy`
 *                                       does: its processes are killed and
 *                                       no unmap-notify of theirs runs
 *   ivc-sim kill [-s SIGNAL] DOMID      signal the domain's processes (as a
 *                                       crash inside it); SIGKILL ends the
 *                                       domain, and their unmap-notify runs
 *   ivc-sim ls                          list live domains
 *   ivc-sim stats [--json]              per-domain resource counts
 *
 * The host's state lives in IVC_SIM_DIR (default /run/ivc-sim).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "simd-proto.h"

static const char *dir;
static struct simd_msg *msg;

struct command {
	const char *name;
	int (*fn)(int argc, char **argv); /* the arguments after the name */
	const char *args, *help;
};
static const struct command commands[];
static const size_t ncommands;
static const struct command *current; /* the one running: its usage */

static void command_usage(FILE *f, const struct command *c, bool help)
{
	fprintf(f, "usage: ivc-sim %s%s%s\n", c->name, *c->args ? " " : "", c->args);
	if (help)
		fprintf(f, "%s\n", c->help);
}

/* The running command's usage, or all of them. */
static void usage(FILE *f)
{
	if (current) {
		command_usage(f, current, f == stdout);
		return;
	}
	for (size_t i = 0; i < ncommands; i++)
		if (commands[i].args)
			fprintf(f, "%s ivc-sim %s%s%s\n", i ? "      " : "usage:", commands[i].name,
				*commands[i].args ? " " : "", commands[i].args);
	fprintf(f,
		"State directory: $IVC_SIM_DIR (default %s)\n"
		"Owner of a new host: --owner, else $IVC_SIM_OWNER (none if unset)\n"
		"ivc-sim help COMMAND (or COMMAND --help) tells more.\n",
		SIMD_DEFAULT_DIR);
}

static int admin_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s/admin.sock", dir);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

static int call(int fd, uint32_t op)
{
	ssize_t r;

	msg->op = op;
	if (send(fd, msg, sizeof *msg + 4u * msg->n, MSG_NOSIGNAL) < 0)
		return -errno;
	r = recv(fd, msg, SIMD_MSG_MAX, 0);
	if (r < (ssize_t)sizeof *msg)
		return r < 0 ? -errno : -EPROTO;
	return msg->err;
}

static int no_host(int err)
{
	fprintf(stderr, "ivc-sim: no simulated host running in %s (%s); run 'ivc-sim start'\n", dir,
		strerror(-err));
	return 1;
}

static const char *simd_path(void)
{
	static char buf[PATH_MAX];
	const char *env = getenv("IVC_SIMD");
	ssize_t n;

	if (env)
		return env;
	n = readlink("/proc/self/exe", buf, sizeof buf - 16);
	if (n > 0) {
		buf[n] = 0;
		char *slash = strrchr(buf, '/');
		if (slash) {
			strcpy(slash + 1, "ivc-simd");
			if (access(buf, X_OK) == 0)
				return buf;
		}
	}
	return "ivc-simd";
}

/* A domain id from the command line: decimal, 1..SIMD_MAX_DOMID (dom0
 * cannot be destroyed or killed). 0 if it is not one. */
static uint32_t domid_arg(const char *cmd, const char *s)
{
	char *end;
	unsigned long d = strtoul(s, &end, 10);

	if (end == s || *end || *s < '0' || *s > '9' || d == 0 || d > SIMD_MAX_DOMID) {
		fprintf(stderr, "ivc-sim: %s: bad domain id '%s' (1..%u)\n", cmd, s,
			SIMD_MAX_DOMID);
		return 0;
	}
	return (uint32_t)d;
}

static int cmd_start(int argc, char **argv)
{
	int fd, pfd[2];
	char c, rfd[16], owner[24] = "";
	const char *own = getenv("IVC_SIM_OWNER");
	pid_t pid;

	if (argc == 2 && !strcmp(argv[0], "--owner"))
		own = argv[1];
	else if (argc)
		return usage(stderr), 2;
	if (own && *own) {
		char *end;
		long o = strtol(own, &end, 10);
		if (end == own || *end || o <= 0 || kill((pid_t)o, 0)) {
			fprintf(stderr, "ivc-sim: start: no owner process '%s'\n", own);
			return 2;
		}
		snprintf(owner, sizeof owner, "%ld", o);
	}
	fd = admin_connect();

	if (fd >= 0) {
		close(fd);
		fprintf(stderr, "ivc-sim: a simulated host is already running in %s\n", dir);
		return 1;
	}
	if (mkdir(dir, 0755) && errno != EEXIST) {
		fprintf(stderr, "ivc-sim: cannot create %s: %s\n", dir, strerror(errno));
		return 1;
	}
	if (pipe2(pfd, O_CLOEXEC))
		return perror("ivc-sim: pipe"), 1;
	pid = fork();
	if (pid < 0)
		return perror("ivc-sim: fork"), 1;
	if (pid == 0) {
		/* Detach: own session, no terminal, stdio to the log. */
		setsid();
		if (fork() > 0)
			_exit(0);
		char log[PATH_MAX];
		snprintf(log, sizeof log, "%s/simd.log", dir);
		int lf = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		int nul = open("/dev/null", O_RDONLY);
		if (nul >= 0)
			dup2(nul, 0);
		if (lf >= 0) {
			dup2(lf, 1);
			dup2(lf, 2);
		}
		fcntl(pfd[1], F_SETFD, 0);
		snprintf(rfd, sizeof rfd, "%d", pfd[1]);
		if (owner[0])
			execlp(simd_path(), "ivc-simd", "--dir", dir, "--ready-fd", rfd, "--owner",
			       owner, (char *)NULL);
		else
			execlp(simd_path(), "ivc-simd", "--dir", dir, "--ready-fd", rfd,
			       (char *)NULL);
		fprintf(stderr, "ivc-sim: cannot run ivc-simd: %s\n", strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	waitpid(pid, NULL, 0);
	if (read(pfd[0], &c, 1) != 1) {
		fprintf(stderr, "ivc-sim: the host did not start; see %s/simd.log\n", dir);
		return 1;
	}
	printf("ivc-sim: host started in %s\n", dir);
	return 0;
}

static pid_t read_pid(void)
{
	char path[PATH_MAX];
	FILE *f;
	int pid = 0;

	snprintf(path, sizeof path, "%s/simd.pid", dir);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%d", &pid) != 1)
		pid = 0;
	fclose(f);
	return pid;
}

static int cmd_stop(int argc, char **argv)
{
	int fd = admin_connect(), err;
	pid_t pid = read_pid();

	(void)argv;
	if (argc)
		return usage(stderr), 2;
	if (fd < 0)
		return no_host(fd);
	msg->n = 0;
	err = call(fd, SIMD_STOP);
	close(fd);
	if (err) {
		fprintf(stderr, "ivc-sim: stop: %s\n", strerror(-err));
		return 1;
	}
	/* Wait until it has really gone, so that a new start cannot race. */
	for (int i = 0; pid > 0 && i < 1000 && kill(pid, 0) == 0; i++)
		usleep(10000);
	printf("ivc-sim: host stopped\n");
	return 0;
}

static int cmd_text(uint32_t op, uint32_t arg)
{
	int fd = admin_connect(), err;

	if (fd < 0)
		return no_host(fd);
	msg->n = 0;
	msg->a[0] = arg;
	err = call(fd, op);
	close(fd);
	if (err) {
		fprintf(stderr, "ivc-sim: %s\n", strerror(-err));
		return 1;
	}
	((char *)msg->data)[4u * SIMD_MAX_DATA - 1] = 0;
	fputs((const char *)msg->data, stdout);
	return 0;
}

static volatile sig_atomic_t child_pid;

static void forward(int sig)
{
	if (child_pid > 0)
		kill(-child_pid, sig);
}

/* tcsetpgrp with SIGTTOU blocked, which POSIX allows from the background. */
static void set_foreground(pid_t pgrp)
{
	sigset_t ttou, old;

	sigemptyset(&ttou);
	sigaddset(&ttou, SIGTTOU);
	sigprocmask(SIG_BLOCK, &ttou, &old);
	tcsetpgrp(STDIN_FILENO, pgrp);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

/* Waits for the domain's main process; if the host goes first (it never
 * writes on the life connection, so anything readable there is its end),
 * the domain goes with it, as a domain goes with its hypervisor. */
static void wait_domain(pid_t pid, int life, int *status)
{
	int pfd = life >= 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;

	while (pfd >= 0) {
		struct pollfd p[2] = { { .fd = pfd, .events = POLLIN },
				       { .fd = life, .events = POLLIN } };
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents)
			break;
		if (p[1].revents) {
			kill(-pid, SIGKILL);
			break;
		}
	}
	if (pfd >= 0)
		close(pfd);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
}

static int cmd_run(int argc, char **argv)
{
	long domid = -1;
	const char *name = NULL;
	int i, fd = -1, err, status;
	char env[PATH_MAX];

	for (i = 0; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--domid") && i + 1 < argc)
			domid = strtol(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--name") && i + 1 < argc)
			name = argv[++i];
		else
			return usage(stderr), 2;
	}
	if (i >= argc - 1 || domid < 0 || domid > SIMD_MAX_DOMID)
		return usage(stderr), 2;
	argv += i + 1;

	if (domid != 0) {
		fd = admin_connect();
		if (fd < 0)
			return no_host(fd);
		msg->a[0] = (uint32_t)domid;
		msg->n = 0;
		if (name) {
			size_t len = strlen(name) + 1;
			if (len > 63)
				len = 63;
			memset(msg->data, 0, 64);
			memcpy(msg->data, name, len);
			msg->n = 16;
		}
		err = call(fd, SIMD_DOMAIN_CREATE);
		if (err) {
			fprintf(stderr, "ivc-sim: cannot create domain %ld: %s\n", domid,
				err == -EEXIST ? "it already exists" : strerror(-err));
			return 1;
		}
	} else {
		int probe = admin_connect();
		if (probe < 0)
			return no_host(probe);
		close(probe);
	}

	/* Like a shell's job: when we hold the terminal, the domain's group
	 * gets it (or its first read would stop it), and we take it back. */
	bool tty = isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) == getpgrp();
	pid_t parent = getpid(), pid = fork();
	if (pid < 0)
		return perror("ivc-sim: fork"), 1;
	if (pid == 0) {
		/* The domain is a process group; it dies with us if we die,
		 * also if we died before the death signal was armed. */
		setpgid(0, 0);
		if (tty)
			set_foreground(getpid());
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(128 + SIGKILL);
		if (fd >= 0)
			close(fd);
		setenv("IVC_SIM_DIR", dir, 1);
		snprintf(env, sizeof env, "%ld", domid);
		setenv("IVC_SIM_DOMID", env, 1);
		snprintf(env, sizeof env, "%s/xs/dom%ld.sock", dir, domid);
		setenv("XENSTORED_PATH", env, 1);
		setenv("IVC_PLATFORM", "sim", 1);
		execvp(argv[0], argv);
		fprintf(stderr, "ivc-sim: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid);
	if (tty)
		set_foreground(pid);
	child_pid = pid;
	if (fd >= 0) {
		msg->a[0] = (uint32_t)pid;
		msg->n = 0;
		/* A host that stopped before it learnt the group could not
		 * kill it: the domain must not outlive its host. */
		if (call(fd, SIMD_DOMAIN_PGID))
			kill(-pid, SIGKILL);
	}
	struct sigaction sa = { .sa_handler = forward };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	wait_domain(pid, fd, &status);
	if (tty)
		set_foreground(getpgrp());
	/* The domain dies with its main process: nothing of it survives. The
	 * host kills the rest of the group itself, as a destroyed domain's
	 * (no unmap-notify of theirs runs); without a host, we do. */
	if (fd < 0)
		kill(-pid, SIGKILL);
	if (fd >= 0) {
		/* Closing the life connection destroys the domain; wait until the
		 * host has reclaimed it so that callers see a clean state. */
		shutdown(fd, SHUT_WR);
		char b;
		while (recv(fd, &b, 1, 0) > 0)
			;
		close(fd);
		for (int k = 0; k < 500; k++) {
			char path[PATH_MAX];
			snprintf(path, sizeof path, "%s/host/dom%ld.sock", dir, domid);
			if (access(path, F_OK))
				break;
			usleep(2000);
		}
		kill(-pid, SIGKILL); /* in case the host could not */
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

static int cmd_destroy(int argc, char **argv)
{
	uint32_t d;
	int fd, err;

	if (argc != 1)
		return usage(stderr), 2;
	d = domid_arg("destroy", argv[0]);
	if (!d)
		return 2;
	fd = admin_connect();
	if (fd < 0)
		return no_host(fd);
	msg->n = 0;
	msg->a[0] = d;
	err = call(fd, SIMD_DOMAIN_DESTROY);
	close(fd);
	if (err) {
		fprintf(stderr, "ivc-sim: destroy %u: %s\n", d, strerror(-err));
		return 1;
	}
	return 0;
}

static int signal_arg(const char *s)
{
	static const struct {
		const char *name;
		int sig;
	} names[] = { { "KILL", SIGKILL }, { "TERM", SIGTERM }, { "INT", SIGINT },
		      { "HUP", SIGHUP },   { "STOP", SIGSTOP }, { "CONT", SIGCONT },
		      { "SEGV", SIGSEGV }, { "ABRT", SIGABRT }, { "USR1", SIGUSR1 },
		      { "USR2", SIGUSR2 } };
	char *end;
	long n;

	if (!strncmp(s, "SIG", 3))
		s += 3;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (!strcmp(s, names[i].name))
			return names[i].sig;
	n = strtol(s, &end, 10);
	return end != s && !*end && n >= 1 && n <= 64 ? (int)n : 0;
}

/* The domain's processes get the signal; while `ivc-sim run` has not yet
 * told the host their process group (just after the domain is created),
 * try again for up to a second. */
static int cmd_kill(int argc, char **argv)
{
	int sig = SIGKILL, fd, err = -EAGAIN;
	uint32_t d;

	if (argc == 3 && !strcmp(argv[0], "-s")) {
		sig = signal_arg(argv[1]);
		if (!sig) {
			fprintf(stderr, "ivc-sim: kill: bad signal '%s'\n", argv[1]);
			return 2;
		}
		argv += 2;
		argc -= 2;
	}
	if (argc != 1)
		return usage(stderr), 2;
	d = domid_arg("kill", argv[0]);
	if (!d)
		return 2;
	fd = admin_connect();
	if (fd < 0)
		return no_host(fd);
	for (int i = 0; i < 200 && err == -EAGAIN; i++) {
		if (i)
			usleep(5000);
		msg->n = 0;
		msg->a[0] = d;
		msg->a[1] = (uint32_t)sig;
		err = call(fd, SIMD_DOMAIN_KILL);
	}
	close(fd);
	if (err) {
		fprintf(stderr, "ivc-sim: kill %u: %s\n", d,
			err == -EAGAIN ? "its processes did not start" : strerror(-err));
		return 1;
	}
	return 0;
}

static int cmd_ls(int argc, char **argv)
{
	(void)argv;
	if (argc)
		return usage(stderr), 2;
	return cmd_text(SIMD_LS, 0);
}

static int cmd_stats(int argc, char **argv)
{
	bool json = argc == 1 && !strcmp(argv[0], "--json");

	if (argc && !json)
		return usage(stderr), 2;
	return cmd_text(SIMD_STATS, json);
}

/* ivc-sim fault DOMID[:PID] CALL N[-M|+] ACTION | ls | clear */
static int cmd_fault(int argc, char **argv)
{
	char text[128] = "";
	size_t o = 0;
	int fd, err;

	if (argc == 1 && !strcmp(argv[0], "ls"))
		return cmd_text(SIMD_FAULT_LS, 0);
	if (argc == 1 && !strcmp(argv[0], "clear"))
		return cmd_text(SIMD_FAULT_CLEAR, 0);
	if (argc != 4)
		return usage(stderr), 2;
	for (int i = 0; i < argc; i++)
		o += (size_t)snprintf(text + o, o < sizeof text ? sizeof text - o : 0, "%s%s",
				      i ? " " : "", argv[i]);
	if (o >= sizeof text)
		return fprintf(stderr, "ivc-sim: fault: rule too long\n"), 2;
	if ((fd = admin_connect()) < 0)
		return no_host(fd);
	memcpy(msg->data, text, o + 1);
	msg->n = (uint32_t)((o + 4) / 4);
	err = call(fd, SIMD_FAULT);
	close(fd);
	if (err == -EINVAL && msg->n) {
		((char *)msg->data)[4u * SIMD_MAX_DATA - 1] = 0;
		fprintf(stderr, "ivc-sim: fault: %s\n", (const char *)msg->data);
		return 2;
	}
	if (err) {
		fprintf(stderr, "ivc-sim: fault: %s\n", strerror(-err));
		return 1;
	}
	return 0;
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < ncommands; i++)
		if (!strcmp(name, commands[i].name))
			return &commands[i];
	return NULL;
}

static int cmd_help(int argc, char **argv)
{
	const struct command *c = argc == 1 ? find_command(argv[0]) : NULL;

	if (c && c->args)
		command_usage(stdout, c, true);
	else
		usage(stdout);
	return argc > 1 || (argc == 1 && (!c || !c->args)) ? 2 : 0;
}

static const struct command commands[] = {
	{ "start", cmd_start, "[--owner PID]",
	  "Starts a simulated host in the background (ivc-simd and ivc-xenstored) and returns\n"
	  "once it is ready. With an owner (--owner, or $IVC_SIM_OWNER), the host stops by\n"
	  "itself when that process exits." },
	{ "stop", cmd_stop, "", "Kills every domain, ends the host and removes its sockets." },
	{ "run", cmd_run, "--domid N [--name NAME] -- CMD [ARGS...]",
	  "Runs CMD as domain N (N > 0 is created, and dies when CMD exits in any way;\n"
	  "N = 0 runs it as a dom0 process). Exits with CMD's status." },
	{ "destroy", cmd_destroy, "DOMID",
	  "Destroys a domain as `xl destroy` does: its processes are killed and no\n"
	  "unmap-notify of theirs runs." },
	{ "kill", cmd_kill, "[-s SIGNAL] DOMID",
	  "Sends SIGNAL (default KILL) to the domain's processes, as a crash inside it\n"
	  "would: their unmap-notify runs." },
	{ "ls", cmd_ls, "", "Lists the live domains." },
	{ "stats", cmd_stats, "[--json]",
	  "Grants, mappings, event channels, XenStore nodes and watches per domain." },
	{ "fault", cmd_fault, "DOMID[:PID] CALL N[-M|+] ACTION | ls | clear",
	  "Injects faults: the Nth (to the Mth, or every one from the Nth) call of kind\n"
	  "CALL made by the domain (or by that process of it), counted from now, fails\n"
	  "with ACTION (an errno name: ENOMEM, ENOSPC, EAGAIN, EACCES, ...) or, if ACTION\n"
	  "is kill, its process is killed before it gets an answer. CALL: host (any\n"
	  "grant or event channel call), grant-share, grant-map, evtchn-alloc,\n"
	  "evtchn-bind; xs (any XenStore request), xs-read, xs-write, xs-mkdir, xs-rm,\n"
	  "xs-dir, xs-perms, xs-watch, xs-txn-start, xs-commit. `ls` shows the rules\n"
	  "and how often each fired; `clear` removes them all." },
	{ "help", cmd_help, "[COMMAND]", "Tells how to use ivc-sim, or one of its commands." },
	{ "--help", cmd_help, NULL, NULL },
	{ "-h", cmd_help, NULL, NULL },
};
static const size_t ncommands = sizeof commands / sizeof commands[0];

int main(int argc, char **argv)
{
	dir = getenv("IVC_SIM_DIR") ? getenv("IVC_SIM_DIR") : SIMD_DEFAULT_DIR;
	msg = calloc(1, SIMD_MSG_MAX);
	if (!msg)
		return 1;
	if (argc < 2)
		return usage(stderr), 2;
	const struct command *c = find_command(argv[1]);
	if (!c) {
		fprintf(stderr, "ivc-sim: unknown command '%s'\n", argv[1]);
		usage(stderr);
		return 2;
	}
	if (c->args && argc > 2 && (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h"))) {
		command_usage(stdout, c, true);
		return 0;
	}
	current = c->args && c->fn != cmd_help ? c : NULL;
	return c->fn(argc - 2, argv + 2);
}
