#!/usr/bin/env bash
# shellcheck disable=SC2015  # "check && ok || fail": ok always succeeds
# signals_cli.sh — signals ("is this family already known elsewhere?") through the real programs,
# as the README's section "Signals" walks through them: zorgnet-keys (the demo convenant, a
# decision rule, policy numbers), zorgnetd on loopback (reloaded with SIGHUP and restarted), and
# the zorgnet CLI of partners, the coordinator and the auditor: signal add (plain and --json), a
# person match shown to both partners and the coordinator, a family match shown to the coordinator
# only, match connect and match lead (and who may not), matches that leave envelopes queued for
# inbox, refresh, every refused input (invalid BSNs, a BSN given twice, networks and roles, the
# coordinator, a BSN in the contact, bad dates, missing options), signal list / informed /
# withdraw (an early withdrawal counts as a look-up), the rate limit and its enumeration notice,
# audit report (rate-limit events, look-ups, signals never informed), audit query --bsn on a
# family member, and finally a scan of the broker's database and logs for the BSNs as ASCII
# digits. Synthetic BSNs only (the test range 999990000-999999999).
# Needs ZN_BIN (the build folder) and ZN_SRC (the source folder).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"


# synthetic BSNs that pass the 11-proef
CHILD=999990019    # the pupil
FATHER=999990020   # given by the school as --related
MOTHER=999990032   # given by the school as --related only
P4=999990044
P5=999990056
P6=999990068
P7=999990081
P8=999990093
BAD=999990001      # fails the 11-proef
ALL_BSNS="$CHILD $FATHER $MOTHER $P4 $P5 $P6 $P7 $P8 $BAD"

CONTACT_SCHOOL="J. de Vries, intern begeleider, 0541-123456"
CONTACT_GGD="A. Bakker, jeugdarts, 053-4876543"
CONTACT_WK="M. Smit, maatschappelijk werker, 06-12345678"

YESTERDAY=$(date -u -d yesterday +%Y-%m-%d)
TOMORROW=$(date -u -d tomorrow +%Y-%m-%d)
LATER=$(date -u -d '2 days' +%Y-%m-%d)
IN3=$(date -u -d '+3 days' +%Y-%m-%d)
IN30=$(date -u -d '+30 days' +%Y-%m-%d)

# expect_exit_in "CODE CODE..." CMD...: like expect_exit, for a refusal that may come from the
# client (usage, 2) or from the broker (refused, 3); the status is printed with the check.
expect_exit_in() {
    local want=$1 got=0 c
    shift
    timeout -k 5 "$ZN_CMD_TIMEOUT" "$@" <"${IN:-/dev/null}" >"$OUT" 2>"$ERR" || got=$?
    for c in $want; do
        if [ "$got" -eq "$c" ]; then
            ok "exit $got (one of: $want): $(_zn_cmdline "$@")"
            return 0
        fi
    done
    fail "exit one of ($want): $(_zn_cmdline "$@") (got exit $got)"
    _zn_show_output
}

# signal_id FILE: the id on the "signal    ID (...)" line of a signal add.
signal_id() {
    sed -n 's/^signal    \([0-9a-f]\{32\}\) (.*/\1/p' "$1" | head -n 1
}

# ------------------------------------------------------------------ set-up
say "1. the demo convenant with a decision rule for 0-12-binnenstad, and the broker"
demo_convenant signals
expect_exit 0 "$ZK" convenant set "$D/convenant.msgpack" --authority "$D/authority.key" \
    decision:0-12-binnenstad=school,youth-health
V0=$(conv_version "$D/convenant.msgpack")
[ -n "$V0" ] || die "the demo convenant does not verify after 'set'"
# the broker reads its own copy; the clients share the authority's file
demo_broker signals

# ------------------------------------------------------------------ a person match
say "2. the school registers a pupil with both parents; the GGD has a message waiting for it"
expect_exit 0 "$Z" "${SCHOOL[@]}" signal add --network 0-12-binnenstad --bsn "$CHILD" \
    --related "$FATHER" --related "$MOTHER" --contact "$CONTACT_SCHOOL"
SIG_SCHOOL=$(signal_id "$OUT")
is_id "$SIG_SCHOOL" || die "signal add printed no signal id: $(head -c 300 "$OUT")"
expect_contains "$OUT" "signal    $SIG_SCHOOL (new)" "the school's signal"
expect_match "$OUT" '^network   0-12-binnenstad$' "the school's signal"
expect_match "$OUT" '^expires   [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' "the school's signal"
expect_match "$OUT" '^matches   no matches you may see$' "the first signal on the child"
# an ordinary envelope from the GGD waits in the school's inbox (matches must leave it there)
expect_exit 0 "$Z" "${GGD[@]}" case new --network 0-12-binnenstad
out_id CASE "case new"
printf 'Overleg over leerling groep 6 gepland.\n' >note.txt
expect_exit 0 "$Z" "${GGD[@]}" send --to school-essen --case "$CASE" note.txt
out_id MSG send

