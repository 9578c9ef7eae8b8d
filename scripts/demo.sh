#!/usr/bin/env bash
# Install what is needed, build, create the Oldenzaal demo convenant with its keys in ./demo
# (kept between runs), and run the broker in the foreground on loopback (Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)"
ZN_BIN=./build scripts/demo-convenant.sh ./demo
echo
echo "broker: tcp://127.0.0.1:7450 — partners' keys are in ./demo; see README.md, 'A first case'."
exec ./build/zorgnetd --convenant demo/convenant.msgpack --key demo/broker.key --db demo/broker.db
