/* cs_coderef.c: the codes a tabular note names. */
#include "util/cs_coderef.h"

#include <string.h>

static int s_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

static int s_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int s_alnum(char c)
{
    return s_upper(c) || s_digit(c) || (c >= 'a' && c <= 'z');
}

/* A code starting at text[p] (letter, digit, alnum; then '.' and up to 4 alnums), its key
 * into key (NUL-terminated). Returns the bytes read, or 0 when none starts there. */
static size_t s_code_at(const char *t, size_t len, size_t p, char key[CS_CODEREF_KEY])
{
    if (p + 3 > len || (p > 0 && s_alnum(t[p - 1])) || !s_upper(t[p]) || !s_digit(t[p + 1]) ||
        !(s_digit(t[p + 2]) || s_upper(t[p + 2]))) {
        return 0;
    }
    size_t k = 0, i = p;
    for (; i < p + 3; i++) {
        key[k++] = t[i];
    }
    if (i + 1 < len && t[i] == '.' && (s_digit(t[i + 1]) || s_upper(t[i + 1]))) {
        i++;
        while (i < len && (s_digit(t[i]) || s_upper(t[i])) && k < CS_CODEREF_KEY - 1) {
            key[k++] = t[i++];
        }
    }
    if (i < len && s_alnum(t[i])) {
        return 0; /* a word, or a code too long to be one */
    }
    key[k] = '\0';
    return i - p;
}

static void s_set(cs_coderef_t *r, const char *lo, const char *hi)
{
    memcpy(r->lo, lo, CS_CODEREF_KEY);
    memcpy(r->hi, hi, CS_CODEREF_KEY);
    r->lo_len = (uint8_t)strlen(lo);
    r->hi_len = (uint8_t)strlen(hi);
}

/* Only separators between two references of one list: ", ", " and ", " or ". */
static int s_list_gap(const char *t, size_t from, size_t to)
{
    static const char *const gaps[] = {", ", ",", " and ", " or ", ", and "};
    for (size_t g = 0; g < sizeof gaps / sizeof gaps[0]; g++) {
        size_t n = strlen(gaps[g]);
        if (to - from == n && memcmp(t + from, gaps[g], n) == 0) {
            return 1;
        }
    }
    return 0;
}

size_t cs_coderef_parse(const char *text, size_t len, cs_coderef_t *out, size_t cap)
{
    size_t n = 0;
    int depth = 0;       /* parentheses open */
    size_t last = 0;     /* where the last reference ended (0: none yet) */
    for (size_t p = 0; text && p < len;) {
        char lo[CS_CODEREF_KEY], hi[CS_CODEREF_KEY];
        depth += text[p] == '(' ? 1 : text[p] == ')' && depth > 0 ? -1 : 0;
        size_t start = p, m = s_code_at(text, len, p, lo);
        if (!m) {
            p++;
            continue;
        }
        p += m;
        memcpy(hi, lo, sizeof hi);
        int marked = memchr(text + start, '.', m) != NULL; /* "D09.8": a code by its dot */
        if (p + 1 < len && text[p] == '.' && text[p + 1] == '-') {
            p += 2; /* "E10.-": the family, which is the prefix */
            marked = 1;
        } else if (p < len && text[p] == '-') {
            size_t m2 = s_code_at(text, len, p + 1, hi);
            p += m2 ? m2 + 1 : 1; /* "E08-E13" a range; "O24.4-" a family */
            if (!m2) {
                memcpy(hi, lo, sizeof hi);
            }
            marked = 1;
        }
        /* Inside parentheses anything shaped like a code is one; outside, only a code marked
         * as one (a dot, a family's dash, a range) or the next of a list that began with one
         * ("categories E08-E10, E13"): "vitamin B12 deficiency" names no code B12. */
        if (!depth && !marked && !(last && s_list_gap(text, last, start))) {
            continue;
        }
        last = p;
        if (n < cap) {
            s_set(&out[n], lo, hi);
        }
        n++;
    }
    return n;
}

int cs_coderef_match_slow(const cs_coderef_t *ref, const char *key, size_t klen)
{
    size_t ll = ref->lo_len, hl = ref->hi_len;
    if (memcmp(ref->lo, ref->hi, CS_CODEREF_KEY) == 0) {
        return klen >= ll && memcmp(key, ref->lo, ll) == 0;
    }
    /* each end compared over the shorter of the two: J60 lies in J60-J67.9, and so does
     * J67.9's own J679 */
    size_t l = klen < ll ? klen : ll, h = klen < hl ? klen : hl;
    return memcmp(key, ref->lo, l) >= 0 && memcmp(key, ref->hi, h) <= 0;
}

int cs_coderef_mentions(const char *text, size_t len)
{
    for (size_t p = 0; p + 2 < len; p++) {
        if (s_upper(text[p]) && s_digit(text[p + 1]) && s_alnum(text[p + 2]) &&
            (p == 0 || !s_alnum(text[p - 1]))) {
            return 1;
        }
    }
    return 0;
}
