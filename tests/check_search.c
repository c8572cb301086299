/* check_search.c: text folding, edit distance, and the search index on a tiny in-process
 * store: building, its stored bytes, ranking, typo fallback, code prefixes, paging and bad
 * input; and which headers the builder and the load code are compiled with. */
#include <check.h>
#include <ctype.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cs_test.h"
#include "engine/cs_search.h"
#include "engine/cs_search_cache.h"
#include "wire/cs_out_msgpack.h"
#include "store/cs_entry.h"
#include "store/cs_key.h"
#include "store/cs_search_build.h"
#include "store/cs_search_format.h"
#include "store/cs_store.h"
#include "util/cs_fold.h"

#define T_REL 7

/* ---- folding ---- */

static const char *s_fold(const char *in)
{
    static char out[512];
    cs_fold_text(in, strlen(in), out, sizeof out);
    return out;
}

START_TEST(test_fold_accents_and_case)
{
    ck_assert_str_eq(s_fold("S\xc3\xa9zary disease"), "sezary disease");
    ck_assert_str_eq(s_fold("S\xc3\x89ZARY"), "sezary");
    ck_assert_str_eq(s_fold("Stra\xc3\x9f" "e \xc3\x86sthetic"), "strasse aesthetic");
    ck_assert_str_eq(s_fold("Gr\xc3\xbcnfeld \xc5\x81\xc3\xb3" "d\xc5\xba \xc5\x92" "dema"),
                     "grunfeld lodz oedema");
    ck_assert_str_eq(s_fold("Alzheimer's disease"), "alzheimers disease");
    ck_assert_str_eq(s_fold("Alzheimer\xe2\x80\x99s"), "alzheimers");
    ck_assert_str_eq(s_fold("Type 2 diabetes-mellitus, w/o"), "type 2 diabetes mellitus w o");
}
END_TEST

START_TEST(test_fold_hostile_bytes)
{
    /* control characters, a lone continuation byte, a truncated sequence, other scripts */
    const char in[] = "a\x01" "b\tc\x80" "d\xc3" "e\xe2\x82" "f\xce\xb1g\x7f";
    char out[64];
    cs_fold_text(in, sizeof in - 1, out, sizeof out);
    ck_assert_str_eq(out, "a b c d e f g");
    ck_assert_str_eq(s_fold(""), "");
    ck_assert_str_eq(s_fold("  ,;()  "), "");
    /* a long word is cut, the iterator moves on */
    char lng[200];
    memset(lng, 'x', 150);
    memcpy(lng + 150, " yz", 4);
    cs_fold_iter_t it;
    cs_fold_iter_init(&it, lng, strlen(lng));
    char w[CS_FOLD_WORD_MAX + 1];
    size_t wl;
    ck_assert_int_eq(cs_fold_next(&it, w, &wl, NULL), 1);
    ck_assert_uint_eq(wl, CS_FOLD_WORD_MAX);
    ck_assert_int_eq(cs_fold_next(&it, w, &wl, NULL), 1);
    ck_assert_str_eq(w, "yz");
    ck_assert_int_eq(cs_fold_next(&it, w, &wl, NULL), 0);
    /* a small output buffer cuts at a word boundary */
    char small[8];
    cs_fold_text("abc defgh", 9, small, sizeof small);
    ck_assert_str_eq(small, "abc");
}
END_TEST

START_TEST(test_fold_parentheses)
{
    const char *t = "Essential (primary) hypertension [NOS]";
    cs_fold_iter_t it;
    cs_fold_iter_init(&it, t, strlen(t));
    char w[CS_FOLD_WORD_MAX + 1];
    size_t wl;
    int paren;
    const char *want[] = {"essential", "primary", "hypertension", "nos"};
    int want_paren[] = {0, 1, 0, 1};
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(cs_fold_next(&it, w, &wl, &paren), 1);
        ck_assert_str_eq(w, want[i]);
        ck_assert_int_eq(paren, want_paren[i]);
    }
    ck_assert_int_eq(cs_fold_next(&it, w, &wl, &paren), 0);
    /* an unbalanced ')' does not go negative */
    cs_fold_iter_init(&it, ") a (b", 6);
    ck_assert_int_eq(cs_fold_next(&it, w, &wl, &paren), 1);
    ck_assert_int_eq(paren, 0);
    ck_assert_int_eq(cs_fold_next(&it, w, &wl, &paren), 1);
    ck_assert_int_eq(paren, 1);
}
END_TEST

