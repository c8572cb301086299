/* check_fhir_codesystem.c: the fhir-codesystem loader through the recording mock host: the
 * bundled synthetic CPT-shaped sample (hierarchy, kinds, billable flags, titles, short titles,
 * definitions, attributes, search terms, rec->system; every code and kind accepted by the cpt
 * plugin when it is built), hostile files (each error at its file and line), duplicate codes
 * within and across files, emit failure, cancel, progress. */
#include <check.h>
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codeset/cs_plugin.h"
#include "cs_test.h"
#include "loader_test.h"
#include "mock_host.h"

static void *s_dl;
static const cs_plugin_desc_t *s_desc;

static void s_setup(void)
{
    s_desc = cs_loader_test_open("fhir-codesystem", &s_dl);
}

static void s_teardown(void)
{
    cs_loader_test_close(&s_dl);
    s_desc = NULL;
}

static void s_sample(char *out, size_t cap)
{
    char cwd[PATH_MAX];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    snprintf(out, cap, "%s/loaders/fhir-codesystem/sample/cpt_synthetic.xml", cwd);
}

static void s_fixture(const char *name, char *out, size_t cap)
{
    cs_loader_test_fixture("fhir", name, out, cap);
}

static int s_load_paths(cs_mock_host_t *m, const char *const *files, size_t n, cs_error_t *err)
{
    return cs_loader_test_run(s_desc, m, files, n, err);
}

static cs_mock_host_t *s_load_ok(const char *const *files, size_t n)
{
    cs_mock_host_t *m = cs_mock_host_new(1);
    ck_assert_ptr_nonnull(m);
    cs_error_t err;
    int rc = s_load_paths(m, files, n, &err);
    ck_assert_msg(rc == CS_OK, "load failed: %s:%u:%u: %s", err.file, err.line, err.column,
                  err.msg);
    const char *why;
    ck_assert_msg(cs_mock_host_violations(m, &why) == 0, "host contract: %s", why);
    return m;
}

static const cs_mock_record_t *s_expect(cs_mock_host_t *m, const char *code, const char *kind,
                                        int billable, const char *parent, const char *title)
{
    const cs_mock_record_t *r = cs_mock_host_find(m, CS_CLASS_CODE, code);
    ck_assert_msg(r != NULL, "no record %s", code);
    ck_assert_str_eq(r->kind, kind);
    ck_assert_msg(r->billable == billable, "%s billable %d", code, r->billable);
    if (parent) {
        ck_assert_ptr_nonnull(r->parent);
        ck_assert_str_eq(r->parent, parent);
        ck_assert_int_eq(r->parent_cls, CS_CLASS_CODE);
    } else {
        ck_assert_ptr_null(r->parent);
    }
    ck_assert_str_eq(r->title, title);
    return r;
}

START_TEST(test_descriptor)
{
    ck_assert_uint_eq(s_desc->abi_major, CS_ABI_MAJOR);
    ck_assert_uint_le(s_desc->abi_minor, CS_ABI_MINOR);
    ck_assert_uint_ge(s_desc->abi_minor, 1); /* ABI 1.1: map rows, or any system */
    ck_assert_uint_eq(s_desc->struct_size, sizeof(cs_plugin_desc_t));
    ck_assert_uint_eq(s_desc->kind, CS_PLUGIN_LOADER);
    ck_assert_str_eq(s_desc->name, "fhir-codesystem");
    const cs_loader_ops_t *ops = s_desc->loader;
    ck_assert_ptr_nonnull(ops);
    ck_assert_str_eq(ops->systems[0], "*");
    ck_assert_ptr_null(ops->systems[1]);
    ck_assert_uint_eq(ops->flags, CS_LOADER_ANY_SYSTEM);
}
END_TEST

