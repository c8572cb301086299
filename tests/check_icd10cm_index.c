/* check_icd10cm_index.c: the icd10cm-index loader through the recording mock host: the four
 * samples (one per table, written in the CDC schemas: the Index to Diseases is not in
 * ../shared/data), the stored layout of core/store/cs_index_format.h (roots, keys, titles
 * with their nonessential modifiers, term paths, fields, cells), hostile files (each fails
 * at file:line with why), and the official FY2022 drug, neoplasm and External Cause files:
 * main terms, terms per level and cells counted against the XML. */
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
#include "store/cs_index_format.h"

static void *s_dl;
static const cs_plugin_desc_t *s_desc;

static void s_setup(void)
{
    s_desc = cs_loader_test_open("icd10cm-index", &s_dl);
}

static void s_teardown(void)
{
    cs_loader_test_close(&s_dl);
    s_desc = NULL;
}

static void s_sample(const char *table, char *out, size_t cap)
{
    char cwd[PATH_MAX];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    snprintf(out, cap, "%s/loaders/icd10cm-index/sample/icd10cm_%s_sample.xml", cwd, table);
}

static cs_mock_host_t *s_load_n(const char *const *files, size_t n, int keep, int *rc,
                                cs_error_t *err)
{
    cs_mock_host_t *m = cs_mock_host_new(keep);
    ck_assert_ptr_nonnull(m);
    *rc = cs_loader_test_run(s_desc, m, files, n, err);
    return m;
}

static cs_mock_host_t *s_load_ok(const char *const *files, size_t n)
{
    int rc;
    cs_error_t err;
    cs_mock_host_t *m = s_load_n(files, n, 1, &rc, &err);
    ck_assert_msg(rc == CS_OK, "load failed: %s:%u: %s", err.file, err.line, err.msg);
    const char *why;
    ck_assert_msg(cs_mock_host_violations(m, &why) == 0, "host contract: %s", why);
    return m;
}

static cs_mock_host_t *s_load_samples(void)
{
    char p[4][PATH_MAX];
    s_sample("index", p[0], sizeof p[0]);
    s_sample("eindex", p[1], sizeof p[1]);
    s_sample("drug", p[2], sizeof p[2]);
    s_sample("neoplasm", p[3], sizeof p[3]);
    const char *files[4] = {p[0], p[1], p[2], p[3]};
    return s_load_ok(files, 4);
}

/* The kept term whose title is title under the parent key parent (NULL: any), or fail. */
static const cs_mock_record_t *s_term(cs_mock_host_t *m, const char *parent, const char *title)
{
    for (size_t i = 0; i < cs_mock_host_count(m); i++) {
        const cs_mock_record_t *r = cs_mock_host_record(m, i);
        if (r->cls == CS_CLASS_CODE && strcmp(r->title, title) == 0 &&
            (!parent || (r->parent && strcmp(r->parent, parent) == 0))) {
            return r;
        }
    }
    ck_abort_msg("no term \"%s\" under %s", title, parent ? parent : "(any)");
    return NULL;
}

static void s_attr_is(const cs_mock_record_t *r, const char *name, const char *want)
{
    const char *v = cs_mock_record_attr(r, name);
    if (!want) {
        ck_assert_msg(v == NULL, "%s has %s = \"%s\"", r->title, name, v ? v : "");
        return;
    }
    ck_assert_msg(v != NULL, "%s has no %s", r->title, name);
    ck_assert_str_eq(v, want);
}

START_TEST(test_descriptor)
{
    ck_assert_int_eq(s_desc->abi_major, CS_ABI_MAJOR);
    ck_assert_uint_eq(s_desc->abi_minor, 2);
    ck_assert_str_eq(s_desc->name, "icd10cm-index");
    ck_assert_str_eq(s_desc->loader->systems[0], CS_INDEX_SET);
    ck_assert_uint_eq(s_desc->loader->flags, CS_LOADER_INDEX);
    char a[PATH_MAX], b[PATH_MAX], tab[PATH_MAX];
    s_sample("drug", a, sizeof a);
    s_sample("eindex", b, sizeof b);
    const char *two[2] = {a, b};
    ck_assert_int_eq(s_desc->loader->sniff(two, 2), 1);
    char cwd[PATH_MAX];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    snprintf(tab, sizeof tab, "%s/loaders/icd10cm-tabular/sample/icd10cm_tabular_sample.xml",
             cwd);
    const char *mixed[2] = {a, tab};
    ck_assert_int_eq(s_desc->loader->sniff(mixed, 2), 0);
}
END_TEST

