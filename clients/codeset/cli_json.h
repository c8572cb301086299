/* cli_json.h: renders a msgpack object as one line of JSON text (RFC 8259).
 *
 * Strings are escaped (", \, control characters) and invalid UTF-8 becomes U+FFFD, so the
 * output is always valid JSON. bin and ext payloads become base64 strings. Map keys that are
 * not strings are stringified (an int key 7 becomes "7", any other key its JSON text).
 * Floats print in their shortest round-tripping form; NaN and infinities become null.
 * Thread-safety: no state; safe from any thread.
 */
#ifndef CS_CLI_JSON_H
#define CS_CLI_JSON_H

#include <stddef.h>
#include <stdio.h>

#include <msgpack.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Write obj as JSON to out (no trailing newline). Returns 0, or -1 if a write failed. */
int cs_cli_json_write(FILE *out, const msgpack_object *obj);

/* Write the n bytes at s as a quoted, escaped JSON string. Returns 0 or -1 on write error. */
int cs_cli_json_write_str(FILE *out, const char *s, size_t n);

/* obj as a JSON text in a new NUL-terminated string; the caller frees it. NULL on ENOMEM. */
char *cs_cli_json_dup(const msgpack_object *obj);

#ifdef __cplusplus
}
#endif
#endif /* CS_CLI_JSON_H */
