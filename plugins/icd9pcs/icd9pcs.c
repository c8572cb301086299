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
 * len. Error messages quote the input (trimmed, cut after S_QUOTE_MAX bytes, control and
 * non-ASCII bytes escaped) and give the 1-based position of the offending character.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "codeset/cs_plugin.h"

#define S_HEAD 2         /* digits before the dot: the category */
#define S_DECIMALS 2     /* most digits after the dot */
#define S_CODE_LONGEST 4 /* S_HEAD + S_DECIMALS */
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

static char s_upper(unsigned char c)
{
    return (char)(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
}

/* Does p[0..n) spell word, ignoring case? */
static int s_is_word(const unsigned char *p, size_t n, const char *word)
{
    size_t w = strlen(word);
    if (n != w) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (s_upper(p[i]) != s_upper((unsigned char)word[i])) {
            return 0;
        }
    }
    return 1;
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

/* Refuse the first character that is neither a digit nor a dot, saying which and where. */
static int s_check_chars(const unsigned char *p, size_t n, cs_error_t *err)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (s_is_digit(c) || c == '.') {
            continue;
        }
        if (s_is_alpha(c)) {
            return s_fail(err, p, n, ": the letter '%c' (position %zu) is not allowed; "
                                     "ICD-9-CM procedure codes are digits only",
                          s_upper(c), i + 1);
        }
        if (s_is_space(c)) {
            return s_fail(err, p, n, ": white space inside a code is not allowed (position "
                                     "%zu)",
                          i + 1);
        }
        char shown[8];
        s_quote(shown, sizeof shown, p + i, 1);
        return s_fail(err, p, n, ": '%s' (position %zu) is not allowed in an ICD-9-CM "
                                 "procedure code",
                      shown, i + 1);
    }
    return CS_OK;
}

static int s_normalize(const char *in, size_t len, cs_code_t *out, cs_error_t *err)
{
    if (!out || (!in && len > 0)) {
        return cs_error_set(err, CS_EINVAL, "icd9pcs: normalize called without input or "
                                            "output");
    }
    if (len == 0) {
        return cs_error_set(err, CS_EMALFORMED, "'': empty code");
    }
    size_t n = len;
    const unsigned char *p = s_trim((const unsigned char *)in, &n);
    if (n == 0) {
        return s_fail(err, (const unsigned char *)in, len, ": empty code (only white space)");
    }
    if (s_is_word(p, n, "NoI9") || s_is_word(p, n, "NoPCS")) {
        return s_fail(err, p, n, " is the GEMs mark for a procedure without a map, not an "
                                 "ICD-9-CM procedure code");
    }
    int rc = s_check_chars(p, n, err);
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
        return s_fail(err, p, n, ": more than one dot");
    }
    size_t m = n - n_dots; /* digits */
    if (m < S_HEAD) {
        return s_fail(err, p, n, " is too short: an ICD-9-CM procedure code is %d digits, then "
                                 "up to %d decimals",
                      S_HEAD, S_DECIMALS);
    }
    if (m > S_CODE_LONGEST) {
        return s_fail(err, p, n, ": too long (%zu digits; at most %d)", m, S_CODE_LONGEST);
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
        return s_fail(err, p, n, ": the dot goes after the second character (%.2s%s%s)", key,
                      m > S_HEAD ? "." : "", key + S_HEAD);
    }
    if (n_dots == 1 && m == S_HEAD) {
        return s_fail(err, p, n, ": nothing after the dot (write %s)", key);
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
    const unsigned char *p = s_trim((const unsigned char *)in, &n);
    size_t n_dots = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '.') {
            if (i != S_HEAD || n_dots++ > 0) {
                return 0;
            }
        } else if (!s_is_digit(p[i])) {
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
