/*
 * The signetctl program (not the pure library of ctl.h): settings,
 * the network client, and one function per verb.
 */
#ifndef SIGNET_CTL_CMD_H
#define SIGNET_CTL_CMD_H

#include <limits.h>

#include "ctl.h"

#define CTL_DEFAULT_SERVER	"https://127.0.0.1:8443"
#define CTL_DEFAULT_HTTP	"http://127.0.0.1:8080"
#define CTL_SYS_CONFIG		"/etc/signet/signetctl.conf"

/* Where each setting came from decides nothing but error messages. */
struct ctl {
	char	 server[CTL_MAX_URL];	/* https:// base of /v1 */
	char	 http[CTL_MAX_URL];	/* http:// base of /crl, /ca, /ocsp */
	char	 cacert[PATH_MAX];	/* PEM: who may sign the server */
	char	 cert[PATH_MAX];	/* PEM: operator or auditor */
	char	 key[PATH_MAX];		/* its private key (a file, never an
					 * argument's value) */
	char	 tenant[256];
	char	 config[PATH_MAX];	/* the settings file read, or "" */
	int	 timeout;		/* seconds for one whole request */
	int	 json;			/* --json */
};

/* One answer, owned by the caller until ctl_reply_free. */
struct ctl_reply {
	uint8_t			*buf;
	size_t			 buflen; /* bytes read into buf */
	uint8_t			*out;	/* decoded chunked body */
	size_t			 outsize;
	struct ctl_http_resp	 r;
	struct ctl_json		 j;	/* when the body was JSON */
	int			 have_json;
};

/*
 * method url (body of ctype, or none); on success rep holds the answer,
 * whatever its status, and JSON bodies are parsed.  Returns CTL_EXIT_OK,
 * or CTL_EXIT_ERR after saying why on stderr (unreachable, TLS refused,
 * timeout, malformed answer).
 */
int	ctl_request(const struct ctl *c, const char *method, const char *url,
	    const char *ctype, const void *body, size_t len,
	    struct ctl_reply *rep);
/* Frees and wipes (an answer may hold an enrollment token). */
void	ctl_reply_free(struct ctl_reply *rep);
/* GET base + path (path starts with '/'). */
int	ctl_get(const struct ctl *c, const char *base, const char *path,
	    struct ctl_reply *rep);
/*
 * The exit code for a non-2xx answer, after printing the server's own
 * message ("error" member, or the text body) prefixed by what.
 * 2xx is CTL_EXIT_OK and prints nothing.
 */
int	ctl_status_exit(const struct ctl_reply *rep, const char *what);
/* The body as printable text (for --json passthrough). */
void	ctl_print_body(const struct ctl_reply *rep, FILE *f);

/* A distinguished name as the API writes subjects (RFC 2253 order). */
struct X509_name_st;
void	ctl_x509_name(const struct X509_name_st *name, char *buf,
	    size_t size);

void	ctl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * A verb: argv[0] is the verb's last word ("list"), options follow.
 * Each parses its own options with ctl_getopt and returns an exit code.
 */
struct ctl_verb {
	const char	*group;		/* "certs", or NULL for a lone verb */
	const char	*name;
	int		(*fn)(struct ctl *, int, char **);
	const char	*synopsis;	/* after "signetctl [options] " */
	const char	*help;		/* the options, one per line */
};

extern const struct ctl_verb ctl_verbs[];

/* Prints "usage: signetctl group name synopsis" and help, to f. */
void	ctl_verb_usage(const struct ctl_verb *v, FILE *f);
/* The row of "group name" (group NULL: a lone verb); aborts if none. */
const struct ctl_verb *ctl_verb_find(const char *group, const char *name);
/* Says why on stderr, then the verb's usage; returns CTL_EXIT_ERR. */
int	ctl_usage_err(const struct ctl_verb *v, const char *why);
/* Appends ?name=value (or &name=value), value %-encoded; NULL: nothing. */
int	ctl_add_query(char *q, size_t size, const char *name,
	    const char *value);
/*
 * getopt_long over the verb's own options plus the common ones (--json,
 * --server, --cert, ...), which it applies to c itself; prints usage and
 * returns -2 on a bad option, -3 on --help.  Otherwise like getopt_long.
 */
struct option;
int	ctl_getopt(struct ctl *c, const struct ctl_verb *v, int argc,
	    char **argv, const char *shortopts, const struct option *longopts);
/* Apply one common setting by name ("server", "cert", ...); -1 if bad. */
int	ctl_setting(struct ctl *c, const char *name, const char *value);
/* Settings from the file, then the environment (flags come after). */
int	ctl_settings_load(struct ctl *c, const char *path);

/* The tenant the verb acts in: --tenant, SIGNETCTL_TENANT or the file. */
int	ctl_need_tenant(const struct ctl *c, const struct ctl_verb *v);

int	ctl_cmd_health(struct ctl *, int, char **);
int	ctl_cmd_certs_list(struct ctl *, int, char **);
int	ctl_cmd_certs_show(struct ctl *, int, char **);
int	ctl_cmd_certs_revoke(struct ctl *, int, char **);
int	ctl_cmd_tokens_create(struct ctl *, int, char **);
int	ctl_cmd_tokens_list(struct ctl *, int, char **);
int	ctl_cmd_eab_create(struct ctl *, int, char **);
int	ctl_cmd_eab_list(struct ctl *, int, char **);
int	ctl_cmd_tokens_revoke(struct ctl *, int, char **);
int	ctl_cmd_crl_show(struct ctl *, int, char **);
int	ctl_cmd_ocsp_check(struct ctl *, int, char **);
int	ctl_cmd_audit_verify(struct ctl *, int, char **);
int	ctl_cmd_audit_show(struct ctl *, int, char **);
int	ctl_cmd_audit_show_db(struct ctl *, int, char **);	/* --db */
int	ctl_cmd_config_check(struct ctl *, int, char **);
int	ctl_cmd_tidy(struct ctl *, int, char **);

#endif
