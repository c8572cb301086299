/* fhir_codesystem.c: loader plugin "fhir-codesystem": an HL7 FHIR CodeSystem resource in XML
 * (R4, R5) into records of whatever system the admin names in the load request; this is how a
 * licensee brings CPT from a licensed FHIR export.
 *
 *     <CodeSystem xmlns="http://hl7.org/fhir">
 *       <url value="http://www.ama-assn.org/go/cpt"/>          -> rec->system "cpt"
 *       <concept>
 *         <code value="99100"/>                                 -> code (CS_CLASS_CODE)
 *         <display value="..."/>                                -> title
 *         <definition value="..."/>                             -> note "definition"
 *         <designation><use><code value="short"/></use>         -> short_title (first "short")
 *           <value value="..."/></designation>                  -> search term (the others)
 *         <property><code value="kind"/><valueCode value="section"/></property>   -> kind
 *         <property><code value="notSelectable"/><valueBoolean value="true"/></property>
 *         <property><code value="effectiveDate"/><valueDateTime value="..."/></property>
 *                                                               -> attr effectiveDate
 *         <concept> ... </concept>                              -> a child (parent: 99100)
 *       </concept>
 *     </CodeSystem>
 *
 * Billable and kind, following FHIR, where notSelectable is the authority on whether a concept
 * may be chosen: a concept is billable unless notSelectable is true, or its status property is
 * retired or deprecated, or its inactive property is true. Having child concepts does not by
 * itself make a concept a header: CPT's indented codes are children of codes that are reported
 * too. Kind: the "kind" property when present, else "category" for a notSelectable concept and
 * "code" for any other. Every property but kind and notSelectable is kept as an attribute
 * (status too, so lookup shows why a code is not billable); a valueCoding gives its code. The
 * title is the display, else the definition, else the code. A designation whose use code is
 * "short" (or starts with "short": short-descriptor) gives the short title; every other
 * designation that differs from the display becomes a search term.
 *
 * rec->system is the CodeSystem's url mapped through s_systems_by_uri[], or "*" when unknown:
 * the host files the records under the system named in the load request anyway
 * (CS_LOADER_ANY_SYSTEM). A concept is emitted when its first child concept starts or when it
 * ends, so parents come first; FHIR's element order (code, display, definition, designation,
 * property, concept) is required within a concept. Codes are unique over the load: a
 * duplicate fails naming the code and both places.
 *
 * The XML is streamed with xmlTextReader opened with XML_PARSE_NONET only (no DTD loading, no
 * entity substitution); a DOCTYPE or an entity reference fails the load. Elements outside the
 * FHIR namespace (narrative XHTML) and elements the loader does not use are skipped.
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

#define S_DEPTH_MAX CS_FHIR_DEPTH_MAX /* deepest concept nesting accepted */
#define S_NONE CS_FHIR_NONE /* "no string" arena offset */
#define S_KIND_MAX 32       /* longest kind, NUL included */
#define S_SET_MIN 1024      /* initial slots of the code set (a power of two) */

/* What an open element is to the loader. */
enum s_role {
    S_R_SKIP = CS_FHIR_SKIP, /* an element whose subtree is ignored */
    S_R_CS,          /* <CodeSystem> */
    S_R_CONCEPT,     /* <concept> */
    S_R_PROPERTY,    /* <concept><property> */
    S_R_VCODING,     /* <property><valueCoding> */
    S_R_DESIGNATION, /* <concept><designation> */
    S_R_USE,         /* <designation><use> */
};

/* What an item of a concept is. */
enum s_item_type {
    S_I_ATTR, /* a property kept as an attribute: a = name, b = value */
    S_I_TERM, /* a designation kept as a search term: a = value */
};

/* One attribute or term of an open concept; strings are arena offsets. */
typedef struct s_item {
    uint8_t type; /* enum s_item_type */
    size_t a;     /* first string */
    size_t b;     /* second string, or S_NONE */
} s_item_t;

/* One open concept. */
typedef struct s_concept {
    size_t code;        /* arena offset of the code, or S_NONE */
    size_t display;     /* of the display, or S_NONE */
    size_t definition;  /* of the definition, or S_NONE */
    size_t short_title; /* of the short designation, or S_NONE */
    size_t kind;        /* of the kind property, or S_NONE */
    size_t arena_mark;  /* arena length when it started */
    size_t item_mark;   /* item count when it started */
    unsigned line;      /* line of its start tag */
    uint8_t not_selectable; /* notSelectable true */
    uint8_t retired;    /* status retired/deprecated, or inactive true */
    uint8_t emitted;    /* emitted already */
} s_concept_t;

