#!/usr/bin/env bash
# shellcheck disable=SC2015  # "check && ok || fail": ok always succeeds
# cli_flow.sh — the README walkthrough, end to end, with the real programs on loopback:
# keys, a convenant written with zorgnet-keys (partners, a coordinator, an auditor, a policy
# number), zorgnetd, and the zorgnet CLI: partners, case new, send from a file and from standard
# input, the inbox in text and JSON (exact content, control characters, non-UTF-8 content),
# --wait, a retry with --id, an offline recipient across a broker restart, envelope-dropped
# notices after partners are removed with a SIGHUP reload (also behind a long backlog, with
# --type), the environment variables, and a clean shutdown. Synthetic data only.
# Needs ZN_BIN (the build folder) and ZN_SRC (the source folder).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

W="$T/flow"
mkdir -p "$W"
cd "$W"
PORT=$(free_port)
ENDPOINT="tcp://127.0.0.1:$PORT"
IB="J. de Vries (IB)"
MW="A. Jansen (maatschappelijk werk)"

# ------------------------------------------------------------------ 1. keys
say "1. key pairs for the authority, the broker and six entries"
expect_exit 0 "$ZK" new --kind authority --out gemeente
expect_exit 0 "$ZK" new --kind broker --out broker
for k in school wijkracht ggd coordinator auditor impuls; do
    expect_exit 0 "$ZK" new --kind partner --out "$k"
done
expect_eq "$(stat -c %a school.key)" 600 "school.key mode"
expect_eq "$(stat -c %a school.pub)" 644 "school.pub mode"
expect_eq "$(stat -c %a gemeente.key)" 600 "gemeente.key mode"

# ------------------------------------------------------------------ 2. convenant
say "2. the convenant: init, six entries (a coordinator and an auditor among them), queue_quota"
expect_exit 0 "$ZK" convenant init --authority gemeente.key --broker broker.pub \
    --name "Zorgnetwerk Oldenzaal (test)" --endpoint "$ENDPOINT" --out convenant.msgpack
expect_contains "$OUT" "version 1" "init"
expect_eq "$(stat -c %a gemeente.network.key 2>/dev/null || echo none)" 600 "gemeente.network.key mode"
expect_exit 0 "$ZK" convenant add-partner convenant.msgpack --authority gemeente.key --id school \
    --name "Basisschool De Essen" --category school --pub school.pub \
    --role partner --network 0-12-binnenstad
expect_exit 0 "$ZK" convenant add-partner convenant.msgpack --authority gemeente.key --id wijkracht \
    --name "Wijkracht" --category social-work --pub wijkracht.pub \
    --role partner --network 0-12-binnenstad --network 12-18
expect_exit 0 "$ZK" convenant add-partner convenant.msgpack --authority gemeente.key --id ggd \
    --name "GGD Twente, jeugdgezondheidszorg" --category youth-health --pub ggd.pub \
    --role partner --network 0-12-binnenstad --network 12-18
expect_exit 0 "$ZK" convenant add-partner convenant.msgpack --authority gemeente.key --id coordinator \
    --name "Procesmanager zorgnetwerken" --category municipality --pub coordinator.pub \
    --role coordinator --network 0-12-binnenstad --network 12-18
expect_contains "$OUT" "added coordinator" "add coordinator"
expect_exit 0 "$ZK" convenant add-partner convenant.msgpack --authority gemeente.key --id auditor \
    --name "Auditor gegevensdeling" --category audit --pub auditor.pub --role auditor
expect_exit 0 "$ZK" convenant add-partner convenant.msgpack --authority gemeente.key --id impuls \
    --name "Impuls (kinderwerk)" --category youth-work --pub impuls.pub \
    --role partner --network 0-12-binnenstad
expect_exit 0 "$ZK" convenant set convenant.msgpack --authority gemeente.key queue_quota=5000
expect_contains "$OUT" "signed version 8" "set raises the version"
expect_exit 0 "$ZK" convenant verify convenant.msgpack --authority gemeente.pub
expect_contains "$OUT" "valid: convenant \"Zorgnetwerk Oldenzaal (test)\" version 8" "verify"
expect_contains "$OUT" "6 entries in 2 networks" "verify"
expect_exit 0 "$ZK" convenant show convenant.msgpack
for want in "Broker endpoint: $ENDPOINT" "0-12-binnenstad: 5 members" "12-18: 3 members" \
    "school               partner      Basisschool De Essen [school]" \
    "coordinator          coordinator  Procesmanager zorgnetwerken" \
    "Auditors (1)" "queue_quota = 5000 items (changed from the default)"; do
    expect_contains "$OUT" "$want" "show"
