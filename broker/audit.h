/* audit — the broker's audit log: entries appended inside the transaction of the change they
 * record, the RFC 6962 tree over their commitments, signed tree heads, proofs, and redaction
 * (docs/AUDIT.md).
 *
 * zn_audit_append is the one way an entry gets into the log. It runs inside the caller's store
 * transaction, and zn_audit_flush writes the entry row (commitment, salt, bytes) and the tree
 * nodes it completes before that transaction commits, so the change and its entry commit or
 * vanish together. The tree's right edge
 * (a zn_merkle_frontier) lives in memory; when the caller rolls back a savepoint or the
 * transaction it tells the log (zn_audit_mark / zn_audit_undo), which reloads the edge from the
 * store when appends were undone.
 *
 * Tree nodes are stored from level ZN_AUDIT_NODE_LEVEL up; a lower node is recomputed from at
 * most 2^ZN_AUDIT_NODE_LEVEL commitments, so a proof still reads O(log n) rows.
 *
 * Ownership: zn_audit_log_open returns a log released with zn_audit_log_close(&a); it borrows
 * the store and the broker's key, which must outlive it. Pointers returned by zn_audit_head are
 * valid until the next call that changes the log. */
#ifndef ZN_BROKER_AUDIT_H
#define ZN_BROKER_AUDIT_H

#include "store.h"
#include "zn_audit.h"
#include "zn_keys.h"
#include "zn_merkle.h"

#include <stdbool.h>
#include <stdint.h>

#define ZN_AUDIT_NODE_LEVEL 4
#define ZN_AUDIT_HEAD_EVERY_MS 1000u /* a head at least this often while entries arrive */

typedef struct zn_audit_log zn_audit_log;

/* Load the log from the store and check it against its latest signed head (the root of that
 * size must match, and no entry may be missing): a log that does not match refuses the start.
 * `off` (bench builds only) turns the log off: nothing is appended or signed. */
int zn_audit_log_open(zn_store *s, const zn_seckeys *broker, bool off, zn_audit_log **out, zn_err *e)
    __attribute__((warn_unused_result));
void zn_audit_log_close(zn_audit_log **a);
bool zn_audit_off(const zn_audit_log *a);

/* Append one entry inside the open transaction; en->index and en->time_ms are set here.
 * 0 and *index on success; -1 when the entry breaks the format (a bug) or the store fails. */
int zn_audit_append(zn_audit_log *a, zn_audit_entry *en, uint64_t now_ms, uint64_t *index)
    __attribute__((warn_unused_result));
/* The index the next entry will get. */
uint64_t zn_audit_size(const zn_audit_log *a);
/* Write the entries appended since the last flush: their commitments (hashed on a helper thread
 * when there are many), rows and tree nodes. zn_audit_append only encodes an entry and draws its
 * salt; the writing happens here, still inside the transaction, and the caller flushes before
 * it commits. Signing a head, proofs and redaction flush first. A flush inside a savepoint that
 * is then rolled back is undone by zn_audit_undo (the earlier entries are written again by the
 * next flush). -1: the caller must roll the transaction back. */
int zn_audit_flush(zn_audit_log *a) __attribute__((warn_unused_result));

/* Call with the store's savepoint (mark) and after rolling it back (undo); zn_audit_tx_begin
 * after zn_store_begin, zn_audit_flush + zn_store_commit + zn_audit_tx_end to commit, and
 * zn_audit_tx_undo after zn_store_rollback or a failed commit. */
void zn_audit_mark(zn_audit_log *a);
int zn_audit_undo(zn_audit_log *a);
void zn_audit_tx_begin(zn_audit_log *a);
int zn_audit_tx_undo(zn_audit_log *a);
/* After a commit: forget the transaction's entries (and wipe their salts). */
void zn_audit_tx_end(zn_audit_log *a);

/* Sign and store a tree head for the current size inside the open transaction, when the log
 * has grown since the latest head. */
int zn_audit_sign_head(zn_audit_log *a, uint64_t now_ms) __attribute__((warn_unused_result));
/* true when entries wait for a head and the latest is ZN_AUDIT_HEAD_EVERY_MS old. */
bool zn_audit_head_due(const zn_audit_log *a, uint64_t now_ms);
/* The latest signed head (bytes, signature, decoded); size 0 and NULL bytes before the first. */
const uint8_t *zn_audit_head(const zn_audit_log *a, size_t *len, const uint8_t **sig, zn_tree_head *th);

/* Proofs against stored nodes (hashes end to end; see zn_merkle.h). */
int zn_audit_inclusion(zn_audit_log *a, uint64_t index, uint64_t size, uint8_t *out, uint32_t *n)
    __attribute__((warn_unused_result));
int zn_audit_consistency(zn_audit_log *a, uint64_t m, uint64_t size, uint8_t *out, uint32_t *n)
    __attribute__((warn_unused_result));

/* Redact entries recorded before `before_ms` (at most `max` per call) inside the open
 * transaction: delete their bytes and salts, keep their commitments, and append one "redact"
 * entry naming the range. Entries the broker wrote about itself (no actor and no counterpart:
 * convenant loads, starts, shutdowns, redactions) hold no personal data and stay. *redacted
 * says how many were redacted (0: nothing to do). The caller commits and then truncates the WAL
 * (zn_store_checkpoint_truncate) so the old bytes leave the disk. */
int zn_audit_redact(zn_audit_log *a, uint64_t before_ms, uint64_t now_ms, uint32_t max, uint64_t *redacted)
    __attribute__((warn_unused_result));

#endif
