/* cs_load.c: the load job thread and the sink that turns loader records into store keys. */
#include "load/cs_load.h"

#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "load/cs_index_keys.h"
#include "load/cs_infile.h"
#include "store/cs_catalog.h"
#include "store/cs_checksum.h"
#include "store/cs_codeidx.h"
#include "store/cs_entry.h"
#include "store/cs_key.h"
#include "store/cs_maps.h"
#include "store/cs_noterefs.h"
#include "load/cs_listcheck.h"
#include "store/cs_search_build.h"
#include "util/cs_log.h"

#define CS_JOBS_KEPT 64           /* finished jobs remembered for the job op */
/* Records per write transaction. LMDB keeps every page a write transaction dirtied in a
 * cache of its own for the life of the process (never given back), so the largest
 * transaction sets what a broker holds after its loads: 20,000 records left 7-10 MiB,
 * 5,000 leave 2 MiB, at the same load time. */
#define CS_LOAD_BATCH 5000
#define CS_LOAD_GROW_TRIES 16 /* doublings: from 1 MiB up to 64 GiB */

#define CS_SINK_MAGIC 0x53494e4bu /* "SINK" */

/* Why a load should stop (cs_jobs.cancel). */
enum { S_RUN = 0, S_CANCEL_ADMIN = 1, S_CANCEL_SHUTDOWN = 2 };

/* One job's shared state (guarded by cs_jobs.lock). */
typedef struct s_job {
    cs_job_status_t st;          /* what the job op reports */
    struct timespec started;     /* monotonic start */
} s_job_t;

struct cs_sink {
    uint32_t magic;                  /* CS_SINK_MAGIC while valid */
    cs_jobs_t *jobs;                 /* owner, for progress and cancel */
    cs_writer_t *w;                  /* the write transaction */
    const cs_system_ops_t *sys;      /* the system plugin's ops */
    const char *system;              /* system id */
    int any_system;                  /* CS_LOADER_ANY_SYSTEM: rec->system is not checked */
    uint32_t release;                /* release id being written */
    uint64_t records, codes, billable;
    uint64_t in_batch;               /* records since the last commit */
    uint32_t seq;                    /* emission counter */
    cs_buf_t buf;                    /* reused value buffer */
    cs_buf_t nbuf;                   /* reused note references buffer */
    cs_search_builder_t *search;     /* the release's search index, built as records come */
    cs_release_t *rel;               /* the release record (map sets register maps in it) */
    uint64_t map_rows;               /* crosswalk rows stored */
    cs_listcheck_t lists;            /* an edit set's codes against their releases */
};

struct cs_jobs {
    cs_store_t *store;               /* the store written */
    const cs_plugin_host_t *plugins; /* systems and loaders */
    pthread_mutex_t lock;            /* guards jobs[], running, next_id */
    pthread_cond_t ended;            /* signalled when the running job reaches its end */
    s_job_t jobs[CS_JOBS_KEPT];      /* ring of recent jobs */
    unsigned next_id;                /* number of the next job */
    int running;                     /* 1 while a load thread exists */
    pthread_t thread;                /* the load thread */
    atomic_int cancel;               /* S_RUN, or why the running load should stop */
    char pin_dir[PATH_MAX];          /* where the load thread pins the files (cs_infile.h) */
    /* the running job's spec (owned copies) */
    const cs_plugin_desc_t *loader;  /* NULL until sniffed on the load thread */
    char want_system[32];            /* the admin's "system", or "" */
    char system[32];                 /* the system filled, once the loader is known */
    char label[64];
    int effective_from;
    uint32_t loader_flags;           /* enum cs_loader_flag of the running loader */
    char **files;                    /* the admin's paths */
    size_t n_files;
    cs_infiles_t *in;                /* the files opened and pinned (load thread only) */
    s_job_t *cur;                    /* slot of the running job */
};

/* Set on the load thread while a load runs, so plugin log lines show the admin's paths. */
static _Thread_local const cs_infiles_t *s_log_files;

/* ---- host API table for loaders ---- */

