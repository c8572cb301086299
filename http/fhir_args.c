/* fhir_args.c: an operation's input parameters, GET or POST, checked (fhir_args.h). */
#include "fhir_args.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cs_date.h"

#define S_NAME_MAX 64

/* A client's text, cut and with control bytes as '?', for a message. */
static const char *s_show(const char *s, char *buf, size_t cap)
{
    size_t i = 0;
    for (; s && s[i] && i + 1 < cap && i < 60; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    buf[i] = '\0';
    return buf;
}

static int s_add(fhir_args_t *a, const char *name, const char *kind, const char *key, json_t *v,
                 fhir_err_t *e)
{
    char shown[80];
    if (a->n >= FHIR_ARGS_MAX) {
        return fhir_fail(e, 400, "too-costly", NULL,
                         "more than %d parameter values in one request", FHIR_ARGS_MAX);
    }
    if (!*name || strlen(name) > S_NAME_MAX) {
        return fhir_fail(e, 400, "invalid", NULL, "a parameter name must be 1 to %d bytes "
                         "(got \"%s\")", S_NAME_MAX, s_show(name, shown, sizeof shown));
    }
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 8;
        fhir_arg_t *items = realloc(a->items, cap * sizeof *items);
        if (!items) {
            return fhir_fail(e, 500, "exception", NULL, "out of memory reading parameters");
        }
        a->items = items;
        a->cap = cap;
    }
    a->items[a->n++] = (fhir_arg_t){name, kind, key, v};
    return 0;
}

int fhir_args_from_query(fhir_args_t *a, json_t *query, fhir_err_t *e)
{
    memset(a, 0, sizeof *a);
    a->from_query = 1;
    if (!query) {
        return 0;
    }
    if (!json_is_object(query)) {
        return fhir_fail(e, 400, "invalid", NULL, "the query is not a set of parameters");
    }
    const char *name;
    json_t *vals;
    json_object_foreach(query, name, vals) {
        if (json_is_string(vals)) {
            if (s_add(a, name, "q", "query", vals, e) != 0) {
                return -1;
            }
            continue;
        }
        size_t i;
        json_t *v;
        if (!json_is_array(vals)) {
            return fhir_fail(e, 400, "invalid", NULL, "query parameter '%.64s' has no text",
                             name);
        }
        json_array_foreach(vals, i, v) {
            if (!json_is_string(v)) {
                return fhir_fail(e, 400, "invalid", NULL,
                                 "query parameter '%.64s' has a value that is not text", name);
            }
            if (s_add(a, name, "q", "query", v, e) != 0) {
                return -1;
            }
        }
    }
    return 0;
}

/* The kind of a value[x] key and whether v has the JSON type it needs. */
static const char *s_value_kind(const char *key, const json_t *v)
{
    static const char *const strs[] = {
        "valueString", "valueCode", "valueUri", "valueUrl", "valueCanonical", "valueId",
        "valueDate", "valueDateTime", "valueInstant", "valueMarkdown", "valueOid", "valueUuid",
        "valueTime", "valueBase64Binary",
    };
    static const char *const ints[] = {"valueInteger", "valueUnsignedInt", "valuePositiveInt"};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        if (strcmp(key, strs[i]) == 0) {
            return json_is_string(v) ? "s" : NULL;
        }
    }
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        if (strcmp(key, ints[i]) == 0) {
            return json_is_integer(v) ? "i" : NULL;
        }
    }
    if (strcmp(key, "valueBoolean") == 0) {
        return json_is_boolean(v) ? "b" : NULL;
    }
    if (strcmp(key, "valueCoding") == 0) {
        return json_is_object(v) ? "coding" : NULL;
    }
    if (strcmp(key, "valueCodeableConcept") == 0) {
        return json_is_object(v) ? "cc" : NULL;
    }
    return "other";
}

