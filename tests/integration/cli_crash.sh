#!/usr/bin/env bash
# cli_crash.sh — durability with the real programs: `kill -9` of zorgnetd in the middle of a
# burst of `zorgnet send` (while the recipient reads), then a restart on the same database:
# every message id that `send` printed (exit 0) must reach the recipient's inbox exactly once.
# Then the same with a graceful SIGTERM: zorgnetd exits 0 and a restart delivers everything.
# Synthetic data only. Needs ZN_BIN (the build folder) and ZN_SRC (the source folder).
#
# ZN_CRASH_SENDS (default 200) sets the length of the burst.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

N=${ZN_CRASH_SENDS:-200}
D="$T/demo"
PORT=$(free_port)
IB="J. de Vries (IB)"
DB="$T/zorgnet.db"

say "setup: the demo convenant and a broker"
make_demo_convenant "$D" "$PORT"
ok "scripts/demo-convenant.sh built $D/convenant.msgpack"
export ZORGNET_CONVENANT="$D/convenant.msgpack"
start_broker crash "$D/convenant.msgpack" "$D/broker.key" "$DB"
expect_exit 0 "$Z" --key "$D/school-essen.key" --handler "$IB" case new --network 0-12-binnenstad
CASE=$(cat "$OUT")
is_id "$CASE" || die "case new printed '$CASE'"

# content_of I: the text of message I of a burst.
content_of() {
    printf 'Zorg over leerling groep 6, afspraak volgt (bericht %s)' "$1"
}

# sender DIR COUNT AFTER: send COUNT messages from school-essen to ggd, one `zorgnet send` each.
# Writes DIR/status ("I STATUS PHASE", PHASE "after" once DIR/stopped exists) and DIR/accepted
# ("I MSGID" for every exit 0). Once DIR/stopped exists it sends AFTER more and ends.
sender() {
    local dir=$1 count=$2 after=$3 i rc out phase left=$3
    for i in $(seq 1 "$count"); do
        phase=before
        if [ -e "$dir/stopped" ]; then
            phase=after
            [ "$left" -gt 0 ] || break
            left=$((left - 1))
        fi
        rc=0
        out=$(content_of "$i" | timeout -k 2 20 "$Z" --key "$D/school-essen.key" --handler "$IB" \
            --timeout 2 send --to ggd --case "$CASE" - 2>>"$dir/send.err") || rc=$?
        echo "$i $rc $phase" >>"$dir/status"
        if [ "$rc" -eq 0 ]; then
            echo "$i $out" >>"$dir/accepted"
        fi
    done
    : >"$dir/sender-done"
}

# receiver DIR: ggd reads its inbox (--json) over and over until DIR/sender-done exists.
receiver() {
    local dir=$1 k=0 rc
    while [ ! -e "$dir/sender-done" ] && [ $k -lt 500 ]; do
        rc=0
        timeout -k 2 20 "$Z" --key "$D/ggd.key" --timeout 2 --json inbox --wait 0.3 \
            >>"$dir/received.jsonl" 2>>"$dir/recv.err" || rc=$?
        echo "$rc" >>"$dir/recv.status"
        [ "$rc" -eq 0 ] || sleep 0.2
        k=$((k + 1))
    done
}

# wait_accepted DIR COUNT SECONDS: until DIR/accepted has COUNT lines; 1 on time-out.
wait_accepted() {
    local n=0 limit=$(($3 * 10))
    while [ $n -lt "$limit" ]; do
        [ "$(wc -l <"$1/accepted")" -ge "$2" ] && return 0
        [ -e "$1/sender-done" ] && return 1
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
            ok "ggd's inbox is empty after $((k - 1)) draining run(s)"
            return 0
        fi
    done
    fail "ggd's inbox still delivered something after 20 runs"
}

