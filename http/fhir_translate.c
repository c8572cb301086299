/* fhir_translate.c: ConceptMap/$translate, answered by our crosswalk op (fhir_ops.h).
 *
 * system + code (or coding) and targetsystem (or target: {uri}?fhir_vs), or url naming one of
 * our maps (urn:codeset:map:{set}/{map}, or any URL ending ConceptMap/{set}/{map}: gems,
 * gems/icd9cm-icd10cm...); reverse=true asks which codes map to code. Across the GEMs and any
 * loaded ConceptMap; a system onto itself (system = targetsystem) goes through the conversion
 * tables from version to targetversion (our parameter). Each match has its equivalence, the
 * concept, the map it came from (source) and, for a GEM row, its flags as properties
 * (approximate, no_map, combination, scenario, choice).
 */
#include <stdio.h>
#include <string.h>

#include "fhir_call.h"
#include "fhir_ops.h"
#include "fhir_system.h"

#define S_MAP_URN "urn:codeset:map:"

const char *fhir_equivalence(const json_t *row)
{
    static const char *const r4[] = {"relatedto", "equivalent", "equal",     "wider",
                                     "subsumes",  "narrower",   "specializes", "inexact",
                                     "unmatched", "disjoint"};
    static const char *const r5[][2] = {
        {"related-to", "relatedto"},
        {"source-is-narrower-than-target", "wider"},
        {"source-is-broader-than-target", "narrower"},
        {"not-related-to", "disjoint"},
    };
    if (json_is_true(json_object_get(row, "no_map"))) {
        return "unmatched";
    }
    const char *rel = json_string_value(json_object_get(row, "relationship"));
    if (rel) {
        for (size_t i = 0; i < sizeof r4 / sizeof r4[0]; i++) {
            if (strcmp(rel, r4[i]) == 0) {
                return r4[i];
            }
        }
        for (size_t i = 0; i < sizeof r5 / sizeof r5[0]; i++) {
            if (strcmp(rel, r5[i][0]) == 0) {
                return r5[i][1];
            }
        }
        return "relatedto";
    }
    return json_is_true(json_object_get(row, "approximate")) ? "inexact" : "equivalent";
}

static void s_flag(json_t *match, const json_t *row, const char *key)
{
    json_t *v = json_object_get(row, key);
    if (!v) {
        return;
    }
    json_t *p = fhir_put_part(match, "property");
    fhir_put(p, "code", "valueCode", json_string(key));
    fhir_put(p, "value", json_is_integer(v) ? "valueInteger" : "valueBoolean", json_copy(v));
}

json_t *fhir_translate_parameters(const fhir_config_t *c, const json_t *reply,
                                  const char *target_uri)
{
    (void)c;
    json_t *params = fhir_parameters_new();
    const char *map = json_string_value(json_object_get(reply, "map"));
    const char *code = json_string_value(json_object_get(reply, "code"));
    json_t *rows = json_object_get(reply, "targets");
    rows = rows ? rows : json_object_get(reply, "sources");
    char source[256];
    snprintf(source, sizeof source, "%s%s", S_MAP_URN, map ? map : "");
    int any = 0;
    json_t *matches = json_array();
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        const char *eq = fhir_equivalence(row);
        const char *to = json_string_value(json_object_get(row, "code"));
        if (map && strcmp(map, "conversion") == 0 && to && code && strcmp(to, code) == 0) {
            eq = "equal";
        }
        any |= strcmp(eq, "unmatched") != 0 && strcmp(eq, "disjoint") != 0;
        json_t *m = json_pack("{s:s,s:[]}", "name", "match", "part");
        fhir_put_str(m, "equivalence", "valueCode", eq);
        if (to) {
            json_t *coding = json_pack("{s:o,s:s}", "system", fhir_str(target_uri), "code", to);
            json_t *title = json_object_get(row, "title");
            if (json_is_string(title)) {
                json_object_set(coding, "display", title);
            }
            fhir_put(m, "concept", "valueCoding", coding);
        }
        if (map) {
            fhir_put_str(m, "source", "valueUri", source);
        }
        static const char *const flags[] = {"approximate", "no_map", "combination", "scenario",
                                            "choice"};
        for (size_t f = 0; f < sizeof flags / sizeof flags[0]; f++) {
            s_flag(m, row, flags[f]);
        }
        json_array_append_new(matches, m);
    }
    fhir_put(params, "result", "valueBoolean", json_boolean(any));
    const char *why = json_string_value(json_object_get(reply, "message"));
    char msg[512];
    if (!why && !any) {
        snprintf(msg, sizeof msg, "no mapping of %.100s to %.200s was found%s%.200s",
                 code ? code : "the code", target_uri, map ? " in " : "", map ? map : "");
        why = msg;
    }
    fhir_put_str(params, "message", "valueString", why);
    json_array_extend(json_object_get(params, "parameter"), matches);
    json_decref(matches);
    return params;
}

/* The map a url names ({set}/{map} after urn:codeset:map: or ConceptMap/), or NULL. */
static const char *s_map_of_url(const char *url)
{
    if (strncmp(url, S_MAP_URN, strlen(S_MAP_URN)) == 0) {
        return url + strlen(S_MAP_URN);
    }
    const char *at = strstr(url, "ConceptMap/");
    return at ? at + strlen("ConceptMap/") : NULL;
}

