# SPDX-License-Identifier: ISC
# A rogue SSH server (t/tools/rogue-sshd, python3-paramiko) that records
# every password, keyboard-interactive answer and public key it is offered
# takes over the address:port of a host pinned to a real sshd's key: no
# combination of what an App token may put in a request gets it a
# password.  An address outside the credential's scope gets no connection
# at all, keyboard-interactive answers only one hidden password prompt,
# and every attempt and refusal is in the credential audit trail.
use strict;
use warnings;

use Digest::SHA qw(sha256_hex);
use JSON::PP ();
use Test::More;

use HS;
use SSHD;

SSHD::need_targets();

my $dir = HS::scratch_dir();
my $run = "$$-" . time;
my $J = JSON::PP->new->utf8->canonical;
my $T = JSON::PP::true;
my $F = JSON::PP::false;
my $ROGUE = HS::env_required('HOSTSCAN_SRCDIR') . '/t/tools/rogue-sshd';

my $pw = HS::note_secret("t84-pw-$run-Qz7!");
my $kpw = HS::note_secret("t84-kbd-$run-Wx3?");
my $A = SSHD->new(dir => $dir, addr => '127.0.0.81', password => $pw)->start;
my $port = $A->port;

my $pwcred = "t84-pw-$run";
my $keycred = "t84-key-$run";
my $wide = "t84-wide-$run";
credential(name => $pwcred, username => 'hsscan', secret => $pw,
    scope => '127.0.0.81');
credential(name => $keycred, username => 'root', secret => $A->client_key,
    kind => 'private-key', scope => '127.0.0.81');
# The API admits a host by its name; the scheduler only by the address.
credential(name => $wide, username => 'hsscan', secret => $pw,
    scope => '127.0.0.81/32,*.invalid');

my $app = HS::token(roles => 'App', sub => "t84-attacker-$run");
my $d = start_hostscand(workers => 8, step => 5);

sub rogue_key {
	my ($name) = @_;
	my $k = "$dir/rogue-$run-$name";
	system('/usr/bin/ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C',
	    'rogue', '-f', $k) == 0 or die "ssh-keygen failed\n";
	HS::note_secret_source($k);
	my $out = `/usr/bin/ssh-keygen -l -E sha256 -f $k.pub`;
	die "ssh-keygen -l failed\n" unless $out =~ /\s(SHA256:\S+)\s/;
	return ($k, $1);
}

sub start_rogue {
	my ($addr, $p, $key, @extra) = @_;
	my $log = "$dir/rogue-$run-$addr-$p.jsonl";
	my $pid = HS::spawn_logged([$ROGUE, '--listen', "$addr:$p",
	    '--host-key', $key, '--log', $log, @extra], "$log.out");
	ok(wait_for(sub { -s $log && SSHD::slurp($log) =~ /"listening"/ },
	    15), "rogue server listens on $addr:$p")
	    or diag SSHD::slurp("$log.out");
	return { pid => $pid, log => $log };
}

sub rogue_events {
	my ($r) = @_;
	return [map { $J->decode($_) } grep { /\S/ }
	    split /\n/, SSHD::slurp($r->{log})];
}

sub submit {
	my ($token, @items) = @_;
	my $r = api(POST => '/api/v1/HostScanJob', token => $token,
	    json => \@items);
	is($r->{status}, 200, 'the API queues the job') or diag $r->{content};
	return $r->{json}{id};
}

sub audit_rows {
	my ($job) = @_;
	return $J->decode(psql("SELECT coalesce(json_agg(a ORDER BY a.id),"
	    . " '[]') FROM (SELECT id, use_id, event, credential_name,"
	    . " host_scan_host_id, job_id, scan_attempt, submitted_by, address,"
	    . " port, host_key_fingerprint, method, actor, outcome, detail"
	    . " FROM credential_audit WHERE job_id = " . HS::sql_quote($job)
	    . ") a"));
}

# ---- 1. the real host is pinned --------------------------------------

my $victim = "victim-$run.invalid";
my $job = submit(admin_token(), host_item(dnsHostName => $victim,
    ipAddress => $A->addr, sshPort => $port, credentialName => $pwcred,
    acceptThumbprintOnFirstDiscovery => $T));
