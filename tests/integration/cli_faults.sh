#!/usr/bin/env bash
# shellcheck disable=SC2015  # "check && ok || fail": ok always succeeds
# cli_faults.sh — every bad input gets a clear error and its documented exit status
# (0 done, 1 local fault, 2 usage, 3 refused, 4 unreachable or handshake refused, 5 verification
# failed), zorgnetd refuses to start on a bad convenant, key or database, convenant rollback is
# refused by broker and client, the queue quota holds — and the broker keeps serving the other
# partners after each refusal. Real programs on loopback, the demo convenant, synthetic data.
# Needs ZN_BIN (the build folder) and ZN_SRC (the source folder).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

D="$T/demo"
PORT=$(free_port)
IB="J. de Vries (IB)"
WA="H. Smit (wijkagent)"
MW="A. Jansen (maatschappelijk werk)"

say "setup: the demo convenant (queue_quota=3) and a broker"
make_demo_convenant "$D" "$PORT"
ok "scripts/demo-convenant.sh built $D/convenant.msgpack (version $(conv_version "$D/convenant.msgpack"))"
expect_exit 0 "$ZK" convenant set "$D/convenant.msgpack" --authority "$D/authority.key" queue_quota=3
V0=$(conv_version "$D/convenant.msgpack")
[ -n "$V0" ] || die "the demo convenant does not verify after 'set'"
cp "$D/convenant.msgpack" "$T/conv.v$V0.msgpack"
# The broker reads its own copy; the partners' clients share $D/convenant.msgpack.
mkdir -p "$T/broker"
BCONV="$T/broker/convenant.msgpack"
cp "$D/convenant.msgpack" "$BCONV"
DB="$T/broker/zorgnet.db"
start_broker faults "$BCONV" "$D/broker.key" "$DB"
export ZORGNET_CONVENANT="$D/convenant.msgpack"

# A case of wijkracht in 12-18 for the health checks: wijkracht -> politie and back.
expect_exit 0 "$Z" --key "$D/wijkracht.key" --handler "$MW" case new --network 12-18
HCASE=$(cat "$OUT")
is_id "$HCASE" || die "case new printed '$HCASE'"
HN=0
# healthy WHAT: the broker still runs and still carries a message from wijkracht to politie.
healthy() {
    HN=$((HN + 1))
    broker_alive "after $1: zorgnetd"
    printf 'Controlebericht %d, geen inhoud\n' "$HN" >"$T/health.txt"
    expect_exit 0 "$Z" --key "$D/wijkracht.key" --handler "$MW" --timeout 5 send --to politie --case "$HCASE" "$T/health.txt"
    local m
    m=$(cat "$OUT")
    expect_exit 0 "$Z" --key "$D/politie.key" --timeout 5 --json inbox
    expect_contains "$OUT" "\"msgid\":\"$m\"" "after $1: politie still receives"
}
healthy "start"

expect_exit 0 "$Z" --key "$D/school-essen.key" --handler "$IB" case new --network 0-12-binnenstad
CASE=$(cat "$OUT")
is_id "$CASE" || die "case new printed '$CASE'"
printf 'Zorg over leerling groep 6, afspraak volgt\n' >"$T/note.txt"
NOTE="$T/note.txt"
SE=(--key "$D/school-essen.key" --handler "$IB")

# ------------------------------------------------------------------ usage
say "usage errors: exit 2, 'zorgnet: usage: ...'"
expect_exit 2 "$Z" --key "$D/school-essen.key" send --to politie --case "$CASE" "$NOTE"
expect_contains "$ERR" "zorgnet: usage: send needs --handler" "send without --handler"
expect_exit 2 "$Z" --key "$D/school-essen.key" case new --network 0-12-binnenstad
expect_contains "$ERR" "case new needs --handler" "case new without --handler"
expect_exit 2 "$Z" "${SE[@]}" send --case "$CASE" "$NOTE"
expect_contains "$ERR" "send needs --to" "send without --to"
expect_exit 2 "$Z" "${SE[@]}" send --to politie "$NOTE"
expect_contains "$ERR" "send needs --case" "send without --case"
for bad in 0123xyz "${CASE:0:31}" "${CASE}0" "${CASE:0:30}zz" ""; do
    expect_exit 2 "$Z" "${SE[@]}" send --to politie --case "$bad" "$NOTE"
    expect_contains "$ERR" "--case takes a case id of 32 hex characters" "malformed case id '$bad'"
