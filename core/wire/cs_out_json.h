/* cs_out_json.h: the result interface's JSON writer (engine/cs_out.h), for the HTTP facade.
 *
 * It writes the reply tree as JSON text (RFC 8259) into a growable buffer it owns. The counts
 * that cs_out's map and array announce close them: after a map's n pairs the writer writes
 * '}', after an array's n items ']', so a handler never ends a container. Commas and colons
 * come from a small stack of open containers (a map's items alternate key, value).
 *
 * Values:
 *   - str: quoted; '"' and '\' escaped, control characters as \n \t \r \b \f or \u00XX;
 *     every other byte passed through (cs_out guarantees well-formed UTF-8).
 *   - a map key that is not a str (no handler writes one) is written quoted, so the text
 *     stays JSON: an int 5 as "5", nil as "null", a bool as "true"/"false".
 *   - f64: the shortest of %.15g / %.17g that reads back to the same double, with ".0"
 *     added to a whole number so it reads back as a float; NaN and infinities, which JSON
 *     cannot write, become null.
 *   - id: echoed as its type (null, true/false, integer, float); a str id as a str; a bin id
 *     (msgpack only: a JSON request cannot send one) as a str of its bytes, each ill-formed
 *     part replaced by U+FFFD as cs_out_strn does.
 *   - validation and hit records: the trees of docs/PROTOCOL.md (cs_out_validation_tree,
 *     cs_out_hit_tree).
 *
 * mark/rewind: a mark is the buffer's length; rewind restores that length and the container
 * stack as it was at the mark. The writer keeps the stacks of its CS_OUT_JSON_MARKS most
 * recent marks; a rewind to any other mark (or one of a length never marked) sets the
 * writer's status to CS_EINVAL.
 *
 * Errors are sticky and read at the end (cs_out_json_status): CS_ENOMEM when the buffer could
 * not grow (or would pass the writer's limit), CS_EINVAL when the tree was misused (a
 * container nested deeper than CS_OUT_JSON_MAX_DEPTH, a container as a map key, a value after
 * the top-level value ended, an unknown mark). After an error the writer ignores every write.
 *
 * Thread-safety: a writer belongs to one thread. No global state.
 */
#ifndef CS_OUT_JSON_H
#define CS_OUT_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "engine/cs_out.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CS_OUT_JSON_MAX_DEPTH 32 /* deepest open containers (a reply nests about 5) */
#define CS_OUT_JSON_MARKS 4      /* marks whose container stack is kept */

/* One open container. */
typedef struct cs_out_json_level {
    uint32_t total; /* elements it holds: items of an array, 2 x pairs of a map */
    uint32_t left;  /* elements still to come */
    uint8_t is_map;
} cs_out_json_level_t;

/* The container stack at a mark. */
typedef struct cs_out_json_mark {
    size_t len;   /* the buffer's length at the mark */
    unsigned depth;
    int done;     /* the top-level value had ended */
    cs_out_json_level_t stack[CS_OUT_JSON_MAX_DEPTH];
} cs_out_json_mark_t;

/* The writer. Fields are internal; use the functions below. */
typedef struct cs_out_json {
    cs_out_t out;          /* first: a cs_out_t * to this writer is &w->out */
    char *buf;             /* the text, NUL-terminated when cap > 0 */
    size_t len, cap;
    size_t limit;          /* most bytes the text may take (0: no limit) */
    int status;            /* CS_OK, CS_ENOMEM or CS_EINVAL */
    int done;              /* the top-level value has ended */
    unsigned depth;        /* open containers */
    cs_out_json_level_t stack[CS_OUT_JSON_MAX_DEPTH];
    cs_out_json_mark_t marks[CS_OUT_JSON_MARKS]; /* ring of the latest marks */
    unsigned n_marks;      /* marks taken since the last reset */
} cs_out_json_t;

/* An empty writer with no limit. Returns &w->out. Allocates nothing yet. */
cs_out_t *cs_out_json_init(cs_out_json_t *w);
/* At most limit bytes of text (0: none); passing it is CS_ENOMEM. */
void cs_out_json_set_limit(cs_out_json_t *w, size_t limit);
/* Empty the writer for the next reply, keeping its buffer (and its limit). */
void cs_out_json_reset(cs_out_json_t *w);
/* The text ("" when nothing was written), NUL-terminated; valid until the next write, reset
 * or free. */
const char *cs_out_json_data(const cs_out_json_t *w);
size_t cs_out_json_len(const cs_out_json_t *w);
/* CS_OK when every write succeeded, else the first error (CS_ENOMEM or CS_EINVAL). */
int cs_out_json_status(const cs_out_json_t *w);
/* 1 when exactly one whole top-level value has been written and the status is CS_OK. */
int cs_out_json_complete(const cs_out_json_t *w);
/* Free the buffer; the writer is as after init. Harmless twice. */
void cs_out_json_free(cs_out_json_t *w);

#ifdef __cplusplus
}
#endif
#endif /* CS_OUT_JSON_H */
