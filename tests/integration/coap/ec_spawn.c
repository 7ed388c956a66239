/*
 * ec_spawn: run signet-coap (or anything) with an engine channel whose
 * other end is held open but never answered, as when the engine is not
 * running yet.  Every "@EFD@" argument is replaced by the channel's
 * descriptor.  Exits with the child's status; SIGTERM is passed on.
 *
 * Usage: ec_spawn program args...
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t child;

static void
forward(int sig)
{
	if (child > 0)
		kill(child, sig);
}

int
main(int argc, char *argv[])
{
	char efd[16];
	int sp[2], i, status = 0;
	pid_t pid;

	if (argc < 2) {
		fprintf(stderr, "usage: ec_spawn program args...\n");
		return 2;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp) == -1) {
		perror("ec_spawn: socketpair");
		return 2;
	}
	snprintf(efd, sizeof(efd), "%d", sp[1]);
	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "@EFD@") == 0)
			argv[i] = efd;
	signal(SIGTERM, forward);
	signal(SIGINT, forward);
	if ((pid = fork()) == -1) {
		perror("ec_spawn: fork");
		return 2;
	}
	if (pid == 0) {
		close(sp[0]);
		execv(argv[1], argv + 1);
		perror("ec_spawn: exec");
		_exit(127);
	}
	child = pid;
	close(sp[1]);
	while (waitpid(pid, &status, 0) == -1)
		;
	close(sp[0]);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}
