/* check_proto.c: the wire codec: pre-scan, request schema, names, dates and reply helpers. */
#include <check.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "engine/cs_out.h"
#include "util/cs_date.h"
#include "wire/cs_out_msgpack.h"
#include "wire/cs_proto.h"

/* ---- helpers ---- */

/* A request under construction: the buffer and a packer writing into it. */
typedef struct s_buf {
    msgpack_sbuffer sb; /* the bytes */
    msgpack_packer pk;  /* packs into sb */
} s_buf_t;

static void s_buf_init(s_buf_t *b)
{
    msgpack_sbuffer_init(&b->sb);
    msgpack_packer_init(&b->pk, &b->sb, msgpack_sbuffer_write);
}

static void s_buf_fini(s_buf_t *b)
{
    msgpack_sbuffer_destroy(&b->sb);
}

static void s_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

/* Pack the remaining key/value pairs of a map of str to str: NULL ends the list. */
static void s_pairs(msgpack_packer *pk, va_list ap)
{
    for (;;) {
        const char *k = va_arg(ap, const char *);
        if (k == NULL) {
            break;
        }
        s_str(pk, k);
        s_str(pk, va_arg(ap, const char *));
    }
}

/* Count the pairs of a NULL-terminated key/value list. */
static uint32_t s_count_pairs(va_list ap)
{
    uint32_t n = 0;
    while (va_arg(ap, const char *) != NULL) {
        (void)va_arg(ap, const char *);
        n++;
    }
    return n;
}

/* A whole request of str values: s_strmap(b, extra, "op", "ping", ..., NULL). The map header
 * counts `extra` more entries, which the caller packs after this returns. */
static void s_strmap(s_buf_t *b, uint32_t extra, ...)
{
    va_list ap;
    va_start(ap, extra);
    uint32_t n = s_count_pairs(ap);
    va_end(ap);
    msgpack_pack_map(&b->pk, n + extra);
    va_start(ap, extra);
    s_pairs(&b->pk, ap);
    va_end(ap);
}

/* Pack key/value pairs of str (NULL ends the list) after a map header written by hand. */
static void s_pairs_of(s_buf_t *b, ...)
{
    va_list ap;
    va_start(ap, b);
    s_pairs(&b->pk, ap);
    va_end(ap);
}

static cs_proto_err_t s_decode(cs_request_t *req, const s_buf_t *b, cs_error_t *err)
{
    return cs_request_decode(req, b->sb.data, b->sb.size, err);
}

/* Decode a request of str values and return the result; the message goes to err. */
static cs_proto_err_t s_try(cs_error_t *err, ...)
{
    s_buf_t b;
    s_buf_init(&b);
    va_list ap;
    va_start(ap, err);
    uint32_t n = s_count_pairs(ap);
    va_end(ap);
    msgpack_pack_map(&b.pk, n);
    va_start(ap, err);
    s_pairs(&b.pk, ap);
    va_end(ap);
    cs_request_t req;
    cs_request_init(&req);
    cs_proto_err_t e = s_decode(&req, &b, err);
    cs_request_release(&req);
    s_buf_fini(&b);
    return e;
}

static int s_streq(cs_str_t s, const char *want)
{
    return s.ptr != NULL && s.len == strlen(want) && memcmp(s.ptr, want, s.len) == 0;
}

#define ck_assert_msg_has(err, needle)                                                       \
    ck_assert_msg(strstr((err).msg, (needle)) != NULL, "message \"%s\" lacks \"%s\"",      \
                  (err).msg, (needle))

/* ---- valid requests of each op ---- */

START_TEST(test_lookup_fields)
{
    s_buf_t b;
    s_buf_init(&b);
    s_strmap(&b, 4, "op", "lookup", "system", "icd10cm", "code", "S72.001A", "release", "2025",
             NULL);
    s_str(&b.pk, "include");
    msgpack_pack_array(&b.pk, 4);
    s_str(&b.pk, "notes");
    s_str(&b.pk, "ancestors");
    s_str(&b.pk, "siblings"); /* unknown names are ignored */
    s_str(&b.pk, "children");
    s_str(&b.pk, "id");
    msgpack_pack_int(&b.pk, 42);
    s_str(&b.pk, "v");
    msgpack_pack_int(&b.pk, 1);
    s_str(&b.pk, "colour"); /* unknown keys are ignored, whatever their type */
    msgpack_pack_map(&b.pk, 1);
    msgpack_pack_nil(&b.pk);
    msgpack_pack_array(&b.pk, 0);

    cs_request_t req;
    cs_request_init(&req);
    cs_error_t err;
    ck_assert_int_eq(s_decode(&req, &b, &err), CS_PERR_NONE);
    ck_assert_int_eq(req.op, CS_OP_LOOKUP);
    ck_assert(s_streq(req.op_name, "lookup"));
    ck_assert(s_streq(req.system, "icd10cm"));
    ck_assert(s_streq(req.code, "S72.001A"));
    ck_assert(s_streq(req.release, "2025"));
    ck_assert_ptr_null(req.q.ptr);
    ck_assert_uint_eq(req.include,
                      CS_INCLUDE_NOTES | CS_INCLUDE_ANCESTORS | CS_INCLUDE_CHILDREN);
    ck_assert_int_eq(req.has_id, 1);
    ck_assert_int_eq(req.id.type, CS_SCALAR_UINT);
    ck_assert_uint_eq(req.id.via.u, 42);
    ck_assert_int_eq(req.limit, -1);
    ck_assert_int_eq(req.offset, 0);
    ck_assert_uint_eq(req.n_codes, 0);
    cs_request_release(&req);

    /* the same request object decodes again after release */
    ck_assert_int_eq(s_decode(&req, &b, &err), CS_PERR_NONE);
    ck_assert(s_streq(req.code, "S72.001A"));
    cs_request_release(&req);
    cs_request_release(&req); /* twice is harmless */
    s_buf_fini(&b);
}
END_TEST

/* Each op with the keys that make it valid; dropping any one of `required` must fail. */
static const struct {
    const char *op;
    const char *keys[8];     /* key, value, key, value... NULL */
    const char *required[4]; /* keys whose absence is a bad_request */
} s_ops[] = {
    {"ping", {NULL}, {NULL}},
    {"releases", {NULL}, {NULL}},
    {"stats", {NULL}, {NULL}},
    {"plugins", {NULL}, {NULL}},
    {"lookup", {"system", "icd10cm", "code", "E11.9", NULL}, {"system", "code", NULL}},
    {"validate", {"system", "icd10cm", "code", "E11.9", NULL}, {"system", NULL}},
    {"search", {"system", "icd10cm", "q", "diab mel", NULL}, {"system", "q", NULL}},
    {"crosswalk", {"from", "icd9cm", "to", "icd10cm", "code", "250.00", NULL},
     {"from", "to", "code", NULL}},
    {"diff", {"system", "icd10cm", "release", "2021", "to_release", "2022", NULL},
     {"system", "release", "to_release", NULL}},
    {"job", {"job", "j-1", NULL}, {"job", NULL}},
    {"retire", {"system", "icd10cm", "release", "2021", NULL}, {"system", "release", NULL}},
    {"drop", {"system", "icd10cm", "release", "2021", NULL}, {"system", "release", NULL}},
};

/* Pack {"op": op, keys... except `skip`} plus, for load, what load needs. */
static void s_pack_op(s_buf_t *b, unsigned i, const char *skip)
{
    uint32_t n = 1;
    for (unsigned k = 0; s_ops[i].keys[k] != NULL; k += 2) {
        n += (skip == NULL || strcmp(skip, s_ops[i].keys[k]) != 0) ? 1 : 0;
    }
    msgpack_pack_map(&b->pk, n);
    s_str(&b->pk, "op");
    s_str(&b->pk, s_ops[i].op);
    for (unsigned k = 0; s_ops[i].keys[k] != NULL; k += 2) {
        if (skip == NULL || strcmp(skip, s_ops[i].keys[k]) != 0) {
            s_str(&b->pk, s_ops[i].keys[k]);
            s_str(&b->pk, s_ops[i].keys[k + 1]);
        }
    }
}

START_TEST(test_each_op_and_its_required_keys)
{
    unsigned i = (unsigned)_i;
    s_buf_t b;
    s_buf_init(&b);
    s_pack_op(&b, i, NULL);
    cs_request_t req;
    cs_request_init(&req);
    cs_error_t err;
    ck_assert_msg(s_decode(&req, &b, &err) == CS_PERR_NONE, "%s: %s", s_ops[i].op, err.msg);
    ck_assert_str_eq(cs_proto_opname(req.op), s_ops[i].op);
    cs_request_release(&req);
    s_buf_fini(&b);

    for (unsigned r = 0; s_ops[i].required[r] != NULL; r++) {
        s_buf_init(&b);
        s_pack_op(&b, i, s_ops[i].required[r]);
        ck_assert_int_eq(s_decode(&req, &b, &err), CS_PERR_BAD_REQUEST);
        char want[64];
        snprintf(want, sizeof want, "%s needs \"%s\"", s_ops[i].op, s_ops[i].required[r]);
        ck_assert_str_eq(err.msg, want);
        cs_request_release(&req);
        s_buf_fini(&b);
    }
}
END_TEST

START_TEST(test_validate_code_or_codes)
{
    cs_error_t err;
    ck_assert_int_eq(s_try(&err, "op", "validate", "system", "icd10cm", NULL),
                     CS_PERR_BAD_REQUEST);
    ck_assert_str_eq(err.msg, "validate needs \"codes\" or \"code\"");

    s_buf_t b;
    s_buf_init(&b);
    s_strmap(&b, 0, "op", "validate", "system", "icd10cm", "code", " e119 ", NULL);
    cs_request_t req;
    cs_request_init(&req);
    ck_assert_int_eq(s_decode(&req, &b, &err), CS_PERR_NONE);
    ck_assert_uint_eq(req.n_codes, 1);
    ck_assert(s_streq(cs_request_code_at(&req, 0), " e119 "));
    ck_assert_ptr_null(cs_request_code_at(&req, 1).ptr);
    cs_request_release(&req);
    s_buf_fini(&b);

    /* a lookup's "code" is not a list of codes */
    s_buf_init(&b);
    s_strmap(&b, 0, "op", "lookup", "system", "icd10cm", "code", "E11.9", NULL);
    ck_assert_int_eq(s_decode(&req, &b, &err), CS_PERR_NONE);
    ck_assert_uint_eq(req.n_codes, 0);
    cs_request_release(&req);
    s_buf_fini(&b);
}
END_TEST

static void s_pack_codes(s_buf_t *b, uint32_t n)
{
    s_strmap(b, 1, "op", "validate", "system", "icd10cm", NULL);
    s_str(&b->pk, "codes");
    msgpack_pack_array(&b->pk, n);
    for (uint32_t i = 0; i < n; i++) {
        char code[16];
        snprintf(code, sizeof code, "E%u", i);
        s_str(&b->pk, code);
    }
}

/* A serving loop's request object: big and small requests, good and bad, one after another,
 * each decoded whole and nothing left over (ASan checks the memory it kept). */
