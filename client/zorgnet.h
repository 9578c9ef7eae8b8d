/* zorgnet.h — libzorgnet, the client library of zorgnet (the one public header).
 *
 * A zn_client is one partner's view of the network: its convenant file, its secret key file, a
 * small state file beside the key (KEY.state: the highest convenant version seen, which
 * messages were already shown, the last signed tree head of the audit log accepted, and the
 * audit index of each message sent), and at most one CurveZMQ connection to the broker.
 *
 *   zn_client_open()      local only: loads and checks the convenant and the key, finds the
 *                         partner's own entry, opens the state file. No network.
 *   zn_client_connect()   optional; send, case_new and next connect on demand. Connecting says
 *                         HELLO, refuses a broker with an older convenant than this client has
 *                         seen, and fetches, checks and saves a newer one (replacing the file at
 *                         opts.convenant_path). It also checks the broker's signed tree head of
 *                         the audit log against the last one this client accepted (signature;
 *                         no fewer entries; same root at the same size; a valid consistency proof
 *                         when the log grew) and refuses the broker with ZN_E_LOG_INCONSISTENT
 *                         when its history was truncated or rewritten.
 *   zn_client_send()      one end-to-end sealed, signed message; returns only after the broker
 *                         has stored it (ACCEPTED). Like every send it is checked for
 *                         identifiers on an anonymous case first (zn_client_send_flags).
 *   zn_client_send_ex()   the same, and it returns the audit log index of the acceptance.
 *   zn_client_receipt()   fetch and verify the receipt of one audit log entry (by index, or by
 *                         the id of a message this client sent).
 *   zn_client_case_new()  a signed "case-new" request.
 *   zn_client_next()      the next delivered item (message or notice), fully checked;
 *   zn_client_ack()       marks it shown and acknowledges it to the broker.
 *   zn_client_release()   leaves it queued for a later run (e.g. filtered out).
 *   zn_client_close()     closes the connection, wipes the secret keys, NULLs the pointer.
 *
 * Errors: every function that can fail returns -1 and fills a caller-owned zn_err (code, and
 * one plain sentence, never a secret); see zn_err.h for the codes and their classes.
 *
 * Ownership: the library owns the zn_client; the caller owns zn_client_opts (the strings are
 * copied by zn_client_open), every zn_err and every zn_item (release its content with
 * zn_item_clear). Strings returned by the look-up functions (zn_client_self,
 * zn_client_network_name, zn_partner_info) point into the client's convenant: they stay valid
 * until the next call that may contact the broker (the convenant can be replaced there) or until
 * zn_client_close. A zn_client is not thread-safe; use one per thread. */
#ifndef ZORGNET_H
#define ZORGNET_H

#include "zn_err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ZN_CLIENT_ID_LEN 16                       /* message, case and item ids (bytes) */
#define ZN_CLIENT_IDENT_MAX 64                    /* partner ids, network names, + NUL */
#define ZN_CLIENT_TEXT_MAX 128                    /* names and handler: 1..127 bytes + NUL */
#define ZN_CLIENT_CONTENT_MAX (1024u * 1024u - 1u) /* message content, bytes */
#define ZN_CLIENT_DEFAULT_TIMEOUT_MS 5000
#define ZN_CLIENT_DEFAULT_WINDOW 256              /* items in flight for zn_client_next */
#define ZN_CLIENT_NOTICE_FIELDS 16
#define ZN_CLIENT_FIELD_MAX 256
#define ZN_CLIENT_SEEN_DAYS 90                    /* how long "already shown" (and the audit
                                                     index of a message sent) is remembered */
#define ZN_CLIENT_HASH_LEN 32                     /* Merkle roots (SHA-256) */

#define ZN_CLIENT_ROLE_PARTNER 1u
#define ZN_CLIENT_ROLE_COORDINATOR 2u

typedef struct zn_client zn_client;

