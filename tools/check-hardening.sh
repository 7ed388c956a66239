#!/usr/bin/env bash
# Checks every Signet executable in a build tree for the hardening STYLE.md
# item 15 asks for, and the trust boundaries of item 2:
#
#   tools/check-hardening.sh BUILD_DIR
#
#   PIE        ELF type DYN with a program interpreter
#   RELRO      a GNU_RELRO segment and BIND_NOW (full RELRO)
#   SSP        imports __stack_chk_fail (-fstack-protector-strong)
#   FORTIFY    imports at least one __*_chk function (_FORTIFY_SOURCE)
#   boundary   signetd, signet-engine, signet-https and signet-coap link
#              none of the libraries their process's list forbids (the
#              parent and the front ends hold no key and no ledger, the
#              engine never links libcoap): tools/check-links.sh with the
#              rules of cmake/SignetHelpers.cmake, which this script
#              writes with cmake -P
#   sandbox    signet-engine, signet-https, signet-coap, signet-validator
#              and signet-notify contain sandbox_enter and need libseccomp; `signetd -V` says
#              sandbox=seccomp test_hooks=no (no debug build without the
#              sandbox, no test build, is ever shipped)
#
# A sanitizer build cannot be checked (ASan replaces FORTIFY by design):
# point it at a Release build (tests/integration/image/release-build.sh).
# Exit 0 all good, 1 a check failed, 2 cannot check.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: check-hardening.sh BUILD_DIR" >&2; exit 2; }
build=$1
top=$(cd "$(dirname "$0")/.." && pwd)
[ -d "$build" ] || { echo "check-hardening: no directory $build" >&2; exit 2; }
for t in readelf nm cmake; do
	command -v "$t" >/dev/null ||
		{ echo "check-hardening: $t not found" >&2; exit 2; }
done
# The link boundaries, from the one place that lists them.
rules=$(mktemp)
trap 'rm -f "$rules"' EXIT
cmake -DSIGNET_LINK_RULES_OUT="$rules" -P "$top/cmake/SignetHelpers.cmake" ||
	{ echo "check-hardening: cannot write the link rules" >&2; exit 2; }
# shellcheck source=/dev/null
. "$rules"

# Project executables: ELF files with the execute bit outside CMake's own
# scratch folders (compiler probes).
# Test programs (tests/) are not shipped and are not checked.
mapfile -t bins < <(find "$build" -type f -perm -u+x -not -path '*/CMakeFiles/*' \
	-not -path "$build/tests/*" -not -path "$build/image-release/*" \
	-exec sh -c 'head -c 4 "$1" | grep -q "^.ELF"' _ {} \; -print | sort)
[ ${#bins[@]} -gt 0 ] || { echo "check-hardening: no executables in $build" >&2; exit 2; }

fail=0
checked=0
bad() { echo "FAIL $1: $2"; fail=1; }

for b in "${bins[@]}"; do
	name=${b#"$build"/}
	hdr=$(readelf -h "$b" 2>/dev/null) || { bad "$name" "not readable by readelf"; continue; }
	# Shared libraries (plugins such as the PKCS#11 shim) are not executables.
	prog=$(readelf -lW "$b" 2>/dev/null)
	if ! grep -q 'INTERP' <<<"$prog"; then
		grep -q 'Type:[[:space:]]*DYN' <<<"$hdr" && continue
		bad "$name" "statically linked or no interpreter (not PIE)"
		continue
	fi
	checked=$((checked + 1))
	dyn=$(readelf -dW "$b" 2>/dev/null)
	undef=$(nm -D --undefined-only "$b" 2>/dev/null | awk '{ print $NF }' | sed 's/@.*//')
	if grep -qx '__asan_init\|__asan_init_v[0-9]*' <<<"$undef" ||
	    grep -q '__asan_' <<<"$(nm "$b" 2>/dev/null | head -n 2000)"; then
		echo "check-hardening: $name is an AddressSanitizer build; FORTIFY is" \
			"off there by design. Check a Release build instead." >&2
		exit 2
	fi
	r=""
	grep -q 'Type:[[:space:]]*DYN' <<<"$hdr" && r="$r PIE" || bad "$name" "not PIE (ELF type is not DYN)"
	grep -q 'GNU_RELRO' <<<"$prog" && r="$r RELRO" || bad "$name" "no GNU_RELRO segment"
	if grep -Eq '\(BIND_NOW\)|\(FLAGS\).*BIND_NOW|\(FLAGS_1\).*NOW' <<<"$dyn"; then
		r="$r NOW"
	else
		bad "$name" "no BIND_NOW (partial RELRO only)"
	fi
	grep -qx '__stack_chk_fail' <<<"$undef" && r="$r SSP" ||
		bad "$name" "does not import __stack_chk_fail (no stack protector)"
	if grep -Eqx '__[a-z0-9_]+_chk' <<<"$undef"; then
		r="$r FORTIFY($(grep -Ecx '__[a-z0-9_]+_chk' <<<"$undef"))"
	else
		bad "$name" "imports no __*_chk function (no _FORTIFY_SOURCE)"
	fi
	base=$(basename "$b")
	v=link_forbid_${base//[^A-Za-z0-9_]/_}
	if [ -n "${!v:-}" ]; then
		if out=$(bash "$top/tools/check-links.sh" "$rules" "$b" \
		    2>&1); then
			r="$r boundary"
		else
			while IFS= read -r line; do
				case $line in
				ok*) ;;
				*) bad "$name" "${line#"FAIL $base: "}" ;;
				esac
			done <<<"$out"
		fi
	fi
	case $(basename "$b") in
	signet-engine | signet-https | signet-coap | signet-validator | \
	    signet-notify)
		needed=$(sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' <<<"$dyn")
		if nm "$b" 2>/dev/null | awk '$2 == "T" { print $3 }' | grep -qx sandbox_enter &&
		    grep -q '^libseccomp\.' <<<"$needed"; then
			r="$r sandbox"
		else
			bad "$name" "no seccomp sandbox (sandbox_enter, libseccomp)"
		fi
		;;
	signetd)
		# A build made in a Debian build root (SIGNET_IMAGE_ROOT,
		# release-build.sh) runs only against that root's libc.
		if [ -n "${SIGNET_IMAGE_ROOT:-}" ]; then
			v=$("$(dirname "$0")/in-root.sh" -r "$SIGNET_IMAGE_ROOT" \
			    "$(cd "$(dirname "$b")" && pwd)/$(basename "$b")" -V 2>&1 || true)
		else
			v=$("$b" -V 2>&1 || true)
		fi
		if [ "$v" = "signetd sandbox=seccomp test_hooks=no" ]; then
			r="$r sandbox"
		else
			bad "$name" "not an appliance build: '$v'"
		fi
		;;
	esac
	printf '%-55s%s\n' "$name" "$r"
done

echo "checked $checked executables in $build"
[ "$checked" -gt 0 ] || { echo "check-hardening: nothing checked" >&2; exit 2; }
exit "$fail"
