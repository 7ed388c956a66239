#!/usr/bin/env bash
# Runs Signet on the dev-host defaults with the binaries in $BUILD
# (default: build/): a SoftHSMv2 token in data/ with every CA key inside
# it, the development PKI, then signetd in the foreground (Ctrl-C stops
# it).  SIGNET_NO_DAEMON=1 stops after provisioning.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=board.env
. "$top/board/dev-host/board.env"
BUILD=${BUILD:-$top/build}
DATA=${DATA:-$top/data}
cd "$top"

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

[ -n "${SIGNET_NO_DAEMON:-}" ] && exit 0
cat <<TXT

Starting signetd (board/dev-host/signetd.conf): HTTPS (EST, /v1) on
$SIGNET_HTTPS_LISTEN, CA/CRL/OCSP on http://$SIGNET_HTTP_LISTEN, CoAP on
$SIGNET_COAP_LISTEN.  In another shell, from $top, enroll a service with curl:

  # 1. the operator creates a one-time enrollment token
  TOKEN=\$(curl -s --cacert data/ca/root.pem \\
      --cert data/operator/operator.pem --key data/operator/operator.key \\
      -H 'Content-Type: application/json' \\
      -d '{"tenant":"dev","profile":"service","names":["web.svc.dev.internal"],"ttl":3600,"uses":1}' \\
      https://$SIGNET_HTTPS_LISTEN/v1/tokens | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
  # 2. the service makes its own key and CSR
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \\
      -keyout web.key -subj /CN=web.svc.dev.internal \\
      -addext subjectAltName=DNS:web.svc.dev.internal -outform DER | base64 -w0 > web.csr
  # 3. EST simpleenroll (RFC 7030) with the token
  curl -s --cacert data/ca/root.pem -H "Authorization: Bearer \$TOKEN" \\
      -H 'Content-Type: application/pkcs10' --data-binary @web.csr \\
      https://$SIGNET_HTTPS_LISTEN/.well-known/est/simpleenroll \\
      | base64 -d | openssl pkcs7 -inform der -print_certs > web.pem
  openssl verify -CAfile data/ca/root.pem -untrusted data/ca/intermediate.pem web.pem
  # 4. renew with the certificate itself: .../simplereenroll with --cert web.pem --key web.key

TXT
exec "$BUILD/firmware/signetd/signetd" -f "$top/board/dev-host/signetd.conf"
