/* check_ncci_xlsx.c: the xlsx twins of the NCCI files (loaders ncci-ptp and ncci-mue, through
 * loaders/common/cs_tsv_xlsx.c). The twins are made here from the synthetic text samples
 * (loaders/ncci-ptp/sample, loaders/ncci-mue/sample; no CMS NCCI file is available), a cell
 * for each field, digits as number cells as a spreadsheet keeps them, empty fields as skipped
 * cells, the samples' "SYNTHETIC SAMPLE" notice in their first row and sheet name. Then:
 *   - the same rows from text and xlsx through the recording mock host;
 *   - the same claim replies from two live brokers, one loaded with each, on ICD-10-CM FY2021
 *     and HCPCS 2025 (skipped, saying so, where ../shared/data is absent);
 *   - hostile workbooks (truncated, no sheet, a wrong header, a bad cell, a cell past the
 *     columns), each failing at the file, row and column with why. */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codeset/cs_plugin.h"
#include "cs_daemon.h"
#include "cs_test.h"
#include "loader_test.h"
#include "mock_host.h"

/* tests/check_xlsx.c: a zip of (name, body) pairs. */
int cs_test_zip_write(const char *path, const char *const *parts, size_t n_parts);

#define S_NS "xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\""
#define S_RNS "xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\""

