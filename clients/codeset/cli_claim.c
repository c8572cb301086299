/* cli_claim.c: `codeset claim FILE` (see cli_claim.h). */
#include "cli_claim.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli_msg.h"
#include "cli_table.h"

/* Pack a JSON value as msgpack; skip names one key of the top object ("op"). */
static void s_pack(msgpack_packer *pk, const json_t *v, const char *skip)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        size_t n = json_object_size(v);
        if (skip && json_object_get(v, skip)) {
            n--;
        }
        msgpack_pack_map(pk, n);
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) {
            if (skip && strcmp(k, skip) == 0) {
                continue;
            }
            cs_cli_pack_str(pk, k);
            s_pack(pk, x, NULL);
        }
        break;
    }
    case JSON_ARRAY: {
        msgpack_pack_array(pk, json_array_size(v));
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) {
            s_pack(pk, x, "op");
        }
        break;
    }
    case JSON_STRING:
        msgpack_pack_str(pk, json_string_length(v));
        msgpack_pack_str_body(pk, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER: msgpack_pack_int64(pk, json_integer_value(v)); break;
    case JSON_REAL: msgpack_pack_double(pk, json_real_value(v)); break;
    case JSON_TRUE: msgpack_pack_true(pk); break;
    case JSON_FALSE: msgpack_pack_false(pk); break;
    default: msgpack_pack_nil(pk); break;
    }
}

/* Split a CSV line in place at commas (a field may be quoted, with "" for a quote); at most
 * max fields. Returns how many. */
static int s_csv_split(char *line, char **f, int max)
{
    int n = 0;
    char *p = line;
    while (n < max) {
        char *out = p;
        f[n++] = p;
        int quoted = *p == '"';
        char *r = quoted ? p + 1 : p;
        for (; *r && (quoted || *r != ','); r++) {
            if (quoted && *r == '"' && r[1] == '"') {
                *out++ = '"';
                r++;
            } else if (quoted && *r == '"') {
                quoted = 0;
            } else {
                *out++ = *r;
            }
        }
        int more = *r == ',';
        *out = '\0';
        if (!more) {
            break;
        }
        p = r + 1;
    }
    return n;
}

/* What a CSV column holds: the claim's date, setting, age or sex, a diagnosis (dx...), the
 * POA of the diagnosis before it (poa...), or a procedure of the system it names
 * (icd10pcs..., hcpcs..., cpt...); anything else (claim_id) is left out. */
static json_t *s_csv_claim(char **head, char **f, int n)
{
    json_t *c = json_object(), *dx = json_array(), *px = json_array(), *patient = json_object();
    for (int i = 0; i < n; i++) {
        const char *h = head[i], *v = f[i];
        if (!*v) {
            continue;
        }
        if (strcmp(h, "date") == 0 || strcmp(h, "setting") == 0) {
            json_object_set_new(c, h, json_string(v));
        } else if (strcmp(h, "age") == 0) {
            json_object_set_new(patient, "age", json_integer(strtol(v, NULL, 10)));
        } else if (strcmp(h, "sex") == 0) {
            json_object_set_new(patient, "sex", json_string(v));
        } else if (strncmp(h, "dx", 2) == 0) {
            json_array_append_new(dx, json_pack("{ss}", "code", v));
        } else if (strncmp(h, "poa", 3) == 0 && json_array_size(dx) > 0) {
            json_object_set_new(json_array_get(dx, json_array_size(dx) - 1), "poa",
                                json_string(v));
        } else {
            static const char *const systems[] = {"icd10pcs", "hcpcs", "cpt"};
            for (size_t k = 0; k < 3; k++) {
                if (strncmp(h, systems[k], strlen(systems[k])) == 0) {
                    json_array_append_new(px, json_pack("{ssss}", "system", systems[k], "code",
                                                        v));
                }
            }
        }
    }
    json_object_set_new(c, "diagnoses", dx);
    if (json_array_size(px)) {
        json_object_set_new(c, "procedures", px);
    } else {
        json_decref(px);
    }
    if (json_object_size(patient)) {
        json_object_set_new(c, "patient", patient);
    } else {
        json_decref(patient);
    }
    return c;
}

