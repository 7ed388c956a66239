/*
 * The verb table's two lookups every verb makes: its own row (for its
 * usage) and the usage error, and the query string the GET verbs build.
 * The table itself is ctl_main.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_cmd.h"

const struct ctl_verb *
ctl_verb_find(const char *group, const char *name)
{
	const struct ctl_verb *v;

	for (v = ctl_verbs; v->name != NULL; v++)
		if (strcmp(v->name, name) == 0 && (group == NULL ?
		    v->group == NULL : v->group != NULL &&
		    strcmp(v->group, group) == 0))
			return v;
	abort();
}

int
ctl_usage_err(const struct ctl_verb *v, const char *why)
{
	ctl_err("%s", why);
	ctl_verb_usage(v, stderr);
	return CTL_EXIT_ERR;
}

int
ctl_add_query(char *q, size_t size, const char *name, const char *value)
{
	size_t n = strlen(q);

	if (value == NULL)
		return 0;
	if (snprintf(q + n, size - n, "%c%s=", strchr(q, '?') == NULL ?
	    '?' : '&', name) >= (int)(size - n))
		return -1;
	return ctl_pct_encode(q, size, value) == CTL_OK ? 0 : -1;
}
