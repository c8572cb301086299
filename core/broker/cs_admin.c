/* cs_admin.c: the admin ops (load, job, cancel, retire, drop, plugins), answered on the
 * broker's thread from its load jobs and plugins (cs_op.h). Loads run on the load thread
 * (cs_load.h): these handlers only start, report, cancel, retire and drop. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "engine/cs_op.h"
#include "load/cs_load.h"
#include "load/cs_plugin_host.h"

/* Copy a wire string into a C string; 0 if it does not fit. */
static int s_cstr(cs_str_t s, char *out, size_t cap)
{
    if (s.len >= cap) {
        return 0;
    }
    memcpy(out, s.ptr, s.len);
    out[s.len] = '\0';
    return 1;
}

cs_proto_err_t cs_op_load(cs_op_ctx_t *ctx, const cs_request_t *req, cs_out_t *out)
{
    char files_buf[CS_PROTO_MAX_FILES][PATH_MAX];
    const char *files[CS_PROTO_MAX_FILES];
    for (uint32_t i = 0; i < req->n_files; i++) {
        if (!s_cstr(cs_request_file_at(req, i), files_buf[i], sizeof files_buf[i])) {
            cs_reply_error(out, req, CS_PERR_BAD_REQUEST, "a file path is too long");
            return CS_PERR_BAD_REQUEST;
        }
        files[i] = files_buf[i];
    }
    cs_error_t err;
    cs_error_clear(&err);
    const cs_plugin_desc_t *loader;
    if (req->loader.len) {
        loader = cs_plugin_host_loader(ctx->plugins, req->loader.ptr, req->loader.len);
        if (!loader) {
            char msg[256];
            snprintf(msg, sizeof msg, "no loader '%.*s' is loaded (see the plugins op)",
                     (int)(req->loader.len > 64 ? 64 : req->loader.len), req->loader.ptr);
            cs_reply_error(out, req, CS_PERR_BAD_REQUEST, msg);
            return CS_PERR_BAD_REQUEST;
        }
    } else {
        loader = NULL; /* sniffed on the load thread: no file is read on this one */
    }
    char label[64];
    char system[32];
    if (!s_cstr(req->release, label, sizeof label)) {
        cs_reply_error(out, req, CS_PERR_BAD_REQUEST, "the release label is too long");
        return CS_PERR_BAD_REQUEST;
    }
    if (req->system.len && !s_cstr(req->system, system, sizeof system)) {
        cs_reply_error(out, req, CS_PERR_BAD_REQUEST, "the system id is too long");
        return CS_PERR_BAD_REQUEST;
    }
    cs_load_spec_t spec = {
        .loader = loader,
        .system = req->system.len ? system : NULL,
        .label = label,
        .effective_from = req->effective_from,
        .files = files,
        .n_files = req->n_files,
    };
    char id[CS_JOB_ID_MAX];
    int rc = cs_jobs_start(ctx->jobs, &spec, id, &err);
    if (rc == CS_EEXIST) {
        cs_reply_error(out, req, CS_PERR_BUSY, err.msg);
        return CS_PERR_BUSY;
    }
    if (rc != CS_OK) {
        cs_reply_error(out, req, CS_PERR_LOAD_FAILED, err.msg);
        return CS_PERR_LOAD_FAILED;
    }
    cs_reply_begin(out, req, 1, loader ? 2 : 1);
    cs_out_kv_str(out, "job", id);
    if (loader) {
        cs_out_kv_str(out, "loader", loader->name);
    }
    return CS_PERR_NONE;
}

static cs_proto_err_t s_retire_or_drop(cs_op_ctx_t *ctx, const cs_request_t *req,
                                       cs_out_t *out, int drop)
{
    char system[32], label[64];
    if (!s_cstr(req->system, system, sizeof system) ||
        !s_cstr(req->release, label, sizeof label)) {
        cs_reply_error(out, req, CS_PERR_BAD_REQUEST, "the system id or release is too long");
        return CS_PERR_BAD_REQUEST;
    }
    uint64_t codes = 0;
    cs_error_t err;
    cs_error_clear(&err);
    int rc = cs_jobs_retire_or_drop(ctx->jobs, system, label, drop, &codes, &err);
    cs_proto_err_t e = rc == CS_OK         ? CS_PERR_NONE
                       : rc == CS_EEXIST   ? CS_PERR_BUSY
                       : rc == CS_ENOTFOUND ? CS_PERR_UNKNOWN_RELEASE
                                           : CS_PERR_INTERNAL;
    if (e != CS_PERR_NONE) {
        cs_reply_error(out, req, e, err.msg);
        return e;
    }
    cs_reply_begin(out, req, 1, drop ? 3 : 2);
    cs_out_kv_str(out, "system", system);
    cs_out_kv_str(out, "release", label);
    if (drop) {
        cs_out_kv_int(out, "codes", (int64_t)codes);
    }
    return CS_PERR_NONE;
}

