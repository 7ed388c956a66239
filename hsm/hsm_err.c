/*
 * Error sentences and PKCS#11 return value names.
 */
#include <stddef.h>
#include <string.h>

#include "hsm_local.h"

const char *
hsm_strerror(int rc)
{
	switch (rc) {
	case HSM_OK:
		return "success";
	case HSM_ERR_ARG:
		return "invalid argument";
	case HSM_ERR_NOMEM:
		return "out of memory";
	case HSM_ERR_MODULE:
		return "PKCS#11 module cannot be loaded or initialised";
	case HSM_ERR_NO_TOKEN:
		return "no token matches the configured label, serial or URI";
	case HSM_ERR_PIN:
		return "the token refused the PIN (wrong, locked or expired)";
	case HSM_ERR_DOWN:
		return "the token is down; recovery is under way";
	case HSM_ERR_NO_KEY:
		return "no key matches in the token";
	case HSM_ERR_EXISTS:
		return "a key with that label or id already exists";
	case HSM_ERR_UNSUPPORTED:
		return "the token does not support this key type or mechanism";
	case HSM_ERR_DEVICE:
		return "the token reported an error";
	case HSM_ERR_BUSY:
		return "no token session became free in time";
	case HSM_ERR_PIN_FILE:
		return "PIN file is unreadable, empty, too long or not mode 0600";
	case HSM_ERR_URI:
		return "malformed pkcs11: URI";
	case HSM_ERR_CRYPTO:
		return "OpenSSL operation failed";
	case HSM_ERR_FAILED:
		return "the token failed permanently (PIN refused on re-login)";
	case HSM_ERR_TOKEN_FILES:
		return "a SoftHSM token file is damaged and has no good copy";
	default:
		return "unknown hsm error";
	}
}

const char *
hsm_state_name(enum hsm_state st)
{
	switch (st) {
	case HSM_STATE_UP:
		return "up";
	case HSM_STATE_DOWN:
		return "down";
	case HSM_STATE_FAILED:
		return "failed";
	}
	return "unknown";
}

struct ckr_name {
	CK_RV rv;
	const char *name;
};