static void s_host_log(int level, const char *plugin, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void s_host_log(int level, const char *plugin, const char *fmt, ...)
{
    char line[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    cs_infiles_unpin_text(s_log_files, line, sizeof line);
    cs_log_from(level, plugin, "%s", line);
}

static int s_normalize(const cs_system_ops_t *sys, const char *code, uint8_t cls,
                       cs_code_t *out, cs_error_t *err)
{
    int rc = sys->normalize(code, strlen(code), out, err);
    if (rc != CS_OK) {
        return rc;
    }
    out->cls = cls;
    return CS_OK;
}

/* CS_ETERM with why, when the running load should stop; CS_OK otherwise. Checked for every
 * record, so a load stops within one record of a cancel whatever its loader checks. */
static int s_check_cancel(cs_jobs_t *jobs, cs_error_t *err)
{
    int why = atomic_load(&jobs->cancel);
    if (why == S_RUN) {
        return CS_OK;
    }
    return cs_error_set(err, CS_ETERM, "%s", why == S_CANCEL_ADMIN
                                                 ? "cancelled by the admin (cancel op)"
                                                 : "the broker is shutting down");
}

/* Store the codes rec's Excludes1 and "code first" notes name (store/cs_noterefs.h) under
 * the entry's key, and with the release's first record the marker saying it has them: a
 * claim then reads them with one get, not by reading and parsing the whole entry. */
static int s_put_noterefs(cs_sink_t *sink, const cs_record_t *rec, const uint8_t *key,
                          size_t klen, const cs_code_t *self, cs_error_t *err)
{
    int rc = CS_OK;
    if (sink->records == 0) {
        uint8_t mkey[4], ver = CS_NOTEREFS_VERSION;
        cs_key_put_u32(mkey, sink->release);
        rc = cs_writer_put(sink->w, CS_DB_NOTEREFS, mkey, sizeof mkey, &ver, 1);
    }
    if (rc == CS_OK && cs_noterefs_encode(&sink->nbuf, rec) != CS_OK) {
        return cs_error_set(err, CS_ENOMEM, "out of memory encoding %s's notes", self->display);
    }
    if (rc == CS_OK && sink->nbuf.len) {
        rc = cs_writer_put(sink->w, CS_DB_NOTEREFS, key, klen, sink->nbuf.data, sink->nbuf.len);
    }
    return rc == CS_OK ? CS_OK
                       : cs_error_set(err, rc, "store: cannot write %s's note references: %s",
                                      self->display, cs_strerror(rc));
}

static int s_host_emit(cs_sink_t *sink, const cs_record_t *rec, cs_error_t *err)
{
    if (!sink || sink->magic != CS_SINK_MAGIC || !rec) {
        return cs_error_set(err, CS_EINTERNAL, "emit called with a bad sink or record");
    }
    if (s_check_cancel(sink->jobs, err) != CS_OK) {
        return CS_ETERM;
    }
    if (rec->struct_size < offsetof(cs_record_t, attrs)) {
        return cs_error_set(err, CS_EMALFORMED, "record of %u bytes is older than ABI 1.0",
                            rec->struct_size);
    }
    if (!sink->sys) {
        return cs_error_set(err, CS_EMALFORMED, "a map loader emitted a code record");
    }
    /* A loader built for ABI 1.0 hands a shorter record: widen it, new fields zero. */
    cs_record_t whole;
    if (rec->struct_size < sizeof whole) {
        memset(&whole, 0, sizeof whole);
        memcpy(&whole, rec, rec->struct_size);
        whole.struct_size = sizeof whole;
        rec = &whole;
    }
    if (!rec->code || !rec->title || !rec->kind) {
        return cs_error_set(err, CS_EMALFORMED, "record without code, kind or title");
    }
    if (!sink->any_system && (!rec->system || strcmp(rec->system, sink->system) != 0)) {
        return cs_error_set(err, CS_EMALFORMED, "record %s is of system '%s', not '%s'",
                            rec->code, rec->system ? rec->system : "(none)", sink->system);
    }
    if (rec->cls < CS_CLASS_CHAPTER || rec->cls > CS_CLASS_CODE) {
        return cs_error_set(err, CS_EMALFORMED, "record %s has an unknown class %u", rec->code,
                            rec->cls);
    }
    cs_code_t self, parent;
    cs_error_t nerr;
    cs_error_clear(&nerr);
    if (s_normalize(sink->sys, rec->code, rec->cls, &self, &nerr) != CS_OK) {
        return cs_error_set(err, CS_EMALFORMED, "%s", nerr.msg);
    }
    uint8_t key[CS_KEY_MAX];
    if (rec->parent) {
        if (s_normalize(sink->sys, rec->parent, rec->parent_cls, &parent, &nerr) != CS_OK) {
            return cs_error_set(err, CS_EMALFORMED, "parent of %s: %s", rec->code, nerr.msg);
        }
        size_t plen = cs_key_code(key, sink->release, parent.cls, parent.key,
                                  strlen(parent.key));
        cs_val_t v;
        int rc = plen ? cs_writer_get(sink->w, CS_DB_CODES, key, plen, &v) : CS_ENOTFOUND;
        if (rc == CS_ENOTFOUND) {
            return cs_error_set(err, CS_EMALFORMED, "%s names parent %s, which comes nowhere "
                                "before it", self.display, parent.display);
        }
        if (rc != CS_OK) {
            return cs_error_set(err, rc, "store: %s", cs_strerror(rc));
        }
    }
    if (cs_entry_encode(&sink->buf, rec, &self, rec->parent ? &parent : NULL) != CS_OK) {
        return cs_error_set(err, CS_ENOMEM, "out of memory encoding %s", self.display);
    }
    size_t klen = cs_key_code(key, sink->release, self.cls, self.key, strlen(self.key));
    int rc = cs_writer_add(sink->w, CS_DB_CODES, key, klen, sink->buf.data, sink->buf.len);
    if (rc == CS_EEXIST) {
        return cs_error_set(err, CS_EMALFORMED, "%s appears twice in the release",
                            self.display);
    }
    if (rc != CS_OK) {
        return cs_error_set(err, rc, "store: cannot write %s: %s", self.display,
                            cs_strerror(rc));
    }
    if ((rc = s_put_noterefs(sink, rec, key, klen, &self, err)) != CS_OK) {
        return rc;
    }
    if (cs_search_builder_add(sink->search, rec, &self) != CS_OK) {
        return cs_error_set(err, CS_ENOMEM, "out of memory indexing %s for search",
                            self.display);
    }
    sink->seq++;
    if (rec->parent) {
        uint8_t ckey[CS_KEY_MAX];
        uint8_t cval[CS_CODE_MAX + 1];
        size_t clen = cs_key_child(ckey, sink->release, parent.cls, parent.key,
                                   strlen(parent.key), rec->order ? rec->order : sink->seq,
                                   sink->seq);
        size_t vlen = strlen(self.key);
        cval[0] = self.cls;
        memcpy(cval + 1, self.key, vlen);
        rc = cs_writer_put(sink->w, CS_DB_CHILDREN, ckey, clen, cval, vlen + 1);
        if (rc != CS_OK) {
            return cs_error_set(err, rc, "store: cannot write %s: %s", self.display,
                                cs_strerror(rc));
        }
    }
    sink->records++;
    if (self.cls == CS_CLASS_CODE) {
        sink->codes++;
        sink->billable += rec->billable ? 1 : 0;
    }
    if (++sink->in_batch >= CS_LOAD_BATCH) {
        rc = cs_writer_commit(sink->w, err);
        if (rc != CS_OK) {
            return rc;
        }
        sink->in_batch = 0;
        cs_jobs_t *jobs = sink->jobs;
        pthread_mutex_lock(&jobs->lock);
        jobs->cur->st.records = sink->records;
        jobs->cur->st.codes = sink->codes;
        pthread_mutex_unlock(&jobs->lock);
    }
    return CS_OK;
}

/* The index of map name in the release, registering it on first sight. */
static int s_map_index(cs_sink_t *sink, const cs_map_row_t *row, uint8_t *idx, cs_error_t *err)
{
    cs_release_t *rel = sink->rel;
    for (uint32_t i = 0; i < rel->n_maps; i++) {
        cs_release_map_t *m = &rel->maps[i];
        if (strcmp(m->name, row->map) == 0) {
            if (strcmp(m->from, row->from_system) != 0 || strcmp(m->to, row->to_system) != 0) {
                return cs_error_set(err, CS_EMALFORMED, "map %s joins %s to %s, not %s to %s",
                                    m->name, m->from, m->to, row->from_system, row->to_system);
            }
            *idx = (uint8_t)i;
            return CS_OK;
        }
    }
    if (rel->n_maps == CS_RELEASE_MAX_MAPS) {
        return cs_error_set(err, CS_EMALFORMED, "a load holds at most %d maps",
                            CS_RELEASE_MAX_MAPS);
    }
    if (strlen(row->map) >= sizeof rel->maps[0].name || !row->map[0] ||
        strlen(row->from_system) >= sizeof rel->maps[0].from ||
        strlen(row->to_system) >= sizeof rel->maps[0].to) {
        return cs_error_set(err, CS_EMALFORMED, "map or system id '%.40s' is empty or too long",
                            row->map);
    }
    cs_release_map_t *m = &rel->maps[rel->n_maps];
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", row->map);
    snprintf(m->from, sizeof m->from, "%s", row->from_system);
    snprintf(m->to, sizeof m->to, "%s", row->to_system);
    *idx = (uint8_t)rel->n_maps++;
    return CS_OK;
}

static int s_map_code(cs_sink_t *sink, const char *system, const char *code, const char *what,
                      cs_code_t *out, cs_error_t *err)
{
    const cs_plugin_desc_t *p = cs_plugin_host_system(sink->jobs->plugins, system,
                                                      strlen(system));
    if (!p) {
        return cs_error_set(err, CS_EMALFORMED, "no system plugin '%s' is loaded for the %s "
                            "%s", system, what, code);
    }
    cs_error_t nerr;
    cs_error_clear(&nerr);
    if (s_normalize(p->system, code, CS_CLASS_CODE, out, &nerr) != CS_OK) {
        return cs_error_set(err, CS_EMALFORMED, "%s %s: %s", what, code, nerr.msg);
    }
    return CS_OK;
}

static int s_host_emit_map(cs_sink_t *sink, const cs_map_row_t *row, cs_error_t *err)
{
    if (!sink || sink->magic != CS_SINK_MAGIC || !row) {
        return cs_error_set(err, CS_EINTERNAL, "emit_map called with a bad sink or row");
    }
    if (s_check_cancel(sink->jobs, err) != CS_OK) {
        return CS_ETERM;
    }
    if (sink->sys) {
        return cs_error_set(err, CS_EMALFORMED, "a code-system loader emitted a map row");
    }
    if (row->struct_size < sizeof(cs_map_row_t) || !row->map || !row->from_system ||
        !row->to_system || !row->source) {
        return cs_error_set(err, CS_EMALFORMED, "map row without map, systems or source");
    }
    int no_map = (row->flags & CS_MAP_NO_MAP) != 0;
    if (no_map != (row->target == NULL)) {
        return cs_error_set(err, CS_EMALFORMED, "map row for %s: a target must be given "
                            "exactly when the row is not a no-map row", row->source);
    }
    uint8_t idx = 0;
    int rc = s_map_index(sink, row, &idx, err);
    if (rc != CS_OK) {
        return rc;
    }
    cs_code_t source, target;
    rc = s_map_code(sink, row->from_system, row->source, "source", &source, err);
    if (rc == CS_OK && row->target) {
        rc = s_map_code(sink, row->to_system, row->target, "target", &target, err);
    }
    if (rc != CS_OK) {
        return rc;
    }
    if (!row->target && strcmp(row->to_system, "edit-set") == 0) {
        cs_listcheck_row(&sink->lists, sink->w, row->from_system, &source); /* cs_claim.h */
    }
    rc = cs_maps_put(sink->w, sink->release, idx, &source, row->target ? &target : NULL, row,
                     ++sink->seq);
    if (rc != CS_OK) {
        return cs_error_set(err, rc, "store: cannot write the row for %s: %s", source.display,
                            cs_strerror(rc));
    }
    sink->rel->maps[idx].rows++;
    sink->map_rows++;
    sink->records++;
    if (++sink->in_batch >= CS_LOAD_BATCH) {
        rc = cs_writer_commit(sink->w, err);
        if (rc != CS_OK) {
            return rc;
        }
        sink->in_batch = 0;
        pthread_mutex_lock(&sink->jobs->lock);
        sink->jobs->cur->st.records = sink->records;
        pthread_mutex_unlock(&sink->jobs->lock);
    }
    return CS_OK;
}

static void s_host_progress(cs_sink_t *sink, uint64_t bytes_done)
{
    if (!sink || sink->magic != CS_SINK_MAGIC) {
        return;
    }
    cs_jobs_t *jobs = sink->jobs;
    pthread_mutex_lock(&jobs->lock);
    jobs->cur->st.bytes_done = bytes_done;
    jobs->cur->st.records = sink->records;
    pthread_mutex_unlock(&jobs->lock);
}

static int s_host_cancelled(cs_sink_t *sink)
{
    return sink && sink->magic == CS_SINK_MAGIC && atomic_load(&sink->jobs->cancel);
}

static const cs_host_api_t s_host_api = {
    .struct_size = sizeof(cs_host_api_t),
    .log = s_host_log,
    .emit = s_host_emit,
    .progress = s_host_progress,
    .cancelled = s_host_cancelled,
    .alloc = malloc,
    .free = free,
    .emit_map = s_host_emit_map,
};

/* ---- the job thread ---- */

static double s_elapsed(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - since->tv_sec) + (double)(now.tv_nsec - since->tv_nsec) / 1e9;
}

static const char *s_base(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* The checksum of what was written and committed (store/cs_checksum.h), into rel before publish. */
static int s_checksum(cs_jobs_t *jobs, cs_release_t *rel, cs_error_t *err)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cs_reader_t *r = cs_reader_new(jobs->store, err);
    if (!r) {
        return err->code ? err->code : CS_EINTERNAL;
    }
    uint64_t n = 0;
    cs_error_t cerr;
    cs_error_clear(&cerr);
    cs_pace_t pace = {.stop = &jobs->cancel}; /* the load's own step: it waits for no query */
    int rc = cs_checksum_release(r, rel->id, rel->checksum, &n, &pace, &cerr);
    cs_reader_destroy(&r);
    if (rc != CS_OK) {
        return cs_error_set(err, rc, "cannot checksum what was written: %s", cerr.msg);
    }
    CS_NOTICE("load %s/%s: checksum of %llu records %.16s... in %.3f s", rel->system, rel->label,
              (unsigned long long)n, rel->checksum, s_elapsed(&t0));
    return CS_OK;
}

/* The release's code index image (store/cs_codeidx.h), written and committed before the
 * checksum, which covers it, and before publish, so that a published release has it. A
 * release that cannot be indexed gets none and is read from LMDB as before. */
static int s_code_index_image(cs_jobs_t *jobs, const cs_release_t *rel, cs_writer_t *w,
                              cs_error_t *err)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    size_t bytes = 0;
    cs_error_t ierr;
    cs_error_clear(&ierr);
    int rc = cs_codeidx_image_write(jobs->store, w, rel->id, &bytes, &ierr);
    if (rc == CS_ENOTFOUND || rc == CS_EMALFORMED) {
        CS_NOTICE("load %s/%s: no code index image: %s", rel->system, rel->label, ierr.msg);
        return CS_OK;
    }
    if (rc == CS_OK) {
        rc = cs_writer_commit(w, &ierr);
    }
    if (rc != CS_OK) {
        return cs_error_set(err, rc, "%s", ierr.msg);
    }
    CS_NOTICE("load %s/%s: code index image of %zu bytes written in %.3f s", rel->system,
              rel->label, bytes, s_elapsed(&t0));
    return CS_OK;
}

