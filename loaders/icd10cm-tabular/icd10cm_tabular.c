/* icd10cm_tabular.c: loader plugin "icd10cm-tabular": an ICD-10-CM release from the CDC/CMS
 * tabular XML (<ICD10CM.tabular>), optionally with the order file of the same release.
 *
 * The XML is streamed with libxml2's xmlTextReader (XML_PARSE_NONET only: no DTD loading, no
 * entity substitution); a DOCTYPE or an entity reference node fails the load, which blocks
 * external entities and entity expansion bombs. Records are emitted parents first:
 *
 *     <chapter>  -> CS_CLASS_CHAPTER "1".."22"
 *     <section>  -> CS_CLASS_BLOCK "A00-A09" (parent: the chapter)
 *     <diag>     -> CS_CLASS_CODE "E11.9" (parent: the enclosing diag or the section)
 *
 * A diag is emitted when its first child <diag> starts or when it ends, so its kind is known.
 * A diag without child diags under a <sevenChrDef> (its own or the nearest ancestor's) is a
 * header and expands to one code per <extension>: M48.40 + S -> M48.40XS.
 *
 * With the order file, which is read fully first, the order file is the authority: a code it
 * lacks is not emitted (nor its subtree), billable flags, short titles and order numbers come
 * from it, and its codes that the XML lacks are emitted after the XML. Where the two long
 * titles differ the order file's wins (it may be a later update's), unless the XML's only
 * writes accents that the plain-ASCII order file cannot (s_same_but_accents).
 *
 * Titles keep the published text byte for byte (runs of spaces included); only the ends are
 * trimmed. Notes have their white space collapsed.
 *
 * Element data lives on a stack of frames, one per open element; strings go into one arena
 * that is cut back when a record's element ends, so the hot path does not allocate.
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
#error "icd10cm-tabular needs libxml2 2.9.4 or later"
#endif

#define S_ROOT "ICD10CM.tabular"
#define S_SNIFF_MAX 4096   /* bytes sniff() peeks at */
#define S_DEPTH_MAX 64     /* deepest element accepted (the root is depth 0) */
#define S_TICK 4096        /* records between progress reports and cancel checks */
#define S_KEY_MAX 7        /* longest ICD-10-CM code without its dot */
#define S_NONE ((size_t)-1) /* "no string" arena offset */

/* What an open element is to the loader. */
enum s_frame_kind {
    S_F_ROOT,     /* <ICD10CM.tabular> */
    S_F_CHAPTER,  /* <chapter>: a record */
    S_F_SECTION,  /* <section>: a record */
    S_F_DIAG,     /* <diag>: a record */
    S_F_GROUP,    /* a note group (<includes>, <excludes1> ...) of the enclosing record */
    S_F_SEVENDEF, /* <sevenChrDef> of the enclosing record */
    S_F_TEXT,     /* <name>, <desc>, <note>, <extension>: text is collected */
    S_F_INLINE,   /* an element inside a text element: its text joins the text */
    S_F_IGNORE,   /* anything else, with its subtree */
};

/* What a text element's text becomes. */
enum s_text_role {
    S_T_NAME,      /* the record's code */
    S_T_DESC,      /* the record's title */
    S_T_NOTE,      /* one note of the enclosing group */
    S_T_EXTENSION, /* one 7th character of the enclosing sevenChrDef */
};

/* One open element. */
typedef struct s_frame {
    uint8_t kind;         /* enum s_frame_kind */
    uint8_t role;         /* S_F_TEXT: enum s_text_role */
    uint8_t emitted;      /* record: emitted already */
    uint8_t skipped;      /* record: not emitted (not in the order file), nor its subtree */
    uint8_t has_child;    /* record: a child <section>/<diag> has started */
    const char *note_type; /* S_F_GROUP: the note type of its <note>s */
    size_t arena_mark;    /* record: arena length when the element started */
    size_t note_mark;     /* record: note stack length when the element started */
    size_t code;          /* record: arena offset of the code, or S_NONE */
    size_t title;         /* record: arena offset of the title, or S_NONE */
    size_t label;         /* S_F_TEXT extension: arena offset of the char, or S_NONE */
    size_t text;          /* S_F_TEXT: arena offset where the text starts */
    size_t sev_first;     /* record: first seven_chr_def note of its sevenChrDef */
    size_t sev_count;     /* record: number of those notes (0: none of its own) */
    unsigned line;        /* line of the start tag */
} s_frame_t;

/* One note on the note stack; strings are arena offsets. */
typedef struct s_note {
    const char *type; /* static note type */
    size_t label;     /* arena offset, or S_NONE */
    size_t text;      /* arena offset */
} s_note_t;

/* A growable byte buffer. */
typedef struct s_buf {
    char *p;    /* bytes */
    size_t len; /* used */
    size_t cap; /* allocated */
} s_buf_t;

