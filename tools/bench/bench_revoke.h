/*
 * signet-bench-revoke internals: the bulk ledger filler.
 */
#ifndef SIGNET_BENCH_REVOKE_H
#define SIGNET_BENCH_REVOKE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <signet/ledger.h>

/* The serial of certificate number i (unique, positive, 16 octets). */
void bench_serial(uint64_t i, struct ledger_serial *s);
/*
 * Creates the ledger at path with n certificates of issuer, the first
 * nrevoked of them revoked, in one transaction; returns 0 or -1.
 */
int bench_fill(const char *path, const char *issuer, uint64_t n,
    uint64_t nrevoked, time_t now);

#endif
