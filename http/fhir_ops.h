/* fhir_ops.h: the FHIR terminology operations (docs/FHIR.md), each in its own file:
 *   fhir_lookup.c     CodeSystem/$lookup            (our lookup)
 *   fhir_validate.c   CodeSystem|ValueSet/$validate-code (our validate, lookup for display)
 *   fhir_expand.c     ValueSet/$expand               (our search)
 *   fhir_translate.c  ConceptMap/$translate          (our crosswalk)
 *   fhir_subsumes.c   CodeSystem/$subsumes           (our lookup's ancestors)
 *   fhir_metadata.c   metadata, metadata?mode=terminology, CodeSystem?url= (our releases)
 *
 * An operation reads its parameters (fhir_args.h), runs our ops (fhir_call.h) and turns their
 * replies into a resource: 0 with *out a new reference, or -1 with e (a 4xx, an
 * OperationOutcome). The turning is a pure function of the replies, declared here too so the
 * tests check it on replies they write themselves. Thread-safe given one ctx per thread.
 */
#ifndef FHIR_OPS_H
#define FHIR_OPS_H

#include <jansson.h>

#include "fhir.h"
#include "fhir_args.h"
#include "fhir_res.h"
#include "hs_json_dump.h"

#define FHIR_EXPAND_DEFAULT 100  /* codes in an expansion page when count is not given */

int fhir_op_lookup(const fhir_request_t *r, const fhir_args_t *a, json_t **out, fhir_err_t *e);
/* value_set: 1 for ValueSet/$validate-code, 0 for CodeSystem/$validate-code. Its answer is
 * printed onto out as text (nothing is written when it fails), not returned as a tree: a
 * batch answers it by the thousand. */
int fhir_op_validate(const fhir_request_t *r, const fhir_args_t *a, int value_set,
                     hs_jbuf_t *out, fhir_err_t *e);
int fhir_op_expand(const fhir_request_t *r, const fhir_args_t *a, json_t **out, fhir_err_t *e);
int fhir_op_translate(const fhir_request_t *r, const fhir_args_t *a, json_t **out,
                      fhir_err_t *e);
int fhir_op_subsumes(const fhir_request_t *r, const fhir_args_t *a, json_t **out,
                     fhir_err_t *e);
/* GET metadata: the CapabilityStatement (no op runs). */
json_t *fhir_capabilities(const fhir_config_t *c);
/* GET metadata?mode=terminology. */
int fhir_op_terminology(const fhir_request_t *r, json_t **out, fhir_err_t *e);
/* GET CodeSystem (search by url, version). */
int fhir_op_codesystems(const fhir_request_t *r, const fhir_args_t *a, json_t **out,
                        fhir_err_t *e);

/* GET CodeSystem/{id}: one release as a CodeSystem ({system}-{label}). */
int fhir_op_codesystem_read(const fhir_request_t *r, const char *id, json_t **out,
                            fhir_err_t *e);

/* ---- the pure transforms ---- */

/* A lookup reply (found) as $lookup's Parameters. props: the "property" codes asked for (n 0:
 * all). */
json_t *fhir_lookup_parameters(const fhir_config_t *c, const json_t *reply,
                               const char *const *props, size_t n_props);

/* One validate result as a verdict reads it; NULL where the result has no such str. */
typedef struct fhir_vres {
    int valid;           /* "valid" is true */
    const char *reason;  /* "reason" */
    const char *code;    /* "code", else "input" */
    const char *title;   /* "title" */
    const char *message; /* "message" */
} fhir_vres_t;

/* What $validate-code knows of one coding. Strings are borrowed; the result's, release and
 * the titles are UTF-8 (a reply's strs are), the others are checked as printed. */
typedef struct fhir_vc_in {
    const char *uri;         /* the system URI */
    fhir_vres_t result;      /* its validate result */
    const char *release;     /* the reply's release label (NULL: none) */
    const char *title;       /* the code's title from a lookup, where the result has none */
    const char *short_title; /* and its short title, for display checking (may be NULL) */
    const char *display;     /* the display the client gave, or NULL */
    const char *where;       /* expression prefix: "", "Coding.", "CodeableConcept.coding[0]." */
    const char *value_set;   /* the value set's url for ValueSet/$validate-code, else NULL */
    int abstract_ok;         /* "abstract" true: a header (not billable) is acceptable here */
} fhir_vc_in_t;

/* One coding's verdict (internal; fhir_vc_write prints the resource). Its strings are its
 * input's: they must outlive it. */
typedef struct fhir_verdict {
    fhir_vc_in_t in;
    int result;        /* valid, or a header where abstract is allowed */
    const char *code;  /* the code as answered ("" when none) */
    const char *title; /* the display answered, or NULL */
    unsigned issues;   /* which issues it raises (fhir_verdict.c) */
} fhir_verdict_t;

void fhir_vc_verdict(const fhir_vc_in_t *in, fhir_verdict_t *out);
/* The Parameters of $validate-code over n verdicts, as JSON text onto b: result true when
 * any is; code, system, version and display from the first true one (else the first);
 * message and issues from all (from the true one alone when one is). */
void fhir_vc_write(hs_jbuf_t *b, const fhir_verdict_t *v, size_t n);

/* A search reply as an expansion of uri?fhir_vs. */
typedef struct fhir_expand_in {
    const char *uri;     /* the system URI */
    const char *filter;  /* the filter given, or NULL */
    int64_t offset;      /* the offset asked */
    int64_t count;       /* the count asked (0: total only) */
} fhir_expand_in_t;
json_t *fhir_expand_valueset(const fhir_expand_in_t *in, const json_t *reply);

/* A crosswalk reply as $translate's Parameters; target_uri the URI of the codes it gives. */
json_t *fhir_translate_parameters(const fhir_config_t *c, const json_t *reply,
                                  const char *target_uri);
/* The R4 equivalence of one crosswalk target or source ({"code", "approximate", "no_map",
 * "relationship"...}): no_map unmatched; a GEM row inexact when approximate, else
 * equivalent; a ConceptMap's relationship as R4 spells it (R5 names mapped back); a row with
 * none of these (a conversion table's) equivalent. */
const char *fhir_equivalence(const json_t *row);

/* A releases reply as TerminologyCapabilities. */
json_t *fhir_terminology_caps(const fhir_config_t *c, const json_t *releases);
/* A releases reply as a searchset Bundle of CodeSystem resources (content not-present),
 * those of system (NULL: all) and version (NULL: all). */
json_t *fhir_codesystem_bundle(const fhir_config_t *c, const json_t *releases,
                               const char *system, const char *version);

#endif /* FHIR_OPS_H */
