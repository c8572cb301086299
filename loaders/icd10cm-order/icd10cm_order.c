/* icd10cm_order.c: loader plugin "icd10cm-order": an ICD-10-CM release from the CMS/CDC order
 * file alone, for years where no tabular XML is at hand.
 *
 * The order file is fixed width, one code a line, CRLF (LF accepted):
 *
 *     00001 A00     0 Cholera                                                      Cholera
 *     ^order ^code  ^flag (0 header, 1 billable) ^short title (60)                 ^long title
 *
 * Columns (1-based): order 1-5, code 7-13 (no dot, space padded), flag 15, short title 17-76,
 * long title 78 to the end of the line. A code is a letter and two to six letters or digits
 * (the second character is a digit in every year up to FY2025; FY2026 added QA0). Every line
 * becomes one CS_CLASS_CODE record, in file order; its parent is the longest proper prefix of
 * the code seen earlier in the file (a code with a placeholder X, S7200XA, may skip a level).
 * Codes are not sorted (U07.1 comes after Z99.89), so a hash set of the codes seen so far
 * answers the prefix and duplicate questions.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cs_text.h"
#include "codeset/cs_plugin.h"

#define S_LINE_MAX 4096        /* longest line accepted, CR excluded */
#define S_SNIFF_MAX 4096       /* bytes sniff() peeks at */
#define S_TICK 4096            /* lines between progress reports and cancel checks */
#define S_SET_MIN 4096         /* initial slots of the code set (a power of two) */

#define S_COL_SEP1 5    /* 0-based columns of the layout */
#define S_COL_CODE 6
#define S_CODE_WIDTH 7
#define S_COL_SEP2 13
#define S_COL_FLAG 14
#define S_COL_SEP3 15
#define S_COL_SHORT 16
#define S_SHORT_WIDTH 60
#define S_COL_SEP4 76
#define S_COL_LONG 77
#define S_MIN_LINE 78   /* everything up to and including one character of long title */

/* One parsed line; the titles point into the line buffer, NUL-terminated in place. */
typedef struct s_line {
    uint32_t order;          /* order number */
    char code[S_CODE_WIDTH + 1]; /* code without dot, NUL-terminated */
    size_t code_len;         /* 3..7 */
    int billable;            /* flag: 1 billable, 0 header */
    const char *short_title; /* trimmed short title */
    const char *title;       /* trimmed long title */
} s_line_t;

/* A parse failure: 1-based column and a sentence. */
typedef struct s_why {
    unsigned column; /* 1-based column of the offending field, 0 if none */
    char msg[200];   /* what is wrong */
} s_why_t;

/* One slot of the code set. */
typedef struct s_slot {
    uint64_t key;  /* the code packed one byte a character (0: empty slot) */
    uint32_t line; /* line it was first seen on */
} s_slot_t;

/* The state of one load(). */
typedef struct s_load {
    cs_text_t t;               /* host, error record and the file's lines */
    s_slot_t *set;             /* open-addressing set of codes seen, set_cap slots */
    size_t set_cap;            /* number of slots, a power of two */
    size_t set_len;            /* occupied slots */
    unsigned set_bits;         /* log2(set_cap) */
} s_load_t;

static int s_fail(s_why_t *why, unsigned column, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int s_fail(s_why_t *why, unsigned column, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    why->column = column;
    vsnprintf(why->msg, sizeof why->msg, fmt, ap);
    va_end(ap);
    return -1;
}

/* Copy in[0..n) into out as printable ASCII, escaping other bytes as \xNN. */
static const char *s_show(const char *in, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 5 < cap; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
            out[o++] = (char)c;
        } else {
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
        }
    }
    out[o < cap ? o : cap - 1] = '\0';
    return out;
}

static int s_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int s_is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

/* Trim blanks around line[b..e), check the text, NUL-terminate it in place. */
static int s_title(char *line, size_t b, size_t e, const char *what, const char **out,
                   s_why_t *why)
{
    size_t field = b;
    while (b < e && cs_text_is_blank(line[b])) {
        b++;
    }
    while (e > b && cs_text_is_blank(line[e - 1])) {
        e--;
    }
    if (b == e) {
        return s_fail(why, (unsigned)field + 1, "%s is empty", what);
    }
    size_t bad = cs_text_utf8_end(line + b, e - b, 0);
    if (bad != e - b) {
        return s_fail(why, (unsigned)(b + bad) + 1,
                      "%s has byte 0x%02x, which is a control character or not UTF-8", what,
                      (unsigned char)line[b + bad]);
    }
    line[e] = '\0';
    *out = line + b;
    return 0;
}

