/* cs_index_keys.c: the built-in system of index sets (cs_index_keys.h). */
#include "load/cs_index_keys.h"

#include <string.h>

#include "store/cs_index_format.h"

/* An index set's key as its storage and display form: checked, never rewritten (user text in
 * lower case is upper-cased, as the set's keys are). */
static int s_normalize(const char *in, size_t len, cs_code_t *out, cs_error_t *err)
{
    while (len && (*in == ' ' || *in == '\t')) {
        in++;
        len--;
    }
    while (len && (in[len - 1] == ' ' || in[len - 1] == '\t')) {
        len--;
    }
    char key[CS_CODE_MAX];
    for (size_t i = 0; i < len && i < sizeof key; i++) {
        key[i] = (in[i] >= 'a' && in[i] <= 'z') ? (char)(in[i] - 'a' + 'A') : in[i];
    }
    if (!cs_index_key_ok(key, len)) {
        return cs_error_set(err, CS_EMALFORMED, "'%.*s' is not an index set key (upper-case "
                            "letters and digits, 1 to 31)", (int)(len > 40 ? 40 : len), in);
    }
    memcpy(out->key, key, len);
    out->key[len] = '\0';
    memcpy(out->display, out->key, len + 1);
    return CS_OK;
}

static int s_never_code(const char *in, size_t len)
{
    (void)in;
    (void)len;
    return 0;
}

static const char *const s_kinds[] = {"table", "main_term", "term", NULL};

static const cs_system_ops_t s_ops = {
    .normalize = s_normalize,
    .looks_like_code = s_never_code,
    .kinds = s_kinds,
};

static const cs_plugin_desc_t s_desc = {
    CS_PLUGIN_HEADER,
    .kind = CS_PLUGIN_SYSTEM,
    .name = CS_INDEX_SET,
    .version = "1.0.0",
    .title = "ICD-10-CM Index sets (built in: their keys need no plugin)",
    .system = &s_ops,
};

const cs_plugin_desc_t *cs_index_keys_system(void)
{
    return &s_desc;
}

const cs_plugin_desc_t *cs_index_keys_for(const char *name, size_t n)
{
    return name && n == sizeof CS_INDEX_SET - 1 && memcmp(name, CS_INDEX_SET, n) == 0 ? &s_desc
                                                                                      : NULL;
}
