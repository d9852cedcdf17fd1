#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# The auth matrix: which tokens reach GET and POST /api/v1/HostScanJob,
# and that every refusal is a 401/403 problem that says no more than
# "invalid token".
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use HS qw(:DEFAULT note_secret);
use Check qw(log_size log_since served_by responder_log postgres_log
    secrets_absent);
use Test::More;
use JSON::PP ();
use MIME::Base64 qw(encode_base64url decode_base64url);
use POSIX qw(strftime);
use File::Temp qw(tempdir);

need_services();

my $J = JSON::PP->new->utf8->allow_nonref->canonical;
my $LIST = '/api/v1/HostScanJob';
# GET on the list with one item: the route and its auth, not the list's size.
my $GET = "$LIST?limit=1";
my $scratch = tempdir('auth-XXXXXX', DIR => $ENV{HOSTSCAN_TEST_DIR} // '/tmp',
    CLEANUP => 1);

sub body { my ($r) = @_; return eval { $J->decode($r->{content}) } }
sub ts { return strftime('%Y-%m-%dT%H:%M:%SZ', gmtime(time + $_[0])) }
sub uuid4 {
	return sprintf('%08x-%04x-4%03x-%04x-%012x', int(rand(2**32)),
	    int(rand(2**16)), int(rand(2**12)), 0x8000 | int(rand(2**14)),
	    int(rand(2**48)));
}

# A payload with good claims; overrides replace a claim (undef drops it).
sub claims {
	my (%o) = @_;
	my %c = (sub => 'auth-test', roles => ['Admin'], iat => ts(0),
	    exp => ts(600), jti => uuid4());
	for my $k (keys %o) {
		if (defined $o{$k}) { $c{$k} = $o{$k} } else { delete $c{$k} }
	}
	return $J->encode(\%c);
}

sub run {
	my (@cmd) = @_;
	open(my $fh, '-|', @cmd) or die "$cmd[0]: $!";
	local $/;
	my $out = <$fh> // '';
	close($fh);
	die "@cmd[0,1]: exit $?" if $?;
	$out =~ s/\s+\z//;
	return $out;
}

sub sign_with {
	my ($key, $payload, $footer) = @_;
	return run($ENV{HOSTSCAN_HS_SIGN}, $key, $payload,
	    defined $footer ? ($footer) : ());
}

sub pid_of { return run($ENV{HOSTSCAN_HS_SIGN}, '--pid', $_[0]) }

# A copy of the test config whose keys live elsewhere; the environment
# overrides point there too, since they win over the file.
sub keygen_elsewhere {
	my ($key, $ring) = @_;
	open(my $in, '<', $ENV{HOSTSCAN_CONFIG}) or die "config: $!";
	my $cfg = join('', grep { !/^\s*(?:keyring|signing_key)\s*=/ } <$in>);
	close($in);
	my $path = "$scratch/hostscan-" . int(rand(1e9)) . '.conf';
	open(my $out, '>', $path) or die "$path: $!";
	print $out $cfg, "keyring = $ring\nsigning_key = $key\n";
	close($out) or die "$path: $!";
	local $ENV{HOSTSCAN_CONFIG} = $path;
	local $ENV{HOSTSCAN_SIGNING_KEY} = $key;
	local $ENV{HOSTSCAN_KEYRING} = $ring;
	return ctl(['keygen']);
}

sub counts {
	return psql('SELECT count(*) FROM host_scan_job');
}

