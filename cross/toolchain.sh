#!/usr/bin/env bash
# Fetch a private Rust cross toolchain for the Raspberry Pi builds, without rustup targets.
#
# What it does, and why this way:
# - Debian 12's `rustc-web` / `cargo-web` (a newer Rust than bookworm's `rustc`) plus
#   `rust-web-src` are fetched with `apt-get download` and unpacked with `dpkg -x` into
#   $CROSS_TOOLCHAIN (default target/cross/toolchain). They are never installed with apt,
#   because those packages put /usr/bin/rustc and /usr/bin/cargo on the system PATH and
#   conflict with rustup; this way the rustup toolchain used by `cargo test` is untouched.
# - The standard library for each ARM target is compiled from `rust-web-src` by
#   `-Zbuild-std` (see build.sh): no prebuilt ARM std is needed, and musl targets, which
#   Debian ships no std for, work the same way as gnu ones.
# - `ziglang` + `cargo-zigbuild` from PyPI go into a private virtualenv; zig is the musl
#   C toolchain and linker (it carries musl's libc.a and crt files for every target).
# - Debian's `gcc-aarch64-linux-gnu` / `gcc-arm-linux-gnueabihf` with
#   `libc6-dev-arm64-cross` / `libc6-dev-armhf-cross` link the gnu targets (without the
#   libc6-dev packages linking fails for lack of Scrt1.o). These cross packages are
#   amd64 packages, so no foreign architecture is ever added to apt.
#
# Idempotent: a second run with everything present only checks versions.
# Usage: cross/toolchain.sh            (as root, or with the apt packages already present)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tc="${CROSS_TOOLCHAIN:-$repo/target/cross/toolchain}"
rust_debs=(rustc-web cargo-web libstd-rust-web-1.96 libstd-rust-web-dev rust-web-src)

say() { printf 'toolchain: %s\n' "$*" >&2; }

# On a fresh machine apt has no package lists yet; fetch them once, only if needed.
ensure_lists() {
    apt-cache show rustc-web gcc-aarch64-linux-gnu >/dev/null 2>&1 ||
        apt-get update -qq -o DPkg::Lock::Timeout=600
}

apt_install() {
    # Only installs what is missing, so a second run needs no network and no lock.
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "apt-get install ${missing[*]}"
    ensure_lists
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        -o DPkg::Lock::Timeout=600 "${missing[@]}" >/dev/null
}

# Runtime libraries the unpacked rustc/cargo link against (libLLVM, libgit2, curl, ...):
# plain shared libraries, harmless to install system-wide. Read from the packages' own
# dependencies so that a new security release of rustc-web (another libllvm) still works.
runtime_deps() {
    apt-cache depends --no-recommends --no-suggests --no-conflicts --no-breaks \
        --no-replaces --no-enhances "${rust_debs[@]}" 2>/dev/null |
        awk '/^ *Depends: [a-z]/ {print $2}' |
        grep -vE '^(rustc|cargo|libstd-rust|rust-|gcc|binutils|clang|libc6-dev|libc-dev)' |
        sort -u
}

# 1. Cross C toolchains and the runtime libraries of the Rust toolchain.
apt_install gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf libc6-dev-arm64-cross \
    libc6-dev-armhf-cross xz-utils
if [ ! -x "$tc/usr/bin/rustc" ]; then
    ensure_lists
    mapfile -t deps < <(runtime_deps)
    apt_install "${deps[@]}"

    # 2. Rust compiler, cargo, host std and std sources, unpacked privately.
    say "unpacking ${rust_debs[*]} into $tc"
    rm -rf "$tc.tmp" && mkdir -p "$tc.tmp/debs"
    # apt-get download writes into the current directory; the _apt sandbox user cannot
    # write into root-owned directories, which only costs a warning, so silence it.
    (cd "$tc.tmp/debs" || exit 1; { apt-get download -qq "${rust_debs[@]}" 2>&1 | grep -v 'unsandboxed' >&2; } || true)
    for deb in "$tc.tmp/debs"/*.deb; do dpkg-deb -x "$deb" "$tc.tmp"; done
    rm -rf "$tc.tmp/debs"
    [ -x "$tc.tmp/usr/bin/rustc" ] || { say "rustc-web did not unpack"; exit 1; }
    rm -rf "$tc" && mv "$tc.tmp" "$tc"
fi

# 3. zig + cargo-zigbuild in a private virtualenv.
if [ ! -x "$tc/venv/bin/cargo-zigbuild" ]; then
    say "installing ziglang and cargo-zigbuild from PyPI"
    if ! python3 -m venv "$tc/venv" 2>/dev/null; then
        apt_install python3-venv
        python3 -m venv "$tc/venv"
    fi
    "$tc/venv/bin/pip" install -q --disable-pip-version-check ziglang cargo-zigbuild
fi

LD_LIBRARY_PATH="$tc/usr/lib/x86_64-linux-gnu" "$tc/usr/bin/rustc" --version >&2
say "ready in $tc"
