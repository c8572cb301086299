/* cli_commands.c: the command table of the codeset CLI and its handlers (see
 * cli_commands.h). Each handler packs the request map of PROTOCOL.md, sends it, and prints
 * the reply; s_call turns transport failures and error replies into messages and exit codes.
 */
#include "cli_commands.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_addenda.h"
#include "cli_claim.h"
#include "cli_conn.h"
#include "cli_json.h"
#include "cli_msg.h"
#include "cli_progress.h"
#include "cli_render.h"
#include "cli_table.h"

/* A request being packed. */
typedef struct s_req {
    msgpack_sbuffer sb; /* the packed bytes */
    msgpack_packer pk;  /* packs into sb */
} s_req_t;

static void s_req_init(s_req_t *r, const char *op, uint32_t n_keys)
{
    msgpack_sbuffer_init(&r->sb);
    msgpack_packer_init(&r->pk, &r->sb, msgpack_sbuffer_write);
    msgpack_pack_map(&r->pk, n_keys + 1);
    cs_cli_pack_kv_str(&r->pk, "op", op);
}

static void s_req_destroy(s_req_t *r)
{
    msgpack_sbuffer_destroy(&r->sb);
}

/* Pack key: value when value is not NULL. */
static void s_kv_opt(s_req_t *r, const char *key, const char *value)
{
    if (value != NULL) {
        cs_cli_pack_kv_str(&r->pk, key, value);
    }
}

static uint32_t s_n(const char *a, const char *b, const char *c)
{
    return (a != NULL) + (b != NULL) + (c != NULL);
}

static int s_conn_exit(int status)
{
    switch (status) {
    case CS_CLI_CONN_TIMEOUT:
        return CS_CLI_EXIT_UNREACHABLE;
    case CS_CLI_CONN_EINVAL:
        return CS_CLI_EXIT_USAGE;
    default:
        return CS_CLI_EXIT_ERROR;
    }
}

/* Print an error reply ({"ok":false,"error":{code,message}}) or complain about a reply
 * without "ok". Returns CS_CLI_EXIT_OK when the reply says ok:true. */
static int s_check_reply(const cs_cli_t *cli, const msgpack_object *root, const char *endpoint)
{
    const msgpack_object *ok = cs_cli_msg_get(root, "ok");
    if (!cs_cli_msg_is(ok, MSGPACK_OBJECT_BOOLEAN)) {
        fprintf(cli->err, "codeset: malformed reply from %s: no \"ok\"\n", endpoint);
        return CS_CLI_EXIT_ERROR;
    }
    if (ok->via.boolean) {
        return CS_CLI_EXIT_OK;
    }
    if (cli->json) {
        cs_cli_json_write(cli->out, root);
        fputc('\n', cli->out);
    }
    const msgpack_object *error = cs_cli_msg_get(root, "error");
    char code[128];
    char message[1024];
    cs_cli_msg_text(cs_cli_msg_get(error, "code"), code, sizeof code);
    cs_cli_msg_text(cs_cli_msg_get(error, "message"), message, sizeof message);
    fprintf(cli->err, "codeset: %s: %s\n", code[0] != '\0' ? code : "error",
            message[0] != '\0' ? message : "(no message)");
    return CS_CLI_EXIT_ERROR;
}

/* One exchange on an open connection; on CS_CLI_EXIT_OK reply->root is an ok:true map.
 * The reply must be released whatever the outcome. */
static int s_exchange(const cs_cli_t *cli, cs_cli_conn_t *conn, const s_req_t *req,
                      cs_cli_reply_t *reply)
{
    char err[512];
    int st = cs_cli_conn_request(conn, req->sb.data, req->sb.size, reply, err, sizeof err);
    if (st != CS_CLI_CONN_OK) {
        fprintf(cli->err, "codeset: %s\n", err);
        return s_conn_exit(st);
    }
    return s_check_reply(cli, reply->root, cs_cli_conn_endpoint(conn));
}

/* Open a connection to endpoint, or print why not and set *rc. */
static cs_cli_conn_t *s_open(const cs_cli_t *cli, const char *endpoint, int *rc)
{
    char err[512];
    int st = CS_CLI_CONN_OK;
    cs_cli_conn_t *conn = cs_cli_conn_new(endpoint, cli->timeout_ms, &st, err, sizeof err);
    if (conn == NULL) {
        fprintf(cli->err, "codeset: %s\n", err);
        *rc = s_conn_exit(st);
    }
    return conn;
}

