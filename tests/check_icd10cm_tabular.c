/* check_icd10cm_tabular.c: the icd10cm-tabular loader through a recording mock host: the
 * bundled sample (records, kinds, 7th characters, notes, billable flags with and without the
 * order file), hand-written edge cases, hostile files, emit failures, and the FY2021 release. */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codeset/cs_plugin.h"
#include "cs_test.h"
#include "loader_test.h"
#include "mock_host.h"

static void *s_dl;
static const cs_plugin_desc_t *s_desc;

static void s_setup(void)
{
    s_desc = cs_loader_test_open("icd10cm-tabular", &s_dl);
}

static void s_teardown(void)
{
    cs_loader_test_close(&s_dl);
    s_desc = NULL;
}

static void s_sample(const char *name, char *out, size_t cap)
{
    char cwd[PATH_MAX];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    snprintf(out, cap, "%s/loaders/icd10cm-tabular/sample/%s", cwd, name);
}

static void s_fixture(const char *name, char *out, size_t cap)
{
    cs_loader_test_fixture("icd10cm", name, out, cap);
}

/* Load files into a new mock (keep: copy records); rc and err out. */
static cs_mock_host_t *s_load(const char *a, const char *b, int keep, int *rc, cs_error_t *err)
{
    cs_mock_host_t *m = cs_mock_host_new(keep);
    ck_assert_ptr_nonnull(m);
    const char *files[2] = {a, b};
    cs_error_clear(err);
    *rc = cs_loader_test_run(s_desc, m, files, b ? 2 : 1, err);
    return m;
}

static cs_mock_host_t *s_load_ok(const char *a, const char *b)
{
    int rc;
    cs_error_t err;
    cs_mock_host_t *m = s_load(a, b, 1, &rc, &err);
    ck_assert_msg(rc == CS_OK, "load failed: %s:%u:%u: %s", err.file, err.line, err.column,
                  err.msg);
    const char *why;
    ck_assert_msg(cs_mock_host_violations(m, &why) == 0, "host contract: %s", why);
    return m;
}

/* Load a hostile file: expect rc, a message containing want, a file name and a line. */
static void s_load_bad(const char *a, const char *b, int want_rc, const char *want_file,
                       const char *want)
{
    int rc;
    cs_error_t err;
    cs_mock_host_t *m = s_load(a, b, 0, &rc, &err);
    ck_assert_msg(rc == want_rc, "rc %d, expected %d (%s)", rc, want_rc, err.msg);
    ck_assert_int_eq(err.code, want_rc);
    ck_assert_msg(strstr(err.msg, want) != NULL, "message lacks \"%s\": \"%s\"", want, err.msg);
    ck_assert_str_eq(err.file, want_file);
    ck_assert_msg(err.line > 0, "no line in %s: %s", err.file, err.msg);
    cs_mock_host_destroy(&m);
}

static const cs_mock_record_t *s_rec(cs_mock_host_t *m, int cls, const char *code)
{
    const cs_mock_record_t *r = cs_mock_host_find(m, cls, code);
    ck_assert_msg(r != NULL, "no record %s (class %d)", code, cls);
    return r;
}

static void s_expect(cs_mock_host_t *m, const char *code, const char *kind, int billable,
                     const char *parent, int parent_cls)
{
    const cs_mock_record_t *r = s_rec(m, CS_CLASS_CODE, code);
    ck_assert_str_eq(r->kind, kind);
    ck_assert_msg(r->billable == billable, "%s billable %d", code, r->billable);
    if (parent) {
        ck_assert_ptr_nonnull(r->parent);
        ck_assert_str_eq(r->parent, parent);
        ck_assert_int_eq(r->parent_cls, parent_cls);
    } else {
        ck_assert_ptr_null(r->parent);
    }
}

static size_t s_index_of(cs_mock_host_t *m, int cls, const char *code)
{
    for (size_t i = 0; i < cs_mock_host_count(m); i++) {
        const cs_mock_record_t *r = cs_mock_host_record(m, i);
        if (r->cls == cls && strcmp(r->code, code) == 0) {
            return i;
        }
    }
    ck_abort_msg("no record %s", code);
    return 0;
}

/* The first note of type (and label) on r, or NULL. */
static const cs_mock_note_t *s_note(const cs_mock_record_t *r, const char *type, const char *label)
{
    for (size_t i = 0; i < r->n_notes; i++) {
        if (strcmp(r->notes[i].type, type) == 0 &&
            (!label || (r->notes[i].label && strcmp(r->notes[i].label, label) == 0))) {
            return &r->notes[i];
        }
    }
    return NULL;
}

static void s_clean_text(const char *s)
{
    ck_assert_ptr_nonnull(s);
    size_t n = strlen(s);
    ck_assert_msg(n == 0 || (s[0] != ' ' && s[n - 1] != ' '), "untrimmed \"%s\"", s);
    ck_assert_msg(!strchr(s, '\n') && !strchr(s, '\r') && !strchr(s, '\t') && !strstr(s, "  "),
                  "white space not collapsed in \"%s\"", s);
}

