/* zorgnetd — the zorgnet broker. */
#include "broker.h"
#include "log.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static volatile sig_atomic_t s_stop, s_reload;

static void s_on_signal(int sig)
{
    if (sig == SIGHUP)
        s_reload++;
    else
        s_stop = 1;
}

static void s_usage(FILE *f)
{
    fputs("usage: zorgnetd --convenant FILE --key BROKER.key --db FILE [--listen ENDPOINT] [--verbose]\n"
          "                [--clock-offset SECONDS]\n"
          "  --convenant FILE   the signed convenant (SIGHUP reloads it; only a newer version\n"
          "                     signed by the same authority replaces the one in force)\n"
          "  --key FILE         the broker's secret key file (mode 0600)\n"
          "  --db FILE          the sqlite3 database (created when absent)\n"
          "  --listen ENDPOINT  e.g. tcp://127.0.0.1:7450 (default: the convenant's endpoint)\n"
          "  --verbose          also log every accepted envelope\n"
          "  --clock-offset S   run the broker's clock S seconds ahead (retention drills and\n"
          "                     tests: entries older than the convenant's retention_days are\n"
          "                     redacted at start); never in normal service\n"
          "SIGTERM or SIGINT shut down cleanly after committing what was accepted.\n",
          f);
}

int main(int argc, char **argv)
{
    zn_broker_opts o = {0};
    const char *offset = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        if (!strcmp(a, "--convenant"))
            slot = &o.convenant_path;
        else if (!strcmp(a, "--key"))
            slot = &o.key_path;
        else if (!strcmp(a, "--db"))
            slot = &o.db_path;
        else if (!strcmp(a, "--listen"))
            slot = &o.listen;
        else if (!strcmp(a, "--clock-offset"))
            slot = &offset;
        else if (!strcmp(a, "--verbose")) {
            o.verbose = true;
            continue;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            s_usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "zorgnetd: unknown option %s\n", a);
            s_usage(stderr);
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "zorgnetd: %s needs a value\n", a);
            return 2;
        }
        *slot = argv[++i];
    }
    if (!o.convenant_path || !o.key_path || !o.db_path) {
        fprintf(stderr, "zorgnetd: --convenant, --key and --db are required\n");
        s_usage(stderr);
        return 2;
    }

    if (offset) {
        char *end = NULL;
        errno = 0;
        long long v = strtoll(offset, &end, 10);
        if (errno || !end || *end || end == offset || v < 0 || v > 20LL * 365 * 86400) {
            fprintf(stderr, "zorgnetd: --clock-offset takes whole seconds from 0 to 20 years, not %s\n", offset);
            return 2;
        }
        zn_clock_set_offset_ms((int64_t)v * 1000);
        if (v)
            zn_log("clock-offset seconds=%lld: this broker's clock runs ahead", v);
    }
#ifdef ZN_AUDIT_SWITCH
    o.audit_off = getenv("ZN_BENCH_AUDIT_OFF") != NULL;
#endif

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    zn_broker *b = NULL;
    zn_err e;
    zn_err_clear(&e);
    if (zn_broker_new(&o, &b, &e) != 0) {
        zn_log("refusing to start: %s: %s", zn_code_name(e.code), e.text);
        return 1;
    }
    int rc = zn_broker_run(b, &s_stop, &s_reload);
    zn_broker_destroy(&b);
    return rc == 0 ? 0 : 1;
}
