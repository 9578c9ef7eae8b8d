/* zn_signal — the wire bodies of signals and matches (see zn_signal.h and docs/PROTOCOL.md,
 * "Signals"). */
#include "zn_signal.h"

#include "zn_frame.h"

#include <string.h>

/* ---------------------------------------------------------------- value rules */

/* "" or text of at most cap-1 bytes */
static bool s_opt_text_ok(const char *s, size_t cap)
{
    size_t n = s ? strnlen(s, cap) : cap;
    return n < cap && (n == 0 || zn_text_valid(s, n));
}

/* ---------------------------------------------------------------- typed getters */

static int s_obj_link(const msgpack_object *o, zn_link *out)
{
    if (zn_obj_str_eq(o, "person"))
        *out = ZN_LINK_PERSON;
    else if (zn_obj_str_eq(o, "family"))
        *out = ZN_LINK_FAMILY;
    else
        return -1;
    return 0;
}

/* ---------------------------------------------------------------- signal-add */

int zn_body_signal_add(msgpack_sbuffer *out, const zn_signal_add *s, zn_err *e)
{
    uint32_t at = 0;
    const char *why = NULL;

    if (!out || !s)
        return zn_err_set(e, ZN_E_INTERNAL, "signal-add: body encoder called without its arguments");
    if (!zn_ident_valid(s->network))
        return zn_err_set(e, ZN_E_USAGE, "signal-add: the network is not an identifier");
    if (s->person[0] == 0)
        return zn_err_set(e, ZN_E_USAGE, "signal-add: the person's pseudonym has epoch 0");
    if (s->n_related > ZN_SIGNAL_RELATED_MAX)
        return zn_err_set(e, ZN_E_USAGE, "signal-add: %u related persons; at most %d are allowed",
                          (unsigned)s->n_related, ZN_SIGNAL_RELATED_MAX);
    if ((why = zn_psn_related_why(s->person, s->related, s->n_related, &at)) != NULL)
        return zn_err_set(e, ZN_E_USAGE, "signal-add: related person %u %s", (unsigned)at + 1, why);
    if (!s_opt_text_ok(s->contact, ZN_SIGNAL_CONTACT_MAX))
        return zn_err_set(e, ZN_E_USAGE,
                          "signal-add: the contact must be at most %d bytes of text without control characters",
                          ZN_SIGNAL_CONTACT_MAX - 1);

    zn_buf b;
    msgpack_packer pk;
    zn_buf_init(&b, &pk);
    msgpack_pack_array(&pk, 6);
    zn_pack_str(&pk, s->network);
    zn_pack_persons(&pk, s->person, s->related, s->n_related);
    msgpack_pack_uint64(&pk, s->until_ms);
    msgpack_pack_uint64(&pk, s->informed_ms);
    zn_pack_str(&pk, s->contact);
    if (zn_buf_flush(&b, out) != 0)
        return zn_err_set(e, ZN_E_INTERNAL, "signal-add: out of memory while encoding the body");
    return 0;
}

int zn_body_signal_add_parse(const msgpack_object *body, zn_signal_add *s, zn_err *e)
{
    zn_signal_add v;

    if (!s)
        return zn_err_set(e, ZN_E_INTERNAL, "signal-add: body parser called without its arguments");
    memset(s, 0, sizeof *s);
    memset(&v, 0, sizeof v);
    const msgpack_object *a = zn_obj_array(body, 6);
    if (!a)
        return zn_err_set(e, ZN_E_MALFORMED, "signal-add: body is not an array of exactly 6 fields "
                                             "(network, person, related, until, informed, contact)");
    if (zn_obj_ident(&a[0], v.network, sizeof v.network) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "signal-add: body field 'network' is not an identifier");
    if (zn_obj_persons("signal-add: body", &a[1], &a[2], ZN_SIGNAL_RELATED_MAX, v.person, v.related, &v.n_related,
                       e) != 0)
        return -1;
    if (zn_obj_u64(&a[3], &v.until_ms) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "signal-add: body field 'until' is not a time in ms");
    if (zn_obj_u64(&a[4], &v.informed_ms) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "signal-add: body field 'informed' is not a time in ms");
    if (zn_obj_opt_text(&a[5], v.contact, sizeof v.contact) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "signal-add: body field 'contact' is not text of 0 to %d bytes "
                                             "without control characters", ZN_SIGNAL_CONTACT_MAX - 1);
    *s = v;
    return 0;
}