/* Send req to endpoint and wait for an ok:true reply (see s_exchange). */
static int s_call(const cs_cli_t *cli, const char *endpoint, const s_req_t *req,
                  cs_cli_reply_t *reply)
{
    memset(reply, 0, sizeof *reply);
    int rc = CS_CLI_EXIT_OK;
    cs_cli_conn_t *conn = s_open(cli, endpoint, &rc);
    if (conn == NULL) {
        return rc;
    }
    rc = s_exchange(cli, conn, req, reply);
    cs_cli_conn_destroy(&conn);
    return rc;
}

static void s_print_json(const cs_cli_t *cli, const msgpack_object *root)
{
    cs_cli_json_write(cli->out, root);
    fputc('\n', cli->out);
}

/* Send req to the query endpoint; print the reply with render (or as JSON). */
static int s_simple(cs_cli_t *cli, const char *endpoint, s_req_t *req,
                    void (*render)(const cs_cli_t *, const msgpack_object *))
{
    cs_cli_reply_t reply;
    int rc = s_call(cli, endpoint, req, &reply);
    if (rc == CS_CLI_EXIT_OK) {
        if (cli->json) {
            s_print_json(cli, reply.root);
        } else {
            render(cli, reply.root);
        }
    }
    cs_cli_reply_release(&reply);
    s_req_destroy(req);
    return rc;
}

/* ---- query commands --------------------------------------------------------------------- */

static int s_lookup(cs_cli_t *cli, const cs_cli_args_t *args)
{
    const char *include = args->opt[CS_CLI_OPT_INCLUDE];
    const char *release = args->opt[CS_CLI_OPT_RELEASE];
    const char *date = args->opt[CS_CLI_OPT_DATE];
    s_req_t req;
    s_req_init(&req, "lookup", 2 + s_n(include, release, date));
    cs_cli_pack_kv_str(&req.pk, "system", args->pos[0]);
    cs_cli_pack_kv_str(&req.pk, "code", args->pos[1]);
    s_kv_opt(&req, "release", release);
    s_kv_opt(&req, "date", date);
    if (include != NULL) {
        uint32_t n = 1;
        for (const char *p = include; *p != '\0'; p++) {
            n += *p == ',';
        }
        cs_cli_pack_str(&req.pk, "include");
        msgpack_pack_array(&req.pk, n);
        for (const char *p = include;;) {
            size_t len = strcspn(p, ",");
            msgpack_pack_str(&req.pk, len);
            msgpack_pack_str_body(&req.pk, p, len);
            if (p[len] == '\0') {
                break;
            }
            p += len + 1;
        }
    }
    cs_cli_reply_t reply;
    int rc = s_call(cli, cli->connect, &req, &reply);
    if (rc == CS_CLI_EXIT_OK) {
        const msgpack_object *found = cs_cli_msg_get(reply.root, "found");
        int missing = cs_cli_msg_is(found, MSGPACK_OBJECT_BOOLEAN) && !found->via.boolean;
        if (cli->json) {
            s_print_json(cli, reply.root);
            rc = missing ? CS_CLI_EXIT_INVALID : CS_CLI_EXIT_OK;
        } else {
            rc = cs_cli_render_lookup(cli, reply.root);
        }
    }
    cs_cli_reply_release(&reply);
    s_req_destroy(&req);
    return rc;
}

