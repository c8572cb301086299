/* cs_code_text.c: the text handling the system plugins share (see cs_code_text.h). */
#include "cs_code_text.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const unsigned char *cs_code_text_trim(const unsigned char *in, size_t *len)
{
    size_t begin = 0;
    size_t end = *len;
    while (begin < end && cs_code_text_is_space(in[begin])) {
        begin++;
    }
    while (end > begin && cs_code_text_is_space(in[end - 1])) {
        end--;
    }
    *len = end - begin;
    return in + begin;
}

int cs_code_text_is_word(const unsigned char *p, size_t n, const char *word)
{
    size_t w = strlen(word);
    if (n != w) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (cs_code_text_upper(p[i]) != cs_code_text_upper((unsigned char)word[i])) {
            return 0;
        }
    }
    return 1;
}

void cs_code_text_quote(char *out, size_t cap, const unsigned char *in, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t used = 0;
    size_t shown = len < CS_CODE_TEXT_QUOTE_MAX ? len : CS_CODE_TEXT_QUOTE_MAX;
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

int cs_code_text_fail(cs_error_t *err, const unsigned char *in, size_t len, const char *fmt, ...)
{
    if (!err) {
        return CS_EMALFORMED;
    }
    char quoted[CS_CODE_TEXT_QUOTE_MAX * 4 + 8];
    char rest[192];
    cs_code_text_quote(quoted, sizeof quoted, in, len);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rest, sizeof rest, fmt, ap);
    va_end(ap);
    return cs_error_set(err, CS_EMALFORMED, "'%s'%s", quoted, rest);
}

int cs_code_text_bad_char(cs_error_t *err, const unsigned char *in, size_t len, size_t at,
                          const char *a_system)
{
    if (cs_code_text_is_space(in[at])) {
        return cs_code_text_fail(err, in, len,
                                 ": white space inside a code is not allowed (position %zu)",
                                 at + 1);
    }
    char shown[8];
    cs_code_text_quote(shown, sizeof shown, in + at, 1);
    return cs_code_text_fail(err, in, len, ": '%s' (position %zu) is not allowed in %s", shown,
                             at + 1, a_system);
}

int cs_code_text_input(const char *plugin, const char *in, size_t len, const cs_code_t *out,
                       const unsigned char **text, size_t *n, cs_error_t *err)
{
    if (!out || (!in && len > 0)) {
        return cs_error_set(err, CS_EINVAL, "%s: normalize called without input or output",
                            plugin);
    }
    if (len == 0) {
        return cs_error_set(err, CS_EMALFORMED, "'': empty code");
    }
    *n = len;
    *text = cs_code_text_trim((const unsigned char *)in, n);
    if (*n == 0) {
        return cs_code_text_fail(err, (const unsigned char *)in, len,
                                 ": empty code (only white space)");
    }
    return CS_OK;
}
