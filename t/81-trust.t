# SPDX-License-Identifier: ISC
# Host key trust, decided before any credential leaves the scheduler:
# trust on first use, pinned keys, a regenerated key under each
# sshTrustActionType (going on only with a private key, never with a
# password), a request's thumbprint that cannot replace a pinned key, an
# untrusted key that must stop before the login, and a server with several
# host keys.  Every case that must stop before the login is checked in the
# target's own sshd log (LogLevel DEBUG1): no client asked to authenticate;
# a case that logs in shows that the same check sees it.
use strict;
use warnings;

use JSON::PP ();
use Test::More;

use HS;
use SSHD;
use Check qw(sshd_auth_lines tcp_peers);

SSHD::need_targets();

my $dir = HS::scratch_dir();
my $run = "$$-" . time;

my $a = SSHD->new(dir => $dir, addr => '127.0.0.41',
    password => "t81-$run-Pw9")->start;
my $b = SSHD->new(dir => $dir, addr => '127.0.0.42')->start;
my $c = SSHD->new(dir => $dir, addr => '127.0.0.43',
    key_types => ['ed25519', 'rsa'])->start;
my $cred = "t81-key-$run";
# One client key for all three targets: the same account everywhere.
for my $t ($b, $c) {
	SSHD::spew($t->dir . "/authorized_keys/root",
	    SSHD::slurp($a->dir . '/client_key.pub'), 0644);
}
credential(name => $cred, username => 'root', secret => $a->client_key,
    kind => 'private-key');
my $pwcred = "t81-pw-$run";
credential(name => $pwcred, username => 'hsscan', secret => $a->password);

my $d = start_hostscand(workers => 8, step => 5);

sub item {
	my ($t, $name, %o) = @_;
	return host_item(dnsHostName => "$name-$run.invalid",
	    ipAddress => $t->addr, sshPort => $t->port, credentialName => $cred,
	    %o);
}

sub scan {
	my (@items) = @_;
	my $job = submit_job(@items);
	ok(wait_job($job, 60), 'job finished');
	return job_hosts($job);
}

sub host_rec {
	my ($name) = @_;
	my $out = psql("SELECT coalesce(row_to_json(h)::text, '{}') FROM"
	    . " (SELECT id, trusted_key_type, trusted_key, trusted_fingerprint"
	    . " FROM host WHERE dns_host_name = "
	    . HS::sql_quote("$name-$run.invalid") . ") h");
	return JSON::PP->new->utf8->decode(length $out ? $out : '{}');
}

# Runs $scan (which scans only against $t) with $t's log cleared and
# returns its result; checks that the target saw the connections end and
# returns the lines of its log that show authentication.
sub target_auth {
	my ($t, $what, $scan) = @_;
	$t->clear_log;
	my $r = $scan->();
	my $addr = quotemeta $t->addr;
	my $log;
	ok(HS::wait_for(sub {
		$log = $t->log_text;
		return $log =~ /Connection from 127\.0\.0\.\d+ port \d+ on $addr /
		    && $log =~ /Connection closed by|Received disconnect from|Disconnected from|Connection reset by|Close session/;
	}, 10), "$what: the target logged the connection and its end")
	    or diag($log);
	return ($r, [sshd_auth_lines($log)]);
}

# The case must stop before the login: the target saw no authentication.
sub no_credential_sent {
	my ($t, $what, $scan) = @_;
	my ($r, $auth) = target_auth($t, $what, $scan);
	is(scalar @$auth, 0, "$what: the target's log shows no authentication"
	    . ' attempt') or diag(join "\n", @$auth);
	return $r;
}

sub logged {
	my ($row, $re, $level) = @_;
	return scalar grep { $_->{message} =~ $re &&
	    (!$level || $_->{level} eq $level) } @{scan_log_of($row->{id})};
}

my $T = JSON::PP::true;
my $F = JSON::PP::false;

