#!/usr/bin/env bash
# Installs what the attack suite (tests/attack/run.sh) needs besides Rust on a fresh Debian 12,
# as root, from package registries only: HAProxy, curl and openssl for the rows that attack
# through the real haproxy.cfg. Idempotent: a second run installs nothing.
set -euo pipefail

need=()
{ command -v haproxy || [ -x /usr/sbin/haproxy ]; } >/dev/null || need+=(haproxy)
command -v curl >/dev/null || need+=(curl)
command -v openssl >/dev/null || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
    echo "attack/install: apt-get install ${need[*]}" >&2
    apt-get update -qq -o DPkg::Lock::Timeout=600
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 "${need[@]}"
fi
