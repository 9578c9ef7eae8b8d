/* itest_cases — cases, consent, safety overrides, anonymous mode and warm handovers against the
 * real zorgnetd on loopback, with raw protocol frames: signed requests built with the zn_case
 * encoders at the broker's time, free text sealed with zn_sealed_build to the readers the
 * convenant gives (and to the wrong ones), envelopes sealed as a partner seals them. Covered:
 * anonymous and identified cases, who may read and close a case, membership, consent and the
 * capacity rules, consent expiry and withdrawal (the queue is purged and the sender told), the
 * safety override (its checks, review, rejection, expiry and escalation), warm handovers (offer,
 * accept, decline, timeout), linking a person, the i-checked flag, the audit entry and basis
 * of every decision, and malformed bodies that change nothing.
 *
 * In network 0-12-binnenstad: A = school, B = wijkracht, C = politie (partners); ggd is a
 * partner of 12-18 only; "coordinator" coordinates both networks; "auditor" audits. The clock
 * is moved by restarting the broker with --clock-offset. Pseudonyms are made as a partner makes
 * them (zn_pseudonym with the network key the harness holds) from synthetic BSNs. Every wait is
 * bounded. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "cases.h" /* ZN_CASES_TICK_EVERY_MS */
#include "harness.h"
#include "zn_audit.h"
#include "zn_auditlog.h"
#include "zn_auditreq.h"
#include "zn_case.h"
#include "zn_pseudonym.h"
#include "zn_sealed.h"

#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_HOUR_S 3600ll
#define S_DAY_S (24ll * 3600)
#define S_NOTES_MAX 48
#define S_WINDOW 16
#define S_LOG_PAGES 64

#define A ZH_SCHOOL
#define B ZH_WIJKRACHT
#define C ZH_POLITIE
#define X ZH_GGD /* a partner of the other network only */
#define COORD ZH_COORD
#define AUD ZH_AUDITOR

/* synthetic BSNs (11-proef) */
#define P1 "999990007"
#define P2 "999990019"
#define P3 "999990020"

#define JUST "Het kind meldde geweld thuis; de veiligheid vraagt om direct overleg met de politie."
#define JUST_SHORT "Zorg om veiligheid, direct overleg nodig" /* 40 bytes */
#define JUST_39 "Zorg om veiligheid: direct overleg nodi"  /* 39 bytes: one short */

/* ---- fixture ------------------------------------------------------------------------------- */

typedef struct {
    zh_env *h;
    zn_convenant *conv;   /* the convenant file as the broker reads it (for sealing) */
    void *req[ZH_NPARTY]; /* window-0 connections for requests, opened on first use */
    int64_t offset_s;     /* the running broker's --clock-offset */
    uint32_t corr;
    uint64_t last_index;  /* the audit index the last ACCEPTED named */
    char last_err[ZN_IDENT_MAX + ZN_ERR_TEXT_MAX + 4]; /* code and text of the last refusal */
} s_t;

static void s_conv_load(s_t *t)
{
    zn_convenant_destroy(&t->conv);
    zn_err e;
    zn_err_clear(&e);
    if (zn_convenant_load(t->h->conv_path, &t->conv, &e) != 0)
        fail_msg("the test convenant does not load: %s", e.text);
}

static int s_setup(void **state)
{
    s_t *t = calloc(1, sizeof *t);
    if (!t)
        return -1;
    t->h = zh_env_new(0);
    if (!t->h || zh_broker_start(t->h) != 0) {
        zh_env_destroy(&t->h);
        free(t);
        return -1;
    }
    zn_err e;
    if (zn_convenant_load(t->h->conv_path, &t->conv, &e) != 0) {
        zh_env_destroy(&t->h);
        free(t);
        return -1;
    }
    t->corr = 100;
    *state = t;
    return 0;
}

static int s_teardown(void **state)
{
    s_t *t = *state;
    zn_convenant_destroy(&t->conv);
    int rc = zh_env_finish(&t->h);
    free(t);
    return rc;
}

static uint64_t s_now(const s_t *t) { return zh_now_ms() + (uint64_t)(t->offset_s * 1000); }

static void s_drop_conns(s_t *t)
{
    for (int i = 0; i < ZH_NPARTY; i++)
        zh_close(t->h, &t->req[i]);
}

/* Stop the broker cleanly (when one runs), apply convenant edits (key, value, ..., NULL), start it
 * with the clock `offset_s` seconds ahead. */
static void s_restart(s_t *t, int64_t offset_s, const char *const *edits)
{
    s_drop_conns(t);
    if (t->h->pid > 0)
        assert_int_equal(zh_broker_stop(t->h, SIGTERM, 10000), 0);
    for (size_t i = 0; edits && edits[i]; i += 2)
        assert_int_equal(zh_convenant_edit(t->h, edits[i], edits[i + 1]), 0);
    char off[32];
    snprintf(off, sizeof off, "%lld", (long long)offset_s);
    const char *const args[] = {"--clock-offset", off, NULL};
    assert_int_equal(zh_broker_start_args(t->h, offset_s ? args : NULL), 0);
    t->offset_s = offset_s;
    s_conv_load(t);
}

static void *s_conn(s_t *t, int party)
{
    if (!t->req[party]) {
        void *s = zh_connect_party(t->h, party);
        assert_non_null(s);
        assert_int_equal(zh_hello(s, t->corr++, t->h->version, 0), 0);
        t->req[party] = s;
    }
    return t->req[party];
}

static const char *s_id(const s_t *t, int party) { return t->h->party[party].id; }

static const char *s_code(zn_code c) { return c == ZN_E_OK ? "a RESULT" : zn_code_name(c); }

/* ---- requests ------------------------------------------------------------------------------ */

/* A signed request of `kind` by party at the broker's time, with raw body bytes. ZN_E_OK with the
 * RESULT in *m (when m is given; free it), or the refusal's code (text in last_err). */
static zn_code s_call_raw(s_t *t, int party, const char *kind, const void *body, size_t len, zh_msg *m)
{
    zh_msg tmp;
    zh_msg *r = m ? m : &tmp;
    uint32_t corr = t->corr++;
    t->last_err[0] = '\0';
    int rc = zh_request_call(t->h, s_conn(t, party), corr, party, kind, NULL, s_now(t), (const uint8_t *)body, len, r,
                             2 * ZH_TIMEOUT, NULL);
    if (rc < 0) {
        zh_log_dump(t->h);
        fail_msg("%s by %s: no RESULT or ERROR", kind, s_id(t, party));
    }
    if (rc == 1) {
        zn_code c = r->f.u.error.code;
        snprintf(t->last_err, sizeof t->last_err, "%s: %s", r->f.u.error.name, r->f.u.error.text);
        if (!r->f.u.error.text[0])
            fail_msg("%s by %s refused with %s and no sentence", kind, s_id(t, party), r->f.u.error.name);
        zh_msg_free(r);
        return c;
    }
    if (!m)
        zh_msg_free(r);
    return ZN_E_OK;
}

static zn_code s_call(s_t *t, int party, const char *kind, const msgpack_sbuffer *body, zh_msg *m)
{
    return s_call_raw(t, party, kind, body->data, body->size, m);
}

static void s_want(s_t *t, const char *what, int party, zn_code got, zn_code want)
{
    if (got != want)
        fail_msg("%s by %s: expected %s, got %s (%s)", what, s_id(t, party), s_code(want), s_code(got), t->last_err);
}

/* Send body as `kind` and expect `want` (a RESULT for ZN_E_OK); the body is consumed. */
static void s_expect_sb(s_t *t, int party, const char *kind, msgpack_sbuffer *body, zn_code want)
{
    zn_code got = s_call(t, party, kind, body, NULL);
    msgpack_sbuffer_destroy(body);
    s_want(t, kind, party, got, want);
}

static void s_psn(const s_t *t, const char *bsn, uint8_t out[ZN_PSN_LEN])
{
    zn_err e;
    zn_err_clear(&e);
    if (zn_pseudonym(out, &t->h->netkey, bsn, &e) != 0)
        fail_msg("pseudonym of a test BSN: %s", e.text);
}

/* Free text sealed to the readers `who` names (network 0, partner for ZN_READ_PARTNER), packed
 * into a fresh sbuffer the caller destroys. */
static void s_sealed(s_t *t, msgpack_sbuffer *out, unsigned who, const char *partner, const char *text)
{
    char readers[ZN_SEALED_READERS_MAX][ZN_IDENT_MAX];
    zn_err e;
    zn_err_clear(&e);
    msgpack_sbuffer_init(out);
    int n = zn_sealed_readers(t->conv, who, 0, partner, readers, ZN_SEALED_READERS_MAX, &e);
    if (n <= 0)
        fail_msg("readers %u: %s", who, e.text);
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    if (zn_sealed_build(&pk, t->conv, (const char(*)[ZN_IDENT_MAX])readers, (size_t)n, text, strlen(text), &e) != 0)
        fail_msg("sealing a text: %s", e.text);
}

/* The RESULT body's array of n fields (fails on another shape). */
static const msgpack_object *s_res(const zh_msg *m, uint32_t n)
{
    const msgpack_object *a = zn_obj_array(m->f.u.result.body, n);
    if (!a)
        fail_msg("RESULT %s: not an array of %u", m->f.u.result.kind, n);
    return a;
}

static uint64_t s_res_u64(const zh_msg *m, uint32_t n, uint32_t i)
{
    uint64_t v = 0;
    if (zn_obj_u64(&s_res(m, n)[i], &v) != 0)
        fail_msg("RESULT %s: field %u is not a number", m->f.u.result.kind, i);
    return v;
}

static void s_res_id(const zh_msg *m, uint32_t n, uint32_t i, uint8_t out[ZN_ID_LEN])
{
    if (zn_obj_bin_fixed(&s_res(m, n)[i], out, ZN_ID_LEN) != 0)
        fail_msg("RESULT %s: field %u is not an id", m->f.u.result.kind, i);
}

/* ---- cases --------------------------------------------------------------------------------- */

/* case-new by party in network; identified when bsn is given (with related BSNs, NULL-ended). */
static zn_code s_case_new_ex(s_t *t, int party, const char *network, const char *bsn, const char *const *related,
                             uint8_t id[ZN_ID_LEN])
{
    zn_case_new_body b;
    memset(&b, 0, sizeof b);
    zh_random(b.id, ZN_ID_LEN);
    memcpy(id, b.id, ZN_ID_LEN);
    snprintf(b.network, sizeof b.network, "%s", network);
    if (bsn) {
        b.identified = true;
        s_psn(t, bsn, b.person);
        for (size_t i = 0; related && related[i]; i++)
            s_psn(t, related[i], b.related[b.n_related++]);
    }
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    assert_int_equal(zn_body_case_new_enc(&sb, &b), 0);
    zh_msg m;
    zn_code c = s_call(t, party, "case-new", &sb, &m);
    msgpack_sbuffer_destroy(&sb);
    if (c == ZN_E_OK) {
        uint8_t got[ZN_ID_LEN];
        s_res_id(&m, 1, 0, got);
        assert_memory_equal(got, id, ZN_ID_LEN);
        zh_msg_free(&m);
    }
    return c;
}

static void s_case_new(s_t *t, int party, const char *bsn, uint8_t id[ZN_ID_LEN])
{
    s_want(t, "case-new", party, s_case_new_ex(t, party, ZH_NET0, bsn, NULL, id), ZN_E_OK);
}

static zn_code s_id_req(s_t *t, int party, const char *kind, const uint8_t id[ZN_ID_LEN], zh_msg *m)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    zn_body_id_enc(&sb, id);
    zn_code c = s_call(t, party, kind, &sb, m);
    msgpack_sbuffer_destroy(&sb);
    return c;
}

/* case-show into *v (heap: the view is large); ZN_E_OK or the refusal. */
static zn_code s_show(s_t *t, int party, const uint8_t id[ZN_ID_LEN], zn_case_view *v)
{
    zh_msg m;
    zn_code c = s_id_req(t, party, "case-show", id, &m);
    if (c != ZN_E_OK)
        return c;
    zn_err e;
    zn_err_clear(&e);
    memset(v, 0, sizeof *v);
    if (zn_case_view_dec(m.f.u.result.body, v, &e) != 0)
        fail_msg("case-show RESULT does not decode: %s", e.text);
    zh_msg_free(&m);
    assert_memory_equal(v->id, id, ZN_ID_LEN);
    return c;
}

static zn_case_view *s_view_new(void)
{
    zn_case_view *v = calloc(1, sizeof *v);
    assert_non_null(v);
    return v;
}

static const zn_member_row *s_member(const zn_case_view *v, const char *partner)
{
    for (size_t i = 0; i < v->n_members; i++)
        if (strcmp(v->members[i].partner, partner) == 0)
            return &v->members[i];
    return NULL;
}

static void s_expect_regisseur(s_t *t, int party, const uint8_t id[ZN_ID_LEN], const char *regisseur)
{
    zn_case_view *v = s_view_new();
    s_want(t, "case-show", party, s_show(t, party, id, v), ZN_E_OK);
    assert_string_equal(v->regisseur, regisseur);
    free(v);
}

/* ---- consent ------------------------------------------------------------------------------- */

typedef enum { PURPOSE_NONE, PURPOSE_AUDITORS, PURPOSE_WRONG } s_purpose;

/* consent-set by party: state, scope (comma list, ascending; "" none), given_by (ZN_GIVEN_*), age
 * band, until (0: none), purpose. ZN_E_OK with *seq (may be NULL). */
static zn_code s_consent_ex(s_t *t, int party, const uint8_t id[ZN_ID_LEN], zn_consent_state state, const char *scope,
                            unsigned given, zn_age_band band, uint64_t until_ms, s_purpose purpose, uint64_t *seq)
{
    zn_consent c;
    memset(&c, 0, sizeof c);
    c.state = state;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", scope);
    for (char *save = NULL, *p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save))
        snprintf(c.scope[c.n_scope++], ZN_IDENT_MAX, "%s", p);
    c.given_by = given;
    c.age_band = band;
    c.until_ms = until_ms;
    msgpack_sbuffer pb;
    msgpack_sbuffer_init(&pb);
    if (purpose == PURPOSE_AUDITORS)
        s_sealed(t, &pb, ZN_READ_AUDITORS, NULL, "Overleg over de thuissituatie en passende hulp");
    else if (purpose == PURPOSE_WRONG)
        s_sealed(t, &pb, ZN_READ_AUDITORS | ZN_READ_PARTNER, "school", "Overleg over de thuissituatie");
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    zn_body_consent_set_enc(&sb, id, &c, purpose == PURPOSE_NONE ? NULL : (const uint8_t *)pb.data,
                            purpose == PURPOSE_NONE ? 0 : pb.size);
    zh_msg m;
    zn_code code = s_call(t, party, "consent-set", &sb, &m);
    msgpack_sbuffer_destroy(&sb);
    msgpack_sbuffer_destroy(&pb);
    if (code == ZN_E_OK) {
        uint8_t got[ZN_ID_LEN];
        s_res_id(&m, 2, 0, got);
        assert_memory_equal(got, id, ZN_ID_LEN);
        uint64_t s = s_res_u64(&m, 2, 1);
        assert_true(s >= 1);
        if (seq)
            *seq = s;
        zh_msg_free(&m);
    }
    return code;
}

/* A granted consent for scope, given by the client at 16+, with a purpose; returns its seq. */
static uint64_t s_grant(s_t *t, int party, const uint8_t id[ZN_ID_LEN], const char *scope, uint64_t until_ms)
{
    uint64_t seq = 0;
    s_want(t, "consent-set", party,
           s_consent_ex(t, party, id, ZN_CONSENT_GRANTED, scope, ZN_GIVEN_CLIENT, ZN_AGE_16_PLUS, until_ms,
                        PURPOSE_AUDITORS, &seq),
           ZN_E_OK);
    return seq;
}

/* ---- envelopes ----------------------------------------------------------------------------- */

/* An envelope from `from` to `to` on the case, with header flags, sent over from's request
 * connection. ZN_E_OK (msgid and t->last_index written) or the refusal's code. */
static zn_code s_send_flags(s_t *t, int from, int to, const uint8_t case_id[ZN_ID_LEN], uint64_t flags,
                            uint8_t msgid[ZN_ID_LEN])
{
    zn_header hdr;
    memset(&hdr, 0, sizeof hdr);
    zh_random(hdr.msgid, ZN_ID_LEN);
    if (msgid)
        memcpy(msgid, hdr.msgid, ZN_ID_LEN);
    memcpy(hdr.case_id, case_id, ZN_ID_LEN);
    snprintf(hdr.sender, sizeof hdr.sender, "%s", s_id(t, from));
    snprintf(hdr.handler, sizeof hdr.handler, "%s", ZH_HANDLER);
    snprintf(hdr.recipient, sizeof hdr.recipient, "%s", s_id(t, to));
    hdr.time_ms = s_now(t);
    hdr.convenant_version = t->h->version;
    hdr.flags = flags;
    static const char text[] = "Overleg over de casus: graag contact deze week.";
    uint8_t *env = NULL;
    size_t len = 0;
    assert_int_equal(zh_seal_header(t->h, from, &hdr, t->h->party[to].keys.pub.box, text, sizeof text - 1, &env, &len),
                     0);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    uint32_t corr = t->corr++;
    zh_frame_send(&sb, corr, env, len);
    free(env);
    void *sock = s_conn(t, from);
    assert_int_equal(zh_send_sb(sock, &sb), 0);
    msgpack_sbuffer_destroy(&sb);
    t->last_err[0] = '\0';
    for (int i = 0; i < 64; i++) {
        zh_msg m;
        if (zh_recv(sock, 2 * ZH_TIMEOUT, &m) != 0)
            fail_msg("SEND from %s to %s: no answer", s_id(t, from), s_id(t, to));
        if (m.parsed && m.f.corr == corr && m.f.type == ZN_T_ACCEPTED) {
            assert_memory_equal(m.f.u.accepted.msgid, hdr.msgid, ZN_ID_LEN);
            assert_false(m.f.u.accepted.duplicate);
            t->last_index = m.f.u.accepted.audit_index;
            zh_msg_free(&m);
            return ZN_E_OK;
        }
        if (m.parsed && m.f.corr == corr && m.f.type == ZN_T_ERROR) {
            zn_code c = m.f.u.error.code;
            snprintf(t->last_err, sizeof t->last_err, "%s: %s", m.f.u.error.name, m.f.u.error.text);
            if (!m.f.u.error.text[0])
                fail_msg("SEND refused with %s and no sentence", m.f.u.error.name);
            zh_msg_free(&m);
            return c;
        }
        bool pushed = m.parsed && m.f.corr == 0;
        zh_msg_free(&m);
        if (!pushed)
            fail_msg("SEND from %s: an unexpected reply", s_id(t, from));
    }
    fail_msg("SEND from %s: no answer among 64 frames", s_id(t, from));
    return ZN_E_INTERNAL;
}

