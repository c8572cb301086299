/* cli_msg.c: reading reply maps and packing request maps (see cli_msg.h). */
#include "cli_msg.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_json.h"

const msgpack_object *cs_cli_msg_get(const msgpack_object *map, const char *key)
{
    if (map == NULL || map->type != MSGPACK_OBJECT_MAP) {
        return NULL;
    }
    size_t n = strlen(key);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
            memcmp(k->via.str.ptr, key, n) == 0) {
            return &map->via.map.ptr[i].val;
        }
    }
    return NULL;
}

int cs_cli_msg_is(const msgpack_object *o, msgpack_object_type t)
{
    return o != NULL && o->type == t;
}

int cs_cli_msg_true(const msgpack_object *o)
{
    return o != NULL && o->type == MSGPACK_OBJECT_BOOLEAN && o->via.boolean;
}

int cs_cli_msg_int(const msgpack_object *o, int64_t *v)
{
    if (o == NULL) {
        return -1;
    }
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= (uint64_t)INT64_MAX) {
        *v = (int64_t)o->via.u64;
        return 0;
    }
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *v = o->via.i64;
        return 0;
    }
    return -1;
}

static int s_is_scalar(const msgpack_object *o)
{
    return o->type != MSGPACK_OBJECT_ARRAY && o->type != MSGPACK_OBJECT_MAP;
}

/* Append the scalar o to buf at *used (bounded). */
static void s_append_scalar(const msgpack_object *o, char *buf, size_t cap, size_t *used)
{
    size_t room = cap - *used;
    int n = 0;
    switch (o->type) {
    case MSGPACK_OBJECT_STR: {
        size_t len = o->via.str.size < room - 1 ? o->via.str.size : room - 1;
        memcpy(buf + *used, o->via.str.ptr, len);
        buf[*used + len] = '\0';
        n = (int)len;
        break;
    }
    case MSGPACK_OBJECT_BOOLEAN:
        n = snprintf(buf + *used, room, "%s", o->via.boolean ? "yes" : "no");
        break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        n = snprintf(buf + *used, room, "%" PRIu64, o->via.u64);
        break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        n = snprintf(buf + *used, room, "%" PRId64, o->via.i64);
        break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        n = snprintf(buf + *used, room, "%g", o->via.f64);
        break;
    case MSGPACK_OBJECT_NIL:
        buf[*used] = '\0';
        break;
    default: {
        char *json = cs_cli_json_dup(o);
        n = snprintf(buf + *used, room, "%s", json != NULL ? json : "");
        free(json);
        break;
    }
    }
    if (n < 0) {
        n = 0;
    }
    *used += (size_t)n < room ? (size_t)n : room - 1;
}

const char *cs_cli_msg_text(const msgpack_object *o, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    if (o == NULL) {
        return buf;
    }
    if (s_is_scalar(o)) {
        s_append_scalar(o, buf, cap, &used);
        return buf;
    }
    if (o->type == MSGPACK_OBJECT_ARRAY) {
        int flat = 1;
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            flat = flat && s_is_scalar(&o->via.array.ptr[i]);
        }
        if (flat) {
            for (uint32_t i = 0; i < o->via.array.size && used + 1 < cap; i++) {
                if (i > 0) {
                    used += (size_t)snprintf(buf + used, cap - used, ", ");
                    if (used >= cap) {
                        used = cap - 1;
                        break;
                    }
                }
                s_append_scalar(&o->via.array.ptr[i], buf, cap, &used);
            }
            return buf;
        }
    }
    char *json = cs_cli_json_dup(o);
    snprintf(buf, cap, "%s", json != NULL ? json : "");
    free(json);
    return buf;
}

void cs_cli_pack_str(msgpack_packer *pk, const char *s)
{
    if (s == NULL) {
        msgpack_pack_nil(pk);
        return;
    }
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

void cs_cli_pack_kv_str(msgpack_packer *pk, const char *key, const char *val)
{
    cs_cli_pack_str(pk, key);
    cs_cli_pack_str(pk, val);
}
