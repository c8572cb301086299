/* cs_embed.c: the embedded API (codeset/codeset.h): the store opened read-only in-process.
 *
 * Two paths. Validate and search build a cs_request_t in-process and hand it to the broker's
 * own engine (cs_engine_handle) with the typed writer (engine/cs_out_typed.h), which keeps the
 * results as the public structs: one source of truth for reasons, hints and ranking, and no
 * encoding in between.
 * Lookup reads the entry directly (normalise, resolve, one get, its head decoded): the engine
 * round trip costs about as much again as the lookup itself (bench_broker prints both), and
 * a lookup's answer is a handful of fields. Texts are copied out of the map into the handle
 * before the read transaction ends, so no snapshot is held between calls: a broker loading
 * into the same file may reuse those pages as soon as the call returns.
 * Once a lookup has resolved its release and the release's code index is built, later lookups
 * of the same system and selection take no transaction while nothing is committed to the
 * file (engine/cs_resolve_memo.h): the index answers, and lends its texts, which stay held
 * until the next call on the handle.
 */
#include "engine/cs_embed.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/cs_out_typed.h"
#include "engine/cs_query.h"
#include "engine/cs_resolve.h"
#include "engine/cs_resolve_memo.h"
#include "load/cs_plugin_host.h"
#include "store/cs_catalog.h"
#include "store/cs_codeidx.h"
#include "store/cs_entry.h"
#include "store/cs_key.h"
#include "store/cs_store.h"
#include "util/cs_date.h"

#define CS_DB_MAGIC 0x43534442u /* "CSDB" */
#define S_DEFAULT_PLUGINS "/usr/local/lib/codeset/plugins"
#define S_SYSTEM_MAX 64 /* longest system id accepted */
#define CS_DB_INDEX_MIB 64 /* budget of the code indexes, as the broker's default */

/* What every handle of one environment shares. */
typedef struct s_shared {
    cs_store_t *store;          /* the read-only environment */
    cs_plugin_host_t *plugins;  /* system (and loader) plugins */
    cs_codeidx_set_t *index;    /* code indexes, built in the background on first need */
    int refs;                   /* handles alive; the last close frees (atomic) */
} s_shared_t;

struct cs_db_handle {
    uint32_t magic;             /* CS_DB_MAGIC while open */
    s_shared_t *shared;         /* environment and plugins */
    cs_reader_t *reader;        /* this handle's snapshot for the direct lookup */
    cs_catalog_memo_t memo;     /* releases resolved in reader's current snapshot */
    cs_codeidx_holder_t index;  /* code indexes the direct lookup holds */
    cs_engine_t *engine;        /* this handle's engine (its own reader) */
    cs_out_typed_t answer;      /* the engine's last answer; results and hits point into it */
    cs_str_t *codes;            /* a validate request's codes */
    size_t codes_cap;
    char *text;                 /* the last direct lookup's texts, copied out of the map */
    size_t text_cap;
    cs_resolve_memo_t fast;     /* the direct lookup's last resolution */
};

/* The release a caller asked for, checked before the store is read. */
typedef struct s_sel {
    size_t system_len;    /* strlen of the system asked for */
    const char *release;  /* label or NULL */
    int has_date;
    int date;             /* yyyymmdd */
} s_sel_t;

/* ---- open, dup, close ---- */

static int s_count_systems(const cs_plugin_host_t *h)
{
    int n = 0;
    for (size_t i = 0; i < cs_plugin_host_count(h); i++) {
        n += cs_plugin_host_at(h, i)->kind == CS_PLUGIN_SYSTEM;
    }
    return n;
}

static cs_db_t *s_handle_new(s_shared_t *sh, cs_error_t *err)
{
    cs_db_t *db = calloc(1, sizeof *db);
    if (!db) {
        cs_error_set(err, CS_ENOMEM, "out of memory opening a codeset handle");
        return NULL;
    }
    db->magic = CS_DB_MAGIC;
    db->shared = sh;
    cs_out_typed_init(&db->answer);
    db->reader = cs_reader_new(sh->store, err);
    db->engine = db->reader ? cs_engine_new(sh->store, sh->plugins, err) : NULL;
    if (!db->engine) {
        cs_reader_destroy(&db->reader);
        free(db);
        return NULL;
    }
    cs_engine_use_index(db->engine, sh->index);
    cs_codeidx_holder_init(&db->index, sh->index);
    __atomic_add_fetch(&sh->refs, 1, __ATOMIC_ACQ_REL);
    return db;
}

