/* cs_proto.h: the wire protocol codec (PROTOCOL.md, version 1).
 *
 * Requests are decoded once, at the edge, into a cs_request_t; handlers never see msgpack.
 * Every body is pre-scanned before msgpack-c touches it, because msgpack-c allocates
 * count * sizeof(msgpack_object) from a container header before any element arrives.
 * Replies are packed with the helpers below into a msgpack_sbuffer the caller owns and reuses.
 *
 * Thread-safety: no global state; one cs_request_t / buffer per thread.
 */
#ifndef CS_PROTO_H
#define CS_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

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
    CS_PERR_CORRUPT_RELEASE, /* the release failed its integrity check (cs_verify.h) */
    CS_PERR_INTERNAL,
} cs_proto_err_t;

/* A string borrowed from the unpacked message: NOT NUL-terminated; len 0 with ptr NULL when
 * the key was absent. Valid as long as the cs_request_t (and the body it was decoded from). */
typedef struct cs_str {
    const char *ptr;
    uint32_t len;
} cs_str_t;

/* include flags of lookup */
enum {
    CS_INCLUDE_NOTES = 1u << 0,
    CS_INCLUDE_CHILDREN = 1u << 1,
    CS_INCLUDE_ANCESTORS = 1u << 2,
};

/* A decoded request. Absent optional keys leave their fields zero / empty. */
typedef struct cs_request {
    cs_op_t op;
    cs_str_t op_name;          /* the op as sent (for unknown_op messages) */
    int has_id;                /* 1 if "id" was present (any scalar) */
    msgpack_object id;         /* the id as sent, echoed verbatim; valid while decoded */
    cs_str_t system, release, to_release, code, q, from, to, map, loader, job;
    int has_date;              /* 1 if "date" was present and valid */
    int date;                  /* yyyymmdd of "date" (checked as a real calendar date) */
    int has_effective_from;
    int effective_from;        /* yyyymmdd of "effective_from" */
    unsigned include;          /* CS_INCLUDE_* bits from "include" (unknown names ignored) */
    uint32_t n_codes;          /* codes in "codes" (or 1 when only "code" was given) */
    const msgpack_object *codes; /* the "codes" array's items (each checked to be a str) */
    uint32_t n_files;
    const msgpack_object *files; /* the "files" array's items (each a str) */
    int64_t limit;             /* search/diff limit; -1 when absent */
    int64_t offset;            /* search offset; 0 when absent */
    int billable_only;         /* search flag */
    int reverse;               /* crosswalk: which sources map to code */
    cs_str_t table;            /* index: index, eindex, drug, neoplasm */
    uint32_t n_path;           /* index: terms in "path" */
    const msgpack_object *path; /* index: the "path" array's items (each a str) */
    int follow;                /* index: follow see and see also */
    msgpack_zone *zone_;       /* holds the decoded tree; internal */
    int reuse_;                /* keep zone_ between decodes; internal */
} cs_request_t;

/* Walk a body without allocating. CS_OK when every container header fits in the bytes left,
 * the total of declared elements over all containers is at most the bytes left, nesting is
 * at most CS_PROTO_MAX_DEPTH, and the body is exactly one msgpack object; else CS_EMALFORMED
 * with a sentence in err. */
int cs_proto_prescan(const void *body, size_t len, cs_error_t *err);

/* Initialise a request for decoding (call once per request object). */
void cs_request_init(cs_request_t *req);

/* The same, for a request object decoded over and over (a serving loop): release keeps the
 * decode memory's first chunk for the next decode, so a small request allocates nothing.
 * Such a request must be finished with cs_request_fini. */
void cs_request_init_reusable(cs_request_t *req);

/* Decode body into req: prescan, unpack, then schema checks (op present and a str, v == 1,
 * each known key of its exact type, dates real calendar dates, codes <= CS_PROTO_MAX_CODES,
 * strings bounded). Returns CS_PERR_NONE or the error to send, with a sentence in err->msg.
 * Even on error, req->has_id/req->id are set when the id could be read so the error reply
 * can echo it. body must outlive req's use. Call cs_request_release() after every decode. */
cs_proto_err_t cs_request_decode(cs_request_t *req, const void *body, size_t len,
                                 cs_error_t *err);

/* Free what a decode allocated (for a reusable request: all but the kept chunk); req can be
 * decoded again afterwards. */
void cs_request_release(cs_request_t *req);

/* Free all a reusable request holds. Harmless on any request, and twice. */
void cs_request_fini(cs_request_t *req);

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

/* Parse "YYYY-MM-DD" into yyyymmdd, checking it is a real date (leap years included).
 * CS_OK or CS_EMALFORMED. */
int cs_proto_parse_date(const char *s, size_t len, int *yyyymmdd);
/* Format yyyymmdd as "YYYY-MM-DD" into out[11]. */
void cs_proto_format_date(int yyyymmdd, char out[11]);

/* ---- reply packing: thin helpers over msgpack_packer ---- */

/* Begin a reply map of n_keys keys *besides* "ok" and "id": packs the map header (counting
 * "id" when req has one), "ok": ok, and "id". */
void cs_reply_begin(msgpack_packer *pk, const cs_request_t *req, int ok, uint32_t n_keys);
/* A whole error reply: {"ok":false,"id":..,"error":{"code":..,"message":..}}. req may be NULL
 * (no id). */
void cs_reply_error(msgpack_packer *pk, const cs_request_t *req, cs_proto_err_t e,
                    const char *message);
/* The same with a printf-style message (cut at 255 bytes); returns e, so a handler can
 * `return cs_reply_errorf(...)`. */
cs_proto_err_t cs_reply_errorf(msgpack_packer *pk, const cs_request_t *req, cs_proto_err_t e,
                               const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void cs_pack_cstr(msgpack_packer *pk, const char *s);           /* s NULL packs nil */
void cs_pack_strn(msgpack_packer *pk, const char *s, size_t n);
void cs_pack_kv_str(msgpack_packer *pk, const char *key, const char *val); /* val NULL: nil */
void cs_pack_kv_int(msgpack_packer *pk, const char *key, int64_t val);
void cs_pack_kv_bool(msgpack_packer *pk, const char *key, int val);
/* One validate result for a billable code in effect:
 * {"input":..,"code":..,"valid":true,"billable":true,"title":..}, byte for byte what packing
 * it field by field gives, in one write to the packer's buffer. */
void cs_pack_valid_result(msgpack_packer *pk, const char *input, size_t input_len,
                          const char *code, size_t code_len, const char *title,
                          size_t title_len);

#ifdef __cplusplus
}
#endif
#endif /* CS_PROTO_H */
