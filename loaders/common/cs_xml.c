/* cs_xml.c: the libxml2 reader set-up the XML loaders share (see cs_xml.h). */
#include "cs_xml.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

void cs_xml_begin(cs_xml_t *x, const cs_host_api_t *host, cs_sink_t *sink, cs_error_t *err)
{
    x->host = host;
    x->sink = sink;
    x->err = err;
    x->has_progress = CS_HOST_HAS(host, progress);
    x->has_cancelled = CS_HOST_HAS(host, cancelled);
    xmlInitParser();
}

const char *cs_xml_base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Escape at most limit bytes of in[0..n) into out[0..cap); returns the length written. */
static size_t s_escape(const char *in, size_t n, size_t limit, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && i < limit && o + 5 < cap; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            out[o++] = (char)c;
        } else {
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
        }
    }
    return o;
}

const char *cs_xml_show(const char *in, size_t n, char *out, size_t cap)
{
    size_t o = s_escape(in, n, 60, out, cap);
    if (n > 60 && o + 4 < cap) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o < cap ? o : cap - 1] = '\0';
    return out;
}

const char *cs_xml_escape(const char *in, size_t n, char *out, size_t cap)
{
    size_t o = s_escape(in, n, SIZE_MAX, out, cap);
    out[o < cap ? o : cap - 1] = '\0';
    return out;
}

/* Fill x->err with code and the message at file:line:column. */
static int s_vfail(cs_xml_t *x, int code, const char *file, unsigned line, unsigned column,
                   const char *fmt, va_list ap)
{
    cs_error_at(x->err, file, line, column);
    if (x->err) {
        x->err->code = code;
        vsnprintf(x->err->msg, sizeof x->err->msg, fmt, ap);
    }
    return code;
}

int cs_xml_fail_at(cs_xml_t *x, int code, unsigned line, unsigned column, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_vfail(x, code, x->base, line, column, fmt, ap);
    va_end(ap);
    return code;
}

int cs_xml_fail_in(cs_xml_t *x, int code, const char *file, unsigned line, unsigned column,
                   const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_vfail(x, code, file, line, column, fmt, ap);
    va_end(ap);
    return code;
}

unsigned cs_xml_line(cs_xml_t *x, unsigned *column)
{
    int pline = xmlTextReaderGetParserLineNumber(x->reader);
    int pcol = xmlTextReaderGetParserColumnNumber(x->reader);
    xmlNodePtr node = xmlTextReaderCurrentNode(x->reader);
    long nline = node ? xmlGetLineNo(node) : -1;
    /* without XML_PARSE_BIG_LINES a node's line stops at 65535: the parser's is right then */
    int clipped = !(x->flags & CS_XML_BIG_LINES) && nline >= 65535;
    if (nline > 0 && !clipped && nline != pline) {
        if (column) {
            *column = 0;
        }
        return (unsigned)nline;
    }
    if (column) {
        *column = pcol > 0 ? (unsigned)pcol : 0;
    }
    return pline > 0 ? (unsigned)pline : 0;
}

int cs_xml_fail(cs_xml_t *x, int code, const char *fmt, ...)
{
    unsigned column;
    unsigned line = cs_xml_line(x, &column);
    va_list ap;
    va_start(ap, fmt);
    s_vfail(x, code, x->base, line, column, fmt, ap);
    va_end(ap);
    return code;
}

int cs_xml_nomem(cs_xml_t *x)
{
    return cs_xml_fail(x, CS_ENOMEM, "out of memory");
}

/* libxml2's structured error callback: keep the first error, never print. */
static void s_on_error(void *arg, xmlErrorPtr e)
{
    cs_xml_t *x = arg;
    if (!e || e->level < XML_ERR_ERROR || x->failed) {
        return;
    }
    x->failed = 1;
    x->line = e->line > 0 ? (unsigned)e->line : 0;
    x->col = e->int2 > 0 ? (unsigned)e->int2 : 0;
    const char *m = e->message ? e->message : "unknown libxml2 error";
    size_t n = strlen(m);
    while (n > 0 && cs_xml_is_space(m[n - 1])) {
        n--;
    }
    char shown[sizeof x->msg];
    if (x->flags & CS_XML_RAW_ERRORS) {
        cs_xml_escape(m, n, shown, sizeof shown);
    } else {
        cs_xml_show(m, n, shown, sizeof shown);
    }
    snprintf(x->msg, sizeof x->msg, "%s", shown);
}

/* Refuse a DOCTYPE, positioned at its "<!DOCTYPE" when that is in the file's head. With
 * if_any, only if there is one there (else CS_OK): libxml2 reads ahead, so an entity error
 * (an external entity, an expansion loop) can come before the reader shows the DOCTYPE node,
 * and the DOCTYPE is the cause worth naming. */
