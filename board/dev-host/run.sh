#!/usr/bin/env bash
# Runs Signet's main job on the dev-host defaults with the binaries in
# $BUILD (default: build/).  Today that is the token layer: a SoftHSMv2
# token in $DATA (default: data/), the CA key generated inside it, and both
# shown.  Later issues extend this into the running appliance.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=board.env
. "$top/board/dev-host/board.env"
BUILD=${BUILD:-$top/build}
DATA=${DATA:-$top/data}

umask 077
mkdir -p "$DATA/tokens"
export SOFTHSM2_CONF="$DATA/softhsm2.conf"
if [ ! -f "$SOFTHSM2_CONF" ]; then
	printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n' \
		"$DATA" > "$SOFTHSM2_CONF"
fi
# PINs are random, written once, readable by their owner only.
for f in user.pin so.pin; do
	if [ ! -f "$DATA/$f" ]; then
		(set -o noclobber; openssl rand -hex 16 > "$DATA/$f")
	fi
done

prov="$BUILD/provisioning/appliance/signet-provision"
common=(-m "$SIGNET_PKCS11_MODULE" -t "$SIGNET_TOKEN_LABEL" -p "$DATA/user.pin")
if ! "$prov" show "${common[@]}" >/dev/null 2>&1; then
	"$prov" init-token "${common[@]}" -S "$DATA/so.pin"
fi
if ! "$prov" show "${common[@]}" | grep -q "label=\"$SIGNET_CA_KEY_LABEL\""; then
	"$prov" keygen "${common[@]}" -l "$SIGNET_CA_KEY_LABEL" -k "$SIGNET_CA_KEY_TYPE"
fi
# The development PKI: every CA key in the token (see prov_devca.c).
"$prov" dev-ca "${common[@]}" -d "$DATA"
echo
"$prov" show "${common[@]}"
echo
echo "The same token as pkcs11-tool (OpenSC) sees it (public objects; no PIN on a command line):"
pkcs11-tool --module "$SIGNET_PKCS11_MODULE" --token-label "$SIGNET_TOKEN_LABEL" \
	--list-objects --type pubkey 2>/dev/null
