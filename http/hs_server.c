/* hs_server.c: codeset-http's routes over libmicrohttpd (hs_server.h). */
#include "hs_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine/cs_op.h"
#include "engine/cs_query.h"
#include "fhir.h"
#include "hs_arena.h"
#include "hs_assets.h"
#include "hs_json_dump.h"
#include "hs_request.h"
#include "load/cs_plugin_host.h"
#include "store/cs_codeidx.h"
#include "store/cs_store.h"
#include "util/cs_utf8.h"
#include "wire/cs_out_json.h"

#define S_INDEX_MIB 64 /* the code indexes' budget, as the broker's default */

/* One pool thread's engine and buffers, built on its first request. */
typedef struct s_thread {
    cs_engine_t *engine;  /* its query engine (its own store reader) */
    cs_op_ctx_t ctx;      /* what the handlers read */
    cs_out_json_t out;    /* the reply being written */
    hs_request_t req;     /* the request being answered */
    hs_arena_t arena;     /* jansson's memory while a FHIR request is answered */
    struct s_thread *next; /* in the server's list, freed at stop */
} s_thread_t;

struct hs_server {
    hs_conf_t conf;
    cs_store_t *store;            /* read-only */
    cs_plugin_host_t *plugins;
    cs_codeidx_set_t *index;      /* shared by every thread's engine */
    hs_assets_t *assets;
    fhir_config_t fhir;
    char base_url[320];           /* the FHIR base, from the first address */
    struct MHD_Daemon *daemons[HS_MAX_LISTEN];
    int n_daemons;
    pthread_mutex_t lock;         /* guards threads */
    s_thread_t *threads;
};

/* The state of one request between libmicrohttpd's calls. */
typedef struct s_call {
    char *body;   /* the body read so far */
    size_t len, cap;
    int too_big;  /* the body passed --max-body: answered 413 */
} s_call_t;

static __thread s_thread_t *t_self; /* this pool thread's state, once built */

unsigned hs_server_status(cs_proto_err_t e)
{
    switch (e) {
    case CS_PERR_NONE: return 200;
    case CS_PERR_BAD_REQUEST:
    case CS_PERR_UNSUPPORTED_VERSION:
    case CS_PERR_TOO_MANY: return 400;
    case CS_PERR_FORBIDDEN: return 403;
    case CS_PERR_UNKNOWN_OP:
    case CS_PERR_UNKNOWN_SYSTEM:
    case CS_PERR_UNKNOWN_RELEASE:
    case CS_PERR_NO_RELEASE_FOR_DATE: return 404;
    case CS_PERR_BUSY:
    case CS_PERR_CORRUPT_RELEASE: return 503;
    default: return 500;
    }
}

/* This thread's state, built on first use; NULL when it cannot be (out of memory). */
static s_thread_t *s_self(hs_server_t *s)
{
    if (t_self != NULL) {
        return t_self;
    }
    s_thread_t *t = calloc(1, sizeof *t);
    cs_error_t err;
    cs_error_set(&err, CS_ENOMEM, "out of memory");
    if (t == NULL || (t->engine = cs_engine_new(s->store, s->plugins, &err)) == NULL) {
        fprintf(stderr, "codeset-http: no query engine for a thread: %s\n", err.msg);
        free(t);
        return NULL;
    }
    cs_engine_use_index(t->engine, s->index);
    t->ctx.engine = t->engine;
    t->ctx.plugins = s->plugins;
    cs_out_json_init(&t->out);
    hs_request_init(&t->req);
    hs_arena_init(&t->arena);
    pthread_mutex_lock(&s->lock);
    t->next = s->threads;
    s->threads = t;
    pthread_mutex_unlock(&s->lock);
    t_self = t;
    return t;
}

/* ---- responses ---- */

/* Queue data as the reply; mode MHD_RESPMEM_MUST_FREE hands a malloc'ed data over (freed
 * here when no response could be made). */
