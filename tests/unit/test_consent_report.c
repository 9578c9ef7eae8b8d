/* test_consent_report — the auditors' consent report of a case and the safety overrides of a
 * log, worked out from hand-built audit entries: consent granted and withdrawn with sends
 * before and after, a send relying on a record no longer in force, expiry, scope and the
 * partner that recorded the consent (covered only while it holds the case, not a later
 * regisseur), safety overrides (either direction, rejected, expired, unknown), anonymous sends,
 * refusals, drops and their cause, handovers, an empty case, caps; handover declines in the
 * report of a log (the reason opened, not sealed to the reader, a request that disagrees, caps);
 * and the sealed texts opened from real signed requests (purpose, justification, note, reason;
 * not sealed to the reader; a request that disagrees with its entry). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "zn_case.h"
#include "zn_consent_report.h"
#include "zn_request.h"
#include "zn_sealed.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1767225600000ull /* 2026-01-01T00:00:00Z */
#define HOUR 3600000ull
#define DAY (24 * HOUR)

static const uint8_t CASE[16] = {0xca, 0x5e, 1};
static uint8_t ITEM[16][16];
static uint8_t OVR[4][16];
static uint8_t HO[2][16];

/* ------------------------------------------------------------------ building entries */

typedef struct {
    zn_audit_entry en;
    zn_audit_detail det[ZN_AUDIT_DETAILS_MAX];
} s_ev;

static int s_key_cmp(const void *a, const void *b)
{
    const zn_audit_detail *x = a, *y = b;
    return strcmp(x->key, y->key);
}

static uint64_t s_index;

/* An allowed entry of `action` at T0 + at, with the next index. */
static s_ev *s_new(s_ev *ev, const char *action, const char *actor, const char *counterpart, uint64_t at)
{
    memset(ev, 0, sizeof *ev);
    ev->en = (zn_audit_entry){.index = s_index++, .time_ms = T0 + at, .actor = actor,
                              .handler = actor ? "J. de Vries" : NULL, .action = action, .case_id = CASE,
                              .counterpart = counterpart, .decision = ZN_AUDIT_ALLOWED, .details = ev->det};
    return ev;
}

static void s_u(s_ev *ev, const char *key, uint64_t v)
{
    ev->det[ev->en.n_details++] = (zn_audit_detail){.key = key, .type = ZN_AUDIT_U64, .u64 = v};
}

static void s_s(s_ev *ev, const char *key, const char *v)
{
    ev->det[ev->en.n_details++] =
        (zn_audit_detail){.key = key, .type = ZN_AUDIT_STR, .p = (const uint8_t *)v, .len = strlen(v)};
}

static void s_b(s_ev *ev, const char *key, const uint8_t *p, size_t n)
{
    ev->det[ev->en.n_details++] = (zn_audit_detail){.key = key, .type = ZN_AUDIT_BIN, .p = p, .len = n};
}

static void s_done(s_ev *ev)
{
    qsort(ev->det, ev->en.n_details, sizeof ev->det[0], s_key_cmp);
}

static void s_feed(zn_crep *r, s_ev *ev)
{
    s_done(ev);
    assert_int_equal(zn_crep_feed(r, &ev->en, NULL), 0);
}

static const uint8_t PSN[33] = {1, 2, 3};

static void s_case_new(zn_crep *r, const char *who, bool identified, uint64_t at)
{
    s_ev ev;
    s_new(&ev, "case-new", who, NULL, at);
    s_s(&ev, "network", "0-12-binnenstad");
    if (identified)
        s_b(&ev, "subject", PSN, sizeof PSN);
    s_feed(r, &ev);
}

/* consent-set; empty strings are left out (details hold no empty text). */
static void s_consent(zn_crep *r, const char *who, uint64_t seq, const char *state, const char *scope, uint64_t until,
                      uint64_t at)
{
    s_ev ev;
    s_new(&ev, "consent-set", who, NULL, at);
    s_u(&ev, "seq", seq);
    s_s(&ev, "state", state);
    if (*scope)
        s_s(&ev, "scope", scope);
    if (strcmp(state, "granted") == 0) {
        s_s(&ev, "given_by", "parent");
        s_s(&ev, "age_band", "0-11");
    }
    s_u(&ev, "until", until);
    s_feed(r, &ev);
}

/* A send with basis (NULL: none); consent > 0 names that record, ovr an override. */
static void s_send(zn_crep *r, const char *from, const char *to, const char *basis, uint64_t consent,
                   const uint8_t *ovr, unsigned item, uint64_t at)
{
    s_ev ev;
    s_new(&ev, "send", from, to, at);
    ev.en.basis = basis;
    s_b(&ev, "item", ITEM[item], 16);
    if (consent)
        s_u(&ev, "consent", consent);
    if (ovr)
        s_b(&ev, "override", ovr, 16);
    s_feed(r, &ev);
}

static void s_refused(zn_crep *r, const char *action, const char *from, const char *to, const char *reason, uint64_t at)
{
    s_ev ev;
    s_new(&ev, action, from, to, at);
    ev.en.decision = ZN_AUDIT_REFUSED;
    ev.en.reason = reason;
    s_feed(r, &ev);
}

static void s_drop(zn_crep *r, const char *to, const char *sender, const char *reason, unsigned item, uint64_t at)
{
    s_ev ev;
    s_new(&ev, "drop", NULL, to, at);
    ev.en.reason = reason;
    s_b(&ev, "item", ITEM[item], 16);
    s_b(&ev, "msgid", ITEM[item], 16);
    s_s(&ev, "sender", sender);
    s_feed(r, &ev);
}

static void s_override_new(zn_crep *r, unsigned k, const char *from, const char *to, uint64_t expires_at, uint64_t at)
{
    s_ev ev;
    s_new(&ev, "override-new", from, to, at);
    ev.en.basis = "safety-override";
    s_b(&ev, "override", OVR[k], 16);
    s_u(&ev, "step", 2);
    s_u(&ev, "expires", T0 + expires_at);
    s_u(&ev, "review_by", T0 + at + 3 * DAY);
    s_feed(r, &ev);
}

static void s_override_review(zn_crep *r, unsigned k, const char *author, const char *state, uint64_t at)
{
    s_ev ev;
    s_new(&ev, "override-review", "coordinator", author, at);
    s_b(&ev, "override", OVR[k], 16);
    s_s(&ev, "state", state);
    s_feed(r, &ev);
}

static void s_override_expire(zn_crep *r, unsigned k, const char *to, uint64_t at)
{
    s_ev ev;
    s_new(&ev, "override-expire", NULL, to, at);
    s_b(&ev, "override", OVR[k], 16);
    s_s(&ev, "author", "school");
    s_feed(r, &ev);
}

static void s_setup_ids(void)
{
    for (unsigned i = 0; i < 16; i++)
        memset(ITEM[i], 0x10 + (int)i, 16);
    for (unsigned i = 0; i < 4; i++)
        memset(OVR[i], 0xa0 + (int)i, 16);
    memset(HO[0], 0x70, 16);
    memset(HO[1], 0x71, 16);
    s_index = 0;
}

static zn_crep *s_report(size_t cap)
{
    s_setup_ids();
    zn_crep *r = zn_crep_new(cap);
    assert_non_null(r);
    return r;
}

/* ------------------------------------------------------------------ consent report */

static void test_empty_case(void **state)
{
    (void)state;
    zn_crep *r = s_report(0);
    zn_crep_view v;
    zn_crep_view_get(r, &v);
    assert_int_equal(v.entries, 0);
    assert_false(v.has_case_new);
    assert_string_equal(v.consent_state, "none");
    assert_int_equal(v.consent_seq, 0);
    assert_int_equal(v.n_consent.n + v.n_relied.n + v.n_overrides.n + v.n_anonymous.n + v.n_refused.n +
                         v.n_inconsistent.n + v.n_drops.n,
                     0);
    assert_string_equal(v.network, "");
    zn_crep_free(&r);
    assert_null(r);
    zn_crep_free(&r);
}

