#!/usr/bin/env bash
# Deployment suite (issues 5, 6, 13 and 25). Run install.sh first (as root).
#   1. packaging/release.sh, the release build: the static binaries of cross/build.sh (the
#      three musl targets, two for the Raspberry Pi and x86-64), the arm64, armhf and amd64
#      packages, the Raspberry Pi image (from the Debian arm64 system of
#      packaging/image/rootfs.sh), the multi-arch container archive, and SHA256SUMS.
#   2. cross/build.sh for CROSS_TARGETS ("all" adds the two gnu targets to the musl ones), and
#      the x86_64 server for the HAProxy tests (SHARETHINGS_BIN names a prebuilt one).
#   3. tests/deploy/vm/build-image.sh: the same Debian system without ShareThings, which
#      vm.test.mjs boots under qemu-system-aarch64 to install the package on.
#   4. tests/deploy/reproduce.sh: the second build of the reproducibility check, in another
#      folder.
#   5. node's test runner runs each tests/deploy/*.test.mjs file in turn.
# What takes long is cached in $SHARETHINGS_TEST_CACHE (default /var/cache/sharethings-tests,
# cache-env.sh) and rebuilt when its inputs change; tests/run.sh starts the builds early,
# beside the other suites (warm-up.sh), so here they usually find their work done.
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
timed "packaging/release.sh: binaries, packages, Raspberry Pi image, container, SHA256SUMS" bash packaging/release.sh
# CROSS_TARGETS may name several targets, one word each.
# shellcheck disable=SC2086
timed "cross/build.sh ${CROSS_TARGETS:-musl}" bash cross/build.sh ${CROSS_TARGETS:-musl}
if [ -z "${SHARETHINGS_BIN:-}" ]; then
    check "x86_64 release build of the server" tests/release-build.sh
fi
timed "tests/deploy/vm/build-image.sh: Debian bookworm arm64 without ShareThings (cached)" bash tests/deploy/vm/build-image.sh "$DEPLOY_VM_DIR"
timed "tests/deploy/reproduce.sh: the second build, in another folder" bash tests/deploy/reproduce.sh "$REPRODUCE_DIR"

# The failing TAP blocks of log $1; before a whole file's own block (its process failed after
# or outside its tests), the comment lines just before it: what the process printed last.
failing_blocks() {
    awk '
        /^# Subtest: \// { last_words = said; said = ""; next }
        /^# / { said = said $0 "\n"; next }
        { said = "" }
        /^ *not ok [0-9]+ - \// { printf "%s", last_words }
        /^ *not ok [0-9]+ - / { block = 1; indent = match($0, /[^ ]/) }
        block { print; if ($0 ~ /^ *\.\.\.$/ && match($0, /[^ ]/) == indent + 2) block = 0 }
    ' "$1"
}

# Counts one test file's TAP log ($2) and prints its passing tests in brief; when any failed,
# their TAP blocks, then the whole log.
report() {
    local file="$1" log="$2" p f c
    echo "# tests/deploy/$file.test.mjs"
    p="$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$log")"
    f="$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$log")"
    c="$(sed -n 's/^# cancelled \([0-9]*\)$/\1/p' "$log")"
    if [ -z "$p" ] || [ -z "$f" ]; then
        cat "$log"
        echo "not ok - tests/deploy/$file.test.mjs did not finish"
        failed=$((failed + 1))
    else
        grep -E '^ *(ok|not ok) [0-9]+ - |^# .*(exposure|members per|sizes|bytes|vm (timings|system)|image (timings|first boot|second boot)|container archive|lintian)' "$log" | grep -v '^    *ok' || true
        if [ "$f" != 0 ] || [ "${c:-0}" != 0 ]; then
            failing_blocks "$log"
            echo "# the whole log of tests/deploy/$file.test.mjs:"
            cat "$log"
        fi
        passed=$((passed + p))
        failed=$((failed + f + ${c:-0}))
    fi
}

logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
for file in systemd cross package haproxy affine container release; do
    node --test --test-reporter=tap "tests/deploy/$file.test.mjs" >"$logs/$file" 2>&1
    report "$file" "$logs/$file"
done
# The two emulated Pis side by side: each keeps about one core busy at a time, and waits on
# the other half of its run (the guest's network, its disk, the members relaying).
t=$(date +%s)
for file in vm image; do
    node --test --test-reporter=tap "tests/deploy/$file.test.mjs" >"$logs/$file" 2>&1 &
done
wait
for file in vm image; do report "$file" "$logs/$file"; done
echo "# vm.test.mjs and image.test.mjs side by side: $(($(date +%s) - t)) s"

[ -f target/cross/dist/report.tsv ] && { echo "# cross build report (target/cross/dist/report.tsv):"; sed 's/^/#   /' target/cross/dist/report.tsv; }
for times in "$ROOTFS_DIR/build-times.tsv" "$RASPI_IMAGE_DIR/build-times.tsv"; do
    [ -f "$times" ] && { echo "# $times (of the build that made what is cached):"; sed 's/^/#   /' "$times"; }
done
echo "# deploy suite: $(($(date +%s) - suite_start)) s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
