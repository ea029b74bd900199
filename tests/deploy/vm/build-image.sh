#!/usr/bin/env bash
# Build (once) the Debian bookworm arm64 system that vm.test.mjs boots under
# qemu-system-aarch64 and installs the package on, and cache it.
#
#   tests/deploy/vm/build-image.sh DIR
#
# It is the Raspberry Pi image's own system, not a second recipe: packaging/image/rootfs.sh
# (cached in ROOTFS_DIR, tests/deploy/cache-env.sh) without ShareThings, plus what the test
# needs: the test agent (agent.sh) as a service, a host name, and the root file system on the
# whole emulated disk. Result in DIR: rootfs.img (ext4), vmlinuz and initrd.img (the tree's
# own Debian kernel and initramfs), and a stamp naming the inputs. A second run with the same
# inputs does nothing. Needs root and e2fsprogs.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
dir="${1:?usage: tests/deploy/vm/build-image.sh DIR}"
rootfs="${ROOTFS_DIR:?ROOTFS_DIR: where packaging/image/rootfs.sh keeps the tree (tests/deploy/cache-env.sh)}"

say() { printf 'vm-image: %s\n' "$*" >&2; }

bash "$repo/packaging/image/rootfs.sh" "$rootfs"
inputs="$(cat "$rootfs/stamp" "$0" "$here/agent.sh" | sha256sum | cut -c1-16)"

mkdir -p "$(dirname "$dir")"
exec 9>"$dir.lock"
flock 9
if [ -f "$dir/stamp" ] && [ "$(cat "$dir/stamp")" = "$inputs" ] &&
    [ -f "$dir/rootfs.img" ] && [ -f "$dir/vmlinuz" ] && [ -f "$dir/initrd.img" ]; then
    say "cached in $dir"
    exit 0
fi

start=$(date +%s)
work="$dir.work"
rm -rf "$work" && mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
root="$work/root"
cp -a "$rootfs/tree" "$root"

echo sharethings-vm >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n127.0.1.1\tsharethings-vm\n' >"$root/etc/hosts"
printf '/dev/vda\t/\text4\trw,errors=remount-ro\t0\t1\n' >"$root/etc/fstab"
# The agent that runs the test's commands (tests/deploy/vm.test.mjs) as root.
install -m 0755 "$here/agent.sh" "$root/usr/local/sbin/sharethings-test-agent"
cat >"$root/etc/systemd/system/sharethings-test-agent.service" <<'UNIT'
[Unit]
Description=Test agent: runs the commands of tests/deploy/vm.test.mjs
Wants=network-online.target
After=network-online.target

[Service]
ExecStart=/usr/local/sbin/sharethings-test-agent
Restart=always
RestartSec=1

[Install]
WantedBy=multi-user.target
UNIT
systemctl --root="$root" --quiet enable sharethings-test-agent.service
# The kernel and initramfs the tree's own packages made (raspi-firmware copied the same
# files to /boot/firmware for the Pi's firmware).
cp "$(readlink -f "$root/vmlinuz")" "$work/vmlinuz"
cp "$(readlink -f "$root/initrd.img")" "$work/initrd.img"

truncate -s 3G "$work/rootfs.img"
mkfs.ext4 -q -F -L root -d "$root" "$work/rootfs.img"
mkdir -p "$dir"
mv -f "$work/rootfs.img" "$work/vmlinuz" "$work/initrd.img" "$dir/"
printf '%s\n' "$inputs" >"$dir/stamp"
say "ready in $dir in $(($(date +%s) - start))s"