static void test_granted_then_withdrawn(void **state)
{
    (void)state;
    zn_crep *r = s_report(0);
    s_case_new(r, "school", true, 0);
    s_refused(r, "send", "school", "ggd", "consent-required", HOUR); /* before any consent */
    s_consent(r, "school", 1, "granted", "ggd,wijkracht", 0, 2 * HOUR);
    s_send(r, "school", "ggd", "consent", 1, NULL, 0, 3 * HOUR);       /* relied */
    s_send(r, "school", "wijkracht", "consent", 1, NULL, 1, 4 * HOUR); /* relied, later dropped */
    s_consent(r, "school", 2, "withdrawn", "", 0, 5 * HOUR);
    s_drop(r, "wijkracht", "school", "consent-required", 1, 5 * HOUR);
    s_refused(r, "send", "school", "ggd", "consent-required", 6 * HOUR);
    s_send(r, "school", "ggd", "consent", 1, NULL, 2, 7 * HOUR); /* claims the old record */
    s_send(r, "school", "ggd", "consent", 2, NULL, 3, 8 * HOUR); /* claims the withdrawal */

    zn_crep_view v;
    zn_crep_view_get(r, &v);
    assert_int_equal(v.entries, 10);
    assert_true(v.has_case_new);
    assert_true(v.identified);
    assert_string_equal(v.network, "0-12-binnenstad");
    assert_string_equal(v.creator, "school");
    assert_string_equal(v.regisseur, "school");
    assert_int_equal(v.consent_seq, 2);
    assert_string_equal(v.consent_state, "withdrawn");

    assert_int_equal(v.n_consent.n, 2);
    assert_int_equal(v.consent[0].seq, 1);
    assert_string_equal(v.consent[0].state, "granted");
    assert_string_equal(v.consent[0].scope, "ggd,wijkracht");
    assert_string_equal(v.consent[0].given_by, "parent");
    assert_string_equal(v.consent[0].age_band, "0-11");
    assert_string_equal(v.consent[0].handler, "J. de Vries");
    assert_int_equal(v.consent[0].purpose_status, ZN_TEXT_NONE);
    assert_null(v.consent[0].note);
    assert_string_equal(v.consent[1].state, "withdrawn");
    assert_string_equal(v.consent[1].scope, "");

    assert_int_equal(v.n_relied.n, 2);
    assert_int_equal(v.relied[0].index, 3);
    assert_int_equal(v.relied[0].cls, ZN_CREP_CONSENT);
    assert_string_equal(v.relied[0].from, "school");
    assert_string_equal(v.relied[0].to, "ggd");
    assert_int_equal(v.relied[0].consent_seq, 1);
    assert_string_equal(v.relied[0].consent_state, "granted");
    assert_string_equal(v.relied[0].ref_name, "item");
    assert_memory_equal(v.relied[0].ref, ITEM[0], 16);
    assert_false(v.relied[0].dropped);
    assert_null(v.relied[0].note);
    assert_true(v.relied[1].dropped);

    assert_int_equal(v.n_refused.n, 2);
    assert_int_equal(v.refused[0].cls, ZN_CREP_REFUSED);
    assert_string_equal(v.refused[0].reason, "consent-required");
    assert_string_equal(v.refused[0].to, "ggd");

    assert_int_equal(v.n_inconsistent.n, 2);
    assert_int_equal(v.inconsistent[0].index, 8);
    assert_string_equal(v.inconsistent[0].consent_state, "granted");
    assert_non_null(strstr(v.inconsistent[0].note, "consent record 1 was not in force"));
    assert_non_null(strstr(v.inconsistent[0].note, "record 2 (withdrawn"));
    assert_int_equal(v.inconsistent[1].index, 9);
    assert_non_null(strstr(v.inconsistent[1].note, "consent record 2 was withdrawn, not granted"));

    assert_int_equal(v.n_drops.n, 1);
    assert_string_equal(v.drops[0].recipient, "wijkracht");
    assert_string_equal(v.drops[0].sender, "school");
    assert_string_equal(v.drops[0].reason, "consent-required");
    assert_true(v.drops[0].has_cause);
    assert_int_equal(v.drops[0].cause_index, 5);
    assert_string_equal(v.drops[0].cause, "consent 2 withdrawn");
    assert_true(v.drops[0].has_send);
    assert_int_equal(v.drops[0].send_index, 4);
    assert_true(v.drops[0].has_msgid);
    assert_int_equal(v.n_overrides.n + v.n_anonymous.n, 0);
    zn_crep_free(&r);
}

static void test_send_before_any_consent_and_missing_fields(void **state)
{
    (void)state;
    zn_crep *r = s_report(0);
    s_case_new(r, "school", true, 0);
    s_send(r, "school", "ggd", "consent", 1, NULL, 0, HOUR);      /* no consent recorded yet */
    s_send(r, "school", "ggd", "consent", 0, NULL, 1, HOUR);      /* no record named */
    s_send(r, "school", "ggd", NULL, 0, NULL, 2, HOUR);           /* no basis */
    s_send(r, "school", "ggd", "gut-feeling", 0, NULL, 3, HOUR);  /* unknown basis */
    s_send(r, "school", "ggd", "safety-override", 0, NULL, 4, HOUR); /* no override named */
    s_consent(r, "school", 1, "granted", "ggd", 0, 2 * HOUR);
    s_send(r, "school", "ggd", "consent", 7, NULL, 5, 3 * HOUR); /* a record that never was */
    zn_crep_view v;
    zn_crep_view_get(r, &v);
    assert_int_equal(v.n_relied.n, 0);
    assert_int_equal(v.n_inconsistent.n, 6);
    assert_non_null(strstr(v.inconsistent[0].note, "no consent was recorded on the case before it"));
    assert_non_null(strstr(v.inconsistent[1].note, "does not name the consent record"));
    assert_non_null(strstr(v.inconsistent[2].note, "no legal basis recorded"));
    assert_non_null(strstr(v.inconsistent[3].note, "unknown legal basis 'gut-feeling'"));
    assert_non_null(strstr(v.inconsistent[4].note, "does not name the override"));
    assert_non_null(strstr(v.inconsistent[5].note, "consent record 7 is not in the case's history"));
    assert_string_equal(v.inconsistent[5].consent_state, "");
    zn_crep_free(&r);
}

static void test_expired_consent(void **state)
{
    (void)state;
    zn_crep *r = s_report(0);
    s_case_new(r, "school", true, 0);
    s_consent(r, "school", 1, "granted", "ggd", T0 + 10 * DAY, HOUR);
    s_send(r, "school", "ggd", "consent", 1, NULL, 0, 9 * DAY);  /* in time */
    s_send(r, "school", "ggd", "consent", 1, NULL, 1, 10 * DAY); /* at the end: expired */
    s_send(r, "school", "ggd", "consent", 1, NULL, 2, 11 * DAY);
    zn_crep_view v;
    zn_crep_view_get(r, &v);
    assert_int_equal(v.n_relied.n, 1);
    assert_int_equal(v.n_inconsistent.n, 2);
    assert_non_null(strstr(v.inconsistent[0].note, "consent record 1 had expired (until 2026-01-11T00:00:00Z)"));
    assert_int_equal(v.consent[0].until_ms, T0 + 10 * DAY);
    zn_crep_free(&r);
}

static void test_scope_and_regisseur(void **state)
{
    (void)state;
    zn_crep *r = s_report(0);
    s_case_new(r, "school", true, 0);
    s_consent(r, "school", 1, "granted", "ggd", 0, HOUR);
    s_send(r, "school", "politie", "consent", 1, NULL, 0, 2 * HOUR); /* not in scope */
    s_send(r, "ggd", "school", "consent", 1, NULL, 1, 3 * HOUR);     /* to the regisseur */
    s_send(r, "ggd", "wijkracht", "consent", 1, NULL, 2, 4 * HOUR);  /* not in scope */
    s_consent(r, "school", 2, "requested", "ggd", 0, 5 * HOUR);
    s_send(r, "ggd", "school", "consent", 2, NULL, 3, 6 * HOUR);     /* not granted, even for the regisseur */
    s_consent(r, "school", 3, "granted", "", 0, 7 * HOUR);           /* granted to nobody */
    s_send(r, "ggd", "school", "consent", 3, NULL, 4, 8 * HOUR);
    zn_crep_view v;
    zn_crep_view_get(r, &v);
    assert_int_equal(v.n_relied.n, 1);
    assert_string_equal(v.relied[0].to, "school");
    assert_int_equal(v.n_inconsistent.n, 4);
    assert_non_null(strstr(v.inconsistent[3].note, "consent record 3 names nobody in its scope"));
    assert_non_null(strstr(v.inconsistent[0].note, "politie was not in the scope of consent record 1"));
    assert_non_null(strstr(v.inconsistent[1].note, "wijkracht was not in the scope of consent record 1"));
    assert_non_null(strstr(v.inconsistent[2].note, "consent record 2 was requested, not granted"));
    zn_crep_free(&r);
}

