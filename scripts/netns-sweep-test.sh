#!/usr/bin/env bash
# shellcheck disable=SC2317  # cleanup and the until_ conditions are called indirectly
# A sweep across network namespaces (issue 6): `frontier serve` in one namespace, two
# `frontier-agent connect` agents in two others, each joined to the coordinator's namespace by
# its own veth pair, CURVE on. Cutting agent a1's link while it runs a trial makes that trial's
# lease expire and the trial move to a2; restoring the link lets a1 rejoin. An agent whose key
# is not in authorized/ (a third namespace) is refused and never gets a trial. In the end every
# grid point has exactly one result and `frontier serve --exit-when-done` exits 0.
#
#   sudo bash scripts/netns-sweep-test.sh [BIN_DIR]     # BIN_DIR: default .build/release
#
# The namespaces, veths and addresses are created here and removed on exit (even on failure).
# Addresses come only from the benchmarking range 198.18.0.0/15 (RFC 2544), on the veths made
# here; IPv6 is switched off in the namespaces. Prints `SKIP netns sweep test: WHY` and exits 0
# when not root or when `ip netns` cannot be used; `PASS …` or `FAIL …` otherwise (exit 1).
# KEEP=1 keeps the work folder (logs, store) for inspection.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
# q (read-only store queries), until_ (polling), netns_teardown.
# shellcheck source=scripts/netns-lib.sh
source "$root/scripts/netns-lib.sh"
bin=${1:-$root/.build/release}
frontier=$bin/frontier
agent=$bin/frontier-agent

skip() {
    echo "SKIP netns sweep test: $*"
    exit 0
}

[[ $(id -u) -eq 0 ]] || skip "needs root (network namespaces and veth pairs); uid is $(id -u)"
command -v ip >/dev/null 2>&1 || skip "no 'ip' command (iproute2)"
for b in "$frontier" "$agent"; do
    if [[ ! -x $b ]]; then
        echo "FAIL netns sweep test: $b is not an executable (pass the folder of the built binaries)"
        exit 1
    fi
done
if command -v sqlite3 >/dev/null 2>&1; then
    sql_tool=sqlite3
elif command -v python3 >/dev/null 2>&1; then
    sql_tool=python3
else
    skip "neither sqlite3 nor python3 to read the store"
fi