done
expect_exit 2 "$Z" "${SE[@]}" send --to politie --case "$CASE" --id 12345 "$NOTE"
expect_contains "$ERR" "--id takes a message id of 32 hex characters" "malformed --id"
expect_exit 2 "$Z" "${SE[@]}" send --to politie --case "$CASE" --id 00000000000000000000000000000000 "$NOTE"
expect_contains "$ERR" "--id must not be all zeros" "all-zero --id"
: >"$T/empty.txt"
expect_exit 2 "$Z" "${SE[@]}" send --to politie --case "$CASE" "$T/empty.txt"
expect_contains "$ERR" "the message is empty" "empty content"
expect_exit 2 "$Z" "${SE[@]}" frobnicate
expect_contains "$ERR" "unknown command 'frobnicate'" "unknown command"
expect_exit 2 "$Z" --key "$D/school-essen.key" inbox --to politie
expect_contains "$ERR" "--to does not apply to 'inbox'" "option of another command"
expect_exit 2 "$Z" --key "$D/school-essen.key" inbox --wait soon
expect_contains "$ERR" "--wait takes seconds" "bad --wait"
expect_exit 2 "$Z" --key "$D/school-essen.key" --timeout 0 inbox
expect_contains "$ERR" "--timeout takes seconds" "bad --timeout"
expect_exit 2 "$Z" --key "$D/school-essen.key" inbox --type 'Envelope!'
expect_contains "$ERR" "zorgnet: usage: --type" "bad --type"
expect_exit 2 "$Z" --key "$D/school-essen.key" --handler "$(printf 'J. de Vries\033[2J')" send --to politie --case "$CASE" "$NOTE"
expect_contains "$ERR" "the handler must be" "handler with a control character"
expect_exit 2 "$Z" --key "$D/school-essen.key" --handler "$IB" send --to politie --case "$CASE" "$NOTE" "$NOTE"
expect_contains "$ERR" "send takes one FILE" "two files"
expect_exit 2 "$Z" --handler "$IB" case new --network 0-12-binnenstad
expect_contains "$ERR" "case new needs --key" "case new without --key"
expect_exit 2 "$Z" inbox
expect_contains "$ERR" "inbox needs --key" "inbox without --key"
H127=$(printf 'M%.0s' $(seq 1 127))
expect_exit 0 "$Z" --key "$D/school-essen.key" --handler "$H127" send --to politie --case "$CASE" "$NOTE"
expect_exit 0 "$Z" --key "$D/politie.key" --json inbox
expect_contains "$OUT" "\"handler\":\"$H127\"" "a handler of 127 bytes arrives whole"
expect_exit 2 "$Z" --key "$D/school-essen.key" --handler "${H127}M" send --to politie --case "$CASE" "$NOTE"
expect_contains "$ERR" "the handler must be 1 to 127 bytes" "a handler of 128 bytes"
expect_exit 2 "$Z" --json --key "$D/school-essen.key" send --to politie --case xyz "$NOTE"
expect_match "$OUT" '^\{"error":"usage","code":"usage","text":"--case takes a case id of 32 hex characters[^"]*"\}$' "--json error line"

# ------------------------------------------------------------------ local faults
say "local faults: exit 1"
expect_exit 1 "$Z" --key "$T/nothing.key" partners
expect_contains "$ERR" "nothing.key" "missing key file is named"
expect_exit 1 "$Z" --key "$D/school-essen.pub" partners
expect_contains "$ERR" "school-essen.pub" "a .pub given as key is named"
expect_exit 1 "$Z" --convenant "$T/nothing.msgpack" --key "$D/school-essen.key" partners
expect_contains "$ERR" "nothing.msgpack" "missing convenant file is named"
expect_exit 1 "$Z" "${SE[@]}" send --to politie --case "$CASE" "$T/no-such-note.txt"
expect_contains "$ERR" "no-such-note.txt could not be read" "missing content file"
healthy "usage errors and local faults"

# ------------------------------------------------------------------ refused by the broker or policy
say "refusals: exit 3 with the code"
expect_exit 3 "$Z" "${SE[@]}" send --to nobody --case "$CASE" "$NOTE"
expect_contains "$ERR" "zorgnet: unknown-partner: no partner 'nobody'" "unknown recipient"
expect_exit 3 "$Z" "${SE[@]}" send --to politie --case 0123456789abcdef0123456789abcdef "$NOTE"
expect_contains "$ERR" "zorgnet: unknown-case:" "unknown case id"
expect_exit 3 "$Z" --json "${SE[@]}" send --to politie --case 0123456789abcdef0123456789abcdef "$NOTE"
expect_match "$OUT" '^\{"error":"unknown-case","code":"unknown-case","text":"[^"]+"\}$' "--json error line"
healthy "unknown recipient and case"