/* ---- descriptor and sniff ------------------------------------------------------------- */

START_TEST(test_descriptor)
{
    ck_assert_int_eq(s_desc->abi_major, CS_ABI_MAJOR);
    ck_assert_uint_le(s_desc->abi_minor, CS_ABI_MINOR);
    ck_assert_int_eq(s_desc->struct_size, sizeof(cs_plugin_desc_t));
    ck_assert_int_eq(s_desc->kind, CS_PLUGIN_LOADER);
    ck_assert_str_eq(s_desc->name, "icd10cm-tabular");
    ck_assert_ptr_null(s_desc->system);
    ck_assert_ptr_nonnull(s_desc->loader);
    ck_assert_str_eq(s_desc->loader->systems[0], "icd10cm");
    ck_assert_ptr_null(s_desc->loader->systems[1]);
}
END_TEST

START_TEST(test_sniff)
{
    char xml[PATH_MAX];
    char order[PATH_MAX];
    char other[PATH_MAX];
    s_sample("icd10cm_tabular_sample.xml", xml, sizeof xml);
    s_sample("icd10cm_order_sample.txt", order, sizeof order);
    s_fixture("seventh_deep.xml", other, sizeof other);
    const char *one[] = {xml};
    const char *pair[] = {xml, order};
    const char *rpair[] = {order, xml};
    const char *orders[] = {order, order};
    const char *xmls[] = {xml, other};
    const char *three[] = {xml, order, order};
    const char *missing[] = {"/nonexistent/icd10cm_tabular.xml"};
    const char *order_only[] = {order};
    ck_assert_int_eq(s_desc->loader->sniff(one, 1), 1);
    ck_assert_int_eq(s_desc->loader->sniff(pair, 2), 1);
    ck_assert_int_eq(s_desc->loader->sniff(rpair, 2), 1);
    ck_assert_int_eq(s_desc->loader->sniff(order_only, 1), 0);
    ck_assert_int_eq(s_desc->loader->sniff(orders, 2), 0);
    ck_assert_int_eq(s_desc->loader->sniff(xmls, 2), 0);
    ck_assert_int_eq(s_desc->loader->sniff(three, 3), 0);
    ck_assert_int_eq(s_desc->loader->sniff(missing, 1), 0);
    ck_assert_int_eq(s_desc->loader->sniff(one, 0), 0);
    ck_assert_int_eq(s_desc->loader->sniff(NULL, 1), 0);
}
END_TEST

/* ---- the sample ----------------------------------------------------------------------- */

