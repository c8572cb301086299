/* csc_decode.h: internal to libcsclient: result arenas, reply checking and decoding of protocol
 * replies into the typed results of codeset_client.h. */
#ifndef CS_CSC_DECODE_H
#define CS_CSC_DECODE_H

#include <stddef.h>

#include <msgpack.h>

#include "codeset_client.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An arena holds one result and every string and array it points to, so a result is freed in
 * one step. Allocation failure is sticky: cs_client_arena_failed() tells afterwards. */
cs_client_arena_t *cs_client_arena_new(void);
/* size zeroed bytes aligned for any type, or NULL (and the arena marked failed). */
void *cs_client_arena_alloc(cs_client_arena_t *a, size_t size);
int cs_client_arena_failed(const cs_client_arena_t *a);
void cs_client_arena_destroy(cs_client_arena_t **a);

/* 0 if buf holds exactly one msgpack object whose declared container sizes fit in the bytes
 * present (so unpacking it allocates at most in proportion to len), -1 otherwise. */
int cs_client_prescan(const void *buf, size_t len);

/* Look a string key up in a map object; NULL if absent or map is not a map. Borrowed. */
const msgpack_object *cs_client_obj_get(const msgpack_object *map, const char *key);

/* Check a reply's "ok". Returns CS_CLIENT_OK for a success, CS_CLIENT_ESERVER with err's code
 * and message filled for an error reply, CS_CLIENT_EPROTO (err filled) for anything else. */
int cs_client_decode_status(const msgpack_object *reply, cs_client_error_t *err);

/* Decode a success reply into a new owned result. Return CS_CLIENT_OK, CS_CLIENT_ENOMEM or
 * CS_CLIENT_EPROTO (a key the protocol requires has the wrong shape). */
int cs_client_decode_ping(const msgpack_object *reply, cs_client_ping_t *out);
int cs_client_decode_lookup(const msgpack_object *reply, cs_client_lookup_t **out);
int cs_client_decode_validation(const msgpack_object *reply, cs_client_validation_t **out);
int cs_client_decode_search(const msgpack_object *reply, cs_client_search_t **out);
int cs_client_decode_crosswalk(const msgpack_object *reply, cs_client_crosswalk_t **out);
int cs_client_decode_releases(const msgpack_object *reply, cs_client_releases_t **out);
int cs_client_decode_claim(const msgpack_object *reply, cs_client_claim_result_t **out);

#ifdef __cplusplus
}
#endif
#endif /* CS_CSC_DECODE_H */
