/* itest_signals — signals and matches ("is this family already known elsewhere?") against the
 * real zorgnetd on loopback, with raw protocol frames: matching on the person, on a family member
 * and across networks, never against a partner's own signals; the disclosure defaults and the
 * convenant's rules; connect and lead (with the decision rules' proposal); refresh, withdrawal,
 * early withdrawal, informed dates; expiry at start (a clock running ahead) and while running;
 * rate limits and the enumeration report; bare look-ups; networks and roles; notices that survive
 * a crash; and a byte scan of the broker's files for the BSNs the test used.
 *
 * Pseudonyms are made as a partner makes them (zn_pseudonym with the network key the harness
 * holds); the BSNs are synthetic (999990000-999999999, 11-proef). Every wait is bounded. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"
#include "signals.h" /* ZN_SIGNALS_EXPIRE_EVERY_MS, ZN_SIGNALS_REPORT_MS */
#include "zn_audit.h"
#include "zn_pseudonym.h"
#include "zn_signal.h"

#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_DAY_MS (24ull * 3600 * 1000)

/* synthetic BSNs (11-proef) */
#define P1 "999990007"
#define P2 "999990019"
#define P3 "999990020"
#define P4 "999990032"
#define P5 "999990044"
#define P6 "999990056"
#define P7 "999990068"

#define C_SCHOOL "ib@regenboog.example, 010 123 4567"
#define C_WIJK "wijkteam centrum, 010 765 4321"
#define C_POL "jeugdagent binnenstad, 0900 8844"
#define C_GGD "jgz team 12-18, 010 555 0101"

/* ---- fixture ------------------------------------------------------------------------------- */

/* The harness's request fixture; the signals tests send no envelopes, so an inbox takes notices
 * only. */
static int s_setup(void **state)
{
    if (zh_fix_setup(state) != 0)
        return -1;
    ((zh_fix *)*state)->notices_only = true;
    return 0;
}

/* ---- requests ------------------------------------------------------------------------------ */

static void s_expect(zh_fix *t, int party, const char *kind, const msgpack_sbuffer *body, zn_code want)
{
    zh_fix_want(t, kind, party, zh_fix_call(t, party, NULL, kind, body, NULL), want);
}

typedef struct {
    const char *network, *bsn;
    const char *related[4]; /* NULL-terminated */
    uint64_t until_ms, informed_ms;
    const char *contact, *handler;
} s_sig;

typedef struct {
    uint8_t id[ZN_ID_LEN];
    bool refreshed;
    uint64_t expires_ms;
    uint32_t n;
    zn_match m[ZN_SIGNAL_MATCHES_MAX];
} s_added;

static zn_code s_add(zh_fix *t, int party, const s_sig *s, s_added *out)
{
    zn_signal_add in;
    memset(&in, 0, sizeof in);
    snprintf(in.network, sizeof in.network, "%s", s->network);
    zh_psn(t->h, s->bsn, in.person);
    for (size_t i = 0; i < 4 && s->related[i]; i++)
        zh_psn(t->h, s->related[i], in.related[in.n_related++]);
    in.until_ms = s->until_ms;
    in.informed_ms = s->informed_ms;
    snprintf(in.contact, sizeof in.contact, "%s", s->contact ? s->contact : "");
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    zn_err e;
    zn_err_clear(&e);
    if (zn_body_signal_add(&body, &in, &e) != 0)
        fail_msg("signal-add body: %s", e.text);
    zh_msg m;
    zn_code c = zh_fix_call(t, party, s->handler, "signal-add", &body, &m);
    msgpack_sbuffer_destroy(&body);
    if (c == ZN_E_OK) {
        memset(out, 0, sizeof *out);
        int rc = zn_result_signal_add_parse(m.f.u.result.body, out->id, &out->refreshed, &out->expires_ms, out->m,
                                            ZN_SIGNAL_MATCHES_MAX, &out->n, &e);
        zh_msg_free(&m);
        if (rc != 0)
            fail_msg("the signal-add RESULT does not parse: %s", e.text);
    }
    return c;
}

static void s_add_ok(zh_fix *t, int party, const s_sig *s, s_added *out)
{
    zn_code c = s_add(t, party, s, out);
    if (c != ZN_E_OK)
        fail_msg("signal-add by %s of a person in %s refused: %s", t->h->party[party].id, s->network, t->last_err);
}

static void s_add_refused(zh_fix *t, int party, const s_sig *s, zn_code want)
{
    s_added out;
    zn_code c = s_add(t, party, s, &out);
    if (c != want)
        fail_msg("signal-add by %s in %s: expected %s, got %s (%s)", t->h->party[party].id, s->network,
                 zh_code_text(want), zh_code_text(c), t->last_err);
}

static void s_body_id(msgpack_sbuffer *b, const uint8_t id[ZN_ID_LEN])
{
    msgpack_sbuffer_init(b);
    zn_body_id(b, id);
}

/* signal-withdraw: ZN_E_OK with *early, or the refusal. */
static zn_code s_withdraw(zh_fix *t, int party, const uint8_t id[ZN_ID_LEN], bool *early)
{
    msgpack_sbuffer b;
    s_body_id(&b, id);
    zh_msg m;
    zn_code c = zh_fix_call(t, party, NULL, "signal-withdraw", &b, &m);
    msgpack_sbuffer_destroy(&b);
    if (c == ZN_E_OK) {
        uint8_t got[ZN_ID_LEN];
        zn_err e;
        bool flag = false;
        if (zn_result_id_bool_parse(m.f.u.result.body, got, &flag, &e) != 0)
            fail_msg("the signal-withdraw RESULT does not parse: %s", e.text);
        assert_memory_equal(got, id, ZN_ID_LEN);
        if (early)
            *early = flag;
        zh_msg_free(&m);
    }
    return c;
}

/* match-connect (lead NULL) or match-lead; ZN_E_OK when the RESULT names the match. */
static zn_code s_decide(zh_fix *t, int party, const uint8_t match[ZN_ID_LEN], const char *lead)
{
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    if (lead)
        zn_body_match_lead(&b, match, lead);
    else
        zn_body_id(&b, match);
    zh_msg m;
    zn_code c = zh_fix_call(t, party, NULL, lead ? "match-lead" : "match-connect", &b, &m);
    msgpack_sbuffer_destroy(&b);
    if (c == ZN_E_OK) {
        uint8_t got[ZN_ID_LEN];
        zn_err e;
        if (zn_body_id_parse(m.f.u.result.body, got, &e) != 0)
            fail_msg("the %s RESULT does not parse: %s", lead ? "match-lead" : "match-connect", e.text);
        assert_memory_equal(got, match, ZN_ID_LEN);
        zh_msg_free(&m);
    }
    return c;
}

static void s_decide_expect(zh_fix *t, int party, const uint8_t match[ZN_ID_LEN], const char *lead, zn_code want)
{
    zh_fix_want(t, lead ? "match-lead" : "match-connect", party, s_decide(t, party, match, lead), want);
}

typedef struct {
    uint64_t total;
    uint32_t n;
    zn_signal_row r[16];
} s_list;

static void s_list_of(zh_fix *t, int party, s_list *out)
{
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    zn_body_signal_list(&b, 0);
    zh_msg m;
    zn_code c = zh_fix_call(t, party, NULL, "signal-list", &b, &m);
    msgpack_sbuffer_destroy(&b);
    if (c != ZN_E_OK)
        fail_msg("signal-list by %s refused: %s", t->h->party[party].id, t->last_err);
    zn_err e;
    memset(out, 0, sizeof *out);
    if (zn_result_signal_list_parse(m.f.u.result.body, &out->total, out->r, 16, &out->n, &e) != 0)
        fail_msg("the signal-list RESULT does not parse: %s", e.text);
    zh_msg_free(&m);
    assert_true(out->n <= out->total);
}

static const zn_signal_row *s_row(const s_list *l, const uint8_t id[ZN_ID_LEN])
{
    for (uint32_t i = 0; i < l->n; i++)
        if (memcmp(l->r[i].signal, id, ZN_ID_LEN) == 0)
            return &l->r[i];
    return NULL;
}

/* ---- notices (the harness's inboxes); the audit log is read with zh_alog_read_db ---------- */

static void s_expect_empty(zh_fix *t, int party)
{
    zh_inbox box;
    zh_fix_inbox(t, party, &box);
    if (box.n != 0)
        fail_msg("%s was told something: %d notices, the first \"%s\"", t->h->party[party].id, box.n, box.v[0].type);
}

/* ---- 1. a person match inside one network -------------------------------------------------- */

