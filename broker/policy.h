/* policy — the broker's rules on metadata, as pure functions over the convenant and a case.
 *
 * Every rule is one row of a table in policy.c: an action, a condition (a role in the network,
 * membership, the regisseur, the case's state, ...), and the refusal code and sentence when it
 * does not hold. No I/O, no clock, no globals: the broker and the tests call the same
 * functions with the same inputs. Case traffic (consent, safety overrides, anonymous cases,
 * membership) is a second table in policy.c, over the facts the broker gathers (zn_case_facts).
 *
 * Ownership: everything is borrowed for the duration of the call. */
#ifndef ZN_POLICY_H
#define ZN_POLICY_H

#include "zn_case.h"
#include "zn_convenant.h"
#include "zn_envelope.h"
#include "zn_err.h"

typedef struct {
    uint8_t id[ZN_ID_LEN];
    char network[ZN_IDENT_MAX];
    char regisseur[ZN_IDENT_MAX];
    uint64_t created_ms;
    uint64_t closed_ms; /* 0: open */
    bool identified;    /* a person is linked (person, related hold pseudonyms) */
    uint8_t person[ZN_PSN_LEN];
    uint32_t n_related;
    uint8_t related[ZN_CASE_RELATED_MAX][ZN_PSN_LEN];
} zn_case;

typedef enum {
    ZN_ACT_CASE_NEW,      /* actor creates a case in `network` */
    ZN_ACT_SEND,          /* actor sends an envelope on `kase` to `counterpart` */
    ZN_ACT_SIGNAL_ADD,    /* actor registers (or refreshes) a signal in `network` */
    ZN_ACT_MATCH_DECIDE,  /* actor connects the partners of a match or names its lead: a
                             coordinator of `network` or of `network2` */
    /* Actions on a case (`kase` and `facts` required; facts from the actor's side): */
    ZN_ACT_CASE_READ,     /* case-show, consent-show: a member, or a coordinator of the case's
                             network */
    ZN_ACT_CASE_CLOSE,    /* the regisseur, on an open case with no open handover */
    ZN_ACT_CASE_LINK,     /* the regisseur, on an open anonymous case with granted, unexpired
                             consent */
    ZN_ACT_CONSENT_SET,   /* the regisseur, on an open case */
    ZN_ACT_OVERRIDE_NEW,  /* a member with the partner role, on an open identified case, for a
                             counterpart (not itself) with the partner role */
    ZN_ACT_OVERRIDE_REVIEW, /* a coordinator of the case's network */
    ZN_ACT_HANDOVER_OFFER,  /* the regisseur, on an open case with no open handover, to a
                               counterpart (not itself) with the partner role; then as SEND */
    ZN_ACT_HANDOVER_ACCEPT, /* the handover's recipient (who it is, the broker checks: it
                               answers unknown-handover to anyone else), with the partner role;
                               counterpart: the offering partner; then as SEND from the
                               offering partner to the actor: here facts are from the offering
                               partner's side (sender) and the actor is the recipient */
    ZN_ACT_HANDOVER_WITHDRAW, /* the offering partner (counterpart: the offering partner, NULL
                                 when it left the convenant) while it still holds the case, or a
                                 coordinator of the case's network; facts from the actor's side */
} zn_action;

/* What the broker knows of a case, seen from one sender and one recipient (for a traffic
 * decision: SEND, HANDOVER_OFFER, HANDOVER_ACCEPT) or from the actor alone (other case actions;
 * the recipient fields are then ignored). Worked out from the store by the broker; the rules
 * over them are the table in policy.c. */
typedef struct {
    bool sender_regisseur;      /* the sender holds the case */
    bool sender_received;       /* a stored member: it held the case, or acknowledged an
                                   envelope on it */
    bool sender_in_scope;       /* the current consent names the sender in its scope */
    bool recipient_recorder;    /* the recipient recorded the current consent record and still
                                   holds the case */
    bool recipient_in_scope;    /* the current consent names the recipient in its scope */
    zn_consent_state consent;   /* the current consent record's state (NONE: none recorded) */
    bool consent_expired;       /* its until has passed */
    zn_override_state override; /* the override between sender and recipient, in either
                                   direction, that stands longest: PENDING or APPROVED when one
                                   stands (expiry already applied: an expired one is EXPIRED),
                                   else the state of the latest, NONE when there is none */
    bool sender_overridden;     /* a standing override on the case names the sender (either end) */
    bool handover_open;         /* the case has an open handover */
} zn_case_facts;

/* The legal basis of a case decision (the audit entry's `basis`). */
typedef enum { ZN_BASIS_NONE = 0, ZN_BASIS_CONSENT, ZN_BASIS_OVERRIDE, ZN_BASIS_ANONYMOUS } zn_basis;
const char *zn_basis_name(zn_basis b); /* NULL, "consent", "safety-override", "anonymous" */

/* Membership: the regisseur, a stored member (a partner that held the case or acknowledged an
 * envelope on it), a partner the current consent admits (granted, unexpired, in scope), or one
 * a standing override names. */
bool zn_policy_member(const zn_case_facts *f);

typedef struct {
    zn_action action;
    const zn_partner *actor;       /* the authenticated partner */
    const zn_partner *counterpart; /* SEND, HANDOVER_OFFER, OVERRIDE_NEW: the recipient;
                                      HANDOVER_ACCEPT, HANDOVER_WITHDRAW: the offering partner;
                                      else NULL */
    const zn_case *kase;           /* the case (SEND and every action on a case), else NULL */
    const char *network;           /* the network (CASE_NEW, SIGNAL_ADD, MATCH_DECIDE), else NULL */
    const char *network2;          /* MATCH_DECIDE: the other signal's network, else NULL */
    const zn_case_facts *facts;    /* SEND and every action on a case (the broker always passes
                                      them), else NULL */
} zn_policy_query;

/* ZN_E_OK when allowed; otherwise the refusal code with a plain sentence in e. The rows of the
 * action are checked in order (first who acts, then the case's state) and the first that fails
 * refuses. Who holds the case, who is a member and the consent and override states are read
 * from facts; the network, whether the case is closed and whether it is identified from kase.
 * Every action on a case (CASE_READ .. HANDOVER_WITHDRAW) needs kase and facts: without them, or
 * without an actor, or for an action with no rows, ZN_E_INTERNAL. SEND without facts checks
 * only its role rows (what the partners' roles allow), not the traffic table, and gives basis
 * NONE: the broker's traffic decision (zn_cases_traffic) always passes facts. For SEND,
 * HANDOVER_OFFER and HANDOVER_ACCEPT the traffic table decides after the role rows: a closed
 * case refuses everything (case-closed); a sender that is no member is refused (not-member); on
 * an anonymous case members send to partners of the network (basis anonymous); on an identified
 * case a granted, unexpired consent that covers the recipient (its scope names the recipient,
 * or the recipient recorded it and still holds the case) allows it (basis consent), else a
 * standing override between the two (basis
 * safety-override), else consent-required, whose sentence suggests the anonymous route. *basis
 * (when not NULL) gets the basis when allowed, ZN_BASIS_NONE otherwise. */
zn_code zn_policy_check_basis(const zn_convenant *c, const zn_policy_query *q, zn_basis *basis, zn_err *e);
/* zn_policy_check_basis without the basis. */
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
