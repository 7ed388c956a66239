/*
 * Lookups in, and freeing of, a parsed configuration.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signet/sconf.h"

static void
list_free(struct sconf_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

static void
profile_free(struct sconf_profile *p)
{
	free(p->name);
	free(p->issuer);
	free(p->est_label);
	list_free(&p->domains);
	list_free(&p->cidrs);
	list_free(&p->uri_patterns);
	list_free(&p->key_types);
	list_free(&p->key_usage);
	list_free(&p->ext_key_usage);
	free(p->subject_o);
	free(p->subject_ou);
	free(p->subject_c);
	free(p->subject_st);
	free(p->subject_l);
	list_free(&p->roles);
	list_free(&p->notify_thresholds);
	list_free(&p->notify_webhooks);
}

static void
tenant_free(struct sconf_tenant *t)
{
	size_t i;

	for (i = 0; i < t->nissuers; i++) {
		free(t->issuers[i].name);
		free(t->issuers[i].key_label);
		free(t->issuers[i].cert_file);
		free(t->issuers[i].chain_file);
		free(t->issuers[i].ocsp_cert_file);
		free(t->issuers[i].ocsp_key_label);
	}
	for (i = 0; i < t->nprofiles; i++)
		profile_free(&t->profiles[i]);
	free(t->issuers);
	free(t->profiles);
	free(t->name);
}

void
sconf_free(struct sconf *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->ntenants; i++)
		tenant_free(&c->tenants[i]);
	free(c->tenants);
	for (i = 0; i < c->nclients; i++) {
		free(c->clients[i].name);
		free(c->clients[i].match_cn);
		free(c->clients[i].match_o);
		free(c->clients[i].issuer);
		free(c->clients[i].issuer_key_id);
		list_free(&c->clients[i].issuer_cert);
		free(c->clients[i].match_ou);
		free(c->clients[i].role);
		list_free(&c->clients[i].tenants);
	}
	free(c->clients);
	free(c->path);
	free(c->data_dir);
	free(c->log);
	free(c->log_level);
	free(c->metrics);
	free(c->user);
	free(c->https_user);
	free(c->coap_user);
	free(c->sandbox_dir);
	free(c->listen_https);
	free(c->acme_base_url);
	free(c->acme_http01_address);
	free(c->acme_dns_resolver);
	list_free(&c->acme_validate_allow);
	list_free(&c->acme_caa_identities);
	free(c->notify_secret_file);
	free(c->listen_http);
	free(c->listen_coap);
	free(c->token_module);
	free(c->token_label);
	free(c->token_pin_file);
	free(c->storage_backend);
	free(c->storage_path);
	free(c->audit_key_label);
	free(c->audit_checkpoint_export);
	free(c->tls_cert);
	free(c->tls_key);
	list_free(&c->tls_client_ca);
	free(c->url_ocsp);
	free(c->url_ca_issuers);
	free(c->url_crl);
	free(c->url_delta_crl);
	free(c->est_default);
	free(c);
}

const struct sconf_tenant *
sconf_tenant(const struct sconf *c, const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < c->ntenants; i++)
		if (strcmp(c->tenants[i].name, name) == 0)
			return &c->tenants[i];
	return NULL;
}

const struct sconf_profile *
sconf_profile(const struct sconf_tenant *t, const char *name)
{
	size_t i;

	for (i = 0; t != NULL && name != NULL && i < t->nprofiles; i++)
		if (strcmp(t->profiles[i].name, name) == 0)
			return &t->profiles[i];
	return NULL;
}

const struct sconf_issuer *
sconf_issuer(const struct sconf_tenant *t, const char *name)
{
	size_t i;

	for (i = 0; t != NULL && name != NULL && i < t->nissuers; i++)
		if (strcmp(t->issuers[i].name, name) == 0)
			return &t->issuers[i];
	return NULL;
}

int
sconf_est_label(const struct sconf *c, const char *label,
    const struct sconf_tenant **tp, const struct sconf_profile **pp)
{
	char tname[128];
	const char *slash;
	size_t i, j;

	if (label == NULL || *label == '\0') {
		if (c->est_default == NULL ||
		    (slash = strchr(c->est_default, '/')) == NULL ||
		    (size_t)(slash - c->est_default) >= sizeof(tname))
			return -1;
		memcpy(tname, c->est_default, (size_t)(slash - c->est_default));
		tname[slash - c->est_default] = '\0';
		*tp = sconf_tenant(c, tname);
		*pp = sconf_profile(*tp, slash + 1);
		return *tp && *pp ? 0 : -1;
	}
	for (i = 0; i < c->ntenants; i++)
		for (j = 0; j < c->tenants[i].nprofiles; j++) {
			const struct sconf_profile *p = &c->tenants[i].profiles[j];

			if (p->est_label && strcmp(p->est_label, label) == 0) {
				*tp = &c->tenants[i];
				*pp = p;
				return 0;
			}
		}
	return -1;
}

int
sconf_hex(const char *s, uint8_t *out, size_t size, size_t *len)
{
	int hi = -1, v;

	*len = 0;
	for (; *s != '\0'; s++) {
		if (*s == ':' && hi < 0 && *len > 0)
			continue;
		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			v = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			v = *s - 'A' + 10;
		else
			return -1;
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (*len == size)
			return -1;
		out[(*len)++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	return hi < 0 && *len > 0 ? 0 : -1;
}

/* An IPv4 or IPv6 literal (no brackets) into addr; its family or 0. */
static int
sconf_addr(const char *s, size_t n, uint8_t addr[16])
{
	char buf[64];

	if (n == 0 || n >= sizeof(buf))
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, addr) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, buf, addr) == 1)
		return AF_INET6;
	return 0;
}

