/* cs_order.h: the CMS/CDC order file the ICD-10 loaders share (icd10cm-tabular,
 * icd10cm-order, icd10pcs-tables). One code a line, fixed width, CRLF (LF accepted):
 *
 *     00001 A00     0 Cholera                                                      Cholera
 *     ^order ^code  ^flag (0 header, 1 billable) ^short title (60)                 ^long title
 *
 * Columns (1-based): order 1-5, code 7-13 (no dot, space padded), flag 15, short title 17-76,
 * long title 78 to the end of the line. The layout is common to ICD-10-CM and ICD-10-PCS;
 * what a code may be (and which flag it may carry) is the loader's check.
 *
 * Two ways in: cs_order_parse() takes one line, for a loader that streams the file; and
 * cs_order_read() takes a whole file into memory, every line parsed and indexed by its packed
 * code (duplicates refused), for a loader that looks codes up while it reads another file.
 *
 * Not a plugin: compiled into those loaders (hidden) through their plugin.mk, with
 * cs_hset.c and cs_text.c, which it uses.
 */
#ifndef CS_ORDER_H
#define CS_ORDER_H

#include <stddef.h>
#include <stdint.h>

#include "cs_hset.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CS_ORDER_CODE_MAX 7   /* widest code field */
#define CS_ORDER_COL_CODE 7   /* 1-based column of the code */
#define CS_ORDER_COL_FLAG 15  /* 1-based column of the flag */
#define CS_ORDER_LINE_MAX 4096 /* longest line accepted, CR excluded */

/* One line; the titles point into the line, NUL-terminated in place. */
typedef struct cs_order_entry {
    uint64_t key;                     /* the code packed (cs_hset_pack) */
    const char *short_title;          /* trimmed short title */
    const char *title;                /* trimmed long title */
    uint32_t order;                   /* order number */
    uint32_t line;                    /* line number (cs_order_read; else 0) */
    char code[CS_ORDER_CODE_MAX + 1]; /* the code without dot, NUL-terminated */
    uint8_t len;                      /* its length */
    uint8_t billable;                 /* flag 1 */
    uint8_t emitted;                  /* the loader's mark (0 from here) */
} cs_order_entry_t;

/* A loader's check of a code of n (0..CS_ORDER_CODE_MAX) bytes as written, with
 * shown its printable form, and of its flag: 0, or the 1-based column of the fault with a
 * sentence in msg[0..cap). */
typedef unsigned (*cs_order_check_fn)(const char *code, size_t n, const char *shown, char flag,
                                      char *msg, size_t cap);

/* Parse one line (CR and byte order mark removed) of length len; line[len] must be writable.
 * 0 with out filled, or the 1-based column of the fault (1 past the end for a short line)
 * with a sentence in msg[0..cap). */
unsigned cs_order_parse(char *line, size_t len, cs_order_check_fn check, cs_order_entry_t *out,
                        char *msg, size_t cap);

/* in[0..n) as printable ASCII in out[0..cap), other bytes and quotes written \xNN. */
const char *cs_order_show(const char *in, size_t n, char *out, size_t cap);

/* Whether the first line of buf[0..got), the first bytes of a file read into a buffer of
 * cap + 1 bytes (got < cap: the whole file), is an order-file line that check accepts. The
 * line is parsed in place. */
int cs_order_sniff(char *buf, size_t got, size_t cap, cs_order_check_fn check);

/* The printable form of code[0..n), "E11.9" with the dot after the third character where
 * dotted (ICD-10-CM), else as written. out holds CS_ORDER_CODE_MAX + 2 bytes. */
const char *cs_order_display(const char *code, size_t n, int dotted, char *out);

/* A whole order file in memory; zero it, cs_order_read(), cs_order_free(). */
typedef struct cs_order {
    char *text;                /* the file, NUL-terminated in place (owned) */
    size_t size;               /* its bytes */
    cs_order_entry_t *entries; /* its lines with codes, in file order (owned) */
    size_t n_entries;          /* how many */
    cs_hset_t index;           /* packed code -> entry index + 1 */
} cs_order_t;

/* Where and why cs_order_read() failed: at line:column (0 where none) of the file. */
typedef struct cs_order_fault {
    int code;          /* CS_EIO, CS_ENOMEM, CS_EMALFORMED */
    unsigned line;     /* 1-based line, or 0 */
    unsigned column;   /* 1-based column, or 0 */
    char msg[200];     /* one sentence */
} cs_order_fault_t;

/* Read the regular file path, parse (check) and index every line. An empty line is allowed
 * only at the end; a code seen twice (shown dotted where dotted), or no code at all, fails.
 * CS_OK, or the fault's code with *fault filled. */
int cs_order_read(cs_order_t *o, const char *path, cs_order_check_fn check, int dotted,
                  cs_order_fault_t *fault);

/* The entry of a packed code, or NULL (also before any read). */
cs_order_entry_t *cs_order_find(const cs_order_t *o, uint64_t key);

/* Free what a read kept, and zero o. */
void cs_order_free(cs_order_t *o);

#ifdef __cplusplus
}
#endif

#endif /* CS_ORDER_H */
