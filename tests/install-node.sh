#!/usr/bin/env bash
# Node.js 20.19 or newer, for every suite that runs node: Vite 8 needs it, and the suites that
# run side by side (tests/run.sh) must find the same `node`, never one replaced under them by
# another suite's install. Debian 12's own nodejs is 18, so when nothing newer is here,
# bootstrap: Debian's node and npm, then the `node` package from the npm registry, which ships
# the official binary (node-linux-<arch>) as a registry package. Idempotent; runs as root.
set -euo pipefail

node_ok() { command -v node >/dev/null && node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>20||(a===20&&b>=19)?0:1)'; }
node_ok && exit 0
if ! command -v npm >/dev/null; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y -o DPkg::Lock::Timeout=600 nodejs npm
fi
npm install -g --no-audit --no-fund node@20
hash -r
node_ok || { echo "could not install Node.js >= 20.19" >&2; exit 1; }
