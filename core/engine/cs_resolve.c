/* cs_resolve.c: the one release resolver. */
#include "engine/cs_resolve.h"
#include "load/cs_index_keys.h"

#include <stdio.h>
#include <string.h>

cs_proto_err_t cs_resolve(cs_reader_t *r, cs_catalog_memo_t *memo,
                          const cs_plugin_host_t *plugins, cs_str_t system, cs_str_t release,
                          int date, cs_resolution_t *out)
{
    char sbuf[64], lbuf[80];
    out->msg[0] = '\0'; /* not the whole struct: this runs for every lookup */
    out->err = CS_PERR_NONE;
    out->sys = cs_plugin_host_system(plugins, system.ptr, system.len);
    if (!out->sys) {
        out->sys = cs_index_keys_for(system.ptr, system.len); /* an index set's keys */
    }
    if (!out->sys) {
        snprintf(out->msg, sizeof out->msg, "no code system '%s' is known here",
                 cs_str_printable(system, sbuf, sizeof sbuf));
        return out->err = CS_PERR_UNKNOWN_SYSTEM;
    }
    if (release.len) {
        if (cs_catalog_by_label(r, system.ptr, system.len, release.ptr, release.len,
                                &out->rel) != CS_OK) {
            snprintf(out->msg, sizeof out->msg, "%s has no release '%s'", out->sys->name,
                     cs_str_printable(release, lbuf, sizeof lbuf));
            return out->err = CS_PERR_UNKNOWN_RELEASE;
        }
        return out->err = CS_PERR_NONE;
    }
    int rc = memo ? cs_catalog_in_effect(r, memo, system.ptr, system.len, date, &out->rel)
                  : date ? cs_catalog_by_date(r, system.ptr, system.len, date, &out->rel)
                         : cs_catalog_newest(r, system.ptr, system.len, &out->rel);
    if (rc != CS_OK) {
        rc = cs_catalog_why_none(r, system.ptr, system.len, out->sys->name, date, out->msg,
                                 sizeof out->msg);
        return out->err = rc == CS_OK && date ? CS_PERR_NO_RELEASE_FOR_DATE
                                              : CS_PERR_UNKNOWN_RELEASE;
    }
    return out->err = CS_PERR_NONE;
}