START_TEST(test_samples_roots)
{
    cs_mock_host_t *m = s_load_samples();
    ck_assert_uint_eq(cs_mock_host_emitted(m, CS_CLASS_CHAPTER), 4);
    const cs_mock_record_t *drug = cs_mock_host_find(m, CS_CLASS_CHAPTER, "DRUG");
    ck_assert_ptr_nonnull(drug);
    ck_assert_str_eq(drug->kind, "table");
    ck_assert_ptr_null(drug->parent);
    ck_assert_str_eq(drug->title, "ICD-10-CM Table of Drugs and Chemicals");
    s_attr_is(drug, "version", "2022");
    s_attr_is(drug, "head1", "Substance");
    s_attr_is(drug, "head6", "Adverse effect");
    s_attr_is(drug, "head8", NULL);
    const cs_mock_record_t *idx = cs_mock_host_find(m, CS_CLASS_CHAPTER, "INDEX");
    ck_assert_ptr_nonnull(idx);
    ck_assert_str_eq(idx->title, "ICD-10-CM Index to Diseases and Injuries");
    s_attr_is(idx, "first_doc", "0");
    s_attr_is(idx, "head1", NULL);
    /* first_doc: the terms emitted before: the index sample holds 20, the eindex 9 */
    s_attr_is(cs_mock_host_find(m, CS_CLASS_CHAPTER, "EINDEX"), "first_doc", "20");
    s_attr_is(drug, "first_doc", "29");
    s_attr_is(cs_mock_host_find(m, CS_CLASS_CHAPTER, "NEOPLASM"), "first_doc", "35");
    ck_assert_uint_eq(cs_mock_host_emitted(m, CS_CLASS_CODE), 39);
    cs_mock_host_destroy(&m);
}
END_TEST

START_TEST(test_samples_terms)
{
    cs_mock_host_t *m = s_load_samples();
    /* a main term: its nemod in its title, and alone as the first attribute */
    const cs_mock_record_t *fall = s_term(m, "EINDEX", "Fall, falling (accidental)");
    ck_assert_str_eq(fall->kind, "main_term");
    ck_assert_uint_eq(fall->n_terms, 0);
    ck_assert_str_eq(fall->attr_names[0], "nemod");
    s_attr_is(fall, "nemod", "(accidental)");
    s_attr_is(fall, "code", "W19");
    ck_assert_uint_eq(strlen(fall->code), CS_INDEX_KEY_LEN);
    ck_assert_int_eq(fall->code[0], 'E');
    /* a term two levels down: its path above it, its parent's key */
    const cs_mock_record_t *from = s_term(m, fall->code, "from, off, out of");
    const cs_mock_record_t *ladder = s_term(m, from->code, "ladder");
    ck_assert_str_eq(ladder->kind, "term");
    ck_assert_int_eq(ladder->parent_cls, CS_CLASS_CODE);
    ck_assert_uint_eq(ladder->n_terms, 2);
    ck_assert_str_eq(ladder->terms[0], "Fall, falling (accidental)");
    ck_assert_str_eq(ladder->terms[1], "from, off, out of");
    s_attr_is(ladder, "code", "W11");
    s_attr_is(ladder, "nemod", NULL);
    /* see, see also, seecat, subcat, manif */
    s_attr_is(s_term(m, "EINDEX", "Submersion (accidental)"), "see", "Drowning");
    s_attr_is(s_term(m, "EINDEX", "Drowning (accidental)"), "see_also", "Submersion");
    s_attr_is(s_term(m, NULL, "in bed linen"), "see_cat", "T71");
    s_attr_is(s_term(m, NULL, "lightning"), "subcat", "T75.0");
    const cs_mock_record_t *park = s_term(m, NULL, "Parkinson's disease");
    s_attr_is(park, "code", "G20");
    s_attr_is(park, "manif", "F02.80");
    /* a nested nemod keeps its parentheses; a nemod in the middle keeps the text after it */
    const cs_mock_record_t *dem =
        s_term(m, "INDEX", "Dementia (degenerative (primary)) (old age) (persisting)");
    s_attr_is(dem, "nemod", "(degenerative (primary)) (old age) (persisting)");
    s_attr_is(s_term(m, dem->code, "in (due to)"), "nemod", "(due to)");
    /* accents kept as written */
    s_attr_is(s_term(m, "INDEX", "Sézary disease"), "code", "C84.1-");
    /* cells as written, '--' and '-' included, named by column */
    const cs_mock_record_t *acet = s_term(m, "DRUG", "Acetaminophen");
    s_attr_is(acet, "cell6", "T39.1X5");
    s_attr_is(acet, "cell1", NULL);
    const cs_mock_record_t *prop = s_term(m, "DRUG", "1-propanol");
    s_attr_is(prop, "cell2", "T51.3X1");
    s_attr_is(prop, "cell7", "--");
    const cs_mock_record_t *neo = s_term(m, "NEOPLASM", "Neoplasm, neoplastic");
    const cs_mock_record_t *bone = s_term(m, neo->code, "bone (periosteum)");
    s_attr_is(bone, "cell4", "-");
    s_attr_is(bone, "cell5", "D16.9-");
    cs_mock_host_destroy(&m);
}
END_TEST

