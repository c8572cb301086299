/* cs_diff_sets.c: the diff op on edit sets (cs_diff_sets.h). */
#include "engine/cs_diff_sets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/cs_diff.h"
#include "store/cs_maps.h"

enum { K_ADDED, K_DELETED, K_CHANGED, K_KINDS };

static const char *const s_kinds[K_KINDS] = {"added", "deleted", "changed"};

/* The sets whose rows pair their code with another code, written first in the row's data
 * (ncci-ptp: column 1 keys the row, column 2 opens its data): a row is that pair, so a pair
 * whose dates or modifier indicator changed is one changed row, not a deletion and an add. */
static const char *const s_paired[] = {"ncci-ptp"};

/* One row of a code: its data and what tells it from the code's other rows. Borrowed from
 * the snapshot. */
typedef struct s_row {
    cs_span_t code; /* the storage key */
    cs_span_t data;
    cs_span_t ident; /* the paired code, or empty */
} s_row_t;

/* The rows of one code of one release's list, read in turn, code after code. */
typedef struct s_side {
    uint32_t rel;
    int map;                /* the list's map in rel; -1: rel has no such list */
    int done;               /* no code left */
    char code[CS_CODE_MAX]; /* the code whose rows are held ("" before the first) */
    size_t clen;
    s_row_t *rows;
    uint32_t n, cap;
} s_side_t;

typedef struct s_item {
    cs_span_t code;
    cs_span_t data;     /* added, deleted; changed: the new data */
    cs_span_t old_data; /* changed */
} s_item_t;

typedef struct s_diff {
    cs_reader_t *r;
    int paired;
    uint32_t limit;
    s_item_t *items[K_KINDS];
    uint64_t counts[K_KINDS];
    uint32_t kept[K_KINDS];
} s_diff_t;

int cs_diff_sets_is_set(const cs_release_t *rel)
{
    return rel->n_maps > 0 && strcmp(rel->maps[0].to, "edit-set") == 0;
}

static int s_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

static int s_row_cmp(const void *pa, const void *pb)
{
    const s_row_t *a = pa, *b = pb;
    int c = s_cmp(a->ident.ptr, a->ident.len, b->ident.ptr, b->ident.len);
    return c ? c : s_cmp(a->data.ptr, a->data.len, b->data.ptr, b->data.len);
}

/* The first word of data, for a paired set. */
static cs_span_t s_ident(const s_diff_t *d, cs_span_t data)
{
    if (!d->paired) {
        return (cs_span_t){"", 0};
    }
    size_t n = 0;
    while (n < data.len && data.ptr[n] != ' ') {
        n++;
    }
    return (cs_span_t){data.ptr, n};
}

/* Read side s's next code (the first after s->code) and its rows, sorted. */
static int s_read(s_diff_t *d, s_side_t *s)
{
    s->n = 0;
    if (s->map < 0) {
        s->done = 1;
        return CS_OK;
    }
    cs_maps_iter_t it;
    cs_map_hit_t hit;
    cs_span_t code;
    int more = cs_maps_scan(&it, d->r, s->rel, (uint8_t)s->map, s->clen ? s->code : NULL,
                            s->clen, &hit, &code);
    if (!more || code.len == 0 || code.len >= CS_CODE_MAX) {
        s->done = 1;
        return CS_OK;
    }
    memcpy(s->code, code.ptr, code.len);
    s->clen = code.len;
    for (; more && code.len == s->clen && memcmp(code.ptr, s->code, s->clen) == 0;
         more = cs_maps_scan_next(&it, &hit, &code)) {
        if (s->n == s->cap) {
            uint32_t cap = s->cap ? s->cap * 2 : 64;
            s_row_t *p = realloc(s->rows, cap * sizeof *p);
            if (!p) {
                return CS_ENOMEM;
            }
            s->rows = p;
            s->cap = cap;
        }
        s->rows[s->n++] = (s_row_t){code, hit.relationship, s_ident(d, hit.relationship)};
    }
    qsort(s->rows, s->n, sizeof *s->rows, s_row_cmp);
    return CS_OK;
}

