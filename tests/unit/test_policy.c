/* The policy table (who may open a case, send on it, register a signal, decide on a match) and
 * the pure rules for signals: disclosure of matches, the lead proposal, the rate limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "policy.h"

#include <stdlib.h>
#include <string.h>

enum { NET_012, NET_1218 };

static zn_convenant *s_convenant(void)
{
    zn_convenant *c = zn_convenant_new();
    assert_non_null(c);
    c->n_networks = 2;
    strcpy(c->networks[NET_012], "0-12-binnenstad");
    strcpy(c->networks[NET_1218], "12-18");
    c->n_partners = 7;
    c->partners = calloc(c->n_partners, sizeof *c->partners);
    assert_non_null(c->partners);
    const char *ids[] = {"school", "wijkracht", "ggd", "coordinator", "auditor", "coord-012", "coord-1218"};
    const char *cats[] = {"school", "social-work", "youth-health", "", "audit", "", ""};
    for (size_t i = 0; i < c->n_partners; i++) {
        strcpy(c->partners[i].id, ids[i]);
        strcpy(c->partners[i].category, cats[i]);
    }
    c->partners[0].roles[NET_012] = ZN_ROLE_PARTNER;
    c->partners[1].roles[NET_012] = ZN_ROLE_PARTNER;
    c->partners[1].roles[NET_1218] = ZN_ROLE_PARTNER;
    c->partners[2].roles[NET_1218] = ZN_ROLE_PARTNER;
    c->partners[3].roles[NET_012] = ZN_ROLE_COORDINATOR;
    c->partners[3].roles[NET_1218] = ZN_ROLE_COORDINATOR;
    c->partners[4].auditor = true;
    c->partners[5].roles[NET_012] = ZN_ROLE_COORDINATOR;
    c->partners[6].roles[NET_1218] = ZN_ROLE_COORDINATOR;
    return c;
}

static zn_code s_send(const zn_convenant *c, const char *from, const char *to, const char *net)
{
    zn_case k = {0};
    strcpy(k.network, net);
    zn_policy_query q = {.action = ZN_ACT_SEND, .actor = zn_convenant_partner(c, from),
                         .counterpart = zn_convenant_partner(c, to), .kase = &k};
    zn_err e;
    zn_code code = zn_policy_check(c, &q, &e);
    if (code != ZN_E_OK)
        assert_true(strlen(e.text) > 10); /* every refusal says why */
    return code;
}

static zn_code s_case_new(const zn_convenant *c, const char *who, const char *net)
{
    zn_policy_query q = {.action = ZN_ACT_CASE_NEW, .actor = zn_convenant_partner(c, who), .network = net};
    zn_err e;
    return zn_policy_check(c, &q, &e);
}

static void test_send_between_partners_of_the_network(void **state)
{
    (void)state;
    zn_convenant *c = s_convenant();
    assert_int_equal(s_send(c, "school", "wijkracht", "0-12-binnenstad"), ZN_E_OK);
    assert_int_equal(s_send(c, "wijkracht", "school", "0-12-binnenstad"), ZN_E_OK);
    assert_int_equal(s_send(c, "wijkracht", "ggd", "12-18"), ZN_E_OK);
    zn_convenant_destroy(&c);
    assert_null(c);
}

static void test_send_outside_the_network_refused(void **state)
{
    (void)state;
    zn_convenant *c = s_convenant();
    /* ggd is no partner in 0-12, school none in 12-18 */
    assert_int_equal(s_send(c, "school", "ggd", "0-12-binnenstad"), ZN_E_NOT_IN_NETWORK);
    assert_int_equal(s_send(c, "ggd", "school", "0-12-binnenstad"), ZN_E_NOT_IN_NETWORK);
    assert_int_equal(s_send(c, "school", "wijkracht", "12-18"), ZN_E_NOT_IN_NETWORK);
    zn_convenant_destroy(&c);
}

static void test_coordinators_and_auditors_carry_no_content(void **state)
{
    (void)state;
    zn_convenant *c = s_convenant();
    assert_int_equal(s_send(c, "school", "coordinator", "0-12-binnenstad"), ZN_E_NOT_IN_NETWORK);
    assert_int_equal(s_send(c, "school", "auditor", "0-12-binnenstad"), ZN_E_NOT_IN_NETWORK);
    assert_int_equal(s_send(c, "coordinator", "school", "0-12-binnenstad"), ZN_E_NOT_IN_NETWORK);
    assert_int_equal(s_send(c, "auditor", "school", "0-12-binnenstad"), ZN_E_NOT_IN_NETWORK);
    zn_convenant_destroy(&c);
}

static void test_unknown_network_and_recipient(void **state)
{
    (void)state;
    zn_convenant *c = s_convenant();
    assert_int_equal(s_send(c, "school", "wijkracht", "18plus"), ZN_E_UNKNOWN_NETWORK);
    assert_int_equal(s_send(c, "school", "nobody", "0-12-binnenstad"), ZN_E_UNKNOWN_PARTNER);
    assert_int_equal(s_case_new(c, "school", "18plus"), ZN_E_UNKNOWN_NETWORK);
    zn_convenant_destroy(&c);
}

static void test_case_new_only_by_partners_of_the_network(void **state)
{
    (void)state;
    zn_convenant *c = s_convenant();
    assert_int_equal(s_case_new(c, "school", "0-12-binnenstad"), ZN_E_OK);
    assert_int_equal(s_case_new(c, "school", "12-18"), ZN_E_NOT_PARTNER);
    assert_int_equal(s_case_new(c, "coordinator", "12-18"), ZN_E_NOT_PARTNER);
    assert_int_equal(s_case_new(c, "auditor", "0-12-binnenstad"), ZN_E_NOT_PARTNER);
    zn_convenant_destroy(&c);
}

/* ------------------------------------------------------------ signal and match rows */

static zn_code s_query(const zn_convenant *c, zn_action act, const char *who, const char *net, const char *net2,
                       zn_err *e)
{
    zn_policy_query q = {.action = act, .actor = zn_convenant_partner(c, who), .network = net, .network2 = net2};
    zn_code code = zn_policy_check(c, &q, e);
    if (code != ZN_E_OK)
        assert_true(strlen(e->text) > 10);
    return code;
}

static void test_signal_add_only_by_partners_of_the_network(void **state)
{
    (void)state;
    zn_convenant *c = s_convenant();
    zn_err e;
    static const struct {
        const char *who, *net;
        zn_code want;
    } rows[] = {
        {"school", "0-12-binnenstad", ZN_E_OK},
        {"wijkracht", "0-12-binnenstad", ZN_E_OK},
        {"wijkracht", "12-18", ZN_E_OK},
        {"school", "12-18", ZN_E_NOT_PARTNER},         /* a partner, but not in this network */
        {"coordinator", "0-12-binnenstad", ZN_E_NOT_PARTNER},
        {"coord-012", "0-12-binnenstad", ZN_E_NOT_PARTNER},
        {"auditor", "12-18", ZN_E_NOT_PARTNER},
        {"school", "18plus", ZN_E_UNKNOWN_NETWORK},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        zn_code got = s_query(c, ZN_ACT_SIGNAL_ADD, rows[i].who, rows[i].net, NULL, &e);
        if (got != rows[i].want)
            fail_msg("row %zu: %s in %s gave %s, wanted %s", i, rows[i].who, rows[i].net, zn_code_name(got),
                     zn_code_name(rows[i].want));
    }
    assert_int_equal(s_query(c, ZN_ACT_SIGNAL_ADD, "coordinator", "12-18", NULL, &e), ZN_E_NOT_PARTNER);
    assert_non_null(strstr(e.text, "coordinators and auditors do not register signals"));
    assert_non_null(strstr(e.text, "coordinator does not hold the partner role in network 12-18"));
    zn_policy_query q = {.action = ZN_ACT_SIGNAL_ADD, .actor = NULL, .network = "12-18"};
    assert_int_equal(zn_policy_check(c, &q, &e), ZN_E_INTERNAL);
    zn_convenant_destroy(&c);
}