START_TEST(test_reusable_request_decodes_in_turn)
{
    cs_request_t req;
    cs_request_init_reusable(&req);
    cs_error_t err;
    for (int round = 0; round < 3; round++) {
        s_buf_t b;
        s_buf_init(&b);
        s_pack_codes(&b, 5000); /* more than the kept chunk holds */
        ck_assert_int_eq(s_decode(&req, &b, &err), CS_PERR_NONE);
        ck_assert_uint_eq(req.n_codes, 5000);
        ck_assert(s_streq(cs_request_code_at(&req, 4999), "E4999"));
        cs_request_release(&req);
        s_buf_fini(&b);

        s_buf_init(&b);
        s_strmap(&b, 0, "op", "lookup", "system", "icd10cm", "code", "E11.9", NULL);
        ck_assert_int_eq(s_decode(&req, &b, &err), CS_PERR_NONE);
        ck_assert_int_eq(req.op, CS_OP_LOOKUP);
        ck_assert(s_streq(req.code, "E11.9"));
        ck_assert_uint_eq(req.n_codes, 0); /* nothing of the validate before */
        ck_assert_int_eq(req.limit, -1);
        cs_request_release(&req);
        s_buf_fini(&b);

        s_buf_init(&b);
        s_strmap(&b, 1, "op", "lookup", NULL);
        s_str(&b.pk, "code");
        msgpack_pack_int(&b.pk, 7);
        ck_assert_int_eq(s_decode(&req, &b, &err), CS_PERR_BAD_REQUEST);
        cs_request_release(&req);
        s_buf_fini(&b);
    }
    cs_request_fini(&req);
    cs_request_fini(&req); /* twice is harmless */
}
END_TEST

/* The one-write validate result is byte for byte the field-by-field one, at every string
 * header size and past the stack buffer. */
START_TEST(test_valid_result_bytes)
{
    static const size_t lens[] = {0, 1, 31, 32, 200, 255, 256, 700, 70000};
    char *text = malloc(70000);
    for (size_t i = 0; i < 70000; i++) {
        text[i] = (char)('a' + i % 26);
    }
    for (size_t a = 0; a < sizeof lens / sizeof lens[0]; a++) {
        for (size_t t = 0; t < sizeof lens / sizeof lens[0]; t++) {
            size_t in_len = lens[a] < 300 ? lens[a] : 12, title_len = lens[t];
            msgpack_sbuffer want, got;
            msgpack_sbuffer_init(&want);
            msgpack_sbuffer_init(&got);
            msgpack_packer pw, pg;
            msgpack_packer_init(&pw, &want, msgpack_sbuffer_write);
            msgpack_packer_init(&pg, &got, msgpack_sbuffer_write);
            cs_out_msgpack_t ww, wg;
            cs_validation_t v = {.reason = CS_REASON_VALID,
                                 .input = {text, in_len},
                                 .code = {text + 1, lens[a] < 300 ? lens[a] : 7},
                                 .title = {text, title_len}};
            /* the tree, item by item, against the writer's one-write form */
            cs_out_validation_tree(cs_out_msgpack_init(&ww, &pw), &v);
            cs_out_validation(cs_out_msgpack_init(&wg, &pg), &v);
            ck_assert_msg(want.size == got.size && memcmp(want.data, got.data, want.size) == 0,
                          "input %zu, title %zu: %zu vs %zu bytes", in_len, title_len,
                          got.size, want.size);
            msgpack_sbuffer_destroy(&want);
            msgpack_sbuffer_destroy(&got);
        }
    }
    free(text);
}
END_TEST

START_TEST(test_codes_limit)
{
    s_buf_t b;
    s_buf_init(&b);
    s_pack_codes(&b, CS_PROTO_MAX_CODES);
    cs_request_t req;
    cs_request_init(&req);
    cs_error_t err;
    ck_assert_int_eq(s_decode(&req, &b, &err), CS_PERR_NONE);
    ck_assert_uint_eq(req.n_codes, CS_PROTO_MAX_CODES);
    ck_assert(s_streq(cs_request_code_at(&req, 0), "E0"));
    ck_assert(s_streq(cs_request_code_at(&req, 9999), "E9999"));
    ck_assert_ptr_null(cs_request_code_at(&req, 10000).ptr);
    cs_request_release(&req);
    s_buf_fini(&b);

    s_buf_init(&b);
    s_pack_codes(&b, CS_PROTO_MAX_CODES + 1);
    ck_assert_int_eq(s_decode(&req, &b, &err), CS_PERR_TOO_MANY);
    ck_assert_msg_has(err, "10001");
    cs_request_release(&req);
    s_buf_fini(&b);

    /* an item that is not a str */
    s_buf_init(&b);
    s_strmap(&b, 1, "op", "validate", "system", "icd10cm", NULL);
    s_str(&b.pk, "codes");
    msgpack_pack_array(&b.pk, 2);
    s_str(&b.pk, "E11.9");
    msgpack_pack_int(&b.pk, 250);
    ck_assert_int_eq(s_decode(&req, &b, &err), CS_PERR_BAD_REQUEST);
    ck_assert_msg_has(err, "\"codes\"[1] must be a str");
    cs_request_release(&req);
    s_buf_fini(&b);

    /* an empty list is a valid (empty) validation */
    s_buf_init(&b);
    s_pack_codes(&b, 0);
    ck_assert_int_eq(s_decode(&req, &b, &err), CS_PERR_NONE);
    ck_assert_uint_eq(req.n_codes, 0);
    cs_request_release(&req);
    s_buf_fini(&b);
}
END_TEST

static void s_pack_load(s_buf_t *b, uint32_t n_files)
{
    s_strmap(b, 1, "op", "load", "loader", "icd10cm-tabular", "release", "2025",
             "effective_from", "2024-10-01", NULL);
    s_str(&b->pk, "files");
    msgpack_pack_array(&b->pk, n_files);
    for (uint32_t i = 0; i < n_files; i++) {
        char path[32];
        snprintf(path, sizeof path, "/abs/file%u.xml", i);
        s_str(&b->pk, path);
    }
}

START_TEST(test_load_files)
{
    s_buf_t b;
    s_buf_init(&b);
    s_pack_load(&b, 2);
    cs_request_t req;
    cs_request_init(&req);
    cs_error_t err;
    ck_assert_int_eq(s_decode(&req, &b, &err), CS_PERR_NONE);
    ck_assert_int_eq(req.op, CS_OP_LOAD);
    ck_assert_uint_eq(req.n_files, 2);
    ck_assert(s_streq(cs_request_file_at(&req, 1), "/abs/file1.xml"));
    ck_assert_ptr_null(cs_request_file_at(&req, 2).ptr);
    ck_assert_int_eq(req.has_effective_from, 1);
    ck_assert_int_eq(req.effective_from, 20241001);
    ck_assert(s_streq(req.loader, "icd10cm-tabular"));
    cs_request_release(&req);
    s_buf_fini(&b);

    s_buf_init(&b);
    s_pack_load(&b, CS_PROTO_MAX_FILES);
    ck_assert_int_eq(s_decode(&req, &b, &err), CS_PERR_NONE);
    cs_request_release(&req);
    s_buf_fini(&b);

    s_buf_init(&b);
    s_pack_load(&b, CS_PROTO_MAX_FILES + 1);
    ck_assert_int_eq(s_decode(&req, &b, &err), CS_PERR_TOO_MANY);
    cs_request_release(&req);
    s_buf_fini(&b);

    ck_assert_int_eq(s_try(&err, "op", "load", "release", "2025", "effective_from", "2024-10-01",
                           NULL),
                     CS_PERR_BAD_REQUEST);
    ck_assert_str_eq(err.msg, "load needs \"files\"");

    s_buf_init(&b);
    s_strmap(&b, 1, "op", "load", "release", "2025", NULL);
    s_str(&b.pk, "files");
    msgpack_pack_array(&b.pk, 1);
    s_str(&b.pk, "/a.xml");
    ck_assert_int_eq(s_decode(&req, &b, &err), CS_PERR_BAD_REQUEST);
    ck_assert_str_eq(err.msg, "load needs \"effective_from\"");
    cs_request_release(&req);
    s_buf_fini(&b);

    /* "files" must be an array of str */
    s_buf_init(&b);
    s_strmap(&b, 0, "op", "load", "release", "2025", "effective_from", "2024-10-01", "files",
             "/a.xml", NULL);
    ck_assert_int_eq(s_decode(&req, &b, &err), CS_PERR_BAD_REQUEST);
    ck_assert_msg_has(err, "\"files\" must be an array of str");
    cs_request_release(&req);
    s_buf_fini(&b);
}
END_TEST

/* ---- id, version, op ---- */

/* Decode a request whose id is packed by pack_id, then check the error and the echoed id. */
static void s_check_id_echo(void (*pack_id)(msgpack_packer *), const char *op, const char *v,
                            cs_proto_err_t want, cs_scalar_type_t id_type)
{
    s_buf_t b;
    s_buf_init(&b);
    s_strmap(&b, v ? 2 : 1, "op", op, NULL);
    if (v) {
        s_str(&b.pk, "v");
        msgpack_pack_int(&b.pk, atoi(v));
    }
    s_str(&b.pk, "id");
    pack_id(&b.pk);
    cs_request_t req;
    cs_request_init(&req);
    cs_error_t err;
    ck_assert_int_eq(s_decode(&req, &b, &err), want);
    ck_assert_int_eq(req.has_id, 1);
    ck_assert_int_eq(req.id.type, id_type);

    /* the reply carries the id back */
    msgpack_sbuffer out;
    msgpack_sbuffer_init(&out);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &out, msgpack_sbuffer_write);
    cs_out_msgpack_t w;
    cs_out_t *o = cs_out_msgpack_init(&w, &pk);
    if (want == CS_PERR_NONE) {
        cs_reply_begin(o, &req, 1, 0);
    } else {
        cs_reply_error(o, &req, want, err.msg);
    }
    /* the id as sent, to hold the echo against */
    msgpack_sbuffer sent;
    msgpack_sbuffer_init(&sent);
    msgpack_packer spk;
    msgpack_packer_init(&spk, &sent, msgpack_sbuffer_write);
    pack_id(&spk);
    msgpack_unpacked su;
    msgpack_unpacked_init(&su);
    size_t soff = 0;
    ck_assert_int_eq(msgpack_unpack_next(&su, sent.data, sent.size, &soff),
                     MSGPACK_UNPACK_SUCCESS);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    ck_assert_int_eq(msgpack_unpack_next(&u, out.data, out.size, &off), MSGPACK_UNPACK_SUCCESS);
    ck_assert_uint_eq(off, out.size);
    ck_assert_int_eq(u.data.type, MSGPACK_OBJECT_MAP);
    int seen = 0;
    for (uint32_t i = 0; i < u.data.via.map.size; i++) {
        const msgpack_object_kv *kv = &u.data.via.map.ptr[i];
        if (kv->key.via.str.size == 2 && memcmp(kv->key.via.str.ptr, "id", 2) == 0) {
            ck_assert(msgpack_object_equal(kv->val, su.data));
            ck_assert_int_eq(kv->val.type, su.data.type);
            seen = 1;
        }
    }
    ck_assert_int_eq(seen, 1);
    msgpack_unpacked_destroy(&su);
    msgpack_sbuffer_destroy(&sent);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&out);
    cs_request_release(&req);
    s_buf_fini(&b);
}

static void s_id_int(msgpack_packer *pk)
{
    msgpack_pack_int64(pk, -77);
}
static void s_id_str(msgpack_packer *pk)
{
    s_str(pk, "req-0001");
}
static void s_id_nil(msgpack_packer *pk)
{
    msgpack_pack_nil(pk);
}
static void s_id_float(msgpack_packer *pk)
{
    msgpack_pack_double(pk, 1.5);
}

