#!/usr/bin/env bash
# Build (once) the Debian bookworm arm64 system that both the Raspberry Pi image
# (packaging/image/build.sh) and the deploy suite's emulated Debian
# (tests/deploy/vm/build-image.sh) are made from, from Debian's own packages, and cache it.
#
#   packaging/image/rootfs.sh DIR
#
# Result: DIR/tree, the root file system as a directory (files owned as on the device),
# DIR/qemu-aarch64-static (the emulator that ran its programs, for the layers built on top:
# packaging/image/arm64-chroot.sh), DIR/build.log (what dpkg said) and DIR/stamp naming its
# inputs. A second run with the same inputs does nothing.
#
# What is in it: systemd, udev and D-Bus as on Raspberry Pi OS Lite; Debian's arm64 kernel
# (linux-image-arm64) with its initramfs, and raspi-firmware, whose kernel hook puts the Pi's
# boot files (firmware, kernel, initramfs, device trees, config.txt, cmdline.txt) into
# /boot/firmware; Wi-Fi (wpasupplicant, firmware-brcm80211, wireless-regdb); avahi-daemon
# (<hostname>.local); HAProxy and openssl for sharethings-setup-tls; OpenSSH, which starts
# only once someone has put a key in /root/.ssh/authorized_keys; systemd-networkd (DHCP on
# Ethernet and Wi-Fi), systemd-resolved and systemd-timesyncd (the Pi has no clock). No
# ShareThings yet: its package goes in on top (build.sh), or is what the VM test installs.
#
# How, on an x86-64 host whose binfmt_misc has no arm64 handler:
#   1. debootstrap --foreign unpacks the arm64 packages on the host (no arm64 code runs);
#   2. debootstrap --second-stage (dpkg configures every package), then the kernel's packages
#      (held back so that raspi-firmware's settings are in place when its hook first runs),
#      run chrooted into the tree under qemu-user through
#      packaging/image/arm64-chroot.sh (a user namespace with its own binfmt_misc; Linux 6.7
#      or later): about 3 times cheaper than booting the tree under qemu-system-aarch64;
#   3. the system's settings are written on the host (systemctl --root enables units).
# The mirror is Debian's (DEBIAN_MIRROR overrides it, e.g. a local mirror for an offline
# build). The static qemu-aarch64 is QEMU_AARCH64_STATIC, else qemu-aarch64-static on PATH,
# else Debian's qemu-user-static package unpacked (never installed: it would register handlers
# for the whole host) next to DIR. Needs root, debootstrap, util-linux's unshare.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dir="${1:?usage: packaging/image/rootfs.sh DIR}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
suite=bookworm
components=main,non-free-firmware
include=systemd-sysv,udev,dbus,systemd-timesyncd,systemd-resolved,curl,ca-certificates,openssl,haproxy,avahi-daemon,openssh-server,wpasupplicant,wireless-regdb,firmware-brcm80211,raspi-firmware,fdisk,zstd,linux-image-arm64
# Installed after the second stage, once raspi-firmware is configured (see above).
kernel='linux-image-.*|linux-base|initramfs-tools.*|klibc-utils|libklibc'
inputs="$(cat "$0" "$here/arm64-chroot.sh" | sha256sum | cut -c1-16) $suite $components $include"

say() { printf 'rootfs: %s\n' "$*" >&2; }

# One build at a time per cache directory: other sessions on this machine share it.
mkdir -p "$(dirname "$dir")"
exec 9>"$dir.lock"
flock 9

if [ -f "$dir/stamp" ] && [ "$(cat "$dir/stamp")" = "$inputs" ] && [ -d "$dir/tree/usr" ] &&
    [ -x "$dir/qemu-aarch64-static" ]; then
    say "cached in $dir"
    exit 0
fi
[ "$(id -u)" = 0 ] || { say "needs root (debootstrap, file ownership in the tree)"; exit 1; }

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

start=$(date +%s)
work="$dir.work"
rm -rf "$work" && mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
root="$work/tree"

say "debootstrap --foreign $suite arm64 ($components) from $mirror"
debootstrap --foreign --arch=arm64 --variant=minbase --components="$components" --include="$include" \
    "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -n 20 "$work/debootstrap.log" >&2; exit 1; }
stage1=$(($(date +%s) - start))

