/*
 * Name tables of the PKCS#11 shim: function names for the control file's
 * "func" lists and the statistics, and CKR_* names for "fail".
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p11shim.h"

#define SHIM_NAME(name, how, kind, params, args) #name,
static const char *const shim_fn_names[SHIM_FN_COUNT] = {
	SHIM_FUNCTIONS(SHIM_NAME)
};
#undef SHIM_NAME

struct shim_rv_name {
	const char	*name;
	CK_RV		 rv;
};

#define R(x) { #x, x }
static const struct shim_rv_name shim_rv_names[] = {
	R(CKR_OK), R(CKR_CANCEL), R(CKR_HOST_MEMORY), R(CKR_SLOT_ID_INVALID),
	R(CKR_GENERAL_ERROR), R(CKR_FUNCTION_FAILED), R(CKR_ARGUMENTS_BAD),
	R(CKR_NO_EVENT), R(CKR_NEED_TO_CREATE_THREADS), R(CKR_CANT_LOCK),
	R(CKR_ATTRIBUTE_READ_ONLY), R(CKR_ATTRIBUTE_SENSITIVE),
	R(CKR_ATTRIBUTE_TYPE_INVALID), R(CKR_ATTRIBUTE_VALUE_INVALID),
	R(CKR_ACTION_PROHIBITED), R(CKR_DATA_INVALID), R(CKR_DATA_LEN_RANGE),
	R(CKR_DEVICE_ERROR), R(CKR_DEVICE_MEMORY), R(CKR_DEVICE_REMOVED),
	R(CKR_ENCRYPTED_DATA_INVALID), R(CKR_ENCRYPTED_DATA_LEN_RANGE),
	R(CKR_FUNCTION_CANCELED), R(CKR_FUNCTION_NOT_PARALLEL),
	R(CKR_FUNCTION_NOT_SUPPORTED), R(CKR_KEY_HANDLE_INVALID),
	R(CKR_KEY_SIZE_RANGE), R(CKR_KEY_TYPE_INCONSISTENT),
	R(CKR_KEY_NOT_NEEDED), R(CKR_KEY_CHANGED), R(CKR_KEY_NEEDED),
	R(CKR_KEY_INDIGESTIBLE), R(CKR_KEY_FUNCTION_NOT_PERMITTED),
	R(CKR_KEY_NOT_WRAPPABLE), R(CKR_KEY_UNEXTRACTABLE),
	R(CKR_MECHANISM_INVALID), R(CKR_MECHANISM_PARAM_INVALID),
	R(CKR_OBJECT_HANDLE_INVALID), R(CKR_OPERATION_ACTIVE),
	R(CKR_OPERATION_NOT_INITIALIZED), R(CKR_PIN_INCORRECT),
	R(CKR_PIN_INVALID), R(CKR_PIN_LEN_RANGE), R(CKR_PIN_EXPIRED),
	R(CKR_PIN_LOCKED), R(CKR_SESSION_CLOSED), R(CKR_SESSION_COUNT),
	R(CKR_SESSION_HANDLE_INVALID), R(CKR_SESSION_PARALLEL_NOT_SUPPORTED),
	R(CKR_SESSION_READ_ONLY), R(CKR_SESSION_EXISTS),
	R(CKR_SESSION_READ_ONLY_EXISTS), R(CKR_SESSION_READ_WRITE_SO_EXISTS),
	R(CKR_SIGNATURE_INVALID), R(CKR_SIGNATURE_LEN_RANGE),
	R(CKR_TEMPLATE_INCOMPLETE), R(CKR_TEMPLATE_INCONSISTENT),
	R(CKR_TOKEN_NOT_PRESENT), R(CKR_TOKEN_NOT_RECOGNIZED),
	R(CKR_TOKEN_WRITE_PROTECTED), R(CKR_UNWRAPPING_KEY_SIZE_RANGE),
	R(CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT), R(CKR_USER_ALREADY_LOGGED_IN),
	R(CKR_USER_NOT_LOGGED_IN), R(CKR_USER_PIN_NOT_INITIALIZED),
	R(CKR_USER_TYPE_INVALID), R(CKR_USER_ANOTHER_ALREADY_LOGGED_IN),
	R(CKR_USER_TOO_MANY_TYPES), R(CKR_WRAPPED_KEY_INVALID),
	R(CKR_WRAPPED_KEY_LEN_RANGE), R(CKR_WRAPPING_KEY_HANDLE_INVALID),
	R(CKR_WRAPPING_KEY_SIZE_RANGE), R(CKR_WRAPPING_KEY_TYPE_INCONSISTENT),
	R(CKR_RANDOM_SEED_NOT_SUPPORTED), R(CKR_RANDOM_NO_RNG),
	R(CKR_DOMAIN_PARAMS_INVALID), R(CKR_CURVE_NOT_SUPPORTED),
	R(CKR_BUFFER_TOO_SMALL), R(CKR_SAVED_STATE_INVALID),
	R(CKR_INFORMATION_SENSITIVE), R(CKR_STATE_UNSAVEABLE),
	R(CKR_CRYPTOKI_NOT_INITIALIZED), R(CKR_CRYPTOKI_ALREADY_INITIALIZED),
	R(CKR_MUTEX_BAD), R(CKR_MUTEX_NOT_LOCKED), R(CKR_NEW_PIN_MODE),
	R(CKR_NEXT_OTP), R(CKR_EXCEEDED_MAX_ITERATIONS),
	R(CKR_FIPS_SELF_TEST_FAILED), R(CKR_LIBRARY_LOAD_FAILED),
	R(CKR_PIN_TOO_WEAK), R(CKR_PUBLIC_KEY_INVALID), R(CKR_FUNCTION_REJECTED),
};
#undef R

const char *
shim_fn_name(enum shim_fn fn)
{
	if ((int)fn < 0 || fn >= SHIM_FN_COUNT)
		return "?";
	return shim_fn_names[fn];
}

/* Finds a function by its name (not NUL-terminated); -1 if unknown. */
int
shim_fn_lookup(const char *s, size_t len)
{
	int i;

	for (i = 0; i < SHIM_FN_COUNT; i++) {
		if (strlen(shim_fn_names[i]) == len &&
		    memcmp(shim_fn_names[i], s, len) == 0)
			return i;
	}
	return -1;
}

/* Parses a CKR_* name or a 0x hex code; returns 0 on success, -1 if not. */
int
shim_rv_lookup(const char *s, size_t len, CK_RV *rv)
{
	char buf[32];
	char *end;
	unsigned long v;
	size_t i;

	for (i = 0; i < sizeof(shim_rv_names) / sizeof(shim_rv_names[0]); i++) {
		if (strlen(shim_rv_names[i].name) == len &&
		    memcmp(shim_rv_names[i].name, s, len) == 0) {
			*rv = shim_rv_names[i].rv;
			return 0;
		}
	}
	if (len < 3 || len >= sizeof(buf) || s[0] != '0' ||
	    (s[1] != 'x' && s[1] != 'X') || !isxdigit((unsigned char)s[2]))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	v = strtoul(buf + 2, &end, 16);
	if (errno != 0 || *end != '\0' || end == buf + 2)
		return -1;
	*rv = v;
	return 0;
}

void
shim_complain(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("signet_p11shim: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}
