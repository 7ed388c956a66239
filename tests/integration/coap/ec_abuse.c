/*
 * ec_abuse: hostile UDP traffic for the CoAP front end's robustness test.
 *
 *	ec_abuse junk PORT N		N random datagrams, then N that start
 *					like DTLS 1.2 handshake records
 *	ec_abuse proxy LPORT PORT FILE	relay one client to 127.0.0.1:PORT;
 *					each client datagram is preceded by a
 *					truncated copy and followed by a replay;
 *					the first is saved to FILE; ends after
 *					3 s of silence
 *	ec_abuse flood PORT FILE N	send FILE (a ClientHello) from N fresh
 *					source ports
 *	ec_abuse spoof PORT FILE N S	send FILE from N source addresses
 *					(127.1.0.1 on, as forged ones would
 *					come) evenly over a second, for S
 *					seconds
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in
addr(int port)
{
	struct sockaddr_in a;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static int
junk(int port, int n)
{
	struct sockaddr_in to = addr(port);
	unsigned char buf[1400];
	int s, i, len;
	size_t j;

	if ((s = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
		return 2;
	srandom((unsigned)getpid());
	for (i = 0; i < 2 * n; i++) {
		len = 1 + (int)(random() % (long)sizeof(buf));
		for (j = 0; j < sizeof(buf); j++)
			buf[j] = (unsigned char)random();
		if (i >= n) {
			/* Handshake content type, DTLS 1.2, epoch 0. */
			buf[0] = 22;
			buf[1] = 0xfe;
			buf[2] = 0xfd;
			buf[3] = buf[4] = 0;
			if (len < 13)
				len = 13;
		}
		sendto(s, buf, (size_t)len, 0, (struct sockaddr *)&to,
		    sizeof(to));
	}
	close(s);
	return 0;
}

static int
proxy(int lport, int port, const char *file)
{
	struct sockaddr_in la = addr(lport), sa = addr(port), ca;
	struct pollfd pfd[2];
	unsigned char buf[2048];
	socklen_t calen = sizeof(ca);
	int l, u, saved = 0, have_client = 0;
	ssize_t n;
	FILE *f;

	if ((l = socket(AF_INET, SOCK_DGRAM, 0)) == -1 ||
	    (u = socket(AF_INET, SOCK_DGRAM, 0)) == -1 ||
	    bind(l, (struct sockaddr *)&la, sizeof(la)) == -1 ||
	    connect(u, (struct sockaddr *)&sa, sizeof(sa)) == -1)
		return 2;
	pfd[0].fd = l;
	pfd[1].fd = u;
	pfd[0].events = pfd[1].events = POLLIN;
	while (poll(pfd, 2, 3000) > 0) {
		if (pfd[0].revents & POLLIN) {
			calen = sizeof(ca);
			if ((n = recvfrom(l, buf, sizeof(buf), 0,
			    (struct sockaddr *)&ca, &calen)) <= 0)
				continue;
			have_client = 1;
			if (!saved && (f = fopen(file, "wb")) != NULL) {
				fwrite(buf, 1, (size_t)n, f);
				fclose(f);
				saved = 1;
			}
			send(u, buf, (size_t)n / 2, 0);
			send(u, buf, (size_t)n, 0);
			send(u, buf, (size_t)n, 0);
		}
		if ((pfd[1].revents & POLLIN) && have_client) {
			if ((n = recv(u, buf, sizeof(buf), 0)) > 0)
				sendto(l, buf, (size_t)n, 0,
				    (struct sockaddr *)&ca, calen);
		}
	}
	return saved ? 0 : 1;
}

static int
flood(int port, const char *file, int n)
{
	struct sockaddr_in to = addr(port);
	unsigned char buf[2048];
	size_t len;
	FILE *f;
	int i, s;

	if ((f = fopen(file, "rb")) == NULL)
		return 2;
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	for (i = 0; i < n; i++) {
		if ((s = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
			return 2;
		sendto(s, buf, len, 0, (struct sockaddr *)&to, sizeof(to));
		close(s);
	}
	return 0;
}

static int
spoof(int port, const char *file, int n, int secs)
{
	struct sockaddr_in to = addr(port), from;
	unsigned char buf[2048];
	struct timespec t0, t;
	long long ahead;
	size_t len;
	FILE *f;
	int i, r, s;

	if ((f = fopen(file, "rb")) == NULL)
		return 2;
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (r = 0; r < (secs > 0 ? secs : 1); r++) {
		for (i = 0; i < n; i++) {
			from = addr(0);
			from.sin_addr.s_addr = htonl(0x7f010000u |
			    (uint32_t)(i / 250) << 8 | (uint32_t)(1 + i % 250));
			if ((s = socket(AF_INET, SOCK_DGRAM, 0)) == -1)
				return 2;
			if (bind(s, (struct sockaddr *)&from,
			    sizeof(from)) == 0)
				sendto(s, buf, len, 0, (struct sockaddr *)&to,
				    sizeof(to));
			close(s);
			/* Evenly: datagram i of round r at r + i / n s. */
			clock_gettime(CLOCK_MONOTONIC, &t);
			ahead = (r * 1000000LL + (i + 1) * 1000000LL / n) -
			    ((t.tv_sec - t0.tv_sec) * 1000000LL +
			    (t.tv_nsec - t0.tv_nsec) / 1000);
			if (ahead > 0)
				usleep((useconds_t)ahead);
		}
	}
	return 0;
}

static int
num(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < 0 || v > 65535) {
		fprintf(stderr, "ec_abuse: bad number %s\n", s);
		exit(2);
	}
	return (int)v;
}

int
main(int argc, char *argv[])
{
	if (argc == 4 && strcmp(argv[1], "junk") == 0)
		return junk(num(argv[2]), num(argv[3]));
	if (argc == 5 && strcmp(argv[1], "proxy") == 0)
		return proxy(num(argv[2]), num(argv[3]), argv[4]);
	if (argc == 5 && strcmp(argv[1], "flood") == 0)
		return flood(num(argv[2]), argv[3], num(argv[4]));
	if (argc == 6 && strcmp(argv[1], "spoof") == 0)
		return spoof(num(argv[2]), argv[3], num(argv[4]),
		    num(argv[5]));
	fprintf(stderr, "usage: ec_abuse junk|proxy|flood|spoof ...\n");
	return 2;
}
