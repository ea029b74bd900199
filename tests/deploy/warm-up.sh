#!/usr/bin/env bash
# The deploy suite's cold builds on their own, into the per-machine cache: the cross binaries
# (cross/build.sh), the Debian arm64 system (packaging/image/rootfs.sh) and the VM image made
# from it, the release build (packaging/release.sh: packages, the Raspberry Pi image, the
# container image, SHA256SUMS) and the second build of the reproducibility check
# (tests/deploy/reproduce.sh). On a fresh machine they are about 56 CPU-minutes, most of a
# whole run; tests/run.sh starts this at the lowest CPU and I/O priority beside the suites
# before deploy, which leave a core idle for long stretches (one test thread, TTL waits,
# browsers waiting on each other). tests/deploy/run.sh later runs the same steps, which find
# their work done; on a warm machine this takes seconds, and after a source change the
# relinks, the packages and the Raspberry Pi image (docs/testing.md).
# Run tests/deploy/install.sh first.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$repo" || exit 1
# shellcheck source=SCRIPTDIR/cache-env.sh
. "$here/cache-env.sh"

start=$(date +%s)
# shellcheck disable=SC2086
bash cross/build.sh ${CROSS_TARGETS:-musl} &
cross=$!
bash tests/deploy/vm/build-image.sh "$DEPLOY_VM_DIR" &
image=$!
wait "$cross"
cross=$?
# The second build starts from the first one's cargo directory (reproduce.sh says why), as
# soon as that is done, beside the Debian system if that is still being built.
bash tests/deploy/reproduce.sh "$REPRODUCE_DIR" &
reproduce=$!
wait "$image"
image=$?
# The packages, the Raspberry Pi image and the container need the binaries (and the image
# the system the VM image was made from, built by now).
release=1
[ "$cross" = 0 ] && bash packaging/release.sh && release=0
wait "$reproduce"
reproduce=$?
outcome() { if [ "$1" = 0 ]; then echo "done"; else echo "FAILED"; fi; }
echo "deploy warm-up: cross builds $(outcome "$cross"), VM image $(outcome "$image"), release build $(outcome "$release"), second build $(outcome "$reproduce"), in $(($(date +%s) - start)) s"
