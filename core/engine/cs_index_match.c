/* cs_index_match.c: a term's children, and which child answers a term as a coder writes it
 * (cs_index_ix.h): its whole title folded, its words outside parentheses (with or without a
 * final NEC or NOS), the part before its first comma, or, when none answers, the shortest
 * title starting with its words. */
#include <string.h>

#include "engine/cs_index_ix.h"
#include "store/cs_key.h"
#include "util/cs_fold.h"

/* ---- children and matching titles ---- */

/* Call fn on each child (class code) of (cls, key) in order until it returns non-zero;
 * returns that value, or 0. */
int cs_ix_children(cs_ix_t *ix, uint8_t cls, const char *key, size_t klen, cs_ix_child_fn fn,
                   void *arg)
{
    uint8_t ck[CS_KEY_MAX];
    size_t cl = cs_key_children(ck, ix->set, cls, key, klen);
    cs_val_t kk, v;
    int rc = cl ? cs_reader_seek(ix->r, CS_DB_CHILDREN, ck, cl, &kk, &v) : CS_ENOTFOUND;
    for (; rc == CS_OK; rc = cs_reader_next(ix->r, CS_DB_CHILDREN, &kk, &v)) {
        if (kk.len < cl || memcmp(kk.data, ck, cl) != 0) {
            return 0;
        }
        const char *child = (const char *)v.data + 1;
        if (v.len < 2 || ((const uint8_t *)v.data)[0] != CS_CLASS_CODE) {
            continue;
        }
        int stop = fn(ix, arg, child, v.len - 1);
        if (stop) {
            return stop;
        }
    }
    return 0;
}

/* Fold text: all of it (essential 0), or its words outside parentheses (essential 1). */
static size_t s_fold(const char *text, size_t len, int essential, char *out, size_t cap)
{
    cs_fold_iter_t it;
    cs_fold_iter_init(&it, text, len);
    char w[CS_FOLD_WORD_MAX + 1];
    size_t wl, o = 0;
    int paren;
    while (cs_fold_next(&it, w, &wl, &paren)) {
        if ((essential && paren) || o + wl + 2 > cap) {
            continue;
        }
        if (o) {
            out[o++] = ' ';
        }
        memcpy(out + o, w, wl);
        o += wl;
    }
    out[o] = '\0';
    return o;
}

/* A folded title with a final "nec" or "nos" (not elsewhere classified / specified) taken
 * off: "Copper (dust) (fumes) NEC" is what "see Copper" names. Returns the new length. */
static size_t s_strip_nec(char *f, size_t n)
{
    if (n > 4 && (strcmp(f + n - 4, " nec") == 0 || strcmp(f + n - 4, " nos") == 0)) {
        n -= 4;
        f[n] = '\0';
    }
    return n;
}

/* Does title answer want (its folded whole, and its folded words outside parentheses)? The
 * title's whole folded text, its essential words (with or without a final NEC or NOS), or
 * the part before its first comma ("Disease, diseased" answers "Disease"). */
static int s_title_answers(const char *title, size_t tl, const char *want, const char *want_ess)
{
    char f[512];
    s_fold(title, tl, 0, f, sizeof f);
    if (strcmp(f, want) == 0) {
        return 1;
    }
    size_t n = s_fold(title, tl, 1, f, sizeof f);
    if (strcmp(f, want) == 0 || strcmp(f, want_ess) == 0) {
        return 1;
    }
    s_strip_nec(f, n);
    if (strcmp(f, want) == 0 || strcmp(f, want_ess) == 0) {
        return 1;
    }
    const char *comma = memchr(title, ',', tl);
    if (!comma) {
        return 0;
    }
    s_fold(title, (size_t)(comma - title), 1, f, sizeof f);
    return strcmp(f, want) == 0 || strcmp(f, want_ess) == 0;
}

/* Could title answer a want starting with w (folded)? Every rule of s_title_answers and the
 * start-of-title match keeps the title's first word first, so an ASCII letter or digit there
 * that differs from w rules it out (anything else is left to the full test). */
static int s_may_answer(cs_span_t title, char w)
{
    if (title.len == 0) {
        return 1;
    }
    char c = title.ptr[0];
    if (c >= 'A' && c <= 'Z') {
        c = (char)(c - 'A' + 'a');
    }
    int plain = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    int wplain = (w >= 'a' && w <= 'z') || (w >= '0' && w <= '9');
    return !plain || !wplain || c == w;
}

typedef struct s_find {
    const char *want;        /* folded */
    const char *want_ess;    /* folded, words in parentheses left out */
    size_t want_ess_len;
    char key[CS_CODE_MAX];   /* the child whose title answers */
    char near[CS_CODE_MAX];  /* else the shortest whose essential words start with want's */
    size_t near_len;         /* its essential words' length; 0: none */
} s_find_t;

static int s_find_fn(cs_ix_t *ix, void *arg, const char *key, size_t klen)
{
    s_find_t *f = arg;
    cs_entry_t e;
    if (klen >= sizeof f->key || cs_ix_get(ix, ix->set, CS_CLASS_CODE, key, klen, &e, 1) != CS_OK) {
        return 0;
    }
    if (!s_may_answer(e.title, f->want[0])) {
        return 0; /* most main terms of a table: folding them all took milliseconds */
    }
    if (s_title_answers(e.title.ptr, e.title.len, f->want, f->want_ess)) {
        memcpy(f->key, key, klen);
        f->key[klen] = '\0';
        return 1;
    }
    /* "streetcar" for "streetcar occupant": whole words, the shortest title first */
    char ess[512];
    size_t n = s_fold(e.title.ptr, e.title.len, 1, ess, sizeof ess);
    if (f->want_ess_len && n > f->want_ess_len && ess[f->want_ess_len] == ' ' &&
        memcmp(ess, f->want_ess, f->want_ess_len) == 0 && (!f->near_len || n < f->near_len)) {
        memcpy(f->near, key, klen);
        f->near[klen] = '\0';
        f->near_len = n;
    }
    return 0;
}

/* The child of (cls, parent) whose title answers text, else the shortest whose title starts
 * with text's words; its key into out (CS_CODE_MAX). */
int cs_ix_child_named(cs_ix_t *ix, uint8_t cls, const char *parent, const char *text,
                      size_t len, char *out)
{
    char want[512], want_ess[512];
    s_find_t f = {.want = want, .want_ess = want_ess};
    f.want_ess_len = s_fold(text, len, 1, want_ess, sizeof want_ess);
    if (s_fold(text, len, 0, want, sizeof want) == 0) {
        return 0;
    }
    if (cs_ix_children(ix, cls, parent, strlen(parent), s_find_fn, &f)) {
        memcpy(out, f.key, sizeof f.key);
        return 1;
    }
    if (f.near_len) {
        memcpy(out, f.near, sizeof f.near);
        return 1;
    }
    return 0;
}
