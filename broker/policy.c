#include "policy.h"

#include <stdio.h>
#include <string.h>

/* ---- membership and basis ---- */

bool zn_policy_member(const zn_case_facts *f)
{
    if (!f)
        return false;
    bool consent_admits = f->consent == ZN_CONSENT_GRANTED && !f->consent_expired && f->sender_in_scope;
    return f->sender_regisseur || f->sender_received || consent_admits || f->sender_overridden;
}

const char *zn_basis_name(zn_basis b)
{
    switch (b) {
    case ZN_BASIS_CONSENT: return "consent";
    case ZN_BASIS_OVERRIDE: return "safety-override";
    case ZN_BASIS_ANONYMOUS: return "anonymous";
    case ZN_BASIS_NONE: break;
    }
    return NULL;
}

/* ---- who may do what ---- */

/* The rules, one row each. The rows of an action are checked in order; the first whose
 * condition does not hold refuses with its code and sentence; when all hold the action is
 * allowed. `who` names the party a role row checks; the network is the case's (or `network`
 * for actions outside a case). Rows first ask who acts, then in which state the case is; the
 * last row of the traffic actions hands over to the traffic table below. */
typedef enum { WHO_ACTOR, WHO_COUNTERPART } s_who;

typedef enum {
    IF_ROLE,           /* `who` holds `role` in the network */
    IF_ROLE_EITHER,    /* `who` holds `role` in `network` or in `network2` (when given) */
    IF_MEMBER_OR_ROLE, /* the actor is a member of the case (zn_policy_member), or holds `role` */
    IF_MEMBER,         /* the actor is a member of the case */
    IF_REGISSEUR,      /* the actor holds the case (facts: sender_regisseur) */
    IF_OTHER,          /* the counterpart is not the actor */
    IF_OPEN,           /* the case is not closed */
    IF_ANONYMOUS,      /* no person is linked to the case */
    IF_IDENTIFIED,     /* a person is linked to the case */
    IF_CONSENT,        /* the current consent is granted and unexpired */
    IF_NO_HANDOVER,    /* the case has no open handover */
    IF_OFFERED_OR_ROLE, /* the actor is the counterpart (the partner that offered the handover)
                          and holds the case (facts: sender_regisseur), or holds `role` */
    IF_TRAFFIC,        /* the traffic table allows `who` (the sender) to share the case with the
                          other party; its row gives the refusal */
} s_cond;

typedef struct {
    zn_action action;
    s_cond cond;
    s_who who;
    uint32_t role;
    zn_code refusal;
    const char *why; /* printf format: party id, network(s), the case's regisseur */
} s_rule;

