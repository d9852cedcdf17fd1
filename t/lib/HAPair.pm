# SPDX-License-Identifier: ISC
package HAPair;

# A PostgreSQL high-availability pair on this machine, as an operator
# would run one: one etcd member and two PostgreSQL nodes, each managed by
# its own Patroni, with synchronous replication (synchronous_mode).  The
# nodes listen on loopback addresses of their own (127.0.10.1 and .2,
# etcd on .3), so a multi-host conninfo names two "machines".  Used by
# t/52-failover.t and bench/failover.
#
#   my $ha = HAPair->new(dir => $dir)->start;   # leader + sync standby
#   $ha->conninfo('hostscan_api');             # host=a,b port=p,q ...
#   my $t = $ha->kill_postmaster;              # kill -9 the leader's
#   $ha->wait_leader(not => $old, timeout => 60);
#
# Patroni's timing (ttl, loop_wait, retry_timeout, primary_start_timeout)
# is set at bootstrap in the DCS; see new() for the values and why.
# Everything runs as the postgres user (PostgreSQL refuses root), logs
# under DIR, and is stopped at END even when the caller dies: Patroni
# first (it stops its PostgreSQL), then any postmaster left, then etcd.
# Core Perl only.

use strict;
use warnings;

use File::Path ();
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP ();
use POSIX qw(:sys_wait_h);
use Time::HiRes ();
use Time::Local ();
use HS ();

my $J = JSON::PP->new->utf8->canonical;
my %live;	# "$$:$dir" => object, stopped at END
my $owner = $$;

sub slurp { return HS::slurp($_[0]) }

