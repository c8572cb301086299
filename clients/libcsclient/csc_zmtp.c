/* csc_zmtp.c: a ZMTP 3.0 DEALER peer on the calling thread (see csc_zmtp.h). */
#include "csc_zmtp.h"

#include "wire/cs_zmtp.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>


int csc_zmtp_usable(const char *ep)
{
    if (strncmp(ep, "ipc://", 6) == 0) {
        size_t len = strlen(ep + 6);
        return len > 0 && ep[6] != '@' && len < sizeof(((struct sockaddr_un *)0)->sun_path);
    }
    if (strncmp(ep, "tcp://", 6) != 0 || strchr(ep, ';') || ep[6] == '*') {
        return 0;
    }
    const char *colon = strrchr(ep + 6, ':');
    return colon && colon > ep + 6 && colon[1] && strspn(colon + 1, "0123456789") ==
                                                      strlen(colon + 1);
}

/* Wait until fd can do events, or deadline_ms passes. 1 ready, 0 timed out, -1 failed. */
static int s_wait(int fd, short events, int64_t deadline_ms)
{
    for (;;) {
        int64_t left = deadline_ms - csc_now_ms();
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left);
        if (n > 0) {
            return 1; /* readable, or an error or hang-up the next call reports */
        }
        if (n == 0) {
            return 0;
        }
        if (errno != EINTR) {
            return -1;
        }
    }
}

/* Read exactly n bytes by deadline_ms; wait_first when they cannot be there yet (saves a
 * receive that would find nothing). 1, 0 timed out, -1 failed or closed. */
static int s_read(int fd, void *buf, size_t n, int64_t deadline_ms, int wait_first)
{
    size_t got = 0;
    while (got < n) {
        /* the socket blocks, for at most its receive timeout (csc_zmtp_connect): one call
         * sleeps until the bytes come, where a poll and a receive would be two */
        ssize_t r = recv(fd, (char *)buf + got, n - got, wait_first ? 0 : MSG_DONTWAIT);
        if (r > 0) {
            got += (size_t)r;
            wait_first = 0;
            continue;
        }
        if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            return -1;
        }
        if (wait_first && csc_now_ms() >= deadline_ms) {
            return 0;
        }
        int w = wait_first || errno == EINTR ? 1 : s_wait(fd, POLLIN, deadline_ms);
        if (w <= 0) {
            return w;
        }
    }
    return 1;
}

