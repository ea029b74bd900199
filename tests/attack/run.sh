#!/usr/bin/env bash
# The attack suite: the security review's attacks against the release binary with default
# limits (tests/integration/attack/), one at a time, each bounded in time and bytes, on
# loopback only (attackers on 127.0.0.2). Ends with one line "N passed, N failed".
# Cost: one release build of the test binary (about 3 minutes on 2 cores), then about 80 s.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
log=$(mktemp)
cargo test --release --test integration attack:: -- --ignored --test-threads=1 --nocapture 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
passed=$(sed -n 's/^test result: [a-zA-Z]*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\1/p' "$log" | tail -1)
failed=$(sed -n 's/^test result: [a-zA-Z]*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\2/p' "$log" | tail -1)
passed=${passed:-0}
failed=${failed:-0}
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
rm -f "$log"
echo "$passed passed, $failed failed"
