/* cs_curve.c: CURVE key files and the ZAP handler of codesetd (see cs_curve.h). */
#include "wire/cs_curve.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "util/cs_log.h"

#define S_CURVE_MAGIC 0x43535643u /* "CSVC" */
#define S_KEY_BIN 32
#define S_MAX_CLIENTS 100000      /* a list longer than this is not a hand-kept list */
#define S_FILE_MAX (1 << 20)      /* largest key or list file read */

struct cs_curve {
    uint32_t magic;                     /* S_CURVE_MAGIC while alive */
    char secret[CS_CURVE_Z85_LEN + 1];  /* the broker's secret key, Z85 */
    char public[CS_CURVE_Z85_LEN + 1];  /* and its public key */
    uint8_t (*clients)[S_KEY_BIN];      /* allowed client public keys, binary */
    size_t n_clients;                   /* entries used */
    size_t cap_clients;                 /* entries allocated */
    void *zap;                          /* REP socket of the ZAP handler, or NULL */
};

int cs_curve_applies(const char *endpoint)
{
    return strncmp(endpoint, "ipc://", 6) != 0 && strncmp(endpoint, "inproc://", 9) != 0;
}

static int s_is_z85(const char *s, size_t n)
{
    static const char z85[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                              ".-:+=^!/*?&<>()[]{}@%$#";
    if (n != CS_CURVE_Z85_LEN) {
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\0' || !strchr(z85, s[i])) {
            return 0;
        }
    }
    uint8_t bin[S_KEY_BIN];
    char tmp[CS_CURVE_Z85_LEN + 1];
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    return zmq_z85_decode(bin, tmp) != NULL;
}

/* Read a whole small file; with secret, refuse any group/other access. Caller frees. */
static char *s_slurp(const char *path, int secret, size_t *len, cs_error_t *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        cs_error_set(err, CS_EIO, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        cs_error_set(err, CS_EIO, "%s: not a regular file", path);
        return NULL;
    }
    /* A secret key others can read is no secret: refuse it rather than use it. */
    if (secret && (st.st_mode & (S_IRWXG | S_IRWXO))) {
        close(fd);
        cs_error_set(err, CS_EIO,
                     "%s: a secret key must be readable by its owner only (mode %04o; "
                     "chmod 600 it)", path, (unsigned)(st.st_mode & 07777));
        return NULL;
    }
    if (st.st_size > S_FILE_MAX) {
        close(fd);
        cs_error_set(err, CS_EIO, "%s: larger than %d bytes: not a key file", path, S_FILE_MAX);
        return NULL;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        close(fd);
        cs_error_set(err, CS_ENOMEM, "%s: out of memory", path);
        return NULL;
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    *len = got;
    return buf;
}

/* The key of one line, or NULL: a bare Z85 key, or `want = "key"`. *n gets its length. */
static const char *s_line_key(char *line, const char *want, size_t *n)
{
    while (*line == ' ' || *line == '\t') {
        line++;
    }
    size_t len = strlen(line);
    while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t' || line[len - 1] == '\r')) {
        line[--len] = '\0';
    }
    if (len == 0 || line[0] == '#') {
        return NULL;
    }
    char *eq = strchr(line, '=');
    if (len == CS_CURVE_Z85_LEN && s_is_z85(line, len)) {
        *n = len;
        return line;
    }
    if (!eq) {
        return NULL;
    }
    size_t name_len = (size_t)(eq - line);
    while (name_len > 0 && (line[name_len - 1] == ' ' || line[name_len - 1] == '\t')) {
        name_len--;
    }
    if (name_len != strlen(want) || strncmp(line, want, name_len) != 0) {
        return NULL;
    }
    char *v = eq + 1;
    while (*v == ' ' || *v == '\t') {
        v++;
    }
    size_t vlen = strlen(v);
    if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') {
        v++;
        vlen -= 2;
    }
    if (!s_is_z85(v, vlen)) {
        return NULL;
    }
    *n = vlen;
    return v;
}

