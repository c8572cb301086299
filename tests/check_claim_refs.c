/* check_claim_refs.c: the codes an Excludes1 or "code first" note names, parsed when the
 * ICD-10-CM tabular is loaded and stored with the release (store/cs_noterefs.h). On the
 * official FY2021 release: every stored record holds the notes the entry holds, with the
 * same text and the references cs_coderef_parse reads from it; and a release without them
 * (as loaded before they were stored) gives claims the same edits, parsing as it goes; and
 * purging the release removes them. */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "cs_daemon.h"
#include "cs_test.h"
#include "engine/cs_claim.h"
#include "store/cs_catalog.h"
#include "store/cs_key.h"
#include "store/cs_noterefs.h"
#include "util/cs_coderef.h"

#define T_LOAD_MS 600000
#define T_CODES 400 /* codes with notes the fallback test builds claims of */

static cs_daemon_t s_d;
static int s_have;

static void s_setup(void)
{
    char tab[PATH_MAX], ord[PATH_MAX];
    s_have = cs_test_data_path("icd10cm/2021/icd10cm_tabular_2021.xml", tab, sizeof tab) &&
             cs_test_data_path("icd10cm/2021/icd10cm_order_2021.txt", ord, sizeof ord);
    if (!s_have) {
        return;
    }
    memset(&s_d, 0, sizeof s_d);
    ck_assert_int_eq(cs_daemon_start(&s_d, NULL), 0);
    cs_tclient_t *admin = cs_tclient_new(s_d.admin_ep);
    const char *files[] = {tab, ord};
    char state[64];
    const msgpack_object *r = cs_daemon_load(&s_d, admin, NULL, "2021", "2020-10-01", files, 2,
                                             state, sizeof state, T_LOAD_MS);
    ck_assert_msg(r && strcmp(state, "done") == 0, "load 2021: %s", state);
    cs_tclient_destroy(&admin);
    /* The tests read the store in their own process, and one writes to it: no broker. */
    cs_daemon_stop(&s_d);
}

static void s_teardown(void)
{
    if (s_have) {
        cs_daemon_cleanup(&s_d);
    }
}

static uint32_t s_release(cs_reader_t *r)
{
    cs_resolved_t res;
    ck_assert_int_eq(cs_reader_begin(r), CS_OK);
    ck_assert_int_eq(cs_catalog_by_label(r, "icd10cm", 7, "2021", 4, &res), CS_OK);
    cs_reader_end(r);
    return res.id;
}

static int s_type(cs_span_t t)
{
    return t.len == 9 && memcmp(t.ptr, "excludes1", 9) == 0     ? CS_NOTEREF_EXCLUDES1
           : t.len == 10 && memcmp(t.ptr, "code_first", 10) == 0 ? CS_NOTEREF_CODE_FIRST
                                                                 : 0;
}

/* Compare entry ent's notes with its stored record (v, or NULL when it has none); count the
 * notes and references compared. */
static void s_compare(const cs_entry_t *ent, const cs_val_t *v, long *notes, long *refs)
{
    const uint8_t *pos = ent->notes, *rpos = NULL;
    cs_span_t type, label, text;
    for (uint16_t k = 0; k < ent->n_notes && cs_entry_note_next(ent, &pos, &type, &label, &text);
         k++) {
        int t = s_type(type);
        if (!t) {
            continue;
        }
        cs_noterefs_note_t no;
        ck_assert_msg(v && cs_noterefs_next(v->data, v->len, &rpos, &no),
                      "%.*s: a note with no stored references", (int)ent->display.len,
                      ent->display.ptr);
        ck_assert_int_eq(no.type, t);
        ck_assert(no.text.len == text.len && memcmp(no.text.ptr, text.ptr, text.len) == 0);
        cs_coderef_t want[CS_NOTEREFS_MAX], got;
        size_t n = cs_coderef_parse(text.ptr, text.len, want, CS_NOTEREFS_MAX);
        n = n > CS_NOTEREFS_MAX ? CS_NOTEREFS_MAX : n;
        ck_assert_uint_eq(no.n_refs, n);
        const uint8_t *p = no.refs;
        for (size_t r = 0; r < n; r++) {
            cs_noterefs_ref(&p, &got);
            ck_assert_str_eq(got.lo, want[r].lo);
            ck_assert_str_eq(got.hi, want[r].hi);
            ck_assert_uint_eq(got.lo_len, want[r].lo_len);
            ck_assert_uint_eq(got.hi_len, want[r].hi_len);
        }
        (*notes)++;
        *refs += (long)n;
    }
    cs_noterefs_note_t extra;
    ck_assert_msg(!v || !cs_noterefs_next(v->data, v->len, &rpos, &extra),
                  "%.*s: more stored notes than the entry has", (int)ent->display.len,
                  ent->display.ptr);
}

