/* store — the broker's sqlite3 database: one file, WAL, synchronous=FULL, schema versioned with
 * PRAGMA user_version and forward migrations (see s_migrations in store.c).
 *
 * Automatic checkpoints are off; a thread with its own connection checkpoints the WAL
 * (PASSIVE) every 100 ms, so commits only append to the WAL and sync it.
 *
 * Transactions are driven by the caller (the event loop's group commit): zn_store_begin, then
 * any number of operations, each optionally inside a savepoint so one failing request leaves
 * the others intact, then zn_store_commit. Nothing here replies to anyone.
 *
 * Ownership: zn_store_open returns a handle released by zn_store_close(&s) (NULLs it). Bytes
 * handed to callbacks are valid only during the callback. */
#ifndef ZN_STORE_H
#define ZN_STORE_H

#include "policy.h"
#include "zn_audit.h"
#include "zn_envelope.h"
#include "zn_signal.h"
#include "zn_err.h"
#include <stdbool.h>
#include <stdint.h>

#define ZN_SCHEMA_VERSION 4

typedef struct zn_store zn_store;

int zn_store_open(const char *path, zn_store **out, zn_err *e) __attribute__((warn_unused_result));
void zn_store_close(zn_store **s);

int zn_store_begin(zn_store *s) __attribute__((warn_unused_result));
int zn_store_commit(zn_store *s) __attribute__((warn_unused_result));
void zn_store_rollback(zn_store *s);
int zn_store_in_tx(const zn_store *s);
/* One savepoint level, for one request inside the batch. */
int zn_store_savepoint(zn_store *s) __attribute__((warn_unused_result));
int zn_store_release(zn_store *s) __attribute__((warn_unused_result));
void zn_store_rollback_to(zn_store *s);

/* meta: small named values (integers or blobs). get returns 1 found, 0 absent, -1 error. */
int zn_store_meta_get_u64(zn_store *s, const char *key, uint64_t *v);
int zn_store_meta_set_u64(zn_store *s, const char *key, uint64_t v);
int zn_store_meta_get_blob(zn_store *s, const char *key, uint8_t *buf, size_t len);
int zn_store_meta_set_blob(zn_store *s, const char *key, const uint8_t *buf, size_t len);

/* cases: get returns 1 found, 0 absent, -1 error; insert returns 1 if the id exists (every
 * field of zn_case is stored, the person and related pseudonyms only when identified). The
 * setters return rows changed (0 or 1) or -1: link sets person and related and marks the case
 * identified; close sets closed_ms (not 0, which means open); regisseur names the new
 * regisseur. */
int zn_store_case_get(zn_store *s, const uint8_t id[ZN_ID_LEN], zn_case *out);
int zn_store_case_insert(zn_store *s, const zn_case *c);
int zn_store_case_link(zn_store *s, const uint8_t id[ZN_ID_LEN], const uint8_t person[ZN_PSN_LEN],
                       const uint8_t (*related)[ZN_PSN_LEN], uint32_t n_related);
int zn_store_case_close(zn_store *s, const uint8_t id[ZN_ID_LEN], uint64_t closed_ms);
int zn_store_case_set_regisseur(zn_store *s, const uint8_t id[ZN_ID_LEN], const char *partner);
/* Closed cases whose retention ended (closed_ms <= before_ms), soonest first, at most limit
 * (and at most 256 per call) ids into cb, then (by the caller, also from the callback)
 * zn_store_case_delete: the case and its members, consents, overrides and handovers go
 * together (items queued on it stay). Returns the count visited / rows removed, or -1. */
typedef int (*zn_case_id_cb)(void *ctx, const uint8_t id[ZN_ID_LEN]); /* non-zero stops */
int zn_store_cases_closed_before(zn_store *s, uint64_t before_ms, int limit, zn_case_id_cb cb, void *ctx);
int zn_store_case_delete(zn_store *s, const uint8_t id[ZN_ID_LEN]);