/* One slot of the set of codes seen over the load. */
typedef struct s_slot {
    size_t code;   /* offset in codes + 1 (0: empty slot) */
    uint32_t file; /* index of the file it was seen in */
    uint32_t line; /* line it was seen on */
} s_slot_t;

/* The state of one load(). */
typedef struct s_load {
    cs_xml_t x;                /* the reader, progress, and where errors go */
    const char *const *files;  /* the load's files */
    uint32_t file;             /* index of the current one */
    const char *system;        /* system id of the current CodeSystem's url, or "*" */
    cs_fhir_buf_t arena;       /* strings of open concepts */
    s_concept_t concepts[S_DEPTH_MAX + 1]; /* open concepts */
    size_t n_concepts;         /* number open */
    s_item_t *items;           /* attributes and terms of open concepts */
    size_t n_items;            /* used */
    size_t cap_items;          /* allocated */
    size_t prop_code;          /* open property: its code, or S_NONE */
    size_t prop_value;         /* its value, or S_NONE */
    unsigned prop_line;        /* its line */
    size_t des_value;          /* open designation: its value, or S_NONE */
    size_t des_use;            /* its use code, or S_NONE */
    unsigned des_line;         /* its line */
    cs_attr_t *out_attrs;      /* attributes handed to emit */
    size_t cap_attrs;          /* allocated */
    const char **out_terms;    /* terms handed to emit */
    size_t cap_terms;          /* allocated */
    cs_fhir_buf_t codes;       /* every code emitted, NUL-terminated */
    s_slot_t *set;             /* open-addressing set over codes */
    size_t set_cap;            /* slots, a power of two */
    size_t set_len;            /* used */
    uint64_t records;          /* records emitted */
} s_load_t;

/* ---- small helpers -------------------------------------------------------------------- */

static const char *s_str(const s_load_t *ld, size_t at)
{
    return cs_fhir_str(&ld->arena, at);
}

/* ---- the code set ------------------------------------------------------------------------ */

static uint64_t s_hash(const char *s)
{
    uint64_t h = UINT64_C(1469598103934665603);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h = (h ^ *p) * UINT64_C(1099511628211);
    }
    return h;
}

/* The slot holding code, or the empty slot where it would go. */
static s_slot_t *s_set_find(const s_load_t *ld, const char *code)
{
    size_t mask = ld->set_cap - 1;
    size_t i = (size_t)s_hash(code) & mask;
    while (ld->set[i].code != 0 && strcmp(ld->codes.p + ld->set[i].code - 1, code) != 0) {
        i = (i + 1) & mask;
    }
    return &ld->set[i];
}

static int s_set_grow(s_load_t *ld)
{
    size_t cap = ld->set_cap ? ld->set_cap * 2 : S_SET_MIN;
    s_slot_t *old = ld->set;
    size_t old_cap = ld->set_cap;
    s_slot_t *set = calloc(cap, sizeof *set);
    if (!set) {
        return CS_ENOMEM;
    }
    ld->set = set;
    ld->set_cap = cap;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].code != 0) {
            *s_set_find(ld, ld->codes.p + old[i].code - 1) = old[i];
        }
    }
    free(old);
    return CS_OK;
}

/* Remember code at (file, line); fails naming both places when it was seen before. */
static int s_claim_code(s_load_t *ld, const char *code, unsigned line)
{
    if (2 * (ld->set_len + 1) > ld->set_cap && s_set_grow(ld) != CS_OK) {
        return cs_xml_nomem(&ld->x);
    }
    s_slot_t *slot = s_set_find(ld, code);
    if (slot->code != 0) {
        char shown[100];
        const char *first_file = cs_xml_base_name(ld->files[slot->file]);
        if (slot->file == ld->file) {
            return cs_xml_fail_at(&ld->x, CS_EMALFORMED, line, 0,
                                  "concept code '%s' appears twice: on line %u and on line %u",
                                  cs_xml_show(code, strlen(code), shown, sizeof shown),
                                  slot->line, line);
        }
        return cs_xml_fail_at(&ld->x, CS_EMALFORMED, line, 0,
                              "concept code '%s' appears twice: at %s:%u and here, line %u",
                              cs_xml_show(code, strlen(code), shown, sizeof shown), first_file,
                              slot->line, line);
    }
    size_t at;
    if (cs_fhir_buf_add(&ld->codes, code, strlen(code), &at) != CS_OK) {
        return cs_xml_nomem(&ld->x);
    }
    slot->code = at + 1;
    slot->file = ld->file;
    slot->line = line;
    ld->set_len++;
    return CS_OK;
}

