/* test_uninformed — signals not informed within the grace period, worked out from audit entries
 * alone: registration, refresh and informed dates, withdrawal and expiry, ordering, growth. */
#include "zn_uninformed.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#define DAY 86400000ull

typedef struct {
    uint8_t id[16];
    zn_audit_detail det[3];
    zn_audit_entry en;
} s_ev;

/* An entry of `action` on signal number k at day `day`; informed (0: none) in ms. */
static void s_make(s_ev *ev, const char *action, const char *actor, unsigned k, uint64_t day, uint64_t informed)
{
    memset(ev, 0, sizeof *ev);
    memset(ev->id, (int)k, sizeof ev->id);
    ev->id[15] = (uint8_t)(k >> 8);
    size_t n = 0;
    ev->det[n++] = (zn_audit_detail){.key = "informed", .type = ZN_AUDIT_U64, .u64 = informed};
    ev->det[n++] = (zn_audit_detail){.key = "network", .type = ZN_AUDIT_STR, .p = (const uint8_t *)"12-18", .len = 5};
    ev->det[n++] = (zn_audit_detail){.key = "signal", .type = ZN_AUDIT_BIN, .p = ev->id, .len = 16};
    ev->en = (zn_audit_entry){.index = k * 10 + day, .time_ms = day * DAY, .actor = actor, .action = action,
                              .decision = ZN_AUDIT_ALLOWED, .details = ev->det, .n_details = n};
}

static void s_feed(zn_uninformed *u, const char *action, const char *actor, unsigned k, uint64_t day,
                   uint64_t informed)
{
    s_ev ev;
    s_make(&ev, action, actor, k, day, informed);
    assert_int_equal(zn_uninformed_feed(u, &ev.en), 0);
}

typedef struct {
    unsigned n;
    uint8_t first[16];
    char partner[64];
} s_seen;

static void s_cb(void *ctx, const zn_uninformed_signal *s)
{
    s_seen *x = ctx;
    if (x->n++ == 0) {
        memcpy(x->first, s->signal, 16);
        strcpy(x->partner, s->partner);
        assert_string_equal(s->network, "12-18");
    }
}

static void test_lifecycle(void **state)
{
    (void)state;
    zn_uninformed *u = zn_uninformed_new();
    assert_non_null(u);
    s_feed(u, "signal-add", "school", 1, 1, 0);        /* never informed */
    s_feed(u, "signal-add", "ggd", 2, 2, 0);           /* informed later */
    s_feed(u, "signal-add", "politie", 3, 3, 3 * DAY); /* informed at once */
    s_feed(u, "signal-add", "wijkracht", 4, 4, 0);     /* withdrawn */
    s_feed(u, "signal-add", "wijkracht", 5, 5, 0);     /* expired */
    s_feed(u, "signal-add", "school", 6, 40, 0);       /* too young */
    s_feed(u, "signal-refresh", "ggd", 2, 10, 0);      /* a refresh without a date changes nothing */
    s_feed(u, "signal-informed", "ggd", 2, 11, 11 * DAY);
    s_feed(u, "signal-withdraw", "wijkracht", 4, 12, 0);
    s_feed(u, "signal-expire", NULL, 5, 13, 0);
    s_feed(u, "send", "school", 7, 14, 0);             /* other actions are ignored */
    s_feed(u, "signal-informed", "school", 8, 15, DAY); /* unknown signal: ignored */
    s_seen x = {0};
    uint8_t want[16];
    memset(want, 1, sizeof want);
    want[15] = 0;
    assert_int_equal(zn_uninformed_list(u, 50 * DAY, 28 * DAY, s_cb, &x), 1);
    assert_int_equal(x.n, 1);
    assert_memory_equal(x.first, want, 16);
    assert_string_equal(x.partner, "school");
    /* a longer look ahead lists the young one too; a refresh with a date informs it */
    assert_int_equal(zn_uninformed_list(u, 100 * DAY, 28 * DAY, NULL, NULL), 2);
    s_feed(u, "signal-refresh", "school", 6, 60, 59 * DAY);
    assert_int_equal(zn_uninformed_list(u, 100 * DAY, 28 * DAY, NULL, NULL), 1);
    /* a refused entry changes nothing */
    s_ev ev;
    s_make(&ev, "signal-informed", "school", 1, 61, 61 * DAY);
    ev.en.decision = ZN_AUDIT_REFUSED;
    assert_int_equal(zn_uninformed_feed(u, &ev.en), 0);
    assert_int_equal(zn_uninformed_list(u, 100 * DAY, 28 * DAY, NULL, NULL), 1);
    zn_uninformed_free(&u);
    assert_null(u);
    zn_uninformed_free(&u);
}

static void test_many(void **state)
{
    (void)state;
    zn_uninformed *u = zn_uninformed_new();
    assert_non_null(u);
    for (unsigned k = 0; k < 5000; k++)
        s_feed(u, "signal-add", "school", k, 1, k % 2 ? DAY : 0);
    for (unsigned k = 0; k < 5000; k += 4)
        s_feed(u, "signal-withdraw", "school", k, 2, 0);
    /* 2500 uninformed, 1250 of them withdrawn */
    assert_int_equal(zn_uninformed_list(u, 100 * DAY, DAY, NULL, NULL), 1250);
    zn_uninformed_free(&u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lifecycle),
        cmocka_unit_test(test_many),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
