/* xlsx.h: a small, bounded reader of Office Open XML spreadsheets (.xlsx) for loaders: it
 * streams one worksheet row by row, each row an array of cell texts indexed by column.
 *
 * A loader compiles xlsx.c into its plugin (see loaders/hcpcs-anweb/plugin.mk) and links
 * libzip. The archive is opened with libzip; xl/workbook.xml and xl/_rels/workbook.xml.rels
 * name the sheets and their parts (xl/worksheets/sheet1.xml is the fallback for the first
 * sheet); xl/sharedStrings.xml is read once into memory; a worksheet is streamed through
 * libxml2's xmlTextReader straight out of the zip entry, opened with XML_PARSE_NONET only (no
 * network, no DTD loading, no entity substitution; a DOCTYPE fails the read).
 *
 * Cell values become text: a shared string or an inline string as written (rich-text runs
 * joined, phonetic runs dropped, _xHHHH_ escapes decoded), a number, boolean, error or
 * formula result as the <v> text stands in the file ("20020701", "1.5E-3", "1", "#N/A").
 * No number formats are applied: a date typed as a number stays a serial day number.
 *
 * Limits: a part whose uncompressed size is over max_part_size, or over 1 MiB with a ratio of
 * uncompressed to compressed size over max_ratio, is refused before it is read; the bytes
 * actually inflated are counted too, so an entry that lies about its size stops at the limit.
 *
 * Errors fill a cs_error_t: file = the base name of the .xlsx, line = the worksheet row (or
 * the XML line for a part that is not a worksheet), column = the spreadsheet column (1 = A)
 * where known, and a message that names the part ("xl/worksheets/sheet1.xml: row 12: ...").
 *
 * Thread-safety: a cs_xlsx_t is used by one thread at a time; distinct objects are
 * independent. No global state is kept.
 */
#ifndef CS_XLSX_H
#define CS_XLSX_H

#include <stddef.h>
#include <stdint.h>

#include "codeset/cs_error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CS_XLSX_MAX_PART ((uint64_t)512 * 1024 * 1024) /* default max_part_size */
#define CS_XLSX_MAX_RATIO 200u                          /* default max_ratio */
#define CS_XLSX_MAX_COLUMNS 16384u                      /* Excel's limit, column XFD */
#define CS_XLSX_MAX_CELL (1024u * 1024u)                /* longest cell text accepted */

/* Bounds of one open workbook; a zero field takes its default. */
typedef struct cs_xlsx_limits {
    uint64_t max_part_size; /* largest uncompressed part in bytes (CS_XLSX_MAX_PART) */
    uint32_t max_ratio;     /* largest uncompressed/compressed ratio of a part over 1 MiB */
    uint32_t max_columns;   /* columns accepted in a row (CS_XLSX_MAX_COLUMNS) */
} cs_xlsx_limits_t;

typedef struct cs_xlsx cs_xlsx_t;

/* Called once per <row> element of the sheet that has at least one cell, in file order.
 *   row      in: the 1-based row number (from r="12", else one after the row before)
 *   cells    in: n_cells cell texts, cells[0] is column A; a column the row skips is "" (never
 *            NULL). Borrowed until the callback returns.
 *   n_cells  in: 1 + the last column the row has a cell in
 *   err      out: fill it when returning non-zero
 * Return 0 to go on; any other value stops the read, which returns it unchanged. */
typedef int (*cs_xlsx_row_fn)(void *arg, uint32_t row, const char *const *cells,
                              size_t n_cells, cs_error_t *err);

/* Open path: check that it is a zip archive, read the sheet list and the shared strings.
 * limits may be NULL (defaults). Returns an owned object (cs_xlsx_destroy), or NULL with err
 * filled: CS_EIO (cannot open or read), CS_EMALFORMED (not a zip, truncated, a part that is
 * not well-formed XML), CS_ETOOMANY (a part over the limits), CS_ENOMEM. */
cs_xlsx_t *cs_xlsx_new(const char *path, const cs_xlsx_limits_t *limits, cs_error_t *err);

/* Close the archive and free everything; *x = NULL. Accepts NULL and a NULL *x. */
void cs_xlsx_destroy(cs_xlsx_t **x);

/* Number of worksheets the workbook lists (1 when only the fallback sheet1.xml is known). */
size_t cs_xlsx_sheet_count(const cs_xlsx_t *x);

/* Name of sheet i as the workbook shows it ("Sheet1"), or NULL if i is out of range.
 * Borrowed from x. */
const char *cs_xlsx_sheet_name(const cs_xlsx_t *x, size_t i);

/* Stream sheet i (0: the first sheet) row by row into fn. Returns CS_OK, what fn returned,
 * or a CS_E* code with err filled: CS_ENOTFOUND (no such sheet or its part is missing),
 * CS_EMALFORMED (bad XML, a bad cell reference, a shared string index out of range, the
 * archive's data is corrupt), CS_ETOOMANY (limits), CS_ENOMEM. May be called again. */
int cs_xlsx_rows(cs_xlsx_t *x, size_t i, cs_xlsx_row_fn fn, void *arg, cs_error_t *err);

/* Progress of the running or last cs_xlsx_rows: uncompressed bytes of the sheet read so far
 * and the sheet's uncompressed size (both 0 before the first read). */
uint64_t cs_xlsx_bytes_done(const cs_xlsx_t *x);
uint64_t cs_xlsx_bytes_total(const cs_xlsx_t *x);

/* Does the file start like a zip archive ("PK\3\4")? 1 yes, 0 no (or unreadable). */
int cs_xlsx_is_zip(const char *path);

#ifdef __cplusplus
}
#endif
#endif /* CS_XLSX_H */
