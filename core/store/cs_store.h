/* cs_store.h: the LMDB store: one environment, fixed named databases, per-thread readers,
 * one batched writer, and a map that grows on demand.
 *
 * Databases (all opened once, at cs_store_open, and shared for the life of the store):
 *   CS_DB_META      catalog of releases and schema version (see cs_catalog.h)
 *   CS_DB_CODES     [release u32 BE][class u8][code key] -> entry record (cs_entry.h)
 *   CS_DB_CHILDREN  [release][class][parent key][0][order u32 BE][seq u32 BE] -> [class][key]
 *   CS_DB_SEARCH    [release][tag u8]... -> the release's search index (cs_search_format.h)
 *   CS_DB_MAPS      [release][map u8][source key][0][seq u32] -> one crosswalk row (cs_maps.h)
 *   CS_DB_RMAPS     [release][map u8][target key][0][seq u32] -> the row's source, reversed
 *   CS_DB_NOTEREFS  [release][class][code key] -> the codes an entry's notes name, parsed at
 *                   load (cs_noterefs.h); [release] alone marks a release loaded with them.
 *                   Optional: a store made before it, opened read-only, lacks it, and its
 *                   reads answer CS_ENOTFOUND.
 *   CS_DB_CODEIDX   [release] -> the release's code index image (cs_codeidx.h), written by
 *                   the load before publish. Optional as CS_DB_NOTEREFS is.
 *
 * Caveats (as lmdb.h's):
 *  - one cs_store_t per process and per directory; never use it across fork();
 *  - a reader's transaction lives from cs_reader_begin to cs_reader_end: keep that short (one
 *    request) and never across a poll, or the file cannot reuse pages;
 *  - one writer at a time (the loader thread); cs_writer_* calls come from that thread only;
 *  - values returned by readers are borrowed from the map: valid until cs_reader_end or the
 *    next call on the same reader that moves its cursor; copy what must outlive them;
 *  - the map starts at map_size bytes of address space and doubles when a write finds it full
 *    (cs_store_grow): readers are quiesced by a lock that each reader holds only between
 *    begin and end. A map grown by another process (a broker, seen from an embedded reader)
 *    is adopted the same way: under that lock taken exclusively, once for all readers.
 */
#ifndef CS_STORE_H
#define CS_STORE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "codeset/cs_error.h"
#include "util/cs_pace.h"

