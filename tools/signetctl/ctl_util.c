/*
 * Small parsers of what the operator types or keeps in a file: the
 * settings file, URLs, durations and serials.  Pure functions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static int
is_name(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
	    c == '-';
}

static void
skip_ws(const uint8_t *s, size_t len, size_t *i)
{
	while (*i < len && (s[*i] == ' ' || s[*i] == '\t'))
		(*i)++;
}

/* One "name = value" line without its newline; an empty or comment line
 * sets nothing. */
static int
conf_line(const uint8_t *s, size_t len,
    int (*set)(void *, const char *, const char *), void *arg)
{
	char name[64], value[CTL_MAX_VALUE + 1];
	size_t i = 0, n = 0, v = 0;

	skip_ws(s, len, &i);
	if (i == len || s[i] == '#')
		return CTL_OK;
	while (i < len && is_name(s[i]) && n < sizeof(name) - 1)
		name[n++] = (char)s[i++];
	name[n] = '\0';
	skip_ws(s, len, &i);
	if (n == 0 || i == len || s[i] != '=')
		return CTL_E_SYNTAX;
	i++;
	skip_ws(s, len, &i);
	if (i < len && s[i] == '"') {
		for (i++; i < len && s[i] != '"'; i++) {
			if (v == CTL_MAX_VALUE || s[i] < 0x20)
				return CTL_E_SYNTAX;
			value[v++] = (char)s[i];
		}
		if (i == len)
			return CTL_E_SYNTAX;
		i++;
		skip_ws(s, len, &i);
		if (i < len && s[i] != '#')
			return CTL_E_SYNTAX;
	} else {
		for (; i < len && s[i] != '#'; i++) {
			if (v == CTL_MAX_VALUE || (s[i] < 0x20 && s[i] != '\t'))
				return CTL_E_SYNTAX;
			value[v++] = (char)s[i];
		}
		while (v > 0 && (value[v - 1] == ' ' || value[v - 1] == '\t'))
			v--;
	}
	value[v] = '\0';
	if (v == 0 || memchr(value, '\0', v) != NULL)
		return CTL_E_SYNTAX;
	return set(arg, name, value) == 0 ? CTL_OK : CTL_E_ARG;
}

int
ctl_conf_parse(const uint8_t *in, size_t len,
    int (*set)(void *, const char *, const char *), void *arg, size_t *line)
{
	const uint8_t *nl;
	size_t off = 0, l;
	int rc;

	*line = 0;
	if (len > CTL_MAX_CONF)
		return CTL_E_TOOBIG;
	while (off < len) {
		(*line)++;
		nl = memchr(in + off, '\n', len - off);
		l = nl != NULL ? (size_t)(nl - (in + off)) : len - off;
		if (l > 0 && in[off + l - 1] == '\r')
			l--;
		if ((rc = conf_line(in + off, l, set, arg)) != CTL_OK)
			return rc;
		off = nl != NULL ? (size_t)(nl - in) + 1 : len;
	}
	*line = 0;
	return CTL_OK;
}

static int
host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '-';
}

