/* cs_out.h: the result interface: how a handler writes its answer, whatever the encoding.
 *
 * A handler never packs bytes. It writes a reply as a tree of maps, arrays and scalars
 * through a cs_out_t, and the two records that a batch writes by the thousand (a validate
 * result, a search hit) as typed structs. Three writers implement it:
 *   - msgpack, for the wire (wire/cs_out_msgpack.h): the bytes of docs/PROTOCOL.md;
 *   - JSON, for the HTTP facade: the same tree as JSON;
 *   - typed structs, for the embedded API (engine/cs_embed.c): it keeps the records and
 *     skips the rest, so no encoding lies between the engine and a C caller.
 *
 * A map announces its count of pairs and an array its count of items before they follow
 * (msgpack needs them; JSON ignores them); a map's pairs are a str key then its value.
 * Strings are UTF-8: cs_out_strn repairs what is not (a reply echoes client bytes), so a
 * writer's str never sees ill-formed text.
 *
 * Errors: a writer that runs out of memory keeps going as a sink and reports it at the end
 * (its own API), so a handler never checks each write. Thread-safety: a writer belongs to
 * the thread that writes the reply.
 */
#ifndef CS_OUT_H
#define CS_OUT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "engine/cs_request.h"
#include "store/cs_entry.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Why a code is not valid and billable (docs/PROTOCOL.md, validate). */
typedef enum cs_reason {
    CS_REASON_VALID = 0,
    CS_REASON_MALFORMED,
    CS_REASON_UNKNOWN,
    CS_REASON_NOT_BILLABLE,
    CS_REASON_NOT_EFFECTIVE,
} cs_reason_t;

/* The wire name of a reason ("valid" for CS_REASON_VALID). */
const char *cs_reason_name(cs_reason_t r);

/* One validate result. Spans are borrowed for the call only (store pages, the handler's
 * stack). Which fields are set depends on the reason:
 *   valid          input, code, title
 *   malformed      input, message
 *   unknown        input, code, message
 *   not_billable   input, code, kind, message, hint
 *   not_effective  input, code, message, valid_in, replaced_by */
typedef struct cs_validation {
    cs_reason_t reason;
    cs_span_t input;
    cs_span_t code;
    cs_span_t title;
    cs_span_t kind;
    const char *message;          /* NUL-terminated */
    const cs_span_t *hint;        /* billable codes under a header, at most CS_HINT_MAX */
    uint32_t n_hint;
    const char *const *valid_in;  /* labels of other releases that hold the code */
    uint32_t n_valid_in;
    const cs_span_t *replaced_by; /* what a conversion table gives for it */
    uint32_t n_replaced_by;
} cs_validation_t;

/* One search hit. */
typedef struct cs_hit {
    cs_span_t code;
    cs_span_t title;
    int billable;
    int64_t score;
} cs_hit_t;

/* The opening of a lookup's reply for a code that was found: the reply map of n_keys keys
 * besides "ok" and "id" (as cs_reply_begin), then "ok", "id", "found", "code", "system",
 * "release", "kind", "billable", "title", "parent", "short" and "input", in that order; the
 * handler writes the keys that follow (attributes, dates, notes...). Spans borrowed for the
 * call. */
typedef struct cs_lookup_head {
    uint32_t n_keys;       /* keys of the whole reply besides "ok" and "id" */
    cs_span_t code;        /* display form */
    cs_span_t system;      /* the system's name */
    cs_span_t release;     /* the release's label */
    cs_span_t kind;
    int billable;
    cs_span_t title;
    cs_span_t parent;      /* ptr NULL: nil */
    cs_span_t short_title; /* len 0: the key is left out */
    cs_span_t input;       /* ptr NULL: the key is left out (the input was the code) */
} cs_lookup_head_t;

typedef struct cs_out cs_out_t;

/* A writer's operations. Every one is set but lookup_head (cs_out_validation_tree and
 * cs_out_hit_tree write a record as a tree, for writers with nothing better to do; a NULL
 * lookup_head writes cs_out_lookup_head_tree). */
