/* cs_resolve_memo.h: the last resolution a thread made (system and selection -> release),
 * kept with the commit it was made in, so that the next lookup with the same system and
 * selection answers from the release's code index with no store snapshot at all.
 *
 * Why it holds: while the store's last commit is still the memo's, nothing the resolution
 * read has changed (a release id is never reused, and a release's entries never change).
 * Renewing a read transaction and resolving again cost more than the index probe they
 * guard. The embedded API's direct lookup and the engine's lookup (a batch of lookups
 * above all) both keep one.
 *
 * Thread-safety: a memo belongs to one thread (one engine, one embedded handle).
 */
#ifndef CS_RESOLVE_MEMO_H
#define CS_RESOLVE_MEMO_H

#include <stddef.h>
#include <stdint.h>

#include "codeset/cs_plugin.h"
#include "store/cs_codeidx.h"
#include "store/cs_store.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CS_RESOLVE_MEMO_STR 64 /* longest system, label asked for and label a memo keeps */

typedef struct cs_resolve_memo {
    uint64_t commit;                  /* snapshot id of the resolution; 0: none kept */
    const cs_plugin_desc_t *sys;      /* the system's plugin */
    uint32_t rel;                     /* the release it resolved to */
    int date;                         /* the date asked for (yyyymmdd), 0 for none */
    size_t system_len, release_len, label_len;
    char system[CS_RESOLVE_MEMO_STR];  /* the system asked for */
    char release[CS_RESOLVE_MEMO_STR]; /* the label asked for (release_len 0: none) */
    char label[CS_RESOLVE_MEMO_STR];   /* the label of the release it resolved to */
} cs_resolve_memo_t;

/* Keep (system, release, date) -> (sys, rel, label), made in the snapshot whose id is
 * snapshot. Keeps nothing (the memo is emptied) when snapshot is 0 or a text is longer than
 * CS_RESOLVE_MEMO_STR. Texts are copied; NULL with length 0 is fine. */
void cs_resolve_memo_keep(cs_resolve_memo_t *m, uint64_t snapshot, const char *system,
                          size_t system_len, const char *release, size_t release_len,
                          int date, const cs_plugin_desc_t *sys, uint32_t rel,
                          const char *label, size_t label_len);

/* 1 when the memo holds a resolution of exactly (system, release, date); its commit is not
 * checked here (cs_resolve_memo_index does). */
int cs_resolve_memo_match(const cs_resolve_memo_t *m, const char *system, size_t system_len,
                          const char *release, size_t release_len, int date);

/* The code index of the memo's release, held in holder (its previous pin released), when
 * the store's last commit is still the memo's; else NULL (resolve in a snapshot). The commit
 * is read after the index is held, so what the index holds is true as of that commit. */
const cs_codeidx_t *cs_resolve_memo_index(const cs_resolve_memo_t *m,
                                          cs_codeidx_holder_t *holder, cs_store_t *store);

#ifdef __cplusplus
}
#endif
#endif /* CS_RESOLVE_MEMO_H */
