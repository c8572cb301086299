/* cli_progress.c: a one-line progress bar (see cli_progress.h). */
#include "cli_progress.h"

#include <string.h>

void cs_cli_progress_init(cs_cli_progress_t *p, FILE *out, int enabled)
{
    p->out = out;
    p->enabled = enabled;
    p->drawn = 0;
}

static double s_mib(uint64_t bytes)
{
    return (double)bytes / (1024.0 * 1024.0);
}

size_t cs_cli_progress_format(char *buf, size_t cap, uint64_t done, uint64_t total)
{
    int n;
    if (total == 0) {
        n = snprintf(buf, cap, "loading: %.1f MiB", s_mib(done));
    } else {
        if (done > total) {
            done = total;
        }
        char bar[CS_CLI_PROGRESS_WIDTH + 1];
        size_t fill = (size_t)((double)done / (double)total * CS_CLI_PROGRESS_WIDTH);
        memset(bar, '#', fill);
        memset(bar + fill, '-', CS_CLI_PROGRESS_WIDTH - fill);
        bar[CS_CLI_PROGRESS_WIDTH] = '\0';
        unsigned pct = (unsigned)((double)done * 100.0 / (double)total);
        n = snprintf(buf, cap, "[%s] %3u%%  %.1f MiB / %.1f MiB", bar, pct, s_mib(done),
                     s_mib(total));
    }
    if (n < 0) {
        buf[0] = '\0';
        return 0;
    }
    return (size_t)n < cap ? (size_t)n : cap - 1;
}

void cs_cli_progress_update(cs_cli_progress_t *p, uint64_t done, uint64_t total)
{
    if (!p->enabled) {
        return;
    }
    char line[128];
    size_t n = cs_cli_progress_format(line, sizeof line, done, total);
    /* Pad over a longer previous line so no stale characters remain. */
    int pad = p->drawn > n ? (int)(p->drawn - n) : 0;
    fprintf(p->out, "\r%s%*s", line, pad, "");
    fflush(p->out);
    p->drawn = n;
}

void cs_cli_progress_clear(cs_cli_progress_t *p)
{
    if (!p->enabled || p->drawn == 0) {
        return;
    }
    fprintf(p->out, "\r%*s\r", (int)p->drawn, "");
    fflush(p->out);
    p->drawn = 0;
}
