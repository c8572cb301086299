/* fuzz_key.c: fuzz target for the store key codec (cs_key.c): every encoder over arbitrary
 * codes, the split of arbitrary bytes, and the round trip between them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/cs_key.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken round trip is a codec bug: make it a crash the fuzzer reports. */
static void s_require(int ok)
{
    if (!ok) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t release;
    uint8_t cls;
    const char *code;
    size_t code_len;
    /* arbitrary bytes as a stored key: a split never reads past klen */
    if (cs_key_code_split(data, size, &release, &cls, &code, &code_len) == 0) {
        s_require(size >= 5 && code == (const char *)data + 5 && code_len == size - 5);
        s_require(release == cs_key_get_u32(data) && cls == data[4]);
    } else {
        s_require(size < 5);
    }
    if (size < 9) {
        return 0;
    }
    /* [release u32][cls u8][order u32][code ...] */
    release = cs_key_get_u32(data);
    cls = data[4];
    uint32_t order = cs_key_get_u32(data + 5);
    code = (const char *)data + 9;
    code_len = size - 9;
    uint8_t key[CS_KEY_MAX];
    size_t n = cs_key_code(key, release, cls, code, code_len);
    if (n != 0) {
        s_require(n == 5 + code_len && n <= CS_KEY_MAX);
        uint32_t r2;
        uint8_t c2;
        const char *code2;
        size_t len2;
        s_require(cs_key_code_split(key, n, &r2, &c2, &code2, &len2) == 0);
        s_require(r2 == release && c2 == cls && len2 == code_len);
        s_require(memcmp(code2, code, code_len) == 0);
    } else {
        s_require(code_len > CS_KEY_MAX - 5);
    }
    uint8_t prefix[CS_KEY_MAX];
    size_t np = cs_key_children(prefix, release, cls, code, code_len);
    uint8_t child[CS_KEY_MAX];
    size_t nc = cs_key_child(child, release, cls, code, code_len, order, ~order);
    s_require((np == 0) == (nc == 0));
    if (np != 0) {
        /* a child key starts with its parent's prefix and sorts by order, then seq */
        s_require(np <= CS_KEY_MAX && nc == np + 8 && nc <= CS_KEY_MAX);
        s_require(memcmp(prefix, child, np) == 0 && prefix[np - 1] == 0);
        s_require(cs_key_get_u32(child + np) == order);
        s_require(cs_key_get_u32(child + np + 4) == ~order);
    }
    uint8_t rc[5];
    s_require(cs_key_release_class(rc, release, cls) == 5 && cs_key_get_u32(rc) == release);
    s_require(cs_key_release(rc, release) == 4);
    return 0;
}