/* ---- concepts ---------------------------------------------------------------------------- */

static int s_push_item(s_load_t *ld, uint8_t type, size_t a, size_t b)
{
    if (ld->n_items == ld->cap_items) {
        size_t cap = ld->cap_items ? ld->cap_items * 2 : 64;
        s_item_t *p = realloc(ld->items, cap * sizeof *p);
        if (!p) {
            return cs_xml_nomem(&ld->x);
        }
        ld->items = p;
        ld->cap_items = cap;
    }
    ld->items[ld->n_items++] = (s_item_t){.type = type, .a = a, .b = b};
    return CS_OK;
}

/* Emit the innermost open concept (its parent was emitted before it). */
static int s_emit(s_load_t *ld)
{
    s_concept_t *c = &ld->concepts[ld->n_concepts - 1];
    c->emitted = 1;
    if (c->code == S_NONE) {
        return cs_xml_fail_at(&ld->x, CS_EMALFORMED, c->line, 0, "a <concept> without a <code>");
    }
    const char *code = s_str(ld, c->code);
    int rc = s_claim_code(ld, code, c->line);
    if (rc != CS_OK) {
        return rc;
    }
    size_t n_attrs = 0;
    size_t n_terms = 0;
    for (size_t i = c->item_mark; i < ld->n_items; i++) {
        if (ld->items[i].type == S_I_ATTR) {
            n_attrs++;
        } else {
            n_terms++;
        }
    }
    if (n_attrs > ld->cap_attrs) {
        cs_attr_t *p = realloc(ld->out_attrs, n_attrs * sizeof *p);
        if (!p) {
            return cs_xml_nomem(&ld->x);
        }
        ld->out_attrs = p;
        ld->cap_attrs = n_attrs;
    }
    if (n_terms > ld->cap_terms) {
        const char **p = realloc(ld->out_terms, n_terms * sizeof *p);
        if (!p) {
            return cs_xml_nomem(&ld->x);
        }
        ld->out_terms = p;
        ld->cap_terms = n_terms;
    }
    n_attrs = 0;
    n_terms = 0;
    for (size_t i = c->item_mark; i < ld->n_items; i++) {
        const s_item_t *it = &ld->items[i];
        if (it->type == S_I_ATTR) {
            ld->out_attrs[n_attrs++] = (cs_attr_t){.name = s_str(ld, it->a),
                                                   .value = s_str(ld, it->b)};
        } else {
            ld->out_terms[n_terms++] = s_str(ld, it->a);
        }
    }
    cs_note_t note = {.type = "definition", .label = NULL, .text = s_str(ld, c->definition)};
    const char *title = s_str(ld, c->display);
    if (!title || !*title) {
        title = note.text && *note.text ? note.text : code;
    }
    const char *kind = s_str(ld, c->kind);
    if (!kind) {
        kind = c->not_selectable ? "category" : "code";
    }
    const s_concept_t *parent = ld->n_concepts > 1 ? &ld->concepts[ld->n_concepts - 2] : NULL;
    cs_record_t rec = {
        .struct_size = sizeof(cs_record_t),
        .system = ld->system,
        .cls = CS_CLASS_CODE,
        .code = code,
        .kind = kind,
        .billable = !c->not_selectable && !c->retired,
        .title = title,
        .short_title = s_str(ld, c->short_title),
        .parent_cls = CS_CLASS_CODE,
        .parent = parent ? s_str(ld, parent->code) : NULL,
        .order = 0,
        .notes = note.text ? &note : NULL,
        .n_notes = note.text ? 1 : 0,
        .terms = n_terms ? ld->out_terms : NULL,
        .n_terms = n_terms,
        .attrs = n_attrs ? ld->out_attrs : NULL,
        .n_attrs = n_attrs,
        .valid_from = 0,
        .valid_to = 0,
    };
    rc = ld->x.host->emit(ld->x.sink, &rec, ld->x.err);
    if (rc != CS_OK) {
        return rc;
    }
    ld->records++;
    return CS_OK;
}

