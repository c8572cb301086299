/* cs_zmtp.h: the ZMTP 3.x wire format, as far as a NULL-mechanism ROUTER needs it: the
 * greeting, commands (READY, ERROR, PING/PONG) and an incremental frame decoder
 * (ZeroMQ RFC 23/ZMTP and 37/ZMTP).
 *
 * No I/O and no allocation: the caller owns every buffer. The decoder takes bytes as they
 * come, in pieces of any size, and never reads past what it is given. Thread-safety: none
 * needed (a decoder belongs to one connection).
 */
#ifndef CS_ZMTP_H
#define CS_ZMTP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CS_ZMTP_GREETING 64 /* bytes of a ZMTP 3 greeting */
/* Bytes of a greeting that tell its version: the signature (10) and the major version. */
#define CS_ZMTP_GREETING_VERSION 11

/* Frame flags (the first byte of a frame). */
enum { CS_ZMTP_MORE = 0x01, CS_ZMTP_LONG = 0x02, CS_ZMTP_COMMAND = 0x04 };

/* Fill g with this side's greeting: version 3.0, mechanism NULL, as-server 0. */
void cs_zmtp_greeting(uint8_t g[CS_ZMTP_GREETING]);

/* Check the first n bytes of a peer's greeting (n <= CS_ZMTP_GREETING). 1 when n is the
 * whole greeting and it is a ZMTP 3 peer of the NULL mechanism; 0 when nothing is wrong yet
 * and more bytes are needed; -1 when it is refused, *why (a static string) saying why. The
 * signature and version are judged as soon as their bytes are in, so that a ZMTP 1 or 2
 * peer, whose greeting is shorter, is refused rather than waited for. */
int cs_zmtp_greeting_check(const uint8_t *g, size_t n, const char **why);

/* Write the header of a frame of size bytes with flags (CS_ZMTP_MORE, CS_ZMTP_COMMAND) into
 * h; returns its length, 2 or 9 (the long form past 255 bytes). */
size_t cs_zmtp_header(uint8_t h[9], int flags, uint64_t size);

/* A whole command frame, header included, into out (cap bytes): name (1..255 bytes) then
 * data. Returns its length, or 0 when it does not fit. */
size_t cs_zmtp_command(uint8_t *out, size_t cap, const char *name, const void *data,
                       size_t len);
/* A READY command frame announcing socket_type ("ROUTER"). Returns its length, or 0. */
size_t cs_zmtp_ready(uint8_t *out, size_t cap, const char *socket_type);
/* An ERROR command frame with reason (cut to 255 bytes). Returns its length, or 0. */
size_t cs_zmtp_error(uint8_t *out, size_t cap, const char *reason);

/* The name of a command whose body (after the frame header) is len bytes: 1 and *name,
 * *name_len set, or 0 when the body is too short for the name it announces. */
int cs_zmtp_command_name(const uint8_t *body, size_t len, const uint8_t **name,
                         size_t *name_len);
/* 1 when a command body is the command name (compared as RFC 37 says: exactly). */
int cs_zmtp_command_is(const uint8_t *body, size_t len, const char *name);

/* The value of property name (compared without case, as RFC 37 says) in a READY body.
 * 1 when found (*value, *value_len set), 0 when absent, -1 when the properties are
 * malformed (a length runs past the end). */
int cs_zmtp_ready_property(const uint8_t *body, size_t len, const char *name,
                           const uint8_t **value, size_t *value_len);

/* An incremental frame decoder. Zero it, set max, then feed it bytes. */
typedef struct cs_zmtp_decoder {
    uint64_t max;     /* largest frame accepted (bytes) */
    uint8_t hdr[9];   /* the header read so far */
    uint8_t have;     /* bytes of it */
    uint8_t in_body;  /* 1 while reading a frame's body */
    uint8_t flags;    /* the frame's flags */
    uint64_t size;    /* the frame's size */
    uint64_t left;    /* bytes of its body still to come */
} cs_zmtp_decoder_t;

/* What one step of the decoder found. */
typedef enum cs_zmtp_event {
    CS_ZMTP_NEED,   /* every byte given was used: feed more */
    CS_ZMTP_HEADER, /* a frame starts: flags and size in the decoder (size <= max) */
    CS_ZMTP_DATA,   /* bytes of its body: *data, *len; *last when the frame is complete */
    CS_ZMTP_BAD     /* a protocol error: *why (static) says what; the stream is lost */
} cs_zmtp_event_t;

/* Take one step over the n bytes at p: returns the event and sets *used to the bytes it
 * consumed (the caller moves on by that many and calls again while bytes remain). A frame
 * of size 0 gives HEADER then DATA with *len 0 and *last 1 (at once, even when n is 0). */
cs_zmtp_event_t cs_zmtp_decode(cs_zmtp_decoder_t *d, const uint8_t *p, size_t n,
                               size_t *used, const uint8_t **data, size_t *len, int *last,
                               const char **why);

#ifdef __cplusplus
}
#endif
#endif /* CS_ZMTP_H */
