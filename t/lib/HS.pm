# SPDX-License-Identifier: ISC
package HS;

# The integration tests' view of the running stack that scripts/test
# starts: HTTP through the real nginx, the CLI, psql as the superuser, and
# private extra responders and nginx instances for the tests that need
# their own.  Core Perl only.  Everything it starts is stopped again at
# END, so a test that dies does not leave processes (or a stopped
# database) behind for the next one.
#
# Beyond the interface every test relies on (see the exports), these are
# for the tests of the process modes: start_responder(mode => 'cgi')
# serves through fcgiwrap and returns params_extra for
# nginx_for_socket($sock, params_extra => ...); config => {...} overrides
# of keyring, signing_key, master_key and sql_dir also override their
# HOSTSCAN_* environment variables; stop_responder returns the wait
# status.  run_cmd, child_pids, wait_exit, sql_quote, free_port and
# scratch_dir are exported on request.

use strict;
use warnings;

use Exporter qw(import);
use File::Temp ();
use HTTP::Tiny;
use IO::Socket::INET;
use IO::Socket::UNIX;
use JSON::PP ();
use MIME::Base64 ();
use POSIX qw(:sys_wait_h);
use Socket qw(SOCK_STREAM);
use Test::More ();
use Time::HiRes ();

our @EXPORT = qw(need_services api token token_jti sign decode_payload ctl
    psql credential host_item wait_for pg_stop pg_start start_responder
    stop_responder nginx_for_socket stop_nginx);
our @EXPORT_OK = qw(run_cmd free_port scratch_dir sql_quote child_pids
    wait_exit env_required note_secret note_secret_source time_scale
    scaled seed_scan seed_inventory hosts_of_job);

my $JSON = JSON::PP->new->utf8->allow_nonref->canonical;
my $ZERO_UUID = '00000000-0000-0000-0000-000000000000';
my $DEFAULT_CRED = 'hs-test-cred';
my (%children, $pg_stopped, $serial, $default_cred);
# Forked children (load generators in tests) inherit %children: only the
# process that started something may stop it at END.
my $owner = $$;

sub need_services {
	Test::More::plan(skip_all =>
	    'integration services not running (run scripts/test)')
	    unless $ENV{HOSTSCAN_URL};
}

sub env_required {
	my ($name) = @_;
	my $v = $ENV{$name};
	die "HS: \$$name is not set (run the tests through scripts/test)\n"
	    unless defined $v && length $v;
	return $v;
}

sub scratch_dir { return env_required('HOSTSCAN_TEST_DIR') }

# How much slower than a plain build the binaries under test are:
# scripts/test sets HOSTSCAN_TIME_SCALE (3 under the sanitizers).  Every
# time limit a test asserts goes through scaled(), so a limit means the
# same thing in both builds.
sub time_scale {
	my $f = $ENV{HOSTSCAN_TIME_SCALE} // 1;
	return $f =~ /\A\d+(?:\.\d+)?\z/ && $f >= 1 ? $f : 1;
}

sub scaled { return $_[0] * time_scale() }

# Registers a secret the test used (a password, a private key, a TOTP
# code, a token).  After the services have stopped, scripts/test searches
# every file the run wrote for every registered secret and fails the run
# on a hit (t/tools/secret-scan).  Kept hex-encoded, so the list itself
# never holds the secret; $where names the test for the report.
sub note_secret {
	my ($secret, $where) = @_;
	return unless defined $secret && length $secret;
	my $bytes = $secret;
	utf8::encode($bytes) if utf8::is_utf8($bytes);
	$where //= $0;
	$where =~ s/[^\w.\/-]/_/g;
	# Outside a test run (scripts/up's demo targets) there is no search.
	return $secret unless $ENV{HOSTSCAN_TEST_DIR};
	my $list = scratch_dir() . '/secrets.list';
	open(my $fh, '>>', $list) or die "HS: $list: $!\n";
	print $fh unpack('H*', $bytes), " $where\n";
	close $fh or die "HS: $list: $!\n";
	return $secret;
}