static void test_match_decide_by_a_coordinator_of_either_network(void **state)
{
    (void)state;
    zn_convenant *c = s_convenant();
    zn_err e;
    static const struct {
        const char *who, *net, *net2;
        zn_code want;
    } rows[] = {
        /* the coordinator of both networks */
        {"coordinator", "0-12-binnenstad", NULL, ZN_E_OK},
        {"coordinator", "0-12-binnenstad", "12-18", ZN_E_OK},
        {"coordinator", "12-18", "12-18", ZN_E_OK},
        /* a coordinator of one network: a match that touches it, in either place */
        {"coord-012", "0-12-binnenstad", "12-18", ZN_E_OK},
        {"coord-012", "12-18", "0-12-binnenstad", ZN_E_OK},
        {"coord-012", "0-12-binnenstad", NULL, ZN_E_OK},
        {"coord-012", "12-18", NULL, ZN_E_NOT_COORDINATOR},
        {"coord-012", "12-18", "12-18", ZN_E_NOT_COORDINATOR},
        {"coord-1218", "0-12-binnenstad", "12-18", ZN_E_OK},
        {"coord-1218", "0-12-binnenstad", "0-12-binnenstad", ZN_E_NOT_COORDINATOR},
        /* partners (even of both networks) and auditors decide nothing */
        {"wijkracht", "0-12-binnenstad", "12-18", ZN_E_NOT_COORDINATOR},
        {"school", "0-12-binnenstad", NULL, ZN_E_NOT_COORDINATOR},
        {"auditor", "0-12-binnenstad", "12-18", ZN_E_NOT_COORDINATOR},
        /* unknown networks, in either place */
        {"coordinator", "18plus", "12-18", ZN_E_UNKNOWN_NETWORK},
        {"coordinator", "12-18", "18plus", ZN_E_UNKNOWN_NETWORK},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        zn_code got = s_query(c, ZN_ACT_MATCH_DECIDE, rows[i].who, rows[i].net, rows[i].net2, &e);
        if (got != rows[i].want)
            fail_msg("row %zu: %s on %s/%s gave %s (%s), wanted %s", i, rows[i].who, rows[i].net,
                     rows[i].net2 ? rows[i].net2 : "-", zn_code_name(got), e.text, zn_code_name(rows[i].want));
    }
    assert_int_equal(s_query(c, ZN_ACT_MATCH_DECIDE, "wijkracht", "0-12-binnenstad", "12-18", &e),
                     ZN_E_NOT_COORDINATOR);
    assert_non_null(strstr(e.text, "wijkracht is not a coordinator of network 0-12-binnenstad or 12-18"));
    assert_int_equal(s_query(c, ZN_ACT_MATCH_DECIDE, "coord-012", "12-18", "12-18", &e), ZN_E_NOT_COORDINATOR);
    assert_non_null(strstr(e.text, "network 12-18;"));
    assert_int_equal(s_query(c, ZN_ACT_MATCH_DECIDE, "coordinator", "12-18", "18plus", &e), ZN_E_UNKNOWN_NETWORK);
    assert_non_null(strstr(e.text, "18plus"));
    zn_convenant_destroy(&c);
}

/* ------------------------------------------------------------ disclosure */

static void s_rule(zn_convenant *c, int a, int b, zn_disclosure person, zn_disclosure family)
{
    assert_true(a <= b);
    c->disclosure[c->n_disclosure++] = (zn_disclosure_rule){(uint8_t)a, (uint8_t)b, (uint8_t)person, (uint8_t)family};
}

enum { R_NONE, R_WIDEN_CROSS, R_NARROW_SAME, R_NEVER_SAME_FAMILY, R_WIDEN_FAMILY, R_NEVER_CROSS };

static void s_rules(zn_convenant *c, int which)
{
    c->n_disclosure = 0;
    switch (which) {
    case R_WIDEN_CROSS: s_rule(c, NET_012, NET_1218, ZN_DISCLOSE_PARTNERS, 0); break;
    case R_NARROW_SAME: s_rule(c, NET_012, NET_012, ZN_DISCLOSE_COORDINATORS, 0); break;
    case R_NEVER_SAME_FAMILY: s_rule(c, NET_1218, NET_1218, 0, ZN_DISCLOSE_NONE); break;
    case R_WIDEN_FAMILY: s_rule(c, NET_012, NET_012, 0, ZN_DISCLOSE_PARTNERS); break;
    case R_NEVER_CROSS: s_rule(c, NET_012, NET_1218, ZN_DISCLOSE_NONE, ZN_DISCLOSE_NONE); break;
    }
}

static void test_disclosure_defaults_and_overrides(void **state)
{
    (void)state;
    zn_convenant *c = s_convenant();
    const zn_disclosure P = ZN_DISCLOSE_PARTNERS, C = ZN_DISCLOSE_COORDINATORS, N = ZN_DISCLOSE_NONE;
    const zn_link PER = ZN_LINK_PERSON, FAM = ZN_LINK_FAMILY;
    static const struct {
        int rules, a, b;
        zn_link link;
        zn_disclosure want;
    } rows[] = {
        /* the defaults: a person match inside one network goes to the partners, the rest to the
         * coordinators only */
        {R_NONE, NET_012, NET_012, PER, P},   {R_NONE, NET_1218, NET_1218, PER, P},
        {R_NONE, NET_012, NET_012, FAM, C},   {R_NONE, NET_1218, NET_1218, FAM, C},
        {R_NONE, NET_012, NET_1218, PER, C},  {R_NONE, NET_1218, NET_012, PER, C},
        {R_NONE, NET_012, NET_1218, FAM, C},  {R_NONE, NET_1218, NET_012, FAM, C},
        /* widened across networks: person matches to the partners, in both orders; family default */
        {R_WIDEN_CROSS, NET_012, NET_1218, PER, P}, {R_WIDEN_CROSS, NET_1218, NET_012, PER, P},
        {R_WIDEN_CROSS, NET_012, NET_1218, FAM, C}, {R_WIDEN_CROSS, NET_1218, NET_012, FAM, C},
        {R_WIDEN_CROSS, NET_012, NET_012, PER, P},  /* other pairs keep their defaults */
        {R_WIDEN_CROSS, NET_1218, NET_1218, FAM, C},
        /* narrowed inside one network */
        {R_NARROW_SAME, NET_012, NET_012, PER, C},  {R_NARROW_SAME, NET_012, NET_012, FAM, C},
        {R_NARROW_SAME, NET_1218, NET_1218, PER, P},
        /* family matches inside 12-18 never made; person matches there as by default */
        {R_NEVER_SAME_FAMILY, NET_1218, NET_1218, FAM, N}, {R_NEVER_SAME_FAMILY, NET_1218, NET_1218, PER, P},
        {R_NEVER_SAME_FAMILY, NET_012, NET_012, FAM, C},
        /* family matches inside 0-12 widened to the partners */
        {R_WIDEN_FAMILY, NET_012, NET_012, FAM, P}, {R_WIDEN_FAMILY, NET_012, NET_012, PER, P},
        /* the pair never matched, in both orders and both links */
        {R_NEVER_CROSS, NET_012, NET_1218, PER, N}, {R_NEVER_CROSS, NET_1218, NET_012, FAM, N},
        {R_NEVER_CROSS, NET_1218, NET_012, PER, N}, {R_NEVER_CROSS, NET_012, NET_012, PER, P},
        /* what cannot be placed is told to nobody */
        {R_NONE, -1, NET_012, PER, N}, {R_NONE, NET_012, 2, PER, N}, {R_NONE, NET_012, NET_012, 0, N},
        {R_NONE, NET_012, ZN_MAX_NETWORKS, FAM, N},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        s_rules(c, rows[i].rules);
        zn_disclosure got = zn_policy_disclosure(c, rows[i].a, rows[i].b, rows[i].link);
        if (got != rows[i].want)
            fail_msg("row %zu: rules %d, %d with %d, %s: %s, wanted %s", i, rows[i].rules, rows[i].a, rows[i].b,
                     zn_link_name(rows[i].link), zn_disclosure_name(got), zn_disclosure_name(rows[i].want));
    }
    assert_int_equal(zn_policy_disclosure(NULL, 0, 0, PER), N);
    zn_convenant_destroy(&c);
}

/* ------------------------------------------------------------ lead proposal */

