/* cs_out_msgpack.h: the result interface's msgpack writer: the bytes of docs/PROTOCOL.md.
 *
 * It writes through a msgpack_packer the caller owns (into a msgpack_sbuffer, or a reply
 * pool's buffer): the writer holds no memory of its own. mark/rewind need the packer to
 * write into a msgpack_sbuffer; over any other callback mark is 0 and rewind does nothing.
 *
 * Thread-safety: a writer belongs to the thread that writes the reply.
 */
#ifndef CS_OUT_MSGPACK_H
#define CS_OUT_MSGPACK_H

#include <msgpack.h>

#include "engine/cs_out.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cs_out_msgpack {
    cs_out_t out; /* first: a cs_out_t * to this writer is &w->out */
    msgpack_packer *pk;
} cs_out_msgpack_t;

/* A writer over pk (borrowed; it must outlive the writer's use). Returns &w->out. */
cs_out_t *cs_out_msgpack_init(cs_out_msgpack_t *w, msgpack_packer *pk);

#ifdef __cplusplus
}
#endif
#endif /* CS_OUT_MSGPACK_H */