static void s_shared_free(s_shared_t *sh)
{
    cs_codeidx_set_destroy(&sh->index);
    cs_plugin_host_destroy(&sh->plugins);
    cs_store_destroy(&sh->store);
    free(sh);
}

cs_db_t *cs_db_open(const char *dir, const char *plugins_dir, cs_error_t *err)
{
    cs_error_clear(err);
    if (!dir) {
        cs_error_set(err, CS_EINVAL, "cs_db_open: no database directory given");
        return NULL;
    }
    if (!plugins_dir) {
        const char *env = getenv("CODESET_PLUGINS");
        plugins_dir = env && *env ? env : S_DEFAULT_PLUGINS;
    }
    s_shared_t *sh = calloc(1, sizeof *sh);
    if (!sh) {
        cs_error_set(err, CS_ENOMEM, "out of memory opening %s", dir);
        return NULL;
    }
    sh->store = cs_store_open_ex(dir, 0, 0, CS_STORE_RDONLY, err);
    if (!sh->store) {
        free(sh);
        return NULL;
    }
    sh->plugins = cs_plugin_host_new();
    sh->index = cs_codeidx_set_new(sh->store, (size_t)CS_DB_INDEX_MIB << 20, err);
    if (!sh->plugins || !sh->index) {
        cs_error_set(err, CS_ENOMEM, "out of memory loading plugins");
        s_shared_free(sh);
        return NULL;
    }
    if (cs_plugin_host_load_dir(sh->plugins, plugins_dir, NULL, err) != CS_OK) {
        s_shared_free(sh);
        return NULL;
    }
    if (s_count_systems(sh->plugins) == 0) {
        cs_error_set(err, CS_ENOTFOUND, "%s: no system plugin found (cs_<system>.so)",
                     plugins_dir);
        s_shared_free(sh);
        return NULL;
    }
    cs_db_t *db = s_handle_new(sh, err);
    if (!db) {
        s_shared_free(sh);
    }
    return db;
}

cs_db_t *cs_db_dup(cs_db_t *db, cs_error_t *err)
{
    cs_error_clear(err);
    if (!db || db->magic != CS_DB_MAGIC) {
        cs_error_set(err, CS_EINVAL, "cs_db_dup: not an open codeset handle");
        return NULL;
    }
    return s_handle_new(db->shared, err);
}

void cs_db_close(cs_db_t **dbp)
{
    if (!dbp || !*dbp) {
        return;
    }
    cs_db_t *db = *dbp;
    *dbp = NULL;
    if (db->magic != CS_DB_MAGIC) {
        return;
    }
    db->magic = 0;
    cs_codeidx_holder_fini(&db->index);
    cs_engine_destroy(&db->engine);
    cs_reader_destroy(&db->reader);
    cs_out_typed_free(&db->answer);
    free(db->codes);
    free(db->text);
    s_shared_t *sh = db->shared;
    free(db);
    if (__atomic_sub_fetch(&sh->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        s_shared_free(sh);
    }
}

/* ---- shared checks ---- */

/* err cleared as cs_error_clear leaves it, but writing the fields alone: the whole record
 * (396 bytes, a `rep stos`) cost an embedded lookup a seventh of its time. */
static void s_err_reset(cs_error_t *err)
{
    if (err) {
        err->code = CS_OK;
        err->msg[0] = err->file[0] = '\0';
        err->line = err->column = 0;
    }
}

static int s_check(cs_db_t *db, const char *system, const char *what, const cs_db_query_t *q,
                   s_sel_t *sel, cs_error_t *err)
{
    s_err_reset(err);
    if (!db || db->magic != CS_DB_MAGIC) {
        return cs_error_set(err, CS_EINVAL, "not an open codeset handle");
    }
    if (!system || !what) {
        return cs_error_set(err, CS_EINVAL, "a system and a code (or text) are required");
    }
    size_t system_len = strlen(system);
    if (system_len > S_SYSTEM_MAX) {
        return cs_error_set(err, CS_EINVAL, "no code system '%.64s...' is known here", system);
    }
    memset(sel, 0, sizeof *sel);
    sel->system_len = system_len;
    if (q && q->release) {
        sel->release = q->release;
    } else if (q && q->date) {
        if (cs_date_parse(q->date, strlen(q->date), &sel->date) != CS_OK) {
            return cs_error_set(err, CS_EINVAL, "date '%.40s' is not a real YYYY-MM-DD date",
                                q->date);
        }
        sel->has_date = 1;
    }
    return CS_OK;
}

/* Grow *buf (of *cap elements of size sz) to hold n. */
static int s_reserve(void **buf, size_t *cap, size_t n, size_t sz)
{
    if (n <= *cap) {
        return CS_OK;
    }
    size_t want = *cap ? *cap : 16;
    while (want < n) {
        want *= 2;
    }
    void *p = realloc(*buf, want * sz);
    if (!p) {
        return CS_ENOMEM;
    }
    *buf = p;
    *cap = want;
    return CS_OK;
}

/* Absent texts are "" rather than NULL, so callers may hand any of them to memcmp. */
static void s_no_null(cs_db_entry_t *e)
{
    cs_db_str_t *all[] = {&e->code, &e->release, &e->kind, &e->title, &e->short_title,
                          &e->parent};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (!all[i]->ptr) {
            all[i]->ptr = "";
            all[i]->len = 0;
        }
    }
}