/* What the sample gives with or without the order file. */
static void s_check_sample(cs_mock_host_t *m, int with_order)
{
    ck_assert_uint_eq(cs_mock_host_emitted(m, CS_CLASS_CHAPTER), 4);
    ck_assert_uint_eq(cs_mock_host_emitted(m, CS_CLASS_BLOCK), 4);
    ck_assert_uint_eq(cs_mock_host_emitted(m, CS_CLASS_CODE), 155);
    ck_assert_uint_eq(cs_mock_host_billable(m), 123);

    const cs_mock_record_t *ch = s_rec(m, CS_CLASS_CHAPTER, "4");
    ck_assert_str_eq(ch->kind, "chapter");
    ck_assert_str_eq(ch->title, "Endocrine, nutritional and metabolic diseases (E00-E89)");
    ck_assert_ptr_null(ch->parent);
    ck_assert_int_eq(ch->billable, 0);
    ck_assert_ptr_nonnull(s_note(ch, "notes", NULL));
    ck_assert_ptr_nonnull(s_note(ch, "excludes1", NULL));
    ck_assert_str_eq(ch->notes[0].type, "notes"); /* release order */

    const cs_mock_record_t *bl = s_rec(m, CS_CLASS_BLOCK, "E08-E13");
    ck_assert_str_eq(bl->kind, "block");
    ck_assert_str_eq(bl->title, "Diabetes mellitus (E08-E13)");
    ck_assert_str_eq(bl->parent, "4");
    ck_assert_int_eq(bl->parent_cls, CS_CLASS_CHAPTER);

    s_expect(m, "E11", "category", 0, "E08-E13", CS_CLASS_BLOCK);
    s_expect(m, "E11.0", "subcategory", 0, "E11", CS_CLASS_CODE);
    s_expect(m, "E11.00", "code", 1, "E11.0", CS_CLASS_CODE);
    s_expect(m, "E11.9", "code", 1, "E11", CS_CLASS_CODE);
    s_expect(m, "I10", "category", 1, "I10-I16", CS_CLASS_BLOCK);
    s_expect(m, "I16.0", "code", 1, "I16", CS_CLASS_CODE);
    ck_assert_str_eq(s_rec(m, CS_CLASS_CODE, "E11.9")->title,
                     "Type 2 diabetes mellitus without complications");
    const cs_mock_record_t *e11 = s_rec(m, CS_CLASS_CODE, "E11");
    ck_assert_ptr_nonnull(s_note(e11, "includes", NULL));
    ck_assert_str_eq(e11->notes[0].type, "includes");
    ck_assert_ptr_nonnull(s_note(s_rec(m, CS_CLASS_CODE, "E11.21"), "inclusion_terms", NULL));
    ck_assert_ptr_nonnull(s_note(s_rec(m, CS_CLASS_CODE, "M48.4"), "excludes1", NULL));
    ck_assert_ptr_nonnull(s_note(e11, "use_additional_code", NULL));

    /* a 7th character on a six-character code: E11.32 defines it, E11.321 is the header */
    s_expect(m, "E11.32", "subcategory", 0, "E11.3", CS_CLASS_CODE);
    s_expect(m, "E11.321", "subcategory", 0, "E11.32", CS_CLASS_CODE);
    s_expect(m, "E11.3211", "code", 1, "E11.321", CS_CLASS_CODE);
    const cs_mock_record_t *e1132 = s_rec(m, CS_CLASS_CODE, "E11.32");
    const cs_mock_note_t *n = s_note(e1132, "seven_chr_def", "1");
    ck_assert_ptr_nonnull(n);
    ck_assert_str_eq(n->text, "right eye");
    ck_assert_ptr_nonnull(s_note(e1132, "seven_chr_note", NULL));
    ck_assert_str_eq(s_rec(m, CS_CLASS_CODE, "E11.3219")->title,
                     "Type 2 diabetes mellitus with mild nonproliferative diabetic retinopathy "
                     "with macular edema, unspecified eye");

    /* S72's sevenChrDef three levels up */
    s_expect(m, "S72", "category", 0, "S70-S79", CS_CLASS_BLOCK);
    s_expect(m, "S72.001", "subcategory", 0, "S72.00", CS_CLASS_CODE);
    s_expect(m, "S72.001A", "code", 1, "S72.001", CS_CLASS_CODE);
    s_expect(m, "S72.001S", "code", 1, "S72.001", CS_CLASS_CODE);
    ck_assert_str_eq(s_rec(m, CS_CLASS_CODE, "S72.001A")->title,
                     "Fracture of unspecified part of neck of right femur, initial encounter "
                     "for closed fracture");
    const cs_mock_record_t *s72 = s_rec(m, CS_CLASS_CODE, "S72");
    ck_assert_ptr_nonnull(s_note(s72, "notes", NULL));
    ck_assert_ptr_nonnull(s_note(s72, "excludes2", NULL));
    ck_assert_str_eq(s_note(s72, "seven_chr_def", "B")->text,
                     "initial encounter for open fracture type I or II");
    /* S72.47's own, shorter list wins over S72's */
    s_expect(m, "S72.471A", "code", 1, "S72.471", CS_CLASS_CODE);
    s_expect(m, "S72.471P", "code", 1, "S72.471", CS_CLASS_CODE);
    ck_assert(!cs_mock_host_has(m, CS_CLASS_CODE, "S72.471B"));
    ck_assert(cs_mock_host_has(m, CS_CLASS_CODE, "S72.001B"));
    /* placeholders: S72.8X1 is six characters already, M48.40 is padded */
    s_expect(m, "S72.8X", "subcategory", 0, "S72.8", CS_CLASS_CODE);
    s_expect(m, "S72.8X1A", "code", 1, "S72.8X1", CS_CLASS_CODE);
    s_expect(m, "M48.40", "subcategory", 0, "M48.4", CS_CLASS_CODE);
    s_expect(m, "M48.40XS", "code", 1, "M48.40", CS_CLASS_CODE);
    ck_assert(!cs_mock_host_has(m, CS_CLASS_CODE, "M48.40S"));
    ck_assert_str_eq(s_rec(m, CS_CLASS_CODE, "M48.40XS")->title,
                     "Fatigue fracture of vertebra, site unspecified, sequela of fracture");
    s_expect(m, "M48.9", "code", 1, "M48", CS_CLASS_CODE);
    ck_assert_ptr_nonnull(s_note(s_rec(m, CS_CLASS_CODE, "M49"), "code_first", NULL));
    ck_assert_ptr_nonnull(s_note(s_rec(m, CS_CLASS_CODE, "I16"), "code_also", NULL));
    ck_assert_ptr_nonnull(s_note(s_rec(m, CS_CLASS_CODE, "I11"), "includes", NULL));

    /* document order, parents first */
    ck_assert_uint_lt(s_index_of(m, CS_CLASS_CHAPTER, "4"),
                      s_index_of(m, CS_CLASS_BLOCK, "E08-E13"));
    ck_assert_uint_lt(s_index_of(m, CS_CLASS_CODE, "E11"), s_index_of(m, CS_CLASS_CODE, "E11.0"));
    ck_assert_uint_lt(s_index_of(m, CS_CLASS_CODE, "E11.01"),
                      s_index_of(m, CS_CLASS_CODE, "E11.2"));
    ck_assert_uint_lt(s_index_of(m, CS_CLASS_CODE, "E11.9"), s_index_of(m, CS_CLASS_CHAPTER, "9"));

    for (size_t i = 0; i < cs_mock_host_count(m); i++) {
        const cs_mock_record_t *r = cs_mock_host_record(m, i);
        s_clean_text(r->title);
        for (size_t k = 0; k < r->n_notes; k++) {
            s_clean_text(r->notes[k].text);
            ck_assert_int_eq(strcmp(r->notes[k].type, "seven_chr_def") == 0,
                             r->notes[k].label != NULL);
        }
        if (r->cls == CS_CLASS_CODE && with_order) {
            ck_assert_msg(r->short_title != NULL && r->order > 0, "%s lacks order data", r->code);
        } else {
            ck_assert_ptr_null(r->short_title);
            ck_assert_uint_eq(r->order, 0);
        }
    }
}

