/* cs_request.c: the codec-neutral request: its defaults, accessors and the protocol's names. */
#include "engine/cs_request.h"

#include <string.h>

#include "engine/cs_op.h"

void cs_request_init(cs_request_t *req)
{
    memset(req, 0, sizeof *req);
    req->limit = -1;
}

cs_str_t cs_request_code_at(const cs_request_t *req, uint32_t i)
{
    cs_str_t none = {NULL, 0};
    if (i >= req->n_codes) {
        return none;
    }
    if (req->codes != NULL) {
        return req->codes[i];
    }
    return i == 0 ? req->code : none;
}

cs_str_t cs_request_file_at(const cs_request_t *req, uint32_t i)
{
    cs_str_t none = {NULL, 0};
    if (i >= req->n_files || req->files == NULL) {
        return none;
    }
    return req->files[i];
}

cs_str_t cs_request_path_at(const cs_request_t *req, uint32_t i)
{
    cs_str_t none = {NULL, 0};
    if (i >= req->n_path || req->path == NULL) {
        return none;
    }
    return req->path[i];
}

void cs_request_clamp_limit(cs_request_t *req, uint32_t max)
{
    if (req->op == CS_OP_SEARCH && (req->limit > (int64_t)max || (req->limit < 1 && max < 20))) {
        req->limit = max;
    }
}

static const char *const s_errnames[] = {
    [CS_PERR_NONE] = "none",
    [CS_PERR_BAD_REQUEST] = "bad_request",
    [CS_PERR_UNKNOWN_OP] = "unknown_op",
    [CS_PERR_UNSUPPORTED_VERSION] = "unsupported_version",
    [CS_PERR_UNKNOWN_SYSTEM] = "unknown_system",
    [CS_PERR_UNKNOWN_RELEASE] = "unknown_release",
    [CS_PERR_NO_RELEASE_FOR_DATE] = "no_release_for_date",
    [CS_PERR_TOO_MANY] = "too_many",
    [CS_PERR_FORBIDDEN] = "forbidden",
    [CS_PERR_BUSY] = "busy",
    [CS_PERR_LOAD_FAILED] = "load_failed",
    [CS_PERR_CORRUPT_RELEASE] = "corrupt_release",
    [CS_PERR_INTERNAL] = "internal",
};

const char *cs_str_printable(cs_str_t s, char *buf, size_t cap)
{
    size_t n = s.len < cap - 1 ? s.len : cap - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        buf[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    buf[n] = '\0';
    return buf;
}

const char *cs_proto_opname(cs_op_t op)
{
    if ((unsigned)op >= CS_OP_COUNT_ || op == CS_OP_UNKNOWN) {
        return "unknown";
    }
    return cs_ops[op].name;
}

const char *cs_proto_errname(cs_proto_err_t e)
{
    if ((unsigned)e >= sizeof s_errnames / sizeof s_errnames[0]) {
        return "internal";
    }
    return s_errnames[e];
}

int cs_proto_op_is_admin(cs_op_t op)
{
    return (unsigned)op < CS_OP_COUNT_ && (cs_ops[op].flags & CS_OPF_ADMIN) != 0;
}