#ifdef __cplusplus
extern "C" {
#endif

enum cs_db {
    CS_DB_META = 0,
    CS_DB_CODES,
    CS_DB_CHILDREN,
    CS_DB_SEARCH,
    CS_DB_MAPS,
    CS_DB_RMAPS,
    CS_DB_NOTEREFS,
    CS_DB_CODEIDX,
    CS_DB_COUNT_
};

#define CS_STORE_SCHEMA 1
#define CS_STORE_KEY_MAX 511 /* LMDB's default maximum key size */

typedef struct cs_val {
    const void *data;
    size_t len;
} cs_val_t;

typedef struct cs_store cs_store_t;
typedef struct cs_reader cs_reader_t;
typedef struct cs_writer cs_writer_t;

/* The file in the store's directory that a writable store holds flock()ed. */
#define CS_STORE_LOCK_FILE "writer.lock"

/* Open (creating dir and the databases if missing) the store in dir. map_size 0 means the
 * default (1 GiB of address space); max_readers 0 means 126. The store takes an exclusive
 * flock on dir/CS_STORE_LOCK_FILE (holding this process's id) for as long as it is open, so
 * only one writable store, one broker, uses a directory at a time; read-only stores never
 * take it. Returns an owned store or NULL with err set (CS_EIO for an unusable directory,
 * CS_EEXIST when another process holds the lock, CS_EMALFORMED for a database of another
 * schema). Not thread-safe: call before starting threads. */
cs_store_t *cs_store_open(const char *dir, size_t map_size, unsigned max_readers,
                          cs_error_t *err);

/* Flags of cs_store_open_ex. */
enum {
    /* Open an existing store read-only (MDB_RDONLY), for embedding: the directory is not
     * created, no database is created, the schema version is checked but never written, and
     * a directory that holds no codeset store fails (CS_EIO: no LMDB file; CS_EMALFORMED: an
     * LMDB file without codeset's databases or of another schema). Writers cannot be used. */
    CS_STORE_RDONLY = 1u << 0,
};
/* cs_store_open with flags (CS_STORE_*). cs_store_open(d, m, r, e) is the same as
 * cs_store_open_ex(d, m, r, 0, e). With CS_STORE_RDONLY, map_size 0 adopts the file's. */
cs_store_t *cs_store_open_ex(const char *dir, size_t map_size, unsigned max_readers,
                             unsigned flags, cs_error_t *err);
/* Close; *store becomes NULL. Every reader and writer must be destroyed first. */
void cs_store_destroy(cs_store_t **store);

/* The directory and the current map size in bytes. Thread-safe. */
const char *cs_store_dir(const cs_store_t *store);
size_t cs_store_map_size(const cs_store_t *store);
/* Bytes the data file uses (last page used * page size). Thread-safe. */
uint64_t cs_store_used_bytes(cs_store_t *store);

/* Read the data file into the page cache, from start to end, one MiB at a time, so that the
 * first queries after a start on a cold cache find their pages there instead of each waiting
 * on a disk read; reading one step at a time (never the whole file asked for at once) keeps
 * a query's own read from queueing behind the rest of the file. Each step waits on pace
 * (cs_pace.h; may be NULL); blocks until done or until pace says stop. Nothing happens where
 * the file cannot be read. Thread-safe. */
void cs_store_prefetch(cs_store_t *store, cs_pace_t *pace);

/* Read bytes [off, off + len) of the data file into the page cache, step bytes at a time,
 * each step read and waited for before the next, through a descriptor of its own that asks
 * the kernel for no read-ahead: the disk's queue holds at most one step of these reads ahead
 * of another thread's (a page fault's read-around is megabytes here, read-ahead on a
 * sequential read as much again). Blocks until done or until *stop (may be NULL) is set,
 * polled between steps. Nothing happens where the file cannot be read. Thread-safe. */
void cs_store_read_in(cs_store_t *store, uint64_t off, uint64_t len, size_t step,
                      atomic_int *stop);

/* The id of the newest commit to the file, by any process (LMDB's last transaction id, read
 * from its meta pages without taking a reader slot): equal to a snapshot's id
 * (cs_reader_snapshot) as long as nothing was committed since that snapshot began, so a
 * caller can tell that what it read then is still true for a few dozen instructions instead
 * of a snapshot. 0 when it cannot be told. Thread-safe. */
uint64_t cs_store_last_commit(cs_store_t *store);

/* Double the map (at least to min_size). Waits for readers to leave their transactions and
 * blocks new ones meanwhile. Must be called with no write transaction open. */
int cs_store_grow(cs_store_t *store, size_t min_size, cs_error_t *err);

/* ---- release health: what the verifier found (cs_verify.h), read by every query ---- */
/* Mark release id failed, with why (one sentence, copied: "failed its integrity check: ..."),
 * or, with why NULL, healthy again. At most CS_STORE_FAILED_MAX releases are held failed (a
 * later one is logged and not held). Thread-safe. */
#define CS_STORE_FAILED_MAX 64
void cs_store_release_fail(cs_store_t *store, uint32_t id, const char *why);
/* 1 if release id failed, with the reason copied into why[cap] (why may be NULL); else 0.
 * Thread-safe; one atomic load while no release has failed. */
int cs_store_release_failed(cs_store_t *store, uint32_t id, char *why, size_t cap);

/* ---- readers: one per thread ----
 * LMDB trusts its pages: in a corrupted file it may read outside a page and fault. Every
 * LMDB call of a reader runs under a guard: a fault (SIGSEGV, SIGBUS) inside one makes that
 * call, and every later one in the same snapshot, fail with CS_EMALFORMED instead of
 * killing the process; a fault anywhere else reaches the handler installed before (the
 * default kills, as it always did). Keys and values are also checked to lie inside the data
 * file before they are returned, so decoding them can never read past its end. */
cs_reader_t *cs_reader_new(cs_store_t *store, cs_error_t *err);
void cs_reader_destroy(cs_reader_t **reader);
/* Start a snapshot (renews the thread's transaction; adopts a map another process grew).
 * CS_OK or CS_EINTERNAL. */
int cs_reader_begin(cs_reader_t *reader);
/* The snapshot's id (LMDB's transaction id), between begin and end: every commit makes a new
 * one, so two snapshots with the same id hold the same data. 0 when not begun. */
uint64_t cs_reader_snapshot(const cs_reader_t *reader);
/* Where the map lies in this snapshot: a number that changes whenever the map moves (it
 * grew, here or in another process), read between begin and end. Pointers into a snapshot
 * kept past cs_reader_end point at the same bytes in a later snapshot of the same reader only
 * when both its id and this are the same. */
unsigned cs_reader_map_gen(const cs_reader_t *reader);
/* 1 if a call in the current snapshot met a corrupt page (it and every later one failed
 * with CS_EMALFORMED); cleared by the next cs_reader_begin. */
int cs_reader_corrupt(const cs_reader_t *reader);
/* End the snapshot (resets the transaction). Safe to call when not begun. */
void cs_reader_end(cs_reader_t *reader);
/* Exact get. CS_OK (val borrowed) or CS_ENOTFOUND. */
int cs_reader_get(cs_reader_t *reader, int db, const void *key, size_t klen, cs_val_t *val);
/* Position db's cursor at the first key >= key. CS_OK with *k, *v, or CS_ENOTFOUND. */
int cs_reader_seek(cs_reader_t *reader, int db, const void *key, size_t klen, cs_val_t *k,
                   cs_val_t *v);
/* A read-only mapping of some pages of the data file, made by cs_reader_map. */
typedef struct cs_mapping {
    void *addr;      /* NULL: nothing mapped */
    size_t len;
    uint64_t offset; /* where addr lies in the data file */
} cs_mapping_t;
/* Map the bytes of value v (returned by r in its current snapshot) on their own: a
 * read-only, shared mapping of the data file's pages that hold it, so its page cache is
 * shared by every process that maps the file and counted in none's anonymous memory. *data
 * is v's first byte inside *m. The mapping outlives the snapshot and a remap of LMDB's own
 * map; its bytes stay v's only while v is in the store (LMDB reuses a deleted value's pages
 * once no snapshot holds them), so whoever reads it after that must expect other bytes.
 * CS_OK; CS_EMALFORMED (v does not lie inside the data file); CS_EIO (mmap failed). */
int cs_reader_map(cs_reader_t *reader, const cs_val_t *v, cs_mapping_t *m, const void **data);
/* Unmap; m becomes empty. Accepts an empty one. */
void cs_mapping_unmap(cs_mapping_t *m);
/* Step db's cursor forward / backward. CS_OK or CS_ENOTFOUND at the end. */
int cs_reader_next(cs_reader_t *reader, int db, cs_val_t *k, cs_val_t *v);
int cs_reader_prev(cs_reader_t *reader, int db, cs_val_t *k, cs_val_t *v);
/* The last key of db (for seeking backward from the end). */
int cs_reader_last(cs_reader_t *reader, int db, cs_val_t *k, cs_val_t *v);

/* ---- the writer: one at a time, on one thread ---- */
/* Open a write transaction. CS_OK or an error. */
cs_writer_t *cs_writer_new(cs_store_t *store, cs_error_t *err);
/* Abort anything uncommitted and free; *writer becomes NULL. */
void cs_writer_destroy(cs_writer_t **writer);
/* Put (overwriting). CS_ESPACE when the map is full (the whole transaction is then lost: the
 * caller aborts, grows and starts over). Errors are sticky: after one, every call returns it. */
int cs_writer_put(cs_writer_t *w, int db, const void *key, size_t klen, const void *val,
                  size_t vlen);
/* Make room for a value of vlen bytes under key (overwriting) and point *val at it, for the
 * caller to fill before the next call on w (LMDB's MDB_RESERVE: no copy of a large value). */
int cs_writer_reserve(cs_writer_t *w, int db, const void *key, size_t klen, size_t vlen,
                      void **val);
/* Put only if absent: CS_EEXIST when the key is there. */
int cs_writer_add(cs_writer_t *w, int db, const void *key, size_t klen, const void *val,
                  size_t vlen);
int cs_writer_get(cs_writer_t *w, int db, const void *key, size_t klen, cs_val_t *val);
int cs_writer_del(cs_writer_t *w, int db, const void *key, size_t klen);
/* Delete up to max_keys keys of db that start with prefix; *more = 1 if some remain. */
int cs_writer_del_prefix(cs_writer_t *w, int db, const void *prefix, size_t plen,
                         size_t max_keys, int *more);
/* Seek/next over db inside the write transaction (same contract as the reader's). */
int cs_writer_seek(cs_writer_t *w, int db, const void *key, size_t klen, cs_val_t *k,
                   cs_val_t *v);
int cs_writer_next(cs_writer_t *w, int db, cs_val_t *k, cs_val_t *v);
/* Commit what was written and open a new transaction (a batch boundary). A full disk is
 * CS_EIO with err saying "disk full" and the directory (not CS_ESPACE: a bigger map would
 * not help). */
int cs_writer_commit(cs_writer_t *w, cs_error_t *err);
/* Abort what was written since the last commit and open a new transaction. */
int cs_writer_abort(cs_writer_t *w);
/* The sticky error, CS_OK if none. */
int cs_writer_status(const cs_writer_t *w);

#ifdef __cplusplus
}
#endif
#endif /* CS_STORE_H */
