/* xlsx.c: the bounded .xlsx row reader of xlsx.h (libzip + libxml2's xmlTextReader).
 *
 *     cs_xlsx_t *x = cs_xlsx_new("/srv/HCPC2025.xlsx", NULL, &err);
 *     if (x) {
 *         rc = cs_xlsx_rows(x, 0, on_row, &state, &err);
 *         cs_xlsx_destroy(&x);
 *     }
 *
 * Each part is inflated on the fly into the XML reader through xmlReaderForIO; nothing is
 * extracted to disk and only the shared strings and the current row are held in memory.
 */
#include "xlsx.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlreader.h>
#include <zip.h>

#if LIBXML_VERSION < 20904
#error "the xlsx reader needs libxml2 2.9.4 or later"
#endif
#if !defined(LIBZIP_VERSION_MAJOR) || LIBZIP_VERSION_MAJOR < 1 || \
    (LIBZIP_VERSION_MAJOR == 1 && LIBZIP_VERSION_MINOR < 2)
#error "the xlsx reader needs libzip 1.2 or later (ZIP_RDONLY)"
#endif

#define S_RATIO_FLOOR ((uint64_t)1024 * 1024) /* parts below this size skip the ratio test */
#define S_MAX_ROW 1048576u                    /* Excel's last row */
#define S_NONE ((size_t)-1)                   /* "no cell in this column" */

static const char s_workbook[] = "xl/workbook.xml";
static const char s_workbook_rels[] = "xl/_rels/workbook.xml.rels";
static const char s_shared[] = "xl/sharedStrings.xml";
static const char s_sheet1[] = "xl/worksheets/sheet1.xml";
/* Transitional and Strict namespaces of the r:id attribute of <sheet>. */
static const char s_rel_ns[] =
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
static const char s_rel_ns_strict[] = "http://purl.oclc.org/ooxml/officeDocument/relationships";

/* A growable byte buffer. */
typedef struct s_buf {
    char *p;    /* bytes */
    size_t len; /* used */
    size_t cap; /* allocated */
} s_buf_t;

/* One worksheet the workbook lists. */
typedef struct s_sheet {
    char *name; /* as the workbook shows it */
    char *rid;  /* relationship id, or NULL */
    char *part; /* resolved part name ("xl/worksheets/sheet1.xml"), or NULL */
} s_sheet_t;

/* One zip entry being inflated into the XML reader. */
typedef struct s_src {
    zip_file_t *zf;     /* the open entry */
    uint64_t declared;  /* uncompressed size the archive declares */
    uint64_t limit;     /* max_part_size */
    uint64_t got;       /* bytes inflated so far */
    uint64_t *progress; /* where to mirror got, or NULL */
    int over;           /* the entry inflated to more than declared or the limit */
    int zip_failed;     /* zip_fread failed (zip_msg) */
    char zip_msg[128];  /* libzip's reason */
} s_src_t;

/* One part open as an XML stream. */
typedef struct s_xml {
    const char *part;      /* part name, for messages */
    xmlTextReaderPtr rd;   /* the reader */
    s_src_t src;           /* its input */
    int xml_failed;        /* libxml2 reported an error (xml_msg, xml_line) */
    char xml_msg[160];     /* libxml2's first message */
    unsigned xml_line;     /* its line */
} s_xml_t;

struct cs_xlsx {
    zip_t *zip;             /* the archive, read only */
    char base[128];         /* base name of the file, for messages */
    cs_xlsx_limits_t lim;   /* effective limits */
    s_sheet_t *sheets;      /* sheets in workbook order */
    size_t n_sheets;        /* number of sheets */
    s_buf_t ss_text;        /* shared strings, each NUL-terminated */
    size_t *ss_off;         /* offset of each shared string in ss_text */
    size_t ss_n;            /* number of shared strings */
    size_t ss_cap;          /* slots of ss_off */
    uint64_t done;          /* bytes of the sheet inflated so far */
    uint64_t total;         /* uncompressed size of the sheet */
    s_buf_t row;            /* texts of the current row's cells */
    size_t *col_start;      /* offset in row of each column's text, or S_NONE */
    const char **cells;     /* pointers handed to the callback */
    size_t col_cap;         /* slots of col_start and cells */
};

/* ---- errors ---------------------------------------------------------------------------- */