START_TEST(test_edit_distance_one)
{
    ck_assert_int_eq(cs_fold_edit1("diabetis", 8, "diabetes", 8), 1);      /* substitution */
    ck_assert_int_eq(cs_fold_edit1("hypertenion", 11, "hypertension", 12), 1); /* deletion */
    ck_assert_int_eq(cs_fold_edit1("fractrue", 8, "fracture", 8), 1);      /* swap */
    ck_assert_int_eq(cs_fold_edit1("anemiaa", 7, "anemia", 6), 1);         /* insertion */
    ck_assert_int_eq(cs_fold_edit1("xanemia", 7, "anemia", 6), 1);
    ck_assert_int_eq(cs_fold_edit1("same", 4, "same", 4), 1);
    ck_assert_int_eq(cs_fold_edit1("diabetus", 8, "diabetes", 8), 1);
    ck_assert_int_eq(cs_fold_edit1("diabetas", 8, "diabetic", 8), 0);      /* two */
    ck_assert_int_eq(cs_fold_edit1("abc", 3, "abcde", 5), 0);
    ck_assert_int_eq(cs_fold_edit1("abcd", 4, "badc", 4), 0);
    ck_assert_int_eq(cs_fold_edit1("", 0, "a", 1), 1);
}
END_TEST

/* ---- a tiny release ---- */

static char s_dir[512];
static cs_store_t *s_store;
static cs_reader_t *s_reader;

typedef struct s_rec {
    const char *code;  /* display form; its storage form drops the dot */
    int billable;
    const char *title;
    const char *incl;  /* one inclusion term, or NULL */
} s_rec_t;

static const s_rec_t s_recs[] = {
    {"C84.1", 1, "S\xc3\xa9zary disease", NULL},
    {"E10.9", 1, "Type 1 diabetes mellitus without complications", NULL},
    {"E11", 0, "Type 2 diabetes mellitus", NULL},
    {"E11.8", 1, "Type 2 diabetes mellitus with unspecified complications", NULL},
    {"E11.9", 1, "Type 2 diabetes mellitus without complications", NULL},
    {"I10", 1, "Essential (primary) hypertension", "High blood pressure"},
    {"I15.0", 1, "Renovascular hypertension", NULL},
    {"O10.01", 0, "Pre-existing essential hypertension complicating pregnancy", NULL},
    {"R03.0", 1, "Elevated blood-pressure reading, without diagnosis of hypertension", NULL},
    {"S72.001", 0, "Fracture of unspecified part of neck of right femur", NULL},
    {"S72.001A", 1, "Fracture of unspecified part of neck of right femur, initial encounter "
                    "for closed fracture", NULL},
    {"S72.001D", 1, "Fracture of unspecified part of neck of right femur, subsequent "
                    "encounter for closed fracture with routine healing", NULL},
    {"Z99.9", 1, "Necklace injury (synthetic)", NULL},
};
#define S_NRECS (sizeof s_recs / sizeof s_recs[0])

static void s_key_of(const char *display, char *key)
{
    size_t n = 0;
    for (const char *p = display; *p; p++) {
        if (*p != '.') {
            key[n++] = (char)toupper((unsigned char)*p);
        }
    }
    key[n] = '\0';
}

static int s_looks_like_code(const char *in, size_t len)
{
    while (len && in[len - 1] == ' ') {
        len--;
    }
    while (len && in[0] == ' ') {
        in++;
        len--;
    }
    return len >= 2 && isalpha((unsigned char)in[0]) && isdigit((unsigned char)in[1]) &&
           memchr(in, ' ', len) == NULL;
}

static const cs_system_ops_t s_sys = {.normalize = NULL, .looks_like_code = s_looks_like_code};

