/* check_attrs_index.c: codes with attributes answered from the code index. Every ICD-10-PCS
 * FY2025 code (tables and order files) and every HCPCS 2025 code is looked up on two live
 * brokers loaded alike: one with code indexes, whose images hold the entries' attributes
 * (image version 3), and one without (--index-mib 0: every lookup reads the entry from
 * LMDB). The replies must be the same bytes; then the first broker is restarted, its indexes
 * mapped as it starts, and a share of the lookups asked again, alike. Skips, saying so, where
 * ../shared/data is absent. */
#include <check.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cs_daemon.h"
#include "cs_test.h"

#define T_PCS "icd10pcs/2025/"
#define T_HCPCS "hcpcs/HCPC2025_JAN_ANWEB_12172024.txt"
#define T_MAX_CODES 100000

typedef struct s_code {
    char system[12];
    char code[8];
} s_code_t;

static s_code_t *s_codes;
static size_t s_n_codes;

/* The codes of an ICD-10-PCS order file (every line: number, code, billable, titles). */
static void s_read_pcs_order(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char line[1024];
    while (s_n_codes < T_MAX_CODES && fgets(line, sizeof line, f)) {
        char code[16];
        if (sscanf(line + 6, "%15s", code) == 1 && strlen(code) < sizeof s_codes->code) {
            snprintf(s_codes[s_n_codes].system, sizeof s_codes->system, "icd10pcs");
            snprintf(s_codes[s_n_codes++].code, sizeof s_codes->code, "%s", code);
        }
    }
    fclose(f);
}

/* The codes of an HCPCS record file: a code's first record (sequence 00100), modifiers too
 * (their code is two characters after three blanks). */
static void s_read_hcpcs(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char line[2048];
    while (s_n_codes < T_MAX_CODES && fgets(line, sizeof line, f)) {
        if (strlen(line) < 11 || strncmp(line + 5, "00100", 5) != 0) {
            continue;
        }
        char code[8];
        snprintf(code, sizeof code, "%.5s", line);
        const char *c = code + strspn(code, " ");
        snprintf(s_codes[s_n_codes].system, sizeof s_codes->system, "hcpcs");
        snprintf(s_codes[s_n_codes++].code, sizeof s_codes->code, "%s", c);
    }
    fclose(f);
}

static int s_abs(const char *rel, char *abs)
{
    char path[PATH_MAX];
    return cs_test_data_path(rel, path, sizeof path) && realpath(path, abs) != NULL;
}

static void s_load(cs_daemon_t *d, const char *loader, const char *const *files, size_t n,
                   const char *effective)
{
    cs_tclient_t *admin = cs_tclient_new(d->admin_ep);
    char state[64];
    const msgpack_object *r = cs_daemon_load(d, admin, loader, "2025", effective, files, n,
                                             state, sizeof state, 120000);
    ck_assert_msg(r && strcmp(state, "done") == 0, "%s load: %s (see %s)", loader, state,
                  d->log);
    cs_tclient_destroy(&admin);
}

/* Every stride-th code looked up on a and b: the same bytes, each found with attributes. */
static void s_same_lookups(cs_tclient_t *a, cs_tclient_t *b, size_t stride)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    size_t with_attrs = 0, asked = 0;
    for (size_t i = 0; i < s_n_codes; i += stride) {
        msgpack_sbuffer_clear(&sb);
        int notes = i % 5 == 0; /* some ask for notes too: the index still answers */
        msgpack_pack_map(&pk, notes ? 4 : 3);
        cs_tpack_kv(&pk, "op", "lookup");
        cs_tpack_kv(&pk, "system", s_codes[i].system);
        cs_tpack_kv(&pk, "code", s_codes[i].code);
        if (notes) {
            cs_tpack_str(&pk, "include");
            msgpack_pack_array(&pk, 1);
            cs_tpack_str(&pk, "notes");
        }
        char why[256];
        const msgpack_object *r = cs_tclient_same_answer(a, b, sb.data, sb.size, why, sizeof why);
        ck_assert_msg(r != NULL, "%s %s: %s", s_codes[i].system, s_codes[i].code, why);
        ck_assert_msg(cs_obj_true(cs_obj_get(r, "found")), "%s %s not found",
                      s_codes[i].system, s_codes[i].code);
        with_attrs += cs_obj_get(r, "attributes") != NULL;
        asked++;
    }
    msgpack_sbuffer_destroy(&sb);
    /* every PCS code has its axes; every HCPCS code but a few modifiers has attributes */
    ck_assert_uint_gt(with_attrs, asked * 9 / 10);
}

