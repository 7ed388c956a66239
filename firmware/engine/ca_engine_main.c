/* signet-engine: see ca_main() in ca_main.c. */
#include <signet/engine.h>

int
main(int argc, char *argv[])
{
	return ca_main(argc, argv);
}
