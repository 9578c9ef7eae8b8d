/* zorgnet — the command-line client for partners (see `zorgnet help`). */
#include "zn_client_internal.h"
#include "zorgnet.h"

#include <errno.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
    O__COUNT
};

static const zn_opt_spec s_specs[O__COUNT] = {
    [O_CONVENANT] = {"convenant", true}, [O_KEY] = {"key", true},
    [O_BROKER] = {"broker", true},       [O_HANDLER] = {"handler", true},
    [O_TIMEOUT] = {"timeout", true},     [O_JSON] = {"json", false},
    [O_HELP] = {"help", false},          [O_NETWORK] = {"network", true},
    [O_TO] = {"to", true},               [O_CASE] = {"case", true},
    [O_ID] = {"id", true},               [O_WAIT] = {"wait", true},
    [O_TYPE] = {"type", true},
};

#define S_MAX_POS 8
#define S_WAIT_MAX_MS (24 * 3600 * 1000)

typedef struct {
    const char *v[O__COUNT];
    const char *pos[S_MAX_POS];
    size_t npos;
    bool json;
    zn_client_opts opts;
} s_cli;

static const char s_help[] =
    "usage: zorgnet [options] COMMAND [arguments]\n"
    "\n"
    "commands:\n"
    "  partners                      list the networks and partners of the convenant\n"
    "  case new --network NET        open a case in NET; prints the case id (32 hex characters)\n"
    "  send --to ID --case CASE [--id HEX] [FILE|-]\n"
    "                                send FILE (default: standard input, at most 1 MiB) to\n"
    "                                partner ID on case CASE; prints the message id once the\n"
    "                                broker has stored the message. --id reuses an earlier id, so\n"
    "                                a send whose outcome is unknown can be retried safely.\n"
    "  inbox [--wait SECONDS] [--type TYPE,...]\n"
    "                                show what has arrived and acknowledge it. --wait: when\n"
    "                                nothing is there, wait up to SECONDS for the first item.\n"
    "                                --type: only envelope, notice or a notice type such as\n"
    "                                envelope-dropped (the rest stays queued).\n"
    "  help                          this text\n"
    "\n"
    "options (each can also be set in the environment):\n"
    "  --convenant FILE    ZORGNET_CONVENANT  the convenant file; replaced when the broker\n"
    "                                         runs a newer version by the same authority\n"
    "  --key FILE          ZORGNET_KEY        the partner's secret key file; the client keeps its\n"
    "                                         state (versions seen, messages shown) in FILE.state\n"
    "  --broker ENDPOINT   ZORGNET_BROKER     e.g. tcp://broker.example.nl:7450 (default: the\n"
    "                                         convenant's)\n"
    "  --handler NAME      ZORGNET_HANDLER    the professional who acts; needed for send and\n"
    "                                         case new\n"
    "  --timeout SECONDS   ZORGNET_TIMEOUT    how long to wait for each answer (default 5)\n"
    "  --json                                 one JSON object per line on standard output\n"
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
    if (x->npos != 2 || strcmp(x->pos[1], "new") != 0)
        return s_usage(x, "the case command is 'zorgnet case new --network NET'");
    if (!net || !*net)
        return s_usage(x, "case new needs --network NET");
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
    int rc = zn_client_case_new(c, net, id, &e);
    s_note_convenant(x, c, before);
    zn_client_close(&c);
    if (rc != 0)
        return s_fail(x, &e);
    char hex[2 * ZN_CLIENT_ID_LEN + 1];
    sodium_bin2hex(hex, sizeof hex, id, sizeof id);
    if (x->json) {
        printf("{\"case\":\"%s\",\"network\":", hex);
        zn_json_str(stdout, net, strlen(net));
        printf("}\n");
    } else {
        printf("%s\n", hex);
    }
    return s_flush(&e) == 0 ? 0 : s_fail(x, &e);
}

/* ------------------------------------------------------------------ send */

