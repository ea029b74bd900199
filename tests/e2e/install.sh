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
if ! command -v node >/dev/null || ! node -e 'process.exit(+process.versions.node.split(".")[0] < 20)'; then
  echo "Node.js 20 or newer is required" >&2
  exit 1
fi
if ! command -v python3 >/dev/null; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y python3 python3-pip
fi
# The vector generator's only dependency besides the standard library.
python3 -c 'import cryptography' 2>/dev/null ||
  python3 -m pip install --quiet cryptography ||
  python3 -m pip install --quiet --break-system-packages cryptography

(cd "$root/web" && npm ci --no-audit --no-fund)
(cd "$here" && npm ci --no-audit --no-fund)
