/* cs_op.c: the op table. */
#include "engine/cs_op.h"

#include <stddef.h>
#include <string.h>

#define B(k) CS_KEY_BIT(CS_KEY_##k)

/* "accepts" is a uint64_t of key bits: a key past bit 63 needs a wider type there first. */
_Static_assert(CS_KEY_COUNT_ <= 64, "cs_op_def_t.accepts holds at most 64 key bits");

/* clang-format off */
const cs_op_def_t cs_ops[CS_OP_COUNT_] = {
    [CS_OP_PING] = {
        .name = "ping", .accepts = CS_KEYS_COMMON,
        .flags = CS_OPF_ENGINE, .handler = cs_op_ping},
    [CS_OP_LOOKUP] = {
        .name = "lookup", .required = {CS_KEY_SYSTEM, CS_KEY_CODE},
        .accepts = CS_KEYS_COMMON | CS_KEYS_RELEASE | B(CODE) | B(INCLUDE),
        .flags = CS_OPF_ENGINE | CS_OPF_BATCHABLE, .handler = cs_op_lookup},
    [CS_OP_VALIDATE] = {
        .name = "validate", .required = {CS_KEY_SYSTEM}, .one_of = {CS_KEY_CODES, CS_KEY_CODE},
        .accepts = CS_KEYS_COMMON | CS_KEYS_RELEASE | B(CODE) | B(CODES),
        .flags = CS_OPF_ENGINE | CS_OPF_SLOW_LONG | CS_OPF_SLICEABLE | CS_OPF_BATCHABLE,
        .handler = cs_op_validate},
    [CS_OP_SEARCH] = {
        .name = "search", .required = {CS_KEY_SYSTEM, CS_KEY_Q},
        .accepts = CS_KEYS_COMMON | CS_KEYS_RELEASE | B(Q) | B(LIMIT) | B(OFFSET) |
                   B(BILLABLE_ONLY) | B(INCLUDE),
        .limit_max = CS_PROTO_MAX_LIMIT,
        .flags = CS_OPF_ENGINE | CS_OPF_SLOW | CS_OPF_TRY_FIRST, .handler = cs_op_search},
    [CS_OP_CROSSWALK] = {
        .name = "crosswalk", .required = {CS_KEY_FROM, CS_KEY_TO, CS_KEY_CODE},
        .accepts = CS_KEYS_COMMON | B(FROM) | B(TO) | B(CODE) | B(MAP) | B(REVERSE) |
                   B(RELEASE) | B(TO_RELEASE) | B(DATE),
        .flags = CS_OPF_ENGINE | CS_OPF_SLOW, .handler = cs_op_crosswalk},
    [CS_OP_INDEX] = {
        .name = "index", .required = {CS_KEY_SYSTEM, CS_KEY_TABLE},
        .accepts = CS_KEYS_COMMON | CS_KEYS_RELEASE | B(TABLE) | B(Q) | B(PATH) | B(CODE) |
                   B(FOLLOW) | B(LIMIT) | B(OFFSET),
        .limit_max = 100,
        .flags = CS_OPF_ENGINE | CS_OPF_SLOW, .handler = cs_op_index},
    [CS_OP_RELEASES] = {
        .name = "releases", .accepts = CS_KEYS_COMMON | B(SYSTEM),
        .flags = CS_OPF_ENGINE, .handler = cs_op_releases},
    [CS_OP_DIFF] = {
        .name = "diff", .required = {CS_KEY_SYSTEM, CS_KEY_RELEASE, CS_KEY_TO_RELEASE},
        .accepts = CS_KEYS_COMMON | B(SYSTEM) | B(RELEASE) | B(TO_RELEASE) | B(LIMIT),
        .limit_max = CS_PROTO_MAX_DIFF_LIMIT,
        .flags = CS_OPF_ENGINE | CS_OPF_SLOW, .handler = cs_op_diff},
    [CS_OP_CLAIM] = {
        .name = "claim", .required = {CS_KEY_DATE, CS_KEY_DIAGNOSES},
        .accepts = CS_KEYS_COMMON | B(DATE) | B(SETTING) | B(PATIENT) | B(DIAGNOSES) |
                   B(PROCEDURES),
        .flags = CS_OPF_ENGINE | CS_OPF_SLOW, .handler = cs_op_claim},
    [CS_OP_CLAIMS] = {
        .name = "claims", .required = {CS_KEY_CLAIMS},
        .accepts = CS_KEYS_COMMON | B(CLAIMS),
        .flags = CS_OPF_ENGINE | CS_OPF_SLOW | CS_OPF_SLICEABLE, .handler = cs_op_claims},
    [CS_OP_STATS] = {
        .name = "stats", .accepts = CS_KEYS_COMMON, .handler = cs_op_stats},
    [CS_OP_LOAD] = {
        .name = "load", .required = {CS_KEY_FILES, CS_KEY_RELEASE, CS_KEY_EFFECTIVE_FROM},
        .accepts = CS_KEYS_COMMON | B(FILES) | B(RELEASE) | B(EFFECTIVE_FROM) | B(LOADER) |
                   B(SYSTEM),
        .flags = CS_OPF_ADMIN, .handler = cs_op_load},
    [CS_OP_JOB] = {
        .name = "job", .required = {CS_KEY_JOB}, .accepts = CS_KEYS_COMMON | B(JOB),
        .flags = CS_OPF_ADMIN, .handler = cs_op_job},
    [CS_OP_RETIRE] = {
        .name = "retire", .required = {CS_KEY_SYSTEM, CS_KEY_RELEASE},
        .accepts = CS_KEYS_COMMON | B(SYSTEM) | B(RELEASE),
        .flags = CS_OPF_ADMIN, .handler = cs_op_retire},
    [CS_OP_DROP] = {
        .name = "drop", .required = {CS_KEY_SYSTEM, CS_KEY_RELEASE},
        .accepts = CS_KEYS_COMMON | B(SYSTEM) | B(RELEASE),
        .flags = CS_OPF_ADMIN, .handler = cs_op_drop},
    [CS_OP_PLUGINS] = {
        .name = "plugins", .accepts = CS_KEYS_COMMON,
        .flags = CS_OPF_ADMIN, .handler = cs_op_plugins},
    [CS_OP_CANCEL] = {
        .name = "cancel", .required = {CS_KEY_JOB}, .accepts = CS_KEYS_COMMON | B(JOB),
        .flags = CS_OPF_ADMIN, .handler = cs_op_cancel},
    [CS_OP_VERIFY] = {
        .name = "verify", .accepts = CS_KEYS_COMMON | B(JOB),
        .flags = CS_OPF_ADMIN, .handler = cs_op_verify},
    /* n_codes of a batch counts its items' codes, so a long one goes to a worker */
    [CS_OP_BATCH] = {
        .name = "batch", .required = {CS_KEY_REQUESTS},
        .accepts = CS_KEYS_COMMON | B(REQUESTS),
        .flags = CS_OPF_ENGINE | CS_OPF_SLOW_LONG, .handler = cs_op_batch},
};
/* clang-format on */