START_TEST(test_sniff)
{
    char a[PATH_MAX];
    char b[PATH_MAX];
    s_sample(a, sizeof a);
    s_fixture("cs_local.xml", b, sizeof b);
    const char *two[] = {a, b};
    ck_assert_int_eq(s_desc->loader->sniff(two, 2), 1);
    static const char *const no[] = {"cs_wrong_root.xml", "cm_r4.xml", "cm_not_xml.xml",
                                     "cm_empty.xml"};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        s_fixture(no[i], b, sizeof b);
        const char *one[] = {b};
        ck_assert_msg(s_desc->loader->sniff(one, 1) == 0, "sniff took %s", no[i]);
        ck_assert_int_eq(s_desc->loader->sniff(two, 2), 0);
    }
    const char *missing[] = {"/nonexistent/cs.xml"};
    ck_assert_int_eq(s_desc->loader->sniff(missing, 1), 0);
    ck_assert_int_eq(s_desc->loader->sniff(two, 0), 0);
}
END_TEST

START_TEST(test_sample)
{
    char path[PATH_MAX];
    s_sample(path, sizeof path);
    const char *files[] = {path};
    cs_mock_host_t *m = s_load_ok(files, 1);
    ck_assert_uint_eq(cs_mock_host_count(m), 12);
    ck_assert_uint_eq(cs_mock_host_emitted(m, CS_CLASS_CODE), 12);
    ck_assert_uint_eq(cs_mock_host_billable(m), 6);
    /* Headers: notSelectable; kind from the property, else "category". */
    s_expect(m, "99900", "section", 0, NULL, "Synthetic section: widget calibration services");
    s_expect(m, "99910", "category", 0, "99900", "Synthetic category: gauge checks");
    s_expect(m, "99920", "category", 0, "99900", "Synthetic category: dial alignment");
    /* A code with a child stays billable (FHIR: selectable unless notSelectable). */
    const cs_mock_record_t *r =
        s_expect(m, "99911", "code", 1, "99910", "Gauge check of a test widget; first gauge");
    ck_assert_str_eq(r->short_title, "Gauge check 1st");
    ck_assert_uint_eq(r->n_notes, 1);
    ck_assert_str_eq(r->notes[0].type, "definition");
    ck_assert_ptr_null(r->notes[0].label);
    ck_assert_str_eq(r->notes[0].text, "A made-up service used only to exercise the loader.");
    ck_assert_uint_eq(r->n_terms, 1);
    ck_assert_str_eq(r->terms[0], "Checking one gauge on a pretend widget");
    ck_assert_uint_eq(r->n_attrs, 2);
    ck_assert_str_eq(r->attr_names[0], "effectiveDate");
    ck_assert_str_eq(r->attr_values[0], "2099-01-01");
    ck_assert_str_eq(cs_mock_record_attr(r, "category"), "calibration");
    r = s_expect(m, "99912", "code", 1, "99911",
                 "Gauge check of a test widget; each further gauge");
    ck_assert_str_eq(r->short_title, "Gauge check addl");
    ck_assert_str_eq(cs_mock_record_attr(r, "status"), "active");
    ck_assert_uint_eq(r->n_terms, 0);
    ck_assert_uint_eq(r->n_notes, 0);
    /* Retired, deprecated, inactive: not billable; the reason stays as an attribute. */
    r = s_expect(m, "99913", "code", 0, "99910", "Gauge check of a retired widget model");
    ck_assert_str_eq(cs_mock_record_attr(r, "status"), "retired");
    ck_assert_ptr_null(r->short_title);
    r = s_expect(m, "0990T", "code", 0, NULL, "Synthetic emerging service: laser widget tuning");
    ck_assert_str_eq(cs_mock_record_attr(r, "status"), "deprecated");
    r = s_expect(m, "99922", "code", 0, "99920", "Dial alignment, complex");
    ck_assert_str_eq(cs_mock_record_attr(r, "inactive"), "true");
    s_expect(m, "99921", "code", 1, "99920", "Dial alignment, simple");
    /* kind and notSelectable are not attributes: they became kind and billable. */
    r = s_expect(m, "9901F", "code", 1, NULL,
                 "Synthetic performance measure: widget calibrated on time");
    ck_assert_uint_eq(r->n_attrs, 0);
    r = s_expect(m, "99930", "code", 1, NULL, "Synthetic code selectable by FHIR default");
    ck_assert_uint_eq(r->n_attrs, 0);
    /* No display: the definition is the title (and still the definition note). */
    r = s_expect(m, "0990U", "code", 1, NULL,
                 "Synthetic lab analysis of widget residue; no display, so this is the title");
    ck_assert_uint_eq(r->n_notes, 1);
    /* Emission order is the file's, parents first. */
    static const char *const order[] = {"99900", "99910", "99911", "99912", "99913", "99920",
                                        "99921", "99922", "9901F", "0990T", "0990U", "99930"};
    for (size_t i = 0; i < 12; i++) {
        ck_assert_str_eq(cs_mock_host_record(m, i)->code, order[i]);
        ck_assert_int_eq(cs_mock_host_record(m, i)->cls, CS_CLASS_CODE);
    }
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(cs_mock_host_progress_last(m), (uint64_t)st.st_size);
    cs_mock_host_destroy(&m);
}
END_TEST

