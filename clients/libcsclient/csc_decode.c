/* csc_decode.c: result arenas, reply pre-scan and reply decoding for libcsclient. */
#include "csc_decode.h"
#include "csc_fastread.h"

#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the str keys of a lookup reply (csc_fastread.h) ---- */

const csc_lookup_key_t csc_lookup_strs[CSC_LOOKUP_NSTRS] = {
    {"code", 4, offsetof(cs_client_lookup_t, code)},
    {"input", 5, offsetof(cs_client_lookup_t, input)},
    {"system", 6, offsetof(cs_client_lookup_t, system)},
    {"release", 7, offsetof(cs_client_lookup_t, release)},
    {"reason", 6, offsetof(cs_client_lookup_t, reason)},
    {"message", 7, offsetof(cs_client_lookup_t, message)},
    {"kind", 4, offsetof(cs_client_lookup_t, kind)},
    {"title", 5, offsetof(cs_client_lookup_t, title)},
    {"short", 5, offsetof(cs_client_lookup_t, short_title)},
    {"parent", 6, offsetof(cs_client_lookup_t, parent)},
};

/* ---- arena ---- */

#define S_CHUNK_MIN 4096
/* The chunk that comes with the arena, in the same allocation: what a plain lookup's or a
 * short validate's result needs, so most results cost one malloc (an application that keeps
 * 100 lookups in flight makes and frees them by the hundred thousand). */
#define S_FIRST_CHUNK 960 /* the arena then fits glibc's per-thread cache (1,032 bytes) */

typedef struct s_chunk {
    struct s_chunk *next; /* the chunk allocated before this one */
    size_t used;          /* bytes handed out from data */
    size_t cap;           /* bytes in data */
    max_align_t data[];   /* the memory, aligned for any type */
} s_chunk_t;

struct cs_client_arena {
    s_chunk_t *head; /* newest chunk; allocation happens there */
    int failed;      /* 1 once an allocation failed */
};

/* The arena's header, rounded up so that its first chunk is aligned for any type. */
#define S_ARENA_HEAD                                                                       \
    ((sizeof(cs_client_arena_t) + alignof(max_align_t) - 1) / alignof(max_align_t) *        \
     alignof(max_align_t))

static s_chunk_t *s_first(cs_client_arena_t *a)
{
    return (s_chunk_t *)(void *)((unsigned char *)a + S_ARENA_HEAD);
}

cs_client_arena_t *cs_client_arena_new(void)
{
    cs_client_arena_t *a = malloc(S_ARENA_HEAD + sizeof(s_chunk_t) + S_FIRST_CHUNK);
    if (a) {
        a->failed = 0;
        a->head = s_first(a);
        a->head->next = NULL;
        a->head->used = 0;
        a->head->cap = S_FIRST_CHUNK;
    }
    return a;
}

void *cs_client_arena_alloc(cs_client_arena_t *a, size_t size)
{
    const size_t align = alignof(max_align_t);
    size = (size + align - 1) / align * align;
    if (size == 0) {
        size = align;
    }
    s_chunk_t *ch = a->head;
    if (!ch || ch->cap - ch->used < size) {
        size_t cap = size > S_CHUNK_MIN ? size : S_CHUNK_MIN;
        if (ch && ch->cap * 2 > cap && ch->cap < (1u << 20)) {
            cap = ch->cap * 2; /* fewer, larger chunks for big results */
        }
        ch = malloc(sizeof *ch + cap);
        if (!ch) {
            a->failed = 1;
            return NULL;
        }
        ch->next = a->head;
        ch->used = 0;
        ch->cap = cap;
        a->head = ch;
    }
    void *p = (unsigned char *)ch->data + ch->used;
    ch->used += size;
    memset(p, 0, size);
    return p;
}

int cs_client_arena_failed(const cs_client_arena_t *a)
{
    return a->failed;
}

void cs_client_arena_destroy(cs_client_arena_t **a)
{
    if (!a || !*a) {
        return;
    }
    s_chunk_t *ch = (*a)->head;
    while (ch && ch != s_first(*a)) {
        s_chunk_t *next = ch->next;
        free(ch);
        ch = next;
    }
    free(*a);
    *a = NULL;
}

/* ---- pre-scan ---- */

/* Walk the objects one header at a time, counting the objects still owed. Every object takes
 * at least one byte, so a count larger than the bytes left is a lie: refuse it before
 * msgpack-c would allocate for it. */
