/* cs_catalog.c: releases: resolve by label, date or newest; load, publish and purge. */
#include "store/cs_catalog.h"

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/cs_key.h"
#include "util/cs_date.h"
#include "util/cs_log.h"

#define CS_PURGE_BATCH 20000

/* ---- key builders ---- */

static size_t s_sys_key(uint8_t *out, size_t cap, char tag, const char *sys, size_t slen)
{
    if (slen == 0 || slen + 2 > cap) {
        return 0;
    }
    out[0] = (uint8_t)tag;
    memcpy(out + 1, sys, slen);
    out[1 + slen] = 0;
    return slen + 2;
}

static size_t s_release_key(uint8_t *out, uint32_t id)
{
    out[0] = 'R';
    cs_key_put_u32(out + 1, id);
    return 5;
}

/* ---- resolve ---- */

static int s_resolved_from_active(const cs_val_t *k, const cs_val_t *v, size_t plen,
                                  cs_resolved_t *out)
{
    if (k->len != plen + 8) {
        return CS_ENOTFOUND;
    }
    const uint8_t *b = (const uint8_t *)k->data + plen;
    out->effective_from = (int)cs_key_get_u32(b);
    out->id = cs_key_get_u32(b + 4);
    out->label.ptr = v->data;
    out->label.len = v->len;
    return CS_OK;
}

/* The last active entry of the system whose effective date is < before (u32 max: any). */
static int s_active_before(cs_reader_t *r, const char *sys, size_t slen, uint32_t before,
                           cs_resolved_t *out)
{
    uint8_t key[CS_STORE_KEY_MAX];
    size_t plen = s_sys_key(key, sizeof key - 8, 'A', sys, slen);
    if (plen == 0) {
        return CS_ENOTFOUND;
    }
    cs_key_put_u32(key + plen, before);
    cs_key_put_u32(key + plen + 4, 0);
    cs_val_t k, v;
    int rc = cs_reader_seek(r, CS_DB_META, key, plen + 8, &k, &v);
    if (rc == CS_OK) {
        rc = cs_reader_prev(r, CS_DB_META, &k, &v);
    } else {
        rc = cs_reader_last(r, CS_DB_META, &k, &v);
    }
    if (rc != CS_OK || k.len < plen || memcmp(k.data, key, plen) != 0) {
        return CS_ENOTFOUND;
    }
    return s_resolved_from_active(&k, &v, plen, out);
}

int cs_catalog_newest(cs_reader_t *r, const char *system, size_t slen, cs_resolved_t *out)
{
    return s_active_before(r, system, slen, UINT32_MAX, out);
}

int cs_catalog_by_date(cs_reader_t *r, const char *system, size_t slen, int yyyymmdd,
                       cs_resolved_t *out)
{
    return s_active_before(r, system, slen, (uint32_t)yyyymmdd + 1, out);
}

int cs_catalog_in_effect(cs_reader_t *r, cs_catalog_memo_t *memo, const char *system,
                         size_t slen, int date, cs_resolved_t *out)
{
    uint64_t snap = cs_reader_snapshot(r);
    if (snap == 0 || slen >= sizeof memo->slot[0].system) {
        return date ? cs_catalog_by_date(r, system, slen, date, out)
                    : cs_catalog_newest(r, system, slen, out);
    }
    if (memo->snapshot != snap) {
        memset(memo, 0, sizeof *memo);
        memo->snapshot = snap;
    }
    for (unsigned i = 0; i < CS_CATALOG_MEMO_SLOTS; i++) {
        cs_catalog_memo_slot_t *m = &memo->slot[i];
        if (m->used && m->date == date && m->slen == slen && memcmp(m->system, system, slen) == 0) {
            *out = m->rel;
            return m->rc;
        }
    }
    int rc = date ? cs_catalog_by_date(r, system, slen, date, out)
                  : cs_catalog_newest(r, system, slen, out);
    if (rc == CS_OK && out->label.len >= sizeof memo->slot[0].label) {
        return rc; /* too long to keep: answered, not remembered */
    }
    cs_catalog_memo_slot_t *m = &memo->slot[memo->next];
    memo->next = (memo->next + 1) % CS_CATALOG_MEMO_SLOTS;
    memset(m, 0, sizeof *m);
    m->used = 1;
    memcpy(m->system, system, slen);
    m->slen = slen;
    m->date = date;
    m->rc = rc;
    if (rc == CS_OK) {
        memcpy(m->label, out->label.ptr, out->label.len);
        m->rel = *out;
        m->rel.label.ptr = m->label;
        out->label.ptr = m->label;
    }
    return rc;
}

