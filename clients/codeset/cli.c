/* cli.c: global options, help, and the command dispatcher of the codeset CLI (see cli.h). */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_commands.h"
#include "codeset/cs_version.h"

/* Command options: the flag, its value's name in help (NULL for a flag without value). */
static const struct {
    const char *name;    /* "--release" */
    const char *metavar; /* "LABEL"; NULL for a flag */
    const char *help;    /* one line for COMMAND --help */
} s_opts[CS_CLI_OPT_COUNT] = {
    [CS_CLI_OPT_LOADER] = {"--loader", "ID", "loader plugin to use (default: the one that "
                                             "recognises the files)"},
    [CS_CLI_OPT_RELEASE] = {"--release", "R", "a release label: the one to create (load), the one "
                                              "to ask (queries)"},
    [CS_CLI_OPT_EFFECTIVE] = {"--effective", "YYYY-MM-DD", "first day the release is in effect"},
    [CS_CLI_OPT_INCLUDE] = {"--include", "LIST", "comma list of notes,children,ancestors"},
    [CS_CLI_OPT_DATE] = {"--date", "YYYY-MM-DD", "use the release in effect on that date"},
    [CS_CLI_OPT_LIMIT] = {"--limit", "N", "at most N results"},
    [CS_CLI_OPT_OFFSET] = {"--offset", "N", "skip the first N results"},
    [CS_CLI_OPT_BILLABLE_ONLY] = {"--billable-only", NULL, "only billable codes"},
    [CS_CLI_OPT_MAP] = {"--map", "M", "the map to use where several join the systems"},
    [CS_CLI_OPT_TO_RELEASE] = {"--to-release", "R", "target release of a year-to-year map"},
    [CS_CLI_OPT_SYSTEM] = {"--system", "ID", "the system (or map set) a loader fills, for "
                                             "loaders that fill any (fhir-codesystem)"},
    [CS_CLI_OPT_REVERSE] = {"--reverse", NULL, "list the sources that map to CODE instead"},
    [CS_CLI_OPT_FOLLOW] = {"--follow", NULL, "follow each row's see and see also: the terms "
                                             "they reach are shown too"},
};

static const char s_exit_help[] =
    "Exit status: 0 ok; 1 error reply from the broker (or a failed load); 2 usage error;\n"
    "  3 broker unreachable or no reply within the timeout; 4 invalid code(s) found\n"
    "  (validate) or code not found (lookup).\n";

static void s_help(const cs_cli_t *cli)
{
    FILE *o = cli->out;
    fputs("usage: codeset [--connect EP] [--admin EP] [--db DIR] [--json] [--timeout MS] "
          "COMMAND ...\n\n"
          "Query and administer codesetd, the medical code-set broker.\n\n"
          "Commands:\n",
          o);
    for (size_t i = 0; cs_cli_command_at(i) != NULL; i++) {
        const cs_cli_command_t *cmd = cs_cli_command_at(i);
        fprintf(o, "  %-10s %s\n", cmd->name, cmd->summary);
    }
    fputs("\nOptions:\n"
          "  --connect EP   query endpoint (env CODESET_CONNECT; default " CS_CLI_DEFAULT_CONNECT
          ")\n"
          "  --admin EP     admin endpoint for load, job, retire, drop, plugins (env\n"
          "                 CODESET_ADMIN;"
          "                 else ipc://DIR/admin.sock from --db DIR)\n"
          "  --db DIR       the broker's database directory (env CODESET_DB)\n"
          "  --json         print each reply map as one line of JSON (also after COMMAND)\n"
          "  --timeout MS   wait at most MS ms for each reply (default 10000)\n"
          "  --curve-server-key FILE  the broker's CURVE public key: encrypt tcp connections\n"
          "                 (env CODESET_CURVE_SERVER_KEY)\n"
          "  --curve-key FILE  this client's CURVE secret key (mode 0600), for a broker that\n"
          "                 lists its clients (env CODESET_CURVE_KEY)\n"
          "  --version      the client's version\n"
          "  --help         this text; `codeset COMMAND --help` describes one command\n\n",
          o);
    fputs(s_exit_help, o);
}

