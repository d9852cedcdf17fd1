#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# docs/openapi.yaml describes what the server really answers: the document
# is well formed, lists exactly the routes of src/api/routes.c and the
# enums of src/common/validate.c, and real responses of every operation
# (successes and the main refusals) match its statuses, headers and
# schemas.  JSON::Validator ships no OpenAPI 3.1 meta-schema, so the
# document's own structure is checked here, offline.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use HS qw(:DEFAULT run_cmd sql_quote note_secret);
use Test::More;
use IO::Select;
use IO::Socket::INET;
use JSON::PP ();
use JSON::Validator::Schema::OpenAPIv3;
use YAML::XS ();

# The real responses are half of what this proves: without the services
# it is a skip (a failure under CI), not a pass on the document alone.
need_services();

my $SRC = $ENV{HOSTSCAN_SRCDIR} // "$FindBin::Bin/..";
my $DOC_PATH = "$SRC/docs/openapi.yaml";
my $J = JSON::PP->new->utf8->allow_nonref->canonical;
my @METHODS = qw(get head post put delete patch options trace);

my $doc = YAML::XS::LoadFile($DOC_PATH);
my $jv = JSON::Validator::Schema::OpenAPIv3->new($doc);
# OpenAPI mode coerces "5" to 5 and 1 to true by default: the wire types
# are what is being tested, so nothing is coerced.
$jv->coerce({});
$jv->resolve;

# ---- the document itself ----

