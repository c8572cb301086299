/* hcpcs_anweb.c: loader plugin "hcpcs-anweb": the CMS HCPCS Level II alpha-numeric file
 * (HCPC<year>_..._ANWEB) as fixed-width text or as its .xlsx twin, into system "hcpcs".
 *
 * The text file holds 320-character records (CRLF or LF; the 2020 file trims trailing
 * spaces, so a shorter line is padded with blanks). Columns (1-based) of the record layout:
 *
 *     1-5 code (a modifier: 3 blanks + 2 characters)  6-10 sequence  11 record id
 *     12-91 long description  92-119 short description  120-293 detail fields  294-320 filler
 *
 * Record id 3 is a procedure's first line, 4 continues its long description; 7 and 8 do the
 * same for a modifier. Continuation lines carry only the description, so a record is emitted
 * once the next first line (or the end of the file) shows it complete; the parts of the long
 * description, each without its trailing blanks (the padding), are joined with a space. The
 * text keeps its bytes otherwise (a run of blanks is kept as published); the .xlsx twin (one
 * row a code, the description whole) reads the same text, but where a wrap point's space was
 * doubled (16 descriptions of 2025), which the fixed-width file cannot carry. A file may open
 * with a short text disclaimer (2018-2020): lines before the first record are skipped if they
 * are text and few.
 *
 * The .xlsx file has a header row (HCPC, SEQNUM, RECID, LONG DESCRIPTION, ..., ACTION CD),
 * found by name within the first rows, after an optional disclaimer; columns are read by
 * header name, never by position.
 *
 * Each procedure code becomes a CS_CLASS_CODE record of kind "code", each modifier one of kind
 * "modifier"; both are billable (both may stand on a claim line) and have no parent. The
 * detail fields become attributes (dates as YYYY-MM-DD), and the termination date becomes
 * valid_to. An impossible date in the added, action effective or termination date fails the
 * load with file:line:column.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/cs_hset.h"
#include "../common/cs_text.h"
#include "../common/xlsx.h"
#include "codeset/cs_plugin.h"

#define S_REC_LEN 320          /* width of a record */
#define S_LINE_MAX 4096        /* longest line accepted (a disclaimer may be long) */
#define S_PREAMBLE_MAX 64      /* lines (or sheet rows) allowed before the first record */
#define S_SNIFF_MAX (64 * 1024) /* bytes sniff() reads of a text file */
#define S_TICK 1024            /* records between progress reports and cancel checks */
#define S_TITLE_MAX (64 * 1024) /* longest joined long description */
#define S_FIELD_MAX 80         /* longest field other than the long description */
#define S_FIRST_MIN 293        /* a first line runs at least to the action code */
#define S_SET_MIN 2048         /* codes the set holds before it first grows */

/* The fields of the record layout, in layout order. */
enum s_field {
    F_CODE, F_SEQ, F_RECID, F_LONG, F_SHORT,
    F_PRICE1, F_PRICE2, F_PRICE3, F_PRICE4, F_MULT_PI,
    F_CIM1, F_CIM2, F_CIM3, F_MCM1, F_MCM2, F_MCM3, F_STATUTE,
    F_LAB1, F_LAB2, F_LAB3, F_LAB4, F_LAB5, F_LAB6, F_LAB7, F_LAB8,
    F_XREF1, F_XREF2, F_XREF3, F_XREF4, F_XREF5,
    F_COV, F_ASC_GRP, F_ASC_DT, F_OPPS, F_OPPS_PI, F_OPPS_DT, F_PROCNOTE, F_BETOS,
    F_TOS1, F_TOS2, F_TOS3, F_TOS4, F_TOS5, F_ANEST_BU,
    F_ADD_DT, F_ACT_EFF_DT, F_TERM_DT, F_ACTION_CD,
    F_COUNT
};

/* Where a field sits: its .xlsx header and its 1-based text columns. */
typedef struct s_layout {
    const char *header; /* column header in the .xlsx twin */
    unsigned begin;     /* first column in the text record */
    unsigned width;     /* characters */
} s_layout_t;

