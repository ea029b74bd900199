#!/usr/bin/env bash
# Installs what the web checks and the browser tests need. Idempotent; runs as root on a fresh
# Debian 12 with only the package registries reachable.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

if [ ! -x /usr/bin/chromium ]; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
fi
# Vite 8 needs Node.js 20.19 or newer. Debian 12's own nodejs is 18, so when nothing newer is
# here, bootstrap: Debian's node+npm, then the `node` package from the npm registry, which ships
# the official binary (node-linux-<arch>) as a registry package.
node_ok() { command -v node >/dev/null && node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>20||(a===20&&b>=19)?0:1)'; }
if ! node_ok; then
  if ! command -v npm >/dev/null; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y nodejs npm
  fi
  npm install -g --no-audit --no-fund node@20
  hash -r
  node_ok || { echo "could not install Node.js >= 20.19" >&2; exit 1; }
fi

# The vector generators' dependency besides the standard library (and libsodium, below).
if ! command -v python3 >/dev/null; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y python3
fi
if ! python3 -c 'import cryptography' 2>/dev/null; then
  if ! python3 -m pip --version >/dev/null 2>&1; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y python3-pip
  fi
  python3 -m pip install --quiet cryptography ||
    python3 -m pip install --quiet --break-system-packages cryptography
fi

# The v3 generator's ristretto255 is libsodium's, loaded through ctypes (PyNaCl does not bind it).
if ! ldconfig -p | grep -q 'libsodium\.so\.23'; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y libsodium23
fi

(cd "$root/web" && npm ci --no-audit --no-fund)
(cd "$here" && npm ci --no-audit --no-fund)
