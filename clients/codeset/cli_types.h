/* cli_types.h: the types every part of the codeset CLI shares: exit codes, the global options
 * (cs_cli_t), a command's options and arguments, a row of the command table, and the usage
 * error all of them report with.
 *
 * Its own header so that the dispatcher (cli.c) and the command table (cli_commands.c) both
 * depend on it and not on each other's headers.
 */
#ifndef CS_CLI_TYPES_H
#define CS_CLI_TYPES_H

#include <stddef.h>
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
    CS_CLI_OPT_FOLLOW,
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

/* Print "codeset: <what>" and the command's usage line (cmd may be NULL) on cli->err;
 * returns CS_CLI_EXIT_USAGE. */
int cs_cli_usage_error(const cs_cli_t *cli, const cs_cli_command_t *cmd, const char *what);

#ifdef __cplusplus
}
#endif
#endif /* CS_CLI_TYPES_H */