static enum MHD_Result s_send_mode(struct MHD_Connection *conn, unsigned status,
                                   const char *ctype, const char *data, size_t len,
                                   enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)data, mode);
    if (r == NULL) {
        if (mode == MHD_RESPMEM_MUST_FREE) {
            free((void *)data);
        }
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (status == 405) {
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD, POST");
    }
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result s_send(struct MHD_Connection *conn, unsigned status, const char *ctype,
                              const char *data, size_t len)
{
    return s_send_mode(conn, status, ctype, data, len, MHD_RESPMEM_MUST_COPY);
}

/* The JSON writer's reply, or 500 when it could not be written whole (out of memory, or a
 * handler that wrote less than it announced: a bug, logged). */
static enum MHD_Result s_send_out(struct MHD_Connection *conn, s_thread_t *t, unsigned status)
{
    if (!cs_out_json_complete(&t->out)) {
        static const char fail[] =
            "{\"ok\":false,\"error\":{\"code\":\"internal\",\"message\":\"the reply could not "
            "be written whole\"}}";
        fprintf(stderr, "codeset-http: a reply could not be written whole (%s)\n",
                cs_out_json_status(&t->out) == CS_ENOMEM ? "out of memory" : "an unfinished tree");
        return s_send(conn, 500, "application/json", fail, sizeof fail - 1);
    }
    return s_send(conn, status, "application/json", cs_out_json_data(&t->out),
                  cs_out_json_len(&t->out));
}

/* An error reply of the JSON API (no request decoded: no id). */
static enum MHD_Result s_api_error(struct MHD_Connection *conn, s_thread_t *t, unsigned status,
                                   cs_proto_err_t e, const char *msg)
{
    cs_out_json_reset(&t->out);
    cs_reply_error(&t->out.out, t->req.root ? &t->req.req : NULL, e, msg);
    return s_send_out(conn, t, status);
}

static enum MHD_Result s_send_json(struct MHD_Connection *conn, unsigned status,
                                   const char *ctype, json_t *v)
{
    size_t len = 0;
    char *text = v ? hs_json_dump(v, &len) : NULL;
    if (text == NULL) {
        static const char oom[] = "{\"resourceType\":\"OperationOutcome\",\"issue\":[{"
                                  "\"severity\":\"error\",\"code\":\"exception\"}]}";
        return s_send(conn, 500, ctype, oom, sizeof oom - 1);
    }
    return s_send_mode(conn, status, ctype, text, len, MHD_RESPMEM_MUST_FREE);
}

/* ---- the JSON API ---- */

/* The query string as a request object for op; NULL with msg set when a value is refused. */
typedef struct s_query_ctx {
    json_t *obj;
    cs_op_t op;
    int failed;
    char *msg;
    size_t cap;
} s_query_ctx_t;

static enum MHD_Result s_query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   size_t klen, const char *val, size_t vlen)
{
    (void)kind;
    s_query_ctx_t *q = cls;
    if (hs_query_add(q->obj, q->op, key, klen, val, vlen, q->msg, q->cap) != 0) {
        q->failed = 1;
        return MHD_NO;
    }
    return MHD_YES;
}

static json_t *s_query_object(struct MHD_Connection *conn, cs_op_t op, char *msg, size_t cap)
{
    s_query_ctx_t q = {json_object(), op, 0, msg, cap};
    if (q.obj == NULL) {
        snprintf(msg, cap, "out of memory");
        return NULL;
    }
    MHD_get_connection_values_n(conn, MHD_GET_ARGUMENT_KIND, s_query_arg, &q);
    if (q.failed) {
        json_decref(q.obj);
        return NULL;
    }
    return q.obj;
}

/* The ops a GET may ask: those that change nothing and need no body. */
static int s_get_ok(cs_op_t op)
{
    return op == CS_OP_PING || op == CS_OP_LOOKUP || op == CS_OP_VALIDATE ||
           op == CS_OP_SEARCH || op == CS_OP_CROSSWALK || op == CS_OP_RELEASES ||
           op == CS_OP_DIFF || op == CS_OP_INDEX;
}