# debootstrap/base is the space-separated list the second stage installs: the kernel and its
# initramfs generator wait (above). Their downloaded packages stay for the step after.
tr ' ' '\n' <"$root/debootstrap/base" | grep -xE "$kernel" >"$work/kernel-packages"
tr ' ' '\n' <"$root/debootstrap/base" | grep -vxE "$kernel" | tr '\n' ' ' >"$work/base"
mv "$work/base" "$root/debootstrap/base"
mkdir -p "$root/root/kernel-debs"
while read -r p; do mv "$root"/var/cache/apt/archives/"${p}"_*.deb "$root/root/kernel-debs/"; done <"$work/kernel-packages"

# dpkg syncs every file it writes, and the tree is throwaway until it is complete; nor does
# anyone read the base system's documentation, manual pages or translations on this box,
# which are a third of its files. Both shortcuts hold for the build only (removed below), so
# a package installed later (ShareThings' above all) installs as on any Debian.
cat >"$root/etc/dpkg/dpkg.cfg.d/sharethings-image-build" <<'CFG'
force-unsafe-io
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/locale/*
CFG

say "second stage under qemu-user: dpkg configures every package (minutes)"
stage2_start=$(date +%s)
qemu="$(qemu_static)"
chrooted() { "$here/arm64-chroot.sh" "$root" "$qemu" "$@" >>"$work/second-stage.log" 2>&1; }
failed() {
    cp "$work/second-stage.log" "$dir.second-stage.log"
    [ -f "$root/debootstrap/debootstrap.log" ] && cp "$root/debootstrap/debootstrap.log" "$dir.debootstrap.log"
    say "$1 failed; last lines (all of it in $dir.second-stage.log):"
    tail -n 40 "$work/second-stage.log" >&2
    exit 1
}
chrooted /debootstrap/debootstrap --second-stage || failed "the second stage"
stage2=$(($(date +%s) - stage2_start))

# raspi-firmware's kernel hook writes cmdline.txt from these: the root file system by its
# label (the same on an SD card, a USB disk and the emulated disk), and the HDMI console last
# so that it gets the boot messages and the "ready" line. Then the kernel: its hooks build the
# initramfs and copy it, the kernel and the device trees into /boot/firmware.
sed -i -e 's/^#ROOTPART=.*/ROOTPART=LABEL=RASPIROOT/' -e 's/^#CONSOLES=.*/CONSOLES="ttyS1,115200 tty0"/' \
    "$root/etc/default/raspi-firmware"
grep -q '^ROOTPART=LABEL=RASPIROOT$' "$root/etc/default/raspi-firmware" || { say "raspi-firmware's settings moved"; exit 1; }
# No swap partition to resume from: without this the initramfs waits for one at every boot.
mkdir -p "$root/etc/initramfs-tools/conf.d" "$root/etc/initramfs-tools/hooks"
printf 'RESUME=none\n' >"$root/etc/initramfs-tools/conf.d/resume"
# The initramfs holds the drivers a Pi (or the emulated machine) boots from, not every disk
# and network driver of the arm64 kernel: Debian's default (MODULES=most) copies about 1,550
# modules, 60 % of them network cards; under qemu-user its first 382 took 137 CPU-seconds,
# so all of them would take about 9 CPU-minutes. MODULES=list and this hook keep Debian's own
# classes for the base system (USB hosts, clocks, GPIOs, regulators, PHYs, pin control,
# keyboards), SD/eMMC, USB storage and block devices (virtio included), plus the SCSI disk
# driver that USB disks appear through: 467 modules.
printf 'MODULES=list\n' >"$root/etc/initramfs-tools/conf.d/modules"
cat >"$root/etc/initramfs-tools/hooks/raspberry-pi-boot-drivers" <<'HOOK'
#!/bin/sh
# Written by the ShareThings image build (packaging/image/rootfs.sh), with MODULES=list in
# conf.d/modules: the drivers a Raspberry Pi boots from (SD card, eMMC, USB disk).
[ "$1" = prereqs ] && exit 0
. /usr/share/initramfs-tools/hook-functions
auto_add_modules base mmc usb_storage block
manual_add_modules sd_mod
HOOK
chmod 0755 "$root/etc/initramfs-tools/hooks/raspberry-pi-boot-drivers"
kernel_start=$(date +%s)
# The initramfs generator first, on its own: its trigger, run when dpkg ends, would build the
# kernel's initramfs a second time if the kernel came in the same run.
# shellcheck disable=SC2016 # the inner shell expands it
chrooted /bin/sh -c 'cd /root/kernel-debs && dpkg -i $(ls | grep -v "^linux-image-") && dpkg -i linux-image-*.deb &&
    rm -r /root/kernel-debs && apt-get clean' || failed "installing the kernel"
