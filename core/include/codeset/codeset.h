/* codeset.h: the embedded C API: the broker's query engine in-process, over a codeset
 * database opened read-only, with no broker and no socket.
 *
 * Link with libcodeset (pkg-config codeset). A program opens the LMDB directory that
 * codesetd writes (its --db DIR) and the directory of system plugins (which say what a
 * code of each system looks like); a broker may keep running and loading releases
 * meanwhile: every call answers from one consistent snapshot, the releases published
 * before it started.
 *
 *     cs_error_t err;
 *     cs_db_t *db = cs_db_open("/var/lib/codeset", "/usr/local/lib/codeset/plugins", &err);
 *     if (!db) { fprintf(stderr, "%s\n", err.msg); return 1; }
 *     cs_db_entry_t e;
 *     if (cs_db_lookup(db, "icd10cm", "e119", NULL, &e, &err) == CS_OK && e.found)
 *         printf("%.*s %.*s\n", (int)e.code.len, e.code.ptr, (int)e.title.len, e.title.ptr);
 *     cs_db_close(&db);
 *
 * Ownership. cs_db_open returns a handle the caller owns and closes with cs_db_close. Every
 * text an answer holds is a cs_db_str_t, NOT NUL-terminated, borrowed from the handle: valid
 * until the next call on the same handle (or its close). Copy what must live longer.
 *
 * Errors. Functions return CS_OK (0) or a negative CS_E* code (codeset/cs_error.h) and, when
 * err is not NULL, fill it with one sentence naming the subject and the cause. A code that
 * the release does not hold, or that is malformed, is an answer (CS_OK), as on the wire.
 *
 * Threads. A handle is used by one thread at a time (it owns one LMDB read transaction, which
 * it renews when a call needs it and never holds between calls; a lookup answered by the code
 * index below needs none while nothing new is committed to the file). For several threads, open one
 * handle and give every other thread its own with cs_db_dup: duplicates share the one LMDB
 * environment (LMDB allows one per process and file) and the plugins; each has its own
 * reader. Handles may be closed in any order, from any thread; the environment closes with
 * the last. Never use a handle across fork().
 *
 * Signals. LMDB trusts its pages, and in a corrupted file it may read outside one. So the first
 * cs_db_open installs handlers for SIGSEGV and SIGBUS (SA_SIGINFO | SA_NODEFER) that turn such
 * a fault inside one of this library's LMDB reads into an error of that call (CS_EMALFORMED,
 * or an error reply "corrupt_release") and pass every other fault to the handler installed
 * before them (by default, the process dies as it would have). A program that installs its own
 * handlers for these signals afterwards should call the previous ones for faults it does not
 * expect.
 *
 * Memory and a thread of its own. The first query of a release starts one background thread
 * (per environment) that copies the heads of that release's entries into an in-memory hash
 * index (for an ICD-10-CM release 18 MiB, built in 0.03-0.2 s; at most 64 MiB in all, the
 * least recently used dropped first). Later lookups and validations find codes there instead of
 * walking the LMDB tree; the answers are the same. The thread ends at the last close.
 */
#ifndef CODESET_H
#define CODESET_H

#include <stddef.h>
#include <stdint.h>

#include "codeset/cs_error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cs_db_handle cs_db_t; /* an open database handle (opaque) */

/* A text borrowed from the handle: ptr[0..len), not NUL-terminated; len 0 when absent. In
 * every filled answer ptr is never NULL ("" when absent). */
typedef struct cs_db_str {
    const char *ptr;
    size_t len;
} cs_db_str_t;

/* Which release answers (as the wire protocol's "release" and "date" keys). A NULL query, or
 * both fields NULL, means the newest active release of the system; with both, release wins. */
typedef struct cs_db_query {
    const char *release; /* a release label ("2021"), or NULL */
    const char *date;    /* a date of service "YYYY-MM-DD", or NULL */
} cs_db_query_t;

/* Open the codeset database in dir read-only (MDB_RDONLY: nothing is created or written) and
 * load the system plugins of plugins_dir (NULL: $CODESET_PLUGINS, else
 * /usr/local/lib/codeset/plugins).
 * Returns an owned handle, or NULL with err filled: CS_EIO (dir is not a readable directory
 * holding an LMDB file, or the plugin directory cannot be read), CS_EMALFORMED (an LMDB file
 * that is not a codeset database, or one of another schema version), CS_ENOTFOUND (no system
 * plugin in plugins_dir), CS_ENOMEM. */
cs_db_t *cs_db_open(const char *dir, const char *plugins_dir, cs_error_t *err);

/* A new handle for another thread, sharing db's environment and plugins. Owned by the
 * caller; NULL with err filled (CS_ENOMEM, CS_EAGAIN when LMDB's reader slots are used up). */
cs_db_t *cs_db_dup(cs_db_t *db, cs_error_t *err);

/* Close a handle; *db becomes NULL. Accepts NULL and *db NULL. Texts it lent become invalid. */
void cs_db_close(cs_db_t **db);