static void s_build(void)
{
    cs_test_tmpdir(s_dir, sizeof s_dir);
    cs_error_t err;
    cs_error_clear(&err);
    s_store = cs_store_open(s_dir, 1 << 22, 0, &err);
    ck_assert_msg(s_store != NULL, "%s", err.msg);
    cs_writer_t *w = cs_writer_new(s_store, &err);
    ck_assert_ptr_nonnull(w);
    cs_search_builder_t *b = cs_search_builder_new(T_REL);
    ck_assert_ptr_nonnull(b);
    /* a chapter is not indexed */
    cs_record_t chap = {.struct_size = sizeof chap, .system = "t", .cls = CS_CLASS_CHAPTER,
                        .code = "4", .kind = "chapter", .title = "Diabetes chapter"};
    cs_code_t chap_self = {CS_CLASS_CHAPTER, "4", "4"};
    ck_assert_int_eq(cs_search_builder_add(b, &chap, &chap_self), CS_OK);
    cs_buf_t buf = {0};
    for (size_t i = 0; i < S_NRECS; i++) {
        cs_note_t note = {"inclusion_terms", NULL, s_recs[i].incl};
        cs_note_t other = {"excludes1", NULL, "gestational diabetes"};
        cs_note_t notes[2] = {note, other};
        cs_record_t rec = {
            .struct_size = sizeof rec, .system = "t", .cls = CS_CLASS_CODE,
            .code = s_recs[i].code, .kind = "code", .billable = s_recs[i].billable,
            .title = s_recs[i].title, .notes = s_recs[i].incl ? notes : notes + 1,
            .n_notes = s_recs[i].incl ? 2 : 1,
        };
        cs_code_t self = {.cls = CS_CLASS_CODE};
        s_key_of(s_recs[i].code, self.key);
        snprintf(self.display, sizeof self.display, "%s", s_recs[i].code);
        ck_assert_int_eq(cs_entry_encode(&buf, &rec, &self, NULL), CS_OK);
        uint8_t key[CS_KEY_MAX];
        size_t klen = cs_key_code(key, T_REL, CS_CLASS_CODE, self.key, strlen(self.key));
        ck_assert_int_eq(cs_writer_put(w, CS_DB_CODES, key, klen, buf.data, buf.len), CS_OK);
        ck_assert_int_eq(cs_search_builder_add(b, &rec, &self), CS_OK);
    }
    cs_buf_free(&buf);
    ck_assert_uint_eq(cs_search_builder_docs(b), S_NRECS);
    ck_assert_uint_gt(cs_search_builder_words(b), 30);
    ck_assert_int_eq(cs_search_builder_write(b, w, &err), CS_OK);
    ck_assert_int_eq(cs_writer_commit(w, &err), CS_OK);
    cs_search_builder_destroy(&b);
    cs_search_builder_destroy(&b);
    ck_assert_ptr_null(b);
    cs_writer_destroy(&w);
    s_reader = cs_reader_new(s_store, &err);
    ck_assert_ptr_nonnull(s_reader);
    ck_assert_int_eq(cs_reader_begin(s_reader), CS_OK);
}

static void s_teardown(void)
{
    cs_reader_destroy(&s_reader);
    cs_store_destroy(&s_store);
    cs_test_rmtree(s_dir);
}

static cs_search_result_t s_res;

/* Run q; returns the total. */
static uint64_t s_q(const char *q, uint32_t limit, uint64_t offset, int billable_only)
{
    cs_search_query_t sq = {.q = q, .q_len = strlen(q), .sys = &s_sys, .limit = limit,
                            .offset = offset, .billable_only = billable_only};
    cs_error_t err;
    cs_error_clear(&err);
    int rc = cs_search_run(s_reader, T_REL, &sq, &s_res, &err);
    ck_assert_msg(rc == CS_OK, "%s: %s", q, err.msg);
    return s_res.total;
}

static const char *s_hit(size_t i)
{
    return i < s_res.n_hits ? s_res.hits[i].key : "(none)";
}

START_TEST(test_rank_exact_words_first)
{
    ck_assert_uint_eq(s_q("type 2 diabetes without complications", 20, 0, 0), 1);
    ck_assert_str_eq(s_hit(0), "E119");
    /* word order does not matter, prefixes do */
    ck_assert_uint_eq(s_q("complic diab 2 without", 20, 0, 0), 1);
    ck_assert_str_eq(s_hit(0), "E119");
    /* the general code first, then by fewer extra words */
    ck_assert_uint_eq(s_q("type 2 diabetes", 20, 0, 0), 3);
    ck_assert_str_eq(s_hit(0), "E11");
    ck_assert_str_eq(s_hit(1), "E119");
    ck_assert_str_eq(s_hit(2), "E118");
    ck_assert_uint_gt(s_res.hits[0].score, s_res.hits[1].score);
}
END_TEST