expect_exit 3 "$Z" "${SE[@]}" case new --network 12-18
expect_contains "$ERR" "zorgnet: role-not-allowed: 'school-essen' does not hold the partner role in network '12-18'" "case in a network the partner is not in"
expect_exit 3 "$Z" "${SE[@]}" case new --network 0-12-nergens
expect_contains "$ERR" "zorgnet: unknown-network:" "unknown network"
expect_exit 3 "$Z" "${SE[@]}" send --to impuls --case "$CASE" "$NOTE"
expect_contains "$ERR" "zorgnet: not-in-network: recipient impuls does not hold the partner role in the case's network 0-12-binnenstad" "recipient outside the case's network"
expect_exit 3 "$Z" --key "$D/school-thij.key" --handler "$IB" send --to politie --case "$CASE" "$NOTE"
expect_contains "$ERR" "zorgnet: not-in-network: sender school-thij" "sender outside the case's network"
healthy "network refusals"

expect_exit 3 "$Z" "${SE[@]}" send --to coordinator --case "$CASE" "$NOTE"
expect_contains "$ERR" "zorgnet: not-in-network: recipient coordinator" "send to the coordinator"
expect_contains "$ERR" "coordinators and auditors never receive case content" "send to the coordinator"
expect_exit 3 "$Z" "${SE[@]}" send --to auditor --case "$CASE" "$NOTE"
expect_contains "$ERR" "zorgnet: not-in-network: recipient auditor" "send to the auditor"
expect_exit 3 "$Z" --key "$D/coordinator.key" --handler "Procesmanager" case new --network 0-12-binnenstad
expect_contains "$ERR" "zorgnet: role-not-allowed:" "the coordinator opens a case"
expect_exit 3 "$Z" --key "$D/coordinator.key" --handler "Procesmanager" send --to politie --case "$CASE" "$NOTE"
expect_contains "$ERR" "zorgnet: not-in-network: sender coordinator" "the coordinator sends"
expect_exit 3 "$Z" --key "$D/auditor.key" --handler "Auditor" send --to politie --case "$CASE" "$NOTE"
expect_contains "$ERR" "zorgnet: not-in-network: sender auditor" "the auditor sends"
healthy "coordinator and auditor refusals"

say "content size: at most 1 MiB - 1 byte"
head -c 1048576 /dev/zero | tr '\0' 'a' >"$T/big-1mib.txt"
expect_exit 3 "$Z" "${SE[@]}" send --to politie --case "$CASE" "$T/big-1mib.txt"
expect_contains "$ERR" "zorgnet: too-large:" "1 MiB of content"
head -c 2000000 /dev/zero | tr '\0' 'b' >"$T/big-2mb.txt"
IN="$T/big-2mb.txt" expect_exit 3 "$Z" "${SE[@]}" send --to politie --case "$CASE" -
expect_contains "$ERR" "zorgnet: too-large:" "2 MB on standard input"
head -c 1048575 /dev/zero | tr '\0' 'c' >"$T/max.txt"
expect_exit 0 "$Z" "${SE[@]}" send --to politie --case "$CASE" "$T/max.txt"
MMAX=$(cat "$OUT")
expect_exit 0 "$Z" --key "$D/politie.key" --json inbox
grep -F "\"msgid\":\"$MMAX\"" "$OUT" | sed -n 's/.*"content":"\([^"]*\)"}$/\1/p' | tr -d '\n' >"$T/max.got"
if [ "$(wc -c <"$T/max.got" | tr -d ' ')" = 1048575 ] && [ -z "$(tr -d c <"$T/max.got")" ]; then
    ok "1 MiB - 1 byte arrives whole"
else
    fail "the message of 1 MiB - 1 byte did not arrive whole ($(wc -c <"$T/max.got" | tr -d ' ') bytes of content)"
fi
healthy "too-large"

