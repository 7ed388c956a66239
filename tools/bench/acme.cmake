# signet-bench-acme: ACME orders end to end (issue 20), one EAB account per
# keep-alive TLS connection, http-01 answered by its own HTTP server;
# tools/bench/bench-acme.sh runs it beside signet-bench-est.
add_executable(signet-bench-acme ${CMAKE_CURRENT_LIST_DIR}/bench_acme.c)
target_link_libraries(signet-bench-acme PRIVATE OpenSSL::SSL OpenSSL::Crypto
	Threads::Threads)
