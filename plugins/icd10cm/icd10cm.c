/* icd10cm.c: the ICD-10-CM system plugin: the syntax and canonical forms of its codes,
 * blocks and chapters.
 *
 *   code     E11.9, e119, " S72.001A "  -> key "E119" / "S72001A", display "E11.9" / "S72.001A"
 *   block    m45-m49                    -> key and display "M45-M49"
 *   chapter  "01", "13"                 -> key and display "1", "13" (1 to 22)
 *
 * normalize() runs on every request: it allocates nothing, keeps no state and never reads past
 * len. Error messages quote the input (trimmed, cut after S_QUOTE_MAX bytes, control and
 * non-ASCII bytes escaped) so that a coder sees what was sent.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "codeset/cs_plugin.h"

#define S_CODE_MIN 3     /* shortest code (a category), without the dot */
#define S_CODE_LONGEST 7 /* longest code, without the dot */
#define S_DOT_AT 3       /* the dot's only place: after the third character */
#define S_CHAPTERS 22    /* chapters 1..22 */
#define S_BLOCK_LEN 7    /* "M45-M49" */
#define S_QUOTE_MAX 40   /* input bytes shown in a message */

static int s_is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int s_is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int s_is_alpha(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int s_is_alnum(unsigned char c)
{
    return s_is_alpha(c) || s_is_digit(c);
}

static char s_upper(unsigned char c)
{
    return (char)(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
}

/* Write in[0..len) into out for a message: printable ASCII as is, '\'' and '\\' escaped with a
 * backslash, anything else as \xHH; cut after S_QUOTE_MAX bytes with "...". */
static void s_quote(char *out, size_t cap, const unsigned char *in, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    size_t shown = len > S_QUOTE_MAX ? S_QUOTE_MAX : len;
    for (size_t i = 0; i < shown; i++) {
        unsigned char c = in[i];
        char buf[4];
        size_t n;
        if (c == '\'' || c == '\\') {
            buf[0] = '\\';
            buf[1] = (char)c;
            n = 2;
        } else if (c >= 0x20 && c < 0x7f) {
            buf[0] = (char)c;
            n = 1;
        } else {
            buf[0] = '\\';
            buf[1] = 'x';
            buf[2] = hex[c >> 4];
            buf[3] = hex[c & 0xf];
            n = 4;
        }
        if (o + n + 4 > cap) {
            break;
        }
        memcpy(out + o, buf, n);
        o += n;
    }
    if (shown < len && o + 4 <= cap) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

/* Fail with CS_EMALFORMED: "'<quoted input>'" followed by the formatted rest. */
static int s_fail(cs_error_t *err, const unsigned char *in, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int s_fail(cs_error_t *err, const unsigned char *in, size_t len, const char *fmt, ...)
{
    if (!err) {
        return CS_EMALFORMED;
    }
    char quoted[S_QUOTE_MAX * 4 + 8];
    char rest[192];
    s_quote(quoted, sizeof quoted, in, len);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rest, sizeof rest, fmt, ap);
    va_end(ap);
    return cs_error_set(err, CS_EMALFORMED, "'%s'%s", quoted, rest);
}

/* The first two characters of a category: a letter and a digit, or (since FY2026, QA0) two
 * letters followed by a digit. */
static int s_category_start(const unsigned char *p, size_t n)
{
    if (n < 2 || !s_is_alpha(p[0])) {
        return 0;
    }
    return s_is_digit(p[1]) || (n >= 3 && s_is_alpha(p[1]) && s_is_digit(p[2]));
}

/* A category-shaped triple: letter, digit, letter or digit (or letter, letter, digit). */
static int s_is_category(const unsigned char *p)
{
    return s_category_start(p, 3) && s_is_alnum(p[2]);
}

static int s_chapter(const unsigned char *p, size_t n, cs_code_t *out, cs_error_t *err)
{
    for (size_t i = 0; i < n; i++) {
        if (!s_is_digit(p[i])) {
            return s_fail(err, p, n, " must start with a letter (a code) or be a chapter "
                                     "number from 1 to %d",
                          S_CHAPTERS);
        }
    }
    if (n > 2) {
        return s_fail(err, p, n, ": a chapter is a number from 1 to %d", S_CHAPTERS);
    }
    unsigned value = 0;
    for (size_t i = 0; i < n; i++) {
        value = value * 10 + (unsigned)(p[i] - '0');
    }
    if (value < 1 || value > S_CHAPTERS) {
        return s_fail(err, p, n, ": no such chapter (ICD-10-CM has chapters 1 to %d)",
                      S_CHAPTERS);
    }
    out->cls = CS_CLASS_CHAPTER;
    snprintf(out->key, sizeof out->key, "%u", value);
    memcpy(out->display, out->key, sizeof out->key);
    return CS_OK;
}

static int s_block(const unsigned char *p, size_t n, cs_code_t *out, cs_error_t *err)
{
    if (!s_is_category(p) || !s_is_category(p + 4)) {
        return s_fail(err, p, n, ": a block is two 3-character categories joined by '-', "
                                 "like M45-M49");
    }
    out->cls = CS_CLASS_BLOCK;
    for (size_t i = 0; i < S_BLOCK_LEN; i++) {
        out->key[i] = s_upper(p[i]);
    }
    out->key[S_BLOCK_LEN] = '\0';
    memcpy(out->display, out->key, sizeof out->key);
    return CS_OK;
}

static int s_code(const unsigned char *p, size_t n, size_t dot, size_t n_dots, cs_code_t *out,
                  cs_error_t *err)
{
    if (n_dots > 1) {
        return s_fail(err, p, n, ": more than one dot");
    }
    if (!s_is_alpha(p[0])) {
        return s_fail(err, p, n, " must start with a letter");
    }
    size_t m = n - n_dots; /* characters without the dot */
    if (m < S_CODE_MIN) {
        return s_fail(err, p, n, " is too short: an ICD-10-CM code has %d to %d characters",
                      S_CODE_MIN, S_CODE_LONGEST);
    }
    if (m > S_CODE_LONGEST) {
        return s_fail(err, p, n, ": too long (%zu characters; at most %d)", m, S_CODE_LONGEST);
    }
    char key[S_CODE_LONGEST + 1];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] != '.') {
            key[k++] = s_upper(p[i]);
        }
    }
    key[k] = '\0';
    if (!s_category_start((const unsigned char *)key, k)) {
        return s_fail(err, p, n, ": the second character must be a digit (or a letter "
                                 "followed by a digit, as in QA0)");
    }
    if (n_dots == 1 && dot != S_DOT_AT) {
        return s_fail(err, p, n, ": the dot goes after the third character (%.3s%s%s)", key,
                      m > S_DOT_AT ? "." : "", key + S_DOT_AT);
    }
    if (n_dots == 1 && m == S_DOT_AT) {
        return s_fail(err, p, n, ": nothing after the dot (write %s)", key);
    }
    out->cls = CS_CLASS_CODE;
    memcpy(out->key, key, k + 1);
    memcpy(out->display, key, S_DOT_AT);
    if (m > S_DOT_AT) {
        out->display[S_DOT_AT] = '.';
        memcpy(out->display + S_DOT_AT + 1, key + S_DOT_AT, k - S_DOT_AT + 1);
    } else {
        out->display[S_DOT_AT] = '\0';
    }
    return CS_OK;
}