int cs_client_prescan(const void *buf, size_t len)
{
    const unsigned char *p = buf;
    size_t pos = 0;
    uint64_t owed = 1;
    while (owed > 0) {
        size_t hdr;
        uint64_t body, children;
        if (pos >= len || csc_rd_head(p + pos, len - pos, &hdr, &body, &children) != 0) {
            return -1;
        }
        owed--;
        pos += hdr;
        if (body > len - pos) {
            return -1;
        }
        pos += (size_t)body;
        owed += children;
        if (owed > len - pos) {
            return -1;
        }
    }
    return pos == len ? 0 : -1;
}

/* ---- object access ---- */

const msgpack_object *cs_client_obj_get(const msgpack_object *map, const char *key)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP) {
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

/* A copy of a str object, or NULL when it is absent or not a string. */
static const char *s_str(cs_client_arena_t *a, const msgpack_object *o)
{
    if (!o || o->type != MSGPACK_OBJECT_STR) {
        return NULL;
    }
    char *s = cs_client_arena_alloc(a, (size_t)o->via.str.size + 1);
    if (s) {
        memcpy(s, o->via.str.ptr, o->via.str.size);
        s[o->via.str.size] = '\0';
    }
    return s;
}

static const char *s_key_str(cs_client_arena_t *a, const msgpack_object *map, const char *key)
{
    return s_str(a, cs_client_obj_get(map, key));
}

static bool s_key_bool(const msgpack_object *map, const char *key)
{
    const msgpack_object *o = cs_client_obj_get(map, key);
    return o && o->type == MSGPACK_OBJECT_BOOLEAN && o->via.boolean;
}

/* -1 if absent or not a bool, else 0/1. */
static int s_key_flag(const msgpack_object *map, const char *key)
{
    const msgpack_object *o = cs_client_obj_get(map, key);
    if (!o || o->type != MSGPACK_OBJECT_BOOLEAN) {
        return -1;
    }
    return o->via.boolean ? 1 : 0;
}

static int64_t s_key_int(const msgpack_object *map, const char *key, int64_t dflt)
{
    const msgpack_object *o = cs_client_obj_get(map, key);
    if (o && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        return o->via.u64 > INT64_MAX ? INT64_MAX : (int64_t)o->via.u64;
    }
    if (o && o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        return o->via.i64;
    }
    return dflt;
}

static uint64_t s_key_u64(const msgpack_object *map, const char *key)
{
    const msgpack_object *o = cs_client_obj_get(map, key);
    return o && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? o->via.u64 : 0;
}

/* The array under key, or NULL when absent (n = 0). Returns -1 when present but not an array,
 * which the caller treats as a protocol error. */
static int s_key_array(const msgpack_object *map, const char *key, const msgpack_object **items,
                       size_t *n)
{
    const msgpack_object *o = cs_client_obj_get(map, key);
    *items = NULL;
    *n = 0;
    if (!o || o->type == MSGPACK_OBJECT_NIL) {
        return 0;
    }
    if (o->type != MSGPACK_OBJECT_ARRAY) {
        return -1;
    }
    *items = o->via.array.ptr;
    *n = o->via.array.size;
    return 0;
}

static void *s_array(cs_client_arena_t *a, size_t n, size_t size)
{
    if (n == 0) {
        return NULL;
    }
    if (n > SIZE_MAX / size) {
        return NULL;
    }
    return cs_client_arena_alloc(a, n * size);
}

/* A list of strings under key (non-strings become NULL entries). */
static int s_key_strlist(cs_client_arena_t *a, const msgpack_object *map, const char *key,
                         const char *const **out, size_t *n)
{
    const msgpack_object *items;
    *out = NULL;
    if (s_key_array(map, key, &items, n) != 0) {
        *n = 0;
        return -1;
    }
    const char **v = s_array(a, *n, sizeof *v);
    if (*n > 0 && !v) {
        *n = 0;
        return 0; /* the arena is marked failed */
    }
    for (size_t i = 0; i < *n; i++) {
        v[i] = s_str(a, &items[i]);
    }
    *out = v;
    return 0;
}

/* Finish a decode: hand the result over, or free everything on failure. */
static int s_finish(cs_client_arena_t **a, int proto_ok, void *result, void **out)
{
    if (cs_client_arena_failed(*a)) {
        cs_client_arena_destroy(a);
        return CS_CLIENT_ENOMEM;
    }
    if (!proto_ok) {
        cs_client_arena_destroy(a);
        return CS_CLIENT_EPROTO;
    }
    *out = result;
    return CS_CLIENT_OK;
}

/* Start a decode: an arena holding a zeroed result struct of size bytes. */
static void *s_start(cs_client_arena_t **a, size_t size)
{
    *a = cs_client_arena_new();
    if (!*a) {
        return NULL;
    }
    void *r = cs_client_arena_alloc(*a, size);
    if (!r) {
        cs_client_arena_destroy(a);
    }
    return r;
}

/* ---- replies ---- */

int cs_client_decode_status(const msgpack_object *reply, cs_client_error_t *err)
{
    memset(err, 0, sizeof *err);
    const msgpack_object *ok = cs_client_obj_get(reply, "ok");
    if (!ok || ok->type != MSGPACK_OBJECT_BOOLEAN) {
        err->status = CS_CLIENT_EPROTO;
        snprintf(err->message, sizeof err->message, "the reply has no boolean \"ok\"");
        return CS_CLIENT_EPROTO;
    }
    if (ok->via.boolean) {
        return CS_CLIENT_OK;
    }
    const msgpack_object *e = cs_client_obj_get(reply, "error");
    const msgpack_object *code = cs_client_obj_get(e, "code");
    const msgpack_object *msg = cs_client_obj_get(e, "message");
    err->status = CS_CLIENT_ESERVER;
    if (code && code->type == MSGPACK_OBJECT_STR) {
        snprintf(err->code, sizeof err->code, "%.*s", (int)code->via.str.size,
                 code->via.str.ptr);
    } else {
        snprintf(err->code, sizeof err->code, "internal");
    }
    if (msg && msg->type == MSGPACK_OBJECT_STR) {
        snprintf(err->message, sizeof err->message, "%.*s", (int)msg->via.str.size,
                 msg->via.str.ptr);
    } else {
        snprintf(err->message, sizeof err->message, "the broker answered %s", err->code);
    }
    return CS_CLIENT_ESERVER;
}

int cs_client_decode_ping(const msgpack_object *reply, cs_client_ping_t *out)
{
    memset(out, 0, sizeof *out);
    const msgpack_object *v = cs_client_obj_get(reply, "version");
    if (v && v->type == MSGPACK_OBJECT_STR) {
        snprintf(out->version, sizeof out->version, "%.*s", (int)v->via.str.size,
                 v->via.str.ptr);
    }
    out->protocol = (int)s_key_int(reply, "protocol", 0);
    return CS_CLIENT_OK;
}

static int s_decode_notes(cs_client_arena_t *a, const msgpack_object *notes,
                          cs_client_lookup_t *r)
{
    if (!notes || notes->type == MSGPACK_OBJECT_NIL) {
        return 1;
    }
    if (notes->type != MSGPACK_OBJECT_MAP) {
        return 0;
    }
    size_t n = notes->via.map.size;
    cs_client_note_t *v = s_array(a, n, sizeof *v);
    if (n > 0 && !v) {
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        const msgpack_object_kv *kv = &notes->via.map.ptr[i];
        v[i].type = s_str(a, &kv->key);
        if (kv->val.type == MSGPACK_OBJECT_ARRAY) {
            size_t m = kv->val.via.array.size;
            const char **texts = s_array(a, m, sizeof *texts);
            for (size_t j = 0; texts && j < m; j++) {
                texts[j] = s_str(a, &kv->val.via.array.ptr[j]);
            }
            v[i].n = texts ? m : 0;
            v[i].texts = texts;
        } else if (kv->val.type == MSGPACK_OBJECT_MAP) {
            size_t m = kv->val.via.map.size;
            const char **texts = s_array(a, m, sizeof *texts);
            const char **labels = s_array(a, m, sizeof *labels);
            for (size_t j = 0; texts && labels && j < m; j++) {
                labels[j] = s_str(a, &kv->val.via.map.ptr[j].key);
                texts[j] = s_str(a, &kv->val.via.map.ptr[j].val);
            }
            v[i].n = texts && labels ? m : 0;
            v[i].texts = texts;
            v[i].labels = labels;
        } else {
            return 0;
        }
    }
    r->n_notes = n;
    r->notes = v;
    return 1;
}

/* A lookup reply's str and bool keys, in one walk over its map (a reply of some 12 keys read
 * key by key would be walked 12 times). */
static void s_lookup_scalars(cs_client_arena_t *a, const msgpack_object *reply,
                             cs_client_lookup_t *r)
{
    const csc_lookup_key_t *strs = csc_lookup_strs;
    if (reply->type != MSGPACK_OBJECT_MAP) {
        return;
    }
    unsigned seen = 0; /* keys given twice: the first counts, as cs_client_obj_get reads */
    for (uint32_t i = 0; i < reply->via.map.size; i++) {
        const msgpack_object *k = &reply->via.map.ptr[i].key;
        const msgpack_object *v = &reply->via.map.ptr[i].val;
        if (k->type != MSGPACK_OBJECT_STR) {
            continue;
        }
        const char *kp = k->via.str.ptr;
        uint32_t kn = k->via.str.size;
        if ((kn == 5 && memcmp(kp, "found", 5) == 0) ||
            (kn == 8 && memcmp(kp, "billable", 8) == 0)) {
            unsigned bit = kn == 5 ? 1u << 30 : 1u << 31;
            if (!(seen & bit)) {
                seen |= bit;
                *(kn == 5 ? &r->found : &r->billable) =
                    v->type == MSGPACK_OBJECT_BOOLEAN && v->via.boolean;
            }
            continue;
        }
        for (unsigned j = 0; j < CSC_LOOKUP_NSTRS; j++) {
            if (strs[j].len == kn && memcmp(strs[j].key, kp, kn) == 0) {
                if (!(seen & (1u << j))) {
                    seen |= 1u << j;
                    *(const char **)(void *)((char *)r + strs[j].field) = s_str(a, v);
                }
                break;
            }
        }
    }
}

int cs_client_decode_lookup(const msgpack_object *reply, cs_client_lookup_t **out)
{
    cs_client_arena_t *a = NULL;
    cs_client_lookup_t *r = s_start(&a, sizeof *r);
    if (!r) {
        return CS_CLIENT_ENOMEM;
    }
    r->arena = a;
    s_lookup_scalars(a, reply, r);
    int ok = 1;
    const msgpack_object *items;
    size_t n;
    if (s_key_array(reply, "children", &items, &n) != 0) {
        ok = 0;
    } else if (n > 0) {
        cs_client_child_t *v = s_array(a, n, sizeof *v);
        for (size_t i = 0; v && i < n; i++) {
            v[i].code = s_key_str(a, &items[i], "code");
            v[i].title = s_key_str(a, &items[i], "title");
            v[i].billable = s_key_bool(&items[i], "billable");
        }
        r->children = v;
        r->n_children = v ? n : 0;
    }
    if (s_key_array(reply, "ancestors", &items, &n) != 0) {
        ok = 0;
    } else if (n > 0) {
        cs_client_ancestor_t *v = s_array(a, n, sizeof *v);
        for (size_t i = 0; v && i < n; i++) {
            v[i].code = s_key_str(a, &items[i], "code");
            v[i].kind = s_key_str(a, &items[i], "kind");
            v[i].title = s_key_str(a, &items[i], "title");
        }
        r->ancestors = v;
        r->n_ancestors = v ? n : 0;
    }
    ok = ok && s_decode_notes(a, cs_client_obj_get(reply, "notes"), r);
    ok = ok && r->code != NULL;
    return s_finish(&a, ok, r, (void **)out);
}

static cs_client_reason_t s_reason(const char *reason, bool valid)
{
    static const struct {
        const char *name;
        cs_client_reason_t why;
    } names[] = {{"malformed", CS_CLIENT_MALFORMED},
                 {"unknown", CS_CLIENT_UNKNOWN},
                 {"not_billable", CS_CLIENT_NOT_BILLABLE},
                 {"not_effective", CS_CLIENT_NOT_EFFECTIVE}};
    if (valid) {
        return CS_CLIENT_VALID;
    }
    for (size_t i = 0; reason && i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(reason, names[i].name) == 0) {
            return names[i].why;
        }
    }
    return CS_CLIENT_OTHER_REASON;
}