static int s_concept_start(s_load_t *ld)
{
    if (ld->n_concepts > 0 && !ld->concepts[ld->n_concepts - 1].emitted) {
        int rc = s_emit(ld);
        if (rc != CS_OK) {
            return rc;
        }
    }
    s_concept_t *c = &ld->concepts[ld->n_concepts++];
    *c = (s_concept_t){
        .code = S_NONE,
        .display = S_NONE,
        .definition = S_NONE,
        .short_title = S_NONE,
        .kind = S_NONE,
        .arena_mark = ld->arena.len,
        .item_mark = ld->n_items,
        .line = cs_xml_line(&ld->x, NULL),
    };
    return CS_OK;
}

static int s_concept_end(s_load_t *ld)
{
    s_concept_t *c = &ld->concepts[ld->n_concepts - 1];
    if (!c->emitted) {
        int rc = s_emit(ld);
        if (rc != CS_OK) {
            return rc;
        }
    }
    ld->arena.len = c->arena_mark;
    ld->n_items = c->item_mark;
    ld->n_concepts--;
    return CS_OK;
}

/* A boolean property's value: 1, 0, or -1 with the error set. */
static int s_boolean(s_load_t *ld, const char *name, const char *v)
{
    if (strcmp(v, "true") == 0) {
        return 1;
    }
    if (strcmp(v, "false") == 0) {
        return 0;
    }
    char shown[100];
    cs_xml_fail_at(&ld->x, CS_EMALFORMED, ld->prop_line, 0,
                   "property %s is '%s', expected true or false", name,
                   cs_xml_show(v, strlen(v), shown, sizeof shown));
    return -1;
}

static int s_property_end(s_load_t *ld)
{
    s_concept_t *c = &ld->concepts[ld->n_concepts - 1];
    if (ld->prop_code == S_NONE) {
        return cs_xml_fail_at(&ld->x, CS_EMALFORMED, ld->prop_line, 0,
                              "a concept <property> without a <code>");
    }
    const char *name = s_str(ld, ld->prop_code);
    if (ld->prop_value == S_NONE) {
        return cs_xml_fail_at(&ld->x, CS_EMALFORMED, ld->prop_line, 0,
                              "property '%s' has no value (valueCode, valueString, "
                              "valueBoolean ...)",
                              name);
    }
    const char *v = s_str(ld, ld->prop_value);
    if (strcmp(name, "notSelectable") == 0) {
        int b = s_boolean(ld, name, v);
        if (b < 0) {
            return CS_EMALFORMED;
        }
        c->not_selectable = (uint8_t)b;
        return CS_OK;
    }
    if (strcmp(name, "kind") == 0) {
        size_t n = strlen(v);
        for (size_t i = 0; i < n; i++) {
            if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9') || v[i] == '_' ||
                  v[i] == '-')) {
                n = 0;
            }
        }
        if (n == 0 || n >= S_KIND_MAX) {
            char shown[100];
            return cs_xml_fail_at(&ld->x, CS_EMALFORMED, ld->prop_line, 0,
                                  "kind '%s' is not a lower-case word of 1 to %d characters",
                                  cs_xml_show(v, strlen(v), shown, sizeof shown), S_KIND_MAX - 1);
        }
        c->kind = ld->prop_value;
        return CS_OK;
    }
    if (strcmp(name, "status") == 0 && (strcmp(v, "retired") == 0 ||
                                        strcmp(v, "deprecated") == 0)) {
        c->retired = 1;
    }
    if (strcmp(name, "inactive") == 0) {
        int b = s_boolean(ld, name, v);
        if (b < 0) {
            return CS_EMALFORMED;
        }
        c->retired = c->retired || b;
    }
    return s_push_item(ld, S_I_ATTR, ld->prop_code, ld->prop_value);
}

/* A designation's use names a short form: "short", "short-descriptor", "shortDescription". */
static int s_is_short_use(const char *use)
{
    static const char s[] = "short";
    for (size_t i = 0; i < sizeof s - 1; i++) {
        char c = use[i];
        if (c >= 'A' && c <= 'Z') {
            c = (char)(c - 'A' + 'a');
        }
        if (c != s[i]) {
            return 0;
        }
    }
    return 1;
}

