/*
 * signet-ceremony: the offline root CA ceremony, in the manner of
 * signify: one verb per run, usage() names what is missing, exit 0 on
 * success, 1 when a verification or policy check fails, 2 on an
 * operational error.
 *
 *   signet-ceremony init    -f ceremony.conf [-y]
 *   signet-ceremony sign    -f ceremony.conf [-y] [-s user-share]...
 *   signet-ceremony cross-sign -f ceremony.conf -x ca.pem -o cross.pem [-y]
 *                           [-s user-share]...
 *   signet-ceremony revoke  -f ceremony.conf -x cert.pem [-R reason] [-y]
 *                           [-s user-share]...
 *   signet-ceremony crl     -f ceremony.conf [-y] [-s user-share]...
 *   signet-ceremony backup  -f ceremony.conf [-y] [-s user-share]...
 *                           [-S so-share]...
 *   signet-ceremony restore -f ceremony.conf [-y] [-s user-share]...
 *                           [-S so-share]... [-k kek-share]...
 *   signet-ceremony verify-transcript -f ceremony.conf
 *   signet-ceremony verify-transcript -t transcript -r root.pem
 *
 * Shares not given as files are typed at the terminal without echo.
 */
#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cer_run.h"

static void __attribute__((noreturn))
usage(const char *missing)
{
	if (missing != NULL)
		fprintf(stderr, "signet-ceremony: missing %s\n", missing);
	fprintf(stderr,
	    "usage: signet-ceremony init -f ceremony.conf [-y]\n"
	    "       signet-ceremony sign -f ceremony.conf [-y] "
	    "[-s user-share]...\n"
	    "       signet-ceremony cross-sign -f ceremony.conf -x ca.pem "
	    "-o cross.pem [-y] [-s user-share]...\n"
	    "       signet-ceremony revoke -f ceremony.conf -x cert.pem "
	    "[-R reason] [-y] [-s user-share]...\n"
	    "       signet-ceremony crl -f ceremony.conf [-y] "
	    "[-s user-share]...\n"
	    "       signet-ceremony backup -f ceremony.conf [-y] "
	    "[-s user-share]... [-S so-share]...\n"
	    "       signet-ceremony restore -f ceremony.conf [-y] "
	    "[-s user-share]... [-S so-share]... [-k kek-share]...\n"
	    "       signet-ceremony verify-transcript "
	    "{-f ceremony.conf | -t transcript -r root.pem}\n");
	exit(CER_ERR);
}

static void
add_share(const char **v, size_t *n, const char *path)
{
	if (*n >= CER_CUSTODIANS) {
		warnx("more than %d shares of one secret given",
		    CER_CUSTODIANS);
		usage(NULL);
	}
	v[(*n)++] = path;
}

static int
parse_reason(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	/* RFC 5280 5.3.1: 0..10 except 7 (unused). */
	if (errno != 0 || *end != '\0' || end == s || v < 0 || v > 10 ||
	    v == 7) {
		warnx("-R %s: not a CRLReason code (0..10, not 7)", s);
		usage(NULL);
	}
	return (int)v;
}

int
cer_verify_transcript(const struct cer_opts *o)
{
	struct cer_conf *c = NULL;
	const char *tpath = o->transcript, *rpath = o->cert;
	uint8_t *text = NULL;
	char err[CER_MAX_ERR];
	unsigned nsigs = 0;
	size_t len;
	X509 *root = NULL;
	int rc;

	if (o->conf != NULL) {
		if ((rc = cer_conf_load(o->conf, &c, err, sizeof(err))) !=
		    CER_OK) {
			warnx("%s", err);
			return rc;
		}
		tpath = tpath != NULL ? tpath : c->transcript;
		rpath = rpath != NULL ? rpath : c->root_cert;
	}
	rc = CER_ERR;
	if ((root = cer_load_cert(rpath)) == NULL ||
	    cer_read_file(tpath, &text, &len) != CER_OK)
		goto out;
	rc = cer_tx_verify(text, len, X509_get0_pubkey(root), &nsigs, err,
	    sizeof(err));
	if (rc != CER_OK) {
		warnx("%s: %s", tpath, err);
		goto out;
	}
	printf("%s: %u signed run(s), every line verifies with %s\n", tpath,
	    nsigs, rpath);
out:
	free(text);
	X509_free(root);
	cer_conf_free(c);
	return rc;
}

int
main(int argc, char **argv)
{
	struct cer_opts o;
	const char *verb;
	int ch;

	memset(&o, 0, sizeof(o));
	o.reason = 0;
	if (argc < 2)
		usage(NULL);
	verb = argv[1];
	optind = 2;
	while ((ch = getopt(argc, argv, "f:k:o:R:r:S:s:t:x:y")) != -1) {
		switch (ch) {
		case 'f': o.conf = optarg; break;
		case 'k': add_share(o.kek, &o.nkek, optarg); break;
		case 'o': o.out = optarg; break;
		case 'R': o.reason = parse_reason(optarg); break;
		case 'r': o.cert = optarg; break;
		case 'S': add_share(o.so, &o.nso, optarg); break;
		case 's': add_share(o.user, &o.nuser, optarg); break;
		case 't': o.transcript = optarg; break;
		case 'x': o.cert = optarg; break;
		case 'y': o.yes = 1; break;
		default: usage(NULL);
		}
	}
	if (optind != argc)
		usage(NULL);
	if (strcmp(verb, "verify-transcript") == 0) {
		if (o.conf == NULL && o.transcript == NULL)
			usage("-f ceremony.conf or -t transcript");
		if (o.conf == NULL && o.cert == NULL)
			usage("-r root.pem");
		return cer_verify_transcript(&o);
	}
	if (o.conf == NULL)
		usage("-f ceremony.conf");
	if (strcmp(verb, "init") == 0)
		return cer_init(&o);
	if (strcmp(verb, "sign") == 0)
		return cer_sign(&o);
	if (strcmp(verb, "cross-sign") == 0) {
		if (o.cert == NULL || o.out == NULL)
			usage(o.cert == NULL ? "-x ca.pem (the CA to cross-sign)" :
			    "-o cross.pem");
		return cer_cross_sign(&o);
	}
	if (strcmp(verb, "revoke") == 0) {
		if (o.cert == NULL)
			usage("-x cert.pem (the certificate to revoke)");
		return cer_revoke(&o);
	}
	if (strcmp(verb, "crl") == 0)
		return cer_crl(&o);
	if (strcmp(verb, "backup") == 0)
		return cer_backup(&o);
	if (strcmp(verb, "restore") == 0)
		return cer_restore(&o);
	warnx("unknown verb \"%s\"", verb);
	usage(NULL);
}