static const s_layout_t s_layout[F_COUNT] = {
    [F_CODE] = {"HCPC", 1, 5},
    [F_SEQ] = {"SEQNUM", 6, 5},
    [F_RECID] = {"RECID", 11, 1},
    [F_LONG] = {"LONG DESCRIPTION", 12, 80},
    [F_SHORT] = {"SHORT DESCRIPTION", 92, 28},
    [F_PRICE1] = {"PRICE1", 120, 2},
    [F_PRICE2] = {"PRICE2", 122, 2},
    [F_PRICE3] = {"PRICE3", 124, 2},
    [F_PRICE4] = {"PRICE4", 126, 2},
    [F_MULT_PI] = {"MULT_PI", 128, 1},
    [F_CIM1] = {"CIM1", 129, 6},
    [F_CIM2] = {"CIM2", 135, 6},
    [F_CIM3] = {"CIM3", 141, 6},
    [F_MCM1] = {"MCM1", 147, 8},
    [F_MCM2] = {"MCM2", 155, 8},
    [F_MCM3] = {"MCM3", 163, 8},
    [F_STATUTE] = {"STATUTE", 171, 10},
    [F_LAB1] = {"LABCERT1", 181, 3},
    [F_LAB2] = {"LABCERT2", 184, 3},
    [F_LAB3] = {"LABCERT3", 187, 3},
    [F_LAB4] = {"LABCERT4", 190, 3},
    [F_LAB5] = {"LABCERT5", 193, 3},
    [F_LAB6] = {"LABCERT6", 196, 3},
    [F_LAB7] = {"LABCERT7", 199, 3},
    [F_LAB8] = {"LABCERT8", 202, 3},
    [F_XREF1] = {"XREF1", 205, 5},
    [F_XREF2] = {"XREF2", 210, 5},
    [F_XREF3] = {"XREF3", 215, 5},
    [F_XREF4] = {"XREF4", 220, 5},
    [F_XREF5] = {"XREF5", 225, 5},
    [F_COV] = {"COV", 230, 1},
    [F_ASC_GRP] = {"ASC_GRP", 231, 2},
    [F_ASC_DT] = {"ASC_DT", 233, 8},
    [F_OPPS] = {"OPPS", 241, 3},
    [F_OPPS_PI] = {"OPPS_PI", 244, 1},
    [F_OPPS_DT] = {"OPPS_DT", 245, 8},
    [F_PROCNOTE] = {"PROCNOTE", 253, 4},
    [F_BETOS] = {"BETOS", 257, 3},
    [F_TOS1] = {"TOS1", 261, 1},
    [F_TOS2] = {"TOS2", 262, 1},
    [F_TOS3] = {"TOS3", 263, 1},
    [F_TOS4] = {"TOS4", 264, 1},
    [F_TOS5] = {"TOS5", 265, 1},
    [F_ANEST_BU] = {"ANEST_BU", 266, 3},
    [F_ADD_DT] = {"ADD DT", 269, 8},
    [F_ACT_EFF_DT] = {"ACT EFF DT", 277, 8},
    [F_TERM_DT] = {"TERM DT", 285, 8},
    [F_ACTION_CD] = {"ACTION CD", 293, 1},
};

/* How an attribute's value is made from its fields. */
enum s_attr_form {
    S_A_TEXT,     /* the field, trimmed */
    S_A_LIST,     /* the non-blank fields, trimmed, joined with "," */
    S_A_DATE,     /* YYYYMMDD -> YYYY-MM-DD; an impossible date fails the load */
    S_A_OLD_DATE, /* the same, but a left-aligned YYMMDD (2018's ASC dates) is accepted */
};

/* One attribute of the emitted record. */
typedef struct s_attr_def {
    const char *name;  /* attribute name */
    uint8_t form;      /* enum s_attr_form */
    uint8_t first;     /* first field */
    uint8_t count;     /* fields (S_A_LIST) */
} s_attr_def_t;

/* In the order a biller looks for them. */
static const s_attr_def_t s_attr_defs[] = {
    {"action_code", S_A_TEXT, F_ACTION_CD, 1},
    {"added_date", S_A_DATE, F_ADD_DT, 1},
    {"action_effective_date", S_A_DATE, F_ACT_EFF_DT, 1},
    {"termination_date", S_A_DATE, F_TERM_DT, 1},
    {"coverage", S_A_TEXT, F_COV, 1},
    {"betos", S_A_TEXT, F_BETOS, 1},
    {"pricing_indicator", S_A_LIST, F_PRICE1, 4},
    {"multiple_pricing", S_A_TEXT, F_MULT_PI, 1},
    {"type_of_service", S_A_LIST, F_TOS1, 5},
    {"asc_group", S_A_TEXT, F_ASC_GRP, 1},
    {"asc_group_date", S_A_OLD_DATE, F_ASC_DT, 1},
    {"opps_group", S_A_TEXT, F_OPPS, 1},
    {"opps_indicator", S_A_TEXT, F_OPPS_PI, 1},
    {"opps_date", S_A_OLD_DATE, F_OPPS_DT, 1},
    {"anesthesia_base_units", S_A_TEXT, F_ANEST_BU, 1},
    {"cross_reference", S_A_LIST, F_XREF1, 5},
    {"lab_certification", S_A_LIST, F_LAB1, 8},
    {"processing_note", S_A_TEXT, F_PROCNOTE, 1},
    {"statute", S_A_TEXT, F_STATUTE, 1},
    {"coverage_issues_manual", S_A_LIST, F_CIM1, 3},
    {"carriers_manual", S_A_LIST, F_MCM1, 3},
};
#define S_N_ATTRS (sizeof s_attr_defs / sizeof s_attr_defs[0])

/* One line or row's fields, borrowed from the line buffer or the row's cells. */
typedef struct s_src {
    const char *val[F_COUNT]; /* field text, not NUL-terminated; NULL when absent */
    size_t len[F_COUNT];      /* its length */
    unsigned col[F_COUNT];    /* 1-based column for messages (text column or sheet column) */
    unsigned line;            /* line (text) or row (xlsx) */
    int text;                 /* 1: from the text layout, 0: from a sheet */
} s_src_t;

/* The record being assembled: a first line waiting for its continuations. */
typedef struct s_pending {
    int open;                             /* a first line is waiting */
    int modifier;                         /* record id 7/8 */
    char code[8];                         /* code as emitted ("A0021", "A1") */
    unsigned line;                        /* line or row of the first line */
    char field[F_COUNT][S_FIELD_MAX + 1]; /* trimmed fields (not the long description) */
    char attr_val[S_N_ATTRS][64];         /* attribute values handed to emit */
    int32_t term;                         /* termination date yyyymmdd, 0 none */
} s_pending_t;

