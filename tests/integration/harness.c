/* harness — see harness.h. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness.h"

#include "zn_auditlog.h"
#include "zn_auditreq.h"
#include "zn_case.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#define S_START_TIMEOUT_MS 20000
#define S_LOG_MAX (64u * 1024 * 1024)
#define S_RM_DEPTH 8
#define S_ALOG_PAGES 64

static const struct {
    const char *id, *name, *category;
    uint32_t roles[2]; /* per network: ZH_NET0, ZH_NET1 */
    bool auditor;
} s_parties[ZH_NPARTY] = {
    [ZH_SCHOOL] = {"school", "Basisschool De Regenboog", "school", {ZN_ROLE_PARTNER, 0}, false},
    [ZH_WIJKRACHT] = {"wijkracht", "Wijkracht maatschappelijk werk", "social-work",
                      {ZN_ROLE_PARTNER, ZN_ROLE_PARTNER}, false},
    [ZH_POLITIE] = {"politie", "Politie wijkteam Binnenstad", "police", {ZN_ROLE_PARTNER, ZN_ROLE_PARTNER},
                    false},
    [ZH_GGD] = {"ggd", "GGD jeugdgezondheidszorg", "youth-health", {0, ZN_ROLE_PARTNER}, false},
    [ZH_COORD] = {"coordinator", "Maatschappelijk Plein matchregie", "municipality",
                  {ZN_ROLE_COORDINATOR, ZN_ROLE_COORDINATOR}, false},
    [ZH_AUDITOR] = {"auditor", "Auditor gemeente", "audit", {0, 0}, true},
};

/* ---- small things ---------------------------------------------------------------------- */

uint64_t zh_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t s_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void zh_sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000u, (long)(ms % 1000u) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

void zh_random(void *p, size_t n) { randombytes_buf(p, n); }

static int s_path(char *out, const char *dir, const char *name)
{
    int n = snprintf(out, ZH_PATH_MAX, "%s/%s", dir, name);
    return n > 0 && n < ZH_PATH_MAX ? 0 : -1;
}

int zh_path(const zh_env *h, char out[ZH_PATH_MAX], const char *name) { return s_path(out, h->dir, name); }

static void s_rm_tree(const char *path, int depth)
{
    struct stat st;
    if (depth > S_RM_DEPTH || lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d) {
            struct dirent *de;
            while ((de = readdir(d)) != NULL) {
                if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                    continue;
                char sub[ZH_PATH_MAX];
                if (s_path(sub, path, de->d_name) == 0)
                    s_rm_tree(sub, depth + 1);
            }
            closedir(d);
        }
        (void)rmdir(path);
    } else {
        (void)unlink(path);
    }
}

static int s_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static bool s_tcp_accepts(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

/* ---- world ----------------------------------------------------------------------------- */

int zh_write_convenant_ex(zh_env *h, const zh_conv_spec *spec, const char *path)
{
    zn_err e;
    zn_err_clear(&e);
    zn_convenant *c = zn_convenant_new();
    if (!c)
        return -1;
    int rc = -1;
    int64_t now = (int64_t)time(NULL);
    snprintf(c->name, sizeof c->name, "Zorgnetwerk Binnenstad (test)");
    c->version = spec->version;
    c->valid_from = (uint64_t)(now + spec->valid_from);
    c->valid_until = (uint64_t)(now + spec->valid_until);
    memcpy(c->authority, h->authority.pub.sign, ZN_KEY_LEN);
    memcpy(c->broker_transport, h->broker.pub.transport, ZN_KEY_LEN);
    memcpy(c->broker_sign, h->broker.pub.sign, ZN_KEY_LEN);
    snprintf(c->endpoint, sizeof c->endpoint, "%s", h->endpoint);
    c->netkey_epoch = h->netkey.epoch;
    c->n_networks = 2;
    snprintf(c->networks[0], ZN_IDENT_MAX, "%s", ZH_NET0);
    snprintf(c->networks[1], ZN_IDENT_MAX, "%s", ZH_NET1);
    c->partners = calloc(ZH_NPARTY, sizeof *c->partners);
    if (!c->partners)
        goto done;
    for (int i = 0; i < ZH_NPARTY; i++) {
        if (spec->exclude & ZH_BIT(i))
            continue;
        zn_partner *p = &c->partners[c->n_partners++];
        snprintf(p->id, sizeof p->id, "%s", s_parties[i].id);
        snprintf(p->name, sizeof p->name, "%s", s_parties[i].name);
        snprintf(p->category, sizeof p->category, "%s", s_parties[i].category);
        p->keys = h->party[i].keys.pub;
        p->roles[0] = s_parties[i].roles[0];
        p->roles[1] = s_parties[i].roles[1];
        p->auditor = s_parties[i].auditor;
        bool coordinator = (p->roles[0] | p->roles[1]) & ZN_ROLE_COORDINATOR;
        if (!coordinator) {
            if (crypto_box_seal(p->sealed_netkey, h->netkey.key, ZN_KEY_LEN, p->keys.box) != 0)
                goto done;
            p->has_netkey = true;
        }
    }
    if (spec->queue_quota)
        c->policy.queue_quota = spec->queue_quota;
    if (spec->request_window_s)
        c->policy.request_window_s = spec->request_window_s;
    if (zn_convenant_sign(c, &h->authority, &e) != 0 || zn_convenant_save(path ? path : h->conv_path, c, &e) != 0) {
        fprintf(stderr, "harness: convenant version %llu: %s: %s\n", (unsigned long long)spec->version,
                zn_code_name(e.code), e.text);
        goto done;
    }
    if (!path) {
        h->version = spec->version;
        h->spec = *spec;
    }
    rc = 0;
done:
    zn_convenant_destroy(&c);
    return rc;
}

int zh_write_convenant(zh_env *h, uint64_t version, unsigned exclude)
{
    zh_conv_spec s = {.version = version, .valid_from = -86400, .valid_until = 365 * 86400,
                      .exclude = exclude, .queue_quota = h->queue_quota,
                      .request_window_s = h->request_window_s};
    return zh_write_convenant_ex(h, &s, NULL);
}

static int s_keys(zh_env *h, zn_kind kind, zn_seckeys *k, const char *base)
{
    zn_err e;
    char path[ZH_PATH_MAX];
    zn_err_clear(&e);
    if (zn_keys_generate(kind, k) != 0)
        return -1;
    if (s_path(path, h->dir, base) != 0 || zn_keys_write(path, k, &e) != 0) {
        fprintf(stderr, "harness: key %s: %s\n", base, e.text);
        return -1;
    }
    return 0;
}

zh_env *zh_env_new(uint64_t queue_quota)
{
    if (sodium_init() < 0)
        return NULL;
    zh_env *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    if (pthread_mutex_init(&h->lock, NULL) != 0) {
        free(h);
        return NULL;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(h->dir, sizeof h->dir, "%s/zn-itest-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(h->dir)) {
        fprintf(stderr, "harness: mkdtemp %s: %s\n", h->dir, strerror(errno));
        pthread_mutex_destroy(&h->lock);
        free(h);
        return NULL;
    }
    h->queue_quota = queue_quota;
    char keydir[ZH_PATH_MAX];
    if (s_path(keydir, h->dir, "keys") != 0 || mkdir(keydir, 0700) != 0)
        goto fail;
    if (s_path(h->conv_path, h->dir, "convenant.zc") || s_path(h->key_path, h->dir, "keys/broker.key") ||
        s_path(h->db_path, h->dir, "broker.db") || s_path(h->log_path, h->dir, "broker.log"))
        goto fail;
    if (s_keys(h, ZN_KIND_AUTHORITY, &h->authority, "keys/authority") ||
        s_keys(h, ZN_KIND_BROKER, &h->broker, "keys/broker") ||
        s_keys(h, ZN_KIND_PARTNER, &h->outsider, "keys/outsider"))
        goto fail;
    for (int i = 0; i < ZH_NPARTY; i++) {
        char base[ZH_PATH_MAX];
        h->party[i].id = s_parties[i].id;
        snprintf(base, sizeof base, "keys/%s", s_parties[i].id);
        if (s_keys(h, ZN_KIND_PARTNER, &h->party[i].keys, base))
            goto fail;
    }
    h->netkey.epoch = 1;
    zh_random(h->netkey.key, ZN_KEY_LEN);
    char nkpath[ZH_PATH_MAX];
    zn_err e;
    if (s_path(nkpath, h->dir, "keys/network.key") != 0 || zn_netkey_write(nkpath, &h->netkey, &e) != 0)
        goto fail;
    h->port = s_free_port();
    if (h->port <= 0)
        goto fail;
    snprintf(h->endpoint, sizeof h->endpoint, "tcp://127.0.0.1:%d", h->port);
    h->zctx = zmq_ctx_new();
    if (!h->zctx || zh_write_convenant(h, 1, 0) != 0)
        goto fail;
    return h;
fail:
    fprintf(stderr, "harness: cannot set up the test world in %s\n", h->dir);
    zh_env_destroy(&h);
    return NULL;
}

void zh_env_destroy(zh_env **hp)
{
    if (!hp || !*hp)
        return;
    zh_env *h = *hp;
    if (h->pid > 0)
        (void)zh_broker_stop(h, SIGTERM, 5000);
    for (int i = 0; i < ZH_MAX_SOCKS; i++)
        if (h->socks[i]) {
            zmq_close(h->socks[i]);
            h->socks[i] = NULL;
        }
    if (h->zctx)
        zmq_ctx_term(h->zctx);
    pthread_mutex_destroy(&h->lock);
    if (h->dir[0] && !getenv("ZH_KEEP"))
        s_rm_tree(h->dir, 0);
    zn_seckeys_wipe(&h->authority);
    zn_seckeys_wipe(&h->broker);
    zn_seckeys_wipe(&h->outsider);
    sodium_memzero(&h->netkey, sizeof h->netkey);
    for (int i = 0; i < ZH_NPARTY; i++)
        zn_seckeys_wipe(&h->party[i].keys);
    free(h);
    *hp = NULL;
}

int zh_env_finish(zh_env **hp)
{
    if (!hp || !*hp)
        return 0;
    zh_env *h = *hp;
    int rc = 0;
    if (h->pid > 0) {
        int st = zh_broker_stop(h, SIGTERM, 10000);
        if (st != 0) {
            fprintf(stderr, "harness: zorgnetd did not shut down cleanly on SIGTERM (status %d)\n", st);
            rc = -1;
        }
    }
    if (zh_log_count(h, 0, "Sanitizer", NULL) > 0 || zh_log_count(h, 0, "runtime error:", NULL) > 0) {
        fprintf(stderr, "harness: the broker log holds a sanitizer report\n");
        rc = -1;
    }
    if (rc != 0)
        zh_log_dump(h);
    zh_env_destroy(hp);
    return rc;
}

/* ---- broker process ------------------------------------------------------------------------ */

#define S_EXTRA_MAX 8

/* Start zorgnetd on the env's files (or the ones given) with `extra` arguments after the usual
 * ones (NULL-terminated, may be NULL). */
static pid_t s_spawn(zh_env *h, const char *conv, const char *key, const char *db, const char *const *extra)
{
    const char *bindir = getenv("ZN_BIN");
    char bin[ZH_PATH_MAX];
    if (!bindir || !*bindir) {
        fprintf(stderr, "harness: ZN_BIN (the directory holding zorgnetd) is not set\n");
        return -1;
    }
    if (s_path(bin, bindir, "zorgnetd") != 0)
        return -1;
    char a_conv[ZH_PATH_MAX], a_key[ZH_PATH_MAX], a_db[ZH_PATH_MAX], a_listen[64];
    snprintf(a_conv, sizeof a_conv, "%s", conv ? conv : h->conv_path);
    snprintf(a_key, sizeof a_key, "%s", key ? key : h->key_path);
    snprintf(a_db, sizeof a_db, "%s", db ? db : h->db_path);
    snprintf(a_listen, sizeof a_listen, "%s", h->endpoint);
    const char *argv[11 + S_EXTRA_MAX] = {bin, "--convenant", a_conv, "--key", a_key,
                                          "--db", a_db, "--listen", a_listen, "--verbose"};
    size_t n = 10;
    for (size_t i = 0; extra && extra[i]; i++) {
        if (i >= S_EXTRA_MAX) {
            fprintf(stderr, "harness: more than %d extra arguments for zorgnetd\n", S_EXTRA_MAX);
            return -1;
        }
        argv[n++] = extra[i];
    }
    argv[n] = NULL;
    int fd = open(h->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
#ifdef __linux__
        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0)
            (void)dup2(nul, 0);
        (void)dup2(fd, 1);
        (void)dup2(fd, 2);
        execv(bin, (char *const *)argv); /* execv does not change the strings */
        _exit(127);
    }
    close(fd);
    return pid;
}

/* Wait for pid to exit; wait status in *status. 0 when it exited in time. */
static int s_wait_exit(pid_t pid, int timeout_ms, int *status)
{
    uint64_t end = s_mono_ms() + (uint64_t)timeout_ms;
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid)
            return 0;
        if (r < 0 && errno != EINTR)
            return -1;
        if (s_mono_ms() >= end)
            return -1;
        zh_sleep_ms(10);
    }
}