/* ---- case members, consent, safety overrides, handovers (schema 4) ----
 * Stored members are the partners that held the case or acknowledged an envelope on it (how:
 * "regisseur" the creator, "received" acknowledged an envelope, "handover" accepted a
 * handover); those admitted by consent or an override are worked out by policy.c, not stored.
 * add returns 0 when it added or changed the row, 1 when it did not: the first row for a
 * partner stays (only "handover" replaces "received", keeping since_ms), and nothing is added
 * on a case that does not exist (e.g. deleted after its retention). */
int zn_store_member_add(zn_store *s, const uint8_t case_id[ZN_ID_LEN], const char *partner, const char *how,
                        uint64_t since_ms);
/* 1 member (with how / since when not NULL), 0 not, -1 error. */
int zn_store_member_get(zn_store *s, const uint8_t case_id[ZN_ID_LEN], const char *partner, char how[16],
                        uint64_t *since_ms);
typedef int (*zn_member_cb)(void *ctx, const zn_member_row *m); /* non-zero stops */
/* In order of since_ms, at most limit; count visited or -1. */
int zn_store_members(zn_store *s, const uint8_t case_id[ZN_ID_LEN], int limit, zn_member_cb cb, void *ctx);

/* Consent records of a case are numbered 1, 2, ... (seq); the one with the highest seq is the
 * current one. add stores r (r->seq is ignored; *seq gets the new number; r->partner, who
 * recorded it, is required); purpose is the sealed encoding (NULL, 0: none). current: 1 found
 * (out filled; its purpose points into a buffer valid until the next store call), 0 none, -1
 * error. history: the newest `limit` records, oldest first among them; count or -1 (purpose
 * valid during the callback). */
int zn_store_consent_add(zn_store *s, const uint8_t case_id[ZN_ID_LEN], const zn_consent_row *r, uint64_t *seq);
int zn_store_consent_current(zn_store *s, const uint8_t case_id[ZN_ID_LEN], zn_consent_row *out);
typedef int (*zn_consent_cb)(void *ctx, const zn_consent_row *r); /* non-zero stops */
int zn_store_consent_history(zn_store *s, const uint8_t case_id[ZN_ID_LEN], int limit, zn_consent_cb cb,
                             void *ctx);
/* Cases whose current consent record is granted with an until_ms that lies after the cursor
 * (after_ms, after_case: until_ms > after_ms, or until_ms == after_ms and a case id above
 * after_case, bytewise; NULL: none) and at or before upto_ms, in order of (until_ms, case id),
 * at most limit, into cb (non-zero stops). The caller moves its cursor to the last one it
 * handled. Count visited or -1. */
typedef int (*zn_consent_end_cb)(void *ctx, const uint8_t case_id[ZN_ID_LEN], uint64_t seq, uint64_t until_ms);
int zn_store_consents_ended(zn_store *s, uint64_t after_ms, const uint8_t after_case[ZN_ID_LEN], uint64_t upto_ms,
                            int limit, zn_consent_end_cb cb, void *ctx);

/* Safety overrides. put inserts, or replaces the row with the same id (review, expiry,
 * escalation rewrite it); justification and note are the sealed encodings. get: 1 / 0 / -1,
 * sealed pointers valid until the next store call. */
int zn_store_override_put(zn_store *s, const zn_override_row *r);
int zn_store_override_get(zn_store *s, const uint8_t id[ZN_ID_LEN], zn_override_row *out);
typedef int (*zn_override_cb)(void *ctx, const zn_override_row *r); /* non-zero stops */
/* The overrides of a case between a and b (either direction; b NULL: every override that names
 * a at either end), newest first; count or -1. */
int zn_store_overrides_between(zn_store *s, const uint8_t case_id[ZN_ID_LEN], const char *a, const char *b,
                               zn_override_cb cb, void *ctx);
