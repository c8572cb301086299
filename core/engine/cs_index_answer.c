/* cs_index_answer.c: the index op's reply (docs/PROTOCOL.md, index) from a cs_index.h result.
 * Written through the result interface (engine/cs_out.h), whatever the encoding. */
#include "engine/cs_index_answer.h"

#include <stdlib.h>
#include <string.h>

#include "engine/cs_index.h"

static void s_pack_code(cs_out_t *out, const cs_index_code_t *c)
{
    int needs_7th = c->state == CS_INDEX_NEEDS_7TH;
    int hint = c->n_hint && !needs_7th; /* chars says it all, in a third of the bytes */
    uint32_t n = 3 + (c->col ? 2 : 0) + (c->code ? 1 : 0) + (c->title ? 1 : 0) +
                 (needs_7th ? 1 : 0) + (c->placeholder ? 1 : 0) + (hint ? 1 : 0);
    cs_out_map(out, n);
    cs_out_kv_str(out, "name", c->name);
    if (c->col) {
        cs_out_kv_int(out, "col", c->col);
        cs_out_kv_str(out, "head", c->head ? c->head : "");
    }
    cs_out_kv_str(out, "text", c->text);
    cs_out_kv_str(out, "state", cs_index_state_name(c->state));
    if (c->code) {
        cs_out_kv_str(out, "code", c->code);
    }
    if (c->title) {
        cs_out_kv_str(out, "title", c->title);
    }
    if (needs_7th) {
        cs_out_cstr(out, "chars");
        size_t k = strlen(c->chars);
        cs_out_array(out, (uint32_t)k);
        for (size_t i = 0; i < k; i++) {
            cs_out_strn(out, &c->chars[i], 1);
        }
    }
    if (c->placeholder) {
        cs_out_kv_str(out, "placeholder", c->placeholder);
    }
    if (hint) {
        cs_out_cstr(out, "hint");
        cs_out_array(out, c->n_hint);
        for (uint32_t i = 0; i < c->n_hint; i++) {
            cs_out_cstr(out, c->hint[i]);
        }
    }
}

static void s_pack_row(cs_out_t *out, const cs_index_row_t *row, int scored, int tables)
{
    uint32_t n = 6 + (tables ? 1 : 0) + (row->nemod ? 1 : 0) + (row->see ? 1 : 0) +
                 (row->see_also ? 1 : 0) + (row->warning ? 1 : 0) + (scored && !row->via ? 1 : 0) +
                 (row->via ? 4 : 0);
    cs_out_map(out, n);
    cs_out_kv_str(out, "key", row->key);
    if (tables) {
        cs_out_kv_str(out, "table", cs_index_table_name(row->table));
    }
    cs_out_kv_str(out, "kind", row->kind);
    cs_out_kv_str(out, "title", row->title);
    cs_out_cstr(out, "path");
    cs_out_array(out, row->n_path);
    for (uint32_t i = 0; i < row->n_path; i++) {
        cs_out_cstr(out, row->path[i]);
    }
    if (row->nemod) {
        cs_out_kv_str(out, "nemod", row->nemod);
    }
    if (row->see) {
        cs_out_kv_str(out, "see", row->see);
    }
    if (row->see_also) {
        cs_out_kv_str(out, "see_also", row->see_also);
    }
    if (row->warning) {
        cs_out_kv_str(out, "warning", row->warning);
    }
    cs_out_kv_bool(out, "subterms", row->has_subterms);
    if (scored && !row->via) {
        cs_out_kv_int(out, "score", row->score);
    }
    if (row->via) {
        cs_out_kv_str(out, "via", row->via);
        cs_out_kv_str(out, "from", row->from);
        cs_out_kv_str(out, "ref", row->ref);
        cs_out_kv_bool(out, "partial", row->partial);
    }
    cs_out_cstr(out, "codes");
    cs_out_array(out, row->n_items);
    for (uint32_t i = 0; i < row->n_items; i++) {
        s_pack_code(out, &row->items[i]);
    }
}