static int s_decode_status(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return -1;
}

int zh_broker_start(zh_env *h)
{
    return zh_broker_start_args(h, NULL);
}

int zh_broker_run_expect_exit(zh_env *h, const char *conv, const char *key, const char *db, int timeout_ms)
{
    pid_t pid = s_spawn(h, conv, key, db, NULL);
    if (pid < 0)
        return -1;
    int status = 0;
    if (s_wait_exit(pid, timeout_ms, &status) != 0) {
        kill(pid, SIGKILL);
        (void)s_wait_exit(pid, 5000, &status);
        return -1;
    }
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return -2;
}

int zh_broker_signal(zh_env *h, int sig)
{
    if (h->pid <= 0)
        return -1;
    return kill(h->pid, sig);
}

bool zh_broker_alive(zh_env *h)
{
    if (h->pid <= 0)
        return false;
    int status;
    pid_t r = waitpid(h->pid, &status, WNOHANG);
    if (r == h->pid) {
        fprintf(stderr, "harness: zorgnetd has exited (status %d)\n", s_decode_status(status));
        h->pid = 0;
        return false;
    }
    return r == 0;
}

int zh_broker_stop(zh_env *h, int sig, int timeout_ms)
{
    if (h->pid <= 0)
        return -1;
    int status = 0, rc;
    kill(h->pid, sig);
    if (s_wait_exit(h->pid, timeout_ms, &status) == 0) {
        rc = s_decode_status(status);
    } else {
        kill(h->pid, SIGKILL);
        (void)s_wait_exit(h->pid, 5000, &status);
        rc = -1;
    }
    h->pid = 0;
    return rc;
}

/* ---- log ----------------------------------------------------------------------------------- */

static char *s_log_read(const zh_env *h, size_t from, size_t *len)
{
    FILE *f = fopen(h->log_path, "rb");
    *len = 0;
    if (!f)
        return NULL;
    char *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        if (size >= 0 && (size_t)size >= from && (size_t)size - from <= S_LOG_MAX &&
            fseek(f, (long)from, SEEK_SET) == 0) {
            size_t n = (size_t)size - from;
            buf = malloc(n + 1);
            if (buf) {
                *len = fread(buf, 1, n, f);
                buf[*len] = '\0';
            }
        }
    }
    fclose(f);
    return buf;
}

size_t zh_log_size(const zh_env *h)
{
    struct stat st;
    return stat(h->log_path, &st) == 0 ? (size_t)st.st_size : 0;
}

/* Walk complete lines; cb returns non-zero to stop. */
static int s_log_lines(const zh_env *h, size_t from, const char *n1, const char *n2, char *first,
                       size_t cap)
{
    size_t len;
    char *buf = s_log_read(h, from, &len);
    if (!buf)
        return 0;
    int count = 0;
    char *line = buf;
    while (line < buf + len) {
        char *nl = memchr(line, '\n', (size_t)(buf + len - line));
        if (!nl)
            break; /* a line still being written */
        *nl = '\0';
        if (strstr(line, n1) && (!n2 || strstr(line, n2))) {
            if (count == 0 && first)
                snprintf(first, cap, "%s", line);
            count++;
        }
        line = nl + 1;
    }
    free(buf);
    return count;
}

int zh_log_count(const zh_env *h, size_t from, const char *needle, const char *needle2)
{
    return s_log_lines(h, from, needle, needle2, NULL, 0);
}

int zh_log_wait(const zh_env *h, size_t from, const char *needle, const char *needle2, int n, int timeout_ms)
{
    uint64_t end = s_mono_ms() + (uint64_t)timeout_ms;
    for (;;) {
        if (zh_log_count(h, from, needle, needle2) >= n)
            return 0;
        if (s_mono_ms() >= end)
            return -1;
        zh_sleep_ms(20);
    }
}

int zh_log_line(const zh_env *h, size_t from, const char *needle, char *out, size_t cap)
{
    if (cap)
        out[0] = '\0';
    return s_log_lines(h, from, needle, NULL, out, cap) > 0 ? 0 : -1;
}

void zh_log_dump(const zh_env *h)
{
    size_t len;
    char *buf = s_log_read(h, 0, &len);
    fprintf(stderr, "---- %s ----\n%s---- end of log ----\n", h->log_path, buf ? buf : "(none)\n");
    free(buf);
}