typedef struct {
    const char *convenant_path; /* required */
    const char *key_path;       /* the partner's secret key file; NULL opens read-only
                                   (look-ups only: no state file, no broker) */
    const char *broker;         /* endpoint such as tcp://host:7450; NULL: the convenant's */
    const char *handler;        /* the professional, 1..127 bytes of text; required for
                                   zn_client_send and zn_client_case_new */
    int timeout_ms;             /* how long to wait for each answer; <= 0: 5000 */
} zn_client_opts;

zn_client *zn_client_open(const zn_client_opts *opts, zn_err *e) __attribute__((warn_unused_result));
/* Closes the connection, wipes the secret keys, frees everything, NULLs *c; safe on NULL. */
void zn_client_close(zn_client **c);

/* Connect now with the given window (items delivered but not yet acknowledged; 0 means "deliver
 * nothing to this connection"). Reconnects when already connected. */
int zn_client_connect(zn_client *c, unsigned window, zn_err *e) __attribute__((warn_unused_result));

/* The convenant in use. */
uint64_t zn_client_convenant_version(const zn_client *c);
const char *zn_client_convenant_name(const zn_client *c);
uint64_t zn_client_convenant_valid_until(const zn_client *c); /* unix seconds */
const char *zn_client_self(const zn_client *c); /* own partner id; NULL when read-only */

typedef struct {
    const char *id;
    const char *name;
    const char *category; /* may be "" */
    bool auditor;
    bool coordinator;     /* coordinator in some network */
    bool self;
} zn_partner_info;

size_t zn_client_network_count(const zn_client *c);
const char *zn_client_network_name(const zn_client *c, size_t i); /* NULL when out of range */
size_t zn_client_partner_count(const zn_client *c);
int zn_client_partner_get(const zn_client *c, size_t i, zn_partner_info *out);
/* ZN_CLIENT_ROLE_* bits of partner i in network n (0 when out of range). */
unsigned zn_client_partner_roles(const zn_client *c, size_t i, size_t n);

/* Create a case in `network` (the caller must hold the partner role there; checked locally
 * before the broker is asked). On success case_id holds the new random id. */
int zn_client_case_new(zn_client *c, const char *network, uint8_t case_id[ZN_CLIENT_ID_LEN],
                       zn_err *e) __attribute__((warn_unused_result));

/* Seal `content` for `recipient` on case `case_id` and hand it to the broker. msgid is in/out:
 * all zero asks for a fresh random id, written back; a non-zero id is used as given, so a caller
 * that did not learn the outcome can retry with the same id safely. Returns 0 only once the
 * broker has stored the message under that id. When the broker already holds a message with
 * this id from this partner (to the same recipient, on the same case), that earlier message
 * stands and the call succeeds; the broker cannot compare the sealed content. An unknown
 * recipient fails with ZN_E_UNKNOWN_PARTNER before anything goes on the network. This is
 * zn_client_send_flags with flags 0: content with identifiers is refused on an anonymous case
 * (ZN_E_IDENTIFIERS), and such content makes the call read the case's mode first. */
int zn_client_send(zn_client *c, const char *recipient, const uint8_t case_id[ZN_CLIENT_ID_LEN],
                   const void *content, size_t len, uint8_t msgid[ZN_CLIENT_ID_LEN], zn_err *e)
    __attribute__((warn_unused_result));

/* zn_client_send, and on success *audit_index (when not NULL) holds the index of the audit log
 * entry in which the broker recorded the acceptance. The index is also kept in the state file
 * with the message id, so zn_client_receipt_msgid finds it later. zn_client_send is this
 * function with audit_index NULL; this is zn_client_send_flags with flags 0. */
int zn_client_send_ex(zn_client *c, const char *recipient, const uint8_t case_id[ZN_CLIENT_ID_LEN],
                      const void *content, size_t len, uint8_t msgid[ZN_CLIENT_ID_LEN],
                      uint64_t *audit_index, zn_err *e) __attribute__((warn_unused_result));

/* What a verified receipt proves about one audit log entry. Text fields are "" when the entry
 * has no such field (actor "" means the broker itself acted). */
