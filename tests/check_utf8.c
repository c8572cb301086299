/* check_utf8.c: requests carrying invalid UTF-8 in every op's string keys get replies that a
 * strict decoder reads: every str of every reply is UTF-8, with U+FFFD where the request's
 * bytes were ill-formed (one per maximal subpart, as Python and the WHATWG decoders count),
 * and a str id that is not UTF-8 comes back as bin, byte for byte. A real codesetd on the
 * bundled ICD-10-CM sample answers; python3-msgpack with raw=False (strict) reads every reply
 * it sent, and the test checks where the replacement characters are. */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cs_daemon.h"
#include "cs_test.h"

#define T_TIMEOUT 10000
#define R "\xef\xbf\xbd" /* U+FFFD */

Suite *cs_utf8_suite(void);

/* Ill-formed bytes, and what a strict decoder with replacement makes of them. */
typedef struct t_bad {
    const char *what;
    const char *raw;
    const char *fixed;
} t_bad_t;

static const t_bad_t s_bad[] = {
    {"lone continuation byte", "\x80", R},
    {"two continuation bytes", "\x80\xbf", R R},
    {"overlong 2-byte /", "\xc0\xaf", R R},
    {"overlong 3-byte", "\xe0\x80\xaf", R R R},
    {"overlong 4-byte", "\xf0\x80\x80\xaf", R R R R},
    {"surrogate U+D800", "\xed\xa0\x80", R R R},
    {"truncated 3-byte", "\xe2\x82", R},
    {"truncated 4-byte", "\xf0\x9f\x98", R},
    {"0xff", "\xff", R},
    {"0xfe 0xfe", "\xfe\xfe", R R},
    {"past U+10FFFF", "\xf4\x90\x80\x80", R R R R},
    {"valid then a lone lead", "\xc3\xa9\xc3", "\xc3\xa9" R},
    /* well-formed text is echoed as it came */
    {"valid 2- and 4-byte", "\xc3\xa9\xf0\x9f\x98\x80", "\xc3\xa9\xf0\x9f\x98\x80"},
};
#define N_BAD (sizeof s_bad / sizeof s_bad[0])

static cs_daemon_t s_d;
static FILE *s_replies; /* every reply's bytes, one after another, for the strict decoder */
static size_t s_n_replies;
static char s_replies_path[700];
static char s_order[PATH_MAX + 80]; /* the sample's order file */

static void s_setup(void)
{
    memset(&s_d, 0, sizeof s_d);
    ck_assert_int_eq(cs_daemon_start(&s_d, NULL), 0);
    cs_tclient_t *admin = cs_tclient_new(s_d.admin_ep);
    char cwd[PATH_MAX], xml[PATH_MAX + 80], order[PATH_MAX + 80], state[64];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    snprintf(xml, sizeof xml, "%s/loaders/icd10cm-tabular/sample/icd10cm_tabular_sample.xml",
             cwd);
    snprintf(order, sizeof order, "%s/loaders/icd10cm-tabular/sample/icd10cm_order_sample.txt",
             cwd);
    snprintf(s_order, sizeof s_order, "%s", order);
    const char *files[] = {xml, order};
    ck_assert_ptr_nonnull(cs_daemon_load(&s_d, admin, NULL, "2021", "2020-10-01", files, 2,
                                         state, sizeof state, 60000));
    ck_assert_str_eq(state, "done");
    cs_tclient_destroy(&admin);
    snprintf(s_replies_path, sizeof s_replies_path, "%s/replies.msgpack", s_d.dir);
}

static void s_teardown(void)
{
    cs_daemon_stop(&s_d);
    cs_daemon_cleanup(&s_d);
}

/* Send what c's packer holds; keep the reply's bytes for the strict decoder. */
static const msgpack_object *s_call(cs_tclient_t *c)
{
    const msgpack_object *r = cs_tclient_call(c, T_TIMEOUT);
    ck_assert_msg(r != NULL, "no reply");
    size_t len;
    const void *raw = cs_tclient_last_raw(c, &len);
    ck_assert_uint_eq(fwrite(raw, 1, len, s_replies), len);
    s_n_replies++;
    return r;
}

