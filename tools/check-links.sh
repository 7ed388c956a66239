#!/usr/bin/env bash
# Checks one built executable against the link boundaries of its process
# (STYLE.md 2):
#
#   tools/check-links.sh RULES BINARY [PROCESS]
#
# RULES is the file cmake/SignetHelpers.cmake writes (signet-link-rules.sh
# in a build tree; tools/check-hardening.sh makes one with cmake -P);
# PROCESS defaults to BINARY's file name.  For each library the process
# must never link: no DT_NEEDED entry of it, no symbol of it imported, none
# of its code linked in statically.  Prints "FAIL PROCESS: why" for each
# broken rule.  Exit 0 all good, 1 a rule is broken, 2 cannot check.
set -euo pipefail

[ $# -eq 2 ] || [ $# -eq 3 ] ||
	{ echo "usage: check-links.sh RULES BINARY [PROCESS]" >&2; exit 2; }
rules=$1 bin=$2 proc=${3:-$(basename "$2")}
for t in readelf nm; do
	command -v "$t" >/dev/null ||
		{ echo "check-links: $t not found (binutils)" >&2; exit 2; }
done
[ -r "$rules" ] || { echo "check-links: cannot read $rules" >&2; exit 2; }
[ -r "$bin" ] || { echo "check-links: cannot read $bin" >&2; exit 2; }
# shellcheck source=/dev/null
. "$rules"
v=link_forbid_${proc//[^A-Za-z0-9_]/_}
[ -n "${!v:-}" ] ||
	{ echo "check-links: no link rules for $proc in $rules" >&2; exit 2; }

needed=$(readelf -dW "$bin" 2>/dev/null |
	sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
undef=$(nm -D --undefined-only "$bin" 2>/dev/null |
	awk '{ print $NF }' | sed 's/@.*//')
# A file with no imports at all is not the dynamically linked program
# these rules are about (nm would pass anything it cannot read).
[ -n "$undef" ] ||
	{ echo "check-links: $bin imports nothing: wrong file?" >&2; exit 2; }
own=$(nm --defined-only "$bin" 2>/dev/null |
	awk '$2 ~ /^[TtDdBbRr]$/ { print $3 }')

fail=0
bad() { echo "FAIL $proc: $1"; fail=1; }
some() { head -n 5 | tr '\n' ' ' | sed 's/ $//'; }
for l in ${!v}; do
	n=link_needed_$l s=link_symbol_$l
	if [ -n "${!n:-}" ] && grep -Eq "^(${!n})" <<<"$needed"; then
		bad "links $(grep -E "^(${!n})" <<<"$needed" | some) (rule $l)"
	fi
	[ -n "${!s:-}" ] || continue
	if grep -Eq "^(${!s})" <<<"$undef"; then
		bad "imports $(grep -E "^(${!s})" <<<"$undef" | some) (rule $l)"
	fi
	if grep -Eq "^(${!s})" <<<"$own"; then
		bad "contains $(grep -E "^(${!s})" <<<"$own" | some) (rule $l)"
	fi
done
[ "$fail" -eq 0 ] && echo "ok   $proc: links none of: ${!v}"
exit "$fail"
