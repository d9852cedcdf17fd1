# SPDX-License-Identifier: ISC
# hostscand against real targets: each failure maps to the status and
# failureReason of docs/openapi.yaml, a logged-in scan's inventory equals the
# target's own files, and the credential's secret shows up nowhere.
use strict;
use warnings;

use JSON::PP ();
use Test::More;

use HS;
use SSHD;
use Check qw(hash_columns responder_log postgres_log secrets_absent
    tcp_peers);

SSHD::need_targets();

my $dir = HS::scratch_dir();
my $run = "$$-" . time;
my $pw = "pw-$run-Sekr3t-Xq";
my $badpw = "wrong-$run-Zz";
my $STEP = 2;

HS::note_secret($_, 't/80-scan.t target password') for $pw, $badpw;
my $t = SSHD->new(dir => $dir, addr => '127.0.0.31', password => $pw)->start;
# RHEL-like: /bin/sh is bash, which reads a piped script byte by byte.
my $rh = SSHD->new(dir => $dir, addr => '127.0.0.34', sh_is_bash => 1,
    os_release => { NAME => 'Bash Linux', VERSION_ID => '9.4' })->start;
SSHD::spew($rh->dir . '/authorized_keys/root',
    SSHD::slurp($t->dir . '/client_key.pub'), 0644);
my $silent = SSHD::silent_listener('127.0.0.32');
my $refused = SSHD::free_port('0.0.0.0');

my $pwcred = "t80-pw-$run";
my $keycred = "t80-key-$run";
my $badcred = "t80-bad-$run";
credential(name => $pwcred, username => 'hsscan', secret => $pw);
credential(name => $keycred, username => 'root', secret => $t->client_key,
    kind => 'private-key');
credential(name => $badcred, username => 'hsscan', secret => $badpw);

my $d = start_hostscand(workers => 16, step => $STEP, host_timeout => 20);

sub item {
	my (%o) = @_;
	return host_item(credentialName => $pwcred, sshPort => $t->port,
	    acceptThumbprintOnFirstDiscovery => JSON::PP::true, %o);
}

my @items = (
	item(dnsHostName => undef, ipAddress => '127.0.0.33',
	    sshPort => $refused),
	item(dnsHostName => undef, ipAddress => $silent->addr,
	    sshPort => $silent->port),
	item(dnsHostName => "nohost-$run.invalid", ipAddress => undef),
	item(dnsHostName => "root-$run.invalid", ipAddress => $t->addr,
	    credentialName => $keycred),
	item(dnsHostName => "user-$run.invalid", ipAddress => $t->addr),
	item(dnsHostName => "bad-$run.invalid", ipAddress => $t->addr,
	    credentialName => $badcred),
	item(dnsHostName => "bash-$run.invalid", ipAddress => $rh->addr,
	    sshPort => $rh->port, credentialName => $keycred),
);
my $job = submit_job(@items);
ok(wait_job($job, 60), 'every host of the job reaches a final state');
my $h = job_hosts($job);
is(scalar @$h, scalar @items, 'one row per requested host');

# Refused port.
is($h->[0]{state}, 3, 'refused port: Failed');
is($h->[0]{failure_reason}, 11, 'refused port: FailedToConnect');
is($h->[0]{status_description}, "connection refused by 127.0.0.33:$refused",
    'refused port: the description names the address');

# A port that accepts and never speaks.
is($h->[1]{state}, 3, 'silent port: Failed');
is($h->[1]{failure_reason}, 4, 'silent port: ActionTimeout');
cmp_ok($h->[1]{secs}, '<=', $STEP + HS::scaled(1.5),
    "silent port: ended within the $STEP s step deadline (+1.5 s)");
cmp_ok($h->[1]{secs}, '>=', $STEP - 0.5, 'silent port: waited the deadline');
like($h->[1]{status_description}, qr/no SSH handshake from 127\.0\.0\.32:\d+ within $STEP s/,
    'silent port: the description says so');

# Unresolvable name without an address.
is($h->[2]{state}, 3, 'unresolvable name: Failed');
is($h->[2]{failure_reason}, 10, 'unresolvable name: InvalidHostName');
like($h->[2]{status_description}, qr/nohost-\Q$run\E\.invalid does not resolve/,
    'unresolvable name: named in the description');

# Full inventory as root, reached through ipAddress after DNS failed.
my $full = $h->[3];
is($full->{state}, 2, 'root key login: Complete')
    or diag explain scan_log_of($full->{id});
