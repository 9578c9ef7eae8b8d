/* itest_protocol — hostile and malformed input against the real broker.
 *
 * Every test starts a fresh broker, sends something a careful client never would, expects a
 * clear ERROR (code and corr checked) or a refused handshake (or, for an altered ciphertext,
 * which only the recipient checks, ACCEPTED and a recipient that refuses to open it), and then
 * shows that nothing was stored half and that the broker still serves: the offending connection
 * says HELLO again, a fresh client's envelope is ACCEPTED, and the recipient receives exactly
 * that one envelope. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"
#include "zn_case.h"

#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

typedef zh_world s_world;

static int s_setup(void **state)
{
    zh_world *w = zh_world_new(0);
    if (!w)
        return -1;
    *state = w;
    return 0;
}

static int s_teardown(void **state)
{
    zh_world *w = *state;
    return zh_world_finish(&w);
}

static void s_send_bytes(void *sock, const void *p, size_t n)
{
    assert_int_equal(zh_send_bytes(sock, p, n), 0);
}

/* Send a hand-made frame and expect ERROR code/corr. */
static void s_expect(void *sock, const msgpack_sbuffer *sb, zn_code code, uint32_t corr)
{
    assert_int_equal(zh_expect_error(sock, sb, code, corr), 0);
}

static void s_expect_bytes(void *sock, const void *p, size_t n, zn_code code, uint32_t corr)
{
    msgpack_sbuffer sb = {.size = n, .data = (char *)(uintptr_t)p, .alloc = n};
    s_expect(sock, &sb, code, corr);
}

/* An envelope from school to wijkracht on the world's case (malloc'd). */
static uint8_t *s_envelope(s_world *w, const char *to, const uint8_t *case_id, const uint8_t *msgid,
                           size_t *len, uint8_t msgid_out[ZN_ID_LEN])
{
    uint8_t *env = NULL;
    static const char text[] = "Zorgsignaal: leerling vaak afwezig, graag overleg.";
    assert_int_equal(zh_seal(w->h, ZH_SCHOOL, to, case_id ? case_id : w->kase, msgid, text, sizeof text - 1,
                             &env, len, msgid_out),
                     0);
    return env;
}

/* The broker still serves: the same connection (when given) says HELLO again; a fresh client's
 * envelope is accepted; and wijkracht then holds exactly that one envelope, so nothing from the
 * hostile frames was queued. */
static void s_still_serves(s_world *w, void *sock)
{
    zh_env *h = w->h;
    assert_true(zh_broker_alive(h));
    if (sock)
        assert_int_equal(zh_hello(sock, 4242, h->version, 0), 0);
    void *c = zh_connect_party(h, ZH_SCHOOL);
    assert_non_null(c);
    assert_int_equal(zh_hello(c, 1, h->version, 0), 0);
    uint8_t msgid[ZN_ID_LEN];
    size_t len;
    uint8_t *env = s_envelope(w, "wijkracht", NULL, NULL, &len, msgid);
    bool dup = true;
    assert_int_equal(zh_send_env(c, 2, env, len, &dup), 0);
    assert_false(dup);
    free(env);

    void *r = zh_connect_party(h, ZH_WIJKRACHT);
    assert_non_null(r);
    assert_int_equal(zh_hello(r, 1, h->version, 16), 0);
    zh_item items[8];
    int n = zh_drain(h, r, items, 8, true, ZH_TIMEOUT);
    assert_int_equal(n, 1);
    assert_int_equal(items[0].kind, ZN_ITEM_ENVELOPE);
    assert_memory_equal(items[0].msgid, msgid, ZN_ID_LEN);
    assert_true(items[0].verified);
    assert_int_equal(zh_sync(r, 99, NULL), 0);
    zh_close(h, &r);
    zh_close(h, &c);
}

/* ---- building blocks for hand-made frames ---- */

typedef struct {
    msgpack_sbuffer sb;
    msgpack_packer pk;
} s_pack;

static void s_pack_init(s_pack *p)
{
    msgpack_sbuffer_init(&p->sb);
    msgpack_packer_init(&p->pk, &p->sb, msgpack_sbuffer_write);
}

static void s_pack_reset(s_pack *p) { msgpack_sbuffer_clear(&p->sb); }

/* [1, type, corr] head with n extra fields */
static void s_head(s_pack *p, uint64_t version, uint64_t type, uint32_t corr, uint32_t n)
{
    msgpack_pack_array(&p->pk, 3 + n);
    msgpack_pack_uint64(&p->pk, version);
    msgpack_pack_uint64(&p->pk, type);
    msgpack_pack_uint32(&p->pk, corr);
}

typedef enum { HDR_OK, HDR_MSGID15, HDR_VERSION2, HDR_FLAGS2, HDR_ELEVEN, HDR_BAD_SENDER } s_hdr_variant;

/* An envelope whose header is built by hand (signed by school, valid ciphertext and hash). */
static void s_custom_envelope(s_world *w, s_pack *p, s_hdr_variant v, uint8_t msgid[ZN_ID_LEN])
{
    uint8_t ct[ZN_CT_OVERHEAD + ZN_PAD_MIN], hash[ZN_HASH_LEN], sig[ZN_SIG_LEN];
    zh_random(ct, sizeof ct);
    crypto_hash_sha256(hash, ct, sizeof ct);
    zh_random(msgid, ZN_ID_LEN);
    s_pack hp;
    s_pack_init(&hp);
    msgpack_pack_array(&hp.pk, v == HDR_ELEVEN ? 11 : 10);
    msgpack_pack_uint64(&hp.pk, v == HDR_VERSION2 ? 2 : 1);
    zn_pack_bin(&hp.pk, msgid, v == HDR_MSGID15 ? 15 : ZN_ID_LEN);
    zn_pack_bin(&hp.pk, w->kase, ZN_ID_LEN);
    zn_pack_str(&hp.pk, v == HDR_BAD_SENDER ? "School!" : "school");
    zn_pack_str(&hp.pk, ZH_HANDLER);
    zn_pack_str(&hp.pk, "wijkracht");
    msgpack_pack_uint64(&hp.pk, zh_now_ms());
    msgpack_pack_uint64(&hp.pk, w->h->version);
    msgpack_pack_uint64(&hp.pk, v == HDR_FLAGS2 ? 2 : 0); /* bit 0 (i-checked) is known */
    zn_pack_bin(&hp.pk, hash, sizeof hash);
    if (v == HDR_ELEVEN)
        msgpack_pack_nil(&hp.pk);
    size_t ns = sizeof ZN_ENVELOPE_NS - 1;
    uint8_t msg[sizeof ZN_ENVELOPE_NS + ZN_MAX_HEADER];
    assert_true(hp.sb.size <= ZN_MAX_HEADER);
    memcpy(msg, ZN_ENVELOPE_NS, ns);
    memcpy(msg + ns, hp.sb.data, hp.sb.size);
    assert_int_equal(crypto_sign_detached(sig, NULL, msg, ns + hp.sb.size, w->h->party[ZH_SCHOOL].keys.sign), 0);
    msgpack_pack_array(&p->pk, 3);
    zn_pack_bin(&p->pk, hp.sb.data, hp.sb.size);
    zn_pack_bin(&p->pk, sig, sizeof sig);
    zn_pack_bin(&p->pk, ct, sizeof ct);
    msgpack_sbuffer_destroy(&hp.sb);
}

/* ---- tests ---- */