START_TEST(test_stored_refs_match_parse)
{
    CS_SKIP_UNLESS_DATA(s_have, "the ICD-10-CM FY2021 files");
    cs_error_t err;
    cs_store_t *st = cs_store_open_ex(s_d.db, 0, 0, CS_STORE_RDONLY, &err);
    ck_assert_ptr_nonnull(st);
    cs_reader_t *r = cs_reader_new(st, &err);
    ck_assert_ptr_nonnull(r);
    uint32_t id = s_release(r);
    uint8_t prefix[4], key[CS_STORE_KEY_MAX];
    cs_key_put_u32(prefix, id);
    ck_assert_int_eq(cs_reader_begin(r), CS_OK);
    cs_val_t k, v, nv;
    ck_assert_int_eq(cs_reader_get(r, CS_DB_NOTEREFS, prefix, 4, &nv), CS_OK); /* the mark */
    long entries = 0, notes = 0, refs = 0;
    for (int rc = cs_reader_seek(r, CS_DB_CODES, prefix, 4, &k, &v);
         rc == CS_OK && k.len > 4 && memcmp(k.data, prefix, 4) == 0;
         rc = cs_reader_next(r, CS_DB_CODES, &k, &v)) {
        cs_entry_t ent;
        ck_assert_int_eq(cs_entry_decode(v.data, v.len, &ent), CS_OK);
        memcpy(key, k.data, k.len);
        /* the entry's value stays borrowed: LMDB values of a snapshot do not move */
        int has = cs_reader_get(r, CS_DB_NOTEREFS, key, k.len, &nv) == CS_OK;
        s_compare(&ent, has ? &nv : NULL, &notes, &refs);
        entries++;
        /* the CODES cursor was not moved by a get on another database */
    }
    cs_reader_end(r);
    fprintf(stderr, "FY2021 stored note references: %ld entries, %ld Excludes1 and code-first "
            "notes, %ld references, each the parse of the entry's note\n", entries, notes,
            refs);
    ck_assert_int_gt(entries, 90000);
    ck_assert_int_gt(notes, 5000);
    cs_reader_destroy(&r);
    cs_store_destroy(&st);
}
END_TEST

/* Claims of codes with notes, each with the codes its first note names: their edits as one
 * FNV-1a digest; *n_edits counts them. */
static uint64_t s_claims_digest(cs_store_t *st, long *n_edits)
{
    cs_error_t err;
    cs_reader_t *r = cs_reader_new(st, &err);
    ck_assert_ptr_nonnull(r);
    cs_plugin_host_t *plugins = cs_plugin_host_new();
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/plugins", cs_test_build_dir());
    size_t np = 0;
    ck_assert_int_eq(cs_plugin_host_load_dir(plugins, dir, &np, &err), CS_OK);
    static const char *const codes[] = {"E10.9", "E11.9", "O24.419", "E08.9", "E13.9",
                                        "I10",   "I11.9", "J45.909", "J44.9", "F32.9",
                                        "F33.9", "G30.9", "F02.80",  "N18.6", "I12.0",
                                        "K50.90", "K51.90", "M05.9",  "M06.9", "E66.9"};
    cs_claim_result_t res;
    cs_claim_result_init(&res);
    uint64_t h = 0xcbf29ce484222325ULL;
    *n_edits = 0;
    size_t nc = sizeof codes / sizeof codes[0];
    for (size_t a = 0; a < nc; a++) {
        cs_claim_dx_t dx[CS_CLAIM_MAX_DX];
        memset(dx, 0, sizeof dx);
        uint32_t n = 0;
        for (size_t b = 0; b < nc; b++) {
            const char *c = codes[(a + b) % nc];
            dx[n++].code = (cs_str_t){c, (uint32_t)strlen(c)};
        }
        cs_claim_t c = {.date = 20210301, .setting = CS_SETTING_OUTPATIENT, .dx = dx,
                        .n_dx = n};
        ck_assert_int_eq(cs_reader_begin(r), CS_OK);
        cs_claim_env_t env = {.reader = r, .plugins = plugins};
        ck_assert_int_eq(cs_claim_check(&env, &c, &res), CS_PERR_NONE);
        cs_reader_end(r);
        for (uint32_t i = 0; i < res.n_edits; i++) {
            const cs_claim_edit_t *e = &res.edits[i];
            for (const char *p = e->message; *p; p++) {
                h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
            }
            for (uint32_t l = 0; l < e->n_lines; l++) {
                h = (h ^ e->lines[l]) * 0x100000001b3ULL;
            }
            *n_edits += strcmp(e->edit, "excludes1") == 0;
        }
    }
    cs_claim_result_fini(&res);
    cs_reader_destroy(&r);
    cs_plugin_host_destroy(&plugins);
    return h;
}