/* ---- the direct lookup ---- */

/* The release sel picks (cs_resolve.h: the engine's resolution and messages), inside db's
 * snapshot. */
static int s_resolve(cs_db_t *db, const char *system, const s_sel_t *sel, cs_resolved_t *rel,
                     cs_error_t *err)
{
    cs_str_t sys = {system, (uint32_t)strlen(system)};
    cs_str_t label = {sel->release, sel->release ? (uint32_t)strlen(sel->release) : 0};
    cs_resolution_t res;
    if (cs_resolve(db->reader, &db->memo, db->shared->plugins, sys, label,
                   sel->has_date ? sel->date : 0, &res) != CS_PERR_NONE) {
        return cs_error_set(err, res.err == CS_PERR_UNKNOWN_SYSTEM ? CS_EINVAL : CS_ENOTFOUND,
                            "%s", res.msg);
    }
    *rel = res.rel;
    return CS_OK;
}

/* A span lent as it is, or copied: with lo NULL every span is copied (it points into the map,
 * which the snapshot's end may hand to a writer); else only spans inside [lo, hi) are (the
 * caller's scratch), and the others, which live in a code index the handle holds until its
 * next call, are lent. */
static int s_must_copy(cs_span_t s, const void *lo, const void *hi)
{
    return !lo || ((uintptr_t)s.ptr >= (uintptr_t)lo && (uintptr_t)s.ptr < (uintptr_t)hi);
}

/* Point outs[i] at spans[i], copied into db->text where s_must_copy says so. */
static int s_copy_texts(cs_db_t *db, const cs_span_t *spans, cs_db_str_t *const *outs, size_t n,
                        const void *lo, const void *hi)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        total += s_must_copy(spans[i], lo, hi) ? spans[i].len : 0;
    }
    if (s_reserve((void **)&db->text, &db->text_cap, total + 1, 1) != CS_OK) {
        return CS_ENOMEM;
    }
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        outs[i]->len = spans[i].len;
        if (!s_must_copy(spans[i], lo, hi)) {
            outs[i]->ptr = spans[i].ptr;
            continue;
        }
        if (spans[i].len) {
            memcpy(db->text + at, spans[i].ptr, spans[i].len);
        }
        outs[i]->ptr = db->text + at;
        at += spans[i].len;
    }
    return CS_OK;
}

/* Keep the resolution of (system, sel) to rel made in db's current snapshot. */
static void s_fast_remember(cs_db_t *db, const char *system, const cs_plugin_desc_t *sys,
                            const s_sel_t *sel, const cs_resolved_t *rel)
{
    cs_resolve_memo_keep(&db->fast, cs_reader_snapshot(db->reader), system, sel->system_len,
                         sel->release, sel->release ? strlen(sel->release) : 0,
                         sel->has_date ? sel->date : 0, sys, rel->id, rel->label.ptr,
                         rel->label.len);
}

