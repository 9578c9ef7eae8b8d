/* zn_convenant — the authority-signed data-sharing covenant.
 *
 * File: ["zorgnet-convenant", 1, body bin, signature bin64]; signature = Ed25519 by the
 * authority over "zorgnet/v1/convenant" || body. body is a msgpack map (docs/PROTOCOL.md,
 * "Convenant"): name, version, valid_from, valid_until (unix seconds), authority key, broker
 * keys and endpoint, networks, partners (id, name, category, public keys, roles per network,
 * auditor flag, the network key sealed to the partner's box key), network key epoch, policy.
 *
 * Roles: per network a partner holds `partner` and/or `coordinator`; `auditor` holds for the
 * whole convenant. An entry that is a coordinator anywhere is nothing else (no partner role, not
 * auditor) and never gets the sealed network key.
 *
 * Ownership: zn_convenant_new/decode/load return a heap object the caller releases with
 * zn_convenant_destroy(&c), which NULLs the pointer and is safe to call twice. Pointers to
 * partners stay valid until the convenant is destroyed or edited. */
#ifndef ZN_CONVENANT_H
#define ZN_CONVENANT_H

#include "zn_err.h"
#include "zn_keys.h"
#include "zn_wire.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ZN_CONVENANT_MAX_BYTES (4u * 1024 * 1024)
#define ZN_MAX_PARTNERS 512
#define ZN_MAX_NETWORKS 32
#define ZN_NAME_MAX 128
#define ZN_ENDPOINT_MAX 256
#define ZN_SEALED_NETKEY_LEN (ZN_KEY_LEN + crypto_box_SEALBYTES)

#define ZN_ROLE_PARTNER 1u
#define ZN_ROLE_COORDINATOR 2u

/* Policy numbers: X(field, default, min, max, unit, used by, meaning). `zorgnet-keys convenant
 * set KEY=VALUE` accepts exactly these keys; docs/CONVENANT.md lists them. */
#define ZN_POLICY(X)                                                                              \
    X(queue_quota, 10000, 1, 1000000, "items", "broker",                                          \
      "envelopes and notices waiting for one recipient before new envelopes are refused")         \
    X(request_window_s, 300, 30, 3600, "seconds", "broker",                                       \
      "how far a signed request's time may differ from the broker's clock (replay window)")       \
    X(retention_days, 730, 1, 3650, "days", "audit",                                              \
      "how long personal fields of records are kept before they are redacted")                    \
    X(handover_timeout_h, 72, 1, 720, "hours", "handover",                                        \
      "how long a warm handover may stay unanswered before the coordinators are told")            \
    X(override_lifetime_d, 14, 1, 90, "days", "safety override", "how long a safety override stands") \
    X(override_review_h, 48, 1, 336, "hours", "safety override",                                  \
      "how soon coordinators must review a safety override before it is escalated to auditors")   \
    X(signal_rate_day, 50, 1, 10000, "signals per day", "signals", "new signals per partner per day") \
    X(signal_rate_handler_day, 20, 1, 10000, "signals per day", "signals",                        \
      "new signals per handler per day")                                                          \
    X(signal_min_lifetime_d, 7, 0, 365, "days", "signals",                                        \
      "a signal withdrawn sooner counts as a look-up")                                            \
    X(signal_retention_days, 730, 1, 3650, "days", "signals", "how long a signal stays active")    \
    X(informed_grace_d, 28, 0, 365, "days", "signals",                                            \
      "how long a signal may stay without the family being informed before it is listed")

typedef struct {
#define ZN_X_FIELD(name, def, min, max, unit, user, meaning) uint64_t name;
    ZN_POLICY(ZN_X_FIELD)
#undef ZN_X_FIELD
} zn_policy;

typedef struct {
    const char *name;
    uint64_t def, min, max;
    const char *unit, *used_by, *meaning;
    size_t offset; /* into zn_policy */
} zn_policy_def;

extern const zn_policy_def zn_policy_defs[];
extern const size_t zn_policy_ndefs;
void zn_policy_defaults(zn_policy *p);
/* Set one number by name; -1 with a clear error for an unknown key or a value out of range. */
int zn_policy_set(zn_policy *p, const char *key, const char *value, zn_err *e);
/* The relations between numbers (override_review_h below override_lifetime_d in hours): 0, or
 * -1 with ZN_E_USAGE naming both keys. Checked when a convenant is signed or loaded. */
int zn_policy_check_relations(const zn_policy *p, zn_err *e) __attribute__((warn_unused_result));

/* Matches between signals (docs/CONVENANT.md, "Disclosure and decision rules"). */
typedef enum { ZN_LINK_PERSON = 1, ZN_LINK_FAMILY = 2 } zn_link;
const char *zn_link_name(zn_link l); /* "person", "family"; "?" otherwise */

/* Who learns of a match: nobody (the pair is never matched), the coordinators of the networks
 * involved, or both partners and those coordinators. 0 in a rule means "the default". */
typedef enum { ZN_DISCLOSE_NONE = 1, ZN_DISCLOSE_COORDINATORS = 2, ZN_DISCLOSE_PARTNERS = 3 } zn_disclosure;
const char *zn_disclosure_name(zn_disclosure d); /* "none", "coordinators", "partners"; "default" for 0 */

#define ZN_MAX_DISCLOSURE_RULES 128
#define ZN_MAX_DECISION 16 /* categories in one network's decision rule */

