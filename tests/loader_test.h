/* loader_test.h: what the loader suites (check_fhir_codesystem.c, check_fhir_conceptmap.c,
 * check_gems.c, check_hcpcs_anweb.c, check_icd10cm_conversion.c, check_icd10cm_order.c,
 * check_icd10cm_tabular.c, check_icd10pcs_tables.c) share: opening a loader plugin from the
 * build folder the way the host does, running it on files with the recording mock host, and
 * where their fixtures are.
 *
 * Every function fails the running Check test on a mismatch; none returns an error. */
#ifndef CS_LOADER_TEST_H
#define CS_LOADER_TEST_H

#include <stddef.h>

#include "codeset/cs_plugin.h"
#include "mock_host.h"

#ifdef __cplusplus
extern "C" {
#endif

/* dlopen <build>/plugins/<name>.so (RTLD_NOW | RTLD_LOCAL, as the host does) and return its
 * descriptor, the symbol cs_plugin_<name with '-' as '_'>, which must be a loader. *dl gets
 * the handle; the descriptor is borrowed until cs_loader_test_close(dl). */
const cs_plugin_desc_t *cs_loader_test_open(const char *name, void **dl);

/* dlclose *dl if it is open, and set it to NULL. */
void cs_loader_test_close(void **dl);

/* Run desc's load() on files[0..n) with the mock host m; err is cleared first. Returns what
 * load() returned. */
int cs_loader_test_run(const cs_plugin_desc_t *desc, cs_mock_host_t *m, const char *const *files,
                       size_t n, cs_error_t *err);

/* Absolute path of tests/fixtures/<dir>/<name>, written into out. */
void cs_loader_test_fixture(const char *dir, const char *name, char *out, size_t cap);

#ifdef __cplusplus
}
#endif

#endif /* CS_LOADER_TEST_H */
