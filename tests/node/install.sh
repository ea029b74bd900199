#!/usr/bin/env bash
# Installs what the Node interop tests need: Node.js and npm (from the distribution when
# missing), then exactly the locked packages with `npm ci`. Safe to run again.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

node_major() { node -e 'process.stdout.write(process.versions.node.split(".")[0])' 2>/dev/null || echo 0; }

# node --test with emitWithAck and the TAP reporter needs Node 18 or later.
if ! command -v npm >/dev/null 2>&1 || [ "$(node_major)" -lt 18 ]; then
  if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then sudo=sudo; else sudo=; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nodejs npm >/dev/null
fi
if [ "$(node_major)" -lt 18 ]; then
  echo "install.sh: Node.js 18 or later is needed, found $(node --version 2>/dev/null || echo none)" >&2
  exit 1
fi

cd "$here"
# Reinstall only when the lock file changed since the last install.
if [ -f node_modules/.package-lock.json ] && cmp -s package-lock.json node_modules/.package-lock.json.installed 2>/dev/null; then
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
cp package-lock.json node_modules/.package-lock.json.installed
