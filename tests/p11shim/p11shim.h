/*
 * Internal header of the fault-injecting PKCS#11 shim (tests only).
 *
 * The shim is a PKCS#11 module that forwards every call to a real module
 * (SoftHSMv2 by default) and, steered by a control file, answers some calls
 * itself with an error, delays them, or pretends the token was pulled.
 * README.md in this folder describes the control file; this header only
 * connects the three source files.
 */
#ifndef SIGNET_P11SHIM_H
#define SIGNET_P11SHIM_H

#include <p11-kit/pkcs11.h>

/*
 * How token_absent treats a function: GLOBAL calls are forwarded, SLOT
 * calls answer CKR_TOKEN_NOT_PRESENT, SESSION calls CKR_DEVICE_REMOVED.
 * SPECIAL functions have hand-written wrappers that decide for themselves.
 */
#define SHIM_K_GLOBAL	0
#define SHIM_K_SLOT	1
#define SHIM_K_SESSION	2

/*
 * Every PKCS#11 v2.40 function, in CK_FUNCTION_LIST order:
 * X(name, generated-or-special, token_absent kind, (parameters), (arguments)).
 * "gen" wrappers are produced by a macro in p11shim.c; "special" ones are
 * written out there because they do more than forward.  "ends1" (single
 * part, input named pIn/ulInLen) and "endsN" (multi-part) mark calls whose
 * failure ends the session's active operation (PKCS#11 v2.40 5.2): when the
 * shim fakes such a failure it ends the real operation too.
 */
#define SHIM_FUNCTIONS(X) \
X(C_Initialize, special, SHIM_K_GLOBAL, (CK_VOID_PTR pInitArgs), (pInitArgs)) \
X(C_Finalize, special, SHIM_K_GLOBAL, (CK_VOID_PTR pReserved), (pReserved)) \
X(C_GetInfo, gen, SHIM_K_GLOBAL, (CK_INFO_PTR pInfo), (pInfo)) \
X(C_GetFunctionList, special, SHIM_K_GLOBAL, \
    (CK_FUNCTION_LIST_PTR_PTR ppList), (ppList)) \
X(C_GetSlotList, special, SHIM_K_GLOBAL, (CK_BBOOL tokenPresent, \
    CK_SLOT_ID_PTR pSlotList, CK_ULONG_PTR pulCount), \
    (tokenPresent, pSlotList, pulCount)) \
X(C_GetSlotInfo, special, SHIM_K_GLOBAL, \
    (CK_SLOT_ID slotID, CK_SLOT_INFO_PTR pInfo), (slotID, pInfo)) \
X(C_GetTokenInfo, gen, SHIM_K_SLOT, \
    (CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo), (slotID, pInfo)) \
X(C_GetMechanismList, gen, SHIM_K_SLOT, (CK_SLOT_ID slotID, \
    CK_MECHANISM_TYPE_PTR pMechanismList, CK_ULONG_PTR pulCount), \
    (slotID, pMechanismList, pulCount)) \
X(C_GetMechanismInfo, gen, SHIM_K_SLOT, (CK_SLOT_ID slotID, \
    CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR pInfo), \
    (slotID, type, pInfo)) \
X(C_InitToken, gen, SHIM_K_SLOT, (CK_SLOT_ID slotID, CK_UTF8CHAR_PTR pPin, \
    CK_ULONG ulPinLen, CK_UTF8CHAR_PTR pLabel), \
    (slotID, pPin, ulPinLen, pLabel)) \
X(C_InitPIN, gen, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen), (hSession, pPin, ulPinLen)) \
X(C_SetPIN, gen, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_UTF8CHAR_PTR pOldPin, CK_ULONG ulOldLen, CK_UTF8CHAR_PTR pNewPin, \
    CK_ULONG ulNewLen), (hSession, pOldPin, ulOldLen, pNewPin, ulNewLen)) \
X(C_OpenSession, gen, SHIM_K_SLOT, (CK_SLOT_ID slotID, CK_FLAGS flags, \
    CK_VOID_PTR pApplication, CK_NOTIFY Notify, \
    CK_SESSION_HANDLE_PTR phSession), \
    (slotID, flags, pApplication, Notify, phSession)) \
X(C_CloseSession, gen, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession), \
    (hSession)) \
