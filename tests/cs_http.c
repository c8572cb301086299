/* cs_http.c: codeset-http for tests and benchmarks, and a tiny HTTP client (cs_http.h). */
#include "cs_http.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define S_MARK "listening on http://127.0.0.1:"

/* The port the log says, or 0 while it says none. */
static int s_port_of(const char *log)
{
    int port = 0;
    char line[512];
    FILE *f = fopen(log, "r");
    while (f && fgets(line, sizeof line, f)) {
        const char *p = strstr(line, S_MARK);
        if (p) {
            port = atoi(p + strlen(S_MARK));
        }
    }
    if (f) {
        fclose(f);
    }
    return port;
}

static void s_exec(const char *exe, const char *db, const char *log, const char *cwd,
                   const char *const *args)
{
    const char *argv[40];
    int n = 0;
    argv[n++] = exe;
    argv[n++] = "--db";
    argv[n++] = db;
    argv[n++] = "--listen";
    argv[n++] = "127.0.0.1:0";
    for (size_t i = 0; args && args[i] && n < 39; i++) {
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || dup2(fd, 2) < 0 || (cwd && chdir(cwd) != 0)) {
        _exit(126);
    }
    execv(exe, (char *const *)argv);
    _exit(127);
}

int cs_http_start(cs_http_server_t *h, const char *exe, const char *db, const char *log,
                  const char *cwd, const char *const *args, char *why, size_t cap)
{
    memset(h, 0, sizeof *h);
    snprintf(h->log, sizeof h->log, "%s", log);
    unlink(log);
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(why, cap, "fork failed");
        return -1;
    }
    if (pid == 0) {
        s_exec(exe, db, log, cwd, args);
    }
    h->pid = pid;
    for (int i = 0; i < 1000 && h->port == 0; i++) {
        h->port = s_port_of(log);
        if (h->port == 0) {
            if (waitpid(pid, NULL, WNOHANG) != 0) {
                h->pid = 0;
                snprintf(why, cap, "codeset-http exited; see %s", log);
                return -1;
            }
            usleep(10000);
        }
    }
    if (h->port == 0) {
        cs_http_stop(h);
        snprintf(why, cap, "codeset-http did not say where it listens (%s)", log);
        return -1;
    }
    return 0;
}

int cs_http_stop(cs_http_server_t *h)
{
    int status = -1;
    if (h->pid > 0) {
        kill(h->pid, SIGTERM);
        waitpid(h->pid, &status, 0);
        h->pid = 0;
    }
    return status;
}

int cs_http_log_clean(const cs_http_server_t *h, char *line, size_t cap)
{
    FILE *f = fopen(h->log, "r");
    int clean = 1;
    while (clean && f && fgets(line, (int)cap, f)) {
        clean = !strstr(line, "Sanitizer") && !strstr(line, "runtime error");
    }
    if (f) {
        fclose(f);
    }
    return clean;
}

void cs_hresp_free(cs_hresp_t *r)
{
    free(r->head);
    r->head = NULL;
    r->body = NULL;
}

/* Read until the peer closes or is silent for timeout_ms; a malloc'ed NUL-terminated buffer. */
static char *s_read_all(int fd, int timeout_ms, size_t *got)
{
    size_t cap = 65536;
    char *buf = malloc(cap + 1);
    *got = 0;
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        if (buf == NULL || poll(&p, 1, timeout_ms) <= 0) {
            break;
        }
        if (*got == cap) {
            char *more = realloc(buf, cap * 2 + 1);
            if (more == NULL) {
                break;
            }
            buf = more;
            cap *= 2;
        }
        ssize_t n = recv(fd, buf + *got, cap - *got, 0);
        if (n <= 0) {
            break;
        }
        *got += (size_t)n;
    }
    if (buf) {
        buf[*got] = '\0';
    }
    return buf;
}

int cs_http_raw(int port, const void *req, size_t len, int timeout_ms, cs_hresp_t *out)
{
    memset(out, 0, sizeof *out);
    out->status = -1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        if (fd >= 0) {
            close(fd);
        }
        return out->status = -2;
    }
    for (size_t off = 0; off < len;) {
        ssize_t n = send(fd, (const char *)req + off, len - off, MSG_NOSIGNAL);
        if (n <= 0) {
            break; /* the server may answer and close before reading a body it refuses */
        }
        off += (size_t)n;
    }
    shutdown(fd, SHUT_WR);
    size_t got;
    char *buf = s_read_all(fd, timeout_ms, &got);
    close(fd);
    char *sep = buf ? strstr(buf, "\r\n\r\n") : NULL;
    if (got < 12 || strncmp(buf, "HTTP/1.", 7) != 0 || sep == NULL) {
        free(buf);
        return -1;
    }
    *sep = '\0';
    out->head = buf;
    out->body = sep + 4;
    out->body_len = got - (size_t)(out->body - buf);
    out->status = atoi(buf + 9);
    return out->status;
}

int cs_http_call(int port, const char *method, const char *path, const char *body,
                 size_t blen, int timeout_ms, cs_hresp_t *out)
{
    size_t cap = 512 + strlen(method) + strlen(path) + blen;
    char *req = malloc(cap);
    if (req == NULL) {
        memset(out, 0, sizeof *out);
        return out->status = -1;
    }
    int n = snprintf(req, cap,
                     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                     method, path, body ? blen : 0);
    if (body) {
        memcpy(req + n, body, blen);
    }
    int st = cs_http_raw(port, req, (size_t)n + (body ? blen : 0), timeout_ms, out);
    free(req);
    return st;
}

json_t *cs_hresp_json(const cs_hresp_t *r, char *why, size_t cap)
{
    json_error_t err;
    json_t *j = r->body ? json_loadb(r->body, r->body_len, 0, &err) : NULL;
    if (j == NULL) {
        snprintf(why, cap, "not JSON (%s at %d): %.200s", r->body ? err.text : "no body",
                 r->body ? err.position : 0, r->body ? r->body : "");
    }
    return j;
}
