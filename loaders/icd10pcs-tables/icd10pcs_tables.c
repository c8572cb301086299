/* icd10pcs_tables.c: loader plugin "icd10pcs-tables": an ICD-10-PCS release from the CMS
 * tables XML (<ICD10PCS.tabular>), optionally with the order file, the definitions XML
 * (<ICD10PCS.definitions>) and the index XML (<ICD10PCS.index>) of the same release.
 *
 * A code is valid iff a <pcsRow> of its table allows each of its characters 4 to 7, so every
 * row is expanded into the cartesian product of its axis 4..7 labels. Records, parents first:
 *
 *     <pcsTable>  -> CS_CLASS_CODE "0DT", kind "table", not billable, emitted when its first
 *                    <pcsRow> starts (the table's axes 1..3 come before its rows)
 *     <pcsRow>    -> CS_CLASS_CODE "0DTJ0ZZ" ..., kind "code", billable, parent the table
 *
 * Two rows may allow the same code (and a table may in principle appear twice); every code
 * is emitted once, from the first row that produces it, because the host refuses duplicates.
 *
 * With the order file, which is read fully first, the order file is the authority: titles,
 * short titles, billable flags and order numbers come from it, and a code (or table) that
 * one side has and the other lacks fails the load at its file:line. Without it, a table's
 * title is "Section, Body System, Operation" and a code's title is composed from its labels
 * in the style of the CMS long titles (see s_compose).
 *
 * The definitions file's "includes" terms of a label (body part, device, ...) and the index's
 * main terms that point at a code or one of its prefixes (table, 4..6 characters) become
 * search terms of the matching codes.
 *
 * Every XML file is streamed with libxml2's xmlTextReader (XML_PARSE_NONET, plus BIG_LINES for
 * true line numbers past 65535; no DTD loading, no entity substitution); a DOCTYPE or an entity
 * reference fails the load, which blocks external entities and entity expansion bombs.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlreader.h>

#include "../common/cs_bytes.h"
#include "../common/cs_order.h"
#include "../common/cs_text.h"
#include "../common/cs_xml.h"
#include "codeset/cs_plugin.h"

#if LIBXML_VERSION < 20904
#error "icd10pcs-tables needs libxml2 2.9.4 or later"
#endif

#define S_NAME "icd10pcs-tables"
#define S_SYSTEM "icd10pcs"
#define S_ROOT "ICD10PCS.tabular"
#define S_DEF_ROOT "ICD10PCS.definitions"
#define S_IDX_ROOT "ICD10PCS.index"
#define S_SNIFF_MAX 4096   /* bytes sniff() peeks at */
#define S_DEPTH_MAX 64     /* deepest element accepted (the root is depth 0) */
#define S_TICK 4096        /* records between progress reports and cancel checks */
#define S_NODE_TICK 16384  /* XML nodes between progress reports and cancel checks */
#define S_CODE_LEN 7       /* an ICD-10-PCS code */
#define S_TABLE_LEN 3      /* its table */
#define S_MAX_FILES 4      /* tables, order, definitions, index */

/* What an open element is to the loader (one enum for the three XML files). */
enum s_kind {
    S_K_ROOT,     /* the document element */
    S_K_IGNORE,   /* an element the loader skips, with its subtree */
    S_K_INNER,    /* an element whose subtree is walked but whose text is not kept */
    S_K_TEXTIN,   /* an element inside a text element: its text joins the text */
    /* tables */
    S_K_TABLE,    /* <pcsTable> */
    S_K_TAXIS,    /* <axis> of a table (pos 1..3) */
    S_K_ROW,      /* <pcsRow> */
    S_K_RAXIS,    /* <axis> of a row (pos 4..7) */
    S_K_LABEL,    /* <label code=..> of an axis: text */
    S_K_DEFN,     /* <definition> of a table axis: text */
    S_K_ATITLE,   /* <title> of a row axis: text */
    /* definitions */
    S_K_DSECTION, /* <section code=..> */
    S_K_DAXIS,    /* <axis pos=..> of a section */
    S_K_DTERMS,   /* <terms> of an axis */
    S_K_DTITLE,   /* <title> of a terms group: text (a label it describes) */
    S_K_DINCL,    /* <includes> of a terms group: text */
    /* index */
    S_K_IMAIN,    /* <mainTerm> */
    S_K_ITITLE,   /* the <title> of a mainTerm: text */
    S_K_ICODE,    /* <codes>, <code>, <tab> anywhere under a mainTerm: text */
};

/* One open element. */
typedef struct s_frame {
    uint8_t kind;  /* enum s_kind */
    size_t text;   /* text kinds: buffer offset where the text starts */
    unsigned line; /* line of the start tag */
} s_frame_t;

/* A growable byte buffer. */
typedef struct s_buf {
    char *p;    /* bytes */
    size_t len; /* used */
    size_t cap; /* allocated */
} s_buf_t;

/* One label of a row axis; text is an offset into the table buffer. */
typedef struct s_label {
    char code;     /* the character */
    size_t text;   /* its label text */
    unsigned line; /* line of the <label> */
} s_label_t;

/* One axis of the current table (pos 1..3) or row (pos 4..7). */
typedef struct s_axis {
    int seen;      /* the axis was given */
    unsigned line; /* line of its <axis> */
    size_t first;  /* row axis: index of its first label in labels[] */
    size_t n;      /* number of labels */
    char code;     /* table axis: its one character */
    size_t text;   /* table axis: its label text, offset into the table buffer */
    size_t defn;   /* table axis: its definition, offset, or S_NONE */
    size_t title;  /* row axis: its <title>, offset, or S_NONE */
} s_axis_t;

#define S_NONE ((size_t)-1)

/* The includes of one definitions label: (section, pos, label) -> includes[first..+n). */
typedef struct s_defn {
    char section;  /* section character */
    char pos;      /* axis position '4'..'7' */
    size_t label;  /* pool offset of the label text */
    size_t first;  /* first index in incl[] */
    size_t n;      /* number of includes */
} s_defn_t;

/* One index reference: a main term pointing at a code or prefix. */
typedef struct s_iref {
    uint64_t key; /* the prefix packed a byte a character */
    size_t title; /* pool offset of the main term */
} s_iref_t;

