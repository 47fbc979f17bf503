# shellcheck shell=bash disable=SC2154  # db, sql_tool, pids and namespaces are the caller's
# Helpers shared by the network-namespace tests (sourced, not run): read-only store queries,
# polling, and the teardown of what a test started. The caller sets `db` (the store's
# frontier.sqlite) and `sql_tool` (sqlite3 or python3), may set `poll_s` (default 0.1), and keeps
# the processes it started in `pids` and the namespaces it made in `namespaces`.

# Read-only queries on the store: one row a line, columns separated by '|'.
q() {
    [[ -f $db ]] || return 0
    if [[ $sql_tool == sqlite3 ]]; then
        sqlite3 -readonly -cmd '.timeout 5000' "$db" "$1" 2>/dev/null || true
    else
        python3 - "$db" "$1" <<'EOF' 2>/dev/null || true
import sqlite3, sys
con = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=5)
for row in con.execute(sys.argv[2]):
    print("|".join("" if v is None else str(v) for v in row))
EOF
    fi
}

# Polls `$@` (a command, run in this shell) every poll_s seconds for up to $1 seconds; status 0
# once it succeeds.
until_() {
    local limit=$1
    shift
    local deadline
    deadline=$(awk -v a="$EPOCHREALTIME" -v l="$limit" 'BEGIN { printf "%.3f", a + l }')
    while ! "$@"; do
        if awk -v d="$deadline" -v n="$EPOCHREALTIME" 'BEGIN { exit !(n > d) }'; then return 1; fi
        sleep "${poll_s:-0.1}"
    done
}

# Stops the processes this test started (by PID) and whatever runs in the namespaces it made
# (TERM, then KILL), then deletes those namespaces.
netns_teardown() {
    local pid ns
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    for ns in "${namespaces[@]}"; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -TERM "$pid" 2>/dev/null; done
    done
    sleep 0.3
    for ns in "${namespaces[@]}"; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
    done
    for pid in "${pids[@]}"; do
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null; done
}
