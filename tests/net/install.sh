#!/usr/bin/env bash
# Installs what the Wi-Fi suite needs: iproute2 and ethtool (namespaces, veth pairs, offloads
# off), curl (the server's /metrics from inside its namespace), and what tests/e2e installs
# (Chromium, Node.js, playwright-core in its node_modules, which this suite imports).
# Idempotent; runs as root on a fresh Debian 12.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

missing=()
command -v ip >/dev/null || missing+=(iproute2)
command -v ethtool >/dev/null || [ -x /usr/sbin/ethtool ] || missing+=(ethtool)
command -v curl >/dev/null || missing+=(curl)
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y -o DPkg::Lock::Timeout=600 "${missing[@]}"
fi
if [ ! -d "$root/tests/e2e/node_modules/playwright-core" ] || [ ! -x /usr/bin/chromium ]; then
  "$root/tests/e2e/install.sh"
fi