static void test_person_match_in_network(void **state)
{
    zh_fix *t = *state;
    zh_inbox box;
    void *school = zh_fix_listen(t, ZH_SCHOOL, &box); /* the school is online with a window */
    assert_int_equal(box.n, 0);

    uint64_t t0 = zh_now_ms();
    s_added a, b;
    s_add_ok(t, ZH_SCHOOL, &(s_sig){.network = ZH_NET0, .bsn = P1, .contact = C_SCHOOL}, &a);
    assert_false(a.refreshed);
    assert_int_equal(a.n, 0);
    uint64_t t1 = zh_now_ms();
    assert_true(a.expires_ms > t1 + 729 * S_DAY_MS && a.expires_ms <= t1 + 730 * S_DAY_MS); /* the default */
    s_add_ok(t, ZH_WIJKRACHT, &(s_sig){.network = ZH_NET0, .bsn = P1, .contact = C_WIJK}, &b);
    uint64_t t2 = zh_now_ms();
    assert_false(b.refreshed);
    assert_memory_not_equal(a.id, b.id, ZN_ID_LEN);

    /* wijkracht learns it from its reply */
    assert_int_equal(b.n, 1);
    const zn_match *m = &b.m[0];
    assert_memory_equal(m->signal, b.id, ZN_ID_LEN);
    assert_string_equal(m->partner, "school");
    assert_string_equal(m->network, ZH_NET0);
    assert_string_equal(m->contact, C_SCHOOL);
    assert_int_equal(m->link, ZN_LINK_PERSON);
    assert_true(m->since_ms >= t0 && m->since_ms <= t1);
    assert_string_equal(m->lead, "");
    assert_string_equal(m->proposed, ""); /* no decision rules */

    /* the school is told at once, on its open connection */
    memset(&box, 0, sizeof box);
    zh_fix_take(t, school, &box, ZH_TIMEOUT);
    const zh_note *n = zh_inbox_one(&box, "match", "school");
    assert_int_equal(box.n, 1);
    assert_memory_equal(n->match, m->match, ZN_ID_LEN);
    assert_memory_equal(n->signal, a.id, ZN_ID_LEN);
    assert_string_equal(n->partner, "wijkracht");
    assert_string_equal(n->network, ZH_NET0);
    assert_string_equal(n->contact, C_WIJK);
    assert_string_equal(n->link, "person");
    assert_true(n->since >= t1 && n->since <= t2);
    assert_string_equal(n->connected_by, "");
    assert_true(zh_quiet(school, ZH_QUIET)); /* once */
    assert_int_equal(zh_sync(school, t->corr++, NULL), 0);
    zh_close(t->h, &school);

    /* the coordinator, offline until now, gets the review on connect */
    zh_fix_inbox(t, ZH_COORD, &box);
    assert_int_equal(box.n, 1);
    n = zh_inbox_one(&box, "match-review", "the coordinator");
    assert_memory_equal(n->match, m->match, ZN_ID_LEN);
    assert_string_equal(n->link, "person");
    assert_string_equal(n->disclosure, "partners");
    assert_string_equal(n->a_partner, "school");
    assert_string_equal(n->a_network, ZH_NET0);
    assert_string_equal(n->a_contact, C_SCHOOL);
    assert_string_equal(n->b_partner, "wijkracht");
    assert_string_equal(n->b_network, ZH_NET0);
    assert_string_equal(n->b_contact, C_WIJK);

    /* nobody else */
    s_expect_empty(t, ZH_WIJKRACHT);
    s_expect_empty(t, ZH_POLITIE);
    s_expect_empty(t, ZH_GGD);
    s_expect_empty(t, ZH_AUDITOR);

    /* the audit log: the match and every disclosure */
    uint8_t psn[ZN_PSN_LEN];
    zh_psn(t->h, P1, psn);
    zh_alog lg;
    zh_alog_read_db(t->h, &lg);
    const zh_ent *x = zh_alog_one(&lg, (zh_q){.action = "match"});
    assert_true(zh_det_str(x, "disclosure", "partners"));
    assert_true(zh_det_str(x, "link", "person"));
    assert_true(zh_det_str(x, "a_partner", "school"));
    assert_true(zh_det_str(x, "b_partner", "wijkracht"));
    assert_true(zh_det_bin(x, "match", m->match, ZN_ID_LEN));
    assert_true(zh_det_bin(x, "subject", psn, ZN_PSN_LEN));
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "disclose", .counterpart = "school"}), 1);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "disclose", .counterpart = "wijkracht"}), 1);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "disclose", .counterpart = "coordinator"}), 1);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "signal-add", .decision = ZN_AUDIT_ALLOWED}), 2);
    zh_alog_free(&lg);
}

/* ---- 1b. never against the partner's own signals --------------------------------------------- */

static void test_own_signals_never_match(void **state)
{
    zh_fix *t = *state;
    s_added a, b, c, d;
    /* wijkracht knows P2 (with P3 in the family) in both its networks, and P3 as a person */
    s_add_ok(t, ZH_WIJKRACHT, &(s_sig){.network = ZH_NET0, .bsn = P2, .related = {P3}, .contact = C_WIJK}, &a);
    s_add_ok(t, ZH_WIJKRACHT, &(s_sig){.network = ZH_NET1, .bsn = P2, .related = {P3}, .contact = C_WIJK}, &b);
    s_add_ok(t, ZH_WIJKRACHT, &(s_sig){.network = ZH_NET0, .bsn = P3, .contact = C_WIJK}, &c);
    assert_false(b.refreshed); /* another network: another signal */
    assert_false(c.refreshed);
    assert_memory_not_equal(a.id, b.id, ZN_ID_LEN);
    assert_int_equal(a.n + b.n + c.n, 0);
    s_expect_empty(t, ZH_COORD);
    s_expect_empty(t, ZH_WIJKRACHT);
    zh_alog lg;
    zh_alog_read_db(t->h, &lg);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "match"}), 0);
    zh_alog_free(&lg);

    /* another partner does match them (so the silence above is not a broker that never matches) */
    s_add_ok(t, ZH_POLITIE, &(s_sig){.network = ZH_NET0, .bsn = P2, .contact = C_POL}, &d);
    assert_int_equal(d.n, 1); /* wijkracht's P2 in 0-12; the one in 12-18 is for the coordinators */
    assert_string_equal(d.m[0].partner, "wijkracht");
    assert_string_equal(d.m[0].network, ZH_NET0);
    zh_inbox box;
    zh_fix_inbox(t, ZH_COORD, &box);
    assert_int_equal(zh_inbox_count(&box, "match-review"), 2);
    for (int i = 0; i < box.n; i++) {
        assert_string_equal(box.v[i].a_partner, "wijkracht");
        assert_string_equal(box.v[i].b_partner, "politie");
    }
    zh_alog_read_db(t->h, &lg);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "match"}), 2);
    for (size_t i = 0; i < lg.n; i++)
        if (zh_is(lg.e[i].en.action, "match"))
            assert_false(zh_det_str(&lg.e[i], "b_partner", "wijkracht"));
    zh_alog_free(&lg);
}

/* ---- 2. a family match: the coordinators only ------------------------------------------------ */

/* school registers P3 with P4 (the mother) in its family; politie registers P4. */
static void s_family(zh_fix *t, s_added *school, s_added *politie)
{
    s_add_ok(t, ZH_SCHOOL, &(s_sig){.network = ZH_NET0, .bsn = P3, .related = {P4}, .contact = C_SCHOOL}, school);
    s_add_ok(t, ZH_POLITIE, &(s_sig){.network = ZH_NET0, .bsn = P4, .contact = C_POL}, politie);
}

static void test_family_match_coordinators_only(void **state)
{
    zh_fix *t = *state;
    s_added a, b;
    s_family(t, &a, &b);
    assert_int_equal(a.n, 0);
    assert_int_equal(b.n, 0); /* politie learns nothing */

    zh_inbox box;
    zh_fix_inbox(t, ZH_COORD, &box);
    assert_int_equal(box.n, 1);
    const zh_note *n = zh_inbox_one(&box, "match-review", "the coordinator");
    assert_string_equal(n->link, "family");
    assert_string_equal(n->disclosure, "coordinators");
    assert_string_equal(n->a_partner, "school");
    assert_string_equal(n->b_partner, "politie");
    assert_string_equal(n->a_network, ZH_NET0);
    assert_string_equal(n->b_network, ZH_NET0);
    s_expect_empty(t, ZH_SCHOOL);
    s_expect_empty(t, ZH_POLITIE);

    uint8_t mother[ZN_PSN_LEN];
    zh_psn(t->h, P4, mother);
    zh_alog lg;
    zh_alog_read_db(t->h, &lg);
    const zh_ent *x = zh_alog_one(&lg, (zh_q){.action = "match"});
    assert_true(zh_det_str(x, "link", "family"));
    assert_true(zh_det_str(x, "disclosure", "coordinators"));
    assert_true(zh_det_bin(x, "subject", mother, ZN_PSN_LEN));
    assert_true(zh_det_bin(x, "match", n->match, ZN_ID_LEN));
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "disclose", .counterpart = "school"}), 0);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "disclose", .counterpart = "politie"}), 0);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "disclose", .counterpart = "coordinator"}), 1);
    zh_alog_free(&lg);
}

/* ---- 3. across networks: the coordinators only ----------------------------------------------- */

static void test_cross_network_coordinators_only(void **state)
{
    zh_fix *t = *state;
    s_added a, b;
    s_add_ok(t, ZH_SCHOOL, &(s_sig){.network = ZH_NET0, .bsn = P1, .contact = C_SCHOOL}, &a);
    s_add_ok(t, ZH_GGD, &(s_sig){.network = ZH_NET1, .bsn = P1, .contact = C_GGD}, &b);
    assert_int_equal(b.n, 0);
    zh_inbox box;
    zh_fix_inbox(t, ZH_COORD, &box);
    assert_int_equal(box.n, 1);
    const zh_note *n = zh_inbox_one(&box, "match-review", "the coordinator");
    assert_string_equal(n->link, "person");
    assert_string_equal(n->disclosure, "coordinators");
    assert_string_equal(n->a_partner, "school");
    assert_string_equal(n->a_network, ZH_NET0);
    assert_string_equal(n->b_partner, "ggd");
    assert_string_equal(n->b_network, ZH_NET1);
    assert_string_equal(n->b_contact, C_GGD);
    s_expect_empty(t, ZH_SCHOOL);
    s_expect_empty(t, ZH_GGD);
}

/* A partner that left the convenant: its signals are neither matched nor told. */
static void test_left_partner_not_matched(void **state)
{
    zh_fix *t = *state;
    s_added a, b;
    s_add_ok(t, ZH_SCHOOL, &(s_sig){.network = ZH_NET0, .bsn = P1, .contact = C_SCHOOL}, &a);
    zh_fix_drop_conns(t);
    assert_int_equal(zh_reload(t->h, t->h->version + 1, ZH_BIT(ZH_SCHOOL)), 0);
    s_add_ok(t, ZH_WIJKRACHT, &(s_sig){.network = ZH_NET0, .bsn = P1, .contact = C_WIJK}, &b);
    assert_int_equal(b.n, 0);
    s_expect_empty(t, ZH_COORD);
    zh_alog lg;
    zh_alog_read_db(t->h, &lg);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "match"}), 0);
    zh_alog_free(&lg);
}

