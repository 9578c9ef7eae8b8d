#!/usr/bin/env bash
# shellcheck disable=SC2015  # "check && ok || fail": ok always succeeds
# audit_cli.sh — the audit log through the real programs on loopback: partners send on a case
# (one send refused by a tiny queue quota), `send` reports the audit index, `receipt verify` by
# message id and by index, a partner refused someone else's receipt and the auditor commands
# (forbidden, exit 3), the auditor's live `audit verify`, `audit export` in JSON lines and CSV
# verified offline with `audit verify --from`, tampered copies of the export (a flipped hex digit
# in an entry's raw bytes, a deleted line, two lines swapped, a truncated file, an edited readable
# field) each refused with exit 5 and a message naming the line, `audit query` filters (also by
# BSN, turned into a pseudonym on the client), `audit report` listing the quota refusal, and a
# broker whose database is replaced by an older copy, caught by a client on its next connect
# (exit 5, log-inconsistent). Synthetic data only (BSNs from the test range 999990000-999999999).
# Needs ZN_BIN (the build folder) and ZN_SRC (the source folder).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

W="$T/audit"
mkdir -p "$W"
cd "$W"
PORT=$(free_port)
D="$W/demo"
IB="J. de Vries (IB)"
GGD="M. Bos (jeugdarts)"
AUD="R. Smit (auditor)"

# ------------------------------------------------------------------ set-up
say "1. the demo convenant with a queue quota of 2, and the broker"
make_demo_convenant "$D" "$PORT"
expect_exit 0 "$ZK" convenant set "$D/convenant.msgpack" --authority "$D/authority.key" queue_quota=2
start_broker audit "$D/convenant.msgpack" "$D/broker.key" "$W/broker.db"
export ZORGNET_CONVENANT="$D/convenant.msgpack"
SCHOOL=(--key "$D/school-essen.key" --handler "$IB")
GGDK=(--key "$D/ggd.key" --handler "$GGD")
AUDK=(--key "$D/auditor.key" --handler "$AUD")

# ------------------------------------------------------------------ traffic
say "2. partners send on a case; send reports the audit index of its acceptance"
expect_exit 0 "$Z" "${SCHOOL[@]}" case new --network 0-12-binnenstad
CASE=$(cat "$OUT")
is_id "$CASE" || die "case new printed '$CASE'"
printf 'Zorg over leerling groep 6: vaak afwezig op maandag.\n' >note1.txt
expect_exit 0 "$Z" "${SCHOOL[@]}" send --to ggd --case "$CASE" note1.txt
M1=$(cat "$OUT")
is_id "$M1" || die "send printed '$M1', not one message id"
I1=$(sed -n 's/^zorgnet: audit entry \([0-9][0-9]*\) records this message.*/\1/p' "$ERR")
[[ $I1 =~ ^[0-9]+$ ]] && ok "send named audit entry $I1 on stderr" || die "send named no audit entry: $(cat "$ERR")"
expect_contains "$ERR" "'zorgnet receipt verify $M1' proves it" "send"
IN=note1.txt expect_exit 0 "$Z" --json "${SCHOOL[@]}" send --to ggd --case "$CASE" -
M2=$(json_str "$(cat "$OUT")" msgid)
I2=$(sed -n 's/.*"audit_index":\([0-9][0-9]*\).*/\1/p' "$OUT")
is_id "$M2" && [[ $I2 =~ ^[0-9]+$ ]] && [ "$I2" -gt "$I1" ] &&
    ok "send --json: msgid $M2, audit_index $I2" || fail "send --json printed '$(cat "$OUT")'"
# ggd has not read its inbox: two envelopes wait, the quota is 2
expect_exit 3 "$Z" "${SCHOOL[@]}" send --to ggd --case "$CASE" note1.txt
expect_contains "$ERR" "zorgnet: quota-exceeded:" "the third envelope for ggd"
expect_exit 0 "$Z" "${SCHOOL[@]}" send --to politie --case "$CASE" note1.txt
expect_exit 0 "$Z" "${GGDK[@]}" inbox
expect_eq "$(count_in "$OUT" 'message   ')" 2 "ggd reads the two envelopes"

say "3. a copy of the broker's database, taken while it is stopped (for step 11)"
stop_broker TERM
expect_eq "$BROKER_STATUS" 0 "zorgnetd stops cleanly"
mkdir -p old-db
for f in broker.db broker.db-wal broker.db-shm; do
    [ -f "$f" ] && cp -p "$f" old-db/
done
[ -f old-db/broker.db ] && ok "database copied aside" || die "no broker.db to copy"
start_broker audit2 "$D/convenant.msgpack" "$D/broker.key" "$W/broker.db"
printf 'Overleg gepland met ouders.\n' >note2.txt
expect_exit 0 "$Z" "${GGDK[@]}" send --to school-essen --case "$CASE" note2.txt
MG=$(cat "$OUT")
IG=$(sed -n 's/^zorgnet: audit entry \([0-9][0-9]*\) records.*/\1/p' "$ERR")

