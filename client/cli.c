/* zorgnet — the command-line client for partners, coordinators and auditors (see `zorgnet help`). */
#include "zn_case.h"
#include "zn_client_internal.h"
#include "zn_consent_report.h"
#include "zn_pseudonym.h"
#include "zn_uninformed.h"
#include "zorgnet.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    O_CONVENANT,
    O_KEY,
    O_BROKER,
    O_HANDLER,
    O_TIMEOUT,
    O_JSON,
    O_HELP,
    O_NETWORK,
    O_TO,
    O_CASE,
    O_ID,
    O_WAIT,
    O_TYPE,
    O_OUT,
    O_FORMAT,
    O_FORCE,
    O_FROM,
    O_SINCE,
    O_UNTIL,
    O_PARTNER,
    O_ACTION,
    O_DECISION,
    O_BASIS,
    O_BSN,
    O_AS,
    O_RELATED,
    O_INFORMED,
    O_CONTACT,
    O_DATE,
    /* cases, consent, safety overrides and handovers */
    O_STATE,
    O_SCOPE,
    O_PURPOSE,
    O_GIVEN_BY,
    O_AGE_BAND,
    O_STEP,
    O_JUSTIFICATION,
    O_ALL,
    O_APPROVE,
    O_REJECT,
    O_NOTE,
    O_REASON,
    O_I_CHECKED,
    /* the free text of a command from a file or standard input, out of `ps` and the history */
    O_PURPOSE_FILE,
    O_JUSTIFICATION_FILE,
    O_NOTE_FILE,
    O_REASON_FILE,
    O__COUNT
};

static const zn_opt_spec s_specs[O__COUNT] = {
    [O_CONVENANT] = {"convenant", true}, [O_KEY] = {"key", true},
    [O_BROKER] = {"broker", true},       [O_HANDLER] = {"handler", true},
    [O_TIMEOUT] = {"timeout", true},     [O_JSON] = {"json", false},
    [O_HELP] = {"help", false},          [O_NETWORK] = {"network", true},
    [O_TO] = {"to", true},               [O_CASE] = {"case", true},
    [O_ID] = {"id", true},               [O_WAIT] = {"wait", true},
    [O_TYPE] = {"type", true},           [O_OUT] = {"out", true},
    [O_FORMAT] = {"format", true},       [O_FORCE] = {"force", false},
    [O_FROM] = {"from", true},           [O_SINCE] = {"since", true},
    [O_UNTIL] = {"until", true},         [O_PARTNER] = {"partner", true},
    [O_ACTION] = {"action", true},       [O_DECISION] = {"decision", true},
    [O_BASIS] = {"basis", true},         [O_BSN] = {"bsn", true},
    [O_AS] = {"as", true},               [O_RELATED] = {"related", true},
    [O_INFORMED] = {"informed", true},   [O_CONTACT] = {"contact", true},
    [O_DATE] = {"date", true},
    [O_STATE] = {"state", true},         [O_SCOPE] = {"scope", true},
    [O_PURPOSE] = {"purpose", true},     [O_GIVEN_BY] = {"given-by", true},
    [O_AGE_BAND] = {"age-band", true},   [O_STEP] = {"step", true},
    [O_JUSTIFICATION] = {"justification", true}, [O_ALL] = {"all", false},
    [O_APPROVE] = {"approve", false},    [O_REJECT] = {"reject", false},
    [O_NOTE] = {"note", true},           [O_REASON] = {"reason", true},
    [O_I_CHECKED] = {"i-checked", false},
    [O_PURPOSE_FILE] = {"purpose-file", true}, [O_JUSTIFICATION_FILE] = {"justification-file", true},
    [O_NOTE_FILE] = {"note-file", true}, [O_REASON_FILE] = {"reason-file", true},
};
/* --related may be given once per family member */
static const bool s_repeat[O__COUNT] = {[O_RELATED] = true};

#define S_MAX_POS 8
#define S_WAIT_MAX_MS (24 * 3600 * 1000)
#define S_FINDINGS_MAX (64 * 1024) /* bytes of "kind: text" lines listed for one refused send */
#define S_TEXT_FILE_MAX (64 * 1024) /* bytes read from a --*-file (the sealed text is far less) */

typedef struct {
    const char *v[O__COUNT];
    zn_arg_list lists[O__COUNT]; /* every value of a repeatable option (--related) */
    const char *pos[S_MAX_POS];
    size_t npos;
    bool json;
    const char *handler_filter; /* audit query --handler */
    zn_client_opts opts;
} s_cli;

static const char s_help[] =
    "usage: zorgnet [options] COMMAND [arguments]\n"
    "\n"
    "commands:\n"
    "  partners                      list the networks and partners of the convenant\n"
    "  case new --network NET [--bsn BSN [--related BSN ...]]\n"
    "                                open a case in NET; prints the case id (32 hex characters).\n"
    "                                With --bsn the case is identified (linked to the person, as\n"
    "                                a pseudonym made on this computer), else anonymous. The\n"
    "                                creator is the case's regisseur.\n"
    "  send --to ID --case CASE [--id HEX] [--i-checked] [FILE|-]\n"
    "                                send FILE (default: standard input, at most 1 MiB) to\n"
    "                                partner ID on case CASE; prints the message id once the\n"
    "                                broker has stored the message. --id reuses an earlier id, so\n"
    "                                a send whose outcome is unknown can be retried safely.\n"
    "                                On an anonymous case, text that looks like it identifies\n"
    "                                someone (a BSN, phone number, e-mail address, postcode and\n"
    "                                house number, a date more than a year ago) is refused (exit\n"
    "                                2, each finding listed, nothing sent) unless --i-checked\n"
    "                                says the text was checked (recorded in the audit log).\n"
    "  inbox [--wait SECONDS] [--type TYPE,...]\n"
    "                                show what has arrived and acknowledge it. --wait: when\n"
    "                                nothing is there, wait up to SECONDS for the first item.\n"
    "                                --type: only envelope, notice or a notice type such as\n"
    "                                envelope-dropped (the rest stays queued).\n"
    "  receipt verify ID             prove that audit entry ID is in the broker's log: ID is\n"
    "                                an audit index (as 'send' reports it) or the id of a message\n"
    "                                this client sent. Checks the broker's signed tree head, its\n"
    "                                consistency with the head this client saw before, the\n"
    "                                inclusion proof and the entry's commitment; prints what the\n"
    "                                entry says. A partner may verify only its own entries.\n"
    "\n"
    "signals (\"is this family already known elsewhere?\"):\n"
    "  signal add --network NET --bsn BSN [--related BSN ...] [--until DATE]\n"
    "             [--informed DATE] [--contact TEXT]\n"
    "                                register this partner's involvement with a person and the\n"
    "                                family (--related: a parent or sibling, once per person, at\n"
    "                                most 16); registering the person again refreshes the signal.\n"
    "                                Every BSN is checked with the 11-proef and turned into a\n"
    "                                pseudonym on this computer; only pseudonyms are sent.\n"
    "                                --until: the signal's last day (default: the convenant's\n"
    "                                signal_retention_days); --informed: the day the family was\n"
    "                                told; --contact: how the handler is reached (the broker keeps\n"
    "                                it as it is, so never a BSN). Prints the signal id, its expiry\n"
    "                                and the matches this partner may see.\n"
    "  signal list                   this partner's active signals: id, person (the first 8 hex\n"
    "                                characters of the pseudonym), network, expiry, family\n"
    "                                members, matches, and when the family was informed\n"
    "  signal informed ID [--date DATE]\n"
    "                                record that the family was told (default: today)\n"
    "  signal withdraw ID            end a signal; one withdrawn sooner than the convenant's\n"
    "                                signal_min_lifetime_d counts as a look-up (flagged)\n"
    "  matches [--wait SECONDS]      show match notices (match, match-review, match-lead,\n"
    "                                enumeration-suspected) and acknowledge them; everything else\n"
    "                                stays queued for 'inbox'. Prints \"no new match notices\" (exit\n"
    "                                0) when there are none.\n"
    "                                DATE: YYYY-MM-DD (UTC); ID: 32 hex characters\n"
    "\n"
    "cases, consent, safety overrides and warm handovers (ID, CASE: 32 hex characters):\n"
    "  case show CASE                network, regisseur, members, consent, open handovers and\n"
    "                                standing safety overrides (members and coordinators)\n"
    "  case close CASE               the regisseur ends the case; its retention clock starts\n"
    "  case link --case CASE --bsn BSN [--related BSN ...]\n"
    "                                the regisseur links an anonymous case to the person once\n"
    "                                consent is granted; prints the partners told (the scope)\n"
    "  consent set --case CASE --state requested|granted|refused|withdrawn [--scope ID,ID,...]\n"
    "              [--purpose TEXT | --purpose-file FILE]\n"
    "              [--given-by client,parent,guardian,representative]\n"
    "              [--age-band 0-11|12-15|16+] [--until DATE]\n"
    "                                the regisseur records the client's consent for this case:\n"
    "                                who may be told (--scope), why (--purpose, sealed to the\n"
    "                                auditors), who gave it and until when (default: until\n"
    "                                withdrawn). Granted consent must be given in the capacity the\n"
    "                                age requires: 0-11 a parent, guardian or representative;\n"
    "                                12-15 the client and a parent or guardian; 16+ the client.\n"
    "  consent show --case CASE      the current consent, then its whole history\n"
    "  override --case CASE --to ID --step 1-5 --justification TEXT | --justification-file FILE\n"
    "                                a safety override: share with partner ID without consent\n"
    "                                because a child's safety requires it (meldcode step 1-5).\n"
    "                                The justification (at least 40 characters) is sealed to the\n"
    "                                network's coordinators and the auditors; the coordinators are\n"
    "                                told at once and must review it in time.\n"
    "  override list [--all]         overrides waiting for review (--all: every state); a\n"
    "                                partner sees its own, a coordinator those of its networks\n"
    "  handover offer --case CASE --to ID [--i-checked] [FILE|-]\n"
    "                                the regisseur offers the case to partner ID with a dossier\n"
    "                                (sent as a sealed message first); it stays responsible until\n"
    "                                the offer is accepted\n"
    "  handover accept ID            take the case over: this partner becomes its regisseur\n"
    "  handover decline ID --reason TEXT | --reason-file FILE\n"
    "                                decline, with a reason sealed to the offering partner and\n"
    "                                the auditors\n"
    "  handover withdraw ID          take an open offer back (the offering partner, or a\n"
    "                                coordinator of the case's network): the recipient is told\n"
    "                                and the case stays with the partner that offered it\n"
    "  handover list                 handovers this partner offered or was offered\n"
    "  --purpose-file, --justification-file, --note-file, --reason-file FILE\n"
    "                                read the text from FILE (- for standard input) instead of\n"
    "                                the command line, where the process list and the shell\n"
    "                                history would show it; give either the text or the file\n"
    "\n"
    "coordinator commands (the coordinator role in the network of the match or the case):\n"
    "  match connect MATCH           tell the two partners of a match about each other\n"
    "  match lead MATCH --partner ID name the lead partner (regiehouder) for the person\n"
    "  override review ID --approve|--reject [--note TEXT | --note-file FILE]\n"
    "                                review a safety override in the case's network; a rejected\n"
    "                                one stops at once. The note is sealed to the override's\n"
    "                                author, the network's coordinators and the auditors.\n"
    "\n"
    "auditor commands (the auditor role in the convenant; the broker refuses and records others):\n"
    "  audit export --out FILE [--format jsonl|csv] [--since TIME] [--until TIME] [--force]\n"
    "                                write the log (convenants, entries, signed tree heads) to\n"
    "                                FILE for offline checking; entries outside the time range\n"
    "                                are kept only as their commitments. An existing FILE is\n"
    "                                replaced only with --force.\n"
    "  audit verify [--from FILE]    verify an export file offline (convenant signatures by the\n"
    "                                authority, commitments, the Merkle tree, signed heads,\n"
    "                                evidence signatures, every readable field), also against\n"
    "                                the tree head this client accepted before; without --from,\n"
    "                                export the whole log to a private temporary file and verify it\n"
    "  audit query [--case ID] [--partner ID] [--handler TEXT] [--action A]\n"
    "              [--decision allowed|refused] [--basis B] [--since TIME] [--until TIME]\n"
    "              [--bsn BSN] [--as NAME]\n"
    "                                the entries that match, one per line (--json: JSON lines).\n"
    "                                The broker filters, and records who asked with which filter.\n"
    "                                --bsn is turned into the person's pseudonym on this computer\n"
    "                                (the BSN never leaves it). Here --handler is a filter; the\n"
    "                                auditor who asks is --as NAME (or ZORGNET_HANDLER).\n"
    "  audit consent --case ID       the consent report of one case: its consent history (with\n"
    "                                the purposes), every exchange that relied on a consent\n"
    "                                record, those under a safety override, anonymous or refused,\n"
    "                                entries that do not match the history (INCONSISTENT), and\n"
    "                                the queued messages a consent change or override stopped\n"
    "  audit report [--since TIME]   counts per partner and action (allowed / refused), every\n"
    "                                refusal, quota or rate-limit event and redaction, signals\n"
    "                                withdrawn early (look-ups), signals whose family was not\n"
    "                                informed within informed_grace_d, every safety override with\n"
    "                                its justification (opened with this auditor's key), its\n"
    "                                reviews, escalation and expiry, handover escalations, and\n"
    "                                handover declines with the reason (opened likewise)\n"
    "                                TIME: YYYY-MM-DD (00:00 UTC) or YYYY-MM-DDTHH:MM:SSZ\n"
    "  help                          this text\n"
    "\n"
    "options (each can also be set in the environment):\n"
    "  --convenant FILE    ZORGNET_CONVENANT  the convenant file; replaced when the broker\n"
    "                                         runs a newer version by the same authority\n"
    "  --key FILE          ZORGNET_KEY        the partner's secret key file; the client keeps its\n"
    "                                         state (versions seen, messages shown) in FILE.state\n"
    "  --broker ENDPOINT   ZORGNET_BROKER     e.g. tcp://broker.example.nl:7450 (default: the\n"
    "                                         convenant's)\n"
    "  --handler NAME      ZORGNET_HANDLER    the professional who acts; needed for send, case,\n"
    "                                         consent, override, handover, receipt, audit,\n"
    "                                         signal and match (every request names one)\n"
    "  --timeout SECONDS   ZORGNET_TIMEOUT    how long to wait for each answer (default 5)\n"
    "  --json                                 one JSON object per line on standard output\n"
    "\n"
    "'send' prints the message id on standard output and the audit index of its acceptance on\n"
    "standard error (--json: both, as msgid and audit_index).\n"
    "\n"
    "On every connection the client checks the broker's signed tree head against the last one\n"
    "it accepted (kept in FILE.state): a log that was truncated or rewritten is refused with\n"
    "log-inconsistent (exit 5), now and on every later run, until the authority resolves it.\n"
    "\n"
    "Messages are shown with sender, handler, case and time (UTC); control characters in the\n"
    "content are shown as \\xNN (use --json for the exact bytes). An item that fails a check is\n"
    "shown as \"INVALID: reason\" and never as a message.\n"
    "\n"
    "exit status: 0 done; 1 local fault (files, memory); 2 usage; 3 refused by the broker or by\n"
    "policy; 4 broker unreachable or handshake refused; 5 a signature, hash or version check\n"
    "failed (also when an invalid item was shown).\n"
    "Errors go to standard error as \"zorgnet: CODE: text\"; with --json also as a JSON line\n"
    "{\"error\": CODE, \"code\": CODE, \"text\": ...} on standard output.\n";

/* ------------------------------------------------------------------ output helpers */

static int s_exit_status(zn_code code)
{
    zn_class k = zn_code_class(code);
    return k == ZN_CLASS_OK ? 1 : (int)k;
}

static int s_fail(const s_cli *x, const zn_err *e)
{
    char text[ZN_ERR_TEXT_MAX];
    const char *code = zn_code_name(e->code);
    zn_text_sanitize(text, sizeof text, e->text, strlen(e->text));
    if (!text[0])
        snprintf(text, sizeof text, "%s", zn_code_hint(e->code));
    fflush(stdout);
    fprintf(stderr, "zorgnet: %s: %s\n", code, text);
    if (x && x->json) {
        fputs("{\"error\":", stdout);
        zn_json_str(stdout, code, strlen(code));
        fputs(",\"code\":", stdout);
        zn_json_str(stdout, code, strlen(code));
        fputs(",\"text\":", stdout);
        zn_json_str(stdout, text, strlen(text));
        fputs("}\n", stdout);
        fflush(stdout);
    }
    return s_exit_status(e->code);
}

static int s_usage(const s_cli *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int s_usage(const s_cli *x, const char *fmt, ...)
{
    zn_err e;
    va_list ap;
    e.code = ZN_E_USAGE;
    va_start(ap, fmt);
    vsnprintf(e.text, sizeof e.text, fmt, ap);
    va_end(ap);
    size_t n = strlen(e.text);
    if (n + 40 < sizeof e.text)
        snprintf(e.text + n, sizeof e.text - n, "; 'zorgnet help' lists the options");
    return s_fail(x, &e);
}

/* Standard output must take everything before an item is acknowledged. */
static int s_flush(zn_err *e)
{
    if (fflush(stdout) != 0 || ferror(stdout))
        return zn_err_set(e, ZN_E_IO, "standard output could not be written (%s)", strerror(errno));
    return 0;
}

/* The end of a command: its error when rc is not 0, else what it printed flushed. */
static int s_finish(const s_cli *x, int rc, zn_err *e)
{
    if (rc != 0)
        return s_fail(x, e);
    return s_flush(e) == 0 ? 0 : s_fail(x, e);
}

/* The error of a command that did not get the memory it needs. */
static int s_oom(const s_cli *x)
{
    zn_err e;
    zn_err_set(&e, ZN_E_INTERNAL, "out of memory");
    return s_fail(x, &e);
}

/* The subcommands of a command, by the second word. */
typedef struct {
    const char *name;
    int (*run)(s_cli *x);
} s_sub;

/* Run the subcommand the second word names, or fail with `usage`. */
static int s_run_sub(s_cli *x, const s_sub *subs, size_t n, const char *usage)
{
    const char *sub = x->npos > 1 ? x->pos[1] : "";
    for (size_t i = 0; i < n; i++)
        if (strcmp(sub, subs[i].name) == 0)
            return subs[i].run(x);
    return s_usage(x, "%s", usage);
}

static void s_safe(char *dst, size_t cap, const char *s)
{
    zn_text_sanitize(dst, cap, s, strlen(s));
}

static void s_note_convenant(const s_cli *x, zn_client *c, uint64_t before)
{
    uint64_t now = zn_client_convenant_version(c);
    if (now != before) {
        char path[256];
        s_safe(path, sizeof path, x->opts.convenant_path);
        fprintf(stderr,
                "zorgnet: note: the broker runs convenant version %llu; it replaced version %llu "
                "in %s\n",
                (unsigned long long)now, (unsigned long long)before, path);
    }
}

/* Display width in code points (enough for names in Latin scripts). */
static size_t s_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            w++;
    return w;
}

static void s_pad(const char *s, size_t width)
{
    fputs(s, stdout);
    for (size_t w = s_width(s); w < width; w++)
        fputc(' ', stdout);
}

/* ------------------------------------------------------------------ partners */

static int s_cmd_partners(s_cli *x)
{
    zn_err e;
    zn_err_clear(&e);
    zn_client *c = zn_client_open(&x->opts, &e);
    if (!c)
        return s_fail(x, &e);
    size_t np = zn_client_partner_count(c), nn = zn_client_network_count(c);

    if (!x->json) {
        char name[ZN_CLIENT_TEXT_MAX], until[ZN_ISO_TIME_LEN];
        s_safe(name, sizeof name, zn_client_convenant_name(c));
        zn_iso_time(until, zn_client_convenant_valid_until(c) * 1000u);
        printf("convenant \"%s\", version %llu, valid until %s\n", name,
               (unsigned long long)zn_client_convenant_version(c), until);
        printf("networks:");
        for (size_t n = 0; n < nn; n++)
            printf(" %s", zn_client_network_name(c, n));
        printf("\n\n");
    }
    size_t wid = 2, wname = 4, wcat = 8;
    for (size_t i = 0; i < np; i++) {
        zn_partner_info p;
        char buf[ZN_CLIENT_TEXT_MAX];
        if (zn_client_partner_get(c, i, &p) != 0)
            continue;
        size_t w = s_width(p.id) + (p.self ? 6 : 0);
        wid = w > wid ? w : wid;
        s_safe(buf, sizeof buf, p.name);
        wname = s_width(buf) > wname ? s_width(buf) : wname;
        wcat = s_width(p.category) > wcat ? s_width(p.category) : wcat;
    }
    if (!x->json) {
        s_pad("ID", wid + 2);
        s_pad("NAME", wname + 2);
        s_pad("CATEGORY", wcat + 2);
        printf("ROLES\n");
    }
    for (size_t i = 0; i < np; i++) {
        zn_partner_info p;
        char name[ZN_CLIENT_TEXT_MAX], cat[ZN_CLIENT_IDENT_MAX];
        if (zn_client_partner_get(c, i, &p) != 0)
            continue;
        s_safe(name, sizeof name, p.name);
        s_safe(cat, sizeof cat, p.category);
        if (x->json) {
            fputs("{\"id\":", stdout);
            zn_json_str(stdout, p.id, strlen(p.id));
            fputs(",\"name\":", stdout);
            zn_json_str(stdout, p.name, strlen(p.name));
            fputs(",\"category\":", stdout);
            zn_json_str(stdout, p.category, strlen(p.category));
            fputs(",\"roles\":{", stdout);
            bool first = true;
            for (size_t n = 0; n < nn; n++) {
                unsigned r = zn_client_partner_roles(c, i, n);
                if (!r)
                    continue;
                const char *net = zn_client_network_name(c, n);
                printf("%s", first ? "" : ",");
                zn_json_str(stdout, net, strlen(net));
                printf(":[%s%s%s]", (r & ZN_CLIENT_ROLE_PARTNER) ? "\"partner\"" : "",
                       (r & ZN_CLIENT_ROLE_PARTNER) && (r & ZN_CLIENT_ROLE_COORDINATOR) ? "," : "",
                       (r & ZN_CLIENT_ROLE_COORDINATOR) ? "\"coordinator\"" : "");
                first = false;
            }
            printf("},\"auditor\":%s,\"self\":%s}\n", p.auditor ? "true" : "false",
                   p.self ? "true" : "false");
            continue;
        }
        char id[ZN_CLIENT_IDENT_MAX + 8];
        snprintf(id, sizeof id, "%s%s", p.id, p.self ? " (you)" : "");
        s_pad(id, wid + 2);
        s_pad(name, wname + 2);
        s_pad(cat[0] ? cat : "-", wcat + 2);
        bool any = false;
        for (size_t n = 0; n < nn; n++) {
            unsigned r = zn_client_partner_roles(c, i, n);
            if (!r)
                continue;
            printf("%s%s:%s%s%s", any ? " " : "", zn_client_network_name(c, n),
                   (r & ZN_CLIENT_ROLE_PARTNER) ? "partner" : "",
                   (r & ZN_CLIENT_ROLE_PARTNER) && (r & ZN_CLIENT_ROLE_COORDINATOR) ? "+" : "",
                   (r & ZN_CLIENT_ROLE_COORDINATOR) ? "coordinator" : "");
            any = true;
        }
        if (p.auditor)
            printf("%sauditor", any ? " " : "");
        else if (!any)
            printf("-");
        printf("\n");
    }
    zn_client_close(&c);
    if (s_flush(&e) != 0)
        return s_fail(x, &e);
    return 0;
}

/* ------------------------------------------------------------------ case new */

static int s_cmd_case_new(s_cli *x)
{
    zn_err e;
    zn_err_clear(&e);
    const char *net = x->v[O_NETWORK];
    if (x->npos != 2)
        return s_usage(x, "case new takes no arguments: 'zorgnet case new --network NET [--bsn BSN "
                          "[--related BSN ...]]'");
    if (!net || !*net)
        return s_usage(x, "case new needs --network NET");
    if (x->lists[O_RELATED].n > 0 && !x->v[O_BSN])
        return s_usage(x, "--related goes only with --bsn (the person the case is about)");
    if (!x->opts.handler)
        return s_usage(x, "case new needs --handler (or ZORGNET_HANDLER): the professional who "
                          "opens the case");
    if (!x->opts.key_path)
        return s_usage(x, "case new needs --key (or ZORGNET_KEY)");
    zn_client *c = zn_client_open(&x->opts, &e);
    if (!c)
        return s_fail(x, &e);
    uint64_t before = zn_client_convenant_version(c);
    uint8_t id[ZN_CLIENT_ID_LEN];
    zn_case_opts o;
    memset(&o, 0, sizeof o);
    o.network = net;
    o.bsn = x->v[O_BSN];
    o.related = x->lists[O_RELATED].v;
    o.n_related = x->lists[O_RELATED].n;
    int rc = zn_client_case_new_ex(c, &o, id, &e);
    s_note_convenant(x, c, before);
    zn_client_close(&c);
    if (rc != 0)
        return s_fail(x, &e);
    char hex[2 * ZN_CLIENT_ID_LEN + 1];
    sodium_bin2hex(hex, sizeof hex, id, sizeof id);
    if (x->json) {
        printf("{\"case\":\"%s\",\"network\":", hex);
        zn_json_str(stdout, net, strlen(net));
        printf(",\"identified\":%s}\n", o.bsn ? "true" : "false");
    } else {
        printf("%s\n", hex);
    }
    return s_flush(&e) == 0 ? 0 : s_fail(x, &e);
}

