/*
 * Fuzz target: signetctl's JSON reader, then every lookup the verbs make
 * and a walk of the whole tree through the node links, which must stay
 * inside the node array and end where the document ends.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_json j;
	uint8_t *buf;
	long items, i;
	size_t k;

	if (size > CTL_MAX_JSON || (buf = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	if (ctl_json_parse(buf, size, &j) == CTL_OK) {
		if (j.count == 0 || j.n[0].next != j.count)
			abort();
		for (k = 0; k < j.count; k++) {
			if (j.n[k].next <= k || j.n[k].next > j.count)
				abort();
			if ((j.n[k].type == CTL_J_STRING ||
			    j.n[k].type == CTL_J_NUMBER) &&
			    strlen(j.n[k].str) != j.n[k].slen)
				abort();
		}
		(void)ctl_json_gets(&j, 0, "error");
		(void)ctl_json_gets(&j, 0, "status");
		items = ctl_json_get(&j, 0, "items");
		for (i = ctl_json_first(&j, items); i >= 0;
		    i = ctl_json_next(&j, items, i))
			(void)ctl_json_gets(&j, i, "serial");
		ctl_json_free(&j);
	}
	free(buf);
	return 0;
}