say "3. the youth doctor registers the same child: a person match inside one network"
expect_exit 0 "$Z" "${GGD[@]}" signal add --network 0-12-binnenstad --bsn "$CHILD" --contact "$CONTACT_GGD"
SIG_GGD=$(signal_id "$OUT")
is_id "$SIG_GGD" || die "signal add printed no signal id: $(head -c 300 "$OUT")"
[ "$SIG_GGD" != "$SIG_SCHOOL" ] && ok "the GGD's signal has its own id" || fail "the GGD got the school's signal id"
expect_contains "$OUT" "signal    $SIG_GGD (new)" "the GGD's signal"
expect_match "$OUT" '^matches   1 you may see:$' "the GGD's signal"
MATCH_P=$(sed -n 's/^  match     \([0-9a-f]\{32\}\)$/\1/p' "$OUT" | head -n 1)
is_id "$MATCH_P" && ok "the reply names the match $MATCH_P" || die "the reply names no match: $(head -c 600 "$OUT")"
expect_match "$OUT" '^  partner   Basisschool De Essen \(school-essen, school\)$' "the match shows the other partner"
expect_match "$OUT" '^  network   0-12-binnenstad$' "the match shows its network"
expect_match "$OUT" "^  contact   $CONTACT_SCHOOL\$" "the match shows the school's contact"
expect_match "$OUT" '^  link      the same person$' "the match shows the link"
expect_match "$OUT" '^  since     [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' "the match shows since when"
expect_match "$OUT" '^  lead      none named yet \(proposed: Basisschool De Essen \(school-essen, school\)\)$' \
    "the decision rule proposes the school"
expect_not_contains "$OUT" "$CHILD" "no BSN in the reply"

say "4. the school's 'matches' shows the notice and leaves the envelope for 'inbox'"
expect_exit 0 "$Z" --key "$D/school-essen.key" matches
expect_match "$OUT" "^match $MATCH_P: GGD Twente, jeugdgezondheidszorg \\(ggd, youth-health\\) also has a signal on the same person\$" \
    "the school's match notice"
expect_match "$OUT" "^  your signal   $SIG_SCHOOL\$" "the school's match notice"
expect_match "$OUT" '^  network       0-12-binnenstad$' "the school's match notice"
expect_match "$OUT" "^  contact       $CONTACT_GGD\$" "the school's match notice"
expect_match "$OUT" '^  lead          none named yet \(proposed: Basisschool De Essen' "the school's match notice"
expect_not_contains "$OUT" "$MSG" "matches shows no envelope"
expect_exit 0 "$Z" --key "$D/school-essen.key" matches
expect_match "$OUT" '^no new match notices$' "a second run: the notice was acknowledged"
expect_exit 0 "$Z" --key "$D/school-essen.key" inbox
expect_eq "$(count_in "$OUT" "message   $MSG")" 1 "the envelope is still in the school's inbox"
expect_not_contains "$OUT" "notice    match" "inbox after matches"

say "5. the coordinator reviews the person match"
expect_exit 0 "$Z" --key "$D/coordinator.key" matches
expect_match "$OUT" "^match $MATCH_P for review: two partners have a signal on the same person\$" "the review"
expect_match "$OUT" '^  partner       Basisschool De Essen \(school-essen, school\) in 0-12-binnenstad$' "the review"
expect_match "$OUT" '^  partner       GGD Twente, jeugdgezondheidszorg \(ggd, youth-health\) in 0-12-binnenstad$' \
    "the review"
expect_match "$OUT" "^      contact   $CONTACT_SCHOOL\$" "the review"
expect_match "$OUT" "^      contact   $CONTACT_GGD\$" "the review"
expect_match "$OUT" '^  told          both partners and the coordinators$' "the review"
expect_exit 0 "$Z" --key "$D/coordinator.key" matches
expect_match "$OUT" '^no new match notices$' "the coordinator's second run"
expect_exit 0 "$Z" --json --key "$D/coordinator.key" matches
expect_empty "$OUT" "the coordinator's third run with --json"

# ------------------------------------------------------------------ a family match
say "6. the police register the father: a family match, shown to the coordinator only"
expect_exit 0 "$Z" --json "${POL[@]}" signal add --network 0-12-binnenstad --bsn "$FATHER"
SIG_POL=$(json_str "$(cat "$OUT")" signal)
is_id "$SIG_POL" || die "signal add --json printed no signal id: $(head -c 300 "$OUT")"
expect_contains "$OUT" "{\"signal\":\"$SIG_POL\",\"refreshed\":false,\"network\":\"0-12-binnenstad\",\"expires\":\"" \
    "signal add --json"