done
cp convenant.msgpack convenant.v8.msgpack

# ------------------------------------------------------------------ 3. broker
say "3. start the broker (its endpoint comes from the convenant)"
start_broker flow convenant.msgpack broker.key broker.db
expect_contains "$BROKER_LOG" "version=8 partners=6 listen=$ENDPOINT" "broker log"
export ZORGNET_CONVENANT=convenant.msgpack

# ------------------------------------------------------------------ 4. partners
say "4. zorgnet partners lists the convenant"
expect_exit 0 "$Z" --key school.key partners
expect_contains "$OUT" 'convenant "Zorgnetwerk Oldenzaal (test)", version 8' "partners"
expect_contains "$OUT" "networks: 0-12-binnenstad 12-18" "partners"
expect_match "$OUT" '^school \(you\) +Basisschool De Essen +school +0-12-binnenstad:partner$' "partners"
expect_match "$OUT" '^wijkracht +Wijkracht +social-work +0-12-binnenstad:partner 12-18:partner$' "partners"
expect_match "$OUT" '^coordinator +Procesmanager zorgnetwerken +municipality +0-12-binnenstad:coordinator 12-18:coordinator$' "partners"
expect_match "$OUT" '^auditor +Auditor gegevensdeling +audit +auditor$' "partners"
expect_exit 0 "$Z" --json --key school.key partners
expect_eq "$(wc -l <"$OUT" | tr -d ' ')" 6 "partners --json: one line per entry"
expect_contains "$OUT" '{"id":"school","name":"Basisschool De Essen","category":"school","roles":{"0-12-binnenstad":["partner"]},"auditor":false,"self":true}' "partners --json"
expect_contains "$OUT" '{"id":"auditor","name":"Auditor gegevensdeling","category":"audit","roles":{},"auditor":true,"self":false}' "partners --json"

# ------------------------------------------------------------------ 5. case and send
say "5. open a case and send a file"
expect_exit 0 "$Z" --key school.key --handler "$IB" case new --network 0-12-binnenstad
CASE=$(cat "$OUT")
is_id "$CASE" && ok "case new printed one case id: $CASE" || die "case new printed '$CASE', not 32 hex characters"
wait_for_log "$BROKER_LOG" "case-created case=$CASE partner=school network=0-12-binnenstad" 5 &&
    ok "broker logged the case" || fail "broker did not log case $CASE"

printf 'Zorg over leerling groep 6, afspraak volgt.\nOuders zijn op de hoogte; graag overleg deze week.\n' >note.txt
expect_exit 0 "$Z" --key school.key --handler "$IB" send --to wijkracht --case "$CASE" note.txt
M1=$(cat "$OUT")
is_id "$M1" && ok "send printed one message id: $M1" || die "send printed '$M1', not 32 hex characters"

say "6. the recipient's inbox shows sender, handler, case and the exact content"
expect_exit 0 "$Z" --key wijkracht.key inbox
cp "$OUT" inbox1.txt
{
    printf 'message   %s\n' "$M1"
    printf 'from      school (Basisschool De Essen)\n'
    printf 'handler   %s\n' "$IB"
    printf 'case      %s\n' "$CASE"
    printf '\n'
    cat note.txt
    printf '\n'
} >want1.txt
grep -v '^time      ' inbox1.txt >got1.txt || true
if diff -u want1.txt got1.txt >diff1.txt; then
    ok "inbox shows exactly the message block (header lines and content)"
else
    fail "inbox output differs from the message sent"
    sed 's/^/       /' diff1.txt >&2
fi
expect_match inbox1.txt '^time      [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$' "inbox time line (UTC)"
expect_eq "$(count_in inbox1.txt 'message   ')" 1 "one message shown"

