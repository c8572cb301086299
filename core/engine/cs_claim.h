/* cs_claim.h: claim scrubbing: the edits a biller runs over a whole claim before it goes out
 * (docs/PROTOCOL.md, op "claim"), as a typed C API over one store snapshot.
 *
 * A claim is a date of service, a setting, a few patient facts, diagnoses (the first is the
 * principal or first-listed one) with their present-on-admission indicators, and procedures
 * of any procedure system. cs_claim_check validates every line against the release of its
 * system in effect on the date, then applies the edits whose source is loaded:
 *   invalid_code, duplicate_code                     the releases themselves
 *   excludes1, manifestation_principal, code_first   the ICD-10-CM tabular's notes and titles
 *   age, sex, unacceptable_principal, questionable_admission, noncovered_procedure,
 *   limited_coverage, manifestation_principal        an "mce" edit set (mce-lists loader)
 *   poa                                              a "poa-exempt" edit set
 * Edit sets are map-set releases (cs_maps.h): each list is a map of no-map rows, one per
 * code, and a row's relationship field carries its data (an age list's range "12-55"). They
 * are picked by the date of service like any release. An edit whose fact or set is missing
 * is listed in skipped with why; it is never silently left out.
 *
 * Lines: diagnoses are lines 0 .. n_dx-1, procedures n_dx .. n_dx+n_px-1, and the result's
 * lines[] follows that order; an edit's lines index it.
 *
 * Memory: a result owns its arrays (cs_claim_result_fini frees them) and can be reused for
 * claim after claim (cs_claim_check resets it first). Texts in a result are copied: they
 * outlive the snapshot. The claim's strings are borrowed for the call only.
 * A result also keeps what its claims read (the tabular's entries and notes, edit-set rows
 * and the sets in effect), so a result reused for claim after claim reads each once: in one
 * snapshot (a batch), and across snapshots of the same reader while no release or edit set
 * is published (the engine keeps one result a thread, request after request). What is kept
 * is dropped when the reader, its snapshot or the place of its map changes, and is bounded
 * (about 23 MB at most; cs_claim_result_bytes): it never changes an answer.
 * Thread-safety: one env (a reader, its snapshot begun) per thread; a result is used with one
 * thread's reader at a time.
 */
#ifndef CS_CLAIM_H
#define CS_CLAIM_H

#include <stddef.h>
#include <stdint.h>

#include "engine/cs_out.h"
#include "engine/cs_request.h"
#include "engine/cs_validate.h"
#include "load/cs_plugin_host.h"
#include "store/cs_catalog.h"
#include "store/cs_codeidx.h"
#include "store/cs_store.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CS_CLAIM_MAX_DX 100       /* diagnoses a claim may hold */
#define CS_CLAIM_MAX_PX 100       /* procedures a claim may hold */
#define CS_CLAIM_MAX_MODIFIERS 4  /* modifiers of one procedure line */
#define CS_CLAIM_MAX_BATCH 10000  /* claims in one "claims" request */

typedef enum cs_claim_setting {
    CS_SETTING_NONE = 0, /* not given */
    CS_SETTING_INPATIENT,
    CS_SETTING_OUTPATIENT,
    CS_SETTING_PROFESSIONAL,
} cs_claim_setting_t;

typedef enum cs_claim_sex {
    CS_SEX_NONE = 0, /* not given */
    CS_SEX_FEMALE,
    CS_SEX_MALE,
    CS_SEX_UNKNOWN,  /* "U": given as unknown; sex edits are skipped */
} cs_claim_sex_t;

typedef struct cs_claim_dx {
    cs_str_t code;
    cs_str_t poa;  /* the indicator as sent; len 0 for blank or absent */
} cs_claim_dx_t;

typedef struct cs_claim_px {
    cs_str_t system; /* "icd10pcs", "hcpcs", "cpt" */
    cs_str_t code;
    cs_str_t modifiers[CS_CLAIM_MAX_MODIFIERS];
    uint32_t n_modifiers;
    int64_t units;   /* 1 when not given */
} cs_claim_px_t;

typedef struct cs_claim {
    int date;                   /* yyyymmdd of service (required) */
    cs_claim_setting_t setting;
    int has_age;                /* 1 when age (years) or age_days was given */
    int age;                    /* whole years (age_days / 365 when only days were given) */
    int has_age_days;
    int age_days;
    cs_claim_sex_t sex;
    const cs_claim_dx_t *dx;
    uint32_t n_dx;
    const cs_claim_px_t *px;
    uint32_t n_px;
} cs_claim_t;

/* Why a line is not valid and billable: validate's reasons (docs/PROTOCOL.md). */
typedef enum cs_claim_reason {
    CS_CLAIM_VALID = 0,
    CS_CLAIM_MALFORMED,
    CS_CLAIM_UNKNOWN,
    CS_CLAIM_NOT_BILLABLE,
    CS_CLAIM_NOT_EFFECTIVE,
    CS_CLAIM_UNCHECKED, /* no release of its system on the date: not checked (skipped) */
} cs_claim_reason_t;

/* The wire name of a reason ("valid", "malformed", ..., "unchecked"). */
const char *cs_claim_reason_name(cs_claim_reason_t r);

typedef enum cs_claim_severity {
    CS_SEV_WARNING = 0,
    CS_SEV_ERROR = 1,
} cs_claim_severity_t;

#define CS_CLAIM_TEXT 512 /* messages and quoted notes, cut at a UTF-8 boundary */

/* One line's validation, shaped like a validate result: what cs_validate_code answers for
 * the code on the date of service (engine/cs_validate.h), copied. */
