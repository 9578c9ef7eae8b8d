#include "policy.h"

#include <stdio.h>
#include <string.h>

/* ---- who may do what ---- */

/* The rules, one row each: every condition in a row must hold for the action to be allowed.
 * A row's `who` names the party whose role is checked in the relevant network; a row marked
 * `either` holds when the party has the role in `network` or in `network2`. */
typedef enum { WHO_ACTOR, WHO_COUNTERPART } s_who;

typedef struct {
    zn_action action;
    s_who who;
    uint32_t role; /* role the party must hold in the network */
    bool either;   /* in `network` or in `network2` (when given) */
    zn_code refusal;
    const char *why; /* printf format: party id, network(s) */
} s_rule;

static const s_rule s_rules[] = {
    /* action             who              role                  either refusal */
    {ZN_ACT_CASE_NEW,     WHO_ACTOR,       ZN_ROLE_PARTNER,      false, ZN_E_NOT_PARTNER,
     "%s does not hold the partner role in network %s; only partners open cases there"},
    {ZN_ACT_SEND,         WHO_ACTOR,       ZN_ROLE_PARTNER,      false, ZN_E_NOT_IN_NETWORK,
     "sender %s does not hold the partner role in the case's network %s"},
    {ZN_ACT_SEND,         WHO_COUNTERPART, ZN_ROLE_PARTNER,      false, ZN_E_NOT_IN_NETWORK,
     "recipient %s does not hold the partner role in the case's network %s; coordinators and "
     "auditors never receive case content"},
    {ZN_ACT_SIGNAL_ADD,   WHO_ACTOR,       ZN_ROLE_PARTNER,      false, ZN_E_NOT_PARTNER,
     "%s does not hold the partner role in network %s; only partners register signals there "
     "(coordinators and auditors do not register signals)"},
    {ZN_ACT_MATCH_DECIDE, WHO_ACTOR,       ZN_ROLE_COORDINATOR,  true,  ZN_E_NOT_COORDINATOR,
     "%s is not a coordinator of network %s; only the coordinators of a match's networks connect "
     "its partners or name its lead"},
};

/* The network index for name, or -1 with e set. */
static int s_network(const zn_convenant *c, const char *name, zn_err *e)
{
    int net = zn_convenant_network(c, name);
    if (net < 0)
        zn_err_set(e, ZN_E_UNKNOWN_NETWORK, "network %s is not in the convenant", name);
    return net;
}

zn_code zn_policy_check(const zn_convenant *c, const zn_policy_query *q, zn_err *e)
{
    const char *network = q->kase ? q->kase->network : q->network;
    if (!q->actor || !network)
        return (zn_code)(zn_err_set(e, ZN_E_INTERNAL, NULL), ZN_E_INTERNAL);
    int net = s_network(c, network, e), net2 = -1;
    if (net < 0)
        return ZN_E_UNKNOWN_NETWORK;
    if (q->network2 && (net2 = s_network(c, q->network2, e)) < 0)
        return ZN_E_UNKNOWN_NETWORK;
    for (size_t i = 0; i < sizeof s_rules / sizeof s_rules[0]; i++) {
        const s_rule *r = &s_rules[i];
        if (r->action != q->action)
            continue;
        const zn_partner *party = r->who == WHO_ACTOR ? q->actor : q->counterpart;
        if (!party) {
            zn_err_set(e, ZN_E_UNKNOWN_PARTNER, NULL);
            return ZN_E_UNKNOWN_PARTNER;
        }
        bool second = r->either && net2 >= 0 && net2 != net;
        if (zn_partner_has_role(party, net, r->role) || (second && zn_partner_has_role(party, net2, r->role)))
            continue;
        char where[2 * ZN_IDENT_MAX + 8];
        snprintf(where, sizeof where, "%s%s%s", network, second ? " or " : "", second ? q->network2 : "");
        zn_err_set(e, r->refusal, r->why, party->id, where);
        return r->refusal;
    }
    zn_err_clear(e);
    return ZN_E_OK;
}

/* ---- who learns of a match ---- */

/* The defaults (policy.h, docs/CONVENANT.md), used for whatever the convenant's rule for a pair
 * of networks leaves at "default". */
