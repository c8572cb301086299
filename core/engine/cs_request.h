/* cs_request.h: a decoded request, whatever it came in (msgpack on the wire, JSON over HTTP,
 * C arguments in the embedded API), and the protocol's names for ops and errors.
 *
 * The engine and every handler read only this; the codecs that fill it live above (the
 * msgpack decoder in wire/cs_proto.c, the JSON decoder of the HTTP facade). Limits are the
 * protocol's (docs/PROTOCOL.md) and hold for every codec.
 *
 * Strings are borrowed from whatever the codec decoded (NOT NUL-terminated) and live as long
 * as the request. Thread-safety: no global state; one request per thread.
 */
#ifndef CS_REQUEST_H
#define CS_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "codeset/cs_error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CS_PROTO_VERSION 1
#define CS_PROTO_MAX_DEPTH 8       /* deepest container nesting accepted */
#define CS_PROTO_MAX_CODES 10000   /* codes in one validate request */
#define CS_PROTO_MAX_FILES 64      /* files in one load request */
#define CS_PROTO_MAX_STR 4096      /* longest string value for keys other than q */
#define CS_PROTO_MAX_Q 1024        /* longest search query, in bytes */
#define CS_PROTO_MAX_LIMIT 500     /* search limit ceiling (larger values are clamped) */
#define CS_PROTO_MAX_DIFF_LIMIT 100000 /* diff list ceiling (larger values are clamped) */
#define CS_PROTO_MAX_ITEMS 10000   /* requests in one batch (their codes: CS_PROTO_MAX_CODES) */

typedef enum cs_op {
    CS_OP_UNKNOWN = 0,
    CS_OP_PING,
    CS_OP_LOOKUP,
    CS_OP_VALIDATE,
    CS_OP_SEARCH,
    CS_OP_CROSSWALK,
    CS_OP_RELEASES,
    CS_OP_DIFF,
    CS_OP_STATS,
    CS_OP_INDEX,
    /* admin ops: only on the admin endpoint */
    CS_OP_LOAD,
    CS_OP_JOB,
    CS_OP_RETIRE,
    CS_OP_DROP,
    CS_OP_PLUGINS,
    CS_OP_CANCEL,
    CS_OP_VERIFY,
    /* a query op again, added after the admin ops: many lookups and validates in one message */
    CS_OP_BATCH,
    /* query ops added since: claim scrubbing (engine/cs_claim.h) */
    CS_OP_CLAIM,
    CS_OP_CLAIMS,
    CS_OP_COUNT_
} cs_op_t;

/* Error codes of PROTOCOL.md, as an enum; cs_proto_errname() gives the wire string. */
typedef enum cs_proto_err {
    CS_PERR_NONE = 0,
    CS_PERR_BAD_REQUEST,
    CS_PERR_UNKNOWN_OP,
    CS_PERR_UNSUPPORTED_VERSION,
    CS_PERR_UNKNOWN_SYSTEM,
    CS_PERR_UNKNOWN_RELEASE,
    CS_PERR_NO_RELEASE_FOR_DATE,
    CS_PERR_TOO_MANY,
    CS_PERR_FORBIDDEN,
    CS_PERR_BUSY,
    CS_PERR_LOAD_FAILED,
    CS_PERR_CORRUPT_RELEASE, /* the release failed its integrity check (broker/cs_verify.h) */
    CS_PERR_INTERNAL,
} cs_proto_err_t;

/* A borrowed string: NOT NUL-terminated; len 0 with ptr NULL when the key was absent. */
typedef struct cs_str {
    const char *ptr;
    uint32_t len;
} cs_str_t;

/* The request's "id", any scalar, echoed verbatim in the reply. */
typedef enum cs_scalar_type {
    CS_SCALAR_NIL,
    CS_SCALAR_BOOL,
    CS_SCALAR_UINT,  /* a non-negative integer */
    CS_SCALAR_INT,   /* a negative integer */
    CS_SCALAR_F32,   /* a float sent as 32 bits (msgpack), echoed as such */
    CS_SCALAR_F64,
    CS_SCALAR_STR,
    CS_SCALAR_BIN,
} cs_scalar_type_t;