typedef struct {
    uint64_t index;
    bool redacted;                 /* retention ended: the entry and its salt are deleted; only
                                      its place in the log (inclusion) was proven, nothing below
                                      down to evidence is filled in */
    uint64_t time_ms;              /* when the broker recorded the entry */
    char actor[ZN_CLIENT_IDENT_MAX];
    char handler[ZN_CLIENT_TEXT_MAX];
    char action[ZN_CLIENT_IDENT_MAX];
    bool has_case;
    uint8_t case_id[ZN_CLIENT_ID_LEN];
    char counterpart[ZN_CLIENT_IDENT_MAX];
    bool allowed;                  /* the decision: allowed (true) or refused (false) */
    char reason[ZN_CLIENT_IDENT_MAX];
    char basis[ZN_CLIENT_IDENT_MAX];
    char evidence[ZN_CLIENT_IDENT_MAX]; /* evidence kind ("envelope-header", "request") or "" */
    bool has_msgid;                /* evidence is an envelope header: its message id */
    uint8_t msgid[ZN_CLIENT_ID_LEN];
    bool evidence_signed_by_self;  /* the evidence is signed by this client's own key (checked) */
    /* the signed tree head the entry was proven in */
    uint64_t tree_size;
    uint64_t head_time_ms;
    uint8_t root[ZN_CLIENT_HASH_LEN];
    uint64_t known_size;           /* the head this client had accepted before (0: none); the new
                                      head was proven consistent with it and is now the one kept */
} zn_receipt_info;

/* Ask the broker for the receipt of audit log entry `index` (a signed "receipt" request, so the
 * handler must be set) and verify it: the tree head's signature by the convenant's broker key,
 * its consistency with the head this client accepted before (ZN_E_LOG_INCONSISTENT), the
 * inclusion proof of the entry's leaf in that head, and, unless the entry is redacted, that the
 * entry's bytes and salt hash to the committed leaf and decode strictly with this index. A
 * partner may ask only for entries it is the actor of; others are refused by the broker
 * (ZN_E_FORBIDDEN). Any failed check is a ZN_CLASS_VERIFY error saying what failed, and *out
 * is then not to be trusted. */
int zn_client_receipt(zn_client *c, uint64_t index, zn_receipt_info *out, zn_err *e)
    __attribute__((warn_unused_result));
/* The receipt of a message this client sent, by its id: the audit index comes from the state
 * file (ZN_E_UNKNOWN_ENTRY when this client has no record of sending it), and on top of the
 * checks above the entry must be this client's and its evidence the envelope header with this
 * message id, signed with this client's key. */
int zn_client_receipt_msgid(zn_client *c, const uint8_t msgid[ZN_CLIENT_ID_LEN], zn_receipt_info *out,
                            zn_err *e) __attribute__((warn_unused_result));

/* ---- signals and matches (docs/PROTOCOL.md "Signals"; README "Signals") ----
 * BSNs are checked with the 11-proef and turned into pseudonyms with the convenant's network key
 * on this computer; only pseudonyms reach the broker. Coordinators hold no network key and
 * cannot register signals. Every call here is a signed request (the handler must be set). */
#define ZN_CLIENT_RELATED_MAX 16
#define ZN_CLIENT_MATCHES_MAX 64
#define ZN_CLIENT_PSN_LEN 33

typedef struct {
    const char *network;   /* required */
    const char *bsn;       /* the person: nine digits, 11-proef */
    const char *const *related; /* BSNs of parents and siblings, n_related <= ZN_CLIENT_RELATED_MAX */
    size_t n_related;
    uint64_t until_ms;     /* 0: the convenant's signal_retention_days */
    uint64_t informed_ms;  /* 0: the family has not been told yet */
    const char *contact;   /* how the handler is reached; NULL or "" for none */
} zn_signal_opts;

