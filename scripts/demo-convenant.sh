#!/usr/bin/env bash
# demo-convenant.sh [FOLDER] — keys and a signed convenant for the Oldenzaal demo.
#
# Creates in FOLDER (default ./demo):
#   authority.key/.pub, authority.network.key   the municipality's signing key and the network key
#   broker.key/.pub                             the broker (zorgnetd)
#   <id>.key/.pub                               one key set per convenant entry (see PARTNERS)
#   convenant.msgpack                           the signed convenant
# Networks 0-12-binnenstad, 0-12-thij, 12-18 and 18plus with the partners of the Oldenzaal care
# networks; the broker endpoint is $ZORGNET_ENDPOINT or tcp://127.0.0.1:7450.
#
# Idempotent: a folder that already holds a convenant that verifies is left as it is; keys that
# exist are reused. The convenant is built under a temporary name and moved into place only when
# complete, so an interrupted run never leaves a half-filled convenant behind.
# Uses the zorgnet-keys binary from $ZN_BIN (default ./build).
set -euo pipefail

dir=${1:-./demo}
zk="${ZN_BIN:-./build}/zorgnet-keys"
endpoint=${ZORGNET_ENDPOINT:-tcp://127.0.0.1:7450}
conv="$dir/convenant.msgpack"
building="$dir/convenant.msgpack.building"

say() { echo "demo-convenant: $*"; }
die() { echo "demo-convenant: $*" >&2; exit 1; }

[ -x "$zk" ] || die "$zk not found; build first or set ZN_BIN to the build folder"
umask 077
mkdir -p "$dir"

if [ -e "$conv" ]; then
    if [ -e "$dir/authority.pub" ] && "$zk" convenant verify "$conv" --authority "$dir/authority.pub" >/dev/null 2>&1; then
        say "$conv already holds a valid convenant; left as it is"
        "$zk" convenant verify "$conv" --authority "$dir/authority.pub"
        exit 0
    fi
    aside="$conv.invalid.$(date -u +%Y%m%dT%H%M%SZ)"
    mv "$conv" "$aside"
    say "$conv did not verify; moved it to $aside and building a new one"
fi
rm -f "$building"

# key KIND NAME: create NAME.key/.pub unless both exist.
key() {
    local kind=$1 name=$2
    if [ -e "$dir/$name.key" ] && [ -e "$dir/$name.pub" ]; then
        return 0
    fi
    if [ -e "$dir/$name.key" ] || [ -e "$dir/$name.pub" ]; then
        die "only one half of $dir/$name.key / $dir/$name.pub exists; remove it and run again"
    fi
    "$zk" new --kind "$kind" --out "$dir/$name" >/dev/null
    say "new $kind keys: $dir/$name.key, $dir/$name.pub"
}

key authority authority
key broker broker

"$zk" convenant init --authority "$dir/authority.key" --broker "$dir/broker.pub" \
    --name "Zorgnetwerken Oldenzaal (demo)" --endpoint "$endpoint" --out "$building" >/dev/null

# add ID NAME CATEGORY ROLE [NETWORK...]
add() {
    local id=$1 name=$2 category=$3 role=$4
    shift 4
    local nets=()
    local n
    for n in "$@"; do
        nets+=(--network "$n")
    done
    key partner "$id"
    "$zk" convenant add-partner "$building" --authority "$dir/authority.key" --id "$id" \
        --name "$name" --category "$category" --pub "$dir/$id.pub" --role "$role" "${nets[@]}" >/dev/null
}

all="0-12-binnenstad 0-12-thij 12-18 18plus"
# The coordinator first, so the networks are listed in this order.
# shellcheck disable=SC2086
add coordinator "Procesmanager zorgnetwerken, gemeente Oldenzaal" municipality coordinator $all
add school-essen "Basisschool De Essen" school partner 0-12-binnenstad
add school-thij "Basisschool De Thij" school partner 0-12-thij
add wijkracht "Wijkracht (maatschappelijk werk)" social-work partner 0-12-thij 12-18 18plus
# shellcheck disable=SC2086
add politie "Politie (wijkagent, jeugdagent)" police partner $all
add ggd "GGD Twente, jeugdgezondheidszorg" youth-health partner 0-12-binnenstad 0-12-thij 12-18
# shellcheck disable=SC2086
add mplein "Maatschappelijk Plein (team jeugd en zorg, leerplicht)" municipality partner $all
add impuls "Impuls (kinder- en jongerenwerk)" youth-work partner 0-12-thij 12-18 18plus
add auditor "Auditor gegevensdeling" audit auditor

"$zk" convenant verify "$building" --authority "$dir/authority.pub" >/dev/null
chmod 644 "$building"
mv "$building" "$conv"
say "wrote $conv"
"$zk" convenant verify "$conv" --authority "$dir/authority.pub"
