#!/usr/bin/env bash
# Installs what the Node interop tests need: Node.js (tests/install-node.sh), then exactly the
# locked packages with `npm ci`. Safe to run again.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

"$here/../install-node.sh"

"$here/../npm-ci.sh" "$here"
