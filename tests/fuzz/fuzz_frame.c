/* libFuzzer target: zn_frame_parse on arbitrary bytes; for frames that parse, every check a
 * receiver runs next (envelope signature, ciphertext hash and decryption, notice fields, request
 * and case-new body, the bodies and results of signals), and a re-encode / re-parse that must
 * give the same fields. The bodies, rows and view of cases, consent, overrides and handovers
 * (zn_case) are tried on the input itself, on every request body and on every result body and
 * its rows, whatever their kind: what decodes must encode to bytes that decode again and encode
 * to the same bytes. Any disagreement aborts. */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "zn_case.h"
#include "zn_frame.h"
#include "zn_sealed.h"
#include "zn_signal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static zn_seckeys s_keys;
static int s_ready;
static unsigned long s_passed; /* checks that passed: keeps every result used */

static void s_init(void)
{
    uint8_t seed[32];
    if (s_ready)
        return;
    if (sodium_init() < 0)
        abort();
    memset(&s_keys, 0, sizeof s_keys);
    memset(seed, 0x01, sizeof seed);
    if (crypto_sign_seed_keypair(s_keys.pub.sign, s_keys.sign, seed) != 0)
        abort();
    memset(seed, 0x03, sizeof seed);
    if (crypto_box_seed_keypair(s_keys.pub.box, s_keys.box, seed) != 0)
        abort();
    s_ready = 1;
}

static void s_check(int ok)
{
    if (!ok)
        abort();
}

/* A signal-add body that parses encodes again to a body that parses to the same fields. */
static void s_signal_body(const char *kind, const msgpack_object *body)
{
    zn_err e;
    uint8_t id[ZN_ID_LEN];
    uint64_t u;
    char ident[ZN_IDENT_MAX];
    if (strcmp(kind, "signal-add") == 0) {
        static zn_signal_add a, b; /* large: keep them off the fuzzer's stack */
        if (zn_body_signal_add_parse(body, &a, &e) != 0)
            return;
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        zn_doc d = {0};
        s_check(zn_body_signal_add(&sb, &a, &e) == 0);
        s_check(zn_doc_parse(&d, (const uint8_t *)sb.data, sb.size, ZN_WIRE_MAX_DEPTH, 4096) == 0);
        memset(&b, 0, sizeof b);
        s_check(zn_body_signal_add_parse(&d.root, &b, &e) == 0);
        s_check(strcmp(a.network, b.network) == 0 && strcmp(a.contact, b.contact) == 0 &&
                a.n_related == b.n_related && a.until_ms == b.until_ms && a.informed_ms == b.informed_ms &&
                memcmp(a.person, b.person, ZN_PSN_LEN) == 0 &&
                memcmp(a.related, b.related, (size_t)a.n_related * ZN_PSN_LEN) == 0);
        zn_doc_free(&d);
        msgpack_sbuffer_destroy(&sb);
    } else if (strcmp(kind, "signal-list") == 0) {
        s_passed += zn_body_signal_list_parse(body, &u, &e) == 0;
    } else if (strcmp(kind, "signal-informed") == 0) {
        if (zn_body_signal_informed_parse(body, id, &u, &e) == 0)
            s_check(u > 0);
    } else if (strcmp(kind, "signal-withdraw") == 0 || strcmp(kind, "match-connect") == 0) {
        s_passed += zn_body_id_parse(body, id, &e) == 0;
    } else if (strcmp(kind, "match-lead") == 0) {
        if (zn_body_match_lead_parse(body, id, ident, &e) == 0)
            s_check(zn_ident_valid(ident));
    }
}

static void s_signal_result(const char *kind, const msgpack_object *body)
{
    static zn_match m[ZN_SIGNAL_MATCHES_MAX];
    static zn_signal_row rows[ZN_SIGNAL_PAGE];
    zn_err e;
    uint8_t id[ZN_ID_LEN];
    uint64_t u;
    uint32_t n;
    bool flag;
    if (strcmp(kind, "signal-add") == 0 &&
        zn_result_signal_add_parse(body, id, &flag, &u, m, ZN_SIGNAL_MATCHES_MAX, &n, &e) == 0)
        for (uint32_t i = 0; i < n; i++)
            s_check(zn_ident_valid(m[i].partner) && (m[i].link == ZN_LINK_PERSON || m[i].link == ZN_LINK_FAMILY));
    if (strcmp(kind, "signal-list") == 0 && zn_result_signal_list_parse(body, &u, rows, ZN_SIGNAL_PAGE, &n, &e) == 0)
        s_check(n <= ZN_SIGNAL_PAGE);
    if (strcmp(kind, "signal-withdraw") == 0)
        s_passed += zn_result_id_bool_parse(body, id, &flag, &e) == 0;
}