int zh_hup_wait(zh_env *h, size_t mark)
{
    char loaded[80];
    snprintf(loaded, sizeof loaded, "convenant-loaded version=%llu ", (unsigned long long)h->version);
    if (zh_broker_signal(h, SIGHUP) != 0)
        return -1;
    uint64_t end = s_mono_ms() + ZH_TIMEOUT;
    while (s_mono_ms() < end) {
        if (zh_log_count(h, mark, loaded, NULL) > 0)
            return 0;
        if (zh_log_count(h, mark, "reload-refused", NULL) > 0)
            return 1;
        zh_sleep_ms(20);
    }
    return -1;
}

int zh_reload(zh_env *h, uint64_t version, unsigned exclude)
{
    size_t mark = zh_log_size(h);
    if (zh_write_convenant(h, version, exclude) != 0)
        return -1;
    return zh_hup_wait(h, mark);
}

/* ---- raw clients --------------------------------------------------------------------------- */

static void *s_socket(zh_env *h, const zn_seckeys *keys)
{
    void *s = zmq_socket(h->zctx, ZMQ_DEALER);
    int linger = 0;
    if (!s)
        return NULL;
    if (zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, h->broker.pub.transport, ZN_KEY_LEN) != 0 ||
        zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, keys->pub.transport, ZN_KEY_LEN) != 0 ||
        zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, keys->transport, ZN_KEY_LEN) != 0) {
        zmq_close(s);
        return NULL;
    }
    return s;
}

void *zh_connect(zh_env *h, const zn_seckeys *keys)
{
    void *s = s_socket(h, keys);
    if (s && zmq_connect(s, h->endpoint) != 0) {
        zmq_close(s);
        return NULL;
    }
    if (!s)
        return NULL;
    bool kept = false;
    pthread_mutex_lock(&h->lock);
    for (int i = 0; i < ZH_MAX_SOCKS && !kept; i++)
        if (!h->socks[i]) {
            h->socks[i] = s;
            kept = true;
        }
    pthread_mutex_unlock(&h->lock);
    if (!kept) {
        fprintf(stderr, "harness: more than %d raw clients open\n", ZH_MAX_SOCKS);
        zmq_close(s);
        return NULL;
    }
    return s;
}

void *zh_connect_party(zh_env *h, int party) { return zh_connect(h, &h->party[party].keys); }

void zh_close(zh_env *h, void **sock)
{
    if (!sock || !*sock)
        return;
    pthread_mutex_lock(&h->lock);
    for (int i = 0; i < ZH_MAX_SOCKS; i++)
        if (h->socks[i] == *sock)
            h->socks[i] = NULL;
    pthread_mutex_unlock(&h->lock);
    zmq_close(*sock);
    *sock = NULL;
}

int zh_send_bytes(void *sock, const void *p, size_t n)
{
    if (!sock)
        return -1;
    zmq_pollitem_t it = {sock, 0, ZMQ_POLLOUT, 0};
    if (zmq_poll(&it, 1, ZH_TIMEOUT) != 1)
        return -1;
    return zmq_send(sock, p, n, ZMQ_DONTWAIT) < 0 ? -1 : 0;
}

int zh_send_sb(void *sock, const msgpack_sbuffer *sb) { return zh_send_bytes(sock, sb->data, sb->size); }

void zh_msg_free(zh_msg *m)
{
    if (!m)
        return;
    if (m->parsed)
        zn_frame_free(&m->f);
    free(m->buf);
    memset(m, 0, sizeof *m);
}

int zh_recv(void *sock, int timeout_ms, zh_msg *m)
{
    memset(m, 0, sizeof *m);
    if (!sock)
        return -1;
    zmq_pollitem_t it = {sock, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, timeout_ms < 0 ? 0 : timeout_ms) != 1)
        return -1;
    zmq_msg_t part;
    zmq_msg_init(&part);
    if (zmq_msg_recv(&part, sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&part);
        return -1;
    }
    m->len = zmq_msg_size(&part);
    m->buf = malloc(m->len ? m->len : 1);
    if (!m->buf) {
        zmq_msg_close(&part);
        return -1;
    }
    memcpy(m->buf, zmq_msg_data(&part), m->len);
    bool more = zmq_msg_more(&part);
    zmq_msg_close(&part);
    for (int i = 0; more && i < 64; i++) { /* parts of one message arrive together */
        m->more = true;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&part);
            break;
        }
        more = zmq_msg_more(&part);
        zmq_msg_close(&part);
    }
    zn_err_clear(&m->e);
    m->parsed = zn_frame_parse(m->buf, m->len, &m->f, &m->e) == 0;
    return 0;
}

bool zh_quiet(void *sock, int ms)
{
    zmq_pollitem_t it = {sock, 0, ZMQ_POLLIN, 0};
    return zmq_poll(&it, 1, ms) == 0;
}

int zh_handshake(zh_env *h, const zn_seckeys *keys, int timeout_ms)
{
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://zh-monitor-%u", h->mon_seq++);
    void *s = s_socket(h, keys), *mon = NULL;
    int result = -1;
    if (!s)
        return -1;
    if (zmq_socket_monitor(s, ep, ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                                      ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                      ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) != 0)
        goto done;
    mon = zmq_socket(h->zctx, ZMQ_PAIR);
    int linger = 0;
    if (!mon || zmq_setsockopt(mon, ZMQ_LINGER, &linger, sizeof linger) != 0 || zmq_connect(mon, ep) != 0 ||
        zmq_connect(s, h->endpoint) != 0)
        goto done;
    uint64_t end = s_mono_ms() + (uint64_t)timeout_ms;
    while (result < 0) {
        uint64_t now = s_mono_ms();
        if (now >= end)
            break;
        zmq_pollitem_t it = {mon, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, (long)(end - now)) != 1)
            break;
        zmq_msg_t ev, addr;
        zmq_msg_init(&ev);
        zmq_msg_init(&addr);
        if (zmq_msg_recv(&ev, mon, 0) >= 0 && zmq_msg_more(&ev) && zmq_msg_recv(&addr, mon, 0) >= 0 &&
            zmq_msg_size(&ev) >= 6) {
            uint16_t event;
            memcpy(&event, zmq_msg_data(&ev), sizeof event);
            if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
                result = 0;
            else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
                result = 1;
            /* a protocol failure is not the refusal asked about: keep waiting until the end */
        }
        zmq_msg_close(&ev);
        zmq_msg_close(&addr);
    }
done:
    if (s) {
        (void)zmq_socket_monitor(s, NULL, 0);
        zmq_close(s);
    }
    if (mon)
        zmq_close(mon);
    return result;
}

/* ---- frames -------------------------------------------------------------------------------- */

int zh_call(void *sock, const msgpack_sbuffer *sb, zh_msg *m, int timeout_ms)
{
    memset(m, 0, sizeof *m);
    if (zh_send_sb(sock, sb) != 0)
        return -1;
    return zh_recv(sock, timeout_ms, m);
}

static void s_describe(const char *what, const zh_msg *m)
{
    if (!m->buf) {
        fprintf(stderr, "%s: nothing arrived\n", what);
    } else if (!m->parsed) {
        fprintf(stderr, "%s: a frame of %zu bytes that does not parse: %s\n", what, m->len, m->e.text);
    } else if (m->f.type == ZN_T_ERROR || m->f.type == ZN_T_BYE) {
        fprintf(stderr, "%s: %s corr=%u code=%s text=\"%s\"\n", what, m->f.type == ZN_T_ERROR ? "ERROR" : "BYE",
                m->f.corr, m->f.u.error.name, m->f.u.error.text);
    } else {
        fprintf(stderr, "%s: frame type %u corr %u\n", what, m->f.type, m->f.corr);
    }
}

bool zh_is_error(const zh_msg *m, zn_code code, uint32_t corr)
{
    return m->parsed && m->f.type == ZN_T_ERROR && m->f.corr == corr && m->f.u.error.code == code &&
           strcmp(m->f.u.error.name, zn_code_name(code)) == 0 && m->f.u.error.text[0] != '\0';
}

int zh_expect_error(void *sock, const msgpack_sbuffer *sb, zn_code code, uint32_t corr)
{
    zh_msg m;
    int rc = -1;
    if (zh_call(sock, sb, &m, ZH_TIMEOUT) == 0 && zh_is_error(&m, code, corr))
        rc = 0;
    if (rc != 0) {
        char what[128];
        snprintf(what, sizeof what, "expected ERROR %s corr=%u", zn_code_name(code), corr);
        s_describe(what, &m);
    }
    zh_msg_free(&m);
    return rc;
}

