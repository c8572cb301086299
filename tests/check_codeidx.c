/* check_codeidx.c: the in-memory code indexes against the LMDB entries they copy: every
 * entry found with the same head, absent keys absent, releases of an older layout refused,
 * the budget kept, background builds, and the holder's pinning; a release's image written
 * as a load does, mapped with the same answers, refused when damaged (the index then built),
 * read within its bounds whatever its bytes, in the release's checksum, purged with it. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cs_test.h"
#include "store/cs_catalog.h"
#include "store/cs_checksum.h"
#include "store/cs_codeidx.h"
#include "store/cs_entry.h"
#include "store/cs_key.h"
#include "store/cs_store.h"

#define S_ENTRIES 3000
#define S_IMAGE_HEADER 72 /* cs_codeidx_image.c */

static char s_dir[512];
static cs_store_t *s_store;

static void s_open(void)
{
    cs_test_tmpdir(s_dir, sizeof s_dir);
    cs_error_t err;
    cs_error_clear(&err);
    s_store = cs_store_open(s_dir, 64u << 20, 0, &err);
    ck_assert_msg(s_store != NULL, "%s", err.msg);
}

static void s_close(void)
{
    cs_store_destroy(&s_store);
    cs_test_rmtree(s_dir);
}

/* Entry i of a synthetic release: codes X0000.., every 7th with notes, every 11th with
 * attributes (three, two of them shared with other entries; X0022 with more than the index
 * holds), every 5th not billable, every 13th with dates, titles of varied lengths. */
static void s_put_entry(cs_writer_t *w, uint32_t rel, int i, const char *tag)
{
    char code[16], key[16], title[300], short_title[64];
    snprintf(code, sizeof code, "X%04d", i);
    snprintf(key, sizeof key, "X%04d", i);
    int tlen = 10 + (i * 37) % 250;
    snprintf(title, sizeof title, "%s title of %s ", tag, code);
    for (size_t k = strlen(title); k < (size_t)tlen && k < sizeof title - 1; k++) {
        title[k] = (char)('a' + (i + (int)k) % 26);
        title[k + 1] = '\0';
    }
    snprintf(short_title, sizeof short_title, "short %s", code);
    cs_note_t notes[] = {{"excludes1", NULL, "not this"}};
    char added[16];
    snprintf(added, sizeof added, "2020-%02d-%02d", 1 + i % 12, 1 + i % 28);
    static char many_names[300][8];
    static cs_attr_t many[300];
    cs_attr_t attrs[] = {{"betos", "O1A"}, {"coverage", i % 2 ? "C" : "D"}, {"added", added}};
    size_t n_attrs = i % 11 ? 0 : i == 22 ? 300 : 3;
    for (int a = 0; i == 22 && a < 300; a++) {
        snprintf(many_names[a], sizeof many_names[a], "a%d", a);
        many[a] = (cs_attr_t){many_names[a], a % 2 ? "odd" : "even"};
    }
    cs_record_t rec = {
        .struct_size = sizeof rec, .system = "icd10cm", .cls = CS_CLASS_CODE, .code = code,
        .kind = i % 5 ? "code" : "category", .billable = i % 5 != 0, .title = title,
        /* the index holds a field equal to another once: some of each kind */
        .short_title = i % 3 == 0 ? NULL : i % 3 == 1 ? title : short_title,
        .parent_cls = CS_CLASS_CODE,
        .parent = i > 0 ? "X0000" : NULL, .notes = i % 7 ? NULL : notes,
        .n_notes = i % 7 ? 0 : 1, .attrs = n_attrs == 0 ? NULL : i == 22 ? many : attrs,
        .n_attrs = n_attrs,
        .valid_from = i % 13 ? 0 : 20200101, .valid_to = i % 13 ? 0 : 20211231,
    };
    cs_code_t self = {CS_CLASS_CODE, "", ""};
    snprintf(self.key, sizeof self.key, "%s", key);
    snprintf(self.display, sizeof self.display, i % 4 ? "%s" : "%s.", code);
    cs_code_t parent = {CS_CLASS_CODE, "X0000", "X0000"};
    if (i % 2) {
        snprintf(parent.display, sizeof parent.display, "X00.00");
    }
    cs_buf_t buf = {0};
    ck_assert_int_eq(cs_entry_encode(&buf, &rec, &self, &parent), CS_OK);
    uint8_t k[CS_KEY_MAX];
    size_t n = cs_key_code(k, rel, CS_CLASS_CODE, key, strlen(key));
    ck_assert_int_eq(cs_writer_put(w, CS_DB_CODES, k, n, buf.data, buf.len), CS_OK);
    cs_buf_free(&buf);
}