static int s_validate(cs_cli_t *cli, const cs_cli_args_t *args)
{
    const char *release = args->opt[CS_CLI_OPT_RELEASE];
    const char *date = args->opt[CS_CLI_OPT_DATE];
    s_req_t req;
    s_req_init(&req, "validate", 2 + s_n(release, date, NULL));
    cs_cli_pack_kv_str(&req.pk, "system", args->pos[0]);
    cs_cli_pack_str(&req.pk, "codes");
    msgpack_pack_array(&req.pk, (uint32_t)(args->n_pos - 1));
    for (int i = 1; i < args->n_pos; i++) {
        cs_cli_pack_str(&req.pk, args->pos[i]);
    }
    s_kv_opt(&req, "release", release);
    s_kv_opt(&req, "date", date);
    cs_cli_reply_t reply;
    int rc = s_call(cli, cli->connect, &req, &reply);
    if (rc == CS_CLI_EXIT_OK) {
        size_t bad;
        if (cli->json) {
            s_print_json(cli, reply.root);
            bad = cs_cli_count_invalid(reply.root);
        } else {
            bad = cs_cli_render_validate(cli, reply.root);
        }
        rc = bad > 0 ? CS_CLI_EXIT_INVALID : CS_CLI_EXIT_OK;
    }
    cs_cli_reply_release(&reply);
    s_req_destroy(&req);
    return rc;
}

static int s_search(cs_cli_t *cli, const cs_cli_args_t *args)
{
    const char *limit = args->opt[CS_CLI_OPT_LIMIT];
    const char *offset = args->opt[CS_CLI_OPT_OFFSET];
    const char *billable = args->opt[CS_CLI_OPT_BILLABLE_ONLY];
    size_t qlen = 0;
    for (int i = 1; i < args->n_pos; i++) {
        qlen += strlen(args->pos[i]) + 1;
    }
    char *q = malloc(qlen + 1);
    if (q == NULL) {
        fputs("codeset: out of memory\n", cli->err);
        return CS_CLI_EXIT_ERROR;
    }
    q[0] = '\0';
    for (int i = 1; i < args->n_pos; i++) {
        if (i > 1) {
            strcat(q, " ");
        }
        strcat(q, args->pos[i]);
    }
    const char *release = args->opt[CS_CLI_OPT_RELEASE];
    const char *date = args->opt[CS_CLI_OPT_DATE];
    s_req_t req;
    s_req_init(&req, "search", 2 + s_n(limit, offset, billable) + s_n(release, date, NULL));
    s_kv_opt(&req, "release", release);
    s_kv_opt(&req, "date", date);
    cs_cli_pack_kv_str(&req.pk, "system", args->pos[0]);
    cs_cli_pack_kv_str(&req.pk, "q", q);
    free(q);
    if (limit != NULL) {
        cs_cli_pack_str(&req.pk, "limit");
        msgpack_pack_int64(&req.pk, strtoll(limit, NULL, 10));
    }
    if (offset != NULL) {
        cs_cli_pack_str(&req.pk, "offset");
        msgpack_pack_int64(&req.pk, strtoll(offset, NULL, 10));
    }
    if (billable != NULL) {
        cs_cli_pack_str(&req.pk, "billable_only");
        msgpack_pack_true(&req.pk);
    }
    return s_simple(cli, cli->connect, &req, cs_cli_render_search);
}

/* TABLE [WORDS...]: words are searched; words holding '>' are a path ("Neoplasm, neoplastic >
 * breast"); none lists the main terms. */
static int s_index(cs_cli_t *cli, const cs_cli_args_t *args)
{
    const char *limit = args->opt[CS_CLI_OPT_LIMIT];
    const char *offset = args->opt[CS_CLI_OPT_OFFSET];
    const char *release = args->opt[CS_CLI_OPT_RELEASE];
    const char *date = args->opt[CS_CLI_OPT_DATE];
    int follow = args->opt[CS_CLI_OPT_FOLLOW] != NULL;
    char q[1024];
    size_t o = 0;
    q[0] = '\0';
    for (int i = 1; i < args->n_pos && o < sizeof q; i++) {
        o += (size_t)snprintf(q + o, sizeof q - o, "%s%s", i > 1 ? " " : "", args->pos[i]);
    }
    const char *parts[10];
    uint32_t n_parts = 0;
    char *save = NULL;
    if (strchr(q, '>')) {
        for (char *p = strtok_r(q, ">", &save); p && n_parts < 10; p = strtok_r(NULL, ">", &save)) {
            while (*p == ' ') {
                p++;
            }
            size_t l = strlen(p);
            while (l && p[l - 1] == ' ') {
                p[--l] = '\0';
            }
            parts[n_parts++] = p;
        }
    }
    s_req_t req;
    s_req_init(&req, "index", 2 + (q[0] ? 1 : 0) + (uint32_t)follow +
                                  s_n(limit, offset, release) + s_n(date, NULL, NULL));
    cs_cli_pack_kv_str(&req.pk, "system", "icd10cm");
    cs_cli_pack_kv_str(&req.pk, "table", args->pos[0]);
    if (n_parts) {
        cs_cli_pack_str(&req.pk, "path");
        msgpack_pack_array(&req.pk, n_parts);
        for (uint32_t i = 0; i < n_parts; i++) {
            cs_cli_pack_str(&req.pk, parts[i]);
        }
    } else if (q[0]) {
        cs_cli_pack_kv_str(&req.pk, "q", q);
    }
    s_kv_opt(&req, "release", release);
    s_kv_opt(&req, "date", date);
    if (follow) {
        cs_cli_pack_str(&req.pk, "follow");
        msgpack_pack_true(&req.pk);
    }
    if (limit != NULL) {
        cs_cli_pack_str(&req.pk, "limit");
        msgpack_pack_int64(&req.pk, strtoll(limit, NULL, 10));
    }
    if (offset != NULL) {
        cs_cli_pack_str(&req.pk, "offset");
        msgpack_pack_int64(&req.pk, strtoll(offset, NULL, 10));
    }
    return s_simple(cli, cli->connect, &req, cs_cli_render_index);
}