/* A term keeps its key whatever else the load holds (the key is its path's hash), and two
 * terms with one path get two keys. */
START_TEST(test_keys_stable)
{
    cs_mock_host_t *all = s_load_samples();
    char drug[PATH_MAX];
    s_sample("drug", drug, sizeof drug);
    const char *one[1] = {drug};
    cs_mock_host_t *alone = s_load_ok(one, 1);
    ck_assert_str_eq(s_term(all, "DRUG", "Acetaminophen")->code,
                     s_term(alone, "DRUG", "Acetaminophen")->code);
    s_attr_is(cs_mock_host_find(alone, CS_CLASS_CHAPTER, "DRUG"), "first_doc", "0");
    cs_mock_host_destroy(&alone);
    cs_mock_host_destroy(&all);

    char dir[PATH_MAX], path[PATH_MAX + 32];
    cs_test_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/icd10cm_eindex_twice.xml", dir);
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fputs("<ICD10CM.index><letter><title>A</title>"
          "<mainTerm><title>Same</title><code>W19</code></mainTerm>"
          "<mainTerm><title>Same</title><code>W11</code></mainTerm>"
          "</letter></ICD10CM.index>\n", fp);
    fclose(fp);
    const char *f[1] = {path};
    cs_mock_host_t *m = s_load_ok(f, 1);
    ck_assert_uint_eq(cs_mock_host_emitted(m, CS_CLASS_CODE), 2);
    ck_assert_str_ne(cs_mock_host_record(m, 1)->code, cs_mock_host_record(m, 2)->code);
    cs_mock_host_destroy(&m);
    cs_test_rmtree(dir);
}
END_TEST

/* ---- hostile files ---------------------------------------------------------------------- */

static const char s_head[] =
    "<?xml version=\"1.0\"?>\n<ICD10CM.index>\n<indexHeading><head col=\"1\">Substance</head>"
    "<head col=\"2\">Poisoning</head><head col=\"3\">Adverse effect</head></indexHeading>\n"
    "<letter><title>A</title>\n";

typedef struct s_bad {
    const char *file;  /* base name (it names the table) */
    const char *body;  /* after s_head when head is 1 */
    int head;
    int rc;
    const char *want;  /* part of the message */
    unsigned line;     /* the line expected, 0: any line > 0 */
} s_bad_t;

