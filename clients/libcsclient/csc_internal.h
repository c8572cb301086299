/* csc_internal.h: internal to libcsclient: the client handle and the request and outcome
 * records shared by the synchronous calls and batches (codeset_client.c) and the
 * asynchronous calls (csc_async.c). */
#ifndef CS_CSC_INTERNAL_H
#define CS_CSC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>
#include <zmq.h>

#include "codeset_client.h"

/* a growable byte buffer, the msgpack packer's sink */
typedef struct csc_buf {
    char *data;  /* owned bytes */
    size_t len;  /* bytes used */
    size_t cap;  /* bytes allocated */
    int failed;  /* 1 once a write could not grow the buffer */
} csc_buf_t;

/* msgpack_packer write callback appending to a csc_buf_t (data); -1 once out of memory. */
int csc_buf_write(void *data, const char *bytes, size_t n);

typedef enum csc_op {
    CSC_OP_PING,
    CSC_OP_LOOKUP,
    CSC_OP_VALIDATE,
    CSC_OP_SEARCH,
    CSC_OP_CROSSWALK,
    CSC_OP_RELEASES,
    CSC_OP_CLAIM,
} csc_op_t;

/* One encoded request: its key/value pairs without the map header, so that the "id" a run
 * assigns can be put in front without re-encoding the rest. */
typedef struct csc_req {
    csc_op_t op;     /* what the reply decodes into */
    char *pairs;     /* owned msgpack key/value pairs */
    size_t len;      /* bytes in pairs */
    uint32_t nkeys;  /* pairs in pairs */
} csc_req_t;

enum { CSC_UNSENT, CSC_SENT, CSC_DONE };

typedef struct csc_slot {
    int state;                /* CSC_UNSENT, CSC_SENT, CSC_DONE */
    int status;               /* CS_CLIENT_* once done */
    cs_client_error_t err;    /* details when status is not OK */
    cs_client_ping_t ping;    /* CSC_OP_PING result */
    void *result;             /* other ops: owned typed result, or NULL */
} csc_slot_t;

struct csc_msg;

struct cs_client {
    void *ctx;               /* ZeroMQ context */
    int own_ctx;             /* 1 if ctx is ours to terminate */
    void *sock;              /* DEALER connected to every endpoint */
    char **endpoints;        /* owned copies */
    size_t n_endpoints;      /* entries in endpoints */
    int timeout_ms;          /* wait for a reply before reconnecting */
    int tries;               /* timeouts in a row before giving up */
    uint64_t spin_ns;        /* how long a run looks for replies before it sleeps */
    uint64_t async_spin_ns;  /* the same for a wait on asynchronous calls */
    int direct;              /* 1: synchronous calls go over zfd (csc_zmtp.h) */
    int zfd;                 /* that connection, or -1 while there is none */
    int64_t z_retry_ms;      /* after a failed connect, no other before this (csc_now_ms) */
    csc_buf_t zbody;         /* the last reply received on it */
    unsigned window;         /* requests in flight at once */
    size_t max_reply;        /* ZMQ_MAXMSGSIZE */
    uint64_t next_id;        /* the next request id; ids are never reused by a client */
    uint64_t reconnects;     /* sockets given up after a timeout */
    csc_buf_t frame;         /* scratch: one request as sent */
    cs_client_error_t last;  /* the last call's failure */
    /* asynchronous calls (csc_async.c) */
    cs_client_call_t *q_head;   /* calls not sent yet, in the order they were made */
    cs_client_call_t *q_tail;   /* the last of them */
    struct csc_msg **msgs;      /* messages in flight, in the order they were sent */
    size_t n_msgs;              /* entries in msgs */
    size_t cap_msgs;            /* entries allocated */
    size_t items_in_flight;     /* calls those messages carry */
    uint64_t next_seq;          /* the next call's number: the order calls were made in */
    unsigned coalesce;          /* most calls in one batch message; 1: never a batch */
    int no_batch;               /* 1 once a broker answered "batch" with unknown_op */
    int64_t a_deadline;         /* when the calls in flight time out (ms); 0: none */
    int a_timeouts;             /* timeouts in a row without a reply */
};

