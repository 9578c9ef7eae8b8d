#!/usr/bin/env bash
# shellcheck disable=SC2015  # "check && ok || fail": ok always succeeds
# cases_cli.sh — cases, consent, safety overrides and warm handovers through the real programs,
# as the README's section "Cases, consent, safety overrides and handovers" walks through them:
# zorgnet-keys (the demo convenant), zorgnetd on loopback and the zorgnet CLI of partners, the
# coordinator and the auditor. Covered: case new (anonymous, identified, invalid BSNs refused on
# this computer), case show (regisseur, member, non-member, coordinator), case close; consent set
# (the regisseur only, every option, the capacity rules per age band, bad options) and consent
# show (the purpose sealed to the auditors); on an identified case a send only under consent,
# and a withdrawal that stops a queued envelope; anonymous mode (identifiers refused unless
# --i-checked, ordinary text passes, the audit log records the check); safety overrides (the
# justification, the coordinator's notice, list and review, a rejection that stops the queued
# envelope and later sends); warm handovers (a dossier from a file and from standard input,
# accept, decline with a reason, withdraw by the offering partner or the coordinator, an offer that
# lapses when its recipient leaves the convenant); membership only once a message is read; case
# link (only the consent's scope is told); the auditor's consent report and audit report; free
# text from --purpose-file, --justification-file, --note-file and --reason-file (a file or
# standard input); zorgnet-keys refusing an override review time that is not within the
# override's lifetime; and a scan of the broker's database, WAL and log for the BSNs as ASCII
# digits. Every refusal is checked for its exit status, its "zorgnet: CODE: text"
# line and, with --json, its error code. Synthetic BSNs only (the test range 999990000-999999999).
# The time-dependent paths (expiry, escalation, time-outs) are covered by itest_cases.
# Needs ZN_BIN (the build folder) and ZN_SRC (the source folder).
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
. "$(dirname "$0")/lib.sh"

NET=0-12-binnenstad

# synthetic BSNs that pass the 11-proef
CHILD=999990019    # the pupil of the identified case
FATHER=999990020   # given as --related
LINKED=999990032   # the person linked to an anonymous case later
SIBLING=999990044  # given as --related with the link
CAPKID=999990056   # the person of the case the capacity rules are tried on
TEXTBSN=999990068  # a BSN typed into a message on an anonymous case
BAD=999990001      # fails the 11-proef
ALL_BSNS="$CHILD $FATHER $LINKED $SIBLING $CAPKID $TEXTBSN $BAD"

YESTERDAY=$(date -u -d yesterday +%Y-%m-%d)
IN60=$(date -u -d '+60 days' +%Y-%m-%d)
NEXT_WEEK=$(date -u -d '+7 days' +%d-%m-%Y)
LONG_AGO=$(date -u -d '-3 years' +%d-%m-%Y)

JUST1="Kind vertelt over geweld thuis; direct overleg met het Plein nodig voor de veiligheid."
JUST2="Vermoeden van mishandeling; de wijkagent moet direct meekijken naar de thuissituatie."
NOTE1="Terecht, gezien de signalen van school."
NOTE2="Geen grond om zonder toestemming met de politie te delen."
PURPOSE="Afstemming zorg rond verzuim"
REASON="Geen capaciteit; de wijkagent is niet de juiste regisseur voor dit gezin."

# re TEXT: TEXT as an extended regular expression that matches it literally.
re() {
    # shellcheck disable=SC2016  # a literal '$' in the bracket expression
    printf '%s' "$1" | sed 's/[][\\.*^$(){}?+|]/\\&/g'
}

# expect_json_error CODE: standard output is the one JSON error line of code CODE.
expect_json_error() {
    expect_contains "$OUT" "{\"error\":\"$1\",\"code\":\"$1\",\"text\":\"" "--json error"
}

# line_no FILE REGEX: the number of the first line matching REGEX (0 when none).
line_no() {
    local n
    n=$(grep -n -m1 -E -- "$2" "$1" | cut -d: -f1 || true)
    echo "${n:-0}"
}

# school_case VAR: the school opens an anonymous case in $NET; its id in VAR, counted in
# SCHOOL_CASES.
school_case() {
    expect_exit 0 "$Z" "${SCHOOL[@]}" case new --network "$NET"
    out_id "$1" "case new"
    SCHOOL_CASES=$((SCHOOL_CASES + 1))
}

# audit_count FILTER...: how many entries `audit query` (as the auditor) finds for FILTER.
audit_count() {
    timeout -k 5 "$ZN_CMD_TIMEOUT" "$Z" "${QA[@]}" audit query "$@" 2>/dev/null |
        sed -n 's/^\([0-9][0-9]*\) matching entr.*$/\1/p' | head -n 1 || true
}

# ------------------------------------------------------------------ set-up
say "1. the demo convenant and the broker"
demo_convenant cases
demo_broker cases
IB_RE=$(re "$IB")
JA_RE=$(re "$JA")
PM_RE=$(re "$PM")
DESC_SCHOOL="Basisschool De Essen (school-essen, school)"
DESC_GGD="GGD Twente, jeugdgezondheidszorg (ggd, youth-health)"
DESC_POL="Politie (wijkagent, jeugdagent) (politie, police)"
DESC_MPL="Maatschappelijk Plein (team jeugd en zorg, leerplicht) (mplein, municipality)"
SCHOOL_CASES=0 # cases the school opened (the audit log must hold exactly these case-new entries)

# ------------------------------------------------------------------ case new
say "2. case new: anonymous and identified; invalid BSNs are refused on this computer"
expect_exit 0 "$Z" "${SCHOOL[@]}" case new --network "$NET"
CA=$(cat "$OUT")
is_id "$CA" && ok "an anonymous case: $CA" || die "case new printed '$CA'"
SCHOOL_CASES=$((SCHOOL_CASES + 1))
expect_exit 0 "$Z" --json "${SCHOOL[@]}" case new --network "$NET" --bsn "$CHILD" --related "$FATHER"
CI=$(json_str "$(cat "$OUT")" case)
is_id "$CI" || die "case new --json printed no case id: $(head -c 300 "$OUT")"
SCHOOL_CASES=$((SCHOOL_CASES + 1))
expect_eq "$(cat "$OUT")" "{\"case\":\"$CI\",\"network\":\"$NET\",\"identified\":true}" "case new --json (identified)"
expect_not_contains "$OUT" "$CHILD" "no BSN in the reply"
expect_exit 0 "$Z" --json "${SCHOOL[@]}" case new --network "$NET"
CK=$(json_str "$(cat "$OUT")" case)
is_id "$CK" || die "case new --json printed no case id: $(head -c 300 "$OUT")"
SCHOOL_CASES=$((SCHOOL_CASES + 1))
expect_eq "$(cat "$OUT")" "{\"case\":\"$CK\",\"network\":\"$NET\",\"identified\":false}" "case new --json (anonymous)"
[ "$CA" != "$CI" ] && [ "$CI" != "$CK" ] && ok "every case has its own id" || fail "two cases share an id"

expect_exit 2 "$Z" "${SCHOOL[@]}" case new --network "$NET" --bsn "$BAD"
expect_contains "$ERR" "zorgnet: usage: the person's BSN $BAD fails the 11-proef; nothing was sent" \
    "an invalid BSN is named"
expect_empty "$OUT" "an invalid BSN"
expect_exit 2 "$Z" "${SCHOOL[@]}" case new --network "$NET" --bsn "$CHILD" --related "$BAD"
expect_contains "$ERR" "related BSN $BAD fails the 11-proef; nothing was sent" "an invalid related BSN is named"
expect_exit 2 "$Z" --json "${SCHOOL[@]}" case new --network "$NET" --bsn 12345
expect_json_error usage
expect_contains "$OUT" "the person's BSN 12345 is not nine digits that pass the 11-proef; nothing was sent" \
    "a short BSN (--json)"
expect_exit 2 "$Z" "${SCHOOL[@]}" case new --network "$NET" --bsn "$CHILD" --related "$CHILD"
expect_contains "$ERR" "is the person's own BSN" "the person as its own relative"
expect_exit 2 "$Z" "${SCHOOL[@]}" case new --network "$NET" --related "$FATHER"
expect_contains "$ERR" "--related goes only with --bsn" "--related without --bsn"
expect_exit 2 "$Z" "${SCHOOL[@]}" case new
expect_contains "$ERR" "case new needs --network NET" "no --network"
expect_exit 2 "$Z" --key "$D/school-essen.key" case new --network "$NET"
expect_contains "$ERR" "case new needs --handler" "no --handler"
expect_exit 3 "$Z" "${SCHOOL[@]}" case new --network 12-18
expect_match "$ERR" '^zorgnet: (not-partner|role-not-allowed|not-in-network): ' "a network where the school is no partner"

# ------------------------------------------------------------------ case show
say "3. case show: the regisseur, a member, a non-member and the coordinator"
printf 'Overleg over leerling groep 6 gepland op dinsdag.\n' >m0.txt
expect_exit 0 "$Z" "${SCHOOL[@]}" send --to ggd --case "$CA" m0.txt
out_id M0 send
# ggd becomes a member when it has read (acknowledged) the message, not before
expect_exit 0 "$Z" "${SCHOOL[@]}" case show "$CA"
expect_match "$OUT" '^members   1$' "a recipient that did not read the message yet is no member"
expect_exit 3 "$Z" "${GGD[@]}" case show "$CA"
expect_contains "$ERR" "zorgnet: not-member: ggd is neither a member of this case nor a coordinator of its network $NET" \
    "the recipient before it read the message"
expect_exit 0 "$Z" "${GGD[@]}" inbox
expect_contains "$OUT" "message   $M0" "ggd receives the message on the anonymous case"
expect_exit 0 "$Z" "${SCHOOL[@]}" case show "$CA"
cp "$OUT" show-school.txt
expect_match show-school.txt "^case      $CA\$" "the regisseur's case show"
expect_match show-school.txt "^network   $NET\$" "the regisseur's case show"
expect_contains show-school.txt "regisseur $DESC_SCHOOL" "the regisseur's case show"
expect_match show-school.txt '^created   [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' "the regisseur's case show"
expect_match show-school.txt '^closed    no \(open\)$' "the regisseur's case show"
expect_match show-school.txt '^mode      anonymous: no person is linked to the case$' "the regisseur's case show"
expect_match show-school.txt '^members   2$' "the regisseur's case show"
expect_match show-school.txt '^  school-essen  regisseur  since [0-9T:-]+Z$' "the regisseur is a member"
expect_match show-school.txt '^  ggd +received   since [0-9T:-]+Z$' "the recipient became a member"
expect_match show-school.txt '^consent   none recorded$' "the regisseur's case show"
expect_match show-school.txt '^handovers none open$' "the regisseur's case show"
expect_match show-school.txt '^overrides none standing$' "the regisseur's case show"
expect_exit 0 "$Z" "${GGD[@]}" case show "$CA"
expect_contains "$OUT" "regisseur $DESC_SCHOOL" "a member (ggd) reads the case"
expect_exit 0 "$Z" "${COORD[@]}" case show "$CA"
expect_contains "$OUT" "regisseur $DESC_SCHOOL" "the network's coordinator reads the case"
expect_exit 3 "$Z" "${POL[@]}" case show "$CA"
expect_contains "$ERR" "zorgnet: not-member: politie is neither a member of this case nor a coordinator of its network $NET" \
    "a non-member"