START_TEST(test_sample_xml_alone)
{
    char xml[PATH_MAX];
    s_sample("icd10cm_tabular_sample.xml", xml, sizeof xml);
    cs_mock_host_t *m = s_load_ok(xml, NULL);
    s_check_sample(m, 0);
    ck_assert_uint_ge(cs_mock_host_progress_calls(m), 1);
    cs_mock_host_destroy(&m);
}
END_TEST

START_TEST(test_sample_with_order)
{
    char xml[PATH_MAX];
    char order[PATH_MAX];
    s_sample("icd10cm_tabular_sample.xml", xml, sizeof xml);
    s_sample("icd10cm_order_sample.txt", order, sizeof order);
    cs_mock_host_t *m = s_load_ok(order, xml); /* any order of files */
    s_check_sample(m, 1);
    const cs_mock_record_t *r = s_rec(m, CS_CLASS_CODE, "E11.00");
    ck_assert_str_eq(r->short_title,
                     "Type 2 diab w hyprosm w/o nonket hyprgly-hypros coma (NKHHC)");
    ck_assert_uint_eq(r->order, 3);
    ck_assert_uint_eq(s_rec(m, CS_CLASS_CODE, "E11")->order, 1);
    ck_assert_uint_eq(s_rec(m, CS_CLASS_CHAPTER, "4")->order, 0);
    cs_mock_host_destroy(&m);
}
END_TEST

/* ---- edge cases ------------------------------------------------------------------------ */

START_TEST(test_seventh_deep)
{
    char xml[PATH_MAX];
    s_fixture("seventh_deep.xml", xml, sizeof xml);
    cs_mock_host_t *m = s_load_ok(xml, NULL);
    /* three levels up: S72 -> S72.0 -> S72.00 -> S72.001 */
    s_expect(m, "S72.001", "subcategory", 0, "S72.00", CS_CLASS_CODE);
    s_expect(m, "S72.001A", "code", 1, "S72.001", CS_CLASS_CODE);
    s_expect(m, "S72.001B", "code", 1, "S72.001", CS_CLASS_CODE);
    s_expect(m, "S72.001S", "code", 1, "S72.001", CS_CLASS_CODE);
    ck_assert_str_eq(s_rec(m, CS_CLASS_CODE, "S72.001S")->title,
                     "Fracture of unspecified part of neck of right femur, sequela");
    ck_assert_str_eq(s_note(s_rec(m, CS_CLASS_CODE, "S72"), "seven_chr_note", NULL)->text,
                     "The appropriate 7th character is to be added to each code from category "
                     "S72");
    /* the nearer sevenChrDef (S72.47: A, P) overrides S72's (A, B, S) */
    ck_assert(cs_mock_host_has(m, CS_CLASS_CODE, "S72.471A"));
    ck_assert(cs_mock_host_has(m, CS_CLASS_CODE, "S72.471P"));
    ck_assert(!cs_mock_host_has(m, CS_CLASS_CODE, "S72.471B"));
    ck_assert(!cs_mock_host_has(m, CS_CLASS_CODE, "S72.471S"));
    /* headers with children are not expanded */
    ck_assert(!cs_mock_host_has(m, CS_CLASS_CODE, "S72.00XA"));
    ck_assert(!cs_mock_host_has(m, CS_CLASS_CODE, "S72.47XA"));
    s_expect(m, "S72.8X1A", "code", 1, "S72.8X1", CS_CLASS_CODE);
    /* placeholder X: a category leaf (T07 -> T07.XXXA), a five-character leaf (T15.00XA), a
     * leaf with its own sevenChrDef (T15.8 -> T15.8XXS, not T15's A) */
    s_expect(m, "T07", "category", 0, "T07", CS_CLASS_BLOCK);
    s_expect(m, "T07.XXXA", "code", 1, "T07", CS_CLASS_CODE);
    s_expect(m, "T07.XXXD", "code", 1, "T07", CS_CLASS_CODE);
    ck_assert_str_eq(s_rec(m, CS_CLASS_CODE, "T07.XXXD")->title,
                     "Unspecified multiple injuries, subsequent encounter");
    s_expect(m, "T15.00XA", "code", 1, "T15.00", CS_CLASS_CODE);
    s_expect(m, "T15.8", "subcategory", 0, "T15", CS_CLASS_CODE);
    s_expect(m, "T15.8XXS", "code", 1, "T15.8", CS_CLASS_CODE);
    ck_assert(!cs_mock_host_has(m, CS_CLASS_CODE, "T15.8XXA"));
    s_rec(m, CS_CLASS_BLOCK, "T07");
    ck_assert_uint_eq(cs_mock_host_emitted(m, CS_CLASS_CODE), 27);
    cs_mock_host_destroy(&m);
}
END_TEST

