/* cs_version.h: the version of codeset (the broker, its library and its clients).
 *
 * Public, so that a client (the codeset CLI among them) can print it without the core's
 * internal headers. The Makefile reads the string from here for the shared libraries'
 * versions and the pkg-config files: keep it one "MAJOR.MINOR.PATCH" string on one line.
 */
#ifndef CS_VERSION_H
#define CS_VERSION_H

#define CS_VERSION "0.1.0"

/* The same version as numbers (keep them in step with CS_VERSION). */
enum { CS_VERSION_MAJOR = 0, CS_VERSION_MINOR = 1, CS_VERSION_PATCH = 0 };

#endif /* CS_VERSION_H */