say "7. a second inbox shows nothing new (the message was acknowledged)"
expect_exit 0 "$Z" --key wijkracht.key inbox
expect_empty "$OUT" "second inbox"
expect_exit 0 "$Z" --key wijkracht.key --json inbox
expect_empty "$OUT" "second inbox --json"

# ------------------------------------------------------------------ stdin and JSON
say "8. send from standard input (-) and read it with --json"
printf 'Zorg over leerling groep 6, afspraak volgt\n' >stdin1.txt
IN=stdin1.txt expect_exit 0 "$Z" --key school.key --handler "$IB" send --to wijkracht --case "$CASE" -
M2=$(cat "$OUT")
is_id "$M2" && ok "send - printed a message id" || fail "send - printed '$M2'"
IN=stdin1.txt expect_exit 0 "$Z" --json --key school.key --handler "$IB" send --to wijkracht --case "$CASE" -
M3=$(json_str "$(cat "$OUT")" msgid)
is_id "$M3" && ok "send --json printed a msgid" || fail "send --json printed '$(cat "$OUT")'"
expect_contains "$OUT" "\"to\":\"wijkracht\",\"case\":\"$CASE\"" "send --json"
expect_exit 0 "$Z" --key wijkracht.key --json inbox
cp "$OUT" inbox2.jsonl
expect_eq "$(wc -l <inbox2.jsonl | tr -d ' ')" 2 "inbox --json: one line per message"
L2=$(grep -F "\"msgid\":\"$M2\"" inbox2.jsonl || true)
[ -n "$L2" ] && ok "inbox --json has $M2" || fail "inbox --json lacks $M2"
printf '%s\n' "$L2" >line2.json
for want in '{"kind":"envelope","item":"' '"valid":true' "\"case\":\"$CASE\"" '"sender":"school"' \
    '"sender_name":"Basisschool De Essen"' "\"handler\":\"$IB\"" '"convenant_version":8' \
    '"content":"Zorg over leerling groep 6, afspraak volgt\n"}'; do
    expect_contains line2.json "$want" "inbox --json fields"
done
expect_match line2.json '"time":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z","time_ms":[0-9]{13},' "inbox --json time"
expect_match line2.json '"item":"[0-9a-f]{32}"' "inbox --json item id"
if [ "$(grep -n . inbox2.jsonl | grep -F "$M2" | cut -d: -f1)" = 1 ] &&
    [ "$(grep -n . inbox2.jsonl | grep -F "$M3" | cut -d: -f1)" = 2 ]; then
    ok "messages arrive in the order they were sent"
else
    fail "messages out of order: $(tr '\n' '|' <inbox2.jsonl)"
fi

say "9. control characters: shown as \\xNN in text, exact in JSON"
printf 'Afspraak 12:00\033[31m rood\\ einde\n' >ctl.txt
expect_exit 0 "$Z" --key school.key --handler "$IB" send --to wijkracht --case "$CASE" ctl.txt
expect_exit 0 "$Z" --key wijkracht.key inbox
expect_contains "$OUT" 'Afspraak 12:00\x1b[31m rood\\ einde' "text inbox escapes ESC and backslash"
if grep -q "$(printf '\033')" "$OUT"; then fail "a raw ESC byte reached the terminal output"; else ok "no raw ESC byte in text output"; fi
expect_exit 0 "$Z" --key school.key --handler "$IB" send --to wijkracht --case "$CASE" ctl.txt
expect_exit 0 "$Z" --key wijkracht.key --json inbox
expect_contains "$OUT" '"content":"Afspraak 12:00\u001b[31m rood\\ einde\n"' "inbox --json keeps the exact bytes"
printf 'Bijlage \377\376\000\001 binair\n' >bin.dat
expect_exit 0 "$Z" --key school.key --handler "$IB" send --to wijkracht --case "$CASE" bin.dat
expect_exit 0 "$Z" --key wijkracht.key --json inbox
expect_contains "$OUT" '"content_encoding":"base64"' "content that is not UTF-8 comes as base64"
if [ "$(json_str "$(cat "$OUT")" content | base64 -d 2>/dev/null | od -An -tx1)" = "$(od -An -tx1 <bin.dat)" ]; then
    ok "the base64 content decodes to the exact bytes sent"
else
    fail "the base64 content does not decode to the bytes sent: $(json_str "$(cat "$OUT")" content)"