/* The systems a named map joins, from the releases op: from and to into the arrays. */
static int s_map_systems(const fhir_request_t *r, const char *map, char *from, char *to,
                         fhir_err_t *e)
{
    cs_request_t req;
    cs_request_init(&req);
    req.op = CS_OP_RELEASES;
    json_t *rels;
    if (fhir_call(r, &req, &rels, e) < 0) {
        return -1;
    }
    size_t i, j;
    json_t *rel, *m;
    int found = 0;
    json_array_foreach(json_object_get(rels, "releases"), i, rel) {
        const char *set = json_string_value(json_object_get(rel, "system"));
        json_array_foreach(json_object_get(rel, "maps"), j, m) {
            const char *name = json_string_value(json_object_get(m, "name"));
            char full[256];
            snprintf(full, sizeof full, "%s/%s", set ? set : "", name ? name : "");
            if (!found && name && (strcmp(map, name) == 0 || strcmp(map, full) == 0)) {
                const char *f = json_string_value(json_object_get(m, "from"));
                const char *t = json_string_value(json_object_get(m, "to"));
                snprintf(from, FHIR_SYSTEM_NAME_MAX, "%s", f ? f : "");
                snprintf(to, FHIR_SYSTEM_NAME_MAX, "%s", t ? t : "");
                found = 1;
            }
        }
    }
    json_decref(rels);
    if (!found) {
        return fhir_fail(e, 404, "not-found", "not-found",
                         "no ConceptMap '%.200s' is loaded here (the maps are listed by "
                         "metadata?mode=terminology and the releases of the JSON API)", map);
    }
    return 0;
}

/* The target system: targetsystem, or target ({uri}?fhir_vs). */
static int s_target(const fhir_request_t *r, const fhir_args_t *a,
                    char to[FHIR_SYSTEM_NAME_MAX], fhir_err_t *e)
{
    const char *uri = NULL;
    int rc = fhir_arg_system(r->config, a, "targetsystem", to, &uri, e);
    if (rc != 0) {
        return rc;
    }
    const char *vs = NULL;
    if (fhir_arg_str(a, "target", &vs, e) < 0) {
        return -1;
    }
    if (!vs) {
        return 0;
    }
    return fhir_vs_system(r->config, vs, to, e);
}

/* Read the source code and system (code + system, or coding). */
static int s_source(const fhir_request_t *r, const fhir_args_t *a, const char **code,
                    char sys[FHIR_SYSTEM_NAME_MAX], fhir_err_t *e)
{
    fhir_coding_t coding;
    const char *uri = NULL;
    int rc = fhir_arg_coding(a, "coding", &coding, e);
    if (rc < 0 || fhir_arg_str(a, "code", code, e) < 0) {
        return -1;
    }
    if (rc > 0 && !*code) {
        *code = coding.code;
        uri = coding.system;
    }
    if (!*code) {
        return fhir_fail(e, 400, "required", NULL, "parameter 'code' (or a coding) is required");
    }
    rc = uri ? fhir_system_of(r->config, uri, "coding.system", sys, e)
             : fhir_arg_system(r->config, a, "system", sys, &uri, e);
    return rc < 0 ? -1 : rc;
}

int fhir_op_translate(const fhir_request_t *r, const fhir_args_t *a, json_t **out,
                      fhir_err_t *e)
{
    const char *code = NULL, *url = NULL, *tover = NULL, *map = NULL;
    char sys[FHIR_SYSTEM_NAME_MAX] = "", to[FHIR_SYSTEM_NAME_MAX] = "";
    char mfrom[FHIR_SYSTEM_NAME_MAX] = "", mto[FHIR_SYSTEM_NAME_MAX] = "";
    int reverse = 0;
    int has_sys = s_source(r, a, &code, sys, e);
    if (has_sys < 0 || s_target(r, a, to, e) < 0 || fhir_arg_str(a, "url", &url, e) < 0 ||
        fhir_arg_str(a, "targetversion", &tover, e) < 0 ||
        fhir_arg_bool(a, "reverse", &reverse, e) < 0) {
        return -1;
    }
    if (url && !(map = s_map_of_url(url))) {
        return fhir_fail(e, 404, "not-found", "not-found",
                         "no ConceptMap has the url '%.300s' here (ours are "
                         S_MAP_URN "{set}/{map})", url);
    }
    if (map && s_map_systems(r, map, mfrom, mto, e) < 0) {
        return -1;
    }
    /* reverse: code is of the map's target system; the answer is of its source. */
    if (!has_sys) {
        snprintf(sys, sizeof sys, "%s", reverse ? mto : mfrom);
    }
    if (!to[0]) {
        snprintf(to, sizeof to, "%s", reverse ? mfrom : mto);
    }
    if (!sys[0] || !to[0]) {
        return fhir_fail(e, 400, "required", NULL,
                         "say where to translate: system and targetsystem (or url of a map)");
    }
    cs_request_t req;
    cs_request_init(&req);
    req.op = CS_OP_CROSSWALK;
    req.from = fhir_cstr(reverse ? to : sys);
    req.to = fhir_cstr(reverse ? sys : to);
    req.code = fhir_cstr(code);
    req.map = fhir_cstr(map);
    req.reverse = reverse;
    req.to_release = fhir_cstr(tover);
    if (fhir_req_release(a, "version", &req, e) < 0) {
        return -1;
    }
    json_t *reply;
    if (fhir_call(r, &req, &reply, e) < 0) {
        return -1;
    }
    char uri[512];
    *out = fhir_translate_parameters(r->config, reply,
                                     fhir_system_uri(r->config, to, uri, sizeof uri));
    json_decref(reply);
    return 0;
}
