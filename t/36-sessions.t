#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# Sign-in sessions through the real stack: every token of one sign-in
# (renewals included) carries one sid; revoking any of its tokens, or the
# session, ends them all, also in a worker that has them cached; renewal
# never outlives the sign-in by more than signin_session_max; a revoked
# pre-MFA token opens nothing; hostscanctl tokens keep working without a
# sid; and 20 concurrent wrong passwords against a limit of 5 get exactly
# 5 answers that checked a password (401), the rest 429.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use HS qw(:DEFAULT run_cmd scratch_dir sql_quote note_secret scaled);
use Test::More;
use JSON::PP ();
use POSIX ();
use Time::Local qw(timegm);

need_services();

my $LIST = '/api/v1/HostScanJob?limit=1';
my $tag = sprintf('%x%x', $$, int(rand(1 << 24)));
my $UUID = qr/\A[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\z/;

my ($orc) = run_cmd(['oathtool', '--version']);
BAIL_OUT('oathtool is not installed (Debian: oathtool)') if $orc != 0;

sub uname { return "$_[0]-$tag" }

sub epoch {
	my ($ts) = @_;
	my @t = ($ts // '') =~ /\A(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)Z\z/
	    or return undef;
	return timegm($t[5], $t[4], $t[3], $t[2], $t[1] - 1, $t[0]);
}

# A user with a password and a TOTP secret: (name, password, secret).
sub user {
	my ($who, $role) = @_;
	my $name = uname($who);
	my $pw = note_secret("$who pw $tag");
	my ($rc, undef, $err) = ctl(['user', 'add', $name, '--role',
	    $role // 'Admin'], stdin => "$pw\n");
	is($rc, 0, "user add $name") or diag $err;
	my $out;
	($rc, $out, $err) = ctl(['user', 'totp', $name]);
	is($rc, 0, "user totp $name") or diag $err;
	my ($secret) = $out =~ /secret=([A-Z2-7]+)&/;
	ok(defined $secret, "user totp $name prints the secret");
	note_secret($secret // '');
	return ($name, $pw, $secret // 'A' x 32);
}

sub code {
	my ($secret, $off) = @_;
	my ($rc, $out, $err) = run_cmd(['oathtool', '--totp', '-b', '-N',
	    '@' . (time + ($off // 0)), $secret]);
	die "oathtool: $err" if $rc != 0;
	$out =~ s/\s+\z//;
	return note_secret($out);
}

# A 200 whose body is a token (registered as a secret); '' otherwise.
sub token_of {
	my ($r, $what) = @_;
	is($r->{status}, 200, "$what: 200") or diag $r->{content};
	my $t = $r->{json};
	return '' unless defined $t && !ref $t && $t =~ /\Av4\.public\./;
	return note_secret($t);
}

sub pre_token {
	my ($name, $pw, %o) = @_;
	return token_of(api(POST => '/signinBody', url => $o{url},
	    json => {Login => $name, Password => $pw}), "$name: password step");
}

# Signs in through both steps; the session token.
sub signed_in {
	my ($name, $pw, $secret, %o) = @_;
	my $pre = pre_token($name, $pw, %o);
	return token_of(api(POST => '/signin2fa', url => $o{url}, token => $pre,
	    json => code($secret, $o{off})), "$name: code step");
}

sub renew {
	my ($tok, $what, %o) = @_;
	return token_of(api(GET => '/api/v1/UserToken', url => $o{url},
	    token => $tok), $what);
}

sub status {
	my ($method, $path, $tok, %o) = @_;
	return api($method, $path, url => $o{url}, token => $tok)->{status};
}

sub claims { return $_[0] eq '' ? {} : decode_payload($_[0]) }

sub sessions {
	my ($name) = @_;
	my ($rc, $out, $err) = ctl(['session', 'list', '--user', $name,
	    '--json']);
	is($rc, 0, "session list --user $name --json") or diag $err;
	return eval { JSON::PP->new->decode($out) } // [];
}

sub throttle {
	my ($login) = @_;
	return psql('SELECT failures || \' \' || COALESCE(ceil(extract(epoch '
	    . 'FROM locked_until - now()))::text, \'-\') FROM signin_throttle '
	    . 'WHERE login = ' . sql_quote($login));
}

# ---- one sid for a sign-in and its renewals; revoking the first jti ----

{
	my ($name, $pw, $secret) = user('sam');
	my $s0 = signed_in($name, $pw, $secret);
	my $c0 = claims($s0);
	like($c0->{sid} // '', $UUID, 'the session token carries a sid (a uuid)');
	my $r1 = renew($s0, 'renewal of the session token');
	my $r2 = renew($r1, 'renewal of the renewal');
	my ($c1, $c2) = (claims($r1), claims($r2));
	is($c1->{sid}, $c0->{sid}, 'the renewal carries the same sid');
	is($c2->{sid}, $c0->{sid}, 'the renewal of the renewal too');
	my %jti = map { $_->{jti} // '' => 1 } $c0, $c1, $c2;
	is(scalar keys %jti, 3, 'each token has its own jti');
	is(epoch($c1->{exp}) - epoch($c1->{iat}), 3600,
	    'far from the session\'s end a renewal lives signin_session_ttl');

	my $list = sessions($name);
	is(scalar @$list, 1, 'session list shows one session for the user');
	is($list->[0]{sid}, $c0->{sid}, '... with the token\'s sid');
	is($list->[0]{state}, 'active', '... active');
	is($list->[0]{tokens}, 3, '... with its three tokens');
	is(epoch($list->[0]{endsAt}) - epoch($list->[0]{startedAt}), 43200,
	    '... ending signin_session_max (12 h by default) after the start');
	is(psql('SELECT count(*) FROM session_token WHERE sid = '
	    . sql_quote($c0->{sid} // '') . ' AND jti IN ('
	    . join(',', map { sql_quote($_) } sort keys %jti) . ')'), 3,
	    'the three jtis are recorded with the session');

	is(status(GET => $LIST, $r2), 200, 'the second renewal opens the API');
	my ($rc, $out, $err) = ctl(['token', 'revoke', $c0->{jti}]);
	is($rc, 0, 'token revoke of the original jti') or diag $err;
	is($out, "revoked $c0->{jti} and its session $c0->{sid}\n",
	    '... says it ended the session');
	is(status(GET => $LIST, $r1), 401, 'the first renewal is refused');
	is(status(GET => $LIST, $r2), 401, 'the second renewal is refused');
	is(status(GET => '/api/v1/UserToken', $r2), 401,
	    'the second renewal no longer renews');
	is(status(GET => $LIST, $s0), 401, 'the original is refused');
	$list = sessions($name);
	is($list->[0]{state}, 'revoked', 'session list shows it revoked');
	ok(defined $list->[0]{revokedAt}, '... with the time');
	my $s1 = signed_in($name, $pw, $secret, off => 30);
	isnt(claims($s1)->{sid}, $c0->{sid}, 'a new sign-in is a new session');
	is(status(GET => $LIST, $s1), 200, '... that works');
}

# ---- revoking a renewal ends the original ------------------------------

{
	my ($name, $pw, $secret) = user('bob');
	my $s0 = signed_in($name, $pw, $secret);
	my $r1 = renew($s0, 'renewal');
	is(status(GET => $LIST, $s0), 200, 'the original works');
	my ($rc, $out) = ctl(['token', 'revoke', claims($r1)->{jti}]);
	is($rc, 0, 'token revoke of the renewal\'s jti');
	like($out, qr/and its session \Q${\ claims($s0)->{sid}}\E\n\z/,
	    '... names the session');
	is(status(GET => $LIST, $s0), 401, 'the original is refused');
	is(status(GET => '/api/v1/UserToken', $s0), 401,
	    'the original no longer renews');
	($rc, $out) = ctl(['token', 'revoke', claims($r1)->{jti}]);
	is($out, "revoked ${\ claims($r1)->{jti}} (it already was)\n",
	    'a second token revoke says it already was');
}

# ---- session revoke ----------------------------------------------------

{
	my ($name, $pw, $secret) = user('carol');
	my $s0 = signed_in($name, $pw, $secret);
	my $r1 = renew($s0, 'renewal');
	my $r2 = renew($r1, 'second renewal');
	my $sid = claims($s0)->{sid};
	my ($rc, $out, $err) = ctl(['session', 'revoke', $sid]);
	is($rc, 0, 'session revoke SID') or diag $err;
	is($out, "revoked session $sid (3 tokens)\n", '... says so');
	is(status(GET => $LIST, $_), 401, 'every token of the session is refused')
	    for $s0, $r1, $r2;
	($rc, $out) = ctl(['session', 'revoke', $sid]);
	is($rc, 0, 'session revoke again');
	is($out, "session $sid was already revoked\n", '... says it already was');
	($rc, undef, $err) = ctl(['session', 'revoke',
	    '00000000-0000-4000-8000-000000000000']);
	is($rc, 1, 'session revoke of an unknown sid fails');
	like($err, qr/no session/, '... saying so');
	($rc) = ctl(['session', 'revoke', 'not-a-sid']);
	is($rc, 2, 'session revoke of a non-uuid is a usage error');
	($rc) = ctl(['session', 'revoke']);
	is($rc, 2, 'session revoke without a SID is a usage error');
	($rc, $out) = ctl(['session', 'list']);
	like($out, qr/^SID\s+USER\s+STATE\s+STARTED\s+ENDS\s+TOKENS\s+LAST_TOKEN\s+REVOKED$/m,
	    'session list prints a table');
	like($out, qr/^\Q$sid\E\s+\Q$name\E\s+revoked\s+\d{4}-/m,
	    '... with the revoked session');
}

{
	my ($name, $pw, $secret) = user('dave');
	my $t1 = signed_in($name, $pw, $secret);
	my $t2 = signed_in($name, $pw, $secret, off => 30);
	isnt(claims($t1)->{sid}, claims($t2)->{sid}, 'two sign-ins, two sessions');
	my ($rc, $out, $err) = ctl(['session', 'revoke', '--user', $name]);
	is($rc, 0, 'session revoke --user') or diag $err;
	like($out, qr/revoked 2 sessions of \Q$name\E\n\z/, '... both of them');
	is(status(GET => $LIST, $_), 401, 'each session\'s token is refused')
	    for $t1, $t2;
	($rc, $out) = ctl(['session', 'revoke', '--user', $name]);
	like($out, qr/\Arevoked 0 sessions of /, 'again: none left');
}

# ---- a worker that cached the tokens -----------------------------------

# With one worker, the second use of a token is answered from its cache:
# the revocation has to reach that cache (NOTIFY), not only the database.
{
	my $resp = start_responder(workers => 1);
	my $web = nginx_for_socket($resp->{socket});
	my %o = (url => $web->{url});
	my ($name, $pw, $secret) = user('erin');
	my $s0 = signed_in($name, $pw, $secret, %o);
	my $r1 = renew($s0, 'renewal (one worker)', %o);
	for my $t ($s0, $r1, $s0, $r1) {
		is(status(GET => $LIST, $t, %o), 200, 'one worker: token accepted');
	}
	my ($rc) = ctl(['token', 'revoke', claims($s0)->{jti}]);
	is($rc, 0, 'one worker: token revoke of the original');
	ok(wait_for(sub { status(GET => $LIST, $r1, %o) == 401 }, 2),
	    'one worker: the cached renewal is refused once the original is revoked');

	my ($n2, $pw2, $secret2) = user('frank');
	my $f0 = signed_in($n2, $pw2, $secret2, %o);
	my $f1 = renew($f0, 'renewal (one worker)', %o);
	is(status(GET => $LIST, $_, %o), 200, 'one worker: accepted (cached)')
	    for $f0, $f1, $f0, $f1;
	($rc) = ctl(['session', 'revoke', claims($f0)->{sid}]);
	is($rc, 0, 'one worker: session revoke');
	ok(wait_for(sub { status(GET => $LIST, $f0, %o) == 401
	    && status(GET => $LIST, $f1, %o) == 401 }, 2),
	    'one worker: both cached tokens are refused once the session is revoked');
	stop_nginx($web);
	stop_responder($resp);
	like(HS::slurp($resp->{log}), qr/auth_fail="?session revoked/,
	    'the refusal is logged as a revoked session');
}

# ---- the absolute lifetime ---------------------------------------------

{
	my $max = int(scaled(6));
	my $resp = start_responder(workers => 1,
	    config => {signin_session_max => $max});
	my $web = nginx_for_socket($resp->{socket});
	my %o = (url => $web->{url});
	my ($name, $pw, $secret) = user('gina');
	my $s0 = signed_in($name, $pw, $secret, %o);
	my $c0 = claims($s0);
	my $start = psql('SELECT floor(extract(epoch FROM started_at)) FROM '
	    . 'signin_session WHERE sid = ' . sql_quote($c0->{sid} // ''));
	is(epoch($c0->{exp}), $start + $max,
	    "the first token ends at the sign-in + signin_session_max ($max s), "
	    . 'not after signin_session_ttl');
	my $r1 = renew($s0, 'renewal within the lifetime', %o);
	my $c1 = claims($r1);
	is($c1->{sid}, $c0->{sid}, 'the renewal is of the same session');
	is(epoch($c1->{exp}), $start + $max,
	    'the renewal ends where the session does, not later');
	ok(wait_for(sub { time > $start + $max }, $max + 5),
	    'the session\'s end passes');
	my $r = api(GET => '/api/v1/UserToken', %o, token => $r1);
	is($r->{status}, 401, 'renewal past signin_session_max: 401');
	is(ref $r->{json} eq 'HASH' ? $r->{json}{detail} : '', 'invalid token',
	    '... the generic "invalid token"');
	stop_nginx($web);
	stop_responder($resp);
	like(HS::slurp($resp->{log}),
	    qr/event=signin .*step=refresh .*outcome=fail reason=session_ended/,
	    '... logged as session_ended (the token itself was still within '
	    . 'its leeway)');
}

# ---- pre-MFA tokens ----------------------------------------------------

{
	my ($name, $pw, $secret) = user('hal');
	my $pre = pre_token($name, $pw);
	my ($rc, $out, $err) = ctl(['token', 'revoke', claims($pre)->{jti}]);
	is($rc, 0, 'token revoke of a pre-MFA jti') or diag $err;
	is($out, "revoked ${\ claims($pre)->{jti}}\n", '... (no session)');
	my $r = api(POST => '/signin2fa', token => $pre, json => code($secret));
	is($r->{status}, 401, 'the revoked pre-MFA token is refused at /signin2fa');
	is(ref $r->{json} eq 'HASH' ? $r->{json}{detail} : '', 'invalid token',
	    '... as an invalid token');
	is(throttle($name), '', '... before any attempt is counted');
	ok(signed_in($name, $pw, $secret, off => 30) ne '',
	    'a fresh pre-MFA token signs in');
}

# ---- hostscanctl tokens ------------------------------------------------

{
	my ($name) = user('ivan');
	my $cli = note_secret(token(roles => 'Admin', sub => $name));
	ok(!exists claims($cli)->{sid}, 'a token from token issue has no sid');
	is(status(GET => $LIST, $cli), 200, '... and opens the API as before');
	is(scalar @{sessions($name)}, 0, '... without a session');
	is(status(GET => '/api/v1/UserToken', $cli), 403,
	    'a token issue token is not renewed, even for a user\'s name');
	is(scalar @{sessions($name)}, 0, '... and starts no session');
	my ($rc, $out) = ctl(['token', 'revoke', claims($cli)->{jti}]);
	is($out, "revoked ${\ claims($cli)->{jti}}\n",
	    'token revoke revokes a token issue token');
	is(status(GET => $LIST, $cli), 401, '... which is then refused');
}

# ---- concurrent wrong passwords ----------------------------------------

{
	my ($name, $pw, $secret) = user('joan');
	my $n = 20;
	my $dir = scratch_dir();
	pipe(my $go_r, my $go_w) or die "pipe: $!";
	my @pids;
	for my $i (1 .. $n) {
		my $pid = fork // die "fork: $!";
		if ($pid == 0) {
			close $go_w;
			# Everyone waits here until the parent closes the pipe.
			sysread($go_r, my $buf, 1);
			my $r = api(POST => '/signinBody',
			    json => {Login => $name, Password => "wrong $i $tag"});
			open(my $fh, '>', "$dir/t36-$tag-$i") or POSIX::_exit(1);
			print $fh "$r->{status}\n";
			close $fh or POSIX::_exit(1);
			POSIX::_exit(0);
		}
		push @pids, $pid;
	}
	close $go_r;
	close $go_w;
	my $bad = 0;
	for my $pid (@pids) {
		waitpid($pid, 0);
		$bad++ if $? != 0;
	}
	is($bad, 0, "$n forked clients ran");
	my %count;
	for my $i (1 .. $n) {
		my $st = HS::slurp("$dir/t36-$tag-$i");
		unlink "$dir/t36-$tag-$i";
		chomp $st;
		$count{$st || 'none'}++;
	}
	is($count{401} // 0, 5,
	    "$n concurrent wrong passwords, limit 5: five checked a password (401)")
	    or diag explain \%count;
	is($count{429} // 0, $n - 5, 'the rest were refused as locked (429)')
	    or diag explain \%count;
	like(throttle($name), qr/\A5 (?:29\d|300)\z/,
	    'the throttle row says 5 failures and a 300 s lock');
	is(api(POST => '/signinBody', json => {Login => $name,
	    Password => $pw})->{status}, 429,
	    'the right password is refused while locked');
	like(throttle($name), qr/\A5 /, '... and not counted');
}

done_testing();
