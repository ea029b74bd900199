#!/usr/bin/env bash
# Installs what the Node interop tests need: Node.js (tests/install-node.sh), then exactly the
# locked packages with `npm ci`. Safe to run again.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

"$here/../install-node.sh"

cd "$here"
# Reinstall only when the lock file changed since the last install.
if [ -f node_modules/.package-lock.json ] && cmp -s package-lock.json node_modules/.package-lock.json.installed 2>/dev/null; then
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
cp package-lock.json node_modules/.package-lock.json.installed