START_TEST(test_id_echo)
{
    s_check_id_echo(s_id_int, "ping", NULL, CS_PERR_NONE, CS_SCALAR_INT);
    s_check_id_echo(s_id_str, "ping", NULL, CS_PERR_NONE, CS_SCALAR_STR);
    s_check_id_echo(s_id_nil, "ping", NULL, CS_PERR_NONE, CS_SCALAR_NIL);
    s_check_id_echo(s_id_float, "ping", NULL, CS_PERR_NONE, CS_SCALAR_F64);
    /* and on errors */
    s_check_id_echo(s_id_int, "frobnicate", NULL, CS_PERR_UNKNOWN_OP,
                    CS_SCALAR_INT);
    s_check_id_echo(s_id_str, "ping", "2", CS_PERR_UNSUPPORTED_VERSION, CS_SCALAR_STR);
    s_check_id_echo(s_id_nil, "lookup", NULL, CS_PERR_BAD_REQUEST, CS_SCALAR_NIL);
}
END_TEST

START_TEST(test_id_must_be_scalar)
{
    s_buf_t b;
    s_buf_init(&b);
    s_strmap(&b, 1, "op", "ping", NULL);
    s_str(&b.pk, "id");
    msgpack_pack_array(&b.pk, 1);
    msgpack_pack_int(&b.pk, 1);
    cs_request_t req;
    cs_request_init(&req);
    cs_error_t err;
    ck_assert_int_eq(s_decode(&req, &b, &err), CS_PERR_BAD_REQUEST);
    ck_assert_int_eq(req.has_id, 0);
    ck_assert_msg_has(err, "\"id\" must be a scalar");
    cs_request_release(&req);
    s_buf_fini(&b);
}
END_TEST

START_TEST(test_id_echoed_on_later_errors)
{
    /* the id is read even when it comes after a non-str key or a duplicate */
    s_buf_t b;
    s_buf_init(&b);
    msgpack_pack_map(&b.pk, 3);
    msgpack_pack_int(&b.pk, 7);
    s_str(&b.pk, "seven");
    s_str(&b.pk, "op");
    s_str(&b.pk, "ping");
    s_str(&b.pk, "id");
    msgpack_pack_int(&b.pk, 9);
    cs_request_t req;
    cs_request_init(&req);
    cs_error_t err;
    ck_assert_int_eq(s_decode(&req, &b, &err), CS_PERR_BAD_REQUEST);
    ck_assert_msg_has(err, "not a str");
    ck_assert_int_eq(req.has_id, 1);
    ck_assert_uint_eq(req.id.via.u, 9);
    cs_request_release(&req);
    s_buf_fini(&b);
}
END_TEST

static cs_proto_err_t s_try_v(void (*pack_v)(msgpack_packer *), cs_error_t *err)
{
    s_buf_t b;
    s_buf_init(&b);
    s_strmap(&b, 1, "op", "ping", NULL);
    s_str(&b.pk, "v");
    pack_v(&b.pk);
    cs_request_t req;
    cs_request_init(&req);
    cs_proto_err_t e = s_decode(&req, &b, err);
    cs_request_release(&req);
    s_buf_fini(&b);
    return e;
}
static void s_v1(msgpack_packer *pk)
{
    msgpack_pack_uint8(pk, 1);
}
static void s_v1_int64(msgpack_packer *pk)
{
    msgpack_pack_fix_int64(pk, 1);
}
static void s_v2(msgpack_packer *pk)
{
    msgpack_pack_int(pk, 2);
}
static void s_vneg(msgpack_packer *pk)
{
    msgpack_pack_int(pk, -1);
}
static void s_vstr(msgpack_packer *pk)
{
    s_str(pk, "1");
}
static void s_vfloat(msgpack_packer *pk)
{
    msgpack_pack_double(pk, 1.0);
}

START_TEST(test_version)
{
    cs_error_t err;
    ck_assert_int_eq(s_try_v(s_v1, &err), CS_PERR_NONE);
    ck_assert_int_eq(s_try_v(s_v1_int64, &err), CS_PERR_NONE);
    ck_assert_int_eq(s_try_v(s_v2, &err), CS_PERR_UNSUPPORTED_VERSION);
    ck_assert_msg_has(err, "version 2");
    ck_assert_int_eq(s_try_v(s_vneg, &err), CS_PERR_UNSUPPORTED_VERSION);
    ck_assert_int_eq(s_try_v(s_vstr, &err), CS_PERR_BAD_REQUEST);
    ck_assert_msg_has(err, "\"v\" must be an int");
    ck_assert_int_eq(s_try_v(s_vfloat, &err), CS_PERR_BAD_REQUEST);
    /* the version is checked before the op */
    s_buf_t b;
    s_buf_init(&b);
    s_strmap(&b, 1, "op", "no-such-op", NULL);
    s_str(&b.pk, "v");
    msgpack_pack_int(&b.pk, 3);
    cs_request_t req;
    cs_request_init(&req);
    ck_assert_int_eq(s_decode(&req, &b, &err), CS_PERR_UNSUPPORTED_VERSION);
    cs_request_release(&req);
    s_buf_fini(&b);
}
END_TEST

START_TEST(test_op_rules)
{
    cs_error_t err;
    ck_assert_int_eq(s_try(&err, "op", "frobnicate", NULL), CS_PERR_UNKNOWN_OP);
    ck_assert_str_eq(err.msg, "unknown op \"frobnicate\"");
    ck_assert_int_eq(s_try(&err, "op", "", NULL), CS_PERR_UNKNOWN_OP);
    ck_assert_int_eq(s_try(&err, "op", "PING", NULL), CS_PERR_UNKNOWN_OP);
    ck_assert_int_eq(s_try(&err, "op", "pinG", NULL), CS_PERR_UNKNOWN_OP);
    ck_assert_int_eq(s_try(&err, "op", "dram", NULL), CS_PERR_UNKNOWN_OP);
    ck_assert_int_eq(s_try(&err, "op", "lookup\nx", NULL), CS_PERR_UNKNOWN_OP);
    ck_assert_str_eq(err.msg, "unknown op \"lookup?x\"");
    ck_assert_int_eq(s_try(&err, "system", "icd10cm", NULL), CS_PERR_BAD_REQUEST);
    ck_assert_str_eq(err.msg, "the request has no \"op\"");

    s_buf_t b;
    s_buf_init(&b);
    msgpack_pack_map(&b.pk, 1);
    s_str(&b.pk, "op");
    msgpack_pack_int(&b.pk, 1);
    cs_request_t req;
    cs_request_init(&req);
    ck_assert_int_eq(s_decode(&req, &b, &err), CS_PERR_BAD_REQUEST);
    ck_assert_str_eq(err.msg, "\"op\" must be a str, not int");
    cs_request_release(&req);
    s_buf_fini(&b);

    /* a very long unknown op is quoted, truncated */
    char longop[300];
    memset(longop, 'x', sizeof longop - 1);
    longop[sizeof longop - 1] = '\0';
    ck_assert_int_eq(s_try(&err, "op", longop, NULL), CS_PERR_UNKNOWN_OP);
    ck_assert_msg_has(err, "...");
    ck_assert_uint_lt(strlen(err.msg), 100);
}
END_TEST

START_TEST(test_duplicate_and_non_str_keys)
{
    cs_error_t err;
    ck_assert_int_eq(s_try(&err, "op", "lookup", "system", "icd10cm", "code", "E11.9", "code",
                           "E11.8", NULL),
                     CS_PERR_BAD_REQUEST);
    ck_assert_str_eq(err.msg, "the key \"code\" appears more than once");
    /* a duplicate unknown key is ignored like any unknown key */
    ck_assert_int_eq(s_try(&err, "op", "ping", "x", "1", "x", "2", NULL), CS_PERR_NONE);

    s_buf_t b;
    s_buf_init(&b);
    msgpack_pack_map(&b.pk, 2);
    s_str(&b.pk, "op");
    s_str(&b.pk, "ping");
    msgpack_pack_bin(&b.pk, 2);
    msgpack_pack_bin_body(&b.pk, "op", 2);
    s_str(&b.pk, "x");
    cs_request_t req;
    cs_request_init(&req);
    ck_assert_int_eq(s_decode(&req, &b, &err), CS_PERR_BAD_REQUEST);
    ck_assert_str_eq(err.msg, "key 1 of the request map is bin, not a str");
    cs_request_release(&req);
    s_buf_fini(&b);
}
END_TEST

/* ---- types and bounds ---- */

START_TEST(test_str_keys_type_checked)
{
    static const char *keys[] = {"system", "release", "to_release", "code", "q", "from",
                                 "to", "map", "loader", "job", "date", "effective_from"};
    for (unsigned i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        s_buf_t b;
        s_buf_init(&b);
        s_strmap(&b, 1, "op", "ping", NULL);
        s_str(&b.pk, keys[i]);
        msgpack_pack_int(&b.pk, 5);
        cs_request_t req;
        cs_request_init(&req);
        cs_error_t err;
        ck_assert_int_eq(s_decode(&req, &b, &err), CS_PERR_BAD_REQUEST);
        char want[64];
        snprintf(want, sizeof want, "\"%s\" must be a str", keys[i]);
        ck_assert_msg_has(err, want);
        cs_request_release(&req);
        s_buf_fini(&b);
    }
}
END_TEST

START_TEST(test_control_characters_and_lengths)
{
    cs_error_t err;
    ck_assert_int_eq(s_try(&err, "op", "lookup", "system", "icd\n10cm", "code", "E11", NULL),
                     CS_PERR_BAD_REQUEST);
    ck_assert_str_eq(err.msg, "\"system\" contains a control character (0x0a at byte 3)");
    ck_assert_int_eq(s_try(&err, "op", "lookup", "system", "icd10cm", "code", "E11\x7f", NULL),
                     CS_PERR_BAD_REQUEST);
    ck_assert_msg_has(err, "0x7f");
    ck_assert_int_eq(s_try(&err, "op", "search", "system", "icd10cm", "q", "diab\tmel", NULL),
                     CS_PERR_BAD_REQUEST);
    ck_assert_int_eq(s_try(&err, "op", "job", "job", "\x1b[2J", NULL), CS_PERR_BAD_REQUEST);
    /* UTF-8 is not a control character */
    ck_assert_int_eq(s_try(&err, "op", "search", "system", "icd10cm", "q", "Sj\xc3\xb6gren", NULL),
                     CS_PERR_NONE);

    char *big = malloc(CS_PROTO_MAX_STR + 2);
    ck_assert_ptr_nonnull(big);
    memset(big, 'A', CS_PROTO_MAX_STR + 1);
    big[CS_PROTO_MAX_STR + 1] = '\0';
    ck_assert_int_eq(s_try(&err, "op", "lookup", "system", "icd10cm", "code", big, NULL),
                     CS_PERR_BAD_REQUEST);
    ck_assert_str_eq(err.msg, "\"code\" is 4097 bytes long (at most 4096)");
    big[CS_PROTO_MAX_STR] = '\0';
    ck_assert_int_eq(s_try(&err, "op", "lookup", "system", "icd10cm", "code", big, NULL),
                     CS_PERR_NONE);
    big[CS_PROTO_MAX_Q + 1] = '\0';
    ck_assert_int_eq(s_try(&err, "op", "search", "system", "icd10cm", "q", big, NULL),
                     CS_PERR_BAD_REQUEST);
    ck_assert_msg_has(err, "\"q\" is 1025 bytes long");
    big[CS_PROTO_MAX_Q] = '\0';
    ck_assert_int_eq(s_try(&err, "op", "search", "system", "icd10cm", "q", big, NULL),
                     CS_PERR_NONE);
    free(big);

    /* an empty str is present, not absent */
    s_buf_t b;
    s_buf_init(&b);
    s_strmap(&b, 0, "op", "lookup", "system", "icd10cm", "code", "", NULL);
    cs_request_t req;
    cs_request_init(&req);
    ck_assert_int_eq(s_decode(&req, &b, &err), CS_PERR_NONE);
    ck_assert_ptr_nonnull(req.code.ptr);
    ck_assert_uint_eq(req.code.len, 0);
    cs_request_release(&req);
    s_buf_fini(&b);
}
END_TEST