int cs_catalog_by_label(cs_reader_t *r, const char *system, size_t slen, const char *label,
                        size_t llen, cs_resolved_t *out)
{
    uint8_t key[CS_STORE_KEY_MAX];
    size_t plen = s_sys_key(key, sizeof key, 'L', system, slen);
    if (plen == 0 || plen + llen > sizeof key) {
        return CS_ENOTFOUND;
    }
    memcpy(key + plen, label, llen);
    cs_val_t v;
    if (cs_reader_get(r, CS_DB_META, key, plen + llen, &v) != CS_OK || v.len != 9) {
        return CS_ENOTFOUND;
    }
    const uint8_t *b = v.data;
    out->id = cs_key_get_u32(b);
    out->effective_from = (int)cs_key_get_u32(b + 4);
    out->label.ptr = label;
    out->label.len = llen;
    return CS_OK;
}

int cs_catalog_has_system(cs_reader_t *r, const char *system, size_t slen)
{
    uint8_t key[CS_STORE_KEY_MAX];
    size_t plen = s_sys_key(key, sizeof key, 'L', system, slen);
    cs_val_t k, v;
    if (plen == 0 || cs_reader_seek(r, CS_DB_META, key, plen, &k, &v) != CS_OK) {
        return 0;
    }
    return k.len >= plen && memcmp(k.data, key, plen) == 0;
}

/* Keep label (the rest of key k after plen bytes) in out when from is later than *out_from. */
static void s_keep_later(const cs_val_t *k, size_t plen, int from, char *out, size_t cap,
                         int *out_from)
{
    size_t n = k->len - plen;
    if (out[0] != '\0' && from <= *out_from) {
        return;
    }
    n = n < cap - 1 ? n : cap - 1;
    memcpy(out, (const char *)k->data + plen, n);
    out[n] = '\0';
    *out_from = from;
}

int cs_catalog_why_none(cs_reader_t *r, const char *system, size_t slen, const char *name,
                        int date, char *msg, size_t cap)
{
    /* The label keys hold every active and retired release with its status; the newest
     * retired one, and the latest retired one that had taken effect by date, are the ones
     * to pin. */
    uint8_t key[CS_STORE_KEY_MAX];
    size_t plen = s_sys_key(key, sizeof key, 'L', system, slen);
    unsigned n_active = 0, n_retired = 0;
    char newest[64] = "", covering[64] = "";
    int newest_from = 0, covering_from = 0;
    cs_val_t k, v;
    int rc = plen ? cs_reader_seek(r, CS_DB_META, key, plen, &k, &v) : CS_ENOTFOUND;
    for (; rc == CS_OK && k.len > plen && memcmp(k.data, key, plen) == 0;
         rc = cs_reader_next(r, CS_DB_META, &k, &v)) {
        const uint8_t *b = v.data;
        if (v.len != 9 || (b[8] != CS_REL_ACTIVE && b[8] != CS_REL_RETIRED)) {
            continue;
        }
        if (b[8] == CS_REL_ACTIVE) {
            n_active++;
            continue;
        }
        n_retired++;
        int from = (int)cs_key_get_u32(b + 4);
        s_keep_later(&k, plen, from, newest, sizeof newest, &newest_from);
        if (date && from <= date) {
            s_keep_later(&k, plen, from, covering, sizeof covering, &covering_from);
        }
    }
    char d[11], f[11];
    cs_date_format(date, d);
    if (n_active == 0 && n_retired == 0) {
        snprintf(msg, cap, "no release of %s is loaded", name);
        return CS_ENOTFOUND;
    }
    if (date == 0 || (n_active == 0 && covering[0] == '\0')) {
        char when[64] = "";
        if (date) {
            snprintf(when, sizeof when, "no release of %s is in effect on %s: ", name, d);
        }
        cs_date_format(newest_from, f);
        snprintf(msg, cap,
                 "%severy release of %s is retired (the newest is %s, in effect from %s); pin "
                 "one with \"release\": \"%s\"",
                 when, name, newest, f, newest);
    } else if (covering[0] != '\0') {
        cs_date_format(covering_from, f);
        snprintf(msg, cap,
                 "no release of %s is in effect on %s: %s, in effect from %s, is retired; pin "
                 "it with \"release\": \"%s\"",
                 name, d, covering, f, covering);
    } else {
        snprintf(msg, cap, "no release of %s is in effect on %s", name, d);
    }
    return CS_OK;
}

