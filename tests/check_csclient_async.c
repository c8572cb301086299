/* check_csclient_async.c: the batch op and the C client library's asynchronous calls, against
 * a real codesetd with the bundled sample release: each item of a batch answers byte for byte
 * what it would answer alone; asynchronous results equal the synchronous ones; many callers
 * interleaved; an older broker without the batch op (a ROUTER in front of a real broker that
 * answers "batch" as a broker of before it would); a broker killed with calls in flight. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "codeset_client.h"
#include "cs_daemon.h"
#include "cs_test.h"

/* ---- the requests: every code of the sample order file, as sent and varied ---- */

#define S_MAX_REQS 1200

typedef struct s_item {
    int validate;        /* 0: lookup, 1: validate */
    char code[32];       /* the code as sent */
    char code2[32];      /* validate: a second code */
    const char *release; /* or NULL */
    const char *date;    /* or NULL */
    unsigned include;    /* lookup: CS_CLIENT_INCLUDE_* */
    const char *system;  /* "icd10cm", or an unknown system now and then */
} s_item_t;

static size_t s_n_items;
static s_item_t s_items[S_MAX_REQS];

/* The codes of the sample order file, each as found, as a caller might type it (lower case, no
 * dot), its 3-character header, a code the release does not hold and a malformed one; pinned
 * by release, by date, or neither; lookups with parts included; validates of two codes. */
static void s_make_items(void)
{
    FILE *f = fopen("loaders/icd10cm-tabular/sample/icd10cm_order_sample.txt", "r");
    ck_assert_ptr_nonnull(f);
    char line[512];
    size_t k = 0;
    static const char *const dates[] = {"2020-10-01", "2021-03-01", "2019-01-01"};
    while (fgets(line, sizeof line, f) && k + 5 <= S_MAX_REQS) {
        char code[16];
        if (sscanf(line, "%*s %15s", code) != 1) {
            continue;
        }
        for (int v = 0; v < 5; v++, k++) {
            s_item_t *it = &s_items[k];
            memset(it, 0, sizeof *it);
            it->system = "icd10cm";
            it->validate = (int)(k % 3 == 1);
            switch (v) {
            case 0: snprintf(it->code, sizeof it->code, "%s", code); break;
            case 1:
                for (size_t i = 0; code[i] && i + 1 < sizeof it->code; i++) {
                    it->code[i] = (char)(code[i] >= 'A' && code[i] <= 'Z' ? code[i] + 32 : code[i]);
                }
                break;
            case 2: snprintf(it->code, sizeof it->code, "%.3s", code); break;
            case 3: snprintf(it->code, sizeof it->code, "%.3s.9Z9", code); break;
            default: snprintf(it->code, sizeof it->code, "1%s!", code); break;
            }
            snprintf(it->code2, sizeof it->code2, "%s", v == 4 ? code : "E11.9");
            it->release = k % 4 == 0 ? "S" : NULL;
            it->date = k % 4 == 1 ? dates[k % 3] : NULL;
            it->include = k % 7 == 0 ? CS_CLIENT_INCLUDE_CHILDREN | CS_CLIENT_INCLUDE_ANCESTORS
                          : k % 7 == 3 ? CS_CLIENT_INCLUDE_NOTES
                                       : 0;
            if (k % 97 == 5) {
                it->system = "nosuchsystem"; /* an error reply for this one only */
            }
        }
    }
    fclose(f);
    s_n_items = k;
    ck_assert_uint_ge(s_n_items, 500);
}

/* Item i as a msgpack request map, with an id of i. */
static void s_pack_item(msgpack_packer *pk, size_t i)
{
    const s_item_t *it = &s_items[i];
    uint32_t n = 4 + (it->release ? 1 : 0) + (it->date ? 1 : 0) +
                 (!it->validate && it->include ? 1 : 0);
    msgpack_pack_map(pk, n);
    cs_tpack_str(pk, "id");
    msgpack_pack_uint64(pk, i);
    cs_tpack_kv(pk, "op", it->validate ? "validate" : "lookup");
    cs_tpack_kv(pk, "system", it->system);
    if (it->validate) {
        cs_tpack_str(pk, "codes");
        msgpack_pack_array(pk, 2);
        cs_tpack_str(pk, it->code);
        cs_tpack_str(pk, it->code2);
    } else {
        cs_tpack_kv(pk, "code", it->code);
    }
    if (it->release) {
        cs_tpack_kv(pk, "release", it->release);
    }
    if (it->date) {
        cs_tpack_kv(pk, "date", it->date);
    }
    if (!it->validate && it->include) {
        cs_tpack_str(pk, "include");
        msgpack_pack_array(pk, 2);
        cs_tpack_str(pk, it->include & CS_CLIENT_INCLUDE_NOTES ? "notes" : "children");
        cs_tpack_str(pk, "ancestors");
    }
}

