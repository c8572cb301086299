/* cs_noterefs.c: the stored references of an entry's notes (store/cs_noterefs.h). */
#include "store/cs_noterefs.h"

#include <string.h>

static uint8_t s_type(const char *type)
{
    if (!type) {
        return 0;
    }
    return strcmp(type, "excludes1") == 0    ? CS_NOTEREF_EXCLUDES1
           : strcmp(type, "code_first") == 0 ? CS_NOTEREF_CODE_FIRST
                                             : 0;
}

static void s_ref(cs_buf_t *b, const char *s, uint8_t len)
{
    cs_buf_u8(b, len);
    for (uint8_t i = 0; i < len; i++) {
        cs_buf_u8(b, (unsigned char)s[i]);
    }
}

int cs_noterefs_encode(cs_buf_t *b, const cs_record_t *rec)
{
    cs_buf_reset(b);
    size_t n = 0;
    for (size_t i = 0; i < rec->n_notes; i++) {
        n += s_type(rec->notes[i].type) != 0;
    }
    if (n == 0) {
        return CS_OK;
    }
    cs_buf_u8(b, CS_NOTEREFS_VERSION);
    cs_buf_u8(b, (unsigned)(n > 255 ? 255 : n));
    size_t done = 0;
    for (size_t i = 0; i < rec->n_notes && done < 255 && !b->failed; i++) {
        uint8_t type = s_type(rec->notes[i].type);
        if (!type) {
            continue;
        }
        done++;
        cs_buf_u8(b, type);
        size_t at = b->len;
        cs_buf_str(b, rec->notes[i].text, 1); /* the bytes the entry keeps, cut alike */
        if (b->failed) {
            break;
        }
        size_t tlen = (size_t)b->data[at] << 8 | b->data[at + 1];
        cs_coderef_t refs[CS_NOTEREFS_MAX];
        size_t m = cs_coderef_parse((const char *)b->data + at + 2, tlen, refs, CS_NOTEREFS_MAX);
        m = m > CS_NOTEREFS_MAX ? CS_NOTEREFS_MAX : m;
        cs_buf_u8(b, (unsigned)m);
        for (size_t r = 0; r < m; r++) {
            s_ref(b, refs[r].lo, refs[r].lo_len);
            s_ref(b, refs[r].hi, refs[r].hi_len);
        }
    }
    return b->failed ? CS_ENOMEM : CS_OK;
}

/* 1 if a reference (u8 + at most CS_CODEREF_KEY-1 bytes) fits in [*p, end); steps past it. */
static int s_skip_key(const uint8_t **p, const uint8_t *end)
{
    if (*p >= end || **p >= CS_CODEREF_KEY || (size_t)(end - *p) < 1u + **p) {
        return 0;
    }
    *p += 1 + **p;
    return 1;
}

int cs_noterefs_next(const uint8_t *val, size_t len, const uint8_t **pos,
                     cs_noterefs_note_t *out)
{
    const uint8_t *end = val + len;
    if (!*pos) {
        if (len < 2 || val[0] != CS_NOTEREFS_VERSION) {
            return 0;
        }
        *pos = val + 2;
    }
    const uint8_t *p = *pos;
    if (end - p < 3) {
        return 0;
    }
    out->type = p[0];
    size_t tlen = (size_t)p[1] << 8 | p[2];
    p += 3;
    if ((size_t)(end - p) < tlen + 1) {
        return 0;
    }
    out->text.ptr = (const char *)p;
    out->text.len = tlen;
    p += tlen;
    out->n_refs = *p++;
    out->refs = p;
    for (unsigned r = 0; r < out->n_refs; r++) {
        if (!s_skip_key(&p, end) || !s_skip_key(&p, end)) {
            return 0;
        }
    }
    *pos = p;
    return 1;
}

void cs_noterefs_ref(const uint8_t **p, cs_coderef_t *out)
{
    memset(out, 0, sizeof *out);
    out->lo_len = (*p)[0];
    memcpy(out->lo, *p + 1, out->lo_len);
    *p += 1 + out->lo_len;
    out->hi_len = (*p)[0];
    memcpy(out->hi, *p + 1, out->hi_len);
    *p += 1 + out->hi_len;
}