#define P ZN_ROLE_PARTNER
#define C ZN_ROLE_COORDINATOR
static const s_rule s_rules[] = {
    /* action                cond               who              role refusal */
    {ZN_ACT_CASE_NEW,        IF_ROLE,           WHO_ACTOR,       P, ZN_E_NOT_PARTNER,
     "%s does not hold the partner role in network %s; only partners open cases there"},

    {ZN_ACT_SEND,            IF_ROLE,           WHO_ACTOR,       P, ZN_E_NOT_IN_NETWORK,
     "sender %s does not hold the partner role in the case's network %s"},
    {ZN_ACT_SEND,            IF_ROLE,           WHO_COUNTERPART, P, ZN_E_NOT_IN_NETWORK,
     "recipient %s does not hold the partner role in the case's network %s; coordinators and "
     "auditors never receive case content"},
    {ZN_ACT_SEND,            IF_TRAFFIC,        WHO_ACTOR,       0, ZN_E_OK, NULL},

    {ZN_ACT_SIGNAL_ADD,      IF_ROLE,           WHO_ACTOR,       P, ZN_E_NOT_PARTNER,
     "%s does not hold the partner role in network %s; only partners register signals there "
     "(coordinators and auditors do not register signals)"},

    {ZN_ACT_MATCH_DECIDE,    IF_ROLE_EITHER,    WHO_ACTOR,       C, ZN_E_NOT_COORDINATOR,
     "%s is not a coordinator of network %s; only the coordinators of a match's networks connect "
     "its partners or name its lead"},

    {ZN_ACT_CASE_READ,       IF_MEMBER_OR_ROLE, WHO_ACTOR,       C, ZN_E_NOT_MEMBER,
     "%s is neither a member of this case nor a coordinator of its network %s; only they may "
     "read it"},

    {ZN_ACT_CASE_CLOSE,      IF_REGISSEUR,      WHO_ACTOR,       0, ZN_E_NOT_REGISSEUR,
     "%s does not hold this case in network %s; only its regisseur %s may close it"},
    {ZN_ACT_CASE_CLOSE,      IF_OPEN,           WHO_ACTOR,       0, ZN_E_CASE_CLOSED,
     "the case is closed already"},
    {ZN_ACT_CASE_CLOSE,      IF_NO_HANDOVER,    WHO_ACTOR,       0, ZN_E_HANDOVER_OPEN,
     "the case has an open handover; wait for the recipient to accept or decline it before "
     "closing the case"},

    {ZN_ACT_CASE_LINK,       IF_REGISSEUR,      WHO_ACTOR,       0, ZN_E_NOT_REGISSEUR,
     "%s does not hold this case in network %s; only its regisseur %s may link a person to it"},
    {ZN_ACT_CASE_LINK,       IF_OPEN,           WHO_ACTOR,       0, ZN_E_CASE_CLOSED,
     "the case is closed; open a new case to continue"},
    {ZN_ACT_CASE_LINK,       IF_ANONYMOUS,      WHO_ACTOR,       0, ZN_E_CASE_IDENTIFIED,
     "the case is already linked to a person; open a new case for another person"},
    {ZN_ACT_CASE_LINK,       IF_CONSENT,        WHO_ACTOR,       0, ZN_E_CONSENT_REQUIRED,
     "consent must be granted first: the case has no granted, unexpired consent; record it with "
     "'zorgnet consent set --case ID --state granted', then link the person"},

    {ZN_ACT_CONSENT_SET,     IF_REGISSEUR,      WHO_ACTOR,       0, ZN_E_NOT_REGISSEUR,
     "%s does not hold this case in network %s; only its regisseur %s records consent"},
    {ZN_ACT_CONSENT_SET,     IF_OPEN,           WHO_ACTOR,       0, ZN_E_CASE_CLOSED,
     "the case is closed; consent is no longer recorded on it"},

    {ZN_ACT_OVERRIDE_NEW,    IF_ROLE,           WHO_ACTOR,       P, ZN_E_NOT_IN_NETWORK,
     "%s does not hold the partner role in the case's network %s; only partners record a safety "
     "override"},
    {ZN_ACT_OVERRIDE_NEW,    IF_MEMBER,         WHO_ACTOR,       0, ZN_E_NOT_MEMBER,
     "%s is not a member of this case; only its members record a safety override on it"},
    {ZN_ACT_OVERRIDE_NEW,    IF_OTHER,          WHO_ACTOR,       0, ZN_E_USAGE,
     "a partner cannot record a safety override for itself; name the partner that must receive "
     "the case with --to"},
    {ZN_ACT_OVERRIDE_NEW,    IF_ROLE,           WHO_COUNTERPART, P, ZN_E_NOT_IN_NETWORK,
     "recipient %s does not hold the partner role in the case's network %s; coordinators and "
     "auditors never receive case content"},
    {ZN_ACT_OVERRIDE_NEW,    IF_OPEN,           WHO_ACTOR,       0, ZN_E_CASE_CLOSED,
     "the case is closed; open a new case to continue"},
    {ZN_ACT_OVERRIDE_NEW,    IF_IDENTIFIED,     WHO_ACTOR,       0, ZN_E_CASE_ANONYMOUS,
     "the case is anonymous: it is shared in the network without a safety override; link the "
     "person ('zorgnet case link') or open an identified case first"},

    {ZN_ACT_OVERRIDE_REVIEW, IF_ROLE,           WHO_ACTOR,       C, ZN_E_NOT_COORDINATOR,
     "%s is not a coordinator of the case's network %s; only its coordinators review safety "
     "overrides"},

    {ZN_ACT_HANDOVER_OFFER,  IF_ROLE,           WHO_ACTOR,       P, ZN_E_NOT_IN_NETWORK,
     "%s does not hold the partner role in the case's network %s; only partners hand cases over"},
    {ZN_ACT_HANDOVER_OFFER,  IF_REGISSEUR,      WHO_ACTOR,       0, ZN_E_NOT_REGISSEUR,
     "%s does not hold this case in network %s; only its regisseur %s may hand it over"},
    {ZN_ACT_HANDOVER_OFFER,  IF_OTHER,          WHO_ACTOR,       0, ZN_E_USAGE,
     "a partner cannot hand a case over to itself; name the partner that takes it over with --to"},
    {ZN_ACT_HANDOVER_OFFER,  IF_ROLE,           WHO_COUNTERPART, P, ZN_E_NOT_IN_NETWORK,
     "recipient %s does not hold the partner role in the case's network %s; only partners take "
     "cases over"},
    {ZN_ACT_HANDOVER_OFFER,  IF_OPEN,           WHO_ACTOR,       0, ZN_E_CASE_CLOSED,
     "the case is closed; open a new case to continue"},
    {ZN_ACT_HANDOVER_OFFER,  IF_NO_HANDOVER,    WHO_ACTOR,       0, ZN_E_HANDOVER_OPEN,
     "the case has an open handover already; wait for its recipient to accept or decline it"},
    {ZN_ACT_HANDOVER_OFFER,  IF_TRAFFIC,        WHO_ACTOR,       0, ZN_E_OK, NULL},

    /* the actor is the handover's recipient, the counterpart the offering partner (the sender) */
    {ZN_ACT_HANDOVER_ACCEPT, IF_ROLE,           WHO_ACTOR,       P, ZN_E_NOT_IN_NETWORK,
     "%s does not hold the partner role in the case's network %s; only partners take cases over"},
    {ZN_ACT_HANDOVER_ACCEPT, IF_ROLE,           WHO_COUNTERPART, P, ZN_E_NOT_IN_NETWORK,
     "the offering partner %s no longer holds the partner role in the case's network %s"},
    {ZN_ACT_HANDOVER_ACCEPT, IF_OTHER,          WHO_ACTOR,       0, ZN_E_USAGE,
     "a partner cannot take a case over from itself"},
    {ZN_ACT_HANDOVER_ACCEPT, IF_OPEN,           WHO_ACTOR,       0, ZN_E_CASE_CLOSED,
     "the case was closed; the handover can no longer be accepted"},
    {ZN_ACT_HANDOVER_ACCEPT, IF_TRAFFIC,        WHO_COUNTERPART, 0, ZN_E_OK, NULL},

    /* the counterpart is the offering partner (NULL once it left the convenant) */
    {ZN_ACT_HANDOVER_WITHDRAW, IF_OFFERED_OR_ROLE, WHO_ACTOR,     C, ZN_E_NOT_REGISSEUR,
     "%s neither offered this handover while holding the case nor coordinates the case's network %s; "
     "only they withdraw it"},
};
#undef P
#undef C