# verify_delivery DIR: every accepted id exactly once, with its own content; nothing invalid;
# nothing twice; anything beyond the accepted ids comes from a send that did not report success.
verify_delivery() {
    local dir=$1 line i id got n_acc n_recv
    touch "$dir/accepted" "$dir/received.jsonl"
    n_acc=$(wc -l <"$dir/accepted" | tr -d ' ')
    n_recv=$(grep -c '"kind":"envelope"' "$dir/received.jsonl" || true)
    ok "$n_acc sends accepted, $n_recv envelopes shown to ggd"
    if grep -q '"valid":false' "$dir/received.jsonl"; then
        fail "an item was shown as INVALID: $(grep '"valid":false' "$dir/received.jsonl" | head -n 1)"
    else
        ok "no item failed its checks"
    fi
    if grep -qv '"kind":"envelope"' "$dir/received.jsonl"; then
        fail "something other than an envelope was shown: $(grep -v '"kind":"envelope"' "$dir/received.jsonl" | head -n 1)"
    fi
    sed -n 's/.*"msgid":"\([0-9a-f]\{32\}\)".*/\1/p' "$dir/received.jsonl" | sort >"$dir/received.ids"
    local dups
    dups=$(uniq -d "$dir/received.ids" | tr '\n' ' ')
    [ -z "$dups" ] && ok "no message was shown twice" || fail "shown more than once: $dups"
    local missing=0 wrong=0 twice=0
    while read -r i id; do
        is_id "$id" || { fail "send $i printed '$id' with exit 0"; continue; }
        got=$(grep -cF "\"msgid\":\"$id\"" "$dir/received.jsonl" || true)
        if [ "$got" -eq 0 ]; then
            missing=$((missing + 1))
            fail "accepted message $i ($id) never reached the inbox"
            continue
        fi
        [ "$got" -eq 1 ] || { twice=$((twice + 1)); fail "accepted message $i ($id) shown $got times"; }
        line=$(grep -F "\"msgid\":\"$id\"" "$dir/received.jsonl" | head -n 1)
        if [ "$(json_str "$line" content)" != "$(content_of "$i")" ]; then
            wrong=$((wrong + 1))
            fail "message $i ($id) arrived with other content: $(json_str "$line" content)"
        fi
    done <"$dir/accepted"
    [ $missing -eq 0 ] && [ $twice -eq 0 ] && [ $wrong -eq 0 ] &&
        ok "every one of the $n_acc accepted message ids arrived exactly once, with its own content"
    # anything else must come from a send that did not report success
    local extra=0 idx
    while read -r id; do
        grep -q " $id\$" "$dir/accepted" && continue
        line=$(grep -F "\"msgid\":\"$id\"" "$dir/received.jsonl" | head -n 1)
        idx=$(json_str "$line" content | sed -n 's/.*(bericht \([0-9][0-9]*\))$/\1/p')
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
say "1. kill -9 during a burst of $N sends while ggd reads"
K="$T/kill"
mkdir -p "$K"
touch "$K/accepted" "$K/status" "$K/received.jsonl"
sender "$K" "$N" 5 &
SENDER=$!
track "$SENDER"
receiver "$K" &
RECEIVER=$!
track "$RECEIVER"
wait_accepted "$K" 10 60 || die "fewer than 10 sends were accepted within 60 s: $(tail -n 3 "$K/send.err" 2>/dev/null)"
sleep "0.$((RANDOM % 10))"
if [ -e "$K/sender-done" ]; then
    die "the burst ended before the kill; raise ZN_CRASH_SENDS"
fi
kill9_broker
: >"$K/stopped"
ok "zorgnetd killed with SIGKILL after $(wc -l <"$K/accepted" | tr -d ' ') accepted sends"
wait_pid "$SENDER" 120 || die "the send loop did not end within 120 s"
wait_pid "$RECEIVER" 60 || die "the inbox loop did not end within 60 s"

bad=$(awk '$2 != 0 && $2 != 4' "$K/status" | head -n 3 | tr '\n' ';')
[ -z "$bad" ] && ok "every send exited 0 or 4" || fail "sends with another exit status: $bad"
after=$(awk '$3 == "after"' "$K/status" | wc -l | tr -d ' ')
after_bad=$(awk '$3 == "after" && $2 != 4' "$K/status" | head -n 3 | tr '\n' ';')
[ "$after" -ge 1 ] && [ -z "$after_bad" ] && ok "all $after sends after the kill exited 4" ||
    fail "sends after the kill: $after, not exit 4: $after_bad"
grep -q 'zorgnet: unreachable:' "$K/send.err" && ok "the failed sends said 'unreachable'" ||
    fail "no 'zorgnet: unreachable:' among the failed sends: $(tail -n 2 "$K/send.err")"
rbad=$(grep -vxE '0|4' "$K/recv.status" | head -n 3 | tr '\n' ';' || true)
[ -z "$rbad" ] && ok "every inbox run exited 0 or 4 ($(wc -l <"$K/recv.status" | tr -d ' ') runs)" ||
    fail "inbox runs with another exit status: $rbad"

say "2. restart on the same database and read the rest"
start_broker crash "$D/convenant.msgpack" "$D/broker.key" "$DB"
drain "$K"
verify_delivery "$K"
broker_alive "after the restart"

# ------------------------------------------------------------------ SIGTERM
say "3. SIGTERM during a burst to an offline recipient: exit 0, and a restart delivers everything"
G="$T/term"
mkdir -p "$G"
touch "$G/accepted" "$G/status" "$G/received.jsonl"
M=$((N / 4 > 40 ? N / 4 : 40))
sender "$G" "$M" 3 &
SENDER=$!
track "$SENDER"
wait_accepted "$G" 10 60 || die "fewer than 10 sends were accepted within 60 s: $(tail -n 3 "$G/send.err" 2>/dev/null)"
[ -e "$G/sender-done" ] && die "the burst ended before SIGTERM"
stop_broker TERM
: >"$G/stopped"
expect_eq "$BROKER_STATUS" 0 "zorgnetd exit status after SIGTERM in a burst"
expect_contains "$BROKER_LOG" "zorgnetd: shutdown" "broker log"
wait_pid "$SENDER" 120 || die "the send loop did not end within 120 s"
bad=$(awk '$2 != 0 && $2 != 4' "$G/status" | head -n 3 | tr '\n' ';')
[ -z "$bad" ] && ok "every send exited 0 or 4" || fail "sends with another exit status: $bad"
after_bad=$(awk '$3 == "after" && $2 != 4' "$G/status" | head -n 3 | tr '\n' ';')
[ -z "$after_bad" ] && ok "sends after the shutdown exited 4" || fail "sends after the shutdown: $after_bad"
start_broker crash "$D/convenant.msgpack" "$D/broker.key" "$DB"
drain "$G"
verify_delivery "$G"

stop_broker TERM
expect_eq "$BROKER_STATUS" 0 "zorgnetd exit status after the final SIGTERM"
finish