say "a message id reused for another case: exit 3 duplicate-id"
expect_exit 0 "$Z" "${SE[@]}" case new --network 0-12-binnenstad
CASEB=$(cat "$OUT")
expect_exit 0 "$Z" "${SE[@]}" send --to politie --case "$CASE" "$NOTE"
MDUP=$(cat "$OUT")
expect_exit 3 "$Z" "${SE[@]}" send --to politie --case "$CASEB" --id "$MDUP" "$NOTE"
expect_contains "$ERR" "zorgnet: duplicate-id:" "same id, other case"
expect_exit 3 "$Z" "${SE[@]}" send --to mplein --case "$CASE" --id "$MDUP" "$NOTE"
expect_contains "$ERR" "zorgnet: duplicate-id:" "same id, other recipient"
expect_exit 0 "$Z" --key "$D/politie.key" --json inbox
expect_eq "$(count_in "$OUT" "\"msgid\":\"$MDUP\"")" 1 "the first message stands, once"
healthy "duplicate-id"

# ------------------------------------------------------------------ key file modes
say "a secret key file that others can read is refused, naming the file"
chmod 644 "$D/school-essen.key"
expect_exit 1 "$Z" --key "$D/school-essen.key" partners
expect_contains "$ERR" "zorgnet: key-file: key file $D/school-essen.key can be read by group or others (mode 0644); run chmod 600 $D/school-essen.key" "zorgnet"
expect_exit 1 "$Z" "${SE[@]}" send --to politie --case "$CASE" "$NOTE"
expect_contains "$ERR" "school-essen.key can be read by group or others" "zorgnet send"
chmod 640 "$D/school-essen.key"
expect_exit 1 "$Z" --key "$D/school-essen.key" inbox
expect_contains "$ERR" "(mode 0640)" "zorgnet, group-readable"
chmod 600 "$D/school-essen.key"
cp "$D/broker.key" "$T/broker-open.key"
chmod 644 "$T/broker-open.key"
expect_broker_refuses "a broker key of mode 0644" \
    "key file $T/broker-open.key can be read by group or others (mode 0644); run chmod 600" \
    "$BCONV" "$T/broker-open.key" "$T/r-mode.db" --listen "tcp://127.0.0.1:$(free_port)"
chmod 644 "$D/authority.key"
cp "$D/convenant.msgpack" "$T/before-set.msgpack"
expect_exit 1 "$ZK" convenant set "$D/convenant.msgpack" --authority "$D/authority.key" queue_quota=4
expect_contains "$ERR" "zorgnet-keys: key file $D/authority.key can be read by group or others (mode 0644); run chmod 600" "zorgnet-keys"
chmod 600 "$D/authority.key"
cmp -s "$T/before-set.msgpack" "$D/convenant.msgpack" && ok "the refused 'set' left the convenant alone" ||
    fail "the refused 'set' changed the convenant"
healthy "key file refusals"

# ------------------------------------------------------------------ unreachable
say "broker not running: exit 4 within the timeout"
DEAD=$(free_port)
for cmd in "send --to politie --case $CASE $NOTE" "case new --network 0-12-binnenstad" "inbox"; do
    t0=$(now_ms)
    # shellcheck disable=SC2086
    expect_exit 4 "$Z" "${SE[@]}" --broker "tcp://127.0.0.1:$DEAD" --timeout 1.5 $cmd
    t1=$(now_ms)
    expect_contains "$ERR" "zorgnet: unreachable:" "${cmd%% *} to a closed port"
    [ $((t1 - t0)) -lt 5000 ] && ok "${cmd%% *} gave up after $((t1 - t0)) ms (timeout 1.5 s)" ||
        fail "${cmd%% *} took $((t1 - t0)) ms with --timeout 1.5"
done

# ------------------------------------------------------------------ handshake refused
say "a key the broker's convenant does not hold: exit 4 handshake-refused"
mkdir -p "$T/x"
expect_exit 0 "$ZK" new --kind partner --out "$T/x/vreemd"
# The stranger is in the client's convenant copy (a later version by the same authority), but
# not in the one the broker runs.
cp "$D/convenant.msgpack" "$T/x/convenant.msgpack"
expect_exit 0 "$ZK" convenant add-partner "$T/x/convenant.msgpack" --authority "$D/authority.key" \
    --id vreemd --name "Onbekende organisatie" --pub "$T/x/vreemd.pub" --role partner --network 12-18
t0=$(now_ms)
expect_exit 4 "$Z" --convenant "$T/x/convenant.msgpack" --key "$T/x/vreemd.key" --handler "X" --timeout 3 \
    send --to politie --case "$HCASE" "$NOTE"
