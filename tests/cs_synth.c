/* cs_synth.c: synthetic releases for tests. */
#include "cs_synth.h"

#include <check.h>
#include <stdio.h>

void cs_synth_order(const char *path, char first, char last)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    unsigned n = 0;
    for (char l = first; l <= last; l++) {
        for (int c = 0; c < 100; c++) {
            char code[8];
            snprintf(code, sizeof code, "%c%02d", l, c);
            fprintf(f, "%05u %-7s 0 %-60s %s\n", ++n, code, "Synthetic category",
                    "Synthetic category");
            for (int s = 0; s < 10; s++) {
                snprintf(code, sizeof code, "%c%02d%d", l, c, s);
                fprintf(f, "%05u %-7s 0 %-60s %s\n", ++n, code, "Synthetic subcategory",
                        "Synthetic subcategory");
                for (int x = 0; x < 10; x++) {
                    snprintf(code, sizeof code, "%c%02d%d%d", l, c, s, x);
                    fprintf(f, "%05u %-7s 1 %-60s Synthetic code %s\n", ++n, code,
                            "Synthetic code", code);
                }
            }
        }
    }
    ck_assert_int_eq(fclose(f), 0);
}
