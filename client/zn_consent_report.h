/* zn_consent_report — what an auditor reads out of the audit log about consent and safety
 * overrides, worked out from decoded entries alone (for `zorgnet audit consent` and the
 * override and handover sections of `zorgnet audit report`; docs/AUDIT.md, "Consent report and safety
 * overrides"). Pure: no I/O; the caller reads and verifies the entries, this module only
 * classifies them.
 *
 * Three parts:
 *   zn_evidence_text_open  the sealed free text inside an entry's evidence (a consent's purpose,
 *                          an override's justification or review note, a decline reason),
 *                          opened by the reader (a callback that holds its key), and whether
 *                          the signed request says the same as the entry's details.
 *   zn_crep                the consent report of one case: feed the case's entries in index
 *                          order; it keeps the consent history and sorts every exchange on the
 *                          case (send, handover-offer, handover-accept, case-link) into relied on
 *                          a consent / safety override / anonymous / refused / inconsistent, and
 *                          lists the drops.
 *   zn_orep                the safety overrides of a whole log (override-new with its reviews,
 *                          escalations and expiries), the handover escalations and the handover
 *                          declines with their reasons.
 *
 * Every list is bounded: at most `cap` rows are kept, later ones are only counted ("more").
 * What the report checks against (consent records, overrides) is kept in compact form, up to
 * ZN_REPORT_TRACK_MAX of each, so the classification does not depend on `cap`.
 *
 * Ownership: zn_crep_new / zn_orep_new return a report released with zn_crep_free(&r) /
 * zn_orep_free(&r) (NULLs it). Every pointer in a view (rows and their strings) is owned by the
 * report and valid until the next feed or the free. Entries handed to a feed are borrowed for
 * the call only (strings are copied). */
#ifndef ZN_CONSENT_REPORT_H
#define ZN_CONSENT_REPORT_H

#include "zn_audit.h"
#include "zn_sealed.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ZN_REPORT_CAP_DEFAULT 1000    /* rows kept per list */
#define ZN_REPORT_TRACK_MAX 65536     /* consent records and overrides tracked */
#define ZN_REPORT_EVENTS_MAX 8        /* reviews, escalations, expiries kept per override */

/* ---- sealed text in evidence ---- */

typedef enum {
    ZN_TEXT_NONE = 0,       /* no such text: nil in the request, or an action without one */
    ZN_TEXT_OPENED,         /* opened: text holds it */
    ZN_TEXT_NOT_FOR_YOU,    /* sealed, but not to this reader */
    ZN_TEXT_UNREADABLE,     /* no signed request of the entry's kind as evidence, or the text
                               cannot be read or does not open (what: why) */
} zn_text_status;

/* "none", "opened", "not-sealed-to-you", "unreadable"; "?" else. */
const char *zn_text_status_name(zn_text_status s);

typedef struct {
    zn_text_status status;
    bool mismatch;                      /* the signed request disagrees with the entry */
    char what[160];                     /* mismatch or unreadable: why, one phrase */
    char text[ZN_SEALED_TEXT_MAX + 1];  /* ZN_TEXT_OPENED: the text, else "" */
} zn_evidence_text;

/* Opens an encoded sealed array (zn_sealed.h; enc, len bytes) for the reader into text (cap
 * bytes, NUL-terminated, "" unless opened): 1 opened; 0 not sealed to this reader; -1 it cannot
 * be read or the reader's box does not open. zn_client_open_sealed has this shape. */
typedef int (*zn_report_open_fn)(void *ctx, const uint8_t *enc, size_t len, char *text, size_t cap);

/* For entries of "consent-set" (purpose), "override-new" (justification), "override-review"
 * (note) and "handover-decline" (reason) whose evidence is a signed request: parse the request
 * (its kind must be the entry's action, its partner the entry's actor), decode the body, check
 * an allowed entry against it (case; consent-set: state, scope, given_by, age_band, until;
 * override-new: override, to, step; override-review: override and the decision;
 * handover-decline: handover) and open the sealed text with open(ctx, ...) (open NULL: not
 * opened, ZN_TEXT_NOT_FOR_YOU when there is one). Other entries give ZN_TEXT_NONE. The evidence
 * signature is not checked here (`zorgnet audit verify` does). */
void zn_evidence_text_open(const zn_audit_entry *en, zn_report_open_fn open, void *ctx, zn_evidence_text *out);

