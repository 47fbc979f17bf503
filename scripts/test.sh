#!/usr/bin/env bash
# The test command: installs the Debian packages if missing, then runs the whole suite built
# optimised (numeric tests are far too slow in a debug build), with testing enabled.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/install-deps.sh
swift test -c release -Xswiftc -enable-testing "$@"
