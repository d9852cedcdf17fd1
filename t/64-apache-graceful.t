#!/usr/bin/perl
# "apachectl graceful" of a private Apache serving
# apache/hostscan-proxy-fcgi.conf while clients load it with POSTs (each
# with an Idempotency-Key) and GETs over keep-alive connections: every
# request gets a 2xx, and every job a 200 POST answered exists.  A request
# the client had to send again because Apache closed its idle keep-alive
# connection (Web.pm's load client does so only for a GET or a keyed POST)
# is counted apart and reported; its final answer is what is asserted.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use HS qw(:DEFAULT free_port scratch_dir note_secret run_cmd);
use Web qw(render apache_start apache_stop load_start load_stop);
use Test::More;
use Time::HiRes ();

need_services();

my $T = scratch_dir();
my $RUN = "graceful-$$";
my $tok = note_secret(token(roles => 'Admin', sub => $RUN), $0);
my $CLIENTS = 4;
my $RELOADS = 3;

my $port = free_port();
my $web = apache_start(port => $port,
    site => render('apache/hostscan-proxy-fcgi.conf', {
	'127.0.0.1:8080' => "127.0.0.1:$port",
	'/run/hostscan/hostscan.sock' => "$T/sock/hostscan.sock" }),
    modules => [qw(proxy proxy_fcgi)], main => "LogLevel notice\n");

my $load = load_start(url => $web->{url}, clients => $CLIENTS,
    file => "$T/$RUN-load.txt", next => sub {
	my ($i, $seq) = @_;
	return ['GET', '/api/v1/HostScanJob?limit=2', token => $tok]
	    if $seq % 3 == 0;
	return ['POST', '/api/v1/HostScanJob', token => $tok,
	    headers => { 'Idempotency-Key' => "$RUN-$i-$seq" },
	    json => [host_item(dnsHostName => "g$i-$seq.graceful.test")]];
    });

# The number of graceful restarts Apache has logged.
sub restarts {
	my @n = HS::slurp($web->{error_log}) =~ /AH00493: SIGUSR1 received/g;
	return scalar @n;
}
sub answered { return scalar(() = HS::slurp("$T/$RUN-load.txt") =~ /\n/g) }

ok(wait_for(sub { answered() >= 10 }, HS::scaled(30)),
    'the load runs before the first graceful restart');
my @at;
for my $k (1 .. $RELOADS) {
	my ($rc, $out, $err) = run_cmd(['apachectl', 'graceful'],
	    env => { APACHE_ARGUMENTS => "-f $web->{conf}" });
	is($rc, 0, "apachectl graceful #$k exits 0") or diag("$out$err");
	push @at, Time::HiRes::time();
	ok(wait_for(sub { restarts() >= $k }, HS::scaled(15)),
	    "Apache logged graceful restart #$k");
	my $before = answered();
	ok(wait_for(sub { answered() >= $before + 10 }, HS::scaled(30)),
	    "requests keep being answered after graceful restart #$k");
}
my $recs = load_stop($load);
is(kill(0, $web->{pid}), 1, 'the same Apache parent runs after the restarts');

my @bad = grep { $_->{status} !~ /\A2\d\d\z/ } @$recs;
my @posts = grep { $_->{method} eq 'POST' } @$recs;
my @ok_posts = grep { $_->{status} == 200 } @posts;
my $retried = grep { $_->{retries} > 0 } @$recs;
my $spanning = grep { my $r = $_; grep { $r->{start} < $_ && $_ < $r->{end} }
    @at } @$recs;
my @ms = sort { $a <=> $b } map { ($_->{end} - $_->{start}) * 1000 } @$recs;
note(sprintf('graceful under load: %d requests (%d POST) from %d clients, '
    . '%d restarts; non-2xx %d; retried after a closed keep-alive '
    . 'connection %d; in flight at a restart %d; latency p50 %.1f ms, '
    . 'max %.1f ms', scalar @$recs, scalar @posts, $CLIENTS, $RELOADS,
    scalar @bad, $retried, $spanning, $ms[$#ms / 2] // 0, $ms[-1] // 0));

cmp_ok(scalar @posts, '>=', 20, 'at least 20 POSTs were sent');
is(scalar @bad, 0, 'every request got a 2xx')
    or diag(join "\n", map { "$_->{status} $_->{method} $_->{path}" }
    @bad[0 .. ($#bad < 9 ? $#bad : 9)]);
my @ids = grep { /\A[0-9a-f-]{36}\z/ } map { $_->{job} } @ok_posts;
is(scalar @ids, scalar @ok_posts, 'every 200 POST named its job');
my $found = @ids ? psql('SELECT count(*) FROM host_scan_job WHERE id IN ('
    . join(',', map { "'$_'" } @ids) . ')') : 0;
is($found, scalar @ids, 'every job a 200 POST answered exists');
my $per_key = psql('SELECT count(*) FROM host_scan_job j JOIN '
    . "host_scan_host h ON h.job_id = j.id WHERE h.dns_host_name LIKE "
    . "'%.graceful.test' AND j.created_by = '$RUN'");
is($per_key, scalar @ok_posts, 'no job was made twice (a retried POST '
    . 'got the first answer back)');

is(apache_stop($web), 0, 'Apache stops with status 0');
unlike(HS::slurp($web->{error_log}), qr/AH00052|segmentation|\[proxy_fcgi:error\]/i,
    'Apache logged no crashed child and no failed FastCGI exchange');

done_testing;