/* signal-list counts only the matches the partner may know of: a family match shows once a
 * coordinator connects the partners. */
static void test_list_counts_known_matches(void **state)
{
    zh_fix *t = *state;
    s_added a, b;
    s_family(t, &a, &b);
    s_list l;
    s_list_of(t, ZH_SCHOOL, &l);
    assert_non_null(s_row(&l, a.id));
    assert_int_equal(s_row(&l, a.id)->matches, 0);
    zh_inbox box;
    zh_fix_inbox(t, ZH_COORD, &box);
    const zh_note *n = zh_inbox_one(&box, "match-review", "the coordinator");
    s_decide_expect(t, ZH_COORD, n->match, NULL, ZN_E_OK);
    s_list_of(t, ZH_SCHOOL, &l);
    assert_int_equal(s_row(&l, a.id)->matches, 1);
}

/* A refresh that names a related person the signal did not hold counts as a new signal. */
static void test_refresh_with_new_person_counts(void **state)
{
    zh_fix *t = *state;
    const char *const rules[] = {"signal_rate_day", "2", NULL};
    zh_fix_restart(t, 0, rules);
    s_added a, r;
    s_add_ok(t, ZH_SCHOOL, &(s_sig){.network = ZH_NET0, .bsn = P1}, &a);
    s_add_ok(t, ZH_SCHOOL, &(s_sig){.network = ZH_NET0, .bsn = P1, .related = {P2}}, &r); /* counts: 2 */
    assert_true(r.refreshed);
    s_add_refused(t, ZH_SCHOOL, &(s_sig){.network = ZH_NET0, .bsn = P1, .related = {P2, P3}}, ZN_E_RATE_LIMITED);
    s_add_ok(t, ZH_SCHOOL, &(s_sig){.network = ZH_NET0, .bsn = P1, .related = {P2}}, &r); /* nobody new */
    s_add_ok(t, ZH_SCHOOL, &(s_sig){.network = ZH_NET0, .bsn = P1}, &r);                 /* one fewer */
    assert_true(r.refreshed);
    assert_memory_equal(r.id, a.id, ZN_ID_LEN);
}

/* A refresh that drops the person two signals shared ends their match. */
static void test_refresh_ends_stale_match(void **state)
{
    zh_fix *t = *state;
    s_added a, b, r;
    s_family(t, &a, &b);
    zh_inbox box;
    zh_fix_inbox(t, ZH_COORD, &box);
    const zh_note *n = zh_inbox_one(&box, "match-review", "the coordinator");
    uint8_t match[ZN_ID_LEN];
    memcpy(match, n->match, ZN_ID_LEN);
    s_add_ok(t, ZH_SCHOOL, &(s_sig){.network = ZH_NET0, .bsn = P3, .contact = C_SCHOOL}, &r);
    assert_true(r.refreshed);
    s_decide_expect(t, ZH_COORD, match, NULL, ZN_E_UNKNOWN_MATCH);
    zh_alog lg;
    zh_alog_read_db(t->h, &lg);
    const zh_ent *x = zh_alog_one(&lg, (zh_q){.action = "match-end"});
    assert_true(zh_det_bin(x, "match", match, ZN_ID_LEN));
    zh_alog_free(&lg);
}

/* A convenant that narrows a rule hides the matches made under the wider one. */
static void test_narrowed_rule_hides_match(void **state)
{
    zh_fix *t = *state;
    s_added a, b;
    s_add_ok(t, ZH_SCHOOL, &(s_sig){.network = ZH_NET0, .bsn = P1, .contact = C_SCHOOL}, &a);
    s_add_ok(t, ZH_WIJKRACHT, &(s_sig){.network = ZH_NET0, .bsn = P1, .contact = C_WIJK}, &b);
    assert_int_equal(b.n, 1);
    const char *const rules[] = {"disclosure:" ZH_NET0 ":" ZH_NET0 ":person", "coordinators", NULL};
    zh_fix_restart(t, 0, rules);
    s_add_ok(t, ZH_WIJKRACHT, &(s_sig){.network = ZH_NET0, .bsn = P1, .contact = C_WIJK}, &b);
    assert_true(b.refreshed);
    assert_int_equal(b.n, 0);
    s_list l;
    s_list_of(t, ZH_SCHOOL, &l);
    assert_int_equal(s_row(&l, a.id)->matches, 0);
}

/* ---- 4. connect ------------------------------------------------------------------------------ */

static void test_connect(void **state)
{
    zh_fix *t = *state;
    s_added a, b;
    s_family(t, &a, &b);
    zh_inbox box;
    zh_fix_inbox(t, ZH_COORD, &box);
    uint8_t match[ZN_ID_LEN], nomatch[ZN_ID_LEN];
    memcpy(match, zh_inbox_one(&box, "match-review", "the coordinator")->match, ZN_ID_LEN);
    zh_random(nomatch, sizeof nomatch);

    s_decide_expect(t, ZH_SCHOOL, match, NULL, ZN_E_NOT_COORDINATOR);
    s_decide_expect(t, ZH_POLITIE, match, NULL, ZN_E_NOT_COORDINATOR);
    s_decide_expect(t, ZH_AUDITOR, match, NULL, ZN_E_NOT_COORDINATOR);
    s_decide_expect(t, ZH_COORD, nomatch, NULL, ZN_E_UNKNOWN_MATCH);
    s_expect_empty(t, ZH_SCHOOL); /* refusals told nobody */
    s_expect_empty(t, ZH_POLITIE);

    s_decide_expect(t, ZH_COORD, match, NULL, ZN_E_OK);
    zh_fix_inbox(t, ZH_SCHOOL, &box);
    assert_int_equal(box.n, 1);
    const zh_note *n = zh_inbox_one(&box, "match", "school");
    assert_memory_equal(n->match, match, ZN_ID_LEN);
    assert_memory_equal(n->signal, a.id, ZN_ID_LEN);
    assert_string_equal(n->partner, "politie");
    assert_string_equal(n->network, ZH_NET0);
    assert_string_equal(n->contact, C_POL);
    assert_string_equal(n->link, "family");
    assert_string_equal(n->connected_by, "coordinator");
    zh_fix_inbox(t, ZH_POLITIE, &box);
    assert_int_equal(box.n, 1);
    n = zh_inbox_one(&box, "match", "politie");
    assert_memory_equal(n->match, match, ZN_ID_LEN);
    assert_memory_equal(n->signal, b.id, ZN_ID_LEN);
    assert_string_equal(n->partner, "school");
    assert_string_equal(n->contact, C_SCHOOL);
    assert_string_equal(n->link, "family");
    assert_string_equal(n->connected_by, "coordinator");

    /* connecting again tells nobody anew */
    s_decide_expect(t, ZH_COORD, match, NULL, ZN_E_OK);
    s_expect_empty(t, ZH_SCHOOL);
    s_expect_empty(t, ZH_POLITIE);

    /* connected partners see the match in their reply from now on */
    s_added again;
    s_add_ok(t, ZH_POLITIE, &(s_sig){.network = ZH_NET0, .bsn = P4, .contact = C_POL}, &again);
    assert_true(again.refreshed);
    assert_int_equal(again.n, 1);
    assert_memory_equal(again.m[0].match, match, ZN_ID_LEN);
    assert_string_equal(again.m[0].partner, "school");
    assert_int_equal(again.m[0].link, ZN_LINK_FAMILY);

    zh_alog lg;
    zh_alog_read_db(t->h, &lg);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "match-connect", .actor = "coordinator",
                                               .decision = ZN_AUDIT_ALLOWED, .reason = ""}), 1);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "match-connect", .actor = "coordinator",
                                               .decision = ZN_AUDIT_ALLOWED, .reason = "already-known"}), 1);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "match-connect", .actor = "school",
                                               .decision = ZN_AUDIT_REFUSED, .reason = "not-coordinator"}), 1);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "match-connect", .actor = "coordinator",
                                               .decision = ZN_AUDIT_REFUSED, .reason = "unknown-match"}), 1);
    zh_alog_free(&lg);
}

/* ---- 5. lead --------------------------------------------------------------------------------- */

/* Add a second coordinator, of `network` only, to the convenant file (same version, signed
 * again by the authority); the broker reads it at its next start. */
static void s_add_coordinator(zh_fix *t, const char *id, const char *network, zn_seckeys *keys)
{
    zn_convenant *c = NULL;
    zn_err e;
    zn_err_clear(&e);
    assert_int_equal(zn_keys_generate(ZN_KIND_PARTNER, keys), 0);
    assert_int_equal(zn_convenant_load(t->h->conv_path, &c, &e), 0);
    zn_partner *more = realloc(c->partners, (c->n_partners + 1) * sizeof *more);
    assert_non_null(more);
    c->partners = more;
    zn_partner *p = &c->partners[c->n_partners++];
    memset(p, 0, sizeof *p);
    snprintf(p->id, sizeof p->id, "%s", id);
    snprintf(p->name, sizeof p->name, "Matchregie %s", network);
    snprintf(p->category, sizeof p->category, "municipality");
    p->keys = keys->pub;
    int net = zn_convenant_network(c, network);
    assert_true(net >= 0);
    p->roles[net] = ZN_ROLE_COORDINATOR;
    if (zn_convenant_sign(c, &t->h->authority, &e) != 0 || zn_convenant_save(t->h->conv_path, c, &e) != 0)
        fail_msg("a second coordinator in the convenant: %s", e.text);
    zn_convenant_destroy(&c);
}

