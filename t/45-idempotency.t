#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# Idempotency-Key on the routes that queue jobs: a retried request gets
# the job(s) the first one queued, never new ones; a different request
# under a used key is a 422; only a request that queued its jobs keeps its
# key; keys are per token subject and live 24 hours.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use HS;
use JSON::PP ();
use POSIX qw(_exit);
use Test::More;

need_services();

my $run = "$$-" . time;
my $tok = token(roles => 'Admin', sub => "t45-$run");
my $other = token(roles => 'App', sub => "t45-other-$run");
my $JSON = JSON::PP->new->utf8->canonical;

sub key { return "t45-$run-$_[0]" }

sub jobs_with_key {
	my ($k) = @_;
	return psql('SELECT count(*) FROM host_scan_job WHERE idempotency_key = '
	    . HS::sql_quote($k));
}

sub post {
	my ($k, $body, %o) = @_;
	my %h = (defined $k ? ('Idempotency-Key' => $k) : ());
	return api(POST => $o{path} // '/api/v1/HostScanJob',
	    token => $o{token} // $tok,
	    body => ref $body ? $JSON->encode($body) : $body,
	    headers => { %h, 'Content-Type' => 'application/json' });
}

my $body = [ host_item(dnsHostName => "a45-$run.example.test") ];
my $body2 = [ host_item(dnsHostName => "b45-$run.example.test") ];

# The first request queues a job; its retry gets the same job back.
my $k = key('basic');
my $r1 = post($k, $body);
is($r1->{status}, 200, 'first POST with a key: 200');
ok(!defined $r1->{headers}{'idempotent-replayed'},
    'the first answer is not marked as a replay');
my $job = $r1->{json}{id};
like($job, qr/\A[0-9a-f-]{36}\z/, 'first POST: a job id');
my $r2 = post($k, $body);
is($r2->{status}, 200, 'retry with the same key and body: 200');
is($r2->{json}{id}, $job, 'retry: the same job');
is($r2->{headers}{'idempotent-replayed'}, 'true',
    'retry: Idempotent-Replayed: true');
is(scalar @{$r2->{json}{hostScanHostStatus}}, 1, 'retry: the job\'s hosts');
is($r2->{json}{hostScanHostStatus}[0]{dnsHostName}, "a45-$run.example.test",
    'retry: the job\'s own host');
is(jobs_with_key($k), 1, 'one job in the database for the key');

# The same key with another body, or on another route, is refused.
my $r3 = post($k, $body2);
is($r3->{status}, 422, 'same key, different body: 422');
like($r3->{headers}{'content-type'}, qr{\Aapplication/problem\+json},
    '422 is problem+json');
is($r3->{json}{status}, 422, '422 body status');
like($r3->{json}{detail}, qr/different request/, '422 says why');
is(jobs_with_key($k), 1, 'the 422 queued nothing');
is(post($k, $body, path => '/api/v1/HostScanJob/ByHostIdMultiple')->{status},
    422, 'same key on another route: 422');

# Keys belong to the token's subject: another client may use the same one.
my $r4 = post($k, $body, token => $other);
is($r4->{status}, 200, 'same key from another subject: 200');
isnt($r4->{json}{id}, $job, 'another subject: its own job');
ok(!defined $r4->{headers}{'idempotent-replayed'}, 'another subject: new');

# A key must be 1..255 printable ASCII characters.
for my $bad ('x' x 256, "tab\there") {
	my $r = post($bad, $body);
	is($r->{status}, 400, 'bad key (' . length($bad) . ' chars): 400');
	ok($r->{json}{errors}{'Idempotency-Key'}, 'bad key: errors names it');
}
is(post('k' x 255, $body)->{status}, 200, 'a 255-character key is fine');

# A request that queued nothing does not keep its key.
my $kv = key('invalid-first');
my $bad = [ host_item(sshPort => 70000) ];
is(post($kv, $bad)->{status}, 400, 'invalid body with a key: 400');
is(post($kv, $body)->{status}, 200,
    'the key of a refused request is free for the fixed one');
is(jobs_with_key($kv), 1, 'and it queued one job');
is(post($kv, 'not json')->{status}, 400, 'bad JSON under a used key: 400');

# Without a key every POST is a new job (no change for old clients).
my $n1 = post(undef, $body);
my $n2 = post(undef, $body);
isnt($n1->{json}{id}, $n2->{json}{id}, 'no key: two POSTs, two jobs');

# Concurrent retries: one job, everyone gets it.
my $kc = key('concurrent');
my $bc = [ map { host_item(dnsHostName => "c$_-45-$run.example.test") }
    1 .. 50 ];