static void test_lead_proposal(void **state)
{
    (void)state;
    zn_convenant *c = s_convenant();
    /* 0-12: school first, then social work; 12-18: youth health first, then social work */
    c->decision[NET_012] = (zn_decision_rule){.n = 2, .category = {"school", "social-work"}};
    c->decision[NET_1218] = (zn_decision_rule){.n = 2, .category = {"youth-health", "social-work"}};
    enum { MAXC = 4 };
    static const struct {
        size_t n;
        zn_lead_candidate v[MAXC];
        const char *want; /* NULL: no proposal */
    } rows[] = {
        /* one ranked candidate */
        {1, {{"school", NET_012, 100}}, "school"},
        /* the better place wins, whatever the order or the time */
        {2, {{"wijkracht", NET_1218, 100}, {"ggd", NET_1218, 200}}, "ggd"},
        {2, {{"ggd", NET_1218, 200}, {"wijkracht", NET_1218, 100}}, "ggd"},
        /* the rank counts in the candidate's own network */
        {2, {{"wijkracht", NET_012, 100}, {"school", NET_012, 900}}, "school"},
        /* a tie on the place: the earlier registration, in both orders */
        {2, {{"school", NET_012, 200}, {"ggd", NET_1218, 100}}, "ggd"},
        {2, {{"ggd", NET_1218, 100}, {"school", NET_012, 200}}, "ggd"},
        {2, {{"school", NET_012, 100}, {"ggd", NET_1218, 200}}, "school"},
        {2, {{"wijkracht", NET_012, 300}, {"wijkracht", NET_1218, 300}}, "wijkracht"},
        /* a full tie: the first in the list */
        {2, {{"school", NET_012, 100}, {"ggd", NET_1218, 100}}, "school"},
        /* candidates without a rank are passed over */
        {3, {{"coordinator", NET_012, 1}, {"nobody", NET_012, 2}, {"wijkracht", NET_1218, 50}}, "wijkracht"},
        {2, {{"ggd", 7, 1}, {"wijkracht", NET_012, 50}}, "wijkracht"},
        /* nobody ranked: no proposal */
        {2, {{"coordinator", NET_012, 1}, {"nobody", NET_1218, 2}}, NULL},
        {1, {{"ggd", -1, 1}}, NULL},
        {0, {{NULL, 0, 0}}, NULL},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const char *got = zn_policy_propose_lead(c, rows[i].v, rows[i].n);
        if ((got == NULL) != (rows[i].want == NULL) || (got && strcmp(got, rows[i].want) != 0))
            fail_msg("row %zu: proposed %s, wanted %s", i, got ? got : "nobody", rows[i].want ? rows[i].want : "nobody");
        if (got) {
            bool from_v = false; /* a pointer into the candidates, not a copy */
            for (size_t k = 0; k < rows[i].n; k++)
                from_v |= got == rows[i].v[k].partner;
            assert_true(from_v);
        }
    }
    /* a category the rule of its network does not name has no rank; no rule at all: no proposal */
    zn_lead_candidate social[] = {{"wijkracht", NET_1218, 1}};
    c->decision[NET_1218] = (zn_decision_rule){.n = 1, .category = {"school"}};
    assert_null(zn_policy_propose_lead(c, social, 1));
    c->decision[NET_1218].n = 0;
    assert_null(zn_policy_propose_lead(c, social, 1));
    assert_null(zn_policy_propose_lead(c, NULL, 3));
    zn_convenant_destroy(&c);
}

/* ------------------------------------------------------------ rate limits */

static void test_signal_rate_limits(void **state)
{
    (void)state;
    zn_convenant *c = s_convenant();
    zn_err e;
    const char *limit = "untouched";
    assert_int_equal(c->policy.signal_rate_day, 50);
    assert_int_equal(c->policy.signal_rate_handler_day, 20);
    static const struct {
        uint64_t partner, handler;
        zn_code want;
        const char *limit, *says;
    } rows[] = {
        {0, 0, ZN_E_OK, NULL, NULL},
        {49, 19, ZN_E_OK, NULL, NULL}, /* one below both limits: allowed */
        {50, 0, ZN_E_RATE_LIMITED, "partner-day", "registered 50"},
        {50, 19, ZN_E_RATE_LIMITED, "partner-day", "allows 50 per partner per day"},
        {49, 20, ZN_E_RATE_LIMITED, "handler-day", "registered 20"},
        {0, 21, ZN_E_RATE_LIMITED, "handler-day", "allows 20 per handler per day"},
        {50, 20, ZN_E_RATE_LIMITED, "partner-day", "signal_rate_day"}, /* the partner's limit first */
        {UINT64_MAX, UINT64_MAX, ZN_E_RATE_LIMITED, "partner-day", "18446744073709551615"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        limit = "untouched";
        zn_code got = zn_policy_signal_rate(c, rows[i].partner, rows[i].handler, &limit, &e);
        if (got != rows[i].want)
            fail_msg("row %zu: %s, wanted %s", i, zn_code_name(got), zn_code_name(rows[i].want));
        if (!rows[i].limit) {
            assert_null(limit);
            continue;
        }
        assert_non_null(limit);
        assert_string_equal(limit, rows[i].limit);
        assert_int_equal(e.code, ZN_E_RATE_LIMITED);
        if (!strstr(e.text, rows[i].says))
            fail_msg("row %zu: \"%s\" does not say \"%s\"", i, e.text, rows[i].says);
    }
    /* the limits come from the convenant; limit may be NULL */
    c->policy.signal_rate_day = 1;
    c->policy.signal_rate_handler_day = 3;
    assert_int_equal(zn_policy_signal_rate(c, 0, 2, NULL, &e), ZN_E_OK);
    assert_int_equal(zn_policy_signal_rate(c, 1, 0, NULL, &e), ZN_E_RATE_LIMITED);
    assert_int_equal(zn_policy_signal_rate(c, 0, 3, NULL, NULL), ZN_E_RATE_LIMITED);
    zn_convenant_destroy(&c);
}

/* ------------------------------------------------------------ membership and basis names */

static void test_membership(void **state)
{
    (void)state;
    static const struct {
        bool regisseur, received, in_scope, overridden;
        zn_consent_state consent;
        bool expired, want;
    } rows[] = {
        {false, false, false, false, ZN_CONSENT_NONE, false, false},
        {true, false, false, false, ZN_CONSENT_NONE, false, true},        /* the regisseur */
        {false, true, false, false, ZN_CONSENT_WITHDRAWN, false, true},   /* received: stays a member */
        {false, false, false, true, ZN_CONSENT_REFUSED, true, true},      /* a standing override */
        /* in the consent's scope: only while it is granted and unexpired */
        {false, false, true, false, ZN_CONSENT_GRANTED, false, true},
        {false, false, true, false, ZN_CONSENT_GRANTED, true, false},
        {false, false, true, false, ZN_CONSENT_REQUESTED, false, false},
        {false, false, true, false, ZN_CONSENT_REFUSED, false, false},
        {false, false, true, false, ZN_CONSENT_WITHDRAWN, false, false},
        {false, false, true, false, ZN_CONSENT_NONE, false, false},
        /* a granted consent that does not name the partner admits nobody */
        {false, false, false, false, ZN_CONSENT_GRANTED, false, false},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        zn_case_facts f = {.sender_regisseur = rows[i].regisseur, .sender_received = rows[i].received,
                           .sender_in_scope = rows[i].in_scope, .sender_overridden = rows[i].overridden,
                           .consent = rows[i].consent, .consent_expired = rows[i].expired,
                           /* what the recipient is says nothing about the sender */
                           .recipient_recorder = true, .recipient_in_scope = true,
                           .override = ZN_OVERRIDE_APPROVED};
        if (zn_policy_member(&f) != rows[i].want)
            fail_msg("row %zu: member %d, wanted %d", i, !rows[i].want, rows[i].want);
    }
    assert_false(zn_policy_member(NULL));
}

/* Consent covers the partners its scope names and, without naming itself, the partner that
 * recorded it while that partner still holds the case: not a partner the case was handed over
 * to since (cases.c works out recipient_recorder), however it holds the case now. */
static void test_consent_covers_scope_and_recorder(void **state)
{
    (void)state;
    zn_convenant *c = s_convenant();
    zn_case kase = {.identified = true};
    strcpy(kase.network, "0-12-binnenstad");
    strcpy(kase.regisseur, "wijkracht");
    static const struct {
        bool in_scope, recorder;
        zn_consent_state consent;
        bool expired;
        zn_override_state override;
        zn_code want;
        zn_basis basis;
    } rows[] = {
        /* wijkracht recorded the consent and holds the case: covered without naming itself */
        {false, true, ZN_CONSENT_GRANTED, false, ZN_OVERRIDE_NONE, ZN_E_OK, ZN_BASIS_CONSENT},
        /* wijkracht holds the case (handed over), the consent was recorded by its predecessor */
        {false, false, ZN_CONSENT_GRANTED, false, ZN_OVERRIDE_NONE, ZN_E_CONSENT_REQUIRED, ZN_BASIS_NONE},
        /* ... and the override that let the handover through was rejected: nothing covers it */
        {false, false, ZN_CONSENT_GRANTED, false, ZN_OVERRIDE_REJECTED, ZN_E_CONSENT_REQUIRED, ZN_BASIS_NONE},
        /* while the override stands, it is the basis */
        {false, false, ZN_CONSENT_GRANTED, false, ZN_OVERRIDE_APPROVED, ZN_E_OK, ZN_BASIS_OVERRIDE},
        /* a scope that names it covers it, whoever recorded the consent */
        {true, false, ZN_CONSENT_GRANTED, false, ZN_OVERRIDE_NONE, ZN_E_OK, ZN_BASIS_CONSENT},
        /* the recorder only while the consent is granted and unexpired */
        {false, true, ZN_CONSENT_GRANTED, true, ZN_OVERRIDE_NONE, ZN_E_CONSENT_REQUIRED, ZN_BASIS_NONE},
        {false, true, ZN_CONSENT_WITHDRAWN, false, ZN_OVERRIDE_NONE, ZN_E_CONSENT_REQUIRED, ZN_BASIS_NONE},
        {false, true, ZN_CONSENT_REQUESTED, false, ZN_OVERRIDE_NONE, ZN_E_CONSENT_REQUIRED, ZN_BASIS_NONE},
        {false, true, ZN_CONSENT_REFUSED, false, ZN_OVERRIDE_NONE, ZN_E_CONSENT_REQUIRED, ZN_BASIS_NONE},
    };
    const zn_partner *school = zn_convenant_partner(c, "school"), *wijkracht = zn_convenant_partner(c, "wijkracht");
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        zn_case_facts f = {.sender_received = true, .recipient_in_scope = rows[i].in_scope,
                           .recipient_recorder = rows[i].recorder, .consent = rows[i].consent,
                           .consent_expired = rows[i].expired, .override = rows[i].override};
        zn_policy_query q = {.action = ZN_ACT_SEND, .actor = school, .counterpart = wijkracht, .kase = &kase,
                             .facts = &f};
        zn_err e;
        zn_basis basis;
        zn_code got = zn_policy_check_basis(c, &q, &basis, &e);
        if (got != rows[i].want || basis != rows[i].basis)
            fail_msg("row %zu: %s basis %d (%s), wanted %s basis %d", i, zn_code_name(got), (int)basis, e.text,
                     zn_code_name(rows[i].want), (int)rows[i].basis);
    }
    zn_convenant_destroy(&c);
}