/* The state of one load(). */
typedef struct s_load {
    cs_xml_t x;                /* host, error record and the XML reader; done_before is the
                                * order file's size */
    const char *order_base;    /* base name of the order file, for messages */
    s_frame_t frames[S_DEPTH_MAX + 1]; /* open elements, frames[0] is the root */
    size_t depth;              /* number of open frames */
    s_buf_t arena;             /* strings of open records */
    s_note_t *notes;           /* note stack */
    size_t notes_len;          /* used */
    size_t notes_cap;          /* allocated */
    cs_note_t *out_notes;      /* notes handed to emit */
    size_t out_cap;            /* allocated */
    s_buf_t scratch;           /* expanded titles */
    uint64_t records;          /* records emitted */
    int chapters;              /* chapters seen */
    cs_order_t order;          /* the order file, when given (order.entries not NULL) */
} s_load_t;

/* ---- small helpers -------------------------------------------------------------------- */

static int s_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int s_is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
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

/* ---- errors ----------------------------------------------------------------------------- */

static int s_nomem(s_load_t *ld)
{
    return cs_xml_nomem(&ld->x);
}

/* ---- order file ------------------------------------------------------------------------ */

/* cs_order_check_fn of ICD-10-CM beside the tabular XML: a letter, a digit, then letters or
 * digits; flag 0 or 1. */
static unsigned s_order_check(const char *code, size_t n, const char *shown, char flag, char *msg,
                              size_t cap)
{
    if (n < 3 || !s_is_upper(code[0]) || !s_is_digit(code[1])) {
        snprintf(msg, cap, "code '%s' is not an ICD-10-CM code (a letter, a digit, then 1 to 5 "
                 "letters or digits)", shown);
        return CS_ORDER_COL_CODE;
    }
    for (size_t i = 2; i < n; i++) {
        if (!s_is_upper(code[i]) && !s_is_digit(code[i])) {
            snprintf(msg, cap, "code '%s' has a character that is not A-Z or 0-9", shown);
            return CS_ORDER_COL_CODE + (unsigned)i;
        }
    }
    if (flag != '0' && flag != '1') {
        char shown_flag[8];
        snprintf(msg, cap, "flag is '%s', expected 0 (header) or 1 (billable)",
                 cs_xml_escape(&flag, 1, shown_flag, sizeof shown_flag));
        return CS_ORDER_COL_FLAG;
    }
    return 0;
}

/* Whether the XML title xml reads as the order file's title order once each accented letter
 * of Latin-1 is written as its base letter: the order file is plain ASCII, so its "Sezary"
 * is the XML's "Sézary" and not a revision. */
static int s_same_but_accents(const char *xml, const char *order)
{
    /* the base letters of U+00C0..U+00FF; '?' where there is no single one (AE, sharp s) */
    static const char base[] = "AAAAAA?CEEEEIIII?NOOOOO?OUUUUY??aaaaaa?ceeeeiiii?nooooo?ouuuuy?y";
    const unsigned char *x = (const unsigned char *)xml;
    const unsigned char *o = (const unsigned char *)order;
    while (*x && *o) {
        if (*x == *o) {
            x++;
            o++;
        } else if (x[0] == 0xc3 && x[1] >= 0x80 && x[1] <= 0xbf && base[x[1] - 0x80] == *o &&
                   *o != '?') {
            x += 2;
            o++;
        } else {
            return 0;
        }
    }
    return *x == *o;
}

/* The long title of a code both files give: the order file's where the two differ, since it
 * is the later statement (the April 2023 order file revises Z59.87), but the XML's where it
 * only writes accents the order file cannot. */
static const char *s_title_of(const char *xml, const cs_order_entry_t *e)
{
    return s_same_but_accents(xml, e->title) ? xml : e->title;
}

/* Read the whole order file into memory, parse and index every line. */
static int s_order_read(s_load_t *ld, const char *path)
{
    cs_order_fault_t f;
    if (cs_order_read(&ld->order, path, s_order_check, 1, &f) != CS_OK) {
        return cs_xml_fail_in(&ld->x, f.code, ld->order_base, f.line, f.column, "%s", f.msg);
    }
    if (ld->x.has_progress) {
        ld->x.host->progress(ld->x.sink, ld->order.size);
    }
    return CS_OK;
}

/* ---- emitting ------------------------------------------------------------------------- */

static int s_tick(s_load_t *ld)
{
    ld->records++;
    if (ld->records % S_TICK != 0) {
        return CS_OK;
    }
    if (ld->x.reader) {
        return cs_xml_poll(&ld->x);
    }
    /* no XML open (yet): no position to give, the order file is the one being read */
    if (ld->x.has_progress) {
        ld->x.host->progress(ld->x.sink, cs_xml_bytes(&ld->x));
    }
    if (ld->x.has_cancelled && ld->x.host->cancelled(ld->x.sink)) {
        return cs_xml_fail_in(&ld->x, CS_ETERM, ld->order_base, 0, 0, "load cancelled");
    }
    return CS_OK;
}

