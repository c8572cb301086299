/* cs_validate.c: one code checked as the validate op checks it (cs_validate.h). */
#include "engine/cs_validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/cs_entry.h"
#include "store/cs_key.h"
#include "store/cs_maps.h"
#include "util/cs_date.h"

void cs_validator_init(cs_validator_t *vx, cs_reader_t *reader, cs_codeidx_holder_t *index,
                       const cs_plugin_desc_t *sys, const cs_resolved_t *rel, int has_date,
                       int date)
{
    memset(vx, 0, sizeof *vx);
    vx->reader = reader;
    vx->index = index;
    vx->sys = sys;
    vx->rel = *rel;
    vx->has_date = has_date;
    vx->date = has_date ? date : 0;
}

void cs_validator_fini(cs_validator_t *vx)
{
    free(vx->all);
    vx->all = NULL;
    vx->n_all = 0;
    vx->listed = 0;
}

/* The catalog, read once per validator and only when a code is not in its release. */
static void s_list(cs_validator_t *vx)
{
    if (!vx->listed) {
        vx->listed = 1;
        if (cs_catalog_list(vx->reader, NULL, 0, &vx->all, &vx->n_all) != CS_OK) {
            vx->all = NULL;
            vx->n_all = 0;
        }
    }
}

static int s_span_eq(cs_span_t a, cs_span_t b)
{
    return a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0;
}

/* The head of entry (cls, key) of release rel, from its code index or LMDB. */
static int s_get_entry(cs_validator_t *vx, uint32_t rel, uint8_t cls, const char *key,
                       size_t klen, cs_entry_t *out)
{
    return cs_codeidx_entry(vx->index, vx->reader, rel, cls, key, klen, 0, out);
}

static int s_find(cs_validator_t *vx, uint32_t rel, const cs_code_t *c, cs_entry_t *out)
{
    return s_get_entry(vx, rel, c->cls, c->key, strlen(c->key), out);
}

/* The first (forward) or last (backward) child of a parent: its class and key. */
static int s_edge_child(cs_validator_t *vx, uint32_t rel, uint8_t cls, const char *key, size_t klen,
                        int last, uint8_t *ccls, char *ckey, size_t *cklen)
{
    uint8_t prefix[CS_KEY_MAX + 1];
    size_t plen = cs_key_children(prefix, rel, cls, key, klen);
    if (plen == 0) {
        return CS_ENOTFOUND;
    }
    cs_val_t k, v;
    int rc;
    if (last) {
        uint8_t past[CS_KEY_MAX + 1];
        memcpy(past, prefix, plen);
        past[plen - 1] = 1; /* the byte after the 0 separator: just past every child */
        rc = cs_reader_seek(vx->reader, CS_DB_CHILDREN, past, plen, &k, &v);
        rc = rc == CS_OK ? cs_reader_prev(vx->reader, CS_DB_CHILDREN, &k, &v)
                         : cs_reader_last(vx->reader, CS_DB_CHILDREN, &k, &v);
    } else {
        rc = cs_reader_seek(vx->reader, CS_DB_CHILDREN, prefix, plen, &k, &v);
    }
    if (rc != CS_OK || k.len < plen || memcmp(k.data, prefix, plen) != 0 || v.len < 2 ||
        v.len - 1 >= CS_CODE_MAX) {
        return CS_ENOTFOUND;
    }
    *ccls = ((const uint8_t *)v.data)[0];
    *cklen = v.len - 1;
    memcpy(ckey, (const char *)v.data + 1, *cklen);
    ckey[*cklen] = '\0';
    return CS_OK;
}

/* Descend from a chapter or block to its first or last code. */
static int s_edge_code(cs_validator_t *vx, uint32_t rel, uint8_t cls, const char *key, size_t klen,
                       int last, char *out, size_t *olen)
{
    uint8_t c = cls;
    char k[CS_CODE_MAX];
    memcpy(k, key, klen);
    k[klen] = '\0';
    size_t kl = klen;
    for (int depth = 0; c != CS_CLASS_CODE && depth < 4; depth++) {
        if (s_edge_child(vx, rel, c, k, kl, last, &c, k, &kl) != CS_OK) {
            return CS_ENOTFOUND;
        }
    }
    if (c != CS_CLASS_CODE) {
        return CS_ENOTFOUND;
    }
    memcpy(out, k, kl + 1);
    *olen = kl;
    return CS_OK;
}


