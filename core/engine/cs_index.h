/* cs_index.h: queries over an ICD-10-CM Index set (core/store/cs_index_format.h): the Index to
 * Diseases and Injuries, the External Cause Index, the Table of Drugs and Chemicals and the
 * Neoplasm Table, as a coder reads them: find a term by words (the search index of the set,
 * engine/cs_search.h, over each term's title and the path above it), or walk down a path of
 * terms; follow "see" and "see also" on request; and check every code the rows give in the
 * ICD-10-CM tabular release in effect on the same date (billable, a header with what lies
 * under it, a code that needs its 7th character and which ones apply, a code ending in '-'
 * that needs more characters, or one the tabular does not hold).
 *
 * Ownership: a result owns every string it points to (an arena freed by cs_index_result_free);
 * nothing points into the store, so a result outlives the reader's snapshot.
 * Errors: cs_index_run returns CS_PERR_NONE or the protocol error of the reply (unknown
 * system, unknown release, no release for the date, corrupt release, internal) with the
 * sentence in res->msg. A path or a reference that leads nowhere is not an error: the result
 * says how far it got.
 * Thread-safety: cs_index_run runs on any thread inside that thread's reader snapshot (begun
 * by the caller). Work per query is bounded: a search reads each doc at most once, a walk
 * reads the children of each level of the path once, following stops after
 * CS_INDEX_FOLLOW_MAX references, and a code's state reads at most CS_INDEX_SCAN_MAX codes.
 */
#ifndef CS_INDEX_H
#define CS_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "engine/cs_request.h"
#include "load/cs_plugin_host.h"
#include "store/cs_catalog.h"
#include "store/cs_index_format.h"
#include "store/cs_store.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CS_INDEX_DEFAULT_LIMIT 20
#define CS_INDEX_MAX_LIMIT 100   /* rows per answer (limit_max of the op) */
#define CS_INDEX_FOLLOW_MAX 16   /* see / see also references followed per answer */
#define CS_INDEX_FOLLOW_DEPTH 3  /* references followed from a followed row, and so on */
#define CS_INDEX_HINT_MAX 8      /* billable codes listed under a header */
#define CS_INDEX_SCAN_MAX 512    /* codes read below one code to tell its state */
#define CS_INDEX_ITEMS_MAX 16    /* codes of one row: code, manif, subcat, see_cat, 9 cells */

/* A code's state in the tabular release (docs/PROTOCOL.md, index). */
typedef enum cs_index_state {
    CS_INDEX_NO_CODE = 0,    /* "--", "-": the table gives no code there */
    CS_INDEX_BILLABLE,
    CS_INDEX_HEADER,         /* not billable: pick one of hint */
    CS_INDEX_NEEDS_7TH,      /* pick a 7th character of chars (after placeholder X's) */
    CS_INDEX_NEEDS_MORE,     /* written with a final '-': more characters follow */
    CS_INDEX_UNKNOWN,        /* the tabular does not hold it (or there is no tabular) */
} cs_index_state_t;

/* Wire name of a state: "none", "billable", "header", "needs_7th", "needs_more", "unknown". */
const char *cs_index_state_name(cs_index_state_t s);

/* One code of a row: a term's <code>, <manif>, <subcat> or <seecat>, or a table cell. */
typedef struct cs_index_code {
    const char *name;         /* "code", "manif", "subcat", "see_cat", "cell2".."cell9" */
    uint8_t col;              /* a cell's column (2..9), else 0 */
    const char *head;         /* a cell's column heading, else NULL */
    const char *text;         /* as the file writes it ("T39.1X5", "C50.9-", "--") */
    const char *code;         /* the tabular's display form, or NULL (no code, unknown) */
    cs_index_state_t state;
    const char *title;        /* the tabular's title of code (or of the part before a final
                               * '-'), or NULL */
    char chars[40];           /* needs_7th: the 7th characters that apply, in order ("ADS") */
    const char *placeholder;  /* needs_7th: code padded with X to 6 characters ("W11.XXX"),
                               * or NULL when it has 6 */
    const char *hint[CS_INDEX_HINT_MAX]; /* billable codes under it (the reply shows them for
                                          * header and needs_more) */
    uint32_t n_hint;
    uint32_t n_under;         /* billable codes under it that were read (up to the scan cap) */
} cs_index_code_t;