typedef struct cs_claim_line {
    cs_claim_reason_t reason;
    char system[32];
    char input[CS_CODE_MAX * 2]; /* as sent (cut) */
    char code[CS_CODE_MAX];      /* canonical display form; "" when malformed */
    char kind[32];               /* not_billable: the entry's kind */
    char title[256];             /* valid: the code's title */
    char message[CS_CLAIM_TEXT]; /* why, when not valid */
    uint32_t detail;             /* not_billable, not_effective: its lists are
                                  * res->details[detail - 1]; 0: none (empty lists) */
} cs_claim_line_t;

#define CS_CLAIM_LABEL 64

/* A not_billable or not_effective line's lists, as validate gives them: kept apart from the
 * line, so a claim of valid codes carries none of their room. */
typedef struct cs_claim_detail {
    uint32_t n_hint, n_valid_in, n_replaced_by;
    char hint[CS_HINT_MAX][CS_CODE_MAX];              /* billable codes under a header */
    char valid_in[CS_VALID_IN_MAX][CS_CLAIM_LABEL];   /* other releases that hold the code */
    char replaced_by[CS_REPLACED_MAX][CS_CODE_MAX];   /* what a conversion table gives */
} cs_claim_detail_t;

/* Where an edit comes from. */
typedef struct cs_claim_source {
    char set[32];       /* a system ("icd10cm") or an edit set ("mce", "poa-exempt") */
    char release[64];   /* its label */
    char what[16];      /* "note", "title", "list", "release" */
    char name[64];      /* the note type ("excludes1") or the list ("age-maternity") */
    char on[CS_CODE_MAX]; /* a note's entry ("E10"); "" otherwise */
    char text[CS_CLAIM_TEXT]; /* the note's text, the title; "" otherwise */
    int derived;        /* 1: the set is a third party's derivation, not an official file */
} cs_claim_source_t;

#define CS_CLAIM_EDIT_LINES 2

typedef struct cs_claim_edit {
    const char *edit;            /* stable name ("excludes1"), static */
    cs_claim_severity_t severity;
    uint32_t n_lines;
    uint32_t lines[CS_CLAIM_EDIT_LINES];
    char codes[CS_CLAIM_EDIT_LINES][CS_CODE_MAX]; /* the lines' codes, canonical */
    char message[CS_CLAIM_TEXT];
    cs_claim_source_t source;
} cs_claim_edit_t;

typedef struct cs_claim_skip {
    const char *edit;            /* static */
    char why[256];
} cs_claim_skip_t;

/* A release a claim used. */
typedef struct cs_claim_used {
    char set[32];
    char label[64];
} cs_claim_used_t;

#define CS_CLAIM_MAX_USED 8

typedef struct cs_claim_result {
    cs_proto_err_t err;          /* CS_PERR_NONE, or why the claim could not be checked */
    char err_msg[256];
    cs_claim_line_t *lines;      /* n_dx + n_px */
    uint32_t n_lines;
    cs_claim_detail_t *details;  /* the lines' lists (cs_claim_line_t.detail) */
    uint32_t n_details, cap_details;
    cs_claim_edit_t *edits;
    uint32_t n_edits, cap_edits;
    cs_claim_skip_t *skipped;
    uint32_t n_skipped, cap_skipped;
    cs_claim_used_t used[CS_CLAIM_MAX_USED];
    uint32_t n_used;
    int clean;                   /* 1 when no edit has severity error */
    void *run_;                  /* the run's state, kept between claims (internal) */
    uint32_t cap_lines_;
} cs_claim_result_t;

/* What a check reads. reader must be inside a snapshot (cs_reader_begin) for the whole
 * call; index and memo may be NULL (LMDB alone; no memo). All borrowed. */
typedef struct cs_claim_env {
    cs_reader_t *reader;
    const cs_plugin_host_t *plugins;
    cs_codeidx_holder_t *index;
    cs_catalog_memo_t *memo;
} cs_claim_env_t;

void cs_claim_result_init(cs_claim_result_t *res);
void cs_claim_result_fini(cs_claim_result_t *res);
/* A result kept between requests, after its reply is written: give back the edits array a
 * claim with thousands of edits grew (its lines and edits are then gone). */
void cs_claim_result_trim(cs_claim_result_t *res);
/* The bytes a result holds, with what it keeps. */
size_t cs_claim_result_bytes(const cs_claim_result_t *res);

/* Check one claim. Returns res->err: CS_PERR_NONE with lines, edits and skipped filled, or
 * CS_PERR_BAD_REQUEST / _TOO_MANY / _UNKNOWN_SYSTEM / _NO_RELEASE_FOR_DATE (no ICD-10-CM
 * release in effect on the date) / _INTERNAL (out of memory, a corrupt page) with err_msg.
 * Never fails on a code: a bad code is a line result and an invalid_code edit. */
cs_proto_err_t cs_claim_check(const cs_claim_env_t *env, const cs_claim_t *claim,
                              cs_claim_result_t *res);

/* The wire name of a severity. */
const char *cs_claim_severity_name(cs_claim_severity_t s);

/* Write a result as the body of a claim reply (docs/PROTOCOL.md), after cs_reply_begin with
 * CS_CLAIM_REPLY_KEYS keys: clean, releases, lines, edits, skipped. */
#define CS_CLAIM_REPLY_KEYS 5
void cs_claim_write(cs_out_t *out, const cs_claim_result_t *res);

#ifdef __cplusplus
}
#endif
#endif /* CS_CLAIM_H */
