# SPDX-License-Identifier: ISC
package Check;

# Checks several integration tests share, beyond HS.pm: what a service
# logged since a point in time, which responder worker served a request
# (every log line carries pid=, every answer X-Trace-Id), requests until
# every worker has answered, an sshd target's log without any
# authentication, the TCP connections a process holds, secrets searched in
# the service logs, and password hashes searched in every text column of
# the scan results.  Core Perl only.

use strict;
use warnings;

use Exporter qw(import);
use HS ();
use Test::More ();

our @EXPORT_OK = qw(log_size log_since responder_log postgres_log
    shared_workers served_by until_every_worker sshd_auth_lines
    secrets_absent hash_columns tcp_peers HASH_RE);

# The prefixes crypt(3) and bcrypt put before a hash: MD5, SHA-256,
# SHA-512, yescrypt and bcrypt ($2$, $2a$, $2b$, $2x$, $2y$).
use constant HASH_RE => '\$(1|5|6|y|2[abxy]?)\$';

sub log_size {
	my ($path) = @_;
	return -s $path // 0;
}

# What was appended to $path since it was $off bytes long.
sub log_since {
	my ($path, $off) = @_;
	open(my $fh, '<:raw', $path) or return '';
	seek($fh, $off // 0, 0);
	local $/;
	my $s = <$fh>;
	close $fh;
	return $s // '';
}

sub responder_log { return HS::scratch_dir() . '/hostscan.fcgi.log' }

sub postgres_log {
	return HS::env_required('HOSTSCAN_PGDATA') . '/postgres.log';
}

# The worker pids of the responder scripts/test started.
sub shared_workers {
	my $pf = HS::scratch_dir() . '/hostscan.fcgi.pid';
	open(my $fh, '<', $pf) or die "Check: $pf: $!\n";
	my ($pid) = <$fh> =~ /(\d+)/;
	close $fh;
	die "Check: no pid in $pf\n" unless $pid;
	return HS::child_pids($pid);
}

# The pid of the worker whose event=request line has the trace of $r (an
# HS::api answer), read from $log after $off; undef when none appeared
# within a few seconds (the line is written after the answer is sent).
sub served_by {
	my ($r, $log, $off) = @_;
	my $trace = $r->{headers}{'x-trace-id'} // '';
	return undef unless $trace =~ /\A[0-9a-f]{32}\z/;
	my $pid;
	HS::wait_for(sub {
		($pid) = log_since($log, $off) =~
		    /^\S+ \S+ prog=\S+ pid=(\d+) event=request trace=$trace /m;
		return defined $pid;
	}, 5);
	return $pid;
}

# Sends requests ($send->() returns an HS::api answer) until each of the
# worker pids in $workers has served one, at most $max requests.  Returns
# { pid => [answers it gave] }; a pid not in $workers (a worker that was
# replaced) is collected too, so a caller can tell.  A worker that has
# answered is paused (SIGSTOP) until the end, so the next request goes to
# one that has not: which idle worker accepts a connection is the
# kernel's choice, and a run once saw the same worker take 80 in a row.
sub until_every_worker {
	my (%o) = @_;
	my $log = $o{log} // responder_log();
	my %want = map { $_ => 1 } @{$o{workers}};
	my $max = $o{max} // 40 * keys %want;
	my (%by, %paused);
	for (1 .. $max) {
		my $off = log_size($log);
		my $r = $o{send}->();
		my $pid = served_by($r, $log, $off) // 'unknown';
		push @{$by{$pid}}, $r;
		last unless grep { !$by{$_} } keys %want;
		$paused{$pid} = kill('STOP', $pid)
		    if $want{$pid} && !$paused{$pid};
	}
	kill 'CONT', grep { $paused{$_} } keys %paused;
	return \%by;
}

# The lines of an sshd log (LogLevel DEBUG1 or INFO) that show a client
# asking to authenticate or being let in or turned away.
sub sshd_auth_lines {
	my ($text) = @_;
	return grep { /userauth-request|^(?:Accepted|Failed|Postponed) \S+ for |Invalid user|authentication/i }
	    split /\n/, $text;
}

# "address:port" of the far end of every IPv4 TCP connection process
# $pid holds open (its socket descriptors matched to /proc/net/tcp).
sub tcp_peers {
	my ($pid) = @_;
	my %inode;
	opendir(my $d, "/proc/$pid/fd") or die "Check: /proc/$pid/fd: $!\n";
	for my $f (readdir $d) {
		my $l = readlink("/proc/$pid/fd/$f") // next;
		$inode{$1} = 1 if $l =~ /\Asocket:\[(\d+)\]\z/;
	}
	closedir $d;
	open(my $t, '<', "/proc/$pid/net/tcp")
	    or die "Check: /proc/$pid/net/tcp: $!\n";
	my @peers;
	while (my $l = <$t>) {
		my @f = split ' ', $l;
		next unless @f > 9 && $inode{$f[9]};
		my ($h, $p) = split /:/, $f[2];
		push @peers, join('.', reverse map { hex } unpack('(A2)4', $h))
		    . ':' . hex($p);
	}
	close $t;
	return sort @peers;
}

# One check per file: none of @$secrets occurs in it.  The files must
# exist, or the check would pass on nothing.
sub secrets_absent {
	my ($what, $secrets, @files) = @_;
	my @s = grep { defined && length } @$secrets;
	Test::More::ok(scalar @s, "$what: there are secrets to look for");
	for my $f (@files) {
		my $text = HS::slurp($f);
		Test::More::ok(-f $f && length $text, "$what: $f was written")
		    or next;
		my @hit = grep { index($text, $_) >= 0 } @s;
		Test::More::is(scalar @hit, 0, "$what: no secret in $f")
		    or Test::More::diag('found: ' . join(', ',
		    map { substr($_, 0, 6) . '...' } @hit));
	}
}

# Every text column of the tables the scanner writes, as "table.column",
# with the number of its values for $host_id (a uuid) that hold a crypt
# hash prefix.
sub hash_columns {
	my ($host_id) = @_;
	my $cols = HS::psql("SELECT string_agg(table_name || '.' || column_name,"
	    . " ' ' ORDER BY table_name, column_name)"
	    . " FROM information_schema.columns WHERE table_schema = 'public'"
	    . " AND table_name IN ('host', 'host_scan_host', 'scan_log',"
	    . " 'host_user', 'host_group', 'host_group_member', 'host_service',"
	    . " 'host_scheduled_task', 'host_software')"
	    . " AND data_type IN ('text', 'character varying', 'character',"
	    . " 'json', 'jsonb')");
	my $q = HS::sql_quote($host_id);
	# How each table reaches the host.
	my %where = (
		host => "id = $q",
		host_scan_host => "host_id = $q",
		scan_log => "host_scan_host_id IN (SELECT id FROM host_scan_host"
		    . " WHERE host_id = $q)",
		host_group_member => "group_id IN (SELECT id FROM host_group"
		    . " WHERE host_id = $q)",
	);
	my %n;
	for my $tc (split ' ', $cols) {
		my ($t, $c) = split /\./, $tc;
		my $w = $where{$t} // "host_id = $q";
		$n{$tc} = HS::psql("SELECT count(*) FROM $t WHERE $w AND"
		    . " \"$c\"::text ~ " . HS::sql_quote(HASH_RE)) + 0;
	}
	return \%n;
}

1;
