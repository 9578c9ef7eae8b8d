/* zn_case — the wire bodies of cases, consent, safety overrides and warm handovers
 * (docs/PROTOCOL.md, "Cases, consent, overrides and handovers"), and the consent rules both
 * sides check (the capacity rules of Dutch youth care).
 *
 * Every change travels as a signed REQUEST (zn_request) of one of these kinds; the broker
 * answers with a RESULT of the same kind. A person appears only as a pseudonym (ZN_PSN_LEN
 * bytes from zn_pseudonym); free text only sealed (zn_sealed).
 *
 *   "case-new"        [case bin16, network str]                         (anonymous)
 *                     [case bin16, network str, person bin33, related [bin33 ...]] (identified)
 *                     related: 0..ZN_CASE_RELATED_MAX pseudonyms, distinct, none equal to
 *                     person, all with person's epoch byte.            RESULT [case bin16]
 *   "case-show"       [case bin16]                                      RESULT case-view
 *   "case-close"      [case bin16]                                      RESULT [case bin16, closed u64]
 *   "case-link"       [case bin16, person bin33, related [bin33 ...]]   RESULT [case bin16, told [str ...]]
 *                     told: the partners told of the link (the consent's scope)
 *   "consent-set"     [case bin16, state str, scope [str ...], given_by [str ...], age_band str,
 *                      until u64, purpose sealed|nil]                   RESULT [case bin16, seq u64]
 *                     state: "requested" | "granted" | "refused" | "withdrawn"; scope: partner
 *                     ids, ascending, distinct, 0..ZN_CONSENT_SCOPE_MAX; given_by: "client" |
 *                     "parent" | "guardian" | "representative", ascending by that order,
 *                     distinct; age_band: "" | "0-11" | "12-15" | "16+"; until: unix ms when
 *                     the consent ends (0: until withdrawn), at most INT64_MAX (the latest time
 *                     the broker stores); purpose sealed to the auditors.
 *   "consent-show"    [case bin16]                                      RESULT [case bin16, [consent-row ...]]
 *                     the newest ZN_CASE_PAGE records, oldest first among them (the last one is
 *                     the current record)
 *   "override-new"    [override bin16, case bin16, to str, step u64 (1..5), justification sealed]
 *                     justification sealed to the case network's coordinators and the
 *                     auditors, at least ZN_JUSTIFICATION_MIN bytes.
 *                                                 RESULT [override bin16, expires u64, review_by u64]
 *   "override-list"   [all bool, offset u64]                            RESULT [total u64, [override-row ...]]
 *                     all false: only overrides waiting for review (pending, unexpired)
 *   "override-review" [override bin16, approve bool, note sealed|nil]   RESULT [override bin16, state str]
 *                     note sealed to the override's partner, the network's coordinators and
 *                     the auditors
 *   "handover-offer"  [handover bin16, case bin16, to str, msgid bin16] RESULT [handover bin16, timeout u64]
 *                     msgid: the dossier, an envelope the offering partner sent to `to` on
 *                     the case before the offer
 *   "handover-accept" [handover bin16]                                  RESULT [handover bin16, case bin16]
 *   "handover-decline" [handover bin16, reason sealed]                  RESULT [handover bin16]
 *                     reason sealed to the offering partner and the auditors
 *   "handover-withdraw" [handover bin16]                                RESULT [handover bin16]
 *                     by the offering partner while it still holds the case, or by a
 *                     coordinator of the case's network; only an open handover
 *   "handover-list"   [offset u64]                                      RESULT [total u64, [handover-row ...]]
 *
 *   case-view     [case bin16, network str, regisseur str, created u64, closed u64 (0: open),
 *                  identified bool, members [[partner str, how str, since u64] ...],
 *                  consent [seq u64, state str, scope [str ...], until u64, at u64],
 *                  handovers [handover-row ...] (open ones), overrides [override-row ...]
 *                  (standing ones: pending or approved, unexpired)]
 *                  how: "regisseur" (holds the case now) | "received" | "handover" | "consent" |
 *                  "override" | "handed-over" (held the case and handed it over);
 *                  consent state "none" (seq 0) when none was recorded
 *   consent-row   [seq u64, state str, scope [str ...], given_by [str ...], age_band str, until u64,
 *                  at u64, handler str, purpose sealed|nil]
 *   override-row  [override bin16, case bin16, network str, from str, handler str, to str, step u64,
 *                  created u64, expires u64, review_by u64, state str, reviewed_by str ("" none),
 *                  reviewed u64, escalated bool, justification sealed, note sealed|nil]
 *                  state: "pending" | "approved" | "rejected" | "expired"
 *   handover-row  [handover bin16, case bin16, from str, handler str, to str, msgid bin16,
 *                  offered u64, timeout u64, state str, decided u64, escalated bool, reason sealed|nil]
 *                  state: "open" | "accepted" | "declined" | "withdrawn" (by its offering partner
 *                  or a coordinator, or lapsed when its recipient left the convenant)
 *
 * Notices (zn_notice_build: [type, time_ms, {fields}]):
 *   "case-linked"        to the consent's scope: case, by, person (bin33)
 *   "override"           to the network's coordinators: override, case, network, from, handler,
 *                        to, step, expires, review_by
 *   "override-reviewed"  to the override's partner: override, case, to, state, by
 *   "override-expired"   to the override's partner: override, case, to
 *   "override-escalated" to the auditors: override, case, network, from, to, review_by
 *   "handover-offer"     to the recipient: handover, case, from, handler, msgid, timeout
 *   "handover-accepted"  to the offering partner: handover, case, to, handler
 *   "handover-declined"  to the offering partner: handover, case, to, handler
 *   "handover-escalated" to the network's coordinators: handover, case, from, to, timeout
 *   "handover-withdrawn" to the recipient: handover, case, by (the withdrawing partner); or, when
 *                        it lapsed because the recipient left the convenant, to the offering
 *                        partner: handover, case, to, reason ("not-in-convenant")
 *
 * Parsers are strict (exact shapes, types, identifiers, lengths, orders) and return
 * ZN_E_MALFORMED naming the field. Sealed fields are returned as the msgpack object (NULL for
 * nil) for zn_sealed_parse; everything else is copied.
 *
 * Ownership: encoders append to caller-owned sbuffers; parsed structs copy what they keep,
 * except the sealed-field pointers, which point into the parsed object. */
