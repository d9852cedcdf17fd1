#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# Restarts under load, with nothing lost:
#  - nginx/hostscan.conf as shipped (2 workers): `nginx -s reload` five
#    times while t/lib/Load.pm runs POSTs and GETs on kept-alive
#    connections;
#  - the responder restarted while the load runs, with its listening
#    socket kept by a supervisor (this test, in the role systemd's
#    hostscan-fcgi.socket has): three rolling restarts (the new responder
#    starts on the socket, then the old one gets SIGTERM) and two
#    systemd-style ones (SIGTERM, and when it has exited the new one
#    starts: connections wait in the socket's backlog meanwhile); and a
#    responder whose one worker is never idle stops at once on SIGTERM.
# Both: every response 2xx, every POST answered 200 has its job in the
# database.  A kept-alive connection that nginx closed while idle is
# retried by the client (counted apart, and shown never to have been
# read by nginx: the retried attempts are not in its access log).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use HS qw(:DEFAULT child_pids note_secret scratch_dir wait_exit);
use Load;
use Site;
use Test::More;
use IO::Socket::UNIX;
use JSON::PP ();
use POSIX ();
use Socket qw(SOCK_STREAM);
use Time::HiRes ();

need_services();

my $J = JSON::PP->new->utf8->canonical;
my $RUN = "reload-$$-" . time;
my $dir = scratch_dir() . "/$RUN";
mkdir $dir or die "$dir: $!\n";

# The supervisor's socket: made once, kept across every responder.
my $sock = "$dir/hostscan.sock";
my $lsock = IO::Socket::UNIX->new(Type => SOCK_STREAM, Local => $sock,
    Listen => 1024) or die "$sock: $!\n";
chmod 0666, $sock or die "$sock: $!\n";

# A responder generation on the kept socket (fd 0, as systemd's
# StandardInput=socket and spawn-fcgi give it), in its own process group.
my (%gen, $ngen);
sub start_gen {
	my ($workers, $conf) = @_;
	$workers //= 2;
	my $n = ++$ngen;
	my $log = "$dir/responder-$n.log";
	my $pid = fork // die "fork: $!\n";
	if ($pid == 0) {
		POSIX::setpgid(0, 0);
		open(STDIN, '<&', $lsock) or POSIX::_exit(126);
		open(STDOUT, '>>', $log) or POSIX::_exit(126);
		open(STDERR, '>&', \*STDOUT) or POSIX::_exit(126);
		delete $ENV{$_} for qw(GATEWAY_INTERFACE REQUEST_METHOD);
		exec(HS::env_required('HOSTSCAN_FCGI'), '--config',
		    $conf // HS::env_required('HOSTSCAN_CONFIG'), '--workers',
		    $workers) or POSIX::_exit(127);
	}
	# scripts/test stops it if this test cannot.
	open(my $pf, '>', scratch_dir() . "/extra-$pid.pid") or die "$!\n";
	print $pf "$pid\n";
	close $pf;
	$gen{$pid} = $log;
	ok(wait_for(sub { child_pids($pid) == $workers
	    && (() = HS::slurp($log) =~ /event=worker_started/g) == $workers }, 15),
	    "responder $n: supervisor and $workers worker(s) on the kept socket");
	return $pid;
}

# SIGTERM to the supervisor only (systemd's KillMode=mixed); returns the
# wait status, undef if it did not exit in time.
sub stop_gen {
	my ($pid) = @_;
	kill 'TERM', $pid;
	my $st = waitpid_for($pid, 20);
	delete $gen{$pid} if defined $st;
	unlink scratch_dir() . "/extra-$pid.pid" if defined $st;
	return $st;
}

sub waitpid_for {
	my ($pid, $timeout) = @_;
	my $st;
	wait_for(sub {
		my $r = waitpid($pid, POSIX::WNOHANG());
		$st = $? if $r == $pid;
		return $r == $pid || $r == -1;
	}, $timeout);
	return $st;
}

END {
	for my $pid (keys %gen) {
		kill 'TERM', $pid;
		next if defined waitpid_for($pid, 15);
		kill 'KILL', -$pid, $pid;
		waitpid($pid, 0);
	}
}

my $tok = note_secret(token(roles => 'Admin', sub => $RUN),
    't/67-reload.t token');
my %auth = (Authorization => "Bearer $tok");
my @mix = (
    { method => 'POST', path => '/api/v1/HostScanJob',
	headers => { %auth, 'Content-Type' => 'application/json' },
	body => $J->encode([host_item(dnsHostName => "$RUN.reload.test")]) },
    { method => 'GET', path => '/api/v1/HostScanJob/{job}', headers => \%auth },
    # A bigger job: longer requests, more of them in flight at a SIGTERM.
    { method => 'POST', path => '/api/v1/HostScanJob',
	headers => { %auth, 'Content-Type' => 'application/json' },
	body => $J->encode([map { host_item(dnsHostName => "h$_.$RUN.reload.test") }
	    1 .. 50]) },
    { method => 'GET', path => '/api/v1/HostScanJob/{job}/Status',
	headers => \%auth });

