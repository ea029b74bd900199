#!/usr/bin/env bash
# Build (once) the Debian bookworm arm64 system the package test boots under
# qemu-system-aarch64, from Debian's own packages, and cache it.
#
#   tests/deploy/vm/build-image.sh [DIR]      # default DIR: target/deploy-vm/bookworm-arm64
#
# Result in DIR: rootfs.img (ext4, the whole system with systemd as PID 1), vmlinuz (Debian's
# linux-image-arm64 kernel) and initrd.img (busybox plus the few virtio/ext4 modules that
# kernel needs to find its root), and a stamp naming the inputs. A second run with the same
# inputs does nothing.
#
# How, on an x86-64 host whose binfmt_misc has no arm64 handler:
#   1. debootstrap --foreign unpacks the arm64 packages on the host (no arm64 code runs);
#   2. the kernel and busybox-static are taken from the very .debs it downloaded, and the
#      kernel's module dependencies are read from the modules' own .modinfo sections;
#   3. debootstrap --second-stage (dpkg configures every package) and then
#      tests/deploy/vm/setup.sh (network, the test agent) run chrooted into the tree under
#      qemu-user, through tests/deploy/vm/arm64-chroot.sh (a user namespace with its own
#      binfmt_misc; Linux 6.7 or later). That is about 3 times cheaper than booting the tree
#      under qemu-system-aarch64 for it, as the first version of this script did;
#   4. the tree becomes an ext4 image (mkfs.ext4 -d).
# The mirror is Debian's (DEBIAN_MIRROR overrides it). The static qemu-aarch64 is
# QEMU_AARCH64_STATIC, else qemu-aarch64-static on PATH, else Debian's qemu-user-static
# package unpacked (never installed: it would register handlers for the whole host) next to
# DIR. Needs root, debootstrap, e2fsprogs, cpio, util-linux's unshare.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
dir="${1:-$repo/target/deploy-vm/bookworm-arm64}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
suite=bookworm
# systemd as PID 1 with udev and D-Bus, as on Raspberry Pi OS Lite; HAProxy and openssl for
# sharethings-setup-tls; curl for the test agent. linux-image and busybox-static are only
# downloaded: they are taken apart on the host and never installed in the image.
include=systemd-sysv,udev,dbus,haproxy,openssl,ca-certificates,curl,linux-image-arm64,busybox-static
inputs="$(cat "$0" "$here/arm64-chroot.sh" "$here/init" "$here/setup.sh" "$here/agent.sh" | sha256sum | cut -c1-16) $suite $include"

say() { printf 'vm-image: %s\n' "$*" >&2; }

# Path of a static qemu-aarch64 (see above).
qemu_static() {
    local unpacked
    unpacked="$(dirname "$dir")/qemu-user-static/usr/bin/qemu-aarch64-static"
    if [ -n "${QEMU_AARCH64_STATIC:-}" ]; then echo "$QEMU_AARCH64_STATIC"; return; fi
    if command -v qemu-aarch64-static; then return; fi
    if [ ! -x "$unpacked" ]; then
        say "unpacking Debian's qemu-user-static into $(dirname "$dir")/qemu-user-static"
        mkdir -p "$work/qemu-deb"
        # apt-get download writes into the current directory; the _apt sandbox user cannot
        # write into root-owned directories, which only costs a warning.
        (cd "$work/qemu-deb" || exit 1; apt-get download -qq qemu-user-static 2>&1 | grep -v unsandboxed >&2 || true)
        mkdir -p "$(dirname "$dir")/qemu-user-static"
        dpkg-deb --fsys-tarfile "$work"/qemu-deb/qemu-user-static_*.deb |
            tar -x -C "$(dirname "$dir")/qemu-user-static" ./usr/bin/qemu-aarch64-static
        rm -rf "$work/qemu-deb"
    fi
    echo "$unpacked"
}

if [ -f "$dir/stamp" ] && [ "$(cat "$dir/stamp")" = "$inputs" ] &&
    [ -f "$dir/rootfs.img" ] && [ -f "$dir/vmlinuz" ] && [ -f "$dir/initrd.img" ]; then
    say "cached in $dir"
    exit 0
fi
[ "$(id -u)" = 0 ] || { say "needs root (debootstrap, file ownership in the image)"; exit 1; }

start=$(date +%s)
work="$dir.work"
rm -rf "$work" && mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
root="$work/root"

say "debootstrap --foreign $suite arm64 from $mirror"
debootstrap --foreign --arch=arm64 --variant=minbase --include="$include" \
    "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -n 20 "$work/debootstrap.log" >&2; exit 1; }
stage1=$(($(date +%s) - start))

