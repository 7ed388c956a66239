# tools/dev/engine-rename.sed: the engine (firmware/engine) gets its own
# prefix, eng_/ENG_, so that ca_ names only the issuance library in
# firmware/ca (STYLE.md 1; issue 15).  One word-bounded rule per name the
# engine defines (functions, statics, struct/enum tags, enum constants,
# macros, the typedef, include guards, file names); no name that
# firmware/ca defines or declares (struct ca_prepared, ca_issue, ...) is
# here.  Idempotent: nothing it writes starts with ca_/CA_ again, so it can
# be re-run on merged trees.  From the top of a tree, the files first, then
# every line outside firmware/ca:
#
#	for f in firmware/engine/ca_*.[ch]; do [ ! -e "$f" ] || git mv "$f" "${f%/*}/eng_${f##*/ca_}"; done
#	git grep -lIE '\<(ca|CA)_' -- ':!firmware/ca' ':!tools/dev' | xargs sed -i -f tools/dev/engine-rename.sed
#	python3 tools/dev/realign-renamed.py HEAD	# tab columns, before committing
#
# Generated from this tree's names: nm --defined-only of libsignet_engine.a
# and signet-engine's main object, plus the struct/enum/#define/enum
# constants written in firmware/engine, minus every ca_/CA_ word found in
# firmware/ca.  A name (or file) a branch adds to the engine later is not
# here: add its rule before re-running.

# struct ca_der (eng_csrattrs.c) is bare ca_der elsewhere: firmware/ca's
# ca_der.c and a local in tests/unit/https.  Only the tag is the engine's.
s/\<struct ca_der\>/struct eng_der/g

# Include guards and file names without an identifier of their own.
s/\<SIGNET_CA_AUTHFAIL_H\>/SIGNET_ENG_AUTHFAIL_H/g
s/\<SIGNET_CA_ENGINE_LOCAL_H\>/SIGNET_ENG_ENGINE_LOCAL_H/g
s/\<SIGNET_CA_LIMIT_H\>/SIGNET_ENG_LIMIT_H/g
s/\<SIGNET_CA_RT_LOCAL_H\>/SIGNET_ENG_RT_LOCAL_H/g
s/\<ca_admin\.\([ch]\)\>/eng_admin.\1/g
s/\<ca_authfail\.\([ch]\)\>/eng_authfail.\1/g
s/\<ca_csrattrs\.\([ch]\)\>/eng_csrattrs.\1/g
s/\<ca_engine_local\.\([ch]\)\>/eng_engine_local.\1/g
s/\<ca_engine_main\.\([ch]\)\>/eng_engine_main.\1/g
s/\<ca_gate\.\([ch]\)\>/eng_gate.\1/g
s/\<ca_reconcile\.\([ch]\)\>/eng_reconcile.\1/g
s/\<ca_revocation\.\([ch]\)\>/eng_revocation.\1/g
s/\<ca_rt_local\.\([ch]\)\>/eng_rt_local.\1/g
s/\<ca_token\.\([ch]\)\>/eng_token.\1/g

