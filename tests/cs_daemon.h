/* cs_daemon.h: start a real codesetd for integration tests, and talk to it over ZeroMQ.
 * The broker binds ipc:// endpoints in a fresh temporary directory. */
#ifndef CS_DAEMON_H
#define CS_DAEMON_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct cs_daemon {
    pid_t pid;            /* the broker process, 0 when stopped */
    char dir[512];        /* temporary directory holding db/ and the sockets */
    char db[600];         /* the LMDB directory */
    char query_ep[700];   /* ipc://dir/query.sock */
    char admin_ep[700];   /* ipc://db/admin.sock */
    char log[600];        /* the broker's stderr */
    long nofile;          /* when > 0, the broker's descriptor limit (soft and hard) */
} cs_daemon_t;

/* Start codesetd on a fresh temp dir (or, if d->dir is already set, on the same db again),
 * with extra arguments (NULL-terminated list, may be NULL). Waits until it answers ping.
 * Returns 0, or -1 (with a message on stderr) if it did not come up within 10 s. What a
 * sanitizer reported in its log goes to stderr when it exits badly at cs_daemon_stop, or is
 * found ended when a cs_tclient request times out. */
int cs_daemon_start(cs_daemon_t *d, const char *const *extra_args);
/* SIGTERM and wait; returns the exit status (or -1). */
int cs_daemon_stop(cs_daemon_t *d);
/* SIGKILL and wait. */
void cs_daemon_kill9(cs_daemon_t *d);
/* Remove the temp dir. */
void cs_daemon_cleanup(cs_daemon_t *d);

/* A synchronous REQ client. */
typedef struct cs_tclient cs_tclient_t;
cs_tclient_t *cs_tclient_new(const char *endpoint);
void cs_tclient_destroy(cs_tclient_t **c);
/* Start a request: returns a packer writing into the client's buffer (cleared). */
msgpack_packer *cs_tclient_begin(cs_tclient_t *c);
/* Send the buffer (or raw bytes if raw != NULL) and wait up to timeout_ms for the reply.
 * Returns the decoded reply (valid until the next call) or NULL on timeout/garbage. */
const msgpack_object *cs_tclient_call(cs_tclient_t *c, int timeout_ms);
const msgpack_object *cs_tclient_call_raw(cs_tclient_t *c, const void *raw, size_t len,
                                          int timeout_ms);

/* The bytes of the last reply (valid until the next call); NULL when there is none. */
const void *cs_tclient_last_raw(const cs_tclient_t *c, size_t *len);

/* Send the same request bytes to a and to b. Returns a's decoded reply (valid until a's next
 * call) when both answered with the same bytes; NULL, with what differed in why, otherwise. */
const msgpack_object *cs_tclient_same_answer(cs_tclient_t *a, cs_tclient_t *b, const void *req,
                                             size_t len, char *why, size_t cap);

/* Packing shorthands. */
void cs_tpack_str(msgpack_packer *pk, const char *s);
void cs_tpack_kv(msgpack_packer *pk, const char *k, const char *v);

/* Reading replies. */
const msgpack_object *cs_obj_get(const msgpack_object *map, const char *key);
int cs_obj_is_str(const msgpack_object *o, const char *s); /* 1 if o is the string s */
int cs_obj_true(const msgpack_object *o);                    /* 1 if o is bool true */
int64_t cs_obj_int(const msgpack_object *o);                 /* 0 if not an int */
/* Copy a str object into buf as a C string ("" if not a str). */
const char *cs_obj_cstr(const msgpack_object *o, char *buf, size_t cap);
/* The error code of an error reply, or "" for a success. */
const char *cs_obj_error_code(const msgpack_object *reply, char *buf, size_t cap);

/* The code indexes the broker behind q holds (its stats op's code_indexes.count, which asks
 * for none); -1 when it does not answer within 10 s. */
int64_t cs_tclient_code_indexes(cs_tclient_t *q);

/* Load files through the admin endpoint and wait for the job; returns the final job reply's
 * state ("done"/"failed") into state, and the job reply (valid until the next call). */
const msgpack_object *cs_daemon_load(cs_daemon_t *d, cs_tclient_t *admin, const char *loader,
                                     const char *release, const char *effective,
                                     const char *const *files, size_t n_files, char *state,
                                     size_t cap, int timeout_ms);

/* The same, naming the system (or map set) the load fills ("system" of the load op); system
 * and loader may be NULL. */
const msgpack_object *cs_daemon_load_system(cs_daemon_t *d, cs_tclient_t *admin,
                                            const char *loader, const char *system,
                                            const char *release, const char *effective,
                                            const char *const *files, size_t n_files,
                                            char *state, size_t cap, int timeout_ms);

/* Load the bundled ICD-10-CM sample (loaders/icd10cm-tabular/sample: tabular XML and order
 * file, paths from the working directory, the repository root) as release label in effect
 * from effective, and fail the test unless the job is done. */
void cs_daemon_load_sample(cs_daemon_t *d, cs_tclient_t *admin, const char *label,
                           const char *effective);

/* Start a daemon into d (zeroed first) with extra_args (as cs_daemon_start), then load the
 * bundled sample as release "S" in effect from 2020-10-01; fail the test on any error. */
void cs_daemon_start_sample(cs_daemon_t *d, const char *const *extra_args);

#endif /* CS_DAEMON_H */
