/* libzorgnet: cases, consent, safety overrides and warm handovers (see zorgnet.h, "cases,
 * consent, safety overrides and warm handovers", and docs/PROTOCOL.md).
 *
 * Every call is a signed request sent with zn_client_request. What can be checked on this
 * computer is checked before anything is sent, and the error then says "nothing was sent":
 * BSNs (11-proef) and the pseudonyms made of them (shared with the signal calls), partner ids
 * against the convenant, the consent's capacity rules (zn_consent_check), the length of free
 * text. Free text is sealed here (zn_sealed) to the readers its kind has, worked out from the
 * convenant; when a call needs the case's network or the override's or handover's partner for
 * that, it asks the broker first (case-show, override-list, handover-list). Sealed text in a
 * result is opened with this client's key when it is one of the readers, else left "". */
#include "zn_case.h"
#include "zn_client_internal.h"
#include "zn_convenant.h"
#include "zn_identifiers.h"
#include "zn_pseudonym.h"
#include "zn_sealed.h"
#include "zn_wire.h"
#include "zorgnet.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(ZN_CLIENT_RELATED_MAX == ZN_CASE_RELATED_MAX, "related count");
_Static_assert(ZN_CLIENT_SCOPE_MAX == ZN_CONSENT_SCOPE_MAX, "scope size");
_Static_assert(ZN_CLIENT_MEMBERS_MAX == ZN_CASE_PAGE, "members shown");
_Static_assert(ZN_CLIENT_CASE_LIST_MAX == sizeof(((zn_case_view *)0)->handovers) / sizeof(zn_handover_row),
               "open handovers shown");
_Static_assert(ZN_CLIENT_CASE_LIST_MAX == sizeof(((zn_case_view *)0)->overrides) / sizeof(zn_override_row),
               "standing overrides shown");
_Static_assert(ZN_CLIENT_JUSTIFICATION_MIN == ZN_JUSTIFICATION_MIN, "justification length");
_Static_assert(ZN_CLIENT_SEALED_MAX == ZN_SEALED_TEXT_MAX, "sealed text size");
_Static_assert(ZN_CLIENT_PSN_LEN == ZN_PSN_LEN, "pseudonym length");
_Static_assert(ZN_CLIENT_TEXT_MAX >= ZN_HANDLER_MAX, "handler size");

/* A refused BSN is repeated in the error (it stays on this computer) up to this many
 * printable characters, so the user sees which one was meant. */
#define S_SHOW_MAX 20
/* Pages of a list walked to find one override or handover; a list that never ends is the
 * broker's fault. */
#define S_FIND_PAGES_MAX 4096u
/* Identifiers found in one scan, per round of zn_identifiers_scan. */
#define S_SCAN_ROUND 32

/* ------------------------------------------------------------------ BSNs and pseudonyms */

