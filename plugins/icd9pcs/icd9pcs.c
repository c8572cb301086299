/* icd9pcs.c: the ICD-9-CM procedures system plugin (volume 3): the syntax and canonical forms
 * of its codes.
 *
 *   code  36.06, 3606, " 36.06 "  -> key "3606", display "36.06"
 *         36, 36.0, 360           -> key "36" / "360", display "36" / "36.0"
 *
 * A code is two digits, then one or two decimals; the dot goes after the second character. The
 * GEMs files write codes without the dot; where a code has no map, the ICD-10-PCS to ICD-9-CM
 * file writes "NoI9" and the other one "NoPCS". Neither placeholder is a code.
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

#define S_HEAD 2         /* digits before the dot: the category */
#define S_DECIMALS 2     /* most digits after the dot */
#define S_CODE_LONGEST 4 /* S_HEAD + S_DECIMALS */

/* Refuse the first character that is neither a digit nor a dot, saying which and where. */
static int s_check_chars(const unsigned char *p, size_t n, cs_error_t *err)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (cs_code_text_is_digit(c) || c == '.') {
            continue;
        }
        if (cs_code_text_is_alpha(c)) {
            return cs_code_text_fail(err, p, n, ": the letter '%c' (position %zu) is not allowed; "
                                                "ICD-9-CM procedure codes are digits only",
                                     cs_code_text_upper(c), i + 1);
        }
        return cs_code_text_bad_char(err, p, n, i, "an ICD-9-CM procedure code");
    }
    return CS_OK;
}

static int s_normalize(const char *in, size_t len, cs_code_t *out, cs_error_t *err)
{
    const unsigned char *p = NULL;
    size_t n = 0;
    int rc = cs_code_text_input("icd9pcs", in, len, out, &p, &n, err);
    if (rc != CS_OK) {
        return rc;
    }
    if (cs_code_text_is_word(p, n, "NoI9") || cs_code_text_is_word(p, n, "NoPCS")) {
        return cs_code_text_fail(err, p, n,
                                 " is the GEMs mark for a procedure without a map, not an "
                                 "ICD-9-CM procedure code");
    }
    rc = s_check_chars(p, n, err);
    if (rc != CS_OK) {
        return rc;
    }
    size_t n_dots = 0;
    size_t dot = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '.' && n_dots++ == 0) {
            dot = i;
        }
    }
    if (n_dots > 1) {
        return cs_code_text_fail(err, p, n, ": more than one dot");
    }
    size_t m = n - n_dots; /* digits */
    if (m < S_HEAD) {
        return cs_code_text_fail(err, p, n,
                                 " is too short: an ICD-9-CM procedure code is %d digits, then "
                                 "up to %d decimals",
                                 S_HEAD, S_DECIMALS);
    }
    if (m > S_CODE_LONGEST) {
        return cs_code_text_fail(err, p, n, ": too long (%zu digits; at most %d)", m,
                                 S_CODE_LONGEST);
    }
    char key[S_CODE_LONGEST + 1];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] != '.') {
            key[k++] = (char)p[i];
        }
    }
    key[k] = '\0';
    if (n_dots == 1 && dot != S_HEAD) {
        return cs_code_text_fail(err, p, n, ": the dot goes after the second character (%.2s%s%s)",
                                 key, m > S_HEAD ? "." : "", key + S_HEAD);
    }
    if (n_dots == 1 && m == S_HEAD) {
        return cs_code_text_fail(err, p, n, ": nothing after the dot (write %s)", key);
    }
    out->cls = CS_CLASS_CODE;
    memcpy(out->key, key, k + 1);
    memcpy(out->display, key, S_HEAD);
    if (m > S_HEAD) {
        out->display[S_HEAD] = '.';
        memcpy(out->display + S_HEAD + 1, key + S_HEAD, k - S_HEAD + 1);
    } else {
        out->display[S_HEAD] = '\0';
    }
    return CS_OK;
}

/* A code or a code prefix: 2 to 4 digits, with at most one dot, after the second ("36",
 * "36.", "360", "36.06"). */
static int s_looks_like_code(const char *in, size_t len)
{
    if (!in) {
        return 0;
    }
    size_t n = len;
    const unsigned char *p = cs_code_text_trim((const unsigned char *)in, &n);
    size_t n_dots = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '.') {
            if (i != S_HEAD || n_dots++ > 0) {
                return 0;
            }
        } else if (!cs_code_text_is_digit(p[i])) {
            return 0;
        }
    }
    return n - n_dots >= S_HEAD && n - n_dots <= S_CODE_LONGEST;
}

static const char *const s_kinds[] = {"category", "subcategory", "code", NULL};

static const cs_system_ops_t s_ops = {
    .normalize = s_normalize,
    .looks_like_code = s_looks_like_code,
    .kinds = s_kinds,
};

CS_PLUGIN_EXPORT const cs_plugin_desc_t cs_plugin_icd9pcs = {
    CS_PLUGIN_HEADER,
    .kind = CS_PLUGIN_SYSTEM,
    .name = "icd9pcs",
    .version = "1.0.0",
    .title = "ICD-9-CM volume 3 (procedures)",
    .system = &s_ops,
    .loader = NULL,
};
