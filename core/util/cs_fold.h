/* cs_fold.h: text folding and tokenizing for search: UTF-8 text to lower-case ASCII words.
 *
 * Folding: ASCII letters are lower-cased; Latin-1 and Latin Extended-A letters lose their
 * accents (é -> e, ü -> u, ß -> ss, æ -> ae, œ -> oe, ł -> l ...); an apostrophe (' or U+2019)
 * joins ("Alzheimer's" -> "alzheimers"); every other character (punctuation, control bytes,
 * invalid UTF-8, other scripts) separates words. Parentheses and brackets are tracked so that
 * a caller can tell the "nonessential modifiers" of an ICD title ("Essential (primary)
 * hypertension") from its essential words.
 *
 * Thread-safety: pure functions over caller buffers.
 */
#ifndef CS_FOLD_H
#define CS_FOLD_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CS_FOLD_WORD_MAX 48 /* longest word kept (bytes); longer words are cut there */

/* A word iterator over one UTF-8 text (borrowed: the text must outlive the iterator). */
typedef struct cs_fold_iter {
    const unsigned char *p;   /* next byte to read */
    const unsigned char *end; /* one past the text */
    int paren;                /* bracket depth at p */
} cs_fold_iter_t;

/* Start iterating text[0..len). */
void cs_fold_iter_init(cs_fold_iter_t *it, const char *text, size_t len);

/* The next folded word: written to out[CS_FOLD_WORD_MAX + 1] (NUL-terminated), its length in
 * *len, and in *in_paren 1 if it stood inside parentheses or brackets (may be NULL).
 * Returns 1 while words remain, 0 at the end. */
int cs_fold_next(cs_fold_iter_t *it, char *out, size_t *len, int *in_paren);

/* Fold a whole text: its words joined by single spaces into out[cap] (NUL-terminated, cut
 * at a word boundary when out is too small). Returns the number of bytes written. */
size_t cs_fold_text(const char *text, size_t len, char *out, size_t cap);

/* 1 if a and b are within edit distance 1 (one insertion, deletion, substitution, or a swap
 * of two adjacent letters), else 0. Equal strings count as distance 0 (returns 1). */
int cs_fold_edit1(const char *a, size_t alen, const char *b, size_t blen);

#ifdef __cplusplus
}
#endif
#endif /* CS_FOLD_H */
