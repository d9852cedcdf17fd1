# SPDX-License-Identifier: ISC
# Scheduler zones: two schedulers in two network namespaces, each able to
# reach only its own sshd targets, scan exactly the hosts whose credential
# is in their zone; a host of a zone no running scheduler serves stays
# Queued and its status (API and `job watch`) says why; moving the
# credential to a served zone, or stopping the only scheduler of a zone,
# changes that within seconds.
use strict;
use warnings;

use JSON::PP ();
use IO::Socket::INET;
use POSIX qw(:sys_wait_h);
use Test::More;
use Time::HiRes ();

use HS;
use SSHD;

SSHD::need_targets();

my $dir = HS::scratch_dir();
my $run = "$$-" . time;
my $T = JSON::PP::true;
my $pw = "t86-Z0ne-$run-pw";
HS::note_secret($pw, 'the targets\' password');

sub sq { HS::sql_quote($_[0]) }

# ---- two network namespaces, each with its loopback up ----
my %ns;
END {
	my $st = $?;
	SSHD::run_quiet('/usr/sbin/ip', 'netns', 'del', $_) for values %ns;
	$? = $st;
}
for my $z (qw(a b)) {
	my $name = "hs86-$z-$$";
	is(SSHD::run_quiet('/usr/sbin/ip', 'netns', 'add', $name), 0,
	    "ip netns add $name");
	$ns{$z} = $name;
	is(SSHD::run_quiet('/usr/sbin/ip', '-n', $name, 'link', 'set', 'lo',
	    'up'), 0, "loopback up in $name");
}

my %zone = (a => "t86a-$run", b => "t86b-$run", n => "t86n-$run");
my %cred;
for my $z (sort keys %zone) {
	$cred{$z} = "t86-$z-$run";
	HS::credential(name => $cred{$z}, username => 'hsscan', secret => $pw,
	    zone => $zone{$z});
}
is(psql("SELECT string_agg(zone, ',' ORDER BY name) FROM credential"
    . " WHERE name LIKE " . sq("t86-%-$run")), "$zone{a},$zone{b},$zone{n}",
    'credential add --zone: each credential in its zone');
{
	my ($rc, $out) = HS::ctl(['credential', 'list', '--json']);
	my ($e) = grep { $_->{name} eq $cred{a} } @{JSON::PP->new->decode($out)};
	is($e->{zone}, $zone{a}, 'credential list --json shows the zone');
	my $err;
	($rc, undef, $err) = HS::ctl(['credential', 'add', '--name',
	    "t86-bad-$run", '--username', 'u', '--scope', 'any', '--zone',
	    'two words'], stdin => 'x');
	is($rc, 2, 'credential add --zone "two words": exit 2');
	like($err, qr/--zone: a zone name is letters, digits/, '... saying why');
	($rc, undef, $err) = HS::run_cmd([HS::env_required('HOSTSCAN_BUILDDIR')
	    . '/hostscand', '--config', HS::env_required('HOSTSCAN_CONFIG'),
	    '--zones', 'ok,bad/zone']);
	is($rc, 2, 'hostscand --zones ok,bad/zone: exit 2');
	like($err, qr/^hostscand: zones: a zone name is letters/m, '... saying why');
}

# The same port on both addresses; each sshd inside its own namespace.
my $port = SSHD::free_port('127.0.0.1');
my %t = (
	a => SSHD->new(dir => $dir, addr => '127.0.0.61', port => $port,
	    password => $pw, netns => $ns{a})->start,
	b => SSHD->new(dir => $dir, addr => '127.0.0.62', port => $port,
	    password => $pw, netns => $ns{b})->start,
);
for my $z (qw(a b)) {
	my $s = IO::Socket::INET->new(PeerAddr => $t{$z}->addr,
	    PeerPort => $port, Proto => 'tcp', Timeout => 2);
	ok(!$s, "target $z (" . $t{$z}->addr . ":$port) is out of reach "
	    . 'outside its namespace');
}

my %d = (
	a => start_hostscand(workers => 4, step => 5, netns => $ns{a},
	    zones => $zone{a}, instance => "t86-a-$run"),
	b => start_hostscand(workers => 4, step => 5, netns => $ns{b},
	    zones => " $zone{b} , $zone{b}", instance => "t86-b-$run"),
);
like(SSHD::slurp($d{a}{log}), qr/event=started .* zones=\{\Q$zone{a}\E\}/,
    'scheduler A serves its zone');
