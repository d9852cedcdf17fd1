# shellcheck shell=bash
# SPDX-License-Identifier: ISC
# The service stack, sourced by scripts/lib.sh: start and stop a private
# PostgreSQL cluster, the hostscan.fcgi responder, nginx, the scheduler
# hostscand and the demo SSH targets under one run directory.
#
# Layout of a run directory RUN (var/ for up, a mktemp dir for tests):
#   RUN/pg/            cluster: socket directory (PGHOST), owned by postgres
#   RUN/pg/data/       PGDATA; the server log is RUN/pg/data/postgres.log
#   RUN/keys/          keyring (0644), signing.key and master.key (0600)
#   RUN/sock/          responder socket, hostscan:www-data 0750
#   RUN/nginx/         nginx prefix: rendered config, logs, temp, pid
#   RUN/hostscan.conf  configuration of responder and CLI
#   RUN/*.pid, *.log   pid files and logs of what was started
#
# Every service runs as its own unprivileged user: the cluster as postgres
# (PostgreSQL refuses root), the responder as hostscan, nginx workers as
# www-data.  So the run directory and every directory above it must be
# searchable by those users; hs_check_traversable says so plainly when not.

hs_pg_bindir() {
	local d

	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	[ -n "$d" ] && [ -x "$d/pg_ctl" ] ||
		hs_die "no PostgreSQL server binaries under /usr/lib/postgresql (Debian: postgresql)"
	printf '%s\n' "$d"
}

hs_free_port() {
	perl -MIO::Socket::INET -e '
	    my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1",
		LocalPort => 0, Listen => 1) or die "no free port: $!\n";
	    print $s->sockport, "\n";'
}

hs_port_in_use() {
	perl -MIO::Socket::INET -e '
	    exit(IO::Socket::INET->new(PeerAddr => "127.0.0.1",
		PeerPort => $ARGV[0], Proto => "tcp", Timeout => 1) ? 0 : 1)' "$1"
}

hs_unix_connects() {
	perl -MIO::Socket::UNIX -MSocket=SOCK_STREAM -e '
	    exit(IO::Socket::UNIX->new(Type => SOCK_STREAM,
		Peer => $ARGV[0]) ? 0 : 1)' "$1"
}

# Runs a command as another user without a forking wrapper in between, so
# that $! and the pid files name the service itself.
hs_as() {
	local user=$1
	shift
	if [ "$(id -un)" = "$user" ]; then
		"$@"
	else
		setpriv --reuid="$user" --regid="$user" --init-groups -- "$@"
	fi
}

# Fails with the directory to fix when one of the users cannot reach DIR
# (checked from / downwards, so the message names the real obstacle).
hs_check_traversable() {
	local dir=$1 user d path parts
	shift
	IFS=/ read -r -a parts <<<"$dir"
	for user in "$@"; do
		path=
		for d in "${parts[@]}"; do
			[ -n "$d" ] || continue
			path="$path/$d"
			if ! hs_as "$user" test -x "$path" 2>/dev/null; then
				hs_die "user $user cannot enter $path (needed to reach $dir): run 'chmod o+x $path' or use a checkout/run directory under a world-searchable path"
			fi
		done
	done
}

# pg_start DIR PORT: a private cluster with its UNIX socket in DIR, no TCP.
# HOSTSCAN_PG_FAST=1 trades durability for speed (test runs).
pg_start() {
	local dir=$1 port=$2 bin

	ensure_user
	bin=$(hs_pg_bindir)
	mkdir -p "$dir"
	chown postgres:postgres "$dir"
	chmod 0755 "$dir"
	hs_check_traversable "$dir" postgres "$HS_USER"
	if [ ! -s "$dir/data/PG_VERSION" ]; then
		hs_say "initdb $dir/data"
		hs_as postgres "$bin/initdb" -D "$dir/data" --auth=trust \
			--username=postgres --encoding=UTF8 --no-locale >/dev/null
		{
			echo "# written by scripts/stack.sh pg_start"
			echo "listen_addresses = ''"
			echo "unix_socket_directories = '$dir'"
			echo "unix_socket_permissions = 0777"
			echo "max_connections = 200"
			echo "log_min_messages = warning"
			echo "log_line_prefix = '%m [%p] %u@%d '"
			if [ "${HOSTSCAN_PG_FAST:-0}" = 1 ]; then
				echo "fsync = off"
				echo "synchronous_commit = off"
				echo "full_page_writes = off"
			fi
		} >>"$dir/data/postgresql.conf"
	fi
	# The port only names the socket file; it may change between runs.
	sed -i '/^port = /d' "$dir/data/postgresql.conf"
	echo "port = $port" >>"$dir/data/postgresql.conf"
	if hs_as postgres "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
		hs_say "PostgreSQL already running in $dir/data"
	else
		hs_as postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/data/postgres.log" \
			-w -t 60 start >/dev/null ||
			{ tail -n 20 "$dir/data/postgres.log" >&2; hs_die "PostgreSQL did not start"; }
	fi
	if [ -z "$(psql -h "$dir" -p "$port" -U postgres -d postgres -XAtq \
	    -c "SELECT 1 FROM pg_database WHERE datname = 'hostscan'")" ]; then
		createdb -h "$dir" -p "$port" -U postgres hostscan
	fi
}