static int s_designation_end(s_load_t *ld)
{
    s_concept_t *c = &ld->concepts[ld->n_concepts - 1];
    if (ld->des_value == S_NONE) {
        return cs_xml_fail_at(&ld->x, CS_EMALFORMED, ld->des_line, 0,
                              "a <designation> without a <value>");
    }
    const char *use = s_str(ld, ld->des_use);
    if (use && s_is_short_use(use) && c->short_title == S_NONE) {
        c->short_title = ld->des_value;
        return CS_OK;
    }
    const char *display = s_str(ld, c->display);
    if (display && strcmp(display, s_str(ld, ld->des_value)) == 0) {
        return CS_OK;
    }
    return s_push_item(ld, S_I_TERM, ld->des_value, S_NONE);
}

/* cs_fhir_walk_ops_t start (ctx is the s_load_t): an element starts below a parent of role
 * parent; sets the role to push. */
static int s_start(void *ctx, int parent, const char *name, uint8_t *role)
{
    s_load_t *ld = ctx;
    *role = S_R_SKIP;
    s_concept_t *c = ld->n_concepts ? &ld->concepts[ld->n_concepts - 1] : NULL;
    switch (parent) {
    case CS_FHIR_ROOT:
        if (strcmp(name, "CodeSystem") != 0) {
            return cs_xml_fail(&ld->x, CS_EMALFORMED,
                               "the root element is <%s>, expected <CodeSystem>", name);
        }
        *role = S_R_CS;
        return CS_OK;
    case S_R_CS:
        if (strcmp(name, "url") == 0) {
            size_t at;
            int rc = cs_fhir_value(&ld->x, &ld->arena, &at);
            if (rc == CS_OK && at != S_NONE) {
                const char *sys = cs_fhir_system_of(s_str(ld, at));
                ld->system = sys ? sys : "*";
            }
            return rc;
        }
        if (strcmp(name, "concept") == 0) {
            *role = S_R_CONCEPT;
            return s_concept_start(ld);
        }
        return CS_OK;
    case S_R_CONCEPT:
        if (strcmp(name, "concept") == 0) {
            if (ld->n_concepts == S_DEPTH_MAX) {
                return cs_xml_fail(&ld->x, CS_EMALFORMED, "concepts nest deeper than %d levels",
                                   S_DEPTH_MAX);
            }
            *role = S_R_CONCEPT;
            return s_concept_start(ld);
        }
        if (c->emitted && (strcmp(name, "code") == 0 || strcmp(name, "display") == 0 ||
                           strcmp(name, "definition") == 0 || strcmp(name, "designation") == 0 ||
                           strcmp(name, "property") == 0)) {
            return cs_xml_fail(&ld->x, CS_EMALFORMED,
                               "<%s> of concept '%s' comes after a child <concept>: FHIR puts "
                               "code, display, definition, designation and property first",
                               name, c->code == S_NONE ? "" : s_str(ld, c->code));
        }
        if (strcmp(name, "code") == 0) {
            int rc = cs_fhir_need_value(&ld->x, &ld->arena, "code", &c->code);
            return rc == CS_OK ? cs_fhir_check_code(&ld->x, s_str(ld, c->code), "concept code")
                               : rc;
        }
        if (strcmp(name, "display") == 0) {
            return cs_fhir_value(&ld->x, &ld->arena, &c->display);
        }
        if (strcmp(name, "definition") == 0) {
            return cs_fhir_value(&ld->x, &ld->arena, &c->definition);
        }
        if (strcmp(name, "designation") == 0) {
            ld->des_value = S_NONE;
            ld->des_use = S_NONE;
            ld->des_line = cs_xml_line(&ld->x, NULL);
            *role = S_R_DESIGNATION;
        } else if (strcmp(name, "property") == 0) {
            ld->prop_code = S_NONE;
            ld->prop_value = S_NONE;
            ld->prop_line = cs_xml_line(&ld->x, NULL);
            *role = S_R_PROPERTY;
        }
        return CS_OK;
    case S_R_PROPERTY:
        if (strcmp(name, "code") == 0) {
            return cs_fhir_need_value(&ld->x, &ld->arena, "code", &ld->prop_code);
        }
        if (strcmp(name, "valueCoding") == 0) {
            *role = S_R_VCODING;
            return CS_OK;
        }
        if (strncmp(name, "value", 5) == 0) {
            return cs_fhir_need_value(&ld->x, &ld->arena, name, &ld->prop_value);
        }
        return CS_OK;
    case S_R_VCODING:
        if (strcmp(name, "code") == 0) {
            return cs_fhir_need_value(&ld->x, &ld->arena, "code", &ld->prop_value);
        }
        return CS_OK;
    case S_R_DESIGNATION:
        if (strcmp(name, "value") == 0) {
            return cs_fhir_need_value(&ld->x, &ld->arena, "value", &ld->des_value);
        }
        if (strcmp(name, "use") == 0) {
            *role = S_R_USE;
        }
        return CS_OK;
    case S_R_USE:
        if (strcmp(name, "code") == 0) {
            return cs_fhir_value(&ld->x, &ld->arena, &ld->des_use);
        }
        return CS_OK;
    default:
        return CS_OK;
    }
}

