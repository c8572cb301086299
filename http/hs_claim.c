/* hs_claim.c: the claim shape from JSON (see hs_claim.h). */
#include "hs_claim.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cs_date.h"

/* The blocks of one decode: a list, each block's first word the next. */
typedef struct s_block {
    struct s_block *next;
} s_block_t;

typedef struct s_cx {
    void **mem;
    char pre[32]; /* "claims[3]: " inside a batch */
    char *msg;
    size_t cap;
} s_cx_t;

static cs_proto_err_t s_bad(const s_cx_t *c, cs_proto_err_t e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static cs_proto_err_t s_bad(const s_cx_t *c, cs_proto_err_t e, const char *fmt, ...)
{
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    snprintf(c->msg, c->cap, "%s%s", c->pre, why);
    return e;
}

static void *s_alloc(const s_cx_t *c, size_t n)
{
    s_block_t *b = calloc(1, sizeof *b + (n ? n : 1));
    if (!b) {
        return NULL;
    }
    b->next = *c->mem;
    *c->mem = b;
    return b + 1;
}

void hs_claim_free(void **mem)
{
    for (s_block_t *b = mem ? *mem : NULL; b;) {
        s_block_t *next = b->next;
        free(b);
        b = next;
    }
    if (mem) {
        *mem = NULL;
    }
}

static const char *s_type(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "map";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "str";
    case JSON_INTEGER: return "int";
    case JSON_REAL: return "float";
    case JSON_NULL: return "nil";
    default: return "bool";
    }
}

/* Member name of object o (named what in messages) as a str of at most max bytes, no control
 * characters; absent leaves *out empty unless required. */
static cs_proto_err_t s_str(const s_cx_t *c, const json_t *o, const char *what,
                            const char *name, size_t max, int required, cs_str_t *out)
{
    const json_t *v = json_object_get(o, name);
    if (!v) {
        return required ? s_bad(c, CS_PERR_BAD_REQUEST, "%s.%s is missing", what, name)
                        : CS_PERR_NONE;
    }
    size_t n = json_string_length(v);
    const unsigned char *p = (const unsigned char *)json_string_value(v);
    if (!json_is_string(v) || n > max) {
        return s_bad(c, CS_PERR_BAD_REQUEST, "%s.%s must be a str of at most %zu bytes", what,
                     name, max);
    }
    for (size_t i = 0; i < n; i++) {
        if (p[i] < 0x20 || p[i] == 0x7f) {
            return s_bad(c, CS_PERR_BAD_REQUEST, "%s.%s contains a control character", what,
                         name);
        }
    }
    *out = (cs_str_t){(const char *)p, (uint32_t)n};
    return CS_PERR_NONE;
}

static cs_proto_err_t s_int(const s_cx_t *c, const json_t *o, const char *what,
                            const char *name, int64_t lo, int64_t hi, int *has, int64_t *out)
{
    const json_t *v = json_object_get(o, name);
    if (!v) {
        return CS_PERR_NONE;
    }
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        return s_bad(c, CS_PERR_BAD_REQUEST, "%s.%s must be an int from %lld to %lld", what,
                     name, (long long)lo, (long long)hi);
    }
    *has = 1;
    *out = (int64_t)json_integer_value(v);
    return CS_PERR_NONE;
}

/* An array of at most max objects. */
static cs_proto_err_t s_objects(const s_cx_t *c, const json_t *v, const char *key, size_t max)
{
    if (!json_is_array(v)) {
        return s_bad(c, CS_PERR_BAD_REQUEST, "\"%s\" must be an array of maps, not %s", key,
                     s_type(v));
    }
    if (json_array_size(v) > max) {
        return s_bad(c, CS_PERR_TOO_MANY, "\"%s\" holds %zu items (at most %zu)", key,
                     json_array_size(v), max);
    }
    for (size_t i = 0; i < json_array_size(v); i++) {
        if (!json_is_object(json_array_get(v, i))) {
            return s_bad(c, CS_PERR_BAD_REQUEST, "\"%s\"[%zu] must be a map, not %s", key, i,
                         s_type(json_array_get(v, i)));
        }
    }
    return CS_PERR_NONE;
}

