/* cs_index_follow.c: see and see also followed (cs_index_ix.h): a reference split at its
 * commas and walked from the main term down, in the table it names or its own (or the Neoplasm
 * Table), the term reached added as a row; cycles cut, the count and depth bounded. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "engine/cs_index_ix.h"

/* ---- following see and see also ---- */

/* The term a reference names ("Accident, transport, car occupant"): main term, then subterms,
 * each part (split at commas) matched as one title or as the start of one. The key of the
 * deepest term reached into out; 2 when every part was matched, 1 when only some were ("by
 * site"), 0 when not even the main term is found. */
static int s_resolve_ref(cs_ix_t *ix, const char *root, const char *ref, char *out)
{
    const char *parts[16];
    size_t lens[16], n = 0;
    for (const char *p = ref; *p && n < 16;) {
        const char *c = strchr(p, ',');
        size_t l = c ? (size_t)(c - p) : strlen(p);
        parts[n] = p;
        lens[n++] = l;
        p += l + (c ? 1 : 0);
    }
    char at[CS_CODE_MAX];
    snprintf(at, sizeof at, "%s", root);
    uint8_t cls = CS_CLASS_CHAPTER;
    size_t i = 0;
    int found = 0;
    while (i < n) {
        /* the longest run of parts that is one title ("Fall, falling"), else one part */
        size_t j = n;
        char next[CS_CODE_MAX];
        for (; j > i; j--) {
            size_t len = (size_t)(parts[j - 1] + lens[j - 1] - parts[i]);
            if (cs_ix_child_named(ix, cls, at, parts[i], len, next)) {
                break;
            }
        }
        if (j == i) {
            break;
        }
        memcpy(at, next, sizeof at);
        cls = CS_CLASS_CODE;
        found = 1;
        i = j;
    }
    if (found) {
        memcpy(out, at, CS_CODE_MAX);
    }
    return found ? (i == n ? 2 : 1) : 0;
}

/* References that name another table first: "see Table of Drugs and Chemicals, lead" looks
 * up lead in the drug table; the name alone names the whole table. */
static const struct {
    const char *name;
    int table;
} s_table_refs[] = {
    {"Table of Drugs and Chemicals", CS_INDEX_T_DRUG},
    {"Index to Diseases and Injuries", CS_INDEX_T_INDEX},
    {"Index to disease", CS_INDEX_T_INDEX},
    {"External Cause of Injuries Index", CS_INDEX_T_EINDEX},
};

/* A reference from a row of table t: in the table it names first, else in t, else ("see
 * Neoplasm, malignant, by site" in the Index to Diseases) in the Neoplasm Table. As
 * s_resolve_ref, and 3 when it names a whole table (*table_out says which). */
static int s_resolve_ref_from(cs_ix_t *ix, int t, const char *ref, char *out, int *table_out)
{
    for (size_t i = 0; i < sizeof s_table_refs / sizeof s_table_refs[0]; i++) {
        size_t n = strlen(s_table_refs[i].name);
        if (strncasecmp(ref, s_table_refs[i].name, n) == 0 && (!ref[n] || ref[n] == ',')) {
            *table_out = s_table_refs[i].table;
            const char *rest = ref[n] ? ref + n + 1 : "";
            while (*rest == ' ') {
                rest++;
            }
            return *rest ? s_resolve_ref(ix, cs_index_table_root(*table_out), rest, out) : 3;
        }
    }
    int got = s_resolve_ref(ix, cs_index_table_root(t), ref, out);
    if (!got && t != CS_INDEX_T_NEOPLASM && strncmp(ref, "Neoplasm", 8) == 0) {
        got = s_resolve_ref(ix, CS_INDEX_ROOT_NEOPLASM, ref, out);
    }
    return got;
}

static int s_in_rows(const cs_index_result_t *res, const char *key)
{
    for (size_t i = 0; i < res->n_rows; i++) {
        if (strcmp(res->rows[i].key, key) == 0) {
            return 1;
        }
    }
    return 0;
}

static void s_unfollowed(cs_ix_t *ix, const char *from, const char *via, const char *ref,
                         const char *why)
{
    cs_index_result_t *res = ix->res;
    if (res->n_unfollowed < CS_INDEX_FOLLOW_MAX) {
        res->unfollowed[res->n_unfollowed++] =
            (cs_index_unfollowed_t){.from = from, .via = via, .ref = ref, .why = why};
    }
}

/* Follow the see and see also of rows[from, to); returns how many were followed. */
static size_t s_follow_rows(cs_ix_t *ix, size_t from, size_t to, size_t *budget)
{
    cs_index_result_t *res = ix->res;
    size_t added = 0;
    for (size_t i = from; i < to; i++) {
        for (int v = 0; v < 2; v++) {
            const char *ref = v ? res->rows[i].see_also : res->rows[i].see;
            const char *via = v ? "see_also" : "see";
            const char *key = res->rows[i].key;
            char target[CS_CODE_MAX];
            if (!ref) {
                continue;
            }
            int got = 0, table = -1;
            if (*budget == 0) {
                s_unfollowed(ix, key, via, ref, "limit");
            } else if (!(got = s_resolve_ref_from(ix, res->rows[i].table, ref, target,
                                                  &table))) {
                s_unfollowed(ix, key, via, ref, "not_found");
            } else if (got == 3) {
                s_unfollowed(ix, key, via, ref, cs_index_table_name(table));
            } else if (s_in_rows(res, target)) {
                s_unfollowed(ix, key, via, ref, "cycle");
            } else {
                (*budget)--;
                cs_index_row_t *row = cs_ix_row(ix, target, strlen(target));
                if (row) {
                    row->via = via;
                    row->from = key; /* an arena string: stable across the realloc */
                    row->ref = ref;
                    row->partial = got == 1;
                    added++;
                }
            }
        }
    }
    return added;
}

void cs_ix_follow(cs_ix_t *ix)
{
    size_t budget = CS_INDEX_FOLLOW_MAX, from = 0;
    for (int depth = 0; depth < CS_INDEX_FOLLOW_DEPTH; depth++) {
        size_t to = ix->res->n_rows;
        if (s_follow_rows(ix, from, to, &budget) == 0) {
            break;
        }
        from = to;
    }
}