like(SSHD::slurp($d{b}{log}), qr/event=started .* zones=\{\Q$zone{b}\E\}/,
    'scheduler B serves its zone (spaces and the duplicate folded)');
ok(HS::wait_for(sub { psql("SELECT count(*) FROM scheduler WHERE instance IN ("
    . sq($d{a}{instance}) . ', ' . sq($d{b}{instance}) . ")") == 2 }, 10),
    'both schedulers have their row in the scheduler table');
is(psql("SELECT zones::text FROM scheduler WHERE instance = "
    . sq($d{a}{instance})), "{$zone{a}}", '... with their zones');

# `hostscanctl scheduler list`: both running, their zones, their workers.
{
	my ($rc, $out, $err) = ctl(['scheduler', 'list', '--json']);
	is($rc, 0, 'scheduler list --json: exit 0') or diag($err);
	my $l = eval { JSON::PP->new->decode($out) } // [];
	my %by = map { $_->{instance} => $_ } @$l;
	for my $z (qw(a b)) {
		my $s = $by{$d{$z}{instance}} // {};
		is_deeply([map { $s->{$_} } qw(running zones workers)],
		    [JSON::PP::true, $zone{$z}, 4],
		    "scheduler list: scheduler \U$z\E running, zone $z, 4 workers");
		like($s->{lastSeenAt} // '', qr/\A\d{4}-\d\d-\d\dT[\d:]{8}Z\z/,
		    "scheduler list: scheduler \U$z\E last seen, RFC 3339");
	}
	($rc, $out, $err) = ctl(['scheduler', 'list']);
	like($out, qr/^INSTANCE\s+RUNNING\s+ZONES\s+WORKERS\s+SCANNING\b/,
	    'scheduler list: a table with its header');
	like($out, qr/^\Q$d{b}{instance}\E\s+yes\s+\Q$zone{b}\E\s+4\s+\d+\s/m,
	    'scheduler list: a row per scheduler');
}

sub item {
	my ($z, $target, $i) = @_;
	return host_item(dnsHostName => "z$z$i-$run.invalid",
	    ipAddress => $t{$target}->addr, sshPort => $port,
	    credentialName => $cred{$z}, acceptThumbprintOnFirstDiscovery => $T);
}

# ords 0-2 zone a, 3-5 zone b, 6 zone a aimed at B's target, 7 no scheduler.
my $job = submit_job((map { item('a', 'a', $_) } 1 .. 3),
    (map { item('b', 'b', $_) } 1 .. 3), item('a', 'b', 9), item('n', 'b', 1));
my $served = sub {
	psql("SELECT count(*) FROM host_scan_host WHERE job_id = " . sq($job)
	    . " AND ord < 7 AND state IN (0, 1)") == 0
};
ok(HS::wait_for($served, 60), 'every host of a served zone ended');
my $h = job_hosts($job);
for my $i (0 .. 2) {
	is_deeply([@{$h->[$i]}{qw(state attempt locked_by)}],
	    [2, 1, $d{a}{instance}], "zone a host $i: Complete, by scheduler A")
	    or diag explain scan_log_of($h->[$i]{id});
}
for my $i (3 .. 5) {
	is_deeply([@{$h->[$i]}{qw(state attempt locked_by)}],
	    [2, 1, $d{b}{instance}], "zone b host $i: Complete, by scheduler B")
	    or diag explain scan_log_of($h->[$i]{id});
}
is_deeply([@{$h->[6]}{qw(state failure_reason locked_by)}],
    [3, 11, $d{a}{instance}],
    'a zone a host at B\'s address: scheduler A cannot reach it '
    . '(Failed / FailedToConnect), B never tried');
is(psql("SELECT count(*) FROM scan_log l JOIN host_scan_host h"
    . " ON h.id = l.host_scan_host_id WHERE h.job_id = " . sq($job)
    . " AND l.step = 'claim' AND l.message LIKE "
    . sq("claimed by $d{b}{instance} %") . " AND h.ord NOT IN (3, 4, 5)"), 0,
    'scan_log: scheduler B claimed no host outside its zone');