static zn_code s_send(s_t *t, int from, int to, const uint8_t case_id[ZN_ID_LEN], uint8_t msgid[ZN_ID_LEN])
{
    return s_send_flags(t, from, to, case_id, 0, msgid);
}

static void s_send_expect(s_t *t, int from, int to, const uint8_t case_id[ZN_ID_LEN], zn_code want)
{
    zn_code got = s_send(t, from, to, case_id, NULL);
    if (got != want)
        fail_msg("send %s -> %s: expected %s, got %s (%s)", s_id(t, from), s_id(t, to), s_code(want), s_code(got),
                 t->last_err);
}

/* ---- safety overrides ---------------------------------------------------------------------- */

typedef enum { JUST_OK, JUST_EXACT, JUST_TOO_SHORT, JUST_WRONG_READERS } s_just;

/* override-new by party on the case for `to`, at step; ZN_E_OK with id, expires and review_by. */
static zn_code s_override_ex(s_t *t, int party, const uint8_t case_id[ZN_ID_LEN], const char *to, uint64_t step,
                             s_just just, uint8_t id[ZN_ID_LEN], uint64_t *expires, uint64_t *review_by)
{
    zn_override_new_body b;
    memset(&b, 0, sizeof b);
    zh_random(b.id, ZN_ID_LEN);
    if (id)
        memcpy(id, b.id, ZN_ID_LEN);
    memcpy(b.case_id, case_id, ZN_ID_LEN);
    snprintf(b.to, sizeof b.to, "%s", to);
    b.step = step;
    msgpack_sbuffer jb;
    if (just == JUST_WRONG_READERS)
        s_sealed(t, &jb, ZN_READ_AUDITORS, NULL, JUST);
    else
        s_sealed(t, &jb, ZN_READ_COORDINATORS | ZN_READ_AUDITORS, NULL,
                 just == JUST_OK ? JUST : just == JUST_EXACT ? JUST_SHORT : JUST_39);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    zn_body_override_new_enc(&sb, &b, (const uint8_t *)jb.data, jb.size);
    msgpack_sbuffer_destroy(&jb);
    zh_msg m;
    zn_code c = s_call(t, party, "override-new", &sb, &m);
    msgpack_sbuffer_destroy(&sb);
    if (c == ZN_E_OK) {
        uint8_t got[ZN_ID_LEN];
        s_res_id(&m, 3, 0, got);
        assert_memory_equal(got, b.id, ZN_ID_LEN);
        if (expires)
            *expires = s_res_u64(&m, 3, 1);
        if (review_by)
            *review_by = s_res_u64(&m, 3, 2);
        zh_msg_free(&m);
    }
    return c;
}

static void s_override(s_t *t, int party, const uint8_t case_id[ZN_ID_LEN], int to, uint8_t id[ZN_ID_LEN])
{
    s_want(t, "override-new", party, s_override_ex(t, party, case_id, s_id(t, to), 3, JUST_OK, id, NULL, NULL),
           ZN_E_OK);
}

/* override-review by party; note sealed to the author (partner), the coordinators and auditors
 * when author is given. ZN_E_OK with the state in state_out (may be NULL). */
static zn_code s_review(s_t *t, int party, const uint8_t id[ZN_ID_LEN], bool approve, const char *author,
                        char state_out[ZN_IDENT_MAX])
{
    msgpack_sbuffer nb;
    msgpack_sbuffer_init(&nb);
    if (author) {
        msgpack_sbuffer_destroy(&nb);
        s_sealed(t, &nb, ZN_READ_PARTNER | ZN_READ_COORDINATORS | ZN_READ_AUDITORS, author,
                 approve ? "Terecht: direct gevaar, overleg was nodig."
                         : "Geen direct gevaar; vraag eerst toestemming.");
    }
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    zn_body_override_review_enc(&sb, id, approve, author ? (const uint8_t *)nb.data : NULL, author ? nb.size : 0);
    msgpack_sbuffer_destroy(&nb);
    zh_msg m;
    zn_code c = s_call(t, party, "override-review", &sb, &m);
    msgpack_sbuffer_destroy(&sb);
    if (c == ZN_E_OK) {
        uint8_t got[ZN_ID_LEN];
        s_res_id(&m, 2, 0, got);
        assert_memory_equal(got, id, ZN_ID_LEN);
        char st[ZN_IDENT_MAX];
        assert_int_equal(zn_obj_ident(&s_res(&m, 2)[1], st, sizeof st), 0);
        assert_string_equal(st, approve ? "approved" : "rejected");
        if (state_out)
            snprintf(state_out, ZN_IDENT_MAX, "%s", st);
        zh_msg_free(&m);
    }
    return c;
}

typedef struct {
    uint64_t total;
    size_t n;
    zn_override_row v[ZN_CASE_PAGE];
} s_olist;

/* override-list by party (all or pending only), first page. */
static zn_code s_olist_of(s_t *t, int party, bool all, s_olist *out)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    zn_body_override_list_enc(&sb, all, 0);
    zh_msg m;
    zn_code c = s_call(t, party, "override-list", &sb, &m);
    msgpack_sbuffer_destroy(&sb);
    if (c != ZN_E_OK)
        return c;
    memset(out, 0, sizeof *out);
    out->total = s_res_u64(&m, 2, 0);
    const msgpack_object *rows = &s_res(&m, 2)[1];
    assert_int_equal(rows->type, MSGPACK_OBJECT_ARRAY);
    assert_true(rows->via.array.size <= ZN_CASE_PAGE);
    for (uint32_t i = 0; i < rows->via.array.size; i++) {
        zn_err e;
        zn_err_clear(&e);
        if (zn_override_row_dec(&rows->via.array.ptr[i], &out->v[out->n++], &e) != 0)
            fail_msg("override-row %u does not decode: %s", i, e.text);
        /* the sealed texts point into m: not kept */
        out->v[i].justification = out->v[i].note = NULL;
    }
    zh_msg_free(&m);
    return c;
}

static const zn_override_row *s_orow(const s_olist *l, const uint8_t id[ZN_ID_LEN])
{
    for (size_t i = 0; i < l->n; i++)
        if (memcmp(l->v[i].id, id, ZN_ID_LEN) == 0)
            return &l->v[i];
    return NULL;
}

/* ---- handovers ----------------------------------------------------------------------------- */

static zn_code s_offer(s_t *t, int party, const uint8_t case_id[ZN_ID_LEN], int to, const uint8_t msgid[ZN_ID_LEN],
                       uint8_t id[ZN_ID_LEN], uint64_t *timeout)
{
    zn_handover_offer_body b;
    memset(&b, 0, sizeof b);
    zh_random(b.id, ZN_ID_LEN);
    if (id)
        memcpy(id, b.id, ZN_ID_LEN);
    memcpy(b.case_id, case_id, ZN_ID_LEN);
    snprintf(b.to, sizeof b.to, "%s", s_id(t, to));
    memcpy(b.msgid, msgid, ZN_ID_LEN);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    zn_body_handover_offer_enc(&sb, &b);
    zh_msg m;
    zn_code c = s_call(t, party, "handover-offer", &sb, &m);
    msgpack_sbuffer_destroy(&sb);
    if (c == ZN_E_OK) {
        uint8_t got[ZN_ID_LEN];
        s_res_id(&m, 2, 0, got);
        assert_memory_equal(got, b.id, ZN_ID_LEN);
        if (timeout)
            *timeout = s_res_u64(&m, 2, 1);
        zh_msg_free(&m);
    }
    return c;
}

static zn_code s_accept(s_t *t, int party, const uint8_t id[ZN_ID_LEN], const uint8_t case_id[ZN_ID_LEN])
{
    zh_msg m;
    zn_code c = s_id_req(t, party, "handover-accept", id, &m);
    if (c == ZN_E_OK) {
        uint8_t got[ZN_ID_LEN];
        s_res_id(&m, 2, 0, got);
        assert_memory_equal(got, id, ZN_ID_LEN);
        s_res_id(&m, 2, 1, got);
        assert_memory_equal(got, case_id, ZN_ID_LEN);
        zh_msg_free(&m);
    }
    return c;
}

/* handover-decline by party with a reason sealed to `offerer` and the auditors (wrong: to the
 * auditors only). */
static zn_code s_decline(s_t *t, int party, const uint8_t id[ZN_ID_LEN], const char *offerer, bool wrong)
{
    msgpack_sbuffer rb;
    if (wrong)
        s_sealed(t, &rb, ZN_READ_AUDITORS, NULL, "Geen plek in het team deze maand.");
    else
        s_sealed(t, &rb, ZN_READ_PARTNER | ZN_READ_AUDITORS, offerer, "Geen plek in het team deze maand.");
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    zn_body_handover_decline_enc(&sb, id, (const uint8_t *)rb.data, rb.size);
    msgpack_sbuffer_destroy(&rb);
    zh_msg m;
    zn_code c = s_call(t, party, "handover-decline", &sb, &m);
    msgpack_sbuffer_destroy(&sb);
    if (c == ZN_E_OK) {
        uint8_t got[ZN_ID_LEN];
        s_res_id(&m, 1, 0, got);
        assert_memory_equal(got, id, ZN_ID_LEN);
        zh_msg_free(&m);
    }
    return c;
}

/* ---- case-link ----------------------------------------------------------------------------- */

/* case-link by party with person bsn; ZN_E_OK with the told partners as a comma list. */
static zn_code s_link(s_t *t, int party, const uint8_t case_id[ZN_ID_LEN], const char *bsn, char *told, size_t cap)
{
    zn_case_link_body b;
    memset(&b, 0, sizeof b);
    memcpy(b.case_id, case_id, ZN_ID_LEN);
    s_psn(t, bsn, b.person);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    zn_body_case_link_enc(&sb, &b);
    zh_msg m;
    zn_code c = s_call(t, party, "case-link", &sb, &m);
    msgpack_sbuffer_destroy(&sb);
    if (c == ZN_E_OK) {
        uint8_t got[ZN_ID_LEN];
        s_res_id(&m, 2, 0, got);
        assert_memory_equal(got, case_id, ZN_ID_LEN);
        const msgpack_object *a = &s_res(&m, 2)[1];
        assert_int_equal(a->type, MSGPACK_OBJECT_ARRAY);
        told[0] = '\0';
        for (uint32_t i = 0; i < a->via.array.size; i++) {
            char id[ZN_IDENT_MAX];
            assert_int_equal(zn_obj_ident(&a->via.array.ptr[i], id, sizeof id), 0);
            size_t l = strlen(told);
            snprintf(told + l, cap - l, "%s%s", l ? "," : "", id);
        }
        zh_msg_free(&m);
    }
    return c;
}

/* ---- what partners receive ----------------------------------------------------------------- */

typedef struct {
    bool envelope;
    char type[ZN_IDENT_MAX]; /* notice type; "" for an envelope */
    uint8_t item[ZN_ID_LEN];
    uint8_t case_id[ZN_ID_LEN], msgid[ZN_ID_LEN], override[ZN_ID_LEN], handover[ZN_ID_LEN];
    bool has_case, has_msgid, has_override, has_handover, has_person;
    uint8_t person[ZN_PSN_LEN];
    char sender[ZN_IDENT_MAX], recipient[ZN_IDENT_MAX]; /* envelope; notice "recipient" */
    char from[ZN_IDENT_MAX], to[ZN_IDENT_MAX], by[ZN_IDENT_MAX], state[ZN_IDENT_MAX], reason[ZN_IDENT_MAX];
    char network[ZN_IDENT_MAX], handler[ZN_HANDLER_MAX];
    uint64_t flags, step, expires, review_by, timeout;
} s_note;

typedef struct {
    int n;
    s_note v[S_NOTES_MAX];
} s_inbox;

static void s_nstr(const zn_notice *n, const char *key, char *dst, size_t cap)
{
    const msgpack_object *o = zn_obj_map_get(n->fields, key);
    dst[0] = '\0';
    if (o && zn_obj_text(o, dst, cap) != 0)
        fail_msg("notice %s: field %s is not text", n->type, key);
}

static void s_nu64(const zn_notice *n, const char *key, uint64_t *out)
{
    const msgpack_object *o = zn_obj_map_get(n->fields, key);
    *out = 0;
    if (o && zn_obj_u64(o, out) != 0)
        fail_msg("notice %s: field %s is not a number", n->type, key);
}

static bool s_nbin(const zn_notice *n, const char *key, uint8_t *dst, size_t len)
{
    const msgpack_object *o = zn_obj_map_get(n->fields, key);
    if (!o)
        return false;
    if (zn_obj_bin_fixed(o, dst, len) != 0)
        fail_msg("notice %s: field %s is not %zu bytes", n->type, key, len);
    return true;
}

static void s_note_from(const zh_msg *m, s_note *x)
{
    memset(x, 0, sizeof *x);
    memcpy(x->item, m->f.u.deliver.item_id, ZN_ID_LEN);
    if (m->f.u.deliver.kind == ZN_ITEM_ENVELOPE) {
        const zn_header *h = &m->f.u.deliver.env.h;
        x->envelope = true;
        x->has_case = x->has_msgid = true;
        memcpy(x->case_id, h->case_id, ZN_ID_LEN);
        memcpy(x->msgid, h->msgid, ZN_ID_LEN);
        snprintf(x->sender, sizeof x->sender, "%s", h->sender);
        snprintf(x->recipient, sizeof x->recipient, "%s", h->recipient);
        x->flags = h->flags;
        return;
    }
    const zn_notice *n = &m->f.u.deliver.notice;
    snprintf(x->type, sizeof x->type, "%s", n->type);
    x->has_case = s_nbin(n, "case", x->case_id, ZN_ID_LEN);
    x->has_msgid = s_nbin(n, "msgid", x->msgid, ZN_ID_LEN);
    x->has_override = s_nbin(n, "override", x->override, ZN_ID_LEN);
    x->has_handover = s_nbin(n, "handover", x->handover, ZN_ID_LEN);
    x->has_person = s_nbin(n, "person", x->person, ZN_PSN_LEN);
    s_nstr(n, "recipient", x->recipient, sizeof x->recipient);
    s_nstr(n, "from", x->from, sizeof x->from);
    s_nstr(n, "to", x->to, sizeof x->to);
    s_nstr(n, "by", x->by, sizeof x->by);
    s_nstr(n, "state", x->state, sizeof x->state);
    s_nstr(n, "reason", x->reason, sizeof x->reason);
    s_nstr(n, "network", x->network, sizeof x->network);
    s_nstr(n, "handler", x->handler, sizeof x->handler);
    s_nu64(n, "step", &x->step);
    s_nu64(n, "expires", &x->expires);
    s_nu64(n, "review_by", &x->review_by);
    s_nu64(n, "timeout", &x->timeout);
}

/* Read DELIVERs until IDLE, acknowledging each, into box. */
static void s_take(s_t *t, void *sock, s_inbox *box, int timeout_ms)
{
    for (int guard = 0; guard < 4 * S_NOTES_MAX; guard++) {
        zh_msg m;
        if (zh_recv(sock, timeout_ms, &m) != 0)
            fail_msg("no IDLE within %d ms after %d items", timeout_ms, box->n);
        if (!m.parsed)
            fail_msg("a pushed frame does not parse: %s", m.e.text);
        if (m.f.type == ZN_T_IDLE) {
            zh_msg_free(&m);
            return;
        }
        if (m.f.type != ZN_T_DELIVER)
            fail_msg("expected DELIVER or IDLE, got frame type %u", m.f.type);
        if (box->n >= S_NOTES_MAX)
            fail_msg("more than %d items", S_NOTES_MAX);
        s_note_from(&m, &box->v[box->n++]);
        assert_int_equal(zh_ack(sock, t->corr++, m.f.u.deliver.item_id), 0);
        zh_msg_free(&m);
    }
    fail_msg("no IDLE among %d frames", 4 * S_NOTES_MAX);
}

/* A connection with a window: what was queued is taken (acknowledged) into box. */
static void *s_listen(s_t *t, int party, s_inbox *box)
{
    memset(box, 0, sizeof *box);
    void *s = zh_connect_party(t->h, party);
    assert_non_null(s);
    assert_int_equal(zh_hello(s, t->corr++, t->h->version, S_WINDOW), 0);
    s_take(t, s, box, 2 * ZH_TIMEOUT);
    return s;
}

/* Connect as party, take everything queued for it (acknowledged and committed), leave. */
static void s_inbox_of(s_t *t, int party, s_inbox *box)
{
    void *s = s_listen(t, party, box);
    assert_int_equal(zh_sync(s, t->corr++, NULL), 0);
    zh_close(t->h, &s);
}

static int s_count(const s_inbox *b, const char *type)
{
    int n = 0;
    for (int i = 0; i < b->n; i++)
        n += type ? strcmp(b->v[i].type, type) == 0 : b->v[i].envelope;
    return n;
}

/* The only notice of `type` in box (fails when there is not exactly one). */
static const s_note *s_one(const s_inbox *b, const char *type, const char *whose)
{
    const s_note *x = NULL;
    for (int i = 0; i < b->n; i++)
        if (!b->v[i].envelope && strcmp(b->v[i].type, type) == 0) {
            if (x)
                fail_msg("%s got more than one \"%s\" notice", whose, type);
            x = &b->v[i];
        }
    if (!x)
        fail_msg("%s got no \"%s\" notice (%d items in all)", whose, type, b->n);
    return x;
}

static const s_note *s_env_in(const s_inbox *b, const uint8_t msgid[ZN_ID_LEN])
{
    for (int i = 0; i < b->n; i++)
        if (b->v[i].envelope && memcmp(b->v[i].msgid, msgid, ZN_ID_LEN) == 0)
            return &b->v[i];
    return NULL;
}

