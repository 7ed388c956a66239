/* The monotonic clock signet-https measures deadlines and latency with. */
#include <stdint.h>
#include <time.h>

#include "https_local.h"

uint64_t
https_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}