static void test_overrides(void **state)
{
    (void)state;
    zn_crep *r = s_report(0);
    s_case_new(r, "school", true, 0);
    s_override_new(r, 0, "school", "politie", 14 * DAY, HOUR);
    s_send(r, "school", "politie", "safety-override", 0, OVR[0], 0, 2 * HOUR); /* pending */
    s_send(r, "politie", "school", "safety-override", 0, OVR[0], 1, 3 * HOUR); /* either direction */
    s_override_review(r, 0, "school", "approved", DAY);
    s_send(r, "school", "politie", "safety-override", 0, OVR[0], 2, 2 * DAY);  /* approved */
    s_send(r, "school", "ggd", "safety-override", 0, OVR[0], 3, 2 * DAY);      /* other partner */
    s_override_new(r, 1, "school", "ggd", 14 * DAY, 2 * DAY);
    s_send(r, "school", "ggd", "safety-override", 0, OVR[1], 4, 2 * DAY + HOUR);
    s_override_review(r, 1, "school", "rejected", 3 * DAY);
    s_drop(r, "ggd", "school", "consent-required", 4, 3 * DAY);
    s_send(r, "school", "ggd", "safety-override", 0, OVR[1], 5, 4 * DAY);      /* rejected */
    s_send(r, "school", "politie", "safety-override", 0, OVR[0], 6, 14 * DAY); /* expired by time */
    s_override_expire(r, 0, "politie", 14 * DAY + 1);
    s_drop(r, "politie", "school", "consent-required", 6, 14 * DAY + 1);
    s_send(r, "school", "politie", "safety-override", 0, OVR[2], 7, 15 * DAY); /* unknown */
    zn_crep_view v;
    zn_crep_view_get(r, &v);
    assert_int_equal(v.n_overrides.n, 4);
    assert_string_equal(v.overrides[0].override_state, "pending");
    assert_true(v.overrides[0].has_override);
    assert_memory_equal(v.overrides[0].override_id, OVR[0], 16);
    assert_string_equal(v.overrides[1].from, "politie");
    assert_string_equal(v.overrides[2].override_state, "approved");
    assert_string_equal(v.overrides[3].to, "ggd");
    assert_true(v.overrides[3].dropped);
    assert_int_equal(v.n_inconsistent.n, 4);
    assert_non_null(strstr(v.inconsistent[0].note, "is from school to politie, not between school and ggd"));
    assert_non_null(strstr(v.inconsistent[1].note, "had been rejected"));
    assert_string_equal(v.inconsistent[1].override_state, "rejected");
    assert_non_null(strstr(v.inconsistent[2].note, "had expired"));
    assert_string_equal(v.inconsistent[2].override_state, "expired");
    assert_true(v.inconsistent[2].dropped);
    assert_non_null(strstr(v.inconsistent[3].note, "is not in this case's log"));
    assert_int_equal(v.n_drops.n, 2);
    assert_non_null(strstr(v.drops[0].cause, "rejected"));
    assert_non_null(strstr(v.drops[1].cause, "expired"));
    assert_string_equal(v.drops[1].cause, "override a0a0a0a0 expired");
    zn_crep_free(&r);
}

static void test_anonymous_and_link(void **state)
{
    (void)state;
    zn_crep *r = s_report(0);
    s_case_new(r, "school", false, 0);
    s_ev ev;
    s_new(&ev, "send", "school", "ggd", HOUR);
    ev.en.basis = "anonymous";
    s_b(&ev, "item", ITEM[0], 16);
    s_u(&ev, "i_checked", 1);
    s_feed(r, &ev);
    s_send(r, "ggd", "school", "anonymous", 0, NULL, 1, 2 * HOUR);
    s_consent(r, "school", 1, "granted", "ggd,wijkracht", 0, 3 * HOUR);
    s_send(r, "school", "ggd", "consent", 1, NULL, 2, 4 * HOUR); /* still anonymous: basis anonymous */
    s_new(&ev, "case-link", "school", NULL, 5 * HOUR);
    ev.en.basis = "consent";
    s_u(&ev, "consent", 1);
    s_b(&ev, "subject", PSN, sizeof PSN);
    s_s(&ev, "told", "ggd,wijkracht");
    s_feed(r, &ev);
    s_send(r, "school", "ggd", "anonymous", 0, NULL, 3, 6 * HOUR); /* identified now */
    s_send(r, "school", "ggd", "consent", 1, NULL, 4, 7 * HOUR);
    zn_crep_view v;
    zn_crep_view_get(r, &v);
    assert_true(v.identified);
    assert_int_equal(v.n_anonymous.n, 2);
    assert_true(v.anonymous[0].i_checked);
    assert_false(v.anonymous[1].i_checked);
    assert_int_equal(v.n_relied.n, 2);
    assert_string_equal(v.relied[0].action, "case-link");
    assert_string_equal(v.relied[0].to, "ggd,wijkracht");
    assert_string_equal(v.relied[1].action, "send");
    assert_int_equal(v.n_inconsistent.n, 2);
    assert_non_null(strstr(v.inconsistent[0].note, "the case was anonymous at the time"));
    assert_non_null(strstr(v.inconsistent[1].note, "the case was identified at the time"));
    zn_crep_free(&r);
}

static void test_link_told_outside_scope(void **state)
{
    (void)state;
    zn_crep *r = s_report(0);
    s_case_new(r, "school", false, 0);
    s_consent(r, "school", 1, "granted", "ggd", 0, HOUR);
    s_ev ev;
    s_new(&ev, "case-link", "school", NULL, 2 * HOUR);
    ev.en.basis = "consent";
    s_u(&ev, "consent", 1);
    s_s(&ev, "told", "ggd,politie");
    s_feed(r, &ev);
    zn_crep_view v;
    zn_crep_view_get(r, &v);
    assert_int_equal(v.n_inconsistent.n, 1);
    assert_non_null(strstr(v.inconsistent[0].note, "politie was not in the scope"));
    zn_crep_free(&r);
}

static void test_handover_and_regisseur(void **state)
{
    (void)state;
    zn_crep *r = s_report(0);
    s_case_new(r, "school", true, 0);
    s_consent(r, "school", 1, "granted", "ggd", 0, HOUR);
    s_ev ev;
    s_new(&ev, "handover-offer", "school", "ggd", 2 * HOUR);
    ev.en.basis = "consent";
    s_b(&ev, "handover", HO[0], 16);
    s_b(&ev, "msgid", ITEM[0], 16);
    s_u(&ev, "timeout", T0 + 3 * DAY);
    s_u(&ev, "consent", 1);
    s_feed(r, &ev);
    s_new(&ev, "handover-accept", "ggd", "school", 3 * HOUR);
    ev.en.basis = "consent";
    s_b(&ev, "handover", HO[0], 16);
    s_u(&ev, "consent", 1);
    s_feed(r, &ev);
    /* the old regisseur records consent: an inconsistency */
    s_consent(r, "school", 2, "granted", "ggd,school", 0, 4 * HOUR);
    /* the new one records it: fine; then ggd sends to school within scope */
    s_consent(r, "ggd", 3, "granted", "school", 0, 5 * HOUR);
    s_send(r, "ggd", "school", "consent", 3, NULL, 1, 6 * HOUR);
    /* a refused accept and a refused consent-set appear among the refusals */
    s_refused(r, "handover-accept", "wijkracht", "school", "unknown-handover", 7 * HOUR);
    s_refused(r, "consent-set", "school", NULL, "not-regisseur", 8 * HOUR);
    zn_crep_view v;
    zn_crep_view_get(r, &v);
    assert_string_equal(v.regisseur, "ggd");
    assert_string_equal(v.creator, "school");
    assert_int_equal(v.n_relied.n, 3);
    assert_string_equal(v.relied[0].action, "handover-offer");
    assert_string_equal(v.relied[0].ref_name, "handover");
    assert_memory_equal(v.relied[0].ref, HO[0], 16);
    assert_string_equal(v.relied[1].action, "handover-accept");
    assert_string_equal(v.relied[1].from, "school");
    assert_string_equal(v.relied[1].to, "ggd");
    assert_int_equal(v.n_consent.n, 3);
    assert_non_null(v.consent[1].note);
    assert_non_null(strstr(v.consent[1].note, "recorded by school, who was not the regisseur (ggd)"));
    assert_null(v.consent[2].note);
    assert_int_equal(v.n_inconsistent.n, 1);
    assert_string_equal(v.inconsistent[0].action, "consent-set");
    assert_int_equal(v.inconsistent[0].consent_seq, 2);
    assert_int_equal(v.n_refused.n, 2);
    assert_string_equal(v.refused[0].from, "school");
    assert_string_equal(v.refused[0].to, "wijkracht");
    assert_string_equal(v.refused[1].action, "consent-set");
    assert_string_equal(v.refused[1].reason, "not-regisseur");
    zn_crep_free(&r);
}

/* A record covers the partner that recorded it while that partner holds the case; after a
 * handover neither the new regisseur (it did not record it) nor the old one (it no longer
 * holds the case) is covered outside the scope, until the new regisseur records its own. */
