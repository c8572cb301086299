/* icd10cm-index: the ICD-10-CM Index files of the CDC as an index set (cs_plugin.h,
 * CS_LOADER_INDEX): the Index to Diseases and Injuries (icd10cm_index_YYYY.xml) and the
 * External Cause Index (icd10cm_eindex_YYYY.xml), both of icd10cm_index.xsd, and the Table of
 * Drugs and Chemicals (icd10cm_drug_YYYY.xml) and the Neoplasm Table
 * (icd10cm_neoplasm_YYYY.xml), of icd10cm_drug_neoplasm.xsd. Any of them, one file per table,
 * in one load. What each record holds: core/store/cs_index_format.h.
 *
 * The XML is streamed with libxml2's reader (loaders/common/cs_xml.h: no network, no DTD, no
 * entities). A term is emitted when its first subterm starts or when it ends, so parents
 * always come first. The file is checked as it goes and the load fails at file:line with why
 * on the first fault: an element the schemas do not have (or addenda markup, <diff>, <new>,
 * <old>: this loader reads the full files, not the addenda), a level that does not follow its
 * parent's, a cell outside the heading's columns or twice in a term, a term without a title,
 * a field after a subterm, nesting deeper than the schema allows, a truncated file.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/xmlreader.h>

#include "codeset/cs_plugin.h"
#include "store/cs_index_format.h"

#include "../common/cs_bytes.h"
#include "../common/cs_hset.h"
#include "../common/cs_xml.h"

#define S_ROOT "ICD10CM.index"
#define S_SET CS_INDEX_SET
#define S_DEPTH_MAX 16    /* root, letter, mainTerm, 9 levels, title, nemod, and room */
#define S_ATTRS_MAX 24    /* nemod, 7 fields, 9 cells, and room */
#define S_NONE ((size_t)-1)

/* What an open element is. */
enum {
    S_F_ROOT = 1,  /* <ICD10CM.index> */
    S_F_HEADING,   /* <indexHeading> */
    S_F_LETTER,    /* <letter> */
    S_F_TERM,      /* <mainTerm>, <term> */
    S_F_TEXT,      /* an element whose text is kept: version, titles, head, fields, cells */
    S_F_NEMOD,     /* <nemod> inside a term's <title> */
    S_F_INLINE,    /* <nemod> inside another text element: its text is the element's */
    S_F_SKIPTEXT,  /* <letter><title>: text read and dropped */
};

/* What a text element's text becomes. */
enum {
    S_T_VERSION = 1,
    S_T_ROOT_TITLE,
    S_T_HEAD,
    S_T_TERM_TITLE,
    S_T_FIELD,
    S_T_CELL,
};

typedef struct s_attr {
    const char *name; /* static */
    size_t off, len;  /* value in the arena */
} s_attr_t;

/* One open element. Term frames keep what the term will be emitted with. */
typedef struct s_frame {
    uint8_t kind;
    uint8_t role;         /* S_T_* for S_F_TEXT */
    uint8_t col;          /* head or cell column */
    int level;            /* S_F_TERM: 0 for a main term */
    unsigned line;
    size_t mark;          /* arena length at the start */
    size_t text;          /* S_F_TEXT: where its text starts */
    const char *field;    /* S_T_FIELD: the attribute name */
    /* S_F_TERM */
    size_t title, title_len;
    size_t nemod_at;      /* where the title's nemod starts (before collapsing), or S_NONE */
    size_t nemod_end;
    s_attr_t attrs[S_ATTRS_MAX];
    unsigned n_attrs;
    uint32_t cells;       /* bit N: cell col N seen */
    uint32_t fields;      /* bit i: field i seen */
    int has_title, has_child, emitted;
    uint64_t hash;
    char key[CS_INDEX_KEY_LEN + 1];
} s_frame_t;

typedef struct s_load {
    cs_xml_t x;
    char *arena;
    size_t arena_len, arena_cap;
    char *scratch;        /* NUL-terminated copies handed to emit */
    size_t scratch_cap;
    s_frame_t frames[S_DEPTH_MAX];
    size_t depth;
    cs_hset_t keys;       /* term hashes emitted (a path written twice hashes on) */
    uint32_t docs;        /* terms emitted over the load (their search doc ids) */
    unsigned tables_done; /* bit t: table t loaded */
    /* the current file */
    int table;            /* cs_index_table_t once known, else -1 */
    int root_emitted;
    size_t version, version_len, title, title_len;
    size_t head[CS_INDEX_MAX_COLS + 1], head_len[CS_INDEX_MAX_COLS + 1];
    uint32_t heads;       /* bit N: head col N */
    uint64_t main_terms, terms, cells;
    uint64_t per_level[CS_INDEX_MAX_LEVEL + 1];
} s_load_t;