static const char *const s_keynames[CS_KEY_COUNT_] = {
    [CS_KEY_NONE] = "",
    [CS_KEY_ID] = "id",
    [CS_KEY_V] = "v",
    [CS_KEY_OP] = "op",
    [CS_KEY_SYSTEM] = "system",
    [CS_KEY_RELEASE] = "release",
    [CS_KEY_TO_RELEASE] = "to_release",
    [CS_KEY_CODE] = "code",
    [CS_KEY_Q] = "q",
    [CS_KEY_FROM] = "from",
    [CS_KEY_TO] = "to",
    [CS_KEY_MAP] = "map",
    [CS_KEY_LOADER] = "loader",
    [CS_KEY_JOB] = "job",
    [CS_KEY_DATE] = "date",
    [CS_KEY_EFFECTIVE_FROM] = "effective_from",
    [CS_KEY_INCLUDE] = "include",
    [CS_KEY_CODES] = "codes",
    [CS_KEY_FILES] = "files",
    [CS_KEY_LIMIT] = "limit",
    [CS_KEY_OFFSET] = "offset",
    [CS_KEY_BILLABLE_ONLY] = "billable_only",
    [CS_KEY_REVERSE] = "reverse",
    [CS_KEY_REQUESTS] = "requests",
    [CS_KEY_TABLE] = "table",
    [CS_KEY_PATH] = "path",
    [CS_KEY_FOLLOW] = "follow",
    [CS_KEY_SETTING] = "setting",
    [CS_KEY_PATIENT] = "patient",
    [CS_KEY_DIAGNOSES] = "diagnoses",
    [CS_KEY_PROCEDURES] = "procedures",
    [CS_KEY_CLAIMS] = "claims",
};