/* A growable byte buffer. */
typedef struct s_buf {
    char *p;    /* bytes */
    size_t len; /* used */
    size_t cap; /* allocated */
} s_buf_t;

/* The state of one load(). */
typedef struct s_load {
    cs_text_t t;               /* host, error record and, for a text file, its lines */
    uint64_t file_size;        /* bytes of the file (progress of an .xlsx is scaled to it) */
    s_pending_t pend;          /* the record being assembled */
    s_buf_t title;             /* its long description so far */
    s_buf_t utf8;              /* scratch for a Windows-1252 field made UTF-8 */
    cs_hset_t set;             /* codes seen: s_key -> line or row first seen on */
    uint64_t records;          /* records emitted */
    uint64_t rows;             /* .xlsx rows taken (progress ticks) */
    /* .xlsx only */
    cs_xlsx_t *xlsx;           /* the workbook */
    int header_found;          /* the header row was read */
    int col_of[F_COUNT];       /* 0-based sheet column of each field, -1 absent */
} s_load_t;

/* ---- small helpers ----------------------------------------------------------------------- */

static int s_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int s_is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

/* Copy in[0..n) into out as printable ASCII, escaping other bytes as \xNN. */
static const char *s_show(const char *in, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 5 < cap; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            out[o++] = (char)c;
        } else {
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
        }
    }
    out[o < cap ? o : cap - 1] = '\0';
    return out;
}

static int s_buf_add(s_buf_t *b, const char *s, size_t n)
{
    if (b->cap - b->len <= n) {
        size_t cap = b->cap ? b->cap : 512;
        while (cap - b->len <= n) {
            cap *= 2;
        }
        char *p = realloc(b->p, cap);
        if (!p) {
            return -1;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

/* Trim blanks around s[0..*n); returns the new start. */
static const char *s_trim(const char *s, size_t *n)
{
    size_t b = 0;
    size_t e = *n;
    while (b < e && cs_text_is_blank(s[b])) {
        b++;
    }
    while (e > b && cs_text_is_blank(s[e - 1])) {
        e--;
    }
    *n = e - b;
    return s + b;
}

/* Unicode of the Windows-1252 bytes 0x80-0x9f (0: undefined). */
static const uint16_t s_cp1252[32] = {
    0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
    0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017d, 0,
    0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
    0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0, 0x017e, 0x0178,
};

/* Append s[0..n) to out as UTF-8: kept if it is UTF-8 already, else read as Windows-1252
 * (CMS writes its text files in it). Control characters are refused: returns the offset of
 * the offending byte, or n on success; SIZE_MAX when out of memory. */
static size_t s_text_add(s_buf_t *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) {
            return i;
        }
    }
    if (cs_text_utf8_end(s, n, 1) == n) {
        return s_buf_add(out, s, n) == 0 ? n : SIZE_MAX;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        uint32_t cp = c;
        if (c >= 0x80 && c < 0xa0) {
            cp = s_cp1252[c - 0x80];
            if (cp == 0) {
                return i;
            }
        }
        char u[3];
        size_t k = 0;
        if (cp < 0x80) {
            u[k++] = (char)cp;
        } else if (cp < 0x800) {
            u[k++] = (char)(0xc0 | (cp >> 6));
            u[k++] = (char)(0x80 | (cp & 0x3f));
        } else {
            u[k++] = (char)(0xe0 | (cp >> 12));
            u[k++] = (char)(0x80 | ((cp >> 6) & 0x3f));
            u[k++] = (char)(0x80 | (cp & 0x3f));
        }
        if (s_buf_add(out, u, k) != 0) {
            return SIZE_MAX;
        }
    }
    return n;
}

/* ---- the code set --------------------------------------------------------------------------- */

static uint64_t s_key(const char *code, int modifier)
{
    uint64_t key = modifier ? UINT64_C(1) << 56 : 0;
    for (size_t i = 0; code[i] && i < 6; i++) {
        key |= (uint64_t)(unsigned char)code[i] << (8 * i);
    }
    return key;
}

/* ---- fields, dates, records ---------------------------------------------------------------- */

/* Parse a YYYYMMDD date (or, with old_ok, a YYMMDD one followed by two blanks) in s[0..n).
 * Returns yyyymmdd, 0 for a blank field, or -1 when it is not a possible date. */
static int32_t s_date(const char *s, size_t n, int old_ok)
{
    s = s_trim(s, &n);
    if (n == 0) {
        return 0;
    }
    int32_t y = 0;
    int32_t m = 0;
    int32_t d = 0;
    if (n != 8 && !(old_ok && n == 6)) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (!s_is_digit(s[i])) {
            return -1;
        }
    }
    if (n == 8) {
        y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
        s += 4;
    } else {
        y = (s[0] - '0') * 10 + (s[1] - '0');
        y += y < 70 ? 2000 : 1900;
        s += 2;
    }
    m = (s[0] - '0') * 10 + (s[1] - '0');
    d = (s[2] - '0') * 10 + (s[3] - '0');
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1900 || y > 2199 || m < 1 || m > 12 || d < 1 ||
        d > days[m - 1] + (m == 2 && leap)) {
        return -1;
    }
    return y * 10000 + m * 100 + d;
}

