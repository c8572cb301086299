/* check_xlsx.c: the shared .xlsx row reader (loaders/common/xlsx.[ch]) on workbooks built
 * at test time with libzip: shared, rich, inline and escaped strings, numbers and booleans,
 * skipped cells and rows, sheets found through the workbook's relationships or the
 * sheet1.xml fallback, and hostile archives (not a zip, truncated, corrupt, a zip bomb, a
 * DOCTYPE, bad references), each refused with the file, the part and the row. */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zip.h>

#include "../loaders/common/xlsx.h"
#include "cs_test.h"

/* Shared with check_hcpcs_anweb.c, which builds its own workbooks with it. */
int cs_test_zip_write(const char *path, const char *const *parts, size_t n_parts);

/* Write a zip at path holding n_parts parts given as name, body pairs (parts[2k] the name,
 * parts[2k+1] the body, a C string). Returns 0, or -1 on any libzip failure. */
int cs_test_zip_write(const char *path, const char *const *parts, size_t n_parts)
{
    int zerr = 0;
    zip_t *za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &zerr);
    if (!za) {
        return -1;
    }
    for (size_t i = 0; i < n_parts; i++) {
        const char *body = parts[2 * i + 1];
        zip_source_t *src = zip_source_buffer(za, body, strlen(body), 0);
        if (!src) {
            zip_discard(za);
            return -1;
        }
        if (zip_file_add(za, parts[2 * i], src, ZIP_FL_OVERWRITE) < 0) {
            zip_source_free(src);
            zip_discard(za);
            return -1;
        }
    }
    return zip_close(za) == 0 ? 0 : -1;
}

#define S_NS "xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\""
#define S_RNS "xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\""
#define S_REL_WS "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"