static void s_start(cs_daemon_t *d)
{
    cs_daemon_start_sample(d, NULL);
    s_make_items();
}

static void s_stop(cs_daemon_t *d)
{
    if (d->pid > 0) {
        ck_assert_int_eq(cs_daemon_stop(d), 0);
    }
    cs_daemon_cleanup(d);
}

/* ---- the wire: a batch's items are the single replies, byte for byte ---- */

typedef struct s_bytes {
    char *p;
    size_t n;
} s_bytes_t;

/* The byte range of each item of a batch reply {"ok":true,"replies":[...]} (no id). */
static size_t s_split_replies(const char *data, size_t len, size_t *starts, size_t *ends,
                              size_t cap)
{
    ck_assert_uint_eq((unsigned char)data[0], 0x82); /* a map of two keys: ok, replies */
    size_t off = 1;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    for (int i = 0; i < 3; i++) { /* "ok", true, "replies" */
        ck_assert_int_eq(msgpack_unpack_next(&u, data, len, &off), MSGPACK_UNPACK_SUCCESS);
    }
    ck_assert(cs_obj_is_str(&u.data, "replies"));
    unsigned char h = (unsigned char)data[off];
    size_t n;
    if ((h & 0xf0) == 0x90) {
        n = h & 0x0f;
        off += 1;
    } else if (h == 0xdc) {
        n = ((size_t)(unsigned char)data[off + 1] << 8) | (unsigned char)data[off + 2];
        off += 3;
    } else {
        ck_abort_msg("replies is not an array16 or fixarray (0x%02x)", h);
        return 0;
    }
    ck_assert_uint_le(n, cap);
    for (size_t i = 0; i < n; i++) {
        starts[i] = off;
        ck_assert_int_eq(msgpack_unpack_next(&u, data, len, &off), MSGPACK_UNPACK_SUCCESS);
        ends[i] = off;
    }
    ck_assert_uint_eq(off, len);
    msgpack_unpacked_destroy(&u);
    return n;
}

/* Send items [lo, hi) alone, then as one batch, and compare the bytes of each. */
static void s_compare_range(cs_tclient_t *t, const s_bytes_t *single, size_t lo, size_t hi)
{
    msgpack_packer *pk = cs_tclient_begin(t);
    msgpack_pack_map(pk, 2);
    cs_tpack_kv(pk, "op", "batch");
    cs_tpack_str(pk, "requests");
    msgpack_pack_array(pk, (uint32_t)(hi - lo));
    for (size_t i = lo; i < hi; i++) {
        s_pack_item(pk, i);
    }
    ck_assert_ptr_nonnull(cs_tclient_call(t, 20000));
    size_t len;
    const char *raw = cs_tclient_last_raw(t, &len);
    static size_t starts[S_MAX_REQS], ends[S_MAX_REQS];
    size_t n = s_split_replies(raw, len, starts, ends, S_MAX_REQS);
    ck_assert_uint_eq(n, hi - lo);
    for (size_t i = lo; i < hi; i++) {
        size_t m = ends[i - lo] - starts[i - lo];
        ck_assert_msg(m == single[i].n && memcmp(raw + starts[i - lo], single[i].p, m) == 0,
                      "item %zu (%s %s) differs from its single reply", i,
                      s_items[i].validate ? "validate" : "lookup", s_items[i].code);
    }
}

