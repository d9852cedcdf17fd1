# SPDX-License-Identifier: ISC
package SSHD;

# Real OpenSSH sshd targets for the scanner tests, on loopback addresses
# (127.0.0.0/8), each with its own host keys, users and os-release.
#
# The machine's own users are never touched: every sshd runs in a private
# mount namespace (unshare --mount) in which the target's passwd, group,
# shadow and os-release files from the scratch directory are bind-mounted
# over /etc, and a tmpfs over /run holds the privilege separation
# directory.  Everything the logged-in scanner runs inherits that
# namespace, so "the target's own files" are exactly the ones written
# here.  Password logins are bound to a 127.0.0.x address only.
#
# Core Perl only.

use strict;
use warnings;

use File::Path ();
use HS ();
use IO::Socket::INET;
use POSIX qw(:sys_wait_h);
use Time::HiRes ();

my %live;	# pid => object, stopped at END

# `use SSHD;` also brings the scheduler helpers below into the test.
sub import {
	my $caller = caller;
	no strict 'refs';
	*{"${caller}::$_"} = \&{"SSHD::Scheduler::$_"}
	    for @SSHD::Scheduler::EXPORT;
}
my $serial = 0;

sub run_quiet {
	my (@cmd) = @_;
	my $pid = fork // die "SSHD: fork: $!\n";
	if ($pid == 0) {
		open(STDIN, '<', '/dev/null');
		open(STDOUT, '>', '/dev/null');
		open(STDERR, '>', '/dev/null');
		{ no warnings 'exec'; exec { $cmd[0] } @cmd; }
		POSIX::_exit(127);
	}
	waitpid($pid, 0);
	return $? >> 8;
}

sub slurp {
	my ($path) = @_;
	open(my $fh, '<', $path) or return '';
	local $/;
	my $s = <$fh>;
	return $s // '';
}

