# shellcheck shell=bash disable=SC2034  # variables here are used by the scripts that source it
# lib.sh — helpers shared by the shell integration tests (tests/integration/cli_*.sh).
#
# Source it from a test script:   . "$(dirname "$0")/lib.sh"
#
# Environment:
#   ZN_BIN   the build folder holding zorgnetd, zorgnet and zorgnet-keys (default ./build)
#   ZN_SRC   the source folder (default: two levels above this file)
#   ZN_KEEP  when set to 1, the temporary folder is kept (its path is printed) for inspection
#
# What it gives a test:
#   $T                       a fresh temporary folder, removed on any exit
#   $ZK $ZD $Z               the three programs
#   free_port                prints a TCP port on 127.0.0.1 that nothing listens on
#   make_demo_convenant DIR PORT   the Oldenzaal demo convenant (scripts/demo-convenant.sh)
#   start_broker NAME CONV KEY DB [ARGS...]   zorgnetd in the background, waits until it listens
#   stop_broker [SIGNAL]     SIGTERM (default) and a bounded wait; sets BROKER_STATUS
#   reload_broker VERSION    SIGHUP, and wait until the broker's log says it loaded VERSION
#   kill9_broker             kill -9 and reap
#   expect_exit CODE CMD...  run CMD (bounded), keep stdout/stderr in $OUT/$ERR, check the status
#   expect_contains FILE TEXT [WHAT]        FILE holds TEXT (a fixed string)
#   expect_not_contains FILE TEXT [WHAT]
#   expect_match FILE REGEX [WHAT]          some line of FILE matches the extended REGEX
#   expect_eq GOT WANT WHAT
#   out_id VAR WHAT          VAR = the id standard output holds; stop when it holds none
#   check WHAT ; ok WHAT ; fail WHAT ; die WHAT ; finish
#
# The demo world of the walk-through tests (cases_cli, signals_cli):
#   demo_convenant NAME      the folder $W=$T/NAME (the current folder) with the demo convenant
#                            in $D=$W/demo for a broker on the free port $PORT
#   demo_broker NAME         a copy of the demo convenant $D/convenant.msgpack in $W/broker and
#                            zorgnetd on it; the clients' options as arrays (see there)
#   stop_broker_clean        SIGTERM, and it must exit 0
#   scan_bsns WHAT FILE...   none of $ALL_BSNS occurs in the FILEs as ASCII digits
#   broker_files             the broker's folder and its logs, one path a line
#   bsn_scan_running BSN / bsn_scan_stopped   the BSN scan with the broker running / stopped
#
# Checks record a failure and go on, so one run shows every broken behaviour; `die` stops at
# once (for a step the rest depends on). `finish` ends the script: exit 0 only when no check
# failed. Every command a helper runs is bounded by `timeout`.

set -euo pipefail

ZN_BIN=${ZN_BIN:-./build}
ZN_SRC=${ZN_SRC:-$(dirname "${BASH_SOURCE[0]}")/../..}
# absolute, so that a test may change folder
ZN_BIN=$(cd "$ZN_BIN" 2>/dev/null && pwd) || { echo "${0##*/}: ZN_BIN folder not found" >&2; exit 1; }
ZN_SRC=$(cd "$ZN_SRC" 2>/dev/null && pwd) || { echo "${0##*/}: ZN_SRC folder not found" >&2; exit 1; }
ZK="$ZN_BIN/zorgnet-keys"
ZD="$ZN_BIN/zorgnetd"
Z="$ZN_BIN/zorgnet"
TEST_NAME=$(basename "$0" .sh)

# Longest a single command may run before it counts as hung.
ZN_CMD_TIMEOUT=${ZN_CMD_TIMEOUT:-60}

# A user's own settings must not leak into the tests.
unset ZORGNET_CONVENANT ZORGNET_KEY ZORGNET_BROKER ZORGNET_HANDLER ZORGNET_TIMEOUT

for _zn_prog in "$ZK" "$ZD" "$Z"; do
    if [ ! -x "$_zn_prog" ]; then
        echo "$TEST_NAME: $_zn_prog not found; set ZN_BIN to the build folder" >&2
        exit 1
    fi
done
unset _zn_prog

