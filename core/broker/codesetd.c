/* codesetd: the broker's main. Parse options, then hand over to cs_broker_run. */
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/cs_broker.h"
#include "engine/cs_query.h"
#include "util/cs_log.h"
#include "wire/cs_curve.h"
#include "wire/cs_proto.h"

#define CS_EXIT_USAGE 2

static volatile sig_atomic_t s_stop;

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

#define S_STR(x) #x
#define S_XSTR(x) S_STR(x)

static void s_usage(FILE *f)
{
    fprintf(f,
            "usage: codesetd --db DIR [--listen EP]... [--admin EP] [--plugins DIR]\n"
            "                [--workers N] [--max-msg BYTES] [--map-size BYTES]\n"
            "                [--max-codes N] [--max-search-limit N] [--index-mib N]\n"
            "                [--max-peer-bytes BYTES] [--max-connections N]\n"
            "                [--spin-us N] [--io-threads N] [--io-affinity any|same|apart]\n"
            "                [--front direct|zmq] [--handshake-ms N]\n"
            "                [--curve-secret FILE [--curve-clients PATH]]\n"
            "                [--log-level error|warning|notice|info|debug]\n"
            "       codesetd --curve-keygen FILE\n"
            "  --db DIR         LMDB directory (created if missing)\n"
            "  --listen EP      query endpoint, repeatable (default tcp://127.0.0.1:5555)\n"
            "  --admin EP       admin endpoint (default ipc://DIR/admin.sock, mode 0600)\n"
            "  --plugins DIR    plugin directory (default: beside the program)\n"
            "  --workers N      threads for slow ops: search, diff, crosswalk, big validates\n"
            "                   (default: one per core; 0: answer them in the main thread)\n"
            "  --max-msg BYTES  largest request accepted (default 4194304)\n"
            "  --map-size BYTES initial LMDB map size (default 1 GiB; grows on demand)\n"
            "  --max-codes N    codes in one validate request (default and most 10000)\n"
            "  --max-search-limit N  search results per request (default and most 500)\n"
            "  --index-mib N    memory for in-memory code indexes, which answer lookups and\n"
            "                   validations without walking the B-tree (default 64; 0: off)\n"
            "  --max-peer-bytes BYTES  unread replies and waiting requests one connection\n"
            "                   may hold; past it its requests are answered busy (64 MiB)\n"
            "  --max-connections N  query connections at once (default: the descriptor\n"
            "                   limit, raised to its hard limit at start, less 256)\n"
            "  --spin-us N      after a lone client's request, look for its next at most\n"
            "                   this long before sleeping: twice its last pause, at least\n"
            "                   " S_XSTR(CS_BROKER_SPIN_MIN_US) " (default "
            S_XSTR(CS_BROKER_SPIN_US) "; 0: sleep at once)\n"
            "  --io-threads N   ZeroMQ I/O threads (default 1)\n"
            "  --io-affinity any|same|apart  the I/O threads on the serving thread's CPU\n"
            "                   (both pinned), off it, or where the scheduler puts them\n"
            "  --front direct|zmq  who serves the tcp:// and ipc:// query endpoints: the\n"
            "                   serving thread itself (default; not with --curve-secret),\n"
            "                   or ZeroMQ's I/O thread\n"
            "  --handshake-ms N time a direct-front connection has for its ZMTP handshake\n"
            "                   (default 30000)\n"
            "  --curve-secret FILE   CURVE on every tcp endpoint with this secret key\n"
            "                   (a file of mode 0600); ipc endpoints keep file permissions\n"
            "  --curve-clients PATH  only these client public keys may connect over tcp\n"
            "                   (a file, one key a line, or a directory of such files)\n"
            "  --curve-keygen FILE   write a new key pair to FILE (0600) and FILE.pub, exit\n");
}

static int s_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int s_fail(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "codesetd: %s\n", line);
    return CS_EXIT_USAGE;
}

static int s_parse_size(const char *s, long long min, long long max, long long *out)
{
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || v < min || v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

/* The plugins built beside the program (build/bin -> build/plugins), else the installed
 * location (PREFIX/bin -> PREFIX/lib/codeset/plugins). */
static void s_default_plugins(char *out, size_t cap)
{
    char exe[PATH_MAX - 64];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        snprintf(out, cap, "/usr/local/lib/codeset/plugins");
        return;
    }
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash) {
        *slash = '\0';
    }
    struct stat sb;
    snprintf(out, cap, "%s/../plugins", exe);
    if (stat(out, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        return;
    }
    snprintf(out, cap, "%s/../lib/codeset/plugins", exe);
}

/* The numeric options: their bounds, and how --help and errors say them. */
typedef struct s_num_opt {
    int id;          /* getopt's value */
    const char *name;
    long long min, max;
    const char *range; /* "a number from 0 to 64" */
} s_num_opt_t;