int
sconf_cidr(const char *s, struct sconf_cidr *out)
{
	struct sconf_cidr c;
	const char *slash = strchr(s, '/');
	size_t n = slash != NULL ? (size_t)(slash - s) : strlen(s);
	int max, i, b;

	memset(&c, 0, sizeof(c));
	if ((c.family = sconf_addr(s, n, c.addr)) == 0)
		return -1;
	max = c.family == AF_INET ? 32 : 128;
	c.bits = max;
	if (slash != NULL) {
		/* 1-3 digits, no sign, no leading zero but "0" itself */
		n = strspn(slash + 1, "0123456789");
		if (n == 0 || n > 3 || slash[1 + n] != '\0' ||
		    (n > 1 && slash[1] == '0'))
			return -1;
		c.bits = atoi(slash + 1);
		if (c.bits > max)
			return -1;
	}
	/* No host bits set: "10.1.0.0/8" is a typo, not a network. */
	for (i = 0; i < max / 8; i++) {
		b = c.bits - i * 8;
		if (b >= 8)
			continue;
		if ((c.addr[i] & (uint8_t)(b <= 0 ? 0xff : 0xff >> b)) != 0)
			return -1;
	}
	if (out != NULL)
		*out = c;
	return 0;
}

int
sconf_hostport(const char *s, struct sconf_hostport *out)
{
	struct sconf_hostport h;
	const char *colon, *a = s;
	size_t n;
	char *end;
	long port;

	memset(&h, 0, sizeof(h));
	if (*s == '[') {
		if ((colon = strchr(s, ']')) == NULL || colon[1] != ':')
			return -1;
		a = s + 1;
		n = (size_t)(colon - a);
		colon++;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return -1;
		n = (size_t)(colon - s);
	}
	h.family = sconf_addr(a, n, h.addr);
	if (h.family == 0 || (*s == '[') != (h.family == AF_INET6) ||
	    colon[1] < '1' || colon[1] > '9')
		return -1;
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port < 1 || port > 65535)
		return -1;
	h.port = (int)port;
	if (out != NULL)
		*out = h;
	return 0;
}
