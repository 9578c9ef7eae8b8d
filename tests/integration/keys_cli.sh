#!/usr/bin/env bash
# End-to-end test of the zorgnet-keys CLI: key pairs, convenant init / add-partner /
# remove-partner / set (policy numbers, disclosure and decision rules) / show / verify, the exit
# codes (0 done, 1 fault, 2 usage, 5 verify) and the version bump of every edit. Needs ZN_BIN (the build folder holding zorgnet-keys).
set -u

ZK="${ZN_BIN:-./build}/zorgnet-keys"
if [ ! -x "$ZK" ]; then
    echo "keys_cli: $ZK not found; set ZN_BIN to the build folder" >&2
    exit 1
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/zn-keys-cli.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1

failures=0
checks=0
OUT="$T/out"
ERR="$T/err"

fail() {
    echo "FAIL: $*" >&2
    echo "  stdout: $(head -c 2000 "$OUT" 2>/dev/null)" >&2
    echo "  stderr: $(head -c 2000 "$ERR" 2>/dev/null)" >&2
    failures=$((failures + 1))
}

# expect RC DESCRIPTION -- COMMAND...: run, keep stdout/stderr in $OUT/$ERR, compare the status.
expect() {
    local want=$1 desc=$2
    shift 3
    checks=$((checks + 1))
    "$@" >"$OUT" 2>"$ERR"
    local got=$?
    if [ "$got" -ne "$want" ]; then
        fail "$desc: exit $got, wanted $want"
        return 1
    fi
    if [ "$want" -ne 0 ] && ! grep -q '^zorgnet-keys: ' "$ERR"; then
        fail "$desc: the error message does not start with 'zorgnet-keys: '"
        return 1
    fi
    return 0
}

# has FILE TEXT DESCRIPTION: FILE contains TEXT (fixed string).
has() {
    checks=$((checks + 1))
    grep -qF -- "$2" "$1" || fail "$3: '$2' not found"
}

# version FILE: the version that verify reports.
version() {
    "$ZK" convenant verify "$1" 2>/dev/null | sed -n 's/.* version \([0-9][0-9]*\),.*/\1/p'
}

expect_version() {
    checks=$((checks + 1))
    local v
    v=$(version "$1")
    [ "$v" = "$2" ] || fail "$3: version is '$v', wanted $2"
}

mode_of() {
    stat -c %a "$1"
}

# flip_byte FILE OFFSET: xor one byte with 0x01 in place.
flip_byte() {
    local b nb
    b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' \n')
    nb=$((b ^ 1))
    printf "$(printf '\\%03o' "$nb")" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

# ---------------------------------------------------------------- usage
expect 0 "--help" -- "$ZK" --help && has "$OUT" "usage:" "--help"
expect 0 "-h after a command" -- "$ZK" convenant init -h && has "$OUT" "convenant add-partner" "-h"
expect 2 "no arguments" -- "$ZK" && has "$ERR" "usage:" "usage text on bad use"
expect 2 "unknown command" -- "$ZK" frobnicate
expect 2 "unknown convenant subcommand" -- "$ZK" convenant sign x
expect 2 "unknown option" -- "$ZK" new --kind partner --out x --colour blue
expect 2 "missing option" -- "$ZK" new --kind partner
expect 2 "option without value" -- "$ZK" new --kind partner --out
expect 2 "bad kind" -- "$ZK" new --kind auditor --out x
expect 2 "repeated single option" -- "$ZK" new --kind partner --kind broker --out x

# ---------------------------------------------------------------- key pairs
expect 0 "new authority" -- "$ZK" new --kind authority --out auth && has "$OUT" "sign" "new authority"
expect 0 "new second authority" -- "$ZK" new --kind authority --out other
expect 0 "new broker" -- "$ZK" new --kind broker --out broker
for p in school police coord audit extra; do
    expect 0 "new partner $p" -- "$ZK" new --kind=partner --out "$p"
done
checks=$((checks + 1))
[ "$(mode_of auth.key)" = 600 ] || fail "auth.key has mode $(mode_of auth.key), wanted 600"
[ "$(mode_of auth.pub)" = 644 ] || fail "auth.pub has mode $(mode_of auth.pub), wanted 644"
cp auth.key auth.key.orig
expect 1 "new refuses to overwrite" -- "$ZK" new --kind authority --out auth
has "$ERR" "already exists" "overwrite refusal"
checks=$((checks + 1))
cmp -s auth.key auth.key.orig || fail "auth.key changed by a refused overwrite"

