#!/usr/bin/env bash
# The release build that every suite runs against: the workspace's binaries and examples
# (the server, the CLI, examples/conformance, wifi and bench), in one cargo command. One
# command for every suite, because cargo unifies dependency features per command: suites that
# asked for different subsets (one binary, two packages, an example) each got their own build
# of the server crate and its whole-program link, minutes apiece on two cores.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec cargo build --release --locked --quiet --workspace --bins --examples