/* A field as trimmed text into out (S_FIELD_MAX + 1 bytes); -1 if it is too long. */
static int s_field_copy(const s_src_t *src, int f, char *out)
{
    size_t n = src->len[f];
    const char *p = src->val[f] ? s_trim(src->val[f], &n) : "";
    if (n > S_FIELD_MAX) {
        return -1;
    }
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

/* Check and copy a code: a letter and 4 digits (procedure) or 2 letters/digits (modifier). */
static int s_code(s_load_t *ld, const s_src_t *src, int modifier, char *out)
{
    char shown[40];
    size_t n = src->len[F_CODE];
    const char *raw = src->val[F_CODE] ? src->val[F_CODE] : "";
    unsigned col = src->col[F_CODE];
    if (src->text && modifier) {
        for (size_t i = 0; i < 3; i++) {
            if (raw[i] != ' ') {
                return cs_text_fail(&ld->t, CS_EMALFORMED, src->line, col + (unsigned)i,
                                    "modifier code '%s' must be 3 blanks and 2 characters",
                                    s_show(raw, 5, shown, sizeof shown));
            }
        }
    }
    const char *c = s_trim(raw, &n);
    s_show(c, n, shown, sizeof shown);
    if (modifier) {
        if (n != 2 || !(s_is_upper(c[0]) || s_is_digit(c[0])) ||
            !(s_is_upper(c[1]) || s_is_digit(c[1]))) {
            return cs_text_fail(&ld->t, CS_EMALFORMED, src->line, col,
                                "modifier '%s' is not 2 letters or digits", shown);
        }
    } else {
        int ok = n == 5 && s_is_upper(c[0]);
        for (size_t i = 1; ok && i < 5; i++) {
            ok = s_is_digit(c[i]);
        }
        if (!ok) {
            return cs_text_fail(&ld->t, CS_EMALFORMED, src->line, col,
                                "procedure code '%s' is not a letter and 4 digits", shown);
        }
    }
    memcpy(out, c, n);
    out[n] = '\0';
    return CS_OK;
}

/* Append a part of the long description (made UTF-8) to ld->title. The text keeps its bytes
 * (runs of blanks included, as the .xlsx twin has them): only the first part's leading blanks
 * and each part's trailing ones go, the field's padding (a blank where the line was wrapped
 * cannot be told from it); the parts are joined with one space. */
static int s_title_add(s_load_t *ld, const s_src_t *src, const char *code)
{
    const char *p = src->val[F_LONG] ? src->val[F_LONG] : "";
    size_t all = src->len[F_LONG];
    const char *t = s_trim(p, &all);
    if (ld->title.len == 0 || memchr(p, '\t', (size_t)(t - p))) {
        p = t; /* a tab is layout, not text (and a control character) */
    }
    size_t n = (size_t)(t - p) + all;
    if (all == 0) {
        return cs_text_fail(&ld->t, CS_EMALFORMED, src->line, src->col[F_LONG],
                            "%s: long description is empty", code);
    }
    if (ld->title.len + n + 1 > S_TITLE_MAX) {
        return cs_text_fail(&ld->t, CS_ETOOMANY, src->line, src->col[F_LONG],
                            "%s: long description is longer than %d bytes", code, S_TITLE_MAX);
    }
    if (ld->title.len > 0 && s_buf_add(&ld->title, " ", 1) != 0) {
        return cs_text_fail(&ld->t, CS_ENOMEM, src->line, 0, "out of memory");
    }
    size_t bad = s_text_add(&ld->title, p, n);
    if (bad == SIZE_MAX) {
        return cs_text_fail(&ld->t, CS_ENOMEM, src->line, 0, "out of memory");
    }
    if (bad != n) {
        unsigned col = src->col[F_LONG] + (src->text ? (unsigned)(p - src->val[F_LONG] + bad) : 0);
        return cs_text_fail(&ld->t, CS_EMALFORMED, src->line, col,
                            "%s: long description has byte 0x%02x, a control character", code,
                            (unsigned char)p[bad]);
    }
    return CS_OK;
}

/* Emit the pending record, if any. */
static int s_flush(s_load_t *ld)
{
    s_pending_t *pd = &ld->pend;
    if (!pd->open) {
        return CS_OK;
    }
    pd->open = 0;
    cs_attr_t attrs[S_N_ATTRS];
    size_t n_attrs = 0;
    for (size_t i = 0; i < S_N_ATTRS; i++) {
        if (pd->attr_val[i][0] != '\0') {
            attrs[n_attrs].name = s_attr_defs[i].name;
            attrs[n_attrs].value = pd->attr_val[i];
            n_attrs++;
        }
    }
    ld->utf8.len = 0;
    const char *short_title = NULL;
    size_t sn = strlen(pd->field[F_SHORT]);
    if (sn > 0) {
        size_t bad = s_text_add(&ld->utf8, pd->field[F_SHORT], sn);
        if (bad == SIZE_MAX) {
            return cs_text_fail(&ld->t, CS_ENOMEM, pd->line, 0, "out of memory");
        }
        if (bad != sn) {
            return cs_text_fail(&ld->t, CS_EMALFORMED, pd->line, 0,
                                "%s: short description has byte 0x%02x, a control character",
                                pd->code, (unsigned char)pd->field[F_SHORT][bad]);
        }
        short_title = ld->utf8.p;
    }
    cs_record_t rec = {
        .struct_size = sizeof(cs_record_t),
        .system = "hcpcs",
        .cls = CS_CLASS_CODE,
        .code = pd->code,
        .kind = pd->modifier ? "modifier" : "code",
        .billable = 1,
        .title = ld->title.p,
        .short_title = short_title,
        .parent = NULL,
        .attrs = n_attrs ? attrs : NULL,
        .n_attrs = n_attrs,
        .valid_from = 0,
        .valid_to = pd->term,
    };
    int rc = ld->t.host->emit(ld->t.sink, &rec, ld->t.err);
    if (rc != CS_OK) {
        return rc;
    }
    ld->records++;
    return CS_OK;
}

/* An attribute's value into out (64 bytes). */
static int s_attr_value(s_load_t *ld, const s_src_t *src, const s_attr_def_t *a, char *out,
                        int32_t *date)
{
    s_pending_t *pd = &ld->pend;
    out[0] = '\0';
    if (a->form == S_A_DATE || a->form == S_A_OLD_DATE) {
        const char *v = src->val[a->first] ? src->val[a->first] : "";
        int32_t d = s_date(v, src->len[a->first], a->form == S_A_OLD_DATE);
        if (d < 0) {
            char shown[40];
            size_t n = src->len[a->first];
            const char *t = s_trim(v, &n);
            return cs_text_fail(&ld->t, CS_EMALFORMED, src->line, src->col[a->first],
                                "%s: %s '%s' is not a possible date (YYYYMMDD)", pd->code,
                                s_layout[a->first].header, s_show(t, n, shown, sizeof shown));
        }
        if (d > 0) {
            snprintf(out, 64, "%04d-%02d-%02d", (int)(d / 10000), (int)(d / 100 % 100),
                     (int)(d % 100));
        }
        *date = d;
        return CS_OK;
    }
    size_t o = 0;
    for (unsigned k = 0; k < a->count; k++) {
        const char *v = pd->field[a->first + k];
        size_t n = strlen(v);
        if (n == 0) {
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] >= 0x7f) {
                return cs_text_fail(&ld->t, CS_EMALFORMED, src->line, src->col[a->first + k],
                                    "%s: %s has byte 0x%02x, expected printable ASCII", pd->code,
                                    s_layout[a->first + k].header, (unsigned char)v[i]);
            }
        }
        if (o + n + 2 > 64) {
            return cs_text_fail(&ld->t, CS_EMALFORMED, src->line, src->col[a->first + k],
                                "%s: %s is too long", pd->code, s_layout[a->first + k].header);
        }
        if (o > 0) {
            out[o++] = ',';
        }
        memcpy(out + o, v, n);
        o += n;
        out[o] = '\0';
    }
    return CS_OK;
}

