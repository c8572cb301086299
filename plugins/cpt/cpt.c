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
 * len. Error messages quote the input (trimmed, cut after S_QUOTE_MAX bytes, control and
 * non-ASCII bytes escaped) and give the 1-based position of the offending character.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "codeset/cs_plugin.h"

#define S_CODE_LEN 5   /* every code has five characters */
#define S_PREFIX_MIN 2 /* shortest text looks_like_code takes for a code prefix */
#define S_QUOTE_MAX 40 /* input bytes shown in a message */

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

/* The letters that may end a code: F (Category II), T (Category III), U (PLA). */
static int s_is_suffix(unsigned char c)
{
    char u = s_upper(c);
    return u == 'F' || u == 'T' || u == 'U';
}

/* Write in[0..len) into out for a message: printable ASCII as is, '\'' and '\\' escaped with a
 * backslash, anything else as \xHH; cut after S_QUOTE_MAX bytes with "...". */
static void s_quote(char *out, size_t cap, const unsigned char *in, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t used = 0;
    size_t shown = len < S_QUOTE_MAX ? len : S_QUOTE_MAX;
    for (size_t i = 0; i < shown; i++) {
        char piece[4];
        size_t width = 0;
        unsigned char c = in[i];
        if (c == '\'' || c == '\\') {
            piece[width++] = '\\';
            piece[width++] = (char)c;
        } else if (c >= 0x20 && c < 0x7f) {
            piece[width++] = (char)c;
        } else {
            piece[width++] = '\\';
            piece[width++] = 'x';
            piece[width++] = hex[c >> 4];
            piece[width++] = hex[c & 0x0f];
        }
        /* keep room for "..." and the NUL */
        if (used + width + 4 > cap) {
            break;
        }
        memcpy(out + used, piece, width);
        used += width;
    }
    if (shown < len && used + 4 <= cap) {
        memcpy(out + used, "...", 3);
        used += 3;
    }
    out[used] = '\0';
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

/* Narrow in[0..*len) to its text without surrounding white space; returns its start. */
static const unsigned char *s_trim(const unsigned char *in, size_t *len)
{
    size_t begin = 0;
    size_t end = *len;
    while (begin < end && s_is_space(in[begin])) {
        begin++;
    }
    while (end > begin && s_is_space(in[end - 1])) {
        end--;
    }
    *len = end - begin;
    return in + begin;
}

/* Refuse the first character that is not a letter or a digit, saying which and where. */
static int s_check_chars(const unsigned char *p, size_t n, cs_error_t *err)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (s_is_alnum(c)) {
            continue;
        }
        if (c == '-') {
            /* "99213-25" is how a claim line often shows a code with its modifier */
            return s_fail(err, p, n, ": '-' (position %zu) is not allowed; give the code "
                                     "without its modifier",
                          i + 1);
        }
        if (c == '.') {
            return s_fail(err, p, n, ": CPT codes have no dot (position %zu)", i + 1);
        }
        if (s_is_space(c)) {
            return s_fail(err, p, n, ": white space inside a code is not allowed (position "
                                     "%zu)",
                          i + 1);
        }
        char shown[8];
        s_quote(shown, sizeof shown, p + i, 1);
        return s_fail(err, p, n, ": '%s' (position %zu) is not allowed in a CPT code", shown,
                      i + 1);
    }
    return CS_OK;
}

static int s_normalize(const char *in, size_t len, cs_code_t *out, cs_error_t *err)
{
    if (!out || (!in && len > 0)) {
        return cs_error_set(err, CS_EINVAL, "cpt: normalize called without input or output");
    }
    if (len == 0) {
        return cs_error_set(err, CS_EMALFORMED, "'': empty code");
    }
    size_t n = len;
    const unsigned char *p = s_trim((const unsigned char *)in, &n);
    if (n == 0) {
        return s_fail(err, (const unsigned char *)in, len, ": empty code (only white space)");
    }
    int rc = s_check_chars(p, n, err);
    if (rc != CS_OK) {
        return rc;
    }
    if (n < S_CODE_LEN) {
        return s_fail(err, p, n, " is too short: a CPT code has %d characters (5 digits, or 4 "
                                 "digits and F, T or U)",
                      S_CODE_LEN);
    }
    if (n > S_CODE_LEN) {
        return s_fail(err, p, n, ": too long (%zu characters; a CPT code has %d)", n,
                      S_CODE_LEN);
    }
    if (s_is_alpha(p[0])) {
        return s_fail(err, p, n, " starts with a letter: CPT codes start with a digit (a "
                                 "letter and 4 digits is a HCPCS Level II code)");
    }
    for (size_t i = 1; i < S_CODE_LEN - 1; i++) {
        if (!s_is_digit(p[i])) {
            return s_fail(err, p, n, ": position %zu must be a digit (only the fifth "
                                     "character may be a letter)",
                          i + 1);
        }
    }
    unsigned char last = p[S_CODE_LEN - 1];
    if (!s_is_digit(last) && !s_is_suffix(last)) {
        return s_fail(err, p, n, ": the fifth character must be a digit, F (Category II), T "
                                 "(Category III) or U (PLA), not '%c'",
                      s_upper(last));
    }
    out->cls = CS_CLASS_CODE;
    for (size_t i = 0; i < n; i++) {
        out->key[i] = s_upper(p[i]);
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
    const unsigned char *p = s_trim((const unsigned char *)in, &n);
    if (n < S_PREFIX_MIN || n > S_CODE_LEN) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        int last_of_code = i == S_CODE_LEN - 1;
        if (!s_is_digit(p[i]) && !(last_of_code && s_is_suffix(p[i]))) {
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