/* Names are short and few: compare the length and the first byte before the rest. */
cs_op_t cs_op_find(const char *s, size_t n)
{
    for (int op = CS_OP_UNKNOWN + 1; op < CS_OP_COUNT_; op++) {
        const char *name = cs_ops[op].name;
        if (n && name[0] == s[0] && strlen(name) == n && memcmp(name, s, n) == 0) {
            return (cs_op_t)op;
        }
    }
    return CS_OP_UNKNOWN;
}

const char *cs_key_name(cs_key_t k)
{
    return (unsigned)k < CS_KEY_COUNT_ ? s_keynames[k] : "";
}

cs_key_t cs_key_find(const char *s, size_t n)
{
    for (int k = CS_KEY_NONE + 1; k < CS_KEY_COUNT_; k++) {
        const char *name = s_keynames[k];
        if (n && name[0] == s[0] && strlen(name) == n && memcmp(name, s, n) == 0) {
            return (cs_key_t)k;
        }
    }
    return CS_KEY_NONE;
}

int cs_op_is_slow(const cs_request_t *req)
{
    unsigned f = (unsigned)req->op < CS_OP_COUNT_ ? cs_ops[req->op].flags : 0;
    return (f & CS_OPF_SLOW) || ((f & CS_OPF_SLOW_LONG) && req->n_codes > CS_OP_SLOW_CODES);
}

uint32_t cs_op_slice_units(const cs_request_t *req)
{
    if (req->op == CS_OP_CLAIMS) {
        return req->n_claims * CS_OP_CLAIM_UNITS; /* at most CS_CLAIM_MAX_BATCH: no overflow */
    }
    return req->op == CS_OP_VALIDATE ? req->n_codes : 0;
}

const cs_str_key_t cs_str_keys[] = {
    {CS_KEY_SYSTEM, offsetof(cs_request_t, system), CS_PROTO_MAX_STR},
    {CS_KEY_RELEASE, offsetof(cs_request_t, release), CS_PROTO_MAX_STR},
    {CS_KEY_TO_RELEASE, offsetof(cs_request_t, to_release), CS_PROTO_MAX_STR},
    {CS_KEY_CODE, offsetof(cs_request_t, code), CS_PROTO_MAX_STR},
    {CS_KEY_Q, offsetof(cs_request_t, q), CS_PROTO_MAX_Q},
    {CS_KEY_FROM, offsetof(cs_request_t, from), CS_PROTO_MAX_STR},
    {CS_KEY_TO, offsetof(cs_request_t, to), CS_PROTO_MAX_STR},
    {CS_KEY_MAP, offsetof(cs_request_t, map), CS_PROTO_MAX_STR},
    {CS_KEY_LOADER, offsetof(cs_request_t, loader), CS_PROTO_MAX_STR},
    {CS_KEY_JOB, offsetof(cs_request_t, job), CS_PROTO_MAX_STR},
    {CS_KEY_TABLE, offsetof(cs_request_t, table), CS_PROTO_MAX_STR},
};
const size_t cs_n_str_keys = sizeof cs_str_keys / sizeof cs_str_keys[0];
