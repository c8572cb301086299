/* cli_render.c: reply maps as text for people (see cli_render.h). */
#include "cli_render.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "cli_msg.h"
#include "cli_table.h"

#define S_CELL 1024 /* longest cell text kept */
#define S_MAX_COLS 16 /* most columns of a generic table */

static const char *s_text(const msgpack_object *map, const char *key, char *buf)
{
    return cs_cli_msg_text(cs_cli_msg_get(map, key), buf, S_CELL);
}

static void s_print_table(const cs_cli_t *cli, cs_cli_table_t *t, int indent)
{
    if (t != NULL) {
        cs_cli_table_print_indent(t, cli->out, cli->color, indent);
    }
}

static int s_is_scalar(const msgpack_object *o)
{
    return o->type != MSGPACK_OBJECT_MAP && o->type != MSGPACK_OBJECT_ARRAY;
}

static int s_is_flat(const msgpack_object *o)
{
    if (s_is_scalar(o)) {
        return 1;
    }
    if (o->type != MSGPACK_OBJECT_ARRAY) {
        return 0;
    }
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        if (!s_is_scalar(&o->via.array.ptr[i])) {
            return 0;
        }
    }
    return 1;
}

static int s_is_table(const msgpack_object *o)
{
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size == 0) {
        return 0;
    }
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        if (o->via.array.ptr[i].type != MSGPACK_OBJECT_MAP) {
            return 0;
        }
    }
    return 1;
}

/* An array of maps as a table whose columns are the keys in order of first appearance. */
static void s_render_array_table(const cs_cli_t *cli, const msgpack_object *arr, int indent)
{
    const msgpack_object *cols[S_MAX_COLS];
    size_t ncols = 0;
    for (uint32_t i = 0; i < arr->via.array.size; i++) {
        const msgpack_object *m = &arr->via.array.ptr[i];
        for (uint32_t k = 0; k < m->via.map.size && ncols < S_MAX_COLS; k++) {
            const msgpack_object *key = &m->via.map.ptr[k].key;
            if (key->type != MSGPACK_OBJECT_STR) {
                continue;
            }
            int seen = 0;
            for (size_t c = 0; c < ncols && !seen; c++) {
                seen = cols[c]->via.str.size == key->via.str.size &&
                       memcmp(cols[c]->via.str.ptr, key->via.str.ptr, key->via.str.size) == 0;
            }
            if (!seen) {
                cols[ncols++] = key;
            }
        }
    }
    if (ncols == 0) {
        return;
    }
    cs_cli_table_t *t = cs_cli_table_new(ncols);
    if (t == NULL) {
        return;
    }
    static char cells[S_MAX_COLS][S_CELL];
    const char *row[S_MAX_COLS];
    for (size_t c = 0; c < ncols; c++) {
        cs_cli_msg_text(cols[c], cells[c], S_CELL);
        row[c] = cells[c];
    }
    cs_cli_table_header(t, row);
    for (uint32_t i = 0; i < arr->via.array.size; i++) {
        const msgpack_object *m = &arr->via.array.ptr[i];
        for (size_t c = 0; c < ncols; c++) {
            const msgpack_object *v = NULL;
            for (uint32_t k = 0; k < m->via.map.size && v == NULL; k++) {
                const msgpack_object *key = &m->via.map.ptr[k].key;
                if (key->type == MSGPACK_OBJECT_STR &&
                    key->via.str.size == cols[c]->via.str.size &&
                    memcmp(key->via.str.ptr, cols[c]->via.str.ptr, key->via.str.size) == 0) {
                    v = &m->via.map.ptr[k].val;
                }
            }
            cs_cli_msg_text(v, cells[c], S_CELL);
            row[c] = cells[c];
        }
        cs_cli_table_add(t, row);
    }
    s_print_table(cli, t, indent);
    cs_cli_table_destroy(&t);
}