expect_contains "$OUT" '"matches":[]}' "the police are not told of the family match"
expect_exit 0 "$Z" --key "$D/school-essen.key" matches
expect_match "$OUT" '^no new match notices$' "the school is not told of the family match"
expect_exit 0 "$Z" --key "$D/politie.key" matches
expect_match "$OUT" '^no new match notices$' "the police are not told of the family match"
expect_exit 0 "$Z" --key "$D/coordinator.key" matches
cp "$OUT" review-family.txt
expect_eq "$(count_in review-family.txt ' for review: ')" 1 "one review for the coordinator"
MATCH_F=$(sed -n 's/^match \([0-9a-f]\{32\}\) for review: two partners have a signal on the same family (through a parent or sibling)$/\1/p' \
    review-family.txt | head -n 1)
is_id "$MATCH_F" && ok "the coordinator's review names the family match $MATCH_F" ||
    die "no family match in the coordinator's review: $(head -c 800 review-family.txt)"
expect_match review-family.txt '^  partner       Politie \(wijkagent, jeugdagent\) \(politie, police\) in 0-12-binnenstad$' \
    "the family review"
expect_match review-family.txt '^      contact   \(none given\)$' "the family review (the police gave no contact)"
expect_contains review-family.txt "  told          only the coordinators; 'zorgnet match connect $MATCH_F' tells the" \
    "the family review"

say "7. social work registers the father in 18plus: matches across networks go to the coordinator"
expect_exit 0 "$Z" "${WK[@]}" signal add --network 18plus --bsn "$FATHER" --contact "$CONTACT_WK" \
    --until "$IN30" --informed "$YESTERDAY"
SIG_WK=$(signal_id "$OUT")
is_id "$SIG_WK" || die "signal add printed no signal id: $(head -c 300 "$OUT")"
expect_match "$OUT" "^expires   ${IN30}T23:59:59Z\$" "--until ends the signal after that day"
expect_match "$OUT" '^matches   no matches you may see$' "matches across networks are not shown to the partner"
expect_exit 0 "$Z" --key "$D/coordinator.key" matches
expect_eq "$(count_in "$OUT" ', across networks')" 2 "two reviews across networks (the school's family, the police's person)"

# ------------------------------------------------------------------ connect and lead
say "8. connect and lead: only the coordinator, only real matches"
expect_exit 3 "$Z" "${GGD[@]}" match connect "$MATCH_P"
expect_contains "$ERR" "zorgnet: not-coordinator: " "a partner tries match connect"
expect_exit 3 "$Z" "${GGD[@]}" match lead "$MATCH_P" --partner ggd
expect_contains "$ERR" "zorgnet: not-coordinator: " "a partner tries match lead"
expect_exit 2 "$Z" "${COORD[@]}" match connect 12345
expect_contains "$ERR" "MATCH is a match id of 32 hex characters" "a malformed match id"
expect_exit 2 "$Z" "${COORD[@]}" match lead "$MATCH_P"
expect_contains "$ERR" "match lead needs --partner ID" "match lead without --partner"
expect_exit 3 "$Z" "${COORD[@]}" match connect 0123456789abcdef0123456789abcdef
expect_contains "$ERR" "zorgnet: unknown-match: " "an unknown match id"
expect_exit 3 "$Z" "${COORD[@]}" match lead "$MATCH_P" --partner politie
expect_contains "$ERR" "zorgnet: unknown-partner: " "a lead that is not a partner of the match"
expect_exit 0 "$Z" "${COORD[@]}" match connect "$MATCH_F"
expect_eq "$(cat "$OUT")" "match $MATCH_F: the partners were told about each other" "match connect"
expect_exit 0 "$Z" --key "$D/school-essen.key" matches
expect_match "$OUT" "^match $MATCH_F: Politie \\(wijkagent, jeugdagent\\) \\(politie, police\\) also has a signal on the same family \\(through a parent or sibling\\)\$" \
    "the school learns of the family match"
expect_match "$OUT" '^  connected by  Procesmanager zorgnetwerken, gemeente Oldenzaal \(coordinator, municipality\)$' \
    "the school's notice names the coordinator"
expect_exit 0 "$Z" --json --key "$D/politie.key" matches
expect_eq "$(wc -l <"$OUT" | tr -d ' ')" 1 "the police get one notice (--json: one line)"
expect_contains "$OUT" '"type":"match"' "the police's notice"
expect_contains "$OUT" "\"match\":\"$MATCH_F\",\"signal\":\"$SIG_POL\",\"partner\":\"school-essen\",\"network\":\"0-12-binnenstad\"" \
    "the police's notice"
