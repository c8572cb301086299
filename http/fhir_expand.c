/* fhir_expand.c: ValueSet/$expand of the implicit value set of a whole code system,
 * {uri}?fhir_vs, answered by our search op (fhir_ops.h).
 *
 * filter is the search's q, with its ranking; count and offset page (count at most
 * CS_PROTO_MAX_LIMIT a page; count=0 asks for the total alone); total counts every match.
 * excludeNotForUI=true keeps billable codes only. Without a filter the whole system would be
 * listed (ICD-10-CM: 95,000 codes): refused (422 too-costly) unless count=0. version / date
 * pick the release. A hit that is not billable is "abstract": it may not stand on a claim.
 */
#include <stdio.h>
#include <string.h>

#include "fhir_call.h"
#include "fhir_ops.h"
#include "fhir_system.h"

static void s_param(json_t *exp, const char *name, const char *vkey, json_t *val)
{
    if (!val) {
        return;
    }
    json_t *p = json_object();
    json_object_set_new(p, "name", json_string(name));
    json_object_set_new(p, vkey, val);
    json_array_append_new(json_object_get(exp, "parameter"), p);
}

static json_t *s_valueset(const char *uri, int64_t total, int64_t offset)
{
    char url[1024], stamp[32];
    snprintf(url, sizeof url, "%s%s", uri, FHIR_VS_SUFFIX);
    fhir_now(stamp);
    json_t *vs = json_pack("{s:s,s:o,s:s}", "resourceType", "ValueSet", "url", fhir_str(url),
                           "status", "active");
    json_t *exp = json_pack("{s:s,s:I,s:I,s:[],s:[]}", "timestamp", stamp, "total",
                            (json_int_t)total, "offset", (json_int_t)offset, "parameter",
                            "contains");
    json_object_set_new(vs, "expansion", exp);
    return vs;
}

json_t *fhir_expand_valueset(const fhir_expand_in_t *in, const json_t *reply)
{
    json_t *vs = s_valueset(in->uri, json_integer_value(json_object_get(reply, "total")),
                            in->offset);
    json_t *exp = json_object_get(vs, "expansion");
    const char *release = json_string_value(json_object_get(reply, "release"));
    if (in->filter) {
        s_param(exp, "filter", "valueString", fhir_str(in->filter));
    }
    if (release) {
        char ver[1024];
        snprintf(ver, sizeof ver, "%s|%s", in->uri, release);
        s_param(exp, "version", "valueUri", fhir_str(ver));
    }
    s_param(exp, "offset", "valueInteger", json_integer((json_int_t)in->offset));
    s_param(exp, "count", "valueInteger", json_integer((json_int_t)in->count));
    json_t *contains = json_object_get(exp, "contains");
    size_t i;
    json_t *hit;
    json_array_foreach(in->count ? json_object_get(reply, "hits") : NULL, i, hit) {
        json_t *c = json_object();
        json_object_set_new(c, "system", fhir_str(in->uri));
        if (release) {
            json_object_set_new(c, "version", fhir_str(release));
        }
        if (!json_is_true(json_object_get(hit, "billable"))) {
            json_object_set_new(c, "abstract", json_true());
        }
        json_object_set(c, "code", json_object_get(hit, "code"));
        json_object_set(c, "display", json_object_get(hit, "title"));
        json_array_append_new(contains, c);
    }
    return vs;
}

/* The system of the url ({uri}?fhir_vs). */
static int s_system(const fhir_request_t *r, const fhir_args_t *a,
                    char sys[FHIR_SYSTEM_NAME_MAX], fhir_err_t *e)
{
    const char *url = NULL;
    int rc = fhir_arg_str(a, "url", &url, e);
    if (rc < 0) {
        return -1;
    }
    if (rc == 0) {
        return fhir_fail(e, 400, "required", NULL,
                         "parameter 'url' is required: {system uri}?fhir_vs (a ValueSet "
                         "resource is not expanded here)");
    }
    return fhir_vs_system(r->config, url, sys, e);
}

/* count=0 without a filter: the code count of the release that answers, from the releases
 * op. Which release answers (version, date, else the newest) the lookup op says, for any
 * code: even a malformed one's reply names the release it read. */