typedef struct {
    uint8_t match_id[ZN_CLIENT_ID_LEN];
    uint8_t signal_id[ZN_CLIENT_ID_LEN];   /* this partner's own signal */
    char partner[ZN_CLIENT_IDENT_MAX];
    char partner_name[ZN_CLIENT_TEXT_MAX]; /* from the convenant */
    char category[ZN_CLIENT_IDENT_MAX];
    char network[ZN_CLIENT_IDENT_MAX];
    char contact[ZN_CLIENT_TEXT_MAX];
    bool family;                           /* linked through a family member, not the person */
    uint64_t since_ms;
    char lead[ZN_CLIENT_IDENT_MAX];        /* "" none */
    char proposed[ZN_CLIENT_IDENT_MAX];    /* "" none */
} zn_match_info;

typedef struct {
    uint8_t signal_id[ZN_CLIENT_ID_LEN];
    bool refreshed;                        /* this partner had registered the person already */
    uint64_t expires_ms;
    size_t n_matches;
    zn_match_info matches[ZN_CLIENT_MATCHES_MAX];
} zn_signal_result;

typedef struct {
    uint8_t signal_id[ZN_CLIENT_ID_LEN];
    char network[ZN_CLIENT_IDENT_MAX];
    uint8_t person[ZN_CLIENT_PSN_LEN];
    uint64_t n_related;
    uint64_t created_ms, expires_ms, informed_ms; /* informed 0: not yet */
    char contact[ZN_CLIENT_TEXT_MAX];
    char handler[ZN_CLIENT_TEXT_MAX];
    bool overdue;                          /* not informed within the convenant's grace period */
    uint64_t matches;
} zn_signal_info;

/* Register (or refresh) a signal; *out gets the signal and the matches this partner may see
 * (partner_name and category from the convenant, "" when the partner is not in it). Checked
 * on this computer before anything is sent, each a ZN_E_USAGE error unless said otherwise: every
 * BSN passes the 11-proef (the error names the bad one; it stays on this computer), no BSN is
 * given twice among the person and the related, at most ZN_CLIENT_RELATED_MAX related, the
 * contact is text of at most 127 bytes holding nothing that looks like a BSN (the broker keeps
 * it in the clear), until_ms lies ahead and informed_ms not in the future; the network is in
 * the convenant (ZN_E_UNKNOWN_NETWORK) and this client holds the partner role there
 * (ZN_E_NOT_PARTNER, which coordinators always get). */
int zn_client_signal_add(zn_client *c, const zn_signal_opts *o, zn_signal_result *out, zn_err *e)
    __attribute__((warn_unused_result));
/* This partner's active signals from `offset` (oldest first; the broker answers at most 256
 * per call), at most max into out; *n the count, *total all. Page with offset += *n. */
int zn_client_signal_list(zn_client *c, uint64_t offset, zn_signal_info *out, size_t max, size_t *n,
                          uint64_t *total, zn_err *e) __attribute__((warn_unused_result));
/* The family was told on informed_ms (0: now). */
int zn_client_signal_informed(zn_client *c, const uint8_t signal_id[ZN_CLIENT_ID_LEN], uint64_t informed_ms,
                              zn_err *e) __attribute__((warn_unused_result));
/* End a signal; *early (may be NULL) tells whether it counted as a look-up. */
int zn_client_signal_withdraw(zn_client *c, const uint8_t signal_id[ZN_CLIENT_ID_LEN], bool *early,
                              zn_err *e) __attribute__((warn_unused_result));
/* Coordinators: tell the partners of a match about each other; name the lead partner. A client
 * that is no coordinator in the convenant gets ZN_E_NOT_COORDINATOR, a lead not in the
 * convenant ZN_E_UNKNOWN_PARTNER, before anything is sent. */
int zn_client_match_connect(zn_client *c, const uint8_t match_id[ZN_CLIENT_ID_LEN], zn_err *e)
    __attribute__((warn_unused_result));
int zn_client_match_lead(zn_client *c, const uint8_t match_id[ZN_CLIENT_ID_LEN], const char *partner,
                         zn_err *e) __attribute__((warn_unused_result));

