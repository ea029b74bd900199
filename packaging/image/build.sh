#!/usr/bin/env bash
# Build the ShareThings Raspberry Pi image, sharethings-<version>-raspi-arm64.img.xz, for the
# boards Debian's arm64 kernel supports: Pi 3, 3+, 4, 400, Zero 2 W, Compute Module 3 and 4.
#
#   packaging/image/build.sh DIR
#
# Made from Debian packages only, offline from a package mirror (DEBIAN_MIRROR):
#   1. the Debian bookworm arm64 system of packaging/image/rootfs.sh (ROOTFS_DIR, default
#      target/image/rootfs; the deploy suite keeps it in its per-machine cache and boots the
#      same system for its package tests);
#   2. this project's package (DEB, default target/cross/deb/sharethings_<version>_arm64.deb
#      from packaging/build-deb.sh), installed by dpkg chrooted into a copy of it under
#      qemu-user, as on any Debian: its postinst enables the service;
#   3. the first-boot services and scripts of packaging/image/overlay/, and the settings file
#      packaging/image/sharethings.txt on the boot partition;
#   4. two partitions in an MBR table: RASPIFIRM (FAT32, 256 MiB: the Pi firmware's files, the
#      kernel, the initramfs and the device trees raspi-firmware put in /boot/firmware) and
#      RASPIROOT (ext4, just big enough; the first boot grows it to the card);
#   5. xz, with every core, at IMAGE_XZ_LEVEL (default 6: 160 MiB, about 7 CPU-minutes;
#      the deploy suite, which builds the image on every run, uses 1: 193 MiB, 1.5).
# Results in DIR: the image (.img.xz), build-times.tsv and a stamp naming the inputs: a second
# run with the same inputs does nothing.
# Needs root, e2fsprogs, dosfstools, mtools, fdisk (sfdisk), xz-utils.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
dir="${1:?usage: packaging/image/build.sh DIR}"
version="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$repo/Cargo.toml" | head -n 1)"
rootfs="${ROOTFS_DIR:-$repo/target/image/rootfs}"
deb="${DEB:-$repo/target/cross/deb/sharethings_${version}_arm64.deb}"
name="sharethings-$version-raspi-arm64"
boot_mib=256
boot_start_mib=4
xz_level="${IMAGE_XZ_LEVEL:-6}"
# The clock the Pi starts from before NTP (it has no clock of its own): never before this
# commit. Also the date of every file in the partitions the build writes itself.
epoch="${SOURCE_DATE_EPOCH:-$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s)}"

say() { printf 'raspi-image: %s\n' "$*" >&2; }

[ -f "$deb" ] || { say "$deb missing: run cross/build.sh and packaging/build-deb.sh"; exit 1; }
bash "$here/rootfs.sh" "$rootfs"
inputs="$(cd "$here" && {
    cat "$rootfs/stamp" build.sh sharethings.txt "$deb"
    find overlay -type f -printf '%p %m\n' | LC_ALL=C sort
    find overlay -type f -print0 | LC_ALL=C sort -z | xargs -0 cat
    echo "$epoch $xz_level"
} | sha256sum | cut -c1-16)"

mkdir -p "$(dirname "$dir")"
exec 9>"$dir.lock"
flock 9
if [ -f "$dir/stamp" ] && [ "$(cat "$dir/stamp")" = "$inputs" ] && [ -f "$dir/$name.img.xz" ]; then
    say "cached in $dir"
    exit 0
fi
[ "$(id -u)" = 0 ] || { say "needs root (file ownership in the image)"; exit 1; }

start=$(date +%s)
work="$dir.work"
rm -rf "$work" && mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
root="$work/root"
cp -a "$rootfs/tree" "$root"

say "installing $(basename "$deb")"
cp "$deb" "$root/root/sharethings.deb"
"$here/arm64-chroot.sh" "$root" "$rootfs/qemu-aarch64-static" dpkg -i /root/sharethings.deb >"$work/dpkg.log" 2>&1 ||
    { cat "$work/dpkg.log" >&2; exit 1; }
rm "$root/root/sharethings.deb"

# The first boot (sharethings-firstboot.service), every boot's "ready" line, and the check that
# avahi answers for the host's own name (sharethings-mdns-name.timer).
cp -r --preserve=mode "$here/overlay/." "$root/"
systemctl --root="$root" --quiet enable sharethings-firstboot.service sharethings-ready.service sharethings-mdns-name.timer
echo sharethings >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tsharethings\n' >"$root/etc/hosts"
# The boot partition holds sharethings.txt with a Wi-Fi password until the first boot has
# applied it: once mounted, only root reads it.
printf 'LABEL=RASPIROOT\t/\text4\trw,errors=remount-ro\t0\t1\nLABEL=RASPIFIRM\t/boot/firmware\tvfat\trw,umask=0077\t0\t2\n' \
    >"$root/etc/fstab"
install -m 0644 "$here/sharethings.txt" "$root/boot/firmware/sharethings.txt"
# systemd never sets the clock before this file's date (systemd(1), "/usr/lib/clock-epoch").
touch -d "@$epoch" "$root/usr/lib/clock-epoch"

say "partitions"
boot="$work/boot.vfat"
truncate -s "${boot_mib}M" "$boot"
mkfs.vfat -F 32 -n RASPIFIRM -i 5348524b "$boot" >/dev/null
find "$root/boot/firmware" -exec touch -h -d "@$epoch" {} +
mcopy -s -m -i "$boot" "$root/boot/firmware/"* ::/
rm -rf "${root:?}/boot/firmware/"*
# Room for the system, and for the first boot's writes before it grows to the card.
root_mib=$(($(du -s -B1M --apparent-size "$root" | cut -f1) * 5 / 4 + 256))
truncate -s "${root_mib}M" "$work/root.ext4"
mkfs.ext4 -q -F -L RASPIROOT -d "$root" "$work/root.ext4"
rm -rf "$root"

img="$work/$name.img"
root_start_mib=$((boot_start_mib + boot_mib))
truncate -s "$((root_start_mib + root_mib))M" "$img"
sfdisk --quiet "$img" <<TABLE
label: dos
label-id: 0x5348524b
start=${boot_start_mib}MiB, size=${boot_mib}MiB, type=c
start=${root_start_mib}MiB, type=83
TABLE
dd if="$boot" of="$img" bs=1M seek="$boot_start_mib" conv=notrunc,sparse status=none
dd if="$work/root.ext4" of="$img" bs=1M seek="$root_start_mib" conv=notrunc,sparse status=none
rm -f "$boot" "$work/root.ext4"
built=$(($(date +%s) - start))
installed=$(($(stat -c %s "$img") / 1048576))

say "xz -$xz_level"
xz_start=$(date +%s)
xz -"$xz_level" -T0 -f "$img"
xz_s=$(($(date +%s) - xz_start))

mkdir -p "$dir"
rm -f "$dir"/*.img "$dir"/*.img.xz
mv -f "$img.xz" "$dir/"
printf '%s\n' "$inputs" >"$dir/stamp"
compressed=$(($(stat -c %s "$dir/$name.img.xz") / 1048576))
say "ready: $dir/$name.img.xz, $compressed MiB ($installed MiB written to the card), built in ${built}s, compressed in ${xz_s}s"
printf 'image_mib\t%s\nimage_xz_mib\t%s\nbuild_s\t%s\nxz_s\t%s\n' "$installed" "$compressed" "$built" "$xz_s" >"$dir/build-times.tsv"