static int s_crosswalk(cs_cli_t *cli, const cs_cli_args_t *args)
{
    const char *map = args->opt[CS_CLI_OPT_MAP];
    const char *release = args->opt[CS_CLI_OPT_RELEASE];
    const char *to_release = args->opt[CS_CLI_OPT_TO_RELEASE];
    const char *date = args->opt[CS_CLI_OPT_DATE];
    int reverse = args->opt[CS_CLI_OPT_REVERSE] != NULL;
    s_req_t req;
    s_req_init(&req, "crosswalk", 3 + s_n(map, release, to_release) + s_n(date, NULL, NULL) +
                                      (reverse ? 1 : 0));
    if (reverse) {
        cs_cli_pack_str(&req.pk, "reverse");
        msgpack_pack_true(&req.pk);
    }
    s_kv_opt(&req, "date", date);
    cs_cli_pack_kv_str(&req.pk, "from", args->pos[0]);
    cs_cli_pack_kv_str(&req.pk, "to", args->pos[1]);
    cs_cli_pack_kv_str(&req.pk, "code", args->pos[2]);
    s_kv_opt(&req, "map", map);
    s_kv_opt(&req, "release", release);
    s_kv_opt(&req, "to_release", to_release);
    return s_simple(cli, cli->connect, &req, cs_cli_render_crosswalk);
}

/* addenda: read files locally, no broker involved. */
static int s_addenda(cs_cli_t *cli, const cs_cli_args_t *args)
{
    return cs_cli_addenda(cli, args->n_pos, args->pos);
}

/* retire and drop: SYSTEM RELEASE on the admin endpoint. */
static int s_retire_or_drop(cs_cli_t *cli, const cs_cli_args_t *args, const char *op)
{
    s_req_t req;
    s_req_init(&req, op, 2);
    cs_cli_pack_kv_str(&req.pk, "system", args->pos[0]);
    cs_cli_pack_kv_str(&req.pk, "release", args->pos[1]);
    return s_simple(cli, cli->admin, &req, cs_cli_render_kv);
}

static int s_retire(cs_cli_t *cli, const cs_cli_args_t *args)
{
    return s_retire_or_drop(cli, args, "retire");
}

static int s_drop(cs_cli_t *cli, const cs_cli_args_t *args)
{
    return s_retire_or_drop(cli, args, "drop");
}

static int s_releases(cs_cli_t *cli, const cs_cli_args_t *args)
{
    const char *system = args->n_pos > 0 ? args->pos[0] : NULL;
    s_req_t req;
    s_req_init(&req, "releases", s_n(system, NULL, NULL));
    s_kv_opt(&req, "system", system);
    return s_simple(cli, cli->connect, &req, cs_cli_render_releases);
}

