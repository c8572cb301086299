/* fhir_batch.c: a batch Bundle of operations (fhir_batch.h). */
#include "fhir_batch.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cs_utf8.h"

static const char *s_reason(int status)
{
    switch (status) {
    case 200: return "200 OK";
    case 400: return "400 Bad Request";
    case 403: return "403 Forbidden";
    case 404: return "404 Not Found";
    case 405: return "405 Method Not Allowed";
    case 422: return "422 Unprocessable Entity";
    case 429: return "429 Too Many Requests";
    case 503: return "503 Service Unavailable";
    default: return status < 500 ? "400 Bad Request" : "500 Internal Server Error";
    }
}

/* The query of an entry's url ("a=1&b=x%7Cy") as {name: [values]}; libmicrohttpd decodes. */
static json_t *s_query(char *q)
{
    json_t *query = json_object();
    for (char *save = NULL, *pair = strtok_r(q, "&", &save); pair;
         pair = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(pair, '=');
        char *val = eq ? eq + 1 : pair + strlen(pair);
        if (eq) {
            *eq = '\0';
        }
        for (char *c = pair; *c; c++) { /* a query's '+' is a space, as MHD reads its own */
            *c = *c == '+' ? ' ' : *c;
        }
        for (char *c = val; *c; c++) {
            *c = *c == '+' ? ' ' : *c;
        }
        MHD_http_unescape(pair);
        MHD_http_unescape(val);
        /* a value not UTF-8 refuses the entry; a name not UTF-8 is a parameter no one reads,
         * dropped (as jansson refuses it as a key) */
        size_t pn = strlen(pair), vn = strlen(val);
        if (cs_utf8_end(val, vn, 1) != vn) {
            json_decref(query);
            return NULL;
        }
        if (cs_utf8_end(pair, pn, 1) != pn) {
            continue;
        }
        json_t *list = json_object_get(query, pair);
        if (!list) {
            list = json_array();
            json_object_set_new_nocheck(query, pair, list);
        }
        json_array_append_new(list, json_stringn_nocheck(val, vn));
    }
    return query;
}

/* One entry answered onto out: {"response":{"status"},"resource"} or
 * {"response":{"status","outcome"}}. */
static void s_entry(const fhir_request_t *r, size_t at, const json_t *entry, hs_jbuf_t *out)
{
    json_t *req = json_object_get(entry, "request");
    const char *method = json_string_value(json_object_get(req, "method"));
    const char *url = json_string_value(json_object_get(req, "url"));
    fhir_err_t e = {0};
    int status;
    size_t ulen = url ? strlen(url) : 0;
    if (!method || !url || ulen == 0 || ulen > 8192) {
        fhir_fail(&e, 400, "invalid", NULL,
                  "Bundle.entry[%zu].request needs a method and a url (a path with its query)",
                  at);
    }
    char *copy = e.status ? NULL : strdup(url);
    char *path = copy, *q = copy ? strchr(copy, '?') : NULL;
    if (q) {
        *q++ = '\0';
    }
    json_t *query = q ? s_query(q) : json_object();
    if (!e.status && (!copy || !query)) {
        fhir_fail(&e, 400, "invalid", NULL,
                  "Bundle.entry[%zu].request.url cannot be read (not UTF-8 once decoded?)", at);
    }
    if (!e.status) {
        /* the base may be written out: this server's, or "/fhir/" */
        const char *base = r->config && r->config->base_url ? r->config->base_url : NULL;
        size_t blen = base ? strlen(base) : 0;
        if (blen && strncmp(path, base, blen) == 0 && path[blen] == '/') {
            path += blen + 1;
        }
        path += strncmp(path, "/fhir/", 6) == 0 ? 6 : 0;
        while (*path == '/') {
            path++;
        }
        if (!*path) {
            fhir_fail(&e, 400, "invalid", NULL, "Bundle.entry[%zu]: a batch in a batch", at);
        }
    }
    /* the answer goes after its status, which is known only once it is made: made first
     * into the tail of out, then moved behind the head */
    size_t head = out->len;
    if (!e.status) {
        json_t *body = json_object_get(entry, "resource");
        fhir_request_t sub = {method, path, query, body, r->ctx, r->config};
        status = fhir_answer(&sub, out);
    } else {
        status = e.status;
        json_t *oo = fhir_outcome(&e);
        hs_jbuf_value(out, oo);
        json_decref(oo);
    }
    free(copy);
    json_decref(query);
    char pre[96] = ",{\"response\":{\"status\":\"";
    size_t n = strlen(pre);
    const char *parts[] = {s_reason(status), status == 200 ? "\"},\"resource\":"
                                                           : "\",\"outcome\":"};
    for (size_t k = 0; k < 2; k++) {
        memcpy(pre + n, parts[k], strlen(parts[k]));
        n += strlen(parts[k]);
    }
    hs_jbuf_insert(out, head, at ? pre : pre + 1, at ? n : n - 1);
    hs_jbuf_lit(out, status == 200 ? "}" : "}}");
}

int fhir_batch(const fhir_request_t *r, hs_jbuf_t *out, fhir_err_t *e)
{
    const json_t *b = r->body;
    const char *rt = json_string_value(json_object_get(b, "resourceType"));
    const char *type = json_string_value(json_object_get(b, "type"));
    json_t *entries = json_object_get(b, "entry");
    if (!rt || strcmp(rt, "Bundle") != 0 || !type || strcmp(type, "batch") != 0) {
        return fhir_fail(e, 400, "invalid", NULL,
                         "POST to the base takes a Bundle of type batch");
    }
    if (entries && !json_is_array(entries)) {
        return fhir_fail(e, 400, "invalid", NULL, "Bundle.entry must be an array");
    }
    if (json_array_size(entries) > FHIR_BATCH_MAX) {
        return fhir_fail(e, 400, "too-costly", NULL, "a batch holds at most %d entries",
                         FHIR_BATCH_MAX);
    }
    hs_jbuf_lit(out, "{\"resourceType\":\"Bundle\",\"type\":\"batch-response\",\"entry\":[");
    size_t i;
    json_t *entry;
    json_array_foreach(entries, i, entry) {
        s_entry(r, i, entry, out);
    }
    hs_jbuf_lit(out, "]}");
    return 0;
}
