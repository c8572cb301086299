/* hs_request.c: a JSON object into a cs_request_t, held to the wire decoder's schema. */
#include "hs_request.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hs_claim.h"
#include "util/cs_date.h"

#define S_MAX_OFFSET 2147483647 /* as the wire decoder: room for offset + limit in an int64 */

static cs_proto_err_t s_bad(char *msg, size_t cap, cs_proto_err_t e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static cs_proto_err_t s_bad(char *msg, size_t cap, cs_proto_err_t e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, cap, fmt, ap);
    va_end(ap);
    return e;
}

/* The wire's name of a JSON value's type. */
static const char *s_typename(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "map";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "str";
    case JSON_INTEGER: return "int";
    case JSON_REAL: return "float";
    case JSON_TRUE:
    case JSON_FALSE: return "bool";
    case JSON_NULL: return "nil";
    }
    return "value";
}

void hs_request_init(hs_request_t *r)
{
    memset(r, 0, sizeof *r);
    cs_request_init(&r->req);
}

void hs_request_fini(hs_request_t *r)
{
    json_decref(r->root);
    free(r->codes);
    free(r->files);
    free(r->path);
    hs_claim_free(&r->claims);
    hs_request_init(r);
}

json_t *hs_request_parse(const char *body, size_t len, char *msg, size_t cap)
{
    json_error_t err;
    json_t *v = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
    if (v == NULL) {
        snprintf(msg, cap, "the body is not JSON: %s (line %d, column %d)", err.text, err.line,
                 err.column);
    }
    return v;
}

/* ---- values ---- */

static cs_str_t s_str_of(const json_t *v)
{
    return (cs_str_t){json_string_value(v), (uint32_t)json_string_length(v)};
}

/* How a value is named in messages: "key" or "key"[i]. */
static const char *s_what(const char *key, long idx, char *out, size_t cap)
{
    if (idx < 0) {
        snprintf(out, cap, "\"%s\"", key);
    } else {
        snprintf(out, cap, "\"%s\"[%ld]", key, idx);
    }
    return out;
}

/* A str value: type, length bound and, with no_ctl, no control characters. */
static cs_proto_err_t s_check_str(const json_t *v, const char *key, long idx, size_t max,
                                  int no_ctl, cs_str_t *out, char *msg, size_t cap)
{
    char what[48];
    if (!json_is_string(v)) {
        return s_bad(msg, cap, CS_PERR_BAD_REQUEST, "%s must be a str, not %s",
                     s_what(key, idx, what, sizeof what), s_typename(v));
    }
    size_t n = json_string_length(v);
    if (n > max) {
        return s_bad(msg, cap, CS_PERR_BAD_REQUEST, "%s is %zu bytes long (at most %zu)",
                     s_what(key, idx, what, sizeof what), n, max);
    }
    const unsigned char *p = (const unsigned char *)json_string_value(v);
    for (size_t i = 0; no_ctl && i < n; i++) {
        if (p[i] < 0x20 || p[i] == 0x7f) {
            return s_bad(msg, cap, CS_PERR_BAD_REQUEST,
                         "%s contains a control character (0x%02x at byte %zu)",
                         s_what(key, idx, what, sizeof what), p[i], i);
        }
    }
    if (out) {
        *out = s_str_of(v);
    }
    return CS_PERR_NONE;
}

/* An array of at most max str items, copied as spans into *out (NULL for none). */
static cs_proto_err_t s_check_str_array(const json_t *v, const char *key, size_t max,
                                        int no_ctl, cs_str_t **out, char *msg, size_t cap)
{
    if (!json_is_array(v)) {
        return s_bad(msg, cap, CS_PERR_BAD_REQUEST, "\"%s\" must be an array of str, not %s",
                     key, s_typename(v));
    }
    size_t n = json_array_size(v);
    if (n > max) {
        return s_bad(msg, cap, CS_PERR_TOO_MANY, "\"%s\" holds %zu items (at most %zu)", key, n,
                     max);
    }
    cs_str_t *list = out && n ? calloc(n, sizeof *list) : NULL;
    if (out && n && !list) {
        return s_bad(msg, cap, CS_PERR_INTERNAL, "out of memory decoding \"%s\"", key);
    }
    for (size_t i = 0; i < n; i++) {
        cs_proto_err_t e = s_check_str(json_array_get(v, i), key, (long)i, CS_PROTO_MAX_STR,
                                       no_ctl, list ? &list[i] : NULL, msg, cap);
        if (e != CS_PERR_NONE) {
            free(list);
            return e;
        }
    }
    if (out) {
        *out = list;
    }
    return CS_PERR_NONE;
}