static void s_render_map(const cs_cli_t *cli, const msgpack_object *map, int indent, int top)
{
    cs_cli_table_t *t = cs_cli_table_new(2);
    if (t == NULL) {
        return;
    }
    char key[S_CELL];
    char val[S_CELL];
    /* Scalars first, aligned; nested maps and lists of maps after them. */
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object_kv *kv = &map->via.map.ptr[i];
        cs_cli_msg_text(&kv->key, key, sizeof key - 1);
        if (top && (strcmp(key, "ok") == 0 || strcmp(key, "id") == 0)) {
            continue;
        }
        if (!s_is_flat(&kv->val) && (kv->val.type == MSGPACK_OBJECT_MAP || s_is_table(&kv->val))) {
            continue;
        }
        strcat(key, ":");
        const char *row[2] = {key, cs_cli_msg_text(&kv->val, val, sizeof val)};
        cs_cli_table_add(t, row);
    }
    s_print_table(cli, t, indent);
    cs_cli_table_destroy(&t);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object_kv *kv = &map->via.map.ptr[i];
        int nested = kv->val.type == MSGPACK_OBJECT_MAP;
        if (!nested && !s_is_table(&kv->val)) {
            continue;
        }
        cs_cli_msg_text(&kv->key, key, sizeof key);
        fprintf(cli->out, "%*s%s:\n", indent, "", key);
        if (nested) {
            s_render_map(cli, &kv->val, indent + 2, 0);
        } else {
            s_render_array_table(cli, &kv->val, indent + 2);
        }
    }
}

void cs_cli_render_kv(const cs_cli_t *cli, const msgpack_object *reply)
{
    s_render_map(cli, reply, 0, 1);
}

/* The notes map of a lookup: each type, then its strings (or, for seven_chr_def, its
 * character -> meaning pairs). */
static void s_render_notes(const cs_cli_t *cli, const msgpack_object *notes)
{
    char buf[S_CELL];
    fputs("notes:\n", cli->out);
    for (uint32_t i = 0; i < notes->via.map.size; i++) {
        const msgpack_object_kv *kv = &notes->via.map.ptr[i];
        fprintf(cli->out, "  %s:\n", cs_cli_msg_text(&kv->key, buf, sizeof buf));
        if (kv->val.type == MSGPACK_OBJECT_ARRAY) {
            for (uint32_t k = 0; k < kv->val.via.array.size; k++) {
                fprintf(cli->out, "    - %s\n",
                        cs_cli_msg_text(&kv->val.via.array.ptr[k], buf, sizeof buf));
            }
        } else if (kv->val.type == MSGPACK_OBJECT_MAP) {
            s_render_map(cli, &kv->val, 4, 0);
        } else {
            fprintf(cli->out, "    %s\n", cs_cli_msg_text(&kv->val, buf, sizeof buf));
        }
    }
}

/* A list of maps as a table of the given keys (no header). */
static void s_render_list(const cs_cli_t *cli, const char *title, const msgpack_object *list,
                          const char *const *keys, size_t nkeys, int indent)
{
    if (!cs_cli_msg_is(list, MSGPACK_OBJECT_ARRAY)) {
        return;
    }
    fprintf(cli->out, "%*s%s (%" PRIu32 "):\n", indent, "", title, list->via.array.size);
    cs_cli_table_t *t = cs_cli_table_new(nkeys);
    if (t == NULL) {
        return;
    }
    static char cells[8][S_CELL];
    const char *row[8];
    for (uint32_t i = 0; i < list->via.array.size; i++) {
        const msgpack_object *m = &list->via.array.ptr[i];
        for (size_t k = 0; k < nkeys && k < 8; k++) {
            if (strcmp(keys[k], "billable") == 0) {
                row[k] = cs_cli_msg_true(cs_cli_msg_get(m, "billable")) ? "billable" : "";
            } else if (strcmp(keys[k], "became") == 0) {
                row[k] = cs_cli_msg_true(cs_cli_msg_get(m, "billable")) ? "now billable"
                                                                         : "now a header";
            } else if (m->type == MSGPACK_OBJECT_MAP) {
                row[k] = s_text(m, keys[k], cells[k]);
            } else {
                row[k] = k == 0 ? cs_cli_msg_text(m, cells[k], S_CELL) : "";
            }
        }
        cs_cli_table_add(t, row);
    }
    s_print_table(cli, t, indent + 2);
    cs_cli_table_destroy(&t);
}

