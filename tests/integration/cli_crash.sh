#!/usr/bin/env bash
# shellcheck disable=SC2015  # "check && ok || fail": ok always succeeds
# cli_crash.sh — durability with the real programs: `kill -9` of zorgnetd in the middle of a
# burst of `zorgnet send` (two senders at once, while the recipient reads), then a restart on
# the same database: every message id that `send` printed (exit 0) must reach the recipient's
# inbox exactly once, with its own content. Then the same with a graceful SIGTERM: zorgnetd
# exits 0 and a restart delivers everything. Synthetic data only.
# Needs ZN_BIN (the build folder) and ZN_SRC (the source folder).
#
# ZN_CRASH_SENDS (default 200) sets the length of each sender's burst.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

N=${ZN_CRASH_SENDS:-200}
D="$T/demo"
PORT=$(free_port)
DB="$T/zorgnet.db"

say "setup: the demo convenant and a broker"
make_demo_convenant "$D" "$PORT"
ok "scripts/demo-convenant.sh built $D/convenant.msgpack"
export ZORGNET_CONVENANT="$D/convenant.msgpack"
start_broker crash "$D/convenant.msgpack" "$D/broker.key" "$DB"
expect_exit 0 "$Z" --key "$D/school-essen.key" --handler "J. de Vries (IB)" case new --network 0-12-binnenstad
CASE_S=$(cat "$OUT")
is_id "$CASE_S" || die "case new printed '$CASE_S'"
expect_exit 0 "$Z" --key "$D/politie.key" --handler "H. Smit (wijkagent)" case new --network 0-12-binnenstad
CASE_P=$(cat "$OUT")
is_id "$CASE_P" || die "case new printed '$CASE_P'"

# content_of TAG: the text of message TAG (s12: school-essen's 12th, p3: politie's 3rd).
content_of() {
    printf 'Zorg over leerling groep 6, afspraak volgt (bericht %s)' "$1"
}

# new_id: 32 random hex characters.
new_id() {
    od -An -tx1 -N16 /dev/urandom | tr -d ' \n'
}

# sender DIR WHO COUNT AFTER: COUNT messages to ggd, one `zorgnet send` each. WHO is s
# (school-essen, which picks every message id itself and passes it with --id, so that a send
# whose outcome is unknown can be retried) or p (politie, which lets zorgnet pick the id).
# Appends "TAG STATUS PHASE ID" to DIR/status (PHASE "after" once DIR/stopped exists; ID "-"
# for p) and "TAG MSGID" to DIR/accepted for every exit 0. Once DIR/stopped exists it sends
# AFTER more and ends; DIR/done.WHO marks the end.
sender() {
    local dir=$1 who=$2 count=$3 left=$4 i rc out phase key handler case id
    local idopt=()
    if [ "$who" = s ]; then
        key="$D/school-essen.key" handler="J. de Vries (IB)" case=$CASE_S
    else
        key="$D/politie.key" handler="H. Smit (wijkagent)" case=$CASE_P
    fi
    for i in $(seq 1 "$count"); do
        phase=before
        if [ -e "$dir/stopped" ]; then
            phase=after
            [ "$left" -gt 0 ] || break
            left=$((left - 1))
        fi
        id=-
        idopt=()
        if [ "$who" = s ]; then
            id=$(new_id)
            idopt=(--id "$id")
        fi
        rc=0
        out=$(content_of "$who$i" | timeout -k 2 20 "$Z" --key "$key" --handler "$handler" \
            --timeout 2 send --to ggd --case "$case" "${idopt[@]}" - 2>>"$dir/send.err") || rc=$?
        echo "$who$i $rc $phase $id" >>"$dir/status"
        if [ "$rc" -eq 0 ] && [ "$id" != - ] && [ "$out" != "$id" ]; then
            echo "$who$i printed $out for --id $id" >>"$dir/wrong-id"
        fi
        if [ "$rc" -eq 0 ]; then
            echo "$who$i $out" >>"$dir/accepted"
        fi
    done
    : >"$dir/done.$who"
}

