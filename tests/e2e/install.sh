#!/usr/bin/env bash
# Installs what the web checks and the browser tests need. Idempotent; runs as root on a fresh
# Debian 12 with only the package registries reachable.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

# The three engines: Chromium; Firefox ESR (driven over WebDriver BiDi); WebKitGTK, Safari's
# engine, through WebKitWebDriver, hosted by engines/webkit-host.py (python3-gi) under Xvfb.
browsers=(chromium firefox-esr webkit2gtk-driver xvfb python3-gi gir1.2-webkit2-4.1)
missing=()
for pkg in "${browsers[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
fi
"$root/tests/install-node.sh"

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

"$root/tests/npm-ci.sh" "$root/web" "$here"
