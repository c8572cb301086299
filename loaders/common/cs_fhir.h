/* cs_fhir.h: what the FHIR XML loaders (fhir-codesystem, fhir-conceptmap) share on top of
 * cs_xml.h: the string arena their open resources keep values in, reading a primitive
 * element's value attribute into it, the check a code must pass, the table from FHIR system
 * URIs to codeset system ids, and sniffing a file for a FHIR resource.
 *
 * Not a plugin: compiled into those loaders (hidden) through their plugin.mk.
 */
#ifndef CS_FHIR_H
#define CS_FHIR_H

#include <stddef.h>

#include "cs_xml.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CS_FHIR_NS "http://hl7.org/fhir"
#define CS_FHIR_NONE ((size_t)-1) /* "no string" arena offset */

/* A growable byte buffer of NUL-terminated strings, addressed by offset. */
typedef struct cs_fhir_buf {
    char *p;    /* bytes (owned; free() it) */
    size_t len; /* used */
    size_t cap; /* allocated */
} cs_fhir_buf_t;

/* Append s[0..n) and a NUL; *at (if not NULL) gets its offset. CS_ENOMEM on failure. */
int cs_fhir_buf_add(cs_fhir_buf_t *b, const char *s, size_t n, size_t *at);

/* The string at offset at, or NULL for CS_FHIR_NONE (borrowed until the arena changes). */
static inline const char *cs_fhir_str(const cs_fhir_buf_t *b, size_t at)
{
    return at == CS_FHIR_NONE ? NULL : b->p + at;
}

/* The codeset system id of a FHIR system URI (a "|version" suffix ignored), or NULL. */
const char *cs_fhir_system_of(const char *uri);

/* The current element's value attribute into arena (*at), or CS_FHIR_NONE if it has none. */
int cs_fhir_value(cs_xml_t *x, cs_fhir_buf_t *arena, size_t *at);

/* A primitive element's value, required: fails naming the element <what> when it has none or
 * an empty one. */
int cs_fhir_need_value(cs_xml_t *x, cs_fhir_buf_t *arena, const char *what, size_t *at);

/* A code as a record or map row carries it: 1..CS_CODE_MAX-1 bytes, no control characters,
 * no blanks around it; what names it in the message. */
int cs_fhir_check_code(cs_xml_t *x, const char *code, const char *what);

/* Every one of files[0..n_files) has the FHIR namespace and root ("<CodeSystem") in its first
 * CS_XML_SNIFF_MAX bytes. */
int cs_fhir_sniff(const char *const *files, size_t n_files, const char *root);

#ifdef __cplusplus
}
#endif

#endif /* CS_FHIR_H */