static int
url_port(const char *s, size_t len, char port[8])
{
	size_t i;
	long v = 0;

	if (len == 0 || len > 5)
		return CTL_E_SYNTAX;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return CTL_E_SYNTAX;
		v = v * 10 + (s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return CTL_E_SYNTAX;
	memcpy(port, s, len);
	port[len] = '\0';
	return CTL_OK;
}

int
ctl_url_parse(const char *s, struct ctl_url *u)
{
	const char *h, *end, *hend, *colon = NULL;
	size_t i, hlen;

	memset(u, 0, sizeof(*u));
	if (strncmp(s, "https://", 8) == 0) {
		u->tls = 1;
		h = s + 8;
	} else if (strncmp(s, "http://", 7) == 0)
		h = s + 7;
	else
		return CTL_E_SYNTAX;
	end = h + strcspn(h, "/?#");
	if (*h == '[') {	/* RFC 3986 3.2.2: IP-literal */
		if ((hend = memchr(h, ']', (size_t)(end - h))) == NULL)
			return CTL_E_SYNTAX;
		h++;
		hlen = (size_t)(hend - h);
		for (i = 0; i < hlen; i++)
			if (!(host_char(h[i]) || h[i] == ':'))
				return CTL_E_SYNTAX;
		if (hend + 1 < end && hend[1] != ':')
			return CTL_E_SYNTAX;
		colon = hend + 1 < end ? hend + 1 : NULL;
	} else {
		colon = memchr(h, ':', (size_t)(end - h));
		hlen = (size_t)((colon != NULL ? colon : end) - h);
		for (i = 0; i < hlen; i++)
			if (!host_char(h[i]))
				return CTL_E_SYNTAX;
	}
	if (hlen == 0 || hlen >= sizeof(u->host))
		return CTL_E_SYNTAX;
	memcpy(u->host, h, hlen);
	u->host[hlen] = '\0';
	if (colon != NULL) {
		if (url_port(colon + 1, (size_t)(end - colon - 1), u->port) !=
		    CTL_OK)
			return CTL_E_SYNTAX;
	} else
		snprintf(u->port, sizeof(u->port), "%s", u->tls ? "443" : "80");
	/* Room for the path, a leading '/' and the NUL. */
	if (*end == '#' || strlen(end) + 2 > sizeof(u->path))
		return CTL_E_SYNTAX;
	for (i = 0; end[i] != '\0'; i++)
		if ((unsigned char)end[i] <= 0x20 || end[i] == 0x7f)
			return CTL_E_SYNTAX;
	u->path[0] = '/';
	memcpy(u->path + (*end == '/' ? 0 : 1), end, strlen(end) + 1);
	return CTL_OK;
}

int
ctl_pct_encode(char *buf, size_t size, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(buf);
	unsigned char c;

	for (; *s != '\0'; s++) {
		c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			if (n + 1 >= size)
				return CTL_E_TOOBIG;
			buf[n++] = (char)c;
		} else {
			if (n + 3 >= size)
				return CTL_E_TOOBIG;
			buf[n++] = '%';
			buf[n++] = hex[c >> 4];
			buf[n++] = hex[c & 15];
		}
	}
	buf[n] = '\0';
	return CTL_OK;
}

int64_t
ctl_duration(const char *s)
{
	int64_t v = 0, mul = 1;
	size_t i, len = strlen(s);

	if (len == 0 || len > 12)
		return -1;
	switch (s[len - 1]) {
	case 's': mul = 1; len--; break;
	case 'm': mul = 60; len--; break;
	case 'h': mul = 3600; len--; break;
	case 'd': mul = 86400; len--; break;
	default: break;
	}
	if (len == 0)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v * mul;
}

unsigned
ctl_retry_wait(unsigned retry_after, unsigned attempt)
{
	unsigned w;

	if (retry_after > 0)
		w = retry_after;
	else
		w = attempt >= 7 ? CTL_RETRY_MAX_WAIT : 1u << (attempt > 0 ?
		    attempt - 1 : 0);
	if (w < 1)
		w = 1;
	return w > CTL_RETRY_MAX_WAIT ? CTL_RETRY_MAX_WAIT : w;
}

int
ctl_serial_norm(const char *in, char *out, size_t size)
{
	size_t n = 0;

	if (in[0] == '0' && (in[1] == 'x' || in[1] == 'X'))
		in += 2;
	for (; *in != '\0'; in++) {
		if (*in == ':')
			continue;
		if (!((*in >= '0' && *in <= '9') || (*in >= 'a' &&
		    *in <= 'f') || (*in >= 'A' && *in <= 'F')))
			return CTL_E_SYNTAX;
		if (n + 1 >= size)
			return CTL_E_TOOBIG;
		out[n++] = *in >= 'A' && *in <= 'F' ? (char)(*in + 32) : *in;
	}
	out[n] = '\0';
	/* RFC 5280 4.1.2.2: at most 20 octets. */
	return n > 0 && n <= 42 ? CTL_OK : CTL_E_SYNTAX;
}
