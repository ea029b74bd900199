#!/bin/sh
# The test VM's agent (tests/deploy/vm.test.mjs): fetches shell commands from the test's
# HTTP server on the host (sharethings.agent=HOST:PORT on the kernel command line; qemu's user
# network maps 10.0.2.2 to the host's loopback), runs each as root, and posts back its
# output and exit code. One command at a time, in order.
base="http://$(tr ' ' '\n' </proc/cmdline | sed -n 's/^sharethings\.agent=//p')"
cmd=/run/agent-cmd
out=/run/agent-out
while :; do
    # /next holds the request until there is a command (or answers 204 after a while).
    code=$(curl -s -o "$cmd" -w '%{http_code}' --max-time 60 "$base/next") || { sleep 1; continue; }
    [ "$code" = 200 ] || continue
    id=$(sed -n "1s/^# //p" "$cmd")
    sh "$cmd" >"$out" 2>&1 </dev/null
    rc=$?
    until curl -sf --max-time 60 --data-binary "@$out" "$base/result?id=$id&rc=$rc" >/dev/null; do sleep 1; done
done