START_TEST(test_order_authority)
{
    char xml[PATH_MAX];
    char order[PATH_MAX];
    s_fixture("mini.xml", xml, sizeof xml);
    s_fixture("mini_order.txt", order, sizeof order);
    cs_mock_host_t *m = s_load_ok(xml, order);
    ck_assert_uint_eq(cs_mock_host_emitted(m, CS_CLASS_CODE), 13);
    ck_assert_uint_eq(cs_mock_host_billable(m), 6);
    /* A00.9 and A01.0 (with its subtree) are not in the order file */
    ck_assert(!cs_mock_host_has(m, CS_CLASS_CODE, "A00.9"));
    ck_assert(!cs_mock_host_has(m, CS_CLASS_CODE, "A01.0"));
    ck_assert(!cs_mock_host_has(m, CS_CLASS_CODE, "A01.01"));
    /* T15.00XD is ruled out by the order file */
    ck_assert(cs_mock_host_has(m, CS_CLASS_CODE, "T15.00XA"));
    ck_assert(!cs_mock_host_has(m, CS_CLASS_CODE, "T15.00XD"));
    s_expect(m, "T15.00XS", "code", 1, "T15.00", CS_CLASS_CODE);
    ck_assert_str_eq(s_rec(m, CS_CLASS_CODE, "T15.00XS")->short_title,
                     "Foreign body in cornea, unspecified eye, sequela");
    /* order-file codes the XML lacks come last, under their longest emitted prefix */
    s_expect(m, "A01.00", "code", 1, "A01", CS_CLASS_CODE);
    s_expect(m, "A02", "category", 0, NULL, 0);
    s_expect(m, "A02.1", "subcategory", 0, "A02", CS_CLASS_CODE);
    s_expect(m, "A02.10", "code", 1, "A02.1", CS_CLASS_CODE);
    const cs_mock_record_t *r = s_rec(m, CS_CLASS_CODE, "A02.10");
    ck_assert_str_eq(r->title, "Salmonella sepsis, unspecified");
    ck_assert_uint_eq(r->order, 8);
    ck_assert_uint_gt(s_index_of(m, CS_CLASS_CODE, "A01.00"),
                      s_index_of(m, CS_CLASS_CODE, "T15.00XS"));
    ck_assert_uint_lt(s_index_of(m, CS_CLASS_CODE, "A01.00"),
                      s_index_of(m, CS_CLASS_CODE, "A02"));
    cs_mock_host_destroy(&m);
}
END_TEST

/* ---- hostile files ---------------------------------------------------------------------- */

