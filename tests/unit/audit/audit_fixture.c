/*
 * audit_fixture DB PEM [edit|delete|truncate|wrongkey N]: write a signed
 * audit log of 20 records (a checkpoint every 5) and its public key,
 * then tamper with record N, for the signet-audit CLI test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include <signet/audit.h>

#include "testutil.h"

#define UNGUARD "DROP TRIGGER audit_log_no_update;" \
	"DROP TRIGGER audit_log_no_delete;"

static int
build(const char *db, EVP_PKEY *key)
{
	struct audit_config cfg = { .key = key, .every_n = 5 };
	struct audit_log *log = NULL;
	struct audit_record r;
	char detail[64];
	int i, rc;

	if ((rc = audit_open(db, &cfg, &log)) != AUDIT_OK)
		return rc;
	for (i = 1; i <= 20 && rc == AUDIT_OK; i++) {
		snprintf(detail, sizeof(detail), "issued serial %04x", i);
		memset(&r, 0, sizeof(r));
		r.actor = "CN=svc";
		r.role = "service";
		r.tenant = "acme";
		r.action = AUDIT_ISSUE;
		r.result = "ok";
		r.detail = detail;
		rc = audit_append(log, &r, NULL);
	}
	audit_close(log);
	return rc;
}

static int
tamper(const char *db, const char *how, long n)
{
	char sql[256];

	if (strcmp(how, "edit") == 0)
		snprintf(sql, sizeof(sql), UNGUARD "UPDATE audit_log SET"
		    " detail = detail || '!' WHERE seq = %ld", n);
	else if (strcmp(how, "delete") == 0)
		snprintf(sql, sizeof(sql), UNGUARD "DELETE FROM audit_log"
		    " WHERE seq = %ld", n);
	else if (strcmp(how, "truncate") == 0)
		snprintf(sql, sizeof(sql), UNGUARD "DELETE FROM audit_log"
		    " WHERE seq >= %ld", n);
	else
		return -1;
	return tu_sql(db, sql);
}

int
main(int argc, char *argv[])
{
	EVP_PKEY *key = NULL;
	long n = 0;
	int rc = 2;

	if (argc != 3 && argc != 5) {
		fprintf(stderr, "usage: audit_fixture db pem [how n]\n");
		return 2;
	}
	if (argc == 5)
		n = strtol(argv[4], NULL, 10);
	key = tu_p256();
	if (build(argv[1], key) != AUDIT_OK)
		goto out;
	if (argc == 5 && strcmp(argv[3], "wrongkey") == 0) {
		EVP_PKEY_free(key);
		key = tu_p256();
	} else if (argc == 5 && tamper(argv[1], argv[3], n) != 0)
		goto out;
	tu_write_pub(key, argv[2]);
	rc = 0;
out:
	EVP_PKEY_free(key);
	return rc;
}