/* Call fn for each key of a file's text; returns the number of keys seen. */
static size_t s_each_key(char *text, const char *want,
                         int (*fn)(void *arg, const char *key), void *arg, int *failed)
{
    size_t seen = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        size_t n;
        const char *k = s_line_key(line, want, &n);
        if (!k) {
            continue;
        }
        char key[CS_CURVE_Z85_LEN + 1];
        memcpy(key, k, n);
        key[n] = '\0';
        seen++;
        if (fn(arg, key) != 0) {
            *failed = 1;
            break;
        }
    }
    return seen;
}

static int s_take_first(void *arg, const char *key)
{
    memcpy(arg, key, CS_CURVE_Z85_LEN + 1);
    return 1; /* the first key is the one: stop */
}

int cs_curve_read_key(const char *path, const char *want, int secret, char *out,
                      cs_error_t *err)
{
    size_t len;
    char *text = s_slurp(path, secret, &len, err);
    if (!text) {
        return err->code;
    }
    int stop = 0;
    size_t n = s_each_key(text, want, s_take_first, out, &stop);
    /* wipe what held a secret before it goes back to the allocator */
    memset(text, 0, len);
    free(text);
    if (n == 0) {
        return cs_error_set(err, CS_EMALFORMED,
                            "%s: no CURVE key in it (a line of 40 Z85 characters, or "
                            "%s = \"...\")", path, want);
    }
    return CS_OK;
}

int cs_curve_keygen(const char *path, cs_error_t *err)
{
    char pub[CS_CURVE_Z85_LEN + 1], sec[CS_CURVE_Z85_LEN + 1];
    if (zmq_curve_keypair(pub, sec) != 0) {
        return cs_error_set(err, CS_EINTERNAL, "cannot make a key pair: %s (libzmq without "
                            "CURVE?)", zmq_strerror(errno));
    }
    char pub_path[4096];
    if (snprintf(pub_path, sizeof pub_path, "%s.pub", path) >= (int)sizeof pub_path) {
        return cs_error_set(err, CS_EINVAL, "%s: path too long", path);
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        return cs_error_set(err, errno == EEXIST ? CS_EEXIST : CS_EIO,
                            "%s: cannot create: %s", path, strerror(errno));
    }
    char line[128];
    int n = snprintf(line, sizeof line, "# codesetd CURVE secret key: keep it 0600\n%s\n", sec);
    int ok = write(fd, line, (size_t)n) == n;
    ok = close(fd) == 0 && ok;
    memset(line, 0, sizeof line);
    memset(sec, 0, sizeof sec);
    if (!ok) {
        unlink(path);
        return cs_error_set(err, CS_EIO, "%s: cannot write: %s", path, strerror(errno));
    }
    FILE *f = fopen(pub_path, "w");
    if (!f || fprintf(f, "# codesetd CURVE public key\n%s\n", pub) < 0 || fclose(f) != 0) {
        return cs_error_set(err, CS_EIO, "%s: cannot write: %s", pub_path, strerror(errno));
    }
    return CS_OK;
}

static int s_add_client(void *arg, const char *key)
{
    cs_curve_t *c = arg;
    if (c->n_clients == S_MAX_CLIENTS) {
        return -1;
    }
    if (c->n_clients == c->cap_clients) {
        size_t cap = c->cap_clients ? c->cap_clients * 2 : 16;
        void *more = realloc(c->clients, cap * S_KEY_BIN);
        if (!more) {
            return -1;
        }
        c->clients = more;
        c->cap_clients = cap;
    }
    zmq_z85_decode(c->clients[c->n_clients++], key);
    return 0;
}

static int s_load_client_file(cs_curve_t *c, const char *path, cs_error_t *err)
{
    size_t len;
    char *text = s_slurp(path, 0, &len, err);
    if (!text) {
        return err->code;
    }
    int failed = 0;
    s_each_key(text, "public-key", s_add_client, c, &failed);
    free(text);
    if (failed) {
        return cs_error_set(err, CS_ENOMEM, "%s: too many client keys (at most %d) or out of "
                            "memory", path, S_MAX_CLIENTS);
    }
    return CS_OK;
}