t1=$(now_ms)
expect_contains "$ERR" "zorgnet: handshake-refused:" "stranger's send"
[ $((t1 - t0)) -lt 6000 ] && ok "refused within $((t1 - t0)) ms" || fail "the refusal took $((t1 - t0)) ms"
expect_exit 4 "$Z" --convenant "$T/x/convenant.msgpack" --key "$T/x/vreemd.key" --timeout 3 inbox
expect_contains "$ERR" "zorgnet: handshake-refused:" "stranger's inbox"
expect_exit 4 "$Z" --convenant "$T/x/convenant.msgpack" --key "$T/x/vreemd.key" --json --timeout 3 inbox
expect_match "$OUT" '^\{"error":"handshake-refused","code":"handshake-refused","text":"[^"]+"\}$' "--json error line"
# A partner given that newer file refuses the broker that runs an older version.
expect_exit 5 "$Z" --convenant "$T/x/convenant.msgpack" --key "$D/mplein.key" --timeout 3 inbox
expect_contains "$ERR" "zorgnet: convenant-outdated: the broker runs convenant version $V0, older than version $((V0 + 1))" "a client ahead of the broker"
# With the broker's own convenant the client already knows the key is not in it.
expect_exit 3 "$Z" --key "$T/x/vreemd.key" --timeout 3 inbox
expect_contains "$ERR" "zorgnet: not-in-convenant:" "stranger's key with the current convenant"
healthy "refused handshakes"

# ------------------------------------------------------------------ zorgnetd refuses to start
say "zorgnetd refuses to start, saying why"
expect_exit 2 "$ZD"
expect_exit 2 "$ZD" --convenant "$BCONV" --key "$D/broker.key" --db "$T/r0.db" --colour blue
RP=$(free_port)
L=(--listen "tcp://127.0.0.1:$RP")
cp "$BCONV" "$T/tampered.msgpack"
flip_byte "$T/tampered.msgpack" 40
expect_broker_refuses "a convenant with a flipped byte in its body" "bad-signature" \
    "$T/tampered.msgpack" "$D/broker.key" "$T/r1.db" "${L[@]}"
cp "$BCONV" "$T/tampered-sig.msgpack"
flip_byte "$T/tampered-sig.msgpack" $(($(stat -c %s "$T/tampered-sig.msgpack") - 1))
expect_broker_refuses "a convenant with a flipped byte in its signature" "bad-signature" \
    "$T/tampered-sig.msgpack" "$D/broker.key" "$T/r2.db" "${L[@]}"
head -c 200 "$BCONV" >"$T/truncated.msgpack"
expect_broker_refuses "a truncated convenant" "truncated.msgpack" \
    "$T/truncated.msgpack" "$D/broker.key" "$T/r3.db" "${L[@]}"
cp "$BCONV" "$T/expired.msgpack"
expect_exit 0 "$ZK" convenant set "$T/expired.msgpack" --authority "$D/authority.key" \
    valid_from=2019-01-01 valid_until=2020-01-01
expect_broker_refuses "an expired convenant" "expired" \
    "$T/expired.msgpack" "$D/broker.key" "$T/r4.db" "${L[@]}"
expect_contains "$REFUSE_LOG" "convenant-invalid" "expired convenant code"
cp "$BCONV" "$T/future.msgpack"
expect_exit 0 "$ZK" convenant set "$T/future.msgpack" --authority "$D/authority.key" \
    valid_from=2098-01-01 valid_until=2099-12-31
expect_broker_refuses "a convenant not yet valid" "convenant-invalid" \
    "$T/future.msgpack" "$D/broker.key" "$T/r5.db" "${L[@]}"
expect_exit 0 "$ZK" new --kind broker --out "$T/x/other-broker"
expect_broker_refuses "a broker key that is not the convenant's" "not the broker key" \
    "$BCONV" "$T/x/other-broker.key" "$T/r6.db" "${L[@]}"
expect_broker_refuses "a partner key as broker key" "key-file" \
    "$BCONV" "$D/politie.key" "$T/r7.db" "${L[@]}"
expect_broker_refuses "a database in a folder that does not exist" "cannot open database $T/no/such/folder/z.db" \
    "$BCONV" "$D/broker.key" "$T/no/such/folder/z.db" "${L[@]}"
