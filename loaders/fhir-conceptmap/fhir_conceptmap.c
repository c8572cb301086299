/* fhir_conceptmap.c: loader plugin "fhir-conceptmap": HL7 FHIR ConceptMap resources in XML
 * (R4 and R5, alone or in a Bundle) into crosswalk rows.
 *
 *     <ConceptMap xmlns="http://hl7.org/fhir">
 *       <id value="cm-icd10cm-icd9cm"/>
 *       <group>
 *         <source value="http://hl7.org/fhir/sid/icd-10-cm"/>      -> from_system "icd10cm"
 *         <target value="http://hl7.org/fhir/sid/icd-9-cm"/>       -> to_system "icd9cm"
 *         <element>
 *           <code value="E11.9"/>                                  -> source
 *           <target>
 *             <code value="250.00"/>                               -> target
 *             <equivalence value="wider"/>                         -> relationship, approximate
 *           </target>
 *         </element>
 *       </group>
 *     </ConceptMap>
 *
 * One row per element target; an element without a target (or with R5 noMap true) is one row
 * with CS_MAP_NO_MAP. Relationship: R4 equivalence or R5 relationship, kept as written;
 * equivalent/equal: exact; unmatched/disjoint/not-related-to: no map (the target code, if any,
 * is dropped: the row says the source has no target); every other known value: approximate;
 * none given: exact (R4 and R5 require one; DSTU2 defaulted to equivalent); unknown: an error.
 * No GEM flags. R4 <unmapped> is ignored: it describes codes that are not listed.
 *
 * Map id: the ConceptMap's <id>, else its <name>; with several groups, "<id>#<n>" for the n-th
 * (1-based) group. Rows of one ConceptMap are kept until it ends, since only then is the number
 * of groups known; ids must be unique over the load.
 *
 * System URIs map to codeset system ids through s_systems_by_uri[]; a "|version" suffix is
 * dropped; an unknown URI fails the load naming it. The XML is streamed with xmlTextReader
 * opened with XML_PARSE_NONET only (no DTD loading, no entity substitution); a DOCTYPE or an
 * entity reference fails the load. Elements outside the FHIR namespace (narrative XHTML) and
 * FHIR elements the loader does not use (extensions, display, comment ...) are skipped.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlreader.h>

#include "codeset/cs_plugin.h"

#if LIBXML_VERSION < 20904
#error "fhir-conceptmap needs libxml2 2.9.4 or later"
#endif

#define S_FHIR_NS "http://hl7.org/fhir"
#define S_SNIFF_MAX 4096    /* bytes sniff() peeks at */
#define S_DEPTH_MAX 64      /* deepest element accepted */
#define S_TICK 4096         /* nodes or rows between progress reports and cancel checks */
#define S_NONE ((size_t)-1) /* "no string" arena offset */
#define S_ID_MAX 255        /* longest ConceptMap id or name */
#define S_MAP_ID_MAX 300    /* id, '#', group number */

/* FHIR system URI -> codeset system id. */
static const struct {
    const char *uri;
    const char *system;
} s_systems_by_uri[] = {
    {"http://hl7.org/fhir/sid/icd-10-cm", "icd10cm"},
    {"http://hl7.org/fhir/sid/icd-9-cm", "icd9cm"},
    {"http://www.cms.gov/Medicare/Coding/ICD10", "icd10pcs"},
    {"http://www.ama-assn.org/go/cpt", "cpt"},
    {"https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets", "hcpcs"},
    {"http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets", "hcpcs"},
    {"http://snomed.info/sct", "snomedct"},
    {"http://hl7.org/fhir/sid/icd-10", "icd10"},
    {"http://loinc.org", "loinc"},
    {"http://www.nlm.nih.gov/research/umls/rxnorm", "rxnorm"},
    {"http://hl7.org/fhir/sid/ndc", "ndc"},
};

/* Relationship (R4 equivalence, R5 relationship) -> row flags. */
static const struct {
    const char *name;
    uint32_t flags;
} s_relationships[] = {
    {"equivalent", 0},
    {"equal", 0},
    {"relatedto", CS_MAP_APPROXIMATE},
    {"related-to", CS_MAP_APPROXIMATE},
    {"wider", CS_MAP_APPROXIMATE},
    {"subsumes", CS_MAP_APPROXIMATE},
    {"narrower", CS_MAP_APPROXIMATE},
    {"specializes", CS_MAP_APPROXIMATE},
    {"inexact", CS_MAP_APPROXIMATE},
    {"source-is-narrower-than-target", CS_MAP_APPROXIMATE},
    {"source-is-broader-than-target", CS_MAP_APPROXIMATE},
    {"unmatched", CS_MAP_NO_MAP},
    {"disjoint", CS_MAP_NO_MAP},
    {"not-related-to", CS_MAP_NO_MAP},
};