/* Decode root as op's request and answer it. */
static enum MHD_Result s_api_answer(struct MHD_Connection *conn, s_thread_t *t, cs_op_t op,
                                    json_t *root)
{
    char msg[256];
    cs_proto_err_t e = hs_request_decode(&t->req, op, root, msg, sizeof msg);
    cs_out_json_reset(&t->out);
    if (e != CS_PERR_NONE) {
        cs_reply_error(&t->out.out, &t->req.req, e, msg);
    } else {
        cs_request_clamp_limit(&t->req.req, CS_PROTO_MAX_LIMIT);
        e = cs_ops[op].handler(&t->ctx, &t->req.req, &t->out.out);
    }
    enum MHD_Result ret = s_send_out(conn, t, hs_server_status(e));
    hs_request_fini(&t->req);
    return ret;
}

static enum MHD_Result s_api(struct MHD_Connection *conn, s_thread_t *t, const char *method,
                             const char *name, const s_call_t *call, json_t *preset)
{
    char msg[256];
    cs_op_t op = cs_op_find(name, strlen(name));
    if (op == CS_OP_UNKNOWN) {
        char shown[72];
        cs_str_t s = {name, (uint32_t)strlen(name)};
        snprintf(msg, sizeof msg, "unknown op \"%s\"", cs_str_printable(s, shown, sizeof shown));
        return s_api_error(conn, t, 404, CS_PERR_UNKNOWN_OP, msg);
    }
    if (!(cs_ops[op].flags & CS_OPF_ENGINE) || (cs_ops[op].flags & CS_OPF_ADMIN)) {
        snprintf(msg, sizeof msg, "%s is not served over HTTP (%s)", cs_ops[op].name,
                 (cs_ops[op].flags & CS_OPF_ADMIN) ? "the admin endpoint only"
                                                   : "ask the broker");
        return s_api_error(conn, t, 403, CS_PERR_FORBIDDEN, msg);
    }
    json_t *root = NULL;
    if (strcmp(method, "POST") == 0) {
        root = hs_request_parse(call->body ? call->body : "", call->len, msg, sizeof msg);
    } else if ((strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) && s_get_ok(op)) {
        root = s_query_object(conn, op, msg, sizeof msg);
        if (root && preset) {
            json_object_update_missing(root, preset);
        }
    } else {
        snprintf(msg, sizeof msg, "%s takes %s", cs_ops[op].name,
                 s_get_ok(op) ? "GET or POST" : "POST");
        return s_api_error(conn, t, 405, CS_PERR_BAD_REQUEST, msg);
    }
    if (root == NULL) {
        return s_api_error(conn, t, 400, CS_PERR_BAD_REQUEST, msg);
    }
    enum MHD_Result ret = s_api_answer(conn, t, op, root);
    json_decref(root);
    return ret;
}

/* GET /v1/<system>/<code>: a lookup with notes, children and ancestors unless include says. */
static enum MHD_Result s_v1_lookup(struct MHD_Connection *conn, s_thread_t *t,
                                   const char *method, const char *rest, const s_call_t *call)
{
    const char *slash = strchr(rest, '/');
    json_t *preset = json_pack("{s:s%, s:s, s:[sss]}", "system", rest, (size_t)(slash - rest),
                               "code", slash + 1, "include", "notes", "children", "ancestors");
    if (preset == NULL) {
        return s_api_error(conn, t, 400, CS_PERR_BAD_REQUEST,
                           "the system and the code in the path must be UTF-8");
    }
    enum MHD_Result ret = s_api(conn, t, method, "lookup", call, preset);
    json_decref(preset);
    return ret;
}

/* ---- FHIR ---- */

static json_t *s_outcome(const char *code, const char *diagnostics)
{
    return json_pack("{s:s, s:[{s:s, s:s, s:s}]}", "resourceType", "OperationOutcome", "issue",
                     "severity", "error", "code", code, "diagnostics", diagnostics);
}

/* The query string as FHIR reads it: each name -> an array of its str values. */
typedef struct s_fhir_query {
    json_t *obj;
    int bad; /* a name or value that is not UTF-8 (or out of memory) */
} s_fhir_query_t;

