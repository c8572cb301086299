/* cs_query.c: lookup, validate and releases over one store snapshot. */
#include "engine/cs_query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/cs_claim.h"
#include "engine/cs_crosswalk.h"
#include "engine/cs_diff.h"
#include "engine/cs_diff_sets.h"
#include "engine/cs_index_answer.h"
#include "engine/cs_op.h"
#include "engine/cs_resolve.h"
#include "engine/cs_resolve_memo.h"
#include "engine/cs_search.h"
#include "engine/cs_search_cache.h"
#include "engine/cs_validate.h"
#include "store/cs_catalog.h"
#include "store/cs_codeidx.h"
#include "store/cs_entry.h"
#include "store/cs_key.h"
#include "store/cs_maps.h"
#include "util/cs_date.h"
#include "util/cs_log.h"

#define CS_NOTE_TYPES_MAX 16

/* A lookup shown ahead of its turn: where its later fetches read. */
typedef struct s_shown {
    int ok; /* 0: nothing to fetch at the later stages */
    uint32_t release;
    uint64_t hash;
} s_shown_t;

struct cs_engine {
    cs_store_t *store;                /* borrowed */
    const cs_plugin_host_t *plugins;  /* borrowed */
    cs_reader_t *reader;              /* this thread's snapshot */
    cs_catalog_memo_t memo;           /* releases resolved in the current snapshot */
    cs_codeidx_holder_t index;        /* code indexes this thread holds */
    cs_claim_result_t claim;          /* claims' results and what they read, kept from request
                                       * to request (cs_claim_op.c) */
    cs_search_cache_t *searches;      /* results of costly searches; NULL: none kept */
    cs_search_cache_t *shared;        /* instead of searches, another's (borrowed); NULL: none */
    cs_search_scratch_t *scratch;     /* the buffers searches work in; NULL: each its own */
    uint64_t budget;                  /* bound on a search's work (0: none) */
    int deferred;                     /* the last search went over it and wrote nothing */
    cs_resolve_memo_t fast;           /* the last lookup's resolution */
    s_shown_t ahead[CS_ENGINE_AHEAD]; /* lookups shown ahead (cs_engine_lookup_ahead), by seq */
};

/* The release a request resolved to, and its system. */
typedef struct s_ctx {
    const cs_request_t *req;
    const cs_plugin_desc_t *sys;  /* system plugin */
    cs_resolved_t rel;            /* release */
} s_ctx_t;

cs_engine_t *cs_engine_new(cs_store_t *store, const cs_plugin_host_t *plugins,
                           cs_error_t *err)
{
    cs_engine_t *e = calloc(1, sizeof *e);
    if (!e) {
        cs_error_set(err, CS_ENOMEM, "out of memory creating the query engine");
        return NULL;
    }
    e->store = store;
    e->plugins = plugins;
    e->reader = cs_reader_new(store, err);
    if (!e->reader) {
        free(e);
        return NULL;
    }
    e->searches = cs_search_cache_new(CS_SEARCH_CACHE_MIN_TOTAL); /* NULL: none kept */
    if (e->searches) {
        cs_search_cache_keep_costly(e->searches, CS_SEARCH_CACHE_MIN_WORK);
    }
    e->scratch = cs_search_scratch_new();                       /* NULL: each its own */
    return e;
}

void cs_engine_use_index(cs_engine_t *e, cs_codeidx_set_t *set)
{
    cs_codeidx_holder_fini(&e->index);
    cs_codeidx_holder_init(&e->index, set);
}

void cs_engine_destroy(cs_engine_t **engine)
{
    if (!engine || !*engine) {
        return;
    }
    cs_claim_result_fini(&(*engine)->claim);
    cs_codeidx_holder_fini(&(*engine)->index);
    cs_search_cache_destroy(&(*engine)->searches);
    cs_search_scratch_destroy(&(*engine)->scratch);
    cs_reader_destroy(&(*engine)->reader);
    free(*engine);
    *engine = NULL;
}

/* ---- release resolution ---- */

/* The request's release (cs_resolve.h), or its error packed. */
static cs_proto_err_t s_resolve_release(cs_engine_t *e, const cs_request_t *req,
                                        cs_out_t *out, s_ctx_t *ctx)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->req = req;
    cs_resolution_t res;
    if (cs_resolve(e->reader, &e->memo, e->plugins, req->system, req->release,
                   req->has_date ? req->date : 0, &res) != CS_PERR_NONE) {
        cs_reply_error(out, req, res.err, res.msg);
        return res.err;
    }
    ctx->sys = res.sys;
    ctx->rel = res.rel;
    return CS_PERR_NONE;
}

/* A release that failed its integrity check answers nothing, and says why: never a silently
 * different answer, not even from the release before it. */
static cs_proto_err_t s_refuse_failed(cs_engine_t *e, const cs_request_t *req,
                                      cs_out_t *out, const char *system,
                                      const cs_resolved_t *rel)
{
    char why[320];
    if (!cs_store_release_failed(e->store, rel->id, why, sizeof why)) {
        return CS_PERR_NONE;
    }
    return cs_reply_errorf(out, req, CS_PERR_CORRUPT_RELEASE,
                           "%s release %.*s %s; reload it or restore the database", system,
                           (int)rel->label.len, rel->label.ptr, why);
}