/* ---- the audit log, read by the auditor ------------------------------------------------------ */

typedef struct {
    uint8_t *buf;
    zn_doc doc;
    zn_audit_entry en;
    zn_audit_detail det[ZN_AUDIT_DETAILS_MAX];
} s_ent;

typedef struct {
    s_ent *e;
    size_t n, cap;
} s_log;

/* Every entry with content, read page by page with "audit-read" by the auditor (itself a signed
 * request the broker records). */
static void s_log_read(s_t *t, s_log *lg)
{
    memset(lg, 0, sizeof *lg);
    uint64_t from = 0, bound = 0;
    for (int page = 0; page < S_LOG_PAGES; page++) {
        zn_audit_filter f;
        memset(&f, 0, sizeof f);
        f.what = ZN_READ_ENTRIES;
        f.from = from;
        f.upto = bound; /* the log grows with every read (each is recorded): stop at its first size */
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        assert_int_equal(zn_body_audit_read(&sb, &f), 0);
        zh_msg m;
        zn_code c = s_call(t, AUD, "audit-read", &sb, &m);
        msgpack_sbuffer_destroy(&sb);
        if (c != ZN_E_OK)
            fail_msg("audit-read by the auditor refused: %s", t->last_err);
        uint64_t size = 0, next = 0;
        const msgpack_object *recs = NULL;
        uint32_t n = 0;
        zn_err e;
        zn_err_clear(&e);
        if (zn_result_audit_read_parse(m.f.u.result.body, &size, &next, &recs, &n, &e) != 0)
            fail_msg("audit-read RESULT: %s", e.text);
        for (uint32_t i = 0; i < n; i++) {
            const msgpack_object *r = &recs[i];
            zn_doc rdoc = {0};
            zn_auditlog_rec rec;
            if (zn_auditlog_parse((const uint8_t *)r->via.bin.ptr, r->via.bin.size, &rdoc, &rec, &e) != 0)
                fail_msg("audit record: %s", e.text);
            zn_doc_free(&rdoc);
            if (rec.type != ZN_AUDITLOG_ENTRY || !rec.bytes)
                continue;
            if (lg->n == lg->cap) {
                size_t cap = lg->cap ? 2 * lg->cap : 256;
                s_ent *v = realloc(lg->e, cap * sizeof *v);
                assert_non_null(v);
                lg->e = v;
                lg->cap = cap;
            }
            s_ent *x = &lg->e[lg->n];
            memset(x, 0, sizeof *x);
            x->buf = malloc(rec.len);
            assert_non_null(x->buf);
            memcpy(x->buf, rec.bytes, rec.len);
            if (zn_audit_entry_decode(x->buf, rec.len, &x->doc, &x->en, x->det, &e) != 0)
                fail_msg("audit entry %llu does not decode: %s", (unsigned long long)rec.index, e.text);
            lg->n++;
        }
        zh_msg_free(&m);
        if (page == 0)
            bound = size;
        if (n == 0 || next >= bound)
            return;
        from = next;
    }
    fail_msg("the audit log did not end within %d pages", S_LOG_PAGES);
}

static void s_log_free(s_log *lg)
{
    for (size_t i = 0; i < lg->n; i++) {
        zn_doc_free(&lg->e[i].doc);
        free(lg->e[i].buf);
    }
    free(lg->e);
    memset(lg, 0, sizeof *lg);
}

static bool s_is(const char *s, const char *want) { return s && strcmp(s, want) == 0; }

static const zn_audit_detail *s_det(const s_ent *x, const char *key)
{
    for (size_t i = 0; i < x->en.n_details; i++)
        if (strcmp(x->det[i].key, key) == 0)
            return &x->det[i];
    return NULL;
}

static bool s_det_str(const s_ent *x, const char *key, const char *want)
{
    const zn_audit_detail *d = s_det(x, key);
    return d && d->type == ZN_AUDIT_STR && d->len == strlen(want) && memcmp(d->p, want, d->len) == 0;
}

static bool s_det_bin(const s_ent *x, const char *key, const uint8_t *want, size_t n)
{
    const zn_audit_detail *d = s_det(x, key);
    return d && d->type == ZN_AUDIT_BIN && d->len == n && memcmp(d->p, want, n) == 0;
}

static bool s_det_u64(const s_ent *x, const char *key, uint64_t want)
{
    const zn_audit_detail *d = s_det(x, key);
    return d && d->type == ZN_AUDIT_U64 && d->u64 == want;
}

static uint64_t s_det_num(const s_ent *x, const char *key)
{
    const zn_audit_detail *d = s_det(x, key);
    if (!d || d->type != ZN_AUDIT_U64)
        fail_msg("audit entry %s has no number %s", x->en.action, key);
    return d->u64;
}

/* A filter over entries; NULL fields match anything; reason and basis "" mean "none". */
typedef struct {
    const char *action, *actor, *counterpart, *reason, *basis;
    zn_audit_decision decision; /* 0: any */
    const uint8_t *case_id;     /* NULL: any */
    const char *key;            /* an id detail that must match (with id) */
    const uint8_t *id;
} s_q;

static bool s_opt(const char *got, const char *want)
{
    return !want || (want[0] ? s_is(got, want) : got == NULL);
}

static bool s_match_q(const s_ent *x, const s_q *q)
{
    if (q->action && !s_is(x->en.action, q->action))
        return false;
    if (q->actor && (q->actor[0] ? !s_is(x->en.actor, q->actor) : x->en.actor != NULL))
        return false;
    if (q->counterpart && !s_is(x->en.counterpart, q->counterpart))
        return false;
    if (q->decision && x->en.decision != q->decision)
        return false;
    if (!s_opt(x->en.reason, q->reason) || !s_opt(x->en.basis, q->basis))
        return false;
    if (q->case_id && (!x->en.case_id || memcmp(x->en.case_id, q->case_id, ZN_ID_LEN) != 0))
        return false;
    if (q->key && !s_det_bin(x, q->key, q->id, ZN_ID_LEN))
        return false;
    return true;
}

static int s_log_count(const s_log *lg, s_q q)
{
    int n = 0;
    for (size_t i = 0; i < lg->n; i++)
        n += s_match_q(&lg->e[i], &q);
    return n;
}

static const s_ent *s_log_one(const s_log *lg, s_q q)
{
    const s_ent *x = NULL;
    for (size_t i = 0; i < lg->n; i++)
        if (s_match_q(&lg->e[i], &q)) {
            if (x)
                fail_msg("more than one audit entry %s by %s", q.action, q.actor ? q.actor : "the broker");
            x = &lg->e[i];
        }
    if (!x)
        fail_msg("no audit entry %s by %s%s%s%s%s", q.action, q.actor && q.actor[0] ? q.actor : "the broker",
                 q.reason ? " reason " : "", q.reason ? q.reason : "", q.basis ? " basis " : "",
                 q.basis ? q.basis : "");
    return x;
}

static const s_ent *s_log_at(const s_log *lg, uint64_t index)
{
    for (size_t i = 0; i < lg->n; i++)
        if (lg->e[i].en.index == index)
            return &lg->e[i];
    fail_msg("no audit entry at index %llu", (unsigned long long)index);
    return NULL;
}

/* The entry has a 16-byte id under key. */
static void s_has_id(const s_ent *x, const char *key)
{
    const zn_audit_detail *d = s_det(x, key);
    if (!d || d->type != ZN_AUDIT_BIN || d->len != ZN_ID_LEN)
        fail_msg("audit entry %s has no 16-byte %s", x->en.action, key);
}

/* The entry carries the signed request of `party` as its evidence. */
static void s_has_request(const s_t *t, const s_ent *x, int party)
{
    if (!s_is(x->en.evidence_kind, "request") || !x->en.evidence || !x->en.evidence_sig)
        fail_msg("audit entry %s by %s carries no signed request", x->en.action, x->en.actor ? x->en.actor : "-");
    assert_int_equal(zn_verify_ns(x->en.evidence_sig, ZN_REQUEST_NS, x->en.evidence, x->en.evidence_len,
                                  t->h->party[party].keys.pub.sign),
                     0);
}

/* The entry carries the signed envelope header of `party` as its evidence. */
static void s_has_header(const s_t *t, const s_ent *x, int party)
{
    if (!s_is(x->en.evidence_kind, "envelope-header") || !x->en.evidence || !x->en.evidence_sig)
        fail_msg("audit entry %s by %s carries no signed header", x->en.action, x->en.actor ? x->en.actor : "-");
    assert_int_equal(zn_verify_ns(x->en.evidence_sig, ZN_ENVELOPE_NS, x->en.evidence, x->en.evidence_len,
                                  t->h->party[party].keys.pub.sign),
                     0);
}

/* Wait (bounded) until the log holds at least n entries matching q; the log is left in lg. */
static void s_log_wait(s_t *t, s_log *lg, s_q q, int n, int timeout_ms)
{
    uint64_t end = zh_now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        s_log_read(t, lg);
        if (s_log_count(lg, q) >= n)
            return;
        if (zh_now_ms() >= end)
            fail_msg("no %d audit entries %s within %d ms (%d found)", n, q.action, timeout_ms, s_log_count(lg, q));
        s_log_free(lg);
        zh_sleep_ms(200);
    }
}

/* ---- 1. case-new ----------------------------------------------------------------------------- */

static void test_case_new_anonymous(void **state)
{
    s_t *t = *state;
    uint8_t kase[ZN_ID_LEN];
    uint64_t before = s_now(t);
    s_case_new(t, A, NULL, kase);
    zn_case_view *v = s_view_new();
    s_want(t, "case-show", A, s_show(t, A, kase, v), ZN_E_OK);
    assert_string_equal(v->network, ZH_NET0);
    assert_string_equal(v->regisseur, "school");
    assert_false(v->identified);
    assert_true(v->created_ms >= before - 1000 && v->created_ms <= s_now(t) + 1000);
    assert_int_equal(v->closed_ms, 0);
    const zn_member_row *r = s_member(v, "school");
    assert_non_null(r);
    assert_string_equal(r->how, "regisseur");
    assert_int_equal(v->consent_seq, 0);
    assert_int_equal(v->consent.state, ZN_CONSENT_NONE);
    assert_int_equal(v->n_handovers, 0);
    assert_int_equal(v->n_overrides, 0);
    free(v);

    /* the same id again: case-exists; an unknown network; a partner without the role there */
    zn_case_new_body b;
    memset(&b, 0, sizeof b);
    memcpy(b.id, kase, ZN_ID_LEN);
    snprintf(b.network, sizeof b.network, "%s", ZH_NET0);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    assert_int_equal(zn_body_case_new_enc(&sb, &b), 0);
    s_expect_sb(t, A, "case-new", &sb, ZN_E_CASE_EXISTS);
    uint8_t other[ZN_ID_LEN];
    s_want(t, "case-new", A, s_case_new_ex(t, A, "18-plus", NULL, NULL, other), ZN_E_UNKNOWN_NETWORK);
    s_want(t, "case-new", X, s_case_new_ex(t, X, ZH_NET0, NULL, NULL, other), ZN_E_NOT_PARTNER);

    s_log lg;
    s_log_read(t, &lg);
    const s_ent *x = s_log_one(&lg, (s_q){.action = "case-new", .actor = "school", .decision = ZN_AUDIT_ALLOWED,
                                          .case_id = kase});
    s_has_request(t, x, A);
    assert_true(s_det_str(x, "network", ZH_NET0));
    assert_null(s_det(x, "subject"));
    assert_null(s_det(x, "related"));
    assert_null(x->en.basis);
    x = s_log_one(&lg, (s_q){.action = "case-new", .actor = "school", .decision = ZN_AUDIT_REFUSED,
                             .reason = "case-exists"});
    s_has_request(t, x, A);
    x = s_log_one(&lg, (s_q){.action = "case-new", .actor = "ggd", .reason = "role-not-allowed"});
    assert_int_equal(x->en.decision, ZN_AUDIT_REFUSED);
    /* the reads were recorded too */
    x = s_log_one(&lg, (s_q){.action = "case-show", .actor = "school", .case_id = kase});
    assert_int_equal(x->en.decision, ZN_AUDIT_ALLOWED);
    s_has_request(t, x, A);
    s_log_free(&lg);
}

static void test_case_new_identified(void **state)
{
    s_t *t = *state;
    uint8_t kase[ZN_ID_LEN], psn[ZN_PSN_LEN], rel[2][ZN_PSN_LEN];
    const char *const related[] = {P2, P3, NULL};
    s_want(t, "case-new", A, s_case_new_ex(t, A, ZH_NET0, P1, related, kase), ZN_E_OK);
    s_psn(t, P1, psn);
    s_psn(t, P2, rel[0]);
    s_psn(t, P3, rel[1]);
    zn_case_view *v = s_view_new();
    s_want(t, "case-show", A, s_show(t, A, kase, v), ZN_E_OK);
    assert_true(v->identified);
    assert_string_equal(v->regisseur, "school");
    assert_int_equal(v->consent.state, ZN_CONSENT_NONE);
    free(v);

    s_log lg;
    s_log_read(t, &lg);
    const s_ent *x = s_log_one(&lg, (s_q){.action = "case-new", .actor = "school", .case_id = kase});
    assert_int_equal(x->en.decision, ZN_AUDIT_ALLOWED);
    s_has_request(t, x, A);
    assert_true(s_det_str(x, "network", ZH_NET0));
    assert_true(s_det_bin(x, "subject", psn, ZN_PSN_LEN));
    const zn_audit_detail *d = s_det(x, "related");
    assert_non_null(d);
    assert_int_equal(d->type, ZN_AUDIT_BIN);
    assert_int_equal(d->len, 2 * ZN_PSN_LEN);
    assert_memory_equal(d->p, rel, 2 * ZN_PSN_LEN);
    s_log_free(&lg);
}

/* ---- 2. case-show and case-close ----------------------------------------------------------- */

static void test_case_show_access(void **state)
{
    s_t *t = *state;
    uint8_t kase[ZN_ID_LEN];
    s_case_new(t, A, NULL, kase);
    s_send_expect(t, A, B, kase, ZN_E_OK); /* B becomes a member by receiving */
    zn_case_view *v = s_view_new();
    s_want(t, "case-show", A, s_show(t, A, kase, v), ZN_E_OK);
    const zn_member_row *r = s_member(v, "wijkracht");
    assert_non_null(r);
    assert_string_equal(r->how, "received");
    assert_null(s_member(v, "politie"));
    s_want(t, "case-show", B, s_show(t, B, kase, v), ZN_E_OK);
    assert_string_equal(v->regisseur, "school");
    s_want(t, "case-show", COORD, s_show(t, COORD, kase, v), ZN_E_OK);
    assert_string_equal(v->network, ZH_NET0);
    s_want(t, "case-show", C, s_show(t, C, kase, v), ZN_E_NOT_MEMBER);
    s_want(t, "case-show", X, s_show(t, X, kase, v), ZN_E_NOT_MEMBER);
    uint8_t unknown[ZN_ID_LEN];
    zh_random(unknown, sizeof unknown);
    s_want(t, "case-show", A, s_show(t, A, unknown, v), ZN_E_UNKNOWN_CASE);
    /* consent-show follows the same rule */
    s_want(t, "consent-show", B, s_id_req(t, B, "consent-show", kase, NULL), ZN_E_OK);
    s_want(t, "consent-show", COORD, s_id_req(t, COORD, "consent-show", kase, NULL), ZN_E_OK);
    s_want(t, "consent-show", C, s_id_req(t, C, "consent-show", kase, NULL), ZN_E_NOT_MEMBER);
    free(v);

    s_log lg;
    s_log_read(t, &lg);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "case-show", .decision = ZN_AUDIT_ALLOWED, .case_id = kase}), 3);
    const s_ent *x = s_log_one(&lg, (s_q){.action = "case-show", .actor = "politie", .case_id = kase});
    assert_int_equal(x->en.decision, ZN_AUDIT_REFUSED);
    assert_string_equal(x->en.reason, "not-member");
    s_has_request(t, x, C);
    x = s_log_one(&lg, (s_q){.action = "case-show", .actor = "coordinator", .case_id = kase});
    assert_int_equal(x->en.decision, ZN_AUDIT_ALLOWED);
    s_has_request(t, x, COORD);
    x = s_log_one(&lg, (s_q){.action = "consent-show", .actor = "politie", .reason = "not-member"});
    assert_int_equal(x->en.decision, ZN_AUDIT_REFUSED);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "case-show", .reason = "unknown-case"}), 1);
    s_log_free(&lg);
}

static void test_case_close(void **state)
{
    s_t *t = *state;
    uint8_t kase[ZN_ID_LEN];
    s_case_new(t, A, NULL, kase);
    s_send_expect(t, A, B, kase, ZN_E_OK);
    /* a member that does not hold the case, and a non-member */
    s_want(t, "case-close", B, s_id_req(t, B, "case-close", kase, NULL), ZN_E_NOT_REGISSEUR);
    s_want(t, "case-close", C, s_id_req(t, C, "case-close", kase, NULL), ZN_E_NOT_REGISSEUR);
    zh_msg m;
    uint64_t before = s_now(t);
    s_want(t, "case-close", A, s_id_req(t, A, "case-close", kase, &m), ZN_E_OK);
    uint8_t got[ZN_ID_LEN];
    s_res_id(&m, 2, 0, got);
    assert_memory_equal(got, kase, ZN_ID_LEN);
    uint64_t closed = s_res_u64(&m, 2, 1);
    zh_msg_free(&m);
    assert_true(closed >= before - 1000 && closed <= s_now(t) + 1000);
    zn_case_view *v = s_view_new();
    s_want(t, "case-show", A, s_show(t, A, kase, v), ZN_E_OK);
    assert_int_equal(v->closed_ms, closed);
    free(v);

    /* nothing more is recorded on a closed case */
    s_want(t, "case-close", A, s_id_req(t, A, "case-close", kase, NULL), ZN_E_CASE_CLOSED);
    s_send_expect(t, A, B, kase, ZN_E_CASE_CLOSED);
    s_send_expect(t, B, A, kase, ZN_E_CASE_CLOSED);
    s_want(t, "consent-set", A,
           s_consent_ex(t, A, kase, ZN_CONSENT_REQUESTED, "wijkracht", 0, ZN_AGE_NONE, 0, PURPOSE_NONE, NULL),
           ZN_E_CASE_CLOSED);

    s_log lg;
    s_log_read(t, &lg);
    const s_ent *x = s_log_one(&lg, (s_q){.action = "case-close", .actor = "school", .decision = ZN_AUDIT_ALLOWED});
    s_has_request(t, x, A);
    assert_true(s_det_u64(x, "closed", closed));
    assert_memory_equal(x->en.case_id, kase, ZN_ID_LEN);
    x = s_log_one(&lg, (s_q){.action = "case-close", .actor = "wijkracht"});
    assert_int_equal(x->en.decision, ZN_AUDIT_REFUSED);
    assert_string_equal(x->en.reason, "not-regisseur");
    s_has_request(t, x, B);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "case-close", .actor = "school", .reason = "case-closed"}), 1);
    x = s_log_one(&lg, (s_q){.action = "send", .actor = "wijkracht", .reason = "case-closed"});
    assert_int_equal(x->en.decision, ZN_AUDIT_REFUSED);
    assert_string_equal(x->en.counterpart, "school");
    s_has_header(t, x, B);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "send", .actor = "school", .reason = "case-closed"}), 1);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "consent-set", .reason = "case-closed"}), 1);
    s_log_free(&lg);
}