/* ------------------------------------------------------------------ send */

/* Read path (NULL or "-": standard input) whole, at most max bytes, into *out (malloc'd, one
 * byte more holding a NUL; the caller wipes and frees it) and *len. -1 with e set when it
 * cannot be read (the read error names `what`), or with *too_big (e not set) when it is
 * larger than max. */
static int s_slurp(const char *path, size_t max, const char *what, uint8_t **out, size_t *len, bool *too_big,
                   zn_err *e)
{
    bool use_stdin = !path || strcmp(path, "-") == 0;
    FILE *f = use_stdin ? stdin : fopen(path, "rb");
    *out = NULL;
    *len = 0;
    *too_big = false;
    if (!f)
        return zn_err_set(e, ZN_E_IO, "%.200s could not be read (%s)", path, strerror(errno));
    uint8_t *buf = malloc(max + 2);
    if (!buf) {
        if (!use_stdin)
            fclose(f);
        return zn_err_set(e, ZN_E_INTERNAL, "out of memory");
    }
    size_t n = 0;
    while (n <= max) {
        size_t got = fread(buf + n, 1, max + 1 - n, f);
        n += got;
        if (got == 0)
            break;
    }
    bool err = ferror(f) != 0;
    if (!use_stdin)
        fclose(f);
    if (err || n > max) {
        sodium_memzero(buf, n);
        free(buf);
        if (err)
            return zn_err_set(e, ZN_E_IO, "%s could not be read", what);
        *too_big = true;
        return -1;
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    return 0;
}

static int s_read_content(const char *path, uint8_t **out, size_t *len, zn_err *e)
{
    bool too_big = false;
    if (s_slurp(path, ZN_CLIENT_CONTENT_MAX, "the content", out, len, &too_big, e) == 0)
        return 0;
    if (too_big)
        return zn_err_set(e, ZN_E_TOO_LARGE,
                          "the content is larger than %u bytes; one message carries at most that",
                          ZN_CLIENT_CONTENT_MAX);
    return -1;
}

/* Free text given as --NAME TEXT or --NAME-file FILE (opt, file_opt; FILE "-": standard input),
 * at most one of the two. *text: the option's value (NULL when neither is given), or the
 * file's text without leading and trailing white space in *buf (malloc'd; release it with
 * s_text_free). The file must not be empty, nor hold a NUL byte, nor exceed S_TEXT_FILE_MAX
 * bytes; the text's own limits are checked where the text is, as for --NAME. 0, or the
 * command's exit status with the error shown. */
static int s_text_opt(const s_cli *x, int opt, int file_opt, const char **text, char **buf)
{
    const char *name = s_specs[opt].name, *path = x->v[file_opt];
    *text = x->v[opt];
    *buf = NULL;
    if (!path)
        return 0;
    if (x->v[opt])
        return s_usage(x, "give either --%s TEXT or --%s FILE, not both", name, s_specs[file_opt].name);
    zn_err e;
    zn_err_clear(&e);
    char what[48];
    snprintf(what, sizeof what, "the %s", name);
    uint8_t *p = NULL;
    size_t n = 0;
    bool too_big = false;
    if (s_slurp(path, S_TEXT_FILE_MAX, what, &p, &n, &too_big, &e) != 0) {
        if (too_big)
            zn_err_set(&e, ZN_E_USAGE, "the %s in --%s is larger than %d bytes; at most %d are sealed; nothing was "
                                       "sent", name, s_specs[file_opt].name, S_TEXT_FILE_MAX, ZN_CLIENT_SEALED_MAX);
        return s_fail(x, &e);
    }
    bool nul = memchr(p, 0, n) != NULL;
    size_t start = 0, len = nul ? 0 : zn_text_trim((const char *)p, n, &start);
    if (!nul) {
        memmove(p, p + start, len);
        sodium_memzero(p + len, n - len);
        p[len] = 0;
    }
    if (nul || len == 0) {
        sodium_memzero(p, n);
        free(p);
        if (nul)
            return s_usage(x, "the %s in --%s holds a NUL byte (only text may be in it); nothing was sent", name,
                           s_specs[file_opt].name);
        return s_usage(x, "the %s in --%s is empty; nothing was sent", name, s_specs[file_opt].name);
    }
    *buf = (char *)p;
    *text = *buf;
    return 0;
}

/* Wipe and free what s_text_opt read; safe on NULL. */
static void s_text_free(char *buf)
{
    if (!buf)
        return;
    sodium_memzero(buf, strlen(buf));
    free(buf);
}

/* What send or handover offer sends, from path (NULL or "-": standard input), which must not be
 * empty ("the WHAT is empty"). 0 with *out (the caller wipes and frees it), or the command's
 * exit status with the error shown. */
static int s_read_message(const s_cli *x, const char *path, const char *what, uint8_t **out, size_t *len)
{
    zn_err e;
    zn_err_clear(&e);
    if (s_read_content(path, out, len, &e) != 0)
        return s_fail(x, &e);
    if (*len == 0) {
        free(*out);
        *out = NULL;
        return s_usage(x, "the %s is empty; nothing was sent", what);
    }
    return 0;
}

/* The refusal of text with identifiers on an anonymous case: each finding (kind and the text
 * found; it stays on this computer) on standard error, then the error; with --json one line
 * {"error", "code", "text", "findings": [{"kind", "text"}, ...]}. */
static int s_fail_findings(const s_cli *x, const zn_err *e, const uint8_t *content, size_t len)
{
    char text[ZN_ERR_TEXT_MAX];
    const char *code = zn_code_name(e->code);
    char *list = malloc(S_FINDINGS_MAX);
    if (list)
        zn_client_identifiers(content, len, list, S_FINDINGS_MAX);
    fflush(stdout);
    fprintf(stderr, "zorgnet: found on this anonymous case (nothing was sent):\n");
    for (char *p = list, *nl; p && *p; p = nl + 1) {
        nl = strchr(p, '\n');
        if (!nl)
            break;
        fprintf(stderr, "  %.*s\n", (int)(nl - p), p);
    }
    zn_text_sanitize(text, sizeof text, e->text, strlen(e->text));
    fprintf(stderr, "zorgnet: %s: %s\n", code, text);
    if (x->json) {
        printf("{\"error\":\"%s\",\"code\":\"%s\",\"text\":", code, code);
        zn_json_str(stdout, text, strlen(text));
        printf(",\"findings\":[");
        bool first = true;
        for (char *p = list, *nl; p && *p; p = nl + 1) {
            nl = strchr(p, '\n');
            char *sep = nl ? strstr(p, ": ") : NULL;
            if (!nl || !sep || sep > nl)
                break;
            printf("%s{\"kind\":", first ? "" : ",");
            zn_json_str(stdout, p, (size_t)(sep - p));
            printf(",\"text\":");
            zn_json_str(stdout, sep + 2, (size_t)(nl - sep - 2));
            printf("}");
            first = false;
        }
        printf("]}\n");
        fflush(stdout);
    }
    if (list) {
        sodium_memzero(list, S_FINDINGS_MAX);
        free(list);
    }
    return s_exit_status(e->code);
}

static int s_cmd_send(s_cli *x)
{
    zn_err e;
    zn_err_clear(&e);
    uint8_t case_id[ZN_CLIENT_ID_LEN], msgid[ZN_CLIENT_ID_LEN] = {0};
    const char *to = x->v[O_TO];
    if (!to || !*to)
        return s_usage(x, "send needs --to PARTNER");
    if (!x->v[O_CASE])
        return s_usage(x, "send needs --case CASE (the id 'zorgnet case new' printed)");
    if (zn_parse_id(x->v[O_CASE], case_id) != 0)
        return s_usage(x, "--case takes a case id of 32 hex characters");
    if (x->v[O_ID]) {
        bool zero = true;
        if (zn_parse_id(x->v[O_ID], msgid) != 0)
            return s_usage(x, "--id takes a message id of 32 hex characters");
        for (size_t i = 0; i < sizeof msgid; i++)
            zero = zero && msgid[i] == 0;
        if (zero)
            return s_usage(x, "--id must not be all zeros");
    }
    if (x->npos > 2)
        return s_usage(x, "send takes one FILE (or - for standard input)");
    if (!x->opts.handler)
        return s_usage(x, "send needs --handler (or ZORGNET_HANDLER): the professional who "
                          "sends");
    if (!x->opts.key_path)
        return s_usage(x, "send needs --key (or ZORGNET_KEY)");

    uint8_t *content = NULL;
    size_t len = 0;
    int bad = s_read_message(x, x->npos == 2 ? x->pos[1] : NULL, "message", &content, &len);
    if (bad)
        return bad;
    zn_client *c = zn_client_open(&x->opts, &e);
    int rc = -1;
    uint64_t audit_index = 0;
    if (c) {
        uint64_t before = zn_client_convenant_version(c);
        rc = zn_client_send_flags(c, to, case_id, content, len, x->v[O_I_CHECKED] ? ZN_CLIENT_SEND_I_CHECKED : 0,
                                  msgid, &audit_index, &e);
        s_note_convenant(x, c, before);
    }
    zn_client_close(&c);
    if (rc != 0 && e.code == ZN_E_IDENTIFIERS) {
        rc = s_fail_findings(x, &e, content, len);
        sodium_memzero(content, len);
        free(content);
        return rc;
    }
    sodium_memzero(content, len);
    free(content);
    char hex[2 * ZN_CLIENT_ID_LEN + 1], case_hex[2 * ZN_CLIENT_ID_LEN + 1];
    sodium_bin2hex(hex, sizeof hex, msgid, sizeof msgid);
    if (rc != 0) {
        rc = s_fail(x, &e);
        /* not when the failure came before the message went out (reading the case's mode) */
        if (zn_code_class(e.code) == ZN_CLASS_UNREACHABLE && !sodium_is_zero(msgid, sizeof msgid) &&
            !strstr(e.text, "nothing was sent"))
            fprintf(stderr, "zorgnet: the broker may have stored the message; send it again with "
                            "--id %s (it is then stored and shown once)\n", hex);
        return rc;
    }
    sodium_bin2hex(case_hex, sizeof case_hex, case_id, sizeof case_id);
    if (x->json) {
        printf("{\"msgid\":\"%s\",\"to\":", hex);
        zn_json_str(stdout, to, strlen(to));
        printf(",\"case\":\"%s\",\"audit_index\":%llu}\n", case_hex, (unsigned long long)audit_index);
    } else {
        printf("%s\n", hex);
        if (s_flush(&e) != 0)
            return s_fail(x, &e);
        fprintf(stderr, "zorgnet: audit entry %llu records this message; 'zorgnet receipt verify %s' "
                        "proves it\n", (unsigned long long)audit_index, hex);
    }
    return s_flush(&e) == 0 ? 0 : s_fail(x, &e);
}

/* ------------------------------------------------------------------ inbox */

static void s_json_key(const char *key, bool first)
{
    printf("%s\"%s\":", first ? "" : ",", key);
}

static void s_json_text(const char *key, const char *s)
{
    s_json_key(key, false);
    zn_json_str(stdout, s, strlen(s));
}

static void s_json_hex(const char *key, const uint8_t *p, size_t n)
{
    char hex[2 * ZN_CLIENT_ID_LEN + 1];
    sodium_bin2hex(hex, sizeof hex, p, n);
    s_json_key(key, false);
    printf("\"%s\"", hex);
}

static int s_print_json(const zn_item *it, zn_err *e)
{
    char iso[ZN_ISO_TIME_LEN];
    zn_iso_time(iso, it->time_ms);
    printf("{\"kind\":\"%s\"", it->kind == ZN_ITEM_KIND_NOTICE ? "notice" : "envelope");
    s_json_hex("item", it->item_id, ZN_CLIENT_ID_LEN);
    printf(",\"valid\":%s", it->valid ? "true" : "false");
    if (!it->valid) {
        s_json_text("code", zn_code_name(it->reason_code));
        s_json_text("reason", it->reason);
    }
    if (it->kind == ZN_ITEM_KIND_NOTICE) {
        s_json_text("type", it->notice_type);
        s_json_text("time", iso);
        printf(",\"time_ms\":%llu,\"fields\":{", (unsigned long long)it->time_ms);
        for (size_t i = 0; i < it->n_fields; i++) {
            const zn_item_field *f = &it->fields[i];
            if (i)
                fputc(',', stdout);
            zn_json_str(stdout, f->key, strlen(f->key));
            fputc(':', stdout);
            if (f->type == ZN_FIELD_NUMBER || f->type == ZN_FIELD_BOOL)
                fputs(f->value, stdout);
            else
                zn_json_str(stdout, f->value, strlen(f->value));
        }
        printf("}}\n");
        return s_flush(e);
    }
    if (it->sender[0]) { /* as claimed when invalid */
        s_json_hex("msgid", it->msgid, ZN_CLIENT_ID_LEN);
        s_json_hex("case", it->case_id, ZN_CLIENT_ID_LEN);
        s_json_text("sender", it->sender);
        s_json_text("sender_name", it->sender_name);
        s_json_text("handler", it->handler);
        s_json_text("time", iso);
        printf(",\"time_ms\":%llu,\"convenant_version\":%llu", (unsigned long long)it->time_ms,
               (unsigned long long)it->convenant_version);
    }
    if (it->valid) {
        if (zn_utf8_valid(it->content, it->content_len, false)) {
            s_json_key("content", false);
            zn_json_str(stdout, (const char *)it->content, it->content_len);
        } else {
            size_t cap = sodium_base64_ENCODED_LEN(it->content_len, sodium_base64_VARIANT_ORIGINAL);
            char *b64 = malloc(cap);
            if (!b64)
                return zn_err_set(e, ZN_E_INTERNAL, "out of memory");
            sodium_bin2base64(b64, cap, it->content, it->content_len, sodium_base64_VARIANT_ORIGINAL);
            printf(",\"content\":\"%s\",\"content_encoding\":\"base64\"", b64);
            sodium_memzero(b64, cap);
            free(b64);
        }
    }
    printf("}\n");
    return s_flush(e);
}

static const char *s_field(const zn_item *it, const char *key, char *buf, size_t cap);

/* Notice fields that hold a time (unix ms), shown as UTC time for the notices of cases. */
static bool s_time_key(const char *key)
{
    return strcmp(key, "expires") == 0 || strcmp(key, "review_by") == 0 || strcmp(key, "timeout") == 0;
}

/* The notices of cases, consent, safety overrides and handovers: one plain "about" line saying
 * what happened and what to do (printed when the type is one of them; true then). */
static bool s_case_notice_about(const zn_item *it)
{
    char a[ZN_CLIENT_FIELD_MAX], b[ZN_CLIENT_FIELD_MAX], k[ZN_CLIENT_FIELD_MAX], d[ZN_CLIENT_FIELD_MAX],
        t[ZN_ISO_TIME_LEN];
    const char *type = it->notice_type;
    uint64_t ms = 0, step = 0;
    s_field(it, "case", k, sizeof k);
    if (strcmp(type, "case-linked") == 0) {
        printf("about     %s linked case %s to a person; you are in the consent's scope\n",
               s_field(it, "by", a, sizeof a), k);
    } else if (strcmp(type, "override") == 0) {
        s_field(it, "review_by", d, sizeof d);
        zn_iso_time(t, zn_parse_u64(d, UINT64_MAX, &ms) == 0 ? ms : 0);
        if (zn_parse_u64(s_field(it, "step", d, sizeof d), UINT64_MAX, &step) != 0)
            step = 0;
        printf("about     a safety override by %s for %s on case %s (meldcode step %llu: %s);\n"
               "          review it before %s: 'zorgnet override review %s --approve|--reject'\n",
               s_field(it, "from", a, sizeof a), s_field(it, "to", b, sizeof b), k, (unsigned long long)step,
               zn_meldcode_step_name(step), t, s_field(it, "override", d, sizeof d));
    } else if (strcmp(type, "override-reviewed") == 0) {
        printf("about     your safety override for %s on case %s was %s by %s\n", s_field(it, "to", a, sizeof a),
               k, s_field(it, "state", b, sizeof b), s_field(it, "by", d, sizeof d));
    } else if (strcmp(type, "override-expired") == 0) {
        printf("about     your safety override for %s on case %s expired; without consent, share only on "
               "an anonymous case\n", s_field(it, "to", a, sizeof a), k);
    } else if (strcmp(type, "override-escalated") == 0) {
        printf("about     the safety override by %s for %s on case %s was not reviewed in time\n",
               s_field(it, "from", a, sizeof a), s_field(it, "to", b, sizeof b), k);
    } else if (strcmp(type, "handover-offer") == 0) {
        s_field(it, "timeout", d, sizeof d);
        zn_iso_time(t, zn_parse_u64(d, UINT64_MAX, &ms) == 0 ? ms : 0);
        printf("about     %s offers you case %s (the dossier is message %s in your inbox);\n"
               "          answer before %s: 'zorgnet handover accept %s' or 'zorgnet handover decline %s "
               "--reason TEXT'\n",
               s_field(it, "from", a, sizeof a), k, s_field(it, "msgid", b, sizeof b), t,
               s_field(it, "handover", d, sizeof d), d);
    } else if (strcmp(type, "handover-accepted") == 0) {
        printf("about     %s accepted the handover of case %s and is its regisseur now\n",
               s_field(it, "to", a, sizeof a), k);
    } else if (strcmp(type, "handover-declined") == 0) {
        printf("about     %s declined the handover of case %s; you stay its regisseur ('zorgnet handover "
               "list' shows the reason)\n", s_field(it, "to", a, sizeof a), k);
    } else if (strcmp(type, "handover-withdrawn") == 0 && s_field(it, "by", a, sizeof a)[0]) {
        printf("about     the offer of case %s to you was withdrawn by %s; there is nothing to answer, and the\n"
               "          case stays with the partner that offered it\n",
               k, a);
    } else if (strcmp(type, "handover-withdrawn") == 0) { /* it lapsed: the recipient left the convenant */
        printf("about     your offer of case %s to %s lapsed (%s):\n"
               "          %s is no longer in the convenant; you stay the case's regisseur\n",
               k, s_field(it, "to", a, sizeof a), s_field(it, "reason", b, sizeof b), a);
    } else if (strcmp(type, "handover-escalated") == 0) {
        printf("about     the handover of case %s from %s to %s was not answered in time\n", k,
               s_field(it, "from", a, sizeof a), s_field(it, "to", b, sizeof b));
    } else {
        return false;
    }
    return true;
}

static int s_print_text(const zn_item *it, zn_err *e)
{
    char iso[ZN_ISO_TIME_LEN], hex[2 * ZN_CLIENT_ID_LEN + 1], buf[ZN_ERR_TEXT_MAX];
    zn_iso_time(iso, it->time_ms);
    if (it->kind == ZN_ITEM_KIND_NOTICE) {
        if (!it->valid) {
            s_safe(buf, sizeof buf, it->reason);
            printf("INVALID: %s\n", buf);
            sodium_bin2hex(hex, sizeof hex, it->item_id, ZN_CLIENT_ID_LEN);
            printf("item      %s (notice)\n\n", hex);
            return s_flush(e);
        }
        printf("notice    %s\n", it->notice_type);
        printf("time      %s\n", iso);
        bool about = s_case_notice_about(it);
        for (size_t i = 0; i < it->n_fields; i++) {
            s_safe(buf, sizeof buf, it->fields[i].value);
            uint64_t ms = 0;
            if (about && s_time_key(it->fields[i].key) && zn_parse_u64(buf, UINT64_MAX, &ms) == 0)
                zn_iso_time(buf, ms);
            printf("%-9s %s\n", it->fields[i].key, buf);
        }
        printf("\n");
        return s_flush(e);
    }
    if (!it->valid) {
        s_safe(buf, sizeof buf, it->reason);
        printf("INVALID: %s\n", buf);
        sodium_bin2hex(hex, sizeof hex, it->item_id, ZN_CLIENT_ID_LEN);
        printf("item      %s (envelope)\n", hex);
        if (it->sender[0]) {
            s_safe(buf, sizeof buf, it->sender);
            printf("claimed   from %s", buf);
            sodium_bin2hex(hex, sizeof hex, it->case_id, ZN_CLIENT_ID_LEN);
            printf(", case %s, time %s\n", hex, iso);
        }
        printf("\n");
        return s_flush(e);
    }
    char name[ZN_CLIENT_TEXT_MAX];
    sodium_bin2hex(hex, sizeof hex, it->msgid, ZN_CLIENT_ID_LEN);
    printf("message   %s\n", hex);
    s_safe(name, sizeof name, it->sender_name);
    printf("from      %s (%s)\n", it->sender, name);
    s_safe(name, sizeof name, it->handler);
    printf("handler   %s\n", name);
    sodium_bin2hex(hex, sizeof hex, it->case_id, ZN_CLIENT_ID_LEN);
    printf("case      %s\n", hex);
    printf("time      %s\n\n", iso);
    zn_text_content(stdout, it->content, it->content_len);
    if (it->content_len == 0 || it->content[it->content_len - 1] != '\n')
        fputc('\n', stdout);
    printf("\n");
    return s_flush(e);
}

/* Which items a command shows (the rest is released and stays queued for another run), and
 * how it prints one. */
typedef bool (*s_want_fn)(const void *ctx, const zn_item *it);
typedef int (*s_show_fn)(const s_cli *x, zn_client *c, const zn_item *it, zn_err *e);

/* Show the items `want` picks and acknowledge each once printed. wait_ms: when nothing is
 * there, how long to wait for the first item. *shown counts them; *invalid tells whether one
 * failed its checks. -1 on error (e set). */
static int s_show_items(const s_cli *x, zn_client *c, int wait_ms, s_want_fn want, const void *ctx,
                        s_show_fn show, size_t *shown, bool *invalid, zn_err *e)
{
    int rc = 0;
    int64_t deadline = zn_client_mono_ms() + wait_ms;
    *shown = 0;
    *invalid = false;
    for (;;) {
        zn_item it;
        int wait = 0;
        if (*shown == 0) {
            int64_t left = deadline - zn_client_mono_ms();
            wait = left > 0 ? (int)left : 0;
        }
        rc = zn_client_next(c, wait, &it, e);
        if (rc <= 0)
            break;
        if (!want(ctx, &it)) {
            rc = zn_client_release(c, &it, e); /* not shown: stays queued for another run */
            zn_item_clear(&it);
            if (rc != 0)
                break;
            continue;
        }
        rc = show(x, c, &it, e);
        if (rc == 0)
            rc = zn_client_ack(c, &it, e);
        if (rc == 0) {
            (*shown)++;
            if (!it.valid)
                *invalid = true;
        }
        zn_item_clear(&it);
        if (rc != 0)
            break;
    }
    return rc < 0 ? -1 : 0;
}

static bool s_want_type(const void *ctx, const zn_item *it)
{
    return zn_type_filter_match(ctx, it);
}

static int s_show_inbox(const s_cli *x, zn_client *c, const zn_item *it, zn_err *e)
{
    (void)c;
    return x->json ? s_print_json(it, e) : s_print_text(it, e);
}

/* inbox and matches: open the client, one pass over the items, close. 0, or -1 with e set. */
static int s_items_run(const s_cli *x, int wait_ms, s_want_fn want, const void *ctx, s_show_fn show, size_t *shown,
                       bool *invalid, zn_err *e)
{
    zn_client *c = zn_client_open(&x->opts, e);
    if (!c)
        return -1;
    uint64_t before = zn_client_convenant_version(c);
    *shown = 0;
    *invalid = false;
    int rc = s_show_items(x, c, wait_ms, want, ctx, show, shown, invalid, e);
    s_note_convenant(x, c, before);
    zn_client_close(&c);
    return rc;
}

static int s_cmd_inbox(s_cli *x)
{
    zn_err e;
    zn_err_clear(&e);
    zn_type_filter filter;
    int wait_ms = 0;
    memset(&filter, 0, sizeof filter);
    if (x->npos != 1)
        return s_usage(x, "inbox takes no arguments");
    if (x->v[O_WAIT] && zn_parse_seconds(x->v[O_WAIT], 0, S_WAIT_MAX_MS, &wait_ms) != 0)
        return s_usage(x, "--wait takes seconds from 0 to 86400, such as 30 or 0.5");
    if (x->v[O_TYPE] && zn_type_filter_parse(&filter, x->v[O_TYPE], &e) != 0)
        return s_fail(x, &e);
    if (!x->opts.key_path)
        return s_usage(x, "inbox needs --key (or ZORGNET_KEY)");
    size_t shown;
    bool invalid;
    if (s_items_run(x, wait_ms, s_want_type, &filter, s_show_inbox, &shown, &invalid, &e) != 0)
        return s_fail(x, &e);
    return invalid ? ZN_CLASS_VERIFY : 0;
}

/* ------------------------------------------------------------------ receipts and the audit log */

static void s_json_null_or(const char *key, const char *v)
{
    printf(",\"%s\":", key);
    if (v && *v)
        zn_json_str(stdout, v, strlen(v));
    else
        fputs("null", stdout);
}

static void s_json_hexn(const char *key, const uint8_t *p, size_t n)
{
    printf(",\"%s\":\"", key);
    for (size_t i = 0; i < n; i++)
        printf("%02x", p[i]);
    fputc('"', stdout);
}

static void s_print_hex(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf("%02x", p[i]);
}

/* [,]{"index":N,"time":"ISO" of one audit entry in a JSON list (the object is left open). */
static void s_json_entry_head(bool first, uint64_t index, uint64_t time_ms)
{
    char iso[ZN_ISO_TIME_LEN];
    zn_iso_time(iso, time_ms);
    printf("%s{\"index\":%llu,\"time\":\"%s\"", first ? "" : ",", (unsigned long long)index, iso);
}

/* ,"key":"HEX" of an id, or ,"key":null when it is absent. */
static void s_json_id_or_null(const char *key, bool has, const uint8_t *id)
{
    if (has)
        s_json_hexn(key, id, ZN_CLIENT_ID_LEN);
    else
        printf(",\"%s\":null", key);
}

/* ,"key":N, or ,"key":null when it is absent. */
static void s_json_u64_or_null(const char *key, bool has, uint64_t v)
{
    if (has)
        printf(",\"%s\":%llu", key, (unsigned long long)v);
    else
        printf(",\"%s\":null", key);
}

/* TIME options: a clear usage error names the option and the forms. */
static int s_time_opt(const s_cli *x, int opt, uint64_t *ms)
{
    *ms = 0;
    if (!x->v[opt])
        return 0;
    if (zn_parse_time(x->v[opt], ms) != 0 || *ms == 0) {
        char safe[64];
        s_safe(safe, sizeof safe, x->v[opt]);
        return s_usage(x, "--%s takes a time as YYYY-MM-DD (00:00 UTC) or YYYY-MM-DDTHH:MM:SSZ, not '%s'",
                       s_specs[opt].name, safe);
    }
    return 0;
}

static int s_time_range(const s_cli *x, uint64_t *since, uint64_t *until)
{
    int rc = s_time_opt(x, O_SINCE, since);
    if (rc == 0)
        rc = s_time_opt(x, O_UNTIL, until);
    if (rc == 0 && *since && *until && *until <= *since)
        return s_usage(x, "--until must lie after --since");
    return rc;
}

static int s_need_reader(const s_cli *x, const char *what)
{
    if (!x->opts.key_path)
        return s_usage(x, "%s needs --key (or ZORGNET_KEY)", what);
    if (!x->opts.handler && x->handler_filter)
        return s_usage(x, "%s needs --as NAME (or ZORGNET_HANDLER): the auditor who asks (here "
                          "--handler is a filter); the broker records it", what);
    if (!x->opts.handler)
        return s_usage(x, "%s needs --handler (or ZORGNET_HANDLER): the professional who asks; the "
                          "broker records it", what);
    return 0;
}

static void s_print_receipt_text(const zn_receipt_info *r)
{
    char iso[ZN_ISO_TIME_LEN], buf[ZN_CLIENT_TEXT_MAX];
    if (r->redacted) {
        printf("receipt verified: audit entry %llu is in the broker's log; it is redacted\n",
               (unsigned long long)r->index);
        printf("  (its retention ended: the entry and its salt were deleted, only its place in the "
               "log is proven)\n");
    } else {
        printf("receipt verified: audit entry %llu is in the broker's log\n", (unsigned long long)r->index);
        zn_iso_time(iso, r->time_ms);
        printf("  entry        %llu, recorded %s\n", (unsigned long long)r->index, iso);
        printf("  action       %s\n", r->action);
        printf("  decision     %s\n", r->allowed ? "allowed" : "refused");
        printf("  actor        %s\n", r->actor[0] ? r->actor : "(the broker)");
        s_safe(buf, sizeof buf, r->handler);
        printf("  handler      %s\n", buf[0] ? buf : "-");
        printf("  counterpart  %s\n", r->counterpart[0] ? r->counterpart : "-");
        printf("  case         ");
        if (r->has_case)
            s_print_hex(r->case_id, ZN_CLIENT_ID_LEN);
        else
            fputs("-", stdout);
        printf("\n  reason       %s\n", r->reason[0] ? r->reason : "-");
        printf("  basis        %s\n", r->basis[0] ? r->basis : "-");
        printf("  evidence     %s", r->evidence[0] ? r->evidence : "none");
        if (r->has_msgid) {
            printf(" of message ");
            s_print_hex(r->msgid, ZN_CLIENT_ID_LEN);
        }
        if (r->evidence_signed_by_self)
            printf(", signed with this client's key");
        printf("\n");
    }
    zn_iso_time(iso, r->head_time_ms);
    printf("  tree head    %llu entries, signed %s, root ", (unsigned long long)r->tree_size, iso);
    s_print_hex(r->root, ZN_CLIENT_HASH_LEN);
    printf("\n  proven       the broker's signature on the tree head; ");
    if (r->known_size)
        printf("that the tree extends the %llu %s this client saw signed before; ",
               (unsigned long long)r->known_size, r->known_size == 1 ? "entry" : "entries");
    else
        printf("(no earlier head kept: this head is now the one later ones must extend); ");
    printf("the entry's leaf is in the tree (inclusion proof)");
    if (!r->redacted)
        printf("; the entry's bytes and salt match its commitment and it decodes as entry %llu",
               (unsigned long long)r->index);
    printf("\n");
}

static void s_print_receipt_json(const zn_receipt_info *r)
{
    char iso[ZN_ISO_TIME_LEN];
    printf("{\"verified\":true,\"index\":%llu,\"redacted\":%s", (unsigned long long)r->index,
           r->redacted ? "true" : "false");
    if (!r->redacted) {
        zn_iso_time(iso, r->time_ms);
        printf(",\"time\":\"%s\",\"time_ms\":%llu", iso, (unsigned long long)r->time_ms);
        s_json_null_or("actor", r->actor);
        s_json_null_or("handler", r->handler);
        s_json_null_or("action", r->action);
        s_json_id_or_null("case", r->has_case, r->case_id);
        s_json_null_or("counterpart", r->counterpart);
        printf(",\"decision\":\"%s\"", r->allowed ? "allowed" : "refused");
        s_json_null_or("reason", r->reason);
        s_json_null_or("basis", r->basis);
        s_json_null_or("evidence", r->evidence);
        if (r->has_msgid)
            s_json_hexn("msgid", r->msgid, ZN_CLIENT_ID_LEN);
        printf(",\"evidence_signed_by_self\":%s", r->evidence_signed_by_self ? "true" : "false");
    }
    zn_iso_time(iso, r->head_time_ms);
    printf(",\"tree_size\":%llu,\"head_time\":\"%s\",\"head_time_ms\":%llu",
           (unsigned long long)r->tree_size, iso, (unsigned long long)r->head_time_ms);
    s_json_hexn("root", r->root, ZN_CLIENT_HASH_LEN);
    printf(",\"known_size\":%llu}\n", (unsigned long long)r->known_size);
}

static int s_cmd_receipt(s_cli *x)
{
    zn_err e;
    zn_err_clear(&e);
    if (x->npos != 3 || strcmp(x->pos[1], "verify") != 0)
        return s_usage(x, "the receipt command is 'zorgnet receipt verify ID' (an audit index, or "
                          "the id of a message this client sent)");
    const char *id = x->pos[2];
    uint8_t msgid[ZN_CLIENT_ID_LEN];
    uint64_t index = 0;
    bool by_msgid = strlen(id) == 2 * ZN_CLIENT_ID_LEN && zn_parse_id(id, msgid) == 0;
    if (!by_msgid && zn_parse_u64(id, UINT64_C(0x7fffffffffffffff) - 1, &index) != 0) {
        char safe[48];
        s_safe(safe, sizeof safe, id);
        return s_usage(x, "'%s' is neither an audit index (a number) nor a message id (32 hex "
                          "characters)", safe);
    }
    if (s_need_reader(x, "receipt verify") != 0)
        return ZN_CLASS_USAGE;
    zn_client *c = zn_client_open(&x->opts, &e);
    if (!c)
        return s_fail(x, &e);
    uint64_t before = zn_client_convenant_version(c);
    zn_receipt_info r;
    int rc = by_msgid ? zn_client_receipt_msgid(c, msgid, &r, &e) : zn_client_receipt(c, index, &r, &e);
    s_note_convenant(x, c, before);
    zn_client_close(&c);
    if (rc != 0) {
        if (zn_code_class(e.code) == ZN_CLASS_VERIFY)
            zn_err_prefix(&e, "receipt NOT verified");
        return s_fail(x, &e);
    }
    if (x->json)
        s_print_receipt_json(&r);
    else
        s_print_receipt_text(&r);
    return s_flush(&e) == 0 ? 0 : s_fail(x, &e);
}

/* ---- audit export and verify */

static int s_cmd_audit_export(s_cli *x)
{
    zn_err e;
    zn_err_clear(&e);
    uint64_t since = 0, until = 0;
    zn_auditlog_format fmt = ZN_AUDITLOG_JSONL;
    const char *out = x->v[O_OUT];
    if (!out || !*out)
        return s_usage(x, "audit export needs --out FILE");
    if (x->v[O_FORMAT]) {
        if (strcmp(x->v[O_FORMAT], "jsonl") == 0)
            fmt = ZN_AUDITLOG_JSONL;
        else if (strcmp(x->v[O_FORMAT], "csv") == 0)
            fmt = ZN_AUDITLOG_CSV;
        else
            return s_usage(x, "--format takes jsonl or csv");
    }
    if (s_time_range(x, &since, &until) != 0 || s_need_reader(x, "audit export") != 0)
        return ZN_CLASS_USAGE;
    zn_client *c = zn_client_open(&x->opts, &e);
    if (!c)
        return s_fail(x, &e);
    uint64_t before = zn_client_convenant_version(c);
    zn_client_export_report r;
    int rc = zn_client_audit_export(c, out, fmt, since, until, x->v[O_FORCE] != NULL, &r, &e);
    s_note_convenant(x, c, before);
    zn_client_close(&c);
    if (rc != 0)
        return s_fail(x, &e);
    char path[256];
    s_safe(path, sizeof path, out);
    if (x->json) {
        printf("{\"exported\":");
        zn_json_str(stdout, out, strlen(out));
        printf(",\"format\":\"%s\",\"size\":%llu,\"entries\":%llu,\"redacted\":%llu,\"leaves\":%llu,"
               "\"heads\":%llu,\"convenants\":%llu,\"millis\":%llu}\n",
               fmt == ZN_AUDITLOG_CSV ? "csv" : "jsonl", (unsigned long long)r.size,
               (unsigned long long)r.entries, (unsigned long long)r.redacted, (unsigned long long)r.leaves,
               (unsigned long long)r.heads, (unsigned long long)r.convenants, (unsigned long long)r.millis);
    } else {
        printf("exported the log of %llu entries to %s (%s): %llu entries, %llu redacted, %llu outside "
               "the time range as commitments only; %llu signed tree heads; %llu convenants; %llu.%03llu s\n",
               (unsigned long long)r.size, path, fmt == ZN_AUDITLOG_CSV ? "csv" : "jsonl",
               (unsigned long long)r.entries, (unsigned long long)r.redacted, (unsigned long long)r.leaves,
               (unsigned long long)r.heads, (unsigned long long)r.convenants,
               (unsigned long long)(r.millis / 1000), (unsigned long long)(r.millis % 1000));
    }
    return s_flush(&e) == 0 ? 0 : s_fail(x, &e);
}

static int s_cmd_audit_verify(s_cli *x)
{
    zn_err e;
    zn_err_clear(&e);
    const char *from = x->v[O_FROM];
    if (from && !*from)
        return s_usage(x, "--from needs a file");
    if (!from && s_need_reader(x, "audit verify (without --from)") != 0)
        return ZN_CLASS_USAGE;
    zn_client *c = zn_client_open(&x->opts, &e);
    if (!c)
        return s_fail(x, &e);
    uint64_t before = zn_client_convenant_version(c);
    zn_auditlog_report r;
    zn_client_export_report xr;
    bool with_known = false;
    memset(&r, 0, sizeof r);
    memset(&xr, 0, sizeof xr);
    int64_t t0 = zn_client_mono_ms();
    uint64_t later = 0;
    int rc = from ? zn_client_audit_verify_file(c, from, &r, &with_known, &later, &e)
                  : zn_client_audit_verify_live(c, &xr, &r, &with_known, &e);
    uint64_t took = (uint64_t)(zn_client_mono_ms() - t0);
    uint64_t known = 0, known_time = 0;
    uint8_t known_root[ZN_CLIENT_HASH_LEN];
    bool have = false;
    if (rc == 0 && with_known) {
        zn_err ke;
        if (zn_client_known_head(c, &have, &known, known_root, &known_time, &ke) != 0)
            have = false;
    }
    s_note_convenant(x, c, before);
    zn_client_close(&c);
    if (rc != 0) {
        if (zn_code_class(e.code) == ZN_CLASS_VERIFY)
            zn_err_prefix(&e, from ? "the export file does NOT verify" : "the broker's log does NOT verify");
        return s_fail(x, &e);
    }
    uint64_t verify_ms = took > xr.millis ? took - xr.millis : 0;
    char src[256];
    s_safe(src, sizeof src, from ? from : "the broker's log (exported to a private temporary file)");
    if (x->json) {
        printf("{\"verified\":true,\"source\":");
        if (from)
            zn_json_str(stdout, from, strlen(from));
        else
            printf("\"broker\"");
        printf(",\"lines\":%llu,\"convenants\":%llu,\"entries\":%llu,\"redacted\":%llu,\"leaves\":%llu,"
               "\"heads\":%llu,\"signatures\":%llu,\"size\":%llu",
               (unsigned long long)r.lines, (unsigned long long)r.convenants, (unsigned long long)r.entries,
               (unsigned long long)r.redacted, (unsigned long long)r.leaves, (unsigned long long)r.heads,
               (unsigned long long)r.signatures, (unsigned long long)r.size);
        s_json_hexn("root", r.root, ZN_CLIENT_HASH_LEN);
        printf(",\"known_size\":");
        if (have)
            printf("%llu", (unsigned long long)known);
        else
            printf("null");
        if (later)
            printf(",\"later_known_size\":%llu", (unsigned long long)later);
        printf(",\"export_millis\":%llu,\"verify_millis\":%llu}\n", (unsigned long long)xr.millis,
               (unsigned long long)verify_ms);
        return s_flush(&e) == 0 ? 0 : s_fail(x, &e);
    }
    printf("verified: %s\n", src);
    printf("  log          %llu entries, root ", (unsigned long long)r.size);
    s_print_hex(r.root, ZN_CLIENT_HASH_LEN);
    printf("\n  entries      %llu with content, %llu redacted, %llu given only as commitments\n",
           (unsigned long long)r.entries, (unsigned long long)r.redacted, (unsigned long long)r.leaves);
    printf("  tree heads   %llu signed heads match the rebuilt tree\n", (unsigned long long)r.heads);
    printf("  convenants   %llu, each signed by the authority of this client's convenant\n",
           (unsigned long long)r.convenants);
    printf("  evidence     %llu partner signatures verified\n", (unsigned long long)r.signatures);
    if (have)
        printf("  known head   the log extends the %llu %s this client accepted before\n",
               (unsigned long long)known, known == 1 ? "entry" : "entries");
    else if (later)
        printf("  known head   this export ends before the head of %llu entries this client accepted "
               "since; it was verified on its own\n", (unsigned long long)later);
    else
        printf("  known head   none kept by this client (nothing to compare with)\n");
    if (!from)
        printf("  time         %llu.%03llu s to export, %llu.%03llu s to verify\n",
               (unsigned long long)(xr.millis / 1000), (unsigned long long)(xr.millis % 1000),
               (unsigned long long)(verify_ms / 1000), (unsigned long long)(verify_ms % 1000));
    else
        printf("  time         %llu.%03llu s (%llu lines)\n", (unsigned long long)(took / 1000),
               (unsigned long long)(took % 1000), (unsigned long long)r.lines);
    return s_flush(&e) == 0 ? 0 : s_fail(x, &e);
}

/* ---- audit query and report: entries read one by one */

typedef struct {
    zn_doc rdoc, edoc;
    zn_auditlog_rec rec;
    zn_audit_entry en;
    zn_audit_detail details[ZN_AUDIT_DETAILS_MAX];
    bool redacted;
} s_entry;

static void s_entry_close(s_entry *t);

/* Parse an "entry" record and its entry; the entry must hash to its commitment. */
/* Open the next entry record of a read; *next is the smallest index it may have (entries come
 * in index order, each once) and becomes its index + 1. */
static int s_entry_open(s_entry *t, const uint8_t *p, size_t n, uint64_t *next, zn_err *e)
{
    zn_err pe;
    zn_err_clear(&pe);
    memset(t, 0, sizeof *t);
    if (zn_auditlog_parse(p, n, &t->rdoc, &t->rec, &pe) != 0)
        return zn_err_set(e, ZN_E_VERIFY, "the broker sent an unreadable record: %.180s", pe.text);
    if (t->rec.type != ZN_AUDITLOG_ENTRY) {
        zn_doc_free(&t->rdoc);
        return zn_err_set(e, ZN_E_VERIFY, "the broker sent a record that is not an entry");
    }
    if (t->rec.index < *next) {
        uint64_t idx = t->rec.index;
        zn_doc_free(&t->rdoc);
        return zn_err_set(e, ZN_E_VERIFY, "the broker sent entry %llu again or out of order (after entry %llu)",
                          (unsigned long long)idx, (unsigned long long)(*next - 1));
    }
    *next = t->rec.index + 1;
    if (!t->rec.bytes) {
        t->redacted = true;
        return 0;
    }
    uint8_t d[ZN_HASH_LEN];
    zn_audit_commit(d, t->rec.salt, t->rec.bytes, t->rec.len);
    if (sodium_memcmp(d, t->rec.d, sizeof d) != 0) {
        uint64_t idx = t->rec.index;
        zn_doc_free(&t->rdoc);
        return zn_err_set(e, ZN_E_HASH_MISMATCH,
                          "entry %llu: its bytes and salt do not hash to its commitment",
                          (unsigned long long)idx);
    }
    uint64_t idx = t->rec.index;
    if (zn_audit_entry_decode(t->rec.bytes, t->rec.len, &t->edoc, &t->en, t->details, &pe) != 0) {
        zn_doc_free(&t->rdoc);
        return zn_err_set(e, ZN_E_VERIFY, "entry %llu does not decode: %.150s", (unsigned long long)idx,
                          pe.text);
    }
    if (t->en.index != idx) {
        uint64_t says = t->en.index;
        s_entry_close(t);
        return zn_err_set(e, ZN_E_VERIFY, "the entry at index %llu says it is entry %llu",
                          (unsigned long long)idx, (unsigned long long)says);
    }
    return 0;
}

static void s_entry_close(s_entry *t)
{
    if (!t->redacted)
        zn_doc_free(&t->edoc);
    zn_doc_free(&t->rdoc);
}

static void s_detail_text(const zn_audit_detail *d, char *out, size_t cap)
{
    char buf[ZN_CLIENT_FIELD_MAX];
    switch (d->type) {
    case ZN_AUDIT_U64:
        snprintf(out, cap, "%s=%llu", d->key, (unsigned long long)d->u64);
        break;
    case ZN_AUDIT_STR:
        zn_text_sanitize(buf, sizeof buf, (const char *)d->p, d->len);
        snprintf(out, cap, "%s=%s", d->key, buf);
        break;
    default: {
        size_t n = d->len > 64 ? 64 : d->len;
        zn_hex(buf, d->p, n);
        snprintf(out, cap, "%s=%s%s", d->key, buf, n < d->len ? "..." : "");
    }
    }
}

static void s_print_entry_json(const s_entry *t)
{
    const zn_audit_entry *en = &t->en;
    char iso[ZN_ISO_TIME_LEN];
    printf("{\"index\":%llu", (unsigned long long)t->rec.index);
    if (t->redacted) {
        printf(",\"redacted\":true}\n");
        return;
    }
    zn_iso_time(iso, en->time_ms);
    printf(",\"redacted\":false,\"time\":\"%s\",\"time_ms\":%llu", iso, (unsigned long long)en->time_ms);
    s_json_null_or("actor", en->actor);
    s_json_null_or("handler", en->handler);
    s_json_null_or("action", en->action);
    s_json_id_or_null("case", en->case_id != NULL, en->case_id);
    s_json_null_or("counterpart", en->counterpart);
    printf(",\"decision\":\"%s\"", en->decision == ZN_AUDIT_ALLOWED ? "allowed" : "refused");
    s_json_null_or("reason", en->reason);
    s_json_null_or("basis", en->basis);
    s_json_null_or("evidence", en->evidence_kind);
    printf(",\"details\":{");
    for (size_t i = 0; i < en->n_details; i++) {
        const zn_audit_detail *d = &en->details[i];
        printf("%s", i ? "," : "");
        zn_json_str(stdout, d->key, strlen(d->key));
        fputc(':', stdout);
        if (d->type == ZN_AUDIT_U64)
            printf("%llu", (unsigned long long)d->u64);
        else if (d->type == ZN_AUDIT_STR)
            zn_json_str(stdout, (const char *)d->p, d->len);
        else {
            fputc('"', stdout);
            s_print_hex(d->p, d->len);
            fputc('"', stdout);
        }
    }
    printf("}}\n");
}

static void s_print_entry_text(const s_entry *t)
{
    const zn_audit_entry *en = &t->en;
    char iso[ZN_ISO_TIME_LEN], h[ZN_CLIENT_TEXT_MAX];
    if (t->redacted) {
        printf("#%llu (redacted: its retention ended; only its commitment remains)\n",
               (unsigned long long)t->rec.index);
        return;
    }
    zn_iso_time(iso, en->time_ms);
    s_safe(h, sizeof h, en->handler ? en->handler : "");
    printf("#%llu %s actor=%s handler=\"%s\" action=%s case=", (unsigned long long)t->rec.index, iso,
           en->actor ? en->actor : "-", h[0] ? h : "-", en->action);
    if (en->case_id)
        s_print_hex(en->case_id, ZN_CLIENT_ID_LEN);
    else
        fputs("-", stdout);
    printf(" counterpart=%s decision=%s reason=%s basis=%s\n", en->counterpart ? en->counterpart : "-",
           en->decision == ZN_AUDIT_ALLOWED ? "allowed" : "refused", en->reason ? en->reason : "-",
           en->basis ? en->basis : "-");
}

typedef struct {
    const s_cli *x;
    uint64_t n;
    uint64_t next; /* the smallest index the next entry may have */
} s_query;

static int s_on_query(void *ctx, const uint8_t *p, size_t n, zn_err *e)
{
    s_query *q = ctx;
    s_entry t;
    if (s_entry_open(&t, p, n, &q->next, e) != 0)
        return -1;
    if (q->x->json)
        s_print_entry_json(&t);
    else
        s_print_entry_text(&t);
    s_entry_close(&t);
    q->n++;
    return s_flush(e);
}

static int s_cmd_audit_query(s_cli *x)
{
    zn_err e;
    zn_err_clear(&e);
    zn_audit_filter f;
    memset(&f, 0, sizeof f);
    f.what = ZN_READ_ENTRIES;
    if (s_time_range(x, &f.since_ms, &f.until_ms) != 0)
        return ZN_CLASS_USAGE;
    if (x->v[O_CASE]) {
        if (zn_parse_id(x->v[O_CASE], f.case_id) != 0)
            return s_usage(x, "--case takes a case id of 32 hex characters");
        f.has_case = true;
    }
    static const struct {
        int opt;
        size_t off;
    } idents[] = {{O_PARTNER, offsetof(zn_audit_filter, partner)},
                  {O_ACTION, offsetof(zn_audit_filter, action)},
                  {O_BASIS, offsetof(zn_audit_filter, basis)}};
    for (size_t i = 0; i < sizeof idents / sizeof idents[0]; i++) {
        const char *v = x->v[idents[i].opt];
        if (!v)
            continue;
        if (!zn_ident_valid(v))
            return s_usage(x, "--%s takes a name of 1 to 63 characters a-z, 0-9, '.', '-', '_'",
                           s_specs[idents[i].opt].name);
        snprintf((char *)&f + idents[i].off, ZN_IDENT_MAX, "%s", v);
    }
    if (x->handler_filter) {
        size_t n = strlen(x->handler_filter);
        if (n == 0 || n >= sizeof f.handler || !zn_text_valid(x->handler_filter, n))
            return s_usage(x, "--handler takes the professional's name: 1 to 127 bytes of text");
        memcpy(f.handler, x->handler_filter, n + 1);
    }
    if (x->v[O_DECISION]) {
        if (strcmp(x->v[O_DECISION], "allowed") == 0)
            f.decision = ZN_AUDIT_ALLOWED;
        else if (strcmp(x->v[O_DECISION], "refused") == 0)
            f.decision = ZN_AUDIT_REFUSED;
        else
            return s_usage(x, "--decision takes allowed or refused");
    }
    const char *bsn = x->v[O_BSN];
    if (bsn && !zn_bsn_valid(bsn)) {
        char safe[32];
        s_safe(safe, sizeof safe, bsn);
        return s_usage(x, "--bsn: '%s' is not a valid BSN (nine digits that pass the 11-proef)", safe);
    }
    if (s_need_reader(x, "audit query") != 0)
        return ZN_CLASS_USAGE;
    zn_client *c = zn_client_open(&x->opts, &e);
    if (!c)
        return s_fail(x, &e);
    uint64_t before = zn_client_convenant_version(c);
    s_query q = {.x = x};
    int rc = zn_client_ensure_connected(c, &e);
    if (rc == 0 && bsn) { /* the pseudonym with the network key of the convenant now in use */
        zn_netkey nk;
        rc = zn_client_open_netkey(c, &nk, &e);
        if (rc == 0)
            rc = zn_pseudonym(f.subject, &nk, bsn, &e);
        sodium_memzero(&nk, sizeof nk);
        f.subject_len = ZN_PSN_LEN;
    }
    if (rc == 0)
        rc = zn_client_audit_read(c, &f, 0, s_on_query, &q, NULL, &e);
    s_note_convenant(x, c, before);
    zn_client_close(&c);
    sodium_memzero(f.subject, sizeof f.subject);
    if (rc != 0)
        return s_fail(x, &e);
    if (!x->json)
        printf("%llu matching %s\n", (unsigned long long)q.n, q.n == 1 ? "entry" : "entries");
    return s_flush(&e) == 0 ? 0 : s_fail(x, &e);
}

/* ---- audit report */

typedef struct {
    char *actor; /* NULL: the broker */
    char *action;
    uint64_t allowed, refused;
} s_count;

typedef struct {
    uint64_t index, time_ms;
    char *actor, *action, *reason, *counterpart, *details;
} s_event;

typedef struct {
    s_event *v;
    size_t n, cap;
} s_events;

typedef struct {
    const s_cli *x;
    uint64_t entries, redacted;
    s_count *counts;
    size_t n_counts, cap_counts;
    s_events refusals, quota, redactions, lookups;
    zn_orep *overrides; /* safety overrides, handover escalations and declines */
    zn_client *c;       /* opens the texts sealed to this auditor */
    zn_uninformed *uninformed; /* signals, to list those never informed */
    uint64_t next; /* the smallest index the next entry may have */
} s_report;

static char *s_dup(const char *s)
{
    return s ? strdup(s) : NULL;
}

static int s_event_add(s_events *l, const zn_audit_entry *en, zn_err *e)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        s_event *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return zn_err_set(e, ZN_E_INTERNAL, "out of memory");
        l->v = v;
        l->cap = cap;
    }
    s_event *ev = &l->v[l->n];
    memset(ev, 0, sizeof *ev);
    ev->index = en->index;
    ev->time_ms = en->time_ms;
    char det[1024] = "", one[ZN_CLIENT_FIELD_MAX + 80];
    for (size_t i = 0; i < en->n_details; i++) {
        s_detail_text(&en->details[i], one, sizeof one);
        size_t k = strlen(det);
        snprintf(det + k, sizeof det - k, "%s%s", k ? " " : "", one);
    }
    if ((en->actor && !(ev->actor = s_dup(en->actor))) || !(ev->action = s_dup(en->action)) ||
        (en->reason && !(ev->reason = s_dup(en->reason))) ||
        (en->counterpart && !(ev->counterpart = s_dup(en->counterpart))) || !(ev->details = strdup(det))) {
        free(ev->actor), free(ev->action), free(ev->reason), free(ev->counterpart), free(ev->details);
        return zn_err_set(e, ZN_E_INTERNAL, "out of memory");
    }
    l->n++;
    return 0;
}