/* A str of n bytes (not NUL-terminated), packed as is. */
static void s_pack_bytes(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

/* Whether o is the str s. */
static int s_is(const msgpack_object *o, const char *s)
{
    return cs_obj_is_str(o, s);
}

/* The error message of reply r contains want. */
static void s_message_has(const msgpack_object *r, const char *want, const char *what)
{
    char msg[1024];
    cs_obj_cstr(cs_obj_get(cs_obj_get(r, "error"), "message"), msg, sizeof msg);
    ck_assert_msg(strstr(msg, want) != NULL, "%s: message \"%s\" lacks \"%s\"", what, msg, want);
}

/* The error of load reply r contains want: at once, or, for a load accepted before its
 * files were looked at (that happens on the load thread), in its job's error. */
static void s_load_error_has(cs_tclient_t *a, const msgpack_object *r, const char *want,
                             const char *what)
{
    char job[64];
    if (!cs_obj_true(cs_obj_get(r, "ok"))) {
        s_message_has(r, want, what);
        return;
    }
    cs_obj_cstr(cs_obj_get(r, "job"), job, sizeof job);
    for (int tries = 0; tries < 600; tries++) {
        msgpack_packer *pk = cs_tclient_begin(a);
        msgpack_pack_map(pk, 2);
        cs_tpack_kv(pk, "op", "job");
        cs_tpack_kv(pk, "job", job);
        const msgpack_object *j = s_call(a);
        if (!cs_obj_is_str(cs_obj_get(j, "state"), "running")) {
            s_message_has(j, want, what);
            return;
        }
        usleep(50000);
    }
    ck_abort_msg("%s: the load job did not end", what);
}

/* One request of str keys and values: kv holds key, value, key, value..., NULL. */
static const msgpack_object *s_req(cs_tclient_t *c, const char *const *kv)
{
    uint32_t n = 0;
    while (kv[2 * n]) {
        n++;
    }
    msgpack_packer *pk = cs_tclient_begin(c);
    msgpack_pack_map(pk, n);
    for (uint32_t i = 0; i < n; i++) {
        cs_tpack_str(pk, kv[2 * i]);
        s_pack_bytes(pk, kv[2 * i + 1]);
    }
    return s_call(c);
}
#define REQ(c, ...) s_req((c), (const char *const[]){__VA_ARGS__, NULL})

/* Run the strict decoder over every reply kept; it must read exactly s_n_replies objects. */
static void s_strict_decode_all(void)
{
    ck_assert_int_eq(fflush(s_replies), 0);
    const char *py = getenv("PYTHON3") ? getenv("PYTHON3") : "/usr/bin/python3";
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "%s -c 'import sys, msgpack\n"
             "u = msgpack.Unpacker(open(sys.argv[1], \"rb\"), raw=False, strict_map_key=False,"
             " max_buffer_size=1 << 26)\n"
             "print(sum(1 for _ in u))' %s 2>&1",
             py, s_replies_path);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    char out[4096] = "";
    size_t got = fread(out, 1, sizeof out - 1, p);
    out[got] = '\0';
    int st = pclose(p);
    char want[32];
    snprintf(want, sizeof want, "%zu\n", s_n_replies);
    ck_assert_msg(st == 0 && strcmp(out, want) == 0,
                  "python3-msgpack (raw=False) could not read the %zu replies: %s", s_n_replies,
                  out);
}