start=$EPOCHREALTIME
# Seconds since the start, one decimal.
elapsed() { awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
now() { printf '%s' "$EPOCHREALTIME"; }
since() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
log() { echo "[$(elapsed) s] $*"; }

# ---------------------------------------------------------------------------------------------
# Names unique to this run, and the cleanup that undoes everything made below.
tag=fr$$
ns_c=$tag-c
ns_a1=$tag-a1
ns_a2=$tag-a2
ns_x=$tag-x
namespaces=()
veths=("${tag}c1" "${tag}a1" "${tag}c2" "${tag}a2" "${tag}c3" "${tag}x")
pids=()
work=$(mktemp -d "${TMPDIR:-/tmp}/frontier-netns-XXXXXX")
failed=0

cleanup() {
    local rc=$?
    set +e
    local v
    netns_teardown
    # A veth still in this namespace (a failure between creating and moving it).
    for v in "${veths[@]}"; do ip link del "$v" 2>/dev/null; done
    if [[ ${KEEP:-0} == 1 ]]; then
        echo "kept $work"
    else
        rm -rf "$work"
    fi
    exit "$rc"
}
trap cleanup EXIT

db=$work/store/frontier.sqlite

# The agents' logs carry a line per offline pass and per 256 single-stream queries: leave those
# out of what is printed.
tail_log() {
    echo "----- $(basename "$1") (last lines, offline-pass lines left out) -----"
    grep -v 'worker: offline: pass\|worker: single-stream: [0-9]* queries' "$1" 2>/dev/null | tail -n "${2:-40}"
}

fail() {
    echo "FAIL netns sweep test: $*"
    failed=1
}

die() {
    fail "$*"
    for f in serve a1 a2 rogue; do [[ -f $work/$f.log ]] && tail_log "$work/$f.log"; done
    echo "store: $(q "SELECT state, COUNT(*) FROM trials GROUP BY state" | tr '\n' ' ')"
    exit 1
}

# ---------------------------------------------------------------------------------------------
# The namespaces: C (coordinator) ↔ A1, C ↔ A2, C ↔ X (the agent with an unknown key), each a
# /30 of 198.18.0.0/15 on its own veth pair. Only lo and these veths exist in any of them.
if ! err=$(ip netns add "$ns_c" 2>&1); then skip "ip netns add failed: $err"; fi
namespaces+=("$ns_c")
for ns in "$ns_a1" "$ns_a2" "$ns_x"; do
    ip netns add "$ns"
    namespaces+=("$ns")
done
for ns in "${namespaces[@]}"; do
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
        >/dev/null 2>&1 || true
    ip -n "$ns" link set lo up
done
link() { # link N NS VETH: veth ${tag}cN (198.18.N.1/30, in C) ↔ VETH (198.18.N.2/30, in NS)
    local n=$1 ns=$2 inner=$3
    ip link add "${tag}c$n" netns "$ns_c" type veth peer name "$inner" netns "$ns" &&
        ip -n "$ns_c" addr add "198.18.$n.1/30" dev "${tag}c$n" &&
        ip -n "$ns" addr add "198.18.$n.2/30" dev "$inner" &&
        ip -n "$ns_c" link set "${tag}c$n" up &&
        ip -n "$ns" link set "$inner" up
}
if ! err=$(link 1 "$ns_a1" "${tag}a1" 2>&1); then skip "cannot set up a veth pair between namespaces: $err"; fi
link 2 "$ns_a2" "${tag}a2"
link 3 "$ns_x" "${tag}x"
for n in 1 2 3; do
    ns=$ns_a1
    [[ $n == 2 ]] && ns=$ns_a2
    [[ $n == 3 ]] && ns=$ns_x
    if ! ip netns exec "$ns" ping -c 1 -W 2 "198.18.$n.1" >/dev/null 2>&1; then
        if command -v ping >/dev/null 2>&1; then die "198.18.$n.1 unreachable from $ns over its veth"; fi
    fi
done
log "namespaces $ns_c, $ns_a1, $ns_a2, $ns_x; veths 198.18.1.1/30↔.2, 198.18.2.1/30↔.2, 198.18.3.1/30↔.2"

# ---------------------------------------------------------------------------------------------
# Keys: the coordinator's pair, the agents' shared pair (authorised), and a rogue pair (not).
K=$work/keys
"$frontier" keygen --out "$K/coordinator" --name coordinator >/dev/null 2>&1
"$frontier" keygen --out "$K/agent" --name agent >/dev/null 2>&1
"$frontier" keygen --out "$K/rogue" --name agent >/dev/null 2>&1
mkdir -p "$K/coordinator/authorized"
# The shared pair may act as a1 and a2 only (the coordinator binds agent ids to keys).
{ echo "# agent-ids: a1, a2"; cat "$K/agent/agent.pub"; } >"$K/coordinator/authorized/fleet.pub"
cp "$K/coordinator/coordinator.pub" "$K/agent/"
cp "$K/coordinator/coordinator.pub" "$K/rogue/"
rogue_key=$(tr -d '\n' <"$K/rogue/agent.pub")

# ---------------------------------------------------------------------------------------------
# The model: a tiny random BERT classifier (as the Swift tests' tinyCheckpoint), else MiniLM.
model=$work/model
data=$root/Tests/FrontierTests/Fixtures/glue
shared=${FRONTIER_SHARED:-$root/../shared}
min_duration=1.2
if command -v python3 >/dev/null 2>&1 && python3 - "$model" <<'EOF'; then
import json, os, random, struct, sys
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", "a", "dog",
         ".", "!", "##s", "hello", "world"]
