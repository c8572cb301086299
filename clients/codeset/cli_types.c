/* cli_types.c: the usage error every part of the CLI reports with (see cli_types.h). */
#include "cli_types.h"

int cs_cli_usage_error(const cs_cli_t *cli, const cs_cli_command_t *cmd, const char *what)
{
    fprintf(cli->err, "codeset: %s\n", what);
    if (cmd != NULL) {
        fprintf(cli->err, "usage: codeset %s%s%s (see codeset %s --help)\n", cmd->name,
                cmd->usage[0] ? " " : "", cmd->usage, cmd->name);
    } else {
        fputs("usage: codeset [--connect EP] [--admin EP] [--db DIR] [--json] [--timeout MS] "
              "COMMAND ... (see codeset --help)\n",
              cli->err);
    }
    return CS_CLI_EXIT_USAGE;
}