pg_stop() {
	local dir=$1 bin

	[ -s "$dir/data/PG_VERSION" ] || return 0
	bin=$(hs_pg_bindir)
	if hs_as postgres "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
		hs_as postgres "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
	fi
}

# write_config RUN PGPORT [WORKERS] [METRICS_PORT]: the configuration file
# of a run dir; with METRICS_PORT the responder serves /metrics on
# 127.0.0.1:METRICS_PORT.
write_config() {
	local run=$1 port=$2 workers=${3:-4} metrics=${4:-} conn

	conn="host=$run/pg port=$port dbname=hostscan"
	mkdir -p "$run/keys"
	chmod 0755 "$run/keys"
	cat >"$run/hostscan.conf" <<EOF
# Written by scripts/stack.sh write_config; see docs/hostscan.conf.example.
api_database = $conn user=hostscan_api
sched_database = $conn user=hostscan_sched
admin_database = $conn user=postgres
keyring = $run/keys/keyring
signing_key = $run/keys/signing.key
master_key = $run/keys/master.key
totp_key = $run/keys/totp.key
sql_dir = $HS_SRCDIR/sql
listen = unix:$run/sock/hostscan.sock
listen_group = $HS_WEB_GROUP
listen_mode = 0660
workers = $workers
log_level = info
EOF
	if [ -n "$metrics" ]; then
		echo "metrics_listen = 127.0.0.1:$metrics" >>"$run/hostscan.conf"
	fi
	chmod 0644 "$run/hostscan.conf"
}

# migrate, and the keys a fresh run directory needs (kept when present).
init_keys_and_schema() {
	local run=$1 ctl

	ctl="$(hs_builddir)/hostscanctl"
	"$ctl" --config "$run/hostscan.conf" migrate >&2
	if [ ! -s "$run/keys/signing.key" ]; then
		"$ctl" --config "$run/hostscan.conf" keygen >&2
	fi
	if [ ! -s "$run/keys/master.key" ]; then
		"$ctl" --config "$run/hostscan.conf" masterkey new >&2
	fi
	if [ ! -s "$run/keys/totp.key" ]; then
		"$ctl" --config "$run/hostscan.conf" user totpkey new >&2
	fi
	# The responder (user hostscan) reads the keyring, and for sign-in
	# signs tokens and opens TOTP secrets: signing.key and totp.key are
	# its own (0600, root reads them too).  master.key stays root's.
	chmod 0644 "$run/keys/keyring"
	chmod 0600 "$run/keys/signing.key" "$run/keys/master.key" "$run/keys/totp.key"
	chown "$HS_USER" "$run/keys/signing.key" "$run/keys/totp.key"
	return 0
}

# True when the pid file names a live process whose command line
# mentions $2 (so a recycled pid is never signalled).
hs_pid_alive() {
	local pidfile=$1 name=$2 pid

	[ -s "$pidfile" ] || return 1
	pid=$(head -n 1 "$pidfile")
	case $pid in '' | *[!0-9]*) return 1 ;; esac
	kill -0 "$pid" 2>/dev/null || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$name"
}

# stop_pidfile FILE NAME [TIMEOUT]: SIGTERM, then SIGKILL after TIMEOUT s.
stop_pidfile() {
	local pidfile=$1 name=$2 timeout=${3:-15} pid i

	if ! hs_pid_alive "$pidfile" "$name"; then
		rm -f "$pidfile"
		return 0
	fi
	pid=$(head -n 1 "$pidfile")
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < timeout * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		hs_say "$name (pid $pid) did not stop in ${timeout}s: SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$pidfile"
}