static void test_baseline(void **state)
{
    s_world *w = *state;
    zh_env *h = w->h;
    /* WELCOME names the partner the key belongs to and the convenant in force */
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    zn_frame_hello(&sb, 17, h->version, 0, 0);
    zh_msg m;
    assert_int_equal(zh_call(w->school, &sb, &m, ZH_TIMEOUT), 0);
    assert_true(m.parsed);
    assert_int_equal(m.f.type, ZN_T_WELCOME);
    assert_int_equal(m.f.corr, 17);
    assert_string_equal(m.f.u.welcome.partner, "school");
    assert_int_equal(m.f.u.welcome.convenant_version, h->version);
    zh_msg_free(&m);
    /* CONVENANT_GET returns the signed file as written */
    msgpack_sbuffer_clear(&sb);
    zn_frame_convenant_get(&sb, 18);
    assert_int_equal(zh_call(w->school, &sb, &m, ZH_TIMEOUT), 0);
    assert_true(m.parsed);
    assert_int_equal(m.f.type, ZN_T_CONVENANT);
    assert_int_equal(m.f.corr, 18);
    zn_convenant *c = NULL;
    zn_err e;
    assert_int_equal(zn_convenant_load(h->conv_path, &c, &e), 0);
    assert_int_equal(m.f.u.convenant.len, c->raw_len);
    assert_memory_equal(m.f.u.convenant.raw, c->raw, c->raw_len);
    /* the network key opens for partners and the auditor, never for a coordinator */
    zn_netkey nk;
    assert_int_equal(zn_convenant_open_netkey(c, &h->party[ZH_SCHOOL].keys, "school", &nk, &e), 0);
    assert_memory_equal(nk.key, h->netkey.key, ZN_KEY_LEN);
    assert_int_equal(zn_convenant_open_netkey(c, &h->party[ZH_AUDITOR].keys, "auditor", &nk, &e), 0);
    assert_memory_equal(nk.key, h->netkey.key, ZN_KEY_LEN);
    assert_int_not_equal(zn_convenant_open_netkey(c, &h->party[ZH_COORD].keys, "coordinator", &nk, &e), 0);
    zn_convenant_destroy(&c);
    zh_msg_free(&m);
    /* an ACK of ids the broker never handed out changes nothing and is not answered */
    uint8_t ids[2][ZN_ID_LEN];
    zh_random(ids, sizeof ids);
    msgpack_sbuffer_clear(&sb);
    zn_frame_ack(&sb, 19, (const uint8_t(*)[ZN_ID_LEN])ids, 2);
    assert_int_equal(zh_send_sb(w->school, &sb), 0);
    assert_true(zh_quiet(w->school, ZH_QUIET));
    msgpack_sbuffer_destroy(&sb);
    s_still_serves(w, w->school);
}

static void test_malformed_msgpack(void **state)
{
    s_world *w = *state;
    void *s = w->school;
    static const uint8_t never_used[] = {0xc1};
    static const uint8_t empty[] = {0};
    static const uint8_t a_float[] = {0x93, 0x01, 0xca, 0x3f, 0xc0, 0x00, 0x00, 0x05};      /* [1, 1.5f, 5] */
    static const uint8_t a_map[] = {0x81, 0xa1, 'a', 0x01};                              /* {"a": 1} */
    static const uint8_t an_ext[] = {0x93, 0x01, 0x01, 0xd4, 0x01, 0x00};                /* [1, 1, ext] */
    static const uint8_t lying_count[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0x01};          /* array32 of 2^32-1 */
    static const uint8_t lying_bin[] = {0x94, 0x01, 0x03, 0x05, 0xc6, 0x7f, 0xff, 0xff, 0xff}; /* bin32 2 GiB */
    static const uint8_t not_utf8[] = {0x92, 0xa2, 0xff, 0xfe, 0x01};
    s_expect_bytes(s, never_used, sizeof never_used, ZN_E_MALFORMED, 0);
    s_expect_bytes(s, empty, 0, ZN_E_MALFORMED, 0);
    s_expect_bytes(s, a_float, sizeof a_float, ZN_E_MALFORMED, 0);
    s_expect_bytes(s, a_map, sizeof a_map, ZN_E_MALFORMED, 0);
    s_expect_bytes(s, an_ext, sizeof an_ext, ZN_E_MALFORMED, 0);
    s_expect_bytes(s, lying_count, sizeof lying_count, ZN_E_MALFORMED, 0);
    s_expect_bytes(s, lying_bin, sizeof lying_bin, ZN_E_MALFORMED, 0);
    s_expect_bytes(s, not_utf8, sizeof not_utf8, ZN_E_MALFORMED, 0);
    /* nesting deeper than the decoder allows */
    uint8_t deep[40];
    for (size_t i = 0; i < sizeof deep - 1; i++)
        deep[i] = 0x91;
    deep[sizeof deep - 1] = 0x01;
    s_expect_bytes(s, deep, sizeof deep, ZN_E_MALFORMED, 0);
    /* an array that is too short to hold [version, type, corr] */
    static const uint8_t short_head[] = {0x92, 0x01, 0x01};
    s_expect_bytes(s, short_head, sizeof short_head, ZN_E_MALFORMED, 0);
    s_still_serves(w, s);
}

static void test_truncated_frame(void **state)
{
    s_world *w = *state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    zn_frame_hello(&sb, 21, w->h->version, 0, 0);
    for (size_t cut = 1; cut < sb.size; cut += 3)
        s_expect_bytes(w->school, sb.data, sb.size - cut, ZN_E_MALFORMED, 0);
    /* a SEND cut anywhere is refused whole and queues nothing */
    size_t len;
    uint8_t *env = s_envelope(w, "wijkracht", NULL, NULL, &len, NULL);
    msgpack_sbuffer_clear(&sb);
    zh_frame_send(&sb, 22, env, len);
    s_expect_bytes(w->school, sb.data, sb.size - 1, ZN_E_MALFORMED, 0);
    s_expect_bytes(w->school, sb.data, sb.size / 2, ZN_E_MALFORMED, 0);
    s_expect_bytes(w->school, sb.data, 12, ZN_E_MALFORMED, 0);
    free(env);
    msgpack_sbuffer_destroy(&sb);
    s_still_serves(w, w->school);
}

static void test_trailing_byte(void **state)
{
    s_world *w = *state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    zn_frame_hello(&sb, 31, w->h->version, 0, 0);
    msgpack_sbuffer_write(&sb, "\x00", 1);
    s_expect(w->school, &sb, ZN_E_MALFORMED, 0);
    /* a SEND followed by one more object: refused whole, nothing queued */
    size_t len;
    uint8_t *env = s_envelope(w, "wijkracht", NULL, NULL, &len, NULL);
    msgpack_sbuffer_clear(&sb);
    zh_frame_send(&sb, 32, env, len);
    msgpack_sbuffer_write(&sb, "\xc0", 1);
    s_expect(w->school, &sb, ZN_E_MALFORMED, 0);
    /* an envelope with a byte after its third field, inside an otherwise correct frame */
    msgpack_sbuffer_clear(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 4);
    msgpack_pack_uint8(&pk, 1);
    msgpack_pack_uint8(&pk, ZN_T_SEND);
    msgpack_pack_uint32(&pk, 33);
    zn_pack_raw(&pk, env, len);
    msgpack_sbuffer_write(&sb, "\x00", 1);
    s_expect(w->school, &sb, ZN_E_MALFORMED, 0);
    free(env);
    msgpack_sbuffer_destroy(&sb);
    s_still_serves(w, w->school);
}

static void test_oversized_frame(void **state)
{
    s_world *w = *state;
    zh_env *h = w->h;
    /* just over the limit: refused with too-large, the connection stays */
    size_t n = (size_t)ZN_FRAME_MAX + 1;
    uint8_t *big = calloc(1, 2 * (size_t)ZN_FRAME_MAX + 2);
    assert_non_null(big);
    s_expect_bytes(w->school, big, n, ZN_E_TOO_LARGE, 0);
    /* an over-long SEND that is well-formed msgpack: refused too, nothing queued */
    s_pack p;
    s_pack_init(&p);
    s_head(&p, 1, ZN_T_SEND, 41, 1);
    msgpack_pack_array(&p.pk, 3);
    zn_pack_bin(&p.pk, big, 100);
    zn_pack_bin(&p.pk, big, ZN_SIG_LEN);
    zn_pack_bin(&p.pk, big, ZN_FRAME_MAX);
    assert_true(p.sb.size > ZN_FRAME_MAX);
    s_expect(w->school, &p.sb, ZN_E_TOO_LARGE, 0);
    msgpack_sbuffer_destroy(&p.sb);
    assert_int_equal(zh_hello(w->school, 42, h->version, 0), 0);
    /* far beyond the limit: the broker cuts the connection off instead of reading it */
    void *c = zh_connect_party(h, ZH_SCHOOL);
    assert_non_null(c);
    assert_int_equal(zh_hello(c, 1, h->version, 0), 0);
    s_send_bytes(c, big, 2 * (size_t)ZN_FRAME_MAX + 2);
    zh_msg m;
    if (zh_recv(c, ZH_QUIET * 2, &m) == 0) {
        /* if the broker answers at all, it must be a refusal */
        assert_true(zh_is_error(&m, ZN_E_TOO_LARGE, 0));
        zh_msg_free(&m);
    }
    zh_close(h, &c);
    free(big);
    s_still_serves(w, w->school);
}