static cs_proto_err_t s_resolve(cs_engine_t *e, const cs_request_t *req, cs_out_t *out,
                                s_ctx_t *ctx)
{
    cs_proto_err_t perr = s_resolve_release(e, req, out, ctx);
    return perr != CS_PERR_NONE ? perr : s_refuse_failed(e, req, out, ctx->sys->name, &ctx->rel);
}

/* A request that met a corrupt page (cs_reader_corrupt) gets an error in place of whatever
 * was packed since mark: part of its answer could not be read. */
static cs_proto_err_t s_unless_corrupt(cs_engine_t *e, const cs_request_t *req,
                                       cs_out_t *out, size_t mark, cs_proto_err_t rc)
{
    if (!cs_reader_corrupt(e->reader)) {
        return rc;
    }
    cs_out_rewind(out, mark);
    return cs_reply_errorf(out, req, CS_PERR_CORRUPT_RELEASE,
                           "a page of the database this answer needs is corrupt (the data file "
                           "is damaged); see codeset verify");
}


/* ---- entry access ---- */

/* The entry (cls, key) of release rel: its head (billable, dates, display, parent, kind,
 * titles), which is what validation and listings read, and, when need names them
 * (CS_CODEIDX_HAS_NOTES, CS_CODEIDX_HAS_ATTRS), its notes and attributes. From the release's
 * code index when there is one, else from LMDB. */
static int s_get_entry_as(cs_engine_t *e, uint32_t rel, uint8_t cls, const char *key,
                          size_t klen, unsigned need, cs_entry_t *out)
{
    return cs_codeidx_entry(&e->index, e->reader, rel, cls, key, klen, need, out);
}

static int s_get_entry(cs_engine_t *e, uint32_t rel, uint8_t cls, const char *key, size_t klen,
                       cs_entry_t *out)
{
    return s_get_entry_as(e, rel, cls, key, klen, 0, out);
}

/* Find the entry with what a lookup shows: attributes, and notes when asked for. */
static int s_find_full(cs_engine_t *e, uint32_t rel, const cs_code_t *c, unsigned include,
                       cs_entry_t *out)
{
    unsigned need = CS_CODEIDX_HAS_ATTRS | (include & CS_INCLUDE_NOTES ? CS_CODEIDX_HAS_NOTES : 0);
    return s_get_entry_as(e, rel, c->cls, c->key, strlen(c->key), need, out);
}

/* ---- lookup ---- */

static uint32_t s_count_children(cs_engine_t *e, uint32_t rel, uint8_t cls, const char *key,
                                 size_t klen)
{
    uint8_t prefix[CS_KEY_MAX];
    size_t plen = cs_key_children(prefix, rel, cls, key, klen);
    cs_val_t k, v;
    uint32_t n = 0;
    int rc = plen ? cs_reader_seek(e->reader, CS_DB_CHILDREN, prefix, plen, &k, &v) : -1;
    while (rc == CS_OK && k.len >= plen && memcmp(k.data, prefix, plen) == 0) {
        n++;
        rc = cs_reader_next(e->reader, CS_DB_CHILDREN, &k, &v);
    }
    return n;
}

static void s_pack_children(cs_engine_t *e, uint32_t rel, uint8_t cls, const char *key,
                            size_t klen, cs_out_t *out)
{
    uint32_t n = s_count_children(e, rel, cls, key, klen);
    cs_out_array(out, n);
    uint8_t prefix[CS_KEY_MAX];
    size_t plen = cs_key_children(prefix, rel, cls, key, klen);
    cs_val_t k, v;
    int rc = plen ? cs_reader_seek(e->reader, CS_DB_CHILDREN, prefix, plen, &k, &v) : -1;
    for (uint32_t i = 0; i < n; i++) {
        cs_entry_t child;
        int ok = rc == CS_OK && v.len >= 2 &&
                 s_get_entry(e, rel, ((const uint8_t *)v.data)[0], (const char *)v.data + 1,
                             v.len - 1, &child) == CS_OK;
        if (!ok) {
            cs_out_nil(out); /* a corrupt store: keep the array's count true */
        } else {
            cs_out_map(out, 3);
            cs_out_cstr(out, "code");
            cs_out_span(out, child.display);
            cs_out_cstr(out, "title");
            cs_out_span(out, child.title);
            cs_out_kv_bool(out, "billable", child.billable);
        }
        rc = cs_reader_next(e->reader, CS_DB_CHILDREN, &k, &v);
    }
}

