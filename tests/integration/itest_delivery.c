/* itest_delivery — store-and-forward, acknowledgements, quotas, windows, convenant reloads,
 * refused starts and crash recovery, against the real broker on loopback. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

typedef struct {
    uint64_t quota; /* 0: the policy default */
} s_pre;

typedef zh_world s_world;

static s_pre s_default = {0};
static s_pre s_small_quota = {3};

static int s_setup(void **state)
{
    const s_pre *pre = *state ? *state : &s_default;
    zh_world *w = zh_world_new(pre->quota);
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

/* Seal message i (content "bericht i") from school to `to`; msgid written back. */
static uint8_t *s_env(s_world *w, const char *to, int i, const uint8_t *msgid, uint8_t msgid_out[ZN_ID_LEN],
                      size_t *len)
{
    char text[64];
    int n = snprintf(text, sizeof text, "bericht %d over de casus", i);
    uint8_t *env = NULL;
    assert_int_equal(zh_seal(w->h, ZH_SCHOOL, to, w->kase, msgid, text, (size_t)n, &env, len, msgid_out), 0);
    return env;
}

/* Send n messages from school to `to`, each ACCEPTED as new. */
static void s_send_n(s_world *w, const char *to, int n, uint8_t (*ids)[ZN_ID_LEN])
{
    for (int i = 0; i < n; i++) {
        size_t len;
        uint8_t *env = s_env(w, to, i, NULL, ids[i], &len);
        bool dup = true;
        assert_int_equal(zh_send_env(w->school, (uint32_t)(1000 + i), env, len, &dup), 0);
        assert_false(dup);
        free(env);
    }
}

static void *s_recipient(s_world *w, int party, uint32_t window)
{
    void *r = zh_connect_party(w->h, party);
    assert_non_null(r);
    assert_int_equal(zh_hello(r, 7, w->h->version, window), 0);
    return r;
}

/* Receive frames for ms milliseconds; none may be a DELIVER. */
static void s_no_deliver(void *sock, int ms)
{
    uint64_t end = zh_now_ms() + (uint64_t)ms;
    for (;;) {
        uint64_t now = zh_now_ms();
        if (now >= end)
            return;
        zh_msg m;
        if (zh_recv(sock, (int)(end - now), &m) != 0)
            return;
        assert_true(m.parsed);
        assert_int_not_equal(m.f.type, ZN_T_DELIVER);
        zh_msg_free(&m);
    }
}

/* ---- store and forward ---- */

static void test_online_delivery_and_ack(void **state)
{
    s_world *w = *state;
    zh_env *h = w->h;
    void *r = s_recipient(w, ZH_WIJKRACHT, 16);
    assert_int_equal(zh_drain(h, r, NULL, 0, false, ZH_TIMEOUT), 0); /* empty queue: IDLE */

    static const char text[] = "Warme overdracht: gezin verhuist naar de Binnenstad, graag contact.";
    uint8_t *env = NULL, msgid[ZN_ID_LEN];
    size_t len;
    assert_int_equal(zh_seal(h, ZH_SCHOOL, "wijkracht", w->kase, NULL, text, sizeof text - 1, &env, &len, msgid), 0);
    bool dup = true;
    assert_int_equal(zh_send_env(w->school, 11, env, len, &dup), 0);
    assert_false(dup);
    free(env);

    /* pushed at once, end-to-end sealed, signed by school */
    zh_msg m;
    int skipped = 0;
    assert_int_equal(zh_wait_type(r, ZN_T_DELIVER, ZH_TIMEOUT, &m, &skipped), 0);
    assert_int_equal(skipped, 0);
    assert_int_equal(m.f.corr, 0);
    assert_int_equal(m.f.u.deliver.kind, ZN_ITEM_ENVELOPE);
    const zn_envelope *de = &m.f.u.deliver.env;
    assert_memory_equal(de->h.msgid, msgid, ZN_ID_LEN);
    assert_memory_equal(de->h.case_id, w->kase, ZN_ID_LEN);
    assert_string_equal(de->h.sender, "school");
    assert_string_equal(de->h.recipient, "wijkracht");
    assert_int_equal(zn_envelope_verify(de, h->party[ZH_SCHOOL].keys.pub.sign), 0);
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    zn_err e;
    assert_int_equal(zn_envelope_open(de, h->party[ZH_SCHOOL].keys.pub.box, h->party[ZH_WIJKRACHT].keys.box, &plain,
                                      &plain_len, &e),
                     0);
    assert_int_equal(plain_len, sizeof text - 1);
    assert_memory_equal(plain, text, plain_len);
    free(plain);
    uint8_t item[ZN_ID_LEN];
    memcpy(item, m.f.u.deliver.item_id, ZN_ID_LEN);
    zh_msg_free(&m);
    assert_int_equal(zh_drain(h, r, NULL, 0, false, ZH_TIMEOUT), 0); /* then IDLE */

    /* ACK removes it: a new connection gets nothing again */
    assert_int_equal(zh_ack(r, 12, item), 0);
    assert_int_equal(zh_sync(r, 13, &skipped), 0);
    assert_int_equal(skipped, 0);
    zh_close(h, &r);
    r = s_recipient(w, ZH_WIJKRACHT, 16);
    assert_int_equal(zh_drain(h, r, NULL, 0, false, ZH_TIMEOUT), 0);
    assert_true(zh_quiet(r, ZH_QUIET));
    zh_close(h, &r);
}

static void test_largest_message(void **state)
{
    s_world *w = *state;
    zh_env *h = w->h;
    /* the largest content a message may hold travels whole */
    size_t n = ZN_MAX_CONTENT;
    uint8_t *content = malloc(n);
    assert_non_null(content);
    for (size_t i = 0; i < n; i++)
        content[i] = (uint8_t)('a' + i % 26);
    uint8_t *env = NULL, msgid[ZN_ID_LEN];
    size_t len;
    assert_int_equal(zh_seal(h, ZH_SCHOOL, "wijkracht", w->kase, NULL, content, n, &env, &len, msgid), 0);
    bool dup = true;
    assert_int_equal(zh_send_env(w->school, 3, env, len, &dup), 0);
    assert_false(dup);
    free(env);
    void *r = s_recipient(w, ZH_WIJKRACHT, 4);
    zh_msg m;
    assert_int_equal(zh_wait_type(r, ZN_T_DELIVER, ZH_TIMEOUT, &m, NULL), 0);
    assert_memory_equal(m.f.u.deliver.env.h.msgid, msgid, ZN_ID_LEN);
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    zn_err e;
    assert_int_equal(zn_envelope_open(&m.f.u.deliver.env, h->party[ZH_SCHOOL].keys.pub.box,
                                      h->party[ZH_WIJKRACHT].keys.box, &plain, &plain_len, &e),
                     0);
    assert_int_equal(plain_len, n);
    assert_memory_equal(plain, content, n);
    assert_int_equal(zh_ack(r, 4, m.f.u.deliver.item_id), 0);
    zh_msg_free(&m);
    assert_int_equal(zh_sync(r, 5, NULL), 0);
    zh_close(h, &r);
    free(plain);
    free(content);
}

static void test_offline_queue_in_order(void **state)
{
    s_world *w = *state;
    uint8_t ids[8][ZN_ID_LEN];
    s_send_n(w, "wijkracht", 8, ids);
    void *r = s_recipient(w, ZH_WIJKRACHT, 64);
    zh_item items[16];
    assert_int_equal(zh_drain(w->h, r, items, 16, true, ZH_TIMEOUT), 8);
    for (int i = 0; i < 8; i++) {
        assert_int_equal(items[i].kind, ZN_ITEM_ENVELOPE);
        assert_memory_equal(items[i].msgid, ids[i], ZN_ID_LEN);
        assert_true(items[i].verified);
        assert_string_equal(items[i].sender, "school");
    }
    assert_int_equal(zh_sync(r, 2, NULL), 0);
    zh_close(w->h, &r);
    r = s_recipient(w, ZH_WIJKRACHT, 64);
    assert_int_equal(zh_drain(w->h, r, NULL, 0, false, ZH_TIMEOUT), 0);
    zh_close(w->h, &r);
    /* nothing went to anyone else */
    r = s_recipient(w, ZH_POLITIE, 64);
    assert_int_equal(zh_drain(w->h, r, NULL, 0, false, ZH_TIMEOUT), 0);
    zh_close(w->h, &r);
}

static void test_unacked_redelivered(void **state)
{
    s_world *w = *state;
    uint8_t ids[3][ZN_ID_LEN];
    s_send_n(w, "wijkracht", 3, ids);
    zh_item a[4], b[4];
    void *r = s_recipient(w, ZH_WIJKRACHT, 16);
    assert_int_equal(zh_drain(w->h, r, a, 4, false, ZH_TIMEOUT), 3);
    zh_close(w->h, &r);
    /* nothing acknowledged: all again, same items, same order */
    r = s_recipient(w, ZH_WIJKRACHT, 16);
    assert_int_equal(zh_drain(w->h, r, b, 4, false, ZH_TIMEOUT), 3);
    for (int i = 0; i < 3; i++) {
        assert_memory_equal(a[i].msgid, ids[i], ZN_ID_LEN);
        assert_memory_equal(b[i].msgid, ids[i], ZN_ID_LEN);
        assert_memory_equal(a[i].item_id, b[i].item_id, ZN_ID_LEN);
    }
    /* the first acknowledged: the other two come again */
    assert_int_equal(zh_ack(r, 1, b[0].item_id), 0);
    assert_int_equal(zh_sync(r, 2, NULL), 0);
    zh_close(w->h, &r);
    r = s_recipient(w, ZH_WIJKRACHT, 16);
    assert_int_equal(zh_drain(w->h, r, a, 4, true, ZH_TIMEOUT), 2);
    assert_memory_equal(a[0].msgid, ids[1], ZN_ID_LEN);
    assert_memory_equal(a[1].msgid, ids[2], ZN_ID_LEN);
    assert_int_equal(zh_sync(r, 3, NULL), 0);
    zh_close(w->h, &r);
    r = s_recipient(w, ZH_WIJKRACHT, 16);
    assert_int_equal(zh_drain(w->h, r, NULL, 0, false, ZH_TIMEOUT), 0);
    zh_close(w->h, &r);
}

static void test_ack_only_own_items(void **state)
{
    s_world *w = *state;
    zh_env *h = w->h;
    uint8_t ids[2][ZN_ID_LEN];
    s_send_n(w, "wijkracht", 2, ids);
    zh_item items[4];
    void *r = s_recipient(w, ZH_WIJKRACHT, 16);
    assert_int_equal(zh_drain(h, r, items, 4, false, ZH_TIMEOUT), 2);
    zh_close(h, &r);
    /* politie acknowledges wijkracht's item ids (learnt somehow): nothing happens to them */
    void *p = s_recipient(w, ZH_POLITIE, 16);
    assert_int_equal(zh_drain(h, p, NULL, 0, false, ZH_TIMEOUT), 0);
    assert_int_equal(zh_ack(p, 1, items[0].item_id), 0);
    assert_int_equal(zh_ack(p, 2, items[1].item_id), 0);
    assert_int_equal(zh_sync(p, 3, NULL), 0);
    zh_close(h, &p);
    r = s_recipient(w, ZH_WIJKRACHT, 16);
    zh_item again[4];
    assert_int_equal(zh_drain(h, r, again, 4, true, ZH_TIMEOUT), 2);
    assert_memory_equal(again[0].item_id, items[0].item_id, ZN_ID_LEN);
    assert_memory_equal(again[1].item_id, items[1].item_id, ZN_ID_LEN);
    zh_close(h, &r);
}

static void test_retry_same_msgid(void **state)
{
    s_world *w = *state;
    uint8_t msgid[ZN_ID_LEN];
    size_t len;
    uint8_t *env = s_env(w, "wijkracht", 1, NULL, msgid, &len);
    bool dup = true;
    assert_int_equal(zh_send_env(w->school, 21, env, len, &dup), 0);
    assert_false(dup);
    /* the very same envelope again (a retry after a lost reply) */
    assert_int_equal(zh_send_env(w->school, 22, env, len, &dup), 0);
    assert_true(dup);
    free(env);
    /* a retry sealed anew (new nonce, new ciphertext) with the same id, recipient and case */
    env = s_env(w, "wijkracht", 1, msgid, NULL, &len);
    void *c = zh_connect_party(w->h, ZH_SCHOOL);
    assert_int_equal(zh_hello(c, 1, w->h->version, 0), 0);
    assert_int_equal(zh_send_env(c, 23, env, len, &dup), 0);
    assert_true(dup);
    zh_item items[4];
    void *r = s_recipient(w, ZH_WIJKRACHT, 16);
    assert_int_equal(zh_drain(w->h, r, items, 4, true, ZH_TIMEOUT), 1);
    assert_memory_equal(items[0].msgid, msgid, ZN_ID_LEN);
    assert_int_equal(zh_sync(r, 2, NULL), 0);
    /* after the acknowledgement a retry is still recognised and not delivered again */
    assert_int_equal(zh_send_env(c, 24, env, len, &dup), 0);
    assert_true(dup);
    s_no_deliver(r, ZH_QUIET);
    zh_close(w->h, &r);
    r = s_recipient(w, ZH_WIJKRACHT, 16);
    assert_int_equal(zh_drain(w->h, r, NULL, 0, false, ZH_TIMEOUT), 0);
    zh_close(w->h, &r);
    zh_close(w->h, &c);
    free(env);
}

static void test_same_msgid_other_recipient(void **state)
{
    s_world *w = *state;
    zh_env *h = w->h;
    uint8_t msgid[ZN_ID_LEN], case2[ZN_ID_LEN];
    size_t len;
    uint8_t *env = s_env(w, "wijkracht", 1, NULL, msgid, &len);
    bool dup = true;
    assert_int_equal(zh_send_env(w->school, 31, env, len, &dup), 0);
    assert_false(dup);
    free(env);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    /* same id to another recipient */
    env = s_env(w, "politie", 1, msgid, NULL, &len);
    zh_frame_send(&sb, 32, env, len);
    assert_int_equal(zh_expect_error(w->school, &sb, ZN_E_DUPLICATE_ID, 32), 0);
    free(env);
    /* same id and recipient on another case */
    assert_int_equal(zh_case_new(h, w->school, ZH_SCHOOL, ZH_NET0, case2), 0);
    assert_int_equal(zh_seal(h, ZH_SCHOOL, "wijkracht", case2, msgid, "z", 1, &env, &len, NULL), 0);
    msgpack_sbuffer_clear(&sb);
    zh_frame_send(&sb, 33, env, len);
    assert_int_equal(zh_expect_error(w->school, &sb, ZN_E_DUPLICATE_ID, 33), 0);
    free(env);
    msgpack_sbuffer_destroy(&sb);
    /* message ids belong to their sender: wijkracht may use the same id (once it acknowledged
     * school's message on the case it is a member and may write on it); it holds only school's
     * first message */
    zh_item items[4];
    void *c = s_recipient(w, ZH_WIJKRACHT, 16);
    assert_int_equal(zh_drain(h, c, items, 4, true, ZH_TIMEOUT), 1);
    assert_string_equal(items[0].sender, "school");
    assert_memory_equal(items[0].case_id, w->kase, ZN_ID_LEN);
    assert_int_equal(zh_seal(h, ZH_WIJKRACHT, "politie", w->kase, msgid, "w", 1, &env, &len, NULL), 0);
    assert_int_equal(zh_send_env(c, 34, env, len, &dup), 0);
    assert_false(dup);
    free(env);
    zh_close(h, &c);
    /* politie holds only wijkracht's message */
    void *r = s_recipient(w, ZH_POLITIE, 16);
    assert_int_equal(zh_drain(h, r, items, 4, true, ZH_TIMEOUT), 1);
    assert_string_equal(items[0].sender, "wijkracht");
    zh_close(h, &r);
}

static void test_quota(void **state)
{
    s_world *w = *state; /* queue_quota = 3 */
    zh_env *h = w->h;
    uint8_t ids[3][ZN_ID_LEN], extra[ZN_ID_LEN], more[ZN_ID_LEN];
    s_send_n(w, "wijkracht", 3, ids);
    size_t len, len2;
    uint8_t *env = s_env(w, "wijkracht", 3, NULL, extra, &len);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    zh_frame_send(&sb, 41, env, len);
    assert_int_equal(zh_expect_error(w->school, &sb, ZN_E_QUOTA, 41), 0);
    /* per recipient: politie's queue is not wijkracht's */
    uint8_t pid[1][ZN_ID_LEN];
    s_send_n(w, "politie", 1, pid);
    /* wijkracht reads and acknowledges one */
    void *r = s_recipient(w, ZH_WIJKRACHT, 1);
    zh_msg m;
    assert_int_equal(zh_wait_type(r, ZN_T_DELIVER, ZH_TIMEOUT, &m, NULL), 0);
    zh_item it;
    assert_int_equal(zh_item_from(h, &m, &it), 0);
    zh_msg_free(&m);
    assert_memory_equal(it.msgid, ids[0], ZN_ID_LEN);
    assert_int_equal(zh_ack(r, 2, it.item_id), 0);
    assert_int_equal(zh_sync(r, 3, NULL), 0);
    zh_close(h, &r);
    /* the refused message was not stored: sent again it is new, and now fits */
    bool dup = true;
    assert_int_equal(zh_send_env(w->school, 42, env, len, &dup), 0);
    assert_false(dup);
    free(env);
    /* and the queue is full again */
    env = s_env(w, "wijkracht", 4, NULL, more, &len2);
    msgpack_sbuffer_clear(&sb);
    zh_frame_send(&sb, 43, env, len2);
    assert_int_equal(zh_expect_error(w->school, &sb, ZN_E_QUOTA, 43), 0);
    free(env);
    msgpack_sbuffer_destroy(&sb);
    zh_item items[8];
    r = s_recipient(w, ZH_WIJKRACHT, 16);
    assert_int_equal(zh_drain(h, r, items, 8, true, ZH_TIMEOUT), 3);
    assert_memory_equal(items[0].msgid, ids[1], ZN_ID_LEN);
    assert_memory_equal(items[1].msgid, ids[2], ZN_ID_LEN);
    assert_memory_equal(items[2].msgid, extra, ZN_ID_LEN);
    zh_close(h, &r);
}

static void test_window_respected(void **state)
{
    s_world *w = *state;
    zh_env *h = w->h;
    enum { N = 10, WINDOW = 3, M = 5 };
    uint8_t ids[N][ZN_ID_LEN], items[N][ZN_ID_LEN];
    s_send_n(w, "wijkracht", N, ids);
    void *r = s_recipient(w, ZH_WIJKRACHT, WINDOW);
    int got = 0, acked = 0;
    bool idle_at_end = false;
    while (acked < N) {
        zh_msg m;
        if (got == N && acked < got) {
            assert_int_equal(zh_ack(r, 100, items[acked]), 0);
            acked++;
            continue;
        }
        assert_int_equal(zh_recv(r, ZH_TIMEOUT, &m), 0);
        assert_true(m.parsed);
        if (m.f.type == ZN_T_IDLE) {
            idle_at_end = got == N;
            zh_msg_free(&m);
            continue;
        }
        zh_item it;
        assert_int_equal(zh_item_from(h, &m, &it), 0);
        zh_msg_free(&m);
        assert_true(got < N);
        assert_memory_equal(it.msgid, ids[got], ZN_ID_LEN);
        memcpy(items[got], it.item_id, ZN_ID_LEN);
        got++;
        assert_true(got - acked <= WINDOW);
        if (got - acked == WINDOW && got < N) {
            s_no_deliver(r, ZH_QUIET / 2); /* the window is full: nothing more comes */
            assert_int_equal(zh_ack(r, 100, items[acked]), 0);
            acked++;
        }
    }
    if (!idle_at_end) {
        zh_msg m;
        assert_int_equal(zh_wait_type(r, ZN_T_IDLE, ZH_TIMEOUT, &m, NULL), 0);
        zh_msg_free(&m);
    }
    assert_int_equal(zh_sync(r, 101, NULL), 0);

    /* online: new messages are pushed, but never more than the window */
    uint8_t more[M][ZN_ID_LEN];
    s_send_n(w, "wijkracht", M, more);
    uint8_t held[M][ZN_ID_LEN];
    int n = 0;
    while (n < WINDOW) {
        zh_msg m;
        assert_int_equal(zh_wait_type(r, ZN_T_DELIVER, ZH_TIMEOUT, &m, NULL), 0);
        zh_item it;
        assert_int_equal(zh_item_from(h, &m, &it), 0);
        zh_msg_free(&m);
        assert_memory_equal(it.msgid, more[n], ZN_ID_LEN);
        memcpy(held[n++], it.item_id, ZN_ID_LEN);
    }
    s_no_deliver(r, ZH_QUIET);
    for (int i = 0; i < WINDOW; i++)
        assert_int_equal(zh_ack(r, 200, held[i]), 0);
    zh_item rest[M];
    assert_int_equal(zh_drain(h, r, rest, M, true, ZH_TIMEOUT), M - WINDOW);
    assert_memory_equal(rest[0].msgid, more[WINDOW], ZN_ID_LEN);
    assert_memory_equal(rest[1].msgid, more[WINDOW + 1], ZN_ID_LEN);
    zh_close(h, &r);
}

/* Only the session that received items frees their places: made-up ids in ACK or RELEASE, ACKs
 * on another connection of the same partner, and a repeated HELLO change nothing. */
static void test_acks_bound_to_session(void **state)
{
    s_world *w = *state;
    zh_env *h = w->h;
    enum { N = 6, WINDOW = 3 };
    uint8_t ids[N][ZN_ID_LEN], items[N][ZN_ID_LEN];
    s_send_n(w, "wijkracht", N, ids);
    void *r = s_recipient(w, ZH_WIJKRACHT, WINDOW);
    for (int i = 0; i < WINDOW; i++) {
        zh_msg m;
        zh_item it;
        assert_int_equal(zh_wait_type(r, ZN_T_DELIVER, ZH_TIMEOUT, &m, NULL), 0);
        assert_int_equal(zh_item_from(h, &m, &it), 0);
        zh_msg_free(&m);
        assert_memory_equal(it.msgid, ids[i], ZN_ID_LEN);
        memcpy(items[i], it.item_id, ZN_ID_LEN);
    }
    s_no_deliver(r, ZH_QUIET);

    /* 1024 made-up ids, acknowledged and released: the window stays full */
    uint8_t(*bogus)[ZN_ID_LEN] = malloc(ZN_MAX_ACK * (size_t)ZN_ID_LEN);
    assert_non_null(bogus);
    zh_random(bogus, ZN_MAX_ACK * (size_t)ZN_ID_LEN);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    zn_frame_ack(&sb, 200, (const uint8_t(*)[ZN_ID_LEN])bogus, ZN_MAX_ACK);
    assert_int_equal(zh_send_sb(r, &sb), 0);
    msgpack_sbuffer_clear(&sb);
    zn_frame_release(&sb, 201, (const uint8_t(*)[ZN_ID_LEN])bogus, ZN_MAX_ACK);
    assert_int_equal(zh_send_sb(r, &sb), 0);
    msgpack_sbuffer_destroy(&sb);
    free(bogus);
    assert_int_equal(zh_sync(r, 202, NULL), 0);
    s_no_deliver(r, ZH_QUIET);

    /* a repeated HELLO on the same connection pushes nothing again */
    assert_int_equal(zh_hello(r, 203, h->version, WINDOW), 0);
    s_no_deliver(r, ZH_QUIET);

    /* another connection of the same partner cannot acknowledge the session's items */
    void *other = zh_connect_party(h, ZH_WIJKRACHT);
    assert_non_null(other);
    assert_int_equal(zh_ack(other, 204, items[0]), 0);
    assert_int_equal(zh_sync(other, 205, NULL), 0);
    s_no_deliver(r, ZH_QUIET);

    /* the session's own ACK frees exactly one place: the 4th item follows */
    assert_int_equal(zh_ack(r, 206, items[0]), 0);
    zh_msg m;
    zh_item it;
    assert_int_equal(zh_wait_type(r, ZN_T_DELIVER, ZH_TIMEOUT, &m, NULL), 0);
    assert_int_equal(zh_item_from(h, &m, &it), 0);
    zh_msg_free(&m);
    assert_memory_equal(it.msgid, ids[WINDOW], ZN_ID_LEN);
    memcpy(items[WINDOW], it.item_id, ZN_ID_LEN);
    s_no_deliver(r, ZH_QUIET);

    /* the rest arrives once each after the outstanding ones are acknowledged */
    for (int i = 1; i <= WINDOW; i++)
        assert_int_equal(zh_ack(r, (uint32_t)(210 + i), items[i]), 0);
    zh_item rest[N];
    assert_int_equal(zh_drain(h, r, rest, N, true, ZH_TIMEOUT), N - WINDOW - 1);
    for (int i = 0; i < N - WINDOW - 1; i++)
        assert_memory_equal(rest[i].msgid, ids[WINDOW + 1 + i], ZN_ID_LEN);
    zh_close(h, &other);
    zh_close(h, &r);
}

/* ---- convenant reloads ---- */

static void test_reload_removes_partner(void **state)
{
    s_world *w = *state;
    zh_env *h = w->h;
    uint8_t to_w[2][ZN_ID_LEN], to_p[1][ZN_ID_LEN];
    s_send_n(w, "wijkracht", 2, to_w);
    s_send_n(w, "politie", 1, to_p);
    /* school listens for notices */
    void *sn = s_recipient(w, ZH_SCHOOL, 16);
    assert_int_equal(zh_drain(h, sn, NULL, 0, false, ZH_TIMEOUT), 0);
    /* wijkracht is online and holds the first envelope unacknowledged */
    void *r = s_recipient(w, ZH_WIJKRACHT, 1);
    zh_msg m;
    assert_int_equal(zh_wait_type(r, ZN_T_DELIVER, ZH_TIMEOUT, &m, NULL), 0);
    zh_msg_free(&m);

    size_t mark = zh_log_size(h);
    assert_int_equal(zh_reload(h, 2, ZH_BIT(ZH_WIJKRACHT)), 0);
    assert_int_equal(zh_log_count(h, mark, "convenant-loaded version=2 ", "removed=1 dropped-envelopes=2"), 1);
    assert_int_equal(zh_log_count(h, mark, "disconnect partner=wijkracht", "not-in-convenant"), 1);

    /* its session ends with BYE not-in-convenant */
    int skipped = 0;
    assert_int_equal(zh_wait_type(r, ZN_T_BYE, ZH_TIMEOUT, &m, &skipped), 0);
    assert_int_equal(m.f.corr, 0);
    assert_int_equal(m.f.u.error.code, ZN_E_NOT_IN_CONVENANT);
    assert_string_equal(m.f.u.error.name, "not-in-convenant");
    zh_msg_free(&m);
    /* the old connection is refused at once, new handshakes are refused */
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    zn_frame_hello(&sb, 5, 2, 16, 0);
    assert_int_equal(zh_send_sb(r, &sb), 0);
    assert_int_equal(zh_wait_type(r, ZN_T_BYE, ZH_TIMEOUT, &m, NULL), 0);
    assert_int_equal(m.f.u.error.code, ZN_E_NOT_IN_CONVENANT);
    zh_msg_free(&m);
    zh_close(h, &r);
    assert_int_equal(zh_handshake(h, &h->party[ZH_WIJKRACHT].keys, ZH_TIMEOUT), 1);

    /* the sender is told, once per dropped envelope */
    zh_item items[4];
    assert_int_equal(zh_drain(h, sn, items, 4, true, ZH_TIMEOUT), 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(items[i].kind, ZN_ITEM_NOTICE);
        assert_string_equal(items[i].notice, "envelope-dropped");
        assert_string_equal(items[i].recipient, "wijkracht");
        assert_string_equal(items[i].reason, "not-in-convenant");
        assert_memory_equal(items[i].case_id, w->kase, ZN_ID_LEN);
    }
    bool first = memcmp(items[0].msgid, to_w[0], ZN_ID_LEN) == 0 && memcmp(items[1].msgid, to_w[1], ZN_ID_LEN) == 0;
    bool swapped = memcmp(items[0].msgid, to_w[1], ZN_ID_LEN) == 0 && memcmp(items[1].msgid, to_w[0], ZN_ID_LEN) == 0;
    assert_true(first || swapped);
    assert_int_equal(zh_sync(sn, 9, NULL), 0);
    zh_close(h, &sn);
    sn = s_recipient(w, ZH_SCHOOL, 16);
    assert_int_equal(zh_drain(h, sn, NULL, 0, false, ZH_TIMEOUT), 0); /* acknowledged notices are gone */
    zh_close(h, &sn);

    /* sending to it is refused; others keep their queue */
    size_t len;
    uint8_t *env = s_env(w, "wijkracht", 9, NULL, NULL, &len);
    msgpack_sbuffer_clear(&sb);
    zh_frame_send(&sb, 51, env, len);
    assert_int_equal(zh_expect_error(w->school, &sb, ZN_E_UNKNOWN_PARTNER, 51), 0);
    free(env);
    msgpack_sbuffer_destroy(&sb);
    r = s_recipient(w, ZH_POLITIE, 16);
    assert_int_equal(zh_drain(h, r, items, 4, true, ZH_TIMEOUT), 1);
    assert_memory_equal(items[0].msgid, to_p[0], ZN_ID_LEN);
    zh_close(h, &r);

    /* taken back in by a newer version with the same keys: the dropped envelopes are gone */
    assert_int_equal(zh_reload(h, 3, 0), 0);
    assert_int_equal(zh_handshake(h, &h->party[ZH_WIJKRACHT].keys, ZH_TIMEOUT), 0);
    r = s_recipient(w, ZH_WIJKRACHT, 16);
    assert_int_equal(zh_drain(h, r, NULL, 0, false, ZH_TIMEOUT), 0);
    zh_close(h, &r);
}

static void test_reload_older_or_same_refused(void **state)
{
    s_world *w = *state;
    zh_env *h = w->h;
    /* the same version */
    size_t mark = zh_log_size(h);
    assert_int_equal(zh_reload(h, 1, ZH_BIT(ZH_POLITIE)), 1);
    assert_int_equal(zh_log_count(h, mark, "reload-refused", "code=convenant-outdated"), 1);
    assert_int_equal(zh_reload(h, 3, 0), 0);
    /* an older version, even one that would remove a partner */
    mark = zh_log_size(h);
    assert_int_equal(zh_reload(h, 2, ZH_BIT(ZH_POLITIE)), 1);
    assert_int_equal(zh_log_count(h, mark, "reload-refused", "code=convenant-outdated"), 1);
    assert_int_equal(zh_log_count(h, mark, "disconnect", NULL), 0);
    /* a newer version signed by another authority */
    zn_seckeys real = h->authority;
    assert_int_equal(zn_keys_generate(ZN_KIND_AUTHORITY, &h->authority), 0);
    mark = zh_log_size(h);
    assert_int_equal(zh_reload(h, 4, 0), 1);
    assert_int_equal(zh_log_count(h, mark, "reload-refused", "code=convenant-invalid"), 1);
    zn_seckeys_wipe(&h->authority);
    h->authority = real;
    /* a file that is no convenant at all */
    FILE *f = fopen(h->conv_path, "wb");
    assert_non_null(f);
    fputs("dit is geen convenant\n", f);
    fclose(f);
    mark = zh_log_size(h);
    assert_int_equal(zh_hup_wait(h, mark), 1);
    /* version 3 stays in force and everyone is still served */
    assert_int_equal(zh_write_convenant(h, 3, 0), 0);
    void *c = zh_connect_party(h, ZH_POLITIE);
    assert_non_null(c);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    zn_frame_hello(&sb, 61, 3, 0, 0);
    zh_msg m;
    assert_int_equal(zh_call(c, &sb, &m, ZH_TIMEOUT), 0);
    assert_true(m.parsed);
    assert_int_equal(m.f.type, ZN_T_WELCOME);
    assert_int_equal(m.f.u.welcome.convenant_version, 3);
    zh_msg_free(&m);
    msgpack_sbuffer_destroy(&sb);
    zh_close(h, &c);
    uint8_t ids[1][ZN_ID_LEN];
    s_send_n(w, "politie", 1, ids);
    void *r = s_recipient(w, ZH_POLITIE, 4);
    zh_item it[2];
    assert_int_equal(zh_drain(h, r, it, 2, true, ZH_TIMEOUT), 1);
    assert_memory_equal(it[0].msgid, ids[0], ZN_ID_LEN);
    zh_close(h, &r);
    assert_true(zh_broker_alive(h));
}

/* ---- refused starts ---- */

static void s_expect_refused_start(zh_env *h, const char *conv, const char *key, const char *db, const char *needle,
                                   const char *needle2)
{
    size_t mark = zh_log_size(h);
    int rc = zh_broker_run_expect_exit(h, conv, key, db, 20000);
    if (rc == 0 || rc == -1 || zh_log_count(h, mark, needle, needle2) != 1)
        zh_log_dump(h);
    assert_true(rc > 0);
    assert_int_equal(zh_log_count(h, mark, "refusing to start", NULL), 1);
    assert_int_equal(zh_log_count(h, mark, needle, needle2), 1);
    assert_int_equal(zh_log_count(h, mark, "started", NULL), 0);
}

static void test_restart_older_convenant_refused(void **state)
{
    s_world *w = *state;
    zh_env *h = w->h;
    assert_int_equal(zh_reload(h, 2, 0), 0);
    assert_int_equal(zh_broker_stop(h, SIGTERM, 10000), 0);
    /* the database has seen version 2 */
    assert_int_equal(zh_write_convenant(h, 1, 0), 0);
    s_expect_refused_start(h, NULL, NULL, NULL, "refusing to start: convenant-outdated", "version 2");
    /* another authority for the same database */
    zn_seckeys real = h->authority;
    assert_int_equal(zn_keys_generate(ZN_KIND_AUTHORITY, &h->authority), 0);
    assert_int_equal(zh_write_convenant(h, 5, 0), 0);
    s_expect_refused_start(h, NULL, NULL, NULL, "refusing to start: convenant-invalid", "another authority");
    zn_seckeys_wipe(&h->authority);
    h->authority = real;
    /* the version it has seen is fine */
    assert_int_equal(zh_write_convenant(h, 2, 0), 0);
    assert_int_equal(zh_broker_start(h), 0);
    void *c = zh_connect_party(h, ZH_SCHOOL);
    assert_int_equal(zh_hello(c, 1, 2, 0), 0);
    zh_close(h, &c);
}

static void test_start_wrong_broker_key(void **state)
{
    s_world *w = *state;
    zh_env *h = w->h;
    assert_int_equal(zh_broker_stop(h, SIGTERM, 10000), 0);
    char path[ZH_PATH_MAX], base[ZH_PATH_MAX];
    zn_seckeys other;
    zn_err e;
    assert_int_equal(zn_keys_generate(ZN_KIND_BROKER, &other), 0);
    assert_int_equal(zh_path(h, base, "keys/other-broker"), 0);
    assert_int_equal(zn_keys_write(base, &other, &e), 0);
    zn_seckeys_wipe(&other);
    assert_int_equal(zh_path(h, path, "keys/other-broker.key"), 0);
    s_expect_refused_start(h, NULL, path, NULL, "refusing to start: key-file", "not the broker key");
    /* a partner's key is no broker key */
    assert_int_equal(zh_path(h, path, "keys/school.key"), 0);
    s_expect_refused_start(h, NULL, path, NULL, "refusing to start: key-file", NULL);
    /* the right key, readable by others */
    assert_int_equal(chmod(h->key_path, 0644), 0);
    s_expect_refused_start(h, NULL, NULL, NULL, "refusing to start: key-file", NULL);
    assert_int_equal(chmod(h->key_path, 0600), 0);
    assert_int_equal(zh_broker_start(h), 0);
}

static void test_start_expired_convenant(void **state)
{
    s_world *w = *state;
    zh_env *h = w->h;
    assert_int_equal(zh_broker_stop(h, SIGTERM, 10000), 0);
    char path[ZH_PATH_MAX];
    assert_int_equal(zh_path(h, path, "expired.zc"), 0);
    zh_conv_spec expired = {.version = 7, .valid_from = -30 * 86400, .valid_until = -86400};
    assert_int_equal(zh_write_convenant_ex(h, &expired, path), 0);
    s_expect_refused_start(h, path, NULL, NULL, "refusing to start: convenant-invalid", "expired");
    zh_conv_spec future = {.version = 7, .valid_from = 2 * 86400, .valid_until = 365 * 86400};
    assert_int_equal(zh_write_convenant_ex(h, &future, path), 0);
    s_expect_refused_start(h, path, NULL, NULL, "refusing to start: convenant-invalid", "not valid before");
    /* a refused start did not record the refused version: the current file still starts */
    assert_int_equal(zh_broker_start(h), 0);
}

static void test_start_unreadable_database(void **state)
{
    s_world *w = *state;
    zh_env *h = w->h;
    assert_int_equal(zh_broker_stop(h, SIGTERM, 10000), 0);
    char path[ZH_PATH_MAX];
    /* a directory */
    assert_int_equal(zh_path(h, path, "db-is-a-directory"), 0);
    assert_int_equal(mkdir(path, 0700), 0);
    s_expect_refused_start(h, NULL, NULL, path, "refusing to start: store-failed", NULL);
    /* a file that is no database; it is left as it was */
    assert_int_equal(zh_path(h, path, "garbage.db"), 0);
    static const char junk[] = "Dit is geen sqlite-database maar een verslag van het zorgoverleg.\n";
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (int i = 0; i < 200; i++)
        fputs(junk, f);
    fclose(f);
    s_expect_refused_start(h, NULL, NULL, path, "refusing to start: store-failed", NULL);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal((size_t)st.st_size, 200 * (sizeof junk - 1));
    /* a database from a newer zorgnetd */
    assert_int_equal(zh_path(h, path, "newer.db"), 0);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99;", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    s_expect_refused_start(h, NULL, NULL, path, "refusing to start: store-failed", "newer");
    /* an unwritable place for a new database */
    assert_int_equal(zh_path(h, path, "no-such-dir/broker.db"), 0);
    s_expect_refused_start(h, NULL, NULL, path, "refusing to start: store-failed", NULL);
    /* the real database still serves */
    assert_int_equal(zh_broker_start(h), 0);
}

/* ---- store faults ---- */

static void test_store_locked(void **state)
{
    s_world *w = *state;
    zh_env *h = w->h;
    /* another process holds the database's write lock longer than the broker waits */
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(h->db_path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    uint8_t msgid[ZN_ID_LEN], case2[ZN_ID_LEN];
    size_t len;
    uint8_t *env = s_env(w, "wijkracht", 1, NULL, msgid, &len);
    msgpack_sbuffer sb, req;
    msgpack_sbuffer_init(&sb);
    msgpack_sbuffer_init(&req);
    zh_frame_send(&sb, 81, env, len);
    zh_msg m;
    assert_int_equal(zh_call(w->school, &sb, &m, 30000), 0);
    assert_true(zh_is_error(&m, ZN_E_STORE, 81));
    zh_msg_free(&m);
    zh_random(case2, sizeof case2);
    assert_int_equal(zh_case_new_frame(h, &req, 82, ZH_SCHOOL, NULL, case2, ZH_NET0, 0, NULL), 0);
    assert_int_equal(zh_call(w->school, &req, &m, 30000), 0);
    assert_true(zh_is_error(&m, ZN_E_STORE, 82));
    zh_msg_free(&m);
    assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    /* nothing of the refused frames was kept: the same envelope and request are new */
    bool dup = true;
    assert_int_equal(zh_send_env(w->school, 83, env, len, &dup), 0);
    assert_false(dup);
    assert_int_equal(zh_call(w->school, &req, &m, ZH_TIMEOUT), 0);
    assert_true(m.parsed);
    assert_int_equal(m.f.type, ZN_T_RESULT);
    assert_int_equal(m.f.corr, 82);
    zh_msg_free(&m);
    free(env);
    msgpack_sbuffer_destroy(&sb);
    msgpack_sbuffer_destroy(&req);
    zh_item items[4];
    void *r = s_recipient(w, ZH_WIJKRACHT, 16);
    assert_int_equal(zh_drain(h, r, items, 4, true, ZH_TIMEOUT), 1);
    assert_memory_equal(items[0].msgid, msgid, ZN_ID_LEN);
    zh_close(h, &r);
}

/* ---- crash and shutdown ---- */

typedef struct {
    zh_env *h;
    const uint8_t *kase;
    int total;
    atomic_int accepted;
    atomic_int errors;
    atomic_bool done;
    uint8_t (*ids)[ZN_ID_LEN]; /* accepted ids; read after the thread ended */
    int n_ids;
    uint8_t (*sent)[ZN_ID_LEN]; /* ids of every envelope sent */
    int n_sent;
} s_burst;

static void *s_burst_run(void *arg)
{
    s_burst *b = arg;
    enum { DEPTH = 64 };
    uint8_t (*sent)[ZN_ID_LEN] = b->sent;
    void *s = zh_connect_party(b->h, ZH_SCHOOL);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    if (!sent || !s || zh_hello(s, 1, b->h->version, 0) != 0)
        goto out;
    int next = 0, replies = 0;
    while (replies < b->total) {
        bool send_failed = false;
        while (next < b->total && next - replies < DEPTH && !send_failed) {
            char text[48];
            int n = snprintf(text, sizeof text, "melding %d", next);
            uint8_t *env = NULL;
            size_t len;
            if (zh_seal(b->h, ZH_SCHOOL, "wijkracht", b->kase, NULL, text, (size_t)n, &env, &len, sent[next]) != 0)
                goto out;
            msgpack_sbuffer_clear(&sb);
            zh_frame_send(&sb, (uint32_t)next + 1, env, len);
            free(env);
            if (zh_send_sb(s, &sb) != 0)
                send_failed = true;
            else
                b->n_sent = ++next;
        }
        zh_msg m;
        if (zh_recv(s, 3000, &m) != 0)
            break; /* the broker is gone */
        uint32_t corr = m.parsed ? m.f.corr : 0;
        if (m.parsed && m.f.type == ZN_T_ACCEPTED && corr >= 1 && corr <= (uint32_t)next &&
            memcmp(m.f.u.accepted.msgid, sent[corr - 1], ZN_ID_LEN) == 0 && !m.f.u.accepted.duplicate) {
            memcpy(b->ids[b->n_ids++], sent[corr - 1], ZN_ID_LEN);
            atomic_fetch_add(&b->accepted, 1);
        } else {
            atomic_fetch_add(&b->errors, 1);
        }
        zh_msg_free(&m);
        replies++;
    }
out:
    msgpack_sbuffer_destroy(&sb);
    zh_close(b->h, &s);
    atomic_store(&b->done, true);
    return NULL;
}

static void test_kill9_mid_burst(void **state)
{
    s_world *w = *state;
    zh_env *h = w->h;
    s_burst b = {.h = h, .kase = w->kase, .total = 4000};
    atomic_init(&b.accepted, 0);
    atomic_init(&b.errors, 0);
    atomic_init(&b.done, false);
    b.ids = calloc((size_t)b.total, ZN_ID_LEN);
    b.sent = calloc((size_t)b.total, ZN_ID_LEN);
    assert_non_null(b.ids);
    assert_non_null(b.sent);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, s_burst_run, &b), 0);
    uint64_t end = zh_now_ms() + 60000;
    while (atomic_load(&b.accepted) < 300 && !atomic_load(&b.done) && zh_now_ms() < end)
        zh_sleep_ms(1);
    int at_kill = atomic_load(&b.accepted);
    int rc = zh_broker_stop(h, SIGKILL, 10000);
    pthread_join(t, NULL);
    assert_int_equal(rc, 128 + SIGKILL);
    assert_int_equal(atomic_load(&b.errors), 0);
    /* the kill landed in the middle of the burst */
    assert_true(at_kill >= 1);
    assert_true(b.n_ids < b.total);
    assert_int_equal(b.n_ids, atomic_load(&b.accepted));
    print_message("burst: %d sent, %d accepted (%d when the broker was killed)\n", b.n_sent, b.n_ids, at_kill);

    size_t mark = zh_log_size(h);
    assert_int_equal(zh_broker_start(h), 0);
    assert_int_equal(zh_log_count(h, mark, "started", NULL), 1);
    /* every accepted message reaches the recipient (at least once) */
    zh_item *items = calloc((size_t)b.total + 1, sizeof *items);
    assert_non_null(items);
    void *r = s_recipient(w, ZH_WIJKRACHT, 512);
    int n = zh_drain(h, r, items, b.total + 1, true, ZH_TIMEOUT * 2);
    assert_true(n >= b.n_ids);
    assert_true(n <= b.total);
    int missing = 0;
    for (int i = 0; i < b.n_ids; i++) {
        bool found = false;
        for (int j = 0; j < n && !found; j++)
            found = memcmp(items[j].msgid, b.ids[i], ZN_ID_LEN) == 0;
        missing += !found;
    }
    for (int j = 0; j < n; j++)
        assert_true(items[j].verified);
    if (missing)
        fprintf(stderr, "%d of %d accepted messages were lost (received %d)\n", missing, b.n_ids, n);
    assert_int_equal(missing, 0);
    assert_int_equal(zh_sync(r, 5, NULL), 0);
    zh_close(h, &r);

    /* the sender retries everything it sent (sealed anew, same ids): those accepted before are
     * recognised as duplicates, the rest are stored now, and every id is delivered once */
    void *s = zh_connect_party(h, ZH_SCHOOL);
    assert_int_equal(zh_hello(s, 1, h->version, 0), 0);
    int dups = 0;
    for (int i = 0; i < b.n_sent; i++) {
        bool accepted = false;
        for (int j = 0; j < b.n_ids && !accepted; j++)
            accepted = memcmp(b.sent[i], b.ids[j], ZN_ID_LEN) == 0;
        uint8_t *env = NULL;
        size_t len;
        assert_int_equal(zh_seal(h, ZH_SCHOOL, "wijkracht", w->kase, b.sent[i], "opnieuw", 7, &env, &len, NULL), 0);
        bool dup = false;
        assert_int_equal(zh_send_env(s, (uint32_t)i + 1, env, len, &dup), 0);
        free(env);
        if (accepted)
            assert_true(dup);
        dups += dup;
    }
    zh_close(h, &s);
    r = s_recipient(w, ZH_WIJKRACHT, 512);
    int m = zh_drain(h, r, items, b.total + 1, true, ZH_TIMEOUT * 2);
    /* what was received before plus what arrives now is every sent id, each exactly once */
    assert_int_equal(n + m, b.n_sent);
    assert_int_equal(m, b.n_sent - dups);
    assert_int_equal(zh_sync(r, 6, NULL), 0);
    zh_close(h, &r);
    /* nothing left after the acknowledgements */
    r = s_recipient(w, ZH_WIJKRACHT, 16);
    assert_int_equal(zh_drain(h, r, NULL, 0, false, ZH_TIMEOUT), 0);
    zh_close(h, &r);
    free(items);
    free(b.ids);
    free(b.sent);
}

