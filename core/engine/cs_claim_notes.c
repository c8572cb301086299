/* cs_claim_notes.c: the edits the ICD-10-CM tabular answers: excludes1, code_first, and
 * manifestation_principal when no MCE list is loaded. Each diagnosis's notes are read once,
 * from its entry and every ancestor up to its chapter, with the codes their texts name. */
#include <stdio.h>
#include <string.h>

#include "engine/cs_claim_int.h"
#include "store/cs_key.h"
#include "store/cs_noterefs.h"

#define S_CHAIN_MAX 12 /* entries from a code up to its chapter (7 in ICD-10-CM) */
#define S_REFS_MAX 64  /* codes one note may name */

static const char s_elsewhere[] = "in diseases classified elsewhere";

static int s_is(cs_span_t s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len == n && memcmp(s.ptr, lit, n) == 0;
}

static int s_contains(cs_span_t s, const char *lit)
{
    return s.len && memmem(s.ptr, s.len, lit, strlen(lit)) != NULL;
}

/* Keep one note of entry ent in the cache, with the n codes refs it names. */
static void s_keep_note(cs_claim_run_t *run, uint8_t type, const cs_entry_t *ent,
                        cs_span_t text, const cs_coderef_t *refs, size_t n)
{
    cs_claim_cache_t *c = &run->cache;
    if (!cs_claim_grow((void **)&c->notes, &c->cap_notes, c->n_notes, sizeof *c->notes)) {
        run->failed = 1;
        return;
    }
    cs_claim_note_t *no = &c->notes[c->n_notes];
    no->type = type;
    no->on_cls = ent->cls;
    no->text = text;
    no->ref_first = c->n_refs;
    no->n_refs = 0;
    cs_claim_copy(no->on, sizeof no->on, ent->display.ptr, ent->display.len);
    for (size_t r = 0; r < n; r++) {
        if (!cs_claim_grow((void **)&c->refs, &c->cap_refs, c->n_refs, sizeof *c->refs)) {
            run->failed = 1;
            return;
        }
        c->refs[c->n_refs++] = refs[r];
        no->n_refs++;
    }
    c->n_notes++;
}

/* The same, parsing the note's text here: a release loaded before references were stored. */
static void s_parse_note(cs_claim_run_t *run, uint8_t type, const cs_entry_t *ent,
                         cs_span_t text)
{
    cs_coderef_t refs[S_REFS_MAX];
    size_t n = cs_coderef_parse(text.ptr, text.len, refs, S_REFS_MAX);
    s_keep_note(run, type, ent, text, refs, n > S_REFS_MAX ? S_REFS_MAX : n);
}

/* A manifestation's title, borrowed from the snapshot's map rather than from a code index:
 * the cache outlives the request, and an index may be dropped after it (cs_codeidx.h), but
 * the map holds still while the cache is kept (cs_claim_cache_begin). Rare: a few hundred
 * codes. */
static cs_span_t s_title_in_map(cs_claim_run_t *run, const cs_claim_centry_t *e)
{
    cs_codeidx_holder_t lmdb_only;
    memset(&lmdb_only, 0, sizeof lmdb_only);
    cs_entry_t ent;
    if (cs_codeidx_entry(&lmdb_only, run->env->reader, run->cm_rel, e->cls, e->key,
                         strlen(e->key), 0, &ent) != CS_OK) {
        return (cs_span_t){0};
    }
    return ent.title;
}

/* What the chain walk needs of an entry's head: its display, parent and manifestation
 * title. */
static void s_entry_head(cs_claim_run_t *run, cs_claim_centry_t *e, const cs_entry_t *ent)
{
    e->found = 1;
    cs_claim_copy(e->display, sizeof e->display, ent->display.ptr, ent->display.len);
    if (ent->parent_cls && ent->parent_key.len > 0 && ent->parent_key.len < sizeof e->parent) {
        e->parent_cls = ent->parent_cls;
        memcpy(e->parent, ent->parent_key.ptr, ent->parent_key.len);
        e->parent[ent->parent_key.len] = '\0';
    }
    if (ent->cls == CS_CLASS_CODE && s_contains(ent->title, s_elsewhere)) {
        e->title = s_title_in_map(run, e);
    }
}

