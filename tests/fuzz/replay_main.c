/* replay_main.c: a main for fuzz targets built without libFuzzer: feeds every regular file
 * named on the command line, or found directly in a directory named there, to
 * LLVMFuzzerTestOneInput, in name order. Each input gets a buffer of its exact size, so a
 * sanitizer catches any read past its end. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Run one file; 1 when it was replayed, 0 when it could not be read. */
static int s_replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "replay: cannot open %s: %s\n", path, strerror(errno));
        return 0;
    }
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    while (buf != NULL) {
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            break;
        }
        if (len == cap) {
            uint8_t *more = realloc(buf, cap * 2);
            if (more == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = more;
            cap *= 2;
        }
    }
    int failed = buf == NULL || ferror(f);
    fclose(f);
    if (failed) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        free(buf);
        return 0;
    }
    /* an exact-size copy: a read past the input's end is a read past the allocation */
    uint8_t *exact = malloc(len ? len : 1);
    if (exact == NULL) {
        free(buf);
        fprintf(stderr, "replay: out of memory for %s\n", path);
        return 0;
    }
    memcpy(exact, buf, len);
    free(buf);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return 1;
}

static int s_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replay every regular file directly inside dir; returns how many, or -1 on failure. */
static long s_replay_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "replay: cannot open directory %s: %s\n", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    int failed = 0;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') {
            continue;
        }
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            char **more = realloc(names, ncap * sizeof *names);
            if (more == NULL) {
                failed = 1;
                break;
            }
            names = more;
            cap = ncap;
        }
        names[n] = strdup(de->d_name);
        if (names[n] == NULL) {
            failed = 1;
            break;
        }
        n++;
    }
    closedir(d);
    long count = 0;
    if (!failed) {
        qsort(names, n, sizeof *names, s_cmp);
        for (size_t i = 0; i < n; i++) {
            size_t plen = strlen(dir) + strlen(names[i]) + 2;
            char *path = malloc(plen);
            if (path == NULL) {
                failed = 1;
                break;
            }
            snprintf(path, plen, "%s/%s", dir, names[i]);
            struct stat st;
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                if (s_replay_file(path)) {
                    count++;
                } else {
                    failed = 1;
                }
            }
            free(path);
        }
    }
    for (size_t i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
    if (failed) {
        fprintf(stderr, "replay: could not replay all of %s\n", dir);
        return -1;
    }
    return count;
}

int main(int argc, char **argv)
{
    long total = 0;
    int status = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            status = 1;
        } else if (S_ISDIR(st.st_mode)) {
            long n = s_replay_dir(argv[i]);
            if (n < 0) {
                status = 1;
            } else {
                total += n;
            }
        } else if (s_replay_file(argv[i])) {
            total++;
        } else {
            status = 1;
        }
    }
    printf("replayed %ld inputs\n", total);
    return status;
}
