/* check_cli.c: the codeset CLI: JSON rendering, table alignment, argument parsing and the
 * command table, reply pre-scan, and the client plumbing against a fake ROUTER server that
 * answers canned msgpack replies (not the integration test: no codesetd is involved). */
#include <check.h>
#include <dirent.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>
#include <zmq.h>

#include "../clients/codeset/cli.h"
#include "../clients/codeset/cli_commands.h"
#include "../clients/codeset/cli_conn.h"
#include "../clients/codeset/cli_json.h"
#include "../clients/codeset/cli_msg.h"
#include "../clients/codeset/cli_progress.h"
#include "../clients/codeset/cli_render.h"
#include "../clients/codeset/cli_table.h"
#include "codeset/cs_version.h"
#include "cs_test.h"

Suite *cs_cli_suite(void);

/* ---- helpers -------------------------------------------------------------------------- */

static void s_str(msgpack_packer *pk, const char *s)
{
    cs_cli_pack_str(pk, s);
}

/* Unpack a packed buffer and render it as JSON; the caller frees the text. */
static char *s_json_of(const msgpack_sbuffer *sb)
{
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    ck_assert_int_eq(msgpack_unpack_next(&up, sb->data, sb->size, &off), MSGPACK_UNPACK_SUCCESS);
    char *text = cs_cli_json_dup(&up.data);
    msgpack_unpacked_destroy(&up);
    ck_assert_ptr_nonnull(text);
    return text;
}

/* Captured output of one cs_cli_main run. */
typedef struct s_run {
    int rc;       /* exit code */
    char *out;    /* stdout text (owned) */
    char *err;    /* stderr text (owned) */
} s_run_t;

static s_run_t s_cli(int argc, const char **argv)
{
    s_run_t r = {0};
    size_t olen = 0;
    size_t elen = 0;
    FILE *out = open_memstream(&r.out, &olen);
    FILE *err = open_memstream(&r.err, &elen);
    ck_assert_ptr_nonnull(out);
    ck_assert_ptr_nonnull(err);
    r.rc = cs_cli_main(argc, (char **)argv, out, err);
    fclose(out);
    fclose(err);
    return r;
}

static void s_run_free(s_run_t *r)
{
    free(r->out);
    free(r->err);
}

static void s_clean_env(void)
{
    unsetenv("CODESET_CONNECT");
    unsetenv("CODESET_ADMIN");
    unsetenv("CODESET_DB");
}

/* ---- JSON ------------------------------------------------------------------------------ */

START_TEST(json_nested_and_scalars)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 9);
    s_str(&pk, "ok");
    msgpack_pack_true(&pk);
    s_str(&pk, "no");
    msgpack_pack_false(&pk);
    s_str(&pk, "nil");
    msgpack_pack_nil(&pk);
    s_str(&pk, "ints");
    msgpack_pack_array(&pk, 4);
    msgpack_pack_int64(&pk, 0);
    msgpack_pack_int64(&pk, -42);
    msgpack_pack_uint64(&pk, UINT64_MAX);
    msgpack_pack_int64(&pk, INT64_MIN);
    s_str(&pk, "floats");
    msgpack_pack_array(&pk, 5);
    msgpack_pack_double(&pk, 1.5);
    msgpack_pack_double(&pk, 2.0);
    msgpack_pack_double(&pk, 0.1);
    msgpack_pack_float(&pk, 0.1f);
    msgpack_pack_double(&pk, 1e300 * 1e300);
    s_str(&pk, "nested");
    msgpack_pack_map(&pk, 1);
    s_str(&pk, "list");
    msgpack_pack_array(&pk, 2);
    msgpack_pack_map(&pk, 0);
    msgpack_pack_array(&pk, 0);
    msgpack_pack_int(&pk, 7); /* a non-string key */
    s_str(&pk, "seven");
    s_str(&pk, "bin");
    msgpack_pack_bin(&pk, 4);
    msgpack_pack_bin_body(&pk, "\x00\xff\x10z", 4);
    s_str(&pk, "esc");
    msgpack_pack_array(&pk, 1);
    static const char nasty[] = "q\"b\\s/\n\r\t\b\f\x01\x1f\x7f";
    msgpack_pack_str(&pk, sizeof nasty - 1);
    msgpack_pack_str_body(&pk, nasty, sizeof nasty - 1);
    char *text = s_json_of(&sb);
    ck_assert_str_eq(text,
                     "{\"ok\":true,\"no\":false,\"nil\":null,"
                     "\"ints\":[0,-42,18446744073709551615,-9223372036854775808],"
                     "\"floats\":[1.5,2.0,0.1,0.1,null],"
                     "\"nested\":{\"list\":[{},[]]},\"7\":\"seven\",\"bin\":\"AP8Qeg==\","
                     "\"esc\":[\"q\\\"b\\\\s/\\n\\r\\t\\b\\f\\u0001\\u001f\\u007f\"]}");
    free(text);
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