X(C_CloseAllSessions, gen, SHIM_K_GLOBAL, (CK_SLOT_ID slotID), (slotID)) \
X(C_GetSessionInfo, gen, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_SESSION_INFO_PTR pInfo), (hSession, pInfo)) \
X(C_GetOperationState, gen, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_BYTE_PTR pOperationState, CK_ULONG_PTR pulOperationStateLen), \
    (hSession, pOperationState, pulOperationStateLen)) \
X(C_SetOperationState, gen, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_BYTE_PTR pOperationState, CK_ULONG ulOperationStateLen, \
    CK_OBJECT_HANDLE hEncryptionKey, CK_OBJECT_HANDLE hAuthenticationKey), \
    (hSession, pOperationState, ulOperationStateLen, hEncryptionKey, \
    hAuthenticationKey)) \
X(C_Login, gen, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen), \
    (hSession, userType, pPin, ulPinLen)) \
X(C_Logout, gen, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession), (hSession)) \
X(C_CreateObject, gen, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount, \
    CK_OBJECT_HANDLE_PTR phObject), (hSession, pTemplate, ulCount, phObject)) \
X(C_CopyObject, gen, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_OBJECT_HANDLE hObject, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount, \
    CK_OBJECT_HANDLE_PTR phNewObject), \
    (hSession, hObject, pTemplate, ulCount, phNewObject)) \
X(C_DestroyObject, gen, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_OBJECT_HANDLE hObject), (hSession, hObject)) \
X(C_GetObjectSize, gen, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_OBJECT_HANDLE hObject, CK_ULONG_PTR pulSize), \
    (hSession, hObject, pulSize)) \
X(C_GetAttributeValue, gen, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_OBJECT_HANDLE hObject, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount), \
    (hSession, hObject, pTemplate, ulCount)) \
X(C_SetAttributeValue, gen, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_OBJECT_HANDLE hObject, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount), \
    (hSession, hObject, pTemplate, ulCount)) \
X(C_FindObjectsInit, gen, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount), \
    (hSession, pTemplate, ulCount)) \
X(C_FindObjects, gen, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_OBJECT_HANDLE_PTR phObject, CK_ULONG ulMaxObjectCount, \
    CK_ULONG_PTR pulObjectCount), \
    (hSession, phObject, ulMaxObjectCount, pulObjectCount)) \
X(C_FindObjectsFinal, gen, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession), \
    (hSession)) \
X(C_EncryptInit, gen, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey), \
    (hSession, pMechanism, hKey)) \
X(C_Encrypt, ends1, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_BYTE_PTR pIn, CK_ULONG ulInLen, CK_BYTE_PTR pEncryptedData, \
    CK_ULONG_PTR pulEncryptedDataLen), \
    (hSession, pIn, ulInLen, pEncryptedData, pulEncryptedDataLen)) \
X(C_EncryptUpdate, endsN, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_BYTE_PTR pPart, CK_ULONG ulPartLen, CK_BYTE_PTR pEncryptedPart, \
    CK_ULONG_PTR pulEncryptedPartLen), \
    (hSession, pPart, ulPartLen, pEncryptedPart, pulEncryptedPartLen)) \
X(C_EncryptFinal, endsN, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_BYTE_PTR pLastEncryptedPart, CK_ULONG_PTR pulLastEncryptedPartLen), \
    (hSession, pLastEncryptedPart, pulLastEncryptedPartLen)) \
X(C_DecryptInit, gen, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey), \
    (hSession, pMechanism, hKey)) \
X(C_Decrypt, ends1, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_BYTE_PTR pIn, CK_ULONG ulInLen, \
    CK_BYTE_PTR pData, CK_ULONG_PTR pulDataLen), \
    (hSession, pIn, ulInLen, pData, pulDataLen)) \
X(C_DecryptUpdate, endsN, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_BYTE_PTR pEncryptedPart, CK_ULONG ulEncryptedPartLen, \
    CK_BYTE_PTR pPart, CK_ULONG_PTR pulPartLen), \
    (hSession, pEncryptedPart, ulEncryptedPartLen, pPart, pulPartLen)) \
X(C_DecryptFinal, endsN, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_BYTE_PTR pLastPart, CK_ULONG_PTR pulLastPartLen), \
    (hSession, pLastPart, pulLastPartLen)) \
