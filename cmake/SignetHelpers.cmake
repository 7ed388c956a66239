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
