/* cli_msg.h: reading reply maps and packing request maps (msgpack helpers for the CLI).
 *
 * Reply objects are borrowed from a cs_cli_reply_t; nothing here keeps them. msgpack
 * strings have no NUL, so text always goes through a caller-supplied bounded buffer.
 * Thread-safety: no state.
 */
#ifndef CS_CLI_MSG_H
#define CS_CLI_MSG_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The value under the string key in map, or NULL when map is NULL, not a map, or has no
 * such key. Borrowed from map. */
const msgpack_object *cs_cli_msg_get(const msgpack_object *map, const char *key);

/* 1 when o is present and of type t. */
int cs_cli_msg_is(const msgpack_object *o, msgpack_object_type t);

/* 1 when o is the boolean true. */
int cs_cli_msg_true(const msgpack_object *o);

/* The integer in o (signed or unsigned, within int64) into *v: 0, or -1 if o is not one. */
int cs_cli_msg_int(const msgpack_object *o, int64_t *v);

/* o as text for people, written into buf (cap >= 1, truncated, always NUL-terminated):
 * a string as is, true/false as "yes"/"no", numbers in decimal, nil or NULL as "",
 * an array of scalars joined by ", ", anything else as JSON. Returns buf. */
const char *cs_cli_msg_text(const msgpack_object *o, char *buf, size_t cap);

/* Pack the C string s (NULL packs nil). */
void cs_cli_pack_str(msgpack_packer *pk, const char *s);

/* Pack the key "key" then the string val (NULL packs nil). */
void cs_cli_pack_kv_str(msgpack_packer *pk, const char *key, const char *val);

#ifdef __cplusplus
}
#endif
#endif /* CS_CLI_MSG_H */
