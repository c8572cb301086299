/* check_search_pcs.c: search over the official ICD-10-PCS FY2025 release (tables, order,
 * definitions and index: 79,856 codes whose index terms fill most of the search index)
 * through a live codesetd. A fixed list of a few hundred searches (words, typos, several
 * words, code prefixes; plain, billable_only and paged) must come back as the same bytes as
 * they did when the list was written: the FNV-1a digest of every reply, in order, is held
 * here, so a faster load or index that changes one hit fails. Properties that hold whatever
 * the digest (billable_only, paging, prefixes) are checked on every reply.
 *
 * CS_SEARCH_PCS_DUMP=FILE writes every request's query and its reply bytes to FILE, for a
 * byte-for-byte comparison of two builds (CS_BUILD_DIR picks the broker).
 * Skips, saying so, where ../shared/data is absent. */
#include <check.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cs_daemon.h"
#include "cs_test.h"

#define T_TIMEOUT 10000
#define T_DIR "icd10pcs/2025/"
/* The digest of the replies of s_queries, from the broker of main at ecb01a6 (2026-12-03). */
#define T_DIGEST 0x8cdc8affe8d968c1ULL

static const char *const s_queries[] = {
    /* words */
    "appendix", "resection", "excision", "bypass", "coronary", "artery", "drainage", "kidney",
    "laparoscopic", "percutaneous", "endoscopic", "stent", "replacement", "hip", "knee",
    "joint", "spinal", "fusion", "lumbar", "cervical", "thoracic", "vertebra", "insertion",
    "pacemaker", "defibrillator", "lead", "catheter", "transfusion", "blood", "plasma",
    "imaging", "ultrasound", "fluoroscopy", "radiation", "brachytherapy", "hemodialysis",
    "ventilation", "intubation", "tracheostomy", "biopsy", "diagnostic", "colon", "stomach",
    "gallbladder", "liver", "transplant", "heart", "valve", "aortic", "mitral", "cesarean",
    "delivery", "abortion", "repair", "hernia", "inguinal", "graft", "skin", "tendon",
    "ligament", "fracture", "reduction", "fixation", "amputation", "eye", "lens", "retina",
    "cochlear", "sinus", "tonsil", "thyroid", "pancreas", "spleen", "lymph", "breast",
    "prostate", "bladder", "ureter", "uterus", "ovary", "vasectomy", "destruction",
    "extirpation", "occlusion", "restriction", "dilation", "supplement", "reposition",
    "nonautologous", "autologous", "synthetic", "substitute", "zooplastic", "left", "right",
    "bilateral", "open", "external", "natural", "opening", "via", "no", "device",
    /* prefixes of words, words in parentheses, odd spellings */
    "append", "lapar", "hemo", "cardi", "neph", "ost", "a", "z", "alzheimers",
    /* typos (the edit-distance fallback) */
    "apendix", "replacment", "catheterr", "fluroscopy", "transplnt", "biopsi",
    /* several words */
    "coronary artery bypass", "total hip replacement", "left knee", "open approach",
    "percutaneous endoscopic", "drainage device", "spinal fusion lumbar", "heart valve mitral",
    "kidney transplant", "skin graft left lower leg", "insertion pacemaker lead",
    "right lung lobe", "fetal", "products of conception", "radiation therapy beam",
    "no such procedure", "xyzzy",
    /* code prefixes */
    "0", "0D", "0DT", "0DTJ", "0DTJ4", "0DTJ4ZZ", "027", "02703", "0SR", "0SR9", "0SRB0",
    "3E0", "3E033", "B", "BW2", "X", "XW0", "XW03", "GZ", "HZ2", "5A1", "5A1955Z", "10D",
    "0T", "0TY", "0TY00Z0", "D", "DW0", "F", "0DTJ4ZZZ", "0I", "0O",
};

static cs_daemon_t s_d;
static cs_tclient_t *s_admin, *s_query;
static uint64_t s_digest;
static FILE *s_dump;

static void s_fnv(const void *p, size_t len)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < len; i++) {
        s_digest = (s_digest ^ b[i]) * 0x100000001b3ULL;
    }
}