/* A first line (record id 3 or 7): close the record before, start this one. */
static int s_first(s_load_t *ld, const s_src_t *src, int modifier)
{
    int rc = s_flush(ld);
    if (rc != CS_OK) {
        return rc;
    }
    s_pending_t *pd = &ld->pend;
    rc = s_code(ld, src, modifier, pd->code);
    if (rc != CS_OK) {
        return rc;
    }
    uint32_t first = 0;
    int added = cs_hset_add(&ld->set, s_key(pd->code, modifier), src->line, &first);
    if (added < 0) {
        return cs_text_fail(&ld->t, CS_ENOMEM, src->line, 0, "out of memory for the code set");
    }
    if (added == 0) {
        return cs_text_fail(&ld->t, CS_EMALFORMED, src->line, src->col[F_CODE],
                            "%s '%s' appears twice (first on %s %u)",
                            modifier ? "modifier" : "code", pd->code, src->text ? "line" : "row",
                            first);
    }
    for (int f = 0; f < F_COUNT; f++) {
        if (f == F_LONG) {
            pd->field[f][0] = '\0';
            continue;
        }
        if (s_field_copy(src, f, pd->field[f]) != 0) {
            return cs_text_fail(&ld->t, CS_EMALFORMED, src->line, src->col[f],
                                "%s: %s is longer than %d characters", pd->code, s_layout[f].header,
                                S_FIELD_MAX);
        }
    }
    pd->modifier = modifier;
    pd->line = src->line;
    pd->term = 0;
    for (size_t i = 0; i < S_N_ATTRS; i++) {
        int32_t date = 0;
        rc = s_attr_value(ld, src, &s_attr_defs[i], pd->attr_val[i], &date);
        if (rc != CS_OK) {
            return rc;
        }
        if (s_attr_defs[i].first == F_TERM_DT) {
            pd->term = date;
        }
    }
    ld->title.len = 0;
    rc = s_title_add(ld, src, pd->code);
    if (rc != CS_OK) {
        return rc;
    }
    pd->open = 1;
    return CS_OK;
}

/* A continuation line (record id 4 or 8): more long description for the open record. */
static int s_more(s_load_t *ld, const s_src_t *src, int modifier)
{
    s_pending_t *pd = &ld->pend;
    char code[8];
    int rc = s_code(ld, src, modifier, code);
    if (rc != CS_OK) {
        return rc;
    }
    if (!pd->open || pd->modifier != modifier || strcmp(pd->code, code) != 0) {
        return cs_text_fail(&ld->t, CS_EMALFORMED, src->line, src->col[F_RECID],
                            "continuation (record id %c) of %s '%s' without its first line "
                            "(record id %c) just before", modifier ? '8' : '4',
                            modifier ? "modifier" : "code", code, modifier ? '7' : '3');
    }
    return s_title_add(ld, src, code);
}

