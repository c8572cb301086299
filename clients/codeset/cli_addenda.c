/* cli_addenda.c: ICD-10-CM addenda files as a change list. */
#include "cli_addenda.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_json.h"
#include "cli_table.h"

#define ACTION_COLS 13 /* "Revise from: " */
#define CODE_COLS 7
#define SHORT_COLS 60

/* Copy n bytes of s into out (cap), blanks trimmed at both ends. */
static void s_trimmed(char *out, size_t cap, const char *s, size_t n)
{
    while (n > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' ||
                     s[n - 1] == '\n')) {
        n--;
    }
    if (n >= cap) {
        n = cap - 1;
    }
    memcpy(out, s, n);
    out[n] = '\0';
}

/* The order file's code (no dot) in display form: the dot after the third character. */
static int s_display(const char *raw, char *out, size_t cap)
{
    size_t n = strlen(raw);
    if (n < 3 || n > CODE_COLS) {
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        char c = raw[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) {
            return -1;
        }
    }
    if (n == 3) {
        snprintf(out, cap, "%s", raw);
    } else {
        snprintf(out, cap, "%.3s.%s", raw, raw + 3);
    }
    return 0;
}

static int s_action(const char *line)
{
    if (strncmp(line, "Add:", 4) == 0) {
        return CS_ADDENDUM_ADD;
    }
    if (strncmp(line, "Delete:", 7) == 0) {
        return CS_ADDENDUM_DELETE;
    }
    if (strncmp(line, "Revise from:", 12) == 0) {
        return -CS_ADDENDUM_REVISE; /* the first half of a revision */
    }
    if (strncmp(line, "Revise to:", 10) == 0) {
        return CS_ADDENDUM_REVISE;
    }
    return 0;
}

/* Parse the part after the action: "[flag ]CODE    title...". */
static int s_parse_rest(const char *rest, cs_addendum_t *a)
{
    size_t len = strlen(rest);
    int order = len > 2 && (rest[0] == '0' || rest[0] == '1') && rest[1] == ' ';
    a->billable = order ? rest[0] - '0' : -1;
    if (order) {
        rest += 2;
        len -= 2;
    }
    if (len < CODE_COLS + 1) {
        return -1;
    }
    char raw[CODE_COLS + 1];
    s_trimmed(raw, sizeof raw, rest, CODE_COLS);
    if (s_display(raw, a->code, sizeof a->code) != 0) {
        return -1;
    }
    rest += CODE_COLS + 1;
    len -= CODE_COLS + 1;
    if (order) {
        size_t s = len < SHORT_COLS ? len : SHORT_COLS;
        s_trimmed(a->short_title, sizeof a->short_title, rest, s);
        rest += s;
        len -= s;
        if (len > 0) {
            rest++;
            len--;
        }
    }
    s_trimmed(a->title, sizeof a->title, rest, len);
    return a->title[0] ? 0 : -1;
}

int cs_addenda_read(const char *path, cs_addendum_t **out, size_t *n, char *err, size_t cap)
{
    *out = NULL;
    *n = 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, cap, "%s: %s", path, strerror(errno));
        return -1;
    }
    size_t alloc = 0;
    char line[1024];
    unsigned lineno = 0;
    cs_addendum_t from; /* a pending "Revise from:" */
    int pending = 0;
    int rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        int action = s_action(line);
        if (action == 0) {
            continue; /* blank lines and the closing summary */
        }
        if (strlen(line) <= ACTION_COLS) {
            snprintf(err, cap, "%s:%u: an action without a code", path, lineno);
            rc = -1;
            break;
        }
        cs_addendum_t a;
        memset(&a, 0, sizeof a);
        if (s_parse_rest(line + ACTION_COLS, &a) != 0) {
            snprintf(err, cap, "%s:%u: not an addenda line (action, code of 3 to 7 letters "
                     "and digits, title)", path, lineno);
            rc = -1;
            break;
        }
        if (action == -CS_ADDENDUM_REVISE) {
            from = a;
            pending = 1;
            continue;
        }
        if (action == CS_ADDENDUM_REVISE) {
            if (!pending || strcmp(from.code, a.code) != 0) {
                snprintf(err, cap, "%s:%u: \"Revise to:\" %s without its \"Revise from:\" line",
                         path, lineno, a.code);
                rc = -1;
                break;
            }
            snprintf(a.old_title, sizeof a.old_title, "%s", from.title);
        }
        pending = 0;
        a.action = action;
        if (*n == alloc) {
            alloc = alloc ? alloc * 2 : 64;
            cs_addendum_t *p = realloc(*out, alloc * sizeof *p);
            if (!p) {
                snprintf(err, cap, "%s: out of memory", path);
                rc = -1;
                break;
            }
            *out = p;
        }
        (*out)[(*n)++] = a;
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, cap, "%s: read error", path);
        rc = -1;
    }
    fclose(f);
    if (rc != 0) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

