/* log — one line per event on stderr: "2026-11-29T10:00:00Z zorgnetd: event key=value ...".
 * Callers never pass secrets or payloads; ids and codes only. */
#ifndef ZN_LOG_H
#define ZN_LOG_H

#include <stdint.h>

void zn_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
uint64_t zn_now_ms(void);

#endif
