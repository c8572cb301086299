/* cs_codeidx_image.c: a release's code index as an image in the store, written by the load
 * and mapped read-only by every process (cs_codeidx.h, "Images").
 *
 * Layout of the value [release] in CS_DB_CODEIDX, in the byte order of the machine that
 * wrote it (as LMDB's own file), every field at its natural alignment:
 *   0  magic "CSCODEIX"              32  u64 slots (a power of two)
 *   8  u32 version (2)               40  u64 arena bytes
 *  12  u32 0x01020304 (byte order)   48  u32 longest probe
 *  16  u32 release                   52  u32 hash (1: FNV-1a of cs_codeidx_hash)
 *  20  u32 header bytes (64)         56  u64 the arena's records (its titles follow)
 *  24  u64 entries                   64  u64 where the arena's attribute pool starts
 *  72  slots (u64 each), then the arena: records, titles, attribute pool (cs_codeidx_int.h).
 * Version 1 (the first, written by builds of early December 2026) kept each record's titles
 * in it, their lengths between them, so a find read two or three lines of a 14 MiB arena,
 * one after the other; version 2 (a 64-byte header) held no attributes, so that every
 * lookup of an ICD-10-PCS or HCPCS code read the entry's B-tree pages as well (on a cold
 * page cache, a disk read each, of megabytes around it). An image of another version is
 * refused like a damaged one, with a
 * warning, and its release's index built in memory as for a release loaded before images:
 * an older store is served as it was, at the cost of the build (0.03-0.2 s, in the
 * background) and of the memory it takes in each process, until the release is loaded again.
 * LMDB keeps a value this large in overflow pages, contiguous in the file: the image is
 * mapped from the file as it lies there, never copied. */
#include "store/cs_codeidx.h"

#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "store/cs_codeidx_int.h"
#include "store/cs_key.h"
#include "util/cs_log.h"

#define S_MAGIC "CSCODEIX"
#define S_VERSION 3u
#define S_BOM 0x01020304u
#define S_HASH_FNV1A 1u
#define S_HEADER 72u

typedef struct s_header {
    char magic[8];
    uint32_t version, bom, release, header;
    uint64_t entries, slots, arena;
    uint32_t max_probe, hash;
    uint64_t records;
    uint64_t pool;
} s_header_t;

_Static_assert(sizeof(s_header_t) == S_HEADER, "the image header is 72 bytes");

int cs_codeidx_image_write(cs_store_t *store, cs_writer_t *w, uint32_t release, size_t *bytes,
                           cs_error_t *err)
{
    *bytes = 0;
    cs_codeidx_t *idx = cs_codeidx_new_(release);
    if (!idx) {
        return cs_error_set(err, CS_ENOMEM, "out of memory indexing release %u", release);
    }
    int rc = cs_codeidx_read_(store, idx, err);
    uint64_t n = cs_codeidx_slots_for_(idx->entries);
    size_t len = S_HEADER + n * sizeof(uint64_t) + idx->arena_len;
    void *val = NULL;
    uint8_t key[4];
    cs_key_put_u32(key, release);
    if (rc == CS_OK) {
        rc = cs_writer_reserve(w, CS_DB_CODEIDX, key, sizeof key, len, &val);
        if (rc != CS_OK) {
            cs_error_set(err, rc, "release %u: cannot write its code index image: %s",
                         release, cs_strerror(rc));
        }
    }
    if (rc == CS_OK && ((uintptr_t)val & 7u) != 0) {
        rc = cs_error_set(err, CS_EINTERNAL, "release %u: LMDB gave a misaligned value for "
                          "its code index image", release); /* not reached: overflow pages */
    }
    if (rc == CS_OK) {
        s_header_t h = {.version = S_VERSION, .bom = S_BOM, .release = release,
                        .header = S_HEADER, .entries = idx->entries, .slots = n,
                        .arena = idx->arena_len, .hash = S_HASH_FNV1A,
                        .records = idx->records_len, .pool = idx->pool_at};
        memcpy(h.magic, S_MAGIC, sizeof h.magic);
        uint64_t *slots = (uint64_t *)((uint8_t *)val + S_HEADER); /* LMDB: 8-aligned */
        memset(slots, 0, n * sizeof *slots);
        h.max_probe = cs_codeidx_fill_(slots, n - 1, idx->arena, idx->records_len);
        memcpy(val, &h, sizeof h);
        memcpy(slots + n, idx->arena, idx->arena_len);
        *bytes = len;
    }
    cs_codeidx_free_(idx);
    return rc;
}