/* ---- the consent report of one case ---- */

typedef struct {
    uint64_t index, time_ms;
    const char *actor, *handler;         /* "" when absent */
    uint64_t seq;
    const char *state;                   /* as recorded ("?" when absent) */
    const char *scope;                   /* comma list, "" none */
    const char *given_by, *age_band;     /* "" none */
    uint64_t until_ms;                   /* 0: until withdrawn */
    zn_text_status purpose_status;
    const char *purpose;                 /* ZN_TEXT_OPENED: the purpose, else "" */
    const char *note;                    /* NULL, or what is wrong with the record */
} zn_crep_consent;

typedef enum {
    ZN_CREP_CONSENT = 1,  /* relied on a consent record that was in force, granted, unexpired
                             and covered the recipient (in its scope, or the partner that
                             recorded it while that partner held the case) */
    ZN_CREP_OVERRIDE,     /* relied on a standing safety override between the two partners */
    ZN_CREP_ANONYMOUS,    /* basis anonymous */
    ZN_CREP_REFUSED,      /* a refused entry (any action on the case) */
    ZN_CREP_INCONSISTENT, /* what the entry says does not match the history (note: why) */
} zn_crep_class;

/* "consent", "safety-override", "anonymous", "refused", "inconsistent"; "?" else. */
const char *zn_crep_class_name(zn_crep_class c);

typedef struct {
    uint64_t index, time_ms;
    zn_crep_class cls;
    const char *action, *actor, *handler;  /* "" when absent */
    const char *counterpart;               /* "" when absent */
    const char *from, *to;     /* who shared with whom: send and handover-offer actor -> counterpart,
                                  handover-accept counterpart -> actor, case-link actor -> the
                                  partners told (comma list); "" for other actions */
    const char *basis;         /* as recorded, "" none */
    const char *reason;        /* as recorded (refused: the error code), "" none */
    bool has_consent;
    uint64_t consent_seq;      /* the consent record it claims to rely on */
    const char *consent_state; /* that record's state in the history, "" when not found */
    bool has_override;
    uint8_t override_id[16];
    const char *override_state; /* at the time: "pending" | "approved" | "rejected" |
                                   "expired" | "" (not in this case's log) */
    const char *ref_name;       /* "item" (send), "handover" (offer, accept), "" none */
    bool has_ref;
    uint8_t ref[16];
    bool i_checked;             /* the sender confirmed the flagged identifiers */
    bool dropped;               /* a later drop entry stopped this item */
    const char *note;           /* inconsistent: why; else NULL */
} zn_crep_exchange;

typedef struct {
    uint64_t index, time_ms;
    const char *recipient, *sender, *reason; /* "" when absent */
    bool has_item, has_msgid;
    uint8_t item[16], msgid[16];
    bool has_cause;
    uint64_t cause_index;       /* the change right before it: consent-set, consent-expire,
                                   override-review, override-expire, handover-accept */
    const char *cause;          /* e.g. "consent 2 withdrawn", "consent 2 expired", "override
                                   0a1b2c3d rejected", "handover 55b44314 accepted" */
    bool has_send;
    uint64_t send_index;        /* the exchange that queued the item, when in this report */
} zn_crep_drop;

typedef struct {
    size_t n;
    uint64_t more; /* rows not kept (over the cap) */
} zn_report_count;

typedef struct {
    uint64_t entries;              /* entries fed */
    bool has_case_new;             /* the case-new entry was among them */
    uint64_t created_ms, closed_ms;
    const char *network, *creator, *regisseur; /* "" unknown */
    bool identified;               /* a person was linked (case-new with a subject, or case-link) */
    uint64_t consent_seq;          /* the latest consent record (0: none) */
    const char *consent_state;     /* "none" when none */

    const zn_crep_consent *consent;
    zn_report_count n_consent;
    const zn_crep_exchange *relied;       /* ZN_CREP_CONSENT */
    zn_report_count n_relied;
    const zn_crep_exchange *overrides;    /* ZN_CREP_OVERRIDE */
    zn_report_count n_overrides;
    const zn_crep_exchange *anonymous;    /* ZN_CREP_ANONYMOUS */
    zn_report_count n_anonymous;
    const zn_crep_exchange *refused;      /* ZN_CREP_REFUSED */
    zn_report_count n_refused;
    const zn_crep_exchange *inconsistent; /* ZN_CREP_INCONSISTENT: exchanges and consent records */
    zn_report_count n_inconsistent;
    const zn_crep_drop *drops;
    zn_report_count n_drops;
} zn_crep_view;

