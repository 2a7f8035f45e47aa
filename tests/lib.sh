# tests/lib.sh - the setup and TAP helpers the shell tests share (one copy,
# so every script reports and checks errors the same way). Source it first:
#     . "$(dirname "$0")/lib.sh"
# It sets TRM (the script's argument 1, default build/trm), PY, TMP (a
# scratch directory removed on exit) and the TAP counter n; each script
# prints its plan "1..$n" at the end.
set -u
TRM=${1:-build/trm}
PY=/usr/bin/python3
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
n=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
bad() { n=$((n + 1)); echo "not ok $n - $1"; }
skip() { n=$((n + 1)); echo "ok $n - $1 # skip $2"; }

# How much of a failed command's stderr expect_ok shows: "+1" all of it,
# or the last N lines (scripts whose commands log a lot set 5).
ERR_LINES=+1

# expect_ok NAME CMD...: exit 0 (stdout in $TMP/out, stderr in $TMP/err).
expect_ok() {
    local name=$1; shift
    if "$@" >"$TMP/out" 2>"$TMP/err"; then ok "$name"; else bad "$name (exit $?)"; tail -n "$ERR_LINES" "$TMP/err"; fi
}

# one_error_line LINES PATTERN: whether the last command wrote one stderr
# line (LINES = its count) matching PATTERN and (unless ERR_STDOUT_ANY=1)
# nothing on stdout.
one_error_line() {
    [ "$1" -eq 1 ] && grep -qE -- "$2" "$TMP/err" && { [ "${ERR_STDOUT_ANY:-0}" = 1 ] || [ ! -s "$TMP/out" ]; }
}

# expect_err NAME PATTERN CMD...: exit 1 or 2 (not a signal), one stderr
# line matching PATTERN, nothing on stdout.
expect_err() {
    local name=$1 pat=$2 rc lines; shift 2
    "$@" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    lines=$(wc -l <"$TMP/err")
    if [ $rc -ge 1 ] && [ $rc -le 2 ] && one_error_line "$lines" "$pat"; then ok "$name"
    else bad "$name (exit $rc, $lines stderr lines, want /$pat/)"; cat "$TMP/err"; fi
}

# expect_err_code NAME CODE PATTERN CMD...: as expect_err, exit CODE exactly.
expect_err_code() {
    local name=$1 code=$2 pat=$3 rc lines; shift 3
    "$@" >"$TMP/out" 2>"$TMP/err"
    rc=$?
    lines=$(wc -l <"$TMP/err")
    if [ $rc -eq "$code" ] && one_error_line "$lines" "$pat"; then ok "$name"
    else bad "$name (exit $rc, $lines stderr lines, want $code and /$pat/)"; cat "$TMP/err"; fi
}