is($full->{failure_reason}, 0, 'root key login: NoError');
ok($full->{host_id}, 'root key login: hostId set');
is($full->{os}, 'HostScan Test Linux', 'os is os-release NAME');
is($full->{version}, '42.1', 'version is os-release VERSION_ID');
my $log = scan_log_of($full->{id});
ok((grep { $_->{step} eq 'resolve' && $_->{level} eq 'warning' &&
    $_->{message} =~ /using ipAddress 127\.0\.0\.31/ } @$log),
    'ipAddress used when the DNS name does not resolve (logged)');
ok((grep { $_->{step} eq 'claim' } @$log), 'the claim is in the scan log');
ok((grep { $_->{step} eq 'result' } @$log), 'the result is in the scan log');
for my $step (qw(connect hostkey trust login inventory)) {
	ok((grep { $_->{step} eq $step } @$log), "scan log has step $step");
}

my $hid = HS::sql_quote($full->{host_id});
my $J = JSON::PP->new->utf8;
my $users = $J->decode(psql("SELECT coalesce(json_agg(u ORDER BY u.ord), '[]')"
    . " FROM (SELECT ord, name, display_name, unix_id, unix_group_id,"
    . " home_directory, shell, privilege, is_disabled,"
    . " extract(epoch FROM password_changed_at)::bigint AS changed,"
    . " extract(epoch FROM password_expires_at)::bigint AS expires"
    . " FROM host_user WHERE host_id = $hid) u"));
my @want = map { [split /:/, $_, -1] } split /\n/, $t->passwd_text;
is(scalar @$users, scalar @want, 'one user per line of the target passwd');
for my $i (0 .. $#want) {
	my ($name, undef, $uid, $gid, $gecos, $home, $shell) = @{$want[$i]};
	my $u = $users->[$i] // {};
	is_deeply([$u->{name}, $u->{unix_id}, $u->{unix_group_id},
	    $u->{home_directory}, $u->{shell}],
	    [$name, $uid, $gid, $home, $shell], "user $name as in passwd");
	my ($first) = split /,/, $gecos, 2;
	$first //= '';
	# Bytes that are not UTF-8 arrive as '?', never as a lost row.
	$first =~ s/[\x80-\xff]/?/g;
	is($u->{display_name}, length $first ? $first : undef,
	    "user $name display name is the first GECOS field");
}
my %u = map { $_->{name} => $_ } @$users;
is($u{root}{privilege}, 'SuperUser', 'uid 0 is SuperUser');
is($u{hsadmin}{privilege}, 'SuperUser', 'sudo member is SuperUser');
is($u{hsscan}{privilege}, 'LinuxUser', 'plain account is LinuxUser');
is($u{hsscan}{changed}, 19000 * 86400, 'password change date from shadow');
is($u{hsscan}{expires}, (19000 + 36500) * 86400,
    'password expiry = change + max days');
ok($u{hsadmin}{is_disabled}, 'locked password (!) is disabled');
ok($u{hsplain}{is_disabled}, 'expired account is disabled');
ok(!$u{hsscan}{is_disabled}, 'usable account is not disabled');

my $groups = $J->decode(psql("SELECT coalesce(json_agg(g ORDER BY g.ord), '[]')"
    . " FROM (SELECT g.name, g.unix_id, coalesce((SELECT"
    . " string_agg(m.user_name, ',' ORDER BY m.user_name)"
    . " FROM host_group_member m WHERE m.group_id = g.id"
    . " AND NOT m.is_primary), '') AS members, g.ord"
    . " FROM host_group g WHERE g.host_id = $hid) g"));
my @gwant = map { [split /:/, $_, -1] } split /\n/, $t->group_text;
is(scalar @$groups, scalar @gwant, 'one group per line of the target group');
for my $i (0 .. $#gwant) {
	my ($name, undef, $gid, $members) = @{$gwant[$i]};
	my $g = $groups->[$i] // {};
	is_deeply([$g->{name}, $g->{unix_id}, $g->{members}],
	    [$name, $gid, join(',', sort split /,/, $members)],
	    "group $name as in the group file, with its members");
}
is(psql("SELECT count(*) FROM host_group_member m JOIN host_group g"
    . " ON g.id = m.group_id WHERE g.host_id = $hid AND g.name = 'users'"
    . " AND m.is_primary AND m.user_name = 'hsplain'"), '1',
    'primary group membership recorded');