START_TEST(test_hostile_fixtures)
{
    static const struct {
        const char *file;
        const char *want;
    } cases[] = {
        {"xxe.xml", "DOCTYPE is not allowed"},
        {"billion_laughs.xml", ""},
        {"undeclared_entity.xml", "cholera"},
        {"wrong_root.xml", "root element is <ICD10PCS.tabular>, expected <ICD10CM.tabular>"},
        {"not_xml.xml", ""},
        {"no_name.xml", "<diag> without <name>"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[PATH_MAX];
        s_fixture(cases[i].file, path, sizeof path);
        s_load_bad(path, NULL, CS_EMALFORMED, cases[i].file, cases[i].want);
    }
    char path[PATH_MAX];
    s_fixture("xxe.xml", path, sizeof path);
    int rc;
    cs_error_t err;
    cs_mock_host_t *m = s_load(path, NULL, 0, &rc, &err);
    ck_assert_uint_eq(err.line, 2);
    ck_assert_uint_eq(err.column, 1);
    ck_assert_uint_eq(cs_mock_host_emitted(m, CS_CLASS_CHAPTER), 0);
    cs_mock_host_destroy(&m);
}
END_TEST

START_TEST(test_bad_order_lines)
{
    char xml[PATH_MAX];
    char order[PATH_MAX];
    s_fixture("mini.xml", xml, sizeof xml);
    s_fixture("bad_flag_order.txt", order, sizeof order);
    s_load_bad(xml, order, CS_EMALFORMED, "bad_flag_order.txt", "flag is '2'");
    int rc;
    cs_error_t err;
    cs_mock_host_t *m = s_load(xml, order, 0, &rc, &err);
    ck_assert_uint_eq(err.line, 3);
    ck_assert_uint_eq(err.column, 15);
    ck_assert_uint_eq(cs_mock_host_emitted(m, CS_CLASS_CHAPTER), 0); /* nothing before */
    cs_mock_host_destroy(&m);
    s_fixture("short_line_order.txt", order, sizeof order);
    s_load_bad(xml, order, CS_EMALFORMED, "short_line_order.txt", "line is 40 characters long");
    s_fixture("bad_number_order.txt", order, sizeof order);
    s_load_bad(xml, order, CS_EMALFORMED, "bad_number_order.txt", "order number '0000x'");
}
END_TEST

static void s_write(const char *path, const char *data, size_t n)
{
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    ck_assert_uint_eq(fwrite(data, 1, n, fp), n);
    fclose(fp);
}

/* An order-file fault is reported where its field starts, the same in all three loaders that
 * read the file (cs_order.c): an empty short title at column 17, not at its end (77). */
START_TEST(test_order_fault_columns)
{
    char xml[PATH_MAX];
    char dir[PATH_MAX];
    char path[PATH_MAX];
    s_fixture("mini.xml", xml, sizeof xml);
    cs_test_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/empty_short_order.txt", dir);
    static const char order[] =
        "00001 A00     0 Cholera                                                      Cholera\r\n"
        "00002 A000    1                                                              Cholera due "
        "to Vibrio cholerae 01, biovar cholerae\r\n";
    s_write(path, order, sizeof order - 1);
    int rc;
    cs_error_t err;
    cs_mock_host_t *m = s_load(xml, path, 0, &rc, &err);
    ck_assert_int_eq(rc, CS_EMALFORMED);
    ck_assert_str_eq(err.file, "empty_short_order.txt");
    ck_assert_msg(strstr(err.msg, "short title is empty") != NULL, "%s", err.msg);
    ck_assert_uint_eq(err.line, 2);
    ck_assert_uint_eq(err.column, 17);
    cs_mock_host_destroy(&m);
    cs_test_rmtree(dir);
}
END_TEST

/* Write a document whose section holds depth nested elements named el. */
static void s_write_deep(const char *path, const char *el, size_t depth)
{
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    fputs("<?xml version=\"1.0\"?>\n<ICD10CM.tabular>\n<chapter><name>1</name><desc>x</desc>"
          "<section id=\"A00-A09\"><desc>y</desc>",
          fp);
    for (size_t i = 0; i < depth; i++) {
        fprintf(fp, "<%s>", el);
    }
    for (size_t i = 0; i < depth; i++) {
        fprintf(fp, "</%s>", el);
    }
    fputs("</section></chapter></ICD10CM.tabular>\n", fp);
    fclose(fp);
}

START_TEST(test_hostile_generated)
{
    char dir[PATH_MAX];
    char path[PATH_MAX + 64];
    cs_test_tmpdir(dir, sizeof dir);

    snprintf(path, sizeof path, "%s/deep.xml", dir);
    s_write_deep(path, "diag", 100000);
    s_load_bad(path, NULL, CS_EMALFORMED, "deep.xml", "");
    snprintf(path, sizeof path, "%s/deep70.xml", dir); /* under libxml2's limit, over ours */
    s_write_deep(path, "x", 70);
    s_load_bad(path, NULL, CS_EMALFORMED, "deep70.xml", "nested deeper than 64");

    /* the sample cut in the middle */
    char sample[PATH_MAX];
    s_sample("icd10cm_tabular_sample.xml", sample, sizeof sample);
    FILE *fp = fopen(sample, "rb");
    ck_assert_ptr_nonnull(fp);
    static char buf[64 * 1024];
    size_t n = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    ck_assert_uint_gt(n, 10000);
    snprintf(path, sizeof path, "%s/truncated.xml", dir);
    s_write(path, buf, n / 2);
    s_load_bad(path, NULL, CS_EMALFORMED, "truncated.xml", "");

    /* invalid UTF-8 in a title */
    static const char bad_utf8[] = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<ICD10CM.tabular>\n"
                                   "<chapter><name>1</name><desc>Chol\xff\xfe"
                                   "ra</desc></chapter>\n</ICD10CM.tabular>\n";
    snprintf(path, sizeof path, "%s/utf8.xml", dir);
    s_write(path, bad_utf8, sizeof bad_utf8 - 1);
    s_load_bad(path, NULL, CS_EMALFORMED, "utf8.xml", "UTF-8");

    /* not XML at all: no loader takes it, load refuses it without crashing */
    snprintf(path, sizeof path, "%s/binary.xml", dir);
    s_write(path, "\x00\x01\x02garbage\xff", 11);
    const char *files[] = {path};
    ck_assert_int_eq(s_desc->loader->sniff(files, 1), 0);
    int rc;
    cs_error_t err;
    cs_mock_host_t *m = s_load(path, NULL, 0, &rc, &err);
    ck_assert_int_eq(rc, CS_EINVAL);
    cs_mock_host_destroy(&m);
    cs_test_rmtree(dir);
}
END_TEST

/* ---- the host's answers ---------------------------------------------------------------- */

START_TEST(test_emit_error_stops)
{
    char xml[PATH_MAX];
    char order[PATH_MAX];
    s_sample("icd10cm_tabular_sample.xml", xml, sizeof xml);
    s_sample("icd10cm_order_sample.txt", order, sizeof order);
    /* 5: a diag; 24: a 7th-character expansion (E11.3211 ...) */
    static const size_t at[] = {1, 2, 5, 24, 100};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        cs_mock_host_t *m = cs_mock_host_new(1);
        cs_mock_host_fail_emit(m, at[i], CS_ESPACE);
        const char *files[] = {xml, order};
        cs_error_t err;
        cs_error_clear(&err);
        int rc = cs_loader_test_run(s_desc, m, files, 2, &err);
        ck_assert_int_eq(rc, CS_ESPACE);
        ck_assert_msg(strstr(err.msg, "fails on purpose") != NULL, "err overwritten: %s",
                      err.msg);
        ck_assert_uint_eq(cs_mock_host_count(m), at[i] - 1);
        cs_mock_host_destroy(&m);
    }
    /* during the tail pass of order-file codes the XML lacks */
    s_fixture("mini.xml", xml, sizeof xml);
    s_fixture("mini_order.txt", order, sizeof order);
    cs_mock_host_t *m = cs_mock_host_new(1);
    cs_mock_host_fail_emit(m, 16, CS_EIO);
    const char *files[] = {xml, order};
    cs_error_t err;
    int rc = cs_loader_test_run(s_desc, m, files, 2, &err);
    ck_assert_int_eq(rc, CS_EIO);
    ck_assert_uint_eq(cs_mock_host_count(m), 15);
    cs_mock_host_destroy(&m);
}
END_TEST

