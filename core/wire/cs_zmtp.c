/* cs_zmtp.c: the ZMTP 3.x greeting, commands and frame decoder (see cs_zmtp.h). */
#include "wire/cs_zmtp.h"

#include <string.h>
#include <strings.h>

/* The mechanism field: "NULL" padded with zeros to 20 bytes. */
static const uint8_t s_null_mechanism[20] = {'N', 'U', 'L', 'L'};

void cs_zmtp_greeting(uint8_t g[CS_ZMTP_GREETING])
{
    memset(g, 0, CS_ZMTP_GREETING);
    g[0] = 0xff; /* signature: 0xff, 8 bytes of padding, 0x7f */
    g[9] = 0x7f;
    g[10] = 3; /* version 3.0 */
    g[11] = 0;
    memcpy(g + 12, s_null_mechanism, sizeof s_null_mechanism); /* as-server (32): 0 */
}

int cs_zmtp_greeting_check(const uint8_t *g, size_t n, const char **why)
{
    if (n >= 1 && g[0] != 0xff) {
        *why = "not a ZMTP greeting (the first byte is not 0xff)";
        return -1;
    }
    if (n >= 10 && !(g[9] & 1)) {
        *why = "not a ZMTP 2 or 3 greeting (a ZMTP 1.0 peer, or garbage)";
        return -1;
    }
    if (n >= CS_ZMTP_GREETING_VERSION && g[10] < 3) {
        *why = "a ZMTP 1 or 2 peer: this endpoint speaks ZMTP 3";
        return -1;
    }
    if (n < CS_ZMTP_GREETING) {
        return 0;
    }
    if (memcmp(g + 12, s_null_mechanism, sizeof s_null_mechanism) != 0) {
        *why = "a security mechanism other than NULL";
        return -1;
    }
    return 1;
}

size_t cs_zmtp_header(uint8_t h[9], int flags, uint64_t size)
{
    if (size <= 255) {
        h[0] = (uint8_t)flags;
        h[1] = (uint8_t)size;
        return 2;
    }
    h[0] = (uint8_t)(flags | CS_ZMTP_LONG);
    for (int i = 0; i < 8; i++) {
        h[1 + i] = (uint8_t)(size >> (56 - 8 * i));
    }
    return 9;
}

/* A command frame whose body is name, then the n parts (pointer, length) in order. */
static size_t s_command(uint8_t *out, size_t cap, const char *name, const void *const *part,
                        const size_t *part_len, int n)
{
    size_t nl = strlen(name);
    size_t body = 1 + nl;
    for (int i = 0; i < n; i++) {
        body += part_len[i];
    }
    uint8_t h[9];
    size_t hl = cs_zmtp_header(h, CS_ZMTP_COMMAND, body);
    if (nl == 0 || nl > 255 || hl + body > cap) {
        return 0;
    }
    memcpy(out, h, hl);
    size_t at = hl;
    out[at++] = (uint8_t)nl;
    memcpy(out + at, name, nl);
    at += nl;
    for (int i = 0; i < n; i++) {
        memcpy(out + at, part[i], part_len[i]);
        at += part_len[i];
    }
    return at;
}

size_t cs_zmtp_command(uint8_t *out, size_t cap, const char *name, const void *data,
                       size_t len)
{
    return s_command(out, cap, name, &data, &len, 1);
}

size_t cs_zmtp_ready(uint8_t *out, size_t cap, const char *socket_type)
{
    /* one property: name length (1 byte), name, value length (4 bytes, network order) */
    static const char prop[] = "Socket-Type";
    size_t vl = strlen(socket_type);
    uint8_t nl = (uint8_t)(sizeof prop - 1);
    uint8_t v4[4] = {(uint8_t)(vl >> 24), (uint8_t)(vl >> 16), (uint8_t)(vl >> 8),
                     (uint8_t)vl};
    const void *parts[4] = {&nl, prop, v4, socket_type};
    const size_t lens[4] = {1, sizeof prop - 1, 4, vl};
    return s_command(out, cap, "READY", parts, lens, 4);
}