static void test_recorder_after_handover(void **state)
{
    (void)state;
    zn_crep *r = s_report(0);
    s_case_new(r, "school", true, 0);
    s_consent(r, "school", 1, "granted", "politie", 0, HOUR);
    s_send(r, "politie", "school", "consent", 1, NULL, 0, 2 * HOUR); /* to the recorder, who holds it */
    s_override_new(r, 0, "school", "ggd", 14 * DAY, 3 * HOUR);
    s_ev ev;
    s_new(&ev, "handover-offer", "school", "ggd", 4 * HOUR);
    ev.en.basis = "safety-override";
    s_b(&ev, "handover", HO[0], 16);
    s_b(&ev, "msgid", ITEM[1], 16);
    s_u(&ev, "timeout", T0 + 3 * DAY);
    s_b(&ev, "override", OVR[0], 16);
    s_feed(r, &ev);
    s_new(&ev, "handover-accept", "ggd", "school", 5 * HOUR);
    ev.en.basis = "safety-override";
    s_b(&ev, "handover", HO[0], 16);
    s_b(&ev, "override", OVR[0], 16);
    s_feed(r, &ev);
    s_drop(r, "school", "politie", "consent-required", 0, 5 * HOUR); /* the change of holder stopped it */
    s_send(r, "politie", "ggd", "consent", 1, NULL, 2, 6 * HOUR);    /* the new regisseur: not covered */
    s_send(r, "politie", "school", "consent", 1, NULL, 3, 7 * HOUR); /* the recorder no longer holds it */
    s_consent(r, "ggd", 2, "granted", "politie", 0, 8 * HOUR);
    s_send(r, "politie", "ggd", "consent", 2, NULL, 4, 9 * HOUR);    /* its own record covers it */
    s_send(r, "ggd", "politie", "consent", 2, NULL, 5, 10 * HOUR);   /* in scope */
    zn_crep_view v;
    zn_crep_view_get(r, &v);
    assert_string_equal(v.regisseur, "ggd");
    assert_int_equal(v.n_overrides.n, 2);
    assert_int_equal(v.n_relied.n, 3);
    assert_int_equal(v.relied[0].index, 2);
    assert_string_equal(v.relied[0].to, "school");
    assert_string_equal(v.relied[1].to, "ggd");
    assert_int_equal(v.relied[1].consent_seq, 2);
    assert_string_equal(v.relied[2].to, "politie");
    assert_int_equal(v.n_inconsistent.n, 2);
    assert_string_equal(v.inconsistent[0].to, "ggd");
    assert_non_null(strstr(v.inconsistent[0].note, "ggd was not in the scope of consent record 1, which school "
                                                    "recorded (the regisseur is covered only by a record it "
                                                    "recorded itself)"));
    assert_string_equal(v.inconsistent[1].to, "school");
    assert_non_null(strstr(v.inconsistent[1].note, "school was not in the scope of consent record 1, and no longer "
                                                    "held the case it recorded that record on"));
    assert_int_equal(v.n_drops.n, 1);
    assert_true(v.drops[0].has_cause);
    assert_int_equal(v.drops[0].cause_index, 5);
    assert_string_equal(v.drops[0].cause, "handover 70707070 accepted");
    assert_true(v.drops[0].has_send);
    assert_int_equal(v.drops[0].send_index, 2);
    assert_true(v.relied[0].dropped);
    zn_crep_free(&r);
}

static void test_consent_record_problems(void **state)
{
    (void)state;
    zn_crep *r = s_report(0);
    s_case_new(r, "school", true, 0);
    s_consent(r, "school", 2, "granted", "ggd", 0, HOUR);
    s_consent(r, "school", 2, "granted", "ggd", 0, 2 * HOUR); /* seq again */
    s_ev ev;
    s_new(&ev, "consent-set", "school", NULL, 3 * HOUR); /* unreadable state */
    s_u(&ev, "seq", 3);
    s_s(&ev, "state", "maybe");
    s_feed(r, &ev);
    s_send(r, "school", "ggd", "consent", 3, NULL, 0, 4 * HOUR);
    /* the evidence says something else than the details, and its purpose opened */
    zn_evidence_text et;
    memset(&et, 0, sizeof et);
    et.status = ZN_TEXT_OPENED;
    et.mismatch = true;
    snprintf(et.what, sizeof et.what, "state granted in the signed request, withdrawn in the entry");
    snprintf(et.text, sizeof et.text, "Overleg over de thuissituatie");
    s_new(&ev, "consent-set", "school", NULL, 5 * HOUR);
    s_u(&ev, "seq", 4);
    s_s(&ev, "state", "withdrawn");
    s_done(&ev);
    assert_int_equal(zn_crep_feed(r, &ev.en, &et), 0);
    /* a purpose not sealed to this reader */
    et.mismatch = false;
    et.status = ZN_TEXT_NOT_FOR_YOU;
    et.what[0] = et.text[0] = '\0';
    s_new(&ev, "consent-set", "school", NULL, 6 * HOUR);
    s_u(&ev, "seq", 5);
    s_s(&ev, "state", "refused");
    s_done(&ev);
    assert_int_equal(zn_crep_feed(r, &ev.en, &et), 0);
    zn_crep_view v;
    zn_crep_view_get(r, &v);
    assert_int_equal(v.n_consent.n, 5);
    assert_null(v.consent[0].note);
    assert_non_null(strstr(v.consent[1].note, "seq 2 does not follow seq 2"));
    assert_non_null(strstr(v.consent[2].note, "details cannot be read"));
    assert_string_equal(v.consent[2].state, "maybe");
    assert_non_null(strstr(v.consent[3].note, "the signed request differs: state granted"));
    assert_int_equal(v.consent[3].purpose_status, ZN_TEXT_OPENED);
    assert_string_equal(v.consent[3].purpose, "Overleg over de thuissituatie");
    assert_null(v.consent[4].note);
    assert_int_equal(v.consent[4].purpose_status, ZN_TEXT_NOT_FOR_YOU);
    assert_string_equal(v.consent[4].purpose, "");
    assert_string_equal(v.consent_state, "refused");
    /* three records and the send that relied on the unreadable one */
    assert_int_equal(v.n_inconsistent.n, 4);
    assert_string_equal(v.inconsistent[2].action, "send");
    assert_non_null(strstr(v.inconsistent[2].note, "cannot be read"));
    zn_crep_free(&r);
}

static void test_drop_causes(void **state)
{
    (void)state;
    zn_crep *r = s_report(0);
    s_case_new(r, "school", true, 0);
    s_consent(r, "school", 1, "granted", "ggd,wijkracht", 0, HOUR);
    s_send(r, "school", "ggd", "consent", 1, NULL, 0, 2 * HOUR);
    s_send(r, "school", "wijkracht", "consent", 1, NULL, 1, 2 * HOUR);
    s_consent(r, "school", 2, "granted", "politie", 0, 3 * HOUR);
    s_drop(r, "ggd", "school", "consent-required", 0, 3 * HOUR);
    s_drop(r, "wijkracht", "school", "consent-required", 1, 3 * HOUR); /* the same change */
    s_send(r, "school", "politie", "consent", 2, NULL, 2, 4 * HOUR);
    s_drop(r, "politie", "school", "not-in-convenant", 2, 5 * HOUR);   /* a reload: no cause here */
    s_drop(r, "ggd", "school", "consent-required", 9, 6 * HOUR);       /* unknown item, no change before */
    zn_crep_view v;
    zn_crep_view_get(r, &v);
    assert_int_equal(v.n_drops.n, 4);
    assert_true(v.drops[0].has_cause && v.drops[1].has_cause);
    assert_int_equal(v.drops[1].cause_index, 4);
    assert_string_equal(v.drops[1].cause, "consent 2 granted");
    assert_int_equal(v.drops[1].send_index, 3);
    assert_false(v.drops[2].has_cause);
    assert_string_equal(v.drops[2].cause, "");
    assert_true(v.drops[2].has_send);
    assert_false(v.drops[3].has_cause);
    assert_false(v.drops[3].has_send);
    assert_true(v.relied[0].dropped && v.relied[1].dropped && v.relied[2].dropped);
    zn_crep_free(&r);
}

/* consent-expire (the broker's clock) is the cause of the drops that follow it. */
static void test_consent_expire_cause(void **state)
{
    (void)state;
    zn_crep *r = s_report(0);
    s_case_new(r, "school", true, 0);
    s_consent(r, "school", 1, "granted", "ggd", T0 + DAY, HOUR);
    s_send(r, "school", "ggd", "consent", 1, NULL, 0, 2 * HOUR);
    s_ev ev;
    s_new(&ev, "consent-expire", NULL, NULL, DAY);
    s_u(&ev, "seq", 1);
    s_u(&ev, "until", T0 + DAY);
    s_feed(r, &ev);
    s_drop(r, "ggd", "school", "consent-required", 0, DAY);
    zn_crep_view v;
    zn_crep_view_get(r, &v);
    assert_int_equal(v.n_drops.n, 1);
    assert_true(v.drops[0].has_cause);
    assert_int_equal(v.drops[0].cause_index, 3);
    assert_string_equal(v.drops[0].cause, "consent 1 expired");
    assert_true(v.drops[0].has_send);
    assert_int_equal(v.drops[0].send_index, 2);
    assert_true(v.relied[0].dropped);
    assert_int_equal(v.n_inconsistent.n, 0);
    zn_crep_free(&r);
}

