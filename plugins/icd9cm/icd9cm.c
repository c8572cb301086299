/* icd9cm.c: the ICD-9-CM system plugin (diagnoses, volumes 1 and 2): the syntax and canonical
 * forms of its numeric, V and E codes.
 *
 *   numeric  250, 250.0, 25000, " 250.00 "  -> key "250" / "2500" / "25000", display "250.00"
 *   V code   v10.05, V1005                  -> key "V1005", display "V10.05"
 *   E code   e849.0, E8490                  -> key "E8490", display "E849.0"
 *
 * Each kind has its own shape: three digits then up to two decimals; V and two digits then up
 * to two decimals; E and three digits then at most one decimal. So the dot goes after the third
 * character, except in an E code, where it goes after the fourth. The GEMs files write codes
 * without the dot and "NoDx" where a code has no map; that placeholder is not a code.
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

#define S_CODE_LONGEST 5 /* longest code of any kind, without the dot */
#define S_PREFIX_MIN 2   /* shortest text looks_like_code takes for a code prefix */

/* One kind of code: what comes before the dot and how much may follow it. */
typedef struct s_shape {
    char lead;            /* the leading letter, 'V' or 'E'; '\0' for a numeric code */
    size_t head;          /* characters before the dot, the letter included */
    size_t decimals;      /* most characters after the dot */
    const char *ordinal;  /* head as a word, for messages ("third") */
    const char *name;     /* the kind for messages ("a V code") */
    const char *form;     /* its shape for messages */
} s_shape_t;

static const s_shape_t s_numeric = {
    '\0', 3, 2, "third", "a numeric code", "3 digits, then up to 2 decimals"};
static const s_shape_t s_v_code = {
    'V', 3, 2, "third", "a V code", "V and 2 digits, then up to 2 decimals"};
static const s_shape_t s_e_code = {
    'E', 4, 1, "fourth", "an E code", "E and 3 digits, then at most 1 decimal"};

/* The kind a code's first character announces, or NULL if it announces none. */
static const s_shape_t *s_shape_of(unsigned char first)
{
    if (cs_code_text_is_digit(first)) {
        return &s_numeric;
    }
    if (cs_code_text_upper(first) == s_v_code.lead) {
        return &s_v_code;
    }
    if (cs_code_text_upper(first) == s_e_code.lead) {
        return &s_e_code;
    }
    return NULL;
}

/* Refuse the first character that is neither a letter, a digit nor a dot, saying which and
 * where. */
static int s_check_chars(const unsigned char *p, size_t n, cs_error_t *err)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (cs_code_text_is_alnum(c) || c == '.') {
            continue;
        }
        return cs_code_text_bad_char(err, p, n, i, "an ICD-9-CM code");
    }
    return CS_OK;
}

static int s_normalize(const char *in, size_t len, cs_code_t *out, cs_error_t *err)
{
    const unsigned char *p = NULL;
    size_t n = 0;
    int rc = cs_code_text_input("icd9cm", in, len, out, &p, &n, err);
    if (rc != CS_OK) {
        return rc;
    }
    if (cs_code_text_is_word(p, n, "NoDx")) {
        return cs_code_text_fail(err, p, n,
                                 " is the GEMs mark for a diagnosis without a map, not an "
                                 "ICD-9-CM code");
    }
    rc = s_check_chars(p, n, err);
    if (rc != CS_OK) {
        return rc;
    }
    const s_shape_t *shape = s_shape_of(p[0]);
    if (!shape) {
        return cs_code_text_fail(err, p, n, " must start with a digit, V or E");
    }
    size_t n_dots = 0;
    size_t dot = 0;
    for (size_t i = 1; i < n; i++) {
        if (p[i] == '.') {
            if (n_dots++ == 0) {
                dot = i;
            }
        } else if (!cs_code_text_is_digit(p[i])) {
            return cs_code_text_fail(err, p, n, ": position %zu must be a digit (%s is %s)", i + 1,
                                     shape->name, shape->form);
        }
    }
    if (n_dots > 1) {
        return cs_code_text_fail(err, p, n, ": more than one dot");
    }
    size_t m = n - n_dots; /* characters without the dot */
    if (m < shape->head) {
        return cs_code_text_fail(err, p, n, " is too short: %s is %s", shape->name, shape->form);
    }
    if (m > shape->head + shape->decimals) {
        return cs_code_text_fail(err, p, n, ": too long (%zu characters; %s has at most %zu)", m,
                                 shape->name, shape->head + shape->decimals);
    }
    char key[S_CODE_LONGEST + 1];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] != '.') {
            key[k++] = cs_code_text_upper(p[i]);
        }
    }
    key[k] = '\0';
    if (n_dots == 1 && dot != shape->head) {
        return cs_code_text_fail(err, p, n,
                                 ": the dot goes after the %s character in %s (%.*s%s%s)",
                                 shape->ordinal, shape->name, (int)shape->head, key,
                                 m > shape->head ? "." : "", key + shape->head);
    }
    if (n_dots == 1 && m == shape->head) {
        return cs_code_text_fail(err, p, n, ": nothing after the dot (write %s)", key);
    }
    out->cls = CS_CLASS_CODE;
    memcpy(out->key, key, k + 1);
    memcpy(out->display, key, shape->head);
    if (m > shape->head) {
        out->display[shape->head] = '.';
        memcpy(out->display + shape->head + 1, key + shape->head, k - shape->head + 1);
    } else {
        out->display[shape->head] = '\0';
    }
    return CS_OK;
}

/* A code or a code prefix: a digit, or V or E followed by a digit, then digits up to the
 * kind's length, with at most one dot and only in its place ("25", "250.", "V10.0", "E84"). */
static int s_looks_like_code(const char *in, size_t len)
{
    if (!in) {
        return 0;
    }
    size_t n = len;
    const unsigned char *p = cs_code_text_trim((const unsigned char *)in, &n);
    if (n < S_PREFIX_MIN) {
        return 0;
    }
    const s_shape_t *shape = s_shape_of(p[0]);
    if (!shape || !cs_code_text_is_digit(p[1])) {
        return 0;
    }
    size_t n_dots = 0;
    for (size_t i = 1; i < n; i++) {
        if (p[i] == '.') {
            if (i != shape->head || n_dots++ > 0) {
                return 0;
            }
        } else if (!cs_code_text_is_digit(p[i])) {
            return 0;
        }
    }
    return n - n_dots <= shape->head + shape->decimals;
}

static const char *const s_kinds[] = {"category", "subcategory", "code", NULL};

static const cs_system_ops_t s_ops = {
    .normalize = s_normalize,
    .looks_like_code = s_looks_like_code,
    .kinds = s_kinds,
};

CS_PLUGIN_EXPORT const cs_plugin_desc_t cs_plugin_icd9cm = {
    CS_PLUGIN_HEADER,
    .kind = CS_PLUGIN_SYSTEM,
    .name = "icd9cm",
    .version = "1.0.0",
    .title = "ICD-9-CM (diagnoses)",
    .system = &s_ops,
    .loader = NULL,
};