/* The fields of a term (beside title and cells), with their attribute names. */
static const struct {
    const char *element;
    const char *attr;
} s_fields[] = {
    {"see", "see"},         {"seeAlso", "see_also"}, {"seecat", "see_cat"},
    {"seeCat", "see_cat"},  {"subcat", "subcat"},    {"code", "code"},
    {"manif", "manif"},     {"warning", "warning"},
};
#define S_N_FIELDS (sizeof s_fields / sizeof s_fields[0])

static const char *const s_cell_names[CS_INDEX_MAX_COLS + 1] = {
    "", "cell1", "cell2", "cell3", "cell4", "cell5", "cell6", "cell7", "cell8", "cell9"};
static const char *const s_head_names[CS_INDEX_MAX_COLS + 1] = {
    "", "head1", "head2", "head3", "head4", "head5", "head6", "head7", "head8", "head9"};

static int s_nomem(s_load_t *ld)
{
    return cs_xml_nomem(&ld->x);
}

static int s_append(s_load_t *ld, const char *p, size_t n)
{
    if (cs_bytes_reserve(&ld->arena, &ld->arena_cap, ld->arena_len, n + 1) != CS_OK) {
        return s_nomem(ld);
    }
    memcpy(ld->arena + ld->arena_len, p, n);
    ld->arena_len += n;
    return CS_OK;
}

/* Collapse every run of white space in arena[from, arena_len) to one space and trim both ends
 * in place; *at and *end (positions inside the range, or S_NONE) move with the text. Returns
 * the new length of the range. */
static size_t s_collapse(s_load_t *ld, size_t from, size_t *at, size_t *end)
{
    char *p = ld->arena;
    size_t o = from;
    int space = 0;
    size_t new_at = S_NONE, new_end = S_NONE;
    for (size_t i = from; i <= ld->arena_len; i++) {
        if (at && i == *at) {
            new_at = o + (space && o > from ? 1 : 0);
        }
        if (end && i == *end) {
            new_end = o;
        }
        if (i == ld->arena_len) {
            break;
        }
        if (cs_xml_is_space(p[i])) {
            space = 1;
            continue;
        }
        if (space && o > from) {
            p[o++] = ' ';
        }
        space = 0;
        p[o++] = p[i];
    }
    ld->arena_len = o;
    if (at) {
        *at = new_at == S_NONE || new_at > o ? o : new_at;
    }
    if (end) {
        *end = new_end == S_NONE || new_end > o ? o : new_end;
    }
    return o - from;
}

/* The value of attribute name of the current element as a column or level 1..max; 0 when
 * missing or not such a number (the caller says which). */
static int s_small_attr(s_load_t *ld, const char *name, int max)
{
    xmlChar *v = xmlTextReaderGetAttribute(ld->x.reader, (const xmlChar *)name);
    if (!v) {
        return 0;
    }
    int n = 0;
    const char *s = (const char *)v;
    size_t len = strlen(s);
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9' || n > max) {
            n = max + 1;
            break;
        }
        n = n * 10 + (s[i] - '0');
    }
    xmlFree(v);
    return n >= 1 && n <= max ? n : -1;
}

/* ---- emitting --------------------------------------------------------------------------- */

/* Copy arena[off, off+len) NUL-terminated into scratch at *used; returns its offset. */
static size_t s_scratch_put(s_load_t *ld, size_t *used, size_t off, size_t len)
{
    size_t at = *used;
    if (len) { /* the arena is NULL until its first byte */
        memcpy(ld->scratch + at, ld->arena + off, len);
    }
    ld->scratch[at + len] = '\0';
    *used += len + 1;
    return at;
}

static int s_emit(s_load_t *ld, const cs_record_t *rec)
{
    return ld->x.host->emit(ld->x.sink, rec, ld->x.err);
}

