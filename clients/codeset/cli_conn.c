/* cli_conn.c: REQ socket with timeouts, and reply checking (see cli_conn.h). */
#include "cli_conn.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>
#include <zmq.h>

struct cs_cli_conn {
    void *ctx;      /* this connection's own ZeroMQ context */
    void *sock;     /* REQ socket connected to endpoint */
    char *endpoint; /* owned copy of the endpoint */
    int timeout_ms; /* send and receive timeout */
};

static uint64_t s_be(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

int cs_cli_conn_prescan(const void *buf, size_t len, unsigned max_depth)
{
    const unsigned char *p = buf;
    uint64_t stack[CS_CLI_CONN_MAX_DEPTH + 1];
    if (max_depth > CS_CLI_CONN_MAX_DEPTH) {
        max_depth = CS_CLI_CONN_MAX_DEPTH;
    }
    unsigned depth = 0;
    stack[0] = 1;
    size_t pos = 0;
    uint64_t total = 0;
    for (;;) {
        if (stack[depth] == 0) {
            if (depth == 0) {
                break;
            }
            depth--;
            continue;
        }
        stack[depth]--;
        if (pos >= len) {
            return -1;
        }
        unsigned char c = p[pos++];
        uint64_t skip = 0;  /* payload bytes after the header */
        uint64_t items = 0; /* child objects of a container */
        int container = 0;
        size_t lenbytes = 0;
        if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) {
            skip = 0;
        } else if (c >= 0x80 && c <= 0x8f) {
            container = 1;
            items = 2u * (c & 0x0fu);
        } else if (c >= 0x90 && c <= 0x9f) {
            container = 1;
            items = c & 0x0fu;
        } else if (c >= 0xa0 && c <= 0xbf) {
            skip = c & 0x1fu;
        } else {
            switch (c) {
            case 0xc4: case 0xd9: lenbytes = 1; break;
            case 0xc5: case 0xda: lenbytes = 2; break;
            case 0xc6: case 0xdb: lenbytes = 4; break;
            case 0xc7: lenbytes = 1; skip = 1; break;
            case 0xc8: lenbytes = 2; skip = 1; break;
            case 0xc9: lenbytes = 4; skip = 1; break;
            case 0xca: skip = 4; break;
            case 0xcb: skip = 8; break;
            case 0xcc: case 0xd0: skip = 1; break;
            case 0xcd: case 0xd1: skip = 2; break;
            case 0xce: case 0xd2: skip = 4; break;
            case 0xcf: case 0xd3: skip = 8; break;
            case 0xd4: skip = 2; break;
            case 0xd5: skip = 3; break;
            case 0xd6: skip = 5; break;
            case 0xd7: skip = 9; break;
            case 0xd8: skip = 17; break;
            case 0xdc: container = 1; lenbytes = 2; break;
            case 0xdd: container = 1; lenbytes = 4; break;
            case 0xde: container = 2; lenbytes = 2; break;
            case 0xdf: container = 2; lenbytes = 4; break;
            default: return -1; /* 0xc1 is never used */
            }
        }
        if (lenbytes > 0) {
            if (len - pos < lenbytes) {
                return -1;
            }
            uint64_t n = s_be(p + pos, lenbytes);
            pos += lenbytes;
            if (container != 0) {
                items = container == 2 ? 2 * n : n;
            } else {
                skip += n;
            }
        }
        if (skip > len - pos) {
            return -1;
        }
        pos += (size_t)skip;
        if (container != 0 && items > 0) {
            total += items;
            if (total > len) {
                return -1;
            }
            if (depth + 1 > max_depth) {
                return -1;
            }
            stack[++depth] = items;
        }
    }
    return pos == len ? 0 : -1;
}

#define S_Z85_KEY 40 /* Z85 characters of a CURVE key */

/* The first key of a key file as codesetd writes them (--curve-keygen): a line of 40 Z85
 * characters, or `want = "..."` as in a czmq certificate. With secret, the file must not be
 * accessible to group or others. (libcodeset's cs_curve.c reads the same files; the CLI's
 * objects are also linked into the test binary after the library, so it keeps its own.)
 * Returns 0 with out[41] filled, or -1 with a sentence in err. */