static void test_lead(void **state)
{
    zh_fix *t = *state;
    zn_seckeys noord; /* a second coordinator, of 0-12 only */
    assert_int_equal(zh_broker_stop(t->h, SIGTERM, 10000), 0);
    s_add_coordinator(t, "matchregie-noord", ZH_NET0, &noord);
    const char *const rules[] = {"decision:" ZH_NET0, "police,school", NULL};
    zh_fix_restart(t, 0, rules);

    /* a person match in 0-12: the rule proposes the police */
    s_added a, b;
    s_add_ok(t, ZH_SCHOOL, &(s_sig){.network = ZH_NET0, .bsn = P5, .contact = C_SCHOOL}, &a);
    s_add_ok(t, ZH_POLITIE, &(s_sig){.network = ZH_NET0, .bsn = P5, .contact = C_POL}, &b);
    assert_int_equal(b.n, 1);
    assert_string_equal(b.m[0].proposed, "politie");
    assert_string_equal(b.m[0].lead, "");
    uint8_t match[ZN_ID_LEN];
    memcpy(match, b.m[0].match, ZN_ID_LEN);
    zh_inbox box;
    zh_fix_inbox(t, ZH_SCHOOL, &box);
    assert_string_equal(zh_inbox_one(&box, "match", "school")->proposed, "politie");
    zh_fix_inbox(t, ZH_COORD, &box);
    const zh_note *n = zh_inbox_one(&box, "match-review", "the coordinator");
    assert_string_equal(n->proposed, "politie");
    assert_string_equal(n->disclosure, "partners");
    zh_fix_inbox_keys(t, &noord, &box);
    assert_int_equal(box.n, 1);
    assert_memory_equal(zh_inbox_one(&box, "match-review", "the second coordinator")->match, match, ZN_ID_LEN);

    /* who may name whom */
    uint8_t nomatch[ZN_ID_LEN];
    zh_random(nomatch, sizeof nomatch);
    s_decide_expect(t, ZH_COORD, match, "ggd", ZN_E_UNKNOWN_PARTNER);       /* no signal in this match */
    s_decide_expect(t, ZH_COORD, match, "wijkracht", ZN_E_UNKNOWN_PARTNER); /* idem */
    s_decide_expect(t, ZH_SCHOOL, match, "school", ZN_E_NOT_COORDINATOR);
    s_decide_expect(t, ZH_COORD, nomatch, "school", ZN_E_UNKNOWN_MATCH);
    s_expect_empty(t, ZH_SCHOOL);
    s_expect_empty(t, ZH_POLITIE);

    /* the coordinator names the school, against the proposal */
    s_decide_expect(t, ZH_COORD, match, "school", ZN_E_OK);
    static const int told[] = {ZH_SCHOOL, ZH_POLITIE};
    for (size_t i = 0; i < 2; i++) {
        int p = told[i];
        zh_fix_inbox(t, p, &box);
        assert_int_equal(box.n, 1); /* they knew each other already: no new "match" */
        n = zh_inbox_one(&box, "match-lead", t->h->party[p].id);
        assert_memory_equal(n->match, match, ZN_ID_LEN);
        assert_string_equal(n->lead, "school");
        assert_string_equal(n->by, "coordinator");
    }
    s_added again;
    s_add_ok(t, ZH_POLITIE, &(s_sig){.network = ZH_NET0, .bsn = P5, .contact = C_POL}, &again);
    assert_int_equal(again.n, 1);
    assert_string_equal(again.m[0].lead, "school");
    assert_string_equal(again.m[0].proposed, "politie");
    zh_alog lg;
    zh_alog_read_db(t->h, &lg);
    const zh_ent *x = zh_alog_one(&lg, (zh_q){.action = "match-lead", .decision = ZN_AUDIT_ALLOWED});
    assert_string_equal(x->en.actor, "coordinator");
    assert_string_equal(x->en.counterpart, "school");
    assert_true(zh_det_str(x, "lead", "school"));
    x = zh_alog_one(&lg, (zh_q){.action = "match"});
    assert_true(zh_det_str(x, "proposed", "politie"));
    zh_alog_free(&lg);

    /* a family match (coordinators only): naming a lead connects the partners */
    s_added c, d;
    s_family(t, &c, &d);
    zh_fix_inbox(t, ZH_COORD, &box);
    memcpy(match, zh_inbox_one(&box, "match-review", "the coordinator")->match, ZN_ID_LEN);
    s_decide_expect(t, ZH_COORD, match, "politie", ZN_E_OK);
    zh_fix_inbox(t, ZH_SCHOOL, &box);
    assert_int_equal(box.n, 2);
    n = zh_inbox_one(&box, "match", "school");
    assert_string_equal(n->partner, "politie");
    assert_string_equal(n->connected_by, "coordinator");
    assert_string_equal(n->lead, "politie");
    assert_string_equal(zh_inbox_one(&box, "match-lead", "school")->lead, "politie");
    zh_fix_inbox(t, ZH_POLITIE, &box);
    assert_int_equal(box.n, 2);
    assert_string_equal(zh_inbox_one(&box, "match", "politie")->partner, "school");
    assert_string_equal(zh_inbox_one(&box, "match-lead", "politie")->lead, "politie");

    /* the other coordinators of the match's networks are told; the one who decided has its RESULT
     * (docs/PROTOCOL.md 12.5) */
    zh_fix_inbox_keys(t, &noord, &box);
    assert_int_equal(zh_inbox_count(&box, "match-lead"), 2); /* both leads named above */
    assert_int_equal(zh_inbox_count(&box, "match-review"), 1);
    n = &box.v[box.n - 1];
    assert_string_equal(n->type, "match-lead");
    assert_memory_equal(n->match, match, ZN_ID_LEN);
    assert_string_equal(n->lead, "politie");
    assert_string_equal(n->by, "coordinator");
    zh_fix_inbox(t, ZH_COORD, &box);
    assert_int_equal(zh_inbox_count(&box, "match-lead"), 0);
    zn_seckeys_wipe(&noord);
}

/* ---- 6. the convenant's disclosure rules ------------------------------------------------------ */

static void test_disclosure_rules(void **state)
{
    zh_fix *t = *state;
    const char *const rules[] = {"disclosure:" ZH_NET0 ":" ZH_NET0 ":family", "partners",
                                 "disclosure:" ZH_NET0 ":" ZH_NET1 ":person", "none", NULL};
    zh_fix_restart(t, 0, rules);

    /* family inside 0-12: now shown to the partners */
    s_added a, b;
    s_family(t, &a, &b);
    assert_int_equal(b.n, 1);
    assert_string_equal(b.m[0].partner, "school");
    assert_int_equal(b.m[0].link, ZN_LINK_FAMILY);
    zh_inbox box;
    zh_fix_inbox(t, ZH_SCHOOL, &box);
    assert_int_equal(box.n, 1);
    const zh_note *n = zh_inbox_one(&box, "match", "school");
    assert_string_equal(n->partner, "politie");
    assert_string_equal(n->link, "family");
    zh_fix_inbox(t, ZH_COORD, &box);
    assert_int_equal(box.n, 1);
    n = zh_inbox_one(&box, "match-review", "the coordinator");
    assert_string_equal(n->disclosure, "partners");
    assert_string_equal(n->link, "family");

    /* a person across 0-12 and 12-18: never matched */
    s_added c, d;
    s_add_ok(t, ZH_SCHOOL, &(s_sig){.network = ZH_NET0, .bsn = P1, .contact = C_SCHOOL}, &c);
    s_add_ok(t, ZH_GGD, &(s_sig){.network = ZH_NET1, .bsn = P1, .contact = C_GGD}, &d);
    assert_int_equal(d.n, 0);
    s_expect_empty(t, ZH_COORD);
    s_expect_empty(t, ZH_SCHOOL);
    s_expect_empty(t, ZH_GGD);

    /* ... while a family link across them keeps the default (the rule was for persons) */
    s_added e;
    s_add_ok(t, ZH_GGD, &(s_sig){.network = ZH_NET1, .bsn = P6, .related = {P4}, .contact = C_GGD}, &e);
    assert_int_equal(e.n, 0);
    zh_fix_inbox(t, ZH_COORD, &box);
    assert_int_equal(zh_inbox_count(&box, "match-review"), 2); /* school's P3 (mother P4) and politie's P4 */
    for (int i = 0; i < box.n; i++) {
        assert_string_equal(box.v[i].disclosure, "coordinators");
        assert_string_equal(box.v[i].link, "family");
        assert_string_equal(box.v[i].b_partner, "ggd");
    }
    zh_alog lg;
    zh_alog_read_db(t->h, &lg);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "match"}), 3);
    zh_alog_free(&lg);
}

/* ---- 7. refresh ------------------------------------------------------------------------------ */