static void s_pack_ancestors(cs_engine_t *e, uint32_t rel, const cs_entry_t *start,
                             cs_out_t *out)
{
    cs_entry_t chain[16];
    uint32_t n = 0;
    cs_entry_t cur = *start;
    while (n < 16 && cur.parent_cls != 0 &&
           s_get_entry(e, rel, cur.parent_cls, cur.parent_key.ptr, cur.parent_key.len,
                       &chain[n]) == CS_OK) {
        cur = chain[n++];
    }
    cs_out_array(out, n);
    for (uint32_t i = 0; i < n; i++) {
        cs_out_map(out, 3);
        cs_out_cstr(out, "code");
        cs_out_span(out, chain[i].display);
        cs_out_cstr(out, "kind");
        cs_out_span(out, chain[i].kind);
        cs_out_cstr(out, "title");
        cs_out_span(out, chain[i].title);
    }
}

static int s_span_eq(cs_span_t a, cs_span_t b)
{
    return a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0;
}

/* notes: {type: [text...]}, seven_chr_def: {char: meaning}. Types in first-seen order. */
static void s_pack_notes(const cs_entry_t *ent, cs_out_t *out)
{
    cs_span_t types[CS_NOTE_TYPES_MAX];
    uint32_t counts[CS_NOTE_TYPES_MAX];
    uint32_t n_types = 0;
    const uint8_t *pos = ent->notes;
    cs_span_t type, label, text;
    while (cs_entry_note_next(ent, &pos, &type, &label, &text)) {
        uint32_t i = 0;
        while (i < n_types && !s_span_eq(types[i], type)) {
            i++;
        }
        if (i == n_types) {
            if (n_types == CS_NOTE_TYPES_MAX) {
                continue;
            }
            types[n_types] = type;
            counts[n_types++] = 0;
        }
        counts[i]++;
    }
    cs_out_map(out, n_types);
    for (uint32_t i = 0; i < n_types; i++) {
        cs_out_span(out, types[i]);
        int is_map = types[i].len == 13 && memcmp(types[i].ptr, "seven_chr_def", 13) == 0;
        if (is_map) {
            cs_out_map(out, counts[i]);
        } else {
            cs_out_array(out, counts[i]);
        }
        pos = ent->notes;
        uint32_t packed = 0;
        while (packed < counts[i] && cs_entry_note_next(ent, &pos, &type, &label, &text)) {
            if (!s_span_eq(type, types[i])) {
                continue;
            }
            if (is_map) {
                cs_out_span(out, label);
            }
            cs_out_span(out, text);
            packed++;
        }
    }
}

static void s_pack_date(cs_out_t *out, const char *key, int yyyymmdd)
{
    cs_out_cstr(out, key);
    if (yyyymmdd <= 0) {
        cs_out_nil(out);
        return;
    }
    char d[11];
    cs_date_format(yyyymmdd, d);
    cs_out_cstr(out, d);
}

/* attributes: {name: value}, in emission order (loaders give each name once per entry). */
static void s_pack_attrs(const cs_entry_t *ent, cs_out_t *out)
{
    uint32_t n = 0;
    const uint8_t *pos = ent->attrs;
    cs_span_t name, value;
    while (cs_entry_attr_next(ent, &pos, &name, &value)) {
        n++;
    }
    cs_out_map(out, n);
    pos = ent->attrs;
    for (uint32_t i = 0; i < n && cs_entry_attr_next(ent, &pos, &name, &value); i++) {
        cs_out_span(out, name);
        cs_out_span(out, value);
    }
}

static int s_input_differs(cs_str_t in, const char *display)
{
    return in.len != strlen(display) || memcmp(in.ptr, display, in.len) != 0;
}

/* The opening of the reply to req, a lookup that found ent in release label of system. */
static void s_lookup_found(const cs_request_t *req, const char *system, cs_span_t label,
                           const cs_entry_t *ent, int differs, cs_out_t *out)
{
    uint32_t n = 8 + (ent->short_title.len ? 1 : 0) + (differs ? 1 : 0);
    n += (ent->n_attrs ? 1 : 0) + (ent->valid_from ? 1 : 0) + (ent->valid_to ? 1 : 0);
    n += (req->include & CS_INCLUDE_CHILDREN) ? 1 : 0;
    n += (req->include & CS_INCLUDE_ANCESTORS) ? 1 : 0;
    n += (req->include & CS_INCLUDE_NOTES) ? 1 : 0;
    cs_lookup_head_t h = {
        .n_keys = n,
        .code = ent->display,
        .system = {system, strlen(system)},
        .release = label,
        .kind = ent->kind,
        .billable = ent->billable,
        .title = ent->title,
        .parent = {NULL, 0},
        .short_title = ent->short_title,
        .input = {NULL, 0},
    };
    if (ent->parent_cls) {
        h.parent = ent->parent.ptr ? ent->parent : (cs_span_t){"", 0};
    }
    if (differs) {
        h.input = (cs_span_t){req->code.ptr ? req->code.ptr : "", req->code.len};
    }
    cs_out_lookup_head(out, req, &h);
}

/* The reply to req, a lookup of code (normalised) in release label of system: found or not
 * in ent (rc, as cs_codeidx_entry's). e reads ancestors and children when req asks for them,
 * in its snapshot. */
