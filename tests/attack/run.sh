#!/usr/bin/env bash
# The attack suite: the security review's attacks against the release binary with default
# limits (tests/integration/attack/), one at a time, each bounded in time and bytes, on
# loopback only (attackers on 127.0.0.2). Ends with one line "N passed, N failed".
# The server is the release build every suite shares (tests/release-build.sh); the attacks
# are the integration tests in the debug build, which the rust suite has already compiled:
# compiling them in release meant every dependency once more (the test harness unwinds, the
# release profile aborts), about 3 minutes on 2 cores, for attackers whose work is I/O.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
log=$(mktemp)
if ! tests/release-build.sh; then
  echo "0 passed, 1 failed"
  exit 1
fi
SHARETHINGS_BIN="$PWD/target/release/sharethings" \
  cargo test --locked --test integration attack:: -- --ignored --test-threads=1 --nocapture 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
passed=$(sed -n 's/^test result: [a-zA-Z]*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\1/p' "$log" | tail -1)
failed=$(sed -n 's/^test result: [a-zA-Z]*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\2/p' "$log" | tail -1)
passed=${passed:-0}
failed=${failed:-0}
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
rm -f "$log"
echo "$passed passed, $failed failed"