/* ---- rec->system, through a host of our own (the mock does not keep it) ---------------- */

/* What the system host saw. */
typedef struct s_sys_sink {
    char systems[4][16]; /* the distinct rec->system values, in order */
    size_t n;            /* how many */
    size_t records;      /* emit calls */
} s_sys_sink_t;

static int s_sys_emit(cs_sink_t *sink, const cs_record_t *rec, cs_error_t *err)
{
    (void)err;
    s_sys_sink_t *s = (s_sys_sink_t *)sink;
    s->records++;
    if (s->n == 0 || strcmp(s->systems[s->n - 1], rec->system) != 0) {
        if (s->n < 4) {
            snprintf(s->systems[s->n++], sizeof s->systems[0], "%s", rec->system);
        }
    }
    return CS_OK;
}

START_TEST(test_record_system)
{
    char a[PATH_MAX];
    char b[PATH_MAX];
    s_sample(a, sizeof a);
    s_fixture("cs_local.xml", b, sizeof b);
    const char *files[] = {a, b};
    cs_host_api_t host = {.struct_size = sizeof(cs_host_api_t), .emit = s_sys_emit};
    s_sys_sink_t sink = {0};
    cs_error_t err;
    cs_error_clear(&err);
    int rc = s_desc->loader->load(&host, (cs_sink_t *)&sink, files, 2, &err);
    ck_assert_msg(rc == CS_OK, "%s:%u: %s", err.file, err.line, err.msg);
    ck_assert_uint_eq(sink.records, 13);
    ck_assert_uint_eq(sink.n, 2);
    ck_assert_str_eq(sink.systems[0], "cpt");
    ck_assert_str_eq(sink.systems[1], "*");
}
END_TEST

START_TEST(test_designations_as_terms)
{
    char path[PATH_MAX];
    s_fixture("cs_local.xml", path, sizeof path);
    const char *files[] = {path};
    cs_mock_host_t *m = s_load_ok(files, 1);
    const cs_mock_record_t *r = s_expect(m, "L-1", "code", 1, NULL, "Local code one");
    /* The designation equal to the display is not repeated as a term. */
    ck_assert_uint_eq(r->n_terms, 1);
    ck_assert_str_eq(r->terms[0], "First local code");
    ck_assert_ptr_null(r->short_title);
    cs_mock_host_destroy(&m);
}
END_TEST