START_TEST(test_query_ops_echo_utf8)
{
    s_n_replies = 0;
    s_replies = fopen(s_replies_path, "wb");
    ck_assert_ptr_nonnull(s_replies);
    cs_tclient_t *q = cs_tclient_new(s_d.query_ep);
    for (size_t b = 0; b < N_BAD; b++) {
        const t_bad_t *t = &s_bad[b];
        char raw[64], fixed[64], msg[128];
        snprintf(raw, sizeof raw, "E1%s1.9", t->raw);
        snprintf(fixed, sizeof fixed, "E1%s1.9", t->fixed);

        /* lookup: a malformed code's "code" is the input */
        const msgpack_object *r = REQ(q, "op", "lookup", "system", "icd10cm", "code", raw);
        ck_assert_msg(s_is(cs_obj_get(r, "code"), fixed), "lookup code, %s", t->what);
        /* validate, one code and several: "input" (and "code") of each result */
        r = REQ(q, "op", "validate", "system", "icd10cm", "code", raw);
        const msgpack_object *res = cs_obj_get(r, "results");
        ck_assert_msg(res && res->via.array.size == 1, "validate code, %s", t->what);
        ck_assert_msg(s_is(cs_obj_get(&res->via.array.ptr[0], "input"), fixed),
                      "validate input, %s", t->what);
        msgpack_packer *pk = cs_tclient_begin(q);
        msgpack_pack_map(pk, 3);
        cs_tpack_kv(pk, "op", "validate");
        cs_tpack_kv(pk, "system", "icd10cm");
        cs_tpack_str(pk, "codes");
        msgpack_pack_array(pk, 3);
        cs_tpack_str(pk, "E11.9");
        s_pack_bytes(pk, raw);
        s_pack_bytes(pk, t->raw);
        r = s_call(q);
        res = cs_obj_get(r, "results");
        ck_assert_msg(res && res->via.array.size == 3, "validate codes, %s", t->what);
        ck_assert(cs_obj_true(cs_obj_get(&res->via.array.ptr[0], "valid")));
        ck_assert_msg(s_is(cs_obj_get(&res->via.array.ptr[1], "input"), fixed),
                      "validate codes[1], %s", t->what);
        ck_assert_msg(s_is(cs_obj_get(&res->via.array.ptr[2], "input"), t->fixed),
                      "validate codes[2], %s", t->what);
        /* crosswalk: the malformed code, and a from/to that names no system */
        r = REQ(q, "op", "crosswalk", "from", "icd10cm", "to", "icd10cm", "code", raw);
        ck_assert_msg(s_is(cs_obj_get(r, "code"), fixed), "crosswalk code, %s", t->what);
        r = REQ(q, "op", "crosswalk", "from", "icd10cm", "to", raw, "code", "E11.9");
        snprintf(msg, sizeof msg, "'%s'", fixed);
        s_message_has(r, msg, "crosswalk to");
        /* system, release, date, q, diff's labels, the op's name, the id */
        r = REQ(q, "op", "lookup", "system", raw, "code", "E11.9");
        s_message_has(r, msg, "lookup system");
        r = REQ(q, "op", "lookup", "system", "icd10cm", "release", raw, "code", "E11.9");
        s_message_has(r, msg, "lookup release");
        r = REQ(q, "op", "validate", "system", "icd10cm", "date", raw, "code", "E11.9");
        ck_assert(!cs_obj_true(cs_obj_get(r, "ok")));
        r = REQ(q, "op", "search", "system", "icd10cm", "q", raw);
        ck_assert(cs_obj_true(cs_obj_get(r, "ok")));
        r = REQ(q, "op", "diff", "system", "icd10cm", "release", "2021", "to_release", raw);
        s_message_has(r, msg, "diff to_release");
        r = REQ(q, "op", "releases", "system", raw);
        r = REQ(q, "op", raw, "system", "icd10cm", "code", "E11.9");
        ck_assert(!cs_obj_true(cs_obj_get(r, "ok")));
        r = REQ(q, "op", "lookup", "system", "icd10cm", "code", "E11.9", "id", raw);
        const msgpack_object *id = cs_obj_get(r, "id");
        ck_assert(cs_obj_true(cs_obj_get(r, "found")));
        if (strcmp(t->raw, t->fixed) == 0) {
            ck_assert_msg(s_is(id, raw), "a UTF-8 id comes back as it went, %s", t->what);
        } else {
            ck_assert_msg(id && id->type == MSGPACK_OBJECT_BIN && id->via.bin.size == strlen(raw)
                              && memcmp(id->via.bin.ptr, raw, strlen(raw)) == 0,
                          "a str id that is not UTF-8 comes back as bin, %s", t->what);
        }
        /* the admin ops on the query endpoint are refused; their keys are not echoed raw */
        r = REQ(q, "op", "retire", "system", "icd10cm", "release", raw);
        ck_assert(!cs_obj_true(cs_obj_get(r, "ok")));
    }

    /* a validate long enough to be cut into slices for the workers, joined again */
    msgpack_packer *pk = cs_tclient_begin(q);
    msgpack_pack_map(pk, 3);
    cs_tpack_kv(pk, "op", "validate");
    cs_tpack_kv(pk, "system", "icd10cm");
    cs_tpack_str(pk, "codes");
    msgpack_pack_array(pk, 600);
    for (size_t i = 0; i < 600; i++) {
        s_pack_bytes(pk, i % 3 ? "E11.9" : s_bad[(i / 3) % N_BAD].raw);
    }
    const msgpack_object *r = s_call(q);
    const msgpack_object *res = cs_obj_get(r, "results");
    ck_assert(res && res->via.array.size == 600);
    for (size_t i = 0; i < 600; i++) {
        const msgpack_object *in = cs_obj_get(&res->via.array.ptr[i], "input");
        ck_assert_msg(s_is(in, i % 3 ? "E11.9" : s_bad[(i / 3) % N_BAD].fixed), "result %zu", i);
    }
    cs_tclient_destroy(&q);
    s_strict_decode_all();
    fclose(s_replies);
}
END_TEST

