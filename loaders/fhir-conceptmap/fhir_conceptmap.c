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

#include "../common/cs_fhir.h"
#include "../common/cs_xml.h"
#include "codeset/cs_plugin.h"

#define S_NONE CS_FHIR_NONE /* "no string" arena offset */
#define S_ID_MAX 255        /* longest ConceptMap id or name */
#define S_MAP_ID_MAX 300    /* id, '#', group number */

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
    S_R_SKIP = CS_FHIR_SKIP, /* an element whose subtree is ignored */
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

/* The state of one load(). */
typedef struct s_load {
    cs_xml_t x;                /* the reader, progress, and where errors go */
    int saw_cm;                /* the current file held a ConceptMap */
    unsigned root_line;        /* line of the current file's root element */
    /* the open ConceptMap */
    cs_fhir_buf_t arena;       /* its strings */
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
    cs_fhir_buf_t ids;         /* map ids seen: "id\0file:line\0" pairs */
    uint64_t rows_emitted;     /* rows handed to emit_map */
} s_load_t;

/* ---- small helpers -------------------------------------------------------------------- */

static const char *s_str(const s_load_t *ld, size_t at)
{
    return cs_fhir_str(&ld->arena, at);
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
            return cs_xml_nomem(&ld->x);
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

/* The map id is unique over the load: remember it with where it came from. */
static int s_claim_id(s_load_t *ld, const char *id)
{
    for (size_t at = 0; at < ld->ids.len;) {
        const char *seen = ld->ids.p + at;
        const char *where = seen + strlen(seen) + 1;
        if (strcmp(seen, id) == 0) {
            return cs_xml_fail_at(&ld->x, CS_EMALFORMED, ld->cm_line, 0,
                                  "map id '%s' is used by two ConceptMaps (the other at %s)", id,
                                  where);
        }
        at = (size_t)(where - ld->ids.p) + strlen(where) + 1;
    }
    char where[180];
    snprintf(where, sizeof where, "%s:%u", ld->x.base, ld->cm_line);
    if (cs_fhir_buf_add(&ld->ids, id, strlen(id), NULL) != CS_OK ||
        cs_fhir_buf_add(&ld->ids, where, strlen(where), NULL) != CS_OK) {
        return cs_xml_nomem(&ld->x);
    }
    return CS_OK;
}

/* </ConceptMap>: name the maps and emit the buffered rows. */
static int s_cm_end(s_load_t *ld)
{
    size_t id_at = ld->cm_id != S_NONE ? ld->cm_id : ld->cm_name;
    if (id_at == S_NONE) {
        return cs_xml_fail_at(&ld->x, CS_EMALFORMED, ld->cm_line, 0,
                              "the ConceptMap has neither <id> nor <name>: one names its map");
    }
    const char *base_id = s_str(ld, id_at);
    size_t n = strlen(base_id);
    char shown[100];
    if (n == 0 || n > S_ID_MAX) {
        return cs_xml_fail_at(&ld->x, CS_EMALFORMED, ld->cm_line, 0,
                              "the ConceptMap's %s '%s' is empty or longer than %d characters",
                              id_at == ld->cm_id ? "id" : "name", cs_xml_show(base_id, n, shown,
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
        int rc = ld->x.host->emit_map(ld->x.sink, &row, ld->x.err);
        if (rc != CS_OK) {
            return rc;
        }
        ld->rows_emitted++;
        if (ld->rows_emitted % CS_XML_TICK == 0 && (rc = cs_xml_poll(&ld->x)) != CS_OK) {
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
            return cs_xml_fail_at(&ld->x, CS_EMALFORMED, ld->tg_line, 0,
                                  "unknown equivalence/relationship '%s' (R4: equivalent, wider, "
                                  "narrower, inexact, unmatched ...; R5: source-is-narrower-than-"
                                  "target ...)",
                                  cs_xml_show(rel, strlen(rel), shown, sizeof shown));
        }
        flags = s_relationships[k].flags;
    }
    size_t target = ld->tg_code;
    if (flags & CS_MAP_NO_MAP) {
        target = S_NONE;
    } else if (target == S_NONE) {
        return cs_xml_fail_at(&ld->x, CS_EMALFORMED, ld->tg_line, 0,
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
        return cs_xml_fail_at(&ld->x, CS_EMALFORMED, ld->el_line, 0,
                              "a ConceptMap <element> without a <code>");
    }
    if (ld->el_no_map && ld->el_targets > 0) {
        return cs_xml_fail_at(&ld->x, CS_EMALFORMED, ld->el_line, 0,
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
        return cs_xml_fail_at(&ld->x, CS_EMALFORMED, g->line, 0,
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
    int rc = cs_fhir_need_value(&ld->x, &ld->arena, what, &at);
    if (rc != CS_OK) {
        return rc;
    }
    const char *uri = s_str(ld, at);
    *out = cs_fhir_system_of(uri);
    if (!*out) {
        char shown[100];
        return cs_xml_fail(&ld->x, CS_EMALFORMED,
                           "group %s system '%s' is not one codeset knows (icd-10-cm, icd-9-cm, "
                           "cpt, ICD10 (PCS), HCPCS, snomed ...)",
                           what, cs_xml_show(uri, strlen(uri), shown, sizeof shown));
    }
    return CS_OK;
}

/* cs_fhir_walk_ops_t start (ctx is the s_load_t): an element starts below a parent of role
 * parent; sets the role to push. */
static int s_start(void *ctx, int parent, const char *name, uint8_t *role)
{
    s_load_t *ld = ctx;
    *role = S_R_SKIP;
    int rc = CS_OK;
    switch (parent) {
    case CS_FHIR_ROOT:
        ld->root_line = cs_xml_line(&ld->x, NULL);
        if (strcmp(name, "Bundle") == 0) {
            *role = S_R_BUNDLE;
        } else if (strcmp(name, "ConceptMap") == 0) {
            *role = S_R_CM;
        } else {
            return cs_xml_fail(&ld->x, CS_EMALFORMED,
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
            rc = cs_fhir_value(&ld->x, &ld->arena, &ld->cm_id);
        } else if (strcmp(name, "name") == 0) {
            rc = cs_fhir_value(&ld->x, &ld->arena, &ld->cm_name);
        } else if (strcmp(name, "group") == 0) {
            if (ld->n_groups == ld->cap_groups) {
                size_t cap = ld->cap_groups ? ld->cap_groups * 2 : 8;
                s_group_t *p = realloc(ld->groups, cap * sizeof *p);
                if (!p) {
                    return cs_xml_nomem(&ld->x);
                }
                ld->groups = p;
                ld->cap_groups = cap;
            }
            ld->groups[ld->n_groups++] = (s_group_t){.line = cs_xml_line(&ld->x, NULL)};
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
                return cs_xml_fail(&ld->x, CS_EMALFORMED,
                                   "an <element> before its group's <source> and <target>");
            }
            ld->el_code = S_NONE;
            ld->el_line = cs_xml_line(&ld->x, NULL);
            ld->el_targets = 0;
            ld->el_no_map = 0;
            *role = S_R_ELEMENT;
        }
        break;
    }
    case S_R_ELEMENT:
        if (strcmp(name, "code") == 0) {
            rc = cs_fhir_need_value(&ld->x, &ld->arena, "code", &ld->el_code);
            if (rc == CS_OK) {
                rc = cs_fhir_check_code(&ld->x, s_str(ld, ld->el_code), "source code");
            }
        } else if (strcmp(name, "noMap") == 0) {
            size_t at;
            rc = cs_fhir_need_value(&ld->x, &ld->arena, "noMap", &at);
            if (rc == CS_OK) {
                const char *v = s_str(ld, at);
                if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0) {
                    return cs_xml_fail(&ld->x, CS_EMALFORMED,
                                       "noMap is '%s', expected true or false", v);
                }
                ld->el_no_map = strcmp(v, "true") == 0;
            }
        } else if (strcmp(name, "target") == 0) {
            if (ld->el_code == S_NONE) {
                return cs_xml_fail_at(&ld->x, CS_EMALFORMED, ld->el_line, 0,
                                      "a ConceptMap <element> without a <code> (before its "
                                      "<target>)");
            }
            ld->tg_code = S_NONE;
            ld->tg_rel = S_NONE;
            ld->tg_line = cs_xml_line(&ld->x, NULL);
            *role = S_R_TARGET;
        }
        break;
    case S_R_TARGET:
        if (strcmp(name, "code") == 0) {
            rc = cs_fhir_need_value(&ld->x, &ld->arena, "code", &ld->tg_code);
            if (rc == CS_OK) {
                rc = cs_fhir_check_code(&ld->x, s_str(ld, ld->tg_code), "target code");
            }
        } else if (strcmp(name, "equivalence") == 0 || strcmp(name, "relationship") == 0) {
            rc = cs_fhir_need_value(&ld->x, &ld->arena, name, &ld->tg_rel);
        }
        break;
    default:
        break;
    }
    if (rc == CS_OK && *role == S_R_CM) {
        s_cm_reset(ld);
        ld->cm_line = cs_xml_line(&ld->x, NULL);
        ld->saw_cm = 1;
    }
    return rc;
}

/* cs_fhir_walk_ops_t end: ctx is the s_load_t. */
static int s_end(void *ctx, int role)
{
    s_load_t *ld = ctx;
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

static int s_stream(s_load_t *ld)
{
    static const cs_fhir_walk_ops_t ops = {.start = s_start, .end = s_end};
    int rc = cs_fhir_walk(&ld->x, &ops, ld);
    if (rc != CS_OK) {
        return rc;
    }
    if (!ld->saw_cm) {
        return cs_xml_fail_at(&ld->x, CS_EMALFORMED, ld->root_line, 0,
                              ld->root_line ? "the Bundle holds no ConceptMap"
                                            : "the file holds no XML element");
    }
    return CS_OK;
}

/* ---- sniff and load ------------------------------------------------------------------- */

/* A FHIR ConceptMap, or a Bundle with one, in each file's first CS_XML_SNIFF_MAX bytes. */
static int s_sniff(const char *const *files, size_t n_files)
{
    return cs_fhir_sniff(files, n_files, "<ConceptMap");
}

/* Stream one file. */
static int s_load_file(s_load_t *ld, const char *path)
{
    ld->saw_cm = 0;
    ld->root_line = 0;
    s_cm_reset(ld);
    int rc = cs_xml_open(&ld->x, path, 0);
    if (rc != CS_OK) {
        return rc;
    }
    rc = s_stream(ld);
    cs_xml_close(&ld->x, rc);
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
    cs_xml_begin(&ld->x, host, sink, err);
    int rc = CS_OK;
    for (size_t i = 0; i < n_files && rc == CS_OK; i++) {
        rc = s_load_file(ld, files[i]);
    }
    if (rc == CS_OK && ld->rows_emitted == 0) {
        rc = cs_xml_fail_at(&ld->x, CS_EMALFORMED, ld->cm_line, 0,
                            "the ConceptMap holds no <element>");
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