/* ---- release records (msgpack) ---- */

static void s_pack_kv_str(msgpack_packer *pk, const char *k, const char *v)
{
    msgpack_pack_str(pk, strlen(k));
    msgpack_pack_str_body(pk, k, strlen(k));
    msgpack_pack_str(pk, strlen(v));
    msgpack_pack_str_body(pk, v, strlen(v));
}

static void s_pack_kv_int(msgpack_packer *pk, const char *k, int64_t v)
{
    msgpack_pack_str(pk, strlen(k));
    msgpack_pack_str_body(pk, k, strlen(k));
    msgpack_pack_int64(pk, v);
}

static int s_release_encode(const cs_release_t *rel, msgpack_sbuffer *sb)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 10 + (rel->n_maps ? 1 : 0) + (rel->checksum[0] ? 1 : 0));
    s_pack_kv_str(&pk, "system", rel->system);
    s_pack_kv_str(&pk, "label", rel->label);
    s_pack_kv_int(&pk, "effective_from", rel->effective_from);
    s_pack_kv_int(&pk, "status", rel->status);
    s_pack_kv_int(&pk, "codes", (int64_t)rel->codes);
    s_pack_kv_int(&pk, "billable", (int64_t)rel->billable);
    s_pack_kv_int(&pk, "loaded_at", rel->loaded_at);
    s_pack_kv_str(&pk, "loader", rel->loader);
    s_pack_kv_int(&pk, "id", rel->id);
    if (rel->checksum[0]) {
        s_pack_kv_str(&pk, "checksum", rel->checksum);
    }
    msgpack_pack_str(&pk, 5);
    msgpack_pack_str_body(&pk, "files", 5);
    msgpack_pack_array(&pk, rel->n_files);
    for (uint32_t i = 0; i < rel->n_files; i++) {
        msgpack_pack_map(&pk, 3);
        s_pack_kv_str(&pk, "name", rel->files[i].name);
        s_pack_kv_str(&pk, "sha256", rel->files[i].sha256);
        s_pack_kv_int(&pk, "bytes", (int64_t)rel->files[i].bytes);
    }
    if (rel->n_maps) {
        msgpack_pack_str(&pk, 4);
        msgpack_pack_str_body(&pk, "maps", 4);
        msgpack_pack_array(&pk, rel->n_maps);
        for (uint32_t i = 0; i < rel->n_maps; i++) {
            msgpack_pack_map(&pk, 4);
            s_pack_kv_str(&pk, "name", rel->maps[i].name);
            s_pack_kv_str(&pk, "from", rel->maps[i].from);
            s_pack_kv_str(&pk, "to", rel->maps[i].to);
            s_pack_kv_int(&pk, "rows", (int64_t)rel->maps[i].rows);
        }
    }
    return CS_OK;
}

static int s_key_is(const msgpack_object_kv *kv, const char *name)
{
    size_t n = strlen(name);
    return kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == n &&
           memcmp(kv->key.via.str.ptr, name, n) == 0;
}

static void s_copy_str(char *dst, size_t cap, const msgpack_object *o)
{
    if (o->type != MSGPACK_OBJECT_STR) {
        dst[0] = '\0';
        return;
    }
    size_t n = o->via.str.size < cap - 1 ? o->via.str.size : cap - 1;
    memcpy(dst, o->via.str.ptr, n);
    dst[n] = '\0';
}

static int64_t s_int(const msgpack_object *o)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        return (int64_t)o->via.u64;
    }
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        return o->via.i64;
    }
    return 0;
}