static void test_caps(void **state)
{
    (void)state;
    zn_crep *r = s_report(3);
    s_case_new(r, "school", true, 0);
    for (uint64_t k = 1; k <= 6; k++)
        s_consent(r, "school", k, "granted", "ggd", 0, k * HOUR);
    for (unsigned k = 0; k < 10; k++)
        s_send(r, "school", "ggd", "consent", 6, NULL, k % 16, 10 * HOUR + k);
    for (unsigned k = 0; k < 5; k++)
        s_send(r, "school", "ggd", "consent", 2, NULL, k % 16, 11 * HOUR + k); /* beyond the kept rows */
    for (unsigned k = 0; k < 4; k++)
        s_refused(r, "send", "school", "politie", "consent-required", 12 * HOUR + k);
    zn_crep_view v;
    zn_crep_view_get(r, &v);
    assert_int_equal(v.n_consent.n, 3);
    assert_int_equal(v.n_consent.more, 3);
    assert_int_equal(v.consent_seq, 6);
    assert_int_equal(v.n_relied.n, 3);
    assert_int_equal(v.n_relied.more, 7);
    assert_int_equal(v.n_inconsistent.n, 3);
    assert_int_equal(v.n_inconsistent.more, 2);
    /* the record is found in the history although its row was not kept */
    assert_string_equal(v.inconsistent[0].consent_state, "granted");
    assert_non_null(strstr(v.inconsistent[0].note, "record 6 (granted"));
    assert_int_equal(v.n_refused.n, 3);
    assert_int_equal(v.n_refused.more, 1);
    zn_crep_free(&r);
}

/* A long case keeps only cap rows per list, however many entries it has. */
static void test_long_case(void **state)
{
    (void)state;
    zn_crep *r = s_report(5);
    s_case_new(r, "school", true, 0);
    s_consent(r, "school", 1, "granted", "ggd", 0, HOUR);
    for (unsigned k = 0; k < 200000; k++) {
        if (k % 4 == 0)
            s_refused(r, "send", "school", "politie", "consent-required", 2 * HOUR + k);
        else
            s_send(r, "school", "ggd", "consent", 1, NULL, k % 16, 2 * HOUR + k);
    }
    zn_crep_view v;
    zn_crep_view_get(r, &v);
    assert_int_equal(v.entries, 200002);
    assert_int_equal(v.n_relied.n, 5);
    assert_int_equal(v.n_relied.more, 150000 - 5);
    assert_int_equal(v.n_refused.n, 5);
    assert_int_equal(v.n_refused.more, 50000 - 5);
    assert_int_equal(v.relied[4].index, 8); /* the first ones are kept */
    zn_crep_free(&r);
}

static void test_many_overrides(void **state)
{
    (void)state;
    zn_crep *r = s_report(2);
    s_case_new(r, "school", true, 0);
    static uint8_t ids[3000][16];
    for (unsigned k = 0; k < 3000; k++) {
        randombytes_buf(ids[k], 16);
        s_ev ev;
        s_new(&ev, "override-new", "school", "politie", HOUR);
        s_b(&ev, "override", ids[k], 16);
        s_u(&ev, "expires", T0 + DAY);
        s_feed(r, &ev);
    }
    for (unsigned k = 0; k < 3000; k += 7)
        s_send(r, "politie", "school", "safety-override", 0, ids[k], 0, 2 * HOUR);
    zn_crep_view v;
    zn_crep_view_get(r, &v);
    assert_int_equal(v.n_overrides.n + v.n_overrides.more, (3000 + 6) / 7);
    assert_int_equal(v.n_inconsistent.n + v.n_inconsistent.more, 0);
    zn_crep_free(&r);
}

/* ------------------------------------------------------------------ overrides of a log */

static void s_ofeed(zn_orep *r, s_ev *ev, const zn_evidence_text *et)
{
    s_done(ev);
    assert_int_equal(zn_orep_feed(r, &ev->en, et), 0);
}

/* A handover-decline of HO[k] by `by` of an offer by `from`. */
static void s_decline(s_ev *ev, unsigned k, const char *by, const char *from, uint64_t at)
{
    s_new(ev, "handover-decline", by, from, at);
    s_b(ev, "handover", HO[k], 16);
}

static void test_override_report(void **state)
{
    (void)state;
    s_setup_ids();
    zn_orep *r = zn_orep_new(0);
    assert_non_null(r);
    zn_evidence_text et;
    memset(&et, 0, sizeof et);
    et.status = ZN_TEXT_OPENED;
    snprintf(et.text, sizeof et.text, "Het kind vertelde over geweld thuis; overleg met politie is nodig.");
    s_ev ev;
    s_new(&ev, "override-new", "school", "politie", HOUR);
    ev.en.basis = "safety-override";
    s_b(&ev, "override", OVR[0], 16);
    s_u(&ev, "step", 2);
    s_u(&ev, "expires", T0 + 14 * DAY);
    s_u(&ev, "review_by", T0 + 3 * DAY);
    s_ofeed(r, &ev, &et);
    /* a refused one is not listed here (the refusals list has it) */
    s_new(&ev, "override-new", "school", "ggd", HOUR);
    ev.en.decision = ZN_AUDIT_REFUSED;
    ev.en.reason = "usage";
    s_b(&ev, "override", OVR[3], 16);
    s_ofeed(r, &ev, NULL);
    et.status = ZN_TEXT_NOT_FOR_YOU;
    et.text[0] = '\0';
    s_new(&ev, "override-new", "ggd", "wijkracht", 2 * HOUR);
    s_b(&ev, "override", OVR[1], 16);
    s_u(&ev, "step", 4);
    s_ofeed(r, &ev, &et);
    /* escalation, a late review with a note, and the expiry */
    s_new(&ev, "override-escalate", NULL, "school", 3 * DAY);
    s_b(&ev, "override", OVR[0], 16);
    s_u(&ev, "review_by", T0 + 3 * DAY);
    s_ofeed(r, &ev, NULL);
    memset(&et, 0, sizeof et);
    et.status = ZN_TEXT_OPENED;
    snprintf(et.text, sizeof et.text, "Terecht.");
    s_new(&ev, "override-review", "coordinator", "school", 4 * DAY);
    s_b(&ev, "override", OVR[0], 16);
    s_s(&ev, "state", "approved");
    s_u(&ev, "late", 1);
    s_ofeed(r, &ev, &et);
    s_new(&ev, "override-expire", NULL, "politie", 14 * DAY);
    s_b(&ev, "override", OVR[0], 16);
    s_s(&ev, "author", "school");
    s_ofeed(r, &ev, NULL);
    /* the second is rejected in time, its note could not be read, its request disagrees */
    memset(&et, 0, sizeof et);
    et.status = ZN_TEXT_UNREADABLE;
    et.mismatch = true;
    snprintf(et.what, sizeof et.what, "state approved in the signed request, rejected in the entry");
    s_new(&ev, "override-review", "coordinator", "ggd", 5 * HOUR);
    s_b(&ev, "override", OVR[1], 16);
    s_s(&ev, "state", "rejected");
    s_ofeed(r, &ev, &et);
    /* an expiry of an override whose override-new was not read, and a handover escalation */
    s_new(&ev, "override-expire", NULL, "ggd", 15 * DAY);
    s_b(&ev, "override", OVR[2], 16);
    s_ofeed(r, &ev, NULL);
    s_new(&ev, "handover-escalate", NULL, "school", 16 * DAY);
    s_b(&ev, "handover", HO[1], 16);
    s_u(&ev, "timeout", T0 + 16 * DAY);
    s_ofeed(r, &ev, NULL);
    s_new(&ev, "send", "school", "ggd", 16 * DAY); /* ignored */
    s_ofeed(r, &ev, NULL);

    zn_orep_view v;
    zn_orep_view_get(r, &v);
    assert_int_equal(v.n_overrides.n, 2);
    const zn_orep_override *o = &v.overrides[0];
    assert_memory_equal(o->id, OVR[0], 16);
    assert_true(o->has_case);
    assert_memory_equal(o->case_id, CASE, 16);
    assert_string_equal(o->author, "school");
    assert_string_equal(o->to, "politie");
    assert_int_equal(o->step, 2);
    assert_string_equal(o->step_name, zn_meldcode_step_name(2));
    assert_int_equal(o->expires_ms, T0 + 14 * DAY);
    assert_int_equal(o->review_by_ms, T0 + 3 * DAY);
    assert_int_equal(o->justification_status, ZN_TEXT_OPENED);
    assert_non_null(strstr(o->justification, "geweld thuis"));
    assert_null(o->mismatch);
    assert_string_equal(o->state, "expired");
    assert_true(o->escalated);
    assert_int_equal(o->n_events, 3);
    assert_string_equal(o->events[0].action, "override-escalate");
    assert_int_equal(o->events[0].review_by_ms, T0 + 3 * DAY);
    assert_string_equal(o->events[0].actor, "");
    assert_string_equal(o->events[1].action, "override-review");
    assert_string_equal(o->events[1].state, "approved");
    assert_true(o->events[1].late);
    assert_string_equal(o->events[1].actor, "coordinator");
    assert_string_equal(o->events[1].note, "Terecht.");
    assert_string_equal(o->events[2].action, "override-expire");
    o = &v.overrides[1];
    assert_int_equal(o->justification_status, ZN_TEXT_NOT_FOR_YOU);
    assert_string_equal(o->state, "rejected");
    assert_false(o->escalated);
    assert_int_equal(o->n_events, 1);
    assert_false(o->events[0].late);
    assert_int_equal(o->events[0].note_status, ZN_TEXT_UNREADABLE);
    assert_non_null(o->events[0].mismatch);
    assert_int_equal(v.n_orphans.n, 1);
    assert_memory_equal(v.orphans[0].override_id, OVR[2], 16);
    assert_string_equal(v.orphans[0].action, "override-expire");
    assert_int_equal(v.n_handovers.n, 1);
    assert_string_equal(v.handovers[0].from, "school");
    assert_true(v.handovers[0].has_handover);
    assert_memory_equal(v.handovers[0].handover, HO[1], 16);
    assert_int_equal(v.handovers[0].timeout_ms, T0 + 16 * DAY);
    zn_orep_free(&r);
    assert_null(r);
    zn_orep_free(&r);
}

