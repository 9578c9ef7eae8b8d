#include "store.h"

#include "zn_frame.h"
#include "zn_sealed.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_CHECKPOINT_EVERY_MS 100
#define S_CHUNK_BYTES (32 * 1024 * 1024)
#define S_PAGE_BYTES 8192 /* PRAGMA page_size below */

/* Forward migrations: s_migrations[i] takes the schema from version i to i+1. */
static const char *const s_migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE meta(k TEXT PRIMARY KEY, v) WITHOUT ROWID;"
    "CREATE TABLE cases(id BLOB PRIMARY KEY, network TEXT NOT NULL, regisseur TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL);"
    /* AUTOINCREMENT: a seq is never reused, so "items after the last one pushed" stays right
     * after the newest items are acknowledged and deleted. */
    "CREATE TABLE queue(seq INTEGER PRIMARY KEY AUTOINCREMENT, recipient TEXT NOT NULL,"
    "  item_id BLOB NOT NULL, kind INTEGER NOT NULL, sender TEXT, case_id BLOB, body BLOB NOT NULL,"
    "  created_ms INTEGER NOT NULL);"
    "CREATE INDEX queue_by_recipient ON queue(recipient, seq);"
    "CREATE TABLE msgids(sender TEXT NOT NULL, msgid BLOB NOT NULL, recipient TEXT NOT NULL,"
    "  case_id BLOB NOT NULL, created_ms INTEGER NOT NULL, PRIMARY KEY(sender, msgid)) WITHOUT ROWID;"
    "CREATE INDEX msgids_by_time ON msgids(created_ms);"
    "CREATE TABLE nonces(partner TEXT NOT NULL, nonce BLOB NOT NULL, at_ms INTEGER NOT NULL,"
    "  PRIMARY KEY(partner, nonce)) WITHOUT ROWID;"
    "CREATE INDEX nonces_by_time ON nonces(at_ms);",
    /* 1 -> 2: the audit log. An entry row keeps its commitment d for good; redaction sets salt
     * and entry to NULL. Tree nodes are stored from level S_NODE_LEVEL up; lower ones are
     * recomputed from the commitments (at most 2^S_NODE_LEVEL of them). */
    "ALTER TABLE msgids ADD COLUMN audit_idx INTEGER;"
    "CREATE TABLE audit(idx INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, d BLOB NOT NULL, salt BLOB,"
    "  entry BLOB);"
    "CREATE TABLE audit_node(level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL,"
    "  PRIMARY KEY(level, idx)) WITHOUT ROWID;"
    "CREATE TABLE audit_head(size INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, head BLOB NOT NULL,"
    "  sig BLOB NOT NULL);"
    "CREATE TABLE convenants(version INTEGER PRIMARY KEY, raw BLOB NOT NULL);",
    /* 2 -> 3: signals, their pseudonyms, matches and rate events. signal_psn holds one row per
     * pseudonym of a signal (role 0: its person, 1: a related person), so a match look-up is
     * one probe of its primary key per pseudonym. matches are found from either signal: by
     * the unique (a_signal, b_signal) index or by matches_by_b. */
    "CREATE TABLE signals(id BLOB PRIMARY KEY, partner TEXT NOT NULL, handler TEXT NOT NULL,"
    "  network TEXT NOT NULL, person BLOB NOT NULL, related BLOB NOT NULL, contact TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL, refreshed_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL,"
    "  informed_ms INTEGER NOT NULL, UNIQUE(partner, network, person));"
    "CREATE INDEX signals_by_expiry ON signals(expires_ms);"
    /* expires_ms too: a partner's active signals are counted from the index alone */
    "CREATE INDEX signals_by_partner ON signals(partner, created_ms, expires_ms);"
    "CREATE TABLE signal_psn(psn BLOB NOT NULL, signal BLOB NOT NULL, role INTEGER NOT NULL,"
    "  PRIMARY KEY(psn, signal)) WITHOUT ROWID;"
    "CREATE TABLE matches(id BLOB PRIMARY KEY, a_signal BLOB NOT NULL, b_signal BLOB NOT NULL,"
    "  a_partner TEXT NOT NULL, b_partner TEXT NOT NULL, a_network TEXT NOT NULL, b_network TEXT NOT NULL,"
    "  shared BLOB NOT NULL, link INTEGER NOT NULL, disclosure INTEGER NOT NULL, created_ms INTEGER NOT NULL,"
    "  connected_ms INTEGER NOT NULL, connected_by TEXT NOT NULL, lead TEXT NOT NULL,"
    "  UNIQUE(a_signal, b_signal));"
    "CREATE INDEX matches_by_b ON matches(b_signal);"
    "CREATE TABLE rate_events(partner TEXT NOT NULL, handler TEXT NOT NULL, at_ms INTEGER NOT NULL);"
    "CREATE INDEX rate_by_partner ON rate_events(partner, at_ms);"
    "CREATE INDEX rate_by_handler ON rate_events(partner, handler, at_ms);",
    /* 3 -> 4: cases get a closing time and, once identified, the person's and the related
     * persons' pseudonyms (person NULL: anonymous; related n * ZN_PSN_LEN bytes); members,
     * consent records, safety overrides and handovers belong to a case. Existing cases stay
     * open and anonymous, their regisseurs their first members. States and flags are the
     * integers of zn_case.h; times unix ms. */
    "ALTER TABLE cases ADD COLUMN closed_ms INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE cases ADD COLUMN person BLOB;"
    "ALTER TABLE cases ADD COLUMN related BLOB;"
    "CREATE INDEX cases_by_closed ON cases(closed_ms) WHERE closed_ms > 0;"
    "CREATE TABLE case_members(case_id BLOB NOT NULL, partner TEXT NOT NULL, how TEXT NOT NULL,"
    "  since_ms INTEGER NOT NULL, PRIMARY KEY(case_id, partner)) WITHOUT ROWID;"
    "INSERT INTO case_members(case_id, partner, how, since_ms)"
    "  SELECT id, regisseur, 'regisseur', created_ms FROM cases;"
    /* scope: partner ids separated by commas; given_by: ZN_GIVEN_* bits; partner: who recorded
     * it (the regisseur then). consents_by_until: the clock's question, which consents ended. */
    "CREATE TABLE consents(case_id BLOB NOT NULL, seq INTEGER NOT NULL, state INTEGER NOT NULL,"
    "  scope TEXT NOT NULL, given_by INTEGER NOT NULL, age_band INTEGER NOT NULL, until_ms INTEGER NOT NULL,"
    "  at_ms INTEGER NOT NULL, handler TEXT NOT NULL, purpose BLOB, partner TEXT NOT NULL,"
    "  PRIMARY KEY(case_id, seq));"
    "CREATE INDEX consents_by_until ON consents(until_ms, case_id) WHERE until_ms > 0;"
    "CREATE TABLE overrides(id BLOB PRIMARY KEY, case_id BLOB NOT NULL, network TEXT NOT NULL,"
    "  sender TEXT NOT NULL, handler TEXT NOT NULL, recipient TEXT NOT NULL, step INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL, review_by_ms INTEGER NOT NULL,"
    "  state INTEGER NOT NULL, reviewed_by TEXT NOT NULL, reviewed_ms INTEGER NOT NULL,"
    "  escalated INTEGER NOT NULL, justification BLOB NOT NULL, note BLOB);"
    "CREATE INDEX overrides_by_case ON overrides(case_id, created_ms);"
    "CREATE INDEX overrides_by_sender ON overrides(sender, created_ms);"
    "CREATE INDEX overrides_by_time ON overrides(created_ms);"
    /* the clock's two questions: which standing ones expired, which pending ones are late */
    "CREATE INDEX overrides_by_expiry ON overrides(state, expires_ms);"
    "CREATE INDEX overrides_by_review ON overrides(state, escalated, review_by_ms);"
    "CREATE TABLE handovers(id BLOB PRIMARY KEY, case_id BLOB NOT NULL, sender TEXT NOT NULL,"
    "  handler TEXT NOT NULL, recipient TEXT NOT NULL, msgid BLOB NOT NULL, offered_ms INTEGER NOT NULL,"
    "  timeout_ms INTEGER NOT NULL, state INTEGER NOT NULL, decided_ms INTEGER NOT NULL,"
    "  escalated INTEGER NOT NULL, reason BLOB);"
    "CREATE INDEX handovers_by_case ON handovers(case_id, state);"
    "CREATE INDEX handovers_by_sender ON handovers(sender, offered_ms);"
    "CREATE INDEX handovers_by_recipient ON handovers(recipient, offered_ms);"
    "CREATE INDEX handovers_by_timeout ON handovers(state, escalated, timeout_ms);"
    "CREATE INDEX queue_by_case ON queue(case_id) WHERE case_id IS NOT NULL;",
};

_Static_assert(sizeof s_migrations / sizeof s_migrations[0] == ZN_SCHEMA_VERSION,
               "one migration per schema version");

/* signal_psn.role */
#define S_ROLE_PERSON 0
#define S_ROLE_RELATED 1

#define S_SIGNAL_COLS "id, partner, handler, network, person, related, contact, created_ms, refreshed_ms," \
                      " expires_ms, informed_ms"
#define S_MATCH_COLS "id, a_signal, b_signal, a_partner, b_partner, a_network, b_network, shared, link," \
                     " disclosure, created_ms, connected_ms, connected_by, lead"
#define S_CASE_COLS "id, network, regisseur, created_ms, closed_ms, person, related"
#define S_CONSENT_COLS "seq, state, scope, given_by, age_band, until_ms, at_ms, handler, purpose, partner"
#define S_OVR_COLS "id, case_id, network, sender, handler, recipient, step, created_ms, expires_ms," \
                   " review_by_ms, state, reviewed_by, reviewed_ms, escalated, justification, note"
#define S_HO_COLS "id, case_id, sender, handler, recipient, msgid, offered_ms, timeout_ms, state, decided_ms," \
                  " escalated, reason"
/* override-list's filter: ?1 every network (1) or only those in ?7..?38 (0), ?2 the author
 * (NULL: any); the pending variant adds "pending and unexpired at ?4" first, so the probe of
 * overrides_by_expiry finds the few waiting for review among the many decided. */
#define S_OVR_NETS "?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18,?19,?20,?21,?22,?23,?24,?25,?26,?27,?28,?29," \
                   "?30,?31,?32,?33,?34,?35,?36,?37,?38"
#define S_OVR_NET_FIRST 7
#define S_OVR_NET_SLOTS 32
_Static_assert(ZN_MAX_NETWORKS <= S_OVR_NET_SLOTS, "a slot for every network in override-list's filter");
#define S_OVR_FILTER "(?1 OR network IN (" S_OVR_NETS ")) AND (?2 IS NULL OR sender = ?2)"
#define S_OVR_PENDING "state = 1 AND expires_ms > ?4 AND "
/* The states the statements name as numbers. */
_Static_assert(ZN_OVERRIDE_PENDING == 1 && ZN_OVERRIDE_APPROVED == 2 && ZN_HANDOVER_OPEN == 1 &&
                   ZN_CONSENT_GRANTED == 2,
               "consent, override and handover states as in the SQL below");
/* Overrides whose time came (?1 now): standing and expired, or pending, unescalated and late. */
#define S_OVR_DUE "((state IN (1, 2) AND expires_ms <= ?1) OR (state = 1 AND escalated = 0 AND review_by_ms <= ?1))"

enum {
    Q_BEGIN, Q_COMMIT, Q_ROLLBACK, Q_SAVEPOINT, Q_RELEASE, Q_ROLLBACK_TO,
    Q_META_GET, Q_META_SET,
    Q_CASE_GET, Q_CASE_INSERT, Q_CASE_LINK, Q_CASE_CLOSE, Q_CASE_REGISSEUR, Q_CASE_CLOSED,
    Q_CASE_SAVEPOINT, Q_CASE_RELEASE, Q_CASE_ROLLBACK_TO,
    Q_CASE_DELETE, Q_CASE_DEL_MEMBERS, Q_CASE_DEL_CONSENTS, Q_CASE_DEL_OVERRIDES, Q_CASE_DEL_HANDOVERS,
    Q_MEMBER_ADD, Q_MEMBER_GET, Q_MEMBERS,
    Q_CONSENT_ADD, Q_CONSENT_CURRENT, Q_CONSENT_HISTORY, Q_CONSENT_ENDED,
    Q_OVR_PUT, Q_OVR_GET, Q_OVR_BETWEEN, Q_OVR_LIST, Q_OVR_TOTAL, Q_OVR_LIST_PENDING, Q_OVR_TOTAL_PENDING,
    Q_OVR_DUE_IDS, Q_OVR_DUE_ROW, Q_OVR_STANDING,
    Q_HO_PUT, Q_HO_GET, Q_HO_OPEN, Q_HO_LIST, Q_HO_TOTAL, Q_HO_DUE_IDS, Q_HO_DUE_ROW, Q_HO_OPEN_TO,
    Q_QUEUE_MAX_SEQ, Q_QUEUE_CASE, Q_MSGID_MATCH,
    Q_MSGID_GET, Q_MSGID_INSERT,
    Q_NONCE_INSERT, Q_NONCE_PRUNE, Q_MSGID_PRUNE,
    Q_QUEUE_INSERT, Q_QUEUE_DELETE, Q_QUEUE_REMOVE, Q_QUEUE_FETCH, Q_QUEUE_COUNTS, Q_QUEUE_ALL, Q_QUEUE_DELETE_ALL,
    Q_AUDIT_INSERT, Q_AUDIT_SIZE, Q_AUDIT_DS, Q_AUDIT_SCAN, Q_AUDIT_REDACT,
    Q_NODE_PUT, Q_NODE_GET, Q_HEAD_PUT, Q_HEAD_LATEST, Q_HEAD_SCAN, Q_CONV_PUT, Q_CONV_SCAN,
    Q_SIG_SAVEPOINT, Q_SIG_RELEASE, Q_SIG_ROLLBACK_TO,
    Q_SIG_GET, Q_SIG_FIND, Q_SIG_PUT, Q_SIG_DELETE, Q_PSN_INSERT, Q_PSN_DELETE, Q_SIG_PROBE,
    Q_SIG_LIST, Q_SIG_TOTAL, Q_SIG_EXPIRED, Q_SIG_COUNT,
    Q_RATE_ADD, Q_RATE_COUNT_PARTNER, Q_RATE_COUNT_HANDLER, Q_RATE_PRUNE,
    Q_MATCH_GET, Q_MATCH_FIND, Q_MATCH_PUT, Q_MATCH_OF, Q_MATCH_DELETE, Q_MATCH_DELETE_SIG,
    Q__COUNT
};

