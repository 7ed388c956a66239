/*
 * Differential check of a duration parser against its old version: the
 * libconfuse helpers were folded into firmware/config/sconf_cfg.c (issue
 * 15) and each file must still accept and refuse exactly what it did.
 * Included by tests/unit/sconf/test_sconf.c and
 * tests/unit/ceremony/test_cer_conf.c (after <cmocka.h>).
 */
#ifndef SCONF_DURTEST_H
#define SCONF_DURTEST_H

/*
 * Every string of up to DUR_MAXLEN characters over DUR_ALPHABET, and the
 * edge values in dur_edges, parse the same with f as with the parser f
 * replaced (the oracle, a verbatim copy of the old one).  Returns how
 * many strings were compared; fails on the first difference.
 */
#define DUR_ALPHABET	"019 \t+-smhdyx"
#define DUR_MAXLEN	4

static const char *const dur_edges[] = {
	"9223372036854775807", "9223372036854775808",
	"-9223372036854775808", "2562047788015215h", "2562047788015216h",
	"106751991167300d", "106751991167301d", "292471208677y",
	"292471208678y", "153722867280912930m", "153722867280912931m",
	"99999999999999999999d", " 1", "  7d", "\n5", "\v5", " +5", " -0",
	" -1", "0x10", "1e3", "5 ", "5h ", "1.5h", "", NULL,
};

static size_t
dur_compare(int64_t (*f)(const char *), int64_t (*oracle)(const char *))
{
	static const char abc[] = DUR_ALPHABET;
	const size_t k = sizeof(abc) - 1;
	char s[DUR_MAXLEN + 1];
	size_t len, idx[DUR_MAXLEN], i, n = 0;

	for (i = 0; i < sizeof(dur_edges) / sizeof(dur_edges[0]); i++, n++)
		if (f(dur_edges[i]) != oracle(dur_edges[i]))
			fail_msg("\"%s\": %lld, was %lld", dur_edges[i] ?
			    dur_edges[i] : "(null)",
			    (long long)f(dur_edges[i]),
			    (long long)oracle(dur_edges[i]));
	for (len = 1; len <= DUR_MAXLEN; len++) {
		memset(idx, 0, sizeof(idx));
		for (;;) {
			for (i = 0; i < len; i++)
				s[i] = abc[idx[i]];
			s[len] = '\0';
			if (f(s) != oracle(s))
				fail_msg("\"%s\": %lld, was %lld", s,
				    (long long)f(s), (long long)oracle(s));
			n++;
			for (i = 0; i < len && ++idx[i] == k; i++)
				idx[i] = 0;
			if (i == len)
				break;
		}
	}
	return n;
}

#endif