static int s_read_content(const char *path, uint8_t **out, size_t *len, zn_err *e)
{
    bool use_stdin = !path || strcmp(path, "-") == 0;
    FILE *f = use_stdin ? stdin : fopen(path, "rb");
    *out = NULL;
    *len = 0;
    if (!f)
        return zn_err_set(e, ZN_E_IO, "%.200s could not be read (%s)", path, strerror(errno));
    uint8_t *buf = malloc(ZN_CLIENT_CONTENT_MAX + 1);
    if (!buf) {
        if (!use_stdin)
            fclose(f);
        return zn_err_set(e, ZN_E_INTERNAL, "out of memory");
    }
    size_t n = 0;
    while (n <= ZN_CLIENT_CONTENT_MAX) {
        size_t got = fread(buf + n, 1, ZN_CLIENT_CONTENT_MAX + 1 - n, f);
        n += got;
        if (got == 0)
            break;
    }
    bool err = ferror(f) != 0;
    if (!use_stdin)
        fclose(f);
    if (err || n > ZN_CLIENT_CONTENT_MAX) {
        sodium_memzero(buf, n);
        free(buf);
        if (err)
            return zn_err_set(e, ZN_E_IO, "the content could not be read");
        return zn_err_set(e, ZN_E_TOO_LARGE,
                          "the content is larger than %u bytes; one message carries at most that",
                          ZN_CLIENT_CONTENT_MAX);
    }
    *out = buf;
    *len = n;
    return 0;
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
    if (s_read_content(x->npos == 2 ? x->pos[1] : NULL, &content, &len, &e) != 0)
        return s_fail(x, &e);
    if (len == 0) {
        free(content);
        return s_usage(x, "the message is empty; nothing was sent");
    }
    zn_client *c = zn_client_open(&x->opts, &e);
    int rc = -1;
    if (c) {
        uint64_t before = zn_client_convenant_version(c);
        rc = zn_client_send(c, to, case_id, content, len, msgid, &e);
        s_note_convenant(x, c, before);
    }
    zn_client_close(&c);
    sodium_memzero(content, len);
    free(content);
    char hex[2 * ZN_CLIENT_ID_LEN + 1], case_hex[2 * ZN_CLIENT_ID_LEN + 1];
    sodium_bin2hex(hex, sizeof hex, msgid, sizeof msgid);
    if (rc != 0) {
        rc = s_fail(x, &e);
        if (zn_code_class(e.code) == ZN_CLASS_UNREACHABLE && !sodium_is_zero(msgid, sizeof msgid))
            fprintf(stderr, "zorgnet: the broker may have stored the message; send it again with "
                            "--id %s (it is then stored and shown once)\n", hex);
        return rc;
    }
    sodium_bin2hex(case_hex, sizeof case_hex, case_id, sizeof case_id);
    if (x->json) {
        printf("{\"msgid\":\"%s\",\"to\":", hex);
        zn_json_str(stdout, to, strlen(to));
        printf(",\"case\":\"%s\"}\n", case_hex);
    } else {
        printf("%s\n", hex);
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
        for (size_t i = 0; i < it->n_fields; i++) {
            s_safe(buf, sizeof buf, it->fields[i].value);
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

    zn_client *c = zn_client_open(&x->opts, &e);
    if (!c)
        return s_fail(x, &e);
    uint64_t before = zn_client_convenant_version(c);
    int status = 0, rc = 0;
    bool shown = false;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t deadline = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + wait_ms;
    for (;;) {
        zn_item it;
        int wait = 0;
        if (!shown) {
            clock_gettime(CLOCK_MONOTONIC, &ts);
            int64_t left = deadline - ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
            wait = left > 0 ? (int)left : 0;
        }
        rc = zn_client_next(c, wait, &it, &e);
        if (rc <= 0)
            break;
        if (!zn_type_filter_match(&filter, &it)) {
            rc = zn_client_release(c, &it, &e); /* not shown: stays queued for another run */
            zn_item_clear(&it);
            if (rc != 0)
                break;
            continue;
        }
        rc = x->json ? s_print_json(&it, &e) : s_print_text(&it, &e);
        if (rc == 0)
            rc = zn_client_ack(c, &it, &e);
        if (rc == 0) {
            shown = true;
            if (!it.valid)
                status = ZN_CLASS_VERIFY;
        }
        zn_item_clear(&it);
        if (rc != 0)
            break;
    }
    s_note_convenant(x, c, before);
    zn_client_close(&c);
    if (rc < 0)
        return s_fail(x, &e);
    return status;
}

/* ------------------------------------------------------------------ main */

static const char *s_env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

/* Which command-specific options each command takes. */
static bool s_allowed(const char *cmd, int opt)
{
    if (opt < O_NETWORK)
        return true;
    if (strcmp(cmd, "case") == 0)
        return opt == O_NETWORK;
    if (strcmp(cmd, "send") == 0)
        return opt == O_TO || opt == O_CASE || opt == O_ID;
    if (strcmp(cmd, "inbox") == 0)
        return opt == O_WAIT || opt == O_TYPE;
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
    if (zn_args_parse(argc - 1, argv + 1, s_specs, O__COUNT, x.v, x.pos, S_MAX_POS, &x.npos, &e) != 0) {
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
    if (strcmp(cmd, "partners") != 0 && strcmp(cmd, "case") != 0 && strcmp(cmd, "send") != 0 &&
        strcmp(cmd, "inbox") != 0) {
        char safe[64];
        s_safe(safe, sizeof safe, cmd);
        return s_usage(&x, "unknown command '%s'", safe);
    }
    for (int k = 0; k < O__COUNT; k++)
        if (x.v[k] && !s_allowed(cmd, k)) {
            return s_usage(&x, "--%s does not apply to '%s'", s_specs[k].name, cmd);
        }

    x.opts.convenant_path = x.v[O_CONVENANT] ? x.v[O_CONVENANT] : s_env("ZORGNET_CONVENANT");
    x.opts.key_path = x.v[O_KEY] ? x.v[O_KEY] : s_env("ZORGNET_KEY");
    x.opts.broker = x.v[O_BROKER] ? x.v[O_BROKER] : s_env("ZORGNET_BROKER");
    x.opts.handler = x.v[O_HANDLER] ? x.v[O_HANDLER] : s_env("ZORGNET_HANDLER");
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
        return s_cmd_case_new(&x);
    if (strcmp(cmd, "send") == 0)
        return s_cmd_send(&x);
    return s_cmd_inbox(&x);
}