static const char *const s_sql[Q__COUNT] = {
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    [Q_SAVEPOINT] = "SAVEPOINT req",
    [Q_RELEASE] = "RELEASE req",
    [Q_ROLLBACK_TO] = "ROLLBACK TO req",
    [Q_META_GET] = "SELECT v FROM meta WHERE k = ?1",
    [Q_META_SET] = "INSERT INTO meta(k, v) VALUES(?1, ?2) ON CONFLICT(k) DO UPDATE SET v = ?2",
    [Q_CASE_GET] = "SELECT " S_CASE_COLS " FROM cases WHERE id = ?1",
    [Q_CASE_INSERT] = "INSERT OR IGNORE INTO cases(" S_CASE_COLS ") VALUES(?1,?2,?3,?4,?5,?6,?7)",
    [Q_CASE_LINK] = "UPDATE cases SET person = ?2, related = ?3 WHERE id = ?1",
    [Q_CASE_CLOSE] = "UPDATE cases SET closed_ms = ?2 WHERE id = ?1",
    [Q_CASE_REGISSEUR] = "UPDATE cases SET regisseur = ?2 WHERE id = ?1",
    [Q_CASE_CLOSED] = "SELECT id FROM cases WHERE closed_ms > 0 AND closed_ms <= ?1 ORDER BY closed_ms LIMIT ?2",
    /* a case's rows go together or not at all, also outside the caller's transaction */
    [Q_CASE_SAVEPOINT] = "SAVEPOINT kase",
    [Q_CASE_RELEASE] = "RELEASE kase",
    [Q_CASE_ROLLBACK_TO] = "ROLLBACK TO kase",
    [Q_CASE_DELETE] = "DELETE FROM cases WHERE id = ?1",
    [Q_CASE_DEL_MEMBERS] = "DELETE FROM case_members WHERE case_id = ?1",
    [Q_CASE_DEL_CONSENTS] = "DELETE FROM consents WHERE case_id = ?1",
    [Q_CASE_DEL_OVERRIDES] = "DELETE FROM overrides WHERE case_id = ?1",
    [Q_CASE_DEL_HANDOVERS] = "DELETE FROM handovers WHERE case_id = ?1",
    /* only on a case that exists (an item acknowledged after its case was deleted adds nobody);
     * a partner's first row stays, but taking the case over (handover) replaces "received" */
    [Q_MEMBER_ADD] = "INSERT INTO case_members(case_id, partner, how, since_ms) SELECT ?1,?2,?3,?4"
                     " WHERE EXISTS (SELECT 1 FROM cases WHERE id = ?1)"
                     " ON CONFLICT(case_id, partner) DO UPDATE SET how = excluded.how"
                     " WHERE excluded.how = 'handover' AND how = 'received'",
    [Q_MEMBER_GET] = "SELECT how, since_ms FROM case_members WHERE case_id = ?1 AND partner = ?2",
    [Q_MEMBERS] = "SELECT partner, how, since_ms FROM case_members WHERE case_id = ?1 ORDER BY since_ms, partner"
                  " LIMIT ?2",
    /* the next number of the case in the same statement as the row */
    [Q_CONSENT_ADD] = "INSERT INTO consents(case_id, " S_CONSENT_COLS ")"
                      " SELECT ?1, coalesce(max(seq), 0) + 1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10 FROM consents"
                      " WHERE case_id = ?1 RETURNING seq",
    [Q_CONSENT_CURRENT] = "SELECT " S_CONSENT_COLS " FROM consents WHERE case_id = ?1 ORDER BY seq DESC LIMIT 1",
    /* the newest ?2, oldest first among them */
    [Q_CONSENT_HISTORY] = "SELECT * FROM (SELECT " S_CONSENT_COLS " FROM consents WHERE case_id = ?1"
                          " ORDER BY seq DESC LIMIT ?2) ORDER BY seq",
    /* current granted records that ended after the cursor (?1 until, ?2 case) and by ?3 */
    [Q_CONSENT_ENDED] = "SELECT c.case_id, c.seq, c.until_ms FROM consents AS c"
                        " WHERE c.until_ms > 0 AND c.until_ms >= ?1 AND c.until_ms <= ?3"
                        " AND (c.until_ms > ?1 OR c.case_id > ?2) AND c.state = 2"
                        " AND c.seq = (SELECT max(seq) FROM consents WHERE case_id = c.case_id)"
                        " ORDER BY c.until_ms, c.case_id LIMIT ?4",
    /* an update in place keeps the row's rowid, and so its place among rows of the same time */
    [Q_OVR_PUT] = "INSERT INTO overrides(" S_OVR_COLS ") VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16)"
                  " ON CONFLICT(id) DO UPDATE SET case_id = ?2, network = ?3, sender = ?4, handler = ?5,"
                  " recipient = ?6, step = ?7, created_ms = ?8, expires_ms = ?9, review_by_ms = ?10, state = ?11,"
                  " reviewed_by = ?12, reviewed_ms = ?13, escalated = ?14, justification = ?15, note = ?16",
    [Q_OVR_GET] = "SELECT " S_OVR_COLS " FROM overrides WHERE id = ?1",
    [Q_OVR_BETWEEN] = "SELECT " S_OVR_COLS " FROM overrides WHERE case_id = ?1"
                      " AND ((sender = ?2 AND (?3 IS NULL OR recipient = ?3))"
                      " OR (recipient = ?2 AND (?3 IS NULL OR sender = ?3)))"
                      " ORDER BY created_ms DESC, rowid DESC",
    [Q_OVR_LIST] = "SELECT " S_OVR_COLS " FROM overrides WHERE " S_OVR_FILTER
                   " ORDER BY created_ms DESC, rowid DESC LIMIT ?6 OFFSET ?5",
    [Q_OVR_TOTAL] = "SELECT count(*) FROM overrides WHERE " S_OVR_FILTER,
    [Q_OVR_LIST_PENDING] = "SELECT " S_OVR_COLS " FROM overrides WHERE " S_OVR_PENDING S_OVR_FILTER
                           " ORDER BY created_ms DESC, rowid DESC LIMIT ?6 OFFSET ?5",
    [Q_OVR_TOTAL_PENDING] = "SELECT count(*) FROM overrides WHERE " S_OVR_PENDING S_OVR_FILTER,
    /* soonest first: a late review counts from review_by, an expiry from expires */
    [Q_OVR_DUE_IDS] = "SELECT id FROM overrides WHERE " S_OVR_DUE
                      " ORDER BY CASE WHEN state = 1 AND escalated = 0 AND review_by_ms <= ?1"
                      " THEN min(review_by_ms, expires_ms) ELSE expires_ms END, rowid LIMIT ?2",
    [Q_OVR_DUE_ROW] = "SELECT " S_OVR_COLS " FROM overrides WHERE id = ?2 AND " S_OVR_DUE,
    [Q_OVR_STANDING] = "SELECT " S_OVR_COLS " FROM overrides WHERE case_id = ?1 AND state IN (1, 2)"
                       " AND expires_ms > ?2 ORDER BY created_ms DESC, rowid DESC LIMIT ?3",
    [Q_HO_PUT] = "INSERT INTO handovers(" S_HO_COLS ") VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)"
                 " ON CONFLICT(id) DO UPDATE SET case_id = ?2, sender = ?3, handler = ?4, recipient = ?5,"
                 " msgid = ?6, offered_ms = ?7, timeout_ms = ?8, state = ?9, decided_ms = ?10, escalated = ?11,"
                 " reason = ?12",
    [Q_HO_GET] = "SELECT " S_HO_COLS " FROM handovers WHERE id = ?1",
    [Q_HO_OPEN] = "SELECT " S_HO_COLS " FROM handovers WHERE case_id = ?1 AND state = 1"
                  " ORDER BY offered_ms DESC, rowid DESC LIMIT 1",
    [Q_HO_LIST] = "SELECT " S_HO_COLS " FROM handovers WHERE sender = ?1 OR recipient = ?1"
                  " ORDER BY offered_ms DESC, rowid DESC LIMIT ?3 OFFSET ?2",
    [Q_HO_TOTAL] = "SELECT count(*) FROM handovers WHERE sender = ?1 OR recipient = ?1",
    [Q_HO_DUE_IDS] = "SELECT id FROM handovers WHERE state = 1 AND escalated = 0 AND timeout_ms <= ?1"
                     " ORDER BY timeout_ms, rowid LIMIT ?2",
    [Q_HO_DUE_ROW] = "SELECT " S_HO_COLS " FROM handovers WHERE id = ?2 AND state = 1 AND escalated = 0"
                     " AND timeout_ms <= ?1",
    [Q_HO_OPEN_TO] = "SELECT " S_HO_COLS " FROM handovers WHERE recipient = ?1 AND state = 1"
                     " ORDER BY offered_ms, rowid LIMIT ?2",
    /* one item at a time, from the last one on: the caller may delete the one it is given */
    [Q_QUEUE_MAX_SEQ] = "SELECT coalesce(max(seq), 0) FROM queue",
    [Q_QUEUE_CASE] = "SELECT seq, item_id, kind, sender, case_id, body, recipient FROM queue"
                     " WHERE case_id = ?1 AND kind = ?3 AND seq > ?2 AND seq <= ?4 ORDER BY seq LIMIT 1",
    [Q_MSGID_MATCH] = "SELECT 1 FROM msgids WHERE sender = ?1 AND msgid = ?2 AND recipient = ?3 AND case_id = ?4",
    [Q_MSGID_GET] = "SELECT recipient, case_id, audit_idx FROM msgids WHERE sender = ?1 AND msgid = ?2",
    [Q_MSGID_INSERT] = "INSERT OR IGNORE INTO msgids(sender, msgid, recipient, case_id, created_ms, audit_idx)"
                       " VALUES(?1,?2,?3,?4,?5,?6)",
    [Q_NONCE_INSERT] = "INSERT OR IGNORE INTO nonces(partner, nonce, at_ms) VALUES(?1,?2,?3)",
    [Q_NONCE_PRUNE] = "DELETE FROM nonces WHERE at_ms < ?1",
    [Q_MSGID_PRUNE] = "DELETE FROM msgids WHERE created_ms < ?1",
    [Q_QUEUE_INSERT] = "INSERT INTO queue(recipient, item_id, kind, sender, case_id, body, created_ms)"
                       " VALUES(?1,?2,?3,?4,?5,?6,?7)",
    [Q_QUEUE_DELETE] = "DELETE FROM queue WHERE seq = ?2 AND recipient = ?1",
    [Q_QUEUE_REMOVE] = "DELETE FROM queue WHERE seq = ?2 AND recipient = ?1 RETURNING kind, case_id",
    [Q_QUEUE_FETCH] = "SELECT seq, item_id, kind, sender, case_id, body FROM queue"
                      " WHERE recipient = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
    [Q_QUEUE_COUNTS] = "SELECT recipient, count(*) FROM queue GROUP BY recipient",
    [Q_QUEUE_ALL] = "SELECT seq, item_id, kind, sender, case_id, body FROM queue"
                    " WHERE recipient = ?1 ORDER BY seq",
    [Q_QUEUE_DELETE_ALL] = "DELETE FROM queue WHERE recipient = ?1",
    [Q_AUDIT_INSERT] = "INSERT INTO audit(idx, time_ms, d, salt, entry) VALUES(?1,?2,?3,?4,?5)",
    [Q_AUDIT_SIZE] = "SELECT coalesce(max(idx) + 1, 0) FROM audit",
    [Q_AUDIT_DS] = "SELECT d FROM audit WHERE idx >= ?1 AND idx < ?2 ORDER BY idx",
    [Q_AUDIT_SCAN] = "SELECT idx, time_ms, d, salt, entry FROM audit WHERE idx >= ?1 AND idx < ?2"
                     " ORDER BY idx LIMIT ?3",
    [Q_AUDIT_REDACT] = "UPDATE audit SET salt = NULL, entry = NULL WHERE idx = ?1",
    [Q_NODE_PUT] = "INSERT OR REPLACE INTO audit_node(level, idx, hash) VALUES(?1,?2,?3)",
    [Q_NODE_GET] = "SELECT hash FROM audit_node WHERE level = ?1 AND idx = ?2",
    [Q_HEAD_PUT] = "INSERT OR REPLACE INTO audit_head(size, time_ms, head, sig) VALUES(?1,?2,?3,?4)",
    [Q_HEAD_LATEST] = "SELECT size, head, sig FROM audit_head ORDER BY size DESC LIMIT 1",
    [Q_HEAD_SCAN] = "SELECT size, head, sig FROM audit_head WHERE size >= ?1 AND size <= ?2 ORDER BY size"
                    " LIMIT ?3",
    [Q_CONV_PUT] = "INSERT OR IGNORE INTO convenants(version, raw) VALUES(?1,?2)",
    [Q_CONV_SCAN] = "SELECT version, raw, NULL FROM convenants WHERE version >= ?1 ORDER BY version LIMIT ?2",
    /* a signal's rows change together or not at all, also outside the caller's transaction */
    [Q_SIG_SAVEPOINT] = "SAVEPOINT signal",
    [Q_SIG_RELEASE] = "RELEASE signal",
    [Q_SIG_ROLLBACK_TO] = "ROLLBACK TO signal",
    [Q_SIG_GET] = "SELECT " S_SIGNAL_COLS " FROM signals WHERE id = ?1",
    [Q_SIG_FIND] = "SELECT " S_SIGNAL_COLS " FROM signals WHERE partner = ?1 AND network = ?2 AND person = ?3",
    [Q_SIG_PUT] = "INSERT INTO signals(" S_SIGNAL_COLS ") VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)"
                  " ON CONFLICT(id) DO UPDATE SET partner = ?2, handler = ?3, network = ?4, person = ?5,"
                  " related = ?6, contact = ?7, created_ms = ?8, refreshed_ms = ?9, expires_ms = ?10,"
                  " informed_ms = ?11",
    [Q_SIG_DELETE] = "DELETE FROM signals WHERE id = ?1",
    [Q_PSN_INSERT] = "INSERT OR IGNORE INTO signal_psn(psn, signal, role) VALUES(?1,?2,?3)",
    [Q_PSN_DELETE] = "DELETE FROM signal_psn WHERE psn = ?1 AND signal = ?2",
    /* CROSS JOIN keeps signal_psn outside: a probe of its key, then each signal by its id */
    [Q_SIG_PROBE] = "SELECT p.role, s.id, s.partner, s.handler, s.network, s.person, s.related, s.contact,"
                    " s.created_ms, s.refreshed_ms, s.expires_ms, s.informed_ms"
                    " FROM signal_psn AS p CROSS JOIN signals AS s ON s.id = p.signal"
                    " WHERE p.psn = ?1 AND s.partner <> ?2 AND s.expires_ms > ?3",
    [Q_SIG_LIST] = "SELECT " S_SIGNAL_COLS " FROM signals WHERE partner = ?1 AND expires_ms > ?2"
                   " ORDER BY created_ms, expires_ms, rowid LIMIT ?4 OFFSET ?3",
    [Q_SIG_TOTAL] = "SELECT count(*) FROM signals WHERE partner = ?1 AND expires_ms > ?2",
    [Q_SIG_EXPIRED] = "SELECT " S_SIGNAL_COLS " FROM signals WHERE expires_ms <= ?1 ORDER BY expires_ms LIMIT ?2",
    [Q_SIG_COUNT] = "SELECT count(*) FROM signals",
    [Q_RATE_ADD] = "INSERT INTO rate_events(partner, handler, at_ms) VALUES(?1,?2,?3)",
    /* counting stops at ?4 (the limit), so a busy partner's check costs no more than its limit */
    [Q_RATE_COUNT_PARTNER] = "SELECT count(*) FROM (SELECT 1 FROM rate_events WHERE partner = ?1 AND at_ms >= ?2"
                             " LIMIT ?4)",
    [Q_RATE_COUNT_HANDLER] = "SELECT count(*) FROM (SELECT 1 FROM rate_events WHERE partner = ?1 AND handler = ?3"
                             " AND at_ms >= ?2 LIMIT ?4)",
    [Q_RATE_PRUNE] = "DELETE FROM rate_events WHERE at_ms < ?1",
    [Q_MATCH_GET] = "SELECT " S_MATCH_COLS " FROM matches WHERE id = ?1",
    [Q_MATCH_FIND] = "SELECT " S_MATCH_COLS " FROM matches WHERE (a_signal = ?1 AND b_signal = ?2)"
                     " OR (a_signal = ?2 AND b_signal = ?1)",
    [Q_MATCH_PUT] = "INSERT INTO matches(" S_MATCH_COLS ") VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)"
                    " ON CONFLICT(id) DO UPDATE SET a_signal = ?2, b_signal = ?3, a_partner = ?4, b_partner = ?5,"
                    " a_network = ?6, b_network = ?7, shared = ?8, link = ?9, disclosure = ?10, created_ms = ?11,"
                    " connected_ms = ?12, connected_by = ?13, lead = ?14",
    [Q_MATCH_OF] = "SELECT " S_MATCH_COLS " FROM matches WHERE a_signal = ?1"
                   " UNION ALL SELECT " S_MATCH_COLS " FROM matches WHERE b_signal = ?1",
    [Q_MATCH_DELETE] = "DELETE FROM matches WHERE id = ?1",
    [Q_MATCH_DELETE_SIG] = "DELETE FROM matches WHERE a_signal = ?1 OR b_signal = ?1",
};