static const s_bad_t s_bads[] = {
    {"icd10cm_eindex_x.xml",
     "<ICD10CM.index>\n<letter><title>A</title>\n<mainTerm><title>A</title>\n"
     "<term level=\"2\"><title>b</title></term></mainTerm></letter></ICD10CM.index>\n",
     0, CS_EMALFORMED, "level 2 under a term of level 0", 4},
    {"icd10cm_drug_x.xml",
     "<mainTerm><title>X</title>\n<cell col=\"4\">T39.1X1</cell></mainTerm></letter>"
     "</ICD10CM.index>\n",
     1, CS_EMALFORMED, "col 4 is outside the heading's columns", 6},
    {"icd10cm_drug_x.xml",
     "<mainTerm><title>X</title>\n<cell col=\"1\">X</cell></mainTerm></letter></ICD10CM.index>\n",
     1, CS_EMALFORMED, "col 1 is outside", 6},
    {"icd10cm_drug_x.xml",
     "<mainTerm><title>X</title>\n<cell col=\"2\">T1</cell>\n<cell col=\"2\">T2</cell>"
     "</mainTerm></letter></ICD10CM.index>\n",
     1, CS_EMALFORMED, "a second <cell> col 2", 7},
    {"icd10cm_drug_x.xml",
     "<mainTerm><title>X</title>\n<cell>T1</cell></mainTerm></letter></ICD10CM.index>\n",
     1, CS_EMALFORMED, "<cell> needs a col", 6},
    {"icd10cm_drug_x.xml",
     "<mainTerm><title>X</title>\n<dose>1</dose></mainTerm></letter></ICD10CM.index>\n",
     1, CS_EMALFORMED, "unknown element <dose> in <mainTerm>", 6},
    {"icd10cm_drug_x.xml",
     "<mainTerm><diff><new>X</new></diff></mainTerm></letter></ICD10CM.index>\n",
     1, CS_EMALFORMED, "addenda markup", 5},
    {"icd10cm_drug_x.xml",
     "<mainTerm><title>X</title>\n<cell col=\"2\">T39.1X1</cell>\n<term level=\"1\">",
     1, CS_EMALFORMED, "", 0},
    {"icd10cm_drug_x.xml",
     "<mainTerm>\n<cell col=\"2\">T1</cell></mainTerm></letter></ICD10CM.index>\n",
     1, CS_EMALFORMED, "<mainTerm> without a <title>", 5},
    {"icd10cm_eindex_x.xml",
     "<ICD10CM.index><letter><title>A</title>\n<mainTerm><title>A</title>\n"
     "<term level=\"1\"><title>b</title></term>\n<code>W19</code></mainTerm></letter>"
     "</ICD10CM.index>\n",
     0, CS_EMALFORMED, "<code> after a subterm", 4},
    {"icd10cm_eindex_x.xml",
     "<ICD10CM.index><letter><title>A</title>\n<mainTerm><title>A</title>\n"
     "<code>W19</code><code>W11</code></mainTerm></letter></ICD10CM.index>\n",
     0, CS_EMALFORMED, "a second <code>", 3},
    {"icd10cm_eindex_x.xml",
     "<ICD10CM.index><letter><title>A</title>\n<mainTerm><title>  </title>\n"
     "</mainTerm></letter></ICD10CM.index>\n",
     0, CS_EMALFORMED, "an empty <title>", 2},
    {"icd10cm_eindex_x.xml",
     "<ICD10CM.index><letter><title>A</title>\n<mainTerm><title>A</title>stray text\n"
     "</mainTerm></letter></ICD10CM.index>\n",
     0, CS_EMALFORMED, "text outside", 0},
    {"icd10cm_eindex_x.xml",
     "<?xml version=\"1.0\"?>\n<!DOCTYPE r [<!ENTITY e \"boom\">]>\n<ICD10CM.index><letter>"
     "<title>A</title><mainTerm><title>&e;</title></mainTerm></letter></ICD10CM.index>\n",
     0, CS_EMALFORMED, "DOCTYPE", 0},
    {"icd10cm_eindex_x.xml", "<ICD10CM.tabular></ICD10CM.tabular>\n", 0, CS_EMALFORMED,
     "root element is <ICD10CM.tabular>", 1},
    {"icd10cm_eindex_x.xml", "<ICD10CM.index><version>2022</version></ICD10CM.index>\n", 0,
     CS_EMALFORMED, "holds no <letter>", 1},
};

static void s_write(const char *path, const char *a, const char *b)
{
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fputs(a, fp);
    fputs(b, fp);
    ck_assert_int_eq(fclose(fp), 0);
}