# ------------------------------------------------------------------ receipts
say "4. receipt verify by message id and by index"
expect_exit 0 "$Z" "${SCHOOL[@]}" receipt verify "$M1"
expect_contains "$OUT" "receipt verified: audit entry $I1 is in the broker's log" "receipt by msgid"
expect_match "$OUT" '^  action +send$' "receipt by msgid"
expect_match "$OUT" '^  actor +school-essen$' "receipt by msgid"
expect_match "$OUT" '^  counterpart +ggd$' "receipt by msgid"
expect_match "$OUT" "^  case +$CASE\$" "receipt by msgid"
expect_match "$OUT" "^  evidence +envelope-header of message $M1, signed with this client's key\$" "receipt by msgid"
expect_contains "$OUT" "the entry's leaf is in the tree (inclusion proof)" "receipt by msgid"
expect_exit 0 "$Z" --json "${SCHOOL[@]}" receipt verify "$I2"
expect_contains "$OUT" "\"verified\":true,\"index\":$I2,\"redacted\":false" "receipt --json by index"
expect_contains "$OUT" "\"msgid\":\"$M2\"" "receipt --json by index"
expect_contains "$OUT" '"action":"send"' "receipt --json by index"
expect_exit 0 "$Z" "${GGDK[@]}" receipt verify "$MG"
expect_contains "$OUT" "audit entry $IG is in the broker's log" "ggd's own receipt"

say "5. someone else's receipt, and the auditor commands, are refused to partners (exit 3)"
expect_exit 3 "$Z" "${GGDK[@]}" receipt verify "$I1"
expect_contains "$ERR" "zorgnet: forbidden: " "ggd asks for school-essen's entry"
expect_exit 3 "$Z" --key "$D/ggd.key" --as "$GGD" audit query
expect_contains "$ERR" "zorgnet: forbidden: " "ggd runs audit query"
expect_exit 3 "$Z" "${GGDK[@]}" audit export --out "$W/ggd-export.jsonl"
expect_contains "$ERR" "zorgnet: forbidden: " "ggd runs audit export"
[ ! -e "$W/ggd-export.jsonl" ] && [ ! -e "$W/ggd-export.jsonl.tmp" ] &&
    ok "nothing written for the refused export" || fail "a refused export left a file behind"
expect_exit 3 "$Z" "${SCHOOL[@]}" audit report
expect_contains "$ERR" "zorgnet: forbidden: " "school-essen runs audit report"
expect_exit 2 "$Z" "${SCHOOL[@]}" receipt verify 12x
expect_contains "$ERR" "is neither an audit index" "a malformed receipt id"
expect_exit 3 "$Z" "${SCHOOL[@]}" receipt verify 999999
expect_contains "$ERR" "zorgnet: unknown-entry: " "an index beyond the log"
expect_exit 3 "$Z" "${SCHOOL[@]}" receipt verify 0123456789abcdef0123456789abcdef
expect_contains "$ERR" "no record of sending message 0123456789abcdef0123456789abcdef" "an unknown msgid"

# ------------------------------------------------------------------ export and verify
say "6. the auditor verifies the live log"
expect_exit 0 "$Z" "${AUDK[@]}" audit verify
expect_contains "$OUT" "verified: the broker's log" "audit verify"
expect_match "$OUT" '^  known head +the log extends the [0-9]+ entr' "audit verify"
expect_exit 0 "$Z" --json "${AUDK[@]}" audit verify
expect_contains "$OUT" '"verified":true,"source":"broker"' "audit verify --json"

say "7. exports in JSON lines and CSV verify offline"
expect_exit 0 "$Z" "${AUDK[@]}" audit export --out "$W/log.jsonl"
expect_contains "$OUT" "exported the log of" "export jsonl"
expect_eq "$(stat -c %a "$W/log.jsonl")" 600 "export file mode"
[ ! -e "$W/log.jsonl.tmp" ] && ok "no temporary file left" || fail "log.jsonl.tmp left behind"
expect_exit 0 "$Z" "${AUDK[@]}" audit export --format csv --out "$W/log.csv"
expect_eq "$(head -n 1 "$W/log.csv")" \
    "record,index,time,actor,handler,action,case,counterpart,decision,reason,basis,details,raw" "csv header"