# A file that holds a registered secret because it is where the secret
# comes from (a test target's private key): the secret search skips it.
sub note_secret_source {
	my ($path) = @_;
	return $path unless $ENV{HOSTSCAN_TEST_DIR};
	my $list = scratch_dir() . '/secret-sources.list';
	open(my $fh, '>>', $list) or die "HS: $list: $!\n";
	print $fh "$path\n";
	close $fh or die "HS: $list: $!\n";
	return $path;
}

sub api {
	my ($method, $path, %o) = @_;
	my $base = $o{url} // env_required('HOSTSCAN_URL');
	my %h;
	$h{Authorization} = "Bearer $o{token}" if defined $o{token};
	my %req = (headers => \%h);
	if (exists $o{json}) {
		$h{'Content-Type'} = 'application/json';
		$req{content} = $JSON->encode($o{json});
	} elsif (defined $o{body}) {
		# A CODE ref makes HTTP::Tiny send a chunked body.
		$req{content} = $o{body};
	}
	# Explicit headers win, including over the ones set above.
	if ($o{headers}) {
		for my $k (keys %{$o{headers}}) {
			delete $h{$_} for grep { lc $_ eq lc $k } keys %h;
			$h{$k} = $o{headers}{$k};
		}
	}
	# from => '127.0.0.2': the local address the request comes from.
	my $ua = HTTP::Tiny->new(timeout => $o{timeout} // 60,
	    keep_alive => 0, agent => 'hostscan-tests/1',
	    $o{from} ? (local_address => $o{from}) : ());
	my $res = $ua->request($method, $base . $path, \%req);
	my %headers = map { lc($_) => $res->{headers}{$_} }
	    keys %{$res->{headers} // {}};
	my $r = {
		status => $res->{status},
		headers => \%headers,
		content => $res->{content} // '',
		json => undef,
	};
	my $ct = $headers{'content-type'} // '';
	$ct = $ct->[0] if ref $ct eq 'ARRAY';
	if ($ct =~ m{\Aapplication/(?:[\w.+-]+\+)?json\b}i) {
		$r->{json} = eval { $JSON->decode($r->{content}) };
	}
	return $r;
}

# Runs a command without a shell.  stdout and stderr go to files, not
# pipes, so a daemon the command leaves behind cannot hold the test's
# pipes open.  In a test run stderr is kept under the run directory
# (stderr/), where scripts/test searches it for sanitizer reports: UBSan
# writes to stderr whatever log_path says.  Returns (exit, stdout,
# stderr); exit is 128+signal when the command was killed.
my $n_cmd = 0;
sub run_cmd {
	my ($cmd, %o) = @_;
	my $out = File::Temp->new;
	my $in = File::Temp->new;
	my ($err, $errpath);
	if ($ENV{HOSTSCAN_TEST_DIR}) {
		my $d = "$ENV{HOSTSCAN_TEST_DIR}/stderr";
		mkdir $d unless -d $d;
		$errpath = sprintf('%s/%d-%d.err', $d, $$, ++$n_cmd);
	} else {
		$err = File::Temp->new;
		$errpath = $err->filename;
	}
	print $in $o{stdin} if defined $o{stdin};
	close $in;
	my $pid = fork // die "HS: fork: $!\n";
	if ($pid == 0) {
		open(STDIN, '<', $in->filename) or POSIX::_exit(126);
		open(STDOUT, '>', $out->filename) or POSIX::_exit(126);
		open(STDERR, '>', $errpath) or POSIX::_exit(126);
		if ($o{env}) {
			for my $k (keys %{$o{env}}) {
				if (defined $o{env}{$k}) {
					$ENV{$k} = $o{env}{$k};
				} else {
					delete $ENV{$k};
				}
			}
		}
		{ no warnings "exec"; exec { $cmd->[0] } @$cmd; }
		print STDERR "exec $cmd->[0]: $!\n";
		POSIX::_exit(127);
	}
	waitpid($pid, 0);
	my $st = $?;
	my $code = ($st & 127) ? 128 + ($st & 127) : $st >> 8;
	my $errtext = slurp($errpath);
	unlink $errpath if !length $errtext && !$err;
	return ($code, slurp($out->filename), $errtext);
}

sub slurp {
	my ($path) = @_;
	open(my $fh, '<', $path) or return '';
	local $/;
	my $s = <$fh>;
	close $fh;
	return $s // '';
}

sub ctl {
	my ($args, %o) = @_;
	return run_cmd([env_required('HOSTSCANCTL'), @$args], %o);
}

sub trim {
	my ($s) = @_;
	$s =~ s/\A\s+//;
	$s =~ s/\s+\z//;
	return $s;
}

sub token {
	my (%o) = @_;
	my @a = ('token', 'issue', '--role', $o{roles} // 'Admin',
	    '--sub', $o{sub} // 'test');
	push @a, '--name', $o{name} if defined $o{name};
	push @a, '--ttl', $o{ttl} if defined $o{ttl};
	my ($rc, $out, $err) = ctl(\@a);
	die "HS: hostscanctl token issue failed ($rc): $err\n" if $rc != 0;
	return trim($out);
}

sub b64url_decode {
	my ($s) = @_;
	$s =~ tr{-_}{+/};
	$s .= '=' x ((4 - length($s) % 4) % 4);
	return MIME::Base64::decode_base64($s);
}

sub decode_payload {
	my ($tok) = @_;
	my @p = split /\./, $tok;
	die "HS: not a v4.public token\n"
	    unless @p >= 3 && $p[0] eq 'v4' && $p[1] eq 'public';
	my $raw = b64url_decode($p[2]);
	die "HS: token body too short\n" if length($raw) < 64;
	return $JSON->decode(substr($raw, 0, length($raw) - 64));
}

sub token_jti { return decode_payload($_[0])->{jti} }

sub sign {
	my ($payload, $footer) = @_;
	# argv carries bytes: text with characters beyond Latin-1 goes as UTF-8.
	for ($payload, $footer) {
		utf8::encode($_) if defined && /[^\x00-\xff]/;
	}
	my @cmd = (env_required('HOSTSCAN_HS_SIGN'),
	    env_required('HOSTSCAN_SIGNING_KEY'), $payload);
	push @cmd, $footer if defined $footer;
	my ($rc, $out, $err) = run_cmd(\@cmd);
	die "HS: hs-sign failed ($rc): $err\n" if $rc != 0;
	return trim($out);
}

# How many hosts the job $id has in the database (-1 for no job id).
sub hosts_of_job {
	my ($id) = @_;
	return -1 unless defined $id && $id =~ /\A[0-9a-f-]{36}\z/;
	return psql("SELECT count(*) FROM host_scan_host WHERE job_id = '$id'");
}

sub psql {
	my ($sql) = @_;
	my ($rc, $out, $err) = run_cmd(['psql', '-XAtq', '-v',
	    'ON_ERROR_STOP=1', '-c', $sql]);
	die "HS: psql failed ($rc): $err\nSQL: $sql\n" if $rc != 0;
	return trim($out);
}

sub sql_quote {
	my ($s) = @_;
	$s =~ s/'/''/g;
	return "'$s'";
}

sub credential {
	my (%o) = @_;
	my $name = $o{name} // $DEFAULT_CRED;
	my $secret = $o{secret} // 'not-a-real-secret';
	note_secret($secret, "credential $name");
	my $q = 'SELECT id FROM credential WHERE name = ' . sql_quote($name);
	my $id = psql($q);
	return $id if length $id;
	my @a = ('credential', 'add', '--name', $name,
	    '--username', $o{username} // 'scanner',
	    '--scope', $o{scope} // 'any');
	push @a, '--kind', $o{kind} if defined $o{kind};
	push @a, '--zone', $o{zone} if defined $o{zone};
	my ($rc, $out, $err) = ctl(\@a, stdin => $secret);
	die "HS: credential add $name failed ($rc): $err\n" if $rc != 0;
	return trim($out);
}

sub sql_value {
	my ($v) = @_;
	return defined $v ? sql_quote($v) : 'NULL';
}

sub sql_bool {
	my ($v) = @_;
	return !defined $v ? 'NULL' : $v ? 'true' : 'false';
}

# seed_scan(tag => 't90', octet => 90, credential => ID, users => [...],
#     members => [[NAME, IS_PRIMARY], ...], orphan => 1)
# Writes, as the scheduler would, one finished job over host record
# "web<octet>" (127.0.0.<octet>, port 22<octet>, Linux, the credential):
# a scan that read its key ("scan") and one that failed before any key
# ("nokey"), two scan log lines, the users root and @users (each a hash:
# name, display_name, uid, gid, home, shell, privilege, changed, expires,
# disabled), group sudo (27) with the members (a name that is no user
# gets no user id), and a second host record without a credential
# (127.0.0.<octet + 1>).  With orphan, also a scan without a host record
# ("nohost").  Returns the ids (host, host2, job, scan, nokey, nohost,
# group, users => {name => id}) and what the rows hold (dns, ip, port,
# fp, key, platform).
sub seed_scan {
	my (%o) = @_;
	my ($tag, $oct, $cred) = @o{qw(tag octet credential)};
	die "HS: seed_scan needs tag, octet and credential\n"
	    unless defined $tag && defined $oct && defined $cred;
	my @users = ({ name => 'root', display_name => 'root', uid => 0,
	    gid => 0, home => '/root', shell => '/bin/bash',
	    privilege => 'SuperUser', changed => '2026-01-02T00:00:00Z',
	    disabled => 0 }, @{$o{users} // []});
	my @ids = split /\n/, psql('SELECT gen_random_uuid() FROM '
	    . 'generate_series(1, ' . (7 + @users) . ')');
	my $run = "$$-" . time;
	my %s = (platform => psql(q{SELECT id FROM platform WHERE name = 'Linux'}),
	    dns => "$tag-$run.example.test",
	    ip => "127.0.0.$oct", port => 2200 + $oct,
	    fp => "SHA256:$tag" . ('x' x 40),
	    key => "AAAAC3NzaC1lZDI1NTE5AAAA$tag");
	@s{qw(host host2 job scan nokey nohost group)} = splice(@ids, 0, 7);
	$s{users}{$_->{name}} = shift @ids for @users;
	delete $s{nohost} unless $o{orphan};
	my ($dns, $ip, $port) = (sql_quote($s{dns}), "'$s{ip}'", $s{port});
	my $ip2 = sql_quote('127.0.0.' . ($oct + 1));
	my $dns2 = sql_quote("$tag-nocred-$run.example.test");
	my $fp = sql_quote($s{fp});
	my $orphan = $o{orphan} ? ",\n    ('$s{nohost}', '$s{job}', 2, "
	    . "'gone.example.test', NULL, '$cred', NULL, 22, 3, NULL, NULL, "
	    . "NULL, NULL, NULL, NULL, NULL, 0, now(), now())" : '';
	my $ord = 0;
	my $user_rows = join(",\n    ", map {
	    "('$s{users}{$_->{name}}', '$s{host}', '$s{scan}', " . $ord++
	    . ', ' . join(', ', sql_quote($_->{name}),
		sql_value($_->{display_name}), $_->{uid}, $_->{gid},
		sql_value($_->{home}), sql_value($_->{shell}),
		sql_value($_->{privilege}), sql_value($_->{changed}),
		sql_value($_->{expires}), sql_bool($_->{disabled})) . ')'
	} @users);
	my $members = join(",\n    ", map {
	    my $uid = $s{users}{$_->[0]};
	    "('$s{group}', " . (defined $uid ? "'$uid'" : 'NULL') . ', '
		. sql_quote($_->[0]) . ', ' . sql_bool($_->[1]) . ')'
	} @{$o{members} // []});
	$members = "INSERT INTO host_group_member (group_id, user_id, user_name, "
	    . "is_primary)\nVALUES $members;" if length $members;
	psql(<<"SQL");
BEGIN;
INSERT INTO host (id, name, dns_host_name, ip_address, os, version, ssh_port,
    platform_id, credential_id, last_scan_start_at, last_scan_at,
    host_connected)
VALUES ('$s{host}', 'web$oct', $dns, $ip, 'Debian GNU/Linux', '12', $port,
    '$s{platform}', '$cred', now() - interval '1 minute', now(), true);
INSERT INTO host (id, dns_host_name, ip_address, ssh_port)
VALUES ('$s{host2}', $dns2, $ip2, 22);
INSERT INTO host_scan_job (id, created_by) VALUES ('$s{job}', '$tag');
INSERT INTO host_scan_host (id, job_id, ord, dns_host_name, ip_address,
    credential_id, platform_id, ssh_port, state, host_id, name, version,
    discovered_key_type, discovered_key, discovered_fingerprint,
    status_description, failure_reason, time_started, time_finished)
VALUES
    ('$s{scan}', '$s{job}', 0, $dns, $ip, '$cred', '$s{platform}', $port,
    2, '$s{host}', 'web$oct', '12', 'ssh-ed25519', '$s{key}', $fp,
    'scanned', 0, now() - interval '1 minute', now()),
    ('$s{nokey}', '$s{job}', 1, $dns, $ip, '$cred', '$s{platform}', $port,
    3, '$s{host}', NULL, NULL, NULL, NULL, NULL, 'connection refused', 11,
    now(), now())$orphan;
INSERT INTO scan_log (host_scan_host_id, attempt, level, step, message)
VALUES ('$s{scan}', 1, 'info', 'connect', 'connected to $s{ip}:$port'),
    ('$s{scan}', 1, 'warning', 'hostkey', 'host key $s{fp} trusted on first use');
INSERT INTO host_user (id, host_id, host_scan_host_id, ord, name,
    display_name, unix_id, unix_group_id, home_directory, shell, privilege,
    password_changed_at, password_expires_at, is_disabled)
VALUES $user_rows;
INSERT INTO host_group (id, host_id, host_scan_host_id, ord, name, unix_id)
VALUES ('$s{group}', '$s{host}', '$s{scan}', 0, 'sudo', 27);
$members
COMMIT;
SQL
	return \%s;
}

# seed_inventory($seed, services => N, tasks => N, software => N)
# The services, scheduled tasks and installed software of seed_scan's host
# record, as its scan "scan" stored them: item i of each is named by its
# index (svc<i>.service, /usr/local/bin/job<i>, pkg<i>) and varies the
# columns that may be null.  Returns { services => [ids], tasks => [ids],
# software => [ids] }, each in the order written.
sub seed_inventory {
	my ($seed, %o) = @_;
	my ($host, $scan) = ("'$seed->{host}'", "'$seed->{scan}'");
	my %n = map { $_ => $o{$_} // 0 } qw(services tasks software);
	my %ids;
	for my $k (sort keys %n) {
		$ids{$k} = [$n{$k} ? split(/\n/, psql('SELECT gen_random_uuid() '
		    . "FROM generate_series(1, $n{$k})")) : ()];
	}
	my @start = ('Automatic', 'Manual', 'Disabled');
	my @rows;
	push @rows, 'INSERT INTO host_service (id, host_id, host_scan_host_id, '
	    . 'ord, name, display_name, description, start_type, user_name, '
	    . "binary_path_name) VALUES\n" . join(",\n", map {
		"('$ids{services}[$_]', $host, $scan, $_, 'svc$_.service', NULL, "
		. ($_ % 2 ? 'NULL' : "'Service $_'") . ", '$start[$_ % 3]', "
		. ($_ % 2 ? "'svc$_'" : "'root'") . ", '/usr/sbin/svc$_ -f')"
	    } 0 .. $n{services} - 1) . ';' if $n{services};
	push @rows, 'INSERT INTO host_scheduled_task (id, host_id, '
	    . 'host_scan_host_id, ord, name, task_path, user_name, description, '
	    . "source, next_run_at, last_run_at) VALUES\n" . join(",\n", map {
		"('$ids{tasks}[$_]', $host, $scan, $_, '/usr/local/bin/job$_', "
		. ($_ % 2 ? "'/lib/systemd/system/job$_.timer', 'root', "
		    . "'OnCalendar=daily', 'systemd-timer', "
		    . "'2030-01-02T03:04:05Z', '2026-01-02T03:04:05Z'" :
		    "'/etc/crontab', 'root', '$_ 3 * * *', 'cron', NULL, NULL")
		. ')'
	    } 0 .. $n{tasks} - 1) . ';' if $n{tasks};
	push @rows, 'INSERT INTO host_software (id, host_id, host_scan_host_id, '
	    . "ord, name, version, description) VALUES\n" . join(",\n", map {
		"('$ids{software}[$_]', $host, $scan, $_, 'pkg$_', "
		. ($_ % 2 ? "NULL, NULL" : "'1.$_-1', 'Package $_'") . ')'
	    } 0 .. $n{software} - 1) . ';' if $n{software};
	psql(join("\n", 'BEGIN;', @rows, 'COMMIT;')) if @rows;
	return \%ids;
}

sub host_item {
	my (%over) = @_;
	# Once per process: items are also built while the database is down.
	$default_cred //= credential() unless exists $over{credentialName};
	my %item = (
		dnsHostName => 'web1.example.test',
		ipAddress => '127.0.0.1',
		os => undef,
		credentialId => $ZERO_UUID,
		credentialName => $DEFAULT_CRED,
		platformName => 'Linux',
		acceptThumbprintOnFirstDiscovery => JSON::PP::false,
		sshTrustActionType => undef,
		certificateType => undef,
		trustedThumbprint => undef,
		sshPort => 22,
		source => 'User Input',
	);
	$item{$_} = $over{$_} for keys %over;
	return \%item;
}

sub wait_for {
	my ($code, $timeout) = @_;
	my $end = Time::HiRes::time() + scaled($timeout // 10);
	while (Time::HiRes::time() < $end) {
		return 1 if $code->();
		Time::HiRes::sleep(0.05);
	}
	return $code->() ? 1 : 0;
}

# pg_ctl must run as the cluster's owner.
sub as_postgres {
	my (@cmd) = @_;
	return @cmd if (getpwuid($>))[0] eq 'postgres';
	return ('runuser', '-u', 'postgres', '--', @cmd) if $> == 0;
	return ('sudo', '-n', '-u', 'postgres', '--', @cmd);
}

sub pg_ctl {
	my (@args) = @_;
	my $bin = env_required('HOSTSCAN_PGBIN') . '/pg_ctl';
	my $data = env_required('HOSTSCAN_PGDATA');
	return run_cmd([as_postgres($bin, '-D', $data, '-w', '-t', '60',
	    @args)]);
}

sub pg_stop {
	my ($rc, $out, $err) = pg_ctl('-m', 'fast', 'stop');
	die "HS: pg_ctl stop failed ($rc): $out$err\n" if $rc != 0;
	$pg_stopped = $$;
	return 1;
}

sub pg_start {
	my $log = env_required('HOSTSCAN_PGDATA') . '/postgres.log';
	my ($rc, $out, $err) = pg_ctl('-l', $log, 'start');
	die "HS: pg_ctl start failed ($rc): $out$err\n" if $rc != 0;
	$pg_stopped = 0;
	return 1;
}

sub free_port {
	my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
	    Proto => 'tcp', Listen => 1) or die "HS: no free port: $!\n";
	my $port = $s->sockport;
	close $s;
	return $port;
}

sub unix_connects {
	my ($path) = @_;
	my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $path);
	return 0 unless $s;
	close $s;
	return 1;
}

sub tcp_connects {
	my ($port) = @_;
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
	    PeerPort => $port, Proto => 'tcp', Timeout => 1);
	return 0 unless $s;
	close $s;
	return 1;
}

# Starts a child with stdin from /dev/null and stdout+stderr appended to
# $log; the CGI variables of our own environment must not leak into it.
sub spawn_logged {
	my ($cmd, $log, %env) = @_;
	my $pid = fork // die "HS: fork: $!\n";
	if ($pid == 0) {
		POSIX::setpgid(0, 0);
		open(STDIN, '<', '/dev/null') or POSIX::_exit(126);
		open(STDOUT, '>>', $log) or POSIX::_exit(126);
		open(STDERR, '>&', \*STDOUT) or POSIX::_exit(126);
		delete $ENV{$_} for qw(GATEWAY_INTERFACE REQUEST_METHOD);
		$ENV{$_} = $env{$_} for keys %env;
		{ no warnings "exec"; exec { $cmd->[0] } @$cmd; }
		print STDERR "exec $cmd->[0]: $!\n";
		POSIX::_exit(127);
	}
	$children{$pid} = 1;
	# scripts/test stops these after make check if the test could not
	# (killed by a signal that skips END).
	if (open(my $pf, '>', scratch_dir() . "/extra-$pid.pid")) {
		print $pf "$pid\n";
		close $pf;
	}
	return $pid;
}

# Waits up to $timeout seconds for $pid; returns its wait status or undef.
sub wait_exit {
	my ($pid, $timeout) = @_;
	my $end = Time::HiRes::time() + $timeout;
	do {
		my $r = waitpid($pid, WNOHANG);
		if ($r == $pid) {
			delete $children{$pid};
			unlink scratch_dir() . "/extra-$pid.pid";
			return $?;
		}
		return undef if $r == -1;
		Time::HiRes::sleep(0.05);
	} while (Time::HiRes::time() < $end);
	return undef;
}

sub child_pids {
	my ($pid) = @_;
	my ($rc, $out) = run_cmd(['pgrep', '-P', $pid]);
	my @p = sort { $a <=> $b } grep { /\A\d+\z/ } split /\s+/, $out;
	return @p;
}

sub write_config_copy {
	my ($path, $over, $drop) = @_;
	my $src = env_required('HOSTSCAN_CONFIG');
	open(my $in, '<', $src) or die "HS: $src: $!\n";
	my %skip = map { $_ => 1 } (keys %$over, @$drop);
	my @lines;
	while (my $l = <$in>) {
		next if $l =~ /\A\s*([a-z_]+)\s*=/ && $skip{$1};
		push @lines, $l;
	}
	close $in;
	push @lines, "$_ = $over->{$_}\n" for sort keys %$over;
	open(my $out, '>', $path) or die "HS: $path: $!\n";
	print $out @lines;
	close $out or die "HS: $path: $!\n";
	chmod 0644, $path;
}

sub start_responder {
	my (%o) = @_;
	my $dir = scratch_dir();
	my $n = ++$serial;
	my $tag = "resp-$$-$n";
	my $sock = "$dir/$tag.sock";
	my $conf = "$dir/$tag.conf";
	my $log = "$dir/$tag.log";
	my $mode = $o{mode} // 'listen';
	my $workers = $o{workers} // 2;
	my $fcgi = env_required('HOSTSCAN_FCGI');
	write_config_copy($conf, $o{config} // {}, ['listen']);
	# These environment variables beat the file: an override in the copy
	# must override them too.
	my %env = %{$o{env} // {}};
	my %envkey = (keyring => 'HOSTSCAN_KEYRING',
	    signing_key => 'HOSTSCAN_SIGNING_KEY',
	    master_key => 'HOSTSCAN_MASTER_KEY', sql_dir => 'HOSTSCAN_SQL_DIR');
	for my $k (keys %envkey) {
		$env{$envkey{$k}} //= $o{config}{$k} if $o{config}
		    && exists $o{config}{$k};
	}
	my (@cmd, %extra);
	if ($mode eq 'listen') {
		@cmd = ($fcgi, '--config', $conf, '--listen', "unix:$sock",
		    '--workers', $workers);
	} elsif ($mode eq 'spawn-fcgi') {
		# -n: spawn-fcgi execs the responder itself, so the pid we
		# hold is the responder's supervisor.
		@cmd = ('spawn-fcgi', '-n', '-s', $sock, '-M',
		    $o{socket_mode} // '0666', '--', $fcgi, '--config', $conf,
		    '--workers', $workers);
	} elsif ($mode eq 'cgi') {
		# fcgiwrap runs the responder as a CGI program per request; the
		# wrapper gives it its configuration, as a hosting panel would.
		my $script = "$dir/$tag.cgi";
		open(my $w, '>', $script) or die "HS: $script: $!\n";
		print $w "#!/bin/sh\n";
		for my $k (sort grep { /\A(?:ASAN|UBSAN|LSAN)_OPTIONS\z/ } keys %ENV) {
			print $w "$k='$ENV{$k}'; export $k\n";
		}
		print $w "$_='$env{$_}'; export $_\n" for sort keys %env;
		print $w "HOSTSCAN_CONFIG='$conf'; export HOSTSCAN_CONFIG\n";
		print $w "exec '$fcgi'\n";
		close $w or die "HS: $script: $!\n";
		chmod 0755, $script;
		@cmd = ('spawn-fcgi', '-n', '-s', $sock, '-M',
		    $o{socket_mode} // '0666', '--', '/usr/sbin/fcgiwrap', '-f');
		$extra{script} = $script;
		$extra{params_extra} = "fastcgi_param SCRIPT_FILENAME $script;";
	} else {
		die "HS: start_responder: unknown mode $mode\n";
	}
	my $pid = spawn_logged(\@cmd, $log, %env);
	my $h = { pid => $pid, socket => $sock, log => $log, config => $conf,
	    mode => $mode, %extra };
	unless (wait_for(sub { unix_connects($sock) }, 15)) {
		stop_responder($h);
		die "HS: responder did not come up on $sock; log:\n"
		    . slurp($log);
	}
	return $h;
}

# SIGTERM, then SIGKILL after the grace period.  Returns the wait status.
sub stop_responder {
	my ($h, %o) = @_;
	return undef unless $h && $children{$h->{pid}};
	kill 'TERM', $h->{pid};
	my $st = wait_exit($h->{pid}, $o{timeout} // 20);
	unless (defined $st) {
		kill 'KILL', -$h->{pid}, $h->{pid};
		$st = wait_exit($h->{pid}, 5);
	}
	unlink $h->{socket} if $h->{socket};
	return $st;
}

# A private nginx in front of $socket, in the foreground: the prefix is
# written by scripts/nginx-site, as for scripts/test's own nginx
# (url_prefix => '/p' moves the site under /p; include => FILE adds more
# to its http block).
sub nginx_for_socket {
	my ($socket, %o) = @_;
	my $prefix = scratch_dir() . "/nginx-$$-" . ++$serial;
	my $port = $o{port} // free_port();
	my @extra = defined $o{params_extra} ?
	    ('--params-extra', $o{params_extra}) : ();
	push @extra, '--url-prefix', $o{url_prefix} if defined $o{url_prefix};
	push @extra, '--include', $o{include} if defined $o{include};
	my ($rc, $out, $err) = run_cmd([env_required('HOSTSCAN_SRCDIR')
	    . '/scripts/nginx-site', $prefix, $port, $socket, '--foreground',
	    '--workers', 1, '--log-level', 'info', @extra]);
	die "HS: scripts/nginx-site failed ($rc): $err\n" if $rc != 0;
	my $conf = "$prefix/nginx.conf";
	my $log = "$prefix/nginx.out";
	my $pid = spawn_logged(['nginx', '-p', "$prefix/", '-e',
	    "$prefix/error.log", '-c', $conf], $log);
	my $h = { url => "http://127.0.0.1:$port", pid => $pid, conf => $conf,
	    prefix => $prefix, port => $port };
	unless (wait_for(sub { tcp_connects($port) }, 15)) {
		stop_nginx($h);
		die "HS: nginx did not come up on port $port:\n" . slurp($log)
		    . slurp("$prefix/error.log");
	}
	return $h;
}

sub stop_nginx {
	my ($h) = @_;
	return undef unless $h && $children{$h->{pid}};
	kill 'TERM', $h->{pid};
	my $st = wait_exit($h->{pid}, 10);
	unless (defined $st) {
		kill 'KILL', -$h->{pid}, $h->{pid};
		$st = wait_exit($h->{pid}, 5);
	}
	return $st;
}

sub cleanup {
	return if $$ != $owner;
	for my $pid (keys %children) {
		kill 'TERM', $pid;
		kill 'KILL', -$pid, $pid unless defined wait_exit($pid, 15);
		wait_exit($pid, 2);
	}
	eval { pg_start() } if $pg_stopped && $pg_stopped == $$;
}

# Ctrl-C or a harness timeout must not leave our children running: die
# through END instead of the default signal death that skips it.
for my $sig (qw(INT TERM)) {
	$SIG{$sig} = sub { cleanup(); POSIX::_exit(128 + ($sig eq 'INT' ? 2 : 15)) }
	    unless defined $SIG{$sig} && ref $SIG{$sig};
}

END {
	my $status = $?;
	cleanup();
	$? = $status;
}

1;