static void test_basis_names(void **state)
{
    (void)state;
    assert_null(zn_basis_name(ZN_BASIS_NONE));
    assert_string_equal(zn_basis_name(ZN_BASIS_CONSENT), "consent");
    assert_string_equal(zn_basis_name(ZN_BASIS_OVERRIDE), "safety-override");
    assert_string_equal(zn_basis_name(ZN_BASIS_ANONYMOUS), "anonymous");
    assert_null(zn_basis_name((zn_basis)99));
}

/* ------------------------------------------------------------ case traffic: every combination */

/* How the sender is a member (M_*) and how the consent relates to the recipient (S_*: its scope
 * names the recipient; the recipient recorded it and still holds the case; neither). */
enum { M_REGISSEUR, M_RECEIVED, M_SCOPE, M_OVERRIDDEN, M_NONE, M__N };
enum { S_IN_SCOPE, S_RECORDER, S_NEITHER, S__N };
static const char *const s_member_names[M__N] = {"regisseur", "received", "in-consent-scope", "overridden", "none"};
static const char *const s_scope_names[S__N] = {"in-scope", "recorder", "neither"};
static const char *const s_consent_names[] = {"none", "requested", "granted", "refused", "withdrawn"};
static const char *const s_override_names[] = {"none", "pending", "approved", "rejected", "expired"};

typedef struct {
    zn_consent_state consent;
    bool expired;
    int scope;
    bool identified;
    zn_override_state override;
    int member;
    bool closed;
} s_combo;

/* What issue 5 asks, written out on its own as a plain if-chain (nothing from policy.c): the
 * code, the basis, and up to two phrases the refusal's sentence must hold. */
static zn_code s_expect(zn_action act, const s_combo *k, zn_basis *basis, const char *says[2])
{
    *basis = ZN_BASIS_NONE;
    says[0] = says[1] = NULL;
    bool granted_now = k->consent == ZN_CONSENT_GRANTED && !k->expired;
    bool member = k->member == M_REGISSEUR || k->member == M_RECEIVED || k->member == M_OVERRIDDEN ||
                  (k->member == M_SCOPE && granted_now);
    if (act == ZN_ACT_HANDOVER_OFFER && k->member != M_REGISSEUR)
        return ZN_E_NOT_REGISSEUR; /* only the regisseur offers a handover */
    if (k->closed)
        return ZN_E_CASE_CLOSED;
    if (!member)
        return ZN_E_NOT_MEMBER;
    if (!k->identified) {
        *basis = ZN_BASIS_ANONYMOUS;
        return ZN_E_OK;
    }
    if (granted_now && (k->scope == S_IN_SCOPE || k->scope == S_RECORDER)) {
        *basis = ZN_BASIS_CONSENT;
        return ZN_E_OK;
    }
    if (k->override == ZN_OVERRIDE_PENDING || k->override == ZN_OVERRIDE_APPROVED) {
        *basis = ZN_BASIS_OVERRIDE;
        return ZN_E_OK;
    }
    if (k->consent == ZN_CONSENT_NONE)
        says[0] = "no consent is recorded";
    else if (k->consent == ZN_CONSENT_REQUESTED)
        says[0] = "consent was requested, not granted";
    else if (k->consent == ZN_CONSENT_REFUSED)
        says[0] = "consent was refused";
    else if (k->consent == ZN_CONSENT_WITHDRAWN)
        says[0] = "consent was withdrawn";
    else if (k->expired)
        says[0] = "the consent expired";
    else
        says[0] = "the consent's scope does not name wijkracht";
    if (k->override == ZN_OVERRIDE_REJECTED)
        says[1] = "the safety override was rejected";
    else if (k->override == ZN_OVERRIDE_EXPIRED)
        says[1] = "the safety override expired";
    return ZN_E_CONSENT_REQUIRED;
}

/* The decision policy.c takes for the combination: school sends to (offers the case to)
 * wijkracht, or wijkracht accepts school's handover; both hold the partner role in 0-12. */
static zn_code s_decide(const zn_convenant *c, zn_action act, const s_combo *k, zn_basis *basis, zn_err *e)
{
    zn_case kase = {.closed_ms = k->closed ? 1700000000000u : 0, .identified = k->identified};
    strcpy(kase.network, "0-12-binnenstad");
    strcpy(kase.regisseur, k->member == M_REGISSEUR ? "school" : k->scope == S_RECORDER ? "wijkracht" : "ggd");
    zn_case_facts f = {
        .sender_regisseur = k->member == M_REGISSEUR,
        .sender_received = k->member == M_RECEIVED,
        .sender_in_scope = k->member == M_SCOPE,
        .sender_overridden = k->member == M_OVERRIDDEN,
        .recipient_recorder = k->scope == S_RECORDER,
        .recipient_in_scope = k->scope == S_IN_SCOPE,
        .consent = k->consent,
        .consent_expired = k->expired,
        .override = k->override,
        .handover_open = act == ZN_ACT_HANDOVER_ACCEPT, /* the one being accepted */
    };
    const zn_partner *school = zn_convenant_partner(c, "school"), *wijkracht = zn_convenant_partner(c, "wijkracht");
    bool accept = act == ZN_ACT_HANDOVER_ACCEPT;
    zn_policy_query q = {.action = act, .actor = accept ? wijkracht : school,
                         .counterpart = accept ? school : wijkracht, .kase = &kase, .facts = &f};
    *basis = (zn_basis)77; /* must be written */
    return zn_policy_check_basis(c, &q, basis, e);
}

