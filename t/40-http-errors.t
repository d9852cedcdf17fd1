#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# HTTP-level refusals through the real nginx: unknown routes and ids,
# wrong methods, body type/length/size, hostile JSON; every one a
# problem+json body with a traceId that leaks neither token nor secret.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use HS qw(:DEFAULT note_secret);
use Check qw(responder_log postgres_log secrets_absent);
use Test::More;
use JSON::PP ();
use IO::Socket::INET;
use IO::Select;

need_services();

my $J = JSON::PP->new->utf8->allow_nonref->canonical;
my $LIST = '/api/v1/HostScanJob';
my $MIB8 = 8 * 1024 * 1024;
my $SECRET = 'http-errors-S3cret-7d1f0c';

my $tok = note_secret(token(roles => 'Admin', sub => 'http-errors-test'),
    't/40-http-errors.t token');
credential(name => 'http-errors-cred', username => 'scanner', secret => $SECRET);
my $item = host_item(dnsHostName => 'errors.example.test', credentialName => 'http-errors-cred');
my $item_json = $J->encode($item);

my @errors;

sub body { my ($r) = @_; return eval { $J->decode($r->{content}) } }

sub call {
	my ($method, $path, %o) = @_;
	my $r = api($method, $path, %o);
	push @errors, ["$method $path", $r] if $r->{status} >= 400;
	return $r;
}