static cs_proto_err_t s_check_date(const json_t *v, const char *key, int *has, int *out,
                                   char *msg, size_t cap)
{
    if (!json_is_string(v)) {
        return s_bad(msg, cap, CS_PERR_BAD_REQUEST, "\"%s\" must be a str YYYY-MM-DD, not %s",
                     key, s_typename(v));
    }
    if (cs_date_parse(json_string_value(v), json_string_length(v), out) != CS_OK) {
        char shown[48];
        return s_bad(msg, cap, CS_PERR_BAD_REQUEST,
                     "\"%s\" must be a real date written YYYY-MM-DD (got \"%s\")", key,
                     cs_str_printable(s_str_of(v), shown, sizeof shown));
    }
    *has = 1;
    return CS_PERR_NONE;
}

/* An int key, clamped into [lo, hi]. */
static cs_proto_err_t s_check_int(const json_t *v, const char *key, int64_t lo, int64_t hi,
                                  int64_t *out, char *msg, size_t cap)
{
    if (!json_is_integer(v)) {
        return s_bad(msg, cap, CS_PERR_BAD_REQUEST, "\"%s\" must be an int, not %s", key,
                     s_typename(v));
    }
    int64_t x = (int64_t)json_integer_value(v);
    *out = x < lo ? lo : x > hi ? hi : x;
    return CS_PERR_NONE;
}

static cs_proto_err_t s_check_bool(const json_t *v, const char *key, int *out, char *msg,
                                   size_t cap)
{
    if (!json_is_boolean(v)) {
        return s_bad(msg, cap, CS_PERR_BAD_REQUEST, "\"%s\" must be a bool, not %s", key,
                     s_typename(v));
    }
    *out = json_is_true(v);
    return CS_PERR_NONE;
}

/* ---- the request ---- */


static const json_t *s_get(const json_t *root, cs_key_t k)
{
    return json_object_get(root, cs_key_name(k));
}

/* Deepest nesting of v (1 for a scalar), stopping past limit. */
static int s_depth(const json_t *v, int limit)
{
    int deepest = 0;
    if (limit < 0) {
        return 1;
    }
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v) && deepest <= limit; i++) {
            int d = s_depth(json_array_get(v, i), limit - 1);
            deepest = d > deepest ? d : deepest;
        }
    } else if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x)
        {
            int d = s_depth(x, limit - 1);
            deepest = d > deepest ? d : deepest;
            if (deepest > limit) {
                break;
            }
        }
    }
    return deepest + 1;
}

/* The id (read first, so an error can echo it), the version, the op if given. */
static cs_proto_err_t s_envelope(hs_request_t *r, cs_op_t op, char *msg, size_t cap)
{
    cs_request_t *req = &r->req;
    const json_t *id = s_get(r->root, CS_KEY_ID);
    if (id != NULL) {
        if (json_is_object(id) || json_is_array(id)) {
            return s_bad(msg, cap, CS_PERR_BAD_REQUEST,
                         "\"id\" must be a scalar (nil, bool, int, float, str or bin), not %s",
                         s_typename(id));
        }
        req->has_id = 1;
        cs_scalar_t *s = &req->id;
        if (json_is_null(id)) {
            s->type = CS_SCALAR_NIL;
        } else if (json_is_boolean(id)) {
            *s = (cs_scalar_t){.type = CS_SCALAR_BOOL, .via.b = json_is_true(id)};
        } else if (json_is_integer(id) && json_integer_value(id) >= 0) {
            *s = (cs_scalar_t){.type = CS_SCALAR_UINT, .via.u = (uint64_t)json_integer_value(id)};
        } else if (json_is_integer(id)) {
            *s = (cs_scalar_t){.type = CS_SCALAR_INT, .via.i = (int64_t)json_integer_value(id)};
        } else if (json_is_real(id)) {
            *s = (cs_scalar_t){.type = CS_SCALAR_F64, .via.f = json_real_value(id)};
        } else {
            *s = (cs_scalar_t){.type = CS_SCALAR_STR, .via.s = s_str_of(id)};
        }
    }
    if (s_depth(r->root, CS_PROTO_MAX_DEPTH) > CS_PROTO_MAX_DEPTH) {
        return s_bad(msg, cap, CS_PERR_BAD_REQUEST, "the request nests deeper than %d levels",
                     CS_PROTO_MAX_DEPTH);
    }
    const json_t *v = s_get(r->root, CS_KEY_V);
    if (v != NULL && !json_is_integer(v)) {
        return s_bad(msg, cap, CS_PERR_BAD_REQUEST, "\"v\" must be an int, not %s",
                     s_typename(v));
    }
    if (v != NULL && json_integer_value(v) != CS_PROTO_VERSION) {
        return s_bad(msg, cap, CS_PERR_UNSUPPORTED_VERSION,
                     "protocol version %lld is not supported (this broker speaks %d)",
                     (long long)json_integer_value(v), CS_PROTO_VERSION);
    }
    const json_t *o = s_get(r->root, CS_KEY_OP);
    if (o != NULL && (!json_is_string(o) || strcmp(json_string_value(o), cs_ops[op].name))) {
        return s_bad(msg, cap, CS_PERR_BAD_REQUEST,
                     "\"op\" in the body must be the URL's op \"%s\" (or left out)",
                     cs_ops[op].name);
    }
    req->op = op;
    req->op_name = (cs_str_t){cs_ops[op].name, (uint32_t)strlen(cs_ops[op].name)};
    return CS_PERR_NONE;
}