# The checks both phases share; returns the figures line.
sub check_run {
	my ($what, $res, $min) = @_;
	my @recs = @{$res->{records}};
	ok(@recs >= $min, "$what: at least $min requests (" . scalar(@recs) . ')');
	my @bad = @{$res->{non2xx}};
	is(scalar @bad, 0, "$what: no response other than 2xx")
	    or diag(explain([@bad[0 .. ($#bad < 9 ? $#bad : 9)]]));
	my @jobs = grep { defined } map { $_->{job} }
	    grep { $_->{method} eq 'POST' && $_->{status} == 200 } @recs;
	is(scalar(@jobs), scalar(grep { $_->{method} eq 'POST'
	    && $_->{status} == 200 } @recs), "$what: every 200 POST answered a job id");
	my $ids = join(',', map { "'$_'" } @jobs) || 'NULL';
	is(psql("SELECT count(*) FROM host_scan_job WHERE id IN ($ids)"),
	    scalar @jobs, "$what: every job a POST was answered 200 for is in the database");
	return sprintf('%s: %d requests (%.0f/s, %d POSTs answered 200), %d '
	    . 'non-2xx, %d idle keep-alive retries, %d reconnects to an idle-'
	    . 'closed connection', $what, scalar @recs, $res->{rate},
	    scalar @jobs, scalar @{$res->{non2xx}}, $res->{retries},
	    $res->{reconnects});
}

my $first = start_gen();
my $port = HS::free_port();
my $web = Site::nginx(site => 'hostscan.conf', port => $port, workers => 2,
    subs => ['listen 127.0.0.1:8080;' => "listen 127.0.0.1:$port;",
    'unix:/run/hostscan/hostscan.sock' => "unix:$sock"]);

# nginx -s reload, five times, under load.
{
	my $load = Load->start(url => $web->{url}, connections => 4,
	    tag => "$RUN-nginx", requests => \@mix);
	my $ok = 0;
	for my $i (1 .. 5) {
		Time::HiRes::sleep(0.5);
		$ok += Site::reload($web) ? 1 : 0;
	}
	Time::HiRes::sleep(0.5);
	my $res = $load->stop;
	is($ok, 5, 'nginx -s reload x5: each time every old worker exited');
	diag(check_run('nginx -s reload x5', $res, 50));
	# Every attempt nginx read is in its access log: every answered one,
	# and none of those the client retried.
	my $log = HS::slurp("$web->{prefix}/access.log");
	my %seen = map { $_ => 1 } $log =~ /"(hs-load\/1 \Q$RUN\E-nginx-[^"]+)"$/mg;
	is(scalar(grep { !$seen{$_->{agent}} } @{$res->{records}}), 0,
	    'nginx reload: every answered request is in the access log');
	is(scalar(grep { $seen{$_} } @{$res->{retried_agents}}), 0,
	    'nginx reload: no retried attempt had been read by nginx ('
	    . scalar(@{$res->{retried_agents}}) . ' retried)');
}

# The responder restarted under load, the socket kept throughout.
{
	my $load = Load->start(url => $web->{url}, connections => 4,
	    tag => "$RUN-fcgi", requests => \@mix);
	my $old = $first;
	my (@terms, $status_ok);
	$status_ok = 0;
	for my $i (1 .. 3) {
		Time::HiRes::sleep(1);
		my $new = start_gen();
		push @terms, Load::now();
		$status_ok++ if (stop_gen($old) // -1) == 0;
		$old = $new;
	}
	my @gaps;
	for my $i (1 .. 2) {
		Time::HiRes::sleep(1);
		my $t = Load::now();
		push @terms, $t;
		$status_ok++ if (stop_gen($old) // -1) == 0;
		$old = start_gen();
		push @gaps, [$t, Load::now()];
	}
	Time::HiRes::sleep(1);
	my $res = $load->stop;
	is($status_ok, 5, 'each old responder exited with status 0 after SIGTERM');
	diag(check_run('responder restarts x5', $res, 50));
	# Requests the old responders finished after their SIGTERM, and ones
	# sent between a systemd-style SIGTERM and the start of the next
	# responder (they waited in the backlog: no worker accepts after
	# SIGTERM).
	my $finished = 0;
	for my $n (1 .. 5) {
		my $l = HS::slurp("$dir/responder-$n.log");
		my $stop = index($l, 'event=stopping');
		$finished += () = substr($l, $stop) =~ /event=request /g
		    if $stop >= 0;
	}
	my $waited = grep { my $r = $_; grep { $r->{start} > $_->[0]
	    && $r->{start} < $_->[1] } @gaps } @{$res->{records}};
	diag("responder restarts: $finished requests finished after a SIGTERM, "
	    . "$waited sent between a SIGTERM and the next responder's start");
	ok($finished >= 1, 'old responders finished requests they had after SIGTERM');
	ok($waited >= 1, 'requests sent between a SIGTERM and the next start were served');
	is(scalar(grep { $_->{error} =~ /timeout/ } @{$res->{records}}), 0,
	    'no request timed out');
	is(stop_gen($old), 0, 'the last responder exits with status 0');
}

# A worker that never finds its socket idle (8 connections for its one
# worker: one is always waiting) still stops at SIGTERM once its request
# is done, not when the grace period (30 s here) runs out and the
# supervisor's SIGKILL cuts the request it is serving.
{
	my $conf = "$dir/grace.conf";
	HS::write_config_copy($conf, { shutdown_grace_seconds => 30 }, ['listen']);
	my $busy = start_gen(1, $conf);
	my $log = "$dir/responder-$ngen.log";
	my $load = Load->start(url => $web->{url}, connections => 8,
	    tag => "$RUN-busy", requests => \@mix);
	ok(wait_for(sub { (() = HS::slurp($log) =~ /event=request /g) >= 30 }, 30),
	    'one worker, 8 connections: 30 requests served');
	my $t = Load::now();
	my $st = stop_gen($busy);
	my $took = Load::now() - $t;
	is($st, 0, 'the busy responder exits with status 0 after SIGTERM');
	ok($took < HS::scaled(3), sprintf('... %.2f s after it, not at the '
	    . 'end of the grace period', $took));
	my $last = start_gen();
	Time::HiRes::sleep(0.5);
	diag(check_run('busy responder stopped', $load->stop, 30));
	is(stop_gen($last), 0, 'the last responder exits with status 0');
}

is(HS::stop_nginx($web), 0, 'nginx stops cleanly');
done_testing();