static int s_release_decode(const void *data, size_t len, cs_release_t *rel)
{
    memset(rel, 0, sizeof *rel);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    int rc = CS_EMALFORMED;
    if (msgpack_unpack_next(&up, data, len, &off) != MSGPACK_UNPACK_SUCCESS ||
        up.data.type != MSGPACK_OBJECT_MAP) {
        goto done;
    }
    for (uint32_t i = 0; i < up.data.via.map.size; i++) {
        const msgpack_object_kv *kv = &up.data.via.map.ptr[i];
        if (s_key_is(kv, "system")) {
            s_copy_str(rel->system, sizeof rel->system, &kv->val);
        } else if (s_key_is(kv, "label")) {
            s_copy_str(rel->label, sizeof rel->label, &kv->val);
        } else if (s_key_is(kv, "loader")) {
            s_copy_str(rel->loader, sizeof rel->loader, &kv->val);
        } else if (s_key_is(kv, "effective_from")) {
            rel->effective_from = (int)s_int(&kv->val);
        } else if (s_key_is(kv, "status")) {
            rel->status = (int)s_int(&kv->val);
        } else if (s_key_is(kv, "codes")) {
            rel->codes = (uint64_t)s_int(&kv->val);
        } else if (s_key_is(kv, "billable")) {
            rel->billable = (uint64_t)s_int(&kv->val);
        } else if (s_key_is(kv, "loaded_at")) {
            rel->loaded_at = s_int(&kv->val);
        } else if (s_key_is(kv, "id")) {
            rel->id = (uint32_t)s_int(&kv->val);
        } else if (s_key_is(kv, "checksum")) {
            s_copy_str(rel->checksum, sizeof rel->checksum, &kv->val);
        } else if (s_key_is(kv, "files") && kv->val.type == MSGPACK_OBJECT_ARRAY) {
            const msgpack_object_array *a = &kv->val.via.array;
            for (uint32_t j = 0; j < a->size && j < CS_RELEASE_MAX_FILES; j++) {
                if (a->ptr[j].type != MSGPACK_OBJECT_MAP) {
                    continue;
                }
                cs_release_file_t *f = &rel->files[rel->n_files++];
                const msgpack_object_map *m = &a->ptr[j].via.map;
                for (uint32_t x = 0; x < m->size; x++) {
                    if (s_key_is(&m->ptr[x], "name")) {
                        s_copy_str(f->name, sizeof f->name, &m->ptr[x].val);
                    } else if (s_key_is(&m->ptr[x], "sha256")) {
                        s_copy_str(f->sha256, sizeof f->sha256, &m->ptr[x].val);
                    } else if (s_key_is(&m->ptr[x], "bytes")) {
                        f->bytes = (uint64_t)s_int(&m->ptr[x].val);
                    }
                }
            }
        } else if (s_key_is(kv, "maps") && kv->val.type == MSGPACK_OBJECT_ARRAY) {
            const msgpack_object_array *a = &kv->val.via.array;
            for (uint32_t j = 0; j < a->size && j < CS_RELEASE_MAX_MAPS; j++) {
                if (a->ptr[j].type != MSGPACK_OBJECT_MAP) {
                    continue;
                }
                cs_release_map_t *mp = &rel->maps[rel->n_maps++];
                const msgpack_object_map *m = &a->ptr[j].via.map;
                for (uint32_t x = 0; x < m->size; x++) {
                    const msgpack_object_kv *e = &m->ptr[x];
                    if (s_key_is(e, "name")) {
                        s_copy_str(mp->name, sizeof mp->name, &e->val);
                    } else if (s_key_is(e, "from")) {
                        s_copy_str(mp->from, sizeof mp->from, &e->val);
                    } else if (s_key_is(e, "to")) {
                        s_copy_str(mp->to, sizeof mp->to, &e->val);
                    } else if (s_key_is(e, "rows")) {
                        mp->rows = (uint64_t)s_int(&e->val);
                    }
                }
            }
        }
    }
    rc = CS_OK;
done:
    msgpack_unpacked_destroy(&up);
    return rc;
}

