# shellcheck shell=bash
# Sourced by tools/install-deps.sh and tools/trixie-root.sh: finds the
# Debian archive this machine already uses, from its APT sources, so that no
# host name lives in the repository.
#
#   debian_uri SUITE   the URI of the first source that lists SUITE
#                      (deb822 .sources or one-line .list files)
#
# The main archive is the one that serves "bookworm" (or "trixie" on a
# Debian 13 host); the security archive the one that serves
# "<codename>-security", which Debian keeps under a different path.

debian_uri() {
	local suite=$1 f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk -v s="$suite" 'BEGIN{RS="";FS="\n"}
		{
			ok = 0; uri = ""
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^Suites:/) {
					n = split(substr($i, 8), w, /[ \t]+/)
					for (j = 1; j <= n; j++) if (w[j] == s) ok = 1
				}
				if ($i ~ /^URIs:/) {
					split(substr($i, 6), u, /[ \t]+/)
					for (j = 1; j in u; j++) if (u[j] != "") { uri = u[j]; break }
				}
			}
			if (ok && uri != "") { print uri; exit }
		}' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		awk -v s="$suite" '$1=="deb" && $0 !~ /\[/ && $3==s {print $2; exit}
			$1=="deb" && $2 ~ /^\[/ { for (i=3;i<=NF;i++) if ($i ~ /\]$/) break;
				if ($(i+2)==s) {print $(i+1); exit} }' "$f"
	done
}

# The first URI serving one of the host's own Debian suites (bookworm on
# Debian 12, trixie on Debian 13).
debian_main_uri() {
	local s
	for s in bookworm trixie; do
		debian_uri "$s"
	done | head -n1
}
debian_security_uri() {
	local s
	for s in bookworm-security trixie-security; do
		debian_uri "$s"
	done | head -n1
}
