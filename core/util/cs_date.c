/* cs_date.c: calendar dates as the protocol writes them (YYYY-MM-DD). */
#include "util/cs_date.h"

#include "codeset/cs_error.h"

static int s_digits(const char *s, unsigned n, int *out)
{
    int v = 0;
    for (unsigned i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

int cs_date_parse(const char *s, size_t len, int *yyyymmdd)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y, m, d;
    if (s == NULL || len != 10 || s[4] != '-' || s[7] != '-' || !s_digits(s, 4, &y)
        || !s_digits(s + 5, 2, &m) || !s_digits(s + 8, 2, &d)) {
        return CS_EMALFORMED;
    }
    if (y < 1900 || m < 1 || m > 12 || d < 1) {
        return CS_EMALFORMED;
    }
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    int max = mdays[m - 1] + (m == 2 && leap ? 1 : 0);
    if (d > max) {
        return CS_EMALFORMED;
    }
    if (yyyymmdd) {
        *yyyymmdd = y * 10000 + m * 100 + d;
    }
    return CS_OK;
}

void cs_date_format(int yyyymmdd, char out[11])
{
    int v = yyyymmdd < 0 ? 0 : yyyymmdd;
    int y = (v / 10000) % 10000, m = (v / 100) % 100, d = v % 100;
    out[0] = (char)('0' + y / 1000);
    out[1] = (char)('0' + y / 100 % 10);
    out[2] = (char)('0' + y / 10 % 10);
    out[3] = (char)('0' + y % 10);
    out[4] = '-';
    out[5] = (char)('0' + m / 10);
    out[6] = (char)('0' + m % 10);
    out[7] = '-';
    out[8] = (char)('0' + d / 10);
    out[9] = (char)('0' + d % 10);
    out[10] = '\0';
}