static const char s_types[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"
    "<Default Extension=\"xml\" ContentType=\"application/xml\"/></Types>";
static const char s_workbook[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<workbook " S_NS " " S_RNS "><sheets>"
    "<sheet name=\"SYNTHETIC sample\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>";
static const char s_rels[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
    "<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/"
    "relationships/worksheet\" Target=\"worksheets/sheet1.xml\"/></Relationships>";

static char s_tmp[PATH_MAX];

/* A growing text. */
typedef struct s_buf {
    char *p;
    size_t len, cap;
} s_buf_t;

static void s_put(s_buf_t *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        ck_assert_ptr_nonnull(b->p);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void s_puts(s_buf_t *b, const char *s)
{
    s_put(b, s, strlen(s));
}

/* One field as a cell of column col (0 = A) of row: digits a number, else an inline string. */
static void s_cell(s_buf_t *b, unsigned row, size_t col, const char *f, size_t n)
{
    if (n == 0) {
        return; /* an empty field: a skipped cell */
    }
    char head[64];
    int digits = strspn(f, "0123456789") >= n;
    snprintf(head, sizeof head, "<c r=\"%c%u\"%s>%s", (char)('A' + col), row,
             digits ? "" : " t=\"inlineStr\"", digits ? "<v>" : "<is><t xml:space=\"preserve\">");
    s_puts(b, head);
    for (size_t i = 0; i < n; i++) {
        const char *esc = f[i] == '&'   ? "&amp;"
                          : f[i] == '<' ? "&lt;"
                          : f[i] == '>' ? "&gt;"
                                        : NULL;
        if (esc) {
            s_puts(b, esc);
        } else {
            s_put(b, &f[i], 1);
        }
    }
    s_puts(b, digits ? "</v></c>" : "</t></is></c>");
}

/* One text line as a row: fields split at sep; for ',' a field may be quoted (with "" for a
 * quote), as the MUE CSV quotes fields holding a comma. */
static void s_row(s_buf_t *b, unsigned row, const char *line, char sep)
{
    char num[48];
    snprintf(num, sizeof num, "<row r=\"%u\">", row);
    s_puts(b, num);
    size_t col = 0;
    const char *p = line;
    for (;;) {
        char field[1024];
        size_t n = 0;
        if (sep == ',' && *p == '"') {
            for (p++; *p && !(*p == '"' && p[1] != '"'); p++) {
                p += *p == '"'; /* "" is one quote */
                field[n++] = *p;
            }
            p += *p == '"';
        } else {
            for (; *p && *p != sep; p++) {
                field[n++] = *p;
            }
        }
        field[n] = '\0';
        s_cell(b, row, col++, field, n);
        if (*p != sep) {
            break;
        }
        p++;
    }
    s_puts(b, "</row>");
}

/* The sheet XML of a text file: a row for each non-blank line, at the line's number. */
static char *s_sheet_of(const char *src, char sep)
{
    FILE *f = fopen(src, "rb");
    ck_assert_ptr_nonnull(f);
    s_buf_t b = {0};
    s_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<worksheet " S_NS "><sheetData>");
    char line[2048];
    for (unsigned no = 1; fgets(line, sizeof line, f); no++) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0]) {
            s_row(&b, no, line, sep);
        }
    }
    fclose(f);
    s_puts(&b, "</sheetData></worksheet>");
    return b.p;
}

/* A workbook at tmp/name holding sheet (or none, for a hostile one). */
static void s_workbook_write(const char *name, const char *sheet, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", s_tmp, name);
    const char *parts[] = {"[Content_Types].xml", s_types, "xl/workbook.xml", s_workbook,
                           "xl/_rels/workbook.xml.rels", s_rels, "xl/worksheets/sheet1.xml",
                           sheet};
    ck_assert_int_eq(cs_test_zip_write(path, parts, sheet ? 4 : 3), 0);
}

static void s_sample(const char *loader, const char *name, char *out, size_t cap)
{
    char cwd[PATH_MAX];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    snprintf(out, cap, "%s/loaders/%s/sample/%s", cwd, loader, name);
}

/* The xlsx twin of a sample, written to tmp/xlsx_name; the text's path in text. */
static void s_twin(const char *loader, const char *name, char sep, const char *xlsx_name,
                   char *text, char *xlsx, size_t cap)
{
    s_sample(loader, name, text, cap);
    char *sheet = s_sheet_of(text, sep);
    ck_assert_ptr_nonnull(strstr(sheet, "SYNTHETIC SAMPLE"));
    s_workbook_write(xlsx_name, sheet, xlsx, cap);
    free(sheet);
}

static void s_setup(void)
{
    cs_test_tmpdir(s_tmp, sizeof s_tmp);
}

static void s_teardown(void)
{
    cs_test_rmtree(s_tmp);
}

/* Load one file with the loader; m kept when keep is not NULL. */
static int s_run(const char *loader, const char *path, cs_error_t *err, cs_mock_host_t **keep)
{
    void *dl = NULL;
    const cs_plugin_desc_t *d = cs_loader_test_open(loader, &dl);
    ck_assert_ptr_nonnull(d);
    cs_mock_host_t *m = cs_mock_host_new(1);
    const char *files[] = {path};
    int rc = cs_loader_test_run(d, m, files, 1, err);
    if (keep) {
        *keep = m;
    } else {
        cs_mock_host_destroy(&m);
    }
    if (rc == CS_OK) {
        ck_assert_msg(d->loader->sniff(files, 1), "%s does not sniff %s", loader, path);
    }
    cs_loader_test_close(&dl);
    return rc;
}

static const char *s_or(const char *s)
{
    return s ? s : "(null)";
}

/* Text and xlsx give the same rows, field for field, in the same order. */
static void s_same_rows(const char *loader, const char *text, const char *xlsx, size_t want)
{
    cs_mock_host_t *a = NULL, *b = NULL;
    cs_error_t err;
    ck_assert_msg(s_run(loader, text, &err, &a) == CS_OK, "%s:%u: %s", err.file, err.line,
                  err.msg);
    ck_assert_msg(s_run(loader, xlsx, &err, &b) == CS_OK, "%s:%u:%u: %s", err.file, err.line,
                  err.column, err.msg);
    ck_assert_uint_eq(cs_mock_host_map_count(a), want);
    ck_assert_uint_eq(cs_mock_host_map_count(b), want);
    for (size_t i = 0; i < want; i++) {
        const cs_mock_map_row_t *x = cs_mock_host_map_row(a, i), *y = cs_mock_host_map_row(b, i);
        ck_assert_str_eq(x->map, y->map);
        ck_assert_str_eq(x->from_system, y->from_system);
        ck_assert_str_eq(x->source, y->source);
        ck_assert_str_eq(s_or(x->relationship), s_or(y->relationship));
        ck_assert_uint_eq(x->flags, y->flags);
    }
    cs_mock_host_destroy(&a);
    cs_mock_host_destroy(&b);
}

START_TEST(test_same_rows)
{
    char t[PATH_MAX], x[PATH_MAX];
    s_twin("ncci-ptp", "ncci_ptp_sample.txt", '\t', "ptp.xlsx", t, x, sizeof t);
    s_same_rows("ncci-ptp", t, x, 6);
    s_twin("ncci-mue", "ncci_mue_sample.csv", ',', "mue.xlsx", t, x, sizeof t);
    s_same_rows("ncci-mue", t, x, 4);
}
END_TEST

/* ---- the same claims through two brokers ---- */

#define T_LOAD 120000

static void s_broker(cs_daemon_t *d, const char *ptp, const char *mue, const char *cm,
                     const char *hcpcs)
{
    memset(d, 0, sizeof *d);
    ck_assert_int_eq(cs_daemon_start(d, NULL), 0);
    cs_tclient_t *admin = cs_tclient_new(d->admin_ep);
    static const struct {
        const char *loader, *label, *eff;
    } loads[] = {{"icd10cm-order", "2021", "2020-10-01"},
                 {"hcpcs-anweb", "2025-01", "2025-01-01"},
                 {"ncci-ptp", "sample", "2020-01-01"},
                 {"ncci-mue", "sample", "2025-01-01"}};
    const char *files[] = {cm, hcpcs, ptp, mue};
    for (size_t i = 0; i < 4; i++) {
        char state[64];
        const char *f[] = {files[i]};
        cs_daemon_load(d, admin, loads[i].loader, loads[i].label, loads[i].eff, f, 1, state,
                       sizeof state, T_LOAD);
        ck_assert_msg(strcmp(state, "done") == 0, "load %s: %s", loads[i].loader, state);
    }
    cs_tclient_destroy(&admin);
}

/* A claim of one diagnosis and two HCPCS lines (b's modifier mb may be NULL; units each). */
static void s_pack(msgpack_sbuffer *sb, const char *date, const char *a, const char *b,
                   const char *mb, int units)
{
    msgpack_sbuffer_clear(sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 5);
    cs_tpack_kv(&pk, "op", "claim");
    cs_tpack_kv(&pk, "date", date);
    cs_tpack_kv(&pk, "setting", "outpatient");
    cs_tpack_str(&pk, "diagnoses");
    msgpack_pack_array(&pk, 1);
    msgpack_pack_map(&pk, 1);
    cs_tpack_kv(&pk, "code", "Z00.00");
    cs_tpack_str(&pk, "procedures");
    msgpack_pack_array(&pk, 2);
    const char *codes[] = {a, b};
    for (int i = 0; i < 2; i++) {
        int mod = i == 1 && mb;
        msgpack_pack_map(&pk, 3 + (mod ? 1 : 0));
        cs_tpack_kv(&pk, "system", "hcpcs");
        cs_tpack_kv(&pk, "code", codes[i]);
        cs_tpack_str(&pk, "units");
        msgpack_pack_int(&pk, units);
        if (mod) {
            cs_tpack_str(&pk, "modifiers");
            msgpack_pack_array(&pk, 1);
            cs_tpack_str(&pk, mb);
        }
    }
}

START_TEST(test_same_claims)
{
    char cm[PATH_MAX], hc[PATH_MAX];
    int ok = cs_test_data_path("icd10cm/2021/icd10cm_order_2021.txt", cm, sizeof cm) &&
             cs_test_data_path("hcpcs/HCPC2025_JAN_ANWEB_12172024.txt", hc, sizeof hc);
    CS_SKIP_UNLESS_DATA(ok, "the ICD-10-CM FY2021 order file or HCPCS 2025 January");
    char pt[PATH_MAX], px[PATH_MAX], mt[PATH_MAX], mx[PATH_MAX];
    s_twin("ncci-ptp", "ncci_ptp_sample.txt", '\t', "ptp.xlsx", pt, px, sizeof pt);
    s_twin("ncci-mue", "ncci_mue_sample.csv", ',', "mue.xlsx", mt, mx, sizeof mt);
    cs_daemon_t dt, dx;
    s_broker(&dt, pt, mt, cm, hc);
    s_broker(&dx, px, mx, cm, hc);
    cs_tclient_t *a = cs_tclient_new(dt.query_ep), *b = cs_tclient_new(dx.query_ep);
    static const struct {
        const char *date, *a, *b, *mb;
        int units;
    } claims[] = {
        {"2025-03-01", "G0101", "G0102", NULL, 1},  {"2025-03-01", "G0101", "J1100", NULL, 1},
        {"2025-03-01", "G0101", "J1100", "59", 1},  {"2025-03-01", "G0101", "J3490", NULL, 1},
        {"2025-03-01", "G0102", "J7050", NULL, 1},  {"2025-08-01", "J1100", "A4550", NULL, 1},
        {"2025-03-01", "J1100", "A4550", NULL, 11}, {"2025-03-01", "G0101", "G0101", "76", 1},
        {"2025-03-01", "A4550", "A4550", "76", 3},
    };
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    size_t flagged = 0;
    for (size_t i = 0; i < sizeof claims / sizeof claims[0]; i++) {
        s_pack(&sb, claims[i].date, claims[i].a, claims[i].b, claims[i].mb, claims[i].units);
        char why[512];
        const msgpack_object *r = cs_tclient_same_answer(a, b, sb.data, sb.size, why, sizeof why);
        ck_assert_msg(r != NULL, "claim %zu: text and xlsx answer differently: %s", i, why);
        ck_assert(cs_obj_true(cs_obj_get(r, "ok")));
        flagged += !cs_obj_true(cs_obj_get(r, "clean"));
    }
    ck_assert_uint_ge(flagged, 5); /* the claims do meet the edits */
    msgpack_sbuffer_destroy(&sb);
    cs_tclient_destroy(&a);
    cs_tclient_destroy(&b);
    cs_daemon_stop(&dt);
    cs_daemon_cleanup(&dt);
    cs_daemon_stop(&dx);
    cs_daemon_cleanup(&dx);
}
END_TEST

/* ---- hostile workbooks ---- */

/* The sample's sheet with text replaced by other (once), as a workbook at tmp/name. */
static void s_altered(const char *loader, const char *sample, char sep, const char *text,
                      const char *other, const char *name, char *path, size_t cap)
{
    char src[PATH_MAX];
    s_sample(loader, sample, src, sizeof src);
    char *sheet = s_sheet_of(src, sep);
    char *at = strstr(sheet, text);
    ck_assert_msg(at != NULL, "%s is not in the sheet", text);
    s_buf_t b = {0};
    s_put(&b, sheet, (size_t)(at - sheet));
    s_puts(&b, other);
    s_puts(&b, at + strlen(text));
    s_workbook_write(name, b.p, path, cap);
    free(b.p);
    free(sheet);
}

/* The load fails at file name, row (0: not a row) and column (0: any) with why in it. */
static void s_fails(const char *loader, const char *path, const char *name, unsigned row,
                    unsigned col, const char *why)
{
    cs_error_t err;
    ck_assert_int_ne(s_run(loader, path, &err, NULL), CS_OK);
    if (getenv("CS_SHOW_ERRORS")) {
        fprintf(stderr, "%s:%u:%u: %s\n", err.file, err.line, err.column, err.msg);
    }
    ck_assert_msg(strcmp(err.file, name) == 0 && err.line == row &&
                  (col == 0 || err.column == col) && strstr(err.msg, why),
                  "%s: %s:%u:%u: %s", name, err.file, err.line, err.column, err.msg);
}

START_TEST(test_hostile)
{
    char t[PATH_MAX], x[PATH_MAX];
    s_twin("ncci-ptp", "ncci_ptp_sample.txt", '\t', "good.xlsx", t, x, sizeof t);
    /* truncated: the first half of a good workbook */
    FILE *f = fopen(x, "rb");
    ck_assert_ptr_nonnull(f);
    char bytes[16384];
    size_t n = fread(bytes, 1, sizeof bytes, f);
    fclose(f);
    char cut[PATH_MAX];
    snprintf(cut, sizeof cut, "%s/truncated.xlsx", s_tmp);
    f = fopen(cut, "wb");
    fwrite(bytes, 1, n / 2, f);
    fclose(f);
    s_fails("ncci-ptp", cut, "truncated.xlsx", 0, 0, "zip");
    /* a workbook without its sheet */
    char none[PATH_MAX];
    s_workbook_write("nosheet.xlsx", NULL, none, sizeof none);
    s_fails("ncci-mue", none, "nosheet.xlsx", 0, 0, "sheet1.xml");
    /* a wrong header: no row starts Column 1, Column 2 */
    char p[PATH_MAX];
    s_altered("ncci-ptp", "ncci_ptp_sample.txt", '\t', "Column 1<", "Col 1<", "header.xlsx", p,
              sizeof p);
    s_fails("ncci-ptp", p, "header.xlsx", 0, 0, "no header line: not an NCCI PTP file");
    s_altered("ncci-mue", "ncci_mue_sample.csv", ',', "MUE Value<", "Units<", "mhead.xlsx", p,
              sizeof p);
    s_fails("ncci-mue", p, "mhead.xlsx", 0, 0, "no header line: not an MUE file");
    /* a bad cell: row 11's deletion date, and an MUE value at row 5, column B */
    s_altered("ncci-ptp", "ncci_ptp_sample.txt", '\t', "<v>20201231</v>", "<v>2020</v>",
              "date.xlsx", p, sizeof p);
    s_fails("ncci-ptp", p, "date.xlsx", 11, 0, "deletion date");
    s_altered("ncci-mue", "ncci_mue_sample.csv", ',', "<c r=\"B5\"><v>10</v>",
              "<c r=\"B5\" t=\"inlineStr\"><is><t>ten</t></is>", "value.xlsx", p, sizeof p);
    s_fails("ncci-mue", p, "value.xlsx", 5, 2, "MUE value 'ten'");
    /* a value past the MUE's four columns */
    s_altered("ncci-mue", "ncci_mue_sample.csv", ',', "</row><row r=\"6\">",
              "<c r=\"F5\" t=\"inlineStr\"><is><t>stray</t></is></c></row><row r=\"6\">",
              "wide.xlsx", p, sizeof p);
    s_fails("ncci-mue", p, "wide.xlsx", 5, 6, "4 columns");
    /* not a zip at all, named .xlsx: read as text, and refused as text */
    char txt[PATH_MAX];
    snprintf(txt, sizeof txt, "%s/plain.xlsx", s_tmp);
    f = fopen(txt, "wb");
    fputs("just text\n", f);
    fclose(f);
    s_fails("ncci-mue", txt, "plain.xlsx", 0, 0, "no header line");
}
END_TEST

Suite *cs_ncci_xlsx_suite(void);
Suite *cs_ncci_xlsx_suite(void)
{
    Suite *s = suite_create("ncci_xlsx");
    TCase *tc = tcase_create("xlsx");
    tcase_set_timeout(tc, 600);
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_same_rows);
    tcase_add_test(tc, test_hostile);
    tcase_add_test(tc, test_same_claims);
    suite_add_tcase(s, tc);
    return s;
}