static int s_load_clients(cs_curve_t *c, const char *path, cs_error_t *err)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        return cs_error_set(err, CS_EIO, "%s: %s", path, strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) {
        return s_load_client_file(c, path, err);
    }
    /* Whoever can add a file to the list can let anyone in: the list is the admin's only. */
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        return cs_error_set(err, CS_EIO, "%s: the client key directory is writable by group "
                            "or others (mode %04o)", path, (unsigned)(st.st_mode & 07777));
    }
    DIR *d = opendir(path);
    if (!d) {
        return cs_error_set(err, CS_EIO, "%s: cannot open: %s", path, strerror(errno));
    }
    int rc = CS_OK;
    struct dirent *e;
    while (rc == CS_OK && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        char file[4096];
        snprintf(file, sizeof file, "%s/%s", path, e->d_name);
        struct stat fs;
        if (stat(file, &fs) != 0 || !S_ISREG(fs.st_mode)) {
            continue;
        }
        rc = s_load_client_file(c, file, err);
    }
    closedir(d);
    return rc;
}

cs_curve_t *cs_curve_new(const char *secret_file, const char *clients, cs_error_t *err)
{
    if (!zmq_has("curve")) {
        cs_error_set(err, CS_EINVAL, "this libzmq was built without CURVE support");
        return NULL;
    }
    cs_curve_t *c = calloc(1, sizeof *c);
    if (!c) {
        cs_error_set(err, CS_ENOMEM, "out of memory");
        return NULL;
    }
    c->magic = S_CURVE_MAGIC;
    if (cs_curve_read_key(secret_file, "secret-key", 1, c->secret, err) != CS_OK) {
        goto fail;
    }
    if (zmq_curve_public(c->public, c->secret) != 0) {
        cs_error_set(err, CS_EMALFORMED, "%s: not a CURVE secret key", secret_file);
        goto fail;
    }
    if (clients) {
        if (s_load_clients(c, clients, err) != CS_OK) {
            goto fail;
        }
        if (c->n_clients == 0) {
            cs_error_set(err, CS_EMALFORMED, "%s: no client public key in it: nobody could "
                         "connect", clients);
            goto fail;
        }
    }
    return c;
fail:
    cs_curve_destroy(&c);
    return NULL;
}

void cs_curve_destroy(cs_curve_t **cp)
{
    if (!cp || !*cp) {
        return;
    }
    cs_curve_t *c = *cp;
    if (c->zap) {
        zmq_close(c->zap);
    }
    free(c->clients);
    memset(c, 0, sizeof *c); /* the secret key and the magic go with it */
    free(c);
    *cp = NULL;
}

const char *cs_curve_public(const cs_curve_t *c)
{
    return c->public;
}

size_t cs_curve_n_clients(const cs_curve_t *c)
{
    return c->n_clients;
}

int cs_curve_server(const cs_curve_t *c, void *sock, int on, cs_error_t *err)
{
    int flag = on ? 1 : 0;
    if (on && zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, c->secret, CS_CURVE_Z85_LEN) != 0) {
        return cs_error_set(err, CS_EINTERNAL, "cannot set the CURVE key: %s",
                            zmq_strerror(errno));
    }
    /* No ZAP domain on purpose: CURVE consults the handler without one, while a NULL-mechanism
     * (ipc) bind with a domain would send its peers to the handler too, and libzmq 4.3 cannot
     * clear a domain once set. */
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &flag, sizeof flag) != 0) {
        return cs_error_set(err, CS_EINTERNAL, "cannot %s CURVE: %s", on ? "enable" : "disable",
                            zmq_strerror(errno));
    }
    return CS_OK;
}

