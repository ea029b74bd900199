#!/usr/bin/env bash
# `npm ci` in each folder given, unless its node_modules was installed by this script from the
# same package-lock.json with the same Node.js. Several suites' installs need the same folders
# (tests/e2e's by e2e, cli and net; tests/deploy's by cli and deploy) and `npm ci` removes and
# reinstalls node_modules every time it runs: on one machine, one install is enough.
set -euo pipefail
for dir in "$@"; do
  stamp="$dir/node_modules/.installed-from"
  want="$(node --version) $(sha256sum <"$dir/package-lock.json" | cut -d" " -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then continue; fi
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" >"$stamp"
done