static const char s_workbook[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
    "<workbook " S_NS " " S_RNS "><sheets>"
    "<sheet name=\"Data\" sheetId=\"1\" r:id=\"rId7\"/>"
    "<sheet name=\"Notes\" sheetId=\"2\" r:id=\"rId2\"/>"
    "</sheets></workbook>";

static const char s_rels[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
    "<Relationship Id=\"rId2\" Type=\"" S_REL_WS "\" Target=\"worksheets/sheet2.xml\"/>"
    "<Relationship Id=\"rId7\" Type=\"" S_REL_WS "\" Target=\"/xl/worksheets/data.xml\"/>"
    "</Relationships>";

/* Index 0 plain, 1 rich text with a phonetic run, 2 with an escaped CR, 3 empty, 4 spaces. */
static const char s_shared[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<sst " S_NS " count=\"5\" uniqueCount=\"5\">"
    "<si><t>HCPC</t></si>"
    "<si><r><t>Rich </t></r><r><rPr><b/></rPr><t>text</t></r><rPh sb=\"0\" eb=\"1\"><t>PH</t>"
    "</rPh></si>"
    "<si><t>line_x000D_two &amp; caf\xc3\xa9</t></si>"
    "<si/>"
    "<si><t xml:space=\"preserve\">   A1</t></si>"
    "</sst>";

static const char s_data[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<worksheet " S_NS "><sheetData>"
    "<row r=\"1\"><c r=\"A1\" t=\"s\"><v>0</v></c><c r=\"C1\" t=\"inlineStr\"><is><t>inline"
    "</t></is></c><c r=\"E1\"><v>20020701</v></c></row>"
    "<row r=\"2\"><c r=\"B2\" s=\"1\"/></row>"
    "<row r=\"4\"><c r=\"B4\" t=\"s\"><v>1</v></c><c r=\"C4\" t=\"b\"><v>1</v></c>"
    "<c r=\"D4\" t=\"str\"><f>A1</f><v>HCPC</v></c><c r=\"F4\" t=\"s\"><v>2</v></c></row>"
    "<row><c t=\"s\"><v>3</v></c><c t=\"s\"><v>4</v></c><c><v>1.5E-3</v></c></row>"
    "<row r=\"7\"><c r=\"AB7\" t=\"e\"><v>#N/A</v></c></row>"
    "</sheetData></worksheet>";

static const char s_sheet2[] =
    "<?xml version=\"1.0\"?><worksheet " S_NS "><sheetData>"
    "<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>second sheet</t></is></c></row>"
    "</sheetData></worksheet>";

/* What a read saw: every row's cells joined as "row:A|B|C" lines. */
typedef struct s_seen {
    char text[4096];  /* the rows */
    size_t rows;      /* callbacks */
    size_t stop_at;   /* return stop_rc from this callback (1-based), 0 never */
    int stop_rc;      /* what to return */
} s_seen_t;

static int s_row(void *arg, uint32_t row, const char *const *cells, size_t n, cs_error_t *err)
{
    s_seen_t *s = arg;
    s->rows++;
    if (s->stop_at && s->rows == s->stop_at) {
        return cs_error_set(err, s->stop_rc, "stopped at row %u", (unsigned)row);
    }
    size_t o = strlen(s->text);
    o += (size_t)snprintf(s->text + o, sizeof s->text - o, "%u:", (unsigned)row);
    for (size_t i = 0; i < n && o < sizeof s->text; i++) {
        ck_assert_ptr_nonnull(cells[i]);
        o += (size_t)snprintf(s->text + o, sizeof s->text - o, "%s%s", i ? "|" : "", cells[i]);
    }
    if (o < sizeof s->text) {
        snprintf(s->text + o, sizeof s->text - o, "\n");
    }
    return 0;
}

static char s_dir[PATH_MAX];

static void s_setup(void)
{
    cs_test_tmpdir(s_dir, sizeof s_dir);
}

static void s_teardown(void)
{
    cs_test_rmtree(s_dir);
}

/* Write parts into <tmp>/name; path out. */
static void s_write(const char *name, const char *const *parts, size_t n, char *path, size_t cap)
{
    snprintf(path, cap, "%s/%s", s_dir, name);
    ck_assert_msg(cs_test_zip_write(path, parts, n) == 0, "cannot write %s", path);
}

static void s_write_book(char *path, size_t cap)
{
    const char *parts[] = {
        "[Content_Types].xml", "<Types/>",
        "xl/workbook.xml", s_workbook,
        "xl/_rels/workbook.xml.rels", s_rels,
        "xl/sharedStrings.xml", s_shared,
        "xl/worksheets/data.xml", s_data,
        "xl/worksheets/sheet2.xml", s_sheet2,
    };
    s_write("book.xlsx", parts, 6, path, cap);
}

START_TEST(test_cells)
{
    char path[PATH_MAX];
    s_write_book(path, sizeof path);
    ck_assert_int_eq(cs_xlsx_is_zip(path), 1);
    cs_error_t err;
    cs_error_clear(&err);
    cs_xlsx_t *x = cs_xlsx_new(path, NULL, &err);
    ck_assert_msg(x != NULL, "%s: %s", err.file, err.msg);
    ck_assert_uint_eq(cs_xlsx_sheet_count(x), 2);
    ck_assert_str_eq(cs_xlsx_sheet_name(x, 0), "Data");
    ck_assert_str_eq(cs_xlsx_sheet_name(x, 1), "Notes");
    ck_assert_ptr_null(cs_xlsx_sheet_name(x, 2));
    s_seen_t seen = {0};
    int rc = cs_xlsx_rows(x, 0, s_row, &seen, &err);
    ck_assert_msg(rc == CS_OK, "%s:%u: %s", err.file, err.line, err.msg);
    /* Row 2 has only a styled empty cell: no callback. Row 5 takes its number from row 4
     * and its columns from the cells before; AB is column 28. */
    const char *want = "1:HCPC||inline||20020701\n"
                       "4:|Rich text|1|HCPC||line\rtwo & caf\xc3\xa9\n"
                       "5:|   A1|1.5E-3\n"
                       "7:|||||||||||||||||||||||||||#N/A\n";
    ck_assert_str_eq(seen.text, want);
    ck_assert_uint_eq(cs_xlsx_bytes_done(x), cs_xlsx_bytes_total(x));
    ck_assert_uint_eq(cs_xlsx_bytes_total(x), strlen(s_data));

    /* The second sheet, and the first again (a read may be repeated). */
    memset(&seen, 0, sizeof seen);
    ck_assert_int_eq(cs_xlsx_rows(x, 1, s_row, &seen, &err), CS_OK);
    ck_assert_str_eq(seen.text, "1:second sheet\n");
    memset(&seen, 0, sizeof seen);
    ck_assert_int_eq(cs_xlsx_rows(x, 0, s_row, &seen, &err), CS_OK);
    ck_assert_uint_eq(seen.rows, 4);

    /* No third sheet. */
    ck_assert_int_eq(cs_xlsx_rows(x, 2, s_row, &seen, &err), CS_ENOTFOUND);
    cs_xlsx_destroy(&x);
    ck_assert_ptr_null(x);
    cs_xlsx_destroy(&x);
}
END_TEST

START_TEST(test_callback_stops)
{
    char path[PATH_MAX];
    s_write_book(path, sizeof path);
    cs_error_t err;
    cs_xlsx_t *x = cs_xlsx_new(path, NULL, &err);
    ck_assert_ptr_nonnull(x);
    s_seen_t seen = {.stop_at = 2, .stop_rc = 42};
    ck_assert_int_eq(cs_xlsx_rows(x, 0, s_row, &seen, &err), 42);
    ck_assert_str_eq(err.msg, "stopped at row 4");
    seen = (s_seen_t){.stop_at = 1, .stop_rc = CS_ETERM};
    ck_assert_int_eq(cs_xlsx_rows(x, 0, s_row, &seen, &err), CS_ETERM);
    cs_xlsx_destroy(&x);
}
END_TEST

START_TEST(test_fallback_sheet1)
{
    /* No workbook.xml and no shared strings: the first sheet is xl/worksheets/sheet1.xml. */
    char path[PATH_MAX];
    const char *parts[] = {"xl/worksheets/sheet1.xml", s_sheet2};
    s_write("fallback.xlsx", parts, 1, path, sizeof path);
    cs_error_t err;
    cs_xlsx_t *x = cs_xlsx_new(path, NULL, &err);
    ck_assert_msg(x != NULL, "%s", err.msg);
    ck_assert_uint_eq(cs_xlsx_sheet_count(x), 1);
    s_seen_t seen = {0};
    ck_assert_int_eq(cs_xlsx_rows(x, 0, s_row, &seen, &err), CS_OK);
    ck_assert_str_eq(seen.text, "1:second sheet\n");
    cs_xlsx_destroy(&x);
}
END_TEST

START_TEST(test_missing_sheet)
{
    /* The workbook names a part the archive lacks. */
    char path[PATH_MAX];
    const char *parts[] = {
        "xl/workbook.xml", s_workbook,
        "xl/_rels/workbook.xml.rels", s_rels,
        "xl/sharedStrings.xml", s_shared,
    };
    s_write("missing.xlsx", parts, 3, path, sizeof path);
    cs_error_t err;
    cs_error_clear(&err);
    cs_xlsx_t *x = cs_xlsx_new(path, NULL, &err);
    ck_assert_ptr_nonnull(x);
    s_seen_t seen = {0};
    ck_assert_int_eq(cs_xlsx_rows(x, 0, s_row, &seen, &err), CS_ENOTFOUND);
    ck_assert_str_eq(err.file, "missing.xlsx");
    ck_assert_msg(strstr(err.msg, "xl/worksheets/data.xml") != NULL, "%s", err.msg);
    cs_xlsx_destroy(&x);

    /* No sheet at all, not even sheet1.xml. */
    const char *none[] = {"docProps/app.xml", "<Properties/>"};
    s_write("empty.xlsx", none, 1, path, sizeof path);
    x = cs_xlsx_new(path, NULL, &err);
    ck_assert_ptr_nonnull(x);
    ck_assert_int_eq(cs_xlsx_rows(x, 0, s_row, &seen, &err), CS_ENOTFOUND);
    ck_assert_msg(strstr(err.msg, "xl/worksheets/sheet1.xml") != NULL, "%s", err.msg);
    cs_xlsx_destroy(&x);
}
END_TEST

START_TEST(test_not_zip)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/plain.xlsx", s_dir);
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    fputs("HCPC,SEQNUM,RECID\nA0021,00100,3\n", fp);
    fclose(fp);
    ck_assert_int_eq(cs_xlsx_is_zip(path), 0);
    cs_error_t err;
    cs_error_clear(&err);
    ck_assert_ptr_null(cs_xlsx_new(path, NULL, &err));
    ck_assert_int_eq(err.code, CS_EMALFORMED);
    ck_assert_str_eq(err.file, "plain.xlsx");
    ck_assert_msg(strstr(err.msg, "zip") != NULL, "%s", err.msg);

    snprintf(path, sizeof path, "%s/absent.xlsx", s_dir);
    ck_assert_int_eq(cs_xlsx_is_zip(path), 0);
    ck_assert_ptr_null(cs_xlsx_new(path, NULL, &err));
    ck_assert_int_eq(err.code, CS_EIO);
    ck_assert_ptr_null(cs_xlsx_new(NULL, NULL, &err));
    ck_assert_int_eq(err.code, CS_EINVAL);
}
END_TEST

/* Read a file whole; caller frees. */
static char *s_slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    ck_assert_ptr_nonnull(fp);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(fread(p, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    *len = (size_t)n;
    return p;
}

static void s_spit(const char *path, const char *p, size_t n)
{
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    ck_assert_uint_eq(fwrite(p, 1, n, fp), n);
    fclose(fp);
}

/* Open and read sheet 0; returns the first failure (CS_OK if none). */
static int s_open_read(const char *path, cs_error_t *err)
{
    cs_error_clear(err);
    cs_xlsx_t *x = cs_xlsx_new(path, NULL, err);
    if (!x) {
        ck_assert_int_ne(err->code, CS_OK);
        return err->code;
    }
    s_seen_t seen = {0};
    int rc = cs_xlsx_rows(x, 0, s_row, &seen, err);
    cs_xlsx_destroy(&x);
    return rc;
}

START_TEST(test_truncated_and_corrupt)
{
    char path[PATH_MAX];
    s_write_book(path, sizeof path);
    size_t n;
    char *whole = s_slurp(path, &n);
    cs_error_t err;
    /* Cut at several points: the central directory goes first, so every cut is refused. */
    size_t cuts[] = {n - 1, n - 30, n / 2, 10, 0};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        char cut[PATH_MAX];
        snprintf(cut, sizeof cut, "%s/cut%zu.xlsx", s_dir, i);
        s_spit(cut, whole, cuts[i]);
        int rc = s_open_read(cut, &err);
        ck_assert_msg(rc == CS_EMALFORMED, "cut at %zu: rc %d (%s)", cuts[i], rc, err.msg);
        ck_assert_msg(strncmp(err.file, "cut", 3) == 0, "%s", err.file);
    }
    /* Flip bytes of the compressed worksheet: inflate or the CRC check must catch it. */
    size_t at = 0;
    for (size_t i = 0; i + 22 < n; i++) {
        if (memcmp(whole + i, "xl/worksheets/data.xml", 22) == 0) {
            at = i + 22; /* just past the local header's name: the entry's data */
            break;
        }
    }
    ck_assert_uint_gt(at, 0);
    for (size_t i = at + 4; i < at + 40 && i < n; i++) {
        whole[i] ^= 0x5a;
    }
    char bad[PATH_MAX];
    snprintf(bad, sizeof bad, "%s/corrupt.xlsx", s_dir);
    s_spit(bad, whole, n);
    int rc = s_open_read(bad, &err);
    ck_assert_msg(rc == CS_EMALFORMED, "corrupt: rc %d (%s)", rc, err.msg);
    free(whole);
}
END_TEST

START_TEST(test_limits)
{
    /* 4 MiB of blanks inside a cell compress more than 200:1: refused before reading. */
    size_t big = 4u * 1024 * 1024;
    char *sheet = malloc(big + 256);
    ck_assert_ptr_nonnull(sheet);
    int o = snprintf(sheet, 256, "<worksheet " S_NS "><sheetData><row r=\"1\"><c r=\"A1\" "
                     "t=\"inlineStr\"><is><t>");
    memset(sheet + o, ' ', big);
    snprintf(sheet + o + big, 128, "</t></is></c></row></sheetData></worksheet>");
    char path[PATH_MAX];
    const char *parts[] = {"xl/worksheets/sheet1.xml", sheet};
    s_write("bomb.xlsx", parts, 1, path, sizeof path);
    cs_error_t err;
    cs_xlsx_t *x = cs_xlsx_new(path, NULL, &err);
    ck_assert_ptr_nonnull(x);
    s_seen_t seen = {0};
    ck_assert_int_eq(cs_xlsx_rows(x, 0, s_row, &seen, &err), CS_ETOOMANY);
    ck_assert_msg(strstr(err.msg, "zip bomb") != NULL, "%s", err.msg);
    ck_assert_msg(strstr(err.msg, "xl/worksheets/sheet1.xml") != NULL, "%s", err.msg);
    cs_xlsx_destroy(&x);

    /* With a higher ratio allowed, the cell itself is over the cell limit. */
    cs_xlsx_limits_t lim = {.max_ratio = 100000};
    x = cs_xlsx_new(path, &lim, &err);
    ck_assert_ptr_nonnull(x);
    ck_assert_int_eq(cs_xlsx_rows(x, 0, s_row, &seen, &err), CS_ETOOMANY);
    ck_assert_uint_eq(err.line, 1);
    ck_assert_msg(strstr(err.msg, "cell A1") != NULL, "%s", err.msg);
    cs_xlsx_destroy(&x);

    /* A part over max_part_size. */
    lim = (cs_xlsx_limits_t){.max_part_size = 1000, .max_ratio = 100000};
    x = cs_xlsx_new(path, &lim, &err);
    ck_assert_ptr_nonnull(x);
    ck_assert_int_eq(cs_xlsx_rows(x, 0, s_row, &seen, &err), CS_ETOOMANY);
    ck_assert_msg(strstr(err.msg, "over the limit") != NULL, "%s", err.msg);
    cs_xlsx_destroy(&x);
    free(sheet);

    /* Past the column limit. */
    const char *wide[] = {"xl/worksheets/sheet1.xml",
                          "<worksheet " S_NS "><sheetData><row r=\"1\"><c r=\"K1\"><v>1</v></c>"
                          "</row></sheetData></worksheet>"};
    s_write("wide.xlsx", wide, 1, path, sizeof path);
    lim = (cs_xlsx_limits_t){.max_columns = 10};
    x = cs_xlsx_new(path, &lim, &err);
    ck_assert_ptr_nonnull(x);
    ck_assert_int_eq(cs_xlsx_rows(x, 0, s_row, &seen, &err), CS_ETOOMANY);
    cs_xlsx_destroy(&x);
}
END_TEST

/* A one-sheet workbook (sheet1.xml fallback, the shared strings above) from a sheet body. */
static int s_sheet_rc(const char *name, const char *body, cs_error_t *err)
{
    char path[PATH_MAX];
    const char *parts[] = {"xl/sharedStrings.xml", s_shared, "xl/worksheets/sheet1.xml", body};
    s_write(name, parts, 2, path, sizeof path);
    return s_open_read(path, err);
}

START_TEST(test_hostile_sheets)
{
    cs_error_t err;
    /* An entity declared in a DOCTYPE is never expanded: the DOCTYPE fails the read. */
    int rc = s_sheet_rc("doctype.xlsx",
                        "<?xml version=\"1.0\"?><!DOCTYPE worksheet [<!ENTITY a \"aaaa\">]>"
                        "<worksheet " S_NS "><sheetData><row r=\"1\"><c r=\"A1\" t=\"inlineStr\">"
                        "<is><t>&a;</t></is></c></row></sheetData></worksheet>",
                        &err);
    ck_assert_int_eq(rc, CS_EMALFORMED);
    ck_assert_msg(strstr(err.msg, "DOCTYPE") != NULL, "%s", err.msg);

    /* External entity: the same, and nothing is fetched. */
    rc = s_sheet_rc("xxe.xlsx",
                    "<?xml version=\"1.0\"?>"
                    "<!DOCTYPE w [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
                    "<worksheet " S_NS "><sheetData><row r=\"1\"><c r=\"A1\" t=\"inlineStr\">"
                    "<is><t>&x;</t></is></c></row></sheetData></worksheet>",
                    &err);
    ck_assert_int_eq(rc, CS_EMALFORMED);

    /* Not well-formed on its third line: the error names the part and the XML line (libxml2
     * parses ahead of the rows handed out, so the row reached is only a lower bound). */
    rc = s_sheet_rc("badxml.xlsx",
                    "<worksheet " S_NS "><sheetData><row r=\"1\"><c r=\"A1\"><v>1</v></c></row>\n"
                    "<row r=\"2\"><c r=\"A2\"><v>2</v></c></row>\n<row r=\"3\"><c r=\"A3\"><v>3</v>"
                    "</row></sheetData></worksheet>",
                    &err);
    ck_assert_int_eq(rc, CS_EMALFORMED);
    ck_assert_str_eq(err.file, "badxml.xlsx");
    ck_assert_msg(strstr(err.msg, "xl/worksheets/sheet1.xml") != NULL, "%s", err.msg);
    ck_assert_msg(strstr(err.msg, "XML line 3") != NULL, "%s", err.msg);

    /* A shared string index past the table. */
    rc = s_sheet_rc("sstidx.xlsx",
                    "<worksheet " S_NS "><sheetData><row r=\"9\"><c r=\"C9\" t=\"s\"><v>5</v></c>"
                    "</row></sheetData></worksheet>",
                    &err);
    ck_assert_int_eq(rc, CS_EMALFORMED);
    ck_assert_uint_eq(err.line, 9);
    ck_assert_uint_eq(err.column, 3);
    ck_assert_msg(strstr(err.msg, "C9") != NULL, "%s", err.msg);

    /* A cell reference of another row, a bad one, cells out of order, rows out of order. */
    static const char *const bad[] = {
        "<row r=\"2\"><c r=\"A3\"><v>1</v></c></row>",
        "<row r=\"2\"><c r=\"3A\"><v>1</v></c></row>",
        "<row r=\"2\"><c r=\"B2\"><v>1</v></c><c r=\"A2\"><v>1</v></c></row>",
        "<row r=\"2\"><c r=\"A2\"><v>1</v></c></row><row r=\"2\"><c r=\"A2\"><v>1</v></c></row>",
        "<row r=\"x\"><c><v>1</v></c></row>",
        "<row r=\"1\"><c r=\"A1\" t=\"s\"><v>-1</v></c></row>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char body[512];
        snprintf(body, sizeof body, "<worksheet " S_NS "><sheetData>%s</sheetData></worksheet>",
                 bad[i]);
        rc = s_sheet_rc("bad.xlsx", body, &err);
        ck_assert_msg(rc == CS_EMALFORMED, "case %zu: rc %d", i, rc);
        ck_assert_msg(strstr(err.msg, "sheet1.xml") != NULL, "case %zu: %s", i, err.msg);
    }

    /* A broken sharedStrings.xml fails the open, naming the part. */
    char path[PATH_MAX];
    const char *parts[] = {"xl/sharedStrings.xml", "<sst><si><t>x</si></sst>",
                           "xl/worksheets/sheet1.xml", s_sheet2};
    s_write("badsst.xlsx", parts, 2, path, sizeof path);
    ck_assert_int_eq(s_open_read(path, &err), CS_EMALFORMED);
    ck_assert_msg(strstr(err.msg, "xl/sharedStrings.xml") != NULL, "%s", err.msg);
}
END_TEST

Suite *cs_xlsx_suite(void);
Suite *cs_xlsx_suite(void)
{
    Suite *s = suite_create("xlsx");
    TCase *tc = tcase_create("reader");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_cells);
    tcase_add_test(tc, test_callback_stops);
    tcase_add_test(tc, test_fallback_sheet1);
    tcase_add_test(tc, test_missing_sheet);
    tcase_add_test(tc, test_not_zip);
    tcase_add_test(tc, test_truncated_and_corrupt);
    tcase_add_test(tc, test_limits);
    tcase_add_test(tc, test_hostile_sheets);
    suite_add_tcase(s, tc);
    return s;
}