fi
expect_exit 0 "$Z" --key wijkracht.key inbox
expect_empty "$OUT" "nothing left after the binary message"

# ------------------------------------------------------------------ --wait
say "10. inbox --wait receives a message sent while it waits"
before=$(count_in "$BROKER_LOG" "connect partner=wijkracht window=")
(rc=0; timeout -k 2 20 "$Z" --key wijkracht.key inbox --wait 10 >wait.out 2>wait.err || rc=$?; echo "$rc" >wait.rc) &
WAITER=$!
track "$WAITER"
n=0
while [ "$(count_in "$BROKER_LOG" "connect partner=wijkracht window=")" -le "$before" ] && [ $n -lt 100 ]; do
    sleep 0.1
    n=$((n + 1))
done
[ $n -lt 100 ] && ok "the waiting inbox is connected" || fail "the waiting inbox did not connect within 10 s"
t0=$(now_ms)
printf 'Zorg over leerling groep 6, afspraak volgt (tijdens wachten)\n' >wait-msg.txt
expect_exit 0 "$Z" --key school.key --handler "$IB" send --to wijkracht --case "$CASE" wait-msg.txt
MW1=$(cat "$OUT")
if wait_pid "$WAITER" 15; then
    t1=$(now_ms)
    expect_eq "$(cat wait.rc)" 0 "inbox --wait exit status"
    expect_contains wait.out "message   $MW1" "inbox --wait"
    expect_contains wait.out "(tijdens wachten)" "inbox --wait content"
    if [ $((t1 - t0)) -lt 8000 ]; then
        ok "inbox --wait returned $((t1 - t0)) ms after the send, before its 10 s were up"
    else
        fail "inbox --wait returned only after $((t1 - t0)) ms"
    fi
else
    fail "inbox --wait 10 did not return within 15 s"
fi
t0=$(now_ms)
expect_exit 0 "$Z" --key wijkracht.key inbox --wait 1
t1=$(now_ms)
expect_empty "$OUT" "inbox --wait 1 with nothing queued"
if [ $((t1 - t0)) -ge 900 ] && [ $((t1 - t0)) -lt 6000 ]; then
    ok "inbox --wait 1 waited about a second ($((t1 - t0)) ms)"
else
    fail "inbox --wait 1 took $((t1 - t0)) ms"
fi

# ------------------------------------------------------------------ --id retry
say "11. a retry with --id of the same message is shown once"
printf 'Zorg over leerling groep 6, afspraak volgt (herhaald)\n' >retry.txt
expect_exit 0 "$Z" --key school.key --handler "$IB" send --to wijkracht --case "$CASE" retry.txt
MR=$(cat "$OUT")
expect_exit 0 "$Z" --key school.key --handler "$IB" send --to wijkracht --case "$CASE" --id "$MR" retry.txt
expect_eq "$(cat "$OUT")" "$MR" "retry prints the same id"
expect_exit 0 "$Z" --key school.key --handler "$IB" send --to wijkracht --case "$CASE" --id "$MR" retry.txt
expect_eq "$(cat "$OUT")" "$MR" "second retry prints the same id"
expect_exit 0 "$Z" --key wijkracht.key inbox
expect_eq "$(count_in "$OUT" "message   $MR")" 1 "the retried message is shown once"
expect_eq "$(count_in "$OUT" "message   ")" 1 "nothing else is shown"
expect_exit 0 "$Z" --key school.key --handler "$IB" send --to wijkracht --case "$CASE" --id "$MR" retry.txt
expect_eq "$(cat "$OUT")" "$MR" "a retry after the recipient read it is still accepted"
expect_exit 0 "$Z" --key wijkracht.key inbox
expect_empty "$OUT" "a retry after reading is not shown again"

# ------------------------------------------------------------------ offline recipient
say "12. an offline recipient gets its queue on the next inbox (across a broker restart)"
expect_exit 0 "$Z" --key wijkracht.key --handler "$MW" case new --network 12-18
CASE2=$(cat "$OUT")
is_id "$CASE2" || die "case new in 12-18 printed '$CASE2'"
OFF=()
for i in 1 2 3; do
    printf 'Zorg over jongere, overleg %d, afspraak volgt\n' "$i" >"off$i.txt"
    expect_exit 0 "$Z" --key wijkracht.key --handler "$MW" send --to ggd --case "$CASE2" "off$i.txt"
    OFF+=("$(cat "$OUT")")