T=$(mktemp -d "${TMPDIR:-/tmp}/zn-$TEST_NAME.XXXXXX")
OUT="$T/stdout"
ERR="$T/stderr"
FAILS=0
CHECKS=0
BROKER_PID=""
BROKER_LOG=""
BROKER_STATUS=""
_ZN_BROKER_SEQ=0
_ZN_PIDS=()     # every background process a test started (brokers, loops)
_ZN_PORTS=" "   # ports handed out by free_port in this run

# _zn_is_child PID: PID is a live child of this shell (so a recycled PID is never signalled).
_zn_is_child() {
    local st
    st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    st=${st##*) }
    # shellcheck disable=SC2086  # split "state ppid ..." into fields
    set -- $st
    [ "${2:-}" = "$$" ]
}

_zn_cleanup() {
    local rc=$?
    set +e
    local p
    for p in "${_ZN_PIDS[@]}"; do
        _zn_is_child "$p" && kill -TERM "$p" 2>/dev/null
    done
    for p in "${_ZN_PIDS[@]}"; do
        local n=0
        while _zn_is_child "$p" && [ $n -lt 50 ]; do
            sleep 0.1
            n=$((n + 1))
        done
        _zn_is_child "$p" && kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    if [ $rc -ne 0 ] || [ "$FAILS" -ne 0 ]; then
        local f
        for f in "$T"/broker.*.log; do
            [ -f "$f" ] || continue
            echo "---- last lines of $(basename "$f")" >&2
            tail -n 15 "$f" >&2
        done
    fi
    if [ "${ZN_KEEP:-0}" = 1 ]; then
        echo "$TEST_NAME: kept $T" >&2
    else
        rm -rf "$T"
    fi
    exit $rc
}
trap _zn_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ reporting

say() { printf '\n== %s\n' "$*"; }
ok() { CHECKS=$((CHECKS + 1)); printf 'ok   %s\n' "$*"; }

fail() {
    CHECKS=$((CHECKS + 1))
    FAILS=$((FAILS + 1))
    printf 'FAIL %s\n' "$*" >&2
}

# Print the last command's output after a failed check.
_zn_show_output() {
    printf '       stdout: %s\n' "$(head -c 1500 "$OUT" 2>/dev/null | tr '\n' '|')" >&2
    printf '       stderr: %s\n' "$(head -c 1500 "$ERR" 2>/dev/null | tr '\n' '|')" >&2
}

die() {
    printf 'FAIL %s (cannot go on)\n' "$*" >&2
    FAILS=$((FAILS + 1))
    exit 1
}

finish() {
    if [ "$FAILS" -ne 0 ]; then
        printf '\n%s: %d of %d checks FAILED\n' "$TEST_NAME" "$FAILS" "$CHECKS" >&2
        exit 1
    fi
    printf '\n%s: all %d checks passed\n' "$TEST_NAME" "$CHECKS"
    exit 0
}

# A readable form of a command line: program names without their folder.
_zn_cmdline() {
    local s="" a
    for a in "$@"; do
        case $a in
            "$ZN_BIN"/*) a=${a#"$ZN_BIN"/} ;;
            "$T"/*) a=${a#"$T"/} ;;
        esac
        [ ${#a} -gt 60 ] && a="${a:0:57}..."
        case $a in
            *" "*) s="$s '$a'" ;;
            *) s="$s $a" ;;
        esac
    done
    printf '%s' "${s# }"
}

# ------------------------------------------------------------------ checks

# expect_exit CODE CMD...: run CMD with stdin from $IN (default /dev/null), bounded by
# $ZN_CMD_TIMEOUT seconds; stdout goes to $OUT, stderr to $ERR. Records whether the exit
# status is CODE; returns 0 either way (the check is counted). A non-zero CODE from zorgnet or
# zorgnet-keys must come with an error line naming the program.
expect_exit() {
    local want=$1
    shift
    local got=0
    timeout -k 5 "$ZN_CMD_TIMEOUT" "$@" <"${IN:-/dev/null}" >"$OUT" 2>"$ERR" || got=$?
    local what
    what=$(_zn_cmdline "$@")
    if [ "$got" -ne "$want" ]; then
        if [ "$got" -eq 124 ]; then
            fail "exit $want: $what (it did not finish within ${ZN_CMD_TIMEOUT}s)"
        else
            fail "exit $want: $what (got exit $got)"
        fi
        _zn_show_output
        return 0
    fi
    if [ "$want" -ne 0 ]; then
        local prog
        prog=$(basename "$1")
        if [ "$prog" = zorgnet ] && ! grep -q '^zorgnet: [a-z0-9-]*: ' "$ERR"; then
            fail "exit $want: $what: no 'zorgnet: CODE: text' line on stderr"
            _zn_show_output
            return 0
        fi
        if [ "$prog" = zorgnet-keys ] && ! grep -q '^zorgnet-keys: ' "$ERR"; then
            fail "exit $want: $what: no 'zorgnet-keys: ' line on stderr"
            _zn_show_output
            return 0
        fi
    fi
    ok "exit $want: $what"
}

# expect_contains FILE TEXT [WHAT]
expect_contains() {
    local file=$1 text=$2 what=${3:-}
    if grep -qF -- "$text" "$file" 2>/dev/null; then
        ok "${what:+$what: }$(basename "$file") has '$text'"
    else
        fail "${what:+$what: }$(basename "$file") lacks '$text'"
        printf '       %s: %s\n' "$(basename "$file")" "$(head -c 1500 "$file" 2>/dev/null | tr '\n' '|')" >&2
    fi
}

expect_not_contains() {
    local file=$1 text=$2 what=${3:-}
    if grep -qF -- "$text" "$file" 2>/dev/null; then
        fail "${what:+$what: }$(basename "$file") should not have '$text'"
        printf '       %s: %s\n' "$(basename "$file")" "$(head -c 1500 "$file" | tr '\n' '|')" >&2
    else
        ok "${what:+$what: }$(basename "$file") has no '$text'"
    fi
}

# expect_match FILE REGEX [WHAT]: some line matches the extended regular expression.
expect_match() {
    local file=$1 re=$2 what=${3:-}
    if grep -qE -- "$re" "$file" 2>/dev/null; then
        ok "${what:+$what: }$(basename "$file") matches /$re/"
    else
        fail "${what:+$what: }$(basename "$file") does not match /$re/"
        printf '       %s: %s\n' "$(basename "$file")" "$(head -c 1500 "$file" 2>/dev/null | tr '\n' '|')" >&2
    fi
}

# expect_eq GOT WANT WHAT
expect_eq() {
    if [ "$1" = "$2" ]; then
        ok "$3: '$2'"
    else
        fail "$3: got '$1', wanted '$2'"
    fi
}

# expect_empty FILE WHAT
expect_empty() {
    if [ -s "$1" ]; then
        fail "$2: $(basename "$1") is not empty"
        printf '       %s: %s\n' "$(basename "$1")" "$(head -c 1500 "$1" | tr '\n' '|')" >&2
    else
        ok "$2: nothing printed"
    fi
}

# is_id TEXT: exactly 32 lower-case hex characters.
is_id() {
    [[ $1 =~ ^[0-9a-f]{32}$ ]]
}

# out_id VAR WHAT: set VAR to what $OUT holds, which must be an id (else: "WHAT printed '...'").
out_id() {
    printf -v "$1" '%s' "$(cat "$OUT")"
    is_id "${!1}" || die "$2 printed '${!1}'"
}

# ------------------------------------------------------------------ small tools

# Milliseconds since some fixed point (for elapsed-time checks).
now_ms() {
    local ns
    ns=$(date +%s%N)
    echo $((ns / 1000000))
}

# flip_byte FILE OFFSET: xor one byte with 0x01 in place.
flip_byte() {
    local b nb
    b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' \n')
    [ -n "$b" ] || die "flip_byte: $1 has no byte at offset $2"
    nb=$((b ^ 1))
    # shellcheck disable=SC2059
    printf "$(printf '\\%03o' "$nb")" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

# json_str LINE KEY: the value of a string field "KEY":"..." in one JSON line (the first match;
# enough for the synthetic texts these tests use, which hold no escaped quotes).
json_str() {
    printf '%s\n' "$1" | sed -n "s/.*\"$2\":\"\\([^\"]*\\)\".*/\\1/p" | head -n 1
}

# wait_for_log FILE TEXT SECONDS: wait until FILE holds TEXT (a fixed string); 1 on time-out.
wait_for_log() {
    local file=$1 text=$2 limit=$(($3 * 10)) n=0
    while [ $n -lt $limit ]; do
        grep -qF -- "$text" "$file" 2>/dev/null && return 0
        sleep 0.1
        n=$((n + 1))
    done
    return 1
}

# count_in FILE TEXT: how many lines of FILE hold TEXT (a fixed string).
count_in() {
    local n
    n=$(grep -cF -- "$2" "$1" 2>/dev/null) || true
    echo "${n:-0}"
}

# track PID: a background process to end when the script ends; untrack PID once it is reaped.
track() {
    _ZN_PIDS+=("$1")
}
untrack() {
    local p keep=()
    for p in "${_ZN_PIDS[@]}"; do
        [ "$p" = "$1" ] || keep+=("$p")
    done
    _ZN_PIDS=("${keep[@]}")
}

# wait_pid PID SECONDS: wait for a child to end; its status in WAIT_STATUS. 1 on time-out.
WAIT_STATUS=""
wait_pid() {
    local pid=$1 limit=$(($2 * 10)) n=0
    while kill -0 "$pid" 2>/dev/null && [ $n -lt $limit ]; do
        sleep 0.1
        n=$((n + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
        WAIT_STATUS=""
        return 1
    fi
    WAIT_STATUS=0
    wait "$pid" 2>/dev/null || WAIT_STATUS=$?
    untrack "$pid"
    return 0
}

# ------------------------------------------------------------------ ports

# free_port: a port on 127.0.0.1 that nothing listens on now and that this run has not handed
# out before. It is taken below the kernel's range for outgoing connections, so that no
# client connection of a test running beside this one can hold it.
free_port() {
    local port lo=10000 hi=32767 eph
    eph=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null | tr -dc '0-9') || true
    if [ -n "$eph" ] && [ "$eph" -gt $((lo + 1000)) ]; then
        hi=$((eph - 1))
    fi
    for _ in $(seq 1 200); do
        port=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1)))
        case $_ZN_PORTS in *" $port "*) continue ;; esac
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            _ZN_PORTS="$_ZN_PORTS$port "
            echo "$port"
            return 0
        fi
    done
    die "no free port found on 127.0.0.1"
}