START_TEST(test_rank_title_whole_word_general)
{
    /* I10's extra word "primary" is a nonessential modifier: it ties with I15.0 on extra
     * words and wins as the more general code; O10.01 and R03.0 carry more words */
    ck_assert_uint_eq(s_q("hypertension", 20, 0, 0), 4);
    ck_assert_str_eq(s_hit(0), "I10");
    ck_assert_str_eq(s_hit(1), "I150");
    /* an inclusion term finds its code */
    ck_assert_uint_eq(s_q("high blood pressure", 20, 0, 0), 1);
    ck_assert_str_eq(s_hit(0), "I10");
    /* title above inclusion term: R03.0 has "blood pressure" in its title */
    ck_assert_uint_eq(s_q("blood pressure", 20, 0, 0), 2);
    ck_assert_str_eq(s_hit(0), "R030");
    ck_assert_str_eq(s_hit(1), "I10");
    /* a whole word above a prefix: "neck" before "necklace" */
    ck_assert_uint_eq(s_q("neck", 20, 0, 0), 4);
    ck_assert_str_eq(s_hit(0), "S72001");
    ck_assert_str_eq(s_hit(3), "Z999");
    /* the general code above its 7th-character variants */
    ck_assert_uint_eq(s_q("fracture neck right femur", 20, 0, 0), 3);
    ck_assert_str_eq(s_hit(0), "S72001");
    ck_assert_str_eq(s_hit(1), "S72001A");
    /* excludes notes are not searchable text */
    ck_assert_uint_eq(s_q("gestational", 20, 0, 0), 0);
}
END_TEST

START_TEST(test_accents_and_case)
{
    ck_assert_uint_eq(s_q("sezary", 20, 0, 0), 1);
    ck_assert_str_eq(s_hit(0), "C841");
    ck_assert_uint_eq(s_q("S\xc3\xa9zary", 20, 0, 0), 1);
    ck_assert_uint_eq(s_q("S\xc3\x89ZA", 20, 0, 0), 1);
    ck_assert_uint_eq(s_q("TYPE 1 DIABETES", 20, 0, 0), 1);
    ck_assert_str_eq(s_hit(0), "E109");
}
END_TEST

START_TEST(test_typo_fallback)
{
    ck_assert_uint_eq(s_q("diabetis", 20, 0, 0), 4);
    ck_assert_int_eq(s_res.fuzzy, 1);
    ck_assert_str_eq(s_hit(0), "E11");
    ck_assert_uint_eq(s_q("hypertenion", 20, 0, 0), 4);
    ck_assert_str_eq(s_hit(0), "I10");
    /* fuzzy ranks below exact: the typo word scores as the weakest match */
    uint64_t n = s_q("type 2 diabetis", 20, 0, 0);
    ck_assert_uint_eq(n, 3);
    uint32_t fuzzy_score = s_res.hits[0].score;
    s_q("type 2 diabetes", 20, 0, 0);
    ck_assert_uint_gt(s_res.hits[0].score, fuzzy_score);
    /* short words do not fall back */
    ck_assert_uint_eq(s_q("diax", 20, 0, 0), 0);
    ck_assert_int_eq(s_res.fuzzy, 0);
    /* a word with a prefix match never goes fuzzy */
    s_q("diabet", 20, 0, 0);
    ck_assert_int_eq(s_res.fuzzy, 0);
}
END_TEST

START_TEST(test_code_prefix)
{
    ck_assert_uint_eq(s_q("s7200", 20, 0, 0), 3);
    ck_assert_int_eq(s_res.by_code, 1);
    ck_assert_str_eq(s_hit(0), "S72001");
    ck_assert_str_eq(s_hit(1), "S72001A");
    ck_assert_str_eq(s_hit(2), "S72001D");
    ck_assert_uint_eq(s_q("E11.", 20, 0, 0), 3);
    ck_assert_str_eq(s_hit(0), "E11");
    ck_assert_str_eq(s_hit(2), "E119");
    ck_assert_uint_eq(s_q(" e11.9 ", 20, 0, 0), 1);
    ck_assert_uint_eq(s_q("E11", 20, 0, 1), 2);
    ck_assert_str_eq(s_hit(0), "E118");
    ck_assert_uint_eq(s_q("I10", 20, 0, 0), 1);
    ck_assert_str_eq(s_hit(0), "I10");
    /* a code-looking text that is no code's prefix falls back to words */
    ck_assert_uint_eq(s_q("Q99", 20, 0, 0), 0);
    ck_assert_int_eq(s_res.by_code, 0);
}
END_TEST

START_TEST(test_paging_and_billable)
{
    ck_assert_uint_eq(s_q("of", 20, 0, 0), 4);
    char all[4][CS_CODE_MAX];
    for (int i = 0; i < 4; i++) {
        snprintf(all[i], sizeof all[i], "%s", s_hit((size_t)i));
    }
    ck_assert_uint_eq(s_q("of", 2, 0, 0), 4);
    ck_assert_uint_eq(s_res.n_hits, 2);
    ck_assert_str_eq(s_hit(0), all[0]);
    ck_assert_str_eq(s_hit(1), all[1]);
    ck_assert_uint_eq(s_q("of", 2, 2, 0), 4);
    ck_assert_uint_eq(s_res.n_hits, 2);
    ck_assert_str_eq(s_hit(0), all[2]);
    ck_assert_str_eq(s_hit(1), all[3]);
    ck_assert_uint_eq(s_q("of", 2, 4, 0), 4);
    ck_assert_uint_eq(s_res.n_hits, 0);
    /* billable_only: S72.001 is a header */
    ck_assert_uint_eq(s_q("of", 20, 0, 1), 3);
    for (size_t i = 0; i < s_res.n_hits; i++) {
        ck_assert_str_ne(s_hit(i), "S72001");
    }
    ck_assert_uint_eq(s_q("diabetes", 20, 0, 1), 3);
}
END_TEST

