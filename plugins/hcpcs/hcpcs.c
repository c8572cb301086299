/* hcpcs.c: the HCPCS Level II system plugin: the syntax and canonical form of its codes and
 * modifiers.
 *
 *   code      J3490, j3490, " G0008 "  -> key and display "J3490", "G0008"
 *   modifier  lt, 25, " XE "           -> key and display "LT", "25", "XE"
 *
 * A code is a letter and four digits. The letters in use are A-V without F, I, N and O: CMS's
 * quarterly file holds A, B, C, E, G, H, J, K, L, M, P, Q, R, S, T, U and V, and D is the
 * dental series (CDT), a Level II series the ADA licenses and CMS leaves out of its file.
 * A modifier is any two letters or digits; two characters always mean a modifier, five a code,
 * so normalize() needs no other hint.
 *
 * normalize() runs on every request: it allocates nothing, keeps no state and never reads past
 * len. Error messages quote the input (trimmed, cut after CS_CODE_TEXT_QUOTE_MAX bytes, control and
 * non-ASCII bytes escaped) and give the 1-based position of the offending character.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../common/cs_code_text.h"
#include "codeset/cs_plugin.h"

#define S_CODE_LEN 5     /* a letter and four digits */
#define S_MODIFIER_LEN 2 /* two letters or digits */

/* Letters a Level II code may start with (see the file comment). */
static const char s_series[] = "ABCDEGHJKLMPQRSTUV";

static int s_is_series(unsigned char c)
{
    return cs_code_text_is_alpha(c) && strchr(s_series, cs_code_text_upper(c)) != NULL;
}

/* Refuse the first character that is not a letter or a digit, saying which and where. */
static int s_check_chars(const unsigned char *p, size_t n, cs_error_t *err)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (cs_code_text_is_alnum(c)) {
            continue;
        }
        if (c == '-') {
            /* "J3490-JW" is how a claim line often shows a code with its modifier */
            return cs_code_text_fail(err, p, n,
                                     ": '-' (position %zu) is not allowed; give a code and "
                                     "its modifier separately",
                                     i + 1);
        }
        if (c == '.') {
            return cs_code_text_fail(err, p, n, ": HCPCS codes have no dot (position %zu)", i + 1);
        }
        return cs_code_text_bad_char(err, p, n, i, "a HCPCS code");
    }
    return CS_OK;
}

static int s_code(const unsigned char *p, size_t n, cs_error_t *err)
{
    if (cs_code_text_is_digit(p[0])) {
        return cs_code_text_fail(err, p, n,
                                 " starts with a digit: HCPCS Level II codes start with a "
                                 "letter (a code of 5 digits is CPT)");
    }
    if (!s_is_series(p[0])) {
        return cs_code_text_fail(err, p, n,
                                 ": no HCPCS Level II code starts with '%c' (the series are "
                                 "A-V without F, I, N and O)",
                                 cs_code_text_upper(p[0]));
    }
    for (size_t i = 1; i < n; i++) {
        if (!cs_code_text_is_digit(p[i])) {
            return cs_code_text_fail(err, p, n,
                                     ": position %zu must be a digit (a code is a letter and 4 "
                                     "digits, like J3490)",
                                     i + 1);
        }
    }
    return CS_OK;
}

static int s_normalize(const char *in, size_t len, cs_code_t *out, cs_error_t *err)
{
    const unsigned char *p = NULL;
    size_t n = 0;
    int rc = cs_code_text_input("hcpcs", in, len, out, &p, &n, err);
    if (rc != CS_OK) {
        return rc;
    }
    rc = s_check_chars(p, n, err);
    if (rc != CS_OK) {
        return rc;
    }
    if (n > S_CODE_LEN) {
        return cs_code_text_fail(err, p, n, ": too long (%zu characters; a HCPCS code has %d)", n,
                                 S_CODE_LEN);
    }
    if (n != S_CODE_LEN && n != S_MODIFIER_LEN) {
        return cs_code_text_fail(err, p, n,
                                 " is too short: a HCPCS code has %d characters, a letter and "
                                 "4 digits (a modifier %d)",
                                 S_CODE_LEN, S_MODIFIER_LEN);
    }
    if (n == S_CODE_LEN) {
        rc = s_code(p, n, err);
        if (rc != CS_OK) {
            return rc;
        }
    }
    out->cls = CS_CLASS_CODE;
    for (size_t i = 0; i < n; i++) {
        out->key[i] = cs_code_text_upper(p[i]);
    }
    out->key[n] = '\0';
    memcpy(out->display, out->key, n + 1);
    return CS_OK;
}

/* A modifier, a code, or a code prefix of at least two characters: a series letter then
 * digits ("J3", "J349", "J3490"). */
static int s_looks_like_code(const char *in, size_t len)
{
    if (!in) {
        return 0;
    }
    size_t n = len;
    const unsigned char *p = cs_code_text_trim((const unsigned char *)in, &n);
    if (n == S_MODIFIER_LEN) {
        return cs_code_text_is_alnum(p[0]) && cs_code_text_is_alnum(p[1]);
    }
    if (n < S_MODIFIER_LEN || n > S_CODE_LEN || !s_is_series(p[0])) {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if (!cs_code_text_is_digit(p[i])) {
            return 0;
        }
    }
    return 1;
}

static const char *const s_kinds[] = {"code", "modifier", NULL};

static const cs_system_ops_t s_ops = {
    .normalize = s_normalize,
    .looks_like_code = s_looks_like_code,
    .kinds = s_kinds,
};

CS_PLUGIN_EXPORT const cs_plugin_desc_t cs_plugin_hcpcs = {
    CS_PLUGIN_HEADER,
    .kind = CS_PLUGIN_SYSTEM,
    .name = "hcpcs",
    .version = "1.0.0",
    .title = "HCPCS Level II (supplies, services and modifiers)",
    .system = &s_ops,
    .loader = NULL,
};
