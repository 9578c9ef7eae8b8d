/* policy — the broker's rules on metadata, as pure functions over the convenant and a case.
 *
 * Every rule is one row of a table in policy.c: an action, who may do it, and the refusal code
 * when they may not. No I/O, no clock, no globals: the broker and the tests call the same
 * functions with the same inputs. Later capabilities (consent, overrides, anonymous traffic)
 * extend the table and the zn_case record.
 *
 * Ownership: everything is borrowed for the duration of the call. */
#ifndef ZN_POLICY_H
#define ZN_POLICY_H

#include "zn_convenant.h"
#include "zn_envelope.h"
#include "zn_err.h"

typedef struct {
    uint8_t id[ZN_ID_LEN];
    char network[ZN_IDENT_MAX];
    char regisseur[ZN_IDENT_MAX];
    uint64_t created_ms;
} zn_case;

typedef enum {
    ZN_ACT_CASE_NEW,      /* actor creates a case in `network` */
    ZN_ACT_SEND,          /* actor sends an envelope on `kase` to `counterpart` */
} zn_action;

typedef struct {
    zn_action action;
    const zn_partner *actor;       /* the authenticated partner */
    const zn_partner *counterpart; /* recipient (SEND), else NULL */
    const zn_case *kase;           /* the case (SEND), else NULL */
    const char *network;           /* the network (CASE_NEW), else NULL */
} zn_policy_query;

/* ZN_E_OK when allowed; otherwise the refusal code with a plain sentence in e. */
zn_code zn_policy_check(const zn_convenant *c, const zn_policy_query *q, zn_err *e);

#endif