/* Parse one line (CR and BOM already removed) of length len; line[len] must be writable.
 * Returns 0, or -1 with why filled. */
static int s_parse_line(char *line, size_t len, s_line_t *out, s_why_t *why)
{
    char shown[64];
    if (len < S_MIN_LINE) {
        return s_fail(why, (unsigned)len + 1,
                      "line is %zu characters long, expected at least %d (order number, code, "
                      "flag, short title, long title)",
                      len, S_MIN_LINE);
    }
    if (len > S_LINE_MAX) {
        return s_fail(why, S_LINE_MAX + 1, "line is longer than %d characters", S_LINE_MAX);
    }
    uint32_t order = 0;
    for (size_t i = 0; i < S_COL_SEP1; i++) {
        if (!s_is_digit(line[i])) {
            return s_fail(why, (unsigned)i + 1, "order number '%s' is not 5 digits",
                          s_show(line, S_COL_SEP1, shown, sizeof shown));
        }
        order = order * 10 + (uint32_t)(line[i] - '0');
    }
    static const size_t seps[] = {S_COL_SEP1, S_COL_SEP2, S_COL_SEP3, S_COL_SEP4};
    for (size_t i = 0; i < sizeof seps / sizeof seps[0]; i++) {
        if (line[seps[i]] != ' ') {
            return s_fail(why, (unsigned)seps[i] + 1, "expected a space at column %zu, found '%s'",
                          seps[i] + 1, s_show(line + seps[i], 1, shown, sizeof shown));
        }
    }
    const char *code = line + S_COL_CODE;
    size_t n = 0;
    while (n < S_CODE_WIDTH && code[n] != ' ') {
        n++;
    }
    for (size_t i = n; i < S_CODE_WIDTH; i++) {
        if (code[i] != ' ') {
            return s_fail(why, S_COL_CODE + (unsigned)i + 1, "code '%s' has a space inside",
                          s_show(code, S_CODE_WIDTH, shown, sizeof shown));
        }
    }
    s_show(code, n, shown, sizeof shown);
    if (n < 3) {
        return s_fail(why, S_COL_CODE + 1, "code '%s' is shorter than 3 characters", shown);
    }
    if (!s_is_upper(code[0])) {
        return s_fail(why, S_COL_CODE + 1, "code '%s' does not start with a letter A-Z", shown);
    }
    /* No rule on the second character: FY2026 brought QA0 (letter, letter, digit). */
    for (size_t i = 1; i < n; i++) {
        if (!s_is_upper(code[i]) && !s_is_digit(code[i])) {
            return s_fail(why, S_COL_CODE + (unsigned)i + 1,
                          "code '%s' has a character that is not A-Z or 0-9", shown);
        }
    }
    char flag = line[S_COL_FLAG];
    if (flag != '0' && flag != '1') {
        return s_fail(why, S_COL_FLAG + 1, "flag is '%s', expected 0 or 1",
                      s_show(&flag, 1, shown, sizeof shown));
    }
    /* The long title is terminated first: the short title's NUL may land on column 77. */
    if (s_title(line, S_COL_LONG, len, "long title", &out->title, why) != 0 ||
        s_title(line, S_COL_SHORT, S_COL_SHORT + S_SHORT_WIDTH, "short title", &out->short_title,
                why) != 0) {
        return -1;
    }
    out->order = order;
    memcpy(out->code, code, n);
    out->code[n] = '\0';
    out->code_len = n;
    out->billable = flag == '1';
    return 0;
}

/* Display form: a dot after the third character of a longer code. out holds 9 bytes. */
static void s_display(const char *code, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 3) {
            out[o++] = '.';
        }
        out[o++] = code[i];
    }
    out[o] = '\0';
}

static uint64_t s_pack(const char *code, size_t n)
{
    uint64_t key = 0;
    for (size_t i = 0; i < n; i++) {
        key |= (uint64_t)(unsigned char)code[i] << (8 * i);
    }
    return key;
}