static void test_multipart_message(void **state)
{
    s_world *w = *state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    zn_frame_hello(&sb, 51, w->h->version, 0, 0);
    /* two parts, each a valid HELLO: refused once, as one message */
    assert_int_equal(zmq_send(w->school, sb.data, sb.size, ZMQ_SNDMORE), (int)sb.size);
    assert_int_equal(zmq_send(w->school, sb.data, sb.size, 0), (int)sb.size);
    zh_msg m;
    assert_int_equal(zh_recv(w->school, ZH_TIMEOUT, &m), 0);
    assert_true(zh_is_error(&m, ZN_E_MALFORMED, 0));
    zh_msg_free(&m);
    assert_true(zh_quiet(w->school, ZH_QUIET));
    /* a SEND split over three parts: refused, nothing queued */
    size_t len;
    uint8_t *env = s_envelope(w, "wijkracht", NULL, NULL, &len, NULL);
    msgpack_sbuffer_clear(&sb);
    zh_frame_send(&sb, 52, env, len);
    assert_int_equal(zmq_send(w->school, sb.data, sb.size, ZMQ_SNDMORE), (int)sb.size);
    assert_int_equal(zmq_send(w->school, "", 0, ZMQ_SNDMORE), 0);
    assert_int_equal(zmq_send(w->school, sb.data, sb.size, 0), (int)sb.size);
    assert_int_equal(zh_recv(w->school, ZH_TIMEOUT, &m), 0);
    assert_true(zh_is_error(&m, ZN_E_MALFORMED, 0));
    zh_msg_free(&m);
    assert_true(zh_quiet(w->school, ZH_QUIET));
    free(env);
    msgpack_sbuffer_destroy(&sb);
    s_still_serves(w, w->school);
}

static void test_unknown_frame_type(void **state)
{
    s_world *w = *state;
    s_pack p;
    s_pack_init(&p);
    static const uint64_t types[] = {0, 15, 99, 255, 65536, UINT64_MAX};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        s_pack_reset(&p);
        s_head(&p, 1, types[i], (uint32_t)(60 + i), 0);
        s_expect(w->school, &p.sb, ZN_E_UNKNOWN_TYPE, (uint32_t)(60 + i));
    }
    /* with fields that would fit another type */
    s_pack_reset(&p);
    s_head(&p, 1, 42, 70, 2);
    msgpack_pack_uint64(&p.pk, 1);
    msgpack_pack_uint32(&p.pk, 5);
    s_expect(w->school, &p.sb, ZN_E_UNKNOWN_TYPE, 70);
    /* a validly signed request of a kind the broker does not know */
    uint8_t nonce[ZN_NONCE_LEN];
    zh_random(nonce, sizeof nonce);
    s_pack_reset(&p);
    assert_int_equal(zh_request_frame_ex(w->h, &p.sb, 71, ZH_SCHOOL, 1, "consent-grant", "school", nonce, zh_now_ms(),
                                         (const uint8_t *)"\x90", 1),
                     0);
    s_expect(w->school, &p.sb, ZN_E_UNKNOWN_TYPE, 71);
    msgpack_sbuffer_destroy(&p.sb);
    s_still_serves(w, w->school);
}

static void test_broker_only_types(void **state)
{
    s_world *w = *state;
    void *s = w->school;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    uint8_t id[ZN_ID_LEN];
    zh_random(id, sizeof id);

    static const uint8_t head[1] = {0x90}, sig[ZN_SIG_LEN];
    zn_frame_welcome(&sb, 71, w->h->version, "school", zh_now_ms(), head, sizeof head, sig, NULL, 0);
    s_expect(s, &sb, ZN_E_UNKNOWN_TYPE, 71);
    msgpack_sbuffer_clear(&sb);
    zn_frame_accepted(&sb, 72, id, false, 0);
    s_expect(s, &sb, ZN_E_UNKNOWN_TYPE, 72);
    msgpack_sbuffer_clear(&sb);
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &body, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 1);
    zn_pack_bin(&pk, w->kase, ZN_ID_LEN);
    zn_frame_result(&sb, 73, "case-new", (const uint8_t *)body.data, body.size);
    s_expect(s, &sb, ZN_E_UNKNOWN_TYPE, 73);
    msgpack_sbuffer_clear(&sb);
    zn_frame_error(&sb, 74, ZN_E_QUOTA, NULL);
    s_expect(s, &sb, ZN_E_UNKNOWN_TYPE, 74);
    msgpack_sbuffer_clear(&sb);
    zn_frame_convenant(&sb, 75, (const uint8_t *)"x", 1);
    s_expect(s, &sb, ZN_E_UNKNOWN_TYPE, 75);
    /* pushed types carry corr 0 */
    msgpack_sbuffer_clear(&body);
    zn_notice_dropped(&body, zh_now_ms(), id, w->kase, "wijkracht", ZN_E_NOT_IN_CONVENANT);
    msgpack_sbuffer_clear(&sb);
    zn_frame_deliver(&sb, id, ZN_ITEM_NOTICE, (const uint8_t *)body.data, body.size);
    s_expect(s, &sb, ZN_E_UNKNOWN_TYPE, 0);
    msgpack_sbuffer_clear(&sb);
    zn_frame_bye(&sb, ZN_E_SHUTDOWN, NULL);
    s_expect(s, &sb, ZN_E_UNKNOWN_TYPE, 0);
    msgpack_sbuffer_clear(&sb);
    zn_frame_idle(&sb);
    s_expect(s, &sb, ZN_E_UNKNOWN_TYPE, 0);
    /* a DELIVER that carries an envelope for the broker to "deliver" queues nothing */
    size_t len;
    uint8_t *env = s_envelope(w, "wijkracht", NULL, NULL, &len, NULL);
    msgpack_sbuffer_clear(&sb);
    zn_frame_deliver(&sb, id, ZN_ITEM_ENVELOPE, env, len);
    s_expect(s, &sb, ZN_E_UNKNOWN_TYPE, 0);
    free(env);
    msgpack_sbuffer_destroy(&body);
    msgpack_sbuffer_destroy(&sb);
    s_still_serves(w, s);
}

