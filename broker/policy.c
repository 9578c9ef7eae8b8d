#include "policy.h"

#include <string.h>

/* The rules, one row each: every condition in a row must hold for the action to be allowed.
 * A row's `who` names the party whose role is checked in the relevant network. */
typedef enum { WHO_ACTOR, WHO_COUNTERPART } s_who;

typedef struct {
    zn_action action;
    s_who who;
    uint32_t role; /* role the party must hold in the network */
    zn_code refusal;
    const char *why; /* printf format: party id, network */
} s_rule;

static const s_rule s_rules[] = {
    /* action          who              role              refusal             why */
    {ZN_ACT_CASE_NEW, WHO_ACTOR,       ZN_ROLE_PARTNER,  ZN_E_NOT_PARTNER,
     "%s does not hold the partner role in network %s; only partners open cases there"},
    {ZN_ACT_SEND,     WHO_ACTOR,       ZN_ROLE_PARTNER,  ZN_E_NOT_IN_NETWORK,
     "sender %s does not hold the partner role in the case's network %s"},
    {ZN_ACT_SEND,     WHO_COUNTERPART, ZN_ROLE_PARTNER,  ZN_E_NOT_IN_NETWORK,
     "recipient %s does not hold the partner role in the case's network %s; coordinators and "
     "auditors never receive case content"},
};

zn_code zn_policy_check(const zn_convenant *c, const zn_policy_query *q, zn_err *e)
{
    const char *network = q->kase ? q->kase->network : q->network;
    if (!q->actor || !network)
        return (zn_code)(zn_err_set(e, ZN_E_INTERNAL, NULL), ZN_E_INTERNAL);
    int net = zn_convenant_network(c, network);
    if (net < 0) {
        zn_err_set(e, ZN_E_UNKNOWN_NETWORK, "network %s is not in the convenant", network);
        return ZN_E_UNKNOWN_NETWORK;
    }
    for (size_t i = 0; i < sizeof s_rules / sizeof s_rules[0]; i++) {
        const s_rule *r = &s_rules[i];
        if (r->action != q->action)
            continue;
        const zn_partner *party = r->who == WHO_ACTOR ? q->actor : q->counterpart;
        if (!party) {
            zn_err_set(e, ZN_E_UNKNOWN_PARTNER, NULL);
            return ZN_E_UNKNOWN_PARTNER;
        }
        if (!zn_partner_has_role(party, net, r->role)) {
            zn_err_set(e, r->refusal, r->why, party->id, network);
            return r->refusal;
        }
    }
    zn_err_clear(e);
    return ZN_E_OK;
}
