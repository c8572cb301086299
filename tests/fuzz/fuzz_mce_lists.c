/* fuzz_mce_lists.c: fuzz target for the mce-lists loader plugin (an edit set of the claim op),
 * through its load() (see loader_run.h: the input is cut into files at each
 * CS_FUZZ_FILE_SEP line). */
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
    cs_fuzz_loader_init("mce-lists");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"MCE_Simple_Code_Edits_v34.txt", "mce_age_ranges.tsv"};
    cs_fuzz_loader_run("mce-lists", names, sizeof names / sizeof names[0], data, size);
    return 0;
}