/* WAL checkpoints run on their own thread and connection, so copying pages into the database
 * file and syncing it never happen inside a commit that clients are waiting for. */
typedef struct {
    pthread_t thread;
    bool running;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stop;
    sqlite3 *db;
} s_checkpointer;

struct zn_store {
    sqlite3 *db;
    sqlite3_stmt *q[Q__COUNT];
    int in_tx;
    s_checkpointer ck;
    uint64_t wal_limit; /* bytes of WAL after which a commit checkpoints and truncates it */
    bool wal_big;       /* the last commit left more than that */
    uint8_t *keep;      /* sealed texts of the last get / current row (s_keep), at most 2 * S_SEALED_MAX */
    size_t keep_cap;
};

/* After every commit: how many pages the WAL holds. Under a steady stream of commits the
 * checkpoint thread may never find the WAL fully copied between two of them, and the WAL would
 * then only grow; past the limit the committing connection truncates it itself. */
static int s_wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
    (void)db, (void)name;
    zn_store *s = arg;
    s->wal_big = (uint64_t)pages * S_PAGE_BYTES > s->wal_limit;
    return SQLITE_OK;
}

static void *s_checkpoint_main(void *arg)
{
    s_checkpointer *ck = arg;
    pthread_mutex_lock(&ck->lock);
    while (!ck->stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += S_CHECKPOINT_EVERY_MS * 1000000L;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&ck->wake, &ck->lock, &until);
        if (ck->stop)
            break;
        pthread_mutex_unlock(&ck->lock);
        (void)sqlite3_wal_checkpoint_v2(ck->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        pthread_mutex_lock(&ck->lock);
    }
    pthread_mutex_unlock(&ck->lock);
    return NULL;
}

static int s_checkpointer_start(s_checkpointer *ck, const char *path)
{
    if (sqlite3_open_v2(path, &ck->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
        sqlite3_exec(ck->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL) != SQLITE_OK)
        return -1;
    int chunk = S_CHUNK_BYTES; /* the checkpoints extend the file: in the same steps */
    (void)sqlite3_file_control(ck->db, "main", SQLITE_FCNTL_CHUNK_SIZE, &chunk);
    sqlite3_busy_timeout(ck->db, 1000);
    if (pthread_mutex_init(&ck->lock, NULL) != 0)
        return -1;
    if (pthread_cond_init(&ck->wake, NULL) != 0) {
        pthread_mutex_destroy(&ck->lock);
        return -1;
    }
    if (pthread_create(&ck->thread, NULL, s_checkpoint_main, ck) != 0) {
        pthread_cond_destroy(&ck->wake);
        pthread_mutex_destroy(&ck->lock);
        return -1;
    }
    ck->running = true;
    return 0;
}

static void s_checkpointer_stop(s_checkpointer *ck)
{
    if (ck->running) {
        pthread_mutex_lock(&ck->lock);
        ck->stop = true;
        pthread_cond_signal(&ck->wake);
        pthread_mutex_unlock(&ck->lock);
        pthread_join(ck->thread, NULL);
        pthread_cond_destroy(&ck->wake);
        pthread_mutex_destroy(&ck->lock);
        ck->running = false;
    }
    sqlite3_close(ck->db);
    ck->db = NULL;
}

/* Run a statement that returns no rows; 0 on success. */
static int s_exec(zn_store *s, int q)
{
    sqlite3_stmt *st = s->q[q];
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return (rc == SQLITE_DONE || rc == SQLITE_ROW) ? 0 : -1;
}

static sqlite3_stmt *s_stmt(zn_store *s, int q)
{
    sqlite3_stmt *st = s->q[q];
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

static int s_migrate(zn_store *s, zn_err *e)
{
    sqlite3_stmt *st = NULL;
    int version = -1;
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (version < 0)
        return zn_err_set(e, ZN_E_STORE, "cannot read the database: %s", sqlite3_errmsg(s->db));
    int latest = (int)(sizeof s_migrations / sizeof s_migrations[0]);
    if (version > latest)
        return zn_err_set(e, ZN_E_STORE,
                          "the database has schema version %d, newer than this zorgnetd (%d)",
                          version, latest);
    for (int v = version; v < latest; v++) {
        char *msg = NULL;
        char pragma[48];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d;", v + 1);
        if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK ||
            sqlite3_exec(s->db, s_migrations[v], NULL, NULL, &msg) != SQLITE_OK ||
            sqlite3_exec(s->db, pragma, NULL, NULL, &msg) != SQLITE_OK ||
            sqlite3_exec(s->db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) {
            zn_err_set(e, ZN_E_STORE, "database migration to schema %d failed: %s", v + 1,
                       msg ? msg : sqlite3_errmsg(s->db));
            sqlite3_free(msg);
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
    }
    return 0;
}

int zn_store_open(const char *path, zn_store **out, zn_err *e)
{
    *out = NULL;
    zn_store *s = calloc(1, sizeof *s);
    if (!s)
        return zn_err_set(e, ZN_E_INTERNAL, "out of memory");
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        zn_err_set(e, ZN_E_STORE, "cannot open database %s: %s", path,
                   s->db ? sqlite3_errmsg(s->db) : "out of memory");
        zn_store_close(&s);
        return -1;
    }
    sqlite3_busy_timeout(s->db, 5000);
    char *msg = NULL;
    /* journal_mode answers with a row; sqlite3_exec ignores it. A file that is not a database
     * fails here with "file is not a database". */
    /* page_size only takes effect on a new database; rows of about 2 KiB fit one 8 KiB page. */
    /* cache_size: a whole batch (up to ZN_BATCH_BYTES of envelopes plus their rows and entries)
     * stays in memory until its commit; a smaller cache spills pages to the WAL mid-transaction
     * and writes them twice. */
    if (sqlite3_exec(s->db, "PRAGMA page_size=8192; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                            " PRAGMA wal_autocheckpoint=0; PRAGMA secure_delete=FAST; PRAGMA cache_size=-65536;",
                     NULL, NULL, &msg) != SQLITE_OK) {
        zn_err_set(e, ZN_E_STORE, "cannot use database %s: %s", path, msg ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        zn_store_close(&s);
        return -1;
    }
    if (s_migrate(s, e) != 0) {
        zn_store_close(&s);
        return -1;
    }
    /* The database file grows in steps of S_CHUNK_BYTES (the audit log only grows): fewer
     * extensions of the file, so fewer file-system metadata commits in the checkpoints' syncs. */
    int chunk = S_CHUNK_BYTES;
    (void)sqlite3_file_control(s->db, "main", SQLITE_FCNTL_CHUNK_SIZE, &chunk);
    for (int i = 0; i < Q__COUNT; i++) {
        if (sqlite3_prepare_v3(s->db, s_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->q[i], NULL) != SQLITE_OK) {
            zn_err_set(e, ZN_E_STORE, "database %s: %s", path, sqlite3_errmsg(s->db));
            zn_store_close(&s);
            return -1;
        }
    }
    s->wal_limit = ZN_STORE_WAL_LIMIT;
    sqlite3_wal_hook(s->db, s_wal_hook, s);
    if (s_checkpointer_start(&s->ck, path) != 0) {
        zn_err_set(e, ZN_E_STORE, "database %s: cannot start the checkpoint thread", path);
        zn_store_close(&s);
        return -1;
    }
    *out = s;
    return 0;
}

void zn_store_close(zn_store **sp)
{
    if (!sp || !*sp)
        return;
    zn_store *s = *sp;
    if (s->in_tx)
        zn_store_rollback(s);
    s_checkpointer_stop(&s->ck);
    for (int i = 0; i < Q__COUNT; i++)
        sqlite3_finalize(s->q[i]);
    sqlite3_close(s->db);
    free(s->keep);
    free(s);
    *sp = NULL;
}

int zn_store_begin(zn_store *s)
{
    if (s_exec(s, Q_BEGIN) != 0)
        return -1;
    s->in_tx = 1;
    return 0;
}

int zn_store_commit(zn_store *s)
{
    if (s_exec(s, Q_COMMIT) != 0) {
        zn_store_rollback(s);
        return -1;
    }
    s->in_tx = 0;
    if (s->wal_big) { /* committed already: a failure here only leaves the WAL long */
        s->wal_big = false;
        (void)zn_store_checkpoint_truncate(s); /* retries while the checkpoint thread is busy */
    }
    return 0;
}

void zn_store_rollback(zn_store *s)
{
    if (sqlite3_get_autocommit(s->db) == 0)
        (void)s_exec(s, Q_ROLLBACK);
    s->in_tx = 0;
}

int zn_store_in_tx(const zn_store *s) { return s->in_tx; }
int zn_store_savepoint(zn_store *s) { return s_exec(s, Q_SAVEPOINT); }
int zn_store_release(zn_store *s) { return s_exec(s, Q_RELEASE); }

void zn_store_rollback_to(zn_store *s)
{
    (void)s_exec(s, Q_ROLLBACK_TO);
    (void)s_exec(s, Q_RELEASE);
}

static void s_bind_text(sqlite3_stmt *st, int i, const char *t)
{
    if (t)
        sqlite3_bind_text(st, i, t, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static void s_bind_blob(sqlite3_stmt *st, int i, const void *p, size_t n)
{
    if (p)
        sqlite3_bind_blob64(st, i, p, n, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

/* Copy column text into a fixed buffer; -1 when missing or too long. */
static int s_col_text(sqlite3_stmt *st, int col, char *dst, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    int n = sqlite3_column_bytes(st, col);
    if (!t || n <= 0 || (size_t)n >= cap)
        return -1;
    memcpy(dst, t, (size_t)n + 1);
    return 0;
}

static int s_col_blob(sqlite3_stmt *st, int col, uint8_t *dst, size_t n)
{
    const void *p = sqlite3_column_blob(st, col);
    if (!p || (size_t)sqlite3_column_bytes(st, col) != n)
        return -1;
    memcpy(dst, p, n);
    return 0;
}

int zn_store_meta_get_u64(zn_store *s, const char *key, uint64_t *v)
{
    sqlite3_stmt *st = s_stmt(s, Q_META_GET);
    s_bind_text(st, 1, key);
    int rc = sqlite3_step(st), r = -1;
    if (rc == SQLITE_DONE)
        r = 0;
    else if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_INTEGER) {
        *v = (uint64_t)sqlite3_column_int64(st, 0);
        r = 1;
    }
    sqlite3_reset(st);
    return r;
}

int zn_store_meta_set_u64(zn_store *s, const char *key, uint64_t v)
{
    sqlite3_stmt *st = s_stmt(s, Q_META_SET);
    s_bind_text(st, 1, key);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)v);
    return s_exec(s, Q_META_SET);
}

int zn_store_meta_get_blob(zn_store *s, const char *key, uint8_t *buf, size_t len)
{
    sqlite3_stmt *st = s_stmt(s, Q_META_GET);
    s_bind_text(st, 1, key);
    int rc = sqlite3_step(st), r = -1;
    if (rc == SQLITE_DONE)
        r = 0;
    else if (rc == SQLITE_ROW && s_col_blob(st, 0, buf, len) == 0)
        r = 1;
    sqlite3_reset(st);
    return r;
}

int zn_store_meta_set_blob(zn_store *s, const char *key, const uint8_t *buf, size_t len)
{
    sqlite3_stmt *st = s_stmt(s, Q_META_SET);
    s_bind_text(st, 1, key);
    s_bind_blob(st, 2, buf, len);
    return s_exec(s, Q_META_SET);
}

static int s_msgid_get(zn_store *s, const char *sender, const uint8_t msgid[ZN_ID_LEN],
                       char recipient[ZN_IDENT_MAX], uint8_t case_id[ZN_ID_LEN], uint64_t *audit_idx)
{
    sqlite3_stmt *st = s_stmt(s, Q_MSGID_GET);
    s_bind_text(st, 1, sender);
    s_bind_blob(st, 2, msgid, ZN_ID_LEN);
    int rc = sqlite3_step(st), r = -1;
    if (rc == SQLITE_DONE)
        r = 0;
    else if (rc == SQLITE_ROW && s_col_text(st, 0, recipient, ZN_IDENT_MAX) == 0 &&
             s_col_blob(st, 1, case_id, ZN_ID_LEN) == 0) {
        *audit_idx = (uint64_t)sqlite3_column_int64(st, 2);
        r = 1;
    }
    sqlite3_reset(st);
    return r;
}

int zn_store_msgid_claim(zn_store *s, const char *sender, const uint8_t msgid[ZN_ID_LEN],
                         const char *recipient, const uint8_t case_id[ZN_ID_LEN], uint64_t now_ms,
                         uint64_t *audit_idx, char prev_recipient[ZN_IDENT_MAX], uint8_t prev_case[ZN_ID_LEN])
{
    sqlite3_stmt *st = s_stmt(s, Q_MSGID_INSERT);
    sqlite3_bind_int64(st, 6, (sqlite3_int64)*audit_idx);
    s_bind_text(st, 1, sender);
    s_bind_blob(st, 2, msgid, ZN_ID_LEN);
    s_bind_text(st, 3, recipient);
    s_bind_blob(st, 4, case_id, ZN_ID_LEN);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)now_ms);
    if (s_exec(s, Q_MSGID_INSERT) != 0)
        return -1;
    if (sqlite3_changes(s->db) == 1)
        return 0;
    return s_msgid_get(s, sender, msgid, prev_recipient, prev_case, audit_idx) == 1 ? 1 : -1;
}

int zn_store_nonce_insert(zn_store *s, const char *partner, const uint8_t nonce[16], uint64_t at_ms)
{
    sqlite3_stmt *st = s_stmt(s, Q_NONCE_INSERT);
    s_bind_text(st, 1, partner);
    s_bind_blob(st, 2, nonce, 16);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)at_ms);
    if (s_exec(s, Q_NONCE_INSERT) != 0)
        return -1;
    return sqlite3_changes(s->db) == 0 ? 1 : 0;
}

