/* cases — the broker's side of cases, consent, safety overrides and warm handovers: the
 * requests of docs/PROTOCOL.md "Cases, consent, overrides and handovers", the traffic decision
 * for every envelope on a case, the purge of what is queued for partners a change puts out of
 * scope, and the clock (override expiry and review escalation, consent expiry, handover
 * timeouts, retention of closed cases).
 *
 * Like signals.c it runs inside the event loop's transaction: the caller opens a savepoint per
 * request, records the request's nonce and rolls back on -1. Every decision appends its audit
 * entry (with its legal basis and the signed request as evidence) and queues its notices
 * through the environment, so they commit with the change or not at all. Who may do what, and
 * on which basis traffic flows, are the tables of policy.c; this module gathers the facts
 * (zn_case_facts) from the store and applies the outcome.
 *
 * Audit entries (docs/AUDIT.md): case-new, case-show, case-close, case-link, consent-set,
 * consent-show, consent-expire, override-new, override-list, override-review, override-expire,
 * override-escalate, handover-offer, handover-accept, handover-decline, handover-withdraw,
 * handover-list, handover-escalate, case-delete, and "drop" for each envelope a change stopped.
 *
 * Ownership: everything is borrowed for the duration of the call; results are appended to a
 * caller-owned sbuffer. */
#ifndef ZN_CASES_H
#define ZN_CASES_H

#include "policy.h"
#include "signals.h"
#include "store.h"

#include <stdbool.h>
#include <stdint.h>

#define ZN_CASES_TICK_MAX 256              /* overrides, ended consents, handovers and cases handled per tick */
#define ZN_CASES_TICK_EVERY_MS 5000u       /* how often the clock runs */

/* The same callbacks as signals (audit, notify), plus one for each queued envelope a change
 * stops: the broker adjusts its queue counts (and undoes that when the request rolls back); and
 * one that tells whether a queued item was pushed to the recipient's connected client and not
 * yet acknowledged (it was delivered before the change: a purge leaves it alone). Either may be
 * NULL (nothing to count; nothing in flight). */
typedef struct {
    zn_signals_env base;
    void (*dequeued)(void *ctx, const char *recipient);
    bool (*in_flight)(void *ctx, const char *recipient, const uint8_t item_id[ZN_ID_LEN]);
} zn_cases_env;

/* The partner behind a request; its entries carry the signed request as evidence. case_id and
 * case_known (caller-owned, may be NULL) are written by zn_cases_request: the case the request
 * is about as soon as its body names it (or its override or handover leads to it), so that the
 * caller's entry for a refusal can name the case too; *case_known false when it never did. */
typedef struct {
    const zn_partner *p;
    const char *handler;
    const uint8_t *req, *sig;
    size_t req_len;
    uint8_t *case_id;  /* out: ZN_ID_LEN bytes */
    bool *case_known;  /* out */
} zn_cases_actor;

/* A traffic decision and what it relied on (for the audit entry's basis and details). */
typedef struct {
    zn_basis basis;
    uint64_t consent_seq;            /* basis consent: the consent record relied on */
    uint8_t override_id[ZN_ID_LEN];  /* basis safety-override: the override relied on */
} zn_case_decision;

/* true when `kind` is a request this module answers. */
bool zn_cases_handles(const char *kind);

/* Handle one request of a kind zn_cases_handles accepts ("case-new" included): the RESULT body
 * goes to `result`. -1 with e set on refusal (the caller rolls back and records the refusal). */
int zn_cases_request(const zn_cases_env *env, const zn_cases_actor *a, const char *kind,
                     const msgpack_object *body, msgpack_sbuffer *result, zn_err *e)
    __attribute__((warn_unused_result));

/* The decision for an envelope from sender to recipient on kase (SEND): the policy's role rows
 * and traffic table over the facts in the store. 0 with *d filled when allowed, -1 with e set
 * when refused (or ZN_E_STORE). Changes nothing. */
int zn_cases_traffic(const zn_cases_env *env, const zn_partner *sender, const zn_partner *recipient,
                     const zn_case *kase, zn_case_decision *d, zn_err *e) __attribute__((warn_unused_result));

/* Record that recipient received an envelope on the case (membership "received"): the broker
 * calls it when the recipient acknowledges the envelope, in the transaction that deletes it.
 * One INSERT OR IGNORE; 0 or -1. */
int zn_cases_received(const zn_cases_env *env, const uint8_t case_id[ZN_ID_LEN], const char *recipient)
    __attribute__((warn_unused_result));

/* The audit details of a decision (basis-specific: "consent" u64 or "override" bin16), written
 * to det (room for 1); returns how many (0 or 1). */
size_t zn_cases_decision_details(const zn_case_decision *d, zn_audit_detail *det);

/* One step of the clock: overrides whose lifetime ended (override-expire, a notice to the
 * author, and the purge of what relied on them), pending overrides past their review time
 * (override-escalate, once, a notice to the auditors; one never escalated is escalated in the
 * same step as its expiry), cases whose current consent record (granted) reached its until
 * since the last step (consent-expire and the purge; the last step's point is kept in the
 * store's meta), open handovers past their timeout (handover-escalate, once, a notice to the
 * network's coordinators), and closed cases whose retention (retention_days after closing)
 * ended (case-delete). At most ZN_CASES_TICK_MAX of each. Returns how many were handled, or
 * -1. */
int zn_cases_tick(const zn_cases_env *env);

/* A partner left the convenant (a reload; env's convenant is the new one): the open handovers
 * offered to it lapse: state withdrawn, a "handover-withdraw" entry by the broker (counterpart
 * the partner, reason not-in-convenant) and a "handover-withdrawn" notice to the offering
 * partner. Returns how many, or -1. */
int zn_cases_partner_left(const zn_cases_env *env, const char *partner) __attribute__((warn_unused_result));

#endif
