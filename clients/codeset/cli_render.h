/* cli_render.h: reply maps as text for people (the CLI's output without --json).
 *
 * Each function prints one op's successful reply (PROTOCOL.md) on cli->out, colouring only
 * when cli->color is set. Keys a reply lacks are shown empty; unknown keys are ignored by the
 * op-specific renderers and shown by cs_cli_render_kv.
 * Thread-safety: no state.
 */
#ifndef CS_CLI_RENDER_H
#define CS_CLI_RENDER_H

#include <stddef.h>

#include <msgpack.h>

#include "cli_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* lookup: the entry, its notes, children and ancestors. Returns CS_CLI_EXIT_OK when found,
 * CS_CLI_EXIT_INVALID when the reply says found:false (a line saying so is printed). */
int cs_cli_render_lookup(const cs_cli_t *cli, const msgpack_object *reply);

/* validate: one aligned row per code, notes under invalid ones. Returns how many results
 * are not valid. */
size_t cs_cli_render_validate(const cs_cli_t *cli, const msgpack_object *reply);

/* Results of a validate reply that are not valid (no printing). */
size_t cs_cli_count_invalid(const msgpack_object *reply);

void cs_cli_render_search(const cs_cli_t *cli, const msgpack_object *reply);
/* The index op's reply (cli_render_index.c). */
void cs_cli_render_index(const cs_cli_t *cli, const msgpack_object *reply);
void cs_cli_render_crosswalk(const cs_cli_t *cli, const msgpack_object *reply);
void cs_cli_render_releases(const cs_cli_t *cli, const msgpack_object *reply);
void cs_cli_render_diff(const cs_cli_t *cli, const msgpack_object *reply);

/* Any reply as "key: value" lines (nested maps indented, lists of maps as tables); "ok" and
 * "id" are left out. Used for ping, stats, job and plugins. */
void cs_cli_render_kv(const cs_cli_t *cli, const msgpack_object *reply);

#ifdef __cplusplus
}
#endif
#endif /* CS_CLI_RENDER_H */