cs_proto_err_t cs_op_retire(cs_op_ctx_t *ctx, const cs_request_t *req, cs_out_t *out)
{
    return s_retire_or_drop(ctx, req, out, 0);
}

cs_proto_err_t cs_op_drop(cs_op_ctx_t *ctx, const cs_request_t *req, cs_out_t *out)
{
    return s_retire_or_drop(ctx, req, out, 1);
}

static const char *s_state_name(cs_job_state_t s)
{
    switch (s) {
    case CS_JOB_RUNNING: return "running";
    case CS_JOB_DONE: return "done";
    default: return "failed";
    }
}

cs_proto_err_t cs_op_job(cs_op_ctx_t *ctx, const cs_request_t *req, cs_out_t *out)
{
    cs_job_status_t st;
    if (cs_jobs_status(ctx->jobs, req->job.ptr, req->job.len, &st) != CS_OK) {
        cs_reply_error(out, req, CS_PERR_BAD_REQUEST, "no such job");
        return CS_PERR_BAD_REQUEST;
    }
    int failed = st.state == CS_JOB_FAILED, lists = st.lists[0] != '\0';
    cs_reply_begin(out, req, 1, 11 + (failed ? 2 : 0) + (lists ? 1 : 0));
    cs_out_kv_str(out, "job", st.id);
    cs_out_kv_str(out, "state", s_state_name(st.state));
    cs_out_kv_int(out, "bytes_done", (int64_t)st.bytes_done);
    cs_out_kv_int(out, "bytes_total", (int64_t)st.bytes_total);
    cs_out_kv_int(out, "records", (int64_t)st.records);
    cs_out_kv_int(out, "codes", (int64_t)st.codes);
    cs_out_kv_int(out, "billable", (int64_t)st.billable);
    cs_out_cstr(out, "seconds");
    cs_out_f64(out, st.seconds);
    cs_out_kv_str(out, "system", st.system);
    cs_out_kv_str(out, "release", st.label);
    cs_out_kv_str(out, "loader", st.loader[0] ? st.loader : NULL);
    if (lists) {
        cs_out_kv_str(out, "lists", st.lists); /* an edit set's rows against their releases */
    }
    if (failed) {
        cs_out_kv_bool(out, "cancelled", st.cancelled);
        cs_out_cstr(out, "error");
        cs_out_map(out, 5);
        cs_out_kv_str(out, "code", "load_failed");
        cs_out_kv_str(out, "message", st.error.msg);
        cs_out_kv_str(out, "file", st.error.file[0] ? st.error.file : NULL);
        cs_out_kv_int(out, "line", st.error.line);
        cs_out_kv_int(out, "column", st.error.column);
    }
    return CS_PERR_NONE;
}

cs_proto_err_t cs_op_cancel(cs_op_ctx_t *ctx, const cs_request_t *req, cs_out_t *out)
{
    cs_job_status_t st;
    cs_error_t err;
    cs_error_clear(&err);
    if (cs_jobs_cancel(ctx->jobs, req->job.ptr, req->job.len, &st, &err) != CS_OK) {
        cs_reply_error(out, req, CS_PERR_BAD_REQUEST, err.msg);
        return CS_PERR_BAD_REQUEST;
    }
    cs_reply_begin(out, req, 1, 2);
    cs_out_kv_str(out, "job", st.id);
    cs_out_kv_str(out, "state", "cancelling");
    return CS_PERR_NONE;
}

cs_proto_err_t cs_op_plugins(cs_op_ctx_t *ctx, const cs_request_t *req, cs_out_t *out)
{
    size_t n = cs_plugin_host_count(ctx->plugins);
    cs_reply_begin(out, req, 1, 1);
    cs_out_cstr(out, "plugins");
    cs_out_array(out, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        const cs_plugin_desc_t *p = cs_plugin_host_at(ctx->plugins, i);
        int loader = p->kind == CS_PLUGIN_LOADER;
        char abi[32];
        snprintf(abi, sizeof abi, "%u.%u", p->abi_major, p->abi_minor);
        cs_out_map(out, 6 + (loader ? 1 : 0));
        cs_out_kv_str(out, "name", p->name);
        cs_out_kv_str(out, "kind", loader ? "loader" : "system");
        cs_out_kv_str(out, "version", p->version);
        cs_out_kv_str(out, "title", p->title);
        cs_out_kv_str(out, "abi", abi);
        cs_out_kv_str(out, "path", cs_plugin_host_path_at(ctx->plugins, i));
        if (loader) {
            uint32_t ns = 0;
            while (p->loader->systems[ns]) {
                ns++;
            }
            cs_out_cstr(out, "systems");
            cs_out_array(out, ns);
            for (uint32_t s = 0; s < ns; s++) {
                cs_out_cstr(out, p->loader->systems[s]);
            }
        }
    }
    return CS_PERR_NONE;
}
