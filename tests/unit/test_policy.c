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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