/* A search's reply bytes (the search op over the fixture, packed), aided by aids. */
static void s_reply(const cs_search_aids_t *aids, const char *q, int64_t limit, int64_t offset,
                    msgpack_sbuffer *sb)
{
    msgpack_sbuffer_clear(sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    cs_out_msgpack_t writer;
    cs_out_t *w = cs_out_msgpack_init(&writer, &pk);
    cs_request_t req;
    cs_request_init(&req);
    req.op = CS_OP_SEARCH;
    req.q = (cs_str_t){q, (uint32_t)strlen(q)};
    req.limit = limit;
    req.offset = offset;
    cs_span_t label = {"T", 1};
    ck_assert_int_eq(cs_search_answer_aided(s_reader, aids, &s_sys, T_REL, label, &req, NULL, w),
                     CS_PERR_NONE);
}

/* A kept result answers exactly as the search it stands for, and only that search; and
 * searches in one scratch, one after another, answer as each in its own buffers. */
START_TEST(test_cache_same_answers)
{
    cs_search_cache_t *cache = cs_search_cache_new(2); /* keep results of 2 matches or more */
    cs_search_scratch_t *scratch = cs_search_scratch_new();
    ck_assert_ptr_nonnull(cache);
    ck_assert_ptr_nonnull(scratch);
    cs_search_aids_t aids = {NULL, cache, scratch, 0, NULL};
    static const char *const qs[] = {"of", "diab", "hypertension", "e11", "neck", "sezary"};
    static const int64_t pages[][2] = {{20, 0}, {2, 0}, {2, 2}, {1, 1}};
    msgpack_sbuffer plain, aided;
    msgpack_sbuffer_init(&plain);
    msgpack_sbuffer_init(&aided);
    for (int round = 0; round < 2; round++) { /* the second round answers from the cache */
        for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
            for (size_t p = 0; p < sizeof pages / sizeof pages[0]; p++) {
                s_reply(NULL, qs[i], pages[p][0], pages[p][1], &plain);
                s_reply(&aids, qs[i], pages[p][0], pages[p][1], &aided);
                ck_assert_msg(plain.size == aided.size &&
                                  memcmp(plain.data, aided.data, plain.size) == 0,
                              "'%s' limit %d offset %d, round %d: the replies differ", qs[i],
                              (int)pages[p][0], (int)pages[p][1], round);
            }
        }
    }
    uint64_t hits, kept;
    cs_search_cache_counts(cache, &hits, &kept);
    ck_assert_uint_gt(kept, 0);
    ck_assert_uint_eq(hits, kept); /* every kept result answered once more, nothing else */
    /* "sezary" has one match: below min_total, never kept */
    cs_search_query_t sq = {.q = "sezary", .q_len = 6, .sys = &s_sys, .limit = 20};
    ck_assert_int_eq(cs_search_cache_get(cache, T_REL, &sq, &s_res), 0);
    /* another release, or billable_only, is another search */
    sq = (cs_search_query_t){.q = "of", .q_len = 2, .sys = &s_sys, .limit = 20};
    ck_assert_int_eq(cs_search_cache_get(cache, T_REL, &sq, &s_res), 1);
    ck_assert_int_eq(cs_search_cache_get(cache, T_REL + 1, &sq, &s_res), 0);
    sq.billable_only = 1;
    ck_assert_int_eq(cs_search_cache_get(cache, T_REL, &sq, &s_res), 0);
    /* past its capacity the least recently used goes: "of" was just asked for, it stays */
    sq.billable_only = 0;
    char q[16];
    cs_search_result_t one = {.total = 5, .n_hits = 0};
    for (int i = 0; i < CS_SEARCH_CACHE_ENTRIES - 1; i++) {
        snprintf(q, sizeof q, "q%d", i);
        cs_search_query_t other = {.q = q, .q_len = strlen(q), .limit = 20};
        cs_search_cache_put(cache, T_REL, &other, &one);
    }
    ck_assert_int_eq(cs_search_cache_get(cache, T_REL, &sq, &s_res), 1);
    cs_search_query_t diab = {.q = "diab", .q_len = 4, .sys = &s_sys, .limit = 2};
    ck_assert_int_eq(cs_search_cache_get(cache, T_REL, &diab, &s_res), 0);
    msgpack_sbuffer_destroy(&plain);
    msgpack_sbuffer_destroy(&aided);
    cs_search_cache_destroy(&cache);
    ck_assert_ptr_null(cache);
    cs_search_scratch_destroy(&scratch);
    ck_assert_ptr_null(scratch);
}
END_TEST

