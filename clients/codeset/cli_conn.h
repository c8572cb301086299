/* cli_conn.h: one request/reply exchange with codesetd over a ZeroMQ REQ socket.
 *
 * Each connection owns its own context and a REQ socket with ZMQ_LINGER 0 and
 * ZMQ_SNDTIMEO/ZMQ_RCVTIMEO set to the timeout, so a broker that is down or wedged costs
 * at most the timeout and never hangs the CLI at exit. A reply is copied out of the ZeroMQ
 * message, checked (bounded nesting and element counts, exactly one msgpack map) and then
 * unpacked; its objects point into the reply's own buffer.
 * Thread-safety: a connection is used and destroyed by the thread that created it.
 */
#ifndef CS_CLI_CONN_H
#define CS_CLI_CONN_H

#include <stddef.h>

#include <msgpack.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Outcomes of cs_cli_conn_new and cs_cli_conn_request. */
enum {
    CS_CLI_CONN_OK = 0,
    CS_CLI_CONN_TIMEOUT = -1,   /* no reply within the timeout (broker down or busy) */
    CS_CLI_CONN_EINVAL = -2,    /* the endpoint was refused by zmq_connect */
    CS_CLI_CONN_EIO = -3,       /* a ZeroMQ call failed otherwise */
    CS_CLI_CONN_MALFORMED = -4, /* the reply is not one msgpack map */
};

#define CS_CLI_CONN_MAX_REPLY (64u << 20) /* largest reply accepted, in bytes */
#define CS_CLI_CONN_MAX_DEPTH 16          /* deepest container nesting accepted in a reply */

typedef struct cs_cli_conn cs_cli_conn_t;

/* A reply: root is the top-level map, valid until cs_cli_reply_release. */
typedef struct cs_cli_reply {
    char *body;                 /* owned copy of the reply bytes */
    size_t len;                 /* bytes in body */
    msgpack_unpacked unpacked;  /* owns the object tree; internal */
    const msgpack_object *root; /* the reply map, or NULL before a successful request */
} cs_cli_reply_t;

/* Open a REQ socket connected to endpoint. On failure returns NULL, stores the outcome in
 * *status (when not NULL) and writes a sentence into err. The caller owns the result. */
cs_cli_conn_t *cs_cli_conn_new(const char *endpoint, int timeout_ms, int *status, char *err,
                               size_t errcap);

/* Send body (len bytes) and wait for the reply, which is stored in *reply (initialised here;
 * release it with cs_cli_reply_release whatever the outcome). Returns CS_CLI_CONN_OK or
 * another CS_CLI_CONN_* with a sentence in err. After a timeout the connection is unusable. */
int cs_cli_conn_request(cs_cli_conn_t *c, const void *body, size_t len, cs_cli_reply_t *reply,
                        char *err, size_t errcap);

/* The endpoint the connection was opened with (borrowed, lives as long as c). */
const char *cs_cli_conn_endpoint(const cs_cli_conn_t *c);

/* Free what a request stored in reply; safe on a zeroed or already released reply. */
void cs_cli_reply_release(cs_cli_reply_t *reply);

/* Close the socket and terminate the context; accepts NULL and sets *c to NULL. */
void cs_cli_conn_destroy(cs_cli_conn_t **c);

/* Check that buf holds exactly one msgpack object whose containers nest at most max_depth
 * deep and whose declared element counts fit in the bytes present, without allocating
 * (msgpack-c allocates from a container header before any element arrives).
 * Returns 0 if so, -1 otherwise. */
int cs_cli_conn_prescan(const void *buf, size_t len, unsigned max_depth);

#ifdef __cplusplus
}
#endif
#endif /* CS_CLI_CONN_H */