static void test_wrong_field_types(void **state)
{
    s_world *w = *state;
    void *s = w->school;
    s_pack p;
    s_pack_init(&p);
    uint8_t id[ZN_ID_LEN];
    zh_random(id, sizeof id);

    /* HELLO: convenant_version as a string */
    s_head(&p, 1, ZN_T_HELLO, 81, 2);
    zn_pack_str(&p.pk, "1");
    msgpack_pack_uint32(&p.pk, 5);
    s_expect(s, &p.sb, ZN_E_MALFORMED, 81);
    /* HELLO: a window beyond ZN_MAX_WINDOW */
    s_pack_reset(&p);
    s_head(&p, 1, ZN_T_HELLO, 82, 2);
    msgpack_pack_uint64(&p.pk, 1);
    msgpack_pack_uint32(&p.pk, ZN_MAX_WINDOW + 1);
    s_expect(s, &p.sb, ZN_E_MALFORMED, 82);
    /* HELLO: a negative window */
    s_pack_reset(&p);
    s_head(&p, 1, ZN_T_HELLO, 83, 2);
    msgpack_pack_uint64(&p.pk, 1);
    msgpack_pack_int32(&p.pk, -1);
    s_expect(s, &p.sb, ZN_E_MALFORMED, 83);
    /* HELLO: a field missing, and one too many */
    s_pack_reset(&p);
    s_head(&p, 1, ZN_T_HELLO, 84, 1);
    msgpack_pack_uint64(&p.pk, 1);
    s_expect(s, &p.sb, ZN_E_MALFORMED, 84);
    s_pack_reset(&p);
    s_head(&p, 1, ZN_T_HELLO, 85, 3);
    msgpack_pack_uint64(&p.pk, 1);
    msgpack_pack_uint32(&p.pk, 0);
    msgpack_pack_nil(&p.pk);
    s_expect(s, &p.sb, ZN_E_MALFORMED, 85);
    /* corr that is not a u32: answered with corr 0 */
    s_pack_reset(&p);
    msgpack_pack_array(&p.pk, 5);
    msgpack_pack_uint8(&p.pk, 1);
    msgpack_pack_uint8(&p.pk, ZN_T_HELLO);
    zn_pack_str(&p.pk, "corr");
    msgpack_pack_uint64(&p.pk, 1);
    msgpack_pack_uint32(&p.pk, 0);
    s_expect(s, &p.sb, ZN_E_MALFORMED, 0);
    s_pack_reset(&p);
    msgpack_pack_array(&p.pk, 5);
    msgpack_pack_uint8(&p.pk, 1);
    msgpack_pack_uint8(&p.pk, ZN_T_HELLO);
    msgpack_pack_uint64(&p.pk, (uint64_t)UINT32_MAX + 1);
    msgpack_pack_uint64(&p.pk, 1);
    msgpack_pack_uint32(&p.pk, 0);
    s_expect(s, &p.sb, ZN_E_MALFORMED, 0);
    /* version and type as strings (corr is still read) */
    s_pack_reset(&p);
    msgpack_pack_array(&p.pk, 5);
    zn_pack_str(&p.pk, "1");
    msgpack_pack_uint8(&p.pk, ZN_T_HELLO);
    msgpack_pack_uint32(&p.pk, 86);
    msgpack_pack_uint64(&p.pk, 1);
    msgpack_pack_uint32(&p.pk, 0);
    s_expect(s, &p.sb, ZN_E_MALFORMED, 86);
    s_pack_reset(&p);
    msgpack_pack_array(&p.pk, 5);
    msgpack_pack_uint8(&p.pk, 1);
    zn_pack_str(&p.pk, "HELLO");
    msgpack_pack_uint32(&p.pk, 87);
    msgpack_pack_uint64(&p.pk, 1);
    msgpack_pack_uint32(&p.pk, 0);
    s_expect(s, &p.sb, ZN_E_MALFORMED, 87);
    /* SEND: the envelope is a map, a string, an array of 2 */
    s_pack_reset(&p);
    s_head(&p, 1, ZN_T_SEND, 88, 1);
    msgpack_pack_map(&p.pk, 1);
    zn_pack_str(&p.pk, "header");
    zn_pack_bin(&p.pk, id, sizeof id);
    s_expect(s, &p.sb, ZN_E_MALFORMED, 88);
    s_pack_reset(&p);
    s_head(&p, 1, ZN_T_SEND, 89, 1);
    zn_pack_str(&p.pk, "envelope");
    s_expect(s, &p.sb, ZN_E_MALFORMED, 89);
    s_pack_reset(&p);
    s_head(&p, 1, ZN_T_SEND, 90, 1);
    msgpack_pack_array(&p.pk, 2);
    zn_pack_bin(&p.pk, id, sizeof id);
    zn_pack_bin(&p.pk, id, sizeof id);
    s_expect(s, &p.sb, ZN_E_MALFORMED, 90);
    /* SEND: a signature of 63 bytes; a ciphertext that is no padding bucket */
    s_pack_reset(&p);
    s_head(&p, 1, ZN_T_SEND, 91, 1);
    uint8_t junk[ZN_CT_OVERHEAD + ZN_PAD_MIN + 1];
    zh_random(junk, sizeof junk);
    msgpack_pack_array(&p.pk, 3);
    zn_pack_bin(&p.pk, junk, 40);
    zn_pack_bin(&p.pk, junk, ZN_SIG_LEN - 1);
    zn_pack_bin(&p.pk, junk, ZN_CT_OVERHEAD + ZN_PAD_MIN);
    s_expect(s, &p.sb, ZN_E_MALFORMED, 91);
    s_pack_reset(&p);
    s_head(&p, 1, ZN_T_SEND, 92, 1);
    msgpack_pack_array(&p.pk, 3);
    zn_pack_bin(&p.pk, junk, 40);
    zn_pack_bin(&p.pk, junk, ZN_SIG_LEN);
    zn_pack_bin(&p.pk, junk, sizeof junk);
    s_expect(s, &p.sb, ZN_E_MALFORMED, 92);
    /* SEND: hand-made headers with a 15-byte msgid, flags 1, eleven fields, a sender that is no
     * identifier */
    static const s_hdr_variant bad[] = {HDR_MSGID15, HDR_FLAGS2, HDR_ELEVEN, HDR_BAD_SENDER};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t msgid[ZN_ID_LEN];
        s_pack_reset(&p);
        s_head(&p, 1, ZN_T_SEND, (uint32_t)(93 + i), 1);
        s_custom_envelope(w, &p, bad[i], msgid);
        s_expect(s, &p.sb, ZN_E_MALFORMED, (uint32_t)(93 + i));
    }
    /* ACK: an empty list, an id of 15 bytes, ids that are strings */
    s_pack_reset(&p);
    s_head(&p, 1, ZN_T_ACK, 100, 1);
    msgpack_pack_array(&p.pk, 0);
    s_expect(s, &p.sb, ZN_E_MALFORMED, 100);
    s_pack_reset(&p);
    s_head(&p, 1, ZN_T_ACK, 101, 1);
    msgpack_pack_array(&p.pk, 2);
    zn_pack_bin(&p.pk, id, ZN_ID_LEN);
    zn_pack_bin(&p.pk, id, ZN_ID_LEN - 1);
    s_expect(s, &p.sb, ZN_E_MALFORMED, 101);
    s_pack_reset(&p);
    s_head(&p, 1, ZN_T_ACK, 102, 1);
    msgpack_pack_array(&p.pk, 1);
    zn_pack_str(&p.pk, "0123456789abcdef");
    s_expect(s, &p.sb, ZN_E_MALFORMED, 102);
    /* ACK: one id more than ZN_MAX_ACK is refused; ZN_MAX_ACK unknown ids change nothing */
    uint8_t (*many)[ZN_ID_LEN] = calloc(ZN_MAX_ACK + 1, ZN_ID_LEN);
    assert_non_null(many);
    zh_random(many, (ZN_MAX_ACK + 1) * ZN_ID_LEN);
    msgpack_sbuffer_clear(&p.sb);
    zn_frame_ack(&p.sb, 106, (const uint8_t(*)[ZN_ID_LEN])many, ZN_MAX_ACK + 1);
    s_expect(s, &p.sb, ZN_E_MALFORMED, 106);
    msgpack_sbuffer_clear(&p.sb);
    zn_frame_ack(&p.sb, 107, (const uint8_t(*)[ZN_ID_LEN])many, ZN_MAX_ACK);
    assert_int_equal(zh_send_sb(s, &p.sb), 0);
    assert_true(zh_quiet(s, ZH_QUIET));
    free(many);
    /* REQUEST: a 63-byte signature; a request that is not msgpack; a case-new body of one field */
    uint8_t sig[ZN_SIG_LEN];
    zh_random(sig, sizeof sig);
    s_pack_reset(&p);
    s_head(&p, 1, ZN_T_REQUEST, 103, 2);
    zn_pack_bin(&p.pk, "\x90", 1);
    zn_pack_bin(&p.pk, sig, ZN_SIG_LEN - 1);
    s_expect(s, &p.sb, ZN_E_MALFORMED, 103);
    s_pack_reset(&p);
    s_head(&p, 1, ZN_T_REQUEST, 104, 2);
    zn_pack_bin(&p.pk, "\xc1\xc1", 2);
    zn_pack_bin(&p.pk, sig, ZN_SIG_LEN);
    s_expect(s, &p.sb, ZN_E_MALFORMED, 104);
    uint8_t nonce[ZN_NONCE_LEN], case_id[ZN_ID_LEN];
    zh_random(nonce, sizeof nonce);
    zh_random(case_id, sizeof case_id);
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    msgpack_packer bpk;
    msgpack_packer_init(&bpk, &body, msgpack_sbuffer_write);
    msgpack_pack_array(&bpk, 1);
    zn_pack_bin(&bpk, case_id, ZN_ID_LEN);
    s_pack_reset(&p);
    assert_int_equal(zh_request_frame_ex(w->h, &p.sb, 105, ZH_SCHOOL, 1, "case-new", "school", nonce, zh_now_ms(),
                                         (const uint8_t *)body.data, body.size),
                     0);
    s_expect(s, &p.sb, ZN_E_MALFORMED, 105);
    /* the refused request consumed nothing: its nonce still works with a proper body */
    s_pack_reset(&p);
    assert_int_equal(zh_case_new_frame(w->h, &p.sb, 108, ZH_SCHOOL, NULL, case_id, ZH_NET0, 0, nonce), 0);
    zh_msg m;
    assert_int_equal(zh_call(s, &p.sb, &m, ZH_TIMEOUT), 0);
    assert_true(m.parsed);
    assert_int_equal(m.f.type, ZN_T_RESULT);
    assert_int_equal(m.f.corr, 108);
    zh_msg_free(&m);
    msgpack_sbuffer_destroy(&body);
    msgpack_sbuffer_destroy(&p.sb);
    s_still_serves(w, s);
}

