# signet-bench-acme-nonce: what redeeming one ACME nonce costs with each
# store (issue 20, docs/decisions.md "ACME nonces in a cluster"): the
# engine's memory window, the cluster format's crypto alone, a ledger
# write on SQLite (what nonces in a single node's ledger would cost) and
# the cluster redeem on PostgreSQL, in the same run:
#   tests/support/pgtest.sh run -- sh -c \
#     'build/tools/bench/signet-bench-acme-nonce -p "$SIGNET_PG_CONNINFO"'
add_executable(signet-bench-acme-nonce
	${CMAKE_CURRENT_LIST_DIR}/bench_acme_nonce.c)
target_link_libraries(signet-bench-acme-nonce PRIVATE signet_ledger
	signet_acme OpenSSL::Crypto Threads::Threads)