/* ---- on which basis a case is shared: the traffic table ---- */

/* For SEND, HANDOVER_OFFER and HANDOVER_ACCEPT, after their rows above: the first row whose
 * every column matches decides. Columns are tri-state (ANY matches both). `covers`: the current
 * consent is granted, unexpired and covers the recipient (its scope names the recipient, or the
 * recipient recorded it and still holds the case: a partner it was handed over to is covered
 * only by a record it made itself);
 * `stands`: an override between sender and recipient is pending or approved (unexpired). A row
 * marked `route` ends its sentence with the anonymous route. */
typedef enum { ANY = 0, YES, NO } s_tri;

typedef struct {
    s_tri closed, member, identified, covers, stands;
    zn_code outcome;
    zn_basis basis;
    bool route;
    const char *why; /* printf format: sender, recipient, why not (s_why_not) */
} s_traffic;

static const s_traffic s_traffic_rules[] = {
    /* closed member identified covers stands  outcome                basis               route */
    {YES,    ANY,   ANY,       ANY,   ANY,    ZN_E_CASE_CLOSED,      ZN_BASIS_NONE,      false,
     "the case is closed; nothing more is shared on it. Open a new case to continue"},
    {ANY,    NO,    ANY,       ANY,   ANY,    ZN_E_NOT_MEMBER,       ZN_BASIS_NONE,      false,
     "%s is not a member of this case, so it may not share it with %s; members are its regisseur, "
     "the partners that held it or received (acknowledged) a message on it, and those consent or a "
     "safety override admits"},
    {ANY,    ANY,   NO,        ANY,   ANY,    ZN_E_OK,               ZN_BASIS_ANONYMOUS, false, NULL},
    {ANY,    ANY,   YES,       YES,   ANY,    ZN_E_OK,               ZN_BASIS_CONSENT,   false, NULL},
    {ANY,    ANY,   YES,       ANY,   YES,    ZN_E_OK,               ZN_BASIS_OVERRIDE,  false, NULL},
    {ANY,    ANY,   YES,       ANY,   ANY,    ZN_E_CONSENT_REQUIRED, ZN_BASIS_NONE,      true,
     "%s may not share this identified case with %s: %s"},
};