static const struct {
    bool same_network;
    zn_link link;
    zn_disclosure who;
} s_disclosure_defaults[] = {
    /* same network  link             who learns of it */
    {true,           ZN_LINK_PERSON,  ZN_DISCLOSE_PARTNERS},     /* both partners and the coordinators */
    {true,           ZN_LINK_FAMILY,  ZN_DISCLOSE_COORDINATORS}, /* the network's coordinators */
    {false,          ZN_LINK_PERSON,  ZN_DISCLOSE_COORDINATORS}, /* the coordinators of both networks */
    {false,          ZN_LINK_FAMILY,  ZN_DISCLOSE_COORDINATORS},
};

zn_disclosure zn_policy_disclosure(const zn_convenant *c, int a, int b, zn_link link)
{
    if (!c || a < 0 || b < 0 || (size_t)a >= c->n_networks || (size_t)b >= c->n_networks ||
        (link != ZN_LINK_PERSON && link != ZN_LINK_FAMILY))
        return ZN_DISCLOSE_NONE; /* nothing sensible to match: tell nobody */
    int lo = a < b ? a : b, hi = a < b ? b : a;
    for (size_t i = 0; i < c->n_disclosure && i < ZN_MAX_DISCLOSURE_RULES; i++) {
        const zn_disclosure_rule *r = &c->disclosure[i];
        if (r->a != lo || r->b != hi)
            continue;
        uint8_t v = link == ZN_LINK_PERSON ? r->person : r->family;
        if (v >= ZN_DISCLOSE_NONE && v <= ZN_DISCLOSE_PARTNERS)
            return (zn_disclosure)v;
        break; /* "default" for this link */
    }
    for (size_t i = 0; i < sizeof s_disclosure_defaults / sizeof s_disclosure_defaults[0]; i++)
        if (s_disclosure_defaults[i].same_network == (lo == hi) && s_disclosure_defaults[i].link == link)
            return s_disclosure_defaults[i].who;
    return ZN_DISCLOSE_COORDINATORS; /* not reached: the table covers every case */
}

/* ---- who is proposed as lead ---- */

/* The place (0 = first) of the candidate's category in its network's decision rule, or -1. */
static int s_rank(const zn_convenant *c, const zn_lead_candidate *cand)
{
    const zn_partner *p = zn_convenant_partner(c, cand->partner);
    if (!p || !p->category[0] || cand->network < 0 || (size_t)cand->network >= c->n_networks)
        return -1;
    const zn_decision_rule *d = &c->decision[cand->network];
    for (size_t k = 0; k < d->n && k < ZN_MAX_DECISION; k++)
        if (strcmp(d->category[k], p->category) == 0)
            return (int)k;
    return -1;
}

const char *zn_policy_propose_lead(const zn_convenant *c, const zn_lead_candidate *v, size_t n)
{
    const zn_lead_candidate *best = NULL;
    int best_rank = -1;
    if (!c || !v)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        int rank = s_rank(c, &v[i]);
        if (rank < 0)
            continue;
        /* a better place wins; on the same place the earlier registration; then the earlier in v */
        if (!best || rank < best_rank || (rank == best_rank && v[i].registered_ms < best->registered_ms)) {
            best = &v[i];
            best_rank = rank;
        }
    }
    return best ? best->partner : NULL;
}

/* ---- rate limits on new signals ---- */

zn_code zn_policy_signal_rate(const zn_convenant *c, uint64_t partner_count, uint64_t handler_count,
                              const char **limit, zn_err *e)
{
    if (limit)
        *limit = NULL;
    if (partner_count >= c->policy.signal_rate_day) {
        if (limit)
            *limit = "partner-day";
        zn_err_set(e, ZN_E_RATE_LIMITED,
                   "this partner registered %llu new signals or look-ups in the last 24 hours; the "
                   "convenant allows %llu per partner per day (signal_rate_day)",
                   (unsigned long long)partner_count, (unsigned long long)c->policy.signal_rate_day);
        return ZN_E_RATE_LIMITED;
    }
    if (handler_count >= c->policy.signal_rate_handler_day) {
        if (limit)
            *limit = "handler-day";
        zn_err_set(e, ZN_E_RATE_LIMITED,
                   "this handler registered %llu new signals or look-ups in the last 24 hours; the "
                   "convenant allows %llu per handler per day (signal_rate_handler_day)",
                   (unsigned long long)handler_count, (unsigned long long)c->policy.signal_rate_handler_day);
        return ZN_E_RATE_LIMITED;
    }
    zn_err_clear(e);
    return ZN_E_OK;
}
