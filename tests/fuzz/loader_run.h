/* loader_run.h: the shared half of the loader fuzz targets. It loads one loader plugin through
 * the real plugin host (every check of cs_plugin_host.c applies), writes a fuzz input into
 * files in a private temporary directory, and runs the plugin's load() against the mock
 * host of tests/mock_host.c, which accepts and checks every record without keeping it.
 *
 * Where the plugin comes from: $CS_FUZZ_PLUGINS (a directory), else the "plugins" directory
 * beside the program's own ($(BUILD)/tests/replay_x -> $(BUILD)/plugins). A plugin that
 * cannot be loaded is a set-up error: the program says why and exits 2.
 *
 * One input can stand for several files: it is cut at each line CS_FUZZ_FILE_SEP, the first
 * part going to names[0], the second to names[1], and so on (extra parts are appended to the
 * last file). Names matter to loaders that read them (gems takes the direction from them).
 */
#ifndef CS_LOADER_RUN_H
#define CS_LOADER_RUN_H

#include <stddef.h>
#include <stdint.h>

#define CS_FUZZ_FILE_SEP "\n##FILE##\n" /* splits one input into several files */

/* Load plugin (by its name, e.g. "icd10cm-tabular") once per process; exits 2 on failure. */
void cs_fuzz_loader_init(const char *plugin);

/* Run plugin's load over data written to files called names[0..n_names-1] (1 to 8 names).
 * Returns load()'s status; a crash or sanitizer report is the only failure that matters. */
int cs_fuzz_loader_run(const char *plugin, const char *const *names, size_t n_names,
                       const uint8_t *data, size_t size);

#endif /* CS_LOADER_RUN_H */
