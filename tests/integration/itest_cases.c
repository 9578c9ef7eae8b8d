/* itest_cases — cases, consent, safety overrides, anonymous mode and warm handovers against the
 * real zorgnetd on loopback, with raw protocol frames: signed requests built with the zn_case
 * encoders at the broker's time, free text sealed with zn_sealed_build to the readers the
 * convenant gives (and to the wrong ones), envelopes sealed as a partner seals them. Covered:
 * anonymous and identified cases, who may read and close a case, membership, consent and the
 * capacity rules, consent expiry and withdrawal (the queue is purged and the sender told), the
 * safety override (its checks, review, rejection, expiry and escalation), warm handovers (offer,
 * accept, decline, timeout, withdrawal, a recipient that left the convenant), linking a person,
 * the i-checked flag, the audit entry and basis of every decision, and malformed bodies that
 * change nothing. Section 11 holds what a review of this module asked to change: a partner that
 * holds a case needs no place in the consent's scope only when it recorded that consent itself;
 * membership comes with an acknowledgement; an ended consent stops what is queued (and so does a
 * handover that moves the case), but never what a recipient already holds; a handover can be
 * withdrawn; an unreviewed override that ends is escalated too; pseudonyms of another epoch,
 * unevenly sealed texts and long consent histories; a retry after a withdrawal; the library's
 * plain send checks an anonymous case's text.
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
#include "zn_case.h"
#include "zn_pseudonym.h"
#include "zn_sealed.h"
#include "zorgnet.h" /* the library's plain send */

#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_HOUR_S 3600ll
#define S_DAY_S (24ll * 3600)

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

/* ---- requests (over the harness's request fixture) ----------------------------------------- */

static const char *s_id(const zh_fix *t, int party) { return t->h->party[party].id; }

/* Send body as `kind` with the RESULT in *m (when m is given; free it); the body is consumed. */
static zn_code s_call_sb(zh_fix *t, int party, const char *kind, msgpack_sbuffer *body, zh_msg *m)
{
    zn_code c = zh_fix_call(t, party, NULL, kind, body, m);
    msgpack_sbuffer_destroy(body);
    return c;
}

/* Send body as `kind` and expect `want` (a RESULT for ZN_E_OK); the body is consumed. */
static void s_expect_sb(zh_fix *t, int party, const char *kind, msgpack_sbuffer *body, zn_code want)
{
    zh_fix_want(t, kind, party, s_call_sb(t, party, kind, body, NULL), want);
}

/* A zeroed heap block (views and lists are large). */
static void *s_new(size_t size)
{
    void *p = calloc(1, size);
    assert_non_null(p);
    return p;
}

/* The refusal's sentence holds `word` (what: what it should say). */
static void s_says(const zh_fix *t, const char *word, const char *what)
{
    if (!strstr(t->last_err, word))
        fail_msg("the sentence does not say %s: %s", what, t->last_err);
}

/* Free text sealed to the readers `who` names (network 0, partner for ZN_READ_PARTNER), packed
 * into a fresh sbuffer the caller destroys. */
static void s_sealed(zh_fix *t, msgpack_sbuffer *out, unsigned who, const char *partner, const char *text)
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

/* Field i of the RESULT's n is the id `want`. */
static void s_res_is(const zh_msg *m, uint32_t n, uint32_t i, const uint8_t want[ZN_ID_LEN])
{
    uint8_t got[ZN_ID_LEN];
    s_res_id(m, n, i, got);
    assert_memory_equal(got, want, ZN_ID_LEN);
}

/* ---- cases --------------------------------------------------------------------------------- */

/* A case-new body in network with a random id (written to id); identified when bsn is given (with
 * related BSNs, NULL-ended). */
static void s_case_new_body(zh_fix *t, msgpack_sbuffer *sb, const char *network, const char *bsn,
                            const char *const *related, uint8_t id[ZN_ID_LEN])
{
    zn_case_new_body b;
    memset(&b, 0, sizeof b);
    zh_random(b.id, ZN_ID_LEN);
    memcpy(id, b.id, ZN_ID_LEN);
    snprintf(b.network, sizeof b.network, "%s", network);
    if (bsn) {
        b.identified = true;
        zh_psn(t->h, bsn, b.person);
        for (size_t i = 0; related && related[i]; i++)
            zh_psn(t->h, related[i], b.related[b.n_related++]);
    }
    msgpack_sbuffer_init(sb);
    assert_int_equal(zn_body_case_new_enc(sb, &b), 0);
}

/* case-new by party in network; identified when bsn is given (with related BSNs, NULL-ended). */
static zn_code s_case_new_ex(zh_fix *t, int party, const char *network, const char *bsn, const char *const *related,
                             uint8_t id[ZN_ID_LEN])
{
    msgpack_sbuffer sb;
    s_case_new_body(t, &sb, network, bsn, related, id);
    zh_msg m;
    zn_code c = s_call_sb(t, party, "case-new", &sb, &m);
    if (c == ZN_E_OK) {
        s_res_is(&m, 1, 0, id);
        zh_msg_free(&m);
    }
    return c;
}

static void s_case_new(zh_fix *t, int party, const char *bsn, uint8_t id[ZN_ID_LEN])
{
    zh_fix_want(t, "case-new", party, s_case_new_ex(t, party, ZH_NET0, bsn, NULL, id), ZN_E_OK);
}

static void s_id_body(msgpack_sbuffer *sb, const uint8_t id[ZN_ID_LEN])
{
    msgpack_sbuffer_init(sb);
    zn_body_id_enc(sb, id);
}

static zn_code s_id_req(zh_fix *t, int party, const char *kind, const uint8_t id[ZN_ID_LEN], zh_msg *m)
{
    msgpack_sbuffer sb;
    s_id_body(&sb, id);
    return s_call_sb(t, party, kind, &sb, m);
}

/* case-show into *v (heap: the view is large); ZN_E_OK or the refusal. */
static zn_code s_show(zh_fix *t, int party, const uint8_t id[ZN_ID_LEN], zn_case_view *v)
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

/* The case as party reads it (the read must be allowed); free it. */
static zn_case_view *s_view(zh_fix *t, int party, const uint8_t id[ZN_ID_LEN])
{
    zn_case_view *v = s_new(sizeof *v);
    zh_fix_want(t, "case-show", party, s_show(t, party, id, v), ZN_E_OK);
    return v;
}

static const zn_member_row *s_member(const zn_case_view *v, const char *partner)
{
    for (size_t i = 0; i < v->n_members; i++)
        if (strcmp(v->members[i].partner, partner) == 0)
            return &v->members[i];
    return NULL;
}

/* box holds n envelope-dropped notices (reason consent-required, recipient, on the case), one for
 * each of the msgids. */
static void s_dropped(const zh_inbox *box, const uint8_t kase[ZN_ID_LEN], const char *recipient,
                      const uint8_t *const *msgids, int n)
{
    assert_int_equal(zh_inbox_count(box, "envelope-dropped"), n);
    for (int k = 0; k < n; k++) {
        const zh_note *x = NULL;
        for (int i = 0; i < box->n; i++)
            if (zh_is(box->v[i].type, "envelope-dropped") && memcmp(box->v[i].msgid, msgids[k], ZN_ID_LEN) == 0)
                x = &box->v[i];
        if (!x)
            fail_msg("no envelope-dropped notice for message %d", k + 1);
        assert_string_equal(x->reason, "consent-required");
        assert_string_equal(x->recipient, recipient);
        assert_true(x->has_case);
        assert_memory_equal(x->case_id, kase, ZN_ID_LEN);
    }
}

static void s_expect_regisseur(zh_fix *t, int party, const uint8_t id[ZN_ID_LEN], const char *regisseur)
{
    zn_case_view *v = s_view(t, party, id);
    assert_string_equal(v->regisseur, regisseur);
    free(v);
}

/* ---- consent ------------------------------------------------------------------------------- */

typedef enum { PURPOSE_NONE, PURPOSE_AUDITORS, PURPOSE_WRONG } s_purpose;

/* A consent-set body: state, scope (comma list, ascending; "" none), given_by (ZN_GIVEN_*), age
 * band, until (0: none), purpose. */
static void s_consent_body(zh_fix *t, msgpack_sbuffer *sb, const uint8_t id[ZN_ID_LEN], zn_consent_state state,
                           const char *scope, unsigned given, zn_age_band band, uint64_t until_ms, s_purpose purpose)
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
    msgpack_sbuffer_init(sb);
    zn_body_consent_set_enc(sb, id, &c, purpose == PURPOSE_NONE ? NULL : (const uint8_t *)pb.data,
                            purpose == PURPOSE_NONE ? 0 : pb.size);
    msgpack_sbuffer_destroy(&pb);
}

/* consent-set by party (see s_consent_body). ZN_E_OK with *seq (may be NULL). */
static zn_code s_consent_ex(zh_fix *t, int party, const uint8_t id[ZN_ID_LEN], zn_consent_state state,
                            const char *scope, unsigned given, zn_age_band band, uint64_t until_ms, s_purpose purpose,
                            uint64_t *seq)
{
    msgpack_sbuffer sb;
    s_consent_body(t, &sb, id, state, scope, given, band, until_ms, purpose);
    zh_msg m;
    zn_code code = s_call_sb(t, party, "consent-set", &sb, &m);
    if (code == ZN_E_OK) {
        s_res_is(&m, 2, 0, id);
        uint64_t s = s_res_u64(&m, 2, 1);
        assert_true(s >= 1);
        if (seq)
            *seq = s;
        zh_msg_free(&m);
    }
    return code;
}

/* consent-set of a state that takes no scope, giver or age band; expect `want`. */
static void s_consent_state(zh_fix *t, int party, const uint8_t id[ZN_ID_LEN], zn_consent_state state,
                            s_purpose purpose, zn_code want)
{
    zh_fix_want(t, "consent-set", party, s_consent_ex(t, party, id, state, "", 0, ZN_AGE_NONE, 0, purpose, NULL), want);
}

/* consent-set of a consent granted by the client for scope at band (see s_consent_body); expect
 * `want`. */
static void s_grant_expect(zh_fix *t, int party, const uint8_t id[ZN_ID_LEN], const char *scope, zn_age_band band,
                           uint64_t until_ms, s_purpose purpose, zn_code want)
{
    zh_fix_want(t, "consent-set", party,
                s_consent_ex(t, party, id, ZN_CONSENT_GRANTED, scope, ZN_GIVEN_CLIENT, band, until_ms, purpose, NULL),
                want);
}

/* A granted consent for scope, given by the client at 16+, with a purpose; returns its seq. */
static uint64_t s_grant(zh_fix *t, int party, const uint8_t id[ZN_ID_LEN], const char *scope, uint64_t until_ms)
{
    uint64_t seq = 0;
    zh_fix_want(t, "consent-set", party,
                s_consent_ex(t, party, id, ZN_CONSENT_GRANTED, scope, ZN_GIVEN_CLIENT, ZN_AGE_16_PLUS, until_ms,
                             PURPOSE_AUDITORS, &seq),
                ZN_E_OK);
    return seq;
}

/* ---- envelopes ----------------------------------------------------------------------------- */

static zn_code s_send(zh_fix *t, int from, int to, const uint8_t case_id[ZN_ID_LEN], uint8_t msgid[ZN_ID_LEN])
{
    return zh_fix_send(t, from, to, case_id, 0, msgid);
}

static void s_send_expect(zh_fix *t, int from, int to, const uint8_t case_id[ZN_ID_LEN], zn_code want)
{
    zn_code got = s_send(t, from, to, case_id, NULL);
    if (got != want)
        fail_msg("send %s -> %s: expected %s, got %s (%s)", s_id(t, from), s_id(t, to), zh_code_text(want),
                 zh_code_text(got), t->last_err);
}

/* ---- safety overrides ---------------------------------------------------------------------- */

typedef enum { JUST_OK, JUST_EXACT, JUST_TOO_SHORT, JUST_WRONG_READERS } s_just;

/* An override-new body on the case for `to`, at step, with a random id (written to id). */
static void s_override_body(zh_fix *t, msgpack_sbuffer *sb, const uint8_t case_id[ZN_ID_LEN], const char *to,
                            uint64_t step, s_just just, uint8_t id[ZN_ID_LEN])
{
    zn_override_new_body b;
    memset(&b, 0, sizeof b);
    zh_random(b.id, ZN_ID_LEN);
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
    msgpack_sbuffer_init(sb);
    zn_body_override_new_enc(sb, &b, (const uint8_t *)jb.data, jb.size);
    msgpack_sbuffer_destroy(&jb);
}

/* override-new by party on the case for `to`, at step; ZN_E_OK with id, expires and review_by
 * (each may be NULL). */
static zn_code s_override_ex(zh_fix *t, int party, const uint8_t case_id[ZN_ID_LEN], const char *to, uint64_t step,
                             s_just just, uint8_t id[ZN_ID_LEN], uint64_t *expires, uint64_t *review_by)
{
    uint8_t oid[ZN_ID_LEN];
    msgpack_sbuffer sb;
    s_override_body(t, &sb, case_id, to, step, just, oid);
    if (id)
        memcpy(id, oid, ZN_ID_LEN);
    zh_msg m;
    zn_code c = s_call_sb(t, party, "override-new", &sb, &m);
    if (c == ZN_E_OK) {
        s_res_is(&m, 3, 0, oid);
        if (expires)
            *expires = s_res_u64(&m, 3, 1);
        if (review_by)
            *review_by = s_res_u64(&m, 3, 2);
        zh_msg_free(&m);
    }
    return c;
}

static void s_override(zh_fix *t, int party, const uint8_t case_id[ZN_ID_LEN], int to, uint8_t id[ZN_ID_LEN])
{
    zh_fix_want(t, "override-new", party, s_override_ex(t, party, case_id, s_id(t, to), 3, JUST_OK, id, NULL, NULL),
                ZN_E_OK);
}

/* An override-review body; the note sealed to the author (partner), the coordinators and
 * auditors when author is given, else none. */
static void s_review_body(zh_fix *t, msgpack_sbuffer *sb, const uint8_t id[ZN_ID_LEN], bool approve, const char *author)
{
    msgpack_sbuffer nb;
    msgpack_sbuffer_init(&nb);
    if (author) {
        msgpack_sbuffer_destroy(&nb);
        s_sealed(t, &nb, ZN_READ_PARTNER | ZN_READ_COORDINATORS | ZN_READ_AUDITORS, author,
                 approve ? "Terecht: direct gevaar, overleg was nodig."
                         : "Geen direct gevaar; vraag eerst toestemming.");
    }
    msgpack_sbuffer_init(sb);
    zn_body_override_review_enc(sb, id, approve, author ? (const uint8_t *)nb.data : NULL, author ? nb.size : 0);
    msgpack_sbuffer_destroy(&nb);
}

/* override-review by party (see s_review_body). ZN_E_OK with the state in state_out (may be
 * NULL). */
static zn_code s_review(zh_fix *t, int party, const uint8_t id[ZN_ID_LEN], bool approve, const char *author,
                        char state_out[ZN_IDENT_MAX])
{
    msgpack_sbuffer sb;
    s_review_body(t, &sb, id, approve, author);
    zh_msg m;
    zn_code c = s_call_sb(t, party, "override-review", &sb, &m);
    if (c == ZN_E_OK) {
        s_res_is(&m, 2, 0, id);
        char st[ZN_IDENT_MAX];
        assert_int_equal(zn_obj_ident(&s_res(&m, 2)[1], st, sizeof st), 0);
        assert_string_equal(st, approve ? "approved" : "rejected");
        if (state_out)
            snprintf(state_out, ZN_IDENT_MAX, "%s", st);
        zh_msg_free(&m);
    }
    return c;
}

/* The coordinator reviews the override of school, with a note; the review must be allowed. */
static void s_review_ok(zh_fix *t, const uint8_t id[ZN_ID_LEN], bool approve)
{
    zh_fix_want(t, "override-review", COORD, s_review(t, COORD, id, approve, "school", NULL), ZN_E_OK);
}

typedef struct {
    uint64_t total;
    size_t n;
    zn_override_row v[ZN_CASE_PAGE];
} s_olist;

/* override-list by party (all or pending only), first page. */
static zn_code s_olist_of(zh_fix *t, int party, bool all, s_olist *out)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    zn_body_override_list_enc(&sb, all, 0);
    zh_msg m;
    zn_code c = s_call_sb(t, party, "override-list", &sb, &m);
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

/* The coordinator's override row of id (all or pending only); it must be listed. */
static zn_override_row s_orow_of(zh_fix *t, bool all, const uint8_t id[ZN_ID_LEN])
{
    s_olist *l = s_new(sizeof *l);
    zh_fix_want(t, "override-list", COORD, s_olist_of(t, COORD, all, l), ZN_E_OK);
    const zn_override_row *r = s_orow(l, id);
    assert_non_null(r);
    zn_override_row row = *r;
    free(l);
    return row;
}

/* The override no longer waits for review. */
static void s_not_pending(zh_fix *t, const uint8_t id[ZN_ID_LEN])
{
    s_olist *l = s_new(sizeof *l);
    zh_fix_want(t, "override-list", COORD, s_olist_of(t, COORD, false, l), ZN_E_OK);
    assert_null(s_orow(l, id));
    free(l);
}

/* ---- handovers ----------------------------------------------------------------------------- */

/* A handover-offer body of the case to `to` with the dossier msgid and a random id (written to
 * id). */
static void s_offer_body(zh_fix *t, msgpack_sbuffer *sb, const uint8_t case_id[ZN_ID_LEN], int to,
                         const uint8_t msgid[ZN_ID_LEN], uint8_t id[ZN_ID_LEN])
{
    zn_handover_offer_body b;
    memset(&b, 0, sizeof b);
    zh_random(b.id, ZN_ID_LEN);
    memcpy(id, b.id, ZN_ID_LEN);
    memcpy(b.case_id, case_id, ZN_ID_LEN);
    snprintf(b.to, sizeof b.to, "%s", s_id(t, to));
    memcpy(b.msgid, msgid, ZN_ID_LEN);
    msgpack_sbuffer_init(sb);
    zn_body_handover_offer_enc(sb, &b);
}