/* ---- 3. membership ------------------------------------------------------------------------- */

static void test_membership(void **state)
{
    s_t *t = *state;
    uint8_t kase[ZN_ID_LEN];
    s_case_new(t, A, NULL, kase);
    /* C has nothing to do with the case yet */
    s_send_expect(t, C, A, kase, ZN_E_NOT_MEMBER);
    assert_non_null(strstr(t->last_err, "member"));
    /* B may not answer before it received anything */
    s_send_expect(t, B, A, kase, ZN_E_NOT_MEMBER);
    uint8_t m1[ZN_ID_LEN], m2[ZN_ID_LEN];
    assert_int_equal(s_send(t, A, B, kase, m1), ZN_E_OK);
    uint64_t first = t->last_index;
    assert_int_equal(s_send(t, B, A, kase, m2), ZN_E_OK);
    uint64_t answer = t->last_index;
    /* a partner of another network: neither as recipient nor as sender */
    s_send_expect(t, A, X, kase, ZN_E_NOT_IN_NETWORK);
    s_send_expect(t, X, A, kase, ZN_E_NOT_IN_NETWORK);
    /* an unknown case */
    uint8_t unknown[ZN_ID_LEN];
    zh_random(unknown, sizeof unknown);
    s_send_expect(t, A, B, unknown, ZN_E_UNKNOWN_CASE);

    s_inbox box;
    s_inbox_of(t, B, &box);
    assert_int_equal(s_count(&box, NULL), 1);
    assert_non_null(s_env_in(&box, m1));
    s_inbox_of(t, A, &box);
    assert_int_equal(s_count(&box, NULL), 1);
    assert_non_null(s_env_in(&box, m2));

    s_log lg;
    s_log_read(t, &lg);
    const s_ent *x = s_log_at(&lg, first);
    assert_string_equal(x->en.action, "send");
    assert_int_equal(x->en.decision, ZN_AUDIT_ALLOWED);
    assert_string_equal(x->en.basis, "anonymous");
    assert_string_equal(x->en.counterpart, "wijkracht");
    s_has_id(x, "item");
    assert_null(s_det(x, "consent"));
    assert_null(s_det(x, "override"));
    assert_null(s_det(x, "i_checked"));
    s_has_header(t, x, A);
    x = s_log_at(&lg, answer);
    assert_string_equal(x->en.actor, "wijkracht");
    assert_string_equal(x->en.basis, "anonymous");
    x = s_log_one(&lg, (s_q){.action = "send", .actor = "politie", .reason = "not-member"});
    assert_int_equal(x->en.decision, ZN_AUDIT_REFUSED);
    assert_null(x->en.basis);
    s_has_header(t, x, C);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "send", .actor = "wijkracht", .reason = "not-member"}), 1);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "send", .reason = "not-in-network"}), 2);
    s_log_free(&lg);
}

/* ---- 4. consent ---------------------------------------------------------------------------- */

static void test_consent_required(void **state)
{
    s_t *t = *state;
    uint8_t kase[ZN_ID_LEN];
    s_case_new(t, A, P1, kase);
    s_send_expect(t, A, B, kase, ZN_E_CONSENT_REQUIRED);
    if (!strstr(t->last_err, "anonymous"))
        fail_msg("the consent-required sentence does not point to the anonymous route: %s", t->last_err);
    /* only the regisseur records consent */
    s_want(t, "consent-set", B,
           s_consent_ex(t, B, kase, ZN_CONSENT_GRANTED, "wijkracht", ZN_GIVEN_CLIENT, ZN_AGE_16_PLUS, 0,
                        PURPOSE_AUDITORS, NULL),
           ZN_E_NOT_REGISSEUR);
    /* a scope naming a partner outside the network, or one the convenant does not know */
    s_want(t, "consent-set", A,
           s_consent_ex(t, A, kase, ZN_CONSENT_GRANTED, "ggd", ZN_GIVEN_CLIENT, ZN_AGE_16_PLUS, 0, PURPOSE_AUDITORS,
                        NULL),
           ZN_E_NOT_IN_NETWORK);
    s_want(t, "consent-set", A,
           s_consent_ex(t, A, kase, ZN_CONSENT_GRANTED, "jeugdzorg", ZN_GIVEN_CLIENT, ZN_AGE_16_PLUS, 0,
                        PURPOSE_AUDITORS, NULL),
           ZN_E_UNKNOWN_PARTNER);
    uint64_t seq = s_grant(t, A, kase, "wijkracht", 0);
    uint8_t m1[ZN_ID_LEN];
    assert_int_equal(s_send(t, A, B, kase, m1), ZN_E_OK);
    uint64_t sent = t->last_index;
    s_send_expect(t, A, C, kase, ZN_E_CONSENT_REQUIRED);
    if (!strstr(t->last_err, "anonymous"))
        fail_msg("the consent-required sentence does not point to the anonymous route: %s", t->last_err);
    /* B answers the regisseur */
    assert_int_equal(s_send(t, B, A, kase, NULL), ZN_E_OK);
    uint64_t answer = t->last_index;
    /* C, never admitted, stays out */
    s_send_expect(t, C, A, kase, ZN_E_NOT_MEMBER);

    zn_case_view *v = s_view_new();
    s_want(t, "case-show", A, s_show(t, A, kase, v), ZN_E_OK);
    assert_int_equal(v->consent_seq, seq);
    assert_int_equal(v->consent.state, ZN_CONSENT_GRANTED);
    assert_int_equal(v->consent.n_scope, 1);
    assert_string_equal(v->consent.scope[0], "wijkracht");
    free(v);
    zh_msg m;
    s_want(t, "consent-show", A, s_id_req(t, A, "consent-show", kase, &m), ZN_E_OK);
    const msgpack_object *rows = &s_res(&m, 2)[1];
    assert_int_equal(rows->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(rows->via.array.size, 1);
    zn_consent_row row;
    zn_err e;
    assert_int_equal(zn_consent_row_dec(&rows->via.array.ptr[0], &row, &e), 0);
    assert_int_equal(row.seq, seq);
    assert_int_equal(row.c.state, ZN_CONSENT_GRANTED);
    assert_int_equal(row.c.given_by, ZN_GIVEN_CLIENT);
    assert_int_equal(row.c.age_band, ZN_AGE_16_PLUS);
    assert_string_equal(row.handler, ZH_HANDLER);
    assert_non_null(row.purpose);
    zh_msg_free(&m);

    s_log lg;
    s_log_read(t, &lg);
    const s_ent *x = s_log_one(&lg, (s_q){.action = "consent-set", .actor = "school", .decision = ZN_AUDIT_ALLOWED});
    s_has_request(t, x, A);
    assert_true(s_det_u64(x, "seq", seq));
    assert_true(s_det_str(x, "state", "granted"));
    assert_true(s_det_str(x, "scope", "wijkracht"));
    assert_true(s_det_str(x, "given_by", "client"));
    assert_true(s_det_str(x, "age_band", "16+"));
    assert_true(s_det_u64(x, "until", 0));
    assert_null(s_det(x, "purpose")); /* only sealed, inside the evidence */
    x = s_log_one(&lg, (s_q){.action = "consent-set", .actor = "wijkracht"});
    assert_int_equal(x->en.decision, ZN_AUDIT_REFUSED);
    assert_string_equal(x->en.reason, "not-regisseur");
    assert_memory_equal(x->en.case_id, kase, ZN_ID_LEN);
    s_has_request(t, x, B);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "consent-set", .reason = "not-in-network"}), 1);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "consent-set", .reason = "unknown-partner"}), 1);
    x = s_log_at(&lg, sent);
    assert_string_equal(x->en.action, "send");
    assert_string_equal(x->en.basis, "consent");
    assert_true(s_det_u64(x, "consent", seq));
    assert_null(s_det(x, "override"));
    s_has_header(t, x, A);
    x = s_log_at(&lg, answer);
    assert_string_equal(x->en.basis, "consent");
    assert_true(s_det_u64(x, "consent", seq));
    /* before the consent, and outside its scope */
    assert_int_equal(s_log_count(&lg, (s_q){.action = "send", .actor = "school", .counterpart = "wijkracht",
                                            .reason = "consent-required", .decision = ZN_AUDIT_REFUSED,
                                            .basis = ""}),
                     1);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "send", .actor = "school", .counterpart = "politie",
                                            .reason = "consent-required"}),
                     1);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "consent-show", .actor = "school",
                                            .decision = ZN_AUDIT_ALLOWED}),
                     1);
    s_log_free(&lg);
}

static void test_consent_capacity(void **state)
{
    s_t *t = *state;
    uint8_t kase[ZN_ID_LEN];
    s_case_new(t, A, P1, kase);
    static const struct {
        zn_age_band band;
        unsigned given;
        zn_code want;
    } rows[] = {
        {ZN_AGE_0_11, ZN_GIVEN_PARENT, ZN_E_OK},
        {ZN_AGE_0_11, ZN_GIVEN_GUARDIAN, ZN_E_OK},
        {ZN_AGE_0_11, ZN_GIVEN_REPRESENTATIVE, ZN_E_OK},
        {ZN_AGE_0_11, ZN_GIVEN_CLIENT, ZN_E_CAPACITY},
        {ZN_AGE_0_11, 0, ZN_E_CAPACITY},
        {ZN_AGE_12_15, ZN_GIVEN_CLIENT | ZN_GIVEN_PARENT, ZN_E_OK},
        {ZN_AGE_12_15, ZN_GIVEN_CLIENT | ZN_GIVEN_GUARDIAN, ZN_E_OK},
        {ZN_AGE_12_15, ZN_GIVEN_CLIENT, ZN_E_CAPACITY},
        {ZN_AGE_12_15, ZN_GIVEN_PARENT, ZN_E_CAPACITY},
        {ZN_AGE_12_15, ZN_GIVEN_PARENT | ZN_GIVEN_GUARDIAN, ZN_E_CAPACITY},
        {ZN_AGE_12_15, ZN_GIVEN_CLIENT | ZN_GIVEN_REPRESENTATIVE, ZN_E_CAPACITY},
        {ZN_AGE_16_PLUS, ZN_GIVEN_CLIENT, ZN_E_OK},
        {ZN_AGE_16_PLUS, ZN_GIVEN_PARENT, ZN_E_CAPACITY},
        {ZN_AGE_16_PLUS, ZN_GIVEN_GUARDIAN | ZN_GIVEN_REPRESENTATIVE, ZN_E_CAPACITY},
        {ZN_AGE_16_PLUS, 0, ZN_E_CAPACITY},
    };
    int ok = 0, refused = 0;
    uint64_t last = 0;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        uint64_t seq = 0;
        zn_code got = s_consent_ex(t, A, kase, ZN_CONSENT_GRANTED, "wijkracht", rows[i].given, rows[i].band, 0,
                                   PURPOSE_AUDITORS, &seq);
        if (got != rows[i].want) {
            char given[64];
            zn_given_format(rows[i].given, given, sizeof given);
            fail_msg("consent at %s given by '%s': expected %s, got %s (%s)", zn_age_band_name(rows[i].band), given,
                     s_code(rows[i].want), s_code(got), t->last_err);
        }
        if (got == ZN_E_OK) {
            assert_true(seq > last);
            last = seq;
            ok++;
        } else {
            refused++;
        }
    }
    /* a granted consent without a scope, without an age band; an end in the past */
    s_want(t, "consent-set", A,
           s_consent_ex(t, A, kase, ZN_CONSENT_GRANTED, "", ZN_GIVEN_CLIENT, ZN_AGE_16_PLUS, 0, PURPOSE_AUDITORS, NULL),
           ZN_E_USAGE);
    s_want(t, "consent-set", A,
           s_consent_ex(t, A, kase, ZN_CONSENT_GRANTED, "wijkracht", ZN_GIVEN_CLIENT, ZN_AGE_NONE, 0, PURPOSE_AUDITORS,
                        NULL),
           ZN_E_USAGE);
    s_want(t, "consent-set", A,
           s_consent_ex(t, A, kase, ZN_CONSENT_GRANTED, "wijkracht", ZN_GIVEN_CLIENT, ZN_AGE_16_PLUS,
                        s_now(t) - 60000, PURPOSE_AUDITORS, NULL),
           ZN_E_USAGE);
    /* the purpose sealed to other readers than the auditors */
    s_want(t, "consent-set", A,
           s_consent_ex(t, A, kase, ZN_CONSENT_GRANTED, "wijkracht", ZN_GIVEN_CLIENT, ZN_AGE_16_PLUS, 0, PURPOSE_WRONG,
                        NULL),
           ZN_E_MALFORMED);
    /* other states are recorded as given */
    uint64_t seq = 0;
    s_want(t, "consent-set", A,
           s_consent_ex(t, A, kase, ZN_CONSENT_REQUESTED, "", 0, ZN_AGE_NONE, 0, PURPOSE_NONE, &seq), ZN_E_OK);
    assert_true(seq > last);
    ok++;

    s_log lg;
    s_log_read(t, &lg);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "consent-set", .decision = ZN_AUDIT_ALLOWED}), ok);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "consent-set", .reason = "consent-capacity"}), refused);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "consent-set", .reason = "usage"}), 3);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "consent-set", .reason = "malformed"}), 1);
    for (size_t i = 0; i < lg.n; i++)
        if (s_is(lg.e[i].en.action, "consent-set"))
            s_has_request(t, &lg.e[i], A);
    s_log_free(&lg);
}

static void test_consent_expiry(void **state)
{
    s_t *t = *state;
    uint8_t kase[ZN_ID_LEN];
    s_case_new(t, A, P1, kase);
    uint64_t until = s_now(t) + 60000;
    uint64_t seq = s_grant(t, A, kase, "wijkracht", until);
    s_send_expect(t, A, B, kase, ZN_E_OK);
    s_send_expect(t, B, A, kase, ZN_E_OK);
    /* two minutes later the consent has ended */
    s_restart(t, 120, NULL);
    s_send_expect(t, A, B, kase, ZN_E_CONSENT_REQUIRED);
    if (!strstr(t->last_err, "expired"))
        fail_msg("the sentence does not say the consent expired: %s", t->last_err);
    s_send_expect(t, B, A, kase, ZN_E_CONSENT_REQUIRED);
    zn_case_view *v = s_view_new();
    s_want(t, "case-show", A, s_show(t, A, kase, v), ZN_E_OK);
    assert_int_equal(v->consent_seq, seq);
    assert_int_equal(v->consent.until_ms, until);
    free(v);

    s_log lg;
    s_log_read(t, &lg);
    const s_ent *x = s_log_one(&lg, (s_q){.action = "consent-set", .actor = "school"});
    assert_true(s_det_u64(x, "until", until));
    assert_int_equal(s_log_count(&lg, (s_q){.action = "send", .basis = "consent", .decision = ZN_AUDIT_ALLOWED}), 2);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "send", .reason = "consent-required"}), 2);
    s_log_free(&lg);
}

static void test_withdraw_purges_queue(void **state)
{
    s_t *t = *state;
    uint8_t kase[ZN_ID_LEN], m1[ZN_ID_LEN], m2[ZN_ID_LEN];
    s_case_new(t, A, P1, kase);
    s_grant(t, A, kase, "politie,wijkracht", 0);
    /* B is offline: both wait in its queue; C gets one too and reads it at once */
    assert_int_equal(s_send(t, A, B, kase, m1), ZN_E_OK);
    assert_int_equal(s_send(t, A, B, kase, m2), ZN_E_OK);
    uint8_t mc[ZN_ID_LEN];
    assert_int_equal(s_send(t, A, C, kase, mc), ZN_E_OK);
    s_inbox box;
    s_inbox_of(t, C, &box);
    assert_int_equal(s_count(&box, NULL), 1);
    uint64_t seq = 0;
    s_want(t, "consent-set", A,
           s_consent_ex(t, A, kase, ZN_CONSENT_WITHDRAWN, "", 0, ZN_AGE_NONE, 0, PURPOSE_AUDITORS, &seq), ZN_E_OK);
    /* B receives neither */
    s_inbox_of(t, B, &box);
    if (s_count(&box, NULL) != 0)
        fail_msg("wijkracht received %d envelopes queued before consent was withdrawn", s_count(&box, NULL));
    /* A is told of both */
    s_inbox_of(t, A, &box);
    assert_int_equal(s_count(&box, "envelope-dropped"), 2);
    const uint8_t *ids[2] = {m1, m2};
    for (int k = 0; k < 2; k++) {
        const s_note *n = NULL;
        for (int i = 0; i < box.n; i++)
            if (s_is(box.v[i].type, "envelope-dropped") && memcmp(box.v[i].msgid, ids[k], ZN_ID_LEN) == 0)
                n = &box.v[i];
        if (!n)
            fail_msg("no envelope-dropped notice for message %d", k + 1);
        assert_string_equal(n->reason, "consent-required");
        assert_string_equal(n->recipient, "wijkracht");
        assert_true(n->has_case);
        assert_memory_equal(n->case_id, kase, ZN_ID_LEN);
    }
    /* and nothing more flows */
    s_send_expect(t, A, B, kase, ZN_E_CONSENT_REQUIRED);
    if (!strstr(t->last_err, "withdrawn"))
        fail_msg("the sentence does not say the consent was withdrawn: %s", t->last_err);

    s_log lg;
    s_log_read(t, &lg);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "consent-set", .actor = "school", .case_id = kase,
                                            .decision = ZN_AUDIT_ALLOWED}),
                     2);
    int withdrawn = 0;
    for (size_t i = 0; i < lg.n; i++)
        if (s_is(lg.e[i].en.action, "consent-set") && s_det_str(&lg.e[i], "state", "withdrawn")) {
            withdrawn++;
            assert_true(s_det_u64(&lg.e[i], "seq", seq));
            s_has_request(t, &lg.e[i], A);
        }
    assert_int_equal(withdrawn, 1);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "drop", .actor = "", .counterpart = "wijkracht",
                                            .reason = "consent-required", .case_id = kase}),
                     2);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "drop", .counterpart = "politie"}), 0);
    for (int k = 0; k < 2; k++) {
        bool found = false;
        for (size_t i = 0; i < lg.n; i++) {
            const s_ent *d = &lg.e[i];
            if (!s_is(d->en.action, "drop") || !s_det_bin(d, "msgid", ids[k], ZN_ID_LEN))
                continue;
            found = true;
            assert_true(s_det_str(d, "sender", "school"));
            s_has_id(d, "item");
            assert_null(d->en.actor);
        }
        if (!found)
            fail_msg("no drop entry for message %d", k + 1);
    }
    s_log_free(&lg);
}