/* ---------------------------------------------------------------- small bodies */

void zn_body_signal_list(msgpack_sbuffer *out, uint64_t offset)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_uint64(&pk, offset);
}

int zn_body_signal_list_parse(const msgpack_object *body, uint64_t *offset, zn_err *e)
{
    const msgpack_object *a = zn_obj_array(body, 1);
    if (!a)
        return zn_err_set(e, ZN_E_MALFORMED, "signal-list: body is not an array of exactly 1 field (offset)");
    if (zn_obj_u64(&a[0], offset) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "signal-list: body field 'offset' is not an unsigned integer");
    return 0;
}

void zn_body_signal_informed(msgpack_sbuffer *out, const uint8_t signal[ZN_ID_LEN], uint64_t informed_ms)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 2);
    zn_pack_bin(&pk, signal, ZN_ID_LEN);
    msgpack_pack_uint64(&pk, informed_ms);
}

int zn_body_signal_informed_parse(const msgpack_object *body, uint8_t signal[ZN_ID_LEN], uint64_t *informed_ms,
                                  zn_err *e)
{
    uint64_t t = 0;
    const msgpack_object *a = zn_obj_array(body, 2);
    if (!a)
        return zn_err_set(e, ZN_E_MALFORMED,
                          "signal-informed: body is not an array of exactly 2 fields (signal, informed)");
    if (zn_obj_bin_fixed(&a[0], signal, ZN_ID_LEN) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "signal-informed: body field 'signal' is not a %d-byte bin",
                          ZN_ID_LEN);
    if (zn_obj_u64(&a[1], &t) != 0 || t == 0)
        return zn_err_set(e, ZN_E_MALFORMED, "signal-informed: body field 'informed' is not a time in ms after 0");
    *informed_ms = t;
    return 0;
}

void zn_body_id(msgpack_sbuffer *out, const uint8_t id[ZN_ID_LEN])
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 1);
    zn_pack_bin(&pk, id, ZN_ID_LEN);
}

int zn_body_id_parse(const msgpack_object *body, uint8_t id[ZN_ID_LEN], zn_err *e)
{
    const msgpack_object *a = zn_obj_array(body, 1);
    if (!a)
        return zn_err_set(e, ZN_E_MALFORMED, "body is not an array of exactly 1 field (id)");
    if (zn_obj_bin_fixed(&a[0], id, ZN_ID_LEN) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "body field 'id' is not a %d-byte bin", ZN_ID_LEN);
    return 0;
}

void zn_body_match_lead(msgpack_sbuffer *out, const uint8_t match[ZN_ID_LEN], const char *partner)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 2);
    zn_pack_bin(&pk, match, ZN_ID_LEN);
    zn_pack_str(&pk, partner ? partner : "");
}

int zn_body_match_lead_parse(const msgpack_object *body, uint8_t match[ZN_ID_LEN], char partner[ZN_IDENT_MAX],
                             zn_err *e)
{
    uint8_t id[ZN_ID_LEN];
    char p[ZN_IDENT_MAX];
    const msgpack_object *a = zn_obj_array(body, 2);
    if (!a)
        return zn_err_set(e, ZN_E_MALFORMED, "match-lead: body is not an array of exactly 2 fields (match, partner)");
    if (zn_obj_bin_fixed(&a[0], id, ZN_ID_LEN) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "match-lead: body field 'match' is not a %d-byte bin", ZN_ID_LEN);
    if (zn_obj_ident(&a[1], p, sizeof p) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "match-lead: body field 'partner' is not an identifier");
    memcpy(match, id, ZN_ID_LEN);
    memcpy(partner, p, sizeof p);
    return 0;
}

/* ---------------------------------------------------------------- results */

void zn_result_signal_add_begin(msgpack_packer *pk, const uint8_t signal[ZN_ID_LEN], bool refreshed,
                                uint64_t expires_ms, uint32_t n_matches)
{
    msgpack_pack_array(pk, 4);
    zn_pack_bin(pk, signal, ZN_ID_LEN);
    zn_pack_bool(pk, refreshed);
    msgpack_pack_uint64(pk, expires_ms);
    msgpack_pack_array(pk, n_matches);
}

