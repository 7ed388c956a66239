/*
 * Shared between the JSON API's files (https_api.c: POST routes,
 * https_api_get.c: GET routes and argument checks).
 */
#ifndef SIGNET_HTTPS_API_H
#define SIGNET_HTTPS_API_H

#include "https_local.h"

/* The route id of a /v1 path and method; HTTPS_R_OTHER if none. */
int	api_route(const char *path, int post);
/*
 * "tenant" (and "profile") from a JSON body into the request, checked
 * against the configuration; answer 400/404 and return -1 if bad.
 */
int	api_tenant(struct https_ctx *, const struct https_json *,
	    char tenant[PROTO_MAX_STR + 1]);
int	api_target(struct https_ctx *, const struct https_json *,
	    char tenant[PROTO_MAX_STR + 1], char profile[PROTO_MAX_STR + 1]);
/* An RFC 5280 CRLReason from a number or its name; -1 if invalid. */
int	api_reason(const struct https_jmember *);
void	api_health(struct https_ctx *, struct proto_request *);
void	api_get(struct https_ctx *, struct proto_request *, const char *path,
	    const char *query);
/* GET /v1/audit (https_api_audit.c). */
void	api_audit(struct https_ctx *, struct proto_request *,
	    const char *query);

#endif