/* Lexicographic comparison of two byte strings (LMDB's default key order). */
static int s_keycmp(const void *a, size_t alen, const void *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0) {
        return c;
    }
    return alen < blen ? -1 : (alen > blen);
}

/* Is key k at or before the end of the range "everything that starts with end"? */
static int s_within(const cs_val_t *k, const uint8_t *end, size_t elen)
{
    if (k->len >= elen && memcmp(k->data, end, elen) == 0) {
        return 1;
    }
    return s_keycmp(k->data, k->len, end, elen) < 0;
}

/* Collect up to CS_HINT_MAX billable codes with keys in [lo, hi-prefix...] in code order,
 * and the last billable one in the range. */
static void s_collect_hint(cs_validator_t *vx, uint32_t rel, const char *lo, size_t lolen,
                           const char *hi, size_t hilen, cs_validate_hint_t *h)
{
    uint8_t start[CS_KEY_MAX], end[CS_KEY_MAX + 1];
    size_t slen = cs_key_code(start, rel, CS_CLASS_CODE, lo, lolen);
    size_t elen = cs_key_code(end, rel, CS_CLASS_CODE, hi, hilen);
    if (!slen || !elen) {
        return;
    }
    cs_val_t k, v;
    int rc = cs_reader_seek(vx->reader, CS_DB_CODES, start, slen, &k, &v);
    while (rc == CS_OK && h->n < CS_HINT_MAX && s_within(&k, end, elen)) {
        cs_entry_t ent;
        if (cs_entry_decode_head(v.data, v.len, &ent) == CS_OK && ent.billable) {
            h->codes[h->n++] = ent.display;
        }
        rc = cs_reader_next(vx->reader, CS_DB_CODES, &k, &v);
    }
    /* the last billable code under hi: seek just past hi's range and step back */
    end[elen] = 0xFF;
    rc = cs_reader_seek(vx->reader, CS_DB_CODES, end, elen + 1, &k, &v);
    rc = rc == CS_OK ? cs_reader_prev(vx->reader, CS_DB_CODES, &k, &v)
                     : cs_reader_last(vx->reader, CS_DB_CODES, &k, &v);
    for (int steps = 0; rc == CS_OK && steps < 100000; steps++) {
        if (s_keycmp(k.data, k.len, start, slen) < 0) {
            break;
        }
        cs_entry_t ent;
        if (cs_entry_decode_head(v.data, v.len, &ent) == CS_OK && ent.billable) {
            size_t n = ent.display.len < CS_CODE_MAX - 1 ? ent.display.len : CS_CODE_MAX - 1;
            memcpy(h->last, ent.display.ptr, n);
            h->last[n] = '\0';
            break;
        }
        rc = cs_reader_prev(vx->reader, CS_DB_CODES, &k, &v);
    }
}

/* Billable descendants in release order, breadth first, for systems whose hierarchy is not
 * spelled in the codes (a FHIR CodeSystem's CPT categories): at most CS_HINT_MAX, found by
 * visiting at most a few hundred entries. */