static int s_put_release(cs_writer_t *w, const cs_release_t *rel)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    s_release_encode(rel, &sb);
    uint8_t key[8];
    size_t klen = s_release_key(key, rel->id);
    int rc = cs_writer_put(w, CS_DB_META, key, klen, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

int cs_catalog_get(cs_writer_t *w, uint32_t id, cs_release_t *out)
{
    uint8_t key[8];
    size_t klen = s_release_key(key, id);
    cs_val_t v;
    int rc = cs_writer_get(w, CS_DB_META, key, klen, &v);
    if (rc != CS_OK) {
        return rc;
    }
    return s_release_decode(v.data, v.len, out);
}

/* ---- list ---- */

static int s_cmp_release(const void *a, const void *b)
{
    const cs_release_t *x = a;
    const cs_release_t *y = b;
    int c = strcmp(x->system, y->system);
    if (c != 0) {
        return c;
    }
    if (x->effective_from != y->effective_from) {
        return x->effective_from < y->effective_from ? -1 : 1;
    }
    return x->id < y->id ? -1 : (x->id > y->id);
}

int cs_catalog_list(cs_reader_t *r, const char *system, size_t slen, cs_release_t **out,
                    size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t cap = 0;
    cs_val_t k, v;
    uint8_t start = 'R';
    int rc = cs_reader_seek(r, CS_DB_META, &start, 1, &k, &v);
    while (rc == CS_OK && k.len == 5 && ((const uint8_t *)k.data)[0] == 'R') {
        cs_release_t rel;
        if (s_release_decode(v.data, v.len, &rel) == CS_OK &&
            (rel.status == CS_REL_ACTIVE || rel.status == CS_REL_RETIRED) &&
            (!system || (strlen(rel.system) == slen && memcmp(rel.system, system, slen) == 0))) {
            if (*n == cap) {
                cap = cap ? cap * 2 : 8;
                cs_release_t *p = realloc(*out, cap * sizeof *p);
                if (!p) {
                    free(*out);
                    *out = NULL;
                    *n = 0;
                    return CS_ENOMEM;
                }
                *out = p;
            }
            (*out)[(*n)++] = rel;
        }
        rc = cs_reader_next(r, CS_DB_META, &k, &v);
    }
    if (*n > 1) {
        qsort(*out, *n, sizeof **out, s_cmp_release);
    }
    /* effective_to: the next active release of the same system starts the day it ends. */
    for (size_t i = 0; i < *n; i++) {
        cs_release_t *rel = &(*out)[i];
        rel->effective_to = 0;
        if (rel->status != CS_REL_ACTIVE) {
            continue;
        }
        for (size_t j = i + 1; j < *n; j++) {
            cs_release_t *next = &(*out)[j];
            if (strcmp(next->system, rel->system) != 0) {
                break;
            }
            if (next->status == CS_REL_ACTIVE && next->effective_from > rel->effective_from) {
                rel->effective_to = cs_catalog_day_before(next->effective_from);
                break;
            }
        }
    }
    return CS_OK;
}

/* ---- writer side ---- */

int cs_catalog_begin_load(cs_writer_t *w, cs_release_t *rel, cs_error_t *err)
{
    uint8_t nkey = 'N';
    cs_val_t v;
    uint32_t id = 1;
    if (cs_writer_get(w, CS_DB_META, &nkey, 1, &v) == CS_OK && v.len == 4) {
        id = cs_key_get_u32(v.data);
    }
    uint8_t next[4];
    cs_key_put_u32(next, id + 1);
    cs_writer_put(w, CS_DB_META, &nkey, 1, next, 4);
    rel->id = id;
    rel->status = CS_REL_LOADING;
    s_put_release(w, rel);
    return cs_writer_commit(w, err);
}

static size_t s_active_key(uint8_t *key, const cs_release_t *rel)
{
    size_t plen = s_sys_key(key, CS_STORE_KEY_MAX - 8, 'A', rel->system, strlen(rel->system));
    cs_key_put_u32(key + plen, (uint32_t)rel->effective_from);
    cs_key_put_u32(key + plen + 4, rel->id);
    return plen + 8;
}

static size_t s_label_key(uint8_t *key, const cs_release_t *rel)
{
    size_t plen = s_sys_key(key, CS_STORE_KEY_MAX, 'L', rel->system, strlen(rel->system));
    size_t llen = strlen(rel->label);
    memcpy(key + plen, rel->label, llen);
    return plen + llen;
}

int cs_catalog_publish(cs_writer_t *w, cs_release_t *rel, uint32_t *replaced, cs_error_t *err)
{
    *replaced = 0;
    uint8_t lkey[CS_STORE_KEY_MAX];
    size_t llen = s_label_key(lkey, rel);
    cs_val_t v;
    if (cs_writer_get(w, CS_DB_META, lkey, llen, &v) == CS_OK && v.len == 9) {
        cs_release_t old;
        uint32_t old_id = cs_key_get_u32(v.data);
        if (cs_catalog_get(w, old_id, &old) == CS_OK) {
            uint8_t akey[CS_STORE_KEY_MAX];
            size_t alen = s_active_key(akey, &old);
            cs_writer_del(w, CS_DB_META, akey, alen);
            old.status = CS_REL_SUPERSEDED;
            s_put_release(w, &old);
            *replaced = old_id;
        }
    }
    rel->status = CS_REL_ACTIVE;
    rel->loaded_at = (int64_t)time(NULL);
    s_put_release(w, rel);
    uint8_t lval[9];
    cs_key_put_u32(lval, rel->id);
    cs_key_put_u32(lval + 4, (uint32_t)rel->effective_from);
    lval[8] = CS_REL_ACTIVE;
    cs_writer_put(w, CS_DB_META, lkey, llen, lval, sizeof lval);
    uint8_t akey[CS_STORE_KEY_MAX];
    size_t alen = s_active_key(akey, rel);
    cs_writer_put(w, CS_DB_META, akey, alen, rel->label, strlen(rel->label));
    return cs_writer_commit(w, err);
}

int cs_catalog_purge(cs_writer_t *w, uint32_t id, cs_error_t *err)
{
    uint8_t prefix[4];
    cs_key_put_u32(prefix, id);
    static const int dbs[] = {CS_DB_CODES, CS_DB_CHILDREN, CS_DB_SEARCH, CS_DB_MAPS,
                              CS_DB_RMAPS, CS_DB_NOTEREFS, CS_DB_CODEIDX};
    for (size_t i = 0; i < sizeof dbs / sizeof dbs[0]; i++) {
        int more = 1;
        while (more) {
            int rc = cs_writer_del_prefix(w, dbs[i], prefix, 4, CS_PURGE_BATCH, &more);
            if (rc == CS_OK) {
                rc = cs_writer_commit(w, err);
            }
            if (rc != CS_OK) {
                return cs_error_set(err, rc, "cannot purge release %u: %s", id,
                                    cs_strerror(rc));
            }
        }
    }
    cs_release_t rel;
    if (cs_catalog_get(w, id, &rel) == CS_OK) {
        uint8_t key[CS_STORE_KEY_MAX];
        size_t klen = s_active_key(key, &rel);
        cs_writer_del(w, CS_DB_META, key, klen);
        klen = s_label_key(key, &rel);
        cs_val_t v;
        if (cs_writer_get(w, CS_DB_META, key, klen, &v) == CS_OK && v.len == 9 &&
            cs_key_get_u32(v.data) == id) {
            cs_writer_del(w, CS_DB_META, key, klen);
        }
    }
    uint8_t rkey[8];
    size_t rlen = s_release_key(rkey, id);
    cs_writer_del(w, CS_DB_META, rkey, rlen);
    return cs_writer_commit(w, err);
}

int cs_catalog_purge_incomplete(cs_writer_t *w, size_t *n_purged, cs_error_t *err)
{
    uint32_t doomed[256];
    size_t n = 0;
    cs_val_t k, v;
    uint8_t start = 'R';
    int rc = cs_writer_seek(w, CS_DB_META, &start, 1, &k, &v);
    while (rc == CS_OK && k.len == 5 && ((const uint8_t *)k.data)[0] == 'R' &&
           n < sizeof doomed / sizeof doomed[0]) {
        cs_release_t rel;
        if (s_release_decode(v.data, v.len, &rel) == CS_OK &&
            (rel.status == CS_REL_LOADING || rel.status == CS_REL_SUPERSEDED)) {
            doomed[n++] = cs_key_get_u32((const uint8_t *)k.data + 1);
        }
        rc = cs_writer_next(w, CS_DB_META, &k, &v);
    }
    for (size_t i = 0; i < n; i++) {
        CS_NOTICE("store: purging incomplete or replaced release %u", doomed[i]);
        rc = cs_catalog_purge(w, doomed[i], err);
        if (rc != CS_OK) {
            return rc;
        }
    }
    if (n_purged) {
        *n_purged = n;
    }
    return CS_OK;
}

int cs_catalog_day_before(int d)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y = d / 10000, m = d / 100 % 100, day = d % 100;
    if (day > 1) {
        return d - 1;
    }
    if (m == 1) {
        return (y - 1) * 10000 + 1231;
    }
    m--;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    day = days[m - 1] + (m == 2 && leap);
    return y * 10000 + m * 100 + day;
}