int zn_store_prune(zn_store *s, uint64_t nonce_before_ms, uint64_t msgid_before_ms)
{
    sqlite3_stmt *st = s_stmt(s, Q_NONCE_PRUNE);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)nonce_before_ms);
    if (s_exec(s, Q_NONCE_PRUNE) != 0)
        return -1;
    st = s_stmt(s, Q_MSGID_PRUNE);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)msgid_before_ms);
    return s_exec(s, Q_MSGID_PRUNE);
}

int zn_store_queue_insert(zn_store *s, const char *recipient, const uint8_t item_id[ZN_ID_LEN],
                          int kind, const char *sender, const uint8_t *case_id,
                          const uint8_t *body, size_t len, uint64_t now_ms, int64_t *seq)
{
    sqlite3_stmt *st = s_stmt(s, Q_QUEUE_INSERT);
    s_bind_text(st, 1, recipient);
    s_bind_blob(st, 2, item_id, ZN_ID_LEN);
    sqlite3_bind_int(st, 3, kind);
    s_bind_text(st, 4, sender);
    s_bind_blob(st, 5, case_id, case_id ? ZN_ID_LEN : 0);
    s_bind_blob(st, 6, body, len);
    sqlite3_bind_int64(st, 7, (sqlite3_int64)now_ms);
    if (s_exec(s, Q_QUEUE_INSERT) != 0)
        return -1;
    *seq = sqlite3_last_insert_rowid(s->db);
    return 0;
}

int zn_store_queue_delete(zn_store *s, const char *recipient, int64_t seq)
{
    sqlite3_stmt *st = s_stmt(s, Q_QUEUE_DELETE);
    s_bind_text(st, 1, recipient);
    sqlite3_bind_int64(st, 2, seq);
    if (s_exec(s, Q_QUEUE_DELETE) != 0)
        return -1;
    return sqlite3_changes(s->db);
}

int zn_store_queue_remove(zn_store *s, const char *recipient, int64_t seq, int *kind, uint8_t case_id[ZN_ID_LEN],
                          bool *on_case)
{
    sqlite3_stmt *st = s_stmt(s, Q_QUEUE_REMOVE);
    s_bind_text(st, 1, recipient);
    sqlite3_bind_int64(st, 2, seq);
    *kind = 0;
    *on_case = false;
    int rc = sqlite3_step(st); /* the deleted row, or none */
    int r = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
    if (r == 1) {
        *kind = sqlite3_column_int(st, 0);
        *on_case = sqlite3_column_type(st, 1) == SQLITE_BLOB && s_col_blob(st, 1, case_id, ZN_ID_LEN) == 0;
        if (sqlite3_step(st) != SQLITE_DONE) /* runs the statement to its end */
            r = -1;
    }
    sqlite3_reset(st);
    return r;
}

/* A row of (seq, item_id, kind, sender, case_id, body): pointers into the statement's row. */
static int s_col_item(sqlite3_stmt *st, zn_queue_item *it)
{
    memset(it, 0, sizeof *it);
    it->seq = sqlite3_column_int64(st, 0);
    it->item_id = sqlite3_column_blob(st, 1);
    it->kind = sqlite3_column_int(st, 2);
    it->sender = (const char *)sqlite3_column_text(st, 3);
    it->case_id = sqlite3_column_blob(st, 4);
    if (sqlite3_column_bytes(st, 4) != ZN_ID_LEN)
        it->case_id = NULL;
    it->body = sqlite3_column_blob(st, 5);
    it->body_len = (size_t)sqlite3_column_bytes(st, 5);
    return (!it->item_id || sqlite3_column_bytes(st, 1) != ZN_ID_LEN || !it->body) ? -1 : 0;
}

/* Walk rows of (seq, item_id, kind, sender, case_id, body) into cb. */
static int s_walk_items(sqlite3_stmt *st, const char *recipient, zn_queue_cb cb, void *ctx)
{
    int n = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        zn_queue_item it;
        if (s_col_item(st, &it) != 0) {
            rc = SQLITE_CORRUPT;
            break;
        }
        n++;
        if (cb(ctx, recipient, &it) != 0)
            break;
    }
    sqlite3_reset(st);
    return (rc == SQLITE_DONE || rc == SQLITE_ROW) ? n : -1;
}

int zn_store_queue_fetch(zn_store *s, const char *recipient, int64_t after, int limit,
                         zn_queue_cb cb, void *ctx)
{
    sqlite3_stmt *st = s_stmt(s, Q_QUEUE_FETCH);
    s_bind_text(st, 1, recipient);
    sqlite3_bind_int64(st, 2, after);
    sqlite3_bind_int(st, 3, limit);
    return s_walk_items(st, recipient, cb, ctx);
}

int zn_store_queue_counts(zn_store *s, zn_queue_cb cb, void *ctx)
{
    sqlite3_stmt *st = s_stmt(s, Q_QUEUE_COUNTS);
    int rc, n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        zn_queue_item it = {0};
        it.seq = sqlite3_column_int64(st, 1);
        const char *r = (const char *)sqlite3_column_text(st, 0);
        if (r && cb(ctx, r, &it) != 0)
            break;
        n++;
    }
    sqlite3_reset(st);
    return (rc == SQLITE_DONE || rc == SQLITE_ROW) ? n : -1;
}

int zn_store_queue_take_all(zn_store *s, const char *recipient, zn_queue_cb cb, void *ctx)
{
    sqlite3_stmt *st = s_stmt(s, Q_QUEUE_ALL);
    s_bind_text(st, 1, recipient);
    int n = s_walk_items(st, recipient, cb, ctx);
    if (n < 0)
        return -1;
    st = s_stmt(s, Q_QUEUE_DELETE_ALL);
    s_bind_text(st, 1, recipient);
    return s_exec(s, Q_QUEUE_DELETE_ALL) == 0 ? n : -1;
}

/* ---- audit log ---------------------------------------------------------------------------- */

static void s_bind_audit_row(sqlite3_stmt *st, const zn_audit_row *r)
{
    sqlite3_bind_int64(st, 1, (sqlite3_int64)r->idx);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)r->time_ms);
    s_bind_blob(st, 3, r->d, ZN_HASH_LEN);
    s_bind_blob(st, 4, r->salt, ZN_AUDIT_SALT_LEN);
    s_bind_blob(st, 5, r->entry, r->entry_len);
}

int zn_store_audit_insert_rows(zn_store *s, const zn_audit_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        s_bind_audit_row(s_stmt(s, Q_AUDIT_INSERT), &rows[i]);
        if (s_exec(s, Q_AUDIT_INSERT) != 0)
            return -1;
    }
    return 0;
}

int zn_store_audit_size(zn_store *s, uint64_t *size)
{
    sqlite3_stmt *st = s_stmt(s, Q_AUDIT_SIZE);
    int r = sqlite3_step(st) == SQLITE_ROW ? 0 : -1;
    if (r == 0)
        *size = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return r;
}

int zn_store_audit_ds(zn_store *s, uint64_t first, uint64_t n, uint8_t *out)
{
    sqlite3_stmt *st = s_stmt(s, Q_AUDIT_DS);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)first);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)(first + n));
    uint64_t got = 0;
    int rc;
    while (got < n && (rc = sqlite3_step(st)) == SQLITE_ROW && s_col_blob(st, 0, out + got * ZN_HASH_LEN, ZN_HASH_LEN) == 0)
        got++;
    sqlite3_reset(st);
    return got == n ? 0 : -1;
}

int zn_store_audit_scan(zn_store *s, uint64_t from, uint64_t upto, int limit, zn_audit_row_cb cb, void *ctx)
{
    sqlite3_stmt *st = s_stmt(s, Q_AUDIT_SCAN);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)from);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)(upto > INT64_MAX ? INT64_MAX : upto));
    sqlite3_bind_int(st, 3, limit);
    int n = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        zn_audit_row r = {0};
        r.idx = (uint64_t)sqlite3_column_int64(st, 0);
        r.time_ms = (uint64_t)sqlite3_column_int64(st, 1);
        r.d = sqlite3_column_blob(st, 2);
        r.salt = sqlite3_column_blob(st, 3);
        r.entry = sqlite3_column_blob(st, 4);
        r.entry_len = (size_t)sqlite3_column_bytes(st, 4);
        if (!r.d || sqlite3_column_bytes(st, 2) != ZN_HASH_LEN || (!r.salt) != (!r.entry) ||
            (r.salt && sqlite3_column_bytes(st, 3) != ZN_AUDIT_SALT_LEN)) {
            rc = SQLITE_CORRUPT;
            break;
        }
        n++;
        if (cb(ctx, &r) != 0)
            break;
    }
    sqlite3_reset(st);
    return (rc == SQLITE_DONE || rc == SQLITE_ROW) ? n : -1;
}

int zn_store_audit_redact(zn_store *s, uint64_t idx)
{
    sqlite3_stmt *st = s_stmt(s, Q_AUDIT_REDACT);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)idx);
    return s_exec(s, Q_AUDIT_REDACT);
}

int zn_store_audit_node_put(zn_store *s, unsigned level, uint64_t idx, const uint8_t hash[ZN_HASH_LEN])
{
    sqlite3_stmt *st = s_stmt(s, Q_NODE_PUT);
    sqlite3_bind_int(st, 1, (int)level);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)idx);
    s_bind_blob(st, 3, hash, ZN_HASH_LEN);
    return s_exec(s, Q_NODE_PUT);
}

int zn_store_audit_node_get(zn_store *s, unsigned level, uint64_t idx, uint8_t hash[ZN_HASH_LEN])
{
    sqlite3_stmt *st = s_stmt(s, Q_NODE_GET);
    sqlite3_bind_int(st, 1, (int)level);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)idx);
    int r = sqlite3_step(st) == SQLITE_ROW && s_col_blob(st, 0, hash, ZN_HASH_LEN) == 0 ? 0 : -1;
    sqlite3_reset(st);
    return r;
}

int zn_store_audit_head_put(zn_store *s, uint64_t size, uint64_t time_ms, const uint8_t *head, size_t len,
                            const uint8_t sig[ZN_SIG_LEN])
{
    sqlite3_stmt *st = s_stmt(s, Q_HEAD_PUT);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)size);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)time_ms);
    s_bind_blob(st, 3, head, len);
    s_bind_blob(st, 4, sig, ZN_SIG_LEN);
    return s_exec(s, Q_HEAD_PUT);
}

/* Rows of (key, blob a, blob b or NULL) into cb. */
static int s_walk_pairs(sqlite3_stmt *st, zn_pair_cb cb, void *ctx)
{
    int n = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const uint8_t *a = sqlite3_column_blob(st, 1), *b = sqlite3_column_blob(st, 2);
        if (!a) {
            rc = SQLITE_CORRUPT;
            break;
        }
        n++;
        if (cb(ctx, (uint64_t)sqlite3_column_int64(st, 0), a, (size_t)sqlite3_column_bytes(st, 1), b,
               (size_t)sqlite3_column_bytes(st, 2)) != 0)
            break;
    }
    sqlite3_reset(st);
    return (rc == SQLITE_DONE || rc == SQLITE_ROW) ? n : -1;
}

int zn_store_audit_head_latest(zn_store *s, zn_pair_cb cb, void *ctx)
{
    return s_walk_pairs(s_stmt(s, Q_HEAD_LATEST), cb, ctx);
}

int zn_store_audit_heads(zn_store *s, uint64_t from_size, uint64_t upto_size, int limit, zn_pair_cb cb, void *ctx)
{
    sqlite3_stmt *st = s_stmt(s, Q_HEAD_SCAN);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)(from_size > INT64_MAX ? INT64_MAX : from_size));
    sqlite3_bind_int64(st, 2, (sqlite3_int64)(upto_size > INT64_MAX ? INT64_MAX : upto_size));
    sqlite3_bind_int(st, 3, limit);
    return s_walk_pairs(st, cb, ctx);
}

int zn_store_convenant_put(zn_store *s, uint64_t version, const uint8_t *raw, size_t len)
{
    sqlite3_stmt *st = s_stmt(s, Q_CONV_PUT);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)version);
    s_bind_blob(st, 2, raw, len);
    return s_exec(s, Q_CONV_PUT);
}

int zn_store_convenants(zn_store *s, uint64_t from_version, int limit, zn_pair_cb cb, void *ctx)
{
    sqlite3_stmt *st = s_stmt(s, Q_CONV_SCAN);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)(from_version > INT64_MAX ? INT64_MAX : from_version));
    sqlite3_bind_int(st, 2, limit);
    return s_walk_pairs(st, cb, ctx);
}

int zn_store_secure_delete(zn_store *s, bool on)
{
    return sqlite3_exec(s->db, on ? "PRAGMA secure_delete=ON" : "PRAGMA secure_delete=FAST", NULL, NULL, NULL) ==
                   SQLITE_OK ? 0 : -1;
}

void zn_store_set_wal_limit(zn_store *s, uint64_t bytes)
{
    s->wal_limit = bytes;
}

int zn_store_checkpoint_truncate(zn_store *s)
{
    for (int i = 0; i < 50; i++) {
        if (sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL) == SQLITE_OK)
            return 0;
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return -1;
}

/* ---- signals and matches ------------------------------------------------------------------ */

/* Times and counts are unsigned; one past INT64_MAX (say, "never") is stored as INT64_MAX so
 * comparisons keep their order. */
static void s_bind_u64(sqlite3_stmt *st, int i, uint64_t v)
{
    sqlite3_bind_int64(st, i, v > (uint64_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)v);
}

static int s_col_u64(sqlite3_stmt *st, int col, uint64_t *v)
{
    if (sqlite3_column_type(st, col) != SQLITE_INTEGER)
        return -1;
    sqlite3_int64 x = sqlite3_column_int64(st, col);
    if (x < 0)
        return -1;
    *v = (uint64_t)x;
    return 0;
}

/* Like s_col_text, but the empty text is a value too. */
static int s_col_str(sqlite3_stmt *st, int col, char *dst, size_t cap)
{
    if (sqlite3_column_type(st, col) != SQLITE_TEXT)
        return -1;
    const unsigned char *t = sqlite3_column_text(st, col);
    int n = sqlite3_column_bytes(st, col);
    if (!t || n < 0 || (size_t)n >= cap)
        return -1;
    memcpy(dst, t, (size_t)n);
    dst[n] = '\0';
    return 0;
}