expect 0 "show-pub partner" -- "$ZK" show-pub school.pub
has "$OUT" "kind: partner" "show-pub kind"
has "$OUT" "box" "show-pub box key"
expect 1 "show-pub on a secret key file" -- "$ZK" show-pub school.key
expect 2 "show-pub without file" -- "$ZK" show-pub

# ---------------------------------------------------------------- init
chmod 644 auth.key
expect 1 "group-readable authority key refused" -- "$ZK" convenant init --authority auth.key \
    --broker broker.pub --name "Test" --endpoint tcp://127.0.0.1:7450 --out c.conv
has "$ERR" "chmod 600" "0644 refusal names the fix"
chmod 600 auth.key
expect 1 "init with a partner key as broker" -- "$ZK" convenant init --authority auth.key \
    --broker school.pub --name "Test" --endpoint tcp://127.0.0.1:7450 --out c.conv
expect 2 "init with a bad date" -- "$ZK" convenant init --authority auth.key \
    --broker broker.pub --name "Test" --endpoint tcp://127.0.0.1:7450 --valid-until 2031-02-30 --out c.conv
expect 2 "init with a past date" -- "$ZK" convenant init --authority auth.key \
    --broker broker.pub --name "Test" --endpoint tcp://127.0.0.1:7450 --valid-until 2001-01-01 --out c.conv
expect 2 "init with a bad endpoint" -- "$ZK" convenant init --authority auth.key \
    --broker broker.pub --name "Test" --endpoint "not an address" --out c.conv
checks=$((checks + 1))
[ ! -e c.conv ] || fail "a refused init left c.conv behind"

expect 0 "init" -- "$ZK" convenant init --authority auth.key --broker broker.pub \
    --name "Zorgnetwerk test" --endpoint tcp://127.0.0.1:7450 --out c.conv
has "$OUT" "new" "init creates the network key"
checks=$((checks + 1))
[ -f auth.network.key ] && [ "$(mode_of auth.network.key)" = 600 ] || fail "auth.network.key missing or not 0600"
cp auth.network.key netkey.orig
expect_version c.conv 1 "after init"
expect 1 "init refuses to overwrite" -- "$ZK" convenant init --authority auth.key --broker broker.pub \
    --name "Again" --endpoint tcp://127.0.0.1:7450 --out c.conv
expect 0 "second init reuses the network key" -- "$ZK" convenant init --authority auth.key \
    --broker broker.pub --name "Second" --endpoint tcp://127.0.0.1:7450 --valid-until 2099-12-31 --out c2.conv
has "$OUT" "reused" "second init"
has "$OUT" "2099-12-31 23:59:59" "valid-until is the end of the day"
checks=$((checks + 1))
cmp -s auth.network.key netkey.orig || fail "the network key changed"

# ---------------------------------------------------------------- verify
expect 0 "verify" -- "$ZK" convenant verify c.conv && has "$OUT" "valid:" "verify output"
expect 0 "verify pinned" -- "$ZK" convenant verify c.conv --authority auth.pub
expect 5 "verify pinned to another authority" -- "$ZK" convenant verify c.conv --authority other.pub
expect 1 "verify a missing file" -- "$ZK" convenant verify nothing.conv
expect 2 "verify without file" -- "$ZK" convenant verify

# ---------------------------------------------------------------- add-partner
expect 0 "add partner in two networks" -- "$ZK" convenant add-partner c.conv --authority auth.key \
    --id school-essen --name "Basisschool De Essen" --category school --pub school.pub \
    --role partner --network 0-12-binnenstad --network 0-12-thij
has "$OUT" "sealed" "partner gets the network key"
expect_version c.conv 2 "after add-partner"
expect 0 "add coordinator" -- "$ZK" convenant add-partner c.conv --authority auth.key \
    --id coordinator --name "Procesmanager" --pub coord.pub --role coordinator \
    --network 0-12-binnenstad --network 0-12-thij --network 12-18
checks=$((checks + 1))
grep -q sealed "$OUT" && fail "the coordinator got the network key"
expect 0 "add auditor" -- "$ZK" convenant add-partner c.conv --authority auth.key \
    --id auditor --name "Auditor" --pub audit.pub --role auditor
expect 0 "add partner with --opt=value" -- "$ZK" convenant add-partner c.conv --authority=auth.key \
    --id=politie --name="Politie" --pub=police.pub --role=partner --network=12-18
