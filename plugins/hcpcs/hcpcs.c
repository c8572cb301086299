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
 * len. Error messages quote the input (trimmed, cut after S_QUOTE_MAX bytes, control and
 * non-ASCII bytes escaped) and give the 1-based position of the offending character.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "codeset/cs_plugin.h"

#define S_CODE_LEN 5     /* a letter and four digits */
#define S_MODIFIER_LEN 2 /* two letters or digits */
#define S_QUOTE_MAX 40   /* input bytes shown in a message */

/* Letters a Level II code may start with (see the file comment). */
static const char s_series[] = "ABCDEGHJKLMPQRSTUV";

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

static int s_is_series(unsigned char c)
{
    return s_is_alpha(c) && strchr(s_series, s_upper(c)) != NULL;
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
            /* "J3490-JW" is how a claim line often shows a code with its modifier */
            return s_fail(err, p, n, ": '-' (position %zu) is not allowed; give a code and "
                                     "its modifier separately",
                          i + 1);
        }
        if (c == '.') {
            return s_fail(err, p, n, ": HCPCS codes have no dot (position %zu)", i + 1);
        }
        if (s_is_space(c)) {
            return s_fail(err, p, n, ": white space inside a code is not allowed (position "
                                     "%zu)",
                          i + 1);
        }
        char shown[8];
        s_quote(shown, sizeof shown, p + i, 1);
        return s_fail(err, p, n, ": '%s' (position %zu) is not allowed in a HCPCS code", shown,
                      i + 1);
    }
    return CS_OK;
}

static int s_code(const unsigned char *p, size_t n, cs_error_t *err)
{
    if (s_is_digit(p[0])) {
        return s_fail(err, p, n, " starts with a digit: HCPCS Level II codes start with a "
                                 "letter (a code of 5 digits is CPT)");
    }
    if (!s_is_series(p[0])) {
        return s_fail(err, p, n, ": no HCPCS Level II code starts with '%c' (the series are "
                                 "A-V without F, I, N and O)",
                      s_upper(p[0]));
    }
    for (size_t i = 1; i < n; i++) {
        if (!s_is_digit(p[i])) {
            return s_fail(err, p, n, ": position %zu must be a digit (a code is a letter and 4 "
                                     "digits, like J3490)",
                          i + 1);
        }
    }
    return CS_OK;
}

static int s_normalize(const char *in, size_t len, cs_code_t *out, cs_error_t *err)
{
    if (!out || (!in && len > 0)) {
        return cs_error_set(err, CS_EINVAL, "hcpcs: normalize called without input or output");
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
    if (n > S_CODE_LEN) {
        return s_fail(err, p, n, ": too long (%zu characters; a HCPCS code has %d)", n,
                      S_CODE_LEN);
    }
    if (n != S_CODE_LEN && n != S_MODIFIER_LEN) {
        return s_fail(err, p, n, " is too short: a HCPCS code has %d characters, a letter and "
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
        out->key[i] = s_upper(p[i]);
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
    const unsigned char *p = s_trim((const unsigned char *)in, &n);
    if (n == S_MODIFIER_LEN) {
        return s_is_alnum(p[0]) && s_is_alnum(p[1]);
    }
    if (n < S_MODIFIER_LEN || n > S_CODE_LEN || !s_is_series(p[0])) {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if (!s_is_digit(p[i])) {
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
