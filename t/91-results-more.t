#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# The rest of the product's routes: a host's services, scheduled tasks and
# software, users by SID (and the SIDs in user and group bodies), scan a
# host now (POST /HostScanJob/{managedResourceId}) and OuMapping.  First
# on rows seeded as the scheduler writes them, with no scheduler running
# (every refusal, paging, what is queued); then end to end: hostscand
# scans a real sshd target whose unit files, cron scripts and packages are
# known, and the routes give back what it found.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use JSON::PP ();
use Test::More;

use HS qw(:DEFAULT scaled scratch_dir seed_inventory seed_scan sql_quote);
use SSHD;

SSHD::need_targets();

my $UUID = qr/\A[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\z/;
my $NOPE = '00000000-0000-4000-8000-000000000091';
my $ZERO = '00000000-0000-0000-0000-000000000000';
my $run = "$$-" . time;
my $tok = token(roles => 'Admin', sub => 't91');
my $app = token(roles => 'App', sub => 't91-app');
my $usr = token(roles => 'User', sub => 't91-user');
my $J = JSON::PP->new->utf8->canonical;

my $cred = credential(name => "t91-cred-$run");
my $narrow = credential(name => "t91-narrow-$run",
    scope => '*.t91-in.example.test');
my $linux = psql(q{SELECT id FROM platform WHERE name = 'Linux'});
my $seed = seed_scan(tag => 't91', octet => 91, credential => $cred,
    orphan => 1, users => [{ name => 'alice', display_name => 'Alice',
	uid => 1000, gid => 1000, home => '/home/alice', shell => '/bin/sh',
	privilege => 'LinuxUser' }, { name => 'huge', uid => 4294967296,
	gid => 4294967296, privilege => 'LinuxUser' }]);
# A second host with its own uid 1000, and one whose credential's scope
# does not admit it.
my $seed2 = seed_scan(tag => 't91b', octet => 93, credential => $cred,
    users => [{ name => 'alice2', uid => 1000, gid => 1000,
	privilege => 'LinuxUser' }]);
my $out = seed_scan(tag => 't91c', octet => 98, credential => $narrow);
my $inv = seed_inventory($seed, services => 5, tasks => 3, software => 4);
my ($host, $host2, $scan, $nokey, $nohost) =
    @$seed{qw(host host2 scan nokey nohost)};
my $r;

sub jobs { return psql('SELECT count(*) FROM host_scan_job') }

# Every page of a list from its first URL (below /api/v1), following Link.
sub walk {
	my ($first, $token) = @_;
	my ($next, @items, $pages) = ("/api/v1$first");
	while (defined $next && ++$pages <= 1000) {
		my $p = api(GET => $next, token => $token // $tok);
		return (undef, "GET $next: $p->{status}") if $p->{status} != 200;
		push @items, @{$p->{json} // []};
		my $link = $p->{headers}{link} // '';
		$next = $link =~ m{<(?:https?://[^/]+)?(/api/v1/[^>]+)>;\s*rel="next"}
		    ? $1 : undef;
	}
	return (\@items, $pages);
}

sub problem_ok {
	my ($res, $status, $what) = @_;
	is($res->{status}, $status, "$what: $status") or diag($res->{content});
	like($res->{headers}{'content-type'} // '', qr{\Aapplication/problem\+json},
	    "$what: a problem body");
	return $res->{json} // {};
}

# ---- who may call ----

my @routes = (['GET', "/HostScanJob/Host/$scan/Services"],
    ['GET', "/HostScanJob/Host/$scan/ScheduledTasks"],
    ['GET', "/HostScanJob/Host/$scan/Software"],
    ['GET', '/HostScanJob/User/SID/S-1-22-1-0'],
    ['POST', "/HostScanJob/$host"], ['POST', "/HostScanJob/OuMapping/$cred"]);
my $before = jobs();
for my $x (@routes) {
	my %body = $x->[0] eq 'POST' ? (json => ["a.t91-$run.example.test"]) : ();
	problem_ok(api($x->[0], "/api/v1$x->[1]", %body), 401,
	    "$x->[0] $x->[1] without a token");
	problem_ok(api($x->[0], "/api/v1$x->[1]", token => $usr, %body), 403,
	    "$x->[0] $x->[1] with a User token");
}
is(jobs(), $before, 'the refused POSTs queued nothing');
for my $x (grep { $_->[0] eq 'GET' } @routes) {
	is(api(GET => "/api/v1$x->[1]", token => $app)->{status}, 200,
	    "GET $x->[1] with an App token: 200");
	$r = api(HEAD => "/api/v1$x->[1]", token => $tok);
	is($r->{status}, 200, "HEAD $x->[1]: 200");
	is($r->{content}, '', "HEAD $x->[1]: no body");
}

# ---- services, scheduled tasks, software ----

my %want = (
	Services => [map { {
	    id => $inv->{services}[$_], name => "svc$_.service",
	    displayName => undef, description => $_ % 2 ? undef : "Service $_",
	    startType => (qw(Automatic Manual Disabled))[$_ % 3],
	    userName => $_ % 2 ? "svc$_" : 'root',
	    binaryPathName => "/usr/sbin/svc$_ -f", hostScanHostId => $scan,
	    hostId => $host } } 0 .. 4],
	ScheduledTasks => [map { {
	    id => $inv->{tasks}[$_], name => "/usr/local/bin/job$_",
	    taskPath => $_ % 2 ? "/lib/systemd/system/job$_.timer" :
		'/etc/crontab',
	    userName => 'root',
	    description => $_ % 2 ? 'OnCalendar=daily' : "$_ 3 * * *",
	    source => $_ % 2 ? 'systemd-timer' : 'cron',
	    nextRunTimeUtc => $_ % 2 ? '2030-01-02T03:04:05Z' : undef,
	    lastRunTimeUtc => $_ % 2 ? '2026-01-02T03:04:05Z' : undef,
	    hostScanHostId => $scan, hostId => $host } } 0 .. 2],
	Software => [map { {
	    id => $inv->{software}[$_], name => "pkg$_",
	    version => $_ % 2 ? undef : "1.$_-1",
	    description => $_ % 2 ? undef : "Package $_",
	    hostScanHostId => $scan, hostId => $host } } 0 .. 3],
);
for my $sec (sort keys %want) {
	my $base = "/api/v1/HostScanJob/Host/$scan/$sec";
	$r = api(GET => $base, token => $tok);
	is($r->{status}, 200, "GET $sec: 200");
	my @got = @{$r->{json} // []};
	# hs_ts writes microseconds; the seconds are what was stored.
	for my $g (@got) {
		for my $k (grep { defined $g->{$_} } qw(nextRunTimeUtc
		    lastRunTimeUtc)) {
			$g->{$k} =~ s/\.0+Z\z/Z/;
		}
	}
	is_deeply([sort { $a->{id} cmp $b->{id} } @got],
	    [sort { $a->{id} cmp $b->{id} } @{$want{$sec}}],
	    "GET $sec: every row of the host, every field as stored");
	is_deeply([map { $_->{id} } @got], [sort map { $_->{id} } @got],
	    "GET $sec: in id order");
	ok(!defined $r->{headers}{link}, "GET $sec: one page, no Link");
	# Another scan of the same host record answers the same rows.
	$r = api(GET => "/api/v1/HostScanJob/Host/$nokey/$sec", token => $tok);
	is_deeply([map { $_->{id} } @{$r->{json} // []}],
	    [map { $_->{id} } @got], "GET $sec of another scan of the host: "
	    . 'the host record\'s rows');
	# Paging two at a time reaches every row once.
	my ($items, $pages) = walk("/HostScanJob/Host/$scan/$sec?limit=2");
	is_deeply([map { $_->{id} } @{$items // []}], [map { $_->{id} } @got],
	    "$sec two at a time: every row once, in order");
	is($pages, int((@got + 1) / 2), "$sec two at a time: "
	    . int((@got + 1) / 2) . ' pages');
	$r = api(GET => "$base?limit=2", token => $tok);
	my ($after) = ($r->{headers}{link} // '') =~ /[?&]after=([0-9a-f-]{36})/;
	is($after, $got[1]{id}, "$sec: the Link's after is the page's last id");
	like($r->{headers}{link} // '', qr{\A</api/v1/HostScanJob/Host/\Q$scan\E/\Q$sec\E\?limit=2&after=},
	    "$sec: the Link names the same list");
	$r = api(HEAD => "$base?limit=2", token => $tok);
	like($r->{headers}{link} // '', qr/rel="next"/, "HEAD $sec: the Link");
	$r = api(GET => "/api/v1/HostScanJob/Host/" . uc($scan) . "/"
	    . lc($sec), token => $tok);
	is(scalar @{$r->{json} // []}, scalar @got,
	    "GET $sec with the id in upper case and the route in lower case");
	# Refusals.
	problem_ok(api(GET => "/api/v1/HostScanJob/Host/$NOPE/$sec",
	    token => $tok), 404, "GET $sec of an unknown scan");
	problem_ok(api(GET => "/api/v1/HostScanJob/Host/$nohost/$sec",
	    token => $tok), 404, "GET $sec of a scan that reached no host");
	problem_ok(api(GET => "/api/v1/HostScanJob/Host/$NOPE/$sec?after="
	    . $got[0]{id}, token => $tok), 404,
	    "GET $sec of an unknown scan with a cursor");
	my $b = problem_ok(api(GET => "$base?limit=0", token => $tok), 400,
	    "GET $sec?limit=0");
	ok(($b->{errors} // {})->{limit}, "GET $sec?limit=0: on limit");
	$b = problem_ok(api(GET => "$base?after=zzz", token => $tok), 400,
	    "GET $sec?after=zzz");
	ok(($b->{errors} // {})->{after}, "GET $sec?after=zzz: on after");
	problem_ok(api(GET => "/api/v1/HostScanJob/Host/not-a-uuid/$sec",
	    token => $tok), 404, "GET $sec of a malformed id");
	$r = api(POST => $base, token => $tok, json => []);
	is($r->{status}, 405, "POST $sec: 405");
	is($r->{headers}{allow}, 'GET, HEAD', "POST $sec: Allow: GET, HEAD");
}

# ---- SIDs ----

my %u = %{$seed->{users}};
for my $x (['root', 'S-1-22-1-0'], ['alice', 'S-1-22-1-1000'],
    ['huge', undef]) {
	$r = api(GET => "/api/v1/HostScanJob/User/$u{$x->[0]}", token => $tok);
	is(($r->{json} // {})->{sid}, $x->[1], "user $x->[0]: sid "
	    . ($x->[1] // 'null (uid beyond 32 bits)'));
}
$r = api(GET => "/api/v1/HostScanJob/Group/$seed->{group}", token => $tok);
is(($r->{json} // {})->{sid}, 'S-1-22-2-27', 'group sudo: sid S-1-22-2-27');
$r = api(GET => '/api/v1/HostScanJob/User?limit=1000', token => $tok);
ok(!grep({ defined $_->{unixId} && $_->{unixId} >= 0 &&
    $_->{unixId} < 2**32 && ($_->{sid} // '') ne "S-1-22-1-$_->{unixId}" }
    @{$r->{json} // []}), 'the user list: every sid is S-1-22-1-<unixId>');

my $alice2 = $seed2->{users}{alice2};
my ($items) = walk('/HostScanJob/User/SID/S-1-22-1-1000?limit=1');
my %by = map { $_->{id} => $_ } @{$items // []};
ok($by{$u{alice}} && $by{$alice2},
    'SID S-1-22-1-1000, one a page: the uid-1000 users of both hosts');
is(scalar(keys %by), scalar @{$items // []}, '... each once');
ok(!grep({ $_->{unixId} != 1000 || $_->{sid} ne 'S-1-22-1-1000' }
    @{$items // []}), '... and only users with uid 1000');
$r = api(GET => '/api/v1/HostScanJob/User/SID/S-1-22-1-1000?limit=1',
    token => $tok);
like($r->{headers}{link} // '', qr{\A</api/v1/HostScanJob/User/SID/S-1-22-1-1000
    \?limit=1&after=[0-9a-f-]{36}>;\ rel="next"\z}x,
    'the Link stays on the SID');
for my $sid ('s-1-22-1-1000', 'S-1-22-1-0001000') {
	my ($also) = walk("/HostScanJob/User/SID/$sid");
	is_deeply([sort map { $_->{id} } @{$also // []}], [sort keys %by],
	    "SID $sid is S-1-22-1-1000");
}
for my $sid ('S-1-22-2-1000', 'S-1-5-21-3623811015-3361044348-30300820-1013',
    'S-1-5-18', 'S-1-22-1', 'S-1-22-1-1000-1') {
	$r = api(GET => "/api/v1/HostScanJob/User/SID/$sid", token => $tok);
	is($r->{status}, 200, "SID $sid: 200");
	is_deeply($r->{json}, [], "SID $sid: no scanned user has it");
}
for my $sid ('root', '1000', 'S-1-22-1-4294967296', 'S-2-22-1-1000',
    'S-1-22-1-1000-', 'S-1-22-1-0x3e8', '1' x 300) {
	my $b = problem_ok(api(GET => "/api/v1/HostScanJob/User/SID/$sid",
	    token => $tok), 400, 'SID ' . substr($sid, 0, 24));
	ok(($b->{errors} // {})->{sid}, '... on sid');
}
problem_ok(api(GET => '/api/v1/HostScanJob/User/SID/S-1-5-18?limit=0',
    token => $tok), 400, 'a SID of no user with limit=0');

# ---- POST /HostScanJob/{managedResourceId} ----

$r = api(POST => "/api/v1/HostScanJob/$host", token => $tok);
is($r->{status}, 200, 'scan a host now: 200') or diag($r->{content});
my $st = $r->{json} // {};
like($st->{id} // '', $UUID, 'a new job');
is($st->{status}, 'Queued', 'Queued');
is(scalar @{$st->{hostScanHostStatus} // []}, 1, 'one host');
is($st->{hostScanHostStatus}[0]{hostId}, $host, 'the host record');
my $now = $st->{id} // $NOPE;
is(psql('SELECT credential_id || \' \' || platform_id || \' \' || ssh_port'
    . " || ' ' || ip_address || ' ' || dns_host_name || ' ' || source"
    . " || ' ' || accept_first || ' ' || host_id FROM host_scan_host"
    . " WHERE job_id = '$now'"), "$cred $linux $seed->{port} $seed->{ip} "
    . "$seed->{dns} ManagedResource false $host",
    'the stored credential, platform, port and address; source ManagedResource');
$r = api(GET => "/api/v1/HostScanJob/ByHostId/$host", token => $tok);
is(($r->{json} // {})->{id}, $now, 'GET ByHostId: the scan-now job is the latest');
$r = api(POST => "/api/v1/HostScanJob/" . uc($host) . '/', token => $app);
is($r->{status}, 200, 'scan now: the id in upper case, a trailing slash, '
    . 'an App token');
my $now2 = ($r->{json} // {})->{id} // $NOPE;

my $key = "t91-now-$run";
$r = api(POST => "/api/v1/HostScanJob/$host", token => $tok,
    headers => {'Idempotency-Key' => $key});
is($r->{status}, 200, 'scan now with an Idempotency-Key');
my $keyed = ($r->{json} // {})->{id} // $NOPE;
$before = jobs();
$r = api(POST => "/api/v1/HostScanJob/$host", token => $tok,
    headers => {'Idempotency-Key' => $key});
is($r->{status}, 200, 'the same key again: 200');
is(($r->{json} // {})->{id}, $keyed, '... the same job');
is($r->{headers}{'idempotent-replayed'}, 'true', '... Idempotent-Replayed');
problem_ok(api(POST => "/api/v1/HostScanJob/ByHostId/$host", token => $tok,
    headers => {'Idempotency-Key' => $key}), 422,
    'the same key on POST ByHostId (another route)');
is(jobs(), $before, 'a replay queues nothing');

$before = jobs();
my $b = problem_ok(api(POST => "/api/v1/HostScanJob/$NOPE", token => $tok),
    400, 'scan now of an id that is no host record');
is_deeply($b->{errors}, {managedResourceId => ['no host has this id']},
    '... on managedResourceId');
problem_ok(api(POST => "/api/v1/HostScanJob/$host2", token => $tok), 409,
    'scan now of a host record without a credential');
my $audits = psql('SELECT count(*) FROM credential_audit WHERE credential_id'
    . " = '$narrow' AND outcome = 'out_of_scope'");
$b = problem_ok(api(POST => "/api/v1/HostScanJob/$out->{host}",
    token => $tok), 400, 'scan now of a host outside its credential\'s scope');
ok(($b->{errors} // {})->{credentialId}, '... on credentialId');
is(psql('SELECT count(*) FROM credential_audit WHERE credential_id'
    . " = '$narrow' AND outcome = 'out_of_scope' AND dns_host_name = "
    . sql_quote($out->{dns})), $audits + 1,
    '... and the refusal is in the credential audit trail');
is(jobs(), $before, 'refused scans queue nothing');
$r = api(POST => '/api/v1/HostScanJob/Host', token => $tok);
is($r->{status}, 405, 'POST /HostScanJob/Host: a literal, not an id: 405');

# ---- OuMapping ----

my $ou = "/api/v1/HostScanJob/OuMapping";
my @names = ("ou1.t91-$run.example.test", "OU2.t91-$run.Example.Test.");
$r = api(POST => "$ou/$cred", token => $tok, json => \@names);
is($r->{status}, 200, 'OuMapping: 200') or diag($r->{content});
$st = $r->{json} // {};
is($st->{status}, 'Queued', 'OuMapping: the job is Queued');
is_deeply([map { $_->{dnsHostName} } @{$st->{hostScanHostStatus} // []}],
    [$names[0], "OU2.t91-$run.Example.Test"],
    'OuMapping: one host per name, in order, the trailing dot dropped');
my $oujob = $st->{id} // $NOPE;
is(psql("SELECT string_agg(concat_ws(' ', credential_id, platform_id,"
    . " ssh_port, accept_first::text, coalesce(trust_action::text, 'null'),"
    . " coalesce(certificate_type::text, 'null'),"
    . " coalesce(trusted_thumbprint, 'null'), coalesce(ip_address, 'null'),"
    . " source, coalesce(host_id::text, 'null')), '|' ORDER BY ord)"
    . " FROM host_scan_host WHERE job_id = '$oujob'"),
    join('|', ("$cred $linux 22 false null null null null OuMapping null")
    x 2), 'OuMapping: the credential, Linux, port 22, no first-use trust, '
    . 'no thumbprint, source OuMapping');
$r = api(GET => "/api/v1/HostScanJob/$oujob", token => $tok);
is(($r->{json} // {})->{createdBy}, 't91', 'OuMapping: the job records who asked');
$r = api(POST => "$ou/" . uc($cred), token => $app, json => [$names[0]]);
is($r->{status}, 200, 'OuMapping with an App token, the id in upper case');
my $oujob2 = ($r->{json} // {})->{id} // $NOPE;

$before = jobs();
$b = problem_ok(api(POST => "$ou/$cred", token => $tok,
    json => ['-bad-', 5, undef, '', "ok.t91-$run.example.test",
	'a' x 254]), 400, 'OuMapping with bad names');
is_deeply([sort keys %{$b->{errors} // {}}], ['[0]', '[1]', '[2]', '[3]',
    '[5]'], '... each bad name on [i], the good one not');
is_deeply([map { $b->{errors}{"[$_]"} } 1 .. 3],
    [map { ['must be a DNS host name (a non-empty string)'] } 1 .. 3],
    '... what is no name is said so once');
$r = api(POST => '/api/v1/HostScanJob', token => $tok,
    json => [host_item(dnsHostName => '-bad-', ipAddress => undef,
    credentialId => $cred)]);
is_deeply($b->{errors}{'[0]'}, ($r->{json}{errors} // {})->{'[0].dnsHostName'},
    '... a bad name gets what POST says of that dnsHostName');
$b = problem_ok(api(POST => "$ou/$NOPE", token => $tok, json => \@names),
    400, 'OuMapping with an unknown credential');
is_deeply($b->{errors}, {credentialId => ['no credential has this id']},
    '... once, on credentialId');
$b = problem_ok(api(POST => "$ou/$ZERO", token => $tok, json => \@names),
    400, 'OuMapping with the all-zero credential id');
is_deeply([keys %{$b->{errors} // {}}], ['credentialId'],
    '... on credentialId');
$audits = psql('SELECT count(*) FROM credential_audit WHERE credential_id'
    . " = '$narrow' AND outcome = 'out_of_scope'");
$b = problem_ok(api(POST => "$ou/$narrow", token => $tok,
    json => ["a.t91-in.example.test", "b.t91-out-$run.example.test"]), 400,
    'OuMapping with a name outside the credential\'s scope');
is_deeply($b->{errors}, {'[1]' => ["is not in the credential's scope"]},
    '... on that name only');
is(psql('SELECT count(*) FROM credential_audit WHERE credential_id'
    . " = '$narrow' AND outcome = 'out_of_scope' AND dns_host_name = "
    . sql_quote("b.t91-out-$run.example.test")), 1,
    '... and the refusal is in the credential audit trail');
is($audits + 1, psql('SELECT count(*) FROM credential_audit WHERE '
    . "credential_id = '$narrow' AND outcome = 'out_of_scope'"),
    '... one refusal, not the name in scope');
for my $x ([{}, 'an object'], [[], 'an empty array'], ['name', 'a string'],
    [[("x.t91-$run.example.test") x 10001], '10 001 names']) {
	$b = problem_ok(api(POST => "$ou/$cred", token => $tok,
	    json => $x->[0]), 400, "OuMapping with $x->[1]");
	is_deeply([keys %{$b->{errors} // {}}], ['$'], '... on $');
}
problem_ok(api(POST => "$ou/$cred", token => $tok, body => '["a.example',
    headers => {'Content-Type' => 'application/json'}), 400,
    'OuMapping with broken JSON');
problem_ok(api(POST => "$ou/$cred", token => $tok, body => '["a.example"]',
    headers => {'Content-Type' => 'text/plain'}), 415,
    'OuMapping as text/plain');
is(jobs(), $before, 'refused OuMappings queue nothing');

$key = "t91-ou-$run";
$r = api(POST => "$ou/$cred", token => $tok, json => [$names[0]],
    headers => {'Idempotency-Key' => $key});
my $oukeyed = ($r->{json} // {})->{id} // $NOPE;
$r = api(POST => "$ou/$cred", token => $tok, json => [$names[0]],
    headers => {'Idempotency-Key' => $key});
is(($r->{json} // {})->{id}, $oukeyed, 'OuMapping with the same key: the same job');
problem_ok(api(POST => "$ou/$cred", token => $tok, json => [$names[1]],
    headers => {'Idempotency-Key' => $key}), 422,
    'OuMapping: the same key with other names');

for my $j ($now, $now2, $keyed, $oujob, $oujob2, $oukeyed) {
	is(api(DELETE => "/api/v1/HostScanJob/$j", token => $tok)->{status},
	    202, "clean up: job $j cancelled");
}

# ---- end to end: a real target, scanned ----

my $dir = scratch_dir();
my $units = "$dir/t91-units-$$";
my $cron = "$dir/t91-cron-$$";
mkdir $_, 0755 or die "$_: $!" for $units, $cron, "$units/multi-user.target.wants";
SSHD::spew("$units/t91-probe.service", "[Unit]\nDescription=T91 probe unit\n"
    . "[Service]\nUser=hsscan\nExecStart=/usr/bin/true --t91\n", 0644);
symlink('../t91-probe.service',
    "$units/multi-user.target.wants/t91-probe.service") or die "symlink: $!";
SSHD::spew("$cron/t91-probe", "#!/bin/sh\ntrue\n", 0755);
my $t = SSHD->new(dir => $dir, addr => '127.0.0.97',
    binds => { '/etc/systemd/system' => $units, '/etc/cron.daily' => $cron })
    ->start;
my $keycred = credential(name => "t91-key-$run", username => 'root',
    secret => $t->client_key, kind => 'private-key');
my $d = start_hostscand(workers => 4, step => 5, host_timeout => 30);
my $job = submit_job(host_item(dnsHostName => "t91-real-$run.invalid",
    ipAddress => $t->addr, sshPort => $t->port, credentialId => $keycred,
    acceptThumbprintOnFirstDiscovery => JSON::PP::true));
ok(wait_job($job, scaled(60)), 'the real scan finishes');
my $h = job_hosts($job)->[0] // {};
is($h->{state}, 2, 'the real scan: Complete') or diag explain scan_log_of($h->{id});
my ($rscan, $rhost) = ($h->{id} // $NOPE, $h->{host_id} // $NOPE);

# What the rows hold, in the API's field names, from the database.
sub rows {
	my ($sql) = @_;
	return $J->decode(psql("SELECT coalesce(json_agg(x ORDER BY x.id), "
	    . "'[]') FROM ($sql) x"));
}
my %db = (
	Services => rows('SELECT id, name, display_name AS "displayName",'
	    . ' description, start_type AS "startType", user_name AS "userName",'
	    . ' binary_path_name AS "binaryPathName", host_scan_host_id AS'
	    . ' "hostScanHostId", host_id AS "hostId" FROM host_service'
	    . " WHERE host_id = '$rhost'"),
	ScheduledTasks => rows('SELECT id, name, task_path AS "taskPath",'
	    . ' user_name AS "userName", description, source, hs_ts(next_run_at)'
	    . ' AS "nextRunTimeUtc", hs_ts(last_run_at) AS "lastRunTimeUtc",'
	    . ' host_scan_host_id AS "hostScanHostId", host_id AS "hostId"'
	    . " FROM host_scheduled_task WHERE host_id = '$rhost'"),
	Software => rows('SELECT id, name, version, description,'
	    . ' host_scan_host_id AS "hostScanHostId", host_id AS "hostId"'
	    . " FROM host_software WHERE host_id = '$rhost'"),
);
my %api;
for my $sec (sort keys %db) {
	my ($got, $pages) = walk("/HostScanJob/Host/$rscan/$sec?limit=200");
	$api{$sec} = $got // [];
	cmp_ok(scalar @{$db{$sec}}, '>', 0, "the real scan stored $sec");
	is_deeply($api{$sec}, $db{$sec},
	    "GET $sec of the real scan: exactly the stored rows ($pages pages)");
}
my ($probe) = grep { $_->{name} eq 't91-probe.service' } @{$api{Services}};
is_deeply({ map { $_ => ($probe // {})->{$_} } qw(description binaryPathName
    userName startType hostScanHostId) }, { description => 'T91 probe unit',
    binaryPathName => '/usr/bin/true --t91', userName => 'hsscan',
    startType => 'Automatic', hostScanHostId => $rscan },
    'the target\'s own unit file, as it is written, enabled');
my ($task) = grep { $_->{name} eq 't91-probe' } @{$api{ScheduledTasks}};
is_deeply({ map { $_ => ($task // {})->{$_} } qw(taskPath userName
    description source) }, { taskPath => '/etc/cron.daily/t91-probe',
    userName => 'root', description => 'cron.daily (run-parts)',
    source => 'cron' }, 'the target\'s cron.daily script');
my ($rc, $pkgs, $err) = HS::run_cmd(['dpkg-query', '-W', '-f',
    '${db:Status-Abbrev}\t${binary:Package}\t${Version}\n']);
is($rc, 0, 'dpkg-query on this machine (the target\'s packages)') or diag($err);
my %local = map { (split /\t/)[1, 2] } grep { /\A.i/ } split /\n/, $pkgs;
is_deeply({ map { $_->{name} => $_->{version} } @{$api{Software}} }, \%local,
    'GET Software: every installed package, with its version, as dpkg has it');
is(scalar @{$api{Software}}, scalar keys %local, '... each once');

# The target's users and groups carry their SIDs.
my $hsscan = psql("SELECT id FROM host_user WHERE host_id = '$rhost'"
    . " AND name = 'hsscan'");
my ($sidusers) = walk('/HostScanJob/User/SID/S-1-22-1-4242');
my ($mine) = grep { $_->{id} eq $hsscan } @{$sidusers // []};
is(($mine // {})->{hostId}, $rhost, 'SID S-1-22-1-4242 finds hsscan of the target');
is(($mine // {})->{sid}, 'S-1-22-1-4242', '... with that sid');
my $sudo = psql("SELECT id FROM host_group WHERE host_id = '$rhost'"
    . " AND name = 'sudo'");
$r = api(GET => "/api/v1/HostScanJob/Group/$sudo", token => $tok);
is(($r->{json} // {})->{sid}, 'S-1-22-2-27', 'the target\'s sudo group: S-1-22-2-27');

# Scan it now: the host record's rows are replaced, and any scan of the
# host answers the new ones.
$r = api(POST => "/api/v1/HostScanJob/$rhost", token => $tok);
is($r->{status}, 200, 'scan the real host now: 200');
my $job2 = ($r->{json} // {})->{id} // $NOPE;
ok(wait_job($job2, scaled(60)), 'the second scan finishes');
my $h2 = job_hosts($job2)->[0] // {};
is($h2->{state}, 2, 'the second scan: Complete (the pinned key, the stored key)')
    or diag explain scan_log_of($h2->{id});
is($h2->{host_id}, $rhost, '... of the same host record');
my ($again) = walk("/HostScanJob/Host/$rscan/Services?limit=200");
is_deeply([sort map { $_->{name} } @{$again // []}],
    [sort map { $_->{name} } @{$api{Services}}],
    'the first scan\'s id now answers the same services');
ok(!grep({ ($_->{hostScanHostId} // '') ne ($h2->{id} // '') } @{$again // []}),
    '... each found by the second scan');

is(stop_hostscand($d), 0, 'hostscand stops');
$t->stop;
done_testing();
