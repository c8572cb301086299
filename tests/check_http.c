/* check_http.c: codeset-http, the HTTP facade. A real codesetd loads the bundled samples
 * (ICD-10-CM tabular and order, the GEMs) and a real codeset-http serves the same directory
 * read-only on loopback; the test speaks HTTP/1.1 over a plain TCP socket (tests/cs_http.h).
 *   - "same answers": each request is sent to the broker over ZeroMQ (msgpack) and to
 *     codeset-http as JSON (POST, and GET where the op takes it); the replies, converted to
 *     jansson values, must be equal value by value, errors included (the same code and
 *     message), with the HTTP status the error maps to; the index op too, before and after
 *     the bundled ICD-10-CM Index samples are loaded (path as a list, follow, GET's repeated
 *     path);
 *   - "hostile": bad JSON, a huge body, wrong types, unknown and admin ops, wrong methods,
 *     traversal in every spelling, raw garbage: each gets a 4xx and the server keeps
 *     answering;
 *   - "live": a release codesetd publishes is answered by the next request, no restart, and
 *     clients running meanwhile each switch to it once, with no error; SIGTERM stops the
 *     server with exit 0;
 *   - "fy2021": the official FY2021 release (../shared/data; skipped, saying so, without it):
 *     2,100 order-file codes (every 45th), headers, fakes and malformed codes looked up with
 *     GET /v1/icd10cm/<code> and validated in one POST, as the wire answers them;
 *   - "limits": 500 idle connections and a half-sent request are cut off (--timeout 1) while
 *     the server answers beside them;
 *   - "assets": the page compiled into the program is byte for byte http/www, served with
 *     no --assets from another working directory, with the same path rules;
 *   - "units": the JSON request decoder, the query-string typing and the assets' path rules
 *     called directly, and 20,000 random requests decoded by the JSON decoder and by the
 *     wire's msgpack decoder (the same map) with the same outcome: the same error code and
 *     sentence, or the same decoded fields; the reply dumper (hs_json_dump) writes what
 *     json_dumps writes for 20,000 random trees;
 *   - "browser": tests/http_browser.py drives the page in headless Chromium (skipped, saying
 *     so, without chromium, chromium-driver or python3-selenium): the Index's tabs first with
 *     no index set (they say so), then the whole page with the index samples loaded.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cs_daemon.h"
#include "cs_http.h"
#include "cs_test.h"
#include "hs_assets.h"
#include "hs_json_dump.h"
#include "hs_request.h"
#include "wire/cs_proto.h"

#define T_TIMEOUT 10000

Suite *cs_http_suite(void);

static cs_daemon_t s_d;
static cs_tclient_t *s_q;   /* the broker's query endpoint */
static cs_http_server_t s_h; /* codeset-http */
static int s_port;          /* its port */

/* ---- codeset-http ---- */

/* Start codeset-http on the broker's database, on a free loopback port, serving the page from
 * the tree's http/www (--assets) unless embedded, and then from another working directory (/),
 * with up to two extra arguments (NULL for none). */
static void s_http_start_ex(int embedded, const char *extra, const char *extra2)
{
    char exe[PATH_MAX], cwd[PATH_MAX], assets[PATH_MAX + 16], log[700], why[800];
    snprintf(exe, sizeof exe, "%s/bin/codeset-http", cs_test_build_dir());
    snprintf(log, sizeof log, "%s/http.log", s_d.dir);
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    snprintf(assets, sizeof assets, "%s/http/www", cwd);
    const char *with_dir[] = {"--threads", "2", "--max-body", "200000", "--assets", assets,
                              extra, extra2, NULL};
    const char *compiled[] = {"--threads", "2", "--max-body", "200000", extra, extra2, NULL};
    ck_assert_msg(cs_http_start(&s_h, exe, s_d.db, log, embedded ? "/" : NULL,
                                embedded ? compiled : with_dir, why, sizeof why) == 0,
                  "%s", why);
    s_port = s_h.port;
}

static void s_http_start(const char *extra, const char *extra2)
{
    s_http_start_ex(0, extra, extra2);
}

static int s_http_stop(void)
{
    return cs_http_stop(&s_h);
}

/* ---- the client (tests/cs_http.h) on s_port ---- */

typedef cs_hresp_t t_resp_t;

static void s_resp_free(t_resp_t *r)
{
    cs_hresp_free(r);
}

/* Send raw bytes, read until the server closes; the status, or -1 when it answered nothing. */
static int s_raw(const void *req, size_t len, t_resp_t *out)
{
    int st = cs_http_raw(s_port, req, len, T_TIMEOUT, out);
    ck_assert_msg(st != -2, "could not connect to codeset-http on port %d", s_port);
    return st;
}

static int s_http(const char *method, const char *path, const char *body, size_t blen,
                  t_resp_t *out)
{
    int st = cs_http_call(s_port, method, path, body, blen, T_TIMEOUT, out);
    ck_assert_msg(st != -2, "could not connect to codeset-http on port %d", s_port);
    return st;
}

/* The body as JSON; fails the test when it is not. */
static json_t *s_body_json(const t_resp_t *r)
{
    char why[400];
    json_t *v = cs_hresp_json(r, why, sizeof why);
    ck_assert_msg(v != NULL, "reply %s", why);
    return v;
}

/* ---- msgpack <-> jansson ---- */

static json_t *s_to_json(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL: return json_null();
    case MSGPACK_OBJECT_BOOLEAN: return json_boolean(o->via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER: return json_integer((json_int_t)o->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return json_integer((json_int_t)o->via.i64);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: return json_real(o->via.f64);
    case MSGPACK_OBJECT_STR: return json_stringn(o->via.str.ptr, o->via.str.size);
    case MSGPACK_OBJECT_BIN: return json_stringn(o->via.bin.ptr, o->via.bin.size);
    case MSGPACK_OBJECT_ARRAY: {
        json_t *a = json_array();
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            json_array_append_new(a, s_to_json(&o->via.array.ptr[i]));
        }
        return a;
    }
    case MSGPACK_OBJECT_MAP: {
        json_t *m = json_object();
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            const msgpack_object *k = &o->via.map.ptr[i].key;
            char key[256];
            snprintf(key, sizeof key, "%.*s", (int)k->via.str.size, k->via.str.ptr);
            json_object_set_new(m, key, s_to_json(&o->via.map.ptr[i].val));
        }
        return m;
    }
    default: return json_string("<ext>");
    }
}

static void s_pack_json(msgpack_packer *pk, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        msgpack_pack_map(pk, json_object_size(v));
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x)
        {
            cs_tpack_str(pk, k);
            s_pack_json(pk, x);
        }
        return;
    }
    case JSON_ARRAY:
        msgpack_pack_array(pk, json_array_size(v));
        for (size_t i = 0; i < json_array_size(v); i++) {
            s_pack_json(pk, json_array_get(v, i));
        }
        return;
    case JSON_STRING:
        msgpack_pack_str(pk, json_string_length(v));
        msgpack_pack_str_body(pk, json_string_value(v), json_string_length(v));
        return;
    case JSON_INTEGER: msgpack_pack_int64(pk, json_integer_value(v)); return;
    case JSON_REAL: msgpack_pack_double(pk, json_real_value(v)); return;
    case JSON_TRUE: msgpack_pack_true(pk); return;
    case JSON_FALSE: msgpack_pack_false(pk); return;
    case JSON_NULL: msgpack_pack_nil(pk); return;
    }
}

/* The broker's reply to a request given as a JSON object (with "op"), as jansson. */
static json_t *s_wire(const json_t *req)
{
    msgpack_packer *pk = cs_tclient_begin(s_q);
    s_pack_json(pk, req);
    const msgpack_object *r = cs_tclient_call(s_q, T_TIMEOUT);
    ck_assert_ptr_nonnull(r);
    return s_to_json(r);
}

/* The HTTP status a reply's error code maps to (docs/HTTP.md). */
static int s_status_of(const json_t *reply)
{
    const char *code = json_string_value(json_object_get(json_object_get(reply, "error"), "code"));
    if (json_is_true(json_object_get(reply, "ok")) || code == NULL) {
        return 200;
    }
    static const struct {
        const char *code;
        int status;
    } map[] = {{"bad_request", 400},      {"unsupported_version", 400}, {"too_many", 400},
               {"forbidden", 403},        {"unknown_op", 404},          {"unknown_system", 404},
               {"unknown_release", 404},  {"no_release_for_date", 404}, {"corrupt_release", 503}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (strcmp(code, map[i].code) == 0) {
            return map[i].status;
        }
    }
    return 500;
}

/* Send req (JSON text with "op") to both; the HTTP reply must equal the wire reply. */
static void s_same(const char *text)
{
    json_error_t err;
    json_t *req = json_loads(text, 0, &err);
    ck_assert_msg(req != NULL, "bad test request %s: %s", text, err.text);
    json_t *want = s_wire(req);
    char path[64];
    snprintf(path, sizeof path, "/api/v1/%s", json_string_value(json_object_get(req, "op")));
    json_object_del(req, "op");
    char *body = json_dumps(req, JSON_COMPACT);
    t_resp_t r;
    int st = s_http("POST", path, body, strlen(body), &r);
    json_t *got = s_body_json(&r);
    char *ws = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS);
    char *gs = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_msg(json_equal(want, got), "%s\n  wire: %.600s\n  http: %.600s", text, ws, gs);
    ck_assert_msg(st == s_status_of(want), "%s: HTTP %d, expected %d", text, st,
                  s_status_of(want));
    free(ws);
    free(gs);
    free(body);
    s_resp_free(&r);
    json_decref(got);
    json_decref(want);
    json_decref(req);
}

