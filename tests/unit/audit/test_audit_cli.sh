#!/bin/sh
# signet-audit verify: exit 0 for a good log, 1 naming the first bad
# record for each kind of tampering, 2 for operational errors.
set -u
cli=$1
fixture=$2
dir=$(mktemp -d "${TMPDIR:-/tmp}/signet-audit-cli.XXXXXX")
trap 'rm -rf "$dir"' EXIT
fails=0

# expect CODE PATTERN ARGS...: run the CLI, check exit code and output.
expect() {
	code=$1
	pattern=$2
	shift 2
	out=$("$cli" "$@" 2>&1)
	rc=$?
	if [ "$rc" -ne "$code" ]; then
		echo "FAIL: signet-audit $*: exit $rc, want $code: $out"
		fails=$((fails + 1))
	elif ! printf '%s\n' "$out" | grep -q -- "$pattern"; then
		echo "FAIL: signet-audit $*: output lacks '$pattern': $out"
		fails=$((fails + 1))
	else
		echo "ok: exit $rc: $out"
	fi
}

# case NAME [HOW N]: a fresh fixture in $dir/NAME.db with key NAME.pem.
case_db() {
	name=$1
	shift
	"$fixture" "$dir/$name.db" "$dir/$name.pem" "$@" || {
		echo "FAIL: fixture $name"; exit 1; }
}

case_db good
expect 0 "20 records and 4 checkpoints verified" \
    verify --db "$dir/good.db" --pubkey "$dir/good.pem"
case_db edit edit 7
expect 1 "hash mismatch at seq 7" \
    verify --db "$dir/edit.db" --pubkey "$dir/edit.pem"
case_db delete delete 12
expect 1 "record 12 is missing" \
    verify --db "$dir/delete.db" --pubkey "$dir/delete.pem"
case_db trunc truncate 18
expect 1 "log truncated: it ends at seq 17" \
    verify --db "$dir/trunc.db" --pubkey "$dir/trunc.pem"
case_db wrong wrongkey 0
expect 1 "checkpoint at seq 5 has a bad signature" \
    verify --db "$dir/wrong.db" --pubkey "$dir/wrong.pem"
expect 2 "$dir/missing.db" \
    verify --db "$dir/missing.db" --pubkey "$dir/good.pem"
expect 2 "$dir/missing.pem" \
    verify --db "$dir/good.db" --pubkey "$dir/missing.pem"
expect 2 "usage" verify --db "$dir/good.db"
expect 2 "usage"

[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all signet-audit CLI checks passed"