/* Refusal stops what is queued on an identified case; on an anonymous case nothing relied on the
 * consent, so nothing stops. */
static void test_refusal_purges_identified_only(void **state)
{
    s_t *t = *state;
    uint8_t ident[ZN_ID_LEN], anon[ZN_ID_LEN], mi[ZN_ID_LEN], ma[ZN_ID_LEN];
    s_case_new(t, A, P1, ident);
    s_case_new(t, A, NULL, anon);
    s_grant(t, A, ident, "wijkracht", 0);
    s_grant(t, A, anon, "wijkracht", 0);
    assert_int_equal(s_send(t, A, B, ident, mi), ZN_E_OK);
    assert_int_equal(s_send(t, A, B, anon, ma), ZN_E_OK);
    for (int k = 0; k < 2; k++)
        s_want(t, "consent-set", A,
               s_consent_ex(t, A, k ? anon : ident, ZN_CONSENT_REFUSED, "", 0, ZN_AGE_NONE, 0, PURPOSE_AUDITORS, NULL),
               ZN_E_OK);
    s_inbox box;
    s_inbox_of(t, B, &box);
    assert_int_equal(s_count(&box, NULL), 1);
    assert_non_null(s_env_in(&box, ma));
    s_inbox_of(t, A, &box);
    const s_note *n = s_one(&box, "envelope-dropped", "school");
    assert_memory_equal(n->msgid, mi, ZN_ID_LEN);
    assert_string_equal(n->reason, "consent-required");
    s_send_expect(t, A, B, anon, ZN_E_OK);
    s_send_expect(t, A, B, ident, ZN_E_CONSENT_REQUIRED);
    if (!strstr(t->last_err, "refused"))
        fail_msg("the sentence does not say consent was refused: %s", t->last_err);
    s_log lg;
    s_log_read(t, &lg);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "drop", .case_id = ident}), 1);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "drop", .case_id = anon}), 0);
    s_log_free(&lg);
}

/* A closed case is deleted when its retention ends; the deletion is an entry of the broker. */
static void test_closed_case_retention(void **state)
{
    s_t *t = *state;
    const char *const edits[] = {"retention_days", "1", NULL};
    s_restart(t, 0, edits);
    uint8_t kase[ZN_ID_LEN], open[ZN_ID_LEN];
    s_case_new(t, A, NULL, kase);
    s_case_new(t, A, NULL, open);
    zh_msg m;
    s_want(t, "case-close", A, s_id_req(t, A, "case-close", kase, &m), ZN_E_OK);
    uint64_t closed = s_res_u64(&m, 2, 1);
    zh_msg_free(&m);
    s_restart(t, 2 * S_DAY_S, NULL);
    s_log lg;
    s_log_wait(t, &lg, (s_q){.action = "case-delete"}, 1, 3 * ZH_TIMEOUT);
    const s_ent *x = s_log_one(&lg, (s_q){.action = "case-delete"});
    assert_null(x->en.actor);
    assert_non_null(x->en.case_id);
    assert_memory_equal(x->en.case_id, kase, ZN_ID_LEN);
    assert_true(s_det_u64(x, "closed", closed));
    s_log_free(&lg);
    zn_case_view *v = s_view_new();
    s_want(t, "case-show", A, s_show(t, A, kase, v), ZN_E_UNKNOWN_CASE);
    /* an open case is kept */
    s_want(t, "case-show", A, s_show(t, A, open, v), ZN_E_OK);
    free(v);
}

/* ---- 5. safety overrides --------------------------------------------------------------------- */

static void test_override_new(void **state)
{
    s_t *t = *state;
    assert_int_equal(strlen(JUST_39), ZN_JUSTIFICATION_MIN - 1);
    assert_int_equal(strlen(JUST_SHORT), ZN_JUSTIFICATION_MIN);
    uint8_t kase[ZN_ID_LEN], anon[ZN_ID_LEN], unknown[ZN_ID_LEN], oid[ZN_ID_LEN];
    s_case_new(t, A, P1, kase);
    s_case_new(t, A, NULL, anon);
    zh_random(unknown, sizeof unknown);
    s_grant(t, A, kase, "wijkracht", 0);
    s_send_expect(t, A, C, kase, ZN_E_CONSENT_REQUIRED);
    s_inbox cbox;
    void *coord = s_listen(t, COORD, &cbox);
    assert_int_equal(cbox.n, 0);

    const char *pol = "politie";
    struct {
        const char *what;
        int party;
        const uint8_t *kase;
        const char *to;
        uint64_t step;
        s_just just;
        zn_code want;
    } bad[] = {
        {"a justification one byte short", A, kase, pol, 3, JUST_TOO_SHORT, ZN_E_MALFORMED},
        {"a justification sealed to the auditors only", A, kase, pol, 3, JUST_WRONG_READERS, ZN_E_MALFORMED},
        {"step 0", A, kase, pol, 0, JUST_OK, ZN_E_MALFORMED},
        {"step 6", A, kase, pol, 6, JUST_OK, ZN_E_MALFORMED},
        {"to itself", A, kase, "school", 3, JUST_OK, ZN_E_USAGE},
        {"on an anonymous case", A, anon, pol, 3, JUST_OK, ZN_E_CASE_ANONYMOUS},
        {"by a partner that is no member", C, kase, "wijkracht", 3, JUST_OK, ZN_E_NOT_MEMBER},
        {"to a partner of another network", A, kase, "ggd", 3, JUST_OK, ZN_E_NOT_IN_NETWORK},
        {"to the coordinator", A, kase, "coordinator", 3, JUST_OK, ZN_E_NOT_IN_NETWORK},
        {"by the coordinator", COORD, kase, pol, 3, JUST_OK, ZN_E_NOT_IN_NETWORK},
        {"on an unknown case", A, unknown, pol, 3, JUST_OK, ZN_E_UNKNOWN_CASE},
        {"to an unknown partner", A, kase, "jeugdzorg", 3, JUST_OK, ZN_E_UNKNOWN_PARTNER},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        zn_code got =
            s_override_ex(t, bad[i].party, bad[i].kase, bad[i].to, bad[i].step, bad[i].just, NULL, NULL, NULL);
        if (got != bad[i].want)
            fail_msg("override-new %s: expected %s, got %s (%s)", bad[i].what, s_code(bad[i].want), s_code(got),
                     t->last_err);
    }
    /* nothing of it reached the coordinator */
    assert_true(zh_quiet(coord, ZH_QUIET));

    /* a justification of exactly the minimum, to C */
    uint64_t expires = 0, review_by = 0, before = s_now(t);
    s_want(t, "override-new", A, s_override_ex(t, A, kase, pol, 3, JUST_EXACT, oid, &expires, &review_by), ZN_E_OK);
    uint64_t after = s_now(t);
    assert_true(expires >= before + 14 * S_DAY_S * 1000 - 2000 && expires <= after + 14 * S_DAY_S * 1000 + 2000);
    assert_int_equal(expires - review_by, (14 * S_DAY_S - 48 * S_HOUR_S) * 1000);
    /* the coordinator is told at once */
    s_take(t, coord, &cbox, ZH_TIMEOUT);
    const s_note *n = s_one(&cbox, "override", "the coordinator");
    assert_true(n->has_override);
    assert_memory_equal(n->override, oid, ZN_ID_LEN);
    assert_true(n->has_case);
    assert_memory_equal(n->case_id, kase, ZN_ID_LEN);
    assert_string_equal(n->network, ZH_NET0);
    assert_string_equal(n->from, "school");
    assert_string_equal(n->handler, ZH_HANDLER);
    assert_string_equal(n->to, "politie");
    assert_int_equal(n->step, 3);
    assert_int_equal(n->expires, expires);
    assert_int_equal(n->review_by, review_by);
    zh_close(t->h, &coord);

    /* now A may share the case with C, on the override */
    uint8_t mc[ZN_ID_LEN];
    assert_int_equal(s_send(t, A, C, kase, mc), ZN_E_OK);
    uint64_t sent = t->last_index;
    /* and C may answer (the regisseur is covered by the consent) */
    s_send_expect(t, C, A, kase, ZN_E_OK);
    /* the override is for C only */
    s_send_expect(t, C, B, kase, ZN_E_OK); /* B is in the consent's scope */
    zn_case_view *v = s_view_new();
    s_want(t, "case-show", A, s_show(t, A, kase, v), ZN_E_OK);
    assert_int_equal(v->n_overrides, 1);
    assert_memory_equal(v->overrides[0].id, oid, ZN_ID_LEN);
    assert_int_equal(v->overrides[0].state, ZN_OVERRIDE_PENDING);
    assert_string_equal(v->overrides[0].to, "politie");
    assert_non_null(s_member(v, "politie"));
    s_want(t, "case-show", C, s_show(t, C, kase, v), ZN_E_OK);
    free(v);
    s_inbox box;
    s_inbox_of(t, C, &box);
    assert_non_null(s_env_in(&box, mc));

    s_log lg;
    s_log_read(t, &lg);
    const s_ent *x = s_log_one(&lg, (s_q){.action = "override-new", .decision = ZN_AUDIT_ALLOWED});
    assert_string_equal(x->en.actor, "school");
    assert_string_equal(x->en.counterpart, "politie");
    assert_string_equal(x->en.basis, "safety-override");
    assert_memory_equal(x->en.case_id, kase, ZN_ID_LEN);
    assert_true(s_det_bin(x, "override", oid, ZN_ID_LEN));
    assert_true(s_det_u64(x, "step", 3));
    assert_true(s_det_u64(x, "expires", expires));
    assert_true(s_det_u64(x, "review_by", review_by));
    assert_null(s_det(x, "justification"));
    s_has_request(t, x, A);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "override-new", .decision = ZN_AUDIT_REFUSED}),
                     (int)(sizeof bad / sizeof bad[0]));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_true(s_log_count(&lg, (s_q){.action = "override-new", .reason = zn_code_name(bad[i].want)}) >= 1);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "override-new", .reason = "malformed"}), 4);
    x = s_log_at(&lg, sent);
    assert_string_equal(x->en.action, "send");
    assert_string_equal(x->en.basis, "safety-override");
    assert_true(s_det_bin(x, "override", oid, ZN_ID_LEN));
    assert_null(s_det(x, "consent"));
    s_log_free(&lg);
}

/* An identified case of A without consent, with a pending override A -> C. */
static void s_override_world(s_t *t, uint8_t kase[ZN_ID_LEN], uint8_t oid[ZN_ID_LEN])
{
    s_case_new(t, A, P1, kase);
    s_send_expect(t, A, C, kase, ZN_E_CONSENT_REQUIRED);
    s_override(t, A, kase, C, oid);
}

static void test_override_review(void **state)
{
    s_t *t = *state;
    uint8_t kase[ZN_ID_LEN], oid[ZN_ID_LEN], unknown[ZN_ID_LEN];
    s_override_world(t, kase, oid);
    zh_random(unknown, sizeof unknown);
    s_olist *l = calloc(1, sizeof *l);
    assert_non_null(l);
    s_want(t, "override-list", COORD, s_olist_of(t, COORD, false, l), ZN_E_OK);
    assert_int_equal(l->total, 1);
    const zn_override_row *r = s_orow(l, oid);
    assert_non_null(r);
    assert_int_equal(r->state, ZN_OVERRIDE_PENDING);
    assert_string_equal(r->from, "school");
    assert_string_equal(r->to, "politie");
    assert_string_equal(r->network, ZH_NET0);
    assert_int_equal(r->step, 3);
    assert_false(r->escalated);
    assert_true(r->justification_len > 0);
    assert_memory_equal(r->case_id, kase, ZN_ID_LEN);

    /* while it stands, C may answer A (on the override: no consent) */
    s_send_expect(t, A, C, kase, ZN_E_OK);
    uint64_t to_c = t->last_index;
    s_send_expect(t, C, A, kase, ZN_E_OK);
    uint64_t answer = t->last_index;
    /* partners do not review; nor does the author */
    s_want(t, "override-review", B, s_review(t, B, oid, true, "school", NULL), ZN_E_NOT_COORDINATOR);
    s_want(t, "override-review", A, s_review(t, A, oid, true, "school", NULL), ZN_E_NOT_COORDINATOR);
    s_want(t, "override-review", COORD, s_review(t, COORD, unknown, true, "school", NULL), ZN_E_UNKNOWN_OVERRIDE);
    char st[ZN_IDENT_MAX];
    s_want(t, "override-review", COORD, s_review(t, COORD, oid, true, "school", st), ZN_E_OK);
    s_want(t, "override-review", COORD, s_review(t, COORD, oid, false, "school", NULL), ZN_E_DECIDED);
    s_want(t, "override-review", COORD, s_review(t, COORD, oid, true, NULL, NULL), ZN_E_DECIDED);
    /* no longer waiting; shown as approved in the full list */
    s_want(t, "override-list", COORD, s_olist_of(t, COORD, false, l), ZN_E_OK);
    assert_null(s_orow(l, oid));
    s_want(t, "override-list", COORD, s_olist_of(t, COORD, true, l), ZN_E_OK);
    r = s_orow(l, oid);
    assert_non_null(r);
    assert_int_equal(r->state, ZN_OVERRIDE_APPROVED);
    assert_string_equal(r->reviewed_by, "coordinator");
    assert_true(r->reviewed_ms > 0);
    assert_true(r->note_len > 0);
    free(l);
    /* an approved override keeps standing */
    s_send_expect(t, A, C, kase, ZN_E_OK);
    s_inbox box;
    s_inbox_of(t, A, &box);
    const s_note *n = s_one(&box, "override-reviewed", "school");
    assert_memory_equal(n->override, oid, ZN_ID_LEN);
    assert_memory_equal(n->case_id, kase, ZN_ID_LEN);
    assert_string_equal(n->to, "politie");
    assert_string_equal(n->state, "approved");
    assert_string_equal(n->by, "coordinator");

    s_log lg;
    s_log_read(t, &lg);
    const s_ent *x = s_log_one(&lg, (s_q){.action = "override-review", .decision = ZN_AUDIT_ALLOWED});
    assert_string_equal(x->en.actor, "coordinator");
    assert_string_equal(x->en.counterpart, "school");
    assert_true(s_det_bin(x, "override", oid, ZN_ID_LEN));
    assert_true(s_det_str(x, "state", "approved"));
    assert_null(s_det(x, "late"));
    assert_null(s_det(x, "note"));
    s_has_request(t, x, COORD);
    x = s_log_one(&lg, (s_q){.action = "override-review", .actor = "wijkracht"});
    assert_int_equal(x->en.decision, ZN_AUDIT_REFUSED);
    assert_string_equal(x->en.reason, "not-coordinator");
    s_has_request(t, x, B);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "override-review", .reason = "already-decided"}), 2);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "override-review", .reason = "unknown-override"}), 1);
    assert_true(s_log_count(&lg, (s_q){.action = "override-list", .actor = "coordinator",
                                       .decision = ZN_AUDIT_ALLOWED}) >= 3);
    x = s_log_at(&lg, to_c);
    assert_string_equal(x->en.basis, "safety-override");
    x = s_log_at(&lg, answer);
    assert_string_equal(x->en.actor, "politie");
    assert_string_equal(x->en.basis, "safety-override");
    assert_true(s_det_bin(x, "override", oid, ZN_ID_LEN));
    s_log_free(&lg);
}

