# Hardened, strict flags for every target (STYLE.md item 15).
add_compile_definitions(_GNU_SOURCE)
add_compile_options(
	-Wall -Wextra -Wshadow -Wformat=2 -Wvla -Wstrict-prototypes
	-Wmissing-prototypes -Wno-unused-parameter
	-fstack-protector-strong -fno-strict-overflow -fno-delete-null-pointer-checks
)
if(SIGNET_WERROR)
	add_compile_options(-Werror)
endif()

if(SIGNET_SANITIZE)
	add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
		-fno-sanitize-recover=undefined)
	add_link_options(-fsanitize=address,undefined)
else()
	# _FORTIFY_SOURCE needs optimisation and conflicts with ASan's interceptors.
	add_compile_options($<$<NOT:$<CONFIG:Debug>>:-D_FORTIFY_SOURCE=2>)
endif()

# PIE and full RELRO for every executable.
add_compile_options(-fPIE)
add_link_options(-pie -Wl,-z,relro,-z,now -Wl,-z,noexecstack)

# In a fuzzing build every library gets coverage instrumentation.
if(SIGNET_FUZZ)
	add_compile_options(-fsanitize=fuzzer-no-link)
endif()