ok(wait_job($job, 60), 'first scan finished');
my $h = job_hosts($job);
is($h->[0]{state}, 2, 'the real host: Complete with the password')
    or diag explain scan_log_of($h->[0]{id});
my $fp_real = $A->fingerprint;
is(psql("SELECT trusted_fingerprint || ' ' || trusted_address FROM host"
    . " WHERE dns_host_name = " . HS::sql_quote($victim)),
    "$fp_real 127.0.0.81:$port", 'its key is pinned, with the endpoint');
my $a = audit_rows($job);
is_deeply([map { [$_->{event}, $_->{outcome}] } @$a],
    [['use', undef], ['outcome', 'success']],
    'audit: the use, written before the secret was sent, then its outcome');
is($a->[0]{use_id}, $a->[1]{use_id}, '... one use id ties them');
is_deeply([@{$a->[0]}{qw(address port host_key_fingerprint method
    submitted_by credential_name host_scan_host_id scan_attempt)}],
    ['127.0.0.81', $port, $fp_real, 'password', 'scan-tests', $pwcred,
    $h->[0]{id}, 1], '... with address, port, host key, method, submitter, '
    . 'credential, host scan and attempt');
like($a->[0]{actor}, qr{^hostscand/\Q$d->{instance}\E$}, '... and the scheduler');

# ---- 2. the rogue takes over the address and port ---------------------

$A->stop;
my ($rk, $fp_rogue) = rogue_key('takeover');
isnt($fp_rogue, $fp_real, 'the rogue has a key of its own');
my $rogue = start_rogue('127.0.0.81', $port, $rk);

my @items;
my @names = ([$victim, 'the pinned name'],
    ["alias-$run.invalid", 'a new name for the same address'],
    [undef, 'no name, the address only']);
my @actions = (undef, 'ErrorOnThumbprintMismatch', 'WarnOnThumbprintMismatch',
    'AlwaysTrustIgnoreThumbprint');
for my $n (@names) {
	for my $acc ($F, $T) {
		for my $tt (undef, $fp_rogue) {
			for my $ta (@actions) {
				push @items, host_item(dnsHostName => $n->[0],
				    ipAddress => '127.0.0.81', sshPort => $port,
				    credentialName => $pwcred,
				    acceptThumbprintOnFirstDiscovery => $acc,
				    trustedThumbprint => $tt,
				    sshTrustActionType => $ta);
			}
		}
	}
}
my $npw = @items;
is($npw, 48, '48 combinations of name, first discovery, thumbprint and action');
push @items, host_item(dnsHostName => $victim, ipAddress => '127.0.0.81',
    sshPort => $port, credentialName => $keycred,
    sshTrustActionType => 'WarnOnThumbprintMismatch');
$job = submit($app, @items);
ok(wait_job($job, 90), 'the attack job finished');
$h = job_hosts($job);
my $ev = rogue_events($rogue);
my @pws = grep { $_->{event} eq 'password' } @$ev;
my @answers = grep { $_->{event} eq 'kbdint-answer' } @$ev;
is(scalar @pws, 0, 'the rogue was offered no password');
is(scalar @answers, 0, 'and no keyboard-interactive answer');
cmp_ok(scalar(grep { $_->{event} eq 'connect' } @$ev), '>=', $npw + 1,
    'yet every scan connected to it and saw its key');
