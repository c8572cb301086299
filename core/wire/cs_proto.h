/* cs_proto.h: the wire protocol's msgpack codec (PROTOCOL.md, version 1): decoding a request
 * body into a cs_request_t (engine/cs_request.h). Replies are written through the result
 * interface; wire/cs_out_msgpack.h is its msgpack writer.
 *
 * Every body is pre-scanned before msgpack-c touches it, because msgpack-c allocates
 * count * sizeof(msgpack_object) from a container header before any element arrives.
 *
 * Thread-safety: no global state; one cs_request_t per thread.
 */
#ifndef CS_PROTO_H
#define CS_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "codeset/cs_error.h"
#include "engine/cs_request.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Walk a body without allocating. CS_OK when every container header fits in the bytes left,
 * the total of declared elements over all containers is at most the bytes left, nesting is
 * at most CS_PROTO_MAX_DEPTH, and the body is exactly one msgpack object; else CS_EMALFORMED
 * with a sentence in err. */
int cs_proto_prescan(const void *body, size_t len, cs_error_t *err);

/* The same as cs_request_init, for a request object decoded over and over (a serving loop):
 * release keeps the decode memory's first chunk for the next decode, so a small request
 * allocates nothing. Such a request must be finished with cs_request_fini. */
void cs_request_init_reusable(cs_request_t *req);

/* Decode body into req: prescan, unpack, then schema checks (op present and a str, v == 1,
 * each known key of its exact type, dates real calendar dates, codes <= CS_PROTO_MAX_CODES,
 * strings bounded). Returns CS_PERR_NONE or the error to send, with a sentence in err->msg.
 * Even on error, req->has_id/req->id are set when the id could be read so the error reply
 * can echo it. body must outlive req's use. Call cs_request_release() after every decode. */
cs_proto_err_t cs_request_decode(cs_request_t *req, const void *body, size_t len,
                                 cs_error_t *err);

/* As cs_request_decode, for a worker answering one slice of a long request the broker has
 * decoded already (cs_engine_part): lo and hi are the slice's units (cs_op_slice_units). Of a
 * claims request only claims [lo, hi) of its units are unpacked and decoded: req->claims still
 * holds n_claims claims, the others zeroed, for the answer reads only its slice's. The rest of
 * the body is stepped over without being trusted: whatever does not fit, any other op, and a
 * slice that does not decode are decoded whole by cs_request_decode instead, so an error is
 * the one the whole decode gives. With lo == hi == 0 no claim is decoded: the broker's read
 * of a batch it leaves to the workers. */
cs_proto_err_t cs_request_decode_part(cs_request_t *req, const void *body, size_t len,
                                      uint32_t lo, uint32_t hi, cs_error_t *err);

/* What cs_request_decode makes of a batch of plain lookups, {"id": uint, "op": "batch",
 * "requests": [{"op": "lookup", "system": str, "code": str}, ...]} with the keys in that
 * order (wire/cs_proto_plain.c), made straight from the bytes: 1 with req filled (freshly
 * reset; it may hold its zone). 0 for any other body, or a value the general decoder would
 * refuse: cs_request_decode then decodes it as it does any body. */
int cs_request_decode_plain_batch(cs_request_t *req, const void *body, size_t len);

/* The same for a plain lookup, {"op": "lookup", "system": str, "code": str} in that order,
 * with "id": uint before or after them or not at all (the clients' shapes). */
int cs_request_decode_plain_lookup(cs_request_t *req, const void *body, size_t len);

/* A glance at a request still to be answered (wire/cs_proto_peek.c): 1 when body looks
 * like a lookup in a system's current release, {"op": "lookup", "system": str, "code": str}
 * with any other keys but "release" and "date", with *system and *code pointing into body;
 * else 0. Nothing is checked beyond what the glance needs: a hint for fetching ahead, never
 * a decode (cs_request_decode still judges the request). */
int cs_proto_peek_lookup(const void *body, size_t len, cs_str_t *system, cs_str_t *code);

/* ---- raw walking, for cs_request_decode_part: bounds-checked reads of a msgpack body that
 * need no pre-scan (no allocation, no recursion) ---- */
enum { CS_RAW_OTHER, CS_RAW_STR, CS_RAW_ARRAY, CS_RAW_MAP };
typedef struct cs_proto_raw {
    int kind;    /* CS_RAW_* */
    uint32_t n;  /* a map's entries, an array's elements, a str's bytes; else unspecified */
    size_t data; /* the offset just past the header (a str's bytes, a container's first) */
} cs_proto_raw_t;

/* The header of the object at offset pos of body (len bytes) into *out: 1, or 0 when it is
 * a reserved byte, its header runs past len, or it is a str whose bytes do. */
int cs_proto_raw_head(const void *body, size_t len, size_t pos, cs_proto_raw_t *out);

/* The offset just past the one object (with all it holds) at offset pos of body, or 0 when
 * it does not fit in len bytes. */
size_t cs_proto_raw_skip(const void *body, size_t len, size_t pos);

/* Free what a decode allocated (for a reusable request: all but the kept chunk); req can be
 * decoded again afterwards. */
void cs_request_release(cs_request_t *req);

/* Free all a reusable request holds. Harmless on any request, and twice. */
void cs_request_fini(cs_request_t *req);

#ifdef __cplusplus
}
#endif
#endif /* CS_PROTO_H */
