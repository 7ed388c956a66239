# signet-bench-issue: in-process issuance throughput (firmware/ca + hsm).
add_executable(signet-bench-issue ${CMAKE_CURRENT_LIST_DIR}/bench_issue.c)
target_link_libraries(signet-bench-issue PRIVATE signet_ca signet_hsm
	OpenSSL::Crypto Threads::Threads)