expect_contains "$OUT" "\"contact\":\"$CONTACT_SCHOOL\"" "the police's notice"
expect_contains "$OUT" '"link":"family"' "the police's notice"
expect_contains "$OUT" '"connected_by":"coordinator"' "the police's notice"
expect_exit 0 "$Z" --json "${COORD[@]}" match connect "$MATCH_F"
expect_eq "$(cat "$OUT")" "{\"match\":\"$MATCH_F\",\"connected\":true}" "connecting again (--json)"
expect_exit 0 "$Z" "${COORD[@]}" match lead "$MATCH_P" --partner ggd
expect_contains "$OUT" "match $MATCH_P: GGD Twente, jeugdgezondheidszorg (ggd, youth-health) is now the lead partner (regiehouder);" \
    "match lead"
for who in ggd school-essen; do
    expect_exit 0 "$Z" --key "$D/$who.key" matches
    expect_match "$OUT" "^match $MATCH_P: the lead partner \\(regiehouder\\) is now GGD Twente, jeugdgezondheidszorg \\(ggd, youth-health\\)\$" \
        "$who is told of the lead"
    expect_match "$OUT" '^  named by      Procesmanager zorgnetwerken, gemeente Oldenzaal \(coordinator, municipality\)$' \
        "$who is told who named the lead"
done
expect_exit 0 "$Z" --key "$D/politie.key" matches
expect_match "$OUT" '^no new match notices$' "the police are not told of the other match's lead"

# ------------------------------------------------------------------ refresh
say "9. registering the same person again refreshes the signal"
expect_exit 0 "$Z" "${GGD[@]}" signal add --network 0-12-binnenstad --bsn "$CHILD" --contact "$CONTACT_GGD"
expect_contains "$OUT" "signal    $SIG_GGD (refreshed: this partner had registered the person already)" "refresh"
expect_match "$OUT" '^matches   1 you may see:$' "refresh shows the current matches"
expect_match "$OUT" "^  match     $MATCH_P\$" "refresh: the same match"
expect_match "$OUT" '^  lead      GGD Twente, jeugdgezondheidszorg \(ggd, youth-health\)$' "refresh: the named lead"
expect_exit 0 "$Z" --json "${GGD[@]}" signal add --network 0-12-binnenstad --bsn "$CHILD" --contact "$CONTACT_GGD"
expect_contains "$OUT" "{\"signal\":\"$SIG_GGD\",\"refreshed\":true,\"network\":\"0-12-binnenstad\"" "refresh --json"
expect_contains "$OUT" "\"matches\":[{\"match\":\"$MATCH_P\",\"signal\":\"$SIG_GGD\",\"partner\":\"school-essen\",\"partner_name\":\"Basisschool De Essen\",\"category\":\"school\",\"network\":\"0-12-binnenstad\",\"contact\":\"$CONTACT_SCHOOL\",\"link\":\"person\",\"since\":\"" \
    "refresh --json: the match's fields"
expect_contains "$OUT" '"lead":"ggd","proposed":"school-essen"}]}' "refresh --json: lead and proposal"
expect_exit 0 "$Z" --key "$D/school-essen.key" matches
expect_match "$OUT" '^no new match notices$' "a refresh tells the school nothing new"
expect_exit 0 "$Z" "${GGD[@]}" signal list
expect_eq "$(count_in "$OUT" "$SIG_GGD")" 1 "one signal, not two, after the refreshes"
expect_match "$OUT" '^1 active signal$' "the GGD's list"

# ------------------------------------------------------------------ refused input
say "10. refused input: nothing is sent (the client is pointed at a port where nothing listens)"
DEAD="tcp://127.0.0.1:$(free_port)"
OFF=(--broker "$DEAD" --timeout 2)
expect_exit 2 "$Z" "${SCHOOL[@]}" "${OFF[@]}" signal add --network 0-12-binnenstad --bsn "$BAD"
expect_contains "$ERR" "zorgnet: usage: the person's BSN $BAD fails the 11-proef; nothing was sent" "an invalid --bsn"
expect_exit 2 "$Z" "${SCHOOL[@]}" "${OFF[@]}" signal add --network 0-12-binnenstad --bsn "$P4" --related "$BAD"
expect_contains "$ERR" "zorgnet: usage: related BSN $BAD fails the 11-proef; nothing was sent" "an invalid --related"
expect_exit 2 "$Z" --json "${SCHOOL[@]}" "${OFF[@]}" signal add --network 0-12-binnenstad --bsn "$P4" --related "$BAD"
expect_contains "$OUT" '"code":"usage"' "an invalid --related (--json)"
expect_contains "$OUT" "related BSN $BAD fails the 11-proef; nothing was sent" "an invalid --related (--json)"
expect_exit 2 "$Z" "${SCHOOL[@]}" "${OFF[@]}" signal add --network 0-12-binnenstad --bsn 12345
expect_contains "$ERR" "is not nine digits that pass the 11-proef; nothing was sent" "a short --bsn"
expect_exit 2 "$Z" "${SCHOOL[@]}" "${OFF[@]}" signal add --network 0-12-binnenstad --bsn "$P4" \
    --related "$P5" --related "$P5"