sub spew {
	my ($path, $text, $mode) = @_;
	open(my $fh, '>', $path) or die "SSHD: $path: $!\n";
	print $fh $text;
	close $fh or die "SSHD: $path: $!\n";
	chmod($mode // 0644, $path);
}

# A port nobody listens on at $addr (bind, read it back, close).
sub free_port {
	my ($addr) = @_;
	my $s = IO::Socket::INET->new(LocalAddr => $addr, LocalPort => 0,
	    Proto => 'tcp', Listen => 1, ReuseAddr => 1)
	    or die "SSHD: no free port on $addr: $!\n";
	my $p = $s->sockport;
	close $s;
	return $p;
}

# A test of scans: skips the whole file when the suite's services are not
# running (HS::need_services) or no sshd target can be made here
# (available's reason).  Under CI=true scripts/test fails a skipped file.
sub need_targets {
	HS::need_services();
	my $why = available();
	Test::More::plan(skip_all => "no sshd targets here: $why") if $why;
}

sub available {
	return 'not root' if $> != 0;
	return 'no /usr/sbin/sshd' unless -x '/usr/sbin/sshd';
	return 'no ssh-keygen' unless -x '/usr/bin/ssh-keygen';
	return 'no unshare' unless -x '/usr/bin/unshare';
	return 'unshare --mount does not work here'
	    if run_quiet('/usr/bin/unshare', '--mount', '--propagation',
		'private', '/bin/true') != 0;
	return undef;
}

sub default_users {
	my ($home) = @_;
	return [
		{ name => 'root', uid => 0, gid => 0, gecos => 'root',
		    home => '/root', shell => '/bin/sh' },
		{ name => 'daemon', uid => 1, gid => 1, gecos => 'daemon',
		    home => '/usr/sbin', shell => '/usr/sbin/nologin',
		    locked => 1 },
		{ name => 'sshd', uid => 101, gid => 65534, gecos => '',
		    home => '/run/sshd', shell => '/usr/sbin/nologin',
		    locked => 1 },
		{ name => 'nobody', uid => 65534, gid => 65534,
		    gecos => 'nobody', home => '/nonexistent',
		    shell => '/usr/sbin/nologin', locked => 1 },
		{ name => 'hsscan', uid => 4242, gid => 4242,
		    gecos => 'Scan Account,,,', home => "$home/hsscan",
		    shell => '/bin/sh', lastchg => 19000, max => 36500 },
		{ name => 'hsadmin', uid => 4243, gid => 4243,
		    gecos => 'Admin Person', home => "$home/hsadmin",
		    shell => '/bin/bash', locked => 1 },
		{ name => 'hsplain', uid => 4244, gid => 100,
		    gecos => 'Plain User', home => "$home/hsplain",
		    shell => '/bin/sh', expire => 1 },
		# A GECOS in Latin-1, as old systems have them: not UTF-8.
		{ name => 'hslatin', uid => 4245, gid => 100,
		    gecos => "J\xf6rg M\xfcller,Room 1", home => "$home/hslatin",
		    shell => '/bin/sh', locked => 1 },
	];
}

sub default_groups {
	return [
		{ name => 'root', gid => 0, members => [] },
		{ name => 'daemon', gid => 1, members => [] },
		{ name => 'sudo', gid => 27, members => ['hsadmin'] },
		{ name => 'users', gid => 100, members => ['hsscan', 'hsadmin'] },
		{ name => 'hsscan', gid => 4242, members => [] },
		{ name => 'hsadmin', gid => 4243, members => [] },
		{ name => 'audit', gid => 4300, members => ['hsscan', 'ghost'] },
		{ name => 'nogroup', gid => 65534, members => [] },
	];
}

# SSHD->new(dir => SCRATCH, addr => '127.0.0.21', password => 'pw', ...)
#   key_types => ['ed25519'] (also 'rsa', 'ecdsa'), log_level => 'DEBUG1',
#   os_release => { NAME => ..., VERSION_ID => ... }, users, groups,
#   extra_config => "...", sh_is_bash => 1 (/bin/sh is bash, as on RHEL),
#   binds => { '/usr/bin/uname' => "$scratch/fake-uname", ... } (files or
#   directories bind-mounted over the target's own, which must exist:
#   everything the scan runs sees them).  The files under dir/etc are
#   written here; a test may overwrite them before start().
sub new {
	my ($class, %o) = @_;
	my $n = ++$serial;
	my $dir = "$o{dir}/sshd-$$-$n";
	File::Path::make_path("$dir/etc", "$dir/keys", "$dir/home",
	    "$dir/authorized_keys");
	chmod 0755, $dir, "$dir/etc", "$dir/home";
	chmod 0700, "$dir/keys";
	chmod 0755, "$dir/authorized_keys";
	my $self = bless {
		dir => $dir,
		addr => $o{addr} // '127.0.0.21',
		password => $o{password} // 'correct horse battery',
		key_types => $o{key_types} // ['ed25519'],
		log_level => $o{log_level} // 'DEBUG1',
		os_release => $o{os_release} // {
			NAME => 'HostScan Test Linux',
			VERSION_ID => '42.1',
			PRETTY_NAME => 'HostScan Test Linux 42.1 (loopback)',
			ID => 'hstest',
		},
		users => $o{users} // default_users("$dir/home"),
		groups => $o{groups} // default_groups(),
		extra => $o{extra_config} // '',
		sh_is_bash => $o{sh_is_bash},
		binds => $o{binds} // {},
		netns => $o{netns},
		log => "$dir/sshd.log",
	}, $class;
	$self->{port} = $o{port} // free_port($self->{addr});
	$self->write_files;
	$self->gen_host_keys;
	$self->gen_client_key;
	return $self;
}

sub addr { $_[0]{addr} }
sub port { $_[0]{port} }
sub dir { $_[0]{dir} }
sub password { $_[0]{password} }
sub log_path { $_[0]{log} }
sub log_text { slurp($_[0]{log}) }
sub users { $_[0]{users} }
sub groups { $_[0]{groups} }
sub client_key { slurp("$_[0]{dir}/client_key") }
sub passwd_text { slurp("$_[0]{dir}/etc/passwd") }
sub group_text { slurp("$_[0]{dir}/etc/group") }
sub os_release { $_[0]{os_release} }

