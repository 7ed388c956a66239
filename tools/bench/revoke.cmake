# signet-bench-revoke: CRL build time with 100,000 revoked entries and
# OCSP answers per second from the cache with 1,000,000 certificates.
add_executable(signet-bench-revoke ${CMAKE_CURRENT_LIST_DIR}/bench_revoke.c
	${CMAKE_CURRENT_LIST_DIR}/bench_revoke_fill.c)
target_link_libraries(signet-bench-revoke PRIVATE signet_ca signet_hsm
	signet_ledger PkgConfig::SQLITE3 OpenSSL::Crypto Threads::Threads)