int zh_hello(void *sock, uint32_t corr, uint64_t version, uint32_t window)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    zn_frame_hello(&sb, corr, version, window, 0);
    zh_msg m;
    int rc = zh_call(sock, &sb, &m, ZH_TIMEOUT);
    msgpack_sbuffer_destroy(&sb);
    if (rc == 0 && m.parsed && m.f.type == ZN_T_WELCOME && m.f.corr == corr) {
        zh_msg_free(&m);
        return 0;
    }
    s_describe("expected WELCOME", &m);
    zh_msg_free(&m);
    return -1;
}

int zh_seal_header(zh_env *h, int signer, const zn_header *hdr, const uint8_t recipient_box[ZN_KEY_LEN],
                   const void *content, size_t len, uint8_t **env, size_t *env_len)
{
    zn_err e;
    zn_err_clear(&e);
    if (zn_envelope_seal(hdr, content, len, recipient_box, &h->party[signer].keys, env, env_len, &e) != 0) {
        fprintf(stderr, "harness: seal: %s\n", e.text);
        return -1;
    }
    return 0;
}

int zh_seal(zh_env *h, int from, const char *to, const uint8_t case_id[ZN_ID_LEN], const uint8_t *msgid,
            const void *content, size_t len, uint8_t **env, size_t *env_len, uint8_t msgid_out[ZN_ID_LEN])
{
    zn_header hdr;
    memset(&hdr, 0, sizeof hdr);
    if (msgid)
        memcpy(hdr.msgid, msgid, ZN_ID_LEN);
    else
        zh_random(hdr.msgid, ZN_ID_LEN);
    if (msgid_out)
        memcpy(msgid_out, hdr.msgid, ZN_ID_LEN);
    memcpy(hdr.case_id, case_id, ZN_ID_LEN);
    snprintf(hdr.sender, sizeof hdr.sender, "%s", h->party[from].id);
    snprintf(hdr.handler, sizeof hdr.handler, "%s", ZH_HANDLER);
    snprintf(hdr.recipient, sizeof hdr.recipient, "%s", to);
    hdr.time_ms = zh_now_ms();
    hdr.convenant_version = h->version;
    const uint8_t *box = h->outsider.pub.box;
    for (int i = 0; i < ZH_NPARTY; i++)
        if (strcmp(h->party[i].id, to) == 0)
            box = h->party[i].keys.pub.box;
    return zh_seal_header(h, from, &hdr, box, content, len, env, env_len);
}

void zh_frame_send(msgpack_sbuffer *sb, uint32_t corr, const uint8_t *env, size_t len)
{
    zn_frame_send(sb, corr, env, len);
}

int zh_send_env(void *sock, uint32_t corr, const uint8_t *env, size_t len, bool *duplicate)
{
    zn_doc doc = {0};
    zn_envelope parsed;
    zn_err e;
    if (zn_envelope_parse_bytes(env, len, &doc, &parsed, &e) != 0) {
        fprintf(stderr, "harness: the envelope to send does not parse: %s\n", e.text);
        return -1;
    }
    uint8_t msgid[ZN_ID_LEN];
    memcpy(msgid, parsed.h.msgid, ZN_ID_LEN);
    zn_doc_free(&doc);

    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    zn_frame_send(&sb, corr, env, len);
    zh_msg m;
    int rc = zh_call(sock, &sb, &m, ZH_TIMEOUT);
    msgpack_sbuffer_destroy(&sb);
    if (rc == 0 && m.parsed && m.f.type == ZN_T_ACCEPTED && m.f.corr == corr &&
        memcmp(m.f.u.accepted.msgid, msgid, ZN_ID_LEN) == 0) {
        if (duplicate)
            *duplicate = m.f.u.accepted.duplicate;
        zh_msg_free(&m);
        return 0;
    }
    s_describe("expected ACCEPTED", &m);
    zh_msg_free(&m);
    return -1;
}

static void s_pack_request(msgpack_sbuffer *out, uint64_t rversion, const char *kind, const char *partner,
                           const uint8_t *nonce, uint64_t time_ms, uint64_t version, const uint8_t *body,
                           size_t body_len)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 8);
    msgpack_pack_uint64(&pk, rversion);
    zn_pack_str(&pk, kind);
    zn_pack_str(&pk, partner);
    zn_pack_str(&pk, ZH_HANDLER);
    zn_pack_bin(&pk, nonce, ZN_NONCE_LEN);
    msgpack_pack_uint64(&pk, time_ms);
    msgpack_pack_uint64(&pk, version);
    zn_pack_raw(&pk, body, body_len);
}

int zh_request_frame_ex(zh_env *h, msgpack_sbuffer *sb, uint32_t corr, int signer, uint64_t version,
                        const char *kind, const char *partner, const uint8_t nonce[ZN_NONCE_LEN],
                        uint64_t time_ms, const uint8_t *body, size_t body_len)
{
    msgpack_sbuffer r;
    msgpack_sbuffer_init(&r);
    s_pack_request(&r, version, kind, partner, nonce, time_ms, h->version, body, body_len);
    size_t ns = sizeof ZN_REQUEST_NS - 1;
    uint8_t sig[ZN_SIG_LEN];
    uint8_t *msg = malloc(ns + r.size);
    int rc = -1;
    if (msg) {
        memcpy(msg, ZN_REQUEST_NS, ns);
        memcpy(msg + ns, r.data, r.size);
        if (crypto_sign_detached(sig, NULL, msg, ns + r.size, h->party[signer].keys.sign) == 0) {
            zn_frame_request(sb, corr, (const uint8_t *)r.data, r.size, sig);
            rc = 0;
        }
    }
    free(msg);
    msgpack_sbuffer_destroy(&r);
    return rc;
}

int zh_case_new_frame(zh_env *h, msgpack_sbuffer *sb, uint32_t corr, int signer, const char *claimed,
                      const uint8_t case_id[ZN_ID_LEN], const char *network, uint64_t time_ms,
                      const uint8_t *nonce)
{
    msgpack_sbuffer body;
    msgpack_sbuffer_init(&body);
    int rc = -1;
    uint8_t *req = NULL;
    size_t req_len = 0;
    uint8_t sig[ZN_SIG_LEN];
    const char *partner = claimed ? claimed : h->party[signer].id;
    if (!time_ms)
        time_ms = zh_now_ms();
    zn_case_new_body b;
    memset(&b, 0, sizeof b);
    memcpy(b.id, case_id, ZN_ID_LEN);
    if (!network || snprintf(b.network, sizeof b.network, "%s", network) >= (int)sizeof b.network ||
        zn_body_case_new_enc(&body, &b) != 0)
        goto done;
    if (!nonce) {
        zn_err e;
        zn_err_clear(&e);
        if (zn_request_build("case-new", partner, ZH_HANDLER, time_ms, h->version, (const uint8_t *)body.data,
                             body.size, &h->party[signer].keys, &req, &req_len, sig, &e) != 0) {
            fprintf(stderr, "harness: request: %s\n", e.text);
            goto done;
        }
        zn_frame_request(sb, corr, req, req_len, sig);
        free(req);
        rc = 0;
    } else {
        /* the same encoding as zn_request_build, with the nonce given */
        rc = zh_request_frame_ex(h, sb, corr, signer, 1, "case-new", partner, nonce, time_ms,
                                 (const uint8_t *)body.data, body.size);
    }
done:
    msgpack_sbuffer_destroy(&body);
    return rc;
}

