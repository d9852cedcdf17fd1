#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# Every phase-1 route's success case, checked on the wire against
# docs/openapi.yaml and in PostgreSQL against what the POST promised.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use HS;
use Test::More;
use JSON::PP ();

need_services();

my $UUID = qr/\A[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\z/;
my $RFC3339Z = qr/\A\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z\z/;
my $ZERO = '00000000-0000-0000-0000-000000000000';
my $J = JSON::PP->new->utf8->allow_nonref->canonical;

my $SUB = 'routes-test';
my $NAME = 'Routes Tester';
my $tok = token(roles => 'Admin', sub => $SUB, name => $NAME);

sub body { my ($r) = @_; return eval { $J->decode($r->{content}) } }
sub items { my $b = body($_[0]); return ref $b eq 'ARRAY' ? $b : [] }

sub db_json {
	my ($sql) = @_;
	return $J->decode(psql($sql));
}

sub uuid_or_die {
	my ($id) = @_;
	die "not a uuid: " . ($id // 'undef') unless defined $id && $id =~ $UUID;
	return $id;
}

sub db_hosts {
	my ($job) = @_;
	uuid_or_die($job);
	return db_json(<<"SQL");
SELECT coalesce(json_agg(t ORDER BY t.ord), '[]')
FROM (SELECT h.ord, h.id, h.dns_host_name, h.ip_address, h.os,
	h.credential_id, p.name AS platform, h.ssh_port, h.state,
	h.failure_reason, h.trust_action, h.certificate_type, h.action_queue_id
	FROM host_scan_host h LEFT JOIN platform p ON p.id = h.platform_id
	WHERE h.job_id = '$job') t
SQL
}

sub post_job {
	my (@items) = @_;
	return api(POST => '/api/v1/HostScanJob', token => $tok,
	    json => \@items);
}

sub is_problem {
	my ($r, $what) = @_;
	like($r->{headers}{'content-type'} // '',
	    qr{\Aapplication/problem\+json\s*(?:;.*)?\z},
	    "$what: Content-Type is application/problem+json");
	my $b = body($r);
	is(ref $b, 'HASH', "$what: body is a problem object");
	ok(defined $b->{traceId} && !ref $b->{traceId} && length $b->{traceId},
	    "$what: problem has a traceId");
	is($b->{status}, $r->{status}, "$what: problem status matches HTTP status")
	    if ref $b eq 'HASH';
	return $b;
}

# Checks a HostScanJobStatus against the items that were sent.
sub status_matches_request {
	my ($st, $expect, $what) = @_;
	like($st->{id} // '', $UUID, "$what: job id is a uuid");
	is($st->{status}, 'Queued', "$what: job status is the name Queued");
	ok(defined $st->{statusDescription} && !ref $st->{statusDescription},
	    "$what: statusDescription is a string");
	is(ref $st->{hostScanHostStatus}, 'ARRAY',
	    "$what: hostScanHostStatus is an array");
	my @hs = @{$st->{hostScanHostStatus} // []};
	is(scalar @hs, scalar @$expect, "$what: one host status per request item");
	for my $i (0 .. $#$expect) {
		my ($h, $e) = ($hs[$i] // {}, $expect->[$i]);
		for my $k (qw(hostScanHostId hostId name dnsHostName os
		    ipAddress version status statusDescription failureReason)) {
			ok(exists $h->{$k}, "$what [$i]: has key $k");
		}
		like($h->{hostScanHostId} // '', $UUID,
		    "$what [$i]: hostScanHostId is a uuid");
		ok(exists $h->{hostId} && !defined $h->{hostId},
		    "$what [$i]: hostId is null before any scan");
		is($h->{dnsHostName}, $e->{dnsHostName},
		    "$what [$i]: dnsHostName as sent (request order kept)");
		is($h->{ipAddress}, $e->{ipAddress},
		    "$what [$i]: ipAddress canonical");
		is($h->{os}, $e->{os}, "$what [$i]: os as sent");
		is($h->{status}, 'Queued', "$what [$i]: host status Queued");
		is($h->{failureReason}, 'NoError',
		    "$what [$i]: failureReason NoError");
	}
}

sub db_matches_status {
	my ($st, $expect, $what) = @_;
	my $job = uuid_or_die($st->{id});
	is(psql("SELECT count(*) FROM host_scan_job WHERE id = '$job'"), 1,
	    "$what: the job row exists in the database");
	is(psql("SELECT created_by || '|' || coalesce(created_by_user_name, '')"
	    . " FROM host_scan_job WHERE id = '$job'"), "$SUB|$NAME",
	    "$what: job stored with the token's sub and name");
	my $rows = db_hosts($job);
	is(scalar @$rows, scalar @$expect,
	    "$what: exactly one host row per request item");
	is_deeply([map { $_->{id} } @$rows],
	    [map { $_->{hostScanHostId} } @{$st->{hostScanHostStatus}}],
	    "$what: host rows are in request order with the returned ids");
	for my $i (0 .. $#$expect) {
		my ($row, $e) = ($rows->[$i] // {}, $expect->[$i]);
		is($row->{dns_host_name}, $e->{dnsHostName},
		    "$what [$i]: dns_host_name stored");
		is($row->{ip_address}, $e->{ipAddress},
		    "$what [$i]: ip_address stored canonical");
		is($row->{os}, $e->{os}, "$what [$i]: os stored");
		is($row->{state}, 0, "$what [$i]: stored state is Queued (0)");
		is($row->{failure_reason}, 0,
		    "$what [$i]: stored failure_reason is NoError (0)");
	}
	return $rows;
}

# ---- POST: one host, three hosts ----

my $one_req = host_item(dnsHostName => 'one.routes.example.test',
    ipAddress => '192.0.2.1', os => 'Debian GNU/Linux 12');
my $r1 = post_job($one_req);
is($r1->{status}, 200, 'POST one valid host: 200');
like($r1->{headers}{'content-type'} // '', qr{\Aapplication/json\b},
    'POST one valid host: answers application/json');
my $st1 = body($r1) // {};
status_matches_request($st1, [{dnsHostName => 'one.routes.example.test',
    ipAddress => '192.0.2.1', os => 'Debian GNU/Linux 12'}], 'POST one host');
db_matches_status($st1, [{dnsHostName => 'one.routes.example.test',
    ipAddress => '192.0.2.1', os => 'Debian GNU/Linux 12'}], 'POST one host');

my @three_req = (
	host_item(dnsHostName => 'a.routes.example.test',
	    ipAddress => '2001:DB8:0:0:0:0:0:1', os => 'Ubuntu 24.04'),
	host_item(dnsHostName => undef, ipAddress => '198.51.100.7',
	    os => undef),
	host_item(dnsHostName => 'c.routes.example.test', ipAddress => undef,
	    os => 'FreeBSD 14.1'),
);
my @three_expect = (
	{dnsHostName => 'a.routes.example.test', ipAddress => '2001:db8::1',
	    os => 'Ubuntu 24.04'},
	{dnsHostName => undef, ipAddress => '198.51.100.7', os => undef},
	{dnsHostName => 'c.routes.example.test', ipAddress => undef,
	    os => 'FreeBSD 14.1'},
);
my $r3 = post_job(@three_req);
is($r3->{status}, 200, 'POST three valid hosts: 200');
my $st3 = body($r3) // {};
status_matches_request($st3, \@three_expect, 'POST three hosts');
my $rows3 = db_matches_status($st3, \@three_expect, 'POST three hosts');

# The POST's answer is written from what it inserted (src/api/job.c,
# new_job_status), the status route's from the rows it reads: no
# scheduler runs here, so the two must be the same text, byte for byte,
# also for strings that need escapes.
for my $c (['POST three hosts', $r3],
    ['POST one host with escapes', post_job(host_item(
    dnsHostName => 'esc.routes.example.test', ipAddress => '192.0.2.9',
    os => "Tab\there \"quoted\" back\\slash \x{e9}t\x{e9} \x{1}"))]) {
	my ($what, $p) = @$c;
	is($p->{status}, 200, "$what: 200");
	my $id = uuid_or_die((body($p) // {})->{id});
	my $s = api(GET => "/api/v1/HostScanJob/$id/Status", token => $tok);
	is($s->{status}, 200, "$what: its status route answers 200");
	is($s->{content}, $p->{content},
	    "$what: the POST's answer is the status route's, byte for byte");
}

# ---- GET /HostScanJob/{id} ----

my $job3 = uuid_or_die($st3->{id});
my $g = api(GET => "/api/v1/HostScanJob/$job3", token => $tok);
is($g->{status}, 200, 'GET /HostScanJob/{id}: 200 for an existing job');
my $e = body($g) // {};
is($e->{id}, $job3, 'entity: id is the job id');
is($e->{createdBy}, $SUB, 'entity: createdBy is the token sub');
is($e->{createdByUserName}, $NAME,
    'entity: createdByUserName is the token name claim');
is($e->{createdFromAddress}, '127.0.0.1',
    'entity: createdFromAddress is the client address');
like($e->{createdDateTimeUtc} // '', $RFC3339Z,
    'entity: createdDateTimeUtc is RFC 3339 UTC with Z');
like($e->{modifiedDateTimeUtc} // '', $RFC3339Z,
    'entity: modifiedDateTimeUtc is RFC 3339 UTC with Z');
is(ref $e->{hostScanJobHostJoin}, 'ARRAY', 'entity: hostScanJobHostJoin is an array');
my @joins = @{$e->{hostScanJobHostJoin} // []};
is(scalar @joins, 3, 'entity: one join per host');
is_deeply([map { $_->{hostScanHostId} } @joins],
    [map { $_->{hostScanHostId} } @{$st3->{hostScanHostStatus}}],
    'entity: joins are in request order with the POST\'s host ids');
my $cred = credential(name => 'routes-cred-id', username => 'scanner',
    secret => 'routes-secret-id');
for my $i (0 .. $#joins) {
	my $j = $joins[$i];
	my $x = $three_expect[$i];
	is($j->{hostScanJobId}, $job3, "join [$i]: hostScanJobId is the job id");
	my $h = $j->{hostScanHost} // {};
	is(ref $j->{hostScanHost}, 'HASH', "join [$i]: hostScanHost is an object");
	is($h->{id}, $j->{hostScanHostId}, "join [$i]: hostScanHost.id = hostScanHostId");
	is($h->{dnsHostName}, $x->{dnsHostName}, "join [$i]: hostScanHost.dnsHostName");
	is($h->{ipAddress}, $x->{ipAddress}, "join [$i]: hostScanHost.ipAddress canonical");
	is($h->{os}, $x->{os}, "join [$i]: hostScanHost.os");
	is($h->{credentialId}, $rows3->[$i]{credential_id},
	    "join [$i]: hostScanHost.credentialId is the stored credential");
	like($h->{credentialId} // '', $UUID, "join [$i]: credentialId is a uuid");
	is($h->{sshPort}, 22, "join [$i]: hostScanHost.sshPort");
	like($j->{actionQueueId} // '', $UUID, "join [$i]: actionQueueId is a uuid");
	is($j->{actionQueueId}, $rows3->[$i]{action_queue_id},
	    "join [$i]: actionQueueId is the stored queue id");
	my $q = $j->{actionQueue} // {};
	is(ref $j->{actionQueue}, 'HASH', "join [$i]: actionQueue is an object");
	is($q->{id}, $j->{actionQueueId}, "join [$i]: actionQueue.id = actionQueueId");
	is($q->{status}, 'Queued', "join [$i]: actionQueue.status is the name Queued");
	ok(exists $q->{statusDescription}, "join [$i]: actionQueue has statusDescription");
	is($q->{failureReason}, 'NoError', "join [$i]: actionQueue.failureReason NoError");
	like($q->{timeCreated} // '', $RFC3339Z, "join [$i]: timeCreated RFC 3339 Z");
	ok(exists $q->{timeStarted} && !defined $q->{timeStarted},
	    "join [$i]: timeStarted null while queued");
	ok(exists $q->{timeFinished} && !defined $q->{timeFinished},
	    "join [$i]: timeFinished null while queued");
}

# ---- GET /HostScanJob/{id}/Status ----

my $s = api(GET => "/api/v1/HostScanJob/$job3/Status", token => $tok);
is($s->{status}, 200, 'GET /HostScanJob/{id}/Status: 200');
is_deeply(body($s), $st3, 'GET /HostScanJob/{id}/Status equals the POST answer');

# ---- Enums by number and by name, credentials by id and by name ----

my $cred_b = credential(name => 'routes-cred-name', username => 'scanner2',
    secret => 'routes-secret-name');
my $re = post_job(host_item(dnsHostName => 'enum.routes.example.test',
    credentialId => $cred, credentialName => undef,
    sshTrustActionType => 1, certificateType => 'ssh', sshPort => 2222));
is($re->{status}, 200, 'POST with numeric and lower-case enum values: 200');
my $jre = body($re) // {};
my $rowe = (db_hosts(uuid_or_die($jre->{id})))->[0] // {};
is($rowe->{trust_action}, 1, 'sshTrustActionType 1 stored as WarnOnThumbprintMismatch');
is($rowe->{certificate_type}, 2, 'certificateType "ssh" stored as SSH');
is($rowe->{credential_id}, $cred, 'credentialId of an existing credential is used');
is($rowe->{ssh_port}, 2222, 'sshPort 2222 stored');
my $ge = body(api(GET => "/api/v1/HostScanJob/$jre->{id}", token => $tok)) // {};
my $he = $ge->{hostScanJobHostJoin}[0]{hostScanHost} // {};
is($he->{credentialId}, $cred, 'entity shows the credentialId sent');
is($he->{sshPort}, 2222, 'entity shows the sshPort sent');
is($he->{sshTrustActionType}, 'WarnOnThumbprintMismatch',
    'entity emits sshTrustActionType as its name');
is($he->{certificateType}, 'SSH', 'entity emits certificateType as its name');

my $rn = post_job(host_item(dnsHostName => 'byname.routes.example.test',
    credentialId => $ZERO, credentialName => 'routes-cred-name'));
is($rn->{status}, 200, 'POST with all-zero credentialId and a credentialName: 200');
my $jrn = body($rn) // {};
is((db_hosts(uuid_or_die($jrn->{id})))->[0]{credential_id}, $cred_b,
    'all-zero credentialId: the credential named by credentialName is stored');

# ---- GET /HostScanJob: keyset paging, newest first ----

my @mine;
for my $n (1 .. 3) {
	my $r = post_job(host_item(dnsHostName => "page$n.routes.example.test"));
	is($r->{status}, 200, "paging: job $n created");
	push @mine, (body($r) // {})->{id};
}
my ($j1, $j2, $j3) = @mine;

sub follow {
	my ($link) = @_;
	my ($url) = ($link // '') =~ /\A\s*<([^>]+)>/ or return undef;
	if ($url =~ m{\A(https?://[^/]+)(/.*)\z}) {
		return api(GET => $2, token => $tok, url => $1);
	}
	return api(GET => $url, token => $tok);
}

sub next_link {
	my ($r) = @_;
	my $l = $r->{headers}{link};
	return undef unless defined $l && $l =~ /rel="?next"?/;
	return $l;
}

my $p1 = api(GET => '/api/v1/HostScanJob?limit=2', token => $tok);
is($p1->{status}, 200, 'GET /HostScanJob?limit=2: 200');
my $b1 = items($p1);
is(ref body($p1), 'ARRAY', 'GET /HostScanJob returns an array');
is(scalar @$b1, 2, 'limit=2 gives exactly 2 jobs');
is_deeply([map { $_->{id} } @$b1], [$j3, $j2],
    'first page is newest first: the two jobs just created');
is($b1->[0]{status}, 'Queued', 'list items are HostScanJobStatus (status name)');
is(ref $b1->[0]{hostScanHostStatus}, 'ARRAY',
    'list items carry hostScanHostStatus');
is($b1->[0]{hostScanHostStatus}[0]{dnsHostName}, 'page3.routes.example.test',
    'list item hosts are the job\'s hosts');
my $link1 = $p1->{headers}{link} // '';
like($link1, qr/\A<[^>]+>;\s*rel="next"\z/, 'full page has a Link rel="next" header');
my ($after) = $link1 =~ /[?&]after=([^&>]+)/;
is($after, $j2, 'Link after= is the id of the last item of the page');
like($link1, qr/[?&]limit=2(?:[&>])/, 'Link keeps limit=2');
my $p2 = follow($link1) // {};
is($p2->{status}, 200, 'following Link: 200');
my $b2 = items($p2);
# Four jobs of this file are older than the three just made.
is(scalar @$b2, 2, 'next page is full: limit items');
is($b2->[0]{id}, $j1, 'next page continues with the next older job');
my %seen = map { $_->{id} => 1 } @$b1;
ok(!grep({ $seen{$_->{id}} } @$b2), 'pages do not overlap');

# The tail: a page started after the third-oldest job holds the two oldest,
# and following Links from there ends with a page without one.
my $order = db_json(q{SELECT coalesce(json_agg(id ORDER BY created_at DESC, id DESC), '[]') FROM host_scan_job});
# This file alone created more than three jobs.
cmp_ok(scalar @$order, '>=', 3, 'at least three jobs to page through');
{
	my $third = uuid_or_die($order->[-3]);
	my $r = api(GET => "/api/v1/HostScanJob?limit=2&after=$third", token => $tok);
	my @got = map { $_->{id} } @{items($r)};
	my $hops = 0;
	while (my $l = next_link($r)) {
		last if ++$hops > 3;
		$r = follow($l) // last;
		push @got, map { $_->{id} } @{items($r)};
	}
	is($r->{status}, 200, 'tail pages: 200');
	is_deeply(\@got, [@$order[-2, -1]], 'tail pages hold exactly the two oldest jobs');
	ok($hops <= 3 && !next_link($r), 'the last page has no Link header');
}

# The whole list through Links equals the database's newest-first order.
{
	my $r = api(GET => '/api/v1/HostScanJob?limit=1000', token => $tok);
	my @all = map { $_->{id} } @{items($r)};
	my $pages = 1;
	while (my $l = next_link($r)) {
		last if ++$pages > 1000;
		$r = follow($l) // last;
		last unless $r->{status} == 200;
		push @all, map { $_->{id} } @{items($r)};
	}
	is($r->{status}, 200, 'walking all pages: every page 200');
	ok($pages <= 1000, 'walking all pages ends with a page without Link');
	my %u = map { $_ => 1 } @all;
	is(scalar keys %u, scalar @all, 'walking all pages: no job twice');
	my $db = db_json(q{SELECT coalesce(json_agg(id ORDER BY created_at DESC, id DESC), '[]') FROM host_scan_job});
	is_deeply(\@all, $db, 'walking all pages: every job, newest first, as in the database');
}

{
	my $n = psql('SELECT count(*) FROM host_scan_job');
	my $r = api(GET => '/api/v1/HostScanJob', token => $tok);
	is($r->{status}, 200, 'GET /HostScanJob without limit: 200');
	is(scalar @{items($r)}, $n < 100 ? $n : 100, 'default limit is 100');
	if ($n > 100) {
		ok(next_link($r), 'default page of a longer list has a Link');
	} else {
		ok(!next_link($r), 'the only page has no Link');
	}
	my $r1000 = api(GET => '/api/v1/HostScanJob?limit=1000', token => $tok);
	is($r1000->{status}, 200, 'limit=1000 (the maximum) is accepted');
	my $r1 = api(GET => '/api/v1/HostScanJob?limit=1', token => $tok);
	is(scalar @{items($r1)}, 1, 'limit=1 gives one job');
}

for my $c (['limit=0', 'limit'], ['limit=1001', 'limit'], ['limit=abc', 'limit'],
    ['limit=-1', 'limit'], ['after=not-a-uuid', 'after']) {
	my ($q, $key) = @$c;
	my $r = api(GET => "/api/v1/HostScanJob?$q", token => $tok);
	is($r->{status}, 400, "GET /HostScanJob?$q: 400");
	my $b = is_problem($r, "GET /HostScanJob?$q") // {};
	is_deeply([sort keys %{ref $b->{errors} eq 'HASH' ? $b->{errors} : {}}], [$key],
	    "GET /HostScanJob?$q: the error is keyed \"$key\"");
}
{
	my $r = api(GET => '/api/v1/HostScanJob?after=0f0e0d0c-0b0a-4908-8706-050403020100',
	    token => $tok);
	# An unknown cursor is the client's error, keyed like a malformed one.
	is($r->{status}, 400, 'after= an unknown job id: 400');
	my $b = is_problem($r, 'after= an unknown job id') // {};
	is_deeply([sort keys %{ref $b->{errors} eq 'HASH' ? $b->{errors} : {}}],
	    ['after'], 'after= an unknown job id: the error is keyed "after"');
}

# ---- Health and Version ----

{
	my $r = api(GET => '/api/v1/Health');
	is($r->{status}, 200, 'GET /Health: 200 while the database answers');
	like($r->{headers}{'content-type'} // '', qr{\Aapplication/json\b},
	    'GET /Health: application/json');
	is(body($r), 'Healthy', 'GET /Health: body is the JSON string "Healthy"');
	my $v = api(GET => '/api/v1/Version');
	is($v->{status}, 200, 'GET /Version: 200');
	my $vs = body($v);
	ok(defined $vs && !ref $vs, 'GET /Version: body is a JSON string');
	like($vs // '', qr/\A\d+\.\d+\.\d+/, 'GET /Version: a dotted version number');
}

# ---- 10 000 hosts in one POST ----

{
	my $base = host_item();
	my @items = map { +{%$base, dnsHostName => "h$_.bulk.example.test",
	    ipAddress => undef} } 0 .. 9999;
	my $r = post_job(@items);
	is($r->{status}, 200, 'POST 10 000 hosts: 200 within the client timeout');
	my $b = body($r) // {};
	my @hs = @{$b->{hostScanHostStatus} // []};
	is(scalar @hs, 10000, 'POST 10 000 hosts: 10 000 host statuses');
	is_deeply([map { $_->{dnsHostName} } @hs],
	    [map { "h$_.bulk.example.test" } 0 .. 9999],
	    'POST 10 000 hosts: statuses in request order');
	my $job = ($b->{id} // '') =~ $UUID ? $b->{id} : '00000000-0000-0000-0000-000000000000';
	is(psql("SELECT count(*) FROM host_scan_host WHERE job_id = '$job'"), 10000,
	    'POST 10 000 hosts: 10 000 rows in the database');
	is(psql("SELECT string_agg(id::text, ',' ORDER BY ord) FROM host_scan_host"
	    . " WHERE job_id = '$job'"), join(',', map { $_->{hostScanHostId} // '' } @hs),
	    'POST 10 000 hosts: stored rows in request order with the returned ids');
}

done_testing();