#ifndef ZN_CASE_H
#define ZN_CASE_H

#include "zn_convenant.h"
#include "zn_envelope.h"
#include "zn_err.h"
#include "zn_pseudonym.h"
#include "zn_wire.h"

#include <stdbool.h>
#include <stdint.h>

#define ZN_CASE_RELATED_MAX 16
#define ZN_CONSENT_SCOPE_MAX 32
#define ZN_JUSTIFICATION_MIN 40 /* characters the client requires; bytes the broker holds it to */
#define ZN_CASE_PAGE 256        /* rows in one list result, and members / consent rows shown */
#define ZN_MELDCODE_STEPS 5

/* ---- consent ---- */

typedef enum {
    ZN_CONSENT_NONE = 0, /* nothing recorded */
    ZN_CONSENT_REQUESTED = 1,
    ZN_CONSENT_GRANTED = 2,
    ZN_CONSENT_REFUSED = 3,
    ZN_CONSENT_WITHDRAWN = 4,
} zn_consent_state;

#define ZN_GIVEN_CLIENT 1u
#define ZN_GIVEN_PARENT 2u
#define ZN_GIVEN_GUARDIAN 4u
#define ZN_GIVEN_REPRESENTATIVE 8u

typedef enum { ZN_AGE_NONE = 0, ZN_AGE_0_11 = 1, ZN_AGE_12_15 = 2, ZN_AGE_16_PLUS = 3 } zn_age_band;

