/* cs_bytes.h: room in a growable byte buffer, for the loaders' string arenas.
 *
 * Not a plugin: a loader's plugin.mk compiles cs_bytes.c in with -fvisibility=hidden, so the
 * loader still exports only its descriptor.
 */
#ifndef CS_BYTES_H
#define CS_BYTES_H

#include <stddef.h>

/* Make *p (of *cap bytes, len of them used) hold more than more bytes after len: doubling
 * from 4 KiB, realloc keeping the contents. CS_OK, or CS_ENOMEM with *p and *cap unchanged. */
int cs_bytes_reserve(char **p, size_t *cap, size_t len, size_t more);

#endif /* CS_BYTES_H */
