/* hs_arena.h: a per-thread arena for jansson's allocations while a FHIR request is answered.
 *
 * Why: a FHIR request is read as jansson trees (the body, the query, a batch entry's query)
 * and most operations build their answer as one (a $validate-code answer is printed as text
 * instead), each node a malloc and each json_decref a free; for a batch of 25 codes that
 * was about a third of the instructions. Inside hs_arena_begin/hs_arena_end, jansson's small
 * allocations are bumped from this thread's chunks, its frees of them do nothing, and hs_arena_end
 * takes them back at once. Outside a window, and for blocks over HS_ARENA_MAX_BLOCK, jansson
 * allocates with malloc as before; a free tells the two apart by address, so a value made
 * outside may be freed inside and the other way round is never done (see the contract).
 *
 * Contract: every jansson value made inside a window is freed (or no longer used) before
 * hs_arena_end on the same thread: codeset-http's FHIR path keeps no jansson value past its
 * reply. Under AddressSanitizer the arena is off (hs_arena_install does nothing) so every
 * allocation stays visible to it.
 *
 * Thread-safety: hs_arena_install once, before threads allocate jansson values; each thread
 * its own hs_arena_t (not shared).
 */
#ifndef HS_ARENA_H
#define HS_ARENA_H

#include <stddef.h>

#define HS_ARENA_MAX_BLOCK 4096 /* larger jansson blocks go to malloc */
#define HS_ARENA_MAX_CHUNKS 12  /* 64 KiB doubling: at most 256 MiB, then malloc */

typedef struct hs_arena {
    char *chunk[HS_ARENA_MAX_CHUNKS]; /* 64 KiB << i each, allocated on first need */
    size_t used;                      /* bytes used in the current chunk */
    int cur;                          /* the chunk being filled; -1: none yet */
} hs_arena_t;

/* Route jansson's allocations through the arena functions (once per process). */
void hs_arena_install(void);
void hs_arena_init(hs_arena_t *a);
/* Start a window on this thread: jansson's small allocations come from a. */
void hs_arena_begin(hs_arena_t *a);
/* End it: every block a gave out is taken back (the chunks stay for the next window). */
void hs_arena_end(hs_arena_t *a);
/* Free the chunks (no window open on a). */
void hs_arena_fini(hs_arena_t *a);
/* Free memory that jansson gave out (json_dumps' text), wherever it came from. */
void hs_arena_free(void *p);

#endif /* HS_ARENA_H */
