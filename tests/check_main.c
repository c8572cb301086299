/* check_main.c: runs every Check suite of the tree in one SRunner.
 * The suite list is generated from the tests/check_*.c file names (build/tests/suites.h). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#define CS_SUITE(name) Suite *cs_##name##_suite(void);
#include "suites.h"
#undef CS_SUITE

int main(void)
{
    SRunner *runner = srunner_create(NULL);
#define CS_SUITE(name) srunner_add_suite(runner, cs_##name##_suite());
#include "suites.h"
#undef CS_SUITE
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
