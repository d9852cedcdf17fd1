#!/usr/bin/perl
# SPDX-License-Identifier: ISC
# Phase-2 read routes over fixture rows written as the scheduler would:
# scanned host records with their scan log, users, groups, the Trust of a
# discovered key, and re-scans by host record id.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use HS;
use Test::More;

need_services();

my $UUID = qr/\A[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\z/;
my $RFC3339Z = qr/\A\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z\z/;
my $NOPE = '00000000-0000-4000-8000-000000000090';
my $run = "$$-" . time;
my $tok = token(roles => 'Admin', sub => 't90');
my $app = token(roles => 'App', sub => 't90-app');

my $cred = credential(name => "t90-cred-$run");
my $plat = psql(q{SELECT id FROM platform WHERE name = 'Linux'});
my $seed = HS::seed_scan(tag => 't90', octet => 90, credential => $cred,
    orphan => 1, users => [{ name => 'alice', display_name => 'Alice Example',
	uid => 1000, gid => 1000, home => '/home/alice', shell => '/bin/sh',
	privilege => 'LinuxUser' }],
    members => [['alice', 0], ['ghost', 0]]);
my ($host, $host2, $job, $scan, $nokey, $nohost, $grp, $dns, $fp) =
    @$seed{qw(host host2 job scan nokey nohost group dns fp)};
my ($u_root, $u_alice) = @{$seed->{users}}{qw(root alice)};

my $r;

# Auth: every new route wants a token.
for my $x (['GET', '/HostScanJob/Host'], ['GET', "/HostScanJob/Host/$scan"],
    ['PUT', "/HostScanJob/Host/$scan/Trust"], ['GET', '/HostScanJob/User'],
    ['GET', "/HostScanJob/User/$u_root"], ['GET', "/HostScanJob/Group/$grp"],
    ['GET', "/HostScanJob/ByHostId/$host"],
    ['POST', "/HostScanJob/ByHostId/$host"],
    ['POST', '/HostScanJob/ByHostIdMultiple']) {
	$r = api($x->[0], "/api/v1$x->[1]");
	is($r->{status}, 401, "$x->[0] $x->[1] without a token: 401");
}
is(psql("SELECT trusted_fingerprint IS NULL FROM host WHERE id = '$host'"),
    't', 'the refused PUT changed nothing');

# ---- the scanned host record ----
$r = api(GET => "/api/v1/HostScanJob/Host/$scan", token => $tok);
is($r->{status}, 200, 'GET Host/{id}: 200');
my $h = $r->{json} // {};
is($h->{hostScanHostId}, $scan, 'hostScanHostId');
is($h->{hostId}, $host, 'hostId is the host record');
is($h->{name}, 'web90', 'name');
is($h->{dnsHostName}, $dns, 'dnsHostName');
is($h->{ipAddress}, '127.0.0.90', 'ipAddress');
is($h->{os}, 'Debian GNU/Linux', 'os from the host record');
is($h->{version}, '12', 'version');
is($h->{credentialId}, $cred, 'credentialId');
is($h->{platformId}, $plat, 'platformId');
like($h->{lastScanTimeUtc} // '', $RFC3339Z, 'lastScanTimeUtc');
like($h->{lastScanStartTimeUtc} // '', $RFC3339Z, 'lastScanStartTimeUtc');
ok($h->{hostConnected} && JSON::PP::is_bool($h->{hostConnected}),
    'hostConnected true');
is($h->{discoveredThumbprint}, $fp, 'discoveredThumbprint');
ok(exists $h->{trustedThumbprint} && !defined $h->{trustedThumbprint},
    'trustedThumbprint null before Trust');
is(ref $h->{scanLog}, 'ARRAY', 'scanLog is an array');
is(scalar @{$h->{scanLog} // []}, 2, 'scanLog has both lines');
my $l = ($h->{scanLog} // [])->[1] // {};
is($l->{level}, 'warning', 'scanLog level');
is($l->{step}, 'hostkey', 'scanLog step');
like($l->{message} // '', qr/trusted on first use/, 'scanLog message');
like($l->{at} // '', $RFC3339Z, 'scanLog at');

$r = api(GET => "/api/v1/HostScanJob/Host/$scan", token => $app);
is($r->{status}, 200, 'GET Host/{id} with an App token: 200');
$r = api(GET => "/api/v1/HostScanJob/Host/$NOPE", token => $tok);
is($r->{status}, 404, 'GET Host/{unknown}: 404');
like($r->{headers}{'content-type'} // '', qr{application/problem\+json},
    '404 is problem+json');
$r = api(GET => "/api/v1/HostScanJob/Host/$nohost", token => $tok);
is($r->{status}, 404, 'GET Host/{scan without a host record}: 404');
$r = api(GET => "/api/v1/HostScanJob/Host/not-a-uuid", token => $tok);
is($r->{status}, 404, 'GET Host/{not a uuid}: 404');

# "Host" and "User" are not job ids: the literal routes answer.
$r = api(GET => '/api/v1/HostScanJob/Host', token => $tok);
is($r->{status}, 200, 'GET /HostScanJob/Host: 200');
is(ref $r->{json}, 'ARRAY', 'GET /HostScanJob/Host: an array');

# Paging: follow the next links through the whole list, one row a page
# for the first pages, then the rest (which grows with every test file
# that stored results before this one) 1000 rows a page from the same
# cursor.  Returns how often each key was seen and how many pages.
sub walk {
	my ($path, $key) = @_;
	my (%seen, @all, $pages, $single_ok);
	my $next = "$path?limit=1";
	$single_ok = 1;
	while (defined $next && ++$pages < 1000) {
		my $r = api(GET => $next, token => $tok);
		last unless $r->{status} == 200;
		my @rows = @{$r->{json} // []};
		$single_ok = 0 if $pages <= 5 && @rows > 1;
		$seen{$_->{$key}}++ for @rows;
		push @all, @rows;
		my $link = $r->{headers}{link} // '';
		$next = $link =~
		    m{<(?:https?://[^/]+)?(/api/v1/[^>]+)>;\s*rel="next"} ? $1 : undef;
		$next =~ s/([?&]limit=)1\b/${1}1000/ if defined $next && $pages == 5;
	}
	return (\%seen, $pages, $single_ok, \@all);
}
my ($seen, $pages, $single, $all) =
    walk('/api/v1/HostScanJob/Host', 'hostScanHostId');
my @mine = grep { ($_->{hostId} // '') eq $host } @$all;
is(scalar @mine, 2, 'both scans of the host record are listed');
ok(!grep({ $_->{hostScanHostId} eq $nohost } @$all),
    'a scan without a host record is not');
ok($seen->{$scan} && $seen->{$nokey}, 'paging reaches both scans');
ok(!grep({ $_ > 1 } values %$seen), 'no scan on two pages');
ok($single, 'limit=1 pages hold one row each');
$r = api(GET => '/api/v1/HostScanJob/Host?limit=0', token => $tok);
is($r->{status}, 400, 'limit=0: 400');
ok(exists(($r->{json}{errors} // {})->{limit}), 'limit=0: errors.limit');
$r = api(GET => '/api/v1/HostScanJob/Host?after=zzz', token => $tok);
is($r->{status}, 400, 'after=zzz: 400');

# ---- users and groups ----
$r = api(GET => "/api/v1/HostScanJob/User/$u_root", token => $tok);
is($r->{status}, 200, 'GET User/{id}: 200');
my $u = $r->{json} // {};
is($u->{id}, $u_root, 'user id');
is($u->{name}, 'root', 'user name');
is($u->{unixId}, 0, 'unixId');
is($u->{unixGroupId}, 0, 'unixGroupId');
is($u->{homeDirectory}, '/root', 'homeDirectory');
is($u->{shell}, '/bin/bash', 'shell');
is($u->{privilege}, 'SuperUser', 'privilege');
like($u->{passwordChangedDateTimeUtc} // '', qr/\A2026-01-02T00:00:00/,
    'passwordChangedDateTimeUtc');
ok(exists $u->{passwordExpirationDateTimeUtc}, 'passwordExpirationDateTimeUtc');
ok(exists $u->{isDisabled} && !$u->{isDisabled}, 'isDisabled false');
is($u->{hostScanHostId}, $scan, 'user hostScanHostId');
ok(exists $u->{samaccountname} && exists $u->{sid} &&
    exists $u->{displayName}, 'samaccountname, sid, displayName present');
ok(!grep({ /password(?:hash)?\z|hash/i } keys %$u), 'no password hash field');
$r = api(GET => "/api/v1/HostScanJob/User/$NOPE", token => $tok);
is($r->{status}, 404, 'GET User/{unknown}: 404');

$r = api(GET => '/api/v1/HostScanJob/User?limit=1', token => $tok);
is($r->{status}, 200, 'GET /HostScanJob/User: 200');
is(scalar @{$r->{json} // []}, 1, 'limit=1: one user');
like($r->{headers}{link} // '', qr/rel="next"/, 'limit=1: a next link');
($seen, $pages, $single) = walk('/api/v1/HostScanJob/User', 'id');
ok($seen->{$u_root} && $seen->{$u_alice}, 'user paging reaches both users');
ok(!grep({ $_ > 1 } values %$seen), 'no user on two pages');
ok($single, 'limit=1 user pages hold one row each');

$r = api(GET => "/api/v1/HostScanJob/Group/$grp", token => $tok);
is($r->{status}, 200, 'GET Group/{id}: 200');
my $g = $r->{json} // {};
is($g->{id}, $grp, 'group id');
is($g->{name}, 'sudo', 'group name');
is($g->{unixId}, 27, 'group unixId');
is($g->{hostScanHostId}, $scan, 'group hostScanHostId');
ok(exists $g->{sid}, 'group sid present');
my %mem = map { $_->{name} => $_ } @{$g->{members} // []};
is(scalar keys %mem, 2, 'two members');
is(($mem{alice} // {})->{userId}, $u_alice, 'alice is the scanned user');
ok(exists $mem{ghost} && !defined $mem{ghost}{userId},
    'a listed name that is no user has userId null');
$r = api(GET => "/api/v1/HostScanJob/Group/$NOPE", token => $tok);
is($r->{status}, 404, 'GET Group/{unknown}: 404');

# ---- Trust ----
$r = api(PUT => "/api/v1/HostScanJob/Host/$NOPE/Trust", token => $tok);
is($r->{status}, 404, 'PUT Trust of an unknown scan: 404');
$r = api(PUT => "/api/v1/HostScanJob/Host/$nokey/Trust", token => $tok);
is($r->{status}, 409, 'PUT Trust of a scan that found no key: 409');
like($r->{headers}{'content-type'} // '', qr{application/problem\+json},
    '409 is problem+json');
$r = api(PUT => "/api/v1/HostScanJob/Host/$scan/Trust", token => $tok);
is($r->{status}, 200, 'PUT Trust: 200');
is(($r->{json} // {})->{trustedThumbprint}, $fp,
    'PUT Trust returns the record with the trusted thumbprint');
is(psql("SELECT trusted_key_type || ' ' || trusted_key || ' ' || "
    . "trusted_fingerprint FROM host WHERE id = '$host'"),
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAt90 $fp",
    'the host record trusts the discovered key type, key and fingerprint');
$r = api(GET => "/api/v1/HostScanJob/Host/$nokey", token => $tok);
is(($r->{json} // {})->{trustedThumbprint}, $fp,
    'every scan of the host shows the host record\'s trust');
$r = api(GET => "/api/v1/HostScanJob/Host/$scan/Trust", token => $tok);
is($r->{status}, 405, 'GET .../Trust: 405');
like($r->{headers}{allow} // '', qr/PUT/, '405 Allow lists PUT');

# ---- re-scans ----
$r = api(GET => "/api/v1/HostScanJob/ByHostId/$host", token => $tok);
is($r->{status}, 200, 'GET ByHostId before a re-scan: the fixture job');
is(($r->{json} // {})->{id}, $job, 'latest job is the fixture job');
$r = api(GET => "/api/v1/HostScanJob/ByHostId/$NOPE", token => $tok);
is($r->{status}, 404, 'GET ByHostId of an unknown host: 404');

$r = api(POST => "/api/v1/HostScanJob/ByHostId/$host", token => $tok);
is($r->{status}, 200, 'POST ByHostId: 200');
my $st = $r->{json} // {};
like($st->{id} // '', $UUID, 'a new job id');
isnt($st->{id}, $job, 'a new job, not the fixture');
is($st->{status}, 'Queued', 'the new job is Queued');
my $hs = ($st->{hostScanHostStatus} // [])->[0] // {};
is(scalar @{$st->{hostScanHostStatus} // []}, 1, 'one host');
is($hs->{hostId}, $host, 'the host status carries the host record id');
is($hs->{dnsHostName}, $dns, 'dnsHostName of the host record');
my $new = $st->{id} // $NOPE;
is(psql("SELECT credential_id || ' ' || platform_id || ' ' || ssh_port || "
    . "' ' || ip_address FROM host_scan_host WHERE job_id = '$new'"),
    "$cred $plat 2290 127.0.0.90",
    'the re-scan uses the stored credential, platform, port and address');
is(psql("SELECT created_by FROM host_scan_job WHERE id = '$new'"), 't90',
    'the job records who asked');
$r = api(GET => "/api/v1/HostScanJob/ByHostId/$host", token => $tok);
is($r->{status}, 200, 'GET ByHostId: 200');
is(($r->{json} // {})->{id}, $new, 'GET ByHostId: the latest job');
is(($r->{json} // {})->{status}, 'Queued', 'GET ByHostId: Queued');
$r = api(GET => "/api/v1/HostScanJob/$new/Status", token => $tok);
is($r->{status}, 200, 'the re-scan job is an ordinary job');

$r = api(POST => "/api/v1/HostScanJob/ByHostId/$NOPE", token => $tok);
is($r->{status}, 404, 'POST ByHostId of an unknown host: 404');
$r = api(POST => "/api/v1/HostScanJob/ByHostId/$host2", token => $tok);
is($r->{status}, 409, 'POST ByHostId of a host without a credential: 409');

$r = api(POST => '/api/v1/HostScanJob/ByHostIdMultiple', token => $tok,
    json => [$host, uc $host]);
is($r->{status}, 200, 'POST ByHostIdMultiple: 200');
is(ref $r->{json}, 'ARRAY', 'ByHostIdMultiple: an array');
is(scalar @{$r->{json} // []}, 2, 'one status per id');
ok(!grep({ ($_->{status} // '') ne 'Queued' } @{$r->{json} // []}),
    'all Queued');
ok(!grep({ (($_->{hostScanHostStatus} // [])->[0]{hostId} // '') ne $host }
    @{$r->{json} // []}), 'each for the host record');

my $before = psql('SELECT count(*) FROM host_scan_job');
$r = api(POST => '/api/v1/HostScanJob/ByHostIdMultiple', token => $tok,
    json => [$host, $NOPE, 'nope', $host2]);
is($r->{status}, 400, 'ByHostIdMultiple with bad ids: 400');
my $e = ($r->{json} // {})->{errors} // {};
ok($e->{'[2]'}, 'a malformed id: errors["[2]"]');
$r = api(POST => '/api/v1/HostScanJob/ByHostIdMultiple', token => $tok,
    json => [$host, $NOPE, $host2]);
is($r->{status}, 400, 'ByHostIdMultiple with an unknown id: 400');
$e = ($r->{json} // {})->{errors} // {};
ok($e->{'[1]'}, 'the unknown id: errors["[1]"]');
ok($e->{'[2]'}, 'the host without a credential: errors["[2]"]');
ok(!$e->{'[0]'}, 'the good id has no error');
is(psql('SELECT count(*) FROM host_scan_job'), $before,
    'a refused ByHostIdMultiple queues nothing');
$r = api(POST => '/api/v1/HostScanJob/ByHostIdMultiple', token => $tok,
    json => []);
is($r->{status}, 400, 'ByHostIdMultiple with no ids: 400');
$r = api(POST => '/api/v1/HostScanJob/ByHostIdMultiple', token => $tok,
    json => {id => $host});
is($r->{status}, 400, 'ByHostIdMultiple with an object: 400');
$r = api(POST => '/api/v1/HostScanJob/ByHostIdMultiple', token => $tok,
    body => '[', headers => {'Content-Type' => 'application/json'});
is($r->{status}, 400, 'ByHostIdMultiple with broken JSON: 400');

# The re-scans stay queued; no scheduler runs here.  Cancel them so other
# tests' schedulers do not pick them up.
for my $j (split /\n/, psql("SELECT DISTINCT job_id FROM host_scan_host "
    . "WHERE host_id = '$host' AND state = 0")) {
	is(api(DELETE => "/api/v1/HostScanJob/$j", token => $tok)->{status},
	    202, "clean up: the re-scan job $j is cancelled");
}

done_testing();