int cs_cli_render_lookup(const cs_cli_t *cli, const msgpack_object *reply)
{
    char a[S_CELL];
    char b[S_CELL];
    char c[S_CELL];
    const msgpack_object *found = cs_cli_msg_get(reply, "found");
    if (cs_cli_msg_is(found, MSGPACK_OBJECT_BOOLEAN) && !found->via.boolean) {
        const msgpack_object *reason = cs_cli_msg_get(reply, "reason");
        s_text(reply, "code", a);
        if (a[0] == '\0') {
            s_text(reply, "input", a);
        }
        s_text(reply, "release", b);
        fprintf(cli->out, "%s: %s%s%s%s\n", a,
                reason != NULL ? cs_cli_msg_text(reason, c, sizeof c) : "not found",
                b[0] != '\0' ? " (release " : "", b, b[0] != '\0' ? ")" : "");
        return CS_CLI_EXIT_INVALID;
    }
    cs_cli_table_t *t = cs_cli_table_new(2);
    if (t == NULL) {
        return CS_CLI_EXIT_OK;
    }
    static const char *const keys[] = {"code",  "system", "release", "kind",
                                       "billable", "title", "short", "parent",
                                       "valid_from", "valid_to"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const msgpack_object *v = cs_cli_msg_get(reply, keys[i]);
        if (v == NULL) {
            continue;
        }
        snprintf(b, sizeof b, "%s:", keys[i]);
        const char *val = cs_cli_msg_text(v, a, sizeof a);
        if (v->type == MSGPACK_OBJECT_NIL) {
            val = "-";
        }
        const char *row[2] = {b, val};
        cs_cli_table_add(t, row);
        if (strcmp(keys[i], "billable") == 0) {
            cs_cli_table_color(t, 1, cs_cli_msg_true(v) ? CS_CLI_GREEN : CS_CLI_YELLOW);
        }
    }
    /* attributes (a PCS code's axis meanings, an HCPCS code's dates and indicators) */
    const msgpack_object *attrs = cs_cli_msg_get(reply, "attributes");
    if (cs_cli_msg_is(attrs, MSGPACK_OBJECT_MAP)) {
        for (uint32_t i = 0; i < attrs->via.map.size; i++) {
            const msgpack_object_kv *kv = &attrs->via.map.ptr[i];
            char name[S_CELL];
            snprintf(b, sizeof b, "%s:", cs_cli_msg_text(&kv->key, name, sizeof name));
            const char *row[2] = {b, cs_cli_msg_text(&kv->val, a, sizeof a)};
            cs_cli_table_add(t, row);
        }
    }
    s_print_table(cli, t, 0);
    cs_cli_table_destroy(&t);
    const msgpack_object *notes = cs_cli_msg_get(reply, "notes");
    if (cs_cli_msg_is(notes, MSGPACK_OBJECT_MAP) && notes->via.map.size > 0) {
        s_render_notes(cli, notes);
    }
    static const char *const child_keys[] = {"code", "billable", "title"};
    s_render_list(cli, "children", cs_cli_msg_get(reply, "children"), child_keys, 3, 0);
    static const char *const anc_keys[] = {"code", "kind", "title"};
    s_render_list(cli, "ancestors", cs_cli_msg_get(reply, "ancestors"), anc_keys, 3, 0);
    return CS_CLI_EXIT_OK;
}

static int s_result_valid(const msgpack_object *r)
{
    return cs_cli_msg_true(cs_cli_msg_get(r, "valid"));
}

size_t cs_cli_count_invalid(const msgpack_object *reply)
{
    const msgpack_object *results = cs_cli_msg_get(reply, "results");
    if (!cs_cli_msg_is(results, MSGPACK_OBJECT_ARRAY)) {
        return 0;
    }
    size_t bad = 0;
    for (uint32_t i = 0; i < results->via.array.size; i++) {
        bad += s_result_valid(&results->via.array.ptr[i]) ? 0 : 1;
    }
    return bad;
}