static const struct ckr_name ckr_names[] = {
	{ CKR_OK, "CKR_OK" },
	{ CKR_HOST_MEMORY, "CKR_HOST_MEMORY" },
	{ CKR_SLOT_ID_INVALID, "CKR_SLOT_ID_INVALID" },
	{ CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR" },
	{ CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED" },
	{ CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD" },
	{ CKR_ATTRIBUTE_SENSITIVE, "CKR_ATTRIBUTE_SENSITIVE" },
	{ CKR_ATTRIBUTE_TYPE_INVALID, "CKR_ATTRIBUTE_TYPE_INVALID" },
	{ CKR_ATTRIBUTE_VALUE_INVALID, "CKR_ATTRIBUTE_VALUE_INVALID" },
	{ CKR_DATA_LEN_RANGE, "CKR_DATA_LEN_RANGE" },
	{ CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR" },
	{ CKR_DEVICE_MEMORY, "CKR_DEVICE_MEMORY" },
	{ CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED" },
	{ CKR_KEY_HANDLE_INVALID, "CKR_KEY_HANDLE_INVALID" },
	{ CKR_KEY_TYPE_INCONSISTENT, "CKR_KEY_TYPE_INCONSISTENT" },
	{ CKR_KEY_FUNCTION_NOT_PERMITTED, "CKR_KEY_FUNCTION_NOT_PERMITTED" },
	{ CKR_KEY_UNEXTRACTABLE, "CKR_KEY_UNEXTRACTABLE" },
	{ CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID" },
	{ CKR_MECHANISM_PARAM_INVALID, "CKR_MECHANISM_PARAM_INVALID" },
	{ CKR_OBJECT_HANDLE_INVALID, "CKR_OBJECT_HANDLE_INVALID" },
	{ CKR_OPERATION_ACTIVE, "CKR_OPERATION_ACTIVE" },
	{ CKR_OPERATION_NOT_INITIALIZED, "CKR_OPERATION_NOT_INITIALIZED" },
	{ CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT" },
	{ CKR_PIN_INVALID, "CKR_PIN_INVALID" },
	{ CKR_PIN_LEN_RANGE, "CKR_PIN_LEN_RANGE" },
	{ CKR_PIN_EXPIRED, "CKR_PIN_EXPIRED" },
	{ CKR_PIN_LOCKED, "CKR_PIN_LOCKED" },
	{ CKR_SESSION_CLOSED, "CKR_SESSION_CLOSED" },
	{ CKR_SESSION_COUNT, "CKR_SESSION_COUNT" },
	{ CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID" },
	{ CKR_SESSION_READ_ONLY, "CKR_SESSION_READ_ONLY" },
	{ CKR_TEMPLATE_INCOMPLETE, "CKR_TEMPLATE_INCOMPLETE" },
	{ CKR_TEMPLATE_INCONSISTENT, "CKR_TEMPLATE_INCONSISTENT" },
	{ CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT" },
	{ CKR_TOKEN_NOT_RECOGNIZED, "CKR_TOKEN_NOT_RECOGNIZED" },
	{ CKR_USER_ALREADY_LOGGED_IN, "CKR_USER_ALREADY_LOGGED_IN" },
	{ CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN" },
	{ CKR_USER_PIN_NOT_INITIALIZED, "CKR_USER_PIN_NOT_INITIALIZED" },
	{ CKR_USER_TYPE_INVALID, "CKR_USER_TYPE_INVALID" },
	{ CKR_WRAPPED_KEY_INVALID, "CKR_WRAPPED_KEY_INVALID" },
	{ CKR_WRAPPING_KEY_HANDLE_INVALID, "CKR_WRAPPING_KEY_HANDLE_INVALID" },
	{ CKR_BUFFER_TOO_SMALL, "CKR_BUFFER_TOO_SMALL" },
	{ CKR_CRYPTOKI_NOT_INITIALIZED, "CKR_CRYPTOKI_NOT_INITIALIZED" },
	{ CKR_CRYPTOKI_ALREADY_INITIALIZED, "CKR_CRYPTOKI_ALREADY_INITIALIZED" },
	{ CKR_FUNCTION_NOT_SUPPORTED, "CKR_FUNCTION_NOT_SUPPORTED" },
};

const char *
hsm_ckr_name(unsigned long ckr)
{
	size_t i;

	for (i = 0; i < sizeof(ckr_names) / sizeof(ckr_names[0]); i++)
		if (ckr_names[i].rv == ckr)
			return ckr_names[i].name;
	return "CKR_(other)";
}

static const struct {
	enum hsm_key_type type;
	const char *name;
} key_type_names[] = {
	{ HSM_KEY_EC_P256, "p256" },
	{ HSM_KEY_EC_P384, "p384" },
	{ HSM_KEY_RSA_2048, "rsa2048" },
	{ HSM_KEY_RSA_3072, "rsa3072" },
	{ HSM_KEY_RSA_4096, "rsa4096" },
	{ HSM_KEY_ED25519, "ed25519" },
	{ HSM_KEY_AES_256, "aes256" },
	{ HSM_KEY_HMAC_SHA256, "hmac-sha256" },
};

const char *
hsm_key_type_name(enum hsm_key_type type)
{
	size_t i;

	for (i = 0; i < sizeof(key_type_names) / sizeof(key_type_names[0]); i++)
		if (key_type_names[i].type == type)
			return key_type_names[i].name;
	return "unknown";
}

enum hsm_key_type
hsm_key_type_from_name(const char *name)
{
	size_t i;

	if (name == NULL)
		return HSM_KEY_NONE;
	for (i = 0; i < sizeof(key_type_names) / sizeof(key_type_names[0]); i++)
		if (strcmp(key_type_names[i].name, name) == 0)
			return key_type_names[i].type;
	return HSM_KEY_NONE;
}