static zn_code s_offer(zh_fix *t, int party, const uint8_t case_id[ZN_ID_LEN], int to, const uint8_t msgid[ZN_ID_LEN],
                       uint8_t id[ZN_ID_LEN], uint64_t *timeout)
{
    uint8_t hid[ZN_ID_LEN];
    msgpack_sbuffer sb;
    s_offer_body(t, &sb, case_id, to, msgid, hid);
    if (id)
        memcpy(id, hid, ZN_ID_LEN);
    zh_msg m;
    zn_code c = s_call_sb(t, party, "handover-offer", &sb, &m);
    if (c == ZN_E_OK) {
        s_res_is(&m, 2, 0, hid);
        if (timeout)
            *timeout = s_res_u64(&m, 2, 1);
        zh_msg_free(&m);
    }
    return c;
}

static zn_code s_accept(zh_fix *t, int party, const uint8_t id[ZN_ID_LEN], const uint8_t case_id[ZN_ID_LEN])
{
    zh_msg m;
    zn_code c = s_id_req(t, party, "handover-accept", id, &m);
    if (c == ZN_E_OK) {
        s_res_is(&m, 2, 0, id);
        s_res_is(&m, 2, 1, case_id);
        zh_msg_free(&m);
    }
    return c;
}

/* A handover-decline body with a reason sealed to `offerer` and the auditors (wrong: to the
 * auditors only). */
static void s_decline_body(zh_fix *t, msgpack_sbuffer *sb, const uint8_t id[ZN_ID_LEN], const char *offerer, bool wrong)
{
    msgpack_sbuffer rb;
    if (wrong)
        s_sealed(t, &rb, ZN_READ_AUDITORS, NULL, "Geen plek in het team deze maand.");
    else
        s_sealed(t, &rb, ZN_READ_PARTNER | ZN_READ_AUDITORS, offerer, "Geen plek in het team deze maand.");
    msgpack_sbuffer_init(sb);
    zn_body_handover_decline_enc(sb, id, (const uint8_t *)rb.data, rb.size);
    msgpack_sbuffer_destroy(&rb);
}

static zn_code s_decline(zh_fix *t, int party, const uint8_t id[ZN_ID_LEN], const char *offerer, bool wrong)
{
    msgpack_sbuffer sb;
    s_decline_body(t, &sb, id, offerer, wrong);
    zh_msg m;
    zn_code c = s_call_sb(t, party, "handover-decline", &sb, &m);
    if (c == ZN_E_OK) {
        s_res_is(&m, 1, 0, id);
        zh_msg_free(&m);
    }
    return c;
}

/* ---- case-link ----------------------------------------------------------------------------- */

static void s_link_body(zh_fix *t, msgpack_sbuffer *sb, const uint8_t case_id[ZN_ID_LEN], const char *bsn)
{
    zn_case_link_body b;
    memset(&b, 0, sizeof b);
    memcpy(b.case_id, case_id, ZN_ID_LEN);
    zh_psn(t->h, bsn, b.person);
    msgpack_sbuffer_init(sb);
    zn_body_case_link_enc(sb, &b);
}

/* case-link by party with person bsn; ZN_E_OK with the told partners as a comma list. */
static zn_code s_link(zh_fix *t, int party, const uint8_t case_id[ZN_ID_LEN], const char *bsn, char *told, size_t cap)
{
    msgpack_sbuffer sb;
    s_link_body(t, &sb, case_id, bsn);
    zh_msg m;
    zn_code c = s_call_sb(t, party, "case-link", &sb, &m);
    if (c == ZN_E_OK) {
        s_res_is(&m, 2, 0, case_id);
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

/* ---- the audit log, read by the auditor ------------------------------------------------------ */

/* The entry has a 16-byte id under key. */
static void s_has_id(const zh_ent *x, const char *key)
{
    const zn_audit_detail *d = zh_det(x, key);
    if (!d || d->type != ZN_AUDIT_BIN || d->len != ZN_ID_LEN)
        fail_msg("audit entry %s has no 16-byte %s", x->en.action, key);
}

/* The entry carries evidence of `kind` signed by party under the namespace ns. */
static void s_has_evidence(const zh_fix *t, const zh_ent *x, int party, const char *kind, const char *ns)
{
    if (!zh_is(x->en.evidence_kind, kind) || !x->en.evidence || !x->en.evidence_sig)
        fail_msg("audit entry %s by %s carries no signed %s", x->en.action, x->en.actor ? x->en.actor : "-", kind);
    assert_int_equal(zn_verify_ns(x->en.evidence_sig, ns, x->en.evidence, x->en.evidence_len,
                                  t->h->party[party].keys.pub.sign),
                     0);
}

/* The entry carries the signed request of `party` as its evidence. */
static void s_has_request(const zh_fix *t, const zh_ent *x, int party)
{
    s_has_evidence(t, x, party, "request", ZN_REQUEST_NS);
}

/* The entry carries the signed envelope header of `party` as its evidence. */
static void s_has_header(const zh_fix *t, const zh_ent *x, int party)
{
    s_has_evidence(t, x, party, "envelope-header", ZN_ENVELOPE_NS);
}

/* The only entry matching q: a refusal for `reason` that carries party's signed request. */
static const zh_ent *s_refused_request(const zh_fix *t, const zh_alog *lg, zh_q q, const char *reason, int party)
{
    const zh_ent *x = zh_alog_one(lg, q);
    assert_int_equal(x->en.decision, ZN_AUDIT_REFUSED);
    assert_string_equal(x->en.reason, reason);
    s_has_request(t, x, party);
    return x;
}

/* After a restart: the broker's own entry `action` (no actor), waited for; the log stays in lg. */
static const zh_ent *s_broker_entry(zh_fix *t, zh_alog *lg, const char *action)
{
    zh_fix_alog_wait(t, lg, (zh_q){.action = action}, 1, 3 * ZH_TIMEOUT);
    const zh_ent *x = zh_alog_one(lg, (zh_q){.action = action});
    assert_null(x->en.actor);
    return x;
}

/* After a restart: the broker's escalation entry `action` on school's object (an id under key) on
 * the case, with its deadline under num_key. */
static void s_escalation_entry(zh_fix *t, const char *action, const char *key, const uint8_t id[ZN_ID_LEN],
                               const char *num_key, uint64_t num, const uint8_t kase[ZN_ID_LEN])
{
    zh_alog lg;
    const zh_ent *x = s_broker_entry(t, &lg, action);
    assert_string_equal(x->en.counterpart, "school");
    assert_true(zh_det_bin(x, key, id, ZN_ID_LEN));
    assert_true(zh_det_u64(x, num_key, num));
    assert_memory_equal(x->en.case_id, kase, ZN_ID_LEN);
    zh_alog_free(&lg);
}

/* Start the broker again offset_s ahead: what it did once (the entry `action`, the notice to
 * party) is not done again. */
static void s_not_again(zh_fix *t, int64_t offset_s, const char *action, int party, const char *notice)
{
    zh_fix_restart(t, offset_s, NULL);
    zh_sleep_ms(1000);
    zh_alog lg;
    zh_fix_alog(t, &lg);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = action}), 1);
    zh_alog_free(&lg);
    zh_inbox box;
    zh_fix_inbox(t, party, &box);
    assert_int_equal(zh_inbox_count(&box, notice), 0);
}

/* ---- 1. case-new ----------------------------------------------------------------------------- */

static void test_case_new_anonymous(void **state)
{
    zh_fix *t = *state;
    uint8_t kase[ZN_ID_LEN];
    uint64_t before = zh_fix_now(t);
    s_case_new(t, A, NULL, kase);
    zn_case_view *v = s_view(t, A, kase);
    assert_string_equal(v->network, ZH_NET0);
    assert_string_equal(v->regisseur, "school");
    assert_false(v->identified);
    assert_true(v->created_ms >= before - 1000 && v->created_ms <= zh_fix_now(t) + 1000);
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
    zh_fix_want(t, "case-new", A, s_case_new_ex(t, A, "18-plus", NULL, NULL, other), ZN_E_UNKNOWN_NETWORK);
    zh_fix_want(t, "case-new", X, s_case_new_ex(t, X, ZH_NET0, NULL, NULL, other), ZN_E_NOT_PARTNER);

    zh_alog lg;
    zh_fix_alog(t, &lg);
    const zh_ent *x = zh_alog_one(&lg, (zh_q){.action = "case-new", .actor = "school", .decision = ZN_AUDIT_ALLOWED,
                                              .case_id = kase});
    s_has_request(t, x, A);
    assert_true(zh_det_str(x, "network", ZH_NET0));
    assert_null(zh_det(x, "subject"));
    assert_null(zh_det(x, "related"));
    assert_null(x->en.basis);
    x = zh_alog_one(&lg, (zh_q){.action = "case-new", .actor = "school", .decision = ZN_AUDIT_REFUSED,
                                .reason = "case-exists"});
    s_has_request(t, x, A);
    x = zh_alog_one(&lg, (zh_q){.action = "case-new", .actor = "ggd", .reason = "role-not-allowed"});
    assert_int_equal(x->en.decision, ZN_AUDIT_REFUSED);
    /* the reads were recorded too */
    x = zh_alog_one(&lg, (zh_q){.action = "case-show", .actor = "school", .case_id = kase});
    assert_int_equal(x->en.decision, ZN_AUDIT_ALLOWED);
    s_has_request(t, x, A);
    zh_alog_free(&lg);
}

static void test_case_new_identified(void **state)
{
    zh_fix *t = *state;
    uint8_t kase[ZN_ID_LEN], psn[ZN_PSN_LEN], rel[2][ZN_PSN_LEN];
    const char *const related[] = {P2, P3, NULL};
    zh_fix_want(t, "case-new", A, s_case_new_ex(t, A, ZH_NET0, P1, related, kase), ZN_E_OK);
    zh_psn(t->h, P1, psn);
    zh_psn(t->h, P2, rel[0]);
    zh_psn(t->h, P3, rel[1]);
    zn_case_view *v = s_view(t, A, kase);
    assert_true(v->identified);
    assert_string_equal(v->regisseur, "school");
    assert_int_equal(v->consent.state, ZN_CONSENT_NONE);
    free(v);

    zh_alog lg;
    zh_fix_alog(t, &lg);
    const zh_ent *x = zh_alog_one(&lg, (zh_q){.action = "case-new", .actor = "school", .case_id = kase});
    assert_int_equal(x->en.decision, ZN_AUDIT_ALLOWED);
    s_has_request(t, x, A);
    assert_true(zh_det_str(x, "network", ZH_NET0));
    assert_true(zh_det_bin(x, "subject", psn, ZN_PSN_LEN));
    const zn_audit_detail *d = zh_det(x, "related");
    assert_non_null(d);
    assert_int_equal(d->type, ZN_AUDIT_BIN);
    assert_int_equal(d->len, 2 * ZN_PSN_LEN);
    assert_memory_equal(d->p, rel, 2 * ZN_PSN_LEN);
    zh_alog_free(&lg);
}

/* ---- 2. case-show and case-close ----------------------------------------------------------- */

static void test_case_show_access(void **state)
{
    zh_fix *t = *state;
    uint8_t kase[ZN_ID_LEN];
    s_case_new(t, A, NULL, kase);
    s_send_expect(t, A, B, kase, ZN_E_OK); /* B becomes a member once it acknowledges it */
    zn_case_view *v = s_view(t, A, kase);
    assert_null(s_member(v, "wijkracht"));
    zh_fix_want(t, "case-show", B, s_show(t, B, kase, v), ZN_E_NOT_MEMBER);
    zh_inbox box;
    zh_fix_inbox(t, B, &box);
    assert_int_equal(zh_inbox_count(&box, NULL), 1);
    zh_fix_want(t, "case-show", A, s_show(t, A, kase, v), ZN_E_OK);
    const zn_member_row *r = s_member(v, "wijkracht");
    assert_non_null(r);
    assert_string_equal(r->how, "received");
    assert_null(s_member(v, "politie"));
    zh_fix_want(t, "case-show", B, s_show(t, B, kase, v), ZN_E_OK);
    assert_string_equal(v->regisseur, "school");
    zh_fix_want(t, "case-show", COORD, s_show(t, COORD, kase, v), ZN_E_OK);
    assert_string_equal(v->network, ZH_NET0);
    zh_fix_want(t, "case-show", C, s_show(t, C, kase, v), ZN_E_NOT_MEMBER);
    zh_fix_want(t, "case-show", X, s_show(t, X, kase, v), ZN_E_NOT_MEMBER);
    uint8_t unknown[ZN_ID_LEN];
    zh_random(unknown, sizeof unknown);
    zh_fix_want(t, "case-show", A, s_show(t, A, unknown, v), ZN_E_UNKNOWN_CASE);
    /* consent-show follows the same rule */
    zh_fix_want(t, "consent-show", B, s_id_req(t, B, "consent-show", kase, NULL), ZN_E_OK);
    zh_fix_want(t, "consent-show", COORD, s_id_req(t, COORD, "consent-show", kase, NULL), ZN_E_OK);
    zh_fix_want(t, "consent-show", C, s_id_req(t, C, "consent-show", kase, NULL), ZN_E_NOT_MEMBER);
    free(v);

    zh_alog lg;
    zh_fix_alog(t, &lg);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "case-show", .decision = ZN_AUDIT_ALLOWED, .case_id = kase}),
                     4);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "case-show", .actor = "wijkracht", .reason = "not-member",
                                               .case_id = kase}),
                     1);
    const zh_ent *x =
        s_refused_request(t, &lg, (zh_q){.action = "case-show", .actor = "politie", .case_id = kase}, "not-member", C);
    x = zh_alog_one(&lg, (zh_q){.action = "case-show", .actor = "coordinator", .case_id = kase});
    assert_int_equal(x->en.decision, ZN_AUDIT_ALLOWED);
    s_has_request(t, x, COORD);
    x = zh_alog_one(&lg, (zh_q){.action = "consent-show", .actor = "politie", .reason = "not-member"});
    assert_int_equal(x->en.decision, ZN_AUDIT_REFUSED);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "case-show", .reason = "unknown-case"}), 1);
    zh_alog_free(&lg);
}

static void test_case_close(void **state)
{
    zh_fix *t = *state;
    uint8_t kase[ZN_ID_LEN];
    s_case_new(t, A, NULL, kase);
    s_send_expect(t, A, B, kase, ZN_E_OK);
    /* a member that does not hold the case, and a non-member */
    zh_fix_want(t, "case-close", B, s_id_req(t, B, "case-close", kase, NULL), ZN_E_NOT_REGISSEUR);
    zh_fix_want(t, "case-close", C, s_id_req(t, C, "case-close", kase, NULL), ZN_E_NOT_REGISSEUR);
    zh_msg m;
    uint64_t before = zh_fix_now(t);
    zh_fix_want(t, "case-close", A, s_id_req(t, A, "case-close", kase, &m), ZN_E_OK);
    uint8_t got[ZN_ID_LEN];
    s_res_id(&m, 2, 0, got);
    assert_memory_equal(got, kase, ZN_ID_LEN);
    uint64_t closed = s_res_u64(&m, 2, 1);
    zh_msg_free(&m);
    assert_true(closed >= before - 1000 && closed <= zh_fix_now(t) + 1000);
    zn_case_view *v = s_view(t, A, kase);
    assert_int_equal(v->closed_ms, closed);
    free(v);

    /* nothing more is recorded on a closed case */
    zh_fix_want(t, "case-close", A, s_id_req(t, A, "case-close", kase, NULL), ZN_E_CASE_CLOSED);
    s_send_expect(t, A, B, kase, ZN_E_CASE_CLOSED);
    s_send_expect(t, B, A, kase, ZN_E_CASE_CLOSED);
    zh_fix_want(t, "consent-set", A,
                s_consent_ex(t, A, kase, ZN_CONSENT_REQUESTED, "wijkracht", 0, ZN_AGE_NONE, 0, PURPOSE_NONE, NULL),
                ZN_E_CASE_CLOSED);

    zh_alog lg;
    zh_fix_alog(t, &lg);
    const zh_ent *x = zh_alog_one(&lg, (zh_q){.action = "case-close", .actor = "school", .decision = ZN_AUDIT_ALLOWED});
    s_has_request(t, x, A);
    assert_true(zh_det_u64(x, "closed", closed));
    assert_memory_equal(x->en.case_id, kase, ZN_ID_LEN);
    x = s_refused_request(t, &lg, (zh_q){.action = "case-close", .actor = "wijkracht"}, "not-regisseur", B);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "case-close", .actor = "school", .reason = "case-closed"}), 1);
    x = zh_alog_one(&lg, (zh_q){.action = "send", .actor = "wijkracht", .reason = "case-closed"});
    assert_int_equal(x->en.decision, ZN_AUDIT_REFUSED);
    assert_string_equal(x->en.counterpart, "school");
    s_has_header(t, x, B);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "send", .actor = "school", .reason = "case-closed"}), 1);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "consent-set", .reason = "case-closed"}), 1);
    zh_alog_free(&lg);
}

/* ---- 3. membership ------------------------------------------------------------------------- */

