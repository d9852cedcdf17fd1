#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# Interactive sign-in through the real stack: hostscanctl user add / totp,
# POST /signinBody, POST /signin2fa with codes from oathtool (an
# independent RFC 6238 implementation), GET /api/v1/UserToken; what a
# pre-MFA token can and cannot open, replayed and out-of-window codes,
# lockout by name whether or not the user exists, disabled users, bad
# bodies, and the 503 of a responder that lacks its keys.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use HS qw(:DEFAULT run_cmd scratch_dir sql_quote note_secret);
use Check qw(responder_log postgres_log secrets_absent);
use Test::More;
use JSON::PP ();
use POSIX qw(strftime);

need_services();

my $J = JSON::PP->new->utf8->allow_nonref->canonical;
my $LIST = '/api/v1/HostScanJob?limit=1';
my $PRE_ROLE = 'hostscan:pre-mfa';
my $PRE_AUD = 'hostscan:signin2fa';
my $tag = sprintf('%x%x', $$, int(rand(1 << 24)));
# Every password, TOTP secret and token of the file: none may reach a log
# (checked below), nor any file the run wrote (scripts/test).
my @passwords;

sub secret {
	my ($s, $what) = @_;
	note_secret($s, "t/35-signin.t $what");
	push @passwords, $s if length $s >= 8;
	return $s;
}

# A wrong password unlike any other string of the run.
sub wrong { return secret("wrong pw $_[0] $tag", 'wrong password') }

my ($orc) = run_cmd(['oathtool', '--version']);
BAIL_OUT('oathtool is not installed (Debian: oathtool)') if $orc != 0;

sub uname { return "$_[0]-$tag" }
sub ts { return strftime('%Y-%m-%dT%H:%M:%SZ', gmtime(time + $_[0])) }

sub add_user {
	my ($name, $role, $pw) = @_;
	utf8::encode($pw);
	secret($pw, "password of $name");
	my ($rc, $out, $err) = ctl(['user', 'add', $name, '--role', $role],
	    stdin => "$pw\n");
	is($rc, 0, "user add $name --role $role") or diag $err;
	return $out;
}

