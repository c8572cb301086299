/* cs_test.h: helpers shared by the Check suites: where the build and the official data are,
 * temporary directories, and skipping a test that needs ../shared/data when it is absent. */
#ifndef CS_TEST_H
#define CS_TEST_H

#include <check.h>
#include <stddef.h>

/* Absolute path of the build directory ($CS_BUILD_DIR, default "build"). Never NULL. */
const char *cs_test_build_dir(void);

/* Path of a file under the official data folder ($CS_SHARED_DATA, default ../shared/data),
 * written into out; returns 1 if it exists and is readable, 0 otherwise. */
int cs_test_data_path(const char *rel, char *out, size_t cap);

/* Path of a file under tests/fixtures/ (relative to the repository root, made absolute). */
void cs_test_fixture_path(const char *rel, char *out, size_t cap);

/* Make a fresh temporary directory; the path is written into out. Fails the test on error. */
void cs_test_tmpdir(char *out, size_t cap);

/* Remove a directory tree made by cs_test_tmpdir (best effort). */
void cs_test_rmtree(const char *dir);

/* A TCP port on 127.0.0.1 nothing listens on right now. Fails the test on error. */
int cs_test_free_port(void);

/* Skip the rest of the current test, saying why, when the official data is absent. */
#define CS_SKIP_UNLESS_DATA(path_ok, what)                                             \
    do {                                                                               \
        if (!(path_ok)) {                                                              \
            fprintf(stderr, "SKIP %s: %s not found (../shared/data is absent)\n",      \
                    __func__, (what));                                                 \
            return;                                                                    \
        }                                                                              \
    } while (0)

#endif /* CS_TEST_H */