/* ---- cases: decode, encode, decode again, encode again: the same bytes ---- */

/* A decoder paired with the encoder of what it decodes: 0 and the encoding in out when o
 * decodes, else -1 (out untouched). */
typedef int (*s_dec_enc)(const msgpack_object *o, msgpack_sbuffer *out);

/* A sealed object that decoded: it parses, and its shortest encoding into buf. */
static void s_sealed_bytes(const msgpack_object *o, size_t min_text, msgpack_sbuffer *buf)
{
    static zn_sealed s;
    zn_err e;
    msgpack_packer pk;
    s_check(zn_sealed_parse(o, min_text, &s, &e) == 0 && s.n >= 1 && s.n <= ZN_SEALED_READERS_MAX);
    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    msgpack_pack_object(&pk, *o);
}

static void s_consent_ok(const zn_consent *c)
{
    zn_err e;
    s_check(c->n_scope <= ZN_CONSENT_SCOPE_MAX && (c->given_by & ~15u) == 0 && c->age_band <= ZN_AGE_16_PLUS);
    for (size_t i = 1; i < c->n_scope; i++)
        s_check(strcmp(c->scope[i - 1], c->scope[i]) < 0);
    if (zn_consent_check(c, 1767225600000ull, &e) == 0)
        s_passed++;
    if (c->n_scope && zn_consent_covers(c, c->scope[0], 0))
        s_check(c->state == ZN_CONSENT_GRANTED);
}

static int s_de_case_new(const msgpack_object *o, msgpack_sbuffer *out)
{
    static zn_case_new_body b;
    zn_err e;
    if (zn_body_case_new_dec(o, &b, &e) != 0)
        return -1;
    s_check(zn_ident_valid(b.network) && b.n_related <= ZN_CASE_RELATED_MAX);
    s_check(zn_body_case_new_enc(out, &b) == 0);
    return 0;
}

static int s_de_id(const msgpack_object *o, msgpack_sbuffer *out)
{
    uint8_t id[ZN_ID_LEN];
    zn_err e;
    if (zn_body_id_dec(o, id, &e) != 0)
        return -1;
    zn_body_id_enc(out, id);
    return 0;
}

static int s_de_case_link(const msgpack_object *o, msgpack_sbuffer *out)
{
    static zn_case_link_body b;
    zn_err e;
    if (zn_body_case_link_dec(o, &b, &e) != 0)
        return -1;
    s_check(b.person[0] != 0 && b.n_related <= ZN_CASE_RELATED_MAX);
    zn_body_case_link_enc(out, &b);
    return 0;
}

static int s_de_consent_set(const msgpack_object *o, msgpack_sbuffer *out)
{
    static zn_consent c;
    uint8_t id[ZN_ID_LEN];
    const msgpack_object *purpose = NULL;
    zn_err e;
    if (zn_body_consent_set_dec(o, id, &c, &purpose, &e) != 0)
        return -1;
    s_consent_ok(&c);
    s_check(c.state != ZN_CONSENT_NONE);
    msgpack_sbuffer p;
    msgpack_sbuffer_init(&p);
    if (purpose)
        s_sealed_bytes(purpose, 1, &p);
    zn_body_consent_set_enc(out, id, &c, (const uint8_t *)p.data, p.size);
    msgpack_sbuffer_destroy(&p);
    return 0;
}