static void test_unsupported_version(void **state)
{
    s_world *w = *state;
    void *s = w->school;
    s_pack p;
    s_pack_init(&p);
    static const uint64_t versions[] = {0, 2, 255, UINT64_MAX};
    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
        s_pack_reset(&p);
        s_head(&p, versions[i], ZN_T_HELLO, (uint32_t)(110 + i), 2);
        msgpack_pack_uint64(&p.pk, 1);
        msgpack_pack_uint32(&p.pk, 0);
        s_expect(s, &p.sb, ZN_E_VERSION, (uint32_t)(110 + i));
    }
    /* an envelope header of version 2 */
    uint8_t msgid[ZN_ID_LEN];
    s_pack_reset(&p);
    s_head(&p, 1, ZN_T_SEND, 120, 1);
    s_custom_envelope(w, &p, HDR_VERSION2, msgid);
    s_expect(s, &p.sb, ZN_E_VERSION, 120);
    /* a request of version 2 */
    uint8_t nonce[ZN_NONCE_LEN], case_id[ZN_ID_LEN];
    zh_random(nonce, sizeof nonce);
    zh_random(case_id, sizeof case_id);
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    zn_case_new_body cb = {.network = ZH_NET0};
    memcpy(cb.id, case_id, ZN_ID_LEN);
    assert_int_equal(zn_body_case_new_enc(&body, &cb), 0);
    s_pack_reset(&p);
    assert_int_equal(zh_request_frame_ex(w->h, &p.sb, 121, ZH_SCHOOL, 2, "case-new", "school", nonce, zh_now_ms(),
                                         (const uint8_t *)body.data, body.size),
                     0);
    s_expect(s, &p.sb, ZN_E_VERSION, 121);
    /* the case of the refused request does not exist */
    size_t len;
    uint8_t *env = s_envelope(w, "wijkracht", case_id, NULL, &len, NULL);
    s_pack_reset(&p);
    zh_frame_send(&p.sb, 122, env, len);
    s_expect(s, &p.sb, ZN_E_UNKNOWN_CASE, 122);
    free(env);
    /* a hand-made header that is right in every way is accepted (the variants above are the
     * only difference) */
    s_pack_reset(&p);
    s_head(&p, 1, ZN_T_SEND, 123, 1);
    s_custom_envelope(w, &p, HDR_OK, msgid);
    zh_msg m;
    assert_int_equal(zh_call(s, &p.sb, &m, ZH_TIMEOUT), 0);
    assert_true(m.parsed);
    assert_int_equal(m.f.type, ZN_T_ACCEPTED);
    assert_memory_equal(m.f.u.accepted.msgid, msgid, ZN_ID_LEN);
    zh_msg_free(&m);
    /* take it out of wijkracht's queue so that s_still_serves sees one envelope */
    void *r = zh_connect_party(w->h, ZH_WIJKRACHT);
    assert_int_equal(zh_hello(r, 1, w->h->version, 4), 0);
    zh_item it[2];
    assert_int_equal(zh_drain(w->h, r, it, 2, true, ZH_TIMEOUT), 1);
    assert_memory_equal(it[0].msgid, msgid, ZN_ID_LEN);
    assert_int_equal(zh_sync(r, 2, NULL), 0);
    zh_close(w->h, &r);
    msgpack_sbuffer_destroy(&body);
    msgpack_sbuffer_destroy(&p.sb);
    s_still_serves(w, s);
}

static void test_unknown_recipient(void **state)
{
    s_world *w = *state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    uint8_t msgid[ZN_ID_LEN];
    size_t len;
    uint8_t *env = s_envelope(w, "nobody", NULL, NULL, &len, msgid);
    zh_frame_send(&sb, 131, env, len);
    s_expect(w->school, &sb, ZN_E_UNKNOWN_PARTNER, 131);
    free(env);
    /* the message id was not used up: the same id to a real recipient is new */
    env = s_envelope(w, "wijkracht", NULL, msgid, &len, NULL);
    bool dup = true;
    assert_int_equal(zh_send_env(w->school, 132, env, len, &dup), 0);
    assert_false(dup);
    free(env);
    void *r = zh_connect_party(w->h, ZH_WIJKRACHT);
    assert_int_equal(zh_hello(r, 1, w->h->version, 4), 0);
    zh_item it[2];
    assert_int_equal(zh_drain(w->h, r, it, 2, true, ZH_TIMEOUT), 1);
    assert_memory_equal(it[0].msgid, msgid, ZN_ID_LEN);
    assert_int_equal(zh_sync(r, 2, NULL), 0);
    zh_close(w->h, &r);
    msgpack_sbuffer_destroy(&sb);
    s_still_serves(w, w->school);
}

static void test_unknown_case(void **state)
{
    s_world *w = *state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    uint8_t case_id[ZN_ID_LEN];
    zh_random(case_id, sizeof case_id);
    size_t len;
    uint8_t *env = s_envelope(w, "wijkracht", case_id, NULL, &len, NULL);
    zh_frame_send(&sb, 141, env, len);
    s_expect(w->school, &sb, ZN_E_UNKNOWN_CASE, 141);
    free(env);
    msgpack_sbuffer_destroy(&sb);
    s_still_serves(w, w->school);
}

static void test_forged_sender(void **state)
{
    s_world *w = *state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    /* wijkracht's own, validly signed envelope, sent over school's connection */
    uint8_t msgid[ZN_ID_LEN];
    size_t len;
    uint8_t *env = NULL;
    assert_int_equal(zh_seal(w->h, ZH_WIJKRACHT, "school", w->kase, NULL, "x", 1, &env, &len, msgid), 0);
    zh_frame_send(&sb, 151, env, len);
    s_expect(w->school, &sb, ZN_E_SENDER_MISMATCH, 151);
    free(env);
    /* a header naming a partner that does not exist, signed by school */
    zn_header hdr;
    memset(&hdr, 0, sizeof hdr);
    zh_random(hdr.msgid, ZN_ID_LEN);
    memcpy(hdr.case_id, w->kase, ZN_ID_LEN);
    snprintf(hdr.sender, sizeof hdr.sender, "schoo1");
    snprintf(hdr.handler, sizeof hdr.handler, "%s", ZH_HANDLER);
    snprintf(hdr.recipient, sizeof hdr.recipient, "wijkracht");
    hdr.time_ms = zh_now_ms();
    hdr.convenant_version = w->h->version;
    assert_int_equal(zh_seal_header(w->h, ZH_SCHOOL, &hdr, w->h->party[ZH_WIJKRACHT].keys.pub.box, "y", 1, &env, &len), 0);
    msgpack_sbuffer_clear(&sb);
    zh_frame_send(&sb, 152, env, len);
    s_expect(w->school, &sb, ZN_E_SENDER_MISMATCH, 152);
    free(env);
    /* wijkracht may use the same message id afterwards: nothing was recorded for it (once school
     * wrote to it on the case, it is a member and may answer) */
    assert_int_equal(zh_seal(w->h, ZH_SCHOOL, "wijkracht", w->kase, NULL, "z", 1, &env, &len, NULL), 0);
    assert_int_equal(zh_send_env(w->school, 154, env, len, NULL), 0);
    free(env);
    void *c = zh_connect_party(w->h, ZH_WIJKRACHT);
    assert_int_equal(zh_hello(c, 1, w->h->version, 8), 0);
    zh_item got[2];
    assert_int_equal(zh_drain(w->h, c, got, 2, true, ZH_TIMEOUT), 1); /* school's message, acknowledged */
    assert_int_equal(zh_seal(w->h, ZH_WIJKRACHT, "school", w->kase, msgid, "x", 1, &env, &len, NULL), 0);
    bool dup = true;
    assert_int_equal(zh_send_env(c, 153, env, len, &dup), 0);
    assert_false(dup);
    free(env);
    zh_close(w->h, &c);
    msgpack_sbuffer_destroy(&sb);
    s_still_serves(w, w->school);
}

