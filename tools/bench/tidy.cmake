# signet-bench-tidy: ledger issuance before, while and after tidy removes
# expired rows (issue 19), SQLite and, given a target, PostgreSQL:
#   tests/support/pgtest.sh run -- sh -c \
#     'build/tools/bench/signet-bench-tidy -p "$SIGNET_PG_CONNINFO"'
add_executable(signet-bench-tidy
	${CMAKE_CURRENT_LIST_DIR}/bench_tidy.c)
target_link_libraries(signet-bench-tidy PRIVATE signet_ledger
	OpenSSL::Crypto Threads::Threads)
