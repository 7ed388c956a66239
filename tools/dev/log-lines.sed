# tools/dev/log-lines.sed: greps of daemon logs in test and bench scripts
# rewritten for the one line format of firmware/log (issue 15):
#
#	2026-12-06T09:10:35Z signet-coap[4242] level=info msg="ready" ...
#
# signetd and signet-engine wrote this already.  signet-https wrote
# "signet-https[pid]: level=..." (no timestamp; the colon is gone) and
# signet-coap "signet-coap: msg=..." (no pid, no level; fatal lines had
# "fatal: " before the message, libcoap's "libcoap: " and free text,
# now msg="libcoap" text="...").  The results are basic and extended
# regular expressions alike.  Idempotent: no result matches a pattern.
#
#	git grep -lE 'signet-(coap|https)' -- tests/integration tools/bench |
#	    xargs sed -i -f tools/dev/log-lines.sed
s/signet-coap: fatal: /signet-coap\\[[0-9]*\\] level=fatal /g
s/signet-coap: libcoap: /signet-coap\\[[0-9]*\\] level=[a-z]* msg="libcoap" text=.*/g
s/signet-coap: msg=/signet-coap\\[[0-9]*\\] level=[a-z]* msg=/g
s/\(signet-https[^: '"]*\): level=/\1 level=/g
