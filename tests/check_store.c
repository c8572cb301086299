/* check_store.c: the key codec, entry records, the LMDB store and the release catalog. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cs_test.h"
#include "store/cs_catalog.h"
#include "store/cs_entry.h"
#include "store/cs_key.h"
#include "store/cs_store.h"

/* ---- key codec ---- */

START_TEST(test_key_order_is_numeric)
{
    uint8_t a[CS_KEY_MAX], b[CS_KEY_MAX];
    size_t na = cs_key_code(a, 255, CS_CLASS_CODE, "E119", 4);
    size_t nb = cs_key_code(b, 256, CS_CLASS_CODE, "A000", 4);
    ck_assert_uint_eq(na, 9);
    ck_assert_uint_eq(nb, 9);
    ck_assert_int_lt(memcmp(a, b, 9), 0); /* release 255 sorts before 256 */
    uint32_t rel;
    uint8_t cls;
    const char *code;
    size_t len;
    ck_assert_int_eq(cs_key_code_split(a, na, &rel, &cls, &code, &len), 0);
    ck_assert_uint_eq(rel, 255);
    ck_assert_uint_eq(cls, CS_CLASS_CODE);
    ck_assert_uint_eq(len, 4);
    ck_assert(memcmp(code, "E119", 4) == 0);
    ck_assert_int_eq(cs_key_code_split(a, 4, &rel, &cls, &code, &len), -1);
    char long_code[100];
    memset(long_code, 'A', sizeof long_code);
    ck_assert_uint_eq(cs_key_code(a, 1, CS_CLASS_CODE, long_code, sizeof long_code), 0);
    ck_assert_uint_eq(cs_key_children(a, 1, CS_CLASS_CODE, long_code, 60), 0);
}
END_TEST

START_TEST(test_key_children_sort_by_order)
{
    uint8_t a[CS_KEY_MAX], b[CS_KEY_MAX], p[CS_KEY_MAX];
    size_t na = cs_key_child(a, 7, CS_CLASS_CODE, "E11", 3, 2, 900);
    size_t nb = cs_key_child(b, 7, CS_CLASS_CODE, "E11", 3, 10, 1);
    size_t np = cs_key_children(p, 7, CS_CLASS_CODE, "E11", 3);
    ck_assert_uint_eq(na, nb);
    ck_assert_int_lt(memcmp(a, b, na), 0);
    ck_assert(memcmp(a, p, np) == 0);
    /* E11's children prefix does not cover E110's children */
    uint8_t c[CS_KEY_MAX];
    size_t nc = cs_key_child(c, 7, CS_CLASS_CODE, "E110", 4, 1, 1);
    ck_assert(nc < np || memcmp(c, p, np) != 0);
}
END_TEST

/* ---- entry records ---- */

START_TEST(test_entry_round_trip)
{
    cs_note_t notes[] = {
        {"inclusion_terms", NULL, "Classical cholera"},
        {"seven_chr_def", "A", "initial encounter"},
        {"seven_chr_def", "D", "subsequent encounter"},
    };
    const char *terms[] = {"cholera", "vibrio"};
    cs_record_t rec = {
        .struct_size = sizeof rec, .system = "icd10cm", .cls = CS_CLASS_CODE,
        .code = "A00.0", .kind = "code", .billable = 1, .title = "Cholera due to Vibrio",
        .short_title = "Cholera d/t vib", .parent_cls = CS_CLASS_CODE, .parent = "A00",
        .notes = notes, .n_notes = 3, .terms = terms, .n_terms = 2,
    };
    cs_code_t self = {CS_CLASS_CODE, "A000", "A00.0"};
    cs_code_t parent = {CS_CLASS_CODE, "A00", "A00"};
    cs_buf_t buf = {0};
    ck_assert_int_eq(cs_entry_encode(&buf, &rec, &self, &parent), CS_OK);
    cs_entry_t e;
    ck_assert_int_eq(cs_entry_decode(buf.data, buf.len, &e), CS_OK);
    ck_assert_int_eq(e.billable, 1);
    ck_assert(e.display.len == 5 && memcmp(e.display.ptr, "A00.0", 5) == 0);
    ck_assert(e.parent_key.len == 3 && memcmp(e.parent_key.ptr, "A00", 3) == 0);
    ck_assert(e.short_title.len == 15);
    ck_assert_uint_eq(e.n_notes, 3);
    const uint8_t *pos = e.notes;
    cs_span_t type, label, text;
    int n = 0;
    while (cs_entry_note_next(&e, &pos, &type, &label, &text)) {
        n++;
        if (n == 2) {
            ck_assert(label.len == 1 && label.ptr[0] == 'A');
            ck_assert(text.len == 17);
        }
    }
    ck_assert_int_eq(n, 3);
    pos = e.terms;
    cs_span_t term;
    n = 0;
    while (cs_entry_term_next(&e, &pos, &term)) {
        n++;
    }
    ck_assert_int_eq(n, 2);
    /* every truncation of a valid value is rejected, never read past */
    for (size_t cut = 0; cut < buf.len; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, buf.data, cut);
        ck_assert_int_eq(cs_entry_decode(copy, cut, &e), CS_EMALFORMED);
        free(copy);
    }
    cs_buf_free(&buf);
}
END_TEST