static int s_emit(s_load_t *ld, const cs_record_t *rec)
{
    int rc = ld->x.host->emit(ld->x.sink, rec, ld->x.err);
    if (rc != CS_OK) {
        return rc;
    }
    return s_tick(ld);
}

static const char *s_str(const s_load_t *ld, size_t off)
{
    return off == S_NONE ? NULL : ld->arena.p + off;
}

/* Build the cs_note_t array of a record's notes [first, notes_len). */
static int s_out_notes(s_load_t *ld, size_t first, size_t *n_out)
{
    size_t n = ld->notes_len - first;
    if (n > ld->out_cap) {
        size_t cap = ld->out_cap ? ld->out_cap : 16;
        while (cap < n) {
            cap *= 2;
        }
        cs_note_t *p = realloc(ld->out_notes, cap * sizeof *p);
        if (!p) {
            return CS_ENOMEM;
        }
        ld->out_notes = p;
        ld->out_cap = cap;
    }
    for (size_t i = 0; i < n; i++) {
        const s_note_t *s = &ld->notes[first + i];
        ld->out_notes[i].type = s->type;
        ld->out_notes[i].label = s_str(ld, s->label);
        ld->out_notes[i].text = s_str(ld, s->text);
    }
    *n_out = n;
    return CS_OK;
}

/* The nearest record frame (chapter, section, diag) below index i on the stack, or NULL. */
static s_frame_t *s_record_above(s_load_t *ld, size_t i)
{
    while (i > 0) {
        i--;
        uint8_t k = ld->frames[i].kind;
        if (k == S_F_CHAPTER || k == S_F_SECTION || k == S_F_DIAG) {
            return &ld->frames[i];
        }
    }
    return NULL;
}

/* Emit a chapter or section frame at index i (name/desc/id checked). */
static int s_emit_group_record(s_load_t *ld, size_t i)
{
    s_frame_t *f = &ld->frames[i];
    if (f->emitted) {
        return CS_OK;
    }
    int chapter = f->kind == S_F_CHAPTER;
    if (f->code == S_NONE) {
        return cs_xml_fail_at(&ld->x, CS_EMALFORMED, f->line, 0, "%s",
                              chapter ? "<chapter> without <name>" : "<section> without an id");
    }
    if (f->title == S_NONE) {
        return cs_xml_fail_at(&ld->x, CS_EMALFORMED, f->line, 0, "<%s> '%s' without <desc>",
                              chapter ? "chapter" : "section", s_str(ld, f->code));
    }
    const s_frame_t *up = chapter ? NULL : s_record_above(ld, i);
    if (!chapter && (!up || up->kind != S_F_CHAPTER)) {
        return cs_xml_fail_at(&ld->x, CS_EMALFORMED, f->line, 0,
                              "<section> '%s' outside a <chapter>", s_str(ld, f->code));
    }
    size_t n_notes = 0;
    if (s_out_notes(ld, f->note_mark, &n_notes) != CS_OK) {
        return s_nomem(ld);
    }
    f->emitted = 1;
    cs_record_t rec = {
        .struct_size = sizeof(cs_record_t),
        .system = "icd10cm",
        .cls = chapter ? CS_CLASS_CHAPTER : CS_CLASS_BLOCK,
        .code = s_str(ld, f->code),
        .kind = chapter ? "chapter" : "block",
        .billable = 0,
        .title = s_str(ld, f->title),
        .short_title = NULL,
        .parent_cls = CS_CLASS_CHAPTER,
        .parent = up ? s_str(ld, up->code) : NULL,
        .order = 0,
        .notes = ld->out_notes,
        .n_notes = n_notes,
        .terms = NULL,
        .n_terms = 0,
    };
    return s_emit(ld, &rec);
}

/* The code of name without its dot into key (S_KEY_MAX + 1 bytes); -1 if name is not a code
 * (letter, digit, alphanumerics, at most one dot, after the third character). */
static int s_code_key(const char *name, char *key, size_t *len)
{
    size_t n = 0;
    for (size_t i = 0; name[i]; i++) {
        char c = name[i];
        if (c == '.' && i == 3) {
            continue;
        }
        if (n >= S_KEY_MAX || !(s_is_upper(c) || s_is_digit(c))) {
            return -1;
        }
        key[n++] = c;
    }
    key[n] = '\0';
    if (n < 3 || !s_is_upper(key[0]) || !s_is_digit(key[1]) || (n == 3 && name[3] == '.')) {
        return -1;
    }
    *len = n;
    return 0;
}

/* The sevenChrDef in effect for the diag frame at index i: its own or the nearest
 * ancestor's. */
static const s_frame_t *s_seven_of(const s_load_t *ld, size_t i)
{
    for (size_t k = i + 1; k-- > 0;) {
        const s_frame_t *f = &ld->frames[k];
        if ((f->kind == S_F_DIAG || f->kind == S_F_SECTION || f->kind == S_F_CHAPTER) &&
            f->sev_count > 0) {
            return f;
        }
    }
    return NULL;
}

