/* cs_fold.c: accent folding, word splitting and the edit-distance-1 test used by search. */
#include "util/cs_fold.h"

#include <stdint.h>
#include <string.h>

/* U+00C0..U+00FF: the ASCII letter(s) of each code point; "" separates (x and /). Multi-letter
 * foldings are spelled out. */
static const char *const s_latin1[64] = {
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
    "d", "n", "o", "o", "o", "o", "o", "",  "o", "u", "u", "u", "u", "y", "th", "ss",
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
    "d", "n", "o", "o", "o", "o", "o", "",  "o", "u", "u", "u", "u", "y", "th", "y",
};

/* U+0100..U+017F, one base letter each; U+0132/3 (ij) and U+0152/3 (oe) are handled apart. */
static const char s_latin_ext_a[129] =
    "aaaaaacccccccc"  /* 0100-010D */
    "dddd"            /* 010E-0111 */
    "eeeeeeeeee"      /* 0112-011B */
    "gggggggg"        /* 011C-0123 */
    "hhhh"            /* 0124-0127 */
    "iiiiiiiiii"      /* 0128-0131 */
    "ii"              /* 0132-0133: ij */
    "jj"              /* 0134-0135 */
    "kkk"             /* 0136-0138 */
    "llllllllll"      /* 0139-0142 */
    "nnnnnnnnn"       /* 0143-014B */
    "oooooo"          /* 014C-0151 */
    "oo"              /* 0152-0153: oe */
    "rrrrrr"          /* 0154-0159 */
    "ssssssss"        /* 015A-0161 */
    "tttttt"          /* 0162-0167 */
    "uuuuuuuuuuuu"    /* 0168-0173 */
    "ww"              /* 0174-0175 */
    "yyy"             /* 0176-0178 */
    "zzzzzz"          /* 0179-017E */
    "s";              /* 017F */

enum { S_SEP = 0, S_JOIN = 1, S_OPEN = 2, S_CLOSE = 3, S_LETTERS = 4 };

/* Decode one code point at *p (advancing it) and classify it; letters go to buf. */
static int s_class(const unsigned char **pp, const unsigned char *end, char buf[3])
{
    const unsigned char *p = *pp;
    unsigned c = *p++;
    uint32_t cp = c;
    if (c >= 0x80) {
        size_t need = 0;
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            cp = c & 0x07;
        } else {
            *pp = p;
            return S_SEP; /* a stray continuation or an invalid lead byte */
        }
        if ((size_t)(end - p) < need) {
            *pp = end;
            return S_SEP;
        }
        for (size_t i = 0; i < need; i++) {
            if ((p[i] & 0xc0) != 0x80) {
                *pp = p; /* resynchronise on the byte that broke the sequence */
                return S_SEP;
            }
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        p += need;
    }
    *pp = p;
    buf[1] = '\0';
    if ((cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9')) {
        buf[0] = (char)cp;
        return S_LETTERS;
    }
    if (cp >= 'A' && cp <= 'Z') {
        buf[0] = (char)(cp - 'A' + 'a');
        return S_LETTERS;
    }
    if (cp == '\'' || cp == 0x2019) {
        return S_JOIN;
    }
    if (cp == '(' || cp == '[') {
        return S_OPEN;
    }
    if (cp == ')' || cp == ']') {
        return S_CLOSE;
    }
    if (cp >= 0xc0 && cp <= 0xff) {
        const char *f = s_latin1[cp - 0xc0];
        if (!*f) {
            return S_SEP;
        }
        size_t n = strlen(f);
        memcpy(buf, f, n + 1);
        return S_LETTERS;
    }
    if (cp >= 0x100 && cp <= 0x17f) {
        if (cp == 0x132 || cp == 0x133) {
            memcpy(buf, "ij", 3);
        } else if (cp == 0x152 || cp == 0x153) {
            memcpy(buf, "oe", 3);
        } else {
            buf[0] = s_latin_ext_a[cp - 0x100];
        }
        return S_LETTERS;
    }
    return S_SEP;
}

void cs_fold_iter_init(cs_fold_iter_t *it, const char *text, size_t len)
{
    it->p = (const unsigned char *)text;
    it->end = it->p + (text ? len : 0);
    it->paren = 0;
}

int cs_fold_next(cs_fold_iter_t *it, char *out, size_t *len, int *in_paren)
{
    size_t n = 0;
    int started = 0;
    int paren_at_start = 0;
    while (it->p < it->end) {
        const unsigned char *before = it->p;
        char buf[3];
        int k = s_class(&it->p, it->end, buf);
        if (k == S_LETTERS) {
            if (!started) {
                started = 1;
                paren_at_start = it->paren > 0;
            }
            for (size_t i = 0; buf[i]; i++) {
                if (n < CS_FOLD_WORD_MAX) {
                    out[n++] = buf[i];
                }
            }
            continue;
        }
        if (k == S_JOIN) {
            continue;
        }
        if (started) {
            it->p = before; /* let the next call see the separator (and its bracket) */
            break;
        }
        if (k == S_OPEN) {
            it->paren++;
        } else if (k == S_CLOSE && it->paren > 0) {
            it->paren--;
        }
    }
    if (!started) {
        return 0;
    }
    out[n] = '\0';
    *len = n;
    if (in_paren) {
        *in_paren = paren_at_start;
    }
    return 1;
}

size_t cs_fold_text(const char *text, size_t len, char *out, size_t cap)
{
    if (cap == 0) {
        return 0;
    }
    cs_fold_iter_t it;
    cs_fold_iter_init(&it, text, len);
    char w[CS_FOLD_WORD_MAX + 1];
    size_t wl = 0;
    size_t n = 0;
    while (cs_fold_next(&it, w, &wl, NULL)) {
        size_t need = wl + (n ? 1 : 0);
        if (n + need + 1 > cap) {
            break;
        }
        if (n) {
            out[n++] = ' ';
        }
        memcpy(out + n, w, wl);
        n += wl;
    }
    out[n] = '\0';
    return n;
}

int cs_fold_edit1(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen > blen) {
        const char *t = a;
        a = b;
        b = t;
        size_t tl = alen;
        alen = blen;
        blen = tl;
    }
    if (blen - alen > 1) {
        return 0;
    }
    size_t i = 0;
    while (i < alen && a[i] == b[i]) {
        i++;
    }
    if (i == alen) {
        return 1; /* equal, or b has one letter more at its end */
    }
    if (alen == blen) {
        /* one substitution, or two adjacent letters swapped */
        if (memcmp(a + i + 1, b + i + 1, alen - i - 1) == 0) {
            return 1;
        }
        return i + 1 < alen && a[i] == b[i + 1] && a[i + 1] == b[i] &&
               memcmp(a + i + 2, b + i + 2, alen - i - 2) == 0;
    }
    /* b has one letter more: skip it */
    return memcmp(a + i, b + i + 1, alen - i) == 0;
}
