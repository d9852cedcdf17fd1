#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# "apachectl graceful" of a private Apache serving
# apache/hostscan-proxy-fcgi.conf, three times, while t/lib/Load.pm loads
# it with POSTs and GETs over keep-alive connections: every request gets a
# 2xx, every job a 200 POST named exists and no job was made twice.  A
# request Load.pm sent again because Apache had closed the idle
# keep-alive connection before reading it is counted apart (and shown in
# the access log never to have been read); its final answer is what is
# asserted.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use HS qw(:DEFAULT free_port scratch_dir note_secret run_cmd);
use Web qw(render apache_start apache_stop);
use Load ();
use Test::More;
use JSON::PP ();

need_services();

my $T = scratch_dir();
my $RUN = "graceful-$$";
my $tok = note_secret(token(roles => 'Admin', sub => $RUN), $0);
my $CONNS = 4;
my $RELOADS = 3;

# The access log names each attempt (Load.pm's User-Agent).
my $port = free_port();
my $web = apache_start(port => $port,
    site => render('apache/hostscan-proxy-fcgi.conf', {
	'127.0.0.1:8080' => "127.0.0.1:$port",
	'/run/hostscan/hostscan.sock' => "$T/sock/hostscan.sock" }),
    modules => [qw(proxy proxy_fcgi)],
    main => "LogLevel notice\nLogFormat \"%>s %r %{User-Agent}i\" ua\n"
	. "CustomLog \"$T/$RUN-access.log\" ua\n");

my $auth = { Authorization => "Bearer $tok" };
my $load = Load->start(url => $web->{url}, connections => $CONNS,
    tag => $RUN, requests => [
	{ method => 'POST', path => '/api/v1/HostScanJob',
	    headers => { %$auth, 'Content-Type' => 'application/json' },
	    body => JSON::PP->new->encode(
		[host_item(dnsHostName => 'graceful.apache.test')]) },
	{ method => 'GET', path => '/api/v1/HostScanJob/{job}',
	    headers => $auth },
	{ method => 'GET', path => '/api/v1/HostScanJob?limit=2',
	    headers => $auth } ]);

# The number of graceful restarts Apache has logged.
sub restarts {
	my @n = HS::slurp($web->{error_log}) =~ /AH00493: SIGUSR1 received/g;
	return scalar @n;
}
# Requests answered so far (one line each in Load.pm's files).
sub answered {
	my $n = 0;
	$n += () = HS::slurp($_) =~ /^\d+\t/mg for glob "$T/$RUN-c*.tsv";
	return $n;
}

ok(wait_for(sub { answered() >= 10 }, HS::scaled(30)),
    'the load runs before the first graceful restart');
my @at;
for my $k (1 .. $RELOADS) {
	my $t0 = Load::now();
	my ($rc, $out, $err) = run_cmd(['apachectl', 'graceful'],
	    env => { APACHE_ARGUMENTS => "-f $web->{conf}" });
	is($rc, 0, "apachectl graceful #$k exits 0") or diag("$out$err");
	push @at, [$t0, Load::now()];
	ok(wait_for(sub { restarts() >= $k }, HS::scaled(15)),
	    "Apache logged graceful restart #$k");
	my $before = answered();
	ok(wait_for(sub { answered() >= $before + 10 }, HS::scaled(30)),
	    "requests keep being answered after graceful restart #$k");
}
my $res = $load->stop;
ok(kill(0, $web->{pid}), 'the same Apache parent runs after the restarts');

my @recs = @{$res->{records}};
my @posts = grep { $_->{method} eq 'POST' } @recs;
my @ok_posts = grep { $_->{status} == 200 } @posts;
# In flight at a restart: started before apachectl returned and ended
# after it was run.
my $spanning = grep { my $r = $_; grep { $r->{start} < $_->[1] &&
    $r->{end} > $_->[0] } @at } @recs;
my @ms = sort { $a <=> $b } map { ($_->{end} - $_->{start}) * 1000 } @recs;
note(sprintf('graceful under load: %d requests (%d POST) on %d '
    . 'connections, %.0f/s, %d restarts; non-2xx %d; retried on a '
    . 'connection Apache closed while idle %d, reconnected before '
    . 'sending %d; in flight while apachectl ran %d; latency p50 %.1f '
    . 'ms, max %.1f ms', scalar @recs, scalar @posts, $CONNS, $res->{rate},
    $RELOADS, scalar @{$res->{non2xx}}, $res->{retries},
    $res->{reconnects}, $spanning, $ms[$#ms / 2] // 0, $ms[-1] // 0));

cmp_ok(scalar @posts, '>=', 20, 'at least 20 POSTs were sent');
cmp_ok($spanning, '>=', 1,
    'requests were in flight while apachectl graceful ran');
is(scalar @{$res->{non2xx}}, 0, 'every request got a 2xx')
    or diag(join "\n", map { "$_->{status} $_->{method} $_->{path} "
    . "$_->{error}" } grep { defined } @{$res->{non2xx}}[0 .. 9]);
my @ids = grep { defined && /\A[0-9a-f-]{36}\z/ } map { $_->{job} } @ok_posts;
is(scalar @ids, scalar @ok_posts, 'every 200 POST named its job');
my $found = @ids ? psql('SELECT count(*) FROM host_scan_job WHERE id IN ('
    . join(',', map { "'$_'" } @ids) . ')') : 0;
is($found, scalar @ids, 'every job a 200 POST named exists');
is(psql("SELECT count(*) FROM host_scan_job WHERE created_by = '$RUN'"),
    scalar @ok_posts, 'no job was made twice (no retried request had '
    . 'reached the responder)');
my $access = HS::slurp("$T/$RUN-access.log");
my @read = grep { $access =~ /\Q$_\E$/m } @{$res->{retried_agents}};
is(scalar @read, 0, 'Apache never read a request that was then retried')
    or diag("@read");

is(apache_stop($web), 0, 'Apache stops with status 0');
unlike(HS::slurp($web->{error_log}),
    qr/AH00052|segmentation|\[proxy_fcgi:error\]/i,
    'Apache logged no crashed child and no failed FastCGI exchange');

done_testing;