/* "include": known names set their bits, others are ignored. */
static cs_proto_err_t s_include(cs_request_t *req, const json_t *v, char *msg, size_t cap)
{
    cs_proto_err_t e = s_check_str_array(v, "include", SIZE_MAX, 0, NULL, msg, cap);
    for (size_t i = 0; e == CS_PERR_NONE && i < json_array_size(v); i++) {
        const char *s = json_string_value(json_array_get(v, i));
        if (strcmp(s, "notes") == 0) {
            req->include |= CS_INCLUDE_NOTES;
        } else if (strcmp(s, "children") == 0) {
            req->include |= CS_INCLUDE_CHILDREN;
        } else if (strcmp(s, "ancestors") == 0) {
            req->include |= CS_INCLUDE_ANCESTORS;
        } else if (strcmp(s, "index") == 0) {
            req->include |= CS_INCLUDE_INDEX;
        }
    }
    return e;
}

static cs_proto_err_t s_strings(hs_request_t *r, char *msg, size_t cap)
{
    cs_request_t *req = &r->req;
    cs_proto_err_t e = CS_PERR_NONE;
    for (size_t i = 0; e == CS_PERR_NONE && i < cs_n_str_keys; i++) {
        const json_t *v = s_get(r->root, cs_str_keys[i].key);
        if (v != NULL) {
            cs_str_t *field = (cs_str_t *)((char *)req + cs_str_keys[i].field);
            e = s_check_str(v, cs_key_name(cs_str_keys[i].key), -1, cs_str_keys[i].max, 1, field,
                            msg, cap);
        }
    }
    const json_t *v;
    if (e == CS_PERR_NONE && (v = s_get(r->root, CS_KEY_DATE)) != NULL) {
        e = s_check_date(v, "date", &req->has_date, &req->date, msg, cap);
    }
    if (e == CS_PERR_NONE && (v = s_get(r->root, CS_KEY_EFFECTIVE_FROM)) != NULL) {
        e = s_check_date(v, "effective_from", &req->has_effective_from, &req->effective_from,
                         msg, cap);
    }
    if (e == CS_PERR_NONE && (v = s_get(r->root, CS_KEY_INCLUDE)) != NULL) {
        e = s_include(req, v, msg, cap);
    }
    return e;
}

