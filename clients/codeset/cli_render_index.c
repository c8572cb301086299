/* cli_render_index.c: the index op's reply for people: a table's rows with one column per
 * heading (drug, neoplasm), or each term with its path, codes and references (index,
 * eindex). A code carries a mark for its state in the tabular. */
#include "cli_render.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli_msg.h"
#include "cli_table.h"

#define S_CELL 512
#define S_COLS 10 /* the term and up to 9 columns */

/* A code as "text" plus its state's mark, into buf. */
static const char *s_code_cell(const msgpack_object *c, char *buf, size_t cap)
{
    char text[128], state[32];
    cs_cli_msg_text(cs_cli_msg_get(c, "text"), text, sizeof text);
    cs_cli_msg_text(cs_cli_msg_get(c, "state"), state, sizeof state);
    const char *mark = strcmp(state, "billable") == 0     ? " B"
                       : strcmp(state, "needs_7th") == 0  ? " +7"
                       : strcmp(state, "needs_more") == 0 ? " +"
                       : strcmp(state, "header") == 0     ? " H"
                       : strcmp(state, "unknown") == 0    ? " ?"
                                                          : "";
    snprintf(buf, cap, "%s%s", text, mark);
    return buf;
}

/* The term: its path and title joined by " > ", and where a followed row came from. */
static const char *s_term(const msgpack_object *row, char *buf, size_t cap)
{
    size_t o = 0;
    buf[0] = '\0';
    const msgpack_object *path = cs_cli_msg_get(row, "path");
    uint32_t n = cs_cli_msg_is(path, MSGPACK_OBJECT_ARRAY) ? path->via.array.size : 0;
    char part[S_CELL];
    for (uint32_t i = 0; i < n && o < cap; i++) {
        o += (size_t)snprintf(buf + o, cap - o, "%s > ",
                              cs_cli_msg_text(&path->via.array.ptr[i], part, sizeof part));
    }
    if (o < cap) {
        o += (size_t)snprintf(buf + o, cap - o, "%s",
                              cs_cli_msg_text(cs_cli_msg_get(row, "title"), part, sizeof part));
    }
    const msgpack_object *via = cs_cli_msg_get(row, "via");
    if (via && o < cap) {
        snprintf(buf + o, cap - o, "  (%s)", cs_cli_msg_text(via, part, sizeof part));
    }
    return buf;
}

/* The non-cell codes and the references of a row, in one cell. */
static const char *s_refs(const msgpack_object *row, char *buf, size_t cap)
{
    size_t o = 0;
    buf[0] = '\0';
    const msgpack_object *codes = cs_cli_msg_get(row, "codes");
    uint32_t n = cs_cli_msg_is(codes, MSGPACK_OBJECT_ARRAY) ? codes->via.array.size : 0;
    char one[160], name[32];
    for (uint32_t i = 0; i < n && o < cap; i++) {
        const msgpack_object *c = &codes->via.array.ptr[i];
        if (cs_cli_msg_get(c, "col")) {
            continue;
        }
        cs_cli_msg_text(cs_cli_msg_get(c, "name"), name, sizeof name);
        o += (size_t)snprintf(buf + o, cap - o, "%s%s%s", o ? ", " : "",
                              strcmp(name, "code") == 0 ? "" : strcat(name, " "),
                              s_code_cell(c, one, sizeof one));
    }
    static const char *const refs[] = {"see", "see_also"};
    for (size_t k = 0; k < 2 && o < cap; k++) {
        const msgpack_object *v = cs_cli_msg_get(row, refs[k]);
        if (v) {
            o += (size_t)snprintf(buf + o, cap - o, "%s%s %s", o ? "; " : "",
                                  k ? "see also" : "see", cs_cli_msg_text(v, one, sizeof one));
        }
    }
    return buf;
}

/* The references --follow left unfollowed, one a line, with why. */
static void s_unfollowed(const cs_cli_t *cli, const msgpack_object *reply)
{
    const msgpack_object *un = cs_cli_msg_get(reply, "unfollowed");
    uint32_t n = cs_cli_msg_is(un, MSGPACK_OBJECT_ARRAY) ? un->via.array.size : 0;
    char via[32], ref[S_CELL], why[32];
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object *u = &un->via.array.ptr[i];
        cs_cli_msg_text(cs_cli_msg_get(u, "via"), via, sizeof via);
        cs_cli_msg_text(cs_cli_msg_get(u, "ref"), ref, sizeof ref);
        cs_cli_msg_text(cs_cli_msg_get(u, "why"), why, sizeof why);
        fprintf(cli->out, "not followed: %s %s (%s)\n", strcmp(via, "see") ? "see also" : "see",
                ref, why);
    }
}