/* Emit the table root of the current file. */
static int s_emit_root(s_load_t *ld)
{
    size_t need = ld->version_len + ld->title_len + 2;
    for (int c = 1; c <= CS_INDEX_MAX_COLS; c++) {
        need += (ld->heads >> c & 1) ? ld->head_len[c] + 1 : 0;
    }
    if (cs_bytes_reserve(&ld->scratch, &ld->scratch_cap, 0, need + 32) != CS_OK) {
        return s_nomem(ld);
    }
    size_t used = 0;
    size_t o_title = s_scratch_put(ld, &used, ld->title, ld->title_len);
    size_t o_version = s_scratch_put(ld, &used, ld->version, ld->version_len);
    size_t o_first = used;
    used += (size_t)snprintf(ld->scratch + used, 16, "%u", ld->docs) + 1;
    size_t o_head[CS_INDEX_MAX_COLS + 1];
    for (int c = 1; c <= CS_INDEX_MAX_COLS; c++) {
        o_head[c] = (ld->heads >> c & 1) ? s_scratch_put(ld, &used, ld->head[c], ld->head_len[c])
                                         : 0;
    }
    cs_attr_t attrs[2 + CS_INDEX_MAX_COLS];
    size_t n = 0;
    attrs[n++] = (cs_attr_t){"version", ld->scratch + o_version};
    attrs[n++] = (cs_attr_t){"first_doc", ld->scratch + o_first};
    for (int c = 1; c <= CS_INDEX_MAX_COLS; c++) {
        if (ld->heads >> c & 1) {
            attrs[n++] = (cs_attr_t){s_head_names[c], ld->scratch + o_head[c]};
        }
    }
    cs_record_t rec = {
        .struct_size = sizeof rec,
        .system = S_SET,
        .cls = CS_CLASS_CHAPTER,
        .code = cs_index_table_root(ld->table),
        .kind = "table",
        .title = ld->title_len ? ld->scratch + o_title : cs_index_table_title(ld->table),
        .attrs = attrs,
        .n_attrs = n,
    };
    ld->root_emitted = 1;
    return s_emit(ld, &rec);
}