/* A budget cuts a search that would cost more (CS_EAGAIN), at the same point every time, and
 * changes nothing in one that costs less; a cache keeps what cost min_work or more. */
START_TEST(test_budget_and_costly)
{
    static const char *const qs[] = {"of", "diab", "hypertension", "e11", "neck", "sezary",
                                     "diabetis", "fracture of neck"};
    cs_search_cache_t *cache = cs_search_cache_new(UINT64_MAX); /* by cost alone */
    cs_search_scratch_t *scratch = cs_search_scratch_new();
    ck_assert_ptr_nonnull(cache);
    ck_assert_ptr_nonnull(scratch);
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        ck_assert_uint_gt(s_q(qs[i], 20, 0, 0) + 1, 0);
        cs_search_result_t want = s_res;
        ck_assert_uint_gt(want.work, 0);
        cs_search_query_t sq = {.q = qs[i], .q_len = strlen(qs[i]), .sys = &s_sys, .limit = 20};
        cs_error_t err;
        cs_error_clear(&err);
        sq.budget = want.work; /* just enough */
        ck_assert_int_eq(cs_search_run(s_reader, T_REL, &sq, &s_res, &err), CS_OK);
        ck_assert_uint_eq(s_res.total, want.total);
        ck_assert_uint_eq(s_res.n_hits, want.n_hits);
        ck_assert_int_eq(memcmp(s_res.hits, want.hits, want.n_hits * sizeof *want.hits), 0);
        sq.budget = want.work - 1; /* one unit short */
        ck_assert_int_eq(cs_search_run(s_reader, T_REL, &sq, &s_res, &err), CS_EAGAIN);
        ck_assert_msg(strstr(err.msg, "budget") != NULL, "%s", err.msg);
        /* a search cut short leaves nothing behind in the buffers the next one works in */
        for (uint64_t b = 1; b < want.work; b += 1 + want.work / 7) {
            sq.budget = b;
            ck_assert_int_eq(cs_search_run_in(s_reader, T_REL, &sq, scratch, &s_res, &err),
                             CS_EAGAIN);
            sq.budget = 0;
            ck_assert_int_eq(cs_search_run_in(s_reader, T_REL, &sq, scratch, &s_res, &err),
                             CS_OK);
            ck_assert_uint_eq(s_res.total, want.total);
            ck_assert_uint_eq(s_res.n_hits, want.n_hits);
            ck_assert_int_eq(memcmp(s_res.hits, want.hits, want.n_hits * sizeof *want.hits),
                             0);
        }
        /* kept by cost: only what cost at least min_work */
        cs_search_cache_keep_costly(cache, want.work);
        sq.budget = 0;
        cs_search_cache_put(cache, T_REL, &sq, &want);
        ck_assert_int_eq(cs_search_cache_get(cache, T_REL, &sq, &s_res), 1);
        ck_assert_uint_eq(s_res.work, want.work);
        sq.limit = 19; /* another search, costing the same: a cache wanting more skips it */
        cs_search_cache_keep_costly(cache, want.work + 1);
        cs_search_cache_put(cache, T_REL, &sq, &want);
        ck_assert_int_eq(cs_search_cache_get(cache, T_REL, &sq, &s_res), 0);
    }
    cs_search_cache_destroy(&cache);
    cs_search_scratch_destroy(&scratch);
}
END_TEST