typedef struct zn_crep zn_crep;

/* cap: rows kept per list (0: ZN_REPORT_CAP_DEFAULT). NULL when memory ran out. */
zn_crep *zn_crep_new(size_t cap);
void zn_crep_free(zn_crep **r);
/* Feed the next entry of the case (index order). ev: the opened evidence of a consent-set
 * entry (zn_evidence_text_open), or NULL. 0, or -1 when memory ran out. */
int zn_crep_feed(zn_crep *r, const zn_audit_entry *en, const zn_evidence_text *ev)
    __attribute__((warn_unused_result));
void zn_crep_view_get(const zn_crep *r, zn_crep_view *v);

/* ---- safety overrides, handover escalations and handover declines of a log ---- */

typedef struct {
    uint64_t index, time_ms;
    uint8_t override_id[16];
    bool has_case;
    uint8_t case_id[16];
    const char *action;      /* "override-review" | "override-escalate" | "override-expire" */
    const char *actor, *handler; /* "" when absent (the broker) */
    const char *state;       /* review: "approved" | "rejected"; else "" */
    bool late;               /* review: after review_by */
    uint64_t review_by_ms;   /* escalate */
    zn_text_status note_status;
    const char *note;        /* review: the opened note, else "" */
    const char *mismatch;    /* NULL, or how the signed request disagrees with the entry */
} zn_orep_event;

typedef struct {
    uint8_t id[16];
    bool has_case;
    uint8_t case_id[16];
    uint64_t index, time_ms;
    const char *author, *handler, *to; /* "" when absent */
    uint64_t step;
    const char *step_name;   /* the meldcode step (zn_meldcode_step_name) */
    uint64_t expires_ms, review_by_ms;
    zn_text_status justification_status;
    const char *justification;
    const char *mismatch;    /* NULL, or how the signed request disagrees with the entry */
    const char *state;       /* as the log leaves it: "pending" | "approved" | "rejected" |
                                "expired" */
    bool escalated;
    const zn_orep_event *events;  /* in log order */
    size_t n_events;
    uint64_t more_events;
} zn_orep_override;

typedef struct {
    uint64_t index, time_ms;
    bool has_case;
    uint8_t case_id[16];
    const char *from;        /* the offering partner (the entry's counterpart) */
    bool has_handover;
    uint8_t handover[16];
    uint64_t timeout_ms;
} zn_orep_escalation;

typedef struct {
    uint64_t index, time_ms;
    bool has_case;
    uint8_t case_id[16];
    bool has_handover;
    uint8_t handover[16];
    const char *by, *handler;    /* the declining partner (the entry's actor), "" when absent */
    const char *offered_by;      /* the offering partner (the entry's counterpart), "" when absent */
    zn_text_status reason_status;
    const char *reason;          /* ZN_TEXT_OPENED: the opened reason, else "" */
    const char *mismatch;        /* NULL, or how the signed request disagrees with the entry (or
                                    why it cannot be read) */
} zn_orep_decline;

typedef struct {
    const zn_orep_override *overrides;     /* in order of override-new */
    zn_report_count n_overrides;
    const zn_orep_event *orphans;          /* reviews, escalations and expiries of overrides
                                              whose override-new is not in what was read
                                              (before --since, redacted, or over the cap) */
    zn_report_count n_orphans;
    const zn_orep_escalation *handovers;   /* handover-escalate entries */
    zn_report_count n_handovers;
    const zn_orep_decline *declines;       /* handover-decline entries, in log order */
    zn_report_count n_declines;
} zn_orep_view;

typedef struct zn_orep zn_orep;

zn_orep *zn_orep_new(size_t cap);
void zn_orep_free(zn_orep **r);
/* Feed every entry (index order); entries of other actions and refused ones are ignored. ev:
 * the opened evidence (zn_evidence_text_open) of an override-new, override-review or
 * handover-decline entry, or NULL (a decline's reason then shows as ZN_TEXT_NONE). 0, or -1
 * when memory ran out. */
int zn_orep_feed(zn_orep *r, const zn_audit_entry *en, const zn_evidence_text *ev)
    __attribute__((warn_unused_result));
void zn_orep_view_get(const zn_orep *r, zn_orep_view *v);

#endif