/* A release loaded before references were stored has no mark: take FY2021's away and the
 * same claims give the same edits. Runs last (it changes the shared release). */
START_TEST(test_release_without_refs_parses)
{
    CS_SKIP_UNLESS_DATA(s_have, "the ICD-10-CM FY2021 files");
    cs_error_t err;
    cs_store_t *st = cs_store_open_ex(s_d.db, 0, 0, CS_STORE_RDONLY, &err);
    ck_assert_ptr_nonnull(st);
    long with = 0, without = 0;
    uint64_t d1 = s_claims_digest(st, &with);
    cs_reader_t *r = cs_reader_new(st, &err);
    uint32_t id = s_release(r);
    cs_reader_destroy(&r);
    cs_store_destroy(&st);

    st = cs_store_open(s_d.db, 0, 0, &err);
    ck_assert_msg(st != NULL, "open: %s", err.msg);
    cs_writer_t *w = cs_writer_new(st, &err);
    ck_assert_ptr_nonnull(w);
    uint8_t mark[4];
    cs_key_put_u32(mark, id);
    ck_assert_int_eq(cs_writer_del(w, CS_DB_NOTEREFS, mark, sizeof mark), CS_OK);
    ck_assert_int_eq(cs_writer_commit(w, &err), CS_OK);
    cs_writer_destroy(&w);
    uint64_t d2 = s_claims_digest(st, &without);
    cs_store_destroy(&st);
    fprintf(stderr, "claims with stored references and without: %ld and %ld excludes1 edits, "
            "digests %016llx %016llx\n", with, without, (unsigned long long)d1,
            (unsigned long long)d2);
    ck_assert_int_gt(with, 10);
    ck_assert_int_eq(with, without);
    ck_assert(d1 == d2);
}
END_TEST

/* Purging the release (what drop and a replacing load do) takes its references with it. */
START_TEST(test_purge_removes_refs)
{
    CS_SKIP_UNLESS_DATA(s_have, "the ICD-10-CM FY2021 files");
    cs_error_t err;
    cs_store_t *st = cs_store_open(s_d.db, 0, 0, &err);
    ck_assert_msg(st != NULL, "open: %s", err.msg);
    cs_reader_t *r = cs_reader_new(st, &err);
    uint32_t id = s_release(r);
    uint8_t prefix[4];
    cs_key_put_u32(prefix, id);
    cs_val_t k, v;
    ck_assert_int_eq(cs_reader_begin(r), CS_OK);
    int before = cs_reader_seek(r, CS_DB_NOTEREFS, prefix, 4, &k, &v) == CS_OK &&
                 k.len > 4 && memcmp(k.data, prefix, 4) == 0;
    cs_reader_end(r);
    ck_assert(before);
    cs_writer_t *w = cs_writer_new(st, &err);
    ck_assert_ptr_nonnull(w);
    ck_assert_int_eq(cs_catalog_purge(w, id, &err), CS_OK);
    cs_writer_destroy(&w);
    ck_assert_int_eq(cs_reader_begin(r), CS_OK);
    int rc = cs_reader_seek(r, CS_DB_NOTEREFS, prefix, 4, &k, &v);
    ck_assert(rc != CS_OK || k.len < 4 || memcmp(k.data, prefix, 4) != 0);
    cs_reader_end(r);
    cs_reader_destroy(&r);
    cs_store_destroy(&st);
}
END_TEST

Suite *cs_claim_refs_suite(void);
Suite *cs_claim_refs_suite(void)
{
    Suite *s = suite_create("claim_refs");
    TCase *tc = tcase_create("fy2021");
    tcase_set_timeout(tc, 900);
    tcase_add_unchecked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_stored_refs_match_parse);
    tcase_add_test(tc, test_release_without_refs_parses);
    tcase_add_test(tc, test_purge_removes_refs);
    suite_add_tcase(s, tc);
    return s;
}