static void test_override_reject_purges(void **state)
{
    s_t *t = *state;
    uint8_t kase[ZN_ID_LEN], oid[ZN_ID_LEN], m1[ZN_ID_LEN], m2[ZN_ID_LEN];
    s_override_world(t, kase, oid);
    assert_int_equal(s_send(t, A, C, kase, m1), ZN_E_OK);
    assert_int_equal(s_send(t, A, C, kase, m2), ZN_E_OK);
    s_want(t, "override-review", COORD, s_review(t, COORD, oid, false, "school", NULL), ZN_E_OK);
    s_inbox box;
    s_inbox_of(t, C, &box);
    if (box.n != 0)
        fail_msg("politie received %d items queued on a rejected override", box.n);
    s_inbox_of(t, A, &box);
    assert_int_equal(s_count(&box, "envelope-dropped"), 2);
    for (int i = 0; i < box.n; i++)
        if (s_is(box.v[i].type, "envelope-dropped")) {
            assert_string_equal(box.v[i].reason, "consent-required");
            assert_string_equal(box.v[i].recipient, "politie");
            assert_true(memcmp(box.v[i].msgid, m1, ZN_ID_LEN) == 0 || memcmp(box.v[i].msgid, m2, ZN_ID_LEN) == 0);
        }
    const s_note *n = s_one(&box, "override-reviewed", "school");
    assert_string_equal(n->state, "rejected");
    /* it stops at once, both ways */
    s_send_expect(t, A, C, kase, ZN_E_CONSENT_REQUIRED);
    if (!strstr(t->last_err, "rejected"))
        fail_msg("the sentence does not say the override was rejected: %s", t->last_err);
    s_send_expect(t, C, A, kase, ZN_E_CONSENT_REQUIRED);
    zn_case_view *v = s_view_new();
    s_want(t, "case-show", A, s_show(t, A, kase, v), ZN_E_OK);
    assert_int_equal(v->n_overrides, 0);
    free(v);

    s_log lg;
    s_log_read(t, &lg);
    const s_ent *x = s_log_one(&lg, (s_q){.action = "override-review", .decision = ZN_AUDIT_ALLOWED});
    assert_true(s_det_str(x, "state", "rejected"));
    assert_int_equal(s_log_count(&lg, (s_q){.action = "drop", .actor = "", .counterpart = "politie",
                                            .reason = "consent-required", .case_id = kase}),
                     2);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "send", .basis = "safety-override",
                                            .decision = ZN_AUDIT_ALLOWED}),
                     2);
    s_log_free(&lg);
}

/* A rejected override stops only what has no other basis: envelopes the consent now covers stay. */
static void test_override_reject_keeps_consented(void **state)
{
    s_t *t = *state;
    uint8_t kase[ZN_ID_LEN], oid[ZN_ID_LEN], m1[ZN_ID_LEN], m2[ZN_ID_LEN];
    s_override_world(t, kase, oid);
    assert_int_equal(s_send(t, A, C, kase, m1), ZN_E_OK); /* on the override */
    s_grant(t, A, kase, "politie", 0);
    assert_int_equal(s_send(t, A, C, kase, m2), ZN_E_OK); /* on the consent */
    s_want(t, "override-review", COORD, s_review(t, COORD, oid, false, "school", NULL), ZN_E_OK);
    s_inbox box;
    s_inbox_of(t, C, &box);
    assert_int_equal(s_count(&box, NULL), 2);
    assert_non_null(s_env_in(&box, m1));
    assert_non_null(s_env_in(&box, m2));
    s_inbox_of(t, A, &box);
    assert_int_equal(s_count(&box, "envelope-dropped"), 0);
    s_send_expect(t, A, C, kase, ZN_E_OK);
    s_log lg;
    s_log_read(t, &lg);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "drop"}), 0);
    s_log_free(&lg);
}

static void test_override_expiry(void **state)
{
    s_t *t = *state;
    const char *const edits[] = {"override_lifetime_d", "1", "override_review_h", "1", NULL};
    s_restart(t, 0, edits);
    uint8_t kase[ZN_ID_LEN], oid[ZN_ID_LEN], m1[ZN_ID_LEN];
    uint64_t expires = 0, review_by = 0;
    s_case_new(t, A, P1, kase);
    s_want(t, "override-new", A, s_override_ex(t, A, kase, "politie", 2, JUST_OK, oid, &expires, &review_by), ZN_E_OK);
    assert_int_equal(expires - review_by, (S_DAY_S - S_HOUR_S) * 1000);
    s_want(t, "override-review", COORD, s_review(t, COORD, oid, true, "school", NULL), ZN_E_OK);
    assert_int_equal(s_send(t, A, C, kase, m1), ZN_E_OK); /* C is offline: it waits */
    s_inbox box;
    s_inbox_of(t, A, &box);
    s_one(&box, "override-reviewed", "school");

    /* a day and an hour later */
    s_restart(t, S_DAY_S + S_HOUR_S, NULL);
    s_log lg;
    s_log_wait(t, &lg, (s_q){.action = "override-expire"}, 1, 3 * ZH_TIMEOUT);
    const s_ent *x = s_log_one(&lg, (s_q){.action = "override-expire"});
    assert_null(x->en.actor);
    assert_string_equal(x->en.counterpart, "politie");
    assert_true(s_det_bin(x, "override", oid, ZN_ID_LEN));
    assert_true(s_det_str(x, "author", "school"));
    assert_memory_equal(x->en.case_id, kase, ZN_ID_LEN);
    assert_null(x->en.basis);
    x = s_log_one(&lg, (s_q){.action = "drop", .counterpart = "politie"});
    assert_string_equal(x->en.reason, "consent-required");
    assert_true(s_det_bin(x, "msgid", m1, ZN_ID_LEN));
    /* an approved override is not escalated */
    assert_int_equal(s_log_count(&lg, (s_q){.action = "override-escalate"}), 0);
    s_log_free(&lg);

    s_inbox_of(t, A, &box);
    const s_note *n = s_one(&box, "override-expired", "school");
    assert_memory_equal(n->override, oid, ZN_ID_LEN);
    assert_memory_equal(n->case_id, kase, ZN_ID_LEN);
    assert_string_equal(n->to, "politie");
    n = s_one(&box, "envelope-dropped", "school");
    assert_memory_equal(n->msgid, m1, ZN_ID_LEN);
    assert_string_equal(n->reason, "consent-required");
    s_inbox_of(t, C, &box);
    if (box.n != 0)
        fail_msg("politie received %d items after the override expired", box.n);
    s_send_expect(t, A, C, kase, ZN_E_CONSENT_REQUIRED);
    if (!strstr(t->last_err, "expired"))
        fail_msg("the sentence does not say the override expired: %s", t->last_err);
    s_olist *l = calloc(1, sizeof *l);
    assert_non_null(l);
    s_want(t, "override-list", COORD, s_olist_of(t, COORD, true, l), ZN_E_OK);
    const zn_override_row *r = s_orow(l, oid);
    assert_non_null(r);
    assert_int_equal(r->state, ZN_OVERRIDE_EXPIRED);
    s_want(t, "override-list", COORD, s_olist_of(t, COORD, false, l), ZN_E_OK);
    assert_null(s_orow(l, oid));
    free(l);
    /* a second start does not expire it again */
    s_restart(t, S_DAY_S + 2 * S_HOUR_S, NULL);
    zh_sleep_ms(1000);
    s_log_read(t, &lg);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "override-expire"}), 1);
    s_log_free(&lg);
    s_inbox_of(t, A, &box);
    assert_int_equal(s_count(&box, "override-expired"), 0);
}

static void test_override_escalation(void **state)
{
    s_t *t = *state;
    const char *const edits[] = {"override_lifetime_d", "1", "override_review_h", "1", NULL};
    s_restart(t, 0, edits);
    uint8_t kase[ZN_ID_LEN], oid[ZN_ID_LEN];
    uint64_t review_by = 0;
    s_case_new(t, A, P1, kase);
    s_want(t, "override-new", A, s_override_ex(t, A, kase, "politie", 4, JUST_OK, oid, NULL, &review_by), ZN_E_OK);
    s_inbox box;
    s_inbox_of(t, AUD, &box);
    assert_int_equal(s_count(&box, "override-escalated"), 0);

    /* two hours later, unreviewed */
    s_restart(t, 2 * S_HOUR_S, NULL);
    s_log lg;
    s_log_wait(t, &lg, (s_q){.action = "override-escalate"}, 1, 3 * ZH_TIMEOUT);
    const s_ent *x = s_log_one(&lg, (s_q){.action = "override-escalate"});
    assert_null(x->en.actor);
    assert_string_equal(x->en.counterpart, "school");
    assert_true(s_det_bin(x, "override", oid, ZN_ID_LEN));
    assert_true(s_det_u64(x, "review_by", review_by));
    assert_memory_equal(x->en.case_id, kase, ZN_ID_LEN);
    s_log_free(&lg);
    s_inbox_of(t, AUD, &box);
    const s_note *n = s_one(&box, "override-escalated", "the auditor");
    assert_memory_equal(n->override, oid, ZN_ID_LEN);
    assert_memory_equal(n->case_id, kase, ZN_ID_LEN);
    assert_string_equal(n->network, ZH_NET0);
    assert_string_equal(n->from, "school");
    assert_string_equal(n->to, "politie");
    assert_int_equal(n->review_by, review_by);
    /* the coordinator's list says so; the override still stands */
    s_olist *l = calloc(1, sizeof *l);
    assert_non_null(l);
    s_want(t, "override-list", COORD, s_olist_of(t, COORD, false, l), ZN_E_OK);
    const zn_override_row *r = s_orow(l, oid);
    assert_non_null(r);
    assert_true(r->escalated);
    assert_int_equal(r->state, ZN_OVERRIDE_PENDING);
    free(l);
    s_send_expect(t, A, C, kase, ZN_E_OK);

    /* the clock runs on, the broker starts again: not escalated twice */
    zh_sleep_ms(ZN_CASES_TICK_EVERY_MS + 1000);
    s_restart(t, 3 * S_HOUR_S, NULL);
    zh_sleep_ms(1000);
    s_log_read(t, &lg);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "override-escalate"}), 1);
    s_log_free(&lg);
    s_inbox_of(t, AUD, &box);
    assert_int_equal(s_count(&box, "override-escalated"), 0);
    /* a review after review_by is marked late */
    s_want(t, "override-review", COORD, s_review(t, COORD, oid, true, "school", NULL), ZN_E_OK);
    s_log_read(t, &lg);
    x = s_log_one(&lg, (s_q){.action = "override-review", .decision = ZN_AUDIT_ALLOWED});
    assert_true(s_det_u64(x, "late", 1));
    s_log_free(&lg);
}

/* ---- 6. warm handovers ----------------------------------------------------------------------- */

static void test_handover_accept(void **state)
{
    s_t *t = *state;
    uint8_t kase[ZN_ID_LEN], md[ZN_ID_LEN], mc[ZN_ID_LEN], rnd[ZN_ID_LEN], hid[ZN_ID_LEN];
    s_case_new(t, A, NULL, kase);
    zh_random(rnd, sizeof rnd);
    /* no dossier: a message id never sent, and one sent to someone else */
    s_want(t, "handover-offer", A, s_offer(t, A, kase, B, rnd, NULL, NULL), ZN_E_UNKNOWN_MESSAGE);
    assert_int_equal(s_send(t, A, C, kase, mc), ZN_E_OK);
    s_want(t, "handover-offer", A, s_offer(t, A, kase, B, mc, NULL, NULL), ZN_E_UNKNOWN_MESSAGE);
    /* and one sent to B, but on another case */
    uint8_t other[ZN_ID_LEN], mo[ZN_ID_LEN];
    s_case_new(t, A, NULL, other);
    assert_int_equal(s_send(t, A, B, other, mo), ZN_E_OK);
    s_want(t, "handover-offer", A, s_offer(t, A, kase, B, mo, NULL, NULL), ZN_E_UNKNOWN_MESSAGE);
    assert_int_equal(s_send(t, A, B, kase, md), ZN_E_OK);
    /* who may offer, and to whom */
    s_want(t, "handover-offer", B, s_offer(t, B, kase, C, md, NULL, NULL), ZN_E_NOT_REGISSEUR);
    s_want(t, "handover-offer", A, s_offer(t, A, kase, A, md, NULL, NULL), ZN_E_USAGE);
    s_want(t, "handover-offer", A, s_offer(t, A, kase, X, md, NULL, NULL), ZN_E_NOT_IN_NETWORK);
    uint64_t timeout = 0, before = s_now(t);
    s_want(t, "handover-offer", A, s_offer(t, A, kase, B, md, hid, &timeout), ZN_E_OK);
    assert_true(timeout >= before + 72 * S_HOUR_S * 1000 - 2000 && timeout <= s_now(t) + 72 * S_HOUR_S * 1000 + 2000);
    /* one at a time; the case stays open meanwhile */
    s_want(t, "handover-offer", A, s_offer(t, A, kase, C, mc, NULL, NULL), ZN_E_HANDOVER_OPEN);
    s_want(t, "case-close", A, s_id_req(t, A, "case-close", kase, NULL), ZN_E_HANDOVER_OPEN);
    zn_case_view *v = s_view_new();
    s_want(t, "case-show", A, s_show(t, A, kase, v), ZN_E_OK);
    assert_int_equal(v->n_handovers, 1);
    assert_memory_equal(v->handovers[0].id, hid, ZN_ID_LEN);
    assert_int_equal(v->handovers[0].state, ZN_HANDOVER_OPEN);
    assert_string_equal(v->handovers[0].to, "wijkracht");
    assert_string_equal(v->regisseur, "school");
    /* only the recipient answers */
    s_want(t, "handover-accept", C, s_accept(t, C, hid, kase), ZN_E_UNKNOWN_HANDOVER);
    s_want(t, "handover-accept", A, s_accept(t, A, hid, kase), ZN_E_UNKNOWN_HANDOVER);
    s_want(t, "handover-accept", B, s_accept(t, B, rnd, kase), ZN_E_UNKNOWN_HANDOVER);
    /* B finds the offer and the dossier */
    s_inbox box;
    s_inbox_of(t, B, &box);
    const s_note *n = s_one(&box, "handover-offer", "wijkracht");
    assert_memory_equal(n->handover, hid, ZN_ID_LEN);
    assert_memory_equal(n->case_id, kase, ZN_ID_LEN);
    assert_memory_equal(n->msgid, md, ZN_ID_LEN);
    assert_string_equal(n->from, "school");
    assert_string_equal(n->handler, ZH_HANDLER);
    assert_int_equal(n->timeout, timeout);
    assert_non_null(s_env_in(&box, md));
    s_want(t, "handover-accept", B, s_accept(t, B, hid, kase), ZN_E_OK);
    s_want(t, "handover-accept", B, s_accept(t, B, hid, kase), ZN_E_DECIDED);
    s_want(t, "case-show", B, s_show(t, B, kase, v), ZN_E_OK);
    assert_string_equal(v->regisseur, "wijkracht");
    assert_int_equal(v->n_handovers, 0);
    free(v);
    s_inbox_of(t, A, &box);
    n = s_one(&box, "handover-accepted", "school");
    assert_memory_equal(n->handover, hid, ZN_ID_LEN);
    assert_memory_equal(n->case_id, kase, ZN_ID_LEN);
    assert_string_equal(n->to, "wijkracht");
    /* the regisseur's rights moved */
    s_want(t, "consent-set", A,
           s_consent_ex(t, A, kase, ZN_CONSENT_REQUESTED, "", 0, ZN_AGE_NONE, 0, PURPOSE_NONE, NULL),
           ZN_E_NOT_REGISSEUR);
    s_want(t, "consent-set", B,
           s_consent_ex(t, B, kase, ZN_CONSENT_REQUESTED, "", 0, ZN_AGE_NONE, 0, PURPOSE_NONE, NULL), ZN_E_OK);

    s_log lg;
    s_log_read(t, &lg);
    const s_ent *x = s_log_one(&lg, (s_q){.action = "handover-offer", .decision = ZN_AUDIT_ALLOWED});
    assert_string_equal(x->en.actor, "school");
    assert_string_equal(x->en.counterpart, "wijkracht");
    assert_string_equal(x->en.basis, "anonymous");
    assert_true(s_det_bin(x, "handover", hid, ZN_ID_LEN));
    assert_true(s_det_bin(x, "msgid", md, ZN_ID_LEN));
    assert_true(s_det_u64(x, "timeout", timeout));
    s_has_request(t, x, A);
    x = s_log_one(&lg, (s_q){.action = "handover-accept", .decision = ZN_AUDIT_ALLOWED});
    assert_string_equal(x->en.actor, "wijkracht");
    assert_string_equal(x->en.counterpart, "school");
    assert_string_equal(x->en.basis, "anonymous");
    assert_true(s_det_bin(x, "handover", hid, ZN_ID_LEN));
    s_has_request(t, x, B);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "handover-offer", .reason = "unknown-message"}), 3);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "handover-offer", .reason = "not-regisseur"}), 1);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "handover-offer", .reason = "handover-open"}), 1);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "case-close", .reason = "handover-open"}), 1);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "handover-accept", .reason = "unknown-handover"}), 3);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "handover-accept", .reason = "already-decided"}), 1);
    x = s_log_one(&lg, (s_q){.action = "handover-accept", .actor = "politie"});
    assert_int_equal(x->en.decision, ZN_AUDIT_REFUSED);
    s_has_request(t, x, C);
    s_log_free(&lg);
}

static void test_handover_identified(void **state)
{
    s_t *t = *state;
    uint8_t kase[ZN_ID_LEN], md[ZN_ID_LEN], rnd[ZN_ID_LEN], hid[ZN_ID_LEN];
    s_case_new(t, A, P1, kase);
    zh_random(rnd, sizeof rnd);
    /* without consent, no offer (whatever the dossier) */
    s_want(t, "handover-offer", A, s_offer(t, A, kase, B, rnd, NULL, NULL), ZN_E_CONSENT_REQUIRED);
    if (!strstr(t->last_err, "anonymous"))
        fail_msg("the consent-required sentence does not point to the anonymous route: %s", t->last_err);
    uint64_t seq = s_grant(t, A, kase, "wijkracht", 0);
    assert_int_equal(s_send(t, A, B, kase, md), ZN_E_OK);
    s_want(t, "handover-offer", A, s_offer(t, A, kase, B, md, hid, NULL), ZN_E_OK);
    s_want(t, "handover-accept", B, s_accept(t, B, hid, kase), ZN_E_OK);
    s_expect_regisseur(t, B, kase, "wijkracht");

    /* B offers it back; before A answers, B records that consent was withdrawn: A may not take
     * the identified case over without it */
    uint8_t k2[ZN_ID_LEN], m2[ZN_ID_LEN], h2[ZN_ID_LEN];
    s_case_new(t, B, P2, k2);
    s_grant(t, B, k2, "school", 0);
    assert_int_equal(s_send(t, B, A, k2, m2), ZN_E_OK);
    s_want(t, "handover-offer", B, s_offer(t, B, k2, A, m2, h2, NULL), ZN_E_OK);
    s_want(t, "consent-set", B,
           s_consent_ex(t, B, k2, ZN_CONSENT_WITHDRAWN, "", 0, ZN_AGE_NONE, 0, PURPOSE_AUDITORS, NULL), ZN_E_OK);
    s_want(t, "handover-accept", A, s_accept(t, A, h2, k2), ZN_E_CONSENT_REQUIRED);
    s_expect_regisseur(t, B, k2, "wijkracht");

    s_log lg;
    s_log_read(t, &lg);
    const s_ent *x = s_log_one(&lg, (s_q){.action = "handover-offer", .decision = ZN_AUDIT_ALLOWED, .case_id = kase});
    assert_string_equal(x->en.basis, "consent");
    assert_true(s_det_u64(x, "consent", seq));
    x = s_log_one(&lg, (s_q){.action = "handover-accept", .decision = ZN_AUDIT_ALLOWED, .case_id = kase});
    assert_string_equal(x->en.basis, "consent");
    assert_true(s_det_u64(x, "consent", seq));
    x = s_log_one(&lg, (s_q){.action = "handover-offer", .reason = "consent-required"});
    assert_int_equal(x->en.decision, ZN_AUDIT_REFUSED);
    assert_null(x->en.basis);
    s_has_request(t, x, A);
    x = s_log_one(&lg, (s_q){.action = "handover-accept", .reason = "consent-required"});
    assert_string_equal(x->en.actor, "school");
    assert_memory_equal(x->en.case_id, k2, ZN_ID_LEN);
    s_has_request(t, x, A);
    s_log_free(&lg);
}

