/* cs_order.c: the CMS/CDC order file the ICD-10 loaders share (see cs_order.h). */
#include "cs_order.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "codeset/cs_error.h"
#include "cs_text.h"

#define S_COL_SEP1 5 /* 0-based columns of the layout */
#define S_COL_CODE 6
#define S_COL_SEP2 13
#define S_COL_FLAG 14
#define S_COL_SEP3 15
#define S_COL_SHORT 16
#define S_SHORT_WIDTH 60
#define S_COL_SEP4 76
#define S_COL_LONG 77
#define S_MIN_LINE 78 /* everything up to and including one character of long title */

const char *cs_order_show(const char *in, size_t n, char *out, size_t cap)
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

/* Fill msg from fmt; returns column. */
static unsigned s_fault(unsigned column, char *msg, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static unsigned s_fault(unsigned column, char *msg, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, cap, fmt, ap);
    va_end(ap);
    return column;
}

/* Trim blanks around line[b..e), check the text, NUL-terminate it in place. 0, or the column
 * of the fault (the field's first for an empty one). */
static unsigned s_title(char *line, size_t b, size_t e, const char *what, const char **out,
                        char *msg, size_t cap)
{
    size_t field = b;
    while (b < e && cs_text_is_blank(line[b])) {
        b++;
    }
    while (e > b && cs_text_is_blank(line[e - 1])) {
        e--;
    }
    if (b == e) {
        return s_fault((unsigned)field + 1, msg, cap, "%s is empty", what);
    }
    size_t bad = cs_text_utf8_end(line + b, e - b, 0);
    if (bad != e - b) {
        return s_fault((unsigned)(b + bad) + 1, msg, cap,
                       "%s has byte 0x%02x, which is a control character or not UTF-8", what,
                       (unsigned char)line[b + bad]);
    }
    line[e] = '\0';
    *out = line + b;
    return 0;
}

/* The order number and the separators: 0, or the column of the fault. */
static unsigned s_frame(const char *line, uint32_t *order, char *msg, size_t cap)
{
    char shown[64];
    *order = 0;
    for (size_t i = 0; i < S_COL_SEP1; i++) {
        if (line[i] < '0' || line[i] > '9') {
            return s_fault((unsigned)i + 1, msg, cap, "order number '%s' is not 5 digits",
                           cs_order_show(line, S_COL_SEP1, shown, sizeof shown));
        }
        *order = *order * 10 + (uint32_t)(line[i] - '0');
    }
    static const size_t seps[] = {S_COL_SEP1, S_COL_SEP2, S_COL_SEP3, S_COL_SEP4};
    for (size_t i = 0; i < sizeof seps / sizeof seps[0]; i++) {
        if (line[seps[i]] != ' ') {
            return s_fault((unsigned)seps[i] + 1, msg, cap,
                           "expected a space at column %zu, found '%s'", seps[i] + 1,
                           cs_order_show(line + seps[i], 1, shown, sizeof shown));
        }
    }
    return 0;
}

unsigned cs_order_parse(char *line, size_t len, cs_order_check_fn check, cs_order_entry_t *out,
                        char *msg, size_t cap)
{
    char shown[64];
    if (len < S_MIN_LINE) {
        return s_fault((unsigned)len + 1, msg, cap,
                       "line is %zu characters long, expected at least %d (order number, code, "
                       "flag, short title, long title)",
                       len, S_MIN_LINE);
    }
    if (len > CS_ORDER_LINE_MAX) {
        return s_fault(CS_ORDER_LINE_MAX + 1, msg, cap, "line is longer than %d characters",
                       CS_ORDER_LINE_MAX);
    }
    uint32_t order = 0;
    unsigned col = s_frame(line, &order, msg, cap);
    if (col != 0) {
        return col;
    }
    const char *code = line + S_COL_CODE;
    size_t n = 0;
    while (n < CS_ORDER_CODE_MAX && code[n] != ' ') {
        n++;
    }
    for (size_t i = n; i < CS_ORDER_CODE_MAX; i++) {
        if (code[i] != ' ') {
            return s_fault(S_COL_CODE + (unsigned)i + 1, msg, cap, "code '%s' has a space inside",
                           cs_order_show(code, CS_ORDER_CODE_MAX, shown, sizeof shown));
        }
    }
    char flag = line[S_COL_FLAG];
    col = check(code, n, cs_order_show(code, n, shown, sizeof shown), flag, msg, cap);
    if (col != 0) {
        return col;
    }
    /* The long title is terminated first: the short title's NUL may land on column 77. */
    col = s_title(line, S_COL_LONG, len, "long title", &out->title, msg, cap);
    if (col == 0) {
        col = s_title(line, S_COL_SHORT, S_COL_SHORT + S_SHORT_WIDTH, "short title",
                      &out->short_title, msg, cap);
    }
    if (col != 0) {
        return col;
    }
    out->key = cs_hset_pack(code, n);
    out->order = order;
    out->line = 0;
    memcpy(out->code, code, n);
    out->code[n] = '\0';
    out->len = (uint8_t)n;
    out->billable = flag == '1';
    out->emitted = 0;
    return 0;
}