/* What an open element is to the loader. */
enum s_role {
    S_R_SKIP,     /* an element whose subtree is ignored */
    S_R_BUNDLE,   /* <Bundle> */
    S_R_ENTRY,    /* <Bundle><entry> */
    S_R_RESOURCE, /* <entry><resource> */
    S_R_CM,       /* <ConceptMap> */
    S_R_GROUP,    /* <group> */
    S_R_ELEMENT,  /* <group><element> */
    S_R_TARGET,   /* <element><target> */
};

/* One buffered row; strings are arena offsets. */
typedef struct s_row {
    uint32_t group;      /* index into groups */
    uint32_t flags;      /* enum cs_map_flag */
    size_t source;       /* arena offset */
    size_t target;       /* arena offset, or S_NONE */
    size_t relationship; /* arena offset, or S_NONE */
} s_row_t;

/* One group of the open ConceptMap. */
typedef struct s_group {
    const char *from; /* system id of <source>, or NULL before it */
    const char *to;   /* system id of <target>, or NULL before it */
    unsigned line;    /* line of <group> */
} s_group_t;

/* A growable byte buffer. */
typedef struct s_buf {
    char *p;    /* bytes */
    size_t len; /* used */
    size_t cap; /* allocated */
} s_buf_t;

/* The state of one load(). */
typedef struct s_load {
    const cs_host_api_t *host; /* borrowed for the call */
    cs_sink_t *sink;           /* borrowed for the call */
    cs_error_t *err;           /* caller's error record */
    int has_progress;          /* host->progress is there */
    int has_cancelled;         /* host->cancelled is there */
    const char *path;          /* current file */
    const char *base;          /* its base name, for messages */
    xmlTextReaderPtr reader;   /* the current file's reader */
    int xml_failed;            /* libxml2 reported an error (xml_msg, xml_line, xml_col) */
    char xml_msg[200];         /* libxml2's first error message */
    unsigned xml_line;         /* its line */
    unsigned xml_col;          /* its column */
    uint64_t done_before;      /* bytes of the files before the current one */
    uint64_t nodes;            /* XML nodes read, for the tick */
    uint8_t roles[S_DEPTH_MAX + 1]; /* open elements, enum s_role */
    size_t depth;              /* number of open elements */
    int saw_cm;                /* the current file held a ConceptMap */
    unsigned root_line;        /* line of the current file's root element */
    /* the open ConceptMap */
    s_buf_t arena;             /* its strings */
    size_t cm_id;              /* <id> value, or S_NONE */
    size_t cm_name;            /* <name> value, or S_NONE */
    unsigned cm_line;          /* line of <ConceptMap> */
    s_group_t *groups;         /* its groups */
    size_t n_groups;           /* used */
    size_t cap_groups;         /* allocated */
    s_row_t *rows;             /* its rows */
    size_t n_rows;             /* used */
    size_t cap_rows;           /* allocated */
    /* the open element and target */
    size_t el_code;            /* <element><code>, or S_NONE */
    unsigned el_line;          /* line of <element> */
    size_t el_targets;         /* targets seen in it */
    int el_no_map;             /* R5 <noMap value="true"/> */
    size_t tg_code;            /* <target><code>, or S_NONE */
    size_t tg_rel;             /* <equivalence> or <relationship>, or S_NONE */
    unsigned tg_line;          /* line of <target> */
    /* over the whole load */
    s_buf_t ids;               /* map ids seen: "id\0file:line\0" pairs */
    uint64_t rows_emitted;     /* rows handed to emit_map */
} s_load_t;

/* ---- small helpers -------------------------------------------------------------------- */

static const char *s_base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static int s_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Copy in[0..n) into out as printable ASCII, escaping other bytes as \xNN; cut at 60. */
static const char *s_show(const char *in, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && i < 60 && o + 5 < cap; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            out[o++] = (char)c;
        } else {
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
        }
    }
    if (n > 60 && o + 4 < cap) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o < cap ? o : cap - 1] = '\0';
    return out;
}

static int s_buf_add(s_buf_t *b, const char *s, size_t n, size_t *at)
{
    if (b->cap - b->len <= n) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->len <= n) {
            if (cap > SIZE_MAX / 2) {
                return CS_ENOMEM;
            }
            cap *= 2;
        }
        char *p = realloc(b->p, cap);
        if (!p) {
            return CS_ENOMEM;
        }
        b->p = p;
        b->cap = cap;
    }
    if (at) {
        *at = b->len;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len++] = '\0';
    return CS_OK;
}

