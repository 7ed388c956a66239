/* signet-https: the HTTPS front end; everything lives in signet_https. */
#include "https_local.h"

int
main(int argc, char **argv)
{
	return https_main(argc, argv);
}