static void s_expect_bad(const char *path, const char *base, int want_rc, const char *want,
                         unsigned line)
{
    const char *f[1] = {path};
    int rc;
    cs_error_t err;
    cs_mock_host_t *m = s_load_n(f, 1, 0, &rc, &err);
    ck_assert_msg(rc == want_rc, "%s: rc %d, expected %d (%s)", base, rc, want_rc, err.msg);
    ck_assert_msg(strstr(err.msg, want) != NULL, "message lacks \"%s\": \"%s\"", want, err.msg);
    ck_assert_str_eq(err.file, base);
    if (line) {
        ck_assert_msg(err.line == line, "\"%s\" at line %u, expected %u", err.msg, err.line,
                      line);
    } else {
        ck_assert_msg(err.line > 0, "no line: %s", err.msg);
    }
    cs_mock_host_destroy(&m);
}

START_TEST(test_hostile)
{
    char dir[PATH_MAX], path[PATH_MAX + 64];
    cs_test_tmpdir(dir, sizeof dir);
    for (size_t i = 0; i < sizeof s_bads / sizeof s_bads[0]; i++) {
        const s_bad_t *b = &s_bads[i];
        snprintf(path, sizeof path, "%s/%s", dir, b->file);
        s_write(path, b->head ? s_head : "", b->body);
        s_expect_bad(path, b->file, b->rc, b->want, b->line);
    }
    cs_test_rmtree(dir);
}
END_TEST

/* Levels past the schema's 9, and elements nested past the reader's bound. */
START_TEST(test_hostile_depth)
{
    char dir[PATH_MAX], path[PATH_MAX + 64];
    cs_test_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/icd10cm_eindex_deep.xml", dir);
    char *body = malloc(64 * 1024);
    ck_assert_ptr_nonnull(body);
    size_t o = (size_t)sprintf(body, "<ICD10CM.index><letter><title>A</title>\n"
                                     "<mainTerm><title>A</title>\n");
    for (int l = 1; l <= 10; l++) {
        o += (size_t)sprintf(body + o, "<term level=\"%d\"><title>t%d</title>\n", l, l);
    }
    body[o] = '\0';
    s_write(path, body, "");
    s_expect_bad(path, "icd10cm_eindex_deep.xml", CS_EMALFORMED, "needs a level of 1 to 9", 12);
    o = 0;
    for (int l = 0; l < 5000; l++) {
        o += (size_t)sprintf(body + o, "<a>");
    }
    body[o] = '\0';
    s_write(path, "<ICD10CM.index><version>", body);
    s_expect_bad(path, "icd10cm_eindex_deep.xml", CS_EMALFORMED, "unknown element <a>", 1);
    free(body);
    /* a second file of one table */
    char a[PATH_MAX];
    s_sample("drug", a, sizeof a);
    const char *f[2] = {a, a};
    int rc;
    cs_error_t err;
    cs_mock_host_t *m = s_load_n(f, 2, 0, &rc, &err);
    ck_assert_int_eq(rc, CS_EMALFORMED);
    ck_assert_msg(strstr(err.msg, "a second file of the ICD-10-CM Table of Drugs"), "%s",
                  err.msg);
    cs_mock_host_destroy(&m);
    cs_test_rmtree(dir);
}
END_TEST

START_TEST(test_emit_error_stops)
{
    char a[PATH_MAX];
    s_sample("eindex", a, sizeof a);
    const char *f[1] = {a};
    cs_mock_host_t *m = cs_mock_host_new(0);
    cs_mock_host_fail_emit(m, 3, CS_ESPACE);
    cs_error_t err;
    int rc = cs_loader_test_run(s_desc, m, f, 1, &err);
    ck_assert_int_eq(rc, CS_ESPACE);
    ck_assert_uint_eq(cs_mock_host_emitted(m, CS_CLASS_CODE), 1);
    cs_mock_host_destroy(&m);
}
END_TEST

/* ---- the official FY2022 files ---------------------------------------------------------- */

typedef struct s_counts {
    size_t main_terms, levels[CS_INDEX_MAX_LEVEL + 1], cells, codes, sees;
} s_counts_t;

static void s_count(cs_mock_host_t *m, char letter, s_counts_t *c)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < cs_mock_host_count(m); i++) {
        const cs_mock_record_t *r = cs_mock_host_record(m, i);
        if (r->cls != CS_CLASS_CODE || r->code[0] != letter) {
            continue;
        }
        c->main_terms += r->n_terms == 0;
        c->levels[r->n_terms]++;
        for (size_t a = 0; a < r->n_attrs; a++) {
            c->cells += strncmp(r->attr_names[a], "cell", 4) == 0;
            c->codes += strcmp(r->attr_names[a], "code") == 0;
            c->sees += strcmp(r->attr_names[a], "see") == 0;
        }
    }
}