expect_version c.conv 5 "after four additions"

expect 2 "coordinator with partner role" -- "$ZK" convenant add-partner c.conv --authority auth.key \
    --id x1 --name "X" --pub extra.pub --role coordinator --role partner --network 12-18
has "$ERR" "coordinator" "coordinator+partner message"
expect 2 "coordinator with auditor role" -- "$ZK" convenant add-partner c.conv --authority auth.key \
    --id x1 --name "X" --pub extra.pub --role coordinator --role auditor --network 12-18
expect 2 "existing id" -- "$ZK" convenant add-partner c.conv --authority auth.key \
    --id politie --name "X" --pub extra.pub --role partner --network 12-18
expect 2 "existing transport key" -- "$ZK" convenant add-partner c.conv --authority auth.key \
    --id x2 --name "X" --pub school.pub --role partner --network 12-18
expect 2 "auditor with --network" -- "$ZK" convenant add-partner c.conv --authority auth.key \
    --id x3 --name "X" --pub extra.pub --role auditor --network 12-18
expect 2 "partner without --network" -- "$ZK" convenant add-partner c.conv --authority auth.key \
    --id x4 --name "X" --pub extra.pub --role partner
expect 2 "unknown role" -- "$ZK" convenant add-partner c.conv --authority auth.key \
    --id x5 --name "X" --pub extra.pub --role regisseur --network 12-18
expect 2 "bad id" -- "$ZK" convenant add-partner c.conv --authority auth.key \
    --id "Bad Id" --name "X" --pub extra.pub --role partner --network 12-18
expect 2 "bad network name" -- "$ZK" convenant add-partner c.conv --authority auth.key \
    --id x6 --name "X" --pub extra.pub --role partner --network "12 18"
expect 1 "broker key as partner" -- "$ZK" convenant add-partner c.conv --authority auth.key \
    --id x7 --name "X" --pub broker.pub --role partner --network 12-18
expect 5 "another authority's key" -- "$ZK" convenant add-partner c.conv --authority other.key \
    --id x8 --name "X" --pub extra.pub --role partner --network 12-18
has "$ERR" "not the authority" "wrong authority message"
expect_version c.conv 5 "refused additions change nothing"

# ---------------------------------------------------------------- show
expect 0 "show" -- "$ZK" convenant show c.conv
for want in 'Zorgnetwerk test' 'version 5' 'tcp://127.0.0.1:7450' '0-12-binnenstad' '0-12-thij' '12-18' \
    'school-essen' 'Basisschool De Essen' 'coordinator' 'Auditors (1)' 'queue_quota = 10000 items' \
    'handover_timeout_h = 72 hours' 'sealed to 3 of 4'; do
    has "$OUT" "$want" "show"
done
expect 2 "show without file" -- "$ZK" convenant show

# ---------------------------------------------------------------- set
expect 0 "set policy and name" -- "$ZK" convenant set c.conv --authority auth.key queue_quota=250 \
    "name=Zorgnetwerken Oldenzaal" handover_timeout_h=24
expect_version c.conv 6 "after set"
"$ZK" convenant show c.conv >"$OUT" 2>"$ERR"
has "$OUT" "queue_quota = 250 items (changed from the default)" "set took effect"
has "$OUT" "Zorgnetwerken Oldenzaal" "name set"
expect 2 "set out of range" -- "$ZK" convenant set c.conv --authority auth.key queue_quota=0
has "$ERR" "1 to 1000000" "range in the message"
expect 2 "set unknown key" -- "$ZK" convenant set c.conv --authority auth.key colour=blue
expect 2 "set without =" -- "$ZK" convenant set c.conv --authority auth.key queue_quota
expect 2 "set nothing" -- "$ZK" convenant set c.conv --authority auth.key
expect 2 "set until before from" -- "$ZK" convenant set c.conv --authority auth.key valid_until=2001-01-01
expect 2 "set one bad of two" -- "$ZK" convenant set c.conv --authority auth.key queue_quota=5 retention_days=0
expect_version c.conv 6 "refused settings change nothing"
"$ZK" convenant show c.conv >"$OUT" 2>"$ERR"
has "$OUT" "queue_quota = 250 items" "a refused set leaves the values"

expect 0 "set an expired window" -- "$ZK" convenant set c.conv --authority auth.key \
    valid_from=2020-01-01 valid_until=2020-12-31