static void s_events_free(s_events *l)
{
    for (size_t i = 0; i < l->n; i++) {
        s_event *ev = &l->v[i];
        free(ev->actor), free(ev->action), free(ev->reason), free(ev->counterpart), free(ev->details);
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

static bool s_str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int s_count_add(s_report *r, const zn_audit_entry *en, zn_err *e)
{
    s_count *k = NULL;
    for (size_t i = 0; i < r->n_counts && !k; i++)
        if (s_str_eq(r->counts[i].actor, en->actor) && strcmp(r->counts[i].action, en->action) == 0)
            k = &r->counts[i];
    if (!k) {
        if (r->n_counts == r->cap_counts) {
            size_t cap = r->cap_counts ? r->cap_counts * 2 : 32;
            s_count *v = realloc(r->counts, cap * sizeof *v);
            if (!v)
                return zn_err_set(e, ZN_E_INTERNAL, "out of memory");
            r->counts = v;
            r->cap_counts = cap;
        }
        k = &r->counts[r->n_counts];
        memset(k, 0, sizeof *k);
        if ((en->actor && !(k->actor = strdup(en->actor))) || !(k->action = strdup(en->action))) {
            free(k->actor);
            return zn_err_set(e, ZN_E_INTERNAL, "out of memory");
        }
        r->n_counts++;
    }
    if (en->decision == ZN_AUDIT_ALLOWED)
        k->allowed++;
    else
        k->refused++;
    return 0;
}

/* ---- audit consent, and the safety overrides of audit report (zn_consent_report) */

/* zn_report_open_fn over the client: free text sealed to this auditor, opened with its key. */
static int s_open_sealed_cb(void *ctx, const uint8_t *enc, size_t len, char *text, size_t cap)
{
    zn_err e;
    zn_err_clear(&e);
    return zn_client_open_sealed(ctx, enc, len, text, cap, &e);
}

/* indent + "label: " and the text quoted (sanitized), or what became of it. */
static void s_sealed_text(const char *indent, const char *label, zn_text_status st, const char *text)
{
    char buf[ZN_SEALED_TEXT_MAX + 1];
    printf("%s%s: ", indent, label);
    if (st == ZN_TEXT_OPENED) {
        s_safe(buf, sizeof buf, text);
        printf("\"%s\"\n", buf);
    } else {
        printf("%s\n", st == ZN_TEXT_NOT_FOR_YOU ? "(not sealed to you)"
                       : st == ZN_TEXT_UNREADABLE ? "(unreadable)"
                                                  : "none");
    }
}

/* ,"key":"text"|null,"key_status":"opened"|... */
static void s_sealed_json(const char *key, zn_text_status st, const char *text)
{
    char status[64];
    s_json_null_or(key, st == ZN_TEXT_OPENED ? text : NULL);
    snprintf(status, sizeof status, "%s_status", key);
    s_json_null_or(status, zn_text_status_name(st));
}

static void s_json_iso(const char *key, uint64_t ms)
{
    char iso[ZN_ISO_TIME_LEN];
    zn_iso_time(iso, ms);
    s_json_null_or(key, ms ? iso : NULL);
}

/* ,"key":["a","b"] from a comma list ("" gives []). */
static void s_json_list(const char *key, const char *list)
{
    printf(",\"%s\":[", key);
    for (const char *p = list; *p;) {
        const char *c = strchr(p, ',');
        size_t k = c ? (size_t)(c - p) : strlen(p);
        zn_json_str(stdout, p, k);
        if (!c)
            break;
        fputc(',', stdout);
        p = c + 1;
    }
    fputc(']', stdout);
}

static void s_more_text(uint64_t more)
{
    if (more)
        printf("  ... and %llu more not shown\n", (unsigned long long)more);
}

static void s_title(const char *title, zn_report_count k)
{
    uint64_t all = k.n + k.more;
    printf("\n%s (%llu)%s\n", title, (unsigned long long)all, all ? ":" : ": none");
}

static void s_consent_row_text(const zn_crep_consent *c)
{
    char iso[ZN_ISO_TIME_LEN], until[ZN_ISO_TIME_LEN], h[ZN_CLIENT_TEXT_MAX], note[ZN_ERR_TEXT_MAX * 2];
    zn_iso_time(iso, c->time_ms);
    zn_iso_time(until, c->until_ms);
    s_safe(h, sizeof h, c->handler);
    printf("  #%llu %s seq=%llu %s scope=%s given_by=%s age_band=%s until=%s by %s handler=\"%s\"\n",
           (unsigned long long)c->index, iso, (unsigned long long)c->seq, c->state, c->scope[0] ? c->scope : "-",
           c->given_by[0] ? c->given_by : "-", c->age_band[0] ? c->age_band : "-", c->until_ms ? until : "-",
           c->actor[0] ? c->actor : "-", h);
    s_sealed_text("    ", "purpose", c->purpose_status, c->purpose);
    if (c->note) {
        s_safe(note, sizeof note, c->note);
        printf("    INCONSISTENT: %s\n", note);
    }
}

static void s_exchange_text(const zn_crep_exchange *x)
{
    char iso[ZN_ISO_TIME_LEN], h[ZN_CLIENT_TEXT_MAX], hex[2 * 16 + 1], note[ZN_ERR_TEXT_MAX * 2];
    zn_iso_time(iso, x->time_ms);
    s_safe(h, sizeof h, x->handler);
    const char *from = x->from[0] ? x->from : x->actor[0] ? x->actor : "(broker)";
    const char *to = x->from[0] ? x->to : x->counterpart;
    printf("  #%llu %s %s %s", (unsigned long long)x->index, iso, x->action, from);
    if (to[0] || x->from[0])
        printf(" -> %s", to[0] ? to : "-");
    printf(" handler=\"%s\"", h[0] ? h : "-");
    if (x->cls == ZN_CREP_REFUSED) {
        printf(" refused=%s", x->reason[0] ? x->reason : "-");
    } else {
        printf(" basis=%s", x->basis[0] ? x->basis : "-");
        if (x->has_consent)
            printf(" consent=%llu (%s)", (unsigned long long)x->consent_seq,
                   x->consent_state[0] ? x->consent_state : "not in the history");
        if (x->has_override) {
            zn_hex(hex, x->override_id, 16);
            printf(" override=%s (%s)", hex, x->override_state[0] ? x->override_state : "not in this case's log");
        }
    }
    if (x->has_ref) {
        zn_hex(hex, x->ref, 16);
        printf(" %s=%s", x->ref_name, hex);
    }
    if (x->i_checked)
        printf(" i-checked");
    if (x->dropped)
        printf(" dropped");
    if (x->note) {
        s_safe(note, sizeof note, x->note);
        printf(": %s", note);
    }
    printf("\n");
}

static void s_drop_text(const zn_crep_drop *d)
{
    char iso[ZN_ISO_TIME_LEN], item[2 * 16 + 1] = "-", msgid[2 * 16 + 1] = "-";
    zn_iso_time(iso, d->time_ms);
    if (d->has_item)
        zn_hex(item, d->item, 16);
    if (d->has_msgid)
        zn_hex(msgid, d->msgid, 16);
    printf("  #%llu %s drop -> %s reason=%s item=%s msgid=%s sender=%s", (unsigned long long)d->index, iso,
           d->recipient[0] ? d->recipient : "-", d->reason[0] ? d->reason : "-", item, msgid,
           d->sender[0] ? d->sender : "-");
    if (d->has_cause)
        printf(" cause=#%llu (%s)", (unsigned long long)d->cause_index, d->cause);
    else
        printf(" cause=-");
    if (d->has_send)
        printf(" queued-by=#%llu\n", (unsigned long long)d->send_index);
    else
        printf(" queued-by=-\n");
}

static void s_exchange_json(const zn_crep_exchange *x, bool first)
{
    s_json_entry_head(first, x->index, x->time_ms);
    printf(",\"class\":\"%s\"", zn_crep_class_name(x->cls));
    s_json_null_or("action", x->action);
    s_json_null_or("actor", x->actor);
    s_json_null_or("handler", x->handler);
    s_json_null_or("counterpart", x->counterpart);
    s_json_null_or("from", x->from);
    s_json_null_or("to", x->to);
    s_json_null_or("basis", x->basis);
    s_json_null_or("reason", x->reason);
    s_json_u64_or_null("consent", x->has_consent, x->consent_seq);
    s_json_null_or("consent_state", x->consent_state);
    s_json_id_or_null("override", x->has_override, x->override_id);
    s_json_null_or("override_state", x->override_state);
    bool item = x->has_ref && strcmp(x->ref_name, "item") == 0, ho = x->has_ref && !item;
    s_json_id_or_null("item", item, x->ref);
    s_json_id_or_null("handover", ho, x->ref);
    printf(",\"i_checked\":%s,\"dropped\":%s", x->i_checked ? "true" : "false", x->dropped ? "true" : "false");
    s_json_null_or("note", x->note);
    printf("}");
}

static void s_exchanges_json(const char *key, const zn_crep_exchange *v, zn_report_count k)
{
    printf(",\"%s\":[", key);
    for (size_t i = 0; i < k.n; i++)
        s_exchange_json(&v[i], i == 0);
    printf("]");
}

static void s_consent_json(const zn_crep_view *v)
{
    printf(",\"consent\":[");
    for (size_t i = 0; i < v->n_consent.n; i++) {
        const zn_crep_consent *c = &v->consent[i];
        s_json_entry_head(i == 0, c->index, c->time_ms);
        printf(",\"seq\":%llu", (unsigned long long)c->seq);
        s_json_null_or("state", c->state);
        s_json_list("scope", c->scope);
        s_json_list("given_by", c->given_by);
        s_json_null_or("age_band", c->age_band);
        s_json_iso("until", c->until_ms);
        s_json_null_or("actor", c->actor);
        s_json_null_or("handler", c->handler);
        s_sealed_json("purpose", c->purpose_status, c->purpose);
        s_json_null_or("note", c->note);
        printf("}");
    }
    printf("]");
}

static void s_drops_json(const zn_crep_view *v)
{
    printf(",\"drops\":[");
    for (size_t i = 0; i < v->n_drops.n; i++) {
        const zn_crep_drop *d = &v->drops[i];
        s_json_entry_head(i == 0, d->index, d->time_ms);
        s_json_null_or("recipient", d->recipient);
        s_json_null_or("sender", d->sender);
        s_json_null_or("reason", d->reason);
        s_json_id_or_null("item", d->has_item, d->item);
        s_json_id_or_null("msgid", d->has_msgid, d->msgid);
        s_json_u64_or_null("cause_index", d->has_cause, d->cause_index);
        s_json_null_or("cause", d->has_cause ? d->cause : NULL);
        s_json_u64_or_null("send_index", d->has_send, d->send_index);
        printf("}");
    }
    printf("]");
}

static void s_crep_json(const zn_crep_view *v, const uint8_t case_id[ZN_CLIENT_ID_LEN], uint64_t log_size,
                        uint64_t redacted)
{
    printf("{\"case\":\"");
    s_print_hex(case_id, ZN_CLIENT_ID_LEN);
    printf("\",\"log_size\":%llu,\"entries\":%llu,\"redacted\":%llu", (unsigned long long)log_size,
           (unsigned long long)v->entries, (unsigned long long)redacted);
    s_json_null_or("network", v->network);
    s_json_iso("created", v->has_case_new ? v->created_ms : 0);
    s_json_null_or("creator", v->creator);
    s_json_null_or("regisseur", v->regisseur);
    printf(",\"identified\":%s", v->identified ? "true" : "false");
    s_json_iso("closed", v->closed_ms);
    printf(",\"consent_seq\":%llu", (unsigned long long)v->consent_seq);
    s_json_null_or("consent_state", v->consent_state);
    s_consent_json(v);
    s_exchanges_json("relied_on_consent", v->relied, v->n_relied);
    s_exchanges_json("safety_override", v->overrides, v->n_overrides);
    s_exchanges_json("anonymous", v->anonymous, v->n_anonymous);
    s_exchanges_json("refused", v->refused, v->n_refused);
    s_exchanges_json("inconsistent", v->inconsistent, v->n_inconsistent);
    s_drops_json(v);
    printf(",\"more\":{\"consent\":%llu,\"relied_on_consent\":%llu,\"safety_override\":%llu,\"anonymous\":%llu,"
           "\"refused\":%llu,\"inconsistent\":%llu,\"drops\":%llu}}\n",
           (unsigned long long)v->n_consent.more, (unsigned long long)v->n_relied.more,
           (unsigned long long)v->n_overrides.more, (unsigned long long)v->n_anonymous.more,
           (unsigned long long)v->n_refused.more, (unsigned long long)v->n_inconsistent.more,
           (unsigned long long)v->n_drops.more);
}

static void s_crep_text(const zn_crep_view *v, const uint8_t case_id[ZN_CLIENT_ID_LEN], uint64_t log_size,
                        uint64_t redacted)
{
    char hex[2 * ZN_CLIENT_ID_LEN + 1], iso[ZN_ISO_TIME_LEN];
    zn_hex(hex, case_id, ZN_CLIENT_ID_LEN);
    printf("consent report for case %s: %llu entries read (log of %llu entries), %llu of them redacted\n", hex,
           (unsigned long long)(v->entries + redacted), (unsigned long long)log_size, (unsigned long long)redacted);
    if (v->has_case_new) {
        zn_iso_time(iso, v->created_ms);
        printf("  case         network %s, created %s by %s, regisseur %s, %s, ", v->network[0] ? v->network : "-", iso,
               v->creator[0] ? v->creator : "-", v->regisseur[0] ? v->regisseur : "-",
               v->identified ? "identified" : "anonymous");
        zn_iso_time(iso, v->closed_ms);
        printf(v->closed_ms ? "closed %s\n" : "open\n", iso);
    } else {
        printf("  case         its case-new entry is not among the entries read (redacted, or no such case)\n");
    }
    if (v->consent_seq || strcmp(v->consent_state, "none") != 0)
        printf("  consent now  record %llu: %s\n", (unsigned long long)v->consent_seq, v->consent_state);
    else
        printf("  consent now  none recorded\n");

    s_title("consent history", v->n_consent);
    for (size_t i = 0; i < v->n_consent.n; i++)
        s_consent_row_text(&v->consent[i]);
    s_more_text(v->n_consent.more);
    static const struct {
        const char *title;
        size_t off, count;
    } lists[] = {
        {"exchanges that relied on consent", offsetof(zn_crep_view, relied), offsetof(zn_crep_view, n_relied)},
        {"exchanges under a safety override", offsetof(zn_crep_view, overrides), offsetof(zn_crep_view, n_overrides)},
        {"anonymous exchanges", offsetof(zn_crep_view, anonymous), offsetof(zn_crep_view, n_anonymous)},
        {"refused", offsetof(zn_crep_view, refused), offsetof(zn_crep_view, n_refused)},
        {"INCONSISTENT with the consent history", offsetof(zn_crep_view, inconsistent),
         offsetof(zn_crep_view, n_inconsistent)},
    };
    for (size_t k = 0; k < sizeof lists / sizeof lists[0]; k++) {
        const zn_crep_exchange *rows = *(const zn_crep_exchange *const *)((const char *)v + lists[k].off);
        zn_report_count n = *(const zn_report_count *)((const char *)v + lists[k].count);
        s_title(lists[k].title, n);
        for (size_t i = 0; i < n.n; i++)
            s_exchange_text(&rows[i]);
        s_more_text(n.more);
    }
    s_title("drops", v->n_drops);
    for (size_t i = 0; i < v->n_drops.n; i++)
        s_drop_text(&v->drops[i]);
    s_more_text(v->n_drops.more);
    uint64_t bad = v->n_inconsistent.n + v->n_inconsistent.more;
    if (bad)
        printf("\nWARNING: %llu %s of this case %s not match its consent history or its overrides; see above\n",
               (unsigned long long)bad, bad == 1 ? "entry" : "entries", bad == 1 ? "does" : "do");
}

typedef struct {
    zn_client *c;
    zn_crep *r;
    const uint8_t *case_id;
    uint64_t next; /* the smallest index the next entry may have */
    uint64_t redacted;
} s_consent_read;

static int s_on_consent_entry(void *ctx, const uint8_t *p, size_t n, zn_err *e)
{
    s_consent_read *q = ctx;
    s_entry t;
    if (s_entry_open(&t, p, n, &q->next, e) != 0)
        return -1;
    if (t.redacted) {
        q->redacted++;
        s_entry_close(&t);
        return 0;
    }
    int rc = 0;
    if (!t.en.case_id || memcmp(t.en.case_id, q->case_id, ZN_CLIENT_ID_LEN) != 0) {
        rc = zn_err_set(e, ZN_E_VERIFY, "the broker sent entry %llu, which is not of the case asked for",
                        (unsigned long long)t.en.index);
    } else {
        zn_evidence_text ev;
        bool opened = strcmp(t.en.action, "consent-set") == 0;
        if (opened)
            zn_evidence_text_open(&t.en, s_open_sealed_cb, q->c, &ev);
        if (zn_crep_feed(q->r, &t.en, opened ? &ev : NULL) != 0)
            rc = zn_err_set(e, ZN_E_INTERNAL, "out of memory");
        if (opened)
            sodium_memzero(&ev, sizeof ev);
    }
    s_entry_close(&t);
    return rc;
}

static int s_cmd_audit_consent(s_cli *x)
{
    zn_err e;
    zn_err_clear(&e);
    zn_audit_filter f;
    memset(&f, 0, sizeof f);
    f.what = ZN_READ_ENTRIES;
    if (!x->v[O_CASE])
        return s_usage(x, "audit consent needs --case ID (the case id, 32 hex characters)");
    if (zn_parse_id(x->v[O_CASE], f.case_id) != 0)
        return s_usage(x, "--case takes a case id of 32 hex characters");
    f.has_case = true;
    if (s_need_reader(x, "audit consent") != 0)
        return ZN_CLASS_USAGE;
    zn_client *c = zn_client_open(&x->opts, &e);
    if (!c)
        return s_fail(x, &e);
    uint64_t before = zn_client_convenant_version(c), size = 0;
    s_consent_read q = {.c = c, .r = zn_crep_new(0), .case_id = f.case_id};
    int rc = q.r ? zn_client_audit_read(c, &f, 0, s_on_consent_entry, &q, &size, &e)
                 : zn_err_set(&e, ZN_E_INTERNAL, "out of memory");
    s_note_convenant(x, c, before);
    zn_client_close(&c);
    if (rc == 0) {
        zn_crep_view v;
        zn_crep_view_get(q.r, &v);
        if (x->json)
            s_crep_json(&v, f.case_id, size, q.redacted);
        else
            s_crep_text(&v, f.case_id, size, q.redacted);
    }
    zn_crep_free(&q.r);
    return s_finish(x, rc, &e);
}

/* audit report: the overrides of the log with their reviews, escalations and expiries, the
 * handover escalations, and the handover declines with their reasons. */

/* indent + "INCONSISTENT: the signed request differs: WHY" when an entry's evidence does not
 * match it (mismatch not NULL). */
static void s_print_mismatch(const char *indent, const char *mismatch)
{
    char why[ZN_ERR_TEXT_MAX];
    if (!mismatch)
        return;
    s_safe(why, sizeof why, mismatch);
    printf("%sINCONSISTENT: the signed request differs: %s\n", indent, why);
}

/* An id as hex, or "-" when it is absent. */
static void s_print_id_or_dash(bool has, const uint8_t *id)
{
    if (has)
        s_print_hex(id, ZN_CLIENT_ID_LEN);
    else
        fputs("-", stdout);
}

/* "  #N ISO handover ID case ID" of a handover escalation or decline (the line is left open). */
static void s_print_handover_entry(uint64_t index, uint64_t time_ms, bool has_handover, const uint8_t *handover,
                                   bool has_case, const uint8_t *case_id)
{
    char iso[ZN_ISO_TIME_LEN];
    zn_iso_time(iso, time_ms);
    printf("  #%llu %s handover ", (unsigned long long)index, iso);
    s_print_id_or_dash(has_handover, handover);
    printf(" case ");
    s_print_id_or_dash(has_case, case_id);
}

static void s_orep_event_text(const char *indent, const zn_orep_event *ev)
{
    char iso[ZN_ISO_TIME_LEN], h[ZN_CLIENT_TEXT_MAX];
    zn_iso_time(iso, ev->time_ms);
    printf("%s#%llu %s ", indent, (unsigned long long)ev->index, iso);
    if (strcmp(ev->action, "override-review") == 0) {
        s_safe(h, sizeof h, ev->handler);
        printf("reviewed by %s handler=\"%s\": %s, %s\n", ev->actor[0] ? ev->actor : "-", h[0] ? h : "-",
               ev->state[0] ? ev->state : "-", ev->late ? "late" : "in time");
        char deeper[16];
        snprintf(deeper, sizeof deeper, "%s  ", indent);
        s_sealed_text(deeper, "note", ev->note_status, ev->note);
        s_print_mismatch(deeper, ev->mismatch);
    } else if (strcmp(ev->action, "override-escalate") == 0) {
        zn_iso_time(iso, ev->review_by_ms);
        printf("escalated to the auditors: not reviewed by %s\n", iso);
    } else {
        printf("expired\n");
    }
}

static void s_orep_text(const zn_orep_view *v)
{
    char iso[ZN_ISO_TIME_LEN], hex[2 * 16 + 1], h[ZN_CLIENT_TEXT_MAX];
    if (!v->n_overrides.n && !v->n_overrides.more)
        printf("\nsafety overrides: none recorded\n");
    else
        s_title("safety overrides", v->n_overrides);
    for (size_t i = 0; i < v->n_overrides.n; i++) {
        const zn_orep_override *o = &v->overrides[i];
        zn_iso_time(iso, o->time_ms);
        zn_hex(hex, o->id, 16);
        s_safe(h, sizeof h, o->handler);
        printf("  #%llu %s override %s case ", (unsigned long long)o->index, iso, hex);
        s_print_id_or_dash(o->has_case, o->case_id);
        printf(" %s handler=\"%s\" -> %s step=%llu (%s)", o->author[0] ? o->author : "-", h[0] ? h : "-",
               o->to[0] ? o->to : "-", (unsigned long long)o->step, o->step_name);
        zn_iso_time(iso, o->expires_ms);
        printf(" expires=%s", iso);
        zn_iso_time(iso, o->review_by_ms);
        printf(" review_by=%s: %s%s\n", iso, o->state, o->escalated ? ", escalated" : "");
        s_sealed_text("    ", "justification", o->justification_status, o->justification);
        s_print_mismatch("    ", o->mismatch);
        for (size_t k = 0; k < o->n_events; k++)
            s_orep_event_text("    ", &o->events[k]);
        if (o->more_events)
            printf("    ... and %llu more not shown\n", (unsigned long long)o->more_events);
    }
    s_more_text(v->n_overrides.more);
    if (v->n_orphans.n || v->n_orphans.more) {
        s_title("override reviews, escalations and expiries whose override-new was not read", v->n_orphans);
        for (size_t i = 0; i < v->n_orphans.n; i++) {
            zn_hex(hex, v->orphans[i].override_id, 16);
            printf("  override %s:\n", hex);
            s_orep_event_text("    ", &v->orphans[i]);
        }
        s_more_text(v->n_orphans.more);
    }
    s_title("handover escalations", v->n_handovers);
    for (size_t i = 0; i < v->n_handovers.n; i++) {
        const zn_orep_escalation *hv = &v->handovers[i];
        s_print_handover_entry(hv->index, hv->time_ms, hv->has_handover, hv->handover, hv->has_case, hv->case_id);
        zn_iso_time(iso, hv->timeout_ms);
        printf(" offered by %s, no answer by %s: escalated to the coordinators\n", hv->from[0] ? hv->from : "-",
               iso);
    }
    s_more_text(v->n_handovers.more);
    s_title("handover declines", v->n_declines);
    for (size_t i = 0; i < v->n_declines.n; i++) {
        const zn_orep_decline *d = &v->declines[i];
        s_print_handover_entry(d->index, d->time_ms, d->has_handover, d->handover, d->has_case, d->case_id);
        s_safe(h, sizeof h, d->handler);
        printf(" offered by %s, declined by %s handler=\"%s\"\n", d->offered_by[0] ? d->offered_by : "-",
               d->by[0] ? d->by : "-", h[0] ? h : "-");
        s_sealed_text("    ", "reason", d->reason_status, d->reason);
        s_print_mismatch("    ", d->mismatch);
    }
    s_more_text(v->n_declines.more);
}

static void s_orep_event_json(const zn_orep_event *ev, bool first, bool with_id)
{
    s_json_entry_head(first, ev->index, ev->time_ms);
    if (with_id) {
        s_json_hexn("override", ev->override_id, 16);
        s_json_id_or_null("case", ev->has_case, ev->case_id);
    }
    s_json_null_or("action", ev->action);
    s_json_null_or("actor", ev->actor);
    s_json_null_or("handler", ev->handler);
    s_json_null_or("state", ev->state);
    printf(",\"late\":%s", ev->late ? "true" : "false");
    s_json_iso("review_by", ev->review_by_ms);
    s_sealed_json("note", ev->note_status, ev->note);
    s_json_null_or("mismatch", ev->mismatch);
    printf("}");
}

static void s_orep_json(const zn_orep_view *v)
{
    printf(",\"overrides\":[");
    for (size_t i = 0; i < v->n_overrides.n; i++) {
        const zn_orep_override *o = &v->overrides[i];
        s_json_entry_head(i == 0, o->index, o->time_ms);
        s_json_hexn("override", o->id, 16);
        s_json_id_or_null("case", o->has_case, o->case_id);
        s_json_null_or("author", o->author);
        s_json_null_or("handler", o->handler);
        s_json_null_or("to", o->to);
        printf(",\"step\":%llu", (unsigned long long)o->step);
        s_json_null_or("step_name", o->step_name);
        s_json_iso("expires", o->expires_ms);
        s_json_iso("review_by", o->review_by_ms);
        s_json_null_or("state", o->state);
        printf(",\"escalated\":%s", o->escalated ? "true" : "false");
        s_sealed_json("justification", o->justification_status, o->justification);
        s_json_null_or("mismatch", o->mismatch);
        printf(",\"events\":[");
        for (size_t k = 0; k < o->n_events; k++)
            s_orep_event_json(&o->events[k], k == 0, false);
        printf("],\"more_events\":%llu}", (unsigned long long)o->more_events);
    }
    printf("],\"overrides_more\":%llu,\"override_orphans\":[", (unsigned long long)v->n_overrides.more);
    for (size_t i = 0; i < v->n_orphans.n; i++)
        s_orep_event_json(&v->orphans[i], i == 0, true);
    printf("],\"handover_escalations\":[");
    for (size_t i = 0; i < v->n_handovers.n; i++) {
        const zn_orep_escalation *hv = &v->handovers[i];
        s_json_entry_head(i == 0, hv->index, hv->time_ms);
        s_json_id_or_null("handover", hv->has_handover, hv->handover);
        s_json_id_or_null("case", hv->has_case, hv->case_id);
        s_json_null_or("from", hv->from);
        s_json_iso("timeout", hv->timeout_ms);
        printf("}");
    }
    printf("],\"handover_escalations_more\":%llu,\"handover_declines\":[", (unsigned long long)v->n_handovers.more);
    for (size_t i = 0; i < v->n_declines.n; i++) {
        const zn_orep_decline *d = &v->declines[i];
        s_json_entry_head(i == 0, d->index, d->time_ms);
        s_json_id_or_null("handover", d->has_handover, d->handover);
        s_json_id_or_null("case", d->has_case, d->case_id);
        s_json_null_or("by", d->by);
        s_json_null_or("handler", d->handler);
        s_json_null_or("offered_by", d->offered_by);
        s_sealed_json("reason", d->reason_status, d->reason);
        s_json_null_or("mismatch", d->mismatch);
        printf("}");
    }
    printf("],\"handover_declines_more\":%llu", (unsigned long long)v->n_declines.more);
}

/* Feed one entry of the report's read to the override and handover tracker (justifications,
 * notes and decline reasons opened from the evidence). */
static int s_orep_feed_entry(zn_orep *o, zn_client *c, const zn_audit_entry *en, zn_err *e)
{
    zn_evidence_text ev;
    bool opened = en->decision == ZN_AUDIT_ALLOWED &&
                  (strcmp(en->action, "override-new") == 0 || strcmp(en->action, "override-review") == 0 ||
                   strcmp(en->action, "handover-decline") == 0);
    if (opened)
        zn_evidence_text_open(en, s_open_sealed_cb, c, &ev);
    int rc = zn_orep_feed(o, en, opened ? &ev : NULL) == 0 ? 0 : zn_err_set(e, ZN_E_INTERNAL, "out of memory");
    if (opened)
        sodium_memzero(&ev, sizeof ev);
    return rc;
}

static int s_on_report(void *ctx, const uint8_t *p, size_t n, zn_err *e)
{
    s_report *r = ctx;
    s_entry t;
    if (s_entry_open(&t, p, n, &r->next, e) != 0)
        return -1;
    int rc = 0;
    if (t.redacted) {
        r->redacted++;
        s_entry_close(&t);
        return 0;
    }
    const zn_audit_entry *en = &t.en;
    r->entries++;
    rc = s_count_add(r, en, e);
    if (rc == 0 && en->decision == ZN_AUDIT_REFUSED)
        rc = s_event_add(&r->refusals, en, e);
    if (rc == 0 && ((en->reason && (strcmp(en->reason, "quota-exceeded") == 0 ||
                                    strcmp(en->reason, "rate-limited") == 0)) ||
                    strcmp(en->action, "handshake-refused") == 0))
        rc = s_event_add(&r->quota, en, e);
    if (rc == 0 && strcmp(en->action, "redact") == 0)
        rc = s_event_add(&r->redactions, en, e);
    if (rc == 0)
        rc = s_orep_feed_entry(r->overrides, r->c, en, e);
    if (rc == 0 && strcmp(en->action, "signal-withdraw") == 0 && en->reason && strcmp(en->reason, "look-up") == 0)
        rc = s_event_add(&r->lookups, en, e);
    if (rc == 0 && zn_uninformed_feed(r->uninformed, en) != 0)
        rc = zn_err_set(e, ZN_E_INTERNAL, "out of memory");
    s_entry_close(&t);
    return rc;
}

typedef struct {
    bool json;
    uint64_t now, grace;
    size_t n;
} s_uninformed;

static void s_uninformed_cb(void *ctx, const zn_uninformed_signal *sg)
{
    s_uninformed *u = ctx;
    char iso[ZN_ISO_TIME_LEN], hex[2 * 16 + 1];
    zn_iso_time(iso, sg->created_ms);
    zn_hex(hex, sg->signal, 16);
    if (u->json) {
        printf("%s{\"index\":%llu,\"registered\":\"%s\",\"signal\":\"%s\"", u->n ? "," : "",
               (unsigned long long)sg->index, iso, hex);
        s_json_null_or("partner", sg->partner);
        s_json_null_or("network", sg->network);
        printf("}");
    } else {
        printf("  #%llu %s %s %s signal %s\n", (unsigned long long)sg->index, iso, sg->partner, sg->network, hex);
    }
    u->n++;
}

static int s_count_cmp(const void *a, const void *b)
{
    const s_count *x = a, *y = b;
    int c = strcmp(x->actor ? x->actor : "", y->actor ? y->actor : "");
    return c ? c : strcmp(x->action, y->action);
}

static void s_events_json(const char *name, const s_events *l)
{
    printf(",\"%s\":[", name);
    for (size_t i = 0; i < l->n; i++) {
        const s_event *ev = &l->v[i];
        s_json_entry_head(i == 0, ev->index, ev->time_ms);
        s_json_null_or("actor", ev->actor);
        s_json_null_or("action", ev->action);
        s_json_null_or("counterpart", ev->counterpart);
        s_json_null_or("reason", ev->reason);
        s_json_null_or("details", ev->details);
        printf("}");
    }
    printf("]");
}

static void s_events_text(const char *title, const s_events *l, bool details)
{
    char iso[ZN_ISO_TIME_LEN], det[1024];
    printf("\n%s (%zu)%s\n", title, l->n, l->n ? ":" : ": none");
    for (size_t i = 0; i < l->n; i++) {
        const s_event *ev = &l->v[i];
        zn_iso_time(iso, ev->time_ms);
        printf("  #%llu %s %s %s", (unsigned long long)ev->index, iso, ev->actor ? ev->actor : "(broker)",
               ev->action);
        if (ev->counterpart)
            printf(" -> %s", ev->counterpart);
        printf(" %s", ev->reason ? ev->reason : "-");
        if (details && ev->details[0]) {
            s_safe(det, sizeof det, ev->details);
            printf(" [%s]", det);
        }
        printf("\n");
    }
}

static int s_cmd_audit_report(s_cli *x)
{
    zn_err e;
    zn_err_clear(&e);
    zn_audit_filter f;
    memset(&f, 0, sizeof f);
    f.what = ZN_READ_ENTRIES;
    if (s_time_opt(x, O_SINCE, &f.since_ms) != 0 || s_need_reader(x, "audit report") != 0)
        return ZN_CLASS_USAGE;
    zn_client *c = zn_client_open(&x->opts, &e);
    if (!c)
        return s_fail(x, &e);
    uint64_t before = zn_client_convenant_version(c);
    s_report r;
    uint64_t size = 0;
    memset(&r, 0, sizeof r);
    r.x = x;
    r.uninformed = zn_uninformed_new();
    r.overrides = zn_orep_new(0);
    r.c = c;
    int rc = r.uninformed && r.overrides ? zn_client_audit_read(c, &f, 0, s_on_report, &r, &size, &e)
                                         : zn_err_set(&e, ZN_E_INTERNAL, "out of memory");
    s_note_convenant(x, c, before);
    /* the grace period of the convenant in force (read after a newer one was fetched) */
    s_uninformed u = {.json = x->json, .now = zn_client_now_ms(),
                      .grace = zn_client_convenant(c)->policy.informed_grace_d * 86400000u};
    zn_client_close(&c);
    if (rc == 0) {
        char iso[ZN_ISO_TIME_LEN];
        qsort(r.counts, r.n_counts, sizeof *r.counts, s_count_cmp);
        zn_iso_time(iso, f.since_ms);
        if (x->json) {
            printf("{\"since\":");
            if (f.since_ms)
                printf("\"%s\"", iso);
            else
                printf("null");
            printf(",\"log_size\":%llu,\"entries\":%llu,\"redacted\":%llu,\"counts\":[",
                   (unsigned long long)size, (unsigned long long)r.entries, (unsigned long long)r.redacted);
            for (size_t i = 0; i < r.n_counts; i++) {
                printf("%s{", i ? "," : "");
                printf("\"partner\":");
                if (r.counts[i].actor)
                    zn_json_str(stdout, r.counts[i].actor, strlen(r.counts[i].actor));
                else
                    printf("null");
                s_json_null_or("action", r.counts[i].action);
                printf(",\"allowed\":%llu,\"refused\":%llu}", (unsigned long long)r.counts[i].allowed,
                       (unsigned long long)r.counts[i].refused);
            }
            printf("]");
            s_events_json("refusals", &r.refusals);
            s_events_json("quota_events", &r.quota);
            s_events_json("redactions", &r.redactions);
            zn_orep_view ov;
            zn_orep_view_get(r.overrides, &ov);
            s_orep_json(&ov);
            s_events_json("early_withdrawals", &r.lookups);
            printf(",\"uninformed\":[");
            zn_uninformed_list(r.uninformed, u.now, u.grace, s_uninformed_cb, &u);
            printf("]}\n");
        } else {
            printf("audit report: %llu entries read%s%s (log of %llu entries), %llu of them redacted\n",
                   (unsigned long long)(r.entries + r.redacted), f.since_ms ? " since " : "",
                   f.since_ms ? iso : "", (unsigned long long)size, (unsigned long long)r.redacted);
            printf("\nper partner and action (allowed / refused):\n");
            size_t w = 8;
            for (size_t i = 0; i < r.n_counts; i++) {
                size_t k = strlen(r.counts[i].actor ? r.counts[i].actor : "(broker)");
                w = k > w ? k : w;
            }
            for (size_t i = 0; i < r.n_counts; i++)
                printf("  %-*s  %-24s %6llu / %llu\n", (int)w,
                       r.counts[i].actor ? r.counts[i].actor : "(broker)", r.counts[i].action,
                       (unsigned long long)r.counts[i].allowed, (unsigned long long)r.counts[i].refused);
            if (!r.n_counts)
                printf("  none\n");
            s_events_text("refusals", &r.refusals, false);
            s_events_text("quota and rate-limit events", &r.quota, true);
            s_events_text("redactions", &r.redactions, true);
            zn_orep_view ov;
            zn_orep_view_get(r.overrides, &ov);
            s_orep_text(&ov);
            s_events_text("signals withdrawn before the minimum lifetime (counted as look-ups)", &r.lookups, true);
            size_t n = zn_uninformed_list(r.uninformed, u.now, u.grace, NULL, NULL);
            printf("\nsignals whose family was not informed within %llu days (%zu)%s\n",
                   (unsigned long long)(u.grace / 86400000u), n, n ? ":" : ": none");
            zn_uninformed_list(r.uninformed, u.now, u.grace, s_uninformed_cb, &u);
        }
    }
    for (size_t i = 0; i < r.n_counts; i++) {
        free(r.counts[i].actor);
        free(r.counts[i].action);
    }
    free(r.counts);
    s_events_free(&r.refusals);
    s_events_free(&r.quota);
    s_events_free(&r.redactions);
    zn_orep_free(&r.overrides);
    s_events_free(&r.lookups);
    zn_uninformed_free(&r.uninformed);
    return s_finish(x, rc, &e);
}

static int s_cmd_audit(s_cli *x)
{
    const char *sub = x->npos > 1 ? x->pos[1] : "";
    if (x->npos != 2)
        return s_usage(x, "the audit commands are 'zorgnet audit export|verify|query|report|consent'");
    if (strcmp(sub, "export") == 0)
        return s_cmd_audit_export(x);
    if (strcmp(sub, "verify") == 0)
        return s_cmd_audit_verify(x);
    if (strcmp(sub, "query") == 0)
        return s_cmd_audit_query(x);
    if (strcmp(sub, "report") == 0)
        return s_cmd_audit_report(x);
    if (strcmp(sub, "consent") == 0)
        return s_cmd_audit_consent(x);
    char safe[48];
    s_safe(safe, sizeof safe, sub);
    return s_usage(x, "unknown audit command '%s'; use export, verify, query, report or consent", safe);
}

/* ------------------------------------------------------------------ signals and matches */

#define S_HEX_ID (2 * ZN_CLIENT_ID_LEN + 1)
#define S_LIST_PAGE 256               /* rows of a list asked for per page (the broker's page size) */
#define S_LIST_PAGES_MAX (1u << 20)   /* a list that never ends is the broker's fault */
#define S_DESC_MAX (ZN_CLIENT_TEXT_MAX + 2 * ZN_CLIENT_IDENT_MAX + 8)
#define S_DAY_MS (86400u * 1000u)

static void s_hex_id(char out[S_HEX_ID], const uint8_t id[ZN_CLIENT_ID_LEN])
{
    sodium_bin2hex(out, S_HEX_ID, id, ZN_CLIENT_ID_LEN);
}

/* "Name (id, category)" from the convenant; "id (not in the convenant)" when absent. */
static void s_partner_desc(const zn_client *c, const char *id, char out[S_DESC_MAX])
{
    char name[ZN_CLIENT_TEXT_MAX], cat[ZN_CLIENT_IDENT_MAX], sid[ZN_CLIENT_IDENT_MAX];
    s_safe(sid, sizeof sid, id);
    for (size_t i = 0; i < zn_client_partner_count(c); i++) {
        zn_partner_info p;
        if (zn_client_partner_get(c, i, &p) != 0 || strcmp(p.id, id) != 0)
            continue;
        s_safe(name, sizeof name, p.name);
        s_safe(cat, sizeof cat, p.category);
        snprintf(out, S_DESC_MAX, "%s (%s%s%s)", name, sid, cat[0] ? ", " : "", cat);
        return;
    }
    snprintf(out, S_DESC_MAX, "%s (not in this convenant)", sid);
}

/* DATE options: YYYY-MM-DD in UTC, at 00:00 or, with end_of_day, at 23:59:59 of that day.
 * The value is not repeated in the error (it might be a BSN typed in the wrong place). */
static int s_date_opt(const s_cli *x, int opt, bool end_of_day, uint64_t *ms)
{
    *ms = 0;
    const char *v = x->v[opt];
    if (!v)
        return 0;
    if (strlen(v) != 10 || zn_parse_time(v, ms) != 0 || *ms == 0)
        return s_usage(x, "--%s takes a date as YYYY-MM-DD, such as 2027-06-30", s_specs[opt].name);
    if (end_of_day)
        *ms += S_DAY_MS - 1000u;
    return 0;
}

/* A signal or match id given as an argument; not repeated in the error either. */
static int s_id_arg(const s_cli *x, size_t i, const char *what, uint8_t id[ZN_CLIENT_ID_LEN])
{
    if (zn_parse_id(x->pos[i], id) != 0)
        return s_usage(x, "%s", what);
    return 0;
}

/* Every signal and match command is a signed request: key and handler. */
static int s_need_actor(const s_cli *x, const char *what)
{
    if (!x->opts.key_path)
        return s_usage(x, "%s needs --key (or ZORGNET_KEY)", what);
    if (!x->opts.handler)
        return s_usage(x, "%s needs --handler (or ZORGNET_HANDLER): the professional who acts; the "
                          "broker records it", what);
    return 0;
}

static void s_date(char out[ZN_ISO_TIME_LEN], uint64_t ms)
{
    zn_iso_time(out, ms);
    if (out[0] != '@')
        out[10] = '\0'; /* YYYY-MM-DD */
}

/* "ggd (...)" for a named lead, else "none named" and the proposal of the decision rules. */
static void s_lead_text(const zn_client *c, const char *lead, const char *proposed, char *out, size_t cap)
{
    char d[S_DESC_MAX];
    if (lead && *lead) {
        s_partner_desc(c, lead, d);
        snprintf(out, cap, "%s", d);
    } else if (proposed && *proposed) {
        s_partner_desc(c, proposed, d);
        snprintf(out, cap, "none named yet (proposed: %s)", d);
    } else {
        snprintf(out, cap, "none named yet");
    }
}

static void s_print_signal_add_json(const zn_signal_opts *o, const zn_signal_result *r)
{
    char hex[S_HEX_ID], iso[ZN_ISO_TIME_LEN];
    s_hex_id(hex, r->signal_id);
    zn_iso_time(iso, r->expires_ms);
    printf("{\"signal\":\"%s\",\"refreshed\":%s,\"network\":", hex, r->refreshed ? "true" : "false");
    zn_json_str(stdout, o->network, strlen(o->network));
    printf(",\"expires\":\"%s\",\"expires_ms\":%llu,\"matches\":[", iso, (unsigned long long)r->expires_ms);
    for (size_t i = 0; i < r->n_matches; i++) {
        const zn_match_info *m = &r->matches[i];
        s_hex_id(hex, m->match_id);
        printf("%s{\"match\":\"%s\"", i ? "," : "", hex);
        s_hex_id(hex, m->signal_id);
        printf(",\"signal\":\"%s\"", hex);
        s_json_text("partner", m->partner);
        s_json_text("partner_name", m->partner_name);
        s_json_text("category", m->category);
        s_json_text("network", m->network);
        s_json_null_or("contact", m->contact);
        zn_iso_time(iso, m->since_ms);
        printf(",\"link\":\"%s\",\"since\":\"%s\",\"since_ms\":%llu", m->family ? "family" : "person", iso,
               (unsigned long long)m->since_ms);
        s_json_null_or("lead", m->lead);
        s_json_null_or("proposed", m->proposed);
        printf("}");
    }
    printf("]}\n");
}

static void s_print_signal_add_text(const zn_client *c, const zn_signal_opts *o, const zn_signal_result *r)
{
    char hex[S_HEX_ID], iso[ZN_ISO_TIME_LEN], buf[S_DESC_MAX + 96];
    s_hex_id(hex, r->signal_id);
    printf("signal    %s (%s)\n", hex,
           r->refreshed ? "refreshed: this partner had registered the person already" : "new");
    printf("network   %s\n", o->network);
    zn_iso_time(iso, r->expires_ms);
    printf("expires   %s\n", iso);
    if (r->n_matches == 0) {
        printf("matches   no matches you may see\n");
    } else {
        printf("matches   %zu you may see:\n", r->n_matches);
        for (size_t i = 0; i < r->n_matches; i++) {
            const zn_match_info *m = &r->matches[i];
            s_hex_id(hex, m->match_id);
            printf("\n  match     %s\n", hex);
            if (m->partner_name[0]) {
                char name[ZN_CLIENT_TEXT_MAX];
                s_safe(name, sizeof name, m->partner_name);
                printf("  partner   %s (%s%s%s)\n", name, m->partner, m->category[0] ? ", " : "",
                       m->category);
            } else {
                printf("  partner   %s (not in this convenant)\n", m->partner);
            }
            printf("  network   %s\n", m->network);
            s_safe(buf, sizeof buf, m->contact);
            printf("  contact   %s\n", buf[0] ? buf : "(none given)");
            printf("  link      %s\n",
                   m->family ? "the same family (through a parent or sibling)" : "the same person");
            zn_iso_time(iso, m->since_ms);
            printf("  since     %s\n", iso);
            s_lead_text(c, m->lead, m->proposed, buf, sizeof buf);
            printf("  lead      %s\n", buf);
        }
    }
    printf("\nnote: under the default rules, matches through a family member or across networks go to\n"
           "      the coordinators only; a coordinator may still connect you.\n");
}

static int s_cmd_signal_add(s_cli *x)
{
    zn_err e;
    zn_err_clear(&e);
    zn_signal_opts o;
    memset(&o, 0, sizeof o);
    if (x->npos != 2)
        return s_usage(x, "signal add takes no arguments; give the person's BSN with --bsn");
    if (!x->v[O_NETWORK] || !*x->v[O_NETWORK])
        return s_usage(x, "signal add needs --network NET");
    if (!x->v[O_BSN] || !*x->v[O_BSN])
        return s_usage(x, "signal add needs --bsn BSN: the person's BSN");
    o.network = x->v[O_NETWORK];
    o.bsn = x->v[O_BSN];
    o.related = x->lists[O_RELATED].v;
    o.n_related = x->lists[O_RELATED].n;
    o.contact = x->v[O_CONTACT];
    if (s_date_opt(x, O_UNTIL, true, &o.until_ms) != 0 ||
        s_date_opt(x, O_INFORMED, false, &o.informed_ms) != 0 || s_need_actor(x, "signal add") != 0)
        return ZN_CLASS_USAGE;
    zn_signal_result *r = malloc(sizeof *r);
    if (!r)
        return s_oom(x);
    zn_client *c = zn_client_open(&x->opts, &e);
    int rc = -1;
    if (c) {
        uint64_t before = zn_client_convenant_version(c);
        rc = zn_client_signal_add(c, &o, r, &e);
        s_note_convenant(x, c, before);
        if (rc == 0 && x->json)
            s_print_signal_add_json(&o, r);
        else if (rc == 0)
            s_print_signal_add_text(c, &o, r);
    }
    zn_client_close(&c);
    free(r);
    return s_finish(x, rc, &e);
}

/* ---- paged lists (signal list, override list, handover list) */

/* One page of a list from offset into page (room for S_LIST_PAGE rows): *n rows on it, *total
 * in the whole list. 0, or -1 with e set. */
typedef int (*s_fetch_fn)(zn_client *c, void *ctx, uint64_t offset, void *page, size_t *n, uint64_t *total,
                          zn_err *e);
/* Once the first page has arrived, before its rows are printed. */
typedef void (*s_first_fn)(const s_cli *x, zn_client *c, void *ctx, uint64_t total);
/* Print one row. */
typedef void (*s_row_fn)(const s_cli *x, zn_client *c, void *ctx, const void *row);

typedef struct {
    const char *cmd;  /* the command, for its usage errors: "signal list" */
    const char *what; /* the rows, for the error of a list that never ends: "signals" */
    size_t row_size;  /* bytes of one row in the page */
    s_fetch_fn fetch;
    s_first_fn first; /* NULL: nothing */
    s_row_fn row;
} s_lister;

/* A list command (no arguments; key and handler): open the client, fetch the list page by page
 * from its start and print every row (standard output flushed after each page), note a
 * convenant the broker replaced, close. 0 with *shown (the rows shown), or the command's exit
 * status with the error shown. */
static int s_list_pages(const s_cli *x, const s_lister *l, void *ctx, uint64_t *shown)
{
    zn_err e;
    zn_err_clear(&e);
    *shown = 0;
    if (x->npos != 2)
        return s_usage(x, "%s takes no arguments", l->cmd);
    if (s_need_actor(x, l->cmd) != 0)
        return ZN_CLASS_USAGE;
    char *page = malloc(S_LIST_PAGE * l->row_size);
    if (!page)
        return s_oom(x);
    zn_client *c = zn_client_open(&x->opts, &e);
    if (!c) {
        free(page);
        return s_fail(x, &e);
    }
    uint64_t before = zn_client_convenant_version(c), offset = 0, total = 0;
    int rc = 0;
    for (uint32_t pages = 0;; pages++) {
        size_t n = 0;
        if (pages == S_LIST_PAGES_MAX) {
            rc = zn_err_set(&e, ZN_E_VERIFY, "the broker's list of %s never ended", l->what);
            break;
        }
        if ((rc = l->fetch(c, ctx, offset, page, &n, &total, &e)) != 0)
            break;
        if (pages == 0 && l->first)
            l->first(x, c, ctx, total);
        for (size_t i = 0; i < n; i++)
            l->row(x, c, ctx, page + i * l->row_size);
        if ((rc = s_flush(&e)) != 0)
            break;
        offset += n;
        if (n == 0 || offset >= total)
            break;
    }
    s_note_convenant(x, c, before);
    zn_client_close(&c);
    free(page);
    *shown = offset;
    return rc != 0 ? s_fail(x, &e) : 0;
}

/* The last line of a list: "no MANY[TAIL]" or "N ONE|MANY[TAIL]". */
static void s_print_count(uint64_t n, const char *one, const char *many, const char *tail)
{
    if (n == 0)
        printf("no %s%s\n", many, tail);
    else
        printf("%llu %s%s\n", (unsigned long long)n, n == 1 ? one : many, tail);
}

static void s_print_signal_row(const zn_signal_info *s, bool json, int wnet)
{
    char hex[S_HEX_ID], person[9], d1[ZN_ISO_TIME_LEN], d2[ZN_ISO_TIME_LEN];
    s_hex_id(hex, s->signal_id);
    sodium_bin2hex(person, sizeof person, s->person, 4); /* the first 8 hex characters */
    if (json) {
        printf("{\"signal\":\"%s\",\"person\":\"%s\",\"network\":", hex, person);
        zn_json_str(stdout, s->network, strlen(s->network));
        zn_iso_time(d1, s->created_ms);
        zn_iso_time(d2, s->expires_ms);
        printf(",\"related\":%llu,\"created\":\"%s\",\"created_ms\":%llu", (unsigned long long)s->n_related,
               d1, (unsigned long long)s->created_ms);
        printf(",\"expires\":\"%s\",\"expires_ms\":%llu", d2, (unsigned long long)s->expires_ms);
        if (s->informed_ms) {
            zn_iso_time(d1, s->informed_ms);
            printf(",\"informed\":\"%s\",\"informed_ms\":%llu", d1, (unsigned long long)s->informed_ms);
        } else {
            printf(",\"informed\":null,\"informed_ms\":0");
        }
        printf(",\"overdue\":%s,\"matches\":%llu", s->overdue ? "true" : "false",
               (unsigned long long)s->matches);
        s_json_null_or("contact", s->contact);
        s_json_null_or("handler", s->handler);
        printf("}\n");
        return;
    }
    char net[ZN_CLIENT_IDENT_MAX];
    s_safe(net, sizeof net, s->network);
    s_date(d1, s->expires_ms);
    printf("%s  %s  %-*s  %-10s  %6llu  %7llu  ", hex, person, wnet, net, d1,
           (unsigned long long)s->n_related, (unsigned long long)s->matches);
    if (s->informed_ms) {
        s_date(d2, s->informed_ms);
        printf("%s\n", d2);
    } else {
        printf("NOT informed%s\n", s->overdue ? " (overdue)" : "");
    }
}

typedef struct {
    int wnet;       /* width of the network column */
    uint64_t grace; /* the convenant's days to inform the family */
    uint64_t overdue;
} s_signal_list;

static int s_fetch_signals(zn_client *c, void *ctx, uint64_t offset, void *page, size_t *n, uint64_t *total,
                           zn_err *e)
{
    (void)ctx;
    return zn_client_signal_list(c, offset, page, S_LIST_PAGE, n, total, e);
}

/* The network column fits every network of the convenant; the header when there are signals. */
static void s_signals_first(const s_cli *x, zn_client *c, void *ctx, uint64_t total)
{
    s_signal_list *l = ctx;
    for (size_t k = 0; k < zn_client_network_count(c); k++) {
        int w = (int)strlen(zn_client_network_name(c, k));
        l->wnet = w > l->wnet ? w : l->wnet;
    }
    l->grace = zn_client_convenant(c)->policy.informed_grace_d;
    if (!x->json && total > 0)
        printf("%-32s  %-8s  %-*s  %-10s  %6s  %7s  %s\n", "SIGNAL", "PERSON", l->wnet, "NETWORK", "EXPIRES",
               "FAMILY", "MATCHES", "INFORMED");
}

static void s_signals_row(const s_cli *x, zn_client *c, void *ctx, const void *row)
{
    (void)c;
    s_signal_list *l = ctx;
    const zn_signal_info *s = row;
    s_print_signal_row(s, x->json, l->wnet);
    l->overdue += s->overdue ? 1u : 0u;
}

static const s_lister s_signal_lister = {"signal list", "signals", sizeof(zn_signal_info), s_fetch_signals,
                                         s_signals_first, s_signals_row};

static int s_cmd_signal_list(s_cli *x)
{
    zn_err e;
    zn_err_clear(&e);
    s_signal_list l = {.wnet = 7};
    uint64_t n = 0;
    int rc = s_list_pages(x, &s_signal_lister, &l, &n);
    if (rc != 0)
        return rc;
    if (!x->json) {
        s_print_count(n, "active signal", "active signals", "");
        if (l.overdue)
            printf("%llu NOT informed within the convenant's %llu days: tell the family (for a child the\n"
                   "parents, from 12 also the child), then 'zorgnet signal informed ID'\n",
                   (unsigned long long)l.overdue, (unsigned long long)l.grace);
    }
    return s_flush(&e) == 0 ? 0 : s_fail(x, &e);
}

static int s_cmd_signal_informed(s_cli *x)
{
    zn_err e;
    zn_err_clear(&e);
    uint8_t id[ZN_CLIENT_ID_LEN];
    uint64_t when = 0;
    if (x->npos != 3)
        return s_usage(x, "the command is 'zorgnet signal informed ID [--date DATE]'");
    if (s_id_arg(x, 2, "signal informed takes a signal id of 32 hex characters (as 'signal add' and "
                       "'signal list' print it)", id) != 0 ||
        s_date_opt(x, O_DATE, false, &when) != 0 || s_need_actor(x, "signal informed") != 0)
        return ZN_CLASS_USAGE;
    if (!when)
        when = zn_client_now_ms();
    zn_client *c = zn_client_open(&x->opts, &e);
    if (!c)
        return s_fail(x, &e);
    uint64_t before = zn_client_convenant_version(c);
    int rc = zn_client_signal_informed(c, id, when, &e);
    s_note_convenant(x, c, before);
    zn_client_close(&c);
    if (rc != 0)
        return s_fail(x, &e);
    char hex[S_HEX_ID], day[ZN_ISO_TIME_LEN];
    s_hex_id(hex, id);
    s_date(day, when);
    if (x->json)
        printf("{\"signal\":\"%s\",\"informed\":\"%s\",\"informed_ms\":%llu}\n", hex, day,
               (unsigned long long)when);
    else
        printf("signal %s: recorded that the family was informed on %s\n", hex, day);
    return s_flush(&e) == 0 ? 0 : s_fail(x, &e);
}

static int s_cmd_signal_withdraw(s_cli *x)
{
    zn_err e;
    zn_err_clear(&e);
    uint8_t id[ZN_CLIENT_ID_LEN];
    if (x->npos != 3)
        return s_usage(x, "the command is 'zorgnet signal withdraw ID'");
    if (s_id_arg(x, 2, "signal withdraw takes a signal id of 32 hex characters (as 'signal add' and "
                       "'signal list' print it)", id) != 0 ||
        s_need_actor(x, "signal withdraw") != 0)
        return ZN_CLASS_USAGE;
    zn_client *c = zn_client_open(&x->opts, &e);
    if (!c)
        return s_fail(x, &e);
    uint64_t before = zn_client_convenant_version(c);
    bool early = false;
    int rc = zn_client_signal_withdraw(c, id, &early, &e);
    uint64_t min_days = zn_client_convenant(c)->policy.signal_min_lifetime_d;
    s_note_convenant(x, c, before);
    zn_client_close(&c);
    if (rc != 0)
        return s_fail(x, &e);
    char hex[S_HEX_ID];
    s_hex_id(hex, id);
    if (x->json) {
        printf("{\"signal\":\"%s\",\"withdrawn\":true,\"early\":%s,\"counted_as_lookup\":%s}\n", hex,
               early ? "true" : "false", early ? "true" : "false");
    } else {
        printf("signal %s withdrawn\n", hex);
        if (early)
            printf("it stood less than the convenant's minimum lifetime of %llu days, so it counted as a\n"
                   "look-up: it is flagged in the audit log and counts against this partner's daily\n"
                   "limit of new signals\n",
                   (unsigned long long)min_days);
    }
    return s_flush(&e) == 0 ? 0 : s_fail(x, &e);
}

static int s_cmd_signal(s_cli *x)
{
    static const s_sub subs[] = {{"add", s_cmd_signal_add},
                                 {"list", s_cmd_signal_list},
                                 {"informed", s_cmd_signal_informed},
                                 {"withdraw", s_cmd_signal_withdraw}};
    if (x->npos < 2)
        return s_usage(x, "the signal commands are 'zorgnet signal add|list|informed|withdraw'");
    return s_run_sub(x, subs, sizeof subs / sizeof subs[0],
                     "unknown signal command; use add, list, informed or withdraw");
}

/* ---- match notices */

static const char *const s_match_notices[] = {"match", "match-review", "match-lead", "enumeration-suspected"};

static bool s_want_match(const void *ctx, const zn_item *it)
{
    (void)ctx;
    if (it->kind != ZN_ITEM_KIND_NOTICE || !it->valid)
        return false;
    for (size_t i = 0; i < sizeof s_match_notices / sizeof s_match_notices[0]; i++)
        if (strcmp(it->notice_type, s_match_notices[i]) == 0)
            return true;
    return false;
}

/* A notice field's value ("" when absent), made printable. */
static const char *s_field(const zn_item *it, const char *key, char *buf, size_t cap)
{
    buf[0] = '\0';
    for (size_t i = 0; i < it->n_fields; i++)
        if (strcmp(it->fields[i].key, key) == 0) {
            s_safe(buf, cap, it->fields[i].value);
            break;
        }
    return buf;
}

/* A time field (unix ms) as ISO text; "" when absent or not a number. */
static const char *s_field_time(const zn_item *it, const char *key, char out[ZN_ISO_TIME_LEN])
{
    char v[ZN_CLIENT_FIELD_MAX];
    uint64_t ms = 0;
    out[0] = '\0';
    if (*s_field(it, key, v, sizeof v) && zn_parse_u64(v, UINT64_MAX, &ms) == 0)
        zn_iso_time(out, ms);
    return out;
}

static const char *s_link_words(const char *link)
{
    if (strcmp(link, "person") == 0)
        return "the same person";
    if (strcmp(link, "family") == 0)
        return "the same family (through a parent or sibling)";
    return link[0] ? link : "(not stated)";
}

static void s_print_match_notice(zn_client *c, const zn_item *it)
{
    char match[ZN_CLIENT_FIELD_MAX], v[ZN_CLIENT_FIELD_MAX], v2[ZN_CLIENT_FIELD_MAX], d[S_DESC_MAX],
        line[S_DESC_MAX + 2 * ZN_CLIENT_FIELD_MAX], iso[ZN_ISO_TIME_LEN];
    s_field(it, "match", match, sizeof match);
    s_partner_desc(c, s_field(it, "partner", v, sizeof v), d);
    printf("match %s: %s also has a signal on %s\n", match, d,
           s_link_words(s_field(it, "link", v, sizeof v)));
    printf("  your signal   %s\n", s_field(it, "signal", v, sizeof v));
    printf("  network       %s\n", s_field(it, "network", v, sizeof v));
    printf("  contact       %s\n", *s_field(it, "contact", v, sizeof v) ? v : "(none given)");
    printf("  since         %s\n", s_field_time(it, "since", iso));
    s_lead_text(c, s_field(it, "lead", v, sizeof v), s_field(it, "proposed", v2, sizeof v2), line,
                sizeof line);
    printf("  lead          %s\n", line);
    if (*s_field(it, "connected_by", v, sizeof v)) {
        s_partner_desc(c, v, d);
        printf("  connected by  %s\n", d);
    }
}

static void s_print_review_notice(zn_client *c, const zn_item *it)
{
    char match[ZN_CLIENT_FIELD_MAX], v[ZN_CLIENT_FIELD_MAX], v2[ZN_CLIENT_FIELD_MAX], d[S_DESC_MAX],
        line[S_DESC_MAX + 2 * ZN_CLIENT_FIELD_MAX], iso[ZN_ISO_TIME_LEN], an[ZN_CLIENT_FIELD_MAX],
        bn[ZN_CLIENT_FIELD_MAX];
    s_field(it, "match", match, sizeof match);
    s_field(it, "a_network", an, sizeof an);
    s_field(it, "b_network", bn, sizeof bn);
    printf("match %s for review: two partners have a signal on %s%s\n", match,
           s_link_words(s_field(it, "link", v, sizeof v)), strcmp(an, bn) != 0 ? ", across networks" : "");
    static const char *const side[2][3] = {{"a_partner", "a_network", "a_contact"},
                                           {"b_partner", "b_network", "b_contact"}};
    for (int k = 0; k < 2; k++) {
        s_partner_desc(c, s_field(it, side[k][0], v, sizeof v), d);
        printf("  partner       %s in %s\n", d, s_field(it, side[k][1], v, sizeof v));
        printf("      contact   %s\n", *s_field(it, side[k][2], v2, sizeof v2) ? v2 : "(none given)");
    }
    if (strcmp(s_field(it, "disclosure", v, sizeof v), "partners") == 0)
        printf("  told          both partners and the coordinators\n");
    else
        printf("  told          only the coordinators; 'zorgnet match connect %s' tells the\n"
               "                partners about each other\n", match);
    printf("  since         %s\n", s_field_time(it, "since", iso));
    s_lead_text(c, s_field(it, "lead", v, sizeof v), s_field(it, "proposed", v2, sizeof v2), line,
                sizeof line);
    printf("  lead          %s\n", line);
    if (!*s_field(it, "lead", v, sizeof v))
        printf("                'zorgnet match lead %s --partner ID' names one\n", match);
}

static void s_print_lead_notice(zn_client *c, const zn_item *it)
{
    char match[ZN_CLIENT_FIELD_MAX], v[ZN_CLIENT_FIELD_MAX], d[S_DESC_MAX];
    s_field(it, "match", match, sizeof match);
    s_partner_desc(c, s_field(it, "lead", v, sizeof v), d);
    printf("match %s: the lead partner (regiehouder) is now %s\n", match, d);
    s_partner_desc(c, s_field(it, "by", v, sizeof v), d);
    printf("  named by      %s\n", d);
}

static void s_print_enum_notice(zn_client *c, const zn_item *it)
{
    char v[ZN_CLIENT_FIELD_MAX], d[S_DESC_MAX];
    s_partner_desc(c, s_field(it, "partner", v, sizeof v), d);
    printf("possible enumeration: %s went over a limit on signals\n", d);
    printf("  handler       %s\n", *s_field(it, "handler", v, sizeof v) ? v : "-");
    printf("  network       %s\n", *s_field(it, "network", v, sizeof v) ? v : "-");
    s_field(it, "limit", v, sizeof v);
    printf("  limit         %s\n", strcmp(v, "partner-day") == 0   ? "new signals per partner per day"
                                   : strcmp(v, "handler-day") == 0 ? "new signals per handler per day"
                                                                   : v);
    printf("  count         %s\n", s_field(it, "count", v, sizeof v));
}

static int s_show_match(const s_cli *x, zn_client *c, const zn_item *it, zn_err *e)
{
    if (x->json)
        return s_print_json(it, e);
    char iso[ZN_ISO_TIME_LEN];
    if (strcmp(it->notice_type, "match") == 0)
        s_print_match_notice(c, it);
    else if (strcmp(it->notice_type, "match-review") == 0)
        s_print_review_notice(c, it);
    else if (strcmp(it->notice_type, "match-lead") == 0)
        s_print_lead_notice(c, it);
    else
        s_print_enum_notice(c, it);
    zn_iso_time(iso, it->time_ms);
    printf("  time          %s\n\n", iso);
    return s_flush(e);
}

static int s_cmd_matches(s_cli *x)
{
    zn_err e;
    zn_err_clear(&e);
    int wait_ms = 0;
    if (x->npos != 1)
        return s_usage(x, "matches takes no arguments");
    if (x->v[O_WAIT] && zn_parse_seconds(x->v[O_WAIT], 0, S_WAIT_MAX_MS, &wait_ms) != 0)
        return s_usage(x, "--wait takes seconds from 0 to 86400, such as 30 or 0.5");
    if (!x->opts.key_path)
        return s_usage(x, "matches needs --key (or ZORGNET_KEY)");
    size_t shown;
    bool invalid;
    if (s_items_run(x, wait_ms, s_want_match, NULL, s_show_match, &shown, &invalid, &e) != 0)
        return s_fail(x, &e);
    if (shown == 0 && !x->json)
        printf("no new match notices\n");
    return s_flush(&e) == 0 ? 0 : s_fail(x, &e);
}

/* ---- coordinators: connect and lead */

static int s_cmd_match(s_cli *x)
{
    zn_err e;
    zn_err_clear(&e);
    const char *sub = x->npos > 1 ? x->pos[1] : "";
    bool lead = strcmp(sub, "lead") == 0;
    if (x->npos != 3 || (!lead && strcmp(sub, "connect") != 0))
        return s_usage(x, "the match commands are 'zorgnet match connect MATCH' and 'zorgnet match lead "
                          "MATCH --partner ID'");
    uint8_t id[ZN_CLIENT_ID_LEN];
    const char *partner = x->v[O_PARTNER];
    if (s_id_arg(x, 2, "MATCH is a match id of 32 hex characters (as 'zorgnet matches' prints it)", id) != 0)
        return ZN_CLASS_USAGE;
    if (lead && (!partner || !*partner))
        return s_usage(x, "match lead needs --partner ID: the partner that becomes the lead (regiehouder)");
    if (lead && !zn_ident_valid(partner))
        return s_usage(x, "--partner takes a partner id of 1 to 63 characters a-z, 0-9, '.', '-', '_'");
    if (s_need_actor(x, lead ? "match lead" : "match connect") != 0)
        return ZN_CLASS_USAGE;
    zn_client *c = zn_client_open(&x->opts, &e);
    if (!c)
        return s_fail(x, &e);
    uint64_t before = zn_client_convenant_version(c);
    int rc = lead ? zn_client_match_lead(c, id, partner, &e) : zn_client_match_connect(c, id, &e);
    s_note_convenant(x, c, before);
    char hex[S_HEX_ID], d[S_DESC_MAX];
    s_hex_id(hex, id);
    if (rc == 0 && lead)
        s_partner_desc(c, partner, d);
    zn_client_close(&c);
    if (rc != 0)
        return s_fail(x, &e);
    if (x->json && lead) {
        printf("{\"match\":\"%s\",\"lead\":", hex);
        zn_json_str(stdout, partner, strlen(partner));
        printf("}\n");
    } else if (x->json) {
        printf("{\"match\":\"%s\",\"connected\":true}\n", hex);
    } else if (lead) {
        printf("match %s: %s is now the lead partner (regiehouder);\n"
               "the partners and coordinators are told\n",
               hex, d);
    } else {
        printf("match %s: the partners were told about each other\n", hex);
    }
    return s_flush(&e) == 0 ? 0 : s_fail(x, &e);
}

/* ------------------------------------------------------------------ cases, consent, overrides, handovers */

/* --case CASE, required by `what`. */
static int s_case_opt(const s_cli *x, const char *what, uint8_t id[ZN_CLIENT_ID_LEN])
{
    if (!x->v[O_CASE])
        return s_usage(x, "%s needs --case CASE (the id 'zorgnet case new' printed)", what);
    if (zn_parse_id(x->v[O_CASE], id) != 0)
        return s_usage(x, "--case takes a case id of 32 hex characters");
    return 0;
}

/* ,"key":"ISO","key_ms":N, or null and 0 when ms is 0. */
static void s_json_time(const char *key, uint64_t ms)
{
    char iso[ZN_ISO_TIME_LEN];
    if (ms) {
        zn_iso_time(iso, ms);
        printf(",\"%s\":\"%s\",\"%s_ms\":%llu", key, iso, key, (unsigned long long)ms);
    } else {
        printf(",\"%s\":null,\"%s_ms\":0", key, key);
    }
}

static void s_json_ids(const char *key, const char (*ids)[ZN_CLIENT_IDENT_MAX], size_t n)
{
    printf(",\"%s\":[", key);
    for (size_t i = 0; i < n; i++) {
        printf("%s", i ? "," : "");
        zn_json_str(stdout, ids[i], strlen(ids[i]));
    }
    printf("]");
}

/* "a, b, c" or "-" */
static void s_print_ids(const char (*ids)[ZN_CLIENT_IDENT_MAX], size_t n)
{
    if (n == 0)
        fputs("-", stdout);
    for (size_t i = 0; i < n; i++)
        printf("%s%s", i ? ", " : "", ids[i]);
}

/* A multi-line text after a label: continuation lines indented by `indent` spaces; control
 * characters other than newlines shown as '?'. */
static void s_print_block(const char *text, int indent)
{
    const char *p = text;
    for (bool first = true;; first = false) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        char line[ZN_CLIENT_SEALED_MAX + 1];
        zn_text_sanitize(line, sizeof line, p, n);
        printf("%*s%s\n", first ? 0 : indent, "", line);
        if (!nl)
            break;
        p = nl + 1;
    }
}

static void s_time_or(char out[ZN_ISO_TIME_LEN], uint64_t ms, const char *none)
{
    if (ms)
        zn_iso_time(out, ms);
    else
        snprintf(out, ZN_ISO_TIME_LEN, "%s", none);
}

/* ---- handover and override rows (case show, lists) */

/* "  LABEL         ISO" (the label padded to 13 characters): a time in a row shown as text. */
static void s_print_when(const char *label, uint64_t ms)
{
    char iso[ZN_ISO_TIME_LEN];
    zn_iso_time(iso, ms);
    printf("  %-13s %s\n", label, iso);
}

/* {"KIND":"ID","case":"CASE" (the object is left open). */
static void s_json_row_head(const char *kind, const uint8_t id[ZN_CLIENT_ID_LEN],
                            const uint8_t case_id[ZN_CLIENT_ID_LEN])
{
    printf("{\"%s\":\"", kind);
    s_print_hex(id, ZN_CLIENT_ID_LEN);
    printf("\"");
    s_json_hexn("case", case_id, ZN_CLIENT_ID_LEN);
}

/* ,"from":..,"handler":..,"to":.. (the handler shown as s_safe makes it). */
static void s_json_parties(const char *from, const char *handler, const char *to)
{
    char safe[ZN_CLIENT_TEXT_MAX];
    s_safe(safe, sizeof safe, handler);
    s_json_text("from", from);
    s_json_text("handler", safe);
    s_json_text("to", to);
}

/* The from (with its handler) and to lines of an override or a handover. */
static void s_print_parties(const zn_client *c, const char *from, const char *handler, const char *to)
{
    char d[S_DESC_MAX], buf[ZN_CLIENT_TEXT_MAX];
    s_partner_desc(c, from, d);
    s_safe(buf, sizeof buf, handler);
    printf("  from          %s, handler \"%s\"\n", d, buf);
    s_partner_desc(c, to, d);
    printf("  to            %s\n", d);
}

static void s_print_handover_json(const zn_handover_info *h)
{
    s_json_row_head("handover", h->handover_id, h->case_id);
    s_json_parties(h->from, h->handler, h->to);
    s_json_hexn("msgid", h->msgid, ZN_CLIENT_ID_LEN);
    s_json_time("offered", h->offered_ms);
    s_json_time("timeout", h->timeout_ms);
    s_json_text("state", h->state);
    s_json_time("decided", h->decided_ms);
    printf(",\"escalated\":%s", h->escalated ? "true" : "false");
    s_json_null_or("reason", h->reason);
    printf(",\"reason_sealed\":%s}", strcmp(h->state, "declined") == 0 && !h->reason[0] ? "true" : "false");
}

static void s_print_handover_text(const zn_client *c, const zn_handover_info *h, bool with_case)
{
    char hex[S_HEX_ID];
    s_hex_id(hex, h->handover_id);
    printf("handover  %s  %s\n", hex, h->state);
    if (with_case) {
        s_hex_id(hex, h->case_id);
        printf("  case          %s\n", hex);
    }
    s_print_parties(c, h->from, h->handler, h->to);
    s_hex_id(hex, h->msgid);
    printf("  dossier       message %s\n", hex);
    s_print_when("offered", h->offered_ms);
    s_print_when("answer by", h->timeout_ms);
    if (h->decided_ms)
        s_print_when("decided", h->decided_ms);
    if (h->escalated)
        printf("  escalated     yes: not answered in time, the coordinators were told\n");
    if (strcmp(h->state, "declined") == 0) {
        printf("  reason        ");
        if (h->reason[0])
            s_print_block(h->reason, 16);
        else
            printf("(sealed to the offering partner and the auditors)\n");
    }
}

static void s_print_override_json(const zn_override_info *o)
{
    s_json_row_head("override", o->override_id, o->case_id);
    s_json_text("network", o->network);
    s_json_parties(o->from, o->handler, o->to);
    printf(",\"step\":%u", o->step);
    s_json_text("step_name", zn_meldcode_step_name(o->step));
    s_json_time("created", o->created_ms);
    s_json_time("expires", o->expires_ms);
    s_json_time("review_by", o->review_by_ms);
    s_json_text("state", o->state);
    s_json_null_or("reviewed_by", o->reviewed_by);
    s_json_time("reviewed", o->reviewed_ms);
    printf(",\"escalated\":%s", o->escalated ? "true" : "false");
    s_json_null_or("justification", o->justification);
    s_json_null_or("note", o->note);
    printf(",\"note_sealed\":%s,\"justification_sealed\":%s}", o->has_note && !o->note[0] ? "true" : "false",
           o->justification[0] ? "false" : "true");
}

static void s_print_override_text(const zn_client *c, const zn_override_info *o)
{
    char hex[S_HEX_ID], d[S_DESC_MAX], iso[ZN_ISO_TIME_LEN];
    s_hex_id(hex, o->override_id);
    printf("override  %s  %s\n", hex, o->state);
    s_hex_id(hex, o->case_id);
    printf("  case          %s (network %s)\n", hex, o->network);
    s_print_parties(c, o->from, o->handler, o->to);
    printf("  step          %u: %s\n", o->step, zn_meldcode_step_name(o->step));
    s_print_when("created", o->created_ms);
    s_print_when("expires", o->expires_ms);
    s_print_when("review by", o->review_by_ms);
    if (o->reviewed_by[0]) {
        s_partner_desc(c, o->reviewed_by, d);
        zn_iso_time(iso, o->reviewed_ms);
        printf("  reviewed      by %s on %s%s\n", d, iso, o->reviewed_ms > o->review_by_ms ? " (late)" : "");
    }
    if (o->escalated)
        printf("  escalated     yes: not reviewed in time, the auditors were told\n");
    printf("  justification ");
    if (o->justification[0])
        s_print_block(o->justification, 16);
    else
        printf("(sealed to the coordinators and the auditors)\n");
    if (o->has_note) {
        printf("  note          ");
        if (o->note[0])
            s_print_block(o->note, 16);
        else
            printf("(sealed to the author, the coordinators and the auditors)\n");
    }
}

/* ---- case new / show / close / link */

static void s_print_case_json(const zn_case_info *ci)
{
    printf("{\"case\":\"");
    s_print_hex(ci->case_id, ZN_CLIENT_ID_LEN);
    printf("\"");
    s_json_text("network", ci->network);
    s_json_text("regisseur", ci->regisseur);
    s_json_time("created", ci->created_ms);
    s_json_time("closed", ci->closed_ms);
    printf(",\"identified\":%s,\"members\":[", ci->identified ? "true" : "false");
    for (size_t i = 0; i < ci->n_members; i++) {
        printf("%s{\"partner\":", i ? "," : "");
        zn_json_str(stdout, ci->members[i].partner, strlen(ci->members[i].partner));
        s_json_text("how", ci->members[i].how);
        s_json_time("since", ci->members[i].since_ms);
        printf("}");
    }
    printf("],\"consent\":{\"seq\":%llu", (unsigned long long)ci->consent_seq);
    s_json_text("state", ci->consent_state);
    s_json_ids("scope", (const char(*)[ZN_CLIENT_IDENT_MAX])ci->scope, ci->n_scope);
    s_json_time("until", ci->consent_until_ms);
    s_json_time("at", ci->consent_at_ms);
    printf("},\"handovers\":[");
    for (size_t i = 0; i < ci->n_handovers; i++) {
        printf("%s", i ? "," : "");
        s_print_handover_json(&ci->handovers[i]);
    }
    printf("],\"overrides\":[");
    for (size_t i = 0; i < ci->n_overrides; i++) {
        printf("%s", i ? "," : "");
        s_print_override_json(&ci->overrides[i]);
    }
    printf("]}\n");
}

static void s_print_case_text(const zn_client *c, const zn_case_info *ci)
{
    char hex[S_HEX_ID], d[S_DESC_MAX], iso[ZN_ISO_TIME_LEN], iso2[ZN_ISO_TIME_LEN];
    s_hex_id(hex, ci->case_id);
    printf("case      %s\n", hex);
    printf("network   %s\n", ci->network);
    s_partner_desc(c, ci->regisseur, d);
    printf("regisseur %s\n", d);
    zn_iso_time(iso, ci->created_ms);
    printf("created   %s\n", iso);
    s_time_or(iso, ci->closed_ms, "no (open)");
    printf("closed    %s\n", iso);
    printf("mode      %s\n", ci->identified ? "identified: a person is linked to the case"
                                            : "anonymous: no person is linked to the case");
    int w = 7;
    for (size_t i = 0; i < ci->n_members; i++)
        w = (int)strlen(ci->members[i].partner) > w ? (int)strlen(ci->members[i].partner) : w;
    printf("members   %zu\n", ci->n_members);
    for (size_t i = 0; i < ci->n_members; i++) {
        zn_iso_time(iso, ci->members[i].since_ms);
        printf("  %-*s  %-9s  since %s\n", w, ci->members[i].partner, ci->members[i].how, iso);
    }
    if (ci->consent_seq == 0) {
        printf("consent   none recorded\n");
    } else {
        zn_iso_time(iso, ci->consent_at_ms);
        printf("consent   %s (record %llu, %s)\n", ci->consent_state, (unsigned long long)ci->consent_seq, iso);
        printf("scope     ");
        s_print_ids((const char(*)[ZN_CLIENT_IDENT_MAX])ci->scope, ci->n_scope);
        s_time_or(iso, ci->consent_until_ms, "none (until withdrawn)");
        printf("\nuntil     %s\n", iso);
    }
    if (ci->n_handovers == 0)
        printf("handovers none open\n");
    else
        printf("handovers %zu open\n", ci->n_handovers);
    for (size_t i = 0; i < ci->n_handovers; i++) {
        const zn_handover_info *h = &ci->handovers[i];
        s_hex_id(hex, h->handover_id);
        zn_iso_time(iso, h->offered_ms);
        zn_iso_time(iso2, h->timeout_ms);
        printf("  %s  %s -> %s, offered %s, answer by %s%s\n", hex, h->from, h->to, iso, iso2,
               h->escalated ? ", escalated to the coordinators" : "");
    }
    if (ci->n_overrides == 0)
        printf("overrides none standing\n");
    else
        printf("overrides %zu standing\n", ci->n_overrides);
    for (size_t i = 0; i < ci->n_overrides; i++) {
        const zn_override_info *o = &ci->overrides[i];
        s_hex_id(hex, o->override_id);
        zn_iso_time(iso, o->expires_ms);
        zn_iso_time(iso2, o->review_by_ms);
        printf("  %s  %s -> %s, step %u (%s), %s, expires %s, review by %s%s\n", hex, o->from, o->to, o->step,
               zn_meldcode_step_name(o->step), o->state, iso, iso2,
               o->escalated ? ", escalated to the auditors" : "");
    }
}

static int s_cmd_case_show(s_cli *x)
{
    zn_err e;
    zn_err_clear(&e);
    uint8_t id[ZN_CLIENT_ID_LEN];
    if (x->npos != 3)
        return s_usage(x, "the command is 'zorgnet case show CASE'");
    if (s_id_arg(x, 2, "case show takes a case id of 32 hex characters", id) != 0 ||
        s_need_actor(x, "case show") != 0)
        return ZN_CLASS_USAGE;
    zn_case_info *ci = malloc(sizeof *ci);
    if (!ci)
        return s_oom(x);
    zn_client *c = zn_client_open(&x->opts, &e);
    int rc = -1;
    if (c) {
        uint64_t before = zn_client_convenant_version(c);
        rc = zn_client_case_show(c, id, ci, &e);
        s_note_convenant(x, c, before);
        if (rc == 0 && x->json)
            s_print_case_json(ci);
        else if (rc == 0)
            s_print_case_text(c, ci);
    }
    zn_client_close(&c);
    free(ci);
    return s_finish(x, rc, &e);
}

static int s_cmd_case_close(s_cli *x)
{
    zn_err e;
    zn_err_clear(&e);
    uint8_t id[ZN_CLIENT_ID_LEN];
    if (x->npos != 3)
        return s_usage(x, "the command is 'zorgnet case close CASE'");
    if (s_id_arg(x, 2, "case close takes a case id of 32 hex characters", id) != 0 ||
        s_need_actor(x, "case close") != 0)
        return ZN_CLASS_USAGE;
    zn_client *c = zn_client_open(&x->opts, &e);
    if (!c)
        return s_fail(x, &e);
    uint64_t before = zn_client_convenant_version(c), closed = 0;
    int rc = zn_client_case_close(c, id, &closed, &e);
    uint64_t days = zn_client_convenant(c)->policy.retention_days;
    s_note_convenant(x, c, before);
    zn_client_close(&c);
    if (rc != 0)
        return s_fail(x, &e);
    char hex[S_HEX_ID], iso[ZN_ISO_TIME_LEN];
    s_hex_id(hex, id);
    if (x->json) {
        printf("{\"case\":\"%s\"", hex);
        s_json_time("closed", closed);
        printf("}\n");
    } else {
        zn_iso_time(iso, closed);
        printf("case %s closed on %s; nothing more is recorded on it, and it is deleted %llu days later\n"
               "(the convenant's retention_days)\n", hex, iso, (unsigned long long)days);
    }
    return s_flush(&e) == 0 ? 0 : s_fail(x, &e);
}

static int s_cmd_case_link(s_cli *x)
{
    zn_err e;
    zn_err_clear(&e);
    uint8_t id[ZN_CLIENT_ID_LEN];
    if (x->npos != 2)
        return s_usage(x, "case link takes no arguments: 'zorgnet case link --case CASE --bsn BSN "
                          "[--related BSN ...]'");
    if (s_case_opt(x, "case link", id) != 0)
        return ZN_CLASS_USAGE;
    if (!x->v[O_BSN] || !*x->v[O_BSN])
        return s_usage(x, "case link needs --bsn BSN: the person the case is about");
    if (s_need_actor(x, "case link") != 0)
        return ZN_CLASS_USAGE;
    char(*told)[ZN_CLIENT_IDENT_MAX] = calloc(S_LIST_PAGE, sizeof *told);
    if (!told)
        return s_oom(x);
    zn_client *c = zn_client_open(&x->opts, &e);
    int rc = -1;
    size_t n = 0;
    if (c) {
        uint64_t before = zn_client_convenant_version(c);
        rc = zn_client_case_link(c, id, x->v[O_BSN], x->lists[O_RELATED].v, x->lists[O_RELATED].n, told,
                                 S_LIST_PAGE, &n, &e);
        s_note_convenant(x, c, before);
        char hex[S_HEX_ID], d[S_DESC_MAX];
        s_hex_id(hex, id);
        if (rc == 0 && x->json) {
            printf("{\"case\":\"%s\",\"linked\":true", hex);
            s_json_ids("told", (const char(*)[ZN_CLIENT_IDENT_MAX])told, n);
            printf("}\n");
        } else if (rc == 0) {
            printf("case %s is linked to the person now (identified)\n", hex);
            if (n == 0)
                printf("told      nobody: the consent's scope names no other partner\n");
            else
                printf("told      %zu %s in the consent's scope:\n", n, n == 1 ? "partner" : "partners");
            for (size_t i = 0; i < n; i++) {
                s_partner_desc(c, told[i], d);
                printf("  %s\n", d);
            }
        }
    }
    zn_client_close(&c);
    free(told);
    return s_finish(x, rc, &e);
}

static int s_cmd_case(s_cli *x)
{
    static const s_sub subs[] = {
        {"new", s_cmd_case_new}, {"show", s_cmd_case_show}, {"close", s_cmd_case_close}, {"link", s_cmd_case_link}};
    return s_run_sub(x, subs, sizeof subs / sizeof subs[0], "the case commands are 'zorgnet case new|show|close|link'");
}

/* ---- consent */

static int s_cmd_consent_set(s_cli *x)
{
    zn_err e;
    zn_err_clear(&e);
    uint8_t id[ZN_CLIENT_ID_LEN];
    zn_consent_opts o;
    char scope[ZN_CLIENT_SCOPE_MAX][ZN_CLIENT_IDENT_MAX];
    const char *scope_p[ZN_CLIENT_SCOPE_MAX];
    size_t n_scope = 0;
    memset(&o, 0, sizeof o);
    if (x->npos != 2)
        return s_usage(x, "consent set takes no arguments; give the state with --state");
    if (s_case_opt(x, "consent set", id) != 0)
        return ZN_CLASS_USAGE;
    if (!x->v[O_STATE] || !*x->v[O_STATE])
        return s_usage(x, "consent set needs --state requested|granted|refused|withdrawn");
    if (x->v[O_SCOPE] && zn_id_list_parse(x->v[O_SCOPE], "--scope", scope, ZN_CLIENT_SCOPE_MAX, &n_scope, &e) != 0)
        return s_fail(x, &e);
    for (size_t i = 0; i < n_scope; i++)
        scope_p[i] = scope[i];
    o.state = x->v[O_STATE];
    o.scope = scope_p;
    o.n_scope = n_scope;
    o.given_by = x->v[O_GIVEN_BY];
    o.age_band = x->v[O_AGE_BAND];
    if (s_date_opt(x, O_UNTIL, true, &o.until_ms) != 0 || s_need_actor(x, "consent set") != 0)
        return ZN_CLASS_USAGE;
    char *purpose_buf = NULL;
    int bad = s_text_opt(x, O_PURPOSE, O_PURPOSE_FILE, &o.purpose, &purpose_buf);
    if (bad)
        return bad;
    zn_client *c = zn_client_open(&x->opts, &e);
    uint64_t seq = 0;
    int rc = -1;
    if (c) {
        uint64_t before = zn_client_convenant_version(c);
        rc = zn_client_consent_set(c, id, &o, &seq, &e);
        s_note_convenant(x, c, before);
    }
    zn_client_close(&c);
    bool purpose = o.purpose && *o.purpose;
    s_text_free(purpose_buf);
    o.purpose = NULL;
    if (rc != 0)
        return s_fail(x, &e);
    char hex[S_HEX_ID], iso[ZN_ISO_TIME_LEN], given[64];
    s_hex_id(hex, id);
    const char *band = o.age_band && *o.age_band ? o.age_band : "";
    unsigned bits = 0;
    given[0] = '\0';
    if (o.given_by && *o.given_by && zn_given_parse(o.given_by, &bits) == 0)
        zn_given_format(bits, given, sizeof given); /* in the order the record keeps */
    if (x->json) {
        printf("{\"case\":\"%s\",\"seq\":%llu", hex, (unsigned long long)seq);
        s_json_text("state", o.state);
        s_json_ids("scope", (const char(*)[ZN_CLIENT_IDENT_MAX])scope, n_scope);
        s_json_list("given_by", given);
        s_json_null_or("age_band", band);
        s_json_time("until", o.until_ms);
        printf(",\"purpose_sealed\":%s}\n", purpose ? "true" : "false");
    } else {
        printf("consent record %llu on case %s: %s\n", (unsigned long long)seq, hex, o.state);
        printf("scope     ");
        s_print_ids((const char(*)[ZN_CLIENT_IDENT_MAX])scope, n_scope);
        printf("\ngiven by  %s\n", given[0] ? given : "-");
        printf("age band  %s\n", band[0] ? band : "-");
        s_time_or(iso, o.until_ms, "none (until withdrawn)");
        printf("until     %s\n", iso);
        printf("purpose   %s\n", purpose ? "sealed to the auditors" : "none given");
    }
    return s_flush(&e) == 0 ? 0 : s_fail(x, &e);
}

static void s_print_consent_json(const zn_consent_info *r)
{
    printf("{\"seq\":%llu", (unsigned long long)r->seq);
    s_json_text("state", r->state);
    s_json_ids("scope", (const char(*)[ZN_CLIENT_IDENT_MAX])r->scope, r->n_scope);
    s_json_list("given_by", r->given_by);
    s_json_null_or("age_band", r->age_band);
    s_json_time("until", r->until_ms);
    s_json_time("at", r->at_ms);
    s_json_text("handler", r->handler);
    s_json_null_or("purpose", r->purpose);
    printf(",\"purpose_sealed\":%s}", r->has_purpose && !r->purpose[0] ? "true" : "false");
}

static void s_print_purpose(const zn_consent_info *r, int indent)
{
    if (!r->has_purpose)
        printf("(none given)\n");
    else if (r->purpose[0])
        s_print_block(r->purpose, indent);
    else
        printf("(sealed to the auditors)\n");
}

static int s_cmd_consent_show(s_cli *x)
{
    zn_err e;
    zn_err_clear(&e);
    uint8_t id[ZN_CLIENT_ID_LEN];
    if (x->npos != 2)
        return s_usage(x, "consent show takes no arguments: 'zorgnet consent show --case CASE'");
    if (s_case_opt(x, "consent show", id) != 0 || s_need_actor(x, "consent show") != 0)
        return ZN_CLASS_USAGE;
    zn_consent_info *h = malloc(S_LIST_PAGE * sizeof *h);
    if (!h)
        return s_oom(x);
    zn_client *c = zn_client_open(&x->opts, &e);
    int rc = -1;
    size_t n = 0;
    if (c) {
        uint64_t before = zn_client_convenant_version(c);
        rc = zn_client_consent_show(c, id, h, S_LIST_PAGE, &n, &e);
        s_note_convenant(x, c, before);
    }
    zn_client_close(&c);
    char hex[S_HEX_ID], iso[ZN_ISO_TIME_LEN], buf[ZN_CLIENT_TEXT_MAX];
    s_hex_id(hex, id);
    if (rc == 0 && x->json) {
        printf("{\"case\":\"%s\",\"current\":", hex);
        if (n)
            s_print_consent_json(&h[n - 1]);
        else
            printf("null");
        printf(",\"history\":[");
        for (size_t i = 0; i < n; i++) {
            printf("%s", i ? "," : "");
            s_print_consent_json(&h[i]);
        }
        printf("]}\n");
    } else if (rc == 0) {
        printf("case      %s\n", hex);
        if (n == 0) {
            printf("consent   none recorded\n");
        } else {
            const zn_consent_info *r = &h[n - 1];
            zn_iso_time(iso, r->at_ms);
            s_safe(buf, sizeof buf, r->handler);
            printf("consent   %s (record %llu, recorded %s, handler \"%s\")\n", r->state,
                   (unsigned long long)r->seq, iso, buf);
            printf("scope     ");
            s_print_ids((const char(*)[ZN_CLIENT_IDENT_MAX])r->scope, r->n_scope);
            printf("\ngiven by  %s\n", r->given_by[0] ? r->given_by : "-");
            printf("age band  %s\n", r->age_band[0] ? r->age_band : "-");
            s_time_or(iso, r->until_ms, "none (until withdrawn)");
            printf("until     %s\n", iso);
            printf("purpose   ");
            s_print_purpose(r, 10);
            printf("\nhistory   %zu %s, oldest first:\n", n, n == 1 ? "record" : "records");
            for (size_t i = 0; i < n; i++) {
                r = &h[i];
                zn_iso_time(iso, r->at_ms);
                s_safe(buf, sizeof buf, r->handler);
                printf("  #%llu %s %s scope=", (unsigned long long)r->seq, iso, r->state);
                for (size_t k = 0; k < r->n_scope; k++)
                    printf("%s%s", k ? "," : "", r->scope[k]);
                printf("%s given_by=%s age_band=%s until=", r->n_scope ? "" : "-", r->given_by[0] ? r->given_by : "-",
                       r->age_band[0] ? r->age_band : "-");
                if (r->until_ms) {
                    char d[ZN_ISO_TIME_LEN];
                    zn_iso_time(d, r->until_ms);
                    printf("%s", d);
                } else {
                    printf("-");
                }
                printf(" handler=\"%s\"\n", buf);
                printf("      purpose: ");
                s_print_purpose(r, 15);
            }
        }
    }
    free(h);
    return s_finish(x, rc, &e);
}

static int s_cmd_consent(s_cli *x)
{
    static const s_sub subs[] = {{"set", s_cmd_consent_set}, {"show", s_cmd_consent_show}};
    return s_run_sub(x, subs, sizeof subs / sizeof subs[0],
                     "the consent commands are 'zorgnet consent set|show --case CASE'");
}

/* ---- safety overrides */

static int s_cmd_override_new(s_cli *x)
{
    zn_err e;
    zn_err_clear(&e);
    uint8_t id[ZN_CLIENT_ID_LEN], oid[ZN_CLIENT_ID_LEN];
    uint64_t step = 0;
    const char *to = x->v[O_TO];
    if (s_case_opt(x, "override", id) != 0)
        return ZN_CLASS_USAGE;
    if (!to || !*to)
        return s_usage(x, "override needs --to ID: the partner to share with");
    if (!x->v[O_STEP] || zn_parse_u64(x->v[O_STEP], 5, &step) != 0 || step < 1)
        return s_usage(x, "override needs --step 1-5: the step of the meldcode huiselijk geweld en "
                          "kindermishandeling the override belongs to");
    if (!x->v[O_JUSTIFICATION] && !x->v[O_JUSTIFICATION_FILE])
        return s_usage(x, "override needs --justification TEXT or --justification-file FILE (at least %d "
                          "characters): why the child's safety requires sharing without consent",
                       ZN_CLIENT_JUSTIFICATION_MIN);
    if (s_need_actor(x, "override") != 0)
        return ZN_CLASS_USAGE;
    const char *just = NULL;
    char *just_buf = NULL;
    int bad = s_text_opt(x, O_JUSTIFICATION, O_JUSTIFICATION_FILE, &just, &just_buf);
    if (bad)
        return bad;
    zn_client *c = zn_client_open(&x->opts, &e);
    uint64_t expires = 0, review_by = 0;
    int rc = -1;
    char hex[S_HEX_ID], chex[S_HEX_ID], d[S_DESC_MAX], iso[ZN_ISO_TIME_LEN];
    if (c) {
        uint64_t before = zn_client_convenant_version(c);
        rc = zn_client_override(c, id, to, (unsigned)step, just, oid, &expires, &review_by, &e);
        s_note_convenant(x, c, before);
        if (rc == 0) {
            s_hex_id(hex, oid);
            s_hex_id(chex, id);
            s_partner_desc(c, to, d);
        }
    }
    zn_client_close(&c);
    s_text_free(just_buf);
    if (rc != 0)
        return s_fail(x, &e);
    if (x->json) {
        printf("{\"override\":\"%s\",\"case\":\"%s\"", hex, chex);
        s_json_text("to", to);
        printf(",\"step\":%llu", (unsigned long long)step);
        s_json_text("step_name", zn_meldcode_step_name(step));
        s_json_time("expires", expires);
        s_json_time("review_by", review_by);
        printf("}\n");
    } else {
        printf("override  %s\n", hex);
        printf("case      %s\n", chex);
        printf("to        %s\n", d);
        printf("step      %llu: %s\n", (unsigned long long)step, zn_meldcode_step_name(step));
        zn_iso_time(iso, expires);
        printf("expires   %s\n", iso);
        zn_iso_time(iso, review_by);
        printf("review by %s\n", iso);
        printf("the coordinators of the case's network are told now and review it by then; an override\n"
               "not reviewed in time is reported to the auditors, a rejected one stops at once\n");
    }
    return s_flush(&e) == 0 ? 0 : s_fail(x, &e);
}

static int s_fetch_overrides(zn_client *c, void *ctx, uint64_t offset, void *page, size_t *n, uint64_t *total,
                             zn_err *e)
{
    const bool *all = ctx;
    return zn_client_override_list(c, *all, offset, page, S_LIST_PAGE, n, total, e);
}

static void s_overrides_row(const s_cli *x, zn_client *c, void *ctx, const void *row)
{
    (void)ctx;
    if (x->json)
        s_print_override_json(row);
    else
        s_print_override_text(c, row);
    printf("\n");
}

static const s_lister s_override_lister = {"override list", "overrides", sizeof(zn_override_info),
                                           s_fetch_overrides, NULL, s_overrides_row};

static int s_cmd_override_list(s_cli *x)
{
    zn_err e;
    zn_err_clear(&e);
    bool all = x->v[O_ALL] != NULL;
    uint64_t n = 0;
    int rc = s_list_pages(x, &s_override_lister, &all, &n);
    if (rc != 0)
        return rc;
    if (!x->json)
        s_print_count(n, "safety override", "safety overrides", all ? "" : " waiting for review");
    return s_flush(&e) == 0 ? 0 : s_fail(x, &e);
}

/* What became of an override or a handover: {"KIND":"ID","state":"STATE"}, or the line
 * "KIND ID STATE" + tail. */
static int s_print_decided(const s_cli *x, const char *kind, const uint8_t id[ZN_CLIENT_ID_LEN], const char *state,
                           const char *tail, zn_err *e)
{
    char hex[S_HEX_ID];
    s_hex_id(hex, id);
    if (x->json)
        printf("{\"%s\":\"%s\",\"state\":\"%s\"}\n", kind, hex, state);
    else
        printf("%s %s %s%s\n", kind, hex, state, tail);
    return s_flush(e) == 0 ? 0 : s_fail(x, e);
}

static int s_cmd_override_review(s_cli *x)
{
    zn_err e;
    zn_err_clear(&e);
    uint8_t id[ZN_CLIENT_ID_LEN];
    bool approve = x->v[O_APPROVE] != NULL, reject = x->v[O_REJECT] != NULL;
    if (x->npos != 3)
        return s_usage(x, "the command is 'zorgnet override review ID --approve|--reject [--note TEXT | "
                          "--note-file FILE]'");
    if (s_id_arg(x, 2, "override review takes an override id of 32 hex characters (as 'zorgnet override "
                       "list' prints it)", id) != 0)
        return ZN_CLASS_USAGE;
    if (approve == reject)
        return s_usage(x, "override review needs either --approve or --reject");
    if (s_need_actor(x, "override review") != 0)
        return ZN_CLASS_USAGE;
    const char *note = NULL;
    char *note_buf = NULL;
    int bad = s_text_opt(x, O_NOTE, O_NOTE_FILE, &note, &note_buf);
    if (bad)
        return bad;
    zn_client *c = zn_client_open(&x->opts, &e);
    int rc = -1;
    if (c) {
        uint64_t before = zn_client_convenant_version(c);
        rc = zn_client_override_review(c, id, approve, note, &e);
        s_note_convenant(x, c, before);
    }
    zn_client_close(&c);
    s_text_free(note_buf);
    if (rc != 0)
        return s_fail(x, &e);
    if (approve)
        return s_print_decided(x, "override", id, "approved", "; it stands until it expires, and its author is told",
                               &e);
    return s_print_decided(x, "override", id, "rejected",
                           "; it stops at once (what was still queued under it is not\n"
                           "delivered), and its author is told",
                           &e);
}

static int s_cmd_override(s_cli *x)
{
    static const s_sub subs[] = {{"list", s_cmd_override_list}, {"review", s_cmd_override_review}};
    if (x->npos < 2)
        return s_cmd_override_new(x);
    return s_run_sub(x, subs, sizeof subs / sizeof subs[0],
                     "the override commands are 'zorgnet override --case CASE --to ID --step N "
                     "--justification TEXT', 'zorgnet override list' and 'zorgnet override review ID'");
}

/* ---- warm handovers */

static int s_cmd_handover_offer(s_cli *x)
{
    zn_err e;
    zn_err_clear(&e);
    uint8_t id[ZN_CLIENT_ID_LEN], hid[ZN_CLIENT_ID_LEN];
    const char *to = x->v[O_TO];
    if (x->npos > 3)
        return s_usage(x, "handover offer takes one FILE (or - for standard input): the dossier");
    if (s_case_opt(x, "handover offer", id) != 0)
        return ZN_CLASS_USAGE;
    if (!to || !*to)
        return s_usage(x, "handover offer needs --to ID: the partner offered the case");
    if (s_need_actor(x, "handover offer") != 0)
        return ZN_CLASS_USAGE;
    uint8_t *dossier = NULL;
    size_t len = 0;
    int bad = s_read_message(x, x->npos == 3 ? x->pos[2] : NULL, "dossier", &dossier, &len);
    if (bad)
        return bad;
    zn_client *c = zn_client_open(&x->opts, &e);
    int rc = -1;
    uint64_t timeout = 0;
    char hex[S_HEX_ID], chex[S_HEX_ID], d[S_DESC_MAX], iso[ZN_ISO_TIME_LEN];
    if (c) {
        uint64_t before = zn_client_convenant_version(c);
        rc = zn_client_handover_offer(c, id, to, dossier, len, x->v[O_I_CHECKED] ? ZN_CLIENT_SEND_I_CHECKED : 0, hid,
                                      &timeout, &e);
        s_note_convenant(x, c, before);
        if (rc == 0)
            s_partner_desc(c, to, d);
    }
    zn_client_close(&c);
    if (rc != 0 && e.code == ZN_E_IDENTIFIERS)
        rc = s_fail_findings(x, &e, dossier, len);
    else if (rc != 0)
        rc = s_fail(x, &e);
    if (rc != 0)
        fprintf(stderr, "zorgnet: no handover was offered%s\n",
                e.code == ZN_E_NOT_REGISSEUR || e.code == ZN_E_NOT_MEMBER || e.code == ZN_E_UNKNOWN_CASE
                    ? ""
                    : "; you stay the case's regisseur");
    sodium_memzero(dossier, len);
    free(dossier);
    if (rc != 0)
        return rc;
    s_hex_id(hex, hid);
    s_hex_id(chex, id);
    if (x->json) {
        printf("{\"handover\":\"%s\",\"case\":\"%s\"", hex, chex);
        s_json_text("to", to);
        s_json_time("timeout", timeout);
        printf("}\n");
    } else {
        zn_iso_time(iso, timeout);
        printf("handover  %s\n", hex);
        printf("case      %s\n", chex);
        printf("to        %s\n", d);
        printf("answer by %s (then the network's coordinators are told)\n", iso);
        printf("the dossier went to the recipient as a sealed message; you stay the case's regisseur\n"
               "until the offer is accepted\n");
    }
    return s_flush(&e) == 0 ? 0 : s_fail(x, &e);
}

/* handover accept / handover decline (the second word says which) */
static int s_cmd_handover_answer(s_cli *x)
{
    bool accept = strcmp(x->pos[1], "accept") == 0;
    zn_err e;
    zn_err_clear(&e);
    uint8_t id[ZN_CLIENT_ID_LEN];
    const char *what = accept ? "handover accept" : "handover decline";
    if (x->npos != 3)
        return s_usage(x, "the command is 'zorgnet %s ID'%s", what, accept ? "" : " --reason TEXT");
    if (s_id_arg(x, 2, "the handover id is 32 hex characters (as 'zorgnet handover list' prints it)", id) != 0)
        return ZN_CLASS_USAGE;
    if (!accept && (!x->v[O_REASON] || !*x->v[O_REASON]) && !x->v[O_REASON_FILE])
        return s_usage(x, "handover decline needs --reason TEXT or --reason-file FILE (sealed to the offering "
                          "partner and the auditors)");
    if (s_need_actor(x, what) != 0)
        return ZN_CLASS_USAGE;
    const char *reason = NULL;
    char *reason_buf = NULL;
    int bad = accept ? 0 : s_text_opt(x, O_REASON, O_REASON_FILE, &reason, &reason_buf);
    if (bad)
        return bad;
    zn_client *c = zn_client_open(&x->opts, &e);
    int rc = -1;
    if (c) {
        uint64_t before = zn_client_convenant_version(c);
        rc = accept ? zn_client_handover_accept(c, id, &e) : zn_client_handover_decline(c, id, reason, &e);
        s_note_convenant(x, c, before);
    }
    zn_client_close(&c);
    s_text_free(reason_buf);
    if (rc != 0)
        return s_fail(x, &e);
    if (accept)
        return s_print_decided(x, "handover", id, "accepted",
                               ": you are the case's regisseur now; the offering partner is told", &e);
    return s_print_decided(x, "handover", id, "declined",
                           "; the offering partner is told and stays the case's regisseur", &e);
}

/* handover withdraw: the offering partner (or a coordinator of the case's network) takes an
 * open offer back. */
static int s_cmd_handover_withdraw(s_cli *x)
{
    zn_err e;
    zn_err_clear(&e);
    uint8_t id[ZN_CLIENT_ID_LEN];
    if (x->npos != 3)
        return s_usage(x, "the command is 'zorgnet handover withdraw ID'");
    if (s_id_arg(x, 2, "the handover id is 32 hex characters (as 'zorgnet handover list' prints it)", id) != 0 ||
        s_need_actor(x, "handover withdraw") != 0)
        return ZN_CLASS_USAGE;
    zn_client *c = zn_client_open(&x->opts, &e);
    if (!c)
        return s_fail(x, &e);
    uint64_t before = zn_client_convenant_version(c);
    int rc = zn_client_handover_withdraw(c, id, &e);
    s_note_convenant(x, c, before);
    zn_client_close(&c);
    if (rc != 0)
        return s_fail(x, &e);
    return s_print_decided(x, "handover", id, "withdrawn",
                           "; the recipient is told, and the case stays with the partner that offered it", &e);
}

static int s_fetch_handovers(zn_client *c, void *ctx, uint64_t offset, void *page, size_t *n, uint64_t *total,
                             zn_err *e)
{
    (void)ctx;
    return zn_client_handover_list(c, offset, page, S_LIST_PAGE, n, total, e);
}

static void s_handovers_row(const s_cli *x, zn_client *c, void *ctx, const void *row)
{
    (void)ctx;
    if (x->json)
        s_print_handover_json(row);
    else
        s_print_handover_text(c, row, true);
    printf("\n");
}

static const s_lister s_handover_lister = {"handover list", "handovers", sizeof(zn_handover_info),
                                           s_fetch_handovers, NULL, s_handovers_row};

static int s_cmd_handover_list(s_cli *x)
{
    zn_err e;
    zn_err_clear(&e);
    uint64_t n = 0;
    int rc = s_list_pages(x, &s_handover_lister, NULL, &n);
    if (rc != 0)
        return rc;
    if (!x->json)
        s_print_count(n, "handover", "handovers", "");
    return s_flush(&e) == 0 ? 0 : s_fail(x, &e);
}

static int s_cmd_handover(s_cli *x)
{
    static const s_sub subs[] = {{"offer", s_cmd_handover_offer},
                                 {"accept", s_cmd_handover_answer},
                                 {"decline", s_cmd_handover_answer},
                                 {"withdraw", s_cmd_handover_withdraw},
                                 {"list", s_cmd_handover_list}};
    return s_run_sub(x, subs, sizeof subs / sizeof subs[0],
                     "the handover commands are 'zorgnet handover offer|accept|decline|withdraw|list'");
}

/* ------------------------------------------------------------------ main */

static const char *s_env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* Which command-specific options each command (and audit subcommand) takes. */
static bool s_allowed(const char *cmd, const char *sub, int opt)
{
    if (opt < O_NETWORK)
        return true;
    if (strcmp(cmd, "case") == 0 && sub) {
        if (strcmp(sub, "new") == 0)
            return opt == O_NETWORK || opt == O_BSN || opt == O_RELATED;
        if (strcmp(sub, "link") == 0)
            return opt == O_CASE || opt == O_BSN || opt == O_RELATED;
        return false;
    }
    if (strcmp(cmd, "consent") == 0 && sub) {
        if (strcmp(sub, "set") == 0)
            return opt == O_CASE || opt == O_STATE || opt == O_SCOPE || opt == O_PURPOSE || opt == O_PURPOSE_FILE ||
                   opt == O_GIVEN_BY || opt == O_AGE_BAND || opt == O_UNTIL;
        return strcmp(sub, "show") == 0 && opt == O_CASE;
    }
    if (strcmp(cmd, "override") == 0) {
        if (!sub)
            return opt == O_CASE || opt == O_TO || opt == O_STEP || opt == O_JUSTIFICATION ||
                   opt == O_JUSTIFICATION_FILE;
        if (strcmp(sub, "list") == 0)
            return opt == O_ALL;
        return strcmp(sub, "review") == 0 &&
               (opt == O_APPROVE || opt == O_REJECT || opt == O_NOTE || opt == O_NOTE_FILE);
    }
    if (strcmp(cmd, "handover") == 0 && sub) {
        if (strcmp(sub, "offer") == 0)
            return opt == O_CASE || opt == O_TO || opt == O_I_CHECKED;
        return strcmp(sub, "decline") == 0 && (opt == O_REASON || opt == O_REASON_FILE);
    }
    if (strcmp(cmd, "send") == 0)
        return opt == O_TO || opt == O_CASE || opt == O_ID || opt == O_I_CHECKED;
    if (strcmp(cmd, "inbox") == 0)
        return opt == O_WAIT || opt == O_TYPE;
    if (strcmp(cmd, "signal") == 0 && sub) {
        if (strcmp(sub, "add") == 0)
            return opt == O_NETWORK || opt == O_BSN || opt == O_RELATED || opt == O_UNTIL ||
                   opt == O_INFORMED || opt == O_CONTACT;
        if (strcmp(sub, "informed") == 0)
            return opt == O_DATE;
        return false;
    }
    if (strcmp(cmd, "matches") == 0)
        return opt == O_WAIT;
    if (strcmp(cmd, "match") == 0 && sub)
        return strcmp(sub, "lead") == 0 && opt == O_PARTNER;
    if (strcmp(cmd, "audit") == 0 && sub) {
        if (strcmp(sub, "export") == 0)
            return opt == O_OUT || opt == O_FORMAT || opt == O_SINCE || opt == O_UNTIL || opt == O_FORCE;
        if (strcmp(sub, "verify") == 0)
            return opt == O_FROM;
        if (strcmp(sub, "query") == 0)
            return opt == O_CASE || opt == O_PARTNER || opt == O_ACTION || opt == O_DECISION ||
                   opt == O_BASIS || opt == O_SINCE || opt == O_UNTIL || opt == O_BSN || opt == O_AS;
        if (strcmp(sub, "report") == 0)
            return opt == O_SINCE;
        if (strcmp(sub, "consent") == 0)
            return opt == O_CASE;
    }
    return false;
}

int main(int argc, char **argv)
{
    s_cli x;
    zn_err e;
    memset(&x, 0, sizeof x);
    zn_err_clear(&e);
    if (sodium_init() < 0) {
        zn_err_set(&e, ZN_E_INTERNAL, "the crypto library could not be initialised");
        return s_fail(NULL, &e);
    }
    if (zn_args_parse_ex(argc - 1, argv + 1, s_specs, O__COUNT, s_repeat, x.v, x.lists, x.pos, S_MAX_POS,
                         &x.npos, &e) != 0) {
        size_t n = strlen(e.text);
        if (n + 40 < sizeof e.text)
            snprintf(e.text + n, sizeof e.text - n, "; 'zorgnet help' lists the options");
        return s_fail(NULL, &e);
    }
    x.json = x.v[O_JSON] != NULL;
    if (x.v[O_HELP] || (x.npos > 0 && strcmp(x.pos[0], "help") == 0)) {
        fputs(s_help, stdout);
        return s_flush(&e) == 0 ? 0 : 1;
    }
    if (x.npos == 0) {
        fputs(s_help, stderr);
        return ZN_CLASS_USAGE;
    }
    const char *cmd = x.pos[0];
    static const char *const commands[] = {"partners", "case",   "send",    "inbox",   "receipt",  "audit",
                                           "signal",   "matches", "match", "consent", "override", "handover"};
    bool known = false;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        known = known || strcmp(cmd, commands[i]) == 0;
    if (!known) {
        char safe[64];
        s_safe(safe, sizeof safe, cmd);
        return s_usage(&x, "unknown command '%s'", safe);
    }
    const char *sub = x.npos > 1 ? x.pos[1] : NULL;
    bool query = strcmp(cmd, "audit") == 0 && sub && strcmp(sub, "query") == 0;
    bool has_sub =
        sub && (strcmp(cmd, "audit") == 0 || strcmp(cmd, "signal") == 0 || strcmp(cmd, "match") == 0 ||
                strcmp(cmd, "case") == 0 || strcmp(cmd, "consent") == 0 || strcmp(cmd, "override") == 0 ||
                strcmp(cmd, "handover") == 0);
    for (int k = 0; k < O__COUNT; k++)
        if (x.v[k] && !s_allowed(cmd, sub, k)) {
            char raw[80], what[80];
            snprintf(raw, sizeof raw, "%s%s%.40s", cmd, has_sub ? " " : "", has_sub ? sub : "");
            s_safe(what, sizeof what, raw);
            return s_usage(&x, "--%s does not apply to '%s'", s_specs[k].name, what);
        }

    x.opts.convenant_path = x.v[O_CONVENANT] ? x.v[O_CONVENANT] : s_env("ZORGNET_CONVENANT");
    x.opts.key_path = x.v[O_KEY] ? x.v[O_KEY] : s_env("ZORGNET_KEY");
    x.opts.broker = x.v[O_BROKER] ? x.v[O_BROKER] : s_env("ZORGNET_BROKER");
    x.opts.handler = x.v[O_HANDLER] ? x.v[O_HANDLER] : s_env("ZORGNET_HANDLER");
    if (query) { /* there --handler filters; the auditor who asks is --as */
        x.handler_filter = x.v[O_HANDLER];
        x.opts.handler = x.v[O_AS] ? x.v[O_AS] : s_env("ZORGNET_HANDLER");
    }
    const char *timeout = x.v[O_TIMEOUT] ? x.v[O_TIMEOUT] : s_env("ZORGNET_TIMEOUT");
    x.opts.timeout_ms = ZN_CLIENT_DEFAULT_TIMEOUT_MS;
    if (timeout && zn_parse_seconds(timeout, 10, 3600 * 1000, &x.opts.timeout_ms) != 0)
        return s_usage(&x, "--timeout takes seconds from 0.01 to 3600, such as 5 or 0.5");
    if (!x.opts.convenant_path)
        return s_usage(&x, "no convenant file given (--convenant or ZORGNET_CONVENANT)");

    if (strcmp(cmd, "partners") == 0) {
        if (x.npos != 1)
            return s_usage(&x, "partners takes no arguments");
        return s_cmd_partners(&x);
    }
    if (strcmp(cmd, "case") == 0)
        return s_cmd_case(&x);
    if (strcmp(cmd, "consent") == 0)
        return s_cmd_consent(&x);
    if (strcmp(cmd, "override") == 0)
        return s_cmd_override(&x);
    if (strcmp(cmd, "handover") == 0)
        return s_cmd_handover(&x);
    if (strcmp(cmd, "send") == 0)
        return s_cmd_send(&x);
    if (strcmp(cmd, "receipt") == 0)
        return s_cmd_receipt(&x);
    if (strcmp(cmd, "audit") == 0)
        return s_cmd_audit(&x);
    if (strcmp(cmd, "signal") == 0)
        return s_cmd_signal(&x);
    if (strcmp(cmd, "matches") == 0)
        return s_cmd_matches(&x);
    if (strcmp(cmd, "match") == 0)
        return s_cmd_match(&x);
    return s_cmd_inbox(&x);
}
