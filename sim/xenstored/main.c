/*
 * ivc-xenstored: a XenStore daemon for libIVC's sim platform. It speaks the real wire
 * protocol (xen/io/xs_wire.h) on Unix sockets, one per domain, and behaves like C
 * xenstored of Xen 4.17 so that libxenstore and the xenstore-* tools work unchanged.
 */
#define _POSIX_C_SOURCE 200809L
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xsd.h"

static void xsd_usage(FILE *f)
{
	fputs("usage: ivc-xenstored --dir DIR [--ready-fd N] [--foreground]\n"
	      "         [--quota-nodes N] [--quota-watches N] [--quota-transactions N]\n"
	      "         [--quota-entry-size N] [--quota-perms N] [--priv-domid N]\n"
	      "         [--keep-orphans]\n"
	      "Listens on DIR/xs/dom0.sock (domain 0); XS_INTRODUCE adds DIR/xs/domN.sock.\n",
	      f);
}

static unsigned xsd_num(const char *s, const char *what)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (!*s || *end || v > UINT32_MAX) {
		fprintf(stderr, "ivc-xenstored: bad number for %s: %s\n", what, s);
		exit(2);
	}
	return (unsigned)v;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "ready-fd", required_argument, NULL, 'r' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "quota-nodes", required_argument, NULL, 'E' },
		{ "quota-watches", required_argument, NULL, 'W' },
		{ "quota-transactions", required_argument, NULL, 't' },
		{ "quota-entry-size", required_argument, NULL, 'S' },
		{ "quota-perms", required_argument, NULL, 'A' },
		{ "priv-domid", required_argument, NULL, 'p' },
		{ "keep-orphans", no_argument, NULL, 'K' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ready_fd = -1, opt, fd, rc;
	const char *dir = NULL;
	char *xsdir, *sock;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			dir = optarg;
			break;
		case 'r':
			ready_fd = (int)xsd_num(optarg, "--ready-fd");
			break;
		case 'f':
			break; /* always in the foreground: the caller manages us */
		case 'E':
			xsd_cfg.quota_nodes = xsd_num(optarg, "--quota-nodes");
			break;
		case 'W':
			xsd_cfg.quota_watches = xsd_num(optarg, "--quota-watches");
			break;
		case 't':
			xsd_cfg.quota_trans = xsd_num(optarg, "--quota-transactions");
			break;
		case 'S':
			xsd_cfg.quota_entry_size = xsd_num(optarg, "--quota-entry-size");
			break;
		case 'A':
			xsd_cfg.quota_perms = xsd_num(optarg, "--quota-perms");
			break;
		case 'p':
			xsd_cfg.priv_domid = xsd_num(optarg, "--priv-domid");
			break;
		case 'K':
			xsd_cfg.keep_orphans = true;
			break;
		case 'h':
			xsd_usage(stdout);
			return 0;
		default:
			xsd_usage(stderr);
			return 2;
		}
	}
	if (!dir || optind != argc) {
		xsd_usage(stderr);
		return 2;
	}
	xsd_dir = dir;
	xsdir = xsd_printf("%s/xs", dir);
	if (mkdir(xsdir, 0755) < 0 && errno != EEXIST) {
		perror("ivc-xenstored: mkdir");
		free(xsdir);
		return 1;
	}
	sock = xsd_printf("%s/dom0.sock", xsdir);
	fd = xsd_listen(sock);
	if (fd < 0) {
		free(sock);
		free(xsdir);
		return 1;
	}
	xsd_store_init();
	rc = xsd_run(fd, ready_fd);
	xsd_io_free();
	unlink(sock);
	xsd_domains_free(); /* closes dom0's socket and unlinks the domains' */
	xsd_store_free();
	xsd_special_free();
	free(sock);
	free(xsdir);
	return rc;
}