static cs_proto_err_t s_values(hs_request_t *r, char *msg, size_t cap)
{
    cs_request_t *req = &r->req;
    const cs_op_def_t *def = &cs_ops[req->op];
    cs_proto_err_t e = CS_PERR_NONE;
    const json_t *v;
    if ((v = s_get(r->root, CS_KEY_CODES)) != NULL) {
        e = s_check_str_array(v, "codes", CS_PROTO_MAX_CODES, 0, &r->codes, msg, cap);
        req->n_codes = e == CS_PERR_NONE ? (uint32_t)json_array_size(v) : 0;
        req->codes = e == CS_PERR_NONE ? r->codes : NULL;
    } else if ((def->accepts & CS_KEY_BIT(CS_KEY_CODES)) && s_get(r->root, CS_KEY_CODE) != NULL) {
        req->n_codes = 1; /* "code" alone stands for a list of one */
    }
    if (e == CS_PERR_NONE && (v = s_get(r->root, CS_KEY_FILES)) != NULL) {
        e = s_check_str_array(v, "files", CS_PROTO_MAX_FILES, 1, &r->files, msg, cap);
        req->n_files = e == CS_PERR_NONE ? (uint32_t)json_array_size(v) : 0;
        req->files = e == CS_PERR_NONE ? r->files : NULL;
    }
    if (e == CS_PERR_NONE && (v = s_get(r->root, CS_KEY_LIMIT)) != NULL) {
        int64_t hi = def->limit_max ? def->limit_max : CS_PROTO_MAX_LIMIT;
        e = s_check_int(v, "limit", 1, hi, &req->limit, msg, cap);
    }
    if (e == CS_PERR_NONE && (v = s_get(r->root, CS_KEY_OFFSET)) != NULL) {
        if (json_is_integer(v) && json_integer_value(v) < 0) {
            return s_bad(msg, cap, CS_PERR_BAD_REQUEST,
                         "\"offset\" must not be negative (got %lld)",
                         (long long)json_integer_value(v));
        }
        e = s_check_int(v, "offset", 0, S_MAX_OFFSET, &req->offset, msg, cap);
    }
    if (e == CS_PERR_NONE && (v = s_get(r->root, CS_KEY_BILLABLE_ONLY)) != NULL) {
        e = s_check_bool(v, "billable_only", &req->billable_only, msg, cap);
    }
    if (e == CS_PERR_NONE && (v = s_get(r->root, CS_KEY_REVERSE)) != NULL) {
        e = s_check_bool(v, "reverse", &req->reverse, msg, cap);
    }
    if (e == CS_PERR_NONE && (v = s_get(r->root, CS_KEY_PATH)) != NULL) {
        e = s_check_str_array(v, "path", CS_INDEX_PATH_MAX, 1, &r->path, msg, cap);
        req->n_path = e == CS_PERR_NONE ? (uint32_t)json_array_size(v) : 0;
        req->path = e == CS_PERR_NONE ? r->path : NULL;
    }
    if (e == CS_PERR_NONE && (v = s_get(r->root, CS_KEY_FOLLOW)) != NULL) {
        e = s_check_bool(v, "follow", &req->follow, msg, cap);
    }
    if (e == CS_PERR_NONE && (req->op == CS_OP_CLAIM || req->op == CS_OP_CLAIMS)) {
        e = hs_claim_decode(req, r->root, &r->claims, msg, cap); /* the nested claim shape */
    }
    return e;
}

static cs_proto_err_t s_required(const hs_request_t *r, char *msg, size_t cap)
{
    const cs_op_def_t *def = &cs_ops[r->req.op];
    for (unsigned i = 0; i < 4 && def->required[i] != CS_KEY_NONE; i++) {
        if (s_get(r->root, def->required[i]) == NULL) {
            return s_bad(msg, cap, CS_PERR_BAD_REQUEST, "%s needs \"%s\"", def->name,
                         cs_key_name(def->required[i]));
        }
    }
    if (def->one_of[0] != CS_KEY_NONE && s_get(r->root, def->one_of[0]) == NULL &&
        s_get(r->root, def->one_of[1]) == NULL) {
        return s_bad(msg, cap, CS_PERR_BAD_REQUEST, "%s needs \"%s\" or \"%s\"", def->name,
                     cs_key_name(def->one_of[0]), cs_key_name(def->one_of[1]));
    }
    return CS_PERR_NONE;
}

cs_proto_err_t hs_request_decode(hs_request_t *r, cs_op_t op, json_t *root, char *msg,
                                 size_t cap)
{
    hs_request_fini(r);
    msg[0] = '\0';
    if ((unsigned)op >= CS_OP_COUNT_ || op == CS_OP_UNKNOWN) {
        return s_bad(msg, cap, CS_PERR_UNKNOWN_OP, "unknown op");
    }
    if (!json_is_object(root)) {
        return s_bad(msg, cap, CS_PERR_BAD_REQUEST, "the request must be a map, not %s",
                     root ? s_typename(root) : "nothing");
    }
    r->root = json_incref(root);
    cs_proto_err_t e = s_envelope(r, op, msg, cap);
    if (e == CS_PERR_NONE) {
        e = s_strings(r, msg, cap);
    }
    if (e == CS_PERR_NONE) {
        e = s_values(r, msg, cap);
    }
    return e == CS_PERR_NONE ? s_required(r, msg, cap) : e;
}

/* ---- query strings ---- */