static void test_recipient_not_in_network(void **state)
{
    s_world *w = *state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    /* coordinators and auditors never receive case content; ggd is no partner in 0-12 */
    static const char *const to[] = {"coordinator", "auditor", "ggd"};
    for (size_t i = 0; i < 3; i++) {
        size_t len;
        uint8_t *env = s_envelope(w, to[i], NULL, NULL, &len, NULL);
        msgpack_sbuffer_clear(&sb);
        zh_frame_send(&sb, (uint32_t)(161 + i), env, len);
        s_expect(w->school, &sb, ZN_E_NOT_IN_NETWORK, (uint32_t)(161 + i));
        free(env);
    }
    /* nor may they send on it */
    static const int from[] = {ZH_COORD, ZH_AUDITOR, ZH_GGD};
    for (size_t i = 0; i < 3; i++) {
        void *c = zh_connect_party(w->h, from[i]);
        assert_non_null(c);
        assert_int_equal(zh_hello(c, 1, w->h->version, 0), 0);
        uint8_t *env = NULL;
        size_t len;
        assert_int_equal(zh_seal(w->h, from[i], "wijkracht", w->kase, NULL, "z", 1, &env, &len, NULL), 0);
        msgpack_sbuffer_clear(&sb);
        zh_frame_send(&sb, (uint32_t)(171 + i), env, len);
        s_expect(c, &sb, ZN_E_NOT_IN_NETWORK, (uint32_t)(171 + i));
        free(env);
        zh_close(w->h, &c);
    }
    msgpack_sbuffer_destroy(&sb);
    s_still_serves(w, w->school);
}

/* A ciphertext changed after sealing is not the broker's to judge (it never hashes content):
 * it is ACCEPTED and delivered, and the recipient, whose signed header names another ciphertext,
 * refuses to open it with hash-mismatch. */
static void test_hash_mismatch(void **state)
{
    s_world *w = *state;
    zh_env *h = w->h;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    uint8_t msgid[2][ZN_ID_LEN];
    size_t len[2];
    uint8_t *env[2];
    env[0] = s_envelope(w, "wijkracht", NULL, NULL, &len[0], msgid[0]);
    env[1] = s_envelope(w, "wijkracht", NULL, NULL, &len[1], msgid[1]);
    env[0][len[0] - 1] ^= 0x01;   /* the last byte of the ciphertext */
    env[1][len[1] - 200] ^= 0x80; /* somewhere inside the ciphertext */
    for (int i = 0; i < 2; i++) {
        zh_msg m;
        msgpack_sbuffer_clear(&sb);
        zh_frame_send(&sb, (uint32_t)(181 + i), env[i], len[i]);
        assert_int_equal(zh_call(w->school, &sb, &m, ZH_TIMEOUT), 0);
        assert_true(m.parsed);
        if (m.f.type != ZN_T_ACCEPTED)
            fail_msg("SEND %d: frame type %u (%s), want ACCEPTED", i, m.f.type,
                     m.f.type == ZN_T_ERROR ? m.f.u.error.name : "-");
        assert_int_equal(m.f.corr, 181 + i);
        assert_memory_equal(m.f.u.accepted.msgid, msgid[i], ZN_ID_LEN);
        assert_false(m.f.u.accepted.duplicate);
        zh_msg_free(&m);
    }

    /* the recipient gets both as sent; the header verifies, opening refuses the content */
    const zn_seckeys *school = &h->party[ZH_SCHOOL].keys, *wijk = &h->party[ZH_WIJKRACHT].keys;
    void *r = zh_connect_party(h, ZH_WIJKRACHT);
    assert_non_null(r);
    assert_int_equal(zh_hello(r, 1, h->version, 4), 0);
    for (int i = 0; i < 2; i++) {
        zh_msg m;
        zn_err e;
        uint8_t *plain = NULL;
        size_t plain_len = 0;
        assert_int_equal(zh_wait_type(r, ZN_T_DELIVER, ZH_TIMEOUT, &m, NULL), 0);
        assert_int_equal(m.f.u.deliver.kind, ZN_ITEM_ENVELOPE);
        const zn_envelope *de = &m.f.u.deliver.env;
        int k = memcmp(de->h.msgid, msgid[0], ZN_ID_LEN) == 0 ? 0 : 1;
        assert_memory_equal(de->h.msgid, msgid[k], ZN_ID_LEN);
        msgpack_sbuffer rb;
        msgpack_packer pk;
        msgpack_sbuffer_init(&rb);
        msgpack_packer_init(&pk, &rb, msgpack_sbuffer_write);
        zn_envelope_pack(&pk, de);
        assert_int_equal(rb.size, len[k]);
        assert_memory_equal(rb.data, env[k], len[k]); /* relayed unchanged */
        msgpack_sbuffer_destroy(&rb);
        assert_int_equal(zn_envelope_verify(de, school->pub.sign), 0);
        zn_err_clear(&e);
        assert_int_equal(zn_envelope_open(de, school->pub.box, wijk->box, &plain, &plain_len, &e), -1);
        assert_int_equal(e.code, ZN_E_HASH_MISMATCH);
        assert_null(plain);
        assert_int_equal(zh_ack(r, (uint32_t)(10 + i), m.f.u.deliver.item_id), 0);
        zh_msg_free(&m);
    }
    zh_msg idle;
    assert_int_equal(zh_wait_type(r, ZN_T_IDLE, ZH_TIMEOUT, &idle, NULL), 0);
    zh_msg_free(&idle);
    assert_int_equal(zh_sync(r, 2, NULL), 0);
    zh_close(h, &r);
    free(env[0]);
    free(env[1]);
    msgpack_sbuffer_destroy(&sb);
    s_still_serves(w, w->school);
}

/* The case exists only when a SEND on it is accepted. */
static bool s_case_exists(s_world *w, const uint8_t case_id[ZN_ID_LEN])
{
    size_t len;
    uint8_t *env = s_envelope(w, "wijkracht", case_id, NULL, &len, NULL);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    zh_frame_send(&sb, 999, env, len);
    zh_msg m;
    assert_int_equal(zh_call(w->school, &sb, &m, ZH_TIMEOUT), 0);
    assert_true(m.parsed);
    bool exists = m.f.type == ZN_T_ACCEPTED;
    if (!exists)
        assert_true(zh_is_error(&m, ZN_E_UNKNOWN_CASE, 999));
    zh_msg_free(&m);
    msgpack_sbuffer_destroy(&sb);
    free(env);
    return exists;
}

static void test_request_bad_signature(void **state)
{
    s_world *w = *state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    uint8_t case_id[ZN_ID_LEN];
    zh_random(case_id, sizeof case_id);
    /* signed by wijkracht but naming school: refused as a bad signature */
    assert_int_equal(zh_case_new_frame(w->h, &sb, 191, ZH_WIJKRACHT, "school", case_id, ZH_NET0, 0, NULL), 0);
    s_expect(w->school, &sb, ZN_E_BAD_SIGNATURE, 191);
    /* school's own request with one bit of the signature flipped */
    msgpack_sbuffer_clear(&sb);
    assert_int_equal(zh_case_new_frame(w->h, &sb, 192, ZH_SCHOOL, NULL, case_id, ZH_NET0, 0, NULL), 0);
    sb.data[sb.size - 1] ^= 0x01; /* the signature is the frame's last field */
    s_expect(w->school, &sb, ZN_E_BAD_SIGNATURE, 192);
    /* and with one byte of the signed request changed (the network name's last letter) */
    msgpack_sbuffer_clear(&sb);
    assert_int_equal(zh_case_new_frame(w->h, &sb, 193, ZH_SCHOOL, NULL, case_id, "12-19", 0, NULL), 0);
    char *hit = NULL;
    for (size_t i = 0; i + 5 <= sb.size; i++)
        if (memcmp(sb.data + i, "12-19", 5) == 0)
            hit = sb.data + i;
    assert_non_null(hit);
    hit[4] = '8'; /* now names 12-18, which the signature does not cover */
    s_expect(w->school, &sb, ZN_E_BAD_SIGNATURE, 193);
    assert_false(s_case_exists(w, case_id));
    msgpack_sbuffer_destroy(&sb);
    s_still_serves(w, w->school);
}