int cs_curve_zap_start(cs_curve_t *c, void *zctx, cs_error_t *err)
{
    if (c->n_clients == 0) {
        return CS_OK;
    }
    c->zap = zmq_socket(zctx, ZMQ_REP);
    int zero = 0;
    if (!c->zap || zmq_setsockopt(c->zap, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_bind(c->zap, "inproc://zeromq.zap.01") != 0) {
        return cs_error_set(err, CS_EIO, "cannot start the ZAP handler: %s",
                            zmq_strerror(errno));
    }
    return CS_OK;
}

void *cs_curve_zap_socket(const cs_curve_t *c)
{
    return c ? c->zap : NULL;
}

static int s_allowed(const cs_curve_t *c, const void *key, size_t len)
{
    if (len != S_KEY_BIN) {
        return 0;
    }
    for (size_t i = 0; i < c->n_clients; i++) {
        if (memcmp(c->clients[i], key, S_KEY_BIN) == 0) {
            return 1;
        }
    }
    return 0;
}

/* ZAP (ZeroMQ RFC 27) request frames: version, request id, domain, address, routing id,
 * mechanism, then the mechanism's credentials (CURVE: the client's 32-byte public key). */
enum { S_ZAP_VERSION, S_ZAP_ID, S_ZAP_DOMAIN, S_ZAP_ADDRESS, S_ZAP_ROUTING, S_ZAP_MECH,
       S_ZAP_CRED, S_ZAP_FRAMES };

static void s_zap_one(cs_curve_t *c)
{
    zmq_msg_t f[S_ZAP_FRAMES];
    int n = 0;
    int more = 1;
    int extra = 0;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, c->zap, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            break;
        }
        more = zmq_msg_more(&m);
        if (n < S_ZAP_FRAMES) {
            f[n++] = m;
        } else {
            extra = 1;
            zmq_msg_close(&m);
        }
    }
    if (n == 0) {
        return;
    }
    const char *code = "400";
    const char *text = "client key not allowed";
    if (extra || n != S_ZAP_FRAMES || zmq_msg_size(&f[S_ZAP_VERSION]) != 3 ||
        memcmp(zmq_msg_data(&f[S_ZAP_VERSION]), "1.0", 3) != 0) {
        code = "500";
        text = "malformed ZAP request";
    } else if (zmq_msg_size(&f[S_ZAP_MECH]) == 5 &&
               memcmp(zmq_msg_data(&f[S_ZAP_MECH]), "CURVE", 5) == 0 &&
               s_allowed(c, zmq_msg_data(&f[S_ZAP_CRED]), zmq_msg_size(&f[S_ZAP_CRED]))) {
        code = "200";
        text = "OK";
    }
    if (code[0] != '2') {
        char addr[64] = "?";
        if (n > S_ZAP_ADDRESS) {
            size_t al = zmq_msg_size(&f[S_ZAP_ADDRESS]);
            snprintf(addr, sizeof addr, "%.*s", (int)(al < 48 ? al : 48),
                     (const char *)zmq_msg_data(&f[S_ZAP_ADDRESS]));
        }
        CS_INFO("CURVE client from %s refused: %s", addr, text);
    }
    /* reply: version, request id, status code, status text, user id, metadata */
    const void *id = n > S_ZAP_ID ? zmq_msg_data(&f[S_ZAP_ID]) : "";
    size_t id_len = n > S_ZAP_ID ? zmq_msg_size(&f[S_ZAP_ID]) : 0;
    int ok = zmq_send(c->zap, "1.0", 3, ZMQ_SNDMORE) >= 0 &&
             zmq_send(c->zap, id, id_len, ZMQ_SNDMORE) >= 0 &&
             zmq_send(c->zap, code, 3, ZMQ_SNDMORE) >= 0 &&
             zmq_send(c->zap, text, strlen(text), ZMQ_SNDMORE) >= 0 &&
             zmq_send(c->zap, "", 0, ZMQ_SNDMORE) >= 0 && zmq_send(c->zap, "", 0, 0) >= 0;
    if (!ok) {
        CS_WARN("ZAP reply not sent: %s", zmq_strerror(errno));
    }
    for (int i = 0; i < n; i++) {
        zmq_msg_close(&f[i]);
    }
}

int cs_curve_zap_serve(cs_curve_t *c)
{
    if (!c || !c->zap) {
        return 0;
    }
    for (int i = 0; i < 64; i++) {
        int events = 0;
        size_t sz = sizeof events;
        if (zmq_getsockopt(c->zap, ZMQ_EVENTS, &events, &sz) != 0 || !(events & ZMQ_POLLIN)) {
            return 0;
        }
        s_zap_one(c);
    }
    return 1;
}