/* The state of one load(). */
typedef struct s_load {
    cs_xml_t x;                /* host, error record and the XML file being read; done_before
                                * counts the bytes of the files read completely; nodes counts
                                * the current file's */
    const char *root;          /* the document element the current XML file must have */
    uint64_t records;          /* records emitted */
    uint64_t overlaps;         /* codes produced again by a later row */
    s_frame_t frames[S_DEPTH_MAX + 1]; /* open elements, frames[0] is the root */
    size_t depth;              /* number of open frames */
    s_buf_t *text;             /* where text of text elements goes */
    /* order file */
    const char *order_base;    /* its base name, or NULL without one */
    cs_order_t order;          /* the file (order.entries not NULL once read) */
    /* definitions and index */
    s_buf_t pool;              /* their strings (stable once the tables stream) */
    s_defn_t *defns;           /* definitions labels */
    size_t n_defns;            /* used */
    size_t cap_defns;          /* allocated */
    uint32_t *dslots;          /* hash of defns: index + 1 */
    size_t dslot_mask;         /* dslots - 1 */
    size_t *incl;              /* pool offsets of includes texts */
    size_t n_incl;             /* used */
    size_t cap_incl;           /* allocated */
    char d_section;            /* current <section>'s character, 0 outside one */
    char d_pos;                /* current <axis>'s position, 0 when not kept */
    size_t d_titles[64];       /* titles of the current <terms> */
    size_t d_n_titles;         /* used */
    size_t d_first;            /* first include of the current <terms> */
    s_iref_t *irefs;           /* index references, sorted by key once read */
    size_t n_irefs;            /* used */
    size_t cap_irefs;          /* allocated */
    size_t i_title;            /* the current mainTerm's title, or S_NONE */
    /* tables */
    s_buf_t tab;               /* strings of the current table */
    s_axis_t taxes[3];         /* the current table's axes 1..3 */
    unsigned table_line;       /* line of its <pcsTable> */
    int table_started;         /* its record is emitted (or it repeats an emitted one) */
    size_t table_rows;         /* rows seen in it */
    char table_code[S_TABLE_LEN + 1]; /* its code once axes 1..3 are known */
    size_t tables;             /* <pcsTable>s seen */
    s_axis_t raxes[4];         /* the current row's axes 4..7 */
    unsigned row_line;         /* line of its <pcsRow> */
    s_label_t *labels;         /* the current row's labels */
    size_t n_labels;           /* used */
    size_t cap_labels;         /* allocated */
    s_axis_t *cur_axis;        /* the axis being read, or NULL */
    char label_code;           /* the <label> being read: its character */
    cs_hset_t seen;            /* codes and tables emitted */
    s_buf_t title;             /* composed titles */
    const char **terms;        /* terms handed to emit */
    size_t cap_terms;          /* allocated */
} s_load_t;

/* ---- small helpers -------------------------------------------------------------------- */

/* An ICD-10-PCS character: a digit or an upper-case letter other than I and O. */
static int s_is_pcs(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z' && c != 'I' && c != 'O');
}

static int s_buf_reserve(s_buf_t *b, size_t more)
{
    return cs_bytes_reserve(&b->p, &b->cap, b->len, more);
}