static void test_request_replayed(void **state)
{
    s_world *w = *state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    uint8_t case_id[ZN_ID_LEN], other[ZN_ID_LEN], nonce[ZN_NONCE_LEN];
    zh_random(case_id, sizeof case_id);
    zh_random(other, sizeof other);
    zh_random(nonce, sizeof nonce);
    assert_int_equal(zh_case_new_frame(w->h, &sb, 201, ZH_SCHOOL, NULL, case_id, ZH_NET0, 0, nonce), 0);
    zh_msg m;
    assert_int_equal(zh_call(w->school, &sb, &m, ZH_TIMEOUT), 0);
    assert_true(m.parsed);
    assert_int_equal(m.f.type, ZN_T_RESULT);
    zh_msg_free(&m);
    /* the very same frame again */
    s_expect(w->school, &sb, ZN_E_REPLAY, 201);
    /* over another connection of the same partner */
    void *c = zh_connect_party(w->h, ZH_SCHOOL);
    assert_int_equal(zh_hello(c, 1, w->h->version, 0), 0);
    s_expect(c, &sb, ZN_E_REPLAY, 201);
    /* the same nonce in a new, validly signed request for another case */
    msgpack_sbuffer_clear(&sb);
    assert_int_equal(zh_case_new_frame(w->h, &sb, 202, ZH_SCHOOL, NULL, other, ZH_NET0, 0, nonce), 0);
    s_expect(c, &sb, ZN_E_REPLAY, 202);
    assert_false(s_case_exists(w, other));
    /* a fresh nonce for an existing case id: case-exists, not a second case */
    msgpack_sbuffer_clear(&sb);
    uint8_t nonce2[ZN_NONCE_LEN], third[ZN_ID_LEN];
    zh_random(nonce2, sizeof nonce2);
    zh_random(third, sizeof third);
    assert_int_equal(zh_case_new_frame(w->h, &sb, 203, ZH_SCHOOL, NULL, case_id, ZH_NET0, 0, nonce2), 0);
    s_expect(c, &sb, ZN_E_CASE_EXISTS, 203);
    /* the refusal stored nothing, not even its nonce: the nonce opens another case */
    msgpack_sbuffer_clear(&sb);
    assert_int_equal(zh_case_new_frame(w->h, &sb, 205, ZH_SCHOOL, NULL, third, ZH_NET0, 0, nonce2), 0);
    assert_int_equal(zh_call(c, &sb, &m, ZH_TIMEOUT), 0);
    assert_true(m.parsed);
    assert_int_equal(m.f.type, ZN_T_RESULT);
    assert_int_equal(m.f.corr, 205);
    zh_msg_free(&m);
    msgpack_sbuffer_clear(&sb);
    assert_int_equal(zh_case_new_frame(w->h, &sb, 206, ZH_SCHOOL, NULL, third, ZH_NET0, 0, NULL), 0);
    s_expect(c, &sb, ZN_E_CASE_EXISTS, 206);
    /* another partner may use the same nonce: nonces are per partner */
    void *g = zh_connect_party(w->h, ZH_GGD);
    assert_int_equal(zh_hello(g, 1, w->h->version, 0), 0);
    msgpack_sbuffer_clear(&sb);
    assert_int_equal(zh_case_new_frame(w->h, &sb, 204, ZH_GGD, NULL, other, ZH_NET1, 0, nonce), 0);
    assert_int_equal(zh_call(g, &sb, &m, ZH_TIMEOUT), 0);
    assert_true(m.parsed);
    assert_int_equal(m.f.type, ZN_T_RESULT);
    zh_msg_free(&m);
    zh_close(w->h, &g);
    zh_close(w->h, &c);
    msgpack_sbuffer_destroy(&sb);
    s_still_serves(w, w->school);
}

static void test_request_expired(void **state)
{
    s_world *w = *state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    uint64_t window_ms = 300u * 1000u; /* the policy default, which the harness keeps */
    uint8_t case_id[ZN_ID_LEN], nonce[ZN_NONCE_LEN];
    zh_random(case_id, sizeof case_id);
    zh_random(nonce, sizeof nonce);
    assert_int_equal(zh_case_new_frame(w->h, &sb, 211, ZH_SCHOOL, NULL, case_id, ZH_NET0,
                                       zh_now_ms() - window_ms - 60000u, nonce),
                     0);
    s_expect(w->school, &sb, ZN_E_STALE, 211);
    msgpack_sbuffer_clear(&sb);
    assert_int_equal(zh_case_new_frame(w->h, &sb, 212, ZH_SCHOOL, NULL, case_id, ZH_NET0,
                                       zh_now_ms() + window_ms + 60000u, nonce),
                     0);
    s_expect(w->school, &sb, ZN_E_STALE, 212);
    msgpack_sbuffer_clear(&sb);
    assert_int_equal(zh_case_new_frame(w->h, &sb, 213, ZH_SCHOOL, NULL, case_id, ZH_NET0, 1, nonce), 0);
    s_expect(w->school, &sb, ZN_E_STALE, 213);
    assert_false(s_case_exists(w, case_id));
    /* within the window it is fine */
    msgpack_sbuffer_clear(&sb);
    assert_int_equal(zh_case_new_frame(w->h, &sb, 214, ZH_SCHOOL, NULL, case_id, ZH_NET0,
                                       zh_now_ms() - window_ms / 2, NULL),
                     0);
    zh_msg m;
    assert_int_equal(zh_call(w->school, &sb, &m, ZH_TIMEOUT), 0);
    assert_true(m.parsed);
    assert_int_equal(m.f.type, ZN_T_RESULT);
    assert_int_equal(m.f.corr, 214);
    zh_msg_free(&m);
    msgpack_sbuffer_destroy(&sb);
    s_still_serves(w, w->school);
}

static void test_request_other_partner(void **state)
{
    s_world *w = *state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    uint8_t case_id[ZN_ID_LEN];
    zh_random(case_id, sizeof case_id);
    /* wijkracht's own, validly signed request, sent over school's connection */
    assert_int_equal(zh_case_new_frame(w->h, &sb, 221, ZH_WIJKRACHT, NULL, case_id, ZH_NET0, 0, NULL), 0);
    s_expect(w->school, &sb, ZN_E_SENDER_MISMATCH, 221);
    /* school signing a request that claims to be wijkracht's */
    msgpack_sbuffer_clear(&sb);
    assert_int_equal(zh_case_new_frame(w->h, &sb, 222, ZH_SCHOOL, "wijkracht", case_id, ZH_NET0, 0, NULL), 0);
    s_expect(w->school, &sb, ZN_E_SENDER_MISMATCH, 222);
    /* a partner that does not exist */
    msgpack_sbuffer_clear(&sb);
    assert_int_equal(zh_case_new_frame(w->h, &sb, 223, ZH_SCHOOL, "nobody", case_id, ZH_NET0, 0, NULL), 0);
    s_expect(w->school, &sb, ZN_E_SENDER_MISMATCH, 223);
    assert_false(s_case_exists(w, case_id));
    msgpack_sbuffer_destroy(&sb);
    s_still_serves(w, w->school);
}

static void test_case_new_role_not_allowed(void **state)
{
    s_world *w = *state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    uint8_t case_id[ZN_ID_LEN];
    zh_random(case_id, sizeof case_id);
    /* school holds no role in 12-18 */
    assert_int_equal(zh_case_new_frame(w->h, &sb, 231, ZH_SCHOOL, NULL, case_id, ZH_NET1, 0, NULL), 0);
    s_expect(w->school, &sb, ZN_E_NOT_PARTNER, 231);
    /* a network that does not exist */
    msgpack_sbuffer_clear(&sb);
    assert_int_equal(zh_case_new_frame(w->h, &sb, 232, ZH_SCHOOL, NULL, case_id, "18plus", 0, NULL), 0);
    s_expect(w->school, &sb, ZN_E_UNKNOWN_NETWORK, 232);
    assert_false(s_case_exists(w, case_id));
    /* coordinators and auditors open no cases */
    static const int who[] = {ZH_COORD, ZH_AUDITOR};
    for (size_t i = 0; i < 2; i++) {
        void *c = zh_connect_party(w->h, who[i]);
        assert_int_equal(zh_hello(c, 1, w->h->version, 0), 0);
        msgpack_sbuffer_clear(&sb);
        assert_int_equal(zh_case_new_frame(w->h, &sb, (uint32_t)(233 + i), who[i], NULL, case_id, ZH_NET0, 0, NULL),
                         0);
        s_expect(c, &sb, ZN_E_NOT_PARTNER, (uint32_t)(233 + i));
        zh_close(w->h, &c);
    }
    assert_false(s_case_exists(w, case_id));
    msgpack_sbuffer_destroy(&sb);
    s_still_serves(w, w->school);
}