/* A GET's reply must equal the wire reply to req. */
static void s_same_get(const char *query, const char *wire_text)
{
    json_error_t err;
    json_t *req = json_loads(wire_text, 0, &err);
    ck_assert_ptr_nonnull(req);
    json_t *want = s_wire(req);
    t_resp_t r;
    int st = s_http("GET", query, NULL, 0, &r);
    json_t *got = s_body_json(&r);
    char *gs = json_dumps(got, JSON_COMPACT);
    ck_assert_msg(json_equal(want, got), "GET %s differs from %s: %.600s", query, wire_text, gs);
    ck_assert_int_eq(st, s_status_of(want));
    free(gs);
    s_resp_free(&r);
    json_decref(got);
    json_decref(want);
    json_decref(req);
}

/* ---- fixtures ---- */

static void s_load(cs_tclient_t *admin, const char *label, const char *effective)
{
    cs_daemon_load_sample(&s_d, admin, label, effective);
}

/* The bundled ICD-10-CM Index samples (the four tables) as index set "2021", through the
 * broker's admin endpoint: codeset-http answers from them at its next request. */
static void s_load_index(void)
{
    char cwd[PATH_MAX], p[4][PATH_MAX + 80], state[64];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    static const char *const tables[4] = {"index", "eindex", "drug", "neoplasm"};
    for (int i = 0; i < 4; i++) {
        snprintf(p[i], sizeof p[i], "%s/loaders/icd10cm-index/sample/icd10cm_%s_sample.xml",
                 cwd, tables[i]);
    }
    const char *files[4] = {p[0], p[1], p[2], p[3]};
    cs_tclient_t *admin = cs_tclient_new(s_d.admin_ep);
    ck_assert_ptr_nonnull(cs_daemon_load(&s_d, admin, "icd10cm-index", "2021", "2020-10-01",
                                         files, 4, state, sizeof state, 60000));
    ck_assert_str_eq(state, "done");
    cs_tclient_destroy(&admin);
}

static void s_setup(void)
{
    memset(&s_d, 0, sizeof s_d);
    ck_assert_int_eq(cs_daemon_start(&s_d, NULL), 0);
    cs_tclient_t *admin = cs_tclient_new(s_d.admin_ep);
    s_load(admin, "2021", "2020-10-01");
    char cwd[PATH_MAX], gems[PATH_MAX + 64], state[64];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    snprintf(gems, sizeof gems, "%s/loaders/gems/sample/gems_I9gem_sample.txt", cwd);
    const char *files[] = {gems};
    ck_assert_ptr_nonnull(cs_daemon_load(&s_d, admin, "gems", "2018", "2017-10-01", files, 1,
                                         state, sizeof state, 60000));
    ck_assert_str_eq(state, "done");
    cs_tclient_destroy(&admin);
    s_q = cs_tclient_new(s_d.query_ep);
    s_http_start(NULL, NULL);
}

/* The same, with connections idle for a second cut off. */
static void s_setup_short_timeout(void)
{
    memset(&s_d, 0, sizeof s_d);
    ck_assert_int_eq(cs_daemon_start(&s_d, NULL), 0);
    cs_tclient_t *admin = cs_tclient_new(s_d.admin_ep);
    s_load(admin, "2021", "2020-10-01");
    cs_tclient_destroy(&admin);
    s_q = cs_tclient_new(s_d.query_ep);
    s_http_start("--timeout", "1");
}

/* A sanitizer's report in the server's log fails the test that made it. */
static void s_log_clean(void)
{
    char line[512];
    ck_assert_msg(cs_http_log_clean(&s_h, line, sizeof line), "codeset-http: %s(see %s)", line,
                  s_h.log);
}

static void s_teardown(void)
{
    int status = s_http_stop();
    s_log_clean();
    ck_assert_msg(status == -1 || (WIFEXITED(status) && WEXITSTATUS(status) == 0),
                  "codeset-http did not stop cleanly (status %d)", status);
    cs_tclient_destroy(&s_q);
    cs_daemon_stop(&s_d);
    cs_daemon_cleanup(&s_d);
}

/* ---- same answers ---- */

static void s_refused(const char *method, const char *path, const char *body, size_t blen,
                      int want, const char *code);

/* The index op, before and after an index set is loaded: words, a path (a list whose terms
 * hold commas), a row's key, see and see also followed, paging, and the errors. */
static void s_same_index(void)
{
    s_same("{\"op\":\"index\",\"system\":\"icd10cm\",\"table\":\"drug\",\"q\":\"x\"}");
    s_load_index();
    static const char *const reqs[] = {
        "{\"op\":\"index\",\"system\":\"icd10cm\",\"table\":\"drug\",\"q\":\"propanol\"}",
        "{\"op\":\"index\",\"system\":\"icd10cm\",\"table\":\"eindex\","
        "\"q\":\"fall from ladder\",\"date\":\"2021-03-01\"}",
        "{\"op\":\"index\",\"system\":\"icd10cm\",\"table\":\"index\","
        "\"path\":[\"Diabetes\",\"type 2\"]}",
        "{\"op\":\"index\",\"system\":\"icd10cm\",\"table\":\"eindex\","
        "\"path\":[\"Fall, falling\",\"from, off, out of\"],\"limit\":1,\"offset\":1}",
        "{\"op\":\"index\",\"system\":\"icd10cm\",\"table\":\"eindex\","
        "\"q\":\"submersion\",\"follow\":true}",
        "{\"op\":\"index\",\"system\":\"icd10cm\",\"table\":\"drug\",\"q\":\"adrenalin\","
        "\"follow\":false}",
        "{\"op\":\"index\",\"system\":\"icd10cm\",\"table\":\"neoplasm\",\"limit\":1000}",
        "{\"op\":\"index\",\"system\":\"icd10cm\",\"table\":\"eindex\",\"code\":\"e../x\"}",
        "{\"op\":\"search\",\"system\":\"icd10cm\",\"q\":\"fall from ladder\","
        "\"include\":[\"index\"],\"release\":\"2021\"}",
        /* errors */
        "{\"op\":\"index\",\"system\":\"icd10cm\",\"table\":\"tabular\"}",
        "{\"op\":\"index\",\"system\":\"icd10cm\"}",
        "{\"op\":\"index\",\"system\":\"icd9cm\",\"table\":\"drug\"}",
        "{\"op\":\"index\",\"system\":\"icd10cm\",\"table\":5}",
        "{\"op\":\"index\",\"system\":\"icd10cm\",\"table\":\"drug\",\"release\":\"1999\"}",
        "{\"op\":\"index\",\"system\":\"icd10cm\",\"table\":\"eindex\",\"path\":\"Fall\"}",
        "{\"op\":\"index\",\"system\":\"icd10cm\",\"table\":\"eindex\",\"path\":[\"Fall\",3]}",
        "{\"op\":\"index\",\"system\":\"icd10cm\",\"table\":\"eindex\","
        "\"path\":[\"Fa\\u0007ll\"]}",
        "{\"op\":\"index\",\"system\":\"icd10cm\",\"table\":\"eindex\",\"path\":[\"a\",\"a\","
        "\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\",\"a\"]}",
        "{\"op\":\"index\",\"system\":\"icd10cm\",\"table\":\"eindex\",\"q\":\"x\","
        "\"follow\":1}",
    };
    for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++) {
        s_same(reqs[i]);
    }
    /* the forms the page sends by GET: path repeated (never split at its commas), follow */
    s_same_get("/api/v1/index?system=icd10cm&table=eindex&path=Fall%2C%20falling"
               "&path=from%2C%20off%2C%20out%20of&follow=true",
               "{\"op\":\"index\",\"system\":\"icd10cm\",\"table\":\"eindex\","
               "\"path\":[\"Fall, falling\",\"from, off, out of\"],\"follow\":true}");
    s_same_get("/api/v1/index?system=icd10cm&table=drug&q=acetaminophen&limit=3&follow=0",
               "{\"op\":\"index\",\"system\":\"icd10cm\",\"table\":\"drug\","
               "\"q\":\"acetaminophen\",\"limit\":3,\"follow\":false}");
    s_same_get("/api/v1/search?system=icd10cm&q=fall%20from%20ladder&include=index",
               "{\"op\":\"search\",\"system\":\"icd10cm\",\"q\":\"fall from ladder\","
               "\"include\":[\"index\"]}");
    s_refused("GET", "/api/v1/index?system=icd10cm&table=drug&follow=yes", NULL, 0, 400,
              "bad_request");
    s_refused("GET", "/api/v1/index?system=icd10cm&table=drug&table=index", NULL, 0, 400,
              "bad_request");
}