done
stop_broker TERM
expect_eq "$BROKER_STATUS" 0 "zorgnetd exit status after SIGTERM"
start_broker flow convenant.msgpack broker.key broker.db
expect_exit 0 "$Z" --key ggd.key inbox
cp "$OUT" inbox-ggd.txt
expect_eq "$(count_in inbox-ggd.txt 'message   ')" 3 "ggd gets three messages"
expect_eq "$(grep '^message   ' inbox-ggd.txt | cut -c11- | tr '\n' ' ')" "${OFF[*]} " "in the order sent"
expect_contains inbox-ggd.txt "from      wijkracht (Wijkracht)" "ggd inbox"
expect_contains inbox-ggd.txt "handler   $MW" "ggd inbox"
expect_contains inbox-ggd.txt "case      $CASE2" "ggd inbox"
for i in 1 2 3; do
    expect_eq "$(grep -cxF "$(cat "off$i.txt")" inbox-ggd.txt || true)" 1 "content of message $i shown once"
done

# ------------------------------------------------------------------ notices
say "13. removing a partner drops what waits for it and tells the sender"
cp convenant.msgpack ggd-own.msgpack   # the copy ggd's own computer still holds
expect_exit 0 "$Z" --key school.key --handler "$IB" case new --network 0-12-binnenstad
CASE3=$(cat "$OUT")
DROP=()
for i in 1 2; do
    printf 'Zorg over leerling groep 6, voor de GGD %d\n' "$i" >"drop$i.txt"
    expect_exit 0 "$Z" --key school.key --handler "$IB" send --to ggd --case "$CASE3" "drop$i.txt"
    DROP+=("$(cat "$OUT")")
done
# an ordinary message for school waits too; --type must leave it queued
printf 'Zorg over leerling groep 6, reactie van Wijkracht\n' >reply.txt
expect_exit 0 "$Z" --key wijkracht.key --handler "$MW" send --to school --case "$CASE" reply.txt
MREPLY=$(cat "$OUT")
expect_exit 0 "$ZK" convenant remove-partner convenant.msgpack --authority gemeente.key --id ggd
expect_contains "$OUT" "signed version 9" "remove-partner"
kill -HUP "$BROKER_PID"
wait_for_log "$BROKER_LOG" "convenant-loaded version=9 partners=5 removed=1 dropped-envelopes=2" 10 &&
    ok "broker reloaded version 9 and dropped the 2 waiting envelopes" ||
    fail "broker log has no 'convenant-loaded version=9 ... dropped-envelopes=2'"
cp convenant.v8.msgpack school-conv.msgpack   # school's client still has version 8
expect_exit 0 "$Z" --convenant school-conv.msgpack --key school.key inbox --type envelope-dropped
cp "$OUT" notices.txt
expect_eq "$(count_in notices.txt 'notice    envelope-dropped')" 2 "two envelope-dropped notices"
for m in "${DROP[@]}"; do
    expect_match notices.txt "^msgid +$m\$" "notice names the dropped message"
done
expect_eq "$(count_in notices.txt "recipient ggd")" 2 "notices name the recipient"
expect_eq "$(count_in notices.txt "reason    not-in-convenant")" 2 "notices give the reason"
expect_eq "$(count_in notices.txt "case      $CASE3")" 2 "notices name the case"
expect_not_contains notices.txt "message   $MREPLY" "--type envelope-dropped leaves envelopes queued"
expect_contains "$ERR" "the broker runs convenant version 9; it replaced version 8" "the client took the newer convenant"
expect_eq "$(conv_version school-conv.msgpack)" 9 "school's convenant file after the update"
expect_exit 0 "$Z" --convenant school-conv.msgpack --key school.key inbox --type envelope-dropped
expect_empty "$OUT" "the notices were acknowledged"
expect_exit 0 "$Z" --convenant school-conv.msgpack --key school.key --json inbox
expect_eq "$(wc -l <"$OUT" | tr -d ' ')" 1 "the envelope left queued arrives"
expect_contains "$OUT" "\"msgid\":\"$MREPLY\"" "the envelope left queued arrives"

