/* bench_util.h: helpers for benchmark programs: a broker process, timing, quantiles.
 * Benchmarks print figures; they never pass or fail on time. */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <zmq.h>

typedef struct bench_broker {
    pid_t pid;
    char dir[512];
    char db[600];
    char query_ep[700];
    char admin_ep[700];
} bench_broker_t;

/* Start build/bin/codesetd on a fresh temp dir, query endpoint ep (tcp://127.0.0.1:PORT). */
int bench_broker_start(bench_broker_t *b, const char *query_ep);
/* The same with more codesetd options (extra: NULL-terminated, at most 16, or NULL). */
int bench_broker_start_args(bench_broker_t *b, const char *query_ep, const char *const *extra);
void bench_broker_stop(bench_broker_t *b);

uint64_t bench_now_ns(void);
/* Sort v[0..n) and return the q-quantile. */
double bench_quantile(double *v, size_t n, double q);
/* Path of a file under the official data folder; 1 if readable. */
int bench_data_path(const char *rel, char *out, size_t cap);

/* A TCP port on 127.0.0.1 that nothing listens on right now (0 on failure). */
int bench_free_port(void);

/* min / median / max of v[0..n) (v is sorted in place). */
void bench_stats3(double *v, size_t n, double *lo, double *med, double *hi);
/* Print "what  min .. median .. max unit" on one line; returns the median. */
double bench_print3(const char *what, const char *unit, double *v, size_t n);

/* A summary of goals, the same in every program: after bench_goal_head(title), one line per
 * goal with the figure of this run, the goal (op "<=" or ">=", and its value), the floor or
 * rival it is measured against in the same run (a text such as "bare ZeroMQ p50 113 us"; ""
 * for none), and met or MISSED. unit follows the figure and the goal ("x", " us"...). A figure
 * <= 0 was not measured: "n/a", neither met nor missed. */
void bench_goal_head(const char *title);
void bench_goal(const char *what, double figure, const char *unit, const char *op, double goal,
                const char *floor);

/* Resident memory of a process, from /proc/<pid>/status (VmRSS) and /proc/<pid>/smaps (the
 * resident pages of every mapping whose path ends in map_suffix). Bytes; -1 on failure. */
int bench_rss(pid_t pid, const char *map_suffix, double *vmrss, double *map_rss);
/* RssAnon of pid (its anonymous memory: heap, not files it maps), in bytes; -1 if unread. */
double bench_rss_anon(pid_t pid);

/* CPU time (user + system, all threads) pid has used so far, in seconds; -1 if unread. */
double bench_cpu_seconds(pid_t pid);
/* The same for this process (getrusage). */
double bench_cpu_self(void);

/* ---- codes of an ICD-10-CM order file ---- */
typedef struct bench_code {
    char code[8];    /* as the order file writes it: "E119" */
    int billable;    /* the order file's flag */
    char title[232]; /* the long title */
} bench_code_t;
/* Read up to cap codes; returns how many. */
size_t bench_read_order(const char *path, bench_code_t *out, size_t cap);

/* ---- a ZeroMQ client that decodes every reply, as a real client must ---- */
typedef struct bench_conn {
    void *sock;            /* REQ for round trips, DEALER for pipelines */
    zmq_msg_t msg;         /* the last reply */
    msgpack_zone zone;     /* its decoded objects, cleared per reply */
    msgpack_object reply;  /* the decoded reply */
    msgpack_sbuffer sb;    /* a request being packed */
    msgpack_packer pk;     /* packs into sb */
} bench_conn_t;

/* Open a socket of type on ctx and connect it to ep (10 s receive timeout). 0 or -1. */
int bench_conn_open(bench_conn_t *c, void *ctx, int type, const char *ep);
void bench_conn_close(bench_conn_t *c);
/* Send body (or c->sb when body is NULL), wait for the reply and decode it. NULL on timeout
 * or garbage. The reply is valid until the next call. */
const msgpack_object *bench_call(bench_conn_t *c, const void *body, size_t len);
/* Wait for the next reply on c (a DEALER with requests in flight) and decode it, as
 * bench_call does. */
const msgpack_object *bench_recv(bench_conn_t *c);
/* Wait (up to timeout_ms) until the broker answers ping. 0 or -1. */
int bench_wait_ping(bench_conn_t *c, int timeout_ms);
/* Load files through the admin endpoint and wait; the job's seconds, or -1. */
double bench_load(bench_conn_t *admin, const char *loader, const char *label,
                  const char *const *files, int n_files);
/* Wait (10 s at most) until broker b answers, then load the ICD-10-CM tabular xml and order
 * file as release "2021" through its admin endpoint, on connections of ctx closed after. 0 or
 * -1. */
int bench_broker_load_tabular(const bench_broker_t *b, void *ctx, const char *xml,
                              const char *order);

const msgpack_object *bench_get(const msgpack_object *map, const char *key);
int bench_ok(const msgpack_object *reply); /* 1 if "ok" is true */
void bench_pack_str(msgpack_packer *pk, const char *s);

/* Request bodies, packed once so the timed loops measure the round trip, not the packing. */
typedef struct bench_body {
    char *data;
    size_t len;
} bench_body_t;
/* n bodies {"op", "system":"icd10cm", "code"} (plus "id": i when with_id) over codes picked
 * at random (billable ones only when billable_only). Caller frees with bench_bodies_free. */
bench_body_t *bench_code_bodies(const char *op, const bench_code_t *codes, size_t n_codes,
                                size_t n, int with_id, int billable_only, unsigned seed);
/* n validate bodies of per codes each (billable codes at random). */
bench_body_t *bench_batch_bodies(const bench_code_t *codes, size_t n_codes, size_t n,
                                 size_t per, unsigned seed);
void bench_bodies_free(bench_body_t *b, size_t n);

/* n synchronous round trips over bodies[i % nb]; lat_us[i] gets each one's time. 0 or -1. */
int bench_sync(bench_conn_t *c, const bench_body_t *bodies, size_t nb, size_t n,
               double *lat_us);
/* A DEALER keeping window requests in flight until total replies came back: replies/s (-1 on
 * a timeout). Bodies must carry ids (the protocol's way to match pipelined replies). */
double bench_pipeline(void *ctx, const char *ep, const bench_body_t *bodies, size_t nb,
                      size_t window, size_t total);
/* clients synchronous REQ clients on their own threads, total requests between them:
 * aggregate requests/s; lat_us (total entries) gets every round trip. -1 on a failure. */
double bench_concurrent(void *ctx, const char *ep, const bench_body_t *bodies, size_t nb,
                        int clients, size_t total, double *lat_us);

/* A ROUTER in a child process of its own (its own context; it dies with the bench) bound to
 * ep, answering every request with the same len reply bytes, as the broker's loop receives:
 * poll, then drain frames without blocking. The child's pid. */
pid_t bench_echo_start(const char *ep, const void *reply, size_t len);

#endif