static void test_membership(void **state)
{
    zh_fix *t = *state;
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
    /* nor before it acknowledged what it received */
    s_send_expect(t, B, A, kase, ZN_E_NOT_MEMBER);
    zh_inbox box;
    zh_fix_inbox(t, B, &box);
    assert_int_equal(zh_inbox_count(&box, NULL), 1);
    assert_non_null(zh_inbox_env(&box, m1));
    assert_int_equal(s_send(t, B, A, kase, m2), ZN_E_OK);
    uint64_t answer = t->last_index;
    /* a partner of another network: neither as recipient nor as sender */
    s_send_expect(t, A, X, kase, ZN_E_NOT_IN_NETWORK);
    s_send_expect(t, X, A, kase, ZN_E_NOT_IN_NETWORK);
    /* an unknown case */
    uint8_t unknown[ZN_ID_LEN];
    zh_random(unknown, sizeof unknown);
    s_send_expect(t, A, B, unknown, ZN_E_UNKNOWN_CASE);

    zh_fix_inbox(t, A, &box);
    assert_int_equal(zh_inbox_count(&box, NULL), 1);
    assert_non_null(zh_inbox_env(&box, m2));

    zh_alog lg;
    zh_fix_alog(t, &lg);
    const zh_ent *x = zh_alog_at(&lg, first);
    assert_string_equal(x->en.action, "send");
    assert_int_equal(x->en.decision, ZN_AUDIT_ALLOWED);
    assert_string_equal(x->en.basis, "anonymous");
    assert_string_equal(x->en.counterpart, "wijkracht");
    s_has_id(x, "item");
    assert_null(zh_det(x, "consent"));
    assert_null(zh_det(x, "override"));
    assert_null(zh_det(x, "i_checked"));
    s_has_header(t, x, A);
    x = zh_alog_at(&lg, answer);
    assert_string_equal(x->en.actor, "wijkracht");
    assert_string_equal(x->en.basis, "anonymous");
    x = zh_alog_one(&lg, (zh_q){.action = "send", .actor = "politie", .reason = "not-member"});
    assert_int_equal(x->en.decision, ZN_AUDIT_REFUSED);
    assert_null(x->en.basis);
    s_has_header(t, x, C);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "send", .actor = "wijkracht", .reason = "not-member"}), 2);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "send", .reason = "not-in-network"}), 2);
    zh_alog_free(&lg);
}

/* ---- 4. consent ---------------------------------------------------------------------------- */

static void test_consent_required(void **state)
{
    zh_fix *t = *state;
    uint8_t kase[ZN_ID_LEN];
    s_case_new(t, A, P1, kase);
    s_send_expect(t, A, B, kase, ZN_E_CONSENT_REQUIRED);
    s_says(t, "anonymous", "where the anonymous route is");
    /* only the regisseur records consent */
    s_grant_expect(t, B, kase, "wijkracht", ZN_AGE_16_PLUS, 0, PURPOSE_AUDITORS, ZN_E_NOT_REGISSEUR);
    /* a scope naming a partner outside the network, or one the convenant does not know */
    s_grant_expect(t, A, kase, "ggd", ZN_AGE_16_PLUS, 0, PURPOSE_AUDITORS, ZN_E_NOT_IN_NETWORK);
    s_grant_expect(t, A, kase, "jeugdzorg", ZN_AGE_16_PLUS, 0, PURPOSE_AUDITORS, ZN_E_UNKNOWN_PARTNER);
    uint64_t seq = s_grant(t, A, kase, "wijkracht", 0);
    uint8_t m1[ZN_ID_LEN];
    assert_int_equal(s_send(t, A, B, kase, m1), ZN_E_OK);
    uint64_t sent = t->last_index;
    s_send_expect(t, A, C, kase, ZN_E_CONSENT_REQUIRED);
    s_says(t, "anonymous", "where the anonymous route is");
    /* B answers the regisseur */
    assert_int_equal(s_send(t, B, A, kase, NULL), ZN_E_OK);
    uint64_t answer = t->last_index;
    /* C, never admitted, stays out */
    s_send_expect(t, C, A, kase, ZN_E_NOT_MEMBER);

    zn_case_view *v = s_view(t, A, kase);
    assert_int_equal(v->consent_seq, seq);
    assert_int_equal(v->consent.state, ZN_CONSENT_GRANTED);
    assert_int_equal(v->consent.n_scope, 1);
    assert_string_equal(v->consent.scope[0], "wijkracht");
    free(v);
    zh_msg m;
    zh_fix_want(t, "consent-show", A, s_id_req(t, A, "consent-show", kase, &m), ZN_E_OK);
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

    zh_alog lg;
    zh_fix_alog(t, &lg);
    const zh_ent *x =
        zh_alog_one(&lg, (zh_q){.action = "consent-set", .actor = "school", .decision = ZN_AUDIT_ALLOWED});
    s_has_request(t, x, A);
    assert_true(zh_det_u64(x, "seq", seq));
    assert_true(zh_det_str(x, "state", "granted"));
    assert_true(zh_det_str(x, "scope", "wijkracht"));
    assert_true(zh_det_str(x, "given_by", "client"));
    assert_true(zh_det_str(x, "age_band", "16+"));
    assert_true(zh_det_u64(x, "until", 0));
    assert_null(zh_det(x, "purpose")); /* only sealed, inside the evidence */
    x = s_refused_request(t, &lg, (zh_q){.action = "consent-set", .actor = "wijkracht"}, "not-regisseur", B);
    assert_memory_equal(x->en.case_id, kase, ZN_ID_LEN);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "consent-set", .reason = "not-in-network"}), 1);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "consent-set", .reason = "unknown-partner"}), 1);
    x = zh_alog_at(&lg, sent);
    assert_string_equal(x->en.action, "send");
    assert_string_equal(x->en.basis, "consent");
    assert_true(zh_det_u64(x, "consent", seq));
    assert_null(zh_det(x, "override"));
    s_has_header(t, x, A);
    x = zh_alog_at(&lg, answer);
    assert_string_equal(x->en.basis, "consent");
    assert_true(zh_det_u64(x, "consent", seq));
    /* before the consent, and outside its scope */
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "send", .actor = "school", .counterpart = "wijkracht",
                                               .reason = "consent-required", .decision = ZN_AUDIT_REFUSED,
                                               .basis = ""}),
                     1);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "send", .actor = "school", .counterpart = "politie",
                                               .reason = "consent-required"}),
                     1);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "consent-show", .actor = "school",
                                               .decision = ZN_AUDIT_ALLOWED}),
                     1);
    zh_alog_free(&lg);
}

static void test_consent_capacity(void **state)
{
    zh_fix *t = *state;
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
                     zh_code_text(rows[i].want), zh_code_text(got), t->last_err);
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
    s_grant_expect(t, A, kase, "", ZN_AGE_16_PLUS, 0, PURPOSE_AUDITORS, ZN_E_USAGE);
    s_grant_expect(t, A, kase, "wijkracht", ZN_AGE_NONE, 0, PURPOSE_AUDITORS, ZN_E_USAGE);
    s_grant_expect(t, A, kase, "wijkracht", ZN_AGE_16_PLUS, zh_fix_now(t) - 60000, PURPOSE_AUDITORS, ZN_E_USAGE);
    /* the purpose sealed to other readers than the auditors */
    s_grant_expect(t, A, kase, "wijkracht", ZN_AGE_16_PLUS, 0, PURPOSE_WRONG, ZN_E_MALFORMED);
    /* other states are recorded as given */
    uint64_t seq = 0;
    zh_fix_want(t, "consent-set", A,
                s_consent_ex(t, A, kase, ZN_CONSENT_REQUESTED, "", 0, ZN_AGE_NONE, 0, PURPOSE_NONE, &seq), ZN_E_OK);
    assert_true(seq > last);
    ok++;

    zh_alog lg;
    zh_fix_alog(t, &lg);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "consent-set", .decision = ZN_AUDIT_ALLOWED}), ok);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "consent-set", .reason = "consent-capacity"}), refused);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "consent-set", .reason = "usage"}), 3);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "consent-set", .reason = "malformed"}), 1);
    for (size_t i = 0; i < lg.n; i++)
        if (zh_is(lg.e[i].en.action, "consent-set"))
            s_has_request(t, &lg.e[i], A);
    zh_alog_free(&lg);
}

static void test_consent_expiry(void **state)
{
    zh_fix *t = *state;
    uint8_t kase[ZN_ID_LEN];
    s_case_new(t, A, P1, kase);
    uint64_t until = zh_fix_now(t) + 60000;
    uint64_t seq = s_grant(t, A, kase, "wijkracht", until);
    s_send_expect(t, A, B, kase, ZN_E_OK);
    zh_inbox box;
    zh_fix_inbox(t, B, &box); /* B acknowledges it: a member on its own now */
    assert_int_equal(zh_inbox_count(&box, NULL), 1);
    s_send_expect(t, B, A, kase, ZN_E_OK);
    /* two minutes later the consent has ended */
    zh_fix_restart(t, 120, NULL);
    s_send_expect(t, A, B, kase, ZN_E_CONSENT_REQUIRED);
    s_says(t, "expired", "the consent expired");
    s_send_expect(t, B, A, kase, ZN_E_CONSENT_REQUIRED);
    zn_case_view *v = s_view(t, A, kase);
    assert_int_equal(v->consent_seq, seq);
    assert_int_equal(v->consent.until_ms, until);
    free(v);

    zh_alog lg;
    zh_fix_alog(t, &lg);
    const zh_ent *x = zh_alog_one(&lg, (zh_q){.action = "consent-set", .actor = "school"});
    assert_true(zh_det_u64(x, "until", until));
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "send", .basis = "consent", .decision = ZN_AUDIT_ALLOWED}), 2);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "send", .reason = "consent-required"}), 2);
    zh_alog_free(&lg);
}

static void test_withdraw_purges_queue(void **state)
{
    zh_fix *t = *state;
    uint8_t kase[ZN_ID_LEN], m1[ZN_ID_LEN], m2[ZN_ID_LEN];
    s_case_new(t, A, P1, kase);
    s_grant(t, A, kase, "politie,wijkracht", 0);
    /* B is offline: both wait in its queue; C gets one too and reads it at once */
    assert_int_equal(s_send(t, A, B, kase, m1), ZN_E_OK);
    assert_int_equal(s_send(t, A, B, kase, m2), ZN_E_OK);
    uint8_t mc[ZN_ID_LEN];
    assert_int_equal(s_send(t, A, C, kase, mc), ZN_E_OK);
    zh_inbox box;
    zh_fix_inbox(t, C, &box);
    assert_int_equal(zh_inbox_count(&box, NULL), 1);
    uint64_t seq = 0;
    zh_fix_want(t, "consent-set", A,
                s_consent_ex(t, A, kase, ZN_CONSENT_WITHDRAWN, "", 0, ZN_AGE_NONE, 0, PURPOSE_AUDITORS, &seq),
                ZN_E_OK);
    /* B receives neither */
    zh_fix_inbox(t, B, &box);
    if (zh_inbox_count(&box, NULL) != 0)
        fail_msg("wijkracht received %d envelopes queued before consent was withdrawn", zh_inbox_count(&box, NULL));
    /* A is told of both */
    zh_fix_inbox(t, A, &box);
    const uint8_t *ids[2] = {m1, m2};
    s_dropped(&box, kase, "wijkracht", ids, 2);
    /* and nothing more flows */
    s_send_expect(t, A, B, kase, ZN_E_CONSENT_REQUIRED);
    s_says(t, "withdrawn", "the consent was withdrawn");

    zh_alog lg;
    zh_fix_alog(t, &lg);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "consent-set", .actor = "school", .case_id = kase,
                                               .decision = ZN_AUDIT_ALLOWED}),
                     2);
    int withdrawn = 0;
    for (size_t i = 0; i < lg.n; i++)
        if (zh_is(lg.e[i].en.action, "consent-set") && zh_det_str(&lg.e[i], "state", "withdrawn")) {
            withdrawn++;
            assert_true(zh_det_u64(&lg.e[i], "seq", seq));
            s_has_request(t, &lg.e[i], A);
        }
    assert_int_equal(withdrawn, 1);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "drop", .actor = "", .counterpart = "wijkracht",
                                               .reason = "consent-required", .case_id = kase}),
                     2);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "drop", .counterpart = "politie"}), 0);
    for (int k = 0; k < 2; k++) {
        bool found = false;
        for (size_t i = 0; i < lg.n; i++) {
            const zh_ent *d = &lg.e[i];
            if (!zh_is(d->en.action, "drop") || !zh_det_bin(d, "msgid", ids[k], ZN_ID_LEN))
                continue;
            found = true;
            assert_true(zh_det_str(d, "sender", "school"));
            s_has_id(d, "item");
            assert_null(d->en.actor);
        }
        if (!found)
            fail_msg("no drop entry for message %d", k + 1);
    }
    zh_alog_free(&lg);
}

/* Refusal stops what is queued on an identified case; on an anonymous case nothing relied on the
 * consent, so nothing stops. */
static void test_refusal_purges_identified_only(void **state)
{
    zh_fix *t = *state;
    uint8_t ident[ZN_ID_LEN], anon[ZN_ID_LEN], mi[ZN_ID_LEN], ma[ZN_ID_LEN];
    s_case_new(t, A, P1, ident);
    s_case_new(t, A, NULL, anon);
    s_grant(t, A, ident, "wijkracht", 0);
    s_grant(t, A, anon, "wijkracht", 0);
    assert_int_equal(s_send(t, A, B, ident, mi), ZN_E_OK);
    assert_int_equal(s_send(t, A, B, anon, ma), ZN_E_OK);
    for (int k = 0; k < 2; k++)
        s_consent_state(t, A, k ? anon : ident, ZN_CONSENT_REFUSED, PURPOSE_AUDITORS, ZN_E_OK);
    zh_inbox box;
    zh_fix_inbox(t, B, &box);
    assert_int_equal(zh_inbox_count(&box, NULL), 1);
    assert_non_null(zh_inbox_env(&box, ma));
    zh_fix_inbox(t, A, &box);
    s_dropped(&box, ident, "wijkracht", (const uint8_t *[]){mi}, 1);
    s_send_expect(t, A, B, anon, ZN_E_OK);
    s_send_expect(t, A, B, ident, ZN_E_CONSENT_REQUIRED);
    s_says(t, "refused", "consent was refused");
    zh_alog lg;
    zh_fix_alog(t, &lg);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "drop", .case_id = ident}), 1);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "drop", .case_id = anon}), 0);
    zh_alog_free(&lg);
}

/* A closed case is deleted when its retention ends; the deletion is an entry of the broker. */
static void test_closed_case_retention(void **state)
{
    zh_fix *t = *state;
    const char *const edits[] = {"retention_days", "1", NULL};
    zh_fix_restart(t, 0, edits);
    uint8_t kase[ZN_ID_LEN], open[ZN_ID_LEN];
    s_case_new(t, A, NULL, kase);
    s_case_new(t, A, NULL, open);
    zh_msg m;
    zh_fix_want(t, "case-close", A, s_id_req(t, A, "case-close", kase, &m), ZN_E_OK);
    uint64_t closed = s_res_u64(&m, 2, 1);
    zh_msg_free(&m);
    zh_fix_restart(t, 2 * S_DAY_S, NULL);
    zh_alog lg;
    const zh_ent *x = s_broker_entry(t, &lg, "case-delete");
    assert_non_null(x->en.case_id);
    assert_memory_equal(x->en.case_id, kase, ZN_ID_LEN);
    assert_true(zh_det_u64(x, "closed", closed));
    zh_alog_free(&lg);
    zn_case_view *v = s_new(sizeof *v);
    zh_fix_want(t, "case-show", A, s_show(t, A, kase, v), ZN_E_UNKNOWN_CASE);
    /* an open case is kept */
    zh_fix_want(t, "case-show", A, s_show(t, A, open, v), ZN_E_OK);
    free(v);
}

/* ---- 5. safety overrides --------------------------------------------------------------------- */

static void test_override_new(void **state)
{
    zh_fix *t = *state;
    assert_int_equal(strlen(JUST_39), ZN_JUSTIFICATION_MIN - 1);
    assert_int_equal(strlen(JUST_SHORT), ZN_JUSTIFICATION_MIN);
    uint8_t kase[ZN_ID_LEN], anon[ZN_ID_LEN], unknown[ZN_ID_LEN], oid[ZN_ID_LEN];
    s_case_new(t, A, P1, kase);
    s_case_new(t, A, NULL, anon);
    zh_random(unknown, sizeof unknown);
    s_grant(t, A, kase, "wijkracht", 0);
    s_send_expect(t, A, C, kase, ZN_E_CONSENT_REQUIRED);
    zh_inbox cbox;
    void *coord = zh_fix_listen(t, COORD, &cbox);
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
            fail_msg("override-new %s: expected %s, got %s (%s)", bad[i].what, zh_code_text(bad[i].want),
                     zh_code_text(got), t->last_err);
    }
    /* nothing of it reached the coordinator */
    assert_true(zh_quiet(coord, ZH_QUIET));

    /* a justification of exactly the minimum, to C */
    uint64_t expires = 0, review_by = 0, before = zh_fix_now(t);
    zh_fix_want(t, "override-new", A, s_override_ex(t, A, kase, pol, 3, JUST_EXACT, oid, &expires, &review_by),
                ZN_E_OK);
    uint64_t after = zh_fix_now(t);
    assert_true(expires >= before + 14 * S_DAY_S * 1000 - 2000 && expires <= after + 14 * S_DAY_S * 1000 + 2000);
    assert_int_equal(expires - review_by, (14 * S_DAY_S - 48 * S_HOUR_S) * 1000);
    /* the coordinator is told at once */
    zh_fix_take(t, coord, &cbox, ZH_TIMEOUT);
    const zh_note *n = zh_inbox_one(&cbox, "override", "the coordinator");
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
    zn_case_view *v = s_view(t, A, kase);
    assert_int_equal(v->n_overrides, 1);
    assert_memory_equal(v->overrides[0].id, oid, ZN_ID_LEN);
    assert_int_equal(v->overrides[0].state, ZN_OVERRIDE_PENDING);
    assert_string_equal(v->overrides[0].to, "politie");
    assert_non_null(s_member(v, "politie"));
    zh_fix_want(t, "case-show", C, s_show(t, C, kase, v), ZN_E_OK);
    free(v);
    zh_inbox box;
    zh_fix_inbox(t, C, &box);
    assert_non_null(zh_inbox_env(&box, mc));

    zh_alog lg;
    zh_fix_alog(t, &lg);
    const zh_ent *x = zh_alog_one(&lg, (zh_q){.action = "override-new", .decision = ZN_AUDIT_ALLOWED});
    assert_string_equal(x->en.actor, "school");
    assert_string_equal(x->en.counterpart, "politie");
    assert_string_equal(x->en.basis, "safety-override");
    assert_memory_equal(x->en.case_id, kase, ZN_ID_LEN);
    assert_true(zh_det_bin(x, "override", oid, ZN_ID_LEN));
    assert_true(zh_det_u64(x, "step", 3));
    assert_true(zh_det_u64(x, "expires", expires));
    assert_true(zh_det_u64(x, "review_by", review_by));
    assert_null(zh_det(x, "justification"));
    s_has_request(t, x, A);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "override-new", .decision = ZN_AUDIT_REFUSED}),
                     (int)(sizeof bad / sizeof bad[0]));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_true(zh_alog_count(&lg, (zh_q){.action = "override-new", .reason = zn_code_name(bad[i].want)}) >= 1);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "override-new", .reason = "malformed"}), 4);
    x = zh_alog_at(&lg, sent);
    assert_string_equal(x->en.action, "send");
    assert_string_equal(x->en.basis, "safety-override");
    assert_true(zh_det_bin(x, "override", oid, ZN_ID_LEN));
    assert_null(zh_det(x, "consent"));
    zh_alog_free(&lg);
}

