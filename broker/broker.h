/* broker — zorgnetd's event loop: one thread owns the sockets and the database.
 *
 * Each turn drains up to ZN_BATCH_MAX frames (or ZN_BATCH_BYTES) from the CurveZMQ ROUTER,
 * handles them inside one sqlite transaction (one savepoint per frame, so a bad frame changes
 * nothing), commits once (group commit), and only then sends the replies ("accepted" means
 * durable) and pushes new items to online recipients.
 *
 * Ownership: zn_broker_new returns a broker released by zn_broker_destroy(&b). The flags given
 * to zn_broker_run are read, never written; a signal handler may set them. */
#ifndef ZN_BROKER_H
#define ZN_BROKER_H

#include "zn_err.h"
#include <signal.h>
#include <stdbool.h>

#define ZN_BATCH_MAX 512
#define ZN_BATCH_BYTES (8u * 1024 * 1024)
#define ZN_MSGID_KEEP_DAYS 30 /* message ids remembered for de-duplicating retries */

typedef struct {
    const char *convenant_path;
    const char *key_path;
    const char *db_path;
    const char *listen; /* NULL: the convenant's endpoint */
    bool verbose;       /* also log every accepted envelope and acknowledgement */
    bool audit_off;     /* bench builds only (ZN_AUDIT_SWITCH): no audit log, for comparison */
} zn_broker_opts;

typedef struct zn_broker zn_broker;

/* Checks everything that can refuse a start: convenant signature and validity, the key is the
 * convenant's broker key, the database opens and has not seen a newer convenant or another
 * authority, the endpoint binds. */
int zn_broker_new(const zn_broker_opts *opts, zn_broker **out, zn_err *e)
    __attribute__((warn_unused_result));
/* Serve until *stop becomes non-zero; reload the convenant whenever *reload changes. */
int zn_broker_run(zn_broker *b, volatile sig_atomic_t *stop, volatile sig_atomic_t *reload);
/* Reload the convenant file now (what SIGHUP does). 0 when the new version is in force. */
int zn_broker_reload(zn_broker *b, zn_err *e);
void zn_broker_destroy(zn_broker **b);

#endif
