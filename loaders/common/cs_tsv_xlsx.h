/* cs_tsv_xlsx.h: the xlsx twins of the CMS edit files (NCCI PTP, MUE): the first worksheet of
 * a workbook read as the rows cs_tsv.h gives for the text (loaders/common/xlsx.h streams it),
 * so one row callback reads both, and the same file gives the same edit set either way.
 *
 * A sheet row becomes a cs_tsv_row_t: line = the sheet's row number, f[k] = the text of
 * column k + 1 (1 = A) and col[k] = k + 1. A row has width fields: shorter rows are padded
 * with "", and cells past width are accepted only when empty (more fails at the row and
 * column). Rows whose cells are all empty are skipped, as the text's blank lines are. A row's
 * cells together longer than CS_TSV_LINE_MAX fail as a too long line does.
 *
 * Errors name the workbook's base name, the sheet row and column, and why (a file that is not
 * a zip, a truncated archive, a missing sheet: xlsx.h's messages, which name the part).
 *
 * Not a plugin: compiled into each loader that uses it, hidden (loaders/common/plugin.mk),
 * with xlsx.o and libzip.
 */
#ifndef CS_TSV_XLSX_H
#define CS_TSV_XLSX_H

#include <stddef.h>

#include "cs_tsv.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Read the first worksheet of the workbook at path into fn as rows of width fields (at most
 * CS_TSV_FIELDS); buf holds CS_TEXT_BUF_SIZE + 1 bytes. Polls progress and cancel. CS_OK or
 * the first failure. */
int cs_tsv_read_xlsx(cs_text_t *t, const char *path, char *buf, size_t width, cs_tsv_fn fn,
                     void *ud);

/* cs_tsv_load_notice for files of either kind: a file that is a zip archive is read as a
 * workbook (rows of width fields), any other as text with fields split at sep. */
int cs_tsv_load_notice_any(const cs_host_api_t *host, cs_sink_t *sink,
                           const char *const *files, size_t n_files, cs_error_t *err, char sep,
                           size_t width, cs_tsv_fn fn, size_t state_size, const char *what);

/* 1 when every file is a workbook whose first sheet has, within its first 40 rows, a row
 * whose first cells are first[0 .. n_first). */
int cs_tsv_sniff_xlsx(const char *const *files, size_t n_files, const char *const *first,
                      size_t n_first);

#ifdef __cplusplus
}
#endif
#endif /* CS_TSV_XLSX_H */