static int s_diff(cs_cli_t *cli, const cs_cli_args_t *args)
{
    const char *limit = args->opt[CS_CLI_OPT_LIMIT];
    s_req_t req;
    s_req_init(&req, "diff", 3 + s_n(limit, NULL, NULL));
    cs_cli_pack_kv_str(&req.pk, "system", args->pos[0]);
    cs_cli_pack_kv_str(&req.pk, "release", args->pos[1]);
    cs_cli_pack_kv_str(&req.pk, "to_release", args->pos[2]);
    if (limit != NULL) {
        cs_cli_pack_str(&req.pk, "limit");
        msgpack_pack_int64(&req.pk, strtoll(limit, NULL, 10));
    }
    return s_simple(cli, cli->connect, &req, cs_cli_render_diff);
}

static int s_ping(cs_cli_t *cli, const cs_cli_args_t *args)
{
    (void)args;
    s_req_t req;
    s_req_init(&req, "ping", 0);
    return s_simple(cli, cli->connect, &req, cs_cli_render_kv);
}

static int s_stats(cs_cli_t *cli, const cs_cli_args_t *args)
{
    (void)args;
    s_req_t req;
    s_req_init(&req, "stats", 0);
    return s_simple(cli, cli->connect, &req, cs_cli_render_kv);
}

/* ---- admin commands --------------------------------------------------------------------- */

static int s_job(cs_cli_t *cli, const cs_cli_args_t *args)
{
    s_req_t req;
    s_req_init(&req, "job", 1);
    cs_cli_pack_kv_str(&req.pk, "job", args->pos[0]);
    return s_simple(cli, cli->admin, &req, cs_cli_render_kv);
}

static int s_cancel(cs_cli_t *cli, const cs_cli_args_t *args)
{
    s_req_t req;
    s_req_init(&req, "cancel", 1);
    cs_cli_pack_kv_str(&req.pk, "job", args->pos[0]);
    return s_simple(cli, cli->admin, &req, cs_cli_render_kv);
}

static int s_plugins(cs_cli_t *cli, const cs_cli_args_t *args)
{
    (void)args;
    s_req_t req;
    s_req_init(&req, "plugins", 0);
    return s_simple(cli, cli->admin, &req, cs_cli_render_kv);
}

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void s_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static uint64_t s_u64(const msgpack_object *map, const char *key)
{
    int64_t v = 0;
    if (cs_cli_msg_int(cs_cli_msg_get(map, key), &v) != 0 || v < 0) {
        return 0;
    }
    return (uint64_t)v;
}

/* The job's error of a failed load: "codeset: <code>: <message> (file:line)". */
static void s_print_job_error(const cs_cli_t *cli, const msgpack_object *job)
{
    const msgpack_object *error = cs_cli_msg_get(job, "error");
    char code[128];
    char message[1024];
    char file[1024];
    cs_cli_msg_text(cs_cli_msg_get(error, "code"), code, sizeof code);
    cs_cli_msg_text(cs_cli_msg_get(error, "message"), message, sizeof message);
    cs_cli_msg_text(cs_cli_msg_get(error, "file"), file, sizeof file);
    int64_t line = 0;
    cs_cli_msg_int(cs_cli_msg_get(error, "line"), &line);
    fprintf(cli->err, "codeset: %s: %s", code[0] != '\0' ? code : "load_failed",
            message[0] != '\0' ? message : "the load failed");
    if (file[0] != '\0' && line > 0) {
        fprintf(cli->err, " (%s:%" PRId64 ")", file, line);
    } else if (file[0] != '\0') {
        fprintf(cli->err, " (%s)", file);
    }
    fputc('\n', cli->err);
}

