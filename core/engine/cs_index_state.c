/* cs_index_state.c: a code of an index row checked in the ICD-10-CM tabular (cs_index.h,
 * cs_index_ix.h): billable, a header with the billable codes under it, a code that needs its
 * 7th character and which ones apply, one written with a final '-', no code, or unknown. */
#include <string.h>

#include "engine/cs_index_ix.h"
#include "store/cs_key.h"

const char *cs_index_state_name(cs_index_state_t s)
{
    static const char *const n[] = {"none", "billable", "header", "needs_7th", "needs_more",
                                    "unknown"};
    return (unsigned)s < sizeof n / sizeof n[0] ? n[s] : "unknown";
}

/* ---- a code's state in the tabular ---- */

/* Read the billable codes below key (storage form) in the tabular: hints, and whether all
 * are key, X's up to 6 characters, and one 7th character (chars collects those). */
static void s_scan_under(cs_ix_t *ix, const char *key, size_t klen, cs_index_code_t *c,
                         int *all_7th)
{
    uint8_t k[CS_KEY_MAX];
    size_t kl = cs_key_code(k, ix->tab, CS_CLASS_CODE, key, klen);
    cs_val_t kk, v;
    int rc = kl ? cs_reader_seek(ix->r, CS_DB_CODES, k, kl, &kk, &v) : CS_ENOTFOUND;
    size_t n_chars = 0, read = 0;
    *all_7th = 1;
    for (; rc == CS_OK && read < CS_INDEX_SCAN_MAX; rc = cs_reader_next(ix->r, CS_DB_CODES, &kk,
                                                                        &v), read++) {
        uint32_t rel;
        uint8_t cls;
        const char *code;
        size_t cl;
        if (cs_key_code_split(kk.data, kk.len, &rel, &cls, &code, &cl) != 0 || rel != ix->tab ||
            cls != CS_CLASS_CODE || cl < klen || memcmp(code, key, klen) != 0) {
            return;
        }
        cs_entry_t e;
        if (cl == klen || cs_entry_decode_head(v.data, v.len, &e) != CS_OK || !e.billable) {
            continue;
        }
        c->n_under++;
        if (c->n_hint < CS_INDEX_HINT_MAX) {
            c->hint[c->n_hint++] = cs_ix_dup_span(ix->res, e.display);
        }
        int seventh = cl == 7;
        for (size_t i = klen; seventh && i < 6; i++) {
            seventh = code[i] == 'X';
        }
        if (!seventh) {
            *all_7th = 0;
        } else if (!memchr(c->chars, code[6], n_chars) && n_chars + 1 < sizeof c->chars) {
            c->chars[n_chars++] = code[6];
        }
    }
    if (read >= CS_INDEX_SCAN_MAX) {
        *all_7th = 0; /* not all were read */
    }
}

/* The display form of key padded with X to 6 characters, as the icd10cm plugin writes it. */
static const char *s_placeholder(cs_ix_t *ix, const char *key, size_t klen)
{
    char padded[8];
    memcpy(padded, key, klen);
    for (size_t i = klen; i < 6; i++) {
        padded[i] = 'X';
    }
    cs_code_t out;
    cs_error_t err;
    if (ix->cm->normalize(padded, 6, &out, &err) != CS_OK) {
        return NULL;
    }
    return cs_ix_dup(ix->res, out.display, strlen(out.display));
}

void cs_ix_code_state(cs_ix_t *ix, cs_index_code_t *c)
{
    size_t n = strlen(c->text);
    if (cs_index_cell_empty(c->text, n)) {
        c->state = CS_INDEX_NO_CODE;
        return;
    }
    c->state = CS_INDEX_UNKNOWN;
    int more = c->text[n - 1] == '-';
    size_t len = n;
    while (more && len > 0 && (c->text[len - 1] == '-' || c->text[len - 1] == '.')) {
        len--;
    }
    cs_code_t code;
    cs_error_t err;
    if (!ix->cm || !ix->tab || len == 0 || ix->cm->normalize(c->text, len, &code, &err) != CS_OK) {
        c->state = more ? CS_INDEX_NEEDS_MORE : CS_INDEX_UNKNOWN;
        return;
    }
    size_t klen = strlen(code.key);
    cs_entry_t e;
    int found = cs_ix_get(ix, ix->tab, CS_CLASS_CODE, code.key, klen, &e, 1) == CS_OK;
    if (found) {
        c->code = cs_ix_dup_span(ix->res, e.display);
        c->title = cs_ix_dup_span(ix->res, e.title);
        if (e.billable && !more) {
            c->state = CS_INDEX_BILLABLE;
            return;
        }
    }
    int all_7th = 0;
    s_scan_under(ix, code.key, klen, c, &all_7th);
    if (more) {
        c->state = CS_INDEX_NEEDS_MORE;
    } else if (c->n_under == 0) {
        c->state = found ? CS_INDEX_HEADER : CS_INDEX_UNKNOWN;
    } else if (all_7th && c->chars[0]) {
        c->state = CS_INDEX_NEEDS_7TH;
        c->placeholder = klen < 6 ? s_placeholder(ix, code.key, klen) : NULL;
        if (!found) {
            c->code = cs_ix_dup(ix->res, code.display, strlen(code.display));
        }
    } else {
        c->state = CS_INDEX_HEADER;
    }
    if (c->state != CS_INDEX_NEEDS_7TH) {
        c->chars[0] = '\0';
    }
}