static cs_proto_err_t s_try_int(const char *key, int64_t v, int neg_format, cs_request_t *req,
                                cs_error_t *err)
{
    s_buf_t b;
    s_buf_init(&b);
    s_strmap(&b, 1, "op", "search", "system", "icd10cm", "q", "diab", NULL);
    s_str(&b.pk, key);
    if (neg_format) {
        msgpack_pack_fix_int64(&b.pk, v); /* a signed encoding even when v >= 0 */
    } else {
        msgpack_pack_int64(&b.pk, v);
    }
    cs_request_init(req);
    cs_proto_err_t e = s_decode(req, &b, err);
    s_buf_fini(&b);
    return e;
}

START_TEST(test_limit_and_offset)
{
    cs_request_t req;
    cs_error_t err;
    ck_assert_int_eq(s_try_int("limit", -5, 0, &req, &err), CS_PERR_NONE);
    ck_assert_int_eq(req.limit, 1);
    cs_request_release(&req);
    ck_assert_int_eq(s_try_int("limit", 1000000000000LL, 0, &req, &err), CS_PERR_NONE);
    ck_assert_int_eq(req.limit, CS_PROTO_MAX_LIMIT);
    cs_request_release(&req);
    ck_assert_int_eq(s_try_int("limit", 0, 0, &req, &err), CS_PERR_NONE);
    ck_assert_int_eq(req.limit, 1);
    cs_request_release(&req);
    ck_assert_int_eq(s_try_int("limit", 20, 1, &req, &err), CS_PERR_NONE);
    ck_assert_int_eq(req.limit, 20);
    cs_request_release(&req);
    ck_assert_int_eq(s_try_int("limit", INT64_MIN, 0, &req, &err), CS_PERR_NONE);
    ck_assert_int_eq(req.limit, 1);
    cs_request_release(&req);

    ck_assert_int_eq(s_try_int("offset", 40, 1, &req, &err), CS_PERR_NONE);
    ck_assert_int_eq(req.offset, 40);
    ck_assert_int_eq(req.limit, -1);
    cs_request_release(&req);
    ck_assert_int_eq(s_try_int("offset", -1, 0, &req, &err), CS_PERR_BAD_REQUEST);
    ck_assert_msg_has(err, "\"offset\" must not be negative");
    cs_request_release(&req);
    ck_assert_int_eq(s_try_int("offset", INT64_MAX, 0, &req, &err), CS_PERR_NONE);
    ck_assert_int_ge(req.offset, 0);
    ck_assert_int_le(req.offset, INT32_MAX);
    cs_request_release(&req);

    /* uint64 max */
    s_buf_t b;
    s_buf_init(&b);
    s_strmap(&b, 2, "op", "search", "system", "icd10cm", "q", "diab", NULL);
    s_str(&b.pk, "limit");
    msgpack_pack_uint64(&b.pk, UINT64_MAX);
    s_str(&b.pk, "offset");
    msgpack_pack_uint64(&b.pk, UINT64_MAX);
    cs_request_init(&req);
    ck_assert_int_eq(s_decode(&req, &b, &err), CS_PERR_NONE);
    ck_assert_int_eq(req.limit, CS_PROTO_MAX_LIMIT);
    ck_assert_int_ge(req.offset, 0);
    cs_request_release(&req);
    s_buf_fini(&b);

    ck_assert_int_eq(s_try(&err, "op", "search", "system", "icd10cm", "q", "x", "limit", "20",
                           NULL),
                     CS_PERR_BAD_REQUEST);
    ck_assert_str_eq(err.msg, "\"limit\" must be an int, not str");
}
END_TEST

START_TEST(test_billable_only_and_include)
{
    s_buf_t b;
    s_buf_init(&b);
    s_strmap(&b, 1, "op", "search", "system", "icd10cm", "q", "diab", NULL);
    s_str(&b.pk, "billable_only");
    msgpack_pack_true(&b.pk);
    cs_request_t req;
    cs_request_init(&req);
    cs_error_t err;
    ck_assert_int_eq(s_decode(&req, &b, &err), CS_PERR_NONE);
    ck_assert_int_eq(req.billable_only, 1);
    cs_request_release(&req);
    s_buf_fini(&b);

    ck_assert_int_eq(s_try(&err, "op", "search", "system", "icd10cm", "q", "x", "billable_only",
                           "true", NULL),
                     CS_PERR_BAD_REQUEST);
    ck_assert_msg_has(err, "\"billable_only\" must be a bool");

    ck_assert_int_eq(s_try(&err, "op", "lookup", "system", "icd10cm", "code", "E11", "include",
                           "notes", NULL),
                     CS_PERR_BAD_REQUEST);
    ck_assert_msg_has(err, "\"include\" must be an array of str");

    s_buf_init(&b);
    s_strmap(&b, 1, "op", "lookup", "system", "icd10cm", "code", "E11", NULL);
    s_str(&b.pk, "include");
    msgpack_pack_array(&b.pk, 2);
    s_str(&b.pk, "notes");
    msgpack_pack_nil(&b.pk);
    ck_assert_int_eq(s_decode(&req, &b, &err), CS_PERR_BAD_REQUEST);
    ck_assert_msg_has(err, "\"include\"[1] must be a str");
    cs_request_release(&req);
    s_buf_fini(&b);
}
END_TEST

START_TEST(test_dates)
{
    int d = 0;
    ck_assert_int_eq(cs_date_parse("2020-02-29", 10, &d), CS_OK);
    ck_assert_int_eq(d, 20200229);
    ck_assert_int_eq(cs_date_parse("2000-02-29", 10, &d), CS_OK);
    ck_assert_int_eq(cs_date_parse("1900-02-29", 10, &d), CS_EMALFORMED);
    ck_assert_int_eq(cs_date_parse("2021-02-29", 10, &d), CS_EMALFORMED);
    ck_assert_int_eq(cs_date_parse("2021-02-30", 10, &d), CS_EMALFORMED);
    ck_assert_int_eq(cs_date_parse("2021-13-01", 10, &d), CS_EMALFORMED);
    ck_assert_int_eq(cs_date_parse("2021-00-01", 10, &d), CS_EMALFORMED);
    ck_assert_int_eq(cs_date_parse("2021-04-31", 10, &d), CS_EMALFORMED);
    ck_assert_int_eq(cs_date_parse("2021-04-00", 10, &d), CS_EMALFORMED);
    ck_assert_int_eq(cs_date_parse("2021-1-01", 9, &d), CS_EMALFORMED);
    ck_assert_int_eq(cs_date_parse("yesterday", 9, &d), CS_EMALFORMED);
    ck_assert_int_eq(cs_date_parse("1899-12-31", 10, &d), CS_EMALFORMED);
    ck_assert_int_eq(cs_date_parse("9999-12-31", 10, &d), CS_OK);
    ck_assert_int_eq(cs_date_parse("2021-03-01T00", 13, &d), CS_EMALFORMED);
    ck_assert_int_eq(cs_date_parse("2021+03-01", 10, &d), CS_EMALFORMED);
    ck_assert_int_eq(cs_date_parse("2021-03-0a", 10, &d), CS_EMALFORMED);
    ck_assert_int_eq(cs_date_parse(NULL, 0, &d), CS_EMALFORMED);

    char out[11];
    cs_date_format(20241001, out);
    ck_assert_str_eq(out, "2024-10-01");
    cs_date_format(19000101, out);
    ck_assert_str_eq(out, "1900-01-01");
    cs_date_format(-5, out); /* nonsense in, ten characters out */
    ck_assert_uint_eq(strlen(out), 10);

    cs_error_t err;
    s_buf_t b;
    s_buf_init(&b);
    s_strmap(&b, 0, "op", "validate", "system", "icd10cm", "code", "E11.9", "date", "2021-03-01",
             NULL);
    cs_request_t req;
    cs_request_init(&req);
    ck_assert_int_eq(s_decode(&req, &b, &err), CS_PERR_NONE);
    ck_assert_int_eq(req.has_date, 1);
    ck_assert_int_eq(req.date, 20210301);
    ck_assert_int_eq(req.has_effective_from, 0);
    cs_request_release(&req);
    s_buf_fini(&b);

    static const char *bad[] = {"2021-02-29", "2021-02-30", "2021-13-01", "yesterday",
                                "2021-1-01"};
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(s_try(&err, "op", "validate", "system", "icd10cm", "code", "E11.9",
                               "date", bad[i], NULL),
                         CS_PERR_BAD_REQUEST);
        ck_assert_msg_has(err, "\"date\" must be a real date");
        ck_assert_msg_has(err, bad[i]);
    }
    ck_assert_int_eq(s_try(&err, "op", "validate", "system", "icd10cm", "code", "E11.9", "date",
                           "2020-02-29", NULL),
                     CS_PERR_NONE);
}
END_TEST

/* ---- hostile bodies ---- */

static cs_proto_err_t s_try_raw(const void *p, size_t n, cs_error_t *err)
{
    cs_request_t req;
    cs_request_init(&req);
    cs_proto_err_t e = cs_request_decode(&req, p, n, err);
    cs_request_release(&req);
    return e;
}

START_TEST(test_not_a_map_empty_trailing)
{
    cs_error_t err;
    ck_assert_int_eq(s_try_raw("", 0, &err), CS_PERR_BAD_REQUEST);
    ck_assert_str_eq(err.msg, "the request body is empty");
    ck_assert_int_eq(s_try_raw(NULL, 0, &err), CS_PERR_BAD_REQUEST);

    static const unsigned char arr[] = {0x91, 0xa4, 'p', 'i', 'n', 'g'};
    ck_assert_int_eq(s_try_raw(arr, sizeof arr, &err), CS_PERR_BAD_REQUEST);
    ck_assert_str_eq(err.msg, "the request must be a map, not array");
    static const unsigned char str[] = {0xa4, 'p', 'i', 'n', 'g'};
    ck_assert_int_eq(s_try_raw(str, sizeof str, &err), CS_PERR_BAD_REQUEST);
    static const unsigned char nil[] = {0xc0};
    ck_assert_int_eq(s_try_raw(nil, sizeof nil, &err), CS_PERR_BAD_REQUEST);

    static const unsigned char ping[] = {0x81, 0xa2, 'o', 'p', 0xa4, 'p', 'i', 'n', 'g'};
    ck_assert_int_eq(s_try_raw(ping, sizeof ping, &err), CS_PERR_NONE);
    unsigned char trail[sizeof ping + 1];
    memcpy(trail, ping, sizeof ping);
    trail[sizeof ping] = 0xc0;
    ck_assert_int_eq(s_try_raw(trail, sizeof trail, &err), CS_PERR_BAD_REQUEST);
    ck_assert_str_eq(err.msg, "1 trailing bytes after the request object (offset 9)");
    /* two whole maps back to back */
    unsigned char two[2 * sizeof ping];
    memcpy(two, ping, sizeof ping);
    memcpy(two + sizeof ping, ping, sizeof ping);
    ck_assert_int_eq(s_try_raw(two, sizeof two, &err), CS_PERR_BAD_REQUEST);
    ck_assert_msg_has(err, "trailing");
    /* truncated */
    ck_assert_int_eq(s_try_raw(ping, sizeof ping - 1, &err), CS_PERR_BAD_REQUEST);
    ck_assert_str_eq(err.msg, "str at offset 4 declares 4 bytes but 3 remain");
    /* the reserved byte */
    static const unsigned char c1[] = {0x81, 0xa2, 'o', 'p', 0xc1};
    ck_assert_int_eq(s_try_raw(c1, sizeof c1, &err), CS_PERR_BAD_REQUEST);
    ck_assert_str_eq(err.msg, "reserved byte 0xc1 at offset 4");
}
END_TEST

