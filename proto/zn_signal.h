/* zn_signal — the wire bodies of signals and matches (docs/PROTOCOL.md, "Signals").
 *
 * Every change travels as a signed REQUEST (zn_request) with one of these kinds and bodies;
 * the broker answers with a RESULT of the same kind. Pseudonyms (psn, ZN_PSN_LEN bytes, from
 * zn_pseudonym) are the only way a person appears; a BSN never reaches this module.
 *
 *   "signal-add"      [network str, person bin33, related [bin33 ...], until u64,
 *                      informed u64, contact str]
 *                     related: 0..ZN_SIGNAL_RELATED_MAX pseudonyms, distinct, none equal to
 *                     person, all with person's epoch byte. until: unix ms when the signal
 *                     ends (0: the convenant's signal_retention_days from now). informed: unix
 *                     ms when the family was told (0: not yet). contact: how the partner's
 *                     handler is reached (text, 0..ZN_SIGNAL_CONTACT_MAX-1 bytes; "" none).
 *                     RESULT [signal bin16, refreshed bool, expires u64, matches [match ...]]
 *   "signal-list"     [offset u64]
 *                     RESULT [total u64, [signal-row ...]] (at most ZN_SIGNAL_PAGE rows, the
 *                     partner's own active signals, oldest first, from offset)
 *   "signal-informed" [signal bin16, informed u64]     RESULT [signal bin16]
 *   "signal-withdraw" [signal bin16]                   RESULT [signal bin16, early bool]
 *                     early: withdrawn before signal_min_lifetime_d; counted as a look-up
 *   "match-connect"   [match bin16]                    RESULT [match bin16]
 *   "match-lead"      [match bin16, partner str]       RESULT [match bin16]
 *
 *   match       [match bin16, signal bin16 (the asker's own signal), partner str, network str,
 *                contact str, link str ("person" | "family"), since u64 (unix ms, the other
 *                signal's registration), lead str ("" none), proposed str ("" none)]
 *   signal-row  [signal bin16, network str, person bin33, related u64 (count), created u64,
 *                expires u64, informed u64, contact str, handler str, overdue bool, matches u64]
 *               overdue: not informed and older than the convenant's informed_grace_d.
 *
 * Notices (zn_frame notice items [type, time_ms, fields]):
 *   "match"        to a partner: match, signal, partner, network, contact, link, since,
 *                  and when set: lead, proposed, connected_by (the coordinator who connected)
 *   "match-review" to coordinators: match, link, disclosure ("partners" | "coordinators"),
 *                  a_partner, a_network, a_contact, b_partner, b_network, b_contact, since,
 *                  and when set: lead, proposed
 *   "match-lead"   to both partners and the coordinators: match, lead, by
 *   "enumeration-suspected"  to coordinators and auditors: partner, handler, network, limit
 *                  ("partner-day" | "handler-day"), count
 *
 * Every parser is strict: exact array shapes, types, identifier and text rules, lengths;
 * a violation is ZN_E_MALFORMED naming the field.
 *
 * Ownership: encoders append to a caller-owned sbuffer. Parsed structs copy what they keep
 * (no pointers into the input), except where a field says otherwise. */
#ifndef ZN_SIGNAL_H
#define ZN_SIGNAL_H

#include "zn_convenant.h"
#include "zn_envelope.h"
#include "zn_err.h"
#include "zn_pseudonym.h"
#include "zn_wire.h"

#include <stdbool.h>
#include <stdint.h>

#define ZN_SIGNAL_RELATED_MAX 16
#define ZN_SIGNAL_CONTACT_MAX 128 /* bytes including NUL */
#define ZN_SIGNAL_PAGE 256        /* rows in one signal-list result */
#define ZN_SIGNAL_MATCHES_MAX 64  /* matches listed in one signal-add result */
/* An informed date may lie this far ahead of the broker's clock: a date typed in a time zone
 * ahead of UTC is 00:00 UTC of a day that has not begun there yet. */
#define ZN_SIGNAL_INFORMED_AHEAD_MS (24u * 3600u * 1000u)

typedef struct {
    char network[ZN_IDENT_MAX];
    uint8_t person[ZN_PSN_LEN];
    uint8_t related[ZN_SIGNAL_RELATED_MAX][ZN_PSN_LEN];
    uint32_t n_related;
    uint64_t until_ms;    /* 0: the convenant's default */
    uint64_t informed_ms; /* 0: not yet */
    char contact[ZN_SIGNAL_CONTACT_MAX];
} zn_signal_add;

typedef struct {
    uint8_t match[ZN_ID_LEN];
    uint8_t signal[ZN_ID_LEN];
    char partner[ZN_IDENT_MAX];
    char network[ZN_IDENT_MAX];
    char contact[ZN_SIGNAL_CONTACT_MAX];
    zn_link link;
    uint64_t since_ms;
    char lead[ZN_IDENT_MAX];     /* "" none */
    char proposed[ZN_IDENT_MAX]; /* "" none */
} zn_match;