START_TEST(json_unicode)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 3);
    /* valid: é (2 bytes), € (3), 😀 (4) pass through unchanged */
    s_str(&pk, "Sj\xc3\xb6gren \xe2\x82\xac \xf0\x9f\x98\x80");
    /* invalid: a lone continuation byte, a truncated sequence, an overlong '/', a surrogate */
    s_str(&pk, "a\x80" "b\xe2\x82" "c\xc0\xaf" "d\xed\xa0\x80");
    /* a map key that is itself a map is stringified as its JSON text */
    msgpack_pack_map(&pk, 1);
    msgpack_pack_map(&pk, 1);
    s_str(&pk, "k");
    msgpack_pack_int(&pk, 1);
    msgpack_pack_true(&pk);
    char *text = s_json_of(&sb);
    ck_assert_str_eq(text, "[\"Sj\xc3\xb6gren \xe2\x82\xac \xf0\x9f\x98\x80\","
                           "\"a\\ufffdb\\ufffd\\ufffdc\\ufffd\\ufffdd\\ufffd\\ufffd\\ufffd\","
                           "{\"{\\\"k\\\":1}\":true}]");
    free(text);
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

/* ---- tables ---------------------------------------------------------------------------- */

static char *s_print(const cs_cli_table_t *t, int color)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    cs_cli_table_print(t, f, color);
    fclose(f);
    return buf;
}

START_TEST(table_alignment)
{
    cs_cli_table_t *t = cs_cli_table_new(3);
    ck_assert_ptr_nonnull(t);
    const char *h[] = {"code", "status", "title"};
    const char *r1[] = {"E11.9", "ok", "Type 2 diabetes"};
    const char *r2[] = {"S72.001A", "not_billable", "Fracture"};
    const char *r3[] = {"\xc3\xa9t\xc3\xa9", "x\ty", NULL}; /* 3 code points; a tab; NULL */
    ck_assert_int_eq(cs_cli_table_header(t, h), 0);
    ck_assert_int_eq(cs_cli_table_add(t, r1), 0);
    ck_assert_int_eq(cs_cli_table_add(t, r2), 0);
    ck_assert_int_eq(cs_cli_table_note(t, "hint: S72.001A, S72.001B"), 0);
    ck_assert_int_eq(cs_cli_table_color(t, 1, CS_CLI_RED), 0);
    ck_assert_int_eq(cs_cli_table_color(t, 3, CS_CLI_RED), -1);
    ck_assert_int_eq(cs_cli_table_add(t, r3), 0);
    ck_assert_uint_eq(cs_cli_table_rows(t), 4);
    char *plain = s_print(t, 0);
    ck_assert_str_eq(plain, "code      status        title\n"
                            "E11.9     ok            Type 2 diabetes\n"
                            "S72.001A  not_billable  Fracture\n"
                            "    hint: S72.001A, S72.001B\n"
                            "\xc3\xa9t\xc3\xa9       x y\n");
    free(plain);
    char *colored = s_print(t, 1);
    ck_assert_ptr_nonnull(strstr(colored, "\033[1mcode\033[0m  "));
    ck_assert_ptr_nonnull(strstr(colored, "S72.001A  \033[31mnot_billable\033[0m  Fracture\n"));
    free(colored);
    cs_cli_table_destroy(&t);
    ck_assert_ptr_null(t);
    cs_cli_table_destroy(&t);
    ck_assert_uint_eq(cs_cli_text_width("\xf0\x9f\x98\x80 ab"), 4);
    ck_assert_ptr_null(cs_cli_table_new(0));
}
END_TEST

START_TEST(progress_format)
{
    char buf[128];
    cs_cli_progress_format(buf, sizeof buf, 512u << 20, 1024u << 20);
    ck_assert_str_eq(buf, "[###############---------------]  50%  512.0 MiB / 1024.0 MiB");
    cs_cli_progress_format(buf, sizeof buf, 3u << 20, 0);
    ck_assert_str_eq(buf, "loading: 3.0 MiB");
    cs_cli_progress_t bar;
    cs_cli_progress_init(&bar, stderr, 0);
    cs_cli_progress_update(&bar, 1, 2); /* disabled: draws nothing */
    ck_assert_uint_eq(bar.drawn, 0);
}
END_TEST

START_TEST(render_kv)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 5);
    s_str(&pk, "ok");
    msgpack_pack_true(&pk);
    cs_cli_pack_kv_str(&pk, "version", "0.1.0");
    s_str(&pk, "protocol");
    msgpack_pack_int(&pk, 1);
    s_str(&pk, "requests");
    msgpack_pack_map(&pk, 2);
    s_str(&pk, "lookup");
    msgpack_pack_int(&pk, 12);
    s_str(&pk, "validate");
    msgpack_pack_int(&pk, 3);
    s_str(&pk, "plugins");
    msgpack_pack_array(&pk, 2);
    msgpack_pack_map(&pk, 2);
    cs_cli_pack_kv_str(&pk, "id", "icd10cm");
    cs_cli_pack_kv_str(&pk, "version", "1.0");
    msgpack_pack_map(&pk, 2);
    cs_cli_pack_kv_str(&pk, "id", "icd10cm-tabular");
    s_str(&pk, "abi");
    msgpack_pack_int(&pk, 1);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    ck_assert_int_eq(msgpack_unpack_next(&up, sb.data, sb.size, &off), MSGPACK_UNPACK_SUCCESS);
    char *text = NULL;
    size_t len = 0;
    cs_cli_t cli;
    memset(&cli, 0, sizeof cli);
    cli.out = open_memstream(&text, &len);
    cs_cli_render_kv(&cli, &up.data);
    fclose(cli.out);
    ck_assert_str_eq(text, "version:   0.1.0\n"
                           "protocol:  1\n"
                           "requests:\n"
                           "  lookup:    12\n"
                           "  validate:  3\n"
                           "plugins:\n"
                           "  id               version  abi\n"
                           "  icd10cm          1.0\n"
                           "  icd10cm-tabular           1\n");
    free(text);
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
}
END_TEST