START_TEST(test_entry_long_title_cut_at_utf8_boundary)
{
    size_t n = 70000;
    char *title = malloc(n + 1);
    for (size_t i = 0; i < n; i += 2) {
        title[i] = (char)0xC3; /* é */
        title[i + 1] = (char)0xA9;
    }
    title[n] = '\0';
    cs_record_t rec = {.struct_size = sizeof rec, .system = "x", .cls = CS_CLASS_CODE,
                       .code = "A00", .kind = "category", .title = title};
    cs_code_t self = {CS_CLASS_CODE, "A00", "A00"};
    cs_buf_t buf = {0};
    ck_assert_int_eq(cs_entry_encode(&buf, &rec, &self, NULL), CS_OK);
    cs_entry_t e;
    ck_assert_int_eq(cs_entry_decode(buf.data, buf.len, &e), CS_OK);
    ck_assert_uint_le(e.title.len, 0xFFFF);
    ck_assert_uint_eq(e.title.len % 2, 0); /* whole characters only */
    ck_assert_uint_eq(e.parent_cls, 0);
    cs_buf_free(&buf);
    free(title);
}
END_TEST

/* ---- store and catalog ---- */

static char s_dir[512];
static cs_store_t *s_store;

static void s_open(void)
{
    cs_test_tmpdir(s_dir, sizeof s_dir);
    cs_error_t err;
    cs_error_clear(&err);
    s_store = cs_store_open(s_dir, 1 << 20, 0, &err);
    ck_assert_msg(s_store != NULL, "%s", err.msg);
}

static void s_close(void)
{
    cs_store_destroy(&s_store);
    cs_test_rmtree(s_dir);
}

START_TEST(test_store_put_get_seek)
{
    cs_error_t err;
    cs_writer_t *w = cs_writer_new(s_store, &err);
    ck_assert_ptr_nonnull(w);
    ck_assert_int_eq(cs_writer_put(w, CS_DB_CODES, "b1", 2, "x", 1), CS_OK);
    ck_assert_int_eq(cs_writer_put(w, CS_DB_CODES, "b2", 2, "y", 1), CS_OK);
    ck_assert_int_eq(cs_writer_put(w, CS_DB_CODES, "c1", 2, "z", 1), CS_OK);
    ck_assert_int_eq(cs_writer_add(w, CS_DB_CODES, "b1", 2, "q", 1), CS_EEXIST);
    cs_reader_t *r = cs_reader_new(s_store, &err);
    ck_assert_ptr_nonnull(r);
    /* not committed yet: invisible to readers */
    ck_assert_int_eq(cs_reader_begin(r), CS_OK);
    cs_val_t k, v;
    ck_assert_int_eq(cs_reader_get(r, CS_DB_CODES, "b1", 2, &v), CS_ENOTFOUND);
    cs_reader_end(r);
    ck_assert_int_eq(cs_writer_commit(w, &err), CS_OK);
    ck_assert_int_eq(cs_reader_begin(r), CS_OK);
    ck_assert_int_eq(cs_reader_get(r, CS_DB_CODES, "b1", 2, &v), CS_OK);
    ck_assert(v.len == 1 && memcmp(v.data, "x", 1) == 0);
    ck_assert_int_eq(cs_reader_seek(r, CS_DB_CODES, "b", 1, &k, &v), CS_OK);
    ck_assert(k.len == 2 && memcmp(k.data, "b1", 2) == 0);
    ck_assert_int_eq(cs_reader_next(r, CS_DB_CODES, &k, &v), CS_OK);
    ck_assert(memcmp(k.data, "b2", 2) == 0);
    cs_reader_end(r);
    int more = 0;
    ck_assert_int_eq(cs_writer_del_prefix(w, CS_DB_CODES, "b", 1, 1, &more), CS_OK);
    ck_assert_int_eq(more, 1);
    ck_assert_int_eq(cs_writer_del_prefix(w, CS_DB_CODES, "b", 1, 10, &more), CS_OK);
    ck_assert_int_eq(more, 0);
    ck_assert_int_eq(cs_writer_commit(w, &err), CS_OK);
    ck_assert_int_eq(cs_reader_begin(r), CS_OK);
    ck_assert_int_eq(cs_reader_get(r, CS_DB_CODES, "b2", 2, &v), CS_ENOTFOUND);
    ck_assert_int_eq(cs_reader_get(r, CS_DB_CODES, "c1", 2, &v), CS_OK);
    cs_reader_end(r);
    cs_reader_destroy(&r);
    cs_writer_destroy(&w);
    ck_assert_ptr_null(w);
    cs_writer_destroy(&w); /* twice is fine */
}
END_TEST