size_t cs_cli_render_validate(const cs_cli_t *cli, const msgpack_object *reply)
{
    const msgpack_object *results = cs_cli_msg_get(reply, "results");
    if (!cs_cli_msg_is(results, MSGPACK_OBJECT_ARRAY)) {
        return 0;
    }
    cs_cli_table_t *t = cs_cli_table_new(4);
    if (t == NULL) {
        return cs_cli_count_invalid(reply);
    }
    static const char *const head[] = {"input", "code", "status", "title / message"};
    cs_cli_table_header(t, head);
    char in[S_CELL];
    char code[S_CELL];
    char status[S_CELL];
    char text[S_CELL];
    char note[S_CELL + 32];
    size_t bad = 0;
    for (uint32_t i = 0; i < results->via.array.size; i++) {
        const msgpack_object *r = &results->via.array.ptr[i];
        int ok = s_result_valid(r);
        s_text(r, "input", in);
        s_text(r, "code", code);
        if (ok) {
            snprintf(status, sizeof status, "ok");
            s_text(r, "title", text);
        } else {
            bad++;
            s_text(r, "reason", status);
            if (status[0] == '\0') {
                snprintf(status, sizeof status, "invalid");
            }
            s_text(r, "message", text);
        }
        const char *row[4] = {in[0] != '\0' ? in : code, code, status, text};
        cs_cli_table_add(t, row);
        cs_cli_table_color(t, 2, ok ? CS_CLI_GREEN : CS_CLI_RED);
        if (ok) {
            continue;
        }
        static const struct {
            const char *key;
            const char *label;
        } extra[] = {{"hint", "hint"}, {"valid_in", "valid in"}, {"replaced_by", "replaced by"}};
        for (size_t k = 0; k < sizeof extra / sizeof extra[0]; k++) {
            const msgpack_object *v = cs_cli_msg_get(r, extra[k].key);
            if (v == NULL || (v->type == MSGPACK_OBJECT_ARRAY && v->via.array.size == 0)) {
                continue;
            }
            snprintf(note, sizeof note, "%s: %s", extra[k].label,
                     cs_cli_msg_text(v, text, sizeof text));
            cs_cli_table_note(t, note);
        }
    }
    s_print_table(cli, t, 0);
    cs_cli_table_destroy(&t);
    s_text(reply, "release", text);
    fprintf(cli->out, "%zu of %" PRIu32 " invalid%s%s%s\n", bad, results->via.array.size,
            text[0] != '\0' ? " (release " : "", text, text[0] != '\0' ? ")" : "");
    return bad;
}

void cs_cli_render_search(const cs_cli_t *cli, const msgpack_object *reply)
{
    const msgpack_object *hits = cs_cli_msg_get(reply, "hits");
    int64_t offset = 0;
    cs_cli_msg_int(cs_cli_msg_get(reply, "offset"), &offset);
    cs_cli_table_t *t = cs_cli_table_new(4);
    if (t == NULL) {
        return;
    }
    static const char *const head[] = {"#", "code", "B", "title"};
    cs_cli_table_header(t, head);
    char rank[32];
    char code[S_CELL];
    char title[S_CELL];
    uint32_t n = cs_cli_msg_is(hits, MSGPACK_OBJECT_ARRAY) ? hits->via.array.size : 0;
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object *h = &hits->via.array.ptr[i];
        snprintf(rank, sizeof rank, "%" PRId64, offset + (int64_t)i + 1);
        int billable = cs_cli_msg_true(cs_cli_msg_get(h, "billable"));
        const char *row[4] = {rank, s_text(h, "code", code), billable ? "B" : "",
                              s_text(h, "title", title)};
        cs_cli_table_add(t, row);
        if (billable) {
            cs_cli_table_color(t, 2, CS_CLI_GREEN);
        }
    }
    if (n > 0) {
        s_print_table(cli, t, 0);
    }
    cs_cli_table_destroy(&t);
    s_text(reply, "total", code);
    s_text(reply, "release", title);
    fprintf(cli->out, "%" PRIu32 " shown of %s match%s%s%s%s (B = billable)\n", n,
            code[0] != '\0' ? code : "?", strcmp(code, "1") == 0 ? "" : "es",
            title[0] != '\0' ? ", release " : "", title, "");
}

