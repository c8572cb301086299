/* plugin_test.h: what the system plugin suites (check_cpt.c, check_hcpcs.c, check_icd10cm.c,
 * check_icd10pcs.c, check_icd9cm.c, check_icd9pcs.c) share: loading a plugin from the build
 * folder, calling normalize() on an exact-size copy of the input, asserting what it accepts
 * or refuses, and the checks every system must pass the same way (its descriptor, hostile
 * long input, NULL arguments), with the set-up every suite's tests start from.
 *
 * Every function fails the running Check test on a mismatch; none returns an error. */
#ifndef CS_PLUGIN_TEST_H
#define CS_PLUGIN_TEST_H

#include <stddef.h>

#include "codeset/cs_plugin.h"
#include "load/cs_plugin_host.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The Check fixture of a suite: a new plugin host with <build>/plugins/<name>.so loaded, the
 * current plugin of the calls below until cs_plugin_test_teardown(); returns its system ops. */
const cs_system_ops_t *cs_plugin_test_use(const char *name);

/* The other Check fixture: destroy the host cs_plugin_test_use() made. */
void cs_plugin_test_teardown(void);

/* The current plugin's host (to load another plugin beside it) and descriptor. */
cs_plugin_host_t *cs_plugin_test_host(void);
const cs_plugin_desc_t *cs_plugin_test_desc(void);

/* cs_plugin_test_norm(), cs_plugin_test_bad() (on strlen(in) bytes) and looks_like_code(in)
 * with the current plugin. */
int cs_plugin_test_try(const char *in, size_t len, cs_code_t *out, cs_error_t *err);
void cs_plugin_test_refuse(const char *in, const char *want);
int cs_plugin_test_looks(const char *in);

/* Load <build>/plugins/<name>.so into host and return its system descriptor (borrowed from
 * host, valid until host is destroyed). */
const cs_plugin_desc_t *cs_plugin_test_load(cs_plugin_host_t *host, const char *name);

/* normalize in[0..len) with ops from an exact-size heap copy, so ASan sees any read past len.
 * out is scribbled over and err cleared first; returns what normalize returned. Failures are
 * plain ck_abort_msg: sweeps make hundreds of thousands of calls, and each passing ck_assert
 * costs a write to the runner. */
int cs_plugin_test_norm(const cs_system_ops_t *ops, const char *in, size_t len, cs_code_t *out,
                        cs_error_t *err);

/* normalize accepts in[0..len) as class cls with this key and display. */
void cs_plugin_test_ok(const cs_system_ops_t *ops, const char *in, size_t len, int cls,
                       const char *key, const char *display);

/* normalize refuses in[0..len) with CS_EMALFORMED and a message of printable ASCII that
 * contains want. */
void cs_plugin_test_bad(const cs_system_ops_t *ops, const char *in, size_t len,
                        const char *want);

/* desc is a system plugin called name with this title, a looks_like_code(), no loader, and
 * exactly the kinds of the NULL-terminated list kinds. */
void cs_plugin_test_descriptor(const cs_plugin_desc_t *desc, const char *name, const char *title,
                               const char *const *kinds);

/* One mebibyte of input, four ways: first then fill repeated (refused with a message that
 * contains too_long, cut with "..." and shorter than the buffer); white space only (an empty
 * code); code in the middle of white space (accepted as a code with key and display); and
 * pseudo-random bytes from seed (refused in printable ASCII, not code-like). Last, 200
 * control bytes, whose escaped quote must still end inside the message. */
void cs_plugin_test_long_input(const cs_system_ops_t *ops, char first, char fill,
                               const char *too_long, const char *code, const char *key,
                               const char *display, unsigned seed);

/* The NULL-argument contract of a plugin called name: short_bad and bad (NULL to skip) are
 * refused without an error struct, good is accepted, NULL input is empty or invalid, NULL
 * output is invalid, looks_like_code(NULL) is 0, and CS_EINVAL names the plugin. */
void cs_plugin_test_null_args(const cs_system_ops_t *ops, const char *name,
                              const char *short_bad, const char *bad, const char *good);

#ifdef __cplusplus
}
#endif

#endif /* CS_PLUGIN_TEST_H */