expect_empty "$OUT" "a non-member's case show"
expect_exit 3 "$Z" --json "${POL[@]}" case show "$CA"
expect_json_error not-member
expect_exit 0 "$Z" --json "${SCHOOL[@]}" case show "$CI"
expect_contains "$OUT" "{\"case\":\"$CI\",\"network\":\"$NET\",\"regisseur\":\"school-essen\",\"created\":\"" "case show --json"
expect_contains "$OUT" '"closed":null,"closed_ms":0,"identified":true,"members":[{"partner":"school-essen","how":"regisseur","since":"' \
    "case show --json"
expect_contains "$OUT" '"consent":{"seq":0,"state":"none","scope":[],"until":null,"until_ms":0,"at":null,"at_ms":0},"handovers":[],"overrides":[]}' \
    "case show --json"
expect_not_contains "$OUT" "$CHILD" "case show of an identified case"
expect_exit 2 "$Z" "${SCHOOL[@]}" case show 12345
expect_contains "$ERR" "case show takes a case id of 32 hex characters" "a malformed case id"
expect_exit 3 "$Z" "${SCHOOL[@]}" case show 0123456789abcdef0123456789abcdef
expect_contains "$ERR" "zorgnet: unknown-case: " "an unknown case"

# ------------------------------------------------------------------ case close
say "4. case close by the regisseur only; afterwards nothing more is shared or recorded"
school_case CX
printf 'Kort overleg.\n' >mx.txt
expect_exit 0 "$Z" "${SCHOOL[@]}" send --to ggd --case "$CX" mx.txt
expect_exit 3 "$Z" "${GGD[@]}" case close "$CX"
expect_contains "$ERR" "zorgnet: not-regisseur: ggd does not hold this case in network $NET; only its regisseur school-essen may close it" \
    "a member closes the case"
expect_exit 0 "$Z" "${SCHOOL[@]}" case close "$CX"
expect_match "$OUT" "^case $CX closed on [0-9T:-]+Z; nothing more is recorded on it, and it is deleted [0-9]+ days later\$" \
    "case close"
expect_exit 3 "$Z" --json "${SCHOOL[@]}" case close "$CX"
expect_json_error case-closed
expect_contains "$ERR" "zorgnet: case-closed: the case is closed already" "closing again"
expect_exit 3 "$Z" "${SCHOOL[@]}" send --to ggd --case "$CX" mx.txt
expect_contains "$ERR" "zorgnet: case-closed: the case is closed; nothing more is shared on it" "the regisseur sends on a closed case"
expect_exit 3 "$Z" --json "${GGD[@]}" send --to school-essen --case "$CX" mx.txt
expect_json_error case-closed
expect_exit 3 "$Z" "${SCHOOL[@]}" consent set --case "$CX" --state requested
expect_contains "$ERR" "zorgnet: case-closed: " "consent on a closed case"
expect_exit 0 "$Z" "${SCHOOL[@]}" case show "$CX"
expect_match "$OUT" '^closed    [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' "case show of a closed case"

# ------------------------------------------------------------------ consent set
say "5. consent set: only the regisseur, with every option; bad options are refused here"
printf 'Afspraak met ouders besproken.\n' >mi.txt
expect_exit 3 "$Z" "${SCHOOL[@]}" send --to ggd --case "$CI" mi.txt
expect_contains "$ERR" "zorgnet: consent-required: school-essen may not share this identified case with ggd: no consent is recorded" \
    "a send on an identified case without consent"
expect_contains "$ERR" "discuss it on an anonymous case: zorgnet case new --network $NET without --bsn" \
    "the refusal names the anonymous route"
expect_exit 3 "$Z" "${GGD[@]}" consent set --case "$CI" --state granted --scope ggd --given-by parent --age-band 0-11
expect_contains "$ERR" "zorgnet: not-regisseur: ggd does not hold this case in network $NET; only its regisseur school-essen records consent" \
    "a partner that is not the regisseur"
expect_exit 3 "$Z" --json "${POL[@]}" consent set --case "$CI" --state requested
expect_json_error not-regisseur
expect_exit 0 "$Z" "${SCHOOL[@]}" consent set --case "$CI" --state granted --scope ggd --given-by parent \
    --age-band 0-11 --until "$IN60" --purpose "$PURPOSE"
cp "$OUT" consent1.txt
expect_eq "$(head -n 1 consent1.txt)" "consent record 1 on case $CI: granted" "consent set"
expect_match consent1.txt '^scope     ggd$' "consent set"
expect_match consent1.txt '^given by  parent$' "consent set"
expect_match consent1.txt '^age band  0-11$' "consent set"
expect_match consent1.txt "^until     ${IN60}T23:59:59Z\$" "consent set: --until ends after that day"
expect_match consent1.txt '^purpose   sealed to the auditors$' "consent set"
expect_not_contains consent1.txt "$PURPOSE" "the purpose is not printed back"
for bad in "--state maybe" "--age-band 10-12" "--given-by uncle" "--given-by parent,parent" \
    "--until $YESTERDAY" "--until 2027-13-01" "--until 30-06-2027"; do
    # shellcheck disable=SC2086  # "--option value" split on purpose
    expect_exit 2 "$Z" "${SCHOOL[@]}" consent set --case "$CI" --state granted --scope ggd --given-by parent \
        --age-band 0-11 $bad
done
expect_exit 2 "$Z" "${SCHOOL[@]}" consent set --case "$CI" --state maybe
expect_contains "$ERR" "the consent's state is requested, granted, refused or withdrawn; nothing was sent" "--state maybe"
expect_exit 2 "$Z" "${SCHOOL[@]}" consent set --case "$CI" --state granted --scope ggd --given-by parent --age-band 10-12
expect_contains "$ERR" "the age band is 0-11, 12-15 or 16+; nothing was sent" "--age-band 10-12"
expect_exit 2 "$Z" --json "${SCHOOL[@]}" consent set --case "$CI" --state granted --scope ggd --given-by uncle --age-band 0-11
expect_json_error usage
expect_contains "$OUT" "who gave consent is client, parent, guardian or representative" "--given-by uncle (--json)"
expect_exit 2 "$Z" "${SCHOOL[@]}" consent set --case "$CI" --state granted --scope ggd --given-by parent --age-band 0-11 \
    --until "$YESTERDAY"
expect_contains "$ERR" "the consent's end date lies in the past" "--until yesterday"
expect_exit 2 "$Z" "${SCHOOL[@]}" consent set --case "$CI" --state granted --given-by parent --age-band 0-11
expect_contains "$ERR" "a granted consent names the partners it covers (its scope)" "granted without --scope"
expect_exit 2 "$Z" "${SCHOOL[@]}" consent set --case "$CI" --state granted --scope ggd --given-by parent
expect_contains "$ERR" "a granted consent names the client's age band" "granted without --age-band"
expect_exit 3 "$Z" "${SCHOOL[@]}" consent set --case "$CI" --state granted --scope nobody --given-by parent --age-band 0-11
expect_contains "$ERR" "zorgnet: unknown-partner: " "a scope naming no partner"
expect_exit 2 "$Z" "${SCHOOL[@]}" consent set --case "$CI"
expect_contains "$ERR" "consent set needs --state" "no --state"
expect_exit 2 "$Z" "${SCHOOL[@]}" consent set --state granted
expect_contains "$ERR" "consent set needs --case CASE" "no --case"

say "6. the capacity rules: 0-11 a parent, 12-15 the client and a parent, 16+ the client"
CK_RECORDS=0
expect_exit 3 "$Z" "${SCHOOL[@]}" consent set --case "$CK" --state granted --scope ggd --given-by client --age-band 0-11
expect_contains "$ERR" "zorgnet: consent-capacity: consent at age 0-11 must be given by a parent, guardian or representative; it was given by client; nothing was sent" \
    "0-11, the client alone"
expect_exit 0 "$Z" "${SCHOOL[@]}" consent set --case "$CK" --state granted --scope ggd --given-by parent --age-band 0-11
CK_RECORDS=$((CK_RECORDS + 1))
expect_eq "$(head -n 1 "$OUT")" "consent record $CK_RECORDS on case $CK: granted" "0-11, a parent"
expect_exit 3 "$Z" --json "${SCHOOL[@]}" consent set --case "$CK" --state granted --scope ggd --given-by client --age-band 12-15
expect_json_error consent-capacity
expect_contains "$ERR" "zorgnet: consent-capacity: consent at age 12-15 must be given by " "12-15, the client alone"
expect_contains "$ERR" "it was given by client; nothing was sent" "12-15, the client alone"
expect_exit 3 "$Z" "${SCHOOL[@]}" consent set --case "$CK" --state granted --scope ggd --given-by parent --age-band 12-15
expect_contains "$ERR" "zorgnet: consent-capacity: " "12-15, a parent alone"
expect_exit 0 "$Z" --json "${SCHOOL[@]}" consent set --case "$CK" --state granted --scope ggd,politie \
    --given-by parent,client --age-band 12-15 --purpose "Plan van aanpak"
CK_RECORDS=$((CK_RECORDS + 1))
expect_eq "$(cat "$OUT")" "{\"case\":\"$CK\",\"seq\":$CK_RECORDS,\"state\":\"granted\",\"scope\":[\"ggd\",\"politie\"],\"given_by\":[\"client\",\"parent\"],\"age_band\":\"12-15\",\"until\":null,\"until_ms\":0,\"purpose_sealed\":true}" \
    "12-15, the client and a parent (--json)"
expect_exit 3 "$Z" "${SCHOOL[@]}" consent set --case "$CK" --state granted --scope ggd --given-by parent --age-band 16+
expect_contains "$ERR" "zorgnet: consent-capacity: consent at age 16+ must be given by " "16+, a parent alone"
expect_contains "$ERR" "it was given by parent; nothing was sent" "16+, a parent alone"
expect_exit 0 "$Z" "${SCHOOL[@]}" consent set --case "$CK" --state granted --scope ggd --given-by client --age-band 16+
CK_RECORDS=$((CK_RECORDS + 1))
expect_eq "$(head -n 1 "$OUT")" "consent record $CK_RECORDS on case $CK: granted" "16+, the client"
expect_match "$OUT" '^given by  client$' "16+, the client"
expect_exit 0 "$Z" "${SCHOOL[@]}" consent set --case "$CK" --state requested
CK_RECORDS=$((CK_RECORDS + 1))
expect_eq "$(head -n 1 "$OUT")" "consent record $CK_RECORDS on case $CK: requested" "a request needs no capacity"
expect_exit 0 "$Z" --json "${SCHOOL[@]}" consent show --case "$CK"
expect_eq "$(grep -o '"seq":' "$OUT" | wc -l | tr -d ' ')" $((CK_RECORDS + 1)) \
    "only the allowed records reached the broker (current + $CK_RECORDS in the history)"

say "7. consent show: the current record, then the history; the purpose only for the auditors"
expect_exit 0 "$Z" "${SCHOOL[@]}" consent show --case "$CI"
cp "$OUT" cshow-school.txt
expect_match cshow-school.txt "^case      $CI\$" "consent show"
expect_match cshow-school.txt "^consent   granted \\(record 1, recorded [0-9T:-]+Z, handler \"$IB_RE\"\\)\$" "consent show"
expect_match cshow-school.txt '^scope     ggd$' "consent show"
expect_match cshow-school.txt "^until     ${IN60}T23:59:59Z\$" "consent show"
expect_match cshow-school.txt '^purpose   \(sealed to the auditors\)$' "the regisseur does not read the purpose"
expect_match cshow-school.txt '^history   1 record, oldest first:$' "consent show"
expect_match cshow-school.txt "^  #1 [0-9T:-]+Z granted scope=ggd given_by=parent age_band=0-11 until=${IN60}T23:59:59Z handler=\"$IB_RE\"\$" \
    "the history row"
