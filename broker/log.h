/* log — one line per event on stderr: "2026-11-29T10:00:00Z zorgnetd: event key=value ...".
 * Callers never pass secrets or payloads; ids and codes only. */
#ifndef ZN_LOG_H
#define ZN_LOG_H

#include <stdint.h>

void zn_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The broker's clock: wall-clock time plus the offset set at start (zorgnetd --clock-offset, for
 * retention drills and tests; 0 otherwise). */
uint64_t zn_now_ms(void);
void zn_clock_set_offset_ms(int64_t offset_ms);

#endif