static const s_num_opt_t s_num_opts[] = {
    {'w', "workers", 0, 64, "a number from 0 to 64"},
    {'m', "max-msg", 1024, 1LL << 30, "bytes from 1024 to 1073741824"},
    {'M', "map-size", 1 << 20, 1LL << 40, "bytes from 1048576 to 2^40"},
    {'C', "max-codes", 1, CS_PROTO_MAX_CODES,
     "a number from 1 to " S_XSTR(CS_PROTO_MAX_CODES)},
    {'S', "max-search-limit", 1, CS_PROTO_MAX_LIMIT,
     "a number from 1 to " S_XSTR(CS_PROTO_MAX_LIMIT)},
    {'I', "index-mib", 0, 1 << 20, "a number from 0 to 1048576"},
    {'P', "max-peer-bytes", 1 << 16, 1LL << 40, "bytes from 65536 to 2^40"},
    {'N', "max-connections", 1, 1 << 24, "a number from 1 to 16777216"},
    {'s', "spin-us", 0, 10000, "microseconds from 0 to 10000"},
    {'i', "io-threads", 1, 16, "a number from 1 to 16"},
    {'H', "handshake-ms", 1, 3600000, "milliseconds from 1 to 3600000"},
};

/* Store numeric option id's value v in cfg. */
static void s_set_num(cs_broker_config_t *cfg, int id, long long v)
{
    switch (id) {
    case 'w': cfg->workers = (int)v; break;
    case 'm': cfg->max_msg = v; break;
    case 'M': cfg->map_size = (size_t)v; break;
    case 'C': cfg->max_codes = (uint32_t)v; break;
    case 'S': cfg->max_search_limit = (uint32_t)v; break;
    case 'I': cfg->index_mib = v == 0 ? -1 : (int)v; break;
    case 'P': cfg->max_peer_bytes = (uint64_t)v; break;
    case 's': cfg->spin_us = v == 0 ? -1 : (int)v; break;
    case 'i': cfg->io_threads = (int)v; break;
    case 'H': cfg->handshake_ms = (int)v; break;
    default: cfg->max_connections = (size_t)v; break;
    }
}

/* A numeric option: -1 when it was one and set, an exit status when it was one and bad, 0
 * when id is not a numeric option. */
static int s_num_option(cs_broker_config_t *cfg, int id, const char *arg)
{
    for (size_t i = 0; i < sizeof s_num_opts / sizeof s_num_opts[0]; i++) {
        const s_num_opt_t *o = &s_num_opts[i];
        long long v;
        if (o->id != id) {
            continue;
        }
        if (s_parse_size(arg, o->min, o->max, &v) != 0) {
            return s_fail("--%s takes %s, not '%s'", o->name, o->range, arg);
        }
        s_set_num(cfg, id, v);
        return -1;
    }
    return 0;
}

/* The options that are not numbers: -1 when set and the start goes on, else the exit
 * status (0 for --help, --version and --curve-keygen). */
static int s_other_option(cs_broker_config_t *cfg, int c, const char *arg, char *admin,
                          size_t admin_cap, char *plugins, size_t plugins_cap,
                          const char *shown)
{
    switch (c) {
    case 'd': cfg->db_dir = arg; return -1;
    case 'l':
        if (cfg->n_listen == CS_BROKER_MAX_LISTEN) {
            return s_fail("at most %s --listen endpoints", "8");
        }
        cfg->listen[cfg->n_listen++] = arg;
        return -1;
    case 'a': snprintf(admin, admin_cap, "%s", arg); return -1;
    case 'p': snprintf(plugins, plugins_cap, "%s", arg); return -1;
    case 'K': cfg->curve_secret = arg; return -1;
    case 'f':
        if (strcmp(arg, "any") && strcmp(arg, "same") && strcmp(arg, "apart")) {
            return s_fail("--io-affinity is any, same or apart, not '%s'", arg);
        }
        cfg->io_affinity = arg[0] == 'a' && arg[1] == 'n' ? CS_BROKER_IO_ANY
                           : arg[0] == 's'               ? CS_BROKER_IO_SAME
                                                         : CS_BROKER_IO_APART;
        return -1;
    case 'A': cfg->curve_clients = arg; return -1;
    case 'F':
        if (strcmp(arg, "zmq") && strcmp(arg, "direct")) {
            return s_fail("--front is direct or zmq, not '%s'", arg);
        }
        cfg->front = arg[0] == 'd' ? CS_BROKER_FRONT_DIRECT : CS_BROKER_FRONT_ZMQ;
        return -1;
    case 'G': {
        cs_error_t kerr;
        cs_error_clear(&kerr);
        if (cs_curve_keygen(arg, &kerr) != CS_OK) {
            return s_fail("%s", kerr.msg);
        }
        printf("secret key in %s (keep it 0600), public key in %s.pub\n", arg, arg);
        return 0;
    }
    case 'L': {
        int level = cs_log_parse_level(arg);
        if (level < 0) {
            return s_fail("--log-level is one of error, warning, notice, info, debug, "
                          "not '%s'", arg);
        }
        cs_log_set_level(level);
        return -1;
    }
    case 'h': s_usage(stdout); return 0;
    case 'V': printf("codesetd %s\n", CS_VERSION); return 0;
    default: return s_fail("unknown or incomplete option '%s' (see --help)", shown);
    }
}

