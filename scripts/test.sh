#!/usr/bin/env bash
# The test command: installs the Debian packages if missing, then runs the whole suite built
# optimised (numeric tests are far too slow in a debug build), with testing enabled, then the
# deploy checks.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/install-deps.sh
swift test -c release -Xswiftc -enable-testing "$@"
# The deploy files (issue 8): shellcheck, Kubernetes schemas, systemd-analyze, and the systemd
# units' command lines brought up for real. Only for the whole suite, not a filtered run.
if [ $# -eq 0 ]; then
  bash scripts/check-deploy.sh
fi
