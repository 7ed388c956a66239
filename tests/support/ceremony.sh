# shellcheck shell=bash
# The offline ceremony beside appliance tokens, for integration tests that
# walk docs/ceremony.md and docs/cluster.md (provision/operator_path.sh,
# cluster/cluster_ceremony.sh).  Bash; source it; W (the work directory, the
# cwd) must be set before cer or ceremony_tokens run:
#
#   ceremony_need BUILD TOOL...
#                             fails the test unless each TOOL, the
#                             ceremony, provisioning and signetd binaries
#                             in BUILD and the SoftHSMv2 module are there;
#                             sets CER, PROV, SIGNETD and M
#   ceremony_tokens NAME...   a SoftHSMv2 token directory and
#                             NAME/softhsm2.conf for each (cer: the root's)
#   cer ARGS...               signet-ceremony in cer/, on cer's tokens
#   ceremony_conf FILE CSR CERT [EXCLUDED [BLOB]]
#                             cer/FILE: the example root, 2-of-3 custody,
#                             an intermediate for example.com (and not
#                             EXCLUDED) from CSR to CERT, the root CRL, and
#                             a backup to BLOB if one is named

ceremony_need() {
	local build=$1 t b
	shift
	CER=$build/tools/ceremony/signet-ceremony
	PROV=$build/provisioning/appliance/signet-provision
	SIGNETD=$build/firmware/signetd/signetd
	M=/usr/lib/softhsm/libsofthsm2.so
	for t in "$@"; do
		command -v "$t" >/dev/null || { echo "FAIL: $t is missing"; exit 1; }
	done
	for b in "$CER" "$PROV" "$SIGNETD"; do
		[ -x "$b" ] || { echo "FAIL: $b is not built"; exit 1; }
	done
	[ -r "$M" ] || { echo "FAIL: SoftHSMv2 module $M missing"; exit 1; }
}

ceremony_tokens() {
	local t
	for t in "$@"; do
		mkdir -p "$t/tokens"
		printf 'directories.tokendir = %s/%s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
			"$W" "$t" > "$t/softhsm2.conf"
	done
}

cer() { (cd cer && SOFTHSM2_CONF=$W/cer/softhsm2.conf "$CER" "$@"); }

ceremony_conf() {
	local excl='' backup=''
	[ -n "${4:-}" ] && excl=$'\n\t'"excluded_dns = { \"$4\" }"
	[ -n "${5:-}" ] && backup=$'\nbackup {\n\t'"blob = \"$5\""$'\n}'
	cat > "cer/$1" <<EOF
state = "state/ceremony.state"
transcript = "state/transcript"
token {
	module = "$M"
	label = "example-root"
}
root {
	key = "p256"
	key_label = "example-root"
	validity = "3650d"
	cert = "out/root.pem"
	subject {
		CN = "Example Root CA"
		O = "Example"
	}
}
custody {
	custodians = { "alice", "bob", "carol" }
	shares_dir = "shares"
	qr = false
}
intermediate {
	csr = "$2"
	cert = "$3"
	validity = "365d"
	path_length = 0
	permitted_dns = { "example.com" }$excl
	subject {
		CN = "Example Issuing CA"
		O = "Example"
	}
}
crl {
	file = "out/root.crl"
	next_update = "30d"
}$backup
EOF
}