static void test_refresh(void **state)
{
    zh_fix *t = *state;
    s_added a, b, r;
    s_add_ok(t, ZH_SCHOOL, &(s_sig){.network = ZH_NET0, .bsn = P1, .contact = C_SCHOOL}, &a);
    s_add_ok(t, ZH_WIJKRACHT, &(s_sig){.network = ZH_NET0, .bsn = P1, .contact = C_WIJK}, &b);
    assert_int_equal(b.n, 1);
    zh_inbox box;
    zh_fix_inbox(t, ZH_SCHOOL, &box);
    assert_int_equal(box.n, 1);
    zh_fix_inbox(t, ZH_COORD, &box);
    assert_int_equal(box.n, 1);

    s_add_ok(t, ZH_WIJKRACHT,
             &(s_sig){.network = ZH_NET0, .bsn = P1, .related = {P2}, .contact = "wijkteam noord, 010 111 2222"}, &r);
    assert_true(r.refreshed);
    assert_memory_equal(r.id, b.id, ZN_ID_LEN);
    assert_int_equal(r.n, 1);
    assert_memory_equal(r.m[0].match, b.m[0].match, ZN_ID_LEN);
    assert_string_equal(r.m[0].partner, "school");
    assert_int_equal(r.m[0].since_ms, b.m[0].since_ms);
    s_expect_empty(t, ZH_SCHOOL);
    s_expect_empty(t, ZH_COORD);

    s_list l;
    s_list_of(t, ZH_WIJKRACHT, &l);
    assert_int_equal(l.total, 1);
    const zn_signal_row *row = s_row(&l, b.id);
    assert_non_null(row);
    assert_string_equal(row->contact, "wijkteam noord, 010 111 2222");
    assert_int_equal(row->n_related, 1);
    assert_int_equal(row->matches, 1);
    assert_string_equal(row->handler, ZH_HANDLER);
    assert_string_equal(row->network, ZH_NET0);

    zh_alog lg;
    zh_alog_read_db(t->h, &lg);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "signal-add", .actor = "wijkracht"}), 1);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "signal-refresh", .actor = "wijkracht"}), 1);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "match"}), 1);
    zh_alog_free(&lg);
}

/* ---- 8. withdrawal, early withdrawal, informed ------------------------------------------------ */

static void s_informed(zh_fix *t, int party, const uint8_t id[ZN_ID_LEN], uint64_t when, zn_code want)
{
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    zn_body_signal_informed(&b, id, when);
    zh_msg m;
    zn_code c = zh_fix_call(t, party, NULL, "signal-informed", &b, &m);
    msgpack_sbuffer_destroy(&b);
    zh_fix_want(t, "signal-informed", party, c, want);
    if (c == ZN_E_OK) {
        uint8_t got[ZN_ID_LEN];
        zn_err e;
        assert_int_equal(zn_body_id_parse(m.f.u.result.body, got, &e), 0);
        assert_memory_equal(got, id, ZN_ID_LEN);
        zh_msg_free(&m);
    }
}

static void test_withdraw(void **state)
{
    zh_fix *t = *state;
    s_added a, b, w;
    s_add_ok(t, ZH_SCHOOL, &(s_sig){.network = ZH_NET0, .bsn = P1, .contact = C_SCHOOL}, &a);
    s_add_ok(t, ZH_SCHOOL, &(s_sig){.network = ZH_NET0, .bsn = P2, .contact = C_SCHOOL}, &b);
    s_add_ok(t, ZH_WIJKRACHT, &(s_sig){.network = ZH_NET0, .bsn = P1, .contact = C_WIJK}, &w);
    assert_int_equal(w.n, 1);

    /* informed: a past date is recorded, a future one refused */
    uint64_t told = zh_fix_now(t) - S_DAY_MS;
    s_informed(t, ZH_SCHOOL, a.id, told, ZN_E_OK);
    s_informed(t, ZH_SCHOOL, b.id, zh_fix_now(t) + ZN_SIGNAL_INFORMED_AHEAD_MS + 60000, ZN_E_MALFORMED);
    s_informed(t, ZH_WIJKRACHT, a.id, told, ZN_E_UNKNOWN_SIGNAL); /* not its signal */
    s_list l;
    s_list_of(t, ZH_SCHOOL, &l);
    assert_int_equal(l.total, 2);
    assert_int_equal(s_row(&l, a.id)->informed_ms, told);
    assert_false(s_row(&l, a.id)->overdue);
    assert_int_equal(s_row(&l, a.id)->matches, 1);
    assert_int_equal(s_row(&l, b.id)->informed_ms, 0);

    /* someone else's signal, or none, cannot be withdrawn */
    uint8_t none[ZN_ID_LEN];
    zh_random(none, sizeof none);
    assert_int_equal(s_withdraw(t, ZH_WIJKRACHT, a.id, NULL), ZN_E_UNKNOWN_SIGNAL);
    assert_int_equal(s_withdraw(t, ZH_SCHOOL, none, NULL), ZN_E_UNKNOWN_SIGNAL);
    assert_int_equal(s_withdraw(t, ZH_COORD, a.id, NULL), ZN_E_UNKNOWN_SIGNAL);

    /* withdrawn at once: early, a look-up */
    bool early = false;
    assert_int_equal(s_withdraw(t, ZH_SCHOOL, a.id, &early), ZN_E_OK);
    assert_true(early);
    assert_int_equal(s_withdraw(t, ZH_SCHOOL, a.id, NULL), ZN_E_UNKNOWN_SIGNAL);
    s_informed(t, ZH_SCHOOL, a.id, told, ZN_E_UNKNOWN_SIGNAL);
    s_list_of(t, ZH_SCHOOL, &l);
    assert_int_equal(l.total, 1);
    assert_null(s_row(&l, a.id));
    assert_non_null(s_row(&l, b.id));
    s_added again;
    s_add_ok(t, ZH_WIJKRACHT, &(s_sig){.network = ZH_NET0, .bsn = P1, .contact = C_WIJK}, &again);
    assert_true(again.refreshed);
    assert_int_equal(again.n, 0); /* the match went with the signal */

    uint8_t psn[ZN_PSN_LEN];
    zh_psn(t->h, P1, psn);
    zh_alog lg;
    zh_alog_read_db(t->h, &lg);
    const zh_ent *x = zh_alog_one(&lg, (zh_q){.action = "signal-withdraw", .decision = ZN_AUDIT_ALLOWED});
    assert_string_equal(x->en.actor, "school");
    assert_true(zh_is(x->en.reason, "look-up"));
    assert_true(zh_det_u64(x, "early", 1));
    assert_true(zh_det_bin(x, "signal", a.id, ZN_ID_LEN));
    assert_true(zh_det_bin(x, "subject", psn, ZN_PSN_LEN));
    assert_string_equal(x->en.evidence_kind, "request");
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "signal-withdraw", .decision = ZN_AUDIT_REFUSED,
                                               .reason = "unknown-signal"}), 4);
    x = zh_alog_one(&lg, (zh_q){.action = "signal-informed", .decision = ZN_AUDIT_ALLOWED});
    assert_true(zh_det_u64(x, "informed", told));
    zh_alog_free(&lg);

    /* eight days later (minimum lifetime: seven) a withdrawal is not early */
    zh_fix_restart(t, 8 * 86400, NULL);
    early = true;
    assert_int_equal(s_withdraw(t, ZH_SCHOOL, b.id, &early), ZN_E_OK);
    assert_false(early);
    s_list_of(t, ZH_SCHOOL, &l);
    assert_int_equal(l.total, 0);
    zh_alog_read_db(t->h, &lg);
    x = zh_alog_one(&lg, (zh_q){.action = "signal-withdraw", .decision = ZN_AUDIT_ALLOWED, .reason = ""});
    assert_true(zh_det_u64(x, "early", 0));
    assert_true(zh_det_bin(x, "signal", b.id, ZN_ID_LEN));
    zh_alog_free(&lg);
}

/* ---- 9. expiry ------------------------------------------------------------------------------- */

static void test_expiry_at_start(void **state)
{
    zh_fix *t = *state;
    s_added a, b;
    s_add_ok(t, ZH_SCHOOL, &(s_sig){.network = ZH_NET0, .bsn = P1, .until_ms = zh_fix_now(t) + 8 * S_DAY_MS}, &a);
    s_add_ok(t, ZH_SCHOOL, &(s_sig){.network = ZH_NET0, .bsn = P2, .until_ms = zh_fix_now(t) + 30 * S_DAY_MS}, &b);
    assert_true(a.expires_ms <= zh_fix_now(t) + 8 * S_DAY_MS);
    s_list l;
    s_list_of(t, ZH_SCHOOL, &l);
    assert_int_equal(l.total, 2);

    /* nine days later */
    zh_fix_drop_conns(t);
    assert_int_equal(zh_broker_stop(t->h, SIGTERM, 10000), 0);
    size_t mark = zh_log_size(t->h);
    zh_fix_restart(t, 9 * 86400, NULL);
    if (zh_log_wait(t->h, mark, "signals-expired count=1", NULL, 1, 10000) != 0) {
        zh_log_dump(t->h);
        fail_msg("the broker did not log the expiry of one signal at start");
    }
    s_list_of(t, ZH_SCHOOL, &l);
    assert_int_equal(l.total, 1);
    assert_non_null(s_row(&l, b.id));
    assert_int_equal(s_withdraw(t, ZH_SCHOOL, a.id, NULL), ZN_E_UNKNOWN_SIGNAL);

    uint8_t psn[ZN_PSN_LEN];
    zh_psn(t->h, P1, psn);
    zh_alog lg;
    zh_alog_read_db(t->h, &lg);
    const zh_ent *x = zh_alog_one(&lg, (zh_q){.action = "signal-expire"});
    assert_null(x->en.actor);
    assert_true(zh_is(x->en.counterpart, "school"));
    assert_true(zh_det_bin(x, "signal", a.id, ZN_ID_LEN));
    assert_true(zh_det_bin(x, "subject", psn, ZN_PSN_LEN));
    assert_true(x->en.time_ms > zh_now_ms() + 8 * S_DAY_MS); /* by the broker's clock */
    zh_alog_free(&lg);
}

