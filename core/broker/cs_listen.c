/* cs_listen.c: listening sockets for the broker's own front (see cs_listen.h). */
#include "broker/cs_listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Connections the kernel may hold accepted before the broker takes them. */
#define S_BACKLOG SOMAXCONN

/* Split tcp://HOST:PORT into a socket address. 0, or -1 when it is not one this file binds. */
static int s_tcp_addr(const char *ep, struct sockaddr_storage *ss, socklen_t *len)
{
    const char *h = ep + 6, *colon = strrchr(h, ':');
    if (!colon || colon == h || !colon[1] || strspn(colon + 1, "0123456789") != strlen(colon + 1)
        || strlen(colon + 1) > 5) {
        return -1;
    }
    long port = strtol(colon + 1, NULL, 10);
    char host[64];
    size_t hl = (size_t)(colon - h);
    if (port < 1 || port > 65535 || hl >= sizeof host) {
        return -1;
    }
    memcpy(host, h, hl);
    host[hl] = '\0';
    memset(ss, 0, sizeof *ss);
    if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
        host[hl - 1] = '\0';
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *len = sizeof *a6;
        return inet_pton(AF_INET6, host + 1, &a6->sin6_addr) == 1 ? 0 : -1;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    *len = sizeof *a4;
    if (strcmp(host, "*") == 0) {
        a4->sin_addr.s_addr = htonl(INADDR_ANY);
        return 0;
    }
    if (strcmp(host, "localhost") == 0) {
        a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        return 0;
    }
    return inet_pton(AF_INET, host, &a4->sin_addr) == 1 ? 0 : -1;
}

/* ipc://PATH as a Unix socket address. 0, or -1 when it is not one this file binds. */
static int s_ipc_addr(const char *ep, struct sockaddr_un *un)
{
    const char *path = ep + 6;
    size_t n = strlen(path);
    if (n == 0 || path[0] == '@' || strcmp(path, "*") == 0 || n >= sizeof un->sun_path) {
        return -1;
    }
    memset(un, 0, sizeof *un);
    un->sun_family = AF_UNIX;
    memcpy(un->sun_path, path, n);
    return 0;
}

int cs_listen_handles(const char *ep)
{
    struct sockaddr_storage ss;
    socklen_t len;
    struct sockaddr_un un;
    if (strncmp(ep, "tcp://", 6) == 0) {
        return s_tcp_addr(ep, &ss, &len) == 0;
    }
    return strncmp(ep, "ipc://", 6) == 0 && s_ipc_addr(ep, &un) == 0;
}

int cs_listen_open(const char *ep, char *ipc_path, size_t cap, cs_error_t *err)
{
    struct sockaddr_storage ss;
    struct sockaddr_un un;
    const struct sockaddr *addr = (const struct sockaddr *)&ss;
    socklen_t len = 0;
    ipc_path[0] = '\0';
    int is_ipc = strncmp(ep, "ipc://", 6) == 0;
    if (is_ipc ? s_ipc_addr(ep, &un) != 0
               : strncmp(ep, "tcp://", 6) != 0 || s_tcp_addr(ep, &ss, &len) != 0) {
        cs_error_set(err, CS_EINVAL, "endpoint %s: the direct front binds tcp://ADDRESS:PORT "
                     "and ipc://PATH only", ep);
        return -1;
    }
    if (is_ipc) {
        addr = (const struct sockaddr *)&un;
        len = sizeof un;
        unlink(un.sun_path); /* a socket file left by a killed broker */
    }
    int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || (!is_ipc && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
        || bind(fd, addr, len) != 0 || listen(fd, S_BACKLOG) != 0) {
        cs_error_set(err, CS_EIO, "cannot bind the query endpoint %s: %s", ep,
                     strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    if (is_ipc) {
        snprintf(ipc_path, cap, "%s", un.sun_path);
    }
    return fd;
}