/* ---- FY2021 --------------------------------------------------------------------------- */

/* The order file's codes (display form) and flags, read by the test itself. */
typedef struct s_order_row {
    char code[10];
    char flag;
} s_order_row_t;

static s_order_row_t *s_read_order(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    ck_assert_ptr_nonnull(fp);
    size_t cap = 100000;
    s_order_row_t *rows = malloc(cap * sizeof *rows);
    ck_assert_ptr_nonnull(rows);
    char line[512];
    *n = 0;
    while (fgets(line, sizeof line, fp)) {
        ck_assert_uint_gt(strlen(line), 20);
        ck_assert_uint_lt(*n, cap);
        char key[8];
        size_t k = 0;
        while (k < 7 && line[6 + k] != ' ') {
            key[k] = line[6 + k];
            k++;
        }
        s_order_row_t *r = &rows[(*n)++];
        size_t o = 0;
        for (size_t i = 0; i < k; i++) {
            if (i == 3) {
                r->code[o++] = '.';
            }
            r->code[o++] = key[i];
        }
        r->code[o] = '\0';
        r->flag = line[14];
    }
    fclose(fp);
    return rows;
}

START_TEST(test_fy2021_with_order)
{
    char xml[PATH_MAX];
    char order[PATH_MAX];
    int ok = cs_test_data_path("icd10cm/2021/icd10cm_tabular_2021.xml", xml, sizeof xml);
    CS_SKIP_UNLESS_DATA(ok, "icd10cm/2021/icd10cm_tabular_2021.xml");
    ok = cs_test_data_path("icd10cm/2021/icd10cm_order_2021.txt", order, sizeof order);
    CS_SKIP_UNLESS_DATA(ok, "icd10cm/2021/icd10cm_order_2021.txt");
    cs_mock_host_t *m = s_load_ok(xml, order);
    ck_assert_uint_eq(cs_mock_host_emitted(m, CS_CLASS_CHAPTER), 22);
    ck_assert_uint_eq(cs_mock_host_emitted(m, CS_CLASS_BLOCK), 296);
    ck_assert_uint_eq(cs_mock_host_emitted(m, CS_CLASS_CODE), 95358);
    ck_assert_uint_eq(cs_mock_host_billable(m), 72621);
    size_t n = 0;
    s_order_row_t *rows = s_read_order(order, &n);
    ck_assert_uint_eq(n, 95358);
    for (size_t i = 0; i < n; i++) {
        const cs_mock_record_t *r = cs_mock_host_find(m, CS_CLASS_CODE, rows[i].code);
        ck_assert_msg(r != NULL, "order-file code %s not emitted", rows[i].code);
        ck_assert_msg(r->billable == (rows[i].flag == '1'), "%s flag differs", rows[i].code);
        ck_assert_ptr_nonnull(r->short_title);
    }
    free(rows);
    /* a few known rows */
    s_expect(m, "A00", "category", 0, "A00-A09", CS_CLASS_BLOCK);
    ck_assert_str_eq(cs_mock_host_record(m, 0)->code, "1");
    ck_assert_str_eq(cs_mock_host_record(m, 2)->code, "A00");
    s_expect(m, "S72.001A", "code", 1, "S72.001", CS_CLASS_CODE);
    s_expect(m, "H54.0X33", "code", 1, "H54.0X3", CS_CLASS_CODE);
    s_expect(m, "B10", "category", 0, "B10", CS_CLASS_BLOCK);
    ck_assert(!cs_mock_host_has(m, CS_CLASS_CODE, "S06.1X7D")); /* ruled out by the order file */
    const cs_mock_record_t *last = cs_mock_host_record(m, cs_mock_host_count(m) - 1);
    ck_assert_str_eq(last->code, "U07.1"); /* chapter 22 comes last */
    s_expect(m, "Z99.89", "code", 1, "Z99.8", CS_CLASS_CODE);
    ck_assert_uint_gt(cs_mock_host_progress_calls(m), 10);
    ck_assert_uint_gt(cs_mock_host_progress_last(m), 20000000);
    cs_mock_host_destroy(&m);
}
END_TEST

