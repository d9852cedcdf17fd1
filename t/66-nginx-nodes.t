#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# nginx/hostscan-upstream.conf as shipped (only the listen port and the
# two sockets changed) in front of two real responders: both serve the
# load (POSTs and GETs); then, with a POST in flight on every connection,
# one node is SIGKILLed (its supervisor and all its workers).  Exactly the
# requests in flight at that node fail, all POSTs (nginx passes a GET on
# to the other node, never a POST it has sent); every POST answered 200
# has its job in the database; every request after the kill succeeds.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use HS qw(:DEFAULT child_pids note_secret run_cmd sql_quote wait_exit);
use Load;
use Site;
use Test::More;
use JSON::PP ();
use POSIX ();

need_services();

my $J = JSON::PP->new->utf8->canonical;
my $SRC = HS::env_required('HOSTSCAN_SRCDIR');
my $RUN = "nodes-$$-" . time;

is_deeply(Site::server_directives("$SRC/nginx/hostscan-upstream.conf",
    qr/\A(?:fastcgi_pass|fastcgi_next_upstream\w*) /),
    Site::server_directives("$SRC/nginx/hostscan.conf",
    qr/\Afastcgi_pass /),
    'hostscan-upstream.conf has every directive of hostscan.conf, and no other but the upstream ones');

# 4 workers a node for 4 connections: no request ever waits in a backlog
# (where a GET, too, would be stuck behind POSTs waiting for the lock).
my @node = (start_responder(workers => 4), start_responder(workers => 4));
my $port = HS::free_port();
my $web = Site::nginx(site => 'hostscan-upstream.conf', port => $port,
    subs => ['listen 127.0.0.1:8080;' => "listen 127.0.0.1:$port;",
    'unix:/run/hostscan/hostscan-1.sock' => "unix:$node[0]{socket}",
    'unix:/run/hostscan/hostscan-2.sock' => "unix:$node[1]{socket}"]);

sub served {
	my ($h) = @_;
	my $n = () = HS::slurp($h->{log}) =~ /event=request .*status=200/g;
	return $n;
}

my $tok = note_secret(token(roles => 'Admin', sub => $RUN),
    't/66-nginx-nodes.t token');
my %auth = (Authorization => "Bearer $tok");
my $load = Load->start(url => $web->{url}, connections => 4, requests => [
    { method => 'POST', path => '/api/v1/HostScanJob',
	headers => { %auth, 'Content-Type' => 'application/json' },
	body => $J->encode([host_item(dnsHostName => "$RUN.nodes.test")]) },
    { method => 'GET', path => '/api/v1/HostScanJob/{job}', headers => \%auth },
    { method => 'GET', path => '/api/v1/HostScanJob/{job}/Status',
	headers => \%auth }]);

ok(wait_for(sub { served($node[0]) >= 20 && served($node[1]) >= 20 }, 30),
    'both nodes serve the load (20 requests each)');

# At the kill every connection has a POST in flight, and the test knows
# where: a psql session holds a SHARE lock on host_scan_job, so every POST
# waits in the database (GETs do not), until all 4 connections wait, each
# at a worker of one node.  The node with more of them is SIGKILLed, its
# process group at once; the kill is over when none of its processes
# runs.  Then the lock goes.
my $lock = hold_lock();
my (@acc, @n);
ok(wait_for(sub {
	my @q = map { [inflight($_)] } @node;
	@acc = map { $_->[0] } @q;
	@n = map { $_->[0] + $_->[1] } @q;
	return $n[0] + $n[1] == 4 && $acc[0] + $acc[1] == 4
	    && psql(q{SELECT count(*) FROM pg_locks WHERE relation =
	    'host_scan_job'::regclass AND NOT granted}) == 4;
}, 20), 'all 4 connections wait with a POST at a worker of one of the '
    . 'nodes, its statement waiting for the lock');
my $k = $n[0] >= $n[1] ? 0 : 1;
my $victim = $node[$k];
my @pids = ($victim->{pid}, child_pids($victim->{pid}));
is(scalar @pids, 5, "node $k is a supervisor and 4 workers");
my $t0 = Load::now();
kill 'KILL', -$victim->{pid};
ok(wait_for(sub { !grep { alive($_) } @pids }, 5),
    "SIGKILL: the supervisor and all workers of node $k are gone");
my $t1 = Load::now();
isnt(wait_exit($victim->{pid}, 5), undef, "node $k reaped");
print $lock "COMMIT;\n";
close $lock;
is($?, 0, 'the lock is released (psql exits 0)');

sub alive {
	my ($pid) = @_;
	my $st = HS::slurp("/proc/$pid/stat");
	return length $st && $st !~ /\A\d+ \(.*\) [ZX] /s;
}

