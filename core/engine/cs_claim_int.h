/* cs_claim_int.h: what the files of the claim edits share (cs_claim.c: the run, lines and
 * duplicates; cs_claim_notes.c: the tabular's notes and titles; cs_claim_sets.c: the edit
 * sets). Not an API: only those three include it.
 */
#ifndef CS_CLAIM_INT_H
#define CS_CLAIM_INT_H

#include <stdarg.h>
#include <string.h>

#include "engine/cs_claim.h"
#include "util/cs_coderef.h"
#include "store/cs_entry.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { CS_CNOTE_EXCLUDES1 = 1, CS_CNOTE_CODE_FIRST = 2 };

/* A note met on a diagnosis or one of its ancestors; text borrowed from the snapshot. */
typedef struct cs_claim_note {
    uint8_t type;           /* CS_CNOTE_* */
    uint8_t on_cls;         /* the class of the entry it sits on */
    uint16_t n_refs;        /* the codes its text names: run->cache.refs[ref_first ..) */
    uint32_t ref_first;
    cs_span_t text;
    char on[CS_CODE_MAX];   /* the display form of the entry it sits on */
} cs_claim_note_t;

/* What a snapshot's claims have read (cs_claim_cache.c). An entry of the ICD-10-CM tabular
 * (kind CS_CENTRY_ENTRY: its parent, its notes parsed, its title) or a code's rows in an edit
 * set's lists (kind CS_CENTRY_LIST: rel is the set's release, cls 0 for a diagnosis, 1 for a
 * procedure; bit m of checked: map m was looked up, of hit: it holds the code). */
enum { CS_CENTRY_ENTRY = 1, CS_CENTRY_LIST = 2 };

typedef struct cs_claim_centry {
    uint8_t kind;            /* 0: an empty slot */
    uint8_t cls;
    uint8_t found;           /* entry: it is in the release */
    uint8_t parent_cls;      /* entry: 0 when it has no parent */
    uint32_t rel;
    uint32_t tag;            /* the key's hash (high half), compared before the key */
    uint32_t hlow;           /* its low half: the slot, when the index grows */
    char key[CS_CODE_MAX];
    char parent[CS_CODE_MAX];  /* entry: the parent's storage key */
    char display[CS_CODE_MAX]; /* entry: its display form */
    cs_span_t title;           /* entry: borrowed from the snapshot */
    uint32_t note_first, note_n; /* entry: its notes in the cache's notes[] */
    uint32_t parent_pos;         /* entry: its parent's position + 1 in ents[], once met */
    uint32_t checked, hit;       /* list */
    int16_t lo[CS_RELEASE_MAX_MAPS], hi[CS_RELEASE_MAX_MAPS]; /* list: a row's age range */
} cs_claim_centry_t;

/* Bounds of a cache: it starts over at the first claim that finds it within one claim's
 * worth (CS_CLAIM_CACHE_CLAIM entries: 100 chains of 12 and 200 lines' list rows; notes and
 * references: far fewer than the margins below) of any of them, so that its arrays, which
 * double, never pass them: a result kept for good (the engine keeps one a thread) holds at
 * most 14.2 MB of entries (216 bytes), 0.5 MB of table, 3.7 MB of notes (56 bytes) and
 * 4.7 MB of the codes they name (18 bytes). */
#define CS_CLAIM_CACHE_MAX 65536
#define CS_CLAIM_CACHE_CLAIM 2048
#define CS_CLAIM_NOTES_MAX 65536
#define CS_CLAIM_NOTES_CLAIM 8192
#define CS_CLAIM_REFS_MAX 262144
#define CS_CLAIM_REFS_CLAIM 32768

