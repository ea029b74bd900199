#!/usr/bin/env bash
# Build (once) the Debian bookworm arm64 system the package test boots under
# qemu-system-aarch64, from Debian's own packages, and cache it under target/.
#
#   tests/deploy/vm/build-image.sh [DIR]      # default DIR: target/deploy-vm/bookworm-arm64
#
# Result in DIR: rootfs.img (ext4, the whole system with systemd as PID 1), vmlinuz (Debian's
# linux-image-arm64 kernel) and initrd.img (busybox plus the few virtio/ext4 modules that
# kernel needs to find its root), and a stamp naming the inputs. A second run with the same
# inputs does nothing.
#
# How, without binfmt_misc (so no chroot into an arm64 tree on this x86-64 host):
#   1. debootstrap --foreign unpacks the arm64 packages on the host (no arm64 code runs);
#   2. the kernel and busybox-static are taken from the very .debs it downloaded, and the
#      kernel's module dependencies are read from the modules' own .modinfo sections;
#   3. the tree becomes an ext4 image (mkfs.ext4 -d) and is booted once under qemu with the
#      initramfs's /init in "second stage" mode: it runs debootstrap --second-stage inside the
#      emulated machine (dpkg configures every package there), then tests/deploy/vm/setup.sh
#      there (network, the test agent), and powers off.
# The mirror is Debian's (DEBIAN_MIRROR overrides it). Needs root, debootstrap, e2fsprogs,
# cpio, qemu-system-arm.
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
inputs="$(cat "$0" "$here/init" "$here/setup.sh" "$here/agent.sh" | sha256sum | cut -c1-16) $suite $include"

say() { printf 'vm-image: %s\n' "$*" >&2; }

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

# What the second boot runs after debootstrap: network, the test agent, a console.
install -m 0755 "$here/setup.sh" "$root/root/setup-image.sh"
# dpkg syncs every file it writes, which under emulation costs more than the unpacking
# itself; the image is throwaway until it is complete, so the build skips that (setup.sh
# removes this file again) and qemu ignores flushes (cache=unsafe).
echo force-unsafe-io >"$root/etc/dpkg/dpkg.cfg.d/sharethings-image-build"
install -m 0755 "$here/agent.sh" "$root/root/agent.sh"

say "ext4 image from the tree"
truncate -s 3G "$work/rootfs.img"
mkfs.ext4 -q -F -L root -d "$root" "$work/rootfs.img"
rm -rf "$root" "$work/kernel" "$work/busybox" "$ird"

say "second stage inside qemu-system-aarch64 (dpkg configures every package; minutes)"
stage2_start=$(date +%s)
timeout 3600 qemu-system-aarch64 -M virt -cpu cortex-a53 -smp 2 -m 1024 -nographic -no-reboot \
    -kernel "$work/vmlinuz" -initrd "$work/initrd.img" \
    -append "console=ttyAMA0 panic=-1 sharethings.mode=second-stage" \
    -drive "file=$work/rootfs.img,format=raw,if=virtio,cache=unsafe" \
    -netdev user,id=n0 -device virtio-net-pci,netdev=n0 \
    -device virtio-rng-pci </dev/null >"$work/second-stage.log" 2>&1 || true
# The serial console ends lines with CR LF.
if ! tr -d '\r' <"$work/second-stage.log" | grep -qx 'SHARETHINGS-IMAGE-READY'; then
    cp "$work/second-stage.log" "$dir.second-stage.log"
    say "the second stage failed; last lines (all of it in $dir.second-stage.log):"
    tail -n 40 "$work/second-stage.log" >&2
    exit 1
fi
stage2=$(($(date +%s) - stage2_start))

mkdir -p "$dir"
mv -f "$work/rootfs.img" "$work/vmlinuz" "$work/initrd.img" "$dir/"
printf '%s\n' "$inputs" >"$dir/stamp"
say "ready in $dir: first stage ${stage1}s, second stage ${stage2}s, $(($(date +%s) - start))s in all"
printf 'first_stage_s\t%s\nsecond_stage_s\t%s\ntotal_s\t%s\n' "$stage1" "$stage2" "$(($(date +%s) - start))" >"$dir/build-times.tsv"