int zh_case_new(zh_env *h, void *sock, int party, const char *network, uint8_t case_id[ZN_ID_LEN])
{
    static uint32_t corr = 0x1000;
    zh_random(case_id, ZN_ID_LEN);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    zh_msg m;
    memset(&m, 0, sizeof m);
    uint32_t c = corr++;
    int rc = -1;
    if (zh_case_new_frame(h, &sb, c, party, NULL, case_id, network, 0, NULL) == 0 &&
        zh_call(sock, &sb, &m, ZH_TIMEOUT) == 0 && m.parsed && m.f.type == ZN_T_RESULT && m.f.corr == c &&
        strcmp(m.f.u.result.kind, "case-new") == 0) {
        const msgpack_object *a = zn_obj_array(m.f.u.result.body, 1);
        uint8_t got[ZN_ID_LEN];
        if (a && zn_obj_bin_fixed(&a[0], got, ZN_ID_LEN) == 0 && memcmp(got, case_id, ZN_ID_LEN) == 0)
            rc = 0;
    }
    if (rc != 0)
        s_describe("expected RESULT case-new", &m);
    zh_msg_free(&m);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

int zh_ack(void *sock, uint32_t corr, const uint8_t item_id[ZN_ID_LEN])
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    uint8_t ids[1][ZN_ID_LEN];
    memcpy(ids[0], item_id, ZN_ID_LEN);
    zn_frame_ack(&sb, corr, (const uint8_t(*)[ZN_ID_LEN])ids, 1);
    int rc = zh_send_sb(sock, &sb);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

int zh_wait_type(void *sock, uint32_t type, int timeout_ms, zh_msg *m, int *skipped)
{
    uint64_t end = s_mono_ms() + (uint64_t)timeout_ms;
    for (;;) {
        uint64_t now = s_mono_ms();
        if (now >= end || zh_recv(sock, (int)(end - now), m) != 0) {
            memset(m, 0, sizeof *m);
            return -1;
        }
        if (!m->parsed) {
            s_describe("while waiting", m);
            zh_msg_free(m);
            return -1;
        }
        if (m->f.type == type)
            return 0;
        if (skipped)
            (*skipped)++;
        zh_msg_free(m);
    }
}

/* ---- deliveries ---------------------------------------------------------------------------- */

int zh_item_from(const zh_env *h, const zh_msg *m, zh_item *it)
{
    memset(it, 0, sizeof *it);
    if (!m->parsed || m->f.type != ZN_T_DELIVER)
        return -1;
    memcpy(it->item_id, m->f.u.deliver.item_id, ZN_ID_LEN);
    it->kind = m->f.u.deliver.kind;
    if (it->kind == ZN_ITEM_ENVELOPE) {
        const zn_envelope *env = &m->f.u.deliver.env;
        memcpy(it->msgid, env->h.msgid, ZN_ID_LEN);
        memcpy(it->case_id, env->h.case_id, ZN_ID_LEN);
        snprintf(it->sender, sizeof it->sender, "%s", env->h.sender);
        snprintf(it->recipient, sizeof it->recipient, "%s", env->h.recipient);
        for (int i = 0; i < ZH_NPARTY; i++)
            if (strcmp(h->party[i].id, env->h.sender) == 0)
                it->verified = zn_envelope_verify(env, h->party[i].keys.pub.sign) == 0;
        return 0;
    }
    const zn_notice *n = &m->f.u.deliver.notice;
    snprintf(it->notice, sizeof it->notice, "%s", n->type);
    if (strcmp(n->type, "envelope-dropped") == 0) {
        if (zn_obj_bin_fixed(zn_obj_map_get(n->fields, "msgid"), it->msgid, ZN_ID_LEN) != 0 ||
            zn_obj_bin_fixed(zn_obj_map_get(n->fields, "case"), it->case_id, ZN_ID_LEN) != 0 ||
            zn_obj_ident(zn_obj_map_get(n->fields, "recipient"), it->recipient, sizeof it->recipient) != 0 ||
            zn_obj_ident(zn_obj_map_get(n->fields, "reason"), it->reason, sizeof it->reason) != 0)
            return -1;
    }
    return 0;
}

int zh_drain(const zh_env *h, void *sock, zh_item *items, int max, bool ack, int timeout_ms)
{
    int n = 0;
    for (;;) {
        zh_msg m;
        if (zh_recv(sock, timeout_ms, &m) != 0) {
            fprintf(stderr, "harness: drain: no IDLE within %d ms after %d items\n", timeout_ms, n);
            return -1;
        }
        if (m.parsed && m.f.type == ZN_T_IDLE) {
            zh_msg_free(&m);
            return n;
        }
        zh_item it;
        if (zh_item_from(h, &m, &it) != 0) {
            s_describe("drain: expected DELIVER or IDLE", &m);
            zh_msg_free(&m);
            return -1;
        }
        zh_msg_free(&m);
        if (items && n < max)
            items[n] = it;
        n++;
        if (ack && zh_ack(sock, (uint32_t)n, it.item_id) != 0)
            return -1;
    }
}

int zh_sync(void *sock, uint32_t corr, int *skipped)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    zn_frame_convenant_get(&sb, corr);
    int rc = zh_send_sb(sock, &sb);
    msgpack_sbuffer_destroy(&sb);
    if (rc != 0)
        return -1;
    uint64_t end = s_mono_ms() + ZH_TIMEOUT;
    for (;;) {
        zh_msg m;
        uint64_t now = s_mono_ms();
        if (now >= end || zh_recv(sock, (int)(end - now), &m) != 0)
            return -1;
        bool done = m.parsed && m.f.type == ZN_T_CONVENANT && m.f.corr == corr;
        if (!done && skipped)
            (*skipped)++;
        zh_msg_free(&m);
        if (done)
            return 0;
    }
}

zh_world *zh_world_new(uint64_t queue_quota)
{
    zh_world *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->h = zh_env_new(queue_quota);
    if (!w->h || zh_broker_start(w->h) != 0)
        goto fail;
    w->school = zh_connect_party(w->h, ZH_SCHOOL);
    if (!w->school || zh_hello(w->school, 1, w->h->version, 0) != 0 ||
        zh_case_new(w->h, w->school, ZH_SCHOOL, ZH_NET0, w->kase) != 0)
        goto fail;
    return w;
fail:
    if (w->h)
        zh_log_dump(w->h);
    zh_env_destroy(&w->h);
    free(w);
    return NULL;
}

int zh_world_finish(zh_world **wp)
{
    int rc = 0;
    if (wp && *wp) {
        rc = zh_env_finish(&(*wp)->h);
        free(*wp);
        *wp = NULL;
    }
    return rc;
}

/* ---- audit-log tests: broker arguments and convenant policy ------------------------------ */

int zh_convenant_edits(zh_env *h, const char *const *kv)
{
    zn_convenant *c = NULL;
    zn_err e;
    zn_err_clear(&e);
    int rc = -1;
    const char *key = "-", *value = "-";
    if (zn_convenant_load(h->conv_path, &c, &e) != 0)
        goto out;
    for (size_t i = 0; kv && kv[i] && kv[i + 1]; i += 2) {
        key = kv[i], value = kv[i + 1];
        if (zn_convenant_set(c, key, value, &e) != 0)
            goto out;
    }
    key = value = "-";
    if (zn_convenant_sign(c, &h->authority, &e) != 0 || zn_convenant_save(h->conv_path, c, &e) != 0)
        goto out;
    rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "harness: convenant %s=%s: %s: %s\n", key, value, zn_code_name(e.code), e.text);
    zn_convenant_destroy(&c);
    return rc;
}

int zh_convenant_edit(zh_env *h, const char *key, const char *value)
{
    const char *const kv[] = {key, value, NULL};
    return zh_convenant_edits(h, kv);
}

int zh_broker_start_args(zh_env *h, const char *const *extra)
{
    if (h->pid > 0) {
        fprintf(stderr, "harness: a broker is already running\n");
        return -1;
    }
    for (int attempt = 0; attempt < 3; attempt++) {
        size_t mark = zh_log_size(h);
        pid_t pid = s_spawn(h, NULL, NULL, NULL, extra);
        if (pid < 0)
            return -1;
        uint64_t end = s_mono_ms() + S_START_TIMEOUT_MS;
        bool retry = false;
        while (!retry && s_mono_ms() < end) {
            int status = 0;
            if (waitpid(pid, &status, WNOHANG) == pid) {
                if (attempt < 2 && zh_log_count(h, mark, "cannot listen", NULL) > 0) {
                    int port = s_free_port();
                    if (port <= 0)
                        return -1;
                    h->port = port;
                    snprintf(h->endpoint, sizeof h->endpoint, "tcp://127.0.0.1:%d", h->port);
                    if (zh_convenant_edit(h, "endpoint", h->endpoint) != 0)
                        return -1;
                    retry = true;
                    break;
                }
                fprintf(stderr, "harness: zorgnetd exited during start (status %d)\n", s_decode_status(status));
                zh_log_dump(h);
                return -1;
            }
            if (zh_log_count(h, mark, "zorgnetd: started", NULL) > 0 && s_tcp_accepts(h->port)) {
                h->pid = pid;
                return 0;
            }
            zh_sleep_ms(20);
        }
        if (retry)
            continue;
        fprintf(stderr, "harness: zorgnetd did not listen within %d ms\n", S_START_TIMEOUT_MS);
        kill(pid, SIGKILL);
        int status;
        (void)s_wait_exit(pid, 5000, &status);
        zh_log_dump(h);
        return -1;
    }
    return -1;
}

/* ---- signed requests of any kind ------------------------------------------------------------ */

int zh_request_frame_kind(zh_env *h, msgpack_sbuffer *sb, uint32_t corr, int signer, const char *kind,
                          const char *handler, uint64_t time_ms, const uint8_t *body, size_t body_len)
{
    uint8_t *req = NULL;
    size_t req_len = 0;
    uint8_t sig[ZN_SIG_LEN];
    zn_err e;
    zn_err_clear(&e);
    if (zn_request_build(kind, h->party[signer].id, handler ? handler : ZH_HANDLER, time_ms ? time_ms : zh_now_ms(),
                         h->version, body, body_len, &h->party[signer].keys, &req, &req_len, sig, &e) != 0) {
        fprintf(stderr, "harness: request %s: %s\n", kind, e.text);
        return -1;
    }
    zn_frame_request(sb, corr, req, req_len, sig);
    free(req);
    return 0;
}

