/* cs_http.h: a real codeset-http for tests and benchmarks, and a tiny HTTP/1.1 client to talk
 * to it over loopback TCP (one request per connection, "Connection: close"). No Check calls:
 * each function says how it failed, so benchmark programs use it too.
 *
 * Thread-safety: the client functions share nothing; a cs_http_server_t belongs to one thread.
 */
#ifndef CS_HTTP_H
#define CS_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include <sys/types.h>

/* ---- codeset-http ---- */

typedef struct cs_http_server {
    pid_t pid;     /* the process, 0 when stopped */
    int port;      /* where it listens on 127.0.0.1 */
    char log[700]; /* its standard error */
} cs_http_server_t;

/* Start exe (build/bin/codeset-http) on db on a free loopback port, its stderr into log, with
 * args appended (NULL-terminated, may be NULL; a NULL inside ends them early). When cwd is not
 * NULL the child changes to it first. Waits (up to 10 s) until it says where it listens.
 * 0, or -1 with why (cap bytes) set. */
int cs_http_start(cs_http_server_t *h, const char *exe, const char *db, const char *log,
                  const char *cwd, const char *const *args, char *why, size_t cap);
/* SIGTERM and wait; the wait status, or -1 when it was not running. */
int cs_http_stop(cs_http_server_t *h);
/* 1 when the log holds no sanitizer report; else 0 with the first such line in line. */
int cs_http_log_clean(const cs_http_server_t *h, char *line, size_t cap);

/* ---- the client ---- */

typedef struct cs_hresp {
    int status;      /* the status code; -1 when the server answered nothing */
    char *head;      /* status line and headers (owns the buffer) */
    char *body;      /* into head's buffer, NUL-terminated */
    size_t body_len;
} cs_hresp_t;

void cs_hresp_free(cs_hresp_t *r);
/* Send raw bytes to port, read until the server closes (each wait up to timeout_ms); the
 * status, -1 when it answered no HTTP, or -2 when it could not be reached. */
int cs_http_raw(int port, const void *req, size_t len, int timeout_ms, cs_hresp_t *out);
/* One request with a JSON body (body may be NULL); the status, -1 or -2 as cs_http_raw. */
int cs_http_call(int port, const char *method, const char *path, const char *body,
                 size_t blen, int timeout_ms, cs_hresp_t *out);
/* The body parsed as JSON (the caller decrefs), or NULL with why set. */
json_t *cs_hresp_json(const cs_hresp_t *r, char *why, size_t cap);

#endif /* CS_HTTP_H */