static int s_de_override_new(const msgpack_object *o, msgpack_sbuffer *out)
{
    static zn_override_new_body b;
    const msgpack_object *j = NULL;
    zn_err e;
    if (zn_body_override_new_dec(o, &b, &j, &e) != 0)
        return -1;
    s_check(b.step >= 1 && b.step <= ZN_MELDCODE_STEPS && strcmp(zn_meldcode_step_name(b.step), "?") != 0);
    s_check(j != NULL);
    msgpack_sbuffer p;
    msgpack_sbuffer_init(&p);
    s_sealed_bytes(j, ZN_JUSTIFICATION_MIN, &p);
    zn_body_override_new_enc(out, &b, (const uint8_t *)p.data, p.size);
    msgpack_sbuffer_destroy(&p);
    return 0;
}

static int s_de_override_list(const msgpack_object *o, msgpack_sbuffer *out)
{
    bool all;
    uint64_t off;
    zn_err e;
    if (zn_body_override_list_dec(o, &all, &off, &e) != 0)
        return -1;
    zn_body_override_list_enc(out, all, off);
    return 0;
}

static int s_de_offset(const msgpack_object *o, msgpack_sbuffer *out)
{
    uint64_t off;
    zn_err e;
    if (zn_body_offset_dec(o, &off, &e) != 0)
        return -1;
    zn_body_offset_enc(out, off);
    return 0;
}

static int s_de_override_review(const msgpack_object *o, msgpack_sbuffer *out)
{
    uint8_t id[ZN_ID_LEN];
    bool approve;
    const msgpack_object *note = NULL;
    zn_err e;
    if (zn_body_override_review_dec(o, id, &approve, &note, &e) != 0)
        return -1;
    msgpack_sbuffer p;
    msgpack_sbuffer_init(&p);
    if (note)
        s_sealed_bytes(note, 1, &p);
    zn_body_override_review_enc(out, id, approve, (const uint8_t *)p.data, p.size);
    msgpack_sbuffer_destroy(&p);
    return 0;
}

static int s_de_handover_offer(const msgpack_object *o, msgpack_sbuffer *out)
{
    static zn_handover_offer_body b;
    zn_err e;
    if (zn_body_handover_offer_dec(o, &b, &e) != 0)
        return -1;
    s_check(zn_ident_valid(b.to));
    zn_body_handover_offer_enc(out, &b);
    return 0;
}

static int s_de_handover_decline(const msgpack_object *o, msgpack_sbuffer *out)
{
    uint8_t id[ZN_ID_LEN];
    const msgpack_object *reason = NULL;
    zn_err e;
    if (zn_body_handover_decline_dec(o, id, &reason, &e) != 0)
        return -1;
    s_check(reason != NULL);
    msgpack_sbuffer p;
    msgpack_sbuffer_init(&p);
    s_sealed_bytes(reason, 1, &p);
    zn_body_handover_decline_enc(out, id, (const uint8_t *)p.data, p.size);
    msgpack_sbuffer_destroy(&p);
    return 0;
}

/* a sealed field of a row points at its own shortest encoding */
static void s_row_sealed_ok(const uint8_t *p, size_t n, size_t min_text, bool nil_ok)
{
    if (!p) {
        s_check(n == 0 && nil_ok);
        return;
    }
    zn_doc d;
    static zn_sealed s;
    zn_err e;
    s_check(zn_doc_parse(&d, p, n, ZN_WIRE_MAX_DEPTH, 4096) == 0);
    s_check(zn_sealed_parse(&d.root, min_text, &s, &e) == 0);
    zn_doc_free(&d);
}

static int s_de_consent_row(const msgpack_object *o, msgpack_sbuffer *out)
{
    static zn_consent_row r;
    zn_err e;
    msgpack_packer pk;
    if (zn_consent_row_dec(o, &r, &e) != 0)
        return -1;
    s_consent_ok(&r.c);
    s_row_sealed_ok(r.purpose, r.purpose_len, 1, true);
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    zn_pack_consent_row(&pk, &r);
    return 0;
}

static int s_de_override_row(const msgpack_object *o, msgpack_sbuffer *out)
{
    static zn_override_row r;
    zn_err e;
    msgpack_packer pk;
    if (zn_override_row_dec(o, &r, &e) != 0)
        return -1;
    s_check(r.step >= 1 && r.step <= ZN_MELDCODE_STEPS && r.state >= ZN_OVERRIDE_PENDING &&
            r.state <= ZN_OVERRIDE_EXPIRED);
    s_row_sealed_ok(r.justification, r.justification_len, ZN_JUSTIFICATION_MIN, false);
    s_row_sealed_ok(r.note, r.note_len, 1, true);
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    zn_pack_override_row(&pk, &r);
    return 0;
}

