/* cs_spin.c: the serving loop's spin (cs_spin.h). */
#include "util/cs_spin.h"

uint64_t cs_spin_window(uint64_t gap, uint64_t min_ns, uint64_t max_ns)
{
    if (gap > max_ns) {
        return min_ns; /* an idle client's next request is not worth the CPU */
    }
    uint64_t w = 2 * gap;
    return w < min_ns ? min_ns : w > max_ns ? max_ns : w;
}