/* ---- arguments and the command table --------------------------------------------------- */

START_TEST(args_parse)
{
    const cs_cli_command_t *lookup = cs_cli_command_find("lookup");
    ck_assert_ptr_nonnull(lookup);
    ck_assert_ptr_null(cs_cli_command_find("frobnicate"));
    cs_cli_args_t a;
    char msg[256];
    char *ok[] = {"icd10cm", "--include", "notes,ancestors", "E11.9", "--date=2021-03-01"};
    ck_assert_int_eq(cs_cli_args_parse(lookup, 5, ok, &a, msg, sizeof msg), 0);
    ck_assert_int_eq(a.n_pos, 2);
    ck_assert_str_eq(a.pos[0], "icd10cm");
    ck_assert_str_eq(a.pos[1], "E11.9");
    ck_assert_str_eq(a.opt[CS_CLI_OPT_INCLUDE], "notes,ancestors");
    ck_assert_str_eq(a.opt[CS_CLI_OPT_DATE], "2021-03-01");
    ck_assert_ptr_null(a.opt[CS_CLI_OPT_RELEASE]);
    free(a.pos);

    char *few[] = {"icd10cm"};
    ck_assert_int_eq(cs_cli_args_parse(lookup, 1, few, &a, msg, sizeof msg), -1);
    ck_assert_str_eq(msg, "lookup: too few arguments");
    char *many[] = {"icd10cm", "E11", "E12"};
    ck_assert_int_eq(cs_cli_args_parse(lookup, 3, many, &a, msg, sizeof msg), -1);
    char *badopt[] = {"icd10cm", "E11", "--limit", "3"};
    ck_assert_int_eq(cs_cli_args_parse(lookup, 4, badopt, &a, msg, sizeof msg), -1);
    ck_assert_str_eq(msg, "lookup: unknown option '--limit'");
    char *baddate[] = {"icd10cm", "E11", "--date", "2021-02-29"};
    ck_assert_int_eq(cs_cli_args_parse(lookup, 4, baddate, &a, msg, sizeof msg), -1);
    char *badinc[] = {"icd10cm", "E11", "--include", "notes,kids"};
    ck_assert_int_eq(cs_cli_args_parse(lookup, 4, badinc, &a, msg, sizeof msg), -1);
    char *novalue[] = {"icd10cm", "E11", "--release"};
    ck_assert_int_eq(cs_cli_args_parse(lookup, 3, novalue, &a, msg, sizeof msg), -1);
    char *help[] = {"icd10cm", "--help"};
    ck_assert_int_eq(cs_cli_args_parse(lookup, 2, help, &a, msg, sizeof msg), 1);

    const cs_cli_command_t *load = cs_cli_command_find("load");
    ck_assert(load->flags & CS_CLI_ADMIN);
    char *noeff[] = {"--release", "2025", "a.xml"};
    ck_assert_int_eq(cs_cli_args_parse(load, 3, noeff, &a, msg, sizeof msg), -1);
    ck_assert_ptr_nonnull(strstr(msg, "--effective"));
    const cs_cli_command_t *search = cs_cli_command_find("search");
    char *s[] = {"icd10cm", "diab", "--billable-only", "--limit", "5", "--", "--odd"};
    ck_assert_int_eq(cs_cli_args_parse(search, 7, s, &a, msg, sizeof msg), 0);
    ck_assert_int_eq(a.n_pos, 3);
    ck_assert_str_eq(a.pos[2], "--odd");
    ck_assert_str_eq(a.opt[CS_CLI_OPT_BILLABLE_ONLY], "1");
    free(a.pos);
    char *neg[] = {"icd10cm", "diab", "--limit", "-1"};
    ck_assert_int_eq(cs_cli_args_parse(search, 4, neg, &a, msg, sizeof msg), -1);

    ck_assert(cs_cli_is_date("2024-02-29"));
    ck_assert(!cs_cli_is_date("2023-02-29"));
    ck_assert(!cs_cli_is_date("2023-1-01"));
    ck_assert(!cs_cli_is_date("2023-04-31"));
    for (size_t i = 0; cs_cli_command_at(i) != NULL; i++) {
        const cs_cli_command_t *c = cs_cli_command_at(i);
        ck_assert_ptr_eq(cs_cli_command_find(c->name), c);
        ck_assert(c->max_args < 0 || c->max_args >= c->min_args);
    }
}
END_TEST