# The scan as root read the shadow file (the dates above), and that file
# holds the hashes: no text column of any table the scanner writes may.
for my $x ([$t, $full, 'root key login'], [$rh, $h->[6], 'bash target']) {
	my ($tgt, $row, $what) = @$x;
	my $shadow = SSHD::slurp($tgt->dir . '/etc/shadow');
	my @hashes = $shadow =~ /^[^:]+:!?(\$6\$[^:]+):/mg;
	cmp_ok(scalar @hashes, '>=', 2, "$what: the target's shadow holds"
	    . ' $6$ password hashes');
	my $cols = hash_columns($row->{host_id} // '00000000-0000-0000-0000-000000000000');
	cmp_ok(scalar keys %$cols, '>=', 30,
	    "$what: the text columns of the scan results were searched");
	is_deeply([grep { $cols->{$_} } sort keys %$cols], [],
	    "$what: no password hash stored in any text column");
	is(psql("SELECT count(*) FROM host_user WHERE host_id = "
	    . HS::sql_quote($row->{host_id} // '00000000-0000-0000-0000-000000000000')
	    . " AND is_disabled IS NOT NULL"), scalar(split /\n/, $shadow),
	    "$what: every shadow line was read (its dates)");
}
cmp_ok(psql("SELECT count(*) FROM host_software WHERE host_id = $hid"),
    '>', 0, 'installed software collected');
is(psql("SELECT os || ' ' || version FROM host WHERE id = $hid"),
    'HostScan Test Linux 42.1', 'host record has os and version');

# Password login without root: less is collected, and the log says so.
my $user = $h->[4];
is($user->{state}, 2, 'password login as a plain user: Complete')
    or diag explain scan_log_of($user->{id});
ok((grep { $_->{message} =~ m{/etc/shadow not readable} }
    @{scan_log_of($user->{id})}), 'missing rights are logged');
is(psql("SELECT count(*) FROM host_user WHERE host_id = "
    . HS::sql_quote($user->{host_id}) . " AND is_disabled IS NOT NULL"), '0',
    'no shadow data without the rights to read it');

# Wrong password.
is($h->[5]{state}, 3, 'wrong password: Failed');
is($h->[5]{failure_reason}, 5, 'wrong password: AccessDenied');
like($h->[5]{status_description}, qr/password login as hsscan was denied/,
    'wrong password: description');
like($t->log_text, qr/Failed password for hsscan/,
    'the target saw the failed password');
like($t->log_text, qr/Accepted publickey for root/,
    'the target saw the key login');

# A target whose sh is bash.
is($h->[6]{state}, 2, 'target with bash as sh: Complete')
    or diag explain scan_log_of($h->[6]{id});
is($h->[6]{os} . ' ' . $h->[6]{version}, 'Bash Linux 9.4',
    '... its own os-release');
is(psql("SELECT count(*) FROM host_user WHERE host_id = "
    . HS::sql_quote($h->[6]{host_id} // '00000000-0000-0000-0000-000000000000')),
    scalar(split /\n/, $rh->passwd_text), '... all its users');

# The API view of the same job.
my $st = api(GET => "/api/v1/HostScanJob/$job/Status", token => admin_token());
is($st->{status}, 200, 'GET Status');
is_deeply([map { [$_->{status}, $_->{failureReason}] }
    @{$st->{json}{hostScanHostStatus} // []}],
    [[qw(Failed FailedToConnect)], [qw(Failed ActionTimeout)],
    [qw(Failed InvalidHostName)], [qw(Complete NoError)],
    [qw(Complete NoError)], [qw(Failed AccessDenied)],
    [qw(Complete NoError)]],
    'statuses and failure reasons by name through the API');

# The secret stays in the scheduler's memory.
my $cmdline = SSHD::slurp("/proc/$d->{pid}/cmdline");
ok(length $cmdline, 'read the scheduler command line');
for my $secret ($pw, $badpw) {
	unlike($cmdline, qr/\Q$secret\E/, 'secret not in argv');
	unlike(SSHD::slurp($d->{log}), qr/\Q$secret\E/, 'secret not in the log');
	unlike($st->{content}, qr/\Q$secret\E/, 'secret not in the API body');
	is(psql("SELECT count(*) FROM scan_log WHERE position("
	    . HS::sql_quote($secret) . " IN message) > 0"), '0',
	    'secret not in any scan log');
	is(psql("SELECT count(*) FROM host_scan_host WHERE position("
	    . HS::sql_quote($secret) . " IN coalesce(status_description, ''))"
	    . " > 0"), '0', 'secret not in any status description');
}

is_deeply([grep { /\A127\.0\.0\.3[1-4]:/ } tcp_peers($d->{pid})], [],
    'hostscand holds no connection to a target once its scans ended');
is(stop_hostscand($d), 0, 'SIGTERM: hostscand exits 0');
like(SSHD::slurp($d->{log}), qr/event=stopped/, 'and says so');
secrets_absent('the target passwords', [$pw, $badpw], $d->{log},
    responder_log(), postgres_log(), $t->log_path);
$_->stop for $t, $rh, $silent;
done_testing();