# 1. Trust on first use stores the key on the host record.
my $fp_a = $a->fingerprint;
like($fp_a, qr/^SHA256:[A-Za-z0-9+\/]{43}$/, 'ssh-keygen fingerprint form');
my $r = scan(item($a, 'tofu', acceptThumbprintOnFirstDiscovery => $T));
is($r->[0]{state}, 2, 'first discovery accepted: Complete')
    or diag explain scan_log_of($r->[0]{id});
is($r->[0]{discovered_fingerprint}, $fp_a,
    'discovered fingerprint byte for byte as ssh-keygen -l prints it');
my $rec = host_rec('tofu');
is($rec->{trusted_fingerprint}, $fp_a, 'stored as trusted on the host');
my ($ktype, $kb64) = $a->host_pub;
is($rec->{trusted_key_type}, $ktype, 'trusted key type stored');
is($rec->{trusted_key}, $kb64, 'the full key is stored');
is($r->[0]{host_id}, $rec->{id}, 'hostId points at the host record');

# 2. The same key again, without first-use acceptance: passes.  The
# control of the checks below: a login shows in the target's log.
{
	my $auth;
	($r, $auth) = target_auth($a, 'control: a trusted key',
	    sub { scan(item($a, 'tofu')) });
	is($r->[0]{state}, 2, 'second scan, same key: Complete');
	ok(logged($r->[0], qr/matches the host record/), 'matched the stored key');
	ok((grep { /userauth-request for user root/ } @$auth),
	    'control: the target logged the userauth-request');
	ok((grep { /^Accepted publickey for root / } @$auth),
	    'control: and the accepted login');
}

# 3. The target is reinstalled: a new key.
$a->regenerate_keys;
my $fp_a2 = $a->fingerprint;
isnt($fp_a2, $fp_a, 'regenerated key differs');
# The five that must stop first, alone against the target, then the two
# that go on (a private key: public-key auth reveals no secret).
$r = no_credential_sent($a, 'mismatched key', sub { scan(item($a, 'tofu'),
    item($a, 'tofu', sshTrustActionType => 'ErrorOnThumbprintMismatch'),
    item($a, 'tofu', sshTrustActionType => 'WarnOnThumbprintMismatch',
	credentialName => $pwcred),
    item($a, 'tofu', sshTrustActionType => 'AlwaysTrustIgnoreThumbprint',
	credentialName => $pwcred),
    item($a, 'tofu', trustedThumbprint => $fp_a2,
	acceptThumbprintOnFirstDiscovery => $T, credentialName => $pwcred)) });
my $r2 = scan(
    item($a, 'tofu', sshTrustActionType => 'WarnOnThumbprintMismatch'),
    item($a, 'tofu', sshTrustActionType => 'AlwaysTrustIgnoreThumbprint'));
$r = [$r->[0], @$r2, @$r[1 .. 4]];
is($r->[0]{state}, 3, 'mismatch under the default action: Failed');
is($r->[0]{failure_reason}, 5, '... AccessDenied');
is($r->[0]{status_description},
    "host key $fp_a2 does not match trusted $fp_a",
    '... the description names both fingerprints');
is($r->[0]{discovered_fingerprint}, $fp_a2, '... the new key is recorded');
ok(!logged($r->[0], qr/logged in/), '... no login happened');
is($r->[1]{state}, 2, 'WarnOnThumbprintMismatch: goes on to Complete');
ok(logged($r->[1], qr/does not match.*WarnOnThumbprintMismatch/, 'warning'),
    '... with a warning in the scan log');
like(SSHD::slurp($d->{log}), qr/event=hostkey_mismatch .*action=warn/,
    '... and a warning event in the scheduler log');
