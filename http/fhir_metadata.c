/* fhir_metadata.c: what the server offers: the CapabilityStatement (GET metadata), the
 * TerminologyCapabilities with every loaded code system and its versions (release labels;
 * GET metadata?mode=terminology), and each release as a CodeSystem resource (GET
 * CodeSystem?url=&version=), from our releases op (fhir_ops.h).
 */
#include <stdio.h>
#include <string.h>

#include "codeset/cs_version.h"
#include "fhir_call.h"
#include "fhir_ops.h"
#include "fhir_system.h"

#define S_OPDEF "http://hl7.org/fhir/OperationDefinition/"

static json_t *s_ops(const char *const *names, const char *const *defs, size_t n)
{
    json_t *ops = json_array();
    for (size_t i = 0; i < n; i++) {
        char def[160];
        snprintf(def, sizeof def, S_OPDEF "%s", defs[i]);
        json_array_append_new(ops, json_pack("{s:s,s:s}", "name", names[i], "definition", def));
    }
    return ops;
}

static json_t *s_software(void)
{
    return json_pack("{s:s,s:s}", "name", "codeset", "version", CS_VERSION);
}

json_t *fhir_capabilities(const fhir_config_t *c)
{
    static const char *const cs_names[] = {"lookup", "validate-code", "subsumes"};
    static const char *const cs_defs[] = {"CodeSystem-lookup", "CodeSystem-validate-code",
                                          "CodeSystem-subsumes"};
    static const char *const vs_names[] = {"expand", "validate-code"};
    static const char *const vs_defs[] = {"ValueSet-expand", "ValueSet-validate-code"};
    static const char *const cm_names[] = {"translate"};
    static const char *const cm_defs[] = {"ConceptMap-translate"};
    char stamp[32];
    fhir_now(stamp);
    const char *base = c && c->base_url ? c->base_url : "";
    json_t *cs = json_pack("{s:s,s:[{s:s},{s:s}],s:[{s:s,s:s},{s:s,s:s}],s:o}", "type",
                           "CodeSystem", "interaction", "code", "read", "code", "search-type",
                           "searchParam", "name", "url", "type", "uri", "name", "version",
                           "type", "token", "operation", s_ops(cs_names, cs_defs, 3));
    json_t *vs = json_pack("{s:s,s:o}", "type", "ValueSet", "operation",
                           s_ops(vs_names, vs_defs, 2));
    json_t *cm = json_pack("{s:s,s:o}", "type", "ConceptMap", "operation",
                           s_ops(cm_names, cm_defs, 1));
    json_t *rest = json_pack("{s:s,s:[o,o,o],s:[{s:s}]}", "mode", "server", "resource", cs, vs,
                             cm, "interaction", "code", "batch");
    json_t *cap = json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:[s],s:o,s:{s:s,s:o},s:s,s:[s,s],s:[o]}", "resourceType",
        "CapabilityStatement", "status", "active", "date", stamp, "kind", "instance", "name",
        "codeset", "instantiates", "http://hl7.org/fhir/CapabilityStatement/terminology-server",
        "software", s_software(), "implementation", "description",
        "codeset: ICD-10-CM, ICD-10-PCS, HCPCS, CPT and their crosswalks", "url",
        fhir_str(base), "fhirVersion", "4.0.1", "format", "application/fhir+json", "json",
        "rest", rest);
    return cap;
}

/* Is rel a release of a code system (not a map set) that system/version ask for? */
static int s_code_release(const json_t *rel, const char *system, const char *version)
{
    const char *sys = json_string_value(json_object_get(rel, "system"));
    const char *label = json_string_value(json_object_get(rel, "release"));
    if (!sys || !label || json_object_get(rel, "maps")) {
        return 0;
    }
    return (!system || strcmp(system, sys) == 0) && (!version || strcmp(version, label) == 0);
}