my @pids;
my $dir = HS::scratch_dir();
for my $i (1 .. 8) {
	my $pid = fork // die "fork: $!";
	if ($pid == 0) {
		my $r = post($kc, $bc);
		open(my $fh, '>', "$dir/t45-$run-$i") or _exit(1);
		print $fh "$r->{status} " . ($r->{json}{id} // '-') . "\n";
		close $fh;
		_exit(0);
	}
	push @pids, $pid;
}
waitpid($_, 0) for @pids;
my %ids;
for my $i (1 .. 8) {
	open(my $fh, '<', "$dir/t45-$run-$i") or die "t45: $!";
	my ($st, $id) = split ' ', scalar <$fh>;
	close $fh;
	unlink "$dir/t45-$run-$i";
	is($st, 200, "concurrent request $i: 200");
	$ids{$id}++;
}
is(scalar keys %ids, 1, 'eight concurrent requests, one job id');
is(jobs_with_key($kc), 1, 'eight concurrent requests, one job queued');
is(psql("SELECT count(*) FROM host_scan_host h JOIN host_scan_job j"
    . " ON j.id = h.job_id WHERE j.idempotency_key = " . HS::sql_quote($kc)),
    50, 'the one job has its 50 hosts');

# After 24 hours a key may be used again, for anything.
my $ke = key('expired');
my $e1 = post($ke, $body);
is($e1->{status}, 200, 'a key that is about to expire: 200');
psql("UPDATE idempotency_key SET created_at = now() - interval '25 hours'"
    . ' WHERE key = ' . HS::sql_quote($ke));
my $e2 = post($ke, $body2);
is($e2->{status}, 200, 'an expired key with another body: 200');
isnt($e2->{json}{id}, $e1->{json}{id}, 'an expired key: a new job');
ok(!defined $e2->{headers}{'idempotent-replayed'}, 'expired key: not a replay');
# Expired keys are collected as new ones are claimed.
psql("INSERT INTO idempotency_key (sub, key, fingerprint, created_at)"
    . " SELECT 't45-gc', 'gc' || i, 'x', now() - interval '2 days'"
    . " FROM generate_series(1, 5) i");
is(post(key('gc-trigger'), $body)->{status}, 200, 'a new key is claimed');
is(psql(q{SELECT count(*) FROM idempotency_key WHERE sub = 't45-gc'}), 0,
    'claiming a key deletes expired ones');

# Re-scans: ByHostId and ByHostIdMultiple replay their jobs too.
my $cred = credential();
my $plat = psql(q{SELECT id FROM platform WHERE name = 'Linux'});
my ($h1, $h2) = map { psql('SELECT gen_random_uuid()') } 1 .. 2;
psql(<<"SQL");
INSERT INTO host (id, dns_host_name, ip_address, ssh_port, platform_id,
    credential_id)
VALUES ('$h1', 'r1-45-$run.example.test', '127.0.0.45', 22, '$plat', '$cred'),
    ('$h2', 'r2-45-$run.example.test', '127.0.0.46', 22, '$plat', '$cred');
SQL
my $kr = key('rescan');
my $s1 = api(POST => "/api/v1/HostScanJob/ByHostId/$h1", token => $tok,
    headers => { 'Idempotency-Key' => $kr });
is($s1->{status}, 200, 'ByHostId with a key: 200');
my $s2 = api(POST => "/api/v1/HostScanJob/ByHostId/$h1", token => $tok,
    headers => { 'Idempotency-Key' => $kr });
is($s2->{status}, 200, 'ByHostId retry: 200');
is($s2->{json}{id}, $s1->{json}{id}, 'ByHostId retry: the same job');
is($s2->{headers}{'idempotent-replayed'}, 'true', 'ByHostId retry: replayed');
is(api(POST => "/api/v1/HostScanJob/ByHostId/$h2", token => $tok,
    headers => { 'Idempotency-Key' => $kr })->{status}, 422,
    'ByHostId: the same key for another host: 422');

my $km = key('multi');
my $m1 = post($km, [ $h1, $h2 ],
    path => '/api/v1/HostScanJob/ByHostIdMultiple');
is($m1->{status}, 200, 'ByHostIdMultiple with a key: 200');
is(scalar @{$m1->{json}}, 2, 'ByHostIdMultiple: two jobs');
my $m2 = post($km, [ $h1, $h2 ],
    path => '/api/v1/HostScanJob/ByHostIdMultiple');
is($m2->{status}, 200, 'ByHostIdMultiple retry: 200');
is_deeply([ map { $_->{id} } @{$m2->{json}} ],
    [ map { $_->{id} } @{$m1->{json}} ],
    'ByHostIdMultiple retry: the same jobs, in the same order');
is(jobs_with_key($km), 2, 'ByHostIdMultiple: two jobs in the database');

# ByHostIdMultiple is all or nothing: an unknown id queues no job.
my $before = psql('SELECT count(*) FROM host_scan_job');
is(post(undef, [ $h1, '00000000-0000-4000-8000-000000000045' ],
    path => '/api/v1/HostScanJob/ByHostIdMultiple')->{status}, 400,
    'ByHostIdMultiple with an unknown id: 400');
is(psql('SELECT count(*) FROM host_scan_job'), $before,
    'ByHostIdMultiple with an unknown id: no job queued');

# The database going away: a 503 keeps no key, so the retry queues once.
my $kd = key('db-down');
pg_stop();
my $d1 = post($kd, $body);
is($d1->{status}, 503, 'POST with a key while the database is down: 503');
pg_start();
my $d2;
ok(wait_for(sub {
	$d2 = post($kd, $body);
	return $d2->{status} == 200;
}, 30), 'the retry after the database is back: 200');
is(jobs_with_key($kd), 1, 'the retry queued exactly one job');
my $d3 = post($kd, $body);
is($d3->{json}{id}, $d2->{json}{id}, 'and a further retry replays it');

done_testing();
