#!/usr/bin/env bash
# tools/check-hardening.sh must fail on binaries that lack each protection
# and pass a properly hardened one (every test can fail, STYLE 18).
set -euo pipefail
top=$(cd "$(dirname "$0")/../../.." && pwd)
check=$top/tools/check-hardening.sh
cc=${CC:-cc}
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
cat > "$w/t.c" <<'C'
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
	char buf[64];
	snprintf(buf, sizeof(buf), "%s", argc > 1 ? argv[1] : "x");
	size_t n = strlen(argv[0]);
	if (n > 100)
		n = 100;
	memcpy(buf, argv[0], n); /* unknown length: __memcpy_chk */
	puts(buf);
	return 0;
}
C
good="-O2 -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE -pie -Wl,-z,relro,-z,now"
fails=0
cat > "$w/db.c" <<'C'
#include <sqlite3.h>
int main(void) { return sqlite3_libversion_number() == 0; }
C
cat > "$w/coap.c" <<'C'
#include <coap3/coap.h>
int main(void) { coap_startup(); return 0; }
C
# expect NAME EXIT PATTERN SOURCE CFLAGS...: build one binary, check it.
expect() {
	local name=$1 want=$2 pat=$3 src=$w/$4 out rc=0
	shift 4
	rm -rf "$w/b" && mkdir -p "$w/b"
	"$cc" "$src" "$@" -o "$w/b/$name" || { echo "FAIL cannot compile $name"; fails=$((fails + 1)); return; }
	out=$(bash "$check" "$w/b" 2>&1) || rc=$?
	if [ "$rc" = "$want" ] && grep -q -- "$pat" <<<"$out"; then
		echo "ok   $name: exit $rc, \"$pat\""
	else
		echo "FAIL $name: exit $rc (want $want), output:"; echo "$out"
		fails=$((fails + 1))
	fi
}
# shellcheck disable=SC2086
expect hardened 0 'PIE RELRO NOW SSP FORTIFY' t.c $good
expect no-pie 1 'not PIE\|no interpreter' t.c -O2 -D_FORTIFY_SOURCE=2 -fstack-protector-strong -no-pie -fno-pie -Wl,-z,relro,-z,now
# shellcheck disable=SC2086
expect lazy-binding 1 'no BIND_NOW' t.c $good -Wl,-z,lazy
# shellcheck disable=SC2086
expect no-ssp 1 'no stack protector' t.c $good -fno-stack-protector
# shellcheck disable=SC2086
expect no-fortify 1 'no _FORTIFY_SOURCE' t.c $good -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=0
# A front end linking the ledger database fails the boundary check (the
# binary has no __*_chk import either; the pattern names the boundary).
# shellcheck disable=SC2086
expect signet-https 1 'links libsqlite3' db.c $good -lsqlite3
# The engine never links libcoap (the rules of cmake/SignetHelpers.cmake);
# libcoap is optional (no signet-coap without it).
if coap=$(pkg-config --cflags --libs libcoap-3-openssl 2>/dev/null); then
	# shellcheck disable=SC2086
	expect signet-engine 1 'links libcoap' coap.c $good $coap
else
	echo "skip signet-engine: no libcoap-3-openssl"
fi
[ "$fails" -eq 0 ] || { echo "$fails self-test(s) failed"; exit 1; }
echo "check-hardening self-test passed"