/* A page for override-list, newest first: those of the networks in `networks` (n_networks names,
 * at most ZN_MAX_NETWORKS; 0: every network), and of them those with partner `from` as author
 * (NULL: any author); pending_only: state pending and expires_ms > now_ms. *total gets the
 * number of rows that pass. Count visited or -1. */
int zn_store_override_list(zn_store *s, const char (*networks)[ZN_IDENT_MAX], size_t n_networks, const char *from,
                           bool pending_only, uint64_t now_ms, uint64_t offset, int limit, uint64_t *total,
                           zn_override_cb cb, void *ctx);
/* Overrides whose time came, at most limit (and at most 256 per call), soonest first: pending
 * or approved with expires_ms <= now_ms, or pending, not escalated, with review_by_ms <= now_ms.
 * The callback may put the row it is given. */
int zn_store_overrides_due(zn_store *s, uint64_t now_ms, int limit, zn_override_cb cb, void *ctx);
/* Standing overrides of a case (pending or approved, expires_ms > now_ms), newest first. */
int zn_store_overrides_standing(zn_store *s, const uint8_t case_id[ZN_ID_LEN], uint64_t now_ms, int limit,
                                zn_override_cb cb, void *ctx);

/* Handovers. put inserts or replaces by id; get 1 / 0 / -1 (reason valid until the next store
 * call). open: 1 when the case has an open handover (its row into out when not NULL, the
 * newest if there were several), 0, -1. list: the handovers a partner offered or was offered,
 * newest first, from offset, at most limit; *total the number of them. due: open, not
 * escalated, timeout_ms <= now_ms, soonest first, at most limit and 256 per call (the callback
 * may put the row). */
int zn_store_handover_put(zn_store *s, const zn_handover_row *r);
int zn_store_handover_get(zn_store *s, const uint8_t id[ZN_ID_LEN], zn_handover_row *out);
int zn_store_handover_open(zn_store *s, const uint8_t case_id[ZN_ID_LEN], zn_handover_row *out);
typedef int (*zn_handover_cb)(void *ctx, const zn_handover_row *r); /* non-zero stops */
int zn_store_handover_list(zn_store *s, const char *partner, uint64_t offset, int limit, uint64_t *total,
                           zn_handover_cb cb, void *ctx);
int zn_store_handovers_due(zn_store *s, uint64_t now_ms, int limit, zn_handover_cb cb, void *ctx);
/* The open handovers offered to recipient, oldest first, at most limit (reason valid during the
 * callback; the callback may not put rows). Count visited or -1. */
int zn_store_handovers_open_to(zn_store *s, const char *recipient, int limit, zn_handover_cb cb, void *ctx);

/* Message ids: 1 when `sender` sent msgid to `recipient` on case_id (the dossier check), 0, -1. */
int zn_store_msgid_match(zn_store *s, const char *sender, const uint8_t msgid[ZN_ID_LEN], const char *recipient,
                         const uint8_t case_id[ZN_ID_LEN]);

/* Record a sender's message id (for de-duplicating retries) with the audit index of its
 * acceptance: 0 recorded now; 1 recorded before, with the recipient, case and audit index it was
 * recorded with filled in (*audit_idx is overwritten); -1 error. */
int zn_store_msgid_claim(zn_store *s, const char *sender, const uint8_t msgid[ZN_ID_LEN],
                         const char *recipient, const uint8_t case_id[ZN_ID_LEN], uint64_t now_ms,
                         uint64_t *audit_idx, char prev_recipient[ZN_IDENT_MAX], uint8_t prev_case[ZN_ID_LEN]);
/* request nonces: 0 recorded, 1 seen before, -1 error. */
int zn_store_nonce_insert(zn_store *s, const char *partner, const uint8_t nonce[16], uint64_t at_ms);
/* forget nonces before `before_ms` and message ids before `msgid_before_ms`. */
int zn_store_prune(zn_store *s, uint64_t nonce_before_ms, uint64_t msgid_before_ms);

