/* libzorgnet: signals and matches (see zorgnet.h, "signals and matches").
 *
 * BSNs are checked here (11-proef, no duplicates) and turned into pseudonyms with the
 * convenant's network key through zn_pseudonym, and nothing else; only pseudonyms leave this
 * computer. Every call is a signed request sent with zn_client_request. */
#include "zn_client_internal.h"
#include "zn_convenant.h"
#include "zn_pseudonym.h"
#include "zn_signal.h"
#include "zn_wire.h"
#include "zorgnet.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(ZN_CLIENT_RELATED_MAX == ZN_SIGNAL_RELATED_MAX, "related count");
_Static_assert(ZN_CLIENT_MATCHES_MAX == ZN_SIGNAL_MATCHES_MAX, "match count");
_Static_assert(ZN_CLIENT_PSN_LEN == ZN_PSN_LEN, "pseudonym length");
_Static_assert(ZN_CLIENT_TEXT_MAX >= ZN_SIGNAL_CONTACT_MAX, "contact size");
_Static_assert(ZN_CLIENT_TEXT_MAX >= ZN_HANDLER_MAX, "handler size");
_Static_assert(ZN_CLIENT_TEXT_MAX >= ZN_NAME_MAX, "name size");

/* Everything about the request that needs neither the convenant nor the broker. */
static int s_check_opts(const zn_signal_opts *o, uint64_t now, zn_err *e)
{
    if (!o->network || !*o->network)
        return zn_err_set(e, ZN_E_USAGE, "a signal needs a network");
    if (!zn_ident_valid(o->network))
        return zn_err_set(e, ZN_E_UNKNOWN_NETWORK,
                          "'%.63s' is not a network name (a-z, 0-9, '.', '-', '_'); 'zorgnet partners' "
                          "lists the networks",
                          zn_shown_name(o->network));
    if (!o->bsn)
        return zn_err_set(e, ZN_E_USAGE, "a signal needs the person's BSN");
    if (zn_client_check_bsns(o->bsn, "the person's BSN", o->related, o->n_related, e) != 0)
        return -1;
    const char *contact = o->contact ? o->contact : "";
    size_t clen = strlen(contact);
    if (clen >= ZN_SIGNAL_CONTACT_MAX || (clen > 0 && !zn_text_valid(contact, clen)))
        return zn_err_set(e, ZN_E_USAGE,
                          "the contact must be at most %d bytes of text without control characters; "
                          "nothing was sent",
                          ZN_SIGNAL_CONTACT_MAX - 1);
    if (zn_text_has_bsn(contact, clen))
        return zn_err_set(e, ZN_E_USAGE,
                          "the contact holds what looks like a BSN (nine digits that pass the "
                          "11-proef); the broker keeps contact text as it is, so give only how the "
                          "handler is reached; nothing was sent");
    if (o->until_ms && o->until_ms <= now)
        return zn_err_set(e, ZN_E_USAGE, "the signal's end date lies in the past; nothing was sent");
    if (o->informed_ms && o->informed_ms > now + ZN_SIGNAL_INFORMED_AHEAD_MS)
        return zn_err_set(e, ZN_E_USAGE,
                          "the date the family was informed lies in the future; nothing was sent");
    return 0;
}

/* This client may register signals in `network` under the convenant now in use. */
static int s_check_role(const zn_client *c, const char *network, zn_err *e)
{
    const zn_convenant *conv = zn_client_convenant(c);
    const char *self_id = zn_client_self(c);
    const zn_partner *self = zn_convenant_partner(conv, self_id);
    if (self && zn_partner_is_coordinator(self))
        return zn_err_set(e, ZN_E_NOT_PARTNER,
                          "'%s' is a coordinator: coordinators do not register signals and hold no "
                          "network key; they learn of matches with 'zorgnet matches'; nothing was sent",
                          self_id);
    int net = zn_convenant_network(conv, network);
    if (net < 0)
        return zn_err_set(e, ZN_E_UNKNOWN_NETWORK,
                          "no network '%s' is in convenant version %llu; 'zorgnet partners' lists the "
                          "networks; nothing was sent",
                          zn_shown_name(network), (unsigned long long)conv->version);
    if (!self || !zn_partner_has_role(self, net, ZN_ROLE_PARTNER))
        return zn_err_set(e, ZN_E_NOT_PARTNER,
                          "'%s' does not hold the partner role in network '%s'; only partners there "
                          "register signals in it; nothing was sent",
                          self_id ? self_id : "?", zn_shown_name(network));
    return 0;
}