START_TEST(test_same_answers)
{
    static const char *const reqs[] = {
        "{\"op\":\"ping\"}",
        "{\"op\":\"ping\",\"id\":\"req-1\",\"v\":1}",
        "{\"op\":\"lookup\",\"system\":\"icd10cm\",\"code\":\"E11\","
        "\"include\":[\"notes\",\"children\",\"ancestors\"]}",
        "{\"op\":\"lookup\",\"system\":\"icd10cm\",\"code\":\"s72001a\",\"id\":7,"
        "\"include\":[\"ancestors\",\"bogus\"]}",
        "{\"op\":\"lookup\",\"system\":\"icd10cm\",\"code\":\"Z99.99\"}",
        "{\"op\":\"lookup\",\"system\":\"icd10cm\",\"code\":\"%%\",\"id\":null}",
        "{\"op\":\"lookup\",\"system\":\"icd10cm\",\"code\":\"E11.9\",\"date\":\"2021-01-31\","
        "\"id\":-3}",
        "{\"op\":\"lookup\",\"system\":\"icd10cm\",\"code\":\"E11.9\",\"release\":\"2021\","
        "\"id\":1.5}",
        "{\"op\":\"validate\",\"system\":\"icd10cm\",\"codes\":[\"E11.9\",\"E11\",\"XYZ\","
        "\"Z99.99\",\"e1165\",\"\",\"M4840XA\",\"E11.\\u0001\"]}",
        "{\"op\":\"validate\",\"system\":\"icd10cm\",\"code\":\"E11\",\"id\":true}",
        "{\"op\":\"validate\",\"system\":\"icd10cm\",\"codes\":[]}",
        "{\"op\":\"claim\",\"date\":\"2021-03-01\",\"setting\":\"inpatient\",\"patient\":"
        "{\"age\":40,\"sex\":\"F\"},\"diagnoses\":[{\"code\":\"E11.9\",\"poa\":\"Y\"},"
        "{\"code\":\"e119\"}],\"procedures\":[{\"system\":\"icd10cm\",\"code\":\"E11\","
        "\"units\":2,\"modifiers\":[\"59\"]}],\"id\":9}",
        "{\"op\":\"claims\",\"claims\":[{\"date\":\"2021-03-01\",\"diagnoses\":"
        "[{\"code\":\"E11\"}]},{\"date\":\"2021-03-01\",\"diagnoses\":[{\"code\":"
        "\"E11.9\"}],\"procedures\":[{\"system\":\"nosuch\",\"code\":\"X\"}]}]}",
        "{\"op\":\"claim\",\"date\":\"2021-03-01\"}",
        "{\"op\":\"search\",\"system\":\"icd10cm\",\"q\":\"diab mel\"}",
        "{\"op\":\"search\",\"system\":\"icd10cm\",\"q\":\"diab\",\"limit\":3,\"offset\":2}",
        "{\"op\":\"search\",\"system\":\"icd10cm\",\"q\":\"fracture\",\"billable_only\":true,"
        "\"limit\":100000}",
        "{\"op\":\"search\",\"system\":\"icd10cm\",\"q\":\"E11.6\"}",
        "{\"op\":\"crosswalk\",\"from\":\"icd9cm\",\"to\":\"icd10cm\",\"code\":\"250.00\"}",
        "{\"op\":\"crosswalk\",\"from\":\"icd9cm\",\"to\":\"icd10cm\",\"code\":\"E11.9\","
        "\"reverse\":true}",
        "{\"op\":\"releases\"}",
        "{\"op\":\"releases\",\"system\":\"icd10cm\"}",
        "{\"op\":\"diff\",\"system\":\"icd10cm\",\"release\":\"2021\",\"to_release\":\"2021\","
        "\"limit\":2}",
        /* errors: the same code and the same sentence */
        "{\"op\":\"lookup\",\"system\":5,\"code\":\"E11\"}",
        "{\"op\":\"lookup\",\"system\":\"icd10cm\",\"id\":\"x\"}",
        "{\"op\":\"lookup\",\"system\":\"icd10cm\",\"code\":[\"E11\"]}",
        "{\"op\":\"lookup\",\"system\":\"icd10cm\",\"code\":\"E11\",\"include\":\"notes\"}",
        "{\"op\":\"lookup\",\"system\":\"icd10cm\",\"code\":\"E11\",\"date\":\"2021-02-30\"}",
        "{\"op\":\"lookup\",\"system\":\"icd10cm\",\"code\":\"E11\",\"date\":20210101}",
        "{\"op\":\"lookup\",\"system\":\"icd10cm\",\"code\":\"E11\",\"date\":\"1999-01-01\"}",
        "{\"op\":\"lookup\",\"system\":\"icd10cm\",\"code\":\"E11\",\"release\":\"1999\"}",
        "{\"op\":\"lookup\",\"system\":\"nosuch\",\"code\":\"E11\"}",
        "{\"op\":\"lookup\",\"system\":\"icd10\\tcm\",\"code\":\"E11\"}",
        "{\"op\":\"lookup\",\"system\":\"icd10cm\",\"code\":\"E11\",\"v\":2,\"id\":4}",
        "{\"op\":\"lookup\",\"system\":\"icd10cm\",\"code\":\"E11\",\"v\":\"1\"}",
        "{\"op\":\"validate\",\"system\":\"icd10cm\"}",
        "{\"op\":\"validate\",\"system\":\"icd10cm\",\"codes\":[\"E11\",5]}",
        "{\"op\":\"search\",\"system\":\"icd10cm\",\"q\":\"x\",\"limit\":\"5\"}",
        "{\"op\":\"search\",\"system\":\"icd10cm\",\"q\":\"x\",\"limit\":2.0}",
        "{\"op\":\"search\",\"system\":\"icd10cm\",\"q\":\"x\",\"offset\":-1}",
        "{\"op\":\"search\",\"system\":\"icd10cm\",\"q\":\"x\",\"billable_only\":1}",
        "{\"op\":\"crosswalk\",\"from\":\"icd9cm\",\"to\":\"hcpcs\",\"code\":\"250.00\"}",
        "{\"op\":\"diff\",\"system\":\"icd10cm\",\"release\":\"2021\"}",
        "{\"op\":\"lookup\",\"system\":\"icd10cm\",\"code\":\"E11\",\"id\":[1]}",
    };
    for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++) {
        s_same(reqs[i]);
    }
    s_same_index();
    /* a search query at its limit, and one byte over */
    char q[CS_PROTO_MAX_Q + 2];
    memset(q, 'a', sizeof q - 1);
    q[sizeof q - 1] = '\0';
    json_t *big = json_pack("{s:s, s:s, s:s%}", "op", "search", "system", "icd10cm", "q", q,
                            (size_t)CS_PROTO_MAX_Q + 1);
    char *text = json_dumps(big, 0);
    s_same(text);
    free(text);
    json_decref(big);
    /* too many codes */
    json_t *many = json_pack("{s:s, s:s, s:[]}", "op", "validate", "system", "icd10cm", "codes");
    for (int i = 0; i <= CS_PROTO_MAX_CODES; i++) {
        json_array_append_new(json_object_get(many, "codes"), json_string("E11.9"));
    }
    text = json_dumps(many, JSON_COMPACT);
    s_same(text);
    free(text);
    json_decref(many);
}
END_TEST

START_TEST(test_same_answers_get)
{
    s_same_get("/api/v1/lookup?system=icd10cm&code=E11&include=notes,children,ancestors",
               "{\"op\":\"lookup\",\"system\":\"icd10cm\",\"code\":\"E11\","
               "\"include\":[\"notes\",\"children\",\"ancestors\"]}");
    s_same_get("/v1/icd10cm/E11",
               "{\"op\":\"lookup\",\"system\":\"icd10cm\",\"code\":\"E11\","
               "\"include\":[\"notes\",\"children\",\"ancestors\"]}");
    s_same_get("/api/v1/lookup?system=icd10cm&code=E11.9&date=2021-01-31&unknown=1",
               "{\"op\":\"lookup\",\"system\":\"icd10cm\",\"code\":\"E11.9\","
               "\"date\":\"2021-01-31\"}");
    s_same_get("/api/v1/validate?system=icd10cm&code=E11.9&code=E11&code=XYZ",
               "{\"op\":\"validate\",\"system\":\"icd10cm\",\"codes\":[\"E11.9\",\"E11\","
               "\"XYZ\"]}");
    s_same_get("/api/v1/validate?system=icd10cm&code=E11",
               "{\"op\":\"validate\",\"system\":\"icd10cm\",\"code\":\"E11\"}");
    s_same_get("/api/v1/search?system=icd10cm&q=diab%20mel&limit=5&billable_only=true",
               "{\"op\":\"search\",\"system\":\"icd10cm\",\"q\":\"diab mel\",\"limit\":5,"
               "\"billable_only\":true}");
    s_same_get("/api/v1/crosswalk?from=icd9cm&to=icd10cm&code=250.00",
               "{\"op\":\"crosswalk\",\"from\":\"icd9cm\",\"to\":\"icd10cm\",\"code\":\"250.00\"}");
    s_same_get("/api/v1/releases?system=icd10cm", "{\"op\":\"releases\",\"system\":\"icd10cm\"}");
    s_same_get("/api/v1/diff?system=icd10cm&release=2021&to_release=2021",
               "{\"op\":\"diff\",\"system\":\"icd10cm\",\"release\":\"2021\","
               "\"to_release\":\"2021\"}");
    s_same_get("/api/v1/lookup?system=icd10cm&code=E11&date=2021-13-01",
               "{\"op\":\"lookup\",\"system\":\"icd10cm\",\"code\":\"E11\","
               "\"date\":\"2021-13-01\"}");
    s_same_get("/api/v1/lookup?system=icd10%09cm&code=E11",
               "{\"op\":\"lookup\",\"system\":\"icd10\\tcm\",\"code\":\"E11\"}");
}
END_TEST