static int s_total_only(const fhir_request_t *r, const cs_request_t *sreq, json_t **reply,
                        fhir_err_t *e)
{
    cs_request_t probe = *sreq;
    probe.op = CS_OP_LOOKUP;
    probe.code = fhir_cstr("-");
    json_t *found;
    if (fhir_call(r, &probe, &found, e) < 0) {
        return -1;
    }
    const char *release = json_string_value(json_object_get(found, "release"));
    cs_request_t req;
    cs_request_init(&req);
    req.op = CS_OP_RELEASES;
    req.system = sreq->system;
    json_t *rels;
    if (fhir_call(r, &req, &rels, e) < 0) {
        json_decref(found);
        return -1;
    }
    json_int_t codes = 0;
    size_t i;
    json_t *rel;
    json_array_foreach(json_object_get(rels, "releases"), i, rel) {
        const char *label = json_string_value(json_object_get(rel, "release"));
        if (release && label && strcmp(label, release) == 0) {
            codes = json_integer_value(json_object_get(rel, "codes"));
        }
    }
    *reply = json_pack("{s:s?,s:I,s:[]}", "release", release, "total", codes, "hits");
    json_decref(found);
    json_decref(rels);
    return 0;
}

/* The release label of system-version / force-system-version ("uri|label"), if no version. */
static int s_system_version(const fhir_args_t *a, cs_request_t *req, fhir_err_t *e)
{
    static const char *const names[] = {"force-system-version", "system-version"};
    for (size_t i = 0; i < 2 && !req->release.len; i++) {
        const char *sv = NULL;
        if (fhir_arg_str(a, names[i], &sv, e) < 0) {
            return -1;
        }
        const char *bar = sv ? strrchr(sv, '|') : NULL;
        if (sv && (!bar || !bar[1])) {
            return fhir_fail(e, 400, "invalid", NULL,
                             "parameter '%s' must be {system uri}|{version}", names[i]);
        }
        if (bar) {
            req->release = fhir_cstr(bar + 1);
        }
    }
    return 0;
}

int fhir_op_expand(const fhir_request_t *r, const fhir_args_t *a, json_t **out, fhir_err_t *e)
{
    char sys[FHIR_SYSTEM_NAME_MAX], uri[512];
    const char *filter = NULL;
    int64_t count = FHIR_EXPAND_DEFAULT, offset = 0;
    int billable_only = 0;
    if (fhir_arg_has(a, "valueSet")) {
        return fhir_fail(e, 422, "not-supported", NULL,
                         "a ValueSet resource is not expanded here: give url ({system "
                         "uri}?fhir_vs)");
    }
    if (s_system(r, a, sys, e) < 0 || fhir_arg_str(a, "filter", &filter, e) < 0 ||
        fhir_arg_int(a, "count", 0, INT32_MAX, &count, e) < 0 ||
        fhir_arg_int(a, "offset", 0, INT32_MAX, &offset, e) < 0 ||
        fhir_arg_bool(a, "excludeNotForUI", &billable_only, e) < 0) {
        return -1;
    }
    if (filter && strlen(filter) > CS_PROTO_MAX_Q) {
        return fhir_fail(e, 400, "invalid", NULL, "parameter 'filter' is longer than %d bytes",
                         CS_PROTO_MAX_Q);
    }
    cs_request_t req;
    cs_request_init(&req);
    req.op = CS_OP_SEARCH;
    req.system = fhir_cstr(sys);
    req.q = fhir_cstr(filter);
    req.limit = count == 0 ? 1 : (count > CS_PROTO_MAX_LIMIT ? CS_PROTO_MAX_LIMIT : count);
    req.offset = offset;
    req.billable_only = billable_only;
    if (fhir_req_release(a, "version", &req, e) < 0 || s_system_version(a, &req, e) < 0) {
        return -1;
    }
    if (!filter && count != 0) {
        return fhir_fail(e, 422, "too-costly", NULL,
                         "an expansion of a whole code system without a filter is too large "
                         "to list: give a filter (count=0 gives the total alone)");
    }
    json_t *reply;
    if ((filter ? fhir_call(r, &req, &reply, e) : s_total_only(r, &req, &reply, e)) < 0) {
        return -1;
    }
    fhir_expand_in_t in = {
        .uri = fhir_system_uri(r->config, sys, uri, sizeof uri),
        .filter = filter,
        .offset = offset,
        .count = req.limit < count ? req.limit : count,
    };
    *out = fhir_expand_valueset(&in, reply);
    json_decref(reply);
    return 0;
}