static int s_de_handover_row(const msgpack_object *o, msgpack_sbuffer *out)
{
    static zn_handover_row r;
    zn_err e;
    msgpack_packer pk;
    if (zn_handover_row_dec(o, &r, &e) != 0)
        return -1;
    s_check(r.state >= ZN_HANDOVER_OPEN && r.state <= ZN_HANDOVER_WITHDRAWN);
    s_row_sealed_ok(r.reason, r.reason_len, 1, true);
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    zn_pack_handover_row(&pk, &r);
    return 0;
}

static int s_de_case_view(const msgpack_object *o, msgpack_sbuffer *out)
{
    static zn_case_view v;
    zn_err e;
    msgpack_packer pk;
    if (zn_case_view_dec(o, &v, &e) != 0)
        return -1;
    s_check(v.n_members <= ZN_CASE_PAGE && v.n_handovers <= 16 && v.n_overrides <= 16);
    s_check((v.consent_seq == 0) == (v.consent.state == ZN_CONSENT_NONE));
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    zn_pack_case_view(&pk, &v);
    return 0;
}

static const s_dec_enc s_case_codecs[] = {
    s_de_case_new,        s_de_id,           s_de_case_link,    s_de_consent_set,  s_de_override_new,
    s_de_override_list,   s_de_offset,       s_de_override_review, s_de_handover_offer,
    s_de_handover_decline, s_de_consent_row, s_de_override_row, s_de_handover_row, s_de_case_view,
};

/* Every case codec on o: what decodes encodes to bytes that decode and encode the same again. */
static void s_case_object(const msgpack_object *o)
{
    for (size_t k = 0; k < sizeof s_case_codecs / sizeof *s_case_codecs; k++) {
        msgpack_sbuffer b1, b2;
        msgpack_sbuffer_init(&b1);
        if (s_case_codecs[k](o, &b1) == 0) {
            zn_doc d;
            msgpack_sbuffer_init(&b2);
            s_check(zn_doc_parse(&d, (const uint8_t *)b1.data, b1.size, ZN_WIRE_MAX_DEPTH, 100000) == 0);
            s_check(s_case_codecs[k](&d.root, &b2) == 0);
            s_check(b1.size == b2.size && memcmp(b1.data, b2.data, b1.size) == 0);
            zn_doc_free(&d);
            msgpack_sbuffer_destroy(&b2);
            s_passed++;
        }
        msgpack_sbuffer_destroy(&b1);
    }
}

/* o, and the elements of its arrays two levels down (rows inside a list result). */
static void s_case_objects(const msgpack_object *o)
{
    s_case_object(o);
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return;
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        const msgpack_object *a = &o->via.array.ptr[i];
        if (a->type != MSGPACK_OBJECT_ARRAY)
            continue;
        for (uint32_t j = 0; j < a->via.array.size; j++)
            s_case_object(&a->via.array.ptr[j]);
    }
}

