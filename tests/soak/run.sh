#!/usr/bin/env bash
# Soak suite (issue 26, opt-in: `tests/run.sh soak`): the benchmark's soak (examples/bench,
# `--soak`) for SOAK_MINUTES (default 5): 50 members in 10 sessions churning against the
# release server, sampled every 10 s, with the soak's own checks (no refusal, lost ack or
# corrupt chunk; p99 text latency; no memory growth; back to idle afterwards). The table and
# the plot (target/soak.png) are the benchmark's. Last line: "N passed, N failed".
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$repo" || exit 1

if ! tests/release-build.sh; then
  echo "0 passed, 1 failed"
  exit 1
fi
if target/release/examples/bench --soak "${SOAK_MINUTES:-5}"; then
  echo "ok - soak of ${SOAK_MINUTES:-5} min"
  echo "1 passed, 0 failed"
else
  echo "not ok - soak of ${SOAK_MINUTES:-5} min"
  echo "0 passed, 1 failed"
  exit 1
fi