/* queue: items waiting for a recipient (envelopes and notices) until acknowledged. */
typedef struct {
    int64_t seq;
    const uint8_t *item_id;
    int kind;
    const char *sender;    /* NULL for notices */
    const uint8_t *case_id; /* NULL for notices */
    const uint8_t *body;
    size_t body_len;
} zn_queue_item;
typedef int (*zn_queue_cb)(void *ctx, const char *recipient, const zn_queue_item *it);

int zn_store_queue_insert(zn_store *s, const char *recipient, const uint8_t item_id[ZN_ID_LEN],
                          int kind, const char *sender, const uint8_t *case_id,
                          const uint8_t *body, size_t len, uint64_t now_ms, int64_t *seq);
/* Remove the item with this seq if it is the recipient's: rows removed (0 or 1), -1 on error. */
int zn_store_queue_delete(zn_store *s, const char *recipient, int64_t seq);
/* The same, in the same one statement, telling what was removed: *kind (ZN_ITEM_*) and, for an
 * item on a case, its id into case_id with *on_case true (0 and false when nothing was removed). */
int zn_store_queue_remove(zn_store *s, const char *recipient, int64_t seq, int *kind, uint8_t case_id[ZN_ID_LEN],
                          bool *on_case);
/* Items for recipient with seq > after, in order, at most limit; returns the count or -1. */
int zn_store_queue_fetch(zn_store *s, const char *recipient, int64_t after, int limit,
                         zn_queue_cb cb, void *ctx);
/* Count per recipient (cb gets recipient and it->seq = count). */
int zn_store_queue_counts(zn_store *s, zn_queue_cb cb, void *ctx);
/* The envelopes still queued on one case (any recipient), in order (it->case_id is the case);
 * the callback may delete the item it is given; items queued during the walk are not visited.
 * Count visited or -1. */
int zn_store_queue_case(zn_store *s, const uint8_t case_id[ZN_ID_LEN], zn_queue_cb cb, void *ctx);
/* Every item of one recipient (cb), then delete them all. Returns count or -1. */
int zn_store_queue_take_all(zn_store *s, const char *recipient, zn_queue_cb cb, void *ctx);

/* ---- signals and matches (schema 3) ----
 * A signal is one partner's involvement with one person in one network: unique per
 * (partner, network, person). Its pseudonyms (the person's and the related persons') are
 * indexed so a match look-up is one index probe per pseudonym. Matches are pairs of signals
 * (a = the one registered first); deleting a signal deletes its matches.
 * Times are unix ms; values above INT64_MAX are stored as INT64_MAX. These functions allocate
 * nothing of their own: what they use is sqlite's page cache, whatever the number of signals. */
typedef struct {
    uint8_t id[ZN_ID_LEN];
    char partner[ZN_IDENT_MAX];
    char handler[ZN_HANDLER_MAX];
    char network[ZN_IDENT_MAX];
    uint8_t person[ZN_PSN_LEN];
    uint8_t related[ZN_SIGNAL_RELATED_MAX][ZN_PSN_LEN];
    uint32_t n_related;
    char contact[ZN_SIGNAL_CONTACT_MAX];
    uint64_t created_ms, refreshed_ms, expires_ms, informed_ms; /* informed 0: not yet */
} zn_signal_rec;
/* Non-zero from the callback stops the walk. link/shared are set only by
 * zn_store_signal_matches (0 / NULL otherwise). The callback may call other store functions,
 * but not the walk it is called from; in the zn_store_signal_expired walk it may delete the
 * signal it is given. */
typedef int (*zn_signal_cb)(void *ctx, const zn_signal_rec *r, zn_link link, const uint8_t *shared);

/* 1 found, 0 absent, -1 error. */
int zn_store_signal_get(zn_store *s, const uint8_t id[ZN_ID_LEN], zn_signal_rec *out);
int zn_store_signal_find(zn_store *s, const char *partner, const char *network,
                         const uint8_t person[ZN_PSN_LEN], zn_signal_rec *out);