static void s_note(s_diff_t *d, int kind, const s_row_t *row, const s_row_t *old)
{
    d->counts[kind]++;
    if (d->kept[kind] < d->limit) {
        d->items[kind][d->kept[kind]++] =
            (s_item_t){row->code, row->data, old ? old->data : (cs_span_t){"", 0}};
    }
}

/* The rows of one code in both releases, matched by their ident. */
static void s_match(s_diff_t *d, const s_side_t *a, const s_side_t *b)
{
    uint32_t i = 0, j = 0;
    while (i < a->n || j < b->n) {
        int c = i == a->n   ? 1
                : j == b->n ? -1
                            : s_cmp(a->rows[i].ident.ptr, a->rows[i].ident.len,
                                    b->rows[j].ident.ptr, b->rows[j].ident.len);
        if (c < 0) {
            s_note(d, K_DELETED, &a->rows[i++], NULL);
        } else if (c > 0) {
            s_note(d, K_ADDED, &b->rows[j++], NULL);
        } else {
            const s_row_t *x = &a->rows[i++], *y = &b->rows[j++];
            if (s_cmp(x->data.ptr, x->data.len, y->data.ptr, y->data.len) != 0) {
                s_note(d, K_CHANGED, y, x);
            }
        }
    }
}

/* One list: side a (older) and b walked together in code order. */
static int s_list(s_diff_t *d, s_side_t *a, s_side_t *b)
{
    int rc = s_read(d, a);
    if (rc == CS_OK) {
        rc = s_read(d, b);
    }
    while (rc == CS_OK && !(a->done && b->done)) {
        int c = a->done ? 1 : b->done ? -1 : s_cmp(a->code, a->clen, b->code, b->clen);
        if (c <= 0) {
            s_side_t none = {.n = 0};
            s_match(d, a, c == 0 ? b : &none);
            rc = s_read(d, a);
        }
        if (c >= 0 && rc == CS_OK) {
            if (c > 0) {
                s_side_t none = {.n = 0};
                s_match(d, &none, b);
            }
            rc = s_read(d, b);
        }
    }
    return rc;
}

/* A code's display form by its system's plugin, else its key as stored. */
static void s_display(const cs_plugin_desc_t *sys, cs_span_t key, char *out, size_t cap)
{
    cs_code_t c;
    cs_error_t err;
    size_t n = key.len < cap - 1 ? key.len : cap - 1;
    if (sys && sys->system && sys->system->normalize(key.ptr, key.len, &c, &err) == CS_OK) {
        snprintf(out, cap, "%s", c.display);
        return;
    }
    memcpy(out, key.ptr, n);
    out[n] = '\0';
}

static void s_write_list(cs_out_t *out, const s_diff_t *d, const char *name,
                         const char *system, const cs_plugin_desc_t *sys)
{
    cs_out_map(out, 3 + K_KINDS);
    cs_out_kv_str(out, "list", name);
    cs_out_kv_str(out, "system", system);
    for (int k = 0; k < K_KINDS; k++) {
        cs_out_cstr(out, s_kinds[k]);
        cs_out_array(out, d->kept[k]);
        for (uint32_t i = 0; i < d->kept[k]; i++) {
            const s_item_t *it = &d->items[k][i];
            char code[CS_CODE_MAX];
            s_display(sys, it->code, code, sizeof code);
            int changed = k == K_CHANGED, has = it->data.len > 0;
            cs_out_map(out, changed ? 3 : 1 + (uint32_t)has);
            cs_out_kv_str(out, "code", code);
            if (changed) {
                cs_out_cstr(out, "old_data");
                cs_out_strn(out, it->old_data.ptr, it->old_data.len);
            }
            if (changed || has) {
                cs_out_cstr(out, changed ? "new_data" : "data");
                cs_out_strn(out, it->data.ptr, it->data.len);
            }
        }
    }
    cs_out_cstr(out, "counts");
    cs_out_map(out, K_KINDS);
    for (int k = 0; k < K_KINDS; k++) {
        cs_out_kv_int(out, s_kinds[k], (int64_t)d->counts[k]);
    }
}

