#!/usr/bin/env bash
# shellcheck disable=SC2317  # cleanup and the until_ conditions are called indirectly
# A trained checkpoint's upload across network namespaces, with the link cut mid-transfer
# (issue 17): `frontier serve` in one namespace and one `frontier-agent connect` in another,
# joined by a veth pair, CURVE on. The agent fine-tunes the base MiniLM-L6 (a few updates) into
# a ~90 MB checkpoint and uploads it capped at 20 MB/s, so the transfer lasts seconds. When the
# coordinator holds a quarter of it, the agent's end of the veth goes down until the agent
# notices the silence and drops the connection; then it comes back up. The upload must resume
# at the bytes the coordinator holds, not start over; the stage and the measurement of its
# checkpoint finish, each exactly once, and the stored file hashes to its name. The
# coordinator's peak memory is read from /proc: it must stay below the checkpoint's size
# (chunks stream to disk; no whole file is held).
#
#   sudo bash scripts/netns-artifact-test.sh [BIN_DIR]    # BIN_DIR: default .build/release
#
# The namespaces, veth and addresses (198.18.0.0/15, RFC 2544) are created here and removed on
# exit, even on failure. Prints `SKIP netns artifact test: WHY` and exits 0 when not root, when
# `ip netns` cannot be used or the base model is absent (scripts/fetch-base-model.sh); `PASS …`
# or `FAIL …` otherwise (exit 1). KEEP=1 keeps the work folder.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# q (read-only store queries), until_ (polling), netns_teardown.
# shellcheck source=scripts/netns-lib.sh
source "$root/scripts/netns-lib.sh"
bin=${1:-$root/.build/release}
frontier=$bin/frontier
agent=$bin/frontier-agent
base=${FRONTIER_BASE_MODEL:-$root/cache/models/all-minilm-l6-v2}

skip() {
    echo "SKIP netns artifact test: $*"
    exit 0
}

[[ $(id -u) -eq 0 ]] || skip "needs root (network namespaces and veth pairs); uid is $(id -u)"
command -v ip >/dev/null 2>&1 || skip "no 'ip' command (iproute2)"
[[ -f $base/model.safetensors ]] || skip "no base model at $base (run scripts/fetch-base-model.sh)"
command -v sha256sum >/dev/null 2>&1 || skip "no sha256sum"
command -v python3 >/dev/null 2>&1 || skip "no python3 to read the store"
for b in "$frontier" "$agent"; do
    if [[ ! -x $b ]]; then
        echo "FAIL netns artifact test: $b is not an executable (pass the folder of the built binaries)"
        exit 1
    fi
done