void cs_cli_render_crosswalk(const cs_cli_t *cli, const msgpack_object *reply)
{
    char a[S_CELL];
    char b[S_CELL];
    const msgpack_object *reason = cs_cli_msg_get(reply, "reason");
    if (reason != NULL) {
        fprintf(cli->out, "%s: %s\n", s_text(reply, "code", a), s_text(reply, "message", b));
        return;
    }
    /* a reverse query lists the sources that map to the code */
    const msgpack_object *targets = cs_cli_msg_get(reply, "targets");
    const char *what = "targets";
    if (targets == NULL) {
        targets = cs_cli_msg_get(reply, "sources");
        what = "sources";
    }
    fprintf(cli->out, "%s via map %s%s\n", s_text(reply, "code", a), s_text(reply, "map", b),
            strcmp(what, "sources") == 0 ? " (sources that map to it)" : "");
    uint32_t n = cs_cli_msg_is(targets, MSGPACK_OBJECT_ARRAY) ? targets->via.array.size : 0;
    if (n == 0) {
        fprintf(cli->out, "no %s\n", what);
        return;
    }
    cs_cli_table_t *t = cs_cli_table_new(3);
    if (t == NULL) {
        return;
    }
    static const char *const head[] = {"code", "flags", "title"};
    cs_cli_table_header(t, head);
    char flags[S_CELL];
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object *m = &targets->via.array.ptr[i];
        size_t used = 0;
        flags[0] = '\0';
        static const char *const bools[] = {"approximate", "no_map", "combination"};
        for (size_t k = 0; k < 3; k++) {
            if (cs_cli_msg_true(cs_cli_msg_get(m, bools[k])) && used < sizeof flags) {
                used += (size_t)snprintf(flags + used, sizeof flags - used, "%s%s",
                                         used > 0 ? " " : "", bools[k]);
            }
        }
        static const char *const nums[] = {"scenario", "choice"};
        for (size_t k = 0; k < 2; k++) {
            int64_t v = 0;
            if (cs_cli_msg_int(cs_cli_msg_get(m, nums[k]), &v) == 0 && v != 0 &&
                used < sizeof flags) {
                used += (size_t)snprintf(flags + used, sizeof flags - used, "%s%s=%" PRId64,
                                         used > 0 ? " " : "", nums[k], v);
            }
        }
        const char *code = s_text(m, "code", a);
        const char *row[3] = {code[0] ? code : "(none)", flags, s_text(m, "title", b)};
        cs_cli_table_add(t, row);
    }
    s_print_table(cli, t, 0);
    cs_cli_table_destroy(&t);
}

void cs_cli_render_releases(const cs_cli_t *cli, const msgpack_object *reply)
{
    const msgpack_object *list = cs_cli_msg_get(reply, "releases");
    uint32_t n = cs_cli_msg_is(list, MSGPACK_OBJECT_ARRAY) ? list->via.array.size : 0;
    if (n == 0) {
        fputs("no releases\n", cli->out);
        return;
    }
    static const char *const keys[] = {"system", "release", "effective_from", "effective_to",
                                       "status", "codes", "billable", "loaded_at"};
    static const char *const head[] = {"system", "release", "from", "to",
                                       "status", "codes", "billable", "loaded at"};
    enum { NK = sizeof keys / sizeof keys[0] };
    cs_cli_table_t *t = cs_cli_table_new(NK);
    if (t == NULL) {
        return;
    }
    cs_cli_table_header(t, head);
    static char cells[NK][S_CELL];
    const char *row[NK];
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object *m = &list->via.array.ptr[i];
        for (size_t k = 0; k < NK; k++) {
            const msgpack_object *v = cs_cli_msg_get(m, keys[k]);
            row[k] = cs_cli_msg_text(v, cells[k], S_CELL);
            if (strcmp(keys[k], "effective_to") == 0 && (v == NULL ||
                                                         v->type == MSGPACK_OBJECT_NIL)) {
                row[k] = "-";
            }
            /* the reply carries unix seconds; people read a UTC date and time */
            if (strcmp(keys[k], "loaded_at") == 0 &&
                cs_cli_msg_is(v, MSGPACK_OBJECT_POSITIVE_INTEGER)) {
                time_t when = (time_t)v->via.u64;
                struct tm tm;
                if (gmtime_r(&when, &tm) &&
                    strftime(cells[k], S_CELL, "%Y-%m-%d %H:%M UTC", &tm) > 0) {
                    row[k] = cells[k];
                }
            }
        }
        /* a map set holds crosswalk rows, not codes: show its rows in the codes column */
        const msgpack_object *maps = cs_cli_msg_get(m, "maps");
        if (cs_cli_msg_is(maps, MSGPACK_OBJECT_ARRAY) && maps->via.array.size > 0) {
            int64_t rows = 0;
            for (uint32_t j = 0; j < maps->via.array.size; j++) {
                int64_t r = 0;
                if (cs_cli_msg_int(cs_cli_msg_get(&maps->via.array.ptr[j], "rows"), &r) == 0) {
                    rows += r;
                }
            }
            snprintf(cells[5], S_CELL, "%" PRId64 " rows", rows);
            row[5] = cells[5];
            row[6] = "-";
        }
        cs_cli_table_add(t, row);
        cs_cli_table_color(t, 4, strcmp(row[4], "active") == 0 ? CS_CLI_GREEN : CS_CLI_YELLOW);
    }
    s_print_table(cli, t, 0);
    cs_cli_table_destroy(&t);
}

