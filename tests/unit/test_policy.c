/* The policy table: who may open a case, who may send to whom on it. */
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
    c->n_partners = 5;
    c->partners = calloc(c->n_partners, sizeof *c->partners);
    assert_non_null(c->partners);
    const char *ids[] = {"school", "wijkracht", "ggd", "coordinator", "auditor"};
    for (size_t i = 0; i < c->n_partners; i++)
        strcpy(c->partners[i].id, ids[i]);
    c->partners[0].roles[NET_012] = ZN_ROLE_PARTNER;
    c->partners[1].roles[NET_012] = ZN_ROLE_PARTNER;
    c->partners[1].roles[NET_1218] = ZN_ROLE_PARTNER;
    c->partners[2].roles[NET_1218] = ZN_ROLE_PARTNER;
    c->partners[3].roles[NET_012] = ZN_ROLE_COORDINATOR;
    c->partners[3].roles[NET_1218] = ZN_ROLE_COORDINATOR;
    c->partners[4].auditor = true;
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_send_between_partners_of_the_network),
        cmocka_unit_test(test_send_outside_the_network_refused),
        cmocka_unit_test(test_coordinators_and_auditors_carry_no_content),
        cmocka_unit_test(test_unknown_network_and_recipient),
        cmocka_unit_test(test_case_new_only_by_partners_of_the_network),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
