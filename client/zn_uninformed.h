/* zn_uninformed — which signals were still not informed after the convenant's grace period,
 * worked out from the audit log alone (for `zorgnet audit report`).
 *
 * Feed every entry in index order: "signal-add" starts a signal (its details "signal",
 * "network", "informed"; the actor is its partner), "signal-refresh" and "signal-informed" may
 * set the date the family was told, "signal-withdraw" and "signal-expire" end it. Entries of
 * other actions are ignored. A log read from a later start (--since) cannot see the "signal-add"
 * of older signals; those are simply not listed.
 *
 * Ownership: zn_uninformed_new returns a tracker released with zn_uninformed_free(&u) (NULLs
 * it). Strings handed to the callback are valid during the call only. */
#ifndef ZN_UNINFORMED_H
#define ZN_UNINFORMED_H

#include "zn_audit.h"

#include <stdint.h>

typedef struct zn_uninformed zn_uninformed;

zn_uninformed *zn_uninformed_new(void);
void zn_uninformed_free(zn_uninformed **u);
/* 0, or -1 when memory ran out. */
int zn_uninformed_feed(zn_uninformed *u, const zn_audit_entry *en) __attribute__((warn_unused_result));

typedef struct {
    uint8_t signal[16];
    const char *partner, *network;
    uint64_t index;      /* the "signal-add" entry */
    uint64_t created_ms;
} zn_uninformed_signal;
/* Call cb for each live signal registered before now_ms - grace_ms that has no informed date,
 * oldest first; returns how many. */
size_t zn_uninformed_list(zn_uninformed *u, uint64_t now_ms, uint64_t grace_ms,
                          void (*cb)(void *ctx, const zn_uninformed_signal *s), void *ctx);

#endif