for my $i (0 .. $npw - 1) {
	my $it = $items[$i];
	my $what = sprintf('%s, first discovery %s, %s, %s',
	    $names[int($i / 16)][1], $it->{acceptThumbprintOnFirstDiscovery}
	    ? 'on' : 'off', defined $it->{trustedThumbprint} ?
	    "the rogue's thumbprint" : 'no thumbprint',
	    $it->{sshTrustActionType} // 'no action');
	my $warn = ($it->{sshTrustActionType} // '') =~ /^(Warn|Always)/;
	my $ok = is_deeply([$h->[$i]{state}, $h->[$i]{failure_reason}], [3, 5],
	    "$what: Failed, AccessDenied");
	$ok &&= like($h->[$i]{status_description}, $warn ?
	    qr/^host key \Q$fp_rogue\E does not match trusted \Q$fp_real\E .*goes on only with a private-key credential/ :
	    qr/^host key \Q$fp_rogue\E does not match trusted \Q$fp_real\E$/,
	    '... measured against the pinned key');
	diag explain scan_log_of($h->[$i]{id}) unless $ok;
}
my $k = $h->[$npw];
is_deeply([$k->{state}, $k->{failure_reason}], [3, 5],
    'a private-key credential with WarnOnThumbprintMismatch goes on to the login');
like($k->{status_description}, qr/private key login as root was denied/,
    '... which the rogue refuses');
my @offers = grep { $_->{event} eq 'publickey' } @{rogue_events($rogue)};
ok(scalar(@offers) >= 1 && $offers[0]{user} eq 'root',
    '... after a public-key offer, which reveals no secret');
is(psql("SELECT trusted_fingerprint FROM host WHERE dns_host_name = "
    . HS::sql_quote($victim)), $fp_real, 'the pinned key is unchanged');
is(psql("SELECT count(*) FROM host WHERE trusted_fingerprint = "
    . HS::sql_quote($fp_rogue)), 0, 'the rogue key is pinned nowhere');

$a = audit_rows($job);
my %by;
push @{$by{$_->{host_scan_host_id}}}, $_ for @$a;
my $rows_ok = 1;
for my $i (0 .. $npw - 1) {
	my $r = $by{$h->[$i]{id}} // [];
	my $warn = ($items[$i]{sshTrustActionType} // '') =~ /^(Warn|Always)/;
	$rows_ok &&= is_deeply([map { [$_->{event}, $_->{outcome},
	    $_->{address}, $_->{port}, $_->{host_key_fingerprint},
	    $_->{submitted_by}] } @$r],
	    [['refused', $warn ? 'password_needs_trusted_key' :
	    'host_key_mismatch', '127.0.0.81', $port, $fp_rogue,
	    "t84-attacker-$run"]], "audit of item $i: one refusal");
}
ok($rows_ok, 'audit: exactly one refusal row per refused attempt');
is_deeply([map { [$_->{event}, $_->{outcome}, $_->{method}] }
    @{$by{$k->{id}} // []}],
    [['use', undef, 'publickey'], ['outcome', 'denied', 'publickey']],
    'audit: the private-key attempt is a use and its outcome');
is(scalar @$a, $npw + 2, 'and nothing else for the job');

# Only an Admin's PUT .../Trust replaces the pin; then, and only then, the
# password goes (which also shows the rogue records a password it gets).
my $r = api(PUT => "/api/v1/HostScanJob/Host/$h->[0]{id}/Trust",
    token => $app);
is($r->{status}, 403, 'the App token cannot trust the rogue key: 403');
is(psql("SELECT trusted_fingerprint FROM host WHERE dns_host_name = "
    . HS::sql_quote($victim)), $fp_real, '... the pin stays');
$r = api(PUT => "/api/v1/HostScanJob/Host/$h->[0]{id}/Trust",
    token => admin_token());
is($r->{status}, 200, 'an Admin trusts it');
$job = submit($app, host_item(dnsHostName => $victim,
    ipAddress => '127.0.0.81', sshPort => $port, credentialName => $pwcred));
ok(wait_job($job, 60), 'the App token scans the host again');
@pws = grep { $_->{event} eq 'password' } @{rogue_events($rogue)};
is(scalar @pws, 1, 'now the password went to the key the Admin trusted');
is($pws[0]{sha256} // '', sha256_hex($pw),
    '... the rogue recorded that very password');
is_deeply([map { $_->{outcome} } @{audit_rows($job)}], [undef, 'denied'],
    '... after its audit row');
HS::stop_responder({ pid => $rogue->{pid} });

# ---- 3. out of scope: no connection at all ------------------------------

my ($rk2) = rogue_key('outside');
my $port2 = SSHD::free_port('127.0.0.82');
my $rogue2 = start_rogue('127.0.0.82', $port2, $rk2);
$job = submit($app, host_item(dnsHostName => "evil-$run.invalid",
    ipAddress => '127.0.0.82', sshPort => $port2, credentialName => $wide,
    acceptThumbprintOnFirstDiscovery => $T,
    sshTrustActionType => 'AlwaysTrustIgnoreThumbprint'));
ok(wait_job($job, 60), 'the out-of-scope job finished');
$h = job_hosts($job);
is_deeply([$h->[0]{state}, $h->[0]{failure_reason}], [3, 5],
    'a name the scope admits, falling back to an address it does not: '
    . 'Failed, AccessDenied');
like($h->[0]{status_description},
    qr/^credential not allowed for this address: 127\.0\.0\.82 is outside the scope of credential \Q$wide\E/,
    '... "credential not allowed for this address"');
is(scalar(grep { $_->{event} ne 'listening' } @{rogue_events($rogue2)}), 0,
    'the address outside the scope never saw a connection');
$a = audit_rows($job);
is_deeply([map { [@$_{qw(event outcome address port host_key_fingerprint)}] }
    @$a], [['refused', 'out_of_scope', '127.0.0.82', $port2, undef]],
    'audit: one refusal, out of scope, naming the address');
HS::stop_responder({ pid => $rogue2->{pid} });

# ---- 4. keyboard-interactive: one hidden password prompt, nothing else --

my ($rk3, $fp3) = rogue_key('kbdint');
my $port3 = SSHD::free_port('127.0.0.83');
my %prompts = (
	'kq-code' => 'Verification code: |noecho',
	'kq-two' => 'Password: |noecho,Password: |noecho',
	'kq-echo' => 'Password: |echo',
	'kq-new' => 'New password: |noecho',
	'kq-pin' => 'PIN for hsscan: |noecho',
);
my $rogue3 = start_rogue('127.0.0.83', $port3, $rk3, '--auth',
    'keyboard-interactive', '--prompts',
    join(';', map { "$_=$prompts{$_}" } sort keys %prompts));
my @users = (sort(keys %prompts), 'kq-ok');
for my $u (@users) {
	credential(name => "t84-$u-$run", username => $u, secret => $kpw,
	    scope => '127.0.0.83');
}
$job = submit(admin_token(), map { host_item(dnsHostName => "$_-$run.invalid",
    ipAddress => '127.0.0.83', sshPort => $port3,
    credentialName => "t84-$_-$run",
    acceptThumbprintOnFirstDiscovery => $T) } @users);
ok(wait_job($job, 60), 'the keyboard-interactive job finished');
$h = job_hosts($job);
$ev = rogue_events($rogue3);
my %user_of = map { $_->{peer} => $_->{user} }
    grep { $_->{event} eq 'kbdint-query' } @$ev;
my %answered;
$answered{$user_of{$_->{peer}} // '?'}++
    for grep { $_->{event} eq 'kbdint-answer' } @$ev;
is(scalar(grep { $_->{event} eq 'password' } @$ev), 0,
    'no password by the password method, which the server does not offer');
for my $i (0 .. $#users - 1) {
	my $u = $users[$i];
	is($answered{$u} // 0, 0, "prompt \"$prompts{$u}\": not answered");
	is_deeply([$h->[$i]{state}, $h->[$i]{failure_reason}], [3, 5],
	    '... Failed, AccessDenied');
	like($h->[$i]{status_description}, qr/refused: keyboard-interactive asked/,
	    '... saying what was asked') or diag $h->[$i]{status_description};
}
my ($ans) = grep { $_->{event} eq 'kbdint-answer' &&
    ($user_of{$_->{peer}} // '') eq 'kq-ok' } @$ev;
ok($ans && $ans->{sha256} eq sha256_hex($kpw),
    'the single hidden "Password: " prompt gets the password (the rogue '
    . 'records what it is given)');
is($h->[-1]{failure_reason}, 5, '... and the refused login is AccessDenied');
$a = audit_rows($job);
is_deeply([sort map { $_->{outcome} } grep { $_->{event} eq 'outcome' } @$a],
    [('denied'), ('prompt_refused') x 5],
    'audit: a use and an outcome for each, prompt_refused for the refusals');
is(scalar(grep { $_->{event} eq 'use' } @$a), scalar @users,
    '... one use row per attempt');

# ---- nothing secret in the scheduler's log ------------------------------

my $dlog = SSHD::slurp($d->{log});
unlike($dlog, qr/\Q$pw\E|\Q$kpw\E/, 'no password in the scheduler log');
is(stop_hostscand($d), 0, 'hostscand stops cleanly');
HS::stop_responder({ pid => $rogue3->{pid} });
done_testing();