START_TEST(test_fy2022)
{
    char p[3][PATH_MAX];
    int ok = cs_test_data_path("icd10cm/index-2022/icd10cm_drug_2022.xml", p[0], sizeof p[0]);
    CS_SKIP_UNLESS_DATA(ok, "icd10cm/index-2022/icd10cm_drug_2022.xml");
    ok = cs_test_data_path("icd10cm/index-2022/icd10cm_neoplasm_2022.xml", p[1], sizeof p[1]);
    CS_SKIP_UNLESS_DATA(ok, "icd10cm/index-2022/icd10cm_neoplasm_2022.xml");
    ok = cs_test_data_path("icd10cm/index-2022/icd10cm_eindex_2022.xml", p[2], sizeof p[2]);
    CS_SKIP_UNLESS_DATA(ok, "icd10cm/index-2022/icd10cm_eindex_2022.xml");
    char idx[PATH_MAX];
    if (!cs_test_data_path("icd10cm/index-2022/icd10cm_index_2022.xml", idx, sizeof idx)) {
        fprintf(stderr, "NOTE %s: icd10cm_index_2022.xml (the Index to Diseases) is not in "
                "../shared/data; its layout is tested with the sample\n", __func__);
    }
    const char *files[3] = {p[0], p[1], p[2]};
    cs_mock_host_t *m = s_load_ok(files, 3);
    /* counted in the XML: <mainTerm>, <term level="N">, <cell>, <code>, <see> */
    s_counts_t c;
    s_count(m, 'D', &c);
    ck_assert_uint_eq(c.main_terms, 5175);
    ck_assert_uint_eq(c.levels[1], 1900);
    ck_assert_uint_eq(c.levels[2], 294);
    ck_assert_uint_eq(c.levels[3], 49);
    ck_assert_uint_eq(c.levels[4], 5);
    ck_assert_uint_eq(c.cells, 43182);
    ck_assert_uint_eq(c.sees, 97);
    s_count(m, 'N', &c);
    ck_assert_uint_eq(c.main_terms, 1);
    ck_assert_uint_eq(c.levels[1], 593);
    ck_assert_uint_eq(c.levels[2], 957);
    ck_assert_uint_eq(c.levels[3], 352);
    ck_assert_uint_eq(c.levels[4], 36);
    ck_assert_uint_eq(c.cells, 10916);
    ck_assert_uint_eq(c.sees, 67);
    s_count(m, 'E', &c);
    ck_assert_uint_eq(c.main_terms, 314);
    static const size_t e_levels[] = {0, 1380, 1587, 1268, 917, 1004, 862, 364, 104, 0};
    for (int l = 1; l <= CS_INDEX_MAX_LEVEL; l++) {
        ck_assert_msg(c.levels[l] == e_levels[l], "level %d: %zu", l, c.levels[l]);
    }
    ck_assert_uint_eq(c.codes, 6416);
    ck_assert_uint_eq(c.sees, 788);
    const cs_mock_record_t *acet = s_term(m, "DRUG", "Acetaminophen");
    s_attr_is(acet, "cell6", "T39.1X5");
    s_attr_is(s_term(m, "DRUG", "1-propanol"), "cell6", "--");
    s_attr_is(s_term(m, NULL, "ladder (causing fall)"), "code", "W11");
    cs_mock_host_destroy(&m);
}
END_TEST

Suite *cs_icd10cm_index_suite(void);
Suite *cs_icd10cm_index_suite(void)
{
    Suite *s = suite_create("icd10cm_index");
    TCase *tc = tcase_create("samples");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_descriptor);
    tcase_add_test(tc, test_samples_roots);
    tcase_add_test(tc, test_samples_terms);
    tcase_add_test(tc, test_keys_stable);
    suite_add_tcase(s, tc);

    tc = tcase_create("hostile");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_hostile);
    tcase_add_test(tc, test_hostile_depth);
    tcase_add_test(tc, test_emit_error_stops);
    suite_add_tcase(s, tc);

    tc = tcase_create("fy2022");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_fy2022);
    suite_add_tcase(s, tc);
    return s;
}