typedef struct cs_out_ops {
    void (*map)(cs_out_t *o, uint32_t n_pairs);
    void (*array)(cs_out_t *o, uint32_t n_items);
    void (*str)(cs_out_t *o, const char *s, size_t n); /* well-formed UTF-8 */
    void (*i64)(cs_out_t *o, int64_t v);
    void (*f64)(cs_out_t *o, double v);
    void (*boolean)(cs_out_t *o, int v);
    void (*nil)(cs_out_t *o);
    void (*id)(cs_out_t *o, const cs_scalar_t *id); /* the request's id, as sent */
    /* A position in the reply, and going back to it: a handler that finds a fault half-way
     * through writes an error instead of what it had written. */
    size_t (*mark)(cs_out_t *o);
    void (*rewind)(cs_out_t *o, size_t mark);
    void (*validation)(cs_out_t *o, const cs_validation_t *v);
    void (*hit)(cs_out_t *o, const cs_hit_t *h);
    /* a lookup's opening (a batch of lookups writes one per item), or NULL */
    void (*lookup_head)(cs_out_t *o, const cs_request_t *req, const cs_lookup_head_t *h);
} cs_out_ops_t;

/* A writer: its ops, then its own state (each implementation embeds this first). */
struct cs_out {
    const cs_out_ops_t *ops;
};

static inline void cs_out_map(cs_out_t *o, uint32_t n) { o->ops->map(o, n); }
static inline void cs_out_array(cs_out_t *o, uint32_t n) { o->ops->array(o, n); }
static inline void cs_out_int(cs_out_t *o, int64_t v) { o->ops->i64(o, v); }
static inline void cs_out_f64(cs_out_t *o, double v) { o->ops->f64(o, v); }
static inline void cs_out_bool(cs_out_t *o, int v) { o->ops->boolean(o, v); }
static inline void cs_out_nil(cs_out_t *o) { o->ops->nil(o); }
static inline size_t cs_out_mark(cs_out_t *o) { return o->ops->mark(o); }
static inline void cs_out_rewind(cs_out_t *o, size_t m) { o->ops->rewind(o, m); }
static inline void cs_out_validation(cs_out_t *o, const cs_validation_t *v)
{
    o->ops->validation(o, v);
}
static inline void cs_out_hit(cs_out_t *o, const cs_hit_t *h) { o->ops->hit(o, h); }
void cs_out_lookup_head_tree(cs_out_t *o, const cs_request_t *req, const cs_lookup_head_t *h);
static inline void cs_out_lookup_head(cs_out_t *o, const cs_request_t *req,
                                      const cs_lookup_head_t *h)
{
    if (o->ops->lookup_head) {
        o->ops->lookup_head(o, req, h);
    } else {
        cs_out_lookup_head_tree(o, req, h);
    }
}

/* A str (repaired to UTF-8 when it is not); s NULL writes "". */
void cs_out_strn(cs_out_t *o, const char *s, size_t n);
/* A NUL-terminated str; NULL writes nil. Inline, as are the kv writers below, so that the
 * length of a literal (most keys) is known when compiled: a claims batch writes hundreds of
 * keys a claim. */
static inline void cs_out_cstr(cs_out_t *o, const char *s)
{
    if (s == NULL) {
        o->ops->nil(o);
        return;
    }
    cs_out_strn(o, s, strlen(s));
}
static inline void cs_out_span(cs_out_t *o, cs_span_t s) { cs_out_strn(o, s.ptr, s.len); }
/* val NULL: nil */
static inline void cs_out_kv_str(cs_out_t *o, const char *key, const char *val)
{
    cs_out_cstr(o, key);
    cs_out_cstr(o, val);
}
static inline void cs_out_kv_int(cs_out_t *o, const char *key, int64_t val)
{
    cs_out_cstr(o, key);
    o->ops->i64(o, val);
}
static inline void cs_out_kv_bool(cs_out_t *o, const char *key, int val)
{
    cs_out_cstr(o, key);
    o->ops->boolean(o, val);
}

/* Begin a reply map of n_keys keys *besides* "ok" and "id": writes the map (counting "id"
 * when req has one), "ok": ok, and "id". */
void cs_reply_begin(cs_out_t *o, const cs_request_t *req, int ok, uint32_t n_keys);
/* A whole error reply: {"ok":false,"id":..,"error":{"code":..,"message":..}}. req may be NULL
 * (no id). */
void cs_reply_error(cs_out_t *o, const cs_request_t *req, cs_proto_err_t e, const char *message);
/* The same with a printf-style message (cut at 255 bytes); returns e, so a handler can
 * `return cs_reply_errorf(...)`. */
cs_proto_err_t cs_reply_errorf(cs_out_t *o, const cs_request_t *req, cs_proto_err_t e,
                               const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* A record written as the tree of docs/PROTOCOL.md, through o's other ops. */
void cs_out_validation_tree(cs_out_t *o, const cs_validation_t *v);
void cs_out_hit_tree(cs_out_t *o, const cs_hit_t *h);

#ifdef __cplusplus
}
#endif
#endif /* CS_OUT_H */