typedef struct {
    zn_consent_state state;
    size_t n_scope;
    char scope[ZN_CONSENT_SCOPE_MAX][ZN_IDENT_MAX]; /* ascending, distinct */
    unsigned given_by;                              /* ZN_GIVEN_* bits */
    zn_age_band age_band;
    uint64_t until_ms; /* 0: until withdrawn */
} zn_consent;

const char *zn_consent_state_name(zn_consent_state s); /* "none", "requested", ...; "?" */
int zn_consent_state_parse(const char *s, zn_consent_state *out); /* not "none"; -1 unknown */
const char *zn_age_band_name(zn_age_band a);                     /* "", "0-11", "12-15", "16+" */
int zn_age_band_parse(const char *s, zn_age_band *out);          /* "" gives ZN_AGE_NONE */
const char *zn_given_name(unsigned bit);                         /* one ZN_GIVEN_* bit */
/* "client,parent" style list (commas, no spaces) into bits; -1 on an unknown or repeated name. */
int zn_given_parse(const char *list, unsigned *out);
/* The names of the bits in order, comma separated ("" for none). */
void zn_given_format(unsigned bits, char *out, size_t cap);

/* The rules a consent record must meet, as a table in zn_case.c. A granted consent needs a
 * non-empty scope, an age band and who gave it, in the capacity the band requires:
 *   0-11   a parent, guardian or representative
 *   12-15  the client, and a parent or guardian
 *   16+    the client
 * Other states are recorded as given (scope, given_by and age_band may be empty). until_ms,
 * when set, must lie after now_ms. ZN_E_CAPACITY for a capacity failure (the sentence says what
 * the band needs and what was given), ZN_E_USAGE for the rest. */
int zn_consent_check(const zn_consent *c, uint64_t now_ms, zn_err *e) __attribute__((warn_unused_result));

/* true when the consent is granted, unexpired at now_ms, and names partner in its scope. */
bool zn_consent_covers(const zn_consent *c, const char *partner, uint64_t now_ms);

/* ---- meldcode ---- */

/* The name of a step of the meldcode huiselijk geweld en kindermishandeling (1..5), "?" else. */
const char *zn_meldcode_step_name(uint64_t step);

/* ---- request bodies ---- */

typedef struct {
    uint8_t id[ZN_ID_LEN];
    char network[ZN_IDENT_MAX];
    bool identified;
    uint8_t person[ZN_PSN_LEN];
    uint32_t n_related;
    uint8_t related[ZN_CASE_RELATED_MAX][ZN_PSN_LEN];
} zn_case_new_body;

int zn_body_case_new_enc(msgpack_sbuffer *out, const zn_case_new_body *b);
int zn_body_case_new_dec(const msgpack_object *body, zn_case_new_body *out, zn_err *e)
    __attribute__((warn_unused_result));

/* "case-show", "case-close", "consent-show", "handover-accept", "handover-withdraw": [id bin16] */
void zn_body_id_enc(msgpack_sbuffer *out, const uint8_t id[ZN_ID_LEN]);
int zn_body_id_dec(const msgpack_object *body, uint8_t id[ZN_ID_LEN], zn_err *e) __attribute__((warn_unused_result));

typedef struct {
    uint8_t case_id[ZN_ID_LEN];
    uint8_t person[ZN_PSN_LEN];
    uint32_t n_related;
    uint8_t related[ZN_CASE_RELATED_MAX][ZN_PSN_LEN];
} zn_case_link_body;
void zn_body_case_link_enc(msgpack_sbuffer *out, const zn_case_link_body *b);
int zn_body_case_link_dec(const msgpack_object *body, zn_case_link_body *out, zn_err *e)
    __attribute__((warn_unused_result));

/* purpose: the encoded sealed array (NULL, 0: nil), packed as it is. */
void zn_body_consent_set_enc(msgpack_sbuffer *out, const uint8_t case_id[ZN_ID_LEN], const zn_consent *c,
                             const uint8_t *purpose, size_t purpose_len);
