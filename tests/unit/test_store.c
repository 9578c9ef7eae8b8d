/* The broker's store: schema, queue order, message-id claims, nonces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store.h"

#define ZN_STR_(x) #x
#define ZN_STR(x) ZN_STR_(x)

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    char dir[64];
    char path[96];
    zn_store *s;
} s_fix;

static int s_setup(void **state)
{
    s_fix *f = calloc(1, sizeof *f);
    assert_non_null(f);
    strcpy(f->dir, "/tmp/zn-test-store-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/broker.db", f->dir);
    zn_err e;
    assert_int_equal(zn_store_open(f->path, &f->s, &e), 0);
    *state = f;
    return 0;
}

static int s_teardown(void **state)
{
    s_fix *f = *state;
    zn_store_close(&f->s);
    assert_null(f->s);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

typedef struct {
    int64_t seqs[16];
    int n;
} s_seen;

static int s_collect(void *ctx, const char *recipient, const zn_queue_item *it)
{
    (void)recipient;
    s_seen *v = ctx;
    if (v->n < 16)
        v->seqs[v->n++] = it->seq;
    return 0;
}

static int64_t s_insert(zn_store *s, const char *to, uint8_t tag)
{
    uint8_t id[ZN_ID_LEN] = {tag}, body[4] = {0x93, 1, 2, 3};
    int64_t seq = 0;
    assert_int_equal(zn_store_queue_insert(s, to, id, 1, "school", NULL, body, sizeof body, 1000, &seq), 0);
    return seq;
}

static void test_queue_positions_are_never_reused(void **state)
{
    s_fix *f = *state;
    assert_int_equal(zn_store_begin(f->s), 0);
    int64_t a = s_insert(f->s, "ggd", 1), b = s_insert(f->s, "ggd", 2), c = s_insert(f->s, "ggd", 3);
    assert_true(a < b && b < c);
    /* acknowledge the newest ones: the next item must still come after them */
    assert_int_equal(zn_store_queue_delete(f->s, "ggd", c), 1);
    assert_int_equal(zn_store_queue_delete(f->s, "ggd", b), 1);
    int64_t d = s_insert(f->s, "ggd", 4);
    assert_true(d > c);
    assert_int_equal(zn_store_commit(f->s), 0);

    s_seen v = {0};
    assert_int_equal(zn_store_queue_fetch(f->s, "ggd", c, 10, s_collect, &v), 1);
    assert_int_equal(v.seqs[0], d);
}

static void test_queue_is_per_recipient_and_ordered(void **state)
{
    s_fix *f = *state;
    assert_int_equal(zn_store_begin(f->s), 0);
    int64_t a = s_insert(f->s, "ggd", 1);
    (void)s_insert(f->s, "wijkracht", 2);
    int64_t c = s_insert(f->s, "ggd", 3);
    /* another recipient's item cannot be deleted by ggd */
    assert_int_equal(zn_store_queue_delete(f->s, "wijkracht", a), 0);
    assert_int_equal(zn_store_commit(f->s), 0);
    s_seen v = {0};
    assert_int_equal(zn_store_queue_fetch(f->s, "ggd", 0, 10, s_collect, &v), 2);
    assert_int_equal(v.seqs[0], a);
    assert_int_equal(v.seqs[1], c);
    s_seen lim = {0};
    assert_int_equal(zn_store_queue_fetch(f->s, "ggd", 0, 1, s_collect, &lim), 1);
}

static void test_message_id_claimed_once(void **state)
{
    s_fix *f = *state;
    uint8_t msgid[ZN_ID_LEN] = {7}, kase[ZN_ID_LEN] = {9}, prev_case[ZN_ID_LEN];
    char prev[ZN_IDENT_MAX];
    uint64_t idx = 41;
    assert_int_equal(zn_store_begin(f->s), 0);
    assert_int_equal(zn_store_msgid_claim(f->s, "school", msgid, "ggd", kase, 1, &idx, prev, prev_case), 0);
    idx = 99;
    assert_int_equal(zn_store_msgid_claim(f->s, "school", msgid, "wijkracht", kase, 2, &idx, prev, prev_case), 1);
    assert_string_equal(prev, "ggd"); /* what it was first used for */
    assert_memory_equal(prev_case, kase, ZN_ID_LEN);
    assert_int_equal(idx, 41); /* and the audit entry of its acceptance */
    /* the same id from another sender is another message */
    assert_int_equal(zn_store_msgid_claim(f->s, "politie", msgid, "ggd", kase, 3, &idx, prev, prev_case), 0);
    assert_int_equal(zn_store_commit(f->s), 0);
}

