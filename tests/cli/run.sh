#!/usr/bin/env bash
# CLI suite (issues 14 and 28): builds the release server and CLI, then runs cli.test.mjs,
# v3.test.mjs, clip.test.mjs, clip-wayland.test.mjs, folders.test.mjs, send-to.test.mjs,
# inbox.test.mjs, restart.test.mjs and offline-guess.test.mjs with node's test runner: the CLI
# against the real server, Chromium running the web app, and HAProxy; format v3 between CLIs
# (and a server that misbehaves through a proxy); `clip` on Xvfb displays, both ways and one
# way, and on a headless Wayland compositor (sway); folders between CLIs and with Chromium;
# items for one member; the inbox on disk; a server killed mid-transfer (a plain send and a
# send --to) and started again; a dictionary attack on every byte the server saw of a format 2
# and a format 3 session.
# Last line: "N passed, N failed". Every address used is on 127.0.0.0/8.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$repo" || exit 1
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
# shellcheck source=../tap-counts.sh
source "$repo/tests/tap-counts.sh"

if ! tests/release-build.sh; then
  echo "0 passed, 1 failed"
  exit 1
fi

node --test --test-concurrency=1 --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$logs/cli.tap" "$here/cli.test.mjs" "$here/v3.test.mjs" \
  "$here/clip.test.mjs" "$here/clip-wayland.test.mjs" "$here/folders.test.mjs" "$here/send-to.test.mjs" "$here/inbox.test.mjs" \
  "$here/restart.test.mjs" "$here/offline-guess.test.mjs"
tap_summary "$logs/cli.tap"
