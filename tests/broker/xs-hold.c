/* xs-hold - holds a XenStore transaction open for a while (a test tool).
 *
 * usage: xs-hold MS [FILE]
 *
 * Opens a transaction on the domain's XenStore connection, prints
 * "holding" and ends it after MS milliseconds, or sooner once FILE
 * exists, so that a test can fill the domain's quota of open
 * transactions (C xenstored counts them per connection, and all of a
 * domU's processes share one). Exit status 0, or 1 with a message
 * ("refused: ..." if XenStore refused the transaction).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>

int main(int argc, char **argv)
{
	struct xs_handle *xs;
	xs_transaction_t t;
	long ms;

	if (argc < 2 || argc > 3 || (ms = atol(argv[1])) <= 0) {
		fprintf(stderr, "usage: xs-hold MS [FILE]\n");
		return 2;
	}
	xs = xs_open(0);
	if (!xs) {
		fprintf(stderr, "xs-hold: xs_open: %s\n", strerror(errno));
		return 1;
	}
	t = xs_transaction_start(xs);
	if (t == XBT_NULL) {
		printf("refused: %s\n", strerror(errno));
		xs_close(xs);
		return 1;
	}
	printf("holding\n");
	fflush(stdout);
	for (long w = 0; w < ms && !(argc == 3 && access(argv[2], F_OK) == 0); w += 10)
		nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
	xs_transaction_end(xs, t, true);
	xs_close(xs);
	return 0;
}
