/* signet-engine: see eng_main() in eng_main.c. */
#include <signet/engine.h>

int
main(int argc, char *argv[])
{
	return eng_main(argc, argv);
}
