/* cs_key.c: store key codec. */
#include "store/cs_key.h"

#include <string.h>

void cs_key_put_u32(uint8_t *out, uint32_t v)
{
    out[0] = (uint8_t)(v >> 24);
    out[1] = (uint8_t)(v >> 16);
    out[2] = (uint8_t)(v >> 8);
    out[3] = (uint8_t)v;
}

uint32_t cs_key_get_u32(const uint8_t *in)
{
    return (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
}

size_t cs_key_release(uint8_t *out, uint32_t release)
{
    cs_key_put_u32(out, release);
    return 4;
}

size_t cs_key_release_class(uint8_t *out, uint32_t release, uint8_t cls)
{
    cs_key_put_u32(out, release);
    out[4] = cls;
    return 5;
}

size_t cs_key_code(uint8_t *out, uint32_t release, uint8_t cls, const char *code, size_t len)
{
    if (len > CS_KEY_MAX - 5) {
        return 0;
    }
    cs_key_release_class(out, release, cls);
    memcpy(out + 5, code, len);
    return 5 + len;
}

size_t cs_key_children(uint8_t *out, uint32_t release, uint8_t cls, const char *parent,
                       size_t len)
{
    if (len > CS_KEY_MAX - 14) {
        return 0;
    }
    size_t n = cs_key_code(out, release, cls, parent, len);
    out[n] = 0;
    return n + 1;
}

size_t cs_key_child(uint8_t *out, uint32_t release, uint8_t cls, const char *parent,
                    size_t len, uint32_t order, uint32_t seq)
{
    size_t n = cs_key_children(out, release, cls, parent, len);
    if (n == 0) {
        return 0;
    }
    cs_key_put_u32(out + n, order);
    cs_key_put_u32(out + n + 4, seq);
    return n + 8;
}

int cs_key_code_split(const void *key, size_t klen, uint32_t *release, uint8_t *cls,
                      const char **code, size_t *code_len)
{
    if (klen < 5) {
        return -1;
    }
    const uint8_t *k = key;
    *release = cs_key_get_u32(k);
    *cls = k[4];
    *code = (const char *)k + 5;
    *code_len = klen - 5;
    return 0;
}