/* Publish a release of n synthetic entries; its id. */
static uint32_t s_release(const char *label, int eff, int n)
{
    cs_error_t err;
    cs_writer_t *w = cs_writer_new(s_store, &err);
    ck_assert_ptr_nonnull(w);
    cs_release_t rel;
    memset(&rel, 0, sizeof rel);
    snprintf(rel.system, sizeof rel.system, "icd10cm");
    snprintf(rel.label, sizeof rel.label, "%s", label);
    rel.effective_from = eff;
    ck_assert_int_eq(cs_catalog_begin_load(w, &rel, &err), CS_OK);
    for (int i = 0; i < n; i++) {
        s_put_entry(w, rel.id, i, label);
    }
    rel.codes = (uint64_t)n;
    uint32_t replaced;
    ck_assert_int_eq(cs_catalog_publish(w, &rel, &replaced, &err), CS_OK);
    cs_writer_destroy(&w);
    return rel.id;
}

static int s_span_eq(cs_span_t a, cs_span_t b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

/* Every entry of release rel: the index's head decodes to what LMDB's does. */
static void s_compare_all(const cs_codeidx_t *idx, uint32_t rel, int n)
{
    cs_error_t err;
    cs_reader_t *r = cs_reader_new(s_store, &err);
    ck_assert_int_eq(cs_reader_begin(r), CS_OK);
    for (int i = 0; i < n; i++) {
        char key[16];
        snprintf(key, sizeof key, "X%04d", i);
        uint8_t k[CS_KEY_MAX];
        size_t kn = cs_key_code(k, rel, CS_CLASS_CODE, key, strlen(key));
        cs_val_t v;
        ck_assert_int_eq(cs_reader_get(r, CS_DB_CODES, k, kn, &v), CS_OK);
        cs_entry_t want, full, got;
        ck_assert_int_eq(cs_entry_decode_head(v.data, v.len, &want), CS_OK);
        ck_assert_int_eq(cs_entry_decode(v.data, v.len, &full), CS_OK);
        unsigned flags;
        ck_assert_msg(cs_codeidx_find(idx, CS_CLASS_CODE, key, strlen(key), &got, &flags),
                      "%s not found in the index", key);
        ck_assert_int_eq(got.billable, want.billable);
        ck_assert_int_eq(got.cls, want.cls);
        ck_assert_int_eq(got.parent_cls, want.parent_cls);
        ck_assert_int_eq(got.valid_from, want.valid_from);
        ck_assert_int_eq(got.valid_to, want.valid_to);
        ck_assert(s_span_eq(got.display, want.display));
        ck_assert(s_span_eq(got.parent_key, want.parent_key));
        ck_assert(s_span_eq(got.parent, want.parent));
        ck_assert(s_span_eq(got.kind, want.kind));
        ck_assert(s_span_eq(got.title, want.title));
        ck_assert(s_span_eq(got.short_title, want.short_title));
        ck_assert_uint_eq(!!(flags & CS_CODEIDX_HAS_NOTES), full.n_notes > 0);
        ck_assert_uint_eq(full.n_notes > 0, i % 7 == 0);
        ck_assert_uint_eq(full.n_attrs > 0, i % 11 == 0);
        /* the attributes: held, the same pairs in the same order; or, past what a record
         * counts, said to be missing (LMDB answers) */
        ck_assert_uint_eq(!!(flags & CS_CODEIDX_HAS_ATTRS), full.n_attrs > 255);
        ck_assert_uint_eq(got.n_attrs, full.n_attrs > 255 ? 0 : full.n_attrs);
        const uint8_t *gp = got.attrs, *wp = full.attrs;
        cs_span_t gn, gv, wn, wv;
        uint16_t seen = 0;
        while (cs_entry_attr_next(&got, &gp, &gn, &gv)) {
            ck_assert(cs_entry_attr_next(&full, &wp, &wn, &wv));
            ck_assert(s_span_eq(gn, wn));
            ck_assert(s_span_eq(gv, wv));
            seen++;
        }
        ck_assert_uint_eq(seen, got.n_attrs);
    }
    cs_reader_end(r);
    cs_reader_destroy(&r);
}

static int s_found(const cs_codeidx_t *idx, uint8_t cls, const char *key)
{
    cs_entry_t head;
    unsigned flags;
    return cs_codeidx_find(idx, cls, key, strlen(key), &head, &flags);
}

START_TEST(test_index_matches_every_entry)
{
    uint32_t r1 = s_release("2021", 20201001, S_ENTRIES);
    uint32_t r2 = s_release("2022", 20211001, 100);
    cs_error_t err;
    cs_codeidx_set_t *set = cs_codeidx_set_new(s_store, 64u << 20, &err);
    ck_assert_int_eq(cs_codeidx_build(set, r1, &err), CS_OK);
    cs_codeidx_t *idx = cs_codeidx_acquire(set, r1);
    ck_assert_ptr_nonnull(idx);
    ck_assert_uint_eq(cs_codeidx_release_id(idx), r1);
    s_compare_all(idx, r1, S_ENTRIES);
    /* what the release lacks: another number, another class, a prefix, a longer key */
    ck_assert(!s_found(idx, CS_CLASS_CODE, "X9999"));
    ck_assert(!s_found(idx, CS_CLASS_BLOCK, "X0001"));
    ck_assert(!s_found(idx, CS_CLASS_CODE, "X000"));
    ck_assert(!s_found(idx, CS_CLASS_CODE, "X00010"));
    ck_assert(!s_found(idx, CS_CLASS_CODE, ""));
    /* the other release has its own index, with its own titles */
    ck_assert_int_eq(cs_codeidx_build(set, r2, &err), CS_OK);
    cs_codeidx_t *idx2 = cs_codeidx_acquire(set, r2);
    s_compare_all(idx2, r2, 100);
    ck_assert(!s_found(idx2, CS_CLASS_CODE, "X0100"));
    size_t n_idx, bytes;
    cs_codeidx_usage(set, &n_idx, &bytes);
    ck_assert_uint_eq(n_idx, 2);
    ck_assert_uint_gt(bytes, 0);
    cs_codeidx_release(idx2);
    cs_codeidx_release(idx);
    cs_codeidx_set_destroy(&set);
    ck_assert_ptr_null(set);
}
END_TEST

START_TEST(test_index_refuses_what_it_cannot_hold)
{
    uint32_t rel = s_release("2021", 20201001, 50);
    cs_error_t err;
    /* an entry of the version 1 layout: the release is read from LMDB, never indexed */
    cs_writer_t *w = cs_writer_new(s_store, &err);
    uint8_t k[CS_KEY_MAX];
    size_t kn = cs_key_code(k, rel, CS_CLASS_CODE, "X0050", 5);
    const uint8_t old[] = {1, 1, CS_CLASS_CODE, 0, 5, 'X', '0', '0', '5', '0', 0, 0, 0, 0, 0,
                           0, 0, 0, 0, 0, 0};
    ck_assert_int_eq(cs_writer_put(w, CS_DB_CODES, k, kn, old, sizeof old), CS_OK);
    ck_assert_int_eq(cs_writer_commit(w, &err), CS_OK);
    cs_writer_destroy(&w);
    cs_codeidx_set_t *set = cs_codeidx_set_new(s_store, 64u << 20, &err);
    ck_assert_int_eq(cs_codeidx_build(set, rel, &err), CS_EMALFORMED);
    ck_assert_msg(strstr(err.msg, "older layout") != NULL, "%s", err.msg);
    ck_assert_ptr_null(cs_codeidx_acquire(set, rel));
    /* a release with no entries, and a budget too small for any index */
    ck_assert_int_eq(cs_codeidx_build(set, 4242, &err), CS_ENOTFOUND);
    cs_codeidx_set_destroy(&set);
    uint32_t fine = s_release("2022", 20211001, 50);
    set = cs_codeidx_set_new(s_store, 1024, &err);
    ck_assert_int_eq(cs_codeidx_build(set, fine, &err), CS_ESPACE);
    ck_assert_ptr_null(cs_codeidx_acquire(set, fine));
    cs_codeidx_set_destroy(&set);
    /* budget 0: off */
    set = cs_codeidx_set_new(s_store, 0, &err);
    ck_assert_int_eq(cs_codeidx_build(set, fine, &err), CS_ESPACE);
    ck_assert_ptr_null(cs_codeidx_acquire(set, fine));
    cs_codeidx_set_destroy(&set);
}
END_TEST

/* Three releases of the same size; the bytes of the index of one. */
static size_t s_three_releases(uint32_t *a, uint32_t *b, uint32_t *c)
{
    *a = s_release("2019", 20181001, S_ENTRIES);
    *b = s_release("2020", 20191001, S_ENTRIES);
    *c = s_release("2021", 20201001, S_ENTRIES);
    cs_error_t err;
    cs_codeidx_set_t *probe = cs_codeidx_set_new(s_store, 64u << 20, &err);
    ck_assert_int_eq(cs_codeidx_build(probe, *a, &err), CS_OK);
    size_t n_idx, one;
    cs_codeidx_usage(probe, &n_idx, &one);
    cs_codeidx_set_destroy(&probe);
    return one;
}

/* Over the budget the least recently acquired index goes, unless all were used lately; one
 * still held lives on. */
START_TEST(test_index_budget_drops_the_least_recent)
{
    uint32_t a, b, c;
    size_t one = s_three_releases(&a, &b, &c), n_idx;
    cs_error_t err;

    /* while both are fresh, a third is refused rather than pushing one out */
    cs_codeidx_set_t *set = cs_codeidx_set_new(s_store, one * 2 + one / 2, &err);
    ck_assert_int_eq(cs_codeidx_build(set, a, &err), CS_OK);
    ck_assert_int_eq(cs_codeidx_build(set, b, &err), CS_OK);
    ck_assert_int_eq(cs_codeidx_build(set, c, &err), CS_ESPACE);
    ck_assert_ptr_null(cs_codeidx_acquire(set, c)); /* and not queued again at once */
    struct timespec pause = {0, 200 * 1000 * 1000};
    nanosleep(&pause, NULL);
    size_t bytes_now;
    cs_codeidx_usage(set, &n_idx, &bytes_now);
    ck_assert_uint_eq(n_idx, 2);
    ck_assert_ptr_null(cs_codeidx_acquire(set, c));
    cs_codeidx_set_destroy(&set);

    /* with no keep time, the least recently acquired goes */
    set = cs_codeidx_set_new(s_store, one * 2 + one / 2, &err);
    cs_codeidx_set_keep_ms(set, 0);
    ck_assert_int_eq(cs_codeidx_build(set, a, &err), CS_OK);
    ck_assert_int_eq(cs_codeidx_build(set, b, &err), CS_OK);
    cs_codeidx_t *held_a = cs_codeidx_acquire(set, a); /* a is now the more recent */
    ck_assert_ptr_nonnull(held_a);
    ck_assert_int_eq(cs_codeidx_build(set, c, &err), CS_OK); /* b must go */
    cs_codeidx_usage(set, &n_idx, &bytes_now);
    ck_assert_uint_eq(n_idx, 2);
    cs_codeidx_t *got_b = cs_codeidx_acquire(set, b);
    ck_assert_ptr_null(got_b); /* gone (a background build is queued for it) */
    cs_codeidx_t *got_c = cs_codeidx_acquire(set, c);
    ck_assert_ptr_nonnull(got_c);
    cs_codeidx_release(got_c);
    cs_codeidx_set_destroy(&set); /* the set goes; held_a stays readable */
    s_compare_all(held_a, a, S_ENTRIES);
    cs_codeidx_release(held_a);
}
END_TEST

/* A holder lets go of an index the set dropped at its next request, so no copy outlives the
 * set's own for long. */
START_TEST(test_holder_lets_go_of_a_dropped_index)
{
    uint32_t a, b, c;
    size_t one = s_three_releases(&a, &b, &c);
    cs_error_t err;
    ck_assert_uint_eq(cs_codeidx_live(), 0);

    cs_codeidx_set_t *set = cs_codeidx_set_new(s_store, one * 2 + one / 2, &err);
    cs_codeidx_set_keep_ms(set, 0);
    ck_assert_int_eq(cs_codeidx_build(set, a, &err), CS_OK);
    ck_assert_int_eq(cs_codeidx_build(set, b, &err), CS_OK);
    cs_codeidx_holder_t h;
    cs_codeidx_holder_init(&h, set);
    cs_codeidx_holder_unpin(&h);
    ck_assert_ptr_nonnull(cs_codeidx_holder_get(&h, b));
    cs_codeidx_t *recent = cs_codeidx_acquire(set, a); /* a used after b */
    cs_codeidx_release(recent);
    ck_assert_int_eq(cs_codeidx_build(set, c, &err), CS_OK); /* b goes from the set */
    ck_assert_uint_eq(cs_codeidx_live(), 3);                /* ... but the holder has it */
    cs_codeidx_set_keep_ms(set, 60000); /* from now on nothing fresh is pushed out */
    cs_codeidx_holder_unpin(&h);         /* the next request */
    ck_assert_ptr_null(cs_codeidx_holder_get(&h, b)); /* let go; a rebuild is queued */
    struct timespec pause = {0, 300 * 1000 * 1000};
    nanosleep(&pause, NULL); /* the rebuild does not fit beside a and c, both fresh */
    ck_assert_uint_eq(cs_codeidx_live(), 2);
    cs_codeidx_holder_fini(&h);
    cs_codeidx_set_destroy(&set);
    ck_assert_uint_eq(cs_codeidx_live(), 0);
}
END_TEST

START_TEST(test_index_builds_in_the_background)
{
    uint32_t rel = s_release("2021", 20201001, S_ENTRIES);
    cs_error_t err;
    cs_codeidx_set_t *set = cs_codeidx_set_new(s_store, 64u << 20, &err);
    cs_codeidx_t *idx = cs_codeidx_acquire(set, rel); /* none yet: queues a build */
    ck_assert_ptr_null(idx);
    for (int i = 0; i < 1000 && !idx; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        idx = cs_codeidx_acquire(set, rel);
    }
    ck_assert_msg(idx != NULL, "no index 10 s after asking");
    s_compare_all(idx, rel, S_ENTRIES);
    cs_codeidx_release(idx);
    ck_assert_ptr_null(cs_codeidx_acquire(set, 777)); /* no such release: never an index */
    cs_codeidx_set_destroy(&set); /* joins the builder */
}
END_TEST

/* A request keeps what it used; the next request may let it go. */
START_TEST(test_holder_pins_per_request)
{
    uint32_t rel[CS_CODEIDX_HELD + 1];
    cs_error_t err;
    cs_codeidx_set_t *set = cs_codeidx_set_new(s_store, 64u << 20, &err);
    for (int i = 0; i <= CS_CODEIDX_HELD; i++) {
        char label[8];
        snprintf(label, sizeof label, "%d", 2015 + i);
        rel[i] = s_release(label, 20141001 + 10000 * i, 20);
        ck_assert_int_eq(cs_codeidx_build(set, rel[i], &err), CS_OK);
    }
    cs_codeidx_holder_t h;
    cs_codeidx_holder_init(&h, set);
    cs_codeidx_holder_unpin(&h);
    const cs_codeidx_t *first = NULL;
    for (int i = 0; i < CS_CODEIDX_HELD; i++) {
        const cs_codeidx_t *idx = cs_codeidx_holder_get(&h, rel[i]);
        ck_assert_ptr_nonnull(idx);
        ck_assert_uint_eq(cs_codeidx_release_id(idx), rel[i]);
        if (i == 0) {
            first = idx;
        }
    }
    /* every slot serves this request: the fifth release is read from LMDB */
    ck_assert_ptr_null(cs_codeidx_holder_get(&h, rel[CS_CODEIDX_HELD]));
    ck_assert_ptr_eq(cs_codeidx_holder_get(&h, rel[0]), first);
    cs_codeidx_holder_unpin(&h); /* next request */
    const cs_codeidx_t *fifth = cs_codeidx_holder_get(&h, rel[CS_CODEIDX_HELD]);
    ck_assert_ptr_nonnull(fifth);
    ck_assert_uint_eq(cs_codeidx_release_id(fifth), rel[CS_CODEIDX_HELD]);
    ck_assert(s_found(fifth, CS_CLASS_CODE, "X0019"));
    cs_codeidx_holder_fini(&h);
    cs_codeidx_set_destroy(&set);
    /* a holder without a set never has an index */
    cs_codeidx_holder_init(&h, NULL);
    ck_assert_ptr_null(cs_codeidx_holder_get(&h, rel[0]));
    cs_codeidx_holder_fini(&h);
}
END_TEST

/* ---- images ---- */

/* Write rel's image as a load does, in a transaction of its own; its size. */
static size_t s_write_image(uint32_t rel)
{
    cs_error_t err;
    cs_writer_t *w = cs_writer_new(s_store, &err);
    ck_assert_ptr_nonnull(w);
    size_t bytes = 0;
    ck_assert_int_eq(cs_codeidx_image_write(s_store, w, rel, &bytes, &err), CS_OK);
    ck_assert_int_eq(cs_writer_commit(w, &err), CS_OK);
    cs_writer_destroy(&w);
    return bytes;
}

/* rel's image as stored (malloc'd; *len its size), or NULL when it has none. */
static uint8_t *s_image_copy(uint32_t rel, size_t *len)
{
    cs_error_t err;
    cs_reader_t *r = cs_reader_new(s_store, &err);
    ck_assert_int_eq(cs_reader_begin(r), CS_OK);
    uint8_t key[4];
    cs_key_put_u32(key, rel);
    cs_val_t v;
    uint8_t *copy = NULL;
    if (cs_reader_get(r, CS_DB_CODEIDX, key, sizeof key, &v) == CS_OK) {
        copy = malloc(v.len);
        ck_assert_ptr_nonnull(copy);
        memcpy(copy, v.data, v.len);
        *len = v.len;
    }
    cs_reader_end(r);
    cs_reader_destroy(&r);
    return copy;
}

static void s_image_put(uint32_t rel, const uint8_t *p, size_t len)
{
    cs_error_t err;
    cs_writer_t *w = cs_writer_new(s_store, &err);
    uint8_t key[4];
    cs_key_put_u32(key, rel);
    ck_assert_int_eq(cs_writer_put(w, CS_DB_CODEIDX, key, sizeof key, p, len), CS_OK);
    ck_assert_int_eq(cs_writer_commit(w, &err), CS_OK);
    cs_writer_destroy(&w);
}

/* rel's index through a set of its own: every entry as LMDB has it, absent keys absent;
 * 1 if it is the image mapped, 0 if built in memory. */
static int s_index_mapped(uint32_t rel, int n)
{
    cs_error_t err;
    cs_codeidx_set_t *set = cs_codeidx_set_new(s_store, 64u << 20, &err);
    ck_assert_int_eq(cs_codeidx_build(set, rel, &err), CS_OK);
    cs_codeidx_t *idx = cs_codeidx_acquire(set, rel);
    ck_assert_ptr_nonnull(idx);
    int mapped = cs_codeidx_mapped(idx);
    s_compare_all(idx, rel, n);
    ck_assert(!s_found(idx, CS_CLASS_CODE, "X9999"));
    ck_assert(!s_found(idx, CS_CLASS_BLOCK, "X0001"));
    ck_assert(!s_found(idx, CS_CLASS_CODE, "X000"));
    cs_codeidx_release(idx);
    cs_codeidx_set_destroy(&set);
    return mapped;
}

static void s_checksum(uint32_t rel, char hex[65])
{
    cs_error_t err;
    cs_reader_t *r = cs_reader_new(s_store, &err);
    ck_assert_int_eq(cs_checksum_release(r, rel, hex, NULL, NULL, &err), CS_OK);
    cs_reader_destroy(&r);
}

START_TEST(test_image_mapped_with_the_same_answers)
{
    uint32_t rel = s_release("2021", 20201001, S_ENTRIES);
    ck_assert(!s_index_mapped(rel, S_ENTRIES)); /* no image (an older store): built */
    char before[65], with[65], damaged[65];
    s_checksum(rel, before);
    ck_assert_uint_gt(s_write_image(rel), 8 * 1024);
    ck_assert(s_index_mapped(rel, S_ENTRIES));

    /* a mapped index outlives a remap of LMDB's map and the snapshot it was read in */
    cs_error_t err;
    cs_codeidx_set_t *set = cs_codeidx_set_new(s_store, 64u << 20, &err);
    ck_assert_int_eq(cs_codeidx_build(set, rel, &err), CS_OK);
    cs_codeidx_t *idx = cs_codeidx_acquire(set, rel);
    ck_assert(cs_codeidx_mapped(idx));
    ck_assert_int_eq(cs_store_grow(s_store, cs_store_map_size(s_store) * 2, &err), CS_OK);
    s_compare_all(idx, rel, S_ENTRIES);
    cs_codeidx_release(idx);
    cs_codeidx_set_destroy(&set);

    /* the release's checksum covers the image: one byte changed changes it */
    s_checksum(rel, with);
    ck_assert_str_ne(before, with);
    size_t len;
    uint8_t *img = s_image_copy(rel, &len);
    img[len - 1] ^= 1;
    s_image_put(rel, img, len);
    s_checksum(rel, damaged);
    ck_assert_str_ne(with, damaged);
    free(img);

    /* purged with its release */
    cs_writer_t *w = cs_writer_new(s_store, &err);
    ck_assert_int_eq(cs_catalog_purge(w, rel, &err), CS_OK);
    cs_writer_destroy(&w);
    ck_assert_ptr_null(s_image_copy(rel, &len));
}
END_TEST

/* Each damage a header check refuses, and an image of another version: the index is built in
 * memory instead, answering the same. */
START_TEST(test_image_damaged_is_refused)
{
    uint32_t rel = s_release("2021", 20201001, 500);
    s_write_image(rel);
    size_t len;
    uint8_t *good = s_image_copy(rel, &len);
    ck_assert_ptr_nonnull(good);
    uint8_t *bad = malloc(len);
    uint32_t u32;
    uint64_t u64;
    for (int kind = 0; kind < 14; kind++) {
        memcpy(bad, good, len);
        size_t bad_len = len;
        switch (kind) {
        case 0: bad[0] ^= 0x20; break;                                 /* magic */
        case 1: u32 = 4; memcpy(bad + 8, &u32, 4); break;              /* a later version */
        case 11: u32 = 2; memcpy(bad + 8, &u32, 4); break; /* version 2: no attributes */
        case 12: memcpy(&u64, bad + 40, 8); u64++; memcpy(bad + 64, &u64, 8); break; /* the
                                                        * attribute pool past the arena */
        case 13: u64 = 8; memcpy(bad + 64, &u64, 8); break; /* ... before the records end */
        case 8: u32 = 1; memcpy(bad + 8, &u32, 4); break; /* version 1: records laid out
                                                           * otherwise, of an older store */
        case 2: u32 = 0x04030201; memcpy(bad + 12, &u32, 4); break;    /* byte order */
        case 3: u32 = rel + 1; memcpy(bad + 16, &u32, 4); break;       /* another release */
        case 4: u64 = 1000; memcpy(bad + 32, &u64, 8); break;          /* slots */
        case 5: bad_len = len - 8; break;                              /* truncated */
        case 6: u32 = UINT32_MAX; memcpy(bad + 48, &u32, 4); break;    /* longest probe */
        case 7: memcpy(&u64, bad + 40, 8); u64++; memcpy(bad + 40, &u64, 8); break; /* arena */
        case 9: memcpy(&u64, bad + 40, 8); u64++; memcpy(bad + 56, &u64, 8); break; /* records
                                                                   * longer than the arena */
        case 10: bad_len = 40; break;                                  /* a header only */
        default: break;
        }
        s_image_put(rel, bad, bad_len);
        ck_assert_msg(!s_index_mapped(rel, 500), "damage %d was not refused", kind);
    }
    s_image_put(rel, good, len);
    ck_assert(s_index_mapped(rel, 500));
    free(bad);
    free(good);
}
END_TEST

/* An image whose header is sound but whose table and records are garbage is mapped; no find
 * reads outside it (ASan and a fault would say) and none loops for ever. */
START_TEST(test_image_with_garbage_stays_in_bounds)
{
    uint32_t rel = s_release("2021", 20201001, 500);
    s_write_image(rel);
    size_t len;
    uint8_t *good = s_image_copy(rel, &len);
    uint8_t *bad = malloc(len);
    uint64_t slots, records, pool;
    memcpy(&slots, good + 32, 8);
    memcpy(&records, good + 56, 8);
    memcpy(&pool, good + 64, 8);
    size_t arena = S_IMAGE_HEADER + slots * 8;
    ck_assert_uint_lt(arena + pool, len); /* every 11th entry has attributes: a pool */
    uint32_t seed = 12345;
    for (int kind = 0; kind < 6; kind++) {
        memcpy(bad, good, len);
        for (size_t i = S_IMAGE_HEADER; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            if (kind == 0 || (kind == 1 && i < arena) || (kind == 2 && i >= arena) ||
                (kind == 4 && i >= arena + pool) ||
                (kind == 5 && i >= arena + records && i < arena + pool)) {
                bad[i] = (uint8_t)(seed >> 16); /* table, records, pool, titles, or all */
            }
        }
        if (kind == 3) { /* every slot full, pointing past the end; probes as long as can be */
            memset(bad + S_IMAGE_HEADER, 0xff, slots * 8);
            uint32_t longest = (uint32_t)slots;
            memcpy(bad + 48, &longest, 4);
        }
        s_image_put(rel, bad, len);
        cs_error_t err;
        cs_codeidx_set_t *set = cs_codeidx_set_new(s_store, 64u << 20, &err);
        ck_assert_int_eq(cs_codeidx_build(set, rel, &err), CS_OK);
        cs_codeidx_t *idx = cs_codeidx_acquire(set, rel);
        ck_assert(cs_codeidx_mapped(idx));
        for (int i = 0; i < 600; i++) {
            char key[16];
            snprintf(key, sizeof key, "X%04d", i);
            cs_entry_t head;
            unsigned flags;
            int found = cs_codeidx_find(idx, CS_CLASS_CODE, key, strlen(key), &head, &flags);
            ck_assert(found == 0 || found == 1);
            /* a held attribute, whatever the offsets and the pool say, lies in the pool */
            const uint8_t *pos = head.attrs;
            cs_span_t name, value;
            for (int a = 0; found && a < 300 && cs_entry_attr_next(&head, &pos, &name, &value);
                 a++) {
                ck_assert((const uint8_t *)name.ptr >= head.attr_pool);
                ck_assert((const uint8_t *)value.ptr + value.len <= head.attr_pool_end);
            }
            uint64_t h = cs_codeidx_hash(CS_CLASS_CODE, key, strlen(key));
            cs_codeidx_prefetch(idx, h, 0);
            cs_codeidx_prefetch(idx, h, 1);
            cs_codeidx_prefetch(idx, h, 2);
        }
        cs_codeidx_release(idx);
        cs_codeidx_set_destroy(&set);
    }
    free(bad);
    free(good);
}
END_TEST

/* Until a set's warm-up is over (at most 30 s). */
static void s_warm_done(cs_codeidx_set_t *set)
{
    for (int i = 0; i < 3000 && cs_codeidx_warming(set) > 0; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    ck_assert_uint_eq(cs_codeidx_warming(set), 0);
}

/* A warm-up maps the images it is given before anyone asks, in their order, as long as they
 * fit beside those published (none dropped for them); a release without an image, and one
 * that did not fit, are not held against a later query, which builds them as before. */
START_TEST(test_warm_maps_images_ahead)
{
    uint32_t a = s_release("2019", 20181001, S_ENTRIES);
    uint32_t b = s_release("2020", 20191001, S_ENTRIES);
    uint32_t c = s_release("2021", 20201001, S_ENTRIES); /* no image: an older store */
    size_t one = s_write_image(a);
    ck_assert_uint_eq(s_write_image(b), one);
    cs_error_t err;
    cs_codeidx_set_t *set = cs_codeidx_set_new(s_store, 64u << 20, &err);
    const uint32_t order[] = {c, b, a, 4242 /* no such release */};
    cs_codeidx_warm(set, order, 4);
    s_warm_done(set);
    size_t n_idx, bytes;
    cs_codeidx_usage(set, &n_idx, &bytes);
    ck_assert_uint_eq(n_idx, 2);
    ck_assert_uint_eq(bytes, 2 * one);
    cs_codeidx_t *ia = cs_codeidx_acquire(set, a), *ib = cs_codeidx_acquire(set, b);
    ck_assert(ia && ib && cs_codeidx_mapped(ia) && cs_codeidx_mapped(ib));
    s_compare_all(ib, b, S_ENTRIES);
    cs_codeidx_release(ia);
    cs_codeidx_release(ib);
    /* c was skipped, not refused: its first query has it built in memory */
    ck_assert_ptr_null(cs_codeidx_acquire(set, c));
    cs_codeidx_t *ic = NULL;
    for (int i = 0; i < 3000 && !ic; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        ic = cs_codeidx_acquire(set, c);
    }
    ck_assert_ptr_nonnull(ic);
    ck_assert(!cs_codeidx_mapped(ic));
    cs_codeidx_release(ic);
    cs_codeidx_set_destroy(&set);
    /* a budget for one image: the first given is mapped, the second does not push it out
     * (and is not refused either: once the first may be dropped, a query builds it) */
    set = cs_codeidx_set_new(s_store, one + one / 2, &err);
    cs_codeidx_set_keep_ms(set, 0);
    const uint32_t newest_first[] = {b, a};
    cs_codeidx_warm(set, newest_first, 2);
    s_warm_done(set);
    cs_codeidx_usage(set, &n_idx, &bytes);
    ck_assert_uint_eq(n_idx, 1);
    ib = cs_codeidx_acquire(set, b);
    ck_assert_ptr_nonnull(ib);
    cs_codeidx_release(ib);
    ck_assert_int_eq(cs_codeidx_build(set, a, &err), CS_OK);
    ia = cs_codeidx_acquire(set, a);
    ck_assert_ptr_nonnull(ia);
    cs_codeidx_release(ia);
    cs_codeidx_set_destroy(&set);
    /* indexes off: nothing is mapped */
    set = cs_codeidx_set_new(s_store, 0, &err);
    cs_codeidx_warm(set, newest_first, 2);
    ck_assert_uint_eq(cs_codeidx_warming(set), 0);
    cs_codeidx_usage(set, &n_idx, &bytes);
    ck_assert_uint_eq(n_idx, 0);
    cs_codeidx_set_destroy(&set);
}
END_TEST

Suite *cs_codeidx_suite(void);
Suite *cs_codeidx_suite(void)
{
    Suite *s = suite_create("codeidx");
    TCase *tc = tcase_create("codeidx");
    tcase_add_checked_fixture(tc, s_open, s_close);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_index_matches_every_entry);
    tcase_add_test(tc, test_index_refuses_what_it_cannot_hold);
    tcase_add_test(tc, test_index_budget_drops_the_least_recent);
    tcase_add_test(tc, test_index_builds_in_the_background);
    tcase_add_test(tc, test_holder_pins_per_request);
    tcase_add_test(tc, test_holder_lets_go_of_a_dropped_index);
    tcase_add_test(tc, test_image_mapped_with_the_same_answers);
    tcase_add_test(tc, test_image_damaged_is_refused);
    tcase_add_test(tc, test_image_with_garbage_stays_in_bounds);
    tcase_add_test(tc, test_warm_maps_images_ahead);
    suite_add_tcase(s, tc);
    return s;
}