/* One search; limit < 0 and offset < 0 are left out. Folds the reply into the digest. */
static const msgpack_object *s_search(const char *q, int64_t limit, int64_t offset,
                                      int billable_only)
{
    msgpack_packer *pk = cs_tclient_begin(s_query);
    msgpack_pack_map(pk, 3 + (limit >= 0) + (offset >= 0) + (billable_only != 0));
    cs_tpack_kv(pk, "op", "search");
    cs_tpack_kv(pk, "system", "icd10pcs");
    cs_tpack_kv(pk, "q", q);
    if (limit >= 0) {
        cs_tpack_str(pk, "limit");
        msgpack_pack_int64(pk, limit);
    }
    if (offset >= 0) {
        cs_tpack_str(pk, "offset");
        msgpack_pack_int64(pk, offset);
    }
    if (billable_only) {
        cs_tpack_str(pk, "billable_only");
        msgpack_pack_true(pk);
    }
    const msgpack_object *r = cs_tclient_call(s_query, T_TIMEOUT);
    if (!r) {
        ck_abort_msg("no reply to search '%s'", q);
    }
    size_t len = 0;
    const void *raw = cs_tclient_last_raw(s_query, &len);
    s_fnv(q, strlen(q) + 1);
    s_fnv(raw, len);
    if (s_dump) {
        fprintf(s_dump, "%s|%lld|%lld|%d|%zu\n", q, (long long)limit, (long long)offset,
                billable_only, len);
        fwrite(raw, 1, len, s_dump);
        fputc('\n', s_dump);
    }
    return r;
}

static const msgpack_object *s_hits(const msgpack_object *r)
{
    const msgpack_object *h = cs_obj_get(r, "hits");
    if (!h || h->type != MSGPACK_OBJECT_ARRAY) {
        ck_abort_msg("reply without hits");
    }
    return h;
}

/* The codes of a reply's hits, NUL-separated into out (cleared); their count. */
static uint32_t s_codes(const msgpack_object *r, char (*out)[16], uint32_t cap)
{
    const msgpack_object *h = s_hits(r);
    uint32_t n = h->via.array.size < cap ? h->via.array.size : cap;
    for (uint32_t i = 0; i < n; i++) {
        cs_obj_cstr(cs_obj_get(&h->via.array.ptr[i], "code"), out[i], sizeof out[i]);
    }
    return n;
}

static int s_start(void)
{
    char tables[PATH_MAX], order[PATH_MAX], defs[PATH_MAX], index[PATH_MAX];
    if (!cs_test_data_path(T_DIR "icd10pcs_tables_2025.xml", tables, sizeof tables) ||
        !cs_test_data_path(T_DIR "icd10pcs_order_2025.txt", order, sizeof order) ||
        !cs_test_data_path(T_DIR "icd10pcs_definitions_2025.xml", defs, sizeof defs) ||
        !cs_test_data_path(T_DIR "icd10pcs_index_2025.xml", index, sizeof index)) {
        return 0;
    }
    char abs[4][PATH_MAX];
    ck_assert_ptr_nonnull(realpath(tables, abs[0]));
    ck_assert_ptr_nonnull(realpath(order, abs[1]));
    ck_assert_ptr_nonnull(realpath(defs, abs[2]));
    ck_assert_ptr_nonnull(realpath(index, abs[3]));
    memset(&s_d, 0, sizeof s_d);
    ck_assert_int_eq(cs_daemon_start(&s_d, NULL), 0);
    s_admin = cs_tclient_new(s_d.admin_ep);
    s_query = cs_tclient_new(s_d.query_ep);
    ck_assert_ptr_nonnull(s_admin);
    ck_assert_ptr_nonnull(s_query);
    const char *files[] = {abs[0], abs[1], abs[2], abs[3]};
    char state[64];
    const msgpack_object *r = cs_daemon_load(&s_d, s_admin, NULL, "2025", "2024-10-01", files,
                                             4, state, sizeof state, 120000);
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(state, "done");
    return 1;
}

static void s_stop(void)
{
    cs_tclient_destroy(&s_query);
    cs_tclient_destroy(&s_admin);
    ck_assert_int_eq(cs_daemon_stop(&s_d), 0);
    cs_daemon_cleanup(&s_d);
}