/* An identified case of A without consent, with a pending override A -> C. */
static void s_override_world(zh_fix *t, uint8_t kase[ZN_ID_LEN], uint8_t oid[ZN_ID_LEN])
{
    s_case_new(t, A, P1, kase);
    s_send_expect(t, A, C, kase, ZN_E_CONSENT_REQUIRED);
    s_override(t, A, kase, C, oid);
}

static void test_override_review(void **state)
{
    zh_fix *t = *state;
    uint8_t kase[ZN_ID_LEN], oid[ZN_ID_LEN], unknown[ZN_ID_LEN];
    s_override_world(t, kase, oid);
    zh_random(unknown, sizeof unknown);
    s_olist *l = s_new(sizeof *l);
    zh_fix_want(t, "override-list", COORD, s_olist_of(t, COORD, false, l), ZN_E_OK);
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
    free(l);

    /* while it stands, C may answer A (on the override: no consent) */
    s_send_expect(t, A, C, kase, ZN_E_OK);
    uint64_t to_c = t->last_index;
    s_send_expect(t, C, A, kase, ZN_E_OK);
    uint64_t answer = t->last_index;
    /* partners do not review; nor does the author */
    zh_fix_want(t, "override-review", B, s_review(t, B, oid, true, "school", NULL), ZN_E_NOT_COORDINATOR);
    zh_fix_want(t, "override-review", A, s_review(t, A, oid, true, "school", NULL), ZN_E_NOT_COORDINATOR);
    zh_fix_want(t, "override-review", COORD, s_review(t, COORD, unknown, true, "school", NULL), ZN_E_UNKNOWN_OVERRIDE);
    char st[ZN_IDENT_MAX];
    zh_fix_want(t, "override-review", COORD, s_review(t, COORD, oid, true, "school", st), ZN_E_OK);
    zh_fix_want(t, "override-review", COORD, s_review(t, COORD, oid, false, "school", NULL), ZN_E_DECIDED);
    zh_fix_want(t, "override-review", COORD, s_review(t, COORD, oid, true, NULL, NULL), ZN_E_DECIDED);
    /* no longer waiting; shown as approved in the full list */
    s_not_pending(t, oid);
    zn_override_row row = s_orow_of(t, true, oid);
    assert_int_equal(row.state, ZN_OVERRIDE_APPROVED);
    assert_string_equal(row.reviewed_by, "coordinator");
    assert_true(row.reviewed_ms > 0);
    assert_true(row.note_len > 0);
    /* an approved override keeps standing */
    s_send_expect(t, A, C, kase, ZN_E_OK);
    zh_inbox box;
    zh_fix_inbox(t, A, &box);
    const zh_note *n = zh_inbox_one(&box, "override-reviewed", "school");
    assert_memory_equal(n->override, oid, ZN_ID_LEN);
    assert_memory_equal(n->case_id, kase, ZN_ID_LEN);
    assert_string_equal(n->to, "politie");
    assert_string_equal(n->state, "approved");
    assert_string_equal(n->by, "coordinator");

    zh_alog lg;
    zh_fix_alog(t, &lg);
    const zh_ent *x = zh_alog_one(&lg, (zh_q){.action = "override-review", .decision = ZN_AUDIT_ALLOWED});
    assert_string_equal(x->en.actor, "coordinator");
    assert_string_equal(x->en.counterpart, "school");
    assert_true(zh_det_bin(x, "override", oid, ZN_ID_LEN));
    assert_true(zh_det_str(x, "state", "approved"));
    assert_null(zh_det(x, "late"));
    assert_null(zh_det(x, "note"));
    s_has_request(t, x, COORD);
    x = s_refused_request(t, &lg, (zh_q){.action = "override-review", .actor = "wijkracht"}, "not-coordinator", B);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "override-review", .reason = "already-decided"}), 2);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "override-review", .reason = "unknown-override"}), 1);
    assert_true(zh_alog_count(&lg, (zh_q){.action = "override-list", .actor = "coordinator",
                                          .decision = ZN_AUDIT_ALLOWED}) >= 3);
    x = zh_alog_at(&lg, to_c);
    assert_string_equal(x->en.basis, "safety-override");
    x = zh_alog_at(&lg, answer);
    assert_string_equal(x->en.actor, "politie");
    assert_string_equal(x->en.basis, "safety-override");
    assert_true(zh_det_bin(x, "override", oid, ZN_ID_LEN));
    zh_alog_free(&lg);
}

static void test_override_reject_purges(void **state)
{
    zh_fix *t = *state;
    uint8_t kase[ZN_ID_LEN], oid[ZN_ID_LEN], m1[ZN_ID_LEN], m2[ZN_ID_LEN];
    s_override_world(t, kase, oid);
    assert_int_equal(s_send(t, A, C, kase, m1), ZN_E_OK);
    assert_int_equal(s_send(t, A, C, kase, m2), ZN_E_OK);
    s_review_ok(t, oid, false);
    zh_inbox box;
    zh_fix_inbox(t, C, &box);
    if (box.n != 0)
        fail_msg("politie received %d items queued on a rejected override", box.n);
    zh_fix_inbox(t, A, &box);
    s_dropped(&box, kase, "politie", (const uint8_t *[]){m1, m2}, 2);
    const zh_note *n = zh_inbox_one(&box, "override-reviewed", "school");
    assert_string_equal(n->state, "rejected");
    /* it stops at once, both ways */
    s_send_expect(t, A, C, kase, ZN_E_CONSENT_REQUIRED);
    s_says(t, "rejected", "the override was rejected");
    /* politie read nothing on the case: with the override gone it is no member */
    s_send_expect(t, C, A, kase, ZN_E_NOT_MEMBER);
    zn_case_view *v = s_view(t, A, kase);
    assert_int_equal(v->n_overrides, 0);
    free(v);

    zh_alog lg;
    zh_fix_alog(t, &lg);
    const zh_ent *x = zh_alog_one(&lg, (zh_q){.action = "override-review", .decision = ZN_AUDIT_ALLOWED});
    assert_true(zh_det_str(x, "state", "rejected"));
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "drop", .actor = "", .counterpart = "politie",
                                               .reason = "consent-required", .case_id = kase}),
                     2);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "send", .basis = "safety-override",
                                               .decision = ZN_AUDIT_ALLOWED}),
                     2);
    zh_alog_free(&lg);
}

/* A rejected override stops only what has no other basis: envelopes the consent now covers stay. */
static void test_override_reject_keeps_consented(void **state)
{
    zh_fix *t = *state;
    uint8_t kase[ZN_ID_LEN], oid[ZN_ID_LEN], m1[ZN_ID_LEN], m2[ZN_ID_LEN];
    s_override_world(t, kase, oid);
    assert_int_equal(s_send(t, A, C, kase, m1), ZN_E_OK); /* on the override */
    s_grant(t, A, kase, "politie", 0);
    assert_int_equal(s_send(t, A, C, kase, m2), ZN_E_OK); /* on the consent */
    s_review_ok(t, oid, false);
    zh_inbox box;
    zh_fix_inbox(t, C, &box);
    assert_int_equal(zh_inbox_count(&box, NULL), 2);
    assert_non_null(zh_inbox_env(&box, m1));
    assert_non_null(zh_inbox_env(&box, m2));
    zh_fix_inbox(t, A, &box);
    assert_int_equal(zh_inbox_count(&box, "envelope-dropped"), 0);
    s_send_expect(t, A, C, kase, ZN_E_OK);
    zh_alog lg;
    zh_fix_alog(t, &lg);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "drop"}), 0);
    zh_alog_free(&lg);
}

static void test_override_expiry(void **state)
{
    zh_fix *t = *state;
    const char *const edits[] = {"override_review_h", "1", "override_lifetime_d", "1", NULL};
    zh_fix_restart(t, 0, edits);
    uint8_t kase[ZN_ID_LEN], oid[ZN_ID_LEN], m1[ZN_ID_LEN];
    uint64_t expires = 0, review_by = 0;
    s_case_new(t, A, P1, kase);
    zh_fix_want(t, "override-new", A, s_override_ex(t, A, kase, "politie", 2, JUST_OK, oid, &expires, &review_by),
                ZN_E_OK);
    assert_int_equal(expires - review_by, (S_DAY_S - S_HOUR_S) * 1000);
    s_review_ok(t, oid, true);
    assert_int_equal(s_send(t, A, C, kase, m1), ZN_E_OK); /* C is offline: it waits */
    zh_inbox box;
    zh_fix_inbox(t, A, &box);
    zh_inbox_one(&box, "override-reviewed", "school");

    /* a day and an hour later */
    zh_fix_restart(t, S_DAY_S + S_HOUR_S, NULL);
    zh_alog lg;
    const zh_ent *x = s_broker_entry(t, &lg, "override-expire");
    assert_string_equal(x->en.counterpart, "politie");
    assert_true(zh_det_bin(x, "override", oid, ZN_ID_LEN));
    assert_true(zh_det_str(x, "author", "school"));
    assert_memory_equal(x->en.case_id, kase, ZN_ID_LEN);
    assert_null(x->en.basis);
    x = zh_alog_one(&lg, (zh_q){.action = "drop", .counterpart = "politie"});
    assert_string_equal(x->en.reason, "consent-required");
    assert_true(zh_det_bin(x, "msgid", m1, ZN_ID_LEN));
    /* an approved override is not escalated */
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "override-escalate"}), 0);
    zh_alog_free(&lg);

    zh_fix_inbox(t, A, &box);
    const zh_note *n = zh_inbox_one(&box, "override-expired", "school");
    assert_memory_equal(n->override, oid, ZN_ID_LEN);
    assert_memory_equal(n->case_id, kase, ZN_ID_LEN);
    assert_string_equal(n->to, "politie");
    s_dropped(&box, kase, "politie", (const uint8_t *[]){m1}, 1);
    zh_fix_inbox(t, C, &box);
    if (box.n != 0)
        fail_msg("politie received %d items after the override expired", box.n);
    s_send_expect(t, A, C, kase, ZN_E_CONSENT_REQUIRED);
    s_says(t, "expired", "the override expired");
    assert_int_equal(s_orow_of(t, true, oid).state, ZN_OVERRIDE_EXPIRED);
    s_not_pending(t, oid);
    /* a second start does not expire it again */
    s_not_again(t, S_DAY_S + 2 * S_HOUR_S, "override-expire", A, "override-expired");
}

static void test_override_escalation(void **state)
{
    zh_fix *t = *state;
    const char *const edits[] = {"override_review_h", "1", "override_lifetime_d", "1", NULL};
    zh_fix_restart(t, 0, edits);
    uint8_t kase[ZN_ID_LEN], oid[ZN_ID_LEN];
    uint64_t review_by = 0;
    s_case_new(t, A, P1, kase);
    zh_fix_want(t, "override-new", A, s_override_ex(t, A, kase, "politie", 4, JUST_OK, oid, NULL, &review_by), ZN_E_OK);
    zh_inbox box;
    zh_fix_inbox(t, AUD, &box);
    assert_int_equal(zh_inbox_count(&box, "override-escalated"), 0);

    /* two hours later, unreviewed */
    zh_fix_restart(t, 2 * S_HOUR_S, NULL);
    s_escalation_entry(t, "override-escalate", "override", oid, "review_by", review_by, kase);
    zh_fix_inbox(t, AUD, &box);
    const zh_note *n = zh_inbox_one(&box, "override-escalated", "the auditor");
    assert_memory_equal(n->override, oid, ZN_ID_LEN);
    assert_memory_equal(n->case_id, kase, ZN_ID_LEN);
    assert_string_equal(n->network, ZH_NET0);
    assert_string_equal(n->from, "school");
    assert_string_equal(n->to, "politie");
    assert_int_equal(n->review_by, review_by);
    /* the coordinator's list says so; the override still stands */
    zn_override_row row = s_orow_of(t, false, oid);
    assert_true(row.escalated);
    assert_int_equal(row.state, ZN_OVERRIDE_PENDING);
    s_send_expect(t, A, C, kase, ZN_E_OK);

    /* the clock runs on, the broker starts again: not escalated twice */
    zh_sleep_ms(ZN_CASES_TICK_EVERY_MS + 1000);
    s_not_again(t, 3 * S_HOUR_S, "override-escalate", AUD, "override-escalated");
    /* a review after review_by is marked late */
    s_review_ok(t, oid, true);
    zh_alog lg;
    zh_fix_alog(t, &lg);
    const zh_ent *x = zh_alog_one(&lg, (zh_q){.action = "override-review", .decision = ZN_AUDIT_ALLOWED});
    assert_true(zh_det_u64(x, "late", 1));
    zh_alog_free(&lg);
}

/* ---- 6. warm handovers ----------------------------------------------------------------------- */

static void test_handover_accept(void **state)
{
    zh_fix *t = *state;
    uint8_t kase[ZN_ID_LEN], md[ZN_ID_LEN], mc[ZN_ID_LEN], rnd[ZN_ID_LEN], hid[ZN_ID_LEN];
    s_case_new(t, A, NULL, kase);
    zh_random(rnd, sizeof rnd);
    /* no dossier: a message id never sent, and one sent to someone else */
    zh_fix_want(t, "handover-offer", A, s_offer(t, A, kase, B, rnd, NULL, NULL), ZN_E_UNKNOWN_MESSAGE);
    assert_int_equal(s_send(t, A, C, kase, mc), ZN_E_OK);
    zh_fix_want(t, "handover-offer", A, s_offer(t, A, kase, B, mc, NULL, NULL), ZN_E_UNKNOWN_MESSAGE);
    /* and one sent to B, but on another case */
    uint8_t other[ZN_ID_LEN], mo[ZN_ID_LEN];
    s_case_new(t, A, NULL, other);
    assert_int_equal(s_send(t, A, B, other, mo), ZN_E_OK);
    zh_fix_want(t, "handover-offer", A, s_offer(t, A, kase, B, mo, NULL, NULL), ZN_E_UNKNOWN_MESSAGE);
    assert_int_equal(s_send(t, A, B, kase, md), ZN_E_OK);
    /* who may offer, and to whom */
    zh_fix_want(t, "handover-offer", B, s_offer(t, B, kase, C, md, NULL, NULL), ZN_E_NOT_REGISSEUR);
    zh_fix_want(t, "handover-offer", A, s_offer(t, A, kase, A, md, NULL, NULL), ZN_E_USAGE);
    zh_fix_want(t, "handover-offer", A, s_offer(t, A, kase, X, md, NULL, NULL), ZN_E_NOT_IN_NETWORK);
    uint64_t timeout = 0, before = zh_fix_now(t);
    zh_fix_want(t, "handover-offer", A, s_offer(t, A, kase, B, md, hid, &timeout), ZN_E_OK);
    assert_true(timeout >= before + 72 * S_HOUR_S * 1000 - 2000 &&
                timeout <= zh_fix_now(t) + 72 * S_HOUR_S * 1000 + 2000);
    /* one at a time; the case stays open meanwhile */
    zh_fix_want(t, "handover-offer", A, s_offer(t, A, kase, C, mc, NULL, NULL), ZN_E_HANDOVER_OPEN);
    zh_fix_want(t, "case-close", A, s_id_req(t, A, "case-close", kase, NULL), ZN_E_HANDOVER_OPEN);
    zn_case_view *v = s_view(t, A, kase);
    assert_int_equal(v->n_handovers, 1);
    assert_memory_equal(v->handovers[0].id, hid, ZN_ID_LEN);
    assert_int_equal(v->handovers[0].state, ZN_HANDOVER_OPEN);
    assert_string_equal(v->handovers[0].to, "wijkracht");
    assert_string_equal(v->regisseur, "school");
    /* only the recipient answers */
    zh_fix_want(t, "handover-accept", C, s_accept(t, C, hid, kase), ZN_E_UNKNOWN_HANDOVER);
    zh_fix_want(t, "handover-accept", A, s_accept(t, A, hid, kase), ZN_E_UNKNOWN_HANDOVER);
    zh_fix_want(t, "handover-accept", B, s_accept(t, B, rnd, kase), ZN_E_UNKNOWN_HANDOVER);
    /* B finds the offer and the dossier */
    zh_inbox box;
    zh_fix_inbox(t, B, &box);
    const zh_note *n = zh_inbox_one(&box, "handover-offer", "wijkracht");
    assert_memory_equal(n->handover, hid, ZN_ID_LEN);
    assert_memory_equal(n->case_id, kase, ZN_ID_LEN);
    assert_memory_equal(n->msgid, md, ZN_ID_LEN);
    assert_string_equal(n->from, "school");
    assert_string_equal(n->handler, ZH_HANDLER);
    assert_int_equal(n->timeout, timeout);
    assert_non_null(zh_inbox_env(&box, md));
    zh_fix_want(t, "handover-accept", B, s_accept(t, B, hid, kase), ZN_E_OK);
    zh_fix_want(t, "handover-accept", B, s_accept(t, B, hid, kase), ZN_E_DECIDED);
    zh_fix_want(t, "case-show", B, s_show(t, B, kase, v), ZN_E_OK);
    assert_string_equal(v->regisseur, "wijkracht");
    assert_int_equal(v->n_handovers, 0);
    free(v);
    zh_fix_inbox(t, A, &box);
    n = zh_inbox_one(&box, "handover-accepted", "school");
    assert_memory_equal(n->handover, hid, ZN_ID_LEN);
    assert_memory_equal(n->case_id, kase, ZN_ID_LEN);
    assert_string_equal(n->to, "wijkracht");
    /* the regisseur's rights moved */
    s_consent_state(t, A, kase, ZN_CONSENT_REQUESTED, PURPOSE_NONE, ZN_E_NOT_REGISSEUR);
    s_consent_state(t, B, kase, ZN_CONSENT_REQUESTED, PURPOSE_NONE, ZN_E_OK);

    zh_alog lg;
    zh_fix_alog(t, &lg);
    const zh_ent *x = zh_alog_one(&lg, (zh_q){.action = "handover-offer", .decision = ZN_AUDIT_ALLOWED});
    assert_string_equal(x->en.actor, "school");
    assert_string_equal(x->en.counterpart, "wijkracht");
    assert_string_equal(x->en.basis, "anonymous");
    assert_true(zh_det_bin(x, "handover", hid, ZN_ID_LEN));
    assert_true(zh_det_bin(x, "msgid", md, ZN_ID_LEN));
    assert_true(zh_det_u64(x, "timeout", timeout));
    s_has_request(t, x, A);
    x = zh_alog_one(&lg, (zh_q){.action = "handover-accept", .decision = ZN_AUDIT_ALLOWED});
    assert_string_equal(x->en.actor, "wijkracht");
    assert_string_equal(x->en.counterpart, "school");
    assert_string_equal(x->en.basis, "anonymous");
    assert_true(zh_det_bin(x, "handover", hid, ZN_ID_LEN));
    s_has_request(t, x, B);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "handover-offer", .reason = "unknown-message"}), 3);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "handover-offer", .reason = "not-regisseur"}), 1);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "handover-offer", .reason = "handover-open"}), 1);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "case-close", .reason = "handover-open"}), 1);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "handover-accept", .reason = "unknown-handover"}), 3);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "handover-accept", .reason = "already-decided"}), 1);
    x = zh_alog_one(&lg, (zh_q){.action = "handover-accept", .actor = "politie"});
    assert_int_equal(x->en.decision, ZN_AUDIT_REFUSED);
    s_has_request(t, x, C);
    zh_alog_free(&lg);
}