say "14. the removed partner is refused"
expect_exit 4 "$Z" --convenant ggd-own.msgpack --key ggd.key --timeout 3 inbox
expect_contains "$ERR" "zorgnet: handshake-refused:" "removed partner, old convenant file"
expect_exit 3 "$Z" --key ggd.key inbox
expect_contains "$ERR" "zorgnet: not-in-convenant:" "removed partner, current convenant file"
expect_exit 3 "$Z" --key wijkracht.key --handler "$MW" send --to ggd --case "$CASE2" off1.txt
expect_contains "$ERR" "zorgnet: unknown-partner:" "sending to the removed partner"

# ------------------------------------------------------------------ notices behind a backlog
say "15. a notice behind more than a client window (256) of envelopes; a removed partner's open inbox"
expect_exit 0 "$Z" --key school.key --handler "$IB" send --to impuls --case "$CASE" note.txt
MIMP=$(cat "$OUT")
BACKLOG=260
failed=0
for i in $(seq 1 "$BACKLOG"); do
    printf 'Zorg over leerling groep 6, achterstand %d\n' "$i" |
        timeout -k 2 30 "$Z" --key wijkracht.key --handler "$MW" send --to school --case "$CASE" - \
            >/dev/null 2>>backlog.err || failed=$((failed + 1))
done
[ $failed -eq 0 ] && ok "$BACKLOG envelopes wait for school" || fail "$failed of $BACKLOG backlog sends failed: $(tail -n 1 backlog.err)"
before=$(count_in "$BROKER_LOG" "connect partner=coordinator window=")
(rc=0; timeout -k 2 30 "$Z" --key coordinator.key inbox --wait 20 >coord.out 2>coord.err || rc=$?; echo "$rc" >coord.rc) &
COORD=$!
track "$COORD"
n=0
while [ "$(count_in "$BROKER_LOG" "connect partner=coordinator window=")" -le "$before" ] && [ $n -lt 100 ]; do
    sleep 0.1
    n=$((n + 1))
done
[ $n -lt 100 ] && ok "the coordinator's inbox --wait is connected" || fail "the coordinator's inbox did not connect"
expect_exit 0 "$ZK" convenant remove-partner convenant.msgpack --authority gemeente.key --id impuls
expect_exit 0 "$ZK" convenant remove-partner convenant.msgpack --authority gemeente.key --id coordinator
kill -HUP "$BROKER_PID"
t0=$(now_ms)
wait_for_log "$BROKER_LOG" "convenant-loaded version=11 partners=3 removed=2 dropped-envelopes=1" 10 &&
    ok "broker reloaded version 11: impuls and coordinator removed, 1 envelope dropped" ||
    fail "broker log has no 'convenant-loaded version=11 partners=3 removed=2 dropped-envelopes=1'"
if wait_pid "$COORD" 10; then
    t1=$(now_ms)
    expect_eq "$(cat coord.rc)" 3 "the removed coordinator's waiting inbox exit status"
    expect_contains coord.err "zorgnet: not-in-convenant:" "the removed coordinator's waiting inbox"
    [ $((t1 - t0)) -lt 5000 ] && ok "it ended $((t1 - t0)) ms after the reload" || fail "it ended only $((t1 - t0)) ms after the reload"
else
    fail "the removed coordinator's inbox --wait 20 did not end within 10 s of the reload"
fi
expect_exit 0 "$Z" --key school.key --json inbox --type envelope-dropped
cp "$OUT" backlog-notices.jsonl
expect_eq "$(count_in backlog-notices.jsonl '"type":"envelope-dropped"')" 1 \
    "inbox --type envelope-dropped finds the notice behind $BACKLOG envelopes"
expect_not_contains backlog-notices.jsonl '"kind":"envelope"' "--type envelope-dropped shows no envelope"
expect_exit 0 "$Z" --key school.key --json inbox
cp "$OUT" backlog-all.jsonl
expect_eq "$(count_in backlog-all.jsonl '"kind":"envelope"')" "$BACKLOG" "then inbox shows the $BACKLOG envelopes"
expect_eq "$(cat backlog-notices.jsonl backlog-all.jsonl | grep -c "\"msgid\":\"$MIMP\",\"case\":\"$CASE\",\"recipient\":\"impuls\",\"reason\":\"not-in-convenant\"" || true)" 1 \
    "the notice for impuls is shown exactly once in all"