START_TEST(test_huge_headers)
{
    cs_error_t err;
    static const unsigned char map32[] = {0xdf, 0xff, 0xff, 0xff, 0xff, 0xc0, 0xc0};
    ck_assert_int_eq(s_try_raw(map32, sizeof map32, &err), CS_PERR_BAD_REQUEST);
    ck_assert_str_eq(err.msg, "map32 at offset 0 claims 4294967295 entries but 2 bytes remain");
    static const unsigned char arr32[] = {0x81, 0xa1, 'x', 0xdd, 0xff, 0xff, 0xff, 0xff, 1, 2};
    ck_assert_int_eq(s_try_raw(arr32, sizeof arr32, &err), CS_PERR_BAD_REQUEST);
    ck_assert_str_eq(err.msg,
                     "array32 at offset 3 claims 4294967295 elements but 2 bytes remain");
    static const unsigned char str32[] = {0x81, 0xa2, 'o', 'p', 0xdb, 0x7f, 0xff, 0xff, 0xff,
                                          'p'};
    ck_assert_int_eq(s_try_raw(str32, sizeof str32, &err), CS_PERR_BAD_REQUEST);
    ck_assert_str_eq(err.msg, "str32 at offset 4 declares 2147483647 bytes but 1 remain");
    static const unsigned char bin32[] = {0xc6, 0xff, 0xff, 0xff, 0xf0};
    ck_assert_int_eq(s_try_raw(bin32, sizeof bin32, &err), CS_PERR_BAD_REQUEST);
    static const unsigned char ext32[] = {0xc9, 0x00, 0x00, 0x00, 0x02, 0x01, 0xaa};
    ck_assert_int_eq(s_try_raw(ext32, sizeof ext32, &err), CS_PERR_BAD_REQUEST);
    ck_assert_msg_has(err, "ext32");
    static const unsigned char trunc_hdr[] = {0xdd, 0x00, 0x01};
    ck_assert_int_eq(s_try_raw(trunc_hdr, sizeof trunc_hdr, &err), CS_PERR_BAD_REQUEST);
    ck_assert_str_eq(err.msg, "array32 header at offset 0 needs 5 bytes but 3 remain");

    /* every header fits in what follows it, but together they declare more than the body
     * holds: [[[15 x nil]...]...] in 20 bytes */
    unsigned char nest[20];
    memset(nest, 0xc0, sizeof nest);
    nest[0] = 0x92;
    nest[1] = 0x9f;
    nest[2] = 0x9f;
    ck_assert_int_eq(cs_proto_prescan(nest, sizeof nest, &err), CS_EMALFORMED);
    ck_assert_str_eq(err.msg, "array at offset 2 claims 15 elements, making 30 elements "
                              "declared in all, but 17 bytes remain");
    /* the innermost array alone passes */
    ck_assert_int_eq(cs_proto_prescan(nest + 2, 16, &err), CS_OK);
}
END_TEST

START_TEST(test_deep_nesting)
{
    /* 100,000 nested arrays */
    size_t n = 100000;
    unsigned char *deep = malloc(n + 1);
    ck_assert_ptr_nonnull(deep);
    memset(deep, 0x91, n);
    deep[n] = 0xc0;
    cs_error_t err;
    ck_assert_int_eq(s_try_raw(deep, n + 1, &err), CS_PERR_BAD_REQUEST);
    ck_assert_str_eq(err.msg, "array at offset 8 nests deeper than 8 levels");
    free(deep);

    /* {"op":"ping","x":[[...[]...]]}: the map is level 1, then k arrays */
    for (unsigned k = 6; k <= 9; k++) {
        s_buf_t b;
        s_buf_init(&b);
        s_strmap(&b, 1, "op", "ping", NULL);
        s_str(&b.pk, "x");
        for (unsigned i = 0; i + 1 < k; i++) {
            msgpack_pack_array(&b.pk, 1);
        }
        msgpack_pack_array(&b.pk, 0);
        cs_proto_err_t want = 1 + k <= CS_PROTO_MAX_DEPTH ? CS_PERR_NONE : CS_PERR_BAD_REQUEST;
        cs_request_t req;
        cs_request_init(&req);
        ck_assert_msg(s_decode(&req, &b, &err) == want, "depth %u: %s", 1 + k, err.msg);
        cs_request_release(&req);
        s_buf_fini(&b);
    }
    /* depth exactly 8 and 9 through the pre-scan alone */
    unsigned char d8[9], d9[10];
    memset(d8, 0x91, sizeof d8);
    d8[8] = 0x01;
    memset(d9, 0x91, sizeof d9);
    d9[9] = 0x01;
    ck_assert_int_eq(cs_proto_prescan(d8, sizeof d8, &err), CS_OK);
    ck_assert_int_eq(cs_proto_prescan(d9, sizeof d9, &err), CS_EMALFORMED);
}
END_TEST

START_TEST(test_prescan_accepts_every_type)
{
    s_buf_t b;
    s_buf_init(&b);
    msgpack_pack_array(&b.pk, 16);
    msgpack_pack_nil(&b.pk);
    msgpack_pack_true(&b.pk);
    msgpack_pack_uint64(&b.pk, UINT64_MAX);
    msgpack_pack_int64(&b.pk, INT64_MIN);
    msgpack_pack_float(&b.pk, 1.5f);
    msgpack_pack_double(&b.pk, 2.5);
    msgpack_pack_str(&b.pk, 300);
    static char filler[70000];
    msgpack_pack_str_body(&b.pk, filler, 300);
    msgpack_pack_bin(&b.pk, 70000);
    msgpack_pack_bin_body(&b.pk, filler, 70000);
    msgpack_pack_ext(&b.pk, 1, 5);
    msgpack_pack_ext_body(&b.pk, "abcd", 1);
    msgpack_pack_ext(&b.pk, 16, 5);
    msgpack_pack_ext_body(&b.pk, filler, 16);
    msgpack_pack_ext(&b.pk, 3, 5);
    msgpack_pack_ext_body(&b.pk, filler, 3);
    msgpack_pack_ext(&b.pk, 300, 5);
    msgpack_pack_ext_body(&b.pk, filler, 300);
    msgpack_pack_map(&b.pk, 20);
    for (int i = 0; i < 20; i++) {
        msgpack_pack_int(&b.pk, i);
        msgpack_pack_int(&b.pk, -i * 1000);
    }
    msgpack_pack_array(&b.pk, 0);
    msgpack_pack_map(&b.pk, 0);
    msgpack_pack_int8(&b.pk, -100);
    cs_error_t err;
    ck_assert_msg(cs_proto_prescan(b.sb.data, b.sb.size, &err) == CS_OK, "%s", err.msg);
    /* msgpack-c agrees the body is one whole object */
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    ck_assert_int_eq(msgpack_unpack_next(&u, b.sb.data, b.sb.size, &off),
                     MSGPACK_UNPACK_SUCCESS);
    ck_assert_uint_eq(off, b.sb.size);
    msgpack_unpacked_destroy(&u);
    /* and every strict prefix is refused */
    for (size_t cut = 0; cut < b.sb.size; cut += (cut < 400 ? 1 : 997)) {
        ck_assert_int_eq(cs_proto_prescan(b.sb.data, cut, &err), CS_EMALFORMED);
    }
    s_buf_fini(&b);
}
END_TEST

/* ---- batch items ---- */

/* One batch item {k1: v1, k2: v2, k3: v3[, k4: v4]} (k4 NULL: three pairs). */
static void s_item(msgpack_packer *pk, const char *k1, const char *v1, const char *k2,
                   const char *v2, const char *k3, const char *v3, const char *k4,
                   const char *v4)
{
    msgpack_pack_map(pk, k4 ? 4 : 3);
    const char *kv[8] = {k1, v1, k2, v2, k3, v3, k4, v4};
    for (int i = 0; i < (k4 ? 8 : 6); i++) {
        s_str(pk, kv[i]);
    }
}

/* An item without its texts' addresses (which differ between two bodies), for memcmp. */
static cs_request_t s_item_shape(const cs_request_t *it)
{
    cs_request_t r = *it;
    r.op_name.ptr = r.system.ptr = r.code.ptr = r.release.ptr = NULL;
    r.item_msg = NULL;
    return r;
}

/* A plain lookup item ({"op","system","code"} in that order, as the clients send it) is
 * decoded by a shortcut: it must come out as the general decoder makes the same item with
 * its keys in another order, and whatever the shortcut's checks refuse must still get the
 * general decoder's error. */
START_TEST(test_batch_plain_lookup_items)
{
    char long_code[CS_PROTO_MAX_STR + 2];
    memset(long_code, 'A', sizeof long_code - 1);
    long_code[sizeof long_code - 1] = '\0';
    s_buf_t b;
    s_buf_init(&b);
    msgpack_pack_map(&b.pk, 3);
    s_str(&b.pk, "id");
    msgpack_pack_uint64(&b.pk, 7);
    s_str(&b.pk, "op");
    s_str(&b.pk, "batch");
    s_str(&b.pk, "requests");
    msgpack_pack_array(&b.pk, 7);
    s_item(&b.pk, "op", "lookup", "system", "icd10cm", "code", "E11.9", NULL, NULL);
    s_item(&b.pk, "system", "icd10cm", "code", "E11.9", "op", "lookup", NULL, NULL);
    s_item(&b.pk, "op", "lookup", "system", "icd10cm", "code", "E1\x01", NULL, NULL);
    s_item(&b.pk, "op", "lookup", "system", "icd10cm", "code", long_code, NULL, NULL);
    s_item(&b.pk, "op", "lookup", "system", "icd10cm", "code", "E11.9", "release", "2021");
    s_item(&b.pk, "op", "validate", "system", "icd10cm", "code", "E11", NULL, NULL);
    s_item(&b.pk, "op", "lookup", "system", "icd10cm", "code", "", NULL, NULL);
    cs_request_t req;
    cs_request_init(&req);
    cs_error_t err;
    ck_assert_int_eq(s_decode(&req, &b, &err), CS_PERR_NONE);
    ck_assert_uint_eq(req.n_items, 7);
    const cs_request_t *it = req.items;
    cs_request_t a = s_item_shape(&it[0]), g = s_item_shape(&it[1]);
    ck_assert_int_eq(it[0].op, CS_OP_LOOKUP);
    ck_assert(s_streq(it[0].op_name, "lookup") && s_streq(it[1].op_name, "lookup"));
    ck_assert(s_streq(it[0].system, "icd10cm") && s_streq(it[0].code, "E11.9"));
    ck_assert(s_streq(it[1].system, "icd10cm") && s_streq(it[1].code, "E11.9"));
    ck_assert_msg(memcmp(&a, &g, sizeof a) == 0,
                  "the shortcut's item differs from the general one");
    ck_assert_int_eq(it[2].item_err, CS_PERR_BAD_REQUEST);
    ck_assert_ptr_nonnull(strstr(it[2].item_msg, "control character"));
    ck_assert_int_eq(it[3].item_err, CS_PERR_BAD_REQUEST);
    ck_assert_ptr_nonnull(strstr(it[3].item_msg, "bytes long"));
    ck_assert(it[4].item_err == CS_PERR_NONE && s_streq(it[4].release, "2021"));
    ck_assert(it[5].item_err == CS_PERR_NONE && it[5].op == CS_OP_VALIDATE && it[5].n_codes == 1);
    ck_assert(it[6].item_err == CS_PERR_NONE && it[6].code.len == 0);
    ck_assert_uint_eq(req.n_codes, 5); /* items 0, 1, 4, 5 and 6; the refused ones count none */
    cs_request_release(&req);
    cs_request_fini(&req);
    s_buf_fini(&b);
}
END_TEST