/* The map of rel named name, or -1. */
static int s_map_named(const cs_release_t *rel, const char *name)
{
    for (uint32_t m = 0; m < rel->n_maps; m++) {
        if (strcmp(rel->maps[m].name, name) == 0) {
            return (int)m;
        }
    }
    return -1;
}

/* The lists of either release: from's, then those only to has (name and system of each). */
static uint32_t s_lists(const cs_release_t *from, const cs_release_t *to,
                        const cs_release_map_t **lists)
{
    uint32_t n = 0;
    for (uint32_t m = 0; m < from->n_maps; m++) {
        lists[n++] = &from->maps[m];
    }
    for (uint32_t m = 0; m < to->n_maps; m++) {
        if (s_map_named(from, to->maps[m].name) < 0) {
            lists[n++] = &to->maps[m];
        }
    }
    return n;
}

cs_proto_err_t cs_diff_sets_answer(cs_reader_t *r, const cs_plugin_host_t *plugins,
                                   const cs_release_t *from, const cs_release_t *to,
                                   const cs_request_t *req, cs_out_t *out)
{
    s_diff_t d = {.r = r};
    d.limit = req->limit >= 0 ? (uint32_t)(req->limit > 100000 ? 100000 : req->limit)
                              : CS_DIFF_LIMIT;
    for (size_t i = 0; i < sizeof s_paired / sizeof s_paired[0]; i++) {
        d.paired |= strcmp(from->system, s_paired[i]) == 0;
    }
    int rc = CS_OK;
    for (int k = 0; k < K_KINDS; k++) {
        d.items[k] = malloc((d.limit ? d.limit : 1) * sizeof *d.items[k]);
        rc = d.items[k] ? rc : CS_ENOMEM;
    }
    const cs_release_map_t *lists[2 * CS_RELEASE_MAX_MAPS];
    uint32_t n = s_lists(from, to, lists);
    size_t mark = cs_out_mark(out);
    if (rc == CS_OK) {
        cs_reply_begin(out, req, 1, 4);
        cs_out_kv_str(out, "system", from->system);
        cs_out_kv_str(out, "release", from->label);
        cs_out_kv_str(out, "to_release", to->label);
        cs_out_cstr(out, "lists");
        cs_out_array(out, n);
    }
    s_side_t a = {.rel = from->id}, b = {.rel = to->id};
    for (uint32_t i = 0; i < n && rc == CS_OK; i++) {
        a = (s_side_t){.rel = from->id, .map = s_map_named(from, lists[i]->name),
                       .rows = a.rows, .cap = a.cap};
        b = (s_side_t){.rel = to->id, .map = s_map_named(to, lists[i]->name), .rows = b.rows,
                       .cap = b.cap};
        memset(d.counts, 0, sizeof d.counts);
        memset(d.kept, 0, sizeof d.kept);
        rc = s_list(&d, &a, &b);
        const char *sysname = lists[i]->from;
        s_write_list(out, &d, lists[i]->name, sysname,
                     cs_plugin_host_system(plugins, sysname, strlen(sysname)));
    }
    free(a.rows);
    free(b.rows);
    for (int k = 0; k < K_KINDS; k++) {
        free(d.items[k]);
    }
    if (rc != CS_OK) {
        cs_out_rewind(out, mark);
        cs_reply_error(out, req, CS_PERR_INTERNAL, rc == CS_ENOMEM
                       ? "out of memory computing the diff" : "a stored row is corrupt");
        return CS_PERR_INTERNAL;
    }
    return CS_PERR_NONE;
}
