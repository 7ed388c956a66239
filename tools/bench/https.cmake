# signet-bench-est: EST simpleenroll load over keep-alive mutual TLS.
add_executable(signet-bench-est ${CMAKE_CURRENT_LIST_DIR}/bench_est.c)
target_link_libraries(signet-bench-est PRIVATE OpenSSL::SSL OpenSSL::Crypto
	Threads::Threads)
