#!/usr/bin/env bash
# Install what is needed, build, create the Oldenzaal demo convenant with its keys in ./demo
# (kept between runs), give it the demo's rules for matches (below), and run the broker in the
# foreground on loopback (Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)"
ZN_BIN=./build scripts/demo-convenant.sh ./demo

# The demo's rules for matches (docs/CONVENANT.md, "Disclosure and decision rules"), set once:
# - decision rules: per network the partner categories in the order a lead (regiehouder) is
#   proposed — in the primary-school networks the school, which sees the child every day; from 12
#   the youth health care (GGD); for adults social work;
# - one disclosure rule: a person match between 0-12-thij and 12-18 (a child moving on to
#   secondary school in the same neighbourhood) is shown to both partners, not only to the
#   coordinators as by default.
shown=$(./build/zorgnet-keys convenant show demo/convenant.msgpack)
if grep -qF "Lead proposal in 12-18: none" <<<"$shown"; then
    ./build/zorgnet-keys convenant set demo/convenant.msgpack --authority demo/authority.key \
        decision:0-12-binnenstad=school,youth-health,municipality,police \
        decision:0-12-thij=school,youth-health,social-work,municipality,youth-work,police \
        decision:12-18=youth-health,social-work,municipality,youth-work,police \
        decision:18plus=social-work,municipality,youth-work,police \
        disclosure:0-12-thij:12-18:person=partners
fi
./build/zorgnet-keys convenant show demo/convenant.msgpack | sed -n '/^Disclosure rules/,/^Policy numbers/{/^Policy numbers/!p}'

echo
echo "broker: tcp://127.0.0.1:7450 — partners' keys are in ./demo; see README.md, 'A first case',"
echo "'Signals' and 'Cases, consent, safety overrides and handovers'."
exec ./build/zorgnetd --convenant demo/convenant.msgpack --key demo/broker.key --db demo/broker.db