sub enrol {
	my ($name) = @_;
	my ($rc, $out, $err) = ctl(['user', 'totp', $name]);
	is($rc, 0, "user totp $name") or diag $err;
	my ($secret) = $out =~ m{\Aotpauth://totp/hostscan:[^?]+\?secret=([A-Z2-7]+)&};
	ok(defined $secret, "user totp $name prints an otpauth URI with the secret");
	return secret($secret // 'A' x 32, "TOTP secret of $name");
}

# The code of the step that holds $base (default now) + $off, by oathtool.
sub code {
	my ($secret, $off, $base) = @_;
	my ($rc, $out, $err) = run_cmd(['oathtool', '--totp', '-b', '-N',
	    '@' . (($base // time) + ($off // 0)), $secret]);
	die "oathtool: $err" if $rc != 0;
	$out =~ s/\s+\z//;
	return note_secret($out, 't/35-signin.t TOTP code');
}

sub body_req {
	my ($login, $pw) = @_;
	return api(POST => '/signinBody', json => {Login => $login,
	    Password => $pw});
}

sub twofa {
	my ($pre, $code) = @_;
	return api(POST => '/signin2fa', token => $pre, json => $code);
}

# A 200 whose body is one JSON string: a v4.public token.
sub token_of {
	my ($r, $what) = @_;
	is($r->{status}, 200, "$what: 200") or diag $r->{content};
	my $t = $r->{json};
	ok(defined $t && !ref $t && $t =~ /\Av4\.public\./,
	    "$what: the body is a JSON string holding a v4.public token");
	return defined $t && !ref $t ? secret($t, "token ($what)") : '';
}

sub problem {
	my ($r, $status, $what) = @_;
	is($r->{status}, $status, "$what: $status") or diag $r->{content};
	like($r->{headers}{'content-type'} // '', qr{\Aapplication/problem\+json},
	    "$what: problem+json");
	return ref $r->{json} eq 'HASH' ? $r->{json} : {};
}

# The body of a refusal without its per-request traceId.
sub sans_trace {
	my ($r) = @_;
	my %b = %{ref $r->{json} eq 'HASH' ? $r->{json} : {}};
	delete $b{traceId};
	return $J->encode(\%b);
}

sub throttle {
	my ($login) = @_;
	return psql('SELECT failures || \' \' || COALESCE(ceil(extract(epoch '
	    . 'FROM locked_until - now()))::text, \'-\') FROM signin_throttle '
	    . 'WHERE login = ' . sql_quote($login));
}

sub signed_in {
	my ($name, $pw, $secret, $off, $what) = @_;
	my $pre = token_of(body_req($name, $pw), "$what: password step");
	return token_of(twofa($pre, code($secret, $off)), "$what: code step");
}

# ---- hostscanctl user ----------------------------------------------------

my $alice = uname('alice');
my $alice_pw = "alice pw \x{e9}t\x{e9} $tag";
like(add_user($alice, 'Admin', $alice_pw), qr/\A[0-9a-f-]{36}\n\z/,
    'user add prints the new id');
{
	my $h = psql('SELECT password_hash FROM app_user WHERE name = '
	    . sql_quote($alice));
	like($h, qr/\A\$argon2id\$v=19\$m=65536,t=2,p=1\$/,
	    'the password is stored as an argon2id hash (interactive limits)');
	unlike($h, qr/\Q$tag\E/, 'the hash does not contain the password');

	my ($rc, $out, $err) = ctl(['user', 'add', $alice, '--role', 'User'],
	    stdin => "other\n");
	is($rc, 1, 'user add of an existing name fails');
	like($err, qr/already exists/, '... saying so');
	($rc, undef, $err) = ctl(['user', 'add', uname('x'), '--role', 'Root'],
	    stdin => "pw\n");
	is($rc, 2, 'user add --role Root is a usage error');
	($rc) = ctl(['user', 'add', uname('x')], stdin => "pw\n");
	is($rc, 2, 'user add without --role is a usage error');
	($rc, undef, $err) = ctl(['user', 'add', uname('x'), '--role', 'User'],
	    stdin => "\n");
	is($rc, 1, 'an empty password is refused');
	like($err, qr/empty password/, '... saying so');
	($rc, undef, $err) = ctl(['user', 'add', uname('x'), '--role', 'User'],
	    stdin => "one\ntwo\n");
	is($rc, 1, 'a password of two lines is refused');
	($rc, undef, $err) = ctl(['user', 'add', uname('x'), '--role', 'User'],
	    stdin => ('p' x 1025) . "\n");
	is($rc, 1, 'a password over 1024 bytes is refused');
	like($err, qr/longer than 1024/, '... saying so');
	($rc) = ctl(['user', 'add', 'n' x 65, '--role', 'User'],
	    stdin => "pw\n");
	is($rc, 2, 'a name of 65 characters is a usage error');
	($rc) = ctl(['user', 'add', "tab\tname", '--role', 'User'],
	    stdin => "pw\n");
	is($rc, 2, 'a name with a control character is a usage error');
	is(psql('SELECT count(*) FROM app_user WHERE name = '
	    . sql_quote(uname('x'))), 0, 'no refused user was stored');
	($rc, undef, $err) = ctl(['user', 'totp', uname('nobody')]);
	is($rc, 1, 'user totp of an unknown user fails');
	like($err, qr/no such user/, '... saying so');
	($rc) = ctl(['user', 'disable', uname('nobody')]);
	is($rc, 1, 'user disable of an unknown user fails');
}

my $alice_secret = enrol($alice);
{
	my ($rc, $out) = ctl(['user', 'totp', $alice]);
	is($rc, 0, 'a second user totp');
	my $uri_re = qr{\Aotpauth://totp/hostscan:\Q$alice\E\?secret=[A-Z2-7]{32}&issuer=hostscan&algorithm=SHA1&digits=6&period=30\n\z};
	like($out, $uri_re, 'the otpauth URI has the documented form');
	unlike($out, qr/\e\[|\xe2\x96/, 'no QR code when stdout is not a terminal');
	# The second enrolment replaced the first secret: use the new one.
	($alice_secret) = $out =~ /secret=([A-Z2-7]+)/;
	secret($alice_secret // '', "second TOTP secret of $alice");
	my $hex = psql('SELECT encode(totp_secret, \'hex\') FROM app_user '
	    . 'WHERE name = ' . sql_quote($alice));
	is(length($hex), 2 * (24 + 16 + 20), 'the stored secret is a secretbox (nonce, mac, 20 bytes)');
	my $raw = unpack('H*', b32_decode($alice_secret));
	unlike($hex, qr/\Q$raw\E/, 'the stored secret is not the plain one');
}

sub b32_decode {
	my ($s) = @_;
	(my $bits = join '', map { sprintf('%05b', index('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567', $_)) } split //, $s) =~ s/(?:.{8})*\K.*//;
	return pack('B*', $bits);
}

{
	# script(1) is in bsdutils, which every Debian has (Essential).
	my ($src) = run_cmd(['script', '--version']);
	is($src, 0, 'script(1) runs');
	my $name = uname('qr');
	add_user($name, 'User', "qr pw $tag");
	my $cmd = join ' ', map { "'$_'" } ($ENV{HOSTSCANCTL}, 'user', 'totp', $name);
	my ($rc, $out, $err) = run_cmd(['script', '-qec', $cmd, '/dev/null']);
	is($rc, 0, 'user totp on a terminal') or diag "$out$err";
	secret($1, "TOTP secret of $name") if $out =~ /secret=([A-Z2-7]+)/;
	like($out, qr/\xe2\x96\x88/, 'draws a QR code in UTF-8 blocks on a terminal');
	like($out, qr{otpauth://totp/hostscan:\Q$name\E\?secret=}, 'and prints the URI');
}

# ---- the whole flow, Admin ---------------------------------------------

my ($pre, $admin_session);
my $t1 = time;
my $first_code = code($alice_secret, 0, $t1);
{
	my $r = body_req($alice, $alice_pw);
	$pre = token_of($r, 'signinBody with the right password');
	my $p = decode_payload($pre);
	is_deeply($p->{roles}, [$PRE_ROLE], 'the pre-MFA token has only the pre-MFA role');
	is($p->{aud}, $PRE_AUD, 'the pre-MFA token has its own audience');
	is($p->{sub}, $alice, 'the pre-MFA token names the user');
	ok(defined $p->{jti} && length $p->{jti}, 'the pre-MFA token has a jti');

	my $b = problem(api(GET => $LIST, token => $pre), 401,
	    'the pre-MFA token on GET /api/v1/HostScanJob');
	is($b->{detail}, 'invalid token', '... with only "invalid token"');
	problem(api(POST => '/api/v1/HostScanJob', token => $pre,
	    json => [host_item()]), 401, 'the pre-MFA token on POST /api/v1/HostScanJob');
	problem(api(GET => '/api/v1/UserToken', token => $pre), 401,
	    'the pre-MFA token on GET /api/v1/UserToken');

	$admin_session = token_of(twofa($pre, $first_code),
	    'signin2fa with the current code');
	my $s = decode_payload($admin_session);
	is($s->{sub}, $alice, 'the session token names the user');
	is_deeply($s->{roles}, ['Admin'], 'the session token has the user\'s role');
	is($s->{name}, $alice, 'the session token has a name');
	ok(!defined $s->{aud}, 'the session token has no audience (token_audience unset)');
	ok(defined $s->{jti} && defined $s->{iat} && defined $s->{exp}, 'jti, iat and exp are set');
	is(api(GET => $LIST, token => $admin_session)->{status}, 200,
	    'the Admin session token opens GET /api/v1/HostScanJob');
	problem(twofa($admin_session, code($alice_secret, 30)), 401,
	    'a session token is not accepted by /signin2fa');
}

# ---- replay and the window -----------------------------------------------

{
	my $pre2 = token_of(body_req($alice, $alice_pw), 'second password step');
	my $b = problem(twofa($pre2, $first_code), 401,
	    'the code that already signed in (replay)');
	is($b->{detail}, 'sign-in failed', '... says only "sign-in failed"');
	problem(twofa($pre2, code($alice_secret, 90, $t1)), 401,
	    'a code three steps ahead');
	problem(twofa($pre2, code($alice_secret, -90, $t1)), 401,
	    'a code three steps behind');
	like(throttle($alice), qr/\A3 -\z/, 'three failures counted, no lock');
	token_of(twofa($pre2, code($alice_secret, 30, $t1)),
	    'the next step\'s code (one step of skew)');
	is(throttle($alice), '', 'a sign-in clears the failures');
}

# ---- a User; UserToken ---------------------------------------------------

my $bob = uname('bob');
my $bob_pw = "bob pw $tag";
add_user($bob, 'User', $bob_pw);
my $bob_secret = enrol($bob);
my $bob_session = signed_in($bob, $bob_pw, $bob_secret, 0, 'User bob');
{
	is_deeply(decode_payload($bob_session)->{roles}, ['User'],
	    'the User\'s session token has role User');
	my $b = problem(api(GET => $LIST, token => $bob_session), 403,
	    'the User session token on GET /api/v1/HostScanJob');
	my $fresh = token_of(api(GET => '/api/v1/UserToken',
	    token => $bob_session), 'UserToken with a User session token');
	my ($p, $q) = (decode_payload($bob_session), decode_payload($fresh));
	is($q->{sub}, $bob, 'the renewed token names the same user');
	is_deeply($q->{roles}, ['User'], 'the renewed token has the user\'s role');
	isnt($q->{jti}, $p->{jti}, 'the renewed token has a new jti');
	token_of(api(GET => '/api/v1/UserToken', token => $fresh),
	    'UserToken with a renewed token');
	token_of(api(GET => '/api/v1/userToken/', token => $admin_session),
	    'UserToken (route case-insensitive, trailing slash)');
	problem(api(POST => '/api/v1/UserToken', token => $bob_session), 405,
	    'POST /api/v1/UserToken');
	problem(api(GET => '/api/v1/UserToken'), 401, 'UserToken without a token');
	problem(api(GET => '/api/v1/UserToken', token => 'v4.public.garbage'),
	    401, 'UserToken with a garbage token');

	my $cli = token(roles => 'App', sub => "not-a-user-$tag");
	$b = problem(api(GET => '/api/v1/UserToken', token => $cli), 403,
	    'UserToken for a hostscanctl token whose subject is no user');
	like($b->{detail}, qr/not a sign-in session token/, '... saying why');
	# An App token naming an Admin user must not become that user's
	# Admin token: only a sign-in's session token is renewed.
	my $cli_alice = token(roles => 'App', sub => $alice);
	$b = problem(api(GET => '/api/v1/UserToken', token => $cli_alice), 403,
	    'UserToken for a hostscanctl App token whose subject is an Admin user');
	like($b->{detail}, qr/not a sign-in session token/, '... saying why');
	my $r = token_of(api(GET => '/api/v1/UserToken', token => $fresh),
	    'UserToken with a session token');
	is_deeply(decode_payload($r)->{roles}, ['User'],
	    '... carries the user\'s role from the users table');
}

# ---- hand-signed pre-MFA tokens: expiry and audience ---------------------

{
	my $carol = uname('carol');
	add_user($carol, 'User', "carol pw $tag");
	my $secret = enrol($carol);
	my %c = (sub => $carol, roles => [$PRE_ROLE], aud => $PRE_AUD,
	    jti => "pre-$tag-1");
	my $expired = sign($J->encode({%c, iat => ts(-500), exp => ts(-121)}));
	my $b = problem(twofa($expired, code($secret)), 401,
	    'a pre-MFA token 121 s past its exp');
	is($b->{detail}, 'invalid token', '... "invalid token"');
	my $no_aud = sign($J->encode({sub => $carol, roles => [$PRE_ROLE],
	    jti => "pre-$tag-2", iat => ts(0), exp => ts(300)}));
	problem(twofa($no_aud, code($secret)), 401,
	    'a pre-MFA token without its audience');
	my $two_roles = sign($J->encode({%c, roles => [$PRE_ROLE, 'Admin'],
	    iat => ts(0), exp => ts(300)}));
	problem(twofa($two_roles, code($secret)), 401,
	    'a pre-MFA token that also claims Admin');
	problem(api(GET => $LIST, token => $two_roles), 401,
	    '... is refused on HostScanJob too');
	problem(twofa(token(roles => 'Admin', sub => $carol), code($secret)),
	    401, 'an Admin token from hostscanctl at /signin2fa');
	problem(twofa(undef, code($secret)), 401, '/signin2fa without a token');
	# Within the 60 s leeway a token past its exp still works.
	my $late = sign($J->encode({%c, jti => "pre-$tag-3", iat => ts(-330),
	    exp => ts(-30)}));
	token_of(twofa($late, code($secret)),
	    'a pre-MFA token 30 s past its exp (within the leeway)');
}

# ---- refusals say the same whatever the reason ---------------------------

my %refusal;
{
	my $gina = uname('gina');
	add_user($gina, 'User', "gina pw $tag");	# never enrolled
	my $frank = uname('frank');
	my $frank_pw = "frank pw $tag";
	add_user($frank, 'Admin', $frank_pw);
	my $fsecret = enrol($frank);
	my $fsession = signed_in($frank, $frank_pw, $fsecret, 0, 'frank');
	my $fpre = token_of(body_req($frank, $frank_pw), 'frank password step');
	my ($rc, $out, $err) = ctl(['user', 'disable', $frank]);
	is($rc, 0, 'user disable') or diag $err;

	my %cases = (
		'wrong password' => body_req($alice, wrong('alice')),
		'unknown user' => body_req(uname('nobody'), wrong('nobody')),
		'disabled user, right password' => body_req($frank, $frank_pw),
		'user without TOTP, right password' => body_req($gina, "gina pw $tag"),
	);
	for my $k (sort keys %cases) {
		my $b = problem($cases{$k}, 401, $k);
		is($b->{detail}, 'sign-in failed', "$k: detail \"sign-in failed\"");
		like($cases{$k}{headers}{'www-authenticate'} // '', qr/\ABearer/,
		    "$k: WWW-Authenticate Bearer");
		$refusal{$k} = sans_trace($cases{$k});
	}
	my %distinct = map { $_ => 1 } values %refusal;
	is(scalar keys %distinct, 1, 'the four refusals have the same body');

	problem(twofa($fpre, code($fsecret, 30)), 401,
	    'a disabled user\'s earlier pre-MFA token no longer signs in');
	my $b = problem(api(GET => '/api/v1/UserToken', token => $fsession), 403,
	    'a disabled user\'s session token is not renewed');
	like($b->{detail}, qr/not an enabled user/, '... saying why');
	($rc) = ctl(['user', 'enable', $frank]);
	is($rc, 0, 'user enable');
	token_of(body_req($frank, $frank_pw), 'an enabled user signs in again');
	psql('DELETE FROM signin_throttle WHERE login IN ('
	    . join(',', map { sql_quote($_) } $alice, $frank, $gina,
	    uname('nobody')) . ')');
}

# ---- lockout -------------------------------------------------------------

{
	my $dave = uname('dave');
	my $dave_pw = "dave pw $tag";
	add_user($dave, 'User', $dave_pw);
	my $secret = enrol($dave);
	my $ghost = uname('ghost');
	for my $login ($dave, $ghost) {
		my $who = $login eq $dave ? 'a user' : 'an unknown name';
		my @bodies;
		for my $i (1 .. 5) {
			my $r = body_req($login, wrong("$login $i"));
			push @bodies, sans_trace($r);
			is($r->{status}, 401, "$who: wrong password $i: 401");
		}
		like(throttle($login), qr/\A5 (?:29\d|300)\z/,
		    "$who: the fifth failure locks for 300 s");
		my $r = body_req($login, $login eq $dave ? $dave_pw :
		    wrong("$login locked"));
		my $b = problem($r, 429, "$who: the right password while locked");
		like($b->{detail}, qr/too many failed sign-ins/, "$who: 429 detail");
		my $ra = $r->{headers}{'retry-after'} // 0;
		ok($ra >= 290 && $ra <= 300,
		    "$who: Retry-After $ra (an attempt while locked adds nothing)");
		like(throttle($login), qr/\A5 /,
		    "$who: an attempt while locked is not counted");
		push @bodies, sans_trace($r);
		$refusal{$who} = join "\n", @bodies;
	}
	is($refusal{'a user'}, $refusal{'an unknown name'},
	    'a user and an unknown name see the same answers');

	# The lock lifts (moved into the past rather than waited for).
	psql('UPDATE signin_throttle SET locked_until = now() - interval '
	    . "'1 second' WHERE login = " . sql_quote($dave));
	is(body_req($dave, wrong('dave again'))->{status}, 401,
	    'once the lock ended, a wrong password is a 401 again');
	like(throttle($dave), qr/\A6 (?:59\d|600)\z/,
	    'and the sixth failure locks for 600 s (each one adds 300 s)');
	psql('UPDATE signin_throttle SET locked_until = now() - interval '
	    . "'1 second' WHERE login = " . sql_quote($dave));
	my $dpre = token_of(body_req($dave, $dave_pw),
	    'the right password once the lock ended');
	like(throttle($dave), qr/\A6 /, 'the password step alone does not clear the count');
	token_of(twofa($dpre, code($secret)), 'and the code signs in');
	is(throttle($dave), '', 'the sign-in cleared the failures');

	my ($rc, $out) = ctl(['user', 'unlock', $ghost]);
	is($rc, 0, 'user unlock of an unknown name');
	like($out, qr/unlocked \(5 failed/, '... forgets its 5 failures');
	is(throttle($ghost), '', 'the name is no longer throttled');
}

{
	my $erin = uname('erin');
	my $erin_pw = "erin pw $tag";
	add_user($erin, 'User', $erin_pw);
	my $secret = enrol($erin);
	my $epre = token_of(body_req($erin, $erin_pw), 'erin password step');
	my $good = code($secret);
	# A wrong code: the one of a step an hour away (another code, bar
	# a one-in-a-million chance the loop below rules out).
	my $bad;
	for my $h (1 .. 3) {
		$bad = code($secret, 3600 * $h);
		last if $bad ne $good;
	}
	isnt($bad, $good, 'fixture: a wrong code');
	for my $i (1 .. 5) {
		is(twofa($epre, $bad)->{status}, 401, "wrong code $i: 401");
	}
	problem(twofa($epre, $good), 429, 'the right code after five wrong ones');
	problem(body_req($erin, $erin_pw), 429,
	    'and the password step is locked too');
	my ($rc, $out) = ctl(['user', 'list', '--json']);
	is($rc, 0, 'user list --json');
	my $list = eval { $J->decode($out) } // [];
	my ($row) = grep { $_->{name} eq $erin } @$list;
	ok($row && $row->{failures} == 5 && defined $row->{lockedUntil}
	    && $row->{totp} && $row->{enabled} && $row->{role} eq 'User',
	    'user list --json shows role, TOTP, failures and the lock')
	    or diag $out;
	($rc, $out) = ctl(['user', 'list']);
	is($rc, 0, 'user list');
	like($out, qr/^NAME\s+ROLE\s+ENABLED\s+TOTP\s+FAILURES\s+LOCKED_UNTIL\s+CREATED$/m,
	    'user list prints a table');
	like($out, qr/^\Q$erin\E\s+User\s+yes\s+yes\s+5\s+\d{4}-/m, '... with erin\'s row');
}

# ---- malformed bodies ----------------------------------------------------

{
	my $login = uname('malformed');
	my $mpw = secret("malformed pw $tag", 'password of bad bodies');
	my @bad = (
		['not JSON', body => '{"Login":', '$'],
		['an array', json => [$login, 'pw'], '$'],
		['a string', json => 'hello', '$'],
		['Login a number', json => {Login => 5, Password => $mpw}, 'Login'],
		['Password null', json => {Login => $login, Password => undef}, 'Password'],
		['Password missing', json => {Login => $login}, 'Password'],
		['Login empty', json => {Login => '', Password => $mpw}, 'Login'],
		['Login over 256 bytes', json => {Login => 'l' x 257, Password => $mpw}, 'Login'],
		['Password over 1024 bytes', json => {Login => $login, Password => 'p' x 1025}, 'Password'],
		['Password with NUL', json => {Login => $login, Password => "a\0b"}, 'Password'],
		['Login twice in other case', body => qq({"Login":"$login","login":"x","Password":"$mpw"}), 'Login'],
		['duplicate key', body => qq({"Login":"$login","Login":"x","Password":"$mpw"}), '$'],
	);
	for my $c (@bad) {
		my ($what, $k, $v, $path) = @$c;
		my %o = ($k => $v);
		$o{headers} = {'Content-Type' => 'application/json'} if $k eq 'body';
		my $b = problem(api(POST => '/signinBody', %o), 400, "signinBody: $what");
		is($b->{title}, 'One or more validation errors occurred.',
		    "signinBody: $what: validation title");
		ok(ref $b->{errors} eq 'HASH' && $b->{errors}{$path},
		    "signinBody: $what: error on $path") or diag explain $b;
	}
	is(api(POST => '/signinBody', json => {login => $login,
	    password => wrong('lower-case')})->{status}, 401,
	    'lower-case member names are accepted (as ASP.NET binds them)');
	problem(api(POST => '/signinBody', body => 'Login=x&Password=y',
	    headers => {'Content-Type' => 'application/x-www-form-urlencoded'}),
	    415, 'signinBody: a form body');
	my $r = api(GET => '/signinBody');
	problem($r, 405, 'GET /signinBody');
	is($r->{headers}{allow}, 'POST', '... Allow: POST');
	problem(api(POST => '/api/v1/signinBody', json => {}), 404,
	    '/api/v1/signinBody is not a route');

	my $eve = uname('eve');
	add_user($eve, 'User', "eve pw $tag");
	my $secret = enrol($eve);
	my $epre = token_of(body_req($eve, "eve pw $tag"), 'eve password step');
	for my $c (['a number', json => 123456], ['five digits', json => '12345'],
	    ['seven digits', json => '1234567'], ['letters', json => '12345a'],
	    ['an object', json => {code => '123456'}], ['not JSON',
	    body => '"123456'], ['spaces', json => ' 123456']) {
		my ($what, $k, $v) = @$c;
		my %o = ($k => $v, token => $epre);
		$o{headers} = {'Content-Type' => 'application/json'} if $k eq 'body';
		problem(api(POST => '/signin2fa', %o), 400, "signin2fa: $what");
	}
	is(throttle($eve), '', 'malformed codes are not counted as failures');
	is(throttle($login), '1 -',
	    'malformed bodies were not counted (only the 401)');
	token_of(twofa($epre, code($secret)), 'eve signs in after the bad bodies');
}

# ---- the log -------------------------------------------------------------

{
	my $log = HS::slurp(scratch_dir() . '/hostscan.fcgi.log');
	like($log, qr/event=signin .*user="\Q$alice\E" outcome=ok reason=signed_in/,
	    'a sign-in is logged with its user and outcome');
	like($log, qr/event=signin .*outcome=fail reason=wrong_password/,
	    'a wrong password is logged with its reason');
	like($log, qr/event=signin .*outcome=locked reason=locked/,
	    'a locked attempt is logged');
	like($log, qr/event=signin .*reason=replayed_code/, 'a replay is logged');
	my @leaks = grep { index($log, $_) >= 0 } @passwords, $pre, $admin_session;
	is(scalar @leaks, 0, 'no password or token reaches the log');
	secrets_absent('passwords, TOTP secrets and tokens', \@passwords,
	    responder_log(), postgres_log());
}

# ---- a responder without its keys ----------------------------------------

{
	my $admin = token(roles => 'Admin', sub => "signin-$tag");
	my $resp = start_responder(config => {signing_key => scratch_dir() . "/none-$tag.key"});
	my $ng = nginx_for_socket($resp->{socket});
	my $b = problem(api(POST => '/signinBody', url => $ng->{url},
	    json => {Login => $alice, Password => $alice_pw}), 503,
	    'signinBody without a readable signing key');
	like($b->{detail}, qr/signing key cannot be read/, '... says so');
	ok($resp && defined(api(POST => '/signinBody', url => $ng->{url},
	    json => {Login => 'x', Password => $alice_pw})->{headers}{'retry-after'}),
	    '... with Retry-After');
	is(api(GET => $LIST, url => $ng->{url}, token => $admin)->{status}, 200,
	    'the rest of the API works without it');
	stop_nginx($ng);
	stop_responder($resp);

	$resp = start_responder(config => {totp_key => ''});
	$ng = nginx_for_socket($resp->{socket});
	$b = problem(api(POST => '/signinBody', url => $ng->{url},
	    json => {Login => $alice, Password => $alice_pw}), 503,
	    'signinBody without totp_key');
	like($b->{detail}, qr/totp_key is not set/, '... says so');
	token_of(api(GET => '/api/v1/UserToken', url => $ng->{url},
	    token => $bob_session), 'UserToken needs only the signing key');
	stop_nginx($ng);
	stop_responder($resp);
}

# The shipped nginx site passes the root sign-in routes in any letter case
# and with one trailing slash, as the responder routes them.
for my $case (['/SIGNINBODY', 400], ['/signinbody/', 400],
    ['/SignIn2FA', 401]) {
	my ($path, $want) = @$case;
	my $r = api(POST => $path, body => '{', headers => {
	    'Content-Type' => 'application/json'});
	is($r->{status}, $want, "$path reaches the responder ($want: bad JSON"
	    . " or no token)");
	like($r->{headers}{'x-trace-id'} // '', qr/\A[0-9a-f]{32}\z/,
	    "$path: answered by the responder (X-Trace-Id)");
}
is(api(POST => '/signinBodyX', json => {})->{status}, 404,
    'a longer path is not a sign-in route');

done_testing();