START_TEST(test_batch_bytes_equal_single)
{
    cs_daemon_t d;
    s_start(&d);
    cs_tclient_t *t = cs_tclient_new(d.query_ep);
    ck_assert_ptr_nonnull(t);
    static s_bytes_t single[S_MAX_REQS];
    size_t found = 0, missing = 0, malformed = 0, headers = 0, errors = 0;
    for (size_t i = 0; i < s_n_items; i++) {
        s_pack_item(cs_tclient_begin(t), i);
        const msgpack_object *r = cs_tclient_call(t, 10000);
        ck_assert_ptr_nonnull(r);
        const char *raw = cs_tclient_last_raw(t, &single[i].n);
        single[i].p = malloc(single[i].n);
        memcpy(single[i].p, raw, single[i].n);
        const msgpack_object *res = cs_obj_get(r, "results");
        const msgpack_object *one = res ? &res->via.array.ptr[0] : r;
        char reason[32];
        cs_obj_cstr(cs_obj_get(one, "reason"), reason, sizeof reason);
        errors += !cs_obj_true(cs_obj_get(r, "ok"));
        found += cs_obj_true(cs_obj_get(one, "found")) || cs_obj_true(cs_obj_get(one, "valid"));
        malformed += strcmp(reason, "malformed") == 0;
        headers += strcmp(reason, "not_billable") == 0 ||
                   (cs_obj_true(cs_obj_get(one, "found")) &&
                    !cs_obj_true(cs_obj_get(one, "billable")));
        missing += strcmp(reason, "unknown") == 0 ||
                   (cs_obj_get(one, "found") && !cs_obj_true(cs_obj_get(one, "found")) &&
                    !reason[0]);
    }
    /* what the comparison covers: every kind of answer */
    ck_assert_uint_ge(found, 100);
    ck_assert_uint_ge(missing, 50);
    ck_assert_uint_ge(malformed, 50);
    ck_assert_uint_ge(headers, 50);
    ck_assert_uint_ge(errors, 3);
    /* batches of 40 are answered by the broker's thread, one of them all by a worker */
    for (size_t lo = 0; lo < s_n_items; lo += 40) {
        s_compare_range(t, single, lo, lo + 40 < s_n_items ? lo + 40 : s_n_items);
    }
    s_compare_range(t, single, 0, s_n_items);
    for (size_t i = 0; i < s_n_items; i++) {
        free(single[i].p);
    }
    cs_tclient_destroy(&t);
    s_stop(&d);
}
END_TEST

/* Bad batches: the whole message is refused; a bad item only gets its own error. */
START_TEST(test_batch_refusals)
{
    cs_daemon_t d;
    s_start(&d);
    cs_tclient_t *t = cs_tclient_new(d.query_ep);
    char code[48];
    msgpack_packer *pk = cs_tclient_begin(t);
    msgpack_pack_map(pk, 2);
    cs_tpack_kv(pk, "op", "batch");
    cs_tpack_kv(pk, "requests", "E11.9");
    const msgpack_object *r = cs_tclient_call(t, 5000);
    ck_assert_str_eq(cs_obj_error_code(r, code, sizeof code), "bad_request");
    pk = cs_tclient_begin(t);
    msgpack_pack_map(pk, 2);
    cs_tpack_kv(pk, "op", "batch");
    cs_tpack_str(pk, "requests");
    msgpack_pack_array(pk, 3);
    msgpack_pack_map(pk, 2);
    cs_tpack_kv(pk, "op", "search");
    cs_tpack_kv(pk, "q", "diabetes");
    msgpack_pack_map(pk, 2);
    cs_tpack_kv(pk, "op", "batch");
    cs_tpack_str(pk, "requests");
    msgpack_pack_array(pk, 0);
    msgpack_pack_map(pk, 3);
    cs_tpack_kv(pk, "op", "lookup");
    cs_tpack_kv(pk, "system", "icd10cm");
    cs_tpack_kv(pk, "code", "E11.9");
    r = cs_tclient_call(t, 5000);
    ck_assert_ptr_nonnull(r);
    ck_assert(cs_obj_true(cs_obj_get(r, "ok")));
    const msgpack_object *items = cs_obj_get(r, "replies");
    ck_assert_uint_eq(items->via.array.size, 3);
    ck_assert_str_eq(cs_obj_error_code(&items->via.array.ptr[0], code, sizeof code),
                     "bad_request");
    ck_assert_str_eq(cs_obj_error_code(&items->via.array.ptr[1], code, sizeof code),
                     "bad_request");
    ck_assert(cs_obj_true(cs_obj_get(&items->via.array.ptr[2], "found")));
    /* more codes than a request may hold, over the items */
    pk = cs_tclient_begin(t);
    msgpack_pack_map(pk, 2);
    cs_tpack_kv(pk, "op", "batch");
    cs_tpack_str(pk, "requests");
    msgpack_pack_array(pk, 2);
    for (int k = 0; k < 2; k++) {
        msgpack_pack_map(pk, 3);
        cs_tpack_kv(pk, "op", "validate");
        cs_tpack_kv(pk, "system", "icd10cm");
        cs_tpack_str(pk, "codes");
        msgpack_pack_array(pk, 6000);
        for (int i = 0; i < 6000; i++) {
            cs_tpack_str(pk, "E11.9");
        }
    }
    r = cs_tclient_call(t, 10000);
    ck_assert_str_eq(cs_obj_error_code(r, code, sizeof code), "too_many");
    cs_tclient_destroy(&t);
    s_stop(&d);
}
END_TEST

