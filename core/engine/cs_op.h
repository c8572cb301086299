/* cs_op.h: the op table, one row per op of the wire protocol (docs/PROTOCOL.md).
 *
 * A row holds all the broker knows of an op: its name, the request keys it requires and
 * those it reads, its flags (admin only, slow, answered in slices) and its handler. The
 * decoder (cs_proto.c), the admin check, the slow-op routing (cs_broker.c, cs_workers.c) and
 * the dispatch all read this table; nothing else spells an op. How to add one: README, "How
 * to add an op".
 *
 * Layers. The table is the engine's; every codec above it (the msgpack decoder, the HTTP
 * facade's JSON) reads it. Its handlers are defined by the layers that answer them (the
 * engine: cs_query.c, cs_crosswalk.c...; the broker: cs_admin.c, cs_verify.c, cs_broker.c)
 * and reached through a context that the serving thread fills in, so the engine includes
 * none of the broker's headers. Each writes its reply through the result interface
 * (engine/cs_out.h).
 *
 * Thread-safety: the table is constant; a context belongs to one serving thread.
 */
#ifndef CS_OP_H
#define CS_OP_H

#include <stdint.h>

#include "engine/cs_out.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The request keys the decoder knows, each of one type (docs/PROTOCOL.md); any other key is
 * ignored. */
typedef enum cs_key {
    CS_KEY_NONE = 0, /* also ends the lists below */
    CS_KEY_ID,             /* any scalar */
    CS_KEY_V,              /* int */
    CS_KEY_OP,             /* str */
    CS_KEY_SYSTEM,         /* str */
    CS_KEY_RELEASE,        /* str */
    CS_KEY_TO_RELEASE,     /* str */
    CS_KEY_CODE,           /* str */
    CS_KEY_Q,              /* str, at most CS_PROTO_MAX_Q bytes */
    CS_KEY_FROM,           /* str */
    CS_KEY_TO,             /* str */
    CS_KEY_MAP,            /* str */
    CS_KEY_LOADER,         /* str */
    CS_KEY_JOB,            /* str */
    CS_KEY_DATE,           /* str YYYY-MM-DD */
    CS_KEY_EFFECTIVE_FROM, /* str YYYY-MM-DD */
    CS_KEY_INCLUDE,        /* array of str */
    CS_KEY_CODES,          /* array of str, at most CS_PROTO_MAX_CODES */
    CS_KEY_FILES,          /* array of str, at most CS_PROTO_MAX_FILES */
    CS_KEY_LIMIT,          /* int, 1 .. the op's limit_max */
    CS_KEY_OFFSET,         /* int >= 0 */
    CS_KEY_BILLABLE_ONLY,  /* bool */
    CS_KEY_REVERSE,        /* bool */
    CS_KEY_REQUESTS,       /* array of request maps, at most CS_PROTO_MAX_ITEMS (batch) */
    CS_KEY_TABLE,          /* str */
    CS_KEY_PATH,           /* array of str, at most CS_INDEX_PATH_MAX */
    CS_KEY_FOLLOW,         /* bool */
    CS_KEY_SETTING,        /* str: inpatient, outpatient, professional */
    CS_KEY_PATIENT,        /* map: age, age_days (int), sex (str) */
    CS_KEY_DIAGNOSES,      /* array of maps: code (str), poa (str) */
    CS_KEY_PROCEDURES,     /* array of maps: system, code (str), modifiers (array), units */
    CS_KEY_CLAIMS,         /* array of claim maps (date, setting, patient, diagnoses, ...) */
    CS_KEY_COUNT_
} cs_key_t;

#define CS_KEY_BIT(k) (UINT64_C(1) << (k))

/* The keys every op reads. */
#define CS_KEYS_COMMON (CS_KEY_BIT(CS_KEY_ID) | CS_KEY_BIT(CS_KEY_V) | CS_KEY_BIT(CS_KEY_OP))
/* The keys that pick a release of a system. */
#define CS_KEYS_RELEASE                                                                   \
    (CS_KEY_BIT(CS_KEY_SYSTEM) | CS_KEY_BIT(CS_KEY_RELEASE) | CS_KEY_BIT(CS_KEY_DATE))

enum {
    CS_OPF_ADMIN = 1u << 0,     /* only on the admin endpoint */
    CS_OPF_SLOW = 1u << 1,      /* answered by a worker: its cost grows with the release */
    CS_OPF_SLOW_LONG = 1u << 2, /* answered by a worker when it holds more than
                                 * CS_OP_SLOW_CODES codes */
    CS_OPF_SLICEABLE = 1u << 3, /* a long one may be cut into slices the workers answer
                                 * together (cs_engine_part) */
    CS_OPF_ENGINE = 1u << 4,    /* answered by the query engine alone (the embedded API too) */
    CS_OPF_BATCHABLE = 1u << 5, /* may be an item of a batch (cs_batch.c) */
    CS_OPF_TRY_FIRST = 1u << 6, /* CS_OPF_SLOW, but the broker's thread tries it first within
                                 * its engine's work budget (cs_engine_set_budget) and hands
                                 * it to a worker only when it would cost more */
};

#define CS_OP_SLOW_CODES 100
/* What a claim of a claims request weighs against a validated code when a broker decides to
 * cut a request into slices (cs_slices.h counts codes): a claim of 35 lines costs about 30
 * codes' time, so 8 claims or more are cut. A power of two, so that slice bounds in units
 * divide into whole claims. */
#define CS_OP_CLAIM_UNITS 32
#define CS_INDEX_PATH_MAX 10 /* terms of an index path: a main term and 9 levels */