mkdir -p "$T/a-folder.db"
expect_broker_refuses "a folder as database" "store-failed" \
    "$BCONV" "$D/broker.key" "$T/a-folder.db" "${L[@]}"
head -c 8192 /dev/urandom >"$T/garbage.db"
expect_broker_refuses "a file that is not a database" "is not a database" \
    "$BCONV" "$D/broker.key" "$T/garbage.db" "${L[@]}"
if [ "$(id -u)" -ne 0 ]; then
    : >"$T/locked.db"
    chmod 000 "$T/locked.db"
    expect_broker_refuses "an unreadable database file" "store-failed" \
        "$BCONV" "$D/broker.key" "$T/locked.db" "${L[@]}"
    chmod 600 "$T/locked.db"
fi
expect_broker_refuses "a port already in use" "cannot listen on tcp://127.0.0.1:$PORT" \
    "$BCONV" "$D/broker.key" "$T/r8.db" --listen "tcp://127.0.0.1:$PORT"
expect_broker_refuses "an endpoint that is not an address" "cannot listen on not-an-endpoint" \
    "$BCONV" "$D/broker.key" "$T/r9.db" --listen not-an-endpoint
expect_exit 5 "$ZK" convenant verify "$T/tampered.msgpack"
expect_contains "$ERR" "signature does not verify" "verify a tampered convenant"
expect_exit 5 "$ZK" convenant verify "$T/tampered-sig.msgpack"
expect_exit 5 "$ZK" convenant verify "$T/expired.msgpack"
expect_contains "$ERR" "expired" "verify an expired convenant"
expect_exit 0 "$ZK" new --kind authority --out "$T/x/other-authority"
expect_exit 5 "$ZK" convenant verify "$BCONV" --authority "$T/x/other-authority.pub"
expect_exit 5 "$ZK" convenant show "$T/tampered.msgpack"
healthy "refused starts"

say "clients refuse a bad convenant file too"
expect_exit 5 "$Z" --convenant "$T/tampered.msgpack" --key "$D/school-essen.key" partners
expect_contains "$ERR" "zorgnet: bad-signature:" "tampered convenant file"
expect_exit 5 "$Z" --convenant "$T/expired.msgpack" --key "$D/school-essen.key" partners
expect_contains "$ERR" "zorgnet: convenant-invalid:" "expired convenant file"

# ------------------------------------------------------------------ rollback
say "rollback: an older convenant after a newer one was served is refused"
# the clients have seen V0; the authority signs V0+1 and the broker loads it
expect_exit 0 "$ZK" convenant set "$D/convenant.msgpack" --authority "$D/authority.key" request_window_s=600
V1=$(conv_version "$D/convenant.msgpack")
expect_eq "$V1" $((V0 + 1)) "the new convenant's version"
cp "$D/convenant.msgpack" "$T/conv.v$V1.msgpack"
cp "$T/conv.v$V0.msgpack" "$T/school-conv.msgpack" # school-essen's own copy, still version V0
cp "$T/conv.v$V1.msgpack" "$BCONV"
kill -HUP "$BROKER_PID"
wait_for_log "$BROKER_LOG" "convenant-loaded version=$V1 " 10 && ok "broker loaded version $V1" ||
    fail "broker did not log convenant-loaded version=$V1"
expect_exit 0 "$Z" --convenant "$T/school-conv.msgpack" --key "$D/school-essen.key" inbox
expect_contains "$ERR" "the broker runs convenant version $V1; it replaced version $V0" "client takes the newer convenant"
expect_eq "$(conv_version "$T/school-conv.msgpack")" "$V1" "school-essen's copy after connecting"

say "a client that has seen version $V1 refuses version $V0: exit 5 convenant-outdated"
cp "$T/conv.v$V0.msgpack" "$T/school-conv.msgpack"
expect_exit 5 "$Z" --convenant "$T/school-conv.msgpack" --key "$D/school-essen.key" partners
expect_contains "$ERR" "zorgnet: convenant-outdated: the convenant file has version $V0, older than version $V1 this client has seen" "partners"
expect_exit 5 "$Z" --convenant "$T/school-conv.msgpack" "${SE[@]}" send --to politie --case "$CASE" "$NOTE"
expect_contains "$ERR" "zorgnet: convenant-outdated:" "send"
expect_exit 5 "$Z" --convenant "$T/school-conv.msgpack" --key "$D/school-essen.key" inbox
expect_contains "$ERR" "zorgnet: convenant-outdated:" "inbox"