static void test_override_report_caps(void **state)
{
    (void)state;
    s_setup_ids();
    zn_orep *r = zn_orep_new(2);
    assert_non_null(r);
    static uint8_t ids[40][16];
    s_ev ev;
    for (unsigned k = 0; k < 40; k++) {
        memset(ids[k], 0, 16);
        ids[k][0] = (uint8_t)k;
        ids[k][9] = 0x5a;
        s_new(&ev, "override-new", "school", "politie", HOUR);
        s_b(&ev, "override", ids[k], 16);
        s_ofeed(r, &ev, NULL);
    }
    for (unsigned k = 0; k < 12; k++) { /* more events than kept for the first */
        s_new(&ev, "override-escalate", NULL, "school", DAY + k);
        s_b(&ev, "override", ids[0], 16);
        s_ofeed(r, &ev, NULL);
    }
    for (unsigned k = 2; k < 6; k++) { /* events of overrides over the cap: orphans, capped too */
        s_new(&ev, "override-expire", NULL, "politie", 2 * DAY);
        s_b(&ev, "override", ids[k], 16);
        s_ofeed(r, &ev, NULL);
    }
    for (unsigned k = 0; k < 5; k++) {
        s_new(&ev, "handover-escalate", NULL, "school", 3 * DAY);
        s_b(&ev, "handover", HO[0], 16);
        s_ofeed(r, &ev, NULL);
    }
    zn_orep_view v;
    zn_orep_view_get(r, &v);
    assert_int_equal(v.n_overrides.n, 2);
    assert_int_equal(v.n_overrides.more, 38);
    assert_int_equal(v.overrides[0].n_events, ZN_REPORT_EVENTS_MAX);
    assert_int_equal(v.overrides[0].more_events, 12 - ZN_REPORT_EVENTS_MAX);
    assert_int_equal(v.overrides[1].n_events, 0);
    assert_int_equal(v.n_orphans.n, 2);
    assert_int_equal(v.n_orphans.more, 2);
    assert_int_equal(v.n_handovers.n, 2);
    assert_int_equal(v.n_handovers.more, 3);
    assert_int_equal(v.n_declines.n + v.n_declines.more, 0);
    zn_orep_free(&r);

    /* declines are capped like the other lists; refused ones are not listed */
    r = zn_orep_new(3);
    assert_non_null(r);
    for (unsigned k = 0; k < 7; k++) {
        s_decline(&ev, k % 2, "politie", "school", 4 * DAY + k);
        s_ofeed(r, &ev, NULL);
    }
    s_decline(&ev, 0, "politie", "school", 5 * DAY);
    ev.en.decision = ZN_AUDIT_REFUSED;
    ev.en.reason = "already-decided";
    s_ofeed(r, &ev, NULL);
    zn_orep_view_get(r, &v);
    assert_int_equal(v.n_declines.n, 3);
    assert_int_equal(v.n_declines.more, 4);
    assert_int_equal(v.declines[2].time_ms, T0 + 4 * DAY + 2);
    assert_int_equal(v.declines[0].reason_status, ZN_TEXT_NONE); /* no evidence handed in */
    assert_string_equal(v.declines[0].reason, "");
    assert_null(v.declines[0].mismatch);
    assert_int_equal(v.n_overrides.n + v.n_handovers.n, 0);
    zn_orep_free(&r);
}

/* ------------------------------------------------------------------ sealed text in evidence */

typedef struct {
    zn_convenant *c;
    zn_seckeys school, auditor, auditor2, coord;
} s_world;

static void s_world_init(s_world *w)
{
    memset(w, 0, sizeof *w);
    assert_int_equal(zn_keys_generate(ZN_KIND_PARTNER, &w->school), 0);
    assert_int_equal(zn_keys_generate(ZN_KIND_PARTNER, &w->auditor), 0);
    assert_int_equal(zn_keys_generate(ZN_KIND_PARTNER, &w->auditor2), 0);
    assert_int_equal(zn_keys_generate(ZN_KIND_PARTNER, &w->coord), 0);
    zn_convenant *c = zn_convenant_new();
    assert_non_null(c);
    c->n_networks = 1;
    strcpy(c->networks[0], "0-12-binnenstad");
    c->n_partners = 5;
    c->partners = calloc(c->n_partners, sizeof *c->partners);
    assert_non_null(c->partners);
    const char *ids[] = {"auditor", "auditor2", "coordinator", "politie", "school"};
    const zn_seckeys *keys[] = {&w->auditor, &w->auditor2, &w->coord, &w->school, &w->school};
    for (size_t i = 0; i < c->n_partners; i++) {
        strcpy(c->partners[i].id, ids[i]);
        c->partners[i].keys = keys[i]->pub;
    }
    c->partners[0].auditor = c->partners[1].auditor = true;
    c->partners[2].roles[0] = ZN_ROLE_COORDINATOR;
    c->partners[3].roles[0] = ZN_ROLE_PARTNER;
    c->partners[4].roles[0] = ZN_ROLE_PARTNER;
    w->c = c;
}

static void s_world_free(s_world *w)
{
    zn_convenant_destroy(&w->c);
    zn_seckeys_wipe(&w->school);
    zn_seckeys_wipe(&w->auditor);
    zn_seckeys_wipe(&w->auditor2);
    zn_seckeys_wipe(&w->coord);
}

/* The sealed text to `who` (reader ids, n), packed into sb. */
static void s_seal(const s_world *w, const char (*who)[ZN_IDENT_MAX], size_t n, const char *text,
                   msgpack_sbuffer *sb)
{
    msgpack_packer pk;
    zn_err e;
    msgpack_sbuffer_init(sb);
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    assert_int_equal(zn_sealed_build(&pk, w->c, who, n, text, strlen(text), &e), 0);
}

typedef struct {
    uint8_t *req;
    size_t len;
    uint8_t sig[ZN_SIG_LEN];
} s_req;

static void s_sign(const s_world *w, const char *kind, const msgpack_sbuffer *body, s_req *out)
{
    zn_err e;
    assert_int_equal(zn_request_build(kind, "school", "J. de Vries", T0, 1, (const uint8_t *)body->data, body->size,
                                      &w->school, &out->req, &out->len, out->sig, &e),
                     0);
}

static void s_evidence(s_ev *ev, const s_req *rq)
{
    ev->en.evidence_kind = "request";
    ev->en.evidence = rq->req;
    ev->en.evidence_len = rq->len;
    ev->en.evidence_sig = rq->sig;
}

/* A reader for zn_evidence_text_open: id and key pair (the shape of zn_client_open_sealed). */
typedef struct {
    const char *id;
    const zn_seckeys *k;
} s_reader;

static int s_open_cb(void *ctx, const uint8_t *enc, size_t len, char *text, size_t cap)
{
    const s_reader *rd = ctx;
    zn_doc d;
    zn_sealed s;
    zn_err e;
    text[0] = '\0';
    if (zn_doc_parse(&d, enc, len, 8, 1024) != 0)
        return -1;
    int rc = -1;
    if (zn_sealed_parse(&d.root, 1, &s, &e) == 0) {
        bool reader = false;
        for (size_t i = 0; i < s.n; i++)
            reader = reader || strcmp(s.reader[i], rd->id) == 0;
        rc = !reader ? 0 : zn_sealed_open(&s, rd->id, rd->k, text, cap, &e) == 0 ? 1 : -1;
    }
    zn_doc_free(&d);
    if (rc < 0)
        text[0] = '\0';
    return rc;
}

static void s_open_as(const zn_audit_entry *en, const char *id, const zn_seckeys *k, zn_evidence_text *out)
{
    s_reader rd = {id, k};
    zn_evidence_text_open(en, k ? s_open_cb : NULL, &rd, out);
}

static const char PURPOSE[] = "Afstemming tussen school en GGD over de ontwikkeling van het kind";

