#!/usr/bin/env bash
# Web client suite: (a) checks of web/ — lint, typecheck, unit tests (Vitest), test vectors
# regenerate identically, and the committed assets/ equal a fresh build; (b) browser
# end-to-end tests against the real release server. Last line: "N passed, N failed".
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
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

cd "$root/web" || exit 1
check "web: lint" npm run --silent lint
check "web: typecheck" npm run --silent typecheck
check "vectors: generator reproduces the committed vectors" \
  bash -c "python3 '$root/tests/vectors/generate.py' | cmp - '$root/tests/vectors/format-v2.json'"
check "vectors: the v3 generator reproduces the committed vectors (and the CPace draft's)" \
  bash -c "python3 '$root/tests/vectors/generate_v3.py' | cmp - '$root/tests/vectors/format-v3.json'"

# Vitest: count its own tests.
npx vitest run --reporter=default --reporter=json --outputFile="$logs/vitest.json" >"$logs/vitest.out" 2>&1
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

check "web: assets/ is the build of web/ as committed" \
  bash -c "npm run --silent build && git -C '$root' diff --exit-code --stat -- assets && test -z \"\$(git -C '$root' status --porcelain -- assets)\""

# The server the browsers talk to embeds assets/: build it from this tree, so a binary left
# from an earlier tree is never what the browsers test.
check "server: release build embedding assets/" \
  "$root/tests/release-build.sh"

# Browser end-to-end tests. Firefox and WebKit run the flows that differ between engines
# (engines/engines.test.mjs, each alone and mixed with Chromium), side by side with Chromium's
# full set (every *.test.mjs here), each file against its own server; their output is shown
# after. Chromium's files run two at a time, the longest first, so that the files left at the
# end are short: one at a time they took 30 minutes while the two other engines were done
# after 9 and 13 (2026-12-06), and much of a file's time is waiting (a two-minute freeze, an
# inbox's expiry, a paused relay).
cd "$here" || exit 1
chromium_files=(./resume.test.mjs ./transfer.test.mjs ./e2e.test.mjs ./hands-on.test.mjs ./ux.test.mjs)
for file in ./*.test.mjs; do
  [[ " ${chromium_files[*]} " == *" $file "* ]] || chromium_files+=("$file")
done
engines=(firefox webkit)
for engine in "${engines[@]}"; do
  ENGINE=$engine node --test --test-concurrency=1 --test-reporter=spec --test-reporter-destination="$logs/$engine.out" \
    --test-reporter=tap --test-reporter-destination="$logs/$engine.tap" engines/engines.test.mjs &
  echo $! >"$logs/$engine.pid"
done
start=$SECONDS
node --test --test-concurrency=2 --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$logs/chromium.tap" "${chromium_files[@]}"
echo "chromium: $((SECONDS - start)) s"

# Adds the counts of one TAP file. $1 its name.
tally() {
  local p f
  p=$(grep -E '^# pass ' "$logs/$1.tap" | awk '{print $3}')
  f=$(grep -E '^# fail ' "$logs/$1.tap" | awk '{print $3}')
  if [ -z "$p" ] || [ -z "$f" ]; then
    failed=$((failed + 1))
    echo "not ok - $1 browser tests did not report"
  else
    passed=$((passed + p))
    failed=$((failed + f))
  fi
}
tally chromium
for engine in "${engines[@]}"; do
  wait "$(cat "$logs/$engine.pid")"
  echo "=== $engine (engines/engines.test.mjs), done after $((SECONDS - start)) s ==="
  cat "$logs/$engine.out"
  tally "$engine"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