/* A rule for one unordered pair of networks (a <= b, indexes into networks; a == b: matches
 * inside one network). person / family: a zn_disclosure, or 0 for the default. */
typedef struct {
    uint8_t a, b;
    uint8_t person, family;
} zn_disclosure_rule;

/* A network's decision rule: partner categories in order of preference for the lead. */
typedef struct {
    size_t n;
    char category[ZN_MAX_DECISION][ZN_IDENT_MAX];
} zn_decision_rule;

typedef struct {
    char id[ZN_IDENT_MAX];
    char name[ZN_NAME_MAX];
    char category[ZN_IDENT_MAX]; /* e.g. "school", "police"; may be empty */
    zn_pubkeys keys;             /* kind ZN_KIND_PARTNER */
    uint32_t roles[ZN_MAX_NETWORKS]; /* bit set of ZN_ROLE_* per network index */
    bool auditor;
    bool has_netkey;
    uint8_t sealed_netkey[ZN_SEALED_NETKEY_LEN]; /* crypto_box_seal(network key) to keys.box */
} zn_partner;

typedef struct {
    char name[ZN_NAME_MAX];
    uint64_t version;                 /* bumped by every edit */
    uint64_t valid_from, valid_until; /* unix seconds; valid_until is required */
    uint8_t authority[ZN_KEY_LEN];    /* Ed25519 */
    uint8_t broker_transport[ZN_KEY_LEN];
    uint8_t broker_sign[ZN_KEY_LEN];
    char endpoint[ZN_ENDPOINT_MAX];   /* e.g. tcp://127.0.0.1:7450 */
    uint64_t netkey_epoch;
    size_t n_networks;
    char networks[ZN_MAX_NETWORKS][ZN_IDENT_MAX];
    size_t n_partners;
    zn_partner *partners; /* n_partners entries, owned */
    zn_policy policy;
    size_t n_disclosure;
    zn_disclosure_rule disclosure[ZN_MAX_DISCLOSURE_RULES];
    zn_decision_rule decision[ZN_MAX_NETWORKS]; /* same index as networks */
    /* The signed file this was decoded from (NULL for an object built in memory). */
    uint8_t *raw;
    size_t raw_len;
} zn_convenant;

zn_convenant *zn_convenant_new(void);
void zn_convenant_destroy(zn_convenant **c);

/* Decode a signed file and verify its signature against the authority key it names. Does NOT
 * check validity dates (zn_convenant_check_time) nor pin the authority (compare c->authority). */
int zn_convenant_decode(const uint8_t *file, size_t len, zn_convenant **out, zn_err *e)
    __attribute__((warn_unused_result));
int zn_convenant_load(const char *path, zn_convenant **out, zn_err *e) __attribute__((warn_unused_result));
/* 0 when now (unix seconds) lies within [valid_from, valid_until]. */
int zn_convenant_check_time(const zn_convenant *c, uint64_t now, zn_err *e)
    __attribute__((warn_unused_result));
/* Encode the body, sign it with the authority's key, replace c->raw; c->authority must match. */
int zn_convenant_sign(zn_convenant *c, const zn_seckeys *authority, zn_err *e)
    __attribute__((warn_unused_result));
int zn_convenant_save(const char *path, const zn_convenant *c, zn_err *e) __attribute__((warn_unused_result));

/* Look-ups; NULL / -1 when absent. */
const zn_partner *zn_convenant_partner(const zn_convenant *c, const char *id);
const zn_partner *zn_convenant_partner_by_transport(const zn_convenant *c, const uint8_t key[ZN_KEY_LEN]);
int zn_convenant_network(const zn_convenant *c, const char *name);
bool zn_partner_has_role(const zn_partner *p, int network, uint32_t role);
bool zn_partner_is_coordinator(const zn_partner *p);

/* Open the sealed network key with the partner's own keys. */
int zn_convenant_open_netkey(const zn_convenant *c, const zn_seckeys *self, const char *self_id,
                             zn_netkey *out, zn_err *e) __attribute__((warn_unused_result));

/* Set one field by name: "name", "endpoint", "valid_from" / "valid_until" (a DATE YYYY-MM-DD in
 * UTC: valid_from starts at 00:00:00 of that day, valid_until ends at 23:59:59 of that day), a
 * policy number (as zn_policy_set), or a rule for matches:
 *   "disclosure:NET_A:NET_B:person" / "disclosure:NET_A:NET_B:family" = "default" | "none" |
 *       "coordinators" | "partners" (NET_A may equal NET_B; either order; a pair set back to
 *       default twice is removed; disclosure stays sorted by (a, b))
 *   "decision:NET" = "cat1,cat2,..." (1..ZN_MAX_DECISION distinct identifiers; "" clears it)
 * -1 (ZN_E_USAGE) with an error that names the key and what it accepts; c is then unchanged. The
 * relation valid_from <= valid_until is checked when signing. */
int zn_convenant_set(zn_convenant *c, const char *key, const char *value, zn_err *e)
    __attribute__((warn_unused_result));
/* Seal the network key (crypto_box_seal) to the box key of every entry that holds the partner
 * role somewhere or is an auditor; coordinators and entries without a role get none. Sets
 * c->netkey_epoch to k->epoch. */
int zn_convenant_seal_netkey(zn_convenant *c, const zn_netkey *k, zn_err *e)
    __attribute__((warn_unused_result));

#endif