static void test_handover_identified(void **state)
{
    zh_fix *t = *state;
    uint8_t kase[ZN_ID_LEN], md[ZN_ID_LEN], rnd[ZN_ID_LEN], hid[ZN_ID_LEN];
    s_case_new(t, A, P1, kase);
    zh_random(rnd, sizeof rnd);
    /* without consent, no offer (whatever the dossier) */
    zh_fix_want(t, "handover-offer", A, s_offer(t, A, kase, B, rnd, NULL, NULL), ZN_E_CONSENT_REQUIRED);
    s_says(t, "anonymous", "where the anonymous route is");
    uint64_t seq = s_grant(t, A, kase, "wijkracht", 0);
    assert_int_equal(s_send(t, A, B, kase, md), ZN_E_OK);
    zh_fix_want(t, "handover-offer", A, s_offer(t, A, kase, B, md, hid, NULL), ZN_E_OK);
    zh_fix_want(t, "handover-accept", B, s_accept(t, B, hid, kase), ZN_E_OK);
    s_expect_regisseur(t, B, kase, "wijkracht");

    /* B offers it back; before A answers, B records that consent was withdrawn: A may not take
     * the identified case over without it */
    uint8_t k2[ZN_ID_LEN], m2[ZN_ID_LEN], h2[ZN_ID_LEN];
    s_case_new(t, B, P2, k2);
    s_grant(t, B, k2, "school", 0);
    assert_int_equal(s_send(t, B, A, k2, m2), ZN_E_OK);
    zh_fix_want(t, "handover-offer", B, s_offer(t, B, k2, A, m2, h2, NULL), ZN_E_OK);
    s_consent_state(t, B, k2, ZN_CONSENT_WITHDRAWN, PURPOSE_AUDITORS, ZN_E_OK);
    zh_fix_want(t, "handover-accept", A, s_accept(t, A, h2, k2), ZN_E_CONSENT_REQUIRED);
    s_expect_regisseur(t, B, k2, "wijkracht");

    zh_alog lg;
    zh_fix_alog(t, &lg);
    const zh_ent *x =
        zh_alog_one(&lg, (zh_q){.action = "handover-offer", .decision = ZN_AUDIT_ALLOWED, .case_id = kase});
    assert_string_equal(x->en.basis, "consent");
    assert_true(zh_det_u64(x, "consent", seq));
    x = zh_alog_one(&lg, (zh_q){.action = "handover-accept", .decision = ZN_AUDIT_ALLOWED, .case_id = kase});
    assert_string_equal(x->en.basis, "consent");
    assert_true(zh_det_u64(x, "consent", seq));
    x = zh_alog_one(&lg, (zh_q){.action = "handover-offer", .reason = "consent-required"});
    assert_int_equal(x->en.decision, ZN_AUDIT_REFUSED);
    assert_null(x->en.basis);
    s_has_request(t, x, A);
    x = zh_alog_one(&lg, (zh_q){.action = "handover-accept", .reason = "consent-required"});
    assert_string_equal(x->en.actor, "school");
    assert_memory_equal(x->en.case_id, k2, ZN_ID_LEN);
    s_has_request(t, x, A);
    zh_alog_free(&lg);
}

static void test_handover_decline(void **state)
{
    zh_fix *t = *state;
    uint8_t kase[ZN_ID_LEN], md[ZN_ID_LEN], hid[ZN_ID_LEN], hid2[ZN_ID_LEN];
    s_case_new(t, A, NULL, kase);
    assert_int_equal(s_send(t, A, B, kase, md), ZN_E_OK);
    zh_fix_want(t, "handover-offer", A, s_offer(t, A, kase, B, md, hid, NULL), ZN_E_OK);
    zh_fix_want(t, "handover-decline", C, s_decline(t, C, hid, "school", false), ZN_E_UNKNOWN_HANDOVER);
    zh_fix_want(t, "handover-decline", B, s_decline(t, B, hid, "school", true), ZN_E_MALFORMED);
    zh_fix_want(t, "handover-decline", B, s_decline(t, B, hid, "school", false), ZN_E_OK);
    zh_fix_want(t, "handover-decline", B, s_decline(t, B, hid, "school", false), ZN_E_DECIDED);
    zh_fix_want(t, "handover-accept", B, s_accept(t, B, hid, kase), ZN_E_DECIDED);
    s_expect_regisseur(t, A, kase, "school");
    zh_inbox box;
    zh_fix_inbox(t, A, &box);
    const zh_note *n = zh_inbox_one(&box, "handover-declined", "school");
    assert_memory_equal(n->handover, hid, ZN_ID_LEN);
    assert_memory_equal(n->case_id, kase, ZN_ID_LEN);
    assert_string_equal(n->to, "wijkracht");
    assert_string_equal(n->handler, ZH_HANDLER);
    /* a new offer may follow */
    zh_fix_want(t, "handover-offer", A, s_offer(t, A, kase, B, md, hid2, NULL), ZN_E_OK);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    zn_body_offset_enc(&sb, 0);
    zh_msg m;
    zh_fix_want(t, "handover-list", A, zh_fix_call(t, A, NULL, "handover-list", &sb, &m), ZN_E_OK);
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

    zh_alog lg;
    zh_fix_alog(t, &lg);
    const zh_ent *x = zh_alog_one(&lg, (zh_q){.action = "handover-decline", .decision = ZN_AUDIT_ALLOWED});
    assert_string_equal(x->en.actor, "wijkracht");
    assert_string_equal(x->en.counterpart, "school");
    assert_true(zh_det_bin(x, "handover", hid, ZN_ID_LEN));
    assert_null(zh_det(x, "reason"));
    s_has_request(t, x, B);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "handover-decline", .reason = "malformed"}), 1);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "handover-decline", .reason = "unknown-handover"}), 1);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "handover-decline", .reason = "already-decided"}), 1);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "handover-list", .actor = "school",
                                               .decision = ZN_AUDIT_ALLOWED}),
                     1);
    zh_alog_free(&lg);
}

static void test_handover_timeout(void **state)
{
    zh_fix *t = *state;
    const char *const edits[] = {"handover_timeout_h", "1", NULL};
    zh_fix_restart(t, 0, edits);
    uint8_t kase[ZN_ID_LEN], md[ZN_ID_LEN], hid[ZN_ID_LEN];
    uint64_t timeout = 0;
    s_case_new(t, A, NULL, kase);
    assert_int_equal(s_send(t, A, B, kase, md), ZN_E_OK);
    uint64_t before = zh_fix_now(t);
    zh_fix_want(t, "handover-offer", A, s_offer(t, A, kase, B, md, hid, &timeout), ZN_E_OK);
    assert_true(timeout >= before + S_HOUR_S * 1000 - 2000 && timeout <= zh_fix_now(t) + S_HOUR_S * 1000 + 2000);
    zh_inbox box;
    zh_fix_inbox(t, COORD, &box);
    assert_int_equal(zh_inbox_count(&box, "handover-escalated"), 0);

    zh_fix_restart(t, 2 * S_HOUR_S, NULL);
    s_escalation_entry(t, "handover-escalate", "handover", hid, "timeout", timeout, kase);
    zh_fix_inbox(t, COORD, &box);
    const zh_note *n = zh_inbox_one(&box, "handover-escalated", "the coordinator");
    assert_memory_equal(n->handover, hid, ZN_ID_LEN);
    assert_memory_equal(n->case_id, kase, ZN_ID_LEN);
    assert_string_equal(n->from, "school");
    assert_string_equal(n->to, "wijkracht");
    assert_int_equal(n->timeout, timeout);
    /* the partners are not told of it */
    zh_fix_inbox(t, A, &box);
    assert_int_equal(zh_inbox_count(&box, "handover-escalated"), 0);
    zn_case_view *v = s_view(t, A, kase);
    assert_int_equal(v->n_handovers, 1);
    assert_true(v->handovers[0].escalated);
    free(v);

    /* once only: another tick, another start */
    zh_sleep_ms(ZN_CASES_TICK_EVERY_MS + 1000);
    s_not_again(t, 3 * S_HOUR_S, "handover-escalate", COORD, "handover-escalated");
    /* still open: B may take it */
    zh_fix_want(t, "handover-accept", B, s_accept(t, B, hid, kase), ZN_E_OK);
    s_expect_regisseur(t, B, kase, "wijkracht");
}

/* ---- 7. linking a person to an anonymous case ---------------------------------------------- */

static void test_case_link(void **state)
{
    zh_fix *t = *state;
    uint8_t kase[ZN_ID_LEN], ident[ZN_ID_LEN], mc[ZN_ID_LEN], psn[ZN_PSN_LEN];
    char told[256];
    zh_psn(t->h, P2, psn);
    s_case_new(t, A, NULL, kase);
    assert_int_equal(s_send(t, A, C, kase, mc), ZN_E_OK); /* C is a member, outside the consent to come */
    zh_fix_want(t, "case-link", A, s_link(t, A, kase, P2, told, sizeof told), ZN_E_CONSENT_REQUIRED);
    zh_fix_want(t, "case-link", C, s_link(t, C, kase, P2, told, sizeof told), ZN_E_NOT_REGISSEUR);
    uint64_t seq = s_grant(t, A, kase, "wijkracht", 0);
    zh_fix_want(t, "case-link", A, s_link(t, A, kase, P2, told, sizeof told), ZN_E_OK);
    assert_string_equal(told, "wijkracht");
    zh_fix_want(t, "case-link", A, s_link(t, A, kase, P3, told, sizeof told), ZN_E_CASE_IDENTIFIED);
    zn_case_view *v = s_view(t, A, kase);
    assert_true(v->identified);
    free(v);
    /* told: the consent's scope only */
    zh_inbox box;
    zh_fix_inbox(t, B, &box);
    const zh_note *n = zh_inbox_one(&box, "case-linked", "wijkracht");
    assert_memory_equal(n->case_id, kase, ZN_ID_LEN);
    assert_string_equal(n->by, "school");
    assert_true(n->has_person);
    assert_memory_equal(n->person, psn, ZN_PSN_LEN);
    zh_fix_inbox(t, C, &box);
    assert_int_equal(zh_inbox_count(&box, "case-linked"), 0);
    assert_non_null(zh_inbox_env(&box, mc));
    /* from now on the case is identified: the consent decides */
    s_send_expect(t, A, C, kase, ZN_E_CONSENT_REQUIRED);
    s_send_expect(t, A, B, kase, ZN_E_OK);
    uint64_t sent = t->last_index;
    /* an identified case cannot be linked again */
    s_case_new(t, A, P1, ident);
    s_grant(t, A, ident, "wijkracht", 0);
    zh_fix_want(t, "case-link", A, s_link(t, A, ident, P2, told, sizeof told), ZN_E_CASE_IDENTIFIED);

    zh_alog lg;
    zh_fix_alog(t, &lg);
    const zh_ent *x = zh_alog_one(&lg, (zh_q){.action = "case-link", .decision = ZN_AUDIT_ALLOWED});
    assert_string_equal(x->en.actor, "school");
    assert_string_equal(x->en.basis, "consent");
    assert_memory_equal(x->en.case_id, kase, ZN_ID_LEN);
    assert_true(zh_det_u64(x, "consent", seq));
    assert_true(zh_det_bin(x, "subject", psn, ZN_PSN_LEN));
    assert_true(zh_det_str(x, "told", "wijkracht"));
    s_has_request(t, x, A);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "case-link", .reason = "consent-required"}), 1);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "case-link", .reason = "not-regisseur"}), 1);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "case-link", .reason = "case-identified"}), 2);
    x = zh_alog_at(&lg, sent);
    assert_string_equal(x->en.basis, "consent");
    zh_alog_free(&lg);
}

/* ---- 8. the i-checked flag ------------------------------------------------------------------- */

/* SEND of an envelope whose header carries `flags`, built by hand (signed by A, random ciphertext
 * with its hash) so that bits zn_envelope_seal refuses can be sent. */
static zn_code s_send_raw_flags(zh_fix *t, const uint8_t kase[ZN_ID_LEN], uint64_t flags)
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
    msgpack_pack_uint64(&hp, zh_fix_now(t));
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
    assert_int_equal(zh_call(zh_fix_conn(t, A), &sb, &m, 2 * ZH_TIMEOUT), 0);
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
    zh_fix *t = *state;
    uint8_t kase[ZN_ID_LEN], m1[ZN_ID_LEN], m0[ZN_ID_LEN];
    s_case_new(t, A, NULL, kase);
    assert_int_equal(zh_fix_send(t, A, B, kase, ZN_FLAG_I_CHECKED, m1), ZN_E_OK);
    uint64_t checked = t->last_index;
    assert_int_equal(zh_fix_send(t, A, B, kase, 0, m0), ZN_E_OK);
    uint64_t plain = t->last_index;
    /* a hand-made header with bit 0 passes the same way; other bits are refused */
    assert_int_equal(s_send_raw_flags(t, kase, ZN_FLAG_I_CHECKED), ZN_E_OK);
    static const uint64_t bad[] = {2, 3, 1ull << 63};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        zn_code c = s_send_raw_flags(t, kase, bad[i]);
        if (c != ZN_E_MALFORMED)
            fail_msg("flags 0x%llx: expected malformed, got %s (%s)", (unsigned long long)bad[i], zh_code_text(c),
                     t->last_err);
    }
    /* the broker keeps serving */
    s_send_expect(t, A, B, kase, ZN_E_OK);
    zh_inbox box;
    zh_fix_inbox(t, B, &box);
    assert_int_equal(zh_inbox_count(&box, NULL), 4);
    const zh_note *n = zh_inbox_env(&box, m1);
    assert_non_null(n);
    assert_int_equal(n->flags, ZN_FLAG_I_CHECKED);
    n = zh_inbox_env(&box, m0);
    assert_non_null(n);
    assert_int_equal(n->flags, 0);

    zh_alog lg;
    zh_fix_alog(t, &lg);
    const zh_ent *x = zh_alog_at(&lg, checked);
    assert_string_equal(x->en.action, "send");
    assert_string_equal(x->en.basis, "anonymous");
    assert_true(zh_det_u64(x, "i_checked", 1));
    s_has_header(t, x, A);
    x = zh_alog_at(&lg, plain);
    assert_null(zh_det(x, "i_checked"));
    int with = 0;
    for (size_t i = 0; i < lg.n; i++)
        with += zh_is(lg.e[i].en.action, "send") && zh_det_u64(&lg.e[i], "i_checked", 1);
    assert_int_equal(with, 2);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "send", .decision = ZN_AUDIT_ALLOWED}), 4);
    zh_alog_free(&lg);
}

/* ---- 9. every decision is an entry with its basis ---------------------------------------------- */

static int s_party_of(const zh_fix *t, const char *id)
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
        if (zh_is(action, s_request_kinds[i]))
            return true;
    return false;
}

/* The rules every entry on the case keeps: requests and sends carry their signed evidence; a
 * refusal names its reason and no basis; an allowed send names its basis and what it relied on.
 * Returns how many entries were checked. */