/* Emit the 7th-character codes of the header diag frame f under sevenChrDef sev. */
static int s_expand(s_load_t *ld, s_frame_t *f, const s_frame_t *sev, const char *key,
                    size_t key_len)
{
    if (key_len >= S_KEY_MAX) {
        return cs_xml_fail_at(&ld->x, CS_EMALFORMED, f->line, 0,
                              "<diag> '%s' has 7 characters already but a <sevenChrDef> applies",
                              s_str(ld, f->code));
    }
    char full[S_KEY_MAX + 1];
    memcpy(full, key, key_len);
    for (size_t k = key_len; k < S_KEY_MAX - 1; k++) {
        full[k] = 'X';
    }
    full[S_KEY_MAX] = '\0';
    for (size_t j = 0; j < sev->sev_count; j++) {
        const s_note_t *ext = &ld->notes[sev->sev_first + j];
        full[S_KEY_MAX - 1] = ld->arena.p[ext->label];
        const char *short_title = NULL;
        uint32_t order = 0;
        int billable = 1;
        const cs_order_entry_t *entry = NULL;
        if (ld->order.entries) {
            cs_order_entry_t *e = cs_order_find(&ld->order, cs_hset_pack(full, S_KEY_MAX));
            if (!e || e->emitted) {
                continue; /* the order file rules it out (or the XML repeats it) */
            }
            e->emitted = 1;
            entry = e;
            short_title = e->short_title;
            order = e->order;
            billable = e->billable;
        }
        char disp[S_KEY_MAX + 2];
        cs_order_display(full, S_KEY_MAX, 1, disp);
        ld->scratch.len = 0;
        const char *base = s_str(ld, f->title);
        const char *meaning = s_str(ld, ext->text);
        if (s_buf_add(&ld->scratch, base, strlen(base)) != CS_OK ||
            s_buf_add(&ld->scratch, ", ", 2) != CS_OK ||
            s_buf_add(&ld->scratch, meaning, strlen(meaning)) != CS_OK) {
            return s_nomem(ld);
        }
        cs_record_t rec = {
            .struct_size = sizeof(cs_record_t),
            .system = "icd10cm",
            .cls = CS_CLASS_CODE,
            .code = disp,
            .kind = "code",
            .billable = billable,
            .title = entry ? s_title_of(ld->scratch.p, entry) : ld->scratch.p,
            .short_title = short_title,
            .parent_cls = CS_CLASS_CODE,
            .parent = s_str(ld, f->code),
            .order = order,
            .notes = NULL,
            .n_notes = 0,
            .terms = NULL,
            .n_terms = 0,
        };
        int rc = s_emit(ld, &rec);
        if (rc != CS_OK) {
            return rc;
        }
    }
    return CS_OK;
}

/* Emit the diag frame at index i (at its first child diag, or at its end when it is a leaf),
 * then its 7th-character codes if it is a leaf under a sevenChrDef. */
static int s_emit_diag(s_load_t *ld, size_t i)
{
    s_frame_t *f = &ld->frames[i];
    if (f->emitted || f->skipped) {
        return CS_OK;
    }
    if (f->code == S_NONE) {
        return cs_xml_fail_at(&ld->x, CS_EMALFORMED, f->line, 0, "<diag> without <name>");
    }
    const char *name = s_str(ld, f->code);
    char key[S_KEY_MAX + 1];
    size_t key_len = 0;
    if (s_code_key(name, key, &key_len) != 0) {
        char shown[64];
        return cs_xml_fail_at(&ld->x, CS_EMALFORMED, f->line, 0,
                              "<diag> name '%s' is not an ICD-10-CM code",
                              cs_xml_escape(name, strlen(name), shown, sizeof shown));
    }
    if (f->title == S_NONE) {
        return cs_xml_fail_at(&ld->x, CS_EMALFORMED, f->line, 0, "<diag> '%s' without <desc>",
                              name);
    }
    s_frame_t *up = s_record_above(ld, i);
    if (!up || up->kind == S_F_CHAPTER) {
        return cs_xml_fail_at(&ld->x, CS_EMALFORMED, f->line, 0, "<diag> '%s' outside a <section>",
                              name);
    }
    const s_frame_t *sev = f->has_child ? NULL : s_seven_of(ld, i);
    int leaf = !f->has_child && !sev;
    const char *kind = key_len == 3 ? "category" : (leaf ? "code" : "subcategory");
    int billable = leaf;
    const char *short_title = NULL;
    const char *title = s_str(ld, f->title);
    uint32_t order = 0;
    if (ld->order.entries) {
        cs_order_entry_t *e = cs_order_find(&ld->order, cs_hset_pack(key, key_len));
        if (!e) {
            f->skipped = 1;
            return CS_OK;
        }
        if (e->emitted) {
            return cs_xml_fail_at(&ld->x, CS_EMALFORMED, f->line, 0, "<diag> '%s' appears twice",
                                  name);
        }
        e->emitted = 1;
        billable = e->billable;
        short_title = e->short_title;
        title = s_title_of(title, e);
        order = e->order;
    }
    size_t n_notes = 0;
    if (s_out_notes(ld, f->note_mark, &n_notes) != CS_OK) {
        return s_nomem(ld);
    }
    f->emitted = 1;
    cs_record_t rec = {
        .struct_size = sizeof(cs_record_t),
        .system = "icd10cm",
        .cls = CS_CLASS_CODE,
        .code = name,
        .kind = kind,
        .billable = billable,
        .title = title,
        .short_title = short_title,
        .parent_cls = up->kind == S_F_DIAG ? CS_CLASS_CODE : CS_CLASS_BLOCK,
        .parent = s_str(ld, up->code),
        .order = order,
        .notes = ld->out_notes,
        .n_notes = n_notes,
        .terms = NULL,
        .n_terms = 0,
    };
    int rc = s_emit(ld, &rec);
    if (rc != CS_OK || !sev) {
        return rc;
    }
    return s_expand(ld, f, sev, key, key_len);
}