static const char *s_str(const s_load_t *ld, size_t at)
{
    return at == S_NONE ? NULL : ld->arena.p + at;
}

static const char *s_system_of(const char *uri)
{
    size_t n = strcspn(uri, "|");
    for (size_t i = 0; i < sizeof s_systems_by_uri / sizeof s_systems_by_uri[0]; i++) {
        if (strlen(s_systems_by_uri[i].uri) == n && memcmp(s_systems_by_uri[i].uri, uri, n) == 0) {
            return s_systems_by_uri[i].system;
        }
    }
    return NULL;
}

/* ---- errors ----------------------------------------------------------------------------- */

static int s_fail_at(s_load_t *ld, int code, unsigned line, unsigned column, const char *fmt,
                     ...) __attribute__((format(printf, 5, 6)));
static int s_fail_at(s_load_t *ld, int code, unsigned line, unsigned column, const char *fmt,
                     ...)
{
    cs_error_at(ld->err, ld->base, line, column);
    if (ld->err) {
        va_list ap;
        va_start(ap, fmt);
        ld->err->code = code;
        vsnprintf(ld->err->msg, sizeof ld->err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* Line of the reader's current node: the node's own where libxml2 knows it, else the
 * parser's (with its column). */
static unsigned s_line(s_load_t *ld, unsigned *column)
{
    int pline = xmlTextReaderGetParserLineNumber(ld->reader);
    int pcol = xmlTextReaderGetParserColumnNumber(ld->reader);
    xmlNodePtr node = xmlTextReaderCurrentNode(ld->reader);
    long nline = node ? xmlGetLineNo(node) : -1;
    if (nline > 0 && nline < 65535 && nline != pline) {
        if (column) {
            *column = 0;
        }
        return (unsigned)nline;
    }
    if (column) {
        *column = pcol > 0 ? (unsigned)pcol : 0;
    }
    return pline > 0 ? (unsigned)pline : 0;
}

static int s_xml_fail(s_load_t *ld, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int s_xml_fail(s_load_t *ld, int code, const char *fmt, ...)
{
    unsigned column;
    unsigned line = s_line(ld, &column);
    cs_error_at(ld->err, ld->base, line, column);
    if (ld->err) {
        va_list ap;
        va_start(ap, fmt);
        ld->err->code = code;
        vsnprintf(ld->err->msg, sizeof ld->err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

static int s_nomem(s_load_t *ld)
{
    return s_xml_fail(ld, CS_ENOMEM, "out of memory");
}

/* libxml2's structured error callback: keep the first error, never print. */
static void s_on_xml_error(void *arg, xmlErrorPtr e)
{
    s_load_t *ld = arg;
    if (!e || e->level < XML_ERR_ERROR || ld->xml_failed) {
        return;
    }
    ld->xml_failed = 1;
    ld->xml_line = e->line > 0 ? (unsigned)e->line : 0;
    ld->xml_col = e->int2 > 0 ? (unsigned)e->int2 : 0;
    const char *m = e->message ? e->message : "unknown libxml2 error";
    size_t n = strlen(m);
    while (n > 0 && s_is_space(m[n - 1])) {
        n--;
    }
    char shown[sizeof ld->xml_msg];
    s_show(m, n, shown, sizeof shown);
    snprintf(ld->xml_msg, sizeof ld->xml_msg, "%s", shown);
}

/* Refuse a DOCTYPE, positioned at its "<!DOCTYPE" when that is in the file's head. With
 * if_any, only if there is one there (else CS_OK): libxml2 reads ahead, so an entity error
 * (an external entity, an expansion loop) can come before the reader shows the DOCTYPE node,
 * and the DOCTYPE is the cause worth naming. */
static int s_doctype_fail(s_load_t *ld, int if_any)
{
    static const char msg[] =
        "a DOCTYPE is not allowed: external entities and entity declarations are refused";
    char buf[S_SNIFF_MAX * 4];
    FILE *fp = fopen(ld->path, "rb");
    size_t got = 0;
    if (fp) {
        got = fread(buf, 1, sizeof buf, fp);
        fclose(fp);
    }
    const char *at = memmem(buf, got, "<!DOCTYPE", 9);
    if (!at) {
        return if_any ? CS_OK : s_xml_fail(ld, CS_EMALFORMED, "%s", msg);
    }
    unsigned line = 1;
    const char *bol = buf;
    for (const char *p = buf; p < at; p++) {
        if (*p == '\n') {
            line++;
            bol = p + 1;
        }
    }
    return s_fail_at(ld, CS_EMALFORMED, line, (unsigned)(at - bol) + 1, "%s", msg);
}

/* ---- values ----------------------------------------------------------------------------- */

/* The current element's value attribute into the arena (*at), or S_NONE if it has none. */
static int s_value(s_load_t *ld, size_t *at)
{
    *at = S_NONE;
    xmlChar *v = xmlTextReaderGetAttribute(ld->reader, BAD_CAST "value");
    if (!v) {
        return CS_OK;
    }
    int rc = s_buf_add(&ld->arena, (const char *)v, strlen((const char *)v), at);
    xmlFree(v);
    return rc == CS_OK ? CS_OK : s_nomem(ld);
}

/* A primitive element's value, required: fails naming the element when it has none. */
static int s_need_value(s_load_t *ld, const char *what, size_t *at)
{
    int rc = s_value(ld, at);
    if (rc != CS_OK) {
        return rc;
    }
    if (*at == S_NONE || ld->arena.p[*at] == '\0') {
        return s_xml_fail(ld, CS_EMALFORMED, "<%s> has no value attribute (or an empty one)",
                          what);
    }
    return CS_OK;
}

/* A code as a map row carries it: 1..CS_CODE_MAX-1 bytes, no control characters, no blanks
 * around it. */
static int s_check_code(s_load_t *ld, size_t at, const char *what)
{
    const char *c = s_str(ld, at);
    size_t n = strlen(c);
    char shown[100];
    if (n >= CS_CODE_MAX) {
        return s_xml_fail(ld, CS_EMALFORMED, "%s '%s' is longer than %d characters", what,
                          s_show(c, n, shown, sizeof shown), CS_CODE_MAX - 1);
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char b = (unsigned char)c[i];
        if (b < 0x20 || b == 0x7f) {
            return s_xml_fail(ld, CS_EMALFORMED, "%s '%s' holds a control character", what,
                              s_show(c, n, shown, sizeof shown));
        }
    }
    if (s_is_space(c[0]) || s_is_space(c[n - 1])) {
        return s_xml_fail(ld, CS_EMALFORMED, "%s '%s' has blanks around it", what,
                          s_show(c, n, shown, sizeof shown));
    }
    return CS_OK;
}

/* ---- the ConceptMap ------------------------------------------------------------------- */

static void s_cm_reset(s_load_t *ld)
{
    ld->arena.len = 0;
    ld->cm_id = S_NONE;
    ld->cm_name = S_NONE;
    ld->n_groups = 0;
    ld->n_rows = 0;
}

static int s_push_row(s_load_t *ld, size_t source, size_t target, size_t rel, uint32_t flags)
{
    if (ld->n_rows == ld->cap_rows) {
        size_t cap = ld->cap_rows ? ld->cap_rows * 2 : 256;
        s_row_t *p = realloc(ld->rows, cap * sizeof *p);
        if (!p) {
            return s_nomem(ld);
        }
        ld->rows = p;
        ld->cap_rows = cap;
    }
    ld->rows[ld->n_rows++] = (s_row_t){
        .group = (uint32_t)(ld->n_groups - 1),
        .flags = flags,
        .source = source,
        .target = target,
        .relationship = rel,
    };
    return CS_OK;
}

static int s_tick(s_load_t *ld)
{
    if (ld->has_progress) {
        long consumed = xmlTextReaderByteConsumed(ld->reader);
        ld->host->progress(ld->sink, ld->done_before + (consumed > 0 ? (uint64_t)consumed : 0));
    }
    if (ld->has_cancelled && ld->host->cancelled(ld->sink)) {
        return s_xml_fail(ld, CS_ETERM, "load cancelled");
    }
    return CS_OK;
}

/* The map id is unique over the load: remember it with where it came from. */
static int s_claim_id(s_load_t *ld, const char *id)
{
    for (size_t at = 0; at < ld->ids.len;) {
        const char *seen = ld->ids.p + at;
        const char *where = seen + strlen(seen) + 1;
        if (strcmp(seen, id) == 0) {
            return s_fail_at(ld, CS_EMALFORMED, ld->cm_line, 0,
                             "map id '%s' is used by two ConceptMaps (the other at %s)", id,
                             where);
        }
        at = (size_t)(where - ld->ids.p) + strlen(where) + 1;
    }
    char where[180];
    snprintf(where, sizeof where, "%s:%u", ld->base, ld->cm_line);
    if (s_buf_add(&ld->ids, id, strlen(id), NULL) != CS_OK ||
        s_buf_add(&ld->ids, where, strlen(where), NULL) != CS_OK) {
        return s_nomem(ld);
    }
    return CS_OK;
}

/* </ConceptMap>: name the maps and emit the buffered rows. */
static int s_cm_end(s_load_t *ld)
{
    size_t id_at = ld->cm_id != S_NONE ? ld->cm_id : ld->cm_name;
    if (id_at == S_NONE) {
        return s_fail_at(ld, CS_EMALFORMED, ld->cm_line, 0,
                         "the ConceptMap has neither <id> nor <name>: one names its map");
    }
    const char *base_id = s_str(ld, id_at);
    size_t n = strlen(base_id);
    char shown[100];
    if (n == 0 || n > S_ID_MAX) {
        return s_fail_at(ld, CS_EMALFORMED, ld->cm_line, 0,
                         "the ConceptMap's %s '%s' is empty or longer than %d characters",
                         id_at == ld->cm_id ? "id" : "name", s_show(base_id, n, shown,
                                                                     sizeof shown),
                         S_ID_MAX);
    }
    for (size_t g = 0; g < ld->n_groups; g++) {
        char id[S_MAP_ID_MAX];
        if (ld->n_groups == 1) {
            snprintf(id, sizeof id, "%s", base_id);
        } else {
            snprintf(id, sizeof id, "%s#%zu", base_id, g + 1);
        }
        int rc = s_claim_id(ld, id);
        if (rc != CS_OK) {
            return rc;
        }
    }
    size_t cur_group = SIZE_MAX;
    char map[S_MAP_ID_MAX];
    for (size_t i = 0; i < ld->n_rows; i++) {
        const s_row_t *r = &ld->rows[i];
        if (r->group != cur_group) {
            cur_group = r->group;
            if (ld->n_groups == 1) {
                snprintf(map, sizeof map, "%s", base_id);
            } else {
                snprintf(map, sizeof map, "%s#%zu", base_id, cur_group + 1);
            }
        }
        const s_group_t *g = &ld->groups[r->group];
        cs_map_row_t row = {
            .struct_size = sizeof(cs_map_row_t),
            .map = map,
            .from_system = g->from,
            .to_system = g->to,
            .source = s_str(ld, r->source),
            .target = s_str(ld, r->target),
            .flags = r->flags,
            .scenario = 0,
            .choice = 0,
            .relationship = s_str(ld, r->relationship),
        };
        int rc = ld->host->emit_map(ld->sink, &row, ld->err);
        if (rc != CS_OK) {
            return rc;
        }
        ld->rows_emitted++;
        if (ld->rows_emitted % S_TICK == 0 && (rc = s_tick(ld)) != CS_OK) {
            return rc;
        }
    }
    s_cm_reset(ld);
    return CS_OK;
}

/* </target> of an element: one row. */
static int s_target_end(s_load_t *ld)
{
    uint32_t flags = 0;
    const char *rel = s_str(ld, ld->tg_rel);
    if (rel) {
        size_t k = 0;
        size_t n = sizeof s_relationships / sizeof s_relationships[0];
        while (k < n && strcmp(s_relationships[k].name, rel) != 0) {
            k++;
        }
        if (k == n) {
            char shown[100];
            return s_fail_at(ld, CS_EMALFORMED, ld->tg_line, 0,
                             "unknown equivalence/relationship '%s' (R4: equivalent, wider, "
                             "narrower, inexact, unmatched ...; R5: source-is-narrower-than-"
                             "target ...)",
                             s_show(rel, strlen(rel), shown, sizeof shown));
        }
        flags = s_relationships[k].flags;
    }
    size_t target = ld->tg_code;
    if (flags & CS_MAP_NO_MAP) {
        target = S_NONE;
    } else if (target == S_NONE) {
        return s_fail_at(ld, CS_EMALFORMED, ld->tg_line, 0,
                         "a <target> without a <code> (its equivalence is '%s', not unmatched "
                         "or disjoint)",
                         rel ? rel : "not given");
    }
    ld->el_targets++;
    return s_push_row(ld, ld->el_code, target, ld->tg_rel, flags);
}

/* </element>: a row with no target when it had none. */
static int s_element_end(s_load_t *ld)
{
    if (ld->el_code == S_NONE) {
        return s_fail_at(ld, CS_EMALFORMED, ld->el_line, 0,
                         "a ConceptMap <element> without a <code>");
    }
    if (ld->el_no_map && ld->el_targets > 0) {
        return s_fail_at(ld, CS_EMALFORMED, ld->el_line, 0,
                         "<element> '%s' says noMap but has %zu target(s)",
                         s_str(ld, ld->el_code), ld->el_targets);
    }
    if (ld->el_targets == 0) {
        return s_push_row(ld, ld->el_code, S_NONE, S_NONE, CS_MAP_NO_MAP);
    }
    return CS_OK;
}

static int s_group_end(s_load_t *ld)
{
    const s_group_t *g = &ld->groups[ld->n_groups - 1];
    if (!g->from || !g->to) {
        return s_fail_at(ld, CS_EMALFORMED, g->line, 0,
                         "a <group> without a <%s> system URI: the rows would have no %s "
                         "system",
                         g->from ? "target" : "source", g->from ? "target" : "source");
    }
    return CS_OK;
}

/* A <source> or <target> of a group: the system's URI, mapped to a system id. */
static int s_group_system(s_load_t *ld, const char **out, const char *what)
{
    size_t at;
    int rc = s_need_value(ld, what, &at);
    if (rc != CS_OK) {
        return rc;
    }
    const char *uri = s_str(ld, at);
    *out = s_system_of(uri);
    if (!*out) {
        char shown[100];
        return s_xml_fail(ld, CS_EMALFORMED,
                          "group %s system '%s' is not one codeset knows (icd-10-cm, icd-9-cm, "
                          "cpt, ICD10 (PCS), HCPCS, snomed ...)",
                          what, s_show(uri, strlen(uri), shown, sizeof shown));
    }
    return CS_OK;
}

/* An element starts below a parent of role parent; returns the role to push. */
static int s_start(s_load_t *ld, int parent, const char *name, uint8_t *role)
{
    *role = S_R_SKIP;
    int rc = CS_OK;
    switch (parent) {
    case -1:
        ld->root_line = s_line(ld, NULL);
        if (strcmp(name, "Bundle") == 0) {
            *role = S_R_BUNDLE;
        } else if (strcmp(name, "ConceptMap") == 0) {
            *role = S_R_CM;
        } else {
            return s_xml_fail(ld, CS_EMALFORMED,
                              "the root element is <%s>, expected <ConceptMap> or <Bundle>",
                              name);
        }
        break;
    case S_R_BUNDLE:
        if (strcmp(name, "entry") == 0) {
            *role = S_R_ENTRY;
        }
        break;
    case S_R_ENTRY:
        if (strcmp(name, "resource") == 0) {
            *role = S_R_RESOURCE;
        }
        break;
    case S_R_RESOURCE:
        if (strcmp(name, "ConceptMap") == 0) {
            *role = S_R_CM;
        }
        break;
    case S_R_CM:
        if (strcmp(name, "id") == 0) {
            rc = s_value(ld, &ld->cm_id);
        } else if (strcmp(name, "name") == 0) {
            rc = s_value(ld, &ld->cm_name);
        } else if (strcmp(name, "group") == 0) {
            if (ld->n_groups == ld->cap_groups) {
                size_t cap = ld->cap_groups ? ld->cap_groups * 2 : 8;
                s_group_t *p = realloc(ld->groups, cap * sizeof *p);
                if (!p) {
                    return s_nomem(ld);
                }
                ld->groups = p;
                ld->cap_groups = cap;
            }
            ld->groups[ld->n_groups++] = (s_group_t){.line = s_line(ld, NULL)};
            *role = S_R_GROUP;
        }
        break;
    case S_R_GROUP: {
        s_group_t *g = &ld->groups[ld->n_groups - 1];
        if (strcmp(name, "source") == 0) {
            rc = s_group_system(ld, &g->from, "source");
        } else if (strcmp(name, "target") == 0) {
            rc = s_group_system(ld, &g->to, "target");
        } else if (strcmp(name, "element") == 0) {
            if (!g->from || !g->to) {
                return s_xml_fail(ld, CS_EMALFORMED,
                                  "an <element> before its group's <source> and <target>");
            }
            ld->el_code = S_NONE;
            ld->el_line = s_line(ld, NULL);
            ld->el_targets = 0;
            ld->el_no_map = 0;
            *role = S_R_ELEMENT;
        }
        break;
    }
    case S_R_ELEMENT:
        if (strcmp(name, "code") == 0) {
            rc = s_need_value(ld, "code", &ld->el_code);
            if (rc == CS_OK) {
                rc = s_check_code(ld, ld->el_code, "source code");
            }
        } else if (strcmp(name, "noMap") == 0) {
            size_t at;
            rc = s_need_value(ld, "noMap", &at);
            if (rc == CS_OK) {
                const char *v = s_str(ld, at);
                if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0) {
                    return s_xml_fail(ld, CS_EMALFORMED, "noMap is '%s', expected true or false",
                                      v);
                }
                ld->el_no_map = strcmp(v, "true") == 0;
            }
        } else if (strcmp(name, "target") == 0) {
            if (ld->el_code == S_NONE) {
                return s_fail_at(ld, CS_EMALFORMED, ld->el_line, 0,
                                 "a ConceptMap <element> without a <code> (before its "
                                 "<target>)");
            }
            ld->tg_code = S_NONE;
            ld->tg_rel = S_NONE;
            ld->tg_line = s_line(ld, NULL);
            *role = S_R_TARGET;
        }
        break;
    case S_R_TARGET:
        if (strcmp(name, "code") == 0) {
            rc = s_need_value(ld, "code", &ld->tg_code);
            if (rc == CS_OK) {
                rc = s_check_code(ld, ld->tg_code, "target code");
            }
        } else if (strcmp(name, "equivalence") == 0 || strcmp(name, "relationship") == 0) {
            rc = s_need_value(ld, name, &ld->tg_rel);
        }
        break;
    default:
        break;
    }
    if (rc == CS_OK && *role == S_R_CM) {
        s_cm_reset(ld);
        ld->cm_line = s_line(ld, NULL);
        ld->saw_cm = 1;
    }
    return rc;
}

static int s_end(s_load_t *ld, int role)
{
    switch (role) {
    case S_R_CM:
        return s_cm_end(ld);
    case S_R_GROUP:
        return s_group_end(ld);
    case S_R_ELEMENT:
        return s_element_end(ld);
    case S_R_TARGET:
        return s_target_end(ld);
    default:
        return CS_OK;
    }
}

/* One start tag: push its role (run its end at once when it is empty). */
static int s_on_element(s_load_t *ld)
{
    const char *name = (const char *)xmlTextReaderConstLocalName(ld->reader);
    const char *ns = (const char *)xmlTextReaderConstNamespaceUri(ld->reader);
    int empty = xmlTextReaderIsEmptyElement(ld->reader) == 1;
    int parent = ld->depth ? ld->roles[ld->depth - 1] : -1;
    uint8_t role = S_R_SKIP;
    if (!name) {
        return s_nomem(ld);
    }
    if (parent == -1 && (!ns || strcmp(ns, S_FHIR_NS) != 0)) {
        return s_xml_fail(ld, CS_EMALFORMED, "the root element <%s> is not in the FHIR "
                          "namespace " S_FHIR_NS, name);
    }
    if (parent != S_R_SKIP && ns && strcmp(ns, S_FHIR_NS) == 0) {
        int rc = s_start(ld, parent, name, &role);
        if (rc != CS_OK) {
            return rc;
        }
    }
    if (empty) {
        return s_end(ld, role);
    }
    if (ld->depth == S_DEPTH_MAX) {
        return s_xml_fail(ld, CS_EMALFORMED, "elements nest deeper than %d levels", S_DEPTH_MAX);
    }
    ld->roles[ld->depth++] = role;
    return CS_OK;
}

static int s_stream(s_load_t *ld)
{
    for (;;) {
        int r = xmlTextReaderRead(ld->reader);
        if (r < 0 || ld->xml_failed) {
            if (ld->xml_failed) {
                int rc = s_doctype_fail(ld, 1);
                if (rc != CS_OK) {
                    return rc;
                }
                return s_fail_at(ld, CS_EMALFORMED, ld->xml_line, ld->xml_col, "%s",
                                 ld->xml_msg);
            }
            return s_xml_fail(ld, CS_EMALFORMED, "the XML parser failed");
        }
        if (r == 0) {
            break;
        }
        int rc = CS_OK;
        switch (xmlTextReaderNodeType(ld->reader)) {
        case XML_READER_TYPE_ELEMENT:
            rc = s_on_element(ld);
            break;
        case XML_READER_TYPE_END_ELEMENT:
            if (ld->depth > 0) {
                rc = s_end(ld, ld->roles[--ld->depth]);
            }
            break;
        case XML_READER_TYPE_DOCUMENT_TYPE:
            rc = s_doctype_fail(ld, 0);
            break;
        case XML_READER_TYPE_ENTITY_REFERENCE:
        case XML_READER_TYPE_ENTITY:
            rc = s_xml_fail(ld, CS_EMALFORMED,
                            "entity references are not allowed (external entities, entity "
                            "expansion)");
            break;
        default:
            break;
        }
        if (rc == CS_OK && ++ld->nodes % S_TICK == 0) {
            rc = s_tick(ld);
        }
        if (rc != CS_OK) {
            return rc;
        }
    }
    if (ld->depth != 0) {
        return s_xml_fail(ld, CS_EMALFORMED, "the document ends inside an element");
    }
    if (!ld->saw_cm) {
        return s_fail_at(ld, CS_EMALFORMED, ld->root_line, 0,
                         ld->root_line ? "the Bundle holds no ConceptMap"
                                       : "the file holds no XML element");
    }
    return CS_OK;
}

/* ---- sniff and load ------------------------------------------------------------------- */

/* A FHIR ConceptMap, or a Bundle with one in its first S_SNIFF_MAX bytes. */
static int s_looks_like(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        return 0;
    }
    char buf[S_SNIFF_MAX];
    size_t got = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    return memmem(buf, got, S_FHIR_NS, sizeof S_FHIR_NS - 1) != NULL &&
           memmem(buf, got, "<ConceptMap", 11) != NULL;
}

static int s_sniff(const char *const *files, size_t n_files)
{
    if (!files || n_files < 1) {
        return 0;
    }
    for (size_t i = 0; i < n_files; i++) {
        if (!files[i] || !s_looks_like(files[i])) {
            return 0;
        }
    }
    return 1;
}

#define S_HAS(host, field)                                                                  \
    ((host)->struct_size >= offsetof(cs_host_api_t, field) + sizeof((host)->field) &&       \
     (host)->field != NULL)

/* Stream one file. */
static int s_load_file(s_load_t *ld, const char *path)
{
    ld->path = path;
    ld->base = s_base_name(path);
    ld->depth = 0;
    ld->saw_cm = 0;
    ld->root_line = 0;
    ld->xml_failed = 0;
    s_cm_reset(ld);
    FILE *probe = fopen(path, "rb");
    if (!probe) {
        return s_fail_at(ld, CS_EIO, 0, 0, "cannot open %s: %s", path, strerror(errno));
    }
    fseek(probe, 0, SEEK_END);
    long size = ftell(probe);
    fclose(probe);
    ld->reader = xmlReaderForFile(path, NULL, XML_PARSE_NONET);
    if (!ld->reader) {
        return s_fail_at(ld, CS_EIO, 0, 0, "libxml2 cannot open %s", path);
    }
    xmlTextReaderSetStructuredErrorHandler(ld->reader, s_on_xml_error, ld);
    int rc = s_stream(ld);
    xmlFreeTextReader(ld->reader);
    ld->reader = NULL;
    if (rc == CS_OK) {
        ld->done_before += size > 0 ? (uint64_t)size : 0;
        if (ld->has_progress) {
            ld->host->progress(ld->sink, ld->done_before);
        }
    }
    return rc;
}

static int s_load(const cs_host_api_t *host, cs_sink_t *sink, const char *const *files,
                  size_t n_files, cs_error_t *err)
{
    if (!host || !files || !CS_HOST_HAS(host, emit_map)) {
        return cs_error_set(err, CS_EINVAL,
                            "fhir-conceptmap: no host table, no files, or a host without "
                            "emit_map");
    }
    if (n_files < 1) {
        return cs_error_set(err, CS_EINVAL, "fhir-conceptmap takes one or more files, got 0");
    }
    for (size_t i = 0; i < n_files; i++) {
        if (!files[i]) {
            return cs_error_set(err, CS_EINVAL, "fhir-conceptmap: file %zu is NULL", i + 1);
        }
    }
    s_load_t *ld = calloc(1, sizeof *ld);
    if (!ld) {
        return cs_error_set(err, CS_ENOMEM, "fhir-conceptmap: out of memory");
    }
    ld->host = host;
    ld->sink = sink;
    ld->err = err;
    ld->has_progress = S_HAS(host, progress);
    ld->has_cancelled = S_HAS(host, cancelled);
    xmlInitParser();
    int rc = CS_OK;
    for (size_t i = 0; i < n_files && rc == CS_OK; i++) {
        rc = s_load_file(ld, files[i]);
    }
    if (rc == CS_OK && ld->rows_emitted == 0) {
        rc = s_fail_at(ld, CS_EMALFORMED, ld->cm_line, 0, "the ConceptMap holds no <element>");
    }
    free(ld->arena.p);
    free(ld->ids.p);
    free(ld->groups);
    free(ld->rows);
    free(ld);
    return rc;
}

static const char *const s_systems[] = {"conceptmap", NULL};

static const cs_loader_ops_t s_ops = {
    .systems = s_systems,
    .sniff = s_sniff,
    .load = s_load,
    .flags = CS_LOADER_MAPS | CS_LOADER_ANY_SYSTEM,
};

CS_PLUGIN_EXPORT const cs_plugin_desc_t cs_plugin_fhir_conceptmap = {
    CS_PLUGIN_HEADER,
    .kind = CS_PLUGIN_LOADER,
    .name = "fhir-conceptmap",
    .version = "1.0.0",
    .title = "HL7 FHIR ConceptMap resources (R4, R5; XML, alone or in a Bundle)",
    .system = NULL,
    .loader = &s_ops,
};