static int s_check_entries(const zh_fix *t, const zh_alog *lg, const uint8_t kase[ZN_ID_LEN])
{
    int n = 0;
    for (size_t i = 0; i < lg->n; i++) {
        const zh_ent *x = &lg->e[i];
        if (!x->en.case_id || memcmp(x->en.case_id, kase, ZN_ID_LEN) != 0)
            continue;
        n++;
        const char *act = x->en.action;
        assert_true(x->en.decision == ZN_AUDIT_ALLOWED || x->en.decision == ZN_AUDIT_REFUSED);
        if (x->en.decision == ZN_AUDIT_REFUSED) {
            if (!x->en.reason)
                fail_msg("refused entry %s (index %llu) names no reason", act, (unsigned long long)x->en.index);
            assert_null(x->en.basis);
        } else if (!zh_is(act, "drop") && x->en.reason) {
            fail_msg("allowed entry %s names reason %s", act, x->en.reason);
        }
        if (s_is_request_kind(act) && x->en.actor) {
            int p = s_party_of(t, x->en.actor);
            assert_true(p >= 0);
            s_has_request(t, x, p);
        }
        if (zh_is(act, "send")) {
            int p = s_party_of(t, x->en.actor);
            assert_true(p >= 0);
            s_has_header(t, x, p);
            if (x->en.decision == ZN_AUDIT_ALLOWED) {
                s_has_id(x, "item");
                if (zh_is(x->en.basis, "consent")) {
                    assert_true(zh_det_num(x, "consent") >= 1);
                    assert_null(zh_det(x, "override"));
                } else if (zh_is(x->en.basis, "safety-override")) {
                    s_has_id(x, "override");
                    assert_null(zh_det(x, "consent"));
                } else if (zh_is(x->en.basis, "anonymous")) {
                    assert_null(zh_det(x, "consent"));
                    assert_null(zh_det(x, "override"));
                } else {
                    fail_msg("allowed send (index %llu) with basis %s", (unsigned long long)x->en.index,
                             x->en.basis ? x->en.basis : "none");
                }
            }
        }
        if (zh_is(act, "drop")) {
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
    zh_fix *t = *state;
    uint8_t k1[ZN_ID_LEN], k2[ZN_ID_LEN], oid[ZN_ID_LEN], md[ZN_ID_LEN], hid[ZN_ID_LEN];
    const char *const related[] = {P2, NULL};
    zh_fix_want(t, "case-new", A, s_case_new_ex(t, A, ZH_NET0, P1, related, k1), ZN_E_OK);
    s_send_expect(t, A, B, k1, ZN_E_CONSENT_REQUIRED);
    uint64_t seq = s_grant(t, A, k1, "wijkracht", 0);
    s_send_expect(t, A, B, k1, ZN_E_OK);
    s_send_expect(t, B, A, k1, ZN_E_OK);
    s_send_expect(t, A, C, k1, ZN_E_CONSENT_REQUIRED);
    s_override(t, A, k1, C, oid);
    s_send_expect(t, A, C, k1, ZN_E_OK);
    s_review_ok(t, oid, true);
    s_send_expect(t, A, B, k1, ZN_E_OK); /* B is offline: it waits, then the consent is withdrawn */
    s_consent_state(t, A, k1, ZN_CONSENT_WITHDRAWN, PURPOSE_AUDITORS, ZN_E_OK);
    s_send_expect(t, A, B, k1, ZN_E_CONSENT_REQUIRED);
    /* B read nothing (its envelopes were stopped): with the consent gone it is no member */
    zh_fix_want(t, "consent-show", B, s_id_req(t, B, "consent-show", k1, NULL), ZN_E_NOT_MEMBER);
    zh_fix_want(t, "consent-show", COORD, s_id_req(t, COORD, "consent-show", k1, NULL), ZN_E_OK);
    zh_fix_want(t, "case-show", X, s_id_req(t, X, "case-show", k1, NULL), ZN_E_NOT_MEMBER);
    s_case_new(t, A, NULL, k2);
    assert_int_equal(s_send(t, A, B, k2, md), ZN_E_OK);
    zh_inbox box;
    zh_fix_inbox(t, B, &box);
    assert_non_null(zh_inbox_env(&box, md));
    s_send_expect(t, B, A, k2, ZN_E_OK);
    zh_fix_want(t, "handover-offer", A, s_offer(t, A, k2, B, md, hid, NULL), ZN_E_OK);
    zh_fix_want(t, "handover-accept", B, s_accept(t, B, hid, k2), ZN_E_OK);
    zh_fix_want(t, "case-close", A, s_id_req(t, A, "case-close", k2, NULL), ZN_E_NOT_REGISSEUR);
    zh_fix_want(t, "case-close", B, s_id_req(t, B, "case-close", k2, NULL), ZN_E_OK);

    zh_alog lg;
    zh_fix_alog(t, &lg);
    assert_true(s_check_entries(t, &lg, k1) >= 14);
    assert_true(s_check_entries(t, &lg, k2) >= 7);
    /* the bases, as they were decided */
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "send", .basis = "consent", .case_id = k1}), 3);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "send", .basis = "safety-override", .case_id = k1}), 1);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "send", .basis = "anonymous", .case_id = k2}), 2);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "send", .reason = "consent-required", .case_id = k1}), 3);
    /* nobody was online: the withdrawal stopped both envelopes queued for B and B's answer queued
     * for the regisseur (judged again, it has no basis left: B, admitted by the consent alone and
     * having read nothing, is no member any more); A's envelope to C stands on the override */
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "drop", .reason = "consent-required", .case_id = k1,
                                               .counterpart = "wijkracht"}),
                     2);
    const zh_ent *x = zh_alog_one(&lg, (zh_q){.action = "drop", .case_id = k1, .counterpart = "school"});
    assert_string_equal(x->en.reason, "not-member");
    assert_true(zh_det_str(x, "sender", "wijkracht"));
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "drop", .case_id = k1}), 3);
    x = zh_alog_one(&lg, (zh_q){.action = "send", .basis = "safety-override", .case_id = k1});
    assert_true(zh_det_bin(x, "override", oid, ZN_ID_LEN));
    for (size_t i = 0; i < lg.n; i++)
        if (zh_is(lg.e[i].en.action, "send") && zh_is(lg.e[i].en.basis, "consent"))
            assert_true(zh_det_u64(&lg.e[i], "consent", seq));
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "override-new", .basis = "safety-override", .case_id = k1}),
                     1);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "handover-offer", .basis = "anonymous", .case_id = k2}), 1);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "handover-accept", .basis = "anonymous", .case_id = k2}), 1);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "case-close", .decision = ZN_AUDIT_REFUSED, .case_id = k2}),
                     1);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "case-show", .actor = "ggd", .reason = "not-member",
                                               .case_id = k1}),
                     1);
    zh_alog_free(&lg);
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

static void s_expect_malformed(zh_fix *t, int party, const char *kind, const void *body, size_t len, const char *what)
{
    zn_code c = zh_fix_call_raw(t, party, NULL, kind, body, len, NULL);
    if (c != ZN_E_MALFORMED)
        fail_msg("%s with %s: expected malformed, got %s (%s)", kind, what, zh_code_text(c), t->last_err);
}

/* The valid body, then each of its fields replaced by -1, one field more, and bodies that are no
 * array at all: each is refused as malformed. Returns how many were sent. */
static int s_malformed_all(zh_fix *t, int party, const char *kind, msgpack_sbuffer *valid)
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
    zh_fix *t = *state;
    uint8_t kase[ZN_ID_LEN], anon[ZN_ID_LEN], oid[ZN_ID_LEN], md[ZN_ID_LEN], hid[ZN_ID_LEN];
    s_case_new(t, A, P1, kase);
    s_case_new(t, A, NULL, anon);
    s_override(t, A, kase, C, oid);
    assert_int_equal(s_send(t, A, B, anon, md), ZN_E_OK);
    zh_fix_want(t, "handover-offer", A, s_offer(t, A, anon, B, md, hid, NULL), ZN_E_OK);
    zh_alog lg;
    zh_fix_alog(t, &lg);
    int allowed_before[sizeof s_request_kinds / sizeof s_request_kinds[0]];
    for (size_t i = 0; i < sizeof s_request_kinds / sizeof s_request_kinds[0]; i++)
        allowed_before[i] = zh_alog_count(&lg, (zh_q){.action = s_request_kinds[i], .decision = ZN_AUDIT_ALLOWED});
    zh_alog_free(&lg);

    int sent = 0;
    msgpack_sbuffer sb;
    uint8_t id[ZN_ID_LEN]; /* of the bodies that name a new object */
    /* case-new, anonymous and identified */
    s_case_new_body(t, &sb, ZH_NET0, NULL, NULL, id);
    sent += s_malformed_all(t, A, "case-new", &sb);
    s_case_new_body(t, &sb, ZH_NET0, P1, (const char *const[]){P2, NULL}, id);
    sent += s_malformed_all(t, A, "case-new", &sb);
    /* the bodies of one id */
    static const char *const id_kinds[] = {"case-show", "case-close", "consent-show"};
    for (size_t i = 0; i < 3; i++) {
        s_id_body(&sb, kase);
        sent += s_malformed_all(t, A, id_kinds[i], &sb);
    }
    s_id_body(&sb, hid);
    sent += s_malformed_all(t, B, "handover-accept", &sb);
    s_link_body(t, &sb, anon, P3);
    sent += s_malformed_all(t, A, "case-link", &sb);
    s_consent_body(t, &sb, kase, ZN_CONSENT_GRANTED, "wijkracht", ZN_GIVEN_CLIENT, ZN_AGE_16_PLUS, 0, PURPOSE_AUDITORS);
    sent += s_malformed_all(t, A, "consent-set", &sb);
    s_override_body(t, &sb, kase, "wijkracht", 2, JUST_OK, id);
    sent += s_malformed_all(t, A, "override-new", &sb);
    msgpack_sbuffer_init(&sb);
    zn_body_override_list_enc(&sb, true, 0);
    sent += s_malformed_all(t, COORD, "override-list", &sb);
    s_review_body(t, &sb, oid, false, "school");
    sent += s_malformed_all(t, COORD, "override-review", &sb);
    s_offer_body(t, &sb, anon, B, md, id);
    sent += s_malformed_all(t, A, "handover-offer", &sb);
    s_decline_body(t, &sb, hid, "school", false);
    sent += s_malformed_all(t, B, "handover-decline", &sb);
    /* a decline without a reason */
    msgpack_sbuffer_init(&sb);
    zn_body_handover_decline_enc(&sb, hid, NULL, 0);
    s_expect_malformed(t, B, "handover-decline", sb.data, sb.size, "no reason");
    msgpack_sbuffer_destroy(&sb);
    sent++;
    msgpack_sbuffer_init(&sb);
    zn_body_offset_enc(&sb, 0);
    sent += s_malformed_all(t, A, "handover-list", &sb);
    assert_true(sent > 100);

    /* nothing changed */
    assert_true(zh_broker_alive(t->h));
    zn_case_view *v = s_view(t, A, kase);
    assert_string_equal(v->regisseur, "school");
    assert_int_equal(v->closed_ms, 0);
    assert_int_equal(v->consent_seq, 0);
    assert_int_equal(v->n_overrides, 1);
    assert_int_equal(v->overrides[0].state, ZN_OVERRIDE_PENDING);
    zh_fix_want(t, "case-show", A, s_show(t, A, anon, v), ZN_E_OK);
    assert_false(v->identified);
    assert_int_equal(v->n_handovers, 1);
    assert_int_equal(v->handovers[0].state, ZN_HANDOVER_OPEN);
    free(v);
    zh_fix_alog(t, &lg);
    for (size_t i = 0; i < sizeof s_request_kinds / sizeof s_request_kinds[0]; i++) {
        int now = zh_alog_count(&lg, (zh_q){.action = s_request_kinds[i], .decision = ZN_AUDIT_ALLOWED});
        /* the two case-show reads above are the only new allowed entries */
        int want = allowed_before[i] + (zh_is(s_request_kinds[i], "case-show") ? 2 : 0);
        if (now != want)
            fail_msg("%s: %d allowed entries after malformed requests, %d before", s_request_kinds[i], now,
                     allowed_before[i]);
    }
    /* and every refusal was recorded as malformed */
    int refused = 0;
    for (size_t i = 0; i < sizeof s_request_kinds / sizeof s_request_kinds[0]; i++)
        refused += zh_alog_count(&lg, (zh_q){.action = s_request_kinds[i], .reason = "malformed"});
    assert_int_equal(refused, sent);
    zh_alog_free(&lg);
    /* the override and the handover still work */
    zh_fix_want(t, "handover-accept", B, s_accept(t, B, hid, anon), ZN_E_OK);
    s_review_ok(t, oid, true);
}

/* ---- 11. what the review of cases asked to change ------------------------------------------------ */

/* handover-withdraw by party; its RESULT names the handover first. */
static zn_code s_withdraw(zh_fix *t, int party, const uint8_t id[ZN_ID_LEN])
{
    zh_msg m;
    zn_code c = s_id_req(t, party, "handover-withdraw", id, &m);
    if (c == ZN_E_OK) {
        const msgpack_object *o = m.f.u.result.body;
        uint8_t got[ZN_ID_LEN];
        if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < 1 ||
            zn_obj_bin_fixed(&o->via.array.ptr[0], got, ZN_ID_LEN) != 0)
            fail_msg("RESULT handover-withdraw does not start with the handover's id");
        assert_memory_equal(got, id, ZN_ID_LEN);
        zh_msg_free(&m);
    }
    return c;
}

/* The state of handover id in party's handover-list ("open", "accepted", "declined",
 * "withdrawn"); the handover must be listed. */
static void s_handover_state_is(zh_fix *t, int party, const uint8_t id[ZN_ID_LEN], const char *want)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    zn_body_offset_enc(&sb, 0);
    zh_msg m;
    zh_fix_want(t, "handover-list", party, s_call_sb(t, party, "handover-list", &sb, &m), ZN_E_OK);
    const msgpack_object *rows = &s_res(&m, 2)[1];
    assert_int_equal(rows->type, MSGPACK_OBJECT_ARRAY);
    const char *got = NULL;
    for (uint32_t i = 0; i < rows->via.array.size; i++) {
        zn_handover_row r;
        zn_err e;
        zn_err_clear(&e);
        if (zn_handover_row_dec(&rows->via.array.ptr[i], &r, &e) != 0)
            fail_msg("handover-row %u does not decode: %s", i, e.text);
        if (memcmp(r.id, id, ZN_ID_LEN) == 0) {
            got = zn_handover_state_name(r.state);
            if (zh_is(want, "open"))
                assert_int_equal(r.decided_ms, 0);
            else
                assert_true(r.decided_ms > 0);
        }
    }
    zh_msg_free(&m);
    if (!got)
        fail_msg("%s's handover list does not hold the handover", s_id(t, party));
    assert_string_equal(got, want);
}

/* The only notice of `type` in box about handover id. */
static const zh_note *s_handover_note(const zh_inbox *box, const char *type, const uint8_t id[ZN_ID_LEN])
{
    const zh_note *x = NULL;
    for (int i = 0; i < box->n; i++)
        if (zh_is(box->v[i].type, type) && box->v[i].has_handover && memcmp(box->v[i].handover, id, ZN_ID_LEN) == 0) {
            if (x)
                fail_msg("more than one \"%s\" notice about the handover", type);
            x = &box->v[i];
        }
    if (!x)
        fail_msg("no \"%s\" notice about the handover (%d items in all)", type, box->n);
    return x;
}

/* An entry of `action` ("deliver" or "ack") for partner that lists item among its "items". */
static bool s_items_has(const zh_alog *lg, const char *action, const char *partner, const uint8_t item[ZN_ID_LEN])
{
    for (size_t i = 0; i < lg->n; i++) {
        const zh_ent *x = &lg->e[i];
        const char *who = zh_is(action, "ack") ? x->en.actor : x->en.counterpart;
        if (!zh_is(x->en.action, action) || !zh_is(who, partner))
            continue;
        const zn_audit_detail *d = zh_det(x, "items");
        for (size_t k = 0; d && d->type == ZN_AUDIT_BIN && (k + 1) * ZN_ID_LEN <= d->len; k++)
            if (memcmp(d->p + k * ZN_ID_LEN, item, ZN_ID_LEN) == 0)
                return true;
    }
    return false;
}

/* Wait (bounded) until the log holds an entry of `action` for partner listing item; lg keeps it. */
static void s_items_wait(zh_fix *t, zh_alog *lg, const char *action, const char *partner, const uint8_t item[ZN_ID_LEN])
{
    uint64_t end = zh_now_ms() + 3 * ZH_TIMEOUT;
    for (;;) {
        zh_fix_alog(t, lg);
        if (s_items_has(lg, action, partner, item))
            return;
        if (zh_now_ms() >= end)
            fail_msg("no \"%s\" entry for %s lists the item", action, partner);
        zh_alog_free(lg);
        zh_sleep_ms(200);
    }
}

/* School's identified case with consent for politie only (its seq in *seq1), handed over to
 * wijkracht under a safety override school -> wijkracht (id in oid) that the coordinator then
 * rejected. */
static void s_handed_over_world(zh_fix *t, uint8_t kase[ZN_ID_LEN], uint8_t oid[ZN_ID_LEN], uint64_t *seq1)
{
    uint8_t md[ZN_ID_LEN], hid[ZN_ID_LEN];
    s_case_new(t, A, P1, kase);
    *seq1 = s_grant(t, A, kase, "politie", 0); /* the client consented to politie only */
    s_override(t, A, kase, B, oid);            /* school -> wijkracht, for the child's safety */
    assert_int_equal(s_send(t, A, B, kase, md), ZN_E_OK);
    zh_fix_want(t, "handover-offer", A, s_offer(t, A, kase, B, md, hid, NULL), ZN_E_OK);
    zh_fix_want(t, "handover-accept", B, s_accept(t, B, hid, kase), ZN_E_OK);
    s_expect_regisseur(t, A, kase, "wijkracht");
    /* school's consent does not reach the new regisseur: only the override carries traffic to it */
    s_send_expect(t, C, B, kase, ZN_E_CONSENT_REQUIRED);
    s_review_ok(t, oid, false);
}

/* A case taken over under a safety override does not bring its new regisseur under the old
 * consent: a partner that holds the case needs no place in the consent's scope only when it
 * recorded that consent itself. */