static void s_envelope(const zn_envelope *env)
{
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    zn_err e;

    /* parse promised these */
    s_check(env->header_len <= ZN_MAX_HEADER && env->ct_len >= ZN_CT_OVERHEAD + ZN_PAD_MIN &&
            env->ct_len <= ZN_MAX_CT && (env->h.flags & ~ZN_ENVELOPE_FLAGS_KNOWN) == 0);
    s_check(zn_ident_valid(env->h.sender) && zn_ident_valid(env->h.recipient));
    s_check(zn_text_valid(env->h.handler, strlen(env->h.handler)));
    if (zn_envelope_verify(env, s_keys.pub.sign) == 0)
        s_passed++;
    /* the hash is not checked by parsing: check it here, and against a plain SHA-256 */
    uint8_t hash[ZN_HASH_LEN];
    s_check(crypto_hash_sha256(hash, env->ct, env->ct_len) == 0);
    bool same = memcmp(hash, env->h.ct_hash, ZN_HASH_LEN) == 0;
    zn_err_clear(&e);
    int hrc = zn_envelope_check_hash(env, &e);
    s_check(same ? (hrc == 0 && e.code == ZN_E_OK) : (hrc == -1 && e.code == ZN_E_HASH_MISMATCH));
    if (same)
        s_passed++;
    zn_err_clear(&e);
    if (zn_envelope_open(env, s_keys.pub.box, s_keys.box, &plain, &plain_len, &e) == 0) {
        s_check(same); /* nothing opens that its header does not name */
        s_check(plain_len <= env->ct_len - ZN_CT_OVERHEAD);
        free(plain);
    } else {
        s_check(plain == NULL && plain_len == 0);
        s_check(same ? e.code != ZN_E_HASH_MISMATCH : e.code == ZN_E_HASH_MISMATCH);
    }

    /* re-pack, re-parse: the same envelope */
    msgpack_sbuffer sb;
    msgpack_packer pk;
    zn_doc doc;
    zn_envelope again;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    zn_envelope_pack(&pk, env);
    s_check(zn_envelope_parse_bytes((const uint8_t *)sb.data, sb.size, &doc, &again, &e) == 0);
    s_check(again.header_len == env->header_len &&
            memcmp(again.header_raw, env->header_raw, env->header_len) == 0);
    s_check(again.ct_len == env->ct_len && memcmp(again.ct, env->ct, env->ct_len) == 0);
    s_check(memcmp(again.sig, env->sig, ZN_SIG_LEN) == 0);
    s_check(memcmp(&again.h, &env->h, sizeof again.h) == 0);
    zn_doc_free(&doc);
    msgpack_sbuffer_destroy(&sb);
}