/* One attempt: write the release and publish it. On failure everything written is purged. */
static int s_attempt(cs_jobs_t *jobs, const cs_plugin_desc_t *sysp, cs_release_t *rel,
                     cs_sink_t *sink, cs_error_t *err)
{
    cs_writer_t *w = cs_writer_new(jobs->store, err);
    if (!w) {
        return err->code ? err->code : CS_EINTERNAL;
    }
    int rc = cs_catalog_begin_load(w, rel, err);
    if (rc != CS_OK) {
        cs_writer_destroy(&w);
        return rc;
    }
    sink->magic = CS_SINK_MAGIC;
    sink->jobs = jobs;
    sink->w = w;
    sink->sys = sysp ? sysp->system : NULL;
    sink->system = rel->system;
    sink->any_system = (jobs->loader_flags & CS_LOADER_ANY_SYSTEM) != 0;
    sink->release = rel->id;
    sink->records = sink->codes = sink->billable = sink->in_batch = 0;
    sink->map_rows = 0;
    cs_listcheck_init(&sink->lists, rel->effective_from);
    sink->seq = 0;
    sink->rel = rel;
    rel->n_maps = 0;
    sink->search = cs_search_builder_new(rel->id);
    if (!sink->search) {
        cs_writer_destroy(&w);
        return cs_error_set(err, CS_ENOMEM, "out of memory starting the search index");
    }
    rc = jobs->loader->loader->load(&s_host_api, sink, cs_infiles_pinned(jobs->in),
                                    jobs->n_files, err);
    if ((rc == CS_OK || rc == CS_ETERM) && atomic_load(&jobs->cancel) != S_RUN) {
        cs_error_clear(err);
        rc = s_check_cancel(jobs, err);
    }
    if (rc == CS_OK && !sysp && sink->map_rows == 0) {
        rc = cs_error_set(err, CS_EMALFORMED, "the files hold no crosswalk rows");
    }
    if (rc == CS_OK && sysp && sink->codes == 0) {
        rc = cs_error_set(err, CS_EMALFORMED, "the files hold no codes");
    }
    if (rc == CS_OK && sysp) {
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        rc = cs_search_builder_write(sink->search, w, err);
        CS_NOTICE("load %s/%s: search index of %u codes, %u words written in %.3f s",
                rel->system, rel->label, cs_search_builder_docs(sink->search),
                cs_search_builder_words(sink->search), s_elapsed(&t0));
    }
    cs_search_builder_destroy(&sink->search);
    if (rc == CS_OK) {
        rc = cs_writer_commit(w, err);
    }
    if (rc == CS_OK && sysp && !(jobs->loader_flags & CS_LOADER_INDEX)) {
        rc = s_code_index_image(jobs, rel, w, err);
    }
    if (rc == CS_OK) {
        rc = s_checksum(jobs, rel, err);
    }
    if (rc == CS_OK) {
        rel->codes = sink->codes;
        rel->billable = sink->billable;
        uint32_t replaced = 0;
        rc = cs_catalog_publish(w, rel, &replaced, err);
        if (rc == CS_OK && replaced) {
            cs_error_t perr;
            cs_error_clear(&perr);
            if (cs_catalog_purge(w, replaced, &perr) != CS_OK) {
                CS_WARN("load %s/%s: the replaced release stays until the next start: %s",
                        rel->system, rel->label, perr.msg);
            }
        }
    }
    sink->magic = 0;
    if (rc != CS_OK && err->code == CS_OK) {
        cs_error_set(err, rc, "%s", cs_strerror(rc));
    }
    if (rc != CS_OK) {
        /* Purge needs pages too: when the map was full, grow first. */
        cs_writer_destroy(&w);
        if (rc == CS_ESPACE) {
            cs_error_t gerr;
            cs_store_grow(jobs->store, 0, &gerr);
        }
        w = cs_writer_new(jobs->store, NULL);
        cs_error_t perr;
        cs_error_clear(&perr);
        if (!w || cs_catalog_purge(w, rel->id, &perr) != CS_OK) {
            CS_WARN("load %s/%s: partial release %u is purged at the next start", rel->system,
                    rel->label, rel->id);
        }
    }
    cs_writer_destroy(&w);
    return rc;
}