/* ---- hostile ---- */

/* A request that must get status want with a JSON error of code (NULL: any body). */
static void s_refused(const char *method, const char *path, const char *body, size_t blen,
                      int want, const char *code)
{
    t_resp_t r;
    int st = s_http(method, path, body, blen, &r);
    ck_assert_msg(st == want, "%s %s: HTTP %d, expected %d (%.200s)", method, path, st, want,
                  r.body ? r.body : "");
    if (code) {
        json_t *v = s_body_json(&r);
        ck_assert(json_is_false(json_object_get(v, "ok")));
        const char *got = json_string_value(json_object_get(json_object_get(v, "error"), "code"));
        ck_assert_msg(got && strcmp(got, code) == 0, "%s %s: error %s, expected %s", method,
                      path, got ? got : "(none)", code);
        json_decref(v);
    }
    s_resp_free(&r);
}

/* The server still answers a lookup. */
/* The bytes of a file of the tree (malloc'ed), its size into *n. */
static char *s_file_bytes(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s", path);
    char *buf = malloc(1 << 20);
    *n = fread(buf, 1, 1 << 20, f);
    ck_assert_int_lt(*n, 1 << 20);
    fclose(f);
    return buf;
}

static void s_alive(void)
{
    t_resp_t r;
    ck_assert_int_eq(s_http("GET", "/api/v1/lookup?system=icd10cm&code=E11.9", NULL, 0, &r), 200);
    json_t *v = s_body_json(&r);
    ck_assert_str_eq(json_string_value(json_object_get(v, "title")),
                     "Type 2 diabetes mellitus without complications");
    json_decref(v);
    s_resp_free(&r);
    ck_assert_int_eq(waitpid(s_h.pid, NULL, WNOHANG), 0);
}

START_TEST(test_hostile)
{
    static const char *const bad_json[] = {"", "{", "{\"system\":}", "[1,2", "nul", "{}}",
                                           "{\"a\":1,\"a\":2}", "\"\\u0000\"", "\xff\xfe",
                                           "{\"system\":\"\xc3\x28\"}"};
    for (size_t i = 0; i < sizeof bad_json / sizeof bad_json[0]; i++) {
        s_refused("POST", "/api/v1/lookup", bad_json[i], strlen(bad_json[i]), 400,
                  "bad_request");
    }
    s_refused("POST", "/api/v1/releases", "[]", 2, 400, "bad_request");
    s_refused("POST", "/api/v1/releases", "5", 1, 400, "bad_request");
    const char *other_op = "{\"op\":\"search\"}";
    s_refused("POST", "/api/v1/lookup", other_op, strlen(other_op), 400, "bad_request");
    /* nesting deeper than the protocol's 8 levels */
    const char deep[] = "{\"x\":[[[[[[[[[1]]]]]]]]]}";
    s_refused("POST", "/api/v1/releases", deep, sizeof deep - 1, 400, "bad_request");
    const char deeper[] = "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
                          "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[";
    s_refused("POST", "/api/v1/releases", deeper, sizeof deeper - 1, 400, "bad_request");
    /* a body over --max-body (200000 here), announced or not */
    size_t huge = 300000;
    char *big = malloc(huge);
    memset(big, ' ', huge);
    big[0] = '{';
    big[huge - 1] = '}';
    s_refused("POST", "/api/v1/releases", big, huge, 413, "bad_request");
    free(big);
    char chunked[] = "POST /api/v1/releases HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n";
    size_t clen = strlen(chunked);
    char *cbody = malloc(clen + 40 * 10010 + 16);
    memcpy(cbody, chunked, clen);
    size_t at = clen;
    for (int i = 0; i < 10000; i++) {
        at += (size_t)sprintf(cbody + at, "1e\r\n%30s\r\n", "");
    }
    at += (size_t)sprintf(cbody + at, "0\r\n\r\n");
    t_resp_t r;
    ck_assert_int_eq(s_raw(cbody, at, &r), 413);
    s_resp_free(&r);
    free(cbody);
    /* ops that are not, or not here */
    s_refused("GET", "/api/v1/nosuch", NULL, 0, 404, "unknown_op");
    s_refused("POST", "/api/v1/nosuch", "{}", 2, 404, "unknown_op");
    s_refused("POST", "/api/v1/", "{}", 2, 404, "unknown_op");
    const char *load = "{\"files\":[\"/etc/passwd\"],\"release\":\"x\","
                       "\"effective_from\":\"2020-01-01\"}";
    s_refused("POST", "/api/v1/load", load, strlen(load), 403, "forbidden");
    const char *drop = "{\"system\":\"icd10cm\",\"release\":\"2021\"}";
    s_refused("POST", "/api/v1/drop", drop, strlen(drop), 403, "forbidden");
    s_refused("GET", "/api/v1/stats", NULL, 0, 403, "forbidden");
    s_refused("PUT", "/api/v1/lookup", "{}", 2, 405, "bad_request");
    s_refused("DELETE", "/api/v1/releases", NULL, 0, 405, "bad_request");
    /* assets: traversal in every spelling, hidden files, directories */
    static const char *const paths[] = {"/../Makefile", "/%2e%2e/Makefile",
                                        "/%2E%2E/%2E%2E/etc/passwd", "/..%2fMakefile",
                                        "/x/../index.html", "//etc/passwd", "/.git/config",
                                        "/index.html/", "/a\\b"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        int st = s_http("GET", paths[i], NULL, 0, &r);
        ck_assert_msg(st == 400 || st == 404, "GET %s: %d", paths[i], st);
        ck_assert_msg(r.body == NULL || strstr(r.body, "root:") == NULL, "GET %s leaked", paths[i]);
        s_resp_free(&r);
    }
    s_refused("GET", "/nosuch.html", NULL, 0, 404, NULL);
    s_refused("POST", "/index.html", "x", 1, 405, NULL);
    /* raw garbage and a header block over the connection's memory */
    int st = s_raw("\x16\x03\x01garbage\r\n\r\n", 15, &r);
    ck_assert_msg(st == -1 || (st >= 400 && st < 500), "garbage got %d", st);
    s_resp_free(&r);
    size_t hl = 100000;
    char *hdr = malloc(hl + 64);
    int n = sprintf(hdr, "GET / HTTP/1.1\r\nX-Big: ");
    memset(hdr + n, 'a', hl);
    memcpy(hdr + n + hl, "\r\n\r\n", 4);
    st = s_raw(hdr, (size_t)n + hl + 4, &r);
    ck_assert_msg(st == -1 || (st >= 400 && st < 500), "a huge header got %d", st);
    s_resp_free(&r);
    free(hdr);
    s_alive();
}
END_TEST

START_TEST(test_assets_served)
{
    t_resp_t r;
    ck_assert_int_eq(s_http("GET", "/", NULL, 0, &r), 200);
    ck_assert_ptr_nonnull(strstr(r.head, "Content-Type: text/html; charset=utf-8"));
    ck_assert_ptr_nonnull(strstr(r.body, "<input type=\"search\""));
    s_resp_free(&r);
    ck_assert_int_eq(s_http("GET", "/app.js", NULL, 0, &r), 200);
    ck_assert_ptr_nonnull(strstr(r.head, "Content-Type: text/javascript"));
    s_resp_free(&r);
    ck_assert_int_eq(s_http("GET", "/style.css", NULL, 0, &r), 200);
    ck_assert_ptr_nonnull(strstr(r.head, "Content-Type: text/css"));
    s_resp_free(&r);
    ck_assert_int_eq(s_http("HEAD", "/index.html", NULL, 0, &r), 200);
    s_resp_free(&r);
    /* the FHIR routes answer a FHIR resource, whatever state the facade is in */
    int st = s_http("GET", "/fhir/metadata", NULL, 0, &r);
    ck_assert_msg(st == 200 || st == 501, "GET /fhir/metadata: %d", st);
    ck_assert_ptr_nonnull(strstr(r.head, "application/fhir+json"));
    json_t *v = s_body_json(&r);
    ck_assert_ptr_nonnull(json_string_value(json_object_get(v, "resourceType")));
    json_decref(v);
    s_resp_free(&r);
    st = s_http("POST", "/fhir/CodeSystem/$lookup", "{", 1, &r);
    ck_assert_int_eq(st, 400);
    s_resp_free(&r);
    st = s_http("GET", "/fhir/CodeSystem/$lookup?code=%ff", NULL, 0, &r);
    ck_assert_int_eq(st, 400);
    v = s_body_json(&r);
    ck_assert_str_eq(json_string_value(json_object_get(v, "resourceType")), "OperationOutcome");
    json_decref(v);
    s_resp_free(&r);
}
END_TEST

/* codeset-http started with no --assets, from / (so no tree path can be found by accident):
 * the page, app.js and style.css are byte for byte the files of http/www, with their types;
 * traversal in every spelling is still refused. */
