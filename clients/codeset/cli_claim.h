/* cli_claim.h: `codeset claim FILE`: a claim (a JSON object) or a batch of claims (a JSON
 * array of them, or a FILE.csv of one claim a line: a header row naming the columns date,
 * setting, age, sex, dx1..., poa1... (the POA of the dx before it), icd10pcs..., hcpcs...,
 * cpt...) read from a file, sent as the claim or claims op (docs/PROTOCOL.md), and the edits
 * printed as a table per claim.
 *
 * The JSON is read with jansson (duplicate keys refused) and packed as msgpack as it is: an
 * "op" key in a claim is dropped. Thread-safety: no state.
 */
#ifndef CS_CLI_CLAIM_H
#define CS_CLI_CLAIM_H

#include <stddef.h>

#include <msgpack.h>

#include "cli_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Pack the request for the claims in path into pk: {"op":"claim", ...} for a JSON object,
 * {"op":"claims","claims":[...]} for a JSON array or a CSV (path ending .csv). 0, or -1 with
 * why (file, line and column where known) in err. */
int cs_cli_claim_pack(msgpack_packer *pk, const char *path, char *err, size_t cap);

/* Print a claim or claims reply: per claim its releases, then its edits and skipped edits as
 * tables. Returns how many claims are not clean (an edit of severity error, or an error). */
size_t cs_cli_claim_render(const cs_cli_t *cli, const msgpack_object *root);

/* The same count without printing (for --json). */
size_t cs_cli_claim_unclean(const msgpack_object *root);

#ifdef __cplusplus
}
#endif
#endif /* CS_CLI_CLAIM_H */
