# signet-bench-pgsql: ledger write throughput, SQLite beside PostgreSQL
# with one and two nodes (issue 9).  Run the PostgreSQL rounds on a
# throwaway server:
#   tests/support/pgtest.sh run -- sh -c \
#     'build/tools/bench/signet-bench-pgsql -p "$SIGNET_PG_CONNINFO"'
add_executable(signet-bench-pgsql
	${CMAKE_CURRENT_LIST_DIR}/bench_pgsql.c)
target_link_libraries(signet-bench-pgsql PRIVATE signet_ledger
	OpenSSL::Crypto Threads::Threads)
