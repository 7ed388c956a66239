# signet-bench-coap: fresh DTLS handshakes plus one request each, many
# sessions in one process (issue 17), with libcoap's OpenSSL client.
if(LIBCOAP_FOUND)
	add_executable(signet-bench-coap ${CMAKE_CURRENT_LIST_DIR}/bench_coap.c)
	target_link_libraries(signet-bench-coap PRIVATE PkgConfig::LIBCOAP)
endif()