/* Poll the job until it is done or failed; prints the result. */
static int s_load_wait(cs_cli_t *cli, cs_cli_conn_t *conn, const msgpack_object *job_id,
                       const char *release, double started)
{
    cs_cli_progress_t bar;
    cs_cli_progress_init(&bar, cli->err, cli->progress && !cli->json);
    for (;;) {
        s_sleep_ms(CS_CLI_POLL_MS);
        s_req_t req;
        s_req_init(&req, "job", 1);
        cs_cli_pack_str(&req.pk, "job");
        msgpack_pack_object(&req.pk, *job_id);
        cs_cli_reply_t reply;
        int rc = s_exchange(cli, conn, &req, &reply);
        s_req_destroy(&req);
        if (rc != CS_CLI_EXIT_OK) {
            cs_cli_progress_clear(&bar);
            cs_cli_reply_release(&reply);
            return rc;
        }
        char state[32];
        cs_cli_msg_text(cs_cli_msg_get(reply.root, "state"), state, sizeof state);
        if (strcmp(state, "done") != 0 && strcmp(state, "failed") != 0) {
            cs_cli_progress_update(&bar, s_u64(reply.root, "bytes_done"),
                                   s_u64(reply.root, "bytes_total"));
            cs_cli_reply_release(&reply);
            continue;
        }
        cs_cli_progress_clear(&bar);
        if (cli->json) {
            s_print_json(cli, reply.root);
        }
        if (strcmp(state, "failed") == 0) {
            s_print_job_error(cli, reply.root);
            rc = CS_CLI_EXIT_ERROR;
        } else if (!cli->json) {
            fprintf(cli->out, "loaded %s: %" PRIu64 " records in %.1f s\n", release,
                    s_u64(reply.root, "records"), s_now() - started);
            char lists[512];
            const msgpack_object *l = cs_cli_msg_get(reply.root, "lists");
            if (l && cs_cli_msg_text(l, lists, sizeof lists)[0]) {
                fprintf(cli->out, "its lists: %s\n", lists);
            }
        }
        cs_cli_reply_release(&reply);
        return rc;
    }
}

static int s_load(cs_cli_t *cli, const cs_cli_args_t *args)
{
    const char *loader = args->opt[CS_CLI_OPT_LOADER];
    const char *release = args->opt[CS_CLI_OPT_RELEASE];
    const char *system = args->opt[CS_CLI_OPT_SYSTEM];
    int rc = CS_CLI_EXIT_OK;
    char **files = calloc((size_t)args->n_pos, sizeof *files);
    if (files == NULL) {
        fputs("codeset: out of memory\n", cli->err);
        return CS_CLI_EXIT_ERROR;
    }
    for (int i = 0; i < args->n_pos; i++) {
        files[i] = realpath(args->pos[i], NULL);
        if (files[i] == NULL) {
            char msg[PATH_MAX + 64];
            snprintf(msg, sizeof msg, "load: %s: %s", args->pos[i], strerror(errno));
            rc = cs_cli_usage_error(cli, cs_cli_command_find("load"), msg);
            goto done;
        }
    }
    s_req_t req;
    s_req_init(&req, "load", 3 + s_n(loader, system, NULL));
    s_kv_opt(&req, "loader", loader);
    s_kv_opt(&req, "system", system);
    cs_cli_pack_str(&req.pk, "files");
    msgpack_pack_array(&req.pk, (uint32_t)args->n_pos);
    for (int i = 0; i < args->n_pos; i++) {
        cs_cli_pack_str(&req.pk, files[i]);
    }
    cs_cli_pack_kv_str(&req.pk, "release", release);
    cs_cli_pack_kv_str(&req.pk, "effective_from", args->opt[CS_CLI_OPT_EFFECTIVE]);

    double started = s_now();
    cs_cli_conn_t *conn = s_open(cli, cli->admin, &rc);
    if (conn == NULL) {
        s_req_destroy(&req);
        goto done;
    }
    cs_cli_reply_t reply;
    rc = s_exchange(cli, conn, &req, &reply);
    s_req_destroy(&req);
    if (rc == CS_CLI_EXIT_OK) {
        const msgpack_object *job = cs_cli_msg_get(reply.root, "job");
        if (job == NULL || (job->type != MSGPACK_OBJECT_STR &&
                            job->type != MSGPACK_OBJECT_POSITIVE_INTEGER)) {
            fprintf(cli->err, "codeset: malformed reply from %s: no \"job\"\n", cli->admin);
            rc = CS_CLI_EXIT_ERROR;
        } else {
            rc = s_load_wait(cli, conn, job, release, started);
        }
    }
    cs_cli_reply_release(&reply);
    cs_cli_conn_destroy(&conn);
done:
    for (int i = 0; i < args->n_pos; i++) {
        free(files[i]);
    }
    free(files);
    return rc;
}

