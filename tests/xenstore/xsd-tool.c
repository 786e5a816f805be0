/*
 * Small dom0 helper for the shell tests, through the real libxenstore:
 *   xsd-tool introduce DOMID | release DOMID | stats
 * The daemon comes from XENSTORED_PATH, as for the xenstore-* tools.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenstore.h>

int main(int argc, char **argv)
{
	struct xs_handle *xs;
	int rc = 1;

	if (argc < 2) {
		fprintf(stderr, "usage: xsd-tool introduce DOMID | release DOMID | stats\n");
		return 2;
	}
	xs = xs_open(0);
	if (!xs) {
		perror("xs_open");
		return 1;
	}
	if (!strcmp(argv[1], "introduce") && argc == 3) {
		rc = xs_introduce_domain(xs, (unsigned)atoi(argv[2]), 0, 1) ? 0 : 1;
	} else if (!strcmp(argv[1], "release") && argc == 3) {
		rc = xs_release_domain(xs, (unsigned)atoi(argv[2])) ? 0 : 1;
	} else if (!strcmp(argv[1], "stats")) {
		char *s = xs_control_command(xs, "ivc-stats", NULL, 0);

		if (s) {
			printf("%s\n", s);
			free(s);
			rc = 0;
		}
	} else {
		fprintf(stderr, "xsd-tool: bad arguments\n");
		rc = 2;
	}
	if (rc == 1)
		perror(argv[1]);
	xs_close(xs);
	return rc;
}
