/* icd10cm.c: the ICD-10-CM system plugin: the syntax and canonical forms of its codes,
 * blocks and chapters.
 *
 *   code     E11.9, e119, " S72.001A "  -> key "E119" / "S72001A", display "E11.9" / "S72.001A"
 *   block    m45-m49                    -> key and display "M45-M49"
 *   chapter  "01", "13"                 -> key and display "1", "13" (1 to 22)
 *
 * normalize() runs on every request: it allocates nothing, keeps no state and never reads past
 * len. Error messages quote the input (trimmed, cut after CS_CODE_TEXT_QUOTE_MAX bytes, control and
 * non-ASCII bytes escaped) so that a coder sees what was sent.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../common/cs_code_text.h"
#include "codeset/cs_plugin.h"

#define S_CODE_MIN 3     /* shortest code (a category), without the dot */
#define S_CODE_LONGEST 7 /* longest code, without the dot */
#define S_DOT_AT 3       /* the dot's only place: after the third character */
#define S_CHAPTERS 22    /* chapters 1..22 */
#define S_BLOCK_LEN 7    /* "M45-M49" */

/* The first two characters of a category: a letter and a digit, or (since FY2026, QA0) two
 * letters followed by a digit. */
static int s_category_start(const unsigned char *p, size_t n)
{
    if (n < 2 || !cs_code_text_is_alpha(p[0])) {
        return 0;
    }
    return cs_code_text_is_digit(p[1]) ||
           (n >= 3 && cs_code_text_is_alpha(p[1]) && cs_code_text_is_digit(p[2]));
}

/* A category-shaped triple: letter, digit, letter or digit (or letter, letter, digit). */
static int s_is_category(const unsigned char *p)
{
    return s_category_start(p, 3) && cs_code_text_is_alnum(p[2]);
}

static int s_chapter(const unsigned char *p, size_t n, cs_code_t *out, cs_error_t *err)
{
    for (size_t i = 0; i < n; i++) {
        if (!cs_code_text_is_digit(p[i])) {
            return cs_code_text_fail(err, p, n,
                                     " must start with a letter (a code) or be a chapter "
                                     "number from 1 to %d",
                                     S_CHAPTERS);
        }
    }
    if (n > 2) {
        return cs_code_text_fail(err, p, n, ": a chapter is a number from 1 to %d", S_CHAPTERS);
    }
    unsigned value = 0;
    for (size_t i = 0; i < n; i++) {
        value = value * 10 + (unsigned)(p[i] - '0');
    }
    if (value < 1 || value > S_CHAPTERS) {
        return cs_code_text_fail(err, p, n, ": no such chapter (ICD-10-CM has chapters 1 to %d)",
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
        return cs_code_text_fail(err, p, n,
                                 ": a block is two 3-character categories joined by '-', "
                                 "like M45-M49");
    }
    out->cls = CS_CLASS_BLOCK;
    for (size_t i = 0; i < S_BLOCK_LEN; i++) {
        out->key[i] = cs_code_text_upper(p[i]);
    }
    out->key[S_BLOCK_LEN] = '\0';
    memcpy(out->display, out->key, sizeof out->key);
    return CS_OK;
}

static int s_code(const unsigned char *p, size_t n, size_t dot, size_t n_dots, cs_code_t *out,
                  cs_error_t *err)
{
    if (n_dots > 1) {
        return cs_code_text_fail(err, p, n, ": more than one dot");
    }
    if (!cs_code_text_is_alpha(p[0])) {
        return cs_code_text_fail(err, p, n, " must start with a letter");
    }
    size_t m = n - n_dots; /* characters without the dot */
    if (m < S_CODE_MIN) {
        return cs_code_text_fail(err, p, n,
                                 " is too short: an ICD-10-CM code has %d to %d characters",
                                 S_CODE_MIN, S_CODE_LONGEST);
    }
    if (m > S_CODE_LONGEST) {
        return cs_code_text_fail(err, p, n, ": too long (%zu characters; at most %d)", m,
                                 S_CODE_LONGEST);
    }
    char key[S_CODE_LONGEST + 1];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] != '.') {
            key[k++] = cs_code_text_upper(p[i]);
        }
    }
    key[k] = '\0';
    if (!s_category_start((const unsigned char *)key, k)) {
        return cs_code_text_fail(err, p, n, ": the second character must be a digit (or a letter "
                                            "followed by a digit, as in QA0)");
    }
    if (n_dots == 1 && dot != S_DOT_AT) {
        return cs_code_text_fail(err, p, n, ": the dot goes after the third character (%.3s%s%s)",
                                 key, m > S_DOT_AT ? "." : "", key + S_DOT_AT);
    }
    if (n_dots == 1 && m == S_DOT_AT) {
        return cs_code_text_fail(err, p, n, ": nothing after the dot (write %s)", key);
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
    const unsigned char *p = NULL;
    size_t n = 0;
    int rc = cs_code_text_input("icd10cm", in, len, out, &p, &n, err);
    if (rc != CS_OK) {
        return rc;
    }

    size_t n_dots = 0;
    size_t dot = 0;
    size_t dash = n;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (cs_code_text_is_alnum(c)) {
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
        } else if (cs_code_text_is_space(c)) {
            return cs_code_text_fail(err, p, n,
                                     ": white space inside a code is not allowed (write it "
                                     "without spaces)");
        } else {
            char q[8];
            cs_code_text_quote(q, sizeof q, p + i, 1);
            return cs_code_text_fail(err, p, n, ": '%s' is not allowed in a code", q);
        }
    }

    if (dash < n) {
        if (n == S_BLOCK_LEN && dash == 3) {
            return s_block(p, n, out, err);
        }
        return cs_code_text_fail(err, p, n,
                                 ": '-' is not allowed in a code (a block is written like "
                                 "M45-M49)");
    }
    if (cs_code_text_is_digit(p[0]) && n_dots == 0) {
        return s_chapter(p, n, out, err);
    }
    return s_code(p, n, dot, n_dots, out, err);
}

static int s_looks_like_code(const char *in, size_t len)
{
    if (!in) {
        return 0;
    }
    size_t n = len;
    const unsigned char *p = cs_code_text_trim((const unsigned char *)in, &n);
    if (!s_category_start(p, n)) {
        return 0;
    }
    size_t n_dots = 0;
    for (size_t i = 2; i < n; i++) {
        if (p[i] == '.') {
            n_dots++;
        } else if (!cs_code_text_is_alnum(p[i])) {
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