X(C_DigestInit, gen, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_MECHANISM_PTR pMechanism), (hSession, pMechanism)) \
X(C_Digest, ends1, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_BYTE_PTR pIn, CK_ULONG ulInLen, CK_BYTE_PTR pDigest, \
    CK_ULONG_PTR pulDigestLen), \
    (hSession, pIn, ulInLen, pDigest, pulDigestLen)) \
X(C_DigestUpdate, endsN, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_BYTE_PTR pPart, CK_ULONG ulPartLen), (hSession, pPart, ulPartLen)) \
X(C_DigestKey, endsN, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_OBJECT_HANDLE hKey), (hSession, hKey)) \
X(C_DigestFinal, endsN, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_BYTE_PTR pDigest, CK_ULONG_PTR pulDigestLen), \
    (hSession, pDigest, pulDigestLen)) \
X(C_SignInit, gen, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey), \
    (hSession, pMechanism, hKey)) \
X(C_Sign, ends1, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_BYTE_PTR pIn, CK_ULONG ulInLen, CK_BYTE_PTR pSignature, \
    CK_ULONG_PTR pulSignatureLen), \
    (hSession, pIn, ulInLen, pSignature, pulSignatureLen)) \
X(C_SignUpdate, endsN, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_BYTE_PTR pPart, CK_ULONG ulPartLen), (hSession, pPart, ulPartLen)) \
X(C_SignFinal, endsN, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen), \
    (hSession, pSignature, pulSignatureLen)) \
X(C_SignRecoverInit, gen, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey), \
    (hSession, pMechanism, hKey)) \
X(C_SignRecover, ends1, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_BYTE_PTR pIn, CK_ULONG ulInLen, CK_BYTE_PTR pSignature, \
    CK_ULONG_PTR pulSignatureLen), \
    (hSession, pIn, ulInLen, pSignature, pulSignatureLen)) \
X(C_VerifyInit, gen, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey), \
    (hSession, pMechanism, hKey)) \
X(C_Verify, ends1, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_BYTE_PTR pIn, CK_ULONG ulInLen, CK_BYTE_PTR pSignature, \
    CK_ULONG ulSignatureLen), \
    (hSession, pIn, ulInLen, pSignature, ulSignatureLen)) \
X(C_VerifyUpdate, endsN, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_BYTE_PTR pPart, CK_ULONG ulPartLen), (hSession, pPart, ulPartLen)) \
X(C_VerifyFinal, endsN, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_BYTE_PTR pSignature, CK_ULONG ulSignatureLen), \
    (hSession, pSignature, ulSignatureLen)) \
X(C_VerifyRecoverInit, gen, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey), \
    (hSession, pMechanism, hKey)) \
X(C_VerifyRecover, ends1, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_BYTE_PTR pIn, CK_ULONG ulInLen, CK_BYTE_PTR pData, \
    CK_ULONG_PTR pulDataLen), \
    (hSession, pIn, ulInLen, pData, pulDataLen)) \
X(C_DigestEncryptUpdate, gen, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_BYTE_PTR pPart, CK_ULONG ulPartLen, CK_BYTE_PTR pEncryptedPart, \
    CK_ULONG_PTR pulEncryptedPartLen), \
    (hSession, pPart, ulPartLen, pEncryptedPart, pulEncryptedPartLen)) \
X(C_DecryptDigestUpdate, gen, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_BYTE_PTR pEncryptedPart, CK_ULONG ulEncryptedPartLen, \
    CK_BYTE_PTR pPart, CK_ULONG_PTR pulPartLen), \
    (hSession, pEncryptedPart, ulEncryptedPartLen, pPart, pulPartLen)) \
X(C_SignEncryptUpdate, gen, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_BYTE_PTR pPart, CK_ULONG ulPartLen, CK_BYTE_PTR pEncryptedPart, \
    CK_ULONG_PTR pulEncryptedPartLen), \
    (hSession, pPart, ulPartLen, pEncryptedPart, pulEncryptedPartLen)) \
X(C_DecryptVerifyUpdate, gen, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_BYTE_PTR pEncryptedPart, CK_ULONG ulEncryptedPartLen, \
    CK_BYTE_PTR pPart, CK_ULONG_PTR pulPartLen), \
    (hSession, pEncryptedPart, ulEncryptedPartLen, pPart, pulPartLen)) \