START_TEST(test_store_full_map_then_grow)
{
    cs_error_t err;
    cs_writer_t *w = cs_writer_new(s_store, &err);
    char val[2000];
    memset(val, 'v', sizeof val);
    int rc = CS_OK;
    uint32_t i = 0;
    for (; i < 100000 && rc == CS_OK; i++) {
        uint8_t key[4];
        cs_key_put_u32(key, i);
        rc = cs_writer_put(w, CS_DB_CODES, key, 4, val, sizeof val);
    }
    ck_assert_int_eq(rc, CS_ESPACE); /* 1 MiB cannot hold it */
    ck_assert_int_eq(cs_writer_status(w), CS_ESPACE);
    cs_writer_destroy(&w);
    size_t before = cs_store_map_size(s_store);
    ck_assert_int_eq(cs_store_grow(s_store, 64u << 20, &err), CS_OK);
    ck_assert_uint_ge(cs_store_map_size(s_store), 64u << 20);
    ck_assert_uint_gt(cs_store_map_size(s_store), before);
    w = cs_writer_new(s_store, &err);
    for (uint32_t j = 0; j < i; j++) {
        uint8_t key[4];
        cs_key_put_u32(key, j);
        ck_assert_int_eq(cs_writer_put(w, CS_DB_CODES, key, 4, val, sizeof val), CS_OK);
    }
    ck_assert_int_eq(cs_writer_commit(w, &err), CS_OK);
    cs_writer_destroy(&w);
}
END_TEST

static uint32_t s_publish(cs_writer_t *w, const char *label, int eff, uint32_t *replaced)
{
    cs_release_t rel;
    memset(&rel, 0, sizeof rel);
    snprintf(rel.system, sizeof rel.system, "icd10cm");
    snprintf(rel.label, sizeof rel.label, "%s", label);
    rel.effective_from = eff;
    cs_error_t err;
    ck_assert_int_eq(cs_catalog_begin_load(w, &rel, &err), CS_OK);
    uint8_t key[CS_KEY_MAX];
    size_t n = cs_key_code(key, rel.id, CS_CLASS_CODE, "A00", 3);
    ck_assert_int_eq(cs_writer_put(w, CS_DB_CODES, key, n, label, strlen(label)), CS_OK);
    rel.codes = 1;
    ck_assert_int_eq(cs_catalog_publish(w, &rel, replaced, &err), CS_OK);
    return rel.id;
}