START_TEST(test_fy2021_xml_alone)
{
    char xml[PATH_MAX];
    char order[PATH_MAX];
    int ok = cs_test_data_path("icd10cm/2021/icd10cm_tabular_2021.xml", xml, sizeof xml);
    CS_SKIP_UNLESS_DATA(ok, "icd10cm/2021/icd10cm_tabular_2021.xml");
    ok = cs_test_data_path("icd10cm/2021/icd10cm_order_2021.txt", order, sizeof order);
    CS_SKIP_UNLESS_DATA(ok, "icd10cm/2021/icd10cm_order_2021.txt");
    cs_mock_host_t *m = s_load_ok(xml, NULL);
    /* measured: the XML yields 72 more 7th-character codes than the order file allows */
    ck_assert_uint_eq(cs_mock_host_emitted(m, CS_CLASS_CHAPTER), 22);
    ck_assert_uint_eq(cs_mock_host_emitted(m, CS_CLASS_CODE), 95430);
    ck_assert_uint_eq(cs_mock_host_billable(m), 72693);
    ck_assert(cs_mock_host_has(m, CS_CLASS_CODE, "S06.1X7D"));
    size_t n = 0;
    s_order_row_t *rows = s_read_order(order, &n);
    for (size_t i = 0; i < n; i++) {
        const cs_mock_record_t *r = cs_mock_host_find(m, CS_CLASS_CODE, rows[i].code);
        ck_assert_msg(r != NULL, "order-file code %s not in the XML", rows[i].code);
        ck_assert_msg(r->billable == (rows[i].flag == '1'), "%s flag differs", rows[i].code);
    }
    free(rows);
    cs_mock_host_destroy(&m);
}
END_TEST

START_TEST(test_fy2021_cancel)
{
    char xml[PATH_MAX];
    int ok = cs_test_data_path("icd10cm/2021/icd10cm_tabular_2021.xml", xml, sizeof xml);
    CS_SKIP_UNLESS_DATA(ok, "icd10cm/2021/icd10cm_tabular_2021.xml");
    cs_mock_host_t *m = cs_mock_host_new(0);
    cs_mock_host_cancel_after(m, 2);
    const char *files[] = {xml};
    cs_error_t err;
    cs_error_clear(&err);
    int rc = cs_loader_test_run(s_desc, m, files, 1, &err);
    ck_assert_int_eq(rc, CS_ETERM);
    ck_assert_int_eq(err.code, CS_ETERM);
    ck_assert_uint_lt(cs_mock_host_emitted(m, CS_CLASS_CODE), 10000);
    cs_mock_host_destroy(&m);
}
END_TEST

Suite *cs_icd10cm_tabular_suite(void);
Suite *cs_icd10cm_tabular_suite(void)
{
    Suite *s = suite_create("icd10cm_tabular");
    TCase *tc = tcase_create("sample");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_descriptor);
    tcase_add_test(tc, test_sniff);
    tcase_add_test(tc, test_sample_xml_alone);
    tcase_add_test(tc, test_sample_with_order);
    suite_add_tcase(s, tc);

    tc = tcase_create("edge cases");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_seventh_deep);
    tcase_add_test(tc, test_order_authority);
    tcase_add_test(tc, test_emit_error_stops);
    suite_add_tcase(s, tc);

    tc = tcase_create("hostile");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_hostile_fixtures);
    tcase_add_test(tc, test_bad_order_lines);
    tcase_add_test(tc, test_order_fault_columns);
    tcase_add_test(tc, test_hostile_generated);
    suite_add_tcase(s, tc);

    tc = tcase_create("fy2021");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_fy2021_with_order);
    tcase_add_test(tc, test_fy2021_xml_alone);
    tcase_add_test(tc, test_fy2021_cancel);
    suite_add_tcase(s, tc);
    return s;
}