START_TEST(test_assets_compiled_in_served)
{
    s_http_stop();
    s_http_start_ex(1, NULL, NULL);
    static const char *const files[][3] = {
        {"/", "http/www/index.html", "text/html; charset=utf-8"},
        {"/index.html", "http/www/index.html", "text/html; charset=utf-8"},
        {"/app.js", "http/www/app.js", "text/javascript; charset=utf-8"},
        {"/style.css", "http/www/style.css", "text/css; charset=utf-8"}};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        t_resp_t r;
        size_t n;
        char *want = s_file_bytes(files[i][1], &n), ct[128];
        ck_assert_int_eq(s_http("GET", files[i][0], NULL, 0, &r), 200);
        snprintf(ct, sizeof ct, "Content-Type: %s", files[i][2]);
        ck_assert_msg(strstr(r.head, ct) != NULL, "%s: %s", files[i][0], r.head);
        ck_assert_int_eq(r.body_len, n);
        ck_assert_msg(memcmp(r.body, want, n) == 0, "%s differs from %s", files[i][0],
                      files[i][1]);
        free(want);
        s_resp_free(&r);
    }
    static const char *const bad[] = {"/../Makefile", "/%2e%2e/Makefile", "/%2E%2E%2Fetc",
                                      "/..%2fMakefile", "/.git", "/a/../../etc/passwd",
                                      "/http/www/index.html", "/nosuch.js"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        t_resp_t r;
        int st = s_http("GET", bad[i], NULL, 0, &r);
        ck_assert_msg(st == 400 || st == 404, "%s: %d", bad[i], st);
        s_resp_free(&r);
    }
    s_alive();
}
END_TEST

/* ---- live: a new release, no restart; SIGTERM ---- */

START_TEST(test_new_release_and_sigterm)
{
    t_resp_t r;
    ck_assert_int_eq(s_http("GET", "/api/v1/releases?system=icd10cm", NULL, 0, &r), 200);
    json_t *v = s_body_json(&r);
    ck_assert_uint_eq(json_array_size(json_object_get(v, "releases")), 1);
    json_decref(v);
    s_resp_free(&r);
    ck_assert_int_eq(s_http("GET", "/api/v1/lookup?system=icd10cm&code=E11.9&release=2022",
                            NULL, 0, &r), 404);
    s_resp_free(&r);
    cs_tclient_t *admin = cs_tclient_new(s_d.admin_ep);
    s_load(admin, "2022", "2021-10-01");
    cs_tclient_destroy(&admin);
    /* the next request sees it */
    ck_assert_int_eq(s_http("GET", "/api/v1/lookup?system=icd10cm&code=E11.9&release=2022",
                            NULL, 0, &r), 200);
    v = s_body_json(&r);
    ck_assert_str_eq(json_string_value(json_object_get(v, "release")), "2022");
    json_decref(v);
    s_resp_free(&r);
    ck_assert_int_eq(s_http("GET", "/api/v1/validate?system=icd10cm&code=E11.9&date=2021-11-01",
                            NULL, 0, &r), 200);
    v = s_body_json(&r);
    ck_assert_str_eq(json_string_value(json_object_get(v, "release")), "2022");
    json_decref(v);
    s_resp_free(&r);
    s_same("{\"op\":\"releases\"}");
    s_same("{\"op\":\"diff\",\"system\":\"icd10cm\",\"release\":\"2021\",\"to_release\":\"2022\"}");
    int status = s_http_stop();
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit status %d", status);
}
END_TEST

/* ---- clients running while a release is published ---- */

#define T_CLIENTS 4

typedef struct t_client {
    pthread_t thread;
    int errors;        /* replies that were not a 200 with a release */
    int switches;      /* times the release answering changed */
    int back;          /* times it went back to the old one */
    int after;         /* requests answered by the new release */
    char first[16];    /* the first release seen */
    volatile int *stop;
} t_client_t;

/* Lookups of E11.9 with no release named: the newest answers. */
static void *s_client(void *arg)
{
    t_client_t *c = arg;
    char last[16] = "";
    while (!*c->stop || c->after < 20) {
        t_resp_t r;
        int st = s_http("GET", "/api/v1/lookup?system=icd10cm&code=E11.9", NULL, 0, &r);
        json_t *v = st == 200 ? json_loadb(r.body, r.body_len, 0, NULL) : NULL;
        const char *rel = json_string_value(json_object_get(v, "release"));
        if (rel == NULL) {
            c->errors++;
        } else if (last[0] == '\0') {
            snprintf(c->first, sizeof c->first, "%s", rel);
            snprintf(last, sizeof last, "%s", rel);
        } else if (strcmp(rel, last) != 0) {
            c->switches++;
            c->back += strcmp(rel, c->first) == 0;
            snprintf(last, sizeof last, "%s", rel);
        }
        c->after += rel && strcmp(rel, "2022") == 0;
        json_decref(v);
        s_resp_free(&r);
        if (c->errors > 100) {
            break;
        }
    }
    return NULL;
}

START_TEST(test_clients_switch_once)
{
    volatile int stop = 0;
    t_client_t cl[T_CLIENTS];
    memset(cl, 0, sizeof cl);
    for (int i = 0; i < T_CLIENTS; i++) {
        cl[i].stop = &stop;
        ck_assert_int_eq(pthread_create(&cl[i].thread, NULL, s_client, &cl[i]), 0);
    }
    usleep(100000); /* let them start on 2021 (the switch is counted whenever it comes) */
    cs_tclient_t *admin = cs_tclient_new(s_d.admin_ep);
    s_load(admin, "2022", "2021-10-01");
    cs_tclient_destroy(&admin);
    stop = 1;
    for (int i = 0; i < T_CLIENTS; i++) {
        pthread_join(cl[i].thread, NULL);
        ck_assert_msg(cl[i].errors == 0, "client %d: %d errors", i, cl[i].errors);
        ck_assert_msg(cl[i].back == 0, "client %d went back to %s", i, cl[i].first);
        ck_assert_msg(cl[i].switches == (strcmp(cl[i].first, "2021") == 0 ? 1 : 0),
                      "client %d: first %s, %d switches", i, cl[i].first, cl[i].switches);
        ck_assert_int_ge(cl[i].after, 20);
    }
}
END_TEST

/* ---- idle and slow connections ---- */

static int s_connect(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s_port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

/* 1 when the server closes fd (after answering or not) within 10 s. */
static int s_cut_off(int fd)
{
    char buf[4096];
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, T_TIMEOUT) <= 0) {
            return 0;
        }
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) {
            return 1;
        }
    }
}

START_TEST(test_idle_and_slow_clients)
{
    enum { N_IDLE = 500 };
    int idle[N_IDLE];
    for (int i = 0; i < N_IDLE; i++) {
        idle[i] = s_connect();
    }
    /* a slow client: half a request, then nothing */
    int slow = s_connect();
    const char half[] = "POST /api/v1/validate HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{";
    ck_assert_int_eq(send(slow, half, sizeof half - 1, MSG_NOSIGNAL), (ssize_t)(sizeof half - 1));
    s_alive(); /* served beside them */
    ck_assert_msg(s_cut_off(slow), "a slow client was never cut off");
    for (int i = 0; i < N_IDLE; i++) {
        ck_assert_msg(s_cut_off(idle[i]), "idle connection %d was never cut off", i);
        close(idle[i]);
    }
    close(slow);
    s_alive();
}
END_TEST

/* ---- FY2021: the official release, every 45th code of its order file ---- */

/* The order file's codes (columns 7-13), every stride-th one; returns how many. */
static size_t s_order_codes(const char *path, size_t stride, char (*out)[8], size_t cap)
{
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char line[512];
    size_t n = 0, i = 0;
    while (fgets(line, sizeof line, f) && n < cap) {
        if (i++ % stride != 0 || strlen(line) < 14) {
            continue;
        }
        int len = 0;
        while (len < 7 && line[6 + len] != ' ') {
            len++;
        }
        memcpy(out[n], line + 6, (size_t)len);
        out[n++][len] = '\0';
    }
    fclose(f);
    return n;
}

START_TEST(test_fy2021_order_codes)
{
    char xml[600], order[600], axml[PATH_MAX], aorder[PATH_MAX];
    CS_SKIP_UNLESS_DATA(cs_test_data_path("icd10cm/2021/icd10cm_tabular_2021.xml", xml,
                                          sizeof xml) &&
                            cs_test_data_path("icd10cm/2021/icd10cm_order_2021.txt", order,
                                              sizeof order),
                        "icd10cm/2021");
    ck_assert_ptr_nonnull(realpath(xml, axml));
    ck_assert_ptr_nonnull(realpath(order, aorder));
    memset(&s_d, 0, sizeof s_d);
    ck_assert_int_eq(cs_daemon_start(&s_d, NULL), 0);
    cs_tclient_t *admin = cs_tclient_new(s_d.admin_ep);
    const char *files[] = {axml, aorder};
    char state[64];
    ck_assert_ptr_nonnull(cs_daemon_load(&s_d, admin, "icd10cm-tabular", "2021", "2020-10-01",
                                         files, 2, state, sizeof state, 300000));
    ck_assert_str_eq(state, "done");
    cs_tclient_destroy(&admin);
    s_q = cs_tclient_new(s_d.query_ep);
    s_http_start(NULL, NULL);

    static char codes[2200][8];
    size_t n = s_order_codes(aorder, 45, codes, 2100); /* 95,358 rows: 2,120 codes */
    ck_assert_uint_ge(n, 2000);
    static const char *const odd[] = {"E11", "S72.001", "E11.99X", "ZZZ99", "E119", "e11.9",
                                      "A00-B99", "1", "E11..9", "S72001A", "T36.0X1A"};
    json_t *all = json_array();
    for (size_t i = 0; i < n + sizeof odd / sizeof odd[0]; i++) {
        const char *code = i < n ? codes[i] : odd[i - n];
        json_array_append_new(all, json_string(code));
        json_t *req = json_pack("{s:s, s:s, s:s, s:[sss]}", "op", "lookup", "system",
                                "icd10cm", "code", code, "include", "notes", "children",
                                "ancestors");
        char *text = json_dumps(req, JSON_COMPACT);
        char path[64];
        snprintf(path, sizeof path, "/v1/icd10cm/%s", code);
        s_same_get(path, text);
        free(text);
        json_decref(req);
    }
    /* the whole list in one validate, without and with a date of service */
    json_t *v = json_pack("{s:s, s:s, s:O}", "op", "validate", "system", "icd10cm", "codes", all);
    char *text = json_dumps(v, JSON_COMPACT);
    s_same(text);
    free(text);
    json_object_set_new(v, "date", json_string("2021-03-01"));
    text = json_dumps(v, JSON_COMPACT);
    s_same(text);
    free(text);
    fprintf(stderr, "http: FY2021: %zu lookups and a validate of them all answered over HTTP as "
                    "over the wire\n", json_array_size(all));
    json_decref(v);
    json_decref(all);
    s_teardown();
}
END_TEST