# responder_start RUN [WORKERS]: hostscan.fcgi --listen on RUN/sock as
# user hostscan.  It may chgrp the socket to www-data because it runs with
# www-data as a supplementary group (for this process only).
responder_start() {
	local run=$1 workers=${2:-4} fcgi sock i

	fcgi="$(hs_builddir)/hostscan.fcgi"
	sock="$run/sock/hostscan.sock"
	[ -x "$fcgi" ] || hs_die "$fcgi not built"
	ensure_user
	install -d -o "$HS_USER" -g "$HS_WEB_GROUP" -m 0750 "$run/sock"
	hs_check_traversable "$run/sock" "$HS_USER" "$HS_WEB_GROUP"
	hs_check_traversable "$(dirname "$fcgi")" "$HS_USER"
	stop_pidfile "$run/hostscan.fcgi.pid" hostscan.fcgi
	rm -f "$sock"
	setpriv --reuid="$HS_USER" --regid="$HS_USER" --groups="$HS_WEB_GROUP" -- \
		"$fcgi" --config "$run/hostscan.conf" --listen "unix:$sock" \
		--workers "$workers" </dev/null >>"$run/hostscan.fcgi.log" 2>&1 &
	echo $! >"$run/hostscan.fcgi.pid"
	for ((i = 0; i < 150; i++)); do
		hs_unix_connects "$sock" && return 0
		hs_pid_alive "$run/hostscan.fcgi.pid" hostscan.fcgi || break
		sleep 0.1
	done
	tail -n 20 "$run/hostscan.fcgi.log" >&2
	hs_die "hostscan.fcgi did not start listening on $sock (log: $run/hostscan.fcgi.log)"
}

responder_stop() {
	stop_pidfile "$1/hostscan.fcgi.pid" hostscan.fcgi 20
}

# nginx_render PREFIX PORT SOCKET [EXTRA_HTTP_CONF]: the private nginx
# prefix scripts/nginx-site writes (the shipped site with only the port
# and the socket changed, the params file beside it, the main
# configuration from scripts/nginx-site.conf.in), two workers, in the
# background.
nginx_render() {
	local prefix=$1 port=$2 sock=$3 extra=${4:-}

	"$HS_SRCDIR/scripts/nginx-site" "$prefix" "$port" "$sock" --workers 2 \
		--log-level warn ${extra:+--include "$extra"} ||
		hs_die "scripts/nginx-site could not write $prefix"
}

# nginx_start RUN PORT [EXTRA_HTTP_CONF]
nginx_start() {
	local run=$1 port=$2 extra=${3:-} prefix i

	prefix="$run/nginx"
	stop_pidfile "$prefix/nginx.pid" nginx
	hs_port_in_use "$port" &&
		hs_die "127.0.0.1:$port is already in use (set HOSTSCAN_HTTP_PORT to another port)"
	nginx_render "$prefix" "$port" "$run/sock/hostscan.sock" "$extra"
	hs_check_traversable "$prefix" www-data
	nginx -q -t -p "$prefix/" -e "$prefix/error.log" -c "$prefix/nginx.conf" ||
		hs_die "nginx rejected $prefix/nginx.conf"
	nginx -p "$prefix/" -e "$prefix/error.log" -c "$prefix/nginx.conf"
	for ((i = 0; i < 100; i++)); do
		hs_port_in_use "$port" && return 0
		sleep 0.1
	done
	tail -n 20 "$prefix/error.log" >&2
	hs_die "nginx did not start listening on 127.0.0.1:$port"
}

nginx_stop() {
	stop_pidfile "$1/nginx/nginx.pid" nginx 10
}

# write_env FILE RUN PORT PGPORT [METRICS_PORT SCHED_METRICS_PORT]: the
# environment of a run, shell syntax.
write_env() {
	local file=$1 run=$2 port=$3 pgport=$4 mport=${5:-} smport=${6:-} b

	b=$(hs_builddir)
	{
		echo "# written by scripts/stack.sh write_env; source it: . $file"
		printf 'export HOSTSCAN_URL=%q\n' "http://127.0.0.1:$port"
		printf 'export HOSTSCANCTL=%q\n' "$b/hostscanctl"
		printf 'export HOSTSCAND=%q\n' "$b/hostscand"
		printf 'export HOSTSCAN_FCGI=%q\n' "$b/hostscan.fcgi"
		printf 'export HOSTSCAN_HS_SIGN=%q\n' "$b/t/tools/hs-sign"
		printf 'export HOSTSCAN_CONFIG=%q\n' "$run/hostscan.conf"
		printf 'export HOSTSCAN_KEYRING=%q\n' "$run/keys/keyring"
		printf 'export HOSTSCAN_SIGNING_KEY=%q\n' "$run/keys/signing.key"
		printf 'export HOSTSCAN_MASTER_KEY=%q\n' "$run/keys/master.key"
		printf 'export HOSTSCAN_TEST_ADMIN_DB=%q\n' \
			"host=$run/pg port=$pgport dbname=hostscan user=postgres"
		printf 'export HOSTSCAN_PGDATA=%q\n' "$run/pg/data"
		printf 'export HOSTSCAN_PGBIN=%q\n' "$(hs_pg_bindir)"
		printf 'export HOSTSCAN_NGINX_CONF=%q\n' "$run/nginx/nginx.conf"
		printf 'export HOSTSCAN_SRCDIR=%q\n' "$HS_SRCDIR"
		printf 'export HOSTSCAN_BUILDDIR=%q\n' "$b"
		printf 'export PGHOST=%q\n' "$run/pg"
		printf 'export PGPORT=%q\n' "$pgport"
		printf 'export PGDATABASE=hostscan\n'
		printf 'export PGUSER=postgres\n'
		if [ -n "$mport" ]; then
			printf 'export HOSTSCAN_METRICS_URL=%q\n' \
				"http://127.0.0.1:$mport/metrics"
		fi
		if [ -n "$smport" ]; then
			printf 'export HOSTSCAND_METRICS_URL=%q\n' \
				"http://127.0.0.1:$smport/metrics"
		fi
	} >"$file"
}

