/* check_fhir_conceptmap.c: the fhir-conceptmap loader through the recording mock host:
 * hand-written R4 and R5 ConceptMaps and a Bundle (rows, map ids, systems, relationships and
 * flags), hostile files (each error at its file and line), emit failure, cancel, progress. */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "codeset/cs_plugin.h"
#include "cs_test.h"
#include "loader_test.h"
#include "mock_host.h"

static void *s_dl;
static const cs_plugin_desc_t *s_desc;

static void s_setup(void)
{
    s_desc = cs_loader_test_open("fhir-conceptmap", &s_dl);
}

static void s_teardown(void)
{
    cs_loader_test_close(&s_dl);
    s_desc = NULL;
}

static void s_fixture(const char *name, char *out, size_t cap)
{
    cs_loader_test_fixture("fhir", name, out, cap);
}

static int s_load_paths(cs_mock_host_t *m, const char *const *files, size_t n, cs_error_t *err)
{
    return cs_loader_test_run(s_desc, m, files, n, err);
}

static int s_load_into(cs_mock_host_t *m, const char *const *names, size_t n, cs_error_t *err)
{
    char paths[4][PATH_MAX];
    const char *files[4];
    ck_assert_uint_le(n, 4);
    for (size_t i = 0; i < n; i++) {
        s_fixture(names[i], paths[i], sizeof paths[i]);
        files[i] = paths[i];
    }
    return s_load_paths(m, files, n, err);
}

static cs_mock_host_t *s_load_ok(const char *const *names, size_t n)
{
    cs_mock_host_t *m = cs_mock_host_new(1);
    ck_assert_ptr_nonnull(m);
    cs_error_t err;
    int rc = s_load_into(m, names, n, &err);
    ck_assert_msg(rc == CS_OK, "load failed: %s:%u:%u: %s", err.file, err.line, err.column,
                  err.msg);
    const char *why;
    ck_assert_msg(cs_mock_host_violations(m, &why) == 0, "host contract: %s", why);
    return m;
}

/* Check row i. target NULL: a no-map row; rel NULL: no relationship. */
static void s_row(cs_mock_host_t *m, size_t i, const char *map, const char *from,
                  const char *to, const char *source, const char *target, uint32_t flags,
                  const char *rel)
{
    const cs_mock_map_row_t *r = cs_mock_host_map_row(m, i);
    ck_assert_msg(r != NULL, "no row %zu", i);
    ck_assert_str_eq(r->map, map);
    ck_assert_str_eq(r->from_system, from);
    ck_assert_str_eq(r->to_system, to);
    ck_assert_str_eq(r->source, source);
    if (target) {
        ck_assert_ptr_nonnull(r->target);
        ck_assert_str_eq(r->target, target);
    } else {
        ck_assert_ptr_null(r->target);
    }
    ck_assert_msg(r->flags == flags, "row %zu (%s) flags 0x%x, expected 0x%x", i, source,
                  r->flags, flags);
    ck_assert_int_eq(r->scenario, 0);
    ck_assert_int_eq(r->choice, 0);
    if (rel) {
        ck_assert_ptr_nonnull(r->relationship);
        ck_assert_str_eq(r->relationship, rel);
    } else {
        ck_assert_ptr_null(r->relationship);
    }
}

START_TEST(test_descriptor)
{
    ck_assert_uint_eq(s_desc->abi_major, CS_ABI_MAJOR);
    ck_assert_uint_le(s_desc->abi_minor, CS_ABI_MINOR);
    ck_assert_uint_ge(s_desc->abi_minor, 1); /* ABI 1.1: map rows, or any system */
    ck_assert_uint_eq(s_desc->struct_size, sizeof(cs_plugin_desc_t));
    ck_assert_uint_eq(s_desc->kind, CS_PLUGIN_LOADER);
    ck_assert_str_eq(s_desc->name, "fhir-conceptmap");
    const cs_loader_ops_t *ops = s_desc->loader;
    ck_assert_ptr_nonnull(ops);
    ck_assert_str_eq(ops->systems[0], "conceptmap");
    ck_assert_ptr_null(ops->systems[1]);
    ck_assert_uint_eq(ops->flags, CS_LOADER_MAPS | CS_LOADER_ANY_SYSTEM);
}
END_TEST