void zn_pack_match(msgpack_packer *pk, const zn_match *m)
{
    msgpack_pack_array(pk, 9);
    zn_pack_bin(pk, m->match, ZN_ID_LEN);
    zn_pack_bin(pk, m->signal, ZN_ID_LEN);
    zn_pack_str(pk, m->partner);
    zn_pack_str(pk, m->network);
    zn_pack_str(pk, m->contact);
    zn_pack_str(pk, zn_link_name(m->link));
    msgpack_pack_uint64(pk, m->since_ms);
    zn_pack_str(pk, m->lead);
    zn_pack_str(pk, m->proposed);
}

/* What the sentences below say of the fields' rules. */
_Static_assert(ZN_ID_LEN == 16 && ZN_PSN_LEN == 33 && ZN_SIGNAL_CONTACT_MAX == 128 &&
                   ZN_SIGNAL_RELATED_MAX == 16 && ZN_HANDLER_MAX == 128,
               "the sentences name these sizes");
#define S_BAD_ID "is not a 16-byte bin"
#define S_BAD_IDENT "is not an identifier"
#define S_BAD_OPT_IDENT "is neither empty nor an identifier"
#define S_BAD_CONTACT "is not text of 0 to 127 bytes without control characters"
#define S_BAD_TIME "is not a time in ms"

/* One match [match, signal, partner, network, contact, link, since, lead, proposed]; NULL when it
 * holds, else what is wrong with it. */
static const char *s_match_parse(const msgpack_object *o, zn_match *m)
{
    memset(m, 0, sizeof *m);
    const msgpack_object *a = zn_obj_array(o, 9);
    if (!a)
        return "is not an array of exactly 9 fields";
    if (zn_obj_bin_fixed(&a[0], m->match, ZN_ID_LEN) != 0)
        return "field 'match' " S_BAD_ID;
    if (zn_obj_bin_fixed(&a[1], m->signal, ZN_ID_LEN) != 0)
        return "field 'signal' " S_BAD_ID;
    if (zn_obj_ident(&a[2], m->partner, sizeof m->partner) != 0)
        return "field 'partner' " S_BAD_IDENT;
    if (zn_obj_ident(&a[3], m->network, sizeof m->network) != 0)
        return "field 'network' " S_BAD_IDENT;
    if (zn_obj_opt_text(&a[4], m->contact, sizeof m->contact) != 0)
        return "field 'contact' " S_BAD_CONTACT;
    if (s_obj_link(&a[5], &m->link) != 0)
        return "field 'link' is neither person nor family";
    if (zn_obj_u64(&a[6], &m->since_ms) != 0)
        return "field 'since' " S_BAD_TIME;
    if (zn_obj_opt_ident(&a[7], m->lead, sizeof m->lead) != 0)
        return "field 'lead' " S_BAD_OPT_IDENT;
    if (zn_obj_opt_ident(&a[8], m->proposed, sizeof m->proposed) != 0)
        return "field 'proposed' " S_BAD_OPT_IDENT;
    return NULL;
}

int zn_result_signal_add_parse(const msgpack_object *body, uint8_t signal[ZN_ID_LEN], bool *refreshed,
                               uint64_t *expires_ms, zn_match *out, uint32_t max, uint32_t *n, zn_err *e)
{
    uint8_t id[ZN_ID_LEN];
    bool r = false;
    uint64_t x = 0;
    uint32_t lim = max < ZN_SIGNAL_MATCHES_MAX ? max : ZN_SIGNAL_MATCHES_MAX;

    *n = 0;
    if (!out)
        lim = 0;
    const msgpack_object *a = zn_obj_array(body, 4);
    if (!a)
        return zn_err_set(e, ZN_E_MALFORMED,
                          "signal-add: result is not an array of exactly 4 fields (signal, refreshed, expires, matches)");
    if (zn_obj_bin_fixed(&a[0], id, ZN_ID_LEN) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "signal-add: result field 'signal' is not a %d-byte bin", ZN_ID_LEN);
    if (zn_obj_bool(&a[1], &r) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "signal-add: result field 'refreshed' is not a boolean");
    if (zn_obj_u64(&a[2], &x) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "signal-add: result field 'expires' is not a time in ms");
    if (a[3].type != MSGPACK_OBJECT_ARRAY || a[3].via.array.size > lim)
        return zn_err_set(e, ZN_E_MALFORMED, "signal-add: result field 'matches' is not an array of at most %u matches",
                          (unsigned)lim);
    for (uint32_t i = 0; i < a[3].via.array.size; i++) {
        const char *bad = s_match_parse(&a[3].via.array.ptr[i], &out[i]);
        if (bad)
            return zn_err_set(e, ZN_E_MALFORMED, "signal-add: result field 'matches': match %u %s",
                              (unsigned)i, bad);
    }
    memcpy(signal, id, ZN_ID_LEN);
    *refreshed = r;
    *expires_ms = x;
    *n = a[3].via.array.size;
    return 0;
}

