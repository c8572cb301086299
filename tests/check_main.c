/* check_main.c: runs every Check suite of the tree in one SRunner.
 * The suite list is generated from the tests/check_*.c file names (build/tests/suites.h).
 *
 * A test that fails stops at its assertion, before its own cleanup: Check kills what it
 * started (the test's process group) but its directories would outlive the run. So the run
 * gives every test one root for its temporary directories (TMPDIR, which cs_test_tmpdir and
 * the programs tests start honour) and removes it when the suites are done, whatever failed;
 * with CS_TEST_KEEP=1 it stays, for a failure's logs, and its path is printed. */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cs_test.h"

#define CS_SUITE(name) Suite *cs_##name##_suite(void);
#include "suites.h"
#undef CS_SUITE

int main(void)
{
    char root[PATH_MAX];
    const char *base = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/codeset-test-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(root)) {
        perror("check: cannot make the tests' temporary root");
        return EXIT_FAILURE;
    }
    setenv("TMPDIR", root, 1);

    SRunner *runner = srunner_create(NULL);
#define CS_SUITE(name) srunner_add_suite(runner, cs_##name##_suite());
#include "suites.h"
#undef CS_SUITE
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);

    const char *keep = getenv("CS_TEST_KEEP");
    if (keep && strcmp(keep, "1") == 0) {
        fprintf(stderr, "check: the tests' directories are kept in %s\n", root);
    } else {
        cs_test_rmtree(root);
    }
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