int cs_catalog_read(cs_reader_t *r, uint32_t id, cs_release_t *out)
{
    uint8_t key[8];
    size_t klen = s_release_key(key, id);
    cs_val_t v;
    if (cs_reader_get(r, CS_DB_META, key, klen, &v) != CS_OK) {
        return CS_ENOTFOUND;
    }
    return s_release_decode(v.data, v.len, out) == CS_OK ? CS_OK : CS_ENOTFOUND;
}

/* The id a label points at, in the writer's transaction. */
static int s_label_id(cs_writer_t *w, const char *system, const char *label, uint32_t *id)
{
    cs_release_t probe;
    memset(&probe, 0, sizeof probe);
    if (strlen(system) >= sizeof probe.system || strlen(label) >= sizeof probe.label) {
        return CS_ENOTFOUND;
    }
    memcpy(probe.system, system, strlen(system) + 1);
    memcpy(probe.label, label, strlen(label) + 1);
    uint8_t key[CS_STORE_KEY_MAX];
    size_t klen = s_label_key(key, &probe);
    cs_val_t v;
    if (cs_writer_get(w, CS_DB_META, key, klen, &v) != CS_OK || v.len != 9) {
        return CS_ENOTFOUND;
    }
    *id = cs_key_get_u32(v.data);
    return CS_OK;
}

