/* cs_proto_peek.c: a glance at a request that is still to be answered
 * (cs_proto_peek_lookup in wire/cs_proto.h).
 *
 * A pipelining client's read brings the broker hundreds of lookups at once. Each is a few
 * cache misses in its release's code index, one after the other: looking at the requests
 * queued behind the one being answered lets their misses be started early (the broker's
 * look-ahead). The glance is a hint, never an answer: it trusts nothing, reads within the
 * body's bounds only, and says no to anything but the plainest lookup; the request is
 * decoded and checked in full when its turn comes.
 */
#include <string.h>

#include "wire/cs_proto.h"

/* A code a system's normalize may be shown before the decoder's checks have run: printable
 * ASCII (the decoder refuses control characters; nothing else is worth a fetch), and short,
 * as a fixstr is (31 bytes at most: longer than any system's code, however spaced). */
static int s_plain_code(cs_str_t c)
{
    if (c.len == 0) {
        return 0;
    }
    for (uint32_t i = 0; i < c.len; i++) {
        unsigned char ch = (unsigned char)c.ptr[i];
        if (ch < 0x20 || ch > 0x7e) {
            return 0;
        }
    }
    return 1;
}

/* The glance costs a few tens of nanoseconds or it costs more than the misses it saves: it
 * reads only what clients send for a plain lookup, a fixmap of fixstr keys whose values are
 * fixstr, an unsigned integer (an id), nil or a bool, and says no to anything else. */
int cs_proto_peek_lookup(const void *body, size_t len, cs_str_t *system, cs_str_t *code)
{
    const unsigned char *p = body;
    if (len == 0 || (p[0] & 0xf0) != 0x80) {
        return 0;
    }
    unsigned n = p[0] & 0x0fu;
    size_t pos = 1;
    int is_lookup = 0;
    *system = *code = (cs_str_t){NULL, 0};
    for (unsigned i = 0; i < n; i++) {
        if (pos >= len || (p[pos] & 0xe0) != 0xa0) {
            return 0;
        }
        const char *key = (const char *)p + pos + 1;
        size_t klen = p[pos] & 0x1fu;
        pos += 1 + klen;
        if (pos >= len) {
            return 0; /* the key runs past the body, or no value follows it */
        }
        unsigned char t = p[pos];
        cs_str_t str = {NULL, 0};
        if ((t & 0xe0) == 0xa0) {
            str = (cs_str_t){(const char *)p + pos + 1, t & 0x1fu};
            pos += 1 + str.len;
        } else if (t <= 0x7f || t == 0xc0 || t == 0xc2 || t == 0xc3) {
            pos += 1;
        } else if (t >= 0xcc && t <= 0xcf) {
            pos += 1 + ((size_t)1 << (t - 0xcc));
        } else {
            return 0;
        }
        if (pos > len) {
            return 0;
        }
        if (klen == 2 && memcmp(key, "op", 2) == 0) {
            is_lookup = str.len == 6 && memcmp(str.ptr, "lookup", 6) == 0;
        } else if (klen == 6 && memcmp(key, "system", 6) == 0) {
            *system = str;
        } else if (klen == 4 && memcmp(key, "code", 4) == 0) {
            *code = str;
        } else if ((klen == 7 && memcmp(key, "release", 7) == 0) ||
                   (klen == 4 && memcmp(key, "date", 4) == 0)) {
            return 0; /* another release than the current one: not worth the resolving */
        }
    }
    return is_lookup && system->len && s_plain_code(*code);
}