# Kernel and busybox out of the downloaded packages, and off the second stage's list.
archives="$root/var/cache/apt/archives"
kernel_deb="$(ls "$archives"/linux-image-[0-9]*-arm64_*.deb)"
dpkg-deb -x "$kernel_deb" "$work/kernel"
dpkg-deb -x "$(ls "$archives"/busybox-static_*.deb)" "$work/busybox"
# debootstrap/base is the space-separated list the second stage installs; the kernel's own
# dependencies (its initramfs generator and friends) would only cost time there.
drop='linux-image-.*|linux-base|initramfs-tools.*|klibc-utils|libklibc|busybox-static'
tr ' ' '\n' <"$root/debootstrap/base" | grep -vxE "$drop" | tr '\n' ' ' >"$work/base"
mv "$work/base" "$root/debootstrap/base"
rm -f "$archives"/linux-image-*.deb "$archives"/busybox-static_*.deb
kver="$(basename "$(ls -d "$work"/kernel/lib/modules/*)")"
moddir="$work/kernel/lib/modules/$kver"
cp "$work/kernel/boot/vmlinuz-$kver" "$work/vmlinuz"

# initramfs: busybox, /init, and the modules to reach the root disk and the network, in an
# order where each comes after what it depends on (read from its .modinfo "depends=").
mod_path() { find "$moddir/kernel" \( -name "$1.ko" -o -name "${1//_/-}.ko" \) -print -quit; }
mod_deps() { tr '\0' '\n' <"$1" | sed -n 's/^depends=//p' | tr ',' ' '; }
ordered=()
add_mod() {
    local name="$1" file dep
    for m in "${ordered[@]}"; do case "$(basename "$m" .ko)" in "$name" | "${name//_/-}") return 0 ;; esac; done
    file="$(mod_path "$name")"
    [ -n "$file" ] || { say "module $name not found in $kver"; exit 1; }
    for dep in $(mod_deps "$file"); do add_mod "$dep"; done
    ordered+=("$file")
}
for m in virtio_pci virtio_blk virtio_net virtio_rng crc32c_generic ext4; do add_mod "$m"; done
ird="$work/initrd"
mkdir -p "$ird/bin" "$ird/modules" "$ird/proc" "$ird/sys" "$ird/dev" "$ird/newroot"
cp "$work/busybox/bin/busybox" "$ird/bin/busybox"
install -m 0755 "$here/init" "$ird/init"
: >"$ird/modules/order"
for f in "${ordered[@]}"; do cp "$f" "$ird/modules/"; basename "$f" >>"$ird/modules/order"; done
(cd "$ird" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initrd.img"

# What runs after debootstrap: network, the test agent.
install -m 0755 "$here/setup.sh" "$root/root/setup-image.sh"
install -m 0755 "$here/agent.sh" "$root/root/agent.sh"
# dpkg syncs every file it writes, and the image is throwaway until it is complete; nor does
# the test read the documentation, manual pages or translations of the base system, which are
# a third of its files. Both shortcuts hold for the build only (setup.sh removes this file),
# so the package under test installs as on any Debian.
cat >"$root/etc/dpkg/dpkg.cfg.d/sharethings-image-build" <<'CFG'
force-unsafe-io
path-exclude=/usr/share/doc/*
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
CFG

say "second stage under qemu-user: dpkg configures every package (minutes)"
stage2_start=$(date +%s)
qemu="$(qemu_static)"
if ! "$here/arm64-chroot.sh" "$root" "$qemu" /debootstrap/debootstrap --second-stage \
        >"$work/second-stage.log" 2>&1 ||
    ! "$here/arm64-chroot.sh" "$root" "$qemu" /bin/sh /root/setup-image.sh \
        >>"$work/second-stage.log" 2>&1; then
    cp "$work/second-stage.log" "$dir.second-stage.log"
    [ -f "$root/debootstrap/debootstrap.log" ] && cp "$root/debootstrap/debootstrap.log" "$dir.debootstrap.log"
    say "the second stage failed; last lines (all of it in $dir.second-stage.log):"
    tail -n 40 "$work/second-stage.log" >&2
    exit 1
fi
stage2=$(($(date +%s) - stage2_start))

say "ext4 image from the tree"
truncate -s 3G "$work/rootfs.img"
mkfs.ext4 -q -F -L root -d "$root" "$work/rootfs.img"
rm -rf "$root" "$work/kernel" "$work/busybox" "$ird"

mkdir -p "$dir"
mv -f "$work/rootfs.img" "$work/vmlinuz" "$work/initrd.img" "$dir/"
printf '%s\n' "$inputs" >"$dir/stamp"
say "ready in $dir: first stage ${stage1}s, second stage ${stage2}s, $(($(date +%s) - start))s in all"
printf 'first_stage_s\t%s\nsecond_stage_s\t%s\ntotal_s\t%s\n' "$stage1" "$stage2" "$(($(date +%s) - start))" >"$dir/build-times.tsv"