# ------------------------------------------------------------------ convenants

# make_demo_convenant DIR PORT: the demo convenant of scripts/demo-convenant.sh in DIR, with
# the broker endpoint tcp://127.0.0.1:PORT. Entries: coordinator, school-essen, school-thij,
# wijkracht, politie, ggd, mplein, impuls, auditor (DIR/ID.key and DIR/ID.pub for each).
make_demo_convenant() {
    local dir=$1 port=$2
    ZORGNET_ENDPOINT="tcp://127.0.0.1:$port" ZN_BIN="$ZN_BIN" \
        timeout -k 5 120 bash "$ZN_SRC/scripts/demo-convenant.sh" "$dir" >"$T/.demo.log" 2>&1 ||
        { cat "$T/.demo.log" >&2; die "scripts/demo-convenant.sh failed"; }
    [ -f "$dir/convenant.msgpack" ] || die "scripts/demo-convenant.sh wrote no convenant"
}

# conv_version FILE: the version `zorgnet-keys convenant verify` reports (empty if none).
conv_version() {
    timeout 20 "$ZK" convenant verify "$1" 2>/dev/null |
        sed -n 's/.* version \([0-9][0-9]*\),.*/\1/p' || true
}

# ------------------------------------------------------------------ the broker

# start_broker NAME CONV KEY DB [ARGS...]: run zorgnetd in the background with its log in
# $T/broker.NAME.N.log (BROKER_LOG) and wait, at most 15 s, until it listens. BROKER_PID is set.
start_broker() {
    local name=$1 conv=$2 key=$3 db=$4
    shift 4
    _ZN_BROKER_SEQ=$((_ZN_BROKER_SEQ + 1))
    BROKER_LOG="$T/broker.$name.$_ZN_BROKER_SEQ.log"
    "$ZD" --convenant "$conv" --key "$key" --db "$db" "$@" >"$BROKER_LOG" 2>&1 &
    BROKER_PID=$!
    track "$BROKER_PID"
    local n=0
    while [ $n -lt 150 ]; do
        if grep -q 'zorgnetd: started ' "$BROKER_LOG" 2>/dev/null; then
            ok "zorgnetd ($name) listens: $(sed -n 's/.*zorgnetd: started //p' "$BROKER_LOG" | head -n 1)"
            return 0
        fi
        if ! kill -0 "$BROKER_PID" 2>/dev/null; then
            cat "$BROKER_LOG" >&2
            if grep -q 'Address already in use' "$BROKER_LOG"; then
                die "zorgnetd ($name) could not listen: another program took the port"
            fi
            die "zorgnetd ($name) exited at start"
        fi
        sleep 0.1
        n=$((n + 1))
    done
    die "zorgnetd ($name) did not start listening within 15 s"
}