/* ---- units ---- */

static cs_proto_err_t s_decode(const char *text, cs_op_t op, hs_request_t *r, char *msg)
{
    json_error_t err;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &err);
    ck_assert_ptr_nonnull(v);
    cs_proto_err_t e = hs_request_decode(r, op, v, msg, 256);
    json_decref(v);
    return e;
}

START_TEST(test_decoder_units)
{
    hs_request_t r;
    hs_request_init(&r);
    char msg[256];
    ck_assert_int_eq(s_decode("{\"system\":\"icd10cm\",\"codes\":[\"E11\",\"X\"],"
                              "\"date\":\"2024-02-29\",\"id\":\"a\"}",
                              CS_OP_VALIDATE, &r, msg),
                     CS_PERR_NONE);
    ck_assert_uint_eq(r.req.n_codes, 2);
    ck_assert_int_eq(r.req.date, 20240229);
    ck_assert_int_eq(r.req.id.type, CS_SCALAR_STR);
    cs_str_t c = cs_request_code_at(&r.req, 1);
    ck_assert(c.len == 1 && c.ptr[0] == 'X');
    ck_assert_int_eq(s_decode("{\"system\":\"icd10cm\",\"q\":\"a\",\"limit\":99999,"
                              "\"offset\":99999999999}",
                              CS_OP_SEARCH, &r, msg),
                     CS_PERR_NONE);
    ck_assert_int_eq(r.req.limit, CS_PROTO_MAX_LIMIT);
    ck_assert_int_eq(r.req.offset, 2147483647);
    ck_assert_int_eq(s_decode("{\"system\":\"icd10cm\",\"code\":\"E11\",\"date\":\"2023-02-29\"}",
                              CS_OP_LOOKUP, &r, msg),
                     CS_PERR_BAD_REQUEST);
    ck_assert_ptr_nonnull(strstr(msg, "real date"));
    ck_assert_int_eq(s_decode("[]", CS_OP_LOOKUP, &r, msg), CS_PERR_BAD_REQUEST);
    ck_assert_int_eq(s_decode("{\"id\":9,\"v\":3}", CS_OP_PING, &r, msg),
                     CS_PERR_UNSUPPORTED_VERSION);
    ck_assert(r.req.has_id && r.req.id.type == CS_SCALAR_UINT && r.req.id.via.u == 9);
    hs_request_fini(&r);
    hs_request_fini(&r);
    /* query strings */
    json_t *o = json_object();
    ck_assert_int_eq(hs_query_add(o, CS_OP_VALIDATE, "code", 4, "A", 1, msg, 256), 0);
    ck_assert_int_eq(hs_query_add(o, CS_OP_VALIDATE, "code", 4, "B", 1, msg, 256), 0);
    ck_assert_int_eq(hs_query_add(o, CS_OP_VALIDATE, "code", 4, "C", 1, msg, 256), 0);
    ck_assert_int_eq(hs_query_add(o, CS_OP_VALIDATE, "limit", 5, "12", 2, msg, 256), 0);
    ck_assert_int_eq(hs_query_add(o, CS_OP_VALIDATE, "reverse", 7, "1", 1, msg, 256), 0);
    ck_assert_int_eq(hs_query_add(o, CS_OP_VALIDATE, "include", 7, "notes,children", 14, msg,
                                  256),
                     0);
    ck_assert_int_eq(hs_query_add(o, CS_OP_VALIDATE, "zzz", 3, "x", 1, msg, 256), 0);
    json_t *want = json_pack("{s:[sss], s:i, s:b, s:[ss]}", "codes", "A", "B", "C", "limit", 12,
                             "reverse", 1, "include", "notes", "children");
    ck_assert_msg(json_equal(o, want), "%s", json_dumps(o, 0));
    json_decref(want);
    ck_assert_int_eq(hs_query_add(o, CS_OP_VALIDATE, "limit", 5, "1x", 2, msg, 256), -1);
    ck_assert_int_eq(hs_query_add(o, CS_OP_VALIDATE, "offset", 6, "", 0, msg, 256), -1);
    ck_assert_int_eq(hs_query_add(o, CS_OP_VALIDATE, "reverse", 7, "yes", 3, msg, 256), -1);
    ck_assert_int_eq(hs_query_add(o, CS_OP_VALIDATE, "system", 6, "a", 1, msg, 256), 0);
    ck_assert_int_eq(hs_query_add(o, CS_OP_VALIDATE, "system", 6, "b", 1, msg, 256), -1);
    ck_assert_ptr_nonnull(strstr(msg, "more than once"));
    ck_assert_int_eq(hs_query_add(o, CS_OP_VALIDATE, "q", 1, "\xff", 1, msg, 256), -1);
    json_decref(o);
    o = json_object();
    ck_assert_int_eq(hs_query_add(o, CS_OP_LOOKUP, "code", 4, "A", 1, msg, 256), 0);
    ck_assert_int_eq(hs_query_add(o, CS_OP_LOOKUP, "code", 4, "B", 1, msg, 256), -1);
    json_decref(o);
    /* the index op: table, path (repeated, never split: terms hold commas), follow */
    o = json_object();
    ck_assert_int_eq(hs_query_add(o, CS_OP_INDEX, "table", 5, "eindex", 6, msg, 256), 0);
    ck_assert_int_eq(hs_query_add(o, CS_OP_INDEX, "path", 4, "Fall, falling", 13, msg, 256), 0);
    ck_assert_int_eq(hs_query_add(o, CS_OP_INDEX, "path", 4, "ladder", 6, msg, 256), 0);
    ck_assert_int_eq(hs_query_add(o, CS_OP_INDEX, "follow", 6, "true", 4, msg, 256), 0);
    ck_assert_int_eq(hs_query_add(o, CS_OP_INDEX, "follow", 6, "1", 1, msg, 256), -1);
    ck_assert_ptr_nonnull(strstr(msg, "more than once"));
    want = json_pack("{s:s, s:[ss], s:b}", "table", "eindex", "path", "Fall, falling", "ladder",
                     "follow", 1);
    ck_assert_msg(json_equal(o, want), "%s", json_dumps(o, 0));
    json_decref(want);
    json_decref(o);
    o = json_object();
    ck_assert_int_eq(hs_query_add(o, CS_OP_INDEX, "follow", 6, "on", 2, msg, 256), -1);
    ck_assert_ptr_nonnull(strstr(msg, "\"follow\" must be a bool"));
    json_decref(o);
    hs_request_init(&r);
    ck_assert_int_eq(s_decode("{\"system\":\"icd10cm\",\"table\":\"eindex\","
                              "\"path\":[\"Fall, falling\",\"ladder\"],\"follow\":true}",
                              CS_OP_INDEX, &r, msg),
                     CS_PERR_NONE);
    ck_assert_uint_eq(r.req.n_path, 2);
    cs_str_t t = cs_request_path_at(&r.req, 0);
    ck_assert(t.len == 13 && memcmp(t.ptr, "Fall, falling", 13) == 0);
    ck_assert(r.req.follow == 1 && r.req.table.len == 6);
    ck_assert_int_eq(s_decode("{\"system\":\"icd10cm\",\"table\":\"drug\",\"follow\":\"yes\"}",
                              CS_OP_INDEX, &r, msg),
                     CS_PERR_BAD_REQUEST);
    ck_assert_str_eq(msg, "\"follow\" must be a bool, not str");
    ck_assert_int_eq(s_decode("{\"system\":\"icd10cm\",\"table\":\"drug\",\"path\":[\"a\\n\"]}",
                              CS_OP_INDEX, &r, msg),
                     CS_PERR_BAD_REQUEST);
    ck_assert_ptr_nonnull(strstr(msg, "\"path\"[0] contains a control character"));
    ck_assert_int_eq(s_decode("{\"system\":\"icd10cm\",\"table\":\"drug\",\"path\":[\"a\","
                              "\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\",\"i\",\"j\",\"k\"]}",
                              CS_OP_INDEX, &r, msg),
                     CS_PERR_TOO_MANY);
    ck_assert_int_eq(s_decode("{\"system\":\"icd10cm\",\"q\":\"x\",\"include\":[\"index\"]}",
                              CS_OP_SEARCH, &r, msg),
                     CS_PERR_NONE);
    ck_assert_uint_eq(r.req.include, CS_INCLUDE_INDEX);
    hs_request_fini(&r);
}
END_TEST

