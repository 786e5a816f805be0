/* ivc-xenstored: a XenStore daemon for the sim platform (internal header). */
#ifndef XSD_H
#define XSD_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xen/io/xs_wire.h>

#define XSD_NO_GEN UINT64_MAX

/* util.c: allocation that never returns NULL (the daemon aborts on OOM). */
void *xsd_malloc(size_t n);
void *xsd_calloc(size_t n, size_t sz);
void *xsd_realloc(void *p, size_t n);
char *xsd_strdup(const char *s);
char *xsd_memdup(const void *p, size_t n);
char *xsd_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2), nonnull(1)));

/* Growable byte buffer. */
struct xsd_buf {
	char *p;
	size_t len, cap;
};
void xsd_buf_add(struct xsd_buf *b, const void *d, size_t n);
void xsd_buf_addstr(struct xsd_buf *b, const char *s); /* with its NUL */
void xsd_buf_free(struct xsd_buf *b);

/* String-keyed hash map; values are owned by the caller. */
struct xsd_entry {
	char *key;
	void *val;
	struct xsd_entry *next;
};
struct xsd_map {
	struct xsd_entry **slots;
	size_t nslots, count;
};
void *xsd_map_get(const struct xsd_map *m, const char *key);
bool xsd_map_has(const struct xsd_map *m, const char *key);
/* Sets key to val and returns the previous value (NULL if none). */
void *xsd_map_put(struct xsd_map *m, const char *key, void *val);
/* Removes key and returns its value (NULL if none). */
void *xsd_map_del(struct xsd_map *m, const char *key);
/* Frees the map itself; calls fn on each value when fn is not NULL. */
void xsd_map_clear(struct xsd_map *m, void (*fn)(void *));
/* Snapshot of the keys (caller frees the array, not the strings; valid until change). */
const char **xsd_map_keys(const struct xsd_map *m, size_t *n);

/* Permissions. */
#define XSD_PERM_READ 1u
#define XSD_PERM_WRITE 2u
#define XSD_PERM_OWNER 4u
struct xsd_perm {
	uint32_t id;
	unsigned acc; /* XSD_PERM_READ|XSD_PERM_WRITE */
};
struct xsd_perms {
	unsigned num;
	struct xsd_perm *p; /* p[0]: owner and default access for others */
};

struct xsd_node {
	char *name;
	char *data;
	size_t datalen;
	struct xsd_perms perms;
	char *children; /* NUL-terminated names, in creation order */
	size_t childlen;
	uint64_t gen;
};

struct xsd_conn;
struct xsd_trans;

/* Daemon-wide settings and state. */
struct xsd_config {
	unsigned quota_nodes, quota_watches, quota_trans, quota_entry_size, quota_perms;
	uint32_t priv_domid;
	bool keep_orphans;
};
extern struct xsd_config xsd_cfg;
extern uint64_t xsd_generation; /* last generation handed out */

/* domain.c */
struct xsd_domain {
	uint32_t domid;
	uint64_t gen; /* perms naming this domain count only on nodes newer than this */
	bool introduced;
	bool has_target;
	uint32_t target;
	int listen_fd;
	char *sock_path;
	unsigned nodes, watches, trans, conns;
};
struct xsd_domain *xsd_domain_find(uint32_t domid);
struct xsd_domain *xsd_domain_get(uint32_t domid); /* creates it if unknown */
bool xsd_domain_privileged(uint32_t domid);
void xsd_domains_free(void);
char *xsd_domains_stats(void); /* the ivc-stats JSON */
int xsd_domain_introduce(uint32_t domid, bool *fresh);
int xsd_domain_release(uint32_t domid);
void xsd_domain_each(void (*fn)(struct xsd_domain *, void *), void *arg);

/* store.c: the node tree (a flat map path -> node), seen through a transaction or not. */
void xsd_store_init(void);
void xsd_store_free(void);
void xsd_node_free(struct xsd_node *n);
struct xsd_node *xsd_node_copy(const struct xsd_node *n);
struct xsd_node *xsd_store_get(struct xsd_trans *t, const char *path);
void xsd_store_put(struct xsd_trans *t, struct xsd_node *n); /* takes n */
void xsd_store_del(struct xsd_trans *t, const char *path);
struct xsd_node *xsd_main_get(const char *path);
void xsd_main_put(struct xsd_node *n);
void xsd_main_del(const char *path);
const char **xsd_main_paths(size_t *n);
bool xsd_perm_valid(const struct xsd_node *n, unsigned i);
unsigned xsd_perm_for(const struct xsd_conn *c, const struct xsd_node *n);
unsigned xsd_perms_check(const struct xsd_conn *c, const struct xsd_perms *p);
size_t xsd_node_size(const struct xsd_node *n);
char *xsd_parent(const char *path);
const char *xsd_basename(const char *path);
bool xsd_valid_path(const char *path);
char *xsd_canon(const struct xsd_conn *c, const char *path);
void xsd_child_add(struct xsd_node *n, const char *name);
void xsd_child_del(struct xsd_node *n, const char *name);
int xsd_perms_parse(const char *s, size_t len, unsigned num, struct xsd_perms *out);
void xsd_perms_text(const struct xsd_node *n, struct xsd_buf *out);
void xsd_perms_copy(struct xsd_perms *dst, const struct xsd_perms *src);
/* Resolves a node for an access: EACCES/ENOENT exactly as C xenstored. */
struct xsd_node *xsd_lookup(struct xsd_conn *c, struct xsd_trans *t, const char *path,
			    unsigned need, int *err);