START_TEST(test_bad_input)
{
    ck_assert_uint_eq(s_q("", 20, 0, 0), 0);
    ck_assert_uint_eq(s_res.n_hits, 0);
    ck_assert_uint_eq(s_q("   \t\x01\x02 ;;; ", 20, 0, 0), 0);
    ck_assert_uint_eq(s_q("zzzzzz", 20, 0, 0), 0);
    ck_assert_uint_eq(s_q("diabetes zzz", 20, 0, 0), 0);
    /* limit 0 is clamped to 1, a huge limit to the ceiling, a huge offset answers total */
    ck_assert_uint_eq(s_q("diabetes", 0, 0, 0), 4);
    ck_assert_uint_eq(s_res.n_hits, 1);
    ck_assert_uint_eq(s_q("diabetes", 4000000000u, 0, 0), 4);
    ck_assert_uint_eq(s_res.n_hits, 4);
    ck_assert_uint_eq(s_q("diabetes", 20, 1000000000000ull, 0), 4);
    ck_assert_uint_eq(s_res.n_hits, 0);
    /* 100 kB of words and control bytes: only the first words count */
    size_t n = 100 * 1024;
    char *big = malloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        big[i] = "diab\x01 "[i % 6];
    }
    big[n] = '\0';
    cs_search_query_t sq = {.q = big, .q_len = n, .sys = &s_sys, .limit = 5};
    cs_error_t err;
    ck_assert_int_eq(cs_search_run(s_reader, T_REL, &sq, &s_res, &err), CS_OK);
    ck_assert_uint_eq(s_res.total, 4);
    free(big);
    /* a release without an index is an error, not a crash */
    sq.q = "diabetes";
    sq.q_len = 8;
    ck_assert_int_eq(cs_search_run(s_reader, T_REL + 1, &sq, &s_res, &err), CS_EMALFORMED);
}
END_TEST

START_TEST(test_index_purged_by_release_prefix)
{
    cs_reader_end(s_reader);
    cs_error_t err;
    cs_writer_t *w = cs_writer_new(s_store, &err);
    ck_assert_ptr_nonnull(w);
    uint8_t pre[4];
    size_t plen = cs_key_release(pre, T_REL);
    int more = 1;
    while (more) {
        ck_assert_int_eq(cs_writer_del_prefix(w, CS_DB_SEARCH, pre, plen, 1000, &more), CS_OK);
    }
    ck_assert_int_eq(cs_writer_commit(w, &err), CS_OK);
    cs_writer_destroy(&w);
    ck_assert_int_eq(cs_reader_begin(s_reader), CS_OK);
    cs_val_t k, v;
    ck_assert_int_eq(cs_reader_seek(s_reader, CS_DB_SEARCH, pre, plen, &k, &v), CS_ENOTFOUND);
}
END_TEST

/* The index's bytes: every key and value of the release in CS_DB_SEARCH, in key order. The
 * builder and the query share only cs_search_format.h; pinning what the builder writes keeps
 * a change of layout from passing unnoticed where both sides would change together. */
START_TEST(test_index_bytes_pinned)
{
    uint8_t pre[4];
    size_t plen = cs_key_release(pre, T_REL);
    cs_val_t k, v;
    uint64_t h = 14695981039346656037u; /* FNV-1a over each klen, key, vlen, value */
    size_t per_tag[256] = {0};
    int rc = cs_reader_seek(s_reader, CS_DB_SEARCH, pre, plen, &k, &v);
    while (rc == CS_OK && k.len > plen && memcmp(k.data, pre, plen) == 0) {
        per_tag[((const uint8_t *)k.data)[plen]]++;
        const cs_val_t parts[2] = {k, v};
        for (int i = 0; i < 2; i++) {
            uint8_t len[4];
            cs_key_put_u32(len, (uint32_t)parts[i].len);
            for (size_t j = 0; j < 4 + parts[i].len; j++) {
                uint8_t c = j < 4 ? len[j] : ((const uint8_t *)parts[i].data)[j - 4];
                h = (h ^ c) * 1099511628211u;
            }
        }
        rc = cs_reader_next(s_reader, CS_DB_SEARCH, &k, &v);
    }
    uint8_t mk[8];
    ck_assert_int_eq(cs_reader_get(s_reader, CS_DB_SEARCH, mk,
                                   cs_search_key_tag(mk, T_REL, CS_SEARCH_TAG_META), &v),
                     CS_OK);
    const uint8_t *m = v.data;
    ck_assert_uint_eq(v.len, CS_SEARCH_META_LEN);
    ck_assert_uint_eq(m[0], CS_SEARCH_VERSION);
    ck_assert_uint_eq(cs_key_get_u32(m + 1), S_NRECS);
    ck_assert_uint_eq(cs_key_get_u32(m + 13), CS_SEARCH_CHUNK);
    ck_assert_uint_eq(cs_key_get_u32(m + 17), 1u << 3 | 1u << 4 | 1u << 5 | 1u << 6 | 1u << 7);
    /* one meta, word list, chunk (13 docs) and billable bitmap; a word key per word; a
     * bitmap per code length (3 to 7) */
    ck_assert_uint_eq(per_tag[CS_SEARCH_TAG_META], 1);
    ck_assert_uint_eq(per_tag[CS_SEARCH_TAG_LIST], 1);
    ck_assert_uint_eq(per_tag[CS_SEARCH_TAG_FWD], 1);
    ck_assert_uint_eq(per_tag[CS_SEARCH_TAG_BILLABLE], 1);
    ck_assert_uint_eq(per_tag[CS_SEARCH_TAG_WORD], cs_key_get_u32(m + 5));
    ck_assert_uint_eq(per_tag[CS_SEARCH_TAG_CLASS], 5);
    ck_assert_msg(h == 0x979e99b356d2aeb4u,
                  "the search index's bytes changed (FNV-1a %016llx): bump CS_SEARCH_VERSION "
                  "if the layout changed, then pin the new digest here",
                  (unsigned long long)h);
}
END_TEST