static void test_sigterm_clean_exit(void **state)
{
    s_world *w = *state;
    zh_env *h = w->h;
    uint8_t ids[3][ZN_ID_LEN];
    s_send_n(w, "politie", 3, ids);
    /* a signed request, to be replayed after the restart */
    uint8_t case2[ZN_ID_LEN];
    zh_random(case2, sizeof case2);
    msgpack_sbuffer req;
    msgpack_sbuffer_init(&req);
    assert_int_equal(zh_case_new_frame(h, &req, 77, ZH_SCHOOL, NULL, case2, ZH_NET0, 0, NULL), 0);
    zh_msg m;
    assert_int_equal(zh_call(w->school, &req, &m, ZH_TIMEOUT), 0);
    assert_true(m.parsed);
    assert_int_equal(m.f.type, ZN_T_RESULT);
    zh_msg_free(&m);
    void *r = s_recipient(w, ZH_WIJKRACHT, 16);
    assert_int_equal(zh_drain(h, r, NULL, 0, false, ZH_TIMEOUT), 0);
    size_t mark = zh_log_size(h);
    int rc = zh_broker_stop(h, SIGTERM, 10000);
    if (rc != 0)
        zh_log_dump(h);
    assert_int_equal(rc, 0);
    assert_int_equal(zh_log_count(h, mark, "shutdown", NULL), 1);
    /* the online session was told */
    assert_int_equal(zh_wait_type(r, ZN_T_BYE, ZH_TIMEOUT, &m, NULL), 0);
    assert_int_equal(m.f.u.error.code, ZN_E_SHUTDOWN);
    zh_msg_free(&m);
    zh_close(h, &r);
    /* what was accepted survives the restart */
    assert_int_equal(zh_broker_start(h), 0);
    zh_item items[4];
    r = s_recipient(w, ZH_POLITIE, 16);
    assert_int_equal(zh_drain(h, r, items, 4, true, ZH_TIMEOUT), 3);
    for (int i = 0; i < 3; i++)
        assert_memory_equal(items[i].msgid, ids[i], ZN_ID_LEN);
    zh_close(h, &r);
    /* nonces and message ids outlive the restart */
    void *s = zh_connect_party(h, ZH_SCHOOL);
    assert_int_equal(zh_hello(s, 1, h->version, 0), 0);
    assert_int_equal(zh_expect_error(s, &req, ZN_E_REPLAY, 77), 0);
    msgpack_sbuffer_destroy(&req);
    size_t len;
    uint8_t *env = s_env(w, "politie", 0, ids[0], NULL, &len);
    bool dup = false;
    assert_int_equal(zh_send_env(s, 78, env, len, &dup), 0);
    assert_true(dup);
    free(env);
    zh_close(h, &s);
    /* SIGINT is a clean shutdown too */
    mark = zh_log_size(h);
    assert_int_equal(zh_broker_stop(h, SIGINT, 10000), 0);
    assert_int_equal(zh_log_count(h, mark, "shutdown", NULL), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate_setup_teardown(test_online_delivery_and_ack, s_setup, s_teardown, &s_default),
        cmocka_unit_test_prestate_setup_teardown(test_largest_message, s_setup, s_teardown, &s_default),
        cmocka_unit_test_prestate_setup_teardown(test_offline_queue_in_order, s_setup, s_teardown, &s_default),
        cmocka_unit_test_prestate_setup_teardown(test_unacked_redelivered, s_setup, s_teardown, &s_default),
        cmocka_unit_test_prestate_setup_teardown(test_ack_only_own_items, s_setup, s_teardown, &s_default),
        cmocka_unit_test_prestate_setup_teardown(test_retry_same_msgid, s_setup, s_teardown, &s_default),
        cmocka_unit_test_prestate_setup_teardown(test_same_msgid_other_recipient, s_setup, s_teardown, &s_default),
        cmocka_unit_test_prestate_setup_teardown(test_quota, s_setup, s_teardown, &s_small_quota),
        cmocka_unit_test_prestate_setup_teardown(test_window_respected, s_setup, s_teardown, &s_default),
        cmocka_unit_test_prestate_setup_teardown(test_acks_bound_to_session, s_setup, s_teardown, &s_default),
        cmocka_unit_test_prestate_setup_teardown(test_reload_removes_partner, s_setup, s_teardown, &s_default),
        cmocka_unit_test_prestate_setup_teardown(test_reload_older_or_same_refused, s_setup, s_teardown, &s_default),
        cmocka_unit_test_prestate_setup_teardown(test_restart_older_convenant_refused, s_setup, s_teardown,
                                                 &s_default),
        cmocka_unit_test_prestate_setup_teardown(test_start_wrong_broker_key, s_setup, s_teardown, &s_default),
        cmocka_unit_test_prestate_setup_teardown(test_start_expired_convenant, s_setup, s_teardown, &s_default),
        cmocka_unit_test_prestate_setup_teardown(test_start_unreadable_database, s_setup, s_teardown, &s_default),
        cmocka_unit_test_prestate_setup_teardown(test_store_locked, s_setup, s_teardown, &s_default),
        cmocka_unit_test_prestate_setup_teardown(test_kill9_mid_burst, s_setup, s_teardown, &s_default),
        cmocka_unit_test_prestate_setup_teardown(test_sigterm_clean_exit, s_setup, s_teardown, &s_default),
    };
    return cmocka_run_group_tests_name("itest_delivery", tests, NULL, NULL);
}
