/* fhir_res.h: building the FHIR resources every operation answers with: Parameters (with
 * their parts), OperationOutcome and its issues, and the errors that become a 4xx.
 *
 * Ownership: every function returning json_t * returns a new reference the caller owns;
 * "put" functions take (steal) the value they are given, and ignore a NULL one, so a failed
 * allocation drops one element instead of crashing. Strings given are copied; text that is
 * not UTF-8 (it never should be) is repaired to '?', never dropped. Thread-safe.
 */
#ifndef FHIR_RES_H
#define FHIR_RES_H

#include <jansson.h>

#include "engine/cs_request.h"

#define FHIR_TX_ISSUE_SYSTEM "http://hl7.org/fhir/tools/CodeSystem/tx-issue-type"
#define FHIR_REASON_SYSTEM "urn:codeset:reason" /* our validate reasons, in issue details */

/* An error answered as an OperationOutcome with an HTTP status. */
typedef struct fhir_err {
    int status;       /* HTTP status: 400, 404, 405, 422, 429, 503 */
    const char *code; /* OperationOutcome issue.code (R4 IssueType): "invalid", "not-found"... */
    const char *tx;   /* a tx-issue-type code for issue.details, or NULL */
    char msg[512];    /* diagnostics: one sentence saying where and why */
} fhir_err_t;

/* Fill e; returns -1, so a function can `return fhir_fail(...)`. */
int fhir_fail(fhir_err_t *e, int status, const char *code, const char *tx, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Fill e from an error reply of an op (cs_proto_err_t and its message); returns -1.
 * bad_request 400 invalid; unknown_system, unknown_release, no_release_for_date 404
 * not-found; too_many 400 too-costly; busy 429 throttled; corrupt_release 503 exception;
 * anything else 500 exception (never what a client sent). */
int fhir_fail_proto(fhir_err_t *e, cs_proto_err_t pe, const char *message);

/* A JSON string of s (NULL: ""), repaired to UTF-8 if it is not. */
json_t *fhir_str(const char *s);
json_t *fhir_strn(const char *s, size_t n);

/* One OperationOutcome issue: severity ("error", "warning", "information"), code (IssueType),
 * details with a tx-issue-type coding (tx may be NULL), our reason coding (reason may be
 * NULL) and text, and location/expression expr (may be NULL); no diagnostics (the text is in
 * details, as tx.fhir.org writes a $validate-code issue). */
json_t *fhir_issue(const char *severity, const char *code, const char *tx, const char *reason,
                   const char *text, const char *expr);
/* An OperationOutcome holding issues (an array, stolen; NULL: none). */
json_t *fhir_outcome_of(json_t *issues);
/* The OperationOutcome of an error: one error issue, its text in details and diagnostics. */
json_t *fhir_outcome(const fhir_err_t *e);

/* {"resourceType":"Parameters","parameter":[]} */
json_t *fhir_parameters_new(void);
/* Add {"name": name, vkey: val} to holder's "parameter" (a Parameters) or "part" (a part)
 * array. val is stolen; NULL adds nothing. */
void fhir_put(json_t *holder, const char *name, const char *vkey, json_t *val);
void fhir_put_str(json_t *holder, const char *name, const char *vkey, const char *s);
/* Add {"name": name, "part": []} to holder and return it (borrowed), or NULL. */
json_t *fhir_put_part(json_t *holder, const char *name);
/* The parameter named name of a Parameters resource (borrowed; NULL when absent). */
json_t *fhir_get_param(const json_t *params, const char *name);

/* Now, as a FHIR instant ("2026-12-03T12:00:00Z"), into out. */
void fhir_now(char out[32]);

#endif /* FHIR_RES_H */
