#!/usr/bin/env bash
# Installs what the deployment suite (tests/deploy/run.sh) needs on a fresh Debian 12, as
# root, from package registries only. Idempotent: a second run installs nothing.
#   apt: haproxy (2.6), qemu-user, openssl, systemd (systemd-analyze), node if missing;
#        for the packages and the emulated Pi: dpkg-dev, lintian, debootstrap,
#        e2fsprogs (mkfs.ext4 -d), qemu-system-arm (qemu-system-aarch64), qemu-utils (qemu-img);
#        for the Raspberry Pi image: dosfstools, mtools, fdisk (sfdisk), xz-utils, and
#        openssh-client to log in to it; for the container image: buildah, podman, runc,
#        slirp4netns, netavark; for the second build of the reproducibility check: rsync
#   cross/toolchain.sh: the private Rust cross toolchain, cross gcc, zig
#   npm: socket.io-client, pinned by package-lock.json
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

# Sets `need` to the packages whose commands are missing.
missing() {
    need=()
    { command -v haproxy || [ -x /usr/sbin/haproxy ]; } >/dev/null || need+=(haproxy)
    command -v qemu-aarch64 >/dev/null && command -v qemu-arm >/dev/null || need+=(qemu-user)
    command -v openssl >/dev/null || need+=(openssl)
    command -v systemd-analyze >/dev/null || need+=(systemd)
    command -v dpkg-deb >/dev/null || need+=(dpkg-dev)
    command -v lintian >/dev/null || need+=(lintian)
    { command -v debootstrap || [ -x /usr/sbin/debootstrap ]; } >/dev/null || need+=(debootstrap)
    { command -v mkfs.ext4 || [ -x /usr/sbin/mkfs.ext4 ]; } >/dev/null || need+=(e2fsprogs)
    { command -v mkfs.vfat || [ -x /usr/sbin/mkfs.vfat ]; } >/dev/null || need+=(dosfstools)
    command -v mcopy >/dev/null || need+=(mtools)
    { command -v sfdisk || [ -x /usr/sbin/sfdisk ]; } >/dev/null || need+=(fdisk)
    command -v xz >/dev/null || need+=(xz-utils)
    command -v ssh >/dev/null && command -v ssh-keygen >/dev/null || need+=(openssh-client)
    command -v rsync >/dev/null || need+=(rsync)
    command -v buildah >/dev/null || need+=(buildah)
    command -v podman >/dev/null || need+=(podman)
    { command -v runc || [ -x /usr/sbin/runc ]; } >/dev/null || need+=(runc)
    command -v slirp4netns >/dev/null || need+=(slirp4netns)
    [ -x /usr/lib/podman/netavark ] || need+=(netavark)
    if ! command -v qemu-system-aarch64 >/dev/null; then
        # qemu-utils comes from the same source package and must have the same version: a
        # backported qemu-utils either blocks Debian's qemu-system-arm or is removed by it, and
        # qemu-img with it. Both go in together, at qemu-system-arm's version.
        local version
        version="$(apt-cache policy qemu-system-arm | sed -n 's/^ *Candidate: //p')"
        need+=(qemu-system-arm ipxe-qemu "qemu-utils=$version")
    elif ! command -v qemu-img >/dev/null; then
        need+=(qemu-utils)
    fi
    local node_major
    node_major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
    [ "$node_major" -ge 18 ] || need+=(nodejs npm)
}

missing
if [ ${#need[@]} -gt 0 ]; then
    apt-get update -qq -o DPkg::Lock::Timeout=600
    missing # after the update, so that a version named is one apt has
    echo "deploy/install: apt-get install ${need[*]}" >&2
    # Debian's haproxy service, if systemd starts it, has no frontend and binds nothing.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends --allow-downgrades \
        -o DPkg::Lock::Timeout=600 "${need[@]}" >/dev/null
    # apt may remove a package to make room for another: prove that every command is there.
    missing
    if [ ${#need[@]} -gt 0 ]; then
        echo "deploy/install: still missing after apt-get install: ${need[*]}" >&2
        exit 1
    fi
fi

# Into the per-machine cache, where tests/deploy/run.sh looks for it (cache-env.sh says why).
# shellcheck source=SCRIPTDIR/cache-env.sh
. "$here/cache-env.sh"
bash "$repo/cross/toolchain.sh"

"$repo/tests/npm-ci.sh" "$here"
echo "deploy/install: ready" >&2
