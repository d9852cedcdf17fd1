/* SPDX-License-Identifier: ISC */
/*
 * The inventory collection: inventory.sh (as inv_script) run over one SSH
 * channel, every wait bounded by the host's deadline, the step timeout and
 * the slot's stop flag, every byte the target sends by a budget.
 * invparse.c reads what comes back, invjson.c encodes it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libssh/libssh.h>
#include <sodium.h>

#include "sched.h"

#define READ_CHUNK	65536	/* libssh opens its window by what we ask */
#define WRITE_CHUNK	32768
#define WAIT_MS		1000	/* longest single wait: stops are noticed */
#define SEND_WAIT_MS	50	/* while the script waits for window */

/* One run of the script: what was sent, read and thrown away. */
struct run {
	const struct inv_limits	*lim;
	struct inventory	*inv;
	ssh_session		 ssh;
	ssh_channel		 ch;
	const char		*script;
	size_t			 slen, sent;
	char			*buf;
	size_t			 len, cap;
	size_t			 errbytes;
	double			 idle_until;
	int			 eof_sent;
};

static int
run_fail(struct run *r, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
run_fail(struct run *r, int rc, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(r->inv->why, sizeof(r->inv->why), fmt, ap);
	va_end(ap);
	return rc;
}

/* What the run is doing, for the messages. */
static void
doing(const struct run *r, char *out, size_t size)
{
	if (r->sent < r->slen)
		snprintf(out, size, "sending the inventory script (%zu of %zu "
		    "bytes accepted)", r->sent, r->slen);
	else
		snprintf(out, size, "reading the inventory output (%zu bytes "
		    "so far)", r->len);
}

/* The stop flag, the host deadline, then the step timeout. */
static int
check(struct run *r)
{
	char	 what[128];
	int	 rc = INV_OK;

	doing(r, what, sizeof(what));
	if (inv_interrupted(r->lim, r->inv, what, &rc))
		return rc;
	if (r->lim->step_timeout > 0 && inv_mono() >= r->idle_until)
		return run_fail(r, INV_TIMEOUT, "no progress for %d s "
		    "(step_timeout) while %s", r->lim->step_timeout, what);
	return INV_OK;
}

/* Seconds any single libssh call may block from now. */
static double
left(const struct run *r)
{
	double	 t = inv_mono(), l = r->lim->deadline - t;

	if (r->lim->step_timeout > 0 && r->idle_until - t < l)
		l = r->idle_until - t;
	return l;
}

static void
progress(struct run *r)
{
	r->idle_until = inv_mono() + r->lim->step_timeout;
}

/*
 * Writes only what the channel window allows, so no write waits for a
 * window the server may grant a byte at a time; the loop in
 * inventory_collect does the waiting, with the clock in view.
 */
static int
send_some(struct run *r)
{
	uint32_t	 w;
	size_t		 n;
	int		 k;

	if (r->sent == r->slen) {
		if (!r->eof_sent) {
			scan_set_timeout(r->ssh, left(r));
			if (ssh_channel_send_eof(r->ch) != SSH_OK)
				return -1;
			r->eof_sent = 1;
		}
		return 0;
	}
	if ((w = ssh_channel_window_size(r->ch)) == 0)
		return 0;
	n = r->slen - r->sent;
	if (n > w)
		n = w;
	if (n > WRITE_CHUNK)
		n = WRITE_CHUNK;
	scan_set_timeout(r->ssh, left(r));
	if ((k = ssh_channel_write(r->ch, r->script + r->sent, (uint32_t)n)) <
	    0)
		return -1;
	if (k > 0) {
		r->sent += (size_t)k;
		progress(r);
	}
	return 0;
}

/* Up to READ_CHUNK bytes of stdout within ms; the output is bounded. */
static int
read_some(struct run *r, int ms, int *n)
{
	size_t	 want;

	if (r->len == r->cap) {
		size_t	 ncap = r->cap * 2;

		if (ncap > HS_INV_MAX_OUTPUT + 1)
			ncap = HS_INV_MAX_OUTPUT + 1;
		if (inv_mem_take(r->inv, ncap - r->cap) == -1)
			return run_fail(r, INV_BOUND, "inventory over "
			    "scan_max_bytes (%zu bytes) while reading the "
			    "output", r->inv->mem_max);
		if ((r->buf = realloc(r->buf, ncap)) == NULL)
			abort();
		r->cap = ncap;
	}
	want = r->cap - r->len;
	if (want > READ_CHUNK)
		want = READ_CHUNK;
	*n = ssh_channel_read_timeout(r->ch, r->buf + r->len, (uint32_t)want,
	    0, ms);
	if (*n > 0) {
		r->len += (size_t)*n;
		progress(r);
		if (r->len > HS_INV_MAX_OUTPUT)
			return run_fail(r, INV_BOUND, "inventory over the "
			    "bound of %ld bytes of output", HS_INV_MAX_OUTPUT);
	}
	return INV_OK;
}

/*
 * The script sends its own stderr to /dev/null; what still comes (a
 * login shell's noise) is read and dropped, up to a budget.
 */
static int
drain_stderr(struct run *r)
{
	char	 junk[4096];
	int	 n;

	while ((n = ssh_channel_read_nonblocking(r->ch, junk, sizeof(junk),
	    1)) > 0) {
		r->errbytes += (size_t)n;
		if (r->errbytes > HS_INV_MAX_STDERR)
			return run_fail(r, INV_BOUND, "inventory over the "
			    "bound of %ld bytes on stderr", HS_INV_MAX_STDERR);
	}
	return INV_OK;
}

/* Writes the script and reads the output until EOF; an enum inv_rc. */
static int
run_script(struct run *r, struct hsd_result *res)
{
	int	 rc, n;

	for (;;) {
		double	 l;
		int	 ms;

		if ((rc = check(r)) != INV_OK)
			return rc;
		if (send_some(r) == -1) {
			if ((rc = check(r)) != INV_OK)
				return rc;
			result_log(res, "error", "inventory", "cannot send the "
			    "inventory script: %s", ssh_get_error(r->ssh));
			return INV_NO_SHELL;
		}
		l = left(r);
		ms = r->sent < r->slen ? SEND_WAIT_MS : WAIT_MS;
		if (l * 1000 < ms)
			ms = l > 0 ? (int)(l * 1000) + 1 : 1;
		if ((rc = read_some(r, ms, &n)) != INV_OK ||
		    (rc = drain_stderr(r)) != INV_OK)
			return rc;
		if (n == SSH_ERROR) {
			/* Shut down from outside: say why, not how. */
			if ((rc = check(r)) != INV_OK)
				return rc;
			result_log(res, "error", "inventory", "channel error: "
			    "%s", ssh_get_error(r->ssh));
			return INV_OK;
		}
		if (n == 0 && ssh_channel_is_eof(r->ch))
			return INV_OK;
	}
}

static void
log_notes(const struct inventory *inv, struct hsd_result *res)
{
	size_t	 i;

	for (i = 0; i < inv->nnotes; i++)
		result_log(res, inv->notes[i].level, "inventory", "%s",
		    inv->notes[i].msg);
}

int
inventory_collect(ssh_session ssh, const struct inv_limits *lim,
    struct inventory *inv, struct hsd_result *res)
{
	struct run	 r;
	char		*script = NULL, marker[48];
	unsigned char	 nonce[12];
	int		 rc = INV_NO_SHELL, status;

	memset(&r, 0, sizeof(r));
	r.lim = lim;
	r.inv = inv;
	r.ssh = ssh;
	randombytes_buf(nonce, sizeof(nonce));
	memcpy(marker, "@@hs-", 5);
	sodium_bin2hex(marker + 5, sizeof(marker) - 5, nonce, sizeof(nonce));
	r.slen = strlen(inv_script) + 128;
	script = hs_xmalloc(r.slen);
	/*
	 * One compound command: the shell reads all of it before running
	 * any, so no command can eat the rest of the script from stdin
	 * (bash reads a piped script byte by byte).
	 */
	snprintf(script, r.slen, "M=%s\nTMO=%d\n{\n%s} </dev/null\n", marker,
	    lim->step_timeout, inv_script);
	r.script = script;
	r.slen = strlen(script);
	r.cap = READ_CHUNK;
	if (inv_mem_take(inv, r.cap) == -1) {
		rc = run_fail(&r, INV_BOUND, "inventory over scan_max_bytes "
		    "(%zu bytes) before the output", inv->mem_max);
		goto out;
	}
	r.buf = hs_xmalloc(r.cap);

	progress(&r);
	scan_set_timeout(ssh, left(&r));
	if ((r.ch = ssh_channel_new(ssh)) == NULL ||
	    ssh_channel_open_session(r.ch) != SSH_OK ||
	    ssh_channel_request_exec(r.ch, "sh -s") != SSH_OK) {
		if ((rc = check(&r)) == INV_OK) {
			result_log(res, "error", "inventory", "cannot start a "
			    "command: %s", ssh_get_error(ssh));
			rc = INV_NO_SHELL;
		}
		goto out;
	}
	if ((rc = run_script(&r, res)) != INV_OK)
		goto out;
	/* A server may never send the status: wait a second at most. */
	scan_set_timeout(ssh, left(&r) < 1 ? left(&r) : 1);
	status = ssh_channel_get_exit_status(r.ch);
	if (status > 0)
		result_log(res, "info", "inventory", "inventory shell exited "
		    "with status %d", status);
	rc = inventory_parse(r.buf, r.len, marker, lim, inv);
	free(r.buf);
	r.buf = NULL;
	inv_mem_give(inv, r.cap);
	log_notes(inv, res);
	if (rc == INV_NO_SHELL)
		result_log(res, "error", "inventory", "the account could not "
		    "run sh (no shell, forced command or restricted login)");
	if (rc == INV_OK)
		rc = inventory_encode(inv, lim);
out:
	if (r.ch != NULL) {
		scan_set_timeout(ssh, left(&r) < 1 ? left(&r) : 1);
		ssh_channel_close(r.ch);
		ssh_channel_free(r.ch);
	}
	if (r.buf != NULL) {
		free(r.buf);
		inv_mem_give(inv, r.cap);
	}
	free(script);
	return rc;
}