C_AT=$(line_no cshow-school.txt '^consent   ')
H_AT=$(line_no cshow-school.txt '^history   ')
[ "$C_AT" -gt 0 ] && [ "$H_AT" -gt "$C_AT" ] && ok "the current record comes before the history" ||
    fail "consent show: current at line $C_AT, history at line $H_AT"
expect_not_contains cshow-school.txt "$PURPOSE" "the regisseur's consent show"
# ggd is in the scope, so a member; the politie is not
expect_exit 0 "$Z" "${GGD[@]}" consent show --case "$CI"
expect_match "$OUT" '^      purpose: \(sealed to the auditors\)$' "a partner in the scope does not read the purpose"
expect_not_contains "$OUT" "$PURPOSE" "a partner's consent show"
expect_exit 0 "$Z" --json "${GGD[@]}" consent show --case "$CI"
expect_contains "$OUT" "{\"case\":\"$CI\",\"current\":{\"seq\":1,\"state\":\"granted\",\"scope\":[\"ggd\"],\"given_by\":[\"parent\"],\"age_band\":\"0-11\",\"until\":\"${IN60}T23:59:59Z\"," \
    "consent show --json"
expect_contains "$OUT" "\"handler\":\"$IB\",\"purpose\":null,\"purpose_sealed\":true},\"history\":[{\"seq\":1," \
    "consent show --json: the purpose sealed for a partner"
expect_exit 0 "$Z" "${AUDK[@]}" consent show --case "$CI"
expect_match "$OUT" "^purpose   $PURPOSE\$" "the auditor reads the purpose"
expect_match "$OUT" "^      purpose: $PURPOSE\$" "the auditor reads the purpose in the history"
expect_exit 0 "$Z" --json "${AUDK[@]}" consent show --case "$CI"
expect_contains "$OUT" "\"purpose\":\"$PURPOSE\",\"purpose_sealed\":false" "consent show --json for the auditor"
expect_exit 3 "$Z" "${POL[@]}" consent show --case "$CI"
expect_contains "$ERR" "zorgnet: not-member: " "a partner outside the scope"
expect_exit 0 "$Z" "${COORD[@]}" consent show --case "$CI"
expect_match "$OUT" '^purpose   \(sealed to the auditors\)$' "the coordinator does not read the purpose"

# ------------------------------------------------------------------ traffic under consent
say "8. an identified case: a send only to partners the consent covers; a withdrawal stops what is queued"
expect_exit 3 "$Z" "${SCHOOL[@]}" send --to politie --case "$CI" mi.txt
expect_contains "$ERR" "zorgnet: consent-required: school-essen may not share this identified case with politie: the consent's scope does not name politie" \
    "a partner outside the scope"
expect_contains "$ERR" "discuss it on an anonymous case" "the refusal names the anonymous route"
expect_exit 3 "$Z" --json "${SCHOOL[@]}" send --to politie --case "$CI" mi.txt
expect_json_error consent-required
expect_exit 0 "$Z" "${SCHOOL[@]}" send --to ggd --case "$CI" mi.txt
M1=$(cat "$OUT")
is_id "$M1" && ok "a send the consent covers: $M1" || fail "send printed '$M1'"
expect_match "$ERR" "^zorgnet: audit entry [0-9]+ records this message; 'zorgnet receipt verify $M1' proves it\$" "the send"
expect_exit 0 "$Z" "${GGD[@]}" inbox
expect_contains "$OUT" "message   $M1" "ggd receives the covered message"
expect_contains "$OUT" "Afspraak met ouders besproken." "ggd receives the covered message"
printf 'Tweede bericht: huisbezoek volgende week.\n' >mi2.txt
expect_exit 0 "$Z" "${SCHOOL[@]}" send --to ggd --case "$CI" mi2.txt
out_id M2 send
# ggd is offline (it does not fetch): the client withdraws consent
expect_exit 0 "$Z" "${SCHOOL[@]}" consent set --case "$CI" --state withdrawn
expect_eq "$(head -n 1 "$OUT")" "consent record 2 on case $CI: withdrawn" "the withdrawal"
expect_exit 0 "$Z" "${GGD[@]}" inbox
expect_not_contains "$OUT" "$M2" "the queued message was stopped"
expect_not_contains "$OUT" "huisbezoek" "the queued message was stopped"
expect_exit 0 "$Z" --json "${SCHOOL[@]}" inbox
cp "$OUT" drop1.json
expect_eq "$(count_in drop1.json '"type":"envelope-dropped"')" 1 "the sender gets one envelope-dropped notice"
expect_contains drop1.json "\"fields\":{\"msgid\":\"$M2\",\"case\":\"$CI\",\"recipient\":\"ggd\",\"reason\":\"consent-required\"}" \
    "the envelope-dropped notice"
expect_exit 3 "$Z" "${SCHOOL[@]}" send --to ggd --case "$CI" mi.txt
expect_contains "$ERR" "zorgnet: consent-required: school-essen may not share this identified case with ggd: consent was withdrawn" \
    "a send after the withdrawal"
expect_exit 0 "$Z" "${SCHOOL[@]}" case show "$CI"
expect_match "$OUT" '^consent   withdrawn \(record 2, [0-9T:-]+Z\)$' "case show after the withdrawal"

# ------------------------------------------------------------------ safety overrides
say "9. a safety override: justified, told to the coordinator, listed, reviewed"
printf 'Zorgen over de veiligheid van het kind.\n' >mo.txt
expect_exit 3 "$Z" "${SCHOOL[@]}" send --to mplein --case "$CI" mo.txt
expect_contains "$ERR" "zorgnet: consent-required: " "mplein before the override"
expect_exit 2 "$Z" "${SCHOOL[@]}" override --case "$CI" --to mplein --step 2 --justification "Te kort."
expect_contains "$ERR" "zorgnet: usage: the justification has 8 characters; at least 40 are needed" "a short justification"
expect_contains "$ERR" "nothing was sent" "a short justification"
expect_exit 2 "$Z" "${SCHOOL[@]}" override --case "$CI" --to mplein --step 9 --justification "$JUST1"
expect_contains "$ERR" "override needs --step 1-5" "--step 9"
expect_exit 2 "$Z" "${SCHOOL[@]}" override --case "$CI" --to mplein --step 2
expect_contains "$ERR" "override needs --justification TEXT" "no --justification"
expect_exit 3 "$Z" "${SCHOOL[@]}" override --case "$CA" --to mplein --step 2 --justification "$JUST1"
expect_contains "$ERR" "zorgnet: case-anonymous: " "an override on an anonymous case"
expect_exit 3 "$Z" "${POL[@]}" override --case "$CI" --to mplein --step 2 --justification "$JUST1"
expect_contains "$ERR" "zorgnet: not-member: " "an override by a non-member"
expect_exit 0 "$Z" "${SCHOOL[@]}" override --case "$CI" --to mplein --step 2 --justification "$JUST1"
cp "$OUT" override1.txt
O1=$(sed -n 's/^override  \([0-9a-f]\{32\}\)$/\1/p' override1.txt)
is_id "$O1" && ok "the override: $O1" || die "override printed no id: $(head -c 300 override1.txt)"
expect_match override1.txt "^case      $CI\$" "the override"
expect_contains override1.txt "to        $DESC_MPL" "the override"
expect_match override1.txt '^step      2: collegiale consultatie' "the override names the meldcode step"
expect_match override1.txt '^expires   [0-9T:-]+Z$' "the override"
expect_match override1.txt '^review by [0-9T:-]+Z$' "the override"
expect_contains override1.txt "the coordinators of the case's network are told now" "the override"
expect_not_contains override1.txt "$JUST1" "the justification is not printed back"
expect_exit 0 "$Z" "${SCHOOL[@]}" case show "$CI"
expect_match "$OUT" '^  mplein +override +since ' "the override's recipient is a member through the override"
expect_exit 0 "$Z" "${SCHOOL[@]}" send --to mplein --case "$CI" mo.txt
M3=$(cat "$OUT")
is_id "$M3" && ok "a send under the override: $M3" || fail "send printed '$M3'"
expect_exit 0 "$Z" "${MPL[@]}" inbox
expect_contains "$OUT" "message   $M3" "mplein receives the message under the override"
expect_exit 0 "$Z" "${COORD[@]}" inbox
cp "$OUT" coord-notice.txt
expect_match coord-notice.txt '^notice    override$' "the coordinator's override notice"
expect_contains coord-notice.txt "about     a safety override by school-essen for mplein on case $CI (meldcode step 2: " \
    "the coordinator's override notice"
expect_contains coord-notice.txt "'zorgnet override review $O1 --approve|--reject'" "the notice says how to review"
expect_match coord-notice.txt "^override  $O1\$" "the coordinator's override notice"
expect_match coord-notice.txt "^handler   $IB_RE\$" "the coordinator's override notice"
expect_not_contains coord-notice.txt "$JUST1" "the notice carries no justification"
expect_exit 0 "$Z" "${COORD[@]}" override list
cp "$OUT" olist-coord.txt
expect_match olist-coord.txt "^override  $O1  pending\$" "the coordinator's override list"
expect_contains olist-coord.txt "  from          $DESC_SCHOOL, handler \"$IB\"" "the coordinator's override list"
expect_contains olist-coord.txt "  to            $DESC_MPL" "the coordinator's override list"
expect_contains olist-coord.txt "  justification $JUST1" "the coordinator reads the justification"
expect_match olist-coord.txt '^1 safety override waiting for review$' "the coordinator's override list"
expect_exit 0 "$Z" "${SCHOOL[@]}" override list
expect_match "$OUT" "^override  $O1  pending\$" "the author's override list"
expect_contains "$OUT" "  justification (sealed to the coordinators and the auditors)" "the author does not read it back"
expect_not_contains "$OUT" "$JUST1" "the author's override list"
expect_exit 0 "$Z" --json "${SCHOOL[@]}" override list
expect_contains "$OUT" "{\"override\":\"$O1\",\"case\":\"$CI\",\"network\":\"$NET\",\"from\":\"school-essen\",\"handler\":\"$IB\",\"to\":\"mplein\",\"step\":2," \
    "override list --json"
expect_contains "$OUT" '"state":"pending","reviewed_by":null,' "override list --json"
expect_contains "$OUT" '"justification":null,"note":null,"note_sealed":false,"justification_sealed":true}' \
    "override list --json: sealed for the author"
expect_exit 0 "$Z" --json "${COORD[@]}" override list
expect_contains "$OUT" "\"justification\":\"$JUST1\"" "override list --json: opened for the coordinator"
expect_contains "$OUT" '"justification_sealed":false}' "override list --json for the coordinator"
expect_exit 0 "$Z" "${MPL[@]}" override list
expect_match "$OUT" '^no safety overrides waiting for review$' "the recipient recorded no override"
expect_exit 0 "$Z" "${SCHOOL[@]}" case show "$CI"
expect_match "$OUT" '^overrides 1 standing$' "case show lists the standing override"
expect_match "$OUT" "^  $O1  school-essen -> mplein, step 2 \\(.*\\), pending, expires [0-9T:-]+Z, review by [0-9T:-]+Z\$" \
    "case show lists the standing override"