/* ---- the client: asynchronous results equal synchronous ones ---- */

static int s_streq(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static void s_same_lookup(const cs_client_lookup_t *a, const cs_client_lookup_t *b, size_t i)
{
    ck_assert_msg(a && b, "item %zu: a result is missing", i);
    ck_assert_msg(a->found == b->found && s_streq(a->code, b->code) &&
                      s_streq(a->input, b->input) && s_streq(a->release, b->release) &&
                      s_streq(a->reason, b->reason) && s_streq(a->message, b->message) &&
                      s_streq(a->kind, b->kind) && a->billable == b->billable &&
                      s_streq(a->title, b->title) && s_streq(a->short_title, b->short_title) &&
                      s_streq(a->parent, b->parent) && a->n_children == b->n_children &&
                      a->n_ancestors == b->n_ancestors && a->n_notes == b->n_notes,
                  "item %zu (%s): lookup results differ", i, s_items[i].code);
    for (size_t k = 0; k < a->n_children; k++) {
        ck_assert(s_streq(a->children[k].code, b->children[k].code));
    }
    for (size_t k = 0; k < a->n_ancestors; k++) {
        ck_assert(s_streq(a->ancestors[k].title, b->ancestors[k].title));
    }
}

static void s_same_validation(const cs_client_validation_t *a, const cs_client_validation_t *b,
                              size_t i)
{
    ck_assert_msg(a && b && a->n == b->n && a->n_invalid == b->n_invalid &&
                      s_streq(a->release, b->release),
                  "item %zu: validations differ", i);
    for (size_t k = 0; k < a->n; k++) {
        const cs_client_verdict_t *x = &a->results[k], *y = &b->results[k];
        ck_assert_msg(x->valid == y->valid && x->why == y->why && s_streq(x->code, y->code) &&
                          s_streq(x->input, y->input) && s_streq(x->title, y->title) &&
                          s_streq(x->message, y->message) && x->n_hint == y->n_hint,
                      "item %zu code %zu (%s): verdicts differ", i, k, x->input);
    }
}

/* The synchronous answer of every item, to compare with. */
typedef struct s_expect {
    int rc;                         /* the synchronous status */
    char code[48];                  /* its error code */
    cs_client_lookup_t *lookup;     /* or */
    cs_client_validation_t *valid;
} s_expect_t;

static s_expect_t s_expect[S_MAX_REQS];

static cs_client_t *s_client(const char *ep, int timeout_ms, int tries)
{
    const char *eps[] = {ep};
    cs_client_opts_t o = {.timeout_ms = timeout_ms, .tries = tries};
    cs_client_error_t err;
    cs_client_t *c = cs_client_new(eps, 1, &o, &err);
    ck_assert_msg(c != NULL, "cs_client_new: %s", err.message);
    return c;
}

static int s_call_async(cs_client_t *c, size_t i, cs_client_call_t **call)
{
    const s_item_t *it = &s_items[i];
    cs_client_when_t when = {it->release, it->date};
    if (it->validate) {
        const char *codes[] = {it->code, it->code2};
        return cs_client_validate_async(c, it->system, codes, 2, &when, call);
    }
    return cs_client_lookup_async(c, it->system, it->code, it->include, &when, call);
}

static void s_expect_all(const char *ep)
{
    cs_client_t *c = s_client(ep, 5000, 3);
    for (size_t i = 0; i < s_n_items; i++) {
        const s_item_t *it = &s_items[i];
        cs_client_when_t when = {it->release, it->date};
        s_expect_t *e = &s_expect[i];
        memset(e, 0, sizeof *e);
        if (it->validate) {
            const char *codes[] = {it->code, it->code2};
            e->rc = cs_client_validate(c, it->system, codes, 2, &when, &e->valid);
        } else {
            e->rc = cs_client_lookup(c, it->system, it->code, it->include, &when, &e->lookup);
        }
        snprintf(e->code, sizeof e->code, "%s", cs_client_last_error(c)->code);
    }
    cs_client_destroy(&c);
}

static void s_expect_free(void)
{
    for (size_t i = 0; i < s_n_items; i++) {
        cs_client_lookup_destroy(&s_expect[i].lookup);
        cs_client_validation_destroy(&s_expect[i].valid);
    }
}

/* The answered call i is what the synchronous call answered. */
static void s_check_call(const cs_client_call_t *call, size_t i)
{
    const cs_client_error_t *err;
    int rc = cs_client_call_status(call, &err);
    ck_assert_msg(rc == s_expect[i].rc, "item %zu: status %d, synchronously %d (%s)", i, rc,
                  s_expect[i].rc, err->message);
    if (rc == CS_CLIENT_ESERVER) {
        ck_assert_str_eq(err->code, s_expect[i].code);
    } else if (s_items[i].validate) {
        s_same_validation(cs_client_call_validation(call), s_expect[i].valid, i);
        ck_assert_ptr_null(cs_client_call_lookup(call));
    } else {
        s_same_lookup(cs_client_call_lookup(call), s_expect[i].lookup, i);
    }
}

/* Requests of op the broker behind endpoint has served (its stats reply). */
static int64_t s_served(const char *endpoint, const char *op)
{
    cs_tclient_t *t = cs_tclient_new(endpoint);
    msgpack_packer *pk = cs_tclient_begin(t);
    msgpack_pack_map(pk, 1);
    cs_tpack_kv(pk, "op", "stats");
    const msgpack_object *r = cs_tclient_call(t, 5000);
    ck_assert_ptr_nonnull(r);
    int64_t n = cs_obj_int(cs_obj_get(cs_obj_get(r, "requests"), op));
    cs_tclient_destroy(&t);
    return n;
}

/* Every item at once, waited for in reverse order; then 100 at a time, in order. */
START_TEST(test_async_equals_sync)
{
    cs_daemon_t d;
    s_start(&d);
    s_expect_all(d.query_ep);
    cs_client_t *c = s_client(d.query_ep, 5000, 3);
    static cs_client_call_t *calls[S_MAX_REQS];
    int64_t batches = s_served(d.query_ep, "batch");
    for (size_t i = 0; i < s_n_items; i++) {
        ck_assert_int_eq(s_call_async(c, i, &calls[i]), CS_CLIENT_OK);
        ck_assert(!cs_client_call_done(calls[i]));
    }
    ck_assert_uint_eq(cs_client_outstanding(c), s_n_items);
    for (size_t i = s_n_items; i-- > 0;) {
        cs_client_wait(c, calls[i]);
        ck_assert(cs_client_call_done(calls[i]));
        s_check_call(calls[i], i);
        cs_client_call_destroy(&calls[i]);
    }
    ck_assert_uint_eq(cs_client_outstanding(c), 0);
    ck_assert(cs_client_coalescing(c));
    /* 64 calls a message (the default): so many batches, and no plain request */
    ck_assert_int_eq(s_served(d.query_ep, "batch") - batches, (int64_t)(s_n_items + 63) / 64);
    for (size_t lo = 0; lo < s_n_items; lo += 100) {
        size_t hi = lo + 100 < s_n_items ? lo + 100 : s_n_items;
        for (size_t i = lo; i < hi; i++) {
            ck_assert_int_eq(s_call_async(c, i, &calls[i]), CS_CLIENT_OK);
        }
        ck_assert_int_eq(cs_client_flush(c), CS_CLIENT_OK);
        ck_assert_int_eq(cs_client_wait_all(c), CS_CLIENT_OK);
        for (size_t i = lo; i < hi; i++) {
            s_check_call(calls[i], i);
            cs_client_call_destroy(&calls[i]);
        }
    }
    /* one call alone goes out as a plain lookup */
    int64_t lookups = s_served(d.query_ep, "lookup");
    ck_assert_int_eq(s_call_async(c, 0, &calls[0]), CS_CLIENT_OK);
    cs_client_wait(c, calls[0]);
    s_check_call(calls[0], 0);
    cs_client_call_destroy(&calls[0]);
    ck_assert_int_eq(s_served(d.query_ep, "lookup") - lookups, 1);
    cs_client_destroy(&c);
    s_expect_free();
    s_stop(&d);
}
END_TEST

/* ---- many callers ---- */

typedef struct s_caller {
    const char *ep;   /* the broker */
    unsigned seed;    /* which items, in which order */
    int failures;     /* results that differed */
} s_caller_t;

/* One thread, its own client: calls made and waited for interleaved, a window of them
 * outstanding, destroyed in a different order than made, some destroyed unanswered. */
static void *s_caller_main(void *arg)
{
    s_caller_t *k = arg;
    cs_client_t *c = s_client(k->ep, 5000, 3);
    cs_client_set_coalesce(c, 1 + k->seed % 40);
    enum { W = 64 };
    cs_client_call_t *win[W] = {0};
    size_t which[W];
    unsigned r = k->seed;
    for (int step = 0; step < 3000; step++) {
        r = r * 1103515245u + 12345u;
        size_t slot = (r >> 8) % W;
        if (win[slot]) {
            if ((r >> 20) % 50 != 0) { /* else: forgotten unanswered */
                cs_client_wait(c, win[slot]);
                const cs_client_error_t *err;
                int rc = cs_client_call_status(win[slot], &err);
                const s_expect_t *e = &s_expect[which[slot]];
                k->failures += rc != e->rc;
                if (rc == CS_CLIENT_OK && s_items[which[slot]].validate) {
                    k->failures += strcmp(cs_client_call_validation(win[slot])->results[0].input,
                                          s_items[which[slot]].code) != 0;
                } else if (rc == CS_CLIENT_OK) {
                    const cs_client_lookup_t *l = cs_client_call_lookup(win[slot]);
                    k->failures += !s_streq(l->title, e->lookup->title) ||
                                   !s_streq(l->code, e->lookup->code);
                }
            }
            cs_client_call_destroy(&win[slot]);
        }
        which[slot] = (r >> 4) % s_n_items;
        if (s_call_async(c, which[slot], &win[slot]) != CS_CLIENT_OK) {
            k->failures++;
        }
    }
    for (size_t s = 0; s < W; s++) {
        cs_client_call_destroy(&win[s]);
    }
    cs_client_destroy(&c);
    return NULL;
}

START_TEST(test_many_callers)
{
    cs_daemon_t d;
    s_start(&d);
    s_expect_all(d.query_ep);
    enum { N = 4 };
    pthread_t th[N];
    s_caller_t k[N];
    for (int i = 0; i < N; i++) {
        k[i] = (s_caller_t){.ep = d.query_ep, .seed = 7u + 31u * (unsigned)i};
        ck_assert_int_eq(pthread_create(&th[i], NULL, s_caller_main, &k[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(k[i].failures, 0);
    }
    s_expect_free();
    s_stop(&d);
}
END_TEST

/* ---- an older broker ---- */

/* A broker of before the batch op, as a client sees one: a ROUTER in front of the real broker
 * that answers "batch" as such a broker did (unknown_op, the id echoed) and hands every other
 * request on. Runs until a message arrives on its control socket. */
typedef struct s_old {
    void *zctx;          /* shared context */
    char front[700];     /* where it binds */
    const char *back;    /* the real broker */
    int batches;         /* batch requests refused */
} s_old_t;

static void s_old_refuse(s_old_t *o, void *front, zmq_msg_t *id, const msgpack_object *req)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    const msgpack_object *rid = cs_obj_get(req, "id");
    msgpack_pack_map(&pk, rid ? 3 : 2);
    cs_tpack_str(&pk, "ok");
    msgpack_pack_false(&pk);
    if (rid) {
        cs_tpack_str(&pk, "id");
        msgpack_pack_object(&pk, *rid);
    }
    cs_tpack_str(&pk, "error");
    msgpack_pack_map(&pk, 2);
    cs_tpack_kv(&pk, "code", "unknown_op");
    cs_tpack_kv(&pk, "message", "unknown op \"batch\"");
    zmq_msg_send(id, front, ZMQ_SNDMORE);
    zmq_send(front, sb.data, sb.size, 0);
    msgpack_sbuffer_destroy(&sb);
    o->batches++;
}

/* Move one multipart message from one socket to the other. */
static void s_relay(void *from, void *to)
{
    int more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        zmq_msg_recv(&m, from, 0);
        more = zmq_msg_more(&m);
        zmq_msg_send(&m, to, more ? ZMQ_SNDMORE : 0);
        zmq_msg_close(&m);
    }
}

static void *s_old_main(void *arg)
{
    s_old_t *o = arg;
    void *front = zmq_socket(o->zctx, ZMQ_ROUTER), *back = zmq_socket(o->zctx, ZMQ_DEALER);
    void *ctl = zmq_socket(o->zctx, ZMQ_PAIR);
    zmq_bind(front, o->front);
    zmq_connect(back, o->back);
    zmq_connect(ctl, "inproc://old-ctl");
    zmq_send(ctl, "", 0, 0); /* bound: the test may connect */
    zmq_pollitem_t it[3] = {{front, 0, ZMQ_POLLIN, 0}, {back, 0, ZMQ_POLLIN, 0},
                            {ctl, 0, ZMQ_POLLIN, 0}};
    while (zmq_poll(it, 3, -1) >= 0 && !(it[2].revents & ZMQ_POLLIN)) {
        if (it[1].revents & ZMQ_POLLIN) {
            s_relay(back, front); /* [identity, body]: the broker kept our envelope */
        }
        if (!(it[0].revents & ZMQ_POLLIN)) {
            continue;
        }
        zmq_msg_t id, body;
        zmq_msg_init(&id);
        zmq_msg_init(&body);
        zmq_msg_recv(&id, front, 0);
        zmq_msg_recv(&body, front, 0);
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        size_t off = 0;
        if (msgpack_unpack_next(&u, zmq_msg_data(&body), zmq_msg_size(&body), &off) ==
                MSGPACK_UNPACK_SUCCESS &&
            cs_obj_is_str(cs_obj_get(&u.data, "op"), "batch")) {
            s_old_refuse(o, front, &id, &u.data);
        } else {
            zmq_msg_send(&id, back, ZMQ_SNDMORE);
            zmq_msg_send(&body, back, 0);
        }
        msgpack_unpacked_destroy(&u);
        zmq_msg_close(&id);
        zmq_msg_close(&body);
    }
    zmq_close(front);
    zmq_close(back);
    zmq_close(ctl);
    return NULL;
}

START_TEST(test_older_broker)
{
    cs_daemon_t d;
    s_start(&d);
    s_expect_all(d.query_ep);
    s_old_t o = {.zctx = zmq_ctx_new(), .back = d.query_ep};
    snprintf(o.front, sizeof o.front, "ipc://%s/old.sock", d.dir);
    void *ctl = zmq_socket(o.zctx, ZMQ_PAIR);
    zmq_bind(ctl, "inproc://old-ctl");
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, s_old_main, &o), 0);
    char ready;
    zmq_recv(ctl, &ready, 1, 0);
    int64_t lookups = s_served(d.query_ep, "lookup");
    cs_client_t *c = s_client(o.front, 5000, 3);
    static cs_client_call_t *calls[S_MAX_REQS];
    for (size_t i = 0; i < 300; i++) {
        ck_assert_int_eq(s_call_async(c, i, &calls[i]), CS_CLIENT_OK);
    }
    ck_assert(cs_client_coalescing(c));
    ck_assert_int_eq(cs_client_wait_all(c), CS_CLIENT_OK);
    ck_assert(!cs_client_coalescing(c));
    for (size_t i = 0; i < 300; i++) {
        s_check_call(calls[i], i);
        cs_client_call_destroy(&calls[i]);
    }
    /* the batches of the first send were refused (they were in flight together), then
     * every call went alone, and goes alone from then on */
    int tried = o.batches;
    ck_assert_int_ge(tried, 1);
    ck_assert_int_le(tried, (300 + 63) / 64);
    for (size_t i = 0; i < 100; i++) {
        ck_assert_int_eq(s_call_async(c, i, &calls[i]), CS_CLIENT_OK);
    }
    ck_assert_int_eq(cs_client_wait_all(c), CS_CLIENT_OK);
    for (size_t i = 0; i < 100; i++) {
        s_check_call(calls[i], i);
        cs_client_call_destroy(&calls[i]);
    }
    ck_assert_int_eq(o.batches, tried);
    ck_assert_int_eq(s_served(d.query_ep, "batch"), 0);
    ck_assert_int_ge(s_served(d.query_ep, "lookup") - lookups, 150);
    cs_client_destroy(&c);
    zmq_send(ctl, "", 0, 0);
    pthread_join(th, NULL);
    zmq_close(ctl);
    zmq_ctx_term(o.zctx);
    s_expect_free();
    s_stop(&d);
}
END_TEST

