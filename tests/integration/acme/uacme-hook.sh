#!/bin/sh
# uacme's challenge hook (-h) for uacme.sh: accepts http-01 only and
# writes the key authorization where the test's web server (python3
# http.server on the http-01 port) serves $WEBROOT; declines the other
# types, so uacme moves on to the next challenge the server offers.
#   uacme-hook.sh begin|done|failed TYPE IDENT TOKEN KEY_AUTH
method=$1
type=$2
token=$4
auth=$5
[ "$type" = http-01 ] || exit 1
dir=$WEBROOT/.well-known/acme-challenge
case $method in
begin) mkdir -p "$dir" && printf '%s' "$auth" >"$dir/$token" ;;
done | failed) rm -f "$dir/$token" ;;
*) exit 1 ;;
esac
