/* cs_coderef.h: the ICD-10-CM codes a tabular note names, read from its text.
 *
 * Excludes1 and "code first" notes name codes in parentheses after their words:
 *   "type 2 diabetes mellitus (E11.-)"          a family: every code under E11
 *   "gestational diabetes (O24.4-)"              a family under a subcategory
 *   "neonatal diabetes mellitus (P70.2)"         a code (and whatever lies under it)
 *   "diabetes mellitus (E08-E13)"                a range of categories
 *   "(E08.-, E09.-, E13.-)"                      several
 * A reference is kept in storage form (upper case, no dot): lo..hi, equal for one code or
 * family. A code matches a single reference when its key starts with it, and a range when
 * its key lies between them, each end compared over the shorter of the two (J60 and J67.9
 * both lie in J60-J67.9; ASCII order is the tabular's: O9A sorts after O99). Inside
 * parentheses anything shaped like a code is one; outside them (23 Excludes1 notes of FY2021
 * write "carcinoma in situ of nose NOS D09.8") only a code marked as one by a dot, a family's
 * dash or a range, and the codes of a list it begins ("categories E08-E10, E13"): "vitamin
 * B12 deficiency (E53.8)" names E53.8, not B12. Text that looks like a code inside a word
 * ("HbA1C") is not one: a reference starts and ends at a non-alphanumeric byte.
 *
 * Pure functions, no allocation; thread-safe.
 */
#ifndef CS_CODEREF_H
#define CS_CODEREF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CS_CODEREF_KEY 8 /* longest ICD-10-CM key (7) and NUL */

typedef struct cs_coderef {
    char lo[CS_CODEREF_KEY]; /* storage form, NUL-terminated */
    char hi[CS_CODEREF_KEY]; /* equal to lo unless a range */
    uint8_t lo_len, hi_len;
} cs_coderef_t;

/* Parse the references of text[0..len) into out (at most cap); returns how many the text
 * holds (may exceed cap: only cap are written). */
size_t cs_coderef_parse(const char *text, size_t len, cs_coderef_t *out, size_t cap);

/* 1 if the code of storage key[0..klen) falls under ref, else 0. */
int cs_coderef_match_slow(const cs_coderef_t *ref, const char *key, size_t klen);

/* The same, with the common case (the first letters differ) decided inline: a claim's
 * Excludes1 check asks this for every pair of diagnoses and every code their notes name. */
static inline int cs_coderef_match(const cs_coderef_t *ref, const char *key, size_t klen)
{
    if (klen == 0 || key[0] < ref->lo[0] || key[0] > ref->hi[0]) {
        return 0;
    }
    return cs_coderef_match_slow(ref, key, klen);
}

/* 1 if text[0..len) holds something shaped like a code (a capital letter, a digit and an
 * alphanumeric, starting a word): what the sweep counts as "a note that names codes". */
int cs_coderef_mentions(const char *text, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* CS_CODEREF_H */