void cs_cli_render_index(const cs_cli_t *cli, const msgpack_object *reply)
{
    const msgpack_object *cols = cs_cli_msg_get(reply, "columns");
    uint32_t ncols = cs_cli_msg_is(cols, MSGPACK_OBJECT_ARRAY) ? cols->via.array.size : 0;
    if (ncols > S_COLS - 1) {
        ncols = S_COLS - 1;
    }
    size_t width = ncols ? ncols + 1 : 2; /* term, the columns after the first, references */
    cs_cli_table_t *t = cs_cli_table_new(width);
    if (t == NULL) {
        return;
    }
    static char cells[S_COLS + 1][S_CELL];
    const char *row[S_COLS + 1];
    snprintf(cells[0], S_CELL, "%s", ncols ? "" : "term");
    if (ncols) {
        cs_cli_msg_text(&cols->via.array.ptr[0], cells[0], S_CELL);
    }
    for (uint32_t c = 1; c < ncols; c++) {
        cs_cli_msg_text(&cols->via.array.ptr[c], cells[c], S_CELL);
    }
    snprintf(cells[width - 1], S_CELL, "%s", ncols ? "see" : "codes, see");
    for (size_t c = 0; c < width; c++) {
        row[c] = cells[c];
    }
    cs_cli_table_header(t, row);
    const msgpack_object *rows = cs_cli_msg_get(reply, "rows");
    uint32_t n = cs_cli_msg_is(rows, MSGPACK_OBJECT_ARRAY) ? rows->via.array.size : 0;
    uint32_t n_followed = 0; /* rows a see or see also reached (follow): not among total */
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object *r = &rows->via.array.ptr[i];
        n_followed += cs_cli_msg_get(r, "via") != NULL;
        s_term(r, cells[0], S_CELL);
        for (uint32_t c = 1; c < ncols; c++) {
            cells[c][0] = '\0';
        }
        const msgpack_object *codes = cs_cli_msg_get(r, "codes");
        uint32_t nc = cs_cli_msg_is(codes, MSGPACK_OBJECT_ARRAY) ? codes->via.array.size : 0;
        for (uint32_t k = 0; k < nc; k++) {
            int64_t col = 0;
            if (cs_cli_msg_int(cs_cli_msg_get(&codes->via.array.ptr[k], "col"), &col) == 0 &&
                col >= 2 && (uint32_t)col <= ncols) {
                s_code_cell(&codes->via.array.ptr[k], cells[col - 1], S_CELL);
            }
        }
        s_refs(r, cells[width - 1], S_CELL);
        cs_cli_table_add(t, row);
    }
    if (n > 0) {
        cs_cli_table_print(t, cli->out, cli->color);
    }
    cs_cli_table_destroy(&t);
    s_unfollowed(cli, reply);
    char total[32], rel[64], tab[64];
    cs_cli_msg_text(cs_cli_msg_get(reply, "total"), total, sizeof total);
    cs_cli_msg_text(cs_cli_msg_get(reply, "release"), rel, sizeof rel);
    cs_cli_msg_text(cs_cli_msg_get(reply, "tabular"), tab, sizeof tab);
    const msgpack_object *found = cs_cli_msg_get(reply, "found");
    if (found && !cs_cli_msg_true(found)) {
        fprintf(cli->out, "the path goes astray after its first %s terms: the subterms there "
                "are shown\n", cs_cli_msg_text(cs_cli_msg_get(reply, "matched"), rel,
                                               sizeof rel));
    }
    char followed[48] = "";
    if (n_followed) {
        snprintf(followed, sizeof followed, " (and %" PRIu32 " reached by see or see also)",
                 n_followed);
    }
    fprintf(cli->out, "%" PRIu32 " shown of %s %s%s, index set %s, codes checked in ICD-10-CM "
            "%s (B billable, +7 needs a 7th character, + needs more characters, H header, "
            "? unknown)\n", n - n_followed, total, found ? "subterms" : "terms", followed,
            cs_cli_msg_text(cs_cli_msg_get(reply, "release"), rel, sizeof rel),
            tab[0] ? tab : "(none loaded)");
}
