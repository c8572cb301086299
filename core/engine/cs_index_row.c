/* cs_index_row.c: a term of an index set as a row of the reply (cs_index_ix.h): its title,
 * path, codes with their states, references, and whether subterms lie below. */
#include <stdlib.h>
#include <string.h>

#include "engine/cs_index_ix.h"
#include "store/cs_key.h"

/* ---- rows ---- */

static const char *const s_code_attrs[] = {"code", "manif", "subcat", "see_cat"};

/* The table a key belongs to (by its letter), or -1. */
static int s_table_of_key(const char *key)
{
    for (int t = 0; t < CS_INDEX_TABLES; t++) {
        if (key[0] == cs_index_table_letter(t)) {
            return t;
        }
    }
    return -1;
}

/* Read table t's root: its title (returned, or NULL when the set lacks the table) and
 * column headings (into ix->heads[t]). */
const char *cs_ix_read_root(cs_ix_t *ix, int t)
{
    const char *root = cs_index_table_root(t);
    cs_entry_t e;
    ix->heads_read |= 1u << t;
    if (cs_ix_get(ix, ix->set, CS_CLASS_CHAPTER, root, strlen(root), &e, 0) != CS_OK) {
        return NULL;
    }
    const uint8_t *pos = e.attrs;
    cs_span_t n, v;
    for (uint16_t i = 0; i < e.n_attrs && cs_entry_attr_next(&e, &pos, &n, &v); i++) {
        if (n.len == 5 && memcmp(n.ptr, "head", 4) == 0 && n.ptr[4] >= '1' && n.ptr[4] <= '9') {
            ix->heads[t][n.ptr[4] - '0'] = cs_ix_dup_span(ix->res, v);
        }
    }
    return cs_ix_dup_span(ix->res, e.title);
}

/* The row for the term at key, appended to res->rows (NULL when it cannot be read). */
cs_index_row_t *cs_ix_row(cs_ix_t *ix, const char *key, size_t klen)
{
    cs_index_result_t *res = ix->res;
    if (res->n_rows == ix->cap_rows) {
        size_t cap = ix->cap_rows ? ix->cap_rows * 2 : 32;
        cs_index_row_t *rows = realloc(res->rows, cap * sizeof *rows);
        if (!rows) {
            return NULL;
        }
        res->rows = rows;
        ix->cap_rows = cap;
    }
    cs_entry_t e;
    if (cs_ix_get(ix, ix->set, CS_CLASS_CODE, key, klen, &e, 0) != CS_OK) {
        return NULL;
    }
    cs_index_row_t *row = &res->rows[res->n_rows++];
    memset(row, 0, sizeof *row);
    row->key = cs_ix_dup(res, key, klen);
    row->table = s_table_of_key(row->key);
    const char *const *heads = row->table >= 0 ? ix->heads[row->table] : NULL;
    if (heads && !(ix->heads_read >> row->table & 1)) {
        cs_ix_read_root(ix, row->table);
    }
    row->kind = cs_ix_dup_span(res, e.kind);
    row->title = cs_ix_dup_span(res, e.title);
    const uint8_t *pos = e.terms;
    cs_span_t t;
    while (row->n_path <= CS_INDEX_MAX_LEVEL && row->n_path < e.n_terms &&
           cs_entry_term_next(&e, &pos, &t)) {
        row->path[row->n_path++] = cs_ix_dup_span(res, t);
    }
    pos = e.attrs;
    cs_span_t n, v;
    for (uint16_t i = 0; i < e.n_attrs && cs_entry_attr_next(&e, &pos, &n, &v); i++) {
        const char *val = cs_ix_dup_span(res, v);
        const char *name = cs_ix_dup_span(res, n);
        int is_code = n.len > 4 && memcmp(n.ptr, "cell", 4) == 0;
        for (size_t j = 0; j < sizeof s_code_attrs / sizeof s_code_attrs[0]; j++) {
            is_code |= strcmp(name, s_code_attrs[j]) == 0;
        }
        if (is_code && row->n_items < CS_INDEX_ITEMS_MAX) {
            cs_index_code_t *c = &row->items[row->n_items++];
            c->name = name;
            c->text = val;
            if (name[0] == 'c' && name[1] == 'e') {
                c->col = (uint8_t)(name[4] - '0');
                c->head = heads && c->col <= CS_INDEX_MAX_COLS ? heads[c->col] : NULL;
            }
            cs_ix_code_state(ix, c);
        } else if (strcmp(name, "nemod") == 0) {
            row->nemod = val;
        } else if (strcmp(name, "see") == 0) {
            row->see = val;
        } else if (strcmp(name, "see_also") == 0) {
            row->see_also = val;
        } else if (strcmp(name, "warning") == 0) {
            row->warning = val;
        }
    }
    uint8_t ck[CS_KEY_MAX];
    size_t cl = cs_key_children(ck, ix->set, CS_CLASS_CODE, key, klen);
    cs_val_t kk, vv;
    row->has_subterms = cl && cs_reader_seek(ix->r, CS_DB_CHILDREN, ck, cl, &kk, &vv) == CS_OK &&
                        kk.len > cl && memcmp(kk.data, ck, cl) == 0;
    return row;
}