/* Whether db's last resolution was of (system, sel): its commit not checked. */
static int s_fast_match(const cs_db_t *db, const char *system, const s_sel_t *sel)
{
    return cs_resolve_memo_match(&db->fast, system, sel->system_len, sel->release,
                                 sel->release ? strlen(sel->release) : 0,
                                 sel->has_date ? sel->date : 0);
}

/* A code as the caller gave it, and as its system's plugin normalised it. */
typedef struct s_code {
    const char *text;  /* as given */
    size_t len;
    int malformed;     /* the plugin refused it: c is not set */
    cs_code_t c;
    size_t klen;       /* strlen(c.key) */
    uint64_t hash;     /* cs_codeidx_hash of c */
} s_code_t;

static void s_normalise(const cs_plugin_desc_t *sys, const char *code, s_code_t *out)
{
    cs_error_t nerr; /* never read: a malformed code is an answer. Not zeroed whole per call */
    nerr.code = CS_OK;
    nerr.msg[0] = nerr.file[0] = '\0';
    nerr.line = nerr.column = 0;
    out->text = code;
    out->len = strlen(code);
    out->malformed = sys->system->normalize(code, out->len, &out->c, &nerr) != CS_OK;
    if (!out->malformed) {
        out->klen = strlen(out->c.key);
        out->hash = cs_codeidx_hash(out->c.cls, out->c.key, out->klen);
    }
}

/* The answer to code (normalised) in release rel (label): found in idx when given (its texts
 * lent), else through the handle's index holder or its snapshot (texts copied). */
static int s_answer(cs_db_t *db, const char *system, s_code_t *code, uint32_t rel,
                    cs_span_t label, const cs_codeidx_t *idx, cs_db_entry_t *out,
                    cs_error_t *err)
{
    if (code->malformed) {
        out->malformed = 1;
        cs_span_t s[2] = {{code->text, code->len}, label};
        cs_db_str_t *o[2] = {&out->code, &out->release};
        return s_copy_texts(db, s, o, 2, NULL, NULL);
    }
    const cs_code_t *c = &code->c;
    cs_entry_t ent;
    unsigned flags;
    int found = idx ? cs_codeidx_find_hashed(idx, code->hash, c->cls, c->key, code->klen, &ent,
                                             &flags)
                    : cs_codeidx_entry(&db->index, db->reader, rel, c->cls, c->key, code->klen,
                                       0, &ent) == CS_OK;
    /* Lent texts: those of idx and the label (db->fast's); copied: those of c. */
    const void *lo = idx ? (const void *)c : NULL;
    const void *hi = idx ? (const void *)(c + 1) : NULL;
    if (!found) {
        if (!idx && cs_reader_corrupt(db->reader)) { /* not "not found": it could not be read */
            return cs_error_set(err, CS_EMALFORMED, "a page of the database holding %s %s is "
                                "corrupt (the data file is damaged)", system, code->text);
        }
        cs_span_t s[2] = {{c->display, strlen(c->display)}, label};
        cs_db_str_t *o[2] = {&out->code, &out->release};
        return s_copy_texts(db, s, o, 2, lo, hi);
    }
    out->found = 1;
    out->billable = ent.billable;
    out->valid_from = ent.valid_from;
    out->valid_to = ent.valid_to;
    cs_span_t parent = ent.parent_cls ? ent.parent : (cs_span_t){NULL, 0};
    cs_span_t s[6] = {ent.display, label, ent.kind, ent.title, ent.short_title, parent};
    cs_db_str_t *o[6] = {&out->code,  &out->release,     &out->kind,
                         &out->title, &out->short_title, &out->parent};
    if (idx) { /* every span lies in idx or is db->fast's label: all lent, none copied */
        for (size_t i = 0; i < 6; i++) {
            o[i]->ptr = s[i].ptr;
            o[i]->len = s[i].len;
        }
        return CS_OK;
    }
    return s_copy_texts(db, s, o, 6, lo, hi);
}