static void test_coverage_by_recorder_only(void **state)
{
    zh_fix *t = *state;
    uint8_t kase[ZN_ID_LEN], oid[ZN_ID_LEN];
    uint64_t seq1 = 0;
    s_handed_over_world(t, kase, oid, &seq1);
    s_send_expect(t, C, B, kase, ZN_E_CONSENT_REQUIRED);
    s_says(t, "anonymous", "where the anonymous route is");
    s_send_expect(t, A, B, kase, ZN_E_CONSENT_REQUIRED);
    /* wijkracht records the consent it got itself: it holds the case and recorded it */
    uint64_t seq2 = s_grant(t, B, kase, "politie", 0);
    assert_true(seq2 > seq1);
    assert_int_equal(s_send(t, C, B, kase, NULL), ZN_E_OK);
    uint64_t covered = t->last_index;

    zh_alog lg;
    zh_fix_alog(t, &lg);
    const zh_ent *x =
        zh_alog_one(&lg, (zh_q){.action = "handover-accept", .decision = ZN_AUDIT_ALLOWED, .case_id = kase});
    assert_string_equal(x->en.basis, "safety-override");
    assert_true(zh_det_bin(x, "override", oid, ZN_ID_LEN));
    x = zh_alog_at(&lg, covered);
    assert_string_equal(x->en.action, "send");
    assert_string_equal(x->en.actor, "politie");
    assert_string_equal(x->en.counterpart, "wijkracht");
    assert_string_equal(x->en.basis, "consent");
    assert_true(zh_det_u64(x, "consent", seq2));
    /* no send to wijkracht relied on school's consent */
    for (size_t i = 0; i < lg.n; i++)
        if (zh_is(lg.e[i].en.action, "send") && zh_is(lg.e[i].en.counterpart, "wijkracht") &&
            zh_is(lg.e[i].en.basis, "consent"))
            assert_false(zh_det_u64(&lg.e[i], "consent", seq1));
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "send", .counterpart = "wijkracht",
                                               .reason = "consent-required", .case_id = kase}),
                     3);
    zh_alog_free(&lg);
}

/* Consent covers its recipient (the issue's rule: "granted, unexpired and covers B"): once the
 * new regisseur recorded its own consent it is covered by it, so a member (the partner that
 * handed the case over) may write to it on that basis, with that record's number; before it
 * recorded one, the handed-over case had no consent that covered it. */
static void test_coverage_handed_over_sender(void **state)
{
    zh_fix *t = *state;
    uint8_t kase[ZN_ID_LEN], oid[ZN_ID_LEN];
    uint64_t seq1 = 0;
    s_handed_over_world(t, kase, oid, &seq1);
    s_send_expect(t, A, B, kase, ZN_E_CONSENT_REQUIRED);
    uint64_t seq2 = s_grant(t, B, kase, "politie", 0);
    assert_int_equal(s_send(t, A, B, kase, NULL), ZN_E_OK);
    uint64_t idx = t->last_index;
    zh_alog lg;
    zh_fix_alog(t, &lg);
    const zh_ent *x = zh_alog_at(&lg, idx);
    assert_string_equal(x->en.actor, "school");
    assert_string_equal(x->en.basis, "consent");
    assert_true(zh_det_u64(x, "consent", seq2));
    zh_alog_free(&lg);
}

/* A partner becomes a member by acknowledging what it received: not by an envelope that was
 * stopped before it read it, nor by a handover it declined unread. */
static void test_member_on_ack(void **state)
{
    zh_fix *t = *state;
    uint8_t kase[ZN_ID_LEN], oid[ZN_ID_LEN], m1[ZN_ID_LEN], o2[ZN_ID_LEN];
    zn_case_view *v = s_new(sizeof *v);
    zh_inbox box;
    /* an override's recipient, offline while the override is rejected */
    s_override_world(t, kase, oid);
    assert_int_equal(s_send(t, A, C, kase, m1), ZN_E_OK);
    s_review_ok(t, oid, false);
    zh_fix_inbox(t, A, &box);
    s_dropped(&box, kase, "politie", (const uint8_t *[]){m1}, 1);
    zh_fix_inbox(t, C, &box);
    if (box.n != 0)
        fail_msg("politie received %d items after the override was rejected", box.n);
    zh_fix_want(t, "case-show", C, s_show(t, C, kase, v), ZN_E_NOT_MEMBER);
    zh_fix_want(t, "override-new", C, s_override_ex(t, C, kase, "wijkracht", 3, JUST_OK, o2, NULL, NULL),
                ZN_E_NOT_MEMBER);
    s_send_expect(t, C, A, kase, ZN_E_NOT_MEMBER);
    zh_fix_want(t, "case-show", A, s_show(t, A, kase, v), ZN_E_OK);
    assert_null(s_member(v, "politie"));

    /* a handover's recipient that declined without reading the dossier */
    uint8_t anon[ZN_ID_LEN], md[ZN_ID_LEN], hid[ZN_ID_LEN];
    s_case_new(t, A, NULL, anon);
    assert_int_equal(s_send(t, A, B, anon, md), ZN_E_OK);
    zh_fix_want(t, "handover-offer", A, s_offer(t, A, anon, B, md, hid, NULL), ZN_E_OK);
    zh_fix_want(t, "handover-decline", B, s_decline(t, B, hid, "school", false), ZN_E_OK);
    zh_fix_want(t, "case-show", B, s_show(t, B, anon, v), ZN_E_NOT_MEMBER);
    s_send_expect(t, B, A, anon, ZN_E_NOT_MEMBER);
    zh_fix_want(t, "case-show", A, s_show(t, A, anon, v), ZN_E_OK);
    assert_null(s_member(v, "wijkracht"));

    /* the usual way: the recipient answers once it has acknowledged the envelope */
    uint8_t k3[ZN_ID_LEN], m3[ZN_ID_LEN];
    s_case_new(t, A, NULL, k3);
    assert_int_equal(s_send(t, A, C, k3, m3), ZN_E_OK);
    s_send_expect(t, C, A, k3, ZN_E_NOT_MEMBER);
    zh_fix_inbox(t, C, &box);
    assert_non_null(zh_inbox_env(&box, m3));
    s_send_expect(t, C, A, k3, ZN_E_OK);
    zh_fix_want(t, "case-show", A, s_show(t, A, k3, v), ZN_E_OK);
    const zn_member_row *r = s_member(v, "politie");
    assert_non_null(r);
    assert_string_equal(r->how, "received");
    free(v);

    zh_alog lg;
    zh_fix_alog(t, &lg);
    s_refused_request(t, &lg, (zh_q){.action = "case-show", .actor = "politie", .case_id = kase}, "not-member", C);
    s_refused_request(t, &lg, (zh_q){.action = "override-new", .actor = "politie", .case_id = kase}, "not-member", C);
    s_refused_request(t, &lg, (zh_q){.action = "case-show", .actor = "wijkracht", .case_id = anon}, "not-member", B);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "drop", .counterpart = "politie", .case_id = kase}), 1);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "send", .actor = "politie", .reason = "not-member",
                                               .case_id = k3}),
                     1);
    zh_alog_free(&lg);
}

/* A consent whose end passed while an envelope waited: the clock stops it as a withdrawal does. */
static void test_consent_expiry_purges(void **state)
{
    zh_fix *t = *state;
    uint8_t kase[ZN_ID_LEN], m1[ZN_ID_LEN];
    s_case_new(t, A, P1, kase);
    uint64_t until = zh_fix_now(t) + 60000;
    uint64_t seq = s_grant(t, A, kase, "wijkracht", until);
    assert_int_equal(s_send(t, A, B, kase, m1), ZN_E_OK); /* wijkracht is offline */
    zh_fix_restart(t, 120, NULL);
    zh_alog lg;
    const zh_ent *x = s_broker_entry(t, &lg, "consent-expire");
    assert_non_null(x->en.case_id);
    assert_memory_equal(x->en.case_id, kase, ZN_ID_LEN);
    assert_int_equal(x->en.decision, ZN_AUDIT_ALLOWED);
    assert_true(zh_det_u64(x, "seq", seq));
    assert_true(zh_det_u64(x, "until", until));
    uint64_t expired = x->en.index;
    zh_alog_free(&lg);
    zh_fix_alog_wait(t, &lg, (zh_q){.action = "drop", .case_id = kase}, 1, 3 * ZH_TIMEOUT);
    x = zh_alog_one(&lg, (zh_q){.action = "drop", .case_id = kase});
    assert_null(x->en.actor);
    assert_string_equal(x->en.counterpart, "wijkracht");
    assert_string_equal(x->en.reason, "consent-required");
    assert_true(zh_det_bin(x, "msgid", m1, ZN_ID_LEN));
    assert_true(zh_det_str(x, "sender", "school"));
    assert_true(x->en.index > expired);
    zh_alog_free(&lg);

    zh_inbox box;
    zh_fix_inbox(t, A, &box);
    s_dropped(&box, kase, "wijkracht", (const uint8_t *[]){m1}, 1);
    zh_fix_inbox(t, B, &box);
    if (zh_inbox_count(&box, NULL) != 0)
        fail_msg("wijkracht received %d envelopes after the consent ended", zh_inbox_count(&box, NULL));
    s_send_expect(t, A, B, kase, ZN_E_CONSENT_REQUIRED);
    s_says(t, "expired", "the consent expired");
    /* once only */
    zh_sleep_ms(ZN_CASES_TICK_EVERY_MS + 1000);
    s_not_again(t, 180, "consent-expire", A, "envelope-dropped");
}

/* Accepting a handover changes who holds the case: what waited for the old regisseur under its
 * own consent is judged again. */
static void test_accept_purges_uncovered(void **state)
{
    zh_fix *t = *state;
    uint8_t kase[ZN_ID_LEN], md[ZN_ID_LEN], mc[ZN_ID_LEN], hid[ZN_ID_LEN];
    s_case_new(t, A, P1, kase);
    uint64_t seq = s_grant(t, A, kase, "politie,wijkracht", 0);
    assert_int_equal(s_send(t, A, B, kase, md), ZN_E_OK);
    assert_int_equal(s_send(t, C, A, kase, mc), ZN_E_OK); /* school does not read it yet */
    uint64_t sent = t->last_index;
    zh_fix_want(t, "handover-offer", A, s_offer(t, A, kase, B, md, hid, NULL), ZN_E_OK);
    zh_fix_want(t, "handover-accept", B, s_accept(t, B, hid, kase), ZN_E_OK);
    /* school no longer holds the case and is not in the scope: politie's envelope has no basis */
    zh_inbox box;
    zh_fix_inbox(t, C, &box);
    s_dropped(&box, kase, "school", (const uint8_t *[]){mc}, 1);
    zh_fix_inbox(t, A, &box);
    assert_null(zh_inbox_env(&box, mc));
    assert_non_null(s_handover_note(&box, "handover-accepted", hid));
    /* wijkracht, in the scope, keeps its dossier */
    zh_fix_inbox(t, B, &box);
    assert_non_null(zh_inbox_env(&box, md));
    s_send_expect(t, C, A, kase, ZN_E_CONSENT_REQUIRED);

    zh_alog lg;
    zh_fix_alog(t, &lg);
    const zh_ent *x = zh_alog_at(&lg, sent);
    assert_string_equal(x->en.basis, "consent");
    assert_true(zh_det_u64(x, "consent", seq));
    uint64_t accepted =
        zh_alog_one(&lg, (zh_q){.action = "handover-accept", .decision = ZN_AUDIT_ALLOWED, .case_id = kase})->en.index;
    x = zh_alog_one(&lg, (zh_q){.action = "drop", .case_id = kase});
    assert_string_equal(x->en.counterpart, "school");
    assert_string_equal(x->en.reason, "consent-required");
    assert_true(zh_det_bin(x, "msgid", mc, ZN_ID_LEN));
    assert_true(zh_det_str(x, "sender", "politie"));
    assert_true(x->en.index > accepted);
    zh_alog_free(&lg);
}

/* An envelope already pushed to a connected recipient (not yet acknowledged) is in its hands: a
 * withdrawal does not "drop" it, and the recipient acknowledges it as usual. */
static void test_inflight_not_dropped(void **state)
{
    zh_fix *t = *state;
    uint8_t kase[ZN_ID_LEN], m1[ZN_ID_LEN];
    s_case_new(t, A, P1, kase);
    s_grant(t, A, kase, "wijkracht", 0);
    void *sb = zh_connect_party(t->h, B);
    assert_non_null(sb);
    assert_int_equal(zh_hello(sb, t->corr++, t->h->version, ZH_WINDOW), 0);
    zh_msg m;
    assert_int_equal(zh_wait_type(sb, ZN_T_IDLE, 2 * ZH_TIMEOUT, &m, NULL), 0);
    zh_msg_free(&m);
    assert_int_equal(s_send(t, A, B, kase, m1), ZN_E_OK);
    assert_int_equal(zh_wait_type(sb, ZN_T_DELIVER, 2 * ZH_TIMEOUT, &m, NULL), 0);
    zh_item it;
    assert_int_equal(zh_item_from(t->h, &m, &it), 0);
    zh_msg_free(&m);
    assert_int_equal(it.kind, ZN_ITEM_ENVELOPE);
    assert_memory_equal(it.msgid, m1, ZN_ID_LEN);
    s_consent_state(t, A, kase, ZN_CONSENT_WITHDRAWN, PURPOSE_AUDITORS, ZN_E_OK);

    zh_alog lg;
    s_items_wait(t, &lg, "deliver", "wijkracht", it.item_id);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "drop"}), 0);
    zh_alog_free(&lg);
    zh_inbox box;
    zh_fix_inbox(t, A, &box);
    assert_int_equal(zh_inbox_count(&box, "envelope-dropped"), 0);
    /* wijkracht acknowledges it as usual */
    assert_int_equal(zh_ack(sb, t->corr++, it.item_id), 0);
    assert_int_equal(zh_sync(sb, t->corr++, NULL), 0);
    zh_close(t->h, &sb);
    s_items_wait(t, &lg, "ack", "wijkracht", it.item_id);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "drop"}), 0);
    zh_alog_free(&lg);
    zh_fix_inbox(t, B, &box);
    assert_int_equal(box.n, 0);
    zh_fix_inbox(t, A, &box);
    assert_int_equal(zh_inbox_count(&box, "envelope-dropped"), 0);
    zn_case_view *v = s_view(t, B, kase); /* a member: it received the envelope */
    assert_non_null(s_member(v, "wijkracht"));
    free(v);
}

/* The offering partner, or a coordinator of the network, takes an open offer back. */
static void test_handover_withdraw(void **state)
{
    zh_fix *t = *state;
    uint8_t kase[ZN_ID_LEN], md[ZN_ID_LEN], hid[ZN_ID_LEN], hid2[ZN_ID_LEN], rnd[ZN_ID_LEN];
    zh_random(rnd, sizeof rnd);
    s_case_new(t, A, NULL, kase);
    assert_int_equal(s_send(t, A, B, kase, md), ZN_E_OK);
    zh_fix_want(t, "handover-offer", A, s_offer(t, A, kase, B, md, hid, NULL), ZN_E_OK);
    /* a partner that has nothing to do with it learns nothing of it; the recipient declines
     * instead */
    zh_fix_want(t, "handover-withdraw", C, s_withdraw(t, C, hid), ZN_E_UNKNOWN_HANDOVER);
    zh_fix_want(t, "handover-withdraw", B, s_withdraw(t, B, hid), ZN_E_NOT_REGISSEUR);
    zh_fix_want(t, "handover-withdraw", A, s_withdraw(t, A, rnd), ZN_E_UNKNOWN_HANDOVER);
    zh_fix_want(t, "handover-withdraw", A, s_withdraw(t, A, hid), ZN_E_OK);
    zh_fix_want(t, "handover-withdraw", A, s_withdraw(t, A, hid), ZN_E_DECIDED);
    zh_fix_want(t, "handover-accept", B, s_accept(t, B, hid, kase), ZN_E_DECIDED);
    zh_fix_want(t, "handover-decline", B, s_decline(t, B, hid, "school", false), ZN_E_DECIDED);
    s_handover_state_is(t, A, hid, "withdrawn");
    s_handover_state_is(t, B, hid, "withdrawn");
    zn_case_view *v = s_view(t, A, kase);
    assert_string_equal(v->regisseur, "school");
    assert_int_equal(v->n_handovers, 0);
    free(v);
    zh_inbox box;
    zh_fix_inbox(t, B, &box);
    const zh_note *n = s_handover_note(&box, "handover-withdrawn", hid);
    assert_true(n->has_case);
    assert_memory_equal(n->case_id, kase, ZN_ID_LEN);
    assert_string_equal(n->by, "school");
    /* a new offer may follow; the network's coordinator may take it back */
    zh_fix_want(t, "handover-offer", A, s_offer(t, A, kase, B, md, hid2, NULL), ZN_E_OK);
    zh_fix_want(t, "handover-withdraw", COORD, s_withdraw(t, COORD, hid2), ZN_E_OK);
    s_handover_state_is(t, A, hid2, "withdrawn");
    zh_fix_inbox(t, B, &box);
    n = s_handover_note(&box, "handover-withdrawn", hid2);
    assert_string_equal(n->by, "coordinator");
    /* with nothing open the case closes */
    zh_fix_want(t, "case-close", A, s_id_req(t, A, "case-close", kase, NULL), ZN_E_OK);

    zh_alog lg;
    zh_fix_alog(t, &lg);
    const zh_ent *x = zh_alog_one(&lg, (zh_q){.action = "handover-withdraw", .actor = "school",
                                              .decision = ZN_AUDIT_ALLOWED, .key = "handover", .id = hid});
    assert_non_null(x->en.case_id);
    assert_memory_equal(x->en.case_id, kase, ZN_ID_LEN);
    assert_string_equal(x->en.counterpart, "wijkracht");
    s_has_request(t, x, A);
    x = zh_alog_one(&lg, (zh_q){.action = "handover-withdraw", .actor = "coordinator",
                                .decision = ZN_AUDIT_ALLOWED, .key = "handover", .id = hid2});
    s_has_request(t, x, COORD);
    s_refused_request(t, &lg, (zh_q){.action = "handover-withdraw", .actor = "politie"}, "unknown-handover", C);
    x = s_refused_request(t, &lg, (zh_q){.action = "handover-withdraw", .actor = "wijkracht"}, "not-regisseur", B);
    assert_non_null(x->en.case_id);
    assert_memory_equal(x->en.case_id, kase, ZN_ID_LEN);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "handover-withdraw", .actor = "school",
                                               .reason = "unknown-handover"}),
                     1);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "handover-withdraw", .actor = "school",
                                               .reason = "already-decided"}),
                     1);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "handover-accept", .reason = "already-decided"}), 1);
    zh_alog_free(&lg);
}

