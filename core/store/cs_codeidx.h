/* cs_codeidx.h: an in-memory hash index of each release's entries, shared by the threads of
 * a process, so that finding a code costs a hash probe instead of a B-tree walk.
 *
 * Why. A random mdb_get walks three pages of a tree as large as the database: about five
 * dependent cache and TLB misses, 0.7-0.9 us on the reference VM, most of a lookup's or a
 * validated code's time. A probe here costs two misses.
 *
 * What an index holds. For every entry of one release (any class): its key, the head of its
 * stored value (cs_entry.h: version 3, the fields up to the short title, which is all that
 * validation and a plain lookup read; a field equal to another, such as a short title that is
 * the title, is held once) and whether the entry also has notes or attributes. Nothing in it points
 * into the LMDB map. A release's entries never change once it is published (loading a label again
 * makes a new release id; ids are never reused), so an index built once stays true for as long as
 * its release exists.
 *
 * Images. A load writes its release's index, as it will be read, into the store before it
 * publishes the release (cs_codeidx_image_write: the value [release] of CS_DB_CODEIDX, in
 * the release's checksum, purged with it). A process maps that image read-only from the data
 * file instead of building: nothing to build at start, and the pages are page cache shared by
 * every process that maps the file, in none's anonymous memory. The image is checked when
 * mapped (magic, version, byte order, release, sizes that add up) and refused otherwise, with
 * a warning, the index then built in memory; every offset is checked before it is read, so a
 * damaged image that passes gives wrong answers at worst, never a read outside it (the
 * release's checksum, which the verifier recomputes, catches those). A release loaded before
 * images, or one whose image was refused, is built in memory as below.
 *
 * Building. The first time a thread asks for a release, a background thread (started on
 * first need) maps its image, or reads the release in its own snapshot, 0.03-0.2 s for
 * 95,000 entries, and publishes the index; until then callers read LMDB as before. A release
 * holding an entry of an older layout is never indexed (its callers keep reading LMDB).
 *
 * Memory. Indexes, built or mapped, are kept within a byte budget; when a new one does not fit, the
 * least recently asked-for are dropped from the set, each freed when the last thread holding it
 * releases it, but never one asked for in the last CS_CODEIDX_KEEP_MS: then the new one is
 * not kept, and not built again before that time has passed (releases asked for in turn
 * that do not fit together would otherwise be rebuilt over and over). A budget of 0 turns
 * indexing off.
 *
 * Thread-safety. Every function may be called from any thread. An acquired index is
 * immutable and read without locks until released.
 */
#ifndef CS_CODEIDX_H
#define CS_CODEIDX_H

#include <stddef.h>
#include <stdint.h>

#include "codeset/cs_error.h"
#include "store/cs_entry.h"
#include "store/cs_store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cs_codeidx cs_codeidx_t;         /* one release's index */
typedef struct cs_codeidx_set cs_codeidx_set_t; /* a process's indexes over one store */

/* Flags of a found entry. */
#define CS_CODEIDX_HAS_NOTES 1u /* the stored value has notes the head copy lacks */
#define CS_CODEIDX_HAS_ATTRS 2u /* ... or attributes */
#define CS_CODEIDX_HAS_REFS 4u  /* it has an Excludes1 or "code first" note: a release loaded
                                 * with note references (cs_noterefs.h) holds a record of it */

/* A set over store (borrowed; it must outlive the set) keeping at most budget bytes of
 * indexes. NULL with err set (CS_ENOMEM). */
cs_codeidx_set_t *cs_codeidx_set_new(cs_store_t *store, size_t budget, cs_error_t *err);
/* Stop the builder, drop the set's indexes; those still acquired are freed at their last
 * release. *set becomes NULL; NULL is accepted. */
void cs_codeidx_set_destroy(cs_codeidx_set_t **set);

/* The index of release for the caller, who must cs_codeidx_release it; or NULL when there is
 * none yet (a build is then queued) or will be none (budget 0, an older layout). */
cs_codeidx_t *cs_codeidx_acquire(cs_codeidx_set_t *set, uint32_t release);
/* Let go of an acquired index. Accepts NULL. */
void cs_codeidx_release(cs_codeidx_t *idx);
/* The release an index is of. */
uint32_t cs_codeidx_release_id(const cs_codeidx_t *idx);

/* Find entry (cls, key) of the index's release. 1 with *head (the fields
 * cs_entry_decode_head gives of the stored value, the same bytes: spans borrowed from idx or
 * key) and *flags (CS_CODEIDX_*) filled; 0 when the release has no such entry. */
int cs_codeidx_find(const cs_codeidx_t *idx, uint8_t cls, const char *key, size_t klen,
                    cs_entry_t *head, unsigned *flags);

/* For a batch: start fetching what a find of (cls, key) and its caller will read, some finds
 * ahead. Stage 0 fetches the hash slot; stage 1, later, reads that slot and fetches the
 * entry's record; stage 2, later again, reads the record and fetches its titles (which a
 * find lends without reading them). */