static int s_lookup(cs_db_t *db, const char *system, const char *code, const cs_db_query_t *q,
                    cs_db_entry_t *out, cs_error_t *err)
{
    s_sel_t sel;
    /* A random code's text is a cache miss of the caller's, the first of three in a row (its
     * text, then the index's slot and record): start it before the checks, which do not need
     * it (10 ns of a random lookup's 260, diag A/B at 2026-12-05). */
    if (code) {
        __builtin_prefetch(code);
    }
    if (!out) {
        return cs_error_set(err, CS_EINVAL, "cs_db_lookup: no entry to fill");
    }
    memset(out, 0, sizeof *out);
    int rc = s_check(db, system, code, q, &sel, err);
    if (rc != CS_OK) {
        return rc;
    }
    s_code_t sc;
    if (s_fast_match(db, system, &sel)) {
        const cs_resolve_memo_t *f = &db->fast;
        s_normalise(f->sys, code, &sc);
        /* A random code's record is a miss in memory: start it now, from the index the handle
         * holds, and check that the index still answers while it comes. */
        if (!sc.malformed) {
            cs_codeidx_holder_prefetch(&db->index, f->rel, sc.hash, 1); /* the slot is read now */
        }
        const cs_codeidx_t *idx = cs_resolve_memo_index(f, &db->index, db->shared->store);
        if (idx) {
            rc = s_answer(db, system, &sc, f->rel, (cs_span_t){f->label, f->label_len}, idx,
                          out, err);
            return rc == CS_ENOMEM ? cs_error_set(err, rc, "out of memory") : rc;
        }
    }
    const cs_plugin_desc_t *sys = cs_plugin_host_system(db->shared->plugins, system,
                                                        strlen(system));
    if (!sys) {
        return cs_error_set(err, CS_EINVAL, "no code system '%s' is known here", system);
    }
    if (cs_reader_begin(db->reader) != CS_OK) {
        return cs_error_set(err, CS_EINTERNAL, "the store cannot be read right now");
    }
    cs_codeidx_holder_unpin(&db->index);
    cs_resolved_t rel = {0};
    rc = s_resolve(db, system, &sel, &rel, err);
    if (rc == CS_OK) {
        s_fast_remember(db, system, sys, &sel, &rel);
        s_normalise(sys, code, &sc);
        rc = s_answer(db, system, &sc, rel.id, rel.label, NULL, out, err);
    }
    cs_reader_end(db->reader);
    return rc == CS_ENOMEM ? cs_error_set(err, rc, "out of memory") : rc;
}

int cs_db_lookup(cs_db_t *db, const char *system, const char *code, const cs_db_query_t *q,
                 cs_db_entry_t *out, cs_error_t *err)
{
    int rc = s_lookup(db, system, code, q, out, err);
    if (out) {
        s_no_null(out);
    }
    return rc;
}

/* ---- the engine path ---- */

static void s_req_init(cs_request_t *req, cs_op_t op, const char *system, const s_sel_t *sel)
{
    cs_request_init(req);
    req->op = op;
    req->system = (cs_str_t){system, (uint32_t)strlen(system)};
    if (sel->release) {
        req->release = (cs_str_t){sel->release, (uint32_t)strlen(sel->release)};
    }
    req->has_date = sel->has_date;
    req->date = sel->date;
}

/* Run req through the engine into db->answer. An error reply becomes the matching CS_E* with
 * its message in err. */
static int s_engine_call(cs_db_t *db, const cs_request_t *req, cs_error_t *err)
{
    cs_out_typed_reset(&db->answer);
    cs_proto_err_t e = cs_engine_handle(db->engine, req, &db->answer.out);
    if (cs_out_typed_finish(&db->answer) != CS_OK) {
        return cs_error_set(err, CS_ENOMEM, "out of memory keeping the engine's answer");
    }
    if (e == CS_PERR_NONE) {
        return CS_OK;
    }
    cs_db_str_t msg = db->answer.message;
    return cs_error_set(err, cs_embed_error(e), "%.*s", (int)msg.len, msg.ptr);
}

int cs_embed_error(cs_proto_err_t e)
{
    return e == CS_PERR_UNKNOWN_RELEASE || e == CS_PERR_NO_RELEASE_FOR_DATE ? CS_ENOTFOUND
           : e == CS_PERR_TOO_MANY                                         ? CS_ETOOMANY
           : e == CS_PERR_INTERNAL                                         ? CS_EINTERNAL
           : e == CS_PERR_CORRUPT_RELEASE                                  ? CS_EMALFORMED
                                                                           : CS_EINVAL;
}

cs_engine_t *cs_embed_engine(cs_db_t *db)
{
    return db && db->magic == CS_DB_MAGIC ? db->engine : NULL;
}