/* Emit the order-file codes the XML did not have, in order-file order. */
static int s_emit_tail(s_load_t *ld)
{
    for (size_t i = 0; i < ld->order.n_entries; i++) {
        cs_order_entry_t *e = &ld->order.entries[i];
        if (e->emitted) {
            continue;
        }
        const char *key = e->code;
        char disp[S_KEY_MAX + 2];
        cs_order_display(key, e->len, 1, disp);
        char parent[S_KEY_MAX + 2];
        const char *parent_p = NULL;
        for (size_t k = e->len; k-- > 3;) {
            cs_order_entry_t *p = cs_order_find(&ld->order, cs_hset_pack(key, k));
            if (p && p->emitted) {
                cs_order_display(key, k, 1, parent);
                parent_p = parent;
                break;
            }
        }
        e->emitted = 1;
        const char *kind = e->len == 3 ? "category" : (e->billable ? "code" : "subcategory");
        cs_record_t rec = {
            .struct_size = sizeof(cs_record_t),
            .system = "icd10cm",
            .cls = CS_CLASS_CODE,
            .code = disp,
            .kind = kind,
            .billable = e->billable,
            .title = e->title,
            .short_title = e->short_title,
            .parent_cls = CS_CLASS_CODE,
            .parent = parent_p,
            .order = e->order,
            .notes = NULL,
            .n_notes = 0,
            .terms = NULL,
            .n_terms = 0,
        };
        int rc = s_emit(ld, &rec);
        if (rc != CS_OK) {
            return rc;
        }
    }
    return CS_OK;
}

/* ---- the element stream ---------------------------------------------------------------- */

static const struct {
    const char *element;
    const char *type;
} s_note_groups[] = {
    {"includes", "includes"},
    {"inclusionTerm", "inclusion_terms"},
    {"excludes1", "excludes1"},
    {"excludes2", "excludes2"},
    {"codeFirst", "code_first"},
    {"useAdditionalCode", "use_additional_code"},
    {"codeAlso", "code_also"},
    {"notes", "notes"},
    {"sevenChrNote", "seven_chr_note"},
};

static const char *s_group_type(const char *name)
{
    for (size_t i = 0; i < sizeof s_note_groups / sizeof s_note_groups[0]; i++) {
        if (strcmp(name, s_note_groups[i].element) == 0) {
            return s_note_groups[i].type;
        }
    }
    return NULL;
}

static int s_push_note(s_load_t *ld, const char *type, size_t label, size_t text)
{
    if (ld->notes_len == ld->notes_cap) {
        size_t cap = ld->notes_cap ? ld->notes_cap * 2 : 64;
        s_note_t *p = realloc(ld->notes, cap * sizeof *p);
        if (!p) {
            return CS_ENOMEM;
        }
        ld->notes = p;
        ld->notes_cap = cap;
    }
    ld->notes[ld->notes_len++] = (s_note_t){.type = type, .label = label, .text = text};
    return CS_OK;
}

/* Copy an attribute's value of the current element into the arena (NUL-terminated, trimmed
 * and collapsed); *off = S_NONE when it is absent. */
static int s_attr(s_load_t *ld, const char *attr, size_t *off)
{
    *off = S_NONE;
    xmlChar *v = xmlTextReaderGetAttribute(ld->x.reader, (const xmlChar *)attr);
    if (!v) {
        return CS_OK;
    }
    const char *s = (const char *)v;
    while (*s && cs_xml_is_space(*s)) {
        s++;
    }
    size_t n = strlen(s);
    while (n > 0 && cs_xml_is_space(s[n - 1])) {
        n--;
    }
    size_t at = ld->arena.len;
    int rc = s_buf_add(&ld->arena, s, n);
    xmlFree(v);
    if (rc != CS_OK) {
        return s_nomem(ld);
    }
    ld->arena.len++; /* keep the NUL */
    *off = at;
    return CS_OK;
}

