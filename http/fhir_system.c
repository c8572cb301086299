/* fhir_system.c: the FHIR system URIs of the code systems (fhir_system.h). */
#include "fhir_system.h"

#include <stdio.h>
#include <string.h>

typedef struct s_builtin {
    const char *name;  /* system id */
    const char *uri;   /* its URI (issue 16's table) */
    const char *title; /* its name for people */
} s_builtin_t;

static const s_builtin_t s_builtins[] = {
    {"icd10cm", "http://hl7.org/fhir/sid/icd-10-cm", "ICD-10-CM"},
    {"icd10pcs", "http://www.cms.gov/Medicare/Coding/ICD10", "ICD-10-PCS"},
    {"hcpcs", "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets", "HCPCS Level II"},
    {"cpt", "http://www.ama-assn.org/go/cpt", "CPT"},
    {"icd9cm", "http://hl7.org/fhir/sid/icd-9-cm", "ICD-9-CM"},
    {"icd9pcs", NULL, "ICD-9-CM procedures"},
};
#define S_N_BUILTINS (sizeof s_builtins / sizeof s_builtins[0])

static void s_copy(char *out, size_t cap, const char *s)
{
    if (cap) {
        size_t n = strnlen(s, cap - 1);
        memcpy(out, s, n);
        out[n] = '\0';
    }
}

/* The same URI but for http:// against https:// (HCPCS is written both ways). */
static int s_same_uri(const char *a, const char *b)
{
    if (strcmp(a, b) == 0) {
        return 1;
    }
    if (strncmp(a, "https://", 8) == 0 && strncmp(b, "http://", 7) == 0) {
        return strcmp(a + 8, b + 7) == 0;
    }
    if (strncmp(a, "http://", 7) == 0 && strncmp(b, "https://", 8) == 0) {
        return strcmp(a + 7, b + 8) == 0;
    }
    return 0;
}

int fhir_system_name(const fhir_config_t *c, const char *uri, char *name, size_t cap)
{
    s_copy(name, cap, "");
    if (!uri) {
        return 0;
    }
    for (int i = 0; c && i < c->n_extra && i < 16; i++) {
        if (c->extra_uris[i] && c->extra_names[i] && strcmp(c->extra_uris[i], uri) == 0) {
            s_copy(name, cap, c->extra_names[i]);
            return 1;
        }
    }
    for (size_t i = 0; i < S_N_BUILTINS; i++) {
        const s_builtin_t *b = &s_builtins[i];
        if (!b->uri) {
            continue;
        }
        int same = strcmp(b->name, "hcpcs") == 0 ? s_same_uri(uri, b->uri)
                                                 : strcmp(uri, b->uri) == 0;
        if (same) {
            s_copy(name, cap, b->name);
            return 1;
        }
    }
    size_t plen = strlen(FHIR_URN_PREFIX), ulen = strlen(uri);
    if (ulen > plen && ulen - plen < FHIR_SYSTEM_NAME_MAX &&
        strncmp(uri, FHIR_URN_PREFIX, plen) == 0) {
        s_copy(name, cap, uri + plen);
        return 1;
    }
    return 0;
}

const char *fhir_system_uri(const fhir_config_t *c, const char *name, char *buf, size_t cap)
{
    for (int i = 0; c && i < c->n_extra && i < 16; i++) {
        if (c->extra_names[i] && c->extra_uris[i] && strcmp(c->extra_names[i], name) == 0) {
            s_copy(buf, cap, c->extra_uris[i]);
            return buf;
        }
    }
    for (size_t i = 0; i < S_N_BUILTINS; i++) {
        if (s_builtins[i].uri && strcmp(s_builtins[i].name, name) == 0) {
            s_copy(buf, cap, s_builtins[i].uri);
            return buf;
        }
    }
    if (cap) {
        snprintf(buf, cap, "%s%s", FHIR_URN_PREFIX, name);
    }
    return buf;
}

const char *fhir_system_title(const char *name)
{
    for (size_t i = 0; name && i < S_N_BUILTINS; i++) {
        if (strcmp(s_builtins[i].name, name) == 0) {
            return s_builtins[i].title;
        }
    }
    return name ? name : "";
}

int fhir_system_of(const fhir_config_t *c, const char *uri, const char *what,
                   char name[FHIR_SYSTEM_NAME_MAX], fhir_err_t *e)
{
    if (fhir_system_name(c, uri, name, FHIR_SYSTEM_NAME_MAX)) {
        return 1;
    }
    return fhir_fail(e, 404, "not-found", "not-found",
                     "A definition for CodeSystem '%.200s' (%s) could not be found: this "
                     "server knows the systems of its metadata?mode=terminology",
                     uri, what);
}

int fhir_arg_system(const fhir_config_t *c, const fhir_args_t *a, const char *param,
                    char name[FHIR_SYSTEM_NAME_MAX], const char **uri, fhir_err_t *e)
{
    int rc = fhir_arg_str(a, param, uri, e);
    if (rc <= 0) {
        return rc;
    }
    char what[80];
    snprintf(what, sizeof what, "parameter '%s'", param);
    return fhir_system_of(c, *uri, what, name, e);
}

int fhir_vs_system(const fhir_config_t *c, const char *url, char name[FHIR_SYSTEM_NAME_MAX],
                   fhir_err_t *e)
{
    size_t len = strlen(url), sl = strlen(FHIR_VS_SUFFIX);
    char uri[1024];
    if (len <= sl || len - sl >= sizeof uri || strcmp(url + len - sl, FHIR_VS_SUFFIX) != 0) {
        return fhir_fail(e, 404, "not-found", "not-found",
                         "A definition for the value set '%.300s' could not be found: this "
                         "server answers the implicit value set of a whole code system, "
                         "{system uri}?fhir_vs", url);
    }
    memcpy(uri, url, len - sl);
    uri[len - sl] = '\0';
    return fhir_system_of(c, uri, "the value set's url", name, e);
}