json_t *fhir_terminology_caps(const fhir_config_t *c, const json_t *releases)
{
    char stamp[32];
    fhir_now(stamp);
    json_t *systems = json_array();
    json_t *by_sys = json_object(); /* system id -> its codeSystem entry (borrowed) */
    size_t i;
    json_t *rel;
    json_array_foreach(json_object_get(releases, "releases"), i, rel) {
        if (!s_code_release(rel, NULL, NULL)) {
            continue;
        }
        const char *sys = json_string_value(json_object_get(rel, "system"));
        json_t *entry = json_object_get(by_sys, sys);
        if (!entry) {
            char uri[512];
            entry = json_pack("{s:o,s:[],s:b}", "uri",
                              fhir_str(fhir_system_uri(c, sys, uri, sizeof uri)), "version",
                              "subsumption", 1);
            json_array_append_new(systems, entry);
            json_object_set(by_sys, sys, entry);
        }
        int newest = json_is_null(json_object_get(rel, "effective_to")) &&
                     json_is_string(json_object_get(rel, "status")) &&
                     strcmp(json_string_value(json_object_get(rel, "status")), "active") == 0;
        json_t *ver = json_pack("{s:O,s:b}", "code", json_object_get(rel, "release"),
                                "isDefault", newest);
        json_array_append_new(json_object_get(entry, "version"), ver);
    }
    json_decref(by_sys);
    const char *base = c && c->base_url ? c->base_url : "";
    json_t *tc = json_pack(
        "{s:s,s:s,s:s,s:s,s:s,s:o,s:{s:s,s:o},s:o,"
        "s:{s:b,s:b,s:[{s:s},{s:s},{s:s},{s:s},{s:s}]},s:{s:b},s:{s:b}}",
        "resourceType", "TerminologyCapabilities", "status", "active", "date", stamp, "kind",
        "instance", "name", "codeset", "software", s_software(), "implementation",
        "description", "codeset FHIR terminology facade", "url", fhir_str(base), "codeSystem",
        systems, "expansion", "hierarchical", 0, "paging", 1, "parameter", "name", "filter",
        "name", "count", "name", "offset", "name", "date", "name", "excludeNotForUI",
        "validateCode", "translations", 0, "translation", "needsMap", 0);
    return tc;
}

/* The property codes $lookup answers with, declared on every CodeSystem. */
static json_t *s_property_defs(void)
{
    static const char *const props[][3] = {
        {"parent", "code", "the code's parent in the hierarchy"},
        {"child", "code", "a child of the code, in release order"},
        {"notSelectable", "boolean", "true when the code may not stand on a claim (a header)"},
        {"kind", "code", "chapter, block, category, subcategory, code..."},
        {"valid_from", "dateTime", "first day of the code's own validity"},
        {"valid_to", "dateTime", "last day of the code's own validity (a termination)"},
        {"includes", "string", "an Includes note"},
        {"inclusion_terms", "string", "an inclusion term"},
        {"excludes1", "string", "an Excludes1 note"},
        {"excludes2", "string", "an Excludes2 note"},
        {"code_first", "string", "a code-first note"},
        {"use_additional_code", "string", "a use-additional-code note"},
        {"code_also", "string", "a code-also note"},
        {"seven_chr_note", "string", "the 7th character note"},
        {"seven_chr_def", "string", "a 7th character and its meaning, \"A: ...\""},
    };
    json_t *defs = json_array();
    for (size_t i = 0; i < sizeof props / sizeof props[0]; i++) {
        json_array_append_new(defs, json_pack("{s:s,s:s,s:s}", "code", props[i][0], "type",
                                              props[i][1], "description", props[i][2]));
    }
    return defs;
}

/* A release's resource id, {system}-{label} as a FHIR id: [A-Za-z0-9-.]{1,64}. */
static void s_id(const char *sys, const char *label, char *id, size_t cap)
{
    snprintf(id, cap < 65 ? cap : 65, "%s-%s", sys, label);
    for (char *c = id; *c; c++) {
        int ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                 (*c >= '0' && *c <= '9') || *c == '-' || *c == '.';
        *c = ok ? *c : '-';
    }
}