static void s_lookup_answer(cs_engine_t *e, const cs_request_t *req, const char *system,
                            uint32_t rel, cs_span_t label, const cs_code_t *code, int rc,
                            const cs_entry_t *ent, cs_out_t *out)
{
    int differs = s_input_differs(req->code, code->display);
    if (rc != CS_OK) {
        cs_reply_begin(out, req, 1, 4 + (differs ? 1 : 0));
        cs_out_kv_bool(out, "found", 0);
        cs_out_kv_str(out, "code", code->display);
        cs_out_kv_str(out, "system", system);
        cs_out_cstr(out, "release");
        cs_out_span(out, label);
        if (differs) {
            cs_out_cstr(out, "input");
            cs_out_strn(out, req->code.ptr, req->code.len);
        }
        return;
    }
    s_lookup_found(req, system, label, ent, differs, out);
    if (ent->n_attrs) {
        cs_out_cstr(out, "attributes");
        s_pack_attrs(ent, out);
    }
    if (ent->valid_from) {
        s_pack_date(out, "valid_from", ent->valid_from);
    }
    if (ent->valid_to) {
        s_pack_date(out, "valid_to", ent->valid_to);
    }
    if (req->include & CS_INCLUDE_NOTES) {
        cs_out_cstr(out, "notes");
        s_pack_notes(ent, out);
    }
    /* The entry's spans stay valid: LMDB read snapshots do not move data. */
    if (req->include & CS_INCLUDE_ANCESTORS) {
        cs_out_cstr(out, "ancestors");
        s_pack_ancestors(e, rel, ent, out);
    }
    if (req->include & CS_INCLUDE_CHILDREN) {
        cs_out_cstr(out, "children");
        s_pack_children(e, rel, code->cls, code->key, strlen(code->key), out);
    }
}

/* Keep the resolution req made in the current snapshot (cs_resolve_memo.h). */
static void s_fast_remember(cs_engine_t *e, const cs_request_t *req, const s_ctx_t *ctx)
{
    cs_resolve_memo_keep(&e->fast, cs_reader_snapshot(e->reader), req->system.ptr,
                         req->system.len, req->release.ptr, req->release.len,
                         req->has_date ? req->date : 0, ctx->sys, ctx->rel.id,
                         ctx->rel.label.ptr, ctx->rel.label.len);
}

/* A lookup answered from its release's code index with no snapshot, as the embedded API's
 * direct lookup does (engine/cs_embed.c): while nothing was committed since the resolution
 * kept in e->fast was made, it still holds, and the index holds every entry's head. 1 when
 * answered; 0 (nothing written) when the lookup needs the store: another selection, a
 * commit since, no index yet, a failed release, a malformed code, notes or attributes the
 * index does not hold, ancestors or children. */
static int s_lookup_fast(cs_engine_t *e, const cs_request_t *req, cs_out_t *out)
{
    const cs_resolve_memo_t *f = &e->fast;
    if ((req->include & (CS_INCLUDE_CHILDREN | CS_INCLUDE_ANCESTORS)) ||
        !cs_resolve_memo_match(f, req->system.ptr, req->system.len, req->release.ptr,
                               req->release.len, req->has_date ? req->date : 0)) {
        return 0;
    }
    const cs_codeidx_t *idx = cs_resolve_memo_index(f, &e->index, e->store);
    if (!idx || cs_store_release_failed(e->store, f->rel, NULL, 0)) {
        return 0;
    }
    cs_code_t code;
    cs_error_t nerr;
    nerr.code = CS_OK; /* read only when normalize fails, which goes the slow way */
    if (f->sys->system->normalize(req->code.ptr, req->code.len, &code, &nerr) != CS_OK) {
        return 0;
    }
    cs_entry_t ent;
    unsigned flags = 0;
    unsigned need =
        CS_CODEIDX_HAS_ATTRS | (req->include & CS_INCLUDE_NOTES ? CS_CODEIDX_HAS_NOTES : 0);
    int found = cs_codeidx_find(idx, code.cls, code.key, strlen(code.key), &ent, &flags);
    if (found && (flags & need)) {
        return 0;
    }
    s_lookup_answer(e, req, f->sys->name, f->rel, (cs_span_t){f->label, f->label_len}, &code,
                    found ? CS_OK : CS_ENOTFOUND, &ent, out);
    return 1;
}

static cs_proto_err_t s_lookup(cs_engine_t *e, const cs_request_t *req, cs_out_t *out)
{
    s_ctx_t ctx;
    cs_proto_err_t perr = s_resolve(e, req, out, &ctx);
    if (perr != CS_PERR_NONE) {
        return perr;
    }
    s_fast_remember(e, req, &ctx);
    cs_code_t code;
    cs_error_t nerr;
    cs_error_clear(&nerr);
    if (ctx.sys->system->normalize(req->code.ptr, req->code.len, &code, &nerr) != CS_OK) {
        cs_reply_begin(out, req, 1, 6);
        cs_out_kv_bool(out, "found", 0);
        cs_out_cstr(out, "code");
        cs_out_strn(out, req->code.ptr, req->code.len);
        cs_out_cstr(out, "input");
        cs_out_strn(out, req->code.ptr, req->code.len);
        cs_out_kv_str(out, "reason", "malformed");
        cs_out_kv_str(out, "message", nerr.msg);
        cs_out_cstr(out, "release");
        cs_out_span(out, ctx.rel.label);
        return CS_PERR_NONE;
    }
    cs_entry_t ent;
    int rc = s_find_full(e, ctx.rel.id, &code, req->include, &ent);
    s_lookup_answer(e, req, ctx.sys->name, ctx.rel.id, ctx.rel.label, &code, rc, &ent, out);
    return CS_PERR_NONE;
}