static int s_buf_add(s_buf_t *b, const char *s, size_t n)
{
    if (s_buf_reserve(b, n + 1) != CS_OK) {
        return CS_ENOMEM;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return CS_OK;
}

static int s_buf_str(s_buf_t *b, const char *s)
{
    return s_buf_add(b, s, strlen(s));
}

/* Grow an array *p of *cap elements of size sz to hold at least need; CS_OK or CS_ENOMEM. */
static int s_grow(void **p, size_t *cap, size_t need, size_t sz)
{
    if (need <= *cap) {
        return CS_OK;
    }
    size_t n = *cap ? *cap : 64;
    while (n < need) {
        if (n > SIZE_MAX / 2 / sz) {
            return CS_ENOMEM;
        }
        n *= 2;
    }
    void *q = realloc(*p, n * sz);
    if (!q) {
        return CS_ENOMEM;
    }
    *p = q;
    *cap = n;
    return CS_OK;
}

/* Collapse white space runs of b->p[from..len) to one space and trim; NUL-terminate. Returns
 * the length of the result. */
static size_t s_squeeze(s_buf_t *b, size_t from)
{
    size_t o = from;
    int space = 0;
    for (size_t i = from; i < b->len; i++) {
        char c = b->p[i];
        if (cs_xml_is_space(c)) {
            space = o > from;
            continue;
        }
        if (space) {
            b->p[o++] = ' ';
            space = 0;
        }
        b->p[o++] = c;
    }
    b->len = o;
    b->p[o] = '\0';
    b->len++; /* keep the NUL: the next string starts after it */
    return o - from;
}

/* ---- errors ----------------------------------------------------------------------------- */

static int s_nomem(s_load_t *ld)
{
    return cs_xml_nomem(&ld->x);
}

/* ---- progress and cancel ---------------------------------------------------------------- */

/* Report progress and see whether the host wants the load to stop. */
static int s_poll(s_load_t *ld)
{
    if (ld->x.reader) {
        return cs_xml_poll(&ld->x);
    }
    /* between XML files: no position to give; the order file is the likely one */
    if (ld->x.has_progress) {
        ld->x.host->progress(ld->x.sink, cs_xml_bytes(&ld->x));
    }
    if (ld->x.has_cancelled && ld->x.host->cancelled(ld->x.sink)) {
        return cs_xml_fail_in(&ld->x, CS_ETERM, ld->order_base ? ld->order_base : "", 0, 0,
                              "load cancelled");
    }
    return CS_OK;
}

/* ---- order file ------------------------------------------------------------------------ */

/* cs_order_check_fn of ICD-10-PCS: a 7-character code or a 3-character table of ICD-10-PCS
 * characters; flag 0 or 1, and 0 for a table. */
static unsigned s_order_code(const char *code, size_t n, const char *shown, char flag, char *msg,
                             size_t cap)
{
    for (size_t i = 0; i < n; i++) {
        if (!s_is_pcs(code[i])) {
            snprintf(msg, cap,
                     "code '%s' has a character that is not an ICD-10-PCS character (0-9, A-Z "
                     "without I and O)",
                     shown);
            return CS_ORDER_COL_CODE + (unsigned)i;
        }
    }
    if (n != S_CODE_LEN && n != S_TABLE_LEN) {
        snprintf(msg, cap, "code '%s' is neither a 7-character code nor a 3-character table",
                 shown);
        return CS_ORDER_COL_CODE;
    }
    if (flag != '0' && flag != '1') {
        char shown_flag[8];
        snprintf(msg, cap, "flag is '%s', expected 0 (header) or 1 (billable)",
                 cs_xml_escape(&flag, 1, shown_flag, sizeof shown_flag));
        return CS_ORDER_COL_FLAG;
    }
    if (n == S_TABLE_LEN && flag != '0') {
        snprintf(msg, cap, "table '%s' has flag 1, but a table is never billable", shown);
        return CS_ORDER_COL_FLAG;
    }
    return 0;
}

/* Read the whole order file into memory, parse and index every line. */
static int s_order_read(s_load_t *ld, const char *path)
{
    cs_order_fault_t f;
    if (cs_order_read(&ld->order, path, s_order_code, 0, &f) != CS_OK) {
        return cs_xml_fail_in(&ld->x, f.code, ld->order_base, f.line, f.column, "%s", f.msg);
    }
    ld->x.done_before += ld->order.size;
    return s_poll(ld);
}

/* ---- the XML walk shared by the three files ---------------------------------------------- */

/* The current node's line (its own, or the parser's). */
static unsigned s_line(s_load_t *ld)
{
    return cs_xml_line(&ld->x, NULL);
}

/* Attribute name of the current element into out (cap bytes, truncated); 0 if absent. */
static int s_attr(s_load_t *ld, const char *name, char *out, size_t cap)
{
    xmlChar *v = xmlTextReaderGetAttribute(ld->x.reader, (const xmlChar *)name);
    if (!v) {
        out[0] = '\0';
        return 0;
    }
    snprintf(out, cap, "%s", (const char *)v);
    xmlFree(v);
    return 1;
}

/* Handlers of one XML file kind: what a child of a frame is, and what ending a frame does. */
typedef struct s_walker {
    /* Kind of a new element under parent; may read attributes and fail. */
    int (*start)(s_load_t *ld, const s_frame_t *parent, const char *name, uint8_t *kind);
    /* The element of frame f ends (its text, if a text kind, is squeezed at f->text). */
    int (*end)(s_load_t *ld, s_frame_t *f);
} s_walker_t;

static int s_is_text_kind(uint8_t k)
{
    return k == S_K_LABEL || k == S_K_DEFN || k == S_K_ATITLE || k == S_K_DTITLE ||
           k == S_K_DINCL || k == S_K_ITITLE || k == S_K_ICODE;
}

static int s_on_start(s_load_t *ld, const s_walker_t *w, int empty)
{
    const char *name = (const char *)xmlTextReaderConstLocalName(ld->x.reader);
    if (!name) {
        return s_nomem(ld);
    }
    uint8_t kind = S_K_IGNORE;
    if (ld->depth == 0) {
        if (strcmp(name, ld->root) != 0) {
            return cs_xml_fail(&ld->x, CS_EMALFORMED, "the root element is <%.60s>, expected <%s>",
                               name, ld->root);
        }
        kind = S_K_ROOT;
    } else {
        const s_frame_t *parent = &ld->frames[ld->depth - 1];
        if (parent->kind == S_K_IGNORE) {
            kind = S_K_IGNORE;
        } else if (s_is_text_kind(parent->kind) || parent->kind == S_K_TEXTIN) {
            kind = S_K_TEXTIN;
        } else {
            int rc = w->start(ld, parent, name, &kind);
            if (rc != CS_OK) {
                return rc;
            }
        }
    }
    if (ld->depth > S_DEPTH_MAX) {
        return cs_xml_fail(&ld->x, CS_EMALFORMED, "elements are nested deeper than %d levels",
                           S_DEPTH_MAX);
    }
    if (s_is_text_kind(kind) && s_buf_reserve(ld->text, 1) != CS_OK) {
        return s_nomem(ld);
    }
    s_frame_t *f = &ld->frames[ld->depth++];
    f->kind = kind;
    f->line = s_line(ld);
    f->text = ld->text ? ld->text->len : 0;
    if (!empty) {
        return CS_OK;
    }
    /* an empty element ends at once: no END node follows */
    ld->depth--;
    if (s_is_text_kind(kind)) {
        s_squeeze(ld->text, f->text);
    }
    return kind == S_K_IGNORE || kind == S_K_TEXTIN ? CS_OK : w->end(ld, f);
}

static int s_on_end(s_load_t *ld, const s_walker_t *w)
{
    if (ld->depth == 0) {
        return cs_xml_fail(&ld->x, CS_EINTERNAL, "end tag without a start tag");
    }
    s_frame_t *f = &ld->frames[--ld->depth];
    if (s_is_text_kind(f->kind)) {
        s_squeeze(ld->text, f->text);
    }
    return f->kind == S_K_IGNORE || f->kind == S_K_TEXTIN ? CS_OK : w->end(ld, f);
}

static int s_on_text(s_load_t *ld)
{
    if (ld->depth == 0 || !ld->text) {
        return CS_OK;
    }
    uint8_t k = ld->frames[ld->depth - 1].kind;
    if (!s_is_text_kind(k) && k != S_K_TEXTIN) {
        return CS_OK;
    }
    const char *v = (const char *)xmlTextReaderConstValue(ld->x.reader);
    if (v && s_buf_add(ld->text, v, strlen(v)) != CS_OK) {
        return s_nomem(ld);
    }
    return CS_OK;
}

/* Stream one XML file with root element root through w; text goes to text. */
static int s_walk(s_load_t *ld, const char *path, const char *root, const s_walker_t *w,
                  s_buf_t *text)
{
    ld->root = root;
    ld->depth = 0;
    ld->text = text;
    ld->x.nodes = 0;
    int rc = cs_xml_open(&ld->x, path, CS_XML_REGULAR | CS_XML_BIG_LINES | CS_XML_RAW_ERRORS);
    if (rc != CS_OK) {
        return rc;
    }
    int saw_root = 0;
    for (;;) {
        int type;
        rc = cs_xml_next(&ld->x, &type);
        if (rc != CS_OK || type == XML_READER_TYPE_NONE) {
            break;
        }
        switch (type) {
        case XML_READER_TYPE_ELEMENT:
            saw_root = 1;
            rc = s_on_start(ld, w, xmlTextReaderIsEmptyElement(ld->x.reader) == 1);
            break;
        case XML_READER_TYPE_END_ELEMENT:
            rc = s_on_end(ld, w);
            break;
        case XML_READER_TYPE_TEXT:
        case XML_READER_TYPE_CDATA:
        case XML_READER_TYPE_WHITESPACE:
        case XML_READER_TYPE_SIGNIFICANT_WHITESPACE:
            rc = s_on_text(ld);
            break;
        default:
            break;
        }
        if (rc == CS_OK && ++ld->x.nodes % S_NODE_TICK == 0) {
            rc = s_poll(ld);
        }
        if (rc != CS_OK) {
            break;
        }
    }
    if (rc == CS_OK && !saw_root) {
        rc = cs_xml_fail_at(&ld->x, CS_EMALFORMED, 0, 0, "the file holds no XML element");
    }
    if (rc == CS_OK && ld->depth != 0) {
        rc = cs_xml_fail(&ld->x, CS_EMALFORMED, "the document ends inside an element");
    }
    /* not cs_xml_close(): a file counts as the bytes the reader consumed, not its size */
    if (rc == CS_OK) {
        ld->x.done_before = cs_xml_bytes(&ld->x);
    }
    xmlFreeTextReader(ld->x.reader);
    ld->x.reader = NULL;
    ld->text = NULL;
    if (rc == CS_OK && ld->x.has_progress) {
        ld->x.host->progress(ld->x.sink, ld->x.done_before);
    }
    return rc;
}

/* ---- definitions file ------------------------------------------------------------------- */

static uint64_t s_defn_hash(char section, char pos, const char *label)
{
    uint64_t h = 1469598103934665603u;
    h = (h ^ (unsigned char)section) * 1099511628211u;
    h = (h ^ (unsigned char)pos) * 1099511628211u;
    for (const unsigned char *p = (const unsigned char *)label; *p; p++) {
        h = (h ^ *p) * 1099511628211u;
    }
    return h;
}

/* The includes entry of (section, pos, label), or NULL. */
static const s_defn_t *s_defn_find(const s_load_t *ld, char section, char pos, const char *label)
{
    if (!ld->dslots) {
        return NULL;
    }
    size_t i = (size_t)s_defn_hash(section, pos, label) & ld->dslot_mask;
    while (ld->dslots[i]) {
        const s_defn_t *d = &ld->defns[ld->dslots[i] - 1];
        if (d->section == section && d->pos == pos && strcmp(ld->pool.p + d->label, label) == 0) {
            return d;
        }
        i = (i + 1) & ld->dslot_mask;
    }
    return NULL;
}

/* Hash the definitions labels once the file is read. */
static int s_defn_index(s_load_t *ld)
{
    size_t cap = 1024;
    while (cap < 2 * ld->n_defns) {
        cap *= 2;
    }
    ld->dslots = calloc(cap, sizeof *ld->dslots);
    if (!ld->dslots) {
        return cs_xml_fail_in(&ld->x, CS_ENOMEM, "", 0, 0, "out of memory");
    }
    ld->dslot_mask = cap - 1;
    for (size_t k = 0; k < ld->n_defns; k++) {
        const s_defn_t *d = &ld->defns[k];
        const char *label = ld->pool.p + d->label;
        if (s_defn_find(ld, d->section, d->pos, label)) {
            continue; /* the same label twice: the first group's includes stand */
        }
        size_t i = (size_t)s_defn_hash(d->section, d->pos, label) & ld->dslot_mask;
        while (ld->dslots[i]) {
            i = (i + 1) & ld->dslot_mask;
        }
        ld->dslots[i] = (uint32_t)(k + 1);
    }
    return CS_OK;
}

static int s_def_start(s_load_t *ld, const s_frame_t *parent, const char *name, uint8_t *kind)
{
    char v[16];
    *kind = S_K_IGNORE;
    switch (parent->kind) {
    case S_K_ROOT:
        if (strcmp(name, "section") == 0) {
            s_attr(ld, "code", v, sizeof v);
            if (strlen(v) != 1 || !s_is_pcs(v[0])) {
                return cs_xml_fail(&ld->x, CS_EMALFORMED,
                                   "<section> code '%s' is not one ICD-10-PCS character", v);
            }
            ld->d_section = v[0];
            *kind = S_K_DSECTION;
        }
        break;
    case S_K_DSECTION:
        if (strcmp(name, "axis") == 0) {
            s_attr(ld, "pos", v, sizeof v);
            if (strlen(v) != 1 || v[0] < '1' || v[0] > '7') {
                return cs_xml_fail(&ld->x, CS_EMALFORMED, "<axis> pos '%s' is not 1 to 7", v);
            }
            /* axes 1..3 describe whole tables; only labels of characters 4..7 become terms */
            ld->d_pos = v[0] >= '4' ? v[0] : 0;
            *kind = ld->d_pos ? S_K_DAXIS : S_K_IGNORE;
        }
        break;
    case S_K_DAXIS:
        if (strcmp(name, "terms") == 0) {
            ld->d_n_titles = 0;
            ld->d_first = ld->n_incl;
            *kind = S_K_DTERMS;
        }
        break;
    case S_K_DTERMS:
        if (strcmp(name, "title") == 0) {
            *kind = S_K_DTITLE;
        } else if (strcmp(name, "includes") == 0) {
            *kind = S_K_DINCL;
        }
        break;
    default:
        break;
    }
    return CS_OK;
}

static int s_def_end(s_load_t *ld, s_frame_t *f)
{
    switch (f->kind) {
    case S_K_DTITLE:
        if (ld->pool.p[f->text] == '\0') {
            return cs_xml_fail_at(&ld->x, CS_EMALFORMED, f->line, 0, "<title> is empty");
        }
        if (ld->d_n_titles == sizeof ld->d_titles / sizeof ld->d_titles[0]) {
            return cs_xml_fail_at(&ld->x, CS_EMALFORMED, f->line, 0,
                                  "<terms> has more than %zu <title>s",
                                  sizeof ld->d_titles / sizeof ld->d_titles[0]);
        }
        ld->d_titles[ld->d_n_titles++] = f->text;
        break;
    case S_K_DINCL:
        if (ld->pool.p[f->text] == '\0') {
            break; /* an empty <includes/> adds nothing */
        }
        if (s_grow((void **)&ld->incl, &ld->cap_incl, ld->n_incl + 1, sizeof *ld->incl) !=
            CS_OK) {
            return s_nomem(ld);
        }
        ld->incl[ld->n_incl++] = f->text;
        break;
    case S_K_DTERMS:
        if (ld->n_incl == ld->d_first) {
            break; /* a definition without includes: no terms */
        }
        for (size_t i = 0; i < ld->d_n_titles; i++) {
            if (s_grow((void **)&ld->defns, &ld->cap_defns, ld->n_defns + 1,
                       sizeof *ld->defns) != CS_OK) {
                return s_nomem(ld);
            }
            ld->defns[ld->n_defns++] = (s_defn_t){
                .section = ld->d_section,
                .pos = ld->d_pos,
                .label = ld->d_titles[i],
                .first = ld->d_first,
                .n = ld->n_incl - ld->d_first,
            };
        }
        break;
    case S_K_DSECTION:
        ld->d_section = 0;
        break;
    default:
        break;
    }
    return CS_OK;
}

static const s_walker_t s_def_walker = {s_def_start, s_def_end};

/* ---- index file ------------------------------------------------------------------------- */

static int s_idx_start(s_load_t *ld, const s_frame_t *parent, const char *name, uint8_t *kind)
{
    *kind = S_K_IGNORE;
    if (parent->kind == S_K_ROOT) {
        if (strcmp(name, "letter") == 0) {
            *kind = S_K_INNER;
        }
    } else if (parent->kind == S_K_INNER && ld->depth == 2) {
        /* a child of <letter> */
        if (strcmp(name, "mainTerm") == 0) {
            ld->i_title = S_NONE;
            *kind = S_K_IMAIN;
        }
    } else if (parent->kind == S_K_IMAIN || parent->kind == S_K_INNER) {
        /* under a mainTerm: subterms, see and use hold the references at any depth */
        if (parent->kind == S_K_IMAIN && strcmp(name, "title") == 0) {
            *kind = S_K_ITITLE;
        } else if (strcmp(name, "codes") == 0 || strcmp(name, "code") == 0 ||
                   strcmp(name, "tab") == 0) {
            *kind = S_K_ICODE;
        } else {
            *kind = S_K_INNER;
        }
    }
    return CS_OK;
}

static int s_idx_end(s_load_t *ld, s_frame_t *f)
{
    const char *t = ld->pool.p + f->text;
    switch (f->kind) {
    case S_K_ITITLE:
        if (*t == '\0') {
            return cs_xml_fail_at(&ld->x, CS_EMALFORMED, f->line, 0,
                                  "<mainTerm> has an empty <title>");
        }
        ld->i_title = f->text;
        break;
    case S_K_ICODE: {
        size_t n = strlen(t);
        int ok = n >= S_TABLE_LEN && n <= S_CODE_LEN;
        for (size_t i = 0; ok && i < n; i++) {
            ok = s_is_pcs(t[i]);
        }
        if (!ok) {
            char shown[64];
            return cs_xml_fail_at(&ld->x, CS_EMALFORMED, f->line, 0,
                                  "'%s' is not an ICD-10-PCS code or code prefix (3 to 7 of 0-9, "
                                  "A-Z without I and O)", cs_xml_escape(t, n, shown, sizeof shown));
        }
        if (ld->i_title == S_NONE) {
            return cs_xml_fail_at(&ld->x, CS_EMALFORMED, f->line, 0,
                                  "code '%s' before the <title> of its <mainTerm>", t);
        }
        if (s_grow((void **)&ld->irefs, &ld->cap_irefs, ld->n_irefs + 1, sizeof *ld->irefs) !=
            CS_OK) {
            return s_nomem(ld);
        }
        ld->irefs[ld->n_irefs++] = (s_iref_t){.key = cs_hset_pack(t, n), .title = ld->i_title};
        break;
    }
    default:
        break;
    }
    return CS_OK;
}

static const s_walker_t s_idx_walker = {s_idx_start, s_idx_end};

static int s_iref_cmp(const void *a, const void *b)
{
    const s_iref_t *x = a;
    const s_iref_t *y = b;
    if (x->key != y->key) {
        return x->key < y->key ? -1 : 1;
    }
    return x->title < y->title ? -1 : x->title > y->title;
}

/* Point every includes text and index main term at the first pool string of the same text,
 * so s_add_term compares pointers instead of strings (a code gathers a dozen terms, and a
 * row expands into thousands of codes). The irefs keep their order. */
static int s_pool_canon(s_load_t *ld)
{
    size_t n = ld->n_incl + ld->n_irefs;
    size_t cap = 1024;
    while (cap < 2 * n) {
        cap *= 2;
    }
    size_t *slots = calloc(cap, sizeof *slots); /* pool offset + 1, 0 empty */
    if (!slots) {
        return s_nomem(ld);
    }
    for (size_t k = 0; k < n; k++) {
        size_t *off = k < ld->n_incl ? &ld->incl[k] : &ld->irefs[k - ld->n_incl].title;
        const char *t = ld->pool.p + *off;
        uint64_t h = 1469598103934665603u;
        for (const unsigned char *p = (const unsigned char *)t; *p; p++) {
            h = (h ^ *p) * 1099511628211u;
        }
        size_t i = (size_t)h & (cap - 1);
        while (slots[i] && strcmp(ld->pool.p + slots[i] - 1, t) != 0) {
            i = (i + 1) & (cap - 1);
        }
        if (slots[i]) {
            *off = slots[i] - 1;
        } else {
            slots[i] = *off + 1;
        }
    }
    free(slots);
    return CS_OK;
}

/* ---- emitting --------------------------------------------------------------------------- */

static int s_emit(s_load_t *ld, const cs_record_t *rec)
{
    int rc = ld->x.host->emit(ld->x.sink, rec, ld->x.err);
    if (rc != CS_OK) {
        return rc;
    }
    if (++ld->records % S_TICK != 0) {
        return CS_OK;
    }
    return s_poll(ld);
}

/* Add term t to ld->terms[0..*n) unless it is there already. Terms are pool strings made
 * unique by s_pool_canon, so equal texts are one pointer. */
static int s_add_term(s_load_t *ld, size_t *n, const char *t)
{
    for (size_t i = 0; i < *n; i++) {
        if (ld->terms[i] == t) {
            return CS_OK;
        }
    }
    if (s_grow((void **)&ld->terms, &ld->cap_terms, *n + 1, sizeof *ld->terms) != CS_OK) {
        return CS_ENOMEM;
    }
    ld->terms[(*n)++] = t;
    return CS_OK;
}

/* Add the index main terms that point at exactly the prefix code[0..len). */
static int s_add_index_terms(s_load_t *ld, size_t *n, const char *code, size_t len)
{
    if (ld->n_irefs == 0) {
        return CS_OK;
    }
    uint64_t key = cs_hset_pack(code, len);
    size_t lo = 0;
    size_t hi = ld->n_irefs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ld->irefs[mid].key < key) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    for (size_t i = lo; i < ld->n_irefs && ld->irefs[i].key == key; i++) {
        if (s_add_term(ld, n, ld->pool.p + ld->irefs[i].title) != CS_OK) {
            return CS_ENOMEM;
        }
    }
    return CS_OK;
}