typedef struct cs_scalar {
    cs_scalar_type_t type;
    union {
        int b;
        uint64_t u;
        int64_t i;
        double f;
        cs_str_t s; /* str and bin */
    } via;
} cs_scalar_t;

/* include flags of lookup */
enum {
    CS_INCLUDE_NOTES = 1u << 0,
    CS_INCLUDE_CHILDREN = 1u << 1,
    CS_INCLUDE_ANCESTORS = 1u << 2,
    CS_INCLUDE_INDEX = 1u << 3, /* search: the ICD-10-CM Index's terms as a source too */
};

/* A decoded request. Absent optional keys leave their fields zero / empty. */
typedef struct cs_request {
    cs_op_t op;
    cs_str_t op_name;          /* the op as sent (for unknown_op messages) */
    int has_id;                /* 1 if "id" was present */
    cs_scalar_t id;            /* the id as sent */
    cs_str_t system, release, to_release, code, q, from, to, map, loader, job;
    int has_date;              /* 1 if "date" was present and valid */
    int date;                  /* yyyymmdd of "date" (checked as a real calendar date) */
    int has_effective_from;
    int effective_from;        /* yyyymmdd of "effective_from" */
    unsigned include;          /* CS_INCLUDE_* bits from "include" (unknown names ignored) */
    uint32_t n_codes;          /* codes in "codes" (or 1 when only "code" was given) */
    const cs_str_t *codes;     /* the "codes" array, or NULL when only "code" was given */
    uint32_t n_files;
    const cs_str_t *files;     /* the "files" array */
    int64_t limit;             /* search/diff limit; -1 when absent */
    int64_t offset;            /* search offset; 0 when absent */
    int billable_only;         /* search flag */
    int reverse;               /* crosswalk: which sources map to code */
    uint32_t n_items;          /* batch: requests in "requests" (n_codes: their codes) */
    const struct cs_request *items; /* batch: each item decoded as a request of its own */
    cs_proto_err_t item_err;   /* a batch item: the error its decoding found, or NONE */
    const char *item_msg;      /* a batch item: item_err's sentence (NUL-terminated) */
    cs_str_t table;            /* index: index, eindex, drug, neoplasm */
    uint32_t n_path;           /* index: terms in "path" */
    const cs_str_t *path;      /* index: the "path" array */
    int follow;                /* index: follow see and see also */
    const struct cs_claim *claims; /* claim: the one claim; claims: n_claims of them
                                    * (engine/cs_claim.h), in the codec's memory */
    uint32_t n_claims;
    void *zone_;               /* the codec's decode memory; internal to it */
    int reuse_;                /* keep zone_ between decodes; internal to the codec */
} cs_request_t;

/* Initialise a request (every field absent). */
void cs_request_init(cs_request_t *req);

/* The i-th code of a validate request (i < n_codes): from "codes", or "code" when n == 1. */
cs_str_t cs_request_code_at(const cs_request_t *req, uint32_t i);
/* The i-th file of a load request. */
cs_str_t cs_request_file_at(const cs_request_t *req, uint32_t i);
/* The i-th term of an index request's path. */
cs_str_t cs_request_path_at(const cs_request_t *req, uint32_t i);

/* Clamp a search request's limit to a broker's ceiling max (below CS_PROTO_MAX_LIMIT): a
 * larger limit, or no limit when the default (20) is above max, becomes max. */
void cs_request_clamp_limit(cs_request_t *req, uint32_t max);

/* A bounded copy of s for a message, in buf (cap bytes, NUL-terminated): control bytes
 * become '?'. Returns buf. */
const char *cs_str_printable(cs_str_t s, char *buf, size_t cap);

/* Wire names. Never NULL. */
const char *cs_proto_opname(cs_op_t op);
const char *cs_proto_errname(cs_proto_err_t e);
/* 1 for ops that only the admin endpoint accepts. */
int cs_proto_op_is_admin(cs_op_t op);

#ifdef __cplusplus
}
#endif
#endif /* CS_REQUEST_H */