START_TEST(main_usage_errors)
{
    s_clean_env();
    const char *unknown[] = {"codeset", "frobnicate"};
    s_run_t r = s_cli(2, unknown);
    ck_assert_int_eq(r.rc, CS_CLI_EXIT_USAGE);
    ck_assert_ptr_nonnull(strstr(r.err, "codeset: unknown command 'frobnicate'\n"));
    ck_assert_str_eq(r.out, "");
    s_run_free(&r);

    const char *none[] = {"codeset", "--json"};
    r = s_cli(2, none);
    ck_assert_int_eq(r.rc, CS_CLI_EXIT_USAGE);
    s_run_free(&r);

    const char *badto[] = {"codeset", "--timeout", "0", "ping"};
    r = s_cli(4, badto);
    ck_assert_int_eq(r.rc, CS_CLI_EXIT_USAGE);
    s_run_free(&r);

    const char *admin[] = {"codeset", "plugins"};
    r = s_cli(2, admin);
    ck_assert_int_eq(r.rc, CS_CLI_EXIT_USAGE);
    ck_assert_ptr_nonnull(strstr(r.err, "--admin"));
    ck_assert_ptr_nonnull(strstr(r.err, "--db"));
    s_run_free(&r);

    const char *help[] = {"codeset", "--help"};
    r = s_cli(2, help);
    ck_assert_int_eq(r.rc, CS_CLI_EXIT_OK);
    ck_assert_ptr_nonnull(strstr(r.out, "validate"));
    ck_assert_ptr_nonnull(strstr(r.out, "Exit status: 0 ok; 1 error reply"));
    s_run_free(&r);

    const char *chelp[] = {"codeset", "validate", "--help"};
    r = s_cli(3, chelp);
    ck_assert_int_eq(r.rc, CS_CLI_EXIT_OK);
    ck_assert_ptr_nonnull(
        strstr(r.out, "usage: codeset [GLOBAL OPTIONS] validate SYSTEM CODE..."));
    s_run_free(&r);

    const char *version[] = {"codeset", "--version"};
    r = s_cli(2, version);
    ck_assert_int_eq(r.rc, CS_CLI_EXIT_OK);
    ck_assert_ptr_nonnull(strstr(r.out, "codeset 0."));
    s_run_free(&r);

    /* --json after the command is the global option, not an unknown one */
    const char *late_json[] = {"codeset", "lookup", "icd10cm", "--json"};
    r = s_cli(4, late_json);
    ck_assert_int_eq(r.rc, CS_CLI_EXIT_USAGE);
    ck_assert_ptr_null(strstr(r.err, "unknown option"));
    ck_assert_ptr_nonnull(strstr(r.err, "lookup"));
    s_run_free(&r);

    const char *missing[] = {"codeset", "--admin", "ipc:///nonexistent/admin.sock", "load",
                             "--release", "2025", "--effective", "2024-10-01",
                             "/nonexistent/file.xml"};
    r = s_cli(9, missing);
    ck_assert_int_eq(r.rc, CS_CLI_EXIT_USAGE);
    ck_assert_ptr_nonnull(strstr(r.err, "/nonexistent/file.xml"));
    s_run_free(&r);
}
END_TEST

/* Whether the file at path has a line that starts with prefix. */
static int s_has_line(const char *path, const char *prefix)
{
    FILE *fp = fopen(path, "r");
    ck_assert_msg(fp != NULL, "cannot open %s", path);
    char line[512];
    int found = 0;
    while (!found && fgets(line, sizeof line, fp)) {
        found = strncmp(line, prefix, strlen(prefix)) == 0;
    }
    fclose(fp);
    return found;
}

/* The CLI takes CS_VERSION from the public header, includes no core internals (cs_*.h), and
 * its headers do not include cli.h: cli.c and the command table share cli_types.h instead of
 * each other's headers. Run from the repository root, as every suite is. */
START_TEST(cli_layering)
{
    const char *version[] = {"codeset", "--version"};
    s_run_t r = s_cli(2, version);
    ck_assert_int_eq(r.rc, CS_CLI_EXIT_OK);
    ck_assert_str_eq(r.out, "codeset " CS_VERSION " (protocol 1)\n");
    s_run_free(&r);

    DIR *d = opendir("clients/codeset");
    ck_assert_msg(d != NULL, "run from the repository root: no clients/codeset");
    size_t files = 0;
    for (struct dirent *e = readdir(d); e; e = readdir(d)) {
        size_t n = strlen(e->d_name);
        int is_h = n > 2 && strcmp(e->d_name + n - 2, ".h") == 0;
        if (!is_h && !(n > 2 && strcmp(e->d_name + n - 2, ".c") == 0)) {
            continue;
        }
        char path[600];
        snprintf(path, sizeof path, "clients/codeset/%s", e->d_name);
        ck_assert_msg(!s_has_line(path, "#include \"cs_"), "%s includes a core header", path);
        ck_assert_msg(!is_h || !s_has_line(path, "#include \"cli.h\""), "%s includes cli.h",
                      path);
        files++;
    }
    closedir(d);
    ck_assert_uint_ge(files, 10);
}
END_TEST

