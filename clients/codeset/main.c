/* main.c: the codeset command-line client; everything lives in cs_cli_main (cli.h). */
#include <stdio.h>

#include "cli.h"

int main(int argc, char **argv)
{
    return cs_cli_main(argc, argv, stdout, stderr);
}