static int s_read_key(const char *path, const char *want, int secret, char *out, char *err,
                      size_t errcap)
{
    FILE *f = fopen(path, "r");
    struct stat st;
    if (f == NULL || fstat(fileno(f), &st) != 0) {
        snprintf(err, errcap, "%s: %s", path, strerror(errno));
        if (f != NULL) {
            fclose(f);
        }
        return -1;
    }
    if (secret && (st.st_mode & (S_IRWXG | S_IRWXO))) {
        fclose(f);
        snprintf(err, errcap, "%s: a secret key must be readable by its owner only (mode %04o)",
                 path, (unsigned)(st.st_mode & 07777));
        return -1;
    }
    char line[256];
    int found = 0;
    while (!found && fgets(line, sizeof line, f) != NULL) {
        char *p = line + strspn(line, " \t");
        /* a bare key first: '=' is one of Z85's characters */
        size_t bare = strcspn(p, " \t\r\n");
        char *eq = bare == S_Z85_KEY ? NULL : strchr(p, '=');
        if (eq != NULL) {
            size_t n = strlen(want);
            if (strncmp(p, want, n) != 0 || strspn(p + n, " \t") != (size_t)(eq - p - n)) {
                continue;
            }
            p = eq + 1;
        }
        p += strspn(p, " \t\"");
        size_t len = strcspn(p, " \t\"\r\n");
        uint8_t bin[32];
        if (len == S_Z85_KEY) {
            p[len] = '\0';
            found = zmq_z85_decode(bin, p) != NULL;
        }
        if (found) {
            memcpy(out, p, S_Z85_KEY + 1);
        }
    }
    memset(line, 0, sizeof line);
    fclose(f);
    if (!found) {
        snprintf(err, errcap, "%s: no CURVE key in it (a line of 40 Z85 characters)", path);
        return -1;
    }
    return 0;
}

/* CURVE for a tcp endpoint when $CODESET_CURVE_SERVER_KEY names the broker's public key file
 * (the CLI's --curve-server-key sets it). The client's own key pair comes from the secret key
 * file in $CODESET_CURVE_KEY (--curve-key), or is made for this connection alone, which a
 * broker without a client list accepts. ipc endpoints stay plain, as the broker binds them.
 * Returns 0, or -1 with a sentence in err. */
static int s_curve_client(void *sock, const char *endpoint, char *err, size_t errcap)
{
    const char *server_file = getenv("CODESET_CURVE_SERVER_KEY");
    const char *key_file = getenv("CODESET_CURVE_KEY");
    if (server_file == NULL || *server_file == '\0' || strncmp(endpoint, "ipc://", 6) == 0 ||
        strncmp(endpoint, "inproc://", 9) == 0) {
        return 0;
    }
    char server[S_Z85_KEY + 1];
    char pub[S_Z85_KEY + 1];
    char sec[S_Z85_KEY + 1];
    if (s_read_key(server_file, "public-key", 0, server, err, errcap) != 0) {
        return -1;
    }
    if (key_file != NULL && *key_file != '\0') {
        if (s_read_key(key_file, "secret-key", 1, sec, err, errcap) != 0) {
            return -1;
        }
        if (zmq_curve_public(pub, sec) != 0) {
            snprintf(err, errcap, "--curve-key: %s is not a CURVE secret key", key_file);
            return -1;
        }
    } else if (zmq_curve_keypair(pub, sec) != 0) {
        snprintf(err, errcap, "cannot make a CURVE key pair: %s", zmq_strerror(errno));
        return -1;
    }
    int rc = zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server, S_Z85_KEY) != 0 ||
             zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, pub, S_Z85_KEY) != 0 ||
             zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, sec, S_Z85_KEY) != 0;
    memset(sec, 0, sizeof sec);
    if (rc) {
        snprintf(err, errcap, "cannot set the CURVE keys: %s", zmq_strerror(errno));
        return -1;
    }
    return 0;
}