/* ---- validate ---- */

/* One input into out; pre is its normalised form when the caller already has it. */
static void s_validate_one(cs_validator_t *vx, cs_str_t input, const cs_code_t *pre,
                           cs_out_t *out)
{
    cs_validate_buf_t buf;
    cs_validation_t v;
    cs_validate_code(vx, input, pre, &buf, &v);
    cs_out_validation(out, &v);
}

/* A batch through a code index, fetching ahead: each code is three dependent cache misses
 * (the slot, the record, then the titles the answer copies), so code i + S_AHEAD is
 * normalised and its slot fetched, code i + S_AHEAD / 2 has its record fetched and code
 * i + S_AHEAD / 4 its titles, while code i is answered. */
#define S_AHEAD CS_ENGINE_AHEAD
typedef struct s_ahead {
    int ok;        /* normalised; else s_validate_one normalises again for the message */
    uint64_t hash;
    cs_code_t code;
} s_ahead_t;

static void s_ahead_fill(s_ctx_t *ctx, const cs_codeidx_t *idx, cs_str_t input, s_ahead_t *a)
{
    cs_error_t nerr;
    a->ok = ctx->sys->system->normalize(input.ptr, input.len, &a->code, &nerr) == CS_OK;
    if (a->ok) {
        a->hash = cs_codeidx_hash(a->code.cls, a->code.key, strlen(a->code.key));
        cs_codeidx_prefetch(idx, a->hash, 0);
    }
}

static void s_validate_ahead(s_ctx_t *ctx, cs_validator_t *vx, const cs_codeidx_t *idx,
                             uint32_t lo, uint32_t hi, cs_out_t *out)
{
    const cs_request_t *req = ctx->req;
    s_ahead_t ring[S_AHEAD];
    for (uint32_t j = lo; j < lo + S_AHEAD; j++) {
        s_ahead_fill(ctx, idx, cs_request_code_at(req, j), &ring[j % S_AHEAD]);
    }
    for (uint32_t i = lo; i < hi; i++) {
        uint32_t mid = i + S_AHEAD / 2;
        if (mid < hi && ring[mid % S_AHEAD].ok) {
            cs_codeidx_prefetch(idx, ring[mid % S_AHEAD].hash, 1);
        }
        uint32_t near = i + S_AHEAD / 4;
        if (near < hi && ring[near % S_AHEAD].ok) {
            cs_codeidx_prefetch(idx, ring[near % S_AHEAD].hash, 2);
        }
        s_ahead_t *cur = &ring[i % S_AHEAD];
        s_validate_one(vx, cs_request_code_at(req, i), cur->ok ? &cur->code : NULL, out);
        if (i + S_AHEAD < hi) {
            s_ahead_fill(ctx, idx, cs_request_code_at(req, i + S_AHEAD), cur);
        }
    }
}

/* A later stage for the lookup shown at ring slot i, if it is to be fetched. */
static void s_shown_fetch(cs_engine_t *e, uint64_t i, int stage)
{
    const s_shown_t *b = &e->ahead[i % CS_ENGINE_AHEAD];
    if (b->ok) {
        cs_codeidx_holder_prefetch(&e->index, b->release, b->hash, stage);
    }
}

int cs_engine_lookup_ahead(cs_engine_t *e, uint64_t seq, cs_str_t system, cs_str_t code)
{
    const cs_resolve_memo_t *f = &e->fast;
    s_shown_t *a = &e->ahead[seq % CS_ENGINE_AHEAD];
    cs_code_t c;
    cs_error_t nerr;
    nerr.code = CS_OK; /* a message is written only when normalize fails: no fetch then */
    a->ok = system.len && cs_resolve_memo_match(f, system.ptr, system.len, NULL, 0, 0) &&
            f->sys->system->normalize(code.ptr, code.len, &c, &nerr) == CS_OK;
    if (a->ok) {
        a->release = f->rel;
        a->hash = cs_codeidx_hash(c.cls, c.key, strlen(c.key));
        a->ok = cs_codeidx_holder_prefetch(&e->index, a->release, a->hash, 0);
    }
    /* slots seq - D/2 and seq - 3D/4, counted modulo D */
    s_shown_fetch(e, seq + CS_ENGINE_AHEAD / 2, 1);
    s_shown_fetch(e, seq + CS_ENGINE_AHEAD / 4, 2);
    return a->ok;
}