/* A text field of a record: NUL-terminated inside its array, and not empty when `need`. */
static bool s_str_ok(const char *t, size_t cap, bool need)
{
    return memchr(t, '\0', cap) != NULL && (!need || t[0] != '\0');
}

static bool s_signal_ok(const zn_signal_rec *r)
{
    return r->n_related <= ZN_SIGNAL_RELATED_MAX && s_str_ok(r->partner, sizeof r->partner, true) &&
           s_str_ok(r->network, sizeof r->network, true) && s_str_ok(r->handler, sizeof r->handler, false) &&
           s_str_ok(r->contact, sizeof r->contact, false);
}

/* Pseudonym i of a signal: 0 its person, 1..n_related its related persons. */
static const uint8_t *s_psn(const zn_signal_rec *r, uint32_t i)
{
    return i == 0 ? r->person : r->related[i - 1];
}

static bool s_has_psn(const zn_signal_rec *r, const uint8_t *psn)
{
    for (uint32_t i = 0; i <= r->n_related; i++)
        if (memcmp(s_psn(r, i), psn, ZN_PSN_LEN) == 0)
            return true;
    return false;
}

/* The first of mine's pseudonyms that `other` has too (1 + mine->n_related when none). */
static uint32_t s_first_shared(const zn_signal_rec *mine, const zn_signal_rec *other)
{
    uint32_t i = 0;
    while (i <= mine->n_related && !s_has_psn(other, s_psn(mine, i)))
        i++;
    return i;
}

static bool s_same_psns(const zn_signal_rec *a, const zn_signal_rec *b)
{
    return a->n_related == b->n_related && memcmp(a->person, b->person, ZN_PSN_LEN) == 0 &&
           memcmp(a->related, b->related, (size_t)a->n_related * ZN_PSN_LEN) == 0;
}

/* Decode the S_SIGNAL_COLS columns from column c on; -1 when a value breaks the schema's rules. */
static int s_col_signal(sqlite3_stmt *st, int c, zn_signal_rec *r)
{
    if (s_col_blob(st, c, r->id, ZN_ID_LEN) != 0 || s_col_text(st, c + 1, r->partner, sizeof r->partner) != 0 ||
        s_col_str(st, c + 2, r->handler, sizeof r->handler) != 0 ||
        s_col_text(st, c + 3, r->network, sizeof r->network) != 0 ||
        s_col_blob(st, c + 4, r->person, ZN_PSN_LEN) != 0 || sqlite3_column_type(st, c + 5) != SQLITE_BLOB)
        return -1;
    int n = sqlite3_column_bytes(st, c + 5);
    if (n < 0 || n % ZN_PSN_LEN != 0 || n / ZN_PSN_LEN > ZN_SIGNAL_RELATED_MAX)
        return -1;
    r->n_related = (uint32_t)(n / ZN_PSN_LEN);
    if (n > 0)
        memcpy(r->related, sqlite3_column_blob(st, c + 5), (size_t)n);
    memset(r->related[r->n_related], 0, (ZN_SIGNAL_RELATED_MAX - r->n_related) * (size_t)ZN_PSN_LEN);
    if (s_col_str(st, c + 6, r->contact, sizeof r->contact) != 0 || s_col_u64(st, c + 7, &r->created_ms) != 0 ||
        s_col_u64(st, c + 8, &r->refreshed_ms) != 0 || s_col_u64(st, c + 9, &r->expires_ms) != 0 ||
        s_col_u64(st, c + 10, &r->informed_ms) != 0)
        return -1;
    return 0;
}

/* One row or none: 1, 0, or -1. */
static int s_signal_one(sqlite3_stmt *st, zn_signal_rec *out)
{
    int rc = sqlite3_step(st), r = -1;
    if (rc == SQLITE_DONE)
        r = 0;
    else if (rc == SQLITE_ROW && s_col_signal(st, 0, out) == 0)
        r = 1;
    sqlite3_reset(st);
    return r;
}

/* Rows of S_SIGNAL_COLS into cb: the number visited, or -1. */
static int s_walk_signals(sqlite3_stmt *st, zn_signal_cb cb, void *ctx)
{
    zn_signal_rec r;
    int n = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (s_col_signal(st, 0, &r) != 0) {
            rc = SQLITE_CORRUPT;
            break;
        }
        n++;
        if (cb(ctx, &r, (zn_link)0, NULL) != 0)
            break;
    }
    sqlite3_reset(st);
    return (rc == SQLITE_DONE || rc == SQLITE_ROW) ? n : -1;
}

/* A savepoint of its own around a change of several rows: s_sig_end releases it when r is 0,
 * else undoes everything since s_sig_begin; returns 0 or -1. */
static int s_sig_begin(zn_store *s) { return s_exec(s, Q_SIG_SAVEPOINT); }

static int s_sig_end(zn_store *s, int r)
{
    if (r == 0 && s_exec(s, Q_SIG_RELEASE) == 0)
        return 0;
    (void)s_exec(s, Q_SIG_ROLLBACK_TO);
    (void)s_exec(s, Q_SIG_RELEASE);
    return -1;
}

/* Insert (Q_PSN_INSERT) or delete (Q_PSN_DELETE) the pseudonym rows of a signal. */
static int s_psn_rows(zn_store *s, const zn_signal_rec *r, int q)
{
    for (uint32_t i = 0; i <= r->n_related; i++) {
        sqlite3_stmt *st = s_stmt(s, q);
        s_bind_blob(st, 1, s_psn(r, i), ZN_PSN_LEN);
        s_bind_blob(st, 2, r->id, ZN_ID_LEN);
        if (q == Q_PSN_INSERT)
            sqlite3_bind_int(st, 3, i == 0 ? S_ROLE_PERSON : S_ROLE_RELATED);
        if (s_exec(s, q) != 0)
            return -1;
    }
    return 0;
}

static int s_signal_row_put(zn_store *s, const zn_signal_rec *r)
{
    sqlite3_stmt *st = s_stmt(s, Q_SIG_PUT);
    s_bind_blob(st, 1, r->id, ZN_ID_LEN);
    s_bind_text(st, 2, r->partner);
    s_bind_text(st, 3, r->handler);
    s_bind_text(st, 4, r->network);
    s_bind_blob(st, 5, r->person, ZN_PSN_LEN);
    s_bind_blob(st, 6, r->related, (size_t)r->n_related * ZN_PSN_LEN); /* zero bytes: an empty blob */
    s_bind_text(st, 7, r->contact);
    s_bind_u64(st, 8, r->created_ms);
    s_bind_u64(st, 9, r->refreshed_ms);
    s_bind_u64(st, 10, r->expires_ms);
    s_bind_u64(st, 11, r->informed_ms);
    return s_exec(s, Q_SIG_PUT);
}

int zn_store_signal_get(zn_store *s, const uint8_t id[ZN_ID_LEN], zn_signal_rec *out)
{
    sqlite3_stmt *st = s_stmt(s, Q_SIG_GET);
    s_bind_blob(st, 1, id, ZN_ID_LEN);
    return s_signal_one(st, out);
}

int zn_store_signal_find(zn_store *s, const char *partner, const char *network,
                         const uint8_t person[ZN_PSN_LEN], zn_signal_rec *out)
{
    sqlite3_stmt *st = s_stmt(s, Q_SIG_FIND);
    s_bind_text(st, 1, partner);
    s_bind_text(st, 2, network);
    s_bind_blob(st, 3, person, ZN_PSN_LEN);
    return s_signal_one(st, out);
}

int zn_store_signal_put(zn_store *s, const zn_signal_rec *r)
{
    if (!s_signal_ok(r) || s_sig_begin(s) != 0)
        return -1;
    zn_signal_rec old;
    int found = zn_store_signal_get(s, r->id, &old);
    int rc = found < 0 ? -1 : 0;
    /* a refresh with the same pseudonyms leaves their rows alone */
    bool rewrite = found != 1 || !s_same_psns(&old, r);
    if (rc == 0 && found == 1 && rewrite)
        rc = s_psn_rows(s, &old, Q_PSN_DELETE);
    if (rc == 0)
        rc = s_signal_row_put(s, r);
    if (rc == 0 && rewrite)
        rc = s_psn_rows(s, r, Q_PSN_INSERT);
    return s_sig_end(s, rc);
}

int zn_store_signal_delete(zn_store *s, const uint8_t id[ZN_ID_LEN])
{
    if (s_sig_begin(s) != 0)
        return -1;
    zn_signal_rec old;
    int found = zn_store_signal_get(s, id, &old);
    int rc = found < 0 ? -1 : 0;
    if (rc == 0 && found == 1) {
        rc = s_psn_rows(s, &old, Q_PSN_DELETE);
        if (rc == 0) {
            s_bind_blob(s_stmt(s, Q_MATCH_DELETE_SIG), 1, id, ZN_ID_LEN);
            rc = s_exec(s, Q_MATCH_DELETE_SIG);
        }
        if (rc == 0) {
            s_bind_blob(s_stmt(s, Q_SIG_DELETE), 1, id, ZN_ID_LEN);
            rc = s_exec(s, Q_SIG_DELETE);
        }
    }
    return s_sig_end(s, rc) == 0 ? found : -1;
}

/* One probe of signal_psn's key per distinct pseudonym of mine. Another signal that shares
 * several of them turns up in several probes; it is reported only in the probe of the first
 * pseudonym of mine it has (s_first_shared), so each once, without remembering any. */
int zn_store_signal_matches(zn_store *s, const zn_signal_rec *mine, uint64_t now_ms, zn_signal_cb cb,
                            void *ctx)
{
    if (mine->n_related > ZN_SIGNAL_RELATED_MAX || !s_str_ok(mine->partner, sizeof mine->partner, true))
        return -1;
    zn_signal_rec other;
    int n = 0;
    for (uint32_t i = 0; i <= mine->n_related; i++) {
        const uint8_t *psn = s_psn(mine, i);
        uint32_t first = 0; /* the first position of this pseudonym in mine: a repeat is probed once */
        while (memcmp(s_psn(mine, first), psn, ZN_PSN_LEN) != 0)
            first++;
        if (first < i)
            continue;
        sqlite3_stmt *st = s_stmt(s, Q_SIG_PROBE);
        s_bind_blob(st, 1, psn, ZN_PSN_LEN);
        s_bind_text(st, 2, mine->partner);
        s_bind_u64(st, 3, now_ms);
        int rc;
        bool stop = false;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            if (s_col_signal(st, 1, &other) != 0) {
                rc = SQLITE_CORRUPT;
                break;
            }
            if (s_first_shared(mine, &other) != i)
                continue; /* reported in an earlier probe */
            zn_link link = (i == 0 && sqlite3_column_int(st, 0) == S_ROLE_PERSON) ? ZN_LINK_PERSON : ZN_LINK_FAMILY;
            n++;
            if (cb(ctx, &other, link, psn) != 0) {
                stop = true;
                break;
            }
        }
        sqlite3_reset(st);
        if (rc != SQLITE_DONE && rc != SQLITE_ROW)
            return -1;
        if (stop)
            break;
    }
    return n;
}

int zn_store_signal_list(zn_store *s, const char *partner, uint64_t now_ms, uint64_t offset, int limit,
                         uint64_t *total, zn_signal_cb cb, void *ctx)
{
    sqlite3_stmt *st = s_stmt(s, Q_SIG_TOTAL);
    s_bind_text(st, 1, partner);
    s_bind_u64(st, 2, now_ms);
    int r = (sqlite3_step(st) == SQLITE_ROW && s_col_u64(st, 0, total) == 0) ? 0 : -1;
    sqlite3_reset(st);
    if (r != 0)
        return -1;
    st = s_stmt(s, Q_SIG_LIST);
    s_bind_text(st, 1, partner);
    s_bind_u64(st, 2, now_ms);
    s_bind_u64(st, 3, offset);
    sqlite3_bind_int(st, 4, limit);
    return s_walk_signals(st, cb, ctx);
}

int zn_store_signal_expired(zn_store *s, uint64_t now_ms, int limit, zn_signal_cb cb, void *ctx)
{
    sqlite3_stmt *st = s_stmt(s, Q_SIG_EXPIRED);
    s_bind_u64(st, 1, now_ms);
    sqlite3_bind_int(st, 2, limit);
    return s_walk_signals(st, cb, ctx);
}

/* A statement that answers one count. */
static int s_count(sqlite3_stmt *st, uint64_t *n)
{
    int r = (sqlite3_step(st) == SQLITE_ROW && s_col_u64(st, 0, n) == 0) ? 0 : -1;
    sqlite3_reset(st);
    return r;
}

int zn_store_signal_count(zn_store *s, uint64_t *n)
{
    return s_count(s_stmt(s, Q_SIG_COUNT), n);
}

int zn_store_rate_add(zn_store *s, const char *partner, const char *handler, uint64_t at_ms)
{
    sqlite3_stmt *st = s_stmt(s, Q_RATE_ADD);
    s_bind_text(st, 1, partner);
    s_bind_text(st, 2, handler ? handler : "");
    s_bind_u64(st, 3, at_ms);
    return s_exec(s, Q_RATE_ADD);
}

int zn_store_rate_count(zn_store *s, const char *partner, const char *handler, uint64_t since_ms, uint64_t cap,
                        uint64_t *n)
{
    int q = handler ? Q_RATE_COUNT_HANDLER : Q_RATE_COUNT_PARTNER;
    sqlite3_stmt *st = s_stmt(s, q);
    s_bind_text(st, 1, partner);
    s_bind_u64(st, 2, since_ms);
    if (handler)
        s_bind_text(st, 3, handler);
    s_bind_u64(st, 4, cap);
    return s_count(st, n);
}

int zn_store_rate_prune(zn_store *s, uint64_t before_ms)
{
    s_bind_u64(s_stmt(s, Q_RATE_PRUNE), 1, before_ms);
    return s_exec(s, Q_RATE_PRUNE);
}

static bool s_match_ok(const zn_match_rec *m)
{
    return (m->link == ZN_LINK_PERSON || m->link == ZN_LINK_FAMILY) && (unsigned)m->disclosure <= ZN_DISCLOSE_PARTNERS &&
           s_str_ok(m->a_partner, sizeof m->a_partner, true) && s_str_ok(m->b_partner, sizeof m->b_partner, true) &&
           s_str_ok(m->a_network, sizeof m->a_network, true) && s_str_ok(m->b_network, sizeof m->b_network, true) &&
           s_str_ok(m->connected_by, sizeof m->connected_by, false) && s_str_ok(m->lead, sizeof m->lead, false);
}

