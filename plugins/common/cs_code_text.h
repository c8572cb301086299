/* cs_code_text.h: the text handling every system plugin's normalize() shares: character
 * classes, trimming, quoting the input for a message and failing with a sentence about it.
 *
 * Not a plugin: plugins/<name>/plugin.mk compiles cs_code_text.c into each system plugin with
 * -fvisibility=hidden, so the functions stay inside the plugin and it still exports only its
 * descriptor. Nothing here allocates, keeps state or reads past the length it is given, so
 * normalize() may call it on every request.
 */
#ifndef CS_CODE_TEXT_H
#define CS_CODE_TEXT_H

#include <stddef.h>

#include "codeset/cs_plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Input bytes a message shows before it cuts with "...". */
#define CS_CODE_TEXT_QUOTE_MAX 40

/* ASCII character classes; codes are ASCII, so the locale must not matter. */
static inline int cs_code_text_is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static inline int cs_code_text_is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static inline int cs_code_text_is_alpha(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static inline int cs_code_text_is_alnum(unsigned char c)
{
    return cs_code_text_is_alpha(c) || cs_code_text_is_digit(c);
}

static inline char cs_code_text_upper(unsigned char c)
{
    return (char)(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
}

/* Narrow in[0..*len) to its text without surrounding white space; returns its start (a
 * pointer into in) and sets *len to the trimmed length. */
const unsigned char *cs_code_text_trim(const unsigned char *in, size_t *len);

/* Does p[0..n) spell word, ignoring ASCII case? */
int cs_code_text_is_word(const unsigned char *p, size_t n, const char *word);

/* Write in[0..len) into out[0..cap) for a message: printable ASCII as is, '\'' and '\\'
 * escaped with a backslash, anything else as \xHH; cut after CS_CODE_TEXT_QUOTE_MAX bytes with
 * "...". out is always NUL-terminated (cap must be at least 1); a character that does not fit
 * whole is left out. */
void cs_code_text_quote(char *out, size_t cap, const unsigned char *in, size_t len);

/* Fail with CS_EMALFORMED and the message "'<quoted in[0..len)>'" followed by the formatted
 * rest (which starts with its own ": " or " "). err may be NULL; returns CS_EMALFORMED. */
int cs_code_text_fail(cs_error_t *err, const unsigned char *in, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Fail on in[at], a character the code system does not allow: white space gets "white space
 * inside a code is not allowed (position N)", anything else "'<c>' (position N) is not
 * allowed in <a_system>" (e.g. "an ICD-9-CM code"). Returns CS_EMALFORMED. */
int cs_code_text_bad_char(cs_error_t *err, const unsigned char *in, size_t len, size_t at,
                          const char *a_system);

/* The checks every normalize() starts with. Refuses a missing output or input (CS_EINVAL,
 * "<plugin>: normalize called without input or output"), an empty input and one of white
 * space only (CS_EMALFORMED); otherwise sets *text and *n to the input without its
 * surrounding white space (pointing into in) and returns CS_OK. */
int cs_code_text_input(const char *plugin, const char *in, size_t len, const cs_code_t *out,
                       const unsigned char **text, size_t *n, cs_error_t *err);

#ifdef __cplusplus
}
#endif

#endif