# Identifiers.
s/\<CA_AF_REASON\>/ENG_AF_REASON/g
s/\<CA_AF_SOURCES\>/ENG_AF_SOURCES/g
s/\<CA_AF_TEXT\>/ENG_AF_TEXT/g
s/\<CA_ATTRS_MAX\>/ENG_ATTRS_MAX/g
s/\<CA_AUTH_HANDLER\>/ENG_AUTH_HANDLER/g
s/\<CA_AUTH_IDENT\>/ENG_AUTH_IDENT/g
s/\<CA_AUTH_NONE\>/ENG_AUTH_NONE/g
s/\<CA_DETAIL_MAX\>/ENG_DETAIL_MAX/g
s/\<CA_ENGINE_MAX_PEERS\>/ENG_ENGINE_MAX_PEERS/g
s/\<CA_ENGINE_QUEUE\>/ENG_ENGINE_QUEUE/g
s/\<CA_ENGINE_WORKERS\>/ENG_ENGINE_WORKERS/g
s/\<CA_ID_ACTOR_MAX\>/ENG_ID_ACTOR_MAX/g
s/\<CA_ID_CLIENT\>/ENG_ID_CLIENT/g
s/\<CA_ID_ISSUED\>/ENG_ID_ISSUED/g
s/\<CA_ID_PARENT\>/ENG_ID_PARENT/g
s/\<CA_ID_TOKEN\>/ENG_ID_TOKEN/g
s/\<CA_LIMIT_KEY\>/ENG_LIMIT_KEY/g
s/\<CA_LIMIT_PROBE\>/ENG_LIMIT_PROBE/g
s/\<CA_LIMIT_SLOTS\>/ENG_LIMIT_SLOTS/g
s/\<CA_PSK_HANDLES\>/ENG_PSK_HANDLES/g
s/\<CA_PSK_HANDLE_TTL\>/ENG_PSK_HANDLE_TTL/g
s/\<CA_PSK_LEN\>/ENG_PSK_LEN/g
s/\<CA_PSK_PER_ID\>/ENG_PSK_PER_ID/g
s/\<CA_READERS\>/ENG_READERS/g
s/\<CA_REV_FRESHNESS\>/ENG_REV_FRESHNESS/g
s/\<CA_REV_REFRESH_SIGS\>/ENG_REV_REFRESH_SIGS/g
s/\<CA_SANS_MAX\>/ENG_SANS_MAX/g
s/\<CA_TOKEN_CURRENT\>/ENG_TOKEN_CURRENT/g
s/\<CA_TOKEN_KEY_LABEL\>/ENG_TOKEN_KEY_LABEL/g
s/\<CA_TOKEN_LEGACY\>/ENG_TOKEN_LEGACY/g
s/\<CA_TOKEN_MAX_LIFETIME\>/ENG_TOKEN_MAX_LIFETIME/g
s/\<CA_TOKEN_SECRET_BYTES\>/ENG_TOKEN_SECRET_BYTES/g
s/\<CA_WRITERS\>/ENG_WRITERS/g
s/\<ca_add_peer\>/eng_add_peer/g
s/\<ca_admin_gate\>/eng_admin_gate/g
s/\<ca_admit\>/eng_admit/g
s/\<ca_af_due\>/eng_af_due/g
s/\<ca_af_entry\>/eng_af_entry/g
s/\<ca_af_note\>/eng_af_note/g
s/\<ca_af_summary\>/eng_af_summary/g
s/\<ca_af_table\>/eng_af_table/g
s/\<ca_audit\>/eng_audit/g
s/\<ca_auth\>/eng_auth/g
s/\<ca_bucket\>/eng_bucket/g
s/\<ca_bucket_give\>/eng_bucket_give/g
s/\<ca_bucket_take\>/eng_bucket_take/g
s/\<ca_buckets\>/eng_buckets/g
s/\<ca_csrattrs_der\>/eng_csrattrs_der/g
s/\<ca_der_oid\>/eng_der_oid/g
s/\<ca_der_put\>/eng_der_put/g
s/\<ca_der_tlv\>/eng_der_tlv/g
s/\<ca_dispatch\>/eng_dispatch/g
s/\<ca_dispatch_ident\>/eng_dispatch_ident/g
s/\<ca_drained\>/eng_drained/g
s/\<ca_eku_names\>/eng_eku_names/g
s/\<ca_encode\>/eng_encode/g
s/\<ca_engine\>/eng_engine/g
s/\<ca_engine_config\>/eng_engine_config/g
s/\<ca_engine_drain\>/eng_engine_drain/g
s/\<ca_engine_free\>/eng_engine_free/g
s/\<ca_engine_new\>/eng_engine_new/g
s/\<ca_engine_now\>/eng_engine_now/g
s/\<ca_engine_reconcile\>/eng_engine_reconcile/g
s/\<ca_engine_request\>/eng_engine_request/g
s/\<ca_engine_rt\>/eng_engine_rt/g
s/\<ca_engine_state\>/eng_engine_state/g
s/\<ca_engine_swap\>/eng_engine_swap/g
s/\<ca_engine_tick\>/eng_engine_tick/g
s/\<ca_enroll\>/eng_enroll/g
s/\<ca_enroll_abandon\>/eng_enroll_abandon/g
s/\<ca_enroll_authorizer\>/eng_enroll_authorizer/g
s/\<ca_enroll_commit\>/eng_enroll_commit/g
s/\<ca_enroll_fail\>/eng_enroll_fail/g
s/\<ca_enroll_health\>/eng_enroll_health/g
s/\<ca_enroll_in_cert\>/eng_enroll_in_cert/g
s/\<ca_enroll_listed\>/eng_enroll_listed/g
s/\<ca_enroll_name_text\>/eng_enroll_name_text/g
s/\<ca_enroll_named\>/eng_enroll_named/g
s/\<ca_enroll_names_ok\>/eng_enroll_names_ok/g
s/\<ca_enroll_own_names\>/eng_enroll_own_names/g
s/\<ca_enroll_reply\>/eng_enroll_reply/g
s/\<ca_enroll_request\>/eng_enroll_request/g
s/\<ca_enroll_reserve\>/eng_enroll_reserve/g
s/\<ca_enroll_target\>/eng_enroll_target/g
s/\<ca_fmt\>/eng_fmt/g
s/\<ca_gate_auth_failed\>/eng_gate_auth_failed/g
s/\<ca_gate_auth_ok\>/eng_gate_auth_ok/g
s/\<ca_gate_ocsp\>/eng_gate_ocsp/g
s/\<ca_gate_ocsp_done\>/eng_gate_ocsp_done/g
s/\<ca_gate_rate\>/eng_gate_rate/g
s/\<ca_gate_source\>/eng_gate_source/g
s/\<ca_guard_token_files\>/eng_guard_token_files/g
s/\<ca_h_cacerts\>/eng_h_cacerts/g
s/\<ca_h_crl\>/eng_h_crl/g
s/\<ca_h_csrattrs\>/eng_h_csrattrs/g
s/\<ca_h_get\>/eng_h_get/g
s/\<ca_h_health\>/eng_h_health/g
s/\<ca_h_issue\>/eng_h_issue/g
s/\<ca_h_list\>/eng_h_list/g
s/\<ca_h_ocsp\>/eng_h_ocsp/g
s/\<ca_h_psk\>/eng_h_psk/g
s/\<ca_h_revoke\>/eng_h_revoke/g
s/\<ca_h_token\>/eng_h_token/g
s/\<ca_handler\>/eng_handler/g
s/\<ca_hex\>/eng_hex/g
s/\<ca_id_kind\>/eng_id_kind/g
s/\<ca_ident\>/eng_ident/g
s/\<ca_ident_audit_fail\>/eng_ident_audit_fail/g
s/\<ca_ident_bearer\>/eng_ident_bearer/g
s/\<ca_ident_certs\>/eng_ident_certs/g
s/\<ca_ident_clear\>/eng_ident_clear/g
s/\<ca_ident_client\>/eng_ident_client/g
s/\<ca_ident_derive\>/eng_ident_derive/g
s/\<ca_ident_in_tenant\>/eng_ident_in_tenant/g
s/\<ca_ident_issued\>/eng_ident_issued/g
s/\<ca_ident_parse\>/eng_ident_parse/g
s/\<ca_ident_subject\>/eng_ident_subject/g
s/\<ca_ident_token\>/eng_ident_token/g
s/\<ca_ident_verify\>/eng_ident_verify/g
s/\<ca_job\>/eng_job/g
s/\<ca_key_names\>/eng_key_names/g
s/\<ca_ku_names\>/eng_ku_names/g
s/\<ca_ledger_result\>/eng_ledger_result/g
s/\<ca_limit\>/eng_limit/g
s/\<ca_limit_count\>/eng_limit_count/g
s/\<ca_limit_counters\>/eng_limit_counters/g
s/\<ca_limit_free\>/eng_limit_free/g
s/\<ca_limit_new\>/eng_limit_new/g
s/\<ca_limit_now_ms\>/eng_limit_now_ms/g
s/\<ca_limit_source_key\>/eng_limit_source_key/g
s/\<ca_limit_source_text\>/eng_limit_source_text/g
s/\<ca_main\>/eng_main/g
s/\<ca_main_ctx\>/eng_main_ctx/g
s/\<ca_main_reload\>/eng_main_reload/g
s/\<ca_ocsp_gate\>/eng_ocsp_gate/g
s/\<ca_open_ledger\>/eng_open_ledger/g
s/\<ca_open_token\>/eng_open_token/g
s/\<ca_parse_fd\>/eng_parse_fd/g
s/\<ca_peer\>/eng_peer/g
s/\<ca_peer_drop\>/eng_peer_drop/g
s/\<ca_peer_unref\>/eng_peer_unref/g
s/\<ca_permitted\>/eng_permitted/g
s/\<ca_poll\>/eng_poll/g
s/\<ca_psk\>/eng_psk/g
s/\<ca_psk_claim\>/eng_psk_claim/g
s/\<ca_psk_free\>/eng_psk_free/g
s/\<ca_psk_have_key\>/eng_psk_have_key/g
s/\<ca_psk_new\>/eng_psk_new/g
s/\<ca_psk_slot\>/eng_psk_slot/g
s/\<ca_read_peer\>/eng_read_peer/g
s/\<ca_reconcile_cb\>/eng_reconcile_cb/g
s/\<ca_refresher\>/eng_refresher/g
s/\<ca_reply\>/eng_reply/g
s/\<ca_reply_clear\>/eng_reply_clear/g
s/\<ca_reply_fail\>/eng_reply_fail/g
s/\<ca_rev\>/eng_rev/g
s/\<ca_rev_crl\>/eng_rev_crl/g
s/\<ca_rev_free\>/eng_rev_free/g
s/\<ca_rev_new\>/eng_rev_new/g
s/\<ca_rev_revoked\>/eng_rev_revoked/g
s/\<ca_rev_tick\>/eng_rev_tick/g
s/\<ca_rt\>/eng_rt/g
s/\<ca_rt_build\>/eng_rt_build/g
s/\<ca_rt_der\>/eng_rt_der/g
s/\<ca_rt_flags\>/eng_rt_flags/g
s/\<ca_rt_free\>/eng_rt_free/g
s/\<ca_rt_issuer\>/eng_rt_issuer/g
s/\<ca_rt_issuer_by_cert\>/eng_rt_issuer_by_cert/g
s/\<ca_rt_issuer_of\>/eng_rt_issuer_of/g
s/\<ca_rt_keys\>/eng_rt_keys/g
s/\<ca_rt_lists\>/eng_rt_lists/g
s/\<ca_rt_profile\>/eng_rt_profile/g
s/\<ca_rt_profile_warn\>/eng_rt_profile_warn/g
s/\<ca_rt_read_pem\>/eng_rt_read_pem/g
s/\<ca_rt_ref\>/eng_rt_ref/g
s/\<ca_rt_stores\>/eng_rt_stores/g
s/\<ca_rt_tenant\>/eng_rt_tenant/g
s/\<ca_rt_tenant_build\>/eng_rt_tenant_build/g
s/\<ca_rt_unref\>/eng_rt_unref/g
s/\<ca_rt_url\>/eng_rt_url/g
s/\<ca_rt_usages\>/eng_rt_usages/g
s/\<ca_same\>/eng_same/g
s/\<ca_serial\>/eng_serial/g
s/\<ca_serve\>/eng_serve/g
s/\<ca_serve_opts\>/eng_serve_opts/g
s/\<ca_sha256\>/eng_sha256/g
s/\<ca_signal\>/eng_signal/g
s/\<ca_srv\>/eng_srv/g
s/\<ca_summary\>/eng_summary/g
s/\<ca_target\>/eng_target/g
s/\<ca_token_check\>/eng_token_check/g
s/\<ca_token_derive\>/eng_token_derive/g
s/\<ca_token_matches\>/eng_token_matches/g
s/\<ca_token_names\>/eng_token_names/g
s/\<ca_token_reason\>/eng_token_reason/g
s/\<ca_token_verifier\>/eng_token_verifier/g
s/\<ca_usage\>/eng_usage/g
s/\<ca_worker\>/eng_worker/g