is($r->[2]{state}, 2, 'AlwaysTrustIgnoreThumbprint: Complete');
is($r->[3]{state}, 3, 'ErrorOnThumbprintMismatch by name: Failed');
for my $i (4, 5) {
	my $act = $i == 4 ? 'WarnOnThumbprintMismatch' :
	    'AlwaysTrustIgnoreThumbprint';
	is_deeply([$r->[$i]{state}, $r->[$i]{failure_reason}], [3, 5],
	    "$act with a password credential: Failed, AccessDenied");
	is($r->[$i]{status_description}, "host key $fp_a2 does not match "
	    . "trusted $fp_a (from the host record); $act goes on only with "
	    . "a private-key credential: a password is never sent to a host "
	    . "whose key is not trusted", '... saying why');
}
is_deeply([$r->[6]{state}, $r->[6]{failure_reason}], [3, 5],
    'the new key as the request\'s trustedThumbprint, first discovery on: '
    . 'Failed, AccessDenied');
is($r->[6]{status_description},
    "host key $fp_a2 does not match trusted $fp_a",
    '... the pinned key, not the request\'s, is the one compared');
ok(logged($r->[6], qr/the request's trustedThumbprint is not used/),
    '... and the scan log says the thumbprint was not used');
unlike($a->log_text, qr/password for hsscan|keyboard-interactive/,
    'the target was offered no password');
is(host_rec('tofu')->{trusted_fingerprint}, $fp_a,
    'a mismatch never changes the trusted key');

# 4. Unknown key, first use not accepted: stop before any login.
$r = no_credential_sent($b, 'unknown key', sub { scan(item($b, 'untrusted')) });
is($r->[0]{state}, 3, 'untrusted key: Failed');
is($r->[0]{failure_reason}, 5, '... AccessDenied');
like($r->[0]{status_description}, qr/^host key not trusted/,
    '... "host key not trusted"');
is($r->[0]{discovered_fingerprint}, $b->fingerprint,
    '... the discovered fingerprint is recorded');
is($r->[0]{discovered_key_type}, 'ssh-ed25519', '... with its type');
ok(host_rec('untrusted')->{id}, '... on a host record');
ok(!defined host_rec('untrusted')->{trusted_fingerprint},
    '... that trusts nothing yet');

# 5. A thumbprint in the request pins the key.
$r = scan(item($b, 'pinned', trustedThumbprint => $b->fingerprint),
    item($b, 'pinned-md5', trustedThumbprint => $b->fingerprint(undef, 'md5')));
push @$r, @{no_credential_sent($b, 'wrongly pinned key', sub {
    scan(item($b, 'pinned-wrong', trustedThumbprint => $fp_a)) })};
is($r->[0]{state}, 2, 'request thumbprint (SHA256) matches: Complete');
is($r->[1]{state}, 2, 'request thumbprint (MD5 form) matches: Complete');
is($r->[2]{state}, 3, 'request thumbprint of another key: Failed');
like($r->[2]{status_description}, qr/does not match trusted \Q$fp_a\E/,
    '... naming the pinned fingerprint');

# 6. A server with two host keys: pinning the second is no mismatch.  One
# after the other: once a key is pinned at the endpoint it binds every
# later scan of it, whatever the request's thumbprint says.
$r = scan(item($c, 'multi', trustedThumbprint => $c->fingerprint('rsa')));
is($r->[0]{state}, 2, 'pinned RSA key of a two-key server: Complete')
    or diag explain scan_log_of($r->[0]{id});
is($r->[0]{discovered_fingerprint}, $c->fingerprint('rsa'),
    '... the RSA key was asked for and found');
$r = scan(item($c, 'multi-tofu', acceptThumbprintOnFirstDiscovery => $T));
is($r->[0]{state}, 2, 'first use on a two-key server: Complete');
my $mt = host_rec('multi-tofu');
$r = scan(item($c, 'multi-tofu'), item($c, 'multi-tofu'));
is_deeply([map { $_->{state} } @$r], [2, 2],
    'later scans ask for the trusted key type and match');
is($r->[0]{discovered_fingerprint}, $mt->{trusted_fingerprint},
    '... the same key as stored');

is_deeply([grep { /\A127\.0\.0\.4[123]:/ } tcp_peers($d->{pid})], [],
    'hostscand holds no connection to a target once its scans ended');
is(stop_hostscand($d), 0, 'hostscand stops cleanly');
$_->stop for $a, $b, $c;
done_testing();
