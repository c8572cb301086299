/* fuzz_icd10cm_index.c: fuzz target for the icd10cm-index loader plugin, through its
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
    cs_fuzz_loader_init("icd10cm-index");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"icd10cm_drug_f.xml", "icd10cm_eindex_f.xml"};
    cs_fuzz_loader_run("icd10cm-index", names, sizeof names / sizeof names[0], data, size);
    return 0;
}
