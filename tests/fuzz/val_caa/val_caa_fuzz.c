/*
 * Fuzz target: val_caa_permits_for, the CAA matcher with RFC 8657's
 * parameters, over an RRset made from the input: the first byte says
 * wildcard or not (bit 0) and who asks (bits 1 and 2: one of two accounts
 * and challenge types; bit 3: nobody known), then one record a line,
 * "<flags byte><tag> <value>", as c-ares would hand over flags, tag and
 * value (tag and value cut to the validator's limits, as val_caa.c
 * does).  A refusal must say why; a permission must not.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "val_local.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct val_caa_rr rr[VAL_MAX_CAA];
	static const char *const ids[] = { "ca.signet.test", "signet.example" };
	static const char *const accts[] = { "AbC_1", "x" };
	static const char *const meths[] = { "http-01", "dns-01" };
	struct sconf_list l = { (char **)(uintptr_t)ids, 2 };
	struct val_caa_who who = { "https://ca.test:8443", NULL, NULL };
	const uint8_t *p, *end = data + size, *nl, *sp;
	char why[256];
	size_t n = 0, len;
	int wildcard, ok;

	if (size < 1)
		return 0;
	wildcard = data[0] & 1;
	who.account = accts[(data[0] >> 1) & 1];
	who.method = meths[(data[0] >> 2) & 1];
	for (p = data + 1; p < end && n < VAL_MAX_CAA; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		memset(&rr[n], 0, sizeof(rr[n]));
		if (p < nl)
			rr[n].critical = (*p++ & 0x80) != 0;
		if ((sp = memchr(p, ' ', (size_t)(nl - p))) == NULL)
			sp = nl;
		len = (size_t)(sp - p) < sizeof(rr[n].tag) - 1 ?
		    (size_t)(sp - p) : sizeof(rr[n].tag) - 1;
		memcpy(rr[n].tag, p, len);
		if (sp < nl) {
			sp++;
			len = (size_t)(nl - sp) < sizeof(rr[n].value) - 1 ?
			    (size_t)(nl - sp) : sizeof(rr[n].value) - 1;
			memcpy(rr[n].value, sp, len);
		}
		n++;
		if (nl == end)
			break;
	}
	if (n == 0)
		return 0;
	why[0] = '\0';
	ok = val_caa_permits_for(rr, n, wildcard, &l, (data[0] & 8) ? NULL :
	    &who, why, sizeof(why));
	if (ok != 0 && ok != 1)
		abort();
	if ((ok == 1) != (why[0] == '\0'))
		abort();
	return 0;
}