/* *purpose: the sealed object, or NULL for nil. The consent's own rules (zn_consent_check) are
 * not applied here; only the shapes, orders and ranges above (an until above INT64_MAX is
 * malformed). */
int zn_body_consent_set_dec(const msgpack_object *body, uint8_t case_id[ZN_ID_LEN], zn_consent *out,
                            const msgpack_object **purpose, zn_err *e) __attribute__((warn_unused_result));

typedef struct {
    uint8_t id[ZN_ID_LEN];
    uint8_t case_id[ZN_ID_LEN];
    char to[ZN_IDENT_MAX];
    uint64_t step;
} zn_override_new_body;
void zn_body_override_new_enc(msgpack_sbuffer *out, const zn_override_new_body *b, const uint8_t *justification,
                              size_t justification_len);
int zn_body_override_new_dec(const msgpack_object *body, zn_override_new_body *out,
                             const msgpack_object **justification, zn_err *e) __attribute__((warn_unused_result));

/* "override-list" [all bool, offset u64]; "handover-list" [offset u64] */
void zn_body_override_list_enc(msgpack_sbuffer *out, bool all, uint64_t offset);
int zn_body_override_list_dec(const msgpack_object *body, bool *all, uint64_t *offset, zn_err *e)
    __attribute__((warn_unused_result));
void zn_body_offset_enc(msgpack_sbuffer *out, uint64_t offset);
int zn_body_offset_dec(const msgpack_object *body, uint64_t *offset, zn_err *e) __attribute__((warn_unused_result));

/* "override-review": note NULL, 0 for nil. */
void zn_body_override_review_enc(msgpack_sbuffer *out, const uint8_t id[ZN_ID_LEN], bool approve,
                                 const uint8_t *note, size_t note_len);
int zn_body_override_review_dec(const msgpack_object *body, uint8_t id[ZN_ID_LEN], bool *approve,
                                const msgpack_object **note, zn_err *e) __attribute__((warn_unused_result));

typedef struct {
    uint8_t id[ZN_ID_LEN];
    uint8_t case_id[ZN_ID_LEN];
    char to[ZN_IDENT_MAX];
    uint8_t msgid[ZN_ID_LEN];
} zn_handover_offer_body;
void zn_body_handover_offer_enc(msgpack_sbuffer *out, const zn_handover_offer_body *b);
int zn_body_handover_offer_dec(const msgpack_object *body, zn_handover_offer_body *out, zn_err *e)
    __attribute__((warn_unused_result));

/* "handover-decline" [handover bin16, reason sealed] (reason required) */
void zn_body_handover_decline_enc(msgpack_sbuffer *out, const uint8_t id[ZN_ID_LEN], const uint8_t *reason,
                                  size_t reason_len);
int zn_body_handover_decline_dec(const msgpack_object *body, uint8_t id[ZN_ID_LEN], const msgpack_object **reason,
                                 zn_err *e) __attribute__((warn_unused_result));

/* ---- results and rows ---- */

typedef enum { ZN_OVERRIDE_NONE = 0, ZN_OVERRIDE_PENDING = 1, ZN_OVERRIDE_APPROVED = 2,
               ZN_OVERRIDE_REJECTED = 3, ZN_OVERRIDE_EXPIRED = 4 } zn_override_state;
const char *zn_override_state_name(zn_override_state s); /* "none", "pending", ...; "?" */
int zn_override_state_parse(const char *s, zn_override_state *out);

typedef enum { ZN_HANDOVER_OPEN = 1, ZN_HANDOVER_ACCEPTED = 2, ZN_HANDOVER_DECLINED = 3,
               ZN_HANDOVER_WITHDRAWN = 4 } zn_handover_state;
const char *zn_handover_state_name(zn_handover_state s); /* "open", "accepted", "declined", "withdrawn"; "?" */
int zn_handover_state_parse(const char *s, zn_handover_state *out);