/* verify: start a pass over every release's checksum and wait for it (admin). */
static void s_render_verify(const cs_cli_t *cli, const msgpack_object *reply)
{
    const msgpack_object *list = cs_cli_msg_get(reply, "releases");
    uint32_t n = cs_cli_msg_is(list, MSGPACK_OBJECT_ARRAY) ? list->via.array.size : 0;
    static const char *const keys[] = {"system", "release", "state", "message"};
    cs_cli_table_t *t = cs_cli_table_new(4);
    if (t == NULL) {
        return;
    }
    cs_cli_table_header(t, keys);
    static char cells[4][512];
    const char *row[4];
    for (uint32_t i = 0; i < n; i++) {
        for (size_t k = 0; k < 4; k++) {
            row[k] = cs_cli_msg_text(cs_cli_msg_get(&list->via.array.ptr[i], keys[k]), cells[k],
                                     sizeof cells[k]);
        }
        cs_cli_table_add(t, row);
        if (strcmp(row[2], "failed") == 0) {
            cs_cli_table_color(t, 2, CS_CLI_RED);
        }
    }
    cs_cli_table_print(t, cli->out, cli->color);
    cs_cli_table_destroy(&t);
}

static int s_verify(cs_cli_t *cli, const cs_cli_args_t *args)
{
    (void)args;
    int rc = CS_CLI_EXIT_OK;
    cs_cli_conn_t *conn = s_open(cli, cli->admin, &rc);
    if (conn == NULL) {
        return rc;
    }
    char job[64] = "";
    for (;;) {
        s_req_t req;
        s_req_init(&req, "verify", job[0] ? 1 : 0);
        s_kv_opt(&req, "job", job[0] ? job : NULL);
        cs_cli_reply_t reply;
        rc = s_exchange(cli, conn, &req, &reply);
        s_req_destroy(&req);
        char state[32];
        cs_cli_msg_text(cs_cli_msg_get(reply.root, "state"), state, sizeof state);
        if (rc == CS_CLI_EXIT_OK && strcmp(state, "running") == 0) {
            cs_cli_msg_text(cs_cli_msg_get(reply.root, "job"), job, sizeof job);
            cs_cli_reply_release(&reply);
            s_sleep_ms(CS_CLI_POLL_MS);
            continue;
        }
        if (rc == CS_CLI_EXIT_OK) {
            if (cli->json) {
                s_print_json(cli, reply.root);
            } else {
                s_render_verify(cli, reply.root);
            }
            rc = strcmp(state, "failed") == 0 ? CS_CLI_EXIT_ERROR : CS_CLI_EXIT_OK;
        }
        cs_cli_reply_release(&reply);
        break;
    }
    cs_cli_conn_destroy(&conn);
    return rc;
}

/* A claim (a JSON object) or claims (an array) from a file; exit 4 when one is not clean. */
static int s_claim(cs_cli_t *cli, const cs_cli_args_t *args)
{
    s_req_t req;
    msgpack_sbuffer_init(&req.sb);
    msgpack_packer_init(&req.pk, &req.sb, msgpack_sbuffer_write);
    char err[512];
    if (cs_cli_claim_pack(&req.pk, args->pos[0], err, sizeof err) != 0) {
        fprintf(cli->err, "codeset: %s\n", err);
        s_req_destroy(&req);
        return CS_CLI_EXIT_USAGE;
    }
    cs_cli_reply_t reply;
    int rc = s_call(cli, cli->connect, &req, &reply);
    if (rc == CS_CLI_EXIT_OK) {
        size_t unclean;
        if (cli->json) {
            s_print_json(cli, reply.root);
            unclean = cs_cli_claim_unclean(reply.root);
        } else {
            unclean = cs_cli_claim_render(cli, reply.root);
        }
        rc = unclean > 0 ? CS_CLI_EXIT_INVALID : CS_CLI_EXIT_OK;
    }
    cs_cli_reply_release(&reply);
    s_req_destroy(&req);
    return rc;
}

/* ---- the table ---------------------------------------------------------------------------- */

#define O(x) CS_CLI_OPT(CS_CLI_OPT_##x)