static enum MHD_Result s_fhir_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                  size_t klen, const char *val, size_t vlen)
{
    (void)kind;
    s_fhir_query_t *q = cls;
    /* as json_stringn would check them, without a string made for the name */
    const char *v = val ? val : "";
    size_t vn = val ? vlen : 0;
    json_t *s = cs_utf8_end(key, klen, 1) == klen && cs_utf8_end(v, vn, 1) == vn
                    ? json_stringn_nocheck(v, vn)
                    : NULL;
    json_t *arr = s ? json_object_get(q->obj, key) : NULL;
    if (s && arr == NULL) {
        arr = json_array();
        if (arr && json_object_set_new_nocheck(q->obj, key, arr) != 0) {
            arr = NULL;
        }
    }
    q->bad = s == NULL || arr == NULL || json_array_append_new(arr, s) != 0;
    if (s && arr == NULL) {
        json_decref(s);
    }
    return q->bad ? MHD_NO : MHD_YES;
}

static enum MHD_Result s_fhir(struct MHD_Connection *conn, hs_server_t *s, s_thread_t *t,
                              const char *method, const char *path, const s_call_t *call)
{
    static const char ctype[] = "application/fhir+json";
    char msg[256];
    /* every jansson value below is freed before the window ends (hs_arena.h) */
    hs_arena_begin(&t->arena);
    s_fhir_query_t q = {json_object(), 0};
    q.bad = q.obj == NULL;
    json_t *query = q.obj;
    json_t *body = NULL;
    json_t *res = NULL;
    hs_jbuf_t text = {0};
    unsigned status;
    if (query) {
        MHD_get_connection_values_n(conn, MHD_GET_ARGUMENT_KIND, s_fhir_arg, &q);
    }
    if (q.bad) {
        status = 400;
        res = s_outcome("invalid", "a query parameter is not UTF-8");
    } else if (strcmp(method, "POST") == 0 && call->len > 0 &&
               (body = hs_request_parse(call->body, call->len, msg, sizeof msg)) == NULL) {
        status = 400;
        res = s_outcome("invalid", msg);
    } else {
        fhir_request_t r = {method, path, query, body, &t->ctx, &s->fhir};
        status = (unsigned)fhir_answer(&r, &text);
    }
    enum MHD_Result ret;
    if (res) {
        ret = s_send_json(conn, status, ctype, res);
    } else if (hs_jbuf_text(&text) == NULL) {
        ret = s_send_json(conn, 500, ctype, NULL);
    } else {
        ret = s_send_mode(conn, status, ctype, text.p, text.len, MHD_RESPMEM_MUST_FREE);
        text.p = NULL; /* handed over */
    }
    hs_jbuf_free(&text);
    json_decref(res);
    json_decref(body);
    json_decref(query);
    hs_arena_end(&t->arena);
    return ret;
}

/* ---- assets ---- */

static enum MHD_Result s_asset(struct MHD_Connection *conn, hs_server_t *s, const char *method,
                               const char *url)
{
    static const char text[] = "text/plain; charset=utf-8";
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        return s_send(conn, 405, text, "method not allowed\n", 19);
    }
    hs_asset_t f = {.fd = -1};
    int status = s->assets ? hs_assets_get(s->assets, url, &f) : 404;
    if (status == 400) {
        return s_send(conn, 400, text, "bad path\n", 9);
    }
    if (status != 200) {
        return s_send(conn, 404, text, "not found\n", 10);
    }
    struct MHD_Response *r =
        f.data ? MHD_create_response_from_buffer((size_t)f.size, (void *)f.data,
                                                 MHD_RESPMEM_PERSISTENT)
               : MHD_create_response_from_fd((uint64_t)f.size, f.fd);
    if (r == NULL) {
        if (f.fd >= 0) {
            close(f.fd);
        }
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, f.ctype);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'self'; frame-ancestors 'none'");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

/* ---- the handler ---- */

/* Read the body: 1 when it is whole (answer now), 0 when more is to come. */
static int s_read_body(hs_server_t *s, s_call_t *call, const char *data, size_t *size)
{
    if (*size == 0) {
        return 1;
    }
    if (!call->too_big && call->len + *size > s->conf.max_body) {
        call->too_big = 1;
    }
    if (!call->too_big && call->len + *size + 1 > call->cap) {
        size_t cap = call->cap ? call->cap : 4096;
        while (cap < call->len + *size + 1) {
            cap *= 2;
        }
        char *p = realloc(call->body, cap);
        if (p == NULL) {
            call->too_big = 1;
        } else {
            call->body = p;
            call->cap = cap;
        }
    }
    if (!call->too_big) {
        memcpy(call->body + call->len, data, *size);
        call->len += *size;
    }
    *size = 0;
    return 0;
}