/* ---- the JSON decoder against the wire decoder, on random requests ---- */

static uint64_t s_rng = 0x2545f4914f6cdd1du;

static uint32_t s_rand(uint32_t n)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return (uint32_t)(s_rng % n);
}

/* A value of a random type, now and then the one its key wants. */
static json_t *s_rand_value(int depth)
{
    static const char *const strs[] = {"icd10cm", "E11.9", "2021", "2021-02-29", "2020-02-29",
                                       "notes", "children", "", "x\ty", "diab", "ancestors",
                                       "1999-12-31", "icd9cm", "drug", "eindex",
                                       "Fall, falling", "index"};
    switch (s_rand(depth > 1 ? 6 : 8)) {
    case 0: return json_null();
    case 1: return json_boolean(s_rand(2));
    case 2: return json_integer((json_int_t)s_rand(2000) - 1000);
    case 3: return json_integer(s_rand(2) ? INT64_MAX : INT64_MIN);
    case 4: return json_real(0.5 * s_rand(10));
    case 5: return json_string(strs[s_rand(sizeof strs / sizeof strs[0])]);
    case 6: {
        json_t *a = json_array();
        for (uint32_t i = s_rand(4); i > 0; i--) {
            json_array_append_new(a, s_rand_value(depth + 1));
        }
        return a;
    }
    default: return json_pack("{s:o}", "k", s_rand_value(depth + 1));
    }
}

/* The fields both decoders fill, compared. */
static void s_same_request(const cs_request_t *a, const cs_request_t *b, const char *text)
{
    ck_assert_msg(a->has_id == b->has_id && a->n_codes == b->n_codes && a->limit == b->limit &&
                      a->offset == b->offset && a->include == b->include &&
                      a->billable_only == b->billable_only && a->reverse == b->reverse &&
                      a->has_date == b->has_date && a->date == b->date &&
                      a->n_path == b->n_path && a->follow == b->follow,
                  "decoded differently: %s", text);
    const cs_str_t *sa[] = {&a->system, &a->release, &a->to_release, &a->code, &a->q,
                            &a->from, &a->to, &a->map, &a->table};
    const cs_str_t *sb[] = {&b->system, &b->release, &b->to_release, &b->code, &b->q,
                            &b->from, &b->to, &b->map, &b->table};
    for (size_t i = 0; i < sizeof sa / sizeof sa[0]; i++) {
        ck_assert_msg(sa[i]->len == sb[i]->len && (sa[i]->ptr == NULL) == (sb[i]->ptr == NULL) &&
                          (sa[i]->len == 0 || memcmp(sa[i]->ptr, sb[i]->ptr, sa[i]->len) == 0),
                      "string %zu decoded differently: %s", i, text);
    }
    for (uint32_t i = 0; i < a->n_codes; i++) {
        cs_str_t ca = cs_request_code_at(a, i), cb = cs_request_code_at(b, i);
        ck_assert_msg(ca.len == cb.len && memcmp(ca.ptr, cb.ptr, ca.len) == 0,
                      "code %u decoded differently: %s", i, text);
    }
    for (uint32_t i = 0; i < a->n_path; i++) {
        cs_str_t pa = cs_request_path_at(a, i), pb = cs_request_path_at(b, i);
        ck_assert_msg(pa.len == pb.len && memcmp(pa.ptr, pb.ptr, pa.len) == 0,
                      "path term %u decoded differently: %s", i, text);
    }
}

START_TEST(test_decoder_as_wire)
{
    static const char *const keys[] = {"id", "v", "system", "release", "to_release", "code",
                                       "q", "from", "to", "map", "date", "include", "codes",
                                       "limit", "offset", "billable_only", "reverse", "table",
                                       "path", "follow", "other"};
    static const cs_op_t ops[] = {CS_OP_PING,     CS_OP_LOOKUP,   CS_OP_VALIDATE,
                                  CS_OP_SEARCH,   CS_OP_CROSSWALK, CS_OP_RELEASES,
                                  CS_OP_DIFF,     CS_OP_INDEX};
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    int agreed_ok = 0;
    for (int n = 0; n < 20000; n++) {
        cs_op_t op = ops[s_rand(sizeof ops / sizeof ops[0])];
        json_t *body = json_object();
        for (uint32_t i = s_rand(6); i > 0; i--) {
            json_object_set_new(body, keys[s_rand(sizeof keys / sizeof keys[0])],
                                s_rand_value(0));
        }
        /* the wire request: the same map with "op" first */
        msgpack_sbuffer_clear(&sb);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_map(&pk, json_object_size(body) + 1);
        cs_tpack_kv(&pk, "op", cs_proto_opname(op));
        const char *k;
        json_t *v;
        json_object_foreach(body, k, v)
        {
            cs_tpack_str(&pk, k);
            s_pack_json(&pk, v);
        }
        cs_request_t wire;
        cs_request_init(&wire);
        cs_error_t err;
        cs_proto_err_t we = cs_request_decode(&wire, sb.data, sb.size, &err);
        hs_request_t r;
        hs_request_init(&r);
        char msg[256];
        cs_proto_err_t he = hs_request_decode(&r, op, body, msg, sizeof msg);
        char *text = json_dumps(body, JSON_COMPACT);
        ck_assert_msg(we == he, "%s %s: wire %s (%s), json %s (%s)", cs_proto_opname(op), text,
                      cs_proto_errname(we), err.msg, cs_proto_errname(he), msg);
        if (we != CS_PERR_NONE) {
            ck_assert_msg(strcmp(err.msg, msg) == 0, "%s %s: wire \"%s\", json \"%s\"",
                          cs_proto_opname(op), text, err.msg, msg);
        } else {
            s_same_request(&wire, &r.req, text);
            agreed_ok++;
        }
        ck_assert_int_eq(wire.has_id, r.req.has_id);
        free(text);
        hs_request_fini(&r);
        cs_request_release(&wire);
        json_decref(body);
    }
    msgpack_sbuffer_destroy(&sb);
    ck_assert_int_gt(agreed_ok, 500); /* not all refused: about 1 in 17 is well-formed */
}
END_TEST

/* A random string for the dumper: plain text, every escape, control bytes, NUL, UTF-8. */
static json_t *s_rand_string(void)
{
    static const char *const parts[] = {"E11.9", "\"", "\\", "\b", "\f", "\n", "\r", "\t",
                                        "\x01", "\x1f", "\x7f", "/", "\xc3\xa9", "\xe2\x82\xac",
                                        "\xf0\x9f\x98\x80", " ", "diab mel", "\\u0000"};
    char buf[256];
    size_t n = 0;
    for (uint32_t k = s_rand(6); k > 0; k--) {
        const char *p = parts[s_rand(sizeof parts / sizeof parts[0])];
        memcpy(buf + n, p, strlen(p));
        n += strlen(p);
        if (s_rand(8) == 0) {
            buf[n++] = '\0'; /* jansson strings may hold NUL (json_stringn) */
        }
    }
    return json_stringn(buf, n);
}

/* A random tree for the dumper: every type, keys with escapes, nesting. */
static json_t *s_rand_tree(int depth)
{
    switch (s_rand(depth > 3 ? 7 : 9)) {
    case 0: return json_null();
    case 1: return json_boolean(s_rand(2));
    case 2: return json_integer((json_int_t)s_rand(2000000) - 1000000);
    case 3: return json_integer(s_rand(2) ? INT64_MAX : INT64_MIN);
    case 4: return json_real(s_rand(2) ? 0.1 * s_rand(100) : 1e300 / (1 + s_rand(9)));
    case 5:
    case 6: return s_rand_string();
    case 7: {
        json_t *a = json_array();
        for (uint32_t i = s_rand(5); i > 0; i--) {
            json_array_append_new(a, s_rand_tree(depth + 1));
        }
        return a;
    }
    default: {
        json_t *o = json_object();
        for (uint32_t i = s_rand(5); i > 0; i--) {
            json_t *k = s_rand_string();
            json_object_setn_new(o, json_string_value(k), json_string_length(k),
                                 s_rand_tree(depth + 1));
            json_decref(k);
        }
        return o;
    }
    }
}

/* hs_json_dump writes what json_dumps(JSON_COMPACT) writes, byte for byte, for 20,000 random
 * trees and codeset-http's own kinds of reply; too deep a tree is refused, not overflowed. */
START_TEST(test_json_dump_as_jansson)
{
    for (int i = 0; i < 20000; i++) {
        json_t *v = s_rand_tree(0);
        char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        size_t len = 0;
        char *got = hs_json_dump(v, &len);
        ck_assert_ptr_nonnull(want);
        ck_assert_ptr_nonnull(got);
        ck_assert_msg(len == strlen(want) && memcmp(got, want, len) == 0,
                      "tree %d:\n  jansson: %s\n  ours:    %s", i, want, got);
        free(want);
        free(got);
        json_decref(v);
    }
    json_t *deep = json_array();
    for (int i = 0; i < HS_JSON_DUMP_MAX_DEPTH + 10; i++) {
        deep = json_pack("[o]", deep);
    }
    size_t len;
    ck_assert_ptr_null(hs_json_dump(deep, &len));
    json_decref(deep);
    ck_assert_ptr_null(hs_json_dump(NULL, &len));
}
END_TEST