/* The request body with every BSN turned into its pseudonym (the network key is wiped). */
static int s_encode_add(zn_client *c, const zn_signal_opts *o, msgpack_sbuffer *body, zn_err *e)
{
    zn_signal_add s;
    int rc = 0;
    memset(&s, 0, sizeof s);
    snprintf(s.network, sizeof s.network, "%s", o->network);
    s.n_related = (uint32_t)o->n_related;
    s.until_ms = o->until_ms;
    s.informed_ms = o->informed_ms;
    zn_text_copy(s.contact, sizeof s.contact, o->contact);
    if (zn_client_pseudonyms(c, o->bsn, o->related, o->n_related, s.person, s.related, e) != 0)
        rc = -1;
    if (rc == 0 && zn_body_signal_add(body, &s, e) != 0)
        rc = zn_err_prefix(e, "the signal-add request could not be encoded; nothing was sent");
    sodium_memzero(&s, sizeof s);
    return rc;
}

/* One match of the reply, with the other partner's name and category from the convenant. */
static void s_match_info(const zn_client *c, const zn_match *m, zn_match_info *out)
{
    memset(out, 0, sizeof *out);
    memcpy(out->match_id, m->match, ZN_ID_LEN);
    memcpy(out->signal_id, m->signal, ZN_ID_LEN);
    zn_text_copy(out->partner, sizeof out->partner, m->partner);
    zn_text_copy(out->network, sizeof out->network, m->network);
    zn_text_copy(out->contact, sizeof out->contact, m->contact);
    out->family = m->link == ZN_LINK_FAMILY;
    out->since_ms = m->since_ms;
    zn_text_copy(out->lead, sizeof out->lead, m->lead);
    zn_text_copy(out->proposed, sizeof out->proposed, m->proposed);
    const zn_partner *p = zn_convenant_partner(zn_client_convenant(c), m->partner);
    if (p) {
        zn_text_copy(out->partner_name, sizeof out->partner_name, p->name);
        zn_text_copy(out->category, sizeof out->category, p->category);
    }
}

int zn_client_signal_add(zn_client *c, const zn_signal_opts *o, zn_signal_result *out, zn_err *e)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!c || !o || !out)
        return zn_err_set(e, ZN_E_USAGE, "signal add needs a client, options and a result to fill");
    if (!zn_client_self(c))
        return zn_err_set(e, ZN_E_USAGE,
                          "a key file is needed for this (--key or ZORGNET_KEY): the partner's secret key");
    if (s_check_opts(o, zn_client_now_ms(), e) != 0)
        return -1;
    /* check locally before asking the broker, and again if connecting replaced the convenant */
    if (s_check_role(c, o->network, e) != 0 || zn_client_ensure_connected(c, e) != 0 ||
        s_check_role(c, o->network, e) != 0)
        return -1;

    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    if (s_encode_add(c, o, &body, e) != 0) {
        msgpack_sbuffer_destroy(&body);
        return -1;
    }
    zn_frame f;
    uint8_t *fbuf = NULL;
    int rc = zn_client_request(c, "signal-add", (const uint8_t *)body.data, body.size, &f, &fbuf, e);
    sodium_memzero(body.data, body.size);
    msgpack_sbuffer_destroy(&body);
    if (rc != 0)
        return -1;

    zn_match *m = calloc(ZN_SIGNAL_MATCHES_MAX, sizeof *m);
    uint32_t n = 0;
    zn_err pe;
    zn_err_clear(&pe);
    if (!m) {
        rc = zn_err_set(e, ZN_E_INTERNAL, "out of memory (the signal was registered)");
    } else if (zn_result_signal_add_parse(f.u.result.body, out->signal_id, &out->refreshed, &out->expires_ms,
                                          m, ZN_SIGNAL_MATCHES_MAX, &n, &pe) != 0) {
        rc = zn_err_set(e, ZN_E_VERIFY, "the broker's answer to signal-add cannot be read: %.150s", pe.text);
    } else {
        for (uint32_t i = 0; i < n && rc == 0; i++)
            if (sodium_memcmp(m[i].signal, out->signal_id, ZN_ID_LEN) != 0)
                rc = zn_err_set(e, ZN_E_VERIFY,
                                "the broker listed a match of another signal than the one registered");
        for (uint32_t i = 0; i < n && rc == 0; i++)
            s_match_info(c, &m[i], &out->matches[i]);
        if (rc == 0)
            out->n_matches = n;
    }
    free(m);
    zn_frame_free(&f);
    free(fbuf);
    if (rc != 0)
        memset(out, 0, sizeof *out);
    return rc;
}

