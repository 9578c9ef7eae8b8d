/* bench_common — see bench_common.h. */
#include "bench_common.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

/* ---- clocks ---- */

uint64_t bc_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t bc_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void bc_abstime(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_nsec += (long)ms * 1000000L;
    ts->tv_sec += ts->tv_nsec / 1000000000L;
    ts->tv_nsec %= 1000000000L;
}

void bc_wait_deadline(int timeout_s)
{
    uint64_t deadline = bc_now_ns() + (uint64_t)timeout_s * 1000000000u;
    while (bc_now_ns() < deadline) {
        struct timespec ts = {0, 100 * 1000000};
        nanosleep(&ts, NULL);
    }
}

/* ---- failure ---- */

static atomic_int s_failed;
static pthread_mutex_t s_fail_mu = PTHREAD_MUTEX_INITIALIZER;
static char s_fail_msg[512];

void bc_fail(const char *fmt, ...)
{
    pthread_mutex_lock(&s_fail_mu);
    if (!atomic_load(&s_failed)) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s_fail_msg, sizeof s_fail_msg, fmt, ap);
        va_end(ap);
        atomic_store(&s_failed, 1);
    }
    pthread_mutex_unlock(&s_fail_mu);
}

bool bc_failed(void) { return atomic_load(&s_failed) != 0; }

const char *bc_fail_msg(void) { return s_fail_msg; }

/* ---- options, sorting ---- */

int bc_num(const char *prog, const char *name, const char *v, long long min, long long max, long long *out)
{
    char *end = NULL;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || !end || *end || end == v || x < min || x > max) {
        fprintf(stderr, "%s: %s must be a whole number from %lld to %lld\n", prog, name, min, max);
        return -1;
    }
    *out = x;
    return 0;
}

int bc_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* ---- files ---- */

int bc_exe_sibling(char *out, size_t cap, const char *name)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return snprintf(out, cap, "./%s", name) < (int)cap ? 0 : -1;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = '\0';
    return snprintf(out, cap, "%s/%s", slash ? self : ".", name) < (int)cap ? 0 : -1;
}

void bc_rmtree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *de;
        char p[PATH_MAX + 256];
        struct stat st;
        while ((de = readdir(d)) != NULL) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                continue;
            snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
            if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
                bc_rmtree(p);
            else
                (void)unlink(p);
        }
        closedir(d);
    }
    (void)rmdir(dir);
}

/* ---- start gate ---- */

int bc_gate_wait(bc_gate *g, uint64_t *t0)
{
    pthread_mutex_lock(&g->mu);
    g->arrived++;
    pthread_cond_broadcast(&g->cv);
    while (!g->open && !bc_failed()) {
        struct timespec ts;
        bc_abstime(&ts, 100);
        pthread_cond_timedwait(&g->cv, &g->mu, &ts);
    }
    bool open = g->open;
    if (t0)
        *t0 = g->t0;
    pthread_mutex_unlock(&g->mu);
    return open ? 0 : -1;
}

/* ---- network ---- */

int bc_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

/* ---- the broker child process ---- */

pid_t bc_spawn(const char *prog, char *const argv[], const char *log, bool append, bool search_path,
               const char *env_name, const char *env_value)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "%s: fork failed: %s\n", prog, strerror(errno));
        return -1;
    }
    if (pid == 0) {
#ifdef __linux__
        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
        int fd = open(log, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0600);
        if (fd >= 0) {
            (void)dup2(fd, 1);
            (void)dup2(fd, 2);
            close(fd);
        }
        if (env_name && env_value)
            setenv(env_name, env_value, 1);
        else if (env_name)
            unsetenv(env_name);
        if (search_path)
            execvp(argv[0], argv);
        else
            execv(argv[0], argv);
        fprintf(stderr, "exec %s failed: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

double bc_proc_cpu_s(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    unsigned long long ut = 0, st = 0;
    /* after the command: state (field 3) ... utime (14), stime (15) */
    if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return 0;
    long hz = sysconf(_SC_CLK_TCK);
    return hz > 0 ? (double)(ut + st) / (double)hz : 0;
}

int bc_stop_broker(pid_t pid, int wait_ms, atomic_int *running)
{
    int st = 0;
    (void)kill(pid, SIGTERM);
    for (int i = 0; i < wait_ms / 10; i++) {
        if (waitpid(pid, &st, WNOHANG) == pid) {
            atomic_store(running, 0);
            return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
        }
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
    (void)kill(pid, SIGKILL);
    (void)waitpid(pid, &st, 0);
    atomic_store(running, 0);
    return -1;
}

void *bc_monitor_thread(void *arg)
{
    bc_monitor *m = arg;
    while (!atomic_load(&m->stop)) {
        int st = 0;
        if (waitpid(m->pid, &st, WNOHANG) == m->pid) {
            atomic_store(m->running, 0);
            if (WIFSIGNALED(st))
                bc_fail("the broker died during the run (signal %d)", WTERMSIG(st));
            else
                bc_fail("the broker exited during the run (status %d)", WEXITSTATUS(st));
            return NULL;
        }
        struct timespec ts = {0, 50 * 1000000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

void bc_log_tail(const char *prog, const char *path)
{
    char buf[2048];
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    if (fseek(f, 0, SEEK_END) == 0) {
        long n = ftell(f);
        (void)fseek(f, n > (long)sizeof buf - 1 ? n - (long)sizeof buf + 1 : 0, SEEK_SET);
    }
    size_t got = fread(buf, 1, sizeof buf - 1, f);
    buf[got] = '\0';
    fclose(f);
    fprintf(stderr, "%s: last lines of the broker's log:\n%s\n", prog, buf);
}
