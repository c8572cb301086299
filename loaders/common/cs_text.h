/* cs_text.h: the line reading the text loaders share (gems, hcpcs-anweb, icd10cm-order, and
 * the order-file reader cs_order.c): a file's lines through one buffer, each with its CR and
 * (on line 1) a UTF-8 byte order mark removed, faults reported as file:line:column, progress
 * in bytes and cancel checks.
 *
 * Not a plugin: a loader's plugin.mk compiles cs_text.c in with -fvisibility=hidden, so the
 * loader still exports only its descriptor. cs_text_t is a plain struct, not opaque: a loader
 * embeds it in its load state (no allocation) and reads host, sink, err, base and done
 * directly.
 */
#ifndef CS_TEXT_H
#define CS_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "codeset/cs_plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CS_TEXT_BUF_SIZE (64 * 1024) /* read buffer; a line must fit with room to spare */

/* The reading state of one load(); zero it, then cs_text_begin(). */
typedef struct cs_text {
    const cs_host_api_t *host; /* borrowed for the load call */
    cs_sink_t *sink;           /* borrowed for the load call */
    cs_error_t *err;           /* caller's error record (may be NULL) */
    int has_progress;          /* host->progress is there */
    int has_cancelled;         /* host->cancelled is there */
    const char *base;          /* the current file's base name, for messages */
    FILE *fp;                  /* the current file (borrowed) */
    char *buf;                 /* CS_TEXT_BUF_SIZE + 1 bytes (borrowed) */
    size_t line_max;           /* longest line accepted, CR excluded */
    size_t start;              /* buf offset of the next line */
    size_t end;                /* bytes in buf */
    int eof;                   /* fp has no more bytes */
    unsigned lineno;           /* lines read of the current file */
    unsigned first_blank;      /* first blank line cs_text_next_filled() skipped, or 0 */
    uint64_t done;             /* bytes of the lines read, line ends included; over all files
                                * (cs_text_start() leaves it) */
} cs_text_t;

static inline int cs_text_is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Start a load: keep host, sink and err, and see which optional host calls there are. */
void cs_text_begin(cs_text_t *t, const cs_host_api_t *host, cs_sink_t *sink, cs_error_t *err);

/* The part of path after its last '/' (a pointer into path). */
const char *cs_text_base_name(const char *path);

/* The offset of the first byte of p[0..n) that is not well-formed UTF-8 (no overlong forms, no
 * surrogates, nothing past U+10FFFF), or n when all is. With controls 0, an ASCII control
 * character (below 0x20, or 0x7f) counts as bad too: titles and terms have none. */
/* (cs_utf8_end of core/util/cs_utf8.h.) */
size_t cs_text_utf8_end(const char *p, size_t n, int controls);

/* Whether line[0..len) holds nothing but blanks. */
int cs_text_is_empty(const char *line, size_t len);

/* Strip one trailing CR of line[0..*len) and, on line 1, a UTF-8 byte order mark (*shift is 3
 * then, else 0: add it to columns of the result); NUL-terminate it in place (line[*len] must
 * be writable). Returns the line's new start. */
char *cs_text_trim(char *line, size_t *len, unsigned lineno, unsigned *shift);

/* Fail with code and the formatted message at base:line:column; returns code. */
int cs_text_fail(cs_text_t *t, int code, unsigned line, unsigned column, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Read fp (borrowed, open) from its start through buf (CS_TEXT_BUF_SIZE + 1 bytes, borrowed),
 * accepting lines of up to line_max bytes (line_max + 1 < CS_TEXT_BUF_SIZE). */
void cs_text_start(cs_text_t *t, FILE *fp, char *buf, size_t line_max);

/* The next line: *line points into buf, NUL-terminated, its CR and on line 1 a UTF-8 byte
 * order mark removed (*shift is 3 then, else 0: add it to columns of line); *line is NULL at
 * the end of the file. A line longer than line_max fails with CS_EMALFORMED, a read error
 * with CS_EIO, at the line. */
int cs_text_next(cs_text_t *t, char **line, size_t *len, unsigned *shift);

/* The next line that is not blank, as cs_text_next() gives it: blank lines are skipped, but
 * only at the end of the file; a line after one fails with CS_EMALFORMED, "empty line before
 * the end of the file", at the first blank line. */
int cs_text_next_filled(cs_text_t *t, char **line, size_t *len, unsigned *shift);

/* Report done as progress, and fail with CS_ETERM, "load cancelled", at line when the host
 * asks the load to stop. */
int cs_text_poll(cs_text_t *t, unsigned line, uint64_t done);

#ifdef __cplusplus
}
#endif

#endif /* CS_TEXT_H */
