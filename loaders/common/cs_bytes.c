/* cs_bytes.c: room in a growable byte buffer. */
#include "cs_bytes.h"

#include <stdint.h>
#include <stdlib.h>

#include "codeset/cs_error.h"

int cs_bytes_reserve(char **p, size_t *cap, size_t len, size_t more)
{
    if (*cap - len > more) {
        return CS_OK;
    }
    size_t want = *cap ? *cap : 4096;
    while (want - len <= more) {
        if (want > SIZE_MAX / 2) {
            return CS_ENOMEM;
        }
        want *= 2;
    }
    char *grown = realloc(*p, want);
    if (!grown) {
        return CS_ENOMEM;
    }
    *p = grown;
    *cap = want;
    return CS_OK;
}
