# Adds every immediate sub-folder of the current folder that has a
# CMakeLists.txt, so components can be added without editing their parent.
function(signet_add_subdirs)
	file(GLOB children RELATIVE ${CMAKE_CURRENT_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR}/*)
	list(SORT children)
	foreach(child ${children})
		if(IS_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/${child}
		   AND EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${child}/CMakeLists.txt)
			add_subdirectory(${child})
		endif()
	endforeach()
endfunction()

# signet_unit_test(NAME SOURCES... LIBS ...): a cmocka test under ctest.
function(signet_unit_test name)
	cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
	add_executable(${name} ${T_SOURCES})
	target_link_libraries(${name} PRIVATE ${T_LIBS} PkgConfig::CMOCKA signet_testsupport)
	add_test(NAME ${name} COMMAND ${name})
	if(NOT T_TIMEOUT)
		set(T_TIMEOUT 300)
	endif()
	# Tests that load SoftHSM need slow unwinding so LSan can see that
	# SoftHSM's own leak is in libsofthsm2.so (tests/lsan.supp); the rest
	# keep the fast unwinder, which SQLite-heavy tests need.
	set(asan "detect_leaks=1:abort_on_error=1")
	if(T_LIBS MATCHES "signet_(hsm|ca|engine)")
		set(asan "fast_unwind_on_malloc=0:${asan}")
	endif()
	set_tests_properties(${name} PROPERTIES TIMEOUT ${T_TIMEOUT}
		ENVIRONMENT "ASAN_OPTIONS=${asan};LSAN_OPTIONS=suppressions=${CMAKE_SOURCE_DIR}/tests/lsan.supp:print_suppressions=0;SIGNET_SOFTHSM_MODULE=${SOFTHSM2_MODULE};SIGNET_BUILD_DIR=${CMAKE_BINARY_DIR};SIGNET_SOURCE_DIR=${CMAKE_SOURCE_DIR};SIGNET_SHIM_MODULE=$<TARGET_FILE_DIR:signet_p11shim>/libsignet_p11shim.so"
		LABELS "unit;${T_LABELS}")
endfunction()

# signet_fuzz_target(NAME SOURCES... LIBS ... CORPUS dir): with SIGNET_FUZZ a
# libFuzzer binary; always also a replay binary that runs the seed corpus
# under ctest, so every parser's target is built and exercised in every build.
function(signet_fuzz_target name)
	cmake_parse_arguments(F "" "CORPUS" "SOURCES;LIBS" ${ARGN})
	add_executable(${name}_replay ${F_SOURCES} ${CMAKE_SOURCE_DIR}/tests/fuzz/replay_main.c)
	target_link_libraries(${name}_replay PRIVATE ${F_LIBS})
	if(F_CORPUS)
		add_test(NAME fuzz_replay_${name} COMMAND ${name}_replay ${F_CORPUS})
		set_tests_properties(fuzz_replay_${name} PROPERTIES LABELS fuzz TIMEOUT 120)
	endif()
	if(SIGNET_FUZZ)
		add_executable(${name}_fuzz ${F_SOURCES})
		target_compile_options(${name}_fuzz PRIVATE -fsanitize=fuzzer)
		target_link_options(${name}_fuzz PRIVATE -fsanitize=fuzzer)
		target_link_libraries(${name}_fuzz PRIVATE ${F_LIBS})
		# tools/test.sh seeds each fuzzing run from the target's corpus.
		file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/${name}_fuzz.corpus "${F_CORPUS}")
	endif()
endfunction()

# --- Link boundaries (STYLE.md 2) -------------------------------------------
#
# Trust levels are link boundaries.  What each process must never link, one
# list per process; every check reads these lists and nothing else:
#   - signet_link_boundaries(): at the end of configuration, refuses a
#     forbidden library anywhere in a process's link closure;
#   - signet_link_test(): a ctest test running tools/check-links.sh on the
#     built binary (DT_NEEDED, imported symbols, our own code linked in);
#   - tools/check-hardening.sh, which writes the same rules with
#     cmake -DSIGNET_LINK_RULES_OUT=FILE -P cmake/SignetHelpers.cmake.
# Our own libraries that link only libc (signet_log, firmware/log) are on
# no list: every process may link them.
set(SIGNET_LINK_PROCESSES signetd signet-engine signet-https signet-coap
	signet-validator signet-notify)
set(SIGNET_LINK_FORBID_signetd hsm ledger audit ca engine p11 sqlite3 pq pgutil
	coap)
set(SIGNET_LINK_FORBID_signet-engine coap)
set(SIGNET_LINK_FORBID_signet-https hsm ledger audit ca engine p11 sqlite3 pq
	pgutil)
set(SIGNET_LINK_FORBID_signet-coap hsm ledger audit ca engine p11 sqlite3 pq
	pgutil)
set(SIGNET_LINK_FORBID_signet-validator hsm ledger audit ca engine p11 sqlite3
	pq pgutil coap)
set(SIGNET_LINK_FORBID_signet-notify hsm ledger audit ca engine p11 sqlite3
	pq pgutil coap)

# Each forbidden library: _TARGET matches its name in a link closure (a
# CMake regex over target names and library paths), _NEEDED its DT_NEEDED
# soname and _SYMBOL the names of its functions and data, imported or
# linked in (extended regular expressions, anchored at the start).
set(SIGNET_LINK_hsm_TARGET [[^signet_hsm$]])
set(SIGNET_LINK_hsm_SYMBOL [[hsm_]])
set(SIGNET_LINK_ledger_TARGET [[^signet_ledger$]])
set(SIGNET_LINK_ledger_SYMBOL [[ledger_]])
set(SIGNET_LINK_audit_TARGET [[^signet_audit$]])
set(SIGNET_LINK_audit_SYMBOL [[audit_]])
set(SIGNET_LINK_ca_TARGET [[^signet_ca$]])
set(SIGNET_LINK_ca_SYMBOL [[ca_]])
set(SIGNET_LINK_engine_TARGET [[^signet_engine$]])
set(SIGNET_LINK_engine_SYMBOL [[eng_]])
set(SIGNET_LINK_p11_TARGET [[p11|pkcs11]])
set(SIGNET_LINK_p11_NEEDED [[libp11\.]])
set(SIGNET_LINK_p11_SYMBOL [=[PKCS11_|C_[A-Z]]=])
set(SIGNET_LINK_sqlite3_TARGET [[sqlite3|SQLITE3]])
set(SIGNET_LINK_sqlite3_NEEDED [[libsqlite3\.]])
set(SIGNET_LINK_sqlite3_SYMBOL [[sqlite3_]])
set(SIGNET_LINK_pq_TARGET [[LIBPQ|libpq\.]])
set(SIGNET_LINK_pq_NEEDED [[libpq\.]])
set(SIGNET_LINK_pq_SYMBOL [=[PQ[a-z]]=])
set(SIGNET_LINK_pgutil_TARGET [[^signet_pgutil$]])
set(SIGNET_LINK_pgutil_SYMBOL [[pgu_]])
set(SIGNET_LINK_coap_TARGET [[^signet_coap$|LIBCOAP|libcoap]])
set(SIGNET_LINK_coap_NEEDED [[libcoap-]])
set(SIGNET_LINK_coap_SYMBOL [[coap_]])

# The rules as shell assignments, for tools/check-links.sh.
function(signet_link_rules_write file)
	set(libs "")
	string(CONCAT out
		"# What each process must never link (STYLE.md 2), written by\n"
		"# cmake/SignetHelpers.cmake (signet_link_rules_write): edit the\n"
		"# lists there, not this file.\n")
	foreach(p IN LISTS SIGNET_LINK_PROCESSES)
		string(MAKE_C_IDENTIFIER ${p} v)
		list(JOIN SIGNET_LINK_FORBID_${p} " " forbid)
		string(APPEND out "link_forbid_${v}='${forbid}'\n")
		list(APPEND libs ${SIGNET_LINK_FORBID_${p}})
	endforeach()
	list(REMOVE_DUPLICATES libs)
	foreach(l IN LISTS libs)
		string(APPEND out "link_needed_${l}='${SIGNET_LINK_${l}_NEEDED}'\n"
			"link_symbol_${l}='${SIGNET_LINK_${l}_SYMBOL}'\n")
	endforeach()
	file(WRITE ${file} "${out}")
endfunction()

# Fails configuration if proc links, directly or through any library, one
# of the libraries its list forbids.
function(signet_link_check proc)
	set(seen "")
	set(todo ${proc})
	set(via ${proc})
	while(todo)
		list(POP_FRONT todo t)
		list(POP_FRONT via from)
		if(t IN_LIST seen)
			continue()
		endif()
		list(APPEND seen ${t})
		foreach(l IN LISTS SIGNET_LINK_FORBID_${proc})
			if(t MATCHES "${SIGNET_LINK_${l}_TARGET}")
				message(FATAL_ERROR "${proc} must not link ${t} "
					"(via ${from}): STYLE.md 2, rule \"${l}\" "
					"in cmake/SignetHelpers.cmake")
			endif()
		endforeach()
		if(NOT TARGET ${t})
			continue()
		endif()
		get_target_property(imported ${t} IMPORTED)
		foreach(prop LINK_LIBRARIES INTERFACE_LINK_LIBRARIES)
			if(imported AND prop STREQUAL "LINK_LIBRARIES")
				continue()
			endif()
			get_target_property(deps ${t} ${prop})
			if(NOT deps)
				continue()
			endif()
			foreach(d IN LISTS deps)
				string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1"
					d "${d}")
				list(APPEND todo ${d})
				list(APPEND via ${t})
			endforeach()
		endforeach()
	endwhile()
endfunction()

# Called once, from the top-level CMakeLists.txt: writes the rules file,
# and once every target is known checks each process this build makes and
# (with SIGNET_TESTS) adds its <name>_link_boundary test.
function(signet_link_boundaries)
	set(SIGNET_LINK_RULES ${CMAKE_BINARY_DIR}/signet-link-rules.sh
		CACHE INTERNAL "link rules for tools/check-links.sh")
	signet_link_rules_write(${SIGNET_LINK_RULES})
	cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR}
		CALL _signet_link_boundaries)
endfunction()

function(_signet_link_boundaries)
	foreach(p IN LISTS SIGNET_LINK_PROCESSES)
		if(NOT TARGET ${p})
			continue()
		endif()
		signet_link_check(${p})
		if(SIGNET_TESTS)
			string(REGEX REPLACE "^signet-" "" short ${p})
			signet_link_test(${short}_link_boundary ${p}
				LABELS ${short})
		endif()
	endforeach()
endfunction()

# signet_link_test(NAME PROCESS [LABELS ...]): tools/check-links.sh on the
# built PROCESS under ctest.
function(signet_link_test name proc)
	cmake_parse_arguments(L "" "" "LABELS" ${ARGN})
	add_test(NAME ${name} COMMAND bash
		${CMAKE_SOURCE_DIR}/tools/check-links.sh ${SIGNET_LINK_RULES}
		$<TARGET_FILE:${proc}> ${proc})
	set_tests_properties(${name} PROPERTIES TIMEOUT 60
		LABELS "unit;boundary;${L_LABELS}")
endfunction()

# cmake -DSIGNET_LINK_RULES_OUT=FILE -P cmake/SignetHelpers.cmake writes the
# rules without configuring a tree (tools/check-hardening.sh).
if(CMAKE_SCRIPT_MODE_FILE AND DEFINED SIGNET_LINK_RULES_OUT)
	signet_link_rules_write(${SIGNET_LINK_RULES_OUT})
endif()
