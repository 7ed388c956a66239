/*
 * Platform hooks of the Signet device client.  Everything the library needs
 * from the system goes through one struct sdev_port, so that moving the
 * client to an RTOS means writing these functions and nothing else.
 * sdev_port_posix.c is the POSIX implementation.
 *
 * Every hook receives the port's ctx.  Hooks return SDEV_OK (0) or a
 * negative SDEV_E_* code (see sdev.h); they never exit.
 */
#ifndef SIGNET_SDEV_PORT_H
#define SIGNET_SDEV_PORT_H

#include <stddef.h>
#include <stdint.h>

/* What the key store holds, one blob each, PEM text. */
enum sdev_item {
	SDEV_ITEM_KEY = 0,	/* the device private key; secret */
	SDEV_ITEM_CERT,		/* the device certificate */
	SDEV_ITEM_CHAIN,	/* the CA certificates above it */
	SDEV_ITEM_CA,		/* the pinned trust anchor (appliance root) */
	SDEV_ITEM_COUNT
};

/* Transports the protocols need. */
enum sdev_net {
	SDEV_NET_UDP = 0,	/* DTLS for EST-coaps */
	SDEV_NET_TCP		/* TLS for EST over HTTPS */
};

struct sdev_conn;

struct sdev_port {
	void	*ctx;

	/*
	 * Randomness: fill buf with len bytes from a cryptographically strong
	 * entropy source.  It seeds the library's DRBG; it is called rarely.
	 */
	int	(*random)(void *ctx, uint8_t *buf, size_t len);

	/*
	 * Key storage.  load copies the item into buf (size bytes) and sets
	 * *len; SDEV_E_NOTFOUND when it does not exist.  store replaces the
	 * item atomically (a reader sees the old or the new blob, never a
	 * mix); SDEV_ITEM_KEY must be readable by the device owner only.
	 */
	int	(*load)(void *ctx, enum sdev_item item, uint8_t *buf,
		    size_t size, size_t *len);
	int	(*store)(void *ctx, enum sdev_item item, const uint8_t *buf,
		    size_t len);

	/*
	 * Clock: wall-clock seconds since 1970 (certificate validity and
	 * renewal) and a monotonic millisecond counter (timeouts).
	 */
	int64_t	(*now)(void *ctx);
	uint64_t (*ms)(void *ctx);

	/*
	 * Transport.  connect opens a UDP association or a TCP connection to
	 * host:port and sets *conn.  send writes the whole buffer (one
	 * datagram for UDP).  recv waits at most timeout_ms and returns the
	 * number of bytes read (one datagram for UDP), 0 for end of stream
	 * (TCP), SDEV_E_TIMEOUT when nothing arrived.  close frees conn.
	 */
	int	(*connect)(void *ctx, enum sdev_net kind, const char *host,
		    const char *port, struct sdev_conn **conn);
	int	(*send)(struct sdev_conn *conn, const uint8_t *buf, size_t len);
	int	(*recv)(struct sdev_conn *conn, uint8_t *buf, size_t size,
		    uint32_t timeout_ms);
	void	(*close)(struct sdev_conn *conn);
};

/*
 * The POSIX port: getrandom(2), files in one directory (key.pem created
 * mode 0600 with O_EXCL under a temporary name, fsync'ed and renamed over
 * the old one; cert.pem, chain.pem, ca.pem), clock_gettime(2), and BSD
 * sockets.  state is caller memory that must outlive the port; dir is
 * copied.  Returns SDEV_E_ARG when dir is too long.
 */
struct sdev_posix {
	char	dir[512];
};

int	sdev_port_posix(struct sdev_port *port, struct sdev_posix *state,
	    const char *dir);

/* The file name the POSIX port uses for an item (for messages). */
const char *sdev_port_posix_name(enum sdev_item item);

#endif /* SIGNET_SDEV_PORT_H */
