/* signet_log's internals: a bounded buffer that never overflows. */
#ifndef SIGNET_LOG_LOCAL_H
#define SIGNET_LOG_LOCAL_H

#include <stddef.h>

struct log_buf {
	char	*p;
	size_t	 len;
	size_t	 cap;	/* bytes that may be used */
	int	 cut;	/* something did not fit: nothing more is added */
};

void	log_buf_put(struct log_buf *b, const char *s, size_t n);
void	log_buf_esc(struct log_buf *b, const char *s, int quote);

#endif