int cs_catalog_retire(cs_writer_t *w, const char *system, const char *label, cs_error_t *err)
{
    uint32_t id;
    cs_release_t rel;
    if (s_label_id(w, system, label, &id) != CS_OK || cs_catalog_get(w, id, &rel) != CS_OK) {
        return cs_error_set(err, CS_ENOTFOUND, "%s has no release '%s'", system, label);
    }
    if (rel.status == CS_REL_RETIRED) {
        return CS_OK;
    }
    uint8_t key[CS_STORE_KEY_MAX];
    size_t klen = s_active_key(key, &rel);
    cs_writer_del(w, CS_DB_META, key, klen);
    rel.status = CS_REL_RETIRED;
    s_put_release(w, &rel);
    uint8_t lval[9];
    cs_key_put_u32(lval, rel.id);
    cs_key_put_u32(lval + 4, (uint32_t)rel.effective_from);
    lval[8] = CS_REL_RETIRED;
    klen = s_label_key(key, &rel);
    cs_writer_put(w, CS_DB_META, key, klen, lval, sizeof lval);
    return cs_writer_commit(w, err);
}

int cs_catalog_drop(cs_writer_t *w, const char *system, const char *label, uint64_t *n_codes,
                    cs_error_t *err)
{
    uint32_t id;
    cs_release_t rel;
    if (s_label_id(w, system, label, &id) != CS_OK || cs_catalog_get(w, id, &rel) != CS_OK) {
        return cs_error_set(err, CS_ENOTFOUND, "%s has no release '%s'", system, label);
    }
    if (n_codes) {
        *n_codes = rel.codes;
    }
    /* Unpublish first, in one commit: a crash during the purge leaves a superseded release
     * that the next start purges, never a half-deleted one that answers. */
    uint8_t key[CS_STORE_KEY_MAX];
    size_t klen = s_active_key(key, &rel);
    cs_writer_del(w, CS_DB_META, key, klen);
    klen = s_label_key(key, &rel);
    cs_writer_del(w, CS_DB_META, key, klen);
    rel.status = CS_REL_SUPERSEDED;
    s_put_release(w, &rel);
    int rc = cs_writer_commit(w, err);
    if (rc != CS_OK) {
        return rc;
    }
    return cs_catalog_purge(w, id, err);
}

int cs_catalog_in_effect_w(cs_writer_t *w, const char *system, int yyyymmdd, uint32_t *id,
                           char label[64])
{
    uint8_t key[CS_STORE_KEY_MAX];
    size_t plen = s_sys_key(key, sizeof key - 8, 'A', system, strlen(system));
    cs_val_t k, v;
    int rc = plen ? cs_writer_seek(w, CS_DB_META, key, plen, &k, &v) : CS_ENOTFOUND;
    int found = 0;
    /* the "A" keys of a system are in date order: keep the last that starts by the date */
    for (; rc == CS_OK && k.len == plen + 8 && memcmp(k.data, key, plen) == 0;
         rc = cs_writer_next(w, CS_DB_META, &k, &v)) {
        const uint8_t *b = (const uint8_t *)k.data + plen;
        if ((int)cs_key_get_u32(b) > yyyymmdd) {
            break;
        }
        *id = cs_key_get_u32(b + 4);
        size_t n = v.len < 63 ? v.len : 63;
        memcpy(label, v.data, n);
        label[n] = '\0';
        found = 1;
    }
    return found ? CS_OK : CS_ENOTFOUND;
}
