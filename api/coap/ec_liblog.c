/*
 * signet-coap's log: signet_log on stderr (signetd collects its children's
 * stderr), with libcoap's own messages routed through it so that they
 * share the format, one write per line and the escaping of control bytes.
 */
#include <string.h>
#include <syslog.h>

#include "ec_local.h"

static void
ec_libcoap_log(coap_log_t level, const char *message)
{
	char text[LOG_QUOTE_MAX];
	size_t n;

	/* Below a warning only in debug mode, whatever libcoap lets by. */
	if ((int)level > LOG_WARNING && !log_getverbose())
		return;
	/* libcoap ends its messages with a newline; a line has one already. */
	n = strlen(message);
	if (n > 0 && message[n - 1] == '\n')
		n--;
	if (n >= sizeof(text))
		n = sizeof(text) - 1;
	memcpy(text, message, n);
	text[n] = '\0';
	log_pri((int)level, "msg=\"libcoap\" text=%s", log_quote(text));
}

void
ec_liblog_init(int debug)
{
	log_init("signet-coap", LOG_TO_STDERR, debug);
	coap_set_log_handler(ec_libcoap_log);
	coap_set_log_level(debug ? LOG_DEBUG : LOG_WARNING);
	coap_dtls_set_log_level(debug ? LOG_INFO : LOG_ERR);
}
