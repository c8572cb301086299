/* cs_fhir.h: what the FHIR XML loaders (fhir-codesystem, fhir-conceptmap) share on top of
 * cs_xml.h: the string arena their open resources keep values in, reading a primitive
 * element's value attribute into it, the check a code must pass, the table from FHIR system
 * URIs to codeset system ids, sniffing a file for a FHIR resource, and the element walk that
 * streams a resource's elements to the loader's start and end handlers.
 *
 * Not a plugin: compiled into those loaders (hidden) through their plugin.mk.
 */
#ifndef CS_FHIR_H
#define CS_FHIR_H

#include <stddef.h>
#include <stdint.h>

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

#define CS_FHIR_DEPTH_MAX 64 /* deepest element the walk accepts */
#define CS_FHIR_SKIP 0       /* the role of an element whose subtree the walk skips */
#define CS_FHIR_ROOT (-1)    /* the parent role the root element's start handler gets */

/* A loader's handlers for cs_fhir_walk; ctx is the loader's state. */
typedef struct cs_fhir_walk_ops {
    /* A start tag in the FHIR namespace whose parent's role (CS_FHIR_ROOT for the root) is not
     * CS_FHIR_SKIP: set *role (CS_FHIR_SKIP when it is left at that) and return a status. */
    int (*start)(void *ctx, int parent, const char *name, uint8_t *role);
    /* The end of an element of that role (at once for an empty element). */
    int (*end)(void *ctx, int role);
} cs_fhir_walk_ops_t;

/* Stream x's open document through ops: the root must be in the FHIR namespace, elements
 * outside it (narrative XHTML) are skipped with their subtrees, nesting deeper than
 * CS_FHIR_DEPTH_MAX fails, as does a document that ends inside an element. Reports progress
 * and checks for cancellation (cs_xml_tick) at every node. */
int cs_fhir_walk(cs_xml_t *x, const cs_fhir_walk_ops_t *ops, void *ctx);

/* Every one of files[0..n_files) has the FHIR namespace and root ("<CodeSystem") in its first
 * CS_XML_SNIFF_MAX bytes. */
int cs_fhir_sniff(const char *const *files, size_t n_files, const char *root);

#ifdef __cplusplus
}
#endif

#endif /* CS_FHIR_H */