/* Does the loader name system among the systems it fills? */
static int s_loader_fills(const cs_plugin_desc_t *loader, const char *system)
{
    for (const char *const *s = loader->loader->systems; s && *s; s++) {
        if (strcmp(*s, system) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Check that loader can fill the system the admin named (want, or "" for the loader's own);
 * the system filled goes to system_out (32 bytes) and the loader's flags to *flags_out. */
static int s_check_loader(const cs_plugin_host_t *plugins, const cs_plugin_desc_t *loader,
                          const char *want, char system_out[32], uint32_t *flags_out,
                          cs_error_t *err)
{
    if (!loader || loader->kind != CS_PLUGIN_LOADER) {
        return cs_error_set(err, CS_EINVAL, "no loader given");
    }
    uint32_t flags = loader->abi_minor >= 1 ? loader->loader->flags : 0;
    const char *system = *want ? want : loader->loader->systems[0];
    if ((flags & CS_LOADER_ANY_SYSTEM) && !(flags & CS_LOADER_MAPS) && !*want) {
        return cs_error_set(err, CS_EINVAL, "loader %s fills any system: name it with "
                            "\"system\"", loader->name);
    }
    if (!system || !*system || strlen(system) >= 32) {
        return cs_error_set(err, CS_EINVAL, "loader %s names no system", loader->name);
    }
    if (!(flags & CS_LOADER_ANY_SYSTEM) && *want && !s_loader_fills(loader, want)) {
        return cs_error_set(err, CS_EINVAL, "loader %s does not fill system '%s'",
                            loader->name, want);
    }
    const cs_plugin_desc_t *sysp = cs_plugin_host_system(plugins, system, strlen(system));
    uint32_t own = CS_LOADER_MAPS | CS_LOADER_INDEX; /* sets with no system plugin */
    if (!(flags & own) && !sysp) {
        return cs_error_set(err, CS_EINVAL, "no system plugin '%s' is loaded", system);
    }
    if ((flags & own) && sysp) {
        return cs_error_set(err, CS_EINVAL, "'%s' is a code system; a map set needs a name "
                            "of its own", system);
    }
    snprintf(system_out, 32, "%s", system);
    *flags_out = flags;
    return CS_OK;
}

/* On the load thread, before anything is written: open, check and pin the files, digest
 * them, and pick the loader where the admin named none. The job's status learns the sizes,
 * the loader and the system. */
static int s_prepare(cs_jobs_t *jobs, cs_release_t *rel, cs_error_t *err)
{
    int rc = cs_infiles_open((const char *const *)jobs->files, jobs->n_files, jobs->pin_dir,
                             &jobs->in, err);
    if (rc != CS_OK) {
        return rc;
    }
    s_log_files = jobs->in;
    uint64_t total = 0;
    for (size_t i = 0; i < jobs->n_files; i++) {
        total += cs_infiles_size(jobs->in, i);
    }
    pthread_mutex_lock(&jobs->lock);
    jobs->cur->st.bytes_total = total;
    pthread_mutex_unlock(&jobs->lock);
    for (size_t i = 0; i < jobs->n_files && i < CS_RELEASE_MAX_FILES; i++) {
        cs_release_file_t *f = &rel->files[rel->n_files++];
        snprintf(f->name, sizeof f->name, "%s", s_base(jobs->files[i]));
        f->bytes = cs_infiles_size(jobs->in, i);
        rc = cs_infiles_sha256(jobs->in, i, &jobs->cancel, f->sha256);
        if (rc == CS_ETERM) {
            return s_check_cancel(jobs, err);
        }
        if (rc != CS_OK) {
            return cs_error_set(err, CS_EIO, "%s: cannot read it to digest it",
                                jobs->files[i]);
        }
    }
    const cs_plugin_desc_t *loader = jobs->loader;
    if (!loader) {
        loader = cs_plugin_host_sniff(jobs->plugins, cs_infiles_pinned(jobs->in),
                                      jobs->n_files, err);
        if (!loader) {
            return err->code ? err->code : CS_ENOTFOUND;
        }
        rc = s_check_loader(jobs->plugins, loader, jobs->want_system, jobs->system,
                            &jobs->loader_flags, err);
        if (rc != CS_OK) {
            return rc;
        }
        jobs->loader = loader;
    }
    pthread_mutex_lock(&jobs->lock);
    snprintf(jobs->cur->st.loader, sizeof jobs->cur->st.loader, "%s", loader->name);
    snprintf(jobs->cur->st.system, sizeof jobs->cur->st.system, "%s", jobs->system);
    pthread_mutex_unlock(&jobs->lock);
    snprintf(rel->system, sizeof rel->system, "%s", jobs->system);
    snprintf(rel->loader, sizeof rel->loader, "%s", loader->name);
    return s_check_cancel(jobs, err);
}

/* Write the release, growing the map and starting over while it is full. */
static int s_run(cs_jobs_t *jobs, cs_release_t *rel, cs_sink_t *sink, cs_error_t *err)
{
    int maps = (jobs->loader_flags & CS_LOADER_MAPS) != 0;
    const cs_plugin_desc_t *sysp =
        maps ? NULL
             : (jobs->loader_flags & CS_LOADER_INDEX)
                   ? cs_index_keys_system()
                   : cs_plugin_host_system(jobs->plugins, rel->system, strlen(rel->system));
    if (!sysp && !maps) {
        return cs_error_set(err, CS_ENOTFOUND, "no system plugin '%s' is loaded", rel->system);
    }
    int rc = CS_OK;
    for (int attempt = 0; rc == CS_OK; attempt++) {
        cs_error_clear(err);
        rc = s_attempt(jobs, sysp, rel, sink, err);
        if (rc != CS_ESPACE || attempt + 1 >= CS_LOAD_GROW_TRIES) {
            break;
        }
        CS_NOTICE("load %s/%s: map full at %zu MiB, growing and starting over", rel->system,
                  rel->label, cs_store_map_size(jobs->store) >> 20);
        rc = CS_OK;
    }
    return rc;
}

static void *s_job_main(void *arg)
{
    cs_jobs_t *jobs = arg;
    cs_error_t err;
    cs_error_clear(&err);
    cs_sink_t sink;
    memset(&sink, 0, sizeof sink);
    cs_release_t rel;
    memset(&rel, 0, sizeof rel);
    snprintf(rel.label, sizeof rel.label, "%s", jobs->label);
    rel.effective_from = jobs->effective_from;
    int rc = s_prepare(jobs, &rel, &err);
    if (rc == CS_OK) {
        rc = s_run(jobs, &rel, &sink, &err);
    }
    cs_buf_free(&sink.buf);
    cs_buf_free(&sink.nbuf);
    /* Messages name the admin's paths, never the pins. */
    cs_infiles_unpin_text(jobs->in, err.msg, sizeof err.msg);
    cs_infiles_unpin_text(jobs->in, err.file, sizeof err.file);
    s_log_files = NULL;
    cs_infiles_close(&jobs->in);
    /* A load frees tens of MiB in this thread's malloc arena, which glibc keeps mapped for
     * the next load: give the free pages back, or the broker holds them while it serves. */
    malloc_trim(0);

    pthread_mutex_lock(&jobs->lock);
    s_job_t *job = jobs->cur;
    const char *sys = job->st.system[0] ? job->st.system : "?"; /* "?": never sniffed */
    job->st.seconds = s_elapsed(&job->started);
    job->st.records = sink.records;
    job->st.codes = sink.codes;
    job->st.billable = sink.billable;
    if (rc == CS_OK) {
        job->st.state = CS_JOB_DONE;
        job->st.bytes_done = job->st.bytes_total;
        CS_NOTICE("load %s %s/%s: done, %llu records (%llu codes, %llu billable) in %.2f s",
                  job->st.id, sys, rel.label, (unsigned long long)sink.records,
                  (unsigned long long)sink.codes, (unsigned long long)sink.billable,
                  job->st.seconds);
        char lists[sizeof job->st.lists];
        if (cs_listcheck_summary(&sink.lists, lists, sizeof lists) > 0) {
            CS_NOTICE("load %s %s/%s: its lists: %s", job->st.id, sys, rel.label, lists);
            memcpy(job->st.lists, lists, sizeof lists);
        }
    } else {
        job->st.state = CS_JOB_FAILED;
        job->st.cancelled = rc == CS_ETERM && atomic_load(&jobs->cancel) != S_RUN;
        job->st.error = err;
        if (err.file[0]) {
            CS_ERROR("load %s %s/%s: failed at %s:%u:%u: %s", job->st.id, sys, rel.label,
                     err.file, err.line, err.column, err.msg);
        } else {
            CS_ERROR("load %s %s/%s: failed: %s", job->st.id, sys, rel.label, err.msg);
        }
    }
    pthread_cond_broadcast(&jobs->ended);
    pthread_mutex_unlock(&jobs->lock);
    return NULL;
}

/* ---- the job table ---- */

cs_jobs_t *cs_jobs_new(cs_store_t *store, const cs_plugin_host_t *plugins)
{
    cs_jobs_t *jobs = calloc(1, sizeof *jobs);
    if (!jobs) {
        return NULL;
    }
    jobs->store = store;
    jobs->plugins = plugins;
    jobs->next_id = 1;
    snprintf(jobs->pin_dir, sizeof jobs->pin_dir, "%s/load-files", cs_store_dir(store));
    pthread_mutex_init(&jobs->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&jobs->ended, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&jobs->cancel, S_RUN);
    return jobs;
}

static void s_free_files(cs_jobs_t *jobs)
{
    for (size_t i = 0; i < jobs->n_files; i++) {
        free(jobs->files[i]);
    }
    free(jobs->files);
    jobs->files = NULL;
    jobs->n_files = 0;
}

/* Join a finished load thread, if any. Call with the lock NOT held. */
static void s_reap(cs_jobs_t *jobs, int wait)
{
    pthread_mutex_lock(&jobs->lock);
    int running = jobs->running;
    int finished = running && jobs->cur->st.state != CS_JOB_RUNNING;
    pthread_mutex_unlock(&jobs->lock);
    if (running && (finished || wait)) {
        pthread_join(jobs->thread, NULL);
        pthread_mutex_lock(&jobs->lock);
        jobs->running = 0;
        s_free_files(jobs);
        pthread_mutex_unlock(&jobs->lock);
    }
}

void cs_jobs_wait(cs_jobs_t *jobs)
{
    s_reap(jobs, 1);
}

int cs_jobs_stop(cs_jobs_t *jobs, int timeout_ms)
{
    atomic_store(&jobs->cancel, S_CANCEL_SHUTDOWN);
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    int rc = 0;
    pthread_mutex_lock(&jobs->lock);
    while (rc == 0 && jobs->running && jobs->cur->st.state == CS_JOB_RUNNING) {
        rc = pthread_cond_timedwait(&jobs->ended, &jobs->lock, &until);
    }
    int stuck = jobs->running && jobs->cur->st.state == CS_JOB_RUNNING;
    pthread_mutex_unlock(&jobs->lock);
    if (stuck) {
        return CS_EAGAIN;
    }
    s_reap(jobs, 1);
    return CS_OK;
}

void cs_jobs_destroy(cs_jobs_t **jobs)
{
    if (!jobs || !*jobs) {
        return;
    }
    cs_jobs_t *j = *jobs;
    atomic_store(&j->cancel, S_CANCEL_SHUTDOWN);
    s_reap(j, 1);
    pthread_cond_destroy(&j->ended);
    pthread_mutex_destroy(&j->lock);
    free(j);
    *jobs = NULL;
}

/* Copy the admin's paths into the job table (lock held). */
static int s_copy_files(cs_jobs_t *jobs, const cs_load_spec_t *spec, cs_error_t *err)
{
    jobs->files = calloc(spec->n_files, sizeof *jobs->files);
    if (!jobs->files) {
        return cs_error_set(err, CS_ENOMEM, "out of memory");
    }
    jobs->n_files = spec->n_files;
    for (size_t i = 0; i < spec->n_files; i++) {
        jobs->files[i] = strdup(spec->files[i]);
        if (!jobs->files[i]) {
            s_free_files(jobs);
            return cs_error_set(err, CS_ENOMEM, "out of memory");
        }
    }
    return CS_OK;
}

/* The checks of a load request that need no file: label, paths, and the loader when named. */
static int s_check_spec(cs_jobs_t *jobs, const cs_load_spec_t *spec, char system[32],
                        uint32_t *flags, cs_error_t *err)
{
    const char *want = spec->system ? spec->system : "";
    if (strlen(want) >= sizeof jobs->want_system) {
        return cs_error_set(err, CS_EINVAL, "the system id '%.40s' is too long", want);
    }
    system[0] = '\0';
    *flags = 0;
    if (spec->loader) {
        int rc = s_check_loader(jobs->plugins, spec->loader, want, system, flags, err);
        if (rc != CS_OK) {
            return rc;
        }
    }
    if (!spec->label || !*spec->label || strlen(spec->label) >= sizeof jobs->label) {
        return cs_error_set(err, CS_EINVAL, "a release label of 1 to %zu characters is needed",
                            sizeof jobs->label - 1);
    }
    for (const char *p = spec->label; *p; p++) {
        if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e) {
            return cs_error_set(err, CS_EINVAL, "release label '%s' has a space or a "
                                "character outside printable ASCII", spec->label);
        }
    }
    if (spec->n_files == 0) {
        return cs_error_set(err, CS_EINVAL, "no files to load");
    }
    /* Only the text of the paths is looked at here: opening, checking and sniffing the files
     * is file work, done on the load thread (a FIFO or a slow disk must not stall queries). */
    for (size_t i = 0; i < spec->n_files; i++) {
        if (spec->files[i][0] != '/') {
            return cs_error_set(err, CS_EINVAL, "%s: file paths must be absolute",
                                spec->files[i]);
        }
    }
    return CS_OK;
}

int cs_jobs_start(cs_jobs_t *jobs, const cs_load_spec_t *spec, char id_out[CS_JOB_ID_MAX],
                  cs_error_t *err)
{
    s_reap(jobs, 0);
    char system[32];
    uint32_t flags;
    int rc = s_check_spec(jobs, spec, system, &flags, err);
    if (rc != CS_OK) {
        return rc;
    }
    pthread_mutex_lock(&jobs->lock);
    if (jobs->running) {
        pthread_mutex_unlock(&jobs->lock);
        return cs_error_set(err, CS_EEXIST, "a load is already running; try again when it "
                            "is done");
    }
    rc = s_copy_files(jobs, spec, err);
    if (rc != CS_OK) {
        pthread_mutex_unlock(&jobs->lock);
        return rc;
    }
    jobs->loader = spec->loader;
    jobs->loader_flags = flags;
    snprintf(jobs->want_system, sizeof jobs->want_system, "%s", spec->system ? spec->system
                                                                             : "");
    snprintf(jobs->system, sizeof jobs->system, "%s", system);
    snprintf(jobs->label, sizeof jobs->label, "%s", spec->label);
    jobs->effective_from = spec->effective_from;
    unsigned n = jobs->next_id++;
    s_job_t *job = &jobs->jobs[n % CS_JOBS_KEPT];
    memset(job, 0, sizeof *job);
    snprintf(job->st.id, sizeof job->st.id, "job-%u", n);
    snprintf(job->st.system, sizeof job->st.system, "%s", system);
    snprintf(job->st.label, sizeof job->st.label, "%s", spec->label);
    if (spec->loader) {
        snprintf(job->st.loader, sizeof job->st.loader, "%s", spec->loader->name);
    }
    job->st.state = CS_JOB_RUNNING;
    clock_gettime(CLOCK_MONOTONIC, &job->started);
    jobs->cur = job;
    atomic_store(&jobs->cancel, S_RUN);
    snprintf(id_out, CS_JOB_ID_MAX, "%s", job->st.id);
    if (pthread_create(&jobs->thread, NULL, s_job_main, jobs) != 0) {
        job->st.state = CS_JOB_FAILED;
        cs_error_set(&job->st.error, CS_EAGAIN, "cannot start the load thread");
        s_free_files(jobs);
        pthread_mutex_unlock(&jobs->lock);
        return cs_error_set(err, CS_EAGAIN, "cannot start the load thread");
    }
    jobs->running = 1;
    CS_NOTICE("load %s %s/%s: started (%s, %zu file%s)", job->st.id, system[0] ? system : "?",
              spec->label, spec->loader ? spec->loader->name : "loader to be sniffed",
              spec->n_files, spec->n_files == 1 ? "" : "s");
    pthread_mutex_unlock(&jobs->lock);
    return CS_OK;
}

int cs_jobs_cancel(cs_jobs_t *jobs, const char *id, size_t len, cs_job_status_t *out,
                   cs_error_t *err)
{
    int rc = cs_jobs_status(jobs, id, len, out);
    if (rc != CS_OK) {
        return cs_error_set(err, CS_ENOTFOUND, "no such job");
    }
    pthread_mutex_lock(&jobs->lock);
    int running = jobs->running && jobs->cur->st.state == CS_JOB_RUNNING &&
                  strcmp(jobs->cur->st.id, out->id) == 0;
    if (running) {
        atomic_store(&jobs->cancel, S_CANCEL_ADMIN);
        CS_NOTICE("load %s: cancel asked by the admin", out->id);
    }
    pthread_mutex_unlock(&jobs->lock);
    if (!running) {
        return cs_error_set(err, CS_EINVAL, "%s has already ended (%s): nothing to cancel",
                            out->id, out->state == CS_JOB_DONE ? "done" : "failed");
    }
    return CS_OK;
}

int cs_jobs_status(cs_jobs_t *jobs, const char *id, size_t len, cs_job_status_t *out)
{
    s_reap(jobs, 0);
    int rc = CS_ENOTFOUND;
    pthread_mutex_lock(&jobs->lock);
    for (size_t i = 0; i < CS_JOBS_KEPT; i++) {
        s_job_t *job = &jobs->jobs[i];
        if (job->st.id[0] && strlen(job->st.id) == len && memcmp(job->st.id, id, len) == 0) {
            *out = job->st;
            if (job->st.state == CS_JOB_RUNNING) {
                out->seconds = s_elapsed(&job->started);
            }
            rc = CS_OK;
            break;
        }
    }
    pthread_mutex_unlock(&jobs->lock);
    return rc;
}

int cs_jobs_retire_or_drop(cs_jobs_t *jobs, const char *system, const char *label, int drop,
                           uint64_t *codes, cs_error_t *err)
{
    s_reap(jobs, 0);
    pthread_mutex_lock(&jobs->lock);
    if (jobs->running) {
        pthread_mutex_unlock(&jobs->lock);
        return cs_error_set(err, CS_EEXIST, "a load is running; try again when it is done");
    }
    /* Holding the lock keeps a load from starting while this writes. */
    cs_writer_t *w = cs_writer_new(jobs->store, err);
    int rc = w ? CS_OK : (err->code ? err->code : CS_EINTERNAL);
    if (rc == CS_OK) {
        rc = drop ? cs_catalog_drop(w, system, label, codes, err)
                  : cs_catalog_retire(w, system, label, err);
    }
    cs_writer_destroy(&w);
    pthread_mutex_unlock(&jobs->lock);
    if (rc == CS_OK) {
        CS_NOTICE("%s %s/%s", drop ? "dropped" : "retired", system, label);
    }
    return rc;
}