static uint64_t s_fnv(uint64_t h, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)p[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* The key of term frame i: the hash of its path, hashed on while another term has it. */
static int s_term_key(s_load_t *ld, size_t i)
{
    s_frame_t *f = &ld->frames[i];
    const s_frame_t *up = f - 1;
    char letter = cs_index_table_letter(ld->table);
    uint64_t h = up->kind == S_F_TERM ? up->hash : s_fnv(14695981039346656037ull, &letter, 1);
    h = s_fnv(h, "\x1f", 1);
    h = s_fnv(h, ld->arena + f->title, f->title_len);
    f->hash = h;
    for (unsigned n = 2;; n++) {
        uint64_t k = h >> 4 ? h >> 4 : 1;
        int added = cs_hset_add(&ld->keys, k, ld->docs, NULL);
        if (added < 0) {
            return s_nomem(ld);
        }
        if (added == 1) {
            snprintf(f->key, sizeof f->key, "%c%015llX", letter, (unsigned long long)k);
            return CS_OK;
        }
        char more[16];
        int ml = snprintf(more, sizeof more, "#%u", n);
        h = s_fnv(f->hash, more, (size_t)ml);
    }
}

/* Emit term frame i (its parents are out already). */
static int s_emit_term(s_load_t *ld, size_t i)
{
    s_frame_t *f = &ld->frames[i];
    if (!f->has_title) {
        return cs_xml_fail_at(&ld->x, CS_EMALFORMED, f->line, 0, "<%s> without a <title>",
                              f->level ? "term" : "mainTerm");
    }
    int rc = s_term_key(ld, i);
    if (rc != CS_OK) {
        return rc;
    }
    size_t first_term = i;
    while (first_term > 0 && ld->frames[first_term - 1].kind == S_F_TERM) {
        first_term--;
    }
    size_t need = f->title_len + 1;
    for (size_t j = first_term; j < i; j++) {
        need += ld->frames[j].title_len + 1;
    }
    for (unsigned a = 0; a < f->n_attrs; a++) {
        need += f->attrs[a].len + 1;
    }
    if (cs_bytes_reserve(&ld->scratch, &ld->scratch_cap, 0, need + 1) != CS_OK) {
        return s_nomem(ld);
    }
    size_t used = 0;
    size_t o_title = s_scratch_put(ld, &used, f->title, f->title_len);
    size_t o_path[CS_INDEX_MAX_LEVEL + 1];
    size_t n_path = i - first_term;
    for (size_t j = 0; j < n_path; j++) {
        const s_frame_t *p = &ld->frames[first_term + j];
        o_path[j] = s_scratch_put(ld, &used, p->title, p->title_len);
    }
    size_t o_attr[S_ATTRS_MAX];
    for (unsigned a = 0; a < f->n_attrs; a++) {
        o_attr[a] = s_scratch_put(ld, &used, f->attrs[a].off, f->attrs[a].len);
    }
    const char *path[CS_INDEX_MAX_LEVEL + 1];
    for (size_t j = 0; j < n_path; j++) {
        path[j] = ld->scratch + o_path[j];
    }
    cs_attr_t attrs[S_ATTRS_MAX];
    for (unsigned a = 0; a < f->n_attrs; a++) {
        attrs[a] = (cs_attr_t){f->attrs[a].name, ld->scratch + o_attr[a]};
    }
    const s_frame_t *up = f - 1;
    cs_record_t rec = {
        .struct_size = sizeof rec,
        .system = S_SET,
        .cls = CS_CLASS_CODE,
        .code = f->key,
        .kind = f->level ? "term" : "main_term",
        .title = ld->scratch + o_title,
        .parent_cls = up->kind == S_F_TERM ? CS_CLASS_CODE : CS_CLASS_CHAPTER,
        .parent = up->kind == S_F_TERM ? up->key : cs_index_table_root(ld->table),
        .terms = n_path ? path : NULL,
        .n_terms = n_path,
        .attrs = f->n_attrs ? attrs : NULL,
        .n_attrs = f->n_attrs,
    };
    f->emitted = 1;
    ld->docs++;
    return s_emit(ld, &rec);
}

/* ---- the table of the current file ------------------------------------------------------ */

/* Which table the file is: its name says first (the CDC's file names), else its content. */
static int s_guess_table(const s_load_t *ld)
{
    const char *b = ld->x.base;
    if (strstr(b, "_drug")) {
        return CS_INDEX_T_DRUG;
    }
    if (strstr(b, "_neoplasm")) {
        return CS_INDEX_T_NEOPLASM;
    }
    if (strstr(b, "_eindex")) {
        return CS_INDEX_T_EINDEX;
    }
    if (strstr(b, "_index")) {
        return CS_INDEX_T_INDEX;
    }
    if (ld->heads & 2) {
        const char *h = ld->arena + ld->head[1];
        size_t n = ld->head_len[1];
        if (n >= 9 && strncmp(h, "Substance", 9) == 0) {
            return CS_INDEX_T_DRUG;
        }
        if (n >= 8 && strncmp(h, "Neoplasm", 8) == 0) {
            return CS_INDEX_T_NEOPLASM;
        }
    }
    if (ld->title_len && memmem(ld->arena + ld->title, ld->title_len, "External Cause", 14)) {
        return CS_INDEX_T_EINDEX;
    }
    return CS_INDEX_T_INDEX;
}

/* At the first <letter>: settle the table and emit its root. */
static int s_begin_table(s_load_t *ld)
{
    if (ld->root_emitted) {
        return CS_OK;
    }
    ld->table = s_guess_table(ld);
    int tabular = ld->table == CS_INDEX_T_DRUG || ld->table == CS_INDEX_T_NEOPLASM;
    if (ld->tables_done >> ld->table & 1) {
        return cs_xml_fail(&ld->x, CS_EMALFORMED, "a second file of the %s: one file per table",
                           cs_index_table_title(ld->table));
    }
    if (tabular && !(ld->heads & 2)) {
        return cs_xml_fail(&ld->x, CS_EMALFORMED, "the %s has no <indexHeading> with col 1",
                           cs_index_table_title(ld->table));
    }
    ld->tables_done |= 1u << ld->table;
    return s_emit_root(ld);
}

/* ---- elements --------------------------------------------------------------------------- */

static int s_unknown(s_load_t *ld, const char *name, const char *where)
{
    char shown[64];
    cs_xml_escape(name, strlen(name), shown, sizeof shown);
    if (!strcmp(name, "diff") || !strcmp(name, "new") || !strcmp(name, "old") ||
        !strcmp(name, "unc")) {
        return cs_xml_fail(&ld->x, CS_EMALFORMED, "<%s> is addenda markup: load the full index "
                           "files, not the addenda", shown);
    }
    return cs_xml_fail(&ld->x, CS_EMALFORMED, "unknown element <%s> in <%s>", shown, where);
}

static int s_field_index(const char *name)
{
    for (size_t i = 0; i < S_N_FIELDS; i++) {
        if (strcmp(name, s_fields[i].element) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* A child of a term: its title, a field, a cell or a subterm. */
static int s_term_child(s_load_t *ld, s_frame_t *top, const char *name, s_frame_t *nf)
{
    if (strcmp(name, "term") == 0) {
        int level = s_small_attr(ld, "level", CS_INDEX_MAX_LEVEL);
        if (level != top->level + 1) {
            if (level <= 0) {
                return cs_xml_fail(&ld->x, CS_EMALFORMED, "<term> needs a level of 1 to %d",
                                   CS_INDEX_MAX_LEVEL);
            }
            return cs_xml_fail(&ld->x, CS_EMALFORMED, "<term> of level %d under a term of "
                               "level %d: a level must be its parent's plus one", level,
                               top->level);
        }
        if (!top->emitted) {
            int rc = s_emit_term(ld, ld->depth - 1);
            if (rc != CS_OK) {
                return rc;
            }
        }
        top->has_child = 1;
        nf->kind = S_F_TERM;
        nf->level = level;
        return CS_OK;
    }
    if (top->has_child) {
        return cs_xml_fail(&ld->x, CS_EMALFORMED, "<%s> after a subterm: a term's title, "
                           "fields and cells come before its subterms", name);
    }
    nf->kind = S_F_TEXT;
    nf->text = ld->arena_len;
    if (strcmp(name, "title") == 0) {
        if (top->has_title) {
            return cs_xml_fail(&ld->x, CS_EMALFORMED, "a second <title> in a term");
        }
        nf->role = S_T_TERM_TITLE;
        top->nemod_at = S_NONE;
        return CS_OK;
    }
    if (strcmp(name, "cell") == 0) {
        int col = s_small_attr(ld, "col", CS_INDEX_MAX_COLS);
        if (col <= 0) {
            return cs_xml_fail(&ld->x, CS_EMALFORMED, "<cell> needs a col of 2 to %d",
                               CS_INDEX_MAX_COLS);
        }
        if (col < 2 || !(ld->heads >> col & 1)) {
            return cs_xml_fail(&ld->x, CS_EMALFORMED, "<cell> col %d is outside the heading's "
                               "columns (cells fill the columns after col 1, the term's)", col);
        }
        if (top->cells >> col & 1) {
            return cs_xml_fail(&ld->x, CS_EMALFORMED, "a second <cell> col %d in a term", col);
        }
        top->cells |= 1u << col;
        nf->role = S_T_CELL;
        nf->col = (uint8_t)col;
        return CS_OK;
    }
    int fi = s_field_index(name);
    if (fi < 0) {
        return s_unknown(ld, name, top->level ? "term" : "mainTerm");
    }
    nf->role = S_T_FIELD;
    nf->col = (uint8_t)fi;
    nf->field = s_fields[fi].attr;
    return CS_OK;
}

/* Classify a start tag under top into nf (kind and what it needs). */
static int s_classify(s_load_t *ld, s_frame_t *top, const char *name, s_frame_t *nf)
{
    switch (top->kind) {
    case S_F_ROOT:
        if (strcmp(name, "letter") == 0) {
            nf->kind = S_F_LETTER;
            return s_begin_table(ld);
        }
        if (ld->root_emitted) {
            return cs_xml_fail(&ld->x, CS_EMALFORMED, "<%s> after the first <letter>", name);
        }
        nf->kind = S_F_TEXT;
        nf->text = ld->arena_len;
        nf->mark = S_NONE; /* kept for the root record */
        if (strcmp(name, "version") == 0) {
            nf->role = S_T_VERSION;
        } else if (strcmp(name, "title") == 0) {
            nf->role = S_T_ROOT_TITLE;
        } else if (strcmp(name, "indexHeading") == 0) {
            nf->kind = S_F_HEADING;
        } else {
            return s_unknown(ld, name, S_ROOT);
        }
        return CS_OK;
    case S_F_HEADING:
        if (strcmp(name, "head") != 0) {
            return s_unknown(ld, name, "indexHeading");
        }
        nf->col = (uint8_t)s_small_attr(ld, "col", CS_INDEX_MAX_COLS);
        if (nf->col == 0 || nf->col > CS_INDEX_MAX_COLS || (ld->heads >> nf->col & 1)) {
            return cs_xml_fail(&ld->x, CS_EMALFORMED, "<head> needs a col of 1 to %d, once each",
                               CS_INDEX_MAX_COLS);
        }
        nf->kind = S_F_TEXT;
        nf->role = S_T_HEAD;
        nf->text = ld->arena_len;
        nf->mark = S_NONE;
        return CS_OK;
    case S_F_LETTER:
        if (strcmp(name, "title") == 0) {
            nf->kind = S_F_SKIPTEXT;
        } else if (strcmp(name, "mainTerm") == 0) {
            nf->kind = S_F_TERM;
            nf->level = 0;
        } else {
            return s_unknown(ld, name, "letter");
        }
        return CS_OK;
    case S_F_TERM:
        return s_term_child(ld, top, name, nf);
    case S_F_TEXT:
        if (strcmp(name, "nemod") != 0) {
            return s_unknown(ld, name, "title");
        }
        nf->kind = top->role == S_T_TERM_TITLE ? S_F_NEMOD : S_F_INLINE;
        if (nf->kind == S_F_NEMOD) {
            s_frame_t *term = top - 1;
            if (term->nemod_at != S_NONE) {
                return cs_xml_fail(&ld->x, CS_EMALFORMED, "a second <nemod> in a title");
            }
            if (s_append(ld, " ", 1) != CS_OK) {
                return CS_ENOMEM;
            }
            term->nemod_at = ld->arena_len;
        }
        return CS_OK;
    default:
        return s_unknown(ld, name, "nemod");
    }
}

static int s_end(s_load_t *ld);

static int s_start(s_load_t *ld, int empty)
{
    const char *name = (const char *)xmlTextReaderConstName(ld->x.reader);
    if (!name) {
        return s_nomem(ld);
    }
    if (ld->depth >= S_DEPTH_MAX) {
        return cs_xml_fail(&ld->x, CS_EMALFORMED, "elements are nested deeper than %d levels",
                           S_DEPTH_MAX);
    }
    s_frame_t *nf = &ld->frames[ld->depth];
    memset(nf, 0, offsetof(s_frame_t, attrs));
    nf->n_attrs = 0;
    nf->cells = nf->fields = 0;
    nf->has_title = nf->has_child = nf->emitted = 0;
    nf->nemod_at = S_NONE;
    nf->mark = ld->arena_len;
    nf->line = cs_xml_line(&ld->x, NULL);
    if (ld->depth == 0) {
        if (strcmp(name, S_ROOT) != 0) {
            char shown[64];
            return cs_xml_fail(&ld->x, CS_EMALFORMED, "root element is <%s>, expected <%s>",
                               cs_xml_escape(name, strlen(name), shown, sizeof shown), S_ROOT);
        }
        nf->kind = S_F_ROOT;
    } else {
        int rc = s_classify(ld, &ld->frames[ld->depth - 1], name, nf);
        if (rc != CS_OK) {
            return rc;
        }
    }
    ld->depth++;
    return empty ? s_end(ld) : CS_OK;
}

/* A term's field or cell, its text collapsed, becomes one of its attributes. */
static int s_add_attr(s_load_t *ld, s_frame_t *term, const s_frame_t *f)
{
    size_t len = s_collapse(ld, f->text, NULL, NULL);
    if (f->role == S_T_FIELD) {
        unsigned bit = 1u << f->col;
        if (term->fields & bit) {
            return cs_xml_fail(&ld->x, CS_EMALFORMED, "a second <%s> in a term",
                               s_fields[f->col].element);
        }
        term->fields |= bit;
        if (len == 0) {
            return cs_xml_fail(&ld->x, CS_EMALFORMED, "an empty <%s>", s_fields[f->col].element);
        }
    }
    if (term->n_attrs == S_ATTRS_MAX) {
        return cs_xml_fail(&ld->x, CS_EMALFORMED, "a term with more than %d fields and cells",
                           S_ATTRS_MAX);
    }
    const char *name = f->role == S_T_CELL ? s_cell_names[f->col] : f->field;
    term->attrs[term->n_attrs++] = (s_attr_t){name, f->text, len};
    ld->cells += f->role == S_T_CELL;
    return CS_OK;
}

/* A term's title, collapsed; its nemod becomes the attribute "nemod", first. */
static int s_end_title(s_load_t *ld, s_frame_t *term, const s_frame_t *f)
{
    size_t at = term->nemod_at, end = term->nemod_end;
    int has_nemod = at != S_NONE;
    size_t len = s_collapse(ld, f->text, has_nemod ? &at : NULL, has_nemod ? &end : NULL);
    if (len == 0) {
        return cs_xml_fail(&ld->x, CS_EMALFORMED, "an empty <title> in a term");
    }
    term->has_title = 1;
    term->title = f->text;
    term->title_len = len;
    if (has_nemod) {
        while (at < end && ld->arena[at] == ' ') {
            at++;
        }
        while (end > at && ld->arena[end - 1] == ' ') {
            end--;
        }
        if (end > at) {
            if (term->n_attrs) {
                memmove(&term->attrs[1], &term->attrs[0], term->n_attrs * sizeof term->attrs[0]);
            }
            term->attrs[0] = (s_attr_t){"nemod", at, end - at};
            term->n_attrs++;
        }
    }
    return CS_OK;
}

/* The end of a text element under the root or the heading: keep it for the root record. */
static void s_end_head_text(s_load_t *ld, const s_frame_t *f)
{
    size_t len = s_collapse(ld, f->text, NULL, NULL);
    if (f->role == S_T_VERSION) {
        ld->version = f->text;
        ld->version_len = len;
    } else if (f->role == S_T_ROOT_TITLE) {
        ld->title = f->text;
        ld->title_len = len;
    } else {
        ld->head[f->col] = f->text;
        ld->head_len[f->col] = len;
        ld->heads |= 1u << f->col;
    }
}

static int s_end(s_load_t *ld)
{
    s_frame_t *f = &ld->frames[--ld->depth];
    s_frame_t *top = ld->depth ? f - 1 : NULL;
    int rc = CS_OK;
    switch (f->kind) {
    case S_F_TERM:
        rc = f->emitted ? CS_OK : s_emit_term(ld, ld->depth);
        ld->main_terms += f->level == 0;
        ld->terms += f->level != 0;
        ld->per_level[f->level]++;
        ld->arena_len = f->mark;
        return rc;
    case S_F_NEMOD:
        top[-1].nemod_end = ld->arena_len;
        return s_append(ld, " ", 1);
    case S_F_TEXT:
        if (f->role == S_T_TERM_TITLE) {
            return s_end_title(ld, top, f);
        }
        if (f->role == S_T_FIELD || f->role == S_T_CELL) {
            return s_add_attr(ld, top, f);
        }
        s_end_head_text(ld, f);
        return CS_OK;
    case S_F_ROOT:
        if (!ld->root_emitted) {
            return cs_xml_fail(&ld->x, CS_EMALFORMED, "<%s> holds no <letter>", S_ROOT);
        }
        return CS_OK;
    default:
        return CS_OK;
    }
}

static int s_text(s_load_t *ld, int type)
{
    const char *v = (const char *)xmlTextReaderConstValue(ld->x.reader);
    if (!v || ld->depth == 0) {
        return CS_OK;
    }
    uint8_t k = ld->frames[ld->depth - 1].kind;
    size_t n = strlen(v);
    if (k == S_F_TEXT || k == S_F_NEMOD || k == S_F_INLINE) {
        return s_append(ld, v, n);
    }
    if (k == S_F_SKIPTEXT || type != XML_READER_TYPE_TEXT) {
        return CS_OK;
    }
    for (size_t i = 0; i < n; i++) {
        if (!cs_xml_is_space(v[i])) {
            return cs_xml_fail(&ld->x, CS_EMALFORMED, "text outside the elements that hold "
                               "text");
        }
    }
    return CS_OK;
}

static int s_stream(s_load_t *ld)
{
    for (;;) {
        int type;
        int rc = cs_xml_next(&ld->x, &type);
        if (rc == CS_OK) {
            rc = cs_xml_tick(&ld->x);
        }
        if (rc != CS_OK) {
            return rc;
        }
        if (type == XML_READER_TYPE_NONE) {
            break;
        }
        if (type == XML_READER_TYPE_ELEMENT) {
            rc = s_start(ld, xmlTextReaderIsEmptyElement(ld->x.reader) == 1);
        } else if (type == XML_READER_TYPE_END_ELEMENT) {
            rc = ld->depth ? s_end(ld) : cs_xml_fail(&ld->x, CS_EINTERNAL, "stray end tag");
        } else if (type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_CDATA ||
                   type == XML_READER_TYPE_WHITESPACE ||
                   type == XML_READER_TYPE_SIGNIFICANT_WHITESPACE) {
            rc = s_text(ld, type);
        }
        if (rc != CS_OK) {
            return rc;
        }
    }
    if (!ld->root_emitted && ld->depth == 0) {
        return cs_xml_fail_at(&ld->x, CS_EMALFORMED, 0, 0, "the file holds no <%s>", S_ROOT);
    }
    if (ld->depth != 0) {
        return cs_xml_fail(&ld->x, CS_EMALFORMED, "the file ends inside an element (truncated?)");
    }
    return CS_OK;
}

/* Read one file of the load. */
static int s_file(s_load_t *ld, const char *path)
{
    ld->table = -1;
    ld->root_emitted = 0;
    ld->heads = 0;
    ld->version_len = ld->title_len = 0;
    ld->depth = 0;
    ld->arena_len = 0;
    ld->main_terms = ld->terms = ld->cells = 0;
    memset(ld->per_level, 0, sizeof ld->per_level);
    int rc = cs_xml_open(&ld->x, path, CS_XML_BIG_LINES | CS_XML_REGULAR);
    if (rc == CS_OK) {
        rc = s_stream(ld);
    }
    if (rc == CS_OK) {
        char levels[128];
        size_t o = 0;
        for (int l = 1; l <= CS_INDEX_MAX_LEVEL && ld->per_level[l]; l++) {
            o += (size_t)snprintf(levels + o, sizeof levels - o, "%s%llu", l > 1 ? "/" : "",
                                  (unsigned long long)ld->per_level[l]);
        }
        levels[o < sizeof levels ? o : sizeof levels - 1] = '\0';
        ld->x.host->log(CS_LOG_INFO, "icd10cm-index",
                        "%s: %s, %llu main terms, terms per level %s, %llu cells", ld->x.base,
                        cs_index_table_name(ld->table), (unsigned long long)ld->main_terms,
                        o ? levels : "none", (unsigned long long)ld->cells);
    }
    cs_xml_close(&ld->x, rc);
    return rc;
}

/* ---- sniff and load --------------------------------------------------------------------- */

static int s_is_index_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        return 0;
    }
    char buf[CS_XML_SNIFF_MAX + 1];
    size_t got = fread(buf, 1, CS_XML_SNIFF_MAX, fp);
    fclose(fp);
    return memmem(buf, got, "<" S_ROOT, sizeof S_ROOT) != NULL;
}

static int s_sniff(const char *const *files, size_t n_files)
{
    if (!files || n_files < 1 || n_files > CS_INDEX_TABLES) {
        return 0;
    }
    for (size_t i = 0; i < n_files; i++) {
        if (!files[i] || !s_is_index_file(files[i])) {
            return 0;
        }
    }
    return 1;
}

static int s_load(const cs_host_api_t *host, cs_sink_t *sink, const char *const *files,
                  size_t n_files, cs_error_t *err)
{
    if (!host || !files || !CS_HOST_HAS(host, emit) || !CS_HOST_HAS(host, log)) {
        return cs_error_set(err, CS_EINVAL, "icd10cm-index: no host table or no files");
    }
    if (n_files < 1 || n_files > CS_INDEX_TABLES) {
        return cs_error_set(err, CS_EINVAL, "icd10cm-index takes 1 to %d files (index, eindex, "
                            "drug, neoplasm), not %zu", CS_INDEX_TABLES, n_files);
    }
    s_load_t *ld = calloc(1, sizeof *ld);
    if (!ld) {
        return cs_error_set(err, CS_ENOMEM, "icd10cm-index: out of memory");
    }
    cs_xml_begin(&ld->x, host, sink, err);
    int rc = CS_OK;
    for (size_t i = 0; rc == CS_OK && i < n_files; i++) {
        rc = s_file(ld, files[i]);
    }
    free(ld->arena);
    free(ld->scratch);
    cs_hset_free(&ld->keys);
    free(ld);
    return rc;
}

static const char *const s_systems[] = {S_SET, NULL};

static const cs_loader_ops_t s_ops = {
    .systems = s_systems,
    .sniff = s_sniff,
    .load = s_load,
    .flags = CS_LOADER_INDEX,
};

CS_PLUGIN_EXPORT const cs_plugin_desc_t cs_plugin_icd10cm_index = {
    CS_PLUGIN_HEADER,
    .kind = CS_PLUGIN_LOADER,
    .name = "icd10cm-index",
    .version = "1.0.0",
    .title = "ICD-10-CM Index, External Cause Index, Table of Drugs and Chemicals and Neoplasm "
             "Table from the CDC XML",
    .system = NULL,
    .loader = &s_ops,
};