void zn_result_signal_list_begin(msgpack_packer *pk, uint64_t total, uint32_t n_rows)
{
    msgpack_pack_array(pk, 2);
    msgpack_pack_uint64(pk, total);
    msgpack_pack_array(pk, n_rows);
}

void zn_pack_signal_row(msgpack_packer *pk, const zn_signal_row *r)
{
    msgpack_pack_array(pk, 11);
    zn_pack_bin(pk, r->signal, ZN_ID_LEN);
    zn_pack_str(pk, r->network);
    zn_pack_bin(pk, r->person, ZN_PSN_LEN);
    msgpack_pack_uint64(pk, r->n_related);
    msgpack_pack_uint64(pk, r->created_ms);
    msgpack_pack_uint64(pk, r->expires_ms);
    msgpack_pack_uint64(pk, r->informed_ms);
    zn_pack_str(pk, r->contact);
    zn_pack_str(pk, r->handler);
    zn_pack_bool(pk, r->overdue);
    msgpack_pack_uint64(pk, r->matches);
}

/* One signal-row; NULL when it holds, else what is wrong with it. */
static const char *s_row_parse(const msgpack_object *o, zn_signal_row *r)
{
    memset(r, 0, sizeof *r);
    const msgpack_object *a = zn_obj_array(o, 11);
    if (!a)
        return "is not an array of exactly 11 fields";
    if (zn_obj_bin_fixed(&a[0], r->signal, ZN_ID_LEN) != 0)
        return "field 'signal' " S_BAD_ID;
    if (zn_obj_ident(&a[1], r->network, sizeof r->network) != 0)
        return "field 'network' " S_BAD_IDENT;
    if (zn_obj_psn(&a[2], r->person) != 0)
        return "field 'person' is not a 33-byte pseudonym with an epoch of 1 to 255";
    if (zn_obj_u64_max(&a[3], ZN_SIGNAL_RELATED_MAX, &r->n_related) != 0)
        return "field 'related' is not a count of 0 to 16";
    if (zn_obj_u64(&a[4], &r->created_ms) != 0)
        return "field 'created' " S_BAD_TIME;
    if (zn_obj_u64(&a[5], &r->expires_ms) != 0)
        return "field 'expires' " S_BAD_TIME;
    if (zn_obj_u64(&a[6], &r->informed_ms) != 0)
        return "field 'informed' " S_BAD_TIME;
    if (zn_obj_opt_text(&a[7], r->contact, sizeof r->contact) != 0)
        return "field 'contact' " S_BAD_CONTACT;
    if (zn_obj_text(&a[8], r->handler, sizeof r->handler) != 0)
        return "field 'handler' is not text of 1 to 127 bytes without control characters";
    if (zn_obj_bool(&a[9], &r->overdue) != 0)
        return "field 'overdue' is not a boolean";
    if (zn_obj_u64(&a[10], &r->matches) != 0)
        return "field 'matches' is not an unsigned integer";
    return NULL;
}

int zn_result_signal_list_parse(const msgpack_object *body, uint64_t *total, zn_signal_row *out, uint32_t max,
                                uint32_t *n, zn_err *e)
{
    uint64_t t = 0;
    uint32_t lim = max < ZN_SIGNAL_PAGE ? max : ZN_SIGNAL_PAGE;

    *n = 0;
    if (!out)
        lim = 0;
    const msgpack_object *a = zn_obj_array(body, 2);
    if (!a)
        return zn_err_set(e, ZN_E_MALFORMED, "signal-list: result is not an array of exactly 2 fields (total, rows)");
    if (zn_obj_u64(&a[0], &t) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "signal-list: result field 'total' is not an unsigned integer");
    if (a[1].type != MSGPACK_OBJECT_ARRAY || a[1].via.array.size > lim)
        return zn_err_set(e, ZN_E_MALFORMED, "signal-list: result field 'rows' is not an array of at most %u rows",
                          (unsigned)lim);
    for (uint32_t i = 0; i < a[1].via.array.size; i++) {
        const char *bad = s_row_parse(&a[1].via.array.ptr[i], &out[i]);
        if (bad)
            return zn_err_set(e, ZN_E_MALFORMED, "signal-list: result field 'rows': row %u %s",
                              (unsigned)i, bad);
    }
    *total = t;
    *n = a[1].via.array.size;
    return 0;
}