/* Sealed fields in rows are the encoded sealed arrays (pointer, length; NULL, 0 for nil): the
 * encoder packs them as they are, the decoder points them into the parsed input. */
typedef struct {
    uint64_t seq;
    zn_consent c;
    uint64_t at_ms;
    char handler[ZN_HANDLER_MAX];
    const uint8_t *purpose;
    size_t purpose_len;
    /* The partner that recorded it (the regisseur at the time). The broker keeps it in its
     * store; it is not part of the wire row (the entry's actor says it), so the row decoder
     * leaves it empty. */
    char partner[ZN_IDENT_MAX];
} zn_consent_row;

typedef struct {
    uint8_t id[ZN_ID_LEN];
    uint8_t case_id[ZN_ID_LEN];
    char network[ZN_IDENT_MAX];
    char from[ZN_IDENT_MAX];
    char handler[ZN_HANDLER_MAX];
    char to[ZN_IDENT_MAX];
    uint64_t step;
    uint64_t created_ms, expires_ms, review_by_ms;
    zn_override_state state;
    char reviewed_by[ZN_IDENT_MAX];
    uint64_t reviewed_ms;
    bool escalated;
    const uint8_t *justification;
    size_t justification_len;
    const uint8_t *note;
    size_t note_len;
} zn_override_row;

typedef struct {
    uint8_t id[ZN_ID_LEN];
    uint8_t case_id[ZN_ID_LEN];
    char from[ZN_IDENT_MAX];
    char handler[ZN_HANDLER_MAX];
    char to[ZN_IDENT_MAX];
    uint8_t msgid[ZN_ID_LEN];
    uint64_t offered_ms, timeout_ms;
    zn_handover_state state;
    uint64_t decided_ms;
    bool escalated;
    const uint8_t *reason;
    size_t reason_len;
} zn_handover_row;

typedef struct {
    char partner[ZN_IDENT_MAX];
    char how[16]; /* "regisseur" | "received" | "handover" | "consent" | "override" | "handed-over" */
    uint64_t since_ms;
} zn_member_row;

typedef struct {
    uint8_t id[ZN_ID_LEN];
    char network[ZN_IDENT_MAX];
    char regisseur[ZN_IDENT_MAX];
    uint64_t created_ms, closed_ms;
    bool identified;
    size_t n_members;
    zn_member_row members[ZN_CASE_PAGE];
    uint64_t consent_seq;
    zn_consent consent; /* state ZN_CONSENT_NONE when none was recorded */
    uint64_t consent_at_ms;
    size_t n_handovers;
    zn_handover_row handovers[16];
    size_t n_overrides;
    zn_override_row overrides[16];
} zn_case_view;

/* Rows and views are packed by the broker straight into a RESULT body (pk), and decoded by the
 * client from the parsed RESULT object (strict, as above). */
void zn_pack_consent_row(msgpack_packer *pk, const zn_consent_row *r);
int zn_consent_row_dec(const msgpack_object *o, zn_consent_row *out, zn_err *e) __attribute__((warn_unused_result));
void zn_pack_override_row(msgpack_packer *pk, const zn_override_row *r);
int zn_override_row_dec(const msgpack_object *o, zn_override_row *out, zn_err *e) __attribute__((warn_unused_result));
void zn_pack_handover_row(msgpack_packer *pk, const zn_handover_row *r);
int zn_handover_row_dec(const msgpack_object *o, zn_handover_row *out, zn_err *e) __attribute__((warn_unused_result));
/* case-view: members, handovers and overrides beyond the arrays' sizes are refused when
 * decoding (ZN_E_MALFORMED); the broker sends at most that many. */
void zn_pack_case_view(msgpack_packer *pk, const zn_case_view *v);
int zn_case_view_dec(const msgpack_object *o, zn_case_view *out, zn_err *e) __attribute__((warn_unused_result));

#endif