/* An edit set's diff: each list's added, deleted and changed rows (code and the row's data). */
static void s_render_set_diff(const cs_cli_t *cli, const msgpack_object *lists)
{
    static const char *const kinds[] = {"added", "deleted", "changed"};
    for (uint32_t i = 0; i < lists->via.array.size; i++) {
        const msgpack_object *l = &lists->via.array.ptr[i];
        char name[64], sys[32], total[64], title[160];
        cs_cli_msg_text(cs_cli_msg_get(l, "list"), name, sizeof name);
        cs_cli_msg_text(cs_cli_msg_get(l, "system"), sys, sizeof sys);
        fprintf(cli->out, "list %s (%s):\n", name, sys);
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
            cs_cli_msg_text(cs_cli_msg_get(cs_cli_msg_get(l, "counts"), kinds[k]), total,
                            sizeof total);
            snprintf(title, sizeof title, "%s, %s in all", kinds[k], total);
            static const char *const rows[] = {"code", "data"};
            static const char *const changes[] = {"code", "old_data", "new_data"};
            int chg = strcmp(kinds[k], "changed") == 0;
            s_render_list(cli, title, cs_cli_msg_get(l, kinds[k]), chg ? changes : rows,
                          chg ? 3 : 2, 2);
        }
    }
}

void cs_cli_render_diff(const cs_cli_t *cli, const msgpack_object *reply)
{
    const msgpack_object *sets = cs_cli_msg_get(reply, "lists");
    if (cs_cli_msg_is(sets, MSGPACK_OBJECT_ARRAY)) {
        s_render_set_diff(cli, sets);
        return;
    }
    const msgpack_object *counts = cs_cli_msg_get(reply, "counts");
    static const char *const lists[] = {"added", "deleted", "revised", "billable_changed"};
    char total[64];
    char title[128];
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        const msgpack_object *list = cs_cli_msg_get(reply, lists[i]);
        if (!cs_cli_msg_is(list, MSGPACK_OBJECT_ARRAY)) {
            continue;
        }
        cs_cli_msg_text(cs_cli_msg_get(counts, lists[i]), total, sizeof total);
        if (total[0] != '\0') {
            snprintf(title, sizeof title, "%s, %s in all", lists[i], total);
        } else {
            snprintf(title, sizeof title, "%s", lists[i]);
        }
        if (strcmp(lists[i], "revised") == 0) {
            static const char *const keys[] = {"code", "old_title", "new_title"};
            s_render_list(cli, title, list, keys, 3, 0);
        } else if (strcmp(lists[i], "billable_changed") == 0) {
            static const char *const keys[] = {"code", "became", "title"};
            s_render_list(cli, title, list, keys, 3, 0);
        } else {
            static const char *const keys[] = {"code", "title"};
            s_render_list(cli, title, list, keys, 2, 0);
        }
    }
}