static bool s_match(s_tri col, bool v)
{
    return col == ANY || (col == YES) == v;
}

/* Why no consent covers the recipient and no override stands, for the consent-required sentence. */
static void s_why_not(const zn_case_facts *f, const char *recipient, char *out, size_t cap)
{
    char consent[ZN_IDENT_MAX + 48];
    switch (f->consent) {
    case ZN_CONSENT_NONE: snprintf(consent, sizeof consent, "no consent is recorded"); break;
    case ZN_CONSENT_REQUESTED: snprintf(consent, sizeof consent, "consent was requested, not granted"); break;
    case ZN_CONSENT_REFUSED: snprintf(consent, sizeof consent, "consent was refused"); break;
    case ZN_CONSENT_WITHDRAWN: snprintf(consent, sizeof consent, "consent was withdrawn"); break;
    case ZN_CONSENT_GRANTED:
        if (f->consent_expired)
            snprintf(consent, sizeof consent, "the consent expired");
        else
            snprintf(consent, sizeof consent, "the consent's scope does not name %s", recipient);
        break;
    default: snprintf(consent, sizeof consent, "no granted consent is recorded"); break;
    }
    const char *ov = f->override == ZN_OVERRIDE_REJECTED  ? " and the safety override was rejected"
                     : f->override == ZN_OVERRIDE_EXPIRED ? " and the safety override expired"
                                                          : "";
    snprintf(out, cap, "%s%s", consent, ov);
}

/* The traffic decision from sender to recipient. */
static zn_code s_traffic_check(const zn_case *k, const zn_case_facts *f, const zn_partner *sender,
                               const zn_partner *recipient, zn_basis *basis, zn_err *e)
{
    bool covers = f->consent == ZN_CONSENT_GRANTED && !f->consent_expired &&
                  (f->recipient_in_scope || f->recipient_recorder);
    bool stands = f->override == ZN_OVERRIDE_PENDING || f->override == ZN_OVERRIDE_APPROVED;
    bool member = zn_policy_member(f);
    for (size_t i = 0; i < sizeof s_traffic_rules / sizeof s_traffic_rules[0]; i++) {
        const s_traffic *r = &s_traffic_rules[i];
        if (!s_match(r->closed, k->closed_ms != 0) || !s_match(r->member, member) ||
            !s_match(r->identified, k->identified) || !s_match(r->covers, covers) ||
            !s_match(r->stands, stands))
            continue;
        if (r->outcome == ZN_E_OK) {
            *basis = r->basis;
            zn_err_clear(e);
            return ZN_E_OK;
        }
        char why[ZN_ERR_TEXT_MAX], route[ZN_ERR_TEXT_MAX] = "";
        if (r->route)
            snprintf(route, sizeof route, "; discuss it on an anonymous case: zorgnet case new --network %s "
                     "without --bsn", k->network);
        s_why_not(f, recipient->id, why, sizeof why);
        char head[ZN_ERR_TEXT_MAX];
        snprintf(head, sizeof head, r->why, sender->id, recipient->id, why);
        /* the route survives a long head: the head is cut, not the way forward */
        int room = (int)(ZN_ERR_TEXT_MAX - 1 - strlen(route));
        zn_err_set(e, r->outcome, "%.*s%s", room > 0 ? room : 0, head, route);
        return r->outcome;
    }
    zn_err_set(e, ZN_E_INTERNAL, NULL); /* not reached: the last row matches every case */
    return ZN_E_INTERNAL;
}

/* ---- the check ---- */

/* The network index for name, or -1 with e set. */
static int s_network(const zn_convenant *c, const char *name, zn_err *e)
{
    int net = zn_convenant_network(c, name);
    if (net < 0)
        zn_err_set(e, ZN_E_UNKNOWN_NETWORK, "network %s is not in the convenant", name);
    return net;
}

