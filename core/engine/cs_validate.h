/* cs_validate.h: one code checked as the validate op checks it (docs/PROTOCOL.md, validate):
 * valid with its title; malformed; unknown; not_billable with the billable codes under the
 * header (hint); not_effective with the other releases that hold it (valid_in) and what a
 * conversion table gives for it (replaced_by).
 *
 * The validate op (cs_query.c) and a claim's lines (cs_claim.c) both answer through it, so a
 * claim line says exactly what validate says of the same code on the same date.
 *
 * Thread-safety: a validator belongs to one thread, with its reader.
 */
#ifndef CS_VALIDATE_H
#define CS_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "engine/cs_out.h"
#include "engine/cs_request.h"
#include "load/cs_plugin_host.h"
#include "store/cs_catalog.h"
#include "store/cs_codeidx.h"
#include "store/cs_store.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CS_HINT_MAX 20        /* billable codes listed under a header */
#define CS_VALID_IN_MAX 32    /* releases named in valid_in */
#define CS_REPLACED_MAX 20    /* codes named in replaced_by */

/* What validation reads: one release of one system, on a date or without one. */
typedef struct cs_validator {
    cs_reader_t *reader;          /* inside a snapshot for the validator's life; borrowed */
    cs_codeidx_holder_t *index;   /* the thread's code indexes; borrowed */
    const cs_plugin_desc_t *sys;  /* the system's plugin */
    cs_resolved_t rel;            /* the answering release (its label borrowed) */
    int has_date;                 /* a date of service was given */
    int date;                     /* yyyymmdd, when has_date */
    int listed;                   /* the catalog below is read (on first need) */
    cs_release_t *all;            /* every release, of every system and map set (owned) */
    size_t n_all;
} cs_validator_t;

/* The billable codes under a header (internal to cs_validate.c; in the header for its size). */
typedef struct cs_validate_hint {
    uint32_t n;                     /* billable codes collected */
    cs_span_t codes[CS_HINT_MAX];   /* display forms, borrowed from the snapshot */
    char last[CS_CODE_MAX];         /* display form of the last billable one */
    int seventh;                    /* 1 if they differ from the header by a 7th char */
} cs_validate_hint_t;

/* Where one result's texts and lists live: the caller's (its stack), reused code by code. */
typedef struct cs_validate_buf {
    cs_code_t code;                        /* the normalised code (unless malformed) */
    int in_release;                        /* 1: the answering release holds it (valid,
                                            * not_billable, or outside its own dates) */
    char message[320];
    const char *labels[CS_VALID_IN_MAX];   /* valid_in: borrowed from the validator */
    cs_span_t replaced_by[CS_REPLACED_MAX];
    cs_validate_hint_t hint_;
    cs_error_t nerr_;
} cs_validate_buf_t;

/* A validator of release rel of system sys (both borrowed), on date (yyyymmdd) when has_date.
 * Nothing is allocated until a code is missing from rel (the catalog is read then, once). */
void cs_validator_init(cs_validator_t *vx, cs_reader_t *reader, cs_codeidx_holder_t *index,
                       const cs_plugin_desc_t *sys, const cs_resolved_t *rel, int has_date,
                       int date);
/* Free what the validator read; it may be initialised again. */
void cs_validator_fini(cs_validator_t *vx);

/* Validate input (as sent; pre: its normalised form when the caller has it, else NULL) into
 * *v. v's spans and strings point into buf, the validator and the snapshot: valid until buf
 * is used again, cs_validator_fini, or the snapshot ends. Never fails: a failed read of the
 * catalog leaves valid_in and replaced_by empty, as validate has always answered. */
void cs_validate_code(cs_validator_t *vx, cs_str_t input, const cs_code_t *pre,
                      cs_validate_buf_t *buf, cs_validation_t *v);

#ifdef __cplusplus
}
#endif
#endif /* CS_VALIDATE_H */
