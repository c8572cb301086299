/* fhir_args.h: an operation's input parameters, from a GET query or a POST Parameters
 * resource, read into one shape and checked before anything trusts them.
 *
 * A GET query arrives as {name: [str, ...]}; a POST body as a Parameters resource whose
 * parameters carry one value[x] (valueString, valueCode, valueUri, valueBoolean,
 * valueInteger, valueCoding, valueCodeableConcept, ...) or a resource. Both become
 * name -> list of (kind, value). The getters then check what each operation expects: one
 * value (a repeated single parameter is refused, not guessed), of the right kind and JSON
 * type, a string at most CS_PROTO_MAX_STR bytes with no NUL, an integer in range, a real
 * date. Unknown parameters are ignored, as FHIR servers do.
 *
 * Errors: every function that can fail fills a fhir_err_t (400, code "invalid" or
 * "required", the parameter's name and why) and returns -1. Getters return 1 (present),
 * 0 (absent) or -1. Ownership: fhir_args_t owns its table (fhir_args_free; zero it before
 * reading, or let a from_ function do so); strings and codings handed out are borrowed from
 * the request's JSON (or the table) and live as long as both. The table is a flat array
 * searched in order: a request holds a few parameters, and at most FHIR_ARGS_MAX.
 */
#ifndef FHIR_ARGS_H
#define FHIR_ARGS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "fhir_res.h"

#define FHIR_ARGS_MAX 1024 /* parameter values in one request */
#define FHIR_CC_MAX 16    /* codings of a CodeableConcept that are read */

/* One value given: its parameter's name, its kind, the value[x] key it came under. */
typedef struct fhir_arg {
    const char *name; /* borrowed from the request */
    const char *kind; /* "q" (query text), "s", "b", "i", "coding", "cc", "res", "part",
                       * "other" (a value[x] of a type no getter takes), "none" */
    const char *key;  /* "valueCode"..., "query" */
    json_t *v;        /* borrowed from the request */
} fhir_arg_t;

typedef struct fhir_args {
    fhir_arg_t *items; /* in the order given */
    size_t n, cap;
    json_t *keep;      /* what getters made and lend out (a coding's halves), or NULL */
    int from_query;    /* 1: GET (every value a str, parsed as the getter needs) */
} fhir_args_t;

/* A Coding, its members borrowed (NULL when absent). */
typedef struct fhir_coding {
    const char *system;  /* the code system's URI */
    const char *version; /* a release label */
    const char *code;    /* the code as given */
    const char *display; /* the display the client holds */
} fhir_coding_t;

/* Read a GET query object ({name: [str...]}; NULL is an empty query). */
int fhir_args_from_query(fhir_args_t *a, json_t *query, fhir_err_t *e);
/* Read a POST body: a Parameters resource. */
int fhir_args_from_body(fhir_args_t *a, json_t *body, fhir_err_t *e);
void fhir_args_free(fhir_args_t *a);

/* Whether name was given at all. */
int fhir_arg_has(const fhir_args_t *a, const char *name);
/* One string (any value[x] of a string type). */
int fhir_arg_str(const fhir_args_t *a, const char *name, const char **out, fhir_err_t *e);
/* Every value of name, each text, into out (at most cap; more is an error); *n their count. */
int fhir_arg_strs(const fhir_args_t *a, const char *name, const char **out, size_t cap,
                  size_t *n, fhir_err_t *e);
/* One boolean ("true"/"false" in a query; valueBoolean). */
int fhir_arg_bool(const fhir_args_t *a, const char *name, int *out, fhir_err_t *e);
/* One integer in [lo, hi] (decimal digits in a query; valueInteger and kin). */
int fhir_arg_int(const fhir_args_t *a, const char *name, int64_t lo, int64_t hi, int64_t *out,
                 fhir_err_t *e);
/* One date of service: YYYY-MM-DD, or a dateTime that starts with one ("2021-03-01T10:00:00Z");
 * out is its date, the text YYYY-MM-DD (11 bytes). */
int fhir_arg_date(const fhir_args_t *a, const char *name, char out[11], fhir_err_t *e);
/* One Coding: valueCoding, or "system|code" in a query. */
int fhir_arg_coding(const fhir_args_t *a, const char *name, fhir_coding_t *out,
                    fhir_err_t *e);
/* One CodeableConcept (POST only): its codings, at most FHIR_CC_MAX, into out; *n their count
 * (a CodeableConcept without codings is refused). */
int fhir_arg_cc(const fhir_args_t *a, const char *name, fhir_coding_t *out, size_t *n,
                fhir_err_t *e);
/* Check a Coding's members read from JSON (strings, bounded); used by the two above. */
int fhir_coding_read(const json_t *obj, const char *what, fhir_coding_t *out, fhir_err_t *e);

#endif /* FHIR_ARGS_H */