static void test_nonce_replay_and_prune(void **state)
{
    s_fix *f = *state;
    uint8_t nonce[16] = {1, 2, 3};
    assert_int_equal(zn_store_begin(f->s), 0);
    assert_int_equal(zn_store_nonce_insert(f->s, "school", nonce, 1000), 0);
    assert_int_equal(zn_store_nonce_insert(f->s, "school", nonce, 2000), 1);
    assert_int_equal(zn_store_nonce_insert(f->s, "ggd", nonce, 2000), 0);
    assert_int_equal(zn_store_prune(f->s, 1500, 0), 0);
    assert_int_equal(zn_store_nonce_insert(f->s, "school", nonce, 3000), 0); /* forgotten */
    assert_int_equal(zn_store_nonce_insert(f->s, "ggd", nonce, 3000), 1);    /* kept */
    assert_int_equal(zn_store_commit(f->s), 0);
}

static void test_savepoint_undoes_one_request(void **state)
{
    s_fix *f = *state;
    assert_int_equal(zn_store_begin(f->s), 0);
    (void)s_insert(f->s, "ggd", 1);
    assert_int_equal(zn_store_savepoint(f->s), 0);
    (void)s_insert(f->s, "ggd", 2);
    zn_store_rollback_to(f->s);
    assert_int_equal(zn_store_commit(f->s), 0);
    s_seen v = {0};
    assert_int_equal(zn_store_queue_fetch(f->s, "ggd", 0, 10, s_collect, &v), 1);
}

static void test_schema_version_and_reopen(void **state)
{
    s_fix *f = *state;
    assert_int_equal(zn_store_begin(f->s), 0);
    assert_int_equal(zn_store_meta_set_u64(f->s, "convenant_version", 42), 0);
    assert_int_equal(zn_store_commit(f->s), 0);
    zn_store_close(&f->s);

    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), ZN_SCHEMA_VERSION);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    zn_err e;
    zn_store *s = NULL;
    assert_int_equal(zn_store_open(f->path, &s, &e), -1); /* from a newer zorgnetd: refused */
    assert_int_equal(e.code, ZN_E_STORE);
    assert_non_null(strstr(e.text, "newer"));

    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = " ZN_STR(ZN_SCHEMA_VERSION), NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(zn_store_open(f->path, &f->s, &e), 0);
    uint64_t v = 0;
    assert_int_equal(zn_store_meta_get_u64(f->s, "convenant_version", &v), 1);
    assert_int_equal(v, 42);
}

/* A database of schema 1 (before the audit log) is migrated forward and keeps its rows. */
static void test_schema_1_migrated(void **state)
{
    s_fix *f = *state;
    zn_store_close(&f->s);
    unlink(f->path);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
        "CREATE TABLE meta(k TEXT PRIMARY KEY, v) WITHOUT ROWID;"
        "CREATE TABLE cases(id BLOB PRIMARY KEY, network TEXT NOT NULL, regisseur TEXT NOT NULL,"
        "  created_ms INTEGER NOT NULL);"
        "CREATE TABLE queue(seq INTEGER PRIMARY KEY AUTOINCREMENT, recipient TEXT NOT NULL,"
        "  item_id BLOB NOT NULL, kind INTEGER NOT NULL, sender TEXT, case_id BLOB, body BLOB NOT NULL,"
        "  created_ms INTEGER NOT NULL);"
        "CREATE INDEX queue_by_recipient ON queue(recipient, seq);"
        "CREATE TABLE msgids(sender TEXT NOT NULL, msgid BLOB NOT NULL, recipient TEXT NOT NULL,"
        "  case_id BLOB NOT NULL, created_ms INTEGER NOT NULL, PRIMARY KEY(sender, msgid)) WITHOUT ROWID;"
        "CREATE INDEX msgids_by_time ON msgids(created_ms);"
        "CREATE TABLE nonces(partner TEXT NOT NULL, nonce BLOB NOT NULL, at_ms INTEGER NOT NULL,"
        "  PRIMARY KEY(partner, nonce)) WITHOUT ROWID;"
        "CREATE INDEX nonces_by_time ON nonces(at_ms);"
        "INSERT INTO meta VALUES('convenant_version', 7);"
        "INSERT INTO msgids VALUES('school', x'07', 'ggd', x'09', 5);"
        "PRAGMA user_version = 1;", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    zn_err e;
    assert_int_equal(zn_store_open(f->path, &f->s, &e), 0);
    uint64_t v = 0, size = 1;
    assert_int_equal(zn_store_meta_get_u64(f->s, "convenant_version", &v), 1);
    assert_int_equal(v, 7);
    assert_int_equal(zn_store_audit_size(f->s, &size), 0);
    assert_int_equal(size, 0);
}

static void test_not_a_database_refused(void **state)
{
    s_fix *f = *state;
    char path[128];
    snprintf(path, sizeof path, "%s/garbage.db", f->dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("this is not an sqlite database, just some text that is long enough to look like one...", fp);
    fclose(fp);
    zn_err e;
    zn_store *s = NULL;
    assert_int_equal(zn_store_open(path, &s, &e), -1);
    assert_null(s);
    assert_int_equal(e.code, ZN_E_STORE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_queue_positions_are_never_reused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_queue_is_per_recipient_and_ordered, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_message_id_claimed_once, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_nonce_replay_and_prune, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_savepoint_undoes_one_request, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_schema_version_and_reopen, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_schema_1_migrated, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_not_a_database_refused, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
