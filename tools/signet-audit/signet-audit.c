/*
 * signet-audit verify --db FILE --pubkey PEM [--checkpoints FILE]
 *
 * Checks the appliance's audit chain and its signed checkpoints and names
 * the first bad record.  With --checkpoints, also against the checkpoints
 * the engine exported as it signed them (storage.audit_checkpoint_export),
 * so that a tail deleted together with its checkpoints is reported.  Exit 0 when the log verifies, 1 when it does not,
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
	fprintf(stderr, "usage: signet-audit verify --db FILE --pubkey PEM "
	    "[--checkpoints FILE]\n");
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
verify(const char *db, const char *pem, const char *ckfile)
{
	struct audit_verify_result res;
	struct audit_ckpts ext = { NULL, 0 };
	EVP_PKEY *key = NULL;
	char err[512];
	int rc, status = EXIT_OPERATIONAL;

	if ((key = load_pubkey(pem)) == NULL)
		goto out;
	if (ckfile != NULL &&
	    (rc = audit_ckpts_load(ckfile, NULL, &ext, err, sizeof(err))) !=
	    AUDIT_OK) {
		fprintf(stderr, "signet-audit: %s\n", err);
		goto out;
	}
	if ((rc = audit_verify_ext(db, key, &ext, &res)) != AUDIT_OK) {
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
	if (ckfile != NULL)
		printf("%s: OK: %zu exported checkpoints in %s match\n", db,
		    ext.n, ckfile);
	status = 0;
out:
	audit_ckpts_free(&ext);
	EVP_PKEY_free(key);
	return status;
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "pubkey", required_argument, NULL, 'p' },
		{ "checkpoints", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = NULL, *pem = NULL, *ckfile = NULL;
	int ch;

	if (argc < 2 || strcmp(argv[1], "verify") != 0) {
		usage(argc < 2 ? "no command given" : "unknown command");
		return EXIT_OPERATIONAL;
	}
	optind = 2;
	while ((ch = getopt_long(argc, argv, "c:d:p:", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			ckfile = optarg;
			break;
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
	return verify(db, pem, ckfile);
}