expect 5 "verify an expired convenant" -- "$ZK" convenant verify c.conv
has "$ERR" "expired" "expiry reason"
expect 0 "edit an expired convenant" -- "$ZK" convenant set c.conv --authority auth.key valid_until=2098-06-30
expect 0 "verify again" -- "$ZK" convenant verify c.conv
has "$OUT" "2098-06-30 23:59:59" "new end date"
expect 0 "set a future start" -- "$ZK" convenant set c.conv --authority auth.key valid_from=2097-01-01
expect 5 "verify before its start" -- "$ZK" convenant verify c.conv
has "$ERR" "not valid before" "start reason"
expect 0 "set the start back" -- "$ZK" convenant set c.conv --authority auth.key valid_from=2020-01-01
expect_version c.conv 10 "after five sets"

# ---------------------------------------------------------------- remove-partner
expect 0 "remove partner" -- "$ZK" convenant remove-partner c.conv --authority auth.key --id politie
expect_version c.conv 11 "after remove-partner"
expect 2 "remove an absent partner" -- "$ZK" convenant remove-partner c.conv --authority auth.key --id politie
expect 5 "remove with another authority" -- "$ZK" convenant remove-partner c.conv --authority other.key \
    --id auditor
expect 0 "its keys may join again" -- "$ZK" convenant add-partner c.conv --authority auth.key \
    --id politie --name "Politie" --pub police.pub --role partner --network 12-18 --network 18plus
expect_version c.conv 12 "after re-adding"

# ---------------------------------------------------------------- missing network key
mv auth.network.key netkey.away
expect 1 "add-partner without the network key file" -- "$ZK" convenant add-partner c.conv \
    --authority auth.key --id ggd --name "GGD" --pub extra.pub --role partner --network 12-18
has "$ERR" "auth.network.key" "names the missing file"
mv netkey.away auth.network.key

# ---------------------------------------------------------------- disclosure and decision rules
# networks now: 0-12-binnenstad, 0-12-thij, 12-18, 18plus
expect 0 "show without rules" -- "$ZK" convenant show c.conv
has "$OUT" "Matches: a person match inside one network is shown to both partners and the network's coordinators; a family match or a match across networks only to the coordinators of the networks involved (defaults)." "default disclosure in words"
has "$OUT" "No rule for any pair of networks: the defaults hold everywhere." "no disclosure rules"
has "$OUT" "Lead proposal in 12-18: none (no decision rule" "no decision rule"

expect 0 "set disclosure and decision rules" -- "$ZK" convenant set c.conv --authority auth.key \
    disclosure:12-18:0-12-thij:person=partners disclosure:0-12-thij:12-18:family=coordinators \
    disclosure:18plus:0-12-binnenstad:person=none disclosure:18plus:0-12-binnenstad:family=none \
    disclosure:12-18:12-18:family=partners decision:12-18=school,ggd,wijkracht decision:0-12-thij=school
expect_version c.conv 13 "after setting rules"
expect 0 "show with rules" -- "$ZK" convenant show c.conv
has "$OUT" "0-12-thij with 12-18: person matches → both partners and the coordinators; family matches → coordinators only" "a rule across networks"
has "$OUT" "0-12-binnenstad with 18plus: never matched" "a pair never matched"
has "$OUT" "inside 12-18: person matches → both partners and the coordinators (default); family matches → both partners and the coordinators" "a rule inside one network"
has "$OUT" "Lead proposal in 12-18: school, then ggd, then wijkracht (the first category among the two partners of a match; earlier registration breaks a tie)" "decision rule in words"
has "$OUT" "Lead proposal in 0-12-thij: school (the first category" "a one-category decision rule"
has "$OUT" "note: no partner of category ggd takes part in 12-18" "a category nobody holds"
checks=$((checks + 1))
grep -q "0-12-binnenstad with 0-12-thij" "$OUT" && fail "show lists a pair without a rule"
expect 0 "rules verify" -- "$ZK" convenant verify c.conv --authority auth.pub

# refusals: exit 2, a message naming the key and what it accepts, nothing written
expect 2 "disclosure with an unknown network" -- "$ZK" convenant set c.conv --authority auth.key \
    disclosure:12-18:19plus:person=partners
has "$ERR" "disclosure:12-18:19plus:person: network 19plus is not in the convenant" "unknown network named"
expect 2 "disclosure with a bad value" -- "$ZK" convenant set c.conv --authority auth.key \
    disclosure:12-18:12-18:person=everyone