/* Close the arena text from off to the end: trim it, NUL-terminate it and keep it in the
 * arena. A title (exact set) keeps its spaces as published ("right  metatarsal" has two in
 * FY2017), and only a run holding a tab or line break, which is the file's layout rather than
 * text, becomes one space; any other text has every run of white space collapsed to one. */
static int s_text_close(s_load_t *ld, size_t off, int exact)
{
    if (s_buf_reserve(&ld->arena, 1) != CS_OK) {
        return s_nomem(ld);
    }
    char *p = ld->arena.p + off;
    size_t n = ld->arena.len - off;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        if (!cs_xml_is_space(p[i])) {
            p[o++] = p[i++];
            continue;
        }
        size_t run = i;
        int layout = 0;
        while (i < n && cs_xml_is_space(p[i])) {
            layout |= p[i] != ' ';
            i++;
        }
        if (o == 0 || i == n) {
            continue; /* trimmed */
        }
        if (exact && !layout) {
            memmove(p + o, p + run, i - run);
            o += i - run;
        } else {
            p[o++] = ' ';
        }
    }
    p[o] = '\0';
    ld->arena.len = off + o + 1;
    return CS_OK;
}

/* The kind of a new element named name under the frame top. */
static uint8_t s_classify(const s_frame_t *top, const char *name, uint8_t *role,
                          const char **note_type)
{
    switch (top->kind) {
    case S_F_ROOT:
        return strcmp(name, "chapter") == 0 ? S_F_CHAPTER : S_F_IGNORE;
    case S_F_CHAPTER:
    case S_F_SECTION:
    case S_F_DIAG:
        if (strcmp(name, "diag") == 0) {
            return top->kind == S_F_CHAPTER ? S_F_IGNORE : S_F_DIAG;
        }
        if (strcmp(name, "section") == 0) {
            return top->kind == S_F_CHAPTER ? S_F_SECTION : S_F_IGNORE;
        }
        if (strcmp(name, "name") == 0 && top->kind != S_F_SECTION) {
            *role = S_T_NAME;
            return S_F_TEXT;
        }
        if (strcmp(name, "desc") == 0) {
            *role = S_T_DESC;
            return S_F_TEXT;
        }
        if (strcmp(name, "sevenChrDef") == 0) {
            return S_F_SEVENDEF;
        }
        *note_type = s_group_type(name);
        return *note_type ? S_F_GROUP : S_F_IGNORE;
    case S_F_GROUP:
        if (strcmp(name, "note") == 0) {
            *role = S_T_NOTE;
            return S_F_TEXT;
        }
        return S_F_IGNORE;
    case S_F_SEVENDEF:
        if (strcmp(name, "extension") == 0) {
            *role = S_T_EXTENSION;
            return S_F_TEXT;
        }
        return S_F_IGNORE;
    case S_F_TEXT:
    case S_F_INLINE:
        return S_F_INLINE;
    default:
        return S_F_IGNORE;
    }
}

static int s_end(s_load_t *ld);

/* A start tag. */
static int s_start(s_load_t *ld, int empty)
{
    const char *name = (const char *)xmlTextReaderConstName(ld->x.reader);
    if (!name) {
        return s_nomem(ld);
    }
    if (ld->depth == 0) {
        if (strcmp(name, S_ROOT) != 0) {
            char shown[64];
            return cs_xml_fail(&ld->x, CS_EMALFORMED, "root element is <%s>, expected <%s>",
                               cs_xml_escape(name, strlen(name), shown, sizeof shown), S_ROOT);
        }
    }
    if (ld->depth > S_DEPTH_MAX) {
        return cs_xml_fail(&ld->x, CS_EMALFORMED, "elements are nested deeper than %d levels",
                           S_DEPTH_MAX);
    }
    s_frame_t nf = {
        .kind = S_F_ROOT,
        .arena_mark = ld->arena.len,
        .note_mark = ld->notes_len,
        .code = S_NONE,
        .title = S_NONE,
        .label = S_NONE,
        .text = S_NONE,
    };
    unsigned col;
    nf.line = cs_xml_line(&ld->x, &col);
    if (ld->depth > 0) {
        s_frame_t *top = &ld->frames[ld->depth - 1];
        nf.kind = s_classify(top, name, &nf.role, &nf.note_type);
        int rc = CS_OK;
        switch (nf.kind) {
        case S_F_CHAPTER:
            ld->chapters++;
            break;
        case S_F_SECTION:
            top->has_child = 1;
            rc = s_emit_group_record(ld, ld->depth - 1);
            break;
        case S_F_DIAG:
            top->has_child = 1;
            rc = top->kind == S_F_SECTION ? s_emit_group_record(ld, ld->depth - 1)
                                          : s_emit_diag(ld, ld->depth - 1);
            nf.skipped = top->skipped; /* known once the parent is emitted or skipped */
            break;
        case S_F_GROUP:
        case S_F_SEVENDEF:
            if (top->emitted) {
                return cs_xml_fail(&ld->x, CS_EMALFORMED,
                                   "<%s> after the first child of '%s': notes must come first",
                                   name, s_str(ld, top->code));
            }
            nf.text = ld->notes_len; /* SEVENDEF: first extension */
            break;
        case S_F_TEXT:
            if (nf.role == S_T_EXTENSION) {
                rc = s_attr(ld, "char", &nf.label);
                if (rc == CS_OK) {
                    const char *c = s_str(ld, nf.label);
                    if (!c || strlen(c) != 1 || !(s_is_upper(*c) || s_is_digit(*c))) {
                        return cs_xml_fail(&ld->x, CS_EMALFORMED,
                                           "<extension> needs a char attribute of one letter or "
                                           "digit");
                    }
                }
            }
            nf.text = ld->arena.len;
            break;
        default:
            break;
        }
        if (rc != CS_OK) {
            return rc;
        }
        if (nf.kind == S_F_SECTION) {
            nf.arena_mark = ld->arena.len;
            rc = s_attr(ld, "id", &nf.code);
            if (rc != CS_OK) {
                return rc;
            }
        }
    }
    ld->frames[ld->depth++] = nf;
    if (empty) {
        return s_end(ld);
    }
    return CS_OK;
}

