/*
 * signet-enroll: gives this machine a device identity from a Signet
 * appliance over EST-coaps or EST over HTTPS, renews it, shows it.
 * Exit 0 ok, 1 refused or verification failure, 2 operational error.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "signet/sdev.h"

#define EXIT_REFUSED	1
#define EXIT_OPERR	2

struct opts {
	const char	*verb;
	const char	*addr;
	enum sdev_proto	 proto;
	const char	*label;
	const char	*token;
	const char	*token_file;
	const char	*name;
	const char	*ca;
	const char	*dir;
	int		 force;
	char		 host[SDEV_MAX_HOST + 1];
	char		 port[SDEV_MAX_PORT + 1];
};

static void
usage(const char *missing)
{
	if (missing != NULL)
		fprintf(stderr, "signet-enroll: missing %s\n", missing);
	fprintf(stderr,
	    "usage: signet-enroll enroll (--coaps host:port | --https host:port"
	    " [--label L])\n"
	    "           (--token TOKEN | --token-file FILE) --name NAME"
	    " [--ca ca.pem] --dir DIR\n"
	    "       signet-enroll renew (--coaps host:port | --https host:port"
	    " [--label L])\n"
	    "           --dir DIR [--force]\n"
	    "       signet-enroll status --dir DIR\n");
	exit(EXIT_OPERR);
}

/* host:port or [v6]:port. */
static int
split_addr(const char *addr, char *host, size_t hsize, char *port,
    size_t psize)
{
	const char *colon, *h = addr;
	size_t hlen;

	if ((colon = strrchr(addr, ':')) == NULL || colon[1] == '\0')
		return -1;
	hlen = (size_t)(colon - addr);
	if (hlen >= 2 && addr[0] == '[' && addr[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= hsize || strlen(colon + 1) >= psize ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return -1;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	memcpy(port, colon + 1, strlen(colon + 1) + 1);
	return 0;
}

/* Reads a whole small file; the caller frees *buf. */
static int
read_file(const char *path, size_t max, uint8_t **buf, size_t *len)
{
	FILE *f = NULL;
	uint8_t *b = NULL;
	size_t n;
	int rc = -1;

	if ((f = fopen(path, "rb")) == NULL)
		goto out;
	if ((b = malloc(max + 1)) == NULL)
		goto out;
	n = fread(b, 1, max + 1, f);
	if (ferror(f) || n > max)
		goto out;
	*buf = b;
	*len = n;
	b = NULL;
	rc = 0;
out:
	free(b);
	if (f != NULL)
		fclose(f);
	return rc;
}

static void
fmt_time(int64_t t, char *buf, size_t size)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		(void)snprintf(buf, size, "%lld", (long long)t);
}

static int
show(struct sdev *c, const char *what)
{
	struct sdev_info info;
	char nb[32], na[32], ra[32];
	int rc;

	if ((rc = sdev_status(c, &info)) != SDEV_OK) {
		fprintf(stderr, "signet-enroll: %s\n", sdev_errmsg(c));
		return rc == SDEV_E_NOTFOUND ? EXIT_REFUSED : EXIT_OPERR;
	}
	fmt_time(info.not_before, nb, sizeof(nb));
	fmt_time(info.not_after, na, sizeof(na));
	fmt_time(info.renew_at, ra, sizeof(ra));
	printf("%ssubject: %s\nissuer: %s\nserial: %s\n"
	    "valid: %s to %s\nrenew after: %s\nkey matches: %s\n"
	    "chain to pinned CA: %s\n", what, info.subject, info.issuer, info.serial, nb, na, ra,
	    info.key_matches ? "yes" : "NO", info.chain_ok ? "yes" : "NO");
	return info.key_matches && info.chain_ok ? 0 : EXIT_REFUSED;
}

static int
run(struct opts *o, struct sdev *c)
{
	struct sdev_server srv = { o->proto, o->host, o->port, o->label };
	uint8_t *ca = NULL, *tok = NULL;
	size_t calen = 0, toklen = 0;
	int rc, renewed = 0;
	char msg[64];

	if (strcmp(o->verb, "status") == 0)
		return show(c, "");
	if (o->ca != NULL && read_file(o->ca, SDEV_MAX_PEM - 1, &ca,
	    &calen) != 0) {
		fprintf(stderr, "signet-enroll: cannot read %s\n", o->ca);
		return EXIT_OPERR;
	}
	if (o->token_file != NULL) {
		if (read_file(o->token_file, SDEV_MAX_TOKEN, &tok,
		    &toklen) != 0) {
			free(ca);
			fprintf(stderr, "signet-enroll: cannot read %s\n",
			    o->token_file);
			return EXIT_OPERR;
		}
		while (toklen > 0 && (tok[toklen - 1] == '\n' ||
		    tok[toklen - 1] == '\r'))
			toklen--;
		tok[toklen] = '\0';
		o->token = (const char *)tok;
	}
	if (strcmp(o->verb, "enroll") == 0)
		rc = sdev_enroll(c, &srv, o->token, o->name, ca, calen);
	else
		rc = sdev_renew(c, &srv, o->force, &renewed);
	if (tok != NULL) {
		explicit_bzero(tok, toklen);
		free(tok);
	}
	free(ca);
	if (rc != SDEV_OK) {
		fprintf(stderr, "signet-enroll: %s failed: %s\n", o->verb,
		    sdev_errmsg(c)[0] != '\0' ? sdev_errmsg(c) :
		    sdev_strerror(rc));
		return sdev_err_is_refusal(rc) ? EXIT_REFUSED : EXIT_OPERR;
	}
	if (strcmp(o->verb, "renew") == 0 && !renewed) {
		(void)snprintf(msg, sizeof(msg), "renewal not due (use --force)"
		    "\n");
		printf("%s", msg);
		return show(c, "");
	}
	return show(c, strcmp(o->verb, "enroll") == 0 ? "enrolled\n" :
	    "renewed\n");
}

static void
parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "coaps", required_argument, NULL, 'c' },
		{ "https", required_argument, NULL, 'h' },
		{ "label", required_argument, NULL, 'l' },
		{ "token", required_argument, NULL, 't' },
		{ "token-file", required_argument, NULL, 'T' },
		{ "name", required_argument, NULL, 'n' },
		{ "ca", required_argument, NULL, 'a' },
		{ "dir", required_argument, NULL, 'd' },
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	if (argc < 2)
		usage("a verb (enroll, renew or status)");
	o->verb = argv[1];
	if (strcmp(o->verb, "enroll") != 0 && strcmp(o->verb, "renew") != 0 &&
	    strcmp(o->verb, "status") != 0)
		usage("a verb (enroll, renew or status)");
	optind = 2;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'c':
		case 'h':
			if (o->addr != NULL)
				usage(NULL);
			o->addr = optarg;
			o->proto = ch == 'c' ? SDEV_PROTO_COAPS :
			    SDEV_PROTO_HTTPS;
			break;
		case 'l': o->label = optarg; break;
		case 't': o->token = optarg; break;
		case 'T': o->token_file = optarg; break;
		case 'n': o->name = optarg; break;
		case 'a': o->ca = optarg; break;
		case 'd': o->dir = optarg; break;
		case 'f': o->force = 1; break;
		default: usage(NULL);
		}
	}
	if (optind != argc)
		usage(NULL);
	if (o->dir == NULL)
		usage("--dir");
	if (strcmp(o->verb, "status") == 0)
		return;
	if (o->addr == NULL)
		usage("--coaps or --https");
	if (split_addr(o->addr, o->host, sizeof(o->host), o->port,
	    sizeof(o->port)) != 0)
		usage("host:port");
	if (strcmp(o->verb, "enroll") == 0 && o->token == NULL &&
	    o->token_file == NULL)
		usage("--token or --token-file");
	if (strcmp(o->verb, "enroll") == 0 && o->name == NULL)
		usage("--name");
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct sdev_posix st;
	struct sdev_port port;
	struct sdev *c = NULL;
	int rc;

	memset(&o, 0, sizeof(o));
	parse(argc, argv, &o);
	if (mkdir(o.dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "signet-enroll: cannot create %s: %s\n", o.dir,
		    strerror(errno));
		return EXIT_OPERR;
	}
	if (sdev_port_posix(&port, &st, o.dir) != SDEV_OK ||
	    (rc = sdev_new(&port, &c)) != SDEV_OK) {
		fprintf(stderr, "signet-enroll: cannot start the client\n");
		return EXIT_OPERR;
	}
	rc = run(&o, c);
	sdev_free(c);
	return rc;
}
