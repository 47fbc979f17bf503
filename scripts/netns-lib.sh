# shellcheck shell=bash disable=SC2154  # db and sql_tool are the caller's
# Helpers shared by the network-namespace tests (sourced, not run): read-only store queries and
# polling. The caller sets `db` (the store's frontier.sqlite) and `sql_tool` (sqlite3 or python3),
# and may set `poll_s` (default 0.1).

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