/* One validate result (or claim line) into d. 0, or -1 when a list has the wrong shape. */
static int s_verdict(cs_client_arena_t *a, const msgpack_object *x, cs_client_verdict_t *d)
{
    d->input = s_key_str(a, x, "input");
    d->code = s_key_str(a, x, "code");
    d->valid = s_key_bool(x, "valid");
    d->billable = s_key_bool(x, "billable");
    d->title = s_key_str(a, x, "title");
    d->reason = s_key_str(a, x, "reason");
    d->message = s_key_str(a, x, "message");
    d->kind = s_key_str(a, x, "kind");
    d->why = s_reason(d->reason, d->valid);
    if (s_key_strlist(a, x, "hint", &d->hint, &d->n_hint) != 0 ||
        s_key_strlist(a, x, "valid_in", &d->valid_in, &d->n_valid_in) != 0 ||
        s_key_strlist(a, x, "replaced_by", &d->replaced_by, &d->n_replaced_by) != 0) {
        return -1;
    }
    return 0;
}

int cs_client_decode_validation(const msgpack_object *reply, cs_client_validation_t **out)
{
    cs_client_arena_t *a = NULL;
    cs_client_validation_t *r = s_start(&a, sizeof *r);
    if (!r) {
        return CS_CLIENT_ENOMEM;
    }
    r->arena = a;
    r->system = s_key_str(a, reply, "system");
    r->release = s_key_str(a, reply, "release");
    const msgpack_object *items;
    size_t n;
    const msgpack_object *res = cs_client_obj_get(reply, "results");
    int ok = res && res->type == MSGPACK_OBJECT_ARRAY &&
             s_key_array(reply, "results", &items, &n) == 0;
    cs_client_verdict_t *v = ok ? s_array(a, n, sizeof *v) : NULL;
    for (size_t i = 0; v && i < n; i++) {
        ok &= s_verdict(a, &items[i], &v[i]) == 0;
        if (!v[i].valid) {
            r->n_invalid++;
        }
    }
    if (v) {
        r->results = v;
        r->n = n;
    }
    return s_finish(&a, ok, r, (void **)out);
}

