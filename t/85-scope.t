# SPDX-License-Identifier: ISC
# Credential scope and the credential audit trail: hostscanctl credential
# add --scope / credential scope / credential list, the API's 400 on the
# credential's key for a host outside the scope (POST, ValidateImportedCSV,
# ByHostId, ByHostIdMultiple), PUT .../Trust for Admin only, the
# scheduler's second check on the address it connects to (a name that
# resolves elsewhere, a scope narrowed after the POST), the audit rows and
# `hostscanctl audit`, and roles that may add audit rows but never change
# or delete one.
use strict;
use warnings;

use JSON::PP ();
use Test::More;

use HS qw(run_cmd);
use HS;
use SSHD;

SSHD::need_targets();

my $dir = HS::scratch_dir();
my $run = "$$-" . time;
my $J = JSON::PP->new->utf8->canonical;
my $T = JSON::PP::true;
my $ZERO = '00000000-0000-0000-0000-000000000000';
my $REFUSED = "is not allowed for this host: neither its dnsHostName nor "
    . "its ipAddress is in the credential's scope";
my $admin = token(roles => 'Admin', sub => "t83-admin-$run");
my $app = token(roles => 'App', sub => "t83-app-$run");

sub q_ { return HS::sql_quote($_[0]) }
sub audit_count { return psql("SELECT count(*) FROM credential_audit") }

# ---- hostscanctl: --scope is required, canonical, changeable -------------

{
	my ($rc, $out, $err) = ctl(['credential', 'add', '--name',
	    "t83-none-$run", '--username', 'u'], stdin => "x\n");
	is($rc, 2, 'credential add without --scope: usage error');
	like($err, qr/--scope are required \(--scope any allows every host\)/,
	    '... saying --scope is required and how to allow every host');
	($rc, $out, $err) = ctl(['credential', 'add', '--name', "t83-bad-$run",
	    '--username', 'u', '--scope', '10.0.0.0/8,10.1.2.3/8'],
	    stdin => "x\n");
	is($rc, 2, 'a bad scope: usage error');
	like($err, qr/scope: entry 2 "10\.1\.2\.3\/8": has address bits set/,
	    '... naming the entry and what is wrong with it');
	is(psql("SELECT count(*) FROM credential WHERE name IN"
	    . " ('t83-none-$run', 't83-bad-$run')"), 0, 'neither was stored');
}

my $net = "t83-net-$run";
my $names = "t83-names-$run";
my $net_id = credential(name => $net, scope => ' 192.0.2.0/24 , 2001:DB8::/32');
credential(name => $names, scope => '*.Corp.Example,db.other.example.');
is(psql("SELECT scope || ' ' || (scope_set_at IS NOT NULL) FROM credential"
    . " WHERE name = " . q_($net)), '192.0.2.0/24,2001:db8::/32 true',
    'stored in canonical form, with the time it was set');
is(psql("SELECT scope FROM credential WHERE name = " . q_($names)),
    '*.corp.example,db.other.example', 'names lower case, no trailing dot');

{
	my $c = "t83-change-$run";
	my $id = credential(name => $c, scope => 'any');
	my ($rc, $out, $err) = ctl(['credential', 'scope', $c,
	    '198.51.100.0/24']);
	is($rc, 0, 'credential scope NAME LIST') or diag $err;
	is($out, "credential $c ($id) may be used on: 198.51.100.0/24\n",
	    '... says what it set');
	($rc) = ctl(['credential', 'scope', $id, 'any']);
	is($rc, 0, 'credential scope ID LIST');
	is(psql("SELECT scope FROM credential WHERE id = '$id'"), 'any',
	    '... changed it');
	($rc, $out, $err) = ctl(['credential', 'scope', $c, '10.0.0.0/33']);
	is($rc, 2, 'a bad list is a usage error');
	($rc, $out, $err) = ctl(['credential', 'scope', "nope-$run", 'any']);
	is($rc, 1, 'an unknown credential fails');
	like($err, qr/no such credential/, '... saying so');
	($rc) = ctl(['credential', 'scope', $c]);
	is($rc, 2, 'a missing list is a usage error');
}

