#!/usr/bin/env bash
# Deployment suite (issue 5 and issue 6 point 4). Run install.sh first (as root).
#   1. cross/build.sh builds the Raspberry Pi binaries (CROSS_TARGETS, default: the three
#      static musl targets; "all" adds the two gnu ones), and the x86_64 server is built for
#      the HAProxy tests (SHARETHINGS_BIN names a prebuilt one instead).
#   2. node's test runner runs each tests/deploy/*.test.mjs file in turn.
# Prints the build report, then `N passed, N failed` as the last line; exits non-zero when
# anything failed. Every address used is on 127.0.0.0/8.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$repo"

passed=0
failed=0
check() { # check <description> <command...>: a shell-level test
    local what="$1"; shift
    if "$@"; then passed=$((passed + 1)); echo "ok - $what"; else failed=$((failed + 1)); echo "not ok - $what"; fi
}

check "cross/build.sh ${CROSS_TARGETS:-musl}" bash cross/build.sh ${CROSS_TARGETS:-musl}
if [ -z "${SHARETHINGS_BIN:-}" ]; then
    check "x86_64 release build of the server" cargo build --release --locked --quiet --bin sharethings
fi

for file in systemd cross haproxy affine; do
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
        grep -E '^ *(ok|not ok) [0-9]+ - |^# .*(exposure|members per|sizes|bytes)' "$log" | grep -v '^    *ok' || true
        if [ "$f" != 0 ] || [ "${c:-0}" != 0 ]; then cat "$log"; fi
        passed=$((passed + p))
        failed=$((failed + f + ${c:-0}))
    fi
    rm -f "$log"
done

[ -f target/cross/dist/report.tsv ] && { echo "# cross build report (target/cross/dist/report.tsv):"; sed 's/^/#   /' target/cross/dist/report.tsv; }
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