static void s_signal_info(const zn_signal_row *r, zn_signal_info *out)
{
    memset(out, 0, sizeof *out);
    memcpy(out->signal_id, r->signal, ZN_ID_LEN);
    zn_text_copy(out->network, sizeof out->network, r->network);
    memcpy(out->person, r->person, ZN_PSN_LEN);
    out->n_related = r->n_related;
    out->created_ms = r->created_ms;
    out->expires_ms = r->expires_ms;
    out->informed_ms = r->informed_ms;
    zn_text_copy(out->contact, sizeof out->contact, r->contact);
    zn_text_copy(out->handler, sizeof out->handler, r->handler);
    out->overdue = r->overdue;
    out->matches = r->matches;
}

int zn_client_signal_list(zn_client *c, uint64_t offset, zn_signal_info *out, size_t max, size_t *n,
                          uint64_t *total, zn_err *e)
{
    if (n)
        *n = 0;
    if (total)
        *total = 0;
    if (!c || !n || !total || (max > 0 && !out))
        return zn_err_set(e, ZN_E_USAGE, "signal list needs a client and room for the result");
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    zn_body_signal_list(&body, offset);
    zn_frame f;
    uint8_t *fbuf = NULL;
    int rc = zn_client_request(c, "signal-list", (const uint8_t *)body.data, body.size, &f, &fbuf, e);
    msgpack_sbuffer_destroy(&body);
    if (rc != 0)
        return -1;
    zn_signal_row *rows = calloc(ZN_SIGNAL_PAGE, sizeof *rows);
    uint32_t got = 0;
    uint64_t all = 0;
    zn_err pe;
    zn_err_clear(&pe);
    if (!rows)
        rc = zn_err_set(e, ZN_E_INTERNAL, "out of memory");
    else if (zn_result_signal_list_parse(f.u.result.body, &all, rows, ZN_SIGNAL_PAGE, &got, &pe) != 0)
        rc = zn_err_set(e, ZN_E_VERIFY, "the broker's answer to signal-list cannot be read: %.150s", pe.text);
    else if (got > 0 && (offset > all || got > all - offset))
        rc = zn_err_set(e, ZN_E_VERIFY,
                        "the broker listed %u signals from %llu but says there are %llu in all",
                        (unsigned)got, (unsigned long long)offset, (unsigned long long)all);
    if (rc == 0) {
        size_t k = got < max ? got : max;
        for (size_t i = 0; i < k; i++)
            s_signal_info(&rows[i], &out[i]);
        *n = k;
        *total = all;
    }
    free(rows);
    zn_frame_free(&f);
    free(fbuf);
    return rc;
}

/* Send a request of `kind` whose result repeats the id it names (and, when flag is not NULL,
 * a flag after it: withdraw's "early"). */
static int s_id_request(zn_client *c, const char *kind, const msgpack_sbuffer *body,
                        const uint8_t id[ZN_ID_LEN], bool *flag, zn_err *e)
{
    zn_frame f;
    uint8_t *fbuf = NULL;
    if (zn_client_request(c, kind, (const uint8_t *)body->data, body->size, &f, &fbuf, e) != 0)
        return -1;
    uint8_t got[ZN_ID_LEN];
    bool b = false;
    zn_err pe;
    zn_err_clear(&pe);
    int rc = flag ? zn_result_id_bool_parse(f.u.result.body, got, &b, &pe)
                  : zn_body_id_parse(f.u.result.body, got, &pe);
    zn_frame_free(&f);
    free(fbuf);
    if (rc != 0)
        return zn_err_set(e, ZN_E_VERIFY, "the broker's answer to %s cannot be read: %.150s", kind, pe.text);
    if (sodium_memcmp(got, id, ZN_ID_LEN) != 0)
        return zn_err_set(e, ZN_E_VERIFY, "the broker answered %s for another id than the one asked",
                          kind);
    if (flag)
        *flag = b;
    return 0;
}