/* One element of Parameters.parameter. */
static int s_body_param(fhir_args_t *a, size_t at, json_t *p, fhir_err_t *e)
{
    const char *name = json_string_value(json_object_get(p, "name"));
    if (!json_is_object(p) || !name) {
        return fhir_fail(e, 400, "invalid", NULL,
                         "Parameters.parameter[%zu] is not an object with a string name", at);
    }
    const char *key, *kind = "none", *vkey = "";
    json_t *v, *val = NULL;
    int seen = 0;
    json_object_foreach(p, key, v) {
        const char *k = NULL;
        if (strncmp(key, "value", 5) == 0) {
            k = s_value_kind(key, v);
        } else if (strcmp(key, "resource") == 0) {
            k = json_is_object(v) ? "res" : NULL;
        } else if (strcmp(key, "part") == 0) {
            k = json_is_array(v) ? "part" : NULL;
        } else {
            continue;
        }
        if (!k) {
            return fhir_fail(e, 400, "invalid", NULL,
                             "parameter '%.64s': %.40s has the wrong JSON type", name, key);
        }
        if (++seen > 1) {
            return fhir_fail(e, 400, "invalid", NULL,
                             "parameter '%.64s' has more than one value[x]", name);
        }
        kind = k;
        vkey = key;
        val = v;
    }
    return s_add(a, name, kind, vkey, val ? val : json_null(), e);
}

int fhir_args_from_body(fhir_args_t *a, json_t *body, fhir_err_t *e)
{
    memset(a, 0, sizeof *a);
    const char *rt = json_string_value(json_object_get(body, "resourceType"));
    if (!json_is_object(body) || !rt || strcmp(rt, "Parameters") != 0) {
        return fhir_fail(e, 400, "invalid", NULL,
                         "the body must be a FHIR Parameters resource (resourceType "
                         "\"Parameters\")");
    }
    json_t *list = json_object_get(body, "parameter");
    if (!list) {
        return 0;
    }
    if (!json_is_array(list)) {
        return fhir_fail(e, 400, "invalid", NULL, "Parameters.parameter must be an array");
    }
    size_t i;
    json_t *p;
    json_array_foreach(list, i, p) {
        if (s_body_param(a, i, p, e) != 0) {
            return -1;
        }
    }
    return 0;
}

void fhir_args_free(fhir_args_t *a)
{
    free(a->items);
    json_decref(a->keep);
    memset(a, 0, sizeof *a);
}

/* How many values name has, and the first (NULL when none). */
static size_t s_count(const fhir_args_t *a, const char *name, const fhir_arg_t **first)
{
    size_t n = 0;
    *first = NULL;
    for (size_t i = 0; i < a->n; i++) {
        if (strcmp(a->items[i].name, name) == 0 && n++ == 0) {
            *first = &a->items[i];
        }
    }
    return n;
}

int fhir_arg_has(const fhir_args_t *a, const char *name)
{
    const fhir_arg_t *first;
    return s_count(a, name, &first) > 0;
}

/* The one value of name: 1 with *kind and *v, 0 absent, -1 given more than once. */
static int s_one(const fhir_args_t *a, const char *name, const char **kind, const json_t **v,
                 const char **key, fhir_err_t *e)
{
    const fhir_arg_t *it;
    size_t n = s_count(a, name, &it);
    if (n == 0) {
        return 0;
    }
    if (n != 1) {
        return fhir_fail(e, 400, "invalid", NULL,
                         "parameter '%s' is given %zu times; it takes one value", name, n);
    }
    *kind = it->kind;
    *key = it->key;
    *v = it->v;
    return 1;
}

static int s_text(const char *name, const json_t *v, const char **out, fhir_err_t *e)
{
    size_t len = json_string_length(v);
    const char *s = json_string_value(v);
    if (len > CS_PROTO_MAX_STR) {
        return fhir_fail(e, 400, "invalid", NULL, "parameter '%s' is longer than %d bytes",
                         name, CS_PROTO_MAX_STR);
    }
    if (strlen(s) != len) {
        return fhir_fail(e, 400, "invalid", NULL, "parameter '%s' holds a NUL character", name);
    }
    if (len == 0) {
        return fhir_fail(e, 400, "invalid", NULL,
                         "parameter '%s' is empty (a FHIR string is never empty)", name);
    }
    *out = s;
    return 1;
}

