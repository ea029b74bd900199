#!/usr/bin/env bash
# Installs what the CLI suite needs: Chromium and Node.js (as tests/e2e does), HAProxy and
# openssl (as tests/deploy does), Xvfb and xclip, sway and wl-clipboard (for clip), and the
# node_modules of the e2e and deploy suites, whose helpers this one imports. Idempotent; runs
# as root on a fresh Debian 12.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/sbin/haproxy ] || command -v haproxy >/dev/null || missing+=(haproxy)
command -v openssl >/dev/null || missing+=(openssl)
# clip.test.mjs: an X server per desktop, and xclip to copy and paste as the user.
command -v Xvfb >/dev/null || missing+=(xvfb)
command -v xclip >/dev/null || missing+=(xclip)
# clip-wayland.test.mjs: a headless Wayland compositor with the data-control protocol
# (sway, on wlroots), and wl-clipboard to copy and paste as the user.
command -v sway >/dev/null || missing+=(sway)
command -v wl-copy >/dev/null || missing+=(wl-clipboard)
if [ "${#missing[@]}" -gt 0 ]; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y -o DPkg::Lock::Timeout=600 "${missing[@]}"
fi
node_ok() { command -v node >/dev/null && node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>20||(a===20&&b>=19)?0:1)'; }
if ! node_ok; then
  "$root/tests/e2e/install.sh"
fi
"$root/tests/npm-ci.sh" "$root/tests/e2e" "$root/tests/deploy"
