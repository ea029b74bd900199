#!/usr/bin/env bash
# The README's test command. Installs what the tests need (as root on a fresh Debian 12 with
# only the package registries reachable), then runs every suite and ends with one line
# "N passed, N failed" summing them all. Exits non-zero when anything failed.
#
# Suites: rust (cargo test, every workspace member), node (socket.io-client interop), attack
# (the security review's attacks on the release binary), e2e (web client checks and the
# browser), cli (the command-line client against the server, Chromium and HAProxy), net (two
# Chromiums and the CLI over shaped Wi-Fi links in network namespaces), deploy (ARM builds
# under qemu, systemd, HAProxy). Run a subset with `tests/run.sh rust node`; `soak` (a 5-minute
# soak benchmark) runs only when named. The deploy suite's cold builds start first, in the
# background (see below), so deploy is last. Three suites that mostly wait run beside another
# (see `beside`): attack and cli beside e2e, net beside deploy (and the end of a fresh
# machine's warm-up); each one's output is printed when its host has ended. While rust runs,
# the other suites' installs and the release build they share run in the background.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 1

if [ "$#" -gt 0 ]; then suites=("$@"); else suites=(rust node attack e2e cli net deploy); fi

passed=0
failed=0
summary=()
log_dir=$(mktemp -d)

clock_ticks=$(getconf CLK_TCK)

# CPU-seconds (user and system) of the ended children of the shell (or subshell) $1.
children_cpu() {
  local stat
  read -r -a stat <"/proc/$1/stat"
  echo $(((stat[15] + stat[16]) / clock_ticks))
}

# Runs "$@" in a subshell that adds the CPU-seconds of everything it ran to the file $1.
with_cpu() {
  local file=$1
  shift
  (
    "$@"
    status=$?
    subshell=$BASHPID
    children_cpu "$subshell" >>"$file"
    exit "$status"
  )
}

# CPU-seconds written to the file $1 by with_cpu, summed.
cpu_in() {
  local sum=0 n
  if [ -f "$1" ]; then while read -r n; do sum=$((sum + n)); done <"$1"; fi
  echo "$sum"
}

# Adds the counts of one suite, its wall time and CPU time. $1 name, $2 passed, $3 failed.
count() {
  passed=$((passed + $2))
  failed=$((failed + $3))
  summary+=("$1: $2 passed, $3 failed ($(($(date +%s) - suite_started)) s, $(cpu_in "$log_dir/$1.cpu") CPU-s)")
}

run_rust() {
  local log="$log_dir/rust.log" p=0 f=0 status
  with_cpu "$log_dir/rust.cpu" cargo test --workspace --all-targets 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  while read -r a b; do p=$((p + a)); f=$((f + b)); done < <(
    sed -n 's/^test result: [a-zA-Z]*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\1 \2/p' "$log")
  if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  count rust "$p" "$f"
}

# Runs the install.sh of suite $1, if it has one.
install_suite() {
  local name=$1 dir="tests/$1"
  if [ -x "$dir/install.sh" ] && ! with_cpu "$log_dir/$name.cpu" "$dir/install.sh"; then
    echo "suite $name: install.sh failed" >&2
    return 1
  fi
}

# The installs of every suite asked for start in the background while rust (which needs none)
# builds and runs, one at a time: two of them share node_modules folders and apt's lock. Each
# one's output goes to $log_dir/NAME.install and its outcome ("ok" or "failed") to
# NAME.installed; a suite waits for them all (wait_installs) and shows its own.
installs=
start_installs() {
  (
    for name in "${suites[@]}"; do
      if install_suite "$name" >"$log_dir/$name.install" 2>&1; then echo ok; else echo failed; fi >"$log_dir/$name.installed"
    done
  ) &
  installs=$!
}
wait_installs() {
  if [ -n "$installs" ]; then
    wait "$installs"
    installs=
  fi
}
# "ok" when suite $1's install succeeded (after wait_installs).
install_outcome() { cat "$log_dir/$1.installed" 2>/dev/null || echo failed; }