expect_exit 0 "$Z" --key school.key inbox
expect_empty "$OUT" "school's inbox is empty"

# ------------------------------------------------------------------ environment
say "16. ZORGNET_CONVENANT, ZORGNET_KEY, ZORGNET_HANDLER (and ZORGNET_BROKER, ZORGNET_TIMEOUT)"
unset ZORGNET_CONVENANT
expect_exit 2 "$Z" --key school.key partners
expect_contains "$ERR" "no convenant file given" "without ZORGNET_CONVENANT"
export ZORGNET_CONVENANT="$W/convenant.msgpack" ZORGNET_KEY="$W/school.key" ZORGNET_HANDLER="M. de Boer (IB)"
expect_exit 0 "$Z" case new --network 0-12-binnenstad
CASE4=$(cat "$OUT")
is_id "$CASE4" && ok "case new from the environment" || fail "case new printed '$CASE4'"
printf 'Zorg over leerling groep 6, afspraak volgt (omgeving)\n' >env.txt
expect_exit 0 "$Z" send --to wijkracht --case "$CASE4" env.txt
MENV=$(cat "$OUT")
ZORGNET_KEY="$W/wijkracht.key" expect_exit 0 "$Z" --json inbox
expect_contains "$OUT" "\"msgid\":\"$MENV\"" "inbox with ZORGNET_KEY"
expect_contains "$OUT" '"handler":"M. de Boer (IB)"' "the handler came from ZORGNET_HANDLER"
expect_contains "$OUT" '"sender":"school"' "the key came from ZORGNET_KEY"
expect_exit 0 "$Z" --key wijkracht.key partners
expect_match "$OUT" '^wijkracht \(you\) ' "--key overrides ZORGNET_KEY"
DEAD=$(free_port)
t0=$(now_ms)
ZORGNET_BROKER="tcp://127.0.0.1:$DEAD" ZORGNET_TIMEOUT=1 expect_exit 4 "$Z" send --to wijkracht --case "$CASE4" env.txt
t1=$(now_ms)
expect_contains "$ERR" "zorgnet: unreachable:" "ZORGNET_BROKER points to a closed port"
[ $((t1 - t0)) -lt 5000 ] && ok "ZORGNET_TIMEOUT=1 bounds the wait ($((t1 - t0)) ms)" ||
    fail "ZORGNET_TIMEOUT=1 was not honoured: $((t1 - t0)) ms"
unset ZORGNET_KEY ZORGNET_HANDLER
export ZORGNET_CONVENANT=convenant.msgpack

# ------------------------------------------------------------------ shutdown
say "17. SIGTERM stops the broker cleanly; a waiting inbox is told at once"
before=$(count_in "$BROKER_LOG" "connect partner=wijkracht window=")
(rc=0; timeout -k 2 30 "$Z" --key wijkracht.key inbox --wait 20 >bye.out 2>bye.err || rc=$?; echo "$rc" >bye.rc) &
BYE=$!
track "$BYE"
n=0
while [ "$(count_in "$BROKER_LOG" "connect partner=wijkracht window=")" -le "$before" ] && [ $n -lt 100 ]; do
    sleep 0.1
    n=$((n + 1))
done
[ $n -lt 100 ] && ok "wijkracht's inbox --wait is connected" || fail "wijkracht's inbox --wait did not connect"
t0=$(now_ms)
stop_broker TERM
expect_eq "$BROKER_STATUS" 0 "zorgnetd exit status after SIGTERM"
expect_contains "$BROKER_LOG" "zorgnetd: shutdown" "broker log"
if wait_pid "$BYE" 10; then
    t1=$(now_ms)
    expect_eq "$(cat bye.rc)" 4 "the waiting inbox's exit status"
    expect_contains bye.err "zorgnet: shutting-down:" "the waiting inbox"
    [ $((t1 - t0)) -lt 5000 ] && ok "it ended $((t1 - t0)) ms after SIGTERM" || fail "it ended $((t1 - t0)) ms after SIGTERM"
else
    fail "the waiting inbox did not end within 10 s of the broker's shutdown"
fi

finish