expect_exit 2 "$Z" "${AUDK[@]}" audit export --out "$W/log.jsonl"
expect_contains "$ERR" "exists; give --force to replace it" "an existing file"
expect_exit 0 "$Z" "${AUDK[@]}" audit export --out "$W/log.jsonl" --force
expect_exit 2 "$Z" "${AUDK[@]}" audit export --out "$W/x.jsonl" --format xml
expect_contains "$ERR" "--format takes jsonl or csv" "a bad format"
expect_exit 2 "$Z" "${AUDK[@]}" audit export --out "$W/x.jsonl" --since 2026-02-30
expect_contains "$ERR" "--since takes a time as YYYY-MM-DD" "a bad time"
for f in log.jsonl log.csv; do
    expect_exit 0 "$Z" --key "$D/auditor.key" audit verify --from "$W/$f"
    expect_contains "$OUT" "verified: $W/$f" "verify --from $f"
    expect_match "$OUT" '^  entries +[0-9]+ with content, 0 redacted' "verify --from $f"
done
grep -c '"record":"entry"' log.jsonl >/dev/null && ok "the export holds entry lines" || die "no entry lines in log.jsonl"
# offline with the convenant file alone (no key, so no state file and no head to compare with)
expect_exit 0 "$Z" audit verify --from "$W/log.jsonl"
expect_contains "$OUT" "none kept by this client" "verify --from without a key"
# an export limited in time keeps the other entries as commitments, and still verifies
TOMORROW=$(date -u -d tomorrow +%Y-%m-%d)
expect_exit 0 "$Z" "${AUDK[@]}" audit export --out "$W/none.jsonl" --since "$TOMORROW"
expect_match "$OUT" ': 0 entries, 0 redacted, [1-9][0-9]* outside the time range' "export --since tomorrow"
expect_exit 0 "$Z" --key "$D/auditor.key" audit verify --from "$W/none.jsonl"
expect_eq "$(grep -c '"record":"entry"' none.jsonl || true)" 0 "no entry lines outside the time range"

say "8. tampered copies of the export fail (exit 5) and name the line"
# the line number of the Nth entry line
entry_line() { grep -n '"record":"entry"' log.jsonl | sed -n "${1}p" | cut -d: -f1; }
L3=$(entry_line 3)
L4=$(entry_line 4)
[ -n "$L3" ] && [ -n "$L4" ] || die "the export has fewer than 4 entries"
# (a) one hex digit inside an entry's raw bytes flipped (0 <-> 1 at a position in the middle)
awk -v n="$L3" 'NR == n {
        i = index($0, "\"raw\":\"") + 7 + 40
        c = substr($0, i, 1); r = (c == "0") ? "1" : "0"
        $0 = substr($0, 1, i - 1) r substr($0, i + 1)
    } { print }' log.jsonl >t-hex.jsonl
# (b) an entry line deleted, (c) two entry lines swapped
sed "${L3}d" log.jsonl >t-del.jsonl
awk -v a="$L3" -v b="$L4" 'NR == a { keep = $0; next } NR == b { print; print keep; next } { print }' \
    log.jsonl >t-swap.jsonl
# (d) the file cut short (in the middle of a line)
head -c $(($(wc -c <log.jsonl) * 2 / 3)) log.jsonl >t-trunc.jsonl
# (e) a readable field edited: the raw bytes still say "send"
LS=$(grep -m 1 -n '"action":"send"' log.jsonl | cut -d: -f1)
sed "${LS}s/\"action\":\"send\"/\"action\":\"hello\"/" log.jsonl >t-field.jsonl
# (f) the same in CSV: a partner id in a readable column changed
LC=$(grep -m 1 -n ',school-essen,' log.csv | cut -d: -f1)
sed "${LC}s/,school-essen,/,school-thij,/" log.csv >t-field.csv
cmp -s t-hex.jsonl log.jsonl || cmp -s t-field.csv log.csv && die "a tampered copy equals the export" || true
for t in t-hex.jsonl t-del.jsonl t-swap.jsonl t-trunc.jsonl t-field.jsonl t-field.csv; do
    expect_exit 5 "$Z" --key "$D/auditor.key" audit verify --from "$W/$t"
    expect_contains "$ERR" "zorgnet: verification-failed: the export file does NOT verify: " "$t"
    expect_match "$ERR" '(line|record) [0-9]+' "$t names the line"
    printf '       %s\n' "$(head -n 1 "$ERR" | cut -c 1-240)"
done
expect_match "$ERR" "line $LC" "the edited CSV line is named"

# ------------------------------------------------------------------ query and report
say "9. audit query: the broker filters, the client prints"
QA=(--key "$D/auditor.key" --as "$AUD")
expect_exit 0 "$Z" "${QA[@]}" audit query --action send
expect_eq "$(grep -c '^#' "$OUT")" 5 "--action send: four sends allowed and one refused"
expect_not_contains "$OUT" "action=hello" "--action send"
expect_match "$OUT" "^#$I1 [0-9T:-]+Z actor=school-essen handler=\"[^\"]+\" action=send case=$CASE counterpart=ggd decision=allowed reason=- basis=anonymous\$" \
    "--action send"