/* The results of codes [lo, hi), after the reply's opening when header is set. */
static cs_proto_err_t s_validate_range(cs_engine_t *e, const cs_request_t *req, uint32_t lo,
                                       uint32_t hi, int header, cs_out_t *out)
{
    s_ctx_t ctx;
    cs_proto_err_t perr = s_resolve(e, req, out, &ctx);
    if (perr != CS_PERR_NONE) {
        return perr;
    }
    if (header) {
        cs_reply_begin(out, req, 1, 3);
        cs_out_kv_str(out, "system", ctx.sys->name);
        cs_out_cstr(out, "release");
        cs_out_span(out, ctx.rel.label);
        cs_out_cstr(out, "results");
        cs_out_array(out, req->n_codes);
    }
    cs_validator_t vx;
    cs_validator_init(&vx, e->reader, &e->index, ctx.sys, &ctx.rel, req->has_date, req->date);
    const cs_codeidx_t *idx = cs_codeidx_holder_get(&e->index, ctx.rel.id);
    if (idx && hi - lo >= 2 * S_AHEAD) {
        s_validate_ahead(&ctx, &vx, idx, lo, hi, out);
    } else {
        for (uint32_t i = lo; i < hi; i++) {
            s_validate_one(&vx, cs_request_code_at(req, i), NULL, out);
        }
    }
    cs_validator_fini(&vx);
    return CS_PERR_NONE;
}

/* A request starts: a fresh snapshot, and the code indexes of the last one may go. */
static int s_request_begin(cs_engine_t *e)
{
    int rc = cs_reader_begin(e->reader);
    cs_codeidx_holder_unpin(&e->index);
    return rc;
}

static cs_proto_err_t s_validate(cs_engine_t *e, const cs_request_t *req, cs_out_t *out)
{
    return s_validate_range(e, req, 0, req->n_codes, 1, out);
}

cs_proto_err_t cs_engine_part(cs_engine_t *e, const cs_request_t *req, uint32_t lo,
                              uint32_t hi, int header, cs_out_t *out, uint64_t *snapshot)
{
    *snapshot = 0;
    int claims = req->op == CS_OP_CLAIMS;
    if ((!claims && req->op != CS_OP_VALIDATE) || lo > hi || hi > cs_op_slice_units(req)) {
        return cs_reply_errorf(out, req, CS_PERR_INTERNAL, "a malformed part of a %s",
                               cs_proto_opname(req->op));
    }
    if (s_request_begin(e) != CS_OK) {
        return cs_reply_errorf(out, req, CS_PERR_INTERNAL, "the store cannot be read right now");
    }
    *snapshot = cs_reader_snapshot(e->reader);
    size_t mark = cs_out_mark(out);
    cs_engine_view_t v = {e->reader, &e->index, &e->memo, e->plugins, &e->claim};
    cs_proto_err_t rc =
        claims ? cs_claims_part(&v, req, lo / CS_OP_CLAIM_UNITS, hi / CS_OP_CLAIM_UNITS, header,
                                out)
               : s_validate_range(e, req, lo, hi, header, out);
    cs_reader_end(e->reader);
    rc = s_unless_corrupt(e, req, out, mark, rc);
    if (rc != CS_PERR_NONE) {
        *snapshot = 0;
    }
    return rc;
}

/* ---- releases ---- */

static cs_proto_err_t s_releases(cs_engine_t *e, const cs_request_t *req, cs_out_t *out)
{
    cs_release_t *rels = NULL;
    size_t n = 0;
    const char *sys = req->system.len ? req->system.ptr : NULL;
    if (cs_catalog_list(e->reader, sys, req->system.len, &rels, &n) != CS_OK) {
        return cs_reply_errorf(out, req, CS_PERR_INTERNAL, "out of memory listing releases");
    }
    cs_reply_begin(out, req, 1, 1);
    cs_out_cstr(out, "releases");
    cs_out_array(out, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        const cs_release_t *r = &rels[i];
        cs_out_map(out, 9 + (r->n_maps ? 1 : 0));
        cs_out_kv_str(out, "system", r->system);
        cs_out_kv_str(out, "release", r->label);
        s_pack_date(out, "effective_from", r->effective_from);
        s_pack_date(out, "effective_to", r->effective_to);
        cs_out_kv_str(out, "status", r->status == CS_REL_RETIRED ? "retired" : "active");
        cs_out_kv_int(out, "codes", (int64_t)r->codes);
        cs_out_kv_int(out, "billable", (int64_t)r->billable);
        cs_out_kv_int(out, "loaded_at", r->loaded_at);
        cs_out_cstr(out, "source");
        cs_out_map(out, 2);
        cs_out_kv_str(out, "loader", r->loader);
        cs_out_cstr(out, "files");
        cs_out_array(out, r->n_files);
        for (uint32_t f = 0; f < r->n_files; f++) {
            cs_out_map(out, 3);
            cs_out_kv_str(out, "name", r->files[f].name);
            cs_out_cstr(out, "sha256");
            if (r->files[f].sha256[0]) {
                cs_out_cstr(out, r->files[f].sha256);
            } else {
                cs_out_nil(out);
            }
            cs_out_kv_int(out, "bytes", (int64_t)r->files[f].bytes);
        }
        if (r->n_maps) {
            cs_out_cstr(out, "maps");
            cs_out_array(out, r->n_maps);
            for (uint32_t m = 0; m < r->n_maps; m++) {
                cs_out_map(out, 4);
                cs_out_kv_str(out, "name", r->maps[m].name);
                cs_out_kv_str(out, "from", r->maps[m].from);
                cs_out_kv_str(out, "to", r->maps[m].to);
                cs_out_kv_int(out, "rows", (int64_t)r->maps[m].rows);
            }
        }
    }
    free(rels);
    return CS_PERR_NONE;
}

