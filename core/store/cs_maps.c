/* cs_maps.c: crosswalk rows in the store. */
#include "store/cs_maps.h"

#include <string.h>

#include "store/cs_key.h"

/* [release][map][code][0], the prefix of one code's rows; 0 if the code is too long. */
static size_t s_prefix(uint8_t *out, uint32_t release, uint8_t map, const char *key,
                       size_t klen)
{
    if (klen == 0 || klen >= CS_CODE_MAX) {
        return 0;
    }
    cs_key_put_u32(out, release);
    out[4] = map;
    memcpy(out + 5, key, klen);
    out[5 + klen] = 0;
    return klen + 6;
}

static size_t s_put_str(uint8_t *out, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    n = n > 255 ? 255 : n;
    out[0] = (uint8_t)n;
    memcpy(out + 1, s ? s : "", n);
    return n + 1;
}

static size_t s_value(uint8_t *out, const cs_map_row_t *row, const cs_code_t *other)
{
    size_t n = 0;
    out[n++] = (uint8_t)row->flags;
    out[n++] = row->scenario;
    out[n++] = row->choice;
    n += s_put_str(out + n, other ? other->key : NULL);
    n += s_put_str(out + n, other ? other->display : NULL);
    n += s_put_str(out + n, row->relationship);
    return n;
}

int cs_maps_put(cs_writer_t *w, uint32_t release, uint8_t map, const cs_code_t *source,
                const cs_code_t *target, const cs_map_row_t *row, uint32_t seq)
{
    uint8_t key[CS_STORE_KEY_MAX];
    uint8_t val[3 + 3 * 256];
    size_t plen = s_prefix(key, release, map, source->key, strlen(source->key));
    if (plen == 0) {
        return CS_EINVAL;
    }
    cs_key_put_u32(key + plen, seq);
    int rc = cs_writer_put(w, CS_DB_MAPS, key, plen + 4, val, s_value(val, row, target));
    if (rc != CS_OK || !target) {
        return rc;
    }
    plen = s_prefix(key, release, map, target->key, strlen(target->key));
    if (plen == 0) {
        return CS_EINVAL;
    }
    cs_key_put_u32(key + plen, seq);
    return cs_writer_put(w, CS_DB_RMAPS, key, plen + 4, val, s_value(val, row, source));
}

static cs_span_t s_get_str(const uint8_t **p, const uint8_t *end, int *bad)
{
    cs_span_t s = {"", 0};
    if (*bad || *p >= end || (size_t)(end - *p - 1) < **p) {
        *bad = 1;
        return s;
    }
    s.len = **p;
    s.ptr = (const char *)*p + 1;
    *p += 1 + s.len;
    return s;
}

static int s_decode(const cs_val_t *v, cs_map_hit_t *hit)
{
    const uint8_t *p = v->data;
    const uint8_t *end = p + v->len;
    if (v->len < 6) {
        return 0;
    }
    hit->flags = p[0];
    hit->scenario = p[1];
    hit->choice = p[2];
    p += 3;
    int bad = 0;
    hit->key = s_get_str(&p, end, &bad);
    hit->display = s_get_str(&p, end, &bad);
    hit->relationship = s_get_str(&p, end, &bad);
    return !bad;
}

static int s_step(cs_maps_iter_t *it, int rc, const cs_val_t *k, const cs_val_t *v,
                  cs_map_hit_t *hit)
{
    if (rc != CS_OK || k->len != it->plen + 4 || memcmp(k->data, it->prefix, it->plen) != 0) {
        return 0;
    }
    return s_decode(v, hit);
}

int cs_maps_first(cs_maps_iter_t *it, cs_reader_t *r, uint32_t release, uint8_t map,
                  const char *key, size_t klen, int reverse, cs_map_hit_t *hit)
{
    it->reader = r;
    it->db = reverse ? CS_DB_RMAPS : CS_DB_MAPS;
    it->plen = s_prefix(it->prefix, release, map, key, klen);
    if (it->plen == 0) {
        return 0;
    }
    cs_val_t k, v;
    int rc = cs_reader_seek(r, it->db, it->prefix, it->plen, &k, &v);
    return s_step(it, rc, &k, &v, hit);
}

int cs_maps_next(cs_maps_iter_t *it, cs_map_hit_t *hit)
{
    cs_val_t k, v;
    int rc = cs_reader_next(it->reader, it->db, &k, &v);
    return s_step(it, rc, &k, &v, hit);
}

/* A scanned row: the map's prefix, a code, the 0 separator and the seq. */
static int s_scan_step(cs_maps_iter_t *it, int rc, const cs_val_t *k, const cs_val_t *v,
                       cs_map_hit_t *hit, cs_span_t *code)
{
    if (rc != CS_OK || k->len < it->plen + 6 || memcmp(k->data, it->prefix, it->plen) != 0) {
        return 0;
    }
    const char *key = (const char *)k->data;
    size_t clen = k->len - it->plen - 5;
    if (key[it->plen + clen] != 0) {
        return 0; /* not a row key: a store written otherwise */
    }
    *code = (cs_span_t){key + it->plen, clen};
    return s_decode(v, hit);
}

int cs_maps_scan(cs_maps_iter_t *it, cs_reader_t *r, uint32_t release, uint8_t map,
                 const char *after, size_t alen, cs_map_hit_t *hit, cs_span_t *code)
{
    it->reader = r;
    it->db = CS_DB_MAPS;
    cs_key_put_u32(it->prefix, release);
    it->prefix[4] = map;
    it->plen = 5;
    uint8_t start[CS_STORE_KEY_MAX];
    size_t slen = 5;
    memcpy(start, it->prefix, 5);
    if (after) {
        if (alen == 0 || alen >= CS_CODE_MAX) {
            return 0;
        }
        memcpy(start + 5, after, alen);
        start[5 + alen] = 1; /* past the code's rows ([code][0][seq]), before any longer code */
        slen = 6 + alen;
    }
    cs_val_t k, v;
    int rc = cs_reader_seek(r, CS_DB_MAPS, start, slen, &k, &v);
    return s_scan_step(it, rc, &k, &v, hit, code);
}

int cs_maps_scan_next(cs_maps_iter_t *it, cs_map_hit_t *hit, cs_span_t *code)
{
    cs_val_t k, v;
    int rc = cs_reader_next(it->reader, it->db, &k, &v);
    return s_scan_step(it, rc, &k, &v, hit, code);
}
