/* audit_detail — the pieces the broker's modules (broker.c, signals.c, cases.c) build their audit
 * entries from: one constructor per detail type (the details of an entry are a map of u64, str
 * and bin values sorted by key, zn_audit.h), the sort for details gathered out of order, and the
 * evidence of an entry a partner's signed request caused.
 *
 * Ownership: a detail and an entry borrow their keys and values; they must outlive the append
 * of the entry (zn_audit_append). */
#ifndef ZN_BROKER_AUDIT_DETAIL_H
#define ZN_BROKER_AUDIT_DETAIL_H

#include "zn_audit.h"
#include "zn_envelope.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline zn_audit_detail zn_det_u64(const char *key, uint64_t v)
{
    return (zn_audit_detail){.key = key, .type = ZN_AUDIT_U64, .u64 = v};
}

/* v: a NUL-terminated string */
static inline zn_audit_detail zn_det_str(const char *key, const char *v)
{
    return (zn_audit_detail){.key = key, .type = ZN_AUDIT_STR, .p = (const uint8_t *)v, .len = strlen(v)};
}

static inline zn_audit_detail zn_det_bin(const char *key, const uint8_t *p, size_t n)
{
    return (zn_audit_detail){.key = key, .type = ZN_AUDIT_BIN, .p = p, .len = n};
}

/* an id (message, item, case, override, handover ...): a bin of ZN_ID_LEN bytes */
static inline zn_audit_detail zn_det_id(const char *key, const uint8_t id[ZN_ID_LEN])
{
    return zn_det_bin(key, id, ZN_ID_LEN);
}

static inline int zn_det_cmp(const void *a, const void *b)
{
    return strcmp(((const zn_audit_detail *)a)->key, ((const zn_audit_detail *)b)->key);
}

/* Sort details by key (an entry's details must be; the keys must be distinct). */
static inline void zn_det_sort(zn_audit_detail *det, size_t n)
{
    qsort(det, n, sizeof det[0], zn_det_cmp);
}

/* An entry a partner caused with a signed request: the partner and its handler are the actor,
 * the request (and its signature) the evidence. */
static inline void zn_entry_request(zn_audit_entry *en, const char *partner, const char *handler, const uint8_t *req,
                                    size_t req_len, const uint8_t *sig)
{
    en->actor = partner;
    en->handler = handler;
    en->evidence_kind = "request";
    en->evidence = req, en->evidence_len = req_len, en->evidence_sig = sig;
}

#endif