/* 1 if the ICD-10-CM release was loaded with its notes' references stored (asked once a
 * snapshot and release). */
static int s_refs_stored(cs_claim_run_t *run)
{
    cs_claim_cache_t *c = &run->cache;
    if (!c->refs_known || c->refs_rel != run->cm_rel) {
        uint8_t key[4];
        cs_key_put_u32(key, run->cm_rel);
        cs_val_t v;
        c->refs_stored = cs_reader_get(run->env->reader, CS_DB_NOTEREFS, key, sizeof key,
                                       &v) == CS_OK;
        c->refs_rel = run->cm_rel;
        c->refs_known = 1;
    }
    return c->refs_stored;
}

/* Keep the notes of a stored references record (store/cs_noterefs.h) of entry ent. */
static void s_keep_stored(cs_claim_run_t *run, const cs_entry_t *ent, const cs_val_t *v)
{
    const uint8_t *pos = NULL;
    cs_noterefs_note_t no;
    while (cs_noterefs_next(v->data, v->len, &pos, &no)) {
        cs_coderef_t refs[CS_NOTEREFS_MAX];
        const uint8_t *p = no.refs;
        unsigned m = no.n_refs > CS_NOTEREFS_MAX ? CS_NOTEREFS_MAX : no.n_refs;
        for (unsigned r = 0; r < m; r++) {
            cs_noterefs_ref(&p, &refs[r]);
        }
        s_keep_note(run, no.type == CS_NOTEREF_EXCLUDES1 ? CS_CNOTE_EXCLUDES1 : CS_CNOTE_CODE_FIRST,
                    ent, no.text, refs, m);
    }
}

/* Read entry e from the release's stored references: the head from the code index (or
 * LMDB), and one get of the references when the index says the entry has such notes (most
 * entries of a chain have none: a get that finds nothing costs as much as one that does). */
static void s_entry_load_stored(cs_claim_run_t *run, cs_claim_centry_t *e)
{
    cs_entry_t ent;
    unsigned flags = CS_CODEIDX_HAS_REFS; /* without an index: ask LMDB */
    size_t klen = strlen(e->key);
    const cs_codeidx_t *ix = cs_codeidx_holder_get(run->index, run->cm_rel);
    if (ix ? !cs_codeidx_find(ix, e->cls, e->key, klen, &ent, &flags)
           : cs_codeidx_entry(run->index, run->env->reader, run->cm_rel, e->cls, e->key, klen,
                              0, &ent) != CS_OK) {
        return;
    }
    s_entry_head(run, e, &ent);
    e->note_first = run->cache.n_notes;
    uint8_t key[CS_STORE_KEY_MAX];
    size_t n = cs_key_code(key, run->cm_rel, e->cls, e->key, klen);
    cs_val_t v;
    if ((flags & CS_CODEIDX_HAS_REFS) && n &&
        cs_reader_get(run->env->reader, CS_DB_NOTEREFS, key, n, &v) == CS_OK) {
        s_keep_stored(run, &ent, &v);
    }
    e->note_n = run->cache.n_notes - e->note_first;
}

/* Read entry (cls, key) of the ICD-10-CM release into its fresh cache slot: its parent, the
 * notes the edits read, and its title when it is a manifestation's. A release loaded with its
 * notes' references stored is read from them; an older one by reading the whole entry and
 * parsing its notes. */
