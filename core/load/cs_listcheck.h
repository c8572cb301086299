/* cs_listcheck.h: what a load of an edit set (cs_claim.h) says of its lists' codes: for each
 * code system its rows name, how many rows name a code that the system's release in effect
 * on the set's first day does not hold (with a few examples), or that no release of the
 * system was there to check (the MCE lists' ICD-10-PCS rows with no PCS release loaded).
 * Such rows are kept, and reported (cs_load.c logs the sentence when the load is done): never
 * silently.
 *
 * Thread-safety: the load thread's, inside its write transaction.
 */
#ifndef CS_LISTCHECK_H
#define CS_LISTCHECK_H

#include <stddef.h>
#include <stdint.h>

#include "codeset/cs_plugin.h"
#include "store/cs_store.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CS_LISTCHECK_SYSTEMS 4
#define CS_LISTCHECK_EXAMPLES 5

typedef struct cs_listcheck_sys {
    char system[32];
    int resolved;          /* 1 once the release was looked up */
    uint32_t release;      /* 0: no release of the system in effect */
    char label[64];
    uint64_t rows, missing;
    char examples[CS_LISTCHECK_EXAMPLES][CS_CODE_MAX];
} cs_listcheck_sys_t;

typedef struct cs_listcheck {
    int effective;         /* the set's first day, yyyymmdd */
    size_t n;
    cs_listcheck_sys_t sys[CS_LISTCHECK_SYSTEMS];
} cs_listcheck_t;

void cs_listcheck_init(cs_listcheck_t *lc, int effective_from);
/* One row naming code (normalised) of system. */
void cs_listcheck_row(cs_listcheck_t *lc, cs_writer_t *w, const char *system,
                      const cs_code_t *code);
/* One sentence of what the rows named ("" when there were none); returns its length. */
size_t cs_listcheck_summary(const cs_listcheck_t *lc, char *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif /* CS_LISTCHECK_H */