START_TEST(test_sniff)
{
    char a[PATH_MAX];
    char b[PATH_MAX];
    s_fixture("cm_r4.xml", a, sizeof a);
    s_fixture("cm_bundle.xml", b, sizeof b);
    const char *two[] = {a, b};
    ck_assert_int_eq(s_desc->loader->sniff(two, 2), 1);
    static const char *const no[] = {"cm_wrong_root.xml", "cm_not_xml.xml", "cm_empty.xml",
                                     "cm_wrong_namespace.xml"};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        s_fixture(no[i], b, sizeof b);
        const char *one[] = {b};
        ck_assert_msg(s_desc->loader->sniff(one, 1) == 0, "sniff took %s", no[i]);
        ck_assert_int_eq(s_desc->loader->sniff(two, 2), 0);
    }
    cs_test_fixture_path("icd10cm/mini.xml", b, sizeof b);
    const char *one[] = {b};
    ck_assert_int_eq(s_desc->loader->sniff(one, 1), 0);
    const char *missing[] = {"/nonexistent/cm.xml"};
    ck_assert_int_eq(s_desc->loader->sniff(missing, 1), 0);
    ck_assert_int_eq(s_desc->loader->sniff(two, 0), 0);
}
END_TEST

START_TEST(test_r4)
{
    static const char *const names[] = {"cm_r4.xml"};
    cs_mock_host_t *m = s_load_ok(names, 1);
    ck_assert_uint_eq(cs_mock_host_map_count(m), 9);
    const char *G1 = "dx-test#1";
    const char *A = "icd10cm";
    const char *B = "icd9cm";
    s_row(m, 0, G1, A, B, "E11.9", "250.00", CS_MAP_APPROXIMATE, "wider");
    s_row(m, 1, G1, A, B, "A00.0", "001.0", 0, "equivalent");
    s_row(m, 2, G1, A, B, "A02.1", "003.1", CS_MAP_APPROXIMATE, "narrower");
    s_row(m, 3, G1, A, B, "A02.1", "995.91", CS_MAP_APPROXIMATE, "inexact");
    s_row(m, 4, G1, A, B, "R29.700", NULL, CS_MAP_NO_MAP, "unmatched");
    s_row(m, 5, G1, A, B, "Z99.89", NULL, CS_MAP_NO_MAP, NULL);
    s_row(m, 6, G1, A, B, "A01.00", NULL, CS_MAP_NO_MAP, "disjoint");
    s_row(m, 7, G1, A, B, "A01.1", "002.1", 0, NULL);
    /* The second group: a SNOMED CT URI with a |version suffix. */
    s_row(m, 8, "dx-test#2", "snomedct", A, "44054006", "E11.9", CS_MAP_APPROXIMATE,
          "relatedto");
    ck_assert_uint_eq(cs_mock_host_count(m), 0);
    char path[PATH_MAX];
    struct stat st;
    s_fixture(names[0], path, sizeof path);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(cs_mock_host_progress_last(m), (uint64_t)st.st_size);
    cs_mock_host_destroy(&m);
}
END_TEST

START_TEST(test_r5)
{
    static const char *const names[] = {"cm_r5.xml"};
    cs_mock_host_t *m = s_load_ok(names, 1);
    ck_assert_uint_eq(cs_mock_host_map_count(m), 4);
    /* No <id>: the name names the map; one group: no suffix. */
    const char *M = "PcsR5";
    s_row(m, 0, M, "icd10pcs", "hcpcs", "0016070", "C9399", CS_MAP_APPROXIMATE,
          "source-is-narrower-than-target");
    s_row(m, 1, M, "icd10pcs", "hcpcs", "0W3P8ZZ", NULL, CS_MAP_NO_MAP, NULL);
    s_row(m, 2, M, "icd10pcs", "hcpcs", "XY0VX83", "C9399", 0, "equivalent");
    s_row(m, 3, M, "icd10pcs", "hcpcs", "XY0VX83", NULL, CS_MAP_NO_MAP, "not-related-to");
    cs_mock_host_destroy(&m);
}
END_TEST

START_TEST(test_bundle_and_files)
{
    static const char *const names[] = {"cm_bundle.xml", "cm_r5.xml"};
    cs_mock_host_t *m = s_load_ok(names, 2);
    ck_assert_uint_eq(cs_mock_host_map_count(m), 2 + 4);
    s_row(m, 0, "cpt-hcpcs", "cpt", "hcpcs", "0901T", "G9901", 0, "equivalent");
    s_row(m, 1, "icd9-icd10", "icd9cm", "icd10cm", "250.00", "E11.9", CS_MAP_APPROXIMATE,
          "narrower");
    s_row(m, 2, "PcsR5", "icd10pcs", "hcpcs", "0016070", "C9399", CS_MAP_APPROXIMATE,
          "source-is-narrower-than-target");
    uint64_t total = 0;
    for (size_t i = 0; i < 2; i++) {
        char path[PATH_MAX];
        struct stat st;
        s_fixture(names[i], path, sizeof path);
        ck_assert_int_eq(stat(path, &st), 0);
        total += (uint64_t)st.st_size;
    }
    ck_assert_uint_eq(cs_mock_host_progress_last(m), total);
    cs_mock_host_destroy(&m);
}
END_TEST