/* ---- cases, consent, safety overrides and warm handovers ----
 * Every call is a signed request (the handler must be set). BSNs are checked (11-proef) and
 * turned into pseudonyms on this computer, as for signals. Free text (a consent's purpose, an
 * override's justification and review note, a decline reason) is sealed here to the partners
 * who may read it and opened here for a reader; the broker never reads it. Text fields of the
 * results below that were sealed hold the opened text when this client is a reader, else "". */
#define ZN_CLIENT_SCOPE_MAX 32
#define ZN_CLIENT_SEALED_MAX 2048   /* bytes of sealed free text */
#define ZN_CLIENT_JUSTIFICATION_MIN 40 /* characters */
#define ZN_CLIENT_CASE_LIST_MAX 16  /* open handovers and standing overrides in zn_case_info */
#define ZN_CLIENT_MEMBERS_MAX 256

/* Checked before anything is sent (ZN_E_USAGE): the BSNs as for signals; related only with a
 * person. bsn NULL: an anonymous case (zn_client_case_new is this with bsn NULL). */
typedef struct {
    const char *network;         /* required */
    const char *bsn;             /* NULL: anonymous */
    const char *const *related;  /* n_related <= ZN_CLIENT_RELATED_MAX */
    size_t n_related;
} zn_case_opts;
int zn_client_case_new_ex(zn_client *c, const zn_case_opts *o, uint8_t case_id[ZN_CLIENT_ID_LEN], zn_err *e)
    __attribute__((warn_unused_result));

typedef struct {
    uint8_t handover_id[ZN_CLIENT_ID_LEN];
    uint8_t case_id[ZN_CLIENT_ID_LEN];
    char from[ZN_CLIENT_IDENT_MAX];
    char handler[ZN_CLIENT_TEXT_MAX];
    char to[ZN_CLIENT_IDENT_MAX];
    uint8_t msgid[ZN_CLIENT_ID_LEN];        /* the dossier */
    uint64_t offered_ms, timeout_ms;
    char state[16];                         /* "open" | "accepted" | "declined" | "withdrawn" */
    uint64_t decided_ms;                    /* accepted, declined or withdrawn then; 0 open */
    bool escalated;                         /* the timeout passed and the coordinators were told */
    char reason[ZN_CLIENT_SEALED_MAX + 1];  /* decline reason, for its readers */
} zn_handover_info;

typedef struct {
    uint8_t override_id[ZN_CLIENT_ID_LEN];
    uint8_t case_id[ZN_CLIENT_ID_LEN];
    char network[ZN_CLIENT_IDENT_MAX];
    char from[ZN_CLIENT_IDENT_MAX];
    char handler[ZN_CLIENT_TEXT_MAX];
    char to[ZN_CLIENT_IDENT_MAX];
    unsigned step;                          /* meldcode step 1..5 */
    uint64_t created_ms, expires_ms, review_by_ms;
    char state[16];                         /* "pending" | "approved" | "rejected" | "expired" */
    char reviewed_by[ZN_CLIENT_IDENT_MAX];
    uint64_t reviewed_ms;
    bool escalated;                         /* unreviewed in time: the auditors were told */
    char justification[ZN_CLIENT_SEALED_MAX + 1];
    bool has_note;                          /* the review came with a note (opened below for its
                                               readers) */
    char note[ZN_CLIENT_SEALED_MAX + 1];
} zn_override_info;

typedef struct {
    char partner[ZN_CLIENT_IDENT_MAX];
    char how[16];  /* "regisseur" | "received" | "handover" | "consent" | "override" | "handed-over" */
    uint64_t since_ms;
} zn_member_info;

