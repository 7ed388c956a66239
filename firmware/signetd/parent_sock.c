/*
 * Listening sockets, opened by the parent before any child starts so
 * children never need the privilege to bind.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "parent.h"

static int
split(const char *hostport, char *host, size_t hsz, char *port, size_t psz)
{
	const char *colon = strrchr(hostport, ':');
	size_t hl;

	if (colon == NULL)
		return -1;
	hl = (size_t)(colon - hostport);
	/* "[::1]:8443" */
	if (hl >= 2 && hostport[0] == '[' && hostport[hl - 1] == ']') {
		hostport++;
		hl -= 2;
	}
	if (hl >= hsz || strlen(colon + 1) >= psz)
		return -1;
	memcpy(host, hostport, hl);
	host[hl] = '\0';
	snprintf(port, psz, "%s", colon + 1);
	return 0;
}

static int
listen_on(const char *hostport, int type)
{
	struct addrinfo hints, *res = NULL, *ai;
	char host[256], port[16];
	int fd = -1, on = 1, rc;

	if (split(hostport, host, sizeof(host), port, sizeof(port)) != 0) {
		log_warnx("msg=\"bad listen address\" addr=%s", hostport);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = type;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		log_warnx("msg=\"cannot resolve listen address\" addr=%s "
		    "error=\"%s\"", hostport, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd == -1)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    (type != SOCK_STREAM || listen(fd, 512) == 0))
			break;
		close(fd);
		fd = -1;
	}
	if (fd == -1)
		log_warn("msg=\"cannot listen\" addr=%s", hostport);
	freeaddrinfo(res);
	return fd;
}

int
parent_listen_tcp(const char *hostport)
{
	return listen_on(hostport, SOCK_STREAM);
}

int
parent_listen_udp(const char *hostport)
{
	return listen_on(hostport, SOCK_DGRAM);
}

/*
 * While no front end will serve a TCP listener (the engine or every
 * HTTPS worker failed), connections would complete into the kernel's
 * backlog and hang there.  shutdown() on a listening socket resets the
 * queued ones and refuses new ones (Linux); listen() again reopens it
 * on the same bound address.
 */
void
parent_listen_pause(int fd)
{
	if (fd != -1 && shutdown(fd, SHUT_RDWR) == -1)
		log_warn("msg=\"cannot close a listener\" fd=%d", fd);
}

int
parent_listen_resume(int fd)
{
	if (fd != -1 && listen(fd, 512) == -1) {
		log_warn("msg=\"cannot listen again\" fd=%d", fd);
		return -1;
	}
	return 0;
}