int zh_request_call(zh_env *h, void *sock, uint32_t corr, int signer, const char *kind, const char *handler,
                    uint64_t time_ms, const uint8_t *body, size_t body_len, zh_msg *m, int timeout_ms,
                    int *skipped)
{
    memset(m, 0, sizeof *m);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    int rc = zh_request_frame_kind(h, &sb, corr, signer, kind, handler, time_ms, body, body_len);
    if (rc == 0)
        rc = zh_send_sb(sock, &sb);
    msgpack_sbuffer_destroy(&sb);
    if (rc != 0)
        return -1;
    uint64_t end = s_mono_ms() + (uint64_t)timeout_ms;
    for (;;) {
        uint64_t now = s_mono_ms();
        if (now >= end || zh_recv(sock, (int)(end - now), m) != 0) {
            fprintf(stderr, "harness: request %s corr=%u: no answer within %d ms\n", kind, corr, timeout_ms);
            memset(m, 0, sizeof *m);
            return -1;
        }
        if (m->parsed && m->f.corr == 0 && (m->f.type == ZN_T_DELIVER || m->f.type == ZN_T_IDLE)) {
            if (skipped)
                (*skipped)++;
            zh_msg_free(m);
            continue;
        }
        if (m->parsed && m->f.corr == corr && m->f.type == ZN_T_RESULT && strcmp(m->f.u.result.kind, kind) == 0)
            return 0;
        if (m->parsed && m->f.corr == corr && m->f.type == ZN_T_ERROR)
            return 1;
        char what[128];
        snprintf(what, sizeof what, "request %s corr=%u: expected RESULT or ERROR", kind, corr);
        s_describe(what, m);
        zh_msg_free(m);
        return -1;
    }
}

uint8_t *zh_slurp(const char *path, size_t *len)
{
    *len = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    uint8_t *buf = NULL;
    if (fseek(fp, 0, SEEK_END) == 0) {
        long size = ftell(fp);
        if (size >= 0 && fseek(fp, 0, SEEK_SET) == 0) {
            buf = malloc((size_t)size + 1);
            if (!buf || (*len = fread(buf, 1, (size_t)size, fp)) != (size_t)size) {
                fprintf(stderr, "harness: cannot read %s\n", path);
                abort();
            }
        }
    }
    fclose(fp);
    return buf;
}

/* ---- the request fixture ---------------------------------------------------------------------- */

static void s_fix_conv_load(zh_fix *f)
{
    zn_convenant_destroy(&f->conv);
    zn_err e;
    zn_err_clear(&e);
    if (zn_convenant_load(f->h->conv_path, &f->conv, &e) != 0)
        fail_msg("the test convenant does not load: %s", e.text);
}

int zh_fix_setup(void **state)
{
    zh_fix *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    zn_err e;
    zn_err_clear(&e);
    f->h = zh_env_new(0);
    if (!f->h || zh_broker_start(f->h) != 0 || zn_convenant_load(f->h->conv_path, &f->conv, &e) != 0) {
        zh_env_destroy(&f->h);
        free(f);
        return -1;
    }
    f->corr = 100;
    *state = f;
    return 0;
}

int zh_fix_teardown(void **state)
{
    zh_fix *f = *state;
    zn_convenant_destroy(&f->conv);
    int rc = zh_env_finish(&f->h);
    free(f);
    *state = NULL;
    return rc;
}

uint64_t zh_fix_now(const zh_fix *f) { return zh_now_ms() + (uint64_t)(f->offset_s * 1000); }

void zh_fix_drop_conns(zh_fix *f)
{
    for (int i = 0; i < ZH_NPARTY; i++)
        zh_close(f->h, &f->req[i]);
}

void zh_fix_restart(zh_fix *f, int64_t offset_s, const char *const *edits)
{
    zh_fix_drop_conns(f);
    if (f->h->pid > 0)
        assert_int_equal(zh_broker_stop(f->h, SIGTERM, 10000), 0);
    if (edits && edits[0])
        assert_int_equal(zh_convenant_edits(f->h, edits), 0);
    char off[32];
    snprintf(off, sizeof off, "%lld", (long long)offset_s);
    const char *const args[] = {"--clock-offset", off, NULL};
    assert_int_equal(zh_broker_start_args(f->h, offset_s ? args : NULL), 0);
    f->offset_s = offset_s;
    s_fix_conv_load(f);
}

void *zh_fix_conn(zh_fix *f, int party)
{
    if (!f->req[party]) {
        void *s = zh_connect_party(f->h, party);
        assert_non_null(s);
        assert_int_equal(zh_hello(s, f->corr++, f->h->version, 0), 0);
        f->req[party] = s;
    }
    return f->req[party];
}

const char *zh_code_text(zn_code c) { return c == ZN_E_OK ? "a RESULT" : zn_code_name(c); }

/* Keep the refusal's code and text; a refusal must say why in a sentence. */
static zn_code s_fix_refused(zh_fix *f, const zh_msg *m, const char *what)
{
    snprintf(f->last_err, sizeof f->last_err, "%s: %s", m->f.u.error.name, m->f.u.error.text);
    if (!m->f.u.error.text[0])
        fail_msg("%s refused with %s and no sentence", what, m->f.u.error.name);
    return m->f.u.error.code;
}

zn_code zh_fix_call_raw(zh_fix *f, int party, const char *handler, const char *kind, const void *body, size_t len,
                        zh_msg *m)
{
    zh_msg tmp;
    zh_msg *r = m ? m : &tmp;
    uint32_t corr = f->corr++;
    f->last_err[0] = '\0';
    int rc = zh_request_call(f->h, zh_fix_conn(f, party), corr, party, kind, handler, zh_fix_now(f),
                             (const uint8_t *)body, len, r, 2 * ZH_TIMEOUT, NULL);
    if (rc < 0) {
        zh_log_dump(f->h);
        fail_msg("%s by %s: no RESULT or ERROR", kind, f->h->party[party].id);
    }
    if (rc == 1) {
        char what[2 * ZN_IDENT_MAX];
        snprintf(what, sizeof what, "%s by %s", kind, f->h->party[party].id);
        zn_code c = s_fix_refused(f, r, what);
        zh_msg_free(r);
        return c;
    }
    if (!m)
        zh_msg_free(r);
    return ZN_E_OK;
}

zn_code zh_fix_call(zh_fix *f, int party, const char *handler, const char *kind, const msgpack_sbuffer *body, zh_msg *m)
{
    return zh_fix_call_raw(f, party, handler, kind, body->data, body->size, m);
}

void zh_fix_want(const zh_fix *f, const char *what, int party, zn_code got, zn_code want)
{
    if (got != want)
        fail_msg("%s by %s: expected %s, got %s (%s)", what, f->h->party[party].id, zh_code_text(want),
                 zh_code_text(got), f->last_err);
}

void zh_fix_reload(zh_fix *f, uint64_t version, unsigned exclude)
{
    zh_fix_drop_conns(f);
    assert_int_equal(zh_reload(f->h, version, exclude), 0);
    s_fix_conv_load(f);
}

zn_code zh_fix_send(zh_fix *f, int from, int to, const uint8_t case_id[ZN_ID_LEN], uint64_t flags,
                    uint8_t msgid[ZN_ID_LEN])
{
    return zh_fix_send_ex(f, from, to, case_id, flags, NULL, msgid, NULL);
}

