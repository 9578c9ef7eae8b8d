#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static int64_t s_offset_ms;

void zn_clock_set_offset_ms(int64_t offset_ms) { s_offset_ms = offset_ms; }

uint64_t zn_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u + (uint64_t)s_offset_ms;
}

void zn_log(const char *fmt, ...)
{
    char line[1024];
    struct tm tm;
    time_t now = time(NULL);
    gmtime_r(&now, &tm);
    size_t n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%SZ zorgnetd: ", &tm);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line);
}
