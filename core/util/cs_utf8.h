/* cs_utf8.h: UTF-8 well-formedness (RFC 3629: no overlong forms, no surrogates, nothing past
 * U+10FFFF) and the repair of text that is not, for what the broker echoes of a request.
 *
 * Header-only (static inline), so the core and the loader plugins share one checker: a plugin
 * links no core symbol (STYLE P3), and loaders/common/cs_text.c only includes this.
 */
#ifndef CS_UTF8_H
#define CS_UTF8_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* U+FFFD REPLACEMENT CHARACTER, as UTF-8. */
#define CS_UTF8_REPLACEMENT "\xef\xbf\xbd"
#define CS_UTF8_REPLACEMENT_LEN 3

/* One step over p[0..n) (n >= 1): returns the bytes it covers (>= 1). *ok is 1 when they are
 * one well-formed character; 0 when they are an ill-formed part, which is then the maximal
 * subpart of Unicode 15 §3.9 (the longest prefix of a well-formed sequence, else one byte):
 * the bytes that one U+FFFD replaces, as Python's and the WHATWG decoders do. */
static inline size_t cs_utf8_step(const unsigned char *p, size_t n, int *ok)
{
    unsigned char c = p[0];
    unsigned char lo = 0x80, hi = 0xbf; /* the range of the next byte (Unicode Table 3-7) */
    size_t len;
    *ok = 1;
    if (c < 0x80) {
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        lo = c == 0xe0 ? 0xa0 : 0x80; /* no overlong forms */
        hi = c == 0xed ? 0x9f : 0xbf; /* no surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        lo = c == 0xf0 ? 0x90 : 0x80; /* no overlong forms */
        hi = c == 0xf4 ? 0x8f : 0xbf; /* nothing past U+10FFFF */
    } else {
        *ok = 0; /* a continuation byte, C0, C1 or F5..FF */
        return 1;
    }
    size_t i = 1;
    for (; i < len && i < n && p[i] >= lo && p[i] <= hi; i++) {
        lo = 0x80;
        hi = 0xbf;
    }
    *ok = i == len;
    return i;
}

/* Whether s[0..n) is all ASCII (so well-formed UTF-8), as most text is: its bytes ORed
 * together eight at a time (the last eight overlapping), with no branch per byte. */
static inline int cs_utf8_ascii(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    uint64_t acc = 0, w = 0;
    if (n >= 8) {
        for (size_t k = 0; k + 8 <= n; k += 8) {
            memcpy(&w, p + k, 8);
            acc |= w;
        }
        memcpy(&w, p + n - 8, 8);
        acc |= w;
    } else {
        for (size_t k = 0; k < n; k++) {
            acc |= p[k];
        }
    }
    return (acc & UINT64_C(0x8080808080808080)) == 0;
}

/* The offset of the first byte of p[0..n) that is not well-formed UTF-8, or n when all is.
 * With controls 0, an ASCII control character (below 0x20, or 0x7f) counts as bad too. */
static inline size_t cs_utf8_end(const char *s, size_t n, int controls)
{
    const unsigned char *p = (const unsigned char *)s;
    if (controls && cs_utf8_ascii(s, n)) {
        return n;
    }
    size_t i = 0;
    while (i < n) {
        if (p[i] < 0x80) {
            if (!controls && (p[i] < 0x20 || p[i] == 0x7f)) {
                return i;
            }
            i++;
            continue;
        }
        int ok;
        size_t len = cs_utf8_step(p + i, n - i, &ok);
        if (!ok) {
            return i;
        }
        i += len;
    }
    return n;
}

/* The length of s[0..n) with each ill-formed part replaced by U+FFFD; good is a prefix known
 * to be well-formed (cs_utf8_end's answer, or 0). */
static inline size_t cs_utf8_repaired_len(const char *s, size_t n, size_t good)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t out = good;
    for (size_t i = good; i < n;) {
        int ok;
        size_t len = cs_utf8_step(p + i, n - i, &ok);
        out += ok ? len : CS_UTF8_REPLACEMENT_LEN;
        i += len;
    }
    return out;
}

#ifdef __cplusplus
}
#endif
#endif /* CS_UTF8_H */