static enum MHD_Result s_route(struct MHD_Connection *conn, hs_server_t *s, const char *url,
                               const char *method, const s_call_t *call)
{
    int fhir = strcmp(url, "/fhir") == 0 || strncmp(url, "/fhir/", 6) == 0;
    int api = strncmp(url, "/api/v1/", 8) == 0 || strncmp(url, "/v1/", 4) == 0;
    char msg[96];
    if (call->too_big) {
        snprintf(msg, sizeof msg, "the body is over the limit of %zu bytes", s->conf.max_body);
    }
    if (call->too_big && fhir) {
        json_t *res = s_outcome("too-costly", msg);
        enum MHD_Result ret = s_send_json(conn, 413, "application/fhir+json", res);
        json_decref(res);
        return ret;
    }
    if (call->too_big && !api) {
        return s_send(conn, 413, "text/plain; charset=utf-8", msg, strlen(msg));
    }
    if (!fhir && !api) {
        return s_asset(conn, s, method, url);
    }
    s_thread_t *t = s_self(s);
    if (t == NULL) {
        return s_send(conn, 503, "text/plain", "no query engine\n", 16);
    }
    if (fhir) {
        return s_fhir(conn, s, t, method, url[5] ? url + 6 : "", call);
    }
    const char *rest = url + (url[1] == 'a' ? 8 : 4);
    const char *slash = strchr(rest, '/');
    if (slash && url[1] == 'v' && slash > rest && strchr(slash + 1, '/') == NULL &&
        slash[1] != '\0') {
        return s_v1_lookup(conn, t, method, rest, call);
    }
    if (call->too_big) {
        return s_api_error(conn, t, 413, CS_PERR_BAD_REQUEST, msg);
    }
    return s_api(conn, t, method, rest, call, NULL);
}

static enum MHD_Result s_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version,
                                 const char *upload_data, size_t *upload_data_size,
                                 void **con_cls)
{
    (void)version;
    hs_server_t *s = cls;
    s_call_t *call = *con_cls;
    if (call == NULL) {
        call = calloc(1, sizeof *call);
        if (call == NULL) {
            return MHD_NO;
        }
        *con_cls = call;
        const char *cl =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > s->conf.max_body) {
            call->too_big = 1; /* answered before the body is read; the connection closes */
            return s_route(conn, s, url, method, call);
        }
        return MHD_YES;
    }
    if (!s_read_body(s, call, upload_data, upload_data_size)) {
        return MHD_YES;
    }
    return s_route(conn, s, url, method, call);
}

static void s_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                        enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    s_call_t *call = *con_cls;
    if (call) {
        free(call->body);
        free(call);
        *con_cls = NULL;
    }
}

/* ---- start and stop ---- */

/* Bind HOST:PORT ("[v6]:PORT" too); the listening socket, or -1 with err set. */
static int s_bind(const char *addr, char *shown, size_t cap, cs_error_t *err)
{
    char host[256];
    const char *colon = strrchr(addr, ':');
    size_t hlen = colon ? (size_t)(colon - addr) : 0;
    if (colon == NULL || hlen == 0 || hlen >= sizeof host || colon[1] == '\0') {
        cs_error_set(err, CS_EINVAL, "--listen %s: expected HOST:PORT", addr);
        return -1;
    }
    memcpy(host, addr, hlen);
    host[hlen] = '\0';
    if (host[0] == '[' && hlen > 2 && host[hlen - 1] == ']') {
        memmove(host, host + 1, hlen - 2);
        host[hlen - 2] = '\0';
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    int rc = getaddrinfo(host, colon + 1, &hints, &ai);
    if (rc != 0) {
        cs_error_set(err, CS_EINVAL, "--listen %s: %s", addr, gai_strerror(rc));
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 128) != 0) {
        cs_error_set(err, CS_EIO, "--listen %s: %s", addr, strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char num[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET6) {
            struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &in6->sin6_addr, num, sizeof num);
            port = ntohs(in6->sin6_port);
        } else {
            struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &in4->sin_addr, num, sizeof num);
            port = ntohs(in4->sin_port);
        }
    }
    snprintf(shown, cap, ss.ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", num, port);
    return fd;
}