/* What the user typed as a BSN, printable ASCII only, cut at S_SHOW_MAX. */
static void s_shown(char out[S_SHOW_MAX + 4], const char *bsn)
{
    size_t n = 0;
    for (const char *p = bsn; p && *p && n < S_SHOW_MAX; p++)
        out[n++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
    if (bsn && strlen(bsn) > S_SHOW_MAX) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

/* The 11-proef on one BSN; `what` names it ("the person's BSN", "related BSN"). */
static int s_check_bsn(const char *bsn, const char *what, zn_err *e)
{
    if (zn_bsn_valid(bsn))
        return 0;
    char shown[S_SHOW_MAX + 4];
    s_shown(shown, bsn);
    if (!bsn || !*bsn)
        return zn_err_set(e, ZN_E_USAGE, "%s is empty; nothing was sent", what);
    bool nine = strlen(bsn) == ZN_BSN_LEN && strspn(bsn, "0123456789") == ZN_BSN_LEN;
    if (nine)
        return zn_err_set(e, ZN_E_USAGE, "%s %s fails the 11-proef; nothing was sent", what, shown);
    return zn_err_set(e, ZN_E_USAGE, "%s %s is not nine digits that pass the 11-proef; nothing was sent",
                      what, shown);
}

int zn_client_check_bsns(const char *bsn, const char *what, const char *const *related, size_t n_related,
                         zn_err *e)
{
    if (n_related > ZN_CLIENT_RELATED_MAX)
        return zn_err_set(e, ZN_E_USAGE,
                          "at most %d related BSNs (parents, siblings) go with one person; nothing was sent",
                          ZN_CLIENT_RELATED_MAX);
    if (n_related > 0 && !related)
        return zn_err_set(e, ZN_E_USAGE, "the related BSNs are missing; nothing was sent");
    if (s_check_bsn(bsn, what ? what : "the person's BSN", e) != 0)
        return -1;
    for (size_t i = 0; i < n_related; i++)
        if (s_check_bsn(related[i], "related BSN", e) != 0)
            return -1;
    for (size_t i = 0; i < n_related; i++) {
        if (strcmp(related[i], bsn) == 0)
            return zn_err_set(e, ZN_E_USAGE,
                              "related BSN number %zu is the person's own BSN; list only the family "
                              "members; nothing was sent",
                              i + 1);
        for (size_t j = 0; j < i; j++)
            if (strcmp(related[i], related[j]) == 0)
                return zn_err_set(e, ZN_E_USAGE,
                                  "related BSNs number %zu and %zu are the same; give each family member "
                                  "once; nothing was sent",
                                  j + 1, i + 1);
    }
    return 0;
}

int zn_client_pseudonyms(const zn_client *c, const char *bsn, const char *const *related, size_t n_related,
                         uint8_t *person, uint8_t (*rel)[ZN_CLIENT_PSN_LEN], zn_err *e)
{
    const zn_partner *self = zn_convenant_partner(zn_client_convenant(c), zn_client_self(c));
    if (self && zn_partner_is_coordinator(self))
        return zn_err_set(e, ZN_E_NOT_PARTNER,
                          "'%s' is a coordinator: coordinators hold no network key and never handle a "
                          "BSN; nothing was sent",
                          self->id);
    zn_netkey nk;
    int rc = 0;
    if (zn_client_open_netkey(c, &nk, e) != 0) {
        sodium_memzero(&nk, sizeof nk);
        return -1;
    }
    if (zn_pseudonym(person, &nk, bsn, e) != 0)
        rc = -1;
    for (size_t i = 0; rc == 0 && i < n_related; i++)
        if (zn_pseudonym(rel[i], &nk, related[i], e) != 0)
            rc = -1;
    sodium_memzero(&nk, sizeof nk);
    return rc;
}

/* ------------------------------------------------------------------ local checks */

/* A partner id that must be in the convenant now in use; `what` names its role in the error. */
static int s_check_partner(const zn_client *c, const char *id, const char *what, zn_err *e)
{
    if (!id || !*id)
        return zn_err_set(e, ZN_E_USAGE, "%s is missing; nothing was sent", what);
    if (!zn_ident_valid(id) || !zn_convenant_partner(zn_client_convenant(c), id))
        return zn_err_set(e, ZN_E_UNKNOWN_PARTNER,
                          "%s '%.63s' is no partner in convenant version %llu; 'zorgnet partners' lists "
                          "them; nothing was sent",
                          what, zn_ident_valid(id) ? zn_shown_name(id) : "(not a partner id)",
                          (unsigned long long)zn_client_convenant_version(c));
    return 0;
}

/* Free text to be sealed: 1..ZN_CLIENT_SEALED_MAX bytes of UTF-8 without control characters
 * other than newline and tab (the rules of zn_sealed). */
static int s_check_text(const char *text, size_t len, const char *what, zn_err *e)
{
    if (len == 0)
        return zn_err_set(e, ZN_E_USAGE, "%s is empty; nothing was sent", what);
    if (len > ZN_CLIENT_SEALED_MAX)
        return zn_err_set(e, ZN_E_USAGE, "%s is %zu bytes; at most %d are sealed; nothing was sent", what, len,
                          ZN_CLIENT_SEALED_MAX);
    const uint8_t *p = (const uint8_t *)text;
    for (size_t i = 0, k; i < len; i += k) {
        uint32_t cp = 0;
        k = zn_utf8_next(p + i, len - i, &cp);
        if (k == 0)
            return zn_err_set(e, ZN_E_USAGE, "%s is not valid UTF-8 text; nothing was sent", what);
        if ((cp < 0x20 && cp != '\n' && cp != '\t') || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f))
            return zn_err_set(e, ZN_E_USAGE,
                              "%s holds a control character (only newlines and tabs may be in it); nothing "
                              "was sent",
                              what);
    }
    return 0;
}

/* Seal text to the readers `who` (with network index and partner as zn_sealed_readers takes
 * them) into out (an sbuffer the caller initialised and destroys). */
static int s_seal(const zn_client *c, unsigned who, int network, const char *partner, const char *text,
                  size_t len, msgpack_sbuffer *out, zn_err *e)
{
    char readers[ZN_SEALED_READERS_MAX][ZN_IDENT_MAX];
    const zn_convenant *conv = zn_client_convenant(c);
    int n = zn_sealed_readers(conv, who, network, partner, readers, ZN_SEALED_READERS_MAX, e);
    if (n < 0)
        return zn_err_prefix(e, "the text cannot be sealed; nothing was sent");
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    if (zn_sealed_build(&pk, conv, (const char(*)[ZN_IDENT_MAX])readers, (size_t)n, text, len, e) != 0)
        return zn_err_prefix(e, "the text cannot be sealed; nothing was sent");
    return 0;
}

/* ------------------------------------------------------------------ requests and results */

static int s_bad_answer(const char *kind, const zn_err *pe, zn_err *e)
{
    return zn_err_set(e, ZN_E_VERIFY, "the broker's answer to %s cannot be read: %.150s", kind, pe->text);
}

/* Send a request whose body is in `body` (wiped afterwards); the parsed RESULT as
 * zn_client_request gives it. */
static int s_request(zn_client *c, const char *kind, msgpack_sbuffer *body, zn_frame *f, uint8_t **fbuf,
                     zn_err *e)
{
    int rc = zn_client_request(c, kind, (const uint8_t *)body->data, body->size, f, fbuf, e);
    if (body->data)
        sodium_memzero(body->data, body->size);
    return rc;
}

static void s_done(zn_frame *f, uint8_t *fbuf)
{
    zn_frame_free(f);
    free(fbuf);
}

/* A RESULT [id bin16, ...] of n fields whose first names the id asked about; the array, or
 * NULL with e set. */
static const msgpack_object *s_result_id(const zn_frame *f, const char *kind, uint32_t n,
                                         const uint8_t id[ZN_ID_LEN], zn_err *e)
{
    uint8_t got[ZN_ID_LEN];
    const msgpack_object *a = zn_obj_array(f->u.result.body, n);
    if (!a || zn_obj_bin_fixed(&a[0], got, ZN_ID_LEN) != 0) {
        zn_err_set(e, ZN_E_VERIFY, "the broker's answer to %s is not [id, ...] of %u fields", kind, (unsigned)n);
        return NULL;
    }
    if (sodium_memcmp(got, id, ZN_ID_LEN) != 0) {
        zn_err_set(e, ZN_E_VERIFY, "the broker answered %s for another id than the one asked", kind);
        return NULL;
    }
    return a;
}

/* A RESULT [total u64, [row ...]] of at most ZN_CASE_PAGE rows. */
static const msgpack_object *s_result_rows(const zn_frame *f, const char *kind, uint64_t offset, uint64_t *total,
                                           uint32_t *n, zn_err *e)
{
    const msgpack_object *a = zn_obj_array(f->u.result.body, 2);
    if (!a || zn_obj_u64(&a[0], total) != 0 || a[1].type != MSGPACK_OBJECT_ARRAY ||
        a[1].via.array.size > ZN_CASE_PAGE) {
        zn_err_set(e, ZN_E_VERIFY, "the broker's answer to %s is not [total, [at most %d rows]]", kind,
                   ZN_CASE_PAGE);
        return NULL;
    }
    *n = a[1].via.array.size;
    if (*n > 0 && (offset > *total || *n > *total - offset)) {
        zn_err_set(e, ZN_E_VERIFY, "the broker listed %u rows from %llu but says there are %llu in all",
                   (unsigned)*n, (unsigned long long)offset, (unsigned long long)*total);
        return NULL;
    }
    return a[1].via.array.ptr;
}

/* Send `kind` with the body [id] (case-show, case-close, consent-show, handover-accept,
 * handover-withdraw) after checking for the key file and handler (zn_client_need_actor); the
 * parsed RESULT as s_request gives it. */
static int s_id_request(zn_client *c, const char *kind, const uint8_t id[ZN_ID_LEN], zn_frame *f, uint8_t **fbuf,
                        zn_err *e)
{
    if (zn_client_need_actor(c, e) != 0)
        return -1;
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    zn_body_id_enc(&body, id);
    int rc = s_request(c, kind, &body, f, fbuf, e);
    msgpack_sbuffer_destroy(&body);
    return rc;
}

/* A RESULT [id, u64] naming the id asked about, with a number that is not 0 (`what` names it in
 * the error: "closing time"): 0 with *v, or -1 with e set. */
static int s_result_id_u64(const zn_frame *f, const char *kind, const uint8_t id[ZN_ID_LEN], const char *what,
                           uint64_t *v, zn_err *e)
{
    const msgpack_object *a = s_result_id(f, kind, 2, id, e);
    if (!a)
        return -1;
    if (zn_obj_u64(&a[1], v) != 0 || *v == 0)
        return zn_err_set(e, ZN_E_VERIFY, "the broker's answer to %s names no %s", kind, what);
    return 0;
}

/* One row of a list answer (the answer stays alive during the call): 0 to go on, -1 (e set)
 * to stop. */
typedef int (*s_row_fn)(void *ctx, const msgpack_object *row, zn_err *e);

/* Send the list request `kind` with `body` (asking from offset), check its RESULT [total, [row
 * ...]] and hand each row to fn. *n: the rows of this page (0 on failure). */
static int s_rows_request(zn_client *c, const char *kind, msgpack_sbuffer *body, uint64_t offset, s_row_fn fn,
                          void *ctx, uint32_t *n, uint64_t *total, zn_err *e)
{
    *n = 0;
    *total = 0;
    zn_frame f;
    uint8_t *fbuf = NULL;
    if (s_request(c, kind, body, &f, &fbuf, e) != 0)
        return -1;
    uint32_t got = 0;
    const msgpack_object *rows = s_result_rows(&f, kind, offset, total, &got, e);
    int rc = rows ? 0 : -1;
    for (uint32_t i = 0; i < got && rc == 0; i++)
        rc = fn(ctx, &rows[i], e);
    s_done(&f, fbuf);
    if (rc == 0)
        *n = got;
    return rc;
}

/* Open a sealed field for this client into text (cap bytes); "" when it is not a reader, the
 * field is nil, or it does not open (an unreadable text is shown as not opened, not as an
 * error of the whole answer). Returns true when opened. */
static bool s_open(const zn_client *c, const uint8_t *enc, size_t len, char *text, size_t cap)
{
    zn_err ignored;
    return zn_client_open_sealed(c, enc, len, text, cap, &ignored) == 1;
}

static void s_handover_info(const zn_client *c, const zn_handover_row *r, zn_handover_info *out)
{
    memset(out, 0, sizeof *out);
    memcpy(out->handover_id, r->id, ZN_ID_LEN);
    memcpy(out->case_id, r->case_id, ZN_ID_LEN);
    zn_text_copy(out->from, sizeof out->from, r->from);
    zn_text_copy(out->handler, sizeof out->handler, r->handler);
    zn_text_copy(out->to, sizeof out->to, r->to);
    memcpy(out->msgid, r->msgid, ZN_ID_LEN);
    out->offered_ms = r->offered_ms;
    out->timeout_ms = r->timeout_ms;
    zn_text_copy(out->state, sizeof out->state, zn_handover_state_name(r->state));
    out->decided_ms = r->decided_ms;
    out->escalated = r->escalated;
    s_open(c, r->reason, r->reason_len, out->reason, sizeof out->reason);
}

static void s_override_info(const zn_client *c, const zn_override_row *r, zn_override_info *out)
{
    memset(out, 0, sizeof *out);
    memcpy(out->override_id, r->id, ZN_ID_LEN);
    memcpy(out->case_id, r->case_id, ZN_ID_LEN);
    zn_text_copy(out->network, sizeof out->network, r->network);
    zn_text_copy(out->from, sizeof out->from, r->from);
    zn_text_copy(out->handler, sizeof out->handler, r->handler);
    zn_text_copy(out->to, sizeof out->to, r->to);
    out->step = (unsigned)r->step;
    out->created_ms = r->created_ms;
    out->expires_ms = r->expires_ms;
    out->review_by_ms = r->review_by_ms;
    zn_text_copy(out->state, sizeof out->state, zn_override_state_name(r->state));
    zn_text_copy(out->reviewed_by, sizeof out->reviewed_by, r->reviewed_by);
    out->reviewed_ms = r->reviewed_ms;
    out->escalated = r->escalated;
    s_open(c, r->justification, r->justification_len, out->justification, sizeof out->justification);
    out->has_note = r->note != NULL;
    s_open(c, r->note, r->note_len, out->note, sizeof out->note);
}

/* ------------------------------------------------------------------ cases */

/* This client may open cases in `network` under the convenant now in use. */
static int s_check_case_role(const zn_client *c, const char *network, zn_err *e)
{
    const zn_convenant *conv = zn_client_convenant(c);
    int net = zn_ident_valid(network) ? zn_convenant_network(conv, network) : -1;
    if (net < 0)
        return zn_err_set(e, ZN_E_UNKNOWN_NETWORK,
                          "no network '%.63s' is in convenant version %llu; 'zorgnet partners' lists the "
                          "networks",
                          zn_shown_name(network), (unsigned long long)conv->version);
    const zn_partner *self = zn_convenant_partner(conv, zn_client_self(c));
    if (!self || !zn_partner_has_role(self, net, ZN_ROLE_PARTNER))
        return zn_err_set(e, ZN_E_NOT_PARTNER,
                          "'%s' does not hold the partner role in network '%s'; only partners there may "
                          "open cases",
                          zn_client_self(c) ? zn_client_self(c) : "?", network);
    return 0;
}

int zn_client_case_new_ex(zn_client *c, const zn_case_opts *o, uint8_t case_id[ZN_CLIENT_ID_LEN], zn_err *e)
{
    if (!c || !o || !case_id)
        return zn_err_set(e, ZN_E_USAGE, "case new needs a client, options and room for the case id");
    if (zn_client_need_actor(c, e) != 0)
        return -1;
    if (!o->network || !*o->network)
        return zn_err_set(e, ZN_E_USAGE, "case new needs a network");
    if (!o->bsn && o->n_related > 0)
        return zn_err_set(e, ZN_E_USAGE,
                          "related BSNs go only with the person's BSN (--bsn); nothing was sent");
    if (o->bsn && zn_client_check_bsns(o->bsn, "the person's BSN", o->related, o->n_related, e) != 0)
        return -1;
    /* checked before asking the broker, and again if connecting replaced the convenant */
    if (s_check_case_role(c, o->network, e) != 0 || zn_client_ensure_connected(c, e) != 0 ||
        s_check_case_role(c, o->network, e) != 0)
        return -1;

    zn_case_new_body b;
    memset(&b, 0, sizeof b);
    randombytes_buf(b.id, sizeof b.id);
    zn_text_copy(b.network, sizeof b.network, o->network);
    if (o->bsn) {
        b.identified = true;
        b.n_related = (uint32_t)o->n_related;
        if (zn_client_pseudonyms(c, o->bsn, o->related, o->n_related, b.person, b.related, e) != 0) {
            sodium_memzero(&b, sizeof b);
            return -1;
        }
    }
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    int rc = zn_body_case_new_enc(&body, &b);
    uint8_t id[ZN_ID_LEN];
    memcpy(id, b.id, ZN_ID_LEN);
    sodium_memzero(&b, sizeof b);
    if (rc != 0) {
        msgpack_sbuffer_destroy(&body);
        return zn_err_set(e, ZN_E_INTERNAL, "the case-new request could not be encoded; nothing was sent");
    }
    zn_frame f;
    uint8_t *fbuf = NULL;
    rc = s_request(c, "case-new", &body, &f, &fbuf, e);
    msgpack_sbuffer_destroy(&body);
    if (rc != 0)
        return -1;
    const msgpack_object *a = s_result_id(&f, "case-new", 1, id, e);
    s_done(&f, fbuf);
    if (!a)
        return zn_err_prefix(e, "the case may not exist");
    memcpy(case_id, id, ZN_ID_LEN);
    return 0;
}

/* The case view into *out (sealed fields opened for this client). */
static void s_case_info(const zn_client *c, const zn_case_view *v, zn_case_info *out)
{
    memcpy(out->case_id, v->id, ZN_ID_LEN);
    zn_text_copy(out->network, sizeof out->network, v->network);
    zn_text_copy(out->regisseur, sizeof out->regisseur, v->regisseur);
    out->created_ms = v->created_ms;
    out->closed_ms = v->closed_ms;
    out->identified = v->identified;
    out->n_members = v->n_members;
    for (size_t i = 0; i < v->n_members; i++) {
        zn_text_copy(out->members[i].partner, sizeof out->members[i].partner, v->members[i].partner);
        zn_text_copy(out->members[i].how, sizeof out->members[i].how, v->members[i].how);
        out->members[i].since_ms = v->members[i].since_ms;
    }
    out->consent_seq = v->consent_seq;
    zn_text_copy(out->consent_state, sizeof out->consent_state, zn_consent_state_name(v->consent.state));
    out->n_scope = v->consent.n_scope;
    for (size_t i = 0; i < v->consent.n_scope; i++)
        zn_text_copy(out->scope[i], sizeof out->scope[i], v->consent.scope[i]);
    out->consent_until_ms = v->consent.until_ms;
    out->consent_at_ms = v->consent_at_ms;
    out->n_handovers = v->n_handovers;
    for (size_t i = 0; i < v->n_handovers; i++)
        s_handover_info(c, &v->handovers[i], &out->handovers[i]);
    out->n_overrides = v->n_overrides;
    for (size_t i = 0; i < v->n_overrides; i++)
        s_override_info(c, &v->overrides[i], &out->overrides[i]);
}

int zn_client_case_show(zn_client *c, const uint8_t case_id[ZN_CLIENT_ID_LEN], zn_case_info *out, zn_err *e)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!c || !case_id || !out)
        return zn_err_set(e, ZN_E_USAGE, "case show needs a client, a case id and room for the case");
    zn_frame f;
    uint8_t *fbuf = NULL;
    if (s_id_request(c, "case-show", case_id, &f, &fbuf, e) != 0)
        return -1;
    int rc = 0;
    zn_case_view *v = malloc(sizeof *v);
    zn_err pe;
    zn_err_clear(&pe);
    if (!v)
        rc = zn_err_set(e, ZN_E_INTERNAL, "out of memory");
    else if (zn_case_view_dec(f.u.result.body, v, &pe) != 0)
        rc = s_bad_answer("case-show", &pe, e);
    else if (sodium_memcmp(v->id, case_id, ZN_ID_LEN) != 0)
        rc = zn_err_set(e, ZN_E_VERIFY, "the broker answered case-show with another case than the one asked");
    else
        s_case_info(c, v, out);
    free(v);
    s_done(&f, fbuf);
    if (rc != 0)
        memset(out, 0, sizeof *out);
    return rc;
}

