#ifndef SIGNET_PROV_H
#define SIGNET_PROV_H

#include <signet/hsm.h>

/* Creates the development PKI under data (see prov_devca.c); 0 made,
 * 1 already there. */
int prov_dev_ca(struct hsm *h, const char *data);

#endif