START_TEST(test_same_id_in_two_files)
{
    cs_mock_host_t *m = cs_mock_host_new(0);
    cs_error_t err;
    static const char *const names[] = {"cm_r5.xml", "cm_r5.xml"};
    ck_assert_int_eq(s_load_into(m, names, 2, &err), CS_EMALFORMED);
    ck_assert_str_eq(err.file, "cm_r5.xml");
    ck_assert_uint_eq(err.line, 3);
    ck_assert_msg(strstr(err.msg, "map id 'PcsR5' is used by two ConceptMaps (the other at "
                                  "cm_r5.xml:3)") != NULL,
                  "%s", err.msg);
    cs_mock_host_destroy(&m);
}
END_TEST

/* A hostile fixture: file, expected code, line (0: any), words of the message. */
typedef struct s_bad {
    const char *file;
    int rc;
    unsigned line;
    const char *want;
} s_bad_t;

static const s_bad_t s_bads[] = {
    {"cm_no_code.xml", CS_EMALFORMED, 11, "a ConceptMap <element> without a <code>"},
    {"cm_no_code_no_target.xml", CS_EMALFORMED, 7, "a ConceptMap <element> without a <code>"},
    {"cm_unknown_system.xml", CS_EMALFORMED, 5,
     "'http://example.org/fhir/CodeSystem/local-codes' is not one codeset knows"},
    {"cm_unknown_equivalence.xml", CS_EMALFORMED, 9, "unknown equivalence/relationship "
                                                     "'roughly'"},
    {"cm_target_no_code.xml", CS_EMALFORMED, 9, "a <target> without a <code> (its equivalence "
                                                "is 'wider'"},
    {"cm_no_id.xml", CS_EMALFORMED, 2, "neither <id> nor <name>"},
    {"cm_group_no_target.xml", CS_EMALFORMED, 4, "a <group> without a <target> system"},
    {"cm_duplicate_id.xml", CS_EMALFORMED, 11, "map id 'twice' is used by two ConceptMaps "
                                               "(the other at cm_duplicate_id.xml:3)"},
    {"cm_nomap_with_target.xml", CS_EMALFORMED, 7, "says noMap but has 1 target"},
    {"cm_long_code.xml", CS_EMALFORMED, 8, "is longer than 31 characters"},
    {"cm_xxe.xml", CS_EMALFORMED, 2, "a DOCTYPE is not allowed"},
    {"cm_billion_laughs.xml", CS_EMALFORMED, 2, "a DOCTYPE is not allowed"},
    {"cm_undeclared_entity.xml", CS_EMALFORMED, 3, "undeclared"},
    {"cm_wrong_root.xml", CS_EMALFORMED, 2, "the root element is <Patient>"},
    {"cm_wrong_namespace.xml", CS_EMALFORMED, 2, "not in the FHIR namespace"},
    {"cm_truncated.xml", CS_EMALFORMED, 0, ""},
    {"cm_empty_bundle.xml", CS_EMALFORMED, 2, "the Bundle holds no ConceptMap"},
    {"cm_not_xml.xml", CS_EMALFORMED, 1, ""},
    {"cm_empty.xml", CS_EMALFORMED, 0, ""},
};

START_TEST(test_hostile)
{
    const s_bad_t *b = &s_bads[_i];
    cs_mock_host_t *m = cs_mock_host_new(0);
    cs_error_t err;
    const char *names[] = {b->file};
    int rc = s_load_into(m, names, 1, &err);
    ck_assert_msg(rc == b->rc, "%s: rc %d, expected %d (%s)", b->file, rc, b->rc, err.msg);
    ck_assert_int_eq(err.code, b->rc);
    ck_assert_str_eq(err.file, b->file);
    ck_assert_msg(b->line == 0 || err.line == b->line, "%s: line %u, expected %u (%s)", b->file,
                  err.line, b->line, err.msg);
    ck_assert_msg(err.line > 0, "%s: no line (%s)", b->file, err.msg);
    ck_assert_msg(strstr(err.msg, b->want) != NULL, "%s: message lacks \"%s\": \"%s\"", b->file,
                  b->want, err.msg);
    ck_assert_msg(err.msg[0] != '\0', "%s: empty message", b->file);
    const char *why;
    ck_assert_msg(cs_mock_host_violations(m, &why) == 0, "host contract: %s", why);
    cs_mock_host_destroy(&m);
}
END_TEST

