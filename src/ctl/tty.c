/* SPDX-License-Identifier: ISC */
/*
 * Secrets typed at a terminal: a prompt on stderr, echo off while they are
 * read, and the terminal restored even when a signal ends the program in
 * the middle.  From a pipe or file the whole of stdin is read.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "common.h"
#include "ctl.h"

static struct termios		 saved_tio;
static volatile sig_atomic_t	 tio_saved;

static void
restore_tty(int sig)
{
	if (tio_saved)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
	signal(sig, SIG_DFL);
	raise(sig);
}

long
ctl_read_secret(const char *prompt, unsigned char *buf, size_t cap,
    int (*done)(const unsigned char *, size_t))
{
	struct sigaction	 sa, oint, oterm, ohup;
	struct termios		 t;
	size_t			 len = 0;
	ssize_t			 r;
	int			 tty = isatty(STDIN_FILENO), echo_off = 0;
	long			 rc = -1;

	if (tty) {
		fputs(prompt, stderr);
		fflush(stderr);
		if (tcgetattr(STDIN_FILENO, &saved_tio) == 0) {
			memset(&sa, 0, sizeof(sa));
			sa.sa_handler = restore_tty;
			sigemptyset(&sa.sa_mask);
			sigaction(SIGINT, &sa, &oint);
			sigaction(SIGTERM, &sa, &oterm);
			sigaction(SIGHUP, &sa, &ohup);
			tio_saved = 1;
			t = saved_tio;
			t.c_lflag &= ~(tcflag_t)ECHO;
			echo_off = tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) == 0;
		}
	}
	while (len < cap) {
		r = read(STDIN_FILENO, buf + len, cap - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			ctl_warn("reading stdin: %s", strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (tty && done(buf, len))
			break;
	}
	rc = (long)len;
out:
	if (echo_off) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
		fputc('\n', stderr);
	}
	if (tio_saved) {
		tio_saved = 0;
		sigaction(SIGINT, &oint, NULL);
		sigaction(SIGTERM, &oterm, NULL);
		sigaction(SIGHUP, &ohup, NULL);
	}
	return rc;
}

int
ctl_line_done(const unsigned char *buf, size_t len)
{
	return len > 0 && buf[len - 1] == '\n';
}