/* Write iov (advanced in place) whole by deadline_ms. 0, or -1. */
static int s_writev(int fd, struct iovec *iov, int n, int64_t deadline_ms)
{
    while (n > 0) {
        struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        ssize_t w = sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            if ((errno != EAGAIN && errno != EWOULDBLOCK) ||
                s_wait(fd, POLLOUT, deadline_ms) <= 0) {
                return -1;
            }
            continue;
        }
        while (n > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return 0;
}

/* A socket connecting (non-blocking) to ep: -1 when ep cannot be reached this way. */
static int s_socket(const char *ep, int64_t deadline_ms)
{
    int fd = -1, rc = -1;
    if (strncmp(ep, "ipc://", 6) == 0) {
        struct sockaddr_un un = {.sun_family = AF_UNIX};
        snprintf(un.sun_path, sizeof un.sun_path, "%s", ep + 6);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        rc = fd < 0 ? -1 : connect(fd, (struct sockaddr *)&un, sizeof un);
    } else {
        char host[256];
        const char *colon = strrchr(ep + 6, ':');
        size_t hl = (size_t)(colon - (ep + 6));
        const char *h = ep + 6;
        if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') { /* [IPv6]:port */
            h++;
            hl -= 2;
        }
        if (hl >= sizeof host) {
            return -1;
        }
        memcpy(host, h, hl);
        host[hl] = '\0';
        /* as libzmq without ZMQ_IPV6: a name resolves to IPv4; a bracketed address is IPv6 */
        struct addrinfo hints = {.ai_family = h != ep + 6 ? AF_INET6 : AF_INET,
                                 .ai_socktype = SOCK_STREAM};
        struct addrinfo *ai = NULL;
        if (getaddrinfo(host, colon + 1, &hints, &ai) != 0 || !ai) {
            return -1;
        }
        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        rc = fd < 0 ? -1 : connect(fd, ai->ai_addr, ai->ai_addrlen);
        freeaddrinfo(ai);
        int one = 1;
        if (fd >= 0) {
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        }
    }
    if (fd >= 0 && rc != 0 && errno == EINPROGRESS && s_wait(fd, POLLOUT, deadline_ms) > 0) {
        int err = 0;
        socklen_t len = sizeof err;
        rc = getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0 ? 0 : -1;
    }
    /* blocking from now on, each receive for at most what is left of the deadline (the
     * client's timeout, the same for every call) */
    int64_t left = deadline_ms - csc_now_ms();
    struct timeval tv = {.tv_sec = left > 0 ? left / 1000 : 0,
                         .tv_usec = left > 0 ? (left % 1000) * 1000 : 1000};
    int fl = fd >= 0 ? fcntl(fd, F_GETFL) : -1;
    if (rc == 0 && (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0 ||
                    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0)) {
        rc = -1;
    }
    if (rc != 0 && fd >= 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* The peer's greeting and READY command: 0 when it is a ZMTP 3 peer of the NULL mechanism
 * that accepted us. Greeting and commands are the broker's own codec (core/wire/cs_zmtp.c,
 * compiled into this library too). */
static int s_handshake(int fd, int64_t deadline_ms)
{
    uint8_t g[CS_ZMTP_GREETING], ready[40];
    cs_zmtp_greeting(g);
    size_t rl = cs_zmtp_ready(ready, sizeof ready, "DEALER");
    struct iovec iov[2] = {{g, sizeof g}, {ready, rl}};
    uint8_t peer[CS_ZMTP_GREETING];
    const char *why;
    if (s_writev(fd, iov, 2, deadline_ms) != 0 ||
        s_read(fd, peer, sizeof peer, deadline_ms, 1) <= 0 ||
        cs_zmtp_greeting_check(peer, sizeof peer, &why) != 1) {
        return -1;
    }
    int rc = -1;
    uint8_t h[2];
    /* the peer's READY (an ERROR command, or anything else, fails) */
    if (s_read(fd, h, 2, deadline_ms, 0) > 0 && h[0] == CS_ZMTP_COMMAND && h[1] >= 6) {
        uint8_t body[255];
        rc = s_read(fd, body, h[1], deadline_ms, 0) > 0 &&
                     cs_zmtp_command_is(body, h[1], "READY")
                 ? 0
                 : -1;
    }
    return rc;
}

int csc_zmtp_connect(const char *endpoint, int64_t deadline_ms)
{
    int fd = csc_zmtp_usable(endpoint) ? s_socket(endpoint, deadline_ms) : -1;
    if (fd >= 0 && s_handshake(fd, deadline_ms) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

int csc_zmtp_send(int fd, const void *data, size_t len, int64_t deadline_ms)
{
    uint8_t h[9];
    size_t hl = cs_zmtp_header(h, 0, len);
    struct iovec iov[2] = {{h, hl}, {(void *)data, len}};
    return s_writev(fd, iov, 2, deadline_ms);
}

/* Yielding the CPU between looks: the threads that bring the reply may be waiting for it. */
int csc_zmtp_spin(int fd, uint64_t spin_ns)
{
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 0) != 0) {
            return 1;
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        uint64_t ns = (uint64_t)(now.tv_sec - t0.tv_sec) * 1000000000u +
                      (uint64_t)(now.tv_nsec - t0.tv_nsec);
        if (ns >= spin_ns) {
            return 0;
        }
        sched_yield();
    }
}

int csc_zmtp_recv(int fd, csc_buf_t *body, size_t max, int64_t deadline_ms, uint64_t spin_ns)
{
    if (spin_ns) {
        csc_zmtp_spin(fd, spin_ns);
    }
    for (;;) {
        unsigned char h[9];
        int r = s_read(fd, h, 2, deadline_ms, 1);
        uint64_t size = h[1];
        if (r > 0 && (h[0] & CS_ZMTP_LONG)) {
            r = s_read(fd, h + 2, 7, deadline_ms, 0);
            size = 0;
            for (int i = 1; i < 9; i++) {
                size = size << 8 | h[i];
            }
        }
        if (r <= 0) {
            return r;
        }
        if ((h[0] & ~(CS_ZMTP_MORE | CS_ZMTP_LONG | CS_ZMTP_COMMAND)) || size > max) {
            return -1;
        }
        if (size > body->cap) {
            char *grown = realloc(body->data, (size_t)size);
            if (!grown) {
                return -1;
            }
            body->data = grown;
            body->cap = (size_t)size;
        }
        body->len = 0;
        r = s_read(fd, body->data, (size_t)size, deadline_ms, 0);
        if (r <= 0) {
            return r;
        }
        body->len = (size_t)size;
        if (!(h[0] & (CS_ZMTP_COMMAND | CS_ZMTP_MORE))) {
            return 1; /* a message's last frame; commands and earlier frames are skipped */
        }
    }
}