START_TEST(reply_prescan)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    s_str(&pk, "ok");
    msgpack_pack_true(&pk);
    s_str(&pk, "a");
    msgpack_pack_array(&pk, 2);
    msgpack_pack_double(&pk, 1.0);
    msgpack_pack_bin(&pk, 3);
    msgpack_pack_bin_body(&pk, "xyz", 3);
    ck_assert_int_eq(cs_cli_conn_prescan(sb.data, sb.size, 8), 0);
    ck_assert_int_eq(cs_cli_conn_prescan(sb.data, sb.size - 1, 8), -1);
    ck_assert_int_eq(cs_cli_conn_prescan(sb.data, sb.size, 1), -1);
    msgpack_sbuffer_destroy(&sb);
    /* an array32 header declaring 2^32-1 elements in 5 bytes */
    static const unsigned char bomb[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
    ck_assert_int_eq(cs_cli_conn_prescan(bomb, sizeof bomb, 8), -1);
    static const unsigned char two[] = {0xc0, 0xc0};
    ck_assert_int_eq(cs_cli_conn_prescan(two, sizeof two, 8), -1);
    static const unsigned char bad[] = {0xc1};
    ck_assert_int_eq(cs_cli_conn_prescan(bad, sizeof bad, 8), -1);
}
END_TEST

/* ---- plumbing against a fake ROUTER ---------------------------------------------------- */

#define S_MAX_EXCHANGES 8

/* A fake broker: answers each request with the next canned reply, keeping the bodies. */
typedef struct s_fake {
    void *ctx;                                /* context of the ROUTER */
    void *router;                             /* bound ROUTER, used only by the thread */
    char endpoint[512];                       /* ipc:// endpoint in the temp dir */
    msgpack_sbuffer replies[S_MAX_EXCHANGES]; /* canned replies, in order */
    int n_replies;                            /* canned replies to give */
    char *requests[S_MAX_EXCHANGES];          /* bodies received (owned) */
    size_t request_len[S_MAX_EXCHANGES];      /* their sizes */
    int n_requests;                           /* bodies received */
    pthread_t thread;                         /* the server thread */
} s_fake_t;

static char s_dir[512];

static void s_fake_setup(void)
{
    s_clean_env();
    cs_test_tmpdir(s_dir, sizeof s_dir);
}

static void s_fake_teardown(void)
{
    cs_test_rmtree(s_dir);
}