int cs_client_decode_search(const msgpack_object *reply, cs_client_search_t **out)
{
    cs_client_arena_t *a = NULL;
    cs_client_search_t *r = s_start(&a, sizeof *r);
    if (!r) {
        return CS_CLIENT_ENOMEM;
    }
    r->arena = a;
    r->release = s_key_str(a, reply, "release");
    r->total = s_key_u64(reply, "total");
    const msgpack_object *items;
    size_t n;
    int ok = s_key_array(reply, "hits", &items, &n) == 0;
    cs_client_hit_t *v = ok ? s_array(a, n, sizeof *v) : NULL;
    for (size_t i = 0; v && i < n; i++) {
        v[i].code = s_key_str(a, &items[i], "code");
        v[i].title = s_key_str(a, &items[i], "title");
        v[i].billable = s_key_bool(&items[i], "billable");
        v[i].score = s_key_int(&items[i], "score", 0);
    }
    if (v) {
        r->hits = v;
        r->n = n;
    }
    return s_finish(&a, ok, r, (void **)out);
}

int cs_client_decode_crosswalk(const msgpack_object *reply, cs_client_crosswalk_t **out)
{
    cs_client_arena_t *a = NULL;
    cs_client_crosswalk_t *r = s_start(&a, sizeof *r);
    if (!r) {
        return CS_CLIENT_ENOMEM;
    }
    r->arena = a;
    r->map = s_key_str(a, reply, "map");
    r->code = s_key_str(a, reply, "code");
    const msgpack_object *items;
    size_t n;
    int ok = s_key_array(reply, "targets", &items, &n) == 0;
    cs_client_target_t *v = ok ? s_array(a, n, sizeof *v) : NULL;
    for (size_t i = 0; v && i < n; i++) {
        v[i].code = s_key_str(a, &items[i], "code");
        v[i].title = s_key_str(a, &items[i], "title");
        v[i].approximate = s_key_flag(&items[i], "approximate");
        v[i].no_map = s_key_flag(&items[i], "no_map");
        v[i].combination = s_key_flag(&items[i], "combination");
        v[i].scenario = s_key_int(&items[i], "scenario", -1);
        v[i].choice = s_key_int(&items[i], "choice", -1);
    }
    if (v) {
        r->targets = v;
        r->n = n;
    }
    return s_finish(&a, ok, r, (void **)out);
}

