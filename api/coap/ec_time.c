/* The monotonic clock signet-coap measures deadlines and idleness with. */
#include <stdint.h>
#include <time.h>

#include "ec_local.h"

int64_t
ec_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