/* "PREFIX: TEXT" in e (its code kept), the text cut at a word and ended in "..." when the whole
 * would not fit, so the sentence is never cut off unseen. */
static void s_prefix_fit(zn_err *e, const char *prefix)
{
    if (!e)
        return;
    char text[ZN_ERR_TEXT_MAX];
    zn_text_copy(text, sizeof text, e->text);
    size_t plen = strlen(prefix), n = strlen(text);
    size_t room = plen + 2 + 4 < ZN_ERR_TEXT_MAX ? ZN_ERR_TEXT_MAX - 1 - plen - 2 : 4;
    if (n > room) {
        size_t cut = room - 3;
        while (cut > room / 2 && text[cut] != ' ')
            cut--;
        if (text[cut] != ' ')
            cut = room - 3;
        memcpy(text + cut, "...", 4);
    }
    zn_err_set(e, e->code, "%s: %s", prefix, text);
}

zn_case_info *zn_client_case_probe(zn_client *c, const uint8_t case_id[ZN_CLIENT_ID_LEN], const char *act,
                                   const char *unread, const char *closed_why, zn_err *e)
{
    zn_case_info *info = malloc(sizeof *info);
    if (!info) {
        zn_err_set(e, ZN_E_INTERNAL, "out of memory; nothing was sent");
        return NULL;
    }
    int rc = zn_client_case_show(c, case_id, info, e);
    zn_code code = e ? e->code : ZN_E_INTERNAL;
    if (rc != 0 && code == ZN_E_NOT_MEMBER) {
        zn_err_set(e, code,
                   "%s is not a member of this case and may not %s, so nothing was sent; members are its "
                   "regisseur, partners that held it or received a message on it, and those consent or an "
                   "override admits",
                   zn_client_self(c) ? zn_client_self(c) : "this partner", act);
    } else if (rc != 0 && code == ZN_E_UNKNOWN_CASE) {
        zn_err_set(e, code, "no case with this id exists, so nothing was sent; check the id ('zorgnet case new' "
                            "printed it)");
    } else if (rc != 0) {
        char prefix[96];
        snprintf(prefix, sizeof prefix, "nothing was sent (%s)", unread);
        s_prefix_fit(e, prefix);
    } else if (closed_why && info->closed_ms) {
        rc = zn_err_set(e, ZN_E_CASE_CLOSED, "the case is closed; %s; nothing was sent", closed_why);
    }
    if (rc != 0) {
        free(info);
        return NULL;
    }
    return info;
}