static int s_fail(cs_xlsx_t *x, cs_error_t *err, int code, unsigned line, unsigned column,
                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static int s_fail(cs_xlsx_t *x, cs_error_t *err, int code, unsigned line, unsigned column,
                  const char *fmt, ...)
{
    if (err) {
        cs_error_at(err, x->base, line, column);
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

static void s_on_xml_error(void *arg, xmlErrorPtr e)
{
    s_xml_t *xml = arg;
    if (xml->xml_failed || !e || e->level < XML_ERR_ERROR) {
        return;
    }
    xml->xml_failed = 1;
    xml->xml_line = e->line > 0 ? (unsigned)e->line : 0;
    snprintf(xml->xml_msg, sizeof xml->xml_msg, "%s", e->message ? e->message : "XML error");
    size_t n = strlen(xml->xml_msg);
    while (n > 0 && (xml->xml_msg[n - 1] == '\n' || xml->xml_msg[n - 1] == ' ')) {
        xml->xml_msg[--n] = '\0';
    }
}

/* ---- buffers --------------------------------------------------------------------------- */

static int s_buf_reserve(s_buf_t *b, size_t more)
{
    if (b->cap - b->len > more) {
        return 0;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len <= more) {
        if (cap > SIZE_MAX / 2) {
            return -1;
        }
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p) {
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

static int s_buf_add(s_buf_t *b, const char *s, size_t n)
{
    if (s_buf_reserve(b, n + 1) != 0) {
        return -1;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

static int s_hex(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

/* Decode the _xHHHH_ escapes that OOXML uses for characters XML cannot carry (a CR, a
 * control character) in s[0..n), in place; returns the new length. A UTF-8 form never takes
 * more room than its 7-character escape, so the text only shrinks. */
static size_t s_unescape(char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        if (s[i] == '_' && n - i >= 7 && s[i + 1] == 'x' && s[i + 6] == '_') {
            int h0 = s_hex(s[i + 2]), h1 = s_hex(s[i + 3]), h2 = s_hex(s[i + 4]);
            int h3 = s_hex(s[i + 5]);
            if (h0 >= 0 && h1 >= 0 && h2 >= 0 && h3 >= 0) {
                unsigned cp = (unsigned)(h0 << 12 | h1 << 8 | h2 << 4 | h3);
                if (cp != 0 && (cp < 0xd800 || cp > 0xdfff)) {
                    if (cp < 0x80) {
                        s[o++] = (char)cp;
                    } else if (cp < 0x800) {
                        s[o++] = (char)(0xc0 | (cp >> 6));
                        s[o++] = (char)(0x80 | (cp & 0x3f));
                    } else {
                        s[o++] = (char)(0xe0 | (cp >> 12));
                        s[o++] = (char)(0x80 | ((cp >> 6) & 0x3f));
                        s[o++] = (char)(0x80 | (cp & 0x3f));
                    }
                    i += 7;
                    continue;
                }
            }
        }
        s[o++] = s[i++];
    }
    return o;
}

static const char *s_base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* ---- zip entries as XML streams ---------------------------------------------------------- */

static int s_src_read(void *ctx, char *buf, int len)
{
    s_src_t *src = ctx;
    if (len <= 0) {
        return 0;
    }
    zip_int64_t n = zip_fread(src->zf, buf, (zip_uint64_t)len);
    if (n < 0) {
        src->zip_failed = 1;
        snprintf(src->zip_msg, sizeof src->zip_msg, "%s", zip_file_strerror(src->zf));
        return -1;
    }
    src->got += (uint64_t)n;
    if (src->got > src->declared || src->got > src->limit) {
        src->over = 1;
        return -1;
    }
    if (src->progress) {
        *src->progress = src->got;
    }
    return (int)n;
}

/* Find a part: the exact name first, then ignoring case (some writers vary it). Returns
 * the index, or -1. */
static zip_int64_t s_locate(cs_xlsx_t *x, const char *part)
{
    zip_int64_t i = zip_name_locate(x->zip, part, 0);
    if (i < 0) {
        i = zip_name_locate(x->zip, part, ZIP_FL_NOCASE);
    }
    return i;
}

/* Open part as an XML stream. Returns CS_OK, CS_ENOTFOUND (absent; err filled only if
 * required), or another code with err filled. */
static int s_xml_open(cs_xlsx_t *x, const char *part, int required, uint64_t *progress,
                      s_xml_t *xml, cs_error_t *err)
{
    memset(xml, 0, sizeof *xml);
    xml->part = part;
    zip_int64_t idx = s_locate(x, part);
    if (idx < 0) {
        if (!required) {
            return CS_ENOTFOUND;
        }
        return s_fail(x, err, CS_ENOTFOUND, 0, 0, "%s: the archive has no part %s", x->base,
                      part);
    }
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(x->zip, (zip_uint64_t)idx, 0, &st) != 0 ||
        !(st.valid & ZIP_STAT_SIZE) || !(st.valid & ZIP_STAT_COMP_SIZE)) {
        return s_fail(x, err, CS_EMALFORMED, 0, 0, "%s: cannot read the size of %s: %s",
                      x->base, part, zip_strerror(x->zip));
    }
    if (st.size > x->lim.max_part_size) {
        return s_fail(x, err, CS_ETOOMANY, 0, 0,
                      "%s: %s inflates to %llu bytes, over the limit of %llu", x->base, part,
                      (unsigned long long)st.size,
                      (unsigned long long)x->lim.max_part_size);
    }
    if (st.size > S_RATIO_FLOOR &&
        (st.comp_size == 0 || st.size / st.comp_size > x->lim.max_ratio)) {
        return s_fail(x, err, CS_ETOOMANY, 0, 0,
                      "%s: %s inflates from %llu to %llu bytes, a ratio over %u: refused as a "
                      "possible zip bomb",
                      x->base, part, (unsigned long long)st.comp_size,
                      (unsigned long long)st.size, (unsigned)x->lim.max_ratio);
    }
    xml->src.zf = zip_fopen_index(x->zip, (zip_uint64_t)idx, 0);
    if (!xml->src.zf) {
        return s_fail(x, err, CS_EMALFORMED, 0, 0, "%s: cannot open %s: %s", x->base, part,
                      zip_strerror(x->zip));
    }
    xml->src.declared = st.size;
    xml->src.limit = x->lim.max_part_size;
    xml->src.progress = progress;
    if (progress) {
        *progress = 0;
    }
    /* NONET only: no DTD loading, no entity substitution, libxml2's size limits kept. */
    xml->rd = xmlReaderForIO(s_src_read, NULL, &xml->src, part, NULL, XML_PARSE_NONET);
    if (!xml->rd) {
        zip_fclose(xml->src.zf);
        xml->src.zf = NULL;
        return s_fail(x, err, CS_ENOMEM, 0, 0, "%s: cannot create an XML reader for %s",
                      x->base, part);
    }
    xmlTextReaderSetStructuredErrorHandler(xml->rd, s_on_xml_error, xml);
    return CS_OK;
}

static void s_xml_close(s_xml_t *xml)
{
    if (xml->rd) {
        xmlFreeTextReader(xml->rd);
        xml->rd = NULL;
    }
    if (xml->src.zf) {
        zip_fclose(xml->src.zf);
        xml->src.zf = NULL;
    }
}

static unsigned s_xml_line(const s_xml_t *xml)
{
    int line = xml->rd ? xmlTextReaderGetParserLineNumber(xml->rd) : 0;
    return line > 0 ? (unsigned)line : 0;
}

/* The error of a failed read: the size limits, libzip, then libxml2. at_row: the worksheet
 * row reached (0 for other parts). */
static int s_xml_failed(cs_xlsx_t *x, s_xml_t *xml, uint32_t at_row, cs_error_t *err)
{
    char where[48] = "";
    if (at_row) {
        snprintf(where, sizeof where, " after row %u", (unsigned)at_row);
    }
    unsigned line = at_row ? at_row : (xml->xml_line ? xml->xml_line : s_xml_line(xml));
    if (xml->src.over) {
        return s_fail(x, err, CS_ETOOMANY, line, 0,
                      "%s%s: inflates to more than its declared %llu bytes or the limit",
                      xml->part, where, (unsigned long long)xml->src.declared);
    }
    if (xml->src.zip_failed) {
        return s_fail(x, err, CS_EMALFORMED, line, 0, "%s%s: the archive data is corrupt: %s",
                      xml->part, where, xml->src.zip_msg);
    }
    if (xml->xml_failed) {
        return s_fail(x, err, CS_EMALFORMED, line, 0, "%s%s: XML line %u: %s", xml->part,
                      where, xml->xml_line, xml->xml_msg);
    }
    return s_fail(x, err, CS_EMALFORMED, line, 0, "%s%s: the XML stream failed", xml->part,
                  where);
}

/* Next node: 1 with *type set, 0 at the end, or a negative code with err filled. A DOCTYPE
 * or an entity reference fails the read: a spreadsheet part never needs them. */
static int s_xml_next(cs_xlsx_t *x, s_xml_t *xml, uint32_t at_row, int *type, cs_error_t *err)
{
    int r = xmlTextReaderRead(xml->rd);
    if (r == 0) {
        if (xml->xml_failed || xml->src.over || xml->src.zip_failed) {
            return s_xml_failed(x, xml, at_row, err);
        }
        return 0;
    }
    if (r < 0 || xml->xml_failed) {
        return s_xml_failed(x, xml, at_row, err);
    }
    *type = xmlTextReaderNodeType(xml->rd);
    if (*type == XML_READER_TYPE_DOCUMENT_TYPE || *type == XML_READER_TYPE_ENTITY_REFERENCE ||
        *type == XML_READER_TYPE_ENTITY) {
        unsigned line = at_row ? at_row : s_xml_line(xml);
        return s_fail(x, err, CS_EMALFORMED, line, 0,
                      "%s: XML line %u: a DOCTYPE or an entity reference is not allowed",
                      xml->part, s_xml_line(xml));
    }
    return 1;
}

static int s_is(s_xml_t *xml, const char *local)
{
    const xmlChar *n = xmlTextReaderConstLocalName(xml->rd);
    return n && strcmp((const char *)n, local) == 0;
}

static int s_is_text(int type)
{
    return type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_CDATA ||
           type == XML_READER_TYPE_WHITESPACE || type == XML_READER_TYPE_SIGNIFICANT_WHITESPACE;
}

static char *s_attr(s_xml_t *xml, const char *name)
{
    return (char *)xmlTextReaderGetAttribute(xml->rd, (const xmlChar *)name);
}

static char *s_strdup(const char *s)
{
    if (!s) {
        return NULL;
    }
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) {
        memcpy(d, s, n);
    }
    return d;
}

/* ---- workbook, relationships, shared strings ---------------------------------------------- */

static int s_add_sheet(cs_xlsx_t *x, const char *name, const char *rid, const char *part)
{
    s_sheet_t *p = realloc(x->sheets, (x->n_sheets + 1) * sizeof *p);
    if (!p) {
        return CS_ENOMEM;
    }
    x->sheets = p;
    s_sheet_t *s = &x->sheets[x->n_sheets];
    s->name = s_strdup(name ? name : "");
    s->rid = s_strdup(rid);
    s->part = s_strdup(part);
    if (!s->name || (rid && !s->rid) || (part && !s->part)) {
        free(s->name);
        free(s->rid);
        free(s->part);
        return CS_ENOMEM;
    }
    x->n_sheets++;
    return CS_OK;
}

static int s_read_workbook(cs_xlsx_t *x, cs_error_t *err)
{
    s_xml_t xml;
    int rc = s_xml_open(x, s_workbook, 0, NULL, &xml, err);
    if (rc == CS_ENOTFOUND) {
        return CS_OK;
    }
    if (rc != CS_OK) {
        return rc;
    }
    int type;
    while ((rc = s_xml_next(x, &xml, 0, &type, err)) == 1) {
        if (type != XML_READER_TYPE_ELEMENT || !s_is(&xml, "sheet")) {
            continue;
        }
        char *name = s_attr(&xml, "name");
        char *rid = (char *)xmlTextReaderGetAttributeNs(xml.rd, (const xmlChar *)"id",
                                                        (const xmlChar *)s_rel_ns);
        if (!rid) {
            rid = (char *)xmlTextReaderGetAttributeNs(xml.rd, (const xmlChar *)"id",
                                                      (const xmlChar *)s_rel_ns_strict);
        }
        rc = s_add_sheet(x, name, rid, NULL);
        xmlFree(name);
        xmlFree(rid);
        if (rc != CS_OK) {
            s_fail(x, err, rc, 0, 0, "%s: out of memory for the sheet list", s_workbook);
            break;
        }
    }
    s_xml_close(&xml);
    return rc < 0 ? rc : CS_OK;
}

/* Resolve each sheet's r:id to a part name through the workbook's relationships. */
static int s_read_rels(cs_xlsx_t *x, cs_error_t *err)
{
    if (x->n_sheets == 0) {
        return CS_OK;
    }
    s_xml_t xml;
    int rc = s_xml_open(x, s_workbook_rels, 0, NULL, &xml, err);
    if (rc == CS_ENOTFOUND) {
        return CS_OK;
    }
    if (rc != CS_OK) {
        return rc;
    }
    int type;
    while ((rc = s_xml_next(x, &xml, 0, &type, err)) == 1) {
        if (type != XML_READER_TYPE_ELEMENT || !s_is(&xml, "Relationship")) {
            continue;
        }
        char *id = s_attr(&xml, "Id");
        char *target = s_attr(&xml, "Target");
        for (size_t i = 0; id && target && i < x->n_sheets; i++) {
            if (x->sheets[i].part || !x->sheets[i].rid || strcmp(x->sheets[i].rid, id) != 0) {
                continue;
            }
            /* A target is relative to xl/, or absolute from the package root. */
            const char *t = target;
            size_t n = strlen(t) + 4;
            char *part = malloc(n);
            if (!part) {
                rc = CS_ENOMEM;
                break;
            }
            if (t[0] == '/') {
                snprintf(part, n, "%s", t + 1);
            } else {
                snprintf(part, n, "xl/%s", t);
            }
            x->sheets[i].part = part;
        }
        xmlFree(id);
        xmlFree(target);
        if (rc == CS_ENOMEM) {
            s_fail(x, err, rc, 0, 0, "%s: out of memory", s_workbook_rels);
            break;
        }
    }
    s_xml_close(&xml);
    return rc < 0 ? rc : CS_OK;
}

static int s_ss_push(cs_xlsx_t *x, size_t off)
{
    if (x->ss_n == x->ss_cap) {
        size_t cap = x->ss_cap ? x->ss_cap * 2 : 1024;
        size_t *p = realloc(x->ss_off, cap * sizeof *p);
        if (!p) {
            return -1;
        }
        x->ss_off = p;
        x->ss_cap = cap;
    }
    x->ss_off[x->ss_n++] = off;
    return 0;
}

/* Read every <si> of xl/sharedStrings.xml into ss_text: <t> texts joined, <rPh> dropped. */
static int s_read_shared(cs_xlsx_t *x, cs_error_t *err)
{
    s_xml_t xml;
    int rc = s_xml_open(x, s_shared, 0, NULL, &xml, err);
    if (rc == CS_ENOTFOUND) {
        return CS_OK;
    }
    if (rc != CS_OK) {
        return rc;
    }
    int in_si = 0;  /* inside an <si> */
    int in_rph = 0; /* inside a phonetic run */
    int in_t = 0;   /* inside a <t> that counts */
    size_t start = 0;
    int type;
    while ((rc = s_xml_next(x, &xml, 0, &type, err)) == 1) {
        int oom = 0;
        if (type == XML_READER_TYPE_ELEMENT) {
            int empty = xmlTextReaderIsEmptyElement(xml.rd) == 1;
            if (s_is(&xml, "si")) {
                start = x->ss_text.len;
                in_si = !empty;
                in_rph = 0;
                in_t = 0;
                if (empty) {
                    oom = s_buf_add(&x->ss_text, "", 0) != 0 ||
                          s_buf_add(&x->ss_text, "\0", 1) != 0 || s_ss_push(x, start) != 0;
                }
            } else if (in_si && s_is(&xml, "rPh")) {
                in_rph = !empty;
            } else if (in_si && !in_rph && s_is(&xml, "t")) {
                in_t = !empty;
            }
        } else if (type == XML_READER_TYPE_END_ELEMENT) {
            if (s_is(&xml, "t")) {
                in_t = 0;
            } else if (s_is(&xml, "rPh")) {
                in_rph = 0;
            } else if (in_si && s_is(&xml, "si")) {
                size_t n = s_unescape(x->ss_text.p ? x->ss_text.p + start : NULL,
                                      x->ss_text.len - start);
                x->ss_text.len = start + n;
                oom = s_buf_add(&x->ss_text, "\0", 1) != 0 || s_ss_push(x, start) != 0;
                in_si = 0;
            }
        } else if (in_t && s_is_text(type)) {
            const char *v = (const char *)xmlTextReaderConstValue(xml.rd);
            size_t n = v ? strlen(v) : 0;
            if (x->ss_text.len - start + n > CS_XLSX_MAX_CELL) {
                rc = s_fail(x, err, CS_ETOOMANY, s_xml_line(&xml), 0,
                            "%s: XML line %u: shared string %zu is longer than %u bytes",
                            s_shared, s_xml_line(&xml), x->ss_n, CS_XLSX_MAX_CELL);
                break;
            }
            oom = s_buf_add(&x->ss_text, v ? v : "", n) != 0;
        }
        if (oom) {
            rc = s_fail(x, err, CS_ENOMEM, 0, 0, "%s: out of memory for the shared strings",
                        s_shared);
            break;
        }
    }
    s_xml_close(&xml);
    return rc < 0 ? rc : CS_OK;
}

/* ---- public: open, close, sheets ------------------------------------------------------------ */

int cs_xlsx_is_zip(const char *path)
{
    FILE *fp = path ? fopen(path, "rb") : NULL;
    if (!fp) {
        return 0;
    }
    unsigned char magic[4];
    size_t got = fread(magic, 1, sizeof magic, fp);
    fclose(fp);
    return got == 4 && memcmp(magic, "PK\x03\x04", 4) == 0;
}

cs_xlsx_t *cs_xlsx_new(const char *path, const cs_xlsx_limits_t *limits, cs_error_t *err)
{
    if (!path) {
        cs_error_set(err, CS_EINVAL, "xlsx: no path");
        return NULL;
    }
    cs_xlsx_t *x = calloc(1, sizeof *x);
    if (!x) {
        cs_error_at(err, s_base_name(path), 0, 0);
        cs_error_set(err, CS_ENOMEM, "out of memory opening %s", path);
        return NULL;
    }
    snprintf(x->base, sizeof x->base, "%s", s_base_name(path));
    x->lim.max_part_size = CS_XLSX_MAX_PART;
    x->lim.max_ratio = CS_XLSX_MAX_RATIO;
    x->lim.max_columns = CS_XLSX_MAX_COLUMNS;
    if (limits) {
        if (limits->max_part_size) {
            x->lim.max_part_size = limits->max_part_size;
        }
        if (limits->max_ratio) {
            x->lim.max_ratio = limits->max_ratio;
        }
        if (limits->max_columns && limits->max_columns < CS_XLSX_MAX_COLUMNS) {
            x->lim.max_columns = limits->max_columns;
        }
    }
    /* Initialise libxml2 explicitly (idempotent): lazily set-up state such as the encoding
     * handlers is then released by libxml2's own cleanup when the plugin is unloaded. */
    xmlInitParser();
    int zerr = 0;
    x->zip = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &zerr);
    if (!x->zip) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, zerr);
        int code = CS_EMALFORMED;
        const char *what = "is not a readable zip archive";
        if (zerr == ZIP_ER_NOENT || zerr == ZIP_ER_OPEN || zerr == ZIP_ER_READ ||
            zerr == ZIP_ER_SEEK) {
            code = CS_EIO;
            what = "cannot be read";
        } else if (zerr == ZIP_ER_MEMORY) {
            code = CS_ENOMEM;
            what = "cannot be opened";
        }
        s_fail(x, err, code, 0, 0, "%s %s: %s", x->base, what, zip_error_strerror(&ze));
        zip_error_fini(&ze);
        cs_xlsx_destroy(&x);
        return NULL;
    }
    if (s_read_workbook(x, err) != CS_OK || s_read_rels(x, err) != CS_OK ||
        s_read_shared(x, err) != CS_OK) {
        cs_xlsx_destroy(&x);
        return NULL;
    }
    if (x->n_sheets == 0 && s_add_sheet(x, "sheet1", NULL, s_sheet1) != CS_OK) {
        s_fail(x, err, CS_ENOMEM, 0, 0, "out of memory opening %s", x->base);
        cs_xlsx_destroy(&x);
        return NULL;
    }
    return x;
}

void cs_xlsx_destroy(cs_xlsx_t **px)
{
    if (!px || !*px) {
        return;
    }
    cs_xlsx_t *x = *px;
    if (x->zip) {
        zip_discard(x->zip);
    }
    for (size_t i = 0; i < x->n_sheets; i++) {
        free(x->sheets[i].name);
        free(x->sheets[i].rid);
        free(x->sheets[i].part);
    }
    free(x->sheets);
    free(x->ss_text.p);
    free(x->ss_off);
    free(x->row.p);
    free(x->col_start);
    free(x->cells);
    free(x);
    *px = NULL;
}

size_t cs_xlsx_sheet_count(const cs_xlsx_t *x)
{
    return x ? x->n_sheets : 0;
}

const char *cs_xlsx_sheet_name(const cs_xlsx_t *x, size_t i)
{
    return x && i < x->n_sheets ? x->sheets[i].name : NULL;
}

uint64_t cs_xlsx_bytes_done(const cs_xlsx_t *x)
{
    return x ? x->done : 0;
}

uint64_t cs_xlsx_bytes_total(const cs_xlsx_t *x)
{
    return x ? x->total : 0;
}

/* ---- rows -------------------------------------------------------------------------------- */

/* The state of one cs_xlsx_rows. */
typedef struct s_rows {
    cs_xlsx_t *x;        /* the workbook */
    s_xml_t xml;         /* the sheet's stream */
    cs_xlsx_row_fn fn;   /* the caller's callback */
    void *arg;           /* its argument */
    uint32_t row;        /* current row number, 0 before the first */
    int in_row;          /* inside a <row> */
    size_t n_cols;       /* 1 + the last column with a value in this row */
    long col;            /* current cell's column (0-based), -1 outside a cell */
    long last_col;       /* column of the cell before in this row, -1 at its start */
    char type[12];       /* current cell's t attribute ("" for a number) */
    int in_v;            /* collecting a <v> */
    int in_is;           /* inside an <is> */
    int in_t;            /* collecting a <t> of the <is> */
    int in_rph;          /* inside a phonetic run of the <is> */
    size_t start;        /* offset in x->row where the current cell's text starts */
    int has_value;       /* the current cell had a <v> or an <is> */
} s_rows_t;

static int s_cols_reserve(cs_xlsx_t *x, size_t n)
{
    if (n <= x->col_cap) {
        return 0;
    }
    size_t cap = x->col_cap ? x->col_cap : 64;
    while (cap < n) {
        cap *= 2;
    }
    size_t *cs = realloc(x->col_start, cap * sizeof *cs);
    if (!cs) {
        return -1;
    }
    x->col_start = cs;
    const char **cp = realloc(x->cells, cap * sizeof *cp);
    if (!cp) {
        return -1;
    }
    x->cells = cp;
    for (size_t i = x->col_cap; i < cap; i++) {
        x->col_start[i] = S_NONE;
    }
    x->col_cap = cap;
    return 0;
}

/* Parse a cell reference "AB12" into a 0-based column and the row; -1 if it is not one. */
static int s_cell_ref(const char *r, long *col, uint32_t *row)
{
    long c = 0;
    size_t i = 0;
    while (r[i] >= 'A' && r[i] <= 'Z' && i < 3) {
        c = c * 26 + (r[i] - 'A' + 1);
        i++;
    }
    if (i == 0 || r[i] < '1' || r[i] > '9') {
        return -1;
    }
    unsigned long n = 0;
    for (; r[i] >= '0' && r[i] <= '9'; i++) {
        n = n * 10 + (unsigned long)(r[i] - '0');
        if (n > S_MAX_ROW) {
            return -1;
        }
    }
    if (r[i] != '\0') {
        return -1;
    }
    *col = c - 1;
    *row = (uint32_t)n;
    return 0;
}

static void s_col_name(long col, char *out)
{
    char tmp[8];
    size_t n = 0;
    for (long c = col + 1; c > 0 && n < sizeof tmp; c = (c - 1) / 26) {
        tmp[n++] = (char)('A' + (c - 1) % 26);
    }
    for (size_t i = 0; i < n; i++) {
        out[i] = tmp[n - 1 - i];
    }
    out[n] = '\0';
}

static int s_row_start(s_rows_t *st, cs_error_t *err)
{
    cs_xlsx_t *x = st->x;
    char *r = s_attr(&st->xml, "r");
    uint32_t row = st->row + 1;
    if (r) {
        char *end = NULL;
        errno = 0;
        unsigned long v = strtoul(r, &end, 10);
        int bad = r[0] < '0' || r[0] > '9' || errno != 0 || *end != '\0' || v == 0 ||
                  v > S_MAX_ROW;
        xmlFree(r);
        if (bad) {
            return s_fail(x, err, CS_EMALFORMED, row, 0,
                          "%s: XML line %u: <row> has a bad r attribute (after row %u)",
                          st->xml.part, s_xml_line(&st->xml), (unsigned)st->row);
        }
        row = (uint32_t)v;
    }
    if (row <= st->row) {
        return s_fail(x, err, CS_EMALFORMED, row, 0,
                      "%s: row %u comes after row %u: rows must ascend", st->xml.part,
                      (unsigned)row, (unsigned)st->row);
    }
    st->row = row;
    st->in_row = 1;
    st->n_cols = 0;
    st->last_col = -1;
    x->row.len = 0;
    return CS_OK;
}

static int s_cell_start(s_rows_t *st, cs_error_t *err)
{
    cs_xlsx_t *x = st->x;
    char *r = s_attr(&st->xml, "r");
    long col = st->last_col + 1;
    if (r) {
        uint32_t row;
        int bad = s_cell_ref(r, &col, &row) != 0;
        char shown[24];
        snprintf(shown, sizeof shown, "%.16s", r);
        xmlFree(r);
        if (bad || row != st->row) {
            return s_fail(x, err, CS_EMALFORMED, st->row, 0,
                          "%s: row %u: cell reference '%s' is not a cell of this row",
                          st->xml.part, (unsigned)st->row, shown);
        }
    }
    char name[8];
    s_col_name(col, name);
    if (col <= st->last_col) {
        return s_fail(x, err, CS_EMALFORMED, st->row, (unsigned)col + 1,
                      "%s: row %u: cell %s%u comes after column %ld: cells must ascend",
                      st->xml.part, (unsigned)st->row, name, (unsigned)st->row,
                      st->last_col + 1);
    }
    if ((size_t)col >= x->lim.max_columns) {
        return s_fail(x, err, CS_ETOOMANY, st->row, (unsigned)col + 1,
                      "%s: row %u: cell %s%u is past the last column accepted (%u)",
                      st->xml.part, (unsigned)st->row, name, (unsigned)st->row,
                      (unsigned)x->lim.max_columns);
    }
    char *t = s_attr(&st->xml, "t");
    snprintf(st->type, sizeof st->type, "%s", t ? t : "");
    xmlFree(t);
    if (s_buf_add(&x->row, "", 0) != 0) {
        return s_fail(x, err, CS_ENOMEM, st->row, 0, "out of memory for row %u",
                      (unsigned)st->row);
    }
    st->col = col;
    st->last_col = col;
    st->start = x->row.len;
    st->has_value = 0;
    return CS_OK;
}

/* End of a <c>: turn the collected text into the cell's value. */
static int s_cell_end(s_rows_t *st, cs_error_t *err)
{
    cs_xlsx_t *x = st->x;
    long col = st->col;
    st->col = -1;
    if (col < 0 || !st->has_value) {
        x->row.len = st->start;
        return CS_OK;
    }
    char name[8];
    s_col_name(col, name);
    if (strcmp(st->type, "s") == 0) {
        const char *v = x->row.p + st->start;
        char *end = NULL;
        errno = 0;
        unsigned long long idx = strtoull(v, &end, 10);
        while (end && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')) {
            end++;
        }
        if (v[0] < '0' || v[0] > '9' || errno != 0 || !end || *end != '\0' ||
            idx >= x->ss_n) {
            return s_fail(x, err, CS_EMALFORMED, st->row, (unsigned)col + 1,
                          "%s: row %u: cell %s%u refers to shared string '%.20s', but there are "
                          "%zu",
                          st->xml.part, (unsigned)st->row, name, (unsigned)st->row, v,
                          x->ss_n);
        }
        const char *s = x->ss_text.p + x->ss_off[idx];
        x->row.len = st->start;
        if (s_buf_add(&x->row, s, strlen(s)) != 0) {
            return s_fail(x, err, CS_ENOMEM, st->row, 0, "out of memory for row %u",
                          (unsigned)st->row);
        }
    } else {
        x->row.len = st->start + s_unescape(x->row.p + st->start, x->row.len - st->start);
    }
    if (s_buf_add(&x->row, "\0", 1) != 0 || s_cols_reserve(x, (size_t)col + 1) != 0) {
        return s_fail(x, err, CS_ENOMEM, st->row, 0, "out of memory for row %u",
                      (unsigned)st->row);
    }
    x->col_start[col] = st->start;
    st->n_cols = (size_t)col + 1;
    return CS_OK;
}

static int s_row_end(s_rows_t *st, cs_error_t *err)
{
    cs_xlsx_t *x = st->x;
    st->in_row = 0;
    if (st->n_cols == 0) {
        return CS_OK;
    }
    for (size_t i = 0; i < st->n_cols; i++) {
        x->cells[i] = x->col_start[i] == S_NONE ? "" : x->row.p + x->col_start[i];
    }
    int rc = st->fn(st->arg, st->row, x->cells, st->n_cols, err);
    for (size_t i = 0; i < st->n_cols; i++) {
        x->col_start[i] = S_NONE;
    }
    st->n_cols = 0;
    return rc;
}

static int s_on_element(s_rows_t *st, cs_error_t *err)
{
    int empty = xmlTextReaderIsEmptyElement(st->xml.rd) == 1;
    s_xml_t *xml = &st->xml;
    if (s_is(xml, "row")) {
        if (st->in_row) {
            return s_fail(st->x, err, CS_EMALFORMED, st->row, 0, "%s: row %u: nested <row>",
                          xml->part, (unsigned)st->row);
        }
        int rc = s_row_start(st, err);
        if (rc == CS_OK && empty) {
            st->in_row = 0;
        }
        return rc;
    }
    if (!st->in_row) {
        return CS_OK;
    }
    if (s_is(xml, "c")) {
        if (st->col >= 0) {
            return s_fail(st->x, err, CS_EMALFORMED, st->row, 0, "%s: row %u: nested <c>",
                          xml->part, (unsigned)st->row);
        }
        int rc = s_cell_start(st, err);
        if (rc == CS_OK && empty) {
            st->col = -1;
        }
        return rc;
    }
    if (st->col < 0 || empty) {
        return CS_OK;
    }
    if (s_is(xml, "v") && !st->in_is) {
        st->in_v = 1;
        st->has_value = 1;
    } else if (s_is(xml, "is")) {
        st->in_is = 1;
        st->has_value = 1;
    } else if (st->in_is && s_is(xml, "rPh")) {
        st->in_rph = 1;
    } else if (st->in_is && !st->in_rph && s_is(xml, "t")) {
        st->in_t = 1;
    }
    return CS_OK;
}

static int s_on_end(s_rows_t *st, cs_error_t *err)
{
    s_xml_t *xml = &st->xml;
    if (s_is(xml, "v")) {
        st->in_v = 0;
    } else if (s_is(xml, "t")) {
        st->in_t = 0;
    } else if (s_is(xml, "rPh")) {
        st->in_rph = 0;
    } else if (s_is(xml, "is")) {
        st->in_is = 0;
    } else if (s_is(xml, "c") && st->in_row) {
        return s_cell_end(st, err);
    } else if (s_is(xml, "row") && st->in_row) {
        return s_row_end(st, err);
    }
    return CS_OK;
}

static int s_on_text(s_rows_t *st, cs_error_t *err)
{
    if (st->col < 0 || !(st->in_v || (st->in_is && st->in_t && !st->in_rph))) {
        return CS_OK;
    }
    cs_xlsx_t *x = st->x;
    const char *v = (const char *)xmlTextReaderConstValue(st->xml.rd);
    size_t n = v ? strlen(v) : 0;
    if (x->row.len - st->start + n > CS_XLSX_MAX_CELL) {
        char name[8];
        s_col_name(st->col, name);
        return s_fail(x, err, CS_ETOOMANY, st->row, (unsigned)st->col + 1,
                      "%s: row %u: cell %s%u is longer than %u bytes", st->xml.part,
                      (unsigned)st->row, name, (unsigned)st->row, CS_XLSX_MAX_CELL);
    }
    if (s_buf_add(&x->row, v ? v : "", n) != 0) {
        return s_fail(x, err, CS_ENOMEM, st->row, 0, "out of memory for row %u",
                      (unsigned)st->row);
    }
    return CS_OK;
}

int cs_xlsx_rows(cs_xlsx_t *x, size_t i, cs_xlsx_row_fn fn, void *arg, cs_error_t *err)
{
    if (!x || !fn) {
        return cs_error_set(err, CS_EINVAL, "xlsx: no workbook or no callback");
    }
    if (i >= x->n_sheets) {
        return s_fail(x, err, CS_ENOTFOUND, 0, 0, "%s has %zu sheets, no sheet %zu", x->base,
                      x->n_sheets, i + 1);
    }
    const char *part = x->sheets[i].part;
    if (!part) {
        if (i != 0) {
            return s_fail(x, err, CS_ENOTFOUND, 0, 0,
                          "%s: sheet '%s' has no part in %s", x->base, x->sheets[i].name,
                          s_workbook_rels);
        }
        part = s_sheet1;
    }
    s_rows_t st = {.x = x, .fn = fn, .arg = arg, .col = -1};
    x->done = 0;
    x->total = 0;
    int rc = s_xml_open(x, part, 1, &x->done, &st.xml, err);
    if (rc != CS_OK) {
        return rc;
    }
    x->total = st.xml.src.declared;
    for (size_t k = 0; k < x->col_cap; k++) {
        x->col_start[k] = S_NONE;
    }
    int type;
    int step;
    while ((step = s_xml_next(x, &st.xml, st.row, &type, err)) == 1) {
        if (type == XML_READER_TYPE_ELEMENT) {
            rc = s_on_element(&st, err);
        } else if (type == XML_READER_TYPE_END_ELEMENT) {
            rc = s_on_end(&st, err);
        } else if (s_is_text(type)) {
            rc = s_on_text(&st, err);
        }
        if (rc != CS_OK) {
            break;
        }
    }
    if (rc == CS_OK && step < 0) {
        rc = step;
    }
    s_xml_close(&st.xml);
    return rc;
}