size_t cs_zmtp_error(uint8_t *out, size_t cap, const char *reason)
{
    size_t rl = strlen(reason);
    uint8_t l = (uint8_t)(rl > 255 ? 255 : rl);
    const void *parts[2] = {&l, reason};
    const size_t lens[2] = {1, l};
    return s_command(out, cap, "ERROR", parts, lens, 2);
}

int cs_zmtp_command_name(const uint8_t *body, size_t len, const uint8_t **name,
                         size_t *name_len)
{
    if (len < 1 || (size_t)body[0] + 1 > len) {
        return 0;
    }
    *name = body + 1;
    *name_len = body[0];
    return 1;
}

int cs_zmtp_command_is(const uint8_t *body, size_t len, const char *name)
{
    const uint8_t *n;
    size_t nl;
    return cs_zmtp_command_name(body, len, &n, &nl) && nl == strlen(name) &&
           memcmp(n, name, nl) == 0;
}

int cs_zmtp_ready_property(const uint8_t *body, size_t len, const char *name,
                           const uint8_t **value, size_t *value_len)
{
    const uint8_t *cmd;
    size_t cl;
    if (!cs_zmtp_command_name(body, len, &cmd, &cl)) {
        return -1;
    }
    size_t at = 1 + cl, want = strlen(name);
    int found = 0;
    while (at < len) {
        size_t nl = body[at++];
        if (nl == 0 || len - at < nl + 4) {
            return -1;
        }
        const uint8_t *pn = body + at;
        at += nl;
        uint64_t vl = (uint64_t)body[at] << 24 | (uint64_t)body[at + 1] << 16 |
                      (uint64_t)body[at + 2] << 8 | body[at + 3];
        at += 4;
        if (vl > len - at) {
            return -1;
        }
        if (!found && nl == want && strncasecmp((const char *)pn, name, nl) == 0) {
            *value = body + at;
            *value_len = (size_t)vl;
            found = 1; /* the rest is still checked: a malformed READY is refused whole */
        }
        at += (size_t)vl;
    }
    return found;
}

/* The frame header is in: check it and start the body. */
static cs_zmtp_event_t s_header_done(cs_zmtp_decoder_t *d, const char **why)
{
    d->flags = d->hdr[0];
    d->have = 0;
    if (d->flags & ~(CS_ZMTP_MORE | CS_ZMTP_LONG | CS_ZMTP_COMMAND)) {
        *why = "a frame with reserved flag bits set";
        return CS_ZMTP_BAD;
    }
    uint64_t size = d->hdr[1];
    if (d->flags & CS_ZMTP_LONG) {
        size = 0;
        for (int i = 1; i < 9; i++) {
            size = size << 8 | d->hdr[i];
        }
    }
    d->size = size;
    if (size > d->max) {
        *why = "a frame larger than the largest message this broker accepts";
        return CS_ZMTP_BAD;
    }
    d->left = size;
    d->in_body = 1;
    return CS_ZMTP_HEADER;
}

cs_zmtp_event_t cs_zmtp_decode(cs_zmtp_decoder_t *d, const uint8_t *p, size_t n,
                               size_t *used, const uint8_t **data, size_t *len, int *last,
                               const char **why)
{
    *used = 0;
    if (!d->in_body) {
        size_t need = d->have >= 1 && (d->hdr[0] & CS_ZMTP_LONG) ? 9 : 2;
        while (d->have < need && *used < n) {
            d->hdr[d->have++] = p[(*used)++];
            need = d->hdr[0] & CS_ZMTP_LONG ? 9 : 2;
        }
        return d->have < need ? CS_ZMTP_NEED : s_header_done(d, why);
    }
    size_t take = d->left < n ? (size_t)d->left : n;
    if (take == 0 && d->left > 0) {
        return CS_ZMTP_NEED;
    }
    *data = p;
    *len = take;
    *used = take;
    d->left -= take;
    *last = d->left == 0;
    d->in_body = !*last;
    return CS_ZMTP_DATA;
}