static void s_command_help(const cs_cli_t *cli, const cs_cli_command_t *cmd)
{
    FILE *o = cli->out;
    fprintf(o, "usage: codeset [GLOBAL OPTIONS] %s%s%s\n\n%s\n", cmd->name,
            cmd->usage[0] ? " " : "", cmd->usage, cmd->summary);
    if (cmd->flags & CS_CLI_ADMIN) {
        fputs("Sent to the admin endpoint (--admin EP, or --db DIR).\n", o);
    }
    if (cmd->opts != 0) {
        fputs("\nOptions:\n", o);
        for (int i = 0; i < CS_CLI_OPT_COUNT; i++) {
            if (!(cmd->opts & CS_CLI_OPT(i))) {
                continue;
            }
            char left[40];
            snprintf(left, sizeof left, "%s%s%s", s_opts[i].name, s_opts[i].metavar ? " " : "",
                     s_opts[i].metavar ? s_opts[i].metavar : "");
            fprintf(o, "  %-24s %s%s\n", left, s_opts[i].help,
                    (cmd->required & CS_CLI_OPT(i)) ? " (required)" : "");
        }
    }
    fputs("\nGlobal options (before COMMAND; --json anywhere): --connect EP, --admin EP,\n"
          "  --db DIR, --json, --timeout MS, --curve-server-key FILE, --curve-key FILE\n"
          "  (see codeset --help).\n\n",
          o);
    fputs(s_exit_help, o);
}

int cs_cli_is_date(const char *s)
{
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-') {
        return 0;
    }
    for (int i = 0; i < 10; i++) {
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) {
            return 0;
        }
    }
    int y = atoi(s);
    int m = atoi(s + 5);
    int d = atoi(s + 8);
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1 || m < 1 || m > 12 || d < 1) {
        return 0;
    }
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    int max = days[m - 1] + (m == 2 && leap ? 1 : 0);
    return d <= max;
}

static int s_is_count(const char *s)
{
    if (*s == '\0' || strlen(s) > 9) {
        return 0;
    }
    for (const char *p = s; *p != '\0'; p++) {
        if (*p < '0' || *p > '9') {
            return 0;
        }
    }
    return 1;
}

static int s_check_include(const char *list, char *msg, size_t cap)
{
    const char *p = list;
    for (;;) {
        size_t n = strcspn(p, ",");
        int known = (n == 5 && strncmp(p, "notes", 5) == 0) ||
                    (n == 8 && strncmp(p, "children", 8) == 0) ||
                    (n == 9 && strncmp(p, "ancestors", 9) == 0);
        if (!known) {
            snprintf(msg, cap, "--include: unknown item '%.*s' (notes, children, ancestors)",
                     (int)n, p);
            return -1;
        }
        if (p[n] == '\0') {
            return 0;
        }
        p += n + 1;
    }
}

/* Check one option value's syntax. */
static int s_check_value(int opt, const char *v, char *msg, size_t cap)
{
    switch (opt) {
    case CS_CLI_OPT_EFFECTIVE:
    case CS_CLI_OPT_DATE:
        if (!cs_cli_is_date(v)) {
            snprintf(msg, cap, "%s: '%s' is not a date YYYY-MM-DD", s_opts[opt].name, v);
            return -1;
        }
        return 0;
    case CS_CLI_OPT_LIMIT:
    case CS_CLI_OPT_OFFSET:
        if (!s_is_count(v)) {
            snprintf(msg, cap, "%s: '%s' is not a number >= 0", s_opts[opt].name, v);
            return -1;
        }
        return 0;
    case CS_CLI_OPT_INCLUDE:
        return s_check_include(v, msg, cap);
    default:
        if (*v == '\0') {
            snprintf(msg, cap, "%s: empty value", s_opts[opt].name);
            return -1;
        }
        return 0;
    }
}

static int s_find_opt(const char *arg, size_t n)
{
    for (int i = 0; i < CS_CLI_OPT_COUNT; i++) {
        if (strlen(s_opts[i].name) == n && strncmp(s_opts[i].name, arg, n) == 0) {
            return i;
        }
    }
    return -1;
}