expect_exit 3 "$Z" "${SCHOOL[@]}" override review "$O1" --approve
expect_contains "$ERR" "zorgnet: not-coordinator: " "a partner reviews"
expect_exit 3 "$Z" --json "${MPL[@]}" override review "$O1" --reject
expect_json_error not-coordinator
expect_exit 2 "$Z" "${COORD[@]}" override review "$O1"
expect_contains "$ERR" "override review needs either --approve or --reject" "a review without a decision"
expect_exit 2 "$Z" "${COORD[@]}" override review "$O1" --approve --reject
expect_contains "$ERR" "override review needs either --approve or --reject" "a review with both"
expect_exit 2 "$Z" "${COORD[@]}" override review 12345 --approve
expect_contains "$ERR" "override review takes an override id of 32 hex characters" "a malformed override id"
expect_exit 3 "$Z" "${COORD[@]}" override review 0123456789abcdef0123456789abcdef --approve
expect_contains "$ERR" "zorgnet: unknown-override: " "an unknown override"
expect_exit 0 "$Z" "${COORD[@]}" override review "$O1" --approve --note "$NOTE1"
expect_eq "$(cat "$OUT")" "override $O1 approved; it stands until it expires, and its author is told" "the approval"
expect_exit 3 "$Z" "${COORD[@]}" override review "$O1" --reject
expect_contains "$ERR" "zorgnet: already-decided: the safety override was approved already" "a second review"
expect_exit 3 "$Z" --json "${COORD[@]}" override review "$O1" --approve
expect_json_error already-decided
expect_exit 0 "$Z" "${SCHOOL[@]}" inbox
expect_match "$OUT" '^notice    override-reviewed$' "the author is told of the review"
expect_contains "$OUT" "about     your safety override for mplein on case $CI was approved by coordinator" "the author's notice"
expect_exit 0 "$Z" "${COORD[@]}" override list
expect_match "$OUT" '^no safety overrides waiting for review$' "nothing waits after the review"
expect_exit 0 "$Z" "${COORD[@]}" override list --all
expect_match "$OUT" "^override  $O1  approved\$" "override list --all"
expect_match "$OUT" '^  reviewed      by Procesmanager zorgnetwerken, gemeente Oldenzaal \(coordinator, municipality\) on [0-9T:-]+Z$' \
    "override list --all names the reviewer"
expect_contains "$OUT" "  note          $NOTE1" "the coordinator reads the note"
expect_exit 0 "$Z" "${SCHOOL[@]}" override list --all
expect_contains "$OUT" "  note          $NOTE1" "the author reads the note"
expect_exit 0 "$Z" "${SCHOOL[@]}" send --to mplein --case "$CI" mo.txt
is_id "$(cat "$OUT")" && ok "sends under the approved override go on" || fail "send printed '$(cat "$OUT")'"

say "10. a rejected override stops what was queued under it, and later sends"
expect_exit 0 "$Z" --json "${SCHOOL[@]}" override --case "$CI" --to politie --step 3 --justification "$JUST2"
O2=$(json_str "$(cat "$OUT")" override)
is_id "$O2" && ok "the second override: $O2" || die "override --json printed no id: $(head -c 300 "$OUT")"
expect_contains "$OUT" "{\"override\":\"$O2\",\"case\":\"$CI\",\"to\":\"politie\",\"step\":3,\"step_name\":\"" "override --json"
expect_match "$OUT" '"expires":"[0-9T:-]+Z","expires_ms":[0-9]+,"review_by":"[0-9T:-]+Z","review_by_ms":[0-9]+\}$' "override --json"
printf 'Onder de override verstuurd.\n' >mp.txt
expect_exit 0 "$Z" "${SCHOOL[@]}" send --to politie --case "$CI" mp.txt
out_id M4 send
expect_exit 0 "$Z" --json "${COORD[@]}" override review "$O2" --reject --note "$NOTE2"
expect_eq "$(cat "$OUT")" "{\"override\":\"$O2\",\"state\":\"rejected\"}" "the rejection (--json)"
expect_exit 0 "$Z" "${POL[@]}" inbox
expect_not_contains "$OUT" "$M4" "the envelope queued under the rejected override is not delivered"
expect_exit 0 "$Z" "${SCHOOL[@]}" inbox
cp "$OUT" reject-school.txt
expect_contains reject-school.txt "about     your safety override for politie on case $CI was rejected by coordinator" \
    "the author is told of the rejection"
expect_match reject-school.txt '^notice    envelope-dropped$' "the author is told of the stopped envelope"
expect_match reject-school.txt "^msgid     $M4\$" "the envelope-dropped notice"
expect_match reject-school.txt '^recipient politie$' "the envelope-dropped notice"
expect_match reject-school.txt '^reason    consent-required$' "the envelope-dropped notice"
expect_exit 3 "$Z" "${SCHOOL[@]}" send --to politie --case "$CI" mp.txt
expect_contains "$ERR" "zorgnet: consent-required: school-essen may not share this identified case with politie: consent was withdrawn and the safety override was rejected" \
    "a send after the rejection"
expect_exit 3 "$Z" --json "${SCHOOL[@]}" send --to politie --case "$CI" mp.txt
expect_json_error consent-required
# a handover is shared like a send: its dossier goes only where a send may go
printf 'Dossier van het gezin.\n' >dossier0.txt
expect_exit 3 "$Z" "${SCHOOL[@]}" handover offer --case "$CI" --to politie dossier0.txt
expect_contains "$ERR" "zorgnet: consent-required: school-essen may not share this identified case with politie" \
    "a handover of the identified case outside consent"
expect_contains "$ERR" "zorgnet: no handover was offered; you stay the case's regisseur" \
    "a handover of the identified case outside consent"
expect_contains "$ERR" "discuss it on an anonymous case: zorgnet case new --network $NET without --bsn" \
    "the handover refusal still names the whole anonymous route"
expect_exit 3 "$Z" "${SCHOOL[@]}" handover offer --case "$CI" --to coordinator dossier0.txt
expect_contains "$ERR" "zorgnet: not-in-network: " "a handover to the coordinator"
expect_exit 2 "$Z" "${SCHOOL[@]}" handover offer --case "$CI" --to school-essen dossier0.txt
expect_contains "$ERR" "not to 'school-essen' itself; nothing was sent" "a handover to oneself"