static void test_handover_decline(void **state)
{
    s_t *t = *state;
    uint8_t kase[ZN_ID_LEN], md[ZN_ID_LEN], hid[ZN_ID_LEN], hid2[ZN_ID_LEN];
    s_case_new(t, A, NULL, kase);
    assert_int_equal(s_send(t, A, B, kase, md), ZN_E_OK);
    s_want(t, "handover-offer", A, s_offer(t, A, kase, B, md, hid, NULL), ZN_E_OK);
    s_want(t, "handover-decline", C, s_decline(t, C, hid, "school", false), ZN_E_UNKNOWN_HANDOVER);
    s_want(t, "handover-decline", B, s_decline(t, B, hid, "school", true), ZN_E_MALFORMED);
    s_want(t, "handover-decline", B, s_decline(t, B, hid, "school", false), ZN_E_OK);
    s_want(t, "handover-decline", B, s_decline(t, B, hid, "school", false), ZN_E_DECIDED);
    s_want(t, "handover-accept", B, s_accept(t, B, hid, kase), ZN_E_DECIDED);
    s_expect_regisseur(t, A, kase, "school");
    s_inbox box;
    s_inbox_of(t, A, &box);
    const s_note *n = s_one(&box, "handover-declined", "school");
    assert_memory_equal(n->handover, hid, ZN_ID_LEN);
    assert_memory_equal(n->case_id, kase, ZN_ID_LEN);
    assert_string_equal(n->to, "wijkracht");
    assert_string_equal(n->handler, ZH_HANDLER);
    /* a new offer may follow */
    s_want(t, "handover-offer", A, s_offer(t, A, kase, B, md, hid2, NULL), ZN_E_OK);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    zn_body_offset_enc(&sb, 0);
    zh_msg m;
    s_want(t, "handover-list", A, s_call(t, A, "handover-list", &sb, &m), ZN_E_OK);
    msgpack_sbuffer_destroy(&sb);
    assert_int_equal(s_res_u64(&m, 2, 0), 2);
    const msgpack_object *rows = &s_res(&m, 2)[1];
    assert_int_equal(rows->type, MSGPACK_OBJECT_ARRAY);
    int declined = 0, open = 0;
    for (uint32_t i = 0; i < rows->via.array.size; i++) {
        zn_handover_row r;
        zn_err e;
        zn_err_clear(&e);
        if (zn_handover_row_dec(&rows->via.array.ptr[i], &r, &e) != 0)
            fail_msg("handover-row: %s", e.text);
        if (memcmp(r.id, hid, ZN_ID_LEN) == 0) {
            assert_int_equal(r.state, ZN_HANDOVER_DECLINED);
            assert_true(r.reason_len > 0);
            assert_true(r.decided_ms > 0);
            declined++;
        } else if (memcmp(r.id, hid2, ZN_ID_LEN) == 0) {
            assert_int_equal(r.state, ZN_HANDOVER_OPEN);
            open++;
        }
    }
    zh_msg_free(&m);
    assert_int_equal(declined, 1);
    assert_int_equal(open, 1);

    s_log lg;
    s_log_read(t, &lg);
    const s_ent *x = s_log_one(&lg, (s_q){.action = "handover-decline", .decision = ZN_AUDIT_ALLOWED});
    assert_string_equal(x->en.actor, "wijkracht");
    assert_string_equal(x->en.counterpart, "school");
    assert_true(s_det_bin(x, "handover", hid, ZN_ID_LEN));
    assert_null(s_det(x, "reason"));
    s_has_request(t, x, B);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "handover-decline", .reason = "malformed"}), 1);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "handover-decline", .reason = "unknown-handover"}), 1);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "handover-decline", .reason = "already-decided"}), 1);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "handover-list", .actor = "school",
                                            .decision = ZN_AUDIT_ALLOWED}),
                     1);
    s_log_free(&lg);
}

static void test_handover_timeout(void **state)
{
    s_t *t = *state;
    const char *const edits[] = {"handover_timeout_h", "1", NULL};
    s_restart(t, 0, edits);
    uint8_t kase[ZN_ID_LEN], md[ZN_ID_LEN], hid[ZN_ID_LEN];
    uint64_t timeout = 0;
    s_case_new(t, A, NULL, kase);
    assert_int_equal(s_send(t, A, B, kase, md), ZN_E_OK);
    uint64_t before = s_now(t);
    s_want(t, "handover-offer", A, s_offer(t, A, kase, B, md, hid, &timeout), ZN_E_OK);
    assert_true(timeout >= before + S_HOUR_S * 1000 - 2000 && timeout <= s_now(t) + S_HOUR_S * 1000 + 2000);
    s_inbox box;
    s_inbox_of(t, COORD, &box);
    assert_int_equal(s_count(&box, "handover-escalated"), 0);

    s_restart(t, 2 * S_HOUR_S, NULL);
    s_log lg;
    s_log_wait(t, &lg, (s_q){.action = "handover-escalate"}, 1, 3 * ZH_TIMEOUT);
    const s_ent *x = s_log_one(&lg, (s_q){.action = "handover-escalate"});
    assert_null(x->en.actor);
    assert_string_equal(x->en.counterpart, "school");
    assert_true(s_det_bin(x, "handover", hid, ZN_ID_LEN));
    assert_true(s_det_u64(x, "timeout", timeout));
    assert_memory_equal(x->en.case_id, kase, ZN_ID_LEN);
    s_log_free(&lg);
    s_inbox_of(t, COORD, &box);
    const s_note *n = s_one(&box, "handover-escalated", "the coordinator");
    assert_memory_equal(n->handover, hid, ZN_ID_LEN);
    assert_memory_equal(n->case_id, kase, ZN_ID_LEN);
    assert_string_equal(n->from, "school");
    assert_string_equal(n->to, "wijkracht");
    assert_int_equal(n->timeout, timeout);
    /* the partners are not told of it */
    s_inbox_of(t, A, &box);
    assert_int_equal(s_count(&box, "handover-escalated"), 0);
    zn_case_view *v = s_view_new();
    s_want(t, "case-show", A, s_show(t, A, kase, v), ZN_E_OK);
    assert_int_equal(v->n_handovers, 1);
    assert_true(v->handovers[0].escalated);
    free(v);

    /* once only: another tick, another start */
    zh_sleep_ms(ZN_CASES_TICK_EVERY_MS + 1000);
    s_restart(t, 3 * S_HOUR_S, NULL);
    zh_sleep_ms(1000);
    s_log_read(t, &lg);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "handover-escalate"}), 1);
    s_log_free(&lg);
    s_inbox_of(t, COORD, &box);
    assert_int_equal(s_count(&box, "handover-escalated"), 0);
    /* still open: B may take it */
    s_want(t, "handover-accept", B, s_accept(t, B, hid, kase), ZN_E_OK);
    s_expect_regisseur(t, B, kase, "wijkracht");
}

/* ---- 7. linking a person to an anonymous case ---------------------------------------------- */

static void test_case_link(void **state)
{
    s_t *t = *state;
    uint8_t kase[ZN_ID_LEN], ident[ZN_ID_LEN], mc[ZN_ID_LEN], psn[ZN_PSN_LEN];
    char told[256];
    s_psn(t, P2, psn);
    s_case_new(t, A, NULL, kase);
    assert_int_equal(s_send(t, A, C, kase, mc), ZN_E_OK); /* C is a member, outside the consent to come */
    s_want(t, "case-link", A, s_link(t, A, kase, P2, told, sizeof told), ZN_E_CONSENT_REQUIRED);
    s_want(t, "case-link", C, s_link(t, C, kase, P2, told, sizeof told), ZN_E_NOT_REGISSEUR);
    uint64_t seq = s_grant(t, A, kase, "wijkracht", 0);
    s_want(t, "case-link", A, s_link(t, A, kase, P2, told, sizeof told), ZN_E_OK);
    assert_string_equal(told, "wijkracht");
    s_want(t, "case-link", A, s_link(t, A, kase, P3, told, sizeof told), ZN_E_CASE_IDENTIFIED);
    zn_case_view *v = s_view_new();
    s_want(t, "case-show", A, s_show(t, A, kase, v), ZN_E_OK);
    assert_true(v->identified);
    free(v);
    /* told: the consent's scope only */
    s_inbox box;
    s_inbox_of(t, B, &box);
    const s_note *n = s_one(&box, "case-linked", "wijkracht");
    assert_memory_equal(n->case_id, kase, ZN_ID_LEN);
    assert_string_equal(n->by, "school");
    assert_true(n->has_person);
    assert_memory_equal(n->person, psn, ZN_PSN_LEN);
    s_inbox_of(t, C, &box);
    assert_int_equal(s_count(&box, "case-linked"), 0);
    assert_non_null(s_env_in(&box, mc));
    /* from now on the case is identified: the consent decides */
    s_send_expect(t, A, C, kase, ZN_E_CONSENT_REQUIRED);
    s_send_expect(t, A, B, kase, ZN_E_OK);
    uint64_t sent = t->last_index;
    /* an identified case cannot be linked again */
    s_case_new(t, A, P1, ident);
    s_grant(t, A, ident, "wijkracht", 0);
    s_want(t, "case-link", A, s_link(t, A, ident, P2, told, sizeof told), ZN_E_CASE_IDENTIFIED);

    s_log lg;
    s_log_read(t, &lg);
    const s_ent *x = s_log_one(&lg, (s_q){.action = "case-link", .decision = ZN_AUDIT_ALLOWED});
    assert_string_equal(x->en.actor, "school");
    assert_string_equal(x->en.basis, "consent");
    assert_memory_equal(x->en.case_id, kase, ZN_ID_LEN);
    assert_true(s_det_u64(x, "consent", seq));
    assert_true(s_det_bin(x, "subject", psn, ZN_PSN_LEN));
    assert_true(s_det_str(x, "told", "wijkracht"));
    s_has_request(t, x, A);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "case-link", .reason = "consent-required"}), 1);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "case-link", .reason = "not-regisseur"}), 1);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "case-link", .reason = "case-identified"}), 2);
    x = s_log_at(&lg, sent);
    assert_string_equal(x->en.basis, "consent");
    s_log_free(&lg);
}

/* ---- 8. the i-checked flag ------------------------------------------------------------------- */

/* SEND of an envelope whose header carries `flags`, built by hand (signed by A, random ciphertext
 * with its hash) so that bits zn_envelope_seal refuses can be sent. */
static zn_code s_send_raw_flags(s_t *t, const uint8_t kase[ZN_ID_LEN], uint64_t flags)
{
    uint8_t ct[ZN_CT_OVERHEAD + ZN_PAD_MIN], hash[ZN_HASH_LEN], sig[ZN_SIG_LEN], msgid[ZN_ID_LEN];
    zh_random(ct, sizeof ct);
    zh_random(msgid, sizeof msgid);
    crypto_hash_sha256(hash, ct, sizeof ct);
    msgpack_sbuffer hb;
    msgpack_sbuffer_init(&hb);
    msgpack_packer hp;
    msgpack_packer_init(&hp, &hb, msgpack_sbuffer_write);
    msgpack_pack_array(&hp, 10);
    msgpack_pack_uint64(&hp, 1);
    zn_pack_bin(&hp, msgid, ZN_ID_LEN);
    zn_pack_bin(&hp, kase, ZN_ID_LEN);
    zn_pack_str(&hp, "school");
    zn_pack_str(&hp, ZH_HANDLER);
    zn_pack_str(&hp, "wijkracht");
    msgpack_pack_uint64(&hp, s_now(t));
    msgpack_pack_uint64(&hp, t->h->version);
    msgpack_pack_uint64(&hp, flags);
    zn_pack_bin(&hp, hash, sizeof hash);
    size_t ns = sizeof ZN_ENVELOPE_NS - 1;
    uint8_t msg[sizeof ZN_ENVELOPE_NS + ZN_MAX_HEADER];
    assert_true(hb.size <= ZN_MAX_HEADER);
    memcpy(msg, ZN_ENVELOPE_NS, ns);
    memcpy(msg + ns, hb.data, hb.size);
    assert_int_equal(crypto_sign_detached(sig, NULL, msg, ns + hb.size, t->h->party[A].keys.sign), 0);
    msgpack_sbuffer eb;
    msgpack_sbuffer_init(&eb);
    msgpack_packer ep;
    msgpack_packer_init(&ep, &eb, msgpack_sbuffer_write);
    msgpack_pack_array(&ep, 3);
    zn_pack_bin(&ep, hb.data, hb.size);
    zn_pack_bin(&ep, sig, sizeof sig);
    zn_pack_bin(&ep, ct, sizeof ct);
    msgpack_sbuffer_destroy(&hb);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    uint32_t corr = t->corr++;
    zh_frame_send(&sb, corr, (const uint8_t *)eb.data, eb.size);
    msgpack_sbuffer_destroy(&eb);
    zh_msg m;
    assert_int_equal(zh_call(s_conn(t, A), &sb, &m, 2 * ZH_TIMEOUT), 0);
    msgpack_sbuffer_destroy(&sb);
    assert_true(m.parsed);
    assert_int_equal(m.f.corr, corr);
    zn_code c = ZN_E_OK;
    if (m.f.type == ZN_T_ERROR) {
        c = m.f.u.error.code;
        snprintf(t->last_err, sizeof t->last_err, "%s: %s", m.f.u.error.name, m.f.u.error.text);
    } else {
        assert_int_equal(m.f.type, ZN_T_ACCEPTED);
    }
    zh_msg_free(&m);
    return c;
}

static void test_i_checked(void **state)
{
    s_t *t = *state;
    uint8_t kase[ZN_ID_LEN], m1[ZN_ID_LEN], m0[ZN_ID_LEN];
    s_case_new(t, A, NULL, kase);
    assert_int_equal(s_send_flags(t, A, B, kase, ZN_FLAG_I_CHECKED, m1), ZN_E_OK);
    uint64_t checked = t->last_index;
    assert_int_equal(s_send_flags(t, A, B, kase, 0, m0), ZN_E_OK);
    uint64_t plain = t->last_index;
    /* a hand-made header with bit 0 passes the same way; other bits are refused */
    assert_int_equal(s_send_raw_flags(t, kase, ZN_FLAG_I_CHECKED), ZN_E_OK);
    static const uint64_t bad[] = {2, 3, 1ull << 63};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        zn_code c = s_send_raw_flags(t, kase, bad[i]);
        if (c != ZN_E_MALFORMED)
            fail_msg("flags 0x%llx: expected malformed, got %s (%s)", (unsigned long long)bad[i], s_code(c),
                     t->last_err);
    }
    /* the broker keeps serving */
    s_send_expect(t, A, B, kase, ZN_E_OK);
    s_inbox box;
    s_inbox_of(t, B, &box);
    assert_int_equal(s_count(&box, NULL), 4);
    const s_note *n = s_env_in(&box, m1);
    assert_non_null(n);
    assert_int_equal(n->flags, ZN_FLAG_I_CHECKED);
    n = s_env_in(&box, m0);
    assert_non_null(n);
    assert_int_equal(n->flags, 0);

    s_log lg;
    s_log_read(t, &lg);
    const s_ent *x = s_log_at(&lg, checked);
    assert_string_equal(x->en.action, "send");
    assert_string_equal(x->en.basis, "anonymous");
    assert_true(s_det_u64(x, "i_checked", 1));
    s_has_header(t, x, A);
    x = s_log_at(&lg, plain);
    assert_null(s_det(x, "i_checked"));
    int with = 0;
    for (size_t i = 0; i < lg.n; i++)
        with += s_is(lg.e[i].en.action, "send") && s_det_u64(&lg.e[i], "i_checked", 1);
    assert_int_equal(with, 2);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "send", .decision = ZN_AUDIT_ALLOWED}), 4);
    s_log_free(&lg);
}

/* ---- 9. every decision is an entry with its basis ---------------------------------------------- */

static int s_party_of(const s_t *t, const char *id)
{
    for (int i = 0; id && i < ZH_NPARTY; i++)
        if (strcmp(t->h->party[i].id, id) == 0)
            return i;
    return -1;
}

static const char *const s_request_kinds[] = {
    "case-new", "case-show", "case-close", "case-link", "consent-set", "consent-show", "override-new",
    "override-list", "override-review", "handover-offer", "handover-accept", "handover-decline", "handover-list",
};

static bool s_is_request_kind(const char *action)
{
    for (size_t i = 0; i < sizeof s_request_kinds / sizeof s_request_kinds[0]; i++)
        if (s_is(action, s_request_kinds[i]))
            return true;
    return false;
}

/* The rules every entry on the case keeps: requests and sends carry their signed evidence; a
 * refusal names its reason and no basis; an allowed send names its basis and what it relied on.
 * Returns how many entries were checked. */