/* A CSV of claims, one a line after a header row naming the columns, as a JSON array. */
static json_t *s_csv(const char *path, char *err, size_t cap)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        snprintf(err, cap, "%s: cannot open it", path);
        return NULL;
    }
    static char head_line[4096], line[4096];
    char *head[64], *f[64];
    int nh = 0;
    json_t *all = json_array();
    if (fgets(head_line, sizeof head_line, fp)) {
        head_line[strcspn(head_line, "\r\n")] = '\0';
        nh = s_csv_split(head_line, head, 64);
    }
    for (unsigned lineno = 2; nh > 0 && fgets(line, sizeof line, fp); lineno++) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0') {
            continue;
        }
        int n = s_csv_split(line, f, 64);
        if (n > nh) {
            snprintf(err, cap, "%s:%u: %d fields, but the header names %d", path, lineno, n, nh);
            json_decref(all);
            all = NULL;
            break;
        }
        json_array_append_new(all, s_csv_claim(head, f, n));
    }
    fclose(fp);
    if (all && nh == 0) {
        snprintf(err, cap, "%s: no header row (date, setting, age, sex, dx..., poa..., "
                 "icd10pcs..., hcpcs..., cpt...)", path);
        json_decref(all);
        all = NULL;
    }
    return all;
}

int cs_cli_claim_pack(msgpack_packer *pk, const char *path, char *err, size_t cap)
{
    json_error_t je;
    size_t plen = strlen(path);
    int csv = plen > 4 && strcmp(path + plen - 4, ".csv") == 0;
    json_t *root = csv ? s_csv(path, err, cap) : json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        if (!csv) {
            snprintf(err, cap, "%s:%d:%d: %s", path, je.line, je.column, je.text);
        }
        return -1;
    }
    int rc = 0;
    if (json_is_object(root)) {
        size_t n = json_object_size(root) - (json_object_get(root, "op") ? 1 : 0);
        msgpack_pack_map(pk, n + 1);
        cs_cli_pack_kv_str(pk, "op", "claim");
        const char *k;
        json_t *x;
        json_object_foreach(root, k, x) {
            if (strcmp(k, "op") != 0) {
                cs_cli_pack_str(pk, k);
                s_pack(pk, x, NULL);
            }
        }
    } else if (json_is_array(root)) {
        msgpack_pack_map(pk, 2);
        cs_cli_pack_kv_str(pk, "op", "claims");
        cs_cli_pack_str(pk, "claims");
        s_pack(pk, root, NULL);
    } else {
        snprintf(err, cap, "%s: a claim is a JSON object, a batch an array of them", path);
        rc = -1;
    }
    json_decref(root);
    return rc;
}

static int s_unclean(const msgpack_object *claim)
{
    return !cs_cli_msg_true(cs_cli_msg_get(claim, "ok")) ||
           !cs_cli_msg_true(cs_cli_msg_get(claim, "clean"));
}

size_t cs_cli_claim_unclean(const msgpack_object *root)
{
    const msgpack_object *res = cs_cli_msg_get(root, "results");
    if (!cs_cli_msg_is(res, MSGPACK_OBJECT_ARRAY)) {
        return (size_t)s_unclean(root);
    }
    size_t n = 0;
    for (uint32_t i = 0; i < res->via.array.size; i++) {
        n += (size_t)s_unclean(&res->via.array.ptr[i]);
    }
    return n;
}

/* The items of array key of map m, joined with ", " into buf. */
static const char *s_join(const msgpack_object *m, const char *key, char *buf, size_t cap)
{
    const msgpack_object *a = cs_cli_msg_get(m, key);
    size_t at = 0;
    buf[0] = '\0';
    for (uint32_t i = 0; cs_cli_msg_is(a, MSGPACK_OBJECT_ARRAY) && i < a->via.array.size; i++) {
        char one[64];
        const msgpack_object *x = &a->via.array.ptr[i];
        int64_t v;
        if (cs_cli_msg_int(x, &v) == 0) {
            snprintf(one, sizeof one, "%" PRId64, v);
        } else {
            cs_cli_msg_text(x, one, sizeof one);
        }
        at += (size_t)snprintf(buf + at, at < cap ? cap - at : 0, "%s%s", i ? ", " : "", one);
    }
    return buf;
}