# sched_start RUN [WORKERS] [METRICS_PORT]: hostscand from the build
# directory, logging to RUN/log/hostscand.log; with METRICS_PORT it serves
# /metrics on 127.0.0.1:METRICS_PORT (an option, not a line of the config,
# so a second scheduler run from a copy of the file does not clash).  It
# runs as root: it reads master_key (0600, root's) to unseal credentials,
# which the responder's user must not.
sched_start() {
	local run=$1 workers=${2:-16} metrics=${3:-} bin log off pid i
	local extra=()

	bin="$(hs_builddir)/hostscand"
	[ -x "$bin" ] || hs_die "no $bin (build it first)"
	log="$run/log/hostscand.log"
	mkdir -p "$run/log"
	chmod 0700 "$run/log"
	touch "$log"
	off=$(stat -c %s "$log")
	if [ -n "$metrics" ]; then
		extra=(--metrics-listen "127.0.0.1:$metrics")
	fi
	setsid "$bin" --config "$run/hostscan.conf" --instance "up-$(hostname -s)" \
		--workers "$workers" --backoff 1 "${extra[@]}" </dev/null >>"$log" 2>&1 &
	pid=$!
	echo "$pid" >"$run/hostscand.pid"
	for ((i = 0; i < 150; i++)); do
		tail -c +$((off + 1)) "$log" | grep -q 'event=started' && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	tail -c +$((off + 1)) "$log" | tail -n 20 >&2
	hs_die "hostscand did not start (log: $log)"
}

sched_stop() {
	stop_pidfile "$1/hostscand.pid" hostscand 30
}

# demo_targets_start RUN: OpenSSH sshd demo targets on loopback, started
# by t/lib/SSHD.pm (private mount namespaces with their own passwd,
# group, shadow and os-release: the machine's users are not touched).
# A Perl supervisor keeps them running and stops them on SIGTERM.  Host
# keys and the scanner's client key persist in RUN/demo/keys, so the key
# stored on first discovery still matches on the next scripts/up.  Writes
# RUN/demo/targets.env (shell syntax):
#   A_ADDR A_PORT  sshd, key login for the demo user hsscan
#   B_ADDR B_PORT  sshd with another host key than A (pinned mismatch)
#   A_FP           SHA256 fingerprint of A's host key
#   C_ADDR C_PORT  nothing listens there: connection refused
#   CLIENT_KEY     the private key hsscan accepts (root's, 0600)
# No password logs in anywhere: the targets' password is random and
# never stored, root has no authorized key, and sshd listens on 127.0.0.x.
demo_targets_start() {
	local run=$1 dir=$1/demo i pid

	command -v unshare >/dev/null && [ -x /usr/sbin/sshd ] ||
		hs_die "demo targets need unshare and /usr/sbin/sshd (openssh-server)"
	mkdir -p "$dir/keys" "$run/log"
	chmod 0755 "$dir"
	chmod 0700 "$dir/keys"
	rm -rf "$dir"/sshd-* "$dir/targets.env"
	setsid perl -I"$HS_SRCDIR/t/lib" "$HS_SRCDIR/scripts/demo-targets.pl" \
		"$dir" "$dir/targets.env" </dev/null >>"$run/log/demo-targets.log" 2>&1 &
	pid=$!
	echo "$pid" >"$run/demo-targets.pid"
	for ((i = 0; i < 300; i++)); do
		[ -s "$dir/targets.env" ] && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	tail -n 20 "$run/log/demo-targets.log" >&2
	hs_die "the demo SSH targets did not start (log: $run/log/demo-targets.log)"
}

demo_targets_stop() {
	stop_pidfile "$1/demo-targets.pid" targets.pl 20
	rm -f "$1/demo/targets.env"
}

# Stops what the start functions above started in RUN, newest first.
stack_stop() {
	local run=$1

	sched_stop "$run"
	demo_targets_stop "$run"
	nginx_stop "$run"
	responder_stop "$run"
	pg_stop "$run/pg"
}