int cs_client_decode_releases(const msgpack_object *reply, cs_client_releases_t **out)
{
    cs_client_arena_t *a = NULL;
    cs_client_releases_t *r = s_start(&a, sizeof *r);
    if (!r) {
        return CS_CLIENT_ENOMEM;
    }
    r->arena = a;
    const msgpack_object *items;
    size_t n;
    const msgpack_object *rels = cs_client_obj_get(reply, "releases");
    int ok = rels && rels->type == MSGPACK_OBJECT_ARRAY &&
             s_key_array(reply, "releases", &items, &n) == 0;
    cs_client_release_t *v = ok ? s_array(a, n, sizeof *v) : NULL;
    for (size_t i = 0; v && i < n; i++) {
        const msgpack_object *x = &items[i];
        cs_client_release_t *d = &v[i];
        d->system = s_key_str(a, x, "system");
        d->release = s_key_str(a, x, "release");
        d->effective_from = s_key_str(a, x, "effective_from");
        d->effective_to = s_key_str(a, x, "effective_to");
        d->status = s_key_str(a, x, "status");
        d->codes = s_key_u64(x, "codes");
        d->billable = s_key_u64(x, "billable");
        d->loaded_at = s_key_int(x, "loaded_at", 0);
        const msgpack_object *src = cs_client_obj_get(x, "source");
        d->loader = s_key_str(a, src, "loader");
        const msgpack_object *files;
        size_t nf;
        if (s_key_array(src, "files", &files, &nf) != 0) {
            ok = 0;
            continue;
        }
        cs_client_file_t *f = s_array(a, nf, sizeof *f);
        for (size_t j = 0; f && j < nf; j++) {
            f[j].name = s_key_str(a, &files[j], "name");
            f[j].sha256 = s_key_str(a, &files[j], "sha256");
            f[j].bytes = s_key_u64(&files[j], "bytes");
        }
        d->files = f;
        d->n_files = f ? nf : 0;
    }
    if (v) {
        r->releases = v;
        r->n = n;
    }
    return s_finish(&a, ok, r, (void **)out);
}