static const char *s_action_name(int action)
{
    return action == CS_ADDENDUM_ADD ? "added" : action == CS_ADDENDUM_DELETE ? "deleted"
                                                                              : "revised";
}

static void s_print_json(cs_cli_t *cli, const cs_addendum_t *a, size_t n)
{
    FILE *o = cli->out;
    fputc('[', o);
    for (size_t i = 0; i < n; i++) {
        fputs(i ? ",{\"change\":" : "{\"change\":", o);
        cs_cli_json_write_str(o, s_action_name(a[i].action), strlen(s_action_name(a[i].action)));
        fputs(",\"code\":", o);
        cs_cli_json_write_str(o, a[i].code, strlen(a[i].code));
        if (a[i].billable >= 0) {
            fprintf(o, ",\"billable\":%s", a[i].billable ? "true" : "false");
        }
        fputs(",\"title\":", o);
        cs_cli_json_write_str(o, a[i].title, strlen(a[i].title));
        if (a[i].action == CS_ADDENDUM_REVISE) {
            fputs(",\"old_title\":", o);
            cs_cli_json_write_str(o, a[i].old_title, strlen(a[i].old_title));
        }
        fputc('}', o);
    }
    fputs("]\n", o);
}

static void s_print_tables(cs_cli_t *cli, const cs_addendum_t *a, size_t n)
{
    static const int order[] = {CS_ADDENDUM_ADD, CS_ADDENDUM_DELETE, CS_ADDENDUM_REVISE};
    for (size_t k = 0; k < 3; k++) {
        size_t count = 0;
        for (size_t i = 0; i < n; i++) {
            count += a[i].action == order[k];
        }
        fprintf(cli->out, "%s%s: %zu\n", k ? "\n" : "", s_action_name(order[k]), count);
        cs_cli_table_t *t = cs_cli_table_new(3);
        if (!t || count == 0) {
            cs_cli_table_destroy(&t);
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            if (a[i].action != order[k]) {
                continue;
            }
            const char *flag = a[i].billable < 0 ? "" : a[i].billable ? "billable" : "header";
            const char *row[3] = {a[i].code, flag, a[i].title};
            cs_cli_table_add(t, row);
            if (order[k] == CS_ADDENDUM_REVISE) {
                char was[340];
                snprintf(was, sizeof was, "was: %s", a[i].old_title);
                const char *prev[3] = {"", "", was};
                cs_cli_table_add(t, prev);
            }
        }
        cs_cli_table_print_indent(t, cli->out, cli->color, 2);
        cs_cli_table_destroy(&t);
    }
}

int cs_cli_addenda(cs_cli_t *cli, int n_files, char *const *files)
{
    cs_addendum_t *all = NULL;
    size_t n_all = 0;
    for (int i = 0; i < n_files; i++) {
        cs_addendum_t *a;
        size_t n;
        char err[512];
        if (cs_addenda_read(files[i], &a, &n, err, sizeof err) != 0) {
            fprintf(cli->err, "codeset: addenda: %s\n", err);
            free(all);
            return CS_CLI_EXIT_USAGE;
        }
        cs_addendum_t *p = realloc(all, (n_all + n + 1) * sizeof *p);
        if (!p) {
            free(a);
            free(all);
            fputs("codeset: out of memory\n", cli->err);
            return CS_CLI_EXIT_ERROR;
        }
        all = p;
        if (n) {
            memcpy(all + n_all, a, n * sizeof *a);
        }
        n_all += n;
        free(a);
    }
    if (cli->json) {
        s_print_json(cli, all, n_all);
    } else {
        s_print_tables(cli, all, n_all);
    }
    free(all);
    return CS_CLI_EXIT_OK;
}