int fhir_arg_str(const fhir_args_t *a, const char *name, const char **out, fhir_err_t *e)
{
    const char *kind, *key;
    const json_t *v;
    int rc = s_one(a, name, &kind, &v, &key, e);
    if (rc <= 0) {
        return rc;
    }
    if (strcmp(kind, "q") != 0 && strcmp(kind, "s") != 0) {
        return fhir_fail(e, 400, "invalid", NULL,
                         "parameter '%s' must be text (valueString, valueCode, valueUri...), "
                         "not %.40s", name, *key ? key : "a parameter without a value");
    }
    return s_text(name, v, out, e);
}

int fhir_arg_strs(const fhir_args_t *a, const char *name, const char **out, size_t cap,
                  size_t *n, fhir_err_t *e)
{
    const fhir_arg_t *first;
    *n = 0;
    if (s_count(a, name, &first) > cap) {
        return fhir_fail(e, 400, "too-costly", NULL, "parameter '%s' is given more than %zu times",
                         name, cap);
    }
    for (size_t i = 0; i < a->n; i++) {
        const fhir_arg_t *it = &a->items[i];
        if (strcmp(it->name, name) != 0) {
            continue;
        }
        if (strcmp(it->kind, "q") != 0 && strcmp(it->kind, "s") != 0) {
            return fhir_fail(e, 400, "invalid", NULL, "parameter '%s' must be text", name);
        }
        if (s_text(name, it->v, &out[*n], e) < 0) {
            return -1;
        }
        (*n)++;
    }
    return *n > 0;
}

int fhir_arg_bool(const fhir_args_t *a, const char *name, int *out, fhir_err_t *e)
{
    const char *kind, *key;
    const json_t *v;
    int rc = s_one(a, name, &kind, &v, &key, e);
    if (rc <= 0) {
        return rc;
    }
    if (strcmp(kind, "b") == 0) {
        *out = json_is_true(v);
        return 1;
    }
    const char *s = strcmp(kind, "q") == 0 ? json_string_value(v) : NULL;
    if (s && (strcmp(s, "true") == 0 || strcmp(s, "false") == 0)) {
        *out = s[0] == 't';
        return 1;
    }
    return fhir_fail(e, 400, "invalid", NULL, "parameter '%s' must be true or false (%s)", name,
                     a->from_query ? "in the query" : "valueBoolean");
}

/* Decimal digits with an optional '-' and no more than 18 digits: no overflow. */
static int s_parse_int(const char *s, int64_t *out)
{
    int neg = *s == '-';
    const char *d = s + neg;
    size_t n = strlen(d);
    if (n == 0 || n > 18 || strspn(d, "0123456789") != n) {
        return -1;
    }
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        v = v * 10 + (d[i] - '0');
    }
    *out = neg ? -v : v;
    return 0;
}

int fhir_arg_int(const fhir_args_t *a, const char *name, int64_t lo, int64_t hi, int64_t *out,
                 fhir_err_t *e)
{
    const char *kind, *key;
    const json_t *v;
    int rc = s_one(a, name, &kind, &v, &key, e);
    if (rc <= 0) {
        return rc;
    }
    int64_t x = 0;
    int ok = 0;
    if (strcmp(kind, "i") == 0) {
        x = (int64_t)json_integer_value(v);
        ok = 1;
    } else if (strcmp(kind, "q") == 0) {
        ok = s_parse_int(json_string_value(v), &x) == 0;
    }
    if (!ok || x < lo || x > hi) {
        return fhir_fail(e, 400, "invalid", NULL,
                         "parameter '%s' must be a whole number from %lld to %lld", name,
                         (long long)lo, (long long)hi);
    }
    *out = x;
    return 1;
}

int fhir_arg_date(const fhir_args_t *a, const char *name, char out[11], fhir_err_t *e)
{
    const char *s;
    int rc = fhir_arg_str(a, name, &s, e);
    if (rc <= 0) {
        return rc;
    }
    size_t len = strlen(s);
    char shown[80];
    if (!((len == 10 || (len > 10 && s[10] == 'T')) && cs_date_parse(s, 10, NULL) == 0)) {
        return fhir_fail(e, 400, "invalid", NULL,
                         "parameter '%s' must be a real date of service, YYYY-MM-DD or a "
                         "dateTime starting with one (got \"%s\")",
                         name, s_show(s, shown, sizeof shown));
    }
    memcpy(out, s, 10);
    out[10] = '\0';
    return 1;
}