static int s_normalize(const char *in, size_t len, cs_code_t *out, cs_error_t *err)
{
    if (!out || (!in && len > 0)) {
        return cs_error_set(err, CS_EINVAL, "icd10cm: normalize called without input or output");
    }
    if (len == 0) {
        return cs_error_set(err, CS_EMALFORMED, "'': empty code");
    }
    const unsigned char *p = (const unsigned char *)in;
    size_t b = 0;
    size_t e = len;
    while (b < e && s_is_space(p[b])) {
        b++;
    }
    while (e > b && s_is_space(p[e - 1])) {
        e--;
    }
    if (b == e) {
        return s_fail(err, p, len, ": empty code (only white space)");
    }
    p += b;
    size_t n = e - b;

    size_t n_dots = 0;
    size_t dot = 0;
    size_t dash = n;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (s_is_alnum(c)) {
            continue;
        }
        if (c == '.') {
            if (n_dots++ == 0) {
                dot = i;
            }
        } else if (c == '-') {
            if (dash == n) {
                dash = i;
            }
        } else if (s_is_space(c)) {
            return s_fail(err, p, n, ": white space inside a code is not allowed (write it "
                                     "without spaces)");
        } else {
            char q[8];
            s_quote(q, sizeof q, p + i, 1);
            return s_fail(err, p, n, ": '%s' is not allowed in a code", q);
        }
    }

    if (dash < n) {
        if (n == S_BLOCK_LEN && dash == 3) {
            return s_block(p, n, out, err);
        }
        return s_fail(err, p, n, ": '-' is not allowed in a code (a block is written like "
                                 "M45-M49)");
    }
    if (s_is_digit(p[0]) && n_dots == 0) {
        return s_chapter(p, n, out, err);
    }
    return s_code(p, n, dot, n_dots, out, err);
}

static int s_looks_like_code(const char *in, size_t len)
{
    if (!in) {
        return 0;
    }
    const unsigned char *p = (const unsigned char *)in;
    size_t b = 0;
    size_t e = len;
    while (b < e && s_is_space(p[b])) {
        b++;
    }
    while (e > b && s_is_space(p[e - 1])) {
        e--;
    }
    size_t n = e - b;
    p += b;
    if (!s_category_start(p, n)) {
        return 0;
    }
    size_t n_dots = 0;
    for (size_t i = 2; i < n; i++) {
        if (p[i] == '.') {
            n_dots++;
        } else if (!s_is_alnum(p[i])) {
            return 0;
        }
    }
    return n_dots <= 1 && n - n_dots <= S_CODE_LONGEST;
}

static const char *const s_kinds[] = {"chapter", "block", "category", "subcategory", "code", NULL};

static const cs_system_ops_t s_ops = {
    .normalize = s_normalize,
    .looks_like_code = s_looks_like_code,
    .kinds = s_kinds,
};

CS_PLUGIN_EXPORT const cs_plugin_desc_t cs_plugin_icd10cm = {
    CS_PLUGIN_HEADER,
    .kind = CS_PLUGIN_SYSTEM,
    .name = "icd10cm",
    .version = "1.0.0",
    .title = "ICD-10-CM (diagnoses)",
    .system = &s_ops,
    .loader = NULL,
};