typedef struct {
    uint8_t case_id[ZN_CLIENT_ID_LEN];
    char network[ZN_CLIENT_IDENT_MAX];
    char regisseur[ZN_CLIENT_IDENT_MAX];
    uint64_t created_ms, closed_ms;          /* closed 0: open */
    bool identified;
    size_t n_members;
    zn_member_info members[ZN_CLIENT_MEMBERS_MAX];
    uint64_t consent_seq;                    /* 0: no consent recorded */
    char consent_state[16];                  /* "none" | "requested" | "granted" | "refused" | "withdrawn" */
    size_t n_scope;
    char scope[ZN_CLIENT_SCOPE_MAX][ZN_CLIENT_IDENT_MAX];
    uint64_t consent_until_ms, consent_at_ms;
    size_t n_handovers;                      /* open ones */
    zn_handover_info handovers[ZN_CLIENT_CASE_LIST_MAX];
    size_t n_overrides;                      /* standing ones */
    zn_override_info overrides[ZN_CLIENT_CASE_LIST_MAX];
} zn_case_info; /* large: allocate it */

/* A member of the case, or a coordinator of its network. */
int zn_client_case_show(zn_client *c, const uint8_t case_id[ZN_CLIENT_ID_LEN], zn_case_info *out, zn_err *e)
    __attribute__((warn_unused_result));
/* The regisseur ends the case; *closed_ms (may be NULL) gets when. */
int zn_client_case_close(zn_client *c, const uint8_t case_id[ZN_CLIENT_ID_LEN], uint64_t *closed_ms, zn_err *e)
    __attribute__((warn_unused_result));
/* The regisseur links an anonymous case to a person once consent is granted; told (may be
 * NULL when max_told is 0) gets the partners told of the link, at most max_told of them, and
 * *n_told how many it got. */
int zn_client_case_link(zn_client *c, const uint8_t case_id[ZN_CLIENT_ID_LEN], const char *bsn,
                        const char *const *related, size_t n_related,
                        char (*told)[ZN_CLIENT_IDENT_MAX], size_t max_told, size_t *n_told, zn_err *e)
    __attribute__((warn_unused_result));

typedef struct {
    const char *state;     /* "requested" | "granted" | "refused" | "withdrawn" (required) */
    const char *const *scope; /* partner ids, n_scope <= ZN_CLIENT_SCOPE_MAX, in the convenant */
    size_t n_scope;
    const char *purpose;   /* NULL or "": none; sealed to the auditors */
    const char *given_by;  /* "client,parent,guardian,representative" (any of them); NULL none */
    const char *age_band;  /* "0-11" | "12-15" | "16+"; NULL none */
    uint64_t until_ms;     /* 0: until withdrawn */
} zn_consent_opts;
/* Record consent (the regisseur only; the broker checks). Checked here first: the state and
 * names, the scope's partners, the capacity rules (ZN_E_CAPACITY) and a future until. *seq (may
 * be NULL) gets the record's number. */
int zn_client_consent_set(zn_client *c, const uint8_t case_id[ZN_CLIENT_ID_LEN], const zn_consent_opts *o,
                          uint64_t *seq, zn_err *e) __attribute__((warn_unused_result));

typedef struct {
    uint64_t seq;
    char state[16];
    size_t n_scope;
    char scope[ZN_CLIENT_SCOPE_MAX][ZN_CLIENT_IDENT_MAX];
    char given_by[64];                      /* "client,parent" style; "" none */
    char age_band[8];                       /* "" none */
    uint64_t until_ms, at_ms;
    char handler[ZN_CLIENT_TEXT_MAX];
    bool has_purpose;
    char purpose[ZN_CLIENT_SEALED_MAX + 1]; /* for auditors; "" otherwise */
} zn_consent_info;
/* The consent history of a case, oldest first (the last is the current state), at most max. */
int zn_client_consent_show(zn_client *c, const uint8_t case_id[ZN_CLIENT_ID_LEN], zn_consent_info *out,
                           size_t max, size_t *n, zn_err *e) __attribute__((warn_unused_result));

/* Record a safety override for one recipient. justification: at least
 * ZN_CLIENT_JUSTIFICATION_MIN characters (ZN_E_USAGE), sealed to the case network's
 * coordinators and the auditors; step 1..5. id, expires, review_by may be NULL. */