/* A table of the maps of array key, with the columns cols (their keys), under title. */
static void s_table(const cs_cli_t *cli, const msgpack_object *claim, const char *key,
                    const char *const *cols, size_t ncols, const char *title)
{
    const msgpack_object *a = cs_cli_msg_get(claim, key);
    if (!cs_cli_msg_is(a, MSGPACK_OBJECT_ARRAY) || a->via.array.size == 0) {
        return;
    }
    cs_cli_table_t *t = cs_cli_table_new(ncols);
    if (!t) {
        return;
    }
    cs_cli_table_header(t, cols);
    for (uint32_t i = 0; i < a->via.array.size; i++) {
        char cells[6][1024];
        const char *row[6];
        for (size_t c = 0; c < ncols && c < 6; c++) {
            const msgpack_object *m = &a->via.array.ptr[i];
            if (strcmp(cols[c], "lines") == 0 || strcmp(cols[c], "codes") == 0) {
                s_join(m, cols[c], cells[c], sizeof cells[c]);
            } else {
                cs_cli_msg_text(cs_cli_msg_get(m, cols[c]), cells[c], sizeof cells[c]);
            }
            row[c] = cells[c];
        }
        cs_cli_table_add(t, row);
    }
    fprintf(cli->out, "%s\n", title);
    cs_cli_table_print_indent(t, cli->out, cli->color, 2);
    cs_cli_table_destroy(&t);
}

static void s_one(const cs_cli_t *cli, const msgpack_object *claim, long index)
{
    char head[64] = "claim";
    if (index >= 0) {
        snprintf(head, sizeof head, "claim %ld", index + 1);
    }
    if (!cs_cli_msg_true(cs_cli_msg_get(claim, "ok"))) {
        const msgpack_object *e = cs_cli_msg_get(claim, "error");
        char code[64], msg[512];
        cs_cli_msg_text(cs_cli_msg_get(e, "code"), code, sizeof code);
        cs_cli_msg_text(cs_cli_msg_get(e, "message"), msg, sizeof msg);
        fprintf(cli->out, "%s: %s: %s\n", head, code, msg);
        return;
    }
    const msgpack_object *rel = cs_cli_msg_get(claim, "releases");
    fprintf(cli->out, "%s: %s", head, s_unclean(claim) ? "NOT CLEAN" : "clean");
    for (uint32_t i = 0; cs_cli_msg_is(rel, MSGPACK_OBJECT_MAP) && i < rel->via.map.size; i++) {
        char k[40], v[72];
        cs_cli_msg_text(&rel->via.map.ptr[i].key, k, sizeof k);
        cs_cli_msg_text(&rel->via.map.ptr[i].val, v, sizeof v);
        fprintf(cli->out, "%s%s %s", i ? ", " : " (", k, v);
    }
    fprintf(cli->out, "%s\n", cs_cli_msg_is(rel, MSGPACK_OBJECT_MAP) && rel->via.map.size ? ")"
                                                                                         : "");
    static const char *const ecols[] = {"severity", "edit", "lines", "codes", "message"};
    static const char *const scols[] = {"edit", "why"};
    s_table(cli, claim, "edits", ecols, 5, "edits:");
    s_table(cli, claim, "skipped", scols, 2, "skipped:");
}

size_t cs_cli_claim_render(const cs_cli_t *cli, const msgpack_object *root)
{
    const msgpack_object *res = cs_cli_msg_get(root, "results");
    if (!cs_cli_msg_is(res, MSGPACK_OBJECT_ARRAY)) {
        s_one(cli, root, -1);
    }
    for (uint32_t i = 0; cs_cli_msg_is(res, MSGPACK_OBJECT_ARRAY) && i < res->via.array.size;
         i++) {
        s_one(cli, &res->via.array.ptr[i], (long)i);
    }
    return cs_cli_claim_unclean(root);
}
