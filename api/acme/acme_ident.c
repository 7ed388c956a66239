/*
 * Identifier syntax (RFC 8555 7.1.4 / 9.7.7 "dns", RFC 8738 "ip") and
 * RFC 3339 timestamps.  Only syntax: a dns name must be LDH labels (no
 * U-labels: RFC 8555 7.1.4 wants A-labels), an IP the text of an address;
 * whether the tenant may have it is the profile's name policy.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "acme_local.h"

static int
ident_dns(const char *v, size_t len, struct acme_ident *out)
{
	size_t i, label = 0, off = 0;
	char c;

	/* 7.1.3: a wildcard is "*." and a name, never part of a label. */
	if (len >= 2 && v[0] == '*' && v[1] == '.') {
		out->value[0] = '*';
		out->value[1] = '.';
		off = 2;
	}
	if (len == off || len > ACME_MAX_IDENT)
		return ACME_E_VALUE;
	for (i = off; i < len; i++) {
		c = v[i];
		if (c >= 'A' && c <= 'Z')
			c = c - 'A' + 'a';	/* DNS names are caseless */
		if (c == '.') {
			/* No empty label, none ending in '-', no root dot. */
			if (label == 0 || v[i - 1] == '-' || i + 1 == len)
				return ACME_E_VALUE;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-') {
			if ((label == 0 && c == '-') || ++label > 63)
				return ACME_E_VALUE;
		} else
			return ACME_E_VALUE;
		out->value[i] = c;
	}
	if (v[len - 1] == '-')
		return ACME_E_VALUE;
	out->value[len] = '\0';
	out->type = ACME_ID_DNS;
	return ACME_OK;
}

/* RFC 8738 3: dotted quad or RFC 5952 text; stored in canonical form. */
static int
ident_ip(const char *v, size_t len, struct acme_ident *out)
{
	char buf[INET6_ADDRSTRLEN];
	uint8_t a[16];
	int af;

	if (len == 0 || len >= sizeof(buf))
		return ACME_E_VALUE;
	memcpy(buf, v, len);
	buf[len] = '\0';
	af = memchr(buf, ':', len) != NULL ? AF_INET6 : AF_INET;
	if (inet_pton(af, buf, a) != 1 ||
	    inet_ntop(af, a, out->value, sizeof(out->value)) == NULL)
		return ACME_E_VALUE;
	out->type = ACME_ID_IP;
	return ACME_OK;
}

int
acme_ident_check(enum acme_ident_type type, const char *value, size_t len,
    struct acme_ident *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if (memchr(value, '\0', len) != NULL)
		return ACME_E_VALUE;
	if (type == ACME_ID_DNS)
		rc = ident_dns(value, len, out);
	else if (type == ACME_ID_IP)
		rc = ident_ip(value, len, out);
	else
		rc = ACME_E_VALUE;
	if (rc != ACME_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}

static int
time_num(const char *s, size_t n, int *v)
{
	size_t i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t
time_days(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* RFC 3339 5.6 date-time; no leap second (60), which no CA needs. */
int
acme_time_parse(const char *s, size_t len, int64_t *out)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	int y, mo, d, h, mi, sec, oh = 0, om = 0, leap;
	size_t i = 19;
	int64_t t;

	if (len < 20 || time_num(s, 4, &y) || s[4] != '-' ||
	    time_num(s + 5, 2, &mo) || s[7] != '-' ||
	    time_num(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
	    time_num(s + 11, 2, &h) || s[13] != ':' ||
	    time_num(s + 14, 2, &mi) || s[16] != ':' ||
	    time_num(s + 17, 2, &sec))
		return ACME_E_VALUE;
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || sec > 59)
		return ACME_E_VALUE;
	if (s[i] == '.') {	/* time-secfrac: at least one digit, dropped */
		if (++i >= len || s[i] < '0' || s[i] > '9')
			return ACME_E_VALUE;
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i < len && (s[i] == 'Z' || s[i] == 'z'))
		i++;
	else if (i < len && (s[i] == '+' || s[i] == '-')) {
		if (len - i < 6 || time_num(s + i + 1, 2, &oh) ||
		    s[i + 3] != ':' || time_num(s + i + 4, 2, &om) ||
		    oh > 23 || om > 59)
			return ACME_E_VALUE;
		if (s[i] == '-') {
			oh = -oh;
			om = -om;
		}
		i += 6;
	} else
		return ACME_E_VALUE;
	if (i != len)
		return ACME_E_VALUE;
	t = time_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	*out = t - (oh * 3600 + om * 60);
	return ACME_OK;
}