void zn_result_id_bool(msgpack_sbuffer *out, const uint8_t id[ZN_ID_LEN], bool flag)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 2);
    zn_pack_bin(&pk, id, ZN_ID_LEN);
    zn_pack_bool(&pk, flag);
}

int zn_result_id_bool_parse(const msgpack_object *body, uint8_t id[ZN_ID_LEN], bool *flag, zn_err *e)
{
    uint8_t v[ZN_ID_LEN];
    const msgpack_object *a = zn_obj_array(body, 2);
    if (!a)
        return zn_err_set(e, ZN_E_MALFORMED, "result is not an array of exactly 2 fields (id, flag)");
    if (zn_obj_bin_fixed(&a[0], v, ZN_ID_LEN) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "result field 'id' is not a %d-byte bin", ZN_ID_LEN);
    if (zn_obj_bool(&a[1], flag) != 0)
        return zn_err_set(e, ZN_E_MALFORMED, "result field 'flag' is not a boolean");
    memcpy(id, v, ZN_ID_LEN);
    return 0;
}

/* ---------------------------------------------------------------- notices */

#define S_COUNT(a) (sizeof(a) / sizeof((a)[0]))

void zn_notice_match(msgpack_sbuffer *b, uint64_t time_ms, const zn_match *m, const char *connected_by)
{
    const zn_notice_field f[] = {
        ZN_NF_ID("match", m->match),      ZN_NF_ID("signal", m->signal),
        ZN_NF_S("partner", m->partner),   ZN_NF_S("network", m->network),
        ZN_NF_S("contact", m->contact),   ZN_NF_S("link", zn_link_name(m->link)),
        ZN_NF_U("since", m->since_ms),    ZN_NF_S("lead", m->lead),
        ZN_NF_S("proposed", m->proposed), ZN_NF_S("connected_by", connected_by),
    };
    _Static_assert(S_COUNT(f) <= ZN_NOTICE_FIELDS_MAX, "a match notice fits the notice limit");
    zn_notice_build(b, "match", time_ms, f, S_COUNT(f));
}

void zn_notice_match_review(msgpack_sbuffer *b, uint64_t time_ms, const zn_match_review *r)
{
    const zn_notice_field f[] = {
        ZN_NF_ID("match", r->match),
        ZN_NF_S("link", zn_link_name(r->link)),
        ZN_NF_S("disclosure", r->disclosure),
        ZN_NF_S("a_partner", r->a_partner),
        ZN_NF_S("a_network", r->a_network),
        ZN_NF_S("a_contact", r->a_contact),
        ZN_NF_S("b_partner", r->b_partner),
        ZN_NF_S("b_network", r->b_network),
        ZN_NF_S("b_contact", r->b_contact),
        ZN_NF_U("since", r->since_ms),
        ZN_NF_S("lead", r->lead),
        ZN_NF_S("proposed", r->proposed),
    };
    _Static_assert(S_COUNT(f) <= ZN_NOTICE_FIELDS_MAX, "a match-review notice fits the notice limit");
    zn_notice_build(b, "match-review", time_ms, f, S_COUNT(f));
}

void zn_notice_match_lead(msgpack_sbuffer *b, uint64_t time_ms, const uint8_t match[ZN_ID_LEN], const char *lead,
                          const char *by)
{
    const zn_notice_field f[] = {ZN_NF_ID("match", match), ZN_NF_S("lead", lead), ZN_NF_S("by", by)};
    zn_notice_build(b, "match-lead", time_ms, f, S_COUNT(f));
}

void zn_notice_enumeration(msgpack_sbuffer *b, uint64_t time_ms, const char *partner, const char *handler,
                           const char *network, const char *limit, uint64_t count)
{
    const zn_notice_field f[] = {
        ZN_NF_S("partner", partner), ZN_NF_S("handler", handler), ZN_NF_S("network", network),
        ZN_NF_S("limit", limit),     ZN_NF_U("count", count),
    };
    zn_notice_build(b, "enumeration-suspected", time_ms, f, S_COUNT(f));
}
