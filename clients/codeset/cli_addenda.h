/* cli_addenda.h: the ICD-10-CM addenda files (the code addenda and the order addenda that NCHS
 * and CMS publish beside each release) read into a change list people can scan.
 *
 *   code addenda:   "Add:         C810A   Nodular lymphocyte predominant Hodgkin lymphoma..."
 *   order addenda:  "Add:         1 C810A   <short title, 60 columns> <long title>"
 * Each line is an action in 13 columns ("Add:", "Delete:", "Revise from:", "Revise to:"), then
 * the code as the order file writes it (7 columns, no dot); order addenda put the billable
 * flag first and the short title before the long one. A "Revise from:" line and the
 * "Revise to:" line after it make one revision. The closing summary lines are skipped.
 * Thread-safety: pure functions over caller memory.
 */
#ifndef CS_CLI_ADDENDA_H
#define CS_CLI_ADDENDA_H

#include <stddef.h>

#include "cli_types.h"

enum { CS_ADDENDUM_ADD = 1, CS_ADDENDUM_DELETE, CS_ADDENDUM_REVISE };

typedef struct cs_addendum {
    int action;            /* CS_ADDENDUM_* */
    char code[12];         /* display form, "C81.0A" */
    int billable;          /* 1 / 0 from an order addenda file, -1 when the file has no flag */
    char title[320];       /* long title (the new one for a revision) */
    char short_title[64];  /* order addenda only, else "" */
    char old_title[320];   /* revisions: the long title before */
} cs_addendum_t;

/* Read one addenda file. *out is malloc'ed (caller frees), *n its length. Returns 0, or -1
 * with a message naming the file and line in err. */
int cs_addenda_read(const char *path, cs_addendum_t **out, size_t *n, char *err, size_t cap);

/* The `addenda` command: FILE... printed as added, deleted and revised lists (or JSON). */
int cs_cli_addenda(cs_cli_t *cli, int n_files, char *const *files);

#endif /* CS_CLI_ADDENDA_H */