static int s_sum_counts(const zh_env *h, size_t from, const char *key_hex, int *lines)
{
    char needle[128];
    snprintf(needle, sizeof needle, "handshake-refused key=%s ", key_hex);
    *lines = zh_log_count(h, from, needle, NULL);
    int sum = 0;
    FILE *f = fopen(h->log_path, "r");
    if (!f)
        return 0;
    char line[1024];
    if (fseek(f, (long)from, SEEK_SET) == 0)
        while (fgets(line, sizeof line, f)) {
            const char *p = strstr(line, needle);
            const char *c = p ? strstr(p, " count=") : NULL;
            if (c)
                sum += atoi(c + 7);
        }
    fclose(f);
    return sum;
}

static void test_handshake_refused(void **state)
{
    s_world *w = *state;
    zh_env *h = w->h;
    size_t mark = zh_log_size(h);
    zn_seckeys other;
    assert_int_equal(zn_keys_generate(ZN_KIND_PARTNER, &other), 0);
    uint64_t start_minute = zh_now_ms() / 60000u;
    /* keys that no convenant names: refused at the handshake, every time */
    for (int i = 0; i < 20; i++)
        assert_int_equal(zh_handshake(h, &h->outsider, ZH_TIMEOUT), 1);
    for (int i = 0; i < 5; i++)
        assert_int_equal(zh_handshake(h, &other, ZH_TIMEOUT), 1);
    /* a member's key right after: admitted */
    assert_int_equal(zh_handshake(h, &h->party[ZH_GGD].keys, ZH_TIMEOUT), 0);
    /* the outsider's frames are never answered */
    void *o = zh_connect(h, &h->outsider);
    assert_non_null(o);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    zn_frame_hello(&sb, 1, h->version, 0, 0);
    assert_int_equal(zh_send_sb(o, &sb), 0);
    assert_true(zh_quiet(o, ZH_QUIET * 2));
    zh_close(h, &o);
    msgpack_sbuffer_destroy(&sb);
    s_still_serves(w, w->school);
    uint64_t end_minute = zh_now_ms() / 60000u;

    /* refusals are logged per key and minute, not per attempt (the rest come at shutdown) */
    assert_int_equal(zh_broker_stop(h, SIGTERM, 10000), 0);
    char hex[2 * ZN_KEY_LEN + 1], hex2[2 * ZN_KEY_LEN + 1];
    zn_hex(hex, h->outsider.pub.transport, ZN_KEY_LEN);
    zn_hex(hex2, other.pub.transport, ZN_KEY_LEN);
    int lines = 0, lines2 = 0;
    int sum = s_sum_counts(h, mark, hex, &lines), sum2 = s_sum_counts(h, mark, hex2, &lines2);
    int max_lines = (int)(end_minute - start_minute) + 1;
    if (lines < 1 || lines > max_lines || lines2 < 1 || lines2 > max_lines || sum < 20 || sum2 < 5)
        zh_log_dump(h);
    assert_in_range(lines, 1, max_lines);
    assert_in_range(lines2, 1, max_lines);
    assert_true(sum >= 20);
    assert_true(sum2 >= 5);
    /* the member's key is never reported */
    char hex3[2 * ZN_KEY_LEN + 1];
    zn_hex(hex3, h->party[ZH_GGD].keys.pub.transport, ZN_KEY_LEN);
    assert_int_equal(zh_log_count(h, mark, "handshake-refused", hex3), 0);
    assert_int_equal(zh_log_count(h, mark, "shutdown", NULL), 1);
    zn_seckeys_wipe(&other);
}

static void test_handshake_refused_many_keys(void **state)
{
    s_world *w = *state;
    zh_env *h = w->h;
    enum { KEYS = 70 }; /* more than the broker tracks one by one per minute */
    size_t mark = zh_log_size(h);
    uint64_t start_minute = zh_now_ms() / 60000u;
    for (int i = 0; i < KEYS; i++) {
        zn_seckeys k;
        assert_int_equal(zn_keys_generate(ZN_KIND_PARTNER, &k), 0);
        assert_int_equal(zh_handshake(h, &k, ZH_TIMEOUT), 1);
        zn_seckeys_wipe(&k);
    }
    s_still_serves(w, w->school);
    uint64_t minutes = zh_now_ms() / 60000u - start_minute + 1;
    assert_int_equal(zh_broker_stop(h, SIGTERM, 10000), 0);
    int lines = zh_log_count(h, mark, "handshake-refused", NULL);
    assert_true(lines >= 1);
    assert_true((uint64_t)lines <= minutes * 65u);
    if (minutes == 1) {
        char line[1024];
        assert_int_equal(zh_log_line(h, mark, "handshake-refused key=other", line, sizeof line), 0);
        const char *cnt = strstr(line, " count=");
        assert_non_null(cnt);
        assert_true(atoi(cnt + 7) >= KEYS - 64);
        assert_int_equal(lines, 65);
    }
    char line[1024];
    assert_int_equal(zh_log_line(h, mark, "handshakes-refused=", line, sizeof line), 0); /* shutdown */
    assert_non_null(strstr(line, "shutdown "));
    const char *total = strstr(line, "handshakes-refused=");
    assert_true(atoi(total + 19) >= KEYS);
}

static int s_tcp(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

static void test_non_curve_peers(void **state)
{
    s_world *w = *state;
    zh_env *h = w->h;
    /* raw bytes on the TCP port: a ZMTP greeting that lies, then noise */
    uint8_t noise[4096];
    zh_random(noise, sizeof noise);
    int fd = s_tcp(h->port);
    static const uint8_t greeting[] = {0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 0, 'N', 'U', 'L', 'L'};
    assert_int_equal(write(fd, greeting, sizeof greeting), (ssize_t)sizeof greeting);
    assert_int_equal(write(fd, noise, sizeof noise), (ssize_t)sizeof noise);
    close(fd);
    fd = s_tcp(h->port);
    assert_int_equal(write(fd, noise, sizeof noise), (ssize_t)sizeof noise);
    close(fd);
    fd = s_tcp(h->port);
    close(fd); /* connect and leave */
    /* a ZeroMQ peer without CURVE gets no answer */
    void *plain = zmq_socket(h->zctx, ZMQ_DEALER);
    assert_non_null(plain);
    int linger = 0;
    assert_int_equal(zmq_setsockopt(plain, ZMQ_LINGER, &linger, sizeof linger), 0);
    assert_int_equal(zmq_connect(plain, h->endpoint), 0);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    zn_frame_hello(&sb, 1, h->version, 0, 0);
    assert_int_equal(zmq_send(plain, sb.data, sb.size, ZMQ_DONTWAIT), (int)sb.size);
    zmq_pollitem_t it = {plain, 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&it, 1, ZH_QUIET * 2), 0);
    zmq_close(plain);
    /* a member key talking to a server key that is not the broker's: the handshake fails */
    uint8_t real[ZN_KEY_LEN];
    memcpy(real, h->broker.pub.transport, ZN_KEY_LEN);
    zh_random(h->broker.pub.transport, ZN_KEY_LEN);
    assert_int_not_equal(zh_handshake(h, &h->party[ZH_SCHOOL].keys, ZH_QUIET * 2), 0);
    memcpy(h->broker.pub.transport, real, ZN_KEY_LEN);
    msgpack_sbuffer_destroy(&sb);
    s_still_serves(w, w->school);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_baseline, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_malformed_msgpack, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_truncated_frame, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_trailing_byte, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_oversized_frame, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_multipart_message, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_unknown_frame_type, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_broker_only_types, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_wrong_field_types, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_unsupported_version, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_unknown_recipient, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_unknown_case, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_forged_sender, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_recipient_not_in_network, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_hash_mismatch, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_request_bad_signature, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_request_replayed, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_request_expired, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_request_other_partner, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_case_new_role_not_allowed, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_handshake_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_handshake_refused_many_keys, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_non_curve_peers, s_setup, s_teardown),
    };
    return cmocka_run_group_tests_name("itest_protocol", tests, NULL, NULL);
}