static void s_hint_descendants(cs_validator_t *vx, uint32_t rel, const cs_code_t *code,
                               cs_validate_hint_t *h)
{
    enum { QUEUE = 256 };
    char queue[QUEUE][CS_CODE_MAX];
    uint8_t qcls[QUEUE];
    size_t head = 0, tail = 0;
    snprintf(queue[tail], CS_CODE_MAX, "%s", code->key);
    qcls[tail++] = code->cls;
    while (head < tail && h->n < CS_HINT_MAX) {
        const char *key = queue[head];
        size_t klen = strlen(key);
        uint8_t cls = qcls[head++];
        uint8_t prefix[CS_KEY_MAX];
        size_t plen = cs_key_children(prefix, rel, cls, key, klen);
        cs_val_t k, v;
        int rc = plen ? cs_reader_seek(vx->reader, CS_DB_CHILDREN, prefix, plen, &k, &v) : -1;
        for (; rc == CS_OK && k.len >= plen && memcmp(k.data, prefix, plen) == 0;
             rc = cs_reader_next(vx->reader, CS_DB_CHILDREN, &k, &v)) {
            cs_entry_t child;
            if (v.len < 2 || v.len - 1 >= CS_CODE_MAX ||
                s_get_entry(vx, rel, ((const uint8_t *)v.data)[0], (const char *)v.data + 1,
                            v.len - 1, &child) != CS_OK) {
                continue;
            }
            if (child.billable && h->n < CS_HINT_MAX) {
                h->codes[h->n++] = child.display;
                size_t n = child.display.len < CS_CODE_MAX - 1 ? child.display.len
                                                               : CS_CODE_MAX - 1;
                memcpy(h->last, child.display.ptr, n);
                h->last[n] = '\0';
            }
            if (tail < QUEUE) {
                memcpy(queue[tail], (const char *)v.data + 1, v.len - 1);
                queue[tail][v.len - 1] = '\0';
                qcls[tail++] = ((const uint8_t *)v.data)[0];
            }
        }
    }
}

static void s_hint_for(cs_validator_t *vx, uint32_t rel, const cs_code_t *code,
                       cs_validate_hint_t *h)
{
    memset(h, 0, sizeof *h);
    size_t klen = strlen(code->key);
    if (code->cls == CS_CLASS_CODE) {
        s_collect_hint(vx, rel, code->key, klen, code->key, klen, h);
        if (h->n == 0) {
            s_hint_descendants(vx, rel, code, h);
            return;
        }
        /* A header that only lacks its 7th character: every billable code below it is the
         * header, padded with placeholder X to six characters, plus one character. */
        if (h->n > 0 && klen < 7 && h->codes[0].len > 0) {
            char want[CS_CODE_MAX];
            size_t n = 0;
            for (size_t i = 0; i < klen; i++) {
                want[n++] = code->key[i];
            }
            while (n < 6) {
                want[n++] = 'X';
            }
            char got[CS_CODE_MAX];
            size_t g = 0;
            for (size_t i = 0; i < h->codes[0].len && g < sizeof got - 1; i++) {
                if (h->codes[0].ptr[i] != '.') {
                    got[g++] = h->codes[0].ptr[i];
                }
            }
            h->seventh = g == 7 && memcmp(got, want, 6) == 0;
        }
        return;
    }
    char lo[CS_CODE_MAX], hi[CS_CODE_MAX];
    size_t lolen, hilen;
    if (s_edge_code(vx, rel, code->cls, code->key, klen, 0, lo, &lolen) == CS_OK &&
        s_edge_code(vx, rel, code->cls, code->key, klen, 1, hi, &hilen) == CS_OK) {
        s_collect_hint(vx, rel, lo, lolen, hi, hilen, h);
    }
}

static void s_not_billable(cs_validator_t *vx, const cs_code_t *code, const cs_entry_t *ent,
                           cs_validate_buf_t *buf, cs_validation_t *v)
{
    cs_validate_hint_t *h = &buf->hint_;
    s_hint_for(vx, vx->rel.id, code, h);
    char *msg = buf->message;
    size_t cap = 256; /* validate's bound for this message, kept byte for byte */
    const char *what = h->seventh ? "needs a 7th character" : "is a header, not billable";
    if (h->n == 0) {
        snprintf(msg, cap, "%s %s, and no billable code lies under it", code->display, what);
    } else if (h->last[0] && (h->codes[h->n - 1].len != strlen(h->last) ||
                              memcmp(h->codes[h->n - 1].ptr, h->last, strlen(h->last)) != 0 ||
                              h->n > 1)) {
        snprintf(msg, cap, "%s %s: pick one of %.*s\xe2\x80\xa6%s", code->display, what,
                 (int)h->codes[0].len, h->codes[0].ptr, h->last);
    } else {
        snprintf(msg, cap, "%s %s: use %.*s", code->display, what, (int)h->codes[0].len,
                 h->codes[0].ptr);
    }
    v->reason = CS_REASON_NOT_BILLABLE;
    v->code = (cs_span_t){code->display, strlen(code->display)};
    v->kind = ent->kind;
    v->message = msg;
    v->hint = h->codes;
    v->n_hint = h->n;
}

