/*
 * Sample engine messages, one or more per type, shared by the unit tests
 * and the fuzz seed generator so the seeds always match the format.
 */
#ifndef SIGNET_PROTO_SAMPLES_H
#define SIGNET_PROTO_SAMPLES_H

#include "signet/proto.h"

/* Variants per type: 0 client certs, 1 bootstrap token, 2 no evidence. */
#define PROTO_SAMPLE_VARIANTS	3

/*
 * Fill *r with a valid request of type; blobs point to static data.
 * Returns 0, or -1 for a type that does not exist.
 */
int	proto_sample_request(uint16_t type, int variant,
	    struct proto_request *r);
/* Fill *rep with a valid reply of type: variant 0 OK, 1 an error. */
int	proto_sample_reply(uint16_t type, int variant, struct proto_reply *rep);

#endif