/* Dispatch one line or row on its record id. */
static int s_take(s_load_t *ld, const s_src_t *src)
{
    size_t n = src->len[F_RECID];
    const char *r = src->val[F_RECID] ? s_trim(src->val[F_RECID], &n) : "";
    char id = n == 1 ? r[0] : '?';
    switch (id) {
    case '3':
        return s_first(ld, src, 0);
    case '7':
        return s_first(ld, src, 1);
    case '4':
        return s_more(ld, src, 0);
    case '8':
        return s_more(ld, src, 1);
    default: {
        char shown[40];
        return cs_text_fail(&ld->t, CS_EMALFORMED, src->line, src->col[F_RECID],
                            "record id '%s' is not 3, 4, 7 or 8",
                            s_show(r, n, shown, sizeof shown));
    }
    }
}

/* ---- the text file ------------------------------------------------------------------------- */

/* Does the line look meant as a record: a non-blank code of [A-Z0-9 ] and 5 digits? */
static int s_record_shaped(const char *line, size_t len)
{
    if (len < 11) {
        return 0;
    }
    int blank = 1;
    for (size_t i = 0; i < 5; i++) {
        char c = line[i];
        if (!(c == ' ' || s_is_upper(c) || s_is_digit(c))) {
            return 0;
        }
        blank = blank && c == ' ';
    }
    for (size_t i = 5; i < 10; i++) {
        if (!s_is_digit(line[i])) {
            return 0;
        }
    }
    return !blank;
}

/* The first byte of a line that is not text (a control character other than TAB), or len. */
static size_t s_binary_at(const char *line, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)line[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            return i;
        }
    }
    return len;
}

/* Fill src from a record line; the layout's columns past len read as blanks. */
static void s_src_line(s_src_t *src, const char *line, size_t len, unsigned lineno)
{
    memset(src, 0, sizeof *src);
    src->text = 1;
    src->line = lineno;
    for (int f = 0; f < F_COUNT; f++) {
        size_t b = s_layout[f].begin - 1;
        size_t w = s_layout[f].width;
        src->col[f] = s_layout[f].begin;
        if (b >= len) {
            src->val[f] = "";
            src->len[f] = 0;
        } else {
            src->val[f] = line + b;
            src->len[f] = b + w <= len ? w : len - b;
        }
    }
}

/* Check and take one record line. */
static int s_text_record(s_load_t *ld, const char *line, size_t len, unsigned lineno)
{
    char shown[40];
    if (len > S_REC_LEN) {
        return cs_text_fail(&ld->t, CS_EMALFORMED, lineno, S_REC_LEN + 1,
                            "record is %zu characters long, more than the %d of the layout", len,
                            S_REC_LEN);
    }
    if (len < 12) {
        return cs_text_fail(&ld->t, CS_EMALFORMED, lineno, (unsigned)len + 1,
                            "record is %zu characters long, shorter than code, sequence number, "
                            "record id and description (12)", len);
    }
    size_t bad = s_binary_at(line, len);
    if (bad != len) {
        return cs_text_fail(&ld->t, CS_EMALFORMED, lineno, (unsigned)bad + 1,
                            "record has byte 0x%02x, a control character",
                            (unsigned char)line[bad]);
    }
    for (size_t i = 5; i < 10; i++) {
        if (!s_is_digit(line[i])) {
            return cs_text_fail(&ld->t, CS_EMALFORMED, lineno, (unsigned)i + 1,
                                "sequence number '%s' is not 5 digits",
                                s_show(line + 5, 5, shown, sizeof shown));
        }
    }
    char id = line[10];
    if ((id == '3' || id == '7') && len < S_FIRST_MIN) {
        return cs_text_fail(&ld->t, CS_EMALFORMED, lineno, (unsigned)len + 1,
                            "record is %zu characters long, but a first line (record id %c) "
                            "runs at least to column %d (action code)",
                            len, id, S_FIRST_MIN);
    }
    s_src_t src;
    s_src_line(&src, line, len, lineno);
    return s_take(ld, &src);
}

static int s_text_load(s_load_t *ld)
{
    unsigned first_empty = 0;
    unsigned records = 0; /* record lines taken */
    for (;;) {
        char *line;
        size_t len;
        unsigned shift;
        int rc = cs_text_next(&ld->t, &line, &len, &shift);
        if (rc != CS_OK) {
            return rc;
        }
        if (!line) {
            break;
        }
        unsigned lineno = ld->t.lineno;
        if (records == 0 && !s_record_shaped(line, len)) {
            size_t bad = s_binary_at(line, len);
            if (bad != len) {
                return cs_text_fail(&ld->t, CS_EMALFORMED, lineno, (unsigned)(bad + shift) + 1,
                                    "byte 0x%02x before the first record: not an HCPCS text file",
                                    (unsigned char)line[bad]);
            }
            if (lineno > S_PREAMBLE_MAX) {
                return cs_text_fail(&ld->t, CS_EMALFORMED, lineno, 1,
                                    "no HCPCS record in the first %d lines", S_PREAMBLE_MAX);
            }
            continue;
        }
        if (cs_text_is_empty(line, len)) {
            if (first_empty == 0) {
                first_empty = lineno;
            }
            continue;
        }
        if (first_empty != 0) {
            return cs_text_fail(&ld->t, CS_EMALFORMED, first_empty, 1,
                                "empty line between records");
        }
        if (shift) {
            return cs_text_fail(&ld->t, CS_EMALFORMED, lineno, 1,
                                "a byte order mark before a record: records are plain text");
        }
        rc = s_text_record(ld, line, len, lineno);
        if (rc != CS_OK) {
            return rc;
        }
        if (++records % S_TICK == 0) {
            rc = cs_text_poll(&ld->t, lineno, ld->t.done);
            if (rc != CS_OK) {
                return rc;
            }
        }
    }
    int rc = s_flush(ld);
    if (rc != CS_OK) {
        return rc;
    }
    if (ld->records == 0) {
        return cs_text_fail(&ld->t, CS_EMALFORMED, ld->t.lineno, 0,
                            "the file holds no HCPCS record");
    }
    if (ld->t.has_progress) {
        ld->t.host->progress(ld->t.sink, ld->t.done);
    }
    return CS_OK;
}