vocab = words + ["tok%d" % i for i in range(len(words), 40)]
with open(os.path.join(out, "vocab.txt"), "w") as f:
    f.write("\n".join(vocab) + "\n")
V, H, L, I, P, T = 40, 16, 2, 24, 64, 2
with open(os.path.join(out, "config.json"), "w") as f:
    json.dump({"model_type": "bert", "architectures": ["BertForSequenceClassification"], "vocab_size": V,
               "hidden_size": H, "num_hidden_layers": L, "num_attention_heads": 4, "intermediate_size": I,
               "max_position_embeddings": P, "type_vocab_size": T,
               "id2label": {"0": "negative", "1": "positive"}}, f)
shapes = {}
def linear(n, o, i): shapes[n + ".weight"] = [o, i]; shapes[n + ".bias"] = [o]
def norm(n): shapes[n + ".weight"] = [H]; shapes[n + ".bias"] = [H]
shapes["bert.embeddings.word_embeddings.weight"] = [V, H]
shapes["bert.embeddings.position_embeddings.weight"] = [P, H]
shapes["bert.embeddings.token_type_embeddings.weight"] = [T, H]
norm("bert.embeddings.LayerNorm")
for l in range(L):
    b = "bert.encoder.layer.%d." % l
    for part in ("query", "key", "value"):
        linear(b + "attention.self." + part, H, H)
    linear(b + "attention.output.dense", H, H); norm(b + "attention.output.LayerNorm")
    linear(b + "intermediate.dense", I, H); linear(b + "output.dense", H, I); norm(b + "output.LayerNorm")
linear("bert.pooler.dense", H, H); linear("classifier", 2, H)
rng = random.Random(7)
header, blobs, offset = {}, [], 0
for name in sorted(shapes):
    n = 1
    for d in shapes[name]:
        n *= d
    if name.endswith("LayerNorm.weight"):
        values = [1.0 + rng.uniform(-0.1, 0.1) for _ in range(n)]
    else:
        values = [rng.gauss(0.0, 0.2) for _ in range(n)]
    blob = struct.pack("<%df" % n, *values)
    header[name] = {"dtype": "F32", "shape": shapes[name], "data_offsets": [offset, offset + len(blob)]}
    blobs.append(blob)
    offset += len(blob)