int cs_cli_args_parse(const cs_cli_command_t *cmd, int argc, char **argv, cs_cli_args_t *args,
                      char *msg, size_t cap)
{
    memset(args, 0, sizeof *args);
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            return 1;
        }
        if (strcmp(argv[i], "--") == 0) {
            break;
        }
    }
    args->pos = calloc((size_t)argc + 1, sizeof *args->pos);
    if (args->pos == NULL) {
        snprintf(msg, cap, "out of memory");
        return -1;
    }
    int only_pos = 0;
    for (int i = 0; i < argc; i++) {
        char *a = argv[i];
        if (only_pos || a[0] != '-' || a[1] == '\0') {
            args->pos[args->n_pos++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_pos = 1;
            continue;
        }
        const char *eq = strchr(a, '=');
        size_t n = eq != NULL ? (size_t)(eq - a) : strlen(a);
        int opt = s_find_opt(a, n);
        if (opt < 0 || !(cmd->opts & CS_CLI_OPT(opt))) {
            snprintf(msg, cap, "%s: unknown option '%.*s'", cmd->name, (int)n, a);
            goto fail;
        }
        const char *val;
        if (s_opts[opt].metavar == NULL) {
            if (eq != NULL) {
                snprintf(msg, cap, "%s takes no value", s_opts[opt].name);
                goto fail;
            }
            val = "1";
        } else if (eq != NULL) {
            val = eq + 1;
        } else if (i + 1 < argc) {
            val = argv[++i];
        } else {
            snprintf(msg, cap, "%s needs a value %s", s_opts[opt].name, s_opts[opt].metavar);
            goto fail;
        }
        if (s_check_value(opt, val, msg, cap) != 0) {
            goto fail;
        }
        args->opt[opt] = val;
    }
    for (int i = 0; i < CS_CLI_OPT_COUNT; i++) {
        if ((cmd->required & CS_CLI_OPT(i)) && args->opt[i] == NULL) {
            snprintf(msg, cap, "%s needs %s %s", cmd->name, s_opts[i].name,
                     s_opts[i].metavar != NULL ? s_opts[i].metavar : "");
            goto fail;
        }
    }
    if (args->n_pos < cmd->min_args) {
        snprintf(msg, cap, "%s: too few arguments", cmd->name);
        goto fail;
    }
    if (cmd->max_args >= 0 && args->n_pos > cmd->max_args) {
        snprintf(msg, cap, "%s: too many arguments", cmd->name);
        goto fail;
    }
    return 0;
fail:
    free(args->pos);
    memset(args, 0, sizeof *args);
    return -1;
}

static const char *s_env(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && *v != '\0' ? v : NULL;
}

/* Global options up to the COMMAND word. Returns the index of COMMAND, or -1 - exit code
 * when the program is done (help printed, usage error). */
static int s_parse_global(cs_cli_t *cli, int argc, char **argv)
{
    const char *admin = NULL;
    const char *db = NULL;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-') {
            break;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            s_help(cli);
            return -1 - CS_CLI_EXIT_OK;
        }
        if (strcmp(a, "--json") == 0) {
            cli->json = 1;
            continue;
        }
        if (strcmp(a, "--version") == 0) {
            fprintf(cli->out, "codeset %s (protocol 1)\n", CS_VERSION);
            return -1 - CS_CLI_EXIT_OK;
        }
        const char *eq = strchr(a, '=');
        size_t n = eq != NULL ? (size_t)(eq - a) : strlen(a);
        const char *names[] = {"--connect", "--admin", "--db", "--timeout", "--curve-server-key",
                               "--curve-key"};
        int which = -1;
        for (int k = 0; k < 6; k++) {
            if (strlen(names[k]) == n && strncmp(names[k], a, n) == 0) {
                which = k;
            }
        }
        char msg[160];
        if (which < 0) {
            snprintf(msg, sizeof msg, "unknown option '%.*s'", (int)(n > 60 ? 60 : n), a);
            return -1 - cs_cli_usage_error(cli, NULL, msg);
        }
        const char *val = eq != NULL ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (val == NULL || *val == '\0') {
            snprintf(msg, sizeof msg, "%s needs a value", names[which]);
            return -1 - cs_cli_usage_error(cli, NULL, msg);
        }
        if (which == 0) {
            cli->connect = val;
        } else if (which == 1) {
            admin = val;
        } else if (which == 2) {
            db = val;
        } else if (which == 4 || which == 5) {
            /* cli_conn.c reads the key files when it opens a tcp connection */
            setenv(which == 4 ? "CODESET_CURVE_SERVER_KEY" : "CODESET_CURVE_KEY", val, 1);
        } else {
            char *end = NULL;
            errno = 0;
            long ms = strtol(val, &end, 10);
            if (errno != 0 || *end != '\0' || ms <= 0 || ms > INT_MAX) {
                snprintf(msg, sizeof msg, "--timeout: '%.40s' is not a positive number of ms",
                         val);
                return -1 - cs_cli_usage_error(cli, NULL, msg);
            }
            cli->timeout_ms = (int)ms;
        }
    }
    if (cli->connect == NULL) {
        cli->connect = s_env("CODESET_CONNECT");
    }
    if (cli->connect == NULL) {
        cli->connect = CS_CLI_DEFAULT_CONNECT;
    }
    /* the command line first: --db beats an admin endpoint from the environment */
    if (admin == NULL && db == NULL) {
        admin = s_env("CODESET_ADMIN");
    }
    if (admin == NULL && db == NULL) {
        db = s_env("CODESET_DB");
    }
    if (admin == NULL && db != NULL) {
        size_t len = strlen(db);
        while (len > 1 && db[len - 1] == '/') {
            len--;
        }
        int n = snprintf(cli->admin_buf, sizeof cli->admin_buf, "ipc://%.*s/admin.sock",
                         (int)len, db);
        if (n < 0 || (size_t)n >= sizeof cli->admin_buf) {
            return -1 - cs_cli_usage_error(cli, NULL, "--db: path too long");
        }
        admin = cli->admin_buf;
    }
    cli->admin = admin;
    if (i >= argc) {
        return -1 - cs_cli_usage_error(cli, NULL, "no COMMAND given");
    }
    return i;
}

