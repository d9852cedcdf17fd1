# SPDX-License-Identifier: ISC
# Prometheus metrics of both daemons: promtool accepts both outputs; the
# responder's counters, shared by its prefork workers, add up exactly over
# requests served by every worker; hostscand counts its scans, leases and
# reaped leases and reads the queue's depth from the database; a real
# Prometheus scrapes both and answers the POST count through PromQL; and
# hostile scrapers (huge, slow, garbage) get a bounded answer without
# stalling either daemon.
use strict;
use warnings;

use IO::Socket::INET;
use JSON::PP ();
use Test::More;
use Time::HiRes ();

use HS qw(:DEFAULT free_port scratch_dir run_cmd child_pids wait_exit scaled);
use SSHD;
use Check qw(log_size log_since until_every_worker);

SSHD::need_targets();

my $dir = scratch_dir();
my $run = "$$-" . time;
my $J = JSON::PP->new->utf8;

# One HTTP/1.0 request on a fresh connection: (status, headers, body).
sub http_get {
	my ($port, $path) = @_;
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
	    PeerPort => $port, Proto => 'tcp', Timeout => 5)
	    or return (0, '', '');
	print $s "GET $path HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
	return read_answer($s);
}

sub read_answer {
	my ($s) = @_;
	my $all = '';
	$s->timeout(scaled(10));
	while (1) {
		my $n = sysread($s, my $buf, 65536);
		last unless $n;
		$all .= $buf;
	}
	close $s;
	my ($head, $body) = split /\r\n\r\n/, $all, 2;
	my ($status) = ($head // '') =~ m{\AHTTP/1\.1 (\d{3}) };
	return ($status // 0, $head // '', $body // '');
}

sub scrape {
	my ($port) = @_;
	my ($st, $head, $body) = http_get($port, '/metrics');
	die "scrape of 127.0.0.1:$port answered $st\n" unless $st == 200;
	return $body;
}

# The value of one sample: name and its labels exactly as written.
sub sample {
	my ($text, $series) = @_;
	return $text =~ /^\Q$series\E (\S+)$/m ? $1 + 0 : 0;
}

sub promtool_ok {
	my ($text, $what) = @_;
	my $f = "$dir/metrics-$run-$what.txt";
	open(my $fh, '>', $f) or die "$f: $!\n";
	print $fh $text;
	close $fh;
	my ($rc, $out, $err) = run_cmd(['sh', '-c', 'promtool check metrics < "$1"',
	    'sh', $f]);
	is($rc, 0, "promtool check metrics passes on $what") or diag "$out$err";
}

# ---- the responder: three workers, one set of counters ----

my $mport = free_port();
my $resp = start_responder(workers => 3,
    config => { metrics_listen => "127.0.0.1:$mport" });
my $ngx = nginx_for_socket($resp->{socket});
my $url = $ngx->{url};
ok(HS::wait_for(sub { HS::tcp_connects($mport) }, 10),
    'the responder listens on metrics_listen');
my ($mpid) = SSHD::slurp($resp->{log}) =~ /event=metrics_started metrics_pid=(\d+)/;
ok($mpid, 'a child of the supervisor serves the metrics');
my @workers = grep { $_ != ($mpid // 0) } child_pids($resp->{pid});
is(scalar @workers, 3, 'three workers besides it');

my $token = HS::token(roles => 'Admin', sub => "t65-$run");
my $post_path = '/api/v1/HostScanJob';
my $before = scrape($mport);
my $POST = 'hostscan_api_requests_total{route="/api/v1/HostScanJob",method="POST",code="2xx"}';
my $POSTN = 'hostscan_api_request_duration_seconds_count{route="/api/v1/HostScanJob",method="POST"}';

my $post = sub {
	api(POST => $post_path, url => $url, token => $token,
	    json => [host_item(dnsHostName => "m-$run.example.test")]);
};
my $by = until_every_worker(log => $resp->{log}, workers => \@workers,
    max => 150, send => $post);
my @answers = map { @$_ } values %$by;
push @answers, $post->() for 1 .. 21;
my $posts = scalar @answers;
is(scalar(grep { $_->{status} == 200 } @answers), $posts,
    "all $posts POSTs answered 200");
is(scalar(grep { $by->{$_} } @workers), 3,
    'every one of the three workers served some of them')
    or diag explain { map { $_ => scalar @{$by->{$_}} } keys %$by };

my $after = scrape($mport);
promtool_ok($after, 'the responder');
is(sample($after, $POST) - sample($before, $POST), $posts,
    "requests_total of POST /HostScanJob 2xx grew by exactly $posts, "
    . 'summed over the workers');
is(sample($after, $POSTN) - sample($before, $POSTN), $posts,
    'its latency histogram counted each once');
is(sample($after, 'hostscan_api_request_duration_seconds_bucket{route="/api/v1/HostScanJob",method="POST",le="+Inf"}'),
    sample($after, $POSTN), '+Inf bucket equals _count');
my $hits = sample($after, 'hostscan_api_token_cache_hits_total')
    - sample($before, 'hostscan_api_token_cache_hits_total');
my $misses = sample($after, 'hostscan_api_token_cache_misses_total')
    - sample($before, 'hostscan_api_token_cache_misses_total');
is($misses, 3, 'token cache: one miss per worker (its first sight of the token)');
is($hits, $posts - 3, 'token cache: every other POST a hit');
is(sample($after, 'hostscan_api_requests_in_flight'), 0, 'nothing in flight');
is(sample($after, 'hostscan_api_workers'), 3, 'three workers alive');

# Unmatched paths are one series, "other": raw paths never become labels.
my $id_path = "/api/v1/NoSuchThing/secret-$run";
for (1 .. 4) {
	is(api(GET => $id_path, url => $url)->{status}, 404, 'unmatched path: 404');
}
my $ids = '/api/v1/HostScanJob/' . lc('6F1C2D3E-0000-4000-8000-00000000AB65');
is(api(GET => $ids, url => $url, token => $token)->{status}, 404,
    'unknown job: 404');
my $m2 = scrape($mport);
is(sample($m2, 'hostscan_api_requests_total{route="other",method="other",code="4xx"}')
    - sample($after, 'hostscan_api_requests_total{route="other",method="other",code="4xx"}'),
    4, 'four unmatched requests counted under route="other"');
is(sample($m2, 'hostscan_api_requests_total{route="/api/v1/HostScanJob/{id}",method="GET",code="4xx"}')
    - sample($after, 'hostscan_api_requests_total{route="/api/v1/HostScanJob/{id}",method="GET",code="4xx"}'),
    1, 'a job id is counted under its route template');
unlike($m2, qr/secret-\Q$run\E|00000000ab65|m-\Q$run\E/i,
    'no path, id or host name of a request in the metrics');
unlike($m2, qr/\Q$token\E|127\.0\.0\.1/, 'no token and no caller address either');

# A database restart: 503s counted exactly, and every reconnect a worker
# logged.
{
	my $b = scrape($mport);
	my $off = log_size($resp->{log});
	pg_stop();
	my $n503 = 0;
	$n503 += api(GET => '/api/v1/Health', url => $url)->{status} == 503
	    for 1 .. 5;
	is($n503, 5, 'database down: five Health checks answered 503');
	pg_start();
	ok(HS::wait_for(sub { api(GET => '/api/v1/Health', url => $url)->{status}
	    == 200 }, 20), 'database back: Health answers 200');
	until_every_worker(log => $resp->{log}, workers => \@workers, max => 150,
	    send => sub { api(GET => '/api/v1/Health', url => $url) });
	my $a = scrape($mport);
	my @re = log_since($resp->{log}, $off) =~
	    /^\S+ \S+ prog=\S+ pid=(\d+) event=db_connected /mg;
	is(sample($a, 'hostscan_api_unavailable_total')
	    - sample($b, 'hostscan_api_unavailable_total'), 5,
	    'unavailable_total grew by exactly the five 503s');
	is(sample($a, 'hostscan_api_requests_total{route="/api/v1/Health",method="GET",code="5xx"}')
	    - sample($b, 'hostscan_api_requests_total{route="/api/v1/Health",method="GET",code="5xx"}'),
	    5, 'and so did Health\'s 5xx class');
	cmp_ok(scalar @re, '>=', 1, 'workers reconnected after the restart');
	is(sample($a, 'hostscan_api_db_reconnects_total')
	    - sample($b, 'hostscan_api_db_reconnects_total'), scalar @re,
	    'db_reconnects_total grew by exactly the reconnects the workers '
	    . 'logged (' . join(', ', map { "pid $_" } @re) . ')');
	is(sample($a, 'hostscan_api_db_connects_total')
	    - sample($b, 'hostscan_api_db_connects_total'), scalar @re,
	    'and so did db_connects_total');
}

# The counters outlive a worker and the metrics server: the supervisor
# made them, and restarts both.
{
	my $b = scrape($mport);
	kill 'KILL', $workers[0];
	kill 'KILL', $mpid;
	my $again;
	ok(HS::wait_for(sub {
		my ($st, $h, $body) = http_get($mport, '/metrics');
		$again = $body if $st == 200;
		return $st == 200 && sample($body, 'hostscan_api_workers') == 3;
	}, 15), 'a killed worker and metrics server are replaced');
	is(sample($again // '', $POST), sample($b, $POST),
	    'POST /HostScanJob still counts the same');
	is(sample($again // '', 'hostscan_api_requests_in_flight'), 0,
	    'the killed worker is not left in flight');
	like(SSHD::slurp($resp->{log}), qr/event=metrics_died metrics_pid=$mpid\b/,
	    'the supervisor logged the metrics server\'s death');
}

# ---- hostscand: scans, leases, reaped leases, the queue's depth ----

my $keycred = "t65-pw-$run";
HS::note_secret("t65-S3cret-$run-Q", 't/69-metrics.t credential');
credential(name => $keycred, username => 'hsscan', secret => "t65-S3cret-$run-Q");
my $silent = SSHD::silent_listener('127.0.0.65');
my $refused = SSHD::free_port('0.0.0.0');

sub items {
	my ($n, $addr, $port) = @_;
	return map { host_item(dnsHostName => undef, ipAddress => $addr,
	    sshPort => $port, credentialName => $keycred) } 1 .. $n;
}

# Instance B claims two silent hosts and is killed; A reaps them.
my $b = start_hostscand(workers => 2, lease => 3, step => 30,
    host_timeout => 60);
ok(drain_queue(60), 'queue drained of other tests\' rows');
my $stuck = submit_job(items(2, $silent->addr, $silent->port));
ok(HS::wait_for(sub { HS::psql("SELECT count(*) FROM host_scan_host WHERE "
    . "job_id = " . HS::sql_quote($stuck) . " AND state = 1 AND locked_by = "
    . HS::sql_quote($b->{instance})) eq '2' }, 20),
    'instance B runs both silent hosts');
stop_hostscand($b, signal => 'KILL');

my $sport = free_port();
my $a = start_hostscand(workers => 2, lease => 3, step => 2, host_timeout => 30,
    metrics => "127.0.0.1:$sport");
ok(HS::wait_for(sub { HS::tcp_connects($sport) }, 10),
    'hostscand listens on --metrics-listen');
my $m = scrape($sport);
is(sample($m, 'hostscand_queue_query_ok'), 1, 'the queue query answered');
is(sample($m, 'hostscand_queue_hosts{state="Running"}')
    + sample($m, 'hostscand_queue_hosts{state="Queued"}'), 2,
    'queue depth from the database: B\'s two hosts, Running or Queued');
ok(wait_job($stuck, 60), 'A reaps B\'s hosts after the lease and ends them');
$m = scrape($sport);
promtool_ok($m, 'hostscand');
is(sample($m, 'hostscand_leases_reaped_total{action="requeued"}'), 2,
    'leases_reaped_total{requeued} is exactly B\'s two hosts');
is(sample($m, 'hostscand_scans_total{outcome="Failed",reason="ActionTimeout"}'),
    2, 'and A scanned both: Failed / ActionTimeout');

# Two workers, four silent hosts: two run, two wait in the queue.
my $slow = submit_job(items(4, $silent->addr, $silent->port));
ok(HS::wait_for(sub {
	my $t = scrape($sport);
	sample($t, 'hostscand_workers_busy') == 2 &&
	    sample($t, 'hostscand_queue_hosts{state="Queued"}') == 2 &&
	    sample($t, 'hostscand_queue_hosts{state="Running"}') == 2;
}, 20), 'busy workers 2, Queued 2, Running 2 while the silent hosts hang');
ok(wait_job($slow, 60), 'the four silent hosts end');
my $job = submit_job(items(5, '127.0.0.66', $refused));
ok(wait_job($job, 30), 'five refused hosts end');
$m = scrape($sport);
is(sample($m, 'hostscand_scans_total{outcome="Failed",reason="FailedToConnect"}'),
    5, 'scans_total{Failed,FailedToConnect} is exactly 5');
is(sample($m, 'hostscand_scans_total{outcome="Failed",reason="ActionTimeout"}'),
    6, 'scans_total{Failed,ActionTimeout} is 2 + 4');
is(sample($m, 'hostscand_scan_duration_seconds_count'), 11,
    'the duration histogram holds the 11 scans');
cmp_ok(sample($m, 'hostscand_scan_duration_seconds_bucket{le="1"}'), '>=', 5,
    'the refused ones under a second');
cmp_ok(sample($m, 'hostscand_lease_renewals_total'), '>=', 2,
    'leases were renewed while the silent hosts hung');
is(sample($m, 'hostscand_workers_busy'), 0, 'no worker busy now');
is(sample($m, 'hostscand_queue_hosts{state="Queued"}'), 0, 'queue empty');

# ---- hostile scrapers ----

sub raw {
	my ($port, $bytes) = @_;
	my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
	    PeerPort => $port, Proto => 'tcp', Timeout => 5) or die "connect: $!";
	print $s $bytes;
	return $s;
}

for my $t ([$mport, 'responder'], [$sport, 'hostscand']) {
	my ($port, $who) = @$t;
	my ($st) = read_answer(raw($port, "\x00\xffgarbage\r\n\r\n"));
	is($st, 400, "$who: garbage gets 400");
	($st) = read_answer(raw($port, "DELETE /metrics HTTP/1.1\r\n\r\n"));
	is($st, 405, "$who: DELETE gets 405");
	($st) = read_answer(raw($port, "GET /metrics/../x HTTP/1.1\r\n\r\n"));
	is($st, 404, "$who: another path gets 404");
	($st) = read_answer(raw($port, 'GET /metrics HTTP/1.1' . "\r\nX: "
	    . ('a' x 60000)));
	is($st, 431, "$who: a 60 kB request head gets 431");

	# A client that never finishes its request holds the metrics
	# server for the read deadline, and nothing else.
	my $t0 = Time::HiRes::time();
	my $slowc = raw($port, 'GET /metr');
	my $ok = $who eq 'responder' ?
	    api(GET => '/api/v1/Health', url => $url)->{status} == 200 :
	    wait_job(submit_job(items(3, '127.0.0.66', $refused)), 10);
	ok($ok, "$who: serves its real work while a scraper stalls");
	($st) = read_answer($slowc);
	my $dt = Time::HiRes::time() - $t0;
	is($st, 408, "$who: the stalled scraper gets 408");
	cmp_ok($dt, '<=', scaled(2) + 2, "$who: after the 2 s read deadline");
	cmp_ok(length(scrape($port)), '>', 100, "$who: the next scrape is served");
}

# ---- a real Prometheus scrapes both ----

{
	my $pdir = "$dir/prometheus-$run";
	mkdir $pdir or die "$pdir: $!";
	my $pport = free_port();
	open(my $fh, '>', "$pdir/prometheus.yml") or die "$!";
	print $fh <<"EOF";
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: hostscan
    static_configs:
      - targets: ['127.0.0.1:$mport']
  - job_name: hostscand
    static_configs:
      - targets: ['127.0.0.1:$sport']
EOF
	close $fh;
	my $ppid = HS::spawn_logged(['prometheus',
	    "--config.file=$pdir/prometheus.yml",
	    "--storage.tsdb.path=$pdir/data",
	    "--web.listen-address=127.0.0.1:$pport"], "$pdir/prometheus.log");
	my $q = sub {
		my ($expr) = @_;
		my $r = api(GET => '/api/v1/query?query=' . uri($expr),
		    url => "http://127.0.0.1:$pport");
		return undef unless $r->{status} == 200 && $r->{json};
		my $res = $r->{json}{data}{result} // [];
		return @$res ? $res->[0]{value}[1] : undef;
	};
	my $postq = 'sum(hostscan_api_requests_total{route="/api/v1/HostScanJob",method="POST"})';
	my $got;
	ok(HS::wait_for(sub { ($got = $q->($postq) // -1) == $posts }, 60),
	    "PromQL through Prometheus' HTTP API: $posts POSTs")
	    or diag "got $got; log:\n" . SSHD::slurp("$pdir/prometheus.log");
	ok(HS::wait_for(sub { ($got = $q->('up{job="hostscand"}') // -1) == 1 },
	    30), 'Prometheus scrapes hostscand') or diag "up: $got";
	ok(HS::wait_for(sub { ($got = $q->('hostscand_scans_total{outcome='
	    . '"Failed",reason="FailedToConnect"}') // -1) == 8 }, 30),
	    'and sees its 8 refused scans') or diag "got $got";
	kill 'TERM', $ppid;
	ok(defined wait_exit($ppid, 20), 'Prometheus stops');
}

sub uri {
	my ($s) = @_;
	$s =~ s/([^A-Za-z0-9_.~-])/sprintf('%%%02X', ord $1)/ge;
	return $s;
}

is(stop_hostscand($a), 0, 'hostscand stops on SIGTERM (the metrics thread too)');
stop_nginx($ngx);
my $st = stop_responder($resp);
is($st, 0, 'the responder stops on SIGTERM');
ok(!HS::tcp_connects($mport), 'and its metrics server is gone');
$silent->stop;

done_testing();
