# tools/dev/log-rename.sed: the call sites of the four old daemon logs
# (parent_log.c, ca_log.c, https_log.c, ec_log.c) rewritten to the one
# module, firmware/log (signet_log.h); issue 15.  Idempotent: no output
# line matches any pattern again, so it can be re-run on merged trees:
#
#	git grep -lE '\<(ca_log_|ca_fatal|https_log_|https_fatal|ec_log|ec_fatal)' -- \
#	    '*.c' '*.h' | xargs sed -i -f tools/dev/log-rename.sed
#
# ec_log(prio, ...) takes a syslog priority: each one maps to its level
# (LOG_ERR and worse were written like warnings, and still are).  A
# priority held in a variable has no mapping: the last rule turns it into
# log_pri(), which takes the same argument.

# The old init prototypes go (signet_log.h declares log_init); the other
# prototypes become compatible redeclarations of signet_log.h's.
/^void[[:space:]]*ca_log_init([^)]*);/d
/^void[[:space:]]*https_log_init([^)]*);/d

# signet-engine (firmware/engine/ca_log.c)
s/\<ca_log_init(\([^,]*\),[ ]*/log_init(\1, LOG_TO_STDERR, /g
s/\<ca_log_warnx(/log_warnx(/g
s/\<ca_log_warn(/log_warn(/g
s/\<ca_log_info(/log_info(/g
s/\<ca_log_debug(/log_debug(/g
s/\<ca_fatalx(/fatalx(/g
s/\<ca_fatal(/fatal(/g

# signet-https (api/https/https_log.c)
s/\<https_log_init(/log_init("signet-https", LOG_TO_STDERR, /g
s/\<https_log_warnx(/log_warnx(/g
s/\<https_log_warn(/log_warn(/g
s/\<https_log_info(/log_info(/g
s/\<https_log_debug(/log_debug(/g
s/\<https_fatalx(/fatalx(/g
s/\<https_fatal(/fatal(/g

# signet-coap (api/coap/ec_log.c); its libcoap adapter is ec_liblog.c
s/\<ec_log_init(/ec_liblog_init(/g
s/\<ec_log(LOG_DEBUG,[ ]*/log_debug(/g
s/\<ec_log(LOG_INFO,[ ]*/log_info(/g
s/\<ec_log(LOG_NOTICE,[ ]*/log_info(/g
s/\<ec_log(LOG_WARNING,[ ]*/log_warnx(/g
s/\<ec_log(LOG_ERR,[ ]*/log_warnx(/g
s/\<ec_log(LOG_CRIT,[ ]*/log_warnx(/g
s/\<ec_log(LOG_ALERT,[ ]*/log_warnx(/g
s/\<ec_log(LOG_EMERG,[ ]*/log_warnx(/g
s/\<ec_log(/log_pri(/g
s/\<ec_fatalx(/fatalx(/g
s/\<ec_fatal(/fatal(/g

# signetd (firmware/signetd/parent_log.c) had the new names already.