int zn_client_override(zn_client *c, const uint8_t case_id[ZN_CLIENT_ID_LEN], const char *to, unsigned step,
                       const char *justification, uint8_t override_id[ZN_CLIENT_ID_LEN], uint64_t *expires_ms,
                       uint64_t *review_by_ms, zn_err *e) __attribute__((warn_unused_result));
/* Coordinators: the overrides of their networks; auditors: all; partners: their own. all false:
 * only those waiting for review. From offset, at most max; *total all that pass. */
int zn_client_override_list(zn_client *c, bool all, uint64_t offset, zn_override_info *out, size_t max, size_t *n,
                            uint64_t *total, zn_err *e) __attribute__((warn_unused_result));
/* Coordinators of the case's network. note: NULL or "" none; sealed to the override's partner,
 * the coordinators and the auditors. */
int zn_client_override_review(zn_client *c, const uint8_t override_id[ZN_CLIENT_ID_LEN], bool approve,
                              const char *note, zn_err *e) __attribute__((warn_unused_result));

/* Offer the case to `to` with a dossier: the dossier is sealed and sent to `to` on the case
 * (as zn_client_send_flags with flags: on an anonymous case identifiers in it are refused with
 * ZN_E_IDENTIFIERS unless ZN_CLIENT_SEND_I_CHECKED is set), then the offer names it. When the
 * dossier is refused, nothing was offered and the error is the dossier's; when the offer is
 * refused after the dossier was stored, the error says the dossier was delivered as a message.
 * handover_id, timeout_ms may be NULL. */
int zn_client_handover_offer(zn_client *c, const uint8_t case_id[ZN_CLIENT_ID_LEN], const char *to,
                             const void *dossier, size_t len, unsigned flags, uint8_t handover_id[ZN_CLIENT_ID_LEN],
                             uint64_t *timeout_ms, zn_err *e) __attribute__((warn_unused_result));
int zn_client_handover_accept(zn_client *c, const uint8_t handover_id[ZN_CLIENT_ID_LEN], zn_err *e)
    __attribute__((warn_unused_result));
/* Withdraw an open offer: the offering partner while it still holds the case, or a
 * coordinator of the case's network. The handover's state becomes "withdrawn", the recipient
 * gets a "handover-withdrawn" notice (handover, case, by), and the case stays with the offering
 * partner (the dossier already delivered stays with the recipient as a message). The broker
 * refuses anyone else and a handover it does not know or that is no longer open; either way
 * the request is recorded in the audit log ("handover-withdraw"). */
int zn_client_handover_withdraw(zn_client *c, const uint8_t handover_id[ZN_CLIENT_ID_LEN], zn_err *e)
    __attribute__((warn_unused_result));
/* reason: required, sealed to the offering partner and the auditors. */
int zn_client_handover_decline(zn_client *c, const uint8_t handover_id[ZN_CLIENT_ID_LEN], const char *reason,
                               zn_err *e) __attribute__((warn_unused_result));
/* The handovers this partner offered or was offered, newest first. */
int zn_client_handover_list(zn_client *c, uint64_t offset, zn_handover_info *out, size_t max, size_t *n,
                            uint64_t *total, zn_err *e) __attribute__((warn_unused_result));

/* Anonymous mode: what in `text` looks like it identifies someone (BSN, phone number, e-mail
 * address, postcode with house number, a full date more than a year ago). Writes the findings
 * as "kind: text\n" lines into out (NUL-terminated, cap bytes; a line that does not fit whole is
 * left out; out may be NULL when cap is 0) and returns how many were found (0: nothing). */
size_t zn_client_identifiers(const void *text, size_t len, char *out, size_t cap);

/* Send flags (zn_client_send_flags): ZN_CLIENT_SEND_I_CHECKED says the professional checked the
 * text after the client flagged identifiers on an anonymous case; it travels in the signed
 * header and the broker records it in the audit log. zn_client_send_flags refuses content with
 * identifiers on an anonymous case with ZN_E_IDENTIFIERS (naming the kinds it found, nothing
 * sent; zn_client_identifiers lists the findings) unless the flag is set. It scans the content
 * first and asks the broker for the case's mode (case-show, recorded in the audit log as a read
 * of the case) only when something was found; when that read fails, nothing is sent and the
 * error says why (a partner that is no member of the case, an unknown case, or the broker's
 * answer). zn_client_send and zn_client_send_ex are this call with flags 0. */