/* An end tag (or the end of an empty element): pop the top frame. */
static int s_end(s_load_t *ld)
{
    if (ld->depth == 0) {
        return cs_xml_fail(&ld->x, CS_EINTERNAL, "end tag without a start tag");
    }
    size_t i = ld->depth - 1;
    s_frame_t *f = &ld->frames[i];
    s_frame_t *top = i > 0 ? &ld->frames[i - 1] : NULL;
    int rc = CS_OK;
    switch (f->kind) {
    case S_F_CHAPTER:
    case S_F_SECTION:
        rc = s_emit_group_record(ld, i);
        break;
    case S_F_DIAG:
        rc = s_emit_diag(ld, i);
        break;
    case S_F_SEVENDEF:
        top->sev_first = f->text;
        top->sev_count = ld->notes_len - f->text;
        break;
    case S_F_TEXT:
        if (s_text_close(ld, f->text, f->role == S_T_DESC || f->role == S_T_EXTENSION) !=
            CS_OK) {
            return CS_ENOMEM;
        }
        switch (f->role) {
        case S_T_NAME:
            top->code = f->text;
            break;
        case S_T_DESC:
            top->title = f->text;
            break;
        case S_T_NOTE:
            if (s_push_note(ld, top->note_type, S_NONE, f->text) != CS_OK) {
                return s_nomem(ld);
            }
            break;
        case S_T_EXTENSION:
            if (s_push_note(ld, "seven_chr_def", f->label, f->text) != CS_OK) {
                return s_nomem(ld);
            }
            break;
        default:
            break;
        }
        break;
    default:
        break;
    }
    if (rc != CS_OK) {
        return rc;
    }
    if (f->kind == S_F_CHAPTER || f->kind == S_F_SECTION || f->kind == S_F_DIAG) {
        ld->arena.len = f->arena_mark;
        ld->notes_len = f->note_mark;
    }
    ld->depth--;
    return CS_OK;
}

/* Text inside a text element. */
static int s_text(s_load_t *ld)
{
    if (ld->depth == 0) {
        return CS_OK;
    }
    uint8_t k = ld->frames[ld->depth - 1].kind;
    if (k != S_F_TEXT && k != S_F_INLINE) {
        return CS_OK;
    }
    const char *v = (const char *)xmlTextReaderConstValue(ld->x.reader);
    if (!v) {
        return CS_OK;
    }
    size_t n = strlen(v);
    if (s_buf_reserve(&ld->arena, n + 1) != CS_OK) {
        return s_nomem(ld);
    }
    memcpy(ld->arena.p + ld->arena.len, v, n);
    ld->arena.len += n;
    return CS_OK;
}

static int s_stream(s_load_t *ld)
{
    int saw_root = 0;
    for (;;) {
        int type;
        int rc = cs_xml_next(&ld->x, &type);
        if (rc != CS_OK) {
            return rc;
        }
        if (type == XML_READER_TYPE_NONE) {
            break;
        }
        switch (type) {
        case XML_READER_TYPE_ELEMENT:
            saw_root = 1;
            rc = s_start(ld, xmlTextReaderIsEmptyElement(ld->x.reader) == 1);
            break;
        case XML_READER_TYPE_END_ELEMENT:
            rc = s_end(ld);
            break;
        case XML_READER_TYPE_TEXT:
        case XML_READER_TYPE_CDATA:
        case XML_READER_TYPE_WHITESPACE:
        case XML_READER_TYPE_SIGNIFICANT_WHITESPACE:
            rc = s_text(ld);
            break;
        default:
            break;
        }
        if (rc != CS_OK) {
            return rc;
        }
    }
    if (!saw_root) {
        return cs_xml_fail_at(&ld->x, CS_EMALFORMED, 0, 0, "the file holds no XML element");
    }
    if (ld->depth != 0) {
        return cs_xml_fail(&ld->x, CS_EMALFORMED, "the document ends inside an element");
    }
    if (ld->chapters == 0) {
        return cs_xml_fail_at(&ld->x, CS_EMALFORMED, 0, 0, "<%s> holds no <chapter>", S_ROOT);
    }
    return CS_OK;
}