/* Why header h (of a value of len bytes) cannot be release's image; NULL if it can. */
static const char *s_refuse(const s_header_t *h, size_t len, uint32_t release)
{
    if (len < S_HEADER) {
        return "its image is shorter than its header (truncated)";
    }
    if (memcmp(h->magic, S_MAGIC, sizeof h->magic) != 0) {
        return "its image is not a code index image (no magic)";
    }
    if (h->version == 1) {
        return "its image is of an older version (version 1: its records laid out "
               "otherwise)";
    }
    if (h->version == 2) {
        return "its image is of an older version (version 2: without the entries' "
               "attributes)";
    }
    if (h->version != S_VERSION || h->header != S_HEADER || h->hash != S_HASH_FNV1A) {
        return "its image is of another version";
    }
    if (h->bom != S_BOM) {
        return "its image was written on a machine of another byte order";
    }
    if (h->release != release) {
        return "its image names another release";
    }
    if (h->slots < 1024 || h->slots > ((uint64_t)1 << 32) || (h->slots & (h->slots - 1)) ||
        h->entries == 0 || h->entries >= h->slots) {
        return "its image's hash table has an impossible size";
    }
    if (h->arena < CS_CODEIDX_REC_FIXED || h->arena >= UINT32_MAX ||
        h->arena != len - S_HEADER - h->slots * sizeof(uint64_t) ||
        len < S_HEADER + h->slots * sizeof(uint64_t)) {
        return "its image's sizes do not add up to its length (truncated or damaged)";
    }
    if (h->records < CS_CODEIDX_REC_FIXED || h->records > h->arena) {
        return "its image's records do not fit its arena";
    }
    if (h->pool < h->records || h->pool > h->arena) {
        return "its image's attribute pool does not fit its arena";
    }
    if (h->max_probe == 0 || h->max_probe > h->slots) {
        return "its image's longest probe is out of bounds";
    }
    return NULL;
}

int cs_codeidx_image_open_(cs_store_t *store, uint32_t release, int read_ahead,
                           cs_codeidx_t **out, cs_error_t *err)
{
    *out = NULL;
    cs_reader_t *r = cs_reader_new(store, err);
    if (!r) {
        return err->code ? err->code : CS_EINTERNAL;
    }
    uint8_t key[4];
    cs_key_put_u32(key, release);
    cs_val_t v;
    cs_mapping_t m = {0};
    const void *data = NULL;
    int rc = cs_reader_begin(r);
    if (rc == CS_OK) {
        rc = cs_reader_get(r, CS_DB_CODEIDX, key, sizeof key, &v);
    }
    if (rc == CS_OK) {
        rc = cs_reader_map(r, &v, &m, &data);
    }
    cs_reader_end(r);
    cs_reader_destroy(&r);
    if (rc != CS_OK) {
        return rc == CS_ENOTFOUND ? rc : cs_error_set(err, rc, "its image cannot be mapped: %s",
                                                      cs_strerror(rc));
    }
    s_header_t h;
    memset(&h, 0, sizeof h);
    memcpy(&h, data, v.len < sizeof h ? v.len : sizeof h);
    const char *why = ((uintptr_t)data & 7u) ? "its image lies misaligned in the file"
                                             : s_refuse(&h, v.len, release);
    cs_codeidx_t *idx = why ? NULL : cs_codeidx_new_(release);
    if (!idx) {
        cs_mapping_unmap(&m);
        return why ? cs_error_set(err, CS_EMALFORMED, "%s", why)
                   : cs_error_set(err, CS_ENOMEM, "out of memory mapping release %u's index",
                                  release);
    }
    idx->image = m;
    idx->slots = (const uint64_t *)((const uint8_t *)data + S_HEADER);
    idx->mask = h.slots - 1;
    idx->max_probe = h.max_probe;
    idx->arena = (const uint8_t *)(idx->slots + h.slots);
    idx->arena_len = h.arena;
    idx->records_len = h.records;
    idx->pool_at = h.pool;
    idx->entries = h.entries;
    idx->bytes = v.len;
    /* read it in ahead of the first probes: a start on a cold cache then waits on one read
     * of the image, not on one disk read per probe */
    if (read_ahead) {
        madvise(m.addr, m.len, MADV_WILLNEED);
    }
    *out = idx;
    return CS_OK;
}
