/* cs_date.h: calendar dates as the protocol and the catalog write them: "YYYY-MM-DD" outside,
 * yyyymmdd ints inside (they compare as dates). Pure functions; thread-safe. */
#ifndef CS_DATE_H
#define CS_DATE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Parse "YYYY-MM-DD" into yyyymmdd, checking it is a real date (leap years included; years
 * from 1900). CS_OK or CS_EMALFORMED; yyyymmdd may be NULL to check only. */
int cs_date_parse(const char *s, size_t len, int *yyyymmdd);
/* Format yyyymmdd as "YYYY-MM-DD" into out[11]. */
void cs_date_format(int yyyymmdd, char out[11]);

#ifdef __cplusplus
}
#endif
#endif /* CS_DATE_H */
