#!/usr/bin/env bash
# The release build: every artifact of this commit in one folder, with SHA256SUMS.
#
#   packaging/release.sh [OUT]        # default target/release-artifacts
#
#   1. cross/build.sh musl: the static server and command-line client for aarch64, ARMv6
#      (arm, for every 32-bit Pi) and x86-64 (sharethings-<target>, sharethings-cli-<target>);
#   2. packaging/build-deb.sh: sharethings_<version>_{arm64,armhf,amd64}.deb;
#   3. packaging/image/build.sh: sharethings-<version>-raspi-arm64.img.xz (into RASPI_IMAGE_DIR,
#      default target/image/raspi, from the system of ROOTFS_DIR, default target/image/rootfs);
#   4. packaging/container/build.sh: sharethings-<version>-oci.tar, the multi-arch image.
# Each step reuses what is already built from the same inputs. OUT then holds exactly these
# files (hard links where the file system allows) and SHA256SUMS, one `sha256sum` line per
# file: `cd OUT && sha256sum -c SHA256SUMS` checks a download. The binaries and the web
# bundle they embed build reproducibly: the same bytes from the same commit in any folder
# (docs/deploy.md, "Checking a release").
# Needs what each step needs (tests/deploy/install.sh installs all of it) and root.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$repo/target/release-artifacts}"
version="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$repo/Cargo.toml" | head -n 1)"
dist="${CROSS_DIST:-$repo/target/cross/dist}"
debs="${DEB_OUT:-$repo/target/cross/deb}"
image_dir="${RASPI_IMAGE_DIR:-$repo/target/image/raspi}"
export ROOTFS_DIR="${ROOTFS_DIR:-$repo/target/image/rootfs}"
oci="$repo/target/cross/oci/sharethings-$version-oci.tar"

step() { # step <what> <command...>: run it and say how long it took
    local what="$1" t
    shift
    t=$(date +%s)
    "$@"
    printf 'release: %s in %s s\n' "$what" "$(($(date +%s) - t))" >&2
}

step "binaries" bash "$repo/cross/build.sh" musl
step "packages" bash "$repo/packaging/build-deb.sh"
step "Raspberry Pi image" bash "$repo/packaging/image/build.sh" "$image_dir"
step "container image" bash "$repo/packaging/container/build.sh" "$oci"

artifacts=()
for target in aarch64-unknown-linux-musl arm-unknown-linux-musleabihf x86_64-unknown-linux-musl; do
    artifacts+=("$dist/sharethings-$target" "$dist/sharethings-cli-$target")
done
for arch in arm64 armhf amd64; do artifacts+=("$debs/sharethings_${version}_$arch.deb"); done
artifacts+=("$image_dir/sharethings-$version-raspi-arm64.img.xz" "$oci")

rm -rf "$out"
mkdir -p "$out"
names=()
for f in "${artifacts[@]}"; do
    ln -f "$f" "$out/" 2>/dev/null || cp "$f" "$out/"
    names+=("$(basename "$f")")
done
(cd "$out" && sha256sum -- "${names[@]}" >SHA256SUMS)
printf 'release: %s (%s files and SHA256SUMS)\n' "$out" "${#artifacts[@]}" >&2
