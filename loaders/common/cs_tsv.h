/* cs_tsv.h: the tab-delimited lists the edit-set loaders read (poa-exempt, mce-lists): a
 * header line, then one row per line, fields split at tabs, a field's surrounding double
 * quotes removed (the CDC's lists quote titles holding a comma). Lines through cs_text (CR,
 * byte order mark, file:line:column on a fault); blank lines only at the end.
 *
 * Not a plugin: compiled into each loader that uses it, hidden (loaders/common/plugin.mk).
 */
#ifndef CS_TSV_H
#define CS_TSV_H

#include <stddef.h>

#include "cs_text.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CS_TSV_FIELDS 12   /* most fields a row may have */
#define CS_TSV_LINE_MAX 2048

/* One split line: fields NUL-terminated in place, with their 1-based columns. */
typedef struct cs_tsv_row {
    char *f[CS_TSV_FIELDS];
    unsigned col[CS_TSV_FIELDS];
    size_t n;
    unsigned line;
} cs_tsv_row_t;

/* Called for the header (row->line 1) and each row; returns CS_OK or fails through t. */
typedef int (*cs_tsv_fn)(void *ud, cs_text_t *t, const cs_tsv_row_t *row);

/* Read path: split every line (more than CS_TSV_FIELDS fields fails at the line) and hand it
 * to fn. t was begun (cs_text_begin); buf holds CS_TEXT_BUF_SIZE + 1 bytes. Polls progress
 * and cancel. CS_OK or the first failure. */
int cs_tsv_read(cs_text_t *t, const char *path, char *buf, cs_tsv_fn fn, void *ud);

/* cs_tsv_read with another separator (',': a field may be wrapped in double quotes, with ""
 * for a quote inside, and hold the separator) and, with blank_ok, blank lines anywhere
 * (skipped; a CMS notice has some). */
int cs_tsv_read_sep(cs_text_t *t, const char *path, char *buf, char sep, int blank_ok,
                    cs_tsv_fn fn, void *ud);

/* The CMS layout (NCCI PTP, MUE): each file a notice, then a header, then rows, all through
 * fn (sep, blank lines allowed). fn gets a state of state_size bytes, zeroed for each file,
 * whose first member is an int the callback sets once it has seen the header; a file without
 * one fails ("no header line ...: not <what>"). CS_OK or the first failure. */
int cs_tsv_load_notice(const cs_host_api_t *host, cs_sink_t *sink, const char *const *files,
                       size_t n_files, cs_error_t *err, char sep, cs_tsv_fn fn,
                       size_t state_size, const char *what);

/* How a notice loader reads one file: path into fn (ud its state), as the format how
 * (the reader's own) says; buf holds CS_TEXT_BUF_SIZE + 1 bytes. CS_OK or the failure. */
typedef int (*cs_tsv_file_fn)(cs_text_t *t, const char *path, char *buf, const void *how,
                              cs_tsv_fn fn, void *ud);

/* cs_tsv_load_notice with each file read by read (cs_tsv_xlsx.h reads spreadsheets too). */
int cs_tsv_load_notice_with(const cs_host_api_t *host, cs_sink_t *sink,
                            const char *const *files, size_t n_files, cs_error_t *err,
                            cs_tsv_file_fn read, const void *how, cs_tsv_fn fn,
                            size_t state_size, const char *what);

/* 1 when every file holds, within its first 40 lines, a line starting with prefix. */
int cs_tsv_sniff_prefix(const char *const *files, size_t n_files, const char *prefix);

/* The first line of path (CR and BOM removed) into out[cap]; 0, or -1 when unreadable. */
int cs_tsv_first_line(const char *path, char *out, size_t cap);

/* Store one edit-set row: code (of system from) on list map, no target, data in the row's
 * relationship (may be NULL). A refusal by the host is reported at t's file and line. */
int cs_tsv_emit(cs_text_t *t, unsigned line, const char *map, const char *from,
                const char *code, const char *data);

#ifdef __cplusplus
}
#endif
#endif /* CS_TSV_H */