/* The hits of one query, four ways: what holds of them whatever the digest. */
static void s_check_query(const char *q)
{
    static char all[60][16], page[20][16], bill[50][16];
    const msgpack_object *r = s_search(q, -1, -1, 0);
    if (!cs_obj_true(cs_obj_get(r, "ok"))) {
        ck_abort_msg("search '%s' failed", q);
    }
    int64_t total = cs_obj_int(cs_obj_get(r, "total"));
    r = s_search(q, 60, 0, 0);
    uint32_t n_all = s_codes(r, all, 60);
    if (cs_obj_int(cs_obj_get(r, "total")) != total ||
        (int64_t)n_all != (total < 60 ? total : 60)) {
        ck_abort_msg("'%s': total %lld, then %u of %lld hits with limit 60", q,
                     (long long)total, n_all, (long long)cs_obj_int(cs_obj_get(r, "total")));
    }
    /* a page is the slice of the longer list at its offset */
    uint32_t n_page = s_codes(s_search(q, 20, 20, 0), page, 20);
    for (uint32_t i = 0; i < n_page; i++) {
        if (20 + i >= n_all || strcmp(page[i], all[20 + i]) != 0) {
            ck_abort_msg("'%s': hit %u of the page at 20 is %s, not the list's", q, i, page[i]);
        }
    }
    /* billable_only keeps only billable hits, and never more than all */
    r = s_search(q, 50, -1, 1);
    const msgpack_object *h = s_hits(r);
    uint32_t n_bill = s_codes(r, bill, 50);
    for (uint32_t i = 0; i < h->via.array.size; i++) {
        const msgpack_object *b = cs_obj_get(&h->via.array.ptr[i], "billable");
        if (b && !cs_obj_true(b)) {
            ck_abort_msg("'%s': billable_only gave %s, not billable", q, bill[i]);
        }
    }
    if (cs_obj_int(cs_obj_get(r, "total")) > total || n_bill > 50) {
        ck_abort_msg("'%s': billable_only found more than all", q);
    }
}

START_TEST(test_fixed_queries_answer_as_before)
{
    CS_SKIP_UNLESS_DATA(s_start(), T_DIR "icd10pcs_*_2025");
    const char *dump = getenv("CS_SEARCH_PCS_DUMP");
    s_dump = dump && *dump ? fopen(dump, "w") : NULL;
    s_digest = 0xcbf29ce484222325ULL;
    size_t n = sizeof s_queries / sizeof s_queries[0];
    for (size_t i = 0; i < n; i++) {
        s_check_query(s_queries[i]);
    }
    if (s_dump) {
        fclose(s_dump);
        s_dump = NULL;
    }
    fprintf(stderr, "search_pcs: %zu searches; digest %016llx\n", n * 4,
            (unsigned long long)s_digest);
    s_stop();
    ck_assert_msg(s_digest == T_DIGEST, "the replies differ from those of main at ecb01a6: "
                  "digest %016llx, not %016llx", (unsigned long long)s_digest,
                  (unsigned long long)T_DIGEST);
}
END_TEST

START_TEST(test_prefixes_and_words_find_their_codes)
{
    CS_SKIP_UNLESS_DATA(s_start(), T_DIR "icd10pcs_*_2025");
    static char codes[20][16];
    /* a code prefix finds codes that start with it, the whole code first */
    uint32_t n = s_codes(s_search("0DTJ4", 20, -1, 0), codes, 20);
    ck_assert_uint_gt(n, 0);
    for (uint32_t i = 0; i < n; i++) {
        ck_assert_msg(strncmp(codes[i], "0DTJ4", 5) == 0, "0DTJ4 found %s", codes[i]);
    }
    n = s_codes(s_search("0DTJ4ZZ", 5, -1, 0), codes, 5);
    ck_assert_uint_ge(n, 1);
    ck_assert_str_eq(codes[0], "0DTJ4ZZ");
    /* an index term names its codes: appendectomy is a resection of the appendix */
    n = s_codes(s_search("appendectomy", 20, -1, 0), codes, 20);
    ck_assert_uint_gt(n, 0);
    int found = 0;
    for (uint32_t i = 0; i < n; i++) {
        found |= strncmp(codes[i], "0DTJ", 4) == 0;
    }
    ck_assert_msg(found, "appendectomy finds no 0DTJ code");
    s_stop();
}
END_TEST

Suite *cs_search_pcs_suite(void);
Suite *cs_search_pcs_suite(void)
{
    Suite *s = suite_create("search_pcs");
    TCase *tc = tcase_create("ICD-10-PCS FY2025");
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, test_fixed_queries_answer_as_before);
    tcase_add_test(tc, test_prefixes_and_words_find_their_codes);
    suite_add_tcase(s, tc);
    return s;
}