/* One edit of a claim reply. 0, or -1 when a key has the wrong shape. */
static int s_edit(cs_client_arena_t *a, const msgpack_object *x, cs_client_edit_t *e)
{
    const msgpack_object *lines, *codes;
    size_t nl, nc;
    const char *sev = s_key_str(a, x, "severity");
    e->edit = s_key_str(a, x, "edit");
    e->error = sev && strcmp(sev, "error") == 0;
    e->message = s_key_str(a, x, "message");
    const msgpack_object *src = cs_client_obj_get(x, "source");
    e->source_set = s_key_str(a, src, "set");
    e->source_release = s_key_str(a, src, "release");
    if (!e->edit || s_key_array(x, "lines", &lines, &nl) != 0 ||
        s_key_array(x, "codes", &codes, &nc) != 0 || nl != nc) {
        return -1;
    }
    int64_t *l = s_array(a, nl, sizeof *l);
    const char **c = s_array(a, nc, sizeof *c);
    for (size_t i = 0; l && c && i < nl; i++) {
        l[i] = lines[i].type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (int64_t)lines[i].via.u64 : -1;
        c[i] = s_str(a, &codes[i]);
    }
    e->lines = l;
    e->codes = (const char *const *)c;
    e->n_lines = l && c ? nl : 0;
    return 0;
}

int cs_client_decode_claim(const msgpack_object *reply, cs_client_claim_result_t **out)
{
    cs_client_arena_t *a = NULL;
    cs_client_claim_result_t *r = s_start(&a, sizeof *r);
    if (!r) {
        return CS_CLIENT_ENOMEM;
    }
    r->arena = a;
    r->clean = s_key_bool(reply, "clean");
    const msgpack_object *lines, *edits, *skipped;
    size_t nl, ne, ns;
    int ok = s_key_array(reply, "lines", &lines, &nl) == 0 &&
             s_key_array(reply, "edits", &edits, &ne) == 0 &&
             s_key_array(reply, "skipped", &skipped, &ns) == 0;
    cs_client_verdict_t *v = ok ? s_array(a, nl, sizeof *v) : NULL;
    for (size_t i = 0; v && i < nl; i++) {
        ok &= s_verdict(a, &lines[i], &v[i]) == 0;
        r->n_invalid += !v[i].valid;
    }
    r->lines = v;
    r->n_lines = v ? nl : 0;
    cs_client_edit_t *e = ok ? s_array(a, ne, sizeof *e) : NULL;
    for (size_t i = 0; e && i < ne; i++) {
        ok &= s_edit(a, &edits[i], &e[i]) == 0;
    }
    cs_client_skip_t *s = ok ? s_array(a, ns, sizeof *s) : NULL;
    for (size_t i = 0; s && i < ns; i++) {
        s[i].edit = s_key_str(a, &skipped[i], "edit");
        s[i].why = s_key_str(a, &skipped[i], "why");
    }
    r->edits = e;
    r->n_edits = e ? ne : 0; /* none when out of memory: s_finish says so */
    r->skipped = s;
    r->n_skipped = s ? ns : 0;
    return s_finish(&a, ok, r, (void **)out);
}