static int s_member(const json_t *obj, const char *what, const char *key, const char **out,
                    fhir_err_t *e)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v) {
        return 0;
    }
    char full[96];
    snprintf(full, sizeof full, "%s.%s", what, key);
    if (!json_is_string(v)) {
        return fhir_fail(e, 400, "invalid", NULL, "%s must be a string", full);
    }
    return s_text(full, v, out, e) < 0 ? -1 : 0;
}

int fhir_coding_read(const json_t *obj, const char *what, fhir_coding_t *out, fhir_err_t *e)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(obj)) {
        return fhir_fail(e, 400, "invalid", NULL, "%s must be a Coding object", what);
    }
    if (s_member(obj, what, "system", &out->system, e) < 0 ||
        s_member(obj, what, "version", &out->version, e) < 0 ||
        s_member(obj, what, "code", &out->code, e) < 0 ||
        s_member(obj, what, "display", &out->display, e) < 0) {
        return -1;
    }
    return 0;
}

int fhir_arg_coding(const fhir_args_t *a, const char *name, fhir_coding_t *out, fhir_err_t *e)
{
    const char *kind, *key;
    const json_t *v;
    int rc = s_one(a, name, &kind, &v, &key, e);
    if (rc <= 0) {
        return rc;
    }
    if (strcmp(kind, "coding") == 0) {
        return fhir_coding_read(v, name, out, e) < 0 ? -1 : 1;
    }
    const char *s = NULL;
    if (strcmp(kind, "q") != 0 || s_text(name, v, &s, e) < 0 || !strchr(s, '|')) {
        return fhir_fail(e, 400, "invalid", NULL,
                         "parameter '%s' must be a Coding (valueCoding, or system|code in a "
                         "query)", name);
    }
    /* Keep the two halves alive with the table: the getters hand out borrowed strings. */
    const char *bar = strchr(s, '|');
    fhir_args_t *owner = (fhir_args_t *)a; /* only its keep list changes */
    json_t *halves = json_pack("[s%,s]", s, (size_t)(bar - s), bar + 1);
    if (!owner->keep) {
        owner->keep = json_array();
    }
    if (!halves || json_array_append_new(owner->keep, halves) != 0) {
        return fhir_fail(e, 500, "exception", NULL, "out of memory reading '%s'", name);
    }
    memset(out, 0, sizeof *out);
    out->system = json_string_value(json_array_get(halves, 0));
    out->code = json_string_value(json_array_get(halves, 1));
    if (!*out->system) {
        out->system = NULL;
    }
    return 1;
}

int fhir_arg_cc(const fhir_args_t *a, const char *name, fhir_coding_t *out, size_t *n,
                fhir_err_t *e)
{
    const char *kind, *key;
    const json_t *v;
    *n = 0;
    int rc = s_one(a, name, &kind, &v, &key, e);
    if (rc <= 0) {
        return rc;
    }
    json_t *codings = strcmp(kind, "cc") == 0 ? json_object_get(v, "coding") : NULL;
    if (!json_is_array(codings) || json_array_size(codings) == 0) {
        return fhir_fail(e, 400, "invalid", NULL,
                         "parameter '%s' must be a valueCodeableConcept with at least one "
                         "coding (POST)", name);
    }
    if (json_array_size(codings) > FHIR_CC_MAX) {
        return fhir_fail(e, 400, "too-costly", NULL,
                         "parameter '%s' has more than %d codings", name, FHIR_CC_MAX);
    }
    size_t i;
    json_t *c;
    json_array_foreach(codings, i, c) {
        char what[96];
        snprintf(what, sizeof what, "%s.coding[%zu]", name, i);
        if (fhir_coding_read(c, what, &out[i], e) < 0) {
            return -1;
        }
    }
    *n = json_array_size(codings);
    return 1;
}
