/* The client's state file: highest convenant version seen, pinned authority, messages shown,
 * the last signed tree head accepted, and the audit index of each message sent. */
#include "zn_audit.h"
#include "zn_client_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct zn_state {
    sqlite3 *db;
    char *path;
};

#define S_AUTH_LEN 32

_Static_assert(ZN_STATE_HEAD_MAX >= ZN_TREE_HEAD_MAX, "room for a tree head");
_Static_assert(ZN_STATE_SIG_LEN == ZN_SIG_LEN && ZN_STATE_KEY_LEN == ZN_KEY_LEN, "key sizes");

static int s_db_err(zn_state *s, zn_err *e, const char *what)
{
    return zn_err_set(e, ZN_E_IO, "the state file %s could not be %s (%s)", s->path, what,
                      sqlite3_errmsg(s->db));
}

static int s_exec(zn_state *s, const char *sql, zn_err *e)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        zn_err_set(e, ZN_E_IO, "the state file %s could not be used (%s)", s->path,
                   msg ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

/* Create the file 0600 before sqlite opens it, so it never exists with wider rights; sqlite
 * gives its journal and WAL files the database file's mode. */
static int s_create_private(const char *path, zn_err *e)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return zn_err_set(e, ZN_E_IO, "the state file %s could not be opened (%s)", path,
                          strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return zn_err_set(e, ZN_E_IO, "the state file %s is not a regular file", path);
    }
    if ((st.st_mode & 077) != 0 && fchmod(fd, 0600) != 0) {
        close(fd);
        return zn_err_set(e, ZN_E_IO, "the state file %s could not be made private (%s)", path,
                          strerror(errno));
    }
    close(fd);
    return 0;
}

static int s_migrate(zn_state *s, zn_err *e)
{
    sqlite3_stmt *st = NULL;
    int version = -1;
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (version < 0)
        return s_db_err(s, e, "read");
    if (version > ZN_STATE_SCHEMA)
        return zn_err_set(e, ZN_E_IO,
                          "the state file %s was written by a newer zorgnet (schema %d); "
                          "update this client",
                          s->path, version);
    if (version < 1 &&
        s_exec(s,
               "BEGIN IMMEDIATE;"
               "CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v);"
               "CREATE TABLE IF NOT EXISTS seen(sender TEXT NOT NULL, msgid BLOB NOT NULL,"
               " at INTEGER NOT NULL, PRIMARY KEY(sender, msgid));"
               "CREATE INDEX IF NOT EXISTS seen_at ON seen(at);"
               "PRAGMA user_version = 1;"
               "COMMIT;",
               e) != 0)
        goto fail;
    /* 1 -> 2: the last signed tree head accepted (one row) and the audit index of each
     * message sent; existing rows are kept */
    if (version < 2 &&
        s_exec(s,
               "BEGIN IMMEDIATE;"
               "CREATE TABLE IF NOT EXISTS tree_head(one INTEGER PRIMARY KEY CHECK (one = 1),"
               " head BLOB NOT NULL, sig BLOB NOT NULL, signer BLOB NOT NULL,"
               " at INTEGER NOT NULL);"
               "CREATE TABLE IF NOT EXISTS sent(msgid BLOB PRIMARY KEY, audit_index INTEGER NOT NULL,"
               " at INTEGER NOT NULL);"
               "CREATE INDEX IF NOT EXISTS sent_at ON sent(at);"
               "PRAGMA user_version = 2;"
               "COMMIT;",
               e) != 0)
        goto fail;
    return 0;
fail:
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

int zn_state_open(const char *path, zn_state **out, zn_err *e)
{
    *out = NULL;
    zn_state *s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(path))) {
        free(s);
        return zn_err_set(e, ZN_E_INTERNAL, "out of memory");
    }
    if (s_create_private(path, e) != 0)
        goto fail;
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK) {
        if (!s->db) {
            zn_err_set(e, ZN_E_INTERNAL, "out of memory");
            goto fail;
        }
        s_db_err(s, e, "opened");
        goto fail;
    }
    sqlite3_busy_timeout(s->db, 5000);
    sqlite3_extended_result_codes(s->db, 1);
    if (s_exec(s, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;", e) != 0 ||
        s_migrate(s, e) != 0)
        goto fail;
    *out = s;
    return 0;
fail:
    zn_state_close(&s);
    return -1;
}

void zn_state_close(zn_state **sp)
{
    if (!sp || !*sp)
        return;
    zn_state *s = *sp;
    if (s->db)
        sqlite3_close(s->db);
    free(s->path);
    free(s);
    *sp = NULL;
}