/* ---- search ---- */

void cs_engine_share_searches(cs_engine_t *e, cs_search_cache_t *shared)
{
    e->shared = shared;
}

void cs_engine_set_budget(cs_engine_t *e, uint64_t units)
{
    e->budget = units;
}

int cs_engine_deferred(const cs_engine_t *e)
{
    return e->deferred;
}

static cs_proto_err_t s_search(cs_engine_t *e, const cs_request_t *req, cs_out_t *out)
{
    e->deferred = 0;
    s_ctx_t ctx;
    cs_proto_err_t perr = s_resolve(e, req, out, &ctx);
    if (perr != CS_PERR_NONE) {
        return perr;
    }
    if (e->budget && (req->include & CS_INCLUDE_INDEX)) {
        e->deferred = 1; /* the Index's terms are searched with no bound: not here */
        return CS_PERR_NONE;
    }
    cs_search_aids_t aids = {&e->index, e->shared ? e->shared : e->searches, e->scratch,
                             e->budget, &e->deferred};
    if (!(req->include & CS_INCLUDE_INDEX)) {
        return cs_search_answer_aided(e->reader, &aids, ctx.sys->system, ctx.rel.id,
                                      ctx.rel.label, req, NULL, out);
    }
    /* the ICD-10-CM Index's terms as a source too (engine/cs_index_answer.h) */
    cs_index_source_t src = {e->store, e->reader, e->plugins, req};
    cs_search_extra_t extra = {"index", cs_index_source_write, &src};
    return cs_search_answer_aided(e->reader, &aids, ctx.sys->system, ctx.rel.id, ctx.rel.label,
                                  req, &extra, out);
}

/* ---- diff ---- */

/* A diff of an edit set (no system plugin has its name, and its releases are edit sets):
 * "release" (else the newest) against "to_release". -1 when req names no edit set. */
static int s_diff_set(cs_engine_t *e, const cs_request_t *req, cs_out_t *out,
                      cs_proto_err_t *perr)
{
    cs_resolved_t from, to;
    const char *sys = req->system.ptr;
    size_t slen = req->system.len;
    if (cs_plugin_host_system(e->plugins, sys, slen) ||
        cs_catalog_newest(e->reader, sys, slen, &from) != CS_OK) {
        return -1;
    }
    cs_release_t a, b;
    if (cs_catalog_read(e->reader, from.id, &a) != CS_OK || !cs_diff_sets_is_set(&a)) {
        return -1;
    }
    char lbuf[80];
    cs_str_t labels[2] = {req->release, req->to_release};
    cs_resolved_t *rels[2] = {&from, &to};
    for (int i = 0; i < 2; i++) {
        if ((i == 1 || labels[i].len) &&
            cs_catalog_by_label(e->reader, sys, slen, labels[i].ptr, labels[i].len, rels[i]) !=
                CS_OK) {
            *perr = cs_reply_errorf(out, req, CS_PERR_UNKNOWN_RELEASE, "%s has no release '%s'",
                                    a.system, cs_str_printable(labels[i], lbuf, sizeof lbuf));
            return 0;
        }
        *perr = s_refuse_failed(e, req, out, a.system, rels[i]);
        if (*perr != CS_PERR_NONE) {
            return 0;
        }
    }
    if (cs_catalog_read(e->reader, from.id, &a) != CS_OK ||
        cs_catalog_read(e->reader, to.id, &b) != CS_OK) {
        *perr = cs_reply_errorf(out, req, CS_PERR_INTERNAL, "a release record is unreadable");
        return 0;
    }
    *perr = cs_diff_sets_answer(e->reader, e->plugins, &a, &b, req, out);
    return 0;
}

static cs_proto_err_t s_diff(cs_engine_t *e, const cs_request_t *req, cs_out_t *out)
{
    cs_proto_err_t set_err;
    if (s_diff_set(e, req, out, &set_err) == 0) {
        return set_err;
    }
    s_ctx_t ctx;
    cs_proto_err_t perr = s_resolve(e, req, out, &ctx); /* "release" pins the older one */
    if (perr != CS_PERR_NONE) {
        return perr;
    }
    cs_resolved_t to;
    char lbuf[80];
    if (cs_catalog_by_label(e->reader, req->system.ptr, req->system.len, req->to_release.ptr,
                            req->to_release.len, &to) != CS_OK) {
        return cs_reply_errorf(out, req, CS_PERR_UNKNOWN_RELEASE, "%s has no release '%s'",
                               ctx.sys->name, cs_str_printable(req->to_release, lbuf, sizeof lbuf));
    }
    perr = s_refuse_failed(e, req, out, ctx.sys->name, &to);
    if (perr != CS_PERR_NONE) {
        return perr;
    }
    return cs_diff_answer(e->reader, ctx.sys->name, ctx.rel.id, ctx.rel.label, to.id, to.label,
                          req, out);
}