typedef struct cs_claim_cache {
    cs_claim_centry_t *ents;   /* the entries, in the order made (count of cap_ents) */
    uint32_t *index;           /* open addressing over ents: 0 empty, else position + 1 */
    uint32_t cap, count, cap_ents;
    const cs_reader_t *reader; /* the reader, snapshot and map place the spans belong to */
    uint64_t snapshot;
    unsigned map_gen;
    cs_claim_note_t *notes;    /* the entries' notes */
    uint32_t n_notes, cap_notes;
    cs_coderef_t *refs;        /* the codes they name */
    uint32_t n_refs, cap_refs;
    int refs_known;            /* refs_stored says whether release refs_rel was loaded with */
    int refs_stored;           /* its notes' references stored (store/cs_noterefs.h) */
    uint32_t refs_rel;
} cs_claim_cache_t;

/* A claim starts (reader begun): empty the table when the reader, its snapshot or the map's
 * place (cs_reader_map_gen) changed, or it grew past its bounds. */
void cs_claim_cache_begin(cs_claim_cache_t *c, const cs_reader_t *reader);
/* The bytes it holds. */
size_t cs_claim_cache_bytes(const cs_claim_cache_t *c);
/* The slot of (kind, rel, cls, key), made (*fresh = 1, zeroed) when absent; the pointer is
 * valid until the next call, its position in c->ents until the table is emptied (at a
 * cs_claim_cache_begin). NULL when out of memory or key too long. */
cs_claim_centry_t *cs_claim_cache_get(cs_claim_cache_t *c, uint8_t kind, uint32_t rel,
                                      uint8_t cls, const char *key, int *fresh);
void cs_claim_cache_fini(cs_claim_cache_t *c);

/* What the run knows of one line. */
typedef struct cs_claim_lineinfo {
    int found;               /* the code is in its release (any reason but malformed, unknown) */
    cs_code_t code;          /* normalised (when not malformed) */
    const cs_plugin_desc_t *sys;
    uint32_t rel;            /* release id read (0: none) */
    uint32_t note_first;     /* its notes: run->notes[note_first .. +note_n) */
    uint32_t note_n;
    int manif_title;         /* a title on its chain reads "in diseases classified elsewhere" */
    char manif_on[CS_CODE_MAX]; /* the entry whose title it is */
    cs_span_t manif_text;       /* that title, borrowed from the snapshot */
    uint32_t list_rel;          /* the edit set whose lists' cache entry of the code is */
    uint32_t list_ent;          /* run->cache.ents[list_ent - 1] (0: none yet): a line asks
                                 * several lists of one set, all answered by that entry */
} cs_claim_lineinfo_t;

/* An edit set in effect on a claim's date, remembered for the claims after it that read the
 * same snapshot on the same date (a batch, or the requests after it while no release is
 * published). */
typedef struct cs_claim_set {
    int ok;              /* a release of the set is in effect */
    int cached;          /* reader, snapshot and date say what it was resolved for */
    const cs_reader_t *reader;
    uint64_t snapshot;
    int date;
    int derived;         /* the set is a third party's derivation */
    cs_release_t rel;
    /* lists already found, by the pointers of their (literal) name and system id */
    struct {
        const char *list, *system;
        int map;             /* -1: the set has no such list */
    } found[24];
    uint32_t n_found;
} cs_claim_set_t;

enum {
    CS_CLAIM_SET_MCE = 0,
    CS_CLAIM_SET_POA = 1,
    CS_CLAIM_SET_PTP = 2,
    CS_CLAIM_SET_MUE = 3,
    CS_CLAIM_SETS = 4
};

typedef struct cs_claim_run {
    const cs_claim_env_t *env;
    const cs_claim_t *claim;
    cs_claim_result_t *res;
    cs_codeidx_holder_t *index;
    cs_catalog_memo_t *memo;
    char cm_label[64];             /* the ICD-10-CM release used */
    uint32_t cm_rel;
    uint32_t n_notes;
    int failed;                    /* out of memory */
    /* kept between the claims of a result: cs_claim_check resets only what is above */
    cs_claim_note_t *notes;        /* the diagnoses' notes (their refs: cache.refs) */
    uint32_t cap_notes;
    cs_codeidx_holder_t own_index; /* when env->index is NULL: LMDB only */
    cs_catalog_memo_t own_memo;    /* when env->memo is NULL (keyed by snapshot) */
    cs_claim_cache_t cache;
    cs_claim_set_t sets[CS_CLAIM_SETS];
    cs_claim_lineinfo_t info[CS_CLAIM_MAX_DX + CS_CLAIM_MAX_PX]; /* set line by line */
} cs_claim_run_t;