static int s_check_entries(const s_t *t, const s_log *lg, const uint8_t kase[ZN_ID_LEN])
{
    int n = 0;
    for (size_t i = 0; i < lg->n; i++) {
        const s_ent *x = &lg->e[i];
        if (!x->en.case_id || memcmp(x->en.case_id, kase, ZN_ID_LEN) != 0)
            continue;
        n++;
        const char *act = x->en.action;
        assert_true(x->en.decision == ZN_AUDIT_ALLOWED || x->en.decision == ZN_AUDIT_REFUSED);
        if (x->en.decision == ZN_AUDIT_REFUSED) {
            if (!x->en.reason)
                fail_msg("refused entry %s (index %llu) names no reason", act, (unsigned long long)x->en.index);
            assert_null(x->en.basis);
        } else if (!s_is(act, "drop") && x->en.reason) {
            fail_msg("allowed entry %s names reason %s", act, x->en.reason);
        }
        if (s_is_request_kind(act) && x->en.actor) {
            int p = s_party_of(t, x->en.actor);
            assert_true(p >= 0);
            s_has_request(t, x, p);
        }
        if (s_is(act, "send")) {
            int p = s_party_of(t, x->en.actor);
            assert_true(p >= 0);
            s_has_header(t, x, p);
            if (x->en.decision == ZN_AUDIT_ALLOWED) {
                s_has_id(x, "item");
                if (s_is(x->en.basis, "consent")) {
                    assert_true(s_det_num(x, "consent") >= 1);
                    assert_null(s_det(x, "override"));
                } else if (s_is(x->en.basis, "safety-override")) {
                    s_has_id(x, "override");
                    assert_null(s_det(x, "consent"));
                } else if (s_is(x->en.basis, "anonymous")) {
                    assert_null(s_det(x, "consent"));
                    assert_null(s_det(x, "override"));
                } else {
                    fail_msg("allowed send (index %llu) with basis %s", (unsigned long long)x->en.index,
                             x->en.basis ? x->en.basis : "none");
                }
            }
        }
        if (s_is(act, "drop")) {
            assert_null(x->en.actor);
            assert_non_null(x->en.reason);
            s_has_id(x, "item");
            s_has_id(x, "msgid");
        }
    }
    return n;
}

static void test_audit_every_decision(void **state)
{
    s_t *t = *state;
    uint8_t k1[ZN_ID_LEN], k2[ZN_ID_LEN], oid[ZN_ID_LEN], md[ZN_ID_LEN], hid[ZN_ID_LEN];
    const char *const related[] = {P2, NULL};
    s_want(t, "case-new", A, s_case_new_ex(t, A, ZH_NET0, P1, related, k1), ZN_E_OK);
    s_send_expect(t, A, B, k1, ZN_E_CONSENT_REQUIRED);
    uint64_t seq = s_grant(t, A, k1, "wijkracht", 0);
    s_send_expect(t, A, B, k1, ZN_E_OK);
    s_send_expect(t, B, A, k1, ZN_E_OK);
    s_send_expect(t, A, C, k1, ZN_E_CONSENT_REQUIRED);
    s_override(t, A, k1, C, oid);
    s_send_expect(t, A, C, k1, ZN_E_OK);
    s_want(t, "override-review", COORD, s_review(t, COORD, oid, true, "school", NULL), ZN_E_OK);
    s_send_expect(t, A, B, k1, ZN_E_OK); /* B is offline: it waits, then the consent is withdrawn */
    s_want(t, "consent-set", A,
           s_consent_ex(t, A, k1, ZN_CONSENT_WITHDRAWN, "", 0, ZN_AGE_NONE, 0, PURPOSE_AUDITORS, NULL), ZN_E_OK);
    s_send_expect(t, A, B, k1, ZN_E_CONSENT_REQUIRED);
    s_want(t, "consent-show", B, s_id_req(t, B, "consent-show", k1, NULL), ZN_E_OK);
    s_want(t, "case-show", X, s_id_req(t, X, "case-show", k1, NULL), ZN_E_NOT_MEMBER);
    s_case_new(t, A, NULL, k2);
    assert_int_equal(s_send(t, A, B, k2, md), ZN_E_OK);
    s_send_expect(t, B, A, k2, ZN_E_OK);
    s_want(t, "handover-offer", A, s_offer(t, A, k2, B, md, hid, NULL), ZN_E_OK);
    s_want(t, "handover-accept", B, s_accept(t, B, hid, k2), ZN_E_OK);
    s_want(t, "case-close", A, s_id_req(t, A, "case-close", k2, NULL), ZN_E_NOT_REGISSEUR);
    s_want(t, "case-close", B, s_id_req(t, B, "case-close", k2, NULL), ZN_E_OK);

    s_log lg;
    s_log_read(t, &lg);
    assert_true(s_check_entries(t, &lg, k1) >= 14);
    assert_true(s_check_entries(t, &lg, k2) >= 7);
    /* the bases, as they were decided */
    assert_int_equal(s_log_count(&lg, (s_q){.action = "send", .basis = "consent", .case_id = k1}), 3);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "send", .basis = "safety-override", .case_id = k1}), 1);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "send", .basis = "anonymous", .case_id = k2}), 2);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "send", .reason = "consent-required", .case_id = k1}), 3);
    /* nobody was online: the withdrawal stopped both envelopes queued for B and B's answer queued
     * for the regisseur (judged again, it has no basis left); A's envelope to C stands on the
     * override */
    assert_int_equal(s_log_count(&lg, (s_q){.action = "drop", .reason = "consent-required", .case_id = k1,
                                            .counterpart = "wijkracht"}),
                     2);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "drop", .reason = "consent-required", .case_id = k1,
                                            .counterpart = "school"}),
                     1);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "drop", .case_id = k1}), 3);
    const s_ent *x = s_log_one(&lg, (s_q){.action = "send", .basis = "safety-override", .case_id = k1});
    assert_true(s_det_bin(x, "override", oid, ZN_ID_LEN));
    for (size_t i = 0; i < lg.n; i++)
        if (s_is(lg.e[i].en.action, "send") && s_is(lg.e[i].en.basis, "consent"))
            assert_true(s_det_u64(&lg.e[i], "consent", seq));
    assert_int_equal(s_log_count(&lg, (s_q){.action = "override-new", .basis = "safety-override", .case_id = k1}), 1);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "handover-offer", .basis = "anonymous", .case_id = k2}), 1);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "handover-accept", .basis = "anonymous", .case_id = k2}), 1);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "case-close", .decision = ZN_AUDIT_REFUSED, .case_id = k2}), 1);
    assert_int_equal(s_log_count(&lg, (s_q){.action = "case-show", .actor = "ggd", .reason = "not-member",
                                            .case_id = k1}),
                     1);
    s_log_free(&lg);
}

/* ---- 10. malformed bodies change nothing ---------------------------------------------------------- */

/* out = the array body with field i replaced by -1 (i == n: one nil field more). */
static void s_mutate(const msgpack_sbuffer *valid, uint32_t i, msgpack_sbuffer *out)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    assert_int_equal(msgpack_unpack_next(&u, valid->data, valid->size, NULL), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(u.data.type, MSGPACK_OBJECT_ARRAY);
    uint32_t n = u.data.via.array.size;
    msgpack_sbuffer_init(out);
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, i == n ? n + 1 : n);
    for (uint32_t k = 0; k < n; k++) {
        if (k == i)
            msgpack_pack_int64(&pk, -1);
        else
            msgpack_pack_object(&pk, u.data.via.array.ptr[k]);
    }
    if (i == n)
        msgpack_pack_nil(&pk);
    msgpack_unpacked_destroy(&u);
}

static uint32_t s_fields(const msgpack_sbuffer *valid)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    assert_int_equal(msgpack_unpack_next(&u, valid->data, valid->size, NULL), MSGPACK_UNPACK_SUCCESS);
    uint32_t n = u.data.type == MSGPACK_OBJECT_ARRAY ? u.data.via.array.size : 0;
    msgpack_unpacked_destroy(&u);
    return n;
}

static void s_expect_malformed(s_t *t, int party, const char *kind, const void *body, size_t len, const char *what)
{
    zn_code c = s_call_raw(t, party, kind, body, len, NULL);
    if (c != ZN_E_MALFORMED)
        fail_msg("%s with %s: expected malformed, got %s (%s)", kind, what, s_code(c), t->last_err);
}

/* The valid body, then each of its fields replaced by -1, one field more, and bodies that are no
 * array at all: each is refused as malformed. Returns how many were sent. */
static int s_malformed_all(s_t *t, int party, const char *kind, msgpack_sbuffer *valid)
{
    int sent = 0;
    uint32_t n = s_fields(valid);
    assert_true(n >= 1);
    for (uint32_t i = 0; i <= n; i++) {
        msgpack_sbuffer bad;
        s_mutate(valid, i, &bad);
        char what[48];
        snprintf(what, sizeof what, i == n ? "one field more" : "field %u not of its type", i);
        s_expect_malformed(t, party, kind, bad.data, bad.size, what);
        msgpack_sbuffer_destroy(&bad);
        sent++;
    }
    static const uint8_t nil[] = {0xc0}, empty[] = {0x90}, map[] = {0x81, 0xa1, 'a', 0x01}, str[] = {0xa1, 'x'};
    s_expect_malformed(t, party, kind, nil, sizeof nil, "a nil body");
    s_expect_malformed(t, party, kind, empty, sizeof empty, "an empty array");
    s_expect_malformed(t, party, kind, map, sizeof map, "a map");
    s_expect_malformed(t, party, kind, str, sizeof str, "a string");
    msgpack_sbuffer_destroy(valid);
    return sent + 4;
}

static void test_malformed_bodies(void **state)
{
    s_t *t = *state;
    uint8_t kase[ZN_ID_LEN], anon[ZN_ID_LEN], oid[ZN_ID_LEN], md[ZN_ID_LEN], hid[ZN_ID_LEN];
    s_case_new(t, A, P1, kase);
    s_case_new(t, A, NULL, anon);
    s_override(t, A, kase, C, oid);
    assert_int_equal(s_send(t, A, B, anon, md), ZN_E_OK);
    s_want(t, "handover-offer", A, s_offer(t, A, anon, B, md, hid, NULL), ZN_E_OK);
    s_log lg;
    s_log_read(t, &lg);
    int allowed_before[sizeof s_request_kinds / sizeof s_request_kinds[0]];
    for (size_t i = 0; i < sizeof s_request_kinds / sizeof s_request_kinds[0]; i++)
        allowed_before[i] = s_log_count(&lg, (s_q){.action = s_request_kinds[i], .decision = ZN_AUDIT_ALLOWED});
    s_log_free(&lg);

    int sent = 0;
    msgpack_sbuffer sb;
    /* case-new, anonymous and identified */
    zn_case_new_body cn;
    memset(&cn, 0, sizeof cn);
    zh_random(cn.id, ZN_ID_LEN);
    snprintf(cn.network, sizeof cn.network, "%s", ZH_NET0);
    msgpack_sbuffer_init(&sb);
    assert_int_equal(zn_body_case_new_enc(&sb, &cn), 0);
    sent += s_malformed_all(t, A, "case-new", &sb);
    cn.identified = true;
    s_psn(t, P1, cn.person);
    cn.n_related = 1;
    s_psn(t, P2, cn.related[0]);
    msgpack_sbuffer_init(&sb);
    assert_int_equal(zn_body_case_new_enc(&sb, &cn), 0);
    sent += s_malformed_all(t, A, "case-new", &sb);
    /* the bodies of one id */
    static const char *const id_kinds[] = {"case-show", "case-close", "consent-show"};
    for (size_t i = 0; i < 3; i++) {
        msgpack_sbuffer_init(&sb);
        zn_body_id_enc(&sb, kase);
        sent += s_malformed_all(t, A, id_kinds[i], &sb);
    }
    msgpack_sbuffer_init(&sb);
    zn_body_id_enc(&sb, hid);
    sent += s_malformed_all(t, B, "handover-accept", &sb);
    /* case-link */
    zn_case_link_body lb;
    memset(&lb, 0, sizeof lb);
    memcpy(lb.case_id, anon, ZN_ID_LEN);
    s_psn(t, P3, lb.person);
    msgpack_sbuffer_init(&sb);
    zn_body_case_link_enc(&sb, &lb);
    sent += s_malformed_all(t, A, "case-link", &sb);
    /* consent-set */
    zn_consent c;
    memset(&c, 0, sizeof c);
    c.state = ZN_CONSENT_GRANTED;
    c.n_scope = 1;
    snprintf(c.scope[0], ZN_IDENT_MAX, "wijkracht");
    c.given_by = ZN_GIVEN_CLIENT;
    c.age_band = ZN_AGE_16_PLUS;
    msgpack_sbuffer pb;
    s_sealed(t, &pb, ZN_READ_AUDITORS, NULL, "Overleg over passende hulp");
    msgpack_sbuffer_init(&sb);
    zn_body_consent_set_enc(&sb, kase, &c, (const uint8_t *)pb.data, pb.size);
    msgpack_sbuffer_destroy(&pb);
    sent += s_malformed_all(t, A, "consent-set", &sb);
    /* override-new */
    zn_override_new_body ob;
    memset(&ob, 0, sizeof ob);
    zh_random(ob.id, ZN_ID_LEN);
    memcpy(ob.case_id, kase, ZN_ID_LEN);
    snprintf(ob.to, sizeof ob.to, "wijkracht");
    ob.step = 2;
    msgpack_sbuffer jb;
    s_sealed(t, &jb, ZN_READ_COORDINATORS | ZN_READ_AUDITORS, NULL, JUST);
    msgpack_sbuffer_init(&sb);
    zn_body_override_new_enc(&sb, &ob, (const uint8_t *)jb.data, jb.size);
    msgpack_sbuffer_destroy(&jb);
    sent += s_malformed_all(t, A, "override-new", &sb);
    /* override-list, override-review */
    msgpack_sbuffer_init(&sb);
    zn_body_override_list_enc(&sb, true, 0);
    sent += s_malformed_all(t, COORD, "override-list", &sb);
    msgpack_sbuffer nb;
    s_sealed(t, &nb, ZN_READ_PARTNER | ZN_READ_COORDINATORS | ZN_READ_AUDITORS, "school", "Geen direct gevaar.");
    msgpack_sbuffer_init(&sb);
    zn_body_override_review_enc(&sb, oid, false, (const uint8_t *)nb.data, nb.size);
    msgpack_sbuffer_destroy(&nb);
    sent += s_malformed_all(t, COORD, "override-review", &sb);
    /* handover-offer, handover-decline, handover-list */
    zn_handover_offer_body hb;
    memset(&hb, 0, sizeof hb);
    zh_random(hb.id, ZN_ID_LEN);
    memcpy(hb.case_id, anon, ZN_ID_LEN);
    snprintf(hb.to, sizeof hb.to, "wijkracht");
    memcpy(hb.msgid, md, ZN_ID_LEN);
    msgpack_sbuffer_init(&sb);
    zn_body_handover_offer_enc(&sb, &hb);
    sent += s_malformed_all(t, A, "handover-offer", &sb);
    msgpack_sbuffer rb;
    s_sealed(t, &rb, ZN_READ_PARTNER | ZN_READ_AUDITORS, "school", "Geen plek in het team.");
    msgpack_sbuffer_init(&sb);
    zn_body_handover_decline_enc(&sb, hid, (const uint8_t *)rb.data, rb.size);
    sent += s_malformed_all(t, B, "handover-decline", &sb);
    /* a decline without a reason */
    msgpack_sbuffer_init(&sb);
    zn_body_handover_decline_enc(&sb, hid, NULL, 0);
    s_expect_malformed(t, B, "handover-decline", sb.data, sb.size, "no reason");
    msgpack_sbuffer_destroy(&sb);
    msgpack_sbuffer_destroy(&rb);
    sent++;
    msgpack_sbuffer_init(&sb);
    zn_body_offset_enc(&sb, 0);
    sent += s_malformed_all(t, A, "handover-list", &sb);
    assert_true(sent > 100);

    /* nothing changed */
    assert_true(zh_broker_alive(t->h));
    zn_case_view *v = s_view_new();
    s_want(t, "case-show", A, s_show(t, A, kase, v), ZN_E_OK);
    assert_string_equal(v->regisseur, "school");
    assert_int_equal(v->closed_ms, 0);
    assert_int_equal(v->consent_seq, 0);
    assert_int_equal(v->n_overrides, 1);
    assert_int_equal(v->overrides[0].state, ZN_OVERRIDE_PENDING);
    s_want(t, "case-show", A, s_show(t, A, anon, v), ZN_E_OK);
    assert_false(v->identified);
    assert_int_equal(v->n_handovers, 1);
    assert_int_equal(v->handovers[0].state, ZN_HANDOVER_OPEN);
    free(v);
    s_log_read(t, &lg);
    for (size_t i = 0; i < sizeof s_request_kinds / sizeof s_request_kinds[0]; i++) {
        int now = s_log_count(&lg, (s_q){.action = s_request_kinds[i], .decision = ZN_AUDIT_ALLOWED});
        /* the two case-show reads above are the only new allowed entries */
        int want = allowed_before[i] + (s_is(s_request_kinds[i], "case-show") ? 2 : 0);
        if (now != want)
            fail_msg("%s: %d allowed entries after malformed requests, %d before", s_request_kinds[i], now,
                     allowed_before[i]);
    }
    /* and every refusal was recorded as malformed */
    int refused = 0;
    for (size_t i = 0; i < sizeof s_request_kinds / sizeof s_request_kinds[0]; i++)
        refused += s_log_count(&lg, (s_q){.action = s_request_kinds[i], .reason = "malformed"});
    assert_int_equal(refused, sent);
    s_log_free(&lg);
    /* the override and the handover still work */
    s_want(t, "handover-accept", B, s_accept(t, B, hid, anon), ZN_E_OK);
    s_want(t, "override-review", COORD, s_review(t, COORD, oid, true, "school", NULL), ZN_E_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_case_new_anonymous, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_case_new_identified, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_case_show_access, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_case_close, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_membership, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_consent_required, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_consent_capacity, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_consent_expiry, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_withdraw_purges_queue, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_refusal_purges_identified_only, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_closed_case_retention, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_override_new, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_override_review, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_override_reject_purges, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_override_reject_keeps_consented, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_override_expiry, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_override_escalation, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_handover_accept, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_handover_identified, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_handover_decline, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_handover_timeout, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_case_link, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_i_checked, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_audit_every_decision, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_malformed_bodies, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
