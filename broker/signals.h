/* signals — the broker's side of signals and matches: registration and refresh, matching,
 * disclosure, connect and lead, withdrawal, expiry, rate limits (docs/PROTOCOL.md "Signals").
 *
 * The event loop owns the transaction; these functions run inside it (the caller opens a
 * savepoint per request, records the request's nonce, and rolls back on -1). Every change
 * appends its audit entries and queues its notices through the environment's callbacks, so
 * both commit with the change or not at all. The rules themselves (who may, who learns of a
 * match, which lead is proposed, the limits) are pure functions in policy.c.
 *
 * Ownership: everything is borrowed for the duration of the call; results are appended to a
 * caller-owned sbuffer. */
#ifndef ZN_SIGNALS_H
#define ZN_SIGNALS_H

#include "store.h"
#include "zn_audit.h"
#include "zn_convenant.h"
#include "zn_err.h"

#include <stdbool.h>
#include <stdint.h>

#define ZN_SIGNALS_CANDIDATES 256   /* other signals looked at per registration, at most */
#define ZN_SIGNALS_EXPIRE_MAX 1024  /* signals expired per step */
#define ZN_SIGNALS_REPORT_MS (3600u * 1000u) /* one enumeration report per partner and hour */
#define ZN_SIGNALS_EXPIRE_EVERY_MS 5000u   /* how often expiry looks for signals whose time came */

typedef struct {
    zn_store *store;
    const zn_convenant *conv;
    uint64_t now;
    /* Append an entry to the audit log in the open transaction; -1 poisons the batch. */
    int (*audit)(void *ctx, zn_audit_entry *en);
    /* Queue a notice (an encoded notice item) for partner `recipient`; -1 on failure. */
    int (*notify)(void *ctx, const char *recipient, const uint8_t *notice, size_t len);
    void *ctx;
} zn_signals_env;

/* The partner behind a request: its entries carry the signed request as evidence. */
typedef struct {
    const zn_partner *p;
    const char *handler;
    const uint8_t *req, *sig;
    size_t req_len;
    uint64_t *last_report_ms; /* this partner's last enumeration report (in and out) */
    /* set by a refusal for exceeding a limit, read by zn_signals_refused */
    char limited_network[ZN_IDENT_MAX];
    const char *limit;
    uint64_t count;
} zn_signals_actor;

/* true when `kind` is a request this module answers. */
bool zn_signals_handles(const char *kind);

/* Handle one request of a kind zn_signals_handles accepts: the RESULT body goes to `result`.
 * -1 with e set on refusal; the caller rolls the request's changes back and then calls
 * zn_signals_refused, which reports a rate limit to the coordinators and auditors. */
int zn_signals_request(const zn_signals_env *env, zn_signals_actor *a, const char *kind,
                       const msgpack_object *body, msgpack_sbuffer *result, zn_err *e)
    __attribute__((warn_unused_result));
int zn_signals_refused(const zn_signals_env *env, zn_signals_actor *a);

/* Delete up to ZN_SIGNALS_EXPIRE_MAX signals whose time has come (one "signal-expire" entry
 * each) and forget rate events older than a day. Returns how many expired, or -1. */
int zn_signals_expire(const zn_signals_env *env);

#endif
