#!/usr/bin/env bash
# Runs the Node interop tests (the real socket.io-client / engine.io-client from npm) against
# the release builds of `sharethings` and `examples/conformance`. Builds them first.
# Last line: `N passed, N failed`; exit status non-zero when anything failed.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

if ! "$root/tests/release-build.sh"; then
  echo "run.sh: cargo build failed" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
if [ ! -d "$here/node_modules/socket.io-client" ]; then
  echo "run.sh: node_modules missing; run tests/node/install.sh first" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

cd "$here"
tap="$(mktemp)"
trap 'rm -f "$tap"' EXIT
passed=0
failed=0
# One file at a time (node 18 has no --test-concurrency): the servers' timing-sensitive tests
# then never compete for the CPU with another file's.
for file in *.test.js; do
  node --test --test-reporter=tap "$@" "$file" 2>&1 | tee "$tap"
  status=${PIPESTATUS[0]}
  # node's TAP summary ends with `# pass N` and `# fail N` (skipped tests are counted apart).
  p="$(sed -n 's/^# pass \([0-9][0-9]*\)$/\1/p' "$tap" | tail -n 1)"
  f="$(sed -n 's/^# fail \([0-9][0-9]*\)$/\1/p' "$tap" | tail -n 1)"
  if [ -z "$p" ] || [ -z "$f" ]; then
    echo "run.sh: no TAP summary from node --test $file (exit status $status)" >&2
    p="${p:-0}"
    f=$(( ${f:-0} + 1 ))
  elif [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "run.sh: node --test $file exited with $status" >&2
    f=1
  fi
  passed=$(( passed + p ))
  failed=$(( failed + f ))
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