zn_code zh_fix_send_ex(zh_fix *f, int from, int to, const uint8_t case_id[ZN_ID_LEN], uint64_t flags,
                       const uint8_t *msgid_in, uint8_t msgid[ZN_ID_LEN], bool *duplicate)
{
    zn_header hdr;
    memset(&hdr, 0, sizeof hdr);
    if (msgid_in)
        memcpy(hdr.msgid, msgid_in, ZN_ID_LEN);
    else
        zh_random(hdr.msgid, ZN_ID_LEN);
    if (msgid)
        memcpy(msgid, hdr.msgid, ZN_ID_LEN);
    memcpy(hdr.case_id, case_id, ZN_ID_LEN);
    snprintf(hdr.sender, sizeof hdr.sender, "%s", f->h->party[from].id);
    snprintf(hdr.handler, sizeof hdr.handler, "%s", ZH_HANDLER);
    snprintf(hdr.recipient, sizeof hdr.recipient, "%s", f->h->party[to].id);
    hdr.time_ms = zh_fix_now(f);
    hdr.convenant_version = f->h->version;
    hdr.flags = flags;
    static const char text[] = "Overleg over de casus: graag contact deze week.";
    uint8_t *env = NULL;
    size_t len = 0;
    assert_int_equal(zh_seal_header(f->h, from, &hdr, f->h->party[to].keys.pub.box, text, sizeof text - 1, &env, &len),
                     0);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    uint32_t corr = f->corr++;
    zh_frame_send(&sb, corr, env, len);
    free(env);
    void *sock = zh_fix_conn(f, from);
    assert_int_equal(zh_send_sb(sock, &sb), 0);
    msgpack_sbuffer_destroy(&sb);
    f->last_err[0] = '\0';
    for (int i = 0; i < 64; i++) {
        zh_msg m;
        if (zh_recv(sock, 2 * ZH_TIMEOUT, &m) != 0)
            fail_msg("SEND from %s to %s: no answer", f->h->party[from].id, f->h->party[to].id);
        if (m.parsed && m.f.corr == corr && m.f.type == ZN_T_ACCEPTED) {
            assert_memory_equal(m.f.u.accepted.msgid, hdr.msgid, ZN_ID_LEN);
            if (duplicate)
                *duplicate = m.f.u.accepted.duplicate;
            else if (m.f.u.accepted.duplicate)
                fail_msg("SEND from %s to %s: accepted as a duplicate", f->h->party[from].id, f->h->party[to].id);
            f->last_index = m.f.u.accepted.audit_index;
            zh_msg_free(&m);
            return ZN_E_OK;
        }
        if (m.parsed && m.f.corr == corr && m.f.type == ZN_T_ERROR) {
            zn_code c = s_fix_refused(f, &m, "SEND");
            zh_msg_free(&m);
            return c;
        }
        bool pushed = m.parsed && m.f.corr == 0;
        zh_msg_free(&m);
        if (!pushed)
            fail_msg("SEND from %s: an unexpected reply", f->h->party[from].id);
    }
    fail_msg("SEND from %s: no answer among 64 frames", f->h->party[from].id);
    return ZN_E_INTERNAL;
}

void zh_psn(const zh_env *h, const char *bsn, uint8_t out[ZN_PSN_LEN])
{
    zn_err e;
    zn_err_clear(&e);
    if (zn_pseudonym(out, &h->netkey, bsn, &e) != 0)
        fail_msg("pseudonym of a test BSN: %s", e.text);
}

/* ---- inboxes ---------------------------------------------------------------------------------- */

static void s_note_str(const zn_notice *n, const char *key, char *dst, size_t cap)
{
    const msgpack_object *o = zn_obj_map_get(n->fields, key);
    dst[0] = '\0';
    if (o && zn_obj_text(o, dst, cap) != 0)
        fail_msg("notice %s: field %s is not text", n->type, key);
}

static void s_note_u64(const zn_notice *n, const char *key, uint64_t *out)
{
    const msgpack_object *o = zn_obj_map_get(n->fields, key);
    *out = 0;
    if (o && zn_obj_u64(o, out) != 0)
        fail_msg("notice %s: field %s is not a number", n->type, key);
}

static bool s_note_bin(const zn_notice *n, const char *key, uint8_t *dst, size_t len)
{
    const msgpack_object *o = zn_obj_map_get(n->fields, key);
    if (!o)
        return false;
    if (zn_obj_bin_fixed(o, dst, len) != 0)
        fail_msg("notice %s: field %s is not %zu bytes", n->type, key, len);
    return true;
}

