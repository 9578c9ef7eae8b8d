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
    ZN_ACT_SIGNAL_ADD,    /* actor registers (or refreshes) a signal in `network` */
    ZN_ACT_MATCH_DECIDE,  /* actor connects the partners of a match or names its lead: a
                             coordinator of `network` or of `network2` */
} zn_action;

typedef struct {
    zn_action action;
    const zn_partner *actor;       /* the authenticated partner */
    const zn_partner *counterpart; /* recipient (SEND), else NULL */
    const zn_case *kase;           /* the case (SEND), else NULL */
    const char *network;           /* the network (CASE_NEW, SIGNAL_ADD, MATCH_DECIDE), else NULL */
    const char *network2;          /* MATCH_DECIDE: the other signal's network, else NULL */
} zn_policy_query;

/* ZN_E_OK when allowed; otherwise the refusal code with a plain sentence in e. */
zn_code zn_policy_check(const zn_convenant *c, const zn_policy_query *q, zn_err *e);

/* Who learns of a match of `link` between a signal in network index a and one in b (in either
 * order): the convenant's rule for the pair when it sets one for this link, else the defaults (a
 * person match inside one network: partners; a family match or any match across networks:
 * coordinators). An index outside the convenant's networks, or an unknown link, gives
 * ZN_DISCLOSE_NONE (nobody is told of what cannot be placed). */
zn_disclosure zn_policy_disclosure(const zn_convenant *c, int a, int b, zn_link link);

/* The lead the decision rules propose among the partners of a match (their signals): each
 * candidate's rank is the place of its category in the decision rule of its signal's network
 * (absent, an unknown partner or one without a category: no rank); the best rank wins, an
 * earlier registration breaks a tie, and then the earlier place in v. NULL when no candidate
 * has a rank. Returns the winning candidate's `partner` pointer (borrowed from v). */
typedef struct {
    const char *partner;
    int network;          /* index of the signal's network */
    uint64_t registered_ms;
} zn_lead_candidate;
const char *zn_policy_propose_lead(const zn_convenant *c, const zn_lead_candidate *v, size_t n);

/* Rate limits on new signals: given how many new signals (and look-ups) the partner and the
 * handler registered in the last 24 hours, before this one, ZN_E_OK or ZN_E_RATE_LIMITED with
 * e saying which limit and the count; refused when a count has reached its limit
 * (signal_rate_day for the partner, checked first, then signal_rate_handler_day). *limit (when
 * not NULL) gets "partner-day" or "handler-day", NULL when allowed. */
zn_code zn_policy_signal_rate(const zn_convenant *c, uint64_t partner_count, uint64_t handler_count,
                              const char **limit, zn_err *e);

#endif