/* A batch body of n plain lookup items (codes from a list); top keys in the clients' order
 * (id, op, requests) or, with other_order, op first: the general decoder's. bad (>= 0): that
 * item's code holds a control character (DEL, in its first eight bytes: the shortcut reads
 * those as one word). */
static void s_plain_batch(s_buf_t *b, uint32_t n, int other_order, long bad)
{
    static const char *const codes[] = {"E11.9", "S72.001A", "XYZ", "", "e119", "A00"};
    msgpack_pack_map(&b->pk, 3);
    if (other_order) {
        s_str(&b->pk, "op");
        s_str(&b->pk, "batch");
    }
    s_str(&b->pk, "id");
    msgpack_pack_uint64(&b->pk, 300 + n);
    if (!other_order) {
        s_str(&b->pk, "op");
        s_str(&b->pk, "batch");
    }
    s_str(&b->pk, "requests");
    msgpack_pack_array(&b->pk, n);
    for (uint32_t i = 0; i < n; i++) {
        s_item(&b->pk, "op", "lookup", "system", "icd10cm", "code",
               (long)i == bad ? "S72.0\x7f" "1AXXXXXXXX" : codes[i % 6], NULL, NULL);
    }
}

/* A body of plain lookups is decoded from its bytes by a shortcut (cs_proto_plain.c): the
 * request must be the one the general decoder makes of the same body in another key order,
 * and whatever the shortcut does not take must still get the general decoder's answer. */
START_TEST(test_batch_plain_body)
{
    s_buf_t f, g;
    s_buf_init(&f);
    s_buf_init(&g);
    s_plain_batch(&f, 12, 0, -1);
    s_plain_batch(&g, 12, 1, -1);
    cs_request_t rf, rg;
    cs_request_init(&rf);
    cs_request_init(&rg);
    ck_assert_int_eq(cs_request_decode_plain_batch(&rf, f.sb.data, f.sb.size), 1);
    ck_assert_int_eq(cs_request_decode_plain_batch(&rg, g.sb.data, g.sb.size), 0);
    cs_request_release(&rf);
    cs_request_release(&rg);
    cs_error_t err;
    ck_assert_int_eq(s_decode(&rf, &f, &err), CS_PERR_NONE);
    ck_assert_int_eq(s_decode(&rg, &g, &err), CS_PERR_NONE);
    ck_assert(rf.has_id && rg.has_id && rf.id.type == rg.id.type && rf.id.via.u == rg.id.via.u);
    ck_assert(rf.op == rg.op && rf.op == CS_OP_BATCH && s_streq(rf.op_name, "batch"));
    ck_assert(rf.n_items == 12 && rg.n_items == 12 && rf.n_codes == rg.n_codes);
    ck_assert(rf.limit == rg.limit && rf.include == rg.include && rf.n_claims == rg.n_claims);
    for (uint32_t i = 0; i < 12; i++) {
        cs_request_t a = s_item_shape(&rf.items[i]), b = s_item_shape(&rg.items[i]);
        ck_assert_msg(memcmp(&a, &b, sizeof a) == 0, "item %u differs", i);
        ck_assert(rf.items[i].code.len == rg.items[i].code.len &&
                  memcmp(rf.items[i].code.ptr, rg.items[i].code.ptr, rf.items[i].code.len) == 0);
    }
    cs_request_release(&rf);
    cs_request_release(&rg);
    /* what the shortcut leaves: an item the checks refuse, too many items, none */
    s_buf_t bad, many, none;
    s_buf_init(&bad);
    s_buf_init(&many);
    s_buf_init(&none);
    s_plain_batch(&bad, 5, 0, 3);
    s_plain_batch(&many, CS_PROTO_MAX_ITEMS + 1, 0, -1);
    s_plain_batch(&none, 0, 0, -1);
    ck_assert_int_eq(s_decode(&rf, &bad, &err), CS_PERR_NONE);
    ck_assert(rf.n_items == 5 && rf.items[3].item_err == CS_PERR_BAD_REQUEST && rf.n_codes == 4);
    ck_assert_int_eq(rf.items[2].item_err, CS_PERR_NONE);
    cs_request_release(&rf);
    ck_assert_int_eq(s_decode(&rf, &many, &err), CS_PERR_TOO_MANY);
    cs_request_release(&rf);
    ck_assert_int_eq(s_decode(&rf, &none, &err), CS_PERR_NONE);
    ck_assert_uint_eq(rf.n_items, 0);
    cs_request_release(&rf);
    cs_request_fini(&rf);
    cs_request_fini(&rg);
    s_buf_fini(&f);
    s_buf_fini(&g);
    s_buf_fini(&bad);
    s_buf_fini(&many);
    s_buf_fini(&none);
}
END_TEST

/* A whole request without its texts' and memory's addresses, for memcmp. */
static cs_request_t s_request_shape(const cs_request_t *req)
{
    cs_request_t r = s_item_shape(req);
    r.zone_ = NULL;
    r.reuse_ = 0;
    return r;
}

/* body decoded by the shortcut, then the same pairs in reverse order by the general decoder
 * (no client's order, so the shortcut leaves it): the two requests must be one */
static void s_same_as_general(const void *body, size_t len)
{
    cs_request_t fast, gen;
    cs_request_init(&fast);
    cs_request_init(&gen);
    ck_assert_int_eq(cs_request_decode_plain_lookup(&fast, body, len), 1);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    ck_assert_int_eq(msgpack_unpack_next(&u, body, len, NULL), MSGPACK_UNPACK_SUCCESS);
    const msgpack_object_map *m = &u.data.via.map;
    s_buf_t rev;
    s_buf_init(&rev);
    msgpack_pack_map(&rev.pk, m->size);
    for (uint32_t i = m->size; i-- > 0;) {
        msgpack_pack_object(&rev.pk, m->ptr[i].key);
        msgpack_pack_object(&rev.pk, m->ptr[i].val);
    }
    ck_assert_int_eq(cs_request_decode_plain_lookup(&gen, rev.sb.data, rev.sb.size), 0);
    cs_error_t err;
    ck_assert_int_eq(s_decode(&gen, &rev, &err), CS_PERR_NONE);
    cs_request_t a = s_request_shape(&fast), g = s_request_shape(&gen);
    ck_assert_msg(memcmp(&a, &g, sizeof a) == 0, "the shortcut's request differs");
    ck_assert(fast.system.len == gen.system.len &&
              memcmp(fast.system.ptr, gen.system.ptr, gen.system.len) == 0);
    ck_assert(fast.code.len == gen.code.len &&
              memcmp(fast.code.ptr, gen.code.ptr, gen.code.len) == 0);
    cs_request_release(&gen);
    cs_request_fini(&gen);
    cs_request_fini(&fast);
    s_buf_fini(&rev);
    msgpack_unpacked_destroy(&u);
}

/* A plain lookup, in the clients' shapes (the id first: libcsclient; last: the bench's and
 * Python's pipelines; none), is decoded from its bytes by a shortcut (cs_proto_plain.c): it
 * must be the request the general decoder makes, and any other shape or value must be left
 * to the general decoder, whose answer it keeps. */
START_TEST(test_plain_lookup_body)
{
    char long_code[CS_PROTO_MAX_STR + 2];
    memset(long_code, 'A', sizeof long_code - 1);
    long_code[sizeof long_code - 1] = '\0';
    s_buf_t first, last, none;
    s_buf_init(&first);
    s_buf_init(&last);
    s_buf_init(&none);
    msgpack_pack_map(&first.pk, 4);
    s_str(&first.pk, "id");
    msgpack_pack_uint64(&first.pk, UINT64_MAX);
    s_pairs_of(&first, "op", "lookup", "system", "icd10cm", "code", "S72.001A", NULL);
    s_strmap(&last, 1, "op", "lookup", "system", "icd10cm", "code", "", NULL);
    s_str(&last.pk, "id");
    msgpack_pack_uint64(&last.pk, 300);
    s_strmap(&none, 0, "op", "lookup", "system", "hcpcs", "code", " e11.9 ", NULL);
    s_same_as_general(first.sb.data, first.sb.size);
    s_same_as_general(last.sb.data, last.sb.size);
    s_same_as_general(none.sb.data, none.sb.size);
    cs_request_t req;
    cs_request_init(&req);
    cs_error_t err;
    ck_assert_int_eq(s_decode(&req, &first, &err), CS_PERR_NONE);
    ck_assert(req.has_id && req.id.type == CS_SCALAR_UINT && req.id.via.u == UINT64_MAX);
    ck_assert(req.op == CS_OP_LOOKUP && s_streq(req.code, "S72.001A"));
    cs_request_release(&req);
    ck_assert_int_eq(s_decode(&req, &none, &err), CS_PERR_NONE);
    ck_assert(!req.has_id && s_streq(req.system, "hcpcs") && s_streq(req.code, " e11.9 "));
    cs_request_release(&req);

    /* what the shortcut leaves, each with the general decoder's answer */
    struct {
        const char *k[5], *v[5];
        int id;          /* then an "id": -1 (an int, not a uint) */
        cs_proto_err_t want;
    } left[] = {
        {{"op", "system", "code"}, {"lookup", "icd10cm", "E1\x01"}, 0, CS_PERR_BAD_REQUEST},
        {{"op", "system", "code"}, {"lookup", "icd10cm", long_code}, 0, CS_PERR_BAD_REQUEST},
        {{"op", "system", "code"}, {"validate", "icd10cm", "E11.9"}, 0, CS_PERR_NONE},
        {{"op", "system", "code", "release"}, {"lookup", "icd10cm", "E11.9", "2021"}, 0,
         CS_PERR_NONE},
        {{"op", "system"}, {"lookup", "icd10cm"}, 0, CS_PERR_BAD_REQUEST},
        {{"op", "system", "code"}, {"lookup", "icd10cm", "E11.9"}, 1, CS_PERR_NONE},
        {{"op", "code", "system"}, {"lookup", "E11.9", "icd10cm"}, 0, CS_PERR_NONE},
        {{"op", "system", "code", "code"}, {"lookup", "icd10cm", "E11.9", "E11"}, 0,
         CS_PERR_BAD_REQUEST},
    };
    for (size_t i = 0; i < sizeof left / sizeof left[0]; i++) {
        s_buf_t b;
        s_buf_init(&b);
        uint32_t n = 0;
        while (n < 5 && left[i].k[n]) {
            n++;
        }
        msgpack_pack_map(&b.pk, n + (uint32_t)left[i].id);
        for (uint32_t k = 0; k < n; k++) {
            s_str(&b.pk, left[i].k[k]);
            s_str(&b.pk, left[i].v[k]);
        }
        if (left[i].id) {
            s_str(&b.pk, "id");
            msgpack_pack_int(&b.pk, -1);
        }
        cs_request_init(&req);
        ck_assert_msg(!cs_request_decode_plain_lookup(&req, b.sb.data, b.sb.size),
                      "shape %zu taken", i);
        ck_assert_msg(s_decode(&req, &b, &err) == left[i].want, "shape %zu: %s", i, err.msg);
        ck_assert(left[i].want != CS_PERR_NONE || req.op != CS_OP_LOOKUP || req.zone_ != NULL);
        cs_request_release(&req);
        cs_request_fini(&req);
        s_buf_fini(&b);
    }
    /* a byte after the map, and the map cut short */
    s_buf_t tail;
    s_buf_init(&tail);
    msgpack_sbuffer_write(&tail.sb, last.sb.data, last.sb.size);
    msgpack_pack_nil(&tail.pk);
    cs_request_init(&req);
    ck_assert(!cs_request_decode_plain_lookup(&req, tail.sb.data, tail.sb.size));
    ck_assert_int_eq(s_decode(&req, &tail, &err), CS_PERR_BAD_REQUEST);
    cs_request_release(&req);
    for (size_t cut = 0; cut < last.sb.size; cut++) {
        ck_assert(!cs_request_decode_plain_lookup(&req, last.sb.data, cut));
    }
    cs_request_fini(&req);
    s_buf_fini(&tail);
    s_buf_fini(&first);
    s_buf_fini(&last);
    s_buf_fini(&none);
}
END_TEST