/* ---- a broker that dies ---- */

/* Killed with calls waiting, in flight, or both: every call ends with an error, none hangs;
 * destroying the client with calls outstanding ends them too (ASan: nothing leaks). */
START_TEST(test_broker_killed)
{
    cs_daemon_t d;
    s_start(&d);
    cs_client_t *c = s_client(d.query_ep, 300, 2);
    static cs_client_call_t *calls[S_MAX_REQS];
    size_t n = s_n_items;
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(s_call_async(c, i, &calls[i]), CS_CLIENT_OK);
    }
    ck_assert_int_eq(cs_client_flush(c), CS_CLIENT_OK); /* some in flight now */
    cs_daemon_kill9(&d);
    size_t failed = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = cs_client_wait(c, calls[i]);
        ck_assert(cs_client_call_done(calls[i]));
        ck_assert_msg(rc == CS_CLIENT_OK || rc == CS_CLIENT_ESERVER || rc == CS_CLIENT_ETIMEOUT,
                      "call %zu ended %d", i, rc);
        failed += rc == CS_CLIENT_ETIMEOUT;
        cs_client_call_destroy(&calls[i]);
    }
    ck_assert_uint_gt(failed, 0);
    ck_assert_uint_eq(cs_client_outstanding(c), 0);
    /* new calls to the dead broker time out too */
    for (size_t i = 0; i < 50; i++) {
        ck_assert_int_eq(s_call_async(c, i, &calls[i]), CS_CLIENT_OK);
    }
    ck_assert_int_eq(cs_client_wait_all(c), CS_CLIENT_OK);
    for (size_t i = 0; i < 50; i++) {
        ck_assert_int_eq(cs_client_call_status(calls[i], NULL), CS_CLIENT_ETIMEOUT);
        cs_client_call_destroy(&calls[i]);
    }
    /* calls outstanding when the client goes */
    for (size_t i = 0; i < 20; i++) {
        ck_assert_int_eq(s_call_async(c, i, &calls[i]), CS_CLIENT_OK);
    }
    cs_client_flush(c);
    cs_client_destroy(&c);
    for (size_t i = 0; i < 20; i++) {
        const cs_client_error_t *err;
        ck_assert_int_eq(cs_client_call_status(calls[i], &err), CS_CLIENT_EIO);
        ck_assert_ptr_nonnull(strstr(err->message, "destroyed"));
        cs_client_call_destroy(&calls[i]);
    }
    cs_daemon_cleanup(&d);
}
END_TEST

Suite *cs_csclient_async_suite(void);
Suite *cs_csclient_async_suite(void)
{
    Suite *s = suite_create("csclient_async");
    TCase *tc = tcase_create("batch and asynchronous calls");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_batch_bytes_equal_single);
    tcase_add_test(tc, test_batch_refusals);
    tcase_add_test(tc, test_async_equals_sync);
    tcase_add_test(tc, test_many_callers);
    tcase_add_test(tc, test_older_broker);
    tcase_add_test(tc, test_broker_killed);
    suite_add_tcase(s, tc);
    return s;
}