static cs_proto_err_t s_ping(const cs_request_t *req, cs_out_t *out)
{
    cs_reply_begin(out, req, 1, 2);
    cs_out_kv_str(out, "version", CS_VERSION);
    cs_out_kv_int(out, "protocol", CS_PROTO_VERSION);
    return CS_PERR_NONE;
}

typedef cs_proto_err_t (*s_read_fn)(cs_engine_t *e, const cs_request_t *req,
                                     cs_out_t *out);

/* One op that reads the store: a fresh snapshot, the answer, the snapshot let go (so it is
 * never held across a poll). */
static cs_proto_err_t s_read_op(cs_engine_t *e, s_read_fn fn, const cs_request_t *req,
                                cs_out_t *out)
{
    if (s_request_begin(e) != CS_OK) {
        return cs_reply_errorf(out, req, CS_PERR_INTERNAL, "the store cannot be read right now");
    }
    size_t mark = cs_out_mark(out);
    cs_proto_err_t rc = fn(e, req, out);
    cs_reader_end(e->reader);
    return s_unless_corrupt(e, req, out, mark, rc);
}

static cs_proto_err_t s_crosswalk(cs_engine_t *e, const cs_request_t *req, cs_out_t *out)
{
    return cs_crosswalk_answer(e->store, e->reader, e->plugins, req, out);
}

static cs_proto_err_t s_index(cs_engine_t *e, const cs_request_t *req, cs_out_t *out)
{
    return cs_index_answer(e->store, e->reader, e->plugins, req, out);
}

cs_proto_err_t cs_op_index(cs_op_ctx_t *ctx, const cs_request_t *req, cs_out_t *out)
{
    return s_read_op(ctx->engine, s_index, req, out);
}

cs_proto_err_t cs_op_ping(cs_op_ctx_t *ctx, const cs_request_t *req, cs_out_t *out)
{
    (void)ctx;
    return s_ping(req, out);
}

cs_proto_err_t cs_op_lookup(cs_op_ctx_t *ctx, const cs_request_t *req, cs_out_t *out)
{
    if (s_lookup_fast(ctx->engine, req, out)) {
        return CS_PERR_NONE;
    }
    return s_read_op(ctx->engine, s_lookup, req, out);
}

cs_proto_err_t cs_op_validate(cs_op_ctx_t *ctx, const cs_request_t *req, cs_out_t *out)
{
    return s_read_op(ctx->engine, s_validate, req, out);
}

cs_proto_err_t cs_op_search(cs_op_ctx_t *ctx, const cs_request_t *req, cs_out_t *out)
{
    return s_read_op(ctx->engine, s_search, req, out);
}

cs_proto_err_t cs_op_crosswalk(cs_op_ctx_t *ctx, const cs_request_t *req, cs_out_t *out)
{
    return s_read_op(ctx->engine, s_crosswalk, req, out);
}

cs_proto_err_t cs_op_releases(cs_op_ctx_t *ctx, const cs_request_t *req, cs_out_t *out)
{
    return s_read_op(ctx->engine, s_releases, req, out);
}

cs_proto_err_t cs_op_diff(cs_op_ctx_t *ctx, const cs_request_t *req, cs_out_t *out)
{
    return s_read_op(ctx->engine, s_diff, req, out);
}

cs_proto_err_t cs_engine_read(cs_engine_t *e, cs_engine_read_fn fn, const cs_request_t *req,
                              cs_out_t *out)
{
    if (s_request_begin(e) != CS_OK) {
        return cs_reply_errorf(out, req, CS_PERR_INTERNAL, "the store cannot be read right now");
    }
    cs_engine_view_t v = {e->reader, &e->index, &e->memo, e->plugins, &e->claim};
    size_t mark = cs_out_mark(out);
    cs_proto_err_t rc = fn(&v, req, out);
    cs_reader_end(e->reader);
    return s_unless_corrupt(e, req, out, mark, rc);
}

cs_proto_err_t cs_engine_handle(cs_engine_t *e, const cs_request_t *req, cs_out_t *out)
{
    const cs_op_def_t *def = (unsigned)req->op < CS_OP_COUNT_ ? &cs_ops[req->op] : NULL;
    if (!def || !(def->flags & CS_OPF_ENGINE)) {
        return cs_reply_errorf(out, req, CS_PERR_UNKNOWN_OP, "op '%s' is not answered here",
                               cs_proto_opname(req->op));
    }
    cs_op_ctx_t ctx = {.engine = e};
    return def->handler(&ctx, req, out);
}