static size_t s_slot_of(const s_load_t *ld, uint64_t key)
{
    return (size_t)((key * UINT64_C(0x9E3779B97F4A7C15)) >> (64 - ld->set_bits));
}

/* The slot holding key, or the empty slot where it would go. */
static s_slot_t *s_set_find(const s_load_t *ld, uint64_t key)
{
    size_t mask = ld->set_cap - 1;
    size_t i = s_slot_of(ld, key);
    while (ld->set[i].key != 0 && ld->set[i].key != key) {
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
    unsigned bits = 0;
    while (((size_t)1 << bits) < cap) {
        bits++;
    }
    ld->set = set;
    ld->set_cap = cap;
    ld->set_bits = bits;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].key != 0) {
            *s_set_find(ld, old[i].key) = old[i];
        }
    }
    free(old);
    return CS_OK;
}

static int s_error_at(s_load_t *ld, int code, unsigned line, unsigned column, const char *msg)
{
    return cs_text_fail(&ld->t, code, line, column, "%s", msg);
}

/* Validate one parsed line against what came before, and emit it. */
static int s_take(s_load_t *ld, const s_line_t *ln, unsigned lineno, uint32_t *prev_order)
{
    char msg[200];
    char disp[S_CODE_WIDTH + 2];
    s_display(ln->code, ln->code_len, disp);
    if (*prev_order != 0 && ln->order <= *prev_order) {
        snprintf(msg, sizeof msg, "order number %05u is not greater than the one before, %05u",
                 ln->order, *prev_order);
        return s_error_at(ld, CS_EMALFORMED, lineno, 1, msg);
    }
    if (ln->order == 0) {
        return s_error_at(ld, CS_EMALFORMED, lineno, 1,
                          "order number is 00000, expected 1 or more");
    }
    if (2 * (ld->set_len + 1) > ld->set_cap && s_set_grow(ld) != CS_OK) {
        return s_error_at(ld, CS_ENOMEM, lineno, 0, "out of memory for the code set");
    }
    uint64_t key = s_pack(ln->code, ln->code_len);
    s_slot_t *slot = s_set_find(ld, key);
    if (slot->key != 0) {
        snprintf(msg, sizeof msg, "code '%s' appears twice (first on line %u)", disp, slot->line);
        return s_error_at(ld, CS_EMALFORMED, lineno, S_COL_CODE + 1, msg);
    }
    char parent[S_CODE_WIDTH + 2];
    const char *parent_p = NULL;
    if (ln->code_len > 3) {
        size_t k = ln->code_len - 1;
        for (; k >= 3; k--) {
            uint64_t pkey = key & ((UINT64_C(1) << (8 * k)) - 1);
            if (s_set_find(ld, pkey)->key != 0) {
                break;
            }
        }
        if (k < 3) {
            char cat[4];
            s_display(ln->code, 3, cat);
            snprintf(msg, sizeof msg, "code '%s' has no category '%s' (nor any other prefix) "
                     "earlier in the file", disp, cat);
            return s_error_at(ld, CS_EMALFORMED, lineno, S_COL_CODE + 1, msg);
        }
        s_display(ln->code, k, parent);
        parent_p = parent;
    }
    slot->key = key;
    slot->line = lineno;
    ld->set_len++;
    *prev_order = ln->order;

    const char *kind = "code";
    if (ln->code_len == 3) {
        kind = "category";
    } else if (!ln->billable) {
        kind = "subcategory";
    }
    cs_record_t rec = {
        .struct_size = sizeof(cs_record_t),
        .system = "icd10cm",
        .cls = CS_CLASS_CODE,
        .code = disp,
        .kind = kind,
        .billable = ln->billable,
        .title = ln->title,
        .short_title = ln->short_title,
        .parent_cls = CS_CLASS_CODE,
        .parent = parent_p,
        .order = ln->order,
        .notes = NULL,
        .n_notes = 0,
        .terms = NULL,
        .n_terms = 0,
    };
    return ld->t.host->emit(ld->t.sink, &rec, ld->t.err);
}