static void s_note_from(const zh_msg *m, zh_note *x)
{
    memset(x, 0, sizeof *x);
    memcpy(x->item, m->f.u.deliver.item_id, ZN_ID_LEN);
    if (m->f.u.deliver.kind == ZN_ITEM_ENVELOPE) {
        const zn_header *h = &m->f.u.deliver.env.h;
        x->envelope = true;
        x->has_case = x->has_msgid = true;
        memcpy(x->case_id, h->case_id, ZN_ID_LEN);
        memcpy(x->msgid, h->msgid, ZN_ID_LEN);
        snprintf(x->sender, sizeof x->sender, "%s", h->sender);
        snprintf(x->recipient, sizeof x->recipient, "%s", h->recipient);
        x->flags = h->flags;
        return;
    }
    const zn_notice *n = &m->f.u.deliver.notice;
    snprintf(x->type, sizeof x->type, "%s", n->type);
    x->has_case = s_note_bin(n, "case", x->case_id, ZN_ID_LEN);
    x->has_msgid = s_note_bin(n, "msgid", x->msgid, ZN_ID_LEN);
    x->has_override = s_note_bin(n, "override", x->override, ZN_ID_LEN);
    x->has_handover = s_note_bin(n, "handover", x->handover, ZN_ID_LEN);
    x->has_match = s_note_bin(n, "match", x->match, ZN_ID_LEN);
    x->has_signal = s_note_bin(n, "signal", x->signal, ZN_ID_LEN);
    x->has_person = s_note_bin(n, "person", x->person, ZN_PSN_LEN);
    static const struct {
        const char *key;
        size_t off, cap;
    } texts[] = {
#define S_TEXT(f) {#f, offsetof(zh_note, f), sizeof((zh_note *)0)->f}
        S_TEXT(recipient), S_TEXT(from),      S_TEXT(to),        S_TEXT(by),           S_TEXT(state),
        S_TEXT(reason),    S_TEXT(partner),   S_TEXT(network),   S_TEXT(link),         S_TEXT(disclosure),
        S_TEXT(lead),      S_TEXT(proposed),  S_TEXT(limit),     S_TEXT(connected_by), S_TEXT(a_partner),
        S_TEXT(a_network), S_TEXT(b_partner), S_TEXT(b_network), S_TEXT(contact),      S_TEXT(a_contact),
        S_TEXT(b_contact), S_TEXT(handler),
#undef S_TEXT
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        s_note_str(n, texts[i].key, (char *)x + texts[i].off, texts[i].cap);
    s_note_u64(n, "step", &x->step);
    s_note_u64(n, "expires", &x->expires);
    s_note_u64(n, "review_by", &x->review_by);
    s_note_u64(n, "timeout", &x->timeout);
    s_note_u64(n, "since", &x->since);
    s_note_u64(n, "count", &x->count);
}

void zh_fix_take(zh_fix *f, void *sock, zh_inbox *box, int timeout_ms)
{
    for (int guard = 0; guard < 4 * ZH_NOTES_MAX; guard++) {
        zh_msg m;
        if (zh_recv(sock, timeout_ms, &m) != 0)
            fail_msg("no IDLE within %d ms after %d items", timeout_ms, box->n);
        if (!m.parsed)
            fail_msg("a pushed frame does not parse: %s", m.e.text);
        if (m.f.type == ZN_T_IDLE) {
            zh_msg_free(&m);
            return;
        }
        if (m.f.type != ZN_T_DELIVER)
            fail_msg("expected DELIVER or IDLE, got frame type %u", m.f.type);
        if (f->notices_only && m.f.u.deliver.kind != ZN_ITEM_NOTICE)
            fail_msg("expected a DELIVER of a notice, got item kind %u", m.f.u.deliver.kind);
        if (box->n >= ZH_NOTES_MAX)
            fail_msg("more than %d items", ZH_NOTES_MAX);
        s_note_from(&m, &box->v[box->n++]);
        assert_int_equal(zh_ack(sock, f->corr++, m.f.u.deliver.item_id), 0);
        zh_msg_free(&m);
    }
    fail_msg("no IDLE among %d frames", 4 * ZH_NOTES_MAX);
}

void *zh_fix_listen_keys(zh_fix *f, const zn_seckeys *keys, zh_inbox *box)
{
    memset(box, 0, sizeof *box);
    void *s = zh_connect(f->h, keys);
    assert_non_null(s);
    assert_int_equal(zh_hello(s, f->corr++, f->h->version, ZH_WINDOW), 0);
    zh_fix_take(f, s, box, 2 * ZH_TIMEOUT);
    return s;
}

void *zh_fix_listen(zh_fix *f, int party, zh_inbox *box)
{
    return zh_fix_listen_keys(f, &f->h->party[party].keys, box);
}

void zh_fix_inbox_keys(zh_fix *f, const zn_seckeys *keys, zh_inbox *box)
{
    void *s = zh_fix_listen_keys(f, keys, box);
    assert_int_equal(zh_sync(s, f->corr++, NULL), 0);
    zh_close(f->h, &s);
}

void zh_fix_inbox(zh_fix *f, int party, zh_inbox *box) { zh_fix_inbox_keys(f, &f->h->party[party].keys, box); }

int zh_inbox_count(const zh_inbox *b, const char *type)
{
    int n = 0;
    for (int i = 0; i < b->n; i++)
        n += type ? strcmp(b->v[i].type, type) == 0 : b->v[i].envelope;
    return n;
}

const zh_note *zh_inbox_one(const zh_inbox *b, const char *type, const char *whose)
{
    const zh_note *x = NULL;
    for (int i = 0; i < b->n; i++)
        if (!b->v[i].envelope && strcmp(b->v[i].type, type) == 0) {
            if (x)
                fail_msg("%s got more than one \"%s\" notice", whose, type);
            x = &b->v[i];
        }
    if (!x)
        fail_msg("%s got no \"%s\" notice (%d items in all)", whose, type, b->n);
    return x;
}

const zh_note *zh_inbox_env(const zh_inbox *b, const uint8_t msgid[ZN_ID_LEN])
{
    for (int i = 0; i < b->n; i++)
        if (b->v[i].envelope && memcmp(b->v[i].msgid, msgid, ZN_ID_LEN) == 0)
            return &b->v[i];
    return NULL;
}

/* ---- the audit log ---------------------------------------------------------------------------- */

/* Decode a copy of one entry's bytes onto the end of lg. */
static void s_alog_add(zh_alog *lg, const void *p, size_t len, uint64_t index)
{
    if (lg->n == lg->cap) {
        size_t cap = lg->cap ? 2 * lg->cap : 256;
        zh_ent *v = realloc(lg->e, cap * sizeof *v);
        assert_non_null(v);
        lg->e = v;
        lg->cap = cap;
    }
    zh_ent *x = &lg->e[lg->n];
    memset(x, 0, sizeof *x);
    x->buf = malloc(len ? len : 1);
    assert_non_null(x->buf);
    memcpy(x->buf, p, len);
    zn_err e;
    zn_err_clear(&e);
    if (zn_audit_entry_decode(x->buf, len, &x->doc, &x->en, x->det, &e) != 0)
        fail_msg("audit entry %llu does not decode: %s", (unsigned long long)index, e.text);
    lg->n++;
}

void zh_alog_read_db(const zh_env *h, zh_alog *lg)
{
    memset(lg, 0, sizeof *lg);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open_v2(h->db_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT idx, entry FROM audit WHERE entry IS NOT NULL ORDER BY idx", -1,
                                        &st, NULL),
                     SQLITE_OK);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        s_alog_add(lg, sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1),
                   (uint64_t)sqlite3_column_int64(st, 0));
    assert_int_equal(rc, SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

void zh_fix_alog(zh_fix *f, zh_alog *lg)
{
    memset(lg, 0, sizeof *lg);
    uint64_t from = 0, bound = 0;
    for (int page = 0; page < S_ALOG_PAGES; page++) {
        zn_audit_filter q;
        memset(&q, 0, sizeof q);
        q.what = ZN_READ_ENTRIES;
        q.from = from;
        q.upto = bound; /* the log grows with every read (each is recorded): stop at its first size */
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        assert_int_equal(zn_body_audit_read(&sb, &q), 0);
        zh_msg m;
        zn_code c = zh_fix_call(f, ZH_AUDITOR, NULL, "audit-read", &sb, &m);
        msgpack_sbuffer_destroy(&sb);
        if (c != ZN_E_OK)
            fail_msg("audit-read by the auditor refused: %s", f->last_err);
        uint64_t size = 0, next = 0;
        const msgpack_object *recs = NULL;
        uint32_t n = 0;
        zn_err e;
        zn_err_clear(&e);
        if (zn_result_audit_read_parse(m.f.u.result.body, &size, &next, &recs, &n, &e) != 0)
            fail_msg("audit-read RESULT: %s", e.text);
        for (uint32_t i = 0; i < n; i++) {
            const msgpack_object *r = &recs[i];
            zn_doc rdoc = {0};
            zn_auditlog_rec rec;
            if (zn_auditlog_parse((const uint8_t *)r->via.bin.ptr, r->via.bin.size, &rdoc, &rec, &e) != 0)
                fail_msg("audit record: %s", e.text);
            zn_doc_free(&rdoc);
            if (rec.type == ZN_AUDITLOG_ENTRY && rec.bytes)
                s_alog_add(lg, rec.bytes, rec.len, rec.index);
        }
        zh_msg_free(&m);
        if (page == 0)
            bound = size;
        if (n == 0 || next >= bound)
            return;
        from = next;
    }
    fail_msg("the audit log did not end within %d pages", S_ALOG_PAGES);
}

void zh_alog_free(zh_alog *lg)
{
    for (size_t i = 0; lg->e && i < lg->n; i++) {
        zn_doc_free(&lg->e[i].doc);
        free(lg->e[i].buf);
    }
    free(lg->e);
    memset(lg, 0, sizeof *lg);
}

bool zh_is(const char *s, const char *want) { return s && strcmp(s, want) == 0; }

const zn_audit_detail *zh_det(const zh_ent *x, const char *key)
{
    for (size_t i = 0; i < x->en.n_details; i++)
        if (strcmp(x->det[i].key, key) == 0)
            return &x->det[i];
    return NULL;
}

bool zh_det_str(const zh_ent *x, const char *key, const char *want)
{
    const zn_audit_detail *d = zh_det(x, key);
    return d && d->type == ZN_AUDIT_STR && d->len == strlen(want) && memcmp(d->p, want, d->len) == 0;
}

bool zh_det_bin(const zh_ent *x, const char *key, const uint8_t *want, size_t n)
{
    const zn_audit_detail *d = zh_det(x, key);
    return d && d->type == ZN_AUDIT_BIN && d->len == n && memcmp(d->p, want, n) == 0;
}

bool zh_det_u64(const zh_ent *x, const char *key, uint64_t want)
{
    const zn_audit_detail *d = zh_det(x, key);
    return d && d->type == ZN_AUDIT_U64 && d->u64 == want;
}

uint64_t zh_det_num(const zh_ent *x, const char *key)
{
    const zn_audit_detail *d = zh_det(x, key);
    if (!d || d->type != ZN_AUDIT_U64)
        fail_msg("audit entry %s has no number %s", x->en.action, key);
    return d->u64;
}

/* NULL matches anything, "" only nothing. */
static bool s_opt(const char *got, const char *want) { return !want || (want[0] ? zh_is(got, want) : got == NULL); }

static bool s_match_q(const zh_ent *x, const zh_q *q)
{
    if (q->action && !zh_is(x->en.action, q->action))
        return false;
    if (!s_opt(x->en.actor, q->actor) || !s_opt(x->en.reason, q->reason) || !s_opt(x->en.basis, q->basis))
        return false;
    if (q->counterpart && !zh_is(x->en.counterpart, q->counterpart))
        return false;
    if (q->decision && x->en.decision != q->decision)
        return false;
    if (q->case_id && (!x->en.case_id || memcmp(x->en.case_id, q->case_id, ZN_ID_LEN) != 0))
        return false;
    if (q->key && !zh_det_bin(x, q->key, q->id, ZN_ID_LEN))
        return false;
    return true;
}

int zh_alog_count(const zh_alog *lg, zh_q q)
{
    int n = 0;
    for (size_t i = 0; i < lg->n; i++)
        n += s_match_q(&lg->e[i], &q);
    return n;
}

const zh_ent *zh_alog_one(const zh_alog *lg, zh_q q)
{
    const zh_ent *x = NULL;
    for (size_t i = 0; i < lg->n; i++)
        if (s_match_q(&lg->e[i], &q)) {
            if (x)
                fail_msg("more than one audit entry %s by %s", q.action, q.actor ? q.actor : "the broker");
            x = &lg->e[i];
        }
    if (!x)
        fail_msg("no audit entry %s by %s%s%s%s%s", q.action, q.actor && q.actor[0] ? q.actor : "the broker",
                 q.reason ? " reason " : "", q.reason ? q.reason : "", q.basis ? " basis " : "",
                 q.basis ? q.basis : "");
    return x;
}

const zh_ent *zh_alog_at(const zh_alog *lg, uint64_t index)
{
    for (size_t i = 0; i < lg->n; i++)
        if (lg->e[i].en.index == index)
            return &lg->e[i];
    fail_msg("no audit entry at index %llu", (unsigned long long)index);
    return NULL;
}

void zh_fix_alog_wait(zh_fix *f, zh_alog *lg, zh_q q, int n, int timeout_ms)
{
    uint64_t end = zh_now_ms() + (uint64_t)timeout_ms;
    for (;;) {
        zh_fix_alog(f, lg);
        if (zh_alog_count(lg, q) >= n)
            return;
        if (zh_now_ms() >= end)
            fail_msg("no %d audit entries %s within %d ms (%d found)", n, q.action, timeout_ms, zh_alog_count(lg, q));
        zh_alog_free(lg);
        zh_sleep_ms(200);
    }
}