static const char *s_tstr(const s_load_t *ld, size_t off)
{
    return off == S_NONE ? NULL : ld->tab.p + off;
}

/* Emit the current table's record, once its axes 1..3 are known. */
static int s_emit_table(s_load_t *ld)
{
    static const char *const names[3] = {"Section", "Body System", "Operation"};
    for (size_t i = 0; i < 3; i++) {
        if (!ld->taxes[i].seen) {
            return cs_xml_fail_at(&ld->x, CS_EMALFORMED, ld->table_line, 0,
                                  "<pcsTable> has no <axis pos=\"%zu\"> (%s) before its first "
                                  "<pcsRow>", i + 1, names[i]);
        }
        ld->table_code[i] = ld->taxes[i].code;
    }
    ld->table_code[S_TABLE_LEN] = '\0';
    ld->table_started = 1;
    int fresh = cs_hset_add(&ld->seen, cs_hset_pack(ld->table_code, S_TABLE_LEN), 1, NULL);
    if (fresh < 0) {
        return s_nomem(ld);
    }
    if (fresh == 0) {
        /* a table given twice: its rows add codes under the record emitted first */
        if (ld->x.host->log) {
            ld->x.host->log(CS_LOG_WARNING, S_NAME, "%s:%u: table %s appears again", ld->x.base,
                          ld->table_line, ld->table_code);
        }
        return CS_OK;
    }
    cs_order_entry_t *e = cs_order_find(&ld->order, cs_hset_pack(ld->table_code, S_TABLE_LEN));
    if (ld->order.entries && !e) {
        return cs_xml_fail_at(&ld->x, CS_EMALFORMED, ld->table_line, 0, "table %s is not in %s",
                              ld->table_code, ld->order_base);
    }
    const char *title = NULL;
    if (e) {
        e->emitted = 1;
        title = e->title;
    } else {
        ld->title.len = 0;
        for (size_t i = 0; i < 3; i++) {
            if ((i > 0 && s_buf_str(&ld->title, ", ") != CS_OK) ||
                s_buf_str(&ld->title, s_tstr(ld, ld->taxes[i].text)) != CS_OK) {
                return s_nomem(ld);
            }
        }
        title = ld->title.p;
    }
    cs_attr_t attrs[4] = {
        {"section", s_tstr(ld, ld->taxes[0].text)},
        {"body_system", s_tstr(ld, ld->taxes[1].text)},
        {"operation", s_tstr(ld, ld->taxes[2].text)},
        {"operation_definition", s_tstr(ld, ld->taxes[2].defn)},
    };
    size_t n_terms = 0;
    if (s_add_index_terms(ld, &n_terms, ld->table_code, S_TABLE_LEN) != CS_OK) {
        return s_nomem(ld);
    }
    cs_record_t rec = {
        .struct_size = sizeof(cs_record_t),
        .system = S_SYSTEM,
        .cls = CS_CLASS_CODE,
        .code = ld->table_code,
        .kind = "table",
        .billable = 0,
        .title = title,
        .short_title = e ? e->short_title : NULL,
        .parent_cls = 0,
        .parent = NULL,
        .order = e ? e->order : 0,
        .notes = NULL,
        .n_notes = 0,
        .terms = n_terms ? ld->terms : NULL,
        .n_terms = n_terms,
        .attrs = attrs,
        .n_attrs = attrs[3].value ? 4 : 3,
        .valid_from = 0,
        .valid_to = 0,
    };
    return s_emit(ld, &rec);
}