/* Removes path and its subtree (firing watches), or queues that in t. */
void xsd_remove_tree(struct xsd_trans *t, const char *path);

/* trans.c */
struct xsd_trans {
	uint32_t id;
	struct xsd_map nodes; /* path -> node copy, or XSD_GONE: changes to commit */
	struct xsd_map snap;  /* path -> node copy, or XSD_GONE: as first read */
	struct xsd_map seen;  /* path -> uint64_t *generation seen first */
	struct xsd_event *events;
	struct xsd_event **events_tail;
	struct xsd_trans *next;
};
extern char xsd_gone_marker;
#define XSD_GONE ((void *)&xsd_gone_marker)
void xsd_trans_seen(struct xsd_trans *t, const char *path, const struct xsd_node *main_node);
struct xsd_trans *xsd_trans_find(struct xsd_conn *c, uint32_t id);
int xsd_trans_start(struct xsd_conn *c, uint32_t *id);
int xsd_trans_end(struct xsd_conn *c, struct xsd_trans *t, bool commit);
void xsd_trans_free_all(struct xsd_conn *c);

/* watch.c */
struct xsd_watch {
	char *path; /* canonical, or a special "@..." name */
	char *token;
	size_t strip; /* bytes to strip from event paths (relative watches) */
	struct xsd_watch *next;
};
struct xsd_event {
	char *path;
	bool exact;
	struct xsd_node *old; /* perms before the change (removed node / old perms) */
	struct xsd_node *parent_old;
	struct xsd_event *next;
};
int xsd_watch_add(struct xsd_conn *c, const char *path, const char *token);
int xsd_watch_del(struct xsd_conn *c, const char *path, const char *token);
void xsd_watch_free_all(struct xsd_conn *c);
/*
 * Fires the watches for a change of path. exact: only watches on path itself (used for
 * the nodes below a removed one). old/parent_old: perms a node had before the change.
 */
void xsd_fire(struct xsd_trans *t, const char *path, bool exact, const struct xsd_node *old,
	      const struct xsd_node *parent_old);
void xsd_fire_now(const char *path, bool exact, const struct xsd_node *old,
		  const struct xsd_node *parent_old);
void xsd_fire_special(const char *name);
struct xsd_perms *xsd_special_perms(const char *name);
void xsd_special_drop_domain(uint32_t domid);
void xsd_special_free(void);
void xsd_special_set(struct xsd_perms *sp, const struct xsd_perms *perms); /* takes it */
void xsd_event_free(struct xsd_event *e);

/* io.c: connections */
struct xsd_conn {
	int fd;
	uint32_t domid;
	struct xsd_domain *dom;
	unsigned char hdr[sizeof(struct xsd_sockmsg)];
	size_t hdr_used;
	struct xsd_sockmsg msg;
	char *in;
	size_t in_used;
	struct xsd_buf out;
	size_t out_off;
	struct xsd_watch *watches;
	struct xsd_trans *trans;
	uint32_t next_trans_id;
	bool dead;
	int pid; /* the peer process, for fault rules; 0 if unknown or the host */
	struct xsd_conn *next;
};
extern struct xsd_conn *xsd_conns;
void xsd_send(struct xsd_conn *c, uint32_t type, uint32_t req_id, uint32_t tx_id, const void *data,
	      size_t len);
bool xsd_conn_privileged(const struct xsd_conn *c);
void xsd_conn_kill(struct xsd_conn *c);
void xsd_close_domain_conns(uint32_t domid);
int xsd_listen(const char *path);
/* Feeds bytes received on c through the header/payload state machine. */
void xsd_input(struct xsd_conn *c, const unsigned char *p, size_t n);
int xsd_run(int dom0_fd, int ready_fd);
void xsd_io_free(void);
extern const char *xsd_dir;

/* ops.c */
void xsd_process(struct xsd_conn *c);

#endif