{
	# What the migration leaves: scope any, never set.
	my $old = "t83-old-$run";
	psql("INSERT INTO credential (name, username, kind, key_id, secret)"
	    . " VALUES (" . q_($old) . ", 'u', 'password', 'k', '\\x00')");
	my ($rc, $out, $err) = ctl(['credential', 'list']);
	is($rc, 0, 'credential list');
	like($out, qr/\AID\s+NAME\s+USERNAME\s+KIND\s+CREATED\s+ZONE\s+SCOPE\n/,
	    'a SCOPE column');
	like($out, qr/^\S+\s+\Q$net\E\s+scanner\s+password\s+\S+\s+default\s+192\.0\.2\.0\/24,2001:db8::\/32$/m,
	    '... with the scope');
	like($out, qr/^\S+\s+\Q$old\E\s+u\s+password\s+\S+\s+default\s+any \(not set\)$/m,
	    'a migrated credential shows "any (not set)"');
	like($err, qr/^hostscanctl: warning: credential \Q$old\E has no scope of its own .*credential scope \S+ LIST$/m,
	    '... and a warning on stderr');
	unlike($err, qr/credential \Q$net\E has no scope/, 'none for a set one');
	($rc, $out) = ctl(['credential', 'list', '--json']);
	my %by = map { $_->{name} => $_ } @{$J->decode($out)};
	is_deeply([@{$by{$old}}{qw(scope scopeSet)}], ['any', JSON::PP::false],
	    '--json: scope any, scopeSet false');
	is_deeply([@{$by{$net}}{qw(scope scopeSet)}],
	    ['192.0.2.0/24,2001:db8::/32', JSON::PP::true],
	    '--json: the scope and scopeSet true');
	($rc) = ctl(['credential', 'scope', $old, 'any']);
	($rc, $out, $err) = ctl(['credential', 'list']);
	unlike($err, qr/credential \Q$old\E has no scope/,
	    'once set, even to any, no warning');
	ctl(['credential', 'rm', $old]);
}

# ---- the API: 400 on the credential's key ------------------------------

my @items = (
	host_item(dnsHostName => undef, ipAddress => '192.0.2.5',
	    credentialName => $net),
	host_item(dnsHostName => 'www.example.test', ipAddress => '198.51.100.1',
	    credentialName => $net),
	host_item(dnsHostName => undef, ipAddress => '2001:db9::1',
	    credentialId => $net_id, credentialName => undef),
	host_item(dnsHostName => 'a.b.corp.example', ipAddress => undef,
	    credentialName => $names),
	host_item(dnsHostName => 'corp.example', ipAddress => '192.0.2.5',
	    credentialName => $names, sshPort => 2222),
	host_item(dnsHostName => 'db.other.example', ipAddress => undef,
	    credentialName => $names),
);
my $jobs0 = psql('SELECT count(*) FROM host_scan_job');
my $a0 = audit_count();
my $r = api(POST => '/api/v1/HostScanJob', token => $app, json => \@items);
is($r->{status}, 400, 'POST with hosts outside their credential\'s scope: 400');
is_deeply($r->{json}{errors}, { '[1].credentialName' => [$REFUSED],
    '[2].credentialId' => [$REFUSED], '[4].credentialName' => [$REFUSED] },
    '... on each refused item\'s credential key, and only there');
is(psql('SELECT count(*) FROM host_scan_job'), $jobs0, '... nothing queued');
my $trace = $r->{headers}{'x-trace-id'} // 'none';
is(audit_count() - $a0, 3, 'three rows in the audit trail');
my $rows = $J->decode(psql("SELECT coalesce(json_agg(a ORDER BY a.id), '[]')"
    . " FROM (SELECT id, event, credential_name, dns_host_name, address,"
    . " port, submitted_by, actor, outcome, detail, job_id FROM"
    . " credential_audit WHERE detail LIKE " . q_("%(trace $trace)") . ") a"));
is_deeply([map { [@$_{qw(event credential_name dns_host_name address port
    submitted_by actor outcome job_id)}] } @$rows],
    [['refused', $net, 'www.example.test', '198.51.100.1', 22,
    "t83-app-$run", 'hostscan.fcgi', 'out_of_scope', undef],
    ['refused', $net, undef, '2001:db9::1', 22, "t83-app-$run",
    'hostscan.fcgi', 'out_of_scope', undef],
    ['refused', $names, 'corp.example', '192.0.2.5', 2222, "t83-app-$run",
    'hostscan.fcgi', 'out_of_scope', undef]],
    'each refusal is in the audit trail, with the token\'s subject');
like($rows->[0]{detail} // '', qr{^POST /api/v1/HostScanJob refused: outside the credential's scope \(trace \Q$trace\E\)$},
    '... and the request\'s trace id');

$r = api(POST => '/api/v1/HostScanJob', token => $app,
    json => [@items[0, 3, 5]]);