/* A label that means "this character adds nothing" and is left out of composed titles. */
static int s_is_nothing(const char *label)
{
    return strcmp(label, "No Device") == 0 || strcmp(label, "No Qualifier") == 0 ||
           strcmp(label, "None") == 0;
}

/* Append a body part or qualifier label, moving a trailing ", Right", ", Left" or
 * ", Bilateral" to the front as the CMS titles do ("Femur, Right" -> "Right Femur"). */
static int s_add_sided(s_buf_t *b, const char *label)
{
    static const char *const sides[] = {"Right", "Left", "Bilateral"};
    size_t n = strlen(label);
    for (size_t i = 0; i < sizeof sides / sizeof sides[0]; i++) {
        size_t k = strlen(sides[i]);
        if (n > k + 2 && memcmp(label + n - k - 2, ", ", 2) == 0 &&
            strcmp(label + n - k, sides[i]) == 0) {
            if (s_buf_str(b, sides[i]) != CS_OK || s_buf_add(b, " ", 1) != CS_OK) {
                return CS_ENOMEM;
            }
            return s_buf_add(b, label, n - k - 2);
        }
    }
    return s_buf_add(b, label, n);
}

/* How an operation's title reads where the CMS titles do not say "<Operation> of <body part>":
 * %b the body part, %d the device, %q the qualifier (each then not repeated after it). */
typedef struct s_form {
    const char *operation; /* the operation label */
    const char *pattern;   /* the title's head */
    const char *fallback;  /* the head when the pattern's device or qualifier is "No ..." */
} s_form_t;

static const s_form_t s_forms[] = {
    {"Bypass", "Bypass %b to %q", "Bypass %b"},
    {"Transfer", "Transfer %b to %q", "Transfer %b"},
    {"Repair", "Repair %b", NULL},
    {"Release", "Release %b", NULL},
    {"Reposition", "Reposition %b", NULL},
    {"Supplement", "Supplement %b", NULL},
    {"Removal", "Removal of %d from %b", NULL},
    {"Revision", "Revision of %d in %b", NULL},
    {"Insertion", "Insertion of %d into %b", NULL},
    {"Introduction", "Introduction of %d into %b", NULL},
    {"Change", "Change %d in %b", NULL},
    {"Extirpation", "Extirpation of Matter from %b", NULL},
    {"Fragmentation", "Fragmentation in %b", NULL},
};

