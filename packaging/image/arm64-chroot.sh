#!/usr/bin/env bash
# Run a command chrooted into an arm64 tree on an x86-64 host whose binfmt_misc has no arm64
# handler (and must keep none): packaging/image/rootfs.sh runs debootstrap's second
# stage and setup.sh this way, at qemu-user speed instead of a whole emulated machine's.
#
#   packaging/image/arm64-chroot.sh ROOT QEMU_AARCH64_STATIC COMMAND [ARG...]
#
# The command runs in a new user and mount namespace. Its user ids are mapped one to one onto
# the host's (so dpkg's chown gives the image its real owners), and it mounts its own
# binfmt_misc instance (Linux 6.7 or later) with one handler that gives every arm64 program
# to the static qemu-aarch64 (flag F: the kernel opens qemu once, here, so the tree needs no
# copy of it). The handler and the bind mounts of /dev, /proc and /sys into ROOT exist only
# inside that namespace and end with it. Needs root (to write the id maps).
set -euo pipefail

if [ "${1:-}" = --inside ]; then
    # Second half, inside the namespace: wait until the first half has written the id maps.
    shift
    sync_fifo=$1 root=$2 qemu=$3
    shift 3
    read -r _ <"$sync_fifo"
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
    # ELF, 64-bit, little-endian, executable or shared object, machine 183 (AArch64).
    magic='\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00'
    mask='\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff'
    printf ':aarch64:M::%s:%s:%s:F' "$magic" "$mask" "$qemu" >/proc/sys/fs/binfmt_misc/register
    # debootstrap --foreign leaves /proc as a symlink to the host's; the second stage wants a
    # directory to mount on.
    [ -L "$root/proc" ] && rm -f "$root/proc" && mkdir "$root/proc"
    for d in dev proc sys; do mount --rbind "/$d" "$root/$d"; done
    # debootstrap reads "container=lxc" as "device nodes cannot be made here", which is true of
    # a user namespace; /dev is the host's, bound above.
    exec env -i container=lxc PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
        chroot "$root" "$@"
fi

[ $# -ge 3 ] || { echo "usage: $0 ROOT QEMU_AARCH64_STATIC COMMAND [ARG...]" >&2; exit 2; }
root="$(cd "$1" && pwd)" qemu="$(realpath "$2")"
shift 2
[ -x "$qemu" ] || { echo "arm64-chroot: $qemu is not executable" >&2; exit 1; }
sync_dir="$(mktemp -d)"
trap 'rm -rf "$sync_dir"' EXIT
mkfifo "$sync_dir/go"
unshare --user --mount --propagation private -- "$0" --inside "$sync_dir/go" "$root" "$qemu" "$@" &
child=$!
# unshare(2) moves unshare itself into the new namespace before it runs the second half; the
# maps can be written once it is there.
own_ns="$(readlink /proc/self/ns/user)"
while [ "$(readlink "/proc/$child/ns/user" 2>/dev/null || echo "$own_ns")" = "$own_ns" ]; do
    kill -0 "$child" 2>/dev/null || { wait "$child"; exit; }
    sleep 0.01
done
if ! { echo '0 0 4294967295' >"/proc/$child/uid_map" && echo '0 0 4294967295' >"/proc/$child/gid_map"; }; then
    kill "$child"
    exit 1
fi
echo go >"$sync_dir/go"
wait "$child"