expect_contains "$ERR" "are the same; give each family member once; nothing was sent" "a related BSN twice"
expect_exit 2 "$Z" "${SCHOOL[@]}" "${OFF[@]}" signal add --network 0-12-binnenstad --bsn "$P4" --related "$P4"
expect_contains "$ERR" "is the person's own BSN" "--related equal to --bsn"
expect_exit 2 "$Z" "${SCHOOL[@]}" "${OFF[@]}" signal add --network 0-12-binnenstad --bsn "$P4" \
    --contact "J. de Vries, over leerling $P5"
expect_contains "$ERR" "the contact holds what looks like a BSN" "a BSN in --contact"
expect_contains "$ERR" "nothing was sent" "a BSN in --contact"
expect_not_contains "$ERR" "$P5" "the error does not repeat the BSN of the contact"
expect_exit 2 "$Z" "${SCHOOL[@]}" "${OFF[@]}" signal add --network 0-12-binnenstad --bsn "$P4" --until 2027-13-01
expect_contains "$ERR" "--until takes a date as YYYY-MM-DD" "a malformed --until"
expect_exit 2 "$Z" "${SCHOOL[@]}" "${OFF[@]}" signal add --network 0-12-binnenstad --bsn "$P4" --until 2020-01-01
expect_contains "$ERR" "the signal's end date lies in the past; nothing was sent" "--until in the past"
expect_exit 2 "$Z" "${SCHOOL[@]}" "${OFF[@]}" signal add --network 0-12-binnenstad --bsn "$P4" --informed 29-11-2026
expect_contains "$ERR" "--informed takes a date as YYYY-MM-DD" "a malformed --informed"
expect_exit 2 "$Z" "${SCHOOL[@]}" "${OFF[@]}" signal add --network 0-12-binnenstad --bsn "$P4" --informed "$IN3"
expect_contains "$ERR" "the date the family was informed lies in the future; nothing was sent" "--informed in the future"
expect_exit 2 "$Z" "${SCHOOL[@]}" "${OFF[@]}" signal add --network 0-12-binnenstad
expect_contains "$ERR" "signal add needs --bsn BSN" "no --bsn"
expect_exit 2 "$Z" "${SCHOOL[@]}" "${OFF[@]}" signal add --bsn "$P4"
expect_contains "$ERR" "signal add needs --network NET" "no --network"
expect_exit 2 "$Z" --key "$D/school-essen.key" "${OFF[@]}" signal add --network 0-12-binnenstad --bsn "$P4"
expect_contains "$ERR" "signal add needs --handler" "no --handler"
expect_exit 2 "$Z" "${SCHOOL[@]}" "${OFF[@]}" signal add "$P4" --network 0-12-binnenstad
expect_contains "$ERR" "signal add takes no arguments" "a BSN given without --bsn"

say "11. refused by policy (exit 3): networks, roles, the coordinator, a look-up in disguise"
expect_exit 3 "$Z" "${SCHOOL[@]}" "${OFF[@]}" signal add --network 99-nergens --bsn "$P4"
expect_contains "$ERR" "zorgnet: unknown-network: no network '99-nergens' is in convenant version" "an unknown network"
expect_contains "$ERR" "nothing was sent" "an unknown network"
expect_exit 3 "$Z" "${SCHOOL[@]}" "${OFF[@]}" signal add --network "$P5" --bsn "$P4"
expect_not_contains "$ERR" "$P5" "a BSN typed as the network is not shown back"
expect_contains "$ERR" "looks like a BSN" "a BSN typed as the network"
expect_exit 3 "$Z" "${SCHOOL[@]}" "${OFF[@]}" signal add --network "Geen Netwerk" --bsn "$P4"
expect_contains "$ERR" "zorgnet: unknown-network: " "a network name that is no identifier"
expect_exit 3 "$Z" "${SCHOOL[@]}" signal add --network 12-18 --bsn "$P4"
expect_contains "$ERR" "zorgnet: role-not-allowed: 'school-essen' does not hold the partner role in network '12-18'" \
    "a network where the school is no partner"
expect_exit 3 "$Z" "${COORD[@]}" signal add --network 0-12-binnenstad --bsn "$P4"
expect_contains "$ERR" "coordinators do not register signals" "the coordinator's signal add"
expect_exit 3 "$Z" "${AUDK[@]}" signal add --network 0-12-binnenstad --bsn "$P4"
expect_contains "$ERR" "zorgnet: role-not-allowed: " "the auditor's signal add"
expect_exit 3 "$Z" "${SCHOOL[@]}" signal add --network 0-12-binnenstad --bsn "$P4" --until "$TOMORROW"
expect_contains "$ERR" "zorgnet: no-lookup: a signal must stand at least 7 days" "a signal meant to last one day"
# an informed date more than a day ahead is refused on this computer (a day ahead is allowed:
# time zones)
expect_exit 2 "$Z" "${SCHOOL[@]}" signal add --network 0-12-binnenstad --bsn "$P4" --informed "$LATER"
expect_contains "$ERR" "lies in the future; nothing was sent" "--informed two days ahead"
expect_exit 0 "$Z" "${SCHOOL[@]}" signal list
expect_match "$OUT" '^1 active signal$' "none of the refused requests registered a signal"