/* Releases of the request's system, other than the one answering, that hold code. */
static size_t s_valid_in(cs_validator_t *vx, const cs_code_t *code,
                         const char **labels)
{
    s_list(vx);
    size_t n = 0;
    size_t slen = strlen(vx->sys->name);
    for (size_t i = 0; i < vx->n_all && n < CS_VALID_IN_MAX; i++) {
        const cs_release_t *r = &vx->all[i];
        cs_entry_t ent;
        if (r->id == vx->rel.id || r->n_maps || strlen(r->system) != slen ||
            memcmp(r->system, vx->sys->name, slen) != 0) {
            continue;
        }
        if (s_find(vx, r->id, code, &ent) == CS_OK) {
            labels[n++] = r->label;
        }
    }
    return n;
}

/* Codes that a loaded conversion table (a map of the system onto itself) gives for code. */
static size_t s_replaced_by(cs_validator_t *vx, const cs_code_t *code,
                            cs_span_t *out)
{
    s_list(vx);
    size_t n = 0;
    for (size_t i = 0; i < vx->n_all; i++) {
        const cs_release_t *r = &vx->all[i];
        for (uint32_t m = 0; r->status == CS_REL_ACTIVE && m < r->n_maps; m++) {
            if (strcmp(r->maps[m].from, vx->sys->name) != 0 ||
                strcmp(r->maps[m].to, vx->sys->name) != 0) {
                continue;
            }
            cs_maps_iter_t it;
            cs_map_hit_t hit;
            int more = cs_maps_first(&it, vx->reader, r->id, (uint8_t)m, code->key,
                                     strlen(code->key), 0, &hit);
            for (; more && n < CS_REPLACED_MAX; more = cs_maps_next(&it, &hit)) {
                int seen = hit.display.len == 0 || s_span_eq(hit.display, (cs_span_t){
                    code->display, strlen(code->display)});
                for (size_t k = 0; k < n && !seen; k++) {
                    seen = s_span_eq(out[k], hit.display);
                }
                if (!seen) {
                    out[n++] = hit.display;
                }
            }
        }
    }
    return n;
}

/* not_effective: why, where the code is valid (buf->labels[0 .. n_labels)), what replaced
 * it. */
static void s_not_effective(cs_validator_t *vx, const cs_code_t *code, const char *why,
                            size_t n_labels, cs_validate_buf_t *buf, cs_validation_t *v)
{
    cs_span_t *repl = buf->replaced_by;
    size_t n_repl = s_replaced_by(vx, code, repl);
    char *msg = buf->message;
    size_t cap = sizeof buf->message;
    const char **labels = buf->labels;
    int len = snprintf(msg, cap, "%s %s", code->display, why);
    for (size_t i = 0; i < n_labels && i < 4 && len > 0 && (size_t)len < cap; i++) {
        len += snprintf(msg + len, cap - (size_t)len, "%s%s",
                        i == 0 ? "; it is a code of release " : ", ", labels[i]);
    }
    for (size_t i = 0; i < n_repl && i < 4 && len > 0 && (size_t)len < cap; i++) {
        len += snprintf(msg + len, cap - (size_t)len, "%s%.*s",
                        i == 0 ? "; replaced by " : ", ", (int)repl[i].len, repl[i].ptr);
    }
    v->reason = CS_REASON_NOT_EFFECTIVE;
    v->code = (cs_span_t){code->display, strlen(code->display)};
    v->message = msg;
    v->valid_in = labels;
    v->n_valid_in = (uint32_t)n_labels;
    v->replaced_by = repl;
    v->n_replaced_by = (uint32_t)n_repl;
}