my @errors;
sub call {
	my ($method, $path, %o) = @_;
	my $r = api($method, $path, %o);
	push @errors, [$r, $o{token} // ''] if $r->{status} >= 400;
	return $r;
}

my $item = host_item(dnsHostName => 'auth.example.test');
sub post { return call(POST => $LIST, json => [$item], @_) }

sub problem_ok {
	my ($r, $status, $what) = @_;
	is($r->{status}, $status, "$what: $status");
	like($r->{headers}{'content-type'} // '',
	    qr{\Aapplication/problem\+json\s*(?:;.*)?\z},
	    "$what: problem+json");
	my $b = body($r);
	$b = {} unless ref $b eq 'HASH';
	is($b->{status}, $status, "$what: problem status $status");
	ok(defined $b->{traceId} && !ref $b->{traceId} && length $b->{traceId},
	    "$what: traceId");
	return $b;
}

# A bad token on both routes: 401, the challenge, and "invalid token" only.
sub rejected {
	my ($what, %o) = @_;
	my $before = counts();
	for my $r ([GET => call(GET => $GET, %o)], [POST => post(%o)]) {
		my ($m, $res) = @$r;
		my $b = problem_ok($res, 401, "$what ($m)");
		is($b->{detail}, 'invalid token', "$what ($m): detail is only \"invalid token\"");
		my $wa = $res->{headers}{'www-authenticate'} // '';
		if ($o{challenge_only}) {
			like($wa, qr/\ABearer\b/, "$what ($m): WWW-Authenticate Bearer");
		} else {
			like($wa, qr/\ABearer\b.*\berror="invalid_token"/,
			    "$what ($m): WWW-Authenticate Bearer error=\"invalid_token\"");
		}
	}
	is(counts(), $before, "$what: no job created");
}

sub accepted {
	my ($what, $tok) = @_;
	is(call(GET => $GET, token => $tok)->{status}, 200, "$what: GET 200");
	is(post(token => $tok)->{status}, 200, "$what: POST 200");
}

my $good = note_secret(token(roles => 'Admin', sub => 'auth-test'),
    't/30-auth.t');
accepted('hostscanctl Admin token', $good);
accepted('hs-sign token with complete claims', sign(claims(), undef));

# ---- no token, other schemes, garbage ----

{
	my $before = counts();
	for my $m (qw(GET POST)) {
		my $r = $m eq 'GET' ? call(GET => $GET) : post();
		my $b = problem_ok($r, 401, "no Authorization header ($m)");
		like($r->{headers}{'www-authenticate'} // '', qr/\ABearer\b/,
		    "no Authorization header ($m): WWW-Authenticate starts with Bearer");
		is($b->{detail}, 'invalid token', "no Authorization header ($m): detail");
	}
	is(counts(), $before, 'no Authorization header: no job created');
}
rejected('Basic credentials', headers => {Authorization => 'Basic eHl6Onh5eg=='},
    challenge_only => 1);
rejected('Bearer garbage', headers => {Authorization => 'Bearer garbage'});
rejected('Bearer with an empty token', headers => {Authorization => 'Bearer '},
    challenge_only => 1);
rejected('two tokens in one Authorization header',
    headers => {Authorization => "Bearer $good $good"});

# ---- wrong versions and purposes ----

(my $local = $good) =~ s/\Av4\.public\./v4.local./;
rejected('v4.local token', token => $local);
(my $v3 = $good) =~ s/\Av4\.public\./v3.public./;
rejected('v3.public token', token => $v3);
(my $v2 = $good) =~ s/\Av4\.public\./v2.public./;
rejected('v2.public token', token => $v2);

# ---- tampering ----

my ($ver, $purpose, $msg, $foot) = split(/\./, $good);
ok(defined $foot && length $foot, 'hostscanctl tokens carry a footer');
{
	my $m = $msg;
	substr($m, 10, 1) = substr($m, 10, 1) eq 'A' ? 'B' : 'A';
	rejected('payload tampered (one base64 char)', token => "$ver.$purpose.$m.$foot");
	$m = $msg;
	my $at = length($m) - 10;
	substr($m, $at, 1) = substr($m, $at, 1) eq 'A' ? 'B' : 'A';
	rejected('signature tampered (one base64 char)', token => "$ver.$purpose.$m.$foot");
	rejected('signature cut short', token => "$ver.$purpose." . substr($msg, 0, -4) . ".$foot");
}
{
	my $f = $foot;
	substr($f, 12, 1) = substr($f, 12, 1) eq 'A' ? 'B' : 'A';
	rejected('footer tampered (one base64 char)', token => "$ver.$purpose.$msg.$f");
	# Same kid, different bytes: only the signature can notice.
	my $fj = decode_base64url($foot);
	(my $fj2 = $fj) =~ s/:/: /;
	isnt($fj2, $fj, 'fixture: re-spaced footer differs');
	rejected('footer replaced keeping the kid',
	    token => "$ver.$purpose.$msg." . encode_base64url($fj2));
	rejected('footer removed', token => "$ver.$purpose.$msg");
}

# ---- keys the service does not list ----

my $live_pid = pid_of($ENV{HOSTSCAN_SIGNING_KEY});
like($live_pid, qr/\Ak4\.pid\./, 'hs-sign --pid prints the live k4.pid');
my $other_key = "$scratch/other.key";
my $other_ring = "$scratch/other.keyring";
my ($rc, $kout) = keygen_elsewhere($other_key, $other_ring);
is($rc, 0, 'keygen of a second, unlisted key succeeds');
ok(-s $other_key, 'the unlisted signing key was written');
my $other_pid = pid_of($other_key);
like($kout // '', qr/\Q$other_pid\E/, 'keygen prints the new k4.pid');
isnt($other_pid, $live_pid, 'the unlisted key has its own pid');
rejected('token signed with an unlisted key (unknown kid)',
    token => sign_with($other_key, claims()));
rejected('token signed with an unlisted key claiming the listed kid',
    token => sign_with($other_key, claims(), $J->encode({kid => $live_pid})));
rejected('token with a footer kid that is not a PASERK id',
    token => sign(claims(), '{"kid":"not-a-pid"}'));
rejected('token with a footer that is not JSON', token => sign(claims(), 'kid'));

# ---- time claims ----

rejected('expired two minutes ago', token => sign(claims(exp => ts(-120)), undef));
accepted('expired 30 s ago, within the 60 s leeway',
    sign(claims(exp => ts(-30)), undef));
rejected('nbf two minutes in the future',
    token => sign(claims(nbf => ts(120)), undef));
accepted('nbf 30 s in the future, within the leeway',
    sign(claims(nbf => ts(30)), undef));
rejected('exp missing', token => sign(claims(exp => undef), undef));
rejected('exp not RFC 3339', token => sign(claims(exp => 'tomorrow'), undef));
rejected('exp as a number', token => sign(claims(exp => time + 600), undef));

# ---- other claims ----

rejected('sub missing', token => sign(claims(sub => undef), undef));
rejected('sub empty', token => sign(claims(sub => ''), undef));
rejected('jti missing', token => sign(claims(jti => undef), undef));
rejected('roles missing', token => sign(claims(roles => undef), undef));
rejected('roles empty', token => sign(claims(roles => []), undef));
rejected('roles not an array', token => sign(claims(roles => 'Admin'), undef));
rejected('payload not a JSON object', token => sign('["Admin"]', undef));

# ---- revocation ----

{
	my $t = token(roles => 'Admin', sub => 'auth-revoke');
	is(call(GET => $GET, token => $t)->{status}, 200, 'token works before revocation');
	my ($rrc) = ctl(['token', 'revoke', token_jti($t)]);
	is($rrc, 0, 'hostscanctl token revoke succeeds');
	rejected('revoked token', token => $t);
	my $fresh = token(roles => 'Admin', sub => 'auth-revoke');
	accepted('a fresh token of the same sub after a revocation', $fresh);
}

# With one worker the token is certainly in that worker's cache when it is
# revoked: the revocation has to reach the cache (NOTIFY hostscan_revoke),
# not only the database.  Delivery is asynchronous, hence the short wait.
# The request log line says whether the cache answered (token=cached).
{
	my $h = start_responder(workers => 1);
	my $web = nginx_for_socket($h->{socket});
	my $t = note_secret(token(roles => 'Admin', sub => 'auth-revoke-cached'),
	    't/30-auth.t cached token');
	# The request line of each answer: "token=... auth_fail=..." of it.
	my $get = sub {
		my $off = log_size($h->{log});
		my $r = api(GET => $GET, token => $t, url => $web->{url});
		my $pid = served_by($r, $h->{log}, $off);
		my ($how) = log_since($h->{log}, $off) =~
		    /event=request trace=\Q$r->{headers}{'x-trace-id'}\E .*?(token=\w+(?: auth_fail=.*)?)$/m;
		return ($r->{status}, $how // 'no request line', $pid);
	};
	my @first = $get->();
	is_deeply([@first[0, 1]], [200, 'token=verified'],
	    'one worker: token accepted, verified (not from the cache)');
	my @again = $get->();
	is_deeply([@again[0, 1]], [200, 'token=cached'],
	    'one worker: token accepted again, from its cache');
	is($again[2], $first[2], 'one worker: the same worker both times');
	my ($rrc) = ctl(['token', 'revoke', token_jti($t)]);
	is($rrc, 0, 'one worker: hostscanctl token revoke succeeds');
	my @last;
	ok(wait_for(sub { @last = $get->(); $last[0] == 401 }, 2),
	    'one worker: the cached token is refused once revoked');
	is($last[1], 'token=verified auth_fail="token revoked"',
	    'one worker: the cache was emptied and the token found revoked');
	is($last[2], $first[2], 'one worker: by the worker that had cached it');
	stop_nginx($web);
	is(stop_responder($h), 0, 'one worker: the responder stops cleanly');
	secrets_absent('the cached token', [$t], $h->{log});
}

# ---- roles ----

for my $role (qw(User Reviewer)) {
	my $t = token(roles => $role, sub => "auth-$role");
	my $before = counts();
	problem_ok(call(GET => $GET, token => $t), 403, "role $role (GET)");
	problem_ok(post(token => $t), 403, "role $role (POST)");
	is(counts(), $before, "role $role: no job created");
}
accepted('role Admin', token(roles => 'Admin'));
accepted('role App', token(roles => 'App'));
accepted('roles User and App', token(roles => 'User,App'));
accepted('roles [User, App] from any signer', sign(claims(roles => ['User', 'App']), undef));
{
	my $t = sign(claims(roles => ['admin']), undef);
	problem_ok(call(GET => $GET, token => $t), 403,
	    'role names are exact: "admin" is not Admin');
}

# ---- routes without a token ----

is(api(GET => '/api/v1/Health')->{status}, 200, 'Health needs no token');
is(api(GET => '/api/v1/Version')->{status}, 200, 'Version needs no token');

# ---- the name claim ----

{
	my $t = token(roles => 'App', sub => 'auth-named', name => 'Ada Lovelace');
	my $r = post(token => $t);
	is($r->{status}, 200, 'token with a name claim: POST 200');
	my $id = (body($r) // {})->{id} // '';
	my $e = body(api(GET => "/api/v1/HostScanJob/$id", token => $t)) // {};
	is($e->{createdBy}, 'auth-named', 'createdBy is the token sub');
	is($e->{createdByUserName}, 'Ada Lovelace', 'the name claim becomes createdByUserName');

	my $t2 = sign(claims(sub => 'auth-utf8', name => "Zo\x{eb} \x{4e2d}"), undef);
	$r = post(token => $t2);
	is($r->{status}, 200, 'token with a non-ASCII name: POST 200');
	$id = (body($r) // {})->{id} // '';
	$e = body(api(GET => "/api/v1/HostScanJob/$id", token => $t2)) // {};
	is($e->{createdByUserName}, "Zo\x{eb} \x{4e2d}", 'a non-ASCII name round-trips');

	my $t3 = sign(claims(sub => 'auth-noname'), undef);
	$r = post(token => $t3);
	is($r->{status}, 200, 'token without a name claim: POST 200');
	$id = (body($r) // {})->{id} // '';
	$e = body(api(GET => "/api/v1/HostScanJob/$id", token => $t3)) // {};
	is($e->{createdBy}, 'auth-noname', 'token without name: createdBy is the sub');
	ok(exists $e->{createdByUserName} && !defined $e->{createdByUserName},
	    'token without name: createdByUserName is null');
}

# ---- no refusal leaks the token ----

secrets_absent('the test\'s tokens', [$good], responder_log(),
    postgres_log());

ok(scalar @errors, 'refusals were collected');
for my $e (@errors) {
	my ($r, $t) = @$e;
	next unless length $t;
	my @parts = grep { length > 16 } split(/\./, $t);
	my $c = $r->{content} // '';
	my $hdr = join("\n", map { "$_: " . ($r->{headers}{$_} // '') }
	    keys %{$r->{headers}});
	ok(!grep({ index($c, $_) >= 0 || index($hdr, $_) >= 0 } @parts),
	    "status $r->{status} response does not echo the token");
}

done_testing();