int zn_client_case_close(zn_client *c, const uint8_t case_id[ZN_CLIENT_ID_LEN], uint64_t *closed_ms, zn_err *e)
{
    if (closed_ms)
        *closed_ms = 0;
    if (!c || !case_id)
        return zn_err_set(e, ZN_E_USAGE, "case close needs a client and a case id");
    zn_frame f;
    uint8_t *fbuf = NULL;
    if (s_id_request(c, "case-close", case_id, &f, &fbuf, e) != 0)
        return -1;
    uint64_t when = 0;
    int rc = s_result_id_u64(&f, "case-close", case_id, "closing time", &when, e);
    s_done(&f, fbuf);
    if (rc == 0 && closed_ms)
        *closed_ms = when;
    return rc;
}

int zn_client_case_link(zn_client *c, const uint8_t case_id[ZN_CLIENT_ID_LEN], const char *bsn,
                        const char *const *related, size_t n_related, char (*told)[ZN_CLIENT_IDENT_MAX],
                        size_t max_told, size_t *n_told, zn_err *e)
{
    if (n_told)
        *n_told = 0;
    if (!c || !case_id || !bsn || (max_told > 0 && !told))
        return zn_err_set(e, ZN_E_USAGE, "case link needs a client, a case id and the person's BSN");
    if (zn_client_need_actor(c, e) != 0 ||
        zn_client_check_bsns(bsn, "the person's BSN", related, n_related, e) != 0)
        return -1;
    if (zn_client_ensure_connected(c, e) != 0) /* the network key of the convenant in use */
        return -1;
    zn_case_link_body b;
    memset(&b, 0, sizeof b);
    memcpy(b.case_id, case_id, ZN_ID_LEN);
    b.n_related = (uint32_t)n_related;
    if (zn_client_pseudonyms(c, bsn, related, n_related, b.person, b.related, e) != 0) {
        sodium_memzero(&b, sizeof b);
        return -1;
    }
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    zn_body_case_link_enc(&body, &b);
    sodium_memzero(&b, sizeof b);
    zn_frame f;
    uint8_t *fbuf = NULL;
    int rc = s_request(c, "case-link", &body, &f, &fbuf, e);
    msgpack_sbuffer_destroy(&body);
    if (rc != 0)
        return -1;
    const msgpack_object *a = s_result_id(&f, "case-link", 2, case_id, e);
    size_t k = 0;
    if (!a) {
        rc = -1;
    } else if (a[1].type != MSGPACK_OBJECT_ARRAY || a[1].via.array.size > ZN_MAX_PARTNERS) {
        rc = zn_err_set(e, ZN_E_VERIFY, "the broker's answer to case-link does not list who was told");
    } else {
        for (uint32_t i = 0; i < a[1].via.array.size && rc == 0; i++) {
            char id[ZN_IDENT_MAX];
            if (zn_obj_ident(&a[1].via.array.ptr[i], id, sizeof id) != 0)
                rc = zn_err_set(e, ZN_E_VERIFY, "the broker's answer to case-link names a partner that is no id");
            else if (k < max_told)
                zn_text_copy(told[k++], ZN_CLIENT_IDENT_MAX, id);
        }
    }
    s_done(&f, fbuf);
    if (rc == 0 && n_told)
        *n_told = k;
    return rc;
}

