/* cs_catalog.h: the release catalog inside CS_DB_META.
 *
 * Keys:
 *   "N"                                -> u32 next release id
 *   "R" [id u32]                       -> the release record (msgpack map, see cs_release_t)
 *   "L" system 0x00 label              -> [id u32][effective_from u32][status u8]
 *   "A" system 0x00 [eff u32][id u32]  -> label   (active releases, in date order)
 * A release is invisible to queries until cs_catalog_publish writes its "L" and "A" keys, in
 * one small transaction: a reader sees either the old release or the new one, whole.
 * Thread-safety: the resolve functions run inside a reader's snapshot on any thread; the
 * write functions on the one writer thread.
 */
#ifndef CS_CATALOG_H
#define CS_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include "store/cs_entry.h"
#include "store/cs_store.h"

#ifdef __cplusplus
extern "C" {
#endif

enum cs_release_status {
    CS_REL_LOADING = 1,    /* being written; purged at start-up if found */
    CS_REL_ACTIVE = 2,     /* answers queries */
    CS_REL_RETIRED = 3,    /* answers only when pinned by label */
    CS_REL_SUPERSEDED = 4, /* replaced by a newer load of its label; purged */
};

#define CS_RELEASE_MAX_FILES 16
#define CS_RELEASE_MAX_MAPS 16

/* One crosswalk held by a map-set release (a GEMs direction, a ConceptMap group). */
typedef struct cs_release_map {
    char name[64];  /* "icd9cm-icd10cm" */
    char from[32];  /* source system id */
    char to[32];    /* target system id */
    uint64_t rows;  /* rows stored */
} cs_release_map_t;

typedef struct cs_release_file {
    char name[256];  /* base name of the file */
    char sha256[65]; /* hex digest, or "" if not computed */
    uint64_t bytes;  /* size */
} cs_release_file_t;

typedef struct cs_release {
    uint32_t id;             /* internal release id (key prefix) */
    char system[32];         /* "icd10cm" */
    char label[64];          /* "2021" */
    int effective_from;      /* yyyymmdd */
    int effective_to;        /* yyyymmdd of its last day in effect: the day before the next
                              * active release starts; 0 if none (filled by list) */
    int status;              /* enum cs_release_status */
    uint64_t codes;          /* entries of class code */
    uint64_t billable;       /* billable codes */
    int64_t loaded_at;       /* unix time of publication */
    char loader[64];         /* loader id */
    uint32_t n_files;
    cs_release_file_t files[CS_RELEASE_MAX_FILES];
    uint32_t n_maps;         /* > 0 for a map-set release (crosswalks, no codes) */
    cs_release_map_t maps[CS_RELEASE_MAX_MAPS];
    char checksum[65];       /* SHA-256 of its records at publish (cs_verify.h), hex; "" for a
                              * release published before checksums */
} cs_release_t;

/* A release chosen for a query. label points into the snapshot (borrowed). */
typedef struct cs_resolved {
    uint32_t id;
    int effective_from;
    cs_span_t label;
} cs_resolved_t;

/* Resolve inside reader's snapshot. CS_OK, or CS_ENOTFOUND (no active release of the
 * system / no release of that label / no release in effect on that date). */
int cs_catalog_newest(cs_reader_t *r, const char *system, size_t slen, cs_resolved_t *out);
int cs_catalog_by_label(cs_reader_t *r, const char *system, size_t slen, const char *label,
                        size_t llen, cs_resolved_t *out);
int cs_catalog_by_date(cs_reader_t *r, const char *system, size_t slen, int yyyymmdd,
                       cs_resolved_t *out);
/* What a query resolves most often, the newest release or the one in effect on a date,
 * remembered for one snapshot: a remembered answer costs a compare instead of two cursor
 * moves. One per reader (not shared between threads); zero it before first use. */
#define CS_CATALOG_MEMO_SLOTS 8
typedef struct cs_catalog_memo_slot {
    int used;
    char system[32];
    size_t slen;
    int date;      /* yyyymmdd, or 0 for the newest */
    int rc;        /* CS_OK or CS_ENOTFOUND */
    cs_resolved_t rel;
    char label[64]; /* rel.label points here */
} cs_catalog_memo_slot_t;
typedef struct cs_catalog_memo {
    uint64_t snapshot;  /* the snapshot the slots belong to */
    unsigned next;      /* the slot to replace next */
    cs_catalog_memo_slot_t slot[CS_CATALOG_MEMO_SLOTS];
} cs_catalog_memo_t;

/* cs_catalog_newest (date 0) or cs_catalog_by_date (date yyyymmdd) through the memo. The
 * label of *out lives in the memo: valid until CS_CATALOG_MEMO_SLOTS further calls on it. */
int cs_catalog_in_effect(cs_reader_t *r, cs_catalog_memo_t *memo, const char *system,
                         size_t slen, int date, cs_resolved_t *out);

/* Why no release of the system answers a query that pins none by label: date 0 asked for
 * the newest release, else date (yyyymmdd) for the one in effect then. Writes one sentence
 * into msg[0..cap) (name: the system's name for messages). CS_ENOTFOUND when the system has
 * no release at all ("no release of icd10cm is loaded"); else CS_OK, and when a retired
 * release is why, the sentence says so and how to pin it ("release" still reaches it). */
int cs_catalog_why_none(cs_reader_t *r, const char *system, size_t slen, const char *name,
                        int date, char *msg, size_t cap);

/* 1 if the system has any release (active or retired) at all, else 0. */
int cs_catalog_has_system(cs_reader_t *r, const char *system, size_t slen);
/* Read one release record by id inside a reader's snapshot. CS_OK or CS_ENOTFOUND. */
int cs_catalog_read(cs_reader_t *r, uint32_t id, cs_release_t *out);
/* yyyymmdd of the day before d (calendar-aware). */
int cs_catalog_day_before(int yyyymmdd);

/* Every release (optionally of one system; system NULL for all) that is active or retired,
 * sorted by system then effective date, with effective_to filled. *out is malloc'ed (caller
 * frees); *n its count. CS_OK or CS_ENOMEM. */
int cs_catalog_list(cs_reader_t *r, const char *system, size_t slen, cs_release_t **out,
                    size_t *n);

/* ---- writer side ---- */
/* Allocate an id, write the release as CS_REL_LOADING and commit. rel->id is set. */
int cs_catalog_begin_load(cs_writer_t *w, cs_release_t *rel, cs_error_t *err);
/* Mark rel active (with its counts and loaded_at), make it the one answering for its label
 * (the label's previous release becomes superseded) and commit. *replaced gets the id of
 * the superseded release, or 0. */
int cs_catalog_publish(cs_writer_t *w, cs_release_t *rel, uint32_t *replaced,
                       cs_error_t *err);
/* Delete every key of release id (codes, children, record, active/label keys that still
 * point at it), in bounded transactions. Commits as it goes. */
int cs_catalog_purge(cs_writer_t *w, uint32_t id, cs_error_t *err);
/* Purge every release left loading or superseded (after a crash). *n_purged may be NULL. */
int cs_catalog_purge_incomplete(cs_writer_t *w, size_t *n_purged, cs_error_t *err);
/* Stop the release (system, label) from answering newest and date queries; it still
 * answers when pinned by label. Commits. CS_OK, or CS_ENOTFOUND (err says which). Retiring a
 * retired release is CS_OK. */
int cs_catalog_retire(cs_writer_t *w, const char *system, const char *label, cs_error_t *err);
/* Delete the release (system, label): unpublished in one commit (no query sees it after),
 * then purged in bounded transactions. CS_OK or CS_ENOTFOUND. *n_codes gets its code count
 * (may be NULL). */
int cs_catalog_drop(cs_writer_t *w, const char *system, const char *label, uint64_t *n_codes,
                    cs_error_t *err);
/* The active release of system in effect on yyyymmdd, as the writer's transaction sees it
 * (for the load thread, which holds no reader): its id and label (64 bytes). CS_OK or
 * CS_ENOTFOUND. */
int cs_catalog_in_effect_w(cs_writer_t *w, const char *system, int yyyymmdd, uint32_t *id,
                           char label[64]);
/* Read one release record by id, in the writer's transaction. */
int cs_catalog_get(cs_writer_t *w, uint32_t id, cs_release_t *out);

#ifdef __cplusplus
}
#endif
#endif /* CS_CATALOG_H */
