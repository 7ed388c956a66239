# External libraries, all from Debian 12 (and bookworm-backports for libp11).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(OpenSSL 3.0 REQUIRED)

# PKCS#11 header only: p11-kit ships the standard pkcs11.h.
pkg_check_modules(P11KIT REQUIRED p11-kit-1)
add_library(signet_pkcs11_headers INTERFACE)
target_include_directories(signet_pkcs11_headers SYSTEM INTERFACE ${P11KIT_INCLUDE_DIRS})

pkg_check_modules(CMOCKA IMPORTED_TARGET cmocka)
pkg_check_modules(SQLITE3 IMPORTED_TARGET sqlite3)
pkg_check_modules(LIBEVENT IMPORTED_TARGET libevent libevent_openssl libevent_pthreads)
pkg_check_modules(LIBSECCOMP IMPORTED_TARGET libseccomp)
pkg_check_modules(LIBCOAP IMPORTED_TARGET libcoap-3-openssl)
pkg_check_modules(LIBPQ IMPORTED_TARGET libpq)
# signet-validator's DNS (ACME dns-01): libc-ares-dev.
pkg_check_modules(LIBCARES REQUIRED IMPORTED_TARGET libcares)

find_program(SOFTHSM2_UTIL softhsm2-util)
find_library(SOFTHSM2_MODULE NAMES softhsm2 libsofthsm2.so
	PATHS /usr/lib/softhsm /usr/lib/x86_64-linux-gnu/softhsm PATH_SUFFIXES softhsm)
find_program(PKCS11_TOOL pkcs11-tool)