/* ------------------------------------------------------------------ consent */

static int s_id_cmp(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* The options as a consent record (scope sorted), checked by the rules of zn_consent_check and
 * against the convenant now in use. */
static int s_consent_from_opts(const zn_client *c, const zn_consent_opts *o, uint64_t now, zn_consent *out,
                               zn_err *e)
{
    memset(out, 0, sizeof *out);
    if (!o->state || zn_consent_state_parse(o->state, &out->state) != 0 || out->state == ZN_CONSENT_NONE)
        return zn_err_set(e, ZN_E_USAGE,
                          "the consent's state is requested, granted, refused or withdrawn; nothing was sent");
    if (o->n_scope > ZN_CLIENT_SCOPE_MAX)
        return zn_err_set(e, ZN_E_USAGE, "a consent's scope names at most %d partners; nothing was sent",
                          ZN_CLIENT_SCOPE_MAX);
    if (o->n_scope > 0 && !o->scope)
        return zn_err_set(e, ZN_E_USAGE, "the scope's partners are missing; nothing was sent");
    for (size_t i = 0; i < o->n_scope; i++) {
        if (s_check_partner(c, o->scope[i], "the scope's partner", e) != 0)
            return -1;
        zn_text_copy(out->scope[i], ZN_IDENT_MAX, o->scope[i]);
    }
    out->n_scope = o->n_scope;
    qsort(out->scope, out->n_scope, sizeof out->scope[0], s_id_cmp);
    for (size_t i = 1; i < out->n_scope; i++)
        if (strcmp(out->scope[i - 1], out->scope[i]) == 0)
            return zn_err_set(e, ZN_E_USAGE, "partner '%s' is named twice in the scope; nothing was sent",
                              out->scope[i]);
    if (o->given_by && *o->given_by && zn_given_parse(o->given_by, &out->given_by) != 0)
        return zn_err_set(e, ZN_E_USAGE,
                          "who gave consent is client, parent, guardian or representative, separated by "
                          "commas, each once (such as client,parent); nothing was sent");
    if (o->age_band && *o->age_band && zn_age_band_parse(o->age_band, &out->age_band) != 0)
        return zn_err_set(e, ZN_E_USAGE, "the age band is 0-11, 12-15 or 16+; nothing was sent");
    out->until_ms = o->until_ms;
    if (zn_consent_check(out, now, e) != 0) {
        size_t n = strlen(e ? e->text : "");
        if (e && n + 24 < sizeof e->text && !strstr(e->text, "nothing was sent"))
            snprintf(e->text + n, sizeof e->text - n, "; nothing was sent");
        return -1;
    }
    return 0;
}

int zn_client_consent_set(zn_client *c, const uint8_t case_id[ZN_CLIENT_ID_LEN], const zn_consent_opts *o,
                          uint64_t *seq, zn_err *e)
{
    if (seq)
        *seq = 0;
    if (!c || !case_id || !o)
        return zn_err_set(e, ZN_E_USAGE, "consent set needs a client, a case id and the consent");
    if (zn_client_need_actor(c, e) != 0)
        return -1;
    const char *purpose = o->purpose && *o->purpose ? o->purpose : NULL;
    size_t plen = purpose ? strlen(purpose) : 0;
    zn_consent cs;
    if (s_consent_from_opts(c, o, zn_client_now_ms(), &cs, e) != 0 ||
        (purpose && s_check_text(purpose, plen, "the purpose", e) != 0))
        return -1;
    /* checked again if connecting brought a newer convenant (the scope's partners, the readers) */
    if (zn_client_ensure_connected(c, e) != 0 || s_consent_from_opts(c, o, zn_client_now_ms(), &cs, e) != 0)
        return -1;
    msgpack_sbuffer sealed, body;
    msgpack_sbuffer_init(&sealed);
    msgpack_sbuffer_init(&body);
    int rc = purpose ? s_seal(c, ZN_READ_AUDITORS, -1, NULL, purpose, plen, &sealed, e) : 0;
    zn_frame f;
    uint8_t *fbuf = NULL;
    if (rc == 0) {
        zn_body_consent_set_enc(&body, case_id, &cs, purpose ? (const uint8_t *)sealed.data : NULL,
                                purpose ? sealed.size : 0);
        rc = s_request(c, "consent-set", &body, &f, &fbuf, e);
    }
    msgpack_sbuffer_destroy(&sealed);
    msgpack_sbuffer_destroy(&body);
    if (rc != 0)
        return -1;
    uint64_t got = 0;
    rc = s_result_id_u64(&f, "consent-set", case_id, "record number", &got, e);
    s_done(&f, fbuf);
    if (rc == 0 && seq)
        *seq = got;
    return rc;
}

static void s_consent_info(const zn_client *c, const zn_consent_row *r, zn_consent_info *out)
{
    memset(out, 0, sizeof *out);
    out->seq = r->seq;
    zn_text_copy(out->state, sizeof out->state, zn_consent_state_name(r->c.state));
    out->n_scope = r->c.n_scope;
    for (size_t i = 0; i < r->c.n_scope; i++)
        zn_text_copy(out->scope[i], sizeof out->scope[i], r->c.scope[i]);
    zn_given_format(r->c.given_by, out->given_by, sizeof out->given_by);
    zn_text_copy(out->age_band, sizeof out->age_band, zn_age_band_name(r->c.age_band));
    out->until_ms = r->c.until_ms;
    out->at_ms = r->at_ms;
    zn_text_copy(out->handler, sizeof out->handler, r->handler);
    out->has_purpose = r->purpose != NULL;
    s_open(c, r->purpose, r->purpose_len, out->purpose, sizeof out->purpose);
}

int zn_client_consent_show(zn_client *c, const uint8_t case_id[ZN_CLIENT_ID_LEN], zn_consent_info *out,
                           size_t max, size_t *n, zn_err *e)
{
    if (n)
        *n = 0;
    if (!c || !case_id || !n || (max > 0 && !out))
        return zn_err_set(e, ZN_E_USAGE, "consent show needs a client, a case id and room for the history");
    zn_frame f;
    uint8_t *fbuf = NULL;
    if (s_id_request(c, "consent-show", case_id, &f, &fbuf, e) != 0)
        return -1;
    int rc = 0;
    const msgpack_object *a = s_result_id(&f, "consent-show", 2, case_id, e);
    size_t k = 0;
    if (!a) {
        rc = -1;
    } else if (a[1].type != MSGPACK_OBJECT_ARRAY || a[1].via.array.size > ZN_CASE_PAGE) {
        rc = zn_err_set(e, ZN_E_VERIFY, "the broker's answer to consent-show holds no list of records");
    } else {
        uint64_t last = 0;
        for (uint32_t i = 0; i < a[1].via.array.size && rc == 0; i++) {
            zn_consent_row r;
            zn_err pe;
            zn_err_clear(&pe);
            if (zn_consent_row_dec(&a[1].via.array.ptr[i], &r, &pe) != 0)
                rc = s_bad_answer("consent-show", &pe, e);
            else if (r.seq <= last)
                rc = zn_err_set(e, ZN_E_VERIFY, "the broker listed the consent records of the case out of order");
            else if (k < max)
                s_consent_info(c, &r, &out[k++]);
            last = r.seq;
        }
    }
    s_done(&f, fbuf);
    if (rc == 0)
        *n = k;
    return rc;
}

/* ------------------------------------------------------------------ lists of overrides and handovers */

/* A walk over the pages of override-list or (of_handovers) handover-list: with id NULL the
 * rows are collected for the caller (into overrides or handovers, at most max), else the one
 * with that id is looked for. */
typedef struct {
    const zn_client *c;
    bool of_handovers;
    bool all; /* override-list: every override, not only those waiting for review */
    zn_override_info *overrides;
    zn_handover_info *handovers;
    size_t max, k;
    const uint8_t *id;
    bool found;
    char from[ZN_IDENT_MAX];    /* the one found: its author */
    char network[ZN_IDENT_MAX]; /* and (an override) its network */
} s_walk;

/* A row with this id: noted when it is the one looked for. true: collect it (there is room). */
static bool s_walk_take(s_walk *w, const uint8_t id[ZN_ID_LEN], const char *from, const char *network)
{
    if (!w->id)
        return w->k < w->max;
    if (!w->found && sodium_memcmp(id, w->id, ZN_ID_LEN) == 0) {
        w->found = true;
        zn_text_copy(w->from, sizeof w->from, from);
        zn_text_copy(w->network, sizeof w->network, network);
    }
    return false;
}

/* s_row_fn of the walk: one override or handover row. */
static int s_walk_row(void *ctx, const msgpack_object *row, zn_err *e)
{
    s_walk *w = ctx;
    zn_err pe;
    zn_err_clear(&pe);
    if (w->of_handovers) {
        zn_handover_row r;
        if (zn_handover_row_dec(row, &r, &pe) != 0)
            return s_bad_answer("handover-list", &pe, e);
        if (s_walk_take(w, r.id, r.from, NULL))
            s_handover_info(w->c, &r, &w->handovers[w->k++]);
    } else {
        zn_override_row r;
        if (zn_override_row_dec(row, &r, &pe) != 0)
            return s_bad_answer("override-list", &pe, e);
        if (s_walk_take(w, r.id, r.from, r.network))
            s_override_info(w->c, &r, &w->overrides[w->k++]);
    }
    return 0;
}

/* One page of the walk's list from offset. */
static int s_walk_page(zn_client *c, s_walk *w, uint64_t offset, uint32_t *n, uint64_t *total, zn_err *e)
{
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    if (w->of_handovers)
        zn_body_offset_enc(&body, offset);
    else
        zn_body_override_list_enc(&body, w->all, offset);
    int rc = s_rows_request(c, w->of_handovers ? "handover-list" : "override-list", &body, offset, s_walk_row, w, n,
                            total, e);
    msgpack_sbuffer_destroy(&body);
    return rc;
}

/* Walk the list from its start until the id is found or the list ends. */
static int s_walk_find(zn_client *c, s_walk *w, zn_err *e)
{
    uint64_t offset = 0, total = 0;
    for (unsigned pages = 0; !w->found; pages++) {
        uint32_t got = 0;
        if (pages == S_FIND_PAGES_MAX)
            return zn_err_set(e, ZN_E_VERIFY, "the broker's list of %s never ended",
                              w->of_handovers ? "handovers" : "overrides");
        if (s_walk_page(c, w, offset, &got, &total, e) != 0)
            return -1;
        offset += got;
        if (got == 0 || offset >= total)
            break;
    }
    return 0;
}

/* The list calls: *n and *total zeroed, the arguments checked (`what` names the call in the
 * error; out is the walk's room), one page from offset collected. */
static int s_walk_list(zn_client *c, s_walk *w, const void *out, uint64_t offset, size_t *n, uint64_t *total,
                       const char *what, zn_err *e)
{
    if (n)
        *n = 0;
    if (total)
        *total = 0;
    if (!c || !n || !total || (w->max > 0 && !out))
        return zn_err_set(e, ZN_E_USAGE, "%s needs a client and room for the result", what);
    if (zn_client_need_actor(c, e) != 0)
        return -1;
    uint32_t got = 0;
    if (s_walk_page(c, w, offset, &got, total, e) != 0) {
        *total = 0;
        return -1;
    }
    *n = w->k;
    return 0;
}

/* ------------------------------------------------------------------ safety overrides */

int zn_client_override(zn_client *c, const uint8_t case_id[ZN_CLIENT_ID_LEN], const char *to, unsigned step,
                       const char *justification, uint8_t override_id[ZN_CLIENT_ID_LEN], uint64_t *expires_ms,
                       uint64_t *review_by_ms, zn_err *e)
{
    if (expires_ms)
        *expires_ms = 0;
    if (review_by_ms)
        *review_by_ms = 0;
    if (!c || !case_id)
        return zn_err_set(e, ZN_E_USAGE, "an override needs a client and a case id");
    if (zn_client_need_actor(c, e) != 0 || s_check_partner(c, to, "the recipient", e) != 0)
        return -1;
    if (strcmp(to, zn_client_self(c)) == 0)
        return zn_err_set(e, ZN_E_USAGE, "a safety override is for another partner, not for '%s' itself; "
                                         "nothing was sent", to);
    if (step < 1 || step > ZN_MELDCODE_STEPS)
        return zn_err_set(e, ZN_E_USAGE, "the meldcode step is 1 to %d; nothing was sent", ZN_MELDCODE_STEPS);
    if (!justification)
        return zn_err_set(e, ZN_E_USAGE, "an override needs a justification; nothing was sent");
    size_t start = 0, len = zn_text_trim(justification, strlen(justification), &start);
    const char *text = justification + start;
    if (s_check_text(text, len, "the justification", e) != 0)
        return -1;
    size_t chars = zn_utf8_chars(text, len);
    if (chars < ZN_CLIENT_JUSTIFICATION_MIN)
        return zn_err_set(e, ZN_E_USAGE,
                          "the justification has %zu characters; at least %d are needed: say why the "
                          "child's safety requires sharing without consent; nothing was sent",
                          chars, ZN_CLIENT_JUSTIFICATION_MIN);

    /* the case's network names the coordinators who read the justification */
    zn_case_info *info = zn_client_case_probe(c, case_id, "record a safety override on it",
                                              "the case could not be read", "an override on it has no use", e);
    if (!info)
        return -1;
    int rc = 0, net = -1;
    if (!info->identified)
        rc = zn_err_set(e, ZN_E_CASE_ANONYMOUS,
                        "the case is anonymous: it needs no safety override (discuss it anonymously, or "
                        "link the person with 'zorgnet case link'); nothing was sent");
    else if ((net = zn_convenant_network(zn_client_convenant(c), info->network)) < 0)
        rc = zn_err_set(e, ZN_E_UNKNOWN_NETWORK, "the case's network '%s' is not in convenant version %llu",
                        info->network, (unsigned long long)zn_client_convenant_version(c));
    free(info);
    if (rc != 0 || s_check_partner(c, to, "the recipient", e) != 0)
        return -1;

    zn_override_new_body b;
    memset(&b, 0, sizeof b);
    randombytes_buf(b.id, sizeof b.id);
    memcpy(b.case_id, case_id, ZN_ID_LEN);
    zn_text_copy(b.to, sizeof b.to, to);
    b.step = step;
    msgpack_sbuffer sealed, body;
    msgpack_sbuffer_init(&sealed);
    msgpack_sbuffer_init(&body);
    zn_frame f;
    uint8_t *fbuf = NULL;
    rc = s_seal(c, ZN_READ_COORDINATORS | ZN_READ_AUDITORS, net, NULL, text, len, &sealed, e);
    if (rc == 0) {
        zn_body_override_new_enc(&body, &b, (const uint8_t *)sealed.data, sealed.size);
        rc = s_request(c, "override-new", &body, &f, &fbuf, e);
    }
    msgpack_sbuffer_destroy(&sealed);
    msgpack_sbuffer_destroy(&body);
    if (rc != 0)
        return -1;
    uint64_t exp = 0, rev = 0;
    const msgpack_object *a = s_result_id(&f, "override-new", 3, b.id, e);
    if (!a)
        rc = -1;
    else if (zn_obj_u64(&a[1], &exp) != 0 || zn_obj_u64(&a[2], &rev) != 0 || exp == 0 || rev == 0)
        rc = zn_err_set(e, ZN_E_VERIFY, "the broker's answer to override-new names no expiry or review time");
    s_done(&f, fbuf);
    if (rc != 0)
        return -1;
    if (override_id)
        memcpy(override_id, b.id, ZN_ID_LEN);
    if (expires_ms)
        *expires_ms = exp;
    if (review_by_ms)
        *review_by_ms = rev;
    return 0;
}

int zn_client_override_list(zn_client *c, bool all, uint64_t offset, zn_override_info *out, size_t max, size_t *n,
                            uint64_t *total, zn_err *e)
{
    s_walk w = {.c = c, .all = all, .overrides = out, .max = max};
    return s_walk_list(c, &w, out, offset, n, total, "override list", e);
}

int zn_client_override_review(zn_client *c, const uint8_t override_id[ZN_CLIENT_ID_LEN], bool approve,
                              const char *note, zn_err *e)
{
    if (!c || !override_id)
        return zn_err_set(e, ZN_E_USAGE, "override review needs a client and an override id");
    if (zn_client_need_actor(c, e) != 0)
        return -1;
    const zn_partner *self = zn_convenant_partner(zn_client_convenant(c), zn_client_self(c));
    if (!zn_partner_is_coordinator(self))
        return zn_err_set(e, ZN_E_NOT_COORDINATOR,
                          "'%s' is no coordinator in the convenant; only the coordinators of the case's "
                          "network review a safety override; nothing was sent",
                          zn_client_self(c));
    const char *text = NULL;
    size_t len = 0;
    if (note && *note) {
        size_t start = 0;
        len = zn_text_trim(note, strlen(note), &start);
        text = note + start;
        if (s_check_text(text, len, "the note", e) != 0)
            return -1;
    }
    msgpack_sbuffer sealed, body;
    msgpack_sbuffer_init(&sealed);
    msgpack_sbuffer_init(&body);
    int rc = 0;
    if (text) {
        /* the note's readers: the override's author, the coordinators of its network, the
         * auditors; the override is looked for among those waiting for review first, then all */
        s_walk x = {.c = c, .id = override_id};
        for (int pass = 0; pass < 2 && rc == 0 && !x.found; pass++) {
            x.all = pass == 1;
            rc = s_walk_find(c, &x, e);
        }
        if (rc == 0 && !x.found)
            rc = zn_err_set(e, ZN_E_UNKNOWN_OVERRIDE,
                            "no safety override with this id is open to you ('zorgnet override list --all' "
                            "shows them); nothing was sent");
        int net = rc == 0 ? zn_convenant_network(zn_client_convenant(c), x.network) : -1;
        if (rc == 0 && net < 0)
            rc = zn_err_set(e, ZN_E_UNKNOWN_NETWORK, "the override's network '%s' is not in convenant version %llu",
                            x.network, (unsigned long long)zn_client_convenant_version(c));
        if (rc == 0)
            rc = s_seal(c, ZN_READ_PARTNER | ZN_READ_COORDINATORS | ZN_READ_AUDITORS, net, x.from, text, len,
                        &sealed, e);
    }
    zn_frame f;
    uint8_t *fbuf = NULL;
    if (rc == 0) {
        zn_body_override_review_enc(&body, override_id, approve, text ? (const uint8_t *)sealed.data : NULL,
                                    text ? sealed.size : 0);
        rc = s_request(c, "override-review", &body, &f, &fbuf, e);
    }
    msgpack_sbuffer_destroy(&sealed);
    msgpack_sbuffer_destroy(&body);
    if (rc != 0)
        return -1;
    char state[16];
    const msgpack_object *a = s_result_id(&f, "override-review", 2, override_id, e);
    if (!a)
        rc = -1;
    else if (zn_obj_text(&a[1], state, sizeof state) != 0 ||
             strcmp(state, approve ? "approved" : "rejected") != 0)
        rc = zn_err_set(e, ZN_E_VERIFY, "the broker's answer to override-review names another state than the "
                                        "one asked");
    s_done(&f, fbuf);
    return rc;
}

/* ------------------------------------------------------------------ warm handovers */

int zn_client_handover_offer(zn_client *c, const uint8_t case_id[ZN_CLIENT_ID_LEN], const char *to,
                             const void *dossier, size_t len, unsigned flags, uint8_t handover_id[ZN_CLIENT_ID_LEN],
                             uint64_t *timeout_ms, zn_err *e)
{
    if (timeout_ms)
        *timeout_ms = 0;
    if (!c || !case_id || (!dossier && len))
        return zn_err_set(e, ZN_E_USAGE, "a handover needs a client, a case id and a dossier");
    if (zn_client_need_actor(c, e) != 0 || s_check_partner(c, to, "the recipient", e) != 0)
        return -1;
    if (strcmp(to, zn_client_self(c)) == 0)
        return zn_err_set(e, ZN_E_USAGE, "a case is handed over to another partner, not to '%s' itself; "
                                         "nothing was sent", to);
    if (len == 0)
        return zn_err_set(e, ZN_E_USAGE, "the dossier is empty; nothing was sent");
    if (len > ZN_CLIENT_CONTENT_MAX)
        return zn_err_set(e, ZN_E_TOO_LARGE, "the dossier is %zu bytes; at most %u fit in one message; nothing "
                                             "was sent", len, ZN_CLIENT_CONTENT_MAX);

    /* what the broker would refuse anyway is said before the dossier goes out */
    zn_case_info *info =
        zn_client_case_probe(c, case_id, "hand it over", "the case could not be read", "it cannot be handed over", e);
    if (!info)
        return -1;
    int rc = 0, anonymous = !info->identified;
    if (strcmp(info->regisseur, zn_client_self(c)) != 0)
        rc = zn_err_set(e, ZN_E_NOT_REGISSEUR,
                        "only the case's regisseur ('%s') may hand it over; nothing was sent", info->regisseur);
    else if (info->n_handovers > 0)
        rc = zn_err_set(e, ZN_E_HANDOVER_OPEN,
                        "the case has an open handover to '%s'; wait for its answer; nothing was sent",
                        info->handovers[0].to);
    free(info);
    if (rc != 0)
        return -1;

    uint8_t msgid[ZN_ID_LEN] = {0};
    /* the dossier is a message like any other: on an anonymous case it is scanned for identifiers
     * (the case was just read, so its mode is known); a refusal keeps the broker's sentence whole
     * (it is the whole story: nothing was offered) */
    if (zn_client_send_mode(c, to, case_id, dossier, len, flags, anonymous, msgid, NULL, e) != 0)
        return -1;

    zn_handover_offer_body b;
    memset(&b, 0, sizeof b);
    randombytes_buf(b.id, sizeof b.id);
    memcpy(b.case_id, case_id, ZN_ID_LEN);
    zn_text_copy(b.to, sizeof b.to, to);
    memcpy(b.msgid, msgid, ZN_ID_LEN);
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    zn_body_handover_offer_enc(&body, &b);
    zn_frame f;
    uint8_t *fbuf = NULL;
    rc = s_request(c, "handover-offer", &body, &f, &fbuf, e);
    msgpack_sbuffer_destroy(&body);
    if (rc != 0) {
        char hex[2 * ZN_ID_LEN + 1], why[ZN_ERR_TEXT_MAX];
        zn_hex(hex, msgid, ZN_ID_LEN);
        zn_text_copy(why, sizeof why, e ? e->text : "");
        return zn_err_set(e, e ? e->code : ZN_E_INTERNAL,
                          "the dossier was delivered to %s as message %s, but the handover offer failed: %.150s",
                          to, hex, why);
    }
    uint64_t tmo = 0;
    rc = s_result_id_u64(&f, "handover-offer", b.id, "time-out", &tmo, e);
    s_done(&f, fbuf);
    if (rc != 0)
        return -1;
    if (handover_id)
        memcpy(handover_id, b.id, ZN_ID_LEN);
    if (timeout_ms)
        *timeout_ms = tmo;
    return 0;
}

int zn_client_handover_accept(zn_client *c, const uint8_t handover_id[ZN_CLIENT_ID_LEN], zn_err *e)
{
    if (!c || !handover_id)
        return zn_err_set(e, ZN_E_USAGE, "handover accept needs a client and a handover id");
    zn_frame f;
    uint8_t *fbuf = NULL;
    if (s_id_request(c, "handover-accept", handover_id, &f, &fbuf, e) != 0)
        return -1;
    int rc = 0;
    uint8_t case_id[ZN_ID_LEN];
    const msgpack_object *a = s_result_id(&f, "handover-accept", 2, handover_id, e);
    if (!a)
        rc = -1;
    else if (zn_obj_bin_fixed(&a[1], case_id, ZN_ID_LEN) != 0)
        rc = zn_err_set(e, ZN_E_VERIFY, "the broker's answer to handover-accept names no case");
    s_done(&f, fbuf);
    return rc;
}

int zn_client_handover_withdraw(zn_client *c, const uint8_t handover_id[ZN_CLIENT_ID_LEN], zn_err *e)
{
    if (!c || !handover_id)
        return zn_err_set(e, ZN_E_USAGE, "handover withdraw needs a client and a handover id");
    zn_frame f;
    uint8_t *fbuf = NULL;
    if (s_id_request(c, "handover-withdraw", handover_id, &f, &fbuf, e) != 0)
        return -1;
    int rc = s_result_id(&f, "handover-withdraw", 1, handover_id, e) ? 0 : -1;
    s_done(&f, fbuf);
    return rc;
}

int zn_client_handover_list(zn_client *c, uint64_t offset, zn_handover_info *out, size_t max, size_t *n,
                            uint64_t *total, zn_err *e)
{
    s_walk w = {.c = c, .of_handovers = true, .handovers = out, .max = max};
    return s_walk_list(c, &w, out, offset, n, total, "handover list", e);
}

int zn_client_handover_decline(zn_client *c, const uint8_t handover_id[ZN_CLIENT_ID_LEN], const char *reason,
                               zn_err *e)
{
    if (!c || !handover_id)
        return zn_err_set(e, ZN_E_USAGE, "handover decline needs a client and a handover id");
    if (zn_client_need_actor(c, e) != 0)
        return -1;
    if (!reason || !*reason)
        return zn_err_set(e, ZN_E_USAGE, "declining a handover needs a reason; nothing was sent");
    size_t start = 0, len = zn_text_trim(reason, strlen(reason), &start);
    const char *text = reason + start;
    if (s_check_text(text, len, "the reason", e) != 0)
        return -1;

    /* the reason's readers: the offering partner and the auditors */
    s_walk x = {.c = c, .of_handovers = true, .id = handover_id};
    if (s_walk_find(c, &x, e) != 0)
        return -1;
    if (!x.found)
        return zn_err_set(e, ZN_E_UNKNOWN_HANDOVER,
                          "no handover with this id is open to you ('zorgnet handover list' shows them); "
                          "nothing was sent");
    msgpack_sbuffer sealed, body;
    msgpack_sbuffer_init(&sealed);
    msgpack_sbuffer_init(&body);
    zn_frame f;
    uint8_t *fbuf = NULL;
    int rc = s_seal(c, ZN_READ_PARTNER | ZN_READ_AUDITORS, -1, x.from, text, len, &sealed, e);
    if (rc == 0) {
        zn_body_handover_decline_enc(&body, handover_id, (const uint8_t *)sealed.data, sealed.size);
        rc = s_request(c, "handover-decline", &body, &f, &fbuf, e);
    }
    msgpack_sbuffer_destroy(&sealed);
    msgpack_sbuffer_destroy(&body);
    if (rc != 0)
        return -1;
    if (!s_result_id(&f, "handover-decline", 1, handover_id, e))
        rc = -1;
    s_done(&f, fbuf);
    return rc;
}

/* ------------------------------------------------------------------ anonymous mode */

/* Append "kind: text\n" to out[*used..cap) when it fits whole. */
static void s_finding(char *out, size_t cap, size_t *used, const char *text, const zn_id_hit *h)
{
    char shown[ZN_CLIENT_FIELD_MAX];
    zn_text_sanitize(shown, sizeof shown, text + h->offset, h->len);
    if (*used >= cap)
        return;
    int w = snprintf(out + *used, cap - *used, "%s: %s\n", zn_id_kind_name(h->kind), shown);
    if (w < 0 || (size_t)w >= cap - *used)
        out[*used] = '\0'; /* it does not fit: leave it out */
    else
        *used += (size_t)w;
}

size_t zn_client_identifiers(const void *text, size_t len, char *out, size_t cap)
{
    const char *s = text;
    size_t total = 0, used = 0, off = 0;
    int64_t today = (int64_t)(zn_client_now_ms() / 86400000u);
    if (out && cap > 0)
        out[0] = '\0';
    if (!s)
        return 0;
    while (off < len) {
        zn_id_hit h[S_SCAN_ROUND];
        size_t found = zn_identifiers_scan(s + off, len - off, today, h, S_SCAN_ROUND);
        size_t kept = found < S_SCAN_ROUND ? found : S_SCAN_ROUND;
        for (size_t i = 0; i < kept; i++)
            if (out && cap > 0)
                s_finding(out, cap, &used, s + off, &h[i]);
        total += kept;
        if (found <= S_SCAN_ROUND)
            break;
        off += h[S_SCAN_ROUND - 1].offset + h[S_SCAN_ROUND - 1].len;
    }
    return total;
}