/* Read the file line by line and take every line. */
static int s_read(s_load_t *ld)
{
    unsigned first_empty = 0;
    uint32_t prev_order = 0;
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
        if (cs_text_is_empty(line, len)) {
            if (first_empty == 0) {
                first_empty = lineno;
            }
            continue;
        }
        if (first_empty != 0) {
            return s_error_at(ld, CS_EMALFORMED, first_empty, 1,
                              "empty line before the end of the file");
        }
        s_line_t ln;
        s_why_t why;
        if (s_parse_line(line, len, &ln, &why) != 0) {
            return s_error_at(ld, CS_EMALFORMED, lineno, why.column ? why.column + shift : 0,
                              why.msg);
        }
        rc = s_take(ld, &ln, lineno, &prev_order);
        if (rc != CS_OK) {
            return rc;
        }
        if (lineno % S_TICK == 0) {
            rc = cs_text_poll(&ld->t, lineno, ld->t.done);
            if (rc != CS_OK) {
                return rc;
            }
        }
    }
    if (ld->set_len == 0) {
        return s_error_at(ld, CS_EMALFORMED, ld->t.lineno, 0, "the file holds no codes");
    }
    if (ld->t.has_progress) {
        ld->t.host->progress(ld->t.sink, ld->t.done);
    }
    return CS_OK;
}

#define S_HAS(host, field)                                                                  \
    ((host)->struct_size >= offsetof(cs_host_api_t, field) + sizeof((host)->field) &&       \
     (host)->field != NULL)

static int s_load(const cs_host_api_t *host, cs_sink_t *sink, const char *const *files,
                  size_t n_files, cs_error_t *err)
{
    if (!host || !files || !S_HAS(host, emit)) {
        return cs_error_set(err, CS_EINVAL, "icd10cm-order: no host table or no files");
    }
    if (n_files != 1 || !files[0]) {
        return cs_error_set(err, CS_EINVAL,
                            "icd10cm-order takes exactly one order file, got %zu files", n_files);
    }
    s_load_t ld = {0};
    cs_text_begin(&ld.t, host, sink, err);
    ld.t.base = cs_text_base_name(files[0]);
    int rc = CS_OK;
    char *buf = NULL;
    FILE *fp = fopen(files[0], "rb");
    if (!fp) {
        cs_error_at(err, ld.t.base, 0, 0);
        rc = cs_error_set(err, CS_EIO, "cannot open %s: %s", files[0], strerror(errno));
        goto fail;
    }
    buf = malloc(CS_TEXT_BUF_SIZE + 1);
    if (!buf || s_set_grow(&ld) != CS_OK) {
        cs_error_at(err, ld.t.base, 0, 0);
        rc = cs_error_set(err, CS_ENOMEM, "out of memory loading %s", ld.t.base);
        goto fail;
    }
    cs_text_start(&ld.t, fp, buf, S_LINE_MAX);
    rc = s_read(&ld);
fail:
    free(ld.set);
    free(buf);
    if (fp) {
        fclose(fp);
    }
    return rc;
}

/* One file whose first line has the order-file layout. */
static int s_sniff(const char *const *files, size_t n_files)
{
    if (!files || n_files != 1 || !files[0]) {
        return 0;
    }
    FILE *fp = fopen(files[0], "rb");
    if (!fp) {
        return 0;
    }
    char buf[S_SNIFF_MAX + 1];
    size_t got = fread(buf, 1, S_SNIFF_MAX, fp);
    fclose(fp);
    char *nl = memchr(buf, '\n', got);
    if (!nl && got == S_SNIFF_MAX) {
        return 0;
    }
    size_t len = nl ? (size_t)(nl - buf) : got;
    unsigned shift;
    char *line = cs_text_trim(buf, &len, 1, &shift);
    s_line_t ln;
    s_why_t why;
    return s_parse_line(line, len, &ln, &why) == 0;
}

static const char *const s_systems[] = {"icd10cm", NULL};

static const cs_loader_ops_t s_ops = {
    .systems = s_systems,
    .sniff = s_sniff,
    .load = s_load,
};

CS_PLUGIN_EXPORT const cs_plugin_desc_t cs_plugin_icd10cm_order = {
    CS_PLUGIN_HEADER,
    .kind = CS_PLUGIN_LOADER,
    .name = "icd10cm-order",
    .version = "1.0.0",
    .title = "ICD-10-CM from the CMS/CDC order file alone (no tabular XML)",
    .system = NULL,
    .loader = &s_ops,
};