static void s_pack_result(cs_out_t *out, const cs_request_t *req,
                          const cs_index_result_t *res)
{
    uint32_t n_cols = 0;
    for (int c = 1; c <= CS_INDEX_MAX_COLS && res->heads[c]; c++) {
        n_cols = (uint32_t)c;
    }
    uint32_t n = 6 + (n_cols ? 1 : 0) + (res->by_path ? 2 : 0) + (req->follow ? 1 : 0);
    cs_reply_begin(out, req, 1, n);
    cs_out_kv_str(out, "release", res->set_label);
    cs_out_cstr(out, "tabular");
    if (res->tabular_label[0]) {
        cs_out_cstr(out, res->tabular_label);
    } else {
        cs_out_nil(out);
    }
    cs_out_kv_str(out, "table", cs_index_table_name(res->table));
    cs_out_kv_str(out, "title", res->table_title);
    if (n_cols) {
        cs_out_cstr(out, "columns");
        cs_out_array(out, n_cols);
        for (uint32_t c = 1; c <= n_cols; c++) {
            cs_out_cstr(out, res->heads[c] ? res->heads[c] : "");
        }
    }
    cs_out_kv_int(out, "total", (int64_t)res->total);
    if (res->by_path) {
        cs_out_kv_bool(out, "found", res->matched == (req->code.len ? 1 : req->n_path));
        cs_out_kv_int(out, "matched", res->matched);
    }
    int scored = !res->by_path && req->q.len > 0;
    cs_out_cstr(out, "rows");
    cs_out_array(out, (uint32_t)res->n_rows);
    for (size_t i = 0; i < res->n_rows; i++) {
        /* a followed row of another table (the Neoplasm Table) says which */
        s_pack_row(out, &res->rows[i], scored, res->rows[i].table != res->table);
    }
    if (req->follow) {
        cs_out_cstr(out, "unfollowed");
        cs_out_array(out, (uint32_t)res->n_unfollowed);
        for (size_t i = 0; i < res->n_unfollowed; i++) {
            const cs_index_unfollowed_t *u = &res->unfollowed[i];
            cs_out_map(out, 4);
            cs_out_kv_str(out, "from", u->from);
            cs_out_kv_str(out, "via", u->via);
            cs_out_kv_str(out, "ref", u->ref);
            cs_out_kv_str(out, "why", u->why);
        }
    }
}

cs_proto_err_t cs_index_answer(cs_store_t *store, cs_reader_t *r,
                               const cs_plugin_host_t *plugins, const cs_request_t *req,
                               cs_out_t *out)
{
    cs_str_t path[CS_INDEX_MAX_LEVEL + 1];
    uint32_t n_path = req->n_path < CS_INDEX_MAX_LEVEL + 1 ? req->n_path : CS_INDEX_MAX_LEVEL + 1;
    for (uint32_t i = 0; i < n_path; i++) {
        path[i] = cs_request_path_at(req, i);
    }
    cs_index_query_t q = {
        .system = req->system,
        .table = req->table,
        .release = req->release,
        .date = req->has_date ? req->date : 0,
        .q = req->q.ptr,
        .q_len = req->q.len,
        .path = n_path ? path : NULL,
        .n_path = n_path,
        .key = req->code,
        .follow = req->follow,
        .limit = req->limit > 0 ? (uint32_t)req->limit : 0,
        .offset = req->offset > 0 ? (uint64_t)req->offset : 0,
    };
    cs_index_result_t *res = calloc(1, sizeof *res);
    if (!res) {
        cs_reply_error(out, req, CS_PERR_INTERNAL, "out of memory answering index");
        return CS_PERR_INTERNAL;
    }
    cs_proto_err_t e = cs_index_run(r, store, plugins, &q, res);
    if (e != CS_PERR_NONE) {
        cs_reply_error(out, req, e, res->msg);
    } else {
        s_pack_result(out, req, res);
    }
    cs_index_result_free(res);
    free(res);
    return e;
}

void cs_index_source_write(void *arg, cs_out_t *out)
{
    const cs_index_source_t *src = arg;
    const cs_request_t *req = src->req;
    cs_index_query_t q = {
        .system = req->system,
        .all = 1,
        .date = req->has_date ? req->date : 0,
        .q = req->q.ptr,
        .q_len = req->q.len,
        .limit = req->limit > 0 ? (uint32_t)req->limit : 0,
    };
    cs_index_result_t *res = calloc(1, sizeof *res);
    cs_proto_err_t e = res ? cs_index_run(src->r, src->store, src->plugins, &q, res)
                           : CS_PERR_INTERNAL;
    if (e != CS_PERR_NONE) {
        cs_out_map(out, 4);
        cs_out_kv_str(out, "release", NULL);
        cs_out_kv_int(out, "total", 0);
        cs_out_cstr(out, "rows");
        cs_out_array(out, 0);
        cs_out_kv_str(out, "message", res ? res->msg : "out of memory");
    } else {
        cs_out_map(out, 3);
        cs_out_kv_str(out, "release", res->set_label);
        cs_out_kv_int(out, "total", (int64_t)res->total);
        cs_out_cstr(out, "rows");
        cs_out_array(out, (uint32_t)res->n_rows);
        for (size_t i = 0; i < res->n_rows; i++) {
            s_pack_row(out, &res->rows[i], 1, 1);
        }
    }
    if (res) {
        cs_index_result_free(res);
        free(res);
    }
}