static void test_expiry_while_running(void **state)
{
    zh_fix *t = *state;
    const char *const rules[] = {"signal_min_lifetime_d", "0", NULL};
    zh_fix_restart(t, 0, rules);
    size_t mark = zh_log_size(t->h);
    pid_t pid = t->h->pid;
    s_added a;
    uint64_t until = zh_fix_now(t) + 2000;
    s_add_ok(t, ZH_SCHOOL, &(s_sig){.network = ZH_NET0, .bsn = P1, .until_ms = until}, &a);
    assert_int_equal(a.expires_ms, until);
    s_list l;
    s_list_of(t, ZH_SCHOOL, &l);
    assert_int_equal(l.total, 1);

    uint64_t end = zh_now_ms() + 20000;
    do {
        zh_sleep_ms(250);
        s_list_of(t, ZH_SCHOOL, &l);
    } while (l.total != 0 && zh_now_ms() < end);
    assert_int_equal(l.total, 0);
    /* and the broker deleted it by itself, within its expiry period */
    if (zh_log_wait(t->h, mark, "signals-expired count=1", NULL, 1, (int)(3 * ZN_SIGNALS_EXPIRE_EVERY_MS)) != 0) {
        zh_log_dump(t->h);
        fail_msg("the running broker did not expire the signal");
    }
    assert_int_equal(t->h->pid, pid);
    assert_true(zh_broker_alive(t->h));
    zh_alog lg;
    zh_alog_read_db(t->h, &lg);
    const zh_ent *x = zh_alog_one(&lg, (zh_q){.action = "signal-expire"});
    assert_true(zh_det_bin(x, "signal", a.id, ZN_ID_LEN));
    assert_true(x->en.time_ms >= until);
    zh_alog_free(&lg);
}

/* ---- 10. rate limits ------------------------------------------------------------------------- */

static void s_expect_enumeration(zh_fix *t, int party, const char *limit, const char *handler, uint64_t count)
{
    zh_inbox box;
    zh_fix_inbox(t, party, &box);
    const zh_note *n = zh_inbox_one(&box, "enumeration-suspected", t->h->party[party].id);
    assert_int_equal(box.n, 1);
    assert_string_equal(n->partner, "school");
    assert_string_equal(n->network, ZH_NET0);
    assert_string_equal(n->limit, limit);
    assert_string_equal(n->handler, handler);
    assert_int_equal(n->count, count);
}

static void test_rate_limit_partner(void **state)
{
    zh_fix *t = *state;
    const char *const rules[] = {"signal_rate_day", "3", NULL};
    zh_fix_restart(t, 0, rules);
    const char *bsn[] = {P1, P2, P3};
    s_added a[3];
    for (int i = 0; i < 3; i++)
        s_add_ok(t, ZH_SCHOOL, &(s_sig){.network = ZH_NET0, .bsn = bsn[i]}, &a[i]);
    s_add_refused(t, ZH_SCHOOL, &(s_sig){.network = ZH_NET0, .bsn = P4}, ZN_E_RATE_LIMITED);
    /* a refresh is no new signal */
    s_added r;
    s_add_ok(t, ZH_SCHOOL, &(s_sig){.network = ZH_NET0, .bsn = P1, .contact = C_SCHOOL}, &r);
    assert_true(r.refreshed);
    assert_memory_equal(r.id, a[0].id, ZN_ID_LEN);
    /* refused again: no second report within the hour */
    s_add_refused(t, ZH_SCHOOL, &(s_sig){.network = ZH_NET0, .bsn = P5}, ZN_E_RATE_LIMITED);
    s_expect_enumeration(t, ZH_COORD, "partner-day", ZH_HANDLER, 3);
    s_expect_enumeration(t, ZH_AUDITOR, "partner-day", ZH_HANDLER, 3);
    s_expect_empty(t, ZH_SCHOOL);
    s_expect_empty(t, ZH_WIJKRACHT);
    /* other partners are not limited by the school's count */
    s_added w;
    s_add_ok(t, ZH_WIJKRACHT, &(s_sig){.network = ZH_NET0, .bsn = P4}, &w);
    s_list l;
    s_list_of(t, ZH_SCHOOL, &l);
    assert_int_equal(l.total, 3);

    zh_alog lg;
    zh_alog_read_db(t->h, &lg);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "signal-add", .actor = "school", .decision = ZN_AUDIT_REFUSED,
                                               .reason = "rate-limited"}), 2);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "enumeration-reported"}), 2);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "enumeration-reported", .counterpart = "coordinator"}), 1);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "enumeration-reported", .counterpart = "auditor"}), 1);
    zh_alog_free(&lg);
}

static void test_rate_limit_handler(void **state)
{
    zh_fix *t = *state;
    const char *const rules[] = {"signal_rate_handler_day", "2", NULL};
    zh_fix_restart(t, 0, rules);
    const char *ann = "A. Jansen (intern begeleider)", *bob = "B. de Boer (zorgcoordinator)";
    s_added a;
    s_add_ok(t, ZH_SCHOOL, &(s_sig){.network = ZH_NET0, .bsn = P1, .handler = ann}, &a);
    s_add_ok(t, ZH_SCHOOL, &(s_sig){.network = ZH_NET0, .bsn = P2, .handler = ann}, &a);
    s_add_refused(t, ZH_SCHOOL, &(s_sig){.network = ZH_NET0, .bsn = P3, .handler = ann}, ZN_E_RATE_LIMITED);
    /* another handler of the same school is not limited by Ann's count */
    s_add_ok(t, ZH_SCHOOL, &(s_sig){.network = ZH_NET0, .bsn = P3, .handler = bob}, &a);
    s_add_ok(t, ZH_SCHOOL, &(s_sig){.network = ZH_NET0, .bsn = P4, .handler = bob}, &a);
    s_add_refused(t, ZH_SCHOOL, &(s_sig){.network = ZH_NET0, .bsn = P5, .handler = bob}, ZN_E_RATE_LIMITED);
    /* one report per partner and hour: Ann's */
    s_expect_enumeration(t, ZH_COORD, "handler-day", ann, 2);
    s_expect_enumeration(t, ZH_AUDITOR, "handler-day", ann, 2);
}

static void test_rate_limit_counts_early_withdrawals(void **state)
{
    zh_fix *t = *state;
    const char *const rules[] = {"signal_rate_day", "3", NULL};
    zh_fix_restart(t, 0, rules);
    s_added a, b;
    bool early = false;
    s_add_ok(t, ZH_SCHOOL, &(s_sig){.network = ZH_NET0, .bsn = P1}, &a); /* 1 */
    assert_int_equal(s_withdraw(t, ZH_SCHOOL, a.id, &early), ZN_E_OK); /* 2: a look-up */
    assert_true(early);
    s_add_ok(t, ZH_SCHOOL, &(s_sig){.network = ZH_NET0, .bsn = P2}, &b); /* 3 */
    s_add_refused(t, ZH_SCHOOL, &(s_sig){.network = ZH_NET0, .bsn = P3}, ZN_E_RATE_LIMITED);
    s_expect_enumeration(t, ZH_COORD, "partner-day", ZH_HANDLER, 3);
    s_list l;
    s_list_of(t, ZH_SCHOOL, &l);
    assert_int_equal(l.total, 1);
}

/* ---- 11. no bare look-up --------------------------------------------------------------------- */

static void test_bare_lookup_refused(void **state)
{
    zh_fix *t = *state;
    uint8_t psn[ZN_PSN_LEN];
    zh_psn(t->h, P1, psn);
    msgpack_sbuffer b;
    msgpack_sbuffer_init(&b);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 2);
    zn_pack_str(&pk, ZH_NET0);
    zn_pack_bin(&pk, psn, ZN_PSN_LEN);
    s_expect(t, ZH_SCHOOL, "lookup", &b, ZN_E_NO_LOOKUP);
    msgpack_sbuffer_destroy(&b);

    /* a signal that would not stand the minimum lifetime is a look-up too */
    s_add_refused(t, ZH_SCHOOL, &(s_sig){.network = ZH_NET0, .bsn = P1, .until_ms = zh_fix_now(t) + S_DAY_MS},
                  ZN_E_NO_LOOKUP);
    s_add_refused(t, ZH_SCHOOL, &(s_sig){.network = ZH_NET0, .bsn = P1, .until_ms = zh_fix_now(t) - 1000},
                  ZN_E_NO_LOOKUP);
    s_list l;
    s_list_of(t, ZH_SCHOOL, &l);
    assert_int_equal(l.total, 0);
    /* and it left nothing to match against */
    s_added w;
    s_add_ok(t, ZH_WIJKRACHT, &(s_sig){.network = ZH_NET0, .bsn = P1}, &w);
    assert_int_equal(w.n, 0);
    s_expect_empty(t, ZH_COORD);

    zh_alog lg;
    zh_alog_read_db(t->h, &lg);
    const zh_ent *x = zh_alog_one(&lg, (zh_q){.action = "lookup"});
    assert_string_equal(x->en.actor, "school");
    assert_int_equal(x->en.decision, ZN_AUDIT_REFUSED);
    assert_true(zh_is(x->en.reason, "no-lookup"));
    assert_true(zh_is(x->en.evidence_kind, "request"));
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "signal-add", .actor = "school", .decision = ZN_AUDIT_REFUSED,
                                               .reason = "no-lookup"}), 2);
    zh_alog_free(&lg);
}

/* ---- 12. networks, roles, and the coordinators' missing network key --------------------------- */