static void test_traffic_every_combination(void **state)
{
    (void)state;
    zn_convenant *c = s_convenant();
    static const zn_action acts[] = {ZN_ACT_SEND, ZN_ACT_HANDOVER_OFFER, ZN_ACT_HANDOVER_ACCEPT};
    static const char *const act_names[] = {"send", "handover-offer", "handover-accept"};
    /* every combination of: action x consent state x expired x recipient scope x mode x
     * override state x sender membership x closed, numbered and taken apart digit by digit */
    enum { N_ACT = 3, N_CONSENT = 5, N_OVERRIDE = 5 };
    const size_t total = (size_t)N_ACT * N_CONSENT * 2 * S__N * 2 * N_OVERRIDE * M__N * 2;
    size_t allowed[4] = {0}, refused[ZN_E__COUNT] = {0};
    for (size_t i = 0; i < total; i++) {
        size_t r = i;
        size_t a = r % N_ACT;
        r /= N_ACT;
        int cs = (int)(r % N_CONSENT);
        r /= N_CONSENT;
        int ex = (int)(r % 2);
        r /= 2;
        int sc = (int)(r % S__N);
        r /= S__N;
        int id = (int)(r % 2);
        r /= 2;
        int ov = (int)(r % N_OVERRIDE);
        r /= N_OVERRIDE;
        int m = (int)(r % M__N);
        r /= M__N;
        int cl = (int)(r % 2);
        s_combo k = {(zn_consent_state)cs, ex, sc, id, (zn_override_state)ov, m, cl};
        zn_basis want_basis, got_basis;
        const char *says[2];
        zn_code want = s_expect(acts[a], &k, &want_basis, says);
        zn_err e;
        memset(&e, 0, sizeof e);
        zn_code got = s_decide(c, acts[a], &k, &got_basis, &e);
        if (got != want || got_basis != want_basis)
            fail_msg("%s, consent %s%s, recipient %s, %s, override %s, sender %s, %s: got %s basis %s (%s), "
                     "wanted %s basis %s",
                     act_names[a], s_consent_names[cs], ex ? " (expired)" : "", s_scope_names[sc],
                     id ? "identified" : "anonymous", s_override_names[ov], s_member_names[m], cl ? "closed" : "open",
                     zn_code_name(got), zn_basis_name(got_basis) ? zn_basis_name(got_basis) : "none", e.text,
                     zn_code_name(want), zn_basis_name(want_basis) ? zn_basis_name(want_basis) : "none");
        if (got == ZN_E_OK) {
            allowed[got_basis]++;
            continue;
        }
        refused[got]++;
        assert_int_equal(e.code, got);
        assert_true(strlen(e.text) > 10);
        for (int w = 0; w < 2; w++)
            if (says[w] && !strstr(e.text, says[w]))
                fail_msg("%s, consent %s%s, recipient %s, override %s: \"%s\" does not say \"%s\"", act_names[a],
                         s_consent_names[cs], ex ? " (expired)" : "", s_scope_names[sc], s_override_names[ov],
                         e.text, says[w]);
        bool route = strstr(e.text, "discuss it on an anonymous case: zorgnet case new --network 0-12-binnenstad "
                                    "without --bsn") != NULL;
        if (route != (got == ZN_E_CONSENT_REQUIRED))
            fail_msg("%s: \"%s\" %s the anonymous route", zn_code_name(got), e.text, route ? "names" : "misses");
    }
    /* 3000 combinations per action, and every outcome reached */
    assert_int_equal(total, 3 * 3000);
    assert_true(allowed[ZN_BASIS_ANONYMOUS] > 0 && allowed[ZN_BASIS_CONSENT] > 0 && allowed[ZN_BASIS_OVERRIDE] > 0);
    assert_int_equal(allowed[ZN_BASIS_NONE], 0);
    assert_true(refused[ZN_E_CASE_CLOSED] > 0 && refused[ZN_E_NOT_MEMBER] > 0 && refused[ZN_E_CONSENT_REQUIRED] > 0 &&
                refused[ZN_E_NOT_REGISSEUR] > 0);
    zn_convenant_destroy(&c);
}

