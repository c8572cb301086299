/* cs_diff.c: the diff op. */
#include "engine/cs_diff.h"

#include <stdlib.h>
#include <string.h>

#include "store/cs_key.h"

enum { D_ADDED, D_DELETED, D_REVISED, D_BILLABLE, D_KINDS };

static const char *const s_list_names[D_KINDS] = {"added", "deleted", "revised",
                                                  "billable_changed"};

/* One change: the code, its title(s) and billability, borrowed from the snapshot. */
typedef struct s_change {
    cs_span_t code;
    cs_span_t title;     /* the title in the release that has it (new title if both) */
    cs_span_t old_title; /* revised only */
    int billable;        /* billable in the newer release (billable_changed) */
} s_change_t;

typedef struct s_lists {
    s_change_t *items[D_KINDS];
    uint64_t counts[D_KINDS];
    uint32_t kept[D_KINDS];
    uint32_t limit;
    int failed;
} s_lists_t;

static void s_note(s_lists_t *l, int kind, const s_change_t *c)
{
    l->counts[kind]++;
    if (l->kept[kind] < l->limit && l->items[kind]) {
        l->items[kind][l->kept[kind]++] = *c;
    }
}

static int s_span_eq(cs_span_t a, cs_span_t b)
{
    return a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0;
}

/* Walk every code of release a; for each, look it up in b. compare 1 also records
 * revisions and billable changes (the walk of the older release), 0 only absences. */
static int s_walk(cs_reader_t *r, uint32_t a, uint32_t b, int kind_absent, int compare,
                  s_lists_t *l)
{
    uint8_t prefix[8];
    size_t plen = cs_key_release_class(prefix, a, CS_CLASS_CODE);
    cs_val_t k, v;
    int rc = cs_reader_seek(r, CS_DB_CODES, prefix, plen, &k, &v);
    while (rc == CS_OK && k.len > plen && memcmp(k.data, prefix, plen) == 0) {
        cs_entry_t ea, eb;
        if (cs_entry_decode_head(v.data, v.len, &ea) != CS_OK) {
            return CS_EMALFORMED;
        }
        uint8_t other[CS_KEY_MAX];
        size_t olen = k.len;
        if (olen > sizeof other) {
            return CS_EMALFORMED;
        }
        memcpy(other, k.data, olen);
        cs_key_put_u32(other, b);
        cs_val_t ov;
        if (cs_reader_get(r, CS_DB_CODES, other, olen, &ov) != CS_OK) {
            s_change_t c = {.code = ea.display, .title = ea.title, .billable = ea.billable};
            s_note(l, kind_absent, &c);
        } else if (compare) {
            if (cs_entry_decode_head(ov.data, ov.len, &eb) != CS_OK) {
                return CS_EMALFORMED;
            }
            if (!s_span_eq(ea.title, eb.title)) {
                s_change_t c = {.code = eb.display, .title = eb.title, .old_title = ea.title};
                s_note(l, D_REVISED, &c);
            }
            if (ea.billable != eb.billable) {
                s_change_t c = {.code = eb.display, .title = eb.title,
                                .billable = eb.billable};
                s_note(l, D_BILLABLE, &c);
            }
        }
        rc = cs_reader_next(r, CS_DB_CODES, &k, &v);
    }
    return CS_OK;
}

static void s_pack_list(cs_out_t *out, int kind, const s_lists_t *l)
{
    cs_out_cstr(out, s_list_names[kind]);
    cs_out_array(out, l->kept[kind]);
    for (uint32_t i = 0; i < l->kept[kind]; i++) {
        const s_change_t *c = &l->items[kind][i];
        cs_out_map(out, kind == D_REVISED || kind == D_BILLABLE ? 3 : 2);
        cs_out_cstr(out, "code");
        cs_out_strn(out, c->code.ptr, c->code.len);
        if (kind == D_REVISED) {
            cs_out_cstr(out, "old_title");
            cs_out_strn(out, c->old_title.ptr, c->old_title.len);
            cs_out_cstr(out, "new_title");
            cs_out_strn(out, c->title.ptr, c->title.len);
            continue;
        }
        cs_out_cstr(out, "title");
        cs_out_strn(out, c->title.ptr, c->title.len);
        if (kind == D_BILLABLE) {
            cs_out_kv_bool(out, "billable", c->billable);
        }
    }
}

cs_proto_err_t cs_diff_answer(cs_reader_t *r, const char *system, uint32_t from,
                              cs_span_t from_label, uint32_t to, cs_span_t to_label,
                              const cs_request_t *req, cs_out_t *out)
{
    s_lists_t l;
    memset(&l, 0, sizeof l);
    l.limit = req->limit >= 0 ? (uint32_t)(req->limit > 100000 ? 100000 : req->limit)
                              : CS_DIFF_LIMIT;
    for (int i = 0; i < D_KINDS && l.limit; i++) {
        l.items[i] = malloc(l.limit * sizeof *l.items[i]);
        l.failed |= l.items[i] == NULL;
    }
    int rc = l.failed ? CS_ENOMEM : s_walk(r, from, to, D_DELETED, 1, &l);
    if (rc == CS_OK) {
        rc = s_walk(r, to, from, D_ADDED, 0, &l);
    }
    if (rc != CS_OK) {
        for (int i = 0; i < D_KINDS; i++) {
            free(l.items[i]);
        }
        cs_reply_error(out, req, CS_PERR_INTERNAL, rc == CS_ENOMEM
                       ? "out of memory computing the diff" : "a stored entry is corrupt");
        return CS_PERR_INTERNAL;
    }
    cs_reply_begin(out, req, 1, 4 + D_KINDS);
    cs_out_kv_str(out, "system", system);
    cs_out_cstr(out, "release");
    cs_out_strn(out, from_label.ptr, from_label.len);
    cs_out_cstr(out, "to_release");
    cs_out_strn(out, to_label.ptr, to_label.len);
    for (int i = 0; i < D_KINDS; i++) {
        s_pack_list(out, i, &l);
        free(l.items[i]);
    }
    cs_out_cstr(out, "counts");
    cs_out_map(out, D_KINDS);
    for (int i = 0; i < D_KINDS; i++) {
        cs_out_kv_int(out, s_list_names[i], (int64_t)l.counts[i]);
    }
    return CS_PERR_NONE;
}