# ------------------------------------------------------------------ anonymous mode
say "11. anonymous mode: identifiers are refused on this computer unless --i-checked"
GGD_SENT=1 # M0 on the anonymous case
printf 'Vader noemde BSN %s in het gesprek.\n' "$TEXTBSN" >t-bsn.txt
printf 'Moeder is bereikbaar op 06-12345678 na drie uur.\n' >t-phone.txt
printf 'Mail de moeder via moeder.jansen@example.nl graag.\n' >t-mail.txt
printf 'Het gezin woont op 7571 AB 12 sinds de zomer.\n' >t-postcode.txt
printf 'Het kind is geboren op %s in Hengelo.\n' "$LONG_AGO" >t-date.txt
for f in bsn:"BSN: $TEXTBSN" phone:"phone number: 06-12345678" mail:"e-mail address: moeder.jansen@example.nl" \
    postcode:"postcode and house number: 7571 AB 12" date:"date more than a year ago: $LONG_AGO"; do
    kind=${f%%:*}
    finding=${f#*:}
    expect_exit 2 "$Z" "${SCHOOL[@]}" send --to ggd --case "$CA" "t-$kind.txt"
    expect_contains "$ERR" "zorgnet: found on this anonymous case (nothing was sent):" "the $kind"
    expect_contains "$ERR" "  $finding" "the $kind is named"
    expect_contains "$ERR" "zorgnet: identifiers-found: the case is anonymous and the text holds 1 thing that may identify someone (${finding%%: *}); remove it, or check the text and send again with --i-checked; nothing was sent" \
        "the $kind"
    expect_empty "$OUT" "the $kind: no message id"
done
printf 'Moeder belt 06-12345678 en noemt BSN %s.\n' "$TEXTBSN" >t-two.txt
expect_exit 2 "$Z" --json "${SCHOOL[@]}" send --to ggd --case "$CA" t-two.txt
expect_eq "$(cat "$OUT")" "{\"error\":\"identifiers-found\",\"code\":\"identifiers-found\",\"text\":\"the case is anonymous and the text holds 2 things that may identify someone (phone number, BSN); remove them, or check the text and send again with --i-checked; nothing was sent\",\"findings\":[{\"kind\":\"phone number\",\"text\":\"06-12345678\"},{\"kind\":\"BSN\",\"text\":\"$TEXTBSN\"}]}" \
    "two findings (--json)"
IN=t-phone.txt expect_exit 2 "$Z" "${SCHOOL[@]}" send --to ggd --case "$CA" -
expect_contains "$ERR" "  phone number: 06-12345678" "standard input is checked too"
printf 'Kosten EUR 1250 per jaar, sinds 2019 in groep 7; overleg op %s om 14:30.\n' "$NEXT_WEEK" >t-plain.txt
expect_exit 0 "$Z" "${SCHOOL[@]}" send --to ggd --case "$CA" t-plain.txt
M_PLAIN=$(cat "$OUT")
is_id "$M_PLAIN" && ok "ordinary text passes without --i-checked: $M_PLAIN" || fail "send printed '$M_PLAIN'"
GGD_SENT=$((GGD_SENT + 1))
expect_exit 0 "$Z" --json "${SCHOOL[@]}" send --i-checked --to ggd --case "$CA" t-two.txt
M_CHECKED=$(json_str "$(cat "$OUT")" msgid)
is_id "$M_CHECKED" && ok "--i-checked sends it anyway: $M_CHECKED" || fail "send --json printed '$(cat "$OUT")'"
expect_match "$OUT" "^\\{\"msgid\":\"$M_CHECKED\",\"to\":\"ggd\",\"case\":\"$CA\",\"audit_index\":[0-9]+\\}\$" "send --json"
GGD_SENT=$((GGD_SENT + 1))
# on an identified case the same text is no matter of anonymous mode (consent decides)
expect_exit 3 "$Z" "${SCHOOL[@]}" send --to ggd --case "$CI" t-phone.txt
expect_contains "$ERR" "zorgnet: consent-required: " "identifiers on an identified case: consent decides"
expect_exit 0 "$Z" "${GGD[@]}" inbox
cp "$OUT" ggd-anon.txt
expect_contains ggd-anon.txt "message   $M_PLAIN" "ggd receives the ordinary text"
expect_contains ggd-anon.txt "groep 7; overleg op $NEXT_WEEK om 14:30." "ggd receives the ordinary text"
expect_contains ggd-anon.txt "message   $M_CHECKED" "ggd receives the checked text"
for t in moeder.jansen@example.nl "7571 AB 12" "$LONG_AGO"; do
    expect_not_contains ggd-anon.txt "$t" "a refused text never arrived"
done
expect_exit 0 "$Z" --json "${QA[@]}" audit query --case "$CA" --action send
cp "$OUT" anon-audit.json
expect_eq "$(wc -l <anon-audit.json | tr -d ' ')" "$GGD_SENT" "the audit log holds only the sends that went out"
expect_eq "$(count_in anon-audit.json '"decision":"refused"')" 0 "no refused send: the refusals never left this computer"
expect_eq "$(count_in anon-audit.json '"basis":"anonymous"')" "$GGD_SENT" "every send on the anonymous case has basis anonymous"
expect_eq "$(count_in anon-audit.json '"i_checked":1')" 1 "one send carries i_checked"
expect_match anon-audit.json '"counterpart":"ggd","decision":"allowed","reason":null,"basis":"anonymous","evidence":"envelope-header","details":\{"i_checked":1,"item":"[0-9a-f]{32}"\}\}$' \
    "audit query --json shows i_checked on the checked send"
expect_exit 0 "$Z" "${QA[@]}" audit query --case "$CA" --action send --basis anonymous
expect_match "$OUT" "^#[0-9]+ [0-9T:-]+Z actor=school-essen handler=\"$IB_RE\" action=send case=$CA counterpart=ggd decision=allowed reason=- basis=anonymous\$" \
    "audit query shows the anonymous sends"
expect_match "$OUT" "^$GGD_SENT matching entries\$" "audit query --basis anonymous"

# ------------------------------------------------------------------ handovers
say "12. a warm handover with a dossier file: offered, listed, accepted"
printf 'Dossier leerling groep 6\nverzuim sinds september; twee gesprekken met ouders gevoerd.\n' >dossier.txt
expect_exit 3 "$Z" "${GGD[@]}" handover offer --case "$CA" --to politie dossier.txt
expect_contains "$ERR" "zorgnet: not-regisseur: " "a member that is not the regisseur offers the case"
expect_exit 2 "$Z" "${SCHOOL[@]}" handover offer --case "$CA" dossier.txt
expect_contains "$ERR" "handover offer needs --to ID" "no --to"
expect_exit 2 "$Z" "${SCHOOL[@]}" handover offer --case "$CA" --to ggd /dev/null
expect_contains "$ERR" "the dossier is empty; nothing was sent" "an empty dossier"
expect_exit 0 "$Z" "${SCHOOL[@]}" handover offer --case "$CA" --to ggd dossier.txt
cp "$OUT" offer1.txt
H1=$(sed -n 's/^handover  \([0-9a-f]\{32\}\)$/\1/p' offer1.txt)
is_id "$H1" && ok "the handover: $H1" || die "handover offer printed no id: $(head -c 300 offer1.txt)"
expect_match offer1.txt "^case      $CA\$" "handover offer"
expect_contains offer1.txt "to        $DESC_GGD" "handover offer"
expect_match offer1.txt '^answer by [0-9T:-]+Z \(then the network.s coordinators are told\)$' "handover offer"
expect_contains offer1.txt "you stay the case's regisseur" "handover offer"
expect_exit 3 "$Z" "${SCHOOL[@]}" handover offer --case "$CA" --to politie dossier.txt
expect_contains "$ERR" "zorgnet: handover-open: " "a second offer while one is open"
expect_exit 3 "$Z" "${SCHOOL[@]}" case close "$CA"
expect_contains "$ERR" "zorgnet: handover-open: " "closing a case with an open handover"
expect_exit 0 "$Z" "${GGD[@]}" inbox
cp "$OUT" ggd-offer.txt
DOSSIER1=$(sed -n 's/^message   \([0-9a-f]\{32\}\)$/\1/p' ggd-offer.txt | tail -n 1)
is_id "$DOSSIER1" && ok "the recipient's inbox holds the dossier $DOSSIER1" || fail "no dossier in ggd's inbox"
expect_contains ggd-offer.txt "verzuim sinds september; twee gesprekken met ouders gevoerd." "the dossier's text"
expect_match ggd-offer.txt '^notice    handover-offer$' "the handover-offer notice"
expect_contains ggd-offer.txt "about     school-essen offers you case $CA (the dossier is message $DOSSIER1 in your inbox);" \
    "the notice names the dossier"
expect_contains ggd-offer.txt "'zorgnet handover accept $H1' or 'zorgnet handover decline $H1 --reason TEXT'" \
    "the notice says how to answer"
expect_match ggd-offer.txt "^handover  $H1\$" "the handover-offer notice"
D_AT=$(line_no ggd-offer.txt "^message   $DOSSIER1\$")
N_AT=$(line_no ggd-offer.txt '^notice    handover-offer$')
[ "$D_AT" -gt 0 ] && [ "$N_AT" -gt "$D_AT" ] && ok "the dossier arrives before the offer" ||
    fail "the dossier (line $D_AT) does not come before the offer notice (line $N_AT)"
for who in GGD SCHOOL; do
    arr="${who}[@]"
    expect_exit 0 "$Z" "${!arr}" handover list
    expect_match "$OUT" "^handover  $H1  open\$" "$who's handover list"
    expect_contains "$OUT" "  from          $DESC_SCHOOL, handler \"$IB\"" "$who's handover list"
    expect_contains "$OUT" "  to            $DESC_GGD" "$who's handover list"
    expect_match "$OUT" "^  dossier       message $DOSSIER1\$" "$who's handover list"
    expect_match "$OUT" '^1 handover$' "$who's handover list"
done
expect_exit 0 "$Z" --json "${GGD[@]}" handover list
expect_contains "$OUT" "{\"handover\":\"$H1\",\"case\":\"$CA\",\"from\":\"school-essen\",\"handler\":\"$IB\",\"to\":\"ggd\",\"msgid\":\"$DOSSIER1\",\"offered\":\"" \
    "handover list --json"
expect_contains "$OUT" '"state":"open","decided":null,"decided_ms":0,"escalated":false,"reason":null,"reason_sealed":false}' \
    "handover list --json"
expect_exit 0 "$Z" "${POL[@]}" handover list
expect_match "$OUT" '^no handovers$' "a partner with no handovers"
expect_exit 3 "$Z" "${POL[@]}" handover accept "$H1"
expect_contains "$ERR" "zorgnet: unknown-handover: " "another partner accepts"
expect_exit 2 "$Z" "${GGD[@]}" handover accept 12345
expect_contains "$ERR" "the handover id is 32 hex characters" "a malformed handover id"
expect_exit 0 "$Z" "${GGD[@]}" handover accept "$H1"
expect_eq "$(cat "$OUT")" "handover $H1 accepted: you are the case's regisseur now; the offering partner is told" "the acceptance"
expect_exit 3 "$Z" "${GGD[@]}" handover accept "$H1"
expect_contains "$ERR" "zorgnet: already-decided: the handover was accepted already" "accepting again"
expect_exit 0 "$Z" "${SCHOOL[@]}" case show "$CA"
expect_contains "$OUT" "regisseur $DESC_GGD" "case show names the new regisseur"
expect_match "$OUT" '^handovers none open$' "case show after the acceptance"
expect_exit 0 "$Z" --json "${GGD[@]}" case show "$CA"
expect_contains "$OUT" '"regisseur":"ggd"' "case show --json names the new regisseur"
expect_contains "$OUT" '{"partner":"ggd","how":"regisseur"' "the new regisseur is listed as holding the case"
expect_contains "$OUT" '{"partner":"school-essen","how":"handed-over"' "the old regisseur is listed as having handed it over"
expect_exit 0 "$Z" "${SCHOOL[@]}" inbox
expect_match "$OUT" '^notice    handover-accepted$' "the old regisseur is told"
expect_contains "$OUT" "about     ggd accepted the handover of case $CA and is its regisseur now" "the old regisseur is told"
expect_match "$OUT" "^handler   $JA_RE\$" "the handover-accepted notice names the handler"
expect_exit 3 "$Z" "${SCHOOL[@]}" consent set --case "$CA" --state requested
expect_contains "$ERR" "zorgnet: not-regisseur: school-essen does not hold this case in network $NET; only its regisseur ggd records consent" \
    "the old regisseur no longer records consent"
expect_exit 0 "$Z" "${GGD[@]}" consent set --case "$CA" --state requested
expect_eq "$(head -n 1 "$OUT")" "consent record 1 on case $CA: requested" "the new regisseur records consent"

say "13. a warm handover with the dossier on standard input, declined with a reason"
school_case CD
printf 'Dossier via standaardinvoer: zorgen over de thuissituatie.\n' >dossier2.txt
IN=dossier2.txt expect_exit 0 "$Z" --json "${SCHOOL[@]}" handover offer --case "$CD" --to politie -
H2=$(json_str "$(cat "$OUT")" handover)
is_id "$H2" && ok "the handover from standard input: $H2" || die "handover offer --json printed '$(cat "$OUT")'"
expect_match "$OUT" "^\\{\"handover\":\"$H2\",\"case\":\"$CD\",\"to\":\"politie\",\"timeout\":\"[0-9T:-]+Z\",\"timeout_ms\":[0-9]+\\}\$" \
    "handover offer --json"
expect_exit 0 "$Z" "${POL[@]}" inbox
expect_contains "$OUT" "Dossier via standaardinvoer: zorgen over de thuissituatie." "the dossier from standard input arrived"
expect_contains "$OUT" "about     school-essen offers you case $CD" "the handover-offer notice"
expect_exit 2 "$Z" "${POL[@]}" handover decline "$H2"
expect_contains "$ERR" "handover decline needs --reason TEXT" "a decline without a reason"
expect_exit 0 "$Z" "${POL[@]}" handover decline "$H2" --reason "$REASON"
expect_eq "$(cat "$OUT")" "handover $H2 declined; the offering partner is told and stays the case's regisseur" "the decline"
expect_exit 3 "$Z" --json "${POL[@]}" handover decline "$H2" --reason "$REASON"
expect_json_error already-decided
expect_exit 0 "$Z" "${SCHOOL[@]}" inbox
expect_match "$OUT" '^notice    handover-declined$' "the offering partner is told"
expect_contains "$OUT" "about     politie declined the handover of case $CD; you stay its regisseur" "the offering partner is told"
expect_not_contains "$OUT" "$REASON" "the notice carries no reason"
expect_exit 0 "$Z" "${SCHOOL[@]}" handover list
cp "$OUT" hlist-school.txt
expect_match hlist-school.txt "^handover  $H2  declined\$" "the offering partner's list"
expect_match hlist-school.txt '^  decided       [0-9T:-]+Z$' "the offering partner's list"
expect_contains hlist-school.txt "  reason        $REASON" "the offering partner reads the reason"
expect_match hlist-school.txt "^handover  $H1  accepted\$" "the offering partner's list"
expect_match hlist-school.txt '^2 handovers$' "the offering partner's list"
expect_exit 0 "$Z" --json "${SCHOOL[@]}" handover list
expect_contains "$OUT" "\"state\":\"declined\",\"decided\":\"" "handover list --json"
expect_contains "$OUT" "\"reason\":\"$REASON\",\"reason_sealed\":false}" "handover list --json: the reason for the offering partner"
expect_exit 0 "$Z" "${POL[@]}" handover list
expect_contains "$OUT" "  reason        (sealed to the offering partner and the auditors)" "the recipient does not read it back"
expect_exit 0 "$Z" --json "${POL[@]}" handover list
expect_contains "$OUT" '"reason":null,"reason_sealed":true}' "handover list --json for the recipient"
expect_exit 0 "$Z" "${SCHOOL[@]}" case show "$CD"
expect_contains "$OUT" "regisseur $DESC_SCHOOL" "the offering partner stays the regisseur"
# the dossier is sent on the case: on an anonymous case it is checked like any send
school_case CN
expect_exit 2 "$Z" "${SCHOOL[@]}" handover offer --case "$CN" --to ggd t-two.txt
expect_contains "$ERR" "zorgnet: identifiers-found: " "a dossier with a phone number and a BSN on an anonymous case"
expect_contains "$ERR" "  phone number: 06-12345678" "the dossier's findings are named"
# the reason is sealed to the auditors too: audit report opens it with the auditor's key
expect_exit 0 "$Z" "${AUDK[@]}" audit report
cp "$OUT" decline-report.txt
expect_match decline-report.txt '^handover declines \(1\):$' "audit report lists the decline"
expect_match decline-report.txt "^  #[0-9]+ [0-9T:-]+Z handover $H2 case $CD offered by school-essen, declined by politie handler=\"$(re "$WA")\"\$" \
    "audit report: the decline"
expect_contains decline-report.txt "    reason: \"$REASON\"" "the auditor reads the decline reason in audit report"
expect_not_contains decline-report.txt "INCONSISTENT" "the decline's signed request matches its entry"
expect_exit 0 "$Z" --json "${AUDK[@]}" audit report
expect_match "$OUT" "\"handover_declines\":\\[\\{\"index\":[0-9]+,\"time\":\"[0-9T:-]+Z\",\"handover\":\"$H2\"," \
    "audit report --json lists the decline"
expect_contains "$OUT" "\"handover\":\"$H2\",\"case\":\"$CD\",\"by\":\"politie\",\"handler\":\"$WA\",\"offered_by\":\"school-essen\",\"reason\":\"$REASON\",\"reason_status\":\"opened\",\"mismatch\":null}],\"handover_declines_more\":0" \
    "audit report --json: the auditor reads the decline reason"

# ------------------------------------------------------------------ case link
say "14. case link: the anonymous case gets its person once consent is granted; the scope is told"
school_case CL
expect_exit 3 "$Z" "${SCHOOL[@]}" case link --case "$CL" --bsn "$LINKED"
expect_contains "$ERR" "zorgnet: consent-required: consent must be granted first" "a link without consent"
expect_exit 0 "$Z" "${SCHOOL[@]}" consent set --case "$CL" --state granted --scope ggd,politie --given-by client,parent \
    --age-band 12-15 --purpose "Gezamenlijk plan van aanpak"
expect_eq "$(head -n 1 "$OUT")" "consent record 1 on case $CL: granted" "the consent for the link"
expect_exit 3 "$Z" "${GGD[@]}" case link --case "$CL" --bsn "$LINKED"
expect_contains "$ERR" "zorgnet: not-regisseur: ggd does not hold this case in network $NET; only its regisseur school-essen may link a person to it" \
    "a partner in the scope links"
expect_exit 2 "$Z" "${SCHOOL[@]}" case link --case "$CL" --bsn "$BAD"
expect_contains "$ERR" "$BAD fails the 11-proef; nothing was sent" "an invalid BSN for the link"
expect_exit 2 "$Z" "${SCHOOL[@]}" case link --case "$CL"
expect_contains "$ERR" "case link needs --bsn BSN" "a link without --bsn"
expect_exit 0 "$Z" "${SCHOOL[@]}" case link --case "$CL" --bsn "$LINKED" --related "$SIBLING"
cp "$OUT" link.txt
expect_eq "$(head -n 1 link.txt)" "case $CL is linked to the person now (identified)" "case link"
expect_match link.txt "^told      2 partners in the consent's scope:\$" "case link says who was told"
expect_contains link.txt "  $DESC_GGD" "case link names ggd"
expect_contains link.txt "  $DESC_POL" "case link names the politie"
expect_not_contains link.txt "mplein" "partners outside the scope are not told"
expect_not_contains link.txt "$LINKED" "case link"
expect_exit 3 "$Z" --json "${SCHOOL[@]}" case link --case "$CL" --bsn "$LINKED"
expect_json_error case-identified
expect_exit 3 "$Z" "${SCHOOL[@]}" case link --case "$CI" --bsn "$LINKED"
expect_contains "$ERR" "zorgnet: case-identified: " "linking an identified case"
expect_exit 0 "$Z" "${POL[@]}" inbox
cp "$OUT" pol-link.txt
expect_match pol-link.txt '^notice    case-linked$' "the politie is told"
expect_contains pol-link.txt "about     school-essen linked case $CL to a person; you are in the consent's scope" \
    "the politie is told"
expect_match pol-link.txt '^person    [0-9a-f]{66}$' "the notice carries the pseudonym"
expect_not_contains pol-link.txt "$LINKED" "the notice carries no BSN"
expect_exit 0 "$Z" --json "${GGD[@]}" inbox --type case-linked
expect_match "$OUT" "\"type\":\"case-linked\",\"time\":\"[0-9T:-]+Z\",\"time_ms\":[0-9]+,\"fields\":\\{\"case\":\"$CL\",\"by\":\"school-essen\",\"person\":\"[0-9a-f]{66}\"\\}\\}\$" \
    "ggd is told (--json)"
expect_exit 0 "$Z" "${MPL[@]}" inbox --type case-linked
expect_empty "$OUT" "mplein, outside the scope, is not told"
expect_exit 0 "$Z" "${SCHOOL[@]}" case show "$CL"
expect_match "$OUT" '^mode      identified: a person is linked to the case$' "case show after the link"
expect_exit 0 "$Z" "${SCHOOL[@]}" send --to politie --case "$CL" mi.txt
is_id "$(cat "$OUT")" && ok "the linked case is shared under the consent" || fail "send printed '$(cat "$OUT")'"
expect_exit 3 "$Z" "${SCHOOL[@]}" send --to mplein --case "$CL" mi.txt
expect_contains "$ERR" "zorgnet: consent-required: " "the linked case is not shared outside the scope"

# ------------------------------------------------------------------ the auditor
say "15. the auditor: the consent report of a case and the overrides in audit report"
expect_exit 0 "$Z" "${AUDK[@]}" audit consent --case "$CI"
cp "$OUT" crep.txt
expect_match crep.txt "^consent report for case $CI: [0-9]+ entries read \\(log of [0-9]+ entries\\), 0 of them redacted\$" "audit consent"
expect_match crep.txt "^  case         network $NET, created [0-9T:-]+Z by school-essen, regisseur school-essen, identified, open\$" \
    "audit consent"
expect_match crep.txt '^  consent now  record 2: withdrawn$' "audit consent"
expect_match crep.txt '^consent history \(2\):$' "audit consent"
expect_match crep.txt "^  #[0-9]+ [0-9T:-]+Z seq=1 granted scope=ggd given_by=parent age_band=0-11 until=${IN60}T23:59:59Z by school-essen handler=\"$IB_RE\"\$" \
    "the consent history"
expect_match crep.txt "^    purpose: \"$PURPOSE\"\$" "the auditor reads the purpose"
expect_match crep.txt '^  #[0-9]+ [0-9T:-]+Z seq=2 withdrawn ' "the consent history"
expect_match crep.txt '^exchanges that relied on consent \(2\):$' "audit consent"
expect_match crep.txt "^  #[0-9]+ [0-9T:-]+Z send school-essen -> ggd handler=\"$IB_RE\" basis=consent consent=1 \\(granted\\) item=[0-9a-f]{32}\$" \
    "the delivered send that relied on consent 1"
expect_match crep.txt "^  #[0-9]+ [0-9T:-]+Z send school-essen -> ggd handler=\"$IB_RE\" basis=consent consent=1 \\(granted\\) item=[0-9a-f]{32} dropped\$" \
    "the send the withdrawal stopped"
expect_match crep.txt '^exchanges under a safety override \(3\):$' "audit consent"
expect_match crep.txt "^  #[0-9]+ .* send school-essen -> mplein .*basis=safety-override override=$O1 " "audit consent: under the override"
expect_match crep.txt "^  #[0-9]+ .* send school-essen -> politie .*basis=safety-override override=$O2 .* dropped\$" \
    "audit consent: the send the rejection stopped"
expect_match crep.txt '^  #[0-9]+ [0-9T:-]+Z send school-essen -> politie handler=".*" refused=consent-required$' \
    "audit consent lists the refusals"
expect_match crep.txt '^  #[0-9]+ [0-9T:-]+Z consent-set ggd handler=".*" refused=not-regisseur$' "audit consent lists the refusals"
expect_match crep.txt '^INCONSISTENT with the consent history \(0\): none$' "audit consent"
expect_match crep.txt '^drops \(2\):$' "audit consent"
expect_match crep.txt "^  #[0-9]+ [0-9T:-]+Z drop -> ggd reason=consent-required item=[0-9a-f]{32} msgid=$M2 sender=school-essen cause=#[0-9]+ \\(consent 2 withdrawn\\) queued-by=#[0-9]+\$" \
    "the drop the withdrawal caused"
expect_match crep.txt "^  #[0-9]+ [0-9T:-]+Z drop -> politie reason=consent-required item=[0-9a-f]{32} msgid=$M4 sender=school-essen cause=#[0-9]+ \\(override ${O2:0:8} rejected\\) queued-by=#[0-9]+\$" \
    "the drop the rejection caused"
expect_not_contains crep.txt "WARNING" "audit consent"
expect_exit 0 "$Z" --json "${AUDK[@]}" audit consent --case "$CI"
cp "$OUT" crep.json
expect_eq "$(wc -l <crep.json | tr -d ' ')" 1 "audit consent --json: one line"
expect_match crep.json "^\\{\"case\":\"$CI\",\"log_size\":[0-9]+,\"entries\":[0-9]+,\"redacted\":0,\"network\":\"$NET\",\"created\":\"[0-9T:-]+Z\",\"creator\":\"school-essen\",\"regisseur\":\"school-essen\",\"identified\":true,\"closed\":null,\"consent_seq\":2,\"consent_state\":\"withdrawn\",\"consent\":\\[" \
    "audit consent --json"
expect_contains crep.json "\"seq\":1,\"state\":\"granted\",\"scope\":[\"ggd\"],\"given_by\":[\"parent\"],\"age_band\":\"0-11\",\"until\":\"${IN60}T23:59:59Z\",\"actor\":\"school-essen\",\"handler\":\"$IB\",\"purpose\":\"$PURPOSE\",\"purpose_status\":\"opened\",\"note\":null}" \
    "audit consent --json: the record with its purpose"
for key in relied_on_consent safety_override anonymous refused inconsistent drops more; do
    expect_contains crep.json "\"$key\":" "audit consent --json has $key"
done
expect_contains crep.json "\"class\":\"consent\",\"action\":\"send\",\"actor\":\"school-essen\",\"handler\":\"$IB\",\"counterpart\":\"ggd\",\"from\":\"school-essen\",\"to\":\"ggd\",\"basis\":\"consent\",\"reason\":null,\"consent\":1,\"consent_state\":\"granted\"" \
    "audit consent --json: an exchange that relied on consent 1"
expect_contains crep.json "\"recipient\":\"ggd\",\"sender\":\"school-essen\",\"reason\":\"consent-required\"" "audit consent --json: the drop"
expect_contains crep.json '"inconsistent":[]' "audit consent --json"
expect_exit 0 "$Z" "${AUDK[@]}" audit consent --case "$CA"
expect_match "$OUT" "^anonymous exchanges \\(([4-9]|[1-9][0-9]+)\\):\$" "audit consent of the anonymous case"
expect_match "$OUT" "^  #[0-9]+ [0-9T:-]+Z send school-essen -> ggd handler=\"$IB_RE\" basis=anonymous item=[0-9a-f]{32} i-checked\$" \
    "audit consent shows the checked send"
expect_match "$OUT" "^  #[0-9]+ [0-9T:-]+Z handover-offer school-essen -> ggd handler=\"$IB_RE\" basis=anonymous handover=$H1\$" \
    "audit consent shows the handover offer"
expect_match "$OUT" "^  #[0-9]+ [0-9T:-]+Z handover-accept school-essen -> ggd handler=\"$JA_RE\" basis=anonymous handover=$H1\$" \
    "audit consent shows the acceptance"
expect_exit 0 "$Z" "${AUDK[@]}" audit consent --case "$CL"
expect_match "$OUT" '^  #[0-9]+ [0-9T:-]+Z case-link school-essen -> ggd,politie handler=".*" basis=consent consent=1 \(granted\)$' \
    "audit consent shows the link and whom it told"
expect_exit 3 "$Z" "${SCHOOL[@]}" audit consent --case "$CI"
expect_contains "$ERR" "zorgnet: forbidden: " "a partner asks for the consent report"
expect_exit 2 "$Z" "${AUDK[@]}" audit consent
expect_contains "$ERR" "audit consent needs --case ID" "audit consent without --case"

expect_exit 0 "$Z" "${AUDK[@]}" audit report
cp "$OUT" report.txt
expect_match report.txt '^safety overrides \(2\):$' "audit report"
expect_match report.txt "^  #[0-9]+ [0-9T:-]+Z override $O1 case $CI school-essen handler=\"$IB_RE\" -> mplein step=2 \\(collegiale consultatie.*\\) expires=[0-9T:-]+Z review_by=[0-9T:-]+Z: approved\$" \
    "audit report: the approved override"
expect_contains report.txt "    justification: \"$JUST1\"" "audit report shows the justification"
expect_match report.txt "^    #[0-9]+ [0-9T:-]+Z reviewed by coordinator handler=\"$PM_RE\": approved, in time\$" "audit report shows the review"
expect_contains report.txt "      note: \"$NOTE1\"" "audit report shows the review note"
expect_match report.txt "^  #[0-9]+ [0-9T:-]+Z override $O2 case $CI school-essen handler=\"$IB_RE\" -> politie step=3 .*: rejected\$" \
    "audit report: the rejected override"
expect_contains report.txt "    justification: \"$JUST2\"" "audit report"
expect_match report.txt "^    #[0-9]+ [0-9T:-]+Z reviewed by coordinator handler=\"$PM_RE\": rejected, in time\$" "audit report"
expect_contains report.txt "      note: \"$NOTE2\"" "audit report"
expect_match report.txt '^handover escalations \(0\): none$' "audit report"
expect_not_contains report.txt "INCONSISTENT" "audit report"
expect_exit 0 "$Z" --json "${AUDK[@]}" audit report
expect_contains "$OUT" "\"override\":\"$O1\",\"case\":\"$CI\",\"author\":\"school-essen\",\"handler\":\"$IB\",\"to\":\"mplein\",\"step\":2," \
    "audit report --json"
expect_contains "$OUT" "\"state\":\"approved\",\"escalated\":false,\"justification\":\"$JUST1\",\"justification_status\":\"opened\",\"mismatch\":null,\"events\":[{" \
    "audit report --json"
expect_contains "$OUT" "\"action\":\"override-review\",\"actor\":\"coordinator\",\"handler\":\"$PM\",\"state\":\"approved\",\"late\":false,\"review_by\":null,\"note\":\"$NOTE1\",\"note_status\":\"opened\"" \
    "audit report --json: the review"
expect_contains "$OUT" '"handover_escalations":[]' "audit report --json"

# ------------------------------------------------------------------ after review
say "16. handover withdraw; free text from a file or standard input; the library's send on an anonymous case"
school_case CW
printf 'Dossier voor een overdracht die wordt teruggenomen.\n' >dossier3.txt
expect_exit 0 "$Z" "${SCHOOL[@]}" handover offer --case "$CW" --to ggd dossier3.txt
H3=$(sed -n 's/^handover  \([0-9a-f]\{32\}\)$/\1/p' "$OUT")
is_id "$H3" && ok "the handover to withdraw: $H3" || die "handover offer printed no id: $(head -c 300 "$OUT")"
expect_exit 2 "$Z" "${SCHOOL[@]}" handover withdraw
expect_contains "$ERR" "the command is 'zorgnet handover withdraw ID'" "handover withdraw without an id"
expect_exit 2 "$Z" "${SCHOOL[@]}" handover withdraw 12345
expect_contains "$ERR" "the handover id is 32 hex characters" "handover withdraw of a malformed id"
expect_exit 2 "$Z" --key "$D/school-essen.key" handover withdraw "$H3"
expect_contains "$ERR" "handover withdraw needs --handler" "handover withdraw without --handler"
expect_exit 3 "$Z" "${POL[@]}" handover withdraw "$H3"
expect_contains "$ERR" "zorgnet: unknown-handover: " "a partner that has nothing to do with the handover withdraws it"
expect_exit 3 "$Z" "${GGD[@]}" handover withdraw "$H3"
expect_contains "$ERR" "zorgnet: not-regisseur: " "the recipient withdraws the offer (it declines instead)"
expect_exit 3 "$Z" --json "${GGD[@]}" handover withdraw "$H3"
expect_json_error not-regisseur
expect_exit 3 "$Z" "${SCHOOL[@]}" handover withdraw 0123456789abcdef0123456789abcdef
expect_contains "$ERR" "zorgnet: unknown-handover: " "an unknown handover"
expect_exit 0 "$Z" "${SCHOOL[@]}" handover withdraw "$H3"
expect_eq "$(cat "$OUT")" "handover $H3 withdrawn; the recipient is told, and the case stays with the partner that offered it" \
    "handover withdraw"
expect_exit 3 "$Z" "${SCHOOL[@]}" handover withdraw "$H3"
expect_contains "$ERR" "zorgnet: already-decided: the handover was withdrawn already" "withdrawing again"
expect_exit 3 "$Z" --json "${SCHOOL[@]}" handover withdraw "$H3"
expect_json_error already-decided
expect_exit 3 "$Z" "${GGD[@]}" handover accept "$H3"
expect_contains "$ERR" "zorgnet: already-decided: the handover was withdrawn already" "accepting a withdrawn offer"
expect_exit 3 "$Z" "${GGD[@]}" handover decline "$H3" --reason "$REASON"
expect_contains "$ERR" "zorgnet: already-decided: " "declining a withdrawn offer"
expect_exit 0 "$Z" "${GGD[@]}" inbox
cp "$OUT" ggd-withdrawn.txt
expect_match ggd-withdrawn.txt '^notice    handover-withdrawn$' "the recipient is told"
expect_contains ggd-withdrawn.txt "about     the offer of case $CW to you was withdrawn by school-essen; there is nothing to answer, and the" \
    "the recipient is told"
expect_contains ggd-withdrawn.txt "          case stays with the partner that offered it" "the recipient is told"
expect_match ggd-withdrawn.txt "^handover  $H3\$" "the handover-withdrawn notice names the handover"
expect_contains ggd-withdrawn.txt "Dossier voor een overdracht die wordt teruggenomen." "the dossier stays with the recipient as a message"
W_AT=$(line_no ggd-withdrawn.txt '^notice    handover-withdrawn$')
O_AT=$(line_no ggd-withdrawn.txt '^notice    handover-offer$')
[ "$O_AT" -gt 0 ] && [ "$W_AT" -gt "$O_AT" ] && ok "the withdrawal comes after the offer" ||
    fail "the offer notice (line $O_AT) does not come before the withdrawal (line $W_AT)"
for who in SCHOOL GGD; do
    arr="${who}[@]"
    expect_exit 0 "$Z" "${!arr}" handover list
    expect_match "$OUT" "^handover  $H3  withdrawn\$" "$who's handover list shows the withdrawal"
    expect_match "$OUT" '^  decided       [0-9T:-]+Z$' "$who's handover list says when"
done
expect_exit 0 "$Z" --json "${SCHOOL[@]}" handover list
expect_match "$OUT" "\"handover\":\"$H3\",.*\"state\":\"withdrawn\",\"decided\":\"[0-9T:-]+Z\",\"decided_ms\":[1-9][0-9]*," \
    "handover list --json: withdrawn, with when"
expect_exit 0 "$Z" "${SCHOOL[@]}" case show "$CW"
expect_match "$OUT" '^handovers none open$' "case show after the withdrawal"
expect_contains "$OUT" "regisseur $DESC_SCHOOL" "the case stays with the offering partner"
# the library's send (zorgnet send) still checks the text on an anonymous case
expect_exit 2 "$Z" "${SCHOOL[@]}" send --to ggd --case "$CW" t-bsn.txt
expect_contains "$ERR" "zorgnet: identifiers-found: " "send refuses a BSN on an anonymous case"
expect_contains "$ERR" "  BSN: $TEXTBSN" "send names the BSN it found"
expect_exit 2 "$Z" "${SCHOOL[@]}" handover offer --case "$CW" --to ggd t-bsn.txt
expect_contains "$ERR" "zorgnet: identifiers-found: " "a dossier with a BSN on an anonymous case"
# a new offer; the network's coordinator withdraws it
expect_exit 0 "$Z" --json "${SCHOOL[@]}" handover offer --case "$CW" --to ggd dossier3.txt
H4=$(json_str "$(cat "$OUT")" handover)
is_id "$H4" && ok "a new offer after the withdrawal: $H4" || die "handover offer --json printed '$(cat "$OUT")'"
expect_exit 0 "$Z" --json "${COORD[@]}" handover withdraw "$H4"
expect_eq "$(cat "$OUT")" "{\"handover\":\"$H4\",\"state\":\"withdrawn\"}" "the coordinator withdraws the offer (--json)"
expect_exit 0 "$Z" --json "${GGD[@]}" inbox --type handover-withdrawn
expect_match "$OUT" "\"type\":\"handover-withdrawn\",\"time\":\"[0-9T:-]+Z\",\"time_ms\":[0-9]+,\"fields\":\\{\"handover\":\"$H4\",\"case\":\"$CW\",\"by\":\"coordinator\"\\}\\}\$" \
    "the recipient is told who withdrew it (--json)"
expect_exit 0 "$Z" "${SCHOOL[@]}" case close "$CW"
expect_match "$OUT" "^case $CW closed on " "with no open offer the case closes"
N=$(audit_count --action handover-withdraw --case "$CW")
expect_eq "$N" 6 "handover-withdraw entries: two allowed, four refused by the broker"
N=$(audit_count --action handover-withdraw --case "$CW" --decision allowed)
expect_eq "$N" 2 "allowed handover-withdraw entries"

# --purpose-file, --justification-file, --note-file, --reason-file: from a file or standard input
PURPOSE3="Afstemming met de jeugdarts over de aanpak thuis"
JUST3="De leerling meldde vandaag geweld thuis; de jeugdarts moet direct meekijken naar de veiligheid."
NOTE3="Terecht: de signalen van vandaag wegen zwaar genoeg."
REASON3="Deze casus past beter bij het wijkteam; graag daar aanbieden."
printf '\n  %s\n\n' "$PURPOSE3" >purpose3.txt
printf '%s\n' "$JUST3" >just3.txt
printf '%s\n' "$NOTE3" >note3.txt
printf '%s\n' "$REASON3" >reason3.txt
printf 'Te kort voor een override.\n' >just-short.txt
printf '\n \n' >blank.txt
school_case CF
expect_exit 2 "$Z" "${SCHOOL[@]}" consent set --case "$CF" --state granted --scope ggd --given-by client --age-band 16+ \
    --purpose "$PURPOSE3" --purpose-file purpose3.txt
expect_contains "$ERR" "give either --purpose TEXT or --purpose-file FILE, not both" "--purpose and --purpose-file"
expect_exit 2 "$Z" "${SCHOOL[@]}" consent set --case "$CF" --state granted --scope ggd --given-by client --age-band 16+ \
    --purpose-file blank.txt
expect_contains "$ERR" "the purpose in --purpose-file is empty; nothing was sent" "an empty --purpose-file"
expect_exit 0 "$Z" "${SCHOOL[@]}" consent set --case "$CF" --state granted --scope ggd --given-by client --age-band 16+ \
    --purpose-file purpose3.txt
expect_eq "$(head -n 1 "$OUT")" "consent record 1 on case $CF: granted" "consent set --purpose-file"
expect_match "$OUT" '^purpose   sealed to the auditors$' "consent set --purpose-file"
IN=purpose3.txt expect_exit 0 "$Z" "${SCHOOL[@]}" consent set --case "$CF" --state requested --purpose-file -
expect_eq "$(head -n 1 "$OUT")" "consent record 2 on case $CF: requested" "consent set --purpose-file - (standard input)"
expect_exit 0 "$Z" --json "${AUDK[@]}" consent show --case "$CF"
expect_eq "$(grep -o "\"purpose\":\"$PURPOSE3\",\"purpose_sealed\":false" "$OUT" | wc -l | tr -d ' ')" 3 \
    "the auditor reads the purpose from the file, trimmed, in both records (current + history)"