kernel_s=$(($(date +%s) - kernel_start))
rm -f "$root/etc/dpkg/dpkg.cfg.d/sharethings-image-build"

say "system settings"
# Networks: DHCP on Ethernet and on Wi-Fi (the kernel command line asks for eth0 and wlan0).
mkdir -p "$root/etc/systemd/network"
printf '[Match]\nName=eth* en*\n\n[Network]\nDHCP=yes\n' >"$root/etc/systemd/network/50-wired.network"
printf '[Match]\nName=wlan*\n\n[Network]\nDHCP=yes\n' >"$root/etc/systemd/network/60-wireless.network"
# wpa_supplicant on wlan0 once a network is configured (the Pi image's first boot writes it).
mkdir -p "$root/etc/systemd/system/wpa_supplicant@wlan0.service.d"
printf '[Unit]\nConditionPathExists=/etc/wpa_supplicant/wpa_supplicant-wlan0.conf\n' \
    >"$root/etc/systemd/system/wpa_supplicant@wlan0.service.d/configured.conf"
# avahi answers for <hostname>.local; resolved must not answer multicast DNS as well.
mkdir -p "$root/etc/systemd/resolved.conf.d"
printf '[Resolve]\nMulticastDNS=no\nLLMNR=no\n' >"$root/etc/systemd/resolved.conf.d/avahi-does-mdns.conf"
# SSH: keys only, and only once someone put one in place; host keys are made on the device
# (the ones dpkg made here would be the same on every card).
rm -f "$root"/etc/ssh/ssh_host_*
printf 'PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n' \
    >"$root/etc/ssh/sshd_config.d/keys-only.conf"
mkdir -p "$root/etc/systemd/system/ssh.service.d"
printf '[Unit]\nConditionPathExists=/root/.ssh/authorized_keys\n\n[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\nExecStartPre=/usr/sbin/sshd -t\n' \
    >"$root/etc/systemd/system/ssh.service.d/only-with-a-key.conf"
# Online once any network is up: Ethernet unplugged must not hold the boot for Wi-Fi's sake.
mkdir -p "$root/etc/systemd/system/systemd-networkd-wait-online.service.d"
printf '[Service]\nExecStart=\nExecStart=/lib/systemd/systemd-networkd-wait-online --any\n' \
    >"$root/etc/systemd/system/systemd-networkd-wait-online.service.d/any.conf"
# In the chroot: the host's systemctl --root would run the tree's update-rc.d for the units
# with an init script (ssh, avahi). The D-Bus controlled wpa_supplicant would run beside the
# one on wlan0 and do nothing.
chrooted systemctl --quiet enable systemd-networkd.service systemd-networkd-wait-online.service \
    systemd-resolved.service systemd-timesyncd.service avahi-daemon.service wpa_supplicant@wlan0.service \
    ssh.service || failed "enabling the services"
chrooted systemctl --quiet disable wpa_supplicant.service || failed "disabling wpa_supplicant.service"
# apt: Debian's own mirrors, with security updates, whatever mirror built the tree.
rm -f "$root/etc/apt/sources.list"
cat >"$root/etc/apt/sources.list.d/debian.sources" <<'SOURCES'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main non-free-firmware
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://security.debian.org/debian-security
Suites: bookworm-security
Components: main non-free-firmware
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
# Every device makes its own machine id at its first boot (an empty file: see machine-id(5)).
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
rm -rf "$root/debootstrap"

rm -rf "$dir"
mkdir -p "$dir"
mv "$root" "$dir/tree"
cp "$qemu" "$dir/qemu-aarch64-static"
cp "$work/second-stage.log" "$dir/build.log"
printf '%s\n' "$inputs" >"$dir/stamp"
total=$(($(date +%s) - start))
say "ready in $dir/tree: debootstrap ${stage1}s, second stage ${stage2}s, kernel ${kernel_s}s, ${total}s in all"
printf 'first_stage_s\t%s\nsecond_stage_s\t%s\nkernel_s\t%s\ntotal_s\t%s\n' "$stage1" "$stage2" "$kernel_s" "$total" >"$dir/build-times.tsv"