/* One term. */
typedef struct cs_index_row {
    const char *key;          /* the term's key in the set (lookup system icd10cm-index) */
    int table;                /* cs_index_table_t of the term */
    const char *kind;         /* "main_term" or "term" */
    const char *title;        /* with its nonessential modifiers, as the file writes it */
    const char *path[CS_INDEX_MAX_LEVEL + 1]; /* the titles above it, main term first */
    uint32_t n_path;
    const char *nemod, *see, *see_also, *warning; /* or NULL */
    cs_index_code_t items[CS_INDEX_ITEMS_MAX];
    uint32_t n_items;
    int has_subterms;         /* 1 when terms sit below it (walk them with path) */
    int64_t score;            /* search rank (0 when not searched) */
    const char *via;          /* a followed row: "see" or "see_also"; NULL for a match */
    const char *from;         /* a followed row: the key of the row that referred to it */
    const char *ref;          /* a followed row: the reference as written */
    int partial;              /* a followed row: only the start of ref was found (the rest,
                               * "by site", "by type", is an instruction, or the file's
                               * wording differs); the row is the deepest term reached */
} cs_index_row_t;

/* A reference that was not followed to a row. */
typedef struct cs_index_unfollowed {
    const char *from;         /* the key of the row that holds it */
    const char *via;          /* "see" or "see_also" */
    const char *ref;          /* as written */
    const char *why;          /* "cycle" (its row is in the answer already), "not_found",
                               * "limit" (CS_INDEX_FOLLOW_MAX reached), or a table's name
                               * ("drug") when ref names a whole table ("see Table of Drugs
                               * and Chemicals") */
} cs_index_unfollowed_t;

typedef struct cs_index_query {
    cs_str_t system;          /* "icd10cm": the set is "<system>-index" */
    cs_str_t table;           /* "index", "eindex", "drug", "neoplasm" (unread with all) */
    int all;                  /* 1: words over every table of the set (the search op's
                               * index source); rows say their table */
    cs_str_t release;         /* the set's label, or empty */
    int date;                 /* yyyymmdd, or 0 */
    const char *q;            /* words, or NULL */
    size_t q_len;
    const cs_str_t *path;     /* n_path terms from the main term down, or NULL */
    uint32_t n_path;
    cs_str_t key;             /* a term's key (a row's "key"): that term and its subterms, as
                               * a path to it would; empty for none */
    int follow;               /* 1: follow see and see also */
    uint32_t limit;           /* 1..CS_INDEX_MAX_LIMIT (clamped; 0: the default) */
    uint64_t offset;
} cs_index_query_t;

typedef struct cs_index_arena cs_index_arena_t;

typedef struct cs_index_result {
    char msg[256];            /* why, when run returned an error */
    char set_label[64];       /* the index set answering */
    char tabular_label[64];   /* the ICD-10-CM release codes were checked in ("" if none) */
    int table;                /* cs_index_table_t (-1 with all) */
    const char *table_title;  /* NULL with all */
    const char *heads[CS_INDEX_MAX_COLS + 1]; /* column headings (drug, neoplasm) */
    uint64_t total;           /* matches (q), subterms (path), main terms (neither) */
    int by_path;              /* 1 when path or key was given */
    uint32_t matched;         /* path: the path's terms found, from the main term down */
    int fuzzy;                /* q: some word matched by edit distance 1 */
    cs_index_row_t *rows;     /* n_rows: matches first (a path's term, then its subterms),
                               * then followed rows */
    size_t n_rows;
    cs_index_unfollowed_t unfollowed[CS_INDEX_FOLLOW_MAX];
    size_t n_unfollowed;
    cs_index_arena_t *arena;  /* owns every string above */
} cs_index_result_t;

/* Answer q in r's snapshot: the set and the tabular resolved through the catalog (the
 * catalog memo may be NULL), codes normalised by the icd10cm plugin of plugins. res is
 * filled (initialise it with memset 0); free it with cs_index_result_free whatever this
 * returns. */
cs_proto_err_t cs_index_run(cs_reader_t *r, cs_store_t *store, const cs_plugin_host_t *plugins,
                            const cs_index_query_t *q, cs_index_result_t *res);

/* Free what res owns (accepts a zeroed or half-filled result); res is zeroed. */
void cs_index_result_free(cs_index_result_t *res);

#ifdef __cplusplus
}
#endif
#endif /* CS_INDEX_H */