# stop_broker [SIGNAL]: send SIGNAL (default TERM) and wait at most 15 s; BROKER_STATUS is its
# exit status. A broker that does not stop in time is killed and the check fails.
stop_broker() {
    local sig=${1:-TERM}
    [ -n "$BROKER_PID" ] || return 0
    kill "-$sig" "$BROKER_PID" 2>/dev/null || true
    if wait_pid "$BROKER_PID" 15; then
        BROKER_STATUS=$WAIT_STATUS
    else
        kill -KILL "$BROKER_PID" 2>/dev/null || true
        wait "$BROKER_PID" 2>/dev/null || true
        untrack "$BROKER_PID"
        BROKER_STATUS=timeout
        fail "zorgnetd did not stop within 15 s of SIG$sig"
    fi
    BROKER_PID=""
}

kill9_broker() {
    [ -n "$BROKER_PID" ] || return 0
    kill -KILL "$BROKER_PID" 2>/dev/null || true
    wait "$BROKER_PID" 2>/dev/null || true
    untrack "$BROKER_PID"
    BROKER_PID=""
}

# reload_broker VERSION: SIGHUP to the current broker, then a bounded wait (15 s) until its log says
# it loaded convenant VERSION (a check either way).
reload_broker() {
    local v=$1
    if [ -z "$BROKER_PID" ] || ! kill -HUP "$BROKER_PID" 2>/dev/null; then
        fail "zorgnetd is not running: no reload to version $v"
        return 0
    fi
    if wait_for_log "$BROKER_LOG" "convenant-loaded version=$v " 15; then
        ok "zorgnetd loaded convenant version $v"
    else
        fail "zorgnetd did not load convenant version $v within 15 s"
    fi
}

