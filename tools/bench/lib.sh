# shellcheck shell=bash
# What the tidy benches (tidy-bench.sh on SQLite, tidy-bench-pgsql.sh on
# PostgreSQL) share: the appliance's config for the run, signetctl's
# config, the EST load and the measured tidy.  Source it after
# tests/support/appliance.sh with build, SECS and BATCH set; then
#
#   tidy_conf_sed [SED...]  sed on stdin: tidy every ROWS expired row at
#                           once (retention 1s, no scheduled tidy, BATCH
#                           rows a batch), rate limits out of the load's
#                           way, no CoAP listener, then each SED (for
#                           app_conf_extra)
#   tidy_ctl_conf           after appliance_start, in $work: signetctl.conf
#                           on the appliance, SIGNETCTL_CONFIG exported
#   est LABEL               signet-bench-est (EST simpleenroll, 16
#                           connections) for SECS; its last line as
#                           "MEASURE: LABEL: ..."
#   tidy_measure ROWS       baseline-before, then `signetctl tidy` of ROWS
#                           rows timed whole while during-tidy runs, its
#                           rows/s; fails if tidy does
#   tidy_after              baseline-after and signetd's last "tidied" lines

tidy_conf_sed() {
	local e args=()
	for e in "$@"; do args+=(-e "$e"); done
	sed -e 's/^\tretention = "30d"/\tretention = "1s"/' \
		-e 's/^\tinterval = "1h"/\tinterval = "0"/' \
		-e "s/^\tbatch = 100/\tbatch = $BATCH/" \
		-e 's/^\trate_identity = .*/\trate_identity = 100000/' \
		-e 's/^\tburst_identity = .*/\tburst_identity = 100000/' \
		-e 's/^\trate_tenant = .*/\trate_tenant = 100000/' \
		-e 's/^\tburst_tenant = .*/\tburst_tenant = 100000/' \
		-e '/coap = "127.0.0.1:/d' "${args[@]}"
}

tidy_ctl_conf() {
	cat > signetctl.conf <<EOF
server = https://127.0.0.1:$HTTPS
cacert = data/ca/root.pem
cert = data/operator/operator.pem
key = data/operator/operator.key
tenant = dev
EOF
	export SIGNETCTL_CONFIG=$work/signetctl.conf
}

est() { # label
	"$build/tools/bench/signet-bench-est" -p "$HTTPS" -c data/ca/root.pem -C data/operator/operator.pem \
		-K data/operator/operator.key -d "$SECS" -n 16 > "est-$1.out"
	echo "MEASURE: $1: $(grep -v '^#' "est-$1.out" | tail -1)"
}

tidy_measure() { # rows
	local tp
	est baseline-before
	( s=$(date +%s%N); "$build/tools/signetctl/signetctl" tidy > tidy.out 2>&1; echo $(( ($(date +%s%N) - s) / 1000000 )) > tidy.ms ) &
	tp=$!
	est during-tidy
	wait "$tp" || { cat tidy.out; fail "signetctl tidy"; }
	echo "MEASURE: tidy: $(cat tidy.out) in $(cat tidy.ms) ms ($(( $1 * 1000 / $(cat tidy.ms) )) rows/s)"
}

tidy_after() {
	est baseline-after
	grep 'msg=tidied' signetd.log | tail -3 | sed 's/^/MEASURE: /'
}