/* The code is in the release, but the date of service falls outside its own dates (an
 * HCPCS code terminated before the date, or added after it), or, without a date, it ended
 * before its release took effect (the HCPCS 2025 file still lists codes terminated in 2017):
 * the reason, else NULL. */
static const char *s_outside_dates(const cs_validator_t *vx, const cs_entry_t *ent, char *buf,
                                   size_t cap)
{
    char d[11], when[11];
    int after = vx->has_date && ent->valid_to && vx->date > ent->valid_to;
    int before = vx->has_date && ent->valid_from && vx->date < ent->valid_from;
    if (!vx->has_date && ent->valid_to && ent->valid_to < vx->rel.effective_from) {
        cs_date_format(ent->valid_to, d);
        cs_date_format(vx->rel.effective_from, when);
        snprintf(buf, cap, "was terminated on %s, before release %.*s took effect on %s", d,
                 (int)vx->rel.label.len, vx->rel.label.ptr, when);
        return buf;
    }
    if (!after && !before) {
        return NULL; /* the common case: no dates of its own */
    }
    cs_date_format(vx->date, when);
    cs_date_format(after ? ent->valid_to : ent->valid_from, d);
    snprintf(buf, cap, after ? "was terminated on %s, before the date of service %s"
                             : "takes effect on %s, after the date of service %s",
             d, when);
    return buf;
}

/* Not in the answering release: not_effective when another release of the system holds
 * it, else unknown. */
static void s_not_here(cs_validator_t *vx, const cs_code_t *code, cs_validate_buf_t *buf,
                       cs_validation_t *v)
{
    size_t n_labels = s_valid_in(vx, code, buf->labels);
    if (n_labels > 0) {
        char why[160];
        if (vx->has_date) {
            char d[11];
            cs_date_format(vx->date, d);
            snprintf(why, sizeof why, "is not in effect on %s (release %.*s)", d,
                     (int)vx->rel.label.len, vx->rel.label.ptr);
        } else {
            snprintf(why, sizeof why, "is not a code of release %.*s", (int)vx->rel.label.len,
                     vx->rel.label.ptr);
        }
        s_not_effective(vx, code, why, n_labels, buf, v);
        return;
    }
    snprintf(buf->message, 200, "%s is not a code of %s release %.*s", code->display,
             vx->sys->name, (int)vx->rel.label.len, vx->rel.label.ptr);
    v->reason = CS_REASON_UNKNOWN;
    v->code = (cs_span_t){code->display, strlen(code->display)};
    v->message = buf->message;
}

void cs_validate_code(cs_validator_t *vx, cs_str_t input, const cs_code_t *pre,
                      cs_validate_buf_t *buf, cs_validation_t *v)
{
    memset(v, 0, sizeof *v);
    buf->in_release = 0;
    v->input = (cs_span_t){input.ptr, input.len};
    cs_code_t *code = &buf->code;
    if (pre) {
        *code = *pre;
    } else {
        cs_error_clear(&buf->nerr_);
        if (vx->sys->system->normalize(input.ptr, input.len, code, &buf->nerr_) != CS_OK) {
            v->reason = CS_REASON_MALFORMED;
            v->message = buf->nerr_.msg;
            return;
        }
    }
    cs_entry_t ent;
    if (s_find(vx, vx->rel.id, code, &ent) != CS_OK) {
        s_not_here(vx, code, buf, v);
        return;
    }
    buf->in_release = 1;
    char why[160];
    if (s_outside_dates(vx, &ent, why, sizeof why)) {
        size_t n_labels = s_valid_in(vx, code, buf->labels);
        s_not_effective(vx, code, why, n_labels, buf, v);
        return;
    }
    if (!ent.billable) {
        s_not_billable(vx, code, &ent, buf, v);
        return;
    }
    v->code = ent.display;
    v->title = ent.title;
}