/* A text written by hand (hs_jbuf): strings escaped as jansson escapes them (2,000 random
 * ones), a piece put in before what was written, a cut. */
START_TEST(test_jbuf_pieces)
{
    for (int i = 0; i < 2000; i++) {
        json_t *v = s_rand_string();
        hs_jbuf_t b = {0};
        hs_jbuf_str(&b, json_string_value(v), json_string_length(v));
        char *want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        ck_assert_str_eq(hs_jbuf_text(&b), want);
        free(want);
        hs_jbuf_free(&b);
        json_decref(v);
    }
    hs_jbuf_t b = {0};
    ck_assert_str_eq(hs_jbuf_text(&b), "");
    hs_jbuf_lit(&b, "[1,2]");
    hs_jbuf_insert(&b, 1, "0,", 2);
    ck_assert_str_eq(hs_jbuf_text(&b), "[0,1,2]");
    size_t at = b.len;
    hs_jbuf_lit(&b, ",\"gone\"");
    hs_jbuf_cut(&b, at);
    json_t *v = json_pack("{s:[i,s]}", "k", 3, "a\"b");
    hs_jbuf_value(&b, v);
    json_decref(v);
    ck_assert_str_eq(hs_jbuf_text(&b), "[0,1,2]{\"k\":[3,\"a\\\"b\"]}");
    hs_jbuf_insert(&b, b.len + 1, "x", 1); /* past the end: refused, and sticky */
    ck_assert_ptr_null(hs_jbuf_text(&b));
    hs_jbuf_free(&b);
    ck_assert_ptr_null(b.p);
}
END_TEST


/* Paths refused by their form (400) or not there (404); the symlinks of test_assets_units
 * lead out, so they are not there either. */
static const struct {
    const char *path;
    int status;
} s_asset_cases[] = {{"/leak.txt", 404},        {"/up/secret.txt", 404}, {"/sub/etc/passwd", 404},
                     {"/../secret.txt", 400},   {"/sub/../index.html", 400},
                     {"/.hidden", 400},         {"index.html", 400},     {"/sub", 404},
                     {"/sub/", 400},            {"/a b", 400},           {"//index.html", 400},
                     {"/nosuch", 404},          {"/%2e%2e/secret.txt", 400}};

START_TEST(test_assets_units)
{
    char dir[PATH_MAX], path[PATH_MAX + 64], out[PATH_MAX + 64];
    cs_test_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/www", dir);
    ck_assert_int_eq(mkdir(path, 0700), 0);
    snprintf(path, sizeof path, "%s/www/index.html", dir);
    FILE *f = fopen(path, "w");
    fputs("<p>hi</p>", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/secret.txt", dir);
    f = fopen(path, "w");
    fputs("secret", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/www/sub", dir);
    ck_assert_int_eq(mkdir(path, 0700), 0);
    /* symlinks: to a file outside, to a directory outside, to a file inside */
    snprintf(path, sizeof path, "%s/secret.txt", dir);
    snprintf(out, sizeof out, "%s/www/leak.txt", dir);
    ck_assert_int_eq(symlink(path, out), 0);
    snprintf(out, sizeof out, "%s/www/up", dir);
    ck_assert_int_eq(symlink(dir, out), 0);
    snprintf(out, sizeof out, "%s/www/sub/etc", dir);
    ck_assert_int_eq(symlink("/etc", out), 0);
    snprintf(path, sizeof path, "%s/www", dir);
    cs_error_t err;
    cs_error_clear(&err);
    hs_assets_t *a = hs_assets_open(path, &err);
    ck_assert_ptr_nonnull(a);
    hs_asset_t got;
    ck_assert_int_eq(hs_assets_get(a, "/", &got), 200);
    ck_assert_int_eq(got.size, 9);
    ck_assert_ptr_null(got.data);
    ck_assert_str_eq(got.ctype, "text/html; charset=utf-8");
    close(got.fd);
    for (size_t i = 0; i < sizeof s_asset_cases / sizeof s_asset_cases[0]; i++) {
        int st = hs_assets_get(a, s_asset_cases[i].path, &got);
        ck_assert_msg(st == s_asset_cases[i].status, "%s: %d, expected %d",
                      s_asset_cases[i].path, st, s_asset_cases[i].status);
        ck_assert_int_eq(got.fd, -1);
    }
    ck_assert_str_eq(hs_assets_content_type("x.js"), "text/javascript; charset=utf-8");
    ck_assert_str_eq(hs_assets_content_type("x"), "application/octet-stream");
    hs_assets_destroy(&a);
    hs_assets_destroy(&a);
    cs_test_rmtree(dir);
}
END_TEST

/* The compiled-in copy: every file of http/www, byte for byte, and the same path rules. */
START_TEST(test_assets_compiled_in)
{
    cs_error_t err;
    hs_assets_t *a = hs_assets_open(NULL, &err);
    ck_assert_ptr_nonnull(a);
    static const char *const files[] = {"index.html", "app.js", "style.css"};
    for (size_t i = 0; i < 3; i++) {
        char path[64], url[64];
        snprintf(path, sizeof path, "http/www/%s", files[i]);
        snprintf(url, sizeof url, "/%s", i == 0 ? "" : files[i]);
        size_t n;
        char *want = s_file_bytes(path, &n);
        hs_asset_t f;
        ck_assert_int_eq(hs_assets_get(a, url, &f), 200);
        ck_assert_int_eq(f.fd, -1);
        ck_assert_int_eq(f.size, n);
        ck_assert_msg(memcmp(f.data, want, n) == 0, "%s differs from the compiled-in copy",
                      path);
        ck_assert_str_eq(f.ctype, hs_assets_content_type(files[i]));
        free(want);
    }
    for (size_t i = 0; i < sizeof s_asset_cases / sizeof s_asset_cases[0]; i++) {
        hs_asset_t f;
        int st = hs_assets_get(a, s_asset_cases[i].path, &f);
        ck_assert_msg(st == s_asset_cases[i].status, "%s: %d, expected %d",
                      s_asset_cases[i].path, st, s_asset_cases[i].status);
        ck_assert_ptr_null(f.data);
    }
    hs_assets_destroy(&a);
}
END_TEST

/* ---- the page, in a browser ---- */

/* Run tests/http_browser.py with extra arguments: 1 when it passed, 0 when it skipped. */
static int s_browser(const char *extra)
{
    char cmd[PATH_MAX * 2];
    /* Debian's python3, where python3-selenium is (PYTHON3 overrides, as check_install) */
    const char *py = getenv("PYTHON3") ? getenv("PYTHON3") : "/usr/bin/python3";
    snprintf(cmd, sizeof cmd, "%s tests/http_browser.py http://127.0.0.1:%d/ %s/http-shots%s",
             py, s_port, cs_test_build_dir(), extra);
    int rc = system(cmd);
    ck_assert_msg(WIFEXITED(rc), "the browser test did not exit");
    if (WEXITSTATUS(rc) == 77) {
        fprintf(stderr, "http: the browser test is skipped (see its line above)\n");
        return 0;
    }
    ck_assert_msg(WEXITSTATUS(rc) == 0, "tests/http_browser.py%s failed (exit %d)", extra,
                  WEXITSTATUS(rc));
    return 1;
}

START_TEST(test_browser)
{
    /* no index set yet: the Index's tabs say so; then the samples, and the whole page */
    if (!s_browser(" --no-index")) {
        return;
    }
    s_load_index();
    s_browser("");
    s_alive();
}
END_TEST

Suite *cs_http_suite(void)
{
    Suite *s = suite_create("http");
    TCase *units = tcase_create("units");
    tcase_add_test(units, test_decoder_units);
    tcase_add_test(units, test_assets_units);
    tcase_add_test(units, test_assets_compiled_in);
    tcase_add_test(units, test_json_dump_as_jansson);
    tcase_add_test(units, test_jbuf_pieces);
    tcase_add_test(units, test_decoder_as_wire);
    suite_add_tcase(s, units);
    TCase *tc = tcase_create("live");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_same_answers);
    tcase_add_test(tc, test_same_answers_get);
    tcase_add_test(tc, test_hostile);
    tcase_add_test(tc, test_assets_served);
    tcase_add_test(tc, test_assets_compiled_in_served);
    tcase_add_test(tc, test_new_release_and_sigterm);
    tcase_add_test(tc, test_clients_switch_once);
    tcase_add_test(tc, test_browser);
    suite_add_tcase(s, tc);
    TCase *fy = tcase_create("fy2021");
    tcase_set_timeout(fy, 600);
    tcase_add_test(fy, test_fy2021_order_codes);
    suite_add_tcase(s, fy);
    TCase *lim = tcase_create("limits");
    tcase_add_checked_fixture(lim, s_setup_short_timeout, s_teardown);
    tcase_set_timeout(lim, 120);
    tcase_add_test(lim, test_idle_and_slow_clients);
    suite_add_tcase(s, lim);
    return s;
}