# ------------------------------------------------------------------ list, informed, withdraw
say "12. signal list, signal informed and an early withdrawal"
expect_exit 0 "$Z" "${SCHOOL[@]}" signal list
expect_match "$OUT" '^SIGNAL +PERSON +NETWORK +EXPIRES +FAMILY +MATCHES +INFORMED$' "the list's header"
expect_match "$OUT" "^$SIG_SCHOOL  [0-9a-f]{8}  0-12-binnenstad +[0-9]{4}-[0-9]{2}-[0-9]{2} +2 +2  NOT informed\$" \
    "the school's signal: 2 family members, 2 matches it knows of (the family match across networks stays with the coordinator), not informed"
expect_exit 0 "$Z" --json "${SCHOOL[@]}" signal list
expect_contains "$OUT" "{\"signal\":\"$SIG_SCHOOL\",\"person\":\"" "signal list --json"
expect_contains "$OUT" '"network":"0-12-binnenstad","related":2,' "signal list --json"
expect_contains "$OUT" '"informed":null,"informed_ms":0,"overdue":false,"matches":2' "signal list --json"
expect_contains "$OUT" "\"contact\":\"$CONTACT_SCHOOL\",\"handler\":\"$IB\"}" "signal list --json"
expect_match "$OUT" '"person":"[0-9a-f]{8}"' "signal list --json: the pseudonym abbreviated"
expect_exit 0 "$Z" "${WK[@]}" signal list
expect_match "$OUT" "^$SIG_WK  [0-9a-f]{8}  18plus +$IN30 +0 +0  $YESTERDAY\$" \
    "--until and --informed at registration show in the list; its matches went to the coordinators only"
expect_exit 2 "$Z" "${SCHOOL[@]}" signal informed "$SIG_SCHOOL" --date "$IN3"
expect_contains "$ERR" "the date the family was informed lies in the future" "signal informed in the future"
expect_exit 2 "$Z" "${SCHOOL[@]}" signal informed 12345
expect_contains "$ERR" "signal informed takes a signal id of 32 hex characters" "a malformed signal id"
expect_exit 3 "$Z" "${GGD[@]}" signal informed "$SIG_SCHOOL"
expect_contains "$ERR" "zorgnet: unknown-signal: " "the GGD on the school's signal"
expect_exit 0 "$Z" "${SCHOOL[@]}" signal informed "$SIG_SCHOOL" --date "$YESTERDAY"
expect_eq "$(cat "$OUT")" "signal $SIG_SCHOOL: recorded that the family was informed on $YESTERDAY" "signal informed"
expect_exit 0 "$Z" "${SCHOOL[@]}" signal list
expect_match "$OUT" "^$SIG_SCHOOL  [0-9a-f]{8}  0-12-binnenstad .*  $YESTERDAY\$" "the list shows the date"
expect_not_contains "$OUT" "NOT informed" "the school's list after signal informed"
expect_exit 3 "$Z" "${GGD[@]}" signal withdraw "$SIG_POL"
expect_contains "$ERR" "zorgnet: unknown-signal: " "the GGD withdraws the police's signal"
expect_exit 0 "$Z" "${POL[@]}" signal withdraw "$SIG_POL"
expect_match "$OUT" "^signal $SIG_POL withdrawn\$" "an early withdrawal"
expect_contains "$OUT" "it stood less than the convenant's minimum lifetime of 7 days, so it counted as a" \
    "an early withdrawal"
expect_contains "$OUT" "look-up" "an early withdrawal"
expect_exit 3 "$Z" "${POL[@]}" signal withdraw "$SIG_POL"
expect_contains "$ERR" "zorgnet: unknown-signal: " "withdrawing again"
expect_exit 0 "$Z" "${POL[@]}" signal list
expect_match "$OUT" '^no active signals$' "the police's list after the withdrawal"
expect_exit 0 "$Z" "${SCHOOL[@]}" signal list
expect_match "$OUT" "^$SIG_SCHOOL  [0-9a-f]{8}  0-12-binnenstad +[0-9-]{10} +2 +1  " \
    "the withdrawal ended the police's match with the school"

# ------------------------------------------------------------------ rate limit
say "13. signal_rate_day=2 (reloaded with SIGHUP): the third new signal is refused"
expect_exit 0 "$ZK" convenant set "$D/convenant.msgpack" --authority "$D/authority.key" signal_rate_day=2
V1=$(conv_version "$D/convenant.msgpack")
expect_eq "$V1" $((V0 + 1)) "the new convenant's version"
cp "$D/convenant.msgpack" "$BCONV"
kill -HUP "$BROKER_PID"
wait_for_log "$BROKER_LOG" "convenant-loaded version=$V1 " 10 && ok "zorgnetd loaded version $V1" ||
    die "zorgnetd did not log convenant-loaded version=$V1"