START_TEST(test_bad_arguments)
{
    cs_mock_host_t *m = cs_mock_host_new(0);
    cs_error_t err;
    const char *none[] = {NULL};
    ck_assert_int_eq(s_load_paths(m, none, 1, &err), CS_EINVAL);
    ck_assert_int_eq(s_load_paths(m, none, 0, &err), CS_EINVAL);
    const char *missing[] = {"/nonexistent/cm.xml"};
    ck_assert_int_eq(s_load_paths(m, missing, 1, &err), CS_EIO);
    ck_assert_str_eq(err.file, "cm.xml");
    cs_host_api_t old = *cs_mock_host_api(m);
    old.struct_size = (uint32_t)offsetof(cs_host_api_t, emit_map);
    char path[PATH_MAX];
    s_fixture("cm_r4.xml", path, sizeof path);
    const char *files[] = {path};
    ck_assert_int_eq(s_desc->loader->load(&old, cs_mock_host_sink(m), files, 1, &err),
                     CS_EINVAL);
    ck_assert_uint_eq(cs_mock_host_map_count(m), 0);
    cs_mock_host_destroy(&m);
}
END_TEST

START_TEST(test_emit_failure)
{
    cs_mock_host_t *m = cs_mock_host_new(0);
    cs_mock_host_fail_emit(m, 3, CS_ESPACE);
    cs_error_t err;
    static const char *const names[] = {"cm_r4.xml"};
    ck_assert_int_eq(s_load_into(m, names, 1, &err), CS_ESPACE);
    ck_assert_int_eq(err.code, CS_ESPACE);
    ck_assert_msg(strstr(err.msg, "fails on purpose") != NULL, "%s", err.msg);
    ck_assert_uint_eq(cs_mock_host_map_count(m), 2);
    cs_mock_host_destroy(&m);
}
END_TEST

/* A ConceptMap of n elements, one target each, in dir; its path in out. */
static void s_write_big(const char *dir, size_t n, char *out, size_t cap)
{
    snprintf(out, cap, "%s/big.xml", dir);
    FILE *fp = fopen(out, "wb");
    ck_assert_ptr_nonnull(fp);
    fprintf(fp, "<ConceptMap xmlns=\"http://hl7.org/fhir\"><id value=\"big\"/><group>"
                "<source value=\"http://hl7.org/fhir/sid/icd-9-cm\"/>"
                "<target value=\"http://hl7.org/fhir/sid/icd-10-cm\"/>\n");
    for (size_t i = 0; i < n; i++) {
        fprintf(fp, "<element><code value=\"%05zu\"/><target><code value=\"A%03zu\"/>"
                    "<equivalence value=\"equivalent\"/></target></element>\n",
                i, i % 1000);
    }
    fprintf(fp, "</group></ConceptMap>\n");
    ck_assert_int_eq(fclose(fp), 0);
}

START_TEST(test_cancel_and_progress)
{
    char dir[PATH_MAX];
    char path[PATH_MAX];
    cs_test_tmpdir(dir, sizeof dir);
    s_write_big(dir, 20000, path, sizeof path);
    const char *files[] = {path};
    cs_error_t err;

    cs_mock_host_t *m = cs_mock_host_new(0);
    cs_mock_host_cancel_after(m, 2);
    ck_assert_int_eq(s_load_paths(m, files, 1, &err), CS_ETERM);
    ck_assert_str_eq(err.file, "big.xml");
    ck_assert_uint_gt(err.line, 0);
    ck_assert_uint_eq(cs_mock_host_map_count(m), 0);
    cs_mock_host_destroy(&m);

    m = cs_mock_host_new(0);
    ck_assert_int_eq(s_load_paths(m, files, 1, &err), CS_OK);
    ck_assert_uint_eq(cs_mock_host_map_count(m), 20000);
    s_row(m, 19999, "big", "icd9cm", "icd10cm", "19999", "A999", 0, "equivalent");
    ck_assert_uint_ge(cs_mock_host_progress_calls(m), 10);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(cs_mock_host_progress_last(m), (uint64_t)st.st_size);
    const char *why;
    ck_assert_msg(cs_mock_host_violations(m, &why) == 0, "host contract: %s", why);
    cs_mock_host_destroy(&m);
    cs_test_rmtree(dir);
}
END_TEST

Suite *cs_fhir_conceptmap_suite(void);
Suite *cs_fhir_conceptmap_suite(void)
{
    Suite *s = suite_create("fhir_conceptmap");
    TCase *tc = tcase_create("fixtures");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_descriptor);
    tcase_add_test(tc, test_sniff);
    tcase_add_test(tc, test_r4);
    tcase_add_test(tc, test_r5);
    tcase_add_test(tc, test_bundle_and_files);
    tcase_add_test(tc, test_same_id_in_two_files);
    suite_add_tcase(s, tc);

    tc = tcase_create("hostile");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_hostile, 0, (int)(sizeof s_bads / sizeof s_bads[0]));
    tcase_add_test(tc, test_bad_arguments);
    tcase_add_test(tc, test_emit_failure);
    tcase_add_test(tc, test_cancel_and_progress);
    suite_add_tcase(s, tc);
    return s;
}