# Connections of a node being served (accepted) and waiting in its backlog.
sub inflight {
	my ($h) = @_;
	my ($rc, $est) = run_cmd(['ss', '-xH', 'state', 'established', 'src',
	    $h->{socket}]);
	die "ss failed ($rc)\n" if $rc != 0;
	my ($rc2, $lis) = run_cmd(['ss', '-xlH', 'src', $h->{socket}]);
	die "ss failed ($rc2)\n" if $rc2 != 0;
	my ($backlog) = $lis =~ /\Au_str\s+LISTEN\s+(\d+)/;
	return (scalar(() = $est =~ /^u_str/mg), $backlog // 0);
}

sub hold_lock {
	my $pid = open(my $pg, '|-') // die "fork: $!\n";
	if (!$pid) {
		open(STDOUT, '>', '/dev/null') or POSIX::_exit(126);
		exec('psql', '-XAtq', '-v', 'ON_ERROR_STOP=1') or POSIX::_exit(127);
	}
	$pg->autoflush(1);
	print $pg "BEGIN;\nLOCK TABLE host_scan_job IN SHARE MODE;\n";
	ok(wait_for(sub { psql(q{SELECT count(*) FROM pg_locks l JOIN pg_class c
	    ON c.oid = l.relation WHERE c.relname = 'host_scan_job'
	    AND l.mode = 'ShareLock' AND l.granted}) == 1 }, 10),
	    'a psql session holds a SHARE lock on host_scan_job');
	return $pg;
}

my $other = $node[1 - $k];
my $after = served($other);
ok(wait_for(sub { served($other) >= $after + 100 }, 60),
    'the other node serves 100 more requests after the kill');
my $res = $load->stop;
my @recs = @{$res->{records}};
my @fail = @{$res->{non2xx}};
my @inflight = grep { $_->{start} < $t0 && $_->{end} > $t0 } @recs;
diag(sprintf('kill of a node: %d requests (%.0f/s); at the kill %d in '
    . 'flight (%s at the killed node, %d at the other); %d failed (%s); '
    . '%d after it; the kill took %.1f ms; idle keep-alive retries %d, '
    . 'reconnects %d', scalar @recs, $res->{rate}, scalar @inflight,
    "$n[$k] ($acc[$k] accepted)", $n[1 - $k], scalar @fail, join(' ', map { "$_->{method}=$_->{status}" }
    @fail) || '-', scalar(grep { $_->{start} > $t1 } @recs),
    ($t1 - $t0) * 1e3, $res->{retries}, $res->{reconnects}));
is(scalar @inflight, 4, 'at the kill, 4 requests were in flight (one per connection)');
ok($n[$k] >= 2, 'the killed node had at least 2 of them');
is(scalar @fail, $n[$k], 'exactly the requests in flight at the killed node failed');
is(scalar(grep { !($_->{start} < $t1 && $_->{end} > $t0) } @fail), 0,
    'every failed request was in flight at the kill (started before it ended, ended after it began)')
    or diag(explain(\@fail));
is(scalar(grep { $_->{method} ne 'POST' || $_->{status} != 503 } @fail), 0,
    'every failure is a POST answered 503 (nginx does not pass a sent POST on)')
    or diag(explain(\@fail));
my @late = grep { $_->{start} > $t1 } @recs;
ok(@late >= 100, 'at least 100 requests after the kill');
is(scalar(grep { $_->{status} !~ /\A2/ } @late), 0,
    'every request after the kill succeeds');

my @jobs = map { $_->{job} }
    grep { $_->{method} eq 'POST' && $_->{status} == 200 } @recs;
ok(@jobs >= 20, 'POSTs answered 200: ' . scalar @jobs);
is(scalar(grep { !defined } @jobs), 0, 'each 200 POST answered a job id');
my $ids = join(',', map { "'$_'" } grep { defined } @jobs);
is(psql("SELECT count(*) FROM host_scan_job WHERE id IN ($ids)"),
    scalar @jobs, 'every job a POST was answered 200 for is in the database');
# A POST is one statement: one that a worker of the killed node had sent
# still commits when the lock goes, though nobody hears of it.  That is
# why nginx must not send a POST to another node once it was sent.
is(psql('SELECT count(*) FROM host_scan_job WHERE created_by = '
    . sql_quote($RUN)) - @jobs, $acc[$k],
    "the only other jobs are those of the $acc[$k] failed POSTs: each had "
    . 'sent its statement to the database before its worker was killed');

is(HS::stop_nginx($web), 0, 'nginx stops cleanly');
is(stop_responder($other), 0, 'the other node stops cleanly');
done_testing();