expect_exit 0 "$Z" "${MPL[@]}" signal add --network 18plus --bsn "$P4"
expect_contains "$OUT" "(new)" "the Maatschappelijk Plein's first signal"
expect_exit 0 "$Z" "${MPL[@]}" signal add --network 18plus --bsn "$P5"
expect_contains "$OUT" "(new)" "the Maatschappelijk Plein's second signal"
expect_exit 3 "$Z" "${MPL[@]}" signal add --network 18plus --bsn "$P6"
expect_contains "$ERR" "zorgnet: rate-limited: " "the third new signal"
expect_contains "$ERR" "signal_rate_day" "the third new signal"
expect_exit 3 "$Z" "${MPL[@]}" signal add --network 18plus --bsn "$P7"
expect_contains "$ERR" "zorgnet: rate-limited: " "the fourth new signal"
expect_exit 0 "$Z" "${MPL[@]}" signal add --network 18plus --bsn "$P4"
expect_contains "$OUT" "(refreshed" "a refresh is no new signal and is not limited"
# the police: one new signal and one early withdrawal (a look-up) make two
expect_exit 3 "$Z" "${POL[@]}" signal add --network 18plus --bsn "$P8"
expect_contains "$ERR" "zorgnet: rate-limited: " "the early withdrawal counted against the police's limit"
expect_exit 0 "$Z" --key "$D/coordinator.key" matches
cp "$OUT" enum-coordinator.txt
expect_eq "$(count_in enum-coordinator.txt 'possible enumeration: ')" 2 \
    "the coordinator: one enumeration notice per partner (not one per refusal)"
expect_match enum-coordinator.txt '^possible enumeration: Maatschappelijk Plein \(team jeugd en zorg, leerplicht\) \(mplein, municipality\) went over a limit on signals$' \
    "the coordinator's enumeration notice"
expect_match enum-coordinator.txt '^possible enumeration: Politie \(wijkagent, jeugdagent\) \(politie, police\) went over a limit on signals$' \
    "the coordinator's enumeration notice"
expect_contains enum-coordinator.txt "  handler       $KJ" "the enumeration notice names the handler"
expect_match enum-coordinator.txt '^  limit         new signals per partner per day$' "the enumeration notice"
expect_match enum-coordinator.txt '^  count         2$' "the enumeration notice"
expect_exit 0 "$Z" --key "$D/auditor.key" matches
expect_eq "$(count_in "$OUT" 'possible enumeration: ')" 2 "the auditor is told too"
expect_exit 0 "$Z" --key "$D/mplein.key" matches
expect_match "$OUT" '^no new match notices$' "the partner itself gets no enumeration notice"

say "14. audit report: the rate-limit refusals and the early withdrawal"
expect_exit 0 "$Z" "${AUDK[@]}" audit report
cp "$OUT" report1.txt
expect_match report1.txt '^  mplein +signal-add +2 / 2$' "report: mplein's new signals allowed / refused"
expect_match report1.txt '^quota and rate-limit events \(3\):$' "report"
expect_match report1.txt '^  #[0-9]+ [0-9T:-]+Z mplein signal-add rate-limited' "report lists mplein's refusal"
expect_match report1.txt '^  #[0-9]+ [0-9T:-]+Z politie signal-add rate-limited' "report lists the police's refusal"
expect_match report1.txt '^signals withdrawn before the minimum lifetime \(counted as look-ups\) \(1\):$' "report"
expect_match report1.txt '^  #[0-9]+ [0-9T:-]+Z politie signal-withdraw look-up' "report lists the early withdrawal"
expect_match report1.txt '^signals whose family was not informed within 28 days \(0\): none$' \
    "nothing is overdue under the default grace period"
expect_exit 0 "$Z" --json "${AUDK[@]}" audit report
expect_contains "$OUT" '"reason":"rate-limited"' "report --json"
expect_match "$OUT" '"early_withdrawals":\[\{"index":[0-9]+,"time":"[^"]+","actor":"politie","action":"signal-withdraw",' \
    "report --json"
expect_contains "$OUT" '"uninformed":[]}' "report --json"
expect_exit 3 "$Z" "${SCHOOL[@]}" audit report
expect_contains "$ERR" "zorgnet: forbidden: " "a partner runs audit report"