expect_exit 2 "$Z" "${SCHOOL[@]}" override --case "$CI" --to ggd --step 1 --justification "$JUST3" \
    --justification-file just3.txt
expect_contains "$ERR" "give either --justification TEXT or --justification-file FILE, not both" \
    "--justification and --justification-file"
expect_exit 2 "$Z" "${SCHOOL[@]}" override --case "$CI" --to ggd --step 1 --justification-file just-short.txt
expect_contains "$ERR" "zorgnet: usage: the justification has 26 characters; at least 40 are needed" \
    "a short justification in a file is refused like one on the command line"
expect_exit 1 "$Z" "${SCHOOL[@]}" override --case "$CI" --to ggd --step 1 --justification-file no-such-file.txt
expect_contains "$ERR" "zorgnet: io: no-such-file.txt could not be read" "a --justification-file that does not exist"
expect_exit 0 "$Z" "${SCHOOL[@]}" override --case "$CI" --to ggd --step 1 --justification-file just3.txt
O3=$(sed -n 's/^override  \([0-9a-f]\{32\}\)$/\1/p' "$OUT")
is_id "$O3" && ok "an override with its justification from a file: $O3" || die "override printed no id: $(head -c 300 "$OUT")"
expect_exit 2 "$Z" "${COORD[@]}" override review "$O3" --approve --note "$NOTE3" --note-file note3.txt
expect_contains "$ERR" "give either --note TEXT or --note-file FILE, not both" "--note and --note-file"
IN=note3.txt expect_exit 0 "$Z" "${COORD[@]}" override review "$O3" --approve --note-file -
expect_match "$OUT" "^override $O3 approved" "override review --note-file - (standard input)"
expect_exit 0 "$Z" --json "${COORD[@]}" override list --all
expect_contains "$OUT" "\"justification\":\"$JUST3\"" "the coordinator reads the justification from the file"
expect_contains "$OUT" "\"note\":\"$NOTE3\"" "the coordinator reads the note from standard input"
expect_exit 0 "$Z" "${AUDK[@]}" audit report
expect_contains "$OUT" "    justification: \"$JUST3\"" "the auditor reads the justification from the file"
expect_contains "$OUT" "      note: \"$NOTE3\"" "the auditor reads the note from standard input"