START_TEST(test_catalog_resolution)
{
    cs_error_t err;
    cs_writer_t *w = cs_writer_new(s_store, &err);
    uint32_t replaced;
    uint32_t r2016 = s_publish(w, "2016", 20151001, &replaced);
    ck_assert_uint_eq(replaced, 0);
    uint32_t r2017 = s_publish(w, "2017", 20161001, &replaced);
    cs_reader_t *r = cs_reader_new(s_store, &err);
    ck_assert_int_eq(cs_reader_begin(r), CS_OK);
    cs_resolved_t res;
    ck_assert_int_eq(cs_catalog_newest(r, "icd10cm", 7, &res), CS_OK);
    ck_assert_uint_eq(res.id, r2017);
    ck_assert_int_eq(cs_catalog_by_date(r, "icd10cm", 7, 20160930, &res), CS_OK);
    ck_assert_uint_eq(res.id, r2016);
    ck_assert(res.label.len == 4 && memcmp(res.label.ptr, "2016", 4) == 0);
    ck_assert_int_eq(cs_catalog_by_date(r, "icd10cm", 7, 20161001, &res), CS_OK);
    ck_assert_uint_eq(res.id, r2017);
    ck_assert_int_eq(cs_catalog_by_date(r, "icd10cm", 7, 20150930, &res), CS_ENOTFOUND);
    ck_assert_int_eq(cs_catalog_by_label(r, "icd10cm", 7, "2016", 4, &res), CS_OK);
    ck_assert_uint_eq(res.id, r2016);
    ck_assert_int_eq(cs_catalog_by_label(r, "icd10cm", 7, "2018", 4, &res), CS_ENOTFOUND);
    ck_assert_int_eq(cs_catalog_newest(r, "icd10pcs", 8, &res), CS_ENOTFOUND);
    ck_assert_int_eq(cs_catalog_has_system(r, "icd10cm", 7), 1);
    ck_assert_int_eq(cs_catalog_has_system(r, "icd10c", 6), 0);
    cs_release_t *list;
    size_t n;
    ck_assert_int_eq(cs_catalog_list(r, NULL, 0, &list, &n), CS_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(list[0].label, "2016");
    ck_assert_int_eq(list[0].effective_to, 20160930);
    ck_assert_int_eq(list[1].effective_to, 0);
    free(list);
    cs_reader_end(r);

    /* reloading a label replaces it; the old id is purged whole */
    uint32_t again = s_publish(w, "2016", 20151001, &replaced);
    ck_assert_uint_eq(replaced, r2016);
    ck_assert_int_eq(cs_catalog_purge(w, replaced, &err), CS_OK);
    ck_assert_int_eq(cs_reader_begin(r), CS_OK);
    ck_assert_int_eq(cs_catalog_by_label(r, "icd10cm", 7, "2016", 4, &res), CS_OK);
    ck_assert_uint_eq(res.id, again);
    uint8_t key[CS_KEY_MAX];
    size_t kn = cs_key_code(key, r2016, CS_CLASS_CODE, "A00", 3);
    cs_val_t v;
    ck_assert_int_eq(cs_reader_get(r, CS_DB_CODES, key, kn, &v), CS_ENOTFOUND);
    ck_assert_int_eq(cs_catalog_list(r, "icd10cm", 7, &list, &n), CS_OK);
    ck_assert_uint_eq(n, 2);
    free(list);
    cs_reader_end(r);
    cs_reader_destroy(&r);
    cs_writer_destroy(&w);
}
END_TEST

/* The memo answers as the catalog does, and forgets what it knew when the snapshot moves. */
START_TEST(test_catalog_memo_follows_snapshots)
{
    cs_error_t err;
    cs_writer_t *w = cs_writer_new(s_store, &err);
    uint32_t replaced;
    uint32_t r2016 = s_publish(w, "2016", 20151001, &replaced);
    cs_reader_t *r = cs_reader_new(s_store, &err);
    cs_catalog_memo_t memo;
    memset(&memo, 0, sizeof memo);
    cs_resolved_t res;
    ck_assert_int_eq(cs_reader_begin(r), CS_OK);
    uint64_t snap = cs_reader_snapshot(r);
    ck_assert_uint_gt(snap, 0);
    for (int pass = 0; pass < 2; pass++) { /* the second pass answers from the memo */
        ck_assert_int_eq(cs_catalog_in_effect(r, &memo, "icd10cm", 7, 0, &res), CS_OK);
        ck_assert_uint_eq(res.id, r2016);
        ck_assert(res.label.len == 4 && memcmp(res.label.ptr, "2016", 4) == 0);
        ck_assert_int_eq(res.effective_from, 20151001);
        ck_assert_int_eq(cs_catalog_in_effect(r, &memo, "icd10cm", 7, 20160930, &res), CS_OK);
        ck_assert_uint_eq(res.id, r2016);
        ck_assert_int_eq(cs_catalog_in_effect(r, &memo, "icd10cm", 7, 20150930, &res),
                         CS_ENOTFOUND);
        ck_assert_int_eq(cs_catalog_in_effect(r, &memo, "icd10pcs", 8, 0, &res), CS_ENOTFOUND);
    }
    cs_reader_end(r);
    ck_assert_uint_eq(cs_reader_snapshot(r), 0);

    /* a new release is a new snapshot: the memo must not answer 2016 for the newest */
    uint32_t r2017 = s_publish(w, "2017", 20161001, &replaced);
    ck_assert_int_eq(cs_reader_begin(r), CS_OK);
    ck_assert_uint_gt(cs_reader_snapshot(r), snap);
    ck_assert_int_eq(cs_catalog_in_effect(r, &memo, "icd10cm", 7, 0, &res), CS_OK);
    ck_assert_uint_eq(res.id, r2017);
    ck_assert(res.label.len == 4 && memcmp(res.label.ptr, "2017", 4) == 0);
    ck_assert_int_eq(cs_catalog_in_effect(r, &memo, "icd10cm", 7, 20160930, &res), CS_OK);
    ck_assert_uint_eq(res.id, r2016);
    /* more dates than slots: each answer is still the catalog's own */
    for (int d = 0; d < 3 * CS_CATALOG_MEMO_SLOTS; d++) {
        int date = d % 2 ? 20161001 + d : 20151001 + d;
        cs_resolved_t direct;
        ck_assert_int_eq(cs_catalog_in_effect(r, &memo, "icd10cm", 7, date, &res), CS_OK);
        ck_assert_int_eq(cs_catalog_by_date(r, "icd10cm", 7, date, &direct), CS_OK);
        ck_assert_uint_eq(res.id, direct.id);
        ck_assert(res.label.len == direct.label.len &&
                  memcmp(res.label.ptr, direct.label.ptr, res.label.len) == 0);
    }
    cs_reader_end(r);
    cs_reader_destroy(&r);
    cs_writer_destroy(&w);
}
END_TEST

START_TEST(test_catalog_purges_incomplete_load)
{
    cs_error_t err;
    cs_writer_t *w = cs_writer_new(s_store, &err);
    cs_release_t rel;
    memset(&rel, 0, sizeof rel);
    snprintf(rel.system, sizeof rel.system, "icd10cm");
    snprintf(rel.label, sizeof rel.label, "half");
    rel.effective_from = 20201001;
    ck_assert_int_eq(cs_catalog_begin_load(w, &rel, &err), CS_OK);
    uint8_t key[CS_KEY_MAX];
    size_t n = cs_key_code(key, rel.id, CS_CLASS_CODE, "A00", 3);
    cs_writer_put(w, CS_DB_CODES, key, n, "x", 1);
    ck_assert_int_eq(cs_writer_commit(w, &err), CS_OK);
    /* as if the process died here: a new writer purges it */
    cs_writer_destroy(&w);
    w = cs_writer_new(s_store, &err);
    size_t purged = 0;
    ck_assert_int_eq(cs_catalog_purge_incomplete(w, &purged, &err), CS_OK);
    ck_assert_uint_eq(purged, 1);
    cs_val_t v;
    ck_assert_int_eq(cs_writer_get(w, CS_DB_CODES, key, n, &v), CS_ENOTFOUND);
    cs_writer_destroy(&w);
}
END_TEST

START_TEST(test_store_refuses_bad_dir)
{
    cs_error_t err;
    cs_error_clear(&err);
    cs_store_t *st = cs_store_open("/proc/codeset-cannot-be-here", 0, 0, &err);
    ck_assert_ptr_null(st);
    ck_assert_int_eq(err.code, CS_EIO);
    ck_assert_ptr_nonnull(strstr(err.msg, "/proc/codeset-cannot-be-here"));
}
END_TEST

Suite *cs_store_suite(void);
Suite *cs_store_suite(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("key codec");
    tcase_add_test(tc, test_key_order_is_numeric);
    tcase_add_test(tc, test_key_children_sort_by_order);
    suite_add_tcase(s, tc);
    tc = tcase_create("entry records");
    tcase_add_test(tc, test_entry_round_trip);
    tcase_add_test(tc, test_entry_long_title_cut_at_utf8_boundary);
    suite_add_tcase(s, tc);
    tc = tcase_create("lmdb");
    tcase_add_checked_fixture(tc, s_open, s_close);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_store_put_get_seek);
    tcase_add_test(tc, test_store_full_map_then_grow);
    tcase_add_test(tc, test_catalog_resolution);
    tcase_add_test(tc, test_catalog_memo_follows_snapshots);
    tcase_add_test(tc, test_catalog_purges_incomplete_load);
    tcase_add_test(tc, test_store_refuses_bad_dir);
    suite_add_tcase(s, tc);
    return s;
}