/* Insert, or replace the signal with the same id (its pseudonym rows are rewritten). 0, or -1
 * when another signal has the same (partner, network, person), when n_related is above
 * ZN_SIGNAL_RELATED_MAX or partner or network is empty, or on error; all of its rows change,
 * or none. */
int zn_store_signal_put(zn_store *s, const zn_signal_rec *r);
/* Delete a signal, its pseudonym rows and its matches (all, or nothing on error): signals
 * removed (0 or 1), -1 on error. */
int zn_store_signal_delete(zn_store *s, const uint8_t id[ZN_ID_LEN]);
/* The active signals (expires_ms > now_ms) of partners other than mine->partner that share at
 * least one pseudonym with `mine`, each once, with link ZN_LINK_PERSON when its person is
 * mine's person, else ZN_LINK_FAMILY, and `shared` one pseudonym they share (the person's for
 * a person link). Only mine's partner, person and related are read (mine need not be stored).
 * Those sharing mine's person come first, then those sharing related[0], and so on. Returns
 * the number visited or -1. */
int zn_store_signal_matches(zn_store *s, const zn_signal_rec *mine, uint64_t now_ms, zn_signal_cb cb,
                            void *ctx);
/* One partner's active signals, oldest first (created_ms, then expires_ms, then insertion),
 * from `offset`, at most limit; *total gets how many it has. Returns the number visited or -1. */
int zn_store_signal_list(zn_store *s, const char *partner, uint64_t now_ms, uint64_t offset, int limit,
                         uint64_t *total, zn_signal_cb cb, void *ctx);
/* Signals with expires_ms <= now_ms, soonest first, at most limit (the caller deletes them). */
int zn_store_signal_expired(zn_store *s, uint64_t now_ms, int limit, zn_signal_cb cb, void *ctx);
int zn_store_signal_count(zn_store *s, uint64_t *n);

/* New-signal events for the rate limits (a registration, or an early withdrawal counted as a
 * look-up). count: events at or after since_ms for the partner, and (handler not NULL) for
 * that handler of the partner, counted up to cap at most (the limit they are checked against).
 * prune: forget events before before_ms. */
int zn_store_rate_add(zn_store *s, const char *partner, const char *handler, uint64_t at_ms);
int zn_store_rate_count(zn_store *s, const char *partner, const char *handler, uint64_t since_ms, uint64_t cap,
                        uint64_t *n);
int zn_store_rate_prune(zn_store *s, uint64_t before_ms);

typedef struct {
    uint8_t id[ZN_ID_LEN];
    uint8_t a_signal[ZN_ID_LEN], b_signal[ZN_ID_LEN];
    char a_partner[ZN_IDENT_MAX], b_partner[ZN_IDENT_MAX];
    char a_network[ZN_IDENT_MAX], b_network[ZN_IDENT_MAX];
    uint8_t shared[ZN_PSN_LEN]; /* the pseudonym they share */
    zn_link link;
    zn_disclosure disclosure;
    uint64_t created_ms;
    uint64_t connected_ms;      /* a coordinator connected the partners (0: not) */
    char connected_by[ZN_IDENT_MAX];
    char lead[ZN_IDENT_MAX];    /* named by a coordinator ("" none) */
} zn_match_rec;
/* 1 found, 0 absent, -1 error. find: the match of two signals, in either order. */
int zn_store_match_get(zn_store *s, const uint8_t id[ZN_ID_LEN], zn_match_rec *out);
int zn_store_match_find(zn_store *s, const uint8_t sig1[ZN_ID_LEN], const uint8_t sig2[ZN_ID_LEN],
                        zn_match_rec *out);
/* Insert, or replace the match with the same id. -1 when another match has the same two
 * signals (in either order), when a_signal equals b_signal, link is not a zn_link,
 * disclosure is above ZN_DISCLOSE_PARTNERS or a partner or network is empty, or on error. */