school_case CR
expect_exit 0 "$Z" "${SCHOOL[@]}" handover offer --case "$CR" --to politie dossier3.txt
H5=$(sed -n 's/^handover  \([0-9a-f]\{32\}\)$/\1/p' "$OUT")
is_id "$H5" || die "handover offer printed no id: $(head -c 300 "$OUT")"
expect_exit 2 "$Z" "${POL[@]}" handover decline "$H5" --reason "$REASON3" --reason-file reason3.txt
expect_contains "$ERR" "give either --reason TEXT or --reason-file FILE, not both" "--reason and --reason-file"
IN=reason3.txt expect_exit 2 "$Z" "${POL[@]}" handover decline "$H5" --reason "$REASON3" --reason-file -
expect_contains "$ERR" "give either --reason TEXT or --reason-file FILE, not both" "--reason and --reason-file -"
expect_exit 0 "$Z" "${POL[@]}" handover decline "$H5" --reason-file reason3.txt
expect_eq "$(cat "$OUT")" "handover $H5 declined; the offering partner is told and stays the case's regisseur" \
    "handover decline --reason-file"
expect_exit 0 "$Z" "${SCHOOL[@]}" handover list
expect_contains "$OUT" "  reason        $REASON3" "the offering partner reads the reason from the file"
school_case CR2
expect_exit 0 "$Z" "${SCHOOL[@]}" handover offer --case "$CR2" --to politie dossier3.txt
H6=$(sed -n 's/^handover  \([0-9a-f]\{32\}\)$/\1/p' "$OUT")
is_id "$H6" || die "handover offer printed no id: $(head -c 300 "$OUT")"
IN=reason3.txt expect_exit 0 "$Z" --json "${POL[@]}" handover decline "$H6" --reason-file -
expect_eq "$(cat "$OUT")" "{\"handover\":\"$H6\",\"state\":\"declined\"}" "handover decline --reason-file - (standard input)"
expect_exit 0 "$Z" --json "${SCHOOL[@]}" handover list
expect_eq "$(grep -o "\"reason\":\"$REASON3\",\"reason_sealed\":false" "$OUT" | wc -l | tr -d ' ')" 2 \
    "both reasons arrive as the files hold them"