/* Every code and kind of the sample is one the cpt system plugin takes (when it is built). */
START_TEST(test_sample_fits_cpt_plugin)
{
    char so[PATH_MAX];
    snprintf(so, sizeof so, "%s/plugins/cpt.so", cs_test_build_dir());
    void *dl = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        fprintf(stderr, "SKIP %s: %s not built\n", __func__, so);
        return;
    }
    const cs_plugin_desc_t *cpt = dlsym(dl, "cs_plugin_cpt");
    ck_assert_ptr_nonnull(cpt);
    ck_assert_ptr_nonnull(cpt->system);
    char path[PATH_MAX];
    s_sample(path, sizeof path);
    const char *files[] = {path};
    cs_mock_host_t *m = s_load_ok(files, 1);
    for (size_t i = 0; i < cs_mock_host_count(m); i++) {
        const cs_mock_record_t *r = cs_mock_host_record(m, i);
        cs_code_t out;
        cs_error_t err;
        cs_error_clear(&err);
        ck_assert_msg(cpt->system->normalize(r->code, strlen(r->code), &out, &err) == CS_OK,
                      "cpt refuses %s: %s", r->code, err.msg);
        int known = 0;
        for (const char *const *k = cpt->system->kinds; k && *k; k++) {
            known = known || strcmp(*k, r->kind) == 0;
        }
        ck_assert_msg(known, "cpt has no kind '%s' (%s)", r->kind, r->code);
    }
    cs_mock_host_destroy(&m);
    dlclose(dl);
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
    {"cs_duplicate.xml", CS_EMALFORMED, 12, "concept code '99901' appears twice: on line 7 and "
                                            "on line 12"},
    {"cs_no_code.xml", CS_EMALFORMED, 7, "a <concept> without a <code>"},
    {"cs_no_concept.xml", CS_EMALFORMED, 1, "the CodeSystem holds no <concept>"},
    {"cs_bad_boolean.xml", CS_EMALFORMED, 6, "property notSelectable is 'yes', expected true or "
                                             "false"},
    {"cs_property_no_value.xml", CS_EMALFORMED, 6, "property 'effectiveDate' has no value"},
    {"cs_late_property.xml", CS_EMALFORMED, 10, "<property> of concept '99900' comes after a "
                                                "child <concept>"},
    {"cs_bad_kind.xml", CS_EMALFORMED, 6, "kind 'Not A Kind' is not a lower-case word"},
    {"cs_xxe.xml", CS_EMALFORMED, 2, "a DOCTYPE is not allowed"},
    {"cs_wrong_root.xml", CS_EMALFORMED, 2, "the root element is <ValueSet>, expected "
                                            "<CodeSystem>"},
    {"cs_truncated.xml", CS_EMALFORMED, 0, ""},
    {"cm_billion_laughs.xml", CS_EMALFORMED, 2, "a DOCTYPE is not allowed"},
    {"cm_undeclared_entity.xml", CS_EMALFORMED, 3, "undeclared"},
    {"cm_wrong_namespace.xml", CS_EMALFORMED, 2, "not in the FHIR namespace"},
    {"cm_not_xml.xml", CS_EMALFORMED, 1, ""},
    {"cm_empty.xml", CS_EMALFORMED, 0, ""},
};

