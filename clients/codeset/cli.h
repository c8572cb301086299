/* cli.h: the `codeset` command-line client: global options, the command table and its
 * dispatcher (DESIGN.md "Programs", PROTOCOL.md).
 *
 *   codeset [--connect EP] [--admin EP] [--db DIR] [--json] [--timeout MS] COMMAND ...
 *
 * cs_cli_main() is the whole program with its streams passed in, so tests can run it;
 * main.c only forwards to it. Exit codes are the CS_CLI_EXIT_* values below.
 * Thread-safety: cs_cli_main reads the environment and is meant for one thread.
 */
#ifndef CS_CLI_H
#define CS_CLI_H

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    CS_CLI_EXIT_OK = 0,          /* success (validate: every code valid) */
    CS_CLI_EXIT_ERROR = 1,       /* the broker sent an error reply, a load failed, a bad reply */
    CS_CLI_EXIT_USAGE = 2,       /* bad command line (or a FILE to load is missing) */
    CS_CLI_EXIT_UNREACHABLE = 3, /* no reply within the timeout: broker down or wedged */
    CS_CLI_EXIT_INVALID = 4,     /* validate found an invalid code; lookup found no code */
};

#define CS_CLI_DEFAULT_CONNECT "tcp://127.0.0.1:5555"
#define CS_CLI_DEFAULT_TIMEOUT_MS 10000
#define CS_CLI_POLL_MS 100 /* interval between job polls during a load */

/* What every command handler gets: the global options, resolved. */
typedef struct cs_cli {
    FILE *out;            /* results (stdout) */
    FILE *err;            /* messages and the progress bar (stderr) */
    int json;             /* --json: print reply maps as JSON */
    int timeout_ms;       /* --timeout: send/receive timeout per request */
    const char *connect;  /* query endpoint */
    const char *admin;    /* admin endpoint, or NULL when none is known */
    char admin_buf[4200]; /* storage for ipc://DIR/admin.sock built from --db */
    int color;            /* colour on out (a terminal, NO_COLOR unset) */
    int progress;         /* progress bar on err (a terminal) */
} cs_cli_t;

/* Command options; a command's schema is a mask of (1u << CS_CLI_OPT_*). */
typedef enum cs_cli_opt {
    CS_CLI_OPT_LOADER = 0,
    CS_CLI_OPT_RELEASE,
    CS_CLI_OPT_EFFECTIVE,
    CS_CLI_OPT_INCLUDE,
    CS_CLI_OPT_DATE,
    CS_CLI_OPT_LIMIT,
    CS_CLI_OPT_OFFSET,
    CS_CLI_OPT_BILLABLE_ONLY,
    CS_CLI_OPT_MAP,
    CS_CLI_OPT_TO_RELEASE,
    CS_CLI_OPT_SYSTEM,
    CS_CLI_OPT_REVERSE,
    CS_CLI_OPT_COUNT
} cs_cli_opt_t;

#define CS_CLI_OPT(o) (1u << (o))

/* A command line after the dispatcher checked it against the command's schema. */
typedef struct cs_cli_args {
    const char *opt[CS_CLI_OPT_COUNT]; /* option values (borrowed from argv), NULL if absent;
                                          a flag option that is present holds "1" */
    char **pos;                        /* positional arguments (array owned by dispatcher) */
    int n_pos;                         /* entries in pos */
} cs_cli_args_t;

typedef int (*cs_cli_handler_fn)(cs_cli_t *cli, const cs_cli_args_t *args);

#define CS_CLI_ADMIN 1u /* the command goes to the admin endpoint */

/* One row of the command table. The dispatcher enforces the arity and the option schema
 * (allowed and required options, value syntax) before calling the handler. */
typedef struct cs_cli_command {
    const char *name;          /* the COMMAND word */
    cs_cli_handler_fn handler; /* runs the command, returns an exit code */
    int min_args;              /* fewest positional arguments */
    int max_args;              /* most positional arguments; -1: no limit */
    unsigned flags;            /* CS_CLI_ADMIN */
    unsigned opts;             /* allowed options: CS_CLI_OPT() bits */
    unsigned required;         /* options that must be given */
    const char *usage;         /* arguments after the name, for help and usage errors */
    const char *summary;       /* one line for `codeset --help` */
} cs_cli_command_t;

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

/* Print "codeset: <what>" and the command's usage line (cmd may be NULL) on cli->err;
 * returns CS_CLI_EXIT_USAGE. */
int cs_cli_usage_error(const cs_cli_t *cli, const cs_cli_command_t *cmd, const char *what);

#ifdef __cplusplus
}
#endif
#endif /* CS_CLI_H */