static msgpack_packer s_fake_reply(s_fake_t *f)
{
    ck_assert_int_lt(f->n_replies, S_MAX_EXCHANGES);
    msgpack_sbuffer *sb = &f->replies[f->n_replies++];
    msgpack_sbuffer_init(sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    return pk;
}

static void *s_fake_main(void *arg)
{
    s_fake_t *f = arg;
    for (int i = 0; i < f->n_replies; i++) {
        zmq_msg_t frames[4];
        int n = 0;
        int more = 1;
        while (more && n < 4) {
            zmq_msg_init(&frames[n]);
            if (zmq_msg_recv(&frames[n], f->router, 0) < 0) {
                zmq_msg_close(&frames[n]);
                goto out;
            }
            more = zmq_msg_more(&frames[n]);
            n++;
        }
        zmq_msg_t *body = &frames[n - 1];
        f->request_len[i] = zmq_msg_size(body);
        f->requests[i] = malloc(f->request_len[i] + 1);
        memcpy(f->requests[i], zmq_msg_data(body), f->request_len[i]);
        f->n_requests++;
        for (int k = 0; k < n - 1; k++) {
            zmq_msg_send(&frames[k], f->router, ZMQ_SNDMORE);
        }
        zmq_send(f->router, f->replies[i].data, f->replies[i].size, 0);
        zmq_msg_close(body);
    }
out:
    return NULL;
}

static void s_fake_start(s_fake_t *f, const char *name)
{
    snprintf(f->endpoint, sizeof f->endpoint, "ipc://%s/%s", s_dir, name);
    f->ctx = zmq_ctx_new();
    f->router = zmq_socket(f->ctx, ZMQ_ROUTER);
    int timeout = 5000;
    int linger = 0;
    zmq_setsockopt(f->router, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt(f->router, ZMQ_LINGER, &linger, sizeof linger);
    ck_assert_int_eq(zmq_bind(f->router, f->endpoint), 0);
    ck_assert_int_eq(pthread_create(&f->thread, NULL, s_fake_main, f), 0);
}

static void s_fake_stop(s_fake_t *f)
{
    pthread_join(f->thread, NULL);
    zmq_close(f->router);
    zmq_ctx_term(f->ctx);
    for (int i = 0; i < f->n_replies; i++) {
        msgpack_sbuffer_destroy(&f->replies[i]);
    }
}

/* Free the captured requests (after the checks on them). */
static void s_fake_free(s_fake_t *f)
{
    for (int i = 0; i < f->n_requests; i++) {
        free(f->requests[i]);
    }
    f->n_requests = 0;
}

/* The i-th request the fake received, as JSON (the caller frees it). */
static char *s_fake_request_json(const s_fake_t *f, int i)
{
    ck_assert_int_lt(i, f->n_requests);
    msgpack_sbuffer sb = {f->request_len[i], f->requests[i], f->request_len[i]};
    return s_json_of(&sb);
}

START_TEST(plumbing_lookup)
{
    s_fake_t f;
    memset(&f, 0, sizeof f);
    for (int round = 0; round < 2; round++) {
        msgpack_packer pk = s_fake_reply(&f);
        msgpack_pack_map(&pk, 11);
        cs_cli_pack_kv_str(&pk, "code", "E11.9");
        s_str(&pk, "ok");
        msgpack_pack_true(&pk);
        s_str(&pk, "found");
        msgpack_pack_true(&pk);
        cs_cli_pack_kv_str(&pk, "system", "icd10cm");
        cs_cli_pack_kv_str(&pk, "release", "2025");
        cs_cli_pack_kv_str(&pk, "kind", "code");
        s_str(&pk, "billable");
        msgpack_pack_true(&pk);
        cs_cli_pack_kv_str(&pk, "title", "Type 2 diabetes mellitus without complications");
        cs_cli_pack_kv_str(&pk, "parent", "E11");
        s_str(&pk, "notes");
        msgpack_pack_map(&pk, 1);
        s_str(&pk, "excludes1");
        msgpack_pack_array(&pk, 1);
        s_str(&pk, "gestational diabetes (O24.4-)");
        s_str(&pk, "children");
        msgpack_pack_array(&pk, 0);
    }
    s_fake_start(&f, "query.sock");
    const char *argv[] = {"codeset", "--connect", f.endpoint, "--timeout", "5000",
                          "lookup", "icd10cm", "e119", "--include", "notes,children"};
    s_run_t r = s_cli(10, argv);
    ck_assert_msg(r.rc == CS_CLI_EXIT_OK, "rc %d, stderr: %s", r.rc, r.err);
    ck_assert_str_eq(r.err, "");
    ck_assert_ptr_nonnull(strstr(r.out, "code:      E11.9\n"));
    ck_assert_ptr_nonnull(strstr(r.out, "billable:  yes\n"));
    ck_assert_ptr_nonnull(strstr(r.out, "parent:    E11\n"));
    ck_assert_ptr_nonnull(strstr(r.out, "notes:\n  excludes1:\n    - gestational diabetes"));
    ck_assert_ptr_nonnull(strstr(r.out, "children (0):\n"));
    s_run_free(&r);

    const char *jargv[] = {"codeset", "--json", "--connect", f.endpoint, "lookup", "icd10cm",
                           "E11.9", "--release", "2025"};
    r = s_cli(9, jargv);
    ck_assert_int_eq(r.rc, CS_CLI_EXIT_OK);
    ck_assert_str_eq(r.out, "{\"code\":\"E11.9\",\"ok\":true,\"found\":true,"
                            "\"system\":\"icd10cm\",\"release\":\"2025\",\"kind\":\"code\","
                            "\"billable\":true,\"title\":\"Type 2 diabetes mellitus without "
                            "complications\",\"parent\":\"E11\",\"notes\":{\"excludes1\":"
                            "[\"gestational diabetes (O24.4-)\"]},\"children\":[]}\n");
    s_run_free(&r);
    s_fake_stop(&f);

    ck_assert_int_eq(f.n_requests, 2);
    char *req = s_fake_request_json(&f, 0);
    ck_assert_str_eq(req, "{\"op\":\"lookup\",\"system\":\"icd10cm\",\"code\":\"e119\","
                          "\"include\":[\"notes\",\"children\"]}");
    free(req);
    req = s_fake_request_json(&f, 1);
    ck_assert_str_eq(req, "{\"op\":\"lookup\",\"system\":\"icd10cm\",\"code\":\"E11.9\","
                          "\"release\":\"2025\"}");
    free(req);
    s_fake_free(&f);
}
END_TEST

START_TEST(plumbing_validate)
{
    s_fake_t f;
    memset(&f, 0, sizeof f);
    msgpack_packer pk = s_fake_reply(&f);
    msgpack_pack_map(&pk, 3);
    s_str(&pk, "ok");
    msgpack_pack_true(&pk);
    cs_cli_pack_kv_str(&pk, "release", "2021");
    s_str(&pk, "results");
    msgpack_pack_array(&pk, 3);
    msgpack_pack_map(&pk, 5);
    cs_cli_pack_kv_str(&pk, "input", "e119");
    cs_cli_pack_kv_str(&pk, "code", "E11.9");
    s_str(&pk, "valid");
    msgpack_pack_true(&pk);
    s_str(&pk, "billable");
    msgpack_pack_true(&pk);
    cs_cli_pack_kv_str(&pk, "title", "Type 2 diabetes mellitus without complications");
    msgpack_pack_map(&pk, 6);
    cs_cli_pack_kv_str(&pk, "input", "E11");
    cs_cli_pack_kv_str(&pk, "code", "E11");
    s_str(&pk, "valid");
    msgpack_pack_false(&pk);
    cs_cli_pack_kv_str(&pk, "reason", "not_billable");
    cs_cli_pack_kv_str(&pk, "message", "E11 is a category; use a code under it");
    s_str(&pk, "hint");
    msgpack_pack_array(&pk, 2);
    s_str(&pk, "E11.9");
    s_str(&pk, "E11.65");
    msgpack_pack_map(&pk, 7);
    cs_cli_pack_kv_str(&pk, "input", "A00.00");
    cs_cli_pack_kv_str(&pk, "code", "A00.00");
    s_str(&pk, "valid");
    msgpack_pack_false(&pk);
    cs_cli_pack_kv_str(&pk, "reason", "not_effective");
    cs_cli_pack_kv_str(&pk, "message", "not in release 2021");
    s_str(&pk, "valid_in");
    msgpack_pack_array(&pk, 1);
    s_str(&pk, "2019");
    s_str(&pk, "replaced_by");
    msgpack_pack_array(&pk, 1);
    s_str(&pk, "A00.0");
    s_fake_start(&f, "query.sock");
    const char *argv[] = {"codeset", "--connect", f.endpoint, "validate", "icd10cm",
                          "e119", "E11", "A00.00", "--date", "2021-03-01"};
    s_run_t r = s_cli(10, argv);
    s_fake_stop(&f);
    ck_assert_msg(r.rc == CS_CLI_EXIT_INVALID, "rc %d, stderr: %s", r.rc, r.err);
    ck_assert_str_eq(r.out,
                     "input   code    status         title / message\n"
                     "e119    E11.9   ok             Type 2 diabetes mellitus without "
                     "complications\n"
                     "E11     E11     not_billable   E11 is a category; use a code under it\n"
                     "    hint: E11.9, E11.65\n"
                     "A00.00  A00.00  not_effective  not in release 2021\n"
                     "    valid in: 2019\n"
                     "    replaced by: A00.0\n"
                     "2 of 3 invalid (release 2021)\n");
    s_run_free(&r);
    ck_assert_int_eq(f.n_requests, 1);
    char *req = s_fake_request_json(&f, 0);
    ck_assert_str_eq(req, "{\"op\":\"validate\",\"system\":\"icd10cm\","
                          "\"codes\":[\"e119\",\"E11\",\"A00.00\"],\"date\":\"2021-03-01\"}");
    free(req);
    s_fake_free(&f);
}
END_TEST

START_TEST(plumbing_error_reply)
{
    s_fake_t f;
    memset(&f, 0, sizeof f);
    msgpack_packer pk = s_fake_reply(&f);
    msgpack_pack_map(&pk, 2);
    s_str(&pk, "ok");
    msgpack_pack_false(&pk);
    s_str(&pk, "error");
    msgpack_pack_map(&pk, 2);
    cs_cli_pack_kv_str(&pk, "code", "unknown_system");
    cs_cli_pack_kv_str(&pk, "message", "no system 'icd11' is loaded");
    s_fake_start(&f, "query.sock");
    const char *argv[] = {"codeset", "--connect", f.endpoint, "search", "icd11", "diab", "mel",
                          "--limit", "5"};
    s_run_t r = s_cli(9, argv);
    s_fake_stop(&f);
    ck_assert_int_eq(r.rc, CS_CLI_EXIT_ERROR);
    ck_assert_str_eq(r.err, "codeset: unknown_system: no system 'icd11' is loaded\n");
    s_run_free(&r);
    char *req = s_fake_request_json(&f, 0);
    ck_assert_str_eq(req, "{\"op\":\"search\",\"system\":\"icd11\",\"q\":\"diab mel\","
                          "\"limit\":5}");
    free(req);
    s_fake_free(&f);
}
END_TEST

START_TEST(plumbing_load)
{
    char file[600];
    snprintf(file, sizeof file, "%s/tabular.xml", s_dir);
    FILE *fp = fopen(file, "w");
    ck_assert_ptr_nonnull(fp);
    fputs("<ICD10CM.tabular/>\n", fp);
    fclose(fp);
    s_fake_t f;
    memset(&f, 0, sizeof f);
    msgpack_packer pk = s_fake_reply(&f);
    msgpack_pack_map(&pk, 2);
    s_str(&pk, "ok");
    msgpack_pack_true(&pk);
    cs_cli_pack_kv_str(&pk, "job", "j-1");
    pk = s_fake_reply(&f);
    msgpack_pack_map(&pk, 4);
    s_str(&pk, "ok");
    msgpack_pack_true(&pk);
    cs_cli_pack_kv_str(&pk, "state", "running");
    s_str(&pk, "bytes_done");
    msgpack_pack_int(&pk, 10);
    s_str(&pk, "bytes_total");
    msgpack_pack_int(&pk, 20);
    pk = s_fake_reply(&f);
    msgpack_pack_map(&pk, 3);
    s_str(&pk, "ok");
    msgpack_pack_true(&pk);
    cs_cli_pack_kv_str(&pk, "state", "done");
    s_str(&pk, "records");
    msgpack_pack_int(&pk, 42);
    s_fake_start(&f, "admin.sock");
    /* --db DIR gives the admin endpoint ipc://DIR/admin.sock */
    const char *argv[] = {"codeset", "--db", s_dir, "load", "--release", "2025",
                          "--effective", "2024-10-01", file};
    s_run_t r = s_cli(9, argv);
    s_fake_stop(&f);
    ck_assert_msg(r.rc == CS_CLI_EXIT_OK, "rc %d, stderr: %s", r.rc, r.err);
    ck_assert_msg(strncmp(r.out, "loaded 2025: 42 records in ", 27) == 0, "out: %s", r.out);
    s_run_free(&r);
    ck_assert_int_eq(f.n_requests, 3);
    char *req = s_fake_request_json(&f, 0);
    char want[1400];
    snprintf(want, sizeof want,
             "{\"op\":\"load\",\"files\":[\"%s\"],\"release\":\"2025\","
             "\"effective_from\":\"2024-10-01\"}",
             file);
    ck_assert_str_eq(req, want);
    free(req);
    req = s_fake_request_json(&f, 2);
    ck_assert_str_eq(req, "{\"op\":\"job\",\"job\":\"j-1\"}");
    free(req);
    s_fake_free(&f);
}
END_TEST

START_TEST(plumbing_load_failed)
{
    char file[600];
    snprintf(file, sizeof file, "%s/bad.xml", s_dir);
    FILE *fp = fopen(file, "w");
    ck_assert_ptr_nonnull(fp);
    fclose(fp);
    s_fake_t f;
    memset(&f, 0, sizeof f);
    msgpack_packer pk = s_fake_reply(&f);
    msgpack_pack_map(&pk, 2);
    s_str(&pk, "ok");
    msgpack_pack_true(&pk);
    cs_cli_pack_kv_str(&pk, "job", "j-2");
    pk = s_fake_reply(&f);
    msgpack_pack_map(&pk, 3);
    s_str(&pk, "ok");
    msgpack_pack_true(&pk);
    cs_cli_pack_kv_str(&pk, "state", "failed");
    s_str(&pk, "error");
    msgpack_pack_map(&pk, 4);
    cs_cli_pack_kv_str(&pk, "code", "load_failed");
    cs_cli_pack_kv_str(&pk, "message", "<diag> without <name>");
    cs_cli_pack_kv_str(&pk, "file", "bad.xml");
    s_str(&pk, "line");
    msgpack_pack_int(&pk, 1841);
    s_fake_start(&f, "admin.sock");
    char admin[600];
    snprintf(admin, sizeof admin, "ipc://%s/admin.sock", s_dir);
    const char *argv[] = {"codeset", "--admin", admin, "load", "--loader", "icd10cm-tabular",
                          "--release", "2025", "--effective", "2024-10-01", file};
    s_run_t r = s_cli(11, argv);
    s_fake_stop(&f);
    ck_assert_int_eq(r.rc, CS_CLI_EXIT_ERROR);
    ck_assert_str_eq(r.err, "codeset: load_failed: <diag> without <name> (bad.xml:1841)\n");
    s_run_free(&r);
    char *req = s_fake_request_json(&f, 0);
    ck_assert_ptr_nonnull(strstr(req, "\"loader\":\"icd10cm-tabular\""));
    free(req);
    s_fake_free(&f);
}
END_TEST

START_TEST(plumbing_timeout)
{
    char ep[600];
    snprintf(ep, sizeof ep, "ipc://%s/nobody.sock", s_dir);
    const char *argv[] = {"codeset", "--connect", ep, "--timeout", "200", "ping"};
    s_run_t r = s_cli(6, argv);
    ck_assert_int_eq(r.rc, CS_CLI_EXIT_UNREACHABLE);
    char want[700];
    snprintf(want, sizeof want, "codeset: no reply from %s within 200 ms (is codesetd running?)\n",
             ep);
    ck_assert_str_eq(r.err, want);
    s_run_free(&r);
}
END_TEST

Suite *cs_cli_suite(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("json");
    tcase_add_test(tc, json_nested_and_scalars);
    tcase_add_test(tc, json_unicode);
    suite_add_tcase(s, tc);
    tc = tcase_create("table");
    tcase_add_test(tc, table_alignment);
    tcase_add_test(tc, progress_format);
    tcase_add_test(tc, render_kv);
    suite_add_tcase(s, tc);
    tc = tcase_create("args");
    tcase_add_test(tc, args_parse);
    tcase_add_test(tc, main_usage_errors);
    tcase_add_test(tc, reply_prescan);
    tcase_add_test(tc, cli_layering);
    suite_add_tcase(s, tc);
    tc = tcase_create("plumbing");
    tcase_add_checked_fixture(tc, s_fake_setup, s_fake_teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, plumbing_lookup);
    tcase_add_test(tc, plumbing_validate);
    tcase_add_test(tc, plumbing_error_reply);
    tcase_add_test(tc, plumbing_load);
    tcase_add_test(tc, plumbing_load_failed);
    tcase_add_test(tc, plumbing_timeout);
    suite_add_tcase(s, tc);
    return s;
}