START_TEST(test_attributes_from_the_index_answer_alike)
{
    char pcs[2][PATH_MAX], hcpcs[PATH_MAX];
    if (!s_abs(T_PCS "icd10pcs_tables_2025.xml", pcs[0]) ||
        !s_abs(T_PCS "icd10pcs_order_2025.txt", pcs[1]) || !s_abs(T_HCPCS, hcpcs)) {
        printf("check_attrs_index: skipped, ../shared/data (ICD-10-PCS FY2025, HCPCS 2025) "
               "is absent\n");
        return;
    }
    s_codes = calloc(T_MAX_CODES, sizeof *s_codes);
    ck_assert_ptr_nonnull(s_codes);
    s_n_codes = 0;
    s_read_pcs_order(pcs[1]);
    size_t n_pcs = s_n_codes;
    s_read_hcpcs(hcpcs);
    ck_assert_uint_gt(n_pcs, 70000);
    ck_assert_uint_gt(s_n_codes - n_pcs, 7000);
    cs_daemon_t d[2];
    memset(d, 0, sizeof d);
    const char *no_index[] = {"--index-mib", "0", NULL};
    ck_assert_int_eq(cs_daemon_start(&d[0], NULL), 0);
    ck_assert_int_eq(cs_daemon_start(&d[1], no_index), 0);
    for (int i = 0; i < 2; i++) {
        const char *pcs_files[] = {pcs[0], pcs[1]};
        const char *hcpcs_files[] = {hcpcs};
        s_load(&d[i], "icd10pcs-tables", pcs_files, 2, "2024-10-01");
        s_load(&d[i], "hcpcs-anweb", hcpcs_files, 1, "2025-01-01");
    }
    cs_tclient_t *a = cs_tclient_new(d[0].query_ep), *b = cs_tclient_new(d[1].query_ep);
    /* a lookup of each asks for its index; wait until both are published */
    static const char *const first[][2] = {{"icd10pcs", "0C500ZZ"}, {"hcpcs", "E0781"}};
    int64_t n = 0;
    for (int i = 0; i < 3000 && n < 2; i++) {
        for (int k = 0; k < 2; k++) {
            msgpack_packer *pk = cs_tclient_begin(a);
            msgpack_pack_map(pk, 3);
            cs_tpack_kv(pk, "op", "lookup");
            cs_tpack_kv(pk, "system", first[k][0]);
            cs_tpack_kv(pk, "code", first[k][1]);
            ck_assert_ptr_nonnull(cs_tclient_call(a, 10000));
        }
        n = cs_tclient_code_indexes(a);
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(cs_tclient_code_indexes(b), 0);
    s_same_lookups(a, b, 1);
    /* restarted: the images are mapped as it starts; the same answers */
    cs_tclient_destroy(&a);
    ck_assert_int_eq(cs_daemon_stop(&d[0]), 0);
    ck_assert_int_eq(cs_daemon_start(&d[0], NULL), 0);
    a = cs_tclient_new(d[0].query_ep);
    for (int i = 0; i < 1000 && cs_tclient_code_indexes(a) < 2; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    ck_assert_int_eq(cs_tclient_code_indexes(a), 2);
    s_same_lookups(a, b, 7);
    cs_tclient_destroy(&a);
    cs_tclient_destroy(&b);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(cs_daemon_stop(&d[i]), 0);
        cs_daemon_cleanup(&d[i]);
    }
    free(s_codes);
    s_codes = NULL;
}
END_TEST

Suite *cs_attrs_index_suite(void);

Suite *cs_attrs_index_suite(void)
{
    Suite *s = suite_create("attrs_index");
    TCase *tc = tcase_create("attributes from the code index");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_attributes_from_the_index_answer_alike);
    suite_add_tcase(s, tc);
    return s;
}
