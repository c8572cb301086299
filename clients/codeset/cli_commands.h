/* cli_commands.h: the command table of the codeset CLI and its handlers.
 *
 * Handlers build the request map of PROTOCOL.md, send it to the query or admin endpoint,
 * and print the reply (JSON with --json, else tables via cli_render.h).
 * Thread-safety: the table is constant; handlers run on the calling thread.
 */
#ifndef CS_CLI_COMMANDS_H
#define CS_CLI_COMMANDS_H

#include <stddef.h>

#include "cli_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The command named name, or NULL. Borrowed from a static table. */
const cs_cli_command_t *cs_cli_command_find(const char *name);

/* The i-th command of the table (for help), or NULL past the end. */
const cs_cli_command_t *cs_cli_command_at(size_t i);

#ifdef __cplusplus
}
#endif
#endif /* CS_CLI_COMMANDS_H */