like($doc->{openapi} // '', qr/\A3\.1\.\d+\z/, 'openapi is 3.1.x');
ok(length($doc->{info}{title} // '') && length($doc->{info}{version} // ''),
    'info has title and version');
is(ref $doc->{paths}, 'HASH', 'paths is an object');

sub unescape { my ($t) = @_; $t =~ s/~1/\//g; $t =~ s/~0/~/g; return $t }

sub ptr_get {
	my ($ptr) = @_;
	return undef unless $ptr =~ s{\A#}{};
	my $n = $doc;
	for my $t (map { unescape($_) } grep { length } split m{/}, $ptr) {
		if (ref $n eq 'HASH' && exists $n->{$t}) {
			$n = $n->{$t};
		} elsif (ref $n eq 'ARRAY' && $t =~ /\A\d+\z/ && $t < @$n) {
			$n = $n->[$t];
		} else {
			return undef;
		}
	}
	return $n;
}

sub deref {
	my ($n) = @_;
	my $hops = 0;
	while (ref $n eq 'HASH' && defined $n->{'$ref'} && $hops++ < 20) {
		$n = ptr_get($n->{'$ref'});
	}
	return $n;
}

# Every $ref resolves, and no OpenAPI 3.0 "nullable" is left (3.1 uses
# type arrays).
{
	my (@bad, @nullable);
	my @stack = ([$doc, '#']);
	while (my $e = pop @stack) {
		my ($n, $at) = @$e;
		if (ref $n eq 'HASH') {
			push @bad, "$at -> $n->{'$ref'}"
			    if defined $n->{'$ref'} && !defined ptr_get($n->{'$ref'});
			push @nullable, $at if exists $n->{nullable};
			push @stack, [$n->{$_}, "$at/$_"] for keys %$n;
		} elsif (ref $n eq 'ARRAY') {
			push @stack, [$n->[$_], "$at/$_"] for 0 .. $#$n;
		}
	}
	is_deeply(\@bad, [], 'every $ref resolves');
	is_deeply(\@nullable, [], 'no 3.0 nullable keyword');
}

my %schemes = %{$doc->{components}{securitySchemes} // {}};
is($schemes{bearer}{type}, 'http', 'security scheme bearer is http');
is($schemes{bearer}{scheme}, 'bearer', 'security scheme bearer is Bearer');
my %tags = map { $_->{name} => 1 } @{$doc->{tags} // []};

# Operations: "METHOD /path" => the operation.
my %ops;
{
	my (%opid, @problems);
	for my $p (sort keys %{$doc->{paths}}) {
		my $item = $doc->{paths}{$p};
		push @problems, "$p does not start with /" unless $p =~ m{\A/};
		my @vars = $p =~ /\{([^}]+)\}/g;
		for my $m (grep { $item->{$_} } @METHODS) {
			my $op = $item->{$m};
			my $k = uc($m) . " $p";
			$ops{$k} = $op;
			push @problems, "$k: no operationId"
			    unless length($op->{operationId} // '');
			push @problems, "$k: operationId $op->{operationId} twice"
			    if $op->{operationId} && $opid{$op->{operationId}}++;
			push @problems, "$k: no responses"
			    unless ref $op->{responses} eq 'HASH'
			    && %{$op->{responses}};
			for my $st (keys %{$op->{responses} // {}}) {
				push @problems, "$k: response key $st"
				    unless $st =~ /\A(?:[1-5]\d\d|default)\z/;
				my $r = deref($op->{responses}{$st});
				push @problems, "$k $st: no description"
				    unless ref $r eq 'HASH'
				    && length($r->{description} // '');
			}
			my %pp;
			for my $prm (@{$item->{parameters} // []},
			    @{$op->{parameters} // []}) {
				my $d = deref($prm);
				push @problems, "$k: parameter without name/in"
				    unless $d->{name} && $d->{in};
				next unless ($d->{in} // '') eq 'path';
				push @problems, "$k: path parameter $d->{name} "
				    . 'not required' unless $d->{required};
				$pp{$d->{name}} = 1;
			}
			is_deeply([sort keys %pp], [sort @vars],
			    "$k: path parameters match the template");
			for my $req (@{$op->{security} // $doc->{security}
			    // []}) {
				push @problems, "$k: unknown scheme $_"
				    for grep { !$schemes{$_} } keys %$req;
			}
			push @problems, "$k: unknown tag $_"
			    for grep { !$tags{$_} } @{$op->{tags} // []};
		}
	}
	is_deeply(\@problems, [], 'operations are well formed');
}
for my $name (sort keys %{$doc->{components}{schemas}}) {
	my $ok = eval { $jv->validate(undef,
	    $jv->get(['components', 'schemas', $name])); 1 };
	ok($ok, "schema $name compiles") or diag($@);
}

# Every GET answers HEAD too (routes.c maps HEAD to GET).
for my $k (grep { /\AGET / } sort keys %ops) {
	(my $h = $k) =~ s/\AGET/HEAD/;
	ok($ops{$h}, "$k has its HEAD");
}

# Exactly the routes of routes.c: each table entry (below /api/v1, or the
# root table) is a documented operation, and each documented path is a
# route.  "{...}" names differ; the shape is what counts.
{
	my $src = HS::slurp("$SRC/src/api/routes.c");
	my %code;
	my %bits = (M_GET => ['GET', 'HEAD'], M_POST => ['POST'],
	    M_DELETE => ['DELETE'], M_PUT => ['PUT']);
	while ($src =~ /\{\s*"(\/[^"]*)",\s*(M_[A-Z_| ]+?),/g) {
		my ($pat, $m) = ($1, $2);
		$pat =~ s/\{[^}]+\}/{id}/g;
		for my $b (split /\s*\|\s*/, $m) {
			$code{"$_ $pat"} = 1 for @{$bits{$b} // ["?$b"]};
		}
	}
	ok(scalar(keys %code) >= 20, 'routes.c table parsed')
	    or diag(join(' ', sort keys %code));
	my %docn = map { (my $x = $_) =~ s/\{[^}]+\}/{id}/g; ($x => 1) }
	    keys %ops;
	for my $k (sort keys %code) {
		ok($docn{$k}, "routes.c $k is in the document");
	}
	for my $k (sort keys %docn) {
		ok($code{$k}, "document's $k is a route of routes.c");
	}
	# Root routes carry their own servers entry; the others sit below
	# /api/v1.
	is($doc->{servers}[0]{url}, '/api/v1', 'servers: /api/v1');
	my @root = $src =~ /root_routes\[\]\s*=\s*\{(.*?)\};/s;
	my %rootp = map { $_ => 1 } ($root[0] // '') =~ /"(\/[^"]*)"/g;
	for my $p (sort keys %{$doc->{paths}}) {
		my $url = $doc->{paths}{$p}{servers}[0]{url} // '/api/v1';
		is($url, $rootp{$p} ? '/' : '/api/v1', "$p is served under $url");
	}
}

# The enums are validate.c's name tables, in order (positions are the
# integer input form).
{
	my $src = HS::slurp("$SRC/src/common/validate.c");
	for my $x (['hs_action_status_names', 'ActionStatus'],
	    ['hs_failure_reason_names', 'ActionFailureReason'],
	    ['hs_trust_action_names', 'SshTrustActionType'],
	    ['hs_certificate_type_names', 'CertificateType']) {
		my ($tab) = $src =~ /\Q$x->[0]\E\[\]\s*=\s*\{(.*?)\};/s;
		my @names = ($tab // '') =~ /"([^"]+)"/g;
		ok(@names > 2, "$x->[0] parsed");
		is_deeply($doc->{components}{schemas}{$x->[1]}{enum}, \@names,
		    "$x->[1] enum is validate.c's list");
	}
	for my $x (['SshTrustActionTypeInput', 2], ['CertificateTypeInput', 2]) {
		my ($int) = grep { ($_->{type} // '') eq 'integer' }
		    @{$doc->{components}{schemas}{$x->[0]}{oneOf} // []};
		is($int->{maximum}, $x->[1], "$x->[0] takes positions 0-$x->[1]");
	}
}

# ---- real responses against the document ----

my %seen;	# "METHOD /docpath" => { status => count }

sub header_value {
	my ($r, $name) = @_;
	my $v = $r->{headers}{lc $name};
	return ref $v eq 'ARRAY' ? join(', ', @$v) : $v;
}

# The errors of response $r against the response object at @rpath (a
# path into the document): required headers present, every declared
# header's value valid, the media type declared and the body valid.
sub response_errors {
	my ($r, $method, @rpath) = @_;
	my @e;
	my $resp = $jv->get([@rpath]);
	return ("no response object at /" . join('/', @rpath))
	    unless ref $resp eq 'HASH';
	for my $h (sort keys %{$resp->{headers} // {}}) {
		my $decl = $jv->get([@rpath, 'headers', $h]);
		my $v = header_value($r, $h);
		if (!defined $v) {
			push @e, "header $h is missing" if $decl->{required};
			next;
		}
		push @e, map { "header $h: $_" }
		    $jv->validate($v, $jv->get([@rpath, 'headers', $h, 'schema']));
	}
	my $ct = header_value($r, 'Content-Type') // '';
	(my $mt = lc $ct) =~ s/\s*;.*//s;
	my $content = $resp->{content};
	if ($method eq 'HEAD' || !$content) {
		push @e, 'a body where none is declared'
		    if length $r->{content} && $method eq 'HEAD';
		push @e, "undeclared body ($ct)"
		    if length $r->{content} && !$content && $method ne 'HEAD';
		return @e;
	}
	return (@e, "media type $ct is not declared ("
	    . join(', ', sort keys %$content) . ')') unless $content->{$mt};
	push @e, "JSON is not application/json; charset=utf-8: $ct"
	    if $mt eq 'application/json'
	    && $ct !~ /\Aapplication\/json; charset=utf-8\z/i;
	my $body = eval { $J->decode($r->{content}) };
	return (@e, "body is not JSON: $r->{content}") if $@;
	push @e, map { "body: $_" }
	    $jv->validate($body, $jv->get([@rpath, 'content', $mt, 'schema']));
	return @e;
}

# The response of operation "METHOD $docpath" must be one the document
# lists, valid against it.
sub conforms {
	my ($r, $method, $docpath, $what) = @_;
	my $op = $ops{"$method $docpath"};
	unless ($op) {
		fail("$what: $method $docpath is not in the document");
		return;
	}
	$seen{"$method $docpath"}{$r->{status}}++;
	my $key = exists $op->{responses}{$r->{status}} ? $r->{status} :
	    exists $op->{responses}{default} ? 'default' : undef;
	unless (defined $key) {
		fail("$what: status $r->{status} is not documented for "
		    . "$method $docpath");
		diag($r->{content});
		return;
	}
	my @e = response_errors($r, $method, 'paths', $docpath, lc $method,
	    'responses', $key);
	ok(!@e, "$what: $r->{status} matches the document") or diag(join("\n",
	    @e, "body: $r->{content}"));
}

# Request, check, return: call(METHOD, docpath, realpath, what, api opts).
sub call {
	my ($method, $docpath, $real, $what, %o) = @_;
	my $prefix = ($doc->{paths}{$docpath}{servers}[0]{url} // '/api/v1');
	$prefix = '' if $prefix eq '/';
	my $r = api($method, "$prefix$real", %o);
	conforms($r, $method, $docpath, "$method $real ($what)");
	return $r;
}

sub expect {
	my ($r, $status, $what) = @_;
	is($r->{status}, $status, "$what: $status") or diag($r->{content});
}

# A body the request schema accepts (or refuses), as the server did.
sub doc_accepts {
	my ($method, $docpath, $body) = @_;
	return $jv->validate($body, $jv->get(['paths', $docpath, lc $method,
	    'requestBody', 'content', 'application/json', 'schema']));
}

# One HTTP/1.0 exchange on a raw socket, for a body without Content-Length.
sub raw_http {
	my ($req) = @_;
	my ($host, $port) = $ENV{HOSTSCAN_URL} =~ m{\Ahttps?://([^/:]+):(\d+)}
	    or die "HOSTSCAN_URL has no host:port";
	my $s = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port,
	    Proto => 'tcp', Timeout => 10) or die "connect: $!";
	binmode($s);
	print $s $req;
	my ($buf, $sel, $deadline) = ('', IO::Select->new($s), time + 30);
	while (time < $deadline && $sel->can_read($deadline - time)) {
		last unless sysread($s, $buf, 65536, length $buf);
	}
	close($s);
	my ($head, $content) = split(/\r\n\r\n/, $buf, 2);
	my @lines = split(/\r\n/, $head // '');
	my ($status) = (shift(@lines) // '') =~ m{\AHTTP/\d\.\d (\d{3})};
	my %h = map { /\A([^:]+):\s*(.*)\z/ ? (lc $1 => $2) : () } @lines;
	return {status => $status // 0, headers => \%h,
	    content => $content // ''};
}

my $UUID = qr/\A[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\z/;
my $NOPE = '00000000-0000-4000-8000-000000000095';
my $run = "$$-" . time;
my $tok = token(roles => 'Admin', sub => 't95', name => 'OpenAPI Test');
my $user_tok = token(roles => 'User', sub => 't95-user');
my $BAD_TOK = 'v4.public.bm90LWEtdG9rZW4';
my $cname = "t95-cred-$run";
my $cred = credential(name => $cname);
my $item = host_item(dnsHostName => "a.t95-$run.example.test",
    credentialName => $cname, os => 'Linux', acceptThumbprintOnFirstDiscovery
    => JSON::PP::true, sshTrustActionType => 'warnOnThumbprintMismatch',
    certificateType => 2,
    trustedThumbprint => 'SHA256:' . ('A' x 43), sshPort => 2222);
my $r;

# ---- the validator can fail ----
{
	my $good = {id => $NOPE, status => 'Queued',
	    statusDescription => '1 host: 1 Queued', hostScanHostStatus => [{
	    hostScanHostId => $NOPE, hostId => undef, name => undef,
	    dnsHostName => 'x', os => undef, ipAddress => undef,
	    version => undef, status => 'Queued', statusDescription => undef,
	    failureReason => 'NoError'}]};
	my $fake = sub {
		my ($body, %h) = @_;
		return {status => 200, content => $J->encode($body), headers => {
		    'content-type' => 'application/json; charset=utf-8',
		    'x-trace-id' => '0' x 32, %h}};
	};
	my @p = ('paths', '/HostScanJob', 'get', 'responses', '200');
	is_deeply([response_errors($fake->([$good]), 'GET', @p)], [],
	    'a valid page passes');
	my %bad = (%$good, status => 'Bogus');
	ok(scalar response_errors($fake->([\%bad]), 'GET', @p),
	    'an unknown ActionStatus fails');
	my %noid = %$good;
	delete $noid{id};
	ok(scalar response_errors($fake->([\%noid]), 'GET', @p),
	    'a missing id fails');
	my %num = (%$good, statusDescription => 5);
	ok(scalar response_errors($fake->([\%num]), 'GET', @p),
	    'a number for a string fails (nothing is coerced)');
	ok(scalar response_errors($fake->([$good], link => '<x>; rel=next'),
	    'GET', @p), 'a malformed Link header fails');
	my $nct = $fake->([$good]);
	$nct->{headers}{'content-type'} = 'text/plain';
	ok(scalar response_errors($nct, 'GET', @p),
	    'an undeclared media type fails');
	ok(scalar response_errors($fake->({}), 'GET', 'paths', '/Health',
	    'get', 'responses', '503'), 'a 503 without Retry-After fails');
}

# ---- Health, Version ----

$r = call(GET => '/Health', '/Health', 'no token');
expect($r, 200, 'GET /Health');
$r = call(HEAD => '/Health', '/Health', 'no token');
expect($r, 200, 'HEAD /Health');
$r = call(GET => '/Version', '/Version', 'no token');
expect($r, 200, 'GET /Version');
is(eval { $J->decode($r->{content}) }, $doc->{info}{version},
    'GET /Version is info.version');
$r = call(HEAD => '/Version', '/Version', 'no token');
expect($r, 200, 'HEAD /Version');

# ---- POST /HostScanJob ----

is_deeply([doc_accepts(POST => '/HostScanJob', [$item])], [],
    'the document accepts the item the server accepts');
$r = call(POST => '/HostScanJob', '/HostScanJob', 'good', token => $tok,
    json => [$item, host_item(dnsHostName => undef, ipAddress => '::1',
    credentialName => $cname)]);
expect($r, 200, 'POST /HostScanJob');
my $job = ($r->{json} // {})->{id} // $NOPE;
my $host_scan = (($r->{json} // {})->{hostScanHostStatus} // [{}])->[0]
    {hostScanHostId} // $NOPE;
my @bad = (host_item(sshPort => 70000, credentialName => $cname),
    host_item(dnsHostName => '-bad-', ipAddress => undef,
    credentialName => $cname));
ok(scalar doc_accepts(POST => '/HostScanJob', \@bad),
    'the document refuses the items the server refuses');
$r = call(POST => '/HostScanJob', '/HostScanJob', 'invalid items',
    token => $tok, json => \@bad);
expect($r, 400, 'POST /HostScanJob with invalid items');
ok(exists((($r->{json} // {})->{errors} // {})->{'[0].sshPort'}),
    'errors["[0].sshPort"]');
is(($r->{json} // {})->{title}, 'One or more validation errors occurred.',
    'validation title');
$r = call(POST => '/HostScanJob', '/HostScanJob', 'broken JSON',
    token => $tok, body => '[{', headers => {'Content-Type' =>
    'application/json'});
expect($r, 400, 'POST /HostScanJob with broken JSON');
$r = call(POST => '/HostScanJob', '/HostScanJob', 'empty array',
    token => $tok, json => []);
expect($r, 400, 'POST /HostScanJob with []');
$r = call(POST => '/HostScanJob', '/HostScanJob', 'no token', json => [$item]);
expect($r, 401, 'POST /HostScanJob without a token');
is(header_value($r, 'WWW-Authenticate'), 'Bearer', 'WWW-Authenticate: Bearer');
$r = call(POST => '/HostScanJob', '/HostScanJob', 'bad token',
    token => $BAD_TOK, json => [$item]);
expect($r, 401, 'POST /HostScanJob with a bad token');
is(header_value($r, 'WWW-Authenticate'), 'Bearer error="invalid_token"',
    'WWW-Authenticate names invalid_token');
$r = call(POST => '/HostScanJob', '/HostScanJob', 'User role',
    token => $user_tok, json => [$item]);
expect($r, 403, 'POST /HostScanJob with a User token');
$r = call(POST => '/HostScanJob', '/HostScanJob', 'text/plain',
    token => $tok, body => $J->encode([$item]),
    headers => {'Content-Type' => 'text/plain'});
expect($r, 415, 'POST /HostScanJob as text/plain');
{
	my $b = $J->encode([$item]);
	$r = raw_http("POST /api/v1/HostScanJob HTTP/1.0\r\nHost: localhost\r\n"
	    . "Authorization: Bearer $tok\r\nContent-Type: application/json"
	    . "\r\n\r\n$b");
	conforms($r, 'POST', '/HostScanJob', 'POST /HostScanJob without '
	    . 'Content-Length');
	expect($r, 411, 'POST /HostScanJob without Content-Length');
	my $big = '[' . $J->encode($item);
	$big .= ' ' x (8 * 1024 * 1024 + 1 - length($big) - 1) . ']';
	$r = call(POST => '/HostScanJob', '/HostScanJob', '8 MiB + 1',
	    token => $tok, body => $big,
	    headers => {'Content-Type' => 'application/json'});
	expect($r, 413, 'POST /HostScanJob of 8 MiB + 1 byte');
}

# ---- Idempotency-Key ----
{
	my $key = "t95-$run";
	my @one = (host_item(dnsHostName => "idem.t95-$run.example.test",
	    credentialName => $cname));
	$r = call(POST => '/HostScanJob', '/HostScanJob', 'Idempotency-Key',
	    token => $tok, json => \@one, headers => {'Idempotency-Key' => $key});
	expect($r, 200, 'POST with an Idempotency-Key');
	my $first = ($r->{json} // {})->{id} // '';
	$r = call(POST => '/HostScanJob', '/HostScanJob', 'same key again',
	    token => $tok, json => \@one, headers => {'Idempotency-Key' => $key});
	expect($r, 200, 'the same key and body again');
	is(header_value($r, 'Idempotent-Replayed'), 'true',
	    'Idempotent-Replayed: true');
	is(($r->{json} // {})->{id}, $first, 'the same job');
	$r = call(POST => '/HostScanJob', '/HostScanJob', 'key reused',
	    token => $tok, json => [$item], headers => {'Idempotency-Key' => $key});
	expect($r, 422, 'the same key with another body');
	$r = call(POST => '/HostScanJob', '/HostScanJob', 'bad key',
	    token => $tok, json => \@one,
	    headers => {'Idempotency-Key' => 'k' x 256});
	expect($r, 400, 'an Idempotency-Key of 256 characters');
	api(DELETE => "/api/v1/HostScanJob/$first", token => $tok);
}

# ---- GET /HostScanJob ----

$r = call(GET => '/HostScanJob', '/HostScanJob?limit=1', 'page of 1',
    token => $tok);
expect($r, 200, 'GET /HostScanJob?limit=1');
like(header_value($r, 'Link') // '', qr/rel="next"/, 'a next page is linked');
$r = call(HEAD => '/HostScanJob', '/HostScanJob?limit=1', 'page of 1',
    token => $tok);
expect($r, 200, 'HEAD /HostScanJob?limit=1');
$r = call(GET => '/HostScanJob', '/HostScanJob?limit=0', 'limit 0',
    token => $tok);
expect($r, 400, 'GET /HostScanJob?limit=0');
$r = call(GET => '/HostScanJob', "/HostScanJob?after=$NOPE", 'unknown after',
    token => $tok);
expect($r, 400, 'GET /HostScanJob?after=<no job>');
$r = call(GET => '/HostScanJob', '/HostScanJob', 'no token');
expect($r, 401, 'GET /HostScanJob without a token');
$r = call(GET => '/HostScanJob', '/HostScanJob', 'User role',
    token => $user_tok);
expect($r, 403, 'GET /HostScanJob with a User token');
$r = call(HEAD => '/HostScanJob', '/HostScanJob', 'no token');
expect($r, 401, 'HEAD /HostScanJob without a token');

# ---- one job ----

$r = call(GET => '/HostScanJob/{id}', "/HostScanJob/$job", 'entity',
    token => $tok);
expect($r, 200, 'GET /HostScanJob/{id}');
is((($r->{json} // {})->{hostScanJobHostJoin} // [{}])->[0]{hostScanHost}
    {sshTrustActionType}, 'WarnOnThumbprintMismatch',
    'an enum given in another letter case comes back as its name');
$r = call(GET => '/HostScanJob/{id}', "/HostScanJob/$NOPE", 'unknown',
    token => $tok);
expect($r, 404, 'GET /HostScanJob/{unknown}');
$r = call(GET => '/HostScanJob/{id}', '/HostScanJob/' . uc($job), 'upper case',
    token => $tok);
expect($r, 200, 'GET /HostScanJob/{ID in upper case}');
$r = call(HEAD => '/HostScanJob/{id}', "/HostScanJob/$job", 'entity',
    token => $tok);
expect($r, 200, 'HEAD /HostScanJob/{id}');
$r = call(HEAD => '/HostScanJob/{id}', "/HostScanJob/$NOPE", 'unknown',
    token => $tok);
expect($r, 404, 'HEAD /HostScanJob/{unknown}');
$r = call(GET => '/HostScanJob/{id}/Status', "/HostScanJob/$job/Status",
    'status', token => $tok);
expect($r, 200, 'GET /HostScanJob/{id}/Status');
$r = call(GET => '/HostScanJob/{id}/Status', "/HostScanJob/$NOPE/Status",
    'unknown', token => $tok);
expect($r, 404, 'GET /HostScanJob/{unknown}/Status');
$r = call(HEAD => '/HostScanJob/{id}/Status', "/HostScanJob/$job/Status",
    'status', token => $tok);
expect($r, 200, 'HEAD /HostScanJob/{id}/Status');
$r = call(DELETE => '/HostScanJob/{id}', "/HostScanJob/$job", 'cancel',
    token => $tok);
expect($r, 202, 'DELETE /HostScanJob/{id}');
is(($r->{json} // {})->{status}, 'Cancelled', 'the job is Cancelled');
$r = call(DELETE => '/HostScanJob/{id}', "/HostScanJob/$NOPE", 'unknown',
    token => $tok);
expect($r, 404, 'DELETE /HostScanJob/{unknown}');
$r = call(DELETE => '/HostScanJob/{id}', "/HostScanJob/$job", 'User role',
    token => $user_tok);
expect($r, 403, 'DELETE /HostScanJob/{id} with a User token');

# ---- 405 and unknown routes (described once, in components) ----

for my $x (['PUT', '/HostScanJob'], ['POST', "/HostScanJob/$job/Status"],
    ['POST', '/Health'], ['DELETE', '/HostScanJob/Host']) {
	$r = api($x->[0], "/api/v1$x->[1]", token => $tok, json => []);
	expect($r, 405, "$x->[0] $x->[1]");
	my @e = response_errors($r, $x->[0], 'components', 'responses',
	    'MethodNotAllowed');
	ok(!@e, "$x->[0] $x->[1]: matches MethodNotAllowed")
	    or diag(join("\n", @e));
}
for my $p ('/api/v1/Nope', "/api/v1/HostScanJob/$job/Nope",
    '/api/v1/HostScanJob/not-a-uuid', '/nope') {
	$r = api(GET => $p, token => $tok);
	expect($r, 404, "GET $p");
	my @e = response_errors($r, 'GET', 'components', 'responses',
	    'NotFound');
	ok(!@e, "GET $p: matches NotFound") or diag(join("\n", @e));
}

# ---- scanned data: fixture rows written as the scheduler would ----

my $seed = HS::seed_scan(tag => 't95', octet => 95, credential => $cred,
    users => [{ name => 'bob', uid => 1001, gid => 1001, home => '/home/bob',
	shell => '/bin/sh', privilege => 'LinuxUser',
	expires => '2027-01-01T00:00:00Z' }],
    members => [['bob', 0], ['ghost', 0], ['root', 1]]);
my ($host, $host2, $fjob, $scan, $nokey, $grp, $fp) =
    @$seed{qw(host host2 job scan nokey group fp)};
my ($u_root, $u_bob) = @{$seed->{users}}{qw(root bob)};

$r = call(GET => '/HostScanJob/Host', '/HostScanJob/Host?limit=1', 'page',
    token => $tok);
expect($r, 200, 'GET /HostScanJob/Host?limit=1');
like(header_value($r, 'Link') // '', qr/rel="next"/, 'Host: next page linked');
$r = call(GET => '/HostScanJob/Host', '/HostScanJob/Host', 'all',
    token => $tok);
expect($r, 200, 'GET /HostScanJob/Host');
$r = call(GET => '/HostScanJob/Host', '/HostScanJob/Host?limit=x', 'bad limit',
    token => $tok);
expect($r, 400, 'GET /HostScanJob/Host?limit=x');
$r = call(GET => '/HostScanJob/Host', '/HostScanJob/Host', 'no token');
expect($r, 401, 'GET /HostScanJob/Host without a token');
$r = call(HEAD => '/HostScanJob/Host', '/HostScanJob/Host', 'all',
    token => $tok);
expect($r, 200, 'HEAD /HostScanJob/Host');

$r = call(GET => '/HostScanJob/Host/{hostScanHostId}', "/HostScanJob/Host/$scan",
    'record', token => $tok);
expect($r, 200, 'GET /HostScanJob/Host/{id}');
is(scalar @{($r->{json} // {})->{scanLog} // []}, 2, 'with its scan log');
$r = call(GET => '/HostScanJob/Host/{hostScanHostId}',
    "/HostScanJob/Host/$NOPE", 'unknown', token => $tok);
expect($r, 404, 'GET /HostScanJob/Host/{unknown}');
$r = call(HEAD => '/HostScanJob/Host/{hostScanHostId}',
    "/HostScanJob/Host/$scan", 'record', token => $tok);
expect($r, 200, 'HEAD /HostScanJob/Host/{id}');

$r = call(PUT => '/HostScanJob/Host/{hostScanHostId}/Trust',
    "/HostScanJob/Host/$scan/Trust", 'trust', token => $tok);
expect($r, 200, 'PUT /HostScanJob/Host/{id}/Trust');
is(($r->{json} // {})->{trustedThumbprint}, $fp, 'the key is trusted');
$r = call(PUT => '/HostScanJob/Host/{hostScanHostId}/Trust',
    "/HostScanJob/Host/$nokey/Trust", 'no key', token => $tok);
expect($r, 409, 'PUT Trust of a scan that found no key');
$r = call(PUT => '/HostScanJob/Host/{hostScanHostId}/Trust',
    "/HostScanJob/Host/$NOPE/Trust", 'unknown', token => $tok);
expect($r, 404, 'PUT Trust of an unknown scan');
$r = call(PUT => '/HostScanJob/Host/{hostScanHostId}/Trust',
    "/HostScanJob/Host/$scan/Trust", 'no token');
expect($r, 401, 'PUT Trust without a token');

$r = call(GET => '/HostScanJob/User', '/HostScanJob/User?limit=1', 'page',
    token => $tok);
expect($r, 200, 'GET /HostScanJob/User?limit=1');
$r = call(GET => '/HostScanJob/User', '/HostScanJob/User', 'all',
    token => $tok);
expect($r, 200, 'GET /HostScanJob/User');
$r = call(GET => '/HostScanJob/User', '/HostScanJob/User?after=x', 'bad after',
    token => $tok);
expect($r, 400, 'GET /HostScanJob/User?after=x');
$r = call(HEAD => '/HostScanJob/User', '/HostScanJob/User', 'all',
    token => $tok);
expect($r, 200, 'HEAD /HostScanJob/User');
for my $u ($u_root, $u_bob) {
	$r = call(GET => '/HostScanJob/User/{id}', "/HostScanJob/User/$u", 'user',
	    token => $tok);
	expect($r, 200, 'GET /HostScanJob/User/{id}');
}
$r = call(GET => '/HostScanJob/User/{id}', "/HostScanJob/User/$NOPE",
    'unknown', token => $tok);
expect($r, 404, 'GET /HostScanJob/User/{unknown}');
$r = call(HEAD => '/HostScanJob/User/{id}', "/HostScanJob/User/$u_root",
    'user', token => $tok);
expect($r, 200, 'HEAD /HostScanJob/User/{id}');

$r = call(GET => '/HostScanJob/Group/{id}', "/HostScanJob/Group/$grp", 'group',
    token => $tok);
expect($r, 200, 'GET /HostScanJob/Group/{id}');
is(scalar @{($r->{json} // {})->{members} // []}, 3, 'with its members');
$r = call(GET => '/HostScanJob/Group/{id}', "/HostScanJob/Group/$NOPE",
    'unknown', token => $tok);
expect($r, 404, 'GET /HostScanJob/Group/{unknown}');
$r = call(HEAD => '/HostScanJob/Group/{id}', "/HostScanJob/Group/$grp",
    'group', token => $tok);
expect($r, 200, 'HEAD /HostScanJob/Group/{id}');

# A host's services, scheduled tasks and software (rows of every kind the
# columns allow: nulls, timer times), and users by SID.
HS::seed_inventory($seed, services => 3, tasks => 2, software => 2);
for my $sec (qw(Services ScheduledTasks Software)) {
	my $doc = "/HostScanJob/Host/{hostScanHostId}/$sec";
	my $real = "/HostScanJob/Host/$scan/$sec";
	$r = call(GET => $doc, "$real?limit=1", 'page', token => $tok);
	expect($r, 200, "GET .../$sec?limit=1");
	like(header_value($r, 'Link') // '', qr/rel="next"/,
	    "$sec: next page linked");
	$r = call(GET => $doc, $real, 'all', token => $tok);
	expect($r, 200, "GET .../$sec");
	$r = call(GET => $doc, "/HostScanJob/Host/$NOPE/$sec", 'unknown',
	    token => $tok);
	expect($r, 404, "GET .../$sec of an unknown scan");
	$r = call(GET => $doc, "$real?after=x", 'bad after', token => $tok);
	expect($r, 400, "GET .../$sec?after=x");
	$r = call(GET => $doc, $real, 'no token');
	expect($r, 401, "GET .../$sec without a token");
	$r = call(GET => $doc, $real, 'User role', token => $user_tok);
	expect($r, 403, "GET .../$sec with a User token");
	$r = call(HEAD => $doc, "$real?limit=1", 'page', token => $tok);
	expect($r, 200, "HEAD .../$sec?limit=1");
	$r = call(HEAD => $doc, "/HostScanJob/Host/$NOPE/$sec", 'unknown',
	    token => $tok);
	expect($r, 404, "HEAD .../$sec of an unknown scan");
}
$r = call(GET => '/HostScanJob/User/SID/{sid}',
    '/HostScanJob/User/SID/S-1-22-1-1001', 'Unix user', token => $tok);
expect($r, 200, 'GET /HostScanJob/User/SID/S-1-22-1-1001');
ok((grep { ($_->{id} // '') eq $u_bob } @{$r->{json} // []}),
    'bob is among the users with uid 1001');
$r = call(GET => '/HostScanJob/User/SID/{sid}',
    '/HostScanJob/User/SID/S-1-22-1-0?limit=1', 'root, one page',
    token => $tok);
expect($r, 200, 'GET /HostScanJob/User/SID/S-1-22-1-0?limit=1');
$r = call(GET => '/HostScanJob/User/SID/{sid}',
    '/HostScanJob/User/SID/S-1-5-21-1-2-3-500', 'Windows SID',
    token => $tok);
expect($r, 200, 'GET /HostScanJob/User/SID/{a Windows SID}');
is_deeply($r->{json}, [], 'a Windows SID: no scanned user');
$r = call(GET => '/HostScanJob/User/SID/{sid}',
    '/HostScanJob/User/SID/root', 'not a SID', token => $tok);
expect($r, 400, 'GET /HostScanJob/User/SID/root');
$r = call(GET => '/HostScanJob/User/SID/{sid}',
    '/HostScanJob/User/SID/S-1-22-1-0', 'no token');
expect($r, 401, 'GET /HostScanJob/User/SID/{sid} without a token');
$r = call(HEAD => '/HostScanJob/User/SID/{sid}',
    '/HostScanJob/User/SID/S-1-22-1-0', 'root', token => $tok);
expect($r, 200, 'HEAD /HostScanJob/User/SID/S-1-22-1-0');

# ---- re-scans ----

$r = call(POST => '/HostScanJob/ByHostId/{hostId}', "/HostScanJob/ByHostId/$host",
    're-scan', token => $tok);
expect($r, 200, 'POST /HostScanJob/ByHostId/{id}');
my $rescan = ($r->{json} // {})->{id} // $NOPE;
$r = call(POST => '/HostScanJob/ByHostId/{hostId}',
    "/HostScanJob/ByHostId/$NOPE", 'unknown', token => $tok);
expect($r, 404, 'POST ByHostId of an unknown host');
$r = call(POST => '/HostScanJob/ByHostId/{hostId}',
    "/HostScanJob/ByHostId/$host2", 'no credential', token => $tok);
expect($r, 409, 'POST ByHostId of a host without a credential');
$r = call(GET => '/HostScanJob/ByHostId/{hostId}', "/HostScanJob/ByHostId/$host",
    'latest', token => $tok);
expect($r, 200, 'GET /HostScanJob/ByHostId/{id}');
is(($r->{json} // {})->{id}, $rescan, 'the latest job is the re-scan');
$r = call(GET => '/HostScanJob/ByHostId/{hostId}',
    "/HostScanJob/ByHostId/$NOPE", 'unknown', token => $tok);
expect($r, 404, 'GET ByHostId of an unknown host');
$r = call(HEAD => '/HostScanJob/ByHostId/{hostId}',
    "/HostScanJob/ByHostId/$host", 'latest', token => $tok);
expect($r, 200, 'HEAD /HostScanJob/ByHostId/{id}');
$r = call(POST => '/HostScanJob/ByHostIdMultiple',
    '/HostScanJob/ByHostIdMultiple', 'two', token => $tok,
    json => [$host, uc $host]);
expect($r, 200, 'POST /HostScanJob/ByHostIdMultiple');
my @multi = map { $_->{id} } @{ref $r->{json} eq 'ARRAY' ? $r->{json} : []};
$r = call(POST => '/HostScanJob/ByHostIdMultiple',
    '/HostScanJob/ByHostIdMultiple', 'bad ids', token => $tok,
    json => [$host, 'nope', $NOPE]);
expect($r, 400, 'POST ByHostIdMultiple with bad ids');
$r = call(POST => '/HostScanJob/ByHostIdMultiple',
    '/HostScanJob/ByHostIdMultiple', 'text/plain', token => $tok,
    body => "[\"$host\"]", headers => {'Content-Type' => 'text/plain'});
expect($r, 415, 'POST ByHostIdMultiple as text/plain');
$r = call(POST => '/HostScanJob/{id}', "/HostScanJob/$host", 'scan now',
    token => $tok);
expect($r, 200, 'POST /HostScanJob/{managedResourceId}');
my $now = ($r->{json} // {})->{id} // $NOPE;
$r = call(POST => '/HostScanJob/{id}', "/HostScanJob/$NOPE", 'unknown',
    token => $tok);
expect($r, 400, 'POST /HostScanJob/{no host record}');
$r = call(POST => '/HostScanJob/{id}', "/HostScanJob/$host2",
    'no credential', token => $tok);
expect($r, 409, 'POST /HostScanJob/{host without a credential}');
$r = call(POST => '/HostScanJob/{id}', "/HostScanJob/$host", 'User role',
    token => $user_tok);
expect($r, 403, 'POST /HostScanJob/{id} with a User token');

$r = call(POST => '/HostScanJob/OuMapping/{credentialId}',
    "/HostScanJob/OuMapping/$cred", 'two names', token => $tok,
    json => ["ou1.t95-$run.example.test", "ou2.t95-$run.example.test"]);
expect($r, 200, 'POST /HostScanJob/OuMapping/{credentialId}');
my $ou = ($r->{json} // {})->{id} // $NOPE;
$r = call(POST => '/HostScanJob/OuMapping/{credentialId}',
    "/HostScanJob/OuMapping/$cred", 'bad names', token => $tok,
    json => ['-bad-', 5]);
expect($r, 400, 'POST OuMapping with bad names');
$r = call(POST => '/HostScanJob/OuMapping/{credentialId}',
    "/HostScanJob/OuMapping/$NOPE", 'unknown credential', token => $tok,
    json => ["ou3.t95-$run.example.test"]);
expect($r, 400, 'POST OuMapping with an unknown credential');
$r = call(POST => '/HostScanJob/OuMapping/{credentialId}',
    "/HostScanJob/OuMapping/$cred", 'text/plain', token => $tok,
    body => '["a.example.test"]',
    headers => {'Content-Type' => 'text/plain'});
expect($r, 415, 'POST OuMapping as text/plain');
$r = call(POST => '/HostScanJob/OuMapping/{credentialId}',
    "/HostScanJob/OuMapping/$cred", 'no token', json => ['a.example.test']);
expect($r, 401, 'POST OuMapping without a token');
api(DELETE => "/api/v1/HostScanJob/$_", token => $tok)
    for $rescan, @multi, $now, $ou;

# ---- ValidateImportedCSV ----
{
	my @rows = (host_item(dnsHostName => "csv.t95-$run.example.test",
	    credentialName => $cname, sshPort => undef),
	    {dnsHostName => '', ipAddress => 'nope', credentialName => 'no such',
	    platformName => 'linux', sshPort => 0, extra => 1},
	    {credentialName => $cname, sshPort => 'x'}, 'not an object');
	$r = call(POST => '/HostScanJob/ValidateImportedCSV',
	    '/HostScanJob/ValidateImportedCSV', 'mixed rows', token => $tok,
	    json => \@rows);
	expect($r, 200, 'POST ValidateImportedCSV');
	my @it = @{ref $r->{json} eq 'ARRAY' ? $r->{json} : []};
	is(scalar @it, 4, 'one item per row');
	ok(!defined $it[0]{dnsHostNameError} && !defined $it[0]{errors},
	    'a good row has no errors');
	ok(defined $it[1]{ipAddressError} && defined $it[1]{platformNameError}
	    && defined $it[1]{credentialNameError}, 'a bad row has its errors');
	ok(defined(($it[2]{errors} // {})->{sshPort}), 'sshPort is in errors');
	$r = call(POST => '/HostScanJob/ValidateImportedCSV',
	    '/HostScanJob/ValidateImportedCSV', 'empty', token => $tok,
	    json => []);
	expect($r, 400, 'POST ValidateImportedCSV with []');
	$r = call(POST => '/HostScanJob/ValidateImportedCSV',
	    '/HostScanJob/ValidateImportedCSV', 'no token', json => \@rows);
	expect($r, 401, 'POST ValidateImportedCSV without a token');
	$r = call(POST => '/HostScanJob/ValidateImportedCSV',
	    '/HostScanJob/ValidateImportedCSV', 'User role', token => $user_tok,
	    json => \@rows);
	expect($r, 403, 'POST ValidateImportedCSV with a User token');
}

# ---- sign-in ----
{
	my $login = "t95-$run";
	my $wrong = note_secret("t95-wrong-pw-$run", 't/95-openapi.t');
	$r = call(POST => '/signinBody', '/signinBody', 'unknown user',
	    json => {Login => $login, Password => $wrong});
	expect($r, 401, 'POST /signinBody for an unknown user');
	$r = call(POST => '/signinBody', '/signinBody', 'no Password',
	    json => {Login => $login});
	expect($r, 400, 'POST /signinBody without a Password');
	$r = call(POST => '/signin2fa', '/signin2fa', 'no token',
	    json => '123456');
	expect($r, 401, 'POST /signin2fa without a token');
	$r = call(POST => '/signin2fa', '/signin2fa', 'session token',
	    token => $tok, json => '123456');
	expect($r, 401, 'POST /signin2fa with a session token');
	$r = call(GET => '/UserToken', '/UserToken', 'no token');
	expect($r, 401, 'GET /UserToken without a token');
	$r = call(GET => '/UserToken', '/UserToken', 'not a user', token => $tok);
	expect($r, 403, 'GET /UserToken for a subject that is no user');
	$r = call(HEAD => '/UserToken', '/UserToken', 'no token');
	expect($r, 401, 'HEAD /UserToken without a token');

	# A user with a password and a TOTP secret, signing in for real.
	my $pw = note_secret("t95-pw-$run", 't/95-openapi.t password');
	my ($rc, $out, $err) = ctl(['user', 'add', $login, '--role', 'Admin'],
	    stdin => $pw);
	is($rc, 0, 'hostscanctl user add') or diag($err);
	($rc, $out, $err) = ctl(['user', 'totp', $login]);
	is($rc, 0, 'hostscanctl user totp') or diag($err);
	my ($secret) = $out =~ /[?&]secret=([A-Z2-7]+)/;
	ok($secret, 'the otpauth URI carries the secret');
	note_secret($secret, 't/95-openapi.t TOTP secret');
	$r = call(POST => '/signinBody', '/signinBody', 'good password',
	    json => {Login => $login, Password => $pw});
	expect($r, 200, 'POST /signinBody');
	my $pre = note_secret($r->{json} // '', 't/95-openapi.t pre-MFA token');
	$r = call(POST => '/signin2fa', '/signin2fa', 'not a code',
	    token => $pre, json => 'abc');
	expect($r, 400, 'POST /signin2fa with a body that is no code');
	($rc, $out, $err) = run_cmd(['oathtool', '--totp', '-b', $secret // '']);
	is($rc, 0, 'oathtool computes the code') or diag($err);
	chomp(my $code = $out);
	note_secret($code, 't/95-openapi.t TOTP code');
	$r = call(POST => '/signin2fa', '/signin2fa', 'good code', token => $pre,
	    json => $code);
	expect($r, 200, 'POST /signin2fa');
	my $session = note_secret($r->{json} // '', 't/95-openapi.t session token');
	$r = call(POST => '/signin2fa', '/signin2fa', 'replayed code',
	    token => $pre, json => $code);
	expect($r, 401, 'POST /signin2fa with a used code');
	$r = call(GET => '/UserToken', '/UserToken', 'session', token => $session);
	expect($r, 200, 'GET /UserToken with the session token');
	$r = call(HEAD => '/UserToken', '/UserToken', 'session', token => $session);
	expect($r, 200, 'HEAD /UserToken with the session token');
	$r = call(GET => '/HostScanJob', '/HostScanJob?limit=1', 'session token',
	    token => $session);
	expect($r, 200, 'GET /HostScanJob with an Admin session token');
	$r = call(GET => '/HostScanJob', '/HostScanJob?limit=1', 'pre-MFA token',
	    token => $pre);
	expect($r, 401, 'GET /HostScanJob with a pre-MFA token');

	# Failures of one name lock it: 429 with Retry-After.
	my $locked = "t95-locked-$run";
	my $n = 0;
	do {
		$r = api(POST => '/signinBody', json => {Login => $locked,
		    Password => $wrong});
	} while ($r->{status} == 401 && ++$n < 20);
	conforms($r, 'POST', '/signinBody', 'POST /signinBody after '
	    . "$n failures");
	expect($r, 429, "POST /signinBody after $n failures");
}

# ---- database down: 503 with Retry-After ----
{
	my $fresh = token(roles => 'App', sub => "t95-503-$run");
	pg_stop();
	$r = call(GET => '/Health', '/Health', 'database down');
	expect($r, 503, 'GET /Health with the database down');
	$r = call(HEAD => '/Health', '/Health', 'database down');
	expect($r, 503, 'HEAD /Health with the database down');
	$r = call(GET => '/HostScanJob', '/HostScanJob', 'database down',
	    token => $fresh);
	expect($r, 503, 'GET /HostScanJob with the database down');
	$r = call(POST => '/HostScanJob', '/HostScanJob', 'database down',
	    token => $fresh, json => [$item]);
	expect($r, 503, 'POST /HostScanJob with the database down');
	pg_start();
	ok(wait_for(sub { api(GET => '/api/v1/Health')->{status} == 200 }, 30),
	    'Health is 200 again once the database is back');
}

# ---- every documented operation was exercised ----

for my $k (sort keys %ops) {
	ok($seen{$k}, "$k was exercised")
	    and note("$k: " . join(' ', sort keys %{$seen{$k}}));
}

done_testing();