/* ---- the look-ahead's glance (cs_proto_peek_lookup) ---- */

/* body copied into a buffer of exactly its size (so that ASan sees a read past it), peeked */
static int s_peek(const void *body, size_t len, cs_str_t *system, cs_str_t *code)
{
    void *copy = malloc(len ? len : 1);
    memcpy(copy, body, len);
    int r = cs_proto_peek_lookup(copy, len, system, code);
    if (r) { /* the spans are the copy's: take them back into body */
        system->ptr = (const char *)body + (system->ptr - (const char *)copy);
        code->ptr = (const char *)body + (code->ptr - (const char *)copy);
    }
    free(copy);
    return r;
}

START_TEST(test_peek_lookup)
{
    cs_str_t sys, code;
    s_buf_t b;
    /* a plain lookup, in any key order, with an id (of any width) or a version */
    s_buf_init(&b);
    s_strmap(&b, 2, "op", "lookup", "system", "icd10cm", "code", "E11.9", NULL);
    s_str(&b.pk, "id");
    msgpack_pack_uint64(&b.pk, UINT64_MAX);
    s_str(&b.pk, "v");
    msgpack_pack_int(&b.pk, 1);
    ck_assert_int_eq(s_peek(b.sb.data, b.sb.size, &sys, &code), 1);
    ck_assert(s_streq(sys, "icd10cm") && s_streq(code, "E11.9"));
    /* every shorter body is cut inside the map: no */
    for (size_t n = 0; n < b.sb.size; n++) {
        ck_assert_msg(s_peek(b.sb.data, n, &sys, &code) == 0, "cut at %zu", n);
    }
    s_buf_fini(&b);
    s_buf_init(&b);
    s_strmap(&b, 1, "code", "A00", "system", "icd10pcs", "op", "lookup", NULL);
    s_str(&b.pk, "id");
    msgpack_pack_int(&b.pk, 7);
    ck_assert_int_eq(s_peek(b.sb.data, b.sb.size, &sys, &code), 1);
    ck_assert(s_streq(sys, "icd10pcs") && s_streq(code, "A00"));
    s_buf_fini(&b);
    /* not a plain lookup in the current release: no */
    static const char *const no[][8] = {
        {"op", "lookup", "system", "icd10cm", "code", "E11.9", "release", "2021"},
        {"op", "lookup", "system", "icd10cm", "code", "E11.9", "date", "2021-03-01"},
        {"op", "validate", "system", "icd10cm", "code", "E11.9", NULL, NULL},
        {"op", "lookup", "system", "icd10cm", NULL, NULL, NULL, NULL},
        {"op", "lookup", "code", "E11.9", NULL, NULL, NULL, NULL},
        {"system", "icd10cm", "code", "E11.9", NULL, NULL, NULL, NULL},
        {"op", "lookup", "system", "icd10cm", "code", "", NULL, NULL},
        {"op", "lookup", "system", "icd10cm", "code", "E11\x01", NULL, NULL},
        {"op", "lookup", "system", "icd10cm", "code", "E11.9 and a great deal more text",
         NULL, NULL},
    };
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        s_buf_init(&b);
        uint32_t pairs = 0;
        while (pairs < 4 && no[i][2 * pairs]) {
            pairs++;
        }
        msgpack_pack_map(&b.pk, pairs);
        for (uint32_t k = 0; k < pairs; k++) {
            s_str(&b.pk, no[i][2 * k]);
            s_str(&b.pk, no[i][2 * k + 1]);
        }
        ck_assert_msg(s_peek(b.sb.data, b.sb.size, &sys, &code) == 0, "case %zu", i);
        s_buf_fini(&b);
    }
    /* a code of 31 bytes (a fixstr) is glanced at, 32 (a str8) is not; nor a value it does
     * not read (an array), a map16 header, a key that is not a fixstr */
    const char *c32 = "E11.9 with spaces, 32 bytes long";
    ck_assert_uint_eq(strlen(c32), 32);
    s_buf_init(&b);
    s_strmap(&b, 0, "op", "lookup", "system", "icd10cm", "code", c32 + 1, NULL);
    ck_assert_int_eq(s_peek(b.sb.data, b.sb.size, &sys, &code), 1);
    ck_assert(s_streq(code, c32 + 1));
    s_buf_fini(&b);
    s_buf_init(&b);
    s_strmap(&b, 0, "op", "lookup", "system", "icd10cm", "code", c32, NULL);
    ck_assert_int_eq(s_peek(b.sb.data, b.sb.size, &sys, &code), 0);
    s_buf_fini(&b);
    s_buf_init(&b);
    s_strmap(&b, 1, "op", "lookup", "system", "icd10cm", "code", "E11.9", NULL);
    s_str(&b.pk, "include");
    msgpack_pack_array(&b.pk, 1);
    s_str(&b.pk, "notes");
    ck_assert_int_eq(s_peek(b.sb.data, b.sb.size, &sys, &code), 0);
    s_buf_fini(&b);
    static const unsigned char map16[] = "\xde\x00\x03\xa2op\xa6lookup\xa6system\xa7icd10cm"
                                         "\xa4" "code" "\xa3" "A00";
    ck_assert_int_eq(s_peek(map16, sizeof map16 - 1, &sys, &code), 0);
    ck_assert_int_eq(s_peek(map16 + 2, sizeof map16 - 3, &sys, &code), 0); /* a fixint */
    static const unsigned char long_key[] = "\x83\xbfop";
    ck_assert_int_eq(s_peek(long_key, sizeof long_key - 1, &sys, &code), 0);
}
END_TEST

/* ---- names ---- */

START_TEST(test_names)
{
    ck_assert_str_eq(cs_proto_errname(CS_PERR_BAD_REQUEST), "bad_request");
    ck_assert_str_eq(cs_proto_errname(CS_PERR_UNKNOWN_OP), "unknown_op");
    ck_assert_str_eq(cs_proto_errname(CS_PERR_UNSUPPORTED_VERSION), "unsupported_version");
    ck_assert_str_eq(cs_proto_errname(CS_PERR_UNKNOWN_SYSTEM), "unknown_system");
    ck_assert_str_eq(cs_proto_errname(CS_PERR_UNKNOWN_RELEASE), "unknown_release");
    ck_assert_str_eq(cs_proto_errname(CS_PERR_NO_RELEASE_FOR_DATE), "no_release_for_date");
    ck_assert_str_eq(cs_proto_errname(CS_PERR_TOO_MANY), "too_many");
    ck_assert_str_eq(cs_proto_errname(CS_PERR_FORBIDDEN), "forbidden");
    ck_assert_str_eq(cs_proto_errname(CS_PERR_BUSY), "busy");
    ck_assert_str_eq(cs_proto_errname(CS_PERR_LOAD_FAILED), "load_failed");
    ck_assert_str_eq(cs_proto_errname(CS_PERR_CORRUPT_RELEASE), "corrupt_release");
    ck_assert_str_eq(cs_proto_errname(CS_PERR_INTERNAL), "internal");
    ck_assert_ptr_nonnull(cs_proto_errname((cs_proto_err_t)999));
    ck_assert_ptr_nonnull(cs_proto_errname(CS_PERR_NONE));

    static const char *ops[] = {"ping", "lookup", "validate", "search", "crosswalk", "releases",
                                "diff", "stats", "index", "load", "job", "retire", "drop",
                                "plugins", "cancel", "verify", "batch", "claim", "claims"};
    ck_assert_uint_eq(sizeof ops / sizeof ops[0], CS_OP_COUNT_ - 1);
    for (int op = CS_OP_PING; op < CS_OP_COUNT_; op++) {
        ck_assert_str_eq(cs_proto_opname((cs_op_t)op), ops[op - 1]);
        int admin = op == CS_OP_LOAD || op == CS_OP_JOB || op == CS_OP_RETIRE
                    || op == CS_OP_DROP || op == CS_OP_PLUGINS || op == CS_OP_CANCEL
                    || op == CS_OP_VERIFY;
        ck_assert_int_eq(cs_proto_op_is_admin((cs_op_t)op), admin);
    }
    ck_assert_ptr_nonnull(cs_proto_opname(CS_OP_UNKNOWN));
    ck_assert_ptr_nonnull(cs_proto_opname((cs_op_t)-1));
    ck_assert_ptr_nonnull(cs_proto_opname(CS_OP_COUNT_));
    ck_assert_int_eq(cs_proto_op_is_admin(CS_OP_UNKNOWN), 0);
}
END_TEST

/* ---- reply helpers ---- */

static const msgpack_object *s_get(const msgpack_object *map, const char *key)
{
    ck_assert_int_eq(map->type, MSGPACK_OBJECT_MAP);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen(key)
            && memcmp(k->via.str.ptr, key, k->via.str.size) == 0) {
            return &map->via.map.ptr[i].val;
        }
    }
    return NULL;
}

static int s_obj_streq(const msgpack_object *o, const char *want)
{
    return o != NULL && o->type == MSGPACK_OBJECT_STR && o->via.str.size == strlen(want)
           && memcmp(o->via.str.ptr, want, o->via.str.size) == 0;
}