X(C_GenerateKey, gen, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_MECHANISM_PTR pMechanism, CK_ATTRIBUTE_PTR pTemplate, \
    CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phKey), \
    (hSession, pMechanism, pTemplate, ulCount, phKey)) \
X(C_GenerateKeyPair, gen, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_MECHANISM_PTR pMechanism, CK_ATTRIBUTE_PTR pPublicKeyTemplate, \
    CK_ULONG ulPublicKeyAttributeCount, CK_ATTRIBUTE_PTR pPrivateKeyTemplate, \
    CK_ULONG ulPrivateKeyAttributeCount, CK_OBJECT_HANDLE_PTR phPublicKey, \
    CK_OBJECT_HANDLE_PTR phPrivateKey), \
    (hSession, pMechanism, pPublicKeyTemplate, ulPublicKeyAttributeCount, \
    pPrivateKeyTemplate, ulPrivateKeyAttributeCount, phPublicKey, \
    phPrivateKey)) \
X(C_WrapKey, gen, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hWrappingKey, \
    CK_OBJECT_HANDLE hKey, CK_BYTE_PTR pWrappedKey, \
    CK_ULONG_PTR pulWrappedKeyLen), \
    (hSession, pMechanism, hWrappingKey, hKey, pWrappedKey, \
    pulWrappedKeyLen)) \
X(C_UnwrapKey, gen, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hUnwrappingKey, \
    CK_BYTE_PTR pWrappedKey, CK_ULONG ulWrappedKeyLen, \
    CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulAttributeCount, \
    CK_OBJECT_HANDLE_PTR phKey), \
    (hSession, pMechanism, hUnwrappingKey, pWrappedKey, ulWrappedKeyLen, \
    pTemplate, ulAttributeCount, phKey)) \
X(C_DeriveKey, gen, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hBaseKey, \
    CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulAttributeCount, \
    CK_OBJECT_HANDLE_PTR phKey), \
    (hSession, pMechanism, hBaseKey, pTemplate, ulAttributeCount, phKey)) \
X(C_SeedRandom, gen, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_BYTE_PTR pSeed, CK_ULONG ulSeedLen), (hSession, pSeed, ulSeedLen)) \
X(C_GenerateRandom, gen, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession, \
    CK_BYTE_PTR RandomData, CK_ULONG ulRandomLen), \
    (hSession, RandomData, ulRandomLen)) \
X(C_GetFunctionStatus, gen, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession), \
    (hSession)) \
X(C_CancelFunction, gen, SHIM_K_SESSION, (CK_SESSION_HANDLE hSession), \
    (hSession)) \
X(C_WaitForSlotEvent, gen, SHIM_K_GLOBAL, (CK_FLAGS flags, \
    CK_SLOT_ID_PTR pSlot, CK_VOID_PTR pReserved), (flags, pSlot, pReserved))

#define SHIM_ENUM(name, how, kind, params, args) SHIM_FN_##name,
enum shim_fn {
	SHIM_FUNCTIONS(SHIM_ENUM)
	SHIM_FN_COUNT
};
#undef SHIM_ENUM

/* What the control file asks the shim to do with one call. */
struct shim_verdict {
	int		inject;		/* answer rv, do not call the module */
	CK_RV		rv;
	int		absent;		/* token_absent is in force */
	int		close_all;	/* close every real session first */
	unsigned long	delay_ms;	/* sleep this long before anything */
};

/* Names: the function's name, or -1; a CKR_* name or 0x hex code. */
const char	*shim_fn_name(enum shim_fn);
int		 shim_fn_lookup(const char *, size_t);
int		 shim_rv_lookup(const char *, size_t, CK_RV *);

/*
 * Reads env SIGNET_SHIM_CONTROL once, then on each call re-reads the
 * control file if stat() says it changed, and fills the verdict for one
 * call of fn.  close_all is only handed out when can_close is set (the
 * real module is initialised and fn is an ordinary call); otherwise it
 * stays pending.  A malformed control file is fatal: it prints why and
 * aborts, because a typo must not turn a fault test into a pass-through.
 */
void		 shim_ctl_check(enum shim_fn, int, struct shim_verdict *);

/* Prints "signet_p11shim: ..." to stderr; the shim's only output. */
void		 shim_complain(const char *, ...)
		    __attribute__((format(printf, 1, 2)));

#endif