/* Encode a lookup or validate (arguments as for the synchronous calls; copied). Return
 * CS_CLIENT_OK, CS_CLIENT_EINVAL or CS_CLIENT_ENOMEM. */
int csc_build_lookup(csc_req_t *req, const char *system, const char *code, unsigned include,
                     const cs_client_when_t *when);
/* A lookup with no release, date or include, encoded into buf (of csc_plain_lookup_size
 * bytes at least; req->pairs points into it, the caller owns it). */
size_t csc_plain_lookup_size(const char *system, const char *code);
void csc_plain_lookup_put(char *buf, const char *system, const char *code, csc_req_t *req);
int csc_build_validate(csc_req_t *req, const char *system, const char *const *codes, size_t n,
                       const cs_client_when_t *when);

/* Free an outcome's result and zero it. */
void csc_slot_clear(csc_op_t op, csc_slot_t *s);
/* Decode one reply map of op into s (state CSC_DONE; status and err, or the result). */
void csc_slot_decode(csc_op_t op, const msgpack_object *reply, csc_slot_t *s);

/* Fill err (may be NULL) with status and a sentence; returns status. */
int csc_fail(cs_client_error_t *err, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int64_t csc_now_ms(void);
/* A fresh DEALER on c->sock, connected to every endpoint. */
int csc_open(cs_client_t *c, cs_client_error_t *err);
/* Wait until c->sock has a reply (or, when blocked, room to send) or deadline (csc_now_ms's
 * clock) passes: 1 when a reply waits, 0 when none does, or CS_CLIENT_EIO (c->last filled). */
int csc_wait(cs_client_t *c, int blocked, int64_t deadline);
/* Send req with id: 0, 1 when the socket cannot take it now, or a negative status. */
int csc_send(cs_client_t *c, const csc_req_t *req, uint64_t id);
/* Receive one reply without waiting: 1 with *frame holding its body and *u that body decoded
 * (a map; the caller destroys u, then closes frame), 0 when none waits, or a negative status
 * (c->last filled). Bodies that are not msgpack maps are dropped. */
int csc_recv(cs_client_t *c, zmq_msg_t *frame, msgpack_unpacked *u);
/* Receive one reply's body without waiting, whatever it holds: 1 with *frame (the caller
 * closes it), 0 when none waits, or a negative status (c->last filled). */
int csc_recv_frame(cs_client_t *c, zmq_msg_t *frame);
/* A reply body decoded into u (1; the caller destroys u), or 0 when it is not a msgpack map
 * (garbage, to be dropped). */
int csc_unpack(const void *data, size_t len, msgpack_unpacked *u);
/* req with its id into c->frame: 0, or CS_CLIENT_ENOMEM (c->last filled). */
int csc_encode(cs_client_t *c, const csc_req_t *req, uint64_t id);
/* The client's own ZMTP connection (c->zfd, csc_zmtp.h): connected by deadline unless it is
 * (0), or -1 when the client has none (several endpoints, via_zmq, CURVE...) or it cannot be
 * made now (tried again a second later). */
int csc_direct_open(cs_client_t *c, int64_t deadline);
/* Give that connection up (it failed, or timed out); what asynchronous calls sent on it goes
 * again. */
void csc_direct_close(cs_client_t *c);
/* A reply's id, or 0 when it has none that could be ours. */
uint64_t csc_reply_id(const msgpack_object *reply);

/* csc_async.c: hand a reply whose id no synchronous run owns to the asynchronous calls;
 * 1 if it answered one of their messages, else 0 (dropped). */
int csc_async_reply(cs_client_t *c, uint64_t id, const msgpack_object *reply);
/* csc_async.c: c has a new socket: the asynchronous calls in flight on the old one are to be
 * sent again. */
void csc_async_reopened(cs_client_t *c);
/* csc_async.c: the client's own connection was given up: the asynchronous calls in flight on
 * it are to be sent again. */
void csc_async_direct_lost(cs_client_t *c);
/* csc_async.c: the client goes away: every call not answered ends with CS_CLIENT_EIO. */
void csc_async_close(cs_client_t *c);

#endif /* CS_CSC_INTERNAL_H */
