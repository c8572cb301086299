/* cli_table.h: aligned text tables for people (the CLI's non-JSON output).
 *
 * Columns are padded to the widest cell, measured in UTF-8 code points, and separated by
 * two spaces; the last column is not padded. A row may carry note lines printed under it,
 * indented, that do not take part in alignment (a hint list under a validate row). A cell
 * may carry an SGR colour (e.g. "31" for red) used only when printing with colour on.
 * Control characters in cells become spaces so that one cell never breaks a line.
 * Thread-safety: a table is used by one thread at a time.
 */
#ifndef CS_CLI_TABLE_H
#define CS_CLI_TABLE_H

#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CS_CLI_RED "31"
#define CS_CLI_GREEN "32"
#define CS_CLI_YELLOW "33"
#define CS_CLI_BOLD "1"

typedef struct cs_cli_table cs_cli_table_t;

/* A new empty table of ncols columns (ncols >= 1); NULL on ENOMEM. The caller owns it. */
cs_cli_table_t *cs_cli_table_new(size_t ncols);

/* Append a row; cells is an array of ncols strings (NULL counts as ""), copied.
 * Returns 0, or -1 on ENOMEM (the table is unchanged). */
int cs_cli_table_add(cs_cli_table_t *t, const char *const *cells);

/* Append a header row: like cs_cli_table_add, printed bold when colour is on. */
int cs_cli_table_header(cs_cli_table_t *t, const char *const *cells);

/* Colour cell col of the last row with the SGR parameters sgr (a static string, borrowed).
 * Returns 0, or -1 if there is no row or col is out of range. */
int cs_cli_table_color(cs_cli_table_t *t, size_t col, const char *sgr);

/* Attach a note line (copied) under the last row. Returns 0, or -1 (no row, ENOMEM). */
int cs_cli_table_note(cs_cli_table_t *t, const char *text);

/* Number of rows added so far (header rows included). */
size_t cs_cli_table_rows(const cs_cli_table_t *t);

/* Print the table to out; color != 0 adds ANSI SGR sequences. */
void cs_cli_table_print(const cs_cli_table_t *t, FILE *out, int color);

/* The same, each line indented by indent spaces. */
void cs_cli_table_print_indent(const cs_cli_table_t *t, FILE *out, int color, int indent);

/* Free the table; accepts NULL and sets *t to NULL. */
void cs_cli_table_destroy(cs_cli_table_t **t);

/* Display width of a NUL-terminated UTF-8 string: its code points (continuation bytes
 * do not count). */
size_t cs_cli_text_width(const char *s);

#ifdef __cplusplus
}
#endif
#endif /* CS_CLI_TABLE_H */