static void test_networks_and_roles(void **state)
{
    zh_fix *t = *state;
    s_add_refused(t, ZH_SCHOOL, &(s_sig){.network = "18plus", .bsn = P1}, ZN_E_UNKNOWN_NETWORK);
    s_add_refused(t, ZH_SCHOOL, &(s_sig){.network = ZH_NET1, .bsn = P1}, ZN_E_NOT_PARTNER);
    s_add_refused(t, ZH_GGD, &(s_sig){.network = ZH_NET0, .bsn = P1}, ZN_E_NOT_PARTNER);
    s_add_refused(t, ZH_COORD, &(s_sig){.network = ZH_NET0, .bsn = P1}, ZN_E_NOT_PARTNER);
    s_add_refused(t, ZH_COORD, &(s_sig){.network = ZH_NET1, .bsn = P1}, ZN_E_NOT_PARTNER);
    s_add_refused(t, ZH_AUDITOR, &(s_sig){.network = ZH_NET0, .bsn = P1}, ZN_E_NOT_PARTNER);
    zh_alog lg;
    zh_alog_read_db(t->h, &lg);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "signal-add", .decision = ZN_AUDIT_ALLOWED}), 0);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "signal-add", .actor = "coordinator",
                                               .decision = ZN_AUDIT_REFUSED, .reason = "role-not-allowed"}), 2);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "signal-add", .actor = "school", .decision = ZN_AUDIT_REFUSED,
                                               .reason = "unknown-network"}), 1);
    zh_alog_free(&lg);

    /* the convenant the broker serves seals the network key to partners and the auditor only */
    void *c = zh_fix_conn(t, ZH_COORD);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    uint32_t corr = t->corr++;
    zn_frame_convenant_get(&sb, corr);
    zh_msg m;
    assert_int_equal(zh_call(c, &sb, &m, ZH_TIMEOUT), 0);
    msgpack_sbuffer_destroy(&sb);
    assert_true(m.parsed && m.f.type == ZN_T_CONVENANT && m.f.corr == corr);
    zn_convenant *conv = NULL;
    zn_err e;
    zn_err_clear(&e);
    assert_int_equal(zn_convenant_decode(m.f.u.convenant.raw, m.f.u.convenant.len, &conv, &e), 0);
    zh_msg_free(&m);
    for (int i = 0; i < ZH_NPARTY; i++) {
        const zn_partner *p = zn_convenant_partner(conv, t->h->party[i].id);
        assert_non_null(p);
        zn_netkey k;
        zn_err_clear(&e);
        int rc = zn_convenant_open_netkey(conv, &t->h->party[i].keys, p->id, &k, &e);
        if (i == ZH_COORD) {
            assert_false(p->has_netkey);
            assert_int_not_equal(rc, 0);
        } else {
            assert_true(p->has_netkey);
            assert_int_equal(rc, 0);
            assert_int_equal(k.epoch, t->h->netkey.epoch);
            assert_memory_equal(k.key, t->h->netkey.key, ZN_KEY_LEN);
        }
        sodium_memzero(&k, sizeof k);
    }
    /* sealing again (as zorgnet-keys does) still leaves the coordinator out */
    assert_int_equal(zn_convenant_seal_netkey(conv, &t->h->netkey, &e), 0);
    assert_false(zn_convenant_partner(conv, "coordinator")->has_netkey);
    assert_true(zn_convenant_partner(conv, "auditor")->has_netkey);
    zn_convenant_destroy(&conv);
}

/* ---- 13. notices survive a crash ------------------------------------------------------------- */

static void test_offline_notice_survives_kill(void **state)
{
    zh_fix *t = *state;
    s_added a, b;
    s_add_ok(t, ZH_SCHOOL, &(s_sig){.network = ZH_NET0, .bsn = P1, .contact = C_SCHOOL}, &a);
    s_add_ok(t, ZH_WIJKRACHT, &(s_sig){.network = ZH_NET0, .bsn = P1, .contact = C_WIJK}, &b); /* school offline */
    assert_int_equal(b.n, 1);

    zh_fix_drop_conns(t);
    assert_int_equal(zh_broker_stop(t->h, SIGKILL, 10000), 128 + SIGKILL);
    zh_fix_restart(t, 0, NULL);

    /* pushed, not acknowledged, and the broker killed again: still there */
    void *s = zh_connect_party(t->h, ZH_SCHOOL);
    assert_non_null(s);
    assert_int_equal(zh_hello(s, t->corr++, t->h->version, ZH_WINDOW), 0);
    zh_msg m;
    assert_int_equal(zh_wait_type(s, ZN_T_DELIVER, ZH_TIMEOUT, &m, NULL), 0);
    assert_int_equal(m.f.u.deliver.kind, ZN_ITEM_NOTICE);
    assert_string_equal(m.f.u.deliver.notice.type, "match");
    zh_msg_free(&m);
    zh_close(t->h, &s);
    zh_fix_drop_conns(t);
    assert_int_equal(zh_broker_stop(t->h, SIGKILL, 10000), 128 + SIGKILL);
    zh_fix_restart(t, 0, NULL);

    zh_inbox box;
    zh_fix_inbox(t, ZH_SCHOOL, &box);
    assert_int_equal(box.n, 1);
    const zh_note *n = zh_inbox_one(&box, "match", "school");
    assert_memory_equal(n->match, b.m[0].match, ZN_ID_LEN);
    assert_memory_equal(n->signal, a.id, ZN_ID_LEN);
    assert_string_equal(n->partner, "wijkracht");
    zh_fix_inbox(t, ZH_COORD, &box);
    assert_int_equal(box.n, 1);
    assert_memory_equal(zh_inbox_one(&box, "match-review", "the coordinator")->match, b.m[0].match, ZN_ID_LEN);
    /* acknowledged: not again */
    s_expect_empty(t, ZH_SCHOOL);
    s_expect_empty(t, ZH_COORD);
}

/* ---- 14. no BSN in the broker's files ---------------------------------------------------------- */

/* One encoding of a BSN: n bytes, the last compared under mask (a filler nibble may vary). */
typedef struct {
    const char *what;
    uint8_t b[16];
    size_t n;
    uint8_t mask;
} s_enc;

#define S_ENC_MAX 12

/* Every encoding a client could have sent the BSN in. */
static size_t s_encodings(const char *bsn, s_enc out[S_ENC_MAX])
{
    assert_int_equal(strlen(bsn), 9);
    uint64_t v = strtoull(bsn, NULL, 10);
    uint8_t d[9];
    for (int i = 0; i < 9; i++)
        d[i] = (uint8_t)(bsn[i] - '0');
    size_t n = 0;
    s_enc *x = &out[n++];
    *x = (s_enc){.what = "ASCII digits", .n = 9, .mask = 0xff};
    memcpy(x->b, bsn, 9);
    x = &out[n++];
    *x = (s_enc){.what = "u32 little-endian", .n = 4, .mask = 0xff};
    for (int i = 0; i < 4; i++)
        x->b[i] = (uint8_t)(v >> (8 * i));
    x = &out[n++];
    *x = (s_enc){.what = "u32 big-endian", .n = 4, .mask = 0xff};
    for (int i = 0; i < 4; i++)
        x->b[i] = (uint8_t)(v >> (8 * (3 - i)));
    x = &out[n++];
    *x = (s_enc){.what = "u64 little-endian", .n = 8, .mask = 0xff};
    for (int i = 0; i < 8; i++)
        x->b[i] = (uint8_t)(v >> (8 * i));
    x = &out[n++];
    *x = (s_enc){.what = "u64 big-endian", .n = 8, .mask = 0xff};
    for (int i = 0; i < 8; i++)
        x->b[i] = (uint8_t)(v >> (8 * (7 - i)));
    /* packed BCD, a leading zero nibble: 09 99 99 00 07 */
    x = &out[n++];
    *x = (s_enc){.what = "packed BCD (leading 0 nibble)", .n = 5, .mask = 0xff};
    x->b[0] = d[0];
    for (int i = 0; i < 4; i++)
        x->b[1 + i] = (uint8_t)(d[1 + 2 * i] << 4 | d[2 + 2 * i]);
    /* packed BCD from the first nibble, a filler (or sign) nibble last: 99 99 90 00 7? */
    x = &out[n++];
    *x = (s_enc){.what = "packed BCD (trailing filler nibble)", .n = 5, .mask = 0xf0};
    for (int i = 0; i < 4; i++)
        x->b[i] = (uint8_t)(d[2 * i] << 4 | d[2 * i + 1]);
    x->b[4] = (uint8_t)(d[8] << 4 | 0xf);
    /* the same two with the nibbles of each byte swapped (low digit first) */
    x = &out[n++];
    *x = (s_enc){.what = "packed BCD, nibbles swapped (leading 0)", .n = 5, .mask = 0xff};
    for (int i = 0; i < 5; i++)
        x->b[i] = (uint8_t)(out[5].b[i] << 4 | out[5].b[i] >> 4);
    x = &out[n++];
    *x = (s_enc){.what = "packed BCD, nibbles swapped (trailing filler)", .n = 5, .mask = 0x0f};
    for (int i = 0; i < 5; i++)
        x->b[i] = (uint8_t)(out[6].b[i] << 4 | out[6].b[i] >> 4);
    return n;
}

/* The first place in buf where encoding x occurs, or -1. */
static long s_scan_enc(const uint8_t *buf, size_t len, const s_enc *x)
{
    for (size_t i = 0; i + x->n <= len; i++)
        if (buf[i] == x->b[0] && memcmp(buf + i, x->b, x->n - 1) == 0 &&
            (buf[i + x->n - 1] & x->mask) == (x->b[x->n - 1] & x->mask))
            return (long)i;
    return -1;
}

/* The first encoding of bsn found in buf: its offset, or -1; *what names it. */
static long s_scan(const uint8_t *buf, size_t len, const char *bsn, const char **what)
{
    s_enc enc[S_ENC_MAX];
    size_t ne = s_encodings(bsn, enc);
    for (size_t k = 0; k < ne; k++) {
        long at = s_scan_enc(buf, len, &enc[k]);
        if (at >= 0) {
            if (what)
                *what = enc[k].what;
            return at;
        }
    }
    return -1;
}

static const char *const s_bsns[] = {P1, P2, P3, P4};

/* Scan one file (absent is fine unless `must`) for every BSN; returns the hits, each printed. */
static int s_scan_file(const char *path, bool must, size_t *scanned)
{
    size_t len;
    uint8_t *buf = zh_slurp(path, &len);
    if (!buf) {
        if (must)
            fail_msg("%s cannot be read", path);
        return 0;
    }
    int hits = 0;
    for (size_t i = 0; i < sizeof s_bsns / sizeof s_bsns[0]; i++) {
        const char *what = NULL;
        long at = s_scan(buf, len, s_bsns[i], &what);
        if (at >= 0) {
            print_message("BSN %s found in %s at byte %ld as %s\n", s_bsns[i], path, at, what);
            hits++;
        }
    }
    *scanned += len;
    free(buf);
    return hits;
}