# ------------------------------------------------------------------ never informed
say "15. informed_grace_d=0 (broker restarted): the report lists the signals never informed"
stop_broker_clean
expect_exit 0 "$ZK" convenant set "$D/convenant.msgpack" --authority "$D/authority.key" informed_grace_d=0
V2=$(conv_version "$D/convenant.msgpack")
expect_eq "$V2" $((V1 + 1)) "the new convenant's version"
cp "$D/convenant.msgpack" "$BCONV"
start_broker signals2 "$BCONV" "$D/broker.key" "$BDB"
sleep 1.1 # the report compares registration times with the current second
expect_exit 0 "$Z" "${AUDK[@]}" audit report
cp "$OUT" report2.txt
# not informed: the GGD's signal and the Maatschappelijk Plein's two; the school's (informed
# later), social work's (informed at registration) and the police's (withdrawn) are not listed
expect_match report2.txt '^signals whose family was not informed within 0 days \(3\):$' "report with grace 0"
expect_match report2.txt "^  #[0-9]+ [0-9T:-]+Z ggd 0-12-binnenstad signal $SIG_GGD\$" "report lists the GGD's signal"
expect_eq "$(grep -c '^  #[0-9]* [0-9T:-]*Z mplein 18plus signal [0-9a-f]*$' report2.txt || true)" 2 \
    "report lists the Maatschappelijk Plein's two signals"
expect_not_contains report2.txt "signal $SIG_SCHOOL" "the school's signal was informed"
expect_not_contains report2.txt "signal $SIG_WK" "social work's signal was informed at registration"
expect_not_contains report2.txt "signal $SIG_POL" "the police's signal was withdrawn"
expect_exit 0 "$Z" "${GGD[@]}" signal list
expect_match "$OUT" "^$SIG_GGD  .*  NOT informed \\(overdue\\)\$" "the GGD's list marks its signal overdue"
expect_contains "$OUT" "1 NOT informed within the convenant's 0 days" "the GGD's list"
expect_exit 0 "$Z" "${GGD[@]}" signal informed "$SIG_GGD"
expect_eq "$(cat "$OUT")" "signal $SIG_GGD: recorded that the family was informed on $(date -u +%Y-%m-%d)" \
    "signal informed without --date: today"
expect_exit 0 "$Z" "${AUDK[@]}" audit report
expect_match "$OUT" '^signals whose family was not informed within 0 days \(2\):$' "report after signal informed"
expect_not_contains "$OUT" "signal $SIG_GGD" "report after the GGD's signal informed"
expect_exit 0 "$Z" --json "${AUDK[@]}" audit report
expect_not_contains "$OUT" "\"signal\":\"$SIG_GGD\"" "report --json after signal informed"
expect_match "$OUT" '"uninformed":\[\{"index":[0-9]+,"registered":"[^"]+","signal":"[0-9a-f]{32}","partner":"mplein","network":"18plus"\},' \
    "report --json lists the uninformed signals"

# ------------------------------------------------------------------ audit query by BSN
say "16. audit query --bsn finds a person given only as --related"
expect_exit 0 "$Z" "${QA[@]}" audit query --bsn "$MOTHER"
cp "$OUT" query-mother.txt
expect_match query-mother.txt '^#[0-9]+ [0-9T:-]+Z actor=school-essen handler="[^"]+" action=signal-add case=- counterpart=- decision=allowed' \
    "the school's registration with the mother as --related"
expect_contains query-mother.txt "handler=\"$IB\"" "the school's registration names its handler"
expect_not_contains query-mother.txt "actor=ggd" "--bsn of the mother"
expect_not_contains query-mother.txt "$MOTHER" "the BSN itself is not printed"
expect_exit 0 "$Z" "${QA[@]}" audit query --bsn "$FATHER" --action signal-add
expect_match "$OUT" '^#[0-9]+ .* actor=school-essen .*action=signal-add ' "--bsn of the father: the school's (related)"
expect_match "$OUT" '^#[0-9]+ .* actor=politie .*action=signal-add ' "--bsn of the father: the police's (person)"
expect_match "$OUT" '^#[0-9]+ .* actor=wijkracht .*action=signal-add ' "--bsn of the father: social work's (person)"
expect_match "$OUT" '^3 matching entries$' "--bsn of the father"
expect_exit 0 "$Z" "${QA[@]}" audit query --bsn "$CHILD"
expect_match "$OUT" '^#[0-9]+ .* actor=ggd .*action=signal-refresh ' "--bsn of the child: the GGD's refreshes"
expect_match "$OUT" '^#[0-9]+ .* action=match-lead ' "--bsn of the child: the lead"
expect_exit 0 "$Z" "${QA[@]}" audit query --bsn "$P8"
expect_match "$OUT" '^0 matching entries$' "a refused new signal left no entry that names the person"

# ------------------------------------------------------------------ no BSN at the broker
say "17. the broker's database (also its WAL while it runs) and logs hold none of the BSNs as ASCII digits"
# the scan itself finds digits where they are
bsn_scan_running "$MOTHER"
stop_broker_clean
bsn_scan_stopped

finish