/* cs_fhir_walk_ops_t end: ctx is the s_load_t. */
static int s_end(void *ctx, int role)
{
    s_load_t *ld = ctx;
    switch (role) {
    case S_R_CONCEPT:
        return s_concept_end(ld);
    case S_R_PROPERTY:
        return s_property_end(ld);
    case S_R_DESIGNATION:
        return s_designation_end(ld);
    default:
        return CS_OK;
    }
}

static int s_stream(s_load_t *ld)
{
    uint64_t records_before = ld->records;
    static const cs_fhir_walk_ops_t ops = {.start = s_start, .end = s_end};
    int rc = cs_fhir_walk(&ld->x, &ops, ld);
    if (rc != CS_OK) {
        return rc;
    }
    if (ld->records == records_before) {
        return cs_xml_fail_at(&ld->x, CS_EMALFORMED, 1, 0, "the CodeSystem holds no <concept>");
    }
    return CS_OK;
}

/* ---- sniff and load ------------------------------------------------------------------- */

/* A FHIR CodeSystem in each file's first CS_XML_SNIFF_MAX bytes. */
static int s_sniff(const char *const *files, size_t n_files)
{
    return cs_fhir_sniff(files, n_files, "<CodeSystem");
}

static int s_load_file(s_load_t *ld, uint32_t index)
{
    const char *path = ld->files[index];
    ld->file = index;
    ld->n_concepts = 0;
    ld->n_items = 0;
    ld->arena.len = 0;
    ld->system = "*";
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
    if (!host || !files || !CS_HOST_HAS(host, emit)) {
        return cs_error_set(err, CS_EINVAL, "fhir-codesystem: no host table or no files");
    }
    if (n_files < 1 || n_files > UINT32_MAX) {
        return cs_error_set(err, CS_EINVAL, "fhir-codesystem takes one or more files, got %zu",
                            n_files);
    }
    for (size_t i = 0; i < n_files; i++) {
        if (!files[i]) {
            return cs_error_set(err, CS_EINVAL, "fhir-codesystem: file %zu is NULL", i + 1);
        }
    }
    s_load_t *ld = calloc(1, sizeof *ld);
    if (!ld) {
        return cs_error_set(err, CS_ENOMEM, "fhir-codesystem: out of memory");
    }
    cs_xml_begin(&ld->x, host, sink, err);
    ld->files = files;
    int rc = CS_OK;
    for (size_t i = 0; i < n_files && rc == CS_OK; i++) {
        rc = s_load_file(ld, (uint32_t)i);
    }
    free(ld->arena.p);
    free(ld->items);
    free(ld->out_attrs);
    free(ld->out_terms);
    free(ld->codes.p);
    free(ld->set);
    free(ld);
    return rc;
}

static const char *const s_systems[] = {"*", NULL};

static const cs_loader_ops_t s_ops = {
    .systems = s_systems,
    .sniff = s_sniff,
    .load = s_load,
    .flags = CS_LOADER_ANY_SYSTEM,
};

CS_PLUGIN_EXPORT const cs_plugin_desc_t cs_plugin_fhir_codesystem = {
    CS_PLUGIN_HEADER,
    .kind = CS_PLUGIN_LOADER,
    .name = "fhir-codesystem",
    .version = "1.0.0",
    .title = "HL7 FHIR CodeSystem resources (R4, R5; XML), into the system the load names",
    .system = NULL,
    .loader = &s_ops,
};