/* Compose a code's title from its labels (l[0..6] for characters 1..7) into ld->title:
 * "<Operation> of <body part> with <device> [using <character 5>], <approach> Approach,
 * <qualifier>", in the word order CMS uses for the operations of s_forms, with "No Device",
 * "No Qualifier" and "None" left out and sides moved to the front. Measured on the 2025
 * release, this gives the order file's long title exactly for about three codes in four. */
static int s_compose(s_load_t *ld, const char *const l[7], const char *axis5)
{
    int approach_axis = !axis5 || strcmp(axis5, "Approach") == 0;
    s_buf_t *b = &ld->title;
    b->len = 0;
    const char *op = l[2];
    const char *bp = s_is_nothing(l[3]) ? NULL : l[3];
    const char *ap = s_is_nothing(l[4]) ? NULL : l[4];
    const char *dev = s_is_nothing(l[5]) ? NULL : l[5];
    const char *q = s_is_nothing(l[6]) ? NULL : l[6];
    const char *pattern = NULL;
    for (size_t i = 0; i < sizeof s_forms / sizeof s_forms[0] && bp; i++) {
        if (strcmp(op, s_forms[i].operation) == 0) {
            pattern = s_forms[i].pattern;
            if ((strstr(pattern, "%d") && !dev) || (strstr(pattern, "%q") && !q)) {
                pattern = s_forms[i].fallback;
            }
            break;
        }
    }
    int rc = CS_OK;
    if (pattern) {
        for (const char *p = pattern; *p && rc == CS_OK; p++) {
            if (p[0] == '%' && p[1] == 'b') {
                rc = s_add_sided(b, bp);
                p++;
            } else if (p[0] == '%' && p[1] == 'd') {
                rc = s_buf_str(b, dev);
                dev = NULL;
                p++;
            } else if (p[0] == '%' && p[1] == 'q') {
                rc = s_add_sided(b, q);
                q = NULL;
                p++;
            } else {
                rc = s_buf_add(b, p, 1);
            }
        }
    } else {
        rc = s_buf_str(b, op);
        if (rc == CS_OK && bp) {
            rc = s_buf_str(b, " of ");
            rc = rc == CS_OK ? s_add_sided(b, bp) : rc;
        }
    }
    if (rc == CS_OK && dev) {
        rc = s_buf_str(b, " with ");
        rc = rc == CS_OK ? s_buf_str(b, dev) : rc;
    }
    if (rc == CS_OK && ap && !approach_axis) {
        /* character 5 is a contrast, a duration, a radionuclide ...: "using" it */
        rc = s_buf_str(b, " using ");
        rc = rc == CS_OK ? s_buf_str(b, ap) : rc;
        if (rc == CS_OK && strcmp(axis5, "Contrast") == 0 && !strstr(ap, "Contrast")) {
            rc = s_buf_str(b, " Contrast"); /* "using Low Osmolar Contrast" */
        }
    }
    if (rc == CS_OK && ap && approach_axis) {
        rc = s_buf_str(b, ", ");
        rc = rc == CS_OK ? s_buf_str(b, ap) : rc;
        /* "Via Natural or Artificial Opening ..." reads without the word */
        if (rc == CS_OK && strncmp(ap, "Via ", 4) != 0) {
            rc = s_buf_str(b, " Approach");
        }
    }
    if (rc == CS_OK && q) {
        rc = s_buf_str(b, ", ");
        rc = rc == CS_OK ? s_add_sided(b, q) : rc;
    }
    return rc;
}

/* Emit the codes of the current row: the product of its axis 4..7 labels. */
static int s_expand_row(s_load_t *ld)
{
    for (size_t i = 0; i < 4; i++) {
        if (!ld->raxes[i].seen || ld->raxes[i].n == 0) {
            return cs_xml_fail_at(&ld->x, CS_EMALFORMED, ld->row_line, 0,
                                  "<pcsRow> of table %s has no %s for character %zu (<axis "
                                  "pos=\"%zu\"> with a <label>)", ld->table_code,
                                  !ld->raxes[i].seen ? "axis" : "label", i + 4, i + 4);
        }
    }
    const char *axis5 = s_tstr(ld, ld->raxes[1].title);
    const char *def = s_tstr(ld, ld->taxes[2].defn);
    size_t idx[4] = {0, 0, 0, 0};
    char code[S_CODE_LEN + 1];
    memcpy(code, ld->table_code, S_TABLE_LEN);
    code[S_CODE_LEN] = '\0';
    for (;;) {
        const char *l[7];
        for (size_t i = 0; i < 3; i++) {
            l[i] = s_tstr(ld, ld->taxes[i].text);
        }
        for (size_t i = 0; i < 4; i++) {
            const s_label_t *lab = &ld->labels[ld->raxes[i].first + idx[i]];
            code[S_TABLE_LEN + i] = lab->code;
            l[S_TABLE_LEN + i] = s_tstr(ld, lab->text);
        }
        uint64_t key = cs_hset_pack(code, S_CODE_LEN);
        int fresh = cs_hset_add(&ld->seen, key, 1, NULL);
        if (fresh < 0) {
            return s_nomem(ld);
        }
        if (fresh == 0) {
            ld->overlaps++;
        } else {
            cs_order_entry_t *e = cs_order_find(&ld->order, key);
            if (ld->order.entries && (!e || e->len != S_CODE_LEN)) {
                return cs_xml_fail_at(&ld->x, CS_EMALFORMED, ld->row_line, 0,
                                      "this <pcsRow> allows code %s, which is not in %s", code,
                                      ld->order_base);
            }
            const char *title = NULL;
            if (e) {
                e->emitted = 1;
                title = e->title;
            } else {
                if (s_compose(ld, l, axis5) != CS_OK) {
                    return s_nomem(ld);
                }
                title = ld->title.p;
            }
            cs_attr_t attrs[8] = {
                {"section", l[0]},  {"body_system", l[1]}, {"operation", l[2]},
                {"body_part", l[3]}, {"approach", l[4]},   {"device", l[5]},
                {"qualifier", l[6]}, {"operation_definition", def},
            };
            size_t n_terms = 0;
            int rc = CS_OK;
            for (size_t i = 0; i < 4 && rc == CS_OK && ld->dslots; i++) {
                const s_defn_t *d = s_defn_find(ld, code[0], (char)('4' + i),
                                                l[S_TABLE_LEN + i]);
                for (size_t k = 0; d && k < d->n && rc == CS_OK; k++) {
                    rc = s_add_term(ld, &n_terms, ld->pool.p + ld->incl[d->first + k]);
                }
            }
            for (size_t len = S_TABLE_LEN; len <= S_CODE_LEN && rc == CS_OK; len++) {
                rc = s_add_index_terms(ld, &n_terms, code, len);
            }
            if (rc != CS_OK) {
                return s_nomem(ld);
            }
            cs_record_t rec = {
                .struct_size = sizeof(cs_record_t),
                .system = S_SYSTEM,
                .cls = CS_CLASS_CODE,
                .code = code,
                .kind = "code",
                .billable = e ? e->billable : 1,
                .title = title,
                .short_title = e ? e->short_title : NULL,
                .parent_cls = CS_CLASS_CODE,
                .parent = ld->table_code,
                .order = e ? e->order : 0,
                .notes = NULL,
                .n_notes = 0,
                .terms = n_terms ? ld->terms : NULL,
                .n_terms = n_terms,
                .attrs = attrs,
                .n_attrs = def ? 8 : 7,
                .valid_from = 0,
                .valid_to = 0,
            };
            rc = s_emit(ld, &rec);
            if (rc != CS_OK) {
                return rc;
            }
        }
        /* next combination: the last character varies fastest, as in the order file */
        size_t i = 4;
        while (i > 0) {
            i--;
            if (++idx[i] < ld->raxes[i].n) {
                break;
            }
            idx[i] = 0;
            if (i == 0) {
                return CS_OK;
            }
        }
    }
}