/* Decode the S_MATCH_COLS columns. */
static int s_col_match(sqlite3_stmt *st, zn_match_rec *m)
{
    if (s_col_blob(st, 0, m->id, ZN_ID_LEN) != 0 || s_col_blob(st, 1, m->a_signal, ZN_ID_LEN) != 0 ||
        s_col_blob(st, 2, m->b_signal, ZN_ID_LEN) != 0 || s_col_text(st, 3, m->a_partner, sizeof m->a_partner) != 0 ||
        s_col_text(st, 4, m->b_partner, sizeof m->b_partner) != 0 ||
        s_col_text(st, 5, m->a_network, sizeof m->a_network) != 0 ||
        s_col_text(st, 6, m->b_network, sizeof m->b_network) != 0 || s_col_blob(st, 7, m->shared, ZN_PSN_LEN) != 0)
        return -1;
    uint64_t link, disclosure;
    if (s_col_u64(st, 8, &link) != 0 || (link != ZN_LINK_PERSON && link != ZN_LINK_FAMILY) ||
        s_col_u64(st, 9, &disclosure) != 0 || disclosure > ZN_DISCLOSE_PARTNERS)
        return -1;
    m->link = (zn_link)link;
    m->disclosure = (zn_disclosure)disclosure;
    if (s_col_u64(st, 10, &m->created_ms) != 0 || s_col_u64(st, 11, &m->connected_ms) != 0 ||
        s_col_str(st, 12, m->connected_by, sizeof m->connected_by) != 0 ||
        s_col_str(st, 13, m->lead, sizeof m->lead) != 0)
        return -1;
    return 0;
}

static int s_match_one(sqlite3_stmt *st, zn_match_rec *out)
{
    int rc = sqlite3_step(st), r = -1;
    if (rc == SQLITE_DONE)
        r = 0;
    else if (rc == SQLITE_ROW && s_col_match(st, out) == 0)
        r = 1;
    sqlite3_reset(st);
    return r;
}

int zn_store_match_get(zn_store *s, const uint8_t id[ZN_ID_LEN], zn_match_rec *out)
{
    sqlite3_stmt *st = s_stmt(s, Q_MATCH_GET);
    s_bind_blob(st, 1, id, ZN_ID_LEN);
    return s_match_one(st, out);
}

int zn_store_match_find(zn_store *s, const uint8_t sig1[ZN_ID_LEN], const uint8_t sig2[ZN_ID_LEN],
                        zn_match_rec *out)
{
    sqlite3_stmt *st = s_stmt(s, Q_MATCH_FIND);
    s_bind_blob(st, 1, sig1, ZN_ID_LEN);
    s_bind_blob(st, 2, sig2, ZN_ID_LEN);
    return s_match_one(st, out);
}

int zn_store_match_put(zn_store *s, const zn_match_rec *m)
{
    if (!s_match_ok(m) || memcmp(m->a_signal, m->b_signal, ZN_ID_LEN) == 0)
        return -1;
    /* one match per pair of signals, in either order */
    zn_match_rec old;
    int found = zn_store_match_find(s, m->a_signal, m->b_signal, &old);
    if (found < 0 || (found == 1 && memcmp(old.id, m->id, ZN_ID_LEN) != 0))
        return -1;
    sqlite3_stmt *st = s_stmt(s, Q_MATCH_PUT);
    s_bind_blob(st, 1, m->id, ZN_ID_LEN);
    s_bind_blob(st, 2, m->a_signal, ZN_ID_LEN);
    s_bind_blob(st, 3, m->b_signal, ZN_ID_LEN);
    s_bind_text(st, 4, m->a_partner);
    s_bind_text(st, 5, m->b_partner);
    s_bind_text(st, 6, m->a_network);
    s_bind_text(st, 7, m->b_network);
    s_bind_blob(st, 8, m->shared, ZN_PSN_LEN);
    sqlite3_bind_int(st, 9, (int)m->link);
    sqlite3_bind_int(st, 10, (int)m->disclosure);
    s_bind_u64(st, 11, m->created_ms);
    s_bind_u64(st, 12, m->connected_ms);
    s_bind_text(st, 13, m->connected_by);
    s_bind_text(st, 14, m->lead);
    return s_exec(s, Q_MATCH_PUT);
}

int zn_store_matches_of(zn_store *s, const uint8_t signal[ZN_ID_LEN], int limit, zn_match_cb cb, void *ctx)
{
    sqlite3_stmt *st = s_stmt(s, Q_MATCH_OF);
    s_bind_blob(st, 1, signal, ZN_ID_LEN);
    int n = 0, rc = SQLITE_DONE;
    zn_match_rec m;
    while (n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (s_col_match(st, &m) != 0) {
            sqlite3_reset(st);
            return -1;
        }
        n++;
        if (cb(ctx, &m) != 0)
            break;
    }
    bool failed = n < limit && rc != SQLITE_ROW && rc != SQLITE_DONE;
    sqlite3_reset(st);
    return failed ? -1 : n;
}

int zn_store_match_delete(zn_store *s, const uint8_t id[ZN_ID_LEN])
{
    s_bind_blob(s_stmt(s, Q_MATCH_DELETE), 1, id, ZN_ID_LEN);
    if (s_exec(s, Q_MATCH_DELETE) != 0)
        return -1;
    return sqlite3_changes(s->db);
}

/* ---- cases, members, consent, safety overrides, handovers (schema 4) ---------------------- */

/* The longest sealed text encoding (zn_sealed.h): an array of at most ZN_SEALED_READERS_MAX
 * [reader, box] pairs, each box at most crypto_box_SEALBYTES + ZN_SEALED_TEXT_MAX bytes; the
 * extra bytes cover the msgpack headers. A longer value is refused when stored and taken for
 * damage when read, so what a row makes the store allocate stays below 2 * S_SEALED_MAX. */
#define S_SEALED_MAX \
    (8 + (size_t)ZN_SEALED_READERS_MAX * (8 + ZN_IDENT_MAX + crypto_box_SEALBYTES + ZN_SEALED_TEXT_MAX))
/* A consent's scope as stored: at most ZN_CONSENT_SCOPE_MAX identifiers and the commas between. */
#define S_SCOPE_TEXT (ZN_CONSENT_SCOPE_MAX * ZN_IDENT_MAX)
/* Walks whose callback may rewrite or delete what it is given first collect the ids (at most
 * this many per call, whatever the limit; the next call gets the rest), then visit each row by
 * its id. */
#define S_WALK_IDS 256

static const uint8_t s_empty[1]; /* points a zero-length blob somewhere (a NULL one is SQL NULL) */

/* A name given by the caller: 1..cap-1 bytes and a NUL, read no further than that. */
static bool s_name_ok(const char *t, size_t cap)
{
    if (!t)
        return false;
    size_t n = 0;
    while (n < cap && t[n] != '\0')
        n++;
    return n > 0 && n < cap;
}

/* A sealed encoding: a non-empty blob of at most S_SEALED_MAX bytes; NULL, 0 (nil) when !need. */
static bool s_sealed_ok(const uint8_t *p, size_t n, bool need)
{
    return p ? n > 0 && n <= S_SEALED_MAX : !need && n == 0;
}

static void s_bind_sealed(sqlite3_stmt *st, int i, const uint8_t *p, size_t n)
{
    s_bind_blob(st, i, p, p ? n : 0);
}

/* A sealed column: pointer into the statement's row (valid until it steps or resets). */
static int s_col_sealed(sqlite3_stmt *st, int col, bool need, const uint8_t **p, size_t *n)
{
    *p = NULL;
    *n = 0;
    int t = sqlite3_column_type(st, col);
    if (t == SQLITE_NULL)
        return need ? -1 : 0;
    if (t != SQLITE_BLOB)
        return -1;
    const uint8_t *v = sqlite3_column_blob(st, col);
    int len = sqlite3_column_bytes(st, col);
    if (!v || len <= 0 || (size_t)len > S_SEALED_MAX)
        return -1;
    *p = v;
    *n = (size_t)len;
    return 0;
}

/* Copy up to two sealed values (pointers into a row about to be reset; NULL for none) into the
 * store's own buffer and point them there: valid until the next call that keeps. */
static int s_keep(zn_store *s, const uint8_t **a, size_t an, const uint8_t **b, size_t bn)
{
    size_t need = (*a ? an : 0) + (b && *b ? bn : 0); /* each at most S_SEALED_MAX (s_col_sealed) */
    if (need > s->keep_cap) {
        size_t cap = (need + 4095) & ~(size_t)4095;
        uint8_t *p = realloc(s->keep, cap);
        if (!p)
            return -1;
        s->keep = p;
        s->keep_cap = cap;
    }
    size_t at = 0;
    if (*a) {
        memcpy(s->keep, *a, an);
        *a = s->keep;
        at = an;
    }
    if (b && *b) {
        memcpy(s->keep + at, *b, bn);
        *b = s->keep + at;
    }
    return 0;
}

/* A savepoint of its own around a change of several rows (Q_CASE_*): s_case_end releases it
 * when r is 0, else undoes everything since s_case_begin; returns 0 or -1. */
static int s_case_begin(zn_store *s) { return s_exec(s, Q_CASE_SAVEPOINT); }

static int s_case_end(zn_store *s, int r)
{
    if (r == 0 && s_exec(s, Q_CASE_RELEASE) == 0)
        return 0;
    (void)s_exec(s, Q_CASE_ROLLBACK_TO);
    (void)s_exec(s, Q_CASE_RELEASE);
    return -1;
}

/* The ids a statement answers (column 0), at most max, then reset: how many, or -1. */
static int s_collect_ids(sqlite3_stmt *st, uint8_t (*ids)[ZN_ID_LEN], int max)
{
    int n = 0, rc = SQLITE_DONE;
    while (n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (s_col_blob(st, 0, ids[n], ZN_ID_LEN) != 0) {
            rc = SQLITE_CORRUPT;
            break;
        }
        n++;
    }
    sqlite3_reset(st);
    return (rc == SQLITE_DONE || rc == SQLITE_ROW) ? n : -1;
}

static int s_walk_ids_limit(int limit)
{
    return limit < 0 ? 0 : limit > S_WALK_IDS ? S_WALK_IDS : limit;
}

/* Step a statement that answers one row or none: 1, 0, -1. It is left on the row: the caller
 * decodes and copies what it keeps, then resets. */
static int s_step_one(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* The caller's callback of a walk and its context; the member set is the one for the kind of
 * row the walk's visit function decodes. */
typedef struct {
    union {
        zn_member_cb member;
        zn_consent_cb consent;
        zn_override_cb override;
        zn_handover_cb handover;
    } cb;
    void *ctx;
} s_walk_cb;

/* Decode the statement's row and hand it to the callback (its values valid during the call):
 * -1 when the row is damaged, else 1 when the callback stops the walk, 0 when it goes on. */
typedef int (*s_visit_fn)(sqlite3_stmt *st, const s_walk_cb *w);

/* Every row the statement answers through visit, then reset: how many were decoded, or -1. */
static int s_walk(sqlite3_stmt *st, s_visit_fn visit, const s_walk_cb *w)
{
    int n = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int v = visit(st, w);
        if (v < 0) {
            rc = SQLITE_CORRUPT;
            break;
        }
        n++;
        if (v)
            break;
    }
    sqlite3_reset(st);
    return (rc == SQLITE_DONE || rc == SQLITE_ROW) ? n : -1;
}

/* A walk whose callback may rewrite what it is given (S_WALK_IDS): the ids q_ids answers (?1
 * now_ms, ?2 the limit), then each row once more, as it is now, through q_row (?1 now_ms, ?2 its
 * id): an earlier callback may have changed it. How many were visited, or -1. */
static int s_walk_due(zn_store *s, int q_ids, int q_row, uint64_t now_ms, int limit, s_visit_fn visit,
                      const s_walk_cb *w)
{
    uint8_t ids[S_WALK_IDS][ZN_ID_LEN];
    sqlite3_stmt *st = s_stmt(s, q_ids);
    s_bind_u64(st, 1, now_ms);
    sqlite3_bind_int(st, 2, s_walk_ids_limit(limit));
    int n = s_collect_ids(st, ids, s_walk_ids_limit(limit)), visited = 0;
    for (int i = 0; i < n; i++) {
        st = s_stmt(s, q_row);
        s_bind_u64(st, 1, now_ms);
        s_bind_blob(st, 2, ids[i], ZN_ID_LEN);
        int got = s_step_one(st), stop = 0;
        if (got == 1 && (stop = visit(st, w)) < 0) /* the row's sealed values live until the reset */
            got = -1;
        sqlite3_reset(st);
        if (got < 0)
            return -1;
        visited += got;
        if (stop)
            break;
    }
    return n < 0 ? -1 : visited;
}

/* ---- cases ---- */

/* Related pseudonyms: n * ZN_PSN_LEN bytes, n <= ZN_CASE_RELATED_MAX. */
static int s_col_related(sqlite3_stmt *st, int col, uint8_t (*related)[ZN_PSN_LEN], uint32_t *n_related)
{
    if (sqlite3_column_type(st, col) != SQLITE_BLOB)
        return -1;
    int n = sqlite3_column_bytes(st, col);
    if (n < 0 || n % ZN_PSN_LEN != 0 || n / ZN_PSN_LEN > ZN_CASE_RELATED_MAX)
        return -1;
    if (n > 0)
        memcpy(related, sqlite3_column_blob(st, col), (size_t)n);
    *n_related = (uint32_t)(n / ZN_PSN_LEN);
    return 0;
}

/* Decode the S_CASE_COLS columns (out zeroed first). */
static int s_col_case(sqlite3_stmt *st, zn_case *out)
{
    memset(out, 0, sizeof *out);
    if (s_col_blob(st, 0, out->id, ZN_ID_LEN) != 0 || s_col_text(st, 1, out->network, sizeof out->network) != 0 ||
        s_col_text(st, 2, out->regisseur, sizeof out->regisseur) != 0 || s_col_u64(st, 3, &out->created_ms) != 0 ||
        s_col_u64(st, 4, &out->closed_ms) != 0)
        return -1;
    if (sqlite3_column_type(st, 5) == SQLITE_NULL) /* anonymous: no person, no related */
        return sqlite3_column_type(st, 6) == SQLITE_NULL ? 0 : -1;
    if (s_col_blob(st, 5, out->person, ZN_PSN_LEN) != 0 || s_col_related(st, 6, out->related, &out->n_related) != 0)
        return -1;
    out->identified = true;
    return 0;
}

int zn_store_case_get(zn_store *s, const uint8_t id[ZN_ID_LEN], zn_case *out)
{
    sqlite3_stmt *st = s_stmt(s, Q_CASE_GET);
    s_bind_blob(st, 1, id, ZN_ID_LEN);
    int r = s_step_one(st);
    if (r == 1 && s_col_case(st, out) != 0)
        r = -1;
    sqlite3_reset(st);
    return r;
}

int zn_store_case_insert(zn_store *s, const zn_case *c)
{
    if (!s_str_ok(c->network, sizeof c->network, true) || !s_str_ok(c->regisseur, sizeof c->regisseur, true) ||
        (c->identified && c->n_related > ZN_CASE_RELATED_MAX))
        return -1;
    sqlite3_stmt *st = s_stmt(s, Q_CASE_INSERT);
    s_bind_blob(st, 1, c->id, ZN_ID_LEN);
    s_bind_text(st, 2, c->network);
    s_bind_text(st, 3, c->regisseur);
    s_bind_u64(st, 4, c->created_ms);
    s_bind_u64(st, 5, c->closed_ms);
    if (c->identified) {
        s_bind_blob(st, 6, c->person, ZN_PSN_LEN);
        s_bind_blob(st, 7, c->n_related ? (const void *)c->related : s_empty, (size_t)c->n_related * ZN_PSN_LEN);
    }
    if (s_exec(s, Q_CASE_INSERT) != 0)
        return -1;
    return sqlite3_changes(s->db) == 0 ? 1 : 0;
}

