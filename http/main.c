/* main.c: codeset-http, the HTTP facade (man/codeset-http.8): options, start, wait for
 * SIGTERM/SIGINT, stop. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hs_server.h"

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: codeset-http --db DIR [--listen HOST:PORT]... [--plugins DIR] [--threads N]\n"
            "                    [--assets DIR] [--system-uri NAME=URI]... [--max-body BYTES]\n"
            "                    [--max-connections N] [--timeout SECONDS]\n"
            "  --db DIR              the database a codesetd serves (opened read-only)\n"
            "  --listen HOST:PORT    address to serve (default " HS_DEFAULT_LISTEN
            "; repeatable; port 0: any free)\n"
            "  --plugins DIR         plugin directory (default: beside the program)\n"
            "  --threads N           threads per address (default: the CPUs, at most 16)\n"
            "  --assets DIR          serve the web page from DIR, not the copy compiled in\n"
            "  --system-uri NAME=URI a FHIR URI for a plugin's code system (repeatable)\n"
            "  --max-body BYTES      largest request body (default %u)\n"
            "  --max-connections N   connections per address (default %u)\n"
            "  --timeout SECONDS     an idle connection is closed after it (default %u)\n",
            HS_DEFAULT_MAX_BODY, HS_DEFAULT_MAX_CONNECTIONS, HS_DEFAULT_TIMEOUT);
}

/* A positive number in [1, max]; -1 when arg is not one. */
static long long s_number(const char *opt, const char *arg, long long max)
{
    char *end;
    errno = 0;
    long long v = strtoll(arg, &end, 10);
    if (errno || end == arg || *end || v < 1 || v > max) {
        fprintf(stderr, "codeset-http: --%s %s: expected a number from 1 to %lld\n", opt, arg,
                max);
        return -1;
    }
    return v;
}

/* The plugins built beside the program (build/bin -> build/plugins), else the installed ones
 * (PREFIX/bin -> PREFIX/lib/codeset/plugins), as codesetd finds them. */
static void s_default_plugins(char *out, size_t cap)
{
    char exe[PATH_MAX - 64];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *slash = n > 0 ? (exe[n] = '\0', strrchr(exe, '/')) : NULL;
    if (slash == NULL) {
        snprintf(out, cap, "/usr/local/lib/codeset/plugins");
        return;
    }
    *slash = '\0';
    snprintf(out, cap, "%s/../plugins", exe);
    if (access(out, F_OK) != 0) {
        snprintf(out, cap, "%s/../lib/codeset/plugins", exe);
    }
}

static int s_default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 16 ? 16 : (int)n;
}

/* One option that takes a value; 0, or 2 (usage error). */
static int s_option(hs_conf_t *c, int opt, const char *arg)
{
    long long v;
    switch (opt) {
    case 'd': c->db = arg; return 0;
    case 'p': c->plugins = arg; return 0;
    case 'a': c->assets = arg; return 0;
    case 'l':
        if (c->n_listen >= HS_MAX_LISTEN) {
            fprintf(stderr, "codeset-http: at most %d --listen\n", HS_MAX_LISTEN);
            return 2;
        }
        c->listen[c->n_listen++] = arg;
        return 0;
    case 'u': {
        const char *eq = strchr(arg, '=');
        if (eq == NULL || eq == arg || eq[1] == '\0' || c->n_uris >= HS_MAX_SYSTEM_URIS) {
            fprintf(stderr, "codeset-http: --system-uri %s: expected NAME=URI (at most %d)\n",
                    arg, HS_MAX_SYSTEM_URIS);
            return 2;
        }
        c->uri_names[c->n_uris] = strndup(arg, (size_t)(eq - arg));
        c->uri_values[c->n_uris++] = eq + 1;
        return 0;
    }
    case 't': v = s_number("threads", arg, 256); c->threads = (unsigned)v; break;
    case 'b': v = s_number("max-body", arg, 1ll << 30); c->max_body = (size_t)v; break;
    case 'c':
        v = s_number("max-connections", arg, 1000000);
        c->max_connections = (unsigned)v;
        break;
    case 'o': v = s_number("timeout", arg, 86400); c->timeout = (unsigned)v; break;
    default: return 2;
    }
    return v < 0 ? 2 : 0;
}

/* Parse argv into c; 0, 1 (--help: exit 0) or 2 (usage error). */
static int s_parse(int argc, char **argv, hs_conf_t *c)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},
        {"listen", required_argument, NULL, 'l'},
        {"plugins", required_argument, NULL, 'p'},
        {"threads", required_argument, NULL, 't'},
        {"assets", required_argument, NULL, 'a'},
        {"system-uri", required_argument, NULL, 'u'},
        {"max-body", required_argument, NULL, 'b'},
        {"max-connections", required_argument, NULL, 'c'},
        {"timeout", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (opt == 'h') {
            s_usage(stdout);
            return 1;
        }
        if (opt == '?' || s_option(c, opt, optarg) != 0) {
            s_usage(stderr);
            return 2;
        }
    }
    if (optind < argc || c->db == NULL) {
        fprintf(stderr, "codeset-http: %s\n",
                optind < argc ? "unexpected arguments" : "--db DIR is required");
        s_usage(stderr);
        return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static char plugins[PATH_MAX];
    hs_conf_t conf = {.threads = (unsigned)s_default_threads(),
                      .max_body = HS_DEFAULT_MAX_BODY,
                      .max_connections = HS_DEFAULT_MAX_CONNECTIONS,
                      .timeout = HS_DEFAULT_TIMEOUT};
    int rc = s_parse(argc, argv, &conf);
    if (rc != 0) {
        return rc == 1 ? 0 : 2;
    }
    if (conf.n_listen == 0) {
        conf.listen[conf.n_listen++] = HS_DEFAULT_LISTEN;
    }
    if (conf.plugins == NULL) {
        s_default_plugins(plugins, sizeof plugins);
        conf.plugins = plugins;
    }
    /* the pool's threads inherit this mask: the signals reach sigwait below only */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    cs_error_t err;
    cs_error_clear(&err);
    hs_server_t *s = hs_server_start(&conf, &err);
    if (s == NULL) {
        fprintf(stderr, "codeset-http: %s\n", err.msg);
        return 2;
    }
    fprintf(stderr, "codeset-http: serving %s (%u threads per address)\n", conf.db,
            conf.threads);
    int sig = 0;
    sigwait(&set, &sig);
    fprintf(stderr, "codeset-http: %s: stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    hs_server_stop(&s);
    for (int i = 0; i < conf.n_uris; i++) {
        free((char *)conf.uri_names[i]);
    }
    fprintf(stderr, "codeset-http: stopped\n");
    return 0;
}