is(psql("SELECT count(*) FROM scan_log l JOIN host_scan_host h"
    . " ON h.id = l.host_scan_host_id WHERE h.job_id = " . sq($job)
    . " AND l.step = 'claim' AND l.message LIKE "
    . sq("claimed by $d{a}{instance} %") . " AND h.ord NOT IN (0, 1, 2, 6)"),
    0, 'scan_log: scheduler A claimed no host outside its zone');
{
	my %log = map { $_ => SSHD::slurp($d{$_}{log}) } qw(a b);
	my @own = (a => [0, 1, 2, 6], b => [3, 4, 5]);
	while (my ($z, $mine) = splice(@own, 0, 2)) {
		my $other = $z eq 'a' ? 'b' : 'a';
		my %m = map { $_ => 1 } @$mine;
		is(scalar(grep { $log{$z} =~ /event=scan_done host_scan_id=\Q$h->[$_]{id}\E / }
		    @$mine), scalar @$mine,
		    "scheduler \U$z\E's log: a scan_done for each of its hosts");
		is(scalar(grep { !$m{$_} && $log{$z} =~ /\Q$h->[$_]{id}\E/ }
		    0 .. 7), 0, "scheduler \U$z\E's log names no other host");
	}
}
for my $z (qw(a b)) {
	my @n = $t{$z}->log_text =~ /Accepted password for hsscan/g;
	is(scalar @n, 3, "target $z: three logins (its own zone's hosts)");
}

# ---- the host of a zone nobody serves ----
my $wait = "waiting: no running scheduler serves zone \"$zone{n}\"";
ok(HS::wait_for(sub { $h = job_hosts($job);
    ($h->[7]{status_description} // '') eq $wait }, 15),
    'the unserved host says why it waits');
is_deeply([@{$h->[7]}{qw(state attempt)}, $h->[7]{locked_by}], [0, 0, undef],
    '... and stays Queued, never claimed');
{
	my $r = HS::api(GET => "/api/v1/HostScanJob/$job/Status",
	    token => admin_token());
	is($r->{status}, 200, 'GET /HostScanJob/{id}/Status');
	my $st = $r->{json}{hostScanHostStatus}[7] // {};
	is_deeply([@$st{qw(status statusDescription)}], ['Queued', $wait],
	    '... the host: Queued, with the reason');

	my $out = "$dir/watch-86-$$.out";
	my $pid = HS::spawn_logged([$ENV{HOSTSCANCTL}, 'job', 'watch', $job],
	    $out);
	ok(HS::wait_for(sub { SSHD::slurp($out) =~ /\Q$wait\E/ }, 10),
	    'hostscanctl job watch shows the reason');
	like(SSHD::slurp($out), qr/Queued\s+NoError\s+\Q$wait\E$/m,
	    '... on the Queued host\'s line');
	kill 'TERM', $pid;
	waitpid($pid, 0);
}

# Moved to zone b: scheduler B scans it (its target is B's), the reason goes.
{
	my ($rc, $out) = HS::ctl(['credential', 'zone', $cred{n}, $zone{b}]);
	is($rc, 0, 'credential zone NAME ZONE');
	like($out, qr/is in zone \Q$zone{b}\E$/, '... says so');
	ok(wait_job($job, 30), 'the moved host is scanned');
	$h = job_hosts($job);
	is_deeply([@{$h->[7]}{qw(state attempt locked_by)}],
	    [2, 1, $d{b}{instance}], '... by scheduler B, Complete');
	unlike($h->[7]{status_description} // '', qr/^waiting/,
	    '... without the waiting reason');
}

# Scheduler A stops: its row goes, and zone a's new hosts wait, saying why.
is(stop_hostscand($d{a}), 0, 'scheduler A stops (SIGTERM)');
is(psql("SELECT count(*) FROM scheduler WHERE instance = "
    . sq($d{a}{instance})), 0, '... and deletes its scheduler row');
{
	my ($rc, $out) = ctl(['scheduler', 'list', '--json']);
	my $l = eval { JSON::PP->new->decode($out) } // [];
	is_deeply([sort map { $_->{instance} } grep { $_->{instance} =~ /-\Q$run\E\z/ } @$l],
	    [$d{b}{instance}], 'scheduler list: only B is left');
}
my $job2 = submit_job(item('a', 'a', 5));
ok(HS::wait_for(sub { (job_hosts($job2)->[0]{status_description} // '') eq
    "waiting: no running scheduler serves zone \"$zone{a}\"" }, 15),
    'a zone a host queued after A stopped says no scheduler serves zone a');
is(job_hosts($job2)->[0]{state}, 0, '... and stays Queued');
is(cancel_job($job2), 202, 'clean up: cancel it');
is(stop_hostscand($d{b}), 0, 'scheduler B stops');
$_->stop for values %t;

done_testing();