START_TEST(test_admin_ops_echo_utf8)
{
    s_n_replies = 0;
    s_replies = fopen(s_replies_path, "wb");
    ck_assert_ptr_nonnull(s_replies);
    cs_tclient_t *a = cs_tclient_new(s_d.admin_ep);
    for (size_t b = 0; b < N_BAD; b++) {
        const t_bad_t *t = &s_bad[b];
        char raw[64], fixed[64];
        snprintf(raw, sizeof raw, "x%sy", t->raw);
        snprintf(fixed, sizeof fixed, "x%sy", t->fixed);
        const msgpack_object *r = REQ(a, "op", "retire", "system", "icd10cm", "release", raw);
        s_message_has(r, fixed, "retire release");
        r = REQ(a, "op", "drop", "system", "icd10cm", "release", raw);
        s_message_has(r, fixed, "drop release");
        r = REQ(a, "op", "job", "job", raw);
        ck_assert(!cs_obj_true(cs_obj_get(r, "ok")));
        /* a load with the bad bytes as label, loader, system and file name */
        const char *keys[] = {"release", "loader", "system"};
        for (size_t k = 0; k < 3; k++) {
            msgpack_packer *pk = cs_tclient_begin(a);
            msgpack_pack_map(pk, 5 + (k > 0) - (k == 2));
            cs_tpack_kv(pk, "op", "load");
            if (k != 2) {
                cs_tpack_kv(pk, "system", "icd10cm");
            }
            if (k != 0) {
                cs_tpack_kv(pk, "release", "ok");
            }
            cs_tpack_kv(pk, "effective_from", "2020-10-01");
            cs_tpack_str(pk, "files");
            msgpack_pack_array(pk, 1);
            cs_tpack_str(pk, s_order);
            cs_tpack_str(pk, keys[k]);
            s_pack_bytes(pk, raw);
            r = s_call(a);
            s_load_error_has(a, r, fixed, keys[k]);
        }
        msgpack_packer *pk = cs_tclient_begin(a);
        msgpack_pack_map(pk, 5);
        cs_tpack_kv(pk, "op", "load");
        cs_tpack_kv(pk, "system", "icd10cm");
        cs_tpack_kv(pk, "release", "bad");
        cs_tpack_kv(pk, "effective_from", "2020-10-01");
        cs_tpack_str(pk, "files");
        msgpack_pack_array(pk, 1);
        char path[128];
        snprintf(path, sizeof path, "/nonexistent/%s.txt", raw);
        s_pack_bytes(pk, path);
        r = s_call(a);
        s_load_error_has(a, r, fixed, "load files");
    }
    cs_tclient_destroy(&a);
    s_strict_decode_all();
    fclose(s_replies);
}
END_TEST

Suite *cs_utf8_suite(void)
{
    Suite *s = suite_create("utf8");
    TCase *tc = tcase_create("replies are UTF-8");
    tcase_add_unchecked_fixture(tc, s_setup, s_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_query_ops_echo_utf8);
    tcase_add_test(tc, test_admin_ops_echo_utf8);
    suite_add_tcase(s, tc);
    return s;
}