senders_done() {
    [ -e "$1/done.s" ] && [ -e "$1/done.p" ]
}

# receiver DIR: ggd reads its inbox (--json) over and over until both senders are done.
receiver() {
    local dir=$1 k=0 rc
    while ! senders_done "$dir" && [ $k -lt 500 ]; do
        rc=0
        timeout -k 2 20 "$Z" --key "$D/ggd.key" --timeout 2 --json inbox --wait 0.3 \
            >>"$dir/received.jsonl" 2>>"$dir/recv.err" || rc=$?
        echo "$rc" >>"$dir/recv.status"
        [ "$rc" -eq 0 ] || sleep 0.2
        k=$((k + 1))
    done
}

# wait_accepted DIR COUNT SECONDS: until DIR/accepted has COUNT lines; 1 on time-out or when a
# sender already ended.
wait_accepted() {
    local n=0 limit=$(($3 * 10))
    while [ $n -lt "$limit" ]; do
        [ "$(wc -l <"$1/accepted")" -ge "$2" ] && return 0
        { [ -e "$1/done.s" ] || [ -e "$1/done.p" ]; } && return 1
        sleep 0.1
        n=$((n + 1))
    done
    return 1
}

# drain DIR: ggd reads until an inbox run shows nothing (at most 20 runs).
drain() {
    local dir=$1 k rc
    for k in $(seq 1 20); do
        rc=0
        timeout -k 2 30 "$Z" --key "$D/ggd.key" --timeout 5 --json inbox >"$dir/drain.$k.jsonl" 2>"$dir/drain.$k.err" || rc=$?
        cat "$dir/drain.$k.jsonl" >>"$dir/received.jsonl"
        if [ "$rc" -ne 0 ]; then
            fail "inbox after the restart exited $rc: $(head -c 300 "$dir/drain.$k.err")"
            return 0
        fi
        if [ ! -s "$dir/drain.$k.jsonl" ]; then
            ok "ggd's inbox is empty after $((k - 1)) draining run(s) that showed something"
            return 0
        fi
    done
    fail "ggd's inbox still delivered something after 20 runs"
}

# retry_failed DIR: every send of school-essen that failed is sent again with the same --id
# and content; each retry must succeed and print that id.
retry_failed() {
    local dir=$1 tag st phase id rc out n=0 bad=0
    while read -r tag st phase id; do
        [ "$st" != 0 ] && [ "$id" != - ] || continue
        n=$((n + 1))
        rc=0
        out=$(content_of "$tag" | timeout -k 2 30 "$Z" --key "$D/school-essen.key" --handler "J. de Vries (IB)" \
            --timeout 5 send --to ggd --case "$CASE_S" --id "$id" - 2>>"$dir/retry.err") || rc=$?
        if [ "$rc" -eq 0 ] && [ "$out" = "$id" ]; then
            echo "$tag $id" >>"$dir/accepted"
        else
            bad=$((bad + 1))
            fail "retry of $tag with --id $id: exit $rc, printed '$out'"
        fi
    done <"$dir/status"
    [ $bad -eq 0 ] && ok "all $n failed sends of school-essen retried with their own --id and accepted"
    return 0
}

# check_statuses DIR WHAT: every send exited 0 or 4, and every send after the stop exited 4.
check_statuses() {
    local dir=$1 what=$2 bad after after_bad
    bad=$(awk '$2 != 0 && $2 != 4' "$dir/status" | head -n 3 | tr '\n' ';')
    [ -z "$bad" ] && ok "every send exited 0 or 4 ($(wc -l <"$dir/status" | tr -d ' ') sends)" ||
        fail "sends with another exit status: $bad"
    after=$(awk '$3 == "after"' "$dir/status" | wc -l | tr -d ' ')
    after_bad=$(awk '$3 == "after" && $2 != 4' "$dir/status" | head -n 3 | tr '\n' ';')
    [ "$after" -ge 1 ] && [ -z "$after_bad" ] && ok "all $after sends after $what exited 4" ||
        fail "sends after $what: $after, not exit 4: $after_bad"
    if [ -s "$dir/wrong-id" ]; then
        fail "send --id printed another id: $(head -n 1 "$dir/wrong-id")"
    else
        ok "every accepted send --id printed its own id"
    fi
}

