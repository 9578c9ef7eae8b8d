/* zap — the ZeroMQ authentication (ZAP, RFC 27) handler: admits a CurveZMQ client only when
 * its transport key belongs to a partner of the current convenant, and names the connection by
 * that key (User-Id = 64 hex characters), so the broker maps every message to the partner that
 * holds the key *now* (a partner removed or re-keyed by a reload is refused at once).
 *
 * Refused handshakes are counted per key and minute and logged as one line per key when the
 * minute ends (at most ZN_ZAP_TRACKED keys a minute, the rest summed), so a client hammering the
 * broker cannot flood the log or disturb anyone else.
 *
 * Ownership: zn_zap_new returns a state released by zn_zap_destroy(&z). */
#ifndef ZN_ZAP_H
#define ZN_ZAP_H

#include "zn_convenant.h"
#include <stdint.h>

#define ZN_ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZN_ZAP_TRACKED 64

typedef struct zn_zap zn_zap;

zn_zap *zn_zap_new(void);
void zn_zap_destroy(zn_zap **z);
/* Answer one pending request on the REP socket. Returns 0, or -1 when nothing could be read. */
int zn_zap_handle(zn_zap *z, void *rep, const zn_convenant *c, uint64_t now_ms);
/* Called once per key and minute with the refusals counted (key NULL: the keys beyond the
 * tracked ones, summed), so the broker can record them in its audit log. */
typedef void (*zn_zap_report_fn)(void *ctx, const uint8_t *key, uint64_t count, uint64_t minute);
void zn_zap_set_report(zn_zap *z, zn_zap_report_fn fn, void *ctx);
/* Log and report the counts of a minute that has ended (or everything, when force). */
void zn_zap_flush(zn_zap *z, uint64_t now_ms, int force);
/* Total refusals since start (for tests and the shutdown line). */
uint64_t zn_zap_refused_total(const zn_zap *z);

#endif
