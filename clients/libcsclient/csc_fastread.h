/* csc_fastread.h: internal to libcsclient: reading a reply straight from its msgpack bytes,
 * for the replies a client gets by the hundred thousand (a batch of lookups): no tree of
 * msgpack objects is built, and a lookup is decoded into its result in one walk.
 *
 * Every read is bounded by the reader's end, and a container whose declared count is larger
 * than the bytes left is refused, as cs_client_prescan refuses it: what these accept, the
 * general path (pre-scan, msgpack-c, csc_decode.c) accepts too. A shape they do not know is
 * left to the general path, never guessed at.
 */
#ifndef CS_CSC_FASTREAD_H
#define CS_CSC_FASTREAD_H

#include <stddef.h>
#include <stdint.h>

#include "codeset_client.h"

/* The str keys of a lookup reply and where each goes in cs_client_lookup_t, shared by this
 * reader and csc_decode.c's general decoder; the order is that of s_key_index
 * (csc_fastread.c). */
typedef struct csc_lookup_key {
    const char *key;
    uint32_t len; /* strlen(key) */
    size_t field; /* offsetof the const char * in cs_client_lookup_t */
} csc_lookup_key_t;
#define CSC_LOOKUP_NSTRS 10
extern const csc_lookup_key_t csc_lookup_strs[CSC_LOOKUP_NSTRS];

/* The bytes still to read. */
typedef struct csc_rd {
    const unsigned char *p;   /* next byte */
    const unsigned char *end; /* one past the last */
} csc_rd_t;

/* The header of the object at p (left bytes, >= 0): *hdr its bytes, *body the payload bytes
 * after it, *children the objects it holds (a map's pairs count two). 0, or -1 when the
 * header is cut short or is the unused byte 0xc1. */
int csc_rd_head(const unsigned char *p, size_t left, size_t *hdr, uint64_t *body,
                uint64_t *children);
/* Skip one whole object. 0, or -1 when the bytes are not one (r is then anywhere). */
int csc_rd_skip(csc_rd_t *r);
/* A map's or an array's header: 0 with *n its pairs or items, or -1 (r unchanged) when the
 * next object is not one or declares more than the bytes left could hold. */
int csc_rd_map(csc_rd_t *r, uint32_t *n);
int csc_rd_array(csc_rd_t *r, uint32_t *n);
/* A str equal to key (klen bytes): 1 and r past it, else 0 (r unchanged). */
int csc_rd_key(csc_rd_t *r, const char *key, uint32_t klen);
/* An unsigned integer (positive fixint, uint8..uint64): 0 with *v, else -1 (r unchanged). */
int csc_rd_uint(csc_rd_t *r, uint64_t *v);

/* One lookup's reply at r, as cs_client_decode_lookup decodes it, into *out: 1 with r past
 * the reply. The result lies in room (cap bytes, aligned for a pointer; NULL: none) when it
 * fits there, with no arena (the caller owns that memory; the result is never to be given to
 * cs_client_lookup_destroy), else in a new arena (free with cs_client_lookup_destroy). 0 (r
 * unchanged, nothing allocated) when the general decoder is to read it: an error reply, a
 * key other than the scalar ones of a lookup (notes, children, ancestors...), a key given
 * twice, a value of an unexpected type, bytes that are not one object, or no memory. */
int csc_rd_lookup(csc_rd_t *r, void *room, size_t cap, cs_client_lookup_t **out);

#endif /* CS_CSC_FASTREAD_H */