is($r->{status}, 200, 'the hosts inside their scopes: 200') or diag $r->{content};
psql("UPDATE host_scan_host SET state = 4 WHERE job_id = "
    . q_($r->{json}{id} // $ZERO));

$a0 = audit_count();
$r = api(POST => '/api/v1/HostScanJob/ValidateImportedCSV', token => $app,
    json => \@items);
is($r->{status}, 200, 'ValidateImportedCSV: 200');
is_deeply([map { $_->{credentialNameError} } @{$r->{json} // []}],
    [undef, "credentialName $REFUSED.", "credentialId $REFUSED.", undef,
    "credentialName $REFUSED.", undef],
    '... credentialNameError for exactly the refused items');
is(audit_count(), $a0, '... a dry run: nothing in the audit trail');

psql("UPDATE credential SET scope = '10.1.2.3/8' WHERE name = " . q_($names));
$r = api(POST => '/api/v1/HostScanJob', token => $app, json => [$items[3]]);
is_deeply($r->{json}{errors}, { '[0].credentialName' => ["has a scope that "
    . "cannot be read, so it allows no host (hostscanctl credential scope "
    . "sets it)"] }, 'a scope that does not parse allows nothing');
ctl(['credential', 'scope', $names, '*.corp.example,db.other.example']);

# Re-scans: the stored credential's scope, on the key credentialId.
my ($h_out, $h_in) = map { psql('SELECT gen_random_uuid()') } 1, 2;
psql("INSERT INTO host (id, dns_host_name, ip_address, ssh_port,"
    . " credential_id) VALUES ('$h_out', NULL, '198.51.100.7', 22,"
    . " '$net_id'), ('$h_in', NULL, '192.0.2.9', 22, '$net_id')");
$a0 = audit_count();
$r = api(POST => "/api/v1/HostScanJob/ByHostId/$h_out", token => $app);
is($r->{status}, 400, 'ByHostId of a host outside its credential\'s scope: 400');
is_deeply($r->{json}{errors}, { credentialId => [$REFUSED] },
    '... on credentialId');
$r = api(POST => "/api/v1/HostScanJob/ByHostId/$h_in", token => $app);
is($r->{status}, 200, 'ByHostId of a host inside: 200');
psql("UPDATE host_scan_host SET state = 4 WHERE host_id = '$h_in'");
my $n_in = psql("SELECT count(*) FROM host_scan_host WHERE host_id = '$h_in'");
$r = api(POST => '/api/v1/HostScanJob/ByHostIdMultiple', token => $app,
    json => [$h_in, $h_out]);
is($r->{status}, 400, 'ByHostIdMultiple with one host outside: 400');
is_deeply($r->{json}{errors}, { '[1].credentialId' => [$REFUSED] },
    '... on [1].credentialId');
is(psql("SELECT count(*) FROM host_scan_host WHERE host_id = '$h_in'"), $n_in,
    '... and the host inside was not queued either');
is(psql("SELECT count(*) FROM credential_audit WHERE event = 'refused'"
    . " AND address = '198.51.100.7' AND actor = 'hostscan.fcgi'"
    . " AND credential_name = " . q_($net)), 2,
    'both re-scan refusals are in the audit trail');

# ---- PUT .../Trust: Admin only ------------------------------------------

{
	my ($host, $job, $scan) = map { psql('SELECT gen_random_uuid()') } 1 .. 3;
	my $fp = 'SHA256:t83' . ('y' x 40);
	psql("INSERT INTO host (id, ip_address, ssh_port, credential_id)"
	    . " VALUES ('$host', '192.0.2.10', 22, '$net_id');"
	    . " INSERT INTO host_scan_job (id, created_by) VALUES ('$job', 't83');"
	    . " INSERT INTO host_scan_host (id, job_id, ord, ip_address,"
	    . " credential_id, ssh_port, state, host_id, discovered_key_type,"
	    . " discovered_key, discovered_fingerprint) VALUES ('$scan', '$job',"
	    . " 0, '192.0.2.10', '$net_id', 22, 3, '$host', 'ssh-ed25519',"
	    . " 'AAAAt83', '$fp')");
	$r = api(PUT => "/api/v1/HostScanJob/Host/$scan/Trust", token => $app);
	is($r->{status}, 403, 'PUT Trust with an App token: 403');
	is($r->{json}{detail}, 'only the Admin role may trust a host key',
	    '... saying only Admin may');
	is(psql("SELECT trusted_fingerprint IS NULL FROM host WHERE id = '$host'"),
	    't', '... nothing trusted');
	$r = api(PUT => "/api/v1/HostScanJob/Host/$scan/Trust", token => $admin);
	is($r->{status}, 200, 'with an Admin token: 200');
	is(psql("SELECT trusted_fingerprint FROM host WHERE id = '$host'"), $fp,
	    '... the key is trusted');
}

# ---- the scheduler: the address actually connected to ------------------

my $pw = HS::note_secret("t83-pw-$run-Kx2%");
my $L = SSHD->new(dir => $dir, addr => '127.0.0.1', password => $pw)->start;
my $byname = "t83-byname-$run";
my $byaddr = "t83-byaddr-$run";
my $later = "t83-later-$run";
credential(name => $byname, username => 'hsscan', secret => $pw,
    scope => 'localhost');
credential(name => $byaddr, username => 'hsscan', secret => $pw,
    scope => '127.0.0.71');
credential(name => $later, username => 'hsscan', secret => $pw,
    scope => 'localhost');

my $d = start_hostscand(workers => 4, step => 5);
$L->clear_log;
my $job = submit_job(
	host_item(dnsHostName => 'localhost', ipAddress => undef,
	    sshPort => $L->port, credentialName => $byname,
	    acceptThumbprintOnFirstDiscovery => $T),
	host_item(dnsHostName => 'localhost', ipAddress => '127.0.0.71',
	    sshPort => $L->port, credentialName => $byaddr,
	    acceptThumbprintOnFirstDiscovery => $T,
	    sshTrustActionType => 'AlwaysTrustIgnoreThumbprint'));
ok(wait_job($job, 60), 'scope job finished');
my $h = job_hosts($job);
is($h->[0]{state}, 2, 'a name entry admits what the name resolves to: Complete')
    or diag explain scan_log_of($h->[0]{id});
is_deeply([$h->[1]{state}, $h->[1]{failure_reason}], [3, 5],
    'the API admitted ipAddress 127.0.0.71, but localhost resolves '
    . 'elsewhere: Failed, AccessDenied');
like($h->[1]{status_description}, qr/^credential not allowed for this address: (?:127\.0\.0\.1|::1) is outside the scope of credential \Q$byaddr\E$/,
    '... "credential not allowed for this address"');
my @conns = SSHD::slurp($L->log_path) =~ /Connection from/g;
is(scalar @conns, 1, 'the target saw one connection: the one in scope');
my $a = $J->decode(psql("SELECT json_agg(a ORDER BY a.id) FROM (SELECT"
    . " id, host_scan_host_id AS scan, event, outcome, address, port,"
    . " host_key_fingerprint AS fp, submitted_by, job_id FROM"
    . " credential_audit WHERE job_id = '$job') a"));
my %per;
push @{$per{$_->{scan}}}, $_ for @$a;
is_deeply([map { [@$_{qw(event outcome address port fp submitted_by)}] }
    @{$per{$h->[0]{id}}}],
    [['use', undef, '127.0.0.1', $L->port, $L->fingerprint, 'scan-tests'],
    ['outcome', 'success', '127.0.0.1', $L->port, $L->fingerprint,
    'scan-tests']], 'audit: the use in scope, then its success');
is(scalar @{$per{$h->[1]{id}}}, 1, 'audit: one row for the refusal');
is_deeply([@{$per{$h->[1]{id}}[0]}{qw(event outcome fp)}],
    ['refused', 'out_of_scope', undef], '... refused, out of scope, no key seen');
like($per{$h->[1]{id}}[0]{address}, qr/^(?:127\.0\.0\.1|::1)$/,
    '... naming the address refused');
is(stop_hostscand($d), 0, 'hostscand stopped');

# The scope narrows between the POST and the scan.
$job = submit_job(host_item(dnsHostName => 'localhost', ipAddress => undef,
    sshPort => $L->port, credentialName => $later,
    acceptThumbprintOnFirstDiscovery => $T));
my ($rc) = ctl(['credential', 'scope', $later, '127.0.0.99']);
is($rc, 0, 'scope narrowed after the POST');
$L->clear_log;
$d = start_hostscand(workers => 4, step => 5);
ok(wait_job($job, 60), 'job finished');
$h = job_hosts($job);
is_deeply([$h->[0]{state}, $h->[0]{failure_reason}], [3, 5],
    'checked again when the scan runs: Failed, AccessDenied');
like($h->[0]{status_description}, qr/^credential not allowed for this address/,
    '... credential not allowed for this address');
unlike(SSHD::slurp($L->log_path), qr/Connection from/,
    '... without connecting');
is(stop_hostscand($d), 0, 'hostscand stopped');

# ---- hostscanctl audit ------------------------------------------------

{
	my ($rc, $out, $err) = ctl(['audit', '--credential', $byaddr]);
	is($rc, 0, 'audit --credential NAME') or diag $err;
	like($out, qr/\ATIME\s+EVENT\s+CREDENTIAL\s+ADDRESS\s+HOST KEY\s+OUTCOME\s+SUBMITTED BY\s+JOB\s+HOST SCAN\n/,
	    '... a table under a header');
	my @lines = split /\n/, $out;
	is(scalar @lines, 2, '... one line: the refusal');
	like($lines[1], qr/^\d{4}-\d\d-\d\dT\S+Z\s+refused\s+\Q$byaddr\E\s+(?:127\.0\.0\.1|\[::1\]):\d+\s+-\s+out_of_scope\s+scan-tests\s+[0-9a-f-]{36}\s+[0-9a-f-]{36}$/,
	    '... time, event, credential, address, no key, outcome, '
	    . 'submitter, job and host scan');
	($rc, $out) = ctl(['audit', '--credential', $byname, '--json']);
	my $list = $J->decode($out);
	is(scalar @$list, 1, 'audit --json: the use (with its outcome) is one entry');
	is_deeply([@{$list->[0]}{qw(event credentialName address
	    hostKeyFingerprint method outcome submittedBy)}],
	    ['use', $byname, '127.0.0.1:' . $L->port, $L->fingerprint,
	    'password', 'success', 'scan-tests'],
	    '... with address:port, key, method, outcome and submitter');
	like($list->[0]{outcomeAt}, qr/Z$/, '... and when the outcome came');
	($rc, $out) = ctl(['audit', '--credential', $net, '--json']);
	is(scalar @{$J->decode($out)}, 4,
	    'the API\'s refusals are there too (2 POSTed hosts, 2 re-scans)');
	($rc, $out, $err) = ctl(['audit', '--credential', $net, '--limit', '2']);
	is(scalar(split /\n/, $out), 3, '--limit 2: two entries');
	like($err, qr/showing the newest 2 entries/, '... and a note on stderr');
	($rc, $out) = ctl(['audit', '--credential', $net, '--since', '1h',
	    '--json']);
	is(scalar @{$J->decode($out)}, 4, '--since 1h: all of them');
	($rc, $out) = ctl(['audit', '--credential', $net, '--since',
	    '2999-01-01', '--json']);
	is_deeply($J->decode($out), [], '--since a future date: none');
	($rc, $out, $err) = ctl(['audit', '--since', 'yesterday-ish']);
	is($rc, 2, 'a --since that is no time: usage error');
}

# ---- the audit trail is append-only ----------------------------------

sub as_role {
	my ($role, $sql) = @_;
	my ($rc, $out, $err) = run_cmd(['psql', '-XAtq', '-v', 'ON_ERROR_STOP=1',
	    '-c', "BEGIN; SET ROLE $role; $sql; ROLLBACK"]);
	return ($rc, $err);
}

for my $role (qw(hostscan_api hostscan_sched)) {
	my ($rc, $err) = as_role($role, "INSERT INTO credential_audit (use_id,"
	    . " event, credential_id, credential_name, credential_kind, actor,"
	    . " outcome) VALUES (gen_random_uuid(), 'refused', '$ZERO', 'x',"
	    . " 'password', 't83', 'out_of_scope')");
	is($rc, 0, "$role may insert an audit row") or diag $err;
	for my $sql ('UPDATE credential_audit SET outcome = outcome',
	    'DELETE FROM credential_audit', 'TRUNCATE credential_audit') {
		($rc, $err) = as_role($role, $sql);
		isnt($rc, 0, "$role: $sql fails");
		like($err, qr/permission denied/, '... permission denied');
	}
}
my $n = audit_count();
for my $sql ('UPDATE credential_audit SET outcome = outcome',
    'DELETE FROM credential_audit') {
	my ($rc, $out, $err) = run_cmd(['psql', '-XAtq', '-v', 'ON_ERROR_STOP=1',
	    '-c', $sql]);
	isnt($rc, 0, "the owner too: $sql fails");
	like($err, qr/credential_audit is append-only/, '... the table is append-only');
}
is(audit_count(), $n, 'every row is still there');

$L->stop;
done_testing();
