/* cs_xml.h: the libxml2 reader set-up the XML loaders share (fhir-codesystem, fhir-conceptmap,
 * icd10cm-tabular, icd10pcs-tables):
 * open a file with no network and no entity expansion (STYLE P7), keep libxml2's first error
 * instead of printing it, refuse a DOCTYPE and entity references, report errors as
 * file:line:column, progress in bytes and cancel checks every CS_XML_TICK nodes.
 *
 * Not a plugin: a loader's plugin.mk compiles cs_xml.c in with -fvisibility=hidden, so the
 * loader still exports only its descriptor. cs_xml_t is a plain struct, not opaque: a loader
 * embeds it in its load state (no allocation) and reads reader, base and err directly.
 */
#ifndef CS_XML_H
#define CS_XML_H

#include <stddef.h>
#include <stdint.h>

#include <libxml/xmlreader.h>

#include "codeset/cs_plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

#if LIBXML_VERSION < 20904
#error "the XML loaders need libxml2 2.9.4 or later"
#endif

#define CS_XML_TICK 4096      /* nodes between progress reports and cancel checks */
#define CS_XML_SNIFF_MAX 4096 /* bytes a sniff peeks at; 4 times that is searched for DOCTYPE */

/* Options of cs_xml_open(); 0 is what the FHIR loaders want. */
#define CS_XML_BIG_LINES 0x1u /* XML_PARSE_BIG_LINES: node lines stay true past 65535 */
#define CS_XML_REGULAR 0x2u   /* stat the path first and refuse what is not a regular file (a
                               * FIFO or a device would block or never end) */
#define CS_XML_RAW_ERRORS 0x4u /* a libxml2 error as libxml2 gave it: the whole message (not
                                * cut at 60 bytes) at its own position, even with a DOCTYPE in
                                * the file's head */

/* The reading state of one load(); zero it, then cs_xml_begin(). */
typedef struct cs_xml {
    const cs_host_api_t *host; /* borrowed for the load call */
    cs_sink_t *sink;           /* borrowed for the load call */
    cs_error_t *err;           /* caller's error record (may be NULL) */
    int has_progress;          /* host->progress is there */
    int has_cancelled;         /* host->cancelled is there */
    const char *path;          /* current file */
    const char *base;          /* its base name, for messages */
    xmlTextReaderPtr reader;   /* the current file's reader; NULL between files */
    unsigned flags;            /* the current file's CS_XML_* options */
    int failed;                /* libxml2 reported an error (msg, line, col) */
    char msg[200];             /* libxml2's first error message, printable */
    unsigned line;             /* its line */
    unsigned col;              /* its column */
    uint64_t size;             /* bytes of the current file */
    uint64_t done_before;      /* bytes of the files before the current one */
    uint64_t nodes;            /* nodes read over the load, for the tick */
} cs_xml_t;

static inline int cs_xml_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Start a load: keep host, sink and err, see which optional host calls there are, and
 * initialise libxml2. */
void cs_xml_begin(cs_xml_t *x, const cs_host_api_t *host, cs_sink_t *sink, cs_error_t *err);

/* The part of path after its last '/' (a pointer into path). */
const char *cs_xml_base_name(const char *path);

/* Copy in[0..n) into out[0..cap) as printable ASCII, escaping other bytes and '\\' as \xNN;
 * cut after 60 bytes with "...". Returns out. */
const char *cs_xml_show(const char *in, size_t n, char *out, size_t cap);

/* cs_xml_show() without the cut at 60 bytes: as much of in as fits in cap. Returns out. */
const char *cs_xml_escape(const char *in, size_t n, char *out, size_t cap);

/* Fail with code and the formatted message at base:line:column; returns code. */
int cs_xml_fail_at(cs_xml_t *x, int code, unsigned line, unsigned column, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Fail with code and the formatted message at file:line:column, for another file of the load
 * than the XML (an order file read alongside it); returns code. */
int cs_xml_fail_in(cs_xml_t *x, int code, const char *file, unsigned line, unsigned column,
                   const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Line of the reader's current node: the node's own where libxml2 knows it (column 0), else
 * the parser's with its column. column may be NULL. */
unsigned cs_xml_line(cs_xml_t *x, unsigned *column);

/* Fail with code and the formatted message at the reader's current node; returns code. */
int cs_xml_fail(cs_xml_t *x, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Fail with CS_ENOMEM, "out of memory", at the current node. */
int cs_xml_nomem(cs_xml_t *x);

/* Open path for streaming (XML_PARSE_NONET, plus BIG_LINES with CS_XML_BIG_LINES; no DTD
 * loading, no entity substitution) with the CS_XML_* flags: CS_EIO if it cannot be opened. On
 * CS_OK, x->reader is set; call cs_xml_close() after, or free x->reader and set it to NULL. */
int cs_xml_open(cs_xml_t *x, const char *path, unsigned flags);

/* Read the next node into x->reader and set *type to its XML_READER_TYPE_*, or to
 * XML_READER_TYPE_NONE at the end of the document. A parse error fails at libxml2's position
 * (or at the DOCTYPE in the file's head, the likelier cause); a DOCTYPE and entity references
 * are refused. */
int cs_xml_next(cs_xml_t *x, int *type);

/* Count a node; every CS_XML_TICK nodes, cs_xml_poll(). */
int cs_xml_tick(cs_xml_t *x);

/* Bytes done: done_before plus what the current reader (if any) has consumed. */
uint64_t cs_xml_bytes(const cs_xml_t *x);

/* While a file is open: report progress in bytes, and fail with CS_ETERM, "load cancelled",
 * when the host asks the load to stop. */
int cs_xml_poll(cs_xml_t *x);

/* Free the reader; when the file was read (rc == CS_OK) count its bytes as done and report
 * progress. */
void cs_xml_close(cs_xml_t *x, int rc);

#ifdef __cplusplus
}
#endif

#endif /* CS_XML_H */
