#!/usr/bin/env bash
# Web client suite: (a) browser end-to-end tests against the real release server; (b) beside
# them, checks of web/ — lint, typecheck, unit tests (Vitest), test vectors regenerate
# identically, and the committed assets/ equal a fresh build. Last line: "N passed, N failed".
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
# shellcheck source=../tap-counts.sh
source "$root/tests/tap-counts.sh"
passed=0
failed=0

check() {
  local name="$1"
  shift
  if "$@" >"$logs/out" 2>&1; then
    passed=$((passed + 1))
    echo "ok - $name"
  else
    failed=$((failed + 1))
    echo "not ok - $name"
    tail -n 40 "$logs/out" | sed 's/^/    /'
  fi
}

# The server the browsers talk to embeds assets/: build it from this tree, so a binary left
# from an earlier tree is never what the browsers test.
check "server: release build embedding assets/" \
  "$root/tests/release-build.sh"

# Browser end-to-end tests, in four lanes side by side, each file against its own server:
# Chromium's full set (every *.test.mjs here), and Firefox and WebKit each running the flows
# that differ between engines (engines/engines.test.mjs, alone and mixed with Chromium). One
# Chromium lane took 30 minutes while the two other engines were done after 9 and 13
# (2026-12-06), and much of a file's time is waiting (an inbox's expiry, a paused relay, a
# two-minute freeze). The first lane holds the Chromium files listed here, about half of
# Chromium's time; Firefox's lane, the shortest, runs resume.test.mjs (about 4 minutes) after
# its engines file; the second lane every other file, new ones included. Each lane's output is
# shown when all are done.
cd "$here" || exit 1
chromium_a=(./transfer.test.mjs ./e2e.test.mjs ./folders.test.mjs)
after_firefox=(./resume.test.mjs)
chromium_b=()
for file in ./*.test.mjs; do
  [[ " ${chromium_a[*]} ${after_firefox[*]} " == *" $file "* ]] || chromium_b+=("$file")
done
start=$SECONDS
# Starts one lane in the background: run_lane NAME FILE...; ENGINE comes from the environment
# (the engines file reads it; every other file is Chromium's).
run_lane() {
  local name=$1
  shift
  (
    node --test --test-concurrency=1 --test-reporter=spec --test-reporter-destination="$logs/$name.out" \
      --test-reporter=tap --test-reporter-destination="$logs/$name.tap" "$@"
    echo "$((SECONDS - start))" >"$logs/$name.seconds"
  ) &
  echo $! >"$logs/$name.pid"
}
run_lane chromium-a "${chromium_a[@]}"
run_lane chromium-b "${chromium_b[@]}"
ENGINE=firefox run_lane firefox engines/engines.test.mjs "${after_firefox[@]}"
ENGINE=webkit run_lane webkit engines/engines.test.mjs

# The checks of web/: they only read the tree (the bundle is built elsewhere), so they run
# while the lanes do, at a lower CPU priority: on what the browsers leave idle while they wait,
# never taking it from them or from the suites beside this one (at the same priority, the
# lanes took 50 to 100 s longer and cli's tests four times as long, on 2026-12-07).
cd "$root/web" || exit 1
check "web: lint" nice -n 10 npm run --silent lint
check "web: typecheck" nice -n 10 npm run --silent typecheck
check "vectors: generator reproduces the committed vectors" \
  nice -n 10 bash -c "python3 '$root/tests/vectors/generate.py' | cmp - '$root/tests/vectors/format-v2.json'"
check "vectors: the v3 generator reproduces the committed vectors (and the CPace draft's)" \
  nice -n 10 bash -c "python3 '$root/tests/vectors/generate_v3.py' | cmp - '$root/tests/vectors/format-v3.json'"

# Vitest: count its own tests.
nice -n 10 npx vitest run --reporter=default --reporter=json --outputFile="$logs/vitest.json" >"$logs/vitest.out" 2>&1
if [ -s "$logs/vitest.json" ]; then
  read -r vp vf < <(node -e 'const r=require(process.argv[1]);console.log(r.numPassedTests, r.numFailedTests + (r.numTotalTestSuites && r.success===false && r.numFailedTests===0 ? 1 : 0))' "$logs/vitest.json")
  passed=$((passed + vp))
  failed=$((failed + vf))
  echo "vitest: $vp passed, $vf failed"
  [ "$vf" -eq 0 ] || tail -n 60 "$logs/vitest.out"
else
  failed=$((failed + 1))
  echo "not ok - vitest did not run"
  tail -n 40 "$logs/vitest.out"
fi

# Built elsewhere and compared, so that assets/ keeps its dates: the server's build script
# watches it, and a rewrite in place, however equal, rebuilt every later cargo build of the
# server (three cross targets twice in the deploy warm-up, the release build here).
check "web: assets/ is the build of web/ as committed" \
  nice -n 10 bash -c "npm run --silent build -- --outDir '$logs/assets' --emptyOutDir && diff -r '$logs/assets' '$root/assets' && test -z \"\$(git -C '$root' status --porcelain -- assets)\""

# Adds the counts of one lane's TAP file (a cancelled test counts as failed). $1 its name.
tally() {
  local counts p f
  if counts=$(tap_counts "$logs/$1.tap"); then
    read -r p f <<<"$counts"
    passed=$((passed + p))
    failed=$((failed + f))
  else
    failed=$((failed + 1))
    echo "not ok - $1 browser tests did not report"
  fi
}
# Waits for one lane, shows its output and adds its counts. $1 its name.
finish_lane() {
  wait "$(cat "$logs/$1.pid")"
  echo "=== $1, done after $(cat "$logs/$1.seconds" 2>/dev/null || echo '?') s ==="
  cat "$logs/$1.out"
  tally "$1"
}
for lane in chromium-a chromium-b firefox webkit; do
  finish_lane "$lane"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