static int s_doctype_fail(cs_xml_t *x, int if_any)
{
    static const char msg[] =
        "a DOCTYPE is not allowed: external entities and entity declarations are refused";
    char buf[CS_XML_SNIFF_MAX * 4];
    FILE *fp = fopen(x->path, "rb");
    size_t got = 0;
    if (fp) {
        got = fread(buf, 1, sizeof buf, fp);
        fclose(fp);
    }
    const char *at = memmem(buf, got, "<!DOCTYPE", 9);
    if (!at) {
        return if_any ? CS_OK : cs_xml_fail(x, CS_EMALFORMED, "%s", msg);
    }
    unsigned line = 1;
    const char *bol = buf;
    for (const char *p = buf; p < at; p++) {
        if (*p == '\n') {
            line++;
            bol = p + 1;
        }
    }
    return cs_xml_fail_at(x, CS_EMALFORMED, line, (unsigned)(at - bol) + 1, "%s", msg);
}

int cs_xml_open(cs_xml_t *x, const char *path, unsigned flags)
{
    x->path = path;
    x->base = cs_xml_base_name(path);
    x->flags = flags;
    x->failed = 0;
    x->size = 0;
    if (flags & CS_XML_REGULAR) {
        struct stat st;
        if (stat(path, &st) != 0) {
            return cs_xml_fail_at(x, CS_EIO, 0, 0, "cannot open %s: %s", path, strerror(errno));
        }
        if (!S_ISREG(st.st_mode)) {
            return cs_xml_fail_at(x, CS_EIO, 0, 0, "%s is not a regular file", path);
        }
        x->size = (uint64_t)st.st_size;
    } else {
        FILE *probe = fopen(path, "rb");
        if (!probe) {
            return cs_xml_fail_at(x, CS_EIO, 0, 0, "cannot open %s: %s", path,
                                  strerror(errno));
        }
        fseek(probe, 0, SEEK_END);
        long size = ftell(probe);
        fclose(probe);
        x->size = size > 0 ? (uint64_t)size : 0;
    }
    int options = XML_PARSE_NONET | (flags & CS_XML_BIG_LINES ? XML_PARSE_BIG_LINES : 0);
    x->reader = xmlReaderForFile(path, NULL, options);
    if (!x->reader) {
        return cs_xml_fail_at(x, CS_EIO, 0, 0, "libxml2 cannot open %s", path);
    }
    xmlTextReaderSetStructuredErrorHandler(x->reader, s_on_error, x);
    return CS_OK;
}

int cs_xml_next(cs_xml_t *x, int *type)
{
    *type = XML_READER_TYPE_NONE;
    int r = xmlTextReaderRead(x->reader);
    if (r < 0 || x->failed) {
        if (x->failed) {
            int rc = x->flags & CS_XML_RAW_ERRORS ? CS_OK : s_doctype_fail(x, 1);
            if (rc != CS_OK) {
                return rc;
            }
            return cs_xml_fail_at(x, CS_EMALFORMED, x->line, x->col, "%s", x->msg);
        }
        return cs_xml_fail(x, CS_EMALFORMED, "the XML parser failed");
    }
    if (r == 0) {
        return CS_OK;
    }
    *type = xmlTextReaderNodeType(x->reader);
    switch (*type) {
    case XML_READER_TYPE_DOCUMENT_TYPE:
        return s_doctype_fail(x, 0);
    case XML_READER_TYPE_ENTITY_REFERENCE:
    case XML_READER_TYPE_ENTITY:
        return cs_xml_fail(x, CS_EMALFORMED,
                           "entity references are not allowed (external entities, entity "
                           "expansion)");
    default:
        return CS_OK;
    }
}

int cs_xml_tick(cs_xml_t *x)
{
    return ++x->nodes % CS_XML_TICK == 0 ? cs_xml_poll(x) : CS_OK;
}

uint64_t cs_xml_bytes(const cs_xml_t *x)
{
    long consumed = x->reader ? xmlTextReaderByteConsumed(x->reader) : 0;
    return x->done_before + (consumed > 0 ? (uint64_t)consumed : 0);
}

int cs_xml_poll(cs_xml_t *x)
{
    if (x->has_progress) {
        x->host->progress(x->sink, cs_xml_bytes(x));
    }
    if (x->has_cancelled && x->host->cancelled(x->sink)) {
        return cs_xml_fail(x, CS_ETERM, "load cancelled");
    }
    return CS_OK;
}

void cs_xml_close(cs_xml_t *x, int rc)
{
    xmlFreeTextReader(x->reader);
    x->reader = NULL;
    if (rc == CS_OK) {
        x->done_before += x->size;
        if (x->has_progress) {
            x->host->progress(x->sink, x->done_before);
        }
    }
}
