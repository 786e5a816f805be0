/* Helpers for the ivc-xenstored tests: run a daemon, talk raw XenStore wire to it. */
#ifndef XSD_TEST_H
#define XSD_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct xt_daemon {
	char dir[64];
	int pid;
};

/* Starts ivc-xenstored (path in env IVC_XENSTORED or argv) in a fresh temp dir. */
int xt_start(struct xt_daemon *d, const char *exe, const char *const *extra);
/* SIGTERM, wait, remove the dir; returns 0 when it exited with status 0. */
int xt_stop(struct xt_daemon *d);
char *xt_sock(const struct xt_daemon *d, unsigned domid);

struct xt_conn {
	int fd;
	uint32_t req;
	char events[64][512]; /* queued watch events "path token" */
	size_t nevents;
};
struct xt_reply {
	uint32_t type;
	uint32_t len;
	char data[4200];
};

int xt_connect(struct xt_conn *c, const char *path);
void xt_close(struct xt_conn *c);
/* Sends one request, waits for its reply (events seen meanwhile are queued). */
int xt_req(struct xt_conn *c, uint32_t type, uint32_t tx, const void *p, size_t len,
	   struct xt_reply *r);
/* Convenience: payload given as NUL-separated strings ending with NULL. */
int xt_reqs(struct xt_conn *c, uint32_t type, uint32_t tx, struct xt_reply *r, ...);
/* Reply as text: "OK", "EACCES", data, ... (NULs shown as spaces). */
const char *xt_text(const struct xt_reply *r);
/* Collects events for up to ms milliseconds; returns how many are queued. */
size_t xt_events(struct xt_conn *c, int ms);
bool xt_has_event(const struct xt_conn *c, const char *path, const char *token);
void xt_clear_events(struct xt_conn *c);
/* Reads one counter from the ivc-stats JSON (absent domain: 0). */
long xt_stat(struct xt_conn *dom0, unsigned domid, const char *field);

extern int xt_failures;
#define XT_CHECK(cond, ...)                                                                        \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			xt_failures++;                                                             \
			printf("not ok - %s:%d: %s: ", __FILE__, __LINE__, #cond);                 \
			printf(__VA_ARGS__);                                                       \
			printf("\n");                                                              \
		}                                                                                  \
	} while (0)
/* Expects a reply text exactly equal to want. */
#define XT_EXPECT(r, want, what)                                                                   \
	XT_CHECK(strcmp(xt_text(r), (want)) == 0, "%s: got '%s', want '%s'", (what), xt_text(r),   \
		 (want))

#endif
