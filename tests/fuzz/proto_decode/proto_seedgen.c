/*
 * Writes or checks the seed corpus of the proto_decode fuzz target: every
 * sample request and reply, once as a whole datagram and once as a type
 * byte and a body.  "check" fails if the committed seeds no longer match
 * the encoder, so a format change cannot leave a stale corpus behind.
 *
 * Usage: proto_seedgen write|check DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto_samples.h"

static uint8_t body[PROTO_MAX_BODY];
static uint8_t msg[PROTO_MAX_MSG];
static uint8_t disk[PROTO_MAX_MSG + 1];

static int
seed(int check, const char *dir, const char *name, const uint8_t *p,
    size_t len)
{
	char path[4096];
	FILE *f = NULL;
	size_t n;
	int rc = -1;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    (int)sizeof(path))
		goto out;
	if ((f = fopen(path, check ? "rb" : "wb")) == NULL)
		goto out;
	if (check) {
		n = fread(disk, 1, sizeof(disk), f);
		if (n != len || memcmp(disk, p, len) != 0)
			goto out;
	} else if (fwrite(p, 1, len, f) != len)
		goto out;
	rc = 0;
out:
	if (f != NULL && fclose(f) != 0)
		rc = -1;
	if (rc != 0)
		fprintf(stderr, "proto_seedgen: %s: %s\n", path,
		    check ? "missing or stale, rerun write" : "cannot write");
	return rc;
}

/* The datagram form, then the type-byte form the fuzzer's second path reads. */
static int
emit(int check, const char *dir, const char *name, uint16_t type,
    size_t len)
{
	char n2[256];
	int rc = 0;

	if (proto_hdr_write(msg, type, 1, len) != PROTO_OK)
		return -1;
	memcpy(msg + PROTO_HDR_LEN, body, len);
	rc |= seed(check, dir, name, msg, PROTO_HDR_LEN + len);
	msg[0] = (uint8_t)(type & ~PROTO_T_REPLY);
	memcpy(msg + 1, body, len);
	snprintf(n2, sizeof(n2), "sel-%s", name);
	rc |= seed(check, dir, n2, msg, 1 + len);
	return rc;
}

static int
run(int check, const char *dir)
{
	struct proto_request req;
	struct proto_reply rep;
	char name[128];
	uint16_t t;
	size_t len;
	int v, rc = 0;

	/* signetd's control datagram: the failed children of the sample. */
	proto_sample_reply(PROTO_T_HEALTH, 0, &rep);
	if (proto_ctl_failed_encode(rep.u.health.failed, rep.u.health.nfailed,
	    body, sizeof(body), &len) != PROTO_OK)
		return -1;
	rc |= seed(check, dir, "ctl-failed", body, len);

	for (t = 1; t < PROTO_T_MAX; t++) {
		for (v = 0; v < PROTO_SAMPLE_VARIANTS; v++) {
			proto_sample_request(t, v, &req);
			if (proto_request_encode(&req, body, sizeof(body),
			    &len) != PROTO_OK)
				return -1;
			snprintf(name, sizeof(name), "req-%s-%d",
			    proto_type_name(t), v);
			rc |= emit(check, dir, name, t, len);
		}
		for (v = 0; v < 2; v++) {
			proto_sample_reply(t, v, &rep);
			if (proto_reply_encode(&rep, body, sizeof(body),
			    &len) != PROTO_OK)
				return -1;
			snprintf(name, sizeof(name), "rep-%s-%s",
			    proto_type_name(t), v ? "err" : "ok");
			rc |= emit(check, dir, name, t | PROTO_T_REPLY, len);
		}
	}
	return rc;
}

int
main(int argc, char **argv)
{
	if (argc != 3 || (strcmp(argv[1], "write") != 0 &&
	    strcmp(argv[1], "check") != 0)) {
		fprintf(stderr, "usage: proto_seedgen write|check dir\n");
		return 2;
	}
	return run(strcmp(argv[1], "check") == 0, argv[2]) == 0 ? 0 : 1;
}