/* database, -wal, -shm and the log */
static int s_scan_broker_files(zh_env *h, size_t *scanned)
{
    char wal[ZH_PATH_MAX + 8], shm[ZH_PATH_MAX + 8];
    snprintf(wal, sizeof wal, "%s-wal", h->db_path);
    snprintf(shm, sizeof shm, "%s-shm", h->db_path);
    return s_scan_file(h->db_path, true, scanned) + s_scan_file(wal, false, scanned) +
           s_scan_file(shm, false, scanned) + s_scan_file(h->log_path, true, scanned);
}

static bool s_file_has(const char *path, const uint8_t *p, size_t n)
{
    size_t len;
    uint8_t *buf = zh_slurp(path, &len);
    bool found = false;
    for (size_t i = 0; buf && !found && i + n <= len; i++)
        found = memcmp(buf + i, p, n) == 0;
    free(buf);
    return found;
}

/* The scan finds what it looks for: every encoding of every BSN, written into a file. */
static void test_bsn_scan_detects(void **state)
{
    zh_fix *t = *state;
    char path[ZH_PATH_MAX];
    assert_int_equal(zh_path(t->h, path, "planted.bin"), 0);
    for (size_t i = 0; i < sizeof s_bsns / sizeof s_bsns[0]; i++) {
        s_enc enc[S_ENC_MAX];
        size_t ne = s_encodings(s_bsns[i], enc);
        assert_int_equal(ne, 9);
        for (size_t k = 0; k < ne; k++) {
            uint8_t buf[4096];
            memset(buf, 0x5a, sizeof buf);
            size_t at = 1000 + 37 * k;
            memcpy(buf + at, enc[k].b, enc[k].n);
            if (enc[k].mask != 0xff) /* another filler nibble is still found */
                buf[at + enc[k].n - 1] ^= (uint8_t)(~enc[k].mask & 0x55);
            FILE *fp = fopen(path, "wb");
            assert_non_null(fp);
            assert_int_equal(fwrite(buf, 1, sizeof buf, fp), sizeof buf);
            assert_int_equal(fclose(fp), 0);
            size_t len;
            uint8_t *back = zh_slurp(path, &len);
            const char *what = NULL;
            long found = s_scan_enc(back, len, &enc[k]), any = s_scan(back, len, s_bsns[i], &what);
            free(back);
            if (found != (long)at || any < 0)
                fail_msg("BSN %s planted as %s at %zu: the scan reported %ld (%s)", s_bsns[i], enc[k].what, at, found,
                         any < 0 ? "and nothing in all" : what);
        }
        /* and the file scan reports it */
        uint8_t buf[4096];
        memset(buf, 0x5a, sizeof buf);
        memcpy(buf + 2000, enc[6].b, enc[6].n);
        FILE *fp = fopen(path, "wb");
        assert_non_null(fp);
        assert_int_equal(fwrite(buf, 1, sizeof buf, fp), sizeof buf);
        assert_int_equal(fclose(fp), 0);
        size_t scanned = 0;
        assert_int_equal(s_scan_file(path, true, &scanned), 1);
        assert_int_equal(scanned, sizeof buf);
    }
    /* the known encodings, spelled out */
    s_enc enc[S_ENC_MAX];
    s_encodings(P1, enc);
    static const uint8_t bcd0[] = {0x09, 0x99, 0x99, 0x00, 0x07}, bcdf[] = {0x99, 0x99, 0x90, 0x00, 0x7f},
                         le32[] = {0xf7, 0xa2, 0x9a, 0x3b};
    assert_memory_equal(enc[5].b, bcd0, 5);
    assert_memory_equal(enc[6].b, bcdf, 5);
    assert_memory_equal(enc[1].b, le32, 4); /* 999990007 = 0x3b9aa2f7 */
    /* a file of other bytes holds none */
    uint8_t clean[4096];
    memset(clean, 0x5a, sizeof clean);
    assert_int_equal(s_scan(clean, sizeof clean, P1, NULL), -1);
}

static void test_no_bsn_on_disk(void **state)
{
    zh_fix *t = *state;
    s_added a, b, c, d, e;
    bool early;
    /* every BSN as a person and as a related person, in both networks, with matches of every kind */
    s_add_ok(t, ZH_SCHOOL, &(s_sig){.network = ZH_NET0, .bsn = P1, .related = {P2, P3}, .contact = C_SCHOOL}, &a);
    s_add_ok(t, ZH_POLITIE, &(s_sig){.network = ZH_NET0, .bsn = P3, .related = {P4}, .contact = C_POL}, &b);
    s_add_ok(t, ZH_GGD, &(s_sig){.network = ZH_NET1, .bsn = P4, .related = {P1}, .contact = C_GGD}, &c);
    s_add_ok(t, ZH_WIJKRACHT, &(s_sig){.network = ZH_NET0, .bsn = P1, .related = {P4}, .contact = C_WIJK}, &d);
    s_add_ok(t, ZH_WIJKRACHT, &(s_sig){.network = ZH_NET1, .bsn = P2, .related = {P1, P3, P4}, .contact = C_WIJK}, &e);
    assert_int_equal(d.n, 1); /* the person match with the school */
    s_add_ok(t, ZH_SCHOOL, &(s_sig){.network = ZH_NET0, .bsn = P1, .related = {P2, P3, P4}, .contact = C_SCHOOL}, &a);
    assert_true(a.refreshed);
    s_informed(t, ZH_SCHOOL, a.id, zh_fix_now(t) - 3 * S_DAY_MS, ZN_E_OK);
    zh_inbox box;
    zh_fix_inbox(t, ZH_COORD, &box);
    assert_true(box.n >= 4);
    for (int i = 0; i < box.n; i++)
        if (strcmp(box.v[i].disclosure, "coordinators") == 0)
            assert_int_equal(s_decide(t, ZH_COORD, box.v[i].match, i % 2 ? box.v[i].a_partner : NULL), ZN_E_OK);
    zh_fix_inbox(t, ZH_SCHOOL, &box);
    assert_true(box.n >= 1);
    s_list l;
    s_list_of(t, ZH_SCHOOL, &l);
    assert_int_equal(l.total, 1);
    /* refused ones too: a look-up, a short signal, a rate limit is not needed here */
    uint8_t psn[ZN_PSN_LEN];
    zh_psn(t->h, P2, psn);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 1);
    zn_pack_bin(&pk, psn, ZN_PSN_LEN);
    s_expect(t, ZH_GGD, "lookup", &sb, ZN_E_NO_LOOKUP);
    msgpack_sbuffer_destroy(&sb);
    s_add_refused(t, ZH_GGD, &(s_sig){.network = ZH_NET1, .bsn = P3, .until_ms = zh_fix_now(t) + S_DAY_MS},
                  ZN_E_NO_LOOKUP);
    assert_int_equal(s_withdraw(t, ZH_WIJKRACHT, e.id, &early), ZN_E_OK);
    assert_true(early);

    /* killed: the WAL holds the recent pages as written */
    zh_fix_drop_conns(t);
    assert_int_equal(zh_broker_stop(t->h, SIGKILL, 10000), 128 + SIGKILL);
    uint8_t p1[ZN_PSN_LEN];
    zh_psn(t->h, P1, p1);
    char wal[ZH_PATH_MAX + 8];
    snprintf(wal, sizeof wal, "%s-wal", t->h->db_path);
    /* the files scanned are the store of these signals: the pseudonym is there */
    assert_true(s_file_has(t->h->db_path, p1, ZN_PSN_LEN) || s_file_has(wal, p1, ZN_PSN_LEN));
    size_t scanned = 0;
    int hits = s_scan_broker_files(t->h, &scanned);
    print_message("after kill -9: %zu bytes scanned (database, wal, shm, log)\n", scanned);
    assert_int_equal(hits, 0);

    /* started again (recovery, expiry, checkpoints) and stopped cleanly */
    zh_fix_restart(t, 0, NULL);
    s_list_of(t, ZH_SCHOOL, &l);
    assert_int_equal(l.total, 1);
    zh_fix_drop_conns(t);
    assert_int_equal(zh_broker_stop(t->h, SIGTERM, 10000), 0);
    scanned = 0;
    hits = s_scan_broker_files(t->h, &scanned);
    print_message("after a clean stop: %zu bytes scanned\n", scanned);
    assert_true(s_file_has(t->h->db_path, p1, ZN_PSN_LEN) || s_file_has(wal, p1, ZN_PSN_LEN));
    assert_int_equal(hits, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_person_match_in_network, s_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_own_signals_never_match, s_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_family_match_coordinators_only, s_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_cross_network_coordinators_only, s_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_left_partner_not_matched, s_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_list_counts_known_matches, s_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_refresh_with_new_person_counts, s_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_refresh_ends_stale_match, s_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_narrowed_rule_hides_match, s_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_connect, s_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_lead, s_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_disclosure_rules, s_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_refresh, s_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_withdraw, s_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_expiry_at_start, s_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_expiry_while_running, s_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_rate_limit_partner, s_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_rate_limit_handler, s_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_rate_limit_counts_early_withdrawals, s_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_bare_lookup_refused, s_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_networks_and_roles, s_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_offline_notice_survives_kill, s_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_bsn_scan_detects, s_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_no_bsn_on_disk, s_setup, zh_fix_teardown),
    };
    const char *only = getenv("ZH_FILTER"); /* e.g. ZH_FILTER='test_lead' */
    if (only && *only)
        cmocka_set_test_filter(only);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