uint64_t cs_codeidx_hash(uint8_t cls, const char *key, size_t klen);
void cs_codeidx_prefetch(const cs_codeidx_t *idx, uint64_t hash, int stage);
/* cs_codeidx_find of a key whose cs_codeidx_hash is hash (computed already). */
int cs_codeidx_find_hashed(const cs_codeidx_t *idx, uint64_t hash, uint8_t cls, const char *key,
                           size_t klen, cs_entry_t *head, unsigned *flags);

/* Map release's image, or build its index, now, in the caller's thread, and publish it
 * (tests, and callers that want it before their first query). CS_OK, CS_ENOTFOUND (no entries),
 * CS_EMALFORMED (an entry of an older layout), CS_ENOMEM, CS_ESPACE (over the budget),
 * CS_EINTERNAL. */
int cs_codeidx_build(cs_codeidx_set_t *set, uint32_t release, cs_error_t *err);

/* Map the images of releases (the likeliest to be asked for first; at most
 * CS_CODEIDX_WARM_MAX) on the builder thread, before anyone asks, and publish each that fits
 * the budget beside the indexes already published (none is dropped for it). A process
 * starting on a cold page cache then has the images read (MADV_WILLNEED) while it starts,
 * not under its first queries, and those find their index published. A release without a
 * sound image is skipped (it is built when first asked for, as before), as is one that does
 * not fit; neither is remembered as refused. Builds for queries go first. Returns at once. */
#define CS_CODEIDX_WARM_MAX 32
void cs_codeidx_warm(cs_codeidx_set_t *set, const uint32_t *releases, size_t n);
/* Releases a warm-up has still to map, the one it maps now included (tests). */
size_t cs_codeidx_warming(cs_codeidx_set_t *set);

/* 1 if idx is its release's image mapped from the store, 0 if it was built in memory. */
int cs_codeidx_mapped(const cs_codeidx_t *idx);

/* The load's step: read release's entries from what store has committed, build their index
 * and write it as the release's image (CS_DB_CODEIDX) in w's transaction, for the caller to
 * commit before it publishes the release. *bytes is the image's size. CS_OK; CS_ENOTFOUND (no
 * entries) and CS_EMALFORMED (an entry of an older layout): no image, nothing written;
 * CS_ESPACE (the map is full, w has failed), CS_ENOMEM, CS_EINTERNAL. err says why. Call
 * from the writer's thread. */
int cs_codeidx_image_write(cs_store_t *store, cs_writer_t *w, uint32_t release, size_t *bytes,
                           cs_error_t *err);

/* A thread's hold on a few indexes, so that reaching one costs no lock. An index used by the
 * current request stays held (pinned) until the next request starts, so what a request read
 * from it stays valid while the request runs. One per thread; zero-initialise, then init. */
#define CS_CODEIDX_HELD 4
typedef struct cs_codeidx_holder {
    cs_codeidx_set_t *set;              /* borrowed; NULL: never an index */
    cs_codeidx_t *held[CS_CODEIDX_HELD];
    unsigned pinned;                    /* bit i: held[i] serves the current request */
} cs_codeidx_holder_t;

void cs_codeidx_holder_init(cs_codeidx_holder_t *h, cs_codeidx_set_t *set);
/* Release every held index. */
void cs_codeidx_holder_fini(cs_codeidx_holder_t *h);
/* A new request starts: what the last one used may be let go of. */
void cs_codeidx_holder_unpin(cs_codeidx_holder_t *h);
/* The index of release for the current request, or NULL (read LMDB). */
const cs_codeidx_t *cs_codeidx_holder_get(cs_codeidx_holder_t *h, uint32_t release);
/* A stage of cs_codeidx_prefetch in the index of release h still holds, if any, before the
 * request that will find hash has checked that index is still the one to read (a held index
 * stays mapped, whether or not it is still the set's): the slot, record or titles are then on
 * their way from memory while that check, or the requests before it, run. Changes nothing.
 * 1 when h holds an index of release; 0 (nothing fetched) when it does not. */
int cs_codeidx_holder_prefetch(const cs_codeidx_holder_t *h, uint32_t release, uint64_t hash,
                               int stage);

#define CS_CODEIDX_KEEP_MS 60000
/* Change the keep time (tests). */
void cs_codeidx_set_keep_ms(cs_codeidx_set_t *set, uint64_t ms);

/* Index objects alive in the process, published or still held (tests). */
size_t cs_codeidx_live(void);

/* Entry (cls, key) of release rel for the current request: from the holder's index of rel
 * when there is one, else read with r (begun). The head only (cs_entry_decode_head) when need
 * is 0; with need naming CS_CODEIDX_HAS_NOTES and/or CS_CODEIDX_HAS_ATTRS, the notes and
 * attributes too (the index answers when the entry has none of them, else LMDB does).
 * Spans borrow from the index or the snapshot. CS_OK, CS_ENOTFOUND or CS_EMALFORMED. */
int cs_codeidx_entry(cs_codeidx_holder_t *h, cs_reader_t *r, uint32_t rel, uint8_t cls,
                     const char *key, size_t klen, unsigned need, cs_entry_t *out);

/* Figures for the stats op: indexes published and their bytes. */
void cs_codeidx_usage(cs_codeidx_set_t *set, size_t *n_indexes, size_t *bytes);

#ifdef __cplusplus
}
#endif
#endif /* CS_CODEIDX_H */