expect_contains "$OUT" "handler=\"$IB\"" "--action send"
expect_exit 0 "$Z" "${QA[@]}" audit query --decision refused --action send
expect_eq "$(grep -c '^#' "$OUT")" 1 "--decision refused --action send"
expect_contains "$OUT" "counterpart=ggd decision=refused reason=quota-exceeded" "the quota refusal"
expect_exit 0 "$Z" "${QA[@]}" audit query --case "$CASE" --partner politie
expect_eq "$(grep -c '^#' "$OUT")" 1 "--case --partner politie: the send to politie"
expect_contains "$OUT" "counterpart=politie" "--partner matches the counterpart"
expect_exit 0 "$Z" "${QA[@]}" audit query --handler "$GGD" --action send
expect_eq "$(grep -c '^#' "$OUT")" 1 "--handler (a filter here) and --action"
expect_contains "$OUT" "#$IG " "ggd's send"
expect_exit 0 "$Z" "${QA[@]}" --json audit query --partner school-essen --action case-new
expect_eq "$(wc -l <"$OUT" | tr -d ' ')" 1 "--json: one line per entry"
expect_contains "$OUT" "\"actor\":\"school-essen\",\"handler\":\"$IB\",\"action\":\"case-new\",\"case\":\"$CASE\"" \
    "query --json"
expect_exit 0 "$Z" "${QA[@]}" audit query --since "$TOMORROW"
expect_contains "$OUT" "0 matching entries" "--since tomorrow"
expect_exit 0 "$Z" "${QA[@]}" audit query --bsn 999990019
expect_contains "$OUT" "0 matching entries" "--bsn (no signals exist yet)"
expect_exit 2 "$Z" "${QA[@]}" audit query --bsn 999990001
expect_contains "$ERR" "'999990001' is not a valid BSN" "a BSN failing the 11-proef"
expect_exit 2 "$Z" "${QA[@]}" audit query --decision maybe
expect_exit 2 "$Z" "${QA[@]}" audit query --partner "Not An Id"
expect_exit 2 "$Z" --key "$D/auditor.key" audit query
expect_contains "$ERR" "audit query needs --handler" "the auditor who asks must be named"
expect_exit 2 "$Z" --key "$D/auditor.key" audit query --handler "$IB"
expect_contains "$ERR" "audit query needs --as NAME" "with --handler as a filter, --as names the auditor"
# the reads are recorded: who looked, with which filter
expect_exit 0 "$Z" "${QA[@]}" audit query --action audit-read --partner auditor
[ "$(grep -c '^#' "$OUT")" -gt 5 ] && ok "the auditor's reads are in the log" || fail "audit-read entries missing"

say "10. audit report"
expect_exit 0 "$Z" "${AUDK[@]}" audit report
expect_match "$OUT" '^  school-essen +send +3 / 1$' "report: sends of school-essen allowed / refused"
expect_match "$OUT" '^quota and rate-limit events \(1\):$' "report"
expect_match "$OUT" "^  #[0-9]+ .* school-essen send -> ggd quota-exceeded" "report lists the quota refusal"
expect_match "$OUT" '^refusals \([0-9]+\):$' "report"
expect_contains "$OUT" "safety overrides: none recorded" "report"
expect_match "$OUT" '^redactions \(0\): none$' "report"
expect_exit 0 "$Z" --json "${AUDK[@]}" audit report --since 2020-01-01
expect_contains "$OUT" '"quota_events":[{"index":' "report --json"
expect_contains "$OUT" '"reason":"quota-exceeded"' "report --json"
expect_contains "$OUT" '"overrides":[]' "report --json"

# ------------------------------------------------------------------ rollback
say "11. the broker's database replaced by the older copy: the next connect is refused"
# school-essen has accepted a head of the current log (receipts above); one more to be sure
expect_exit 0 "$Z" "${SCHOOL[@]}" receipt verify "$M1"
stop_broker TERM
rm -f broker.db broker.db-wal broker.db-shm
cp -p old-db/* .
start_broker rolledback "$D/convenant.msgpack" "$D/broker.key" "$W/broker.db"
for try in 1 2; do
    expect_exit 5 "$Z" "${SCHOOL[@]}" send --to politie --case "$CASE" note1.txt
    expect_contains "$ERR" "zorgnet: log-inconsistent: " "connect $try after the rollback"
    expect_match "$ERR" "fewer than the [0-9]+ this client saw signed: it was truncated or rolled back|does not extend" \
        "connect $try after the rollback"
done
expect_exit 5 "$Z" "${AUDK[@]}" audit verify
expect_contains "$ERR" "zorgnet: log-inconsistent: " "the auditor's connect after the rollback"
stop_broker TERM

finish
