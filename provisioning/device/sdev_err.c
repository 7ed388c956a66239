/* Error strings of the device client. */
#include "signet/sdev.h"

const char *
sdev_strerror(int err)
{
	switch (err) {
	case SDEV_OK:
		return "success";
	case SDEV_E_ARG:
		return "invalid argument";
	case SDEV_E_NOMEM:
		return "out of memory";
	case SDEV_E_NOTFOUND:
		return "not found";
	case SDEV_E_IO:
		return "key storage failed";
	case SDEV_E_NET:
		return "network error";
	case SDEV_E_TIMEOUT:
		return "timed out";
	case SDEV_E_TLS:
		return "TLS/DTLS failure";
	case SDEV_E_PROTO:
		return "malformed answer";
	case SDEV_E_TOOBIG:
		return "over a size limit";
	case SDEV_E_CRYPTO:
		return "cryptographic operation failed";
	case SDEV_E_REFUSED:
		return "refused by the server";
	case SDEV_E_SERVER:
		return "server error";
	case SDEV_E_VERIFY:
		return "verification failed";
	case SDEV_E_AUTH:
		return "authentication failed";
	default:
		return "unknown error";
	}
}

int
sdev_err_is_refusal(int err)
{
	return err == SDEV_E_REFUSED || err == SDEV_E_VERIFY ||
	    err == SDEV_E_AUTH;
}
