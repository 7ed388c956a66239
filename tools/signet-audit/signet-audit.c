/*
 * signet-audit verify --db FILE --pubkey PEM
 *
 * Checks the appliance's audit chain and its signed checkpoints and names
 * the first bad record.  Exit 0 when the log verifies, 1 when it does not,
 * 2 when the check could not be made (signify's convention).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <signet/audit.h>

#define EXIT_VERIFY 1
#define EXIT_OPERATIONAL 2

static void
usage(const char *why)
{
	if (why != NULL)
		fprintf(stderr, "signet-audit: %s\n", why);
	fprintf(stderr, "usage: signet-audit verify --db FILE --pubkey PEM\n");
}

static EVP_PKEY *
load_pubkey(const char *path)
{
	EVP_PKEY *key = NULL;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "signet-audit: %s: cannot open: %s\n", path,
		    strerror(errno));
		return NULL;
	}
	if ((key = PEM_read_PUBKEY(f, NULL, NULL, NULL)) == NULL)
		fprintf(stderr, "signet-audit: %s: not a PEM public key\n",
		    path);
	fclose(f);
	return key;
}

static int
verify(const char *db, const char *pem)
{
	struct audit_verify_result res;
	EVP_PKEY *key = NULL;
	int rc, status = EXIT_OPERATIONAL;

	if ((key = load_pubkey(pem)) == NULL)
		goto out;
	if ((rc = audit_verify(db, key, &res)) != AUDIT_OK) {
		fprintf(stderr, "signet-audit: %s: %s\n", db,
		    audit_strerror(rc));
		goto out;
	}
	if (res.status != AUDIT_VERIFY_OK) {
		fprintf(stderr, "signet-audit: %s: FAILED: %s\n", db,
		    res.message);
		status = EXIT_VERIFY;
		goto out;
	}
	printf("%s: OK: %s (last checkpoint at seq %llu)\n", db, res.message,
	    (unsigned long long)res.last_checkpoint);
	status = 0;
out:
	EVP_PKEY_free(key);
	return status;
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "pubkey", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = NULL, *pem = NULL;
	int ch;

	if (argc < 2 || strcmp(argv[1], "verify") != 0) {
		usage(argc < 2 ? "no command given" : "unknown command");
		return EXIT_OPERATIONAL;
	}
	optind = 2;
	while ((ch = getopt_long(argc, argv, "d:p:", opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			db = optarg;
			break;
		case 'p':
			pem = optarg;
			break;
		default:
			usage(NULL);
			return EXIT_OPERATIONAL;
		}
	}
	if (optind != argc || db == NULL || pem == NULL) {
		usage(db == NULL ? "--db is missing" : pem == NULL ?
		    "--pubkey is missing" : "unexpected argument");
		return EXIT_OPERATIONAL;
	}
	return verify(db, pem);
}
