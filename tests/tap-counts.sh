# Sourced by the suites' run.sh: the counts of a TAP file that `node --test` wrote.

# Prints "PASSED FAILED" of TAP file $1, a cancelled test (a hook or a timeout that stopped it)
# counted as failed. Fails, printing nothing, when the file has no summary: its runner died.
tap_counts() {
  local p f c
  p=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$1" 2>/dev/null)
  f=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$1" 2>/dev/null)
  c=$(sed -n 's/^# cancelled \([0-9]*\)$/\1/p' "$1" 2>/dev/null)
  [ -n "$p" ] && [ -n "$f" ] || return 1
  echo "$p $((f + ${c:-0}))"
}

# A suite's last line, "N passed, N failed", from TAP file $1; fails unless all passed.
tap_summary() {
  local counts p f
  if ! counts=$(tap_counts "$1"); then
    echo "0 passed, 1 failed"
    return 1
  fi
  read -r p f <<<"$counts"
  echo "$p passed, $f failed"
  [ "$f" -eq 0 ]
}