START_TEST(test_reply_helpers)
{
    msgpack_sbuffer out;
    msgpack_sbuffer_init(&out);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &out, msgpack_sbuffer_write);
    cs_out_msgpack_t w;
    cs_out_t *o = cs_out_msgpack_init(&w, &pk);

    /* a success reply without id */
    cs_request_t req;
    cs_request_init(&req);
    cs_reply_begin(o, &req, 1, 5);
    cs_out_kv_str(o, "code", "E11.9");
    cs_out_kv_str(o, "parent", NULL);
    cs_out_kv_int(o, "total", -3);
    cs_out_kv_bool(o, "billable", 7);
    cs_out_cstr(o, "input");
    cs_out_strn(o, "e119xyz", 4);

    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    ck_assert_int_eq(msgpack_unpack_next(&u, out.data, out.size, &off), MSGPACK_UNPACK_SUCCESS);
    ck_assert_uint_eq(off, out.size);
    ck_assert_uint_eq(u.data.via.map.size, 6);
    const msgpack_object *ok = s_get(&u.data, "ok");
    ck_assert(ok && ok->type == MSGPACK_OBJECT_BOOLEAN && ok->via.boolean);
    ck_assert_ptr_null(s_get(&u.data, "id"));
    ck_assert(s_obj_streq(s_get(&u.data, "code"), "E11.9"));
    ck_assert_int_eq(s_get(&u.data, "parent")->type, MSGPACK_OBJECT_NIL);
    ck_assert_int_eq(s_get(&u.data, "total")->via.i64, -3);
    ck_assert(s_get(&u.data, "billable")->via.boolean);
    ck_assert(s_obj_streq(s_get(&u.data, "input"), "e119"));

    /* an error reply echoing a str id, and one with no request at all */
    msgpack_sbuffer_clear(&out);
    s_buf_t b;
    s_buf_init(&b);
    s_strmap(&b, 0, "op", "lookup", "id", "abc", NULL);
    cs_error_t err;
    cs_proto_err_t e = s_decode(&req, &b, &err);
    ck_assert_int_eq(e, CS_PERR_BAD_REQUEST);
    cs_reply_error(o, &req, e, err.msg);
    cs_reply_error(o, NULL, CS_PERR_INTERNAL, NULL);
    cs_request_release(&req);
    s_buf_fini(&b);

    off = 0;
    ck_assert_int_eq(msgpack_unpack_next(&u, out.data, out.size, &off), MSGPACK_UNPACK_SUCCESS);
    ck_assert_uint_eq(u.data.via.map.size, 3);
    ck_assert(!s_get(&u.data, "ok")->via.boolean);
    ck_assert(s_obj_streq(s_get(&u.data, "id"), "abc"));
    const msgpack_object *eo = s_get(&u.data, "error");
    ck_assert_ptr_nonnull(eo);
    ck_assert_uint_eq(eo->via.map.size, 2);
    ck_assert(s_obj_streq(s_get(eo, "code"), "bad_request"));
    ck_assert(s_obj_streq(s_get(eo, "message"), "lookup needs \"system\""));

    ck_assert_int_eq(msgpack_unpack_next(&u, out.data, out.size, &off), MSGPACK_UNPACK_SUCCESS);
    ck_assert_uint_eq(off, out.size);
    ck_assert_uint_eq(u.data.via.map.size, 2);
    ck_assert_ptr_null(s_get(&u.data, "id"));
    eo = s_get(&u.data, "error");
    ck_assert(s_obj_streq(s_get(eo, "code"), "internal"));
    ck_assert_int_eq(s_get(eo, "message")->type, MSGPACK_OBJECT_STR);

    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&out);
}
END_TEST

/* ---- random mutations ---- */

/* xorshift64*: reproducible without touching the libc generator. */
static uint64_t s_rand(uint64_t *st)
{
    *st ^= *st >> 12;
    *st ^= *st << 25;
    *st ^= *st >> 27;
    return *st * 2685821657736338717ULL;
}

START_TEST(test_random_mutations)
{
    /* a few valid requests to start from */
    s_buf_t seeds[8];
    for (unsigned i = 0; i < 8; i++) {
        s_buf_init(&seeds[i]);
    }
    s_strmap(&seeds[0], 2, "op", "lookup", "system", "icd10cm", "code", "S72.001A", NULL);
    s_str(&seeds[0].pk, "include");
    msgpack_pack_array(&seeds[0].pk, 2);
    s_str(&seeds[0].pk, "notes");
    s_str(&seeds[0].pk, "children");
    s_str(&seeds[0].pk, "id");
    msgpack_pack_int(&seeds[0].pk, 12345);
    s_pack_codes(&seeds[1], 6);
    s_strmap(&seeds[2], 3, "op", "search", "system", "icd10cm", "q", "diab mel", NULL);
    s_str(&seeds[2].pk, "limit");
    msgpack_pack_int(&seeds[2].pk, 20);
    s_str(&seeds[2].pk, "offset");
    msgpack_pack_int(&seeds[2].pk, 40);
    s_str(&seeds[2].pk, "billable_only");
    msgpack_pack_false(&seeds[2].pk);
    s_pack_load(&seeds[3], 2);
    s_strmap(&seeds[4], 0, "op", "validate", "system", "icd10cm", "code", "E11.9", "date",
             "2021-03-01", "release", "2021", NULL);
    s_plain_batch(&seeds[5], 4, 0, -1); /* cs_proto_plain.c's shape */
    s_strmap(&seeds[6], 1, "op", "lookup", "system", "icd10cm", "code", "E11.9", NULL);
    s_str(&seeds[6].pk, "id"); /* a pipelining client's lookup (cs_proto_peek_lookup) */
    msgpack_pack_int(&seeds[6].pk, 77);
    msgpack_pack_map(&seeds[7].pk, 4); /* libcsclient's lookup: the id first */
    s_str(&seeds[7].pk, "id");
    msgpack_pack_int(&seeds[7].pk, 78);
    s_pairs_of(&seeds[7], "op", "lookup", "system", "icd10cm", "code", "E11.9", NULL);

    static const unsigned char magic[] = {0xc1, 0xdd, 0xdf, 0xdb, 0xc6, 0xc9, 0xd8, 0xff,
                                          0x00, 0x7f, 0x80, 0x9f, 0xbf, 0xc0, 0xcf, 0xd3};
    unsigned char buf[512];
    uint64_t st = 0x9e3779b97f4a7c15ULL;
    unsigned counts[CS_PERR_INTERNAL + 1] = {0}, peeked = 0, shortcut = 0;
    cs_request_t req;
    cs_request_init(&req);
    for (unsigned iter = 0; iter < 300000; iter++) {
        const s_buf_t *seed = &seeds[s_rand(&st) % 8];
        size_t n = seed->sb.size < sizeof buf ? seed->sb.size : sizeof buf;
        memcpy(buf, seed->sb.data, n);
        unsigned muts = 1 + (unsigned)(s_rand(&st) % 4);
        for (unsigned m = 0; m < muts && n > 0; m++) {
            uint64_t r = s_rand(&st);
            size_t at = (size_t)(r >> 8) % n;
            switch (r & 7) {
            case 0: buf[at] ^= (unsigned char)(1u << ((r >> 40) & 7)); break;
            case 1: buf[at] = (unsigned char)(r >> 32); break;
            case 2: buf[at] = magic[(r >> 32) % sizeof magic]; break;
            case 3: n = at; break; /* truncate */
            case 4:                /* delete one byte */
                memmove(buf + at, buf + at + 1, n - at - 1);
                n--;
                break;
            case 5: /* insert one byte */
                if (n < sizeof buf) {
                    memmove(buf + at + 1, buf + at, n - at);
                    buf[at] = (unsigned char)(r >> 32);
                    n++;
                }
                break;
            case 6: /* 0xff-fill a length field */
                for (size_t k = at; k < n && k < at + 4; k++) {
                    buf[k] = 0xff;
                }
                break;
            default: buf[at] = (unsigned char)(buf[at] + 1); break;
            }
        }
        cs_error_t err;
        cs_proto_err_t e = cs_request_decode(&req, buf, n, &err);
        ck_assert_int_le(e, CS_PERR_INTERNAL);
        counts[e]++;
        /* the look-ahead's glance reads within the body, and a lookup it takes is the one the
         * decoder makes of the same body, when the decoder takes it */
        cs_request_t fast;
        cs_request_init(&fast);
        if (cs_request_decode_plain_lookup(&fast, buf, n)) {
            shortcut++;
            ck_assert_int_eq(e, CS_PERR_NONE);
            s_same_as_general(buf, n);
        }
        cs_str_t psys, pcode;
        if (cs_proto_peek_lookup(buf, n, &psys, &pcode)) {
            peeked++;
            const char *lo = (const char *)buf, *hi = lo + n;
            ck_assert(psys.ptr >= lo && psys.ptr + psys.len <= hi);
            ck_assert(pcode.ptr >= lo && pcode.ptr + pcode.len <= hi);
            ck_assert(e != CS_PERR_NONE ||
                      (req.op == CS_OP_LOOKUP && req.system.ptr == psys.ptr &&
                       req.system.len == psys.len && req.code.ptr == pcode.ptr &&
                       req.code.len == pcode.len));
        }
        if (e == CS_PERR_NONE) {
            /* read everything a handler could read (a batch's codes are its items') */
            for (uint32_t i = 0; req.op != CS_OP_BATCH && i < req.n_codes; i++) {
                cs_str_t c = cs_request_code_at(&req, i);
                ck_assert(c.ptr != NULL && c.len <= CS_PROTO_MAX_STR);
            }
            for (uint32_t i = 0; req.op == CS_OP_BATCH && i < req.n_items; i++) {
                const cs_request_t *it = &req.items[i];
                ck_assert(it->item_err != CS_PERR_NONE ||
                          (it->code.len <= CS_PROTO_MAX_STR && it->system.ptr != NULL));
            }
            for (uint32_t i = 0; i < req.n_files; i++) {
                ck_assert_ptr_nonnull(cs_request_file_at(&req, i).ptr);
            }
            ck_assert(req.limit == -1 || (req.limit >= 1 && req.limit <= CS_PROTO_MAX_LIMIT));
            ck_assert_int_ge(req.offset, 0);
        } else {
            ck_assert(err.msg[0] != '\0');
        }
        cs_request_release(&req);
    }
    /* both outcomes were exercised */
    ck_assert_uint_gt(counts[CS_PERR_NONE], 1000);
    ck_assert_uint_gt(counts[CS_PERR_BAD_REQUEST], 1000);
    ck_assert_uint_gt(peeked, 1000);
    ck_assert_uint_gt(shortcut, 1000);
    for (unsigned i = 0; i < 8; i++) {
        s_buf_fini(&seeds[i]);
    }
}
END_TEST

Suite *cs_proto_suite(void);
Suite *cs_proto_suite(void)
{
    Suite *s = suite_create("proto");
    TCase *tc = tcase_create("requests");
    tcase_add_test(tc, test_lookup_fields);
    tcase_add_loop_test(tc, test_each_op_and_its_required_keys, 0,
                        (int)(sizeof s_ops / sizeof s_ops[0]));
    tcase_add_test(tc, test_validate_code_or_codes);
    tcase_add_test(tc, test_codes_limit);
    tcase_add_test(tc, test_reusable_request_decodes_in_turn);
    tcase_add_test(tc, test_valid_result_bytes);
    tcase_add_test(tc, test_load_files);
    tcase_add_test(tc, test_id_echo);
    tcase_add_test(tc, test_id_must_be_scalar);
    tcase_add_test(tc, test_id_echoed_on_later_errors);
    tcase_add_test(tc, test_version);
    tcase_add_test(tc, test_op_rules);
    tcase_add_test(tc, test_duplicate_and_non_str_keys);
    suite_add_tcase(s, tc);

    tc = tcase_create("types and bounds");
    tcase_add_test(tc, test_str_keys_type_checked);
    tcase_add_test(tc, test_control_characters_and_lengths);
    tcase_add_test(tc, test_limit_and_offset);
    tcase_add_test(tc, test_billable_only_and_include);
    tcase_add_test(tc, test_dates);
    suite_add_tcase(s, tc);

    tc = tcase_create("hostile bodies");
    tcase_add_test(tc, test_not_a_map_empty_trailing);
    tcase_add_test(tc, test_huge_headers);
    tcase_add_test(tc, test_deep_nesting);
    tcase_add_test(tc, test_prescan_accepts_every_type);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    tc = tcase_create("names and replies");
    tcase_add_test(tc, test_batch_plain_lookup_items);
    tcase_add_test(tc, test_batch_plain_body);
    tcase_add_test(tc, test_plain_lookup_body);
    tcase_add_test(tc, test_peek_lookup);
    tcase_add_test(tc, test_names);
    tcase_add_test(tc, test_reply_helpers);
    suite_add_tcase(s, tc);

    tc = tcase_create("random mutations");
    tcase_add_test(tc, test_random_mutations);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}