START_TEST(test_hostile)
{
    const s_bad_t *b = &s_bads[_i];
    cs_mock_host_t *m = cs_mock_host_new(0);
    char path[PATH_MAX];
    s_fixture(b->file, path, sizeof path);
    const char *files[] = {path};
    cs_error_t err;
    int rc = s_load_paths(m, files, 1, &err);
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

START_TEST(test_duplicate_across_files)
{
    char a[PATH_MAX];
    char b[PATH_MAX];
    s_sample(a, sizeof a);
    s_fixture("cs_other.xml", b, sizeof b);
    const char *files[] = {a, b};
    cs_mock_host_t *m = cs_mock_host_new(0);
    cs_error_t err;
    ck_assert_int_eq(s_load_paths(m, files, 2, &err), CS_EMALFORMED);
    ck_assert_str_eq(err.file, "cs_other.xml");
    ck_assert_uint_eq(err.line, 9);
    ck_assert_msg(strstr(err.msg, "concept code '99900' appears twice: at cpt_synthetic.xml:") &&
                      strstr(err.msg, "and here, line 9"),
                  "%s", err.msg);
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
    const char *missing[] = {"/nonexistent/cs.xml"};
    ck_assert_int_eq(s_load_paths(m, missing, 1, &err), CS_EIO);
    ck_assert_str_eq(err.file, "cs.xml");
    ck_assert_uint_eq(cs_mock_host_count(m), 0);
    cs_mock_host_destroy(&m);
}
END_TEST

START_TEST(test_emit_failure)
{
    char path[PATH_MAX];
    s_sample(path, sizeof path);
    const char *files[] = {path};
    cs_mock_host_t *m = cs_mock_host_new(1);
    cs_mock_host_fail_emit(m, 4, CS_ESPACE);
    cs_error_t err;
    ck_assert_int_eq(s_load_paths(m, files, 1, &err), CS_ESPACE);
    ck_assert_int_eq(err.code, CS_ESPACE);
    ck_assert_msg(strstr(err.msg, "fails on purpose") != NULL, "%s", err.msg);
    ck_assert_uint_eq(cs_mock_host_count(m), 3);
    cs_mock_host_destroy(&m);
}
END_TEST

/* A CodeSystem of n headers with 9 codes each, in dir; its path in out. */
static void s_write_big(const char *dir, size_t n, char *out, size_t cap)
{
    snprintf(out, cap, "%s/big.xml", dir);
    FILE *fp = fopen(out, "wb");
    ck_assert_ptr_nonnull(fp);
    fprintf(fp, "<CodeSystem xmlns=\"http://hl7.org/fhir\">"
                "<url value=\"http://www.ama-assn.org/go/cpt\"/>\n");
    for (size_t i = 0; i < n; i++) {
        fprintf(fp, "<concept><code value=\"%04zu0\"/><display value=\"Synthetic header %zu\"/>"
                    "<property><code value=\"notSelectable\"/><valueBoolean value=\"true\"/>"
                    "</property>\n",
                i, i);
        for (size_t k = 1; k <= 9; k++) {
            fprintf(fp, "  <concept><code value=\"%04zu%zu\"/><display value=\"Synthetic code "
                        "%zu.%zu\"/></concept>\n",
                    i, k, i, k);
        }
        fprintf(fp, "</concept>\n");
    }
    fprintf(fp, "</CodeSystem>\n");
    ck_assert_int_eq(fclose(fp), 0);
}

START_TEST(test_cancel_and_progress)
{
    char dir[PATH_MAX];
    char path[PATH_MAX];
    cs_test_tmpdir(dir, sizeof dir);
    s_write_big(dir, 2000, path, sizeof path);
    const char *files[] = {path};
    cs_error_t err;

    cs_mock_host_t *m = cs_mock_host_new(0);
    cs_mock_host_cancel_after(m, 2);
    ck_assert_int_eq(s_load_paths(m, files, 1, &err), CS_ETERM);
    ck_assert_str_eq(err.file, "big.xml");
    ck_assert_uint_gt(err.line, 0);
    ck_assert_uint_lt(cs_mock_host_emitted(m, CS_CLASS_CODE), 20000);
    cs_mock_host_destroy(&m);

    m = cs_mock_host_new(0);
    ck_assert_int_eq(s_load_paths(m, files, 1, &err), CS_OK);
    ck_assert_uint_eq(cs_mock_host_emitted(m, CS_CLASS_CODE), 20000);
    ck_assert_uint_eq(cs_mock_host_billable(m), 18000);
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

Suite *cs_fhir_codesystem_suite(void);
Suite *cs_fhir_codesystem_suite(void)
{
    Suite *s = suite_create("fhir_codesystem");
    TCase *tc = tcase_create("sample");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_descriptor);
    tcase_add_test(tc, test_sniff);
    tcase_add_test(tc, test_sample);
    tcase_add_test(tc, test_record_system);
    tcase_add_test(tc, test_designations_as_terms);
    tcase_add_test(tc, test_sample_fits_cpt_plugin);
    suite_add_tcase(s, tc);

    tc = tcase_create("hostile");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_hostile, 0, (int)(sizeof s_bads / sizeof s_bads[0]));
    tcase_add_test(tc, test_duplicate_across_files);
    tcase_add_test(tc, test_bad_arguments);
    tcase_add_test(tc, test_emit_failure);
    tcase_add_test(tc, test_cancel_and_progress);
    suite_add_tcase(s, tc);
    return s;
}
