/* fhir_system.h: the FHIR system URIs of the code systems, both ways.
 *
 * Built in (issue 16): icd10cm http://hl7.org/fhir/sid/icd-10-cm, icd10pcs
 * http://www.cms.gov/Medicare/Coding/ICD10, hcpcs
 * http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets (https:// accepted too), cpt
 * http://www.ama-assn.org/go/cpt, icd9cm http://hl7.org/fhir/sid/icd-9-cm. A configured pair
 * (fhir_config_t extra_names/extra_uris) comes first, so configuration may also rename a
 * built-in one. Any other system id NAME is reachable as urn:codeset:NAME, so a plugin's
 * system is never out of reach. Pure functions over their arguments: thread-safe.
 */
#ifndef FHIR_SYSTEM_H
#define FHIR_SYSTEM_H

#include <stddef.h>

#include "fhir.h"
#include "fhir_args.h"

#define FHIR_URN_PREFIX "urn:codeset:"
#define FHIR_SYSTEM_NAME_MAX 64
#define FHIR_VS_SUFFIX "?fhir_vs" /* the implicit value set of a whole system: {uri}?fhir_vs */

/* The system id ("icd10cm") a URI names, written into name (cap bytes); 1 when the URI is
 * one of ours, 0 otherwise (name then ""). The urn:codeset: form gives back its id whatever
 * it is (the engine decides whether it exists). */
int fhir_system_name(const fhir_config_t *c, const char *uri, char *name, size_t cap);

/* The URI of a system id: configured, built in, or urn:codeset:NAME, written into buf.
 * Returns buf. */
const char *fhir_system_uri(const fhir_config_t *c, const char *name, char *buf, size_t cap);

/* A person's name for the system ("ICD-10-CM"), or the id itself. Never NULL. */
const char *fhir_system_title(const char *name);

/* The system a parameter names (a URI), checked: 1 with the id in name (and *uri the URI as
 * given), 0 when the parameter is absent, -1 (404 not-found) when no system has that URI or
 * -1 (400) when it is not one text. */
int fhir_arg_system(const fhir_config_t *c, const fhir_args_t *a, const char *param,
                    char name[FHIR_SYSTEM_NAME_MAX], const char **uri, fhir_err_t *e);
/* The same for a URI in hand; what says where it came from, for the message. */
int fhir_system_of(const fhir_config_t *c, const char *uri, const char *what,
                   char name[FHIR_SYSTEM_NAME_MAX], fhir_err_t *e);

/* The system of an implicit value set url, {uri}?fhir_vs (the only value sets served here):
 * 1 with its id in name; -1 (404 not-found) for any other url or an unknown system. */
int fhir_vs_system(const fhir_config_t *c, const char *url, char name[FHIR_SYSTEM_NAME_MAX],
                   fhir_err_t *e);

#endif /* FHIR_SYSTEM_H */