/* ---- sniffing ------------------------------------------------------------------------- */

enum { S_IS_NEITHER = 0, S_IS_XML = 1, S_IS_ORDER = 2 };

/* What a file looks like from its first S_SNIFF_MAX bytes. */
static int s_kind_of(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        return S_IS_NEITHER;
    }
    char buf[S_SNIFF_MAX + 1];
    size_t got = fread(buf, 1, S_SNIFF_MAX, fp);
    fclose(fp);
    buf[got] = '\0';
    if (memmem(buf, got, "<" S_ROOT, sizeof S_ROOT) != NULL) {
        return S_IS_XML;
    }
    return cs_order_sniff(buf, got, S_SNIFF_MAX, s_order_check) ? S_IS_ORDER : S_IS_NEITHER;
}

/* Sort files into the XML and the optional order file; 0 if they are not such a set. */
static int s_pick(const char *const *files, size_t n_files, const char **xml, const char **order)
{
    *xml = NULL;
    *order = NULL;
    if (!files || n_files < 1 || n_files > 2) {
        return 0;
    }
    for (size_t i = 0; i < n_files; i++) {
        if (!files[i]) {
            return 0;
        }
        int k = s_kind_of(files[i]);
        if (k == S_IS_XML && !*xml) {
            *xml = files[i];
        } else if (k == S_IS_ORDER && !*order) {
            *order = files[i];
        } else {
            return 0;
        }
    }
    return *xml != NULL;
}

static int s_sniff(const char *const *files, size_t n_files)
{
    const char *xml;
    const char *order;
    return s_pick(files, n_files, &xml, &order);
}

/* ---- load ----------------------------------------------------------------------------- */

#define S_HAS(host, field)                                                                  \
    ((host)->struct_size >= offsetof(cs_host_api_t, field) + sizeof((host)->field) &&       \
     (host)->field != NULL)

static int s_load(const cs_host_api_t *host, cs_sink_t *sink, const char *const *files,
                  size_t n_files, cs_error_t *err)
{
    if (!host || !files || !S_HAS(host, emit)) {
        return cs_error_set(err, CS_EINVAL, "icd10cm-tabular: no host table or no files");
    }
    const char *xml = NULL;
    const char *order = NULL;
    if (!s_pick(files, n_files, &xml, &order)) {
        return cs_error_set(err, CS_EINVAL,
                            "icd10cm-tabular takes the tabular XML (<%s>) and optionally the "
                            "order file; the %zu files given are not that",
                            S_ROOT, n_files);
    }
    s_load_t *ld = calloc(1, sizeof *ld);
    if (!ld) {
        return cs_error_set(err, CS_ENOMEM, "icd10cm-tabular: out of memory");
    }
    cs_xml_begin(&ld->x, host, sink, err);
    ld->order_base = order ? cs_xml_base_name(order) : "";
    int rc = CS_OK;
    if (order) {
        rc = s_order_read(ld, order);
        if (rc != CS_OK) {
            goto done;
        }
    }
    ld->x.done_before = ld->order.size;
    rc = cs_xml_open(&ld->x, xml, CS_XML_RAW_ERRORS);
    if (rc != CS_OK) {
        goto done;
    }
    rc = s_stream(ld);
    if (rc == CS_OK && ld->order.entries) {
        rc = s_emit_tail(ld);
    }
    if (rc == CS_OK && ld->x.has_progress) {
        host->progress(sink, cs_xml_bytes(&ld->x));
    }
done:
    /* not cs_xml_close(): the last report above is the bytes consumed, not the file size */
    xmlFreeTextReader(ld->x.reader);
    free(ld->arena.p);
    free(ld->scratch.p);
    free(ld->notes);
    free(ld->out_notes);
    cs_order_free(&ld->order);
    free(ld);
    return rc;
}

static const char *const s_systems[] = {"icd10cm", NULL};

static const cs_loader_ops_t s_ops = {
    .systems = s_systems,
    .sniff = s_sniff,
    .load = s_load,
};

CS_PLUGIN_EXPORT const cs_plugin_desc_t cs_plugin_icd10cm_tabular = {
    CS_PLUGIN_HEADER,
    .kind = CS_PLUGIN_LOADER,
    .name = "icd10cm-tabular",
    .version = "1.0.0",
    .title = "ICD-10-CM from the CDC/CMS tabular XML, optionally with the order file",
    .system = NULL,
    .loader = &s_ops,
};
