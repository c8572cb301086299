/* cs_index_answer.c: the index op's reply (docs/PROTOCOL.md, index) from a cs_index.h result.
 * Packs msgpack for now; it moves to the result interface (engine/cs_out.h) with the other
 * handlers. */
#include "engine/cs_index_answer.h"

#include <stdlib.h>
#include <string.h>

#include "engine/cs_index.h"

static void s_pack_code(msgpack_packer *pk, const cs_index_code_t *c)
{
    int needs_7th = c->state == CS_INDEX_NEEDS_7TH;
    uint32_t n = 3 + (c->col ? 2 : 0) + (c->code ? 1 : 0) + (c->title ? 1 : 0) +
                 (needs_7th ? 1 : 0) + (c->placeholder ? 1 : 0) + (c->n_hint ? 1 : 0);
    msgpack_pack_map(pk, n);
    cs_pack_kv_str(pk, "name", c->name);
    if (c->col) {
        cs_pack_kv_int(pk, "col", c->col);
        cs_pack_kv_str(pk, "head", c->head ? c->head : "");
    }
    cs_pack_kv_str(pk, "text", c->text);
    cs_pack_kv_str(pk, "state", cs_index_state_name(c->state));
    if (c->code) {
        cs_pack_kv_str(pk, "code", c->code);
    }
    if (c->title) {
        cs_pack_kv_str(pk, "title", c->title);
    }
    if (needs_7th) {
        cs_pack_cstr(pk, "chars");
        size_t k = strlen(c->chars);
        msgpack_pack_array(pk, (uint32_t)k);
        for (size_t i = 0; i < k; i++) {
            cs_pack_strn(pk, &c->chars[i], 1);
        }
    }
    if (c->placeholder) {
        cs_pack_kv_str(pk, "placeholder", c->placeholder);
    }
    if (c->n_hint) {
        cs_pack_cstr(pk, "hint");
        msgpack_pack_array(pk, c->n_hint);
        for (uint32_t i = 0; i < c->n_hint; i++) {
            cs_pack_cstr(pk, c->hint[i]);
        }
    }
}

static void s_pack_row(msgpack_packer *pk, const cs_index_row_t *row, int scored)
{
    uint32_t n = 6 + (row->nemod ? 1 : 0) + (row->see ? 1 : 0) + (row->see_also ? 1 : 0) +
                 (row->warning ? 1 : 0) + (scored && !row->via ? 1 : 0) + (row->via ? 3 : 0);
    msgpack_pack_map(pk, n);
    cs_pack_kv_str(pk, "key", row->key);
    cs_pack_kv_str(pk, "kind", row->kind);
    cs_pack_kv_str(pk, "title", row->title);
    cs_pack_cstr(pk, "path");
    msgpack_pack_array(pk, row->n_path);
    for (uint32_t i = 0; i < row->n_path; i++) {
        cs_pack_cstr(pk, row->path[i]);
    }
    if (row->nemod) {
        cs_pack_kv_str(pk, "nemod", row->nemod);
    }
    if (row->see) {
        cs_pack_kv_str(pk, "see", row->see);
    }
    if (row->see_also) {
        cs_pack_kv_str(pk, "see_also", row->see_also);
    }
    if (row->warning) {
        cs_pack_kv_str(pk, "warning", row->warning);
    }
    cs_pack_kv_bool(pk, "subterms", row->has_subterms);
    if (scored && !row->via) {
        cs_pack_kv_int(pk, "score", row->score);
    }
    if (row->via) {
        cs_pack_kv_str(pk, "via", row->via);
        cs_pack_kv_str(pk, "from", row->from);
        cs_pack_kv_str(pk, "ref", row->ref);
    }
    cs_pack_cstr(pk, "codes");
    msgpack_pack_array(pk, row->n_items);
    for (uint32_t i = 0; i < row->n_items; i++) {
        s_pack_code(pk, &row->items[i]);
    }
}

static void s_pack_result(msgpack_packer *pk, const cs_request_t *req,
                          const cs_index_result_t *res)
{
    uint32_t n_cols = 0;
    for (int c = 1; c <= CS_INDEX_MAX_COLS && res->heads[c]; c++) {
        n_cols = (uint32_t)c;
    }
    uint32_t n = 6 + (n_cols ? 1 : 0) + (res->by_path ? 2 : 0) + (req->follow ? 1 : 0);
    cs_reply_begin(pk, req, 1, n);
    cs_pack_kv_str(pk, "release", res->set_label);
    cs_pack_cstr(pk, "tabular");
    if (res->tabular_label[0]) {
        cs_pack_cstr(pk, res->tabular_label);
    } else {
        msgpack_pack_nil(pk);
    }
    cs_pack_kv_str(pk, "table", cs_index_table_name(res->table));
    cs_pack_kv_str(pk, "title", res->table_title);
    if (n_cols) {
        cs_pack_cstr(pk, "columns");
        msgpack_pack_array(pk, n_cols);
        for (uint32_t c = 1; c <= n_cols; c++) {
            cs_pack_cstr(pk, res->heads[c] ? res->heads[c] : "");
        }
    }
    cs_pack_kv_int(pk, "total", (int64_t)res->total);
    if (res->by_path) {
        cs_pack_kv_bool(pk, "found", res->matched == (req->code.len ? 1 : req->n_path));
        cs_pack_kv_int(pk, "matched", res->matched);
    }
    int scored = !res->by_path && req->q.len > 0;
    cs_pack_cstr(pk, "rows");
    msgpack_pack_array(pk, (uint32_t)res->n_rows);
    for (size_t i = 0; i < res->n_rows; i++) {
        s_pack_row(pk, &res->rows[i], scored);
    }
    if (req->follow) {
        cs_pack_cstr(pk, "unfollowed");
        msgpack_pack_array(pk, (uint32_t)res->n_unfollowed);
        for (size_t i = 0; i < res->n_unfollowed; i++) {
            const cs_index_unfollowed_t *u = &res->unfollowed[i];
            msgpack_pack_map(pk, 4);
            cs_pack_kv_str(pk, "from", u->from);
            cs_pack_kv_str(pk, "via", u->via);
            cs_pack_kv_str(pk, "ref", u->ref);
            cs_pack_kv_str(pk, "why", u->why);
        }
    }
}

cs_proto_err_t cs_index_answer(cs_store_t *store, cs_reader_t *r,
                               const cs_plugin_host_t *plugins, const cs_request_t *req,
                               msgpack_packer *pk)
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
        cs_reply_error(pk, req, CS_PERR_INTERNAL, "out of memory answering index");
        return CS_PERR_INTERNAL;
    }
    cs_proto_err_t e = cs_index_run(r, store, plugins, &q, res);
    if (e != CS_PERR_NONE) {
        cs_reply_error(pk, req, e, res->msg);
    } else {
        s_pack_result(pk, req, res);
    }
    cs_index_result_free(res);
    free(res);
    return e;
}
