/* embed_engine.c: cs_db_lookup through the engine and its msgpack reply (embed_engine.h). */
#include "embed_engine.h"

#include <msgpack.h>
#include <string.h>

#include "engine/cs_embed.h"
#include "util/cs_date.h"
#include "wire/cs_out_msgpack.h"

static msgpack_sbuffer s_buf;
static msgpack_zone s_zone;
static int s_ready;

static const msgpack_object *s_get(const msgpack_object *m, const char *key)
{
    if (!m || m->type != MSGPACK_OBJECT_MAP) {
        return NULL;
    }
    size_t klen = strlen(key);
    for (uint32_t i = 0; i < m->via.map.size; i++) {
        const msgpack_object *k = &m->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == klen &&
            memcmp(k->via.str.ptr, key, klen) == 0) {
            return &m->via.map.ptr[i].val;
        }
    }
    return NULL;
}

static cs_db_str_t s_str(const msgpack_object *o)
{
    cs_db_str_t s = {"", 0};
    if (o && o->type == MSGPACK_OBJECT_STR) {
        s.ptr = o->via.str.ptr;
        s.len = o->via.str.size;
    }
    return s;
}

static int s_bool(const msgpack_object *o)
{
    return o && o->type == MSGPACK_OBJECT_BOOLEAN && o->via.boolean;
}

static void s_date(const msgpack_object *o, int *out)
{
    cs_db_str_t d = s_str(o);
    if (d.len) {
        cs_date_parse(d.ptr, d.len, out);
    }
}

int cs_embed_lookup_engine(cs_db_t *db, const char *system, const char *code,
                           const cs_db_query_t *q, cs_db_entry_t *out, cs_error_t *err)
{
    if (!out) {
        return cs_error_set(err, CS_EINVAL, "cs_db_lookup: no entry to fill");
    }
    memset(out, 0, sizeof *out);
    cs_request_t req;
    int rc = cs_embed_check(db, system, code, q, &req, err);
    if (rc != CS_OK) {
        return rc;
    }
    req.code = (cs_str_t){code, (uint32_t)strlen(code)};
    req.n_codes = 1;
    if (!s_ready) {
        msgpack_sbuffer_init(&s_buf);
        msgpack_zone_init(&s_zone, 4096);
        s_ready = 1;
    }
    msgpack_sbuffer_clear(&s_buf);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &s_buf, msgpack_sbuffer_write);
    cs_out_msgpack_t w;
    cs_proto_err_t e = cs_engine_handle(cs_embed_engine(db), &req, cs_out_msgpack_init(&w, &pk));
    msgpack_zone_clear(&s_zone);
    msgpack_object r;
    size_t off = 0;
    if (msgpack_unpack(s_buf.data, s_buf.size, &off, &s_zone, &r) != MSGPACK_UNPACK_SUCCESS) {
        return cs_error_set(err, CS_EINTERNAL, "the engine's reply could not be decoded");
    }
    if (e != CS_PERR_NONE) {
        cs_db_str_t msg = s_str(s_get(s_get(&r, "error"), "message"));
        return cs_error_set(err, cs_embed_error(e), "%.*s", (int)msg.len, msg.ptr);
    }
    out->found = s_bool(s_get(&r, "found"));
    out->malformed = s_get(&r, "reason") != NULL;
    out->code = s_str(s_get(&r, "code"));
    out->release = s_str(s_get(&r, "release"));
    out->kind = s_str(s_get(&r, "kind"));
    out->billable = s_bool(s_get(&r, "billable"));
    out->title = s_str(s_get(&r, "title"));
    out->short_title = s_str(s_get(&r, "short"));
    out->parent = s_str(s_get(&r, "parent"));
    s_date(s_get(&r, "valid_from"), &out->valid_from);
    s_date(s_get(&r, "valid_to"), &out->valid_to);
    return CS_OK;
}
