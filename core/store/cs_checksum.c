/* cs_checksum.c: a release's checksum over its records (store/cs_checksum.h). */
#include "store/cs_checksum.h"

#include <nettle/sha2.h>
#include <stdio.h>
#include <string.h>

#include "store/cs_key.h"

#define S_CHUNK 4096      /* records read per snapshot: keeps each read transaction short */

/* The databases a release's records live in, in the order they are hashed. */
static const int s_dbs[] = {CS_DB_CODES, CS_DB_CHILDREN, CS_DB_SEARCH, CS_DB_MAPS, CS_DB_RMAPS,
                            CS_DB_NOTEREFS, CS_DB_CODEIDX};
static const char *const s_db_what[] = {"code", "child", "search", "map", "reversed map",
                                        "note reference", "code index image"};

static void s_hash_record(struct sha256_ctx *ctx, int db, const cs_val_t *k, const cs_val_t *v)
{
    uint8_t head[7];
    head[0] = (uint8_t)db;
    head[1] = (uint8_t)(k->len >> 8);
    head[2] = (uint8_t)k->len;
    cs_key_put_u32(head + 3, (uint32_t)v->len);
    sha256_update(ctx, sizeof head, head);
    sha256_update(ctx, k->len, k->data);
    sha256_update(ctx, v->len, v->data);
}

/* Hash up to S_CHUNK records of db from key `from` (exclusive when skip) that start with
 * prefix. *more = 1 when records may remain; from/flen then name the last one hashed. */
static int s_hash_chunk(cs_reader_t *r, int db, const uint8_t *prefix, uint8_t *from,
                        size_t *flen, int skip, struct sha256_ctx *ctx, uint64_t *n, int *more)
{
    *more = 0;
    if (cs_reader_begin(r) != CS_OK) {
        return CS_EINTERNAL;
    }
    cs_val_t k, v;
    int rc = cs_reader_seek(r, db, from, *flen, &k, &v);
    if (rc == CS_OK && skip && k.len == *flen && memcmp(k.data, from, *flen) == 0) {
        rc = cs_reader_next(r, db, &k, &v);
    }
    unsigned done = 0;
    while (rc == CS_OK && k.len >= 4 && memcmp(k.data, prefix, 4) == 0) {
        if (k.len > CS_STORE_KEY_MAX) {
            rc = CS_EMALFORMED;
            break;
        }
        s_hash_record(ctx, db, &k, &v);
        (*n)++;
        if (++done == S_CHUNK) {
            memcpy(from, k.data, k.len);
            *flen = k.len;
            *more = 1;
            break;
        }
        rc = cs_reader_next(r, db, &k, &v);
    }
    cs_reader_end(r);
    return rc == CS_ENOTFOUND ? CS_OK : rc;
}

int cs_checksum_release(cs_reader_t *r, uint32_t release, char hex[65], uint64_t *records,
                       cs_pace_t *pace, cs_error_t *err)
{
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    uint64_t n = 0;
    uint8_t prefix[4], from[CS_STORE_KEY_MAX];
    cs_key_put_u32(prefix, release);
    hex[0] = '\0';
    for (size_t d = 0; d < sizeof s_dbs / sizeof s_dbs[0]; d++) {
        size_t flen = 4;
        memcpy(from, prefix, 4);
        int more = 1;
        for (int skip = 0; more; skip = 1) {
            if (!cs_pace_step(pace)) {
                return cs_error_set(err, CS_ETERM, "stopped");
            }
            int rc = s_hash_chunk(r, s_dbs[d], prefix, from, &flen, skip, &ctx, &n, &more);
            if (rc == CS_EMALFORMED) {
                return cs_error_set(err, rc, "a page of its records cannot be read (record %llu"
                                    " of the %s records)", (unsigned long long)n + 1,
                                    s_db_what[d]);
            }
            if (rc != CS_OK) {
                return cs_error_set(err, rc, "the store cannot be read: %s", cs_strerror(rc));
            }
        }
    }
    uint8_t digest[SHA256_DIGEST_SIZE];
    sha256_digest(&ctx, sizeof digest, digest);
    for (size_t i = 0; i < sizeof digest; i++) {
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    }
    if (records) {
        *records = n;
    }
    return CS_OK;
}