sub write_files {
	my ($self) = @_;
	my $d = $self->{dir};
	my (@pw, @sh, @gr);
	my $salt = join '', map { ('a' .. 'z', 0 .. 9)[rand 36] } 1 .. 16;
	my $hash = crypt($self->{password}, '$6$' . $salt . '$');
	die "SSHD: crypt() without SHA-512 support\n"
	    unless defined $hash && $hash =~ /^\$6\$/;
	for my $u (@{$self->{users}}) {
		push @pw, join(':', $u->{name}, 'x', $u->{uid}, $u->{gid},
		    $u->{gecos}, $u->{home}, $u->{shell});
		my $h = $u->{locked} ? '!' . ($u->{name} eq 'hsadmin' ? $hash : '')
		    : $u->{name} eq 'root' ? '*' : $hash;
		push @sh, join(':', $u->{name}, $h, $u->{lastchg} // 19500, 0,
		    $u->{max} // 99999, 7, '', $u->{expire} // '', '');
		if ($u->{home} =~ m{^\Q$d\E/}) {
			mkdir $u->{home};
			chown $u->{uid}, $u->{gid}, $u->{home};
			chmod 0755, $u->{home};
		}
	}
	for my $g (@{$self->{groups}}) {
		push @gr, join(':', $g->{name}, 'x', $g->{gid},
		    join(',', @{$g->{members}}));
	}
	spew("$d/etc/passwd", join("\n", @pw) . "\n", 0644);
	spew("$d/etc/group", join("\n", @gr) . "\n", 0644);
	spew("$d/etc/shadow", join("\n", @sh) . "\n", 0640);
	my $os = $self->{os_release};
	spew("$d/etc/os-release", join('', map { "$_=\"$os->{$_}\"\n" }
	    sort keys %$os), 0644);
}

sub gen_host_keys {
	my ($self) = @_;
	my $k = "$self->{dir}/keys";
	for my $t (@{$self->{key_types}}) {
		unlink "$k/host_$t", "$k/host_$t.pub";
		my @bits = $t eq 'rsa' ? ('-b', '3072') : ();
		run_quiet('/usr/bin/ssh-keygen', '-q', '-t', $t, @bits, '-N', '',
		    '-C', "hostscan-test-$t", '-f', "$k/host_$t") == 0
		    or die "SSHD: ssh-keygen -t $t failed\n";
	}
}

sub gen_client_key {
	my ($self) = @_;
	my $d = $self->{dir};
	run_quiet('/usr/bin/ssh-keygen', '-q', '-t', 'ed25519', '-N', '',
	    '-C', 'hostscan-scanner', '-f', "$d/client_key") == 0
	    or die "SSHD: ssh-keygen (client) failed\n";
	HS::note_secret_source("$d/client_key");
	HS::note_secret(slurp("$d/client_key"), "client key of $d");
	my $pub = slurp("$d/client_key.pub");
	# The key may log in as root (full inventory) and as hsscan.
	spew("$d/authorized_keys/root", $pub, 0644);
	spew("$d/authorized_keys/hsscan", $pub, 0644);
}

# "SHA256:..." (or with $hash 'md5' "MD5:...") of the host key of type
# $t, exactly as ssh-keygen -l prints it.
sub fingerprint {
	my ($self, $t, $hash) = @_;
	$t //= $self->{key_types}[0];
	$hash //= 'sha256';
	my $out = `/usr/bin/ssh-keygen -l -E $hash -f $self->{dir}/keys/host_$t.pub`;
	die "SSHD: ssh-keygen -l failed\n"
	    unless $out =~ /\s((?:SHA256|MD5):\S+)\s/;
	return $1;
}

sub host_pub {
	my ($self, $t) = @_;
	$t //= $self->{key_types}[0];
	my ($type, $b64) = split ' ', slurp("$self->{dir}/keys/host_$t.pub");
	return ($type, $b64);
}

sub write_config {
	my ($self) = @_;
	my $d = $self->{dir};
	my $keys = join('', map { "HostKey $d/keys/host_$_\n" }
	    @{$self->{key_types}});
	spew("$d/sshd_config", <<"EOF" . $self->{extra}, 0644);
ListenAddress $self->{addr}:$self->{port}
${keys}PidFile none
UsePAM no
PasswordAuthentication yes
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile $d/authorized_keys/%u
StrictModes no
PermitRootLogin prohibit-password
UseDNS no
PrintMotd no
PrintLastLog no
MaxStartups 500:30:1000
MaxAuthTries 6
LoginGraceTime 30
LogLevel $self->{log_level}
EOF
}

sub start {
	my ($self) = @_;
	my $d = $self->{dir};
	$self->write_config;
	open(my $lf, '>>', $self->{log}) or die "SSHD: $self->{log}: $!\n";
	close $lf;
	my $script = join(' && ',
	    "mount -t tmpfs -o mode=0755 hostscan-run /run",
	    "mkdir -m 0755 /run/sshd",
	    (map { "mount --bind $d/etc/$_ /etc/$_" }
		qw(passwd group shadow)),
	    # /etc/os-release is often a symlink: bind over its target.
	    "mount --bind $d/etc/os-release \"\$(readlink -f /etc/os-release)\"",
	    ($self->{sh_is_bash} ?
		('mount --bind /bin/bash "$(readlink -f /bin/sh)"') : ()),
	    (map { "mount --bind '$self->{binds}{$_}' '$_'" }
		sort keys %{$self->{binds}}),
	    "exec /usr/sbin/sshd -D -e -f $d/sshd_config -E $self->{log}");
	my $pid = fork // die "SSHD: fork: $!\n";
	if ($pid == 0) {
		POSIX::setpgid(0, 0);
		open(STDIN, '<', '/dev/null');
		open(STDOUT, '>>', "$d/sshd.out");
		open(STDERR, '>&', \*STDOUT);
		{
			no warnings 'exec';
			# In a network namespace of its own (netns => NAME),
			# reachable only from inside it.
			exec(($self->{netns} ? ('/usr/sbin/ip', 'netns', 'exec',
			    $self->{netns}) : ()), '/usr/bin/unshare', '--mount',
			    '--propagation', 'private', '/bin/sh', '-c', $script);
		}
		POSIX::_exit(127);
	}
	$self->{pid} = $pid;
	$live{$pid} = $self;
	my $end = Time::HiRes::time() + 15;
	while (Time::HiRes::time() < $end) {
		# Out of reach in another namespace: its log says when.
		return $self if $self->{netns} && slurp($self->{log}) =~
		    /Server listening on \Q$self->{addr}\E port $self->{port}\b/;
		my $s = !$self->{netns} && IO::Socket::INET->new(
		    PeerAddr => $self->{addr},
		    PeerPort => $self->{port}, Proto => 'tcp', Timeout => 1);
		if ($s) {
			my $banner = '';
			$s->sysread($banner, 255);
			close $s;
			return $self if $banner =~ /^SSH-2\.0-/;
		}
		if (waitpid($pid, WNOHANG) == $pid) {
			delete $live{$pid};
			die "SSHD: sshd on $self->{addr}:$self->{port} exited: "
			    . slurp("$d/sshd.out") . slurp($self->{log});
		}
		Time::HiRes::sleep(0.05);
	}
	$self->stop;
	die "SSHD: sshd on $self->{addr}:$self->{port} did not come up\n"
	    . slurp("$d/sshd.out");
}

sub stop {
	my ($self) = @_;
	my $pid = delete $self->{pid};
	return unless $pid;
	delete $live{$pid};
	# The listener, and the sessions it forked (same process group).
	kill 'TERM', -$pid;
	kill 'TERM', $pid;
	my $end = Time::HiRes::time() + 5;
	while (Time::HiRes::time() < $end) {
		return if waitpid($pid, WNOHANG) == $pid;
		Time::HiRes::sleep(0.05);
	}
	kill 'KILL', -$pid;
	kill 'KILL', $pid;
	waitpid($pid, 0);
}

# New host keys, as after a reinstall; restarts when running.
sub regenerate_keys {
	my ($self) = @_;
	my $was = $self->{pid};
	$self->stop if $was;
	$self->gen_host_keys;
	$self->start if $was;
	return $self;
}

sub clear_log {
	my ($self) = @_;
	truncate($self->{log}, 0);
}

# A TCP listener that accepts and never speaks (an SSH port gone silent).
sub silent_listener {
	my ($addr, $port) = @_;
	$port //= free_port($addr);
	my $s = IO::Socket::INET->new(LocalAddr => $addr, LocalPort => $port,
	    Proto => 'tcp', Listen => 128, ReuseAddr => 1)
	    or die "SSHD: listen $addr:$port: $!\n";
	my $pid = fork // die "SSHD: fork: $!\n";
	if ($pid == 0) {
		my @keep;
		while (1) {
			my $c = $s->accept or next;
			push @keep, $c;
		}
		POSIX::_exit(0);
	}
	close $s;
	my $obj = bless { pid => $pid, addr => $addr, port => $port },
	    'SSHD::Silent';
	$live{$pid} = $obj;
	return $obj;
}

package SSHD::Silent;

sub addr { $_[0]{addr} }
sub port { $_[0]{port} }

sub stop {
	my ($self) = @_;
	my $pid = delete $self->{pid};
	return unless $pid;
	delete $live{$pid};
	kill 'KILL', $pid;
	waitpid($pid, 0);
}

# ---- hostscand and jobs, for the scanner tests ----

package SSHD::Scheduler;

use strict;
use warnings;

use Exporter qw(import);
use JSON::PP ();
use POSIX qw(:sys_wait_h);
use Time::HiRes ();

our @EXPORT = qw(start_hostscand stop_hostscand submit_job job_hosts
    wait_job scan_log_of admin_token drain_queue cancel_job);

my $J = JSON::PP->new->utf8->canonical;
my (%daemons, $token, $n_daemon);

sub admin_token {
	$token //= HS::token(roles => 'Admin', sub => 'scan-tests');
	return $token;
}

# start_hostscand(workers => 8, lease => 3, step => 2, ...) -> handle
# (config => FILE runs it with another configuration than the run's)
# Earlier test files leave thousands of queued hosts behind (the 10 000-host
# POST among them); a scheduler claims oldest first, so a scan test would
# wait behind them.  The first scheduler a test file starts finds the queue
# empty of anything but its own jobs.
my $leftovers_cancelled;
sub cancel_leftovers {
	return if $leftovers_cancelled++;
	HS::psql("UPDATE host_scan_host SET state = 4, "
	    . "status_description = 'cancelled by test setup', "
	    . "time_finished = clock_timestamp() WHERE state IN (0, 1)");
}

sub start_hostscand {
	my (%o) = @_;
	cancel_leftovers();
	my $bin = ($ENV{HOSTSCAND} // '') ne '' ? $ENV{HOSTSCAND} :
	    HS::env_required('HOSTSCAN_BUILDDIR') . '/hostscand';
	my $dir = HS::scratch_dir();
	my $n = ++$n_daemon;
	my $instance = $o{instance} // "t$$-$n";
	my $log = "$dir/hostscand-$$-$n.log";
	my @cmd = (($o{netns} ? ('/usr/sbin/ip', 'netns', 'exec', $o{netns}) :
	    ()), $bin, '--config',
	    $o{config} // HS::env_required('HOSTSCAN_CONFIG'),
	    '--instance', $instance,
	    '--workers', $o{workers} // 8,
	    '--lease', $o{lease} // 30,
	    '--step-timeout', $o{step} // 5,
	    '--host-timeout', $o{host_timeout} // 30,
	    '--max-attempts', $o{max_attempts} // 3,
	    '--grace', $o{grace} // 10,
	    '--backoff', $o{backoff} // 1);
	push @cmd, '--db-connections', $o{db_connections}
	    if defined $o{db_connections};
	push @cmd, '--metrics-listen', $o{metrics} if defined $o{metrics};
	push @cmd, '--zones', $o{zones} if defined $o{zones};
	push @cmd, '--reserve-workers', $o{reserve} if defined $o{reserve};
	my $pid = fork // die "hostscand: fork: $!\n";
	if ($pid == 0) {
		POSIX::setpgid(0, 0);
		open(STDIN, '<', '/dev/null');
		open(STDOUT, '>>', $log);
		open(STDERR, '>&', \*STDOUT);
		{ no warnings 'exec'; exec { $cmd[0] } @cmd; }
		POSIX::_exit(127);
	}
	my $h = { pid => $pid, log => $log, instance => $instance };
	$daemons{$pid} = $h;
	my $ok = HS::wait_for(sub { SSHD::slurp($log) =~ /event=started/ },
	    15);
	die "hostscand did not start:\n" . SSHD::slurp($log) unless $ok;
	return $h;
}

# SIGTERM (or the given signal), then wait; returns the wait status.
sub stop_hostscand {
	my ($h, %o) = @_;
	return undef unless $h && $daemons{$h->{pid}};
	kill($o{signal} // 'TERM', $h->{pid});
	my $end = Time::HiRes::time() + ($o{timeout} // 30);
	while (Time::HiRes::time() < $end) {
		if (waitpid($h->{pid}, WNOHANG) == $h->{pid}) {
			delete $daemons{$h->{pid}};
			return $?;
		}
		Time::HiRes::sleep(0.05);
	}
	kill 'KILL', $h->{pid};
	waitpid($h->{pid}, 0);
	delete $daemons{$h->{pid}};
	return undef;
}

# POSTs the items through the API; returns the job id.
sub submit_job {
	my (@items) = @_;
	my $r = HS::api(POST => '/api/v1/HostScanJob', token => admin_token(),
	    json => \@items);
	die "POST /HostScanJob: $r->{status} $r->{content}\n"
	    unless $r->{status} == 200 && $r->{json};
	return $r->{json}{id};
}

sub job_hosts {
	my ($job) = @_;
	my $out = HS::psql("SELECT coalesce(json_agg(x ORDER BY x.ord), '[]')"
	    . " FROM (SELECT id, ord, state, failure_reason, attempt,"
	    . " status_description, host_id, locked_by, name, os, version,"
	    . " discovered_key_type, discovered_fingerprint,"
	    . " extract(epoch FROM time_finished - time_started) AS secs"
	    . " FROM host_scan_host WHERE job_id = "
	    . HS::sql_quote($job) . ") x");
	return $J->decode($out);
}

# True once every host of the job is in a final state.
sub wait_job {
	my ($job, $timeout) = @_;
	return HS::wait_for(sub {
		HS::psql("SELECT count(*) FROM host_scan_host WHERE job_id = "
		    . HS::sql_quote($job) . " AND state IN (0, 1)") eq '0';
	}, $timeout // 60);
}

# Waits until no host of any job is queued or running, so a test that
# counts workers is not confused by rows other tests left queued.
sub drain_queue {
	my ($timeout) = @_;
	return HS::wait_for(sub {
		HS::psql("SELECT count(*) FROM host_scan_host"
		    . " WHERE state IN (0, 1)") eq '0';
	}, $timeout // 60);
}

# DELETE /HostScanJob/{id}; returns the HTTP status.
sub cancel_job {
	my ($job) = @_;
	my $r = HS::api(DELETE => "/api/v1/HostScanJob/$job",
	    token => admin_token());
	return $r->{status};
}

sub scan_log_of {
	my ($hsh) = @_;
	my $out = HS::psql("SELECT coalesce(json_agg(x ORDER BY x.id), '[]')"
	    . " FROM (SELECT id, attempt, level, step, message FROM scan_log"
	    . " WHERE host_scan_host_id = " . HS::sql_quote($hsh) . ") x");
	return $J->decode($out);
}

END {
	my $status = $?;
	for my $h (values %daemons) {
		kill 'KILL', $h->{pid};
		waitpid($h->{pid}, 0);
	}
	$? = $status;
}

package SSHD;

END {
	my $status = $?;
	$_->stop for values %live;
	$? = $status;
}

1;