/* The route survives long partner ids and network names: the reason is cut, not the way out. */
static void test_consent_required_keeps_the_route(void **state)
{
    (void)state;
    zn_convenant *c = s_convenant();
    char longnet[ZN_IDENT_MAX], longid[ZN_IDENT_MAX];
    memset(longnet, 'n', sizeof longnet - 1);
    longnet[sizeof longnet - 1] = '\0';
    memset(longid, 'p', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    strcpy(c->networks[NET_012], longnet);
    strcpy(c->partners[1].id, longid); /* wijkracht */
    zn_case kase = {.identified = true};
    strcpy(kase.network, longnet);
    strcpy(kase.regisseur, "school");
    zn_case_facts f = {.sender_regisseur = true, .consent = ZN_CONSENT_REQUESTED, .override = ZN_OVERRIDE_REJECTED};
    zn_policy_query q = {.action = ZN_ACT_SEND, .actor = &c->partners[0], .counterpart = &c->partners[1],
                         .kase = &kase, .facts = &f};
    zn_err e;
    assert_int_equal(zn_policy_check(c, &q, &e), ZN_E_CONSENT_REQUIRED);
    char route[ZN_ERR_TEXT_MAX];
    snprintf(route, sizeof route, "discuss it on an anonymous case: zorgnet case new --network %s without --bsn",
             longnet);
    assert_non_null(strstr(e.text, route));
    assert_non_null(strstr(e.text, "school may not share this identified case with ppp"));
    zn_convenant_destroy(&c);
}

/* ------------------------------------------------------------ who may act on a case */

enum { R_REG, R_MEMBER, R_NOBODY };                           /* the actor's (sender's) place in the case */
enum { F_CLOSED = 1, F_IDENT = 2, F_HANDOVER = 4, F_EXPIRED = 8, F_SCOPE = 16 }; /* the case's state */

typedef struct {
    zn_action act;
    const char *actor, *counterpart;
    int rel;
    unsigned flags;
    zn_consent_state consent;
    zn_code want;
} s_who_row;

static const char *s_act_name(zn_action a)
{
    static const char *const names[] = {"case-new", "send", "signal-add", "match-decide", "case-read",
                                        "case-close", "case-link", "consent-set", "override-new",
                                        "override-review", "handover-offer", "handover-accept",
                                        "handover-withdraw"};
    return (size_t)a < sizeof names / sizeof names[0] ? names[a] : "?";
}

static zn_code s_who(const zn_convenant *c, const s_who_row *r, zn_basis *basis, zn_err *e)
{
    zn_case kase = {.closed_ms = (r->flags & F_CLOSED) ? 1700000000000u : 0, .identified = (r->flags & F_IDENT) != 0};
    strcpy(kase.network, "0-12-binnenstad");
    strcpy(kase.regisseur, "school");
    zn_case_facts f = {.sender_regisseur = r->rel == R_REG,
                       .sender_received = r->rel == R_MEMBER,
                       .recipient_in_scope = (r->flags & F_SCOPE) != 0,
                       .consent = r->consent,
                       .consent_expired = (r->flags & F_EXPIRED) != 0,
                       .handover_open = (r->flags & F_HANDOVER) != 0};
    zn_policy_query q = {.action = r->act, .actor = zn_convenant_partner(c, r->actor),
                         .counterpart = r->counterpart ? zn_convenant_partner(c, r->counterpart) : NULL,
                         .kase = &kase, .facts = &f};
    return zn_policy_check_basis(c, &q, basis, e);
}

static void test_who_may_act_on_a_case(void **state)
{
    (void)state;
    zn_convenant *c = s_convenant();
    /* school: the regisseur (partner in 0-12); wijkracht: a partner of 0-12 (member or not);
     * ggd: a partner of 12-18 only; coordinator: of both networks; coord-1218: of 12-18 only */
    static const s_who_row rows[] = {
        /* reading: a member, or a coordinator of the case's network; also when closed */
        {ZN_ACT_CASE_READ, "school", NULL, R_REG, 0, ZN_CONSENT_NONE, ZN_E_OK},
        {ZN_ACT_CASE_READ, "wijkracht", NULL, R_MEMBER, F_IDENT, ZN_CONSENT_NONE, ZN_E_OK},
        {ZN_ACT_CASE_READ, "coordinator", NULL, R_NOBODY, F_IDENT, ZN_CONSENT_NONE, ZN_E_OK},
        {ZN_ACT_CASE_READ, "coord-012", NULL, R_NOBODY, 0, ZN_CONSENT_NONE, ZN_E_OK},
        {ZN_ACT_CASE_READ, "school", NULL, R_REG, F_CLOSED, ZN_CONSENT_NONE, ZN_E_OK},
        {ZN_ACT_CASE_READ, "coord-1218", NULL, R_NOBODY, 0, ZN_CONSENT_NONE, ZN_E_NOT_MEMBER},
        {ZN_ACT_CASE_READ, "auditor", NULL, R_NOBODY, 0, ZN_CONSENT_NONE, ZN_E_NOT_MEMBER},
        {ZN_ACT_CASE_READ, "ggd", NULL, R_NOBODY, 0, ZN_CONSENT_NONE, ZN_E_NOT_MEMBER},
        {ZN_ACT_CASE_READ, "wijkracht", NULL, R_NOBODY, 0, ZN_CONSENT_NONE, ZN_E_NOT_MEMBER},
        /* closing: the regisseur, on an open case without an open handover */
        {ZN_ACT_CASE_CLOSE, "school", NULL, R_REG, 0, ZN_CONSENT_NONE, ZN_E_OK},
        {ZN_ACT_CASE_CLOSE, "school", NULL, R_REG, F_IDENT, ZN_CONSENT_NONE, ZN_E_OK},
        {ZN_ACT_CASE_CLOSE, "wijkracht", NULL, R_MEMBER, 0, ZN_CONSENT_NONE, ZN_E_NOT_REGISSEUR},
        {ZN_ACT_CASE_CLOSE, "coordinator", NULL, R_NOBODY, 0, ZN_CONSENT_NONE, ZN_E_NOT_REGISSEUR},
        {ZN_ACT_CASE_CLOSE, "auditor", NULL, R_NOBODY, 0, ZN_CONSENT_NONE, ZN_E_NOT_REGISSEUR},
        {ZN_ACT_CASE_CLOSE, "school", NULL, R_REG, F_CLOSED, ZN_CONSENT_NONE, ZN_E_CASE_CLOSED},
        {ZN_ACT_CASE_CLOSE, "school", NULL, R_REG, F_HANDOVER, ZN_CONSENT_NONE, ZN_E_HANDOVER_OPEN},
        {ZN_ACT_CASE_CLOSE, "school", NULL, R_REG, F_CLOSED | F_HANDOVER, ZN_CONSENT_NONE, ZN_E_CASE_CLOSED},
        {ZN_ACT_CASE_CLOSE, "wijkracht", NULL, R_MEMBER, F_CLOSED, ZN_CONSENT_NONE, ZN_E_NOT_REGISSEUR},
        /* linking: the regisseur, on an open anonymous case with granted, unexpired consent */
        {ZN_ACT_CASE_LINK, "school", NULL, R_REG, 0, ZN_CONSENT_GRANTED, ZN_E_OK},
        {ZN_ACT_CASE_LINK, "school", NULL, R_REG, 0, ZN_CONSENT_NONE, ZN_E_CONSENT_REQUIRED},
        {ZN_ACT_CASE_LINK, "school", NULL, R_REG, 0, ZN_CONSENT_REQUESTED, ZN_E_CONSENT_REQUIRED},
        {ZN_ACT_CASE_LINK, "school", NULL, R_REG, 0, ZN_CONSENT_REFUSED, ZN_E_CONSENT_REQUIRED},
        {ZN_ACT_CASE_LINK, "school", NULL, R_REG, 0, ZN_CONSENT_WITHDRAWN, ZN_E_CONSENT_REQUIRED},
        {ZN_ACT_CASE_LINK, "school", NULL, R_REG, F_EXPIRED, ZN_CONSENT_GRANTED, ZN_E_CONSENT_REQUIRED},
        {ZN_ACT_CASE_LINK, "school", NULL, R_REG, F_IDENT, ZN_CONSENT_GRANTED, ZN_E_CASE_IDENTIFIED},
        {ZN_ACT_CASE_LINK, "school", NULL, R_REG, F_CLOSED, ZN_CONSENT_GRANTED, ZN_E_CASE_CLOSED},
        {ZN_ACT_CASE_LINK, "school", NULL, R_REG, F_HANDOVER, ZN_CONSENT_GRANTED, ZN_E_OK},
        {ZN_ACT_CASE_LINK, "wijkracht", NULL, R_MEMBER, 0, ZN_CONSENT_GRANTED, ZN_E_NOT_REGISSEUR},
        {ZN_ACT_CASE_LINK, "coordinator", NULL, R_NOBODY, 0, ZN_CONSENT_GRANTED, ZN_E_NOT_REGISSEUR},
        /* consent: only the regisseur, on an open case */
        {ZN_ACT_CONSENT_SET, "school", NULL, R_REG, 0, ZN_CONSENT_NONE, ZN_E_OK},
        {ZN_ACT_CONSENT_SET, "school", NULL, R_REG, F_IDENT | F_HANDOVER, ZN_CONSENT_GRANTED, ZN_E_OK},
        {ZN_ACT_CONSENT_SET, "wijkracht", NULL, R_MEMBER, F_IDENT, ZN_CONSENT_NONE, ZN_E_NOT_REGISSEUR},
        {ZN_ACT_CONSENT_SET, "coordinator", NULL, R_NOBODY, 0, ZN_CONSENT_NONE, ZN_E_NOT_REGISSEUR},
        {ZN_ACT_CONSENT_SET, "auditor", NULL, R_NOBODY, 0, ZN_CONSENT_NONE, ZN_E_NOT_REGISSEUR},
        {ZN_ACT_CONSENT_SET, "ggd", NULL, R_NOBODY, 0, ZN_CONSENT_NONE, ZN_E_NOT_REGISSEUR},
        {ZN_ACT_CONSENT_SET, "school", NULL, R_REG, F_CLOSED, ZN_CONSENT_NONE, ZN_E_CASE_CLOSED},
        /* a safety override: a member with the partner role, on an open identified case, for
         * another partner of the network */
        {ZN_ACT_OVERRIDE_NEW, "school", "wijkracht", R_REG, F_IDENT, ZN_CONSENT_NONE, ZN_E_OK},
        {ZN_ACT_OVERRIDE_NEW, "wijkracht", "school", R_MEMBER, F_IDENT, ZN_CONSENT_REFUSED, ZN_E_OK},
        {ZN_ACT_OVERRIDE_NEW, "wijkracht", "school", R_NOBODY, F_IDENT, ZN_CONSENT_NONE, ZN_E_NOT_MEMBER},
        {ZN_ACT_OVERRIDE_NEW, "coordinator", "school", R_NOBODY, F_IDENT, ZN_CONSENT_NONE, ZN_E_NOT_IN_NETWORK},
        {ZN_ACT_OVERRIDE_NEW, "auditor", "school", R_NOBODY, F_IDENT, ZN_CONSENT_NONE, ZN_E_NOT_IN_NETWORK},
        {ZN_ACT_OVERRIDE_NEW, "ggd", "school", R_MEMBER, F_IDENT, ZN_CONSENT_NONE, ZN_E_NOT_IN_NETWORK},
        {ZN_ACT_OVERRIDE_NEW, "school", "school", R_REG, F_IDENT, ZN_CONSENT_NONE, ZN_E_USAGE},
        {ZN_ACT_OVERRIDE_NEW, "school", "ggd", R_REG, F_IDENT, ZN_CONSENT_NONE, ZN_E_NOT_IN_NETWORK},
        {ZN_ACT_OVERRIDE_NEW, "school", "coordinator", R_REG, F_IDENT, ZN_CONSENT_NONE, ZN_E_NOT_IN_NETWORK},
        {ZN_ACT_OVERRIDE_NEW, "school", "auditor", R_REG, F_IDENT, ZN_CONSENT_NONE, ZN_E_NOT_IN_NETWORK},
        {ZN_ACT_OVERRIDE_NEW, "school", "nobody", R_REG, F_IDENT, ZN_CONSENT_NONE, ZN_E_UNKNOWN_PARTNER},
        {ZN_ACT_OVERRIDE_NEW, "school", "wijkracht", R_REG, F_IDENT | F_CLOSED, ZN_CONSENT_NONE, ZN_E_CASE_CLOSED},
        {ZN_ACT_OVERRIDE_NEW, "school", "wijkracht", R_REG, 0, ZN_CONSENT_NONE, ZN_E_CASE_ANONYMOUS},
        /* reviewing one: a coordinator of the case's network, whatever the case's state */
        {ZN_ACT_OVERRIDE_REVIEW, "coordinator", NULL, R_NOBODY, F_IDENT, ZN_CONSENT_NONE, ZN_E_OK},
        {ZN_ACT_OVERRIDE_REVIEW, "coord-012", NULL, R_NOBODY, F_IDENT | F_CLOSED, ZN_CONSENT_NONE, ZN_E_OK},
        {ZN_ACT_OVERRIDE_REVIEW, "coord-1218", NULL, R_NOBODY, F_IDENT, ZN_CONSENT_NONE, ZN_E_NOT_COORDINATOR},
        {ZN_ACT_OVERRIDE_REVIEW, "school", NULL, R_REG, F_IDENT, ZN_CONSENT_NONE, ZN_E_NOT_COORDINATOR},
        {ZN_ACT_OVERRIDE_REVIEW, "auditor", NULL, R_NOBODY, F_IDENT, ZN_CONSENT_NONE, ZN_E_NOT_COORDINATOR},
        /* offering a handover: the regisseur, to another partner of the network, on an open case
         * without an open handover; then the traffic table */
        {ZN_ACT_HANDOVER_OFFER, "school", "wijkracht", R_REG, 0, ZN_CONSENT_NONE, ZN_E_OK},
        {ZN_ACT_HANDOVER_OFFER, "school", "wijkracht", R_REG, F_IDENT | F_SCOPE, ZN_CONSENT_GRANTED, ZN_E_OK},
        {ZN_ACT_HANDOVER_OFFER, "school", "wijkracht", R_REG, F_IDENT, ZN_CONSENT_NONE, ZN_E_CONSENT_REQUIRED},
        {ZN_ACT_HANDOVER_OFFER, "wijkracht", "school", R_MEMBER, 0, ZN_CONSENT_NONE, ZN_E_NOT_REGISSEUR},
        {ZN_ACT_HANDOVER_OFFER, "coordinator", "school", R_NOBODY, 0, ZN_CONSENT_NONE, ZN_E_NOT_IN_NETWORK},
        {ZN_ACT_HANDOVER_OFFER, "auditor", "school", R_NOBODY, 0, ZN_CONSENT_NONE, ZN_E_NOT_IN_NETWORK},
        {ZN_ACT_HANDOVER_OFFER, "school", "school", R_REG, 0, ZN_CONSENT_NONE, ZN_E_USAGE},
        {ZN_ACT_HANDOVER_OFFER, "school", "ggd", R_REG, 0, ZN_CONSENT_NONE, ZN_E_NOT_IN_NETWORK},
        {ZN_ACT_HANDOVER_OFFER, "school", "coordinator", R_REG, 0, ZN_CONSENT_NONE, ZN_E_NOT_IN_NETWORK},
        {ZN_ACT_HANDOVER_OFFER, "school", "auditor", R_REG, 0, ZN_CONSENT_NONE, ZN_E_NOT_IN_NETWORK},
        {ZN_ACT_HANDOVER_OFFER, "school", "wijkracht", R_REG, F_CLOSED, ZN_CONSENT_NONE, ZN_E_CASE_CLOSED},
        {ZN_ACT_HANDOVER_OFFER, "school", "wijkracht", R_REG, F_HANDOVER, ZN_CONSENT_NONE, ZN_E_HANDOVER_OPEN},
        /* accepting one: the recipient, from an offering partner of the network, on an open
         * case; facts from the offering partner's side; then the traffic table */
        {ZN_ACT_HANDOVER_ACCEPT, "wijkracht", "school", R_REG, F_HANDOVER, ZN_CONSENT_NONE, ZN_E_OK},
        {ZN_ACT_HANDOVER_ACCEPT, "wijkracht", "school", R_REG, F_HANDOVER | F_IDENT | F_SCOPE, ZN_CONSENT_GRANTED,
         ZN_E_OK},
        {ZN_ACT_HANDOVER_ACCEPT, "wijkracht", "school", R_REG, F_HANDOVER | F_IDENT, ZN_CONSENT_GRANTED,
         ZN_E_CONSENT_REQUIRED},
        {ZN_ACT_HANDOVER_ACCEPT, "wijkracht", "school", R_NOBODY, F_HANDOVER, ZN_CONSENT_NONE, ZN_E_NOT_MEMBER},
        {ZN_ACT_HANDOVER_ACCEPT, "ggd", "school", R_REG, F_HANDOVER, ZN_CONSENT_NONE, ZN_E_NOT_IN_NETWORK},
        {ZN_ACT_HANDOVER_ACCEPT, "coordinator", "school", R_REG, F_HANDOVER, ZN_CONSENT_NONE, ZN_E_NOT_IN_NETWORK},
        {ZN_ACT_HANDOVER_ACCEPT, "wijkracht", "ggd", R_REG, F_HANDOVER, ZN_CONSENT_NONE, ZN_E_NOT_IN_NETWORK},
        {ZN_ACT_HANDOVER_ACCEPT, "school", "school", R_REG, F_HANDOVER, ZN_CONSENT_NONE, ZN_E_USAGE},
        {ZN_ACT_HANDOVER_ACCEPT, "wijkracht", "school", R_REG, F_HANDOVER | F_CLOSED, ZN_CONSENT_NONE,
         ZN_E_CASE_CLOSED},
        /* withdrawing one: the offering partner (the counterpart) while it holds the case, or a
         * coordinator of the case's network (also when the offering partner left: NULL) */
        {ZN_ACT_HANDOVER_WITHDRAW, "school", "school", R_REG, F_HANDOVER, ZN_CONSENT_NONE, ZN_E_OK},
        {ZN_ACT_HANDOVER_WITHDRAW, "school", "school", R_REG, F_HANDOVER | F_IDENT, ZN_CONSENT_WITHDRAWN, ZN_E_OK},
        {ZN_ACT_HANDOVER_WITHDRAW, "school", "school", R_MEMBER, F_HANDOVER, ZN_CONSENT_NONE, ZN_E_NOT_REGISSEUR},
        {ZN_ACT_HANDOVER_WITHDRAW, "coordinator", "school", R_NOBODY, F_HANDOVER, ZN_CONSENT_NONE, ZN_E_OK},
        {ZN_ACT_HANDOVER_WITHDRAW, "coord-012", "school", R_NOBODY, F_HANDOVER | F_IDENT, ZN_CONSENT_NONE, ZN_E_OK},
        {ZN_ACT_HANDOVER_WITHDRAW, "coordinator", NULL, R_NOBODY, F_HANDOVER, ZN_CONSENT_NONE, ZN_E_OK},
        {ZN_ACT_HANDOVER_WITHDRAW, "coord-1218", "school", R_NOBODY, F_HANDOVER, ZN_CONSENT_NONE, ZN_E_NOT_REGISSEUR},
        {ZN_ACT_HANDOVER_WITHDRAW, "wijkracht", "school", R_MEMBER, F_HANDOVER, ZN_CONSENT_NONE, ZN_E_NOT_REGISSEUR},
        {ZN_ACT_HANDOVER_WITHDRAW, "wijkracht", "school", R_REG, F_HANDOVER, ZN_CONSENT_NONE, ZN_E_NOT_REGISSEUR},
        {ZN_ACT_HANDOVER_WITHDRAW, "school", NULL, R_REG, F_HANDOVER, ZN_CONSENT_NONE, ZN_E_NOT_REGISSEUR},
        {ZN_ACT_HANDOVER_WITHDRAW, "auditor", "school", R_NOBODY, F_HANDOVER, ZN_CONSENT_NONE, ZN_E_NOT_REGISSEUR},
        {ZN_ACT_HANDOVER_WITHDRAW, "ggd", "school", R_NOBODY, F_HANDOVER, ZN_CONSENT_NONE, ZN_E_NOT_REGISSEUR},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        zn_err e;
        zn_basis basis;
        zn_code got = s_who(c, &rows[i], &basis, &e);
        if (got != rows[i].want)
            fail_msg("row %zu: %s by %s (counterpart %s, flags %u, consent %s) gave %s (%s), wanted %s", i,
                     s_act_name(rows[i].act), rows[i].actor, rows[i].counterpart ? rows[i].counterpart : "-",
                     rows[i].flags, s_consent_names[rows[i].consent], zn_code_name(got), e.text,
                     zn_code_name(rows[i].want));
        if (got != ZN_E_OK) {
            assert_int_equal(e.code, got);
            assert_true(strlen(e.text) > 10); /* every refusal says why */
            assert_int_equal(basis, ZN_BASIS_NONE);
        } else if (rows[i].act != ZN_ACT_HANDOVER_OFFER && rows[i].act != ZN_ACT_HANDOVER_ACCEPT) {
            assert_int_equal(basis, ZN_BASIS_NONE); /* only traffic has a basis */
        } else {
            assert_int_equal(basis, (rows[i].flags & F_IDENT) ? ZN_BASIS_CONSENT : ZN_BASIS_ANONYMOUS);
        }
    }
    zn_convenant_destroy(&c);
}

/* The sentences name what to do next. */
static void test_case_refusals_say_what_to_do(void **state)
{
    (void)state;
    zn_convenant *c = s_convenant();
    static const struct {
        s_who_row row;
        const char *says;
    } rows[] = {
        {{ZN_ACT_CASE_LINK, "school", NULL, R_REG, 0, ZN_CONSENT_REQUESTED, ZN_E_CONSENT_REQUIRED},
         "consent must be granted first"},
        {{ZN_ACT_CASE_CLOSE, "wijkracht", NULL, R_MEMBER, 0, ZN_CONSENT_NONE, ZN_E_NOT_REGISSEUR},
         "only its regisseur school may close it"},
        {{ZN_ACT_CONSENT_SET, "wijkracht", NULL, R_MEMBER, 0, ZN_CONSENT_NONE, ZN_E_NOT_REGISSEUR},
         "only its regisseur school records consent"},
        {{ZN_ACT_OVERRIDE_NEW, "school", "school", R_REG, F_IDENT, ZN_CONSENT_NONE, ZN_E_USAGE},
         "cannot record a safety override for itself"},
        {{ZN_ACT_HANDOVER_OFFER, "school", "school", R_REG, 0, ZN_CONSENT_NONE, ZN_E_USAGE},
         "cannot hand a case over to itself"},
        {{ZN_ACT_OVERRIDE_NEW, "school", "wijkracht", R_REG, 0, ZN_CONSENT_NONE, ZN_E_CASE_ANONYMOUS},
         "zorgnet case link"},
        {{ZN_ACT_CASE_READ, "coord-1218", NULL, R_NOBODY, 0, ZN_CONSENT_NONE, ZN_E_NOT_MEMBER},
         "nor a coordinator of its network 0-12-binnenstad"},
        {{ZN_ACT_OVERRIDE_REVIEW, "coord-1218", NULL, R_NOBODY, F_IDENT, ZN_CONSENT_NONE, ZN_E_NOT_COORDINATOR},
         "coord-1218 is not a coordinator of the case's network 0-12-binnenstad"},
        {{ZN_ACT_HANDOVER_OFFER, "school", "wijkracht", R_REG, F_HANDOVER, ZN_CONSENT_NONE, ZN_E_HANDOVER_OPEN},
         "wait for its recipient"},
        {{ZN_ACT_HANDOVER_ACCEPT, "wijkracht", "school", R_NOBODY, F_HANDOVER, ZN_CONSENT_NONE, ZN_E_NOT_MEMBER},
         "school is not a member of this case, so it may not share it with wijkracht"},
        {{ZN_ACT_HANDOVER_ACCEPT, "wijkracht", "school", R_REG, F_IDENT, ZN_CONSENT_WITHDRAWN,
          ZN_E_CONSENT_REQUIRED},
         "school may not share this identified case with wijkracht: consent was withdrawn; discuss it on an "
         "anonymous case"},
        {{ZN_ACT_HANDOVER_WITHDRAW, "wijkracht", "school", R_MEMBER, F_HANDOVER, ZN_CONSENT_NONE,
          ZN_E_NOT_REGISSEUR},
         "wijkracht neither offered this handover while holding the case nor coordinates the case's network "
         "0-12-binnenstad"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        zn_err e;
        assert_int_equal(s_who(c, &rows[i].row, NULL, &e), rows[i].row.want);
        if (!strstr(e.text, rows[i].says))
            fail_msg("row %zu: \"%s\" does not say \"%s\"", i, e.text, rows[i].says);
    }
    zn_convenant_destroy(&c);
}

/* What the check needs: the actor, and for an action on a case the case and its facts. */
static void test_case_actions_need_their_facts(void **state)
{
    (void)state;
    zn_convenant *c = s_convenant();
    zn_case kase = {0};
    strcpy(kase.network, "0-12-binnenstad");
    strcpy(kase.regisseur, "school");
    zn_case_facts f = {.sender_regisseur = true};
    const zn_partner *school = zn_convenant_partner(c, "school"), *wijkracht = zn_convenant_partner(c, "wijkracht");
    zn_err e;
    zn_basis basis;
    for (zn_action a = ZN_ACT_CASE_READ; a <= ZN_ACT_HANDOVER_WITHDRAW; a++) {
        zn_policy_query q = {.action = a, .actor = school, .counterpart = wijkracht, .kase = &kase};
        assert_int_equal(zn_policy_check(c, &q, &e), ZN_E_INTERNAL); /* no facts */
        q.kase = NULL;
        q.facts = &f;
        q.network = "0-12-binnenstad";
        assert_int_equal(zn_policy_check(c, &q, &e), ZN_E_INTERNAL); /* no case */
    }
    /* an action the table does not know */
    zn_policy_query q = {.action = (zn_action)99, .actor = school, .network = "0-12-binnenstad"};
    assert_int_equal(zn_policy_check(c, &q, &e), ZN_E_INTERNAL);
    assert_int_equal(zn_policy_check(NULL, &q, &e), ZN_E_INTERNAL);
    assert_int_equal(zn_policy_check(c, NULL, &e), ZN_E_INTERNAL);
    /* SEND without facts: the role rows only, no basis */
    zn_policy_query send = {.action = ZN_ACT_SEND, .actor = school, .counterpart = wijkracht, .kase = &kase};
    kase.identified = true;
    basis = ZN_BASIS_CONSENT;
    assert_int_equal(zn_policy_check_basis(c, &send, &basis, &e), ZN_E_OK);
    assert_int_equal(basis, ZN_BASIS_NONE);
    /* with facts, the traffic table decides */
    send.facts = &f;
    assert_int_equal(zn_policy_check_basis(c, &send, &basis, &e), ZN_E_CONSENT_REQUIRED);
    assert_int_equal(basis, ZN_BASIS_NONE);
    f.override = ZN_OVERRIDE_PENDING;
    assert_int_equal(zn_policy_check_basis(c, &send, &basis, &e), ZN_E_OK);
    assert_int_equal(basis, ZN_BASIS_OVERRIDE);
    assert_int_equal(zn_policy_check_basis(c, &send, NULL, &e), ZN_E_OK);
    /* the role rows come before the traffic table */
    send.counterpart = zn_convenant_partner(c, "ggd");
    assert_int_equal(zn_policy_check_basis(c, &send, &basis, &e), ZN_E_NOT_IN_NETWORK);
    assert_int_equal(basis, ZN_BASIS_NONE);
    zn_convenant_destroy(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_send_between_partners_of_the_network),
        cmocka_unit_test(test_send_outside_the_network_refused),
        cmocka_unit_test(test_coordinators_and_auditors_carry_no_content),
        cmocka_unit_test(test_unknown_network_and_recipient),
        cmocka_unit_test(test_case_new_only_by_partners_of_the_network),
        cmocka_unit_test(test_signal_add_only_by_partners_of_the_network),
        cmocka_unit_test(test_match_decide_by_a_coordinator_of_either_network),
        cmocka_unit_test(test_disclosure_defaults_and_overrides),
        cmocka_unit_test(test_lead_proposal),
        cmocka_unit_test(test_signal_rate_limits),
        cmocka_unit_test(test_membership),
        cmocka_unit_test(test_basis_names),
        cmocka_unit_test(test_consent_covers_scope_and_recorder),
        cmocka_unit_test(test_traffic_every_combination),
        cmocka_unit_test(test_consent_required_keeps_the_route),
        cmocka_unit_test(test_who_may_act_on_a_case),
        cmocka_unit_test(test_case_refusals_say_what_to_do),
        cmocka_unit_test(test_case_actions_need_their_facts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