/* ---- the .xlsx twin ------------------------------------------------------------------------ */

static int s_header_is(const char *cell, const char *name)
{
    size_t n = strlen(cell);
    const char *c = s_trim(cell, &n);
    size_t k = strlen(name);
    if (n != k) {
        return 0;
    }
    for (size_t i = 0; i < k; i++) {
        char a = c[i];
        if (a >= 'a' && a <= 'z') {
            a = (char)(a - 'a' + 'A');
        }
        if (a != name[i]) {
            return 0;
        }
    }
    return 1;
}

/* Is this row the header? Map every known column by name. */
static int s_header(s_load_t *ld, const char *const *cells, size_t n)
{
    int cols[F_COUNT];
    for (int f = 0; f < F_COUNT; f++) {
        cols[f] = -1;
        for (size_t i = 0; i < n; i++) {
            if (s_header_is(cells[i], s_layout[f].header)) {
                cols[f] = (int)i;
                break;
            }
        }
    }
    if (cols[F_CODE] < 0 || cols[F_RECID] < 0) {
        return 0;
    }
    memcpy(ld->col_of, cols, sizeof cols);
    return 1;
}

static int s_on_row(void *arg, uint32_t row, const char *const *cells, size_t n,
                    cs_error_t *err)
{
    s_load_t *ld = arg;
    (void)err; /* ld->t.err is the same record */
    if (!ld->header_found) {
        if (s_header(ld, cells, n)) {
            ld->header_found = 1;
            if (ld->col_of[F_LONG] < 0) {
                return cs_text_fail(&ld->t, CS_EMALFORMED, row, 0,
                                    "the header row has no LONG DESCRIPTION column");
            }
            return CS_OK;
        }
        if (row >= S_PREAMBLE_MAX) {
            return cs_text_fail(&ld->t, CS_EMALFORMED, row, 0,
                                "no header row with HCPC and RECID columns in the first %d rows",
                                S_PREAMBLE_MAX);
        }
        return CS_OK;
    }
    int any = 0;
    for (size_t i = 0; i < n && !any; i++) {
        size_t k = strlen(cells[i]);
        s_trim(cells[i], &k);
        any = k > 0;
    }
    if (!any) {
        return CS_OK;
    }
    s_src_t src;
    memset(&src, 0, sizeof src);
    src.line = row;
    for (int f = 0; f < F_COUNT; f++) {
        int c = ld->col_of[f];
        src.col[f] = c >= 0 ? (unsigned)c + 1 : 0;
        src.val[f] = c >= 0 && (size_t)c < n ? cells[c] : "";
        src.len[f] = strlen(src.val[f]);
    }
    int rc = s_take(ld, &src);
    if (rc != CS_OK) {
        return rc;
    }
    if (++ld->rows % S_TICK == 0) {
        uint64_t total = cs_xlsx_bytes_total(ld->xlsx);
        uint64_t done = cs_xlsx_bytes_done(ld->xlsx);
        uint64_t scaled = total ? (uint64_t)((double)done / (double)total * ld->file_size) : 0;
        return cs_text_poll(&ld->t, row, scaled);
    }
    return CS_OK;
}

static int s_xlsx_load(s_load_t *ld, const char *path)
{
    ld->xlsx = cs_xlsx_new(path, NULL, ld->t.err);
    if (!ld->xlsx) {
        return ld->t.err->code ? ld->t.err->code : CS_EMALFORMED;
    }
    for (int f = 0; f < F_COUNT; f++) {
        ld->col_of[f] = -1;
    }
    int rc = cs_xlsx_rows(ld->xlsx, 0, s_on_row, ld, ld->t.err);
    if (rc == CS_OK) {
        if (!ld->header_found) {
            return cs_text_fail(&ld->t, CS_EMALFORMED, 0, 0,
                                "no header row with HCPC and RECID columns");
        }
        rc = s_flush(ld);
    }
    if (rc == CS_OK && ld->set.len == 0) {
        rc = cs_text_fail(&ld->t, CS_EMALFORMED, 0, 0, "the sheet holds no HCPCS record");
    }
    if (rc == CS_OK && ld->t.has_progress) {
        ld->t.host->progress(ld->t.sink, ld->file_size);
    }
    return rc;
}

/* ---- plugin entry points -------------------------------------------------------------------- */

