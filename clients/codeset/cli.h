/* cli.h: the `codeset` command-line client: global options, the command table and its
 * dispatcher (DESIGN.md "Programs", PROTOCOL.md).
 *
 *   codeset [--connect EP] [--admin EP] [--db DIR] [--json] [--timeout MS] COMMAND ...
 *
 * cs_cli_main() is the whole program with its streams passed in, so tests can run it;
 * main.c only forwards to it. Exit codes are the CS_CLI_EXIT_* values of cli_types.h.
 * Thread-safety: cs_cli_main reads the environment and is meant for one thread.
 */
#ifndef CS_CLI_H
#define CS_CLI_H

#include <stdio.h>

#include "cli_types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CS_CLI_DEFAULT_CONNECT "tcp://127.0.0.1:5555"
#define CS_CLI_DEFAULT_TIMEOUT_MS 10000

/* Run the program: argv[0] is the program name. Writes results to out and messages to err.
 * Returns a CS_CLI_EXIT_* code. */
int cs_cli_main(int argc, char **argv, FILE *out, FILE *err);

/* Parse a command's arguments (argv[0] is the first word after COMMAND) against its schema.
 * Returns 0 when args is filled (args->pos is allocated: free it), 1 when --help was asked
 * (nothing allocated), or -1 with a sentence in msg (nothing allocated). */
int cs_cli_args_parse(const cs_cli_command_t *cmd, int argc, char **argv, cs_cli_args_t *args,
                      char *msg, size_t cap);

/* 1 if s is a real calendar date written YYYY-MM-DD. */
int cs_cli_is_date(const char *s);

#ifdef __cplusplus
}
#endif
#endif /* CS_CLI_H */