has "$ERR" "must be default, none, coordinators or partners; got \"everyone\"" "values listed"
expect 2 "disclosure with a bad kind" -- "$ZK" convenant set c.conv --authority auth.key \
    disclosure:12-18:12-18:parents=none
has "$ERR" "disclosure:NET_A:NET_B:person=VALUE or disclosure:NET_A:NET_B:family=VALUE" "syntax given"
expect 2 "disclosure without the kind" -- "$ZK" convenant set c.conv --authority auth.key disclosure:12-18:12-18=none
expect 2 "decision with an unknown network" -- "$ZK" convenant set c.conv --authority auth.key decision:19plus=school
has "$ERR" "network 19plus is not in the convenant" "unknown network in a decision rule"
expect 2 "decision with a bad category" -- "$ZK" convenant set c.conv --authority auth.key "decision:12-18=school,Police"
has "$ERR" "\"Police\" is not a category" "bad category named"
expect 2 "decision with an empty category" -- "$ZK" convenant set c.conv --authority auth.key "decision:12-18=school,,ggd"
expect 2 "decision with a category twice" -- "$ZK" convenant set c.conv --authority auth.key "decision:12-18=school,ggd,school"
has "$ERR" "category school appears twice" "duplicate category"
expect 2 "decision with 17 categories" -- "$ZK" convenant set c.conv --authority auth.key \
    "decision:12-18=c1,c2,c3,c4,c5,c6,c7,c8,c9,c10,c11,c12,c13,c14,c15,c16,c17"
has "$ERR" "at most 16 categories" "category limit"
expect 2 "a good rule and a bad one" -- "$ZK" convenant set c.conv --authority auth.key \
    decision:12-18=police disclosure:12-18:18plus:person=all
expect 2 "a setting name that is far too long" -- "$ZK" convenant set c.conv --authority auth.key \
    "disclosure:$(printf 'n%.0s' $(seq 1 300)):x:person=none"
expect_version c.conv 13 "refused rules change nothing"
"$ZK" convenant show c.conv >"$OUT" 2>"$ERR"
has "$OUT" "Lead proposal in 12-18: school, then ggd, then wijkracht" "a refused set leaves the rules"

expect 0 "clear rules" -- "$ZK" convenant set c.conv --authority auth.key decision:12-18= \
    disclosure:0-12-thij:12-18:person=default disclosure:0-12-thij:12-18:family=default
expect_version c.conv 14 "after clearing rules"
"$ZK" convenant show c.conv >"$OUT" 2>"$ERR"
has "$OUT" "Lead proposal in 12-18: none" "decision rule cleared"
checks=$((checks + 1))
grep -q "0-12-thij with 12-18" "$OUT" && fail "a rule set back to default is still shown"
has "$OUT" "0-12-binnenstad with 18plus: never matched" "other rules stay"
expect 0 "remove a partner keeps the rules" -- "$ZK" convenant remove-partner c.conv --authority auth.key --id school-essen
"$ZK" convenant show c.conv >"$OUT" 2>"$ERR"
has "$OUT" "Lead proposal in 0-12-thij: school (the first category" "rules survive a removal"
has "$OUT" "note: no partner of category school takes part in 0-12-thij" "the removed category is noted"

# ---------------------------------------------------------------- tampering
size=$(stat -c %s c.conv)
i=0
for off in 0 1 5 $((size / 3)) $((size / 2)) $((size - 70)) $((size - 1)); do
    i=$((i + 1))
    [ "$i" -le 20 ] || break
    cp c.conv t.conv
    flip_byte t.conv "$off"
    checks=$((checks + 1))
    cmp -s c.conv t.conv && { fail "flip at $off did not change the file"; continue; }
    expect 5 "verify with byte $off of $size flipped" -- "$ZK" convenant verify t.conv
    expect 5 "show with byte $off flipped" -- "$ZK" convenant show t.conv
    expect 5 "edit with byte $off flipped" -- "$ZK" convenant set t.conv --authority auth.key queue_quota=9
done
head -c $((size - 1)) c.conv >t.conv
expect 5 "verify a truncated file" -- "$ZK" convenant verify t.conv
: >t.conv
expect 5 "verify an empty file" -- "$ZK" convenant verify t.conv
expect 0 "the original still verifies" -- "$ZK" convenant verify c.conv --authority auth.pub

echo "keys_cli: $checks checks, $failures failures"
[ "$failures" -eq 0 ]