int zn_client_signal_informed(zn_client *c, const uint8_t signal_id[ZN_CLIENT_ID_LEN], uint64_t informed_ms,
                              zn_err *e)
{
    if (!c || !signal_id)
        return zn_err_set(e, ZN_E_USAGE, "signal informed needs a client and a signal id");
    uint64_t now = zn_client_now_ms();
    if (informed_ms == 0)
        informed_ms = now;
    if (informed_ms > now + ZN_SIGNAL_INFORMED_AHEAD_MS)
        return zn_err_set(e, ZN_E_USAGE, "the date the family was informed lies in the future");
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    zn_body_signal_informed(&body, signal_id, informed_ms);
    int rc = s_id_request(c, "signal-informed", &body, signal_id, NULL, e);
    msgpack_sbuffer_destroy(&body);
    return rc;
}

int zn_client_signal_withdraw(zn_client *c, const uint8_t signal_id[ZN_CLIENT_ID_LEN], bool *early, zn_err *e)
{
    bool flag = false;
    if (early)
        *early = false;
    if (!c || !signal_id)
        return zn_err_set(e, ZN_E_USAGE, "signal withdraw needs a client and a signal id");
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    zn_body_id(&body, signal_id);
    int rc = s_id_request(c, "signal-withdraw", &body, signal_id, &flag, e);
    msgpack_sbuffer_destroy(&body);
    if (rc == 0 && early)
        *early = flag;
    return rc;
}

/* Connect and lead are for coordinators: say so before asking the broker. */
static int s_need_coordinator(zn_client *c, const char *what, zn_err *e)
{
    if (!zn_client_self(c))
        return zn_err_set(e, ZN_E_USAGE,
                          "a key file is needed for this (--key or ZORGNET_KEY): the coordinator's "
                          "secret key");
    for (int pass = 0; pass < 2; pass++) {
        const zn_partner *self = zn_convenant_partner(zn_client_convenant(c), zn_client_self(c));
        if (!zn_partner_is_coordinator(self))
            return zn_err_set(e, ZN_E_NOT_COORDINATOR,
                              "'%s' is no coordinator in the convenant; only a network's coordinators "
                              "%s",
                              zn_client_self(c), what);
        if (pass == 0 && zn_client_ensure_connected(c, e) != 0)
            return -1;
    }
    return 0;
}

int zn_client_match_connect(zn_client *c, const uint8_t match_id[ZN_CLIENT_ID_LEN], zn_err *e)
{
    if (!c || !match_id)
        return zn_err_set(e, ZN_E_USAGE, "match connect needs a client and a match id");
    if (s_need_coordinator(c, "connect the partners of a match", e) != 0)
        return -1;
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    zn_body_id(&body, match_id);
    int rc = s_id_request(c, "match-connect", &body, match_id, NULL, e);
    msgpack_sbuffer_destroy(&body);
    return rc;
}

int zn_client_match_lead(zn_client *c, const uint8_t match_id[ZN_CLIENT_ID_LEN], const char *partner,
                         zn_err *e)
{
    if (!c || !match_id)
        return zn_err_set(e, ZN_E_USAGE, "match lead needs a client and a match id");
    if (!partner || !zn_ident_valid(partner))
        return zn_err_set(e, ZN_E_USAGE,
                          "match lead needs the lead partner's id (as 'zorgnet partners' lists it)");
    /* checked before connecting and again after (connecting may bring a newer convenant) */
    for (int pass = 0; pass < 2; pass++) {
        if (!zn_convenant_partner(zn_client_convenant(c), partner))
            return zn_err_set(e, ZN_E_UNKNOWN_PARTNER,
                              "no partner '%s' is in convenant version %llu; 'zorgnet partners' lists them",
                              zn_shown_name(partner), (unsigned long long)zn_client_convenant_version(c));
        if (pass == 0 && s_need_coordinator(c, "name the lead partner of a match", e) != 0)
            return -1;
    }
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    zn_body_match_lead(&body, match_id, partner);
    int rc = s_id_request(c, "match-lead", &body, match_id, NULL, e);
    msgpack_sbuffer_destroy(&body);
    return rc;
}