/* One release as a CodeSystem (content not-present). */
static json_t *s_codesystem(const fhir_config_t *c, const json_t *rel, char *id, size_t cap)
{
    const char *sys = json_string_value(json_object_get(rel, "system"));
    const char *label = json_string_value(json_object_get(rel, "release"));
    const char *status = json_string_value(json_object_get(rel, "status"));
    const char *from = json_string_value(json_object_get(rel, "effective_from"));
    const char *to = json_string_value(json_object_get(rel, "effective_to"));
    char uri[512], vs[600], desc[512];
    fhir_system_uri(c, sys, uri, sizeof uri);
    snprintf(vs, sizeof vs, "%s%s", uri, FHIR_VS_SUFFIX);
    s_id(sys, label, id, cap);
    json_int_t codes = json_integer_value(json_object_get(rel, "codes"));
    json_int_t billable = json_integer_value(json_object_get(rel, "billable"));
    snprintf(desc, sizeof desc, "%s release %s, in effect from %s%s%s; %lld codes, %lld billable",
             fhir_system_title(sys), label, from ? from : "?", to ? " to " : "", to ? to : "",
             (long long)codes, (long long)billable);
    return json_pack("{s:s,s:s,s:o,s:s,s:s,s:o,s:s,s:s,s:b,s:s,s:o,s:s,s:I,s:o,s:o}",
                     "resourceType", "CodeSystem", "id", id, "url", fhir_str(uri), "version",
                     label, "name", sys, "title", fhir_str(fhir_system_title(sys)), "status",
                     status && strcmp(status, "retired") == 0 ? "retired" : "active",
                     "description", desc, "caseSensitive", 0, "hierarchyMeaning", "is-a",
                     "valueSet", fhir_str(vs), "content", "not-present", "count", codes,
                     "property", s_property_defs(), "publisher",
                     fhir_str(strcmp(sys, "cpt") == 0 ? "American Medical Association"
                                                      : "CMS / NCHS"));
}

json_t *fhir_codesystem_bundle(const fhir_config_t *c, const json_t *releases,
                               const char *system, const char *version)
{
    json_t *entries = json_array();
    const char *base = c && c->base_url ? c->base_url : "";
    size_t i;
    json_t *rel;
    json_array_foreach(json_object_get(releases, "releases"), i, rel) {
        if (!s_code_release(rel, system, version)) {
            continue;
        }
        char id[160], full[1024];
        json_t *cs = s_codesystem(c, rel, id, sizeof id);
        if (!cs) {
            continue;
        }
        snprintf(full, sizeof full, "%s/CodeSystem/%s", base, id);
        json_array_append_new(entries, json_pack("{s:o,s:o,s:{s:s}}", "fullUrl",
                                                 fhir_str(full), "resource", cs, "search",
                                                 "mode", "match"));
    }
    return json_pack("{s:s,s:s,s:I,s:o}", "resourceType", "Bundle", "type", "searchset",
                     "total", (json_int_t)json_array_size(entries), "entry", entries);
}

static int s_releases(const fhir_request_t *r, json_t **reply, fhir_err_t *e)
{
    cs_request_t req;
    cs_request_init(&req);
    req.op = CS_OP_RELEASES;
    return fhir_call(r, &req, reply, e);
}

int fhir_op_terminology(const fhir_request_t *r, json_t **out, fhir_err_t *e)
{
    json_t *rels;
    if (s_releases(r, &rels, e) < 0) {
        return -1;
    }
    *out = fhir_terminology_caps(r->config, rels);
    json_decref(rels);
    return 0;
}

int fhir_op_codesystems(const fhir_request_t *r, const fhir_args_t *a, json_t **out,
                        fhir_err_t *e)
{
    const char *url = NULL, *version = NULL;
    char sys[FHIR_SYSTEM_NAME_MAX] = "";
    if (fhir_arg_str(a, "url", &url, e) < 0 || fhir_arg_str(a, "version", &version, e) < 0) {
        return -1;
    }
    json_t *rels;
    if (s_releases(r, &rels, e) < 0) {
        return -1;
    }
    /* A url no system has matches nothing: an empty searchset, as a search answers. */
    int known = !url || fhir_system_name(r->config, url, sys, sizeof sys);
    *out = fhir_codesystem_bundle(r->config, known ? rels : NULL, url ? sys : NULL, version);
    json_decref(rels);
    return 0;
}

int fhir_op_codesystem_read(const fhir_request_t *r, const char *id, json_t **out,
                            fhir_err_t *e)
{
    json_t *rels;
    if (s_releases(r, &rels, e) < 0) {
        return -1;
    }
    size_t i;
    json_t *rel;
    *out = NULL;
    json_array_foreach(json_object_get(rels, "releases"), i, rel) {
        char rid[80];
        if (!*out && s_code_release(rel, NULL, NULL)) {
            s_id(json_string_value(json_object_get(rel, "system")),
                 json_string_value(json_object_get(rel, "release")), rid, sizeof rid);
            *out = strcmp(rid, id) == 0 ? s_codesystem(r->config, rel, rid, sizeof rid) : NULL;
        }
    }
    json_decref(rels);
    if (!*out) {
        return fhir_fail(e, 404, "not-found", NULL,
                         "no CodeSystem '%.80s' here (ids are {system}-{release}, as "
                         "CodeSystem?url= lists them)", id);
    }
    return 0;
}
