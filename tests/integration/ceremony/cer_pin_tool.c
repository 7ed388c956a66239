/*
 * Test helper: rebuilds a PIN from two share files and prints it, so the
 * integration test can log in with pkcs11-tool and read key attributes.
 * Never built into anything a custodian runs.
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>

#include "cer.h"

int
main(int argc, char **argv)
{
	struct cer_share v[2];
	const char *names[2];
	uint8_t *d, secret[CER_SHARE_MAX_SECRET];
	char err[CER_MAX_ERR], pin[2 * CER_SHARE_MAX_SECRET + 1];
	size_t len, n;
	int i;

	if (argc != 3)
		errx(2, "usage: cer_pin_tool share-file share-file");
	for (i = 0; i < 2; i++) {
		names[i] = argv[i + 1];
		if (cer_read_file(argv[i + 1], &d, &len) != CER_OK)
			return 2;
		if (cer_share_decode(d, len, &v[i], err, sizeof(err)) != CER_OK)
			errx(1, "%s: %s", argv[i + 1], err);
		free(d);
	}
	if (cer_share_combine(v, names, 2, (enum cer_secret)v[0].kind, NULL,
	    secret, &n, err, sizeof(err)) != CER_OK)
		errx(1, "%s", err);
	cer_hex(secret, n, pin);
	printf("%s\n", pin);
	return 0;
}