static void s_entry_load(cs_claim_run_t *run, cs_claim_centry_t *e)
{
    if (s_refs_stored(run)) {
        s_entry_load_stored(run, e);
        return;
    }
    cs_entry_t ent;
    if (cs_codeidx_entry(run->index, run->env->reader, run->cm_rel, e->cls, e->key,
                         strlen(e->key), CS_CODEIDX_HAS_NOTES, &ent) != CS_OK) {
        return;
    }
    s_entry_head(run, e, &ent);
    e->note_first = run->cache.n_notes;
    const uint8_t *pos = ent.notes;
    cs_span_t type, label, text;
    for (uint16_t k = 0; k < ent.n_notes && cs_entry_note_next(&ent, &pos, &type, &label, &text);
         k++) {
        if (s_is(type, "excludes1")) {
            s_parse_note(run, CS_CNOTE_EXCLUDES1, &ent, text);
        } else if (s_is(type, "code_first")) {
            s_parse_note(run, CS_CNOTE_CODE_FIRST, &ent, text);
        }
    }
    e->note_n = run->cache.n_notes - e->note_first;
}

/* Append a cached entry's notes to the claim's, for line inf; and its manifestation title. */
static void s_take(cs_claim_run_t *run, cs_claim_lineinfo_t *inf, const cs_claim_centry_t *e)
{
    for (uint32_t k = e->note_first; k < e->note_first + e->note_n; k++) {
        if (!cs_claim_grow((void **)&run->notes, &run->cap_notes, run->n_notes,
                           sizeof *run->notes)) {
            run->failed = 1;
            return;
        }
        run->notes[run->n_notes++] = run->cache.notes[k];
    }
    if (!inf->manif_title && e->title.len) {
        inf->manif_title = 1;
        cs_claim_strcpy(inf->manif_on, sizeof inf->manif_on, e->display);
        inf->manif_text = e->title;
    }
}

void cs_claim_collect_notes(cs_claim_run_t *run)
{
    run->n_notes = 0;
    for (uint32_t i = 0; i < run->claim->n_dx; i++) {
        cs_claim_lineinfo_t *inf = &run->info[i];
        inf->note_first = run->n_notes;
        uint8_t cls = inf->code.cls;
        char key[CS_CODE_MAX];
        memcpy(key, inf->code.key, sizeof key); /* both CS_CODE_MAX, NUL-terminated */
        cs_claim_cache_t *c = &run->cache;
        uint32_t child = 0; /* the entry below, c->ents[child - 1]; 0 at the code itself */
        for (int depth = 0; inf->found && depth < S_CHAIN_MAX; depth++) {
            /* up a chain met before: by position, not by hashing the parent's key */
            uint32_t up = child ? c->ents[child - 1].parent_pos : 0;
            cs_claim_centry_t *e = up ? &c->ents[up - 1] : NULL;
            if (!e) {
                int fresh = 0;
                e = cs_claim_cache_get(c, CS_CENTRY_ENTRY, run->cm_rel, cls, key, &fresh);
                if (!e) {
                    run->failed = 1;
                    break;
                }
                if (fresh) {
                    s_entry_load(run, e);
                }
                if (child) {
                    c->ents[child - 1].parent_pos = (uint32_t)(e - c->ents) + 1;
                }
            }
            if (!e->found) {
                break;
            }
            s_take(run, inf, e);
            if (!e->parent_cls) {
                break;
            }
            child = (uint32_t)(e - c->ents) + 1;
            cls = e->parent_cls;
            memcpy(key, e->parent, sizeof key);
        }
        inf->note_n = run->n_notes - inf->note_first;
    }
}

/* The first note of type on line i that names the code of line j (key length klen), or
 * NULL. */
static const cs_claim_note_t *s_naming(const cs_claim_run_t *run, uint32_t i, uint8_t type,
                                       uint32_t j, size_t klen)
{
    const cs_claim_lineinfo_t *a = &run->info[i];
    const char *key = run->info[j].code.key;
    const cs_coderef_t *refs = run->cache.refs;
    for (uint32_t k = a->note_first; k < a->note_first + a->note_n; k++) {
        const cs_claim_note_t *no = &run->notes[k];
        if (no->type != type) {
            continue;
        }
        for (uint32_t r = no->ref_first; r < no->ref_first + no->n_refs; r++) {
            if (cs_coderef_match(&refs[r], key, klen)) {
                return no;
            }
        }
    }
    return NULL;
}

