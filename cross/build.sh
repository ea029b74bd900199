#!/usr/bin/env bash
# Build release binaries of `sharethings` for Raspberry Pi, without rustup targets.
#
#   cross/build.sh                      # the three static musl targets (what releases ship)
#   cross/build.sh all                  # those, the armv7 musl build and the two gnu ones
#   cross/build.sh aarch64-unknown-linux-gnu armv7-unknown-linux-musleabihf
#
# Targets (see docs/deploy.md, "Which binary for which Pi"):
#   aarch64-unknown-linux-musl        Pi 3/4/5, Zero 2 W with a 64-bit OS    static
#   arm-unknown-linux-musleabihf      every Pi with a 32-bit OS (ARMv6 code,  static
#                                     so the Pi 1 and Zero too)
#   armv7-unknown-linux-musleabihf    Pi 2/3/4, Zero 2 W with a 32-bit OS    static, on request
#   x86_64-unknown-linux-musl         any x86-64 Linux box (the amd64 package) static
#   aarch64-unknown-linux-gnu         64-bit Raspberry Pi OS bookworm or newer (glibc >= 2.36)
#   armv7-unknown-linux-gnueabihf     32-bit Raspberry Pi OS bookworm or newer, not ARMv6
#
# The standard library is compiled from source for each target (-Zbuild-std, allowed on a
# stable compiler by RUSTC_BOOTSTRAP=1) with Debian's rustc-web, which cross/toolchain.sh
# unpacks privately; musl targets link with zig (cargo-zigbuild), gnu targets with Debian's
# cross gcc. Results: target/cross/dist/sharethings-<target>, plus a size/time report in
# target/cross/dist/report.tsv. Everything goes under target/cross (CROSS_TARGET_DIR) so the
# shared target/ directory of `cargo test` is never invalidated.
#
# All requested targets build at once by default (CROSS_JOBS): the end of each build is a
# single fat-LTO codegen unit on one core, so running the targets side by side keeps both
# cores busy. Measured: about 410 CPU-seconds per target from scratch, server and client
# (std included; docs/deploy.md).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${CROSS_TARGET_DIR:-$repo/target/cross}"
tc="${CROSS_TOOLCHAIN:-$out/toolchain}"
# Cargo's build directories, one per target (CROSS_BUILD_ROOT: the deploy suite keeps them
# outside the work tree so that a fresh clone reuses the compiled standard library and crates).
build_root="${CROSS_BUILD_ROOT:-$out/build}"
jobs="${CROSS_JOBS:-5}"
musl=(aarch64-unknown-linux-musl arm-unknown-linux-musleabihf x86_64-unknown-linux-musl)
# Not built by default: the ARMv6 binary runs on every 32-bit Pi (the armhf package and the
# container's linux/arm images carry it), so an ARMv7 one would be a fourth full build
# (about 410 CPU-seconds from scratch, a link after every change) that nothing ships.
armv7=(armv7-unknown-linux-musleabihf)
gnu=(aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf)

case "${1:-musl}" in
    musl) targets=("${musl[@]}") ;;
    gnu) targets=("${gnu[@]}") ;;
    all) targets=("${musl[@]}" "${armv7[@]}" "${gnu[@]}") ;;
    *) targets=("$@") ;;
esac

if [ ! -x "$tc/usr/bin/rustc" ] || [ ! -x "$tc/venv/bin/cargo-zigbuild" ]; then
    CROSS_TOOLCHAIN="$tc" "$repo/cross/toolchain.sh"
fi

# The private toolchain comes first on PATH for this script only; rustup's proxies and any
# RUSTC/CARGO variables of a calling cargo are cleared so they cannot mix with it.
unset RUSTC RUSTDOC RUSTC_WRAPPER RUSTUP_TOOLCHAIN CARGO RUSTFLAGS CARGO_BUILD_TARGET
export PATH="$tc/usr/bin:$tc/venv/bin:$PATH"
export LD_LIBRARY_PATH="$tc/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export RUSTC="$tc/usr/bin/rustc"
export RUSTC_BOOTSTRAP=1
# zig keeps a cache of compiled musl/crt objects; keep it with the rest of the build.
export ZIG_GLOBAL_CACHE_DIR="$out/zig-cache"
# Size-tuned release profile (the same values Cargo.toml has);
# variables override Cargo.toml, so these hold whatever the file says today.
export CARGO_PROFILE_RELEASE_OPT_LEVEL="${CARGO_PROFILE_RELEASE_OPT_LEVEL:-s}"
export CARGO_PROFILE_RELEASE_LTO=fat
export CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1
export CARGO_PROFILE_RELEASE_PANIC=abort
export CARGO_PROFILE_RELEASE_STRIP=symbols
export CARGO_PROFILE_RELEASE_DEBUG=false
export CARGO_PROFILE_RELEASE_INCREMENTAL=false