/* ---- tables file ------------------------------------------------------------------------ */

/* Read pos="N" of an <axis>, which must be within lo..hi. */
static int s_axis_pos(s_load_t *ld, int lo, int hi, int *pos)
{
    char v[16];
    s_attr(ld, "pos", v, sizeof v);
    if (strlen(v) != 1 || v[0] < '0' + lo || v[0] > '0' + hi) {
        char shown[64];
        return cs_xml_fail(&ld->x, CS_EMALFORMED,
                           "<axis> pos '%s' is out of range: a %s axis has pos %d to %d",
                           cs_xml_escape(v, strlen(v), shown, sizeof shown),
                           lo == 1 ? "<pcsTable>" : "<pcsRow>", lo, hi);
    }
    *pos = v[0] - '0';
    return CS_OK;
}

static int s_tab_start(s_load_t *ld, const s_frame_t *parent, const char *name, uint8_t *kind)
{
    *kind = S_K_IGNORE;
    int pos = 0;
    int rc = CS_OK;
    switch (parent->kind) {
    case S_K_ROOT:
        if (strcmp(name, "pcsTable") == 0) {
            ld->tab.len = 0;
            memset(ld->taxes, 0, sizeof ld->taxes);
            ld->table_line = s_line(ld);
            ld->table_started = 0;
            ld->table_rows = 0;
            ld->tables++;
            *kind = S_K_TABLE;
            rc = s_poll(ld);
        }
        break;
    case S_K_TABLE:
        if (strcmp(name, "axis") == 0) {
            if (ld->table_started) {
                return cs_xml_fail(&ld->x, CS_EMALFORMED,
                                   "<axis> of a <pcsTable> after its first <pcsRow>");
            }
            rc = s_axis_pos(ld, 1, 3, &pos);
            if (rc != CS_OK) {
                return rc;
            }
            s_axis_t *a = &ld->taxes[pos - 1];
            if (a->seen) {
                return cs_xml_fail(&ld->x, CS_EMALFORMED, "<pcsTable> has axis %d twice", pos);
            }
            *a = (s_axis_t){.seen = 1, .line = s_line(ld), .text = S_NONE, .defn = S_NONE,
                            .title = S_NONE};
            ld->cur_axis = a;
            *kind = S_K_TAXIS;
        } else if (strcmp(name, "pcsRow") == 0) {
            if (!ld->table_started) {
                rc = s_emit_table(ld);
                if (rc != CS_OK) {
                    return rc;
                }
            }
            memset(ld->raxes, 0, sizeof ld->raxes);
            ld->n_labels = 0;
            ld->row_line = s_line(ld);
            ld->table_rows++;
            *kind = S_K_ROW;
        }
        break;
    case S_K_ROW:
        if (strcmp(name, "axis") == 0) {
            rc = s_axis_pos(ld, 4, 7, &pos);
            if (rc != CS_OK) {
                return rc;
            }
            s_axis_t *a = &ld->raxes[pos - 4];
            if (a->seen) {
                return cs_xml_fail(&ld->x, CS_EMALFORMED, "<pcsRow> has axis %d twice", pos);
            }
            *a = (s_axis_t){.seen = 1, .line = s_line(ld), .first = ld->n_labels,
                            .text = S_NONE, .defn = S_NONE, .title = S_NONE};
            ld->cur_axis = a;
            *kind = S_K_RAXIS;
        }
        break;
    case S_K_TAXIS:
    case S_K_RAXIS:
        if (strcmp(name, "label") == 0) {
            char v[16];
            char shown[64];
            if (!s_attr(ld, "code", v, sizeof v)) {
                return cs_xml_fail(&ld->x, CS_EMALFORMED, "<label> without a code attribute");
            }
            if (strlen(v) != 1) {
                return cs_xml_fail(&ld->x, CS_EMALFORMED, "<label> code '%s' is not one character",
                                   cs_xml_escape(v, strlen(v), shown, sizeof shown));
            }
            if (!s_is_pcs(v[0])) {
                return cs_xml_fail(&ld->x, CS_EMALFORMED,
                                   "<label> code '%s' is not an ICD-10-PCS character (0-9, A-Z "
                                   "without I and O)", cs_xml_escape(v, 1, shown, sizeof shown));
            }
            if (parent->kind == S_K_TAXIS && ld->cur_axis->n > 0) {
                return cs_xml_fail(&ld->x, CS_EMALFORMED,
                                   "a <pcsTable> axis has more than one <label>: the table's "
                                   "characters 1 to 3 are fixed");
            }
            ld->label_code = v[0];
            *kind = S_K_LABEL;
        } else if (strcmp(name, "definition") == 0 && parent->kind == S_K_TAXIS) {
            *kind = S_K_DEFN;
        } else if (strcmp(name, "title") == 0 && parent->kind == S_K_RAXIS) {
            *kind = S_K_ATITLE;
        }
        break;
    default:
        break;
    }
    return rc;
}

static int s_tab_end(s_load_t *ld, s_frame_t *f)
{
    const s_frame_t *parent = ld->depth > 0 ? &ld->frames[ld->depth - 1] : NULL;
    s_axis_t *a = ld->cur_axis;
    switch (f->kind) {
    case S_K_LABEL:
        if (ld->tab.p[f->text] == '\0') {
            return cs_xml_fail_at(&ld->x, CS_EMALFORMED, f->line, 0,
                                  "<label code=\"%c\"> has no text", ld->label_code);
        }
        if (parent && parent->kind == S_K_TAXIS) {
            a->code = ld->label_code;
            a->text = f->text;
            a->n = 1;
            break;
        }
        if (s_grow((void **)&ld->labels, &ld->cap_labels, ld->n_labels + 1,
                   sizeof *ld->labels) != CS_OK) {
            return s_nomem(ld);
        }
        ld->labels[ld->n_labels++] =
            (s_label_t){.code = ld->label_code, .text = f->text, .line = f->line};
        a->n++;
        break;
    case S_K_DEFN:
        if (ld->tab.p[f->text] != '\0') {
            a->defn = f->text;
        }
        break;
    case S_K_ATITLE:
        a->title = f->text;
        break;
    case S_K_TAXIS:
    case S_K_RAXIS:
        if (a->n == 0) {
            return cs_xml_fail_at(&ld->x, CS_EMALFORMED, f->line, 0,
                                  "<axis> has no <label>: the value of its character is missing");
        }
        ld->cur_axis = NULL;
        break;
    case S_K_ROW:
        return s_expand_row(ld);
    case S_K_TABLE:
        if (!ld->table_started) {
            int rc = s_emit_table(ld);
            if (rc != CS_OK) {
                return rc;
            }
        }
        if (ld->table_rows == 0) {
            return cs_xml_fail_at(&ld->x, CS_EMALFORMED, f->line, 0,
                                  "<pcsTable> %s has no <pcsRow>: it allows no code",
                                  ld->table_code);
        }
        break;
    default:
        break;
    }
    return CS_OK;
}