int zn_store_case_link(zn_store *s, const uint8_t id[ZN_ID_LEN], const uint8_t person[ZN_PSN_LEN],
                       const uint8_t (*related)[ZN_PSN_LEN], uint32_t n_related)
{
    if (!person || n_related > ZN_CASE_RELATED_MAX || (n_related > 0 && !related))
        return -1;
    sqlite3_stmt *st = s_stmt(s, Q_CASE_LINK);
    s_bind_blob(st, 1, id, ZN_ID_LEN);
    s_bind_blob(st, 2, person, ZN_PSN_LEN);
    s_bind_blob(st, 3, n_related ? (const void *)related : s_empty, (size_t)n_related * ZN_PSN_LEN);
    if (s_exec(s, Q_CASE_LINK) != 0)
        return -1;
    return sqlite3_changes(s->db);
}

int zn_store_case_close(zn_store *s, const uint8_t id[ZN_ID_LEN], uint64_t closed_ms)
{
    if (closed_ms == 0) /* 0 means open */
        return -1;
    sqlite3_stmt *st = s_stmt(s, Q_CASE_CLOSE);
    s_bind_blob(st, 1, id, ZN_ID_LEN);
    s_bind_u64(st, 2, closed_ms);
    if (s_exec(s, Q_CASE_CLOSE) != 0)
        return -1;
    return sqlite3_changes(s->db);
}

int zn_store_case_set_regisseur(zn_store *s, const uint8_t id[ZN_ID_LEN], const char *partner)
{
    if (!s_name_ok(partner, ZN_IDENT_MAX))
        return -1;
    sqlite3_stmt *st = s_stmt(s, Q_CASE_REGISSEUR);
    s_bind_blob(st, 1, id, ZN_ID_LEN);
    s_bind_text(st, 2, partner);
    if (s_exec(s, Q_CASE_REGISSEUR) != 0)
        return -1;
    return sqlite3_changes(s->db);
}

int zn_store_cases_closed_before(zn_store *s, uint64_t before_ms, int limit, zn_case_id_cb cb, void *ctx)
{
    uint8_t ids[S_WALK_IDS][ZN_ID_LEN];
    sqlite3_stmt *st = s_stmt(s, Q_CASE_CLOSED);
    s_bind_u64(st, 1, before_ms);
    sqlite3_bind_int(st, 2, s_walk_ids_limit(limit));
    int n = s_collect_ids(st, ids, s_walk_ids_limit(limit));
    for (int i = 0; i < n; i++)
        if (cb(ctx, ids[i]) != 0)
            return i + 1;
    return n;
}

int zn_store_case_delete(zn_store *s, const uint8_t id[ZN_ID_LEN])
{
    static const int q[] = {Q_CASE_DEL_MEMBERS, Q_CASE_DEL_CONSENTS, Q_CASE_DEL_OVERRIDES, Q_CASE_DEL_HANDOVERS,
                            Q_CASE_DELETE}; /* the case last: its count is the answer */
    if (s_case_begin(s) != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof q / sizeof q[0]; i++) {
        s_bind_blob(s_stmt(s, q[i]), 1, id, ZN_ID_LEN);
        rc = s_exec(s, q[i]);
    }
    int removed = rc == 0 ? sqlite3_changes(s->db) : 0;
    return s_case_end(s, rc) == 0 ? removed : -1;
}

/* ---- members ---- */

/* The ways a partner becomes a stored member (zn_member_row.how). */
static bool s_how_ok(const char *how)
{
    static const char *const hows[] = {"regisseur", "received", "handover"};
    if (!s_name_ok(how, sizeof ((zn_member_row *)0)->how))
        return false;
    for (size_t i = 0; i < sizeof hows / sizeof hows[0]; i++)
        if (strcmp(how, hows[i]) == 0)
            return true;
    return false;
}

int zn_store_member_add(zn_store *s, const uint8_t case_id[ZN_ID_LEN], const char *partner, const char *how,
                        uint64_t since_ms)
{
    if (!s_name_ok(partner, ZN_IDENT_MAX) || !s_how_ok(how))
        return -1;
    sqlite3_stmt *st = s_stmt(s, Q_MEMBER_ADD);
    s_bind_blob(st, 1, case_id, ZN_ID_LEN);
    s_bind_text(st, 2, partner);
    s_bind_text(st, 3, how);
    s_bind_u64(st, 4, since_ms);
    if (s_exec(s, Q_MEMBER_ADD) != 0)
        return -1;
    return sqlite3_changes(s->db) == 0 ? 1 : 0;
}

int zn_store_member_get(zn_store *s, const uint8_t case_id[ZN_ID_LEN], const char *partner, char how[16],
                        uint64_t *since_ms)
{
    if (!s_name_ok(partner, ZN_IDENT_MAX))
        return -1;
    sqlite3_stmt *st = s_stmt(s, Q_MEMBER_GET);
    s_bind_blob(st, 1, case_id, ZN_ID_LEN);
    s_bind_text(st, 2, partner);
    char h[16];
    uint64_t t = 0;
    int r = s_step_one(st);
    if (r == 1 && (s_col_text(st, 0, h, sizeof h) != 0 || s_col_u64(st, 1, &t) != 0))
        r = -1;
    sqlite3_reset(st);
    if (r == 1) {
        if (how)
            memcpy(how, h, sizeof h);
        if (since_ms)
            *since_ms = t;
    }
    return r;
}

static int s_visit_member(sqlite3_stmt *st, const s_walk_cb *w)
{
    zn_member_row m;
    memset(&m, 0, sizeof m);
    if (s_col_text(st, 0, m.partner, sizeof m.partner) != 0 || s_col_text(st, 1, m.how, sizeof m.how) != 0 ||
        s_col_u64(st, 2, &m.since_ms) != 0)
        return -1;
    return w->cb.member(w->ctx, &m) != 0;
}

int zn_store_members(zn_store *s, const uint8_t case_id[ZN_ID_LEN], int limit, zn_member_cb cb, void *ctx)
{
    sqlite3_stmt *st = s_stmt(s, Q_MEMBERS);
    s_bind_blob(st, 1, case_id, ZN_ID_LEN);
    sqlite3_bind_int(st, 2, limit < 0 ? 0 : limit);
    return s_walk(st, s_visit_member, &(s_walk_cb){.cb.member = cb, .ctx = ctx});
}

/* ---- consent ---- */

/* The scope as stored: the identifiers joined by commas (identifiers hold none). */
static int s_scope_format(const zn_consent *c, char out[S_SCOPE_TEXT])
{
    if (c->n_scope > ZN_CONSENT_SCOPE_MAX)
        return -1;
    size_t at = 0;
    for (size_t i = 0; i < c->n_scope; i++) {
        const char *p = c->scope[i];
        if (!s_name_ok(p, ZN_IDENT_MAX) || !zn_ident_valid(p))
            return -1;
        size_t n = strlen(p);
        if (at + 1 + n >= S_SCOPE_TEXT)
            return -1;
        if (i > 0)
            out[at++] = ',';
        memcpy(out + at, p, n);
        at += n;
    }
    out[at] = '\0';
    return 0;
}

static int s_scope_parse(const char *t, zn_consent *c)
{
    c->n_scope = 0;
    while (*t) {
        const char *end = strchr(t, ',');
        size_t n = end ? (size_t)(end - t) : strlen(t);
        if (c->n_scope == ZN_CONSENT_SCOPE_MAX || n == 0 || n >= ZN_IDENT_MAX)
            return -1;
        char *dst = c->scope[c->n_scope];
        memcpy(dst, t, n);
        dst[n] = '\0';
        if (!zn_ident_valid(dst))
            return -1;
        c->n_scope++;
        if (!end)
            break;
        t = end + 1;
        if (!*t) /* a trailing comma */
            return -1;
    }
    return 0;
}

static bool s_consent_ok(const zn_consent_row *r)
{
    return r->c.state >= ZN_CONSENT_REQUESTED && r->c.state <= ZN_CONSENT_WITHDRAWN &&
           r->c.given_by <= (ZN_GIVEN_CLIENT | ZN_GIVEN_PARENT | ZN_GIVEN_GUARDIAN | ZN_GIVEN_REPRESENTATIVE) &&
           (unsigned)r->c.age_band <= ZN_AGE_16_PLUS && s_str_ok(r->handler, sizeof r->handler, false) &&
           s_sealed_ok(r->purpose, r->purpose_len, false) && s_str_ok(r->partner, sizeof r->partner, true);
}

/* Decode the S_CONSENT_COLS columns (out zeroed first; purpose points into the row). */
static int s_col_consent(sqlite3_stmt *st, zn_consent_row *out)
{
    memset(out, 0, sizeof *out);
    char scope[S_SCOPE_TEXT];
    uint64_t state, given_by, age_band;
    if (s_col_u64(st, 0, &out->seq) != 0 || out->seq == 0 || s_col_u64(st, 1, &state) != 0 ||
        state < ZN_CONSENT_REQUESTED || state > ZN_CONSENT_WITHDRAWN || s_col_str(st, 2, scope, sizeof scope) != 0 ||
        s_scope_parse(scope, &out->c) != 0 || s_col_u64(st, 3, &given_by) != 0 || given_by > 15 ||
        s_col_u64(st, 4, &age_band) != 0 || age_band > ZN_AGE_16_PLUS || s_col_u64(st, 5, &out->c.until_ms) != 0 ||
        s_col_u64(st, 6, &out->at_ms) != 0 || s_col_str(st, 7, out->handler, sizeof out->handler) != 0 ||
        s_col_sealed(st, 8, false, &out->purpose, &out->purpose_len) != 0 ||
        s_col_text(st, 9, out->partner, sizeof out->partner) != 0)
        return -1;
    out->c.state = (zn_consent_state)state;
    out->c.given_by = (unsigned)given_by;
    out->c.age_band = (zn_age_band)age_band;
    return 0;
}

int zn_store_consent_add(zn_store *s, const uint8_t case_id[ZN_ID_LEN], const zn_consent_row *r, uint64_t *seq)
{
    char scope[S_SCOPE_TEXT];
    if (!s_consent_ok(r) || s_scope_format(&r->c, scope) != 0)
        return -1;
    sqlite3_stmt *st = s_stmt(s, Q_CONSENT_ADD);
    s_bind_blob(st, 1, case_id, ZN_ID_LEN);
    sqlite3_bind_int(st, 2, (int)r->c.state);
    s_bind_text(st, 3, scope);
    sqlite3_bind_int(st, 4, (int)r->c.given_by);
    sqlite3_bind_int(st, 5, (int)r->c.age_band);
    s_bind_u64(st, 6, r->c.until_ms);
    s_bind_u64(st, 7, r->at_ms);
    s_bind_text(st, 8, r->handler);
    s_bind_sealed(st, 9, r->purpose, r->purpose_len);
    s_bind_text(st, 10, r->partner);
    uint64_t got = 0;
    int ok = sqlite3_step(st) == SQLITE_ROW && s_col_u64(st, 0, &got) == 0 && sqlite3_step(st) == SQLITE_DONE;
    sqlite3_reset(st);
    if (!ok)
        return -1;
    if (seq)
        *seq = got;
    return 0;
}

int zn_store_consent_current(zn_store *s, const uint8_t case_id[ZN_ID_LEN], zn_consent_row *out)
{
    sqlite3_stmt *st = s_stmt(s, Q_CONSENT_CURRENT);
    s_bind_blob(st, 1, case_id, ZN_ID_LEN);
    int r = s_step_one(st);
    if (r == 1 && (s_col_consent(st, out) != 0 || s_keep(s, &out->purpose, out->purpose_len, NULL, 0) != 0))
        r = -1;
    sqlite3_reset(st);
    return r;
}

static int s_visit_consent(sqlite3_stmt *st, const s_walk_cb *w)
{
    zn_consent_row r;
    if (s_col_consent(st, &r) != 0)
        return -1;
    return w->cb.consent(w->ctx, &r) != 0;
}

int zn_store_consent_history(zn_store *s, const uint8_t case_id[ZN_ID_LEN], int limit, zn_consent_cb cb,
                             void *ctx)
{
    sqlite3_stmt *st = s_stmt(s, Q_CONSENT_HISTORY);
    s_bind_blob(st, 1, case_id, ZN_ID_LEN);
    sqlite3_bind_int(st, 2, limit < 0 ? 0 : limit);
    return s_walk(st, s_visit_consent, &(s_walk_cb){.cb.consent = cb, .ctx = ctx});
}

int zn_store_consents_ended(zn_store *s, uint64_t after_ms, const uint8_t after_case[ZN_ID_LEN], uint64_t upto_ms,
                            int limit, zn_consent_end_cb cb, void *ctx)
{
    static const uint8_t none[ZN_ID_LEN]; /* before every case id */
    sqlite3_stmt *st = s_stmt(s, Q_CONSENT_ENDED);
    s_bind_u64(st, 1, after_ms);
    s_bind_blob(st, 2, after_case ? after_case : none, ZN_ID_LEN);
    s_bind_u64(st, 3, upto_ms);
    sqlite3_bind_int(st, 4, limit < 0 ? 0 : limit);
    int n = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        uint8_t id[ZN_ID_LEN];
        uint64_t seq, until;
        if (s_col_blob(st, 0, id, ZN_ID_LEN) != 0 || s_col_u64(st, 1, &seq) != 0 || s_col_u64(st, 2, &until) != 0) {
            rc = SQLITE_CORRUPT;
            break;
        }
        n++;
        if (cb(ctx, id, seq, until) != 0)
            break;
    }
    sqlite3_reset(st);
    return (rc == SQLITE_DONE || rc == SQLITE_ROW) ? n : -1;
}

/* ---- safety overrides ---- */

static bool s_override_ok(const zn_override_row *r)
{
    return r->state >= ZN_OVERRIDE_PENDING && r->state <= ZN_OVERRIDE_EXPIRED && r->step >= 1 &&
           r->step <= ZN_MELDCODE_STEPS && s_str_ok(r->network, sizeof r->network, true) &&
           s_str_ok(r->from, sizeof r->from, true) && s_str_ok(r->handler, sizeof r->handler, false) &&
           s_str_ok(r->to, sizeof r->to, true) && s_str_ok(r->reviewed_by, sizeof r->reviewed_by, false) &&
           s_sealed_ok(r->justification, r->justification_len, true) && s_sealed_ok(r->note, r->note_len, false);
}