expect_not_contains "$BROKER_LOG" "$REASON3" "the broker never saw the text"

# a convenant's override review time must lie within the override's lifetime (zorgnet-keys): a
# setting that breaks it is refused as a bad setting (exit 2, as valid_from after valid_until),
# and nothing is signed
cp "$D/convenant.msgpack" rel.conv
V0=$(conv_version rel.conv)
expect_exit 2 "$ZK" convenant set rel.conv --authority "$D/authority.key" override_review_h=336
expect_contains "$ERR" "override_review_h" "the refusal names the review time"
expect_contains "$ERR" "override_lifetime_d" "the refusal names the lifetime"
expect_exit 2 "$ZK" convenant set rel.conv --authority "$D/authority.key" override_lifetime_d=1
expect_contains "$ERR" "override_review_h" "a lifetime shorter than the review time: the review time is named"
expect_contains "$ERR" "override_lifetime_d" "a lifetime shorter than the review time: the lifetime is named"
expect_eq "$(conv_version rel.conv)" "$V0" "a refused setting changes nothing"
expect_exit 0 "$ZK" convenant set rel.conv --authority "$D/authority.key" override_review_h=12 override_lifetime_d=1
expect_eq "$(conv_version rel.conv)" "$((V0 + 1))" "both moved at once: the review time lies within the lifetime"
expect_exit 2 "$ZK" convenant set rel.conv --authority "$D/authority.key" override_review_h=24
expect_contains "$ERR" "override_review_h" "a review time equal to the lifetime"

# a recipient that leaves the convenant cannot answer: its open offer lapses, the offering partner
# is told
school_case CM
expect_exit 0 "$Z" "${SCHOOL[@]}" handover offer --case "$CM" --to mplein dossier3.txt
H7=$(sed -n 's/^handover  \([0-9a-f]\{32\}\)$/\1/p' "$OUT")
is_id "$H7" || die "handover offer printed no id: $(head -c 300 "$OUT")"
V1=$(conv_version "$BCONV")
expect_exit 0 "$ZK" convenant remove-partner "$BCONV" --authority "$D/authority.key" --id mplein
reload_broker $((V1 + 1))
expect_match "$BROKER_LOG" "convenant-loaded version=$((V1 + 1)) .*lapsed-handovers=1" "the broker's log counts the lapsed offer"
expect_exit 0 "$Z" "${SCHOOL[@]}" handover list
expect_match "$OUT" "^handover  $H7  withdrawn\$" "the offer to a partner that left lapsed"
expect_exit 0 "$Z" "${SCHOOL[@]}" inbox --type handover-withdrawn
cp "$OUT" school-lapsed.txt
expect_match school-lapsed.txt '^notice    handover-withdrawn$' "the offering partner is told that the offer lapsed"
expect_match school-lapsed.txt "^handover  $H7\$" "the lapse notice names the handover"
expect_match school-lapsed.txt '^to        mplein$' "the lapse notice names the recipient"
expect_match school-lapsed.txt '^reason    not-in-convenant$' "the lapse notice says why"
# its sentence is the offering partner's: the recipient left, nobody "withdrew" an offer "to you"
expect_match school-lapsed.txt "^about     .*(mplein.*$CM|$CM.*mplein)" "the lapse notice's sentence names the case and the recipient"
expect_not_contains school-lapsed.txt "to you was withdrawn by" "the lapse notice is not worded for a recipient"
expect_exit 0 "$Z" "${SCHOOL[@]}" case close "$CM"
expect_match "$OUT" "^case $CM closed on " "with the offer lapsed the case closes"
expect_exit 0 "$Z" --json "${QA[@]}" audit query --case "$CM" --action handover-withdraw
expect_eq "$(wc -l <"$OUT" | tr -d ' ')" 1 "one handover-withdraw entry for the lapsed offer"
expect_contains "$OUT" '"counterpart":"mplein","decision":"allowed","reason":"not-in-convenant"' \
    "the broker's entry names the partner that left and why"

# ------------------------------------------------------------------ nothing sent
say "17. what this computer refused never reached the broker"
N=$(audit_count --action case-new --partner school-essen)
expect_eq "$N" "$SCHOOL_CASES" "case-new entries of the school (invalid BSNs sent nothing)"
N=$(audit_count --action case-new --decision refused)
expect_eq "$N" 0 "no refused case-new entry"
N=$(audit_count --action consent-set --case "$CK")
expect_eq "$N" "$CK_RECORDS" "consent-set entries of the capacity case (refused capacities sent nothing)"
N=$(audit_count --action consent-set --decision refused --case "$CK")
expect_eq "$N" 0 "no refused consent-set entry on the capacity case"
N=$(audit_count --action override-new --decision refused)
expect_eq "$N" 0 "no refused override-new entry (the short justification sent nothing)"
expect_exit 0 "$Z" "${QA[@]}" audit query --bsn "$CHILD"
expect_match "$OUT" "^#[0-9]+ .* actor=school-essen .*action=case-new case=$CI " "audit query --bsn finds the identified case"
expect_not_contains "$OUT" "$CHILD" "audit query --bsn prints no BSN"
expect_exit 0 "$Z" "${QA[@]}" audit query --bsn "$SIBLING"
expect_match "$OUT" "^#[0-9]+ .* action=case-link case=$CL " "audit query --bsn finds a relative given with the link"
broker_alive "zorgnetd after every command"

# ------------------------------------------------------------------ no BSN at the broker
say "18. the broker's database (also its WAL while it runs) and logs hold none of the BSNs as ASCII digits"
bsn_scan_running "$CHILD"
stop_broker_clean
expect_not_contains "$BROKER_LOG" "runtime error" "the broker's log (sanitizers)"
expect_not_contains "$BROKER_LOG" "Sanitizer" "the broker's log (sanitizers)"
bsn_scan_stopped

finish