static void test_evidence_consent_purpose(void **state)
{
    (void)state;
    s_setup_ids();
    s_world w;
    s_world_init(&w);
    static const char readers[2][ZN_IDENT_MAX] = {"auditor", "auditor2"};
    msgpack_sbuffer sealed, body;
    s_seal(&w, readers, 2, PURPOSE, &sealed);
    zn_consent c;
    memset(&c, 0, sizeof c);
    c.state = ZN_CONSENT_GRANTED;
    c.n_scope = 2;
    strcpy(c.scope[0], "ggd");
    strcpy(c.scope[1], "wijkracht");
    c.given_by = ZN_GIVEN_PARENT;
    c.age_band = ZN_AGE_0_11;
    msgpack_sbuffer_init(&body);
    zn_body_consent_set_enc(&body, CASE, &c, (const uint8_t *)sealed.data, sealed.size);
    s_req rq;
    s_sign(&w, "consent-set", &body, &rq);

    s_ev ev;
    s_new(&ev, "consent-set", "school", NULL, HOUR);
    s_u(&ev, "seq", 1);
    s_s(&ev, "state", "granted");
    s_s(&ev, "scope", "ggd,wijkracht");
    s_s(&ev, "given_by", "parent");
    s_s(&ev, "age_band", "0-11");
    s_u(&ev, "until", 0);
    s_evidence(&ev, &rq);
    s_done(&ev);

    zn_evidence_text et;
    s_open_as(&ev.en, "auditor", &w.auditor, &et);
    assert_int_equal(et.status, ZN_TEXT_OPENED);
    assert_string_equal(et.text, PURPOSE);
    assert_false(et.mismatch);
    assert_string_equal(et.what, "");
    /* the second auditor opens its own box; the coordinator is no reader */
    s_open_as(&ev.en, "auditor2", &w.auditor2, &et);
    assert_int_equal(et.status, ZN_TEXT_OPENED);
    s_open_as(&ev.en, "coordinator", &w.coord, &et);
    assert_int_equal(et.status, ZN_TEXT_NOT_FOR_YOU);
    assert_string_equal(et.text, "");
    s_open_as(&ev.en, NULL, NULL, &et);
    assert_int_equal(et.status, ZN_TEXT_NOT_FOR_YOU);
    /* a key that is not the reader's: the box does not open */
    s_open_as(&ev.en, "auditor", &w.auditor2, &et);
    assert_int_equal(et.status, ZN_TEXT_UNREADABLE);
    assert_non_null(strstr(et.what, "does not open"));

    /* the consent report shows it */
    zn_crep *r = zn_crep_new(0);
    assert_non_null(r);
    s_open_as(&ev.en, "auditor", &w.auditor, &et);
    assert_int_equal(zn_crep_feed(r, &ev.en, &et), 0);
    zn_crep_view v;
    zn_crep_view_get(r, &v);
    assert_string_equal(v.consent[0].purpose, PURPOSE);
    assert_null(v.consent[0].note);
    zn_crep_free(&r);

    /* details that disagree with the signed request */
    ev.det[4].p = (const uint8_t *)"withdrawn"; /* keys sorted: age_band given_by scope seq state until */
    ev.det[4].len = 9;
    assert_string_equal(ev.det[4].key, "state");
    ev.det[2].p = (const uint8_t *)"ggd";
    ev.det[2].len = 3;
    s_open_as(&ev.en, "auditor", &w.auditor, &et);
    assert_int_equal(et.status, ZN_TEXT_OPENED);
    assert_true(et.mismatch);
    assert_non_null(strstr(et.what, "state granted in the signed request, withdrawn in the entry"));
    assert_non_null(strstr(et.what, "scope ggd,wijkracht in the signed request, ggd in the entry"));
    /* an entry of another actor, or another case */
    ev.det[4].p = (const uint8_t *)"granted";
    ev.det[4].len = 7;
    ev.det[2].p = (const uint8_t *)"ggd,wijkracht";
    ev.det[2].len = 13;
    ev.en.actor = "politie";
    s_open_as(&ev.en, "auditor", &w.auditor, &et);
    assert_true(et.mismatch);
    assert_non_null(strstr(et.what, "partner school in the signed request, politie in the entry"));
    ev.en.actor = "school";
    static const uint8_t other[16] = {9};
    ev.en.case_id = other;
    s_open_as(&ev.en, "auditor", &w.auditor, &et);
    assert_true(et.mismatch);
    assert_non_null(strstr(et.what, "case "));
    ev.en.case_id = CASE;
    /* a refused entry is not held to its details */
    ev.en.decision = ZN_AUDIT_REFUSED;
    ev.en.n_details = 0;
    s_open_as(&ev.en, "auditor", &w.auditor, &et);
    assert_false(et.mismatch);
    assert_int_equal(et.status, ZN_TEXT_OPENED);
    ev.en.decision = ZN_AUDIT_ALLOWED;

    /* evidence of another kind, none at all, bytes that are no request */
    ev.en.action = "override-new";
    s_open_as(&ev.en, "auditor", &w.auditor, &et);
    assert_int_equal(et.status, ZN_TEXT_UNREADABLE);
    assert_true(et.mismatch);
    assert_non_null(strstr(et.what, "a consent-set request, not override-new"));
    ev.en.action = "consent-set";
    ev.en.evidence_kind = NULL;
    s_open_as(&ev.en, "auditor", &w.auditor, &et);
    assert_int_equal(et.status, ZN_TEXT_UNREADABLE);
    ev.en.evidence_kind = "envelope-header";
    s_open_as(&ev.en, "auditor", &w.auditor, &et);
    assert_int_equal(et.status, ZN_TEXT_UNREADABLE);
    ev.en.evidence_kind = "request";
    ev.en.evidence_len = rq.len / 2;
    s_open_as(&ev.en, "auditor", &w.auditor, &et);
    assert_int_equal(et.status, ZN_TEXT_UNREADABLE);
    assert_non_null(strstr(et.what, "not a readable signed request"));
    /* other actions hold no text */
    ev.en.action = "send";
    s_open_as(&ev.en, "auditor", &w.auditor, &et);
    assert_int_equal(et.status, ZN_TEXT_NONE);

    free(rq.req);
    msgpack_sbuffer_destroy(&body);
    msgpack_sbuffer_destroy(&sealed);

    /* a consent record without a purpose */
    msgpack_sbuffer_init(&body);
    c.state = ZN_CONSENT_WITHDRAWN;
    c.n_scope = 0;
    c.given_by = 0;
    c.age_band = ZN_AGE_NONE;
    zn_body_consent_set_enc(&body, CASE, &c, NULL, 0);
    s_sign(&w, "consent-set", &body, &rq);
    s_new(&ev, "consent-set", "school", NULL, HOUR);
    s_u(&ev, "seq", 2);
    s_s(&ev, "state", "withdrawn");
    s_u(&ev, "until", 0);
    s_evidence(&ev, &rq);
    s_done(&ev);
    s_open_as(&ev.en, "auditor", &w.auditor, &et);
    assert_int_equal(et.status, ZN_TEXT_NONE);
    assert_false(et.mismatch);
    free(rq.req);
    msgpack_sbuffer_destroy(&body);

    /* a consent-set request whose body is not one */
    msgpack_sbuffer_init(&body);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_uint64(&pk, 7);
    s_sign(&w, "consent-set", &body, &rq);
    s_evidence(&ev, &rq);
    s_open_as(&ev.en, "auditor", &w.auditor, &et);
    assert_int_equal(et.status, ZN_TEXT_UNREADABLE);
    assert_non_null(strstr(et.what, "body cannot be read"));
    free(rq.req);
    msgpack_sbuffer_destroy(&body);
    s_world_free(&w);
}

static const char JUST[] = "Het kind vertelde over geweld thuis; de veiligheid vraagt om overleg met de politie.";