sub spew {
	my ($path, $text, $mode) = @_;
	open(my $fh, '>', $path) or die "HAPair: $path: $!\n";
	print $fh $text;
	close $fh or die "HAPair: $path: $!\n";
	chmod($mode // 0644, $path);
}

sub free_port {
	my ($addr) = @_;
	my $s = IO::Socket::INET->new(LocalAddr => $addr, LocalPort => 0,
	    Proto => 'tcp', Listen => 1, ReuseAddr => 1)
	    or die "HAPair: no free port on $addr: $!\n";
	my $p = $s->sockport;
	close $s;
	return $p;
}

# Why these values:
#   loop_wait 1: Patroni's HA loop runs every second, so the leader's
#     Patroni sees its postmaster gone within a second, and a standby
#     acts on a released leader key within one loop (it also watches the
#     key, which wakes it earlier).
#   retry_timeout 3: a DCS or PostgreSQL call that fails for less than
#     this does not demote the leader; short, since etcd is local, but
#     long enough to ride out a CPU-starved second on a busy machine.
#   ttl 8 (>= loop_wait + 2 * retry_timeout, what Patroni asks for): when
#     a whole node dies (its Patroni too), its leader key expires after
#     ttl and the standby takes over; that, not the kill of a postmaster,
#     is what ttl bounds.
#   primary_start_timeout 0: a crashed primary fails over to the
#     synchronous standby at once instead of being restarted in place
#     (the default 300 s tries the restart first).
#   synchronous_mode on, synchronous_mode_strict off: every commit is
#     acknowledged only once the standby has it, and only that standby
#     may be promoted, so no acknowledged commit is lost in a failover.
#     Strict mode would also refuse writes while the pair is down to one
#     node; with two nodes that turns every failover into an outage
#     until the old primary is back, so it stays off (see README,
#     "Scaling out").
sub new {
	my ($class, %o) = @_;
	my $dir = $o{dir} // die "HAPair: dir is required\n";
	my $self = bless {
		dir => $dir,
		scope => $o{scope} // "hs-$$",
		ttl => $o{ttl} // 8,
		loop_wait => $o{loop_wait} // 1,
		retry_timeout => $o{retry_timeout} // 3,
		primary_start_timeout => $o{primary_start_timeout} // 0,
		strict => $o{strict} // 0,
		pgbin => $o{pgbin} // pgbin(),
		etcd_addr => '127.0.10.3',
		nodes => [],
		procs => {},
	}, $class;
	for my $i (1, 2) {
		my $addr = "127.0.10.$i";
		push @{$self->{nodes}}, {
			name => "pg$i",
			addr => $addr,
			port => free_port($addr),
			rest => free_port($addr),
			dir => "$dir/pg$i",
		};
	}
	$self->{etcd_port} = free_port($self->{etcd_addr});
	$self->{etcd_peer} = free_port($self->{etcd_addr});
	return $self;
}

sub pgbin {
	my @d = sort { ver($a) <=> ver($b) } glob('/usr/lib/postgresql/*/bin');
	die "HAPair: no PostgreSQL under /usr/lib/postgresql\n" unless @d;
	return $d[-1];
}

sub ver { my ($v) = $_[0] =~ m{/(\d+)/bin\z}; return $v // 0 }

sub nodes { @{$_[0]{nodes}} }
sub node { my ($self, $name) = @_; (grep { $_->{name} eq $name } $self->nodes)[0] }
sub dir { $_[0]{dir} }

# "host=127.0.10.1,127.0.10.2 port=P1,P2 dbname=hostscan user=USER
# target_session_attrs=read-write", plus EXTRA (say, connect_timeout=2).
sub conninfo {
	my ($self, $user, $extra) = @_;
	my @n = $self->nodes;
	my $s = sprintf('host=%s port=%s dbname=hostscan user=%s '
	    . 'target_session_attrs=read-write',
	    join(',', map { $_->{addr} } @n), join(',', map { $_->{port} } @n),
	    $user);
	$s .= " $extra" if defined $extra && length $extra;
	return $s;
}

# The environment psql needs to reach the writable node.
sub psql_env {
	my ($self) = @_;
	my @n = $self->nodes;
	return (PGHOST => join(',', map { $_->{addr} } @n),
	    PGPORT => join(',', map { $_->{port} } @n),
	    PGDATABASE => 'hostscan', PGUSER => 'postgres',
	    PGTARGETSESSIONATTRS => 'read-write', PGCONNECT_TIMEOUT => 3);
}

# The test's own look at the pair.  psql exits 2 when its connection
# went bad: libpq tries the next host when one refuses, but not when a
# standby that accepted it shuts down during the read-write check (Patroni
# stops the old primary for pg_rewind just after the failover), so that
# one is tried again, for up to 15 s (scaled).  Callers only read, or
# write before any failover.
sub psql {
	my ($self, $sql, %o) = @_;
	my %env = $self->psql_env;
	$env{PGDATABASE} = $o{db} if $o{db};
	my $until = Time::HiRes::time() + HS::scaled(15);
	while (1) {
		my ($rc, $out, $err) = HS::run_cmd(['psql', '-XAtq', '-v',
		    'ON_ERROR_STOP=1', '-c', $sql], env => \%env);
		if ($rc == 0) {
			$out =~ s/\s+\z//;
			return $out;
		}
		die "HAPair: psql failed ($rc): $err\nSQL: $sql\n"
		    if $rc != 2 || Time::HiRes::time() > $until;
		Time::HiRes::sleep(0.5);
	}
}

# Starts a process as the postgres user, stdout and stderr to $log, in a
# process group of its own.  scripts/test's safety net gets a pid file.
sub spawn {
	my ($self, $tag, $log, @cmd) = @_;
	my $pid = fork // die "HAPair: fork: $!\n";
	if ($pid == 0) {
		POSIX::setpgid(0, 0);
		open(STDIN, '<', '/dev/null') or POSIX::_exit(126);
		open(STDOUT, '>>', $log) or POSIX::_exit(126);
		open(STDERR, '>&', \*STDOUT) or POSIX::_exit(126);
		my @as = $> == 0 ? ('setpriv', '--reuid=postgres',
		    '--regid=postgres', '--init-groups', '--') : ();
		{ no warnings 'exec'; exec { ($as[0] // $cmd[0]) } @as, @cmd; }
		print STDERR "exec $cmd[0]: $!\n";
		POSIX::_exit(127);
	}
	$self->{procs}{$tag} = $pid;
	if ($ENV{HOSTSCAN_TEST_DIR} && open(my $pf, '>',
	    "$ENV{HOSTSCAN_TEST_DIR}/extra-$pid.pid")) {
		print $pf "$pid\n";
		close $pf;
	}
	return $pid;
}

sub reap {
	my ($self, $tag, $timeout) = @_;
	my $pid = $self->{procs}{$tag} or return 1;
	my $end = Time::HiRes::time() + ($timeout // 0);
	do {
		my $r = waitpid($pid, WNOHANG);
		if ($r == $pid || $r == -1) {
			delete $self->{procs}{$tag};
			unlink "$ENV{HOSTSCAN_TEST_DIR}/extra-$pid.pid"
			    if $ENV{HOSTSCAN_TEST_DIR};
			return 1;
		}
		Time::HiRes::sleep(0.05);
	} while (Time::HiRes::time() < $end);
	return 0;
}

sub stop_proc {
	my ($self, $tag, $timeout) = @_;
	my $pid = $self->{procs}{$tag} or return;
	kill 'TERM', $pid;
	return if $self->reap($tag, $timeout // 20);
	kill 'KILL', -$pid, $pid;
	$self->reap($tag, 5);
}

sub write_node_config {
	my ($self, $n) = @_;
	my $e = "$self->{etcd_addr}:$self->{etcd_port}";
	my $strict = $self->{strict} ? 'true' : 'false';
	spew("$n->{dir}/patroni.yml", <<"EOF", 0600);
# Written by t/lib/HAPair.pm.
scope: $self->{scope}
name: $n->{name}
log:
  level: INFO
  format: '%(asctime)s %(levelname)s: %(message)s'
restapi:
  listen: $n->{addr}:$n->{rest}
  connect_address: $n->{addr}:$n->{rest}
etcd3:
  hosts: $e
watchdog:
  mode: off
bootstrap:
  dcs:
    ttl: $self->{ttl}
    loop_wait: $self->{loop_wait}
    retry_timeout: $self->{retry_timeout}
    primary_start_timeout: $self->{primary_start_timeout}
    synchronous_mode: true
    synchronous_mode_strict: $strict
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        max_connections: 200
        wal_level: replica
        hot_standby: 'on'
        max_wal_senders: 10
        max_replication_slots: 10
        wal_keep_size: 256MB
        synchronous_commit: 'on'
  initdb:
    - encoding: UTF8
    - no-locale
postgresql:
  listen: $n->{addr}:$n->{port}
  connect_address: $n->{addr}:$n->{port}
  data_dir: $n->{dir}/data
  bin_dir: $self->{pgbin}
  pgpass: $n->{dir}/pgpass
  # A spread checkpoint would make the standby's base backup wait
  # minutes for nothing.
  basebackup:
    - checkpoint: fast
  authentication:
    superuser:
      username: postgres
    replication:
      username: replicator
    rewind:
      username: postgres
  parameters:
    unix_socket_directories: '$n->{dir}'
    log_destination: stderr
    log_timezone: UTC
    logging_collector: 'off'
    log_min_messages: warning
    log_line_prefix: '%m [%p] %u\@%d '
  pg_hba:
    - local all all trust
    - local replication all trust
    - host all all 127.0.0.0/8 trust
    - host replication all 127.0.0.0/8 trust
EOF
	my (undef, undef, $uid, $gid) = getpwnam('postgres');
	chown $uid, $gid, "$n->{dir}/patroni.yml";
}

# Dies when a process it started has exited (a Patroni that could not
# start would otherwise show only as a long wait for a leader).
sub check_alive {
	my ($self) = @_;
	for my $tag (sort keys %{$self->{procs}}) {
		my $pid = $self->{procs}{$tag};
		next unless waitpid($pid, WNOHANG) == $pid;
		delete $self->{procs}{$tag};
		my ($name) = $tag =~ /\Apatroni-(\w+)\z/;
		my $log = $name ? $self->node($name)->{dir} . '/patroni.log'
		    : "$self->{dir}/$tag.log";
		die "HAPair: $tag exited (status $?):\n" . slurp($log);
	}
	return 1;
}

sub start_etcd {
	my ($self) = @_;
	my $d = "$self->{dir}/etcd";
	my $a = $self->{etcd_addr};
	my $client = "http://$a:$self->{etcd_port}";
	my $peer = "http://$a:$self->{etcd_peer}";
	$self->spawn('etcd', "$self->{dir}/etcd.log", 'etcd',
	    '--name', 'e1', '--data-dir', $d,
	    '--listen-client-urls', $client, '--advertise-client-urls', $client,
	    '--listen-peer-urls', $peer, '--initial-advertise-peer-urls', $peer,
	    '--initial-cluster', "e1=$peer", '--initial-cluster-state', 'new',
	    '--initial-cluster-token', $self->{scope}, '--log-level', 'warn');
	HS::wait_for(sub {
		my $r = HTTP::Tiny->new(timeout => 2)->get("$client/health");
		$r->{success} && $r->{content} =~ /"health":\s*"true"/;
	}, 30) or die "HAPair: etcd did not come up:\n"
	    . slurp("$self->{dir}/etcd.log");
}

sub start_node {
	my ($self, $n) = @_;
	$n = $self->node($n) unless ref $n;
	$self->spawn("patroni-$n->{name}", "$n->{dir}/patroni.log", 'patroni',
	    "$n->{dir}/patroni.yml");
}

sub start {
	my ($self) = @_;
	my $d = $self->{dir};
	my (undef, undef, $uid, $gid) = getpwnam('postgres');
	die "HAPair: no postgres user\n" unless defined $uid;
	File::Path::make_path($d);
	chmod 0755, $d;
	$live{"$$:$d"} = $self;
	for my $sub ('etcd', map { $_->{name} } $self->nodes) {
		mkdir "$d/$sub";
		chmod 0700, "$d/$sub";
		chown $uid, $gid, "$d/$sub";
	}
	chown $uid, $gid, $d;
	$self->write_node_config($_) for $self->nodes;
	$self->start_etcd;
	my ($n1, $n2) = $self->nodes;
	$self->start_node($n1);
	$self->wait_leader(timeout => 90)
	    or die "HAPair: no leader after bootstrap:\n"
	    . slurp("$n1->{dir}/patroni.log");
	$self->psql('CREATE DATABASE hostscan', db => 'postgres');
	$self->start_node($n2);
	$self->wait_pair(timeout => 120)
	    or die "HAPair: no synchronous standby:\n"
	    . slurp("$n2->{dir}/patroni.log");
	return $self;
}

# Patroni's /cluster as seen by the first node whose REST API answers.
sub cluster {
	my ($self) = @_;
	my $ua = HTTP::Tiny->new(timeout => 2);
	for my $n ($self->nodes) {
		my $r = $ua->get("http://$n->{addr}:$n->{rest}/cluster");
		next unless $r->{success};
		my $c = eval { $J->decode($r->{content}) } or next;
		return $c;
	}
	return undef;
}

sub member_role {
	my ($c, $role) = @_;
	return undef unless $c && ref $c->{members} eq 'ARRAY';
	for my $m (@{$c->{members}}) {
		return $m if ($m->{role} // '') eq $role
		    && ($m->{state} // '') =~ /\A(?:running|streaming)\z/;
	}
	return undef;
}

# The leader's name once there is one that accepts writes (not $o{not}).
sub leader {
	my ($self) = @_;
	my $m = member_role($self->cluster, 'leader') or return undef;
	return $m->{name};
}

sub wait_leader {
	my ($self, %o) = @_;
	my $name;
	HS::wait_for(sub {
		$self->check_alive;
		$name = $self->leader;
		return 0 unless defined $name;
		return 0 if defined $o{not} && $name eq $o{not};
		# Patroni says leader before the promotion has finished.
		my $n = $self->node($name);
		my ($rc, $out) = HS::run_cmd(['psql', '-XAtq', '-h', $n->{addr},
		    '-p', $n->{port}, '-U', 'postgres', '-d', 'postgres', '-c',
		    'SELECT pg_is_in_recovery()']);
		return $rc == 0 && $out =~ /\Af/;
	}, $o{timeout} // 60) or return undef;
	return $name;
}

# True once there is a leader and a streaming synchronous standby.
sub wait_pair {
	my ($self, %o) = @_;
	return HS::wait_for(sub {
		$self->check_alive;
		my $c = $self->cluster;
		my $l = member_role($c, 'leader') or return 0;
		my $s = member_role($c, 'sync_standby') or return 0;
		my $n = $self->node($l->{name});
		my ($rc, $out) = HS::run_cmd(['psql', '-XAtq', '-h', $n->{addr},
		    '-p', $n->{port}, '-U', 'postgres', '-d', 'postgres', '-c',
		    "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'"
		    . " AND state = 'streaming'"]);
		return $rc == 0 && $out =~ /\A1/;
	}, $o{timeout} // 60);
}

# When the named node's PostgreSQL first said, after $after (epoch
# seconds), that it accepts read-write connections: the end of its
# promotion, to the millisecond of its own log.  undef when it has not.
sub writable_since {
	my ($self, $name, $after) = @_;
	my $log = slurp($self->node($name)->{dir} . '/patroni.log');
	my $ready = 'database system is ready to accept connections';
	my $stamp = '(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)'
	    . '\.(\d{3}) UTC';
	while ($log =~ /^$stamp [^\n]*\Q$ready\E$/gm) {
		my $t = Time::Local::timegm($6, $5, $4, $3, $2 - 1, $1) + $7 / 1000;
		return $t if $t > $after;
	}
	return undef;
}

sub postmaster_pid {
	my ($self, $n) = @_;
	$n = $self->node($n) unless ref $n;
	my ($pid) = slurp("$n->{dir}/data/postmaster.pid") =~ /\A(\d+)/;
	return $pid && kill(0, $pid) ? $pid : undef;
}

# kill -9 of the named node's postmaster (default: the leader's); its
# Patroni stays.  Returns the time of the kill.
sub kill_postmaster {
	my ($self, $name) = @_;
	$name //= $self->leader // die "HAPair: no leader to kill\n";
	my $pid = $self->postmaster_pid($name)
	    or die "HAPair: $name has no postmaster\n";
	my $t = Time::HiRes::time();
	kill 'KILL', $pid or die "HAPair: kill $pid: $!\n";
	return $t;
}

# kill -9 of a whole node: its Patroni and its postmaster, as when the
# machine dies.  start_node brings it back (Patroni rewinds it).
sub kill_node {
	my ($self, $name) = @_;
	$name //= $self->leader // die "HAPair: no leader to kill\n";
	my $pm = $self->postmaster_pid($name);
	my $pat = $self->{procs}{"patroni-$name"};
	my $t = Time::HiRes::time();
	kill 'KILL', $pat if $pat;
	kill 'KILL', $pm if $pm;
	$self->reap("patroni-$name", 5) if $pat;
	return $t;
}

sub stop {
	my ($self) = @_;
	return if $self->{stopped}++;
	# Both Patronis at once: each stops its own PostgreSQL.
	for my $n ($self->nodes) {
		my $pid = $self->{procs}{"patroni-$n->{name}"};
		kill 'TERM', $pid if $pid;
	}
	$self->stop_proc("patroni-$_->{name}", 30) for $self->nodes;
	for my $n ($self->nodes) {
		next unless $self->postmaster_pid($n);
		HS::run_cmd([$> == 0 ? ('setpriv', '--reuid=postgres',
		    '--regid=postgres', '--init-groups', '--') : (),
		    "$self->{pgbin}/pg_ctl", '-D', "$n->{dir}/data", '-m',
		    'immediate', '-w', '-t', '20', 'stop']);
	}
	$self->stop_proc('etcd', 10);
	delete $live{"$$:$self->{dir}"};
}

END {
	my $status = $?;
	if ($$ == $owner) {
		eval { $_->stop } for values %live;
	}
	$? = $status;
}

1;
