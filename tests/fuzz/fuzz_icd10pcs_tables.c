/* fuzz_icd10pcs_tables.c: fuzz target for the icd10pcs-tables loader plugin, through its
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
    cs_fuzz_loader_init("icd10pcs-tables");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {
        "icd10pcs_tables.xml",
        "icd10pcs_index.xml",
        "icd10pcs_definitions.xml",
        "icd10pcs_order.txt",
    };
    cs_fuzz_loader_run("icd10pcs-tables", names, sizeof names / sizeof names[0], data, size);
    return 0;
}