static void test_evidence_override_texts(void **state)
{
    (void)state;
    s_setup_ids();
    s_world w;
    s_world_init(&w);
    static const char readers[3][ZN_IDENT_MAX] = {"auditor", "auditor2", "coordinator"};
    msgpack_sbuffer sealed, body;
    s_req rq;
    s_ev ev;
    zn_evidence_text et;

    /* override-new: the justification */
    s_seal(&w, readers, 3, JUST, &sealed);
    zn_override_new_body ob;
    memset(&ob, 0, sizeof ob);
    memcpy(ob.id, OVR[0], 16);
    memcpy(ob.case_id, CASE, 16);
    strcpy(ob.to, "politie");
    ob.step = 2;
    msgpack_sbuffer_init(&body);
    zn_body_override_new_enc(&body, &ob, (const uint8_t *)sealed.data, sealed.size);
    s_sign(&w, "override-new", &body, &rq);
    s_new(&ev, "override-new", "school", "politie", HOUR);
    s_b(&ev, "override", OVR[0], 16);
    s_u(&ev, "step", 2);
    s_u(&ev, "expires", T0 + 14 * DAY);
    s_u(&ev, "review_by", T0 + 3 * DAY);
    s_evidence(&ev, &rq);
    s_done(&ev);
    s_open_as(&ev.en, "coordinator", &w.coord, &et);
    assert_int_equal(et.status, ZN_TEXT_OPENED);
    assert_string_equal(et.text, JUST);
    assert_false(et.mismatch);
    ev.en.counterpart = "ggd";
    s_open_as(&ev.en, "auditor", &w.auditor, &et);
    assert_true(et.mismatch);
    assert_non_null(strstr(et.what, "to politie in the signed request, ggd in the entry"));
    ev.en.counterpart = "politie";
    ev.det[3].u64 = 3; /* expires, override, review_by, step */
    assert_string_equal(ev.det[3].key, "step");
    s_open_as(&ev.en, "auditor", &w.auditor, &et);
    assert_true(et.mismatch);
    assert_non_null(strstr(et.what, "step 2 in the signed request, 3 in the entry"));
    ev.det[3].u64 = 2;
    ev.det[1].p = OVR[1];
    s_open_as(&ev.en, "auditor", &w.auditor, &et);
    assert_true(et.mismatch);
    assert_non_null(strstr(et.what, "override "));
    free(rq.req);
    msgpack_sbuffer_destroy(&body);
    msgpack_sbuffer_destroy(&sealed);

    /* override-review: the note, and the decision against the entry's state */
    static const char nreaders[3][ZN_IDENT_MAX] = {"auditor", "auditor2", "school"};
    s_seal(&w, nreaders, 3, "Onvoldoende onderbouwd.", &sealed);
    msgpack_sbuffer_init(&body);
    zn_body_override_review_enc(&body, OVR[0], false, (const uint8_t *)sealed.data, sealed.size);
    s_sign(&w, "override-review", &body, &rq);
    s_new(&ev, "override-review", "school", "school", DAY);
    s_b(&ev, "override", OVR[0], 16);
    s_s(&ev, "state", "rejected");
    s_evidence(&ev, &rq);
    s_done(&ev);
    s_open_as(&ev.en, "auditor2", &w.auditor2, &et);
    assert_int_equal(et.status, ZN_TEXT_OPENED);
    assert_string_equal(et.text, "Onvoldoende onderbouwd.");
    assert_false(et.mismatch);
    ev.det[1].p = (const uint8_t *)"approved";
    s_open_as(&ev.en, "auditor2", &w.auditor2, &et);
    assert_true(et.mismatch);
    assert_non_null(strstr(et.what, "state rejected in the signed request, approved in the entry"));
    s_open_as(&ev.en, "coordinator", &w.coord, &et);
    assert_int_equal(et.status, ZN_TEXT_NOT_FOR_YOU);
    free(rq.req);
    msgpack_sbuffer_destroy(&body);
    msgpack_sbuffer_destroy(&sealed);

    /* handover-decline: the reason */
    static const char rreaders[3][ZN_IDENT_MAX] = {"auditor", "auditor2", "school"};
    s_seal(&w, rreaders, 3, "Geen plek in ons team.", &sealed);
    msgpack_sbuffer_init(&body);
    zn_body_handover_decline_enc(&body, HO[0], (const uint8_t *)sealed.data, sealed.size);
    s_sign(&w, "handover-decline", &body, &rq);
    s_new(&ev, "handover-decline", "school", "school", DAY);
    s_b(&ev, "handover", HO[0], 16);
    s_evidence(&ev, &rq);
    s_done(&ev);
    s_open_as(&ev.en, "auditor", &w.auditor, &et);
    assert_int_equal(et.status, ZN_TEXT_OPENED);
    assert_string_equal(et.text, "Geen plek in ons team.");
    assert_false(et.mismatch);
    free(rq.req);
    msgpack_sbuffer_destroy(&body);
    msgpack_sbuffer_destroy(&sealed);
    s_world_free(&w);
}

static const char REASON[] = "Geen capaciteit; de wijkagent is niet de juiste regisseur voor dit gezin.";

/* handover-decline entries in the report of a log, the reason opened from real signed requests */
static void test_decline_report(void **state)
{
    (void)state;
    s_setup_ids();
    s_world w;
    s_world_init(&w);
    /* sealed to the offering partner and the auditors (not to the coordinator) */
    static const char readers[3][ZN_IDENT_MAX] = {"auditor", "auditor2", "politie"};
    msgpack_sbuffer sealed, body;
    s_seal(&w, readers, 3, REASON, &sealed);
    msgpack_sbuffer_init(&body);
    zn_body_handover_decline_enc(&body, HO[0], (const uint8_t *)sealed.data, sealed.size);
    s_req rq;
    s_sign(&w, "handover-decline", &body, &rq); /* signed by school, which declines */

    zn_orep *r = zn_orep_new(0);
    assert_non_null(r);
    zn_evidence_text et;
    s_ev ev;
    /* 1. the auditor reads the reason */
    s_decline(&ev, 0, "school", "politie", DAY);
    s_evidence(&ev, &rq);
    s_done(&ev);
    s_open_as(&ev.en, "auditor", &w.auditor, &et);
    assert_int_equal(et.status, ZN_TEXT_OPENED);
    s_ofeed(r, &ev, &et);
    /* 2. the same entry read by the coordinator: not sealed to it */
    s_open_as(&ev.en, "coordinator", &w.coord, &et);
    assert_int_equal(et.status, ZN_TEXT_NOT_FOR_YOU);
    s_ofeed(r, &ev, &et);
    /* 3. an entry that names another handover than its signed request */
    s_decline(&ev, 1, "school", "politie", 2 * DAY);
    s_evidence(&ev, &rq);
    s_done(&ev);
    s_open_as(&ev.en, "auditor", &w.auditor, &et);
    assert_true(et.mismatch);
    s_ofeed(r, &ev, &et);
    /* 4. an entry without its request as evidence */
    s_decline(&ev, 1, "school", "politie", 3 * DAY);
    s_done(&ev);
    s_open_as(&ev.en, "auditor", &w.auditor, &et);
    assert_int_equal(et.status, ZN_TEXT_UNREADABLE);
    s_ofeed(r, &ev, &et);
    /* a refused decline and other entries are not listed here */
    s_decline(&ev, 0, "school", "politie", 4 * DAY);
    ev.en.decision = ZN_AUDIT_REFUSED;
    ev.en.reason = "already-decided";
    s_evidence(&ev, &rq);
    s_done(&ev);
    s_open_as(&ev.en, "auditor", &w.auditor, &et);
    s_ofeed(r, &ev, &et);
    s_new(&ev, "handover-accept", "politie", "school", 5 * DAY);
    s_b(&ev, "handover", HO[1], 16);
    s_ofeed(r, &ev, NULL);
    sodium_memzero(&et, sizeof et);

    zn_orep_view v;
    zn_orep_view_get(r, &v);
    assert_int_equal(v.n_declines.n, 4);
    assert_int_equal(v.n_declines.more, 0);
    assert_int_equal(v.n_handovers.n + v.n_overrides.n + v.n_orphans.n, 0);
    const zn_orep_decline *d = &v.declines[0];
    assert_int_equal(d->index, 0);
    assert_int_equal(d->time_ms, T0 + DAY);
    assert_true(d->has_case);
    assert_memory_equal(d->case_id, CASE, 16);
    assert_true(d->has_handover);
    assert_memory_equal(d->handover, HO[0], 16);
    assert_string_equal(d->by, "school");
    assert_string_equal(d->handler, "J. de Vries");
    assert_string_equal(d->offered_by, "politie");
    assert_int_equal(d->reason_status, ZN_TEXT_OPENED);
    assert_string_equal(d->reason, REASON);
    assert_null(d->mismatch);
    d = &v.declines[1];
    assert_int_equal(d->reason_status, ZN_TEXT_NOT_FOR_YOU);
    assert_string_equal(d->reason, "");
    assert_null(d->mismatch);
    d = &v.declines[2];
    assert_memory_equal(d->handover, HO[1], 16);
    assert_int_equal(d->reason_status, ZN_TEXT_OPENED); /* it opens, but the request disagrees */
    assert_string_equal(d->reason, REASON);
    assert_non_null(d->mismatch);
    assert_non_null(strstr(d->mismatch, "handover 70707070707070707070707070707070 in the signed request, "
                                        "71717171717171717171717171717171 in the entry"));
    d = &v.declines[3];
    assert_int_equal(d->reason_status, ZN_TEXT_UNREADABLE);
    assert_string_equal(d->reason, "");
    assert_non_null(d->mismatch);
    assert_non_null(strstr(d->mismatch, "no signed request"));
    zn_orep_free(&r);
    assert_null(r);
    free(rq.req);
    msgpack_sbuffer_destroy(&body);
    msgpack_sbuffer_destroy(&sealed);
    s_world_free(&w);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_case),
        cmocka_unit_test(test_granted_then_withdrawn),
        cmocka_unit_test(test_send_before_any_consent_and_missing_fields),
        cmocka_unit_test(test_expired_consent),
        cmocka_unit_test(test_scope_and_regisseur),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_anonymous_and_link),
        cmocka_unit_test(test_link_told_outside_scope),
        cmocka_unit_test(test_handover_and_regisseur),
        cmocka_unit_test(test_recorder_after_handover),
        cmocka_unit_test(test_consent_record_problems),
        cmocka_unit_test(test_drop_causes),
        cmocka_unit_test(test_consent_expire_cause),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_long_case),
        cmocka_unit_test(test_many_overrides),
        cmocka_unit_test(test_override_report),
        cmocka_unit_test(test_override_report_caps),
        cmocka_unit_test(test_evidence_consent_purpose),
        cmocka_unit_test(test_evidence_override_texts),
        cmocka_unit_test(test_decline_report),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