say "SIGHUP with an older convenant file keeps the newer one in force"
cp "$T/conv.v$V0.msgpack" "$BCONV"
kill -HUP "$BROKER_PID"
wait_for_log "$BROKER_LOG" "reload-refused code=convenant-outdated" 10 &&
    ok "broker logged reload-refused code=convenant-outdated" || fail "broker did not refuse the older convenant on SIGHUP"
healthy "a refused reload"

say "restart with the older file: zorgnetd refuses to start"
stop_broker TERM
expect_eq "$BROKER_STATUS" 0 "zorgnetd exit status after SIGTERM"
expect_match "$BROKER_LOG" "shutdown .*handshakes-refused=[1-9]" "refused handshakes were counted"
t0=$(now_ms)
expect_exit 4 "$Z" "${SE[@]}" --timeout 1.5 send --to politie --case "$CASE" "$NOTE"
t1=$(now_ms)
expect_contains "$ERR" "zorgnet: unreachable:" "send while the broker is down"
[ $((t1 - t0)) -lt 5000 ] && ok "gave up after $((t1 - t0)) ms" || fail "took $((t1 - t0)) ms with --timeout 1.5"
expect_broker_refuses "version $V0 after version $V1 was served" "already served version $V1" \
    "$BCONV" "$D/broker.key" "$DB"
expect_contains "$REFUSE_LOG" "convenant-outdated" "rollback code"
cp "$T/conv.v$V1.msgpack" "$BCONV"
start_broker faults "$BCONV" "$D/broker.key" "$DB"
healthy "restart with the current convenant"

# ------------------------------------------------------------------ quota
say "queue_quota=3: the 4th envelope for an offline recipient is refused until it reads"
expect_exit 0 "$Z" "${SE[@]}" case new --network 0-12-binnenstad
QCASE=$(cat "$OUT")
QM=()
for i in 1 2 3; do
    printf 'Zorg over leerling groep 6, bericht %d voor de GGD\n' "$i" >"$T/q$i.txt"
    expect_exit 0 "$Z" "${SE[@]}" send --to ggd --case "$QCASE" "$T/q$i.txt"
    QM+=("$(cat "$OUT")")
done
printf 'Zorg over leerling groep 6, bericht 4 voor de GGD\n' >"$T/q4.txt"
expect_exit 3 "$Z" "${SE[@]}" send --to ggd --case "$QCASE" "$T/q4.txt"
expect_contains "$ERR" "zorgnet: quota-exceeded: ggd has 3 items waiting" "4th envelope"
expect_exit 3 "$Z" --json "${SE[@]}" send --to ggd --case "$QCASE" "$T/q4.txt"
expect_match "$OUT" '^\{"error":"quota-exceeded","code":"quota-exceeded","text":"[^"]+"\}$' "--json error line"
expect_exit 0 "$Z" "${SE[@]}" send --to ggd --case "$QCASE" --id "${QM[2]}" "$T/q3.txt"
expect_eq "$(cat "$OUT")" "${QM[2]}" "a retry of a stored message is still accepted when the queue is full"
expect_exit 0 "$Z" --key "$D/politie.key" --handler "$WA" case new --network 0-12-binnenstad
PCASE=$(cat "$OUT")
expect_exit 3 "$Z" --key "$D/politie.key" --handler "$WA" send --to ggd --case "$PCASE" "$NOTE"
expect_contains "$ERR" "zorgnet: quota-exceeded:" "the quota holds for every sender"
healthy "quota refusals"
expect_exit 0 "$Z" --key "$D/ggd.key" --json inbox
expect_eq "$(grep -c '"kind":"envelope"' "$OUT" || true)" 3 "ggd reads its three envelopes"
for m in "${QM[@]}"; do
    expect_contains "$OUT" "\"msgid\":\"$m\"" "ggd's inbox"
done
expect_exit 0 "$Z" "${SE[@]}" send --to ggd --case "$QCASE" "$T/q4.txt"
Q4=$(cat "$OUT")
is_id "$Q4" && ok "after ggd read its inbox the 4th envelope is accepted" || fail "4th send printed '$Q4'"
expect_exit 0 "$Z" --key "$D/ggd.key" --json inbox
expect_contains "$OUT" "\"msgid\":\"$Q4\"" "ggd gets the 4th"
healthy "the quota test"

stop_broker TERM
expect_eq "$BROKER_STATUS" 0 "zorgnetd exit status after SIGTERM"
finish