int zn_store_match_put(zn_store *s, const zn_match_rec *m);
/* The matches a signal is part of (either side), at most limit; the count visited or -1. The
 * callback may not change matches. delete: rows removed (0 or 1), -1 on error. */
typedef int (*zn_match_cb)(void *ctx, const zn_match_rec *m); /* non-zero stops the walk */
int zn_store_matches_of(zn_store *s, const uint8_t signal[ZN_ID_LEN], int limit, zn_match_cb cb, void *ctx);
int zn_store_match_delete(zn_store *s, const uint8_t id[ZN_ID_LEN]);

/* ---- audit log (see audit.h; rows are written only by the audit module) ---- */

typedef struct {
    uint64_t idx, time_ms;
    const uint8_t *d;     /* ZN_HASH_LEN bytes */
    const uint8_t *salt;  /* ZN_AUDIT_SALT_LEN bytes, or NULL once redacted */
    const uint8_t *entry; /* or NULL once redacted */
    size_t entry_len;
} zn_audit_row;
typedef int (*zn_audit_row_cb)(void *ctx, const zn_audit_row *r); /* non-zero stops the walk */
/* (key, a, b) rows: heads are (size, head bytes, signature), convenants (version, file, NULL). */
typedef int (*zn_pair_cb)(void *ctx, uint64_t key, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

/* Insert entry rows (every field of each row given). */
int zn_store_audit_insert_rows(zn_store *s, const zn_audit_row *rows, size_t n);
/* Number of entries (highest index + 1). */
int zn_store_audit_size(zn_store *s, uint64_t *size);
/* The commitments of entries [first, first + n) end to end into out; -1 unless all exist. */
int zn_store_audit_ds(zn_store *s, uint64_t first, uint64_t n, uint8_t *out);
/* Entries with from <= idx < upto in order, at most limit: count visited or -1. */
int zn_store_audit_scan(zn_store *s, uint64_t from, uint64_t upto, int limit, zn_audit_row_cb cb, void *ctx);
/* Delete an entry's salt and bytes, keep its commitment. */
int zn_store_audit_redact(zn_store *s, uint64_t idx);
int zn_store_audit_node_put(zn_store *s, unsigned level, uint64_t idx, const uint8_t hash[ZN_HASH_LEN]);
int zn_store_audit_node_get(zn_store *s, unsigned level, uint64_t idx, uint8_t hash[ZN_HASH_LEN]);
int zn_store_audit_head_put(zn_store *s, uint64_t size, uint64_t time_ms, const uint8_t *head, size_t len,
                            const uint8_t sig[ZN_SIG_LEN]);
/* The head with the largest size (0 or 1 rows into cb), or -1. */
int zn_store_audit_head_latest(zn_store *s, zn_pair_cb cb, void *ctx);
/* Heads with from_size <= size <= upto_size in order, at most limit. */
int zn_store_audit_heads(zn_store *s, uint64_t from_size, uint64_t upto_size, int limit, zn_pair_cb cb, void *ctx);
/* Keep a convenant file the broker loaded (once per version); walk them from a version on. */
int zn_store_convenant_put(zn_store *s, uint64_t version, const uint8_t *raw, size_t len);
int zn_store_convenants(zn_store *s, uint64_t from_version, int limit, zn_pair_cb cb, void *ctx);
/* secure_delete ON (overwrite every deleted byte, for redaction) or FAST (the default). */
int zn_store_secure_delete(zn_store *s, bool on);
/* Copy the WAL into the database and truncate it to zero bytes (after a redaction). */
int zn_store_checkpoint_truncate(zn_store *s);
/* A commit that leaves more than this many bytes in the WAL checkpoints and truncates it before
 * returning (a steady stream of commits can keep the checkpoint thread from ever restarting the
 * WAL). The default suits the broker; tests set a small one. */
#define ZN_STORE_WAL_LIMIT (256u * 1024 * 1024)
void zn_store_set_wal_limit(zn_store *s, uint64_t bytes);

#endif