text = json.dumps(header, separators=(",", ":")).encode()
text += b" " * (-len(text) % 8)
with open(os.path.join(out, "model.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(text)))
    f.write(text)
    for blob in blobs:
        f.write(blob)
EOF
    model_note="tiny random BERT (python3-written safetensors)"
elif [[ -f $shared/models/minilm-l6-sst2/config.json ]]; then
    model=$shared/models/minilm-l6-sst2
    min_duration=1.5
    model_note="MiniLM-L6 SST-2 from $shared"
else
    skip "no python3 to write a tiny checkpoint and no $shared/models/minilm-l6-sst2"
fi
if ! info=$("$agent" info --model "$model" 2>&1); then
    die "frontier-agent info refuses the model $model: $info"
fi
[[ -f $data/SST-2/dev.tsv ]] || die "the fixture $data/SST-2/dev.tsv is missing"

# 7 points, placement any: each trial ~2.5 s (two measured windows of $min_duration s).
points=7
cat >"$work/grid.yaml" <<EOF
name: netns-sweep
data_root: $data
tasks: [SST-2]
models: [$model]
placement: any
measurement:
  batch: 4
  threads: 1
  limit: 32
  min_duration_s: $min_duration
  idle_baseline_s: 0
  single_stream_min_queries: 8
  warmup_queries: 1
  timeout_s: 60
  energy: { meter: estimated }
  interference: { max_remeasures: 0 }   # links, not measurement: no waiting out other load
variants:
  - { name: dense, techniques: [] }
  - name: magnitude
    techniques: [{ name: magnitude-pruning, sparsity: "\${sparsity}" }]
    axes: { sparsity: [0.5, 0.7, 0.9] }
  - name: quantization
    techniques: [{ name: quantization, mode: "\${mode}" }]
    axes: { mode: [int8, fp16, bf16] }
EOF
log "model: $model_note; grid: $points points on SST-2 (fixture), placement any"

# ---------------------------------------------------------------------------------------------
# The coordinator: all of C's addresses (lo and the three 198.18 veths), CURVE on.
store=$work/store
ip netns exec "$ns_c" "$frontier" serve "$work/grid.yaml" --bind tcp://0.0.0.0:5555 --keys "$K/coordinator" \
    --store "$store" --lease-s 3 --exit-when-done >"$work/serve.log" 2>&1 &
serve_pid=$!
pids+=("$serve_pid")
listening() { grep -q 'listening on' "$work/serve.log"; }
until_ 20 listening || die "frontier serve did not start listening"
log "serve (pid $serve_pid) listening in $ns_c on tcp://0.0.0.0:5555 with --keys, --lease-s 3"

declare -A agent_pid=()
start_agent() { # start_agent NAME NS ENDPOINT KEYS
    ip netns exec "$2" "$agent" connect "$3" --keys "$4" --agent-id "$1" --device-class netns \
        --spool "$work/spool-$1" --shared "$work" >"$work/$1.log" 2>&1 &
    pids+=("$!")
    agent_pid[$1]=$!
}
start_agent a1 "$ns_a1" tcp://198.18.1.1:5555 "$K/agent"
start_agent a2 "$ns_a2" tcp://198.18.2.1:5555 "$K/agent"
start_agent rogue "$ns_x" tcp://198.18.3.1:5555 "$K/rogue"
log "agents: a1 (pid ${agent_pid[a1]}) → 198.18.1.1, a2 (pid ${agent_pid[a2]}) → 198.18.2.1," \
    "rogue with an unknown key (pid ${agent_pid[rogue]}) → 198.18.3.1"

# ---------------------------------------------------------------------------------------------
# 1. a1 holds a trial near the end of the queue (so a2 reaches that trial, which goes back to
#    the end of the queue, within a few seconds): take down a1's end of its veth. The trial is
#    read from the store after the cut, when a1 can no longer change it.
serve_alive() { kill -0 "$serve_pid" 2>/dev/null; }
a1_ready() {
    serve_alive || return 0
    local pending
    pending=$(q "SELECT COUNT(*) FROM trials WHERE state = 'pending'")
    [[ -n $pending && $pending -le 2 ]] || return 1
    [[ -n $(q "SELECT 1 FROM trials WHERE state = 'leased' AND agent_id = 'a1' LIMIT 1") ]]
}
victim=""
for try in 1 2 3; do
    until_ 45 a1_ready || die "a1 held no trial while at most 2 were pending (45 s)"
    serve_alive || die "the sweep ended before a1's link was cut"
    ip -n "$ns_a1" link set "${tag}a1" down
    t_cut=$(now)
    sleep 0.5
    victim=$(q "SELECT trial_id FROM trials WHERE state = 'leased' AND agent_id = 'a1' LIMIT 1")
    [[ -z $victim ]] || break
    ip -n "$ns_a1" link set "${tag}a1" up
    log "a1 had just finished its trial when its link went down: link up again, try $try of 3"
done
[[ -n $victim ]] || die "a1 held no trial when its link was cut"
label=$(q "SELECT p.label FROM trials t JOIN points p ON p.key = t.point_key WHERE t.trial_id = '$victim'")
log "link ${tag}a1 (a1's end) DOWN at +$(since "$start" "$t_cut") s; a1 holds $victim ($label)"

# 2. Its lease expires; a1 notices the silence; the trial is leased to a2.
expired() { [[ $(q "SELECT reasons_json FROM trials WHERE trial_id = '$victim'") == *"lease expired"* ]]; }
until_ 30 expired || die "$victim's lease did not expire after a1's link was cut"
t_expired=$(now)
log "$victim: lease expired ($(since "$t_cut" "$t_expired") s after the cut)"
a1_noticed() { grep -q 'silent for' "$work/a1.log"; }
until_ 30 a1_noticed || die "a1 did not notice that the coordinator went silent"
t_noticed=$(now)
log "a1: '$(grep -m1 'silent for' "$work/a1.log" | sed 's/^agent a1: //')' ($(since "$t_cut" "$t_noticed") s after the cut)"
moved() { [[ -n $(q "SELECT 1 FROM attempts WHERE trial_id = '$victim' AND agent_id = 'a2' LIMIT 1") ]]; }
until_ 30 moved || die "$victim was not leased to a2"
t_moved=$(now)
moved_attempt=$(q "SELECT attempt FROM attempts WHERE trial_id = '$victim' AND agent_id = 'a2' ORDER BY attempt LIMIT 1")
log "$victim: attempt $moved_attempt leased to a2 ($(since "$t_cut" "$t_moved") s after the cut)"

# 3. Restore the link: a1 connects again (a second "connected to"; a fresh Hello in the store).
ip -n "$ns_a1" link set "${tag}a1" up
t_restore=$(now)
epoch_restore=${t_restore%.*}
log "link ${tag}a1 UP"
rejoined() { [[ $(grep -c 'connected to' "$work/a1.log") -ge 2 ]]; }
rejoined_or_over() { rejoined || ! serve_alive; }
until_ 30 rejoined_or_over || true
if rejoined; then
    t_rejoin=$(now)
    log "a1 rejoined $(since "$t_restore" "$t_rejoin") s after the restore: '$(grep 'connected to' "$work/a1.log" | tail -n 1 | sed 's/^agent a1: //')'"
else
    fail "a1 did not reconnect after its link came back (before the sweep ended, within 30 s)"
fi

# 4. The sweep ends: serve exits by itself.
serve_exited() { ! serve_alive; }
until_ 60 serve_exited || die "frontier serve did not exit within 60 s of the restore"
serve_rc=0
wait "$serve_pid" || serve_rc=$?
t_end=$(now)
log "serve exited with status $serve_rc"
agent_exit=()
for a in a1 a2; do
    pid=${agent_pid[$a]}
    gone() { ! kill -0 "$pid" 2>/dev/null; }
    if until_ 5 gone; then
        rc=0
        wait "$pid" || rc=$?
        agent_exit+=("$a exited $rc")
    else
        agent_exit+=("$a still running 5 s after serve exited ($(grep -v 'worker:' "$work/$a.log" | tail -n 1))")
    fi
done
log "agents: ${agent_exit[*]}"

# ---------------------------------------------------------------------------------------------
# Checks.
[[ $serve_rc == 0 ]] || fail "frontier serve exited $serve_rc"
status_rc=0
status_out=$("$frontier" status --store "$store" 2>&1) || status_rc=$?
[[ $status_rc == 0 ]] || fail "frontier status exited $status_rc (0 = finished): $status_out"
total=$(q "SELECT COUNT(*) FROM trials")
done_=$(q "SELECT COUNT(*) FROM trials WHERE state = 'done'")
results=$(q "SELECT COUNT(*) FROM results")
multi=$(q "SELECT trial_id || ' ×' || COUNT(*) FROM results GROUP BY trial_id HAVING COUNT(*) != 1")
[[ $total == "$points" && $done_ == "$points" ]] || fail "trials: $done_ done of $total, expected $points"
[[ $results == "$points" && -z $multi ]] || fail "results: $results for $points points; more than one: $multi"
reasons=$(q "SELECT reasons_json FROM trials WHERE trial_id = '$victim'" | tr -s ' \n' ' ')
[[ $reasons == *"on a1: lease expired"* ]] || fail "$victim's reasons do not name a1's expired lease: $reasons"
attempts=$(q "SELECT attempt || ':' || COALESCE(agent_id, '-') || ':' || outcome FROM attempts WHERE trial_id = '$victim' ORDER BY attempt" | tr '\n' ' ')
kept=$(q "SELECT agent_id || ' (attempt ' || attempt || ')' FROM results WHERE trial_id = '$victim'")
a1_seen=$(q "SELECT CAST(last_seen AS INTEGER) FROM agents WHERE agent_id = 'a1'")
[[ -n $a1_seen && $a1_seen -ge $epoch_restore ]] ||
    fail "agents.last_seen of a1 ($a1_seen) is not after the restore ($epoch_restore)"
a1_after=$(grep -c '^agent a1: running' "$work/a1.log" || true)
dup_note=$(grep -v 'worker:' "$work/a1.log" | grep -m1 'not stored' | sed 's/^agent a1: //' || true)
by_agent=$(q "SELECT agent_id || ' ' || COUNT(*) FROM results GROUP BY agent_id ORDER BY agent_id" | tr '\n' ',' | sed 's/,$//; s/,/, /g')

# The rogue: refused by ZAP, never welcomed, never given a trial, not in the store.
grep -q '^agent rogue: running' "$work/rogue.log" && fail "the agent with an unknown key ran a trial"
grep -q 'connected to' "$work/rogue.log" && fail "the agent with an unknown key was welcomed"
[[ -z $(q "SELECT 1 FROM agents WHERE agent_id = 'rogue' UNION SELECT 1 FROM attempts WHERE agent_id = 'rogue'") ]] ||
    fail "the agent with an unknown key is in the store"
rejections=$(grep 'auth: .*rejected' "$work/serve.log" | grep -cF -e "$rogue_key" || true)
[[ $rejections -ge 1 ]] || fail "the coordinator's log has no 'auth: … rejected' line for the unknown key"
auth_line=$(grep -m1 'auth: .*rejected' "$work/serve.log" || true)
grep -q 'auth: .*rejected.*198\.18\.[12]\.2' "$work/serve.log" && fail "an authorised agent was rejected"

if [[ $failed == 0 ]]; then
    echo "PASS netns sweep test ($(since "$start" "$t_end") s)"
    echo "  namespaces: coordinator $ns_c; a1 $ns_a1 (198.18.1.2), a2 $ns_a2 (198.18.2.2), rogue $ns_x (198.18.3.2); CURVE on"
    echo "  moved trial: $victim ($label), from a1 to a2: link cut at +$(since "$start" "$t_cut") s; lease expired after $(since "$t_cut" "$t_expired") s;"
    echo "    a1 noticed the silence after $(since "$t_cut" "$t_noticed") s; attempt $moved_attempt leased to a2 after $(since "$t_cut" "$t_moved") s"
    echo "    attempts (attempt:agent:outcome): $attempts; kept result: $kept; reasons: $reasons"
    if [[ $kept == a1* ]]; then
        echo "    (a1 finished the trial during the cut; its spooled result arrived on rejoin, before a2's attempt ended: the first result is kept)"
    fi
    if [[ -n ${t_rejoin:-} ]]; then
        echo "  a1 rejoined $(since "$t_restore" "$t_rejoin") s after the link came back (cut for $(since "$t_cut" "$t_restore") s); agents.last_seen advanced to $a1_seen"
    fi
    [[ -n $dup_note ]] && echo "  a1's late result: $dup_note"
    echo "  a1 started $a1_after trials in all; results by agent: $by_agent"
    echo "  rogue key refused $rejections times, never welcomed, no trial: $auth_line"
    echo "  end: serve exited 0; frontier status exit 0; $results results for $points points, each trial exactly once; ${agent_exit[*]}"
    exit 0
fi
for f in serve a1 a2 rogue; do tail_log "$work/$f.log"; done
echo "store: $(q "SELECT trial_id, state, attempt, agent_id FROM trials" | tr '\n' ' ')"
exit 1