/* ---- layers: the dependency files the compiler wrote (-MMD) say what each object includes */

static const char *s_dep_want; /* the .d file's name to find under the build's obj/ */
static char s_dep_path[1024];  /* where it was found */

static int s_find_dep(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    if (type == FTW_F && strcmp(path + ftw->base, s_dep_want) == 0) {
        snprintf(s_dep_path, sizeof s_dep_path, "%s", path);
        return 1;
    }
    return 0;
}

/* Does the object of source file name (e.g. "cs_load.c") include a header called header
 * (its file name, whatever its folder)? Fails the test when the build has no such object. */
static int s_includes(const char *name, const char *header)
{
    char dep[256], root[1024];
    snprintf(dep, sizeof dep, "%.*s.d", (int)(strlen(name) - 2), name);
    snprintf(root, sizeof root, "%s/obj/core", cs_test_build_dir());
    s_dep_want = dep;
    s_dep_path[0] = '\0';
    ck_assert_msg(nftw(root, s_find_dep, 16, FTW_PHYS) == 1, "no %s under %s", dep, root);
    FILE *f = fopen(s_dep_path, "r");
    ck_assert_msg(f != NULL, "cannot read %s", s_dep_path);
    char tok[1024];
    int found = 0;
    while (!found && fscanf(f, "%1023s", tok) == 1) {
        size_t n = strlen(tok);
        if (n > 0 && tok[n - 1] == ':') {
            tok[--n] = '\0';
        }
        const char *slash = strrchr(tok, '/');
        found = strcmp(slash ? slash + 1 : tok, header) == 0;
    }
    fclose(f);
    return found;
}

START_TEST(test_load_reaches_only_the_builder)
{
    ck_assert_msg(s_includes("cs_load.c", "cs_search_build.h"),
                  "cs_load.c builds the search index through cs_search_build.h");
    ck_assert_msg(!s_includes("cs_load.c", "cs_search.h"),
                  "cs_load.c includes the search query's header (cs_search.h): the load "
                  "layer may reach only the index builder (cs_search_build.h)");
    /* the builder writes the store: it knows nothing of queries or the wire (-MMD lists no
     * system header, so msgpack.h itself cannot be seen here; cs_proto.h brings it) */
    ck_assert(!s_includes("cs_search_build.c", "cs_search.h"));
    ck_assert(!s_includes("cs_search_build.c", "cs_proto.h"));
    ck_assert(s_includes("cs_search_build.c", "cs_search_format.h"));
    ck_assert(s_includes("cs_search.c", "cs_search_format.h"));
}
END_TEST

Suite *cs_search_suite(void);
Suite *cs_search_suite(void)
{
    Suite *s = suite_create("search");
    TCase *tc = tcase_create("folding");
    tcase_add_test(tc, test_fold_accents_and_case);
    tcase_add_test(tc, test_fold_hostile_bytes);
    tcase_add_test(tc, test_fold_parentheses);
    tcase_add_test(tc, test_edit_distance_one);
    suite_add_tcase(s, tc);
    tc = tcase_create("index");
    tcase_add_checked_fixture(tc, s_build, s_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_rank_exact_words_first);
    tcase_add_test(tc, test_rank_title_whole_word_general);
    tcase_add_test(tc, test_accents_and_case);
    tcase_add_test(tc, test_typo_fallback);
    tcase_add_test(tc, test_code_prefix);
    tcase_add_test(tc, test_paging_and_billable);
    tcase_add_test(tc, test_bad_input);
    tcase_add_test(tc, test_cache_same_answers);
    tcase_add_test(tc, test_budget_and_costly);
    tcase_add_test(tc, test_index_purged_by_release_prefix);
    tcase_add_test(tc, test_index_bytes_pinned);
    suite_add_tcase(s, tc);
    tc = tcase_create("layers");
    tcase_add_test(tc, test_load_reaches_only_the_builder);
    suite_add_tcase(s, tc);
    return s;
}
