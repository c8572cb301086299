/* cs_key.h: the one codec for store keys. Integers are big-endian so memcmp order is numeric.
 *
 *   code key:   [release u32][class u8][code key bytes]
 *   child key:  [release u32][class u8][parent key bytes][0x00][order u32][seq u32]
 *
 * Code keys are the system plugin's storage form (upper case, no dot): A-Z, 0-9, '-'.
 * Thread-safe: pure functions over caller buffers.
 */
#ifndef CS_KEY_H
#define CS_KEY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CS_KEY_MAX 64 /* every key this codec makes fits */

/* Encode a code key into out[CS_KEY_MAX]; returns its length, or 0 if code is too long. */
size_t cs_key_code(uint8_t *out, uint32_t release, uint8_t cls, const char *code, size_t len);

/* The prefix of every code key of a release and class (5 bytes). */
size_t cs_key_release_class(uint8_t *out, uint32_t release, uint8_t cls);

/* The prefix of every key of a release (4 bytes). */
size_t cs_key_release(uint8_t *out, uint32_t release);

/* The prefix of a parent's child keys: [release][class][parent][0]. Returns 0 if too long. */
size_t cs_key_children(uint8_t *out, uint32_t release, uint8_t cls, const char *parent,
                       size_t len);

/* A full child key: children prefix + order + seq. Returns 0 if too long. */
size_t cs_key_child(uint8_t *out, uint32_t release, uint8_t cls, const char *parent,
                    size_t len, uint32_t order, uint32_t seq);

/* Split a code key. Returns 0 on success, -1 if key is not a code key (too short). */
int cs_key_code_split(const void *key, size_t klen, uint32_t *release, uint8_t *cls,
                      const char **code, size_t *code_len);

void cs_key_put_u32(uint8_t *out, uint32_t v);
uint32_t cs_key_get_u32(const uint8_t *in);

#ifdef __cplusplus
}
#endif
#endif /* CS_KEY_H */