/* Record an edit over lines (n of them, at most CS_CLAIM_EDIT_LINES); the message is
 * printf-style. Returns the edit for its source, or NULL when out of memory (run->failed). */
cs_claim_edit_t *cs_claim_add_edit(cs_claim_run_t *run, const char *edit,
                                   cs_claim_severity_t sev, const uint32_t *lines, uint32_t n,
                                   const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Record a skipped edit with why (printf-style). */
void cs_claim_add_skip(cs_claim_run_t *run, const char *edit, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Note that the claim used release label of set. */
void cs_claim_add_used(cs_claim_run_t *run, const char *set, const char *label, size_t llen);
/* Fill an edit's source. */
void cs_claim_source(cs_claim_edit_t *e, const char *set, const char *release, const char *what,
                     const char *name, const char *on, const char *text, size_t tlen,
                     int derived);
/* The date as YYYY-MM-DD. */
void cs_claim_date(int yyyymmdd, char out[11]);
/* Copy at most cap-1 bytes of s[0..n), cut at a UTF-8 boundary, NUL-terminated. */
void cs_claim_copy(char *dst, size_t cap, const char *s, size_t n);
/* snprintf(dst, cap, "%s", s), byte for byte (cut at cap-1 bytes), without the formatting
 * machinery: a claim copies a few dozen short strings. */
static inline void cs_claim_strcpy(char *dst, size_t cap, const char *s)
{
    size_t n = strlen(s);
    n = n < cap ? n : cap - 1;
    memcpy(dst, s, n);
    dst[n] = '\0';
}

/* The tabular's edits (cs_claim_notes.c): collect each diagnosis's notes and titles, then
 * excludes1, code_first, and manifestation_principal unless mce_manif (an MCE list answered
 * it). */
void cs_claim_collect_notes(cs_claim_run_t *run);
void cs_claim_excludes1(cs_claim_run_t *run);
void cs_claim_manifestation_tabular(cs_claim_run_t *run);
void cs_claim_code_first(cs_claim_run_t *run);
/* 1 if an edit of that name is already recorded on line i. */
int cs_claim_has_edit(const cs_claim_run_t *run, const char *edit, uint32_t line);
/* Make room for one more element of *arr; 0 when out of memory. */
int cs_claim_grow(void **arr, uint32_t *cap, uint32_t n, size_t size);

/* The edit sets' edits (cs_claim_sets.c); returns 1 when an MCE set answered the
 * manifestation edit. */
int cs_claim_mce(cs_claim_run_t *run);
void cs_claim_poa(cs_claim_run_t *run);
/* The set name (the run's slot which) in effect on the claim's date, noted as used; NULL when
 * none is. */
const cs_claim_set_t *cs_claim_set_open(cs_claim_run_t *run, const char *name, int which);
/* The index of list in set for codes of system, or -1. list and system must be strings that
 * outlive the set's resolution (literals, plugin ids): they are remembered by pointer. */
int cs_claim_set_list(const cs_claim_set_t *set, const char *list, const char *system);
/* Fill an edit's source from a list of set (detail: the row's data to show, or NULL). */
cs_claim_edit_t *cs_claim_list_source(const cs_claim_set_t *set, const char *list,
                                      const char *detail, cs_claim_edit_t *e);

/* The NCCI edits (cs_claim_ncci.c): ncci_ptp and mue over the procedure lines. */
void cs_claim_ncci(cs_claim_run_t *run);

#ifdef __cplusplus
}
#endif
#endif /* CS_CLAIM_INT_H */