static cs_proto_err_t s_diagnoses(const s_cx_t *c, const json_t *v, cs_claim_t *cl)
{
    cs_proto_err_t e = s_objects(c, v, "diagnoses", CS_CLAIM_MAX_DX);
    size_t n = e == CS_PERR_NONE ? json_array_size(v) : 0;
    if (e == CS_PERR_NONE && n == 0) {
        return s_bad(c, CS_PERR_BAD_REQUEST, "\"diagnoses\" is empty: a claim needs its "
                     "principal or first-listed diagnosis");
    }
    cs_claim_dx_t *dx = e == CS_PERR_NONE ? s_alloc(c, n * sizeof *dx) : NULL;
    if (e == CS_PERR_NONE && !dx) {
        return s_bad(c, CS_PERR_INTERNAL, "out of memory decoding the claim");
    }
    for (size_t i = 0; e == CS_PERR_NONE && i < n; i++) {
        char what[48];
        snprintf(what, sizeof what, "diagnoses[%zu]", i);
        const json_t *d = json_array_get(v, i);
        e = s_str(c, d, what, "code", CS_PROTO_MAX_STR, 1, &dx[i].code);
        if (e == CS_PERR_NONE) {
            e = s_str(c, d, what, "poa", 8, 0, &dx[i].poa);
        }
    }
    cl->dx = dx;
    cl->n_dx = (uint32_t)n;
    return e;
}

static cs_proto_err_t s_procedure(const s_cx_t *c, const json_t *p, size_t i,
                                  cs_claim_px_t *px)
{
    char what[48];
    snprintf(what, sizeof what, "procedures[%zu]", i);
    int has = 0;
    px->units = 1;
    cs_proto_err_t e = s_str(c, p, what, "system", CS_PROTO_MAX_STR, 1, &px->system);
    if (e == CS_PERR_NONE) {
        e = s_str(c, p, what, "code", CS_PROTO_MAX_STR, 1, &px->code);
    }
    if (e == CS_PERR_NONE) {
        e = s_int(c, p, what, "units", 1, 999999, &has, &px->units);
    }
    const json_t *m = json_object_get(p, "modifiers");
    if (e == CS_PERR_NONE && m && (!json_is_array(m) ||
                                   json_array_size(m) > CS_CLAIM_MAX_MODIFIERS)) {
        return s_bad(c, CS_PERR_BAD_REQUEST, "%s.modifiers must be an array of at most %d str",
                     what, CS_CLAIM_MAX_MODIFIERS);
    }
    for (size_t k = 0; e == CS_PERR_NONE && m && k < json_array_size(m); k++) {
        const json_t *x = json_array_get(m, k);
        if (!json_is_string(x) || json_string_length(x) > CS_PROTO_MAX_STR) {
            return s_bad(c, CS_PERR_BAD_REQUEST, "%s.modifiers[%zu] must be a str", what, k);
        }
        px->modifiers[px->n_modifiers++] = (cs_str_t){json_string_value(x),
                                                      (uint32_t)json_string_length(x)};
    }
    return e;
}

static cs_proto_err_t s_procedures(const s_cx_t *c, const json_t *v, cs_claim_t *cl)
{
    cs_proto_err_t e = s_objects(c, v, "procedures", CS_CLAIM_MAX_PX);
    size_t n = e == CS_PERR_NONE ? json_array_size(v) : 0;
    cs_claim_px_t *px = e == CS_PERR_NONE ? s_alloc(c, n * sizeof *px) : NULL;
    if (e == CS_PERR_NONE && !px) {
        return s_bad(c, CS_PERR_INTERNAL, "out of memory decoding the claim");
    }
    for (size_t i = 0; e == CS_PERR_NONE && i < n; i++) {
        e = s_procedure(c, json_array_get(v, i), i, &px[i]);
    }
    cl->px = px;
    cl->n_px = (uint32_t)n;
    return e;
}

