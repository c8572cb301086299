/* cli_progress.h: a one-line progress bar on a terminal, redrawn in place with \r.
 *
 * A disabled bar (not a terminal) draws nothing, so callers need no checks of their own.
 * Thread-safety: one thread per bar.
 */
#ifndef CS_CLI_PROGRESS_H
#define CS_CLI_PROGRESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CS_CLI_PROGRESS_WIDTH 30 /* characters between the brackets */

typedef struct cs_cli_progress {
    FILE *out;    /* where the bar is drawn (stderr), borrowed */
    int enabled;  /* 0: every call is a no-op */
    size_t drawn; /* characters of the line last drawn, for clearing */
} cs_cli_progress_t;

/* Set up a bar drawing on out when enabled is non-zero. */
void cs_cli_progress_init(cs_cli_progress_t *p, FILE *out, int enabled);

/* Format the bar for done of total bytes into buf (always NUL-terminated), e.g.
 * "[#######-----------------------]  24%  12.0 MiB / 50.0 MiB"; with total 0 only the bytes
 * done. Returns the length written. */
size_t cs_cli_progress_format(char *buf, size_t cap, uint64_t done, uint64_t total);

/* Redraw the bar in place. */
void cs_cli_progress_update(cs_cli_progress_t *p, uint64_t done, uint64_t total);

/* Erase the bar, leaving the cursor at the start of an empty line. */
void cs_cli_progress_clear(cs_cli_progress_t *p);

#ifdef __cplusplus
}
#endif
#endif /* CS_CLI_PROGRESS_H */
