/* cs_maps.h: crosswalk rows in the store (CS_DB_MAPS, and CS_DB_RMAPS for reverse queries).
 *
 * Keys:   [release u32][map u8][code key][0x00][seq u32]   (seq: emission order in the load)
 * Values: CS_DB_MAPS  [flags u8][scenario u8][choice u8][u8+target key][u8+target display]
 *                     [u8+relationship]                     (target empty for no map)
 *         CS_DB_RMAPS the same with the source's key and display in place of the target's.
 * map is the index of the map in its release record (cs_release_t.maps). A source's rows
 * are one key range, in the order the loader emitted them.
 * Thread-safety: writes on the writer thread; reads inside any reader's snapshot.
 */
#ifndef CS_MAPS_H
#define CS_MAPS_H

#include <stddef.h>
#include <stdint.h>

#include "codeset/cs_plugin.h"
#include "store/cs_entry.h"
#include "store/cs_store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One stored row, as read: spans borrowed from the snapshot. */
typedef struct cs_map_hit {
    uint32_t flags;          /* enum cs_map_flag */
    uint8_t scenario;
    uint8_t choice;
    cs_span_t key;           /* the other side's storage key (empty for no map) */
    cs_span_t display;       /* and display form */
    cs_span_t relationship;  /* empty when the map has none */
} cs_map_hit_t;

/* Store one row both ways. source/target are normalised codes; target NULL for no map (no
 * reverse row then). Returns the writer's status (CS_ESPACE when the map is full). */
int cs_maps_put(cs_writer_t *w, uint32_t release, uint8_t map, const cs_code_t *source,
                const cs_code_t *target, const cs_map_row_t *row, uint32_t seq);

/* Iterate the rows of one code: reverse 0 gives the targets of source key, 1 the sources
 * that map to target key. Call cs_maps_first, then cs_maps_next while it returns 1. */
typedef struct cs_maps_iter {
    cs_reader_t *reader;
    int db;
    uint8_t prefix[CS_STORE_KEY_MAX];
    size_t plen;
} cs_maps_iter_t;

int cs_maps_first(cs_maps_iter_t *it, cs_reader_t *r, uint32_t release, uint8_t map,
                  const char *key, size_t klen, int reverse, cs_map_hit_t *hit);
int cs_maps_next(cs_maps_iter_t *it, cs_map_hit_t *hit);

/* Iterate every row of one map in key order: its codes in byte order, a code's rows in
 * emission order. cs_maps_scan starts at the first code after the code key after[0..alen)
 * (NULL: at the first code), then cs_maps_scan_next while it returns 1; *code gets each row's
 * source key (borrowed, like hit). The scan uses the reader's CS_DB_MAPS cursor: a
 * cs_maps_first in between moves it, and the scan is resumed with cs_maps_scan after the last
 * code read. */
int cs_maps_scan(cs_maps_iter_t *it, cs_reader_t *r, uint32_t release, uint8_t map,
                 const char *after, size_t alen, cs_map_hit_t *hit, cs_span_t *code);
int cs_maps_scan_next(cs_maps_iter_t *it, cs_map_hit_t *hit, cs_span_t *code);

#ifdef __cplusplus
}
#endif
#endif /* CS_MAPS_H */