cs_cli_conn_t *cs_cli_conn_new(const char *endpoint, int timeout_ms, int *status, char *err,
                               size_t errcap)
{
    int st = CS_CLI_CONN_EIO;
    cs_cli_conn_t *c = calloc(1, sizeof *c);
    if (c == NULL) {
        snprintf(err, errcap, "out of memory");
        goto fail;
    }
    c->timeout_ms = timeout_ms;
    c->endpoint = strdup(endpoint);
    c->ctx = zmq_ctx_new();
    if (c->endpoint == NULL || c->ctx == NULL) {
        snprintf(err, errcap, "cannot create a ZeroMQ context: %s", zmq_strerror(errno));
        goto fail;
    }
    c->sock = zmq_socket(c->ctx, ZMQ_REQ);
    if (c->sock == NULL) {
        snprintf(err, errcap, "cannot create a REQ socket: %s", zmq_strerror(errno));
        goto fail;
    }
    int linger = 0;
    int64_t maxmsg = CS_CLI_CONN_MAX_REPLY;
    if (zmq_setsockopt(c->sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(c->sock, ZMQ_SNDTIMEO, &timeout_ms, sizeof timeout_ms) != 0 ||
        zmq_setsockopt(c->sock, ZMQ_RCVTIMEO, &timeout_ms, sizeof timeout_ms) != 0 ||
        zmq_setsockopt(c->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) != 0) {
        snprintf(err, errcap, "cannot set socket options: %s", zmq_strerror(errno));
        goto fail;
    }
    if (s_curve_client(c->sock, endpoint, err, errcap) != 0) {
        st = CS_CLI_CONN_EINVAL;
        goto fail;
    }
    if (zmq_connect(c->sock, endpoint) != 0) {
        st = CS_CLI_CONN_EINVAL;
        snprintf(err, errcap, "cannot connect to %s: %s", endpoint, zmq_strerror(errno));
        goto fail;
    }
    if (status != NULL) {
        *status = CS_CLI_CONN_OK;
    }
    return c;
fail:
    if (status != NULL) {
        *status = st;
    }
    cs_cli_conn_destroy(&c);
    return NULL;
}

static int s_timeout(cs_cli_conn_t *c, char *err, size_t errcap)
{
    snprintf(err, errcap, "no reply from %s within %d ms (is codesetd running?)", c->endpoint,
             c->timeout_ms);
    return CS_CLI_CONN_TIMEOUT;
}

int cs_cli_conn_request(cs_cli_conn_t *c, const void *body, size_t len, cs_cli_reply_t *reply,
                        char *err, size_t errcap)
{
    memset(reply, 0, sizeof *reply);
    msgpack_unpacked_init(&reply->unpacked);
    if (zmq_send(c->sock, body, len, 0) < 0) {
        if (errno == EAGAIN) {
            return s_timeout(c, err, errcap);
        }
        snprintf(err, errcap, "cannot send to %s: %s", c->endpoint, zmq_strerror(errno));
        return CS_CLI_CONN_EIO;
    }
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, c->sock, 0) < 0) {
        int e = errno;
        zmq_msg_close(&msg);
        if (e == EAGAIN) {
            return s_timeout(c, err, errcap);
        }
        snprintf(err, errcap, "cannot receive from %s: %s", c->endpoint, zmq_strerror(e));
        return CS_CLI_CONN_EIO;
    }
    int more = zmq_msg_more(&msg);
    reply->len = zmq_msg_size(&msg);
    reply->body = malloc(reply->len > 0 ? reply->len : 1);
    if (reply->body == NULL) {
        zmq_msg_close(&msg);
        snprintf(err, errcap, "out of memory for a %zu-byte reply", reply->len);
        return CS_CLI_CONN_EIO;
    }
    memcpy(reply->body, zmq_msg_data(&msg), reply->len);
    zmq_msg_close(&msg);
    if (more) {
        snprintf(err, errcap, "malformed reply from %s: more than one frame", c->endpoint);
        return CS_CLI_CONN_MALFORMED;
    }
    if (cs_cli_conn_prescan(reply->body, reply->len, CS_CLI_CONN_MAX_DEPTH) != 0) {
        snprintf(err, errcap, "malformed reply from %s: not one well-formed msgpack object",
                 c->endpoint);
        return CS_CLI_CONN_MALFORMED;
    }
    size_t off = 0;
    msgpack_unpack_return rc =
        msgpack_unpack_next(&reply->unpacked, reply->body, reply->len, &off);
    if (rc != MSGPACK_UNPACK_SUCCESS || off != reply->len ||
        reply->unpacked.data.type != MSGPACK_OBJECT_MAP) {
        snprintf(err, errcap, "malformed reply from %s: not one msgpack map", c->endpoint);
        return CS_CLI_CONN_MALFORMED;
    }
    reply->root = &reply->unpacked.data;
    return CS_CLI_CONN_OK;
}

const char *cs_cli_conn_endpoint(const cs_cli_conn_t *c)
{
    return c->endpoint;
}

void cs_cli_reply_release(cs_cli_reply_t *reply)
{
    if (reply->unpacked.zone != NULL) {
        msgpack_unpacked_destroy(&reply->unpacked);
    }
    free(reply->body);
    memset(reply, 0, sizeof *reply);
}

void cs_cli_conn_destroy(cs_cli_conn_t **c)
{
    if (c == NULL || *c == NULL) {
        return;
    }
    if ((*c)->sock != NULL) {
        zmq_close((*c)->sock);
    }
    if ((*c)->ctx != NULL) {
        zmq_ctx_term((*c)->ctx);
    }
    free((*c)->endpoint);
    free(*c);
    *c = NULL;
}