#define S_ANY_LETTER 0xFFFFFFFFu

/* The first letters the codes named by line i's Excludes1 notes may start with (bit k:
 * 'A' + k), so that a pair whose codes cannot match is passed over without reading the
 * notes (cs_coderef_match answers 0 for a key whose first letter lies outside a
 * reference's); S_ANY_LETTER when a reference does not start with a capital letter. */
static uint32_t s_letters(const cs_claim_run_t *run, uint32_t i)
{
    const cs_claim_lineinfo_t *a = &run->info[i];
    const cs_coderef_t *refs = run->cache.refs;
    uint32_t m = 0;
    for (uint32_t k = a->note_first; k < a->note_first + a->note_n; k++) {
        const cs_claim_note_t *no = &run->notes[k];
        for (uint32_t r = no->ref_first; no->type == CS_CNOTE_EXCLUDES1 &&
                                         r < no->ref_first + no->n_refs; r++) {
            char lo = refs[r].lo[0], hi = refs[r].hi[0];
            if (lo < 'A' || hi > 'Z' || lo > hi) {
                return S_ANY_LETTER;
            }
            m |= ((2u << (hi - 'A')) - 1u) & ~((1u << (lo - 'A')) - 1u);
        }
    }
    return m;
}

/* May line i's notes name a code starting with key's first letter? */
static int s_may_name(uint32_t letters, const char *key)
{
    unsigned k = (unsigned)(unsigned char)key[0] - 'A';
    return k >= 26 || ((letters >> k) & 1u);
}

void cs_claim_excludes1(cs_claim_run_t *run)
{
    const cs_claim_t *c = run->claim;
    size_t klen[CS_CLAIM_MAX_DX]; /* each pair asks both ways: the lengths once */
    uint32_t letters[CS_CLAIM_MAX_DX];
    for (uint32_t i = 0; i < c->n_dx; i++) {
        klen[i] = strlen(run->info[i].code.key);
        letters[i] = s_letters(run, i);
    }
    for (uint32_t i = 0; i < c->n_dx; i++) {
        for (uint32_t j = i + 1; j < c->n_dx && run->info[i].found; j++) {
            if (!run->info[j].found || (klen[i] == klen[j] &&
                                        memcmp(run->info[i].code.key, run->info[j].code.key,
                                               klen[i]) == 0)) {
                continue; /* a repeat is duplicate_code's */
            }
            const cs_claim_note_t *no =
                s_may_name(letters[i], run->info[j].code.key)
                    ? s_naming(run, i, CS_CNOTE_EXCLUDES1, j, klen[j])
                    : NULL;
            uint32_t by = i, named = j;
            if (!no && s_may_name(letters[j], run->info[i].code.key)) {
                no = s_naming(run, j, CS_CNOTE_EXCLUDES1, i, klen[i]);
                by = j;
                named = i;
            }
            if (!no) {
                continue;
            }
            uint32_t ln[2] = {i, j};
            cs_claim_edit_t *e = cs_claim_add_edit(
                run, "excludes1", CS_SEV_WARNING, ln, 2,
                "%s excludes %s: the Excludes1 note at %s reads \"%.*s\"; report both only "
                "when the conditions are unrelated",
                run->info[by].code.display, run->info[named].code.display, no->on,
                (int)(no->text.len > 300 ? 300 : no->text.len), no->text.ptr);
            cs_claim_source(e, "icd10cm", run->cm_label, "note", "excludes1", no->on,
                            no->text.ptr, no->text.len, 0);
        }
    }
}

/* The principal diagnosis's first "code first" note on the code or its category (not a
 * block's or chapter's, which speak of whole groups), or NULL. */
static const cs_claim_note_t *s_code_first_note(const cs_claim_run_t *run, uint32_t i)
{
    const cs_claim_lineinfo_t *a = &run->info[i];
    for (uint32_t k = a->note_first; k < a->note_first + a->note_n; k++) {
        if (run->notes[k].type == CS_CNOTE_CODE_FIRST && run->notes[k].on_cls == CS_CLASS_CODE) {
            return &run->notes[k];
        }
    }
    return NULL;
}