int cs_cli_main(int argc, char **argv, FILE *out, FILE *err)
{
    cs_cli_t cli;
    memset(&cli, 0, sizeof cli);
    cli.out = out;
    cli.err = err;
    cli.timeout_ms = CS_CLI_DEFAULT_TIMEOUT_MS;
    int fd_out = fileno(out);
    int fd_err = fileno(err);
    /* colour only on a terminal that can show it, and never with NO_COLOR set (non-empty,
     * as no-color.org says) */
    const char *no_color = getenv("NO_COLOR");
    const char *term = getenv("TERM");
    cli.color = fd_out >= 0 && isatty(fd_out) && (no_color == NULL || *no_color == '\0') &&
                (term == NULL || strcmp(term, "dumb") != 0);
    cli.progress = fd_err >= 0 && isatty(fd_err);

    int at = s_parse_global(&cli, argc, argv);
    if (at < 0) {
        return -1 - at;
    }
    const cs_cli_command_t *cmd = cs_cli_command_find(argv[at]);
    if (cmd == NULL) {
        char msg[160];
        snprintf(msg, sizeof msg, "unknown command '%.60s'", argv[at]);
        return cs_cli_usage_error(&cli, NULL, msg);
    }
    /* --json is a global option people also write after the command: take it out there */
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    if (rest == NULL) {
        fputs("codeset: out of memory\n", err);
        return CS_CLI_EXIT_ERROR;
    }
    int n_rest = 0, plain = 0;
    for (int i = at + 1; i < argc; i++) {
        plain |= strcmp(argv[i], "--") == 0;
        if (!plain && strcmp(argv[i], "--json") == 0) {
            cli.json = 1;
        } else {
            rest[n_rest++] = argv[i];
        }
    }
    cs_cli_args_t args;
    char msg[300];
    int rc = cs_cli_args_parse(cmd, n_rest, rest, &args, msg, sizeof msg);
    if (rc == 1) {
        s_command_help(&cli, cmd);
        free(rest);
        return CS_CLI_EXIT_OK;
    }
    if (rc != 0) {
        free(rest);
        return cs_cli_usage_error(&cli, cmd, msg);
    }
    if ((cmd->flags & CS_CLI_ADMIN) && cli.admin == NULL) {
        free(args.pos);
        free(rest);
        snprintf(msg, sizeof msg,
                 "%s is an admin command: give the admin endpoint with --admin EP or the "
                 "database directory with --db DIR",
                 cmd->name);
        return cs_cli_usage_error(&cli, cmd, msg);
    }
    rc = cmd->handler(&cli, &args);
    free(args.pos);
    free(rest);
    fflush(out);
    fflush(err);
    return rc;
}