/* A recipient that left the convenant cannot answer: its open offer lapses. */
static void test_handover_lapses_on_leave(void **state)
{
    zh_fix *t = *state;
    uint8_t kase[ZN_ID_LEN], md[ZN_ID_LEN], hid[ZN_ID_LEN];
    s_case_new(t, A, NULL, kase);
    assert_int_equal(s_send(t, A, C, kase, md), ZN_E_OK);
    zh_fix_want(t, "handover-offer", A, s_offer(t, A, kase, C, md, hid, NULL), ZN_E_OK);
    zh_fix_reload(t, t->h->version + 1, ZH_BIT(ZH_POLITIE));
    s_handover_state_is(t, A, hid, "withdrawn");
    zn_case_view *v = s_view(t, A, kase);
    assert_int_equal(v->n_handovers, 0);
    assert_string_equal(v->regisseur, "school");
    free(v);
    zh_inbox box;
    zh_fix_inbox(t, A, &box);
    const zh_note *n = s_handover_note(&box, "handover-withdrawn", hid);
    assert_memory_equal(n->case_id, kase, ZN_ID_LEN);
    assert_string_equal(n->to, "politie");
    assert_string_equal(n->reason, "not-in-convenant");
    assert_string_equal(n->by, "");
    zh_fix_want(t, "case-close", A, s_id_req(t, A, "case-close", kase, NULL), ZN_E_OK);

    zh_alog lg;
    zh_fix_alog(t, &lg);
    const zh_ent *x = NULL;
    for (size_t i = 0; i < lg.n; i++)
        if (zh_is(lg.e[i].en.reason, "not-in-convenant") && zh_det_bin(&lg.e[i], "handover", hid, ZN_ID_LEN)) {
            if (x)
                fail_msg("two entries lapse the handover");
            x = &lg.e[i];
        }
    if (!x)
        fail_msg("no entry with reason not-in-convenant names the handover");
    assert_null(x->en.actor);
    assert_non_null(x->en.case_id);
    assert_memory_equal(x->en.case_id, kase, ZN_ID_LEN);
    assert_string_equal(x->en.counterpart, "politie");
    zh_alog_free(&lg);
}

/* An override nobody reviewed whose lifetime ended before the clock ran: escalated and expired,
 * once each. */
static void test_override_expiry_escalates_unreviewed(void **state)
{
    zh_fix *t = *state;
    uint8_t kase[ZN_ID_LEN], oid[ZN_ID_LEN];
    uint64_t review_by = 0;
    s_case_new(t, A, P1, kase);
    zh_fix_want(t, "override-new", A, s_override_ex(t, A, kase, "politie", 3, JUST_OK, oid, NULL, &review_by),
                ZN_E_OK);
    zh_fix_restart(t, 15 * S_DAY_S, NULL);
    zh_alog lg;
    zh_fix_alog_wait(t, &lg, (zh_q){.action = "override-expire"}, 1, 3 * ZH_TIMEOUT);
    zh_alog_free(&lg);
    zh_fix_alog_wait(t, &lg, (zh_q){.action = "override-escalate"}, 1, 3 * ZH_TIMEOUT);
    const zh_ent *x = zh_alog_one(&lg, (zh_q){.action = "override-escalate"});
    assert_null(x->en.actor);
    assert_string_equal(x->en.counterpart, "school");
    assert_true(zh_det_bin(x, "override", oid, ZN_ID_LEN));
    assert_true(zh_det_u64(x, "review_by", review_by));
    x = zh_alog_one(&lg, (zh_q){.action = "override-expire"});
    assert_true(zh_det_bin(x, "override", oid, ZN_ID_LEN));
    zh_alog_free(&lg);
    zh_inbox box;
    zh_fix_inbox(t, AUD, &box);
    assert_memory_equal(zh_inbox_one(&box, "override-escalated", "the auditor")->override, oid, ZN_ID_LEN);
    zh_fix_inbox(t, A, &box);
    assert_memory_equal(zh_inbox_one(&box, "override-expired", "school")->override, oid, ZN_ID_LEN);
    zn_override_row row = s_orow_of(t, true, oid);
    assert_int_equal(row.state, ZN_OVERRIDE_EXPIRED);
    assert_true(row.escalated);
    /* neither again */
    zh_sleep_ms(ZN_CASES_TICK_EVERY_MS + 1000);
    s_not_again(t, 16 * S_DAY_S, "override-escalate", AUD, "override-escalated");
    zh_fix_alog(t, &lg);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "override-expire"}), 1);
    zh_alog_free(&lg);
}

/* A pseudonym made with another epoch's network key is refused: the client's convenant is old. */
static void test_pseudonym_epoch(void **state)
{
    zh_fix *t = *state;
    uint8_t kase[ZN_ID_LEN], anon[ZN_ID_LEN];
    uint8_t other = (uint8_t)(t->h->netkey.epoch % 255 + 1);
    /* case-new */
    zn_case_new_body b;
    memset(&b, 0, sizeof b);
    zh_random(b.id, ZN_ID_LEN);
    memcpy(kase, b.id, ZN_ID_LEN);
    snprintf(b.network, sizeof b.network, "%s", ZH_NET0);
    b.identified = true;
    zh_psn(t->h, P1, b.person);
    zh_psn(t->h, P2, b.related[b.n_related++]);
    assert_int_equal(b.person[0], (uint8_t)t->h->netkey.epoch);
    b.person[0] = b.related[0][0] = other;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    assert_int_equal(zn_body_case_new_enc(&sb, &b), 0);
    s_expect_sb(t, A, "case-new", &sb, ZN_E_CONVENANT_OLD);
    zn_case_view *v = s_new(sizeof *v);
    zh_fix_want(t, "case-show", A, s_show(t, A, kase, v), ZN_E_UNKNOWN_CASE);
    /* case-link */
    s_case_new(t, A, NULL, anon);
    s_grant(t, A, anon, "wijkracht", 0);
    zn_case_link_body l;
    memset(&l, 0, sizeof l);
    memcpy(l.case_id, anon, ZN_ID_LEN);
    zh_psn(t->h, P3, l.person);
    l.person[0] = other;
    msgpack_sbuffer_init(&sb);
    zn_body_case_link_enc(&sb, &l);
    s_expect_sb(t, A, "case-link", &sb, ZN_E_CONVENANT_OLD);
    zh_fix_want(t, "case-show", A, s_show(t, A, anon, v), ZN_E_OK);
    assert_false(v->identified);
    free(v);
    /* the current epoch still works */
    char told[64];
    zh_fix_want(t, "case-link", A, s_link(t, A, anon, P3, told, sizeof told), ZN_E_OK);

    zh_alog lg;
    zh_fix_alog(t, &lg);
    s_refused_request(t, &lg, (zh_q){.action = "case-new", .actor = "school", .decision = ZN_AUDIT_REFUSED},
                      "convenant-outdated", A);
    s_refused_request(t, &lg, (zh_q){.action = "case-link", .actor = "school", .decision = ZN_AUDIT_REFUSED},
                      "convenant-outdated", A);
    zh_alog_free(&lg);
}

/* consent-show of a long history: the newest ZN_CASE_PAGE records, the last the current one. */
static void test_consent_show_newest(void **state)
{
    zh_fix *t = *state;
    enum { N = ZN_CASE_PAGE + 4 };
    uint8_t kase[ZN_ID_LEN];
    s_case_new(t, A, P1, kase);
    uint64_t last = 0;
    for (int i = 0; i < N; i++) {
        uint64_t seq = 0;
        zh_fix_want(t, "consent-set", A,
                    s_consent_ex(t, A, kase, ZN_CONSENT_REQUESTED, "", 0, ZN_AGE_NONE, 0, PURPOSE_NONE, &seq),
                    ZN_E_OK);
        assert_true(seq > last);
        last = seq;
    }
    zh_msg m;
    zh_fix_want(t, "consent-show", A, s_id_req(t, A, "consent-show", kase, &m), ZN_E_OK);
    const msgpack_object *rows = &s_res(&m, 2)[1];
    assert_int_equal(rows->type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(rows->via.array.size, ZN_CASE_PAGE);
    uint64_t prev = 0;
    for (uint32_t i = 0; i < rows->via.array.size; i++) {
        zn_consent_row row;
        zn_err e;
        zn_err_clear(&e);
        if (zn_consent_row_dec(&rows->via.array.ptr[i], &row, &e) != 0)
            fail_msg("consent-row %u does not decode: %s", i, e.text);
        assert_true(row.seq > prev); /* oldest first */
        prev = row.seq;
        if (i == 0)
            assert_int_equal(row.seq, last - ZN_CASE_PAGE + 1);
    }
    zh_msg_free(&m);
    assert_int_equal(prev, last);
    zn_case_view *v = s_view(t, A, kase);
    assert_int_equal(v->consent_seq, last);
    free(v);
}

/* A retry of an accepted message (its id again) stands as the accepted one, whatever changed. */
static void test_retry_after_withdraw(void **state)
{
    zh_fix *t = *state;
    uint8_t kase[ZN_ID_LEN], m1[ZN_ID_LEN];
    s_case_new(t, A, P1, kase);
    s_grant(t, A, kase, "wijkracht", 0);
    assert_int_equal(zh_fix_send_ex(t, A, B, kase, 0, NULL, m1, NULL), ZN_E_OK);
    zh_inbox box;
    zh_fix_inbox(t, B, &box);
    assert_non_null(zh_inbox_env(&box, m1));
    s_consent_state(t, A, kase, ZN_CONSENT_WITHDRAWN, PURPOSE_AUDITORS, ZN_E_OK);
    bool dup = false;
    zn_code c = zh_fix_send_ex(t, A, B, kase, 0, m1, NULL, &dup);
    if (c != ZN_E_OK)
        fail_msg("the retry of an accepted message: expected a RESULT, got %s (%s)", zh_code_text(c), t->last_err);
    assert_true(dup);
    /* and nothing new: no second delivery, no new message */
    zh_fix_inbox(t, B, &box);
    assert_int_equal(zh_inbox_count(&box, NULL), 0);
    s_send_expect(t, A, B, kase, ZN_E_CONSENT_REQUIRED);
    zh_alog lg;
    zh_fix_alog(t, &lg);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "send", .actor = "school", .decision = ZN_AUDIT_ALLOWED,
                                               .case_id = kase}),
                     1);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "send", .actor = "school", .decision = ZN_AUDIT_REFUSED,
                                               .case_id = kase}),
                     1);
    zh_alog_free(&lg);
}

/* Text sealed to the readers `who` names, with the last reader's box one byte longer than the
 * others (so the readers would not read the same text). */
static void s_sealed_uneven(zh_fix *t, msgpack_sbuffer *out, unsigned who, const char *partner, const char *text)
{
    msgpack_sbuffer good;
    s_sealed(t, &good, who, partner, text);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    assert_int_equal(msgpack_unpack_next(&u, good.data, good.size, NULL), MSGPACK_UNPACK_SUCCESS);
    const msgpack_object *a = &u.data;
    assert_int_equal(a->type, MSGPACK_OBJECT_ARRAY);
    assert_true(a->via.array.size >= 2);
    msgpack_sbuffer_init(out);
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, a->via.array.size);
    for (uint32_t i = 0; i < a->via.array.size; i++) {
        const msgpack_object *r = &a->via.array.ptr[i];
        assert_int_equal(r->type, MSGPACK_OBJECT_ARRAY);
        assert_int_equal(r->via.array.size, 2);
        const msgpack_object *box = &r->via.array.ptr[1];
        assert_int_equal(box->type, MSGPACK_OBJECT_BIN);
        bool longer = i + 1 == a->via.array.size;
        msgpack_pack_array(&pk, 2);
        msgpack_pack_object(&pk, r->via.array.ptr[0]);
        msgpack_pack_bin(&pk, box->via.bin.size + (longer ? 1 : 0));
        msgpack_pack_bin_body(&pk, box->via.bin.ptr, box->via.bin.size);
        if (longer)
            msgpack_pack_bin_body(&pk, "x", 1);
    }
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&good);
}

static void test_sealed_uneven_boxes(void **state)
{
    zh_fix *t = *state;
    uint8_t kase[ZN_ID_LEN], anon[ZN_ID_LEN], md[ZN_ID_LEN], hid[ZN_ID_LEN], oid[ZN_ID_LEN];
    s_case_new(t, A, P1, kase);
    /* a justification to the coordinator and the auditor */
    zn_override_new_body ob;
    memset(&ob, 0, sizeof ob);
    zh_random(ob.id, ZN_ID_LEN);
    memcpy(oid, ob.id, ZN_ID_LEN);
    memcpy(ob.case_id, kase, ZN_ID_LEN);
    snprintf(ob.to, sizeof ob.to, "politie");
    ob.step = 3;
    msgpack_sbuffer jb, sb;
    s_sealed_uneven(t, &jb, ZN_READ_COORDINATORS | ZN_READ_AUDITORS, NULL, JUST);
    msgpack_sbuffer_init(&sb);
    zn_body_override_new_enc(&sb, &ob, (const uint8_t *)jb.data, jb.size);
    msgpack_sbuffer_destroy(&jb);
    s_expect_sb(t, A, "override-new", &sb, ZN_E_MALFORMED);
    s_send_expect(t, A, C, kase, ZN_E_CONSENT_REQUIRED); /* no override stands */
    /* a decline reason to the offering partner and the auditor */
    s_case_new(t, A, NULL, anon);
    assert_int_equal(s_send(t, A, B, anon, md), ZN_E_OK);
    zh_fix_want(t, "handover-offer", A, s_offer(t, A, anon, B, md, hid, NULL), ZN_E_OK);
    msgpack_sbuffer rb;
    s_sealed_uneven(t, &rb, ZN_READ_PARTNER | ZN_READ_AUDITORS, "school", "Geen plek in het team deze maand.");
    msgpack_sbuffer_init(&sb);
    zn_body_handover_decline_enc(&sb, hid, (const uint8_t *)rb.data, rb.size);
    msgpack_sbuffer_destroy(&rb);
    s_expect_sb(t, B, "handover-decline", &sb, ZN_E_MALFORMED);
    s_handover_state_is(t, A, hid, "open");

    zh_alog lg;
    zh_fix_alog(t, &lg);
    s_refused_request(t, &lg, (zh_q){.action = "override-new"}, "malformed", A);
    s_refused_request(t, &lg, (zh_q){.action = "handover-decline"}, "malformed", B);
    assert_int_equal(zh_alog_count(&lg, (zh_q){.action = "override-new", .decision = ZN_AUDIT_ALLOWED}), 0);
    zh_alog_free(&lg);
}

/* The library's plain send (zn_client_send) checks an anonymous case's text like the CLI does. */
static void test_client_send_scans(void **state)
{
    zh_fix *t = *state;
    uint8_t kase[ZN_ID_LEN], msgid[ZN_CLIENT_ID_LEN];
    s_case_new(t, A, NULL, kase);
    char key[ZH_PATH_MAX];
    assert_int_equal(zh_path(t->h, key, "keys/school.key"), 0);
    zn_client_opts o = {.convenant_path = t->h->conv_path, .key_path = key, .handler = ZH_HANDLER,
                        .timeout_ms = 2 * ZH_TIMEOUT};
    zn_err e;
    zn_err_clear(&e);
    zn_client *c = zn_client_open(&o, &e);
    if (!c)
        fail_msg("zn_client_open: %s", e.text);
    static const char bsn[] = "Vader noemde BSN " P2 " in het gesprek.";
    static const char plain[] = "Overleg over groep 7, dinsdag om 14:30.";
    memset(msgid, 0, sizeof msgid);
    int rc = zn_client_send(c, "wijkracht", kase, bsn, sizeof bsn - 1, msgid, &e);
    if (rc == 0 || e.code != ZN_E_IDENTIFIERS)
        fail_msg("zn_client_send of a BSN on an anonymous case: expected identifiers-found, got %s (%s)",
                 rc == 0 ? "a send" : zn_code_name(e.code), e.text);
    memset(msgid, 0, sizeof msgid);
    uint64_t index = 0;
    rc = zn_client_send_ex(c, "wijkracht", kase, bsn, sizeof bsn - 1, msgid, &index, &e);
    if (rc == 0 || e.code != ZN_E_IDENTIFIERS)
        fail_msg("zn_client_send_ex of a BSN on an anonymous case: expected identifiers-found, got %s (%s)",
                 rc == 0 ? "a send" : zn_code_name(e.code), e.text);
    memset(msgid, 0, sizeof msgid);
    if (zn_client_send(c, "wijkracht", kase, plain, sizeof plain - 1, msgid, &e) != 0)
        fail_msg("zn_client_send of ordinary text: %s: %s", zn_code_name(e.code), e.text);
    zn_client_close(&c);
    zh_inbox box;
    zh_fix_inbox(t, B, &box);
    assert_int_equal(zh_inbox_count(&box, NULL), 1);
    assert_non_null(zh_inbox_env(&box, msgid));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_case_new_anonymous, zh_fix_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_case_new_identified, zh_fix_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_case_show_access, zh_fix_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_case_close, zh_fix_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_membership, zh_fix_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_consent_required, zh_fix_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_consent_capacity, zh_fix_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_consent_expiry, zh_fix_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_withdraw_purges_queue, zh_fix_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_refusal_purges_identified_only, zh_fix_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_closed_case_retention, zh_fix_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_override_new, zh_fix_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_override_review, zh_fix_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_override_reject_purges, zh_fix_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_override_reject_keeps_consented, zh_fix_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_override_expiry, zh_fix_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_override_escalation, zh_fix_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_handover_accept, zh_fix_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_handover_identified, zh_fix_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_handover_decline, zh_fix_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_handover_timeout, zh_fix_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_case_link, zh_fix_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_i_checked, zh_fix_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_audit_every_decision, zh_fix_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_malformed_bodies, zh_fix_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_coverage_by_recorder_only, zh_fix_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_coverage_handed_over_sender, zh_fix_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_member_on_ack, zh_fix_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_consent_expiry_purges, zh_fix_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_accept_purges_uncovered, zh_fix_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_inflight_not_dropped, zh_fix_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_handover_withdraw, zh_fix_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_handover_lapses_on_leave, zh_fix_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_override_expiry_escalates_unreviewed, zh_fix_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_pseudonym_epoch, zh_fix_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_consent_show_newest, zh_fix_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_retry_after_withdraw, zh_fix_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_sealed_uneven_boxes, zh_fix_setup, zh_fix_teardown),
        cmocka_unit_test_setup_teardown(test_client_send_scans, zh_fix_setup, zh_fix_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