static const s_walker_t s_tab_walker = {s_tab_start, s_tab_end};

/* Every order-file line must have been produced by the tables. */
static int s_order_check(s_load_t *ld)
{
    for (size_t i = 0; i < ld->order.n_entries; i++) {
        const cs_order_entry_t *e = &ld->order.entries[i];
        if (!e->emitted) {
            const char *code = e->code;
            return cs_xml_fail_in(&ld->x, CS_EMALFORMED, ld->order_base, e->line,
                                  CS_ORDER_COL_CODE,
                                  "%s %s is in the order file, but no %s of the tables gives it",
                                  e->len == S_TABLE_LEN ? "table" : "code", code,
                                  e->len == S_TABLE_LEN ? "<pcsTable>" : "<pcsRow>");
        }
    }
    return CS_OK;
}

/* ---- sniffing ------------------------------------------------------------------------- */

enum { S_IS_OTHER = 0, S_IS_TABLES, S_IS_ORDER, S_IS_DEFS, S_IS_INDEX };

/* What a file looks like from its first S_SNIFF_MAX bytes. */
static int s_kind_of(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        return S_IS_OTHER;
    }
    char buf[S_SNIFF_MAX + 1];
    size_t got = fread(buf, 1, S_SNIFF_MAX, fp);
    fclose(fp);
    buf[got] = '\0';
    if (memmem(buf, got, "<" S_ROOT ">", sizeof S_ROOT + 1) != NULL) {
        return S_IS_TABLES;
    }
    if (memmem(buf, got, "<" S_DEF_ROOT ">", sizeof S_DEF_ROOT + 1) != NULL) {
        return S_IS_DEFS;
    }
    if (memmem(buf, got, "<" S_IDX_ROOT ">", sizeof S_IDX_ROOT + 1) != NULL) {
        return S_IS_INDEX;
    }
    return cs_order_sniff(buf, got, S_SNIFF_MAX, s_order_code) ? S_IS_ORDER : S_IS_OTHER;
}

/* Sort files by kind into by[]; 0 if they are not such a set. With lenient, one file of no
 * known kind stands for the tables (so that load() can say what is wrong with it). */
static int s_pick(const char *const *files, size_t n_files, const char *by[5], int lenient)
{
    for (size_t i = 0; i < 5; i++) {
        by[i] = NULL;
    }
    if (!files || n_files < 1 || n_files > S_MAX_FILES) {
        return 0;
    }
    for (size_t i = 0; i < n_files; i++) {
        if (!files[i]) {
            return 0;
        }
        int k = s_kind_of(files[i]);
        if (by[k]) {
            return 0;
        }
        by[k] = files[i];
    }
    if (!by[S_IS_TABLES] && lenient) {
        by[S_IS_TABLES] = by[S_IS_OTHER];
        by[S_IS_OTHER] = NULL;
    }
    return by[S_IS_TABLES] != NULL && by[S_IS_OTHER] == NULL;
}

static int s_sniff(const char *const *files, size_t n_files)
{
    const char *by[5];
    return s_pick(files, n_files, by, 0);
}

/* ---- load ----------------------------------------------------------------------------- */

static int s_run(s_load_t *ld, const char *const by[5])
{
    /* Offsets into the pool are read even when nothing was added yet (an index with no
     * tables before it): give it storage, an empty string, from the start. */
    int rc = s_buf_add(&ld->pool, "", 0);
    if (rc == CS_OK && by[S_IS_ORDER]) {
        rc = s_order_read(ld, by[S_IS_ORDER]);
    }
    if (rc == CS_OK && by[S_IS_DEFS]) {
        rc = s_walk(ld, by[S_IS_DEFS], S_DEF_ROOT, &s_def_walker, &ld->pool);
        if (rc == CS_OK) {
            rc = s_defn_index(ld);
        }
    }
    if (rc == CS_OK && by[S_IS_INDEX]) {
        ld->i_title = S_NONE;
        rc = s_walk(ld, by[S_IS_INDEX], S_IDX_ROOT, &s_idx_walker, &ld->pool);
        if (rc == CS_OK && ld->n_irefs > 1) {
            qsort(ld->irefs, ld->n_irefs, sizeof *ld->irefs, s_iref_cmp);
        }
    }
    if (rc == CS_OK) {
        rc = s_pool_canon(ld);
    }
    if (rc == CS_OK) {
        rc = s_walk(ld, by[S_IS_TABLES], S_ROOT, &s_tab_walker, &ld->tab);
    }
    if (rc == CS_OK && ld->tables == 0) {
        rc = cs_xml_fail_in(&ld->x, CS_EMALFORMED, cs_xml_base_name(by[S_IS_TABLES]), 0, 0,
                            "<%s> holds no <pcsTable>", S_ROOT);
    }
    if (rc == CS_OK) {
        rc = s_order_check(ld);
    }
    if (rc == CS_OK && ld->x.host->log) {
        ld->x.host->log(CS_LOG_INFO, S_NAME,
                      "%zu tables, %llu records, %llu codes given by more than one row",
                      ld->tables, (unsigned long long)ld->records,
                      (unsigned long long)ld->overlaps);
    }
    return rc;
}

#define S_HAS(host, field)                                                                  \
    ((host)->struct_size >= offsetof(cs_host_api_t, field) + sizeof((host)->field) &&       \
     (host)->field != NULL)

static int s_load(const cs_host_api_t *host, cs_sink_t *sink, const char *const *files,
                  size_t n_files, cs_error_t *err)
{
    if (!host || !files || !S_HAS(host, emit)) {
        return cs_error_set(err, CS_EINVAL, S_NAME ": no host table or no files");
    }
    const char *by[5];
    if (!s_pick(files, n_files, by, 1)) {
        return cs_error_set(err, CS_EINVAL,
                            S_NAME " takes the tables XML (<%s>) and optionally the order file, "
                                   "the definitions XML and the index XML, each once; the %zu "
                                   "files given are not that",
                            S_ROOT, n_files);
    }
    s_load_t *ld = calloc(1, sizeof *ld);
    if (!ld) {
        return cs_error_set(err, CS_ENOMEM, S_NAME ": out of memory");
    }
    cs_xml_begin(&ld->x, host, sink, err);
    ld->order_base = by[S_IS_ORDER] ? cs_xml_base_name(by[S_IS_ORDER]) : NULL;
    ld->i_title = S_NONE;
    int rc = s_run(ld, by);
    if (ld->x.reader) {
        xmlFreeTextReader(ld->x.reader);
    }
    cs_order_free(&ld->order);
    free(ld->pool.p);
    free(ld->defns);
    free(ld->dslots);
    free(ld->incl);
    free(ld->irefs);
    free(ld->tab.p);
    free(ld->labels);
    cs_hset_free(&ld->seen);
    free(ld->title.p);
    free(ld->terms);
    free(ld);
    return rc;
}

static const char *const s_systems[] = {S_SYSTEM, NULL};

static const cs_loader_ops_t s_ops = {
    .systems = s_systems,
    .sniff = s_sniff,
    .load = s_load,
    .flags = 0,
};

CS_PLUGIN_EXPORT const cs_plugin_desc_t cs_plugin_icd10pcs_tables = {
    CS_PLUGIN_HEADER,
    .kind = CS_PLUGIN_LOADER,
    .name = S_NAME,
    .version = "1.0.0",
    .title = "ICD-10-PCS from the CMS tables XML, optionally with the order file, definitions "
             "and index",
    .system = NULL,
    .loader = &s_ops,
};