/* A decimal int, strictly: optional '-', digits, nothing else. */
static int s_parse_int(const char *s, size_t n, json_int_t *out)
{
    char buf[32];
    if (n == 0 || n >= sizeof buf) {
        return -1;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    for (size_t i = buf[0] == '-' ? 1 : 0; i < n; i++) {
        if (buf[i] < '0' || buf[i] > '9') {
            return -1;
        }
    }
    errno = 0;
    char *end;
    long long v = strtoll(buf, &end, 10);
    if (errno || *end || end == buf || (buf[0] == '-' && n == 1)) {
        return -1;
    }
    *out = (json_int_t)v;
    return 0;
}

/* Append val to the array at key (created when absent); splits on commas when split. */
static int s_append(json_t *obj, const char *key, const char *val, size_t vlen, int split)
{
    json_t *arr = json_object_get(obj, key);
    if (arr == NULL) {
        arr = json_array();
        if (arr == NULL || json_object_set_new(obj, key, arr) != 0) {
            return -1;
        }
    }
    size_t at = 0;
    for (size_t i = 0; i <= vlen; i++) {
        if (i == vlen || (split && val[i] == ',')) {
            json_t *s = json_stringn(val + at, i - at);
            if (s == NULL || json_array_append_new(arr, s) != 0) {
                return -1;
            }
            at = i + 1;
        }
    }
    return 0;
}

/* A value as the type its key takes. NULL with msg set when it is not one. */
static json_t *s_typed(cs_key_t k, const char *key, const char *val, size_t vlen, char *msg,
                       size_t cap)
{
    json_int_t n;
    switch (k) {
    case CS_KEY_LIMIT:
    case CS_KEY_OFFSET:
    case CS_KEY_V:
        if (s_parse_int(val, vlen, &n) != 0) {
            snprintf(msg, cap, "\"%s\" must be an int", key);
            return NULL;
        }
        return json_integer(n);
    case CS_KEY_BILLABLE_ONLY:
    case CS_KEY_REVERSE:
    case CS_KEY_FOLLOW:
        if ((vlen == 4 && memcmp(val, "true", 4) == 0) || (vlen == 1 && val[0] == '1')) {
            return json_true();
        }
        if ((vlen == 5 && memcmp(val, "false", 5) == 0) || (vlen == 1 && val[0] == '0')) {
            return json_false();
        }
        snprintf(msg, cap, "\"%s\" must be a bool (true, false, 1 or 0)", key);
        return NULL;
    default: break;
    }
    json_t *s = json_stringn(val, vlen);
    if (s == NULL) {
        snprintf(msg, cap, "the value of \"%s\" is not UTF-8", key);
    }
    return s;
}

int hs_query_add(json_t *obj, cs_op_t op, const char *key, size_t klen, const char *val,
                 size_t vlen, char *msg, size_t cap)
{
    cs_key_t k = cs_key_find(key, klen);
    if (k == CS_KEY_NONE) {
        return 0; /* unknown keys are ignored, as on the wire */
    }
    const char *name = cs_key_name(k);
    if (val == NULL) {
        val = "";
        vlen = 0;
    }
    if (k == CS_KEY_INCLUDE || k == CS_KEY_CODES || k == CS_KEY_FILES || k == CS_KEY_PATH) {
        if (s_append(obj, name, val, vlen, k == CS_KEY_INCLUDE) != 0) {
            snprintf(msg, cap, "the value of \"%s\" is not UTF-8", name);
            return -1;
        }
        return 0;
    }
    json_t *have = json_object_get(obj, name);
    if (k == CS_KEY_CODE && op == CS_OP_VALIDATE && have != NULL) {
        /* a second code: the codes so far become the list "codes" */
        json_t *first = json_incref(have);
        json_object_del(obj, name);
        int rc = s_append(obj, "codes", json_string_value(first), json_string_length(first), 0);
        json_decref(first);
        if (rc != 0 || s_append(obj, "codes", val, vlen, 0) != 0) {
            snprintf(msg, cap, "the value of \"code\" is not UTF-8");
            return -1;
        }
        return 0;
    }
    if (k == CS_KEY_CODE && op == CS_OP_VALIDATE && json_object_get(obj, "codes") != NULL) {
        return s_append(obj, "codes", val, vlen, 0) == 0
                   ? 0
                   : (snprintf(msg, cap, "the value of \"code\" is not UTF-8"), -1);
    }
    if (have != NULL) {
        snprintf(msg, cap, "the key \"%s\" appears more than once", name);
        return -1;
    }
    json_t *v = s_typed(k, name, val, vlen, msg, cap);
    if (v == NULL || json_object_set_new(obj, name, v) != 0) {
        return -1;
    }
    return 0;
}