start=$EPOCHREALTIME
elapsed() { awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
log() { echo "[$(elapsed) s] $*"; }

tag=fa$$
ns_c=$tag-c
ns_a=$tag-a
namespaces=()
pids=()
work=$(mktemp -d "${TMPDIR:-/tmp}/frontier-netns-artifact-XXXXXX")

cleanup() {
    local rc=$?
    set +e
    netns_teardown
    ip link del "${tag}c" 2>/dev/null
    ip link del "${tag}a" 2>/dev/null
    if [[ ${KEEP:-0} == 1 ]]; then echo "kept $work"; else rm -rf "$work"; fi
    exit "$rc"
}
trap cleanup EXIT

db=$work/store/frontier.sqlite
sql_tool=python3
poll_s=0.05

die() {
    echo "FAIL netns artifact test: $*"
    for f in serve a; do
        echo "----- $f.log (last lines) -----"
        grep -v 'worker: offline: pass\|worker: single-stream: [0-9]* queries' "$work/$f.log" 2>/dev/null | tail -n 30
    done
    echo "store: $(q "SELECT trial_id, state, attempt FROM trials" | tr '\n' ' ')"
    exit 1
}

# ---------------------------------------------------------------------------------------------
if ! err=$(ip netns add "$ns_c" 2>&1); then skip "ip netns add failed: $err"; fi
namespaces+=("$ns_c")
ip netns add "$ns_a"
namespaces+=("$ns_a")
for ns in "${namespaces[@]}"; do
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 >/dev/null 2>&1 || true
    ip -n "$ns" link set lo up
done
if ! err=$(ip link add "${tag}c" netns "$ns_c" type veth peer name "${tag}a" netns "$ns_a" 2>&1); then
    skip "cannot set up a veth pair between namespaces: $err"
fi
ip -n "$ns_c" addr add 198.18.9.1/30 dev "${tag}c"
ip -n "$ns_a" addr add 198.18.9.2/30 dev "${tag}a"
ip -n "$ns_c" link set "${tag}c" up
ip -n "$ns_a" link set "${tag}a" up
log "namespaces $ns_c (coordinator, 198.18.9.1) and $ns_a (agent, 198.18.9.2) on veth ${tag}c↔${tag}a"

K=$work/keys
"$frontier" keygen --out "$K/coordinator" --name coordinator >/dev/null 2>&1
"$frontier" keygen --out "$K/agent" --name agent >/dev/null 2>&1
mkdir -p "$K/coordinator/authorized"
{ echo "# agent-ids: a"; cat "$K/agent/agent.pub"; } >"$K/coordinator/authorized/a.pub"
cp "$K/coordinator/coordinator.pub" "$K/agent/"

# A few SST-2 fixture sentences as the train split: the stage is about its checkpoint, not accuracy.
mkdir -p "$work/glue/SST-2"
fixture=$root/Tests/FrontierTests/Fixtures/glue/SST-2/dev.tsv
[[ -f $fixture ]] || die "the fixture $fixture is missing"
cp "$fixture" "$work/glue/SST-2/dev.tsv"
head -n 17 "$fixture" >"$work/glue/SST-2/train.tsv"
cat >"$work/grid.yaml" <<EOF
name: netns-artifact
data_root: $work/glue
tasks: [SST-2]
models: [$base]
placement: any
measurement:
  batch: 4
  threads: 1
  limit: 16
  min_duration_s: 0.3
  idle_baseline_s: 0
  single_stream_min_queries: 8
  warmup_queries: 1
  timeout_s: 120
  energy: { meter: estimated }
  interference: { max_remeasures: 0 }
variants:
  - name: finetuned
    baseline: true
    train: { epochs: 1, limit: 8, batch: 4, max_seq_len: 16, threads: 1, seed: 3 }
    techniques: []
  - name: finetuned-int8
    train: { epochs: 1, limit: 8, batch: 4, max_seq_len: 16, threads: 1, seed: 3 }
    techniques: [{ name: quantization, mode: int8 }]
EOF

store=$work/store
ip netns exec "$ns_c" "$frontier" serve "$work/grid.yaml" --bind tcp://198.18.9.1:5555 --keys "$K/coordinator" \
    --store "$store" --lease-s 60 --exit-when-done >"$work/serve.log" 2>&1 &
serve_pid=$!
pids+=("$serve_pid")
listening() { grep -q 'listening on' "$work/serve.log"; }
until_ 20 listening || die "frontier serve did not start listening"
ip netns exec "$ns_a" "$agent" connect tcp://198.18.9.1:5555 --keys "$K/agent" --agent-id a --device-class netns \
    --spool "$work/spool-a" --work "$work/work-a" --shared "$work" --artifact-rate-mb 20 >"$work/a.log" 2>&1 &
agent_pid=$!
pids+=("$agent_pid")
log "serve (pid $serve_pid, --lease-s 60) and agent a (pid $agent_pid, --artifact-rate-mb 20) started"

# ---------------------------------------------------------------------------------------------
# 1. The upload: wait until the coordinator holds a quarter of it, then cut the link.
size=""
held() { # bytes of the partial upload (0 when none)
    local f
    f=$(find "$store/artifacts/partial" -name '*.part' 2>/dev/null | head -n 1)
    [[ -n $f ]] && stat -c %s "$f" || echo 0
}
archive() { find "$work/work-a/stages" -name checkpoint.tar 2>/dev/null | head -n 1; }
packed() { [[ -n $(archive) ]]; }
until_ 240 packed || die "the stage did not train and pack its checkpoint within 240 s"
quarter() {
    size=$(grep -o 'uploading [0-9a-f]*.s checkpoint ([0-9]* MiB' "$work/a.log" | head -n 1 | grep -o '([0-9]*' | tr -d '(')
    local bytes
    bytes=$(stat -c %s "$(archive)")
    [[ $(held) -ge $((bytes / 4)) ]]
}
until_ 60 quarter || die "the coordinator did not receive a quarter of the checkpoint within 60 s (holds $(held) bytes)"
bytes=$(stat -c %s "$(archive)")
ip -n "$ns_a" link set "${tag}a" down
at_cut=$(held)
log "checkpoint ${size:-?} MiB ($bytes bytes); link DOWN with $at_cut bytes at the coordinator"

# 2. The agent notices the silence and drops its connection; the link comes back.
noticed() { grep -q 'silent for' "$work/a.log"; }
until_ 60 noticed || die "the agent did not notice the coordinator's silence within 60 s"
log "agent: '$(grep -m1 'silent for' "$work/a.log" | sed 's/^[^ ]* agent a: //')'"
ip -n "$ns_a" link set "${tag}a" up
log "link UP"

# 3. The sweep ends.
serve_gone() { ! kill -0 "$serve_pid" 2>/dev/null; }
peak_kb=0
watch_memory() {
    local hwm
    hwm=$(awk '/VmHWM/ { print $2 }' "/proc/$serve_pid/status" 2>/dev/null || echo 0)
    [[ -n $hwm && $hwm -gt $peak_kb ]] && peak_kb=$hwm
    serve_gone
}
until_ 240 watch_memory || die "frontier serve did not finish within 240 s of the restore"
serve_rc=0
wait "$serve_pid" || serve_rc=$?
log "serve exited with status $serve_rc"

# ---------------------------------------------------------------------------------------------
failed=0
fail() {
    echo "FAIL netns artifact test: $*"
    failed=1
}
[[ $serve_rc == 0 ]] || fail "frontier serve exited $serve_rc"
resume=$(grep -m1 'the coordinator holds [0-9]* of [0-9]* bytes; resuming there' "$work/a.log" | grep -o 'holds [0-9]*' | grep -o '[0-9]*' || true)
[[ -n $resume && $resume -gt 0 && $resume -ge $at_cut ]] || fail "the upload did not resume after the cut (no 'the coordinator holds N of M bytes; resuming there' with N ≥ the $at_cut bytes held at the cut in the agent's log)"
total=$(q "SELECT COUNT(*) FROM trials")
done_=$(q "SELECT COUNT(*) FROM trials WHERE state = 'done'")
multi=$(q "SELECT trial_id FROM results GROUP BY trial_id HAVING COUNT(*) != 1")
[[ $total == 3 && $done_ == 3 && -z $multi ]] || fail "trials: $done_ done of $total (expected the stage and two measurements, once each); more than one result: $multi"
rows=$(q "SELECT sha256 || ' ' || size FROM artifacts")
[[ $(wc -l <<<"$rows") == 1 && -n $rows ]] || fail "artifacts: expected one row, got: $rows"
sha=${rows%% *}
actual=$(sha256sum "$store/artifacts/$sha" 2>/dev/null | cut -d' ' -f1)
[[ $actual == "$sha" ]] || fail "the stored artifact hashes to $actual, not its name $sha"
local_sha=$(sha256sum "$(archive)" | cut -d' ' -f1)
[[ $local_sha == "$sha" ]] || fail "the agent's packed checkpoint ($local_sha) is not the stored one ($sha)"
[[ -z $(find "$store/artifacts/partial" -name '*.part' 2>/dev/null) ]] || fail "a partial upload was left behind"
peak_mb=$((peak_kb / 1024))
[[ $peak_kb -gt 0 && $((peak_kb * 1024)) -lt $bytes ]] || fail "the coordinator's peak memory ($peak_mb MiB) is not below the checkpoint's size ($((bytes >> 20)) MiB)"
if [[ $failed == 0 ]]; then
    echo "PASS netns artifact test ($(elapsed) s)"
    echo "  checkpoint: $bytes bytes (sha256 ${sha:0:16}…), uploaded at ≤ 20 MB/s over veth ${tag}a with CURVE"
    echo "  link cut with $at_cut bytes at the coordinator; after the restore the upload resumed at byte $resume (not 0)"
    echo "  trials: the stage and two measurements, each done once; one artifact, its file hashes to its name"
    echo "  coordinator peak RSS (VmHWM): $peak_mb MiB, below the checkpoint's $((bytes >> 20)) MiB"
    exit 0
fi
for f in serve a; do
    echo "----- $f.log (last lines) -----"
    grep -v 'worker: offline: pass\|worker: single-stream: [0-9]* queries' "$work/$f.log" 2>/dev/null | tail -n 30
done
exit 1
