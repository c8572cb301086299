/* cs_fhir.c: what the FHIR XML loaders share (see cs_fhir.h). */
#include "cs_fhir.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cs_bytes.h"

/* FHIR system URI -> codeset system id. */
static const struct {
    const char *uri;
    const char *system;
} s_systems_by_uri[] = {
    {"http://www.ama-assn.org/go/cpt", "cpt"},
    {"http://hl7.org/fhir/sid/icd-10-cm", "icd10cm"},
    {"http://hl7.org/fhir/sid/icd-9-cm", "icd9cm"},
    {"http://www.cms.gov/Medicare/Coding/ICD10", "icd10pcs"},
    {"https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets", "hcpcs"},
    {"http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets", "hcpcs"},
    {"http://snomed.info/sct", "snomedct"},
    {"http://hl7.org/fhir/sid/icd-10", "icd10"},
    {"http://loinc.org", "loinc"},
    {"http://www.nlm.nih.gov/research/umls/rxnorm", "rxnorm"},
    {"http://hl7.org/fhir/sid/ndc", "ndc"},
};

int cs_fhir_buf_add(cs_fhir_buf_t *b, const char *s, size_t n, size_t *at)
{
    if (cs_bytes_reserve(&b->p, &b->cap, b->len, n) != CS_OK) {
        return CS_ENOMEM;
    }
    if (at) {
        *at = b->len;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len++] = '\0';
    return CS_OK;
}

const char *cs_fhir_system_of(const char *uri)
{
    size_t n = strcspn(uri, "|");
    for (size_t i = 0; i < sizeof s_systems_by_uri / sizeof s_systems_by_uri[0]; i++) {
        if (strlen(s_systems_by_uri[i].uri) == n && memcmp(s_systems_by_uri[i].uri, uri, n) == 0) {
            return s_systems_by_uri[i].system;
        }
    }
    return NULL;
}

int cs_fhir_value(cs_xml_t *x, cs_fhir_buf_t *arena, size_t *at)
{
    *at = CS_FHIR_NONE;
    xmlChar *v = xmlTextReaderGetAttribute(x->reader, BAD_CAST "value");
    if (!v) {
        return CS_OK;
    }
    int rc = cs_fhir_buf_add(arena, (const char *)v, strlen((const char *)v), at);
    xmlFree(v);
    return rc == CS_OK ? CS_OK : cs_xml_nomem(x);
}

int cs_fhir_need_value(cs_xml_t *x, cs_fhir_buf_t *arena, const char *what, size_t *at)
{
    int rc = cs_fhir_value(x, arena, at);
    if (rc != CS_OK) {
        return rc;
    }
    if (*at == CS_FHIR_NONE || arena->p[*at] == '\0') {
        return cs_xml_fail(x, CS_EMALFORMED, "<%s> has no value attribute (or an empty one)",
                           what);
    }
    return CS_OK;
}

int cs_fhir_check_code(cs_xml_t *x, const char *c, const char *what)
{
    size_t n = strlen(c);
    char shown[100];
    if (n >= CS_CODE_MAX) {
        return cs_xml_fail(x, CS_EMALFORMED, "%s '%s' is longer than %d characters", what,
                           cs_xml_show(c, n, shown, sizeof shown), CS_CODE_MAX - 1);
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)c[i];
        if (b < 0x20 || b == 0x7f) {
            return cs_xml_fail(x, CS_EMALFORMED, "%s '%s' holds a control character", what,
                               cs_xml_show(c, n, shown, sizeof shown));
        }
    }
    if (cs_xml_is_space(c[0]) || cs_xml_is_space(c[n - 1])) {
        return cs_xml_fail(x, CS_EMALFORMED, "%s '%s' has blanks around it", what,
                           cs_xml_show(c, n, shown, sizeof shown));
    }
    return CS_OK;
}

/* The file's head holds the FHIR namespace and root. */
static int s_looks_like(const char *path, const char *root)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        return 0;
    }
    char buf[CS_XML_SNIFF_MAX];
    size_t got = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    return memmem(buf, got, CS_FHIR_NS, sizeof CS_FHIR_NS - 1) != NULL &&
           memmem(buf, got, root, strlen(root)) != NULL;
}

int cs_fhir_sniff(const char *const *files, size_t n_files, const char *root)
{
    if (!files || n_files < 1) {
        return 0;
    }
    for (size_t i = 0; i < n_files; i++) {
        if (!files[i] || !s_looks_like(files[i], root)) {
            return 0;
        }
    }
    return 1;
}

/* The walk's stack of open elements. */
typedef struct s_walk {
    cs_xml_t *x;                         /* the reader */
    const cs_fhir_walk_ops_t *ops;       /* the loader's handlers */
    void *ctx;                           /* their state */
    uint8_t roles[CS_FHIR_DEPTH_MAX + 1]; /* open elements' roles */
    size_t depth;                        /* number open */
} s_walk_t;

/* One start tag: push its role (run its end at once when it is empty). */
static int s_walk_element(s_walk_t *w)
{
    const char *name = (const char *)xmlTextReaderConstLocalName(w->x->reader);
    const char *ns = (const char *)xmlTextReaderConstNamespaceUri(w->x->reader);
    int empty = xmlTextReaderIsEmptyElement(w->x->reader) == 1;
    int parent = w->depth ? w->roles[w->depth - 1] : CS_FHIR_ROOT;
    uint8_t role = CS_FHIR_SKIP;
    if (!name) {
        return cs_xml_nomem(w->x);
    }
    if (parent == CS_FHIR_ROOT && (!ns || strcmp(ns, CS_FHIR_NS) != 0)) {
        return cs_xml_fail(w->x, CS_EMALFORMED, "the root element <%s> is not in the FHIR "
                           "namespace " CS_FHIR_NS, name);
    }
    if (parent != CS_FHIR_SKIP && ns && strcmp(ns, CS_FHIR_NS) == 0) {
        int rc = w->ops->start(w->ctx, parent, name, &role);
        if (rc != CS_OK) {
            return rc;
        }
    }
    if (empty) {
        return w->ops->end(w->ctx, role);
    }
    if (w->depth == CS_FHIR_DEPTH_MAX) {
        return cs_xml_fail(w->x, CS_EMALFORMED, "elements nest deeper than %d levels",
                           CS_FHIR_DEPTH_MAX);
    }
    w->roles[w->depth++] = role;
    return CS_OK;
}

int cs_fhir_walk(cs_xml_t *x, const cs_fhir_walk_ops_t *ops, void *ctx)
{
    s_walk_t w = {.x = x, .ops = ops, .ctx = ctx, .depth = 0};
    for (;;) {
        int type;
        int rc = cs_xml_next(x, &type);
        if (rc == CS_OK && type == XML_READER_TYPE_NONE) {
            break;
        }
        if (rc == CS_OK && type == XML_READER_TYPE_ELEMENT) {
            rc = s_walk_element(&w);
        } else if (rc == CS_OK && type == XML_READER_TYPE_END_ELEMENT && w.depth > 0) {
            rc = ops->end(ctx, w.roles[--w.depth]);
        }
        if (rc == CS_OK) {
            rc = cs_xml_tick(x);
        }
        if (rc != CS_OK) {
            return rc;
        }
    }
    if (w.depth != 0) {
        return cs_xml_fail(x, CS_EMALFORMED, "the document ends inside an element");
    }
    return CS_OK;
}
