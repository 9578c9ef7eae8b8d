/* bench_common — helpers the benchmark programs (zn_bench, zn_bench_signals) share: clocks, the
 * run's first failure, removing the run's temporary directory, a start gate for client threads,
 * a free loopback port, and watching, stopping and measuring a broker child process.
 *
 * Ownership: the failure state (first message, flag) is process-wide and lives in
 * bench_common.c; everything else belongs to the caller: bc_gate and bc_monitor are the caller's
 * structs, the broker's pid variable is the caller's (passed in as `running`), paths are only
 * read. No function here allocates memory that the caller must free. */
#ifndef ZN_BENCH_COMMON_H
#define ZN_BENCH_COMMON_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* ---- clocks ---- */

/* Monotonic time in nanoseconds (for durations). */
uint64_t bc_now_ns(void);
/* Wall-clock time in milliseconds since the epoch (for timestamps in requests). */
uint64_t bc_wall_ms(void);
/* *ts = now (CLOCK_REALTIME) + ms: a deadline for pthread_cond_timedwait. */
void bc_abstime(struct timespec *ts, int ms);
/* Sleep (in steps of 100 ms) until timeout_s seconds have passed: a watchdog's wait. */
void bc_wait_deadline(int timeout_s);

/* ---- failure: the first message wins, any thread may report ---- */

/* Record a failure; only the first message is kept. Thread-safe. */
void bc_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* true once bc_fail was called. */
bool bc_failed(void);
/* The first failure's message ("" when none); the string lives in bench_common.c. */
const char *bc_fail_msg(void);

/* ---- options, sorting ---- */

/* Parse v as a whole number from min to max into *out. 0, or -1 after printing
 * "prog: name must be a whole number from min to max" to stderr. */
int bc_num(const char *prog, const char *name, const char *v, long long min, long long max, long long *out);
/* qsort comparison of two uint64_t. */
int bc_cmp_u64(const void *a, const void *b);

/* ---- files ---- */

/* out = the path of `name` in the directory this program was started from (/proc/self/exe), or
 * "./name" when that is unknown. 0, or -1 when it does not fit in cap. */
int bc_exe_sibling(char *out, size_t cap, const char *name);

/* Remove a directory and everything in it, subdirectories included (the run's own files only;
 * symbolic links are removed, not followed). Errors are ignored. */
void bc_rmtree(const char *dir);

/* ---- start gate: every client thread ready, then one common start time ---- */

/* Zero-initialise, then pthread_mutex_init/pthread_cond_init mu and cv; the caller owns it and
 * opens it (sets t0 and open, then broadcasts cv) in its own way. */
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int arrived;
    bool open;
    uint64_t t0;
} bc_gate;

/* Arrive at the gate and wait until it opens or the run failed (bc_failed). 0 when it opened,
 * then *t0 (if t0 is not NULL) is the common start time; -1 when the run failed instead. */
int bc_gate_wait(bc_gate *g, uint64_t *t0);

/* ---- network ---- */

/* A TCP port on 127.0.0.1 that was free a moment ago, or -1. */
int bc_free_port(void);

/* ---- the broker child process ---- */

/* Start argv (argv[0] the program; found on PATH when search_path, else taken as a path) in a
 * child process that dies with this one, its stdout and stderr going to the file log (appended
 * when append, else truncated). When env_name is not NULL, the child sets it to env_value, or
 * unsets it when env_value is NULL. The child's pid, or -1 after a message on stderr (prog names
 * this program). The caller owns the child: it must stop and reap it. */
pid_t bc_spawn(const char *prog, char *const argv[], const char *log, bool append, bool search_path,
               const char *env_name, const char *env_value);

/* CPU seconds (user + system) of process pid from /proc/PID/stat; 0 when unknown. */
double bc_proc_cpu_s(pid_t pid);

/* SIGTERM to pid, then wait up to wait_ms (SIGKILL after that). Once it is reaped, *running
 * (the caller's "broker now running" pid, 0 none) is set to 0. 0 when it exited with status 0,
 * else -1. */
int bc_stop_broker(pid_t pid, int wait_ms, atomic_int *running);

/* Watches a broker while clients wait for it: if it exits or dies, *running is set to 0 and the
 * run fails (bc_fail) at once. The caller owns the struct, sets pid and running, starts
 * bc_monitor_thread(&m) in a thread, and stops it by setting stop to 1 and joining. */
typedef struct {
    pid_t pid;
    atomic_int *running;
    atomic_int stop;
} bc_monitor;

void *bc_monitor_thread(void *arg);

/* Print the last 2 KiB of the broker's log at path to stderr, headed by "prog: last lines of the
 * broker's log:". Nothing when the file cannot be opened. */
void bc_log_tail(const char *prog, const char *path);

#endif
