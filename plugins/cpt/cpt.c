/* cpt.c: the CPT system plugin: the syntax and canonical form of its codes.
 *
 *   Category I    99213, " 99213 "  -> key and display "99213"
 *   Category II   0001f             -> key and display "0001F"
 *   Category III  0042T             -> key and display "0042T"
 *   PLA           0001U             -> key and display "0001U"
 *
 * A code has five characters: five digits, or four digits and F, T or U. CPT is licensed by the
 * AMA, so the codes reach the store from a licensed export (a FHIR CodeSystem); its sections
 * and categories are the grouping kinds such an export can carry.
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

#define S_CODE_LEN 5   /* every code has five characters */
#define S_PREFIX_MIN 2 /* shortest text looks_like_code takes for a code prefix */

/* The letters that may end a code: F (Category II), T (Category III), U (PLA). */
static int s_is_suffix(unsigned char c)
{
    char u = cs_code_text_upper(c);
    return u == 'F' || u == 'T' || u == 'U';
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
            /* "99213-25" is how a claim line often shows a code with its modifier */
            return cs_code_text_fail(err, p, n,
                                     ": '-' (position %zu) is not allowed; give the code "
                                     "without its modifier",
                                     i + 1);
        }
        if (c == '.') {
            return cs_code_text_fail(err, p, n, ": CPT codes have no dot (position %zu)", i + 1);
        }
        return cs_code_text_bad_char(err, p, n, i, "a CPT code");
    }
    return CS_OK;
}

static int s_normalize(const char *in, size_t len, cs_code_t *out, cs_error_t *err)
{
    const unsigned char *p = NULL;
    size_t n = 0;
    int rc = cs_code_text_input("cpt", in, len, out, &p, &n, err);
    if (rc != CS_OK) {
        return rc;
    }
    rc = s_check_chars(p, n, err);
    if (rc != CS_OK) {
        return rc;
    }
    if (n < S_CODE_LEN) {
        return cs_code_text_fail(err, p, n,
                                 " is too short: a CPT code has %d characters (5 digits, or 4 "
                                 "digits and F, T or U)",
                                 S_CODE_LEN);
    }
    if (n > S_CODE_LEN) {
        return cs_code_text_fail(err, p, n, ": too long (%zu characters; a CPT code has %d)", n,
                                 S_CODE_LEN);
    }
    if (cs_code_text_is_alpha(p[0])) {
        return cs_code_text_fail(err, p, n,
                                 " starts with a letter: CPT codes start with a digit (a "
                                 "letter and 4 digits is a HCPCS Level II code)");
    }
    for (size_t i = 1; i < S_CODE_LEN - 1; i++) {
        if (!cs_code_text_is_digit(p[i])) {
            return cs_code_text_fail(err, p, n, ": position %zu must be a digit (only the fifth "
                                                "character may be a letter)",
                                     i + 1);
        }
    }
    unsigned char last = p[S_CODE_LEN - 1];
    if (!cs_code_text_is_digit(last) && !s_is_suffix(last)) {
        return cs_code_text_fail(err, p, n,
                                 ": the fifth character must be a digit, F (Category II), T "
                                 "(Category III) or U (PLA), not '%c'",
                                 cs_code_text_upper(last));
    }
    out->cls = CS_CLASS_CODE;
    for (size_t i = 0; i < n; i++) {
        out->key[i] = cs_code_text_upper(p[i]);
    }
    out->key[n] = '\0';
    memcpy(out->display, out->key, n + 1);
    return CS_OK;
}

/* A code or a code prefix: 2 to 5 digits, or four digits and F, T or U. Words never start
 * with a digit, so digits alone are taken for a prefix (a year too; search then falls back
 * to words when no code matches). */
static int s_looks_like_code(const char *in, size_t len)
{
    if (!in) {
        return 0;
    }
    size_t n = len;
    const unsigned char *p = cs_code_text_trim((const unsigned char *)in, &n);
    if (n < S_PREFIX_MIN || n > S_CODE_LEN) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        int last_of_code = i == S_CODE_LEN - 1;
        if (!cs_code_text_is_digit(p[i]) && !(last_of_code && s_is_suffix(p[i]))) {
            return 0;
        }
    }
    return 1;
}

static const char *const s_kinds[] = {"section", "category", "code", NULL};

static const cs_system_ops_t s_ops = {
    .normalize = s_normalize,
    .looks_like_code = s_looks_like_code,
    .kinds = s_kinds,
};

CS_PLUGIN_EXPORT const cs_plugin_desc_t cs_plugin_cpt = {
    CS_PLUGIN_HEADER,
    .kind = CS_PLUGIN_SYSTEM,
    .name = "cpt",
    .version = "1.0.0",
    .title = "CPT (Current Procedural Terminology)",
    .system = &s_ops,
    .loader = NULL,
};