static int s_start_daemon(hs_server_t *s, const char *addr, cs_error_t *err)
{
    char shown[80];
    int fd = s_bind(addr, shown, sizeof shown, err);
    if (fd < 0) {
        return -1;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, 0, NULL, NULL, s_handler, s, MHD_OPTION_LISTEN_SOCKET, fd,
        MHD_OPTION_THREAD_POOL_SIZE, s->conf.threads, MHD_OPTION_CONNECTION_LIMIT,
        s->conf.max_connections, MHD_OPTION_CONNECTION_TIMEOUT, s->conf.timeout,
        MHD_OPTION_NOTIFY_COMPLETED, s_completed, s, MHD_OPTION_END);
    if (d == NULL) {
        close(fd);
        cs_error_set(err, CS_EIO, "--listen %s: the HTTP server did not start", addr);
        return -1;
    }
    s->daemons[s->n_daemons++] = d;
    if (s->n_daemons == 1) {
        snprintf(s->base_url, sizeof s->base_url, "http://%s/fhir", shown);
    }
    fprintf(stderr, "codeset-http: listening on http://%s\n", shown);
    return 0;
}

static int s_open_data(hs_server_t *s, cs_error_t *err)
{
    s->store = cs_store_open_ex(s->conf.db, 0, 0, CS_STORE_RDONLY, err);
    if (s->store == NULL) {
        return -1;
    }
    s->plugins = cs_plugin_host_new();
    s->index = cs_codeidx_set_new(s->store, (size_t)S_INDEX_MIB << 20, err);
    if (s->plugins == NULL || s->index == NULL) {
        cs_error_set(err, CS_ENOMEM, "out of memory loading plugins");
        return -1;
    }
    if (cs_plugin_host_load_dir(s->plugins, s->conf.plugins, NULL, err) != CS_OK) {
        return -1;
    }
    /* --assets DIR wins over the compiled-in copy */
    s->assets = hs_assets_open(s->conf.assets, err);
    if (s->assets == NULL) {
        return -1;
    }
    return 0;
}

hs_server_t *hs_server_start(const hs_conf_t *conf, cs_error_t *err)
{
    hs_server_t *s = calloc(1, sizeof *s);
    if (s == NULL) {
        cs_error_set(err, CS_ENOMEM, "out of memory starting the server");
        return NULL;
    }
    s->conf = *conf;
    pthread_mutex_init(&s->lock, NULL);
    for (int i = 0; i < conf->n_uris && i < 16; i++) {
        s->fhir.extra_names[i] = conf->uri_names[i];
        s->fhir.extra_uris[i] = conf->uri_values[i];
        s->fhir.n_extra = i + 1;
    }
    s->fhir.base_url = s->base_url;
    json_object_seed(0); /* before any thread builds an object */
    hs_arena_install();
    if (s_open_data(s, err) != 0) {
        hs_server_stop(&s);
        return NULL;
    }
    for (int i = 0; i < conf->n_listen; i++) {
        if (s_start_daemon(s, conf->listen[i], err) != 0) {
            hs_server_stop(&s);
            return NULL;
        }
    }
    return s;
}

void hs_server_stop(hs_server_t **sp)
{
    if (sp == NULL || *sp == NULL) {
        return;
    }
    hs_server_t *s = *sp;
    *sp = NULL;
    for (int i = 0; i < s->n_daemons; i++) {
        MHD_stop_daemon(s->daemons[i]); /* joins the pool: no handler runs after this */
    }
    for (s_thread_t *t = s->threads, *next; t; t = next) {
        next = t->next;
        hs_request_fini(&t->req);
        hs_arena_fini(&t->arena);
        cs_out_json_free(&t->out);
        cs_engine_destroy(&t->engine);
        free(t);
    }
    hs_assets_destroy(&s->assets);
    cs_codeidx_set_destroy(&s->index);
    cs_plugin_host_destroy(&s->plugins);
    cs_store_destroy(&s->store);
    pthread_mutex_destroy(&s->lock);
    free(s);
}