void cs_claim_manifestation_tabular(cs_claim_run_t *run)
{
    const cs_claim_lineinfo_t *p = &run->info[0];
    if (!p->found) {
        return;
    }
    uint32_t l0 = 0;
    if (p->manif_title) {
        cs_claim_edit_t *e = cs_claim_add_edit(
            run, "manifestation_principal", CS_SEV_ERROR, &l0, 1,
            "%s is a manifestation (%s: \"%.*s\"): it cannot be the principal diagnosis; list "
            "the underlying condition first",
            p->code.display, p->manif_on, (int)p->manif_text.len, p->manif_text.ptr);
        cs_claim_source(e, "icd10cm", run->cm_label, "title", "title", p->manif_on,
                        p->manif_text.ptr, p->manif_text.len, 0);
        return;
    }
    const cs_claim_note_t *no = s_code_first_note(run, 0);
    if (no) {
        cs_claim_edit_t *e = cs_claim_add_edit(
            run, "manifestation_principal", CS_SEV_WARNING, &l0, 1,
            "%s has a \"code first\" note at %s (\"%.*s\"): the condition it names should be "
            "listed before it, so it should not be the principal diagnosis",
            p->code.display, no->on, (int)(no->text.len > 300 ? 300 : no->text.len),
            no->text.ptr);
        cs_claim_source(e, "icd10cm", run->cm_label, "note", "code_first", no->on,
                        no->text.ptr, no->text.len, 0);
    }
}

/* Does any line before k match a code the note names? */
static int s_named_before(const cs_claim_run_t *run, const cs_claim_note_t *no, uint32_t k)
{
    for (uint32_t i = 0; i < k; i++) {
        const cs_claim_lineinfo_t *b = &run->info[i];
        if (!b->found) {
            continue;
        }
        for (uint32_t r = no->ref_first; r < no->ref_first + no->n_refs; r++) {
            if (cs_coderef_match(&run->cache.refs[r], b->code.key, strlen(b->code.key))) {
                return 1;
            }
        }
    }
    return 0;
}

/* A diagnosis with "code first" notes that name codes, none of which is listed before it.
 * A note that says "if applicable" asks for its codes only when the claim has such a
 * condition, which the codes alone cannot tell: it is left out. The principal is left to
 * manifestation_principal when that edit fired on it. */
void cs_claim_code_first(cs_claim_run_t *run)
{
    for (uint32_t k = 0; k < run->claim->n_dx; k++) {
        const cs_claim_lineinfo_t *a = &run->info[k];
        if (!a->found || (k == 0 && cs_claim_has_edit(run, "manifestation_principal", 0))) {
            continue;
        }
        const cs_claim_note_t *first = NULL;
        int met = 0;
        for (uint32_t n = a->note_first; n < a->note_first + a->note_n && !met; n++) {
            const cs_claim_note_t *no = &run->notes[n];
            if (no->type != CS_CNOTE_CODE_FIRST || no->n_refs == 0 ||
                s_contains(no->text, "if applicable")) {
                continue; /* "code first, if applicable, ...": only when there is one */
            }
            first = first ? first : no;
            met = s_named_before(run, no, k);
        }
        if (!first || met) {
            continue;
        }
        cs_claim_edit_t *e = cs_claim_add_edit(
            run, "code_first", CS_SEV_WARNING, &k, 1,
            "%s: the \"code first\" note at %s reads \"%.*s\", and none of the codes it names "
            "is listed before it: list the underlying condition first",
            a->code.display, first->on, (int)(first->text.len > 300 ? 300 : first->text.len),
            first->text.ptr);
        cs_claim_source(e, "icd10cm", run->cm_label, "note", "code_first", first->on,
                        first->text.ptr, first->text.len, 0);
    }
}
