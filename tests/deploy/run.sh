#!/usr/bin/env bash
# Deployment suite (issues 5, 6, 13 and 25). Run install.sh first (as root).
#   1. cross/build.sh builds the static binaries (CROSS_TARGETS, default: the four musl
#      targets, three for the Raspberry Pi and x86-64; "all" adds the two gnu ones), and the
#      x86_64 server is built for the HAProxy tests (SHARETHINGS_BIN names a prebuilt one).
#   2. packaging/build-deb.sh builds the arm64, armhf and amd64 packages from them.
#   3. tests/deploy/vm/build-image.sh builds the Debian bookworm arm64 system that
#      vm.test.mjs boots under qemu-system-aarch64, and packaging/image/build.sh the Raspberry
#      Pi image from the same system and the arm64 package, which image.test.mjs boots: both
#      cached in $SHARETHINGS_TEST_CACHE (default /var/cache/sharethings-tests).
#   4. node's test runner runs each tests/deploy/*.test.mjs file in turn.
# tests/run.sh starts steps 1 and 3 early, beside the other suites (warm-up.sh), so here they
# usually find their work done.
# Prints the build report, then `N passed, N failed` as the last line; exits non-zero when
# anything failed. Every address used is on 127.0.0.0/8.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$repo" || exit 1

passed=0
failed=0
check() { # check <description> <command...>: a shell-level test
    local what="$1"; shift
    if "$@"; then passed=$((passed + 1)); echo "ok - $what"; else failed=$((failed + 1)); echo "not ok - $what"; fi
}

suite_start=$(date +%s)
timed() { # timed <description> <command...>: check, and say how long it took
    local t what="$1"; shift
    t=$(date +%s)
    check "$what" "$@"
    echo "# $what: $(($(date +%s) - t)) s"
}
# shellcheck source=SCRIPTDIR/cache-env.sh
. "$here/cache-env.sh"
# CROSS_TARGETS may name several targets, one word each.
# shellcheck disable=SC2086
timed "cross/build.sh ${CROSS_TARGETS:-musl}" bash cross/build.sh ${CROSS_TARGETS:-musl}
if [ -z "${SHARETHINGS_BIN:-}" ]; then
    check "x86_64 release build of the server" cargo build --release --locked --quiet --bin sharethings
fi
timed "packaging/build-deb.sh: arm64, armhf and amd64 packages" bash packaging/build-deb.sh
timed "tests/deploy/vm/build-image.sh: Debian bookworm arm64 image (cached)" bash tests/deploy/vm/build-image.sh "$DEPLOY_VM_DIR"
timed "packaging/image/build.sh: the Raspberry Pi image" bash packaging/image/build.sh "$RASPI_IMAGE_DIR"

for file in systemd cross package haproxy affine vm image; do
    log="$(mktemp)"
    echo "# tests/deploy/$file.test.mjs"
    node --test --test-reporter=tap "tests/deploy/$file.test.mjs" >"$log" 2>&1
    p="$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$log")"
    f="$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$log")"
    c="$(sed -n 's/^# cancelled \([0-9]*\)$/\1/p' "$log")"
    if [ -z "$p" ] || [ -z "$f" ]; then
        cat "$log"
        echo "not ok - tests/deploy/$file.test.mjs did not finish"
        failed=$((failed + 1))
    else
        # Passing tests in brief; failing ones with their whole TAP block.
        grep -E '^ *(ok|not ok) [0-9]+ - |^# .*(exposure|members per|sizes|bytes|vm (timings|system)|image (timings|first boot|second boot)|lintian)' "$log" | grep -v '^    *ok' || true
        if [ "$f" != 0 ] || [ "${c:-0}" != 0 ]; then cat "$log"; fi
        passed=$((passed + p))
        failed=$((failed + f + ${c:-0}))
    fi
    rm -f "$log"
done

[ -f target/cross/dist/report.tsv ] && { echo "# cross build report (target/cross/dist/report.tsv):"; sed 's/^/#   /' target/cross/dist/report.tsv; }
echo "# deploy suite: $(($(date +%s) - suite_start)) s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