sub post_body {
	my ($text, $ctype) = @_;
	return call(POST => $LIST, token => $tok, body => $text,
	    headers => {'Content-Type' => $ctype // 'application/json'});
}

# One HTTP/1.0 exchange on a raw socket, for requests HTTP::Tiny will not
# send (no Content-Length, no Content-Type).
sub raw_http {
	my ($what, $req) = @_;
	my ($host, $port) = ($ENV{HOSTSCAN_URL} // '') =~ m{\Ahttps?://([^/:]+):(\d+)}
	    or die "HOSTSCAN_URL has no host:port";
	my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port,
	    Proto => 'tcp', Timeout => 10) or die "connect: $!";
	binmode($s);
	local $SIG{PIPE} = 'IGNORE';
	my $off = 0;
	while ($off < length $req) {
		my $n = syswrite($s, $req, length($req) - $off, $off);
		last unless $n;
		$off += $n;
	}
	my ($buf, $sel, $deadline) = ('', IO::Select->new($s), time + 30);
	while (time < $deadline && $sel->can_read($deadline - time)) {
		my $n = sysread($s, $buf, 65536, length $buf);
		last unless $n;
	}
	close($s);
	my ($head, $content) = split(/\r\n\r\n/, $buf, 2);
	my @lines = split(/\r\n/, $head // '');
	my ($status) = (shift(@lines) // '') =~ m{\AHTTP/\d\.\d (\d{3})};
	my %h;
	for (@lines) {
		my ($k, $v) = /\A([^:]+):\s*(.*)\z/ or next;
		$h{lc $k} = $v;
	}
	my $r = {status => $status // 0, headers => \%h, content => $content // ''};
	push @errors, [$what, $r] if $r->{status} >= 400;
	return $r;
}

sub problem_ok {
	my ($r, $status, $what) = @_;
	is($r->{status}, $status, "$what: $status");
	like($r->{headers}{'content-type'} // '',
	    qr{\Aapplication/problem\+json\s*(?:;.*)?\z}, "$what: problem+json");
	my $b = body($r);
	$b = {} unless ref $b eq 'HASH';
	is($b->{status}, $r->{status}, "$what: problem status matches");
	ok(defined $b->{traceId} && !ref $b->{traceId} && length $b->{traceId},
	    "$what: traceId");
	return $b;
}

sub allow_set {
	my ($r) = @_;
	my %a = map { uc($_) => 1 } grep { length } split(/\s*,\s*/,
	    $r->{headers}{allow} // '');
	return \%a;
}

# ---- unknown routes and ids ----

problem_ok(call(GET => '/api/v1/Nope', token => $tok), 404, 'unknown route /api/v1/Nope');
problem_ok(call(GET => '/api/v1/HostScanJob/0f0e0d0c-0b0a-4908-8706-050403020100',
    token => $tok), 404, 'unknown job id');
problem_ok(call(GET => '/api/v1/HostScanJob/0f0e0d0c-0b0a-4908-8706-050403020100/Status',
    token => $tok), 404, 'Status of an unknown job id');
# Only a uuid matches {id}: another segment is no route at all.
problem_ok(call(GET => '/api/v1/HostScanJob/not-a-uuid', token => $tok), 404,
    'job id that is not a uuid');
problem_ok(call(GET => '/api/v1/HostScanJob/0f0e0d0c-0b0a-4908-8706-050403020100/Nope',
    token => $tok), 404, 'unknown sub-route of a job');

# ---- methods ----

for my $m (qw(PUT PATCH DELETE)) {
	my $r = call($m => $LIST, token => $tok, json => [$item]);
	problem_ok($r, 405, "$m /HostScanJob");
	my $a = allow_set($r);
	ok($a->{GET} && $a->{POST}, "$m /HostScanJob: Allow lists GET and POST");
	ok(!$a->{$m}, "$m /HostScanJob: Allow does not list $m");
}
my $posted = call(POST => $LIST, token => $tok, json => [$item]);
is($posted->{status}, 200, 'a job to try methods on: 200');
my $job = (body($posted) // {})->{id} // '';
{
	my $r = call(DELETE => "$LIST/$job", token => $tok);
	is($r->{status}, 202, 'DELETE /HostScanJob/{id}: 202');
	is((body($r) // {})->{id}, $job,
	    'DELETE /HostScanJob/{id}: answers the job\'s status');
	is(psql("SELECT string_agg(state::text, ',') FROM host_scan_host"
	    . " WHERE job_id = " . HS::sql_quote($job)), '4',
	    'DELETE /HostScanJob/{id}: its queued host is Cancelled (4)');
	$r = call(PUT => "$LIST/$job", token => $tok, json => [$item]);
	problem_ok($r, 405, 'PUT /HostScanJob/{id}');
	ok(allow_set($r)->{GET}, 'PUT /HostScanJob/{id}: Allow lists GET');
	$r = call(POST => "$LIST/$job/Status", token => $tok, json => [$item]);
	problem_ok($r, 405, 'POST /HostScanJob/{id}/Status');
	is_deeply([sort grep { $_ ne 'HEAD' } keys %{allow_set($r)}], ['GET'],
	    'POST /HostScanJob/{id}/Status: Allow: GET');
}
for my $p ('/api/v1/Health', '/api/v1/Version') {
	my $r = call(POST => $p, body => '{}',
	    headers => {'Content-Type' => 'application/json'});
	problem_ok($r, 405, "POST $p");
	is_deeply([sort grep { $_ ne 'HEAD' } keys %{allow_set($r)}], ['GET'],
	    "POST $p: Allow: GET");
}

# ---- Content-Type ----

problem_ok(post_body("[$item_json]", 'text/plain'), 415, 'POST with Content-Type text/plain');
problem_ok(post_body("[$item_json]", 'application/x-www-form-urlencoded'), 415,
    'POST with a form Content-Type');
problem_ok(post_body("[$item_json]", 'application/jsonx'), 415,
    'POST with Content-Type application/jsonx');
{
	my $b = "[$item_json]";
	my $r = raw_http('POST without Content-Type',
	    "POST $LIST HTTP/1.0\r\nHost: localhost\r\nAuthorization: Bearer $tok\r\n"
	    . 'Content-Length: ' . length($b) . "\r\n\r\n$b");
	problem_ok($r, 415, 'POST without Content-Type');
}
is(post_body("[$item_json]", 'application/json; charset=utf-8')->{status}, 200,
    'POST with application/json; charset=utf-8: 200');
is(post_body("[$item_json]", 'application/json;charset=UTF-8')->{status}, 200,
    'POST with application/json;charset=UTF-8: 200');

# ---- length and size ----

{
	my $r = raw_http('POST without a body and without Content-Length',
	    "POST $LIST HTTP/1.0\r\nHost: localhost\r\nAuthorization: Bearer $tok\r\n"
	    . "Content-Type: application/json\r\n\r\n");
	problem_ok($r, 411, 'POST without a body and without Content-Length');
}
{
	my $r = raw_http('POST with Content-Length 0',
	    "POST $LIST HTTP/1.0\r\nHost: localhost\r\nAuthorization: Bearer $tok\r\n"
	    . "Content-Type: application/json\r\nContent-Length: 0\r\n\r\n");
	my $b = problem_ok($r, 400, 'POST with Content-Length 0 (an empty body)');
	is_deeply([sort keys %{ref $b->{errors} eq 'HASH' ? $b->{errors} : {}}],
	    ['$'], 'POST with an empty body: the error is keyed "$"');
}

sub padded {
	my ($size) = @_;
	my $core = "[$item_json";
	return $core . (' ' x ($size - length($core) - 1)) . ']';
}
{
	my $before = psql('SELECT count(*) FROM host_scan_job');
	my $r = post_body(padded($MIB8 + 1));
	problem_ok($r, 413, 'body of 8 MiB + 1 byte');
	is(psql('SELECT count(*) FROM host_scan_job'), $before,
	    'body of 8 MiB + 1 byte: no job created');
	$r = post_body(padded($MIB8 + 4096));
	problem_ok($r, 413, 'body of 8 MiB + 4 KiB');
	is(post_body(padded($MIB8))->{status}, 200,
	    'valid body of exactly 8 MiB: 200');
	my $bad = '[' . (' ' x ($MIB8 - 1024 - 2)) . '{';
	my $rb = post_body($bad);
	problem_ok($rb, 400, 'invalid JSON just under 8 MiB is a 400, not a 413');
}

# ---- hostile JSON ----

{
	my $deep = ('[' x 100_000) . (']' x 100_000);
	for my $n (1 .. 6) {
		problem_ok(post_body($deep), 400, "JSON nested 100 000 deep (try $n)");
	}
	problem_ok(post_body('[' x 100_000), 400, 'unterminated JSON nested 100 000 deep');
	problem_ok(post_body(('{"a":' x 50_000) . '1' . ('}' x 50_000)), 400,
	    'objects nested 50 000 deep');
	is(api(GET => '/api/v1/Health')->{status}, 200,
	    'responder still answers Health after deep nesting');
	is(call(GET => "$LIST?limit=1", token => $tok)->{status}, 200,
	    'responder still lists jobs after deep nesting');
	problem_ok(post_body("[$item_json," . ('"x",' x 100_000) . '1]'), 400,
	    'array of 100 000 strings');
}

# ---- every refusal is a problem, and leaks nothing ----

ok(@errors > 20, 'error responses were collected');
my @tok_parts = grep { length > 16 } split(/\./, $tok);
for my $e (@errors) {
	my ($what, $r) = @$e;
	like($r->{headers}{'content-type'} // '',
	    qr{\Aapplication/problem\+json\s*(?:;.*)?\z}, "$what: problem+json");
	my $b = body($r);
	ok(ref $b eq 'HASH' && defined $b->{traceId} && length $b->{traceId},
	    "$what: body has a traceId");
	my $c = $r->{content} // '';
	ok(!grep({ index($c, $_) >= 0 } @tok_parts), "$what: body does not contain the token");
	ok(index($c, $SECRET) < 0, "$what: body does not contain the credential secret");
}
secrets_absent('token and credential secret', [$tok, $SECRET],
    responder_log(), postgres_log(), HS::scratch_dir() . '/nginx/error.log',
    HS::scratch_dir() . '/nginx/access.log');

done_testing();