/* Decode the S_OVR_COLS columns (out zeroed first; sealed values point into the row). */
static int s_col_override(sqlite3_stmt *st, zn_override_row *out)
{
    memset(out, 0, sizeof *out);
    uint64_t state, escalated;
    if (s_col_blob(st, 0, out->id, ZN_ID_LEN) != 0 || s_col_blob(st, 1, out->case_id, ZN_ID_LEN) != 0 ||
        s_col_text(st, 2, out->network, sizeof out->network) != 0 ||
        s_col_text(st, 3, out->from, sizeof out->from) != 0 ||
        s_col_str(st, 4, out->handler, sizeof out->handler) != 0 || s_col_text(st, 5, out->to, sizeof out->to) != 0 ||
        s_col_u64(st, 6, &out->step) != 0 || out->step < 1 || out->step > ZN_MELDCODE_STEPS ||
        s_col_u64(st, 7, &out->created_ms) != 0 || s_col_u64(st, 8, &out->expires_ms) != 0 ||
        s_col_u64(st, 9, &out->review_by_ms) != 0 || s_col_u64(st, 10, &state) != 0 ||
        state < ZN_OVERRIDE_PENDING || state > ZN_OVERRIDE_EXPIRED ||
        s_col_str(st, 11, out->reviewed_by, sizeof out->reviewed_by) != 0 ||
        s_col_u64(st, 12, &out->reviewed_ms) != 0 || s_col_u64(st, 13, &escalated) != 0 || escalated > 1 ||
        s_col_sealed(st, 14, true, &out->justification, &out->justification_len) != 0 ||
        s_col_sealed(st, 15, false, &out->note, &out->note_len) != 0)
        return -1;
    out->state = (zn_override_state)state;
    out->escalated = escalated == 1;
    return 0;
}

static int s_visit_override(sqlite3_stmt *st, const s_walk_cb *w)
{
    zn_override_row r;
    if (s_col_override(st, &r) != 0)
        return -1;
    return w->cb.override(w->ctx, &r) != 0;
}

/* Rows of S_OVR_COLS into cb (sealed values valid during the callback): count or -1. */
static int s_walk_overrides(sqlite3_stmt *st, zn_override_cb cb, void *ctx)
{
    return s_walk(st, s_visit_override, &(s_walk_cb){.cb.override = cb, .ctx = ctx});
}

int zn_store_override_put(zn_store *s, const zn_override_row *r)
{
    if (!s_override_ok(r))
        return -1;
    sqlite3_stmt *st = s_stmt(s, Q_OVR_PUT);
    s_bind_blob(st, 1, r->id, ZN_ID_LEN);
    s_bind_blob(st, 2, r->case_id, ZN_ID_LEN);
    s_bind_text(st, 3, r->network);
    s_bind_text(st, 4, r->from);
    s_bind_text(st, 5, r->handler);
    s_bind_text(st, 6, r->to);
    s_bind_u64(st, 7, r->step);
    s_bind_u64(st, 8, r->created_ms);
    s_bind_u64(st, 9, r->expires_ms);
    s_bind_u64(st, 10, r->review_by_ms);
    sqlite3_bind_int(st, 11, (int)r->state);
    s_bind_text(st, 12, r->reviewed_by);
    s_bind_u64(st, 13, r->reviewed_ms);
    sqlite3_bind_int(st, 14, r->escalated ? 1 : 0);
    s_bind_sealed(st, 15, r->justification, r->justification_len);
    s_bind_sealed(st, 16, r->note, r->note_len);
    return s_exec(s, Q_OVR_PUT);
}

int zn_store_override_get(zn_store *s, const uint8_t id[ZN_ID_LEN], zn_override_row *out)
{
    sqlite3_stmt *st = s_stmt(s, Q_OVR_GET);
    s_bind_blob(st, 1, id, ZN_ID_LEN);
    int r = s_step_one(st);
    if (r == 1 && (s_col_override(st, out) != 0 ||
                   s_keep(s, &out->justification, out->justification_len, &out->note, out->note_len) != 0))
        r = -1;
    sqlite3_reset(st);
    return r;
}

int zn_store_overrides_between(zn_store *s, const uint8_t case_id[ZN_ID_LEN], const char *a, const char *b,
                               zn_override_cb cb, void *ctx)
{
    if (!s_name_ok(a, ZN_IDENT_MAX) || (b && !s_name_ok(b, ZN_IDENT_MAX)))
        return -1;
    sqlite3_stmt *st = s_stmt(s, Q_OVR_BETWEEN);
    s_bind_blob(st, 1, case_id, ZN_ID_LEN);
    s_bind_text(st, 2, a);
    s_bind_text(st, 3, b);
    return s_walk_overrides(st, cb, ctx);
}

/* The parameters of S_OVR_FILTER and S_OVR_PENDING (?4 unused by the others). */
static void s_bind_override_filter(sqlite3_stmt *st, const char (*networks)[ZN_IDENT_MAX], size_t n_networks,
                                   const char *from, uint64_t now_ms)
{
    sqlite3_bind_int(st, 1, n_networks == 0);
    s_bind_text(st, 2, from);
    s_bind_u64(st, 4, now_ms);
    for (size_t i = 0; i < n_networks; i++)
        s_bind_text(st, S_OVR_NET_FIRST + (int)i, networks[i]);
}

int zn_store_override_list(zn_store *s, const char (*networks)[ZN_IDENT_MAX], size_t n_networks, const char *from,
                           bool pending_only, uint64_t now_ms, uint64_t offset, int limit, uint64_t *total,
                           zn_override_cb cb, void *ctx)
{
    if (n_networks > S_OVR_NET_SLOTS || (n_networks > 0 && !networks) || (from && !s_name_ok(from, ZN_IDENT_MAX)))
        return -1;
    for (size_t i = 0; i < n_networks; i++)
        if (!s_str_ok(networks[i], ZN_IDENT_MAX, true))
            return -1;
    sqlite3_stmt *st = s_stmt(s, pending_only ? Q_OVR_TOTAL_PENDING : Q_OVR_TOTAL);
    s_bind_override_filter(st, networks, n_networks, from, now_ms);
    if (s_count(st, total) != 0)
        return -1;
    st = s_stmt(s, pending_only ? Q_OVR_LIST_PENDING : Q_OVR_LIST);
    s_bind_override_filter(st, networks, n_networks, from, now_ms);
    s_bind_u64(st, 5, offset);
    sqlite3_bind_int(st, 6, limit < 0 ? 0 : limit);
    return s_walk_overrides(st, cb, ctx);
}

int zn_store_overrides_due(zn_store *s, uint64_t now_ms, int limit, zn_override_cb cb, void *ctx)
{
    return s_walk_due(s, Q_OVR_DUE_IDS, Q_OVR_DUE_ROW, now_ms, limit, s_visit_override,
                      &(s_walk_cb){.cb.override = cb, .ctx = ctx});
}

int zn_store_overrides_standing(zn_store *s, const uint8_t case_id[ZN_ID_LEN], uint64_t now_ms, int limit,
                                zn_override_cb cb, void *ctx)
{
    sqlite3_stmt *st = s_stmt(s, Q_OVR_STANDING);
    s_bind_blob(st, 1, case_id, ZN_ID_LEN);
    s_bind_u64(st, 2, now_ms);
    sqlite3_bind_int(st, 3, limit < 0 ? 0 : limit);
    return s_walk_overrides(st, cb, ctx);
}

/* ---- handovers ---- */

static bool s_handover_ok(const zn_handover_row *r)
{
    return r->state >= ZN_HANDOVER_OPEN && r->state <= ZN_HANDOVER_WITHDRAWN &&
           s_str_ok(r->from, sizeof r->from, true) && s_str_ok(r->handler, sizeof r->handler, false) &&
           s_str_ok(r->to, sizeof r->to, true) && s_sealed_ok(r->reason, r->reason_len, false);
}

/* Decode the S_HO_COLS columns (out zeroed first; reason points into the row). */
static int s_col_handover(sqlite3_stmt *st, zn_handover_row *out)
{
    memset(out, 0, sizeof *out);
    uint64_t state, escalated;
    if (s_col_blob(st, 0, out->id, ZN_ID_LEN) != 0 || s_col_blob(st, 1, out->case_id, ZN_ID_LEN) != 0 ||
        s_col_text(st, 2, out->from, sizeof out->from) != 0 ||
        s_col_str(st, 3, out->handler, sizeof out->handler) != 0 || s_col_text(st, 4, out->to, sizeof out->to) != 0 ||
        s_col_blob(st, 5, out->msgid, ZN_ID_LEN) != 0 ||
        s_col_u64(st, 6, &out->offered_ms) != 0 || s_col_u64(st, 7, &out->timeout_ms) != 0 ||
        s_col_u64(st, 8, &state) != 0 || state < ZN_HANDOVER_OPEN || state > ZN_HANDOVER_WITHDRAWN ||
        s_col_u64(st, 9, &out->decided_ms) != 0 || s_col_u64(st, 10, &escalated) != 0 || escalated > 1 ||
        s_col_sealed(st, 11, false, &out->reason, &out->reason_len) != 0)
        return -1;
    out->state = (zn_handover_state)state;
    out->escalated = escalated == 1;
    return 0;
}

static int s_visit_handover(sqlite3_stmt *st, const s_walk_cb *w)
{
    zn_handover_row r;
    if (s_col_handover(st, &r) != 0)
        return -1;
    return w->cb.handover(w->ctx, &r) != 0;
}

/* Rows of S_HO_COLS into cb (the reason valid during the callback): count or -1. */
static int s_walk_handovers(sqlite3_stmt *st, zn_handover_cb cb, void *ctx)
{
    return s_walk(st, s_visit_handover, &(s_walk_cb){.cb.handover = cb, .ctx = ctx});
}

/* One handover row or none, its reason kept (out may be NULL): 1, 0, -1. */
static int s_handover_one(zn_store *s, sqlite3_stmt *st, zn_handover_row *out)
{
    zn_handover_row tmp;
    zn_handover_row *r = out ? out : &tmp;
    int got = s_step_one(st);
    if (got == 1 && (s_col_handover(st, r) != 0 || (out && s_keep(s, &out->reason, out->reason_len, NULL, 0) != 0)))
        got = -1;
    sqlite3_reset(st);
    return got;
}

int zn_store_handover_put(zn_store *s, const zn_handover_row *r)
{
    if (!s_handover_ok(r))
        return -1;
    sqlite3_stmt *st = s_stmt(s, Q_HO_PUT);
    s_bind_blob(st, 1, r->id, ZN_ID_LEN);
    s_bind_blob(st, 2, r->case_id, ZN_ID_LEN);
    s_bind_text(st, 3, r->from);
    s_bind_text(st, 4, r->handler);
    s_bind_text(st, 5, r->to);
    s_bind_blob(st, 6, r->msgid, ZN_ID_LEN);
    s_bind_u64(st, 7, r->offered_ms);
    s_bind_u64(st, 8, r->timeout_ms);
    sqlite3_bind_int(st, 9, (int)r->state);
    s_bind_u64(st, 10, r->decided_ms);
    sqlite3_bind_int(st, 11, r->escalated ? 1 : 0);
    s_bind_sealed(st, 12, r->reason, r->reason_len);
    return s_exec(s, Q_HO_PUT);
}

int zn_store_handover_get(zn_store *s, const uint8_t id[ZN_ID_LEN], zn_handover_row *out)
{
    sqlite3_stmt *st = s_stmt(s, Q_HO_GET);
    s_bind_blob(st, 1, id, ZN_ID_LEN);
    return s_handover_one(s, st, out);
}

int zn_store_handover_open(zn_store *s, const uint8_t case_id[ZN_ID_LEN], zn_handover_row *out)
{
    sqlite3_stmt *st = s_stmt(s, Q_HO_OPEN);
    s_bind_blob(st, 1, case_id, ZN_ID_LEN);
    return s_handover_one(s, st, out);
}

int zn_store_handover_list(zn_store *s, const char *partner, uint64_t offset, int limit, uint64_t *total,
                           zn_handover_cb cb, void *ctx)
{
    if (!s_name_ok(partner, ZN_IDENT_MAX))
        return -1;
    sqlite3_stmt *st = s_stmt(s, Q_HO_TOTAL);
    s_bind_text(st, 1, partner);
    if (s_count(st, total) != 0)
        return -1;
    st = s_stmt(s, Q_HO_LIST);
    s_bind_text(st, 1, partner);
    s_bind_u64(st, 2, offset);
    sqlite3_bind_int(st, 3, limit < 0 ? 0 : limit);
    return s_walk_handovers(st, cb, ctx);
}

int zn_store_handovers_due(zn_store *s, uint64_t now_ms, int limit, zn_handover_cb cb, void *ctx)
{
    return s_walk_due(s, Q_HO_DUE_IDS, Q_HO_DUE_ROW, now_ms, limit, s_visit_handover,
                      &(s_walk_cb){.cb.handover = cb, .ctx = ctx});
}

int zn_store_handovers_open_to(zn_store *s, const char *recipient, int limit, zn_handover_cb cb, void *ctx)
{
    if (!s_name_ok(recipient, ZN_IDENT_MAX))
        return -1;
    sqlite3_stmt *st = s_stmt(s, Q_HO_OPEN_TO);
    s_bind_text(st, 1, recipient);
    sqlite3_bind_int(st, 2, limit < 0 ? 0 : limit);
    return s_walk_handovers(st, cb, ctx);
}

/* ---- the queue and message ids on a case ---- */

int zn_store_queue_case(zn_store *s, const uint8_t case_id[ZN_ID_LEN], zn_queue_cb cb, void *ctx)
{
    /* only the items queued before the walk: one the callback queues is not visited */
    uint64_t upto = 0;
    if (s_count(s_stmt(s, Q_QUEUE_MAX_SEQ), &upto) != 0)
        return -1;
    int64_t last = 0;
    int n = 0;
    for (;;) { /* seq grows with every step, up to upto */
        sqlite3_stmt *st = s_stmt(s, Q_QUEUE_CASE);
        s_bind_blob(st, 1, case_id, ZN_ID_LEN);
        sqlite3_bind_int64(st, 2, last);
        sqlite3_bind_int(st, 3, ZN_ITEM_ENVELOPE);
        s_bind_u64(st, 4, upto);
        int got = s_step_one(st);
        zn_queue_item it;
        const char *recipient = NULL;
        if (got == 1) {
            recipient = (const char *)sqlite3_column_text(st, 6);
            if (s_col_item(st, &it) != 0 || !recipient || !it.case_id || it.seq <= last)
                got = -1;
        }
        if (got != 1) {
            sqlite3_reset(st);
            return got == 0 ? n : -1;
        }
        last = it.seq;
        n++;
        int stop = cb(ctx, recipient, &it); /* the row's values live until the reset */
        sqlite3_reset(st);
        if (stop)
            return n;
    }
}

int zn_store_msgid_match(zn_store *s, const char *sender, const uint8_t msgid[ZN_ID_LEN], const char *recipient,
                         const uint8_t case_id[ZN_ID_LEN])
{
    if (!s_name_ok(sender, ZN_IDENT_MAX) || !s_name_ok(recipient, ZN_IDENT_MAX))
        return -1;
    sqlite3_stmt *st = s_stmt(s, Q_MSGID_MATCH);
    s_bind_text(st, 1, sender);
    s_bind_blob(st, 2, msgid, ZN_ID_LEN);
    s_bind_text(st, 3, recipient);
    s_bind_blob(st, 4, case_id, ZN_ID_LEN);
    int r = s_step_one(st);
    sqlite3_reset(st);
    return r;
}