/* Parse the command line into cfg (admin and plugins hold the endpoints it points to).
 * -1 when the broker should start, else the exit status. */
static int s_parse(int argc, char **argv, cs_broker_config_t *cfg, char *admin,
                   size_t admin_cap, char *plugins, size_t plugins_cap)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},
        {"listen", required_argument, NULL, 'l'},
        {"admin", required_argument, NULL, 'a'},
        {"plugins", required_argument, NULL, 'p'},
        {"workers", required_argument, NULL, 'w'},
        {"max-msg", required_argument, NULL, 'm'},
        {"map-size", required_argument, NULL, 'M'},
        {"log-level", required_argument, NULL, 'L'},
        {"max-codes", required_argument, NULL, 'C'},
        {"max-search-limit", required_argument, NULL, 'S'},
        {"index-mib", required_argument, NULL, 'I'},
        {"max-peer-bytes", required_argument, NULL, 'P'},
        {"max-connections", required_argument, NULL, 'N'},
        {"spin-us", required_argument, NULL, 's'},
        {"io-threads", required_argument, NULL, 'i'},
        {"io-affinity", required_argument, NULL, 'f'},
        {"front", required_argument, NULL, 'F'},
        {"handshake-ms", required_argument, NULL, 'H'},
        {"curve-secret", required_argument, NULL, 'K'},
        {"curve-clients", required_argument, NULL, 'A'},
        {"curve-keygen", required_argument, NULL, 'G'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        int rc = s_num_option(cfg, c, optarg);
        if (rc == 0) {
            rc = s_other_option(cfg, c, optarg, admin, admin_cap, plugins, plugins_cap,
                                argv[optind - 1] ? argv[optind - 1] : "?");
        }
        if (rc != -1) {
            return rc;
        }
    }
    if (optind < argc) {
        return s_fail("unexpected argument '%s' (see --help)", argv[optind]);
    }
    if (!cfg->db_dir || !*cfg->db_dir) {
        return s_fail("%s", "--db DIR is required (see --help)");
    }
    if (cfg->n_listen == 0) {
        cfg->listen[cfg->n_listen++] = "tcp://127.0.0.1:5555";
    }
    if (!admin[0]) {
        snprintf(admin, admin_cap, "ipc://%s/admin.sock", cfg->db_dir);
    }
    if (!plugins[0]) {
        s_default_plugins(plugins, plugins_cap);
    }
    cfg->admin = admin;
    cfg->plugin_dir = plugins;
    return -1;
}

/* Blocks of at least this size are mapped on their own and unmapped when freed. glibc's
 * default threshold rises to the largest block freed so far (up to 32 MiB): after a load,
 * LMDB's buffer for a code index image (16 MiB for FY2021) and the search builder's came from
 * the load thread's heap and stayed in the broker's anonymous memory (13 MiB after two
 * FY2021 loads, malloc_trim notwithstanding). */
#define S_MMAP_THRESHOLD (1024 * 1024)

int main(int argc, char **argv)
{
    (void)mallopt(M_MMAP_THRESHOLD, S_MMAP_THRESHOLD); /* advice: without it, as before */
    cs_broker_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.max_msg = 4 * 1024 * 1024;
    cfg.max_codes = CS_PROTO_MAX_CODES;
    cfg.max_search_limit = CS_PROTO_MAX_LIMIT;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    cfg.workers = cores < 1 ? 1 : cores > 64 ? 64 : (int)cores;
    static char admin[PATH_MAX + 16], plugins[PATH_MAX];
    int status = s_parse(argc, argv, &cfg, admin, sizeof admin, plugins, sizeof plugins);
    if (status != -1) {
        return status;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    cs_error_t err;
    cs_error_clear(&err);
    int rc = cs_broker_run(&cfg, &s_stop, &err);
    if (rc == CS_ETERM) {
        /* A load thread is still running: no exit handler may run under it. */
        CS_ERROR("codesetd stopped: %s", err.msg);
        _exit(1);
    }
    if (rc != CS_OK) {
        fprintf(stderr, "codesetd: %s\n", err.msg);
        return CS_EXIT_USAGE;
    }
    CS_NOTICE("codesetd stopped");
    return 0;
}