/* Whether the row's condition holds (roles are checked by the caller). */
static bool s_holds(const s_rule *r, const zn_policy_query *q)
{
    const zn_case *k = q->kase;
    const zn_case_facts *f = q->facts;
    switch (r->cond) {
    case IF_MEMBER: return zn_policy_member(f);
    case IF_REGISSEUR: return f->sender_regisseur;
    case IF_OTHER: return strcmp(q->actor->id, q->counterpart->id) != 0;
    case IF_OPEN: return k->closed_ms == 0;
    case IF_ANONYMOUS: return !k->identified;
    case IF_IDENTIFIED: return k->identified;
    case IF_CONSENT: return f->consent == ZN_CONSENT_GRANTED && !f->consent_expired;
    case IF_NO_HANDOVER: return !f->handover_open;
    default: return false; /* roles and traffic: not here */
    }
}

static bool s_case_action(zn_action a)
{
    return a >= ZN_ACT_CASE_READ && a <= ZN_ACT_HANDOVER_WITHDRAW;
}

zn_code zn_policy_check_basis(const zn_convenant *c, const zn_policy_query *q, zn_basis *basis, zn_err *e)
{
    zn_basis dummy;
    if (!basis)
        basis = &dummy;
    *basis = ZN_BASIS_NONE;
    if (!c || !q || !q->actor)
        return (zn_code)(zn_err_set(e, ZN_E_INTERNAL, NULL), ZN_E_INTERNAL);
    if (s_case_action(q->action) && (!q->kase || !q->facts))
        return (zn_code)(zn_err_set(e, ZN_E_INTERNAL, NULL), ZN_E_INTERNAL);
    const char *network = q->kase ? q->kase->network : q->network;
    if (!network)
        return (zn_code)(zn_err_set(e, ZN_E_INTERNAL, NULL), ZN_E_INTERNAL);
    int net = s_network(c, network, e), net2 = -1;
    if (net < 0)
        return ZN_E_UNKNOWN_NETWORK;
    if (q->network2 && (net2 = s_network(c, q->network2, e)) < 0)
        return ZN_E_UNKNOWN_NETWORK;
    size_t seen = 0;
    for (size_t i = 0; i < sizeof s_rules / sizeof s_rules[0]; i++) {
        const s_rule *r = &s_rules[i];
        if (r->action != q->action)
            continue;
        seen++;
        const zn_partner *party = r->who == WHO_ACTOR ? q->actor : q->counterpart;
        bool needs_counterpart = r->cond == IF_OTHER || r->cond == IF_TRAFFIC;
        if (!party || (needs_counterpart && !q->counterpart)) {
            zn_err_set(e, ZN_E_UNKNOWN_PARTNER, NULL);
            return ZN_E_UNKNOWN_PARTNER;
        }
        if (r->cond == IF_TRAFFIC) {
            if (!q->facts) /* SEND without facts: its role rows only (policy.h) */
                continue;
            const zn_partner *other = r->who == WHO_ACTOR ? q->counterpart : q->actor;
            zn_code code = s_traffic_check(q->kase, q->facts, party, other, basis, e);
            if (code != ZN_E_OK)
                return code;
            continue;
        }
        bool second = r->cond == IF_ROLE_EITHER && net2 >= 0 && net2 != net;
        bool ok;
        if (r->cond == IF_ROLE || r->cond == IF_ROLE_EITHER)
            ok = zn_partner_has_role(party, net, r->role) || (second && zn_partner_has_role(party, net2, r->role));
        else if (r->cond == IF_MEMBER_OR_ROLE)
            ok = zn_policy_member(q->facts) || zn_partner_has_role(party, net, r->role);
        else if (r->cond == IF_OFFERED_OR_ROLE)
            ok = (q->counterpart && strcmp(party->id, q->counterpart->id) == 0 && q->facts->sender_regisseur) ||
                 zn_partner_has_role(party, net, r->role);
        else
            ok = s_holds(r, q);
        if (ok)
            continue;
        char where[2 * ZN_IDENT_MAX + 8];
        snprintf(where, sizeof where, "%s%s%s", network, second ? " or " : "", second ? q->network2 : "");
        zn_err_set(e, r->refusal, r->why, party->id, where, q->kase ? q->kase->regisseur : "");
        *basis = ZN_BASIS_NONE;
        return r->refusal;
    }
    if (seen == 0) /* an action without rows is no action the broker knows */
        return (zn_code)(zn_err_set(e, ZN_E_INTERNAL, NULL), ZN_E_INTERNAL);
    zn_err_clear(e);
    return ZN_E_OK;
}

zn_code zn_policy_check(const zn_convenant *c, const zn_policy_query *q, zn_err *e)
{
    return zn_policy_check_basis(c, q, NULL, e);
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