int cs_order_sniff(char *buf, size_t got, size_t cap, cs_order_check_fn check)
{
    char *nl = memchr(buf, '\n', got);
    if (!nl && got == cap) {
        return 0;
    }
    size_t len = nl ? (size_t)(nl - buf) : got;
    unsigned shift;
    char *line = cs_text_trim(buf, &len, 1, &shift);
    cs_order_entry_t e;
    char msg[200];
    return cs_order_parse(line, len, check, &e, msg, sizeof msg) == 0;
}

const char *cs_order_display(const char *code, size_t n, int dotted, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n && i < CS_ORDER_CODE_MAX; i++) {
        if (dotted && i == 3) {
            out[o++] = '.';
        }
        out[o++] = code[i];
    }
    out[o] = '\0';
    return out;
}

/* Fill fault; returns its code. */
static int s_fail(cs_order_fault_t *f, int code, unsigned line, unsigned column, const char *fmt,
                  ...) __attribute__((format(printf, 5, 6)));
static int s_fail(cs_order_fault_t *f, int code, unsigned line, unsigned column, const char *fmt,
                  ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->msg, sizeof f->msg, fmt, ap);
    va_end(ap);
    f->code = code;
    f->line = line;
    f->column = column;
    return code;
}

/* Read the whole regular file path into o->text. */
static int s_slurp(cs_order_t *o, const char *path, cs_order_fault_t *f)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        return s_fail(f, CS_EIO, 0, 0, "cannot open %s: %s", path, strerror(errno));
    }
    struct stat st;
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(fp);
        return s_fail(f, CS_EIO, 0, 0, "%s is not a regular file", path);
    }
    size_t size = (size_t)st.st_size;
    o->text = malloc(size + 1);
    if (!o->text) {
        fclose(fp);
        return s_fail(f, CS_ENOMEM, 0, 0, "out of memory for %zu bytes", size);
    }
    size_t got = fread(o->text, 1, size, fp);
    int rerr = ferror(fp);
    fclose(fp);
    if (got != size || rerr) {
        return s_fail(f, CS_EIO, 0, 0, "short read on %s", path);
    }
    o->text[size] = '\0';
    o->size = size;
    return CS_OK;
}

/* Parse the line line[0..len) numbered lineno (not empty) and index it. */
static int s_take(cs_order_t *o, char *line, size_t len, unsigned lineno, unsigned shift,
                  cs_order_check_fn check, int dotted, cs_order_fault_t *f)
{
    cs_order_entry_t *e = &o->entries[o->n_entries];
    char msg[200];
    unsigned col = cs_order_parse(line, len, check, e, msg, sizeof msg);
    if (col != 0) {
        return s_fail(f, CS_EMALFORMED, lineno, col + shift, "%s", msg);
    }
    e->line = lineno;
    uint32_t first = 0;
    int added = cs_hset_add(&o->index, e->key, (uint32_t)(o->n_entries + 1), &first);
    if (added < 0) {
        return s_fail(f, CS_ENOMEM, lineno, 0, "out of memory for the code index");
    }
    if (added == 0) {
        char disp[CS_ORDER_CODE_MAX + 2];
        return s_fail(f, CS_EMALFORMED, lineno, CS_ORDER_COL_CODE,
                      "code '%s' appears twice (first on line %u)",
                      cs_order_display(e->code, e->len, dotted, disp),
                      o->entries[first - 1].line);
    }
    o->n_entries++;
    return CS_OK;
}

int cs_order_read(cs_order_t *o, const char *path, cs_order_check_fn check, int dotted,
                  cs_order_fault_t *f)
{
    int rc = s_slurp(o, path, f);
    if (rc != CS_OK) {
        return rc;
    }
    size_t lines = 1;
    for (size_t i = 0; i < o->size; i++) {
        lines += o->text[i] == '\n';
    }
    o->entries = malloc(lines * sizeof *o->entries);
    if (!o->entries || cs_hset_reserve(&o->index, lines) != CS_OK) {
        return s_fail(f, CS_ENOMEM, 0, 0, "out of memory for %zu lines", lines);
    }
    char *p = o->text;
    char *end = p + o->size;
    unsigned lineno = 0;
    unsigned first_empty = 0;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        unsigned shift = 0;
        char *line = cs_text_trim(p, &len, ++lineno, &shift);
        p = nl ? nl + 1 : end;
        if (cs_text_is_empty(line, len)) {
            first_empty = first_empty ? first_empty : lineno;
            continue;
        }
        if (first_empty != 0) {
            return s_fail(f, CS_EMALFORMED, first_empty, 1,
                          "empty line before the end of the file");
        }
        rc = s_take(o, line, len, lineno, shift, check, dotted, f);
        if (rc != CS_OK) {
            return rc;
        }
    }
    if (o->n_entries == 0) {
        return s_fail(f, CS_EMALFORMED, lineno, 0, "the file holds no codes");
    }
    return CS_OK;
}

cs_order_entry_t *cs_order_find(const cs_order_t *o, uint64_t key)
{
    uint32_t *at = cs_hset_get(&o->index, key);
    return at ? &o->entries[*at - 1] : NULL;
}

void cs_order_free(cs_order_t *o)
{
    free(o->text);
    free(o->entries);
    cs_hset_free(&o->index);
    *o = (cs_order_t){0};
}
