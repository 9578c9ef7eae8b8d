#!/usr/bin/env bash
# Install what zorgnet needs from Debian's archive (idempotent; apt-get only runs when something
# is missing). Needs root, or sudo.
set -euo pipefail
pkgs=(build-essential cmake pkg-config libzmq3-dev libsodium-dev libmsgpack-dev libsqlite3-dev
      libcmocka-dev sqlite3 clang)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi
