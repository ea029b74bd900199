#!/usr/bin/env bash
# The deploy suite's cold builds on their own: the cross binaries (cross/build.sh) and the VM
# image (tests/deploy/vm/build-image.sh), into the per-machine cache. On a fresh machine they
# are about 45 CPU-minutes, most of a whole run; tests/run.sh starts this at the lowest CPU
# and I/O priority beside the suites before deploy, which leave a core idle for long stretches
# (one test thread, TTL waits, browsers waiting on each other). tests/deploy/run.sh later runs
# the same steps, which find their work done; on a warm machine this takes seconds.
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
bash tests/deploy/vm/build-image.sh "$DEPLOY_VM_DIR"
image=$?
wait "$cross"
cross=$?
outcome() { if [ "$1" = 0 ]; then echo "done"; else echo "FAILED"; fi; }
echo "deploy warm-up: cross builds $(outcome "$cross"), VM image $(outcome "$image"), in $(($(date +%s) - start)) s"