# broker_alive WHAT: the current broker process still runs.
broker_alive() {
    if [ -n "$BROKER_PID" ] && kill -0 "$BROKER_PID" 2>/dev/null; then
        ok "${1:-zorgnetd} still runs"
    else
        fail "${1:-zorgnetd} is no longer running"
    fi
}

# expect_broker_refuses WHAT TEXT CONV KEY DB [ARGS...]: zorgnetd must exit non-zero within
# 10 s and log a "refusing to start" line that holds TEXT. Its log is kept in REFUSE_LOG.
REFUSE_LOG=""
_ZN_REFUSE_SEQ=0
expect_broker_refuses() {
    local what=$1 text=$2 conv=$3 key=$4 db=$5
    shift 5
    _ZN_REFUSE_SEQ=$((_ZN_REFUSE_SEQ + 1))
    local log="$T/refuse.$_ZN_REFUSE_SEQ.log" got=0
    REFUSE_LOG=$log
    timeout -k 2 10 "$ZD" --convenant "$conv" --key "$key" --db "$db" "$@" >"$log" 2>&1 || got=$?
    if [ "$got" -eq 0 ] || [ "$got" -eq 124 ] || [ "$got" -eq 137 ]; then
        fail "zorgnetd refuses $what: it ran (exit $got)"
        sed 's/^/       /' "$log" >&2
        return 0
    fi
    if ! grep -q 'zorgnetd: refusing to start: ' "$log"; then
        fail "zorgnetd refuses $what: exit $got but no 'refusing to start' line"
        sed 's/^/       /' "$log" >&2
        return 0
    fi
    if ! grep -qF -- "$text" "$log"; then
        fail "zorgnetd refuses $what: the log line lacks '$text'"
        sed 's/^/       /' "$log" >&2
        return 0
    fi
    ok "zorgnetd refuses $what (exit $got): $(sed -n 's/.*refusing to start: //p' "$log" | head -n 1 | cut -c1-150)"
}

# ------------------------------------------------------------------ the demo world

# demo_convenant NAME: the folder $W=$T/NAME, the current folder from now on, with the demo
# convenant (make_demo_convenant) in $D=$W/demo for a broker on a free port, $PORT.
demo_convenant() {
    W="$T/$1"
    mkdir -p "$W"
    cd "$W"
    PORT=$(free_port)
    D="$W/demo"
    make_demo_convenant "$D" "$PORT"
}

