#!/usr/bin/env bash
# Wi-Fi suite (issue 26): builds the release server, the CLI and the Wi-Fi switch
# (examples/wifi), then runs net.test.mjs: two Chromiums and the CLI in one session, each in
# its own network namespace behind a shaped link (tests/net/lab.mjs). Needs root (network
# namespaces). NET_PROFILES (default "good poor") chooses the link profiles: "good" alone
# saves the poor profile's 6 to 7 minutes (docs/testing.md). Last line: "N passed, N failed".
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$repo" || exit 1
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
# shellcheck source=../tap-counts.sh
source "$repo/tests/tap-counts.sh"

if [ "$(id -u)" -ne 0 ]; then
  echo "not ok - the Wi-Fi suite needs root for its network namespaces"
  echo "0 passed, 1 failed"
  exit 1
fi
if ! tests/release-build.sh; then
  echo "0 passed, 1 failed"
  exit 1
fi

node --test --test-concurrency=1 --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$logs/net.tap" "$here/net.test.mjs"
tap_summary "$logs/net.tap"