/* ---- lookup ---- */

/* One entry (code, category, block or chapter) as the lookup op answers it. */
typedef struct cs_db_entry {
    int found;               /* 1: the release holds it; 0: it does not, or it is malformed */
    int malformed;           /* 1: not a code of the system's syntax (found is 0) */
    cs_db_str_t code;        /* canonical display form ("E11.9"); the input when malformed */
    cs_db_str_t release;     /* label of the release that answered */
    cs_db_str_t kind;        /* "chapter", "block", "category", "subcategory", "code"... */
    int billable;            /* 1: may stand on a claim */
    cs_db_str_t title;       /* full description */
    cs_db_str_t short_title; /* short description; len 0 where the release has none */
    cs_db_str_t parent;      /* display form of the parent; len 0 for a chapter */
    int32_t valid_from;      /* yyyymmdd from which the code is valid, 0: with its release */
    int32_t valid_to;        /* yyyymmdd of its last valid day, 0: none */
} cs_db_entry_t;

/* Look up code (any case, with or without the dot, white space around it) of system
 * ("icd10cm"...) in the release q selects (may be NULL). CS_OK with *out filled (found 1 or 0,
 * which is an answer); CS_EINVAL (NULL argument, unknown system, a date that is not a real
 * YYYY-MM-DD); CS_ENOTFOUND (no such release, none in effect on the date, or none loaded);
 * CS_EINTERNAL (the store cannot be read). Texts are borrowed (see Ownership). */
int cs_db_lookup(cs_db_t *db, const char *system, const char *code, const cs_db_query_t *q,
                 cs_db_entry_t *out, cs_error_t *err);

/* ---- validate ---- */

/* Why a code is not valid on a claim (the reasons of the validate op). */
typedef enum cs_db_reason {
    CS_DB_VALID = 0,        /* valid and billable */
    CS_DB_MALFORMED = 1,    /* not a code of this system's syntax */
    CS_DB_UNKNOWN = 2,      /* well formed, not in the release */
    CS_DB_NOT_BILLABLE = 3, /* a header: hint lists billable codes under it */
    CS_DB_NOT_EFFECTIVE = 4 /* not in effect: valid_in, replaced_by say where and what */
} cs_db_reason_t;

/* The wire name of a reason ("valid", "malformed", "unknown", ...). Never NULL. */
const char *cs_db_reason_name(cs_db_reason_t reason);

/* One validated code. Lists are arrays of n texts (NULL when n is 0). */
typedef struct cs_db_result {
    int valid;                      /* 1: valid and billable on the date */
    cs_db_reason_t reason;          /* CS_DB_VALID when valid */
    cs_db_str_t input;              /* the caller's text */
    cs_db_str_t code;               /* canonical form; len 0 when malformed */
    cs_db_str_t title;              /* title of a valid code, else len 0 */
    cs_db_str_t kind;               /* kind of a not_billable header, else len 0 */
    cs_db_str_t message;            /* a sentence a person can act on; len 0 when valid */
    const cs_db_str_t *hint;        /* not_billable: billable codes under it (at most 20) */
    size_t n_hint;
    const cs_db_str_t *valid_in;    /* not_effective: labels of releases that hold it */
    size_t n_valid_in;
    const cs_db_str_t *replaced_by; /* not_effective: codes a conversion map gives */
    size_t n_replaced_by;
} cs_db_result_t;

/* Validate n codes (at most 10,000, as the wire allows) against the release q selects; on
 * q->date, or without one as of the release's effective_from (a code whose own valid_to falls
 * before it is CS_DB_NOT_EFFECTIVE; docs/PROTOCOL.md says what no date means).
 * CS_OK with *results (n entries, in input order) and *release (the label that answered)
 * borrowed from the handle; CS_ETOOMANY over the limit; otherwise as cs_db_lookup. */
int cs_db_validate(cs_db_t *db, const char *system, const char *const *codes, size_t n,
                   const cs_db_query_t *q, const cs_db_result_t **results,
                   cs_db_str_t *release, cs_error_t *err);

/* ---- search ---- */

typedef struct cs_db_hit {
    cs_db_str_t code;  /* display form */
    cs_db_str_t title;
    int billable;
    int64_t score;     /* ranking score: compare only within one answer */
} cs_db_hit_t;

/* The search op: every word of text must start a word of the entry's searchable text (a
 * code-looking text matches codes by prefix); ranked best first. limit 0 means 20 (at most
 * 500); offset pages; billable_only keeps billable codes only. CS_OK with *hits (*n_hits of
 * them, borrowed) and *total (every match); errors as cs_db_lookup. */
int cs_db_search(cs_db_t *db, const char *system, const char *text, size_t limit,
                 size_t offset, int billable_only, const cs_db_query_t *q,
                 const cs_db_hit_t **hits, size_t *n_hits, uint64_t *total, cs_error_t *err);

#ifdef __cplusplus
}
#endif
#endif /* CODESET_H */