/* meta values: version as INTEGER, authority as BLOB. */
static int s_meta_get(zn_state *s, uint64_t *version, uint8_t auth[S_AUTH_LEN], bool *have_auth,
                      zn_err *e)
{
    sqlite3_stmt *st = NULL;
    *version = 0;
    *have_auth = false;
    if (sqlite3_prepare_v2(s->db, "SELECT k, v FROM meta WHERE k IN ('convenant_version','authority')",
                           -1, &st, NULL) != SQLITE_OK)
        return s_db_err(s, e, "read");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(st, 0);
        if (!k)
            continue;
        if (strcmp(k, "convenant_version") == 0) {
            sqlite3_int64 v = sqlite3_column_int64(st, 1);
            *version = v > 0 ? (uint64_t)v : 0;
        } else if (strcmp(k, "authority") == 0 && sqlite3_column_type(st, 1) == SQLITE_BLOB &&
                   sqlite3_column_bytes(st, 1) == S_AUTH_LEN) {
            memcpy(auth, sqlite3_column_blob(st, 1), S_AUTH_LEN);
            *have_auth = true;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return s_db_err(s, e, "read");
    return 0;
}

int zn_state_highest(zn_state *s, uint64_t *version, zn_err *e)
{
    uint8_t auth[S_AUTH_LEN];
    bool have;
    return s_meta_get(s, version, auth, &have, e);
}

int zn_state_check_convenant(zn_state *s, uint64_t version, const uint8_t authority[32],
                             const char *what, zn_err *e)
{
    uint64_t highest;
    uint8_t auth[S_AUTH_LEN];
    bool have_auth;
    if (s_meta_get(s, &highest, auth, &have_auth, e) != 0)
        return -1;
    if (version < highest)
        return zn_err_set(e, ZN_E_CONVENANT_OLD,
                          "%s has version %llu, older than version %llu this client has seen; get "
                          "the current convenant from the authority",
                          what, (unsigned long long)version, (unsigned long long)highest);
    if (have_auth && sodium_memcmp(auth, authority, S_AUTH_LEN) != 0)
        return zn_err_set(e, ZN_E_CONVENANT_INVALID,
                          "%s has a convenant signed by another authority than the one this "
                          "client accepted before; ask the authority for a valid convenant",
                          what);
    return 0;
}

int zn_state_record_convenant(zn_state *s, uint64_t version, const uint8_t authority[32], zn_err *e)
{
    if (version > (uint64_t)INT64_MAX)
        return zn_err_set(e, ZN_E_CONVENANT_INVALID, "the convenant version is out of range");
    if (s_exec(s, "BEGIN IMMEDIATE", e) != 0)
        return -1;
    sqlite3_stmt *st = NULL;
    int ok = sqlite3_prepare_v2(s->db,
                                "INSERT INTO meta(k, v) VALUES('convenant_version', ?1) "
                                "ON CONFLICT(k) DO UPDATE SET v = max(v, excluded.v)",
                                -1, &st, NULL) == SQLITE_OK &&
             sqlite3_bind_int64(st, 1, (sqlite3_int64)version) == SQLITE_OK &&
             sqlite3_step(st) == SQLITE_DONE;
    sqlite3_finalize(st);
    st = NULL;
    ok = ok &&
         sqlite3_prepare_v2(s->db, "INSERT OR IGNORE INTO meta(k, v) VALUES('authority', ?1)", -1,
                            &st, NULL) == SQLITE_OK &&
         sqlite3_bind_blob(st, 1, authority, S_AUTH_LEN, SQLITE_STATIC) == SQLITE_OK &&
         sqlite3_step(st) == SQLITE_DONE;
    sqlite3_finalize(st);
    if (!ok) {
        s_db_err(s, e, "written");
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    if (s_exec(s, "COMMIT", e) != 0) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

int zn_state_is_seen(zn_state *s, const char *sender, const uint8_t msgid[ZN_CLIENT_ID_LEN],
                     bool *seen, zn_err *e)
{
    sqlite3_stmt *st = NULL;
    *seen = false;
    if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM seen WHERE sender = ?1 AND msgid = ?2", -1, &st,
                           NULL) != SQLITE_OK ||
        sqlite3_bind_text(st, 1, sender, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_blob(st, 2, msgid, ZN_CLIENT_ID_LEN, SQLITE_STATIC) != SQLITE_OK) {
        sqlite3_finalize(st);
        return s_db_err(s, e, "read");
    }
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        *seen = true;
    else if (rc != SQLITE_DONE)
        return s_db_err(s, e, "read");
    return 0;
}

int zn_state_mark_seen(zn_state *s, const char *sender, const uint8_t msgid[ZN_CLIENT_ID_LEN],
                       uint64_t now_s, zn_err *e)
{
    sqlite3_stmt *st = NULL;
    if (now_s > (uint64_t)INT64_MAX)
        now_s = (uint64_t)INT64_MAX;
    /* a single statement is its own transaction; it is durable when step returns */
    int ok = sqlite3_prepare_v2(s->db,
                                "INSERT OR IGNORE INTO seen(sender, msgid, at) VALUES(?1, ?2, ?3)",
                                -1, &st, NULL) == SQLITE_OK &&
             sqlite3_bind_text(st, 1, sender, -1, SQLITE_STATIC) == SQLITE_OK &&
             sqlite3_bind_blob(st, 2, msgid, ZN_CLIENT_ID_LEN, SQLITE_STATIC) == SQLITE_OK &&
             sqlite3_bind_int64(st, 3, (sqlite3_int64)now_s) == SQLITE_OK &&
             sqlite3_step(st) == SQLITE_DONE;
    sqlite3_finalize(st);
    return ok ? 0 : s_db_err(s, e, "written");
}

int zn_state_prune(zn_state *s, uint64_t now_s, zn_err *e)
{
    const uint64_t keep = (uint64_t)ZN_CLIENT_SEEN_DAYS * 86400u;
    uint64_t cut = now_s > keep ? now_s - keep : 0;
    if (cut > (uint64_t)INT64_MAX)
        cut = (uint64_t)INT64_MAX;
    sqlite3_stmt *st = NULL;
    static const char *const sql[] = {"DELETE FROM seen WHERE at < ?1", "DELETE FROM sent WHERE at < ?1"};
    for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++) {
        int ok = sqlite3_prepare_v2(s->db, sql[i], -1, &st, NULL) == SQLITE_OK &&
                 sqlite3_bind_int64(st, 1, (sqlite3_int64)cut) == SQLITE_OK &&
                 sqlite3_step(st) == SQLITE_DONE;
        sqlite3_finalize(st);
        st = NULL;
        if (!ok)
            return s_db_err(s, e, "written");
    }
    return 0;
}

/* ------------------------------------------------------------------ tree head */

static int s_head_read(zn_state *s, zn_state_head *out, zn_err *e)
{
    sqlite3_stmt *st = NULL;
    memset(out, 0, sizeof *out);
    if (sqlite3_prepare_v2(s->db, "SELECT head, sig, signer FROM tree_head WHERE one = 1", -1, &st,
                           NULL) != SQLITE_OK)
        return s_db_err(s, e, "read");
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        int hn = sqlite3_column_bytes(st, 0), sn = sqlite3_column_bytes(st, 1),
            kn = sqlite3_column_bytes(st, 2);
        if (sqlite3_column_type(st, 0) != SQLITE_BLOB || hn <= 0 || hn > ZN_STATE_HEAD_MAX ||
            sqlite3_column_type(st, 1) != SQLITE_BLOB || sn != ZN_STATE_SIG_LEN ||
            sqlite3_column_type(st, 2) != SQLITE_BLOB || kn != ZN_STATE_KEY_LEN) {
            sqlite3_finalize(st);
            return zn_err_set(e, ZN_E_VERIFY,
                              "the state file %s holds a damaged tree head; restore the file from "
                              "a backup or ask the auditors before going on",
                              s->path);
        }
        memcpy(out->head, sqlite3_column_blob(st, 0), (size_t)hn);
        out->head_len = (size_t)hn;
        memcpy(out->sig, sqlite3_column_blob(st, 1), ZN_STATE_SIG_LEN);
        memcpy(out->signer, sqlite3_column_blob(st, 2), ZN_STATE_KEY_LEN);
        out->have = true;
        rc = SQLITE_DONE;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : s_db_err(s, e, "read");
}

int zn_state_get_head(zn_state *s, zn_state_head *out, zn_err *e)
{
    return s_head_read(s, out, e);
}

static bool s_head_same(const zn_state_head *a, const zn_state_head *b)
{
    if (a->have != b->have)
        return false;
    return !a->have || (a->head_len == b->head_len && memcmp(a->head, b->head, a->head_len) == 0 &&
                        memcmp(a->sig, b->sig, ZN_STATE_SIG_LEN) == 0);
}

int zn_state_put_head(zn_state *s, const zn_state_head *prev, const zn_state_head *next,
                      uint64_t now_s, zn_err *e)
{
    zn_state_head cur;
    if (!next || !next->have || next->head_len == 0 || next->head_len > ZN_STATE_HEAD_MAX)
        return zn_err_set(e, ZN_E_INTERNAL, "no tree head to store");
    if (now_s > (uint64_t)INT64_MAX)
        now_s = (uint64_t)INT64_MAX;
    if (s_exec(s, "BEGIN IMMEDIATE", e) != 0)
        return -1;
    if (s_head_read(s, &cur, e) != 0)
        goto fail;
    zn_state_head none;
    memset(&none, 0, sizeof none);
    if (!s_head_same(&cur, prev ? prev : &none)) {
        zn_err_set(e, ZN_E_VERIFY,
                   "another zorgnet run with this key stored a newer tree head meanwhile; run "
                   "the command again");
        goto fail;
    }
    sqlite3_stmt *st = NULL;
    int ok = sqlite3_prepare_v2(s->db,
                                "INSERT INTO tree_head(one, head, sig, signer, at) "
                                "VALUES(1, ?1, ?2, ?3, ?4) ON CONFLICT(one) DO UPDATE SET "
                                "head = excluded.head, sig = excluded.sig, "
                                "signer = excluded.signer, at = excluded.at",
                                -1, &st, NULL) == SQLITE_OK &&
             sqlite3_bind_blob(st, 1, next->head, (int)next->head_len, SQLITE_STATIC) == SQLITE_OK &&
             sqlite3_bind_blob(st, 2, next->sig, ZN_STATE_SIG_LEN, SQLITE_STATIC) == SQLITE_OK &&
             sqlite3_bind_blob(st, 3, next->signer, ZN_STATE_KEY_LEN, SQLITE_STATIC) == SQLITE_OK &&
             sqlite3_bind_int64(st, 4, (sqlite3_int64)now_s) == SQLITE_OK &&
             sqlite3_step(st) == SQLITE_DONE;
    sqlite3_finalize(st);
    if (!ok) {
        s_db_err(s, e, "written");
        goto fail;
    }
    if (s_exec(s, "COMMIT", e) != 0)
        goto fail;
    return 0;
fail:
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

/* ------------------------------------------------------------------ messages sent */

int zn_state_record_sent(zn_state *s, const uint8_t msgid[ZN_CLIENT_ID_LEN], uint64_t audit_index,
                         uint64_t now_s, zn_err *e)
{
    sqlite3_stmt *st = NULL;
    if (audit_index > (uint64_t)INT64_MAX)
        return zn_err_set(e, ZN_E_MALFORMED, "the broker gave an audit index out of range");
    if (now_s > (uint64_t)INT64_MAX)
        now_s = (uint64_t)INT64_MAX;
    /* the first acceptance stands: a retry with the same id keeps the index already known */
    int ok = sqlite3_prepare_v2(s->db,
                                "INSERT OR IGNORE INTO sent(msgid, audit_index, at) VALUES(?1, ?2, ?3)",
                                -1, &st, NULL) == SQLITE_OK &&
             sqlite3_bind_blob(st, 1, msgid, ZN_CLIENT_ID_LEN, SQLITE_STATIC) == SQLITE_OK &&
             sqlite3_bind_int64(st, 2, (sqlite3_int64)audit_index) == SQLITE_OK &&
             sqlite3_bind_int64(st, 3, (sqlite3_int64)now_s) == SQLITE_OK &&
             sqlite3_step(st) == SQLITE_DONE;
    sqlite3_finalize(st);
    return ok ? 0 : s_db_err(s, e, "written");
}

int zn_state_sent_index(zn_state *s, const uint8_t msgid[ZN_CLIENT_ID_LEN], bool *found,
                        uint64_t *audit_index, zn_err *e)
{
    sqlite3_stmt *st = NULL;
    *found = false;
    *audit_index = 0;
    if (sqlite3_prepare_v2(s->db, "SELECT audit_index FROM sent WHERE msgid = ?1", -1, &st, NULL) !=
            SQLITE_OK ||
        sqlite3_bind_blob(st, 1, msgid, ZN_CLIENT_ID_LEN, SQLITE_STATIC) != SQLITE_OK) {
        sqlite3_finalize(st);
        return s_db_err(s, e, "read");
    }
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        sqlite3_int64 v = sqlite3_column_int64(st, 0);
        *found = v >= 0;
        *audit_index = v >= 0 ? (uint64_t)v : 0;
        rc = SQLITE_DONE;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : s_db_err(s, e, "read");
}