# verify_delivery DIR: every accepted id exactly once, with its own content; nothing invalid;
# nothing twice; anything beyond the accepted ids comes from a send that did not report success.
verify_delivery() {
    local dir=$1 line tag id got n_acc n_recv
    n_acc=$(wc -l <"$dir/accepted" | tr -d ' ')
    n_recv=$(grep -c '"kind":"envelope"' "$dir/received.jsonl" || true)
    ok "$n_acc sends accepted, $n_recv envelopes shown to ggd"
    if grep -q '"valid":false' "$dir/received.jsonl"; then
        fail "an item was shown as INVALID: $(grep '"valid":false' "$dir/received.jsonl" | head -n 1)"
    else
        ok "no item failed its checks"
    fi
    # A failed inbox run writes its error as a JSON line too ({"error": ...}); nothing else may
    # appear. A broker killed during the CurveZMQ handshake is reported as handshake-refused
    # (the client cannot tell it from a refused key), otherwise as unreachable; both exit 4.
    local other errs failed_runs
    other=$(grep -v '"kind":"envelope"' "$dir/received.jsonl" |
        grep -vE '^\{"error":"(unreachable|handshake-refused)",' | head -n 1 || true)
    [ -z "$other" ] && ok "only envelopes (and the errors of failed runs) were printed" ||
        fail "something else was printed: $other"
    errs=$(grep -c '^{"error":' "$dir/received.jsonl" || true)
    failed_runs=$(grep -cvx 0 "$dir/recv.status" 2>/dev/null || true)
    [ "${errs:-0}" -le "${failed_runs:-0}" ] || fail "$errs JSON error lines, but only $failed_runs inbox runs failed"

    sed -n 's/.*"msgid":"\([0-9a-f]\{32\}\)".*/\1/p' "$dir/received.jsonl" | sort >"$dir/received.ids"
    local dups
    dups=$(uniq -d "$dir/received.ids" | tr '\n' ' ')
    [ -z "$dups" ] && ok "no message was shown twice" || fail "shown more than once: $dups"
    local missing=0 wrong=0 twice=0
    while read -r tag id; do
        is_id "$id" || { fail "send $tag printed '$id' with exit 0"; continue; }
        got=$(grep -cF "\"msgid\":\"$id\"" "$dir/received.jsonl" || true)
        if [ "$got" -eq 0 ]; then
            missing=$((missing + 1))
            fail "accepted message $tag ($id) never reached the inbox"
            continue
        fi
        [ "$got" -eq 1 ] || { twice=$((twice + 1)); fail "accepted message $tag ($id) shown $got times"; }
        line=$(grep -F "\"msgid\":\"$id\"" "$dir/received.jsonl" | head -n 1)
        if [ "$(json_str "$line" content)" != "$(content_of "$tag")" ]; then
            wrong=$((wrong + 1))
            fail "message $tag ($id) arrived with other content: $(json_str "$line" content)"
        fi
    done <"$dir/accepted"
    [ $missing -eq 0 ] && [ $twice -eq 0 ] && [ $wrong -eq 0 ] &&
        ok "every one of the $n_acc accepted message ids arrived exactly once, with its own content"
    # anything else must come from a send that did not report success
    local extra=0 idx
    while read -r id; do
        grep -q " $id\$" "$dir/accepted" && continue
        line=$(grep -F "\"msgid\":\"$id\"" "$dir/received.jsonl" | head -n 1)
        idx=$(json_str "$line" content | sed -n 's/.*(bericht \([sp][0-9][0-9]*\))$/\1/p')
        extra=$((extra + 1))
        if [ -z "$idx" ] || ! grep -qE "^$idx [1-9][0-9]* " "$dir/status"; then
            fail "message $id in the inbox matches no failed send (content '$(json_str "$line" content)')"
        else
            ok "extra message $id is send $idx, which exited $(grep -E "^$idx " "$dir/status" | cut -d' ' -f2) (stored, but its answer was lost)"
        fi
    done <"$dir/received.ids"
    [ $extra -eq 0 ] && ok "nothing arrived that was not accepted"
    return 0
}