static cs_proto_err_t s_patient(const s_cx_t *c, const json_t *o, cs_claim_t *cl)
{
    if (!json_is_object(o)) {
        return s_bad(c, CS_PERR_BAD_REQUEST, "\"patient\" must be a map, not %s", s_type(o));
    }
    int64_t age = 0, days = 0;
    cs_str_t sex = {0};
    cs_proto_err_t e = s_int(c, o, "patient", "age", 0, 150, &cl->has_age, &age);
    if (e == CS_PERR_NONE) {
        e = s_int(c, o, "patient", "age_days", 0, 150 * 366, &cl->has_age_days, &days);
    }
    if (e == CS_PERR_NONE) {
        e = s_str(c, o, "patient", "sex", 1, 0, &sex);
    }
    if (e == CS_PERR_NONE && sex.ptr) {
        char s = sex.len == 1 ? sex.ptr[0] : 0;
        if (s != 'F' && s != 'M' && s != 'U') {
            return s_bad(c, CS_PERR_BAD_REQUEST, "patient.sex must be F, M or U");
        }
        cl->sex = s == 'F' ? CS_SEX_FEMALE : s == 'M' ? CS_SEX_MALE : CS_SEX_UNKNOWN;
    }
    cl->age = (int)(cl->has_age ? age : days / 365);
    cl->age_days = (int)days;
    cl->has_age |= cl->has_age_days;
    return e;
}

static cs_proto_err_t s_setting(const s_cx_t *c, const json_t *v, cs_claim_t *cl)
{
    static const char *const names[] = {"inpatient", "outpatient", "professional"};
    for (int i = 0; json_is_string(v) && i < 3; i++) {
        if (strcmp(json_string_value(v), names[i]) == 0) {
            cl->setting = (cs_claim_setting_t)(CS_SETTING_INPATIENT + i);
            return CS_PERR_NONE;
        }
    }
    return s_bad(c, CS_PERR_BAD_REQUEST, "\"setting\" must be inpatient, outpatient or "
                 "professional");
}

static cs_proto_err_t s_claim(const s_cx_t *c, const json_t *o, cs_claim_t *cl)
{
    const json_t *date = json_object_get(o, "date"), *dx = json_object_get(o, "diagnoses");
    if (!date || !dx) {
        return s_bad(c, CS_PERR_BAD_REQUEST, "a claim needs \"%s\"", date ? "diagnoses" : "date");
    }
    if (!json_is_string(date) ||
        cs_date_parse(json_string_value(date), json_string_length(date), &cl->date) != CS_OK) {
        return s_bad(c, CS_PERR_BAD_REQUEST, "\"date\" must be a real date written YYYY-MM-DD");
    }
    const json_t *v;
    cs_proto_err_t e = CS_PERR_NONE;
    if ((v = json_object_get(o, "setting")) != NULL) {
        e = s_setting(c, v, cl);
    }
    if (e == CS_PERR_NONE && (v = json_object_get(o, "patient")) != NULL) {
        e = s_patient(c, v, cl);
    }
    if (e == CS_PERR_NONE) {
        e = s_diagnoses(c, dx, cl);
    }
    if (e == CS_PERR_NONE && (v = json_object_get(o, "procedures")) != NULL) {
        e = s_procedures(c, v, cl);
    }
    return e;
}

cs_proto_err_t hs_claim_decode(cs_request_t *req, const json_t *root, void **mem, char *msg,
                               size_t cap)
{
    s_cx_t c = {.mem = mem, .msg = msg, .cap = cap};
    const json_t *list = req->op == CS_OP_CLAIMS ? json_object_get(root, "claims") : NULL;
    if (req->op == CS_OP_CLAIMS && !list) {
        return CS_PERR_NONE; /* the required-key check says what is missing */
    }
    cs_proto_err_t e = list ? s_objects(&c, list, "claims", CS_CLAIM_MAX_BATCH) : CS_PERR_NONE;
    size_t n = list ? json_array_size(list) : 1;
    cs_claim_t *cl = e == CS_PERR_NONE ? s_alloc(&c, n * sizeof *cl) : NULL;
    if (e == CS_PERR_NONE && !cl) {
        return s_bad(&c, CS_PERR_INTERNAL, "out of memory decoding the claims");
    }
    for (size_t i = 0; e == CS_PERR_NONE && i < n; i++) {
        if (list) {
            snprintf(c.pre, sizeof c.pre, "claims[%zu]: ", i);
        }
        e = s_claim(&c, list ? json_array_get(list, i) : root, &cl[i]);
    }
    req->claims = e == CS_PERR_NONE ? cl : NULL;
    req->n_claims = e == CS_PERR_NONE ? (uint32_t)n : 0;
    return e;
}