static void s_reparse(const msgpack_sbuffer *b, zn_frame *g)
{
    zn_err e;
    s_check(zn_frame_parse((const uint8_t *)b->data, b->size, g, &e) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    zn_frame f, g;
    zn_err e;
    msgpack_sbuffer b;

    s_init();
    {
        /* the input itself as each case body, row and view */
        zn_doc raw;
        if (zn_doc_parse(&raw, data, size, ZN_WIRE_MAX_DEPTH, 4200) == 0) {
            s_case_object(&raw.root);
            zn_doc_free(&raw);
        }
    }
    if (zn_frame_parse(data, size, &f, &e) != 0) {
        s_check(!f.doc.live && e.code != ZN_E_OK && e.text[0] != '\0');
        zn_frame_free(&f);
        return 0;
    }
    msgpack_sbuffer_init(&b);
    switch (f.type) {
    case ZN_T_HELLO:
        zn_frame_hello(&b, f.corr, f.u.hello.convenant_version, f.u.hello.window, f.u.hello.known_size);
        s_reparse(&b, &g);
        s_check(g.u.hello.convenant_version == f.u.hello.convenant_version &&
                g.u.hello.window == f.u.hello.window && g.u.hello.known_size == f.u.hello.known_size &&
                g.corr == f.corr);
        zn_frame_free(&g);
        break;
    case ZN_T_WELCOME:
        {
            uint8_t proof[ZN_MERKLE_MAX_CONSISTENCY * 32];
            uint32_t np = 0;
            s_check(zn_obj_hashes(f.u.welcome.proof, ZN_MERKLE_MAX_CONSISTENCY, proof, &np) == 0 &&
                    np == f.u.welcome.n_proof);
            zn_frame_welcome(&b, f.corr, f.u.welcome.convenant_version, f.u.welcome.partner,
                             f.u.welcome.time_ms, f.u.welcome.head, f.u.welcome.head_len,
                             f.u.welcome.head_sig, proof, np);
        }
        s_reparse(&b, &g);
        s_check(strcmp(g.u.welcome.partner, f.u.welcome.partner) == 0 &&
                g.u.welcome.time_ms == f.u.welcome.time_ms && g.u.welcome.head_len == f.u.welcome.head_len &&
                memcmp(g.u.welcome.head, f.u.welcome.head, f.u.welcome.head_len) == 0 &&
                g.u.welcome.n_proof == f.u.welcome.n_proof);
        zn_frame_free(&g);
        break;
    case ZN_T_SEND:
        s_envelope(&f.u.send.env);
        break;
    case ZN_T_ACCEPTED:
        zn_frame_accepted(&b, f.corr, f.u.accepted.msgid, f.u.accepted.duplicate, f.u.accepted.audit_index);
        s_reparse(&b, &g);
        s_check(memcmp(g.u.accepted.msgid, f.u.accepted.msgid, ZN_ID_LEN) == 0 &&
                g.u.accepted.duplicate == f.u.accepted.duplicate &&
                g.u.accepted.audit_index == f.u.accepted.audit_index);
        zn_frame_free(&g);
        break;
    case ZN_T_DELIVER:
        if (f.u.deliver.kind == ZN_ITEM_ENVELOPE) {
            s_envelope(&f.u.deliver.env);
        } else {
            s_check(f.u.deliver.kind == ZN_ITEM_NOTICE);
            const zn_notice *n = &f.u.deliver.notice;
            s_check(zn_ident_valid(n->type) && n->fields && n->fields->type == MSGPACK_OBJECT_MAP);
            uint8_t id[ZN_ID_LEN];
            char s[ZN_IDENT_MAX];
            if (strcmp(n->type, "envelope-dropped") == 0)
                s_check(zn_obj_bin_fixed(zn_obj_map_get(n->fields, "msgid"), id, ZN_ID_LEN) == 0 &&
                        zn_obj_ident(zn_obj_map_get(n->fields, "reason"), s, sizeof s) == 0);
        }
        break;
    case ZN_T_ACK:
    case ZN_T_RELEASE: {
        uint8_t (*ids)[ZN_ID_LEN] = malloc((size_t)f.u.ack.n * ZN_ID_LEN);
        s_check(ids != NULL && f.u.ack.n >= 1 && f.u.ack.n <= ZN_MAX_ACK);
        for (uint32_t i = 0; i < f.u.ack.n; i++)
            zn_frame_ack_id(&f, i, ids[i]);
        (f.type == ZN_T_ACK ? zn_frame_ack : zn_frame_release)(&b, f.corr, (const uint8_t(*)[ZN_ID_LEN])ids,
                                                               f.u.ack.n);
        s_reparse(&b, &g);
        s_check(g.u.ack.n == f.u.ack.n);
        for (uint32_t i = 0; i < g.u.ack.n; i++) {
            uint8_t id[ZN_ID_LEN];
            zn_frame_ack_id(&g, i, id);
            s_check(memcmp(id, ids[i], ZN_ID_LEN) == 0);
        }
        zn_frame_free(&g);
        free(ids);
        break;
    }
    case ZN_T_REQUEST: {
        zn_doc doc;
        zn_request r;
        s_check(zn_request_parse(f.u.request.req, f.u.request.len, &doc, &r, &e) == 0);
        if (zn_request_verify(f.u.request.req, f.u.request.len, f.u.request.sig, s_keys.pub.sign) == 0)
            s_passed++;
        s_case_object(r.body);
        s_signal_body(r.kind, r.body);
        zn_doc_free(&doc);
        break;
    }
    case ZN_T_RESULT:
        s_check(zn_ident_valid(f.u.result.kind) && f.u.result.body != NULL);
        s_signal_result(f.u.result.kind, f.u.result.body);
        s_case_objects(f.u.result.body);
        break;
    case ZN_T_ERROR:
    case ZN_T_BYE:
        if (f.type == ZN_T_ERROR)
            zn_frame_error(&b, f.corr, f.u.error.code, f.u.error.text);
        else
            zn_frame_bye(&b, f.u.error.code, f.u.error.text);
        s_reparse(&b, &g);
        s_check(strcmp(g.u.error.text, f.u.error.text) == 0 && g.u.error.code == f.u.error.code);
        zn_frame_free(&g);
        break;
    case ZN_T_CONVENANT:
        zn_frame_convenant(&b, f.corr, f.u.convenant.raw, f.u.convenant.len);
        s_reparse(&b, &g);
        s_check(g.u.convenant.len == f.u.convenant.len &&
                memcmp(g.u.convenant.raw, f.u.convenant.raw, f.u.convenant.len) == 0);
        zn_frame_free(&g);
        break;
    case ZN_T_CONVENANT_GET:
    case ZN_T_IDLE:
        break;
    default:
        abort(); /* parse accepted a type it does not know */
    }
    msgpack_sbuffer_destroy(&b);
    zn_frame_free(&f);
    zn_frame_free(&f);
    return 0;
}