static int s_load(const cs_host_api_t *host, cs_sink_t *sink, const char *const *files,
                  size_t n_files, cs_error_t *err)
{
    if (!host || !files || !CS_HOST_HAS(host, emit)) {
        return cs_error_set(err, CS_EINVAL, "hcpcs-anweb: no host table or no files");
    }
    if (n_files != 1 || !files[0]) {
        return cs_error_set(err, CS_EINVAL,
                            "hcpcs-anweb takes exactly one file (text or .xlsx), got %zu",
                            n_files);
    }
    s_load_t ld = {0};
    cs_text_begin(&ld.t, host, sink, err);
    ld.t.base = cs_text_base_name(files[0]);
    int rc = CS_OK;
    char *buf = NULL;
    FILE *fp = NULL;
    struct stat st;
    if (stat(files[0], &st) != 0) {
        cs_error_at(err, ld.t.base, 0, 0);
        return cs_error_set(err, CS_EIO, "cannot open %s: %s", files[0], strerror(errno));
    }
    ld.file_size = (uint64_t)st.st_size;
    if (cs_hset_reserve(&ld.set, S_SET_MIN) != CS_OK || s_buf_add(&ld.title, "", 0) != 0 ||
        s_buf_add(&ld.utf8, "", 0) != 0) {
        rc = cs_text_fail(&ld.t, CS_ENOMEM, 0, 0, "out of memory loading %s", ld.t.base);
        goto done;
    }
    if (cs_xlsx_is_zip(files[0])) {
        rc = s_xlsx_load(&ld, files[0]);
        goto done;
    }
    fp = fopen(files[0], "rb");
    if (!fp) {
        rc = cs_text_fail(&ld.t, CS_EIO, 0, 0, "cannot open %s: %s", files[0], strerror(errno));
        goto done;
    }
    buf = malloc(CS_TEXT_BUF_SIZE + 1);
    if (!buf) {
        rc = cs_text_fail(&ld.t, CS_ENOMEM, 0, 0, "out of memory loading %s", ld.t.base);
        goto done;
    }
    cs_text_start(&ld.t, fp, buf, S_LINE_MAX);
    rc = s_text_load(&ld);
done:
    if (fp) {
        fclose(fp);
    }
    free(buf);
    cs_xlsx_destroy(&ld.xlsx);
    cs_hset_free(&ld.set);
    free(ld.title.p);
    free(ld.utf8.p);
    return rc;
}

/* Stops the sniffing read at the header row (or once it cannot be the header's row). */
static int s_sniff_row(void *arg, uint32_t row, const char *const *cells, size_t n,
                       cs_error_t *err)
{
    (void)err;
    s_load_t *ld = arg;
    if (s_header(ld, cells, n)) {
        ld->header_found = 1;
        return 1;
    }
    return row >= S_PREAMBLE_MAX ? 1 : 0;
}

/* One file: text whose first record has the layout's shape, or an .xlsx with HCPC and RECID
 * columns in its header row. */
static int s_sniff(const char *const *files, size_t n_files)
{
    if (!files || n_files != 1 || !files[0]) {
        return 0;
    }
    if (cs_xlsx_is_zip(files[0])) {
        cs_error_t err;
        cs_error_clear(&err);
        cs_xlsx_t *x = cs_xlsx_new(files[0], NULL, &err);
        if (!x) {
            return 0;
        }
        s_load_t ld;
        memset(&ld, 0, sizeof ld);
        cs_xlsx_rows(x, 0, s_sniff_row, &ld, &err);
        cs_xlsx_destroy(&x);
        return ld.header_found;
    }
    FILE *fp = fopen(files[0], "rb");
    if (!fp) {
        return 0;
    }
    char *buf = malloc(S_SNIFF_MAX + 1);
    if (!buf) {
        fclose(fp);
        return 0;
    }
    size_t got = fread(buf, 1, S_SNIFF_MAX, fp);
    fclose(fp);
    buf[got] = '\0';
    int yes = 0;
    size_t pos = 0;
    for (unsigned lineno = 1; lineno <= S_PREAMBLE_MAX && pos < got; lineno++) {
        char *nl = memchr(buf + pos, '\n', got - pos);
        if (!nl) {
            break; /* a line cut by the sniff window proves nothing */
        }
        char *line = buf + pos;
        size_t len = (size_t)(nl - line);
        pos += len + 1;
        if (len > 0 && line[len - 1] == '\r') {
            len--;
        }
        if (s_binary_at(line, len) != len) {
            break;
        }
        if (s_record_shaped(line, len)) {
            char id = line[10];
            yes = len <= S_REC_LEN && (((id == '3' || id == '7') && len >= S_FIRST_MIN));
            break;
        }
    }
    free(buf);
    return yes;
}

static const char *const s_systems[] = {"hcpcs", NULL};

static const cs_loader_ops_t s_ops = {
    .systems = s_systems,
    .sniff = s_sniff,
    .load = s_load,
    .flags = 0,
};

CS_PLUGIN_EXPORT const cs_plugin_desc_t cs_plugin_hcpcs_anweb = {
    CS_PLUGIN_HEADER,
    .kind = CS_PLUGIN_LOADER,
    .name = "hcpcs-anweb",
    .version = "1.0.0",
    .title = "HCPCS Level II from the CMS alpha-numeric file (fixed-width text or .xlsx)",
    .system = NULL,
    .loader = &s_ops,
};