int cs_embed_check(cs_db_t *db, const char *system, const char *code, const cs_db_query_t *q,
                   cs_request_t *req, cs_error_t *err)
{
    s_sel_t sel;
    int rc = s_check(db, system, code, q, &sel, err);
    if (rc == CS_OK) {
        s_req_init(req, CS_OP_LOOKUP, system, &sel);
    }
    return rc;
}

/* ---- validate ---- */

const char *cs_db_reason_name(cs_db_reason_t reason)
{
    return (unsigned)reason <= CS_DB_NOT_EFFECTIVE ? cs_reason_name((cs_reason_t)reason)
                                                   : "unknown_reason";
}

int cs_db_validate(cs_db_t *db, const char *system, const char *const *codes, size_t n,
                   const cs_db_query_t *q, const cs_db_result_t **results,
                   cs_db_str_t *release, cs_error_t *err)
{
    s_sel_t sel;
    if (!results || !release || (n > 0 && !codes)) {
        return cs_error_set(err, CS_EINVAL, "cs_db_validate: missing argument");
    }
    *results = NULL;
    memset(release, 0, sizeof *release);
    int rc = s_check(db, system, "", q, &sel, err);
    if (rc != CS_OK) {
        return rc;
    }
    if (n > CS_PROTO_MAX_CODES) {
        return cs_error_set(err, CS_ETOOMANY, "%zu codes: at most %d a request", n,
                            CS_PROTO_MAX_CODES);
    }
    if (s_reserve((void **)&db->codes, &db->codes_cap, n ? n : 1, sizeof *db->codes) !=
        CS_OK) {
        return cs_error_set(err, CS_ENOMEM, "out of memory validating %zu codes", n);
    }
    for (size_t i = 0; i < n; i++) {
        if (!codes[i]) {
            return cs_error_set(err, CS_EINVAL, "code %zu is NULL", i);
        }
        size_t len = strlen(codes[i]);
        db->codes[i] = (cs_str_t){codes[i], len > UINT32_MAX ? UINT32_MAX : (uint32_t)len};
    }
    cs_request_t req;
    s_req_init(&req, CS_OP_VALIDATE, system, &sel);
    req.n_codes = (uint32_t)n;
    req.codes = db->codes;
    rc = s_engine_call(db, &req, err);
    if (rc != CS_OK) {
        return rc;
    }
    if (db->answer.n_results != n) {
        return cs_error_set(err, CS_EINTERNAL, "the engine answered %zu results for %zu codes",
                            db->answer.n_results, n);
    }
    *results = db->answer.results;
    *release = db->answer.release;
    return CS_OK;
}

/* ---- search ---- */

int cs_db_search(cs_db_t *db, const char *system, const char *text, size_t limit,
                 size_t offset, int billable_only, const cs_db_query_t *q,
                 const cs_db_hit_t **hits, size_t *n_hits, uint64_t *total, cs_error_t *err)
{
    s_sel_t sel;
    if (!hits || !n_hits || !total) {
        return cs_error_set(err, CS_EINVAL, "cs_db_search: missing argument");
    }
    *hits = NULL;
    *n_hits = 0;
    *total = 0;
    int rc = s_check(db, system, text, q, &sel, err);
    if (rc != CS_OK) {
        return rc;
    }
    if (strlen(text) > CS_PROTO_MAX_Q) {
        return cs_error_set(err, CS_EINVAL, "a search text is at most %d bytes", CS_PROTO_MAX_Q);
    }
    cs_request_t req;
    s_req_init(&req, CS_OP_SEARCH, system, &sel);
    req.q = (cs_str_t){text, (uint32_t)strlen(text)};
    req.limit = limit == 0                    ? -1
                : limit > CS_PROTO_MAX_LIMIT ? CS_PROTO_MAX_LIMIT
                                             : (int64_t)limit;
    req.offset = offset > INT32_MAX ? INT32_MAX : (int64_t)offset;
    req.billable_only = billable_only != 0;
    rc = s_engine_call(db, &req, err);
    if (rc != CS_OK) {
        return rc;
    }
    *total = db->answer.total > 0 ? (uint64_t)db->answer.total : 0;
    *hits = db->answer.hits;
    *n_hits = db->answer.n_hits;
    return CS_OK;
}
