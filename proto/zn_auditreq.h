/* zn_auditreq — the bodies of the requests that read the audit log, and of their results
 * (docs/PROTOCOL.md, "Reading the audit log"). Both requests travel as signed REQUEST frames, so
 * every read is itself recorded in the log with the signed request as evidence.
 *
 *   "receipt"     body [index u64, known_size u64]
 *                 the entry's actor or an auditor; RESULT "receipt" body
 *                 [d bin32, salt bin32|nil, entry bin|nil, tree_head bin, tree_head_sig bin64,
 *                  inclusion [bin32...], consistency [bin32...]]
 *                 inclusion: of leaf `index` in the head's tree; consistency: from known_size to
 *                 the head's size (empty when known_size is 0 or not below it). salt and entry
 *                 are nil once the entry is redacted.
 *   "audit-read"  body: a map, every key optional except "what" (auditors only):
 *                   "what"     str  "entries" | "heads" | "convenants" | "head"
 *                   "from"     u64  entries: first index; heads: smallest size; convenants: smallest version
 *                   "upto"     u64  entries: stop before this index; heads: largest size (0: no bound)
 *                   "limit"    u64  records at most, 1..ZN_READ_LIMIT (default ZN_READ_LIMIT)
 *                   "since"    u64  entries at or after this time (unix ms)
 *                   "until"    u64  entries before this time (unix ms)
 *                   "leaves"   bool entries that do not match come as "leaves" records (exports)
 *                   "case" bin16, "partner" str (actor or counterpart), "handler" str,
 *                   "action" str, "basis" str, "decision" str ("allowed" | "refused"),
 *                   "subject" bin (a pseudonym: entries whose details hold it under "subject",
 *                              or among the pseudonyms listed end to end under "related")
 *                 RESULT "audit-read" body [size u64, next u64, records [bin ...]]: size is the
 *                 log's size when read, next the `from` of the next page (entries: the next
 *                 index; heads and convenants: the last key + 1); a read is complete when a page
 *                 holds no records (and, for entries, next has reached the bound). Each record
 *                 is the bytes of one zn_auditlog record.
 *                 "head" returns the broker's latest signed tree head as one "head" record, signed
 *                 afresh when the log has grown since the last one.
 *
 * Ownership: encoders append to a caller's sbuffer; parsed results point into the parsed
 * document (keep it and its buffer alive). */
#ifndef ZN_AUDITREQ_H
#define ZN_AUDITREQ_H

#include "zn_audit.h"
#include "zn_envelope.h"
#include "zn_err.h"
#include "zn_merkle.h"
#include "zn_wire.h"

#include <stdbool.h>
#include <stdint.h>

#define ZN_READ_LIMIT 4096
#define ZN_SUBJECT_MAX 64

typedef enum { ZN_READ_ENTRIES = 1, ZN_READ_HEADS, ZN_READ_CONVENANTS, ZN_READ_HEAD } zn_read_what;

typedef struct {
    zn_read_what what;
    uint64_t from, upto;
    uint32_t limit;
    uint64_t since_ms, until_ms; /* until 0: open */
    bool leaves;
    bool has_case;
    uint8_t case_id[ZN_ID_LEN];
    char partner[ZN_IDENT_MAX];   /* "" : any */
    char handler[ZN_HANDLER_MAX]; /* "" : any */
    char action[ZN_IDENT_MAX];
    char basis[ZN_IDENT_MAX];
    int decision;                 /* 0: any, else a zn_audit_decision */
    size_t subject_len;           /* 0: any */
    uint8_t subject[ZN_SUBJECT_MAX];
} zn_audit_filter;

const char *zn_read_what_name(zn_read_what w);

void zn_body_receipt(msgpack_sbuffer *out, uint64_t index, uint64_t known_size);
int zn_body_receipt_parse(const msgpack_object *body, uint64_t *index, uint64_t *known_size, zn_err *e)
    __attribute__((warn_unused_result));

/* Encode only what is set (non-zero / non-empty); -1 when a field breaks its rule. */
int zn_body_audit_read(msgpack_sbuffer *out, const zn_audit_filter *f) __attribute__((warn_unused_result));
/* Strict: unknown keys, wrong types and values out of range are refused (ZN_E_MALFORMED). */
int zn_body_audit_read_parse(const msgpack_object *body, zn_audit_filter *f, zn_err *e)
    __attribute__((warn_unused_result));
/* true when a decoded entry passes the filter's entry conditions (time, case, partner, ...). */
bool zn_audit_filter_match(const zn_audit_filter *f, const zn_audit_entry *en);

typedef struct {
    const uint8_t *d;      /* 32 bytes */
    const uint8_t *salt;   /* 32 bytes or NULL (redacted) */
    const uint8_t *entry;  /* or NULL (redacted) */
    size_t entry_len;
    const uint8_t *head;   /* signed tree head bytes */
    size_t head_len;
    const uint8_t *head_sig;
    uint8_t inclusion[ZN_MERKLE_MAX_INCLUSION * ZN_MERKLE_HASH_LEN];
    uint32_t n_inclusion;
    uint8_t consistency[ZN_MERKLE_MAX_CONSISTENCY * ZN_MERKLE_HASH_LEN];
    uint32_t n_consistency;
} zn_receipt;

void zn_result_receipt(msgpack_sbuffer *out, const zn_receipt *r);
int zn_result_receipt_parse(const msgpack_object *body, zn_receipt *r, zn_err *e)
    __attribute__((warn_unused_result));

/* The "audit-read" result is written in three steps: begin (with the number of records), one
 * call per record, nothing to end. */
void zn_result_audit_read_begin(msgpack_packer *pk, uint64_t size, uint64_t next, uint32_t n_records);
/* Parse: *records is the array of bins (each checked to be a bin), n its length. */
int zn_result_audit_read_parse(const msgpack_object *body, uint64_t *size, uint64_t *next,
                               const msgpack_object **records, uint32_t *n, zn_err *e)
    __attribute__((warn_unused_result));

#endif
