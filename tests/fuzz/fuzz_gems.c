/* fuzz_gems.c: fuzz target for the gems loader plugin, through its
 * load() (see loader_run.h: the input is cut into files at each CS_FUZZ_FILE_SEP line). */
#include <stddef.h>
#include <stdint.h>

#include "loader_run.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Load the plugin before libFuzzer starts counting coverage, so its counters are known. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    cs_fuzz_loader_init("gems");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {
        "2018_I9gem.txt",
        "2018_I10gem.txt",
        "2018_gem_pcsi9.txt",
        "2018_gem_i9pcs.txt",
    };
    cs_fuzz_loader_run("gems", names, sizeof names / sizeof names[0], data, size);
    return 0;
}