# -Zlocation-detail=none drops file/line strings of panics that cannot happen anyway;
# the panic message itself is kept so a crash still says why in the journal.
common_flags="-Zlocation-detail=none"
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_RUSTFLAGS="$common_flags -C link-self-contained=no"
export CARGO_TARGET_ARMV7_UNKNOWN_LINUX_MUSLEABIHF_RUSTFLAGS="$common_flags -C link-self-contained=no"
export CARGO_TARGET_ARM_UNKNOWN_LINUX_MUSLEABIHF_RUSTFLAGS="$common_flags -C link-self-contained=no"
export CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_RUSTFLAGS="$common_flags -C link-self-contained=no"
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS="$common_flags"
export CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_RUSTFLAGS="$common_flags"
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_LINKER=arm-linux-gnueabihf-gcc
# C code in dependencies (ring's assembly and C, through the cc crate): cargo-zigbuild points
# CC_<target> at `zig cc` for the musl targets itself; the gnu targets use the cross gcc.
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
export CC_armv7_unknown_linux_gnueabihf=arm-linux-gnueabihf-gcc AR_armv7_unknown_linux_gnueabihf=arm-linux-gnueabihf-ar

mkdir -p "$out/dist" "$out/logs"
report="$out/dist/report.tsv"

# Binutils that know the target's ELF machine (cross/toolchain.sh installs the cross ones).
objcopy_for() {
    case "$1" in
        aarch64-*) echo aarch64-linux-gnu-objcopy ;;
        arm*) echo arm-linux-gnueabihf-objcopy ;;
        *) echo objcopy ;;
    esac
}

build_one() {
    local target="$1" bin cmd wall user sys cpu
    case "$target" in
        *-musl*) cmd=(cargo zigbuild) ;;
        *-gnu*) cmd=(cargo build) ;;
        *) echo "cross: unknown target $target" >&2; return 2 ;;
    esac
    # One cargo target dir per target: cargo locks a whole target dir while it builds, which
    # would serialize the parallel builds. `time` records wall and CPU seconds: on a shared
    # machine the CPU seconds are the fairer measure of what a build costs.
    local TIMEFORMAT='%R %U %S' times rc=0
    times="$( { time (cd "$repo" && CARGO_TARGET_DIR="$build_root/$target" "${cmd[@]}" --locked \
        --release -p sharethings -p sharethings-cli --bins --target "$target" -Zbuild-std=std,panic_abort \
        >"$out/logs/$target.log" 2>&1) ; } 2>&1 )" || rc=$?
    if [ "$rc" != 0 ]; then
        echo "cross: $target FAILED, last lines of $out/logs/$target.log:" >&2
        tail -n 30 "$out/logs/$target.log" >&2
        return 1
    fi
    read -r wall user sys <<<"$times"
    cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.0f", u + s }')
    wall=$(awk -v w="$wall" 'BEGIN { printf "%.0f", w }')
    for b in sharethings sharethings-cli; do
        # .comment holds only the compilers' and linker's version strings (lintian asks).
        "$(objcopy_for "$target")" -R .comment "$build_root/$target/$target/release/$b" "$out/dist/$b-$target"
    done
    bin="$out/dist/sharethings-$target"
    printf '%s\t%s\t%s\t%s\n' "$target" "$(stat -c %s "$bin")" "$wall" "$cpu" >"$out/logs/$target.result"
    printf 'cross: %-32s %9s bytes  %5ss wall  %5ss cpu\n' "$target" "$(stat -c %s "$bin")" "$wall" "$cpu" >&2
}

total_start=$(date +%s)
for t in "${targets[@]}"; do
    rm -f "$out/logs/$t.result"
    build_one "$t" &
    # Keep at most $jobs builds running; success is read from the .result files below.
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
done
wait

failed=0
printf 'target\tbytes\twall_s\tcpu_s\n' >"$report"
for t in "${targets[@]}"; do
    if [ -f "$out/logs/$t.result" ]; then cat "$out/logs/$t.result" >>"$report"; else failed=1; fi
done
echo "cross: ${#targets[@]} target(s) in $(($(date +%s) - total_start))s with $jobs at a time; report in $report" >&2
exit "$failed"