/* What a handler works with; the serving thread fills it in. */
struct cs_engine;
struct cs_jobs;
struct cs_plugin_host;
struct cs_verify;
typedef struct cs_op_ctx {
    struct cs_engine *engine;             /* this thread's query engine */
    struct cs_jobs *jobs;                 /* load jobs: the broker's thread only, else NULL */
    struct cs_verify *verify;             /* release checksums: the broker's thread, or NULL */
    const struct cs_plugin_host *plugins; /* the plugins loaded */
    void *server;                         /* the broker (its stats), or NULL */
} cs_op_ctx_t;

/* A handler answers req into out (a reply map, ok or error) and returns the error it wrote
 * (CS_PERR_NONE for a success). req was decoded against the handler's row: its required keys
 * are there, every key has its type. */
typedef cs_proto_err_t (*cs_op_handler_fn)(cs_op_ctx_t *ctx, const cs_request_t *req,
                                           cs_out_t *out);

typedef struct cs_op_def {
    const char *name;          /* as on the wire */
    cs_key_t required[4];      /* keys it needs, in the order a missing one is reported */
    cs_key_t one_of[2];        /* and one of these, when set ("codes" or "code") */
    uint64_t accepts;          /* CS_KEY_BIT of every key it reads */
    int64_t limit_max;         /* the highest "limit" it takes (0: it reads none) */
    unsigned flags;            /* CS_OPF_* */
    cs_op_handler_fn handler;
} cs_op_def_t;

/* The str-valued keys, with where each goes in cs_request_t and its longest value; every
 * codec checks them alike, and all reject control characters. */
typedef struct cs_str_key {
    cs_key_t key;
    size_t field; /* offsetof the cs_str_t in cs_request_t */
    uint32_t max; /* bytes */
} cs_str_key_t;
extern const cs_str_key_t cs_str_keys[];
extern const size_t cs_n_str_keys;

/* The table, indexed by cs_op_t; row CS_OP_UNKNOWN has no name and no handler. */
extern const cs_op_def_t cs_ops[CS_OP_COUNT_];

/* The op named s[0..n), or CS_OP_UNKNOWN. */
cs_op_t cs_op_find(const char *s, size_t n);
/* The wire name of a key ("" for CS_KEY_NONE or out of range). */
const char *cs_key_name(cs_key_t k);
/* The key named s[0..n), or CS_KEY_NONE. */
cs_key_t cs_key_find(const char *s, size_t n);
/* 1 when a worker should answer req (its op is slow, or long and its request is). */
int cs_op_is_slow(const cs_request_t *req);
/* The units a sliceable request is cut by (cs_engine_part): a validate's codes, a claims
 * request's claims times CS_OP_CLAIM_UNITS; 0 for any other op. */
uint32_t cs_op_slice_units(const cs_request_t *req);

/* ---- the handlers, defined by the layers that answer them ---- */

/* the engine (cs_query.c): each reads one store snapshot */
cs_proto_err_t cs_op_ping(cs_op_ctx_t *ctx, const cs_request_t *req, cs_out_t *out);
cs_proto_err_t cs_op_lookup(cs_op_ctx_t *ctx, const cs_request_t *req, cs_out_t *out);
cs_proto_err_t cs_op_validate(cs_op_ctx_t *ctx, const cs_request_t *req, cs_out_t *out);
cs_proto_err_t cs_op_search(cs_op_ctx_t *ctx, const cs_request_t *req, cs_out_t *out);
cs_proto_err_t cs_op_crosswalk(cs_op_ctx_t *ctx, const cs_request_t *req, cs_out_t *out);
cs_proto_err_t cs_op_releases(cs_op_ctx_t *ctx, const cs_request_t *req, cs_out_t *out);
cs_proto_err_t cs_op_diff(cs_op_ctx_t *ctx, const cs_request_t *req, cs_out_t *out);
/* the engine (cs_batch.c): each item through its own op's handler */
cs_proto_err_t cs_op_batch(cs_op_ctx_t *ctx, const cs_request_t *req, cs_out_t *out);
/* the engine (cs_query.c, answered by cs_index_answer.c) */
cs_proto_err_t cs_op_index(cs_op_ctx_t *ctx, const cs_request_t *req, cs_out_t *out);
/* claim scrubbing (cs_claim_op.c) */
cs_proto_err_t cs_op_claim(cs_op_ctx_t *ctx, const cs_request_t *req, cs_out_t *out);
cs_proto_err_t cs_op_claims(cs_op_ctx_t *ctx, const cs_request_t *req, cs_out_t *out);
/* the broker (cs_broker.c) */
cs_proto_err_t cs_op_stats(cs_op_ctx_t *ctx, const cs_request_t *req, cs_out_t *out);
/* the admin ops (cs_admin.c) */
cs_proto_err_t cs_op_load(cs_op_ctx_t *ctx, const cs_request_t *req, cs_out_t *out);
cs_proto_err_t cs_op_job(cs_op_ctx_t *ctx, const cs_request_t *req, cs_out_t *out);
cs_proto_err_t cs_op_retire(cs_op_ctx_t *ctx, const cs_request_t *req, cs_out_t *out);
cs_proto_err_t cs_op_drop(cs_op_ctx_t *ctx, const cs_request_t *req, cs_out_t *out);
cs_proto_err_t cs_op_plugins(cs_op_ctx_t *ctx, const cs_request_t *req, cs_out_t *out);
cs_proto_err_t cs_op_cancel(cs_op_ctx_t *ctx, const cs_request_t *req, cs_out_t *out);
/* cs_verify.c */
cs_proto_err_t cs_op_verify(cs_op_ctx_t *ctx, const cs_request_t *req, cs_out_t *out);

#ifdef __cplusplus
}
#endif
#endif /* CS_OP_H */