#define ZN_CLIENT_SEND_I_CHECKED 1u
int zn_client_send_flags(zn_client *c, const char *recipient, const uint8_t case_id[ZN_CLIENT_ID_LEN],
                         const void *content, size_t len, unsigned flags, uint8_t msgid[ZN_CLIENT_ID_LEN],
                         uint64_t *audit_index, zn_err *e) __attribute__((warn_unused_result));

typedef enum { ZN_ITEM_KIND_ENVELOPE = 1, ZN_ITEM_KIND_NOTICE = 2 } zn_item_kind;
typedef enum { ZN_FIELD_TEXT, ZN_FIELD_NUMBER, ZN_FIELD_HEX, ZN_FIELD_BOOL } zn_field_type;

typedef struct {
    char key[ZN_CLIENT_IDENT_MAX];
    zn_field_type type;
    char value[ZN_CLIENT_FIELD_MAX]; /* text (control characters replaced), decimal, lower-case
                                        hex, or "true"/"false" */
} zn_item_field;

typedef struct {
    zn_item_kind kind;
    uint8_t item_id[ZN_CLIENT_ID_LEN];
    bool valid;                    /* false: do not trust anything below but item_id */
    zn_code reason_code;           /* why it is invalid; ZN_E_OK when valid */
    char reason[ZN_ERR_TEXT_MAX];
    uint64_t time_ms;              /* unix milliseconds, as the sender (or broker) stated */
    /* ZN_ITEM_KIND_ENVELOPE (as claimed by the header when invalid) */
    uint8_t msgid[ZN_CLIENT_ID_LEN];
    uint8_t case_id[ZN_CLIENT_ID_LEN];
    char sender[ZN_CLIENT_IDENT_MAX];
    char sender_name[ZN_CLIENT_TEXT_MAX]; /* from the convenant; "" when unknown */
    char handler[ZN_CLIENT_TEXT_MAX];
    uint64_t convenant_version;
    uint8_t *content;              /* malloc'd, valid envelopes only; freed by zn_item_clear */
    size_t content_len;
    /* ZN_ITEM_KIND_NOTICE */
    char notice_type[ZN_CLIENT_IDENT_MAX];
    size_t n_fields;
    zn_item_field fields[ZN_CLIENT_NOTICE_FIELDS];
} zn_item;

/* Wait up to wait_ms for the next item. Returns 1 with *out filled (release with zn_item_clear),
 * 0 when nothing is left: the broker has pushed everything queued for this client and nothing
 * new came within wait_ms (0: do not wait beyond that), -1 on error. Connects on demand with
 * ZN_CLIENT_DEFAULT_WINDOW. An envelope is returned valid only when its sender is in the
 * convenant, the signature verifies with the sender's signing key, it is addressed to this
 * partner and it opens with the sender's box key; otherwise it is returned with valid == false
 * and a reason. A message already shown earlier is acknowledged and skipped. */
int zn_client_next(zn_client *c, int wait_ms, zn_item *out, zn_err *e)
    __attribute__((warn_unused_result));

/* Record a valid message as shown (state file) and acknowledge the item to the broker, which
 * then forgets it. Acknowledge invalid items and notices too once handled, or the broker
 * delivers them again. */
int zn_client_ack(zn_client *c, const zn_item *item, zn_err *e) __attribute__((warn_unused_result));

/* Leave an item queued at the broker (it is delivered again on a later connection) and free
 * its place in this connection's window, so items behind it keep coming. */
int zn_client_release(zn_client *c, const zn_item *item, zn_err *e) __attribute__((warn_unused_result));

/* Wipe and free the content and reset the item; safe on a zeroed item. */
void zn_item_clear(zn_item *item);

#ifdef __cplusplus
}
#endif

#endif
