#!/usr/bin/env bash
# CLI → CLI throughput, 1 → 1 (docs/cli.md, "Figures"): a fresh release server on a free
# loopback port, one `receive --once` and one `send` of SIZE_MIB random bytes, repeated RUNS
# times. Prints the sender's own figure (first metadata to last ack), the end-to-end MB/s
# (10⁶ bytes/s, from starting the sender, key derivation included, to the receiver's exit),
# and each side's CPU seconds and peak RSS. Not part of run.sh. Needs a release build:
#   cargo build --release -p sharethings -p sharethings-cli
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
size_mib=${SIZE_MIB:-200}
runs=${RUNS:-3}
work="$(mktemp -d)"
server_pid=
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

"$repo/target/release/sharethings" --host 127.0.0.1 --port 0 --log-level info >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do grep -q 'listening on' "$work/server.log" && break; sleep 0.1; done
port="$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$work/server.log")"
export SHARETHINGS_SERVER="http://127.0.0.1:$port" SHARETHINGS_PASSPHRASE=bench-passphrase
head -c "$((size_mib * 1024 * 1024))" /dev/urandom >"$work/payload.bin"
cli="$repo/target/release/sharethings-cli"
for run in $(seq "$runs"); do
  export SHARETHINGS_SESSION="bench-$run-$$"
  mkdir -p "$work/in-$run"
  /usr/bin/time -f '%e %U %S %M' -o "$work/recv.time" "$cli" receive --once --dir "$work/in-$run" 2>"$work/recv.err" &
  recv=$!
  until grep -qs 'receiving in session' "$work/recv.err"; do sleep 0.1; done
  start=$(date +%s.%N)
  /usr/bin/time -f '%e %U %S %M' -o "$work/send.time" "$cli" --name bench send "$work/payload.bin" 2>"$work/send.err"
  wait "$recv"
  end=$(date +%s.%N)
  cmp -s "$work/payload.bin" "$work/in-$run/payload.bin" || { echo "run $run: received file differs" >&2; exit 1; }
  read -r _ su ss sm <"$work/send.time"
  read -r _ ru rs rm <"$work/recv.time"
  grep -o 'in [0-9.]* s, [0-9.]* MB/s' "$work/send.err" | sed "s/^/run $run: sender: delivered /"
  awk -v s="$start" -v e="$end" -v b="$((size_mib * 1024 * 1024))" -v su="$su" -v ss="$ss" -v sm="$sm" \
      -v ru="$ru" -v rs="$rs" -v rm="$rm" -v run="$run" 'BEGIN {
    printf "run %d: end to end %.1f s, %.0f MB/s; sender %.2f CPU-s, %.1f MiB peak; receiver %.2f CPU-s, %.1f MiB peak\n",
      run, e - s, b / (e - s) / 1e6, su + ss, sm / 1024, ru + rs, rm / 1024 }'
  rm -rf "$work/in-$run"
done
