/* Verbs still to come (issue 19 lands in steps): each says so, exit 2. */
#include "ctl_cmd.h"

static int
later(const char *verb)
{
	ctl_err("%s: not in this build yet", verb);
	return CTL_EXIT_ERR;
}

int ctl_cmd_tokens_list(struct ctl *c, int a, char **v) { return later("tokens list"); }
int ctl_cmd_tokens_revoke(struct ctl *c, int a, char **v) { return later("tokens revoke"); }
int ctl_cmd_crl_show(struct ctl *c, int a, char **v) { return later("crl show"); }
int ctl_cmd_ocsp_check(struct ctl *c, int a, char **v) { return later("ocsp check"); }
int ctl_cmd_audit_verify(struct ctl *c, int a, char **v) { return later("audit verify"); }
int ctl_cmd_audit_show(struct ctl *c, int a, char **v) { return later("audit show"); }
int ctl_cmd_config_check(struct ctl *c, int a, char **v) { return later("config check"); }