typedef struct {
    uint8_t signal[ZN_ID_LEN];
    char network[ZN_IDENT_MAX];
    uint8_t person[ZN_PSN_LEN];
    uint64_t n_related;
    uint64_t created_ms, expires_ms, informed_ms;
    char contact[ZN_SIGNAL_CONTACT_MAX];
    char handler[ZN_HANDLER_MAX];
    bool overdue;
    uint64_t matches;
} zn_signal_row;

/* Request bodies. Encoders return -1 (ZN_E_USAGE) when a value breaks the rules above. */
int zn_body_signal_add(msgpack_sbuffer *out, const zn_signal_add *s, zn_err *e)
    __attribute__((warn_unused_result));
int zn_body_signal_add_parse(const msgpack_object *body, zn_signal_add *s, zn_err *e)
    __attribute__((warn_unused_result));
void zn_body_signal_list(msgpack_sbuffer *out, uint64_t offset);
int zn_body_signal_list_parse(const msgpack_object *body, uint64_t *offset, zn_err *e)
    __attribute__((warn_unused_result));
/* "signal-informed" (informed_ms > 0) */
void zn_body_signal_informed(msgpack_sbuffer *out, const uint8_t signal[ZN_ID_LEN], uint64_t informed_ms);
int zn_body_signal_informed_parse(const msgpack_object *body, uint8_t signal[ZN_ID_LEN], uint64_t *informed_ms,
                                  zn_err *e) __attribute__((warn_unused_result));
void zn_body_id(msgpack_sbuffer *out, const uint8_t id[ZN_ID_LEN]); /* withdraw, connect */
int zn_body_id_parse(const msgpack_object *body, uint8_t id[ZN_ID_LEN], zn_err *e)
    __attribute__((warn_unused_result));
void zn_body_match_lead(msgpack_sbuffer *out, const uint8_t match[ZN_ID_LEN], const char *partner);
int zn_body_match_lead_parse(const msgpack_object *body, uint8_t match[ZN_ID_LEN], char partner[ZN_IDENT_MAX],
                             zn_err *e) __attribute__((warn_unused_result));

/* Results. "signal-add" is written in two steps: begin with the match count, then one
 * zn_pack_match per match. */
void zn_result_signal_add_begin(msgpack_packer *pk, const uint8_t signal[ZN_ID_LEN], bool refreshed,
                                uint64_t expires_ms, uint32_t n_matches);
void zn_pack_match(msgpack_packer *pk, const zn_match *m);
/* matches: up to max parsed into out; *n set to the count (more than max is malformed). */
int zn_result_signal_add_parse(const msgpack_object *body, uint8_t signal[ZN_ID_LEN], bool *refreshed,
                               uint64_t *expires_ms, zn_match *out, uint32_t max, uint32_t *n, zn_err *e)
    __attribute__((warn_unused_result));
void zn_result_signal_list_begin(msgpack_packer *pk, uint64_t total, uint32_t n_rows);
void zn_pack_signal_row(msgpack_packer *pk, const zn_signal_row *r);
int zn_result_signal_list_parse(const msgpack_object *body, uint64_t *total, zn_signal_row *out, uint32_t max,
                                uint32_t *n, zn_err *e) __attribute__((warn_unused_result));
/* "signal-informed", "match-connect", "match-lead" results are zn_body_id / zn_body_id_parse;
 * "signal-withdraw" is [id bin16, early bool]: */
void zn_result_id_bool(msgpack_sbuffer *out, const uint8_t id[ZN_ID_LEN], bool flag);
int zn_result_id_bool_parse(const msgpack_object *body, uint8_t id[ZN_ID_LEN], bool *flag, zn_err *e)
    __attribute__((warn_unused_result));

/* Notices: fields as above; empty strings are left out. */
void zn_notice_match(msgpack_sbuffer *b, uint64_t time_ms, const zn_match *m, const char *connected_by);
typedef struct {
    uint8_t match[ZN_ID_LEN];
    zn_link link;
    const char *disclosure;
    const char *a_partner, *a_network, *a_contact;
    const char *b_partner, *b_network, *b_contact;
    uint64_t since_ms;
    const char *lead, *proposed;
} zn_match_review;
void zn_notice_match_review(msgpack_sbuffer *b, uint64_t time_ms, const zn_match_review *r);
void zn_notice_match_lead(msgpack_sbuffer *b, uint64_t time_ms, const uint8_t match[ZN_ID_LEN], const char *lead,
                          const char *by);
void zn_notice_enumeration(msgpack_sbuffer *b, uint64_t time_ms, const char *partner, const char *handler,
                           const char *network, const char *limit, uint64_t count);

#endif