# ------------------------------------------------------------------ kill -9
KILL_AT=$((N / 4 > 10 ? N / 4 : 10))
say "1. kill -9 during a burst (2 senders x $N sends) while ggd reads"
K="$T/kill"
mkdir -p "$K"
touch "$K/accepted" "$K/status" "$K/received.jsonl" "$K/recv.status"
sender "$K" s "$N" 5 &
track $!
S1=$!
sender "$K" p "$N" 5 &
track $!
S2=$!
receiver "$K" &
track $!
RECEIVER=$!
wait_accepted "$K" "$KILL_AT" 120 ||
    die "fewer than $KILL_AT sends were accepted (or a burst ended): $(tail -n 3 "$K/send.err" 2>/dev/null)"
sleep "$((RANDOM % 2)).$((RANDOM % 10))"
if [ -e "$K/done.s" ] || [ -e "$K/done.p" ]; then
    die "a burst ended before the kill; raise ZN_CRASH_SENDS"
fi
kill9_broker
: >"$K/stopped"
ok "zorgnetd killed with SIGKILL after $(wc -l <"$K/accepted" | tr -d ' ') accepted sends"
wait_pid "$S1" 120 || die "a send loop did not end within 120 s"
wait_pid "$S2" 120 || die "a send loop did not end within 120 s"
wait_pid "$RECEIVER" 60 || die "the inbox loop did not end within 60 s"
check_statuses "$K" "the kill"
grep -q 'zorgnet: unreachable:' "$K/send.err" && ok "the failed sends said 'unreachable'" ||
    fail "no 'zorgnet: unreachable:' among the failed sends: $(tail -n 2 "$K/send.err")"
rbad=$(grep -vxE '0|4' "$K/recv.status" | head -n 3 | tr '\n' ';' || true)
[ -z "$rbad" ] && ok "every inbox run exited 0 or 4 ($(wc -l <"$K/recv.status" | tr -d ' ') runs)" ||
    fail "inbox runs with another exit status: $rbad"

say "2. restart on the same database, retry the failed sends that have an id, read the rest"
start_broker crash "$D/convenant.msgpack" "$D/broker.key" "$DB"
retry_failed "$K"
drain "$K"
verify_delivery "$K"
broker_alive "after the restart"

# ------------------------------------------------------------------ SIGTERM
M=$((N / 4 > 40 ? N / 4 : 40))
say "3. SIGTERM during a burst (2 senders x $M sends) to an offline recipient: exit 0, and a restart delivers everything"
G="$T/term"
mkdir -p "$G"
touch "$G/accepted" "$G/status" "$G/received.jsonl" "$G/recv.status"
sender "$G" s "$M" 3 &
track $!
S1=$!
sender "$G" p "$M" 3 &
track $!
S2=$!
wait_accepted "$G" 10 60 || die "fewer than 10 sends were accepted within 60 s: $(tail -n 3 "$G/send.err" 2>/dev/null)"
{ [ -e "$G/done.s" ] || [ -e "$G/done.p" ]; } && die "a burst ended before SIGTERM"
stop_broker TERM
: >"$G/stopped"
expect_eq "$BROKER_STATUS" 0 "zorgnetd exit status after SIGTERM in a burst"
expect_contains "$BROKER_LOG" "zorgnetd: shutdown" "broker log"
wait_pid "$S1" 120 || die "a send loop did not end within 120 s"
wait_pid "$S2" 120 || die "a send loop did not end within 120 s"
check_statuses "$G" "the shutdown"
start_broker crash "$D/convenant.msgpack" "$D/broker.key" "$DB"
retry_failed "$G"
drain "$G"
verify_delivery "$G"

stop_broker TERM
expect_eq "$BROKER_STATUS" 0 "zorgnetd exit status after the final SIGTERM"
finish
