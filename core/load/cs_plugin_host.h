/* cs_plugin_host.h: finds, checks and keeps the plugins (system and loader kinds).
 *
 * Plugins load only from the configured directory, at start-up: never because a client asked.
 * Each file must be a regular file, not group- or world-writable; it is dlopen()ed with
 * RTLD_NOW | RTLD_LOCAL, its one symbol `cs_plugin_<name>` looked up (name from the file name
 * `<name>.so`, '-' turned into '_'), and its descriptor checked in this order: abi_major ==
 * CS_ABI_MAJOR and abi_minor <= CS_ABI_MINOR (read before anything else), struct_size, name
 * equal to the file's, a known kind with its ops and every required callback, no plugin of
 * that name loaded already. Any failure dlclose()s the file and reports path and reason.
 *
 * Thread-safety: load plugins before starting threads; afterwards every lookup is read-only
 * and safe from any thread. The one exception is the rest of cs_plugin_host_load_dir_first's
 * directory, which its own thread appends while lookups run: then call no other loading
 * function. Descriptors stay valid until cs_plugin_host_destroy().
 */
#ifndef CS_PLUGIN_HOST_H
#define CS_PLUGIN_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "codeset/cs_plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cs_plugin_host cs_plugin_host_t;

/* A new, empty host, or NULL when out of memory. Caller owns it. */
cs_plugin_host_t *cs_plugin_host_new(void);

/* dlclose every plugin and free the host; *host becomes NULL. Accepts NULL and *host NULL. */
void cs_plugin_host_destroy(cs_plugin_host_t **host);

/* Load and check one plugin file. CS_OK; CS_EIO (cannot stat/open, not regular, writable by
 * group or others, dlopen failure), CS_EABI (version fields), CS_EMALFORMED (descriptor
 * mangled: size, name, kind, missing callback), CS_EEXIST (name already loaded), CS_ENOMEM.
 * err->msg names the path and the reason. */
int cs_plugin_host_load_file(cs_plugin_host_t *host, const char *path, cs_error_t *err);

/* Load every "*.so" of dir, in name order. A file that fails is logged (error level, path and
 * reason) and skipped. Returns CS_OK if dir could be read (even if some files failed), CS_EIO
 * otherwise, or when dir is not a directory or is writable by group or others (anyone who
 * can write there could drop in a plugin), with err filled. *n_loaded (may be NULL) gets the number
 * loaded by this call. */
int cs_plugin_host_load_dir(cs_plugin_host_t *host, const char *dir, size_t *n_loaded,
                            cs_error_t *err);

/* cs_plugin_host_load_dir, but only the plugins named in first (n_first ids: "<id>.so";
 * the systems a broker has releases of, say) are loaded before it returns; the others, "the
 * rest", load on a thread of the host's, in name order, once cs_plugin_host_load_rest
 * started it (a broker binds its sockets first, then answers queries while the loaders, which
 * pull in libxml2 and more, are loading). Lookups and the listing wait for the rest where it
 * could change what they return (and start it if nobody had): a lookup that finds nothing,
 * cs_plugin_host_sniff, _count, _at and _path_at; so no answer depends on when it was asked.
 * *n_loaded gets the number loaded before it returns. Errors as cs_plugin_host_load_dir, and
 * CS_EINVAL for a host that had one already; plugins loaded before an error stay. */
int cs_plugin_host_load_dir_first(cs_plugin_host_t *host, const char *dir,
                                  const char *const *first, size_t n_first, size_t *n_loaded,
                                  cs_error_t *err);

/* Start loading the rest of cs_plugin_host_load_dir_first's directory on the host's thread
 * (without a thread, in the caller's, logged). Before each file the thread gives way to
 * queries as cs_pace.h says, busy_ns being when the serving thread last answered one (NULL:
 * never gives way): it waits for CS_PLUGIN_HOST_REST_QUIET_MS without one, for up to
 * CS_PLUGIN_HOST_REST_WAIT_MS a file, until someone waits for the rest: no answer needs it
 * sooner (those that could, wait for it, above). A dlopen reads its libraries from disk and
 * holds the dynamic loader's lock: on a cold page cache the first lookups' own reads queue
 * behind it, and a serving thread that waits for the disk looks quiet for milliseconds.
 * Returns at once; again, or with no rest: no-op. */
#define CS_PLUGIN_HOST_REST_QUIET_MS 50
#define CS_PLUGIN_HOST_REST_WAIT_MS 1000
void cs_plugin_host_load_rest(const cs_plugin_host_t *host, const _Atomic uint64_t *busy_ns);

/* Wait until the rest (if any) is loaded, starting it if nobody had; the number of plugins
 * loaded then. */
size_t cs_plugin_host_wait(const cs_plugin_host_t *host);

/* The system plugin with that id (len bytes, not NUL-terminated), or NULL. */
const cs_plugin_desc_t *cs_plugin_host_system(const cs_plugin_host_t *host, const char *id,
                                              size_t len);

/* The loader plugin with that id, or NULL. */
const cs_plugin_desc_t *cs_plugin_host_loader(const cs_plugin_host_t *host, const char *id,
                                              size_t len);

/* The one loader whose sniff() accepts the files. NULL with err filled when none does
 * (CS_ENOTFOUND) or several do (CS_EINVAL, naming them). Sniffers open and read the files:
 * call it on a load thread with files already checked and pinned (cs_infile.h), never on a
 * thread that serves requests. */
const cs_plugin_desc_t *cs_plugin_host_sniff(const cs_plugin_host_t *host,
                                             const char *const *files, size_t n_files,
                                             cs_error_t *err);

/* Number of plugins loaded, and the i-th one in load order (NULL if i is out of range); after
 * cs_plugin_host_load_dir_first, in file name order, as cs_plugin_host_load_dir's. */
size_t cs_plugin_host_count(const cs_plugin_host_t *host);
const cs_plugin_desc_t *cs_plugin_host_at(const cs_plugin_host_t *host, size_t i);
/* The path the i-th plugin was loaded from. */
const char *cs_plugin_host_path_at(const cs_plugin_host_t *host, size_t i);

#ifdef __cplusplus
}
#endif
#endif /* CS_PLUGIN_HOST_H */