# demo_broker NAME: zorgnetd (as NAME) on its own copy of the demo convenant $D/convenant.msgpack
# in $W/broker (BROKER_DIR, BCONV, BDB); the clients read $D/convenant.msgpack
# (ZORGNET_CONVENANT). The clients' options, each with its handler's name:
#   SCHOOL GGD POL WK MPL COORD AUDK   --key of school-essen, ggd, politie, wijkracht, mplein,
#                                      coordinator and auditor, with --handler $IB $JA $WA $MW
#                                      $KJ $PM $AUD
#   QA                                 the auditor's key with --as $AUD (audit query)
demo_broker() {
    BROKER_DIR="$W/broker"
    BCONV="$BROKER_DIR/convenant.msgpack"
    BDB="$BROKER_DIR/broker.db"
    mkdir -p "$BROKER_DIR"
    cp "$D/convenant.msgpack" "$BCONV"
    start_broker "$1" "$BCONV" "$D/broker.key" "$BDB"
    export ZORGNET_CONVENANT="$D/convenant.msgpack"
    IB="J. de Vries (IB)"
    JA="A. Bakker (jeugdarts)"
    WA="H. Smit (wijkagent)"
    MW="M. Smit (maatschappelijk werker)"
    KJ="K. Jansen (consulent)"
    PM="P. Mulder (procesmanager)"
    AUD="R. Smit (auditor)"
    SCHOOL=(--key "$D/school-essen.key" --handler "$IB")
    GGD=(--key "$D/ggd.key" --handler "$JA")
    POL=(--key "$D/politie.key" --handler "$WA")
    WK=(--key "$D/wijkracht.key" --handler "$MW")
    MPL=(--key "$D/mplein.key" --handler "$KJ")
    COORD=(--key "$D/coordinator.key" --handler "$PM")
    AUDK=(--key "$D/auditor.key" --handler "$AUD")
    QA=(--key "$D/auditor.key" --as "$AUD")
}

# stop_broker_clean: stop the broker with SIGTERM; it must exit 0.
stop_broker_clean() {
    stop_broker TERM
    expect_eq "$BROKER_STATUS" 0 "zorgnetd stops cleanly"
}

# scan_bsns WHAT FILE...: none of $ALL_BSNS occurs in the FILEs as ASCII digits.
scan_bsns() {
    local what=$1 b hits
    shift
    for b in $ALL_BSNS; do
        hits=$(grep -a -l -F -- "$b" "$@" 2>/dev/null || true)
        if [ -z "$hits" ]; then
            ok "$what: no file holds $b"
        else
            fail "$what: $b found in: $(echo "$hits" | tr '\n' ' ')"
        fi
    done
}

# broker_files: the broker's folder (database, WAL, shared memory, convenant) and its logs.
broker_files() {
    local f
    for f in "$BROKER_DIR"/* "$T"/broker.*.log; do
        [ -f "$f" ] && printf '%s\n' "$f"
    done
}

# bsn_scan_running BSN: the scan finds BSN planted in a binary file; then the broker's files, while
# it runs (so its WAL too), hold none of $ALL_BSNS.
bsn_scan_running() {
    local scan f
    printf 'x\0%s\0y' "$1" >"$T/planted.bin"
    if [ -n "$(grep -a -l -F -- "$1" "$T/planted.bin" || true)" ]; then
        ok "the scan finds a BSN planted in a binary file"
    else
        die "the scan does not find a planted BSN"
    fi
    mapfile -t scan < <(broker_files)
    if [ "${#scan[@]}" -ge 3 ]; then
        ok "scanning, broker running: $(for f in "${scan[@]}"; do printf '%s ' "${f##*/}"; done)"
    else
        fail "too few files to scan: ${scan[*]}"
    fi
    scan_bsns "broker running" "${scan[@]}"
}

# bsn_scan_stopped: after the broker stopped, its database is not empty and its files hold none of
# $ALL_BSNS.
bsn_scan_stopped() {
    local scan
    mapfile -t scan < <(broker_files)
    if [ -s "$BDB" ]; then
        ok "broker.db holds $(wc -c <"$BDB" | tr -d ' ') bytes"
    else
        fail "broker.db is empty"
    fi
    scan_bsns "broker stopped" "${scan[@]}"
}