static const cs_cli_command_t s_commands[] = {
    {"load", s_load, 1, -1, CS_CLI_ADMIN, O(LOADER) | O(RELEASE) | O(EFFECTIVE) | O(SYSTEM),
     O(RELEASE) | O(EFFECTIVE),
     "[--loader ID] [--system ID] --release LABEL --effective YYYY-MM-DD FILE...",
     "load a release from its official files (admin; shows progress, waits for the end)"},
    {"lookup", s_lookup, 2, 2, 0, O(INCLUDE) | O(RELEASE) | O(DATE), 0,
     "SYSTEM CODE [--include notes,children,ancestors] [--release R] [--date D]",
     "show one code: kind, billable, titles, parent, notes, children, ancestors"},
    {"validate", s_validate, 2, -1, 0, O(DATE) | O(RELEASE), 0,
     "SYSTEM CODE... [--date D] [--release R]",
     "check codes for a claim (exit 4 when any is invalid)"},
    {"search", s_search, 2, -1, 0,
     O(LIMIT) | O(OFFSET) | O(BILLABLE_ONLY) | O(RELEASE) | O(DATE), 0,
     "SYSTEM WORDS... [--limit N] [--offset N] [--billable-only] [--release R] [--date D]",
     "find codes by words of their titles, or by code prefix"},
    {"index", s_index, 1, -1, 0, O(LIMIT) | O(OFFSET) | O(RELEASE) | O(DATE) | O(FOLLOW), 0,
     "TABLE [WORDS... | TERM > SUBTERM...] [--follow] [--limit N] [--offset N] [--release R] "
     "[--date D]",
     "the ICD-10-CM Index: TABLE index, eindex, drug or neoplasm; words searched, or a path "
     "walked (TERM > SUBTERM), or the main terms; --follow adds the terms see and see also "
     "reach"},
    {"claim", s_claim, 1, 1, 0, 0, 0, "FILE.json|FILE.csv",
     "scrub a claim (a JSON object) or a batch (a JSON array of claims): its edits"},
    {"crosswalk", s_crosswalk, 3, 3, 0,
     O(MAP) | O(RELEASE) | O(TO_RELEASE) | O(DATE) | O(REVERSE), 0,
     "FROM TO CODE [--map M] [--reverse] [--date D] [--release R --to-release R]",
     "map a code from one system (or release) to another"},
    {"releases", s_releases, 0, 1, 0, 0, 0, "[SYSTEM]", "list the loaded releases"},
    {"diff", s_diff, 3, 3, 0, O(LIMIT), 0, "SYSTEM R1 R2 [--limit N]",
     "codes added, deleted, revised and changed in billability from R1 to R2"},
    {"addenda", s_addenda, 1, -1, 0, 0, 0, "FILE...",
     "an ICD-10-CM code or order addenda file as a change list (read here, no broker)"},
    {"ping", s_ping, 0, 0, 0, 0, 0, "", "check that the broker answers"},
    {"stats", s_stats, 0, 0, 0, 0, 0, "", "the broker's counters and latencies"},
    {"job", s_job, 1, 1, CS_CLI_ADMIN, 0, 0, "ID", "the state of a load job (admin)"},
    {"cancel", s_cancel, 1, 1, CS_CLI_ADMIN, 0, 0, "ID",
     "stop a running load job; nothing of it stays (admin)"},
    {"retire", s_retire, 2, 2, CS_CLI_ADMIN, 0, 0, "SYSTEM RELEASE",
     "stop a release answering by date or as the newest; pinned queries still reach it "
     "(admin)"},
    {"drop", s_drop, 2, 2, CS_CLI_ADMIN, 0, 0, "SYSTEM RELEASE", "delete a release (admin)"},
    {"plugins", s_plugins, 0, 0, CS_CLI_ADMIN, 0, 0, "",
     "the loaded system and loader plugins (admin)"},
    {"verify", s_verify, 0, 0, CS_CLI_ADMIN, 0, 0, "",
     "check every release's records against the checksum taken at publish; exit 1 when one "
     "fails (admin)"},
};

#undef O

const cs_cli_command_t *cs_cli_command_find(const char *name)
{
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++) {
        if (strcmp(s_commands[i].name, name) == 0) {
            return &s_commands[i];
        }
    }
    return NULL;
}

const cs_cli_command_t *cs_cli_command_at(size_t i)
{
    return i < sizeof s_commands / sizeof s_commands[0] ? &s_commands[i] : NULL;
}