# A suite with its own install.sh and run.sh whose last line is "N passed, N failed". $2, when
# given, says whether its install succeeded (its output was shown elsewhere); otherwise this
# waits for the installs and shows its own.
run_scripted() {
  local name=$1 dir="tests/$1" log="$log_dir/$1.log" installed=${2:-} status line p f
  if [ ! -x "$dir/run.sh" ]; then
    echo "suite $name has no $dir/run.sh" >&2
    count "$name" 0 1
    return
  fi
  if [ -z "$installed" ]; then
    wait_installs
    cat "$log_dir/$name.install"
    installed=$(install_outcome "$name")
  fi
  if [ "$installed" != ok ]; then
    count "$name" 0 1
    return
  fi
  with_cpu "$log_dir/$name.cpu" "$dir/run.sh" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
  p=$(echo "$line" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
  f=$(echo "$line" | sed -n 's/^[0-9]* passed, \([0-9]*\) failed.*/\1/p')
  p=${p:-0}
  f=${f:-0}
  if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  count "$name" "$p" "$f"
}

# Suites that run beside another (the guest's name, then its host's), when both are asked for:
# each is mostly waiting, on deadlines or on shaped links, so the two together take less time
# than one after the other (docs/testing.md says how much less). A guest starts with its host,
# its output goes to files, and it is shown and counted when the host has ended. Not deploy
# beside e2e: its emulated Pis, starved by the browsers, did not finish booting in 15 minutes,
# and two of e2e's tests failed under the load they added. Nor node: its heartbeat tests (a
# 300 ms ping interval) lost their connections beside the browsers.
beside=("attack e2e" "cli e2e" "net deploy")
asked() { [[ " ${suites[*]} " == *" $1 "* ]]; }
# The other side of each pair in `beside` whose side $2 (1 guest, 2 host) is suite $1, when
# that other suite is asked for too: `partners e2e 2` its guests, `partners net 1` its host.
partners() {
  local pair side
  for pair in "${beside[@]}"; do
    read -r -a side <<<"$pair"
    if [ "${side[$2 - 1]}" = "$1" ] && asked "${side[2 - $2]}"; then echo "${side[2 - $2]}"; fi
  done
}

# Runs suite $1 in the background once the installs are done: its output, counts and summary
# line go to files.
start_beside() {
  local name=$1 installed
  wait_installs
  installed=$(install_outcome "$name")
  (
    passed=0 failed=0 summary=() suite_started=$(date +%s)
    { cat "$log_dir/$name.install"; run_scripted "$name" "$installed"; } >"$log_dir/$name.out" 2>&1
    echo "$passed $failed" >"$log_dir/$name.counts"
    echo "${summary[0]}" >"$log_dir/$name.summary"
  ) &
  echo $! >"$log_dir/$name.pid"
}

# Waits for the guest suite $1 to end, shows its output and adds its counts.
take_beside() {
  local name=$1 host=$2 p=0 f=1
  wait "$(cat "$log_dir/$name.pid")"
  echo "=== suite: $name (ran beside $host) ==="
  cat "$log_dir/$name.out"
  if [ -f "$log_dir/$name.counts" ]; then read -r p f <"$log_dir/$name.counts"; fi
  passed=$((passed + p))
  failed=$((failed + f))
  summary+=("$(cat "$log_dir/$name.summary" 2>/dev/null || echo "$name: did not finish")")
}

# On a fresh machine the deploy suite's cold builds (cross binaries, VM image) are about 45
# CPU-minutes. They start now at the lowest CPU priority, so they run mostly on the CPU that the
# other suites leave idle (tests/deploy/warm-up.sh, docs/testing.md), and deploy waits for them.
# Not in the idle I/O class as well: there, beside e2e's browsers writing gigabytes, 330
# CPU-seconds of relinks took 1,052 s while the suites used 1.1 of the two cores on average.
warm_up=
if asked deploy && tests/deploy/install.sh; then
  with_cpu "$log_dir/warm-up.cpu" nice -n 19 tests/deploy/warm-up.sh \
    >"$log_dir/deploy-warm-up.log" 2>&1 &
  warm_up=$!
fi

start_installs

# The release build that every suite but rust runs against (tests/release-build.sh) starts now,
# beside rust's debug build: cargo locks each profile's folder on its own, and the release
# build ends in whole-program links that keep one core busy, the debug build's crates the other.
# Each suite still runs tests/release-build.sh itself, which waits for this one's lock and finds
# the build done, or shows why it failed.
release_build=
if [ "${#suites[@]}" -gt 1 ] || [ "${suites[0]}" != rust ]; then
  with_cpu "$log_dir/release-build.cpu" tests/release-build.sh >/dev/null 2>&1 &
  release_build=$!
fi

run_started=$(date +%s)
for suite in "${suites[@]}"; do
  if [ -n "$(partners "$suite" 1)" ]; then continue; fi
  guests=$(partners "$suite" 2)
  for guest in $guests; do start_beside "$guest"; done
  echo "=== suite: $suite ==="
  suite_started=$(date +%s)
  if [ "$suite" = deploy ] && [ -n "$warm_up" ]; then
    wait "$warm_up"
    grep -E '^(cross|deploy warm-up): ' "$log_dir/deploy-warm-up.log"
    warm_up_cpu=$(cpu_in "$log_dir/warm-up.cpu")
  fi
  case "$suite" in
    rust) run_rust ;;
    *) run_scripted "$suite" ;;
  esac
  for guest in $guests; do take_beside "$guest" "$suite"; done
done

if [ -n "$release_build" ]; then
  wait "$release_build"
  release_build_cpu=$(cpu_in "$log_dir/release-build.cpu")
fi
rm -rf "$log_dir"
echo
for line in "${summary[@]}"; do echo "  $line"; done
if [ -n "${release_build_cpu:-}" ]; then echo "  release build, started beside rust: $release_build_cpu CPU-s"; fi
if [ -n "${warm_up_cpu:-}" ]; then echo "  deploy warm-up, beside the suites: $warm_up_cpu CPU-s"; fi
echo "  all suites: $(($(date +%s) - run_started)) s, $(children_cpu $$) CPU-s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
